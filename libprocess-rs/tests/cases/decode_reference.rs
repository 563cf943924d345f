//! The vendored prost decodes nested messages, field keys and packed varints on paths of
//! its own (third_party/prost/README.md). These cases decode valid, truncated, corrupted
//! and random inputs both with it and with a reference written the way upstream prost
//! 0.14.4 decodes (its derive's `merge_field` and its `merge_loop`, built only from
//! prost functions the vendoring left as upstream wrote them), and require the same
//! message, the same error (`Debug`: kind and field stack) and the same bytes consumed.

use bytes::{Buf, Bytes};
use prost::encoding::{
    DecodeContext, WireType, check_wire_type, decode_varint, encode_varint, merge_loop,
};
use prost::{DecodeError, Message};

/// CODEC-1's tree (libprocess's `tests::Message`): packed ints and nested children.
#[derive(Clone, PartialEq, prost::Message)]
struct TreeMessage {
    #[prost(int32, repeated, tag = "1")]
    payload: Vec<i32>,
    #[prost(message, repeated, tag = "2")]
    submessages: Vec<TreeMessage>,
}

/// Upstream's `decode_key`. The error for a key it refuses comes from decoding that key
/// again, alone, with prost's own `decode_key` (`InvalidKey` and `InvalidTag` cannot be
/// built outside prost): the vendored one sends every such key down upstream's code.
fn reference_key(buf: &mut impl Buf) -> Result<(u32, WireType), DecodeError> {
    let key = decode_varint(buf)?;
    match WireType::try_from(key & 0x07) {
        Ok(wire_type) if key <= u64::from(u32::MAX) && key >> 3 >= 1 => {
            Ok((key as u32 >> 3, wire_type))
        }
        _ => {
            let mut alone = Vec::new();
            encode_varint(key, &mut alone);
            let refused = prost::encoding::decode_key(&mut alone.as_slice());
            assert!(refused.is_err(), "prost accepted key {key}");
            refused
        }
    }
}

/// What prost-derive generates for `TreeMessage::merge_field`, over upstream's
/// `int32::merge_repeated` and `message::merge_repeated`.
fn reference_field(
    msg: &mut TreeMessage,
    tag: u32,
    wire_type: WireType,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    let merged = match tag {
        1 => reference_ints(wire_type, &mut msg.payload, buf, ctx),
        2 => reference_child(wire_type, &mut msg.submessages, buf, ctx),
        _ => return prost::encoding::skip_field(wire_type, tag, buf, ctx),
    };
    merged.map_err(|mut error| {
        error.push("TreeMessage", if tag == 1 { "payload" } else { "submessages" });
        error
    })
}

/// Upstream's `int32::merge_repeated`: packed through `merge_loop`, or one value.
fn reference_ints(
    wire_type: WireType,
    values: &mut Vec<i32>,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    if wire_type == WireType::LengthDelimited {
        return merge_loop(values, buf, ctx, |values, buf, ctx| {
            let mut value = 0;
            prost::encoding::int32::merge(WireType::Varint, &mut value, buf, ctx)?;
            values.push(value);
            Ok(())
        });
    }
    check_wire_type(WireType::Varint, wire_type)?;
    let mut value = 0;
    prost::encoding::int32::merge(wire_type, &mut value, buf, ctx)?;
    values.push(value);
    Ok(())
}

/// Upstream's `message::merge_repeated`: the child is built aside, pushed if it decoded.
/// (The recursion limit is left out: `case` keeps inputs too short to nest 100 deep.)
fn reference_child(
    wire_type: WireType,
    messages: &mut Vec<TreeMessage>,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    check_wire_type(WireType::LengthDelimited, wire_type)?;
    let mut child = TreeMessage::default();
    merge_loop(&mut child, buf, ctx, |child, buf, ctx| {
        let (tag, wire_type) = reference_key(buf)?;
        reference_field(child, tag, wire_type, buf, ctx)
    })?;
    messages.push(child);
    Ok(())
}

/// Upstream's `Message::merge` from `buf`: the merged message (partial on error), the
/// result as `Debug`, and how many bytes were left.
fn reference(mut buf: impl Buf) -> (TreeMessage, Result<(), String>, usize) {
    let mut msg = TreeMessage::default();
    let mut merged = Ok(());
    while buf.has_remaining() {
        let field = reference_key(&mut buf).and_then(|(tag, wire_type)| {
            reference_field(&mut msg, tag, wire_type, &mut buf, DecodeContext::default())
        });
        if let Err(error) = field {
            merged = Err(format!("{error:?}"));
            break;
        }
    }
    (msg, merged, buf.remaining())
}

/// The vendored prost's `Message::merge` from `buf`, reported as `reference` reports.
fn vendored(mut buf: impl Buf) -> (TreeMessage, Result<(), String>, usize) {
    let mut msg = TreeMessage::default();
    let merged = msg.merge(&mut buf).map_err(|error| format!("{error:?}"));
    (msg, merged, buf.remaining())
}

/// One input, from a `Bytes`, a slice, and split in two at every point (a buffer whose
/// chunk ends early takes the vendored crate's non-contiguous path for packed ints).
fn case(input: &[u8]) {
    assert!(input.len() < 200, "an input short enough that no recursion limit applies");
    let expected = reference(input);
    assert_eq!(vendored(Bytes::copy_from_slice(input)), expected, "{input:02x?}");
    assert_eq!(vendored(input), expected, "{input:02x?}");
    for split in 1..input.len() {
        let (head, tail) = input.split_at(split);
        let expected = reference(head.chain(tail));
        assert_eq!(vendored(head.chain(tail)), expected, "{input:02x?} split at {split}");
    }
}

/// A small deterministic generator (xorshift64*), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A tree of bounded size whose ints take one to ten varint bytes.
fn tree(rng: &mut Rng, depth: u32) -> TreeMessage {
    let payload = (0..rng.below(4))
        .map(|_| match rng.below(4) {
            0 => rng.below(128) as i32,
            1 => rng.next() as i32,
            2 => -(rng.below(1000) as i32),
            _ => 300,
        })
        .collect();
    let children = if depth == 0 { 0 } else { rng.below(3) };
    let submessages = (0..children).map(|_| tree(rng, depth - 1)).collect();
    TreeMessage { payload, submessages }
}

#[test]
fn valid_trees_decode_as_upstream_decodes_them() {
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..300 {
        let encoded = tree(&mut rng, 3).encode_to_vec();
        if encoded.len() < 200 {
            case(&encoded);
        }
    }
}

#[test]
fn truncated_and_corrupted_trees_fail_or_decode_as_upstream() {
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..1500 {
        let mut input = tree(&mut rng, 3).encode_to_vec();
        input.truncate(190);
        if input.is_empty() {
            continue;
        }
        match rng.below(4) {
            0 => input.truncate(rng.below(input.len() as u64) as usize),
            1 => {
                let at = rng.below(input.len() as u64) as usize;
                input[at] = rng.next() as u8;
            }
            2 => {
                let at = rng.below(input.len() as u64) as usize;
                input[at] ^= 0x80;
            }
            _ => {
                let at = rng.below(input.len() as u64) as usize;
                let inserted: Vec<u8> = (0..rng.below(4)).map(|_| rng.next() as u8).collect();
                input.splice(at..at, inserted);
            }
        }
        case(&input);
    }
}

#[test]
fn random_bytes_fail_or_decode_as_upstream() {
    let mut rng = Rng(0x5eed_0003);
    // Bytes biased to the ones the tree's grammar uses, so inputs get past the first key.
    const COMMON: [u8; 10] = [0x0a, 0x12, 0x08, 0x10, 0x02, 0x01, 0x80, 0xff, 0x00, 0x7f];
    for _ in 0..4000 {
        let len = rng.below(24) as usize;
        let input: Vec<u8> =
            (0..len)
                .map(|_| {
                    if rng.below(2) == 0 {
                        COMMON[rng.below(10) as usize]
                    } else {
                        rng.next() as u8
                    }
                })
                .collect();
        case(&input);
    }
}

/// The inputs each vendored path turns on, at their edges: one-byte keys of every wire
/// type (valid and not), a two-byte key, packed runs whose last varint runs past the
/// run's end or past the buffer, an over-long varint in a run, and an empty child.
#[test]
fn edge_inputs_fail_or_decode_as_upstream() {
    let inputs: &[&[u8]] = &[
        &[0x08, 0x05],
        &[0x0d, 1, 2, 3, 4],
        &[0x0e],
        &[0x0f],
        &[0x07, 0x00],
        &[0x00],
        &[0x80, 0x01, 0x00],
        &[0x88, 0x01, 0x05],
        &[0x0a, 0x02, 0x01, 0x81, 0x01],
        &[0x0a, 0x02, 0x01, 0x81],
        &[0x0a, 0x01, 0x81, 0x01],
        &[0x0a, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[0x0a, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01],
        &[0x0a, 0x03, 0xff, 0xff, 0xff],
        &[0x0a, 0x05, 0x01],
        &[0x12, 0x00],
        &[0x12, 0x00, 0x12, 0x02, 0x0a, 0x00],
        &[0x12, 0x04, 0x0a, 0x02, 0x01, 0x02, 0x12],
        &[0x12, 0x03, 0x0a, 0x02, 0x01, 0x02],
        &[0x12, 0x02, 0x08, 0x80],
        &[0x12, 0x02, 0x13, 0x14],
        &[0x12, 0x02, 0x0c, 0x00],
        &[0x10, 0x01],
        &[0x11, 1, 2, 3, 4, 5, 6, 7, 8],
        &[0x1b, 0x1c],
        &[0x1b, 0x24],
    ];
    for input in inputs {
        case(input);
    }
}
