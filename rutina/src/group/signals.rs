//! What OS signals do to a group: the first SIGINT/SIGTERM begins a graceful shutdown,
//! the second aborts what is still running (rule 7), a third ends a `Main` program at
//! once; SIGHUP reloads the routines marked for it. The listener is a task of the
//! group's own, ending when the group is over.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::Group;
use crate::event::ShutdownReason;
use crate::signal::{Signal, Signals};
use crate::sync::lock;

/// The group's signal listener.
pub(super) enum Listener {
    /// Not asked for.
    Off,
    /// Asked for outside a runtime: installed at the next `go` or `wait`.
    Wanted,
    Running(JoinHandle<()>),
    /// Ended with the group, or could not be installed.
    Done,
}

impl Group {
    pub(crate) fn listen_os_signals(self: &Arc<Self>) {
        let mut tasks = lock(&self.tasks);
        if !matches!(tasks.listener, Listener::Off | Listener::Wanted) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tasks.listener = Listener::Wanted;
            self.listener_wanted.store(true, std::sync::atomic::Ordering::Release);
            return;
        };
        self.listener_wanted.store(false, std::sync::atomic::Ordering::Release);
        // The handlers are installed here, synchronously: a signal that arrives before
        // the listener's task first runs is already ours.
        tasks.listener = match Signals::new() {
            Ok(signals) => Listener::Running(runtime.spawn(listen(self.clone(), signals))),
            Err(error) => {
                tracing::error!(target: "rutina", %error, "cannot listen to OS signals");
                Listener::Done
            }
        };
    }

    /// Installs the listener asked for outside a runtime, now that there is one.
    pub(crate) fn install_wanted_listener(self: &Arc<Self>) {
        if self.listener_wanted.load(std::sync::atomic::Ordering::Acquire) {
            self.listen_os_signals();
        }
    }

    fn on_signal(self: &Arc<Self>, signal: Signal) {
        if signal == Signal::Hangup {
            self.on_hangup();
            return;
        }
        let signal = signal.name();
        let (count, running) = {
            let mut core = lock(&self.core);
            core.signals += 1;
            (core.signals, core.members.len())
        };
        match count {
            1 => {
                tracing::info!(target: "rutina", signal, running, "signal received; shutting down gracefully (send it again to abort)");
                self.begin_shutdown(ShutdownReason::Signal);
            }
            2 => {
                tracing::warn!(target: "rutina", signal, running, "second signal received; aborting the routines still running");
                self.begin_shutdown(ShutdownReason::Signal);
                self.abort_all("second signal received");
            }
            _ if self.settings.exit_on_third_signal => {
                eprintln!("{signal} received a third time; exiting now");
                std::process::exit(130);
            }
            _ => {
                tracing::warn!(target: "rutina", signal, running, "signal received again; routines were already aborted");
            }
        }
    }

    /// SIGHUP: the routines marked `reload` are restarted; with none, it is ignored.
    fn on_hangup(self: &Arc<Self>) {
        match self.reload() {
            Ok(0) => tracing::info!(target: "rutina", "SIGHUP received; no routine is marked `reload`: ignored"),
            Ok(reloaded) => tracing::info!(target: "rutina", reloaded, "SIGHUP received; reloading"),
            Err(_) => tracing::info!(target: "rutina", "SIGHUP received during the shutdown: ignored"),
        }
    }

    /// How many OS signals (SIGINT, SIGTERM) the group received.
    pub(crate) fn signals_received(&self) -> u32 {
        lock(&self.core).signals
    }
}

/// The listener's task: ends when the group is over.
async fn listen(group: Arc<Group>, mut signals: Signals) {
    loop {
        tokio::select! {
            biased;
            _ = group.over.cancelled() => return,
            signal = signals.recv() => group.on_signal(signal),
        }
    }
}
