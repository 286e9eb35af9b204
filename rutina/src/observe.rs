//! The observers of a group: the `tracing` logs, the [`Event`] stream, the errors
//! channel and (feature `metrics`) the metrics. Everything that happens to a routine is
//! told here once, and each observer takes what it wants.
//!
//! One exception: what a routine is doing (the `rutina_routines` gauge) is a state of
//! its member, changed where it changes, through `Member::set_activity` and
//! `Member::stopping` — each change told to the gauge by the member's `metrics::Tracking`.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::error::describe;
use crate::event::{Event, Outcome, ShutdownReason};
use crate::member::Member;
use crate::sync::lock;
use crate::{Id, RoutineError};

/// How many events a slow subscriber may lag behind before it misses some.
const EVENT_CAPACITY: usize = 1024;

/// Logs, events and the errors channel of one group.
pub(crate) struct Observers {
    /// Made by the first `subscribe`: a group nobody observes neither allocates the
    /// channel's buffer nor builds events.
    events: OnceLock<broadcast::Sender<Event>>,
    /// Dropped when the group is over, so that the channel closes once the user's own
    /// senders are gone too.
    errors: Mutex<Option<mpsc::UnboundedSender<RoutineError>>>,
}

impl Observers {
    pub(crate) fn new(errors: Option<mpsc::UnboundedSender<RoutineError>>) -> Observers {
        Observers { events: OnceLock::new(), errors: Mutex::new(errors) }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.get_or_init(|| broadcast::Sender::new(EVENT_CAPACITY)).subscribe()
    }

    /// Sends the event made by `make` if anyone ever subscribed.
    pub(crate) fn event(&self, make: impl FnOnce() -> Event) {
        if let Some(events) = self.events.get() {
            let _ = events.send(make());
        }
    }

    /// The group is over: the errors channel is let go.
    pub(crate) fn close(&self) {
        lock(&self.errors).take();
    }

    pub(crate) fn started(&self, member: &Member, attempt: u32) {
        // The name only if the metrics want it: an unnamed routine's is made on first use.
        member.tracking().run_began(|| member.name(), attempt, &member.health);
        tracing::debug!(target: "rutina", id = member.id.get(), name = %member.name(), attempt, "run started");
        self.event(|| Event::Started { id: member.id, name: member.name().to_string(), attempt });
    }

    pub(crate) fn finished(&self, member: &Member, attempt: u32, outcome: &Outcome) {
        member.tracking().run_finished(|| member.name(), outcome, &member.health);
        // The name only inside the macros, which skip their fields when the level is
        // off: an unnamed routine's name is made on first use.
        let id = member.id.get();
        match outcome {
            Outcome::Ok => tracing::debug!(target: "rutina", id, name = %member.name(), attempt, "run finished"),
            Outcome::Failed(error) => {
                if tracing::enabled!(target: "rutina", tracing::Level::WARN) {
                    let error = describe(&**error);
                    tracing::warn!(target: "rutina", id, name = %member.name(), attempt, %error, "run failed");
                }
            }
            Outcome::Panicked(message) => {
                tracing::warn!(target: "rutina", id, name = %member.name(), attempt, panic = %message, "run panicked")
            }
            Outcome::TimedOut(timeout) => {
                tracing::warn!(target: "rutina", id, name = %member.name(), attempt, ?timeout, "run timed out")
            }
            Outcome::Hung(heartbeat) => {
                tracing::warn!(target: "rutina", id, name = %member.name(), attempt, ?heartbeat, "run hung: no heartbeat")
            }
        }
        self.event(|| Event::Finished {
            id: member.id,
            name: member.name().to_string(),
            attempt,
            outcome: outcome.clone(),
        });
    }

    pub(crate) fn restarting(&self, member: &Member, attempt: u32, delay: Duration) {
        tracing::debug!(target: "rutina", id = member.id.get(), name = %member.name(), attempt, ?delay, "restarting");
        self.event(|| Event::Restarting { id: member.id, name: member.name().to_string(), attempt, delay });
    }

    /// Logs a kill; its event was sent under the group's lock.
    pub(crate) fn killed(&self, member: &Member) {
        tracing::info!(target: "rutina", id = member.id.get(), name = %member.name(), "routine killed");
    }

    /// Logs an abort; its event was sent under the group's lock.
    pub(crate) fn aborted(&self, member: &Member, why: &str) {
        tracing::error!(target: "rutina", id = member.id.get(), name = %member.name(), "{why}; aborting it");
    }

    pub(crate) fn stopped(&self, member: &Member, runs: u32) {
        tracing::debug!(target: "rutina", id = member.id.get(), name = %member.name(), runs, "routine stopped");
        self.event(|| Event::Stopped { id: member.id, name: member.name().to_string(), runs });
    }

    pub(crate) fn shutdown_started(&self, reason: &ShutdownReason, running: usize) {
        tracing::info!(target: "rutina", %reason, running, "shutting down");
        self.event(|| Event::ShutdownStarted { reason: reason.clone(), running });
    }

    /// The group is over; `shutdown_took`: how long its shutdown lasted, if it had one.
    pub(crate) fn group_over(&self, shutdown_took: Option<Duration>) {
        crate::metrics::group_over(shutdown_took);
    }

    pub(crate) fn not_started(&self, id: Id) {
        tracing::warn!(target: "rutina", id = id.get(), "the group is shutting down; routine not started");
    }

    /// Sends a failure that decided nothing to the errors channel (rule 10).
    pub(crate) fn report(&self, member: &Member, attempt: u32, outcome: &Outcome) {
        let Some(error) = outcome.failure() else { return };
        if let Some(errors) = &*lock(&self.errors) {
            let _ = errors.send(RoutineError { id: member.id, name: member.name().to_string(), attempt, error });
        }
    }
}
