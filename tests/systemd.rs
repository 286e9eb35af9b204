//! The `systemd` feature against a real notify socket: the test binds a Unix datagram
//! socket, starts a fixture with `NOTIFY_SOCKET` and `WATCHDOG_USEC` pointing at it, and
//! reads what the service sends.
#![cfg(all(unix, feature = "systemd"))]

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bounds every wait: generous, for a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(30);

struct Service {
    child: Child,
    socket: UnixDatagram,
    path: PathBuf,
    started: Instant,
}

impl Service {
    fn start(mode: &str) -> Service {
        let path = std::env::temp_dir().join(format!("rutina-notify-{}-{mode}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        let child = Command::new(rutina_tests::fixture_path("fixture_systemd"))
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", "200000")
            .env("FIXTURE_MODE", mode)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the fixture");
        Service { child, socket, path, started: Instant::now() }
    }

    /// The next message, or `None` after `within`.
    fn next(&self, within: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(within.max(Duration::from_millis(1)))).unwrap();
        let mut buf = [0u8; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).trim_end().to_owned()),
            Err(_) => None,
        }
    }

    /// Reads messages until one equals `wanted`; returns those read before it.
    fn expect(&self, wanted: &str) -> Vec<String> {
        self.expect_where(wanted, |message| message == wanted).1
    }

    /// Reads messages until one that `matches` (described by `what`); returns it and
    /// those read before it.
    fn expect_where(&self, what: &str, matches: impl Fn(&str) -> bool) -> (String, Vec<String>) {
        let deadline = Instant::now() + PATIENCE;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(message) if matches(&message) => return (message, before),
                Some(message) => before.push(message),
                None => panic!("no {what} within {PATIENCE:?}; got {before:?}"),
            }
        }
    }

    fn signal(&self, signal: &str) {
        rutina_tests::send_signal(self.child.id(), signal);
    }

    /// Everything received during `period`.
    fn collect(&self, period: Duration) -> Vec<String> {
        let end = Instant::now() + period;
        let mut messages = Vec::new();
        while let Some(message) = self.next(end.saturating_duration_since(Instant::now())) {
            messages.push(message);
            if Instant::now() >= end {
                break;
            }
        }
        messages
    }

    fn terminate(&mut self) -> i32 {
        self.signal("TERM");
        self.terminate_wait()
    }

    /// Waits for the exit after a SIGTERM; its status.
    fn terminate_wait(&mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited, not killed");
            }
            assert!(Instant::now() < deadline, "the service did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn ready_after_the_gate_watchdog_pings_then_stopping_and_extend_on_sigterm() {
    let mut service = Service::start("gate");
    let before_ready = service.expect("READY=1");
    assert!(service.started.elapsed() >= Duration::from_millis(300), "READY=1 only after the gate is ready");
    assert!(before_ready.iter().all(|m| m == "WATCHDOG=1"), "{before_ready:?}");
    // Pings at half of WATCHDOG_USEC (200 ms): about 10 in a second.
    let pings = service.collect(Duration::from_secs(1)).iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!((4..=15).contains(&pings), "{pings} watchdog pings in a second");
    let code = service.terminate();
    let messages = service.collect(Duration::from_millis(200));
    assert_eq!(code, 0);
    let stopping = messages.iter().position(|m| m == "STOPPING=1").expect("STOPPING=1");
    let extend = messages.iter().position(|m| m == "EXTEND_TIMEOUT_USEC=10000000").expect("EXTEND_TIMEOUT_USEC");
    assert!(stopping < extend, "{messages:?}");
}

#[test]
fn no_watchdog_pings_while_a_routine_is_crash_looping() {
    let service = Service::start("crash");
    service.expect("READY=1");
    // The default backoff: failures at ~0, 10, 30, 70 ms…: crash-looping from the third.
    std::thread::sleep(Duration::from_millis(300));
    let _ = service.collect(Duration::from_millis(50));
    let messages = service.collect(Duration::from_secs(1));
    assert!(!messages.iter().any(|m| m == "WATCHDOG=1"), "{messages:?}");
}

#[test]
fn sighup_sends_reloading_with_monotonic_usec_then_ready_once_the_reloaded_gate_is_ready() {
    let mut service = Service::start("reload");
    service.expect("READY=1");
    for _ in 0..2 {
        let sent = Instant::now();
        service.signal("HUP");
        let (reloading, _) = service.expect_where("RELOADING=1", |m| m.lines().any(|line| line == "RELOADING=1"));
        let usec = reloading
            .lines()
            .find_map(|line| line.strip_prefix("MONOTONIC_USEC="))
            .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {reloading:?}"));
        assert!(usec.parse::<u64>().is_ok_and(|usec| usec > 0), "{reloading:?}");
        let between = service.expect("READY=1");
        assert!(sent.elapsed() >= Duration::from_millis(300), "READY=1 only once the reloaded gate is ready again");
        assert!(between.iter().all(|m| m == "WATCHDOG=1"), "{between:?}");
    }
    assert_eq!(service.terminate(), 0);
}

#[test]
fn with_a_lame_duck_delay_stopping_is_sent_at_once_and_the_contexts_are_cancelled_after_the_delay() {
    let mut service = Service::start("delay");
    service.expect("READY=1");
    let sent = Instant::now();
    service.signal("TERM");
    let before = service.expect("STOPPING=1");
    assert!(!before.iter().any(|m| m == "X_FIXTURE=cancelled"), "{before:?}");
    service.expect("X_FIXTURE=cancelled");
    assert!(sent.elapsed() >= Duration::from_secs(1), "the contexts were cancelled before the delay was over");
    assert_eq!(service.terminate_wait(), 0);
}
