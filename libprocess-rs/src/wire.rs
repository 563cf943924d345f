//! The libprocess wire protocol: messages as HTTP/1.1 POST requests.
//!
//! Mesos: 3rdparty/libprocess/src/encoder.hpp (`MessageEncoder`) and process.cpp
//! (`libprocess()`, `parse()`). A message from `from` to `to` named `name` is
//!
//! ```text
//! POST /<to id>/<name> HTTP/1.1\r\n
//! User-Agent: libprocess/<from>\r\n
//! Libprocess-From: <from>\r\n
//! Connection: Keep-Alive\r\n
//! Host: <to ip:port>\r\n
//! Transfer-Encoding: chunked\r\n          (only when the body is not empty)
//! \r\n
//! <hex length>\r\n<body>\r\n0\r\n\r\n       (only when the body is not empty)
//! ```
//!
//! The sender never waits for the answer: it writes messages back to back on one
//! persistent connection per peer and discards whatever comes back. The receiver answers
//! `202 Accepted` (delivered), `404 Not Found` (no such process) or `400 Bad Request`.
//! This module writes the bytes above and reads sender, receiver and name out of a
//! request's head; `net/decoder.rs` finds message requests in a connection's bytes.

use std::io::Write;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::http::percent_decode;
use crate::message::MessageName;
use crate::pid::Pid;

/// Encodes one message exactly as libprocess's `MessageEncoder` does.
pub fn encode_message(from: &Pid, to: &Pid, name: &str, body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(encoded_len(from, to, name.len(), body.len()));
    let name = |out: &mut Vec<u8>| out.extend_from_slice(name.as_bytes());
    encode_into(&mut out, from, to, name, body.len(), |out| out.extend_from_slice(body));
    Bytes::from(out)
}

/// [`encode_message`] for a [`MessageName`], without first joining the name.
pub(crate) fn encode_named(from: &Pid, to: &Pid, name: &MessageName, body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(encoded_len(from, to, name.len(), body.len()));
    let write_body = |out: &mut Vec<u8>| out.extend_from_slice(body);
    encode_into(&mut out, from, to, |out| name.write_to(out), body.len(), write_body);
    Bytes::from(out)
}

/// [`encode_named`] for a message not yet encoded: its protobuf is written straight into
/// the request, where [`encode_named`] takes it already encoded (one allocation and one
/// copy of the body fewer per message sent).
pub(crate) fn encode_typed<T: prost::Message>(
    from: &Pid,
    to: &Pid,
    name: &MessageName,
    message: &T,
) -> Bytes {
    let body_len = message.encoded_len();
    let mut out = Vec::with_capacity(encoded_len(from, to, name.len(), body_len));
    let write_body = |out: &mut Vec<u8>| message.encode_raw(out);
    encode_into(&mut out, from, to, |out| name.write_to(out), body_len, write_body);
    Bytes::from(out)
}

/// Room for one encoded message: the fixed text is 118 bytes, addresses at most 47 each.
fn encoded_len(from: &Pid, to: &Pid, name_len: usize, body_len: usize) -> usize {
    160 + 2 * (from.id().len() + 47) + to.id().len() + name_len + body_len
}

/// Writes the request by hand: this runs for every message sent to another node, and
/// `write!` with `Display` for pids and addresses cost about ten times as much.
/// `write_body` appends exactly `body_len` bytes.
fn encode_into(
    out: &mut Vec<u8>,
    from: &Pid,
    to: &Pid,
    name: impl FnOnce(&mut Vec<u8>),
    body_len: usize,
    write_body: impl FnOnce(&mut Vec<u8>),
) {
    heads::write(out, from, to, name);
    if body_len == 0 {
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        write_hex(out, body_len);
        out.extend_from_slice(b"\r\n");
        write_body(out);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
    }
}

/// The head of a request up to its framing: the request line, `User-Agent`,
/// `Libprocess-From`, `Connection` and `Host`, each line ended.
fn write_head(out: &mut Vec<u8>, from: &Pid, to: &Pid, name: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(b"POST ");
    if !to.id().is_empty() {
        out.push(b'/');
        out.extend_from_slice(to.id().as_bytes());
    }
    out.push(b'/');
    name(out);
    out.extend_from_slice(b" HTTP/1.1\r\nUser-Agent: libprocess/");
    let from_start = out.len();
    write_pid(out, from);
    let from_end = out.len();
    out.extend_from_slice(b"\r\nLibprocess-From: ");
    out.extend_from_within(from_start..from_end);
    out.extend_from_slice(b"\r\nConnection: Keep-Alive\r\nHost: ");
    write_address(out, to.address());
    out.extend_from_slice(b"\r\n");
}

/// The heads this thread wrote last, copied whole when the next message repeats its
/// sender, receiver and name (most do: a process answers the peer that asked, sends its
/// heartbeats to one master). Spelling a head cost ~700 instructions, two addresses
/// most of it; finding and copying one costs a few dozen.
mod heads {
    use std::cell::RefCell;

    use super::*;

    /// Heads kept per thread; a thread sending to more (sender, receiver, name) triples in
    /// turn replaces them round robin, and pays a comparison per entry on a miss.
    const KEPT: usize = 8;

    struct Head {
        from: Pid,
        to: Pid,
        name: Vec<u8>,
        bytes: Vec<u8>,
    }

    #[derive(Default)]
    struct Heads {
        kept: Vec<Head>,
        next: usize,
    }

    thread_local! {
        static HEADS: RefCell<Heads> = RefCell::new(Heads::default());
    }

    /// Appends the head of a message from `from` to `to` named by `name`.
    pub(super) fn write(out: &mut Vec<u8>, from: &Pid, to: &Pid, name: impl FnOnce(&mut Vec<u8>)) {
        // The name is appended first and compared as bytes: it is written either way.
        let start = out.len();
        name(out);
        let named = out.len();
        let found = HEADS.try_with(|cell| {
            let Ok(heads) = cell.try_borrow() else { return false };
            let name = &out[start..named];
            let hit = heads.kept.iter().position(|kept| {
                kept.to.address() == to.address()
                    && kept.name == name
                    && kept.to.id() == to.id()
                    && kept.from == *from
            });
            let Some(hit) = hit else { return false };
            out.truncate(start);
            out.extend_from_slice(&heads.kept[hit].bytes);
            true
        });
        if found == Ok(true) {
            return;
        }
        let name = out[start..named].to_vec();
        out.truncate(start);
        write_head(out, from, to, |out| out.extend_from_slice(&name));
        let _ = HEADS.try_with(|cell| {
            let Ok(mut heads) = cell.try_borrow_mut() else { return };
            let bytes = &out[start..];
            if heads.kept.len() < KEPT {
                let head = Head { from: from.clone(), to: to.clone(), name, bytes: bytes.to_vec() };
                heads.kept.push(head);
                return;
            }
            let next = heads.next;
            heads.next = (next + 1) % KEPT;
            let head = &mut heads.kept[next];
            (head.from, head.to, head.name) = (from.clone(), to.clone(), name);
            head.bytes.clear();
            head.bytes.extend_from_slice(bytes);
        });
    }
}

/// `id@ip:port`, as `Pid`'s `Display`.
fn write_pid(out: &mut Vec<u8>, pid: &Pid) {
    out.extend_from_slice(pid.id().as_bytes());
    out.push(b'@');
    write_address(out, pid.address());
}

/// `ip:port`, as `SocketAddr`'s `Display` (IPv6 goes through `Display` itself).
///
/// An IPv4 address is spelled into a stack buffer and appended in one copy: appending
/// each octet and dot on its own (ten tiny `extend_from_slice`s, each a capacity check
/// and a `memcpy` call) cost ~430 instructions per address, and every message sent
/// writes two (its sender and `Host`).
fn write_address(out: &mut Vec<u8>, address: SocketAddr) {
    match address {
        SocketAddr::V4(v4) => {
            // "255.255.255.255:65535" is 21 bytes.
            let mut text = [0u8; 21];
            let mut len = 0;
            for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    text[len] = b'.';
                    len += 1;
                }
                len += spell_decimal(&mut text[len..], u32::from(octet));
            }
            text[len] = b':';
            len += 1;
            len += spell_decimal(&mut text[len..], u32::from(v4.port()));
            out.extend_from_slice(&text[..len]);
        }
        // Writing into a Vec cannot fail.
        SocketAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Spells `n` (at most 65,535: an octet or a port) in decimal at the start of `out`, which
/// has room for its five digits; returns how many bytes it wrote.
fn spell_decimal(out: &mut [u8], n: u32) -> usize {
    let digits = match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    let mut rest = n;
    for slot in out[..digits].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    digits
}

/// `n` in decimal, without going through `fmt` (the answers' `content-length`).
pub(crate) fn write_decimal(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Lower-case hex without leading zeros, as `{:x}`.
fn write_hex(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// True if a request is a libprocess message: a POST with `Libprocess-From`, or with a
/// `User-Agent` starting `libprocess/` (older peers).
pub fn is_message(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::POST
        && is_message_parts(
            headers.get("libprocess-from").map(|v| v.as_bytes()),
            headers.get(http::header::USER_AGENT).map(|v| v.as_bytes()),
        )
}

/// [`is_message`] for a POST whose two headers are given as raw values (the first of each;
/// `None` when absent), as the message connections' own decoder reads them.
pub(crate) fn is_message_parts(from: Option<&[u8]>, user_agent: Option<&[u8]>) -> bool {
    from.is_some() || user_agent.and_then(as_text).is_some_and(|a| a.starts_with("libprocess/"))
}

/// A header value as text, as `HeaderValue::to_str` allows it: visible ASCII and tabs.
fn as_text(value: &[u8]) -> Option<&str> {
    if value.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// Sender, receiver and name of a message request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHead {
    /// The sender, from `Libprocess-From` (or the `User-Agent`).
    pub from: Pid,
    /// The receiving process's id (percent-decoded first path segment).
    pub to_id: String,
    /// The message name (the rest of the path).
    pub name: String,
}

/// Why a message request was refused (`400 Bad Request`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Neither header names a valid sender pid.
    #[error("failed to determine sender from request headers: {0}")]
    BadSender(String),
    /// The path is not `/<id>/<name>`.
    #[error("request path '{0}' is not /<process id>/<message name>")]
    BadPath(String),
}

/// Reads sender, receiver and name from a message request (libprocess `parse`).
pub fn parse_message_head(path: &str, headers: &HeaderMap) -> Result<MessageHead, WireError> {
    let from = parse_sender(
        headers.get("libprocess-from").map(|v| v.as_bytes()),
        headers.get(http::header::USER_AGENT).map(|v| v.as_bytes()),
    )?;
    let (to_id, name) = parse_path(path)?;
    Ok(MessageHead { from, to_id, name: name.to_string() })
}

/// The sender of a message from its `Libprocess-From` value, or (when absent) its
/// `User-Agent: libprocess/<pid>` (raw values, the first of each header).
pub(crate) fn parse_sender(
    from: Option<&[u8]>,
    user_agent: Option<&[u8]>,
) -> Result<Pid, WireError> {
    let from_text = match from {
        Some(value) => as_text(value)
            .ok_or_else(|| WireError::BadSender("Libprocess-From is not text".into()))?,
        None => user_agent
            .and_then(as_text)
            .and_then(|agent| agent.strip_prefix("libprocess/"))
            .ok_or_else(|| WireError::BadSender("no Libprocess-From header".into()))?,
    };
    from_text.parse().map_err(|e: crate::pid::PidParseError| WireError::BadSender(e.to_string()))
}

/// The receiving process's id (percent-decoded) and the message name of a message path
/// `/<id>/<name>`.
pub(crate) fn parse_path(path: &str) -> Result<(String, &str), WireError> {
    let rest = path.strip_prefix('/').ok_or_else(|| WireError::BadPath(path.to_string()))?;
    let (to, name) = rest.split_once('/').ok_or_else(|| WireError::BadPath(path.to_string()))?;
    let to_id = percent_decode(to, false).ok_or_else(|| WireError::BadPath(path.to_string()))?;
    if to_id.is_empty() || name.is_empty() {
        return Err(WireError::BadPath(path.to_string()));
    }
    Ok((to_id, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoder writes byte for byte what libprocess's MessageEncoder writes.
    #[test]
    fn encodes_like_libprocess() {
        let from: Pid = "slave(1)@127.0.0.1:5051".parse().unwrap();
        let to: Pid = "master@127.0.0.1:5050".parse().unwrap();
        let bytes = encode_message(&from, &to, "mesos.internal.PongSlaveMessage", b"");
        assert_eq!(
            &bytes[..],
            b"POST /master/mesos.internal.PongSlaveMessage HTTP/1.1\r\n\
User-Agent: libprocess/slave(1)@127.0.0.1:5051\r\n\
Libprocess-From: slave(1)@127.0.0.1:5051\r\n\
Connection: Keep-Alive\r\n\
Host: 127.0.0.1:5050\r\n\r\n"
        );
        let body = vec![7u8; 26];
        let bytes = encode_message(&from, &to, "x.Y", &body);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Transfer-Encoding: chunked\r\n\r\n1a\r\n"));
        assert!(bytes.ends_with(b"\r\n0\r\n\r\n"));
    }

    /// A typed message encoded straight into its request gives the same bytes as its
    /// body encoded first (empty and non-empty bodies).
    #[test]
    fn typed_encoding_matches_encoded_body() {
        #[derive(Clone, PartialEq, prost::Message)]
        struct Ping {
            #[prost(string, optional, tag = "1")]
            payload: Option<String>,
        }
        let from: Pid = "client(1)@127.0.0.1:41000".parse().unwrap();
        let to: Pid = "echo@10.0.0.7:5050".parse().unwrap();
        let name = MessageName::owned("bench.Ping");
        for ping in [Ping { payload: None }, Ping { payload: Some("1".repeat(300)) }] {
            let body = prost::Message::encode_to_vec(&ping);
            assert_eq!(
                encode_typed(&from, &to, &name, &ping),
                encode_named(&from, &to, &name, &body)
            );
        }
    }

    /// The hand-written encoder writes what `write!` with `Display` wrote, for any
    /// address, id and body length (the encoder before it, kept here as the reference).
    #[test]
    fn hand_written_encoder_matches_display() {
        fn reference(from: &Pid, to: &Pid, name: &str, body: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            let _ = write!(out, "POST ");
            if !to.id().is_empty() {
                let _ = write!(out, "/{}", to.id());
            }
            let _ = write!(
                out,
                "/{name} HTTP/1.1\r\nUser-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: {}\r\n",
                to.address()
            );
            if body.is_empty() {
                out.extend_from_slice(b"\r\n");
            } else {
                let _ = write!(out, "Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len());
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n0\r\n\r\n");
            }
            out
        }
        let pids = [
            "slave(1)@127.0.0.1:5051",
            "m@0.0.0.0:0",
            "scheduler-9f2a@255.255.255.255:65535",
            "x@10.0.100.9:80",
            "v6@[::1]:5050",
            "@1.2.3.4:5",
            "a@9.99.100.199:9999",
            "b@1.10.1.1:10000",
            "c@100.1.1.1:1000",
        ];
        for from in pids {
            for to in pids {
                let (from, to): (Pid, Pid) = (from.parse().unwrap(), to.parse().unwrap());
                for len in [0usize, 1, 15, 16, 255, 256, 4096, 70_000] {
                    let body = vec![b'b'; len];
                    let name = MessageName::owned("mesos.internal.Ping");
                    let expected = reference(&from, &to, "mesos.internal.Ping", &body);
                    assert_eq!(
                        &encode_message(&from, &to, "mesos.internal.Ping", &body)[..],
                        &expected[..]
                    );
                    assert_eq!(&encode_named(&from, &to, &name, &body)[..], &expected[..]);
                }
            }
        }
    }

    /// Heads parse from either header; bad senders and paths are errors.
    #[test]
    fn parses_heads() {
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", "libprocess/scheduler(1)@127.0.0.1:4000".parse().unwrap());
        let head =
            parse_message_head("/slave%281%29/mesos.internal.RunTaskMessage", &headers).unwrap();
        assert_eq!(head.from.to_string(), "scheduler(1)@127.0.0.1:4000");
        assert_eq!(head.to_id, "slave(1)");
        assert_eq!(head.name, "mesos.internal.RunTaskMessage");
        assert!(is_message(&Method::POST, &headers));
        assert!(!is_message(&Method::GET, &headers));

        headers.insert("libprocess-from", "not a pid".parse().unwrap());
        assert!(matches!(parse_message_head("/a/b", &headers), Err(WireError::BadSender(_))));
        headers.insert("libprocess-from", "x@1.2.3.4:5".parse().unwrap());
        assert!(matches!(parse_message_head("/a", &headers), Err(WireError::BadPath(_))));
        assert!(matches!(parse_message_head("//b", &headers), Err(WireError::BadPath(_))));
        assert!(matches!(parse_message_head("/a/", &headers), Err(WireError::BadPath(_))));
    }
}
