//! The members' logs of a cluster whose test failed.

use std::path::{Path, PathBuf};

/// The end of each member's log (`<work_dir>/<member>/<role>.log`), for a failed test:
/// the work directory goes with the test, and the cause is usually in there.
pub(super) fn print(work_dir: &Path) {
    const TAIL: usize = 60;
    let Ok(members) = std::fs::read_dir(work_dir) else { return };
    let mut logs: Vec<PathBuf> = members
        .flatten()
        .filter_map(|member| std::fs::read_dir(member.path()).ok())
        .flat_map(|files| files.flatten().map(|file| file.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    logs.sort();
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let (head, tail) = lines.split_at(lines.len().saturating_sub(TAIL));
        // Before the tail, only warnings, errors and raft's own lines (elections).
        let notable = |line: &&&str| {
            line.contains(" WARN ") || line.contains(" ERROR ") || line.contains("raft")
        };
        let earlier: Vec<&str> = head.iter().filter(notable).copied().collect();
        eprintln!(
            "---- {}: notable earlier lines ----\n{}\n---- its end ----\n{}",
            log.display(),
            earlier.join("\n"),
            tail.join("\n")
        );
    }
}
