//! Arbitrary bytes as a script of CRAM-MD5 messages between the master's authenticator
//! and a client's authenticatee: every `mesos.internal.Authentication*` message (and
//! `AuthenticateMessage`) delivered, lost, replayed, tampered with or forged, in any
//! order, with client restarts. The body and its invariants live in
//! `mesos_security::fuzzing::cram_md5`, shared with the seed-corpus test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mesos_security::fuzzing::cram_md5(data);
});
