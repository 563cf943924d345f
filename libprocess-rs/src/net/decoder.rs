//! The message decoder: finds one libprocess message request at the start of a
//! connection's receive buffer, without copying or allocating.
//!
//! Mesos: 3rdparty/libprocess/src/decoder.hpp (`StreamingRequestDecoder`) parses every
//! request of a connection; process.cpp `SocketManager` then turns the ones that carry a
//! sender into `MessageEvent`s. Here the decoder serves only the plain shape libprocess
//! peers write (`wire.rs`): an HTTP/1.1 `POST /<id>/<name>` with `Libprocess-From` (or a
//! `User-Agent: libprocess/...`), a body given by `Content-Length` or as chunks without
//! extensions or trailers. Anything else, well-formed or not, is [`Decoded::Other`]: the
//! server hands that request, and the connection from there on, to hyper, which serves
//! it (or refuses it: `413`, `400`, `431`) exactly as it serves every HTTP client. So the
//! decoder holds no error answers of its own but the ones only a message can get (a bad
//! sender or path, no such process, a full mailbox).
//!
//! Pure: bytes in, a verdict out. The head is tokenized by `httparse`, hyper's own
//! tokenizer, so both agree on where a head ends.

use std::mem::MaybeUninit;
use std::ops::Range;

use httparse::Status;

/// At most this many headers (hyper's bound in the server: more is hyper's `431`).
pub(crate) const MAX_HEADERS: usize = 100;

/// The bounds the decoder respects; a request past them is [`Decoded::Other`], so hyper
/// answers it as it answers any request past them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The node's `max_header_bytes`.
    pub(crate) max_header_bytes: usize,
    /// The node's `max_body_bytes`.
    pub(crate) max_body_bytes: usize,
}

/// What the buffer starts with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A whole message request.
    Message(MessageRequest<'a>),
    /// The beginning of a request that may still be a message; `head_done` says whether
    /// its head is complete (its body is awaited) or not.
    Incomplete {
        /// The head is complete: the body timeout runs, not the head timeout.
        head_done: bool,
    },
    /// Not a request this decoder serves: hyper serves it.
    Other,
}

/// A message request found in the buffer (the fields borrow from it).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MessageRequest<'a> {
    /// The request path, `/<id>/<name>` (not yet checked to have that shape).
    pub(crate) path: &'a str,
    /// The first `Libprocess-From` value, raw.
    pub(crate) from: Option<&'a [u8]>,
    /// The first `User-Agent` value, raw.
    pub(crate) user_agent: Option<&'a [u8]>,
    /// The request's `Libprocess-Duplex` token, when it carries one (32 hex digits): the
    /// sending libprocess-rs node reads messages back on this connection, and will vouch
    /// for the token when asked at its own address (`net::duplex`). Another value (an
    /// older node's `1`) offers nothing.
    pub(crate) duplex: Option<u128>,
    /// Where the body is.
    pub(crate) body: BodyAt,
    /// Bytes the whole request takes, head and body.
    pub(crate) len: usize,
}

/// Where a message's body lies in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyAt {
    /// In one piece (no body, a `Content-Length` body, or a single chunk): a slice.
    Slice(Range<usize>),
    /// In several chunks from `start` (the first chunk-size line), `total` bytes in all:
    /// [`gather_chunks`] joins them.
    Chunks {
        /// Where the first chunk-size line starts.
        start: usize,
        /// The body's length.
        total: usize,
    },
}

/// The head of the last message request a connection decoded, and what it said: a
/// connection carries one peer's messages, nearly all with the head of the one before
/// (the same sender, receiver and name; chunked, so the body's length is not in it).
/// Equal bytes parse equally, so a head that starts the buffer again is not parsed
/// again (httparse and the header loop cost ~1,900 instructions per message).
#[derive(Default)]
pub(crate) struct LastHead {
    /// The whole head, through its blank line; empty before the first message.
    bytes: Vec<u8>,
    path: Range<usize>,
    from: Option<Range<usize>>,
    user_agent: Option<Range<usize>>,
    duplex: Option<u128>,
    framing: Framing,
}

/// The longest head a [`LastHead`] keeps (a message head is ~200 bytes).
const LAST_HEAD_BYTES: usize = 1024;

/// [`decode`], for a connection whose last message head is `last`.
pub(crate) fn decode_after<'a>(buf: &'a [u8], limits: &Limits, last: &mut LastHead) -> Decoded<'a> {
    if !last.bytes.is_empty()
        && buf.starts_with(&last.bytes)
        && let Ok(path) = std::str::from_utf8(&buf[last.path.clone()])
    {
        let head_len = last.bytes.len();
        return match body_at(buf, head_len, &last.framing, limits) {
            Ok(Some((body, len))) => Decoded::Message(MessageRequest {
                path,
                from: last.from.clone().map(|range| &buf[range]),
                user_agent: last.user_agent.clone().map(|range| &buf[range]),
                duplex: last.duplex,
                body,
                len,
            }),
            Ok(None) => Decoded::Incomplete { head_done: true },
            Err(()) => Decoded::Other,
        };
    }
    let (head_len, path, head) = match decode_head(buf, limits) {
        Ok(Some(head)) => head,
        Ok(None) => return Decoded::Other,
        Err(verdict) => return verdict,
    };
    // Where a field lies in `buf` (each borrows from it).
    let at = |field: &[u8]| {
        let start = field.as_ptr() as usize - buf.as_ptr() as usize;
        start..start + field.len()
    };
    last.bytes.clear();
    if head_len > LAST_HEAD_BYTES {
        // Not kept: a connection keeps at most this much for it.
        return finish(buf, head_len, path, &head, limits);
    }
    last.bytes.extend_from_slice(&buf[..head_len]);
    last.path = at(path.as_bytes());
    last.from = head.from.map(at);
    last.user_agent = head.user_agent.map(at);
    last.duplex = head.duplex;
    last.framing = head.framing;
    finish(buf, head_len, path, &head, limits)
}

/// Looks at the request at the start of `buf`.
pub(crate) fn decode<'a>(buf: &'a [u8], limits: &Limits) -> Decoded<'a> {
    match decode_head(buf, limits) {
        Ok(Some((head_len, path, head))) => finish(buf, head_len, path, &head, limits),
        Ok(None) => Decoded::Other,
        Err(verdict) => verdict,
    }
}

/// The head of a message request at the start of `buf`: its length, path and headers;
/// `Ok(None)` when it is hyper's; `Err` with the verdict when it is not complete.
#[allow(clippy::type_complexity)]
fn decode_head<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<(usize, &'a str, MessageHeaders<'a>)>, Decoded<'a>> {
    // Uninitialized slots: httparse fills only what the head uses (a message head has
    // six headers); filling all 100 with `EMPTY_HEADER` first cost ~400 instructions
    // per message.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let head_len = match request.parse_with_uninit_headers(buf, &mut headers) {
        Ok(Status::Complete(n)) => n,
        // A head growing past the bound is hyper's to answer (`431`, or a close).
        Ok(Status::Partial) if buf.len() <= limits.max_header_bytes => {
            return Err(Decoded::Incomplete { head_done: false });
        }
        Ok(Status::Partial) | Err(_) => return Ok(None),
    };
    if request.method != Some("POST") || request.version != Some(1) {
        return Ok(None);
    }
    let Some(path) = request.path.filter(|path| is_plain_path(path)) else {
        return Ok(None);
    };
    let Some(head) = MessageHeaders::read(request.headers, limits) else {
        return Ok(None);
    };
    if !crate::wire::is_message_parts(head.from, head.user_agent) {
        return Ok(None);
    }
    Ok(Some((head_len, path, head)))
}

/// The verdict on a message request whose head (`head_len` bytes) was read.
fn finish<'a>(
    buf: &'a [u8],
    head_len: usize,
    path: &'a str,
    head: &MessageHeaders<'a>,
    limits: &Limits,
) -> Decoded<'a> {
    match body_at(buf, head_len, &head.framing, limits) {
        Ok(Some((body, len))) => Decoded::Message(MessageRequest {
            path,
            from: head.from,
            user_agent: head.user_agent,
            duplex: head.duplex,
            body,
            len,
        }),
        Ok(None) => Decoded::Incomplete { head_done: true },
        Err(()) => Decoded::Other,
    }
}

/// Where the body after a head of `head_len` bytes lies, and where the request ends;
/// `None` while incomplete, `Err` when it is not a body this decoder reads.
fn body_at(
    buf: &[u8],
    head_len: usize,
    framing: &Framing,
    limits: &Limits,
) -> Result<Option<(BodyAt, usize)>, ()> {
    Ok(match *framing {
        Framing::Empty => Some((BodyAt::Slice(head_len..head_len), head_len)),
        Framing::Length(length) => {
            let end = head_len + length;
            (buf.len() >= end).then_some((BodyAt::Slice(head_len..end), end))
        }
        Framing::Chunked => match scan_chunks(buf, head_len, limits.max_body_bytes) {
            Chunks::Done { body, end } => Some((body, end)),
            Chunks::Incomplete => None,
            Chunks::Other => return Err(()),
        },
    })
}

/// A path of the characters message paths use (process ids, protobuf names, percent
/// escapes): hyper's URI parser reads such a path back unchanged, so this decoder and the
/// router agree on it. A query, fragment or anything unusual goes to hyper.
fn is_plain_path(path: &str) -> bool {
    path.starts_with('/') && path.bytes().all(|b| PATH_BYTES[usize::from(b)])
}

/// The bytes [`is_plain_path`] allows, as a table (one load per byte).
const PATH_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"/-._~!$&'()*+,;=:@%";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

/// How a message's body is framed.
#[derive(Clone, Copy, Default)]
enum Framing {
    #[default]
    Empty,
    Length(usize),
    Chunked,
}

/// The headers a message needs, read in one pass.
struct MessageHeaders<'a> {
    from: Option<&'a [u8]>,
    user_agent: Option<&'a [u8]>,
    duplex: Option<u128>,
    framing: Framing,
}

impl<'a> MessageHeaders<'a> {
    /// `None` when hyper should serve the request: its headers are past the bound, it
    /// asks for something only hyper does (`Expect`, `Upgrade`, a `Connection` other than
    /// keep-alive), or its framing is not one this decoder reads (repeated or conflicting
    /// length headers, a coding other than `chunked`, a length over the body bound).
    fn read(headers: &[httparse::Header<'a>], limits: &Limits) -> Option<MessageHeaders<'a>> {
        let (mut from, mut user_agent, mut duplex) = (None, None, None);
        let (mut length, mut chunked, mut framing_headers) = (None, false, 0);
        let mut bytes = 0;
        for header in headers {
            let (name, value) = (header.name, header.value);
            // hyper's measure of a head (the router's `431`).
            bytes += name.len() + value.len();
            // By length first: most headers (`Host`) are none of these, and each name
            // below has a length of its own but two of 10 and two of 17.
            if !matches!(name.len(), 6 | 7 | 10 | 14 | 15 | 17) {
                continue;
            }
            if name.eq_ignore_ascii_case("libprocess-from") {
                from = from.or(Some(value));
            } else if name.eq_ignore_ascii_case("user-agent") {
                user_agent = user_agent.or(Some(value));
            } else if name.eq_ignore_ascii_case("content-length") {
                framing_headers += 1;
                length = Some(parse_decimal(value)?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                framing_headers += 1;
                chunked = value.eq_ignore_ascii_case(b"chunked");
                if !chunked {
                    return None;
                }
            } else if name.eq_ignore_ascii_case("libprocess-duplex") {
                duplex = duplex.or(super::duplex::parse_token(value));
            } else if name.eq_ignore_ascii_case("connection") {
                if !value.eq_ignore_ascii_case(b"keep-alive") {
                    return None;
                }
            } else if name.eq_ignore_ascii_case("expect") || name.eq_ignore_ascii_case("upgrade") {
                return None;
            }
        }
        if bytes > limits.max_header_bytes || framing_headers > 1 {
            return None;
        }
        let framing = match (length, chunked) {
            (Some(n), _) if n > limits.max_body_bytes => return None,
            (Some(0), _) | (None, false) => Framing::Empty,
            (Some(n), _) => Framing::Length(n),
            (None, true) => Framing::Chunked,
        };
        Some(MessageHeaders { from, user_agent, duplex, framing })
    }
}

/// A `Content-Length` value: 1 to 19 decimal digits (more could overflow; hyper decides).
fn parse_decimal(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0usize, |n, &d| n.checked_mul(10)?.checked_add(usize::from(d - b'0')))
}

/// The outcome of reading a chunked body.
enum Chunks {
    /// The body ends (after `0\r\n\r\n`) at `end`.
    Done { body: BodyAt, end: usize },
    /// So far so good; more bytes are needed.
    Incomplete,
    /// Not a body this decoder reads: an invalid size, an extension, a trailer, or more
    /// bytes than the body bound (hyper then answers `400` or `413`).
    Other,
}

/// Reads the chunks of a body starting at `at`: `<hex size>\r\n<data>\r\n`, ..., `0\r\n\r\n`.
fn scan_chunks(buf: &[u8], mut at: usize, max_body_bytes: usize) -> Chunks {
    let start = at;
    let (mut total, mut count, mut first) = (0usize, 0usize, at..at);
    loop {
        let (size, data) = match chunk_size(buf, at) {
            // A size over the bound is hyper's to refuse (`413`).
            Step::Done(size, _) if size > max_body_bytes as u64 => return Chunks::Other,
            Step::Done(size, data) => (size as usize, data),
            Step::Incomplete => return Chunks::Incomplete,
            Step::Other => return Chunks::Other,
        };
        if size == 0 {
            return match buf.get(data..data + 2) {
                Some(b"\r\n") => {
                    let body = if count <= 1 {
                        BodyAt::Slice(first)
                    } else {
                        BodyAt::Chunks { start, total }
                    };
                    Chunks::Done { body, end: data + 2 }
                }
                None if buf.get(data..).is_some_and(|rest| b"\r\n".starts_with(rest)) => {
                    Chunks::Incomplete
                }
                _ => Chunks::Other,
            };
        }
        total += size;
        if total > max_body_bytes {
            return Chunks::Other;
        }
        let end = data + size;
        match buf.get(end..end + 2) {
            Some(b"\r\n") => {}
            Some(_) => return Chunks::Other,
            None if buf.len() > end && buf[end] != b'\r' => return Chunks::Other,
            None => return Chunks::Incomplete,
        }
        if count == 0 {
            first = data..end;
        }
        count += 1;
        at = end + 2;
    }
}

/// One step of a chunked body.
enum Step {
    /// A chunk of this size whose data starts at this offset.
    Done(u64, usize),
    Incomplete,
    Other,
}

/// Reads the chunk-size line at `at`: 1 to 15 hex digits, then CRLF.
fn chunk_size(buf: &[u8], at: usize) -> Step {
    let mut size = 0u64;
    let mut i = at;
    while let Some(&b) = buf.get(i) {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            b'\r' if i > at => {
                return match buf.get(i + 1) {
                    Some(b'\n') => Step::Done(size, i + 2),
                    Some(_) => Step::Other,
                    None => Step::Incomplete,
                };
            }
            _ => return Step::Other,
        };
        if i - at == 15 {
            return Step::Other;
        }
        size = (size << 4) | u64::from(digit);
        i += 1;
    }
    Step::Incomplete
}

/// Joins the chunks of a body that [`decode`] found complete in `buf` at `start`.
pub(crate) fn gather_chunks(buf: &[u8], start: usize, total: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(total);
    let mut at = start;
    while let Step::Done(size, data) = chunk_size(buf, at) {
        // `decode` checked every size against the body bound and the buffer.
        let size = size as usize;
        if size == 0 {
            break;
        }
        let Some(chunk) = buf.get(data..data + size) else { break };
        body.extend_from_slice(chunk);
        at = data + size + 2;
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_header_bytes: 64 * 1024, max_body_bytes: 1024 };

    fn message(body: &str) -> Vec<u8> {
        format!(
            "POST /echo/x.Y HTTP/1.1\r\nUser-Agent: libprocess/a@1.2.3.4:5\r\n\
             Libprocess-From: a@1.2.3.4:5\r\nConnection: Keep-Alive\r\nHost: h\r\n{body}"
        )
        .into_bytes()
    }

    /// What libprocess's encoder writes decodes to its parts, the body sliced in place;
    /// every proper prefix of it is incomplete, never another verdict.
    #[test]
    fn decodes_what_libprocess_writes() {
        let bytes = message("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        let Decoded::Message(request) = decode(&bytes, &LIMITS) else { panic!("not a message") };
        assert_eq!(request.path, "/echo/x.Y");
        assert_eq!(request.from, Some(&b"a@1.2.3.4:5"[..]));
        assert_eq!(request.len, bytes.len());
        let BodyAt::Slice(range) = request.body else { panic!("one chunk is a slice") };
        assert_eq!(&bytes[range], b"abc");
        for cut in 0..bytes.len() {
            let verdict = decode(&bytes[..cut], &LIMITS);
            assert!(matches!(verdict, Decoded::Incomplete { .. }), "at {cut}: {verdict:?}");
        }
        let empty = message("\r\n");
        assert!(matches!(
            decode(&empty, &LIMITS),
            Decoded::Message(MessageRequest { body: BodyAt::Slice(ref r), .. }) if r.is_empty()
        ));
        let with_length = message("Content-Length: 2\r\n\r\nhiPOST");
        let Decoded::Message(request) = decode(&with_length, &LIMITS) else { panic!() };
        assert_eq!(request.len, with_length.len() - 4);
    }

    /// A connection's last head changes nothing but the work: after any message, every
    /// buffer (the same head again, its prefixes, another head, hyper's requests)
    /// decodes to what `decode` says.
    #[test]
    fn the_last_head_decodes_as_decode_does() {
        let chunked = message("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        let mut buffers = vec![
            chunked.clone(),
            message("Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\nA\r\n0123456789\r\n0\r\n\r\n"),
            message("Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
            message("Transfer-Encoding: chunked\r\n\r\n401\r\n"),
            message("Content-Length: 2\r\n\r\nhi"),
            message("Content-Length: 2\r\n\r\nh"),
            message("\r\n"),
            message("Libprocess-Duplex: 1\r\n\r\n"),
            message("Libprocess-Duplex: 0123456789abcdef0123456789ABCDEF\r\n\r\n"),
            b"GET /version HTTP/1.1\r\n\r\n".to_vec(),
        ];
        buffers.extend((0..chunked.len()).map(|cut| chunked[..cut].to_vec()));
        for first in &buffers {
            for then in &buffers {
                let mut last = LastHead::default();
                let _ = decode_after(first, &LIMITS, &mut last);
                assert_eq!(
                    decode_after(then, &LIMITS, &mut last),
                    decode(then, &LIMITS),
                    "{:?} after {:?}",
                    String::from_utf8_lossy(then),
                    String::from_utf8_lossy(first)
                );
            }
        }
    }

    /// Several chunks are joined; a pipelined request after them is not consumed.
    #[test]
    fn joins_chunks() {
        let mut bytes =
            message("Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\nA\r\n0123456789\r\n0\r\n\r\n");
        let len = bytes.len();
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let Decoded::Message(request) = decode(&bytes, &LIMITS) else { panic!() };
        assert_eq!(request.len, len);
        let BodyAt::Chunks { start, total } = request.body else { panic!("two chunks") };
        assert_eq!(total, 12);
        assert_eq!(gather_chunks(&bytes, start, total), b"ab0123456789");
    }

    /// Everything outside the plain message shape is hyper's, from the head on.
    #[test]
    fn hands_the_rest_to_hyper() {
        let others = [
            b"GET /version HTTP/1.1\r\n\r\n".to_vec(),
            b"POST /echo/x.Y HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
            b"POST /echo/x.Y HTTP/1.0\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
            b"POST /echo/x.Y?q=1 HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
            b"POST * HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\n\r\n".to_vec(),
            message("Content-Length: 5000\r\n\r\n"),
            message("Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
            message("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            message("Transfer-Encoding: gzip, chunked\r\n\r\n"),
            message("Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
            message("Transfer-Encoding: chunked\r\n\r\n3;ext\r\nabc\r\n0\r\n\r\n"),
            message("Transfer-Encoding: chunked\r\n\r\n3\r\nabcX"),
            message("Transfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n\r\n"),
            message("Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"),
            message("Transfer-Encoding: chunked\r\n\r\n401\r\n"),
            message("Connection: close\r\n\r\n"),
            message("Expect: 100-continue\r\n\r\n"),
            b"\x16\x03\x01\x00\x04".to_vec(),
        ];
        for bytes in others {
            assert_eq!(
                decode(&bytes, &LIMITS),
                Decoded::Other,
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let long = [b"POST /echo/x HTTP/1.1\r\nX: ".as_slice(), &vec![b'a'; 70_000]].concat();
        assert_eq!(decode(&long, &LIMITS), Decoded::Other);
        let body_awaited = message("Content-Length: 10\r\n\r\nabc");
        assert_eq!(decode(&body_awaited, &LIMITS), Decoded::Incomplete { head_done: true });
    }
}
