//! Nothing outlives a group: after `wait`, whatever ended it, no task is alive in the
//! runtime (routines, backoffs, the OS-signal listener, the parent-token watcher), no
//! routine is listed and the token is cancelled; a group dropped without `wait`
//! cancels its routines and its own tasks end with them.
//!
//! `tests/model.rs` checks the same after `wait` on random scenarios (a quarter of them
//! listening to OS signals); `tests/acceptance.rs` has the first cases of dropping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rutina::{Backoff, CancellationToken, Context, Error, Options, Policy, RunOptions, Rutina};
use tokio::time::sleep;

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

/// Serves until cancelled, then counts itself in `drained`.
fn server(
    drained: Arc<AtomicU32>,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> + Send {
    move |ctx: Context| {
        let drained = drained.clone();
        Box::pin(async move {
            ctx.cancelled().await;
            drained.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

/// Deaf to its context: sleeps `period`, then counts itself in `finished`.
fn deaf(
    period: Duration,
    finished: Arc<AtomicU32>,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> + Send {
    move |_ctx: Context| {
        let finished = finished.clone();
        Box::pin(async move {
            sleep(period).await;
            finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

/// After `wait`: nothing alive, nothing listed, the token cancelled.
fn assert_nothing_left(rutina: &Rutina) {
    assert_eq!(alive_tasks(), 0, "tasks alive after wait");
    assert!(rutina.processes().is_empty());
    assert!(rutina.token().is_cancelled());
}

/// Every way a group can end, with the signal listener and a parent token (each
/// spawns a task of its own) and with a routine in a long backoff.
#[tokio::test(start_paused = true)]
async fn every_ending_leaves_nothing_behind() {
    type Setup = fn(&Rutina, &CancellationToken);
    let endings: [(&str, Setup); 8] = [
        ("no routine at all", |_, _| {}),
        ("all routines returned", |r, _| {
            r.go(|_ctx: Context| async { Ok::<_, std::io::Error>(()) });
        }),
        ("shutdown()", |r, _| r.shutdown()),
        ("the parent token", |_, parent| parent.cancel()),
        ("a routine's error", |r, _| {
            r.go(|_ctx: Context| async {
                sleep(Duration::from_secs(1)).await;
                Err::<(), _>(std::io::Error::other("fatal"))
            });
        }),
        ("the run limit", |r, _| {
            r.go_with(
                |_ctx: Context| async { Err::<(), _>(std::io::Error::other("again")) },
                RunOptions::default().on_error(Policy::Restart).max_count(2).backoff(Backoff::none()),
            );
        }),
        ("a panic", |r, _| {
            r.go(|_ctx: Context| async {
                sleep(Duration::from_secs(1)).await;
                panic!("boom");
                #[allow(unreachable_code)]
                Ok::<_, std::io::Error>(())
            });
        }),
        ("an abort after the grace period", |r, _| {
            r.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
            r.shutdown();
        }),
    ];
    for (ending, setup) in endings {
        for listen in [false, true] {
            let parent = CancellationToken::new();
            let rutina = Rutina::new(
                Options::default()
                    .listen_os_signals(listen)
                    .parent_token(parent.clone())
                    .shutdown_timeout(Duration::from_secs(5)),
            );
            let drained = Arc::new(AtomicU32::new(0));
            rutina.go(server(drained.clone()));
            rutina.go_with(
                |_ctx: Context| async { Err::<(), _>(std::io::Error::other("backing off")) },
                RunOptions::default().on_error(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(3600))),
            );
            setup(&rutina, &parent);
            if ending == "all routines returned" || ending == "no routine at all" {
                rutina.shutdown();
            }
            let result = rutina.wait().await;
            assert_nothing_left(&rutina);
            assert_eq!(drained.load(Ordering::SeqCst), 1, "{ending}: the server drained");
            match ending {
                "a routine's error" => assert!(matches!(result, Err(Error::Routine { .. })), "{result:?}"),
                "the run limit" => assert!(matches!(result, Err(Error::RunLimit { .. })), "{result:?}"),
                "a panic" => assert!(matches!(result, Err(Error::Panicked { .. })), "{result:?}"),
                "an abort after the grace period" => {
                    assert!(matches!(result, Err(Error::Aborted { .. })), "{result:?}")
                }
                _ => assert!(result.is_ok(), "{ending}: {result:?}"),
            }
        }
    }
}

/// A group made outside a runtime installs its listener at the first `go` or `wait`,
/// and removes it at the end.
#[test]
fn a_listener_wanted_outside_a_runtime_is_gone_after_wait() {
    let rutina = Rutina::new(Options::default().listen_os_signals(true));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    runtime.block_on(async {
        // Installed by `wait`, with no routine at all.
        assert!(rutina.wait().await.is_ok());
        assert_nothing_left(&rutina);
    });
    let rutina = Rutina::new(Options::default().listen_os_signals(true));
    runtime.block_on(async {
        rutina.go(|ctx: Context| async move {
            ctx.cancelled().await;
            Ok::<_, std::io::Error>(())
        });
        assert!(alive_tasks() >= 2, "the routine and the listener");
        rutina.shutdown();
        assert!(rutina.wait().await.is_ok());
        assert_nothing_left(&rutina);
    });
}

/// A `wait` given up on (dropped by a timeout) leaves nothing behind, and a later
/// `wait` still works.
#[tokio::test(start_paused = true)]
async fn an_abandoned_wait_leaks_nothing() {
    let rutina = Rutina::new(Options::default().listen_os_signals(true).shutdown_timeout(Duration::from_secs(1)));
    rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
    rutina.shutdown();
    assert!(tokio::time::timeout(Duration::from_millis(500), rutina.wait()).await.is_err());
    assert!(matches!(rutina.wait().await, Err(Error::Aborted { .. })));
    assert_nothing_left(&rutina);
}

// ----- dropping without `wait` ---------------------------------------------------------

/// Only the last handle's drop shuts the group down; clones keep it running.
#[tokio::test(start_paused = true)]
async fn dropping_a_clone_is_not_dropping_the_group() {
    let drained = Arc::new(AtomicU32::new(0));
    let rutina = Rutina::default();
    let token = rutina.token();
    rutina.go(server(drained.clone()));
    let clone = rutina.clone();
    drop(rutina);
    sleep(Duration::from_secs(1)).await;
    assert!(!token.is_cancelled());
    assert_eq!(clone.processes().len(), 1);
    drop(clone);
    sleep(Duration::from_millis(1)).await;
    assert!(token.is_cancelled());
    assert_eq!(drained.load(Ordering::SeqCst), 1);
    assert_eq!(alive_tasks(), 0);
}

/// A dropped group's own tasks (signal listener, parent watcher) end once its routines
/// did; a routine in a backoff ends at once, one that drains takes its time.
#[tokio::test(start_paused = true)]
async fn a_dropped_group_ends_its_own_tasks_with_its_routines() {
    let parent = CancellationToken::new();
    let rutina = Rutina::new(Options::default().listen_os_signals(true).parent_token(parent));
    let drained = Arc::new(AtomicU32::new(0));
    let seen = drained.clone();
    rutina.go(move |ctx: Context| {
        let seen = seen.clone();
        async move {
            ctx.cancelled().await;
            sleep(Duration::from_secs(5)).await; // a long drain
            seen.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(())
        }
    });
    let backoff_runs = Arc::new(AtomicU32::new(0));
    let seen = backoff_runs.clone();
    rutina.go_with(
        move |_ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(std::io::Error::other("x")) }
        },
        RunOptions::default().on_error(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(3600))),
    );
    sleep(Duration::from_secs(1)).await;
    let token = rutina.token();
    drop(rutina);
    sleep(Duration::from_secs(1)).await;
    assert!(token.is_cancelled());
    assert_eq!(backoff_runs.load(Ordering::SeqCst), 1, "the backoff ended, no restart");
    // The draining routine, and the signal listener (a second signal may still abort
    // it); the parent watcher ended with the token.
    assert_eq!(alive_tasks(), 2);
    sleep(Duration::from_secs(5)).await;
    assert_eq!(drained.load(Ordering::SeqCst), 1);
    assert_eq!(alive_tasks(), 0, "the listener and the watcher ended with the last routine");
}

/// README: "the grace period is enforced by `wait`": a group nobody waits for does not
/// abort a routine that ignores cancellation; it runs until it returns.
#[tokio::test(start_paused = true)]
async fn a_dropped_group_aborts_a_routine_that_ignores_cancellation_after_its_grace_period() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(1)));
    let finished = Arc::new(AtomicU32::new(0));
    rutina.go(deaf(Duration::from_secs(3600), finished.clone()));
    tokio::task::yield_now().await;
    drop(rutina);
    sleep(Duration::from_millis(999)).await;
    assert_eq!(alive_tasks(), 2, "the routine and the reaper, within the grace period");
    sleep(Duration::from_millis(2)).await;
    assert_eq!(alive_tasks(), 0, "aborted once the grace period passed; the reaper ended with it");
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_group_without_a_grace_period_lets_its_routines_finish() {
    let rutina = Rutina::default();
    let finished = Arc::new(AtomicU32::new(0));
    rutina.go(deaf(Duration::from_secs(3600), finished.clone()));
    drop(rutina);
    sleep(Duration::from_secs(60)).await;
    assert_eq!(alive_tasks(), 1, "no reaper: nothing to enforce");
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert_eq!(alive_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_inner_group_of_an_aborted_routine_aborts_its_routines_at_once() {
    let outer = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(1)));
    let inner_finished = Arc::new(AtomicU32::new(0));
    let finished = inner_finished.clone();
    outer.go(move |ctx: Context| {
        let finished = finished.clone();
        async move {
            // A nested group whose routine ignores its context, and a `wait` that the
            // outer grace period cuts short: the run is aborted while it waits.
            let inner = Rutina::new(
                Options::default().parent_token(ctx.token().clone()).shutdown_timeout(Duration::from_secs(3600)),
            );
            inner.go(deaf(Duration::from_secs(7200), finished));
            inner.wait().await?;
            Ok::<_, rutina::Error>(())
        }
    });
    sleep(Duration::from_secs(1)).await;
    outer.shutdown();
    match outer.wait().await {
        Err(Error::Aborted { stuck, .. }) => assert_eq!(stuck.len(), 1),
        other => panic!("unexpected {other:?}"),
    }
    // The inner group's routine was aborted with the run that owned the group, not left
    // running for the inner group's hour-long grace period.
    tokio::task::yield_now().await;
    assert_eq!(alive_tasks(), 0, "nothing started by rutina is running after the outermost wait");
    sleep(Duration::from_secs(7200)).await;
    assert_eq!(inner_finished.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failure_after_the_last_handle_was_dropped_goes_to_the_errors_channel() {
    let (errors, mut failures) = tokio::sync::mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(errors));
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(Duration::from_secs(1)).await;
            Err::<(), _>(std::io::Error::other("failed while draining"))
        },
        RunOptions::default().name("drainer"),
    );
    tokio::task::yield_now().await;
    drop(rutina);
    let failure = failures.recv().await.expect("the failure reaches the channel");
    assert_eq!((failure.name.as_str(), failure.attempt), ("drainer", 1));
    assert_eq!(failure.error.to_string(), "failed while draining");
    assert!(failures.recv().await.is_none(), "the channel ends with the group");
}

/// Shutting the runtime down under a running group drops its routines (each one's
/// registration goes with its task) and panics nowhere.
#[test]
fn a_runtime_shut_down_under_a_group_takes_the_routines_along() {
    let rutina = Rutina::new(Options::default().listen_os_signals(true));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        for _ in 0..10 {
            rutina.go(|ctx: Context| async move {
                ctx.cancelled().await;
                Ok::<_, std::io::Error>(())
            });
        }
        rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
        tokio::task::yield_now().await;
    });
    drop(runtime);
    assert!(rutina.processes().is_empty(), "{:?}", rutina.processes());
    drop(rutina);
}
