//! The environment an agent starts an executor with.
//!
//! Mesos: exec.cpp `MesosExecutorDriver::start` reads these; the agent sets them
//! (slave/containerizer `executorEnvironment`). docs/interfaces.md lists them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use libprocess::Pid;
use mesos_proto::mesos;
use mesos_security::jwt::EXECUTOR_TOKEN_ENV;

use super::{DEFAULT_RECOVERY_TIMEOUT, DEFAULT_SHUTDOWN_GRACE_PERIOD};
use crate::error::FrameworkError;

/// What an executor learns from its environment.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorEnv {
    /// `MESOS_SLAVE_PID`: the agent to register with.
    pub agent: Pid,
    /// `MESOS_SLAVE_ID`.
    pub agent_id: mesos::SlaveId,
    /// `MESOS_FRAMEWORK_ID`.
    pub framework_id: mesos::FrameworkId,
    /// `MESOS_EXECUTOR_ID`.
    pub executor_id: mesos::ExecutorId,
    /// `MESOS_DIRECTORY`: the sandbox, as the agent sees it.
    pub directory: PathBuf,
    /// `MESOS_SANDBOX` (else `MESOS_DIRECTORY`): the sandbox as the executor sees it,
    /// where tasks' commands run (Mesos: the command executor's `--sandbox_directory`).
    pub sandbox: PathBuf,
    /// `MESOS_CHECKPOINT=1`: the framework checkpoints, so the executor outlives an
    /// agent restart.
    pub checkpoint: bool,
    /// `MESOS_RECOVERY_TIMEOUT` (only read when checkpointing): how long to wait for a
    /// restarted agent.
    pub recovery_timeout: Duration,
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`: time between the shutdown request and the
    /// driver giving up on the executor.
    pub shutdown_grace_period: Duration,
    /// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`: the token an agent with
    /// `--jwt_secret_key` gives the executor, to send on every v1 executor API call as
    /// `Authorization: Bearer <token>` ([`ExecutorEnv::authorization`]). The libprocess
    /// protocol this driver speaks does not use it. Never logged.
    pub authentication_token: Option<String>,
}

impl ExecutorEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<ExecutorEnv, FrameworkError> {
        ExecutorEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads `vars` (tests, or an environment captured elsewhere).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<ExecutorEnv, FrameworkError> {
        ExecutorEnv::from_lookup(|name| vars.get(name).cloned())
    }

    /// Reads the variables `get` returns: the one parser behind [`ExecutorEnv::from_env`]
    /// and [`ExecutorEnv::from_map`] (a fake containerizer passes its launch request's).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<ExecutorEnv, FrameworkError> {
        let required = |name: &'static str| get(name).ok_or(FrameworkError::MissingEnv { name });
        let duration = |name: &'static str, default: Duration| match get(name) {
            None => Ok(default),
            Some(value) => libprocess::duration::parse_duration(&value).map_err(|e| {
                FrameworkError::BadEnv { name, value: value.clone(), reason: e.to_string() }
            }),
        };
        let agent_text = required("MESOS_SLAVE_PID")?;
        let agent: Pid = agent_text.parse().map_err(|e: libprocess::pid::PidParseError| {
            FrameworkError::BadEnv {
                name: "MESOS_SLAVE_PID",
                value: agent_text.clone(),
                reason: e.to_string(),
            }
        })?;
        let checkpoint = get("MESOS_CHECKPOINT").is_some_and(|v| v == "1");
        let recovery_timeout = if checkpoint {
            duration("MESOS_RECOVERY_TIMEOUT", DEFAULT_RECOVERY_TIMEOUT)?
        } else {
            DEFAULT_RECOVERY_TIMEOUT
        };
        let directory = PathBuf::from(required("MESOS_DIRECTORY")?);
        let sandbox = get("MESOS_SANDBOX").map_or_else(|| directory.clone(), PathBuf::from);
        Ok(ExecutorEnv {
            agent,
            agent_id: mesos::SlaveId { value: required("MESOS_SLAVE_ID")? },
            framework_id: mesos::FrameworkId { value: required("MESOS_FRAMEWORK_ID")? },
            executor_id: mesos::ExecutorId { value: required("MESOS_EXECUTOR_ID")? },
            directory,
            sandbox,
            checkpoint,
            recovery_timeout,
            shutdown_grace_period: duration(
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                DEFAULT_SHUTDOWN_GRACE_PERIOD,
            )?,
            authentication_token: get(EXECUTOR_TOKEN_ENV).filter(|t| !t.is_empty()),
        })
    }

    /// The `Authorization` header value for the v1 executor API (`Bearer <token>`),
    /// when the agent gave a token (Mesos: executor.cpp sends it with every call).
    pub fn authorization(&self) -> Option<String> {
        self.authentication_token.as_ref().map(|token| format!("Bearer {token}"))
    }

    /// The environment variables that describe `self` (what an agent sets).
    pub fn to_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("MESOS_SLAVE_PID".to_string(), self.agent.to_string()),
            ("MESOS_SLAVE_ID".to_string(), self.agent_id.value.clone()),
            ("MESOS_FRAMEWORK_ID".to_string(), self.framework_id.value.clone()),
            ("MESOS_EXECUTOR_ID".to_string(), self.executor_id.value.clone()),
            ("MESOS_DIRECTORY".to_string(), self.directory.display().to_string()),
            ("MESOS_SANDBOX".to_string(), self.sandbox.display().to_string()),
            ("MESOS_CHECKPOINT".to_string(), if self.checkpoint { "1" } else { "0" }.to_string()),
            (
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".to_string(),
                libprocess::duration::format_duration(self.shutdown_grace_period),
            ),
        ];
        if self.checkpoint {
            vars.push((
                "MESOS_RECOVERY_TIMEOUT".to_string(),
                libprocess::duration::format_duration(self.recovery_timeout),
            ));
        }
        if let Some(token) = &self.authentication_token {
            vars.push((EXECUTOR_TOKEN_ENV.to_string(), token.clone()));
        }
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const BASE: &[(&str, &str)] = &[
        ("MESOS_SLAVE_PID", "slave(1)@127.0.0.1:5051"),
        ("MESOS_SLAVE_ID", "a-S0"),
        ("MESOS_FRAMEWORK_ID", "f-0000"),
        ("MESOS_EXECUTOR_ID", "e1"),
        ("MESOS_DIRECTORY", "/tmp/sandbox"),
    ];

    /// The variables Mesos's agent sets are read with Mesos's defaults, and written back
    /// identically.
    #[test]
    fn reads_mesos_executor_environment() {
        let env = ExecutorEnv::from_map(&vars(BASE)).unwrap();
        assert_eq!(env.agent.to_string(), "slave(1)@127.0.0.1:5051");
        assert!(!env.checkpoint);
        assert_eq!(env.shutdown_grace_period, DEFAULT_SHUTDOWN_GRACE_PERIOD);
        let mut with = vars(BASE);
        with.insert("MESOS_CHECKPOINT".into(), "1".into());
        with.insert("MESOS_RECOVERY_TIMEOUT".into(), "10mins".into());
        with.insert("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".into(), "3secs".into());
        let env = ExecutorEnv::from_map(&with).unwrap();
        assert!(env.checkpoint);
        assert_eq!(env.recovery_timeout, Duration::from_secs(600));
        assert_eq!(env.shutdown_grace_period, Duration::from_secs(3));
        let round_trip: HashMap<String, String> = env.to_vars().into_iter().collect();
        assert_eq!(ExecutorEnv::from_map(&round_trip).unwrap(), env);
    }

    /// The agent's token (`--jwt_secret_key`) is read, offered as a Bearer header, and
    /// written back; without it there is none.
    #[test]
    fn reads_the_authentication_token() {
        assert_eq!(ExecutorEnv::from_map(&vars(BASE)).unwrap().authorization(), None);
        let mut with = vars(BASE);
        with.insert(EXECUTOR_TOKEN_ENV.into(), "a.b.c".into());
        let env = ExecutorEnv::from_map(&with).unwrap();
        assert_eq!(env.authentication_token.as_deref(), Some("a.b.c"));
        assert_eq!(env.authorization().as_deref(), Some("Bearer a.b.c"));
        let round_trip: HashMap<String, String> = env.to_vars().into_iter().collect();
        assert_eq!(round_trip[EXECUTOR_TOKEN_ENV], "a.b.c");
    }

    /// Commands run in MESOS_SANDBOX (the sandbox as the executor sees it), which
    /// defaults to MESOS_DIRECTORY.
    #[test]
    fn sandbox_defaults_to_the_directory() {
        let env = ExecutorEnv::from_map(&vars(BASE)).unwrap();
        assert_eq!(env.sandbox, PathBuf::from("/tmp/sandbox"));
        let mut with = vars(BASE);
        with.insert("MESOS_SANDBOX".into(), "/mnt/mesos/sandbox".into());
        let env = ExecutorEnv::from_lookup(|name| with.get(name).cloned()).unwrap();
        assert_eq!(env.directory, PathBuf::from("/tmp/sandbox"));
        assert_eq!(env.sandbox, PathBuf::from("/mnt/mesos/sandbox"));
    }

    /// Missing or malformed variables are errors naming the variable.
    #[test]
    fn missing_or_bad_variables_are_errors() {
        let mut missing = vars(BASE);
        missing.remove("MESOS_EXECUTOR_ID");
        assert!(matches!(
            ExecutorEnv::from_map(&missing),
            Err(FrameworkError::MissingEnv { name: "MESOS_EXECUTOR_ID" })
        ));
        let mut bad = vars(BASE);
        bad.insert("MESOS_SLAVE_PID".into(), "nonsense".into());
        assert!(matches!(
            ExecutorEnv::from_map(&bad),
            Err(FrameworkError::BadEnv { name: "MESOS_SLAVE_PID", .. })
        ));
        let mut bad = vars(BASE);
        bad.insert("MESOS_CHECKPOINT".into(), "1".into());
        bad.insert("MESOS_RECOVERY_TIMEOUT".into(), "soon".into());
        assert!(matches!(
            ExecutorEnv::from_map(&bad),
            Err(FrameworkError::BadEnv { name: "MESOS_RECOVERY_TIMEOUT", .. })
        ));
    }
}
