//! The harness shared by the tests that run rutina's examples as real child processes
//! (`tests/examples.rs`, `tests/main_process.rs`, `tests/signal_process.rs`,
//! `tests/systemd.rs`): find a built example, start it with its output piped, wait for
//! the lines it prints, signal it with `kill`, wait for its exit, and kill it if a test
//! fails first.
//!
//! The programs are Cargo examples, the `fixture_*` ones included (`tests/fixtures/`,
//! `tests/signal_fixtures/`): `cargo test -p rutina` builds them along with the tests,
//! `cargo test --test <name>` alone does not. Waits are for lines the programs print,
//! never for a fixed time; [`PATIENCE`] only bounds a hang.
//!
//! [`panics`] keeps the panics a test makes on purpose quiet (`tests/hostile.rs`,
//! `tests/model.rs`).

// Each test file is its own crate and uses only part of this module (`tests/systemd.rs`
// only `example_path`): what one of them leaves unused is not dead code.
#![allow(dead_code)]

pub(crate) mod panics;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bounds every wait on a program: generous, for a loaded CI machine.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// `target/<profile>/examples/<name>`, next to this test's `target/<profile>/deps/`.
pub(crate) fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("the test runs from target/<profile>/deps");
    let path = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        // The test binary is `<test>-<hash>`.
        let test = exe.file_stem().and_then(|stem| stem.to_str()).and_then(|stem| stem.rsplit_once('-'));
        let test = test.map_or("<test>", |(test, _hash)| test);
        panic!(
            "example {} is missing: it is built by `cargo test -p rutina --all-features` (or \
             `cargo build -p rutina --examples --all-features`), not by `cargo test --test {test}` alone",
            path.display()
        );
    }
    path
}

/// A running example or fixture, killed when dropped (a failing test leaves no process
/// behind). Its stdout is read line by line as it comes, its stderr collected whole.
pub(crate) struct Program {
    name: &'static str,
    child: Child,
    started: Instant,
    lines: mpsc::Receiver<String>,
    /// The lines of stdout received so far.
    stdout: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// How a program ended.
pub(crate) struct Finished {
    pub(crate) name: &'static str,
    /// The exit code (a program killed by a signal fails the test instead).
    pub(crate) code: i32,
    /// All of stdout, line by line.
    pub(crate) stdout: Vec<String>,
    /// All of stderr.
    pub(crate) stderr: String,
    /// From the start to the exit.
    pub(crate) elapsed: Duration,
}

impl Program {
    /// Starts the example `name`, stdin closed and stdout and stderr piped.
    pub(crate) fn start(name: &'static str) -> Program {
        Program::start_with_env(name, &[])
    }

    /// Starts the example `name` with `env` added to its environment.
    pub(crate) fn start_with_env(name: &'static str, env: &[(&str, &str)]) -> Program {
        let path = example_path(name);
        let mut child = Command::new(&path)
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
        Program { name, child, started: Instant::now(), lines, stdout: Vec::new(), stderr: Some(stderr) }
    }

    /// Waits until the program has printed `line` (in any order with other lines).
    pub(crate) fn expect_line(&mut self, line: &str) {
        self.wait_for_line(line, |seen| seen == line);
    }

    /// Waits for a line starting with `prefix`; returns the rest of it.
    pub(crate) fn expect_line_starting(&mut self, prefix: &str) -> String {
        let line = self.wait_for_line(prefix, |seen| seen.starts_with(prefix));
        line[prefix.len()..].to_owned()
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

    /// Sends `signal` (`TERM`, `INT`) with the shell's `kill` builtin.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status =
            Command::new("sh").args(["-c", "kill -s \"$0\" \"$1\"", signal, &pid]).status().expect("`sh` runs");
        assert!(status.success(), "kill -s {signal} {pid}: {status}");
    }

    /// The exit status, if the program exits within `patience`.
    pub(crate) fn exit_within(&mut self, patience: Duration) -> Option<ExitStatus> {
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
    pub(crate) fn finish(mut self) -> Finished {
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

impl Drop for Program {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Finished {
    pub(crate) fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{} exit status; {}", self.name, self.dump());
    }

    pub(crate) fn assert_line(&self, line: &str) {
        assert!(self.stdout.iter().any(|seen| seen == line), "{} did not print {line:?}; {}", self.name, self.dump());
    }

    pub(crate) fn assert_no_line_starting(&self, prefix: &str) {
        assert!(
            !self.stdout.iter().any(|seen| seen.starts_with(prefix)),
            "{} printed a line starting with {prefix:?}; {}",
            self.name,
            self.dump()
        );
    }

    /// The rest of the first line starting with `prefix`.
    pub(crate) fn line_starting(&self, prefix: &str) -> &str {
        match self.stdout.iter().find(|line| line.starts_with(prefix)) {
            Some(line) => &line[prefix.len()..],
            None => panic!("{} printed no line starting with {prefix:?}; {}", self.name, self.dump()),
        }
    }

    /// All of stdout and stderr, for a failure message.
    pub(crate) fn dump(&self) -> String {
        format!("stdout: {:#?}\nstderr: {}", self.stdout, self.stderr)
    }
}
