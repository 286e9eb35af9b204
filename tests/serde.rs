//! The JSON shape of the `serde` feature: field and variant names as in Rust, errors as
//! their display string, durations in milliseconds (`*_ms`), instants as how long ago
//! (`*_ms_ago`) or from now (`until_ms_from_now`) they are. On a paused clock, so that
//! every number is exact.

use std::sync::Arc;
use std::time::Duration;

use rutina::{
    Backoff, CancelReason, Context, Error, Event, Options, Outcome, Policy, RunOptions, Rutina, ShutdownReason,
    StopKind,
};
use rutina_tests::leases::HeldElsewhere;
use serde_json::{Value, json};
use tokio::time::sleep;

const MS: Duration = Duration::from_millis(1);

/// The JSON value of anything `Serialize`.
macro_rules! to_json {
    ($value:expr) => {
        serde_json::to_value($value).unwrap()
    };
}

#[tokio::test(start_paused = true)]
async fn routine_status() {
    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("server"),
    );
    rutina.go_with(
        |_ctx: Context| async {
            sleep(100 * MS).await;
            Err::<(), _>("connection refused")
        },
        RunOptions::default().name("client").on_error(Policy::Restart).backoff(Backoff::fixed(1000 * MS)),
    );
    rutina.go_with(
        |_ctx: Context| async {
            sleep(1000 * MS).await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("tick").every(10_000 * MS),
    );
    sleep(1500 * MS).await;

    assert_eq!(
        to_json!(&rutina.status()),
        json!([
            {
                "id": 1,
                "name": "server",
                "state": "Running",
                "attempt": 1,
                "restarts": 0,
                "last_error": null,
                "consecutive_failures": 0,
                "started_ms_ago": 1500,
                "run_started_ms_ago": 1500,
            },
            {
                // Failed at 100 ms and at 1200 ms; runs again at 2200 ms.
                "id": 2,
                "name": "client",
                "state": { "BackingOff": { "until_ms_from_now": 700 } },
                "attempt": 2,
                "restarts": 1,
                "last_error": "connection refused",
                "consecutive_failures": 2,
                "started_ms_ago": 1500,
                "run_started_ms_ago": 400,
            },
            {
                // Ran from 0 to 1000 ms; its next tick is at 10 s.
                "id": 3,
                "name": "tick",
                "state": { "Scheduled": { "until_ms_from_now": 8500 } },
                "attempt": 1,
                "restarts": 0,
                "last_error": null,
                "consecutive_failures": 0,
                "started_ms_ago": 1500,
                "run_started_ms_ago": 1500,
            },
        ])
    );
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stopping_and_standby_states() {
    let rutina = Rutina::new(Options::default().lease(HeldElsewhere));
    // `Standby`: a singleton whose lease another replica holds.
    rutina.go_with(serve, RunOptions::default().name("billing").singleton("billing"));
    // `Stopping`: cancelled, not returned yet.
    let draining = rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(1000 * MS).await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("draining"),
    );
    sleep(MS).await;
    rutina.kill(draining).unwrap();
    let states: Vec<_> = rutina.status().iter().map(|status| to_json!(&status.state)).collect();
    assert_eq!(states, [json!("Standby"), json!("Stopping")]);
    rutina.shutdown();
    rutina.wait().await.unwrap();
}

async fn serve(ctx: Context) -> std::io::Result<()> {
    ctx.cancelled().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn shutdown_report() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(1000 * MS));
    rutina.go_with(
        |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(200 * MS).await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("server"),
    );
    rutina.go_with(
        |_ctx: Context| std::future::pending::<Result<(), std::io::Error>>(),
        RunOptions::default().name("stuck"),
    );
    rutina.go_with(
        |_ctx: Context| async { Err::<(), _>("refused") },
        RunOptions::default().name("client").on_error(Policy::Restart).backoff(Backoff::fixed(5000 * MS)),
    );
    sleep(100 * MS).await;
    rutina.shutdown();
    assert!(matches!(rutina.wait().await, Err(Error::Aborted { .. })));
    sleep(500 * MS).await;

    assert_eq!(
        to_json!(&rutina.shutdown_report().unwrap()),
        json!({
            "reason": "Requested",
            "began_ms_ago": 1500,
            "took_ms": 1000,
            "routines": [
                { "id": 3, "name": "client", "how": "BetweenRuns", "runs": 1, "took_ms": 0 },
                { "id": 1, "name": "server", "how": { "Returned": "Ok" }, "runs": 1, "took_ms": 200 },
                { "id": 2, "name": "stuck", "how": "Aborted", "runs": 1, "took_ms": 1000 },
            ],
        })
    );
}

#[tokio::test(start_paused = true)]
async fn events_of_a_restart() {
    let rutina = Rutina::default();
    let mut events = rutina.subscribe();
    rutina.go_with(
        |ctx: Context| async move { if ctx.attempt() == 1 { Err("boom") } else { Ok(()) } },
        RunOptions::default().name("job").on_error(Policy::Restart).backoff(Backoff::fixed(250 * MS)),
    );
    rutina.wait().await.unwrap();
    let mut json = Vec::new();
    while let Ok(event) = events.try_recv() {
        json.push(to_json!(&event));
    }
    assert_eq!(
        Value::Array(json),
        json!([
            { "Started": { "id": 1, "name": "job", "attempt": 1 } },
            { "Finished": { "id": 1, "name": "job", "attempt": 1, "outcome": { "Failed": "boom" } } },
            { "Restarting": { "id": 1, "name": "job", "attempt": 2, "delay_ms": 250 } },
            { "Started": { "id": 1, "name": "job", "attempt": 2 } },
            { "Finished": { "id": 1, "name": "job", "attempt": 2, "outcome": "Ok" } },
            { "Stopped": { "id": 1, "name": "job", "runs": 2 } },
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn every_event_and_reason() {
    let rutina = Rutina::default();
    let id = rutina.go(|_ctx: Context| async { Ok::<_, std::io::Error>(()) });
    rutina.wait().await.unwrap();
    let name = || "api".to_owned();
    let cases: Vec<(Value, Value)> = vec![
        (to_json!(&id), json!(1)),
        (to_json!(&Event::Killed { id, name: name() }), json!({ "Killed": { "id": 1, "name": "api" } })),
        (
            to_json!(&Event::Aborted { id, name: name(), before_turn: false }),
            json!({ "Aborted": { "id": 1, "name": "api", "before_turn": false } }),
        ),
        (
            to_json!(&Event::ShutdownStarted { reason: ShutdownReason::Signal, running: 3 }),
            json!({ "ShutdownStarted": { "reason": "Signal", "running": 3 } }),
        ),
        (to_json!(&ShutdownReason::Requested), json!("Requested")),
        (to_json!(&ShutdownReason::Cancelled), json!("Cancelled")),
        (to_json!(&ShutdownReason::Dropped), json!("Dropped")),
        (
            to_json!(&ShutdownReason::Routine { id, name: name(), failed: true }),
            json!({ "Routine": { "id": 1, "name": "api", "failed": true } }),
        ),
        (to_json!(&ShutdownReason::RunLimit { id, name: name() }), json!({ "RunLimit": { "id": 1, "name": "api" } })),
        (
            to_json!(&ShutdownReason::RestartIntensity { id, name: name() }),
            json!({ "RestartIntensity": { "id": 1, "name": "api" } }),
        ),
        (to_json!(&Outcome::Ok), json!("Ok")),
        (to_json!(&Outcome::Failed(Arc::new(std::io::Error::other("disk full")))), json!({ "Failed": "disk full" })),
        (to_json!(&Outcome::Panicked("index out of bounds".into())), json!({ "Panicked": "index out of bounds" })),
        (to_json!(&Outcome::TimedOut(Duration::from_secs(5))), json!({ "TimedOut": { "timeout_ms": 5000 } })),
        (to_json!(&Outcome::Hung(Duration::from_millis(30_500))), json!({ "Hung": { "heartbeat_ms": 30500 } })),
        (
            to_json!(&StopKind::Returned(Outcome::TimedOut(MS))),
            json!({ "Returned": { "TimedOut": { "timeout_ms": 1 } } }),
        ),
        (to_json!(&StopKind::Killed), json!("Killed")),
        (to_json!(&StopKind::AbortedBeforeTurn), json!("AbortedBeforeTurn")),
        (to_json!(&CancelReason::Shutdown), json!("Shutdown")),
        (to_json!(&CancelReason::Killed), json!("Killed")),
        (to_json!(&CancelReason::TimedOut), json!("TimedOut")),
        (to_json!(&CancelReason::Hung), json!("Hung")),
        (to_json!(&CancelReason::Restarted), json!("Restarted")),
        (to_json!(&CancelReason::Reload), json!("Reload")),
        (to_json!(&CancelReason::LeaseLost), json!("LeaseLost")),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
}
