//! Metrics on the [`metrics`] facade (feature `metrics`): recorded where things happen —
//! the observers of a run, a member's changes of activity, the end of a group — never
//! derived from the event channel, which drops events for a slow subscriber.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `rutina_runs_total` | counter | `routine`, `outcome` (`ok`, `error`, `panic`, `timeout`, `hung`) |
//! | `rutina_restarts_total` | counter | `routine` |
//! | `rutina_routines` | gauge | `state` (`running`, `backing_off`, `scheduled`, `standby`, `stopping`) |
//! | `rutina_run_duration_seconds` | histogram | `routine`, `outcome` |
//! | `rutina_shutdown_duration_seconds` | histogram | (none) |
//!
//! Each metric goes to the recorder in force where it is registered: the global one, or
//! a thread's local one (`metrics::with_local_recorder`); with none, the facade's no-op
//! recorder. A routine registers its own counters and histograms once, on first use, and
//! keeps the handles ([`RoutineMetrics`]): a restart costs no key to build, no label to
//! allocate, no registry lookup. The gauge's and the shutdown histogram's keys are
//! static. A leaf: told what happened in plain values, it knows nothing of the group.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Histogram, Key, Label, Level, Metadata};

use crate::event::Outcome;

/// Runs that ended, by routine and outcome.
const RUNS_TOTAL: &str = "rutina_runs_total";
/// Runs after a routine's first (its restarts), by routine.
const RESTARTS_TOTAL: &str = "rutina_restarts_total";
/// Routines alive, by what they are doing.
const ROUTINES: &str = "rutina_routines";
/// How long runs lasted, by routine and outcome.
const RUN_DURATION: &str = "rutina_run_duration_seconds";
/// How long group shutdowns lasted, from their beginning until the group was over.
const SHUTDOWN_DURATION: &str = "rutina_shutdown_duration_seconds";

/// What recorders that filter by metadata see of every rutina metric.
static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The `outcome` labels, by `outcome_index`.
const OUTCOMES: [&str; 5] = ["ok", "error", "panic", "timeout", "hung"];

fn outcome_index(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Ok => 0,
        Outcome::Failed(_) => 1,
        Outcome::Panicked(_) => 2,
        Outcome::TimedOut(_) => 3,
        Outcome::Hung(_) => 4,
    }
}

/// One routine's counters and histograms, each registered on first use.
#[derive(Default)]
pub(crate) struct RoutineMetrics {
    /// `rutina_runs_total` and `rutina_run_duration_seconds`, by `outcome_index`.
    runs: [OnceLock<(Counter, Histogram)>; 5],
    restarts: OnceLock<Counter>,
}

impl RoutineMetrics {
    /// A run of `routine` ended with `outcome` after `took`.
    pub(crate) fn run_finished(&self, routine: &Arc<str>, outcome: &Outcome, took: Duration) {
        let index = outcome_index(outcome);
        let (runs, duration) = self.runs[index].get_or_init(|| {
            let labels =
                || vec![Label::new("routine", routine.clone()), Label::from_static_parts("outcome", OUTCOMES[index])];
            metrics::with_recorder(|recorder| {
                let runs = recorder.register_counter(&Key::from_parts(RUNS_TOTAL, labels()), &METADATA);
                let duration = recorder.register_histogram(&Key::from_parts(RUN_DURATION, labels()), &METADATA);
                (runs, duration)
            })
        });
        runs.increment(1);
        duration.record(took);
    }

    /// `routine` began a run after its first.
    pub(crate) fn restarted(&self, routine: &Arc<str>) {
        self.restarts
            .get_or_init(|| {
                let key = Key::from_parts(RESTARTS_TOTAL, vec![Label::new("routine", routine.clone())]);
                metrics::with_recorder(|recorder| recorder.register_counter(&key, &METADATA))
            })
            .increment(1);
    }
}

/// The `state` label of each state.
static STATES: [[Label; 1]; 5] = [
    [Label::from_static_parts("state", "running")],
    [Label::from_static_parts("state", "backing_off")],
    [Label::from_static_parts("state", "scheduled")],
    [Label::from_static_parts("state", "standby")],
    [Label::from_static_parts("state", "stopping")],
];

/// The `rutina_routines` gauge of each state.
static ROUTINES_BY_STATE: [(&str, Key); 5] = [
    ("running", Key::from_static_parts(ROUTINES, &STATES[0])),
    ("backing_off", Key::from_static_parts(ROUTINES, &STATES[1])),
    ("scheduled", Key::from_static_parts(ROUTINES, &STATES[2])),
    ("standby", Key::from_static_parts(ROUTINES, &STATES[3])),
    ("stopping", Key::from_static_parts(ROUTINES, &STATES[4])),
];

/// Moves the gauge of `state` by `delta`.
fn move_gauge(state: &str, delta: f64) {
    if let Some((_, key)) = ROUTINES_BY_STATE.iter().find(|(name, _)| *name == state) {
        let gauge = metrics::with_recorder(|recorder| recorder.register_gauge(key, &METADATA));
        if delta > 0.0 { gauge.increment(delta) } else { gauge.decrement(-delta) }
    }
}

/// A routine moved from state `from` to state `to` (`None`: not counted, before its
/// first run or once it left its group).
pub(crate) fn routine_moved(from: Option<&'static str>, to: Option<&'static str>) {
    if let Some(state) = from {
        move_gauge(state, -1.0);
    }
    if let Some(state) = to {
        move_gauge(state, 1.0);
    }
}

/// A group that had shut down is over, `took` after its shutdown began.
pub(crate) fn shutdown_over(took: Duration) {
    static KEY: Key = Key::from_static_name(SHUTDOWN_DURATION);
    metrics::with_recorder(|recorder| recorder.register_histogram(&KEY, &METADATA)).record(took);
}
