//! The examples run as real programs and do what their docs say: exit statuses, key
//! output lines, and for `http_server` real HTTP requests on loopback: a request in
//! flight when SIGTERM arrives, the probes, metrics and status, and a load balancer
//! played by the test, which loses no request thanks to the lame-duck delay; for
//! `singleton`, two replicas against a PostgreSQL server of the test's own (with the
//! `postgres` feature; never against any other database).
//!
//! The examples are built by `cargo test --workspace` (examples are built with the
//! tests), or `cargo build -p rutina-examples --examples`, not by `cargo test --test
//! examples` alone. The tests wait for lines the programs
//! print, never for a fixed time; the timeouts below only bound a hang.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rutina_tests::{Finished, PATIENCE, Program};

/// Runs an example that ends by itself.
fn run(name: &'static str) -> Finished {
    Program::example(name).finish()
}

// ----- http_server ------------------------------------------------------------------

/// A minimal HTTP/1.1 GET on loopback, on a connection of its own: the status code and
/// the body, or the I/O error (refused, reset, timed out) that stopped it.
fn try_http_get(addr: SocketAddr, path: &str, patience: Duration) -> io::Result<(u16, String)> {
    try_http(addr, "GET", path, patience)
}

/// A minimal HTTP/1.1 request with no body on loopback (see [`try_http_get`]).
fn try_http(addr: SocketAddr, method: &str, path: &str, patience: Duration) -> io::Result<(u16, String)> {
    assert!(addr.ip().is_loopback(), "tests only talk to loopback, not {addr}");
    let mut stream = TcpStream::connect_timeout(&addr, patience)?;
    stream.set_read_timeout(Some(patience))?;
    stream.set_write_timeout(Some(patience))?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, format!("not an HTTP/1.1 response: {response:?}"))
    })?;
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// [`try_http_get`] that must succeed.
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    try_http_get(addr, path, PATIENCE).unwrap_or_else(|error| panic!("GET {path}: {error}"))
}

/// Polls `probe` until it returns `true`.
fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `http_server` on free ports with `env` added; returns it with the public and
/// the internal servers' addresses, once it reports ready.
fn start_http_server(env: &[(&str, &str)]) -> (Program, SocketAddr, SocketAddr) {
    let mut vars = vec![("HTTP_PORT", "0"), ("METRICS_PORT", "0")];
    vars.extend_from_slice(env);
    let mut server = Program::example_with_env("http_server", &vars);
    let http: SocketAddr = server.expect_line_starting("http listening on http://").parse().expect("an address");
    let metrics: SocketAddr = server.expect_line_starting("metrics listening on http://").parse().expect("an address");
    eventually("/health reports ready", || http_get(metrics, "/health") == (200, "ready\n".to_owned()));
    (server, http, metrics)
}

#[test]
fn http_server_drains_a_request_in_flight_on_sigterm_and_exits_0() {
    let (server, http, metrics) = start_http_server(&[]);

    assert_eq!(http_get(http, "/"), (200, "hello from rutina\n".to_owned()));
    assert_eq!(http_get(metrics, "/live"), (200, "live\n".to_owned()));

    let slow = thread::spawn(move || http_get(http, "/slow?ms=2000"));
    eventually("the slow request is in flight", || {
        http_get(metrics, "/metrics").1.contains("\nhttp_requests_in_flight 1\n")
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
    for log in
        ["signal received", "stopping routine (reverse start order)", "http server drained", "metrics server stopped"]
    {
        assert!(finished.stderr.contains(log), "{log:?} not logged; {}", finished.dump());
    }
    let http_drained = finished.stderr.find("http server drained");
    let metrics_stopped = finished.stderr.find("metrics server stopped");
    assert!(http_drained < metrics_stopped, "the public server stops first; {}", finished.dump());
}

#[test]
fn http_server_serves_rutinas_metrics_beside_its_own_and_the_status_as_json() {
    let (server, http, metrics) = start_http_server(&[]);
    assert_eq!(http_get(http, "/").0, 200);

    // rutina's metrics (the upkeep job's first run has ended) beside the application's.
    eventually("/metrics shows rutina's metrics and the application's", || {
        let (status, body) = http_get(metrics, "/metrics");
        status == 200
            && body.contains("rutina_runs_total{routine=\"metrics_upkeep\",outcome=\"ok\"}")
            && body.contains("rutina_routines{state=\"running\"} 2\n")
            && body.contains("\nhttp_requests_total ")
            && body.contains("\nhttp_requests_in_flight 0\n")
    });

    let (status, body) = http_get(metrics, "/status");
    assert_eq!(status, 200, "{body}");
    let routines: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    let routines = routines.as_array().unwrap_or_else(|| panic!("not an array: {body}"));
    let by_name = |name: &str| {
        routines.iter().find(|routine| routine["name"] == name).unwrap_or_else(|| panic!("no `{name}` in {body}"))
    };
    for name in ["http", "metrics"] {
        let routine = by_name(name);
        assert_eq!(routine["state"], "Running", "{body}");
        assert_eq!(routine["attempt"], 1, "{body}");
        assert!(routine["id"].is_u64() && routine["started_ms_ago"].is_u64(), "{body}");
    }
    assert!(by_name("metrics_upkeep")["state"]["Scheduled"]["until_ms_from_now"].is_u64(), "{body}");
    assert_eq!(routines.len(), 3, "{body}");

    server.signal("TERM");
    server.finish().assert_code(0);
}

#[test]
fn http_server_restarts_a_routine_from_its_admin_endpoint() {
    let (mut server, _, metrics) = start_http_server(&[]);
    let post = |path: &str| try_http(metrics, "POST", path, PATIENCE).unwrap_or_else(|e| panic!("POST {path}: {e}"));

    assert_eq!(post("/admin/restart/http"), (202, "restarting http\n".to_owned()));
    // The public server drains, runs again and binds again (a free port, as before).
    let http: SocketAddr = server.expect_nth_line_starting(2, "http listening on http://").parse().expect("an address");
    assert_eq!(http_get(http, "/"), (200, "hello from rutina\n".to_owned()));
    let (status, body) = http_get(metrics, "/status");
    assert_eq!(status, 200, "{body}");
    let routines: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    let routines = routines.as_array().unwrap_or_else(|| panic!("not an array: {body}"));
    let http_routine = routines.iter().find(|routine| routine["name"] == "http").expect("the http routine");
    assert_eq!((&http_routine["attempt"], &http_routine["restarts"]), (&2.into(), &1.into()), "{body}");
    assert!(routines.iter().any(|routine| routine["name"] == "metrics" && routine["attempt"] == 1), "{body}");

    assert_eq!(post("/admin/restart/nope"), (404, "no routine named \"nope\"\n".to_owned()));
    server.signal("TERM");
    let finished = server.finish();
    finished.assert_code(0);
}

#[test]
fn http_server_rejects_a_malformed_shutdown_delay_before_starting_anything() {
    let finished = Program::example_with_env("http_server", &[("HTTP_PORT", "0"), ("SHUTDOWN_DELAY", "soon")]).finish();
    finished.assert_code(1);
    assert!(finished.stderr.contains("error: SHUTDOWN_DELAY=\"soon\" is not valid"), "{}", finished.dump());
    finished.assert_no_line_starting("http listening");
}

/// Clients behind the balancer of [`lame_duck`].
const CLIENTS: usize = 16;
/// At most this many requests per client: the load ends by itself.
const REQUESTS_PER_CLIENT: u64 = 2_000;
/// How often the balancer checks `/health`.
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// What the clients of [`lame_duck`] saw.
#[derive(Debug, Default)]
struct Load {
    /// Requests answered `200 hello`.
    ok: u64,
    /// Requests refused, reset, cut short, timed out or answered otherwise.
    errors: u64,
    /// How many of each: `ConnectionRefused`, `ConnectionReset`, `status 503`, ...
    kinds: BTreeMap<String, u64>,
    /// Clients that stopped at [`REQUESTS_PER_CLIENT`] rather than because the balancer
    /// stopped routing to the backend.
    capped: usize,
}

/// Runs `http_server` with `SHUTDOWN_DELAY=delay` behind a load balancer played by this
/// test: [`CLIENTS`] threads send short requests in a loop, each on a new connection,
/// while the balancer routes to the backend; the balancer checks `/health` every 50 ms
/// and stops routing once it answers anything but 200. Once the load flows, SIGTERM.
/// Returns what the clients saw; the program must exit with 0.
fn lame_duck(delay: &str) -> Load {
    let (server, http, metrics) = start_http_server(&[("SHUTDOWN_DELAY", delay)]);
    let routing = Arc::new(AtomicBool::new(true));
    let load = Arc::new(Mutex::new(Load::default()));
    let deadline = Instant::now() + PATIENCE;

    let balancer = thread::spawn({
        let routing = routing.clone();
        move || {
            while Instant::now() < deadline {
                if !matches!(try_http_get(metrics, "/health", Duration::from_secs(5)), Ok((200, _))) {
                    break;
                }
                thread::sleep(HEALTH_CHECK_INTERVAL);
            }
            routing.store(false, Ordering::SeqCst);
        }
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (routing, load) = (routing.clone(), load.clone());
            thread::spawn(move || {
                let mut sent = 0;
                while routing.load(Ordering::SeqCst) && Instant::now() < deadline {
                    if sent == REQUESTS_PER_CLIENT {
                        load.lock().expect("the load").capped += 1;
                        return;
                    }
                    sent += 1;
                    let answer = try_http_get(http, "/", Duration::from_secs(5));
                    let mut load = load.lock().expect("the load");
                    match answer {
                        Ok((200, body)) if body == "hello from rutina\n" => load.ok += 1,
                        other => {
                            load.errors += 1;
                            let kind = match other {
                                Ok((status, _)) => format!("status {status}"),
                                Err(error) => format!("{:?}", error.kind()),
                            };
                            *load.kinds.entry(kind).or_default() += 1;
                        }
                    }
                }
            })
        })
        .collect();

    eventually("the load flows", || load.lock().expect("the load").ok >= 200);
    server.signal("TERM");
    for client in clients {
        client.join().expect("a client");
    }
    balancer.join().expect("the balancer");
    let finished = server.finish();
    finished.assert_code(0);
    let load = std::mem::take(&mut *load.lock().expect("the load"));
    assert_eq!(load.capped, 0, "the balancer must stop the load, not the request cap: {load:?}");
    load
}

#[test]
fn http_server_with_a_lame_duck_delay_loses_no_request_behind_a_load_balancer() {
    // The contrast: without a delay the listener closes at once, and the requests the
    // balancer still routes before its next health check are refused. Not asserted: it
    // depends on timing.
    let without = lame_duck("0s");
    println!("SHUTDOWN_DELAY=0s: {} requests answered, {} lost: {:?}", without.ok, without.errors, without.kinds);
    // With a delay longer than the balancer's health-check interval, it stops routing to
    // the backend while the backend still serves: nothing is lost.
    let with = lame_duck("1s");
    println!("SHUTDOWN_DELAY=1s: {} requests answered, {} lost", with.ok, with.errors);
    assert_eq!(with.errors, 0, "requests lost despite the lame-duck delay: {with:?}");
}

// ----- the examples that end by themselves -------------------------------------------

#[test]
fn policies_shows_each_policy_and_exits_1_with_the_fatal_error() {
    let finished = run("policies");
    finished.assert_code(1);
    finished.assert_lines(&[
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
    ]);
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
    finished.assert_lines(&[
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
    ]);
    finished.assert_no_line_starting("errors channel: routine `worker` (#3) attempt 3");
    assert!(finished.line_starting("event: shutdown started (").starts_with("Requested)"), "{}", finished.dump());
}

#[test]
fn timeouts_and_backoff_retries_with_growing_delays_and_exits_0() {
    let finished = run("timeouts_and_backoff");
    finished.assert_code(0);
    finished.assert_lines(&[
        "event: fetch_quote run 1 timed out after 200ms",
        "event: fetch_quote run 2 timed out after 200ms",
        "fetch_quote: run 3 got the quote",
        "first group: wait() returned Ok",
        "second group: wait() returned Error::TimedOut: routine `handshake` (#1) timed out after 100ms",
    ]);
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
    finished.assert_lines(&[
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
    ]);
    finished.assert_no_line_starting("consumers: run 3");
}

#[test]
fn shutdown_timeout_aborts_the_stuck_routine_and_exits_1() {
    let finished = run("shutdown_timeout");
    finished.assert_code(1);
    finished.assert_lines(&[
        "trigger: requesting a shutdown (grace period: 1s)",
        "server: drained in time",
        "stuck: aborted; its future was dropped",
    ]);
    assert!(
        finished.stderr.contains("error: shutdown did not complete; aborted 1 stuck routine(s): `stuck` (#2)"),
        "{}",
        finished.dump()
    );
}

#[test]
fn app_state_shares_a_pool_restarts_a_hung_consumer_and_exits_0() {
    let finished = run("app_state");
    finished.assert_code(0);
    finished.assert_lines(&[
        "consumer: run 1: cannot connect: connection refused",
        "report: run 1: cannot connect: connection refused",
        "consumer: stored order #1",
        "report: run 2: the query is slow today...",
        "report: run 2 cancelled: Some(TimedOut)",
        "deadline: 5s are up; shutting down",
    ]);
    // The consumer connects once the database is up, after runs that could not; the run
    // that was connected goes silent, is hung, dropped, and the next run connects again.
    let connected: Vec<u32> = runs_saying(&finished, "consumer: run ", ": connected; consuming `orders`");
    let silent: Vec<u32> = runs_saying(&finished, "consumer: run ", ": the broker went silent");
    assert!(connected.len() == 2 && connected[0] >= 2, "{connected:?}; {}", finished.dump());
    assert_eq!(silent, [connected[0]], "{}", finished.dump());
    finished.assert_line(&format!("consumer: run {} was dropped: hung, no heartbeat for 1s", connected[0]));
    assert!(connected[1] > connected[0], "{}", finished.dump());
    // The last run drains at the shutdown; the report counts from the shared pool.
    let drained = finished.line_starting(&format!("consumer: run {}: drained; ", connected[1]));
    assert!(drained.ends_with(" orders stored in all"), "{}", finished.dump());
    assert!(finished.line_starting("report: run 3: ").contains(" orders stored; pool: "), "{}", finished.dump());
    // rutina's logs tell the same story on stderr.
    for log in ["run failed", "run timed out", "run hung: no heartbeat", "shutting down"] {
        assert!(finished.stderr.contains(log), "{log:?} not logged; {}", finished.dump());
    }
    assert!(finished.elapsed < Duration::from_secs(15), "it ends by itself within 15 s: {:?}", finished.elapsed);
}

/// The run numbers of the lines `<prefix><run><suffix>`, in order.
fn runs_saying(finished: &Finished, prefix: &str, suffix: &str) -> Vec<u32> {
    finished.stdout.iter().filter_map(|line| line.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok()).collect()
}

/// The seconds in `<prefix>1.30s`.
fn seconds_after(finished: &Finished, prefix: &str) -> f64 {
    let rest = finished.line_starting(prefix);
    rest.split('s').next().and_then(|secs| secs.parse().ok()).unwrap_or_else(|| panic!("no seconds in {rest:?}"))
}

#[test]
fn periodic_jobs_keeps_its_rate_skips_missed_ticks_and_drops_a_deaf_job() {
    let finished = run("periodic_jobs");
    finished.assert_code(0);
    finished.assert_lines(&[
        "polite: starts at 0.00s; cancel_reason: None",
        "sweeper: stopping; cancel_reason: Some(Shutdown)",
        "overrun: run 1 starts at 0.00s",
    ]);
    // `every`: runs start a period apart whatever they take; a fixed backoff after each
    // run drifts by the run's 300 ms each time (a lower bound: sleeps never end early).
    let fixed_rate = seconds_after(&finished, "fixed_rate: run 4 starts at ");
    let fixed_delay = seconds_after(&finished, "fixed_delay: run 4 starts at ");
    assert!(fixed_delay >= 3.9, "fixed_delay's run 4 at {fixed_delay}s; {}", finished.dump());
    assert!(fixed_rate < 3.5, "fixed_rate's run 4 at {fixed_rate}s, not about 3s; {}", finished.dump());
    // The overrunning run ends after 1.2 s; its next run waits for the next tick (1.5 s),
    // and no run starts in between.
    let overrun_ends = seconds_after(&finished, "overrun: run 1 ends at ");
    let overrun_next = seconds_after(&finished, "overrun: run 2 starts at ");
    assert!(overrun_ends >= 1.2 && overrun_next >= 1.5 && overrun_next - overrun_ends < 1.0, "{}", finished.dump());
    // The deaf job is dropped when its timeout passes, on every run.
    for run in 1..=2 {
        finished.line_starting(&format!("deaf: run {run} starts at "));
        assert!(finished.line_starting(&format!("deaf: run {run} dropped at ")).ends_with(": its timeout holds"));
    }
    finished.assert_no_line_starting("deaf: run 1 finished");
    assert!(finished.line_starting("polite: cancelled at ").ends_with("; cancel_reason: Some(TimedOut)"));
    // Cron, seconds field `*/2`: the runs fall on even seconds of the clock.
    let seconds: Vec<u64> = finished
        .stdout
        .iter()
        .filter_map(|line| line.strip_prefix("on_even_seconds: run ")?.split_once(" at second :"))
        .filter_map(|(_, rest)| rest.get(..2)?.parse().ok())
        .collect();
    assert!(!seconds.is_empty() && seconds.iter().all(|second| second % 2 == 0), "{seconds:?}; {}", finished.dump());
    finished.line_starting("deadline: time is up at ");
    assert!(finished.elapsed < Duration::from_secs(15), "it ends by itself within 15 s: {:?}", finished.elapsed);
}

// ----- singleton: two replicas against the test's own PostgreSQL server ----------------

/// The fencing token of a `report: made in process <pid> with fencing token <n>` line.
#[cfg(feature = "postgres")]
fn report_token(line: &str) -> u64 {
    let token = line.rsplit_once("fencing token ").map(|(_, token)| token.parse());
    token.and_then(Result::ok).unwrap_or_else(|| panic!("not a report line: {line:?}"))
}

/// Waits for either replica to print a `report:` line: which one, and the line.
#[cfg(feature = "postgres")]
fn next_report(replicas: &mut [Program; 2]) -> (usize, String) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        for (n, replica) in replicas.iter_mut().enumerate() {
            while let Some(line) = replica.next_line(Duration::ZERO) {
                if line.starts_with("report: ") {
                    return (n, line);
                }
            }
        }
        assert!(Instant::now() < deadline, "neither replica reported");
        thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(feature = "postgres")]
#[test]
fn singleton_reports_in_one_of_two_replicas_and_hands_over_on_sigterm() {
    let server = rutina_tests::postgres_server::PostgresServer::start();
    let url = server.url();
    let env = [("DATABASE_URL", url.as_str())];
    let mut replicas = [Program::example_with_env("singleton", &env), Program::example_with_env("singleton", &env)];

    // One replica reports, at the cron job's ticks; the other one stands by.
    let (holder, line) = next_report(&mut replicas);
    let token = report_token(&line);
    let (holder_again, line) = next_report(&mut replicas);
    assert_eq!((holder_again, report_token(&line)), (holder, token), "the holder reports again: {line:?}");

    // A graceful stop releases the lease: the other replica reports from its next tick,
    // with a greater fencing token.
    let [first, second] = replicas;
    let (stopped, mut standby) = if holder == 0 { (first, second) } else { (second, first) };
    let standby_reported =
        std::iter::from_fn(|| standby.next_line(Duration::ZERO)).any(|line| line.starts_with("report: "));
    assert!(!standby_reported, "the standby replica reported while the other held the lease");
    stopped.signal("TERM");
    let stopped = stopped.finish();
    stopped.assert_code(0);
    assert!(stopped.stderr.contains("lease released"), "{}", stopped.dump());
    let line = standby.expect_line_starting("report: ");
    assert!(report_token(&format!("report: {line}")) > token, "{line:?} after token {token}");
    standby.signal("TERM");
    standby.finish().assert_code(0);
}

#[test]
fn singleton_without_a_reachable_database_exits_1_and_says_why() {
    let port = rutina_tests::postgres_server::free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let finished = Program::example_with_env("singleton", &[("DATABASE_URL", url.as_str())]).finish();
    finished.assert_code(1);
    finished.assert_no_line_starting("report: ");
    let message = format!("error: cannot connect to the lease database postgres@127.0.0.1:{port}/postgres");
    assert!(finished.stderr.contains(&message), "{}", finished.dump());
}
