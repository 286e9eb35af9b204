//! The limits of one run hold (rule 5, round 2): a run that outlives its timeout or
//! its heartbeat is cancelled, then dropped — at once, or once its grace period has
//! passed — and counts as a failure whatever it does meanwhile. A restart never
//! overlaps the run it replaces. Paused clock throughout: every time is exact.

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{
    Backoff, CancelReason, Context, Error, Event, HungError, Options, Outcome, Policy, RoutineError, RunOptions,
    Rutina, TimeoutError,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

type Result<T = ()> = std::result::Result<T, std::io::Error>;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// When something happened, shared with a routine.
#[derive(Clone, Default)]
struct When(Arc<Mutex<Option<Instant>>>);

impl When {
    fn now(&self) {
        *self.0.lock().unwrap() = Some(Instant::now());
    }

    fn get(&self) -> Option<Instant> {
        *self.0.lock().unwrap()
    }

    /// Waits (on the paused clock, up to an hour) until it happened.
    async fn wait(&self) -> Instant {
        timeout(secs(3600), async {
            loop {
                if let Some(at) = self.get() {
                    return at;
                }
                sleep(millis(1)).await;
            }
        })
        .await
        .expect("it happens")
    }
}

/// Records when it is dropped: a run holding it was dropped (or returned) then.
struct DropAt(When);

impl Drop for DropAt {
    fn drop(&mut self) {
        self.0.now();
    }
}

/// Counts the runs in progress; panics (and remembers) if two overlap.
#[derive(Clone, Default)]
struct OneAtATime {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

/// Held by a run while it is in progress.
struct InRun(Arc<AtomicUsize>);

impl OneAtATime {
    fn enter(&self) -> InRun {
        let running = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(running, Ordering::SeqCst);
        assert_eq!(running, 1, "two runs of one routine at once");
        InRun(self.now.clone())
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

impl Drop for InRun {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn drain<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> Vec<T> {
    let mut out = Vec::new();
    while let Ok(item) = rx.try_recv() {
        out.push(item);
    }
    out
}

fn finished(events: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<(u32, Outcome)> {
    let mut out = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::Finished { attempt, outcome, .. } = event {
            out.push((attempt, outcome));
        }
    }
    out
}

// ----- timeouts ---------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_run_deaf_to_its_context_is_dropped_at_its_timeout_without_a_grace_period() {
    let rutina = Rutina::default();
    let dropped = When::default();
    let seen = dropped.clone();
    let id = rutina.go_with(
        move |_ctx: Context| {
            let guard = DropAt(seen.clone());
            async move {
                let _guard = guard;
                pending::<Result>().await
            }
        },
        RunOptions::default().name("deaf").timeout(secs(3)),
    );
    let t0 = Instant::now();
    match rutina.wait().await {
        Err(Error::TimedOut { id: eid, name, timeout }) => assert_eq!((eid, &*name, timeout), (id, "deaf", secs(3))),
        other => panic!("expected TimedOut, got {other:?}"),
    }
    assert_eq!(t0.elapsed(), secs(3), "wait returns at the timeout");
    assert_eq!(dropped.get(), Some(t0 + secs(3)), "the run was dropped at its timeout");
}

#[tokio::test(start_paused = true)]
async fn a_deaf_run_is_dropped_at_its_timeout_plus_its_grace_period() {
    let rutina = Rutina::default();
    let dropped = When::default();
    let cancelled = Arc::new(Mutex::new(None));
    let (seen, told) = (dropped.clone(), cancelled.clone());
    rutina.go_with(
        move |ctx: Context| {
            let guard = DropAt(seen.clone());
            let told = told.clone();
            async move {
                let _guard = guard;
                ctx.cancelled().await;
                *told.lock().unwrap() = Some((Instant::now(), ctx.cancel_reason()));
                // Deaf from here on.
                pending::<Result>().await
            }
        },
        RunOptions::default().timeout(secs(3)).grace_period(secs(2)),
    );
    let t0 = Instant::now();
    assert!(matches!(rutina.wait().await, Err(Error::TimedOut { .. })));
    assert_eq!(t0.elapsed(), secs(5));
    assert_eq!(
        *cancelled.lock().unwrap(),
        Some((t0 + secs(3), Some(CancelReason::TimedOut))),
        "the context is cancelled at the timeout, for TimedOut"
    );
    assert_eq!(dropped.get(), Some(t0 + secs(5)), "dropped once the grace period passed");
}

#[tokio::test(start_paused = true)]
async fn a_run_that_returns_ok_within_its_grace_after_the_timeout_is_timed_out() {
    let rutina = Rutina::default();
    let mut events = rutina.subscribe();
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(secs(1)).await; // cleans up, well within the grace period
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().timeout(secs(2)).grace_period(secs(10)),
    );
    let t0 = Instant::now();
    match rutina.wait().await {
        Err(Error::TimedOut { timeout, .. }) => assert_eq!(timeout, secs(2)),
        other => panic!("a run that returned Ok after its timeout is still TimedOut: {other:?}"),
    }
    assert_eq!(t0.elapsed(), secs(3), "it returned (was not dropped) a second after its timeout");
    let runs = finished(&mut events);
    assert!(matches!(runs.as_slice(), [(1, Outcome::TimedOut(t))] if *t == secs(2)), "{runs:?}");
}

#[tokio::test(start_paused = true)]
async fn a_run_that_panics_within_its_grace_after_the_timeout_is_panicked() {
    rutina_tests::panics::quiet_panics_starting_with("limits: on purpose");
    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(secs(1)).await;
            panic!("limits: on purpose, while stopping");
            #[allow(unreachable_code)]
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("clumsy").timeout(secs(2)).grace_period(secs(10)),
    );
    let t0 = Instant::now();
    match rutina.wait().await {
        Err(Error::Panicked { name, message, .. }) => {
            assert_eq!((&*name, &*message), ("clumsy", "limits: on purpose, while stopping"));
        }
        other => panic!("a panic within the grace period is a panic: {other:?}"),
    }
    assert_eq!(t0.elapsed(), secs(3));
}

#[tokio::test(start_paused = true)]
async fn restart_after_a_dropped_run_starts_the_next_run_only_once_the_old_one_is_gone() {
    let (errors, mut failures) = mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(errors));
    let guard = OneAtATime::default();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let (runs, started) = (guard.clone(), starts.clone());
    let t0 = Instant::now();
    rutina.go_with(
        move |ctx: Context| {
            let in_run = runs.enter();
            started.lock().unwrap().push((ctx.attempt(), t0.elapsed()));
            async move {
                let _in_run = in_run;
                ctx.cancelled().await;
                pending::<Result>().await // deaf once cancelled
            }
        },
        RunOptions::default()
            .on_error(Policy::Restart)
            .backoff(Backoff::none())
            .max_count(3)
            .timeout(secs(1))
            .grace_period(millis(500)),
    );
    match rutina.wait().await {
        Err(Error::RunLimit { runs: 4, last_error: Some(error), .. }) => {
            assert_eq!(error.downcast_ref::<TimeoutError>(), Some(&TimeoutError { timeout: secs(1) }));
        }
        other => panic!("expected RunLimit after 4 runs, got {other:?}"),
    }
    assert_eq!(guard.most(), 1, "never two runs at once");
    let starts = starts.lock().unwrap().clone();
    assert_eq!(starts, vec![(1, millis(0)), (2, millis(1500)), (3, millis(3000)), (4, millis(4500))]);
    let failures = drain(&mut failures);
    assert_eq!(failures.iter().map(|f| f.attempt).collect::<Vec<_>>(), [1, 2, 3], "the 4th is wait's error");
}

#[tokio::test(start_paused = true)]
async fn a_nested_group_owned_by_a_run_dropped_at_its_timeout_aborts_its_routines_at_once() {
    let inner_dropped = When::default();
    let outer = Rutina::default();
    let seen = inner_dropped.clone();
    outer.go_with(
        move |_ctx: Context| {
            let seen = seen.clone();
            async move {
                // No parent token: the inner group does not hear the outer run's cancellation.
                let inner = Rutina::default();
                inner.go(move |_ctx: Context| {
                    let guard = DropAt(seen.clone());
                    async move {
                        let _guard = guard;
                        pending::<Result>().await
                    }
                });
                inner.wait().await
            }
        },
        RunOptions::default().name("outer").timeout(secs(1)),
    );
    let t0 = Instant::now();
    assert!(matches!(outer.wait().await, Err(Error::TimedOut { .. })));
    assert_eq!(t0.elapsed(), secs(1));
    assert_eq!(inner_dropped.wait().await, t0 + secs(1), "the inner routine was aborted with the outer run");
}

// ----- heartbeats -------------------------------------------------------------------

/// Beats at 1 s, 2 s and 3 s, then goes silent (deaf to its context).
fn beats_three_times_then_hangs(
    dropped: When,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = Result> + Send>> {
    move |ctx: Context| {
        let guard = DropAt(dropped.clone());
        Box::pin(async move {
            let _guard = guard;
            for _ in 0..3 {
                sleep(secs(1)).await;
                ctx.heartbeat();
            }
            pending::<Result>().await
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_silent_after_its_last_beat_is_hung_one_period_later() {
    let rutina = Rutina::default();
    let mut events = rutina.subscribe();
    let dropped = When::default();
    let id = rutina.go_with(
        beats_three_times_then_hangs(dropped.clone()),
        RunOptions::default().name("consumer").heartbeat(secs(2)),
    );
    let t0 = Instant::now();
    match rutina.wait().await {
        Err(Error::Hung { id: eid, name, heartbeat }) => {
            assert_eq!((eid, &*name, heartbeat), (id, "consumer", secs(2)))
        }
        other => panic!("expected Hung, got {other:?}"),
    }
    assert_eq!(t0.elapsed(), secs(5), "hung two seconds after its last beat at 3 s");
    assert_eq!(dropped.get(), Some(t0 + secs(5)), "no grace period: dropped at once");
    let runs = finished(&mut events);
    assert!(matches!(runs.as_slice(), [(1, Outcome::Hung(p))] if *p == secs(2)), "{runs:?}");
}

#[tokio::test(start_paused = true)]
async fn a_run_that_never_beats_is_hung_one_period_after_it_began() {
    let rutina = Rutina::default();
    let t0 = Instant::now();
    rutina.go_with(|_ctx: Context| pending::<Result>(), RunOptions::default().heartbeat(secs(7)));
    assert!(matches!(rutina.wait().await, Err(Error::Hung { .. })));
    assert_eq!(t0.elapsed(), secs(7));
}

#[tokio::test(start_paused = true)]
async fn beating_keeps_a_run_alive_indefinitely() {
    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            for _ in 0..10_000 {
                sleep(millis(1900)).await;
                ctx.heartbeat();
            }
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().heartbeat(secs(2)),
    );
    let t0 = Instant::now();
    rutina.wait().await.expect("a beating run is never hung");
    assert_eq!(t0.elapsed(), millis(1900) * 10_000);
}

#[tokio::test(start_paused = true)]
async fn a_hung_run_under_restart_or_do_nothing_goes_to_the_errors_channel() {
    for policy in [Policy::Restart, Policy::DoNothing] {
        let (errors, mut failures) = mpsc::unbounded_channel();
        let rutina = Rutina::new(Options::default().errors(errors));
        let t0 = Instant::now();
        let id = rutina.go_with(
            |ctx: Context| async move {
                if ctx.attempt() == 1 {
                    pending::<()>().await;
                }
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name("wedged").on_error(policy).heartbeat(secs(4)),
        );
        rutina.wait().await.expect("a failure under Restart or DoNothing decides nothing");
        let failures: Vec<RoutineError> = drain(&mut failures);
        assert_eq!(failures.len(), 1, "{policy:?}: {failures:?}");
        let failure = &failures[0];
        assert_eq!((failure.id, &*failure.name, failure.attempt), (id, "wedged", 1));
        assert_eq!(failure.error.downcast_ref::<HungError>(), Some(&HungError { heartbeat: secs(4) }));
        assert!(failure.to_string().contains("hung: no heartbeat for 4s"), "{failure}");
        // Restart: run 2 after the default backoff (milliseconds), then Ok; DoNothing: ends at 4 s.
        assert!(t0.elapsed() >= secs(4) && t0.elapsed() < secs(5), "{policy:?}: {:?}", t0.elapsed());
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_run_gets_its_grace_period_and_the_group_is_not_live_while_it_is_hung() {
    let (errors, mut failures) = mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(errors));
    let monitor = rutina.monitor();
    let dropped = When::default();
    let cancelled = Arc::new(Mutex::new(None));
    let (seen, told) = (dropped.clone(), cancelled.clone());
    let second_run = When::default();
    let second = second_run.clone();
    rutina.go_with(
        move |ctx: Context| {
            let guard = DropAt(seen.clone());
            let (told, second) = (told.clone(), second.clone());
            async move {
                let _guard = guard;
                if ctx.attempt() == 2 {
                    second.now();
                    sleep(secs(1)).await;
                    return Ok(());
                }
                ctx.cancelled().await;
                *told.lock().unwrap() = Some((Instant::now(), ctx.cancel_reason()));
                pending::<Result>().await
            }
        },
        RunOptions::default()
            .on_error(Policy::Restart)
            .backoff(Backoff::fixed(secs(1)))
            .heartbeat(secs(2))
            .grace_period(secs(3)),
    );
    let t0 = Instant::now();
    sleep(millis(1500)).await;
    assert!(rutina.is_live() && monitor.is_live(), "not hung yet");
    sleep(secs(1)).await; // 2.5 s
    assert_eq!(*cancelled.lock().unwrap(), Some((t0 + secs(2), Some(CancelReason::Hung))));
    assert!(!rutina.is_live() && !monitor.is_live(), "hung and not returned: not live");
    assert_eq!(dropped.get(), None, "still within its grace period");
    sleep(secs(2)).await; // 4.5 s
    assert!(!rutina.is_live(), "still hung until dropped at 5 s");
    sleep(millis(1000)).await; // 5.5 s
    assert_eq!(dropped.get(), Some(t0 + secs(5)), "dropped at hung + grace");
    assert!(rutina.is_live(), "the hung run ended: live again");
    assert_eq!(second_run.wait().await, t0 + secs(6), "run 2 after the fixed backoff");
    rutina.wait().await.expect("run 2 returned Ok");
    assert_eq!(t0.elapsed(), secs(7));
    let failures = drain(&mut failures);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].error.downcast_ref::<HungError>(), Some(&HungError { heartbeat: secs(2) }));
}

#[tokio::test(start_paused = true)]
async fn a_hung_run_that_returns_ok_within_its_grace_is_hung_anyway() {
    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().heartbeat(secs(2)).grace_period(secs(3)),
    );
    let t0 = Instant::now();
    assert!(matches!(rutina.wait().await, Err(Error::Hung { heartbeat, .. }) if heartbeat == secs(2)));
    assert_eq!(t0.elapsed(), secs(2));
}

#[tokio::test(start_paused = true)]
async fn restart_on_hung_never_overlaps_runs() {
    let rutina = Rutina::default();
    let guard = OneAtATime::default();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let (runs, started) = (guard.clone(), starts.clone());
    let t0 = Instant::now();
    rutina.go_with(
        move |ctx: Context| {
            let in_run = runs.enter();
            started.lock().unwrap().push(t0.elapsed());
            async move {
                let _in_run = in_run;
                ctx.heartbeat();
                ctx.cancelled().await;
                pending::<Result>().await
            }
        },
        RunOptions::default()
            .on_error(Policy::Restart)
            .backoff(Backoff::none())
            .max_count(3)
            .heartbeat(secs(1))
            .grace_period(millis(500)),
    );
    assert!(matches!(rutina.wait().await, Err(Error::RunLimit { runs: 4, .. })));
    assert_eq!(guard.most(), 1, "never two runs at once");
    assert_eq!(*starts.lock().unwrap(), [millis(0), millis(1500), millis(3000), millis(4500)]);
}
