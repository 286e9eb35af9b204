//! The group's health as probes see it: readiness (every routine began its first run,
//! every readiness gate is ready) and liveness (no routine crash-looping or hung).
//!
//! Both are counters that routines update as they change, so that a probe reads a few
//! atomics instead of walking the routines.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Failed runs in a row from which a routine counts as crash-looping: the group is then
/// not live, and the systemd watchdog is not pinged.
pub(crate) const CRASH_LOOP_FAILURES: u32 = 3;

/// The counters behind `is_ready` and `is_live`.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Routines that have not made (and will not make) their first run yet.
    unstarted: AtomicUsize,
    /// Readiness gates that have not called `Context::ready` yet.
    gates_pending: AtomicUsize,
    /// Routines that failed `CRASH_LOOP_FAILURES` runs in a row and have not succeeded since.
    crash_looping: AtomicUsize,
    /// Runs that missed their heartbeat and have not ended yet.
    hung: AtomicUsize,
    /// Routines restarted by a reload that have not begun their new run yet.
    reloading: AtomicUsize,
    /// Notified when the group becomes ready.
    pub(crate) became_ready: Notify,
}

impl Health {
    /// Every routine began its first run and every gate is ready.
    pub(crate) fn is_ready(&self) -> bool {
        self.unstarted.load(Ordering::Acquire) == 0 && self.gates_pending.load(Ordering::Acquire) == 0
    }

    /// No routine is crash-looping or hung.
    pub(crate) fn is_live(&self) -> bool {
        self.crash_looping.load(Ordering::Acquire) == 0 && self.hung.load(Ordering::Acquire) == 0
    }

    /// Every routine restarted by a reload began its new run.
    pub(crate) fn is_reloaded(&self) -> bool {
        self.reloading.load(Ordering::Acquire) == 0
    }

    /// A reload restarts a routine.
    pub(crate) fn reloading(&self) {
        self.reloading.fetch_add(1, Ordering::AcqRel);
    }

    /// A routine restarted by a reload began its new run (or ended instead).
    pub(crate) fn reloaded(&self) {
        if self.reloading.fetch_sub(1, Ordering::AcqRel) == 1 && self.is_ready() {
            self.became_ready.notify_waiters();
        }
    }

    /// A readiness gate must pass again (its routine was reloaded).
    pub(crate) fn gate_pending(&self) {
        self.gates_pending.fetch_add(1, Ordering::AcqRel);
    }

    /// A run became hung, or a hung run ended.
    pub(crate) fn hung(&self, hung: bool) {
        if hung {
            self.hung.fetch_add(1, Ordering::AcqRel);
        } else {
            self.hung.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// A routine joined; `gate`: it is a readiness gate.
    pub(crate) fn joined(&self, gate: bool) {
        self.unstarted.fetch_add(1, Ordering::AcqRel);
        if gate {
            self.gates_pending.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A routine made (or will never make) its first run.
    pub(crate) fn first_run_over(&self) {
        self.resolve(&self.unstarted);
    }

    /// A gate called `Context::ready` for the first time.
    pub(crate) fn gate_ready(&self) {
        self.resolve(&self.gates_pending);
    }

    fn resolve(&self, counter: &AtomicUsize) {
        if counter.fetch_sub(1, Ordering::AcqRel) == 1 && self.is_ready() && self.is_reloaded() {
            self.became_ready.notify_waiters();
        }
    }

    /// A routine's failures in a row went from `before` to `after`.
    pub(crate) fn failures_in_a_row(&self, before: u32, after: u32) {
        match (before >= CRASH_LOOP_FAILURES, after >= CRASH_LOOP_FAILURES) {
            (false, true) => {
                self.crash_looping.fetch_add(1, Ordering::AcqRel);
            }
            (true, false) => {
                self.crash_looping.fetch_sub(1, Ordering::AcqRel);
            }
            _ => {}
        }
    }
}
