//! Reading a whole agent checkpoint back (Mesos: src/slave/state.cpp `recover`).

use std::fs;
use std::path::{Path, PathBuf};

use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, SlaveInfo, Task};

use super::{
    RecoveredExecutor, RecoveredFramework, RecoveredState, RecoveredTask, current_boot_id,
    decode_records, read_message, read_optional, read_text,
};
use crate::error::AgentError;
use crate::paths::{Paths, files};

/// Most entries read from one checkpoint folder; more is reported as corruption.
const MAX_ENTRIES_PER_DIR: usize = 100_000;

fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, AgentError> {
    let entries = match fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AgentError::io("list", dir, e)),
        Ok(entries) => entries,
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| AgentError::io("list", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == "latest" || name.starts_with('.') || !path.is_dir() {
            continue;
        }
        out.push((name, path));
        if out.len() > MAX_ENTRIES_PER_DIR {
            return Err(AgentError::CorruptCheckpoint {
                path: dir.to_path_buf(),
                reason: "too many entries".into(),
            });
        }
    }
    out.sort();
    Ok(out)
}

fn required<M: prost::Message + Default>(path: &Path) -> Result<M, AgentError> {
    read_message(path)?.ok_or_else(|| AgentError::CorruptCheckpoint {
        path: path.to_path_buf(),
        reason: "missing (its folder exists, so it was checkpointed)".into(),
    })
}

/// Reads the checkpoint of the agent `meta/slaves/latest` points at; `Ok(None)` for
/// a fresh work directory. Any unreadable file is an error naming it.
pub fn read_state(paths: &Paths) -> Result<Option<RecoveredState>, AgentError> {
    let latest = paths.latest_agent_link();
    let target = match fs::read_link(&latest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AgentError::io("read link", &latest, e)),
        Ok(target) => target,
    };
    let agent_id = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let info: SlaveInfo = required(&paths.agent_info_file(&agent_id))?;
    let rebooted = match (read_text(&paths.boot_id_file())?, current_boot_id()) {
        (Some(then), Some(now)) => then != now,
        _ => false,
    };
    let mut frameworks = Vec::new();
    for (_, dir) in subdirs(&paths.agent_meta_dir(&agent_id).join("frameworks"))? {
        frameworks.push(read_framework(&dir)?);
    }
    let resources_file = paths.resources_info_file();
    let resources = match read_optional(&resources_file)? {
        Some(bytes) => decode_records(&resources_file, &bytes)?,
        None => Vec::new(),
    };
    let drain_file = paths.drain_config_file(&agent_id);
    let drain_config = match read_optional(&drain_file)? {
        Some(bytes) => decode_records(&drain_file, &bytes)?.into_iter().next(),
        None => None,
    };
    let operations_file = paths.operations_info_file();
    let operations = match read_optional(&operations_file)? {
        Some(bytes) => decode_records(&operations_file, &bytes)?,
        None => Vec::new(),
    };
    Ok(Some(RecoveredState { info, rebooted, frameworks, resources, drain_config, operations }))
}

fn read_framework(dir: &Path) -> Result<RecoveredFramework, AgentError> {
    let info: FrameworkInfo = required(&dir.join(files::FRAMEWORK_INFO))?;
    let pid = read_text(&dir.join(files::FRAMEWORK_PID))?.filter(|p| !p.is_empty());
    let mut executors = Vec::new();
    for (_, executor_dir) in subdirs(&dir.join("executors"))? {
        if let Some(executor) = read_executor(&executor_dir)? {
            executors.push(executor);
        }
    }
    Ok(RecoveredFramework { info, pid, executors })
}

fn read_executor(dir: &Path) -> Result<Option<RecoveredExecutor>, AgentError> {
    let info: ExecutorInfo = required(&dir.join(files::EXECUTOR_INFO))?;
    let latest = dir.join("runs").join("latest");
    let container_id = match fs::read_link(&latest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AgentError::io("read link", &latest, e)),
        Ok(target) => {
            target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        }
    };
    let run = dir.join("runs").join(&container_id);
    let forked_file = run.join(files::FORKED_PID);
    let forked_pid = match read_text(&forked_file)? {
        None => None,
        Some(text) => Some(text.parse::<u32>().map_err(|_| AgentError::CorruptCheckpoint {
            path: forked_file.clone(),
            reason: format!("'{text}' is not a process id"),
        })?),
    };
    let libprocess_file = run.join(files::LIBPROCESS_PID);
    let libprocess_pid = match read_text(&libprocess_file)? {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| AgentError::CorruptCheckpoint {
            path: libprocess_file.clone(),
            reason: format!("'{text}' is not a libprocess pid"),
        })?),
    };
    let completed = run.join(files::SENTINEL).exists();
    let mut tasks = Vec::new();
    for (_, task_dir) in subdirs(&run.join("tasks"))? {
        let task: Task = required(&task_dir.join(files::TASK_INFO))?;
        let updates_file = task_dir.join(files::TASK_UPDATES);
        let records = match read_optional(&updates_file)? {
            None => Vec::new(),
            Some(bytes) => decode_records(&updates_file, &bytes)?,
        };
        tasks.push(RecoveredTask { task, records });
    }
    Ok(Some(RecoveredExecutor { info, container_id, forked_pid, libprocess_pid, completed, tasks }))
}
