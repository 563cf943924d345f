//! The fuzz bodies of `fuzz/` (see `libprocess::fuzzing`) over a hand-written seed corpus,
//! so CI exercises them: truncated heads, huge chunk sizes, bad percent escapes, wrong
//! senders, pipelined garbage. The same inputs seed `fuzz/corpus/`.

use libprocess::fuzzing;

/// A well-formed libprocess message to the fuzz node's `echo` process.
const GOOD: &[u8] = b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nUser-Agent: libprocess/a@10.0.0.2:1\r\nLibprocess-From: a@10.0.0.2:1\r\nConnection: Keep-Alive\r\nHost: 10.0.0.1:5050\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\x12\x011\r\n0\r\n\r\n";

/// Hand-written inputs for the inbound request path.
pub fn request_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = vec![
        GOOD.to_vec(),
        b"".to_vec(),
        // Truncated heads.
        b"POST".to_vec(),
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-Fr".to_vec(),
        GOOD[..GOOD.len() / 2].to_vec(),
        GOOD[..GOOD.len() - 7].to_vec(),
        // Huge and malformed chunk sizes.
        b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab".to_vec(),
        b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffffff\r\n".to_vec(),
        b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n".to_vec(),
        b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec(),
        b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef".to_vec(),
        // Bad percent escapes in the process id, in messages and in routes.
        b"POST /ec%ho/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        b"POST /%e/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        b"POST /%ff%fe/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        b"GET /%zz/state HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /echo%2f/state HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        // Wrong senders.
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: not a pid\r\n\r\n".to_vec(),
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:99999\r\n\r\n".to_vec(),
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: @\r\n\r\n".to_vec(),
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: \xff\xfe@1.2.3.4:5\r\n\r\n".to_vec(),
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nUser-Agent: libprocess/\r\n\r\n".to_vec(),
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: echo@10.0.0.1:5050\r\n\r\n".to_vec(),
        // Messages that are not what their name says, or to nobody.
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nContent-Length: 3\r\n\r\n\x08\xff\xff".to_vec(),
        b"POST /nobody/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        b"POST /echo/ HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        b"POST //x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        b"POST * HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        b"POST http://h/echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        // Built-ins and routes.
        b"GET /__processes__ HTTP/1.1\r\n\r\nGET /metrics/snapshot HTTP/1.1\r\n\r\nGET /version HTTP/1.0\r\n\r\n".to_vec(),
        b"GET /state HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"DELETE /echo HTTP/1.1\r\n\r\n".to_vec(),
        // Found by the fuzzer: an HTTP/1.0 request is (rightly) answered in HTTP/1.0.
        b"POST /nobody/libprocess.testing.Ping HTTP/1.0\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
        // Pipelined garbage after a good message, and binary noise.
        [GOOD, b"\r\n\r\nGARBAGE / HTTP/9.9\r\n\r\n\x00\x01\x02"].concat(),
        [GOOD, GOOD, b"POST /echo/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"].concat(),
        (0u8..=255).collect(),
        b"\r\n\r\n\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: \x00\r\n\r\n".to_vec(),
        b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".to_vec(),
        b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nTransfer-Encoding: chunked\r\n\r\n0;ext=\"x\r\n\r\n".to_vec(),
    ];
    // A head larger than hyper's buffer; many headers.
    let mut big = b"GET /echo/x HTTP/1.1\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 200_000));
    big.extend(b"\r\n\r\n");
    seeds.push(big);
    let mut many = b"GET /echo/x HTTP/1.1\r\n".to_vec();
    for i in 0..200 {
        many.extend(format!("X-{i}: {i}\r\n").as_bytes());
    }
    many.extend(b"\r\n");
    seeds.push(many);
    seeds
}

/// Hand-written pids.
pub fn pid_seeds() -> Vec<&'static [u8]> {
    vec![
        b"master@127.0.0.1:5050",
        b"slave(1)@10.0.0.2:5051",
        b"(7)@[::1]:80",
        b"@0.0.0.0:0",
        b"a@localhost:1",
        b"a@b@1.2.3.4:5",
        b"a@",
        b"@",
        b"",
        b" x@1.2.3.4:5 ",
        b"x\xc2\x85@1.2.3.4:5",
        b"a@[fe80::1%2]:80",
        b"a@1.2.3.4:65536",
        b"a@localhost",
        b"a/b@1.2.3.4:1",
        b"a@[::ffff:1.2.3.4]:9",
        b"\xff@1.2.3.4:5",
    ]
}

/// Hand-written (path, Libprocess-From, User-Agent) triples, NUL separated.
pub fn head_seeds() -> Vec<&'static [u8]> {
    vec![
        b"/master/mesos.internal.RegisterSlaveMessage\0slave(1)@127.0.0.1:5051\0libprocess/slave(1)@127.0.0.1:5051",
        b"/slave%281%29/x.Y\0\0libprocess/a@1.2.3.4:5",
        b"/%zz/x.Y\0a@1.2.3.4:5",
        b"/%e\0a@1.2.3.4:5",
        b"/a\0a@1.2.3.4:5",
        b"//b\0a@1.2.3.4:5",
        b"/a/\0a@1.2.3.4:5",
        b"a/b\0a@1.2.3.4:5",
        b"/a/b\0not a pid\0libprocess/b@1.2.3.4:5",
        b"/a/b\0\0libprocess/",
        b"/a/b/c/d\0a@[::1]:1",
        b"/\xc3\xa9/b\0a@1.2.3.4:5",
        b"/%00/b\0a@1.2.3.4:5",
    ]
}

/// Every request seed goes through the real server path without a panic or a hang, gets
/// HTTP/1.1 answers, and leaves the node serving (the checks are in the fuzz body).
#[test]
fn inbound_request_seeds() {
    for seed in request_seeds() {
        fuzzing::inbound_request(&seed);
    }
}

/// The good seed is answered `202`, a message to nobody `404`, a bad sender `400`, a bad
/// escape in a route `400`: the fuzz harness drives the same server path as TCP does.
#[test]
fn fuzz_harness_answers_like_the_server() {
    let system = actix_rt::System::new();
    system.block_on(async {
        let node = libprocess::Node::builder(fuzzing::NODE_ADDRESS.parse().unwrap())
            .simulated(&libprocess::SimNetwork::new())
            .start()
            .unwrap();
        let _echo = node.spawn("echo", libprocess::testing::Echo::default()).unwrap();
        let cases: [(&[u8], &str); 4] = [
            (GOOD, "HTTP/1.1 202"),
            (b"POST /nobody/x.Y HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n", "HTTP/1.1 404"),
            (b"POST /echo/x.Y HTTP/1.1\r\nLibprocess-From: nope\r\n\r\n", "HTTP/1.1 400"),
            (b"GET /%zz/state HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"),
        ];
        for (input, expected) in cases {
            let answer = fuzzing::serve_bytes(&node, input).await;
            assert!(
                answer.starts_with(expected.as_bytes()),
                "{expected} expected, got {:?}",
                String::from_utf8_lossy(&answer)
            );
        }
        let two = fuzzing::serve_bytes(&node, &[GOOD, GOOD].concat()).await;
        assert_eq!(
            String::from_utf8_lossy(&two).matches("HTTP/1.1 202").count(),
            2,
            "pipelined messages both answered"
        );
        node.shutdown().await;
    });
}

/// Every request seed, and each with its last bytes cut, goes through the message
/// decoder alone: no panic, and messages are found only whole (the checks are in the body).
#[test]
fn message_decoder_seeds() {
    for seed in request_seeds() {
        fuzzing::message_decoder(&seed);
        fuzzing::message_decoder(&seed[..seed.len().saturating_sub(3)]);
    }
}

/// Pid seeds: no panic, and what parses round-trips through its printed form.
#[test]
fn pid_seeds_round_trip() {
    for seed in pid_seeds() {
        fuzzing::pid(seed);
    }
}

/// Message-head seeds: no panic; accepted heads are consistent.
#[test]
fn message_head_seeds() {
    for seed in head_seeds() {
        fuzzing::message_head(seed);
    }
}

/// A real ClientHello, as rustls writes it (the start of every TLS connection).
fn client_hello() -> Vec<u8> {
    let roots = rustls::RootCertStore::empty();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(
        "10.0.0.1".parse::<std::net::IpAddr>().unwrap().into(),
    );
    let mut connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut hello = Vec::new();
    connection.write_tls(&mut hello).unwrap();
    hello
}

/// Hand-written inputs for the TLS front: plain HTTP, truncated and oversized records,
/// an SSLv2-style hello, a real ClientHello alone, cut short, and followed by garbage.
pub fn tls_seeds() -> Vec<Vec<u8>> {
    let hello = client_hello();
    vec![
        b"".to_vec(),
        GOOD.to_vec(),
        b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0x16],
        vec![0x16, 0x03],
        vec![0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00],
        vec![0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00],
        vec![0x80, 0x2e, 0x01, 0x03, 0x01],
        vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
        hello.clone(),
        hello[..hello.len() / 2].to_vec(),
        [hello.as_slice(), b"GET / HTTP/1.1\r\n\r\n"].concat(),
        [hello.as_slice(), &[0x17, 0x03, 0x03, 0x00, 0x10], &[0u8; 16]].concat(),
        (0u8..=255).collect(),
    ]
}

/// Every TLS seed goes through the TLS front, strict and with downgrade, without a panic
/// or a hang: TLS records or nothing from the TLS side, HTTP from the downgraded side.
#[test]
fn tls_front_seeds() {
    for seed in tls_seeds() {
        fuzzing::tls_front(&seed);
    }
}

/// The TLS front answers a real ClientHello with a ServerHello (a TLS handshake record),
/// and downgrades a plain request to HTTP: the harness reaches both paths.
#[test]
fn tls_harness_reaches_both_paths() {
    let system = actix_rt::System::new();
    system.block_on(async {
        let node = libprocess::Node::builder(fuzzing::NODE_ADDRESS.parse().unwrap())
            .simulated(&libprocess::SimNetwork::new())
            .start()
            .unwrap();
        let _echo = node.spawn("echo", libprocess::testing::Echo::default()).unwrap();
        let dir = std::env::temp_dir().join(format!("libprocess-tls-seeds-{}", std::process::id()));
        let pki = libprocess::test_pki::TestPki::new(&dir, "seed CA").unwrap();
        let identity = pki.issue("node", &["10.0.0.1".parse().unwrap()]).unwrap();
        let config = libprocess::TlsConfig { support_downgrade: true, ..pki.config(&identity) };
        let tls = config.load().unwrap().unwrap();
        let answer = fuzzing::serve_tls_bytes(&node, &tls, &client_hello()).await;
        assert_eq!(
            answer.first(),
            Some(&0x16),
            "a ServerHello: {:?}",
            &answer[..answer.len().min(16)]
        );
        let answer = fuzzing::serve_tls_bytes(&node, &tls, GOOD).await;
        assert!(answer.starts_with(b"HTTP/1.1 202"), "{:?}", String::from_utf8_lossy(&answer));
        node.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
