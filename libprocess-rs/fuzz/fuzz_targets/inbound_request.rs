//! Arbitrary bytes as one client connection through the real server path: hyper over an
//! in-memory duplex stream into the node's router (no sockets). The body and its checks
//! live in `libprocess::fuzzing::inbound_request`, shared with the seed-corpus test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    libprocess::fuzzing::inbound_request(data);
});
