//! The `mesos-agent` and `mesos-executor` programs, callable from other binaries
//! (`mesos-local` runs every role from one executable).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::ExitCode;

use crate::agent::{Agent, AgentConfig, prepare_recovery};
use crate::checkpoint::RecoveredState;
use crate::containerizer::PosixContainerizer;
use crate::executor::{CommandExecutor, PosixTaskRunner};
use crate::flags::Flags;
use clap::Parser;
use libprocess::Node;
use mesos_framework::executor::Transport;

/// Runs `mesos-agent` with these arguments (the first is the program name) until the
/// agent stops.
pub fn agent_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let flags = match Flags::try_parse_from(args) {
        Ok(flags) => flags,
        Err(error) => {
            let code = if error.use_stderr() { 1 } else { 0 };
            // Printing can only fail if stderr is closed; the exit code still tells.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let logging = libprocess::logging::LogOptions {
        program: "mesos-agent".into(),
        log_dir: flags.log_dir.clone(),
        level: flags.logging_level,
    };
    let log_file = match libprocess::logging::init(&logging) {
        Ok(log_file) => log_file,
        Err(error) => {
            eprintln!("mesos-agent: cannot write log files in --log_dir: {error}");
            return ExitCode::from(1);
        }
    };
    match AgentStartup::prepare(flags, log_file) {
        Ok(startup) => startup.run(),
        Err(message) => {
            eprintln!("mesos-agent: {message}");
            ExitCode::from(1)
        }
    }
}

/// Everything the agent needs before its node starts, checked from the flags.
struct AgentStartup {
    address: SocketAddr,
    /// The socket `mesos-local` bound for us (`--listen_fd`), if any.
    listener: Option<std::net::TcpListener>,
    limiter: crate::limits::Limiter,
    config: AgentConfig,
    recovered: Option<RecoveredState>,
}

impl AgentStartup {
    /// Step 1: the listening socket, the resource limiter, the configuration and what
    /// to recover from `--work_dir`; any failure is a message for the operator.
    fn prepare(
        mut flags: Flags,
        log_file: Option<std::path::PathBuf>,
    ) -> Result<AgentStartup, String> {
        let listener = match flags.listen_fd.map(libprocess::inherit::inherited_listener) {
            None => None,
            Some(Ok(listener)) => Some(listener),
            Some(Err(error)) => return Err(format!("--listen_fd: {error}")),
        };
        if let Some(bound) = listener.as_ref().and_then(|l| l.local_addr().ok()) {
            (flags.ip, flags.port) = (bound.ip(), bound.port());
        }
        let address = SocketAddr::new(flags.ip, flags.port);
        let limiter = flags.limiter().map_err(|error| error.to_string())?;
        let mut config = flags.into_config().map_err(|error| error.to_string())?;
        config.log_file = log_file;
        let recovered = prepare_recovery(&config)
            .map_err(|error| format!("cannot recover from --work_dir: {error}"))?;
        Ok(AgentStartup { address, listener, limiter, config, recovered })
    }

    /// Step 2: start the node, spawn `slave(1)` and wait until it stops.
    fn run(self) -> ExitCode {
        let AgentStartup { address, listener, limiter, config, recovered } = self;
        actix_rt::System::new().block_on(async move {
            let builder = Node::builder(address);
            let builder = match listener {
                Some(listener) => builder.listener(listener),
                None => builder,
            };
            let node = match builder.start() {
                Ok(node) => node,
                Err(error) => {
                    eprintln!("mesos-agent: cannot listen on {address}: {error}");
                    return ExitCode::from(1);
                }
            };
            node.set_default_process("slave(1)");
            tracing::info!(limiter = limiter.name(), "resource limits");
            let containerizer = Box::new(PosixContainerizer::with_limiter(limiter));
            let agent = match node.spawn("slave(1)", Agent::new(config, containerizer, recovered)) {
                Ok(agent) => agent,
                Err(error) => {
                    eprintln!("mesos-agent: {error}");
                    return ExitCode::from(1);
                }
            };
            tracing::info!(pid = %agent.pid(), "agent started");
            node.wait(agent.pid()).await;
            node.shutdown().await;
            ExitCode::SUCCESS
        })
    }
}

/// The command executor's transport, chosen as Mesos's command executor chooses its
/// library: the v1 executor HTTP API when the agent set `MESOS_HTTP_COMMAND_EXECUTOR=1`
/// (`--http_command_executor`), else libprocess messages (anything else, or unset).
// Mesos: launcher/executor.cpp `CommandExecutor::initialize`.
pub fn command_executor_transport(value: Option<&str>) -> Transport {
    if value == Some("1") { Transport::Http } else { Transport::Libprocess }
}

/// Runs `mesos-executor` (configured by the `MESOS_*` environment the agent sets; the
/// arguments only matter for `--help`): the [`CommandExecutor`] on the SDK's executor
/// driver, on the transport [`command_executor_transport`] picks, until the driver ends.
pub fn executor_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    mesos_framework::runtime::init_logging();
    if args.into_iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "mesos-executor: the command executor; started by mesos-agent with MESOS_* environment variables."
        );
        return ExitCode::SUCCESS;
    }
    let variable = std::env::var("MESOS_HTTP_COMMAND_EXECUTOR").ok();
    let transport = command_executor_transport(variable.as_deref());
    match transport {
        Transport::Http => tracing::info!("command executor on the v1 executor HTTP API"),
        Transport::Libprocess => tracing::info!("command executor on libprocess messages"),
    }
    actix_rt::System::new().block_on(async move {
        let executor = CommandExecutor::new(Box::new(PosixTaskRunner::from_env()));
        match mesos_framework::executor::run_executor_on(executor, transport).await {
            Ok(status) => {
                // Stopped or aborted alike: the agent learns the task's fate from its
                // updates, not from the executor's exit code.
                tracing::info!(?status, "command executor done");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("mesos-executor: {error}");
                ExitCode::from(1)
            }
        }
    })
}

/// `mesos-default-executor`: Mesos's default executor, which the agent starts for task
/// groups (DEFAULT executors); a v1 HTTP executor configured by the agent's `MESOS_*`
/// environment.
pub fn default_executor_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    mesos_framework::runtime::init_logging();
    if args.into_iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "mesos-default-executor: runs task groups; started by mesos-agent with MESOS_* environment variables."
        );
        return ExitCode::SUCCESS;
    }
    actix_rt::System::new().block_on(async move {
        match run_default_executor().await {
            Ok(status) => {
                tracing::info!(?status, "default executor done");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("mesos-default-executor: {error}");
                ExitCode::from(1)
            }
        }
    })
}

/// The default executor on its node, its tasks nested containers of its own (see
/// [`crate::nested_runner`]), until its driver stops. As
/// `mesos_framework::executor::run_executor_on`, with the node's TLS handed to the
/// runner too.
async fn run_default_executor()
-> Result<mesos_framework::scheduler::DriverStatus, mesos_framework::FrameworkError> {
    use mesos_framework::executor::{ExecutorEnv, spawn_executor_on};
    let env = ExecutorEnv::from_env()?;
    let node = match std::env::var("LIBPROCESS_IP") {
        Ok(ip) if !ip.is_empty() => mesos_framework::runtime::start_node()?,
        _ => Node::builder(SocketAddr::new(env.agent.address().ip(), 0)).start()?,
    };
    let runner = crate::nested_runner::NestedContainerRunner::new(&env, node.tls());
    let executor = crate::default_executor::DefaultExecutor::new(Box::new(runner));
    let seed = u64::from(std::process::id()) ^ node.clock().now().since_epoch().as_nanos() as u64;
    let handle = spawn_executor_on(&node, env, executor, seed, Transport::Http)?;
    let (_executor, status) = handle.join().await?;
    node.shutdown().await;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only `MESOS_HTTP_COMMAND_EXECUTOR=1` selects the v1 HTTP API, as in Mesos's
    /// command executor; `0`, anything else or nothing keeps libprocess.
    #[test]
    fn command_executor_transport_follows_the_agent() {
        assert_eq!(command_executor_transport(Some("1")), Transport::Http);
        assert_eq!(command_executor_transport(Some("0")), Transport::Libprocess);
        assert_eq!(command_executor_transport(Some("true")), Transport::Libprocess);
        assert_eq!(command_executor_transport(None), Transport::Libprocess);
    }
}
