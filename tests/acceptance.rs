//! The Go original's four acceptance cases, and what `wait` leaves behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rutina::{Context, Error, Options, Policy, RunOptions, Rutina};
use tokio::time::{Instant, sleep};

fn after(
    secs: u64,
    fail: bool,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send {
    move |_ctx: Context| {
        Box::pin(async move {
            sleep(Duration::from_secs(secs)).await;
            if fail { Err(anyhow::anyhow!("failed after {secs} s")) } else { Ok(()) }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn all_routines_succeed_then_ok_after_the_slowest() {
    let rutina = Rutina::default();
    for secs in [3, 1, 2] {
        rutina.go(after(secs, false));
    }
    let started = Instant::now();
    assert!(rutina.wait().await.is_ok());
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn three_failures_at_1_2_3_seconds_the_first_wins() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(tx));
    for secs in [2, 3, 1] {
        rutina.go(after(secs, true));
    }
    let error = rutina.wait().await.unwrap_err();
    assert!(matches!(&error, Error::Routine { id, .. } if id.get() == 3), "{error:?}");
    assert_eq!(error.to_string(), "routine `routine-3` (#3) failed: failed after 1 s");
    let mut later = Vec::new();
    while let Ok(e) = rx.try_recv() {
        later.push(e.error.to_string());
    }
    assert_eq!(later, vec!["failed after 2 s", "failed after 3 s"]);
}

#[tokio::test(start_paused = true)]
async fn restart_with_max_count_2_runs_3_times_then_run_limit_and_siblings_cancelled() {
    let rutina = Rutina::default();
    let runs = Arc::new(AtomicU32::new(0));
    let seen = runs.clone();
    let id = rutina.go_with(
        move |_ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(anyhow::anyhow!("broken")) }
        },
        RunOptions::default().on_error(Policy::Restart).max_count(2),
    );
    let sibling_cancelled = Arc::new(AtomicU32::new(0));
    let flag = sibling_cancelled.clone();
    rutina.go(move |ctx: Context| {
        let flag = flag.clone();
        async move {
            ctx.cancelled().await;
            flag.fetch_add(1, Ordering::SeqCst);
            Ok::<_, anyhow::Error>(())
        }
    });
    match rutina.wait().await.unwrap_err() {
        Error::RunLimit { id: rid, runs: n, last_error, .. } => {
            assert_eq!((rid, n), (id, 3));
            assert_eq!(last_error.unwrap().to_string(), "broken");
        }
        other => panic!("expected RunLimit, got {other:?}"),
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(sibling_cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn on_done_shutdown_cancels_siblings_and_wait_is_ok() {
    let rutina = Rutina::default();
    let cancelled = Arc::new(AtomicU32::new(0));
    for _ in 0..3 {
        let flag = cancelled.clone();
        rutina.go(move |ctx: Context| {
            let flag = flag.clone();
            async move {
                ctx.cancelled().await;
                flag.fetch_add(1, Ordering::SeqCst);
                Ok::<_, anyhow::Error>(())
            }
        });
    }
    rutina.go_with(after(1, false), RunOptions::default().on_done(Policy::Shutdown));
    let started = Instant::now();
    assert!(rutina.wait().await.is_ok());
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(cancelled.load(Ordering::SeqCst), 3);
}

/// After `wait`, no task of the group is alive: routines, restarts, backoffs, the
/// signal listener, aborted stragglers.
#[tokio::test(start_paused = true)]
async fn nothing_is_left_alive_after_wait() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let rutina = Rutina::new(Options::default().listen_os_signals(true).shutdown_timeout(Duration::from_secs(5)));
    rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    rutina.go_with(
        |_ctx: Context| async { Err::<(), _>(std::io::Error::other("again")) },
        RunOptions::default().on_error(Policy::Restart).backoff(rutina::Backoff::fixed(Duration::from_secs(60))),
    );
    rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
    let child = Rutina::new(Options::default().parent_token(rutina.token()));
    child.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    sleep(Duration::from_secs(1)).await;
    assert!(metrics.num_alive_tasks() >= 5, "{} tasks", metrics.num_alive_tasks());
    rutina.shutdown();
    assert!(matches!(rutina.wait().await, Err(Error::Aborted { ref stuck, .. }) if stuck.len() == 1));
    assert!(child.wait().await.is_ok());
    assert_eq!(metrics.num_alive_tasks(), 0);
    assert!(rutina.token().is_cancelled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_left_alive_after_wait_on_a_multi_threaded_runtime() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let rutina = Rutina::new(Options::default().listen_os_signals(true));
    for _ in 0..100 {
        rutina.go(|ctx: Context| async move {
            ctx.cancelled().await;
            Ok::<_, std::io::Error>(())
        });
    }
    rutina.go_with(
        |ctx: Context| async move {
            if ctx.attempt() == 1000 {
                return Err(std::io::Error::other("stop"));
            }
            Ok(())
        },
        RunOptions::default().on_done(Policy::Restart),
    );
    assert!(rutina.wait().await.is_err());
    // Tasks leave tokio's count just after our bookkeeping: give the workers a moment.
    for _ in 0..100 {
        if metrics.num_alive_tasks() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.num_alive_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_cancels_the_routines() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let cancelled = Arc::new(AtomicU32::new(0));
    let flag = cancelled.clone();
    let rutina = Rutina::default();
    let token = rutina.token();
    rutina.go(move |ctx: Context| {
        let flag = flag.clone();
        async move {
            ctx.cancelled().await;
            flag.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(())
        }
    });
    drop(rutina);
    sleep(Duration::from_millis(1)).await;
    assert!(token.is_cancelled());
    assert_eq!(cancelled.load(Ordering::SeqCst), 1);
    assert_eq!(metrics.num_alive_tasks(), 0);
}
