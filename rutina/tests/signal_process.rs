//! Real SIGTERM and SIGINT sent to a `rutina::main!` child process while its routines
//! back off (an hour-long backoff) and restart (a tight loop): the first signal ends
//! the backoff and the loop at once and the server drains (exit 0); a second one during
//! a long drain aborts it (exit 130, the stuck routine named on stderr).
//!
//! The program is the `fixture_restarting` example (`tests/signal_fixtures/`), which
//! `cargo test` builds along with this test. `tests/main_process.rs` has the other
//! exits of `main!`. Only lines the child prints are waited for; timeouts only bound a
//! hang, and are far below the hour a missed signal would cost.
#![cfg(all(unix, feature = "macros"))]

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(60);

/// A running fixture, killed when dropped.
struct Program {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Program {
    fn start(slow_drain: bool) -> Program {
        let exe = std::env::current_exe().expect("the test knows its path");
        let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
        let path = profile.join("examples").join(format!("fixture_restarting{}", std::env::consts::EXE_SUFFIX));
        assert!(path.exists(), "{} is built by `cargo test -p rutina`", path.display());
        let mut command = Command::new(&path);
        if slow_drain {
            command.env("FIXTURE_SLOW_DRAIN", "1");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Program { child, lines, seen: Vec::new(), stderr: Some(stderr) }
    }

    fn expect_line(&mut self, line: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.seen.iter().any(|seen| seen == line) {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(seen) => self.seen.push(seen),
                Err(_) => panic!("no {line:?}; stdout so far: {:?}", self.seen),
            }
        }
    }

    /// Waits until the routines are serving, backing off and looping.
    fn expect_busy(&mut self) {
        self.expect_line("server ready");
        self.expect_line("flaky run 1");
        self.expect_line("looping restarted 100 times");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status =
            Command::new("sh").args(["-c", "kill -s \"$0\" \"$1\"", signal, &pid]).status().expect("`sh` runs");
        assert!(status.success(), "kill -s {signal} {pid}: {status}");
    }

    /// Waits for the exit; returns its code, all of stdout and all of stderr.
    fn exit(mut self) -> (i32, Vec<String>, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "the program did not exit; stdout: {:?}", self.seen);
            thread::sleep(Duration::from_millis(20));
        };
        let stderr = self.stderr.take().and_then(|reader| reader.join().ok()).unwrap_or_default();
        // The reader ends at the end of the pipe.
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.seen.push(line);
        }
        let code = status.code().unwrap_or_else(|| panic!("killed by a signal ({status}); stderr: {stderr}"));
        (code, std::mem::take(&mut self.seen), stderr)
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn graceful(signal: &str) {
    let mut program = Program::start(false);
    program.expect_busy();
    let sent = Instant::now();
    program.signal(signal);
    let (code, stdout, stderr) = program.exit();
    assert_eq!(code, 0, "{signal}: stderr: {stderr}");
    assert!(stdout.iter().any(|line| line == "server drained"), "{signal}: the server drained: {stdout:?}");
    assert!(!stdout.iter().any(|line| line == "flaky run 2"), "{signal}: nothing restarts: {stdout:?}");
    assert!(stderr.is_empty(), "{signal}: a signal is not an error: {stderr}");
    // The hour-long backoff did not hold the exit up.
    assert!(sent.elapsed() < PATIENCE);
}

#[test]
fn sigterm_during_a_backoff_and_a_restart_loop_drains_and_exits_0() {
    graceful("TERM");
}

#[test]
fn sigint_during_a_backoff_and_a_restart_loop_drains_and_exits_0() {
    graceful("INT");
}

#[test]
fn a_second_sigterm_during_a_long_drain_aborts_it_and_exits_130() {
    let mut program = Program::start(true);
    program.expect_busy();
    program.signal("TERM");
    program.expect_line("server draining slowly");
    program.signal("TERM");
    let (code, stdout, stderr) = program.exit();
    assert_eq!(code, 130, "stderr: {stderr}");
    assert!(!stdout.iter().any(|line| line == "server drained"), "aborted, not drained: {stdout:?}");
    // The others stop at once on the first signal, but "at once" is a race with the
    // second one on a loaded machine: only the server is sure to be named.
    assert!(stderr.contains("`server`"), "the aborted routine is named: {stderr}");
}

#[test]
fn a_sigint_then_a_sigterm_during_a_long_drain_also_aborts() {
    let mut program = Program::start(true);
    program.expect_busy();
    program.signal("INT");
    program.expect_line("server draining slowly");
    program.signal("TERM");
    let (code, _, stderr) = program.exit();
    assert_eq!(code, 130, "stderr: {stderr}");
}
