//! One test (or a few) per numbered rule of the contract's "Semantics", under tokio's
//! paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rutina::{Backoff, Context, Error, Options, Policy, RoutineError, RunOptions, Rutina};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

type Result<T = ()> = std::result::Result<T, std::io::Error>;

fn io_error(message: &str) -> std::io::Error {
    std::io::Error::other(message.to_owned())
}

/// A group with an errors channel.
fn group_with_errors(options: Options) -> (Rutina, mpsc::UnboundedReceiver<RoutineError>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Rutina::new(options.errors(tx)), rx)
}

fn drain(rx: &mut mpsc::UnboundedReceiver<RoutineError>) -> Vec<RoutineError> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

/// A routine that serves until cancelled, counting its runs.
fn server(
    runs: Arc<AtomicU32>,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = Result> + Send>> + Send {
    move |ctx: Context| {
        runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            ctx.cancelled().await;
            Ok(())
        })
    }
}

// Rule 1: Ok → on_done; failure → on_error.
#[tokio::test(start_paused = true)]
async fn rule1_ok_uses_on_done_and_failure_uses_on_error() {
    // Ok under on_done = Shutdown shuts the group down, although on_error is DoNothing.
    let rutina = Rutina::default();
    let sibling = Arc::new(AtomicU32::new(0));
    rutina.go(server(sibling.clone()));
    rutina.go_with(
        |_ctx| async { Ok::<_, std::io::Error>(()) },
        RunOptions::default().on_done(Policy::Shutdown).on_error(Policy::DoNothing),
    );
    assert!(rutina.wait().await.is_ok());

    // A failure under on_error = DoNothing does not, although on_done is Shutdown.
    let (rutina, mut errors) = group_with_errors(Options::default());
    let server_id = rutina.go(server(Arc::new(AtomicU32::new(0))));
    let failing = rutina.go_with(
        |_ctx| async { Err::<(), _>(io_error("boom")) },
        RunOptions::default().on_done(Policy::Shutdown).on_error(Policy::DoNothing),
    );
    sleep(Duration::from_secs(1)).await;
    assert_eq!(rutina.processes(), vec![server_id]);
    assert!(!rutina.token().is_cancelled());
    let reported = drain(&mut errors);
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].id, failing);
    rutina.shutdown();
    assert!(rutina.wait().await.is_ok());
}

// Rule 2: DoNothing ends the routine only; its failure is logged and sent to the channel.
#[tokio::test(start_paused = true)]
async fn rule2_do_nothing_ends_only_that_routine() {
    let (rutina, mut errors) = group_with_errors(Options::default());
    let runs = Arc::new(AtomicU32::new(0));
    let keeper = rutina.go(server(runs.clone()));
    let ok = rutina.go_with(|_ctx| async { Ok::<_, std::io::Error>(()) }, RunOptions::default());
    let failing = rutina.go_with(
        |_ctx| async { Err::<(), _>(io_error("disk full")) },
        RunOptions::default().name("writer").on_error(Policy::DoNothing),
    );
    sleep(Duration::from_millis(10)).await;
    assert_eq!(rutina.processes(), vec![keeper]);
    assert!(!rutina.processes().contains(&ok) && !rutina.processes().contains(&failing));
    assert!(!rutina.token().is_cancelled());
    let reported = drain(&mut errors);
    assert_eq!(reported.len(), 1);
    let report = &reported[0];
    assert_eq!((report.id, report.name.as_str(), report.attempt), (failing, "writer", 1));
    assert!(report.to_string().contains("disk full"), "{report}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    rutina.shutdown();
    assert!(rutina.wait().await.is_ok());
}

// Rule 3: Restart runs again with a fresh context (attempt + 1) after the backoff, up to
// max_count restarts; then RunLimit with the last failure. Earlier failures go to the channel.
#[tokio::test(start_paused = true)]
async fn rule3_restart_until_max_count_then_run_limit() {
    let (rutina, mut errors) = group_with_errors(Options::default());
    let attempts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = attempts.clone();
    let id = rutina.go_with(
        move |ctx: Context| {
            let seen = seen.clone();
            async move {
                assert!(!ctx.is_cancelled(), "each run gets a fresh context");
                seen.lock().unwrap().push((ctx.attempt(), Instant::now()));
                Err::<(), _>(io_error(&format!("failure {}", ctx.attempt())))
            }
        },
        RunOptions::default()
            .name("flaky")
            .on_error(Policy::Restart)
            .max_count(3)
            .backoff(Backoff::fixed(Duration::from_secs(2))),
    );
    let started = Instant::now();
    let error = rutina.wait().await.unwrap_err();
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts.iter().map(|(a, _)| *a).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    for (i, (_, at)) in attempts.iter().enumerate() {
        assert_eq!(*at - started, Duration::from_secs(2 * i as u64), "run {i} after its backoff");
    }
    match error {
        Error::RunLimit { id: limit_id, name, runs, last_error } => {
            assert_eq!((limit_id, name.as_str(), runs), (id, "flaky", 4));
            assert_eq!(last_error.unwrap().to_string(), "failure 4");
        }
        other => panic!("expected RunLimit, got {other:?}"),
    }
    let reported: Vec<_> = drain(&mut errors).iter().map(|e| (e.attempt, e.error.to_string())).collect();
    assert_eq!(reported, vec![(1, "failure 1".into()), (2, "failure 2".into()), (3, "failure 3".into())]);
}

#[tokio::test(start_paused = true)]
async fn rule3_no_limit_means_unlimited_restarts_and_ok_restarts_have_no_delay() {
    let rutina = Rutina::default();
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    let handle = rutina.clone();
    rutina.go_with(
        move |_ctx: Context| {
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            let handle = handle.clone();
            async move {
                if n == 10_000 {
                    handle.shutdown();
                }
                Ok::<_, std::io::Error>(())
            }
        },
        RunOptions::default().on_done(Policy::Restart),
    );
    let started = Instant::now();
    assert!(rutina.wait().await.is_ok());
    assert_eq!(count.load(Ordering::SeqCst), 10_000);
    assert_eq!(started.elapsed(), Duration::ZERO, "restarts after Ok wait for nothing by default");
}

#[tokio::test(start_paused = true)]
async fn rule3_default_backoff_keeps_a_crash_loop_from_spinning() {
    let rutina = Rutina::default();
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    rutina.go_with(
        move |_ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(io_error("crash")) }
        },
        RunOptions::default().on_error(Policy::Restart),
    );
    sleep(Duration::from_secs(60)).await;
    let runs = count.load(Ordering::SeqCst);
    // 10 ms doubling to 5 s (jittered down to half at most): a few dozen runs a minute, not millions.
    assert!((8..=40).contains(&runs), "{runs} runs in a minute");
    rutina.shutdown();
    assert!(rutina.wait().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn rule3_panics_are_failures_and_are_restarted() {
    let (rutina, mut errors) = group_with_errors(Options::default());
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    rutina.go_with(
        move |_ctx: Context| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("bad state {n}");
                }
                Ok::<_, std::io::Error>(())
            }
        },
        RunOptions::default().on_error(Policy::Restart),
    );
    assert!(rutina.wait().await.is_ok());
    assert_eq!(count.load(Ordering::SeqCst), 3);
    let reported: Vec<_> = drain(&mut errors).iter().map(|e| e.error.to_string()).collect();
    assert_eq!(reported, vec!["panicked: bad state 0", "panicked: bad state 1"]);
}

// Rule 4: Shutdown shuts the group down; the first failure is wait's error, later ones
// go to the channel.
#[tokio::test(start_paused = true)]
async fn rule4_shutdown_policy_first_failure_wins() {
    let (rutina, mut errors) = group_with_errors(Options::default());
    let sibling_runs = Arc::new(AtomicU32::new(0));
    rutina.go(server(sibling_runs.clone()));
    let first = rutina.go_with(
        |_ctx| async {
            sleep(Duration::from_secs(1)).await;
            Err::<(), _>(io_error("first"))
        },
        RunOptions::default().name("first"),
    );
    // Fails while the group drains, also under Shutdown.
    let second = rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(Duration::from_secs(1)).await;
            Err::<(), _>(io_error("second"))
        },
        RunOptions::default().name("second"),
    );
    let started = Instant::now();
    match rutina.wait().await.unwrap_err() {
        Error::Routine { id, name, source } => {
            assert_eq!((id, name.as_str(), source.to_string().as_str()), (first, "first", "first"));
        }
        other => panic!("expected Routine, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    let reported = drain(&mut errors);
    assert_eq!(reported.len(), 1);
    assert_eq!((reported[0].id, reported[0].error.to_string().as_str()), (second, "second"));
}

#[tokio::test(start_paused = true)]
async fn rule4_panic_under_shutdown_is_panicked() {
    let rutina = Rutina::default();
    let id = rutina.go_with(
        |_ctx: Context| async {
            panic!("invariant broken");
            #[allow(unreachable_code)]
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("p"),
    );
    match rutina.wait().await.unwrap_err() {
        Error::Panicked { id: pid, name, message } => {
            assert_eq!((pid, name.as_str(), message.as_str()), (id, "p", "invariant broken"));
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
}

// Rule 5: the timeout is per run; the run's context is cancelled and the run is a failure
// whatever it then returns.
#[tokio::test(start_paused = true)]
async fn rule5_timeout_cancels_the_run_and_is_a_failure() {
    let (rutina, mut errors) = group_with_errors(Options::default());
    let attempts = Arc::new(AtomicU32::new(0));
    let seen = attempts.clone();
    let id = rutina.go_with(
        move |ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(!ctx.is_cancelled());
                if ctx.attempt() == 1 {
                    ctx.cancelled().await; // returns Ok once cancelled: still a timeout
                    return Ok::<_, std::io::Error>(());
                }
                ctx.cancelled().await;
                Ok(())
            }
        },
        RunOptions::default()
            .name("slow")
            .timeout(Duration::from_secs(5))
            .on_error(Policy::Restart)
            .max_count(1)
            .backoff(Backoff::none()),
    );
    let started = Instant::now();
    match rutina.wait().await.unwrap_err() {
        Error::RunLimit { id: rid, runs, last_error, .. } => {
            assert_eq!((rid, runs), (id, 2));
            let last = last_error.unwrap();
            let timeout = last.downcast_ref::<rutina::TimeoutError>().expect("a TimeoutError");
            assert_eq!(timeout.timeout, Duration::from_secs(5));
        }
        other => panic!("expected RunLimit, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(10), "each run has its own 5 s");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let reported = drain(&mut errors);
    assert_eq!(reported.len(), 1);
    assert!(reported[0].error.is::<rutina::TimeoutError>());

    // Under Shutdown, TimedOut is wait's error.
    let rutina = Rutina::default();
    let id = rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("t").timeout(Duration::from_millis(250)),
    );
    match rutina.wait().await.unwrap_err() {
        Error::TimedOut { id: tid, name, timeout } => {
            assert_eq!((tid, name.as_str(), timeout), (id, "t", Duration::from_millis(250)));
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
}

// Rule 6: a group shutdown cancels every context, ends pending backoffs, restarts
// nothing and starts nothing new.
#[tokio::test(start_paused = true)]
async fn rule6_group_shutdown_cancels_everything_and_starts_nothing() {
    let rutina = Rutina::default();
    let serving = Arc::new(AtomicU32::new(0));
    rutina.go_with(server(serving.clone()), RunOptions::default().on_done(Policy::Restart));
    let backing_off = Arc::new(AtomicU32::new(0));
    let seen = backing_off.clone();
    rutina.go_with(
        move |_ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(io_error("x")) }
        },
        RunOptions::default().on_error(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(3600))),
    );
    sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    rutina.shutdown();
    assert!(rutina.is_shutting_down());
    let late = Arc::new(AtomicU32::new(0));
    let late_id = rutina.go(server(late.clone()));
    assert!(!rutina.processes().contains(&late_id));
    assert!(rutina.wait().await.is_ok());
    assert_eq!(started.elapsed(), Duration::ZERO, "the hour-long backoff ended at once");
    assert_eq!(serving.load(Ordering::SeqCst), 1, "not restarted during shutdown");
    assert_eq!(backing_off.load(Ordering::SeqCst), 1);
    assert_eq!(late.load(Ordering::SeqCst), 0, "started during shutdown: never run");
    assert!(late_id.get() > 2, "ids are still handed out");
}

#[tokio::test(start_paused = true)]
async fn rule6_parent_token_shuts_the_group_down() {
    let parent = rutina::CancellationToken::new();
    let rutina = Rutina::new(Options::default().parent_token(parent.clone()));
    let runs = Arc::new(AtomicU32::new(0));
    rutina.go(server(runs.clone()));
    let canceller = parent.clone();
    tokio::spawn(async move {
        sleep(Duration::from_secs(2)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    assert!(rutina.wait().await.is_ok(), "a cancelled parent is not an error");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn rule6_failure_during_shutdown_is_the_error_when_none_was_recorded() {
    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            Err::<(), _>(io_error("could not flush"))
        },
        RunOptions::default().name("flusher"),
    );
    rutina.shutdown();
    match rutina.wait().await.unwrap_err() {
        Error::Routine { name, source, .. } => {
            assert_eq!((name.as_str(), source.to_string().as_str()), ("flusher", "could not flush"))
        }
        other => panic!("expected Routine, got {other:?}"),
    }
}

// Rule 7: the shutdown grace period aborts stragglers; without it wait waits for all.
#[tokio::test(start_paused = true)]
async fn rule7_shutdown_timeout_aborts_stragglers() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(10)));
    let stuck = rutina.go_with(
        |_ctx: Context| async {
            sleep(Duration::from_secs(3600)).await; // ignores cancellation
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("stuck"),
    );
    rutina.go(server(Arc::new(AtomicU32::new(0))));
    rutina.go_with(
        |_ctx| async {
            sleep(Duration::from_secs(1)).await;
            Err::<(), _>(io_error("the cause"))
        },
        RunOptions::default().name("failing"),
    );
    let started = Instant::now();
    match rutina.wait().await.unwrap_err() {
        Error::Aborted { stuck: list, cause } => {
            assert_eq!(list, vec![(stuck, "stuck".to_owned())]);
            let cause = cause.expect("the error that started the shutdown");
            assert!(matches!(*cause, Error::Routine { ref name, .. } if name == "failing"), "{cause:?}");
        }
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(11), "1 s until the failure, then the 10 s grace period");
    assert!(rutina.processes().is_empty());
}

#[tokio::test(start_paused = true)]
async fn rule7_without_timeout_wait_waits_for_all() {
    let rutina = Rutina::default();
    rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        sleep(Duration::from_secs(600)).await; // a long drain
        Ok::<_, std::io::Error>(())
    });
    rutina.shutdown();
    let started = Instant::now();
    assert!(rutina.wait().await.is_ok());
    assert_eq!(started.elapsed(), Duration::from_secs(600));
}

#[tokio::test(start_paused = true)]
async fn rule7_aborted_without_cause_after_requested_shutdown() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(1)));
    rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
    rutina.shutdown();
    match rutina.wait().await.unwrap_err() {
        Error::Aborted { stuck, cause: None } => assert_eq!(stuck.len(), 1),
        other => panic!("expected Aborted without cause, got {other:?}"),
    }
}

// Rule 8: kill cancels one routine's context; no restart, no policy; failures still go
// to the channel; never a group shutdown.
#[tokio::test(start_paused = true)]
async fn rule8_kill_cancels_one_routine_without_policy() {
    let (rutina, mut errors) = group_with_errors(Options::default());
    let keeper = rutina.go(server(Arc::new(AtomicU32::new(0))));
    let runs = Arc::new(AtomicU32::new(0));
    let seen = runs.clone();
    // on_error = Shutdown and on_done = Restart: neither applies to a killed routine.
    let victim = rutina.go_with(
        move |ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async move {
                ctx.cancelled().await;
                Err::<(), _>(io_error("interrupted"))
            }
        },
        RunOptions::default().on_done(Policy::Restart).on_error(Policy::Shutdown),
    );
    sleep(Duration::from_secs(1)).await;
    rutina.kill(victim).unwrap();
    sleep(Duration::from_secs(1)).await;
    assert_eq!(rutina.processes(), vec![keeper]);
    assert!(!rutina.is_shutting_down());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let reported = drain(&mut errors);
    assert_eq!((reported.len(), reported[0].id), (1, victim));
    assert!(matches!(rutina.kill(victim), Err(Error::NotFound(id)) if id == victim));
    rutina.shutdown();
    assert!(rutina.wait().await.is_ok(), "the killed routine's error is not wait's");
}

#[tokio::test(start_paused = true)]
async fn rule8_kill_right_after_go_and_during_backoff() {
    let rutina = Rutina::default();
    let cancelled_runs = Arc::new(AtomicU32::new(0));
    let seen = cancelled_runs.clone();
    let id = rutina.go_with(
        move |ctx: Context| {
            assert!(ctx.is_cancelled(), "killed before its first run: that run sees a cancelled context");
            seen.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::io::Error>(()) }
        },
        RunOptions::default().on_done(Policy::Restart),
    );
    rutina.kill(id).unwrap();
    sleep(Duration::from_millis(1)).await;
    assert!(rutina.processes().is_empty());
    assert_eq!(cancelled_runs.load(Ordering::SeqCst), 1, "one run, no restart");
    let runs = Arc::new(AtomicU32::new(0));

    let backing_off = Arc::new(AtomicU32::new(0));
    let seen = backing_off.clone();
    let id = rutina.go_with(
        move |_ctx: Context| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::io::Error>(()) }
        },
        RunOptions::default().on_done(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(60))),
    );
    sleep(Duration::from_secs(1)).await;
    assert_eq!(rutina.processes(), vec![id]);
    rutina.kill(id).unwrap();
    sleep(Duration::from_millis(1)).await;
    assert!(rutina.processes().is_empty(), "the backoff ended at the kill");
    assert_eq!(backing_off.load(Ordering::SeqCst), 1);
    assert!(!rutina.is_shutting_down());
    assert!(rutina.wait().await.is_ok());
    assert!(matches!(rutina.kill(rutina::Rutina::default().go(server(runs.clone()))), Err(Error::NotFound(_))));
}

// Rule 9: wait returns when nothing is alive, from any clone, any number of times;
// with no routines at once; afterwards the token is cancelled.
#[tokio::test(start_paused = true)]
async fn rule9_wait_from_any_clone_any_number_of_times() {
    let rutina = Rutina::default();
    assert!(rutina.wait().await.is_ok(), "no routines: at once");
    assert!(rutina.token().is_cancelled());

    let rutina = Rutina::default();
    rutina.go_with(
        |_ctx| async {
            sleep(Duration::from_secs(3)).await;
            Err::<(), _>(io_error("fatal"))
        },
        RunOptions::default(),
    );
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let clone = rutina.clone();
            tokio::spawn(async move { clone.wait().await })
        })
        .collect();
    for waiter in waiters {
        let error = waiter.await.unwrap().unwrap_err();
        assert!(error.to_string().contains("fatal"), "{error}");
    }
    assert!(rutina.wait().await.unwrap_err().to_string().contains("fatal"), "again, the same error");
    assert!(rutina.token().is_cancelled());
    let after = Arc::new(AtomicU32::new(0));
    rutina.go(server(after.clone()));
    sleep(Duration::from_millis(1)).await;
    assert_eq!(after.load(Ordering::SeqCst), 0, "a routine started after wait never runs");
    assert!(rutina.processes().is_empty());
}

// Rule 10: every failure ends up in exactly one place; RunLimit and Aborted are wait's;
// the channel never blocks and is never closed by rutina.
#[tokio::test(start_paused = true)]
async fn rule10_every_failure_in_exactly_one_place() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(tx.clone()));
    // 3 failures under DoNothing, 2 restarted ones, one deciding error, one during shutdown.
    for i in 0..3 {
        rutina.go_with(
            move |_ctx| async move { Err::<(), _>(io_error(&format!("nothing {i}"))) },
            RunOptions::default().on_error(Policy::DoNothing),
        );
    }
    rutina.go_with(
        |ctx: Context| async move {
            if ctx.attempt() <= 2 {
                Err(io_error(&format!("restarted {}", ctx.attempt())))
            } else {
                ctx.cancelled().await;
                Err(io_error("during shutdown"))
            }
        },
        RunOptions::default().on_error(Policy::Restart),
    );
    rutina.go_with(
        |_ctx| async {
            sleep(Duration::from_secs(1)).await;
            Err::<(), _>(io_error("decisive"))
        },
        RunOptions::default(),
    );
    let error = rutina.wait().await.unwrap_err();
    assert!(error.to_string().contains("decisive"));
    let mut reported: Vec<_> = drain(&mut rx).iter().map(|e| e.error.to_string()).collect();
    reported.sort();
    assert_eq!(reported, vec!["during shutdown", "nothing 0", "nothing 1", "nothing 2", "restarted 1", "restarted 2"]);
    // Not closed by rutina: our sender still works and the receiver is not disconnected.
    assert!(matches!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty)));
    tx.send(RoutineError {
        id: rutina::Context::detached().id(),
        name: "mine".into(),
        attempt: 1,
        error: Arc::new(io_error("x")),
    })
    .unwrap();
    assert_eq!(rx.try_recv().unwrap().name, "mine");

    // A dropped receiver blocks nothing.
    let (tx, rx) = mpsc::unbounded_channel();
    drop(rx);
    let rutina = Rutina::new(Options::default().errors(tx));
    rutina.go_with(
        |_ctx| async { Err::<(), _>(io_error("nobody listens")) },
        RunOptions::default().on_error(Policy::DoNothing),
    );
    assert!(rutina.wait().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn rule10_run_limit_and_aborted_are_not_on_the_channel() {
    let (rutina, mut errors) = group_with_errors(Options::default().shutdown_timeout(Duration::from_secs(1)));
    rutina.go_with(
        |_ctx: Context| async { Err::<(), _>(io_error("limit")) },
        RunOptions::default().on_error(Policy::Restart).max_count(0),
    );
    rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
    let error = rutina.wait().await.unwrap_err();
    match &error {
        Error::Aborted { cause: Some(cause), .. } => assert!(matches!(**cause, Error::RunLimit { runs: 1, .. })),
        other => panic!("expected Aborted caused by RunLimit, got {other:?}"),
    }
    assert!(drain(&mut errors).is_empty(), "the run-limited failure is carried by wait's error");
}

#[tokio::test(start_paused = true)]
async fn rule10_the_errors_channel_ends_after_wait_once_the_users_senders_are_gone() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(tx));
    rutina.go_with(|_ctx| async { Err::<(), _>(io_error("lost")) }, RunOptions::default().on_error(Policy::DoNothing));
    rutina.wait().await.unwrap();
    assert_eq!(rx.recv().await.map(|e| e.error.to_string()), Some("lost".to_owned()));
    assert!(rx.recv().await.is_none(), "rutina dropped its sender when wait returned");
}
