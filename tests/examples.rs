//! The examples run as real programs and do what their docs say: exit statuses, key
//! output lines, and for `http_server` real HTTP requests on loopback with a request in
//! flight when SIGTERM arrives.
//!
//! The examples are built by `cargo test -p rutina` (examples are built with the tests),
//! not by `cargo test --test examples` alone. The tests wait for lines the programs
//! print, never for a fixed time; the timeouts below only bound a hang.
#![cfg(unix)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use rutina_tests::{Finished, PATIENCE, Program};

/// Runs an example that ends by itself.
fn run(name: &'static str) -> Finished {
    Program::example(name).finish()
}

// ----- http_server ------------------------------------------------------------------

/// A minimal HTTP/1.1 GET on loopback: the status code and the body.
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    assert!(addr.ip().is_loopback(), "tests only talk to loopback, not {addr}");
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(PATIENCE)).expect("set_read_timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("send the request");
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: not an HTTP/1.1 response: {response:?}"));
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// Polls `probe` until it returns `true`.
fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn http_server_drains_a_request_in_flight_on_sigterm_and_exits_0() {
    let mut server = Program::example_with_env("http_server", &[("HTTP_PORT", "0"), ("METRICS_PORT", "0")]);
    let http: SocketAddr = server.expect_line_starting("http listening on http://").parse().expect("an address");
    let metrics: SocketAddr = server.expect_line_starting("metrics listening on http://").parse().expect("an address");

    assert_eq!(http_get(http, "/"), (200, "hello from rutina\n".to_owned()));
    assert_eq!(http_get(metrics, "/health"), (200, "ready\n".to_owned()));

    let slow = thread::spawn(move || http_get(http, "/slow?ms=2000"));
    eventually("the slow request is in flight", || {
        http_get(metrics, "/metrics").1.contains("http_requests_in_flight 1\n")
    });

    server.signal("TERM");
    // While the public server drains, the health endpoint says not ready.
    eventually("/health reports the shutdown", || http_get(metrics, "/health") == (503, "shutting down\n".to_owned()));

    assert_eq!(
        slow.join().expect("the slow request"),
        (200, "slept 2000 ms\n".to_owned()),
        "the request in flight completes"
    );
    let finished = server.finish();
    finished.assert_code(0);
    for log in ["signal received", "http server drained", "metrics server stopped", "stopped cleanly"] {
        assert!(finished.stderr.contains(log), "{log:?} not logged; {}", finished.dump());
    }
}

// ----- the examples that end by themselves -------------------------------------------

#[test]
fn policies_shows_each_policy_and_exits_1_with_the_fatal_error() {
    let finished = run("policies");
    finished.assert_code(1);
    for line in [
        "server: serving",
        "heartbeat: run 1",
        "heartbeat: run 2",
        "heartbeat: run 3",
        "flaky: run 1 fails; it will be restarted",
        "flaky: run 2 fails; it will be restarted",
        "flaky: run 3 succeeds; done",
        "warm_up: caches are warm; done, and nothing else happens",
        "fatal: the database is gone; shutting everything down",
        "server: the group is shutting down; drained",
    ] {
        finished.assert_line(line);
    }
    assert!(
        finished.stderr.contains("error: routine `fatal` (#4) failed: the database connection is gone"),
        "{}",
        finished.dump()
    );
    assert!(finished.elapsed < Duration::from_secs(15), "it ends by itself within 15 s: {:?}", finished.elapsed);
}

#[test]
fn builder_reports_failures_and_events_kills_and_exits_0() {
    let finished = run("builder");
    finished.assert_code(0);
    for line in [
        "server: serving",
        "ticker: tick 1",
        "event: worker #3: run 1 failed: upstream unavailable",
        "errors channel: routine `worker` (#3) attempt 1 failed: upstream unavailable",
        "errors channel: routine `worker` (#3) attempt 2 failed: upstream unavailable",
        "worker: run 3 succeeded",
        "event: worker #3: stopped after 3 run(s)",
        "main: processes alive: [#1, #2]",
        "main: kill(#3): no routine #3 is alive",
        "event: ticker #2: killed",
        "server: drained",
        "event: server #1: stopped after 1 run(s)",
        "main: wait() returned Ok(())",
    ] {
        finished.assert_line(line);
    }
    finished.assert_no_line_starting("errors channel: routine `worker` (#3) attempt 3");
    assert!(finished.line_starting("event: shutdown started (").starts_with("Requested)"), "{}", finished.dump());
}

#[test]
fn timeouts_and_backoff_retries_with_growing_delays_and_exits_0() {
    let finished = run("timeouts_and_backoff");
    finished.assert_code(0);
    for line in [
        "event: fetch_quote run 1 timed out after 200ms",
        "event: fetch_quote run 2 timed out after 200ms",
        "fetch_quote: run 3 got the quote",
        "first group: wait() returned Ok",
        "second group: wait() returned Error::TimedOut: routine `handshake` (#1) timed out after 100ms",
    ] {
        finished.assert_line(line);
    }
    finished.assert_no_line_starting("fetch_quote: run 4");
    // Exponential from 100 ms, doubling, each delay jittered to between half and all of it.
    for (run, low, high) in [(2, 50, 100), (3, 100, 200)] {
        let rest = finished.line_starting(&format!("event: fetch_quote run {run} starts in "));
        let ms: u64 = rest.split(' ').next().and_then(|ms| ms.parse().ok()).expect("a delay in ms");
        assert!((low..=high).contains(&ms), "run {run} delay {ms} ms not within [{low}, {high}]");
    }
}

#[test]
fn nested_groups_restarts_the_inner_group_and_drains_it_on_shutdown() {
    let finished = run("nested_groups");
    finished.assert_code(0);
    for line in [
        "consumers: run 1 starts an inner group of 3 partitions",
        "partition-2: lost its broker connection",
        "partition-0: drained (run 1)",
        "partition-1: drained (run 1)",
        "consumers: run 1: the inner group failed: routine `partition-2` (#3) failed: broker connection lost",
        "consumers: run 2 starts an inner group of 3 partitions",
        "deadline: time is up; shutting down",
        "partition-0: drained (run 2)",
        "partition-1: drained (run 2)",
        "partition-2: drained (run 2)",
        "consumers: run 2: the inner group drained",
    ] {
        finished.assert_line(line);
    }
    finished.assert_no_line_starting("consumers: run 3");
}

#[test]
fn shutdown_timeout_aborts_the_stuck_routine_and_exits_1() {
    let finished = run("shutdown_timeout");
    finished.assert_code(1);
    for line in [
        "trigger: requesting a shutdown (grace period: 1s)",
        "server: drained in time",
        "stuck: aborted; its future was dropped",
    ] {
        finished.assert_line(line);
    }
    assert!(
        finished.stderr.contains("error: shutdown did not complete; aborted 1 stuck routine(s): `stuck` (#2)"),
        "{}",
        finished.dump()
    );
}
