//! TLS settings, read from the environment as libprocess reads them (`LIBPROCESS_SSL_*`).
//!
//! One setting covers every connection of a node: libprocess messages in and out, and
//! every HTTP endpoint it serves. [`TlsConfig::from_env_map`] is a pure parser (an
//! environment in, settings or a clear error out); [`TlsConfig::load`] reads the
//! certificate files once, at node start, into the rustls configurations that
//! `net` uses for every inbound and outbound connection. [`connect`] opens a client
//! connection with a node's setting ([`crate::Node::tls`]), for the HTTP clients that
//! talk to other nodes.
//!
//! The variables and their defaults follow Mesos (`docs/ssl.md`, libprocess
//! `openssl.cpp` `Flags::Flags` and `reinitialize`):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LIBPROCESS_SSL_ENABLED` | false | every connection speaks TLS |
//! | `LIBPROCESS_SSL_CERT_FILE`, `_KEY_FILE` | (required when enabled) | this node's certificate chain and key, PEM; presented as server and as client |
//! | `LIBPROCESS_SSL_CA_FILE`, `_CA_DIR` | the webpki root set | the CAs trusted to verify peers (a PEM file; a directory of PEM files) |
//! | `LIBPROCESS_SSL_VERIFY_SERVER_CERT` (legacy `_VERIFY_CERT`) | false | as a client, verify the server's certificate chain and address |
//! | `LIBPROCESS_SSL_REQUIRE_CLIENT_CERT` (legacy `_REQUIRE_CERT`) | false | as a server, refuse clients without a certificate signed by a trusted CA (mutual TLS); implies verifying servers |
//! | `LIBPROCESS_SSL_SUPPORT_DOWNGRADE` | false | as a server, also accept plain connections on the same port; as a client, retry in plain when the TLS handshake fails |
//!
//! Booleans are `true`/`1` or `false`/`0`, as stout parses them; anything else is an
//! error (Mesos exits at start). The deprecated `SSL_` prefix is read too, and
//! `LIBPROCESS_SSL_` wins when both are set (Mesos: MESOS-5863).
//!
//! Differences from Mesos: peers are verified against the IP address they are reached
//! at (a certificate needs that IP among its subject alternative names), which is
//! Mesos's `openssl` hostname validation scheme with `LIBPROCESS_SSL_VERIFY_IPADD=true`;
//! the other OpenSSL knobs (ciphers, curves, protocol switches, verify depth) have no
//! rustls equivalent and are ignored: rustls speaks TLS 1.2 and 1.3 with its own safe
//! cipher suites.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

pub use crate::net::tls::{ClientStream, connect};

/// The prefix of every TLS variable.
pub const ENV_PREFIX: &str = "LIBPROCESS_SSL_";
/// The deprecated prefix Mesos still reads (MESOS-5863).
pub const LEGACY_ENV_PREFIX: &str = "SSL_";

/// A TLS setting that cannot be used; the node does not start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A boolean variable holds something other than `true`/`1`/`false`/`0`.
    #[error("{variable}={value:?}: expected true, false, 1 or 0")]
    BadBool {
        /// The variable, with its prefix.
        variable: String,
        /// What it holds.
        value: String,
    },
    /// TLS is enabled without a certificate or key.
    #[error("LIBPROCESS_SSL_ENABLED needs LIBPROCESS_SSL_{missing}")]
    Missing {
        /// `CERT_FILE` or `KEY_FILE`.
        missing: &'static str,
    },
    /// A file cannot be read or holds no usable PEM item.
    #[error("{what} {path}: {reason}")]
    File {
        /// What the file should hold (`certificate`, `key`, `CA`).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// rustls refused the combination (a key that does not match its certificate...).
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
}

/// The TLS settings of a node, as read from `LIBPROCESS_SSL_*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Every connection speaks TLS (`LIBPROCESS_SSL_ENABLED`).
    pub enabled: bool,
    /// Also accept plain connections; retry plain when a TLS connect fails.
    pub support_downgrade: bool,
    /// This node's certificate chain, PEM.
    pub cert_file: Option<PathBuf>,
    /// This node's private key, PEM.
    pub key_file: Option<PathBuf>,
    /// A PEM file of trusted CAs.
    pub ca_file: Option<PathBuf>,
    /// A directory of PEM files of trusted CAs.
    pub ca_dir: Option<PathBuf>,
    /// As a client, verify the server's certificate.
    pub verify_server_cert: bool,
    /// As a server, require and verify a client certificate (mutual TLS).
    pub require_client_cert: bool,
}

impl TlsConfig {
    /// Reads the settings from this process's environment.
    pub fn from_env() -> Result<TlsConfig, TlsError> {
        TlsConfig::from_env_map(&std::env::vars().collect())
    }

    /// Parses the settings from an environment (pure: the same map gives the same result).
    // Mesos: openssl.cpp reinitialize (SSL_ then LIBPROCESS_SSL_, the latter winning;
    // require_cert implies verify_cert).
    pub fn from_env_map(env: &HashMap<String, String>) -> Result<TlsConfig, TlsError> {
        let get = |key: &str| {
            env.get(&format!("{ENV_PREFIX}{key}"))
                .map(|v| (format!("{ENV_PREFIX}{key}"), v))
                .or_else(|| {
                    env.get(&format!("{LEGACY_ENV_PREFIX}{key}"))
                        .map(|v| (format!("{LEGACY_ENV_PREFIX}{key}"), v))
                })
        };
        let flag = |key: &str| -> Result<bool, TlsError> {
            match get(key) {
                None => Ok(false),
                Some((variable, value)) => parse_bool(&variable, value),
            }
        };
        let path = |key: &str| get(key).filter(|(_, v)| !v.is_empty()).map(|(_, v)| v.into());
        let require_client_cert = flag("REQUIRE_CLIENT_CERT")? | flag("REQUIRE_CERT")?;
        let config = TlsConfig {
            enabled: flag("ENABLED")?,
            support_downgrade: flag("SUPPORT_DOWNGRADE")?,
            cert_file: path("CERT_FILE"),
            key_file: path("KEY_FILE"),
            ca_file: path("CA_FILE"),
            ca_dir: path("CA_DIR"),
            verify_server_cert: flag("VERIFY_SERVER_CERT")?
                | flag("VERIFY_CERT")?
                | require_client_cert,
            require_client_cert,
        };
        if config.enabled {
            if config.cert_file.is_none() {
                return Err(TlsError::Missing { missing: "CERT_FILE" });
            }
            if config.key_file.is_none() {
                return Err(TlsError::Missing { missing: "KEY_FILE" });
            }
        }
        Ok(config)
    }

    /// The `LIBPROCESS_SSL_*` and `SSL_*` variables of this process, to pass on to the
    /// processes it starts (an agent's executors inherit its TLS setting, as Mesos
    /// operators arrange with `--executor_environment_variables`).
    pub fn inherited_environment() -> Vec<(String, String)> {
        std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) || k.starts_with(LEGACY_ENV_PREFIX))
            .collect()
    }

    /// Reads the certificate files into rustls configurations; `None` when TLS is off.
    pub fn load(&self) -> Result<Option<Tls>, TlsError> {
        if !self.enabled {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert_file =
            self.cert_file.as_deref().ok_or(TlsError::Missing { missing: "CERT_FILE" })?;
        let key_file = self.key_file.as_deref().ok_or(TlsError::Missing { missing: "KEY_FILE" })?;
        let chain = read_certs(cert_file, "certificate")?;
        let key = read_key(key_file)?;
        let roots = Arc::new(self.roots()?);
        let rustls_error = |e: rustls::Error| TlsError::Rustls(e.to_string());

        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(rustls_error)?;
        let server = if self.require_client_cert {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?;
            server.with_client_cert_verifier(verifier)
        } else {
            // Mesos: without require_client_cert, client certificates are not verified.
            server.with_no_client_auth()
        };
        let server =
            server.with_single_cert(chain.clone(), key.clone_key()).map_err(rustls_error)?;

        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(rustls_error)?;
        let client = if self.verify_server_cert {
            client.with_root_certificates(roots)
        } else {
            let verifier =
                UnverifiedServer { algorithms: provider.signature_verification_algorithms };
            client.dangerous().with_custom_certificate_verifier(Arc::new(verifier))
        };
        // Mesos presents its certificate as a client too (one SSL_CTX for both roles).
        let client = client.with_client_auth_cert(chain, key).map_err(rustls_error)?;

        Ok(Some(Tls {
            server: Arc::new(server),
            client: Arc::new(client),
            support_downgrade: self.support_downgrade,
        }))
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        let mut add = |path: &Path| -> Result<(), TlsError> {
            for cert in read_certs(path, "CA")? {
                roots.add(cert).map_err(|e| TlsError::File {
                    what: "CA",
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
            }
            Ok(())
        };
        if let Some(file) = &self.ca_file {
            add(file)?;
        }
        if let Some(dir) = &self.ca_dir {
            let entries = std::fs::read_dir(dir).map_err(|e| TlsError::File {
                what: "CA directory",
                path: dir.clone(),
                reason: e.to_string(),
            })?;
            // Every PEM file of the directory; other files (OpenSSL's hash links to the
            // same PEM files, READMEs) add nothing or are skipped.
            for entry in entries.flatten() {
                let _ = add(&entry.path());
            }
        }
        if self.ca_file.is_none() && self.ca_dir.is_none() {
            // Mesos falls back to OpenSSL's default verify paths; ours is the webpki set.
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        Ok(roots)
    }
}

fn parse_bool(variable: &str, value: &str) -> Result<bool, TlsError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(TlsError::BadBool { variable: variable.to_string(), value: value.to_string() }),
    }
}

fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let file_error = |reason: String| TlsError::File { what, path: path.to_path_buf(), reason };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(file_error("no PEM certificate in it".into()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::File {
        what: "key",
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// A node's loaded TLS setting: what every connection of the node uses.
#[derive(Clone)]
pub struct Tls {
    pub(crate) server: Arc<ServerConfig>,
    pub(crate) client: Arc<ClientConfig>,
    pub(crate) support_downgrade: bool,
}

impl Tls {
    /// The rustls client configuration (for HTTP clients that speak to TLS nodes).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.client.clone()
    }

    /// The rustls server configuration.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server.clone()
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("support_downgrade", &self.support_downgrade).finish()
    }
}

/// Whether the first bytes a client sent open a TLS ClientHello: a handshake record
/// (0x16), protocol major version 3, handshake type ClientHello (1). Decides on the bytes
/// it has, so a short first read is enough; plain HTTP starts with a method's letter.
// Mesos: openssl_socket.cpp (accept with support_downgrade peeks the first 6 bytes;
// after openssl's ssl23_get_client_hello).
pub fn looks_like_tls(prefix: &[u8]) -> bool {
    prefix.first() == Some(&0x16)
        && prefix.get(1).is_none_or(|b| *b == 3)
        && prefix.get(5).is_none_or(|b| *b == 1)
}

/// With `LIBPROCESS_SSL_VERIFY_SERVER_CERT` off, Mesos still requires a server
/// certificate but does not verify it; the handshake's signatures are still checked.
#[derive(Debug)]
struct UnverifiedServer {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for UnverifiedServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// An empty environment means TLS off, every default false (Mesos's defaults).
    #[test]
    fn defaults_are_off() {
        assert_eq!(TlsConfig::from_env_map(&env(&[])).unwrap(), TlsConfig::default());
    }

    /// Enabled needs a certificate and a key; booleans take true/false/1/0 only.
    #[test]
    fn enabled_needs_cert_and_key_and_booleans_are_strict() {
        let missing = TlsConfig::from_env_map(&env(&[("LIBPROCESS_SSL_ENABLED", "true")]));
        assert!(matches!(missing, Err(TlsError::Missing { missing: "CERT_FILE" })));
        let no_key = TlsConfig::from_env_map(&env(&[
            ("LIBPROCESS_SSL_ENABLED", "1"),
            ("LIBPROCESS_SSL_CERT_FILE", "/c.pem"),
        ]));
        assert!(matches!(no_key, Err(TlsError::Missing { missing: "KEY_FILE" })));
        let bad = TlsConfig::from_env_map(&env(&[("LIBPROCESS_SSL_ENABLED", "yes")]));
        assert!(matches!(bad, Err(TlsError::BadBool { .. })));
        let off = TlsConfig::from_env_map(&env(&[("LIBPROCESS_SSL_ENABLED", "0")])).unwrap();
        assert!(!off.enabled);
    }

    /// Legacy names are aliases; require_cert implies verify_cert; LIBPROCESS_SSL_ wins
    /// over SSL_.
    #[test]
    fn aliases_implications_and_prefixes() {
        let config = TlsConfig::from_env_map(&env(&[
            ("LIBPROCESS_SSL_ENABLED", "true"),
            ("LIBPROCESS_SSL_CERT_FILE", "/c.pem"),
            ("SSL_KEY_FILE", "/k.pem"),
            ("LIBPROCESS_SSL_REQUIRE_CERT", "true"),
            ("SSL_SUPPORT_DOWNGRADE", "true"),
            ("LIBPROCESS_SSL_SUPPORT_DOWNGRADE", "false"),
            ("LIBPROCESS_SSL_CA_FILE", "/ca.pem"),
        ]))
        .unwrap();
        assert!(config.enabled && config.require_client_cert && config.verify_server_cert);
        assert!(!config.support_downgrade, "LIBPROCESS_SSL_ wins over SSL_");
        assert_eq!(config.key_file.as_deref(), Some(Path::new("/k.pem")));
        assert_eq!(config.ca_file.as_deref(), Some(Path::new("/ca.pem")));
        let verify = TlsConfig::from_env_map(&env(&[("LIBPROCESS_SSL_VERIFY_CERT", "1")])).unwrap();
        assert!(verify.verify_server_cert && !verify.require_client_cert);
    }

    /// A ClientHello starts 0x16 0x03 .. .. .. 0x01; HTTP methods and short reads of
    /// other bytes do not.
    #[test]
    fn client_hello_detection() {
        assert!(looks_like_tls(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00]));
        assert!(looks_like_tls(&[0x16]));
        assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_tls(b"POST /"));
        assert!(!looks_like_tls(&[]));
        assert!(!looks_like_tls(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x02]));
    }
}
