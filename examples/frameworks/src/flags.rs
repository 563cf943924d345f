//! Flags every example binary takes (also read from `MESOS_<FLAG>`).

use std::path::PathBuf;

use clap::Args;
use mesos_framework::scheduler::SchedulerConfig;

/// Where the cluster is and how much each task takes.
#[derive(Args, Debug, Clone)]
pub struct ClusterFlags {
    /// `ip:port` of the master, or a comma list of every master of the HA group.
    #[arg(long, env = "MESOS_MASTER", default_value = "127.0.0.1:5050")]
    pub master: String,
    /// Resources of each task, in `--resources` syntax.
    #[arg(long, env = "MESOS_RESOURCES", default_value = "cpus:0.1;mem:32")]
    pub resources: String,
    /// Role to subscribe with.
    #[arg(long, env = "MESOS_ROLE", default_value = "*")]
    pub role: String,
    /// Principal to authenticate as (CRAM-MD5, with --secret); also the framework's
    /// principal.
    #[arg(long, env = "MESOS_PRINCIPAL")]
    pub principal: Option<String>,
    /// Secret of --principal.
    #[arg(long, env = "MESOS_SECRET", requires = "principal")]
    pub secret: Option<String>,
}

impl ClusterFlags {
    /// A scheduler config for framework `name` on these masters.
    pub fn config(&self, name: &str) -> anyhow::Result<SchedulerConfig> {
        let masters = mesos_framework::masters::parse_masters(&self.master)?;
        let mut framework = mesos_framework::scheduler::framework_info(name);
        #[allow(deprecated)]
        {
            framework.role = Some(self.role.clone());
        }
        let credential = match (&self.principal, &self.secret) {
            (Some(principal), Some(secret)) => Some(mesos_security::Credential {
                principal: principal.clone(),
                secret: secret.clone(),
            }),
            (Some(_), None) => None,
            (None, _) => mesos_env_credential(|name| std::env::var(name).ok())?,
        };
        framework.principal =
            self.principal.clone().or(credential.as_ref().map(|c| c.principal.clone()));
        let mut config = SchedulerConfig::new(framework, masters);
        config.seed = u64::from(std::process::id());
        config.credential = credential;
        Ok(config)
    }

    /// The per-task resources.
    pub fn task_resources(&self) -> anyhow::Result<mesos_proto::resources::Resources> {
        mesos_framework::tasks::parse_resources(&self.resources)
            .map_err(|e| anyhow::anyhow!("bad --resources: {e}"))
    }
}

/// The credential Mesos's own example frameworks take from their environment: with
/// `MESOS_AUTHENTICATE_FRAMEWORKS` set, `DEFAULT_PRINCIPAL` and `DEFAULT_SECRET`
/// (Mesos: src/examples/test_framework.cpp). `get` reads a variable. `--principal` and
/// `--secret` win over them.
pub fn mesos_env_credential(
    get: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<mesos_security::Credential>> {
    if get("MESOS_AUTHENTICATE_FRAMEWORKS").is_none() {
        return Ok(None);
    }
    let principal = get("DEFAULT_PRINCIPAL")
        .ok_or_else(|| anyhow::anyhow!("Expecting authentication principal in the environment"))?;
    let secret = get("DEFAULT_SECRET")
        .ok_or_else(|| anyhow::anyhow!("Expecting authentication secret in the environment"))?;
    Ok(Some(mesos_security::Credential { principal, secret }))
}

/// The executor binary `name` next to the running one (how `cargo build` lays them out),
/// unless `given`.
pub fn executor_path(given: Option<PathBuf>, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or_else(|| anyhow::anyhow!("no directory for {}", exe.display()))?;
    Ok(dir.join(name))
}

/// Parses flags like every Mesos binary: `--help` exits 0, anything wrong exits 1.
pub fn parse<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(flags) => flags,
        Err(error) => {
            let code = if error.use_stderr() { 1 } else { 0 };
            let _ = error.print();
            std::process::exit(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mesos's examples' variables: nothing without `MESOS_AUTHENTICATE_FRAMEWORKS`, the
    /// pair with it, and an error when one half is missing.
    #[test]
    fn mesos_environment_credential() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert!(mesos_env_credential(env(&[("DEFAULT_PRINCIPAL", "p")])).unwrap().is_none());
        const FULL: [(&str, &str); 3] = [
            ("MESOS_AUTHENTICATE_FRAMEWORKS", "1"),
            ("DEFAULT_PRINCIPAL", "p"),
            ("DEFAULT_SECRET", "s"),
        ];
        let credential = mesos_env_credential(env(&FULL)).unwrap().unwrap();
        assert_eq!((credential.principal.as_str(), credential.secret.as_str()), ("p", "s"));
        const HALF: [(&str, &str); 2] =
            [("MESOS_AUTHENTICATE_FRAMEWORKS", "1"), ("DEFAULT_PRINCIPAL", "p")];
        assert!(mesos_env_credential(env(&HALF)).is_err());
    }
}
