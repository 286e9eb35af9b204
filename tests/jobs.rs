//! Periodic jobs: `RunOptions::every` (a fixed rate, measured from each run's start,
//! missed ticks skipped, never overlapping, failures waiting for the next tick) on the
//! paused clock, and `RunOptions::cron`, briefly, on the real clock (it follows UTC wall
//! time).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rutina::{
    Backoff, Context, Cron, Event, Options, Policy, RoutineError, RoutineState, RunOptions, Rutina, StopKind,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

type Result<T = ()> = std::result::Result<T, std::io::Error>;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// When each run started, since `t0`, and whether two ever overlapped.
#[derive(Clone)]
struct Starts {
    t0: Instant,
    starts: Arc<Mutex<Vec<Duration>>>,
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

/// Held by a run in progress.
struct InRun(Arc<AtomicUsize>);

impl Drop for InRun {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Starts {
    fn new() -> Starts {
        Starts { t0: Instant::now(), starts: Arc::default(), running: Arc::default(), most: Arc::default() }
    }

    fn enter(&self) -> InRun {
        self.starts.lock().unwrap().push(self.t0.elapsed());
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(running, Ordering::SeqCst);
        InRun(self.running.clone())
    }

    fn get(&self) -> Vec<Duration> {
        self.starts.lock().unwrap().clone()
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

/// A job whose run `n` takes `took(n)` (or until cancelled).
fn job(
    starts: Starts,
    took: impl Fn(u32) -> Duration + Send + Sync + 'static,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = Result> + Send>> {
    let took = Arc::new(took);
    move |ctx: Context| {
        let in_run = starts.enter();
        let took = took(ctx.attempt());
        Box::pin(async move {
            let _in_run = in_run;
            tokio::select! {
                _ = sleep(took) => {}
                _ = ctx.cancelled() => {}
            }
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn every_starts_runs_a_period_apart_from_the_previous_start_whatever_each_takes() {
    let rutina = Rutina::default();
    let starts = Starts::new();
    let took = [500, 1500, 0, 1999, 10];
    rutina.go_with(
        job(starts.clone(), move |n| millis(took[(n as usize - 1) % took.len()])),
        RunOptions::default().every(secs(2)),
    );
    sleep(millis(9500)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    assert_eq!(starts.get(), [secs(0), secs(2), secs(4), secs(6), secs(8)], "the first at once, then every 2 s");
    assert_eq!(starts.most(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_overrun_skips_the_missed_ticks_and_never_overlaps() {
    let rutina = Rutina::default();
    let mut events = rutina.subscribe();
    let starts = Starts::new();
    rutina.go_with(job(starts.clone(), |_| secs(5)), RunOptions::default().every(secs(2)));
    sleep(secs(20)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    assert_eq!(
        starts.get(),
        [secs(0), secs(6), secs(12), secs(18)],
        "5 s runs every 2 s: the ticks at 2, 4, 8... skipped"
    );
    assert_eq!(starts.most(), 1, "never two runs at once");
    let delays: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|event| match event {
            Event::Restarting { attempt, delay, .. } => Some((attempt, delay)),
            _ => None,
        })
        .collect();
    assert_eq!(delays, [(2, secs(1)), (3, secs(1)), (4, secs(1))], "each run ended at a tick + 5 s");
}

#[tokio::test(start_paused = true)]
async fn a_run_that_takes_exactly_the_period_is_followed_at_once() {
    let rutina = Rutina::default();
    let starts = Starts::new();
    rutina.go_with(job(starts.clone(), |_| secs(2)), RunOptions::default().every(secs(2)));
    sleep(millis(6500)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    assert_eq!(starts.get(), [secs(0), secs(2), secs(4), secs(6)]);
}

#[tokio::test(start_paused = true)]
async fn a_failure_under_restart_waits_for_the_next_tick_not_a_backoff() {
    let (errors, mut failures) = mpsc::unbounded_channel::<RoutineError>();
    let rutina = Rutina::new(Options::default().errors(errors));
    let starts = Starts::new();
    let seen = starts.clone();
    rutina.go_with(
        move |ctx: Context| {
            let in_run = seen.enter();
            async move {
                drop(in_run);
                match ctx.attempt() {
                    2 => Err(std::io::Error::other("upstream down")),
                    3 => panic!("jobs: on purpose"),
                    _ => Ok(()),
                }
            }
        },
        RunOptions::default()
            .every(secs(10))
            .on_error(Policy::Restart)
            // Neither this nor the default exponential backoff applies to a schedule.
            .backoff(Backoff::fixed(secs(3600))),
    );
    rutina_tests::panics::quiet_panics_starting_with("jobs: on purpose");
    sleep(secs(45)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    assert_eq!(starts.get(), [secs(0), secs(10), secs(20), secs(30), secs(40)]);
    let attempts: Vec<_> = std::iter::from_fn(|| failures.try_recv().ok()).map(|f| f.attempt).collect();
    assert_eq!(attempts, [2, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_failure_under_the_default_on_error_shuts_the_group_down() {
    let rutina = Rutina::default();
    let starts = Starts::new();
    let seen = starts.clone();
    rutina.go_with(
        move |ctx: Context| {
            let in_run = seen.enter();
            async move {
                drop(in_run);
                if ctx.attempt() == 3 { Err(std::io::Error::other("broken")) } else { Ok(()) }
            }
        },
        RunOptions::default().every(secs(10)),
    );
    assert!(rutina.wait().await.is_err());
    assert_eq!(starts.get(), [secs(0), secs(10), secs(20)]);
}

#[tokio::test(start_paused = true)]
async fn while_waiting_the_routine_is_scheduled_and_a_shutdown_ends_it_without_a_run() {
    let rutina = Rutina::default();
    let starts = Starts::new();
    let t0 = Instant::now();
    let id = rutina.go_with(job(starts.clone(), |_| secs(1)), RunOptions::default().name("report").every(secs(60)));
    sleep(millis(500)).await;
    assert_eq!(rutina.status()[0].state, RoutineState::Running);
    sleep(secs(5)).await;
    assert_eq!(rutina.status()[0].state, RoutineState::Scheduled { until: t0 + secs(60) });
    assert_eq!(rutina.monitor().status()[0].state, RoutineState::Scheduled { until: t0 + secs(60) });
    rutina.shutdown();
    rutina.wait().await.unwrap();
    assert_eq!(t0.elapsed(), millis(5500), "the wait for the next tick ends at once");
    assert_eq!(starts.get(), [secs(0)], "no run after the shutdown");
    let report = rutina.shutdown_report().unwrap();
    assert!(matches!(report.routines.as_slice(), [r] if r.id == id && matches!(r.how, StopKind::BetweenRuns)));
}

#[tokio::test(start_paused = true)]
async fn a_kill_during_the_wait_ends_the_routine_without_a_run() {
    let rutina = Rutina::default();
    let starts = Starts::new();
    let id = rutina.go_with(job(starts.clone(), |_| secs(1)), RunOptions::default().every(secs(60)));
    sleep(secs(5)).await;
    rutina.kill(id).unwrap();
    rutina.wait().await.unwrap();
    assert_eq!(starts.get(), [secs(0)]);
}

#[tokio::test(start_paused = true)]
async fn every_sets_on_done_restart_unless_told_otherwise() {
    assert_eq!(RunOptions::default().every(secs(1)).on_done, Policy::Restart);
    let rutina = Rutina::default();
    let starts = Starts::new();
    rutina.go_with(job(starts.clone(), |_| secs(0)), RunOptions::default().every(secs(2)).on_done(Policy::DoNothing));
    rutina.wait().await.unwrap();
    assert_eq!(starts.get(), [secs(0)], "on_done = DoNothing after every: one run");
}

#[tokio::test(start_paused = true)]
async fn a_cron_routine_waits_for_its_first_matching_time() {
    let rutina = Rutina::default();
    let starts = Starts::new();
    let t0 = Instant::now();
    // Midnight on January 1st: months away, or at most a year.
    rutina.go_with(job(starts.clone(), |_| secs(0)), RunOptions::default().cron(Cron::parse("0 0 0 1 1 *").unwrap()));
    sleep(secs(60)).await;
    assert!(starts.get().is_empty(), "no run before the first matching time");
    match rutina.status()[0].state {
        RoutineState::Scheduled { until } => assert!(until > t0 + secs(60) && until <= t0 + secs(366 * 86_400)),
        other => panic!("expected Scheduled, got {other:?}"),
    }
    rutina.shutdown();
    rutina.wait().await.unwrap();
    assert!(starts.get().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cron_routine_waiting_for_its_first_time_does_not_hold_readiness_up() {
    let rutina = Rutina::default();
    let nightly = RunOptions::default().cron(Cron::parse("0 0 3 * * *").unwrap());
    rutina.go_with(job(Starts::new(), |_| secs(0)), nightly.clone());
    sleep(secs(1)).await;
    assert!(rutina.is_ready(), "a nightly job's group is ready before the night (READY=1 under systemd)");
    rutina.shutdown();
    rutina.wait().await.unwrap();

    // A readiness gate still holds it up.
    let rutina = Rutina::default();
    rutina.go_with(job(Starts::new(), |_| secs(0)), nightly.readiness_gate(true));
    sleep(secs(1)).await;
    assert!(!rutina.is_ready(), "a gate that did not run is not ready");
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

/// Real time: a cron routine every second, for about 3.5 s.
#[tokio::test]
async fn a_cron_routine_runs_on_whole_seconds_of_the_utc_clock() {
    let rutina = Rutina::default();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let seen = starts.clone();
    rutina.go_with(
        move |_ctx: Context| {
            seen.lock().unwrap().push(SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
            async { Ok::<_, std::io::Error>(()) }
        },
        RunOptions::default().cron(Cron::parse("* * * * * *").unwrap()),
    );
    sleep(millis(3500)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    let starts = starts.lock().unwrap().clone();
    assert!((3..=4).contains(&starts.len()), "{} runs in 3.5 s: {starts:?}", starts.len());
    for start in &starts {
        // Timers fire late, never early; a loaded machine may be late by a lot.
        assert!(
            start.subsec_millis() < 300,
            "a run started {}ms past a whole second: {starts:?}",
            start.subsec_millis()
        );
    }
    let seconds: Vec<_> = starts.iter().map(Duration::as_secs).collect();
    assert!(seconds.windows(2).all(|w| w[1] == w[0] + 1), "one run per second: {seconds:?}");
}
