//! TLS (`LIBPROCESS_SSL_*`): messages between nodes over mutual TLS, plain clients
//! refused or downgraded, clients without a certificate or with an unknown CA refused.
//! Certificates come from a CA the test makes (`libprocess::test_pki`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use libprocess::test_pki::TestPki;
use libprocess::testing::{Echo, Ping};
use libprocess::{Node, TlsConfig};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::{Seen, loopback, next, probe, within};

fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("libprocess-tls-{}-{name}-{n}", std::process::id()))
}

/// A CA and a TLS setting for a node on 127.0.0.1 signed by it (mutual TLS, verified).
fn pki(name: &str) -> (TestPki, TlsConfig) {
    let pki = TestPki::new(&scratch(name), name).expect("make CA");
    let identity = pki.issue("node", &["127.0.0.1".parse().unwrap()]).expect("issue cert");
    let config = pki.config(&identity);
    (pki, config)
}

fn tls_node(config: &TlsConfig) -> Node {
    Node::builder(loopback()).tls(config.clone()).start().expect("start TLS node")
}

const REQUEST: &[u8] = b"GET /__processes__ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Writes `REQUEST` and reads until the server closes; errors count as the end.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Vec<u8> {
    let mut answer = Vec::new();
    if stream.write_all(REQUEST).await.is_ok() && stream.flush().await.is_ok() {
        let _ = stream.read_to_end(&mut answer).await;
    }
    answer
}

/// `REQUEST` over TLS with `client`; `None` when the handshake fails.
async fn tls_exchange(address: SocketAddr, client: Arc<rustls::ClientConfig>) -> Option<Vec<u8>> {
    let tcp = TcpStream::connect(address).await.expect("connect");
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = ServerName::IpAddress(address.ip().into());
    let stream = connector.connect(name, tcp).await.ok()?;
    Some(exchange(stream).await)
}

fn client_without_certificate(pki: &TestPki) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.ca_file()).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Two nodes with mutual TLS exchange messages both ways (ping over one connection, pong
/// over the other), and a link over TLS still reports `exited` when the peer dies.
#[actix_rt::test]
async fn messages_flow_over_mutual_tls() {
    let (_pki, config) = pki("mutual");
    let here = tls_node(&config);
    let there = tls_node(&config);
    let (watcher, mut rx) = probe(&here, "watcher");
    let echo = there.spawn("echo", Echo::default()).unwrap();
    let echo_pid = echo.pid().clone();
    watcher.dispatch(move |_, ctx| ctx.link(&echo_pid)).await.unwrap();
    here.send(watcher.pid(), echo.pid(), Ping { seq: 1, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 1 });
    there.shutdown().await;
    assert_eq!(next(&mut rx).await, Seen::Exited(echo.pid().clone()));
    here.shutdown().await;
}

/// With downgrade off (the default), a plain HTTP client gets no HTTP answer; a TLS
/// client with a certificate from the CA gets one.
#[actix_rt::test]
async fn plain_http_gets_no_answer_without_downgrade() {
    let (_pki, config) = pki("nodowngrade");
    let node = tls_node(&config);
    let plain = within(exchange(TcpStream::connect(node.address()).await.unwrap())).await;
    assert!(!plain.starts_with(b"HTTP/"), "plain client answered: {plain:?}");
    let client = config.load().unwrap().unwrap().client_config();
    let answer = within(tls_exchange(node.address(), client)).await.expect("TLS handshake");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    node.shutdown().await;
}

/// An HTTP client of a process connects to another node as the node's links do:
/// `libprocess::tls::connect` with `Node::tls` speaks mutual TLS to a TLS node (and gets
/// an answer); with TLS off, `Node::tls` is `None` and the same call connects plain.
#[actix_rt::test]
async fn http_clients_connect_with_the_nodes_setting() {
    let (_pki, config) = pki("client");
    let server = tls_node(&config);
    let client = tls_node(&config);
    let tls = client.tls().expect("a TLS node has its setting");
    let timeout = std::time::Duration::from_secs(10);
    let stream = within(libprocess::tls::connect(server.address(), Some(&tls), timeout)).await;
    let stream = stream.expect("TLS connect");
    assert!(matches!(stream, libprocess::tls::ClientStream::Tls(_)));
    let answer = within(exchange(stream)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));

    let plain_node = Node::builder(loopback()).tls(TlsConfig::default()).start().unwrap();
    assert!(plain_node.tls().is_none(), "TLS off: no setting");
    let plain = within(libprocess::tls::connect(server.address(), None, timeout)).await.unwrap();
    let answer = within(exchange(plain)).await;
    assert!(!answer.starts_with(b"HTTP/"), "plain client answered: {answer:?}");
    for node in [server, client, plain_node] {
        node.shutdown().await;
    }
}

/// With `LIBPROCESS_SSL_SUPPORT_DOWNGRADE`, one port serves plain and TLS clients
/// (Mesos: the accept side peeks for a ClientHello).
#[actix_rt::test]
async fn downgrade_serves_plain_and_tls_on_one_port() {
    let (_pki, config) = pki("downgrade");
    let config = TlsConfig { support_downgrade: true, ..config };
    let node = tls_node(&config);
    let plain = within(exchange(TcpStream::connect(node.address()).await.unwrap())).await;
    assert!(plain.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&plain));
    let client = config.load().unwrap().unwrap().client_config();
    let answer = within(tls_exchange(node.address(), client)).await.expect("TLS handshake");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    node.shutdown().await;
}

/// `LIBPROCESS_SSL_REQUIRE_CERT`: a TLS client that trusts the CA but presents no
/// certificate gets no answer.
#[actix_rt::test]
async fn mutual_tls_refuses_a_client_without_certificate() {
    let (pki, config) = pki("nocert");
    let node = tls_node(&config);
    let answer = within(tls_exchange(node.address(), client_without_certificate(&pki))).await;
    let answer = answer.unwrap_or_default();
    assert!(!answer.starts_with(b"HTTP/"), "answered without a client certificate");
    node.shutdown().await;
}

/// A node that verifies its peers does not talk to a node whose certificate comes from
/// another CA: the link reports `exited` and the ping is lost.
#[actix_rt::test]
async fn verifying_node_refuses_a_peer_from_another_ca() {
    let (_pki, config) = pki("ca-one");
    let (_other, other_config) = pki("ca-two");
    let here = tls_node(&config);
    let there = tls_node(&other_config);
    let (watcher, mut rx) = probe(&here, "watcher");
    let echo = there.spawn("echo", Echo::default()).unwrap();
    let echo_pid = echo.pid().clone();
    watcher.dispatch(move |_, ctx| ctx.link(&echo_pid)).await.unwrap();
    here.send(watcher.pid(), echo.pid(), Ping { seq: 1, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Exited(echo.pid().clone()));
    here.shutdown().await;
    there.shutdown().await;
}

/// A setting whose files do not exist stops the node at start with a clear error.
#[actix_rt::test]
async fn unusable_setting_fails_at_start() {
    let config = TlsConfig {
        enabled: true,
        cert_file: Some("/nonexistent/cert.pem".into()),
        key_file: Some("/nonexistent/key.pem".into()),
        ..TlsConfig::default()
    };
    let Err(error) = Node::builder(loopback()).tls(config).start() else {
        panic!("a node started with unreadable certificate files");
    };
    assert!(error.to_string().contains("/nonexistent/cert.pem"), "{error}");
}
