//! CRAM-MD5 (RFC 2195) over libprocess messages, as Mesos's v0 authentication runs it.
//!
//! Before an agent or a scheduler driver registers with a master that requires
//! authentication, an *authenticatee* beside it proves to the master's *authenticator*
//! that it knows the secret of a principal listed in the master's `--credentials`.
//! Mesos runs Cyrus SASL's CRAM-MD5 over the `mesos.internal.Authentication*` messages;
//! this module is that exchange as two pure state machines (a message in, the message
//! to send out), with no I/O, no clock and no randomness of their own: the master and
//! the clients wrap them in their actors, add the timeouts and pick the challenge.
//!
//! ```text
//!  authenticatee                                    authenticator (master)
//!  Authenticatee::new ---- AuthenticateMessage{pid} ---->  Authenticator::new
//!                    <--- MechanismsMessage{CRAM-MD5} ----
//!  on_mechanisms ---- StartMessage{CRAM-MD5, ""} ------->  on_start
//!                <--- StepMessage{<challenge>} ----------
//!  on_step ---------- StepMessage{"principal hexdigest"} ->  on_step
//!          <--- CompletedMessage | FailedMessage | ErrorMessage
//! ```
//!
//! The digest is HMAC-MD5 keyed with the secret over the challenge, in lowercase hex
//! (RFC 2195 section 2). An unknown principal and a wrong secret are both a *refusal*
//! (`AuthenticationFailedMessage`, Cyrus's `SASL_NOUSER`/`SASL_BADAUTH`); a message out
//! of order or an unknown mechanism is an *error* (`AuthenticationErrorMessage`).
//!
//! Mesos: src/authentication/cram_md5/authenticator.cpp
//! `CRAMMD5AuthenticatorSessionProcess`, authenticatee.cpp `CRAMMD5AuthenticateeProcess`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use md5::Md5;
use mesos_proto::mesos::internal::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage,
    AuthenticationFailedMessage, AuthenticationMechanismsMessage, AuthenticationStartMessage,
    AuthenticationStepMessage,
};

use crate::{Credential, Credentials, Principal};

/// The SASL name of the mechanism, as it travels in the mechanisms and start messages.
pub const MECHANISM: &str = "CRAM-MD5";

/// The name of the authenticator and authenticatee in `--authenticators` and
/// `--authenticatee` (Mesos: `DEFAULT_AUTHENTICATOR`, `DEFAULT_AUTHENTICATEE`).
pub const MODULE_NAME: &str = "crammd5";

/// How long a master lets one v0 authentication run before discarding it (Mesos:
/// master flag `--authentication_v0_timeout`, default 15 seconds).
pub const AUTHENTICATION_V0_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest step the authenticator accepts from a client. A CRAM-MD5 response is a
/// principal, a space and 32 hex digits; anything longer is refused without hashing it.
pub const MAX_RESPONSE_BYTES: usize = 4096;

type HmacMd5 = Hmac<Md5>;

/// How an exchange ended, or that it has not yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still exchanging messages.
    Pending,
    /// The client proved it holds this principal's secret.
    Authenticated(Principal),
    /// Unknown principal or wrong secret (`AuthenticationFailedMessage`). Mesos's drivers
    /// do not retry a refusal.
    Refused,
    /// The exchange broke (`AuthenticationErrorMessage`, a message out of order); the
    /// client may retry.
    Error(String),
}

/// The RFC 2195 challenge: `<random.timestamp@hostname>`, a string the server never
/// reuses. The caller supplies the random number and the time so tests replay.
pub fn challenge(random: u64, timestamp_secs: u64, hostname: &str) -> Vec<u8> {
    format!("<{random}.{timestamp_secs}@{hostname}>").into_bytes()
}

/// The client's answer to `challenge`: `principal`, a space, and the lowercase hex
/// HMAC-MD5 of the challenge keyed with the secret (RFC 2195 section 2).
pub fn response(credential: &Credential, challenge: &[u8]) -> Vec<u8> {
    let digest = hmac_md5(credential.secret.as_bytes(), challenge);
    let mut out = Vec::with_capacity(credential.principal.len() + 1 + 32);
    out.extend_from_slice(credential.principal.as_bytes());
    out.push(b' ');
    out.extend_from_slice(hex(&digest).as_bytes());
    out
}

fn new_mac(secret: &[u8]) -> HmacMd5 {
    // HMAC takes a key of any length (longer ones are hashed first), so this
    // constructor cannot fail; `new_from_slice` only reports an error for MACs with
    // a fixed key size, which HMAC is not.
    match HmacMd5::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

fn hmac_md5(secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut mac = new_mac(secret);
    mac.update(challenge);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    text.chunks(2).map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)).collect()
}

/// What the authenticator sends the authenticatee after a message.
#[derive(Clone, Debug, PartialEq)]
pub enum ToAuthenticatee {
    /// The challenge.
    Step(AuthenticationStepMessage),
    /// Authenticated.
    Completed(AuthenticationCompletedMessage),
    /// Refused.
    Failed(AuthenticationFailedMessage),
    /// The exchange broke.
    Error(AuthenticationErrorMessage),
}

/// Where the server side of one exchange is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ServerState {
    /// Mechanisms sent; waiting for the client's start.
    Starting,
    /// Challenge sent; waiting for the client's response.
    Stepping,
    /// Finished (see [`Authenticator::outcome`]).
    Done,
}

/// The master's side of one authentication: one per authenticating peer.
///
/// Mesos: authenticator.cpp `CRAMMD5AuthenticatorSessionProcess`.
#[derive(Debug)]
pub struct Authenticator {
    state: ServerState,
    challenge: Vec<u8>,
    outcome: Outcome,
}

impl Authenticator {
    /// Opens an exchange that will send `challenge` (see [`challenge`]); returns it with
    /// the mechanisms message to send the authenticatee.
    pub fn new(challenge: Vec<u8>) -> (Self, AuthenticationMechanismsMessage) {
        let mechanisms = AuthenticationMechanismsMessage { mechanisms: vec![MECHANISM.into()] };
        (Self { state: ServerState::Starting, challenge, outcome: Outcome::Pending }, mechanisms)
    }

    /// How the exchange ended, or `Pending`.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The client chose a mechanism: answer with the challenge.
    pub fn on_start(&mut self, start: &AuthenticationStartMessage) -> ToAuthenticatee {
        if self.state != ServerState::Starting {
            return self.error("Unexpected authentication 'start' received".into());
        }
        if start.mechanism != MECHANISM {
            // Cyrus answers an unknown mechanism with SASL_NOMECH, which Mesos's
            // `handle` reports as an error.
            return self.error(format!("Unsupported mechanism '{}'", start.mechanism));
        }
        self.state = ServerState::Stepping;
        ToAuthenticatee::Step(AuthenticationStepMessage { data: self.challenge.clone() })
    }

    /// The client's response: check it against `credentials`.
    pub fn on_step(
        &mut self,
        step: &AuthenticationStepMessage,
        credentials: &Credentials,
    ) -> ToAuthenticatee {
        if self.state != ServerState::Stepping {
            return self.error("Unexpected authentication 'step' received".into());
        }
        self.state = ServerState::Done;
        match self.verify(&step.data, credentials) {
            Some(principal) => {
                self.outcome = Outcome::Authenticated(principal);
                ToAuthenticatee::Completed(AuthenticationCompletedMessage {})
            }
            None => {
                self.outcome = Outcome::Refused;
                ToAuthenticatee::Failed(AuthenticationFailedMessage {})
            }
        }
    }

    /// The principal whose secret produced `data`, if any. The response is split at its
    /// last space (a principal may contain spaces, the digest cannot).
    fn verify(&self, data: &[u8], credentials: &Credentials) -> Option<Principal> {
        if data.len() > MAX_RESPONSE_BYTES {
            return None;
        }
        let space = data.iter().rposition(|&b| b == b' ')?;
        let principal = std::str::from_utf8(&data[..space]).ok()?;
        let digest = unhex(&data[space + 1..])?;
        let secret = credentials.secret(principal)?;
        let mut mac = new_mac(secret.as_bytes());
        mac.update(&self.challenge);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&digest).ok()?;
        Some(Principal(principal.to_string()))
    }

    fn error(&mut self, error: String) -> ToAuthenticatee {
        // A finished exchange keeps its verdict: a late, replayed or forged message is
        // answered with an error but cannot turn `Authenticated` into `Error` (Mesos's
        // session sets its promise once; later messages cannot change it).
        if self.state != ServerState::Done {
            self.state = ServerState::Done;
            self.outcome = Outcome::Error(error.clone());
        }
        ToAuthenticatee::Error(AuthenticationErrorMessage { error: Some(error) })
    }
}

/// Where the client side of one exchange is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ClientState {
    /// `AuthenticateMessage` sent; waiting for the mechanisms.
    Starting,
    /// Start sent; waiting for the challenge, then for the verdict.
    Stepping,
    /// Finished (see [`Authenticatee::outcome`]).
    Done,
}

/// What the master's authenticator sends the authenticatee (an agent or a scheduler
/// driver); both hand every such message to [`Authenticatee::on_message`].
#[derive(Debug, Clone)]
pub enum AuthenticatorMessage {
    /// The mechanisms on offer.
    Mechanisms(AuthenticationMechanismsMessage),
    /// The challenge.
    Step(AuthenticationStepMessage),
    /// Authenticated.
    Completed,
    /// Refused.
    Failed,
    /// The exchange broke.
    Error(AuthenticationErrorMessage),
}

/// What the authenticatee answers within an exchange.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthenticateeReply {
    /// The chosen mechanism.
    Start(AuthenticationStartMessage),
    /// The answer to the challenge.
    Step(AuthenticationStepMessage),
}

/// The client's side of one authentication (an agent or a scheduler driver).
///
/// Mesos: authenticatee.cpp `CRAMMD5AuthenticateeProcess`.
#[derive(Debug)]
pub struct Authenticatee {
    credential: Credential,
    state: ClientState,
    outcome: Outcome,
}

impl Authenticatee {
    /// Opens an exchange for `client` (the pid to authenticate, as a string); returns
    /// it with the message to send the master.
    pub fn new(credential: Credential, client: &str) -> (Self, AuthenticateMessage) {
        let message = AuthenticateMessage { pid: client.to_string() };
        (Self { credential, state: ClientState::Starting, outcome: Outcome::Pending }, message)
    }

    /// How the exchange ended, or `Pending`.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// One message of the master's authenticator: the reply to send, if any; the
    /// exchange's [`outcome`](Self::outcome) says whether it ended.
    pub fn on_message(&mut self, message: AuthenticatorMessage) -> Option<AuthenticateeReply> {
        match message {
            AuthenticatorMessage::Mechanisms(m) => {
                self.on_mechanisms(&m).map(AuthenticateeReply::Start)
            }
            AuthenticatorMessage::Step(m) => self.on_step(&m).map(AuthenticateeReply::Step),
            AuthenticatorMessage::Completed => {
                self.on_completed();
                None
            }
            AuthenticatorMessage::Failed => {
                self.on_failed();
                None
            }
            AuthenticatorMessage::Error(m) => {
                self.on_error(&m);
                None
            }
        }
    }

    /// The master's mechanisms: pick CRAM-MD5 and start (no initial response: in
    /// CRAM-MD5 the server speaks first). `None` when the exchange is over (a message
    /// out of order, or no CRAM-MD5 on offer).
    pub fn on_mechanisms(
        &mut self,
        mechanisms: &AuthenticationMechanismsMessage,
    ) -> Option<AuthenticationStartMessage> {
        if self.state != ClientState::Starting {
            return self.error("Unexpected authentication 'mechanisms' received");
        }
        if !mechanisms.mechanisms.iter().any(|m| m == MECHANISM) {
            return self.error("The master offers no CRAM-MD5 authentication");
        }
        self.state = ClientState::Stepping;
        Some(AuthenticationStartMessage { mechanism: MECHANISM.into(), data: Some(Vec::new()) })
    }

    /// The challenge: answer it.
    pub fn on_step(
        &mut self,
        step: &AuthenticationStepMessage,
    ) -> Option<AuthenticationStepMessage> {
        if self.state != ClientState::Stepping {
            return self.error("Unexpected authentication 'step' received");
        }
        Some(AuthenticationStepMessage { data: response(&self.credential, &step.data) })
    }

    /// The master accepted the credential.
    pub fn on_completed(&mut self) {
        if self.state != ClientState::Stepping {
            self.error::<()>("Unexpected authentication 'completed' received");
            return;
        }
        self.finish(Outcome::Authenticated(Principal(self.credential.principal.clone())));
    }

    /// The master refused the credential.
    pub fn on_failed(&mut self) {
        self.finish(Outcome::Refused);
    }

    /// The master reported an error.
    pub fn on_error(&mut self, error: &AuthenticationErrorMessage) {
        let error = format!("Authentication error: {}", error.error.as_deref().unwrap_or(""));
        self.finish(Outcome::Error(error));
    }

    fn error<T>(&mut self, error: &str) -> Option<T> {
        self.finish(Outcome::Error(error.to_string()));
        None
    }

    /// Ends the exchange with `outcome`, unless it has already ended: the first verdict
    /// stands (Mesos's authenticatee sets its promise once), so a late or forged
    /// `Failed` or `Error` cannot undo an `Authenticated`, nor the reverse.
    fn finish(&mut self, outcome: Outcome) {
        if self.state != ClientState::Done {
            self.state = ClientState::Done;
            self.outcome = outcome;
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    const RFC_CHALLENGE: &[u8] = b"<1896.697170952@postoffice.reston.mci.net>";

    fn tim() -> Credential {
        Credential { principal: "tim".into(), secret: "tanstaaftanstaaf".into() }
    }

    fn credentials() -> Credentials {
        Credentials::parse("tim tanstaaftanstaaf\nops s3cret\n").unwrap()
    }

    /// RFC 2195 section 2's worked example, byte for byte.
    #[test]
    fn response_matches_rfc_2195_example() {
        assert_eq!(
            response(&tim(), RFC_CHALLENGE),
            b"tim b913a602c7eda7a495b4e6e7334d3890".to_vec()
        );
    }

    /// The challenge has RFC 2195's `<random.timestamp@host>` shape.
    #[test]
    fn challenge_has_rfc_shape() {
        assert_eq!(challenge(1896, 697170952, "postoffice.reston.mci.net"), RFC_CHALLENGE.to_vec());
    }

    /// A whole exchange, each message through its protobuf encoding, with the bytes on
    /// the wire checked against Mesos's field numbers.
    #[test]
    fn full_exchange_authenticates_with_wire_bytes() {
        let (mut client, authenticate) = Authenticatee::new(tim(), "scheduler(1)@10.0.0.1:4000");
        let bytes = authenticate.encode_to_vec();
        // field 1 (pid), length-delimited.
        assert_eq!(&bytes[..2], &[0x0a, 26]);
        assert_eq!(
            AuthenticateMessage::decode(&bytes[..]).unwrap().pid,
            "scheduler(1)@10.0.0.1:4000"
        );

        let (mut server, mechanisms) = Authenticator::new(RFC_CHALLENGE.to_vec());
        let bytes = mechanisms.encode_to_vec();
        assert_eq!(bytes, [&[0x0a, 8][..], b"CRAM-MD5"].concat());

        let start = client
            .on_mechanisms(&AuthenticationMechanismsMessage::decode(&bytes[..]).unwrap())
            .unwrap();
        let bytes = start.encode_to_vec();
        // mechanism (field 1) then an empty data (field 2), as Mesos's set_data(nullptr, 0).
        assert_eq!(bytes, [&[0x0a, 8][..], b"CRAM-MD5", &[0x12, 0]].concat());

        let ToAuthenticatee::Step(challenge) =
            server.on_start(&AuthenticationStartMessage::decode(&bytes[..]).unwrap())
        else {
            panic!("expected the challenge");
        };
        let bytes = challenge.encode_to_vec();
        assert_eq!(bytes, [&[0x0a, RFC_CHALLENGE.len() as u8][..], RFC_CHALLENGE].concat());

        let answer =
            client.on_step(&AuthenticationStepMessage::decode(&bytes[..]).unwrap()).unwrap();
        let bytes = answer.encode_to_vec();
        assert_eq!(bytes, [&[0x0a, 36][..], b"tim b913a602c7eda7a495b4e6e7334d3890"].concat());

        let verdict =
            server.on_step(&AuthenticationStepMessage::decode(&bytes[..]).unwrap(), &credentials());
        assert_eq!(verdict, ToAuthenticatee::Completed(AuthenticationCompletedMessage {}));
        assert!(AuthenticationCompletedMessage {}.encode_to_vec().is_empty());
        assert_eq!(server.outcome(), &Outcome::Authenticated(Principal("tim".into())));
        client.on_completed();
        assert_eq!(client.outcome(), &Outcome::Authenticated(Principal("tim".into())));
    }

    fn run(credential: Credential) -> (ToAuthenticatee, Outcome) {
        let (mut client, _) = Authenticatee::new(credential, "slave(1)@10.0.0.2:5051");
        let (mut server, mechanisms) = Authenticator::new(challenge(7, 1, "master"));
        let start = client.on_mechanisms(&mechanisms).unwrap();
        let ToAuthenticatee::Step(step) = server.on_start(&start) else { panic!("no challenge") };
        let answer = client.on_step(&step).unwrap();
        let verdict = server.on_step(&answer, &credentials());
        (verdict, server.outcome().clone())
    }

    /// Mesos: CRAMMD5Authentication.Failed1 — a wrong secret is refused.
    #[test]
    fn wrong_secret_is_refused() {
        let (verdict, outcome) =
            run(Credential { principal: "ops".into(), secret: "guess".into() });
        assert_eq!(verdict, ToAuthenticatee::Failed(AuthenticationFailedMessage {}));
        assert_eq!(outcome, Outcome::Refused);
    }

    /// Mesos: CRAMMD5Authentication.Failed2 — an unknown principal is refused.
    #[test]
    fn unknown_principal_is_refused() {
        let (verdict, outcome) =
            run(Credential { principal: "eve".into(), secret: "s3cret".into() });
        assert_eq!(verdict, ToAuthenticatee::Failed(AuthenticationFailedMessage {}));
        assert_eq!(outcome, Outcome::Refused);
    }

    /// The right secret for another principal of the list is accepted as that one.
    #[test]
    fn second_principal_is_accepted() {
        let (_, outcome) = run(Credential { principal: "ops".into(), secret: "s3cret".into() });
        assert_eq!(outcome, Outcome::Authenticated(Principal("ops".into())));
    }

    /// Garbage responses (no space, odd hex, non-hex, huge) are refusals, never panics.
    #[test]
    fn malformed_responses_are_refused() {
        for data in [&b""[..], b"tim", b"tim abc", b"tim zz", b"\xff\xfe 00", &[b'a'; 10_000]] {
            let (mut server, _) = Authenticator::new(RFC_CHALLENGE.to_vec());
            server
                .on_start(&AuthenticationStartMessage { mechanism: MECHANISM.into(), data: None });
            let verdict =
                server.on_step(&AuthenticationStepMessage { data: data.to_vec() }, &credentials());
            assert_eq!(verdict, ToAuthenticatee::Failed(AuthenticationFailedMessage {}));
        }
    }

    /// A finished exchange keeps its first verdict: a late or forged message cannot turn
    /// an authenticated client into a refused one, nor the master's verdict into an
    /// error (found by the fuzz body's seeds; Mesos sets each side's promise once).
    #[test]
    fn verdicts_are_final() {
        let tim_ok = Outcome::Authenticated(Principal("tim".into()));
        let (mut client, _) = Authenticatee::new(tim(), "x@1.2.3.4:5");
        let (mut server, mechanisms) = Authenticator::new(RFC_CHALLENGE.to_vec());
        let start = client.on_mechanisms(&mechanisms).unwrap();
        let ToAuthenticatee::Step(step) = server.on_start(&start) else { panic!("no challenge") };
        let answer = client.on_step(&step).unwrap();
        server.on_step(&answer, &credentials());
        client.on_completed();
        client.on_failed();
        client.on_error(&AuthenticationErrorMessage { error: None });
        assert!(client.on_mechanisms(&mechanisms).is_none());
        assert!(client.on_step(&step).is_none());
        assert_eq!(client.outcome(), &tim_ok);
        assert!(matches!(server.on_start(&start), ToAuthenticatee::Error(_)));
        assert!(matches!(server.on_step(&answer, &credentials()), ToAuthenticatee::Error(_)));
        assert_eq!(server.outcome(), &tim_ok);

        let (mut client, _) = Authenticatee::new(tim(), "x@1.2.3.4:5");
        client.on_mechanisms(&mechanisms).unwrap();
        client.on_failed();
        client.on_completed();
        assert_eq!(client.outcome(), &Outcome::Refused);
    }

    /// Messages out of order and unknown mechanisms are errors, as in Mesos.
    #[test]
    fn out_of_order_is_an_error() {
        let (mut server, _) = Authenticator::new(RFC_CHALLENGE.to_vec());
        let step = AuthenticationStepMessage { data: b"tim 00".to_vec() };
        assert!(matches!(server.on_step(&step, &credentials()), ToAuthenticatee::Error(_)));

        let (mut server, _) = Authenticator::new(RFC_CHALLENGE.to_vec());
        let start = AuthenticationStartMessage { mechanism: "PLAIN".into(), data: None };
        assert!(matches!(server.on_start(&start), ToAuthenticatee::Error(_)));

        let (mut client, _) = Authenticatee::new(tim(), "x@1.2.3.4:5");
        assert!(client.on_step(&AuthenticationStepMessage { data: vec![] }).is_none());
        assert!(matches!(client.outcome(), Outcome::Error(_)));
        let (mut client, _) = Authenticatee::new(tim(), "x@1.2.3.4:5");
        let none = AuthenticationMechanismsMessage { mechanisms: vec!["PLAIN".into()] };
        assert!(client.on_mechanisms(&none).is_none());
    }
}
