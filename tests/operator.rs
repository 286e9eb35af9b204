//! What an operator does to a running service: `Rutina::restart(id)` and
//! `Rutina::reload()` (the in-process half of SIGHUP; the signal itself is in
//! `lifecycle_process.rs`). A restart cancels the run (or cuts its wait short), runs the
//! routine again at once whatever its policies, and counts against no limit. Paused clock.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{Backoff, CancelReason, Context, Error, Options, Policy, RoutineState, RunOptions, Rutina};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

type Result<T = ()> = std::result::Result<T, std::io::Error>;
type Run = Pin<Box<dyn Future<Output = Result> + Send>>;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn io_error(message: &str) -> std::io::Error {
    std::io::Error::other(message.to_owned())
}

/// The runs a routine made: `(attempt, when it started, since the test's start)`.
#[derive(Clone)]
struct Runs {
    t0: Instant,
    runs: Arc<Mutex<Vec<(u32, Duration)>>>,
}

impl Runs {
    fn new() -> Runs {
        Runs { t0: Instant::now(), runs: Arc::default() }
    }

    fn record(&self, ctx: &Context) {
        self.runs.lock().unwrap().push((ctx.attempt(), self.t0.elapsed()));
    }

    fn get(&self) -> Vec<(u32, Duration)> {
        self.runs.lock().unwrap().clone()
    }
}

/// Serves until cancelled, then takes `linger` to stop and returns `Ok`.
fn server(runs: Runs, linger: Duration) -> impl FnMut(Context) -> Run + Send + 'static {
    move |ctx: Context| {
        runs.record(&ctx);
        Box::pin(async move {
            ctx.cancelled().await;
            sleep(linger).await;
            Ok(())
        })
    }
}

/// Fails at once, every run.
fn failing(runs: Runs) -> impl FnMut(Context) -> Run + Send + 'static {
    move |ctx: Context| {
        runs.record(&ctx);
        Box::pin(async { Err(io_error("upstream down")) })
    }
}

fn drain<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> Vec<T> {
    let mut out = Vec::new();
    while let Ok(item) = rx.try_recv() {
        out.push(item);
    }
    out
}

// ----- restart ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn restart_of_a_running_routine_runs_it_again_as_soon_as_its_run_returned() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    let id = rutina.go_with(server(runs.clone(), secs(1)), RunOptions::default().name("api"));
    sleep(secs(2)).await;
    rutina.restart(id).unwrap();
    sleep(Duration::from_millis(500)).await;
    assert_eq!(rutina.status()[0].state, RoutineState::Stopping, "run 1 is stopping");
    sleep(secs(1)).await;
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(3))], "run 2 began when run 1 returned");
    let status = &rutina.status()[0];
    assert_eq!((status.id, status.state, status.attempt, status.restarts), (id, RoutineState::Running, 2, 1));
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

/// A restart renews the routine's record in the group; the task it runs in is the same,
/// and the shutdown's grace period still aborts it.
#[tokio::test(start_paused = true)]
async fn a_restarted_routine_that_ignores_its_cancellation_is_still_aborted() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(secs(5)));
    let runs = Runs::new();
    let recorded = runs.clone();
    let id = rutina.go(move |ctx: Context| {
        recorded.record(&ctx);
        let attempt = ctx.attempt();
        async move {
            ctx.cancelled().await;
            if attempt > 1 {
                // Run 2 never returns.
                std::future::pending::<()>().await;
            }
            Ok::<_, std::io::Error>(())
        }
    });
    sleep(secs(1)).await;
    rutina.restart(id).unwrap();
    sleep(secs(1)).await;
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(1))]);
    let t0 = Instant::now();
    rutina.shutdown();
    let result = tokio::time::timeout(secs(60), rutina.wait()).await.expect("the stuck run is aborted");
    assert!(matches!(&result, Err(Error::Aborted { stuck, .. }) if stuck.len() == 1 && stuck[0].0 == id), "{result:?}");
    assert_eq!(t0.elapsed(), secs(5), "aborted when the grace period ran out");
}

#[tokio::test(start_paused = true)]
async fn restart_of_a_routine_in_a_long_backoff_runs_it_at_once() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    let id = rutina.go_with(
        failing(runs.clone()),
        RunOptions::default().on_error(Policy::Restart).backoff(Backoff::fixed(secs(3600))),
    );
    sleep(secs(10)).await;
    assert!(matches!(rutina.status()[0].state, RoutineState::BackingOff { .. }));
    rutina.restart(id).unwrap();
    sleep(secs(1)).await;
    // The restart the policy decided (attempt 2) is made now instead of in an hour.
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(10))]);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn restart_during_a_schedule_wait_runs_at_once_and_the_next_tick_counts_from_it() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    let id = rutina.go_with(
        move |ctx: Context| {
            runs.record(&ctx);
            async { Ok::<_, std::io::Error>(()) }
        },
        RunOptions::default().every(secs(3600)),
    );
    let t0 = Instant::now();
    sleep(secs(10)).await;
    assert_eq!(rutina.status()[0].state, RoutineState::Scheduled { until: t0 + secs(3600) });
    rutina.restart(id).unwrap();
    sleep(secs(1)).await;
    assert_eq!(rutina.status()[0].state, RoutineState::Scheduled { until: t0 + secs(3610) });
    assert_eq!(rutina.status()[0].attempt, 2);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_operators_restart_counts_against_no_max_count() {
    let (errors, mut failures) = mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(errors));
    let runs = Runs::new();
    let seen = runs.clone();
    let id = rutina.go_with(
        move |ctx: Context| {
            seen.record(&ctx);
            Box::pin(async move {
                if ctx.attempt() == 1 {
                    ctx.cancelled().await;
                }
                Err::<(), _>(io_error("upstream down"))
            })
        },
        RunOptions::default().on_error(Policy::Restart).max_count(1).backoff(Backoff::fixed(secs(1))),
    );
    sleep(secs(5)).await;
    rutina.restart(id).unwrap();
    // Run 2 (the operator's), run 3 (the one restart allowed), then the limit.
    match rutina.wait().await {
        Err(Error::RunLimit { runs: 3, .. }) => {}
        other => panic!("expected RunLimit after 3 runs, got {other:?}"),
    }
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(5)), (3, secs(6))]);
    let attempts: Vec<_> = drain(&mut failures).iter().map(|f| f.attempt).collect();
    assert_eq!(attempts, [1, 2], "the restarted run's failure and run 2's went to the channel");
}

#[tokio::test(start_paused = true)]
async fn a_restart_that_cuts_a_backoff_short_uses_up_no_restart_of_max_count() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    let id = rutina.go_with(
        failing(runs.clone()),
        RunOptions::default().on_error(Policy::Restart).max_count(2).backoff(Backoff::fixed(secs(3600))),
    );
    sleep(secs(10)).await;
    rutina.restart(id).unwrap();
    // The policy's first restart, made sooner; its second after the backoff; then the limit.
    match rutina.wait().await {
        Err(Error::RunLimit { runs: 3, .. }) => {}
        other => panic!("expected RunLimit after 3 runs, got {other:?}"),
    }
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(10)), (3, secs(3610))]);
}

#[tokio::test(start_paused = true)]
async fn an_operators_restart_counts_against_no_restart_intensity() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    let seen = runs.clone();
    let id = rutina.go_with(
        move |ctx: Context| {
            seen.record(&ctx);
            Box::pin(async move {
                if ctx.attempt() == 1 {
                    ctx.cancelled().await;
                }
                Err::<(), _>(io_error("upstream down"))
            })
        },
        RunOptions::default()
            .on_error(Policy::Restart)
            .restart_intensity(1, secs(3600))
            .backoff(Backoff::fixed(secs(1))),
    );
    sleep(secs(5)).await;
    rutina.restart(id).unwrap();
    match rutina.wait().await {
        Err(Error::RestartIntensity { restarts: 1, .. }) => {}
        other => panic!("expected RestartIntensity, got {other:?}"),
    }
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(5)), (3, secs(6))], "one restart by the policy was allowed");
}

#[tokio::test(start_paused = true)]
async fn the_failure_of_a_restarted_run_goes_to_the_errors_channel_and_decides_nothing() {
    let (errors, mut failures) = mpsc::unbounded_channel();
    let rutina = Rutina::new(Options::default().errors(errors));
    let runs = Runs::new();
    let seen = runs.clone();
    // `on_error = Shutdown` (the default): a failure of the restarted run does not apply it.
    let id = rutina.go_with(
        move |ctx: Context| {
            seen.record(&ctx);
            Box::pin(async move {
                ctx.cancelled().await;
                match ctx.cancel_reason() {
                    Some(CancelReason::Restarted) => Err(io_error("interrupted mid-batch")),
                    _ => Ok(()),
                }
            })
        },
        RunOptions::default().name("batch"),
    );
    sleep(secs(1)).await;
    rutina.restart(id).unwrap();
    sleep(secs(1)).await;
    assert!(!rutina.is_shutting_down(), "the restarted run's failure applied no policy");
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(1))]);
    let failures = drain(&mut failures);
    assert_eq!(failures.len(), 1);
    assert_eq!((&*failures[0].name, failures[0].attempt), ("batch", 1));
    assert_eq!(failures[0].error.to_string(), "interrupted mid-batch");
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn restart_of_a_routine_that_is_not_alive_is_not_found() {
    let rutina = Rutina::default();
    let id = rutina.go(|_ctx: Context| async { Ok::<_, std::io::Error>(()) });
    let keep = rutina.go(server(Runs::new(), secs(0)));
    sleep(secs(1)).await;
    assert_eq!(rutina.processes(), [keep]);
    assert!(matches!(rutina.restart(id), Err(Error::NotFound(nf)) if nf == id));
    rutina.shutdown();
    rutina.wait().await.unwrap();
    assert!(matches!(rutina.restart(keep), Err(Error::NotFound(_) | Error::ShuttingDown)));
}

#[tokio::test(start_paused = true)]
async fn restart_during_a_shutdown_is_refused_and_nothing_restarts() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    let id = rutina.go(server(runs.clone(), secs(5)));
    sleep(secs(1)).await;
    rutina.shutdown();
    assert!(matches!(rutina.restart(id), Err(Error::ShuttingDown)));
    assert!(matches!(rutina.reload(), Err(Error::ShuttingDown)));
    rutina.wait().await.unwrap();
    assert_eq!(runs.get(), [(1, secs(0))]);
}

/// A cancelled parent token is a shutdown at once, before the group's watcher of that
/// token has run: `restart` is refused then (as `go` is), and a restart asked for just
/// before it starts no new run. (Found by the model test: `restart` returned `Ok` or
/// `NotFound` then, and a routine whose backoff the restart cut short ran again.)
#[tokio::test(start_paused = true)]
async fn restart_right_after_the_parent_token_is_cancelled_is_refused_and_nothing_restarts() {
    for restart_first in [false, true] {
        let parent = rutina::CancellationToken::new();
        let rutina = Rutina::new(Options::default().parent_token(parent.clone()));
        let runs = Runs::new();
        let id = rutina.go_with(
            failing(runs.clone()),
            RunOptions::default().on_error(Policy::Restart).backoff(Backoff::fixed(secs(3600))),
        );
        sleep(secs(1)).await;
        if restart_first {
            rutina.restart(id).unwrap();
            parent.cancel();
        } else {
            parent.cancel();
            assert!(matches!(rutina.restart(id), Err(Error::ShuttingDown)));
            assert!(matches!(rutina.restart(Context::detached().id()), Err(Error::ShuttingDown)));
            assert!(matches!(rutina.reload(), Err(Error::ShuttingDown)));
        }
        rutina.wait().await.unwrap();
        assert_eq!(runs.get(), [(1, secs(0))], "restart first: {restart_first}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_killed_routine_is_not_restarted_by_a_racing_restart() {
    for kill_first in [true, false] {
        let rutina = Rutina::default();
        let runs = Runs::new();
        let id = rutina.go(server(runs.clone(), secs(1)));
        let other = rutina.go(server(Runs::new(), secs(0)));
        sleep(secs(1)).await;
        if kill_first {
            rutina.kill(id).unwrap();
            // Still alive (stopping): the restart is accepted, and must not revive it.
            rutina.restart(id).unwrap();
        } else {
            rutina.restart(id).unwrap();
            rutina.kill(id).unwrap();
        }
        sleep(secs(5)).await;
        assert_eq!(runs.get(), [(1, secs(0))], "kill first: {kill_first}");
        assert_eq!(rutina.processes(), [other], "kill first: {kill_first}");
        rutina.shutdown();
        rutina.wait().await.unwrap();
    }
}

// ----- reload -----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn reload_restarts_only_the_routines_marked_reload() {
    let rutina = Rutina::default();
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let make = |name: &'static str, runs: Runs| {
        let reasons = reasons.clone();
        move |ctx: Context| {
            runs.record(&ctx);
            let reasons = reasons.clone();
            async move {
                ctx.cancelled().await;
                reasons.lock().unwrap().push((name, ctx.attempt(), ctx.cancel_reason()));
                Ok::<_, std::io::Error>(())
            }
        }
    };
    let (config, plain, limited) = (Runs::new(), Runs::new(), Runs::new());
    rutina.go_with(make("config", config.clone()), RunOptions::default().reload(true));
    rutina.go_with(make("plain", plain.clone()), RunOptions::default());
    rutina.go_with(make("limited", limited.clone()), RunOptions::default().reload(true).timeout(secs(3600)));
    sleep(secs(1)).await;
    assert_eq!(rutina.reload().unwrap(), 2);
    sleep(secs(1)).await;
    assert_eq!(config.get(), [(1, secs(0)), (2, secs(1))]);
    assert_eq!(limited.get(), [(1, secs(0)), (2, secs(1))]);
    assert_eq!(plain.get(), [(1, secs(0))], "untouched");
    {
        let mut reasons = reasons.lock().unwrap().clone();
        reasons.sort_by_key(|(name, attempt, _)| (*name, *attempt));
        let reload = Some(CancelReason::Reload);
        assert_eq!(reasons, [("config", 1, reload), ("limited", 1, reload)]);
    }
    assert_eq!(rutina.reload().unwrap(), 2, "again");
    sleep(secs(1)).await;
    assert_eq!(config.get().len(), 3);
    assert_eq!(plain.get().len(), 1);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reload_with_no_routine_marked_touches_nothing() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    rutina.go(server(runs.clone(), secs(0)));
    sleep(secs(1)).await;
    assert_eq!(rutina.reload().unwrap(), 0);
    sleep(secs(1)).await;
    assert_eq!(runs.get(), [(1, secs(0))]);
    assert!(!rutina.is_shutting_down());
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reload_of_a_routine_in_its_backoff_runs_it_at_once() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    rutina.go_with(
        failing(runs.clone()),
        RunOptions::default().reload(true).on_error(Policy::Restart).backoff(Backoff::fixed(secs(3600))),
    );
    sleep(secs(10)).await;
    assert_eq!(rutina.reload().unwrap(), 1);
    sleep(secs(1)).await;
    assert_eq!(runs.get(), [(1, secs(0)), (2, secs(10))]);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_readiness_gate_must_call_ready_again_after_a_reload() {
    let rutina = Rutina::default();
    let runs = Runs::new();
    rutina.go_with(
        move |ctx: Context| {
            runs.record(&ctx);
            async move {
                sleep(secs(1)).await; // connects, warms up
                ctx.ready();
                ctx.cancelled().await;
                Ok::<_, std::io::Error>(())
            }
        },
        RunOptions::default().readiness_gate(true).reload(true),
    );
    let other = Runs::new();
    rutina.go(server(other.clone(), secs(0)));
    sleep(Duration::from_millis(500)).await;
    assert!(!rutina.is_ready(), "the gate is not ready yet");
    sleep(secs(1)).await; // 1.5 s
    assert!(rutina.is_ready());
    rutina.reload().unwrap();
    sleep(Duration::from_millis(500)).await; // 2 s: run 2 began at 1.5 s
    assert!(!rutina.is_ready(), "the reloaded gate must pass again");
    sleep(secs(1)).await; // 3 s: run 2 was ready at 2.5 s
    assert!(rutina.is_ready());
    assert_eq!(other.get(), [(1, secs(0))]);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

// ----- Operator: the same, from inside a routine ------------------------------------

/// An admin routine that takes its orders from the test, as an admin endpoint would from
/// its requests, and acts on them through its context's operator.
enum Order {
    Restart(rutina::Id),
    Kill(rutina::Id),
    Reload,
    Shutdown,
}

type Reply = tokio::sync::oneshot::Sender<std::result::Result<usize, Error>>;
type Orders = mpsc::UnboundedSender<(Order, Reply)>;

fn admin(rutina: &Rutina) -> Orders {
    let (orders, mut received) = mpsc::unbounded_channel::<(Order, Reply)>();
    rutina.go(move |ctx: Context| {
        let operator = ctx.operator();
        // The orders go to the first run (the only one).
        let mut received = std::mem::replace(&mut received, mpsc::unbounded_channel().1);
        async move {
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => return Ok::<_, std::io::Error>(()),
                    order = received.recv() => {
                        let Some((order, reply)) = order else { return Ok(()) };
                        let result = match order {
                            Order::Restart(id) => operator.restart(id).map(|()| 1),
                            Order::Kill(id) => operator.kill(id).map(|()| 1),
                            Order::Reload => operator.reload(),
                            Order::Shutdown => {
                                operator.shutdown();
                                Ok(0)
                            }
                        };
                        let _ = reply.send(result);
                    }
                }
            }
        }
    });
    orders
}

async fn order(orders: &Orders, order: Order) -> std::result::Result<usize, Error> {
    let (reply, replied) = tokio::sync::oneshot::channel();
    orders.send((order, reply)).unwrap_or_else(|_| panic!("the admin routine is gone"));
    replied.await.expect("the admin routine replies")
}

#[tokio::test(start_paused = true)]
async fn an_admin_routine_restarts_reloads_kills_and_shuts_down_through_its_operator() {
    let rutina = Rutina::default();
    let (api_runs, config_runs, cache_runs) = (Runs::new(), Runs::new(), Runs::new());
    let api = rutina.go_with(server(api_runs.clone(), secs(0)), RunOptions::default().name("api"));
    rutina.go_with(server(config_runs.clone(), secs(0)), RunOptions::default().name("config").reload(true));
    let cache = rutina.go_with(server(cache_runs.clone(), secs(0)), RunOptions::default().name("cache"));
    let orders = admin(&rutina);
    sleep(secs(1)).await;

    assert_eq!(order(&orders, Order::Restart(api)).await.unwrap(), 1);
    sleep(secs(1)).await;
    assert_eq!(api_runs.get(), [(1, secs(0)), (2, secs(1))], "restarted at once");

    assert_eq!(order(&orders, Order::Reload).await.unwrap(), 1, "only `config` is marked reload");
    sleep(secs(1)).await;
    assert_eq!(config_runs.get(), [(1, secs(0)), (2, secs(2))]);
    assert_eq!(api_runs.get().len(), 2, "reload leaves the others alone");

    assert_eq!(order(&orders, Order::Kill(cache)).await.unwrap(), 1);
    sleep(secs(1)).await;
    assert!(!rutina.processes().contains(&cache));
    assert!(matches!(order(&orders, Order::Restart(cache)).await, Err(Error::NotFound(id)) if id == cache));

    assert_eq!(order(&orders, Order::Shutdown).await.unwrap(), 0);
    rutina.wait().await.unwrap();
    let report = rutina.shutdown_report().expect("a shutdown");
    assert_eq!(report.reason, Some(rutina::ShutdownReason::Requested));
}

#[tokio::test(start_paused = true)]
async fn a_routines_operator_does_not_keep_its_group_alive_and_acts_on_nothing_after_it() {
    let rutina = Rutina::default();
    let (give, operator) = tokio::sync::oneshot::channel();
    let give = Mutex::new(Some(give));
    let id = rutina.go(move |ctx: Context| {
        let operator = ctx.operator();
        let give = give.lock().unwrap().take();
        async move {
            // The routine holds an operator for its whole life.
            if let Some(give) = give {
                let _ = give.send(operator.clone());
            }
            ctx.cancelled().await;
            drop(operator);
            Ok::<_, std::io::Error>(())
        }
    });
    let operator = operator.await.unwrap();
    sleep(secs(1)).await;
    assert!(operator.monitor().is_ready() && !operator.monitor().is_shutting_down());
    // The last handle goes: the group shuts down although its routine holds an operator.
    drop(rutina);
    tokio::time::timeout(secs(60), async {
        while !operator.monitor().status().is_empty() {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the group ended");
    assert!(matches!(operator.restart(id), Err(Error::NotFound(found)) if found == id));
    assert!(matches!(operator.kill(id), Err(Error::NotFound(found)) if found == id));
    assert!(matches!(operator.reload(), Err(Error::ShuttingDown)));
    operator.shutdown(); // nothing to shut down: no panic, no effect
    assert!(operator.monitor().is_shutting_down());

    // A detached context's operator acts on nothing either.
    let detached = Context::detached().operator();
    assert!(matches!(detached.restart(id), Err(Error::NotFound(_))));
    assert!(matches!(detached.reload(), Err(Error::ShuttingDown)));
    detached.shutdown();
    assert!(detached.monitor().status().is_empty());
}
