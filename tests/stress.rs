//! Two OS threads hammer one group on a multi-threaded runtime with `go`, `kill`,
//! `processes`, `status` and `subscribe` (one of them ends with a `shutdown` while the
//! other keeps calling `go`): no deadlock (every wait is bounded), no panic, and no
//! lost routine: every id `go` handed out before the shutdown was asked for starts and
//! ends exactly once in the events, every id handed out once the group was shutting
//! down never starts, and `wait` leaves nothing behind.
//!
//! `cargo test -p rutina --test stress` runs 100 000 operations; set
//! `RUTINA_STRESS_OPS=1000000` (or more, best with `--release`) for a dedicated run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rutina::{Backoff, Context, Event, Options, Policy, RunOptions, Rutina};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

const DEFAULT_OPS: u64 = 100_000;
/// Far more than any run needs: past it, something is stuck.
const PATIENCE: Duration = Duration::from_secs(120);

/// Routines alive beyond which a hammering thread kills servers, and events sent but not
/// yet consumed beyond which it waits: (`ALIVE` + 2 × 8) × 10 + `SLACK` < 1024, the
/// group's event channel (see `hammer`).
const ALIVE: usize = 64;
const SLACK: u64 = 128;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % n
    }
}

/// What the caller of `go` knows about the group's state around the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// `go` returned before `shutdown` was asked for: the routine must run.
    Before,
    /// The group was shutting down before `go` was called: the routine must not run.
    After,
    /// Racing with the shutdown: either, but all or nothing.
    Racing,
}

struct Shared {
    rutina: Rutina,
    shutdown_requested: AtomicBool,
    /// How many events the event log has taken in.
    consumed: Arc<AtomicU64>,
    max_id: AtomicU64,
    deadline: Instant,
}

/// Starts one routine of a random kind; returns its id.
fn go_one(rutina: &Rutina, kind: u64) -> rutina::Id {
    let quiet = RunOptions::default().on_error(Policy::DoNothing);
    match kind {
        // A server: until killed or shut down.
        0 | 1 => rutina.go(|ctx: Context| async move {
            ctx.cancelled().await;
            Ok::<_, std::io::Error>(())
        }),
        // Done at once.
        2 => rutina.go(|_ctx: Context| async { Ok::<_, std::io::Error>(()) }),
        // Fails at once: the errors channel.
        3 => rutina.go_with(|_ctx: Context| async { Err::<(), _>(std::io::Error::other("failed")) }, quiet),
        // Restarts twice, then fails and ends.
        4 => {
            rutina.go_with(
                |ctx: Context| async move {
                    if ctx.attempt() < 3 { Ok(()) } else { Err(std::io::Error::other("third run")) }
                },
                quiet.on_done(Policy::Restart).backoff(Backoff::none()),
            )
        }
        // Yields a few times.
        5 => rutina.go(|_ctx: Context| async {
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
            Ok::<_, std::io::Error>(())
        }),
        // Panics.
        6 => rutina.go_with(
            |_ctx: Context| async {
                panic!("stress panic");
                #[allow(unreachable_code)]
                Ok::<_, std::io::Error>(())
            },
            quiet,
        ),
        // Times out (and then returns at once).
        _ => rutina.go_with(
            |ctx: Context| async move {
                ctx.cancelled().await;
                Ok::<_, std::io::Error>(())
            },
            quiet.timeout(Duration::from_millis(1)),
        ),
    }
}

/// One hammering thread: `ops` random operations; the thread `shutter` asks for the
/// shutdown after 90 % of them.
fn hammer(shared: &Shared, seed: u64, ops: u64, shutter: bool) -> Vec<(rutina::Id, When)> {
    let rutina = &shared.rutina;
    let mut rng = Rng(seed);
    let mut mine: Vec<(rutina::Id, When)> = Vec::new();
    let mut receivers = Vec::new();
    // Counts the events sent, to keep within reach of the event log.
    let mut produced = 0;
    let mut counter = rutina.subscribe();
    for op in 0..ops {
        assert!(Instant::now() < shared.deadline, "stuck: op {op} of {ops}");
        if shutter && op == ops * 9 / 10 {
            shared.shutdown_requested.store(true, Ordering::SeqCst);
            rutina.shutdown();
        }
        // Keep the event consumer (and the workers) within reach of the group's event
        // channel (1024 events): at most `ALIVE` routines alive, each with at most 10
        // events still to come (three runs of a restarting one, a kill), plus 8 ops of
        // each thread between checks, plus `SLACK` events sent and not consumed yet.
        if op % 8 == 0 {
            loop {
                loop {
                    match counter.try_recv() {
                        Ok(_) => produced += 1,
                        Err(TryRecvError::Lagged(n)) => produced += n,
                        Err(_) => break,
                    }
                }
                let alive = rutina.processes();
                if alive.len() > ALIVE {
                    for id in &alive[..32] {
                        let _ = rutina.kill(*id); // servers only end this way
                    }
                } else if produced.saturating_sub(shared.consumed.load(Ordering::SeqCst)) <= SLACK {
                    break;
                }
                assert!(Instant::now() < shared.deadline, "the group does not drain");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        match rng.below(100) {
            0..40 => {
                let shutting_down = rutina.is_shutting_down();
                let id = go_one(rutina, rng.below(8));
                let when = if shutting_down {
                    When::After
                } else if !shared.shutdown_requested.load(Ordering::SeqCst) {
                    When::Before
                } else {
                    When::Racing
                };
                shared.max_id.fetch_max(id.get(), Ordering::SeqCst);
                mine.push((id, when));
            }
            40..65 => {
                let target = if mine.is_empty() || rng.below(2) == 0 {
                    let alive = rutina.processes();
                    (!alive.is_empty()).then(|| alive[rng.below(alive.len() as u64) as usize])
                } else {
                    Some(mine[rng.below(mine.len() as u64) as usize].0)
                };
                if let Some(id) = target {
                    let _ = rutina.kill(id); // Ok, or NotFound if it ended: both fine
                }
            }
            65..80 => {
                let ids = rutina.processes();
                assert!(ids.windows(2).all(|w| w[0] < w[1]), "processes ascending and unique: {ids:?}");
                // The other thread may be inside `go`, its id not yet in `max_id`.
                let max = shared.max_id.load(Ordering::SeqCst) + 1;
                assert!(ids.iter().all(|id| id.get() <= max), "no unknown id: {ids:?} > {max}");
            }
            80..90 => {
                let status = rutina.status();
                assert!(status.windows(2).all(|w| w[0].id < w[1].id), "status ascending");
                assert!(status.iter().all(|s| s.attempt <= 3), "no routine here runs more than 3 times");
            }
            _ => {
                let mut rx = rutina.subscribe();
                let _ = rx.try_recv();
                if receivers.len() < 4 {
                    receivers.push(rx); // a few idle subscribers that lag and are dropped later
                }
            }
        }
    }
    mine
}

/// Silences the panics the routines make on purpose.
fn quiet_stress_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"stress panic") {
            default(info);
        }
    }));
}

#[test]
fn two_threads_hammer_one_group() {
    quiet_stress_panics();
    let ops: u64 = std::env::var("RUTINA_STRESS_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_OPS);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let started = Instant::now();
    let (errors, mut failures) = tokio::sync::mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(errors));

    // The event log, drained as it goes.
    let mut events = rutina.subscribe();
    // On a thread of its own, not to queue behind thousands of routines' tasks; it
    // ends when the group is gone (the channel closes).
    let consumed = Arc::new(AtomicU64::new(0));
    let consumer = {
        let consumed = consumed.clone();
        std::thread::spawn(move || {
            let mut log: Vec<Event> = Vec::new();
            loop {
                match events.blocking_recv() {
                    Ok(event) => {
                        log.push(event);
                        consumed.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(RecvError::Lagged(n)) => panic!("the event log lagged by {n}"),
                    Err(RecvError::Closed) => return log,
                }
            }
        })
    };

    let shared = Arc::new(Shared {
        rutina: rutina.clone(),
        shutdown_requested: AtomicBool::new(false),
        consumed,
        max_id: AtomicU64::new(0),
        deadline: Instant::now() + PATIENCE,
    });
    let (finished, finishing) = mpsc::channel();
    for thread in 0..2u64 {
        let (shared, finished, handle) = (shared.clone(), finished.clone(), runtime.handle().clone());
        std::thread::spawn(move || {
            let _runtime = handle.enter();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                hammer(&shared, 0x9e37_79b9_7f4a_7c15 ^ (thread + 1), ops / 2, thread == 0)
            }));
            let _ = finished.send(result);
        });
    }
    let mut handed_out: Vec<(rutina::Id, When)> = Vec::new();
    for _ in 0..2 {
        match finishing.recv_timeout(PATIENCE) {
            Ok(Ok(ids)) => handed_out.extend(ids),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => panic!("a hammering thread is stuck (deadlock?)"),
        }
    }

    let result = runtime.block_on(async { tokio::time::timeout(PATIENCE, rutina.wait()).await });
    let result = result.expect("wait is stuck (deadlock?)");
    assert!(result.is_ok(), "{result:?}");
    assert!(rutina.processes().is_empty());
    assert!(rutina.status().is_empty());
    drop((rutina, shared));
    let (logged, log_done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = logged.send(consumer.join());
    });
    let log = match log_done.recv_timeout(PATIENCE) {
        Ok(Ok(log)) => log,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the event channel never closed: the group outlives its handles and tasks"),
    };
    // Tasks leave tokio's count just after our bookkeeping: give the workers a moment.
    let metrics = runtime.metrics();
    let settle = Instant::now();
    while metrics.num_alive_tasks() > 0 && settle.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(metrics.num_alive_tasks(), 0, "tasks left after wait");

    // Every id handed out once.
    let mut ids: Vec<u64> = handed_out.iter().map(|(id, _)| id.get()).collect();
    ids.sort_unstable();
    assert!(ids.iter().enumerate().all(|(i, id)| *id == i as u64 + 1), "ids 1..=n, each once");

    // Per id: how many Started, how many Stopped, and whether Stopped came last.
    #[derive(Default)]
    struct Life {
        started: u32,
        stopped: u32,
        stopped_runs: u32,
        last_is_stopped: bool,
    }
    let mut lives: HashMap<u64, Life> = HashMap::new();
    for event in &log {
        let (id, stop) = match event {
            Event::Started { id, .. } | Event::Finished { id, .. } | Event::Restarting { id, .. } => (id, None),
            Event::Killed { id, .. } | Event::Aborted { id, .. } => (id, None),
            Event::Stopped { id, runs, .. } => (id, Some(*runs)),
            _ => continue,
        };
        let life = lives.entry(id.get()).or_default();
        if matches!(event, Event::Started { .. }) {
            life.started += 1;
        }
        life.last_is_stopped = stop.is_some();
        if let Some(runs) = stop {
            life.stopped += 1;
            life.stopped_runs = runs;
        }
    }
    let (mut before, mut after, mut racing_ran, mut racing_not) = (0, 0, 0, 0);
    for (id, when) in &handed_out {
        let life = lives.remove(&id.get());
        match (when, life) {
            (When::After, None) => after += 1,
            (When::After, Some(_)) => panic!("{id}, handed out during the shutdown, ran"),
            (When::Before | When::Racing, Some(life)) => {
                assert!(life.started >= 1, "{id} stopped without starting");
                assert_eq!(life.stopped, 1, "{id} must stop exactly once");
                assert!(life.last_is_stopped, "{id}: Stopped is its last event");
                assert_eq!(life.stopped_runs, life.started, "{id}: Stopped counts its runs");
                if *when == When::Before {
                    before += 1;
                } else {
                    racing_ran += 1;
                }
            }
            (When::Before, None) => panic!("{id} was lost: handed out before the shutdown, never ran"),
            (When::Racing, None) => racing_not += 1,
        }
    }
    assert!(lives.is_empty(), "events of ids never handed out: {:?}", lives.keys().collect::<Vec<_>>());
    let mut reported = 0;
    while let Ok(failure) = failures.try_recv() {
        assert!(failure.id.get() <= ids.len() as u64);
        reported += 1;
    }
    eprintln!(
        "stress: {ops} operations in {:.1?}: {} routines ({before} before the shutdown, {after} refused during it, \
         {racing_ran}/{} racing with it ran), {} events, {reported} failures reported",
        started.elapsed(),
        handed_out.len(),
        racing_ran + racing_not,
        log.len(),
    );
    assert!(before > 0 && reported > 0);
}
