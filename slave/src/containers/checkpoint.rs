//! The runtime checkpoint of the operator API's `DEFAULT` containers (nested and
//! standalone): what a restarted agent needs to take them back.
//!
//! Mesos: src/slave/containerizer/mesos/paths.{hpp,cpp} (`getRuntimePath`, the `pid`,
//! `status` and `config` files under `--runtime_dir`, nested containers in the
//! `containers/` folder of their parent's). Ours live under
//! `<work_dir>/meta/runtime` (the agent's other checkpoints are in `meta/` too):
//!
//! ```text
//! meta/runtime/containers/<root id>/                 an executor's (or standalone) container
//!     config    JSON: class, sandbox, environment    (the agent, before the start)
//!     command   the CommandInfo (a framed record)    (the agent, before the start)
//!     pid       the launcher's OS pid                (the agent, after the start)
//!     lock      flock'ed by the launcher while it lives
//!     status    the command's raw wait status        (the launcher, at the end)
//!     containers/<child id>/...                      the same, one level down
//! ```
//!
//! An executor's own container has no files here, only its `containers/` folder. Files
//! are written whole (temp file, rename) as the agent's other checkpoints.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::CommandInfo;

use super::launcher::{self, is_running, read_status};
use super::{Exit, MAX_CONTAINERS, MAX_NESTING_DEPTH};
use crate::checkpoint::{encode_records, read_message, write_atomic};
use crate::error::AgentError;

const CONFIG_FILE: &str = "config";
const COMMAND_FILE: &str = "command";
const PID_FILE: &str = "pid";
const CONTAINERS_DIR: &str = "containers";

/// The runtime folder under `work_dir`.
pub fn runtime_root(work_dir: &Path) -> PathBuf {
    crate::paths::Paths::new(work_dir).meta_dir().join("runtime")
}

/// Where container `id`'s files are: its ancestors' folders, each in the `containers/`
/// of the one above (Mesos: `containerizer::paths::getRuntimePath`).
pub fn runtime_path(root: &Path, id: &ContainerId) -> PathBuf {
    let mut chain = vec![id];
    let mut parent = id.parent();
    while let Some(p) = parent {
        chain.push(p);
        parent = p.parent();
    }
    let mut path = root.to_path_buf();
    for level in chain.iter().rev() {
        path = path.join(CONTAINERS_DIR).join(level.value());
    }
    path
}

/// What is checkpointed of a container before its process starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Launched {
    /// Its sandbox.
    pub sandbox: PathBuf,
    /// Its environment (inherited by what nests in it).
    pub env: BTreeMap<String, String>,
    /// Its command.
    pub command: CommandInfo,
}

/// Writes `launched` into `dir` (the container's runtime folder), before the start.
pub fn write_launched(dir: &Path, launched: &Launched) -> Result<(), AgentError> {
    let config = serde_json::json!({
        "class": "DEFAULT",
        "sandbox": launched.sandbox.to_string_lossy(),
        "env": launched.env,
    });
    write_atomic(&dir.join(CONFIG_FILE), config.to_string().as_bytes())?;
    write_atomic(&dir.join(COMMAND_FILE), &encode_records(std::slice::from_ref(&launched.command)))
}

/// Records the launcher's pid, once it started.
pub fn write_pid(dir: &Path, pid: u32) -> Result<(), AgentError> {
    write_atomic(&dir.join(PID_FILE), pid.to_string().as_bytes())
}

/// Deletes a container's runtime folder (REMOVE, or its root gone), with whatever is
/// nested in it. A folder already gone is not an error.
pub fn remove(dir: &Path) {
    if let Err(error) = fs::remove_dir_all(dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, dir = %dir.display(), "cannot remove a container's runtime folder");
    }
}

/// Where a checkpointed container was found to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Its launcher still runs (it holds its lock): re-adopt it.
    Running {
        /// The launcher's pid (its process group and session).
        pid: u32,
    },
    /// It ended (while the agent was down, or before): how.
    Exited(Exit),
}

/// A container read back from the runtime checkpoint.
#[derive(Clone, Debug)]
pub struct Recovered {
    /// Its id, with its parents.
    pub id: ContainerId,
    /// Its runtime folder.
    pub dir: PathBuf,
    /// What was checkpointed at the launch.
    pub launched: Launched,
    /// Where it is.
    pub found: Found,
}

fn read_launched(dir: &Path) -> Result<Launched, String> {
    let config = fs::read_to_string(dir.join(CONFIG_FILE)).map_err(|e| e.to_string())?;
    let config: serde_json::Value = serde_json::from_str(&config).map_err(|e| e.to_string())?;
    let sandbox = config["sandbox"].as_str().ok_or("no sandbox")?.into();
    let env = config["env"]
        .as_object()
        .map(|o| {
            o.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect()
        })
        .unwrap_or_default();
    let command = read_message::<CommandInfo>(&dir.join(COMMAND_FILE))
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    Ok(Launched { sandbox, env, command })
}

/// Where the container whose files are in `dir` is: running if its launcher holds the
/// lock, else ended with the status the launcher recorded (or an explanation).
fn find(dir: &Path) -> Found {
    let pid = fs::read_to_string(dir.join(PID_FILE)).ok().and_then(|p| p.trim().parse().ok());
    match pid {
        Some(pid) if is_running(dir) => Found::Running { pid },
        _ => Found::Exited(match read_status(dir) {
            Some(status) => Exit { status: Some(status), message: None },
            None => Exit {
                status: None,
                message: Some(
                    "The container's launcher ended without recording an exit status".into(),
                ),
            },
        }),
    }
}

/// Every checkpointed container under `root`, parents before their children. A folder
/// without a readable `config` (an executor's container, or a launch the agent did not
/// finish checkpointing) contributes only its children. At most [`MAX_CONTAINERS`] are
/// read and [`MAX_NESTING_DEPTH`] levels walked: the agent never writes more.
pub fn read_all(root: &Path) -> Vec<Recovered> {
    let mut found = Vec::new();
    walk(root, None, 0, &mut found);
    found
}

fn walk(dir: &Path, parent: Option<&ContainerId>, depth: usize, found: &mut Vec<Recovered>) {
    if depth > MAX_NESTING_DEPTH {
        return;
    }
    let Ok(entries) = fs::read_dir(dir.join(CONTAINERS_DIR)) else { return };
    let mut names: Vec<String> =
        entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names {
        if found.len() >= MAX_CONTAINERS {
            return;
        }
        let id = match parent {
            Some(parent) => ContainerId::nested(parent.clone(), name.clone()),
            None => ContainerId::new(name.clone()),
        };
        let child = dir.join(CONTAINERS_DIR).join(&name);
        match read_launched(&child) {
            Ok(launched) => {
                let found_state = find(&child);
                found.push(Recovered {
                    id: id.clone(),
                    dir: child.clone(),
                    launched,
                    found: found_state,
                });
            }
            Err(reason) if child.join(CONFIG_FILE).exists() => {
                tracing::warn!(container = %id, %reason, "cannot read a container's checkpoint");
            }
            Err(_) => {}
        }
        walk(&child, Some(&id), depth + 1, found);
    }
}

/// The lock file's name, for the agent's wait on a re-adopted container.
pub fn lock_file(dir: &Path) -> PathBuf {
    dir.join(launcher::LOCK_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A nested container's runtime folder is under its parents' (Mesos's layout), and
    /// what is written reads back, exited with the launcher's status or running while its
    /// lock is held; an executor's folder (no config) contributes only its children.
    #[test]
    fn checkpoint_reads_back() {
        let root = std::env::temp_dir().join(format!("runtime-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let executor = ContainerId::new("exec");
        let task = ContainerId::nested(executor.clone(), "task");
        let deeper = ContainerId::nested(task.clone(), "debug");
        assert_eq!(
            runtime_path(&root, &deeper),
            root.join("containers/exec/containers/task/containers/debug")
        );
        let launched = Launched {
            sandbox: "/sandbox/task".into(),
            env: BTreeMap::from([("A".to_string(), "1".to_string())]),
            command: CommandInfo { value: Some("sleep 1".into()), ..Default::default() },
        };
        let dir = runtime_path(&root, &task);
        write_launched(&dir, &launched).unwrap();
        write_pid(&dir, 4242).unwrap();
        launcher::write_status(&dir, 256).unwrap();
        let deeper_dir = runtime_path(&root, &deeper);
        write_launched(&deeper_dir, &launched).unwrap();
        write_pid(&deeper_dir, 4343).unwrap();
        fs::write(deeper_dir.join(launcher::LOCK_FILE), "").unwrap();
        let held = nix::fcntl::Flock::lock(
            fs::File::open(deeper_dir.join(launcher::LOCK_FILE)).unwrap(),
            nix::fcntl::FlockArg::LockExclusive,
        )
        .map_err(|_| ())
        .unwrap();

        let all = read_all(&root);
        let ids: Vec<String> = all.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(ids, ["exec.task", "exec.task.debug"]);
        assert_eq!(all[0].launched, launched);
        assert_eq!(all[0].found, Found::Exited(Exit { status: Some(256), message: None }));
        assert_eq!(all[1].found, Found::Running { pid: 4343 });
        drop(held);
        assert!(matches!(read_all(&root)[1].found, Found::Exited(Exit { status: None, .. })));
        remove(&runtime_path(&root, &executor));
        assert!(read_all(&root).is_empty());
        remove(&root);
    }
}
