//! Real SIGTERM and SIGINT sent to a `rutina::main!` child process while its routines
//! back off (an hour-long backoff) and restart (a tight loop): the first signal ends
//! the backoff and the loop at once and the server drains (exit 0); a second one during
//! a long drain aborts it (exit 130, the stuck routine named on stderr).
//!
//! The program is the `fixture_restarting` example (`tests/signal_fixtures/`), which
//! `cargo test` builds along with this test. `tests/main_process.rs` has the other
//! exits of `main!`. Only lines the child prints are waited for; timeouts only bound a
//! hang, and are far below the hour a missed signal would cost.
#![cfg(unix)]

use std::time::Instant;

use rutina_tests::{Finished, PATIENCE, Program};

/// Starts `fixture_restarting`; with `slow_drain`, its server drains for an hour.
fn start(slow_drain: bool) -> Program {
    let env: &[(&str, &str)] = if slow_drain { &[("FIXTURE_SLOW_DRAIN", "1")] } else { &[] };
    Program::fixture_with_env("fixture_restarting", env)
}

/// Waits until the routines are serving, backing off and looping.
fn expect_busy(program: &mut Program) {
    program.expect_line("server ready");
    program.expect_line("flaky run 1");
    program.expect_line("looping restarted 100 times");
}

fn graceful(signal: &str) {
    let mut program = start(false);
    expect_busy(&mut program);
    let sent = Instant::now();
    program.signal(signal);
    let Finished { code, stdout, stderr, .. } = program.finish();
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
    let mut program = start(true);
    expect_busy(&mut program);
    program.signal("TERM");
    program.expect_line("server draining slowly");
    program.signal("TERM");
    let Finished { code, stdout, stderr, .. } = program.finish();
    assert_eq!(code, 130, "stderr: {stderr}");
    assert!(!stdout.iter().any(|line| line == "server drained"), "aborted, not drained: {stdout:?}");
    // The others stop at once on the first signal, but "at once" is a race with the
    // second one on a loaded machine: only the server is sure to be named.
    assert!(stderr.contains("`server`"), "the aborted routine is named: {stderr}");
}

#[test]
fn a_sigint_then_a_sigterm_during_a_long_drain_also_aborts() {
    let mut program = start(true);
    expect_busy(&mut program);
    program.signal("INT");
    program.expect_line("server draining slowly");
    program.signal("TERM");
    let Finished { code, stderr, .. } = program.finish();
    assert_eq!(code, 130, "stderr: {stderr}");
}
