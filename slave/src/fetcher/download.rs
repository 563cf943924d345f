//! Getting a URI's bytes into a file: HTTP(S) downloads and local copies, bounded in
//! size and time, abandoned when the fetch is cancelled.
//!
//! Mesos: src/launcher/fetcher.cpp `download`, `downloadWithNet` (libcurl, with
//! `--fetcher_stall_timeout`), `copyFile`. HTTP goes through `ureq` on rustls with
//! webpki roots (no system OpenSSL).

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::plan::Source;

/// How long connecting to an HTTP server may take (then the download fails).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits of one fetch.
pub struct Limits<'a> {
    /// The most bytes one file may have.
    pub max_bytes: u64,
    /// When the whole fetch must be done (`--executor_registration_timeout` after it
    /// started).
    pub deadline: Instant,
    /// A download whose reads stall this long fails (`--fetcher_stall_timeout`).
    pub stall_timeout: Duration,
    /// True once the agent no longer wants the fetch (the executor was shut down).
    pub cancelled: &'a dyn Fn() -> bool,
}

impl Limits<'_> {
    /// An error if the fetch is past its deadline or cancelled.
    pub fn check(&self) -> Result<(), String> {
        if (self.cancelled)() {
            return Err("the fetch was cancelled (the executor was shut down)".into());
        }
        if Instant::now() >= self.deadline {
            return Err("the fetch took longer than --executor_registration_timeout".into());
        }
        Ok(())
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// Copies `from` into `to`, chunk by chunk, checking the limits between chunks;
/// returns the bytes copied.
pub fn bounded_copy(
    from: &mut dyn Read,
    to: &mut dyn Write,
    limits: &Limits,
) -> Result<u64, String> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        limits.check()?;
        let read = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read failed: {e}")),
        };
        total += read as u64;
        if total > limits.max_bytes {
            return Err(format!("larger than the limit of {} bytes", limits.max_bytes));
        }
        to.write_all(&buffer[..read]).map_err(|e| format!("write failed: {e}"))?;
    }
    to.flush().map_err(|e| format!("write failed: {e}"))?;
    Ok(total)
}

/// System CA bundles, as libcurl (which Mesos's fetcher uses) finds them on the
/// common distributions.
pub const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The HTTP client of every download: rustls trusting the system's CA bundle (the
/// first of [`SYSTEM_CA_BUNDLES`] that exists) plus `extra_ca` (the agent's
/// `LIBPROCESS_SSL_CA_FILE`), or Mozilla's webpki roots when neither is there; no
/// compressed transfer asked for (the bytes are stored as served); reads stalling for
/// `stall_timeout` fail.
pub fn http_client(extra_ca: Option<&Path>, stall_timeout: Duration) -> ureq::Agent {
    let mut roots: Vec<ureq::tls::Certificate<'static>> = Vec::new();
    let system = SYSTEM_CA_BUNDLES.iter().map(Path::new).find(|p| p.exists());
    for file in system.into_iter().chain(extra_ca) {
        match std::fs::read(file) {
            Ok(pem) => roots.extend(ureq::tls::parse_pem(&pem).filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert.to_owned()),
                _ => None,
            })),
            Err(error) => {
                tracing::warn!(%error, file = %file.display(), "cannot read CA certificates")
            }
        }
    }
    let roots = if roots.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        ureq::tls::RootCerts::new_with_certs(&roots)
    };
    let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .accept_encoding(ureq::config::AutoHeaderValue::None)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(stall_timeout))
        .http_status_as_error(false)
        .build();
    ureq::Agent::new_with_config(config)
}

/// Puts the bytes of `source` into the new file `path` (an existing symlink there is
/// replaced, never followed); returns their number. A local source is opened with
/// the permissions of `run_as`, if given (Mesos's fetcher runs as the task's user).
pub fn download(
    http: &ureq::Agent,
    source: &Source,
    path: &Path,
    limits: &Limits,
    run_as: Option<&crate::users::RunAs>,
) -> Result<u64, String> {
    limits.check()?;
    let mut file = super::extract::create_file(path, 0o644)?;
    match source {
        Source::Local(from) => {
            let mut input = crate::users::open_as(from, run_as)
                .map_err(|e| format!("cannot open '{}': {e}", from.display()))?;
            if input.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(format!("'{}' is a directory", from.display()));
            }
            bounded_copy(&mut input, &mut file, limits)
        }
        Source::Net(url) => {
            let response = http
                .get(url)
                .config()
                .timeout_global(Some(limits.remaining()))
                .build()
                .call()
                .map_err(|e| format!("download failed: {e}"))?;
            let status = response.status().as_u16();
            // Mesos: downloadWithNet accepts only 200.
            if status != 200 {
                return Err(format!(
                    "Error downloading resource, received HTTP return code {status}"
                ));
            }
            let mut body = response.into_body().into_reader();
            bounded_copy(&mut body, &mut file, limits)
        }
    }
}
