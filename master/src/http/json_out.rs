//! A JSON writer straight to bytes, for the big read-only answers.
//!
//! `/master/state` at 10,000 agents is tens of megabytes. Built as a `serde_json::Value`
//! tree first (a map and a string per field, then printed), it cost seconds of CPU; here
//! the renderers write each field as they walk the snapshot, escaped and formatted as
//! `serde_json` does, so the bytes are those the `Value` would have printed.
//! Like a `Value` printed by `serde_json` (no `preserve_order`), every object lists its
//! keys in byte order: the renderers write them in that order, which
//! `state_writer`'s equality test checks against the `Value` renderers.
//!
//! The output goes into a buffer that, with a [`Sink`], is handed on in chunks of about
//! [`CHUNK_BYTES`] as it fills, so a streamed answer never holds the whole body.
//!
//! Strings and numbers are written here rather than by `serde_json` (a string is checked
//! eight bytes at a time and copied whole when it needs no escape; a whole number is
//! written without a float printer; keys known in advance are copied pre-quoted,
//! `key!`), with the bytes `serde_json` prints for them: a task of `/master/state` is
//! some 60 short strings, and `serde_json`'s per-byte loop and the small writes around
//! each one were half of the rendering's instructions. Other numbers and the rare
//! nested `Value`s still go through `serde_json`.
//!
//! The chunks' memory is reused: a chunk whose last reader dropped it goes back to a
//! pool of at most [`MAX_POOLED_BYTES`] for the next rendering. Fresh memory is pages
//! the kernel must fault in and zero (`clear_page`: a sixth of the rendering thread's
//! CPU for `/master/state` at 10,000 agents, 63 MB of chunks each time, by `perf`);
//! pooled chunks were touched already.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use serde::Serialize;

/// The size of a chunk handed to the [`Sink`].
pub const CHUNK_BYTES: usize = 256 << 10;
/// The capacity of a chunk: [`CHUNK_BYTES`] and room for the element that passes it.
const CHUNK_CAPACITY: usize = CHUNK_BYTES + (CHUNK_BYTES >> 2);
/// Most bytes of unused chunks kept for the next renderings (half the answers a master
/// keeps, `render::MAX_SHARED_BYTES`: the whole `/master/state` of 20,000 agents).
/// Beyond it a returned chunk is freed, and a rendering needing more allocates afresh.
/// The pool holds only chunks that renderings used, so a small master keeps little.
pub const MAX_POOLED_BYTES: usize = 128 << 20;

/// Chunks that no answer holds any more, ready for the next rendering.
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty chunk: a pooled one if there is one.
fn take_chunk() -> Vec<u8> {
    let pooled = POOL.lock().unwrap_or_else(PoisonError::into_inner).pop();
    pooled.unwrap_or_else(|| Vec::with_capacity(CHUNK_CAPACITY))
}

/// Puts `chunk` back in the pool, unless the pool is full or the chunk grew past its
/// capacity (one element bigger than a chunk): then it is freed.
fn give_back(mut chunk: Vec<u8>) {
    if chunk.capacity() != CHUNK_CAPACITY {
        return;
    }
    chunk.clear();
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if (pool.len() + 1) * CHUNK_CAPACITY <= MAX_POOLED_BYTES {
        pool.push(chunk);
    }
}

/// A chunk handed on as [`Bytes`]; back to the pool when its last reader drops it.
struct PooledChunk(Vec<u8>);

impl AsRef<[u8]> for PooledChunk {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for PooledChunk {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.0));
    }
}

/// Where finished chunks go; `false` when nobody reads them any more (the client went
/// away), which stops the rendering.
pub type Sink<'a> = Box<dyn FnMut(Bytes) -> bool + Send + 'a>;

/// The writer: a buffer, the comma state of each open object or array, and an optional
/// sink for chunks.
pub struct JsonOut<'a> {
    buf: Vec<u8>,
    /// One entry per open object or array: true until its first member is written.
    first: Vec<bool>,
    /// A key was just written: the next value needs no comma.
    after_key: bool,
    sink: Option<Sink<'a>>,
    /// The sink refused a chunk: the rest is not worth rendering.
    closed: bool,
}

impl Default for JsonOut<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> JsonOut<'a> {
    /// A writer that keeps everything in its buffer ([`JsonOut::into_bytes`]).
    pub fn new() -> Self {
        JsonOut { buf: Vec::new(), first: Vec::new(), after_key: false, sink: None, closed: false }
    }

    /// A writer that hands its output to `sink` in chunks ([`JsonOut::finish`]).
    pub fn streaming(sink: Sink<'a>) -> Self {
        JsonOut { buf: take_chunk(), sink: Some(sink), ..Self::new() }
    }

    /// Everything written (a writer without a sink).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Hands the rest to the sink.
    pub fn finish(mut self) {
        self.flush(0);
        if self.sink.is_some() {
            give_back(std::mem::take(&mut self.buf));
        }
    }

    /// True once the sink refused a chunk: renderers may stop early.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Hands the buffer to the sink once it holds at least `at_least` bytes. Renderers
    /// call it between elements ([`JsonOut::boundary`]).
    fn flush(&mut self, at_least: usize) {
        let Some(sink) = self.sink.as_mut() else { return };
        if self.buf.is_empty() || self.buf.len() < at_least || self.closed {
            return;
        }
        let chunk = std::mem::replace(&mut self.buf, take_chunk());
        if !sink(Bytes::from_owner(PooledChunk(chunk))) {
            self.closed = true;
        }
    }

    /// A point between two elements of a big array: passes a full chunk on.
    pub fn boundary(&mut self) {
        if self.sink.is_some() && self.buf.len() >= CHUNK_BYTES {
            self.flush(CHUNK_BYTES);
        }
        if self.closed {
            // Nobody reads the rest: keep the memory flat while the caller unwinds.
            self.buf.clear();
        }
    }

    /// The comma before a value, unless it is the first in its container or follows a key.
    fn separate(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.buf.push(b',');
            }
            *first = false;
        }
    }

    /// Opens an object.
    pub fn begin_object(&mut self) {
        self.separate();
        self.buf.push(b'{');
        self.first.push(true);
    }

    /// Closes the innermost object.
    pub fn end_object(&mut self) {
        self.buf.push(b'}');
        self.first.pop();
    }

    /// Opens an array.
    pub fn begin_array(&mut self) {
        self.separate();
        self.buf.push(b'[');
        self.first.push(true);
    }

    /// Closes the innermost array.
    pub fn end_array(&mut self) {
        self.buf.push(b']');
        self.first.pop();
    }

    /// A key of the innermost object; its value follows.
    pub fn key(&mut self, key: &str) {
        self.separate();
        self.string(key);
        self.buf.push(b':');
        self.after_key = true;
    }

    /// A string value: the same bytes as [`JsonOut::value`] prints for it.
    pub fn str(&mut self, value: &str) {
        self.separate();
        self.string(value);
    }

    /// `key` and a string value.
    pub fn field_str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.str(value);
    }

    /// A key known when the code is written, quoted with its colon (`key!`): copied,
    /// not checked for escapes (a task's JSON has some 30 keys).
    pub fn known_key(&mut self, quoted: &'static [u8]) {
        debug_assert!(quoted.len() >= 3 && needs_no_escape(&quoted[1..quoted.len() - 2]));
        self.separate();
        self.buf.extend_from_slice(quoted);
        self.after_key = true;
    }

    /// A quoted string, as `serde_json` prints it: copied whole when no byte needs an
    /// escape (the usual case: ids, names, label keys and values), else escaped.
    fn string(&mut self, value: &str) {
        let bytes = value.as_bytes();
        self.buf.reserve(bytes.len() + 2);
        self.buf.push(b'"');
        if needs_no_escape(bytes) {
            self.buf.extend_from_slice(bytes);
        } else {
            escape_into(&mut self.buf, bytes);
        }
        self.buf.push(b'"');
    }

    /// Any serializable value (strings, numbers, booleans, `Value`s), printed by
    /// `serde_json` (a non-finite number becomes `null`, as in a `Value`).
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        self.separate();
        self.serialize(value);
    }

    /// Bytes as they are (a JSONP callback around the document).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A value written before (by another writer, [`JsonOut::into_bytes`], or kept,
    /// [`JsonOut::kept_value`]), as it is.
    pub fn raw_value(&mut self, json: &[u8]) {
        self.separate();
        self.buf.extend_from_slice(json);
    }

    /// Writes one value with `write` and returns a copy of its bytes, to write again
    /// with [`JsonOut::raw_value`]. (The buffer is handed on only between elements,
    /// [`JsonOut::boundary`], so the value's bytes are together at its end.)
    pub fn kept_value(&mut self, write: impl FnOnce(&mut Self)) -> Arc<[u8]> {
        self.separate();
        // The separator is written: the value itself needs none.
        self.after_key = true;
        let start = self.buf.len();
        write(self);
        Arc::from(self.buf.get(start..).unwrap_or_default())
    }

    /// The buffer itself, for an answer that is not JSON (the protobuf `GET_STATE`,
    /// `super::get_state`) streamed in the same chunks: the writer appends, and calls
    /// [`JsonOut::boundary`] between elements.
    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Room for `len` more bytes, for a writer that keeps the whole answer (a streaming
    /// one fills its chunks and hands them on instead).
    pub fn reserve_whole(&mut self, len: usize) {
        if self.sink.is_none() {
            self.buf.reserve(len);
        }
    }

    /// A number that a `Value` holds as a float (`json!(x)` of an `f64`).
    pub fn f64(&mut self, value: f64) {
        self.separate();
        if !value.is_finite() {
            self.buf.extend_from_slice(b"null");
        } else if let Some(whole) = small_whole_number(value) {
            // What `serde_json` prints for it: the digits and ".0".
            write_i64(&mut self.buf, whole);
            self.buf.extend_from_slice(b".0");
        } else {
            self.serialize(&value);
        }
    }

    /// An integer (a count, a port): the digits, as `serde_json` prints them.
    pub fn int(&mut self, value: i64) {
        self.separate();
        write_i64(&mut self.buf, value);
    }

    /// `key` and an integer value.
    pub fn field_int(&mut self, key: &str, value: i64) {
        self.key(key);
        self.int(value);
    }

    /// `key` and a boolean value.
    pub fn field_bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.separate();
        self.buf.extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// `key` and its value.
    pub fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.key(key);
        self.value(value);
    }

    /// `key` and a float value.
    pub fn field_f64(&mut self, key: &str, value: f64) {
        self.key(key);
        self.f64(value);
    }

    /// An array of the strings `items`.
    pub fn strings<'s>(&mut self, items: impl IntoIterator<Item = &'s str>) {
        self.begin_array();
        for item in items {
            self.str(item);
        }
        self.end_array();
    }

    fn serialize<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Writing into a Vec cannot fail, and these values (strings, numbers, `Value`s
        // with string keys) always serialize.
        let _ = serde_json::to_writer(&mut self.buf, value);
    }
}

/// `"name":` as bytes, for [`JsonOut::known_key`]: `key!("executor_id")`.
macro_rules! key {
    ($name:literal) => {
        concat!("\"", $name, "\":").as_bytes()
    };
}
pub(crate) use key;

/// Every byte of a word: `0x01` repeated, times a byte, is that byte repeated.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;
/// The top bit of every byte of a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// True if a byte of `word` is one JSON escapes: a control character (below `0x20`),
/// `"` or `\`. The bit tricks (`hasless` and `haszero` of "Bit Twiddling Hacks") mark a
/// byte's top bit only for such a byte or one above it, so "any marked" is exact. A byte
/// of UTF-8 text beyond ASCII has its top bit set and is never marked.
fn word_needs_escape(word: u64) -> bool {
    let control = word.wrapping_sub(LOW_BITS * 0x20) & !word;
    let quote = word ^ (LOW_BITS * u64::from(b'"'));
    let quote = quote.wrapping_sub(LOW_BITS) & !quote;
    let backslash = word ^ (LOW_BITS * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(LOW_BITS) & !backslash;
    (control | quote | backslash) & HIGH_BITS != 0
}

/// True if no byte of `bytes` needs an escape: checked eight bytes at a time (the last
/// word overlapping the one before it), a string of four to seven bytes as its first and
/// last four, a shorter one byte by byte. (Most strings of `/master/state` are short:
/// label keys and values, resource names; a byte-by-byte loop over them cost more than
/// `serde_json`'s.)
fn needs_no_escape(bytes: &[u8]) -> bool {
    let plain = |word: u64| !word_needs_escape(word);
    match (bytes.first_chunk::<4>(), bytes.last_chunk::<4>(), bytes.last_chunk::<8>()) {
        (_, _, Some(last)) => {
            let (words, _) = bytes.as_chunks::<8>();
            words.iter().all(|word| plain(u64::from_le_bytes(*word)))
                && plain(u64::from_le_bytes(*last))
        }
        (Some(first), Some(last), None) => {
            let (first, last) = (u32::from_le_bytes(*first), u32::from_le_bytes(*last));
            plain(u64::from(first) | (u64::from(last) << 32))
        }
        _ => bytes.iter().all(|&byte| escape_of(byte) == 0),
    }
}

/// What follows the `\` of `byte`'s escape, `u` for `\u00XX`, or 0 when the byte is
/// written as it is: `serde_json`'s table (short forms for the usual control characters,
/// `\u` with lowercase hex for the others; DEL and non-ASCII as they are).
fn escape_of(byte: u8) -> u8 {
    match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x00..=0x1f => b'u',
        _ => 0,
    }
}

/// `bytes` (UTF-8) escaped into `buf`, without quotes. The escaped bytes are ASCII, so
/// the plain runs between them are whole characters.
fn escape_into(buf: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut plain = bytes;
    while let Some(at) = plain.iter().position(|&byte| escape_of(byte) != 0) {
        let (before, rest) = plain.split_at(at);
        buf.extend_from_slice(before);
        let Some((&byte, rest)) = rest.split_first() else { break };
        let escape = escape_of(byte);
        buf.extend_from_slice(&[b'\\', escape]);
        if escape == b'u' {
            let (high, low) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]);
            buf.extend_from_slice(&[b'0', b'0', high, low]);
        }
        plain = rest;
    }
    buf.extend_from_slice(plain);
}

/// `value` as an integer if it is a whole number that `serde_json` prints as its digits
/// and ".0": below 10^15 in magnitude (its float printer switches to an exponent at
/// 10^16), and not -0.0 (printed "-0.0").
fn small_whole_number(value: f64) -> Option<i64> {
    if value.abs() >= 1e15 || (value == 0.0 && value.is_sign_negative()) {
        return None;
    }
    // In range, so the conversion is exact for a whole number.
    let whole = value as i64;
    (whole as f64 == value).then_some(whole)
}

/// The decimal digits of `value`, with a `-` if negative.
fn write_i64(buf: &mut Vec<u8>, value: i64) {
    buf.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The writer prints what `serde_json` prints for the same `Value`, commas and
    /// escapes included, and hands a streamed answer on in chunks that add up to it.
    #[test]
    fn writes_what_a_value_prints() {
        let expected = json!({
            "a": [1, "x\"y\n", {"b": true, "c": null}],
            "d": 0.1,
            "e": 5.0,
            "f": [],
            "g": {},
        });
        let mut out = JsonOut::new();
        out.begin_object();
        out.key("a");
        out.begin_array();
        out.value(&1);
        out.value("x\"y\n");
        out.begin_object();
        out.field("b", &true);
        out.field("c", &serde_json::Value::Null);
        out.end_object();
        out.end_array();
        out.field_f64("d", 0.1);
        out.field_f64("e", 5.0);
        out.key("f");
        out.strings([]);
        out.key("g");
        out.begin_object();
        out.end_object();
        out.end_object();
        assert_eq!(String::from_utf8(out.into_bytes()).unwrap(), expected.to_string());

        let mut chunks = Vec::new();
        let mut out = JsonOut::streaming(Box::new(|chunk| {
            chunks.push(chunk);
            true
        }));
        out.begin_array();
        for i in 0..100_000 {
            out.value(&i);
            out.boundary();
        }
        out.end_array();
        out.finish();
        assert!(chunks.len() > 1, "{} chunks", chunks.len());
        let whole: Vec<u8> = chunks.concat();
        let expected: Vec<i32> = (0..100_000).collect();
        assert_eq!(whole, serde_json::to_vec(&expected).unwrap());
    }

    /// Chunks come back to the pool when their readers drop them and are reused cleared:
    /// a second streamed answer, written into the first one's chunks, is only itself.
    #[test]
    fn reused_chunks_hold_only_the_new_answer() {
        let stream = |numbers: &[u64]| {
            let mut chunks = Vec::new();
            let mut out = JsonOut::streaming(Box::new(|chunk| {
                chunks.push(chunk);
                true
            }));
            out.begin_array();
            for n in numbers {
                out.value(n);
                out.boundary();
            }
            out.end_array();
            out.finish();
            chunks.concat()
        };
        let big: Vec<u64> = (0..200_000).map(|n| n * 1_000_003).collect();
        assert_eq!(stream(&big), serde_json::to_vec(&big).unwrap());
        let small: Vec<u64> = (0..100_000).collect();
        assert_eq!(stream(&small), serde_json::to_vec(&small).unwrap());
        assert!(
            POOL.lock().unwrap_or_else(PoisonError::into_inner).len() * CHUNK_CAPACITY
                <= MAX_POOLED_BYTES
        );
    }

    /// Plain strings and strings with quotes, backslashes, control characters, DEL and
    /// non-ASCII text print as `serde_json` prints them, as keys and as values.
    #[test]
    fn strings_print_as_serde_json_prints_them() {
        let texts = [
            "",
            "plain",
            "agent1-framework0-task1",
            "q\"uote",
            "back\\slash",
            "tab\t",
            "nl\n",
            "\u{1}",
            "\u{1f}",
            " ",
            "\u{7f}",
            "é",
            "日本",
            "emoji 🎉",
            "end\\",
            "0123456789abcdef0123456789abcdef",
            "0123456\"89abcdef01234567\n9abcdef",
            "01234567\u{1}",
            "agent1-framework0-task1\\",
            "é01234567日本0123456789",
        ];
        let every_ascii: Vec<String> =
            (0..0x80u8).map(|byte| format!("{0}{1}{0}{1}", "01234567", char::from(byte))).collect();
        // Every length up to three words, with an escaped byte at every position (the
        // checks read words, overlapping halves and single bytes).
        let every_place: Vec<String> = (1..25)
            .flat_map(|len| (0..len).map(move |at| (len, at)))
            .flat_map(|(len, at)| {
                ['"', '\\', '\n', '\u{1f}', 'é'].map(|c| {
                    let mut text = "a".repeat(len - 1);
                    text.insert(at, c);
                    text
                })
            })
            .collect();
        let all = texts.into_iter().chain(every_ascii.iter().map(String::as_str));
        for text in all.chain(every_place.iter().map(String::as_str)) {
            let mut out = JsonOut::new();
            out.begin_object();
            out.field_str(text, text);
            out.key("list");
            out.strings([text, text]);
            out.end_object();
            let written = String::from_utf8(out.into_bytes()).unwrap();
            let mut object = String::from("{");
            object.push_str(&serde_json::to_string(text).unwrap());
            object.push(':');
            object.push_str(&serde_json::to_string(text).unwrap());
            object.push_str(",\"list\":");
            object.push_str(&serde_json::to_string(&[text, text]).unwrap());
            object.push('}');
            assert_eq!(written, object, "{text:?}");
        }
    }

    /// Floats and integers print as `serde_json` prints them: whole numbers below 10^15
    /// written here, the rest by `serde_json`, non-finite ones as `null`.
    #[test]
    fn numbers_print_as_serde_json_prints_them() {
        let floats = [
            0.0,
            -0.0,
            5.0,
            -3.0,
            0.1,
            1.5,
            1000.25,
            123456.0,
            1e14,
            -1e14,
            999_999_999_999_999.0,
            1e15,
            1e16,
            1e17,
            f64::MAX,
            f64::MIN_POSITIVE,
            9_007_199_254_740_993.0,
        ];
        for value in floats {
            let mut out = JsonOut::new();
            out.f64(value);
            let expected = serde_json::to_string(&json!(value)).unwrap();
            assert_eq!(String::from_utf8(out.into_bytes()).unwrap(), expected, "{value}");
        }
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut out = JsonOut::new();
            out.f64(value);
            assert_eq!(out.into_bytes(), b"null");
        }
        for value in [0, 1, -1, 9, 10, 5051, -12345, i64::MAX, i64::MIN] {
            let mut out = JsonOut::new();
            out.begin_object();
            out.field_bool("b", value > 0);
            out.field_int("n", value);
            out.end_object();
            let expected = json!({"b": value > 0, "n": value}).to_string();
            assert_eq!(String::from_utf8(out.into_bytes()).unwrap(), expected, "{value}");
        }
    }
}
