//! The group's health as probes see it: readiness (every routine began its first run,
//! or its wait for a schedule's first tick or a lease, and every readiness gate is
//! ready) and liveness (no routine crash-looping or hung).
//!
//! Both are counters that routines update as they change, so that a probe reads a few
//! atomics instead of walking the routines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::monitor::{Control, Monitor, Operator};

/// Failed runs in a row from which a routine counts as crash-looping: the group is then
/// not live, and the systemd watchdog is not pinged.
pub(crate) const CRASH_LOOP_FAILURES: u32 = 3;

/// The counters behind `is_ready` and `is_live`, and what every routine of the group
/// shares with it (kept by each, and thin: a reference count per routine).
pub(crate) struct Health {
    /// When the group was made: routines keep their instants as nanoseconds after it.
    epoch: Instant,
    /// The group, for monitors (weak: a routine never keeps its group alive).
    group: OnceLock<Weak<dyn Control>>,
    /// Routines that have not begun (and will not begin) their first run, or their wait
    /// for a schedule's first tick or a singleton lease, yet — counted only once someone
    /// asked whether the group is ready (`counting`): a group nobody probes does not make
    /// every routine write to this shared counter twice.
    unstarted: AtomicUsize,
    /// Whether `unstarted` is kept.
    counting: std::sync::atomic::AtomicBool,
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

impl Default for Health {
    fn default() -> Health {
        Health {
            epoch: Instant::now(),
            group: OnceLock::new(),
            unstarted: AtomicUsize::new(0),
            counting: std::sync::atomic::AtomicBool::new(false),
            gates_pending: AtomicUsize::new(0),
            crash_looping: AtomicUsize::new(0),
            hung: AtomicUsize::new(0),
            reloading: AtomicUsize::new(0),
            became_ready: Notify::new(),
        }
    }
}

impl Health {
    /// The health of a detached context's routine: of no group.
    pub(crate) fn detached() -> Health {
        let health = Health::default();
        let _ = health.group.set(Operator::no_group());
        health
    }

    /// Tells the health its group (once, when the group is made).
    pub(crate) fn set_group(&self, group: Weak<dyn Control>) {
        let _ = self.group.set(group);
    }

    /// An operator of the group.
    pub(crate) fn operator(&self) -> Operator {
        Operator::new(self.group.get().cloned().unwrap_or_else(Operator::no_group))
    }

    /// A monitor of the group.
    pub(crate) fn monitor(&self) -> Monitor {
        self.operator().monitor()
    }

    /// `at`, as nanoseconds after the epoch.
    pub(crate) fn since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `nanos` after the epoch.
    pub(crate) fn at(&self, nanos: u64) -> Instant {
        self.epoch + Duration::from_nanos(nanos)
    }

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

    /// Whether unsettled routines are counted.
    pub(crate) fn is_counting(&self) -> bool {
        self.counting.load(Ordering::Acquire)
    }

    /// Begins counting, with `unsettled` routines unsettled now. Called once, with the
    /// group's lock held (routines join under it).
    pub(crate) fn begin_counting(&self, unsettled: usize) {
        self.unstarted.fetch_add(unsettled, Ordering::AcqRel);
        self.counting.store(true, Ordering::Release);
    }

    /// A routine joined; `counted`: while counting; `gate`: it is a readiness gate.
    pub(crate) fn joined(&self, counted: bool, gate: bool) {
        if counted {
            self.unstarted.fetch_add(1, Ordering::AcqRel);
        }
        if gate {
            self.gates_pending.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A routine began its first run or its first wait (or will never begin either).
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
