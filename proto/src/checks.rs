//! Validation of a task's checks (`TaskInfo.health_check`, `TaskInfo.check`), shared by
//! the master (which refuses a task with an invalid one: `TASK_ERROR`) and the executors'
//! checkers (which refuse to run one).
//!
//! Mesos: common/validation.cpp `validateHealthCheck`, `validateCheckInfo` and
//! `validateCommandInfo`. The errors are Mesos's messages. Two rules are ours, for
//! values Mesos lets through and then cannot use: a port above 65535, and a duration
//! that is not a finite number (NaN or infinite seconds).

use crate::mesos::{CheckInfo, CommandInfo, HealthCheck, check_info, environment, health_check};

/// Checks a `HealthCheck`: its type is set and known, the field of that type is set (a
/// COMMAND with a command, an HTTP check with `http`, a scheme of `http` or `https` and
/// a path starting with `/`, a TCP check with `tcp`), ports fit in 16 bits and every
/// duration is non-negative.
pub fn validate_health_check(check: &HealthCheck) -> Result<(), String> {
    use health_check::Type;
    let Some(check_type) = check.r#type else {
        return Err("HealthCheck must specify 'type'".into());
    };
    match Type::try_from(check_type) {
        Ok(Type::Command) => {
            let command = check
                .command
                .as_ref()
                .ok_or("Expecting 'command' to be set for COMMAND health check")?;
            validate_check_command(command, "Command health check", "Health check's")?;
        }
        Ok(Type::Http) => {
            let http =
                check.http.as_ref().ok_or("Expecting 'http' to be set for HTTP health check")?;
            if let Some(scheme) = &http.scheme
                && scheme != "http"
                && scheme != "https"
            {
                return Err(format!("Unsupported HTTP health check scheme: '{scheme}'"));
            }
            validate_path(http.path.as_deref(), "HTTP health check")?;
            validate_port(http.port)?;
        }
        Ok(Type::Tcp) => {
            let tcp = check.tcp.as_ref().ok_or("Expecting 'tcp' to be set for TCP health check")?;
            validate_port(tcp.port)?;
        }
        Ok(Type::Unknown) => return Err("'UNKNOWN' is not a valid health check type".into()),
        Err(_) => return Err(format!("'{check_type}' is not a valid health check type")),
    }
    validate_seconds("delay_seconds", check.delay_seconds)?;
    validate_seconds("grace_period_seconds", check.grace_period_seconds)?;
    validate_seconds("interval_seconds", check.interval_seconds)?;
    validate_seconds("timeout_seconds", check.timeout_seconds)
}

/// Checks a general `CheckInfo`, with the rules of [`validate_health_check`] (a general
/// HTTP check has no scheme, and no grace period).
pub fn validate_check_info(check: &CheckInfo) -> Result<(), String> {
    use check_info::Type;
    let Some(check_type) = check.r#type else {
        return Err("CheckInfo must specify 'type'".into());
    };
    match Type::try_from(check_type) {
        Ok(Type::Command) => {
            let command =
                check.command.as_ref().ok_or("Expecting 'command' to be set for COMMAND check")?;
            validate_check_command(&command.command, "Command check", "Check's")?;
        }
        Ok(Type::Http) => {
            let http = check.http.as_ref().ok_or("Expecting 'http' to be set for HTTP check")?;
            validate_path(http.path.as_deref(), "HTTP check")?;
            validate_port(http.port)?;
        }
        Ok(Type::Tcp) => {
            let tcp = check.tcp.as_ref().ok_or("Expecting 'tcp' to be set for TCP check")?;
            validate_port(tcp.port)?;
        }
        Ok(Type::Unknown) => return Err("'UNKNOWN' is not a valid check type".into()),
        Err(_) => return Err(format!("'{check_type}' is not a valid check type")),
    }
    validate_seconds("delay_seconds", check.delay_seconds)?;
    validate_seconds("interval_seconds", check.interval_seconds)?;
    validate_seconds("timeout_seconds", check.timeout_seconds)
}

/// A COMMAND check's command: it has a value (the shell command or the executable) and
/// a valid environment. `what` names the check in the first error, `whose` in the second.
fn validate_check_command(command: &CommandInfo, what: &str, whose: &str) -> Result<(), String> {
    if command.value.is_none() {
        let kind = if command.shell() { "'shell command'" } else { "'executable path'" };
        return Err(format!("{what} must contain {kind}"));
    }
    validate_command_info(command).map_err(|e| format!("{whose} `CommandInfo` is invalid: {e}"))
}

/// Mesos: common/validation.cpp `validateCommandInfo`, which checks the environment:
/// a VALUE variable has a value and no secret, a SECRET one a secret and no value.
pub fn validate_command_info(command: &CommandInfo) -> Result<(), String> {
    use environment::variable::Type;
    let variables = command.environment.iter().flat_map(|e| e.variables.iter());
    for variable in variables {
        let name = &variable.name;
        match Type::try_from(variable.r#type.unwrap_or(Type::Value as i32)) {
            Ok(Type::Value) if variable.value.is_none() => {
                return Err(format!(
                    "Environment variable '{name}' of type 'VALUE' must have a value set"
                ));
            }
            Ok(Type::Value) if variable.secret.is_some() => {
                return Err(format!(
                    "Environment variable '{name}' of type 'VALUE' must not have a secret set"
                ));
            }
            Ok(Type::Secret) if variable.secret.is_none() => {
                return Err(format!(
                    "Environment variable '{name}' of type 'SECRET' must have a secret set"
                ));
            }
            Ok(Type::Secret) if variable.value.is_some() => {
                return Err(format!(
                    "Environment variable '{name}' of type 'SECRET' must not have a value set"
                ));
            }
            Ok(Type::Value | Type::Secret) => {}
            Ok(Type::Unknown) | Err(_) => {
                return Err("Environment variable of type 'UNKNOWN' is not allowed".into());
            }
        }
    }
    Ok(())
}

fn validate_path(path: Option<&str>, what: &str) -> Result<(), String> {
    match path {
        Some(path) if !path.starts_with('/') => {
            Err(format!("The path '{path}' of {what} must start with '/'"))
        }
        _ => Ok(()),
    }
}

fn validate_port(port: u32) -> Result<(), String> {
    if port > u32::from(u16::MAX) {
        return Err(format!("Port {port} is out of range (at most 65535)"));
    }
    Ok(())
}

/// An unset duration takes its default, which is valid.
fn validate_seconds(name: &str, value: Option<f64>) -> Result<(), String> {
    match value {
        Some(seconds) if seconds < 0.0 => Err(format!("Expecting '{name}' to be non-negative")),
        Some(seconds) if !seconds.is_finite() => {
            Err(format!("Expecting '{name}' to be a finite number of seconds, got {seconds}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{check_info, health_check};

    fn http_health(port: u32, path: Option<&str>) -> HealthCheck {
        HealthCheck {
            r#type: Some(health_check::Type::Http as i32),
            http: Some(health_check::HttpCheckInfo {
                port,
                path: path.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Proves Mesos's rules for health checks (common/validation.cpp
    /// `validateHealthCheck`), with their messages.
    #[test]
    fn health_checks_follow_mesos_rules() {
        assert_eq!(validate_health_check(&http_health(8080, Some("/health"))), Ok(()));
        let no_type = HealthCheck::default();
        assert_eq!(validate_health_check(&no_type).unwrap_err(), "HealthCheck must specify 'type'");
        let unknown = HealthCheck { r#type: Some(0), ..Default::default() };
        assert!(validate_health_check(&unknown).unwrap_err().contains("not a valid"));
        let command =
            HealthCheck { r#type: Some(health_check::Type::Command as i32), ..Default::default() };
        assert_eq!(
            validate_health_check(&command).unwrap_err(),
            "Expecting 'command' to be set for COMMAND health check"
        );
        let empty_command = HealthCheck { command: Some(CommandInfo::default()), ..command };
        assert_eq!(
            validate_health_check(&empty_command).unwrap_err(),
            "Command health check must contain 'shell command'"
        );
        assert_eq!(
            validate_health_check(&http_health(80, Some("health"))).unwrap_err(),
            "The path 'health' of HTTP health check must start with '/'"
        );
        assert!(validate_health_check(&http_health(70000, None)).unwrap_err().contains("70000"));
        let mut ftp = http_health(21, None);
        if let Some(http) = ftp.http.as_mut() {
            http.scheme = Some("ftp".into());
        }
        assert_eq!(
            validate_health_check(&ftp).unwrap_err(),
            "Unsupported HTTP health check scheme: 'ftp'"
        );
        let negative = HealthCheck { grace_period_seconds: Some(-1.0), ..http_health(80, None) };
        assert_eq!(
            validate_health_check(&negative).unwrap_err(),
            "Expecting 'grace_period_seconds' to be non-negative"
        );
        let nan = HealthCheck { interval_seconds: Some(f64::NAN), ..http_health(80, None) };
        assert!(validate_health_check(&nan).unwrap_err().contains("finite"));
    }

    /// Proves Mesos's rules for general checks (`validateCheckInfo`), the command's
    /// environment included (`validateCommandInfo`).
    #[test]
    fn general_checks_follow_mesos_rules() {
        let tcp = CheckInfo {
            r#type: Some(check_info::Type::Tcp as i32),
            tcp: Some(check_info::Tcp { port: 22 }),
            ..Default::default()
        };
        assert_eq!(validate_check_info(&tcp), Ok(()));
        let tcp_without = CheckInfo { tcp: None, ..tcp.clone() };
        assert_eq!(
            validate_check_info(&tcp_without).unwrap_err(),
            "Expecting 'tcp' to be set for TCP check"
        );
        let negative = CheckInfo { timeout_seconds: Some(-3.0), ..tcp };
        assert_eq!(
            validate_check_info(&negative).unwrap_err(),
            "Expecting 'timeout_seconds' to be non-negative"
        );
        let variable = environment::Variable { name: "A".into(), ..Default::default() };
        let command = CommandInfo {
            value: Some("true".into()),
            environment: Some(crate::mesos::Environment { variables: vec![variable] }),
            ..Default::default()
        };
        let check = CheckInfo {
            r#type: Some(check_info::Type::Command as i32),
            command: Some(check_info::Command { command }),
            ..Default::default()
        };
        assert_eq!(
            validate_check_info(&check).unwrap_err(),
            "Check's `CommandInfo` is invalid: Environment variable 'A' of type 'VALUE' must have a value set"
        );
    }
}
