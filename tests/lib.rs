//! The harness shared by the tests that run programs as real child processes
//! (`examples.rs`, `main_process.rs`, `signal_process.rs`, `lifecycle_process.rs`,
//! `systemd.rs`, `singleton_replicas.rs`): find a built example or fixture, start it with
//! its output piped, wait for the lines it prints, signal it with `kill`, wait for its
//! exit, and kill it if a test fails first.
//!
//! Fixtures (`fixtures/*.rs`) are this package's binaries: Cargo builds them before the
//! integration tests that run them. The examples belong to the `rutina-examples`
//! package: `cargo test --workspace` builds them (examples are built with the tests),
//! `cargo test -p rutina-tests` alone does not. Waits are for lines the programs print,
//! never for a fixed time; [`PATIENCE`] only bounds a hang.
//!
//! [`panics`] keeps the panics a test makes on purpose quiet (`hostile.rs`, `model.rs`);
//! [`postgres_server`] starts a real PostgreSQL server of a test's own (`lease_postgres.rs`,
//! `singleton_replicas.rs`, `examples.rs`); [`leases`] has a backend that needs none
//! (`metrics.rs`, `serde.rs`).

pub mod leases;
pub mod panics;
#[cfg(unix)]
pub mod postgres_server;

/// The README's code, compiled and run by `cargo test --doc`, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bounds every wait on a program: generous, for a loaded CI machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Sends `signal` (`TERM`, `INT`, `HUP`, `KILL`, `STOP`, `CONT`) to process `pid` with the
/// shell's `kill` builtin: to a program, or to the test's own process
/// (`std::process::id()`).
pub fn send_signal(pid: u32, signal: &str) {
    let pid = pid.to_string();
    let status = Command::new("sh").args(["-c", "kill -s \"$0\" \"$1\"", signal, &pid]).status().expect("`sh` runs");
    assert!(status.success(), "kill -s {signal} {pid}: {status}");
}

/// `target/<profile>/`, where this test binary's `deps/` directory is.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    exe.parent().and_then(Path::parent).expect("the test runs from target/<profile>/deps").to_owned()
}

/// The fixture binary `name` (`target/<profile>/<name>`), built by Cargo before the tests.
pub fn fixture_path(name: &str) -> PathBuf {
    let path = profile_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "fixture {} is missing: it is a binary of `rutina-tests`", path.display());
    path
}

/// The example `name` (`target/<profile>/examples/<name>`).
pub fn example_path(name: &str) -> PathBuf {
    let path = profile_dir().join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "example {} is missing: it is built by `cargo test --workspace --all-features` (or \
         `cargo build -p rutina-examples --examples`), not by `cargo test -p rutina-tests` alone",
        path.display()
    );
    path
}

/// A running example or fixture, killed when dropped (a failing test leaves no process
/// behind). Its stdout is read line by line as it comes, its stderr collected whole.
pub struct Program {
    name: &'static str,
    child: Child,
    started: Instant,
    lines: mpsc::Receiver<String>,
    /// The lines of stdout received so far.
    stdout: Vec<String>,
    /// How many of them [`Program::next_line`] returned.
    returned: usize,
    stderr: Option<JoinHandle<String>>,
}

/// How a program ended.
pub struct Finished {
    /// The program's name.
    pub name: &'static str,
    /// The exit code (a program killed by a signal fails the test instead).
    pub code: i32,
    /// All of stdout, line by line.
    pub stdout: Vec<String>,
    /// All of stderr.
    pub stderr: String,
    /// From the start to the exit.
    pub elapsed: Duration,
}

impl Program {
    /// Starts the example `name`, stdin closed and stdout and stderr piped.
    pub fn example(name: &'static str) -> Program {
        Program::example_with_env(name, &[])
    }

    /// Starts the example `name` with `env` added to its environment.
    pub fn example_with_env(name: &'static str, env: &[(&str, &str)]) -> Program {
        Program::start(name, &example_path(name), env)
    }

    /// Starts the fixture `name`, stdin closed and stdout and stderr piped.
    pub fn fixture(name: &'static str) -> Program {
        Program::fixture_with_env(name, &[])
    }

    /// Starts the fixture `name` with `env` added to its environment.
    pub fn fixture_with_env(name: &'static str, env: &[(&str, &str)]) -> Program {
        Program::start(name, &fixture_path(name), env)
    }

    fn start(name: &'static str, path: &Path, env: &[(&str, &str)]) -> Program {
        let mut child = Command::new(path)
            .envs(env.iter().copied())
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
        Program { name, child, started: Instant::now(), lines, stdout: Vec::new(), returned: 0, stderr: Some(stderr) }
    }

    /// Waits until the program has printed `line` (in any order with other lines).
    pub fn expect_line(&mut self, line: &str) {
        self.wait_for_line(line, |seen| seen == line);
    }

    /// Waits for a line starting with `prefix`; returns the rest of it.
    pub fn expect_line_starting(&mut self, prefix: &str) -> String {
        let line = self.wait_for_line(prefix, |seen| seen.starts_with(prefix));
        line[prefix.len()..].to_owned()
    }

    /// Waits for the `nth` line (counting from 1) starting with `prefix`, as
    /// [`expect_line_starting`](Program::expect_line_starting) does for the first.
    pub fn expect_nth_line_starting(&mut self, nth: usize, prefix: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(line) = self.stdout.iter().filter(|seen| seen.starts_with(prefix)).nth(nth - 1) {
                return line[prefix.len()..].to_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => {
                    panic!("{} did not print {prefix:?} {nth} times; stdout so far: {:#?}", self.name, self.stdout)
                }
            }
        }
    }

    /// Waits for a line containing `part`; returns it.
    pub fn expect_line_containing(&mut self, part: &str) -> String {
        self.wait_for_line(part, |seen| seen.contains(part)).to_owned()
    }

    /// Waits for the first line `matches` accepts (`what` describes it); returns it.
    fn wait_for_line(&mut self, what: &str, matches: impl Fn(&str) -> bool) -> &str {
        let deadline = Instant::now() + PATIENCE;
        let index = loop {
            if let Some(index) = self.stdout.iter().position(|seen| matches(seen)) {
                break index;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => panic!("{} did not print {what:?}; stdout so far: {:#?}", self.name, self.stdout),
            }
        };
        &self.stdout[index]
    }

    /// The next line of stdout that this method has not returned yet, if one comes within
    /// `patience` (`Duration::ZERO`: only one already received). For a test that follows
    /// several programs at once; the `expect_*` methods still see every line.
    pub fn next_line(&mut self, patience: Duration) -> Option<String> {
        if self.returned == self.stdout.len() {
            let line = self.lines.recv_timeout(patience).ok()?;
            self.stdout.push(line);
        }
        self.returned += 1;
        Some(self.stdout[self.returned - 1].clone())
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`, `STOP`, `CONT`) to the program.
    pub fn signal(&self, signal: &str) {
        send_signal(self.child.id(), signal);
    }

    /// The exit status, if the program exits within `patience`.
    pub fn exit_within(&mut self, patience: Duration) -> Option<ExitStatus> {
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

    /// Waits for the exit (at most [`PATIENCE`]), and collects all of the output.
    pub fn finish(mut self) -> Finished {
        let Some(status) = self.exit_within(PATIENCE) else {
            panic!("{} did not exit within {PATIENCE:?}; stdout: {:#?}", self.name, self.stdout);
        };
        let elapsed = self.started.elapsed();
        let stderr = self.stderr.take().and_then(|reader| reader.join().ok()).unwrap_or_default();
        // The reader thread ends at EOF: every line is in the channel once it hangs up.
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.stdout.push(line);
        }
        let code =
            status.code().unwrap_or_else(|| panic!("{} ended by a signal ({status}); stderr: {stderr}", self.name));
        Finished { name: self.name, code, stdout: std::mem::take(&mut self.stdout), stderr, elapsed }
    }
}

impl Program {
    /// Kills the program (SIGKILL) if it is still running, and collects its output: for
    /// a program a test killed on purpose, or a failure message.
    pub fn kill_and_collect(mut self) -> (ExitStatus, Vec<String>, String) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("wait for a killed program");
        let stderr = self.stderr.take().and_then(|reader| reader.join().ok()).unwrap_or_default();
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.stdout.push(line);
        }
        (status, std::mem::take(&mut self.stdout), stderr)
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

impl Finished {
    /// Asserts the exit code.
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{} exit status; {}", self.name, self.dump());
    }

    /// Asserts that stdout has `line`.
    pub fn assert_line(&self, line: &str) {
        assert!(self.stdout.iter().any(|seen| seen == line), "{} did not print {line:?}; {}", self.name, self.dump());
    }

    /// Asserts that stdout has each of `lines`, in any order.
    pub fn assert_lines(&self, lines: &[&str]) {
        for line in lines {
            self.assert_line(line);
        }
    }

    /// Asserts that no line of stdout starts with `prefix`.
    pub fn assert_no_line_starting(&self, prefix: &str) {
        assert!(
            !self.stdout.iter().any(|seen| seen.starts_with(prefix)),
            "{} printed a line starting with {prefix:?}; {}",
            self.name,
            self.dump()
        );
    }

    /// The rest of the first line starting with `prefix`.
    pub fn line_starting(&self, prefix: &str) -> &str {
        match self.stdout.iter().find(|line| line.starts_with(prefix)) {
            Some(line) => &line[prefix.len()..],
            None => panic!("{} printed no line starting with {prefix:?}; {}", self.name, self.dump()),
        }
    }

    /// All of stdout and stderr, for a failure message.
    pub fn dump(&self) -> String {
        format!("stdout: {:#?}\nstderr: {}", self.stdout, self.stderr)
    }
}
