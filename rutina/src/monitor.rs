//! [`Monitor`]: a read-only view of a group, for health endpoints and admin pages; and
//! [`Operator`], which also acts on it, for admin endpoints. Neither keeps its group alive.

use std::sync::Weak;

use tokio::sync::watch;

use crate::status::RoutineStatus;
use crate::{Error, Id};

/// What a [`Monitor`] reads of its group; implemented by the group, so that this module
/// does not depend on it.
pub(crate) trait View: Send + Sync {
    fn is_ready(&self) -> bool;
    fn is_live(&self) -> bool;
    fn is_shutting_down(&self) -> bool;
    fn watch_shutdown(&self) -> watch::Receiver<bool>;
    fn status(&self) -> Vec<RoutineStatus>;
}

/// What an [`Operator`] does to its group; implemented by the group.
pub(crate) trait Control: View {
    fn restart(&self, id: Id) -> Result<(), Error>;
    fn reload(&self) -> Result<usize, Error>;
    fn kill(&self, id: Id) -> Result<(), Error>;
    fn shutdown(self: std::sync::Arc<Self>);
}

/// A read-only view of a group that never keeps it alive: for the health endpoint of a
/// routine, which must not hold a [`Rutina`](crate::Rutina) handle (the group would then
/// outlive every other handle).
///
/// Get one from [`Rutina::monitor`](crate::Rutina::monitor) or
/// [`Context::monitor`](crate::Context::monitor). Once the group is over, and for a
/// [detached](crate::Context::detached) context, a monitor reads as a group that is not
/// ready, not live and shutting down, with no routines.
///
/// ```
/// use rutina::{Context, Rutina};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// let monitor = rutina.monitor();
/// rutina.go(|ctx: Context| async move {
///     ctx.cancelled().await;
///     Ok::<_, std::io::Error>(())
/// });
/// tokio::task::yield_now().await;
/// assert!(monitor.is_ready() && monitor.is_live() && !monitor.is_shutting_down());
/// assert_eq!(monitor.status().len(), 1);
///
/// rutina.shutdown();
/// rutina.wait().await.unwrap();
/// drop(rutina);
/// assert!(!monitor.is_ready() && monitor.is_shutting_down() && monitor.status().is_empty());
/// # }
/// ```
#[derive(Clone)]
pub struct Monitor {
    group: Weak<dyn View>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("shutting_down", &self.is_shutting_down()).finish_non_exhaustive()
    }
}

impl Monitor {
    pub(crate) fn new(group: Weak<dyn View>) -> Monitor {
        Monitor { group }
    }

    /// Whether the group is ready: see [`Rutina::is_ready`](crate::Rutina::is_ready).
    pub fn is_ready(&self) -> bool {
        self.group.upgrade().is_some_and(|group| group.is_ready())
    }

    /// Whether the group is live: see [`Rutina::is_live`](crate::Rutina::is_live).
    pub fn is_live(&self) -> bool {
        self.group.upgrade().is_some_and(|group| group.is_live())
    }

    /// Whether the group is shutting down (or over).
    pub fn is_shutting_down(&self) -> bool {
        self.group.upgrade().is_none_or(|group| group.is_shutting_down())
    }

    /// A watch channel that turns `true` when the group begins shutting down: see
    /// [`Rutina::watch_shutdown`](crate::Rutina::watch_shutdown). For a group that is
    /// gone, a channel that is already `true`.
    pub fn watch_shutdown(&self) -> watch::Receiver<bool> {
        match self.group.upgrade() {
            Some(group) => group.watch_shutdown(),
            None => watch::channel(true).1,
        }
    }

    /// A snapshot of every alive routine: see [`Rutina::status`](crate::Rutina::status).
    pub fn status(&self) -> Vec<RoutineStatus> {
        self.group.upgrade().map(|group| group.status()).unwrap_or_default()
    }
}

/// A handle for the admin endpoints a routine serves: it restarts, reloads, kills and
/// shuts down as [`Rutina`](crate::Rutina) does, and reads what a [`Monitor`] reads, but
/// never keeps the group alive — a routine that held a `Rutina` would keep its own group
/// alive after every other handle was dropped.
///
/// Get one from [`Context::operator`](crate::Context::operator) (in the routine that serves
/// the endpoint) or [`Rutina::operator`](crate::Rutina::operator). Once the group is over,
/// and for a [detached](crate::Context::detached) context, there is nothing to act on:
/// [`restart`](Operator::restart) and [`kill`](Operator::kill) return
/// [`Error::NotFound`], [`reload`](Operator::reload) [`Error::ShuttingDown`], and
/// [`shutdown`](Operator::shutdown) does nothing.
///
/// ```
/// use rutina::{Context, Error, Rutina};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// let worker = rutina.go(|ctx: Context| async move {
///     ctx.cancelled().await;
///     Ok::<_, std::io::Error>(())
/// });
/// // An admin routine: restarts the worker, then shuts the whole group down.
/// rutina.go(move |ctx: Context| async move {
///     let operator = ctx.operator();
///     operator.restart(worker)?;
///     operator.shutdown();
///     Ok::<_, Error>(())
/// });
/// rutina.wait().await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct Operator {
    group: Weak<dyn Control>,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator").field("shutting_down", &self.monitor().is_shutting_down()).finish_non_exhaustive()
    }
}

impl Operator {
    pub(crate) fn new(group: Weak<dyn Control>) -> Operator {
        Operator { group }
    }

    /// The group of a detached context: nothing to read or act on.
    pub(crate) fn no_group() -> Weak<dyn Control> {
        Weak::<Nothing>::new()
    }

    /// Restarts routine `id` now: see [`Rutina::restart`](crate::Rutina::restart).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no such routine is alive (or the group is over).
    pub fn restart(&self, id: Id) -> Result<(), Error> {
        match self.group.upgrade() {
            Some(group) => group.restart(id),
            None => Err(Error::NotFound(id)),
        }
    }

    /// Restarts the routines marked [`reload`](crate::RunOptions::reload): see
    /// [`Rutina::reload`](crate::Rutina::reload). Returns how many were restarted.
    ///
    /// # Errors
    ///
    /// [`Error::ShuttingDown`] during a shutdown (or once the group is over).
    pub fn reload(&self) -> Result<usize, Error> {
        match self.group.upgrade() {
            Some(group) => group.reload(),
            None => Err(Error::ShuttingDown),
        }
    }

    /// Kills routine `id`: see [`Rutina::kill`](crate::Rutina::kill).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no such routine is alive (or the group is over).
    pub fn kill(&self, id: Id) -> Result<(), Error> {
        match self.group.upgrade() {
            Some(group) => group.kill(id),
            None => Err(Error::NotFound(id)),
        }
    }

    /// Shuts the group down, as [`Rutina::shutdown`](crate::Rutina::shutdown) does
    /// (reason [`ShutdownReason::Requested`](crate::ShutdownReason::Requested)).
    pub fn shutdown(&self) {
        if let Some(group) = self.group.upgrade() {
            group.shutdown();
        }
    }

    /// A read-only view of the same group.
    pub fn monitor(&self) -> Monitor {
        Monitor::new(self.group.clone())
    }
}

/// The type behind a monitor or an operator of no group (`Weak::new` needs a sized type).
struct Nothing;

impl Control for Nothing {
    fn restart(&self, id: Id) -> Result<(), Error> {
        Err(Error::NotFound(id))
    }
    fn reload(&self) -> Result<usize, Error> {
        Err(Error::ShuttingDown)
    }
    fn kill(&self, id: Id) -> Result<(), Error> {
        Err(Error::NotFound(id))
    }
    fn shutdown(self: std::sync::Arc<Self>) {}
}

impl View for Nothing {
    fn is_ready(&self) -> bool {
        false
    }
    fn is_live(&self) -> bool {
        false
    }
    fn is_shutting_down(&self) -> bool {
        true
    }
    fn watch_shutdown(&self) -> watch::Receiver<bool> {
        watch::channel(true).1
    }
    fn status(&self) -> Vec<RoutineStatus> {
        Vec::new()
    }
}
