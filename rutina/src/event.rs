//! [`Event`]: the lifecycle of routines and of the group, for observers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::Id;
use crate::error::SharedError;

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
        name: Arc<str>,
        /// The run (1 for the first).
        attempt: u32,
    },
    /// A run ended.
    Finished {
        /// The routine.
        id: Id,
        /// Its name.
        name: Arc<str>,
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
        name: Arc<str>,
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
        name: Arc<str>,
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
        name: Arc<str>,
    },
    /// The routine left the group for good (it is no longer in
    /// [`processes`](crate::Rutina::processes)).
    Stopped {
        /// The routine.
        id: Id,
        /// Its name.
        name: Arc<str>,
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
}

impl Outcome {
    /// Whether the run returned `Ok`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
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
        name: Arc<str>,
        /// Whether the run that decided it failed (`false`: it returned `Ok` under
        /// `on_done = Shutdown`).
        failed: bool,
    },
    /// A routine reached its restart limit.
    RunLimit {
        /// The routine.
        id: Id,
        /// Its name.
        name: Arc<str>,
    },
    /// A routine exceeded its restart intensity.
    RestartIntensity {
        /// The routine.
        id: Id,
        /// Its name.
        name: Arc<str>,
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
