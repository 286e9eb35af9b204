//! Beyond the contract: restart intensity, backoff reset after a stable period,
//! shutdown order, per-routine grace periods, live status, the shutdown report,
//! readiness. Paused clock throughout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{
    Backoff, Context, Error, Options, Policy, RoutineState, RunOptions, Rutina, ShutdownOrder, ShutdownReason, StopKind,
};
use tokio::time::{Instant, sleep};

fn io_error(message: &str) -> std::io::Error {
    std::io::Error::other(message.to_owned())
}

type Log = Arc<Mutex<Vec<(String, Duration)>>>;

fn log(log: &Log, what: String, since: Instant) {
    log.lock().unwrap().push((what, since.elapsed()));
}

#[tokio::test(start_paused = true)]
async fn restart_intensity_ends_the_group_and_says_which_limit() {
    let rutina = Rutina::default();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let seen = runs.clone();
    let started = Instant::now();
    let id = rutina.go_with(
        move |ctx: Context| {
            seen.lock().unwrap().push((ctx.attempt(), started.elapsed()));
            async { Err::<(), _>(io_error("flapping")) }
        },
        RunOptions::default()
            .name("consumer")
            .on_error(Policy::Restart)
            .max_count(100)
            .restart_intensity(3, Duration::from_secs(10))
            .backoff(Backoff::fixed(Duration::from_secs(1))),
    );
    let error = rutina.wait().await.unwrap_err();
    match &error {
        Error::RestartIntensity { id: eid, name, restarts, within, last_error } => {
            assert_eq!((*eid, name.as_str(), *restarts, *within), (id, "consumer", 3, Duration::from_secs(10)));
            assert_eq!(last_error.as_ref().unwrap().to_string(), "flapping");
        }
        other => panic!("expected RestartIntensity, got {other:?}"),
    }
    assert!(error.to_string().contains("restart intensity of 3 restarts within 10s"), "{error}");
    let secs: Vec<_> = runs.lock().unwrap().iter().map(|(a, t)| (*a, t.as_secs())).collect();
    assert_eq!(secs, vec![(1, 0), (2, 1), (3, 2), (4, 3)], "3 restarts allowed, the 4th refused");
    assert_eq!(
        rutina.shutdown_report().unwrap().reason,
        Some(ShutdownReason::RestartIntensity { id, name: "consumer".into() })
    );
}

#[tokio::test(start_paused = true)]
async fn restarts_spread_wider_than_the_window_are_allowed() {
    let rutina = Rutina::default();
    rutina.go_with(
        |_ctx: Context| async { Err::<(), _>(io_error("slow flapping")) },
        RunOptions::default()
            .on_error(Policy::Restart)
            .max_count(6)
            .restart_intensity(2, Duration::from_secs(10))
            .backoff(Backoff::fixed(Duration::from_secs(5))),
    );
    let started = Instant::now();
    // At most 2 restarts in any 10 s: one every 5 s never exceeds it; max_count ends it.
    match rutina.wait().await.unwrap_err() {
        Error::RunLimit { runs: 7, .. } => {}
        other => panic!("expected RunLimit, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_resets_after_a_stable_period() {
    let rutina = Rutina::default();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let seen = starts.clone();
    rutina.go_with(
        move |ctx: Context| {
            seen.lock().unwrap().push(Instant::now());
            async move {
                // Run 5 stays up 25 s: longer than the cap (8 s) but not than the stable period.
                // Run 7 stays up 61 s: longer than the stable period.
                match ctx.attempt() {
                    5 => sleep(Duration::from_secs(25)).await,
                    7 => sleep(Duration::from_secs(61)).await,
                    _ => {}
                }
                Err::<(), _>(io_error("down"))
            }
        },
        RunOptions::default().on_error(Policy::Restart).max_count(7).backoff(
            Backoff::exponential(Duration::from_secs(1), Duration::from_secs(8)).reset_after(Duration::from_secs(60)),
        ),
    );
    assert!(matches!(rutina.wait().await, Err(Error::RunLimit { runs: 8, .. })));
    let starts = starts.lock().unwrap().clone();
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    // Delays before runs 2..=5: ~1, 2, 4, 8 s (jittered to between half and all).
    for (gap, base) in gaps[..4].iter().zip([1u64, 2, 4, 8]) {
        let base = Duration::from_secs(base);
        assert!(*gap >= base / 2 && *gap <= base, "{gap:?} vs {base:?}");
    }
    // Run 5 lasted 25 s: no reset, the delay stays at the cap.
    let after_run5 = gaps[4] - Duration::from_secs(25);
    assert!(after_run5 >= Duration::from_secs(4), "{after_run5:?}");
    // Run 7 lasted 61 s: reset to ~1 s.
    let after_run7 = gaps[6] - Duration::from_secs(61);
    assert!(after_run7 <= Duration::from_secs(1), "{after_run7:?}");
}

/// A routine that logs its cancellation and its end, draining for `drain`.
fn tier(
    name: &'static str,
    drain: Duration,
    events: Log,
    origin: Instant,
) -> impl FnMut(Context) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> + Send {
    move |ctx: Context| {
        let events = events.clone();
        Box::pin(async move {
            ctx.cancelled().await;
            log(&events, format!("{name} cancelled"), origin);
            sleep(drain).await;
            log(&events, format!("{name} stopped"), origin);
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn reverse_start_order_stops_one_after_another() {
    let rutina = Rutina::new(Options::default().shutdown_order(ShutdownOrder::ReverseStart));
    let events: Log = Arc::default();
    let origin = Instant::now();
    for name in ["db", "cache", "web"] {
        rutina.go_with(tier(name, Duration::from_secs(1), events.clone(), origin), RunOptions::default().name(name));
    }
    sleep(Duration::from_secs(10)).await;
    rutina.shutdown();
    assert!(rutina.wait().await.is_ok());
    let got: Vec<(String, u64)> = events.lock().unwrap().iter().map(|(w, t)| (w.clone(), t.as_secs())).collect();
    let expected: Vec<(String, u64)> = [
        ("web cancelled", 10),
        ("web stopped", 11),
        ("cache cancelled", 11),
        ("cache stopped", 12),
        ("db cancelled", 12),
        ("db stopped", 13),
    ]
    .iter()
    .map(|(w, t)| (w.to_string(), *t))
    .collect();
    assert_eq!(got, expected);
    let report = rutina.shutdown_report().unwrap();
    let order: Vec<_> = report.routines.iter().map(|r| (r.name.to_string(), r.took)).collect();
    assert_eq!(
        order,
        vec![
            ("web".into(), Duration::from_secs(1)),
            ("cache".into(), Duration::from_secs(1)),
            ("db".into(), Duration::from_secs(1))
        ]
    );
    assert_eq!(report.took, Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn reverse_order_aborts_a_stuck_routine_after_its_grace_and_goes_on() {
    let rutina = Rutina::new(
        Options::default().shutdown_order(ShutdownOrder::ReverseStart).shutdown_timeout(Duration::from_secs(2)),
    );
    let events: Log = Arc::default();
    let origin = Instant::now();
    rutina.go_with(tier("db", Duration::from_secs(1), events.clone(), origin), RunOptions::default().name("db"));
    let stuck = rutina.go_with(
        |_ctx: Context| std::future::pending::<std::io::Result<()>>(),
        RunOptions::default().name("stuck").grace_period(Duration::from_secs(5)),
    );
    rutina.go_with(tier("web", Duration::from_secs(1), events.clone(), origin), RunOptions::default().name("web"));
    sleep(Duration::from_millis(1)).await;
    rutina.shutdown();
    match rutina.wait().await.unwrap_err() {
        Error::Aborted { stuck: list, cause: None } => assert_eq!(list, vec![(stuck, "stuck".to_owned())]),
        other => panic!("expected Aborted, got {other:?}"),
    }
    let got: Vec<(String, u64)> =
        events.lock().unwrap().iter().map(|(w, t)| (w.clone(), t.as_millis() as u64 / 1000)).collect();
    // web 0→1 s; stuck gets its own 5 s grace (1→6 s), then db 6→7 s.
    assert_eq!(
        got,
        vec![
            ("web cancelled".to_owned(), 0),
            ("web stopped".to_owned(), 1),
            ("db cancelled".to_owned(), 6),
            ("db stopped".to_owned(), 7)
        ]
    );
    let report = rutina.shutdown_report().unwrap();
    let aborted: Vec<_> = report.aborted().map(|r| (r.id, r.took)).collect();
    assert_eq!(aborted, vec![(stuck, Duration::from_secs(5))]);
}

#[tokio::test(start_paused = true)]
async fn per_routine_grace_periods_override_the_group_timeout() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(1)));
    let events: Log = Arc::default();
    let origin = Instant::now();
    let patient = rutina.go_with(
        tier("patient", Duration::from_secs(3), events.clone(), origin),
        RunOptions::default().name("patient").grace_period(Duration::from_secs(5)),
    );
    let hasty = rutina
        .go_with(tier("hasty", Duration::from_secs(3), events.clone(), origin), RunOptions::default().name("hasty"));
    sleep(Duration::from_millis(1)).await;
    rutina.shutdown();
    match rutina.wait().await.unwrap_err() {
        Error::Aborted { stuck, .. } => assert_eq!(stuck, vec![(hasty, "hasty".to_owned())]),
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert_eq!(origin.elapsed(), Duration::from_millis(3001), "the patient one drained in its 5 s");
    let report = rutina.shutdown_report().unwrap();
    let hows: Vec<_> = report.routines.iter().map(|r| (r.id, matches!(r.how, StopKind::Aborted), r.took)).collect();
    assert_eq!(hows, vec![(hasty, true, Duration::from_secs(1)), (patient, false, Duration::from_secs(3))]);
}

#[tokio::test(start_paused = true)]
async fn status_shows_running_backing_off_and_stopping() {
    let rutina = Rutina::default();
    let origin = Instant::now();
    let server = rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(Duration::from_secs(5)).await; // slow drain
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("server"),
    );
    let flaky = rutina.go_with(
        |_ctx: Context| async {
            sleep(Duration::from_secs(1)).await;
            Err::<(), _>(io_error("nope"))
        },
        RunOptions::default().name("flaky").on_error(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(10))),
    );
    // Before their tasks first ran: started now.
    assert!(
        rutina
            .status()
            .iter()
            .all(|s| (s.state, s.started_at, s.run_started_at) == (RoutineState::Running, origin, origin))
    );
    sleep(Duration::from_secs(2)).await;
    let status = rutina.status();
    assert_eq!(status.iter().map(|s| s.id).collect::<Vec<_>>(), vec![server, flaky]);
    assert_eq!(status[0].state, RoutineState::Running);
    assert_eq!((status[0].attempt, status[0].restarts, status[0].consecutive_failures), (1, 0, 0));
    assert!(status[0].last_error.is_none());
    assert_eq!(status[0].started_at, origin);
    assert_eq!(status[1].state, RoutineState::BackingOff { until: origin + Duration::from_secs(11) });
    assert_eq!(status[1].last_error.as_ref().unwrap().to_string(), "nope");
    assert_eq!(status[1].consecutive_failures, 1);

    sleep(Duration::from_secs(10)).await; // flaky is in its second run now
    let status = rutina.status();
    assert_eq!((status[1].state, status[1].attempt, status[1].restarts), (RoutineState::Running, 2, 1));
    assert_eq!(status[1].run_started_at, origin + Duration::from_secs(11));
    assert_eq!(status[1].started_at, origin, "when its task first ran, kept across restarts");

    rutina.shutdown();
    sleep(Duration::from_secs(1)).await;
    let status = rutina.status();
    // flaky was in its backoff and stopped at once; the server drains.
    assert_eq!(status.iter().map(|s| (s.id, s.state)).collect::<Vec<_>>(), vec![(server, RoutineState::Stopping)]);
    rutina.wait().await.unwrap();
    assert!(rutina.status().is_empty());
}

/// A restart in place (no backoff) stamps its start when the run before it waited: its
/// start is told from the last run's. (Runs that return without ever waiting, one right
/// after another, share the time the first began, as the paused clock tells anyway.)
#[tokio::test(start_paused = true)]
async fn a_restart_in_place_after_a_run_that_waited_starts_when_it_began() {
    let rutina = Rutina::default();
    let origin = Instant::now();
    rutina.go_with(
        |ctx: Context| async move {
            match ctx.attempt() {
                // Returns at once, without waiting.
                1 => {}
                2 => sleep(Duration::from_secs(3)).await,
                _ => ctx.cancelled().await,
            }
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().on_done(Policy::Restart),
    );
    sleep(Duration::from_secs(1)).await;
    let status = rutina.status();
    assert_eq!((status[0].attempt, status[0].run_started_at), (2, origin));
    sleep(Duration::from_secs(3)).await;
    let status = rutina.status();
    assert_eq!((status[0].attempt, status[0].run_started_at), (3, origin + Duration::from_secs(3)));
    assert_eq!(status[0].started_at, origin);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_report_tells_who_stopped_how() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(3)));
    assert!(rutina.shutdown_report().is_none());
    let returned = rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(Duration::from_secs(2)).await;
            Err::<(), _>(io_error("closed uncleanly"))
        },
        RunOptions::default().on_error(Policy::DoNothing),
    );
    let between = rutina.go_with(
        |_ctx: Context| async { Ok::<_, std::io::Error>(()) },
        RunOptions::default().on_done(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(60))),
    );
    let killed = rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        sleep(Duration::from_secs(1)).await;
        Ok::<_, std::io::Error>(())
    });
    let aborted = rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
    sleep(Duration::from_secs(1)).await;
    rutina.kill(killed).unwrap();
    rutina.shutdown();
    let _ = rutina.wait().await;
    let report = rutina.shutdown_report().unwrap();
    assert_eq!(report.reason, Some(ShutdownReason::Requested));
    assert_eq!(report.took, Duration::from_secs(3));
    let mut seen: Vec<_> = report
        .routines
        .iter()
        .map(|r| {
            let how = match &r.how {
                StopKind::Returned(outcome) => format!("returned {}", if outcome.is_ok() { "ok" } else { "failure" }),
                StopKind::BetweenRuns => "between runs".into(),
                StopKind::Killed => "killed".into(),
                StopKind::Aborted => "aborted".into(),
                other => format!("{other:?}"),
            };
            (r.id, how, r.took.as_secs())
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (returned, "returned failure".to_owned(), 2),
            (between, "between runs".to_owned(), 0),
            (killed, "killed".to_owned(), 1),
            (aborted, "aborted".to_owned(), 3),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn readiness_waits_for_gates_and_ends_with_the_shutdown() {
    let rutina = Rutina::default();
    let mut shutting_down = rutina.watch_shutdown();
    assert!(rutina.is_ready(), "nothing to wait for");
    rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    assert!(!rutina.is_ready(), "a routine has not begun its first run");
    tokio::task::yield_now().await;
    assert!(rutina.is_ready());
    rutina.go_with(
        |ctx: Context| async move {
            sleep(Duration::from_secs(2)).await; // connecting
            ctx.ready();
            ctx.ready();
            ctx.cancelled().await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().readiness_gate(true),
    );
    sleep(Duration::from_secs(1)).await;
    assert!(!rutina.is_ready(), "the gate is not ready yet");
    sleep(Duration::from_secs(2)).await;
    assert!(rutina.is_ready());
    assert!(!*shutting_down.borrow_and_update());
    rutina.shutdown();
    assert!(!rutina.is_ready(), "not ready once shutting down");
    assert!(shutting_down.has_changed().unwrap() && *shutting_down.borrow_and_update());
    rutina.wait().await.unwrap();
    assert!(Context::detached().id().get() == 0);
}

/// A routine that restarts in place at once (no backoff) and never awaits anything
/// would keep its worker forever: each run first spends a unit of the task's budget, and
/// when it is spent the other tasks get their turn. On a single thread, another task
/// runs long before the routine's 100 000 runs are over.
#[tokio::test(flavor = "current_thread")]
async fn a_routine_restarting_in_place_gives_the_other_tasks_their_turn() {
    use std::sync::atomic::{AtomicU32, Ordering};

    let runs = Arc::new(AtomicU32::new(0));
    let rutina = Rutina::default();
    let counted = runs.clone();
    rutina.go_with(
        move |_ctx: Context| {
            counted.fetch_add(1, Ordering::Relaxed);
            async { Ok::<_, std::io::Error>(()) }
        },
        RunOptions::default().on_done(Policy::Restart).backoff(Backoff::none()).max_count(100_000),
    );
    let other = tokio::spawn({
        let runs = runs.clone();
        async move { runs.load(Ordering::Relaxed) }
    });
    let runs_when_the_other_ran = other.await.expect("the other task");
    assert!((1..1_000).contains(&runs_when_the_other_ran), "the other task ran after {runs_when_the_other_ran} runs");
    assert!(matches!(rutina.wait().await, Err(Error::RunLimit { runs: 100_001, .. })));
}
