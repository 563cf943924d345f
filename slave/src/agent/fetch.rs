//! Fetching an executor's URIs before starting it: the fetch runs on a blocking thread
//! (see `crate::fetcher`), then the container starts here, on the actor, or the launch
//! fails with the fetch's error.
//!
//! Mesos: src/slave/containerizer/mesos/containerizer.cpp `MesosContainerizerProcess::
//! fetch` (the fetch is a step of the launch), fetcher.cpp `FetcherProcess::kill`
//! (destroying a container kills its fetch).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use libprocess::Context;
use mesos_proto::ids::ContainerId;

use super::Agent;
use crate::containerizer::LaunchRequest;
use crate::fetcher::FetchJob;

impl Agent {
    /// Fetches the URIs of `request`'s command into its sandbox, then starts it.
    pub(super) fn fetch_then_launch(
        &mut self,
        request: LaunchRequest,
        ctx: &mut Context<'_, Self>,
    ) {
        let cancel = Arc::new(AtomicBool::new(false));
        let job = FetchJob {
            uris: request.command.uris.clone(),
            sandbox: request.sandbox.clone(),
            user: request.command.user.clone(),
            run_as: request.run_as.clone(),
            timeout: self.core.config.executor_registration_timeout,
            cancel: cancel.clone(),
        };
        tracing::info!(container = %request.container_id, uris = job.uris.len(), "fetching the executor's URIs");
        // One entry per executor waiting to start: bounded by the executors the agent runs.
        self.fetching.insert(request.container_id.clone(), cancel);
        let fetcher = self.fetcher.clone();
        // What was fetched belongs to the user the executor runs as.
        let fetch_and_chown = move || {
            fetcher.fetch(&job)?;
            match &job.run_as {
                Some(user) => crate::users::chown_tree(&job.sandbox, user).map_err(|reason| {
                    crate::AgentError::Launch {
                        executor_id: job.sandbox.display().to_string(),
                        reason,
                    }
                }),
                None => Ok(()),
            }
        };
        let fetch = async move { tokio::task::spawn_blocking(fetch_and_chown).await };
        ctx.spawn(fetch, move |agent: &mut Agent, result, ctx| {
            let result = match result {
                Ok(fetched) => fetched.map_err(|error| error.to_string()),
                Err(error) => Err(format!("the fetcher stopped: {error}")),
            };
            agent.on_fetched(request, result, ctx);
        });
    }

    /// The fetch of a container ended: start it if its executor still wants it.
    fn on_fetched(
        &mut self,
        request: LaunchRequest,
        fetched: Result<(), String>,
        ctx: &mut Context<'_, Self>,
    ) {
        let container_id = request.container_id.clone();
        self.fetching.remove(&container_id);
        match &fetched {
            Ok(()) => self.metrics.task_fetches_succeeded.inc(),
            Err(_) => self.metrics.task_fetches_failed.inc(),
        }
        let result = match fetched {
            Ok(()) if self.core.awaits_launch(&container_id) => {
                self.containerizer.launch(request).map_err(|e| e.to_string())
            }
            Ok(()) => Err("the executor was shut down while its URIs were fetched".into()),
            Err(error) => {
                tracing::warn!(container = %container_id, %error, "fetch failed");
                Err(error)
            }
        };
        self.core.on_launched(&container_id, result, ctx.now());
        self.flush(ctx);
    }

    /// Cancels the fetch of `container_id`, if one runs; true if it did.
    pub(super) fn cancel_fetch(&mut self, container_id: &ContainerId) -> bool {
        match self.fetching.get(container_id) {
            Some(cancel) => {
                cancel.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}
