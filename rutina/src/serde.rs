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

/// A struct's fields, each under its name; their count is the list's.
macro_rules! serialize_struct {
    ($serializer:expr, $name:literal { $($field:literal: $value:expr),+ $(,)? }) => {{
        let mut s = $serializer.serialize_struct($name, [$($field),+].len())?;
        $(s.serialize_field($field, $value)?;)+
        s.end()
    }};
}

/// A struct variant's fields, each under its name; their count is the list's.
macro_rules! serialize_variant {
    ($serializer:expr, $name:expr, $index:literal, $variant:literal { $($field:literal: $value:expr),+ $(,)? }) => {{
        let mut s = $serializer.serialize_struct_variant($name, $index, $variant, [$($field),+].len())?;
        $(s.serialize_field($field, $value)?;)+
        s.end()
    }};
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.get())
    }
}

impl Serialize for RoutineStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_struct!(serializer, "RoutineStatus" {
            "id": &self.id,
            "name": &self.name,
            "state": &self.state,
            "attempt": &self.attempt,
            "restarts": &self.restarts,
            "last_error": &self.last_error.as_deref().map(Displayed),
            "consecutive_failures": &self.consecutive_failures,
            "started_ms_ago": &ms_ago(self.started_at),
            "run_started_ms_ago": &ms_ago(self.run_started_at),
        })
    }
}

impl Serialize for RoutineState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "RoutineState";
        match *self {
            RoutineState::Running => serializer.serialize_unit_variant(NAME, 0, "Running"),
            RoutineState::BackingOff { until } => {
                serialize_variant!(serializer, NAME, 1, "BackingOff" { "until_ms_from_now": &ms_from_now(until) })
            }
            RoutineState::Scheduled { until } => {
                serialize_variant!(serializer, NAME, 2, "Scheduled" { "until_ms_from_now": &ms_from_now(until) })
            }
            RoutineState::Standby => serializer.serialize_unit_variant(NAME, 3, "Standby"),
            RoutineState::Stopping => serializer.serialize_unit_variant(NAME, 4, "Stopping"),
        }
    }
}

impl Serialize for ShutdownReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_struct!(serializer, "ShutdownReport" {
            "reason": &self.reason,
            "began_ms_ago": &self.began_at.map(ms_ago),
            "took_ms": &millis(self.took),
            "routines": &self.routines,
        })
    }
}

impl Serialize for StoppedRoutine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_struct!(serializer, "StoppedRoutine" {
            "id": &self.id,
            "name": &self.name,
            "how": &self.how,
            "runs": &self.runs,
            "took_ms": &millis(self.took),
        })
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
        match self {
            Outcome::Ok => serializer.serialize_unit_variant(NAME, 0, "Ok"),
            Outcome::Failed(error) => serializer.serialize_newtype_variant(NAME, 1, "Failed", &Displayed(&**error)),
            Outcome::Panicked(message) => serializer.serialize_newtype_variant(NAME, 2, "Panicked", message),
            Outcome::TimedOut(timeout) => {
                serialize_variant!(serializer, NAME, 3, "TimedOut" { "timeout_ms": &millis(*timeout) })
            }
            Outcome::Hung(heartbeat) => {
                serialize_variant!(serializer, NAME, 4, "Hung" { "heartbeat_ms": &millis(*heartbeat) })
            }
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
                serialize_variant!(serializer, NAME, 4, "Routine" { "id": id, "name": name, "failed": failed })
            }
            ShutdownReason::RunLimit { id, name } => {
                serialize_variant!(serializer, NAME, 5, "RunLimit" { "id": id, "name": name })
            }
            ShutdownReason::RestartIntensity { id, name } => {
                serialize_variant!(serializer, NAME, 6, "RestartIntensity" { "id": id, "name": name })
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
                serialize_variant!(serializer, NAME, 0, "Started" { "id": id, "name": name, "attempt": attempt })
            }
            Event::Finished { id, name, attempt, outcome } => serialize_variant!(serializer, NAME, 1, "Finished" {
                "id": id,
                "name": name,
                "attempt": attempt,
                "outcome": outcome,
            }),
            Event::Restarting { id, name, attempt, delay } => serialize_variant!(serializer, NAME, 2, "Restarting" {
                "id": id,
                "name": name,
                "attempt": attempt,
                "delay_ms": &millis(*delay),
            }),
            Event::Killed { id, name } => serialize_variant!(serializer, NAME, 3, "Killed" { "id": id, "name": name }),
            Event::ShutdownStarted { reason, running } => {
                serialize_variant!(serializer, NAME, 4, "ShutdownStarted" { "reason": reason, "running": running })
            }
            Event::Aborted { id, name, before_turn } => serialize_variant!(serializer, NAME, 5, "Aborted" {
                "id": id,
                "name": name,
                "before_turn": before_turn,
            }),
            Event::Stopped { id, name, runs } => {
                serialize_variant!(serializer, NAME, 6, "Stopped" { "id": id, "name": name, "runs": runs })
            }
        }
    }
}
