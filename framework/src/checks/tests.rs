//! Transcripts of the pure checker on a paused libprocess clock: a small shell in the
//! test plays the executor (it keeps the timers the checker asks for and fires them as
//! the clock advances), the test plays the probes.

use std::time::Duration;

use libprocess::{Clock, Time};
use mesos_proto::mesos::{
    CheckInfo, CheckStatusInfo, CommandInfo, HealthCheck, check_info, check_status_info,
    health_check,
};

use super::*;

/// What the shell saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// A probe started at this many seconds after the start.
    Ran(f64),
    Health {
        healthy: bool,
        failures: u32,
        kill: bool,
    },
    Status(CheckStatusInfo),
}

/// The executor's side: timers on a paused clock, one probe at a time.
struct Shell {
    clock: Clock,
    start: Time,
    checker: Checker,
    /// (due, attempt, is a timeout)
    timers: Vec<(Time, u64, bool)>,
    running: Option<u64>,
    seen: Vec<Seen>,
}

impl Shell {
    fn new(make: impl FnOnce(Time) -> Checker) -> Shell {
        let clock = Clock::paused();
        let start = clock.now();
        let checker = make(start);
        let mut shell =
            Shell { clock, start, checker, timers: Vec::new(), running: None, seen: Vec::new() };
        let outputs = shell.checker.start();
        shell.perform(outputs);
        shell
    }

    fn perform(&mut self, outputs: Vec<CheckerOutput>) {
        let now = self.clock.now();
        for output in outputs {
            match output {
                CheckerOutput::ScheduleCheck { after, attempt } => {
                    self.timers.push((now + after, attempt, false));
                }
                CheckerOutput::Run { attempt, timeout, .. } => {
                    self.running = Some(attempt);
                    if let Some(timeout) = timeout {
                        self.timers.push((now + timeout, attempt, true));
                    }
                    self.seen.push(Seen::Ran(now.saturating_since(self.start).as_secs_f64()));
                }
                CheckerOutput::Health(r) => self.seen.push(Seen::Health {
                    healthy: r.healthy,
                    failures: r.consecutive_failures,
                    kill: r.kill_task,
                }),
                CheckerOutput::CheckStatus(status) => self.seen.push(Seen::Status(status)),
            }
        }
    }

    /// Advances the clock by `secs`, firing due timers in order.
    fn advance(&mut self, secs: f64) {
        let until = self.clock.now() + Duration::from_secs_f64(secs);
        loop {
            self.timers.sort_by_key(|t| t.0);
            let Some(&(due, attempt, timeout)) = self.timers.first().filter(|t| t.0 <= until)
            else {
                break;
            };
            self.timers.remove(0);
            self.clock.advance(due.saturating_since(self.clock.now()));
            let outputs = if timeout {
                self.checker.on_timeout(self.clock.now(), attempt)
            } else {
                self.checker.on_check_timer(attempt)
            };
            self.perform(outputs);
        }
        self.clock.advance(until.saturating_since(self.clock.now()));
    }

    /// The running probe ends with `result`.
    fn finish(&mut self, result: ProbeResult) {
        let attempt = self.running.take().expect("a probe runs");
        let outputs = self.checker.on_result(self.clock.now(), attempt, result);
        self.perform(outputs);
    }

    fn take(&mut self) -> Vec<Seen> {
        std::mem::take(&mut self.seen)
    }
}

fn http_health(tune: impl FnOnce(&mut HealthCheck)) -> impl FnOnce(Time) -> Checker {
    let mut check = HealthCheck {
        r#type: Some(health_check::Type::Http as i32),
        http: Some(health_check::HttpCheckInfo { port: 8080, ..Default::default() }),
        ..Default::default()
    };
    tune(&mut check);
    move |now| Checker::health(&check, now).expect("valid health check")
}

fn ok() -> ProbeResult {
    ProbeResult::Http { status_code: 200 }
}

fn failing() -> ProbeResult {
    ProbeResult::Http { status_code: 500 }
}

fn unhealthy(failures: u32, kill: bool) -> Seen {
    Seen::Health { healthy: false, failures, kill }
}

const HEALTHY: Seen = Seen::Health { healthy: true, failures: 0, kill: false };

/// Mesos's defaults (mesos.proto): the first probe after 15 s, each next 10 s after
/// the previous ended, each bounded by 20 s; the 3rd failure in a row kills; failures
/// in the first 10 s do not count.
#[test]
fn health_check_defaults_are_mesos_defaults() {
    let mut shell = Shell::new(http_health(|_| {}));
    shell.advance(14.9);
    assert_eq!(shell.take(), vec![]);
    shell.advance(0.1);
    assert_eq!(shell.take(), vec![Seen::Ran(15.0)]);
    shell.advance(19.9);
    assert_eq!(shell.take(), vec![], "within the 20 s timeout");
    shell.advance(0.1);
    // Timed out at 35 s: past the 10 s grace period, so it counts.
    assert_eq!(shell.take(), vec![unhealthy(1, false)]);
    shell.advance(10.0);
    assert_eq!(shell.take(), vec![Seen::Ran(45.0)]);
    shell.finish(failing());
    shell.advance(10.0);
    shell.finish(failing());
    assert_eq!(shell.take(), vec![unhealthy(2, false), Seen::Ran(55.0), unhealthy(3, true)]);
}

/// `HealthCheckTest.HealthStatusChange`-like: healthy is reported on the first success
/// and on the first success after failures, not on every success; a success resets
/// the count of failures.
#[test]
fn healthy_reported_on_first_success_and_after_failures() {
    let mut shell = Shell::new(http_health(|c| {
        c.delay_seconds = Some(0.0);
        c.interval_seconds = Some(1.0);
        c.grace_period_seconds = Some(0.0);
    }));
    let mut states = Vec::new();
    for result in [ok(), ok(), failing(), failing(), ok(), ok(), failing()] {
        shell.advance(1.0);
        shell.finish(result);
        states.extend(shell.take().into_iter().filter(|s| !matches!(s, Seen::Ran(_))));
    }
    assert_eq!(
        states,
        vec![HEALTHY, unhealthy(1, false), unhealthy(2, false), HEALTHY, unhealthy(1, false)]
    );
}

/// A skipped probe (the agent running a nested check could not take it) is no result:
/// it neither breaks a run of failures nor adds to it, so three failures with skips
/// between them still kill at the third, and a general check reports nothing for it;
/// the next probe comes at the usual interval.
#[test]
fn skipped_probes_are_no_result() {
    let mut shell = Shell::new(http_health(|c| {
        c.delay_seconds = Some(0.0);
        c.interval_seconds = Some(1.0);
        c.grace_period_seconds = Some(0.0);
        c.consecutive_failures = Some(3);
    }));
    let skipped = || ProbeResult::Skipped("the agent answered 503".into());
    let mut states = Vec::new();
    let mut probes = 0;
    for result in [ok(), failing(), skipped(), failing(), skipped(), skipped(), failing()] {
        shell.advance(1.0);
        shell.finish(result);
        for seen in shell.take() {
            match seen {
                Seen::Ran(_) => probes += 1,
                other => states.push(other),
            }
        }
    }
    assert_eq!(probes, 7, "every skipped probe is followed by the next one");
    assert_eq!(states, vec![HEALTHY, unhealthy(1, false), unhealthy(2, false), unhealthy(3, true)]);

    let mut shell = Shell::new(command_check);
    let mut statuses = Vec::new();
    for result in [ProbeResult::Command { exit_code: 1 }, skipped(), skipped()] {
        shell.advance(1.0);
        shell.finish(result);
        statuses.extend(shell.take().into_iter().filter(|s| !matches!(s, Seen::Ran(_))));
    }
    assert_eq!(statuses, vec![exit_status(1)]);
}

/// `HealthCheckTest.HealthyTaskViaHTTPWithoutType`'s sibling, the grace period:
/// failures before the first success are ignored while within `grace_period_seconds`
/// of the launch, counted after it; after a first success, failures count at once.
#[test]
fn grace_period_ignores_failures_until_first_success() {
    let mut shell = Shell::new(http_health(|c| {
        c.delay_seconds = Some(0.0);
        c.interval_seconds = Some(2.0);
        c.grace_period_seconds = Some(5.0);
        c.consecutive_failures = Some(2);
    }));
    // Probes at 0, 2, 4 fail within the grace period: nothing is reported.
    for _ in 0..3 {
        shell.advance(0.0);
        shell.finish(failing());
        shell.advance(2.0);
    }
    assert!(shell.take().iter().all(|s| matches!(s, Seen::Ran(_))));
    // At 6 s the grace period is over: failures count, and the 2nd kills.
    shell.finish(failing());
    shell.advance(2.0);
    shell.finish(failing());
    let reports: Vec<Seen> =
        shell.take().into_iter().filter(|s| !matches!(s, Seen::Ran(_))).collect();
    assert_eq!(reports, vec![unhealthy(1, false), unhealthy(2, true)]);

    // A success within the grace period ends it: the next failure counts.
    let mut shell = Shell::new(http_health(|c| {
        c.delay_seconds = Some(0.0);
        c.interval_seconds = Some(1.0);
        c.grace_period_seconds = Some(60.0);
    }));
    shell.advance(0.0);
    shell.finish(ok());
    shell.advance(1.0);
    shell.finish(failing());
    assert_eq!(shell.take(), vec![Seen::Ran(0.0), HEALTHY, Seen::Ran(1.0), unhealthy(1, false)]);
}

/// The interval runs from the end of one probe to the start of the next (Mesos:
/// checker_process.cpp schedules the next check when a result is processed), and a
/// probe's result after its timeout is ignored: the timeout already counted.
#[test]
fn interval_and_timeout() {
    let mut shell = Shell::new(http_health(|c| {
        c.delay_seconds = Some(1.0);
        c.interval_seconds = Some(3.0);
        c.timeout_seconds = Some(2.0);
        c.grace_period_seconds = Some(0.0);
    }));
    shell.advance(1.5);
    shell.finish(ok()); // ended at 1.5 s: next at 4.5 s
    shell.advance(3.0);
    assert_eq!(shell.take(), vec![Seen::Ran(1.0), HEALTHY, Seen::Ran(4.5)]);
    shell.advance(2.0); // times out at 6.5 s
    assert_eq!(shell.take(), vec![unhealthy(1, false)]);
    // The late result of that probe is ignored.
    let late = shell.checker.on_result(shell.clock.now(), 2, ok());
    assert_eq!(late, vec![]);
    shell.advance(3.0);
    assert_eq!(shell.take(), vec![Seen::Ran(9.5)]);
    // No timeout when timeout_seconds is 0.
    let mut shell = Shell::new(http_health(|c| {
        c.delay_seconds = Some(0.0);
        c.timeout_seconds = Some(0.0);
    }));
    shell.advance(3600.0);
    assert_eq!(shell.take(), vec![Seen::Ran(0.0)]);
}

/// Once paused (the task is being killed), nothing is run or reported.
#[test]
fn paused_checker_is_silent() {
    let mut shell = Shell::new(http_health(|c| c.delay_seconds = Some(0.0)));
    shell.advance(0.0);
    shell.checker.pause();
    shell.finish(ok());
    shell.advance(100.0);
    assert_eq!(shell.take(), vec![Seen::Ran(0.0)]);
}

fn command_check(now: Time) -> Checker {
    let _ = now;
    let check = CheckInfo {
        r#type: Some(check_info::Type::Command as i32),
        command: Some(check_info::Command {
            command: CommandInfo { value: Some("exit 3".into()), ..Default::default() },
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(1.0),
        ..Default::default()
    };
    Checker::general(&check).expect("valid check")
}

fn exit_status(code: i32) -> Seen {
    Seen::Status(CheckStatusInfo {
        r#type: Some(check_info::Type::Command as i32),
        command: Some(check_status_info::Command { exit_code: Some(code) }),
        ..Default::default()
    })
}

/// `CheckTest.CommandCheckStatusChange`-like: a general check reports its result only
/// when it changes; a probe that cannot be carried out reports the empty status.
#[test]
fn check_status_only_on_change() {
    let mut shell = Shell::new(command_check);
    let mut statuses = Vec::new();
    let results = [
        ProbeResult::Command { exit_code: 1 },
        ProbeResult::Command { exit_code: 1 },
        ProbeResult::Command { exit_code: 0 },
        ProbeResult::Error("timed out".into()),
        ProbeResult::Error("timed out".into()),
        ProbeResult::Command { exit_code: 0 },
    ];
    for result in results {
        shell.advance(1.0);
        shell.finish(result);
        statuses.extend(shell.take().into_iter().filter(|s| !matches!(s, Seen::Ran(_))));
    }
    let empty = Seen::Status(empty_check_status(check_info::Type::Command));
    assert_eq!(statuses, vec![exit_status(1), exit_status(0), empty, exit_status(0)]);
}

/// Invalid checks are refused with Mesos's reasons (common/validation.cpp); an IPv6
/// check probes `::1`.
#[test]
fn invalid_checks_are_refused() {
    let now = Time::default();
    let unknown = HealthCheck::default();
    assert!(Checker::health(&unknown, now).is_err());
    let bad_path = HealthCheck {
        r#type: Some(health_check::Type::Http as i32),
        http: Some(health_check::HttpCheckInfo {
            port: 80,
            path: Some("health".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let error = Checker::health(&bad_path, now).unwrap_err().to_string();
    assert!(error.contains("must start with '/'"), "{error}");
    let negative = HealthCheck {
        r#type: Some(health_check::Type::Tcp as i32),
        tcp: Some(health_check::TcpCheckInfo { port: 80, ..Default::default() }),
        delay_seconds: Some(-1.0),
        ..Default::default()
    };
    let error = Checker::health(&negative, now).unwrap_err().to_string();
    assert!(error.contains("delay_seconds"), "{error}");
    let ipv6 = HealthCheck {
        r#type: Some(health_check::Type::Tcp as i32),
        tcp: Some(health_check::TcpCheckInfo {
            port: 80,
            protocol: Some(mesos_proto::mesos::network_info::Protocol::IPv6 as i32),
        }),
        ..Default::default()
    };
    let checker = Checker::health(&ipv6, now).expect("valid");
    assert_eq!(checker.probe(), &Probe::Tcp { address: "[::1]:80".parse().unwrap() });
    let no_command =
        CheckInfo { r#type: Some(check_info::Type::Command as i32), ..Default::default() };
    assert!(Checker::general(&no_command).is_err());
}

/// The OS prober against real things on loopback: a TCP listener, a closed port, an
/// HTTP server answering 200 then 503, a command's exit code in its sandbox and env,
/// and a command timing out.
#[test]
fn os_prober_probes() {
    use std::io::{Read, Write};
    use std::sync::mpsc;

    fn probe_once(probe: Probe, timeout: Option<Duration>, context: &ProbeContext) -> ProbeResult {
        let (tx, rx) = mpsc::channel();
        OsProber.run(&probe, timeout, context, Box::new(move |r| tx.send(r).unwrap()));
        rx.recv_timeout(Duration::from_secs(30)).expect("probe result")
    }

    let context = ProbeContext::default();
    // A listener accepts connections into its backlog without calling accept.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let tcp = probe_once(Probe::Tcp { address }, Some(Duration::from_secs(5)), &context);
    assert_eq!(tcp, ProbeResult::Tcp { succeeded: true });
    drop(listener);
    let refused = probe_once(Probe::Tcp { address }, Some(Duration::from_secs(5)), &context);
    assert_eq!(refused, ProbeResult::Tcp { succeeded: false });

    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = server.local_addr().unwrap();
    let serving = std::thread::spawn(move || {
        for status in ["200 OK", "503 Service Unavailable"] {
            let (mut stream, _) = server.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let reply =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            stream.write_all(reply.as_bytes()).unwrap();
        }
    });
    let http = Probe::Http { scheme: "http".into(), address, path: "/health".into() };
    let first = probe_once(http.clone(), Some(Duration::from_secs(5)), &context);
    let second = probe_once(http.clone(), Some(Duration::from_secs(5)), &context);
    serving.join().unwrap();
    assert_eq!(first, ProbeResult::Http { status_code: 200 });
    assert_eq!(second, ProbeResult::Http { status_code: 503 });
    let gone = probe_once(http, Some(Duration::from_secs(5)), &context);
    assert!(matches!(gone, ProbeResult::Error(_)), "{gone:?}");

    let sandbox = tempfile::tempdir().unwrap();
    std::fs::write(sandbox.path().join("marker"), "").unwrap();
    let context = ProbeContext {
        sandbox: sandbox.path().to_path_buf(),
        env: vec![("CHECK_CODE".into(), "7".into())],
    };
    let command = |value: &str| {
        Probe::Command(CommandInfo { value: Some(value.into()), ..Default::default() })
    };
    let exit = probe_once(command("test -f marker && exit $CHECK_CODE"), None, &context);
    assert_eq!(exit, ProbeResult::Command { exit_code: 7 });
    let slow = probe_once(command("exec sleep 600"), Some(Duration::from_millis(200)), &context);
    assert!(matches!(&slow, ProbeResult::Error(e) if e.contains("timed out")), "{slow:?}");
}
