//! [`Member`]: one routine's record in its group — who it is, how its runs are
//! cancelled, what it is doing — shared by its supervisor, its contexts and the group.
//!
//! A member is created by `go` and lives as long as its routine's task (and any
//! [`Context`](crate::Context) a run kept). Its state is a few atomics and one small lock
//! of its own, never the group's: a routine's runs and restarts touch no lock that other
//! routines take.

#[cfg(feature = "metrics")]
use std::sync::atomic::AtomicU8;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
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
const KILLED: u16 = 1;
const ABORTED: u16 = 1 << 1;
const READY: u16 = 1 << 2;
/// An operator asked for a restart (`RELOAD`: by a reload).
const RESTART: u16 = 1 << 3;
const RELOAD: u16 = 1 << 4;
/// The current run is hung (missed its heartbeat) and has not ended yet.
const HUNG: u16 = 1 << 5;
/// The routine is marked for reload (`RunOptions::reload`).
const RELOADS: u16 = 1 << 6;
/// Aborted while waiting for its turn to stop (reverse start order).
const BEFORE_TURN: u16 = 1 << 7;
/// Killed when its context was already cancelled (a shutdown, a restart): the kill is
/// not why the run stops, so its cancel reason stays the first cause.
const KILLED_LATE: u16 = 1 << 8;

/// One routine of a group.
pub(crate) struct Member {
    pub(crate) id: Id,
    /// Set when the routine is named; `routine-<id>` is made on first use otherwise.
    name: OnceLock<Arc<str>>,
    /// Cancelled by `kill` and by the group's shutdown (as a child of the group's token,
    /// or on the routine's turn in reverse start order). A run's own cancellation (its
    /// timeout) is a child of it.
    pub(crate) token: CancellationToken,
    /// `KILLED`, `KILLED_LATE`, `ABORTED`, `READY`, `RESTART`, `RELOAD`, `RELOADS`,
    /// `BEFORE_TURN`: each set once, never cleared; `HUNG`: set and cleared by the supervisor.
    flags: AtomicU16,
    /// A reload restarted the routine and its new run has not begun yet: `Health` counts
    /// it until then (moved to the renewed member).
    reload_pending: std::sync::atomic::AtomicBool,
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
    /// What the metrics need to know of the routine; only with the feature.
    #[cfg(feature = "metrics")]
    tracking: Tracking,
}

/// What a routine is doing, as the `rutina_routines{state}` gauge of the `metrics`
/// feature counts it. Kept, and every change told, only with that feature: without it
/// [`Member::set_activity`], [`Member::stopping`] and [`Member::run_stopping`] compile to
/// nothing.
///
/// A routine is counted from its first run (or its first wait: a schedule's first tick,
/// a lease) until it leaves its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) enum Activity {
    /// Not counted: before its first run, or gone from its group.
    Gone = 0,
    /// A run is in progress and its context is not cancelled.
    Running,
    /// Waiting for its backoff.
    BackingOff,
    /// Waiting for its schedule's next tick.
    Scheduled,
    /// A singleton waiting for its lease.
    Standby,
    /// Its run's context was cancelled and the run has not returned yet.
    Stopping,
}

#[cfg(feature = "metrics")]
impl Activity {
    const ALL: [Activity; 6] = [
        Activity::Gone,
        Activity::Running,
        Activity::BackingOff,
        Activity::Scheduled,
        Activity::Standby,
        Activity::Stopping,
    ];

    fn from_code(code: u8) -> Activity {
        Self::ALL.get(usize::from(code)).copied().unwrap_or(Activity::Gone)
    }

    /// The gauge's `state` label; `None` when not counted.
    fn label(self) -> Option<&'static str> {
        match self {
            Activity::Gone => None,
            Activity::Running => Some("running"),
            Activity::BackingOff => Some("backing_off"),
            Activity::Scheduled => Some("scheduled"),
            Activity::Standby => Some("standby"),
            Activity::Stopping => Some("stopping"),
        }
    }
}

/// In `Tracking::activity`: the routine's own token was cancelled (for good: an
/// operator's restart renews the member, with a fresh token and a clear record).
#[cfg(feature = "metrics")]
const CANCELLED: u8 = 1 << 7;

/// The `metrics` feature's record of a routine.
#[cfg(feature = "metrics")]
#[derive(Default)]
struct Tracking {
    /// An [`Activity`], and `CANCELLED` once the routine's token was cancelled; changed
    /// only through `Member::change_activity`, which tells the gauge every change.
    activity: AtomicU8,
    /// When the current run began: nanoseconds after `Member::started_at`.
    run_started: AtomicU64,
    /// The routine's counters and histograms, made at its first run's end.
    handles: OnceLock<Box<crate::metrics::RoutineMetrics>>,
}

/// What few routines have, boxed so that the others do not carry it.
struct Rare {
    /// Overrides the group's shutdown timeout for this routine.
    grace: Option<Duration>,
    /// The group's health, kept by readiness gates only (for `Context::ready`): a reference
    /// count that every routine bumped would be one more cache line that all the group's
    /// threads write to.
    gate: Option<Arc<Health>>,
    /// The heartbeat period, and the last beat (nanoseconds after `Member::started_at`).
    heartbeat: Option<(Duration, AtomicU64)>,
    /// A singleton's fencing token while it holds its lease; 0 when it does not.
    fencing: Option<AtomicU64>,
}

/// What `Rutina::status` shows of a routine, updated by its supervisor.
#[derive(Debug)]
struct RunStatus {
    attempt: u32,
    run_started_at: Instant,
    backoff_until: Option<Instant>,
    /// `backoff_until` is a schedule's tick.
    scheduled: bool,
    /// A singleton waiting for its lease.
    standby: bool,
    last_error: Option<SharedError>,
    consecutive_failures: u32,
}

/// How a routine joins its group.
pub(crate) struct Joining {
    pub(crate) name: Option<String>,
    pub(crate) grace: Option<Duration>,
    pub(crate) gate: Option<Arc<Health>>,
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) singleton: bool,
    pub(crate) reload: bool,
    pub(crate) group: Weak<dyn View>,
}

impl Member {
    pub(crate) fn new(id: Id, joining: Joining, token: CancellationToken) -> Member {
        let name = match joining.name {
            Some(name) => OnceLock::from(Arc::from(name)),
            None => OnceLock::new(),
        };
        let rare =
            (joining.grace.is_some() || joining.gate.is_some() || joining.heartbeat.is_some() || joining.singleton)
                .then(|| {
                    let heartbeat = joining.heartbeat.map(|period| (period, AtomicU64::new(0)));
                    let fencing = joining.singleton.then(|| AtomicU64::new(0));
                    Box::new(Rare { grace: joining.grace, gate: joining.gate, heartbeat, fencing })
                });
        Member {
            id,
            name,
            token,
            flags: AtomicU16::new(if joining.reload { RELOADS } else { 0 }),
            reload_pending: std::sync::atomic::AtomicBool::new(false),
            run_cancelled: AtomicU64::new(0),
            abort: OnceLock::new(),
            started_at: Instant::now(),
            status: Mutex::new(None),
            rare,
            group: joining.group,
            #[cfg(feature = "metrics")]
            tracking: Tracking::default(),
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

    /// The same routine with a fresh `token`, for the run after an operator's restart
    /// (this member's token is spent): its identity, readiness, status and task carry over.
    pub(crate) fn renewed(&self, token: CancellationToken) -> Member {
        let rare = self.rare.as_ref().map(|rare| {
            let heartbeat = rare.heartbeat.as_ref().map(|(period, _)| (*period, AtomicU64::new(0)));
            let fencing = rare.fencing.as_ref().map(|token| AtomicU64::new(token.load(Ordering::Acquire)));
            Box::new(Rare { grace: rare.grace, gate: rare.gate.clone(), heartbeat, fencing })
        });
        let abort = OnceLock::new();
        if let Some(handle) = self.abort.get() {
            let _ = abort.set(handle.clone());
        }
        let flags = self.flags.load(Ordering::Acquire);
        let mut keep = READY | RELOADS;
        // A readiness gate restarted by a reload passes its gate again.
        if flags & RELOAD != 0
            && flags & READY != 0
            && let Some(health) = self.rare.as_ref().and_then(|rare| rare.gate.as_ref())
        {
            keep &= !READY;
            health.gate_pending();
        }
        Member {
            id: self.id,
            name: self.name.clone(),
            token,
            flags: AtomicU16::new(flags & keep),
            reload_pending: std::sync::atomic::AtomicBool::new(self.take_reload_pending()),
            run_cancelled: AtomicU64::new(0),
            abort,
            started_at: self.started_at,
            status: Mutex::new(lock(&self.status).take()),
            rare,
            group: self.group.clone(),
            // The routine's place in the gauge moves to the renewed member, untold: it is
            // the same routine.
            #[cfg(feature = "metrics")]
            tracking: Tracking {
                activity: AtomicU8::new(
                    self.tracking.activity.swap(Activity::Gone as u8, Ordering::AcqRel) & !CANCELLED,
                ),
                run_started: AtomicU64::new(self.tracking.run_started.load(Ordering::Acquire)),
                handles: OnceLock::new(),
            },
        }
    }

    // ----- flags ------------------------------------------------------------------

    fn set(&self, flag: u16) -> bool {
        self.flags.fetch_or(flag, Ordering::AcqRel) & flag == 0
    }

    fn has(&self, flag: u16) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    /// Marks the routine killed; `false` if it already was.
    pub(crate) fn mark_killed(&self) -> bool {
        let late = if self.token.is_cancelled() { KILLED_LATE } else { 0 };
        self.flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |flags| {
                (flags & KILLED == 0).then_some(flags | KILLED | late)
            })
            .is_ok()
    }

    pub(crate) fn is_killed(&self) -> bool {
        self.has(KILLED)
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.has(ABORTED)
    }

    pub(crate) fn mark_aborted_before_turn(&self) {
        self.set(BEFORE_TURN);
    }

    pub(crate) fn is_aborted_before_turn(&self) -> bool {
        self.has(BEFORE_TURN)
    }

    /// Asks for an operator's restart (`reload`: by a reload) and cancels the routine's
    /// token; `false` if one was asked for already.
    pub(crate) fn request_restart(&self, reload: bool) -> bool {
        if !self.set(RESTART | if reload { RELOAD } else { 0 }) {
            return false;
        }
        if reload {
            self.reload_pending.store(true, Ordering::Release);
        }
        self.token.cancel();
        self.stopping();
        true
    }

    /// Whether a reload's restart of this routine is still pending; clears it.
    pub(crate) fn take_reload_pending(&self) -> bool {
        self.reload_pending.swap(false, Ordering::AcqRel)
    }

    /// Whether the routine is marked for reload.
    pub(crate) fn reloads(&self) -> bool {
        self.has(RELOADS)
    }

    /// Whether an operator asked for a restart (or a reload).
    pub(crate) fn restart_requested(&self) -> bool {
        self.has(RESTART)
    }

    // ----- activity (the `metrics` feature) -------------------------------------------

    /// The routine is doing `to` now: the gauge is told, if that changes anything. A run
    /// that begins once the routine's own token was cancelled is stopping, not running.
    #[inline]
    pub(crate) fn set_activity(&self, to: Activity) {
        #[cfg(feature = "metrics")]
        self.change_activity(|from, cancelled| {
            let to = if to == Activity::Running && cancelled { Activity::Stopping } else { to };
            (to != from).then_some((to, cancelled))
        });
        #[cfg(not(feature = "metrics"))]
        let _ = to;
    }

    /// Called once the routine's own token was cancelled (a kill, the group's shutdown,
    /// an operator's restart); nothing if it was not. A running routine is stopping; one
    /// that waits keeps waiting (it ends, or restarts, when it wakes), but its next run is
    /// stopping from the start.
    #[inline]
    pub(crate) fn stopping(&self) {
        #[cfg(feature = "metrics")]
        if self.token.is_cancelled() {
            self.change_activity(|from, cancelled| {
                (!cancelled).then_some((if from == Activity::Running { Activity::Stopping } else { from }, true))
            });
        }
    }

    /// The current run's own token was just cancelled (a limit of the run: a timeout, a
    /// heartbeat, a lost lease): the running routine is stopping; its next run is not.
    #[inline]
    pub(crate) fn run_stopping(&self) {
        #[cfg(feature = "metrics")]
        self.change_activity(|from, cancelled| (from == Activity::Running).then_some((Activity::Stopping, cancelled)));
    }

    /// The one place the activity changes: `change` maps the activity and whether the
    /// routine's token was cancelled to the new ones (`None`: no change); the gauge is
    /// told the change of activity, old −1, new +1. Lock-free: cancellers and the
    /// supervisor may race, and each change is made whole or not at all.
    #[cfg(feature = "metrics")]
    fn change_activity(&self, mut change: impl FnMut(Activity, bool) -> Option<(Activity, bool)>) {
        let (mut from, mut to) = (Activity::Gone, Activity::Gone);
        let changed = self.tracking.activity.fetch_update(Ordering::AcqRel, Ordering::Acquire, |code| {
            from = Activity::from_code(code & !CANCELLED);
            let (next, cancelled) = change(from, code & CANCELLED != 0)?;
            to = next;
            Some(next as u8 | if cancelled { CANCELLED } else { 0 })
        });
        if changed.is_ok() && from != to {
            crate::metrics::routine_moved(from.label(), to.label());
        }
    }

    /// The run `attempt` begins: running (or stopping, see `set_activity`). A restart's
    /// start was recorded by `restarted`, with the clock read it made.
    #[cfg(feature = "metrics")]
    pub(crate) fn run_began(&self, attempt: u32) {
        if attempt == 1 {
            self.run_started_at(Instant::now());
        }
        self.set_activity(Activity::Running);
    }

    /// Records when the current run began, for its duration.
    #[cfg(feature = "metrics")]
    fn run_started_at(&self, at: Instant) {
        let since = at.saturating_duration_since(self.started_at);
        self.tracking.run_started.store(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX), Ordering::Release);
    }

    /// The routine's counters and histograms.
    #[cfg(feature = "metrics")]
    pub(crate) fn metrics(&self) -> &crate::metrics::RoutineMetrics {
        self.tracking.handles.get_or_init(Box::default)
    }

    /// How long the current run has lasted.
    #[cfg(feature = "metrics")]
    pub(crate) fn run_took(&self) -> Duration {
        let started = self.started_at + Duration::from_nanos(self.tracking.run_started.load(Ordering::Acquire));
        Instant::now().saturating_duration_since(started)
    }

    // ----- heartbeats ---------------------------------------------------------------

    /// `Context::heartbeat`: records a sign of life now.
    pub(crate) fn beat(&self) {
        if let Some((_, last)) = self.rare.as_ref().and_then(|rare| rare.heartbeat.as_ref()) {
            let since = Instant::now().saturating_duration_since(self.started_at);
            last.store(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX), Ordering::Release);
        }
    }

    /// When the routine last beat (`started_at` if never).
    pub(crate) fn last_beat(&self) -> Instant {
        let nanos = self
            .rare
            .as_ref()
            .and_then(|rare| rare.heartbeat.as_ref())
            .map_or(0, |(_, last)| last.load(Ordering::Acquire));
        self.started_at + Duration::from_nanos(nanos)
    }

    /// Marks the current run hung (or no longer); `true` if that changed anything.
    pub(crate) fn set_hung(&self, hung: bool) -> bool {
        if hung { self.set(HUNG) } else { self.flags.fetch_and(!HUNG, Ordering::AcqRel) & HUNG != 0 }
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
        let flags = self.flags.load(Ordering::Acquire);
        if flags & (KILLED | KILLED_LATE) == KILLED {
            CancelReason::Killed
        } else if flags & RELOAD != 0 {
            CancelReason::Reload
        } else if flags & RESTART != 0 {
            CancelReason::Restarted
        } else {
            CancelReason::Shutdown
        }
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

    // ----- singletons ---------------------------------------------------------------

    /// A singleton's fencing token, while it holds its lease.
    pub(crate) fn fencing_token(&self) -> Option<u64> {
        let token = self.rare.as_ref()?.fencing.as_ref()?.load(Ordering::Acquire);
        (token != 0).then_some(token)
    }

    pub(crate) fn set_fencing_token(&self, token: Option<u64>) {
        if let Some(fencing) = self.rare.as_ref().and_then(|rare| rare.fencing.as_ref()) {
            fencing.store(token.unwrap_or(0), Ordering::Release);
        }
    }

    /// A singleton waits for its lease (`true`), or got it (its run begins next, or it
    /// leaves: either tells the gauge).
    pub(crate) fn standby(&self, standby: bool) {
        {
            let mut status = lock(&self.status);
            let status = self.run_status(&mut status);
            status.standby = standby;
            if standby {
                status.backoff_until = None;
            }
        }
        if standby {
            self.set_activity(Activity::Standby);
        }
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
                scheduled: false,
                standby: false,
                last_error: None,
                consecutive_failures: 0,
            })
        })
    }

    /// A run after the first begins.
    pub(crate) fn restarted(&self, attempt: u32) {
        let now = Instant::now();
        #[cfg(feature = "metrics")]
        self.run_started_at(now);
        let mut status = lock(&self.status);
        let status = self.run_status(&mut status);
        status.attempt = attempt;
        status.run_started_at = now;
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

    /// Waiting until `until` for the next run: a backoff, or (`scheduled`) a schedule's tick.
    pub(crate) fn waiting(&self, until: Instant, scheduled: bool) {
        {
            let mut status = lock(&self.status);
            let status = self.run_status(&mut status);
            status.backoff_until = Some(until);
            status.scheduled = scheduled;
        }
        self.set_activity(if scheduled { Activity::Scheduled } else { Activity::BackingOff });
    }

    pub(crate) fn status(&self) -> RoutineStatus {
        let status = lock(&self.status);
        let (attempt, run_started_at, waiting, standby, last_error, consecutive_failures) = match status.as_deref() {
            Some(s) => (
                s.attempt,
                s.run_started_at,
                s.backoff_until.map(|until| (until, s.scheduled)),
                s.standby,
                s.last_error.clone(),
                s.consecutive_failures,
            ),
            None => (0, self.started_at, None, false, None, 0),
        };
        drop(status);
        let state = match waiting {
            _ if standby && !self.token.is_cancelled() => RoutineState::Standby,
            Some((until, false)) => RoutineState::BackingOff { until },
            Some((until, true)) => RoutineState::Scheduled { until },
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
