//! A throwaway certificate authority for tests (feature `test-pki`): a CA and
//! certificates it signs, written as PEM files, and the `LIBPROCESS_SSL_*` environment
//! that turns TLS on with them.
//!
//! Never use these for anything but tests: the keys sit unencrypted in a test directory.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// A certificate and its key, as files.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The certificate (PEM).
    pub cert_file: PathBuf,
    /// Its private key (PEM, PKCS#8).
    pub key_file: PathBuf,
}

/// A test CA whose certificate is written to `<dir>/ca.pem`. The directory and every file
/// in it are removed when the `TestPki` is dropped (keep it while processes read them).
pub struct TestPki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

fn to_io(error: rcgen::Error) -> io::Error {
    io::Error::other(error.to_string())
}

impl TestPki {
    /// Makes a CA named `name` and writes its certificate under `dir`.
    pub fn new(dir: &Path, name: &str) -> io::Result<TestPki> {
        std::fs::create_dir_all(dir)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(to_io)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().map_err(to_io)?;
        let ca = CertifiedIssuer::self_signed(params, key).map_err(to_io)?;
        std::fs::write(dir.join("ca.pem"), ca.pem())?;
        Ok(TestPki { dir: dir.to_path_buf(), ca })
    }

    /// The CA certificate file.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Issues a certificate for `name` valid for `ips` (and `localhost`), written as
    /// `<dir>/<name>.pem` and `<dir>/<name>-key.pem`.
    pub fn issue(&self, name: &str, ips: &[IpAddr]) -> io::Result<Identity> {
        let mut sans: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
        sans.push("localhost".into());
        let mut params = CertificateParams::new(sans).map_err(to_io)?;
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().map_err(to_io)?;
        let cert = params.signed_by(&key, &self.ca).map_err(to_io)?;
        let identity = Identity {
            cert_file: self.dir.join(format!("{name}.pem")),
            key_file: self.dir.join(format!("{name}-key.pem")),
        };
        std::fs::write(&identity.cert_file, cert.pem())?;
        std::fs::write(&identity.key_file, key.serialize_pem())?;
        Ok(identity)
    }

    /// The environment that turns TLS on with `identity`: peers verified against this CA,
    /// client certificates required (mutual TLS), no downgrade.
    pub fn env(&self, identity: &Identity) -> Vec<(String, String)> {
        let path = |p: &Path| p.to_string_lossy().into_owned();
        vec![
            ("LIBPROCESS_SSL_ENABLED".into(), "true".into()),
            ("LIBPROCESS_SSL_CERT_FILE".into(), path(&identity.cert_file)),
            ("LIBPROCESS_SSL_KEY_FILE".into(), path(&identity.key_file)),
            ("LIBPROCESS_SSL_CA_FILE".into(), path(&self.ca_file())),
            ("LIBPROCESS_SSL_VERIFY_CERT".into(), "true".into()),
            ("LIBPROCESS_SSL_REQUIRE_CERT".into(), "true".into()),
            ("LIBPROCESS_SSL_SUPPORT_DOWNGRADE".into(), "false".into()),
        ]
    }

    /// The same setting as [`TestPki::env`], parsed.
    pub fn config(&self, identity: &Identity) -> crate::TlsConfig {
        let env = self.env(identity).into_iter().collect();
        // The environment above is complete and well formed.
        crate::TlsConfig::from_env_map(&env).expect("test PKI environment parses")
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
