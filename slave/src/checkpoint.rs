//! Checkpoint files: written atomically, read back for recovery.
//!
//! Mesos: src/slave/state.cpp and stout's `os::write` / `protobuf::write`. Every file
//! is replaced as a whole: written to a temporary file beside it, `fsync`ed, renamed
//! over the old one, and the folder `fsync`ed, so a crash leaves either the old or
//! the new content, never a torn one. Protobuf files are framed records (length,
//! CRC-32, bytes) so that corruption is detected rather than decoded into nonsense.
//! Reading never deletes: a file that cannot be decoded is an error naming it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use libprocess::Pid;
use mesos_proto::mesos::internal::StatusUpdateRecord;
use mesos_proto::mesos::{DrainConfig, ExecutorInfo, FrameworkInfo, Resource, SlaveInfo, Task};
use prost::Message;

use crate::error::AgentError;
use crate::paths::{Paths, files};

/// Largest checkpoint file read back; larger ones are reported as corrupt (no
/// legitimate checkpoint comes near this).
pub const MAX_CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename, fsync folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AgentError> {
    let dir = path
        .parent()
        .ok_or_else(|| AgentError::io("write", path, std::io::Error::other("no parent folder")))?;
    fs::create_dir_all(dir).map_err(|e| AgentError::io("create folder", dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp"));
    let mut file = fs::File::create(&temp).map_err(|e| AgentError::io("create", &temp, e))?;
    file.write_all(bytes).map_err(|e| AgentError::io("write", &temp, e))?;
    file.sync_all().map_err(|e| AgentError::io("fsync", &temp, e))?;
    drop(file);
    fs::rename(&temp, path).map_err(|e| AgentError::io("rename into place", path, e))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AgentError::io("fsync folder", dir, e))
}

/// Points the symlink `link` at `target` atomically.
pub fn link_atomic(target: &Path, link: &Path) -> Result<(), AgentError> {
    let dir = link
        .parent()
        .ok_or_else(|| AgentError::io("link", link, std::io::Error::other("no parent folder")))?;
    fs::create_dir_all(dir).map_err(|e| AgentError::io("create folder", dir, e))?;
    let temp = dir.join(".latest.tmp");
    let _ = fs::remove_file(&temp);
    std::os::unix::fs::symlink(target, &temp).map_err(|e| AgentError::io("symlink", &temp, e))?;
    fs::rename(&temp, link).map_err(|e| AgentError::io("rename into place", link, e))
}

/// Frames protobuf records: `u32` length, `u32` CRC-32 (both little endian), bytes.
pub fn encode_records<M: Message>(records: &[M]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        let bytes = record.encode_to_vec();
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32(&bytes).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Reads back what [`encode_records`] wrote; any damage is an error naming `path`.
pub fn decode_records<M: Message + Default>(
    path: &Path,
    mut bytes: &[u8],
) -> Result<Vec<M>, AgentError> {
    let corrupt =
        |reason: String| AgentError::CorruptCheckpoint { path: path.to_path_buf(), reason };
    let mut records = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 8 {
            return Err(corrupt(format!("truncated record header ({} bytes)", bytes.len())));
        }
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let body = bytes
            .get(8..8 + len)
            .ok_or_else(|| corrupt(format!("record of {len} bytes is truncated")))?;
        if crc32(body) != crc {
            return Err(corrupt(format!("checksum mismatch in record {}", records.len() + 1)));
        }
        let record =
            M::decode(body).map_err(|e| corrupt(format!("record {}: {e}", records.len() + 1)))?;
        records.push(record);
        bytes = &bytes[8 + len..];
    }
    Ok(records)
}

/// Reads a file, `None` if it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, AgentError> {
    match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AgentError::io("stat", path, e)),
        Ok(meta) if meta.len() > MAX_CHECKPOINT_BYTES => {
            return Err(AgentError::CorruptCheckpoint {
                path: path.to_path_buf(),
                reason: format!("{} bytes is more than any checkpoint holds", meta.len()),
            });
        }
        Ok(_) => {}
    }
    fs::read(path).map(Some).map_err(|e| AgentError::io("read", path, e))
}

/// Reads a file holding exactly one framed protobuf.
pub fn read_message<M: Message + Default>(path: &Path) -> Result<Option<M>, AgentError> {
    let Some(bytes) = read_optional(path)? else { return Ok(None) };
    let mut records = decode_records::<M>(path, &bytes)?;
    if records.len() != 1 {
        return Err(AgentError::CorruptCheckpoint {
            path: path.to_path_buf(),
            reason: format!("expected one record, found {}", records.len()),
        });
    }
    Ok(records.pop())
}

/// Reads a small text file, trimmed; `None` if it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, AgentError> {
    let Some(bytes) = read_optional(path)? else { return Ok(None) };
    String::from_utf8(bytes).map(|s| Some(s.trim().to_string())).map_err(|_| {
        AgentError::CorruptCheckpoint { path: path.to_path_buf(), reason: "not UTF-8 text".into() }
    })
}

/// The machine's boot id (changes on reboot), if the kernel tells it.
pub fn current_boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_string())
}

/// Writes checkpoints for one agent id.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    paths: Paths,
    agent_id: String,
}

impl Checkpointer {
    /// Checkpoints of agent `agent_id` under `paths`.
    pub fn new(paths: Paths, agent_id: impl Into<String>) -> Checkpointer {
        Checkpointer { paths, agent_id: agent_id.into() }
    }

    /// The paths.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// `meta/resources/resources.info`: the agent's checkpointed resources, as framed
    /// records (Mesos: slave.cpp `checkpointResources`, paths.cpp
    /// `getResourcesInfoPath`). Kept outside `slaves/<id>`: reservations and volumes
    /// belong to the machine, whatever id the agent has.
    pub fn resources(&self, resources: &[Resource]) -> Result<(), AgentError> {
        write_atomic(&self.paths().resources_info_file(), &encode_records(resources))
    }

    /// Writes `drain.config` (Mesos checkpoints it as one protobuf record), or removes
    /// it once the drain is over (`None`).
    pub fn drain_config(&self, config: Option<&DrainConfig>) -> Result<(), AgentError> {
        let path = self.paths.drain_config_file(&self.agent_id);
        match config {
            Some(config) => write_atomic(&path, &encode_records(std::slice::from_ref(config))),
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(AgentError::io("remove", &path, e))
                }
                _ => Ok(()),
            },
        }
    }

    /// `meta/resources/operations.info`: the applied operations whose terminal status
    /// the framework has not acknowledged, as framed records (Mesos keeps them beside
    /// the resources, in `resources_and_operations.state`).
    pub fn operations(
        &self,
        operations: &[mesos_proto::mesos::Operation],
    ) -> Result<(), AgentError> {
        write_atomic(&self.paths().operations_info_file(), &encode_records(operations))
    }

    /// Writes `slave.info` and the boot id, then points `meta/slaves/latest` at it.
    pub fn agent_info(&self, info: &SlaveInfo) -> Result<(), AgentError> {
        if let Some(boot_id) = current_boot_id() {
            write_atomic(&self.paths.boot_id_file(), boot_id.as_bytes())?;
        }
        write_atomic(
            &self.paths.agent_info_file(&self.agent_id),
            &encode_records(std::slice::from_ref(info)),
        )?;
        link_atomic(Path::new(&self.agent_id), &self.paths.latest_agent_link())
    }

    /// Writes `framework.info` and `framework.pid`.
    pub fn framework(
        &self,
        info: &FrameworkInfo,
        framework_id: &str,
        pid: Option<&str>,
    ) -> Result<(), AgentError> {
        let dir = self.paths.framework_meta_dir(&self.agent_id, framework_id);
        write_atomic(
            &dir.join(files::FRAMEWORK_INFO),
            &encode_records(std::slice::from_ref(info)),
        )?;
        write_atomic(&dir.join(files::FRAMEWORK_PID), pid.unwrap_or("").as_bytes())
    }

    /// Writes `executor.info` and points `runs/latest` at the new run.
    pub fn executor(
        &self,
        framework_id: &str,
        info: &ExecutorInfo,
        container_id: &str,
    ) -> Result<(), AgentError> {
        let executor_id = info.executor_id.value.as_str();
        let dir = self.paths.executor_meta_dir(&self.agent_id, framework_id, executor_id);
        write_atomic(&dir.join(files::EXECUTOR_INFO), &encode_records(std::slice::from_ref(info)))?;
        let run = self.run_dir(framework_id, executor_id, container_id);
        fs::create_dir_all(&run).map_err(|e| AgentError::io("create folder", &run, e))?;
        link_atomic(Path::new(container_id), &dir.join("runs").join("latest"))
    }

    /// The meta folder of one executor run.
    pub fn run_dir(&self, framework_id: &str, executor_id: &str, container_id: &str) -> PathBuf {
        self.paths.run_meta_dir(&self.agent_id, framework_id, executor_id, container_id)
    }

    /// Writes a small text file of a run (`pids/forked.pid`, ...).
    pub fn run_file(
        &self,
        run: (&str, &str, &str),
        name: &str,
        text: &str,
    ) -> Result<(), AgentError> {
        write_atomic(&self.run_dir(run.0, run.1, run.2).join(name), text.as_bytes())
    }

    /// Writes `task.info`.
    pub fn task(&self, run: (&str, &str, &str), task: &Task) -> Result<(), AgentError> {
        let dir = self.paths.task_meta_dir(&self.run_dir(run.0, run.1, run.2), &task.task_id.value);
        write_atomic(&dir.join(files::TASK_INFO), &encode_records(std::slice::from_ref(task)))
    }

    /// Replaces `task.updates` with the task's whole status update stream.
    pub fn task_updates(
        &self,
        run: (&str, &str, &str),
        task_id: &str,
        records: &[StatusUpdateRecord],
    ) -> Result<(), AgentError> {
        let dir = self.paths.task_meta_dir(&self.run_dir(run.0, run.1, run.2), task_id);
        write_atomic(&dir.join(files::TASK_UPDATES), &encode_records(records))
    }
}

/// A task read back from its checkpoint.
#[derive(Debug, Clone)]
pub struct RecoveredTask {
    /// The task as last checkpointed.
    pub task: Task,
    /// Its status update stream.
    pub records: Vec<StatusUpdateRecord>,
}

/// An executor's latest run read back from its checkpoint.
#[derive(Debug, Clone)]
pub struct RecoveredExecutor {
    /// The executor.
    pub info: ExecutorInfo,
    /// Its latest run.
    pub container_id: String,
    /// Its OS pid, if it was started.
    pub forked_pid: Option<u32>,
    /// Its libprocess pid, if it registered.
    pub libprocess_pid: Option<Pid>,
    /// True if it is known to have exited.
    pub completed: bool,
    /// Its tasks.
    pub tasks: Vec<RecoveredTask>,
}

/// A framework read back from its checkpoint.
#[derive(Debug, Clone)]
pub struct RecoveredFramework {
    /// The framework.
    pub info: FrameworkInfo,
    /// The scheduler's pid.
    pub pid: Option<String>,
    /// Its executors.
    pub executors: Vec<RecoveredExecutor>,
}

/// Everything a restarted agent reads back.
#[derive(Debug, Clone)]
pub struct RecoveredState {
    /// The agent's info, with its id.
    pub info: SlaveInfo,
    /// True if the machine rebooted since the checkpoint (no executor survived).
    pub rebooted: bool,
    /// Checkpointing frameworks with work on the agent.
    pub frameworks: Vec<RecoveredFramework>,
    /// The checkpointed resources (dynamic reservations, persistent volumes) the
    /// master last sent (`meta/resources/resources.info`).
    pub resources: Vec<Resource>,
    /// The drain in progress when the agent stopped (`drain.config`).
    pub drain_config: Option<DrainConfig>,
    /// Operations awaiting acknowledgement (`meta/resources/operations.info`).
    pub operations: Vec<mesos_proto::mesos::Operation>,
}

#[path = "checkpoint_read.rs"]
mod read;
pub use read::read_state;

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
