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
    pub(crate) stopped: Stops,
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
            stopped: Stops::default(),
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
        let routines = self.stopped.routines().collect();
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

/// The members that stopped during the shutdown, for the report: what the report tells
/// of each, not the members themselves, which the driver lets go of (`Core::leaving`).
///
/// An entry is 24 bytes, written under the group's lock by every member that stops: what
/// most members need (an unnamed routine whose last run returned `Ok`). A name or an
/// outcome is kept beside it, in `details`. (Entries of 56 bytes with both in them made
/// the wait for 100k stopping routines about 2 ms longer, on one core.)
#[derive(Default)]
pub(crate) struct Stops {
    entries: Vec<Stopped>,
    /// The names and outcomes of the entries marked `detailed`, in their order.
    details: Vec<Detail>,
}

/// A member that stopped during the shutdown.
struct Stopped {
    id: Id,
    /// How long it took to stop, in nanoseconds (saturated: 584 years).
    took: u64,
    runs: u32,
    how: Stop,
    /// Its name or its last run's outcome is in `Stops::details`.
    detailed: bool,
}

/// What few stopped members have: a name (an unnamed routine's is made for the report),
/// or an outcome other than `Ok` (`Stop::Returned` only).
struct Detail {
    name: Option<Arc<str>>,
    outcome: Option<Box<Outcome>>,
}

impl Stops {
    /// Room for `count` more entries: one allocation, not a copy each time they grow.
    pub(crate) fn reserve(&mut self, count: usize) {
        self.entries.reserve(count);
    }

    /// Member `id` stopped, `how`, after `runs` runs, in `took`; named `name` if it has a
    /// name, its last run ending with `outcome` (kept for `Stop::Returned` only).
    pub(crate) fn push(
        &mut self,
        id: Id,
        how: Stop,
        runs: u32,
        took: Duration,
        (name, outcome): (Option<Arc<str>>, Option<Outcome>),
    ) {
        let outcome = outcome.filter(|_| matches!(how, Stop::Returned)).map(Box::new);
        let detailed = name.is_some() || outcome.is_some();
        if detailed {
            self.details.push(Detail { name, outcome });
        }
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.entries.push(Stopped { id, took, runs, how, detailed });
    }

    /// The report's entries.
    pub(crate) fn routines(&self) -> impl Iterator<Item = StoppedRoutine> + '_ {
        let mut details = self.details.iter();
        self.entries.iter().map(move |stopped| {
            let detail = stopped.detailed.then(|| details.next()).flatten();
            let name = detail.and_then(|detail| detail.name.as_deref());
            let outcome = detail.and_then(|detail| detail.outcome.as_deref());
            StoppedRoutine {
                id: stopped.id,
                name: name.map_or_else(|| Member::default_name(stopped.id), str::to_owned),
                how: match stopped.how {
                    Stop::Returned => StopKind::Returned(outcome.cloned().unwrap_or(Outcome::Ok)),
                    Stop::BetweenRuns => StopKind::BetweenRuns,
                    Stop::Killed => StopKind::Killed,
                    Stop::Aborted => StopKind::Aborted,
                    Stop::AbortedBeforeTurn => StopKind::AbortedBeforeTurn,
                },
                runs: stopped.runs,
                took: Duration::from_nanos(stopped.took),
            }
        })
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Stop, Stops};
    use crate::event::Outcome;
    use crate::{Id, StopKind};

    /// The names and outcomes kept beside the entries go back to theirs: the report
    /// tells each member as it stopped, in order, whichever have them.
    #[test]
    fn the_report_tells_each_stopped_member_with_its_name_and_outcome() {
        let mut stops = Stops::default();
        let ms = Duration::from_millis;
        let panicked = || Some(Outcome::Panicked("boom".into()));
        stops.push(Id::new(3), Stop::Returned, 1, ms(1), (None, None));
        stops.push(Id::new(1), Stop::Returned, 2, ms(2), (Some(Arc::from("named")), None));
        stops.push(Id::new(4), Stop::Returned, 1, ms(3), (None, panicked()));
        stops.push(Id::new(2), Stop::Killed, 1, ms(4), (None, panicked()));
        stops.push(Id::new(5), Stop::Aborted, 3, Duration::MAX, (Some(Arc::from("stuck")), panicked()));
        stops.push(Id::new(6), Stop::BetweenRuns, 1, ms(6), (None, None));

        // `StopKind` is compared by how it prints: it has no `PartialEq` (an error in it
        // has none).
        let told: Vec<_> = stops
            .routines()
            .map(|routine| (routine.id.get(), routine.name, format!("{:?}", routine.how), routine.runs, routine.took))
            .collect();
        let how = |how: StopKind| format!("{how:?}");
        let max = Duration::from_nanos(u64::MAX);
        assert_eq!(
            told,
            [
                (3, "routine-3".to_owned(), how(StopKind::Returned(Outcome::Ok)), 1, ms(1)),
                (1, "named".to_owned(), how(StopKind::Returned(Outcome::Ok)), 2, ms(2)),
                (4, "routine-4".to_owned(), how(StopKind::Returned(Outcome::Panicked("boom".into()))), 1, ms(3)),
                // Only a routine that returned keeps its outcome.
                (2, "routine-2".to_owned(), how(StopKind::Killed), 1, ms(4)),
                (5, "stuck".to_owned(), how(StopKind::Aborted), 3, max),
                (6, "routine-6".to_owned(), how(StopKind::BetweenRuns), 1, ms(6)),
            ]
        );
    }
}
