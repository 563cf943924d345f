//! Arbitrary bytes as one client connection to the TLS front: the downgrade decision, the
//! rustls handshake within its deadline, then HTTP over TLS or (downgraded) plain HTTP.
//! The body and its checks live in `libprocess::fuzzing::tls_front`, shared with the
//! seed-corpus test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    libprocess::fuzzing::tls_front(data);
});
