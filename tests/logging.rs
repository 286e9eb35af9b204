//! Every event is logged with `tracing` under target `rutina`, with `id`, `name` and
//! `attempt`; what a routine logs carries its run's span, as `fmt` prints it. In a binary
//! of their own: tracing's callsite interest is process-wide.

use std::io::Write;
use std::sync::{Arc, Mutex};

use rutina::{Context, Policy, RunOptions, Rutina};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn events_are_logged_with_target_and_fields() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            if ctx.attempt() == 1 {
                return Err(std::io::Error::other("first try failed"));
            }
            Ok(())
        },
        RunOptions::default().name("worker").on_error(Policy::Restart),
    );
    assert!(rutina.wait().await.is_ok());
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "rutina: run started id=1 name=worker attempt=1",
        "WARN rutina: run failed id=1 name=worker attempt=1 error=first try failed",
        "rutina: restarting id=1 name=worker attempt=2",
        "rutina: run finished id=1 name=worker attempt=2",
        "rutina: routine stopped id=1 name=worker runs=2",
    ] {
        assert!(logs.contains(needle), "missing {needle:?} in:\n{logs}");
    }
}

/// What a routine logs carries its run's span, as the README shows it: `fmt` prints the
/// span `routine` with `name`, `id` and `attempt` before the record's target.
#[tokio::test(start_paused = true)]
async fn a_routines_records_carry_its_span_in_fmt_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let rutina = Rutina::default();
    rutina.go_with(
        |ctx: Context| async move {
            if ctx.attempt() == 1 {
                return Err(std::io::Error::other("broker unreachable"));
            }
            tracing::info!(batch = 42, "consumed");
            Ok(())
        },
        RunOptions::default().name("consumer").on_error(Policy::Restart),
    );
    assert!(rutina.wait().await.is_ok());
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        logs.lines().collect::<Vec<_>>(),
        [
            " WARN rutina: run failed id=1 name=consumer attempt=1 error=broker unreachable",
            " INFO routine{name=consumer id=1 attempt=2}: logging: consumed batch=42",
        ],
        "{logs}"
    );
}
