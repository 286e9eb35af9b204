//! `rutina::main!` programs run as real child processes, signalled with `kill`: exit 0
//! after a clean drain on SIGTERM, 1 with the error and its sources on stderr when a
//! routine fails, 130 on a second SIGINT while a routine is stuck, and never unkillable;
//! `setup` runs first (its subscriber shows rutina's logs) and its error exits 1; a
//! `state` is made before the routines, which take their parameters from it, and its error
//! exits 1 with no routine started; routines written by hand run as declared ones do.
//!
//! The programs are the `fixture_*` examples (`tests/fixtures/*.rs`), which `cargo test`
//! builds along with this test. The test waits for lines the children print, never for
//! a fixed time; the timeouts below only bound a hang.
#![cfg(unix)]

use std::time::Duration;

use rutina_tests::{Finished, Program};

#[test]
fn sigterm_drains_the_routines_and_exits_0() {
    let mut program = Program::fixture("fixture_drain");
    program.expect_line("server ready");
    program.signal("TERM");
    program.expect_line("server drained");
    let Finished { code, stderr, .. } = program.finish();
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(!stderr.contains("error"), "stderr: {stderr}");
}

#[test]
fn a_failed_routine_exits_1_with_the_error_and_its_sources() {
    let mut program = Program::fixture("fixture_failure");
    program.expect_line("server drained");
    let Finished { code, stderr, .. } = program.finish();
    assert_eq!(code, 1, "stderr: {stderr}");
    for expected in ["loader", "cannot load the feed configuration", "feed.toml: no such file"] {
        assert!(stderr.contains(expected), "{expected:?} not in stderr: {stderr}");
    }
}

#[test]
fn a_second_sigint_aborts_a_stuck_routine_and_exits_130() {
    let mut program = Program::fixture("fixture_stuck");
    program.expect_line("stuck ready");
    program.expect_line("watcher ready");
    program.signal("INT");
    // The group is shutting down: now the second signal is one.
    program.expect_line("shutdown seen");
    program.signal("INT");
    let Finished { code, stderr, .. } = program.finish();
    assert_eq!(code, 130, "stderr: {stderr}");
    assert!(stderr.contains("stuck"), "the stuck routine is named: {stderr}");
}

#[test]
fn a_routine_blocking_its_thread_never_makes_the_process_unkillable() {
    let mut program = Program::fixture("fixture_blocked");
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
    let Finished { code, stderr, .. } = program.finish();
    assert_eq!(code, 130, "stderr: {stderr}");
}

#[test]
fn setup_runs_before_the_runtime_and_its_subscriber_shows_rutina_logs() {
    let mut program = Program::fixture("fixture_setup");
    program.expect_line("setup ran outside any runtime");
    program.expect_line("loader started");
    let Finished { code, stderr, .. } = program.finish();
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
    let mut program = Program::fixture("fixture_setup_error");
    program.expect_line("setup started");
    let Finished { code, stderr, .. } = program.finish();
    assert_eq!(code, 1, "stderr: {stderr}");
    // The whole of stderr: the error and its source, and nothing from the routine.
    assert_eq!(stderr, "error: cannot read the configuration\n  caused by: service.toml: no such file\n");
}

#[test]
fn routines_written_by_hand_run_from_main_and_drain_on_sigterm() {
    let mut program = Program::fixture("fixture_hand_written");
    program.expect_line("ticker running");
    program.expect_line("hello from a const");
    program.expect_line("declared running");
    program.signal("TERM");
    program.expect_line("ticker cancelled");
    let Finished { code, stderr, .. } = program.finish();
    assert_eq!(code, 0, "stderr: {stderr}");
}

#[test]
fn a_state_is_made_before_the_routines_which_take_their_parameters_from_it() {
    let mut program = Program::fixture("fixture_state");
    program.expect_line("consumer running with postgres://db/app and jobs");
    program.expect_line("server running");
    program.signal("TERM");
    program.expect_line("consumer drained");
    let Finished { code, stdout, stderr, .. } = program.finish();
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
    // The state first, once.
    assert_eq!(stdout.first().map(String::as_str), Some("state made"), "stdout: {stdout:?}");
    assert_eq!(stdout.iter().filter(|line| *line == "state made").count(), 1, "stdout: {stdout:?}");
}

#[test]
fn a_failed_state_exits_1_with_its_error_and_starts_no_routine() {
    let mut program = Program::fixture("fixture_state_error");
    program.expect_line("state started");
    let Finished { code, stdout, stderr, .. } = program.finish();
    assert_eq!(code, 1, "stderr: {stderr}");
    assert_eq!(stderr, "error: cannot connect to the database\n  caused by: db:5432: connection refused\n");
    assert!(!stdout.iter().any(|line| line.ends_with("running")), "a routine ran: {stdout:?}");
}
