//! Fuzz body for the CRAM-MD5 exchange (not a public API).
//!
//! The cargo-fuzz target in `security/fuzz/` and the seed-corpus test in
//! `tests/fuzz_seeds.rs` call [`cram_md5`], so CI runs the body over hand-written
//! scripts and `cargo fuzz` over generated ones. It panics only when
//! [`crate::cram_md5`] breaks one of the invariants listed on [`cram_md5`] (or panics
//! itself).
//!
//! The input is a *script*: a client credential, a challenge seed, then operations on a
//! simulated link between one [`Authenticatee`] (the agent's or the driver's side) and
//! one [`Authenticator`] (the master's side). Every message crosses the link as protobuf
//! bytes and is decoded on arrival, as the actors do, so forged and tampered bytes reach
//! the state machines only through the same decoding boundary as the network's.

use std::collections::VecDeque;

use mesos_proto::mesos::internal::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage,
    AuthenticationFailedMessage, AuthenticationMechanismsMessage, AuthenticationStartMessage,
    AuthenticationStepMessage,
};
use prost::Message as _;

use crate::cram_md5::{
    self, Authenticatee, AuthenticateeReply, Authenticator, AuthenticatorMessage, Outcome,
    ToAuthenticatee,
};
use crate::{Credential, Credentials, Principal};

/// The master's `--credentials` in every run: two plain principals and one with a space
/// (the response is split at its *last* space).
pub const CREDENTIALS: &str = r#"{"credentials": [
    {"principal": "tim", "secret": "tanstaaftanstaaf"},
    {"principal": "ops", "secret": "s3cret"},
    {"principal": "two words", "secret": "x y"}
]}"#;

/// The credentials a client may present (the script's first byte picks one): right
/// secrets, a wrong secret, an unknown principal, an empty principal.
pub const CLIENTS: [(&str, &str, bool); 6] = [
    ("tim", "tanstaaftanstaaf", true),
    ("ops", "s3cret", true),
    ("two words", "x y", true),
    ("tim", "guess", false),
    ("eve", "s3cret", false),
    ("", "", false),
];

/// The pid the client authenticates as (what its `AuthenticateMessage` carries).
pub const CLIENT_PID: &str = "slave(1)@10.0.0.2:5051";

/// Most messages in flight each way; a send beyond it is lost (the script is bounded
/// anyway, this keeps a long one from growing the queues without end).
const MAX_IN_FLIGHT: usize = 64;

/// The seven `mesos.internal.Authentication*` messages, as the script names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `AuthenticateMessage` (client to master).
    Authenticate,
    /// `AuthenticationMechanismsMessage` (master to client).
    Mechanisms,
    /// `AuthenticationStartMessage` (client to master).
    Start,
    /// `AuthenticationStepMessage` (both ways).
    Step,
    /// `AuthenticationCompletedMessage` (master to client).
    Completed,
    /// `AuthenticationFailedMessage` (master to client).
    Failed,
    /// `AuthenticationErrorMessage` (master to client).
    Error,
}

impl Kind {
    /// Every kind, in the order a script byte indexes them.
    pub const ALL: [Kind; 7] = [
        Kind::Authenticate,
        Kind::Mechanisms,
        Kind::Start,
        Kind::Step,
        Kind::Completed,
        Kind::Failed,
        Kind::Error,
    ];
}

/// What one script byte asks for (the byte modulo the number of operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Deliver the next message in flight to the master, in order.
    DeliverToMaster,
    /// Deliver the next message in flight to the client, in order.
    DeliverToClient,
    /// Lose the next message in flight to the master.
    DropToMaster,
    /// Lose the next message in flight to the client.
    DropToClient,
    /// Deliver the next message to the master without taking it off the link (a replay).
    ReplayToMaster,
    /// Deliver the next message to the client without taking it off the link.
    ReplayToClient,
    /// Flip one byte of the next message to the master, then deliver it.
    TamperToMaster,
    /// Flip one byte of the next message to the client, then deliver it.
    TamperToClient,
    /// Forge a message to the master: a kind byte, a two-byte length, the bytes.
    ForgeToMaster,
    /// Forge a message to the client: a kind byte, a two-byte length, the bytes.
    ForgeToClient,
    /// The client gives up and starts over (a new `AuthenticateMessage`), while the old
    /// exchange's messages may still be in flight.
    RestartClient,
}

impl Op {
    /// Every operation, in the order a script byte indexes them.
    pub const ALL: [Op; 11] = [
        Op::DeliverToMaster,
        Op::DeliverToClient,
        Op::DropToMaster,
        Op::DropToClient,
        Op::ReplayToMaster,
        Op::ReplayToClient,
        Op::TamperToMaster,
        Op::TamperToClient,
        Op::ForgeToMaster,
        Op::ForgeToClient,
        Op::RestartClient,
    ];

    /// The script byte for this operation.
    pub fn byte(self) -> u8 {
        Self::ALL.iter().position(|op| *op == self).unwrap_or(0) as u8
    }
}

/// Reads a script front to back; past its end every read is zero, so any input is a
/// whole script.
struct Script<'a> {
    data: &'a [u8],
}

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.data.split_first()?;
        self.data = rest;
        Some(*first)
    }

    fn bytes(&mut self, len: usize) -> &[u8] {
        let (taken, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        taken
    }
}

/// The master's side as the fuzz body drives it: one session at a time, replaced by each
/// `AuthenticateMessage` (Mesos: master.cpp `Master::authenticate` discards the previous
/// session of the same pid).
struct MasterSide {
    credentials: Credentials,
    session: Option<Authenticator>,
    /// The current session's challenge.
    challenge: Vec<u8>,
    /// Sessions opened so far (each gets a fresh challenge).
    sessions: u64,
    seed: u64,
    /// The current session sent its challenge.
    challenged: bool,
}

/// The client's side: one [`Authenticatee`] per attempt.
struct ClientSide {
    credential: Credential,
    exchange: Authenticatee,
    /// This attempt sent its `AuthenticationStartMessage`.
    started: bool,
}

/// The link: bytes in flight each way.
#[derive(Default)]
struct Link {
    to_master: VecDeque<(Kind, Vec<u8>)>,
    to_client: VecDeque<(Kind, Vec<u8>)>,
}

fn push(queue: &mut VecDeque<(Kind, Vec<u8>)>, kind: Kind, bytes: Vec<u8>) {
    if queue.len() < MAX_IN_FLIGHT {
        queue.push_back((kind, bytes));
    }
}

/// Fuzz body of the CRAM-MD5 exchange. `data` is a script: byte 0 picks the client's
/// credential from [`CLIENTS`], byte 1 seeds the challenges, then each byte is an
/// [`Op`] (with its operands for tamper and forge).
///
/// Invariants checked after every delivery:
/// - no panic, whatever bytes arrive in whatever order;
/// - the master answers `Completed` exactly when the step it just received is a correct
///   response (`principal hexdigest` with the HMAC-MD5 of *this* session's challenge
///   under that principal's secret), and its outcome is then that principal; it answers
///   `Failed` exactly when the response is not correct;
/// - the master sends its challenge at most once per session, and it is that session's;
/// - the client answers a challenge only with `response(its credential, challenge)`, and
///   ends `Authenticated` only as its own principal and only after it started;
/// - a finished exchange (either side) keeps its outcome: later, replayed or forged
///   messages cannot turn one verdict into another;
/// - a script of in-order deliveries only ends with both sides agreeing: authenticated
///   as the client's principal when its secret is right, refused when not.
pub fn cram_md5(data: &[u8]) {
    let mut script = Script { data };
    let client = CLIENTS[usize::from(script.byte().unwrap_or(0)) % CLIENTS.len()];
    let credential = Credential { principal: client.0.into(), secret: client.1.into() };
    let credentials = match Credentials::parse(CREDENTIALS) {
        Ok(credentials) => credentials,
        Err(e) => panic!("the fuzz body's own credentials do not parse: {e}"),
    };
    let seed = u64::from(script.byte().unwrap_or(0));
    let mut master = MasterSide {
        credentials,
        session: None,
        challenge: Vec::new(),
        sessions: 0,
        seed,
        challenged: false,
    };
    let mut link = Link::default();
    let mut client = ClientSide::start(credential, &mut link);
    let mut in_order = true;
    while let Some(byte) = script.byte() {
        let op = Op::ALL[usize::from(byte) % Op::ALL.len()];
        in_order &= matches!(op, Op::DeliverToMaster | Op::DeliverToClient);
        run_op(op, &mut script, &mut master, &mut client, &mut link);
    }
    if in_order {
        let right = client_is_right(&client.credential);
        settle(&mut master, &mut client, &mut link, right);
    }
}

fn client_is_right(credential: &Credential) -> bool {
    CLIENTS
        .iter()
        .any(|(p, s, right)| *right && *p == credential.principal && *s == credential.secret)
}

fn run_op(
    op: Op,
    script: &mut Script<'_>,
    master: &mut MasterSide,
    client: &mut ClientSide,
    link: &mut Link,
) {
    match op {
        Op::DeliverToMaster => {
            if let Some((kind, bytes)) = link.to_master.pop_front() {
                master.deliver(kind, &bytes, link);
            }
        }
        Op::DeliverToClient => {
            if let Some((kind, bytes)) = link.to_client.pop_front() {
                client.deliver(kind, &bytes, link);
            }
        }
        Op::DropToMaster => drop(link.to_master.pop_front()),
        Op::DropToClient => drop(link.to_client.pop_front()),
        Op::ReplayToMaster => {
            if let Some((kind, bytes)) = link.to_master.front().cloned() {
                master.deliver(kind, &bytes, link);
            }
        }
        Op::ReplayToClient => {
            if let Some((kind, bytes)) = link.to_client.front().cloned() {
                client.deliver(kind, &bytes, link);
            }
        }
        Op::TamperToMaster => {
            if let Some((kind, bytes)) = link.to_master.pop_front() {
                master.deliver(kind, &tamper(bytes, script), link);
            }
        }
        Op::TamperToClient => {
            if let Some((kind, bytes)) = link.to_client.pop_front() {
                client.deliver(kind, &tamper(bytes, script), link);
            }
        }
        Op::ForgeToMaster => {
            let (kind, bytes) = forge(script);
            master.deliver(kind, &bytes, link);
        }
        Op::ForgeToClient => {
            let (kind, bytes) = forge(script);
            client.deliver(kind, &bytes, link);
        }
        Op::RestartClient => *client = ClientSide::start(client.credential.clone(), link),
    }
}

/// XORs the byte at the script's position operand with its value operand (appends the
/// value to an empty message).
fn tamper(mut bytes: Vec<u8>, script: &mut Script<'_>) -> Vec<u8> {
    let at = usize::from(script.byte().unwrap_or(0));
    let value = script.byte().unwrap_or(0xff);
    match bytes.len() {
        0 => bytes.push(value),
        len => bytes[at % len] ^= value.max(1),
    }
    bytes
}

/// A kind byte, a little-endian two-byte length, then that many bytes.
fn forge(script: &mut Script<'_>) -> (Kind, Vec<u8>) {
    let kind = Kind::ALL[usize::from(script.byte().unwrap_or(0)) % Kind::ALL.len()];
    let len = u16::from_le_bytes([script.byte().unwrap_or(0), script.byte().unwrap_or(0)]);
    (kind, script.bytes(usize::from(len)).to_vec())
}

/// Delivers what is still in flight, in order, until both sides are quiet, then checks
/// that an undisturbed exchange ended as the credential deserves.
fn settle(master: &mut MasterSide, client: &mut ClientSide, link: &mut Link, right: bool) {
    // Each delivery answers at most one message, and an exchange is five messages long;
    // the bound only guards against a livelock the invariants would not catch.
    for _ in 0..4 * MAX_IN_FLIGHT {
        if let Some((kind, bytes)) = link.to_master.pop_front() {
            master.deliver(kind, &bytes, link);
        } else if let Some((kind, bytes)) = link.to_client.pop_front() {
            client.deliver(kind, &bytes, link);
        } else {
            break;
        }
    }
    let principal = Principal(client.credential.principal.clone());
    let (master_outcome, client_outcome) = match &master.session {
        Some(session) => (session.outcome(), client.exchange.outcome()),
        None => panic!("an in-order exchange never opened a session"),
    };
    if right {
        assert_eq!(master_outcome, &Outcome::Authenticated(principal.clone()));
        assert_eq!(client_outcome, &Outcome::Authenticated(principal));
    } else {
        assert_eq!(master_outcome, &Outcome::Refused);
        assert_eq!(client_outcome, &Outcome::Refused);
    }
}

impl MasterSide {
    /// One message arrives at the master: decoded as its kind says, then routed as the
    /// master's actor routes it. Undecodable bytes and messages the master has no arm
    /// for are dropped (the actor counts and logs them).
    fn deliver(&mut self, kind: Kind, bytes: &[u8], link: &mut Link) {
        match kind {
            Kind::Authenticate => {
                if let Ok(message) = AuthenticateMessage::decode(bytes) {
                    self.on_authenticate(&message, link);
                }
            }
            Kind::Start => {
                if let Ok(start) = AuthenticationStartMessage::decode(bytes) {
                    self.on_start(&start, link);
                }
            }
            Kind::Step => {
                if let Ok(step) = AuthenticationStepMessage::decode(bytes) {
                    self.on_step(&step, link);
                }
            }
            Kind::Mechanisms | Kind::Completed | Kind::Failed | Kind::Error => {}
        }
    }

    fn on_authenticate(&mut self, message: &AuthenticateMessage, link: &mut Link) {
        // Mesos: Master::authenticate answers an unparsable pid with an error and opens
        // no session.
        if message.pid.parse::<libprocess::Pid>().is_err() {
            let error = AuthenticationErrorMessage { error: Some("Invalid pid".into()) };
            push(&mut link.to_client, Kind::Error, error.encode_to_vec());
            return;
        }
        self.sessions += 1;
        self.challenge = cram_md5::challenge(self.seed, self.sessions, "master");
        let (session, mechanisms) = Authenticator::new(self.challenge.clone());
        assert_eq!(session.outcome(), &Outcome::Pending);
        self.session = Some(session);
        self.challenged = false;
        push(&mut link.to_client, Kind::Mechanisms, mechanisms.encode_to_vec());
    }

    fn on_start(&mut self, start: &AuthenticationStartMessage, link: &mut Link) {
        let Some(session) = self.session.as_mut() else { return };
        let before = session.outcome().clone();
        let reply = session.on_start(start);
        let after = session.outcome().clone();
        check_finished_stays(&before, &after, &reply);
        if let ToAuthenticatee::Step(challenge) = &reply {
            assert!(!self.challenged, "a second challenge in one session");
            assert_eq!(challenge.data, self.challenge, "a challenge not the session's");
            assert_eq!(start.mechanism, cram_md5::MECHANISM);
            self.challenged = true;
        }
        send_verdict(reply, link);
    }

    fn on_step(&mut self, step: &AuthenticationStepMessage, link: &mut Link) {
        let Some(session) = self.session.as_mut() else { return };
        let before = session.outcome().clone();
        let reply = session.on_step(step, &self.credentials);
        let after = session.outcome().clone();
        check_finished_stays(&before, &after, &reply);
        let correct = correct_principal(&step.data, &self.challenge);
        match &reply {
            ToAuthenticatee::Completed(_) => {
                assert!(self.challenged, "completed before the challenge was sent");
                let Some(principal) = correct else {
                    panic!("completed without a correct response: {:?}", step.data)
                };
                assert_eq!(after, Outcome::Authenticated(principal));
            }
            ToAuthenticatee::Failed(_) => {
                assert!(correct.is_none(), "a correct response was refused");
                assert_eq!(after, Outcome::Refused);
            }
            ToAuthenticatee::Error(_) => assert!(!matches!(after, Outcome::Pending)),
            ToAuthenticatee::Step(_) => panic!("the master answered a response with a step"),
        }
        send_verdict(reply, link);
    }
}

/// The principal of [`CLIENTS`] for which `data` is a correct response to `challenge`,
/// computed apart from the authenticator: `principal`, a space, the digest in hex of
/// either case.
fn correct_principal(data: &[u8], challenge: &[u8]) -> Option<Principal> {
    CLIENTS.iter().filter(|(_, _, right)| *right).find_map(|(principal, secret, _)| {
        let credential = Credential { principal: (*principal).into(), secret: (*secret).into() };
        let expected = cram_md5::response(&credential, challenge);
        let name = principal.len() + 1;
        let matches = data.len() == expected.len()
            && data[..name] == expected[..name]
            && data[name..].eq_ignore_ascii_case(&expected[name..]);
        matches.then(|| Principal((*principal).into()))
    })
}

/// A finished exchange keeps its outcome, and answers anything more with an error.
fn check_finished_stays(before: &Outcome, after: &Outcome, reply: &ToAuthenticatee) {
    if *before != Outcome::Pending {
        assert_eq!(before, after, "a finished exchange changed its outcome");
        assert!(
            matches!(reply, ToAuthenticatee::Error(_)),
            "a finished exchange answered {reply:?}"
        );
    }
}

fn send_verdict(reply: ToAuthenticatee, link: &mut Link) {
    let (kind, bytes) = match reply {
        ToAuthenticatee::Step(m) => (Kind::Step, m.encode_to_vec()),
        ToAuthenticatee::Completed(m) => (Kind::Completed, m.encode_to_vec()),
        ToAuthenticatee::Failed(m) => (Kind::Failed, m.encode_to_vec()),
        ToAuthenticatee::Error(m) => (Kind::Error, m.encode_to_vec()),
    };
    push(&mut link.to_client, kind, bytes);
}

impl ClientSide {
    fn start(credential: Credential, link: &mut Link) -> Self {
        let (exchange, hello) = Authenticatee::new(credential.clone(), CLIENT_PID);
        push(&mut link.to_master, Kind::Authenticate, hello.encode_to_vec());
        Self { credential, exchange, started: false }
    }

    /// One message arrives at the client: decoded, then handed to
    /// [`Authenticatee::on_message`] as the agent and the driver do.
    fn deliver(&mut self, kind: Kind, bytes: &[u8], link: &mut Link) {
        let Some(message) = decode_for_client(kind, bytes) else { return };
        let challenge = match &message {
            AuthenticatorMessage::Step(step) => Some(step.data.clone()),
            _ => None,
        };
        let before = self.exchange.outcome().clone();
        let reply = self.exchange.on_message(message);
        let after = self.exchange.outcome().clone();
        if before != Outcome::Pending {
            assert_eq!(before, after, "a finished authenticatee changed its outcome");
            assert!(reply.is_none(), "a finished authenticatee answered {reply:?}");
        }
        if let Outcome::Authenticated(principal) = &after {
            assert_eq!(principal.0, self.credential.principal, "authenticated as someone else");
            assert!(self.started, "authenticated before starting");
        }
        match reply {
            Some(AuthenticateeReply::Start(start)) => {
                assert!(!self.started, "a second start in one exchange");
                assert_eq!(start.mechanism, cram_md5::MECHANISM);
                self.started = true;
                push(&mut link.to_master, Kind::Start, start.encode_to_vec());
            }
            Some(AuthenticateeReply::Step(step)) => {
                let Some(challenge) = challenge else { panic!("a step answered a non-step") };
                assert!(self.started, "answered a challenge before starting");
                assert_eq!(step.data, cram_md5::response(&self.credential, &challenge));
                push(&mut link.to_master, Kind::Step, step.encode_to_vec());
            }
            None => {}
        }
    }
}

/// Decodes bytes arriving at the client as the agent's and the driver's actors do; the
/// client has no arm for `Authenticate` or `Start`.
fn decode_for_client(kind: Kind, bytes: &[u8]) -> Option<AuthenticatorMessage> {
    Some(match kind {
        Kind::Mechanisms => {
            AuthenticatorMessage::Mechanisms(AuthenticationMechanismsMessage::decode(bytes).ok()?)
        }
        Kind::Step => AuthenticatorMessage::Step(AuthenticationStepMessage::decode(bytes).ok()?),
        Kind::Completed => {
            AuthenticationCompletedMessage::decode(bytes).ok()?;
            AuthenticatorMessage::Completed
        }
        Kind::Failed => {
            AuthenticationFailedMessage::decode(bytes).ok()?;
            AuthenticatorMessage::Failed
        }
        Kind::Error => AuthenticatorMessage::Error(AuthenticationErrorMessage::decode(bytes).ok()?),
        Kind::Authenticate | Kind::Start => return None,
    })
}
