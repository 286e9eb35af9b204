//! Real signals sent to this test process, for the round-2 lifecycle: a second SIGTERM
//! during a reverse-order shutdown aborts the routines still waiting for their turn
//! (reported as such), a second SIGTERM during the lame-duck delay aborts at once, and
//! SIGHUP reloads the routines marked `reload` (a SIGHUP ignored for want of one:
//! `lifecycle_process.rs`, which reads the log). The tests share the process: they take
//! turns, and each waits only for what the group does, bounded by `PATIENCE`.
#![cfg(unix)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{
    CancelReason, Context, Error, Event, Options, RunOptions, Rutina, ShutdownOrder, ShutdownReason, StopKind,
};
use tokio::sync::mpsc;
use tokio::time::timeout;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PATIENCE: Duration = Duration::from_secs(20);
const HOUR: Duration = Duration::from_secs(3600);

/// Sends `signal` to this test's own process.
fn send(signal: &str) {
    rutina_tests::send_signal(std::process::id(), signal);
}

/// Tells `told` its name when cancelled, then takes an hour to stop.
fn slow_to_stop(
    name: &'static str,
    told: mpsc::UnboundedSender<&'static str>,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    move |ctx: Context| {
        let told = told.clone();
        Box::pin(async move {
            ctx.cancelled().await;
            let _ = told.send(name);
            tokio::time::sleep(HOUR).await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_second_signal_in_reverse_start_order_aborts_the_routines_waiting_for_their_turn_as_such() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rutina = Rutina::new(Options::default().listen_os_signals(true).shutdown_order(ShutdownOrder::ReverseStart));
    let mut events = rutina.subscribe();
    let (told, mut cancelled) = mpsc::unbounded_channel();
    let db = rutina.go_with(slow_to_stop("db", told.clone()), RunOptions::default().name("db"));
    let queue = rutina.go_with(slow_to_stop("queue", told.clone()), RunOptions::default().name("queue"));
    let api = rutina.go_with(slow_to_stop("api", told), RunOptions::default().name("api"));
    let waiting = tokio::spawn({
        let rutina = rutina.clone();
        async move { rutina.wait().await }
    });
    send("TERM");
    let first = timeout(PATIENCE, cancelled.recv()).await.expect("the last started is asked to stop");
    assert_eq!(first, Some("api"));
    send("TERM");
    let result = timeout(PATIENCE, waiting).await.expect("the second signal aborts").unwrap();
    match result {
        Err(Error::Aborted { stuck, cause: None }) => {
            assert_eq!(stuck, [(db, "db".to_owned()), (queue, "queue".to_owned()), (api, "api".to_owned())]);
        }
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert_eq!(cancelled.try_recv().ok(), None, "db and queue were never asked to stop");
    let report = rutina.shutdown_report().unwrap();
    assert_eq!(report.reason, Some(ShutdownReason::Signal));
    let mut how: Vec<_> = report.routines.iter().map(|r| (r.id, r.how.clone())).collect();
    how.sort_by_key(|(id, _)| *id);
    assert!(
        matches!(
            how.as_slice(),
            [(_, StopKind::AbortedBeforeTurn), (_, StopKind::AbortedBeforeTurn), (_, StopKind::Aborted)]
        ),
        "{how:?}"
    );
    assert_eq!(report.aborted().count(), 3);
    let mut aborted: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|event| match event {
            Event::Aborted { id, before_turn, .. } => Some((id, before_turn)),
            _ => None,
        })
        .collect();
    aborted.sort();
    assert_eq!(aborted, [(db, true), (queue, true), (api, false)]);
    assert_eq!(
        rutina.exit_code(&Err(Error::Aborted { stuck: vec![], cause: None })),
        std::process::ExitCode::from(130)
    );
}

#[tokio::test]
async fn a_second_signal_during_the_lame_duck_delay_aborts_at_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rutina = Rutina::new(Options::default().listen_os_signals(true).shutdown_delay(HOUR));
    let (told, mut cancelled) = mpsc::unbounded_channel();
    let api = rutina.go_with(slow_to_stop("api", told), RunOptions::default().name("api"));
    let waiting = tokio::spawn({
        let rutina = rutina.clone();
        async move { rutina.wait().await }
    });
    send("TERM");
    timeout(PATIENCE, rutina.token().cancelled()).await.expect("the first signal begins the shutdown");
    assert!(!rutina.is_ready());
    send("TERM");
    let result = timeout(PATIENCE, waiting).await.expect("the second signal aborts, delay or not").unwrap();
    match result {
        Err(Error::Aborted { stuck, cause: None }) => assert_eq!(stuck, [(api, "api".to_owned())]),
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert_eq!(cancelled.try_recv().ok(), None, "aborted during the delay: never asked to stop");
    let report = rutina.shutdown_report().unwrap();
    assert!(report.delay < PATIENCE, "the delay ended with the second signal: {:?}", report.delay);
    assert!(matches!(report.routines[0].how, StopKind::Aborted), "{:?}", report.routines[0].how);
}

#[tokio::test]
async fn sighup_reloads_the_routines_marked_reload_and_nothing_else() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rutina = Rutina::new(Options::default().listen_os_signals(true));
    let runs = Arc::new(Mutex::new(Vec::new()));
    let (started, mut starts) = mpsc::unbounded_channel();
    let make = |name: &'static str| {
        let (runs, started) = (runs.clone(), started.clone());
        move |ctx: Context| {
            let (runs, started) = (runs.clone(), started.clone());
            async move {
                let _ = started.send((name, ctx.attempt()));
                ctx.cancelled().await;
                runs.lock().unwrap().push((name, ctx.attempt(), ctx.cancel_reason()));
                Ok::<_, std::io::Error>(())
            }
        }
    };
    rutina.go_with(make("config"), RunOptions::default().reload(true));
    rutina.go_with(make("server"), RunOptions::default());
    for _ in 0..2 {
        timeout(PATIENCE, starts.recv()).await.expect("first runs");
    }
    send("HUP");
    assert_eq!(timeout(PATIENCE, starts.recv()).await.expect("a reload"), Some(("config", 2)));
    assert!(!rutina.is_shutting_down(), "SIGHUP does not shut down");
    assert_eq!(*runs.lock().unwrap(), [("config", 1, Some(CancelReason::Reload))]);
    send("TERM");
    timeout(PATIENCE, rutina.wait()).await.expect("SIGTERM shuts down").unwrap();
    let mut runs = runs.lock().unwrap().clone();
    runs.sort_by_key(|(name, attempt, _)| (*name, *attempt));
    let shutdown = Some(CancelReason::Shutdown);
    assert_eq!(
        runs,
        [("config", 1, Some(CancelReason::Reload)), ("config", 2, shutdown), ("server", 1, shutdown)],
        "the server ran once"
    );
}
