//! [`Event`]: the lifecycle of routines and of the group, for observers; the reasons
//! behind it: [`ShutdownReason`](crate::ShutdownReason) for a group, [`CancelReason`] for a run.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::Id;
use crate::error::{HungError, PanicError, SharedError, TimeoutError};

/// A lifecycle event, as received from [`Rutina::subscribe`](crate::Rutina::subscribe).
///
/// Every event is also logged with [`tracing`] under the target `rutina`, with the
/// fields `id`, `name` and `attempt` where they apply. Events are only built and sent
/// while someone has subscribed.
///
/// A routine that was started ends with exactly one [`Event::Stopped`].
///
/// ```
/// use rutina::{Event, Outcome, Policy, RunOptions, Rutina};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// let mut events = rutina.subscribe(); // before `go`, to see every event
/// rutina.go_with(
///     |_ctx| async { Ok::<_, std::io::Error>(()) },
///     RunOptions::default().name("job").on_done(Policy::Restart).max_count(1),
/// );
/// let _ = rutina.wait().await; // `RunLimit` after two runs
///
/// let mut runs = 0;
/// while let Ok(event) = events.try_recv() {
///     match event {
///         Event::Finished { outcome: Outcome::Ok, .. } => runs += 1,
///         Event::Stopped { name, runs, .. } => assert_eq!((&*name, runs), ("job", 2)),
///         _ => {} // `Event` is `#[non_exhaustive]`
///     }
/// }
/// assert_eq!(runs, 2);
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A run began.
    Started {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The run (1 for the first).
        attempt: u32,
    },
    /// A run ended.
    Finished {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The run (1 for the first).
        attempt: u32,
        /// How it ended.
        outcome: Outcome,
    },
    /// The routine will run again after `delay`.
    Restarting {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The attempt about to start.
        attempt: u32,
        /// The backoff before it starts.
        delay: Duration,
    },
    /// [`Rutina::kill`](crate::Rutina::kill) cancelled the routine.
    Killed {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
    },
    /// The group began shutting down.
    ShutdownStarted {
        /// Why.
        reason: ShutdownReason,
        /// How many routines were alive then.
        running: usize,
    },
    /// The routine was still running when the grace period ran out (or a second OS
    /// signal came) and was aborted.
    Aborted {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// It was aborted while waiting for its turn to stop in
        /// [`ShutdownOrder::ReverseStart`](crate::ShutdownOrder::ReverseStart): it was never
        /// asked to stop (a second OS signal came first).
        before_turn: bool,
    },
    /// The routine left the group for good (it is no longer in
    /// [`processes`](crate::Rutina::processes)).
    Stopped {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// How many runs it made.
        runs: u32,
    },
}

/// How a run ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// It returned `Ok(())`.
    Ok,
    /// It returned an error.
    Failed(SharedError),
    /// It panicked, with this message.
    Panicked(String),
    /// It exceeded its timeout.
    TimedOut(Duration),
    /// It went silent for longer than its heartbeat period.
    Hung(Duration),
}

impl Outcome {
    /// Whether the run returned `Ok`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }

    /// The failure, as the errors channel and [`Error::RunLimit`](crate::Error::RunLimit)
    /// carry it; `None` for `Ok`.
    pub(crate) fn failure(&self) -> Option<SharedError> {
        match self {
            Outcome::Ok => None,
            Outcome::Failed(error) => Some(error.clone()),
            Outcome::Panicked(message) => Some(Arc::new(PanicError { message: message.clone() })),
            Outcome::TimedOut(timeout) => Some(Arc::new(TimeoutError { timeout: *timeout })),
            Outcome::Hung(heartbeat) => Some(Arc::new(HungError { heartbeat: *heartbeat })),
        }
    }
}

/// Why a group shut down.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// [`Rutina::shutdown`](crate::Rutina::shutdown) was called.
    Requested,
    /// An OS signal (SIGINT or SIGTERM; Ctrl-C off unix) arrived.
    Signal,
    /// The group's token was cancelled from outside, usually through
    /// [`Options::parent_token`](crate::Options::parent_token).
    Cancelled,
    /// The last [`Rutina`](crate::Rutina) handle was dropped without waiting.
    Dropped,
    /// A routine's policy said [`Shutdown`](crate::Policy::Shutdown).
    Routine {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// Whether the run that decided it failed (`false`: it returned `Ok` under
        /// `on_done = Shutdown`).
        failed: bool,
    },
    /// A routine reached its restart limit.
    RunLimit {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
    },
    /// A routine exceeded its restart intensity.
    RestartIntensity {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
    },
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownReason::Requested => f.write_str("shutdown requested"),
            ShutdownReason::Signal => f.write_str("OS signal"),
            ShutdownReason::Cancelled => f.write_str("the group's token was cancelled"),
            ShutdownReason::Dropped => f.write_str("the last handle was dropped"),
            ShutdownReason::Routine { id, name, failed: true } => write!(f, "routine `{name}` ({id}) failed"),
            ShutdownReason::Routine { id, name, failed: false } => write!(f, "routine `{name}` ({id}) finished"),
            ShutdownReason::RunLimit { id, name } => write!(f, "routine `{name}` ({id}) reached its restart limit"),
            ShutdownReason::RestartIntensity { id, name } => {
                write!(f, "routine `{name}` ({id}) exceeded its restart intensity")
            }
        }
    }
}

/// Why a run was asked to stop: [`Context::cancel_reason`](crate::Context::cancel_reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelReason {
    /// The group is shutting down (a policy, [`Rutina::shutdown`](crate::Rutina::shutdown),
    /// an OS signal, the parent token, the last handle dropped), or a detached context's
    /// token was cancelled.
    Shutdown,
    /// The routine was [killed](crate::Rutina::kill).
    Killed,
    /// The run exceeded its [timeout](crate::RunOptions::timeout).
    TimedOut,
    /// The run went silent for longer than its heartbeat period.
    Hung,
    /// An operator restarted the routine.
    Restarted,
    /// The group reloaded (SIGHUP) and the routine is marked for reload.
    Reload,
    /// The routine's singleton lease was lost.
    LeaseLost,
}

impl CancelReason {
    const ALL: [CancelReason; 7] = [
        CancelReason::Shutdown,
        CancelReason::Killed,
        CancelReason::TimedOut,
        CancelReason::Hung,
        CancelReason::Restarted,
        CancelReason::Reload,
        CancelReason::LeaseLost,
    ];

    /// A non-zero code, for `Member`'s packed record.
    pub(crate) fn code(self) -> u8 {
        Self::ALL.iter().position(|reason| *reason == self).map_or(0, |i| i as u8 + 1)
    }

    pub(crate) fn from_code(code: u8) -> Option<CancelReason> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }
}

impl std::fmt::Display for CancelReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CancelReason::Shutdown => "the group is shutting down",
            CancelReason::Killed => "the routine was killed",
            CancelReason::TimedOut => "the run timed out",
            CancelReason::Hung => "the run missed its heartbeat",
            CancelReason::Restarted => "the routine is being restarted",
            CancelReason::Reload => "the group is reloading",
            CancelReason::LeaseLost => "the routine's lease was lost",
        })
    }
}
