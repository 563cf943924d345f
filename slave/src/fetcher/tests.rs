//! Unit tests of the fetcher's pure parts, and of fetching and extracting local files
//! into a scratch sandbox (HTTP is exercised by the agent's real-process tests).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mesos_proto::mesos::command_info::Uri;

use super::plan::{ArchiveKind, Source, basename, destination, link_stays_inside, source};
use super::{FetchJob, Fetcher, FetcherConfig};

/// Basenames follow Mesos's `Fetcher::basename`; names that are no file are refused.
#[test]
fn basenames() {
    assert_eq!(basename("http://host:80/path/to/app.tar.gz").unwrap(), "app.tar.gz");
    assert_eq!(basename("http://host/a?b=c").unwrap(), "a?b=c");
    assert_eq!(basename("/opt/bin/tool").unwrap(), "tool");
    assert_eq!(basename("/opt/bin/").unwrap(), "bin");
    assert!(basename("http://host").unwrap_err().contains("missing path"));
    assert!(basename("http://host/").is_err());
    assert!(basename("http://host/dir/..").is_err());
    assert!(basename("/x/..").is_err());
    assert!(basename("it's").unwrap_err().contains("Illegal"));
}

/// Sources: http(s) downloads, file:// and absolute paths copies, relative paths under
/// --frameworks_home only, other schemes refused.
#[test]
fn sources() {
    assert_eq!(source(" http://h/x", None).unwrap(), Source::Net("http://h/x".into()));
    assert_eq!(source("file:///a/b", None).unwrap(), Source::Local("/a/b".into()));
    assert_eq!(source("file://localhost/a/b", None).unwrap(), Source::Local("/a/b".into()));
    assert_eq!(source("/a/b", None).unwrap(), Source::Local("/a/b".into()));
    assert!(source("file://a/b", None).unwrap_err().contains("absolute"));
    assert!(source("a/b", None).unwrap_err().contains("frameworks_home"));
    assert_eq!(source("a/b", Some(Path::new("/home"))).unwrap(), Source::Local("/home/a/b".into()));
    assert!(source("ftp://h/x", None).unwrap_err().contains("unsupported"));
}

/// Destinations: `output_file` relative and inside, else the basename; `..` and
/// absolute paths are refused.
#[test]
fn destinations_never_leave_the_sandbox() {
    assert_eq!(destination("http://h/a.sh", None).unwrap(), PathBuf::from("a.sh"));
    assert_eq!(
        destination("http://h/a.sh", Some("bin/run.sh")).unwrap(),
        PathBuf::from("bin/run.sh")
    );
    assert_eq!(destination("http://h/a.sh", Some("./x")).unwrap(), PathBuf::from("x"));
    assert!(
        destination("http://h/a.sh", Some("/etc/passwd"))
            .unwrap_err()
            .contains("within the sandbox")
    );
    assert!(destination("http://h/a.sh", Some("../x")).unwrap_err().contains("within the sandbox"));
    assert!(destination("http://h/a.sh", Some("a/../../x")).is_err());
    assert!(destination("http://h/a.sh", Some("")).is_err());
    assert!(destination("http://h/a.sh", Some(".")).is_err());
    assert!(destination("http://h/a.sh", Some("dir/")).is_err());
    assert!(destination("http://h/..", None).is_err());
}

/// Symlink targets are judged from the link's folder.
#[test]
fn symlink_targets() {
    assert!(link_stays_inside(Path::new("bin/java"), Path::new("../lib/java")));
    assert!(link_stays_inside(Path::new("a"), Path::new("b/c")));
    assert!(!link_stays_inside(Path::new("a"), Path::new("../x")));
    assert!(!link_stays_inside(Path::new("bin/x"), Path::new("../../x")));
    assert!(!link_stays_inside(Path::new("a"), Path::new("/etc/passwd")));
}

/// Archive kinds by extension, the longest suffix first (Mesos's list).
#[test]
fn archive_kinds() {
    assert_eq!(ArchiveKind::of("a.tar.gz"), Some(ArchiveKind::TarGz));
    assert_eq!(ArchiveKind::of("a.tgz"), Some(ArchiveKind::TarGz));
    assert_eq!(ArchiveKind::of("a.tar.bz2"), Some(ArchiveKind::TarBz2));
    assert_eq!(ArchiveKind::of("a.txz"), Some(ArchiveKind::TarXz));
    assert_eq!(ArchiveKind::of("a.zip"), Some(ArchiveKind::Zip));
    assert_eq!(ArchiveKind::of("a.gz"), Some(ArchiveKind::Gz));
    assert_eq!(ArchiveKind::of("a.tar"), Some(ArchiveKind::Tar));
    assert_eq!(ArchiveKind::of("a.sh"), None);
}

/// A scratch folder with a sandbox, a source folder and a cache folder.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("fetcher-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sandbox")).unwrap();
        std::fs::create_dir_all(dir.join("src")).unwrap();
        Scratch(dir)
    }
    fn sandbox(&self) -> PathBuf {
        self.0.join("sandbox")
    }
    fn src(&self, name: &str) -> PathBuf {
        self.0.join("src").join(name)
    }
    fn fetcher(&self, cache_size: u64) -> Fetcher {
        let mut config = FetcherConfig::new(&self.0);
        config.cache_size = cache_size;
        config.max_download_size = 1 << 20;
        Fetcher::new(config)
    }
    fn job(&self, uris: Vec<Uri>) -> FetchJob {
        FetchJob {
            run_as: None,
            uris,
            sandbox: self.sandbox(),
            user: Some("alice".into()),
            timeout: Duration::from_secs(60),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uri(value: &Path) -> Uri {
    Uri { value: value.to_string_lossy().into_owned(), ..Uri::default() }
}

/// A tar with chosen raw entries: (name, link target or contents, type).
fn raw_tar(entries: &[(&str, &str, tar::EntryType)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data, kind) in entries {
        let mut header = tar::Header::new_old();
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        let body: &[u8] = if kind.is_symlink() || kind.is_hard_link() {
            header.as_old_mut().linkname[..data.len()].copy_from_slice(data.as_bytes());
            &[]
        } else {
            data.as_bytes()
        };
        header.set_entry_type(*kind);
        header.set_mode(0o755);
        header.set_size(body.len() as u64);
        header.set_cksum();
        builder.append(&header, body).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const FILE: tar::EntryType = tar::EntryType::Regular;
const DIR: tar::EntryType = tar::EntryType::Directory;
const SYMLINK: tar::EntryType = tar::EntryType::Symlink;

/// Every archive format Mesos extracts lands in the sandbox with its modes; a bare
/// `.gz` is decompressed without its extension; `executable` chmods 0755.
#[test]
fn extracts_every_format() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("formats");
    let tar = raw_tar(&[
        ("app/", "", DIR),
        ("app/run.sh", "echo hi", FILE),
        ("app/lib", "run.sh", SYMLINK),
    ]);
    std::fs::write(scratch.src("a.tar"), &tar).unwrap();
    std::fs::write(scratch.src("b.tgz"), gzip(&raw_tar(&[("b.txt", "b", FILE)]))).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&raw_tar(&[("c.txt", "c", FILE)])).unwrap();
    std::fs::write(scratch.src("c.tar.bz2"), bz.finish().unwrap()).unwrap();
    let mut xz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    xz.write_all(&raw_tar(&[("d.txt", "d", FILE)])).unwrap();
    std::fs::write(scratch.src("d.tar.xz"), xz.finish().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o750);
    zip.start_file("z/e.sh", options).unwrap();
    zip.write_all(b"e").unwrap();
    std::fs::write(scratch.src("e.zip"), zip.finish().unwrap().into_inner()).unwrap();
    std::fs::write(scratch.src("f.txt.gz"), gzip(b"f")).unwrap();
    std::fs::write(scratch.src("tool"), b"#!/bin/sh\n").unwrap();
    let mut tool = uri(&scratch.src("tool"));
    tool.executable = Some(true);
    let names = ["a.tar", "b.tgz", "c.tar.bz2", "d.tar.xz", "e.zip", "f.txt.gz"];
    let mut uris: Vec<Uri> = names.iter().map(|n| uri(&scratch.src(n))).collect();
    uris.push(tool);
    scratch.fetcher(0).fetch(&scratch.job(uris)).expect("fetched");
    let sandbox = scratch.sandbox();
    let read = |p: &str| std::fs::read_to_string(sandbox.join(p)).unwrap();
    assert_eq!(read("app/run.sh"), "echo hi");
    assert_eq!(read("app/lib"), "echo hi", "the symlink inside the sandbox is kept");
    assert_eq!(
        (read("b.txt"), read("c.txt"), read("d.txt"), read("z/e.sh"), read("f.txt")),
        ("b".into(), "c".into(), "d".into(), "e".into(), "f".into())
    );
    let mode = |p: &str| std::fs::metadata(sandbox.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("app/run.sh"), 0o755);
    assert_eq!(mode("z/e.sh"), 0o750);
    assert_eq!(mode("tool"), 0o755);
    assert!(sandbox.join("a.tar").exists(), "the archive stays, as in Mesos");
    let log = read("stderr");
    assert!(log.contains("Extracted 'e.zip'"), "{log}");
}

/// Archives that try to write outside the sandbox are refused and write nothing
/// outside: `..` entries, absolute entries, symlinks out (directly or through a chain),
/// and writing through an escaping link.
#[test]
fn escaping_archives_are_refused() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("dotdot.tar", raw_tar(&[("../evil", "x", FILE)]), "outside the sandbox"),
        ("abs.tar", raw_tar(&[("/tmp/evil", "x", FILE)]), "outside the sandbox"),
        ("link.tar", raw_tar(&[("l", "/etc", SYMLINK)]), "points outside"),
        ("up.tar", raw_tar(&[("l", "..", SYMLINK)]), "points outside"),
        (
            "chain.tar",
            raw_tar(&[
                ("sub/", "", DIR),
                ("sub/l1", "..", SYMLINK),
                ("sub/l2", "l1/../..", SYMLINK),
            ]),
            "outside the sandbox",
        ),
        (
            "through.tar",
            raw_tar(&[
                ("sub/", "", DIR),
                ("sub/l1", "..", SYMLINK),
                ("sub/l1/../../evil", "x", FILE),
            ]),
            "outside the sandbox",
        ),
    ];
    for (name, bytes, expected) in cases {
        let scratch = Scratch::new(&format!("escape-{name}"));
        std::fs::write(scratch.src(name), bytes).unwrap();
        let error = scratch
            .fetcher(0)
            .fetch(&scratch.job(vec![uri(&scratch.src(name))]))
            .expect_err(name)
            .to_string();
        assert!(error.contains(expected) && error.contains(name), "{name}: {error}");
        assert!(!scratch.0.join("evil").exists(), "{name} wrote outside the sandbox");
        assert!(!Path::new("/tmp/evil").exists());
    }
}

/// `output_file` escapes are refused before anything is read; a missing file fails
/// with the URI in the message.
#[test]
fn bad_uris_fail_with_the_uri() {
    let scratch = Scratch::new("bad");
    std::fs::write(scratch.src("x"), b"x").unwrap();
    let mut escaping = uri(&scratch.src("x"));
    escaping.output_file = Some("../../x".into());
    let error = scratch.fetcher(0).fetch(&scratch.job(vec![escaping])).unwrap_err().to_string();
    assert!(error.contains("must be within the sandbox directory"), "{error}");
    let missing = uri(&scratch.src("missing"));
    let error = scratch.fetcher(0).fetch(&scratch.job(vec![missing])).unwrap_err().to_string();
    assert!(error.starts_with("Failed to fetch '") && error.contains("missing"), "{error}");
}

/// Files over the size bound fail the fetch.
#[test]
fn downloads_are_bounded() {
    let scratch = Scratch::new("bounded");
    std::fs::write(scratch.src("big"), vec![0u8; (1 << 20) + 1]).unwrap();
    let error = scratch.fetcher(0).fetch(&scratch.job(vec![uri(&scratch.src("big"))])).unwrap_err();
    assert!(error.to_string().contains("larger than the limit"), "{error}");
}

/// With `cache`, the second fetch of a URI comes from the cache (the source changed
/// meanwhile, the sandbox gets the cached bytes); a cache of size 0 bypasses it.
#[test]
fn cached_uris_are_fetched_once() {
    let scratch = Scratch::new("cache");
    std::fs::write(scratch.src("tool.sh"), b"v1").unwrap();
    let mut cached = uri(&scratch.src("tool.sh"));
    cached.cache = Some(true);
    let fetcher = scratch.fetcher(1 << 20);
    fetcher.fetch(&scratch.job(vec![cached.clone()])).expect("first");
    std::fs::write(scratch.src("tool.sh"), b"v2").unwrap();
    std::fs::remove_file(scratch.sandbox().join("tool.sh")).unwrap();
    fetcher.fetch(&scratch.job(vec![cached.clone()])).expect("second");
    assert_eq!(std::fs::read(scratch.sandbox().join("tool.sh")).unwrap(), b"v1");
    let files: Vec<_> = std::fs::read_dir(scratch.0.join("fetch")).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one cache file");
    assert!(files[0].file_name().to_string_lossy().starts_with("c1-tool.sh"));
    let log = std::fs::read_to_string(scratch.sandbox().join("stderr")).unwrap();
    assert!(log.contains("Found it in the cache"), "{log}");
    scratch.fetcher(0).fetch(&scratch.job(vec![cached])).expect("uncached");
    assert_eq!(std::fs::read(scratch.sandbox().join("tool.sh")).unwrap(), b"v2");
}

/// Serves `body` once over TLS with `identity` on a loopback port; returns the port.
fn https_once(identity: &libprocess::test_pki::Identity, body: &'static [u8]) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&identity.cert_file)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&identity.key_file).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") {
            if std::io::Read::read(&mut tls, &mut byte).unwrap_or(0) == 0 {
                return;
            }
            request.push(byte[0]);
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = tls.write_all(head.as_bytes()).and_then(|()| tls.write_all(body));
        let _ = tls.flush();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    port
}

/// An `https://` URI downloads over rustls, trusting the CA of `extra_ca_file` (the
/// agent's `LIBPROCESS_SSL_CA_FILE`); without it the server's certificate is refused.
#[test]
fn https_downloads_verify_the_server() {
    let scratch = Scratch::new("https");
    let pki =
        libprocess::test_pki::TestPki::new(&scratch.0.join("pki"), "fetcher test CA").unwrap();
    let identity = pki.issue("server", &["127.0.0.1".parse().unwrap()]).unwrap();
    let port = https_once(&identity, b"over tls");
    let url = format!("https://127.0.0.1:{port}/secret.txt");
    let https = Uri { value: url.clone(), ..Uri::default() };
    let mut config = FetcherConfig::new(&scratch.0);
    config.extra_ca_file = Some(pki.ca_file());
    Fetcher::new(config).fetch(&scratch.job(vec![https.clone()])).expect("fetched over https");
    assert_eq!(std::fs::read(scratch.sandbox().join("secret.txt")).unwrap(), b"over tls");

    let port = https_once(&identity, b"over tls");
    let https = Uri { value: format!("https://127.0.0.1:{port}/secret.txt"), ..Uri::default() };
    let error = scratch.fetcher(0).fetch(&scratch.job(vec![https])).unwrap_err().to_string();
    assert!(error.contains("download failed"), "{error}");
}
