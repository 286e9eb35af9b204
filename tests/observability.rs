//! Every run executes inside a `tracing` span `routine` (target `rutina`) with the fields
//! `name`, `id` and `attempt`: whatever a routine logs carries them — when its future is
//! made, on every poll, when it is dropped — across `.await`s, restarts and threads; a
//! task the run spawns does not, unless instrumented.
//!
//! One subscriber for the whole binary (the global default, so that a multi-thread
//! runtime's workers use it too), with three capturing layers: one that sees everything,
//! one filtered with `rutina=error` and one with `rutina=off`. Each test tells its records
//! from the others' by its routines' names and its own `marker` field.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rutina::{Backoff, Context, Policy, RunOptions, Rutina};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanRecord};
use tracing::{Instrument, Span, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One event as a layer saw it.
#[derive(Clone, Debug)]
struct Record {
    target: String,
    message: String,
    fields: BTreeMap<String, String>,
    /// The event's span scope, outermost first.
    spans: Vec<SpanInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SpanInfo {
    name: &'static str,
    target: String,
    fields: BTreeMap<String, String>,
}

impl Record {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The fields of the innermost `routine` span around the event, if any.
    fn routine(&self) -> Option<&BTreeMap<String, String>> {
        self.spans.iter().rev().find(|span| span.name == "routine").map(|span| &span.fields)
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

type Sink = Arc<Mutex<Vec<Record>>>;

/// The spans tokio makes for its tasks (`runtime.spawn`, with `task.name`), made only
/// when built with `--cfg tokio_unstable`.
static TASK_SPANS: Mutex<Vec<SpanInfo>> = Mutex::new(Vec::new());

/// A layer recording each event with its fields and its span scope's fields.
struct Capture(Sink);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let span = ctx.span(id).expect("a new span is in the registry");
        let info = SpanInfo { name: span.name(), target: span.metadata().target().to_owned(), fields: fields.0 };
        if info.target == "tokio::task" {
            TASK_SPANS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(info.clone());
        }
        span.extensions_mut().replace(info);
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: LayerContext<'_, S>) {
        let span = ctx.span(id).expect("a recorded span is in the registry");
        let mut extensions = span.extensions_mut();
        if let Some(info) = extensions.get_mut::<SpanInfo>() {
            let mut fields = Fields(std::mem::take(&mut info.fields));
            values.record(&mut fields);
            info.fields = fields.0;
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        let spans = ctx
            .event_scope(event)
            .map(|scope| scope.from_root().filter_map(|span| span.extensions().get::<SpanInfo>().cloned()).collect())
            .unwrap_or_default();
        let record = Record { target: event.metadata().target().to_owned(), message, fields: fields.0, spans };
        self.0.lock().unwrap().push(record);
    }
}

/// What each of the three layers captured.
struct Sinks {
    /// Everything.
    all: Sink,
    /// `rutina=error`, everything else at any level.
    quiet: Sink,
    /// `rutina=off`, everything else at any level.
    off: Sink,
}

/// Installs the binary's subscriber once; its sinks.
fn sinks() -> &'static Sinks {
    static SINKS: OnceLock<Sinks> = OnceLock::new();
    SINKS.get_or_init(|| {
        let sinks = Sinks { all: Sink::default(), quiet: Sink::default(), off: Sink::default() };
        let quiet = Targets::new().with_target("rutina", LevelFilter::ERROR).with_default(LevelFilter::TRACE);
        let off = Targets::new().with_target("rutina", LevelFilter::OFF).with_default(LevelFilter::TRACE);
        let subscriber = tracing_subscriber::registry()
            .with(Capture(sinks.all.clone()))
            .with(Capture(sinks.quiet.clone()).with_filter(quiet))
            .with(Capture(sinks.off.clone()).with_filter(off));
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
        sinks
    })
}

/// The records of `sink` whose `marker` field is `marker`, in order.
fn marked(sink: &Sink, marker: &str) -> Vec<Record> {
    sink.lock().unwrap().iter().filter(|record| record.field("marker") == Some(marker)).cloned().collect()
}

/// `name`, `id`, `attempt` as the span records them.
fn routine_fields(name: &str, id: rutina::Id, attempt: u32) -> BTreeMap<String, String> {
    [("name", name.to_owned()), ("id", id.get().to_string()), ("attempt", attempt.to_string())]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// Logs when dropped.
struct LogOnDrop(&'static str);

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        tracing::info!(marker = self.0, step = "dropped");
    }
}

#[tokio::test(start_paused = true)]
async fn a_runs_logs_carry_its_name_id_and_attempt_across_awaits() {
    let sinks = sinks();
    let rutina = Rutina::default();
    let id = rutina.go_with(
        |ctx: Context| {
            // Making the run's future is inside the span too.
            tracing::info!(marker = "awaits", step = "made");
            async move {
                let _guard = LogOnDrop("awaits");
                tracing::info!(marker = "awaits", step = "first poll");
                tokio::time::sleep(Duration::from_millis(10)).await;
                tokio::task::yield_now().await;
                tracing::warn!(marker = "awaits", step = "after awaits");
                ctx.cancelled().await;
                tracing::debug!(marker = "awaits", step = "cancelled");
                Ok::<_, std::io::Error>(())
            }
        },
        RunOptions::default().name("awaits"),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    rutina.shutdown();
    rutina.wait().await.unwrap();

    let records = marked(&sinks.all, "awaits");
    let steps: Vec<_> = records.iter().map(|record| record.field("step").unwrap()).collect();
    assert_eq!(steps, ["made", "first poll", "after awaits", "cancelled", "dropped"]);
    for record in &records {
        let span = record.spans.last().expect("inside a span");
        assert_eq!((span.name, span.target.as_str()), ("routine", "rutina"), "{record:?}");
        assert_eq!(span.fields, routine_fields("awaits", id, 1), "{record:?}");
        assert_eq!(record.target, "observability");
    }
}

#[tokio::test(start_paused = true)]
async fn each_restart_logs_its_own_attempt() {
    let sinks = sinks();
    let rutina = Rutina::default();
    let id = rutina.go_with(
        |ctx: Context| async move {
            tracing::info!(marker = "restarts", attempt_seen = ctx.attempt());
            tokio::time::sleep(Duration::from_millis(5)).await;
            if ctx.attempt() < 3 { Err("not yet") } else { Ok(()) }
        },
        RunOptions::default()
            .name("restarts")
            .on_error(Policy::Restart)
            .backoff(Backoff::fixed(Duration::from_millis(100))),
    );
    rutina.wait().await.unwrap();

    let records = marked(&sinks.all, "restarts");
    assert_eq!(records.len(), 3);
    for (record, attempt) in records.iter().zip(1..) {
        assert_eq!(record.routine(), Some(&routine_fields("restarts", id, attempt)), "{record:?}");
        assert_eq!(record.field("attempt_seen"), Some(attempt.to_string().as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routines_on_a_multi_thread_runtime_keep_their_own_fields() {
    const LOGS: usize = 300;
    let sinks = sinks();
    let rutina = Rutina::default();
    let mut ids = BTreeMap::new();
    for who in ["concurrent-left", "concurrent-right"] {
        let id = rutina.go_with(
            move |_ctx: Context| async move {
                for i in 0..LOGS {
                    tracing::info!(marker = "concurrent", who, i);
                    if i % 3 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name(who),
        );
        ids.insert(who, id);
    }
    rutina.wait().await.unwrap();

    let records = marked(&sinks.all, "concurrent");
    assert_eq!(records.len(), 2 * LOGS);
    for record in &records {
        let who = record.field("who").unwrap();
        assert_eq!(record.routine(), Some(&routine_fields(who, ids[who], 1)), "{record:?}");
    }
    let left = records.iter().filter(|record| record.field("who") == Some("concurrent-left")).count();
    assert_eq!(left, LOGS);
}

#[tokio::test(start_paused = true)]
async fn a_task_spawned_by_a_run_does_not_inherit_its_span_unless_instrumented() {
    let sinks = sinks();
    let rutina = Rutina::default();
    let id = rutina.go_with(
        |_ctx: Context| async move {
            tokio::spawn(async { tracing::info!(marker = "spawned", how = "plain") }).await.unwrap();
            tokio::spawn(
                async { tracing::info!(marker = "spawned", how = "instrumented") }.instrument(Span::current()),
            )
            .await
            .unwrap();
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("spawner"),
    );
    rutina.wait().await.unwrap();

    let records = marked(&sinks.all, "spawned");
    let how: Vec<_> = records.iter().map(|record| record.field("how").unwrap()).collect();
    assert_eq!(how, ["plain", "instrumented"]);
    assert_eq!(records[0].routine(), None, "{:?}", records[0]);
    assert_eq!(records[1].routine(), Some(&routine_fields("spawner", id, 1)));
}

#[tokio::test(start_paused = true)]
async fn a_run_dropped_at_its_timeout_is_dropped_inside_its_span() {
    let sinks = sinks();
    let rutina = Rutina::default();
    let id = rutina.go_with(
        |_ctx: Context| async move {
            let _guard = LogOnDrop("timed out");
            std::future::pending::<()>().await;
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("timed-out").timeout(Duration::from_secs(1)).on_error(Policy::DoNothing),
    );
    rutina.wait().await.unwrap();

    let records = marked(&sinks.all, "timed out");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].routine(), Some(&routine_fields("timed-out", id, 1)));
}

#[tokio::test(start_paused = true)]
async fn rutina_error_keeps_the_span_while_rutina_off_drops_it() {
    let sinks = sinks();
    let rutina = Rutina::default();
    let id = rutina.go_with(
        |_ctx: Context| async move {
            tracing::debug!(marker = "filtered");
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("filtered"),
    );
    rutina.wait().await.unwrap();

    // `rutina=error` silences rutina's own records below ERROR, but its span (at ERROR)
    // is kept: the routine's records still carry their fields.
    let quiet = marked(&sinks.quiet, "filtered");
    assert_eq!(quiet.len(), 1);
    assert_eq!(quiet[0].routine(), Some(&routine_fields("filtered", id, 1)));
    let run_started = |sink: &Sink| {
        sink.lock()
            .unwrap()
            .iter()
            .any(|record| record.message == "run started" && record.field("name") == Some("filtered"))
    };
    assert!(run_started(&sinks.all));
    assert!(!run_started(&sinks.quiet));
    // `rutina=off` drops the span too: the routine's records come without its fields.
    let off = marked(&sinks.off, "filtered");
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].routine(), None);
    assert!(!run_started(&sinks.off));
}

#[tokio::test(start_paused = true)]
async fn a_run_aborted_at_the_end_of_the_grace_period_is_dropped_inside_its_span() {
    let sinks = sinks();
    let rutina = Rutina::new(rutina::Options::default().shutdown_timeout(Duration::from_secs(1)));
    let id = rutina.go_with(
        |_ctx: Context| async move {
            let _guard = LogOnDrop("aborted");
            std::future::pending::<()>().await; // ignores its context
            Ok::<_, std::io::Error>(())
        },
        RunOptions::default().name("aborted"),
    );
    tokio::task::yield_now().await;
    rutina.shutdown();
    assert!(matches!(rutina.wait().await, Err(rutina::Error::Aborted { .. })));

    let records = marked(&sinks.all, "aborted");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].routine(), Some(&routine_fields("aborted", id, 1)));
}

/// Built with `--cfg tokio_unstable` (as CI does for this test), each routine's task
/// carries the routine's name: tokio's `runtime.spawn` span, which tokio-console reads,
/// has it as `task.name`.
#[cfg(tokio_unstable)]
#[tokio::test]
async fn each_routines_task_is_named_for_tokio_console() {
    let _ = sinks();
    let rutina = Rutina::default();
    rutina.go_with(|_ctx: Context| async { Ok::<_, std::io::Error>(()) }, RunOptions::default().name("console-named"));
    let unnamed = rutina.go(|_ctx: Context| async { Ok::<_, std::io::Error>(()) });
    rutina.wait().await.unwrap();

    let spans = TASK_SPANS.lock().unwrap().clone(); // not held while asserting
    let named = |name: &str| {
        spans
            .iter()
            .any(|span| span.name == "runtime.spawn" && span.fields.get("task.name").map(String::as_str) == Some(name))
    };
    assert!(named("console-named"), "{spans:#?}");
    assert!(named(&format!("routine-{}", unnamed.get())), "{spans:#?}");
}
