//! The lame-duck delay (`Options::shutdown_delay`): a shutdown by `shutdown()`, the
//! parent token or a signal turns the group not-ready at once, but cancels the routines'
//! contexts only once the delay has passed; the shutdown timeout counts from then; a
//! shutdown decided by a policy, or by dropping the last handle, skips it. Paused clock.
//! (Signals: `lifecycle_signals.rs`; a real service: `lifecycle_process.rs`.)

use std::future::pending;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{
    CancellationToken, Context, Error, Options, Policy, RunOptions, Rutina, ShutdownOrder, ShutdownReason, StopKind,
};
use tokio::time::{Instant, sleep, timeout};

type Result<T = ()> = std::result::Result<T, std::io::Error>;
type Run = Pin<Box<dyn Future<Output = Result> + Send>>;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// When each routine's context was cancelled, by name.
type Cancelled = Arc<Mutex<Vec<(&'static str, Instant)>>>;

/// Serves until cancelled (recording when), then takes `linger` to stop.
fn server(name: &'static str, cancelled: Cancelled, linger: Duration) -> impl FnMut(Context) -> Run + Send + 'static {
    move |ctx: Context| {
        let cancelled = cancelled.clone();
        Box::pin(async move {
            ctx.cancelled().await;
            cancelled.lock().unwrap().push((name, Instant::now()));
            sleep(linger).await;
            Ok(())
        })
    }
}

fn when(cancelled: &Cancelled) -> Vec<(&'static str, Instant)> {
    cancelled.lock().unwrap().clone()
}

/// Waits (a minute at most) until a routine was cancelled: a dropped group cancels its
/// routines from a task of its own.
async fn until_cancelled(cancelled: &Cancelled) {
    timeout(secs(60), async {
        while when(cancelled).is_empty() {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the routine is cancelled");
}

const DELAY: Duration = Duration::from_secs(5);

#[tokio::test(start_paused = true)]
async fn after_shutdown_the_group_is_not_ready_at_once_and_contexts_are_cancelled_after_the_delay() {
    let rutina = Rutina::new(Options::default().shutdown_delay(DELAY));
    let monitor = rutina.monitor();
    let mut shutting_down = rutina.watch_shutdown();
    let cancelled = Cancelled::default();
    rutina.go_with(server("api", cancelled.clone(), secs(1)), RunOptions::default().name("api"));
    sleep(secs(1)).await;
    assert!(rutina.is_ready() && monitor.is_ready());
    let t0 = Instant::now();
    rutina.shutdown();
    assert!(!rutina.is_ready() && !monitor.is_ready(), "not ready at once");
    assert!(rutina.is_shutting_down() && monitor.is_shutting_down());
    assert!(*shutting_down.borrow_and_update(), "watch_shutdown is true at once");
    assert!(rutina.token().is_cancelled(), "the group's token is cancelled at once");
    let late = rutina.go(|_ctx: Context| async { Ok::<_, std::io::Error>(()) });
    sleep(secs(4)).await;
    assert!(when(&cancelled).is_empty(), "the routine keeps serving during the delay");
    assert!(!rutina.processes().contains(&late), "nothing starts during the delay");
    rutina.wait().await.unwrap();
    assert_eq!(when(&cancelled), [("api", t0 + DELAY)], "cancelled when the delay ended");
    assert_eq!(t0.elapsed(), DELAY + secs(1));
    let report = rutina.shutdown_report().unwrap();
    assert_eq!(report.reason, Some(ShutdownReason::Requested));
    assert_eq!((report.delay, report.took), (DELAY, DELAY + secs(1)));
    assert_eq!(report.routines.len(), 1);
    assert_eq!(report.routines[0].took, secs(1), "a routine's stop is counted from its cancellation");
}

#[tokio::test(start_paused = true)]
async fn the_parent_token_begins_the_delay_too() {
    let parent = CancellationToken::new();
    let rutina = Rutina::new(Options::default().parent_token(parent.clone()).shutdown_delay(DELAY));
    let monitor = rutina.monitor();
    let cancelled = Cancelled::default();
    rutina.go(server("api", cancelled.clone(), secs(0)));
    sleep(secs(1)).await;
    let t0 = Instant::now();
    parent.cancel();
    tokio::task::yield_now().await;
    assert!(!rutina.is_ready() && !monitor.is_ready() && monitor.is_shutting_down());
    assert!(*rutina.watch_shutdown().borrow());
    rutina.wait().await.unwrap();
    assert_eq!(when(&cancelled), [("api", t0 + DELAY)]);
    let report = rutina.shutdown_report().unwrap();
    assert_eq!((report.reason, report.delay), (Some(ShutdownReason::Cancelled), DELAY));
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_timeout_counts_from_the_end_of_the_delay() {
    let rutina = Rutina::new(Options::default().shutdown_delay(DELAY).shutdown_timeout(secs(3)));
    let deaf = rutina.go_with(|_ctx: Context| pending::<Result>(), RunOptions::default().name("deaf"));
    let quick =
        rutina.go_with(|_ctx: Context| pending::<Result>(), RunOptions::default().name("quick").grace_period(secs(1)));
    sleep(secs(1)).await;
    let t0 = Instant::now();
    rutina.shutdown();
    match rutina.wait().await {
        Err(Error::Aborted { stuck, cause: None }) => {
            assert_eq!(stuck, [(deaf, "deaf".to_owned()), (quick, "quick".to_owned())]);
        }
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert_eq!(t0.elapsed(), DELAY + secs(3), "aborted at delay + timeout");
    let report = rutina.shutdown_report().unwrap();
    assert_eq!(report.delay, DELAY);
    let took: Vec<_> = report.routines.iter().map(|r| (r.id, matches!(r.how, StopKind::Aborted), r.took)).collect();
    assert_eq!(took, [(quick, true, secs(1)), (deaf, true, secs(3))], "grace periods count from the delay's end");
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_decided_by_a_policy_skips_the_delay() {
    for how in ["on_error", "on_done", "max_count"] {
        let rutina = Rutina::new(Options::default().shutdown_delay(DELAY).shutdown_timeout(secs(60)));
        let cancelled = Cancelled::default();
        rutina.go(server("api", cancelled.clone(), secs(0)));
        let options = match how {
            "on_error" => RunOptions::default().on_error(Policy::Shutdown),
            "on_done" => RunOptions::default().on_done(Policy::Shutdown),
            _ => RunOptions::default().on_done(Policy::Restart).max_count(0),
        };
        let fails = how == "on_error";
        rutina.go_with(
            move |_ctx: Context| async move {
                sleep(secs(1)).await;
                if fails { Err(std::io::Error::other("broken")) } else { Ok(()) }
            },
            options.name("job"),
        );
        let t0 = Instant::now();
        let result = timeout(secs(3600), rutina.wait()).await.expect("wait returns");
        match (how, result) {
            ("on_error", Err(Error::Routine { .. }))
            | ("on_done", Ok(()))
            | ("max_count", Err(Error::RunLimit { .. })) => {}
            (how, other) => panic!("{how}: unexpected {other:?}"),
        }
        assert_eq!(when(&cancelled), [("api", t0 + secs(1))], "{how}: the routines are cancelled at once");
        assert_eq!(t0.elapsed(), secs(1), "{how}");
        assert_eq!(rutina.shutdown_report().unwrap().delay, Duration::ZERO, "{how}: no delay");
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_skips_the_delay() {
    let rutina = Rutina::new(Options::default().shutdown_delay(DELAY));
    let cancelled = Cancelled::default();
    rutina.go(server("api", cancelled.clone(), secs(0)));
    sleep(secs(1)).await;
    let t0 = Instant::now();
    drop(rutina);
    until_cancelled(&cancelled).await;
    assert_eq!(when(&cancelled), [("api", t0)], "nobody is served by a lame duck nobody holds");

    // Dropped during the delay: the delay ends then.
    let rutina = Rutina::new(Options::default().shutdown_delay(DELAY));
    let cancelled = Cancelled::default();
    rutina.go(server("api", cancelled.clone(), secs(0)));
    sleep(secs(1)).await;
    rutina.shutdown();
    sleep(secs(1)).await;
    let t0 = Instant::now();
    drop(rutina);
    until_cancelled(&cancelled).await;
    assert_eq!(when(&cancelled), [("api", t0)], "dropped during the delay");
}

#[tokio::test(start_paused = true)]
async fn reverse_start_order_begins_its_turns_after_the_delay() {
    let rutina = Rutina::new(Options::default().shutdown_delay(DELAY).shutdown_order(ShutdownOrder::ReverseStart));
    let cancelled = Cancelled::default();
    for name in ["db", "queue", "api"] {
        rutina.go(server(name, cancelled.clone(), secs(1)));
    }
    sleep(secs(1)).await;
    let t0 = Instant::now();
    rutina.shutdown();
    assert!(!rutina.is_ready());
    rutina.wait().await.unwrap();
    assert_eq!(when(&cancelled), [("api", t0 + DELAY), ("queue", t0 + DELAY + secs(1)), ("db", t0 + DELAY + secs(2))]);
    assert_eq!(rutina.shutdown_report().unwrap().delay, DELAY);
}

#[tokio::test(start_paused = true)]
async fn a_routine_killed_or_ending_during_the_delay_leaves_as_usual() {
    let rutina = Rutina::new(Options::default().shutdown_delay(DELAY));
    let cancelled = Cancelled::default();
    let killed = rutina.go(server("killed", cancelled.clone(), secs(0)));
    rutina.go(server("api", cancelled.clone(), secs(0)));
    rutina.go(|_ctx: Context| async {
        sleep(secs(2)).await;
        Ok::<_, std::io::Error>(())
    });
    sleep(secs(1)).await;
    let t0 = Instant::now();
    rutina.shutdown();
    rutina.kill(killed).unwrap();
    rutina.wait().await.unwrap();
    assert_eq!(when(&cancelled), [("killed", t0), ("api", t0 + DELAY)]);
}

#[tokio::test(start_paused = true)]
async fn a_group_whose_token_was_cancelled_starts_no_routine_delay_or_not() {
    for delay in [None, Some(DELAY)] {
        let options = match delay {
            Some(delay) => Options::default().shutdown_delay(delay),
            None => Options::default(),
        };
        let rutina = Rutina::new(options);
        let cancelled = Cancelled::default();
        rutina.go(server("first", cancelled.clone(), secs(0)));
        sleep(secs(1)).await;
        // Cancelling the group's token shuts the group down; nothing starts after it.
        rutina.token().cancel();
        let ran = Arc::new(Mutex::new(false));
        let flag = ran.clone();
        rutina.go(move |_ctx: Context| {
            *flag.lock().unwrap() = true;
            async { Ok::<_, std::io::Error>(()) }
        });
        rutina.wait().await.unwrap();
        assert!(!*ran.lock().unwrap(), "delay {delay:?}: a routine started after the token was cancelled ran");
        assert_eq!(rutina.shutdown_report().unwrap().reason, Some(ShutdownReason::Cancelled), "delay {delay:?}");
    }
}
