//! The state one group shares between its handles, its routines' tasks and its own
//! tasks: who is in the group, where the group is in its life, and how it ended — all
//! under one lock.
//!
//! # The lifecycle
//!
//! ```text
//! Running ──begin_shutdown──▶ ShuttingDown ──last member left──▶ Over
//!    └──────────── wait saw no member ─────────────────────────────┘
//! ```
//!
//! # Invariants
//!
//! - The phase only moves forward. `members` takes new routines only while `Running`.
//! - `Over` is reached exactly when no member is left and no more can join: when the
//!   last member leaves a group that is shutting down, when a shutdown begins with no
//!   member, or when `wait` finds a running group empty. Its `over` token is cancelled
//!   then, and only then.
//! - `error` is the first error that decided the shutdown, set at most once, and never
//!   once the group is `orphaned` (nobody can call `wait` then: the failure goes to the
//!   errors channel instead, rule 10).
//! - A member in `aborted` was aborted once (`Member::abort` returned `true`).
//! - `Group::phase` mirrors the phase's discriminant, written with the lock held, so
//!   that hot paths read it without the lock.
//!
//! # Lock order
//!
//! `Core` → a member's own status lock. The errors channel's lock is a leaf. The lock is
//! never held across an `.await`, nor while calling user code: no `tracing` record is
//! written under it (events are sent under it, so that a routine's `Killed` or
//! `Aborted` comes before its `Stopped`).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::members::Members;
use super::shutdown::Plan;
use crate::event::{Outcome, ShutdownReason};
use crate::member::Member;
use crate::status::{ShutdownReport, StopKind, StoppedRoutine};
use crate::{Error, Id};

/// Where a group is in its life.
pub(crate) enum Phase {
    /// Routines run and new ones join.
    Running,
    /// A shutdown began: no routine joins, nothing restarts, the plan stops the members.
    ShuttingDown(Shutdown),
    /// No member is left and none can join.
    Over {
        /// The shutdown that ended the group; `None` if every routine had ended by itself.
        shutdown: Option<Shutdown>,
        finished_at: Instant,
    },
}

/// `Phase` without its data, as `Group::phase` mirrors it.
pub(crate) const RUNNING: u8 = 0;
pub(crate) const SHUTTING_DOWN: u8 = 1;
pub(crate) const OVER: u8 = 2;

impl Phase {
    pub(crate) fn code(&self) -> u8 {
        match self {
            Phase::Running => RUNNING,
            Phase::ShuttingDown(_) => SHUTTING_DOWN,
            Phase::Over { .. } => OVER,
        }
    }
}

/// A shutdown in progress (or done).
pub(crate) struct Shutdown {
    pub(crate) reason: ShutdownReason,
    pub(crate) began_at: Instant,
    /// Who to stop when, who to abort when.
    pub(crate) plan: Plan,
}

/// The group's shared state; see the module docs for its invariants.
pub(crate) struct Core {
    pub(crate) phase: Phase,
    pub(crate) members: Members,
    /// How many members have a grace period of their own.
    pub(crate) graced: usize,
    /// The first error that decided the shutdown.
    pub(crate) error: Option<Error>,
    /// The members that were aborted, for `Error::Aborted`.
    pub(crate) aborted: Vec<(Id, String)>,
    /// The shutdown report's entries, in the order the members stopped; the names of
    /// unnamed routines are made only when the report is asked for.
    pub(crate) stopped: Vec<Stopped>,
    /// The members that left during the shutdown, kept for the driver to let go of (see
    /// `RELEASE_BATCH`) rather than freed by the routines' tasks as they end.
    pub(crate) leaving: Vec<Arc<Member>>,
    /// OS signals received.
    pub(crate) signals: u32,
    /// The last handle was dropped: nobody can call `wait` any more.
    pub(crate) orphaned: bool,
}

impl Core {
    pub(crate) fn new() -> Core {
        Core {
            phase: Phase::Running,
            members: Members::default(),
            graced: 0,
            error: None,
            aborted: Vec::new(),
            stopped: Vec::new(),
            leaving: Vec::new(),
            signals: 0,
            orphaned: false,
        }
    }

    pub(crate) fn shutdown(&mut self) -> Option<&mut Shutdown> {
        match &mut self.phase {
            Phase::ShuttingDown(shutdown) => Some(shutdown),
            _ => None,
        }
    }

    /// Ends the group if no member is left and none can join any more (the group is shutting
    /// down, or `force`: `wait` found it running and empty). `true` if it ended now.
    pub(crate) fn end_if_empty(&mut self, force: bool) -> bool {
        if !self.members.is_empty() {
            return false;
        }
        let shutdown = match std::mem::replace(&mut self.phase, Phase::Running) {
            Phase::ShuttingDown(shutdown) => Some(shutdown),
            Phase::Running if force => None,
            phase => {
                self.phase = phase;
                return false;
            }
        };
        self.phase = Phase::Over { shutdown, finished_at: Instant::now() };
        true
    }

    /// How long the shutdown that ended the group took, once it is over (for the
    /// `rutina_shutdown_duration_seconds` histogram).
    pub(crate) fn shutdown_took(&self) -> Option<Duration> {
        match &self.phase {
            Phase::Over { shutdown: Some(shutdown), finished_at } => {
                Some(finished_at.saturating_duration_since(shutdown.began_at))
            }
            _ => None,
        }
    }

    /// Makes `error` the group's error if none was recorded and somebody may still
    /// `wait` for it; `false` otherwise (the caller sends it to the errors channel).
    pub(crate) fn record_error(&mut self, error: Error) -> bool {
        if self.error.is_some() || self.orphaned {
            return false;
        }
        self.error = Some(error);
        true
    }

    /// `wait`'s result: `Aborted` if anything was, else the decisive error, if any.
    pub(crate) fn result(&self) -> Result<(), Error> {
        if !self.aborted.is_empty() {
            let mut stuck = self.aborted.clone();
            stuck.sort_unstable();
            return Err(Error::Aborted { stuck, cause: self.error.clone().map(Box::new) });
        }
        match &self.error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// How the group stopped, once it is over.
    pub(crate) fn report(&self) -> Option<ShutdownReport> {
        let Phase::Over { shutdown, finished_at } = &self.phase else { return None };
        let routines = self
            .stopped
            .iter()
            .map(|stopped| StoppedRoutine {
                id: stopped.id,
                name: stopped.name.as_deref().map_or_else(|| Member::default_name(stopped.id), str::to_owned),
                how: match stopped.how {
                    Stop::Returned => StopKind::Returned(stopped.outcome.as_deref().cloned().unwrap_or(Outcome::Ok)),
                    Stop::BetweenRuns => StopKind::BetweenRuns,
                    Stop::Killed => StopKind::Killed,
                    Stop::Aborted => StopKind::Aborted,
                    Stop::AbortedBeforeTurn => StopKind::AbortedBeforeTurn,
                },
                runs: stopped.runs,
                took: stopped.took,
            })
            .collect();
        let began_at = shutdown.as_ref().map(|shutdown| shutdown.began_at);
        let delay = shutdown
            .as_ref()
            .map_or(Duration::ZERO, |shutdown| shutdown.plan.cancel_at.saturating_duration_since(shutdown.began_at));
        Some(ShutdownReport {
            reason: shutdown.as_ref().map(|shutdown| shutdown.reason.clone()),
            began_at,
            delay,
            took: began_at.map_or(Duration::ZERO, |at| finished_at.saturating_duration_since(at)),
            routines,
        })
    }
}

/// A member that stopped during the shutdown, for the report: what the report tells of
/// it, not the member itself, which the driver lets go of (`Core::leaving`).
pub(crate) struct Stopped {
    pub(crate) id: Id,
    /// Its name, if it has one: an unnamed routine's is made for the report.
    pub(crate) name: Option<Arc<str>>,
    pub(crate) how: Stop,
    /// How its last run ended, if not `Ok` (`Stop::Returned` only; rare, so boxed).
    pub(crate) outcome: Option<Box<Outcome>>,
    pub(crate) runs: u32,
    pub(crate) took: Duration,
}

/// How a member stopped: [`StopKind`] without the outcome, which the member keeps.
#[derive(Clone, Copy)]
pub(crate) enum Stop {
    Returned,
    BetweenRuns,
    Killed,
    Aborted,
    AbortedBeforeTurn,
}
