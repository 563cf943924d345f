//! How `mesos-local` asks its masters for `/master/state`: plain HTTP, or HTTPS with the
//! same `LIBPROCESS_SSL_*` setting the whole cluster runs with (its children inherit
//! this process's environment), presenting the same certificate and trusting the same CAs.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use libprocess::TlsConfig;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts};

/// An HTTP client for the masters.
pub struct MasterHttp {
    agent: ureq::Agent,
    scheme: &'static str,
    /// The `Authorization` header value presented with `--authenticate`.
    authorization: Option<String>,
}

impl MasterHttp {
    /// A client for the setting in `tls` (plain when TLS is off).
    pub fn new(tls: &TlsConfig) -> anyhow::Result<MasterHttp> {
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .max_redirects(0);
        if tls.enabled {
            config = config.tls_config(ureq_tls(tls)?);
        }
        let scheme = if tls.enabled { "https" } else { "http" };
        let agent = ureq::Agent::new_with_config(config.build());
        Ok(MasterHttp { agent, scheme, authorization: None })
    }

    /// Presents `authorization` (an `Authorization` header value) with every request,
    /// for masters started with HTTP authentication on.
    pub fn authorize(&mut self, authorization: String) {
        self.authorization = Some(authorization);
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// `GET /master/state` of `master`.
    pub fn state(&self, master: SocketAddr) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}://{master}/master/state", self.scheme);
        let mut request = self.agent.get(&url);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let body = request.call()?.body_mut().read_to_string()?;
        serde_json::from_str(&body).map_err(|e| anyhow!("bad JSON from {url}: {e}"))
    }
}

fn ureq_tls(tls: &TlsConfig) -> anyhow::Result<ureq::tls::TlsConfig> {
    let read = |path: &Option<std::path::PathBuf>, what: &str| -> anyhow::Result<Vec<u8>> {
        let path = path.as_ref().ok_or_else(|| anyhow!("LIBPROCESS_SSL_{what} is not set"))?;
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let chain = certificates(&read(&tls.cert_file, "CERT_FILE")?);
    let key = PrivateKey::from_pem(&read(&tls.key_file, "KEY_FILE")?)?;
    let mut builder = ureq::tls::TlsConfig::builder()
        .client_cert(Some(ClientCert::new_with_certs(&chain, key)))
        .disable_verification(!tls.verify_server_cert);
    // The same CAs as the cluster's (`libprocess::tls`): the file, every PEM file of the
    // directory; without either, ureq's web PKI roots, as libprocess falls back to.
    let mut cas = Vec::new();
    if tls.ca_file.is_some() {
        cas.extend(certificates(&read(&tls.ca_file, "CA_FILE")?));
    }
    if let Some(dir) = &tls.ca_dir {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries.flatten() {
            cas.extend(
                std::fs::read(entry.path()).map(|pem| certificates(&pem)).unwrap_or_default(),
            );
        }
    }
    if !cas.is_empty() {
        builder = builder.root_certs(RootCerts::new_with_certs(&cas));
    }
    Ok(builder.build())
}

/// The certificates of a PEM file (other items are skipped).
fn certificates(pem: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect()
}
