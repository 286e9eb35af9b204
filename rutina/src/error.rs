//! [`Error`], what [`Rutina::wait`](crate::Rutina::wait) and [`Rutina::kill`](crate::Rutina::kill)
//! return, and [`RoutineError`], what the errors channel carries.

use std::error::Error as StdError;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use crate::Id;

/// A boxed error, what a routine's error type is converted into.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A shared error: failures are reported to several places (events, logs, channel).
pub type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// Why a group ended badly, or why a call was refused.
///
/// `Display` includes the message of the underlying failure, so printing an `Error`
/// alone tells the whole story; [`source`](StdError::source) still returns it for
/// error-chain printers.
///
/// ```
/// use rutina::{Error, Rutina};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// rutina.go(|_ctx| async { Err::<(), _>(std::io::Error::other("disk full")) });
/// match rutina.wait().await {
///     Err(Error::Routine { name, source, .. }) => {
///         assert_eq!(name, "routine-1");
///         assert_eq!(source.to_string(), "disk full");
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// A routine returned an error and its `on_error` policy was
    /// [`Shutdown`](crate::Policy::Shutdown).
    Routine {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The error it returned.
        source: SharedError,
    },
    /// A routine panicked and its `on_error` policy was [`Shutdown`](crate::Policy::Shutdown).
    /// Panics are caught: they never take the process down.
    Panicked {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The panic's message (`"Box<dyn Any>"` when the payload was not a string).
        message: String,
    },
    /// A run exceeded its [timeout](crate::RunOptions::timeout) and the routine's
    /// `on_error` policy was [`Shutdown`](crate::Policy::Shutdown).
    TimedOut {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// A run went silent for longer than its [heartbeat](crate::RunOptions::heartbeat)
    /// period, and the routine's `on_error` policy was [`Shutdown`](crate::Policy::Shutdown).
    Hung {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The heartbeat period it missed.
        heartbeat: Duration,
    },
    /// A restart was due but the routine had used up its
    /// [`max_count`](crate::RunOptions::max_count) restarts.
    RunLimit {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// How many times it ran (`max_count + 1`).
        runs: u32,
        /// The failure of its last run; `None` when that run returned `Ok`.
        last_error: Option<SharedError>,
    },
    /// A restart was due but the routine had already been restarted `restarts` times within
    /// the last `within` ([`RunOptions::restart_intensity`](crate::RunOptions::restart_intensity)).
    RestartIntensity {
        /// The routine.
        id: Id,
        /// Its name.
        name: String,
        /// The restarts the window allows (all used up).
        restarts: u32,
        /// The window.
        within: Duration,
        /// The failure of its last run; `None` when that run returned `Ok`.
        last_error: Option<SharedError>,
    },
    /// The shutdown grace period ran out (or a second OS signal came) and the
    /// routines in `stuck` were aborted.
    Aborted {
        /// The routines that were still running, ascending by id.
        stuck: Vec<(Id, String)>,
        /// The error that had started the shutdown, if any (also [`source`](StdError::source)).
        cause: Option<Box<Error>>,
    },
    /// [`Rutina::kill`](crate::Rutina::kill) (or [`restart`](crate::Rutina::restart)) was
    /// given an id that is not alive.
    NotFound(Id),
    /// [`Rutina::restart`](crate::Rutina::restart) or [`Rutina::reload`](crate::Rutina::reload)
    /// was called while the group is shutting down: nothing restarts then (rule 6).
    ShuttingDown,
    /// [`Cron::parse`](crate::Cron) was given an expression it cannot read.
    InvalidCron {
        /// The expression.
        expression: String,
        /// Why it cannot be read.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Routine { id, name, source } => write!(f, "routine `{name}` ({id}) failed: {source}"),
            Error::Panicked { id, name, message } => write!(f, "routine `{name}` ({id}) panicked: {message}"),
            Error::TimedOut { id, name, timeout } => {
                write!(f, "routine `{name}` ({id}) timed out after {timeout:?}")
            }
            Error::RunLimit { id, name, runs, last_error } => {
                write!(f, "routine `{name}` ({id}) reached its restart limit after {runs} runs")?;
                write_last_error(f, last_error)
            }
            Error::RestartIntensity { id, name, restarts, within, last_error } => {
                write!(
                    f,
                    "routine `{name}` ({id}) exceeded its restart intensity of {restarts} restarts within {within:?}"
                )?;
                write_last_error(f, last_error)
            }
            Error::Aborted { stuck, cause } => {
                write!(f, "shutdown did not complete; aborted {} stuck routine(s): ", stuck.len())?;
                for (i, (id, name)) in stuck.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}` ({id})")?;
                }
                match cause {
                    Some(cause) => write!(f, "; the shutdown was caused by: {cause}"),
                    None => Ok(()),
                }
            }
            Error::Hung { id, name, heartbeat } => {
                write!(f, "routine `{name}` ({id}) hung: no heartbeat for {heartbeat:?}")
            }
            Error::NotFound(id) => write!(f, "no routine {id} is alive"),
            Error::ShuttingDown => f.write_str("the group is shutting down: nothing restarts"),
            Error::InvalidCron { expression, reason } => write!(f, "invalid cron expression `{expression}`: {reason}"),
        }
    }
}

/// `; last error: <message>` when there is one.
fn write_last_error(f: &mut fmt::Formatter<'_>, last_error: &Option<SharedError>) -> fmt::Result {
    match last_error {
        Some(e) => write!(f, "; last error: {e}"),
        None => Ok(()),
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Routine { source, .. } => Some(&**source as &(dyn StdError + 'static)),
            Error::RunLimit { last_error: Some(e), .. } | Error::RestartIntensity { last_error: Some(e), .. } => {
                Some(&**e as &(dyn StdError + 'static))
            }
            Error::Aborted { cause: Some(cause), .. } => Some(&**cause as &(dyn StdError + 'static)),
            _ => None,
        }
    }
}

/// A failure that did not decide the group's fate, as sent on the errors channel
/// ([`Options::errors`](crate::Options::errors)).
///
/// Its `Display` names the routine and includes the failure's message.
///
/// ```
/// use rutina::{Context, Options, Policy, RunOptions, Rutina};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (errors, mut failures) = tokio::sync::mpsc::unbounded_channel();
/// let rutina = Rutina::new(Options::default().errors(errors));
/// rutina.go_with(
///     |_ctx: Context| async { Err::<(), _>("feed unreachable") },
///     RunOptions::default().name("feed").on_error(Policy::DoNothing),
/// );
/// rutina.wait().await.unwrap(); // `DoNothing`: the failure decided nothing
///
/// let failure = failures.recv().await.unwrap();
/// assert_eq!((failure.name.as_str(), failure.attempt), ("feed", 1));
/// assert_eq!(failure.to_string(), "routine `feed` (#1) attempt 1 failed: feed unreachable");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RoutineError {
    /// The routine.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// The run that failed (1 for the first).
    pub attempt: u32,
    /// The failure: the routine's own error, a [`PanicError`], a [`TimeoutError`] or a
    /// [`HungError`].
    pub error: SharedError,
}

impl fmt::Display for RoutineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "routine `{}` ({}) attempt {} failed: {}", self.name, self.id, self.attempt, self.error)
    }
}

impl StdError for RoutineError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.error as &(dyn StdError + 'static))
    }
}

/// The failure of a run that panicked, as found in [`RoutineError::error`] and
/// [`Error::RunLimit::last_error`](Error::RunLimit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanicError {
    /// The panic's message.
    pub message: String,
}

impl fmt::Display for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.message)
    }
}

impl StdError for PanicError {}

/// The failure of a run that went silent for longer than its heartbeat period, as found
/// in [`RoutineError::error`] and [`Error::RunLimit::last_error`](Error::RunLimit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HungError {
    /// The heartbeat period it missed.
    pub heartbeat: Duration,
}

impl fmt::Display for HungError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hung: no heartbeat for {:?}", self.heartbeat)
    }
}

impl StdError for HungError {}

/// The failure of a run that exceeded its timeout, as found in [`RoutineError::error`]
/// and [`Error::RunLimit::last_error`](Error::RunLimit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutError {
    /// The timeout that passed.
    pub timeout: Duration,
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.timeout)
    }
}

impl StdError for TimeoutError {}

/// An error and its chain of sources, as `rutina::main!` prints it before exiting with 1:
/// `error: <message>`, then one `caused by: <message>` line per source whose message is
/// not already part of what was printed (rutina's errors include their source's message,
/// some libraries' their whole chain).
///
/// A `Display` or `source` that panics ends the report instead of the program.
///
/// ```
/// use rutina::ErrorReport;
///
/// let error = std::io::Error::other("disk full");
/// assert_eq!(ErrorReport::new(&error).to_string(), "error: disk full");
/// ```
#[derive(Clone, Copy)]
pub struct ErrorReport<'a> {
    error: &'a (dyn StdError + 'static),
}

impl<'a> ErrorReport<'a> {
    /// The report of `error`.
    pub fn new(error: &'a (dyn StdError + 'static)) -> ErrorReport<'a> {
        ErrorReport { error }
    }
}

impl fmt::Display for ErrorReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What was said so far: a cause that a message above already told (an error that
        // includes its whole chain in its own message) is not told twice.
        let mut told = describe(self.error);
        write!(f, "error: {told}")?;
        let mut source = source_of(self.error);
        while let Some(cause) = source {
            let message = describe(cause);
            if !told.contains(&message) {
                write!(f, "\n  caused by: {message}")?;
                told.push('\n');
                told.push_str(&message);
            }
            source = source_of(cause);
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An error's message; a `Display` that panics cannot take the orchestrator down.
pub(crate) fn describe(error: &(dyn StdError + 'static)) -> String {
    catch_unwind(AssertUnwindSafe(|| error.to_string()))
        .unwrap_or_else(|_| "<the error's Display implementation panicked>".to_owned())
}

/// An error's source; a `source` that panics ends the chain.
fn source_of<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    catch_unwind(AssertUnwindSafe(|| error.source())).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and a source.
    #[derive(Debug)]
    struct Chained(&'static str, Option<Box<Chained>>);

    impl fmt::Display for Chained {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Chained {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|error| error as _)
        }
    }

    fn chain(messages: &[&'static str]) -> Chained {
        let (first, rest) = messages.split_first().expect("a message");
        Chained(first, (!rest.is_empty()).then(|| Box::new(chain(rest))))
    }

    #[test]
    fn a_report_tells_each_cause_once() {
        let distinct = chain(&["cannot start", "cannot connect", "refused"]);
        assert_eq!(
            ErrorReport::new(&distinct).to_string(),
            "error: cannot start\n  caused by: cannot connect\n  caused by: refused"
        );
        // The outer message includes its whole chain (as a library may render it).
        let included = chain(&["cannot connect to db: error connecting: refused", "error connecting", "refused"]);
        assert_eq!(ErrorReport::new(&included).to_string(), "error: cannot connect to db: error connecting: refused");
        // A cause already told by one above it, not only by the one just before.
        let told = chain(&["lease: refused", "connecting", "refused"]);
        assert_eq!(ErrorReport::new(&told).to_string(), "error: lease: refused\n  caused by: connecting");
    }
}
