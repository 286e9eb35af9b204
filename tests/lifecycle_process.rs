//! The round-2 lifecycle of real programs run as child processes (`Main`-based
//! fixtures): SIGHUP reloads only the routines marked `reload` and the program keeps
//! running (or, with none marked, logs that it ignores it); a service with a lame-duck
//! delay keeps answering connections after SIGTERM until the delay is over, then exits
//! 0. Only lines the programs print are waited for; `PATIENCE` bounds a hang.
#![cfg(unix)]

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rutina_tests::Program;

#[test]
fn sighup_reloads_only_the_routines_marked_reload_and_the_program_keeps_running() {
    let mut program = Program::fixture("fixture_reload");
    program.expect_line("config run 1");
    program.expect_line("server run 1");
    program.signal("HUP");
    program.expect_line("config stopping: Some(Reload)");
    program.expect_line("config run 2");
    program.signal("HUP");
    program.expect_line("config run 3");
    program.signal("TERM");
    program.expect_line("server stopping: Some(Shutdown)");
    let finished = program.finish();
    finished.assert_code(0);
    finished.assert_line("config stopping: Some(Shutdown)");
    finished.assert_no_line_starting("server run 2");
    finished.assert_no_line_starting("server stopping: Some(Reload)");
    assert!(finished.stderr.is_empty(), "{}", finished.dump());
}

#[test]
fn sighup_with_no_routine_marked_reload_is_logged_and_ignored() {
    let mut program = Program::fixture_with_env("fixture_reload", &[("FIXTURE_NO_RELOAD", "1")]);
    program.expect_line("config run 1");
    program.expect_line("server run 1");
    program.signal("HUP");
    program.expect_line_containing("SIGHUP received; no routine is marked `reload`: ignored");
    program.signal("TERM");
    let finished = program.finish();
    finished.assert_code(0);
    finished.assert_no_line_starting("config run 2");
    finished.assert_no_line_starting("server run 2");
    finished.assert_line("config stopping: Some(Shutdown)");
    finished.assert_line("server stopping: Some(Shutdown)");
}

/// One connection to the responder: the line it answered.
fn request(port: u16) -> std::io::Result<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.trim_end().to_owned())
}

#[test]
fn a_lame_duck_keeps_serving_after_sigterm_until_its_delay_is_over_then_exits_0() {
    const DELAY: Duration = Duration::from_secs(1);
    let mut program = Program::fixture("fixture_lame_duck");
    let port: u16 = program.expect_line_starting("listening on ").parse().expect("a port");
    assert_eq!(request(port).expect("serving"), "serving");
    program.signal("TERM");
    let sent = Instant::now();
    program.expect_line("shutdown began");
    // The delay began after `sent`: a request that completed within DELAY of it was
    // made during the delay, and must have been served.
    let mut served = 0;
    while served < 5 && sent.elapsed() < DELAY * 4 / 5 {
        let answer = request(port);
        if sent.elapsed() < DELAY {
            assert_eq!(answer.as_deref().ok(), Some("draining"), "a request during the delay: {answer:?}");
            served += 1;
        }
    }
    assert!(served > 0, "no request could be made within {:?} of SIGTERM (a very slow machine?)", DELAY * 4 / 5);
    let finished = program.finish();
    finished.assert_code(0);
    assert!(sent.elapsed() >= DELAY, "exited before the delay was over");
    finished.assert_line("contexts cancelled");
    finished.assert_line("server stopped accepting");
    let began = finished.stdout.iter().position(|line| line == "shutdown began");
    let cancelled = finished.stdout.iter().position(|line| line == "contexts cancelled");
    assert!(began < cancelled, "{}", finished.dump());
    assert!(finished.stderr.is_empty(), "a signal is not an error: {}", finished.dump());
}
