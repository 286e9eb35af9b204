//! `Context::cancel_reason`: `None` while a run is not asked to stop, then why it was —
//! each cause a run can meet, and the first cause winning over any that comes after.
//! (`LeaseLost` is in `singleton.rs`, with the lease backend it needs.) Paused clock.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{CancelReason, Context, Policy, RunOptions, Rutina};
use tokio::time::{Instant, sleep};

type Result<T = ()> = std::result::Result<T, std::io::Error>;
type Run = Pin<Box<dyn Future<Output = Result> + Send>>;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// What one run saw: `(attempt, reason when it started, reason when cancelled, reason
/// `linger` later)`.
type Saw = (u32, Option<CancelReason>, Option<CancelReason>, Option<CancelReason>);
type Seen = Arc<Mutex<Vec<Saw>>>;

/// A routine that waits to be cancelled, reads its reason, keeps going for `linger`
/// (another cause may come meanwhile), reads it again and returns `Ok`.
fn reporter(seen: Seen, linger: Duration) -> impl FnMut(Context) -> Run + Send + 'static {
    move |ctx: Context| {
        let seen = seen.clone();
        let at_start = ctx.cancel_reason();
        Box::pin(async move {
            ctx.cancelled().await;
            let when_cancelled = ctx.cancel_reason();
            sleep(linger).await;
            seen.lock().unwrap().push((ctx.attempt(), at_start, when_cancelled, ctx.cancel_reason()));
            Ok(())
        })
    }
}

fn seen() -> Seen {
    Arc::default()
}

fn reasons(seen: &Seen) -> Vec<Saw> {
    seen.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn none_while_running_then_shutdown_with_or_without_limits() {
    for options in [RunOptions::default(), RunOptions::default().timeout(secs(3600)).heartbeat(secs(3600))] {
        let rutina = Rutina::default();
        let log = seen();
        rutina.go_with(reporter(log.clone(), secs(1)), options.clone());
        sleep(secs(1)).await;
        rutina.shutdown();
        rutina.wait().await.unwrap();
        let shutdown = Some(CancelReason::Shutdown);
        assert_eq!(reasons(&log), [(1, None, shutdown, shutdown)], "{options:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_detached_context_says_none_then_shutdown() {
    let ctx = Context::detached();
    assert_eq!(ctx.cancel_reason(), None);
    ctx.token().cancel();
    assert_eq!(ctx.cancel_reason(), Some(CancelReason::Shutdown));
}

#[tokio::test(start_paused = true)]
async fn killed() {
    let rutina = Rutina::default();
    let log = seen();
    let id = rutina.go_with(reporter(log.clone(), secs(1)), RunOptions::default().timeout(secs(60)));
    sleep(secs(1)).await;
    rutina.kill(id).unwrap();
    rutina.wait().await.unwrap();
    let killed = Some(CancelReason::Killed);
    assert_eq!(reasons(&log), [(1, None, killed, killed)]);
}

#[tokio::test(start_paused = true)]
async fn timed_out() {
    let rutina = Rutina::default();
    let log = seen();
    rutina.go_with(
        reporter(log.clone(), secs(1)),
        RunOptions::default().timeout(secs(2)).grace_period(secs(5)).on_error(Policy::DoNothing),
    );
    rutina.wait().await.unwrap();
    let timed_out = Some(CancelReason::TimedOut);
    assert_eq!(reasons(&log), [(1, None, timed_out, timed_out)]);
}

#[tokio::test(start_paused = true)]
async fn hung() {
    let rutina = Rutina::default();
    let log = seen();
    rutina.go_with(
        reporter(log.clone(), secs(1)),
        RunOptions::default().heartbeat(secs(2)).grace_period(secs(5)).on_error(Policy::DoNothing),
    );
    rutina.wait().await.unwrap();
    let hung = Some(CancelReason::Hung);
    assert_eq!(reasons(&log), [(1, None, hung, hung)]);
}

#[tokio::test(start_paused = true)]
async fn restarted_then_the_next_run_is_not_cancelled() {
    let rutina = Rutina::default();
    let log = seen();
    let id = rutina.go(reporter(log.clone(), secs(1)));
    sleep(secs(1)).await;
    rutina.restart(id).unwrap();
    sleep(secs(5)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    let (restarted, shutdown) = (Some(CancelReason::Restarted), Some(CancelReason::Shutdown));
    assert_eq!(reasons(&log), [(1, None, restarted, restarted), (2, None, shutdown, shutdown)]);
}

#[tokio::test(start_paused = true)]
async fn reload() {
    let rutina = Rutina::default();
    let log = seen();
    rutina.go_with(reporter(log.clone(), secs(1)), RunOptions::default().reload(true).timeout(secs(3600)));
    sleep(secs(1)).await;
    assert_eq!(rutina.reload().unwrap(), 1);
    sleep(secs(5)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    let (reload, shutdown) = (Some(CancelReason::Reload), Some(CancelReason::Shutdown));
    assert_eq!(reasons(&log), [(1, None, reload, reload), (2, None, shutdown, shutdown)]);
}

#[tokio::test(start_paused = true)]
async fn the_first_cause_wins_a_timeout_then_a_shutdown() {
    let rutina = Rutina::default();
    let log = seen();
    rutina.go_with(
        reporter(log.clone(), secs(3)),
        RunOptions::default().timeout(secs(1)).grace_period(secs(10)).on_error(Policy::DoNothing),
    );
    sleep(secs(2)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    let timed_out = Some(CancelReason::TimedOut);
    assert_eq!(reasons(&log), [(1, None, timed_out, timed_out)]);
}

#[tokio::test(start_paused = true)]
async fn the_first_cause_wins_a_shutdown_then_a_timeout() {
    let rutina = Rutina::default();
    let log = seen();
    rutina.go_with(
        reporter(log.clone(), secs(3)),
        RunOptions::default().timeout(secs(2)).grace_period(secs(10)).on_error(Policy::DoNothing),
    );
    sleep(secs(1)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    let shutdown = Some(CancelReason::Shutdown);
    assert_eq!(reasons(&log), [(1, None, shutdown, shutdown)]);
}

#[tokio::test(start_paused = true)]
async fn the_first_cause_wins_hung_then_killed() {
    let rutina = Rutina::default();
    let log = seen();
    let id = rutina.go_with(
        reporter(log.clone(), secs(3)),
        RunOptions::default().heartbeat(secs(1)).grace_period(secs(10)).on_error(Policy::DoNothing),
    );
    sleep(secs(2)).await;
    rutina.kill(id).unwrap();
    rutina.wait().await.unwrap();
    let hung = Some(CancelReason::Hung);
    assert_eq!(reasons(&log), [(1, None, hung, hung)]);
}

#[tokio::test(start_paused = true)]
async fn the_first_cause_wins_a_kill_then_a_shutdown() {
    let rutina = Rutina::default();
    let log = seen();
    let id = rutina.go(reporter(log.clone(), secs(3)));
    // Another routine keeps the group running after the kill.
    rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    sleep(secs(1)).await;
    rutina.kill(id).unwrap();
    sleep(secs(1)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();
    let killed = Some(CancelReason::Killed);
    assert_eq!(reasons(&log), [(1, None, killed, killed)]);
}

#[tokio::test(start_paused = true)]
async fn the_first_cause_wins_a_shutdown_then_a_kill() {
    let rutina = Rutina::default();
    let log = seen();
    let id = rutina.go(reporter(log.clone(), secs(3)));
    sleep(secs(1)).await;
    rutina.shutdown();
    sleep(secs(1)).await;
    // The run is still draining: an operator kills it (it is alive, so this is allowed).
    rutina.kill(id).unwrap();
    rutina.wait().await.unwrap();
    let shutdown = Some(CancelReason::Shutdown);
    assert_eq!(reasons(&log), [(1, None, shutdown, shutdown)]);
}

#[tokio::test(start_paused = true)]
async fn the_first_cause_wins_a_restart_then_a_shutdown() {
    let rutina = Rutina::default();
    let log = seen();
    let id = rutina.go(reporter(log.clone(), secs(3)));
    sleep(secs(1)).await;
    rutina.restart(id).unwrap();
    sleep(secs(1)).await;
    rutina.shutdown();
    let t0 = Instant::now();
    rutina.wait().await.unwrap();
    assert_eq!(t0.elapsed(), secs(2), "run 1 returned at 4 s and nothing restarted");
    let restarted = Some(CancelReason::Restarted);
    assert_eq!(reasons(&log), [(1, None, restarted, restarted)]);
}
