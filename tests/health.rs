//! Liveness (a crash loop: 3 failed runs in a row) and `Monitor`, the read-only view of
//! a group that never keeps it alive. (Hung runs and liveness: `limits.rs`.) Paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{Backoff, Context, Monitor, Policy, RunOptions, Rutina};
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A server that keeps the group running.
async fn serve(ctx: Context) -> std::io::Result<()> {
    ctx.cancelled().await;
    Ok(())
}

/// Fails runs 1 to `failures`, then returns `Ok`.
fn flaky(failures: u32) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    move |ctx: Context| {
        Box::pin(async move {
            if ctx.attempt() <= failures {
                return Err(std::io::Error::other(format!("run {} failed", ctx.attempt())));
            }
            Ok(())
        })
    }
}

fn restarting() -> RunOptions {
    RunOptions::default().on_error(Policy::Restart).backoff(Backoff::fixed(secs(1)))
}

fn assert_live(rutina: &Rutina, monitor: &Monitor, live: bool, when: &str) {
    assert_eq!((rutina.is_live(), monitor.is_live()), (live, live), "{when}");
}

#[tokio::test(start_paused = true)]
async fn three_failed_runs_in_a_row_are_a_crash_loop_until_a_run_returns_ok() {
    let rutina = Rutina::default();
    let monitor = rutina.monitor();
    rutina.go(serve);
    // Fails at 0, 1, 2 and 3 s; run 5 at 4 s returns Ok.
    rutina.go_with(flaky(4), restarting().name("flaky"));
    sleep(millis(500)).await;
    assert_live(&rutina, &monitor, true, "one failure");
    sleep(secs(1)).await; // 1.5 s
    assert_live(&rutina, &monitor, true, "two failures in a row");
    assert_eq!(rutina.status()[1].consecutive_failures, 2);
    sleep(secs(1)).await; // 2.5 s
    assert_live(&rutina, &monitor, false, "three failures in a row: crash-looping");
    assert_eq!(rutina.status()[1].consecutive_failures, 3);
    sleep(secs(1)).await; // 3.5 s
    assert_live(&rutina, &monitor, false, "four");
    sleep(secs(1)).await; // 4.5 s: run 5 returned Ok, the routine ended (on_done = DoNothing)
    assert_live(&rutina, &monitor, true, "an Ok run ends the crash loop");
    assert_eq!(rutina.processes().len(), 1);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_ok_run_of_a_routine_that_keeps_running_ends_the_crash_loop() {
    let rutina = Rutina::default();
    let monitor = rutina.monitor();
    // Fails 3 times, then run 4 returns Ok and the routine runs again (on_done = Restart).
    rutina.go_with(flaky(3), restarting().on_done(Policy::Restart).name("flaky"));
    sleep(millis(2500)).await;
    assert_live(&rutina, &monitor, false, "crash-looping");
    sleep(secs(1)).await; // 3.5 s: run 4 returned Ok at 3 s
    assert_live(&rutina, &monitor, true, "live again");
    assert_eq!(rutina.status()[0].consecutive_failures, 0);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_crash_looping_routine_that_is_killed_is_live_again() {
    let rutina = Rutina::default();
    let monitor = rutina.monitor();
    rutina.go(serve);
    let flaky = rutina.go_with(flaky(u32::MAX), restarting());
    sleep(millis(2500)).await;
    assert_live(&rutina, &monitor, false, "crash-looping");
    rutina.kill(flaky).unwrap();
    sleep(millis(1)).await;
    assert!(!rutina.processes().contains(&flaky));
    assert_live(&rutina, &monitor, true, "the crash-looping routine is gone");
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn failures_in_a_row_under_do_nothing_of_different_routines_are_no_crash_loop() {
    let rutina = Rutina::default();
    rutina.go(serve);
    for _ in 0..5 {
        rutina.go_with(flaky(1), RunOptions::default().on_error(Policy::DoNothing));
    }
    sleep(secs(1)).await;
    assert!(rutina.is_live(), "five routines that failed once each do not crash-loop");
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

// ----- Monitor ----------------------------------------------------------------------

fn assert_over(monitor: &Monitor, what: &str) {
    assert!(!monitor.is_ready(), "{what}: not ready");
    assert!(!monitor.is_live(), "{what}: not live");
    assert!(monitor.is_shutting_down(), "{what}: shutting down");
    assert!(*monitor.watch_shutdown().borrow(), "{what}: watch_shutdown is true");
    assert!(monitor.status().is_empty(), "{what}: no routines");
}

#[tokio::test(start_paused = true)]
async fn a_routines_monitor_does_not_keep_its_group_alive() {
    let rutina = Rutina::default();
    let (give, monitor) = oneshot::channel();
    let (told, returned) = oneshot::channel();
    let give = Mutex::new(Some(give));
    let told = Mutex::new(Some(told));
    rutina.go(move |ctx: Context| {
        let monitor = ctx.monitor();
        let give = give.lock().unwrap().take();
        let told = told.lock().unwrap().take();
        async move {
            // The routine holds its monitor for its whole life.
            if let Some(give) = give {
                let _ = give.send(monitor.clone());
            }
            ctx.cancelled().await;
            assert!(monitor.is_shutting_down() && !monitor.is_ready());
            if let Some(told) = told {
                let _ = told.send(());
            }
            drop(monitor);
            Ok::<_, std::io::Error>(())
        }
    });
    let monitor = monitor.await.unwrap();
    sleep(secs(1)).await;
    assert!(monitor.is_ready() && monitor.is_live() && !monitor.is_shutting_down());
    assert_eq!(monitor.status().len(), 1);
    // The last handle goes: the group shuts down although its routine holds a monitor.
    drop(rutina);
    timeout(secs(60), returned).await.expect("the routine was cancelled").unwrap();
    timeout(secs(60), async {
        while !monitor.status().is_empty() {
            sleep(millis(1)).await;
        }
    })
    .await
    .expect("the group ends");
    assert_over(&monitor, "after the group ended");
}

#[tokio::test(start_paused = true)]
async fn monitors_of_a_group_that_is_over_read_as_over_while_a_handle_remains() {
    let rutina = Rutina::default();
    let outside = rutina.monitor();
    let inside = Arc::new(Mutex::new(None));
    let keep = inside.clone();
    rutina.go(move |ctx: Context| {
        *keep.lock().unwrap() = Some(ctx.monitor());
        serve(ctx)
    });
    sleep(secs(1)).await;
    let inside = inside.lock().unwrap().clone().expect("the routine ran");
    assert!(inside.is_ready() && outside.is_ready());
    rutina.shutdown();
    rutina.wait().await.unwrap();
    // `rutina` is still held: the group's memory lives, but it is over.
    assert_over(&outside, "Rutina::monitor");
    assert_over(&inside, "Context::monitor");
    assert!(!rutina.is_ready() && !rutina.is_live() && rutina.is_shutting_down() && rutina.status().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_detached_contexts_monitor_reads_as_a_group_that_is_over() {
    assert_over(&Context::detached().monitor(), "detached");
}
