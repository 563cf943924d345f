//! Credentials: who may authenticate, and with which secret.
//!
//! A master (and an agent serving authenticated HTTP) reads the principals it accepts
//! from `--credentials=<path>`; an agent or a scheduler reads the one it presents from
//! `--credential=<path>`. Both take a path or a `file://` URL, as Mesos's flags do, and
//! two formats:
//!
//! - Mesos's JSON, the [`mesos::Credentials`](mesos_proto::mesos::Credentials) message
//!   (`{"credentials": [{"principal": "ops", "secret": "s3cret"}]}`), or for a single
//!   credential the [`mesos::Credential`](mesos_proto::mesos::Credential) message
//!   (`{"principal": "ops", "secret": "s3cret"}`);
//! - the text format of Mesos before 1.0: one `principal secret` pair per line, blank
//!   lines ignored.
//!
//! Mesos: src/credentials/credentials.hpp `read`, `readCredential`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mesos_proto::mesos;

use crate::SecurityError;

/// One principal and its secret: what an agent or scheduler presents.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Who this is (`FrameworkInfo.principal` of a scheduler, the agent's principal).
    pub principal: String,
    /// The shared secret; never logged.
    pub secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs and panic messages.
        f.debug_struct("Credential").field("principal", &self.principal).finish_non_exhaustive()
    }
}

impl Credential {
    /// Reads a single credential from a path or `file://` URL (`--credential`).
    pub fn read(path: &str) -> Result<Self, SecurityError> {
        Self::parse(&read_file(path)?)
    }

    /// Parses a single credential: the JSON `mesos.Credential`, or one text line
    /// `principal secret`.
    pub fn parse(text: &str) -> Result<Self, SecurityError> {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            let credential: mesos::Credential = mesos_proto::json::from_json_str(trimmed)
                .map_err(|e| invalid(format!("invalid JSON credential: {e}")))?;
            return Ok(from_proto(credential));
        }
        let mut all = parse_lines(trimmed)?;
        match (all.pop(), all.is_empty()) {
            (Some(credential), true) => Ok(credential),
            (None, _) => Err(invalid("the credential file is empty".into())),
            (Some(_), false) => Err(invalid("expected one credential, found several".into())),
        }
    }
}

/// Every principal a master or agent accepts, with its secret (`--credentials`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Principal -> secret. A principal listed twice keeps its last secret, as Mesos's
    /// authenticators do when they load the list into a map.
    secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.secrets.keys()).finish()
    }
}

impl Credentials {
    /// Reads the credentials from a path or `file://` URL (`--credentials`). Warns, as
    /// Mesos does, when the file can be read by others.
    pub fn read(path: &str) -> Result<Self, SecurityError> {
        Self::parse(&read_file(path)?)
    }

    /// Parses Mesos's JSON `mesos.Credentials` or the text format.
    pub fn parse(text: &str) -> Result<Self, SecurityError> {
        let trimmed = text.trim();
        let list = if trimmed.starts_with('{') {
            let credentials: mesos::Credentials = mesos_proto::json::from_json_str(trimmed)
                .map_err(|e| invalid(format!("invalid JSON credentials: {e}")))?;
            credentials.credentials.into_iter().map(from_proto).collect()
        } else {
            parse_lines(trimmed)?
        };
        Ok(Self::from_list(list))
    }

    /// Builds the set from credentials already in hand (tests, `mesos-local`).
    pub fn from_list(list: impl IntoIterator<Item = Credential>) -> Self {
        Self { secrets: list.into_iter().map(|c| (c.principal, c.secret)).collect() }
    }

    /// The secret of `principal`, if it is known.
    pub fn secret(&self, principal: &str) -> Option<&str> {
        self.secrets.get(principal).map(String::as_str)
    }

    /// Whether `principal` is known and `secret` is its secret. The comparison takes
    /// the same time wherever the secrets first differ, so a caller cannot guess a
    /// secret byte by byte from response times.
    pub fn verify(&self, principal: &str, secret: &str) -> bool {
        match self.secret(principal) {
            Some(expected) => constant_time_eq(expected.as_bytes(), secret.as_bytes()),
            None => false,
        }
    }

    /// How many principals are known.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether no principal is known.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn from_proto(credential: mesos::Credential) -> Credential {
    Credential { principal: credential.principal, secret: credential.secret.unwrap_or_default() }
}

/// The text format: `principal secret` per line (any run of spaces or tabs between),
/// blank lines skipped. A line with one word or more than two is an error naming the
/// line, so a typo never silently locks someone out.
fn parse_lines(text: &str) -> Result<Vec<Credential>, SecurityError> {
    let mut list = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => continue,
            [principal, secret] => list.push(Credential {
                principal: (*principal).to_owned(),
                secret: (*secret).to_owned(),
            }),
            _ => {
                return Err(invalid(format!(
                    "line {}: expected 'principal secret', found {} words",
                    number + 1,
                    words.len()
                )));
            }
        }
    }
    Ok(list)
}

/// Reads a flag's file: a plain path or a `file://` URL, as Mesos's `Path` flags take.
fn read_file(flag: &str) -> Result<String, SecurityError> {
    let path = PathBuf::from(flag.strip_prefix("file://").unwrap_or(flag));
    warn_if_open(&path, "credentials file");
    std::fs::read_to_string(&path).map_err(|source| SecurityError::Read { path, source })
}

/// Mesos warns when others may read a credentials (or key) file; so do we.
pub(crate) fn warn_if_open(path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o007 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "permissions on the {what} are too open; it should not be accessible by others"
        );
    }
}

fn invalid(reason: String) -> SecurityError {
    SecurityError::InvalidCredentials { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mesos's JSON format parses, and a principal's secret is checked exactly.
    #[test]
    fn json_credentials() {
        let credentials = Credentials::parse(
            r#"{"credentials": [{"principal": "sherman", "secret": "kitesurf"},
                                {"principal": "ops", "secret": "s3cret"}]}"#,
        )
        .unwrap();
        assert_eq!(credentials.len(), 2);
        assert!(credentials.verify("sherman", "kitesurf"));
        assert!(!credentials.verify("sherman", "kitesurF"));
        assert!(!credentials.verify("sherman", "kitesur"));
        assert!(!credentials.verify("nobody", "kitesurf"));
        assert_eq!(credentials.secret("ops"), Some("s3cret"));
    }

    /// The legacy text format: pairs per line, blank lines and extra spaces allowed.
    #[test]
    fn text_credentials() {
        let credentials = Credentials::parse("sherman kitesurf\n\n  ops\ts3cret  \n").unwrap();
        assert!(credentials.verify("sherman", "kitesurf"));
        assert!(credentials.verify("ops", "s3cret"));
    }

    /// A malformed line is refused with its number, and bad JSON with the reason.
    #[test]
    fn malformed_credentials_are_refused() {
        let error = Credentials::parse("sherman kitesurf\nops\n").unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
        let error = Credentials::parse(r#"{"credentials": [{"secret": 1}]}"#).unwrap_err();
        assert!(error.to_string().contains("invalid JSON credentials"), "{error}");
    }

    /// One credential, in either format; two where one is expected is an error.
    #[test]
    fn single_credential() {
        let json = Credential::parse(r#"{"principal": "agent", "secret": "pw"}"#).unwrap();
        assert_eq!((json.principal.as_str(), json.secret.as_str()), ("agent", "pw"));
        let text = Credential::parse("agent pw\n").unwrap();
        assert_eq!(text, json);
        assert!(Credential::parse("a b\nc d").is_err());
        assert!(Credential::parse("").is_err());
    }

    /// `file://` URLs and plain paths both read the file; a missing file names the path.
    #[test]
    fn reads_paths_and_file_urls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, "sherman kitesurf\n").unwrap();
        let plain = Credentials::read(path.to_str().unwrap()).unwrap();
        let url = Credentials::read(&format!("file://{}", path.display())).unwrap();
        assert_eq!(plain, url);
        let missing = Credentials::read("/nonexistent/credentials").unwrap_err().to_string();
        assert!(missing.contains("/nonexistent/credentials"), "{missing}");
    }

    /// Secrets never reach Debug output.
    #[test]
    fn debug_hides_secrets() {
        let credentials = Credentials::parse("sherman kitesurf").unwrap();
        assert!(!format!("{credentials:?}").contains("kitesurf"));
        let credential = Credential::parse("sherman kitesurf").unwrap();
        assert!(!format!("{credential:?}").contains("kitesurf"));
    }
}
