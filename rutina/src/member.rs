//! [`Member`]: one routine's record in its group — who it is, how its runs are
//! cancelled, what it is doing — shared by its supervisor, its contexts and the group.
//!
//! A member is created by `go` and lives as long as its routine's task (and any
//! [`Context`](crate::Context) a run kept). Its state is a few atomics and one small lock
//! of its own, never the group's: a routine's runs and restarts touch no lock that other
//! routines take.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use once_cell::race::OnceBox;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::Id;
use crate::error::SharedError;
use crate::event::CancelReason;
use crate::health::Health;
use crate::metrics::{Activity, Tracking};
use crate::monitor::{Monitor, Operator};
use crate::status::{RoutineState, RoutineStatus};
use crate::sync::lock;

/// `flags` bits.
const KILLED: u32 = 1;
const ABORTED: u32 = 1 << 1;
const READY: u32 = 1 << 2;
/// An operator asked for a restart (`RELOAD`: by a reload).
const RESTART: u32 = 1 << 3;
const RELOAD: u32 = 1 << 4;
/// The current run is hung (missed its heartbeat) and has not ended yet.
const HUNG: u32 = 1 << 5;
/// The routine is marked for reload (`RunOptions::reload`).
const RELOADS: u32 = 1 << 6;
/// Aborted while waiting for its turn to stop (reverse start order).
const BEFORE_TURN: u32 = 1 << 7;
/// Killed when its context was already cancelled (a shutdown, a restart): the kill is
/// not why the run stops, so its cancel reason stays the first cause.
const KILLED_LATE: u32 = 1 << 8;
/// The routine's context is cancelled: a kill, the group's shutdown (or the routine's
/// turn in it), an operator's restart.
const CANCELLED: u32 = 1 << 9;
/// A reload restarted the routine and its new run has not begun yet: `Health` counts it
/// until then (moved to the renewed member).
const RELOAD_PENDING: u32 = 1 << 11;
/// The routine is a readiness gate (`RunOptions::readiness_gate`).
const GATE: u32 = 1 << 12;
/// The routine no longer holds the group's readiness up: it began its first run, or its
/// wait for a schedule's first tick or a lease, or it left.
const SETTLED: u32 = 1 << 13;
/// The group counts the routine among those that hold its readiness up (`Health`
/// counts only once someone asks whether the group is ready).
const COUNTED: u32 = 1 << 14;
/// The status box is made: it keeps when the routine was started (`run_started` then
/// moves on with each run).
const STATUS: u32 = 1 << 15;
/// The routine's last run failed (`RunStatus::consecutive_failures` > 0).
const FAILING: u32 = 1 << 16;
/// The routine waits for its next run (`RunStatus::backoff_until` is set).
const WAITING: u32 = 1 << 17;

/// `Member::run_started` before the routine's task first ran.
const NOT_YET: u64 = u64::MAX;

/// One routine of a group.
pub(crate) struct Member {
    pub(crate) id: Id,
    /// Set when the routine joins if it is named (as every `#[rutina::routine]` item
    /// is); `routine-<id>` is made on first use otherwise.
    name: OnceLock<Arc<str>>,
    /// The routine's token, made when first asked for (`Context::token`, a run's own
    /// token, a lease) and cancelled with the routine; from then on, cancelling it (as a
    /// routine may do to stop itself, or a detached context's user does) cancels the
    /// routine too. Most routines only wait for their cancellation, in their waiter slot
    /// (`Task::waiter`): they never need a token, nor the lock of a shared parent token
    /// that making and dropping a child token takes. Boxed, in one pointer, so that
    /// the member keeps to 120 bytes (see the size test in `supervisor.rs`).
    token: OnceBox<CancellationToken>,
    /// `KILLED`, `KILLED_LATE`, `ABORTED`, `READY`, `RESTART`, `RELOAD`, `RELOADS`,
    /// `BEFORE_TURN`, `CANCELLED`: each set once, never cleared; `HUNG` and
    /// `RELOAD_PENDING`: set and cleared.
    flags: AtomicU32,

    /// How to abort the routine's task, and who waits for its cancellation. A mutex,
    /// not a `OnceLock`: the task's handle is set once per routine, and a `OnceLock`'s
    /// setting costs three times an uncontended lock.
    task: Mutex<Task>,
    /// The current (or last) run: 0 before the first (shown as 1).
    attempt: AtomicU32,
    /// When the current run began, nanoseconds after the group's epoch: when the routine
    /// was started until its first restart (which keeps that in the status box,
    /// `STATUS`); `NOT_YET` until its task first ran. Atomics, so that restarting a routine
    /// takes no lock.
    run_started: AtomicU64,
    /// Made when the status first differs from the one a routine starts with (a restart,
    /// a failure, a backoff): most routines run once and never need it.
    status: Mutex<Option<Box<RunStatus>>>,
    /// Made only for routines with a grace period, a timeout, a heartbeat or a lease.
    rare: Option<Box<Rare>>,
    /// The group's health: its readiness and liveness counters, its epoch, and (weakly)
    /// the group itself, for [`Context::monitor`](crate::Context::monitor).
    pub(crate) health: Arc<Health>,
    /// What the metrics need to know of the routine (empty without the feature).
    tracking: Tracking,
}

/// The routine's task, as its member knows it.
#[derive(Default)]
struct Task {
    /// Its handle, known once it is spawned: kept to abort it (a `JoinHandle` aborts as
    /// an `AbortHandle` does; keeping the one `tokio::spawn` returns, rather than making
    /// an `AbortHandle` of it and dropping it, spares the spawner two atomic operations
    /// on the task's state, which the worker that runs the task touches at the same
    /// time). Nobody joins it.
    handle: Option<JoinHandle<()>>,
    /// The waker of the wait for the routine's cancellation that waits on the routine
    /// itself (its run's [`Cancelled`]; most routines have one at most): a slot of the
    /// routine's own, not a share of a group-wide `Notify`, so that waiting takes no lock
    /// other routines take and a shutdown wakes each routine once. Other waits at the same
    /// time wait on the routine's token.
    waiter: Option<Waker>,
}

/// What few routines have, boxed so that the others do not carry it.
struct Rare {
    /// Overrides the group's shutdown timeout for this routine.
    grace: Option<Duration>,
    /// Why the run `attempt` was cancelled by a cause of its own (its timeout, heartbeat,
    /// lease): `attempt << 8 | reason`; 0 while none was. Causes shared with the routine
    /// (kill, shutdown) are read from the routine's own state instead.
    run_cancelled: AtomicU64,
    /// The heartbeat period, and the last beat (nanoseconds after the group's epoch).
    heartbeat: Option<(Duration, AtomicU64)>,
    /// A singleton's fencing token while it holds its lease; 0 when it does not.
    fencing: Option<AtomicU64>,
}

/// What `Rutina::status` shows of a routine beyond its attempt and run start, updated by
/// its supervisor: made on the first restart, failure or wait.
#[derive(Debug)]
struct RunStatus {
    /// When the routine was started by `go`: nanoseconds after the group's epoch.
    started: u64,
    backoff_until: Option<Instant>,
    /// `backoff_until` is a schedule's tick.
    scheduled: bool,
    /// A singleton waiting for its lease.
    standby: bool,
    last_error: Option<SharedError>,
    consecutive_failures: u32,
    /// How the last run ended, when the routine ended during a shutdown (for the report).
    last_outcome: Option<crate::event::Outcome>,
}

/// How a routine joins its group.
pub(crate) struct Joining {
    pub(crate) name: Option<String>,
    pub(crate) grace: Option<Duration>,
    pub(crate) gate: bool,
    pub(crate) heartbeat: Option<Duration>,
    /// The runs have limits of their own (a timeout, a heartbeat, a lease).
    pub(crate) watched: bool,
    pub(crate) singleton: bool,
    pub(crate) reload: bool,
    pub(crate) health: Arc<Health>,
}

impl Joining {
    /// A routine with no options of its own (no grace period, limits, gate or reload).
    pub(crate) fn plain(name: Option<String>, health: Arc<Health>) -> Joining {
        Joining {
            name,
            grace: None,
            gate: false,
            heartbeat: None,
            watched: false,
            singleton: false,
            reload: false,
            health,
        }
    }
}

impl Member {
    pub(crate) fn new(id: Id, joining: Joining) -> Member {
        let name = joining.name.map_or_else(OnceLock::new, |name| OnceLock::from(Arc::from(name)));
        let rare = (joining.grace.is_some() || joining.watched || joining.singleton).then(|| {
            let heartbeat = joining.heartbeat.map(|period| (period, AtomicU64::new(0)));
            let fencing = joining.singleton.then(|| AtomicU64::new(0));
            Box::new(Rare { grace: joining.grace, run_cancelled: AtomicU64::new(0), heartbeat, fencing })
        });
        let flags = if joining.reload { RELOADS } else { 0 } | if joining.gate { GATE } else { 0 };
        Member {
            id,
            name,
            token: OnceBox::new(),
            flags: AtomicU32::new(flags),
            task: Mutex::new(Task::default()),
            attempt: AtomicU32::new(0),
            // Stamped by the routine's task (`began`): no clock read on the caller's way
            // through `go`.
            run_started: AtomicU64::new(NOT_YET),
            status: Mutex::new(None),
            rare,
            health: joining.health,
            tracking: Tracking::new(),
        }
    }

    pub(crate) fn name(&self) -> &Arc<str> {
        self.name.get_or_init(|| Arc::from(Member::default_name(self.id)))
    }

    /// The name of an unnamed routine.
    pub(crate) fn default_name(id: Id) -> String {
        format!("routine-{}", id.get())
    }

    /// The routine's name if it was given one, or made already (an unnamed routine's is
    /// made when first asked for).
    pub(crate) fn name_if_made(&self) -> Option<Arc<str>> {
        self.name.get().cloned()
    }

    /// Overrides the group's shutdown timeout for this routine.
    pub(crate) fn grace(&self) -> Option<Duration> {
        self.rare.as_ref().and_then(|rare| rare.grace)
    }

    pub(crate) fn monitor(&self) -> Monitor {
        self.health.monitor()
    }

    pub(crate) fn operator(&self) -> Operator {
        self.health.operator()
    }

    /// A detached context's member: cancelled by `token`, which its user holds.
    pub(crate) fn detached(id: Id, joining: Joining, token: CancellationToken) -> Member {
        let member = Member::new(id, joining);
        let _ = member.token.set(Box::new(token));
        member
    }

    /// The same routine, uncancelled, for the run after an operator's restart (this
    /// member's cancellation is spent): its identity, readiness, status and task carry over.
    pub(crate) fn renewed(&self) -> Member {
        let rare = self.rare.as_ref().map(|rare| {
            let heartbeat = rare.heartbeat.as_ref().map(|(period, _)| (*period, AtomicU64::new(0)));
            let fencing = rare.fencing.as_ref().map(|token| AtomicU64::new(token.load(Ordering::Acquire)));
            Box::new(Rare { grace: rare.grace, run_cancelled: AtomicU64::new(0), heartbeat, fencing })
        });
        // The task's handle moves to the new member: only the member in the group is
        // aborted, and this one is not from now on (`Group::renew` replaces it, under the
        // group's lock, which aborting takes).
        let task = Mutex::new(Task { handle: lock(&self.task).handle.take(), waiter: None });
        let flags = self.flags.load(Ordering::Acquire);
        let mut keep = READY | RELOADS | GATE | STATUS | FAILING | WAITING;
        // A readiness gate restarted by a reload passes its gate again.
        if flags & (RELOAD | READY | GATE) == RELOAD | READY | GATE {
            keep &= !READY;
            self.health.gate_pending();
        }
        let pending = if self.take_reload_pending() { RELOAD_PENDING } else { 0 };
        Member {
            id: self.id,
            name: self.name.clone(),
            token: OnceBox::new(),
            flags: AtomicU32::new(flags & keep | pending),
            task,
            attempt: AtomicU32::new(self.attempt.load(Ordering::Acquire)),
            run_started: AtomicU64::new(self.run_started.load(Ordering::Acquire)),
            status: Mutex::new(lock(&self.status).take()),
            rare,
            health: self.health.clone(),
            tracking: self.tracking.renewed(),
        }
    }

    // ----- flags ------------------------------------------------------------------

    fn set(&self, flag: u32) -> bool {
        self.flags.fetch_or(flag, Ordering::AcqRel) & flag == 0
    }

    fn has(&self, flag: u32) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    /// Marks the routine killed; `false` if it already was.
    pub(crate) fn mark_killed(&self) -> bool {
        let late = if self.is_cancelled() { KILLED_LATE } else { 0 };
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

    /// Asks for an operator's restart (`reload`: by a reload) and cancels the routine;
    /// `false` if one was asked for already.
    pub(crate) fn request_restart(&self, reload: bool) -> bool {
        let flags = RESTART | if reload { RELOAD | RELOAD_PENDING } else { 0 };
        if !self.set(flags) {
            return false;
        }
        self.cancel();
        self.stopping();
        true
    }

    /// Whether a reload's restart of this routine is still pending; clears it.
    pub(crate) fn take_reload_pending(&self) -> bool {
        self.has(RELOAD_PENDING) && self.flags.fetch_and(!RELOAD_PENDING, Ordering::AcqRel) & RELOAD_PENDING != 0
    }

    // ----- cancellation -------------------------------------------------------------

    /// Whether the routine is cancelled: by the group (a flag), or, once it has a token,
    /// through that token.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.has(CANCELLED) || self.made_token().is_some_and(CancellationToken::is_cancelled)
    }

    /// Cancels the routine: its waiter wakes and its token, if made, is cancelled;
    /// `false` if it already was.
    pub(crate) fn cancel(&self) -> bool {
        let cancelled = self.mark_cancelled();
        if cancelled {
            self.wake();
        }
        cancelled
    }

    /// Cancels the routine, like [`cancel`](Member::cancel), but hands its waiter to
    /// `wakers` for the caller to wake (once it let go of the group's lock).
    pub(crate) fn cancel_waking_later(&self, wakers: &mut Vec<Waker>) {
        if self.mark_cancelled() {
            wakers.extend(lock(&self.task).waiter.take());
        }
    }

    /// Marks the routine cancelled and cancels its token, if made; `false` if it already
    /// was. Its waiter is the caller's to wake.
    fn mark_cancelled(&self) -> bool {
        if self.flags.fetch_or(CANCELLED, Ordering::AcqRel) & CANCELLED != 0 {
            return false;
        }
        if let Some(token) = self.made_token() {
            token.cancel();
        }
        true
    }

    /// Wakes the routine's waiter, for it to look again: the routine was cancelled, or
    /// its token was made (and the waiter waits on it from now on).
    pub(crate) fn wake(&self) {
        // Taken under the lock, woken outside it.
        let waiter = lock(&self.task).waiter.take();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }

    /// Makes `waker` the routine's waiter, woken by the next [`wake`](Member::wake);
    /// `false` if another task's waker is already (a wait of the routine's that may still
    /// be waiting, or one that was dropped: the slot cannot tell them apart).
    fn wait_with(&self, waker: &Waker) -> bool {
        let mut task = lock(&self.task);
        match &task.waiter {
            Some(waiter) => waiter.will_wake(waker),
            None => {
                task.waiter = Some(waker.clone());
                true
            }
        }
    }

    /// The routine's token, if it was made.
    pub(crate) fn made_token(&self) -> Option<&CancellationToken> {
        self.token.get()
    }

    /// The routine's token, made now if it was not: cancelled with the routine.
    pub(crate) fn token(&self) -> &CancellationToken {
        if self.token.get().is_none() && self.token.set(Box::default()).is_ok() {
            // The routine's waiter waits on the token from now on: cancelling it is a
            // cancellation too.
            self.wake();
        }
        let token = self.token.get_or_init(Box::default);
        // A cancellation that came while the token was being made saw no token.
        if self.has(CANCELLED) {
            token.cancel();
        }
        token
    }

    /// Completes when the routine is cancelled.
    pub(crate) fn cancelled(&self) -> Cancelled<'_, Member> {
        Cancelled::new(self)
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

    /// The routine is doing `to` now: the gauge is told, if that changes anything.
    #[inline]
    pub(crate) fn set_activity(&self, to: Activity) {
        self.tracking.set_activity(to);
    }

    /// Called once the routine's own token was cancelled (a kill, the group's shutdown,
    /// an operator's restart); nothing if it was not.
    #[inline]
    pub(crate) fn stopping(&self) {
        self.tracking.stopping(|| self.is_cancelled());
    }

    /// The current run's own token was just cancelled (a limit of the run).
    #[inline]
    pub(crate) fn run_stopping(&self) {
        self.tracking.run_stopping();
    }

    /// What the metrics keep of the routine.
    pub(crate) fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    // ----- heartbeats ---------------------------------------------------------------

    /// `Context::heartbeat`: records a sign of life now.
    pub(crate) fn beat(&self) {
        if let Some((_, last)) = self.rare.as_ref().and_then(|rare| rare.heartbeat.as_ref()) {
            last.store(self.health.since_epoch(Instant::now()), Ordering::Release);
        }
    }

    /// When the routine last beat (the group's epoch if never).
    pub(crate) fn last_beat(&self) -> Instant {
        let nanos = self
            .rare
            .as_ref()
            .and_then(|rare| rare.heartbeat.as_ref())
            .map_or(0, |(_, last)| last.load(Ordering::Acquire));
        self.health.at(nanos)
    }

    /// Marks the current run hung (or no longer); `true` if that changed anything.
    pub(crate) fn set_hung(&self, hung: bool) -> bool {
        if hung { self.set(HUNG) } else { self.flags.fetch_and(!HUNG, Ordering::AcqRel) & HUNG != 0 }
    }

    // ----- cancellation -------------------------------------------------------------

    /// Records that the run `attempt` is cancelled for `reason`, a cause of its own.
    pub(crate) fn run_cancelled(&self, attempt: u32, reason: CancelReason) {
        if let Some(rare) = &self.rare {
            rare.run_cancelled.store(u64::from(attempt) << 8 | u64::from(reason.code()), Ordering::Release);
        }
    }

    /// Why the run `attempt` was cancelled, once its token is.
    pub(crate) fn cancel_reason(&self, attempt: u32) -> CancelReason {
        let record = self.rare.as_ref().map_or(0, |rare| rare.run_cancelled.load(Ordering::Acquire));
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

    /// Records the routine's task, to abort it; aborts it at once if that was asked for
    /// before the task was known.
    pub(crate) fn set_task(&self, handle: JoinHandle<()>) {
        // Under the lock: an `abort` that sets its flag after this check finds the handle.
        let mut task = lock(&self.task);
        if self.is_aborted() {
            handle.abort();
        }
        task.handle = Some(handle);
    }

    /// Aborts the routine's task (now, or as soon as it is known); `false` if it already
    /// was aborted.
    pub(crate) fn abort(&self) -> bool {
        if !self.set(ABORTED) {
            return false;
        }
        if let Some(handle) = lock(&self.task).handle.as_ref() {
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
                self.flags.fetch_and(!WAITING, Ordering::AcqRel);
            }
        }
        if standby {
            self.set_activity(Activity::Standby);
        }
    }

    // ----- readiness ----------------------------------------------------------------

    /// The routine joined a group that counts unsettled routines: it is counted.
    pub(crate) fn counted(&self) {
        self.flags.fetch_or(COUNTED, Ordering::AcqRel);
    }

    /// The group begins counting its unsettled routines: counts this one if it is;
    /// `true` if it was counted.
    pub(crate) fn count_if_unsettled(&self) -> bool {
        self.flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |flags| {
                (flags & (SETTLED | COUNTED) == 0).then_some(flags | COUNTED)
            })
            .is_ok()
    }

    /// The routine settles (see `SETTLED`), once; `true` if the group counted it, and
    /// must count it out.
    pub(crate) fn settle(&self) -> bool {
        let before = self.flags.fetch_or(SETTLED, Ordering::AcqRel);
        before & (SETTLED | COUNTED) == COUNTED
    }

    /// `Context::ready`: counts for the group once, if the routine is a readiness gate.
    pub(crate) fn mark_ready(&self) {
        if self.has(GATE) && self.set(READY) {
            self.health.gate_ready();
        }
    }

    // ----- status -------------------------------------------------------------------

    /// The status box, made as it starts if not yet, keeping when the routine was
    /// started; `status` is its lock, held.
    fn run_status<'a>(&self, status: &'a mut Option<Box<RunStatus>>) -> &'a mut RunStatus {
        status.get_or_insert_with(|| {
            self.set(STATUS);
            Box::new(RunStatus {
                started: self.run_started_nanos(),
                backoff_until: None,
                scheduled: false,
                standby: false,
                last_error: None,
                consecutive_failures: 0,
                last_outcome: None,
            })
        })
    }

    /// A run after the first begins, `now`; `None`: at the same time as the last run
    /// began, as far as the status tells. Usually lock-free: the status box is touched
    /// only on the first restart (to keep when the routine was started) and after a wait.
    pub(crate) fn restarted(&self, attempt: u32, now: Option<Instant>) {
        if !self.has(STATUS) || self.has(WAITING) {
            let mut status = lock(&self.status);
            self.run_status(&mut status).backoff_until = None;
            self.flags.fetch_and(!WAITING, Ordering::AcqRel);
        }
        self.attempt.store(attempt, Ordering::Release);
        if let Some(now) = now {
            self.tracking.run_started(now, &self.health);
            self.run_started.store(self.health.since_epoch(now), Ordering::Release);
        }
    }

    /// The routine's task ran for the first time, `now`: the routine is started (its
    /// first run or its first wait, for a schedule's tick or a lease, begins).
    pub(crate) fn began(&self, now: Instant) {
        self.run_started.store(self.health.since_epoch(now), Ordering::Release);
    }

    /// When the current run began (when the routine was started, for its first run).
    pub(crate) fn run_started_at(&self) -> Instant {
        self.health.at(self.run_started_nanos())
    }

    /// `run_started`; now if the routine's task has not run yet (it is starting now).
    fn run_started_nanos(&self) -> u64 {
        match self.run_started.load(Ordering::Acquire) {
            NOT_YET => self.health.since_epoch(Instant::now()),
            nanos => nanos,
        }
    }

    /// A run ended; `failure` is its failure, if it failed. Tells `health` when the
    /// routine starts or stops crash-looping.
    pub(crate) fn run_ended(&self, failure: Option<SharedError>, health: &Health) {
        if failure.is_none() && !self.has(FAILING) {
            // Nothing to reset: no lock on the way out of a run that succeeded after
            // runs that did.
            return;
        }
        let mut status = lock(&self.status);
        let status = self.run_status(&mut status);
        let before = status.consecutive_failures;
        match failure {
            Some(error) => {
                status.last_error = Some(error);
                status.consecutive_failures = before.saturating_add(1);
                self.set(FAILING);
            }
            None => {
                status.consecutive_failures = 0;
                self.flags.fetch_and(!FAILING, Ordering::AcqRel);
            }
        }
        health.failures_in_a_row(before, status.consecutive_failures);
    }

    /// A run was stopped by something outside the routine (its lease was lost): its
    /// failure is the last error, but counts neither for nor against a crash loop.
    pub(crate) fn run_interrupted(&self, failure: Option<SharedError>) {
        if let Some(error) = failure {
            self.run_status(&mut lock(&self.status)).last_error = Some(error);
        }
    }

    /// The routine ends, during a shutdown, after a run that ended with `outcome`.
    pub(crate) fn ended_with(&self, outcome: crate::event::Outcome) {
        self.run_status(&mut lock(&self.status)).last_outcome = Some(outcome);
    }

    /// How the last run ended, if `ended_with` told it; taken.
    pub(crate) fn take_last_outcome(&self) -> Option<crate::event::Outcome> {
        if !self.has(STATUS) {
            // No status box, so no outcome: no lock.
            return None;
        }
        lock(&self.status).as_deref_mut().and_then(|status| status.last_outcome.take())
    }

    /// The routine leaves its group: it no longer counts as crash-looping.
    pub(crate) fn left(&self, health: &Health) {
        if self.has(FAILING)
            && let Some(status) = lock(&self.status).as_deref()
        {
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
            self.set(WAITING);
        }
        self.set_activity(if scheduled { Activity::Scheduled } else { Activity::BackingOff });
    }

    pub(crate) fn status(&self) -> RoutineStatus {
        let status = lock(&self.status);
        let attempt = self.attempt.load(Ordering::Acquire);
        let run_started = self.run_started_nanos();
        let (started, waiting, standby, last_error, consecutive_failures) = match status.as_deref() {
            Some(s) => (
                s.started,
                s.backoff_until.map(|until| (until, s.scheduled)),
                s.standby,
                s.last_error.clone(),
                s.consecutive_failures,
            ),
            None => (run_started, None, false, None, 0),
        };
        drop(status);
        let state = match waiting {
            _ if standby && !self.is_cancelled() => RoutineState::Standby,
            Some((until, false)) => RoutineState::BackingOff { until },
            Some((until, true)) => RoutineState::Scheduled { until },
            None if self.is_cancelled() => RoutineState::Stopping,
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
            started_at: self.health.at(started),
            run_started_at: self.health.at(run_started),
        }
    }
}

/// What waits for its cancellation: a routine (its [`Member`]), or one of its runs
/// (`context::Scope`, whose own token, if any, tells instead of the routine's).
pub(crate) trait Cancellable: Sync {
    /// The routine.
    fn member(&self) -> &Member;

    /// The token whose cancellation is this one's, if made: a run's own, or the routine's.
    fn made_token(&self) -> Option<&CancellationToken>;

    /// Whether this is cancelled.
    fn is_cancelled(&self) -> bool;
}

impl Cancellable for Member {
    fn member(&self) -> &Member {
        self
    }

    fn made_token(&self) -> Option<&CancellationToken> {
        Member::made_token(self)
    }

    fn is_cancelled(&self) -> bool {
        Member::is_cancelled(self)
    }
}

/// Completes when what it waits for is cancelled.
///
/// Without a token, it waits in its routine's waiter slot: two pointers in the state of
/// every routine that waits for its cancellation, no allocation, no lock but the
/// routine's own. With a token (a run's own, the routine's once made, or made because
/// another task already waits in the slot), the token tells; its wait is boxed, since
/// it is many times the size of the slot's.
pub(crate) struct Cancelled<'a, C: ?Sized> {
    of: &'a C,
    on_token: Option<Pin<Box<WaitForCancellationFuture<'a>>>>,
}

impl<'a, C: Cancellable + ?Sized> Cancelled<'a, C> {
    pub(crate) fn new(of: &'a C) -> Self {
        Cancelled { of, on_token: None }
    }
}

impl<C: Cancellable + ?Sized> Future for Cancelled<'_, C> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if let Some(on_token) = this.on_token.as_mut() {
                return on_token.as_mut().poll(cx);
            }
            if let Some(token) = this.of.made_token() {
                this.on_token = Some(Box::pin(token.cancelled()));
                continue;
            }
            let member = this.of.member();
            if !member.wait_with(cx.waker()) {
                // Another task waits in the slot: making the token wakes it, and both
                // wait on the token from now on.
                this.on_token = Some(Box::pin(member.token().cancelled()));
                continue;
            }
            // Read after the waker is in its slot: a cancellation (or a token made) after
            // this read wakes it.
            if this.of.made_token().is_some() {
                continue;
            }
            return if this.of.is_cancelled() { Poll::Ready(()) } else { Poll::Pending };
        }
    }
}
