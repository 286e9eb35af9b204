//! The state one group shares between its handles and its routines' tasks: the
//! registry of alive routines, the decisive error, the shutdown, events and logs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::error::Error as StdError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::{Joining, Readiness, RoutineShared};
use crate::error::{PanicError, SharedError, TimeoutError};
use crate::event::{Event, Outcome, ShutdownReason};
use crate::id::IdMap;
use crate::signal::Signals;
use crate::status::{RoutineStatus, ShutdownReport, StopKind, StoppedRoutine};
use crate::systemd::Notifier;
use crate::{Error, Id, RoutineError, ShutdownOrder};

/// How many events a slow subscriber may lag behind before it misses some.
const EVENT_CAPACITY: usize = 1024;

/// Failed runs in a row from which a routine counts as crash-looping (no watchdog pings).
#[cfg(all(unix, feature = "systemd"))]
pub(crate) const CRASH_LOOP_FAILURES: u32 = 3;

/// Locks `mutex`; our critical sections never call user code, so a poisoned lock
/// still holds consistent data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Group {
    pub(crate) token: CancellationToken,
    next_id: AtomicU64,
    registry: Mutex<Registry>,
    state: Mutex<State>,
    /// Notified when the registry becomes empty (and, in reverse start order, whenever a
    /// routine leaves).
    changed: Notify,
    /// Cancelled when the group is over (shut down and empty, or waited for): the
    /// signal listener ends then.
    over: CancellationToken,
    shutdown_begun: AtomicBool,
    shutdown_watch: watch::Sender<bool>,
    pub(crate) readiness: Arc<Readiness>,
    /// Made by the first `subscribe`: a group nobody observes neither allocates the
    /// channel's buffer nor builds events.
    events: OnceLock<broadcast::Sender<Event>>,
    /// Dropped when the group is over, so that the channel closes once the user's own
    /// senders are gone too.
    errors: Mutex<Option<mpsc::UnboundedSender<RoutineError>>>,
    shutdown_timeout: Option<Duration>,
    order: ShutdownOrder,
    listener: Mutex<Listener>,
    /// Whether `listener` is `Wanted`: `go` reads this, not the lock, every time.
    listener_wanted: AtomicBool,
    /// The group has a parent token, whose cancellation must be noticed when it happens.
    has_parent: bool,
    /// The task that notices it (spawned at the first `go`), so that the shutdown, its
    /// event and its grace period begin then, also when nobody is waiting yet.
    parent_watch: Mutex<Option<JoinHandle<()>>>,
    /// `rutina::main!`: a third OS signal exits the process at once.
    exit_on_third_signal: bool,
}

#[derive(Default)]
struct Registry {
    entries: IdMap<Entry>,
    /// Everything was aborted: routines that show up later are aborted at once.
    abort_all: bool,
    /// `wait` saw the group empty and ended it: nothing joins any more.
    closed: bool,
    /// When the shutdown began: the shutdown report's start, and when all the routines
    /// were asked to stop in the default order.
    shutdown_at: Option<Instant>,
    /// Reverse start order: when each routine still alive was asked to stop (on its
    /// turn). Here, not in `Entry`: most groups never need it, and every routine would
    /// carry it.
    stop_requested: IdMap<Instant>,
    /// The shutdown report's entries; names are made only when the report is asked for.
    /// Here, not in `State`: a routine that ends records itself in the same critical
    /// section that removes it, one contended lock per routine, not two.
    stopped: Vec<(Arc<RoutineShared>, StopKind, u32, Duration)>,
}

/// Kept small: the registry holds one per routine. A routine aborted before its abort
/// handle was known has its `aborted` flag set and no handle.
struct Entry {
    routine: Arc<RoutineShared>,
    abort: Option<AbortHandle>,
}

#[derive(Default)]
struct State {
    /// The first error that decided the shutdown.
    error: Option<Error>,
    reason: Option<ShutdownReason>,
    finished_at: Option<Instant>,
    signals: u32,
    aborted: Vec<(Id, String)>,
}

enum Listener {
    Off,
    /// Asked for outside a runtime: installed at the first `go` or `wait`.
    Wanted,
    Running(JoinHandle<()>),
    Done,
}

/// The settings a group is made with (see `Options`).
pub(crate) struct GroupSettings {
    pub(crate) parent: Option<CancellationToken>,
    pub(crate) errors: Option<mpsc::UnboundedSender<RoutineError>>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) order: ShutdownOrder,
    pub(crate) listen_os_signals: bool,
    pub(crate) exit_on_third_signal: bool,
}

/// How the routine's last moments went, kept by its task for the shutdown report.
#[derive(Default)]
pub(crate) struct Ending {
    pub(crate) runs: u32,
    pub(crate) last: Option<Outcome>,
    pub(crate) between_runs: bool,
}

impl Group {
    pub(crate) fn new(settings: GroupSettings) -> Arc<Group> {
        let has_parent = settings.parent.is_some();
        let token = match settings.parent {
            Some(parent) => parent.child_token(),
            None => CancellationToken::new(),
        };
        let group = Arc::new(Group {
            token,
            next_id: AtomicU64::new(1),
            registry: Mutex::default(),
            state: Mutex::default(),
            changed: Notify::new(),
            over: CancellationToken::new(),
            shutdown_begun: AtomicBool::new(false),
            shutdown_watch: watch::Sender::new(false),
            readiness: Arc::default(),
            events: OnceLock::new(),
            errors: Mutex::new(settings.errors),
            shutdown_timeout: settings.shutdown_timeout,
            order: settings.order,
            listener: Mutex::new(Listener::Off),
            listener_wanted: AtomicBool::new(false),
            has_parent,
            parent_watch: Mutex::new(None),
            exit_on_third_signal: settings.exit_on_third_signal,
        });
        if settings.listen_os_signals {
            group.listen_os_signals();
        }
        group
    }

    pub(crate) fn next_id(&self) -> Id {
        Id::new(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    // ----- membership -------------------------------------------------------------

    /// Registers a routine about to be spawned, or `None` when the group no longer
    /// takes routines (rule 6).
    pub(crate) fn join(self: &Arc<Self>, id: Id, joining: Joining) -> Option<Membership> {
        if self.shutdown_begun.load(Ordering::Acquire) {
            return None;
        }
        // In reverse start order each routine is cancelled on its turn, not with the group.
        // A child of a cancelled token is born cancelled: asking the child, whose lock
        // nobody else takes, notices a group token cancelled from outside without taking
        // the group token's lock once more (every routine's task takes it when it ends).
        let (token, cancelled) = match self.order {
            ShutdownOrder::AllAtOnce => {
                let token = self.token.child_token();
                let cancelled = token.is_cancelled();
                (token, cancelled)
            }
            ShutdownOrder::ReverseStart => (CancellationToken::new(), self.token.is_cancelled()),
        };
        if cancelled {
            self.begin_shutdown(ShutdownReason::Cancelled);
            return None;
        }
        let routine = Arc::new(RoutineShared::new(id, joining, token, Some(&self.readiness)));
        let mut registry = lock(&self.registry);
        if registry.closed {
            drop(registry);
            routine.first_run_over(&self.readiness);
            return None;
        }
        let entry = Entry { routine: routine.clone(), abort: None };
        registry.entries.insert(id, entry);
        drop(registry);
        self.watch_parent();
        Some(Membership { group: self.clone(), routine, ending: Ending::default() })
    }

    /// Records how to abort the task of routine `id`, or aborts it at once if that was
    /// already asked for.
    pub(crate) fn set_abort_handle(&self, id: Id, handle: AbortHandle) {
        let mut registry = lock(&self.registry);
        let abort_all = registry.abort_all;
        if let Some(entry) = registry.entries.get_mut(&id) {
            // Aborted before its handle was known (`take_abort` found none).
            if abort_all || entry.routine.aborted.load(Ordering::Acquire) {
                handle.abort();
            } else {
                entry.abort = Some(handle);
            }
        }
    }

    fn leave(&self, routine: &Arc<RoutineShared>, ending: Ending) {
        let runs = ending.runs;
        // A routine that ends during the shutdown goes in the shutdown report.
        let now = self.shutdown_begun.load(Ordering::Acquire).then(Instant::now);
        let empty = {
            let mut registry = lock(&self.registry);
            let entry = registry.entries.remove(&routine.id);
            // Empty but in a shutdown in reverse start order: not even looked up then.
            let stop_requested_at =
                if registry.stop_requested.is_empty() { None } else { registry.stop_requested.remove(&routine.id) };
            if let Some(now) = now
                && let Some(since) = entry.and(stop_requested_at).or(registry.shutdown_at)
            {
                // Under the lock that aborting takes: "aborted" agrees with `Aborted`.
                let how = how_it_stopped(routine, ending);
                registry.stopped.push((routine.clone(), how, runs, now.saturating_duration_since(since)));
            }
            registry.entries.is_empty()
        };
        if runs == 0 {
            routine.first_run_over(&self.readiness);
        }
        tracing::debug!(target: "rutina", id = routine.id.get(), name = %routine.name(), runs, "routine stopped");
        self.emit(|| Event::Stopped { id: routine.id, name: routine.name().clone(), runs });
        if empty || self.order == ShutdownOrder::ReverseStart {
            self.changed.notify_waiters();
        }
        if empty && self.shutdown_begun.load(Ordering::Acquire) {
            self.over.cancel();
        }
    }

    /// The alive routines, ascending by id.
    fn alive(&self) -> Vec<Arc<RoutineShared>> {
        let mut alive: Vec<_> = lock(&self.registry).entries.values().map(|entry| entry.routine.clone()).collect();
        alive.sort_unstable_by_key(|routine| routine.id);
        alive
    }

    pub(crate) fn processes(&self) -> Vec<Id> {
        let mut ids: Vec<Id> = lock(&self.registry).entries.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub(crate) fn status(&self) -> Vec<RoutineStatus> {
        self.alive().iter().map(|routine| routine.status()).collect()
    }

    /// Whether a routine failed `CRASH_LOOP_FAILURES` times in a row and has not
    /// succeeded since.
    #[cfg(all(unix, feature = "systemd"))]
    pub(crate) fn is_crash_looping(&self) -> bool {
        self.alive().iter().any(|routine| routine.consecutive_failures() >= CRASH_LOOP_FAILURES)
    }

    pub(crate) fn kill(&self, id: Id) -> Result<(), Error> {
        let registry = lock(&self.registry);
        let routine = match registry.entries.get(&id) {
            Some(entry) => entry.routine.clone(),
            None => return Err(Error::NotFound(id)),
        };
        if routine.killed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Sent while the routine is still registered, so that it comes before its
        // `Stopped` (which `leave` sends once it is not).
        self.emit(|| Event::Killed { id, name: routine.name().clone() });
        drop(registry);
        tracing::info!(target: "rutina", id = id.get(), name = %routine.name(), "routine killed");
        routine.token.cancel();
        Ok(())
    }

    /// Closes the group if no routine is alive; `true` when it is (now) closed.
    fn close_if_empty(&self) -> bool {
        let mut registry = lock(&self.registry);
        if registry.entries.is_empty() {
            registry.closed = true;
        }
        registry.closed
    }

    // ----- readiness --------------------------------------------------------------

    /// Every routine began its first run, every readiness gate is ready, and the group
    /// is not shutting down.
    pub(crate) fn is_ready(&self) -> bool {
        self.readiness.is_ready() && !self.is_shutting_down()
    }

    // ----- shutdown ---------------------------------------------------------------

    /// Whether the group is shutting down; notices a token cancelled from outside.
    pub(crate) fn is_shutting_down(&self) -> bool {
        if self.shutdown_begun.load(Ordering::Acquire) {
            return true;
        }
        if self.token.is_cancelled() {
            self.begin_shutdown(ShutdownReason::Cancelled);
            return true;
        }
        false
    }

    pub(crate) fn watch_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown_watch.subscribe()
    }

    /// Called when a routine saw its token cancelled between runs.
    pub(crate) fn note_external_cancel(&self) {
        self.is_shutting_down();
    }

    pub(crate) fn begin_shutdown(&self, reason: ShutdownReason) {
        if self.shutdown_begun.swap(true, Ordering::AcqRel) {
            return;
        }
        lock(&self.state).reason = Some(reason.clone());
        let running = {
            let mut registry = lock(&self.registry);
            // Set already if the shutdown was planned in the meantime (`plan_shutdown`).
            registry.shutdown_at.get_or_insert_with(Instant::now);
            // Every routine alive now goes in the shutdown report: one allocation, not a
            // copy of the report each time it grows, under the lock every routine takes.
            let running = registry.entries.len();
            registry.stopped.reserve(running);
            running
        };
        tracing::info!(target: "rutina", %reason, running, "shutting down");
        self.emit(|| Event::ShutdownStarted { reason: reason.clone(), running });
        self.shutdown_watch.send_replace(true);
        // In reverse start order this reaches no routine: `wait` stops them one by one.
        self.token.cancel();
        self.changed.notify_waiters();
        if running == 0 {
            self.over.cancel();
        }
    }

    /// A run ended under `Shutdown` (rule 4).
    pub(crate) fn shutdown_by(&self, routine: &RoutineShared, attempt: u32, outcome: &Outcome) {
        let failed = !outcome.is_ok();
        let name = || routine.name().to_string();
        let error = match outcome {
            Outcome::Ok => None,
            Outcome::Failed(source) => Some(Error::Routine { id: routine.id, name: name(), source: source.clone() }),
            Outcome::Panicked(message) => {
                Some(Error::Panicked { id: routine.id, name: name(), message: message.clone() })
            }
            Outcome::TimedOut(timeout) => Some(Error::TimedOut { id: routine.id, name: name(), timeout: *timeout }),
        };
        if let Some(error) = error
            && !self.record_error(error)
        {
            self.report(routine, attempt, outcome);
        }
        self.begin_shutdown(ShutdownReason::Routine { id: routine.id, name: routine.name().clone(), failed });
    }

    /// A restart was due with `max_count` restarts made (rule 3).
    pub(crate) fn run_limit(&self, routine: &RoutineShared, runs: u32, outcome: &Outcome) {
        tracing::error!(target: "rutina", id = routine.id.get(), name = %routine.name(), runs, "restart limit reached");
        let error =
            Error::RunLimit { id: routine.id, name: routine.name().to_string(), runs, last_error: failure(outcome) };
        if !self.record_error(error) {
            self.report(routine, runs, outcome);
        }
        self.begin_shutdown(ShutdownReason::RunLimit { id: routine.id, name: routine.name().clone() });
    }

    /// A restart was due with the restart intensity used up.
    pub(crate) fn restart_intensity(
        &self,
        routine: &RoutineShared,
        attempt: u32,
        outcome: &Outcome,
        restarts: u32,
        within: Duration,
    ) {
        tracing::error!(target: "rutina", id = routine.id.get(), name = %routine.name(), attempt, restarts, ?within, "restart intensity exceeded");
        let error = Error::RestartIntensity {
            id: routine.id,
            name: routine.name().to_string(),
            restarts,
            within,
            last_error: failure(outcome),
        };
        if !self.record_error(error) {
            self.report(routine, attempt, outcome);
        }
        self.begin_shutdown(ShutdownReason::RestartIntensity { id: routine.id, name: routine.name().clone() });
    }

    /// Makes `error` the group's error if none was recorded; `false` if one was.
    fn record_error(&self, error: Error) -> bool {
        let mut state = lock(&self.state);
        if state.error.is_some() {
            return false;
        }
        state.error = Some(error);
        true
    }

    /// Aborts every routine still alive.
    pub(crate) fn abort_all(&self) {
        let stuck: Vec<_> = {
            let mut registry = lock(&self.registry);
            registry.abort_all = true;
            registry.entries.values_mut().filter_map(|entry| self.take_abort(entry)).collect()
        };
        self.abort(stuck);
    }

    /// Marks `entry` aborted and takes what is needed to abort it; `None` if it already
    /// was. Called under the registry lock, so that `Aborted` is sent before the
    /// routine's `Stopped`.
    fn take_abort(&self, entry: &mut Entry) -> Option<(Arc<RoutineShared>, Option<AbortHandle>)> {
        let routine = &entry.routine;
        if routine.aborted.swap(true, Ordering::AcqRel) {
            return None;
        }
        self.emit(|| Event::Aborted { id: routine.id, name: routine.name().clone() });
        Some((routine.clone(), entry.abort.take()))
    }

    /// Aborts the routines whose abort handles were taken, recording them as stuck.
    fn abort(&self, mut stuck: Vec<(Arc<RoutineShared>, Option<AbortHandle>)>) {
        if stuck.is_empty() {
            return;
        }
        stuck.sort_unstable_by_key(|(routine, _)| routine.id);
        lock(&self.state).aborted.extend(stuck.iter().map(|(routine, _)| (routine.id, routine.name().to_string())));
        for (routine, handle) in stuck {
            tracing::error!(target: "rutina", id = routine.id.get(), name = %routine.name(), "routine did not stop in time; aborting it");
            if let Some(handle) = handle {
                handle.abort();
            }
        }
    }

    /// What the shutdown must do from now on: who to stop next, who to abort when.
    fn plan_shutdown(&self, now: Instant) -> ShutdownPlan {
        let mut registry = lock(&self.registry);
        let shutdown_at = *registry.shutdown_at.get_or_insert(now);
        let mut plan = ShutdownPlan { pending: Vec::new(), current: None, deadlines: BinaryHeap::new() };
        match self.order {
            ShutdownOrder::AllAtOnce => {
                // Every routine was asked to stop when the shutdown began.
                for (id, entry) in &registry.entries {
                    if let Some(deadline) =
                        entry.routine.grace().or(self.shutdown_timeout).and_then(|g| shutdown_at.checked_add(g))
                    {
                        plan.deadlines.push(Reverse((deadline, *id)));
                    }
                }
            }
            ShutdownOrder::ReverseStart => {
                plan.pending = registry.entries.keys().copied().collect();
                plan.pending.sort_unstable();
            }
        }
        plan
    }

    /// Carries the plan out as far as it goes at `now`; returns when to look again.
    fn advance(&self, plan: &mut ShutdownPlan, now: Instant) -> Option<Instant> {
        let mut to_abort = Vec::new();
        {
            let mut guard = lock(&self.registry);
            let registry = &mut *guard;
            // Reverse start order: the next routine's turn comes when the current one ended.
            while plan.current.is_none_or(|id| !registry.entries.contains_key(&id)) {
                plan.current = None;
                let Some(id) = plan.pending.pop() else { break };
                let Some(entry) = registry.entries.get(&id) else { continue };
                tracing::info!(target: "rutina", id = id.get(), name = %entry.routine.name(), "stopping routine (reverse start order)");
                registry.stop_requested.insert(id, now);
                entry.routine.token.cancel();
                if let Some(deadline) = entry.routine.grace().or(self.shutdown_timeout).and_then(|g| now.checked_add(g))
                {
                    plan.deadlines.push(Reverse((deadline, id)));
                }
                plan.current = Some(id);
            }
            while let Some(&Reverse((deadline, id))) = plan.deadlines.peek()
                && deadline <= now
            {
                plan.deadlines.pop();
                if let Some(stuck) = registry.entries.get_mut(&id).and_then(|entry| self.take_abort(entry)) {
                    to_abort.push(stuck);
                }
            }
        }
        self.abort(to_abort);
        plan.deadlines.peek().map(|Reverse((deadline, _))| *deadline)
    }

    /// Waits until no routine is alive, carrying out the shutdown (order, grace periods)
    /// and systemd notifications; then ends the group.
    pub(crate) async fn wait(self: &Arc<Self>) -> Result<(), Error> {
        self.install_wanted_listener();
        let mut notifier = Notifier::from_env();
        let mut plan: Option<ShutdownPlan> = None;
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let became_ready = self.readiness.changed.notified();
            let mut became_ready = std::pin::pin!(became_ready);
            became_ready.as_mut().enable();
            if self.close_if_empty() {
                break;
            }
            let shutting_down = self.is_shutting_down();
            if notifier.wants_ready() && !shutting_down && self.readiness.is_ready() {
                notifier.ready();
            }
            let next = if shutting_down {
                notifier.stopping();
                let now = Instant::now();
                let plan = plan.get_or_insert_with(|| self.plan_shutdown(now));
                self.advance(plan, now)
            } else {
                None
            };
            tokio::select! {
                _ = changed => {}
                _ = became_ready, if notifier.wants_ready() => {}
                _ = self.token.cancelled(), if !shutting_down => {}
                _ = sleep_until(next), if next.is_some() => {}
                _ = notifier.tick(self) => {}
            }
        }
        self.finish().await;
        self.result()
    }

    /// `wait`'s result: `Aborted` if anything was, else the decisive error, if any.
    fn result(&self) -> Result<(), Error> {
        let state = lock(&self.state);
        if !state.aborted.is_empty() {
            let mut stuck = state.aborted.clone();
            stuck.sort_unstable();
            return Err(Error::Aborted { stuck, cause: state.error.clone().map(Box::new) });
        }
        match &state.error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Ends the group: its token is cancelled and its signal listener gone.
    async fn finish(&self) {
        {
            let mut state = lock(&self.state);
            if state.finished_at.is_none() {
                state.finished_at = Some(Instant::now());
            }
        }
        self.shutdown_begun.store(true, Ordering::Release);
        self.shutdown_watch.send_replace(true);
        self.token.cancel();
        self.over.cancel();
        lock(&self.errors).take();
        let listener = std::mem::replace(&mut *lock(&self.listener), Listener::Done);
        if let Listener::Running(handle) = listener {
            // It ends as soon as it sees `over`.
            let _ = handle.await;
        }
        let parent_watch = lock(&self.parent_watch).take();
        if let Some(handle) = parent_watch {
            // It ends as soon as it sees the token cancelled.
            let _ = handle.await;
        }
    }

    /// Spawns, once, the task that begins the shutdown when the parent token is cancelled.
    fn watch_parent(self: &Arc<Self>) {
        if !self.has_parent {
            return;
        }
        let mut watch = lock(&self.parent_watch);
        if watch.is_some() || self.token.is_cancelled() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let group = self.clone();
            *watch = Some(runtime.spawn(async move {
                group.token.cancelled().await;
                group.is_shutting_down();
            }));
        }
    }

    /// How the group stopped, once `wait` returned.
    pub(crate) fn shutdown_report(&self) -> Option<ShutdownReport> {
        let registry = lock(&self.registry);
        let began_at = registry.shutdown_at;
        let routines = registry
            .stopped
            .iter()
            .map(|(routine, how, runs, took)| StoppedRoutine {
                id: routine.id,
                name: routine.name().clone(),
                how: how.clone(),
                runs: *runs,
                took: *took,
            })
            .collect();
        drop(registry);
        let state = lock(&self.state);
        let finished_at = state.finished_at?;
        Some(ShutdownReport {
            reason: state.reason.clone(),
            began_at,
            took: began_at.map_or(Duration::ZERO, |at| finished_at.saturating_duration_since(at)),
            routines,
        })
    }

    /// The last handle is gone without waiting: cancel everything.
    pub(crate) fn dropped(&self) {
        if !self.shutdown_begun.load(Ordering::Acquire) {
            self.begin_shutdown(ShutdownReason::Dropped);
        }
        let registry = lock(&self.registry);
        if self.order == ShutdownOrder::ReverseStart {
            // Nobody will wait to stop them in order.
            for entry in registry.entries.values() {
                entry.routine.token.cancel();
            }
        }
        if registry.entries.is_empty() {
            self.over.cancel();
        }
    }

    // ----- OS signals -------------------------------------------------------------

    pub(crate) fn listen_os_signals(self: &Arc<Self>) {
        let mut listener = lock(&self.listener);
        if !matches!(*listener, Listener::Off | Listener::Wanted) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            *listener = Listener::Wanted;
            self.listener_wanted.store(true, Ordering::Release);
            return;
        };
        self.listener_wanted.store(false, Ordering::Release);
        // The handlers are installed here, synchronously: a signal that arrives before
        // the listener's task first runs is already ours.
        *listener = match Signals::new() {
            Ok(signals) => Listener::Running(runtime.spawn(listen(self.clone(), signals))),
            Err(error) => {
                tracing::error!(target: "rutina", %error, "cannot listen to OS signals");
                Listener::Done
            }
        };
    }

    pub(crate) fn install_wanted_listener(self: &Arc<Self>) {
        if self.listener_wanted.load(Ordering::Acquire) && matches!(*lock(&self.listener), Listener::Wanted) {
            self.listen_os_signals();
        }
    }

    fn on_signal(&self, signal: &'static str) {
        let count = {
            let mut state = lock(&self.state);
            state.signals += 1;
            state.signals
        };
        let running = lock(&self.registry).entries.len();
        match count {
            1 => {
                tracing::info!(target: "rutina", signal, running, "signal received; shutting down gracefully (send it again to abort)");
                self.begin_shutdown(ShutdownReason::Signal);
            }
            2 => {
                tracing::warn!(target: "rutina", signal, running, "second signal received; aborting the routines still running");
                self.begin_shutdown(ShutdownReason::Signal);
                self.abort_all();
            }
            _ if self.exit_on_third_signal => {
                eprintln!("{signal} received a third time; exiting now");
                std::process::exit(130);
            }
            _ => {
                tracing::warn!(target: "rutina", signal, running, "signal received again; routines were already aborted");
            }
        }
    }

    pub(crate) fn signals_received(&self) -> u32 {
        lock(&self.state).signals
    }

    // ----- events, logs and the errors channel ------------------------------------

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.get_or_init(|| broadcast::Sender::new(EVENT_CAPACITY)).subscribe()
    }

    /// Sends the event made by `make` if anyone ever subscribed.
    fn emit(&self, make: impl FnOnce() -> Event) {
        if let Some(events) = self.events.get() {
            let _ = events.send(make());
        }
    }

    pub(crate) fn on_started(&self, routine: &RoutineShared, attempt: u32) {
        tracing::debug!(target: "rutina", id = routine.id.get(), name = %routine.name(), attempt, "run started");
        self.emit(|| Event::Started { id: routine.id, name: routine.name().clone(), attempt });
    }

    pub(crate) fn on_finished(&self, routine: &RoutineShared, attempt: u32, outcome: &Outcome) {
        // The name only inside the macros, which skip their fields when the level is
        // off: an unnamed routine's name is made on first use.
        let id = routine.id.get();
        match outcome {
            Outcome::Ok => tracing::debug!(target: "rutina", id, name = %routine.name(), attempt, "run finished"),
            Outcome::Failed(error) => {
                if tracing::enabled!(target: "rutina", tracing::Level::WARN) {
                    let error = describe(&**error);
                    tracing::warn!(target: "rutina", id, name = %routine.name(), attempt, %error, "run failed");
                }
            }
            Outcome::Panicked(message) => {
                tracing::warn!(target: "rutina", id, name = %routine.name(), attempt, panic = %message, "run panicked")
            }
            Outcome::TimedOut(timeout) => {
                tracing::warn!(target: "rutina", id, name = %routine.name(), attempt, ?timeout, "run timed out")
            }
        }
        self.emit(|| Event::Finished {
            id: routine.id,
            name: routine.name().clone(),
            attempt,
            outcome: outcome.clone(),
        });
    }

    pub(crate) fn on_restarting(&self, routine: &RoutineShared, attempt: u32, delay: Duration) {
        tracing::debug!(target: "rutina", id = routine.id.get(), name = %routine.name(), attempt, ?delay, "restarting");
        self.emit(|| Event::Restarting { id: routine.id, name: routine.name().clone(), attempt, delay });
    }

    /// Sends a failure that decided nothing to the errors channel (rule 10).
    pub(crate) fn report(&self, routine: &RoutineShared, attempt: u32, outcome: &Outcome) {
        let Some(error) = failure(outcome) else { return };
        if let Some(errors) = &*lock(&self.errors) {
            let _ = errors.send(RoutineError { id: routine.id, name: routine.name().to_string(), attempt, error });
        }
    }
}

/// The shutdown as `wait` carries it out.
struct ShutdownPlan {
    /// Reverse start order: the routines not yet asked to stop, ascending (popped from the end).
    pending: Vec<Id>,
    /// Reverse start order: the routine stopping now.
    current: Option<Id>,
    /// When to abort which routine, earliest first.
    deadlines: BinaryHeap<Reverse<(Instant, Id)>>,
}

/// A routine's place in the group, held by its task: when the task ends or is
/// aborted, the routine leaves the registry and `Stopped` is emitted.
pub(crate) struct Membership {
    pub(crate) group: Arc<Group>,
    pub(crate) routine: Arc<RoutineShared>,
    pub(crate) ending: Ending,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.group.leave(&self.routine, std::mem::take(&mut self.ending));
    }
}

/// How a routine that ended during the shutdown stopped, for the shutdown report.
fn how_it_stopped(routine: &RoutineShared, ending: Ending) -> StopKind {
    if routine.aborted.load(Ordering::Acquire) {
        StopKind::Aborted
    } else if routine.is_killed() {
        StopKind::Killed
    } else if ending.between_runs {
        StopKind::BetweenRuns
    } else {
        StopKind::Returned(ending.last.unwrap_or(Outcome::Ok))
    }
}

/// The failure of an outcome, as the errors channel and `RunLimit` carry it.
pub(crate) fn failure(outcome: &Outcome) -> Option<SharedError> {
    match outcome {
        Outcome::Ok => None,
        Outcome::Failed(error) => Some(error.clone()),
        Outcome::Panicked(message) => Some(Arc::new(PanicError { message: message.clone() })),
        Outcome::TimedOut(timeout) => Some(Arc::new(TimeoutError { timeout: *timeout })),
    }
}

/// An error's message; a `Display` that panics cannot take the orchestrator down.
pub(crate) fn describe(error: &(dyn StdError + 'static)) -> String {
    catch_unwind(AssertUnwindSafe(|| error.to_string()))
        .unwrap_or_else(|_| "<the error's Display implementation panicked>".to_owned())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The signal listener's task: ends when the group is over.
async fn listen(group: Arc<Group>, mut signals: Signals) {
    loop {
        tokio::select! {
            biased;
            _ = group.over.cancelled() => return,
            signal = signals.recv() => group.on_signal(signal),
        }
    }
}
