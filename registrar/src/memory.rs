//! `--registry=in_memory`: a registrar for a single, throwaway master.
//!
//! Operations apply at once, in submission order, to a registry in memory; the master
//! is always the leader (term 1). Nothing survives a restart, as with Mesos's
//! `--registry=in_memory`.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::{
    Applied, Completion, LeaderState, Leadership, Registrar, RegistrarError, RegistryOperation,
    RegistryState, StateFuture,
};

/// The in-memory registrar.
pub struct InMemoryRegistrar {
    inner: Arc<Mutex<Inner>>,
    leadership: watch::Sender<Leadership>,
}

struct Inner {
    state: RegistryState,
    /// The "log index" of the last operation, so completions look like raft's.
    index: u64,
}

impl Default for InMemoryRegistrar {
    fn default() -> InMemoryRegistrar {
        InMemoryRegistrar::new(RegistryState::new())
    }
}

impl InMemoryRegistrar {
    /// A registrar starting from `state` (empty for a fresh master).
    pub fn new(state: RegistryState) -> InMemoryRegistrar {
        let (leadership, _) = watch::channel(Leadership { term: 1, state: LeaderState::Leading });
        InMemoryRegistrar { inner: Arc::new(Mutex::new(Inner { state, index: 0 })), leadership }
    }

    /// Applies `operation` now and returns its outcome.
    pub fn apply(&self, operation: &RegistryOperation) -> Result<Applied, RegistrarError> {
        let mut inner = self.inner.lock();
        inner.index += 1;
        let index = inner.index;
        match operation.apply(&mut inner.state) {
            Ok(mutated) => Ok(Applied {
                index,
                term: 1,
                mutated,
                registry_size_bytes: inner.state.registry_size_bytes(),
            }),
            Err(error) => Err(RegistrarError::Rejected { index, error }),
        }
    }
}

impl Registrar for InMemoryRegistrar {
    fn submit(&self, operation: RegistryOperation) -> Completion {
        let result = self.apply(&operation);
        Box::pin(async move { result })
    }

    fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.subscribe()
    }

    fn state(&self) -> StateFuture {
        let state = self.inner.lock().state.clone();
        Box::pin(async move { Ok(state) })
    }
}
