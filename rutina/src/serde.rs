//! `serde::Serialize` (feature `serde`) for what a group tells about itself: its routines'
//! [`RoutineStatus`], its [`ShutdownReport`] and its [`Event`]s, with the types in them.
//!
//! Written by hand, in the shape `#[derive(Serialize)]` gives (field and variant names as
//! in Rust, enums externally tagged: `"Running"`, `{"BackingOff": {...}}`), except where
//! a value has no portable form:
//!
//! - an error is its display string;
//! - a [`Duration`] is a whole number of milliseconds, its field named with `_ms`
//!   (`took` → `took_ms`); in a tuple variant it becomes a field named after what it is
//!   (`Outcome::TimedOut(d)` → `{"TimedOut": {"timeout_ms": 5000}}`, `Outcome::Hung(d)` →
//!   `{"Hung": {"heartbeat_ms": 30000}}`);
//! - an [`Instant`] in the past is how long ago it was, in whole milliseconds at the
//!   moment of serializing, its field renamed `*_ms_ago` (`started_at` →
//!   `started_ms_ago`, `began_at` → `began_ms_ago`); one in the future (when a backoff or
//!   a schedule's wait ends, `until`) is how long from now, `until_ms_from_now`; both
//!   are 0 rather than negative;
//! - an [`Id`] is its number.

use std::fmt;
use std::time::Duration;

use ::serde::ser::{Serialize, SerializeStruct, SerializeStructVariant, Serializer};
use tokio::time::Instant;

use crate::event::{CancelReason, Event, Outcome, ShutdownReason};
use crate::id::Id;
use crate::status::{RoutineState, RoutineStatus, ShutdownReport, StopKind, StoppedRoutine};

/// Whole milliseconds, saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How long ago `at` was, in whole milliseconds.
fn ms_ago(at: Instant) -> u64 {
    millis(Instant::now().saturating_duration_since(at))
}

/// How long from now until `at`, in whole milliseconds.
fn ms_from_now(at: Instant) -> u64 {
    millis(at.saturating_duration_since(Instant::now()))
}

/// A value serialized as its display string.
struct Displayed<'a, T: ?Sized>(&'a T);

impl<T: fmt::Display + ?Sized> Serialize for Displayed<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.get())
    }
}

impl Serialize for RoutineStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("RoutineStatus", 9)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("state", &self.state)?;
        s.serialize_field("attempt", &self.attempt)?;
        s.serialize_field("restarts", &self.restarts)?;
        s.serialize_field("last_error", &self.last_error.as_deref().map(Displayed))?;
        s.serialize_field("consecutive_failures", &self.consecutive_failures)?;
        s.serialize_field("started_ms_ago", &ms_ago(self.started_at))?;
        s.serialize_field("run_started_ms_ago", &ms_ago(self.run_started_at))?;
        s.end()
    }
}

impl Serialize for RoutineState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "RoutineState";
        let waiting = |serializer: S, index, variant, until| {
            let mut s = serializer.serialize_struct_variant(NAME, index, variant, 1)?;
            s.serialize_field("until_ms_from_now", &ms_from_now(until))?;
            s.end()
        };
        match *self {
            RoutineState::Running => serializer.serialize_unit_variant(NAME, 0, "Running"),
            RoutineState::BackingOff { until } => waiting(serializer, 1, "BackingOff", until),
            RoutineState::Scheduled { until } => waiting(serializer, 2, "Scheduled", until),
            RoutineState::Standby => serializer.serialize_unit_variant(NAME, 3, "Standby"),
            RoutineState::Stopping => serializer.serialize_unit_variant(NAME, 4, "Stopping"),
        }
    }
}

impl Serialize for ShutdownReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ShutdownReport", 4)?;
        s.serialize_field("reason", &self.reason)?;
        s.serialize_field("began_ms_ago", &self.began_at.map(ms_ago))?;
        s.serialize_field("took_ms", &millis(self.took))?;
        s.serialize_field("routines", &self.routines)?;
        s.end()
    }
}

impl Serialize for StoppedRoutine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("StoppedRoutine", 5)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("how", &self.how)?;
        s.serialize_field("runs", &self.runs)?;
        s.serialize_field("took_ms", &millis(self.took))?;
        s.end()
    }
}

impl Serialize for StopKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "StopKind";
        match self {
            StopKind::Returned(outcome) => serializer.serialize_newtype_variant(NAME, 0, "Returned", outcome),
            StopKind::BetweenRuns => serializer.serialize_unit_variant(NAME, 1, "BetweenRuns"),
            StopKind::Killed => serializer.serialize_unit_variant(NAME, 2, "Killed"),
            StopKind::Aborted => serializer.serialize_unit_variant(NAME, 3, "Aborted"),
            StopKind::AbortedBeforeTurn => serializer.serialize_unit_variant(NAME, 4, "AbortedBeforeTurn"),
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "Outcome";
        let limit = |serializer: S, index, variant, field, limit| {
            let mut s = serializer.serialize_struct_variant(NAME, index, variant, 1)?;
            s.serialize_field(field, &millis(limit))?;
            s.end()
        };
        match self {
            Outcome::Ok => serializer.serialize_unit_variant(NAME, 0, "Ok"),
            Outcome::Failed(error) => serializer.serialize_newtype_variant(NAME, 1, "Failed", &Displayed(&**error)),
            Outcome::Panicked(message) => serializer.serialize_newtype_variant(NAME, 2, "Panicked", message),
            Outcome::TimedOut(timeout) => limit(serializer, 3, "TimedOut", "timeout_ms", *timeout),
            Outcome::Hung(heartbeat) => limit(serializer, 4, "Hung", "heartbeat_ms", *heartbeat),
        }
    }
}

impl Serialize for ShutdownReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "ShutdownReason";
        match self {
            ShutdownReason::Requested => serializer.serialize_unit_variant(NAME, 0, "Requested"),
            ShutdownReason::Signal => serializer.serialize_unit_variant(NAME, 1, "Signal"),
            ShutdownReason::Cancelled => serializer.serialize_unit_variant(NAME, 2, "Cancelled"),
            ShutdownReason::Dropped => serializer.serialize_unit_variant(NAME, 3, "Dropped"),
            ShutdownReason::Routine { id, name, failed } => {
                let mut s = serializer.serialize_struct_variant(NAME, 4, "Routine", 3)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.serialize_field("failed", failed)?;
                s.end()
            }
            ShutdownReason::RunLimit { id, name } => {
                let mut s = serializer.serialize_struct_variant(NAME, 5, "RunLimit", 2)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.end()
            }
            ShutdownReason::RestartIntensity { id, name } => {
                let mut s = serializer.serialize_struct_variant(NAME, 6, "RestartIntensity", 2)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.end()
            }
        }
    }
}

impl Serialize for CancelReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (index, variant) = match self {
            CancelReason::Shutdown => (0, "Shutdown"),
            CancelReason::Killed => (1, "Killed"),
            CancelReason::TimedOut => (2, "TimedOut"),
            CancelReason::Hung => (3, "Hung"),
            CancelReason::Restarted => (4, "Restarted"),
            CancelReason::Reload => (5, "Reload"),
            CancelReason::LeaseLost => (6, "LeaseLost"),
        };
        serializer.serialize_unit_variant("CancelReason", index, variant)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "Event";
        match self {
            Event::Started { id, name, attempt } => {
                let mut s = serializer.serialize_struct_variant(NAME, 0, "Started", 3)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.serialize_field("attempt", attempt)?;
                s.end()
            }
            Event::Finished { id, name, attempt, outcome } => {
                let mut s = serializer.serialize_struct_variant(NAME, 1, "Finished", 4)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.serialize_field("attempt", attempt)?;
                s.serialize_field("outcome", outcome)?;
                s.end()
            }
            Event::Restarting { id, name, attempt, delay } => {
                let mut s = serializer.serialize_struct_variant(NAME, 2, "Restarting", 4)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.serialize_field("attempt", attempt)?;
                s.serialize_field("delay_ms", &millis(*delay))?;
                s.end()
            }
            Event::Killed { id, name } => {
                let mut s = serializer.serialize_struct_variant(NAME, 3, "Killed", 2)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.end()
            }
            Event::ShutdownStarted { reason, running } => {
                let mut s = serializer.serialize_struct_variant(NAME, 4, "ShutdownStarted", 2)?;
                s.serialize_field("reason", reason)?;
                s.serialize_field("running", running)?;
                s.end()
            }
            Event::Aborted { id, name, before_turn } => {
                let mut s = serializer.serialize_struct_variant(NAME, 5, "Aborted", 3)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.serialize_field("before_turn", before_turn)?;
                s.end()
            }
            Event::Stopped { id, name, runs } => {
                let mut s = serializer.serialize_struct_variant(NAME, 6, "Stopped", 3)?;
                s.serialize_field("id", id)?;
                s.serialize_field("name", name)?;
                s.serialize_field("runs", runs)?;
                s.end()
            }
        }
    }
}
