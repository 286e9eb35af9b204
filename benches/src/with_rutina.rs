//! The scenarios written with rutina.

use std::io;
use std::time::{Duration, Instant};

use rutina::{Context, Error, Options, Policy, RunOptions, Rutina};
use tokio_util::sync::CancellationToken;

use crate::common::{all_ready, boom, ready};
use crate::phases::{Laps, Stopwatch};

async fn idle(ctx: Context) -> io::Result<()> {
    ctx.cancelled().await;
    Ok(())
}

async fn idle_counted(ctx: Context) -> io::Result<()> {
    ready();
    ctx.cancelled().await;
    Ok(())
}

async fn stuck(_ctx: Context) -> io::Result<()> {
    std::future::pending().await
}

async fn done(_ctx: Context) -> io::Result<()> {
    Ok(())
}

/// Starts `n` routines that wait for cancellation, shuts down, waits.
pub async fn fan_out(n: usize) -> Duration {
    let start = Instant::now();
    let rutina = Rutina::default();
    for _ in 0..n {
        rutina.go(idle);
    }
    rutina.shutdown();
    rutina.wait().await.expect("fan-out ends cleanly");
    start.elapsed()
}

/// One routine returning `Ok` at once under `Restart`, restarted `restarts` times.
pub async fn restart(restarts: u32) -> Duration {
    let start = Instant::now();
    let rutina = Rutina::default();
    rutina.go_with(done, RunOptions::default().on_done(Policy::Restart).max_count(restarts));
    match rutina.wait().await {
        Err(Error::RunLimit { runs, .. }) => assert_eq!(runs, restarts + 1),
        other => panic!("unexpected {other:?}"),
    }
    start.elapsed()
}

/// `n` routines, all started; then one fails. Times the failure until `wait` returns.
pub async fn failure(n: usize) -> Duration {
    let rutina = Rutina::default();
    let trigger = CancellationToken::new();
    for _ in 1..n {
        rutina.go(idle_counted);
    }
    let fail = trigger.clone();
    rutina.go(move |_ctx: Context| {
        let fail = fail.clone();
        async move {
            ready();
            fail.cancelled().await;
            Err::<(), _>(boom())
        }
    });
    all_ready(n).await;
    let start = Instant::now();
    trigger.cancel();
    let result = rutina.wait().await;
    let elapsed = start.elapsed();
    assert!(matches!(result, Err(Error::Routine { .. })), "unexpected {result:?}");
    elapsed
}

/// `n` routines of which `stuck_count` ignore cancellation; a shutdown with a grace
/// period of `grace`. Times the shutdown until `wait` returns.
pub async fn grace(n: usize, stuck_count: usize, grace: Duration) -> Duration {
    let rutina = Rutina::new(Options::default().shutdown_timeout(grace));
    for i in 0..n {
        if i < stuck_count {
            rutina.go(stuck);
        } else {
            rutina.go(idle);
        }
    }
    let start = Instant::now();
    rutina.shutdown();
    let result = rutina.wait().await;
    let elapsed = start.elapsed();
    match result {
        Err(Error::Aborted { stuck, .. }) => assert_eq!(stuck.len(), stuck_count),
        other => panic!("unexpected {other:?}"),
    }
    elapsed
}

/// Starts `n` idle routines, calls `measure` once all wait, then shuts down.
pub async fn hold_idle(n: usize, measure: impl FnOnce()) {
    let rutina = Rutina::default();
    for _ in 0..n {
        rutina.go(idle_counted);
    }
    all_ready(n).await;
    measure();
    rutina.shutdown();
    rutina.wait().await.expect("ends cleanly");
}

/// Starts `n` routines that park on their cancellation; once every one is parked, shuts
/// down and waits. The whole time.
pub async fn fan_out_parked(n: usize) -> Duration {
    let start = Instant::now();
    hold_idle(n, || {}).await;
    start.elapsed()
}

/// [`fan_out_parked`], split into its phases (see `phases.rs`).
pub async fn fan_out_parked_phases(n: usize) -> Laps {
    let mut watch = Stopwatch::start();
    let rutina = Rutina::default();
    for _ in 0..n {
        rutina.go(idle_counted);
    }
    watch.lap();
    all_ready(n).await;
    watch.lap();
    rutina.shutdown();
    watch.lap();
    rutina.wait().await.expect("fan-out ends cleanly");
    watch.lap();
    drop(rutina);
    watch.lap();
    watch.laps()
}

/// `n - 1` parked routines and one that fails at once; the whole time until `wait`
/// returns the failure.
pub async fn failure_whole(n: usize) -> Duration {
    let start = Instant::now();
    let rutina = Rutina::default();
    for _ in 1..n {
        rutina.go(idle);
    }
    rutina.go(|_ctx: Context| async { Err::<(), _>(boom()) });
    let result = rutina.wait().await;
    let elapsed = start.elapsed();
    assert!(matches!(result, Err(Error::Routine { .. })), "unexpected {result:?}");
    elapsed
}

/// A routine with a heartbeat that runs a loop of `beats` iterations, beating in each.
pub async fn beats(beats: u32) -> Duration {
    let start = Instant::now();
    let rutina = Rutina::default();
    rutina.go_with(
        move |ctx: Context| async move {
            for _ in 0..beats {
                ctx.heartbeat();
                std::hint::black_box(());
            }
            Ok::<_, io::Error>(())
        },
        RunOptions::default().heartbeat(Duration::from_secs(60)),
    );
    rutina.wait().await.expect("the loop ends");
    start.elapsed()
}
