//! `rutina::main!` programs run as real child processes, signalled with `kill`: exit 0
//! after a clean drain on SIGTERM, 1 with the error and its sources on stderr when a
//! routine fails, 130 on a second SIGINT while a routine is stuck, and never unkillable;
//! `setup` runs first (its subscriber shows rutina's logs) and its error exits 1.
//!
//! The programs are the `fixture_*` examples (`tests/fixtures/*.rs`), which `cargo test`
//! builds along with this test. The test waits for lines the children print, never for
//! a fixed time; the timeouts below only bound a hang.
#![cfg(all(unix, feature = "macros"))]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bounds every wait on a child: generous, for a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running fixture, killed when dropped (a failing test leaves no process behind).
struct Program {
    name: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Program {
    fn start(name: &'static str) -> Program {
        let path = fixture_path(name);
        let mut child = Command::new(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
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
        Program { name, child, lines, seen: Vec::new(), stderr: Some(stderr) }
    }

    /// Waits until the program has printed `line` (in any order with other lines).
    fn expect_line(&mut self, line: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.seen.iter().any(|seen| seen == line) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(seen) => self.seen.push(seen),
                Err(_) => panic!("{} did not print {line:?}; stdout so far: {:?}", self.name, self.seen),
            }
        }
    }

    /// Sends `signal` (`TERM`, `INT`) with the shell's `kill` builtin.
    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status =
            Command::new("sh").args(["-c", "kill -s \"$0\" \"$1\"", signal, &pid]).status().expect("`sh` runs");
        assert!(status.success(), "kill -s {signal} {pid}: {status}");
    }

    /// The exit status, if the program exits within `patience`.
    fn exit_within(&mut self, patience: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit; returns its code and everything printed on stderr.
    fn exit(mut self) -> (i32, String) {
        let Some(status) = self.exit_within(PATIENCE) else {
            panic!("{} did not exit; stdout: {:?}", self.name, self.seen);
        };
        let stderr = self.stderr.take().and_then(|reader| reader.join().ok()).unwrap_or_default();
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        let code = status
            .code()
            .unwrap_or_else(|| panic!("{} ended without an exit code ({status}); stderr: {stderr}", self.name));
        (code, stderr)
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

/// `target/<profile>/examples/<name>`, next to this test's `target/<profile>/deps/`.
fn fixture_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("the test runs from target/<profile>/deps");
    let path = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "fixture {} is missing: it is built by `cargo test -p rutina` (or \
         `cargo build -p rutina --examples`), not by `cargo test --test main_process` alone",
        path.display()
    );
    path
}

#[test]
fn sigterm_drains_the_routines_and_exits_0() {
    let mut program = Program::start("fixture_drain");
    program.expect_line("server ready");
    program.signal("TERM");
    program.expect_line("server drained");
    let (code, stderr) = program.exit();
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(!stderr.contains("error"), "stderr: {stderr}");
}

#[test]
fn a_failed_routine_exits_1_with_the_error_and_its_sources() {
    let mut program = Program::start("fixture_failure");
    program.expect_line("server drained");
    let (code, stderr) = program.exit();
    assert_eq!(code, 1, "stderr: {stderr}");
    for expected in ["loader", "cannot load the feed configuration", "feed.toml: no such file"] {
        assert!(stderr.contains(expected), "{expected:?} not in stderr: {stderr}");
    }
}

#[test]
fn a_second_sigint_aborts_a_stuck_routine_and_exits_130() {
    let mut program = Program::start("fixture_stuck");
    program.expect_line("stuck ready");
    program.expect_line("watcher ready");
    program.signal("INT");
    // The group is shutting down: now the second signal is one.
    program.expect_line("shutdown seen");
    program.signal("INT");
    let (code, stderr) = program.exit();
    assert_eq!(code, 130, "stderr: {stderr}");
    assert!(stderr.contains("stuck"), "the stuck routine is named: {stderr}");
}

#[test]
fn a_routine_blocking_its_thread_never_makes_the_process_unkillable() {
    let mut program = Program::start("fixture_blocked");
    program.expect_line("blocked ready");
    program.expect_line("watcher ready");
    program.signal("INT");
    program.expect_line("shutdown seen");
    program.signal("INT");
    // No abort can stop a thread blocked in user code: if the second signal did not end
    // the process, the third one must.
    if program.exit_within(Duration::from_secs(3)).is_none() {
        program.signal("INT");
    }
    let (code, stderr) = program.exit();
    assert_eq!(code, 130, "stderr: {stderr}");
}

#[test]
fn setup_runs_before_the_runtime_and_its_subscriber_shows_rutina_logs() {
    let mut program = Program::start("fixture_setup");
    program.expect_line("setup ran outside any runtime");
    program.expect_line("loader started");
    let (code, stderr) = program.exit();
    assert_eq!(code, 1, "stderr: {stderr}");
    // Written by the subscriber `setup` installed: rutina's own event, target `rutina`.
    assert!(
        stderr.lines().any(|line| line.contains(" WARN rutina: run failed ")
            && line.contains("name=loader")
            && line.contains("feed.toml: no such file")),
        "no `run failed` log line in stderr: {stderr}"
    );
    // Then `main!`'s report, last, as without a subscriber.
    let report = stderr.lines().last().unwrap_or_default();
    assert!(report.starts_with("error: ") && report.contains("feed.toml: no such file"), "stderr: {stderr}");
}

#[test]
fn a_failed_setup_exits_1_with_its_error_and_starts_no_routine() {
    let mut program = Program::start("fixture_setup_error");
    program.expect_line("setup started");
    let (code, stderr) = program.exit();
    assert_eq!(code, 1, "stderr: {stderr}");
    // The whole of stderr: the error and its source, and nothing from the routine.
    assert_eq!(stderr, "error: cannot read the configuration\n  caused by: service.toml: no such file\n");
}
