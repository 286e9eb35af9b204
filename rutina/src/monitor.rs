//! [`Monitor`]: a read-only view of a group, for health endpoints and admin pages.

use std::sync::Weak;

use tokio::sync::watch;

use crate::status::RoutineStatus;

/// What a [`Monitor`] reads of its group; implemented by the group, so that this module
/// does not depend on it.
pub(crate) trait View: Send + Sync {
    fn is_ready(&self) -> bool;
    fn is_live(&self) -> bool;
    fn is_shutting_down(&self) -> bool;
    fn watch_shutdown(&self) -> watch::Receiver<bool>;
    fn status(&self) -> Vec<RoutineStatus>;
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

    /// The group of a detached context: a monitor of it reads as not ready, not live,
    /// shutting down, no routines.
    pub(crate) fn no_group() -> Weak<dyn View> {
        Weak::<Nothing>::new()
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

/// The type behind a monitor of no group (`Weak::new` needs a sized type).
struct Nothing;

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
