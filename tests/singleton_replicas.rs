//! Singleton routines across real replica processes: each test starts a PostgreSQL
//! server of its own ([`PostgresServer`]) and two or three replicas of
//! `fixtures/singleton.rs`, a `main!` program whose singleton routine writes a journal
//! row every 100 ms while its replica holds the lease, each write guarded by the run's
//! fencing token (a compare-and-set of a fence row in the same statement). The tests
//! kill, stop and freeze replicas and the database, and check:
//!
//! - from the printed lines, as they come: a replica prints `running token=N` only
//!   while no other replica runs (the others printed `stopping`, or were killed or
//!   frozen), and the tokens of successive runs strictly grow;
//! - from the journal, at the end: every write a run makes while it runs is accepted by
//!   the fence (no replica wrote after a newer holder had begun), the accepted writes'
//!   tokens never decrease in time, and each token is one replica's;
//! - the takeover times, printed by each test (`--nocapture`) and bounded with room
//!   for a loaded machine.
//!
//! Real time, with a TTL of 2 s (safety margin 400 ms, standby tries every 250–500 ms,
//! renewals every 667 ms). Every wait is for a printed line or a journal row, bounded by
//! [`PATIENCE`]. Run with `--features postgres` (CI does, with `--all-features`).
#![cfg(unix)]

use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use rutina_tests::postgres_server::{PostgresServer, free_port};
use rutina_tests::{PATIENCE, Program};
use tokio_postgres::NoTls;

const TTL: Duration = Duration::from_secs(2);
/// The keeper's default safety margin, TTL/5.
const MARGIN: Duration = Duration::from_millis(400);
/// The longest a standby waits between two tries to acquire: TTL/4.
const STANDBY_POLL: Duration = Duration::from_millis(500);
/// Room for a loaded machine, on top of what the timing rules allow.
const SLACK: Duration = Duration::from_millis(1500);

// ----- the journal --------------------------------------------------------------------

/// Runs `sql` (one or more statements, no parameters) on the test's server, on a
/// connection of its own: the rows of the last statement.
fn sql(url: &str, sql: &str) -> Vec<tokio_postgres::SimpleQueryRow> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect to the test's server");
        tokio::spawn(connection);
        let messages = client.simple_query(sql).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
        messages
            .into_iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
                _ => None,
            })
            .collect()
    })
}

/// What the fixture writes into: the fence (the greatest token written so far) and the
/// journal of every write, accepted or not.
const SCHEMA: &str = "
CREATE TABLE singleton_fence (id int PRIMARY KEY, token bigint NOT NULL);
INSERT INTO singleton_fence VALUES (1, 0);
CREATE TABLE singleton_writes (
    seq      bigserial   PRIMARY KEY,
    replica  text        NOT NULL,
    token    bigint      NOT NULL,
    kind     text        NOT NULL, -- start, tick, final
    accepted boolean     NOT NULL,
    at       timestamptz NOT NULL  -- by the database's clock
)";

/// One row of the journal.
#[derive(Debug)]
struct Write {
    replica: String,
    token: u64,
    kind: String,
    accepted: bool,
    /// Microseconds since the epoch, by the database's clock (in failure messages).
    at: i64,
}

/// One run, as the journal tells it.
#[derive(Debug)]
struct Run {
    token: u64,
    replica: String,
    /// Its last write (the `final` one, when it got to make it) was accepted.
    ended_accepted: bool,
}

// ----- the replicas ---------------------------------------------------------------------

/// A replica as the printed lines tell it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    /// Not running: waiting for the lease, or its run stopped.
    Standby,
    /// Printed `running token=N` and not yet `stopping`.
    Running(u64),
    /// Running, but frozen by SIGSTOP: it cannot act.
    Frozen(u64),
    /// Killed, or exited.
    Gone,
}

struct Replica {
    name: &'static str,
    /// `None` once it exited or was killed (its output is then in `outputs`).
    program: Option<Program>,
    state: State,
}

/// A line a replica printed, when the test read it.
#[derive(Clone, Debug)]
struct Seen {
    replica: usize,
    line: String,
    at: Instant,
}

/// A test's database server and replicas, and everything they printed.
struct Cluster {
    server: PostgresServer,
    url: String,
    replicas: Vec<Replica>,
    /// Every line of every replica, in the order the test read them.
    timeline: Vec<Seen>,
    /// The tokens of the `running` lines, in order.
    tokens: Vec<u64>,
    /// The output of the replicas that are gone: name, stdout, stderr.
    outputs: Vec<(&'static str, Vec<String>, String)>,
    started: Instant,
}

impl Cluster {
    /// A fresh server with the journal's tables, and a replica for each name, with
    /// leases of [`TTL`].
    fn start(names: &[&'static str]) -> Cluster {
        Cluster::start_with_ttl(names, TTL)
    }

    /// A fresh server with the journal's tables, and a replica for each name, with
    /// leases of `ttl`.
    fn start_with_ttl(names: &[&'static str], ttl: Duration) -> Cluster {
        let server = PostgresServer::start();
        let url = server.url();
        sql(&url, SCHEMA);
        let ttl = ttl.as_millis().to_string();
        let replicas = names
            .iter()
            .map(|&name| {
                let env = [("DATABASE_URL", url.as_str()), ("LEASE_TTL_MS", ttl.as_str()), ("REPLICA", name)];
                Replica {
                    name,
                    program: Some(Program::fixture_with_env("fixture_singleton", &env)),
                    state: State::Standby,
                }
            })
            .collect();
        Cluster {
            server,
            url,
            replicas,
            timeline: Vec::new(),
            tokens: Vec::new(),
            outputs: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Where the timeline is now: what a later wait looks after.
    fn mark(&self) -> usize {
        self.timeline.len()
    }

    /// Waits for a line printed after `since` that `matches` accepts (`what` says what it
    /// is), reading every replica's lines meanwhile.
    fn wait_for(&mut self, since: usize, what: &str, matches: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + PATIENCE;
        let mut checked = since;
        loop {
            if let Some(seen) = self.timeline[checked..].iter().find(|seen| matches(seen)) {
                return seen.clone();
            }
            checked = self.timeline.len();
            if Instant::now() >= deadline {
                self.fail(&format!("timed out waiting for {what}"));
            }
            if !self.read() {
                thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Waits for `replica` to print a line starting with `prefix` after `since`.
    fn wait_line(&mut self, since: usize, replica: usize, prefix: &str) -> Seen {
        let what = format!("{} to print {prefix:?}", self.replicas[replica].name);
        self.wait_for(since, &what, |seen| seen.replica == replica && seen.line.starts_with(prefix))
    }

    /// Waits for any replica to print `running token=N` after `since`: the replica, N and
    /// when the test read it.
    fn wait_running(&mut self, since: usize) -> (usize, u64, Instant) {
        let seen = self.wait_for(since, "a replica to run", |seen| seen.line.starts_with("running token="));
        (seen.replica, token_of(&seen.line), seen.at)
    }

    /// Reads what the replicas printed so far; whether there was anything.
    fn read(&mut self) -> bool {
        let mut any = false;
        for replica in 0..self.replicas.len() {
            while let Some(line) = self.replicas[replica].program.as_mut().and_then(|p| p.next_line(Duration::ZERO)) {
                any = true;
                self.seen(replica, line);
            }
        }
        any
    }

    /// Records a line and checks it against what the others are doing.
    fn seen(&mut self, replica: usize, line: String) {
        self.timeline.push(Seen { replica, line: line.clone(), at: Instant::now() });
        if let Some(token) = line.strip_prefix("running token=") {
            let token: u64 = token.parse().unwrap_or_else(|_| self.fail(&format!("a bad line: {line:?}")));
            if self.replicas[replica].state != State::Standby {
                self.fail(&format!("{} ran again without stopping", self.replicas[replica].name));
            }
            if let Some(&last) = self.tokens.last()
                && token <= last
            {
                self.fail(&format!("fencing token {token} after {last}: tokens must strictly grow"));
            }
            self.tokens.push(token);
            // Another replica still running must be one whose `stopping` line is on its
            // way: each replica's lines come through a pipe of their own, so the order
            // in which the test reads two replicas' lines is not the order in which they
            // were printed.
            for other in 0..self.replicas.len() {
                if other != replica && matches!(self.replicas[other].state, State::Running(_)) {
                    self.await_stopping(other, replica);
                }
            }
            self.replicas[replica].state = State::Running(token);
        } else if line.starts_with("stopping reason=") {
            match self.replicas[replica].state {
                State::Running(_) => self.replicas[replica].state = State::Standby,
                state => self.fail(&format!("{} stopped while {state:?}", self.replicas[replica].name)),
            }
        }
    }

    /// `running` still runs while `newcomer` starts: its next line, within half a
    /// second, must be that it stops.
    fn await_stopping(&mut self, running: usize, newcomer: usize) {
        let program = self.replicas[running].program.as_mut().expect("a running replica is there");
        match program.next_line(Duration::from_millis(500)) {
            Some(line) if line.starts_with("stopping reason=") => self.seen(running, line),
            other => {
                let (a, b) = (self.replicas[running].name, self.replicas[newcomer].name);
                self.fail(&format!("{b} runs while {a} still runs (its next line: {other:?})"));
            }
        }
    }

    /// The replica that holds the lease first, once its first write was accepted, and
    /// its fencing token.
    fn first_holder_writing(&mut self) -> (usize, u64) {
        let (holder, token, _) = self.wait_running(0);
        self.wait_line(0, holder, &format!("start write token={token} accepted"));
        (holder, token)
    }

    /// The journal tells one handover: `holder`'s run with `token` was cut off (its last
    /// accepted write was not its final one), then `next`'s run with `next_token` ended
    /// with its final write accepted.
    fn assert_handed_over(&mut self, (holder, token): (usize, u64), (next, next_token): (usize, u64)) {
        let (a, b) = (self.name(holder), self.name(next));
        self.assert_runs(&[(token, a, false), (next_token, b, true)]);
    }

    /// Does `what` to the holder (`act`), then waits for another replica to take over:
    /// the new holder and its token. Not before the old holder's lease could have expired
    /// (it was renewed within `TTL − margin` before, or the holder would have stopped, so
    /// it lasted at least `margin` after it); at most the TTL after the last renewal, plus
    /// a standby's polling period.
    fn takeover_after(&mut self, what: &str, act: impl FnOnce(&mut Cluster)) -> (usize, u64) {
        let since = self.mark();
        let acted = Instant::now();
        act(self);
        let (next, next_token, at) = self.wait_running(since);
        let takeover = at - acted;
        report(&format!("{what} takeover"), takeover);
        let bound = TTL + STANDBY_POLL + SLACK;
        self.ensure((MARGIN..=bound).contains(&takeover), || format!("took over {takeover:?} after {what}"));
        (next, next_token)
    }

    /// Sends `signal` to a replica.
    fn signal(&mut self, replica: usize, signal: &str) {
        self.replicas[replica].program.as_ref().expect("the replica is there").signal(signal);
        let state = &mut self.replicas[replica].state;
        match (signal, *state) {
            ("STOP", State::Running(token)) => *state = State::Frozen(token),
            ("CONT", State::Frozen(token)) => *state = State::Running(token),
            _ => {}
        }
    }

    /// SIGKILLs a replica.
    fn kill(&mut self, replica: usize) {
        self.read();
        self.signal(replica, "KILL");
        self.gone(replica);
    }

    /// Reads the lines left of a replica that exited, up to its end of output, and
    /// collects its stderr.
    fn gone(&mut self, replica: usize) {
        let mut program = self.replicas[replica].program.take().expect("the replica is there");
        if program.exit_within(PATIENCE).is_none() {
            self.replicas[replica].program = Some(program);
            self.fail(&format!("{} did not exit", self.replicas[replica].name));
        }
        // The program exited: its stdout ends, and waiting for a line returns at once.
        while let Some(line) = program.next_line(PATIENCE) {
            self.seen(replica, line);
        }
        let (_, stdout, stderr) = program.kill_and_collect();
        self.replicas[replica].state = State::Gone;
        self.outputs.push((self.replicas[replica].name, stdout, stderr));
    }

    /// SIGTERMs a replica and waits for it to exit with 0.
    fn terminate(&mut self, replica: usize) {
        self.signal(replica, "TERM");
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.read();
            let program = self.replicas[replica].program.as_mut().expect("the replica is there");
            if let Some(status) = program.exit_within(Duration::from_millis(20)) {
                self.gone(replica);
                if status.code() != Some(0) {
                    self.fail(&format!("{} exited with {status} after SIGTERM", self.replicas[replica].name));
                }
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("{} did not exit after SIGTERM", self.replicas[replica].name));
            }
        }
    }

    /// SIGTERMs every replica left, each exiting with 0: the standbys first, so that
    /// none of them takes over from the holder on the way out.
    fn terminate_all(&mut self) {
        self.read();
        let mut left: Vec<usize> = (0..self.replicas.len()).filter(|&n| self.replicas[n].program.is_some()).collect();
        left.sort_by_key(|&n| matches!(self.replicas[n].state, State::Running(_) | State::Frozen(_)));
        for replica in left {
            self.terminate(replica);
        }
    }

    /// How many accepted writes of `token` the journal has.
    fn writes(&self, token: u64) -> usize {
        let query = format!("SELECT count(*) FROM singleton_writes WHERE token = {token} AND accepted");
        let rows = sql(&self.url, &query);
        rows[0].get(0).and_then(|n| n.parse().ok()).expect("a count")
    }

    /// Waits until the journal has `count` accepted writes of `token`.
    fn wait_writes(&mut self, token: u64, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.read();
            let written = self.writes(token);
            if written >= count {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("the journal has {written} writes of token {token}, not {count}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The journal, in the database's time order.
    fn journal(&self) -> Vec<Write> {
        let query = "SELECT replica, token, kind, accepted, (extract(epoch FROM at) * 1000000)::bigint \
                     FROM singleton_writes ORDER BY at, seq";
        sql(&self.url, query)
            .iter()
            .map(|row| {
                let field = |n: usize| row.get(n).expect("no NULL in the journal").to_owned();
                Write {
                    replica: field(0),
                    token: field(1).parse().expect("a token"),
                    kind: field(2),
                    accepted: field(3) == "t",
                    at: field(4).parse().expect("a time"),
                }
            })
            .collect()
    }

    /// Checks the journal (see the module docs) and returns its runs, in order.
    fn runs(&mut self) -> Vec<Run> {
        let journal = self.journal();
        let mut runs: Vec<Run> = Vec::new();
        let mut fence = 0;
        for write in &journal {
            if write.kind != "final" && !write.accepted {
                self.fail(&format!("a write of a running replica was rejected by the fence: {write:?}"));
            }
            if !write.accepted {
                continue;
            }
            if write.token < fence {
                self.fail(&format!("an accepted write with token {} after token {fence}", write.token));
            }
            fence = write.token;
            match runs.last_mut() {
                Some(run) if run.token == write.token => {
                    if run.replica != write.replica {
                        self.fail(&format!(
                            "token {} was written by {} and {}",
                            write.token, run.replica, write.replica
                        ));
                    }
                    run.ended_accepted = write.kind == "final";
                }
                _ => runs.push(Run {
                    token: write.token,
                    replica: write.replica.clone(),
                    ended_accepted: write.kind == "final",
                }),
            }
        }
        let printed: Vec<u64> = runs.iter().map(|run| run.token).filter(|token| !self.tokens.contains(token)).collect();
        if !printed.is_empty() {
            self.fail(&format!("runs in the journal that printed no `running` line: {printed:?}"));
        }
        runs
    }

    /// Checks the journal and that its runs are `expected`: (token, replica, whether the
    /// run's last write was an accepted `final` one).
    fn assert_runs(&mut self, expected: &[(u64, &str, bool)]) {
        let runs = self.runs();
        let found: Vec<(u64, &str, bool)> =
            runs.iter().map(|run| (run.token, run.replica.as_str(), run.ended_accepted)).collect();
        if found != expected {
            let message = format!("the journal's runs are {found:?}, not {expected:?}");
            self.fail(&message);
        }
    }

    /// Fails the test (with everything the replicas printed) unless `ok`.
    fn ensure(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(&message());
        }
    }

    /// The name of a replica.
    fn name(&self, replica: usize) -> &'static str {
        self.replicas[replica].name
    }

    /// Fails the test with everything the replicas printed and the journal.
    fn fail(&mut self, message: &str) -> ! {
        let mut dump = String::new();
        for seen in &self.timeline {
            let at = seen.at.saturating_duration_since(self.started);
            let _ = writeln!(dump, "  {:>8.3}s {}: {}", at.as_secs_f64(), self.replicas[seen.replica].name, seen.line);
        }
        for replica in &mut self.replicas {
            if let Some(program) = replica.program.take() {
                let (_, stdout, stderr) = program.kill_and_collect();
                self.outputs.push((replica.name, stdout, stderr));
            }
        }
        for (name, _, stderr) in &self.outputs {
            let _ = writeln!(dump, "--- {name}'s stderr:\n{stderr}");
        }
        if self.server_is_up() {
            let journal = self.journal();
            let _ = writeln!(dump, "--- the journal:");
            for Write { replica, token, kind, accepted, at } in &journal {
                let at = (at - journal[0].at) as f64 / 1e6;
                let _ = writeln!(dump, "  {at:>8.3}s {replica}: {kind} token={token} accepted={accepted}");
            }
        }
        panic!("{message}\nlines as read:\n{dump}");
    }

    fn server_is_up(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.server.port())).is_ok()
    }
}

fn token_of(line: &str) -> u64 {
    line.rsplit_once("token=").and_then(|(_, token)| token.split(' ').next()?.parse().ok()).expect("a token")
}

fn report(what: &str, took: Duration) {
    println!("{what}: {} ms", took.as_millis());
}

// ----- the tests --------------------------------------------------------------------

#[test]
fn one_of_three_replicas_runs_and_a_graceful_stop_hands_over_in_under_a_second() {
    let mut cluster = Cluster::start(&["a", "b", "c"]);
    let (mut holder, mut token, _) = cluster.wait_running(0);
    // While the holder writes a second's worth of rows, the standbys try at least twice
    // each; `seen` fails the test if one of them runs.
    cluster.wait_writes(token, 10);

    let mut holders = vec![cluster.name(holder)];
    for _ in 0..2 {
        let since = cluster.mark();
        let sent = Instant::now();
        cluster.terminate(holder);
        let (next, next_token, at) = cluster.wait_running(since);
        let handover = at - sent;
        report("SIGTERM handover", handover);
        cluster.ensure(handover < Duration::from_secs(1), || format!("the handover took {handover:?}"));
        // The holder stopped for the shutdown, and its last write was accepted.
        let lines: Vec<String> = cluster.timeline[since..]
            .iter()
            .filter(|seen| seen.replica == holder)
            .map(|seen| seen.line.clone())
            .collect();
        let expected = ["stopping reason=Shutdown".to_owned(), format!("final write token={token} accepted")];
        cluster.ensure(lines == expected, || format!("the stopped holder printed {lines:?}"));
        cluster.wait_writes(next_token, 3);
        (holder, token) = (next, next_token);
        holders.push(cluster.name(holder));
    }
    cluster.terminate_all();

    // Each replica ran once, in turn, and its last write (after it was told to stop) was
    // accepted: it came before the next holder's first.
    let expected: Vec<(u64, &str, bool)> =
        cluster.tokens.clone().into_iter().zip(holders).map(|(token, replica)| (token, replica, true)).collect();
    cluster.assert_runs(&expected);
}

#[test]
fn a_killed_holder_is_replaced_within_the_ttl() {
    let mut cluster = Cluster::start(&["a", "b"]);
    let (holder, token) = cluster.first_holder_writing();

    let (next, next_token) = cluster.takeover_after("SIGKILL", |cluster| cluster.kill(holder));
    cluster.wait_writes(next_token, 3);
    cluster.terminate_all();

    cluster.assert_handed_over((holder, token), (next, next_token));
}

#[test]
fn a_frozen_holder_is_replaced_and_stops_at_once_when_it_resumes_its_late_write_rejected() {
    let mut cluster = Cluster::start(&["a", "b"]);
    let (holder, token) = cluster.first_holder_writing();

    let since = cluster.mark();
    let (next, next_token) = cluster.takeover_after("SIGSTOP", |cluster| cluster.signal(holder, "STOP"));
    // The new holder has written: the fence has its token.
    cluster.wait_line(since, next, &format!("start write token={next_token} accepted"));

    let since = cluster.mark();
    let resumed = Instant::now();
    cluster.signal(holder, "CONT");
    // The resumed holder's first act is to stop its run: its lease was lost while it
    // was frozen (its deadline passed), before its run is polled again.
    let first = cluster.wait_for(since, "the resumed holder's first line", |seen| seen.replica == holder);
    cluster.ensure(first.line == "stopping reason=LeaseLost", || format!("the resumed holder printed {first:?} first"));
    let stopped = first.at - resumed;
    report("SIGCONT to stopping", stopped);
    cluster.ensure(stopped < Duration::from_secs(1), || format!("it stopped {stopped:?} after SIGCONT"));
    // Its late write carries the old token: the fence rejects it.
    let late = cluster.wait_line(since, holder, "final write");
    let expected = format!("final write token={token} rejected");
    cluster.ensure(late.line == expected, || format!("the late write: {late:?}"));
    // The new holder keeps running; the resumed one stands by.
    cluster.wait_writes(next_token, 10);
    cluster.terminate_all();

    cluster.assert_handed_over((holder, token), (next, next_token));
}

#[test]
fn a_stopped_database_stops_the_holder_within_the_ttl_and_a_restarted_one_runs_it_again() {
    let mut cluster = Cluster::start(&["a", "b"]);
    let (holder, token) = cluster.first_holder_writing();

    let since = cluster.mark();
    let stopped = Instant::now();
    cluster.server.stop();
    let stopping = cluster.wait_line(since, holder, "stopping reason=");
    cluster.ensure(stopping.line == "stopping reason=LeaseLost", || format!("{stopping:?}"));
    let lost = stopping.at - stopped;
    report("database stopped to the holder stopping", lost);
    // The last renewal was sent before the server went down: the holder gives up
    // `TTL − margin` after it at the latest.
    cluster.ensure(lost <= TTL + SLACK, || format!("the holder stopped {lost:?} after the database"));
    let late = cluster.wait_line(since, holder, "final write");
    let failed = format!("final write token={token} failed");
    cluster.ensure(late.line.starts_with(&failed), || format!("the last write with the database down: {late:?}"));

    let since = cluster.mark();
    let started = Instant::now();
    cluster.server.restart();
    let (next, next_token, at) = cluster.wait_running(since);
    let back = at - started;
    report("database restarted to a replica running", back);
    // The lease expired (at most the TTL after its last renewal, most likely while the
    // server was down) and a standby, trying every TTL/4 and reconnecting as it tries,
    // gets it.
    let bound = TTL + STANDBY_POLL + SLACK;
    cluster.ensure(back <= bound, || format!("a replica ran {back:?} after the database came back"));
    cluster.wait_writes(next_token, 3);
    cluster.terminate_all();

    // The first run's last write failed: the database was down.
    cluster.assert_handed_over((holder, token), (next, next_token));
}

#[test]
fn a_quick_database_restart_leaves_the_holder_running() {
    // A TTL long enough that a restart of the server, stop and start, fits within TTL/3:
    // whenever it begins, the holder's deadline (`TTL − margin` after its last renewal,
    // made at most TTL/3 before) leaves time for a retry (every TTL/10) to get through.
    let mut cluster = Cluster::start_with_ttl(&["a", "b"], Duration::from_secs(10));
    let (holder, token) = cluster.first_holder_writing();

    let restarted = Instant::now();
    cluster.server.stop();
    cluster.server.restart();
    // The holder renews on a new connection and writes again, in the same run.
    let before = cluster.writes(token);
    cluster.wait_writes(token, before + 10);
    report("database restart ridden out; writing again after", restarted.elapsed());
    cluster.ensure(cluster.replicas[holder].state == State::Running(token), || "the holder stopped".to_owned());
    cluster.terminate_all();

    let a = cluster.name(holder);
    cluster.assert_runs(&[(token, a, true)]);
}

#[test]
fn an_unreachable_database_at_start_exits_1_with_a_clear_message() {
    let port = free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let env = [("DATABASE_URL", url.as_str()), ("LEASE_TTL_MS", "2000"), ("REPLICA", "a")];
    let finished = Program::fixture_with_env("fixture_singleton", &env).finish();
    finished.assert_code(1);
    finished.assert_no_line_starting("running");
    let message = format!("cannot connect to the lease database postgres@127.0.0.1:{port}/postgres");
    assert!(finished.stderr.contains(&message), "{}", finished.dump());
    assert!(finished.elapsed < Duration::from_secs(15), "{:?}", finished.elapsed);
}
