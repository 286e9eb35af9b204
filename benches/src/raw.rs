//! The scenarios written by hand with tokio: a `JoinSet` and a `CancellationToken`.

use std::io;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::common::{all_ready, boom, ready};
use crate::phases::{Laps, Stopwatch};

async fn idle(token: CancellationToken) -> io::Result<()> {
    token.cancelled().await;
    Ok(())
}

async fn idle_counted(token: CancellationToken) -> io::Result<()> {
    ready();
    token.cancelled().await;
    Ok(())
}

async fn stuck(_token: CancellationToken) -> io::Result<()> {
    std::future::pending().await
}

async fn done(_token: CancellationToken) -> io::Result<()> {
    Ok(())
}

/// Waits for every task; the first failure cancels the rest and is returned.
async fn join_all(set: &mut JoinSet<io::Result<()>>, token: &CancellationToken) -> io::Result<()> {
    let mut first = Ok(());
    while let Some(joined) = set.join_next().await {
        let result = joined.unwrap_or_else(|e| Err(io::Error::other(e)));
        if let Err(error) = result
            && first.is_ok()
        {
            token.cancel();
            first = Err(error);
        }
    }
    first
}

/// Spawns `n` tasks that wait for cancellation, cancels, joins.
pub async fn fan_out(n: usize) -> Duration {
    let start = Instant::now();
    let token = CancellationToken::new();
    let mut set = JoinSet::new();
    for _ in 0..n {
        set.spawn(idle(token.clone()));
    }
    token.cancel();
    join_all(&mut set, &token).await.expect("fan-out ends cleanly");
    start.elapsed()
}

/// A supervisor loop that spawns a task for each run, `restarts + 1` runs.
pub async fn restart(restarts: u32) -> Duration {
    let start = Instant::now();
    let token = CancellationToken::new();
    let mut runs: u32 = 0;
    loop {
        runs += 1;
        match tokio::spawn(done(token.clone())).await {
            Ok(Ok(())) => {}
            other => panic!("unexpected {other:?}"),
        }
        if runs > restarts || token.is_cancelled() {
            break;
        }
    }
    token.cancel();
    assert_eq!(runs, restarts + 1);
    start.elapsed()
}

/// `n` tasks, all started; then one fails. Times the failure until the join returns.
pub async fn failure(n: usize) -> Duration {
    let token = CancellationToken::new();
    let trigger = CancellationToken::new();
    let mut set = JoinSet::new();
    for _ in 1..n {
        set.spawn(idle_counted(token.clone()));
    }
    let fail = trigger.clone();
    set.spawn(async move {
        ready();
        fail.cancelled().await;
        Err(boom())
    });
    all_ready(n).await;
    let start = Instant::now();
    trigger.cancel();
    let result = join_all(&mut set, &token).await;
    let elapsed = start.elapsed();
    assert!(result.is_err());
    elapsed
}

/// `n` tasks of which `stuck_count` ignore cancellation; cancel, join with a grace
/// period, abort what is left. Times the shutdown until everything is joined.
pub async fn grace(n: usize, stuck_count: usize, grace: Duration) -> Duration {
    let token = CancellationToken::new();
    let mut set = JoinSet::new();
    for i in 0..n {
        if i < stuck_count {
            set.spawn(stuck(token.clone()));
        } else {
            set.spawn(idle(token.clone()));
        }
    }
    let start = Instant::now();
    token.cancel();
    let drained = tokio::time::timeout(grace, join_all(&mut set, &token)).await;
    assert!(drained.is_err(), "the stuck tasks cannot have finished");
    let aborted = set.len();
    set.shutdown().await;
    let elapsed = start.elapsed();
    assert_eq!(aborted, stuck_count);
    elapsed
}

/// Spawns `n` idle tasks, calls `measure` once all wait, then cancels and joins.
pub async fn hold_idle(n: usize, measure: impl FnOnce()) {
    let token = CancellationToken::new();
    let mut set = JoinSet::new();
    for _ in 0..n {
        set.spawn(idle_counted(token.clone()));
    }
    all_ready(n).await;
    measure();
    token.cancel();
    join_all(&mut set, &token).await.expect("ends cleanly");
}

/// Fan-out as users meet it: `n` tasks, each with a child token of its own, that park on
/// their cancellation; once every one is parked, cancel and join. The whole time.
pub async fn fan_out_parked(n: usize) -> Duration {
    let start = Instant::now();
    let token = CancellationToken::new();
    let mut set = JoinSet::new();
    for _ in 0..n {
        set.spawn(idle_counted(token.child_token()));
    }
    all_ready(n).await;
    token.cancel();
    join_all(&mut set, &token).await.expect("fan-out ends cleanly");
    start.elapsed()
}

/// [`fan_out_parked`], split into its phases (see `phases.rs`).
pub async fn fan_out_parked_phases(n: usize) -> Laps {
    let mut watch = Stopwatch::start();
    let token = CancellationToken::new();
    let mut set = JoinSet::new();
    for _ in 0..n {
        set.spawn(idle_counted(token.child_token()));
    }
    watch.lap();
    all_ready(n).await;
    watch.lap();
    token.cancel();
    watch.lap();
    join_all(&mut set, &token).await.expect("fan-out ends cleanly");
    watch.lap();
    drop(set);
    drop(token);
    watch.lap();
    watch.laps()
}

/// Failure propagation as users meet it: `n - 1` parked tasks (a child token each) and
/// one that fails at once; the first error cancels the token and the set is joined. The
/// whole time.
pub async fn failure_whole(n: usize) -> Duration {
    let start = Instant::now();
    let token = CancellationToken::new();
    let mut set = JoinSet::new();
    for _ in 1..n {
        set.spawn(idle(token.child_token()));
    }
    set.spawn(async { Err(boom()) });
    let result = join_all(&mut set, &token).await;
    let elapsed = start.elapsed();
    assert!(result.is_err());
    elapsed
}

/// A routine loop of `beats` iterations that tells a watchdog it is alive each time: an
/// atomic store of the time, as a hand-written heartbeat would.
pub async fn beats(beats: u32) -> Duration {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let start = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let seen = last.clone();
    let origin = tokio::time::Instant::now();
    tokio::spawn(async move {
        for _ in 0..beats {
            seen.store(origin.elapsed().as_nanos() as u64, Ordering::Release);
            std::hint::black_box(());
        }
    })
    .await
    .expect("the loop ends");
    std::hint::black_box(last.load(Ordering::Acquire));
    start.elapsed()
}
