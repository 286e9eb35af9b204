//! Driving a group to its end: `wait` (rule 9), which carries the shutdown plan out and
//! tells systemd how the group is doing, and the reaper, which does the same for a group
//! whose last handle was dropped. Also the watcher of the parent token.

use std::pin::pin;
use std::sync::Arc;
use std::task::Waker;

use tokio::time::Instant;

use super::{Group, Phase};
use crate::Error;
use crate::event::ShutdownReason;
use crate::member::Member;
use crate::metrics;
use crate::sync::lock;
use crate::systemd::{Due, Notifier};

/// What the driver does next.
enum Next {
    /// The group is over.
    Over,
    /// Wait for a change, or until the given time.
    Wait { shutting_down: bool, until: Option<Instant> },
}

impl Group {
    /// Waits until no member is alive, carrying out the shutdown (order, grace periods)
    /// and the systemd notifications; then ends the group.
    pub(crate) async fn wait(self: &Arc<Self>) -> Result<(), Error> {
        self.install_wanted_listener();
        let mut notifier = Notifier::from_env();
        if notifier.wants_ready() {
            // systemd is told when the group is ready.
            self.count_unsettled();
        }
        self.drive(Some(&mut notifier), true).await;
        self.finish().await;
        lock(&self.core).result()
    }

    /// Carries the group to its end. `close_when_empty`: a running group with no member
    /// ends (`wait`), rather than waiting for members to come.
    async fn drive(self: &Arc<Self>, mut notifier: Option<&mut Notifier>, close_when_empty: bool) {
        // The members that left during the shutdown, taken from the group to be let go
        // of here (see `RELEASE_BATCH`); its room goes back to the group each time.
        let mut leaving = Vec::new();
        loop {
            let changed = self.changed.notified();
            let mut changed = pin!(changed);
            changed.as_mut().enable();
            let became_ready = self.health.became_ready.notified();
            let mut became_ready = pin!(became_ready);
            became_ready.as_mut().enable();
            let next = self.next(close_when_empty, &mut leaving);
            // Not under the group's lock, which the routines that still end take.
            leaving.clear();
            let (shutting_down, until) = match next {
                Next::Over => return,
                Next::Wait { shutting_down, until } => (shutting_down, until),
            };
            let wants_ready = match notifier.as_deref_mut() {
                Some(notifier) if shutting_down => {
                    notifier.stopping();
                    false
                }
                Some(notifier) => {
                    notifier.reloads(self.reloads.load(std::sync::atomic::Ordering::Acquire));
                    if notifier.wants_ready() && self.health.is_ready() && self.health.is_reloaded() {
                        notifier.ready();
                    }
                    notifier.wants_ready()
                }
                None => false,
            };
            let mut due = None;
            {
                let next_due = async {
                    match notifier.as_deref_mut() {
                        Some(notifier) => notifier.due().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = changed => {}
                    _ = became_ready, if wants_ready => {}
                    _ = self.token.cancelled(), if !shutting_down => {}
                    _ = sleep_until(until), if until.is_some() => {}
                    next_due = next_due => due = Some(next_due),
                }
            }
            if let (Some(due), Some(notifier)) = (due, notifier.as_deref_mut()) {
                match due {
                    Due::Watchdog => notifier.watchdog(self.health.is_live()),
                    Due::Extend => notifier.extend(),
                }
            }
        }
    }

    /// Advances the shutdown as far as it goes now; what to wait for next. The members
    /// that left since the last time are swapped into `leaving` (empty) for the caller
    /// to let go of.
    fn next(self: &Arc<Self>, close_when_empty: bool, leaving: &mut Vec<Arc<Member>>) -> Next {
        // Notices a token cancelled from outside.
        let _ = self.is_shutting_down();
        // The members whose contexts the plan cancelled all at once, for the gauge.
        let mut cancelled = Vec::new();
        let mut step = {
            let mut guard = lock(&self.core);
            let core = &mut *guard;
            std::mem::swap(&mut core.leaving, leaving);
            if core.end_if_empty(close_when_empty) {
                self.ended(core);
                let shutdown_took = core.shutdown_took();
                drop(guard);
                self.observers.group_over(shutdown_took);
                return Next::Over;
            }
            match &mut core.phase {
                Phase::Over { .. } => return Next::Over,
                Phase::Running => return Next::Wait { shutting_down: false, until: None },
                Phase::ShuttingDown(shutdown) => {
                    let step = shutdown.plan.advance(&core.members, core.graced, Instant::now());
                    if step.began && metrics::RECORDED {
                        cancelled.extend(core.members.values().cloned());
                    }
                    step
                }
            }
        };
        // In the order they were started: their tasks wake, and end, in the order they
        // are laid out in memory.
        step.waiters.drain(..).for_each(Waker::wake);
        cancelled.iter().for_each(|member| member.stopping());
        for member in &step.stopping {
            member.stopping();
            tracing::info!(target: "rutina", id = member.id.get(), name = %member.name(), "stopping routine (reverse start order)");
        }
        self.abort(step.due, "routine did not stop in time");
        Next::Wait { shutting_down: true, until: step.next }
    }

    /// Ends the group once it is over: its token is cancelled, the errors channel let go,
    /// and its own tasks are gone.
    async fn finish(&self) {
        self.shutdown_watch.send_replace(true);
        self.token.cancel();
        self.observers.close();
        let (listener, parent_watch, reaper) = {
            let mut tasks = lock(&self.tasks);
            let listener = std::mem::replace(&mut tasks.listener, super::signals::Listener::Done);
            (listener, tasks.parent_watch.take(), tasks.reaper.take())
        };
        // Each ends as soon as it sees the group over (or the token cancelled).
        if let super::signals::Listener::Running(handle) = listener {
            let _ = handle.await;
        }
        for handle in [parent_watch, reaper].into_iter().flatten() {
            let _ = handle.await;
        }
    }

    /// Spawns, once, the reaper: it carries the shutdown out in the background (the delay,
    /// the order, the grace periods) for a group whose last handle was dropped, or whose
    /// shutdown has a delay to wait out. `false` outside a runtime.
    pub(super) fn spawn_reaper(self: &Arc<Self>) -> bool {
        let mut tasks = lock(&self.tasks);
        if tasks.reaper.is_some() {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return false };
        let group = self.clone();
        tasks.reaper = Some(runtime.spawn(async move {
            group.drive(None, false).await;
            group.observers.close();
        }));
        true
    }

    /// Spawns, once, the task that begins the shutdown when the group's token is
    /// cancelled from outside (through the parent token, or by whoever it was handed to):
    /// the members are not its children, the shutdown cancels them.
    pub(super) fn watch_token(self: &Arc<Self>) {
        if !self.token_shared.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let mut tasks = lock(&self.tasks);
        if tasks.parent_watch.is_some() || self.token.is_cancelled() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let group = self.clone();
            tasks.parent_watch = Some(runtime.spawn(async move {
                group.token.cancelled().await;
                group.begin_shutdown(ShutdownReason::Cancelled);
            }));
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
