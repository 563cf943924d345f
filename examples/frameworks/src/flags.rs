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
        framework.principal = self.principal.clone();
        let mut config = SchedulerConfig::new(framework, masters);
        config.seed = u64::from(std::process::id());
        if let (Some(principal), Some(secret)) = (&self.principal, &self.secret) {
            config.credential = Some(mesos_security::Credential {
                principal: principal.clone(),
                secret: secret.clone(),
            });
        }
        Ok(config)
    }

    /// The per-task resources.
    pub fn task_resources(&self) -> anyhow::Result<mesos_proto::resources::Resources> {
        mesos_framework::tasks::parse_resources(&self.resources)
            .map_err(|e| anyhow::anyhow!("bad --resources: {e}"))
    }
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
