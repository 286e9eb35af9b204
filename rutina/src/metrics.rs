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
//! Each call goes to the recorder in force where it is made: the global one, or a
//! thread's local one (`metrics::with_local_recorder`). With none installed, the facade's
//! no-op recorder takes them. A leaf: told what happened in plain values, it knows
//! nothing of the group.

use std::sync::Arc;
use std::time::Duration;

use crate::event::Outcome;

/// Runs that ended, by routine and outcome.
pub(crate) const RUNS_TOTAL: &str = "rutina_runs_total";
/// Runs after a routine's first (its restarts), by routine.
pub(crate) const RESTARTS_TOTAL: &str = "rutina_restarts_total";
/// Routines alive, by what they are doing.
pub(crate) const ROUTINES: &str = "rutina_routines";
/// How long runs lasted, by routine and outcome.
pub(crate) const RUN_DURATION: &str = "rutina_run_duration_seconds";
/// How long group shutdowns lasted, from their beginning until the group was over.
pub(crate) const SHUTDOWN_DURATION: &str = "rutina_shutdown_duration_seconds";

/// The `outcome` label of a run.
fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::Failed(_) => "error",
        Outcome::Panicked(_) => "panic",
        Outcome::TimedOut(_) => "timeout",
        Outcome::Hung(_) => "hung",
    }
}

/// A run of `routine` ended with `outcome` after `took`.
pub(crate) fn run_finished(routine: &Arc<str>, outcome: &Outcome, took: Duration) {
    let outcome = outcome_label(outcome);
    metrics::counter!(RUNS_TOTAL, "routine" => routine.clone(), "outcome" => outcome).increment(1);
    metrics::histogram!(RUN_DURATION, "routine" => routine.clone(), "outcome" => outcome).record(took);
}

/// `routine` began a run after its first.
pub(crate) fn restarted(routine: &Arc<str>) {
    metrics::counter!(RESTARTS_TOTAL, "routine" => routine.clone()).increment(1);
}

/// A routine moved from state `from` to state `to` (`None`: not counted, before its
/// first run or once it left its group).
pub(crate) fn routine_moved(from: Option<&'static str>, to: Option<&'static str>) {
    if let Some(state) = from {
        metrics::gauge!(ROUTINES, "state" => state).decrement(1.0);
    }
    if let Some(state) = to {
        metrics::gauge!(ROUTINES, "state" => state).increment(1.0);
    }
}

/// A group that had shut down is over, `took` after its shutdown began.
pub(crate) fn shutdown_over(took: Duration) {
    metrics::histogram!(SHUTDOWN_DURATION).record(took);
}
