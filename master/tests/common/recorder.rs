//! The one recording fake of the master's test binaries (`tests/master.rs` on a
//! simulated network, `tests/http.rs` over TCP): a process that receives what a master
//! sends an agent or a scheduler (`mesos_proto`'s shared inboxes) and hands it to the
//! test. The other fake agents differ because their roles do: `framework::testing`'s
//! runs tasks and executors for the SDK's tests, and the failover benchmarks' agents
//! (`benches/cluster`) re-register by themselves across leader changes, 40,000 at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use libprocess::{Context, Pid, Process};
use mesos_proto::inbox::{AgentInbox, SchedulerInbox};
use mesos_proto::mesos::internal;
use tokio::sync::mpsc;

/// Records what it receives; a fake agent also answers pings while `pong` is set.
pub struct Recorder<M> {
    /// Where received messages go.
    pub tx: mpsc::UnboundedSender<M>,
    /// While set, an agent answers the master's pings (clear it to let the master's
    /// health check fail).
    pub pong: Arc<AtomicBool>,
}

impl<M> Recorder<M> {
    /// A recorder sending to `tx`; an agent answers pings.
    pub fn new(tx: mpsc::UnboundedSender<M>) -> Recorder<M> {
        Recorder { tx, pong: Arc::new(AtomicBool::new(true)) }
    }
}

impl Process for Recorder<AgentInbox> {
    type Message = AgentInbox;
    fn on_message(&mut self, from: Pid, message: AgentInbox, ctx: &mut Context<'_, Self>) {
        if matches!(message, AgentInbox::Ping(_)) && self.pong.load(Ordering::SeqCst) {
            ctx.send(&from, internal::PongSlaveMessage {});
        }
        let _ = self.tx.send(message);
    }
}

impl Process for Recorder<SchedulerInbox> {
    type Message = SchedulerInbox;
    fn on_message(&mut self, _from: Pid, message: SchedulerInbox, _ctx: &mut Context<'_, Self>) {
        let _ = self.tx.send(message);
    }
}
