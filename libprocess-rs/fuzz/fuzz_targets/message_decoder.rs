//! Arbitrary receive buffers through the message connections' decoder (`net/decoder.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    libprocess::fuzzing::message_decoder(data);
});
