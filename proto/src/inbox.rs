//! What a master sends to an agent and to a scheduler over the v0 libprocess protocol,
//! as `libprocess::protocol!` enums: the inboxes of fakes and emulated clients (tests,
//! benchmarks) that speak the real protocol to a real master. The real agent and
//! scheduler driver declare their own, with what they also receive from others.
//!
//! Its users: the master tests' one recording fake (`master/tests/common/recorder.rs`),
//! the SDK's fake agent (`mesos_framework::testing`, which also runs tasks), and the
//! failover benchmarks' agents (`master/benches/cluster`, which re-register by themselves).

use crate::extensions::NewMasterDetectedMessage;
use crate::mesos::internal;

libprocess::protocol! {
    /// What a master sends an agent.
    #[derive(Debug, Clone)]
    pub enum AgentInbox {
        /// The agent is registered (with its new id).
        Registered(internal::SlaveRegisteredMessage),
        /// The agent is re-registered.
        Reregistered(internal::SlaveReregisteredMessage),
        /// The master's health check; an agent answers with `PongSlaveMessage`.
        Ping(internal::PingSlaveMessage),
        /// Run a task.
        RunTask(internal::RunTaskMessage),
        /// Kill a task.
        KillTask(internal::KillTaskMessage),
        /// The scheduler acknowledged a status update.
        Ack(internal::StatusUpdateAcknowledgementMessage),
        /// A framework is gone: stop its executors.
        ShutdownFramework(internal::ShutdownFrameworkMessage),
        /// Stop one executor.
        ShutdownExecutor(internal::ShutdownExecutorMessage),
        /// A framework's scheduler moved (or its info changed).
        UpdateFramework(internal::UpdateFrameworkMessage),
        /// A scheduler's message for an executor.
        FrameworkToExecutor(internal::FrameworkToExecutorMessage),
        /// The agent's checkpointed resources (reservations, volumes) after an operation.
        CheckpointResources(internal::CheckpointResourcesMessage),
        /// Another master leads (sent by followers and deposed leaders).
        NewMaster(NewMasterDetectedMessage),
        /// Shut down (e.g. the agent was marked gone).
        Shutdown(internal::ShutdownMessage),
        /// Drain: kill every task within the config's grace period.
        Drain(internal::DrainSlaveMessage),
        /// Apply an offer operation whose framework wants feedback.
        ApplyOperation(internal::ApplyOperationMessage),
        /// The framework acknowledged an operation status.
        AckOperation(internal::AcknowledgeOperationStatusMessage),
        /// Operations the master knows that the agent did not report.
        ReconcileOperations(internal::ReconcileOperationsMessage),
    }
}

libprocess::protocol! {
    /// What a master sends a scheduler.
    #[derive(Debug, Clone)]
    pub enum SchedulerInbox {
        /// The framework is registered (with its new id).
        Registered(internal::FrameworkRegisteredMessage),
        /// The framework is re-registered.
        Reregistered(internal::FrameworkReregisteredMessage),
        /// Offers.
        Offers(internal::ResourceOffersMessage),
        /// An offer is withdrawn.
        Rescind(internal::RescindResourceOfferMessage),
        /// A task's status update (to acknowledge).
        Update(internal::StatusUpdateMessage),
        /// The framework was refused or removed.
        Error(internal::FrameworkErrorMessage),
        /// An agent is lost.
        LostSlave(internal::LostSlaveMessage),
        /// An executor exited.
        ExitedExecutor(internal::ExitedExecutorMessage),
        /// An executor's message for the scheduler.
        ExecutorMessage(internal::ExecutorToFrameworkMessage),
        /// What became of an offer operation the scheduler gave an id.
        OperationStatus(internal::UpdateOperationStatusMessage),
        /// Another master leads (sent by followers and deposed leaders).
        NewMaster(NewMasterDetectedMessage),
        /// Inverse offers: agents scheduled for maintenance, to give back.
        InverseOffers(internal::InverseOffersMessage),
        /// An inverse offer is withdrawn.
        RescindInverseOffer(internal::RescindInverseOfferMessage),
    }
}
