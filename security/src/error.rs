//! Errors of this crate.

use std::path::PathBuf;

/// What goes wrong reading credentials or ACLs, or checking a request against them.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A credentials (or ACLs) file could not be read.
    #[error("failed to read '{path}': {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's contents are neither Mesos's JSON nor the text format.
    #[error("invalid credentials: {reason}")]
    InvalidCredentials {
        /// What is wrong, with the line or JSON error.
        reason: String,
    },
    /// `--acls` is not Mesos's ACLs JSON, or breaks one of the local authorizer's rules.
    #[error("invalid ACLs: {reason}")]
    InvalidAcls {
        /// What is wrong.
        reason: String,
    },
    /// The `--jwt_secret_key` file is empty.
    #[error("invalid jwt secret key: {reason}")]
    InvalidKey {
        /// What is wrong.
        reason: String,
    },
}
