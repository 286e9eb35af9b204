//! The scenarios written with tokio-graceful-shutdown: one subsystem per routine,
//! started by the toplevel subsystem.

use std::io;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio_graceful_shutdown::errors::GracefulShutdownError;
use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};
use tokio_util::sync::CancellationToken;

use crate::common::{all_ready, boom, ready};

/// A shutdown timeout that never passes in these scenarios.
const NO_TIMEOUT: Duration = Duration::from_secs(3600);

async fn idle(subsys: &mut SubsystemHandle) -> io::Result<()> {
    subsys.on_shutdown_requested().await;
    Ok(())
}

async fn idle_counted(subsys: &mut SubsystemHandle) -> io::Result<()> {
    ready();
    subsys.on_shutdown_requested().await;
    Ok(())
}

async fn stuck(_subsys: &mut SubsystemHandle) -> io::Result<()> {
    std::future::pending().await
}

async fn done(_subsys: &mut SubsystemHandle) -> io::Result<()> {
    Ok(())
}

/// Starts `n` subsystems that wait for shutdown, requests a shutdown, waits.
pub async fn fan_out(n: usize) -> Duration {
    let start = Instant::now();
    let toplevel: Toplevel = Toplevel::new(async move |s: &mut SubsystemHandle| {
        for _ in 0..n {
            s.start(SubsystemBuilder::new("idle", idle));
        }
        s.request_shutdown();
    });
    toplevel.handle_shutdown_requests(NO_TIMEOUT).await.expect("fan-out ends cleanly");
    start.elapsed()
}

/// The closest equivalent of a restart: tokio-graceful-shutdown has no restart
/// policy, so a parent subsystem starts a fresh nested subsystem for each run and
/// joins it, `restarts + 1` runs, then requests the shutdown.
pub async fn restart(restarts: u32) -> Duration {
    let start = Instant::now();
    let toplevel: Toplevel = Toplevel::new(async move |s: &mut SubsystemHandle| {
        for _ in 0..=restarts {
            s.start(SubsystemBuilder::new("job", done)).join().await.expect("the job returns Ok");
        }
        s.request_shutdown();
    });
    toplevel.handle_shutdown_requests(NO_TIMEOUT).await.expect("ends cleanly");
    start.elapsed()
}

/// `n` subsystems, all started; then one fails (its error is forwarded to the
/// toplevel, which shuts everything down). Times the failure until the toplevel returns.
pub async fn failure(n: usize) -> Duration {
    let trigger = CancellationToken::new();
    let fail = trigger.clone();
    let toplevel: Toplevel = Toplevel::new(async move |s: &mut SubsystemHandle| {
        for _ in 1..n {
            s.start(SubsystemBuilder::new("idle", idle_counted));
        }
        s.start(SubsystemBuilder::new("fail", async move |_s: &mut SubsystemHandle| {
            ready();
            fail.cancelled().await;
            Err::<(), _>(boom())
        }));
    });
    all_ready(n).await;
    let start = Instant::now();
    trigger.cancel();
    let result = toplevel.handle_shutdown_requests(NO_TIMEOUT).await;
    let elapsed = start.elapsed();
    assert!(matches!(result, Err(GracefulShutdownError::SubsystemsFailed(_))), "unexpected {result:?}");
    elapsed
}

/// `n` subsystems of which `stuck_count` ignore the shutdown; a shutdown with a
/// timeout of `grace`. Times the shutdown until the toplevel returns.
pub async fn grace(n: usize, stuck_count: usize, grace: Duration) -> Duration {
    let token = CancellationToken::new();
    let (started, all_started) = oneshot::channel();
    let toplevel: Toplevel = Toplevel::new_with_shutdown_token(
        async move |s: &mut SubsystemHandle| {
            for i in 0..n {
                if i < stuck_count {
                    s.start(SubsystemBuilder::new("stuck", stuck));
                } else {
                    s.start(SubsystemBuilder::new("idle", idle));
                }
            }
            let _ = started.send(());
        },
        token.clone(),
    );
    all_started.await.expect("the toplevel subsystem runs");
    let start = Instant::now();
    token.cancel();
    let result = toplevel.handle_shutdown_requests(grace).await;
    let elapsed = start.elapsed();
    assert!(matches!(result, Err(GracefulShutdownError::ShutdownTimeout(_))), "unexpected {result:?}");
    elapsed
}

/// Starts `n` idle subsystems, calls `measure` once all wait, then shuts down.
pub async fn hold_idle(n: usize, measure: impl FnOnce()) {
    let token = CancellationToken::new();
    let toplevel: Toplevel = Toplevel::new_with_shutdown_token(
        async move |s: &mut SubsystemHandle| {
            for _ in 0..n {
                s.start(SubsystemBuilder::new("idle", idle_counted));
            }
        },
        token.clone(),
    );
    all_ready(n).await;
    measure();
    token.cancel();
    toplevel.handle_shutdown_requests(NO_TIMEOUT).await.expect("ends cleanly");
}

/// Starts `n` subsystems that park on the shutdown; once every one is parked, requests
/// the shutdown and waits. The whole time.
pub async fn fan_out_parked(n: usize) -> Duration {
    let start = Instant::now();
    hold_idle(n, || {}).await;
    start.elapsed()
}

/// `n - 1` subsystems and one that fails at once; the whole time.
pub async fn failure_whole(n: usize) -> Duration {
    let start = Instant::now();
    let toplevel: Toplevel = Toplevel::new(async move |s: &mut SubsystemHandle| {
        for _ in 1..n {
            s.start(SubsystemBuilder::new("idle", idle));
        }
        s.start(SubsystemBuilder::new("fail", async |_s: &mut SubsystemHandle| Err::<(), _>(boom())));
    });
    let result = toplevel.handle_shutdown_requests(NO_TIMEOUT).await;
    let elapsed = start.elapsed();
    assert!(matches!(result, Err(GracefulShutdownError::SubsystemsFailed(_))), "unexpected {result:?}");
    elapsed
}
