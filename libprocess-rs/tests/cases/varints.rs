//! The workspace decodes protobufs with a vendored prost whose varint decoding differs from
//! upstream's (third_party/prost/README.md): these cases pin that it still reads every
//! varint the protobuf encoding allows, from every kind of buffer, and refuses the rest.

use bytes::{Buf, Bytes};
use prost::Message;
use prost::encoding::{decode_varint, encode_varint};

/// The protobuf rule, one byte at a time: at most 10 bytes, the tenth at most 1.
fn reference(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Values whose varints are 1 to 10 bytes long, with both ends of each length.
fn values() -> Vec<u64> {
    let mut values = vec![0, 1, 0x7f, u64::MAX];
    for bits in (7..64).step_by(7) {
        values.extend([(1u64 << bits) - 1, 1u64 << bits, (1u64 << bits) + 1]);
    }
    values
}

/// Decodes from a `Bytes`, a slice and a buffer split in two at `split` (whose first
/// chunk ends early, as a body spread over reads would); each must agree.
fn decode_all_ways(bytes: &[u8], split: usize) -> Vec<Option<(u64, usize)>> {
    let mut owned = Bytes::copy_from_slice(bytes);
    let from_bytes = decode_varint(&mut owned).ok().map(|v| (v, bytes.len() - owned.len()));
    let mut slice = bytes;
    let from_slice = decode_varint(&mut slice).ok().map(|v| (v, bytes.len() - slice.len()));
    let (head, tail) = bytes.split_at(split.min(bytes.len()));
    let mut chain = head.chain(tail);
    let from_chain = decode_varint(&mut chain).ok().map(|v| (v, bytes.len() - chain.remaining()));
    vec![from_bytes, from_slice, from_chain]
}

/// Every length of varint decodes to its value and consumes exactly its bytes, alone or
/// followed by more data, however the buffer is split.
#[test]
fn every_varint_length_decodes_as_the_protobuf_rule_says() {
    for value in values() {
        let mut encoded = Vec::new();
        encode_varint(value, &mut encoded);
        for trailing in [&[][..], &[0x01], &[0xff; 12]] {
            let mut bytes = encoded.clone();
            bytes.extend_from_slice(trailing);
            assert_eq!(reference(&bytes), Some((value, encoded.len())));
            for split in 0..=bytes.len() {
                for decoded in decode_all_ways(&bytes, split) {
                    assert_eq!(decoded, Some((value, encoded.len())), "{value} split at {split}");
                }
            }
        }
    }
}

/// Empty, truncated, overlong and overflowing varints are refused, never misread.
#[test]
fn malformed_varints_are_refused() {
    let cases: [&[u8]; 5] = [
        &[],
        &[0x80],
        &[0xff, 0xff, 0xff],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
    ];
    for bytes in cases {
        assert_eq!(reference(bytes), None);
        for split in 0..=bytes.len() {
            for decoded in decode_all_ways(bytes, split) {
                assert_eq!(decoded, None, "{bytes:x?} split at {split}");
            }
        }
    }
}

/// A message with one- and two-byte keys, values of every length, and lists of every kind
/// (packed numbers, strings, sub-messages; empty, shorter and longer than their first
/// allocation) comes back as it was encoded (the paths a decoded libprocess message takes).
#[test]
fn messages_with_keys_and_values_of_every_length_round_trip() {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Node {
        #[prost(uint64, repeated, tag = "1")]
        packed: Vec<u64>,
        #[prost(int64, tag = "2")]
        signed: i64,
        #[prost(bytes = "bytes", tag = "3")]
        data: Bytes,
        #[prost(string, repeated, tag = "4")]
        names: Vec<String>,
        #[prost(message, repeated, tag = "2000")]
        children: Vec<Node>,
    }
    let leaf = |i: usize| Node {
        packed: values(),
        signed: -(i as i64),
        data: Bytes::from(vec![7u8; i * 40]),
        names: (0..i).map(|n| "n".repeat(n * 50)).collect(),
        children: vec![],
    };
    let tree = Node {
        packed: vec![1, 1],
        signed: i64::MIN,
        data: Bytes::new(),
        names: vec![],
        children: (0..6)
            .map(|i| Node { children: vec![leaf(i), leaf(i + 1)], ..leaf(i) })
            .collect(),
    };
    let encoded = Bytes::from(tree.encode_to_vec());
    assert_eq!(Node::decode(encoded.clone()).as_ref(), Ok(&tree));
    assert_eq!(Node::decode(&encoded[..]).as_ref(), Ok(&tree));
    for cut in [1, encoded.len() / 2, encoded.len() - 1] {
        assert!(Node::decode(encoded.slice(..cut)).is_err(), "truncated at {cut}");
    }
}
