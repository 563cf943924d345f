//! Arbitrary request paths and sender headers through `wire::parse_message_head`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    libprocess::fuzzing::message_head(data);
});
