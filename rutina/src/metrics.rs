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
//!
//! What a routine is doing ([`Activity`]) is kept by its member's [`Tracking`], which
//! tells the gauge every change. Without the feature, [`Tracking`] is empty and every
//! name here is a no-op that compiles to nothing: the rest of the crate calls them
//! without a `cfg`.

use std::time::Duration;

#[cfg(feature = "metrics")]
pub(crate) use recording::{Tracking, shutdown_over};
#[cfg(not(feature = "metrics"))]
pub(crate) use silent::{Tracking, shutdown_over};

/// What a routine is doing, as the `rutina_routines{state}` gauge counts it. A routine is
/// counted from its first run (or its first wait: a schedule's first tick, a lease) until
/// it leaves its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) enum Activity {
    /// Not counted: before its first run, or gone from its group.
    Gone = 0,
    /// A run is in progress and its context is not cancelled.
    Running,
    /// Waiting for its backoff.
    BackingOff,
    /// Waiting for its schedule's next tick.
    Scheduled,
    /// A singleton waiting for its lease.
    Standby,
    /// Its run's context was cancelled and the run has not returned yet.
    Stopping,
}

#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
impl Activity {
    const ALL: [Activity; 6] = [
        Activity::Gone,
        Activity::Running,
        Activity::BackingOff,
        Activity::Scheduled,
        Activity::Standby,
        Activity::Stopping,
    ];

    fn from_code(code: u8) -> Activity {
        Self::ALL.get(usize::from(code)).copied().unwrap_or(Activity::Gone)
    }

    /// The gauge's `state` label; `None` when not counted.
    fn label(self) -> Option<&'static str> {
        match self {
            Activity::Gone => None,
            Activity::Running => Some("running"),
            Activity::BackingOff => Some("backing_off"),
            Activity::Scheduled => Some("scheduled"),
            Activity::Standby => Some("standby"),
            Activity::Stopping => Some("stopping"),
        }
    }
}

/// `Tracking::activity`'s bit: the routine's own token was cancelled.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
const ACTIVITY_CANCELLED: u8 = 1 << 7;

/// A group that had shut down is over: records how long its shutdown took, if it had one.
#[inline]
pub(crate) fn group_over(shutdown_took: Option<Duration>) {
    if let Some(took) = shutdown_took {
        shutdown_over(took);
    }
}

/// Whether the metrics are recorded: what is gathered only for them (the members a
/// shutdown cancels, for the gauge) is skipped, and compiled out, when they are not.
pub(crate) const RECORDED: bool = cfg!(feature = "metrics");

/// The metrics of the feature.
#[cfg(feature = "metrics")]
mod recording {
    use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
    use std::sync::{Arc, OnceLock};
    use std::time::Duration;

    use tokio::time::Instant;

    use metrics::{Counter, Histogram, Key, Label, Level, Metadata};

    use crate::event::Outcome;
    use crate::health::Health;

    use super::{ACTIVITY_CANCELLED, Activity};

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
                let labels = || {
                    vec![Label::new("routine", routine.clone()), Label::from_static_parts("outcome", OUTCOMES[index])]
                };
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

    /// A routine's record: what it is doing, when its run began, its handles.
    #[derive(Default)]
    pub(crate) struct Tracking {
        /// An [`Activity`], and `ACTIVITY_CANCELLED` once the routine's token was
        /// cancelled; changed only through `change`, which tells the gauge every change.
        activity: AtomicU8,
        /// When the current run began: nanoseconds after the group's epoch.
        run_started: AtomicU64,
        /// The routine's counters and histograms, made at its first run's end.
        handles: OnceLock<Box<RoutineMetrics>>,
    }

    impl Tracking {
        pub(crate) fn new() -> Tracking {
            Tracking::default()
        }

        /// The record of the member that takes this one's place (an operator's restart):
        /// the routine's place in the gauge moves to it, untold (it is the same routine).
        pub(crate) fn renewed(&self) -> Tracking {
            Tracking {
                activity: AtomicU8::new(
                    self.activity.swap(Activity::Gone as u8, Ordering::AcqRel) & !ACTIVITY_CANCELLED,
                ),
                run_started: AtomicU64::new(self.run_started.load(Ordering::Acquire)),
                handles: OnceLock::new(),
            }
        }

        /// The routine is doing `to` now. A run that begins once the routine's own token
        /// was cancelled is stopping, not running.
        pub(crate) fn set_activity(&self, to: Activity) {
            self.change(|from, cancelled| {
                let to = if to == Activity::Running && cancelled { Activity::Stopping } else { to };
                (to != from).then_some((to, cancelled))
            });
        }

        /// The routine's own token was cancelled, if `cancelled` says so: a running
        /// routine is stopping; one that waits keeps waiting, but its next run is
        /// stopping from the start.
        pub(crate) fn stopping(&self, cancelled: impl FnOnce() -> bool) {
            if cancelled() {
                self.change(|from, cancelled| {
                    (!cancelled).then_some((if from == Activity::Running { Activity::Stopping } else { from }, true))
                });
            }
        }

        /// The current run's own token was cancelled (a timeout, a heartbeat, a lost
        /// lease): the running routine is stopping; its next run is not.
        pub(crate) fn run_stopping(&self) {
            self.change(|from, cancelled| (from == Activity::Running).then_some((Activity::Stopping, cancelled)));
        }

        /// The one place the activity changes: `change` maps the activity and whether
        /// the routine's token was cancelled to the new ones (`None`: no change); the
        /// gauge is told the change, old −1, new +1. Lock-free: cancellers and the
        /// supervisor may race, and each change is made whole or not at all.
        fn change(&self, mut change: impl FnMut(Activity, bool) -> Option<(Activity, bool)>) {
            let (mut from, mut to) = (Activity::Gone, Activity::Gone);
            let changed = self.activity.fetch_update(Ordering::AcqRel, Ordering::Acquire, |code| {
                from = Activity::from_code(code & !ACTIVITY_CANCELLED);
                let (next, cancelled) = change(from, code & ACTIVITY_CANCELLED != 0)?;
                to = next;
                Some(next as u8 | if cancelled { ACTIVITY_CANCELLED } else { 0 })
            });
            if changed.is_ok() && from != to {
                routine_moved(from.label(), to.label());
            }
        }

        /// Run `attempt` of `routine` begins: running (or stopping). The start of a
        /// restart was recorded by `run_started`, with the clock read it made.
        pub(crate) fn run_began<'a>(&self, routine: impl FnOnce() -> &'a Arc<str>, attempt: u32, health: &Health) {
            if attempt == 1 {
                self.run_started(Instant::now(), health);
            } else {
                self.handles().restarted(routine());
            }
            self.set_activity(Activity::Running);
        }

        /// The current run began `at`, for its duration.
        pub(crate) fn run_started(&self, at: Instant, health: &Health) {
            self.run_started.store(health.since_epoch(at), Ordering::Release);
        }

        /// The current run of `routine` ended with `outcome`.
        pub(crate) fn run_finished<'a>(
            &self,
            routine: impl FnOnce() -> &'a Arc<str>,
            outcome: &Outcome,
            health: &Health,
        ) {
            let started = health.at(self.run_started.load(Ordering::Acquire));
            self.handles().run_finished(routine(), outcome, Instant::now().saturating_duration_since(started));
        }

        fn handles(&self) -> &RoutineMetrics {
            self.handles.get_or_init(Box::default)
        }
    }
}

/// The feature is off: the same names, doing nothing.
#[cfg(not(feature = "metrics"))]
mod silent {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::Activity;
    use crate::event::Outcome;
    use crate::health::Health;

    /// Empty: a member keeps nothing for the metrics.
    pub(crate) struct Tracking;

    impl Tracking {
        #[inline(always)]
        pub(crate) fn new() -> Tracking {
            Tracking
        }

        #[inline(always)]
        pub(crate) fn renewed(&self) -> Tracking {
            Tracking
        }

        #[inline(always)]
        pub(crate) fn set_activity(&self, _to: Activity) {}

        #[inline(always)]
        pub(crate) fn stopping(&self, _cancelled: impl FnOnce() -> bool) {}

        #[inline(always)]
        pub(crate) fn run_stopping(&self) {}

        #[inline(always)]
        pub(crate) fn run_began<'a>(&self, _routine: impl FnOnce() -> &'a Arc<str>, _attempt: u32, _health: &Health) {}

        #[inline(always)]
        pub(crate) fn run_started(&self, _at: Instant, _health: &Health) {}

        #[inline(always)]
        pub(crate) fn run_finished<'a>(
            &self,
            _routine: impl FnOnce() -> &'a Arc<str>,
            _outcome: &Outcome,
            _health: &Health,
        ) {
        }
    }

    #[inline(always)]
    pub(crate) fn shutdown_over(_took: Duration) {}
}
