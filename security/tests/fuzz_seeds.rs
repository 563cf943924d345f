//! The CRAM-MD5 fuzz body of `fuzz/` (see `mesos_security::fuzzing`) over hand-written
//! scripts, so CI exercises it: honest exchanges for every client credential, lost,
//! replayed, tampered and forged messages, restarts with stale messages in flight,
//! verdicts before the challenge, and late messages after a verdict. The same scripts
//! seed `fuzz/seeds/cram_md5/`.

use mesos_proto::mesos::internal::{
    AuthenticateMessage, AuthenticationErrorMessage, AuthenticationMechanismsMessage,
    AuthenticationStartMessage, AuthenticationStepMessage,
};
use mesos_security::cram_md5;
use mesos_security::fuzzing::{self, CLIENTS, Kind, Op};
use prost::Message as _;

/// Builds a script: the client index, the challenge seed, then operations.
struct Script(Vec<u8>);

impl Script {
    fn new(client: u8, seed: u8) -> Self {
        Self(vec![client, seed])
    }

    fn op(mut self, op: Op) -> Self {
        self.0.push(op.byte());
        self
    }

    fn ops(mut self, ops: &[Op]) -> Self {
        self.0.extend(ops.iter().map(|op| op.byte()));
        self
    }

    fn tamper(mut self, op: Op, at: u8, value: u8) -> Self {
        self.0.extend([op.byte(), at, value]);
        self
    }

    fn forge(mut self, to_master: bool, kind: Kind, bytes: &[u8]) -> Self {
        let op = if to_master { Op::ForgeToMaster } else { Op::ForgeToClient };
        let kind = Kind::ALL.iter().position(|k| *k == kind).unwrap() as u8;
        let len = u16::try_from(bytes.len()).unwrap().to_le_bytes();
        self.0.extend([op.byte(), kind, len[0], len[1]]);
        self.0.extend_from_slice(bytes);
        self
    }
}

/// The five in-order deliveries of a whole exchange: authenticate, mechanisms, start,
/// challenge, response, verdict.
const HONEST: [Op; 6] = [
    Op::DeliverToMaster,
    Op::DeliverToClient,
    Op::DeliverToMaster,
    Op::DeliverToClient,
    Op::DeliverToMaster,
    Op::DeliverToClient,
];

/// The RFC 2195 response of `tim` to the challenge of the fuzz body's first session with
/// seed 0 (`<0.1@master>`), in upper-case hex (which the master accepts).
fn tim_response_upper() -> Vec<u8> {
    let tim =
        mesos_security::Credential { principal: "tim".into(), secret: "tanstaaftanstaaf".into() };
    let mut response = cram_md5::response(&tim, &cram_md5::challenge(0, 1, "master"));
    response[4..].make_ascii_uppercase();
    response
}

/// Hand-written scripts for the CRAM-MD5 body.
pub fn cram_md5_seeds() -> Vec<Vec<u8>> {
    let start = AuthenticationStartMessage { mechanism: cram_md5::MECHANISM.into(), data: None }
        .encode_to_vec();
    let plain =
        AuthenticationStartMessage { mechanism: "PLAIN".into(), data: None }.encode_to_vec();
    let step = |data: &[u8]| AuthenticationStepMessage { data: data.to_vec() }.encode_to_vec();
    let hello = |pid: &str| AuthenticateMessage { pid: pid.into() }.encode_to_vec();
    let mechanisms = |m: &[&str]| {
        AuthenticationMechanismsMessage { mechanisms: m.iter().map(|s| s.to_string()).collect() }
            .encode_to_vec()
    };
    let error = AuthenticationErrorMessage { error: Some("boom".into()) }.encode_to_vec();
    let mut seeds = Vec::new();
    // Honest exchanges for every client (right, wrong and unknown credentials), with
    // deliveries interleaved differently and nothing at all.
    for client in 0..CLIENTS.len() as u8 {
        seeds.push(Script::new(client, client).ops(&HONEST).0);
        seeds.push(Script::new(client, 7).0);
    }
    seeds.push(Script::new(0, 0).ops(&[Op::DeliverToClient, Op::DeliverToMaster]).0);
    // Lost, replayed and tampered messages at every step.
    for at in 0..HONEST.len() {
        let (before, after) = HONEST.split_at(at);
        for op in [Op::DropToMaster, Op::ReplayToMaster, Op::DropToClient, Op::ReplayToClient] {
            seeds.push(Script::new(0, 1).ops(before).op(op).ops(after).ops(&HONEST).0);
        }
        for (op, at_byte) in
            [(Op::TamperToMaster, 0), (Op::TamperToClient, 5), (Op::TamperToMaster, 9)]
        {
            seeds.push(Script::new(1, 2).ops(before).tamper(op, at_byte, 0x20).ops(after).0);
        }
    }
    // A restart with the old exchange's messages still in flight, twice.
    seeds.push(
        Script::new(0, 3).ops(&HONEST[..3]).op(Op::RestartClient).ops(&HONEST).ops(&HONEST).0,
    );
    seeds.push(Script::new(2, 3).ops(&HONEST).op(Op::RestartClient).ops(&HONEST).0);
    // Forged messages to the master: steps before any start, starts twice, an unknown
    // mechanism, a correct response in upper-case hex, garbage responses, bad pids,
    // undecodable bytes, and messages the master has no arm for.
    let forged_master: Vec<(Kind, Vec<u8>)> = vec![
        (Kind::Step, step(b"tim 00")),
        (Kind::Start, start.clone()),
        (Kind::Start, plain),
        (Kind::Step, tim_response_upper()),
        (Kind::Step, step(&tim_response_upper())),
        (Kind::Step, step(b"")),
        (Kind::Step, step(b"two words ffffffffffffffffffffffffffffffff")),
        (Kind::Step, step(&[b'a'; 5000])),
        (Kind::Step, step(b"\xff\xfe 0g")),
        (Kind::Authenticate, hello("not a pid")),
        (Kind::Authenticate, hello("")),
        (Kind::Authenticate, hello("scheduler-1@10.0.0.3:40000")),
        (Kind::Authenticate, vec![0x0a, 0xff, 0xff]),
        (Kind::Completed, Vec::new()),
        (Kind::Mechanisms, mechanisms(&["CRAM-MD5"])),
    ];
    for (kind, bytes) in &forged_master {
        seeds.push(Script::new(0, 0).forge(true, *kind, bytes).ops(&HONEST).0);
        seeds.push(Script::new(0, 0).ops(&HONEST[..4]).forge(true, *kind, bytes).ops(&HONEST).0);
        seeds.push(Script::new(0, 0).ops(&HONEST).forge(true, *kind, bytes).ops(&HONEST).0);
    }
    // Forged messages to the client: verdicts before the challenge, a completed after a
    // refusal, a failed or an error after completion, mechanisms without CRAM-MD5, twice,
    // empty challenges, and messages the client has no arm for.
    let forged_client: Vec<(Kind, Vec<u8>)> = vec![
        (Kind::Completed, Vec::new()),
        (Kind::Failed, Vec::new()),
        (Kind::Error, error),
        (Kind::Error, vec![0x0a, 0x02, 0xff, 0xfe]),
        (Kind::Mechanisms, mechanisms(&["PLAIN"])),
        (Kind::Mechanisms, mechanisms(&[])),
        (Kind::Mechanisms, mechanisms(&["PLAIN", "CRAM-MD5"])),
        (Kind::Step, step(b"")),
        (Kind::Step, step(b"<1896.697170952@postoffice.reston.mci.net>")),
        (Kind::Completed, vec![0x08, 0x01]),
        (Kind::Start, start),
        (Kind::Authenticate, hello("slave(1)@10.0.0.2:5051")),
    ];
    for (kind, bytes) in &forged_client {
        seeds.push(Script::new(3, 0).forge(false, *kind, bytes).ops(&HONEST).0);
        seeds.push(Script::new(0, 0).ops(&HONEST[..2]).forge(false, *kind, bytes).ops(&HONEST).0);
        seeds.push(Script::new(0, 0).ops(&HONEST).forge(false, *kind, bytes).ops(&HONEST).0);
        seeds.push(Script::new(4, 0).ops(&HONEST).forge(false, *kind, bytes).0);
    }
    // Truncated operands, and bytes that are no script in particular.
    seeds.push(vec![0, 0, Op::ForgeToMaster.byte(), 3, 0xff, 0xff, b't']);
    seeds.push(vec![0, 0, Op::TamperToClient.byte()]);
    seeds.push((0u8..=255).collect());
    seeds.push(vec![0xff; 64]);
    seeds
}

/// Every seed runs through the fuzz body without breaking an invariant (the checks are
/// in the body: no completion without a correct response, verdicts final, honest
/// exchanges agree).
#[test]
fn cram_md5_seeds_keep_the_invariants() {
    for seed in cram_md5_seeds() {
        fuzzing::cram_md5(&seed);
    }
}

/// The honest script of each client ends as its credential deserves, and the body
/// notices it: an in-order run is checked for agreement (see `fuzzing::cram_md5`), so a
/// script that merely stops early must still settle.
#[test]
fn honest_exchanges_settle_for_every_client() {
    for client in 0..CLIENTS.len() as u8 {
        fuzzing::cram_md5(&Script::new(client, 9).ops(&HONEST).0);
        fuzzing::cram_md5(&Script::new(client, 9).ops(&HONEST[..3]).0);
    }
}

/// Writes the seeds to `fuzz/seeds/cram_md5/` when `WRITE_FUZZ_SEEDS` is set, so the
/// cargo-fuzz corpus starts from the same scripts (`WRITE_FUZZ_SEEDS=1 cargo test -p
/// mesos-security --test fuzz_seeds`).
#[test]
fn write_seeds_on_request() {
    if std::env::var_os("WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/cram_md5");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in cram_md5_seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("seed_{i:03}")), seed).unwrap();
    }
}
