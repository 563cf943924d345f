//! Mesos's files service, shared by the master and the agent: sandboxes below a root
//! and attached virtual paths (the master's `/master/log`, the agent's `/slave/log`)
//! served by `/files/browse`, `/files/read`, `/files/download` and the v1 operator
//! calls `LIST_FILES` and `READ_FILE`. Mesos: src/files/files.cpp.
//!
//! What a caller may see (the `access_sandboxes` and `access_mesos_logs` ACLs) is the
//! caller's to decide, before serving: [`Files::sandbox_of`] names the sandbox a path
//! lies in and [`Files::attachment_of`] the attached path.
//!
//! # Layout
//! - `files`: [`Files`], resolving a requested path (confined to the root or to its
//!   attachment) and listing and reading bounded pages of files.
//! - [`http`]: the endpoints' and v1 calls' answers over [`Files`].

mod files;
pub mod http;

pub use files::{FileEntry, Files, FilesError, MAX_DOWNLOAD_BYTES, MAX_READ_LENGTH, parse_query};
