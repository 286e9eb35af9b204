//! [`RoutineStatus`], the live view of a routine, and [`ShutdownReport`], the account of
//! how a group stopped.

use std::time::Duration;

use tokio::time::Instant;

use crate::Id;
use crate::error::SharedError;
use crate::event::{Outcome, ShutdownReason};

/// A snapshot of one alive routine, from [`Rutina::status`](crate::Rutina::status).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RoutineStatus {
    /// The routine.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// What it is doing.
    pub state: RoutineState,
    /// Its current (or last) run: 1 for the first.
    pub attempt: u32,
    /// How many times it was restarted (`attempt - 1` once its current run began).
    pub restarts: u32,
    /// The failure of its most recent failed run, if any.
    pub last_error: Option<SharedError>,
    /// Failed runs in a row, reset by a run that returns `Ok`.
    pub consecutive_failures: u32,
    /// When it was started: when its task first ran, right after [`go`](crate::Rutina::go)
    /// (its first run began, or its first wait for a schedule's tick or a lease).
    pub started_at: Instant,
    /// When its current (or last) run began. Runs restarted in place one right after
    /// another, each returning without ever waiting, within one poll of the routine's task
    /// (tokio's budget ends it after 128 of them), share the time the first began: a
    /// restart reads the clock only when the task waited since (without the `metrics`
    /// feature, which times every run).
    pub run_started_at: Instant,
}

/// What an alive routine is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoutineState {
    /// A run is in progress and its context is not cancelled.
    Running,
    /// Waiting for its backoff to pass before the next run.
    BackingOff {
        /// When the next run begins.
        until: Instant,
    },
    /// Waiting for the next tick of its schedule ([`RunOptions::every`](crate::RunOptions::every),
    /// [`RunOptions::cron`](crate::RunOptions::cron)).
    Scheduled {
        /// When the next run begins.
        until: Instant,
    },
    /// A singleton routine waiting for its lease, held by another replica.
    Standby,
    /// Its context was cancelled (shutdown, kill, timeout, restart) and the run has not
    /// returned yet.
    Stopping,
}

/// How a group stopped, from [`Rutina::shutdown_report`](crate::Rutina::shutdown_report)
/// once [`wait`](crate::Rutina::wait) returned.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Why the shutdown began; `None` when the group ended because every routine had
    /// ended by itself.
    pub reason: Option<ShutdownReason>,
    /// When the shutdown began.
    pub began_at: Option<Instant>,
    /// The lame-duck delay it waited out before the routines' contexts were cancelled
    /// ([`Options::shutdown_delay`](crate::Options::shutdown_delay); zero for a shutdown
    /// that skips it).
    pub delay: Duration,
    /// How long from the beginning of the shutdown until the last routine had ended.
    pub took: Duration,
    /// Every routine alive when the shutdown began, in the order they stopped.
    pub routines: Vec<StoppedRoutine>,
}

impl ShutdownReport {
    /// The routines that had to be aborted.
    pub fn aborted(&self) -> impl Iterator<Item = &StoppedRoutine> {
        self.routines.iter().filter(|r| matches!(r.how, StopKind::Aborted | StopKind::AbortedBeforeTurn))
    }
}

/// One routine's stop, in a [`ShutdownReport`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoppedRoutine {
    /// The routine.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// How it stopped.
    pub how: StopKind,
    /// How many runs it made in all.
    pub runs: u32,
    /// From the moment its stop was asked for (the shutdown, or its turn in
    /// [`ShutdownOrder::ReverseStart`](crate::ShutdownOrder::ReverseStart)) until it ended.
    pub took: Duration,
}

/// How a routine stopped.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum StopKind {
    /// Its last run returned (or failed) and it was not run again.
    Returned(Outcome),
    /// It was between two runs, in its backoff.
    BetweenRuns,
    /// It was [killed](crate::Rutina::kill).
    Killed,
    /// It did not stop within its grace period (or a second OS signal came) and was aborted.
    Aborted,
    /// It was aborted (a second OS signal came) while it was still waiting for its turn
    /// to stop in [`ShutdownOrder::ReverseStart`](crate::ShutdownOrder::ReverseStart):
    /// it was never asked to stop.
    AbortedBeforeTurn,
}
