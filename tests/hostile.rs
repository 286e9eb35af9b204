//! Hostile routines: one that blocks its worker thread, ones that panic while being
//! dropped, one whose error panics when displayed. The orchestrator survives each and
//! reports what happened (`wait`'s error, the errors channel, the events).
//!
//! The blocking tests need real threads, so real time: their bounds are generous (a
//! second or more of slack) and only check that nothing waits for what it should not.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rutina::{Context, Error, Event, Options, Outcome, Policy, RoutineError, RunOptions, Rutina};
use tokio::sync::mpsc;

/// Panics raised on purpose here start with this; the hook keeps them quiet.
const HOSTILE: &str = "hostile:";

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

fn drain(rx: &mut mpsc::UnboundedReceiver<RoutineError>) -> Vec<RoutineError> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

/// Multi-threaded runtimes count a finished task a moment after our bookkeeping.
async fn settle_tasks() -> usize {
    for _ in 0..200 {
        if alive_tasks() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    alive_tasks()
}

// ----- a routine that blocks its thread -----------------------------------------------

/// Servers that record how long after `since` they saw the cancellation.
fn timed_server(
    since: Arc<Mutex<Option<Instant>>>,
    lags: Arc<Mutex<Vec<Duration>>>,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> + Send {
    move |ctx: Context| {
        let (since, lags) = (since.clone(), lags.clone());
        Box::pin(async move {
            ctx.cancelled().await;
            let since = since.lock().unwrap().expect("cancelled after the shutdown");
            lags.lock().unwrap().push(since.elapsed());
            Ok(())
        })
    }
}

/// A routine that sleeps its worker thread in a loop, yielding between naps, deaf to
/// cancellation: the other routines still drain at once on the other worker, and the
/// grace period aborts it at its next yield.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_blocking_routine_does_not_hold_up_the_others() {
    let grace = Duration::from_millis(300);
    let nap = Duration::from_millis(1000);
    let rutina = Rutina::new(Options::default().shutdown_timeout(grace));
    let blocking = rutina.go_with(
        move |_ctx: Context| async move {
            loop {
                std::thread::sleep(nap);
                tokio::task::yield_now().await;
            }
            #[allow(unreachable_code)]
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("blocking"),
    );
    let since = Arc::new(Mutex::new(None));
    let lags = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..4 {
        rutina.go(timed_server(since.clone(), lags.clone()));
    }
    tokio::time::sleep(Duration::from_millis(50)).await; // the blocker is blocking now
    *since.lock().unwrap() = Some(Instant::now());
    rutina.shutdown();
    let result = tokio::time::timeout(Duration::from_secs(20), rutina.wait()).await.expect("wait returns");
    let took = since.lock().unwrap().unwrap().elapsed();
    match result {
        Err(Error::Aborted { stuck, cause: None }) => assert_eq!(stuck, vec![(blocking, "blocking".to_owned())]),
        other => panic!("expected the blocking routine aborted, got {other:?}"),
    }
    let lags = lags.lock().unwrap().clone();
    assert_eq!(lags.len(), 4);
    assert!(lags.iter().all(|lag| *lag < grace), "the servers drained during the grace period: {lags:?}");
    assert!(took >= grace, "aborted at the end of the grace period, not before: {took:?}");
    assert!(took < grace + nap + Duration::from_secs(2), "aborted at its first yield after it: {took:?}");
    assert_eq!(settle_tasks().await, 0);
}

/// A routine that never yields during a long block cannot be aborted before it yields:
/// `wait` returns when it does (what tokio allows), and the others are not held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routine_blocked_past_the_grace_period_is_aborted_when_it_yields() {
    let grace = Duration::from_millis(100);
    let block = Duration::from_millis(1500);
    let rutina = Rutina::new(Options::default().shutdown_timeout(grace));
    let unblocked = Arc::new(Mutex::new(None));
    let seen = unblocked.clone();
    rutina.go(move |_ctx: Context| {
        let seen = seen.clone();
        async move {
            std::thread::sleep(block);
            *seen.lock().unwrap() = Some(Instant::now());
            std::future::pending::<()>().await;
            Ok::<_, std::io::Error>(())
        }
    });
    let since = Arc::new(Mutex::new(None));
    let lags = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..4 {
        rutina.go(timed_server(since.clone(), lags.clone()));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    *since.lock().unwrap() = Some(Instant::now());
    rutina.shutdown();
    let result = tokio::time::timeout(Duration::from_secs(20), rutina.wait()).await.expect("wait returns");
    let returned = Instant::now();
    assert!(matches!(result, Err(Error::Aborted { ref stuck, .. }) if stuck.len() == 1), "{result:?}");
    let unblocked = unblocked.lock().unwrap().expect("it came back from its block");
    assert!(returned >= unblocked, "wait returned once the blocked routine could be dropped");
    let lags = lags.lock().unwrap().clone();
    assert_eq!(lags.len(), 4);
    assert!(lags.iter().all(|lag| *lag < block), "the others drained while it blocked: {lags:?}");
    assert_eq!(settle_tasks().await, 0);
}

// ----- panics while being dropped -------------------------------------------------------

/// Panics when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{HOSTILE} {} dropped", self.0);
        }
    }
}

/// A value held by a run that panics when dropped as the run returns: the run
/// panicked (its locals are dropped within its last poll), and the group goes on.
#[tokio::test(start_paused = true)]
async fn a_run_whose_locals_panic_when_dropped() {
    rutina_tests::panics::quiet_panics_starting_with(HOSTILE);
    let (tx, mut errors) = mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(tx));
    let mut events = rutina.subscribe();
    let runs = Arc::new(AtomicU32::new(0));
    let seen = runs.clone();
    let restarted = rutina.go_with(
        move |_ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async {
                let _guard = PanicOnDrop("local");
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err::<(), _>(std::io::Error::other("failed, then panicked in drop"))
            }
        },
        RunOptions::default().on_error(Policy::Restart).max_count(2).backoff(rutina::Backoff::none()),
    );
    match rutina.wait().await {
        Err(Error::RunLimit { id, runs: 3, last_error: Some(last), .. }) => {
            assert_eq!(id, restarted);
            assert_eq!(last.to_string(), format!("panicked: {HOSTILE} local dropped"));
        }
        other => panic!("expected RunLimit after 3 runs, got {other:?}"),
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(drain(&mut errors).len(), 2, "the first two failures");
    let panicked = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|event| matches!(event, Event::Finished { outcome: Outcome::Panicked(_), .. }))
        .count();
    assert_eq!(panicked, 3);
    assert_eq!(alive_tasks(), 0);
}

/// A future that returns, then panics in its own `Drop`.
struct ReturnsThenPanics;

impl Future for ReturnsThenPanics {
    type Output = Result<(), rutina::BoxError>;

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Err("returned, then panicked in drop".into()))
    }
}

impl Drop for ReturnsThenPanics {
    fn drop(&mut self) {
        panic!("{HOSTILE} future dropped");
    }
}

/// A `Routine` implemented by hand, whose run is that future itself.
struct HandWritten;

impl rutina::Routine for HandWritten {
    fn run(&mut self, _ctx: Context) -> impl Future<Output = Result<(), rutina::BoxError>> + Send {
        ReturnsThenPanics
    }
}

/// A run's future that panics in its own `Drop` after it returned, as a closure's run and
/// as a hand-written `Routine`'s: either way rutina drops it after the outcome is known,
/// the outcome it returned stands and the panic is logged. The panic is contained and
/// the failure reported once.
#[tokio::test(start_paused = true)]
async fn a_future_that_panics_when_dropped_after_returning() {
    rutina_tests::panics::quiet_panics_starting_with(HOSTILE);
    for hand_written in [false, true] {
        let (tx, mut errors) = mpsc::unbounded_channel();
        let rutina = Rutina::new(Options::default().errors(tx));
        let options = RunOptions::default().on_error(Policy::Restart).max_count(1).backoff(rutina::Backoff::none());
        let id = if hand_written {
            rutina.go_with(HandWritten, options)
        } else {
            rutina.go_with(|_ctx: Context| ReturnsThenPanics, options)
        };
        let expected = "returned, then panicked in drop";
        match rutina.wait().await {
            Err(Error::RunLimit { id: rid, runs: 2, last_error: Some(last), .. }) => {
                assert_eq!(rid, id);
                assert_eq!(last.to_string(), expected);
            }
            other => panic!("expected RunLimit after 2 runs, got {other:?}"),
        }
        let reported = drain(&mut errors);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].error.to_string(), expected);
        assert_eq!(alive_tasks(), 0);
    }
}

/// The routine itself (the closure and what it captured) panics when dropped, at the
/// end of its task: its end is still seen, and nothing is left.
#[tokio::test(start_paused = true)]
async fn a_routine_that_panics_when_dropped() {
    rutina_tests::panics::quiet_panics_starting_with(HOSTILE);
    let rutina = Rutina::default();
    let mut events = rutina.subscribe();
    let guard = PanicOnDrop("routine");
    let id = rutina.go(move |_ctx: Context| {
        let _captured = &guard;
        async { Ok::<_, std::io::Error>(()) }
    });
    let server = rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rutina.processes(), vec![server], "the dropped routine left the group");
    rutina.shutdown();
    assert!(rutina.wait().await.is_ok());
    let stopped: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|event| match event {
            Event::Stopped { id, runs, .. } => Some((id, runs)),
            _ => None,
        })
        .collect();
    assert!(stopped.contains(&(id, 1)), "{stopped:?}");
    assert_eq!(alive_tasks(), 0);
}

/// A stuck routine holding a value that panics when dropped is aborted at the end of
/// the grace period: the abort drops it, the panic is contained, `wait` reports it.
#[tokio::test(start_paused = true)]
async fn an_aborted_routine_that_panics_when_dropped() {
    rutina_tests::panics::quiet_panics_starting_with(HOSTILE);
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(1)));
    let stuck = rutina.go(|_ctx: Context| async {
        let _guard = PanicOnDrop("aborted future");
        std::future::pending::<()>().await;
        Ok::<_, std::io::Error>(())
    });
    // Killed: it ignores that too, and its drop panics when the kill's result is in.
    let killed = rutina.go(|ctx: Context| async move {
        let _guard = PanicOnDrop("killed future");
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    rutina.kill(killed).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rutina.processes(), vec![stuck]);
    rutina.shutdown();
    match rutina.wait().await {
        Err(Error::Aborted { stuck: list, cause: None }) => assert_eq!(list.len(), 1),
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert!(rutina.processes().is_empty());
    assert_eq!(alive_tasks(), 0);
}

/// A panic whose payload panics when dropped.
#[tokio::test(start_paused = true)]
async fn a_panic_payload_that_panics_when_dropped() {
    rutina_tests::panics::quiet_panics_starting_with(HOSTILE);
    let rutina = Rutina::default();
    let id = rutina.go(|_ctx: Context| async {
        std::panic::panic_any(PanicOnDrop("payload"));
        #[allow(unreachable_code)]
        Ok::<_, std::io::Error>(())
    });
    match rutina.wait().await {
        Err(Error::Panicked { id: pid, .. }) => assert_eq!(pid, id),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(alive_tasks(), 0);
}

// ----- an error whose Display panics ---------------------------------------------------

#[derive(Debug)]
struct Unprintable;

impl fmt::Display for Unprintable {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("{HOSTILE} Display")
    }
}

impl std::error::Error for Unprintable {}

/// Logged (with a subscriber that formats every field), sent to the channel, carried
/// as an event and as `wait`'s error: nothing of rutina's formats it unguarded.
#[test]
fn an_error_whose_display_panics() {
    rutina_tests::panics::quiet_panics_starting_with(HOSTILE);
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(std::io::sink).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    runtime.block_on(async {
        let (tx, mut errors) = mpsc::unbounded_channel();
        let rutina = Rutina::new(Options::default().errors(tx));
        let mut events = rutina.subscribe();
        // Under DoNothing: to the channel; restarted: to the channel, then RunLimit.
        let ignored = rutina.go_with(
            |_ctx: Context| async { Err::<(), _>(Unprintable) },
            RunOptions::default().on_error(Policy::DoNothing),
        );
        let limited = rutina.go_with(
            |_ctx: Context| async { Err::<(), _>(Unprintable) },
            RunOptions::default().on_error(Policy::Restart).max_count(1).backoff(rutina::Backoff::none()),
        );
        let error = rutina.wait().await.unwrap_err();
        match &error {
            Error::RunLimit { id, runs: 2, last_error: Some(last), .. } => {
                assert_eq!(*id, limited);
                assert!(last.is::<Unprintable>());
            }
            other => panic!("expected RunLimit, got {other:?}"),
        }
        // What `rutina::main!` prints: guarded too.
        let report = rutina::ErrorReport::new(&error).to_string();
        assert!(report.starts_with("error: "), "{report}");
        let reported = drain(&mut errors);
        let ids: Vec<_> = reported.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(&ignored) && ids.contains(&limited));
        assert!(reported.iter().all(|e| e.error.is::<Unprintable>()));
        let failed = std::iter::from_fn(|| events.try_recv().ok())
            .filter(|event| matches!(event, Event::Finished { outcome: Outcome::Failed(_), .. }))
            .count();
        assert_eq!(failed, 3);

        // Under Shutdown: wait's error.
        let rutina = Rutina::default();
        let id = rutina.go(|_ctx: Context| async { Err::<(), _>(Unprintable) });
        match rutina.wait().await {
            Err(Error::Routine { id: rid, source, .. }) => {
                assert_eq!(rid, id);
                assert!(source.is::<Unprintable>());
            }
            other => panic!("expected Routine, got {:?}", other.map_err(|_| "an error")),
        }
        assert_eq!(alive_tasks(), 0);
    });
}

/// An error whose `source()` panics: `main!`'s report ends the chain there.
#[derive(Debug)]
struct BrokenChain;

impl std::fmt::Display for BrokenChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("broken chain")
    }
}

impl std::error::Error for BrokenChain {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        panic!("source() panicked")
    }
}

#[tokio::test(start_paused = true)]
async fn an_error_whose_source_panics_is_still_reported() {
    let rutina = Rutina::default();
    rutina.go(|_ctx: Context| async { Err::<(), _>(BrokenChain) });
    let error = rutina.wait().await.expect_err("the failure decides the group");
    let report = rutina::ErrorReport::new(&error).to_string();
    assert!(report.starts_with("error: routine `routine-1` (#1) failed: broken chain"), "{report}");
}
