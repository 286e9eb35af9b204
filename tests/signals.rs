//! Real SIGINT/SIGTERM sent to this test process. The tests share the process, so
//! they take turns.
#![cfg(unix)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rutina::{Context, Error, Options, Rutina};
use tokio::sync::Mutex;
use tokio::time::timeout;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const PATIENCE: Duration = Duration::from_secs(20);

/// Sends `signal` to this test's own process.
fn send(signal: &str) {
    rutina_tests::send_signal(std::process::id(), signal);
}

fn draining_server(
    drained: Arc<AtomicBool>,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> + Send {
    move |ctx: Context| {
        let drained = drained.clone();
        Box::pin(async move {
            ctx.cancelled().await;
            tokio::task::yield_now().await;
            drained.store(true, Ordering::SeqCst);
            Ok(())
        })
    }
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_is_not_an_error() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rutina = Rutina::new(Options::default().listen_os_signals(true));
    let drained = Arc::new(AtomicBool::new(false));
    rutina.go(draining_server(drained.clone()));
    // Handled as soon as the listener is installed, before anyone waits.
    send("TERM");
    timeout(PATIENCE, rutina.token().cancelled()).await.expect("SIGTERM cancels the group");
    assert!(timeout(PATIENCE, rutina.wait()).await.expect("wait returns").is_ok());
    assert!(drained.load(Ordering::SeqCst));
}

#[tokio::test]
async fn listen_os_signals_method_and_sigint() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rutina = Rutina::default();
    rutina.listen_os_signals();
    let drained = Arc::new(AtomicBool::new(false));
    rutina.go(draining_server(drained.clone()));
    send("INT");
    assert!(timeout(PATIENCE, rutina.wait()).await.expect("wait returns").is_ok());
    assert!(drained.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_second_signal_aborts_at_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rutina = Rutina::new(Options::default().listen_os_signals(true));
    let stuck = rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
    let drained = Arc::new(AtomicBool::new(false));
    rutina.go(draining_server(drained.clone()));
    send("INT");
    timeout(PATIENCE, rutina.token().cancelled()).await.expect("the first signal cancels the group");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(rutina.processes(), vec![stuck], "graceful: the server drained, the stuck one waits");
    send("INT");
    match timeout(PATIENCE, rutina.wait()).await.expect("the second signal aborts") {
        Err(Error::Aborted { stuck: list, cause: None }) => assert_eq!(list, vec![(stuck, "routine-1".to_owned())]),
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert!(drained.load(Ordering::SeqCst));
}

#[tokio::test]
async fn without_listening_signals_are_ignored_by_the_group() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Another group listens, so the process survives the signal.
    let listener = Rutina::new(Options::default().listen_os_signals(true));
    listener.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    let deaf = Rutina::default();
    deaf.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    send("TERM");
    assert!(timeout(PATIENCE, listener.wait()).await.expect("wait returns").is_ok());
    assert!(!deaf.is_shutting_down());
    deaf.shutdown();
    assert!(deaf.wait().await.is_ok());
}
