//! What the generated [`mesos::TaskState`] enum cannot say by itself: which
//! states are final.
//!
//! The master, the agent, the SDK and the example frameworks all need to know
//! whether a task has ended; this is the one place that decides it.

use crate::mesos;

impl mesos::TaskState {
    /// True for the states a task never leaves (Mesos: common/protobuf_utils.cpp
    /// `protobuf::isTerminalState`). A raw wire value goes through the
    /// message's getter (`status.state()`), which reads an unknown value as the
    /// default `TASK_STAGING`, not terminal.
    pub fn is_terminal(self) -> bool {
        use mesos::TaskState::*;
        matches!(
            self,
            TaskFinished
                | TaskFailed
                | TaskKilled
                | TaskError
                | TaskLost
                | TaskDropped
                | TaskGone
                | TaskGoneByOperator
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::mesos::{TaskState, TaskStatus};

    /// Proves exactly Mesos's eight terminal states are terminal, and an
    /// unknown wire value is not.
    #[test]
    fn terminal_states_are_mesos_eight() {
        let terminal: Vec<TaskState> = (0..=20)
            .filter_map(|v| TaskState::try_from(v).ok())
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal.len(), 8, "{terminal:?}");
        assert!(!TaskState::TaskRunning.is_terminal());
        assert!(!TaskState::TaskUnreachable.is_terminal());
        let status = TaskStatus { state: 999, ..TaskStatus::default() };
        assert!(!status.state().is_terminal());
    }
}
