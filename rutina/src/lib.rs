//! rutina orchestrates the long-lived async routines of a service on tokio — an HTTP
//! server, a metrics server, queue consumers, periodic jobs, the OS-signal listener —
//! as one group with one cancellation scope.
//!
//! Each routine gets a [`Context`] to watch for cancellation, and has a [`Policy`] for
//! when a run returns `Ok` (`on_done`) and another for when it fails (`on_error`): do
//! nothing, restart it, or shut the whole group down; plus a per-run timeout, a restart
//! limit and a [`Backoff`]. [`Rutina::wait`] returns when every routine has ended, with
//! the first error that decided the shutdown.
//!
//! ```
//! use std::time::Duration;
//! use rutina::{Context, Error, Options, Policy, RunOptions, Rutina};
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() {
//!     let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(10)));
//!
//!     // A server: runs until the group shuts down, then drains.
//!     rutina.go_with(
//!         |ctx: Context| async move {
//!             ctx.cancelled().await;
//!             Ok::<_, std::io::Error>(())
//!         },
//!         RunOptions::default().name("server"),
//!     );
//!
//!     // A job restarted every second, at most twice, then the group shuts down.
//!     rutina.go_with(
//!         |ctx: Context| async move {
//!             println!("job run {}", ctx.attempt());
//!             Ok::<_, std::io::Error>(())
//!         },
//!         RunOptions::default()
//!             .name("job")
//!             .on_done(Policy::Restart)
//!             .max_count(2)
//!             .backoff(rutina::Backoff::fixed(Duration::from_secs(1))),
//!     );
//!
//!     match rutina.wait().await {
//!         Err(Error::RunLimit { name, runs, .. }) => assert_eq!((name.as_str(), runs), ("job", 3)),
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! ```
//!
//! # Policies
//!
//! | run ends with \ policy | `DoNothing` | `Restart` | `Shutdown` |
//! |---|---|---|---|
//! | `Ok` | the routine ends | it runs again, at once by default | the group shuts down; `wait` is `Ok` unless an error decided it earlier |
//! | error, panic or timeout | the routine ends; the failure goes to the errors channel | it runs again after a backoff; the failure goes to the errors channel; once `max_count` restarts were made the group shuts down with [`Error::RunLimit`] | the group shuts down; the failure is `wait`'s error if it is the first |
//!
//! Defaults: `on_done = DoNothing`, `on_error = Shutdown`, no timeout, unlimited
//! restarts, [`Backoff::default`] (none after `Ok`, exponential after a failure).
//!
//! # Rules
//!
//! - A group shutdown — a `Shutdown` policy, [`Rutina::shutdown`], the parent token,
//!   an OS signal — cancels every context; nothing restarts and no routine starts.
//!   With [`Options::shutdown_timeout`], routines still running when it passes are
//!   aborted and `wait` returns [`Error::Aborted`]; a second OS signal aborts at once.
//! - [`Rutina::kill`] cancels one routine: it is not restarted and no policy runs.
//! - Every failure ends up in exactly one of two places: `wait`'s error, or the errors
//!   channel ([`Options::errors`]). Every outcome is also an [`Event`] and a `tracing`
//!   record (target `rutina`).
//! - Panics in routines are caught and count as failures.
//!
//! # Testing a routine
//!
//! A routine is an ordinary async fn: call it with [`Context::detached`].
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod context;
mod error;
mod event;
mod group;
mod id;
mod policy;
mod routine;
mod rutina;
mod signal;
mod status;
mod systemd;

#[doc(hidden)]
pub mod __private;

pub use crate::context::Context;
pub use crate::error::{BoxError, Error, PanicError, RoutineError, SharedError, TimeoutError};
pub use crate::event::{Event, Outcome, ShutdownReason};
pub use crate::id::Id;
pub use crate::policy::{Backoff, Policy, RestartIntensity, RunOptions};
pub use crate::routine::Routine;
pub use crate::rutina::{Options, Rutina, ShutdownOrder};
pub use crate::status::{RoutineState, RoutineStatus, ShutdownReport, StopKind, StoppedRoutine};

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use rutina_macros::{main, routine};

/// The cancellation token type of [`Context::token`] and [`Rutina::token`], re-exported
/// from `tokio-util`.
pub use tokio_util::sync::CancellationToken;
