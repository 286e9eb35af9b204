//! [`Member`]: one routine's record in its group — who it is, how its runs are
//! cancelled, what it is doing — shared by its supervisor, its contexts and the group.
//!
//! A member is created by `go` and lives as long as its routine's task (and any
//! [`Context`](crate::Context) a run kept). Its state is a few atomics and one small lock
//! of its own, never the group's: a routine's runs and restarts touch no lock that other
//! routines take.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Id;
use crate::error::SharedError;
use crate::event::CancelReason;
use crate::health::Health;
use crate::monitor::{Monitor, View};
use crate::status::{RoutineState, RoutineStatus};
use crate::sync::lock;

/// `flags` bits.
const KILLED: u8 = 1;
const ABORTED: u8 = 1 << 1;
const READY: u8 = 1 << 2;

/// One routine of a group.
pub(crate) struct Member {
    pub(crate) id: Id,
    /// Set when the routine is named; `routine-<id>` is made on first use otherwise.
    name: OnceLock<Arc<str>>,
    /// Cancelled by `kill` and by the group's shutdown (as a child of the group's token,
    /// or on the routine's turn in reverse start order). A run's own cancellation (its
    /// timeout) is a child of it.
    pub(crate) token: CancellationToken,
    /// `KILLED`, `ABORTED`, `READY`; each set once, never cleared.
    flags: AtomicU8,
    /// Why the run `attempt` was cancelled by a cause of its own: `attempt << 8 | reason`;
    /// 0 while none was. Causes shared with the routine (kill, shutdown) are read from
    /// the routine's own state instead.
    run_cancelled: AtomicU64,
    /// How to abort the routine's task, known once it is spawned.
    abort: OnceLock<AbortHandle>,
    pub(crate) started_at: Instant,
    /// Made when the status first differs from the one a routine starts with (a restart,
    /// a failure, a backoff): most routines run once and never need it.
    status: Mutex<Option<Box<RunStatus>>>,
    /// Made only for routines with a grace period or a readiness gate.
    rare: Option<Box<Rare>>,
    /// The group, for [`Context::monitor`](crate::Context::monitor); weak, so that a
    /// routine never keeps its group's memory alive.
    group: Weak<dyn View>,
}

/// What few routines have, boxed so that the others do not carry it.
struct Rare {
    /// Overrides the group's shutdown timeout for this routine.
    grace: Option<Duration>,
    /// The group's health, kept by readiness gates only (for `Context::ready`): a reference
    /// count that every routine bumped would be one more cache line that all the group's
    /// threads write to.
    gate: Option<Arc<Health>>,
}

/// What `Rutina::status` shows of a routine, updated by its supervisor.
#[derive(Debug)]
struct RunStatus {
    attempt: u32,
    run_started_at: Instant,
    backoff_until: Option<Instant>,
    last_error: Option<SharedError>,
    consecutive_failures: u32,
}

/// How a routine joins its group.
pub(crate) struct Joining {
    pub(crate) name: Option<String>,
    pub(crate) grace: Option<Duration>,
    pub(crate) gate: Option<Arc<Health>>,
    pub(crate) group: Weak<dyn View>,
}

impl Member {
    pub(crate) fn new(id: Id, joining: Joining, token: CancellationToken) -> Member {
        let name = match joining.name {
            Some(name) => OnceLock::from(Arc::from(name)),
            None => OnceLock::new(),
        };
        let rare = (joining.grace.is_some() || joining.gate.is_some())
            .then(|| Box::new(Rare { grace: joining.grace, gate: joining.gate }));
        Member {
            id,
            name,
            token,
            flags: AtomicU8::new(0),
            run_cancelled: AtomicU64::new(0),
            abort: OnceLock::new(),
            started_at: Instant::now(),
            status: Mutex::new(None),
            rare,
            group: joining.group,
        }
    }

    pub(crate) fn name(&self) -> &Arc<str> {
        self.name.get_or_init(|| Arc::from(format!("routine-{}", self.id.get())))
    }

    /// Overrides the group's shutdown timeout for this routine.
    pub(crate) fn grace(&self) -> Option<Duration> {
        self.rare.as_ref().and_then(|rare| rare.grace)
    }

    pub(crate) fn monitor(&self) -> Monitor {
        Monitor::new(self.group.clone())
    }

    // ----- flags ------------------------------------------------------------------

    fn set(&self, flag: u8) -> bool {
        self.flags.fetch_or(flag, Ordering::AcqRel) & flag == 0
    }

    fn has(&self, flag: u8) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    /// Marks the routine killed; `false` if it already was.
    pub(crate) fn mark_killed(&self) -> bool {
        self.set(KILLED)
    }

    pub(crate) fn is_killed(&self) -> bool {
        self.has(KILLED)
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.has(ABORTED)
    }

    // ----- cancellation -------------------------------------------------------------

    /// Records that the run `attempt` is cancelled for `reason`, a cause of its own.
    pub(crate) fn run_cancelled(&self, attempt: u32, reason: CancelReason) {
        self.run_cancelled.store(u64::from(attempt) << 8 | u64::from(reason.code()), Ordering::Release);
    }

    /// Why the run `attempt` was cancelled, once its token is.
    pub(crate) fn cancel_reason(&self, attempt: u32) -> CancelReason {
        let record = self.run_cancelled.load(Ordering::Acquire);
        if record >> 8 == u64::from(attempt)
            && let Some(reason) = CancelReason::from_code((record & 0xff) as u8)
        {
            return reason;
        }
        if self.is_killed() { CancelReason::Killed } else { CancelReason::Shutdown }
    }

    // ----- aborting -----------------------------------------------------------------

    /// Records how to abort the routine's task; aborts it at once if that was asked for
    /// before the task was known.
    pub(crate) fn set_abort_handle(&self, handle: AbortHandle) {
        let handle = self.abort.get_or_init(|| handle);
        if self.is_aborted() {
            handle.abort();
        }
    }

    /// Aborts the routine's task (now, or as soon as it is known); `false` if it already
    /// was aborted.
    pub(crate) fn abort(&self) -> bool {
        if !self.set(ABORTED) {
            return false;
        }
        if let Some(handle) = self.abort.get() {
            handle.abort();
        }
        true
    }

    // ----- readiness ----------------------------------------------------------------

    /// `Context::ready`: counts for the group once, if the routine is a readiness gate.
    pub(crate) fn mark_ready(&self) {
        if let Some(health) = self.rare.as_ref().and_then(|rare| rare.gate.as_ref())
            && self.set(READY)
        {
            health.gate_ready();
        }
    }

    // ----- status -------------------------------------------------------------------

    /// The status, made as it starts if not yet: attempt 0 (shown as 1), started when the
    /// routine was.
    fn run_status<'a>(&self, status: &'a mut Option<Box<RunStatus>>) -> &'a mut RunStatus {
        status.get_or_insert_with(|| {
            Box::new(RunStatus {
                attempt: 0,
                run_started_at: self.started_at,
                backoff_until: None,
                last_error: None,
                consecutive_failures: 0,
            })
        })
    }

    /// A run after the first begins.
    pub(crate) fn restarted(&self, attempt: u32) {
        let mut status = lock(&self.status);
        let status = self.run_status(&mut status);
        status.attempt = attempt;
        status.run_started_at = Instant::now();
        status.backoff_until = None;
    }

    /// A run ended; `failure` is its failure, if it failed. Tells `health` when the
    /// routine starts or stops crash-looping.
    pub(crate) fn run_ended(&self, attempt: u32, failure: Option<SharedError>, health: &Health) {
        if attempt == 1 && failure.is_none() {
            // Nothing failed before the first run: there is nothing to reset, and no lock
            // to take on the way out of a routine that ran once.
            return;
        }
        let mut status = lock(&self.status);
        let status = self.run_status(&mut status);
        let before = status.consecutive_failures;
        match failure {
            Some(error) => {
                status.last_error = Some(error);
                status.consecutive_failures = before.saturating_add(1);
            }
            None => status.consecutive_failures = 0,
        }
        health.failures_in_a_row(before, status.consecutive_failures);
    }

    /// The routine leaves its group: it no longer counts as crash-looping.
    pub(crate) fn left(&self, health: &Health) {
        if let Some(status) = lock(&self.status).as_deref() {
            health.failures_in_a_row(status.consecutive_failures, 0);
        }
    }

    pub(crate) fn backing_off(&self, until: Instant) {
        self.run_status(&mut lock(&self.status)).backoff_until = Some(until);
    }

    pub(crate) fn status(&self) -> RoutineStatus {
        let status = lock(&self.status);
        let (attempt, run_started_at, backoff_until, last_error, consecutive_failures) = match status.as_deref() {
            Some(s) => (s.attempt, s.run_started_at, s.backoff_until, s.last_error.clone(), s.consecutive_failures),
            None => (0, self.started_at, None, None, 0),
        };
        drop(status);
        let state = match backoff_until {
            Some(until) => RoutineState::BackingOff { until },
            None if self.token.is_cancelled() => RoutineState::Stopping,
            None => RoutineState::Running,
        };
        RoutineStatus {
            id: self.id,
            name: self.name().to_string(),
            state,
            attempt: attempt.max(1),
            restarts: attempt.saturating_sub(1),
            last_error,
            consecutive_failures,
            started_at: self.started_at,
            run_started_at,
        }
    }
}
