//! Every outcome is an `Event`, and every event is logged under target `rutina`.

use std::time::Duration;

use rutina::{Backoff, Context, Event, Options, Outcome, Policy, RunOptions, Rutina, ShutdownReason};
use tokio::sync::broadcast::error::TryRecvError;

fn collect(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(event) => events.push(event),
            Err(TryRecvError::Empty | TryRecvError::Closed) => return events,
            Err(TryRecvError::Lagged(n)) => panic!("lagged {n}"),
        }
    }
}

/// A compact description of an event, to compare sequences.
fn describe(event: &Event) -> String {
    match event {
        Event::Started { id, name, attempt } => format!("started {id} {name} {attempt}"),
        Event::Finished { id, attempt, outcome, .. } => {
            let outcome = match outcome {
                Outcome::Ok => "ok".to_owned(),
                Outcome::Failed(e) => format!("failed: {e}"),
                Outcome::Panicked(m) => format!("panicked: {m}"),
                Outcome::TimedOut(t) => format!("timed out: {t:?}"),
                other => format!("{other:?}"),
            };
            format!("finished {id} {attempt} {outcome}")
        }
        Event::Restarting { id, attempt, delay, .. } => format!("restarting {id} {attempt} {delay:?}"),
        Event::Killed { id, .. } => format!("killed {id}"),
        Event::ShutdownStarted { reason, running } => format!("shutdown {reason:?} {running}"),
        Event::Aborted { id, .. } => format!("aborted {id}"),
        Event::Stopped { id, runs, .. } => format!("stopped {id} {runs}"),
        other => format!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn every_outcome_is_an_event() {
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(1)));
    let mut rx = rutina.subscribe();
    rutina.go_with(
        |ctx: Context| async move {
            match ctx.attempt() {
                1 => Err(std::io::Error::other("e1")),
                2 => panic!("p2"),
                _ => {
                    ctx.cancelled().await;
                    Ok(())
                }
            }
        },
        RunOptions::default()
            .name("a")
            .on_error(Policy::Restart)
            .max_count(2)
            .timeout(Duration::from_secs(5))
            .backoff(Backoff::fixed(Duration::from_secs(1))),
    );
    let killed = rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    tokio::time::sleep(Duration::from_millis(1)).await;
    rutina.kill(killed).unwrap();
    rutina.go(|_ctx: Context| std::future::pending::<std::io::Result<()>>());
    let error = rutina.wait().await.unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    let events: Vec<String> = collect(&mut rx).iter().map(describe).collect();
    let expected = [
        "started #1 a 1",
        "finished #1 1 failed: e1",
        "restarting #1 2 1s",
        "started #2 routine-2 1",
        "started #3 routine-3 1",
        "killed #2",
        "finished #2 1 ok",
        "stopped #2 1",
        "started #1 a 2",
        "finished #1 2 panicked: p2",
        "restarting #1 3 1s",
        "started #1 a 3",
        "finished #1 3 timed out: 5s",
        "shutdown RunLimit { id: Id(1), name: \"a\" } 2",
        "stopped #1 3",
        "aborted #3",
        "stopped #3 1",
    ];
    let mut sorted_events = events.clone();
    let mut sorted_expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    sorted_events.sort();
    sorted_expected.sort();
    assert_eq!(sorted_events, sorted_expected, "events: {events:#?}");
    // Per routine, in order.
    for id in ["#1", "#2", "#3"] {
        let mine = |list: &[String]| list.iter().filter(|e| e.contains(&format!(" {id}"))).cloned().collect::<Vec<_>>();
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(mine(&events), mine(&expected), "routine {id}");
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_reasons() {
    let rutina = Rutina::default();
    let mut rx = rutina.subscribe();
    rutina.shutdown();
    rutina.shutdown();
    assert!(rutina.wait().await.is_ok());
    let events: Vec<String> = collect(&mut rx).iter().map(describe).collect();
    assert_eq!(events, vec!["shutdown Requested 0"]);

    let parent = rutina::CancellationToken::new();
    let rutina = Rutina::new(Options::default().parent_token(parent.clone()));
    let mut rx = rutina.subscribe();
    rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, std::io::Error>(())
    });
    parent.cancel();
    assert!(rutina.wait().await.is_ok());
    let events: Vec<String> = collect(&mut rx).iter().map(describe).collect();
    assert!(events.contains(&"shutdown Cancelled 1".to_owned()), "{events:?}");
}

#[test]
fn shutdown_reasons_display_for_logs() {
    let routine = ShutdownReason::Routine { id: Context::detached().id(), name: "web".into(), failed: true };
    assert_eq!(routine.to_string(), "routine `web` (#0) failed");
    assert_eq!(ShutdownReason::Signal.to_string(), "OS signal");
}
