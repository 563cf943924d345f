//! Arbitrary text as a pid (`id@ip:port`): no panic, and parsing round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    libprocess::fuzzing::pid(data);
});
