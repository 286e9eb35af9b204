//! Every event is logged with `tracing` under target `rutina`, with `id`, `name` and
//! `attempt`. Alone in its binary: tracing's callsite interest is process-wide.

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
