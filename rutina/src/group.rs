//! The state one group shares between its handles and its routines' tasks: the
//! registry of alive routines, the decisive error, the shutdown, events and logs.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, mpsc};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::RoutineShared;
use crate::error::{PanicError, SharedError, TimeoutError};
use crate::event::{Event, Outcome, ShutdownReason};
use crate::signal::Signals;
use crate::{Error, Id, RoutineError};

/// How many events a slow subscriber may lag behind before it misses some.
const EVENT_CAPACITY: usize = 1024;

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
    /// Notified when the registry becomes empty.
    emptied: Notify,
    /// Cancelled when the group is over (shut down and empty, or waited for): the
    /// signal listener ends then.
    over: CancellationToken,
    shutdown_begun: AtomicBool,
    subscribed: AtomicBool,
    events: broadcast::Sender<Event>,
    errors: Option<mpsc::UnboundedSender<RoutineError>>,
    pub(crate) shutdown_timeout: Option<Duration>,
    listener: Mutex<Listener>,
    /// `rutina::main!`: a third OS signal exits the process at once.
    exit_on_third_signal: bool,
}

#[derive(Default)]
struct Registry {
    entries: HashMap<Id, Entry>,
    /// The stragglers were aborted: routines that show up later are aborted at once.
    aborted: bool,
    /// `wait` saw the group empty and ended it: nothing joins any more.
    closed: bool,
}

struct Entry {
    routine: Arc<RoutineShared>,
    abort: Option<AbortHandle>,
}

#[derive(Default)]
struct State {
    error: Option<Error>,
    shutdown_at: Option<Instant>,
    signals: u32,
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
    pub(crate) listen_os_signals: bool,
    pub(crate) exit_on_third_signal: bool,
}

impl Group {
    pub(crate) fn new(settings: GroupSettings) -> Arc<Group> {
        let token = match settings.parent {
            Some(parent) => parent.child_token(),
            None => CancellationToken::new(),
        };
        let group = Arc::new(Group {
            token,
            next_id: AtomicU64::new(1),
            registry: Mutex::default(),
            state: Mutex::default(),
            emptied: Notify::new(),
            over: CancellationToken::new(),
            shutdown_begun: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            events: broadcast::Sender::new(EVENT_CAPACITY),
            errors: settings.errors,
            shutdown_timeout: settings.shutdown_timeout,
            listener: Mutex::new(Listener::Off),
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
    pub(crate) fn join(self: &Arc<Self>, id: Id, name: Option<String>) -> Option<Membership> {
        if self.is_shutting_down() {
            return None;
        }
        let routine = Arc::new(RoutineShared::new(id, name, self.token.child_token()));
        let mut registry = lock(&self.registry);
        if registry.closed {
            return None;
        }
        registry.entries.insert(id, Entry { routine: routine.clone(), abort: None });
        drop(registry);
        Some(Membership { group: self.clone(), routine, runs: 0 })
    }

    /// Records how to abort the task of routine `id`, or aborts it at once if the
    /// stragglers were already aborted.
    pub(crate) fn set_abort_handle(&self, id: Id, handle: AbortHandle) {
        let mut registry = lock(&self.registry);
        let aborted = registry.aborted;
        if let Some(entry) = registry.entries.get_mut(&id) {
            if aborted {
                handle.abort();
            } else {
                entry.abort = Some(handle);
            }
        }
    }

    fn leave(&self, routine: &RoutineShared, runs: u32) {
        let empty = {
            let mut registry = lock(&self.registry);
            registry.entries.remove(&routine.id);
            registry.entries.is_empty()
        };
        tracing::debug!(target: "rutina", id = routine.id.get(), name = %routine.name(), runs, "routine stopped");
        self.emit(|| Event::Stopped { id: routine.id, name: routine.name().clone(), runs });
        if empty {
            self.emptied.notify_waiters();
            if self.shutdown_begun.load(Ordering::Acquire) {
                self.over.cancel();
            }
        }
    }

    pub(crate) fn processes(&self) -> Vec<Id> {
        let mut ids: Vec<Id> = lock(&self.registry).entries.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub(crate) fn kill(&self, id: Id) -> Result<(), Error> {
        let routine = match lock(&self.registry).entries.get(&id) {
            Some(entry) => entry.routine.clone(),
            None => return Err(Error::NotFound(id)),
        };
        if routine.killed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        tracing::info!(target: "rutina", id = id.get(), name = %routine.name(), "routine killed");
        self.emit(|| Event::Killed { id, name: routine.name().clone() });
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

    /// Called when a routine saw its token cancelled before a run.
    pub(crate) fn note_external_cancel(&self) {
        self.is_shutting_down();
    }

    pub(crate) fn begin_shutdown(&self, reason: ShutdownReason) {
        if self.shutdown_begun.swap(true, Ordering::AcqRel) {
            return;
        }
        lock(&self.state).shutdown_at = Some(Instant::now());
        let running = lock(&self.registry).entries.len();
        tracing::info!(target: "rutina", ?reason, running, "shutting down");
        self.emit(|| Event::ShutdownStarted { reason: reason.clone(), running });
        self.token.cancel();
        if running == 0 {
            self.over.cancel();
        }
    }

    /// A run ended under `Shutdown` (rule 4).
    pub(crate) fn shutdown_by(&self, routine: &RoutineShared, attempt: u32, outcome: Outcome) {
        let failed = !outcome.is_ok();
        let name = || routine.name().to_string();
        let error = match &outcome {
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
            self.report(routine, attempt, &outcome);
        }
        self.begin_shutdown(ShutdownReason::Routine { id: routine.id, name: routine.name().clone(), failed });
    }

    /// A restart was due with `max_count` restarts made (rule 3).
    pub(crate) fn run_limit(&self, routine: &RoutineShared, runs: u32, outcome: Outcome) {
        tracing::error!(target: "rutina", id = routine.id.get(), name = %routine.name(), runs, "restart limit reached");
        let error =
            Error::RunLimit { id: routine.id, name: routine.name().to_string(), runs, last_error: failure(&outcome) };
        if !self.record_error(error) {
            self.report(routine, runs, &outcome);
        }
        self.begin_shutdown(ShutdownReason::RunLimit { id: routine.id, name: routine.name().clone() });
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

    /// The deadline of the grace period, once a shutdown began and if one is set.
    fn grace_deadline(&self) -> Option<Instant> {
        let timeout = self.shutdown_timeout?;
        let at = lock(&self.state).shutdown_at?;
        Some(at.checked_add(timeout).unwrap_or_else(|| at + Duration::from_secs(86400 * 365 * 30)))
    }

    /// Aborts every routine still alive; the group's error becomes `Aborted`.
    pub(crate) fn abort_stragglers(&self) {
        let stuck: Vec<(Arc<RoutineShared>, Option<AbortHandle>)> = {
            let mut registry = lock(&self.registry);
            if registry.aborted {
                return;
            }
            registry.aborted = true;
            let mut stuck: Vec<_> =
                registry.entries.values_mut().map(|entry| (entry.routine.clone(), entry.abort.take())).collect();
            stuck.sort_unstable_by_key(|(routine, _)| routine.id);
            stuck
        };
        if stuck.is_empty() {
            return;
        }
        {
            let mut state = lock(&self.state);
            let cause = state.error.take().map(Box::new);
            let stuck = stuck.iter().map(|(routine, _)| (routine.id, routine.name().to_string())).collect();
            state.error = Some(Error::Aborted { stuck, cause });
        }
        for (routine, handle) in stuck {
            tracing::error!(target: "rutina", id = routine.id.get(), name = %routine.name(), "routine did not stop in time; aborting it");
            self.emit(|| Event::Aborted { id: routine.id, name: routine.name().clone() });
            if let Some(handle) = handle {
                handle.abort();
            }
        }
    }

    /// Waits until no routine is alive, enforcing the grace period; then ends the group.
    pub(crate) async fn wait(self: &Arc<Self>) -> Result<(), Error> {
        self.install_wanted_listener();
        let mut grace_enforced = false;
        loop {
            let emptied = self.emptied.notified();
            let mut emptied = std::pin::pin!(emptied);
            emptied.as_mut().enable();
            if self.close_if_empty() {
                break;
            }
            let shutting_down = self.is_shutting_down();
            let deadline = if grace_enforced { None } else { self.grace_deadline() };
            tokio::select! {
                _ = emptied => {}
                _ = self.token.cancelled(), if !shutting_down => {}
                _ = sleep_until(deadline), if deadline.is_some() => {
                    grace_enforced = true;
                    self.abort_stragglers();
                }
            }
        }
        self.finish().await;
        match &lock(&self.state).error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Ends the group: its token is cancelled and its signal listener gone.
    async fn finish(&self) {
        self.shutdown_begun.store(true, Ordering::Release);
        self.token.cancel();
        self.over.cancel();
        let listener = std::mem::replace(&mut *lock(&self.listener), Listener::Done);
        if let Listener::Running(handle) = listener {
            // It ends as soon as it sees `over`.
            let _ = handle.await;
        }
    }

    /// The last handle is gone without waiting: cancel everything.
    pub(crate) fn dropped(&self) {
        if !self.shutdown_begun.load(Ordering::Acquire) {
            self.begin_shutdown(ShutdownReason::Dropped);
        }
        if lock(&self.registry).entries.is_empty() {
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
            return;
        };
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
        if matches!(*lock(&self.listener), Listener::Wanted) {
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
                self.abort_stragglers();
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
        self.subscribed.store(true, Ordering::Release);
        self.events.subscribe()
    }

    /// Sends the event made by `make` if anyone ever subscribed.
    fn emit(&self, make: impl FnOnce() -> Event) {
        if self.subscribed.load(Ordering::Acquire) {
            let _ = self.events.send(make());
        }
    }

    pub(crate) fn on_started(&self, routine: &RoutineShared, attempt: u32) {
        tracing::debug!(target: "rutina", id = routine.id.get(), name = %routine.name(), attempt, "run started");
        self.emit(|| Event::Started { id: routine.id, name: routine.name().clone(), attempt });
    }

    pub(crate) fn on_finished(&self, routine: &RoutineShared, attempt: u32, outcome: &Outcome) {
        let (id, name) = (routine.id.get(), routine.name());
        match outcome {
            Outcome::Ok => tracing::debug!(target: "rutina", id, %name, attempt, "run finished"),
            Outcome::Failed(error) => {
                if tracing::enabled!(target: "rutina", tracing::Level::WARN) {
                    let error = describe(&**error);
                    tracing::warn!(target: "rutina", id, %name, attempt, %error, "run failed");
                }
            }
            Outcome::Panicked(message) => {
                tracing::warn!(target: "rutina", id, %name, attempt, panic = %message, "run panicked")
            }
            Outcome::TimedOut(timeout) => {
                tracing::warn!(target: "rutina", id, %name, attempt, ?timeout, "run timed out")
            }
        }
        self.emit(|| Event::Finished { id: routine.id, name: name.clone(), attempt, outcome: outcome.clone() });
    }

    pub(crate) fn on_restarting(&self, routine: &RoutineShared, attempt: u32, delay: Duration) {
        tracing::debug!(target: "rutina", id = routine.id.get(), name = %routine.name(), attempt, ?delay, "restarting");
        self.emit(|| Event::Restarting { id: routine.id, name: routine.name().clone(), attempt, delay });
    }

    /// Sends a failure that decided nothing to the errors channel (rule 10).
    pub(crate) fn report(&self, routine: &RoutineShared, attempt: u32, outcome: &Outcome) {
        if let (Some(errors), Some(error)) = (&self.errors, failure(outcome)) {
            let _ = errors.send(RoutineError { id: routine.id, name: routine.name().to_string(), attempt, error });
        }
    }
}

/// A routine's place in the group, held by its task: when the task ends or is
/// aborted, the routine leaves the registry and `Stopped` is emitted.
pub(crate) struct Membership {
    group: Arc<Group>,
    routine: Arc<RoutineShared>,
    runs: u32,
}

impl Membership {
    pub(crate) fn group(&self) -> &Arc<Group> {
        &self.group
    }

    pub(crate) fn routine(&self) -> &Arc<RoutineShared> {
        &self.routine
    }

    pub(crate) fn set_runs(&mut self, runs: u32) {
        self.runs = runs;
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.group.leave(&self.routine, self.runs);
    }
}

/// The failure of an outcome, as the errors channel and `RunLimit` carry it.
fn failure(outcome: &Outcome) -> Option<SharedError> {
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
