//! Singleton routines across replicas, against an in-memory lease backend on tokio's
//! (paused) clock shared by several groups — the replicas: exactly one runs, the others
//! stand by; a graceful stop hands over within TTL/4; a holder whose renewals fail stops
//! before the TTL (`CancelReason::LeaseLost`) and runs again once the backend is back;
//! fencing tokens grow. (The PostgreSQL backend: `lease_postgres.rs`.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{CancelReason, Context, Error, Lease, Options, Policy, RoutineState, RunOptions, Rutina, StopKind};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

const TTL: Duration = Duration::from_secs(12);

// ----- the backend ------------------------------------------------------------------

/// An in-memory `Lease` on tokio's clock, as `rutina::lease` documents one, whose calls
/// can be made to fail (an unreachable backend).
#[derive(Default)]
struct Memory {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    rows: HashMap<String, Row>,
    /// The last token granted per key; never reset.
    tokens: HashMap<String, u64>,
    /// Every call fails.
    down: bool,
    /// Successful renewals, when processed.
    renewed: Vec<Instant>,
    /// Releases that freed the lease, when processed.
    released: Vec<(u64, Instant)>,
}

struct Row {
    holder: String,
    token: u64,
    expires_at: Instant,
}

fn unreachable() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "backend unreachable")
}

impl Memory {
    fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    fn renewed(&self) -> Vec<Instant> {
        self.state.lock().unwrap().renewed.clone()
    }

    fn released(&self) -> Vec<(u64, Instant)> {
        self.state.lock().unwrap().released.clone()
    }
}

impl Lease for Memory {
    type Error = std::io::Error;

    fn time_to_live(&self) -> Duration {
        TTL
    }

    async fn acquire(&self, key: &str, holder: &str) -> Result<Option<u64>, std::io::Error> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        if state.down {
            return Err(unreachable());
        }
        if state.rows.get(key).is_some_and(|row| row.expires_at > now && row.holder != holder) {
            return Ok(None);
        }
        let token = state.tokens.entry(key.to_owned()).or_insert(0);
        *token += 1;
        let token = *token;
        state.rows.insert(key.to_owned(), Row { holder: holder.to_owned(), token, expires_at: now + TTL });
        Ok(Some(token))
    }

    async fn renew(&self, key: &str, holder: &str, token: u64) -> Result<bool, std::io::Error> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        if state.down {
            return Err(unreachable());
        }
        match state.rows.get_mut(key) {
            Some(row) if row.holder == holder && row.token == token && row.expires_at > now => {
                row.expires_at = now + TTL;
                state.renewed.push(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, key: &str, holder: &str, token: u64) -> Result<(), std::io::Error> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        if state.down {
            return Err(unreachable());
        }
        if state.rows.get(key).is_some_and(|row| row.holder == holder && row.token == token) {
            state.rows.remove(key);
            state.released.push((token, now));
        }
        Ok(())
    }
}

// ----- the replicas -----------------------------------------------------------------

/// One run of the singleton: which replica, its attempt and fencing token, when it
/// started, and when and why it was cancelled.
#[derive(Clone, Debug, PartialEq)]
struct RunRecord {
    replica: usize,
    attempt: u32,
    fencing: Option<u64>,
    started: Instant,
    cancelled: Option<(Instant, Option<CancelReason>)>,
}

impl RunRecord {
    /// The run of `ctx` on `replica` begins now.
    fn begun(replica: usize, ctx: &Context) -> RunRecord {
        RunRecord {
            replica,
            attempt: ctx.attempt(),
            fencing: ctx.fencing_token(),
            started: Instant::now(),
            cancelled: None,
        }
    }
}

type Record = Arc<Mutex<Vec<RunRecord>>>;

/// A singleton that serves until cancelled, recording its runs in `record`.
fn singleton(
    replica: usize,
    record: Record,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    move |ctx: Context| {
        let record = record.clone();
        Box::pin(async move {
            let index = {
                let mut runs = record.lock().unwrap();
                runs.push(RunRecord::begun(replica, &ctx));
                runs.len() - 1
            };
            ctx.cancelled().await;
            record.lock().unwrap()[index].cancelled = Some((Instant::now(), ctx.cancel_reason()));
            Ok(())
        })
    }
}

fn runs(record: &Record) -> Vec<RunRecord> {
    record.lock().unwrap().clone()
}

/// `n` replicas sharing `backend`, each with the singleton `cleanup`.
fn replicas(n: usize, backend: &Arc<Memory>, record: &Record) -> Vec<Rutina> {
    (0..n)
        .map(|replica| {
            let rutina = Rutina::new(Options::default().lease(backend.clone()));
            rutina.go_with(
                singleton(replica, record.clone()),
                RunOptions::default().name("cleanup").singleton("cleanup"),
            );
            rutina
        })
        .collect()
}

fn state(rutina: &Rutina) -> RoutineState {
    rutina.status()[0].state
}

/// Waits (paused clock, bounded) until the record has `n` runs.
async fn until_runs(record: &Record, n: usize) {
    timeout(secs(600), async {
        while runs(record).len() < n {
            sleep(millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no run {n}: {:#?}", runs(record)));
}

// ----- tests ------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn exactly_one_replica_runs_the_singleton_and_the_others_stand_by() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let groups = replicas(3, &backend, &record);
    sleep(secs(1)).await;
    let first = runs(&record);
    assert_eq!(first.len(), 1, "{first:#?}");
    let holder = first[0].replica;
    assert_eq!(first[0].fencing, Some(1));
    for (replica, rutina) in groups.iter().enumerate() {
        let expected = if replica == holder { RoutineState::Running } else { RoutineState::Standby };
        assert_eq!(state(rutina), expected, "replica {replica}");
        assert!(rutina.is_live(), "replica {replica} is live");
        assert!(rutina.is_ready(), "replica {replica} is ready: a singleton in standby is where it should be");
    }
    let t0 = Instant::now();
    sleep(secs(120)).await;
    assert_eq!(runs(&record).len(), 1, "still one run after two minutes of renewals and tries");
    // Renewed at least every TTL/3.
    let renewed = backend.renewed();
    let mut last = first[0].started;
    for at in renewed.iter().filter(|at| **at <= t0 + secs(120)) {
        assert!(*at - last <= TTL / 3, "renewals {renewed:?}");
        last = *at;
    }
    assert!(t0 + secs(120) - last <= TTL / 3);
    for rutina in &groups {
        rutina.shutdown();
        rutina.wait().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_holder_that_shuts_down_releases_at_once_and_a_standby_takes_over_within_ttl_over_4() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let groups = replicas(2, &backend, &record);
    sleep(secs(10)).await;
    let holder = runs(&record)[0].replica;
    let standby = 1 - holder;
    assert_eq!(state(&groups[standby]), RoutineState::Standby);
    let t0 = Instant::now();
    groups[holder].shutdown();
    groups[holder].wait().await.unwrap();
    assert_eq!(backend.released(), [(1, t0)], "released as soon as the run returned");
    until_runs(&record, 2).await;
    let second = &runs(&record)[1];
    assert_eq!((second.replica, second.attempt, second.fencing), (standby, 1, Some(2)));
    assert!(second.started - t0 <= TTL / 4, "took over {:?} after the release", second.started - t0);
    assert_eq!(state(&groups[standby]), RoutineState::Running);
    let report = groups[holder].shutdown_report().unwrap();
    assert!(matches!(report.routines[0].how, StopKind::Returned(_)));
    groups[standby].shutdown();
    groups[standby].wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_standby_replica_shuts_down_at_once_between_runs() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let groups = replicas(2, &backend, &record);
    sleep(secs(10)).await;
    let standby = 1 - runs(&record)[0].replica;
    let t0 = Instant::now();
    groups[standby].shutdown();
    groups[standby].wait().await.unwrap();
    assert_eq!(t0.elapsed(), Duration::ZERO);
    let report = groups[standby].shutdown_report().unwrap();
    assert!(matches!(report.routines[0].how, StopKind::BetweenRuns), "{:?}", report.routines[0].how);
    assert_eq!(runs(&record).len(), 1);
    groups[1 - standby].shutdown();
    groups[1 - standby].wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn failing_renewals_cancel_the_run_with_lease_lost_before_the_ttl_and_it_runs_again_once_they_work() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let (errors, mut failures) = mpsc::unbounded_channel();
    // on_error = Shutdown (the default): a lost lease applies no policy.
    let rutina = Rutina::new(Options::default().lease(backend.clone()).errors(errors));
    let t0 = Instant::now();
    // A grace period, so that the run sees why it is cancelled before it is dropped.
    rutina.go_with(
        singleton(0, record.clone()),
        RunOptions::default().name("cleanup").singleton("cleanup").grace_period(secs(1)),
    );
    sleep(secs(10)).await;
    backend.set_down(true);
    sleep(secs(20)).await; // 30 s
    let first = runs(&record)[0].clone();
    let last_renewal = *backend.renewed().last().expect("renewed before the outage");
    let (cancelled_at, reason) = first.cancelled.expect("the run was cancelled");
    assert_eq!(reason, Some(CancelReason::LeaseLost));
    assert!(cancelled_at < last_renewal + TTL, "stopped before the lease could expire at the backend");
    // The documented timing: TTL − TTL/5 after the last successful renewal was sent (8 s).
    assert_eq!((last_renewal, cancelled_at), (t0 + secs(8), t0 + secs(8) + TTL - TTL / 5));
    assert_eq!(state(&rutina), RoutineState::Standby, "stands by while the backend is down");
    assert!(!rutina.is_shutting_down(), "no policy applied");
    let failures: Vec<_> = std::iter::from_fn(|| failures.try_recv().ok()).collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].error.to_string().contains("lease was lost"), "{}", failures[0]);
    assert_eq!(runs(&record).len(), 1);
    let status = &rutina.status()[0];
    assert!(status.last_error.as_ref().is_some_and(|error| error.to_string().contains("lease was lost")));
    assert_eq!(status.consecutive_failures, 0, "a lost lease is not the routine's failure");

    backend.set_down(false);
    let back = Instant::now();
    until_runs(&record, 2).await;
    let second = runs(&record)[1].clone();
    assert!(second.started - back <= TTL / 4, "runs again within TTL/4 of the backend's return");
    assert_eq!(second.attempt, 2);
    assert!(second.fencing > first.fencing, "{:?} then {:?}", first.fencing, second.fencing);
    assert_eq!(state(&rutina), RoutineState::Running);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

/// A backend that keeps going down (a database restarted again and again) stops the
/// holder's run each time, which is no crash loop: restarting the replica would cure
/// nothing, so it stays live.
#[tokio::test(start_paused = true)]
async fn leases_lost_again_and_again_are_no_crash_loop() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let rutina = Rutina::new(Options::default().lease(backend.clone()));
    rutina.go_with(singleton(0, record.clone()), RunOptions::default().name("relay").singleton("relay"));
    for outage in 1..=4 {
        until_runs(&record, outage).await;
        backend.set_down(true);
        sleep(TTL * 2).await;
        assert_eq!(runs(&record).len(), outage, "the run was stopped and none began");
        assert!(rutina.is_live(), "outage {outage}: a lost lease is no crash loop");
        backend.set_down(false);
    }
    until_runs(&record, 5).await;
    assert!(rutina.is_live());
    assert_eq!(rutina.status()[0].consecutive_failures, 0);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_run_deaf_to_its_context_is_dropped_when_the_lease_is_lost() {
    let backend = Arc::new(Memory::default());
    let rutina = Rutina::new(Options::default().lease(backend.clone()));
    let dropped = Arc::new(Mutex::new(None));
    struct DropAt(Arc<Mutex<Option<Instant>>>);
    impl Drop for DropAt {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(Instant::now());
        }
    }
    let seen = dropped.clone();
    let t0 = Instant::now();
    rutina.go_with(
        move |ctx: Context| {
            let guard = (ctx.attempt() == 1).then(|| DropAt(seen.clone()));
            async move {
                let _guard = guard;
                std::future::pending::<std::io::Result<()>>().await
            }
        },
        RunOptions::default().singleton("deaf"),
    );
    sleep(secs(10)).await;
    backend.set_down(true);
    sleep(secs(20)).await;
    assert_eq!(*dropped.lock().unwrap(), Some(t0 + secs(8) + TTL - TTL / 5), "dropped at once: no grace period");
    rutina.shutdown();
    backend.set_down(false);
    let _ = timeout(secs(60), rutina.wait()).await.expect("wait returns");
}

#[tokio::test(start_paused = true)]
async fn fencing_tokens_strictly_grow_across_takeovers() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let groups = replicas(3, &backend, &record);
    for n in 1..=3 {
        until_runs(&record, n).await;
        let holder = runs(&record)[n - 1].replica;
        groups[holder].shutdown();
        groups[holder].wait().await.unwrap();
    }
    let runs = runs(&record);
    let tokens: Vec<_> = runs.iter().map(|run| run.fencing).collect();
    assert_eq!(tokens, [Some(1), Some(2), Some(3)]);
    let mut replicas: Vec<_> = runs.iter().map(|run| run.replica).collect();
    replicas.sort_unstable();
    assert_eq!(replicas, [0, 1, 2], "each replica held it once");
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_singleton_runs_on_one_replica_only() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let groups = scheduled_replicas(2, &backend, &record, || RunOptions::default().every(secs(10)));
    sleep(secs(55)).await;
    let runs = runs(&record);
    assert_eq!(runs.len(), 6, "every 10 s over 55 s, once: {runs:#?}");
    assert!(runs.iter().all(|run| run.replica == runs[0].replica), "one replica: {runs:#?}");
    for rutina in &groups {
        rutina.shutdown();
        rutina.wait().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_singleton_in_a_group_without_a_lease_backend_is_an_error_that_names_the_fix() {
    let rutina = Rutina::default();
    let ran = Arc::new(Mutex::new(false));
    let flag = ran.clone();
    let other = Record::default();
    rutina.go(singleton(0, other.clone()));
    rutina.go_with(
        move |_ctx: Context| {
            *flag.lock().unwrap() = true;
            async { Ok::<_, std::io::Error>(()) }
        },
        RunOptions::default().name("cleanup").singleton("cleanup"),
    );
    let error = timeout(secs(60), rutina.wait()).await.expect("wait returns").unwrap_err();
    match &error {
        Error::Routine { name, source, .. } => {
            assert_eq!(name, "cleanup");
            assert!(source.to_string().contains("Options::lease"), "{source}");
        }
        other => panic!("expected Routine, got {other:?}"),
    }
    assert!(error.to_string().contains("lease"), "{error}");
    assert!(!*ran.lock().unwrap(), "the singleton never ran");
    assert_eq!(runs(&other)[0].cancelled.map(|(_, reason)| reason), Some(Some(CancelReason::Shutdown)));
}

/// `n` replicas of a scheduled singleton (`options`, with `on_error = Restart`), each run
/// recorded in `record`.
fn scheduled_replicas(
    n: usize,
    backend: &Arc<Memory>,
    record: &Record,
    options: impl Fn() -> RunOptions,
) -> Vec<Rutina> {
    (0..n)
        .map(|replica| {
            let rutina = Rutina::new(Options::default().lease(backend.clone()));
            let record = record.clone();
            rutina.go_with(
                move |ctx: Context| {
                    record.lock().unwrap().push(RunRecord::begun(replica, &ctx));
                    async { Ok::<_, std::io::Error>(()) }
                },
                options().on_error(Policy::Restart).singleton("report"),
            );
            rutina
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_singleton_runs_once_per_tick_when_its_period_is_longer_than_the_ttl() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let t0 = Instant::now();
    // Every minute, with a 12 s lease: the holder must keep its lease while it waits.
    let groups = scheduled_replicas(2, &backend, &record, || RunOptions::default().every(secs(60)));
    sleep(secs(605)).await;
    let runs = runs(&record);
    let starts: Vec<_> = runs.iter().map(|run| run.started - t0).collect();
    assert_eq!(starts, (0..=10).map(|n| secs(60 * n)).collect::<Vec<_>>(), "once a minute: {runs:#?}");
    assert!(runs.iter().all(|run| run.replica == runs[0].replica), "on one replica: {runs:#?}");
    for rutina in &groups {
        rutina.shutdown();
        rutina.wait().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_cron_singleton_runs_once_per_matching_time_and_a_takeover_waits_for_the_next_one() {
    let backend = Arc::new(Memory::default());
    let record = Record::default();
    let nightly = || RunOptions::default().cron(rutina::Cron::parse("0 0 3 * * *").unwrap());
    let groups = scheduled_replicas(2, &backend, &record, nightly);
    sleep(secs(1)).await;
    let scheduled: Vec<_> = groups
        .iter()
        .filter_map(|rutina| match state(rutina) {
            RoutineState::Scheduled { until } => Some(until),
            _ => None,
        })
        .collect();
    let first = *scheduled.first().expect("a replica waits for 03:00");
    sleep(first - Instant::now() + secs(3600)).await;
    let night1 = runs(&record);
    assert_eq!(night1.len(), 1, "03:00 came once, on one replica: {night1:#?}");
    assert!(night1[0].started - first < secs(1));
    // The replica that ran goes away during the day: the other takes over, and waits
    // for the next 03:00 instead of running at once.
    let holder = night1[0].replica;
    groups[holder].shutdown();
    groups[holder].wait().await.unwrap();
    sleep(secs(60)).await;
    assert_eq!(runs(&record).len(), 1, "a takeover in the day does not run the nightly job: {:#?}", runs(&record));
    let other = &groups[1 - holder];
    let next = match state(other) {
        RoutineState::Scheduled { until } => until,
        state => panic!("the new holder waits for 03:00, {state:?}"),
    };
    sleep(next - Instant::now() + secs(1)).await;
    let runs = runs(&record);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert_eq!(runs[1].replica, 1 - holder);
    assert!(runs[1].started - next < secs(1));
    other.shutdown();
    other.wait().await.unwrap();
}
