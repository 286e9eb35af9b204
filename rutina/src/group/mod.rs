//! [`Group`]: one group of routines, as its handles ([`Rutina`](crate::Rutina)), its
//! routines' supervisors and its own tasks share it.
//!
//! Its parts, one job each:
//! - `core`: the state under the group's one lock — the phase of its life and its
//!   members — with its invariants and lock order written down;
//! - `members`: the registry of the members, by id (kept in `core`);
//! - `shutdown`: the plan of a shutdown (order, grace periods, aborts);
//! - `signals`: what OS signals do to the group;
//! - `drive`: `wait`, which carries the plan out, and the reaper of a dropped group;
//! - [`crate::observe`]: the logs, the events and the errors channel.

mod core;
mod drive;
mod members;
mod shutdown;
mod signals;

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::core::{Core, OVER, Phase, RUNNING, Shutdown, Stop};
use self::shutdown::Plan;
use self::signals::Listener;
use crate::context::Scope;
use crate::event::{Event, Outcome, ShutdownReason};
use crate::health::Health;
use crate::lease::SharedLease;
use crate::member::{Joining, Member};
use crate::metrics::{self, Activity};
use crate::monitor::{Control, Monitor, Operator, View};
use crate::observe::Observers;
use crate::status::{RoutineStatus, ShutdownReport};
use crate::sync::lock;
use crate::{Context, Error, Id, Options, RunOptions, ShutdownOrder};

/// How many members that left during a shutdown wake the driver to let go of them.
///
/// A member that leaves during a shutdown stays in the report's keeping until the driver
/// (`wait`, or the reaper) lets go of it, and of the routine's task its handle
/// holds: freed on the driver's thread, a batch at a time while the others still end,
/// as a `JoinSet` frees the tasks it joins, rather than by the routines' tasks as they
/// end (which made both workers free into the arena of the thread that started them)
/// or all at once when the group is dropped.
const RELEASE_BATCH: usize = 256;

pub(crate) struct Group {
    core: Mutex<Core>,
    /// `core.phase`'s discriminant (`RUNNING`, `SHUTTING_DOWN`, `OVER`), for reads
    /// without the lock; written with it held.
    phase: AtomicU8,
    /// The group's token, [`Rutina::token`](crate::Rutina::token): cancelled when the
    /// shutdown begins. The members are not its children: the shutdown cancels them,
    /// all at once (when its delay is over) or on their turns. A token cancelled from
    /// outside (through the parent, or by whoever it was handed to) is noticed by the
    /// watcher, which begins the shutdown.
    pub(crate) token: CancellationToken,
    /// Whether the token can be cancelled from outside: the group has a parent, or the
    /// token was handed out. Only then is it looked at (its lock) on hot paths.
    token_shared: AtomicBool,
    next_id: AtomicU64,
    settings: Settings,
    /// Notified when what a driver waits for changes: the group became empty, a member
    /// left in reverse start order, a shutdown began.
    changed: Notify,
    /// Cancelled when the group is over (see `core`): the group's own tasks end then.
    over: CancellationToken,
    shutdown_watch: watch::Sender<bool>,
    pub(crate) health: Arc<Health>,
    pub(crate) observers: Observers,
    tasks: Mutex<Tasks>,
    /// Whether the listener is `Wanted` (asked for outside a runtime): `go` reads this, not
    /// the lock, every time.
    listener_wanted: AtomicBool,
    /// How many reloads restarted at least one routine (for systemd's `RELOADING=1`).
    reloads: AtomicU64,
}

/// What the group was made with.
struct Settings {
    shutdown_timeout: Option<Duration>,
    order: ShutdownOrder,
    /// The lease backend of singleton routines.
    lease: Option<SharedLease>,
    /// The lame-duck delay of shutdowns by signal, `shutdown()` or the parent token.
    delay: Option<Duration>,
    /// `Main`: a third OS signal exits the process at once.
    exit_on_third_signal: bool,
}

/// The group's own tasks, each ending when the group is over.
struct Tasks {
    listener: Listener,
    /// Begins the shutdown when the parent token is cancelled (spawned at the first `go`),
    /// so that the shutdown, its event and its grace period begin then, also when nobody
    /// is waiting yet.
    parent_watch: Option<JoinHandle<()>>,
    /// Carries the shutdown out for a group whose last handle was dropped.
    reaper: Option<JoinHandle<()>>,
}

/// How the routine's last moments went, kept by its supervisor for the shutdown report.
#[derive(Default)]
pub(crate) struct Ending {
    pub(crate) runs: u32,
    pub(crate) between_runs: bool,
    /// The routine no longer holds the group's readiness up (see `Membership::settled`).
    settled: bool,
}

impl Ending {
    /// The routine `member` ends after a run that ended with `outcome`, which the
    /// shutdown report tells if the group is shutting down (kept by the member: here it
    /// would take room in the state of every routine). `Ok`, what most runs end with in
    /// a shutdown, is what the report assumes: nothing to keep.
    pub(crate) fn ended(&mut self, outcome: Outcome, member: &Member, group: &Group) {
        if !outcome.is_ok() && group.phase() != RUNNING {
            member.ended_with(outcome);
        }
    }
}

/// A routine's place in the group, held by its supervisor: when the supervisor ends or is
/// aborted, the routine leaves the group and `Stopped` is emitted.
pub(crate) struct Membership {
    pub(crate) group: Arc<Group>,
    /// The routine (`scope.member`) and the run its contexts are of.
    pub(crate) scope: Arc<Scope>,
    pub(crate) ending: Ending,
}

impl Membership {
    /// The context of run `attempt`, whose own token is `run_token` if it has one.
    pub(crate) fn context(&mut self, attempt: u32, run_token: Option<CancellationToken>) -> Context {
        Scope::next(&mut self.scope, attempt, run_token)
    }

    /// The routine is where it should be, as far as the group's readiness goes: it began
    /// its first run, or waits for its schedule's first tick or for its singleton lease
    /// (a standby replica, a nightly job, must not keep a service from being ready).
    /// Counted once; the routine's start is stamped then.
    pub(crate) fn settled(&mut self) {
        if !self.ending.settled {
            self.ending.settled = true;
            self.scope.member.began(Instant::now());
            if self.scope.member.settle() {
                self.group.health.first_run_over();
            }
        }
    }

    /// After an operator's restart: the routine runs again as a fresh member (`true`),
    /// unless it was killed or the group is shutting down since.
    pub(crate) fn renew(&mut self) -> bool {
        match self.group.renew(&self.scope.member) {
            Some(member) => {
                self.scope = Arc::new(Scope::new(member, 1, None));
                true
            }
            None => false,
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.group.leave(&self.scope.member, std::mem::take(&mut self.ending));
    }
}

impl Group {
    pub(crate) fn new(options: Options) -> Arc<Group> {
        let Options {
            parent_token,
            listen_os_signals,
            errors,
            shutdown_timeout,
            shutdown_order,
            exit_on_third_signal,
            lease,
            shutdown_delay: delay,
        } = options;
        let has_parent = parent_token.is_some();
        let token = parent_token.map_or_else(CancellationToken::new, |parent| parent.child_token());
        let group = Arc::new(Group {
            core: Mutex::new(Core::new()),
            phase: AtomicU8::new(RUNNING),
            token,
            token_shared: AtomicBool::new(has_parent),
            next_id: AtomicU64::new(1),
            settings: Settings { shutdown_timeout, order: shutdown_order, exit_on_third_signal, lease, delay },
            changed: Notify::new(),
            over: CancellationToken::new(),
            shutdown_watch: watch::Sender::new(false),
            health: Arc::default(),
            observers: Observers::new(errors),
            tasks: Mutex::new(Tasks { listener: Listener::Off, parent_watch: None, reaper: None }),
            listener_wanted: AtomicBool::new(false),
            reloads: AtomicU64::new(0),
        });
        group.health.set_group(Arc::downgrade(&group) as Weak<Group>);
        if listen_os_signals {
            group.listen_os_signals();
        }
        group
    }

    pub(crate) fn next_id(&self) -> Id {
        Id::new(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn phase(&self) -> u8 {
        self.phase.load(Ordering::Acquire)
    }

    /// Sets the phase and its mirror; `core` is the locked state.
    fn set_phase(&self, core: &mut Core, phase: Phase) {
        self.phase.store(phase.code(), Ordering::Release);
        core.phase = phase;
    }

    /// Updates the mirror after `core.end_if_empty` ended the group, and tells its tasks.
    fn ended(&self, core: &Core) {
        self.phase.store(core.phase.code(), Ordering::Release);
        self.over.cancel();
        self.changed.notify_waiters();
    }

    // ----- membership -------------------------------------------------------------

    /// Registers a routine about to be spawned, or `None` when the group no longer takes
    /// routines (rule 6).
    pub(crate) fn join(self: &Arc<Self>, id: Id, options: &mut RunOptions) -> Option<Membership> {
        // Notices a token cancelled from outside (the watcher may not have run yet).
        if self.is_shutting_down() {
            return None;
        }
        let joining = Joining {
            name: options.name.take(),
            grace: options.grace_period,
            gate: options.readiness_gate,
            heartbeat: options.heartbeat,
            watched: options.timeout.is_some() || options.heartbeat.is_some() || options.singleton.is_some(),
            singleton: options.singleton.is_some(),
            reload: options.reload,
            health: self.health.clone(),
        };
        let gate = joining.gate;
        let member = Arc::new(Member::new(id, joining));
        {
            let mut core = lock(&self.core);
            if !matches!(core.phase, Phase::Running) {
                return None;
            }
            core.graced += usize::from(member.grace().is_some());
            core.members.insert(member.clone());
            let counted = self.health.is_counting();
            if counted {
                member.counted();
            }
            self.health.joined(counted, gate);
        }
        self.watch_token();
        let scope = Arc::new(Scope::new(member, 1, None));
        Some(Membership { group: self.clone(), scope, ending: Ending::default() })
    }

    fn leave(&self, member: &Arc<Member>, ending: Ending) {
        member.set_activity(Activity::Gone);
        let mut shutdown_took = None;
        let runs = ending.runs;
        let settled = ending.settled;
        // Read before the lock, which is held as briefly as can be.
        let shutting_down = self.phase() != RUNNING;
        let now = shutting_down.then(Instant::now);
        // What the shutdown report keeps of the member: its name if made, and how its last
        // run ended. Read before the lock too, or under it if the shutdown began meanwhile.
        let reported = || (member.name_if_made(), member.take_last_outcome());
        let read = shutting_down.then(reported);
        let (empty, over, release) = {
            let mut core = lock(&self.core);
            let core = &mut *core;
            let left = core.members.remove(&member.id);
            if left.is_some() {
                core.graced -= usize::from(member.grace().is_some());
            }
            let mut release = false;
            // A member that ends during the shutdown goes in the shutdown report.
            if let Phase::ShuttingDown(shutdown) = &mut core.phase {
                let since = shutdown.plan.asked_at(member.id);
                let took = now.unwrap_or_else(Instant::now).saturating_duration_since(since);
                // Under the lock that aborting takes: "aborted" agrees with `Aborted`.
                let how = how_it_stopped(member, &ending);
                core.stopped.push(member.id, how, runs, took, read.unwrap_or_else(reported));
                // The driver lets go of it (and of its task), a batch at a time.
                if let Some(left) = left {
                    core.leaving.push(left);
                    release = core.leaving.len() == RELEASE_BATCH;
                }
            }
            let empty = core.members.is_empty();
            let over = empty && core.end_if_empty(false);
            if over {
                self.phase.store(OVER, Ordering::Release);
                shutdown_took = core.shutdown_took();
            }
            (empty, over, release)
        };
        self.observers.group_over(shutdown_took);
        if !settled && member.settle() {
            self.health.first_run_over();
        }
        if member.take_reload_pending() {
            self.health.reloaded();
        }
        member.left(&self.health);
        self.observers.stopped(member, runs);
        if over {
            self.over.cancel();
        }
        if empty || release || self.settings.order == ShutdownOrder::ReverseStart {
            self.changed.notify_waiters();
        }
    }

    /// The members, ascending by id.
    fn members(&self) -> Vec<Arc<Member>> {
        lock(&self.core).members.values().cloned().collect()
    }

    pub(crate) fn processes(&self) -> Vec<Id> {
        lock(&self.core).members.keys().copied().collect()
    }

    pub(crate) fn status(&self) -> Vec<RoutineStatus> {
        self.members().iter().map(|member| member.status()).collect()
    }

    /// The lease backend, for a singleton routine about to start.
    pub(crate) fn lease(&self) -> Option<SharedLease> {
        self.settings.lease.clone()
    }

    /// `go` was given a singleton routine but the group has no lease backend: the
    /// routine is not started and the group shuts down with this configuration error.
    pub(crate) fn no_lease(self: &Arc<Self>, id: Id, name: &str, key: &str) {
        let message = format!(
            "routine `{name}` is a singleton (lease key `{key}`) but its group has no lease backend: \
             set one with `Options::lease` (or `lease:` in `rutina::main!`)"
        );
        tracing::error!(target: "rutina", id = id.get(), name, key, "{message}");
        let source: crate::SharedError = std::sync::Arc::from(crate::BoxError::from(message));
        let error = Error::Routine { id, name: name.to_owned(), source };
        lock(&self.core).record_error(error);
        self.begin_shutdown(ShutdownReason::Routine { id, name: name.to_owned(), failed: true });
    }

    /// Asks routine `id` for an operator's restart (`reload`: for a reload).
    pub(crate) fn restart(&self, id: Id, reload: bool) -> Result<(), Error> {
        let member = {
            let core = lock(&self.core);
            // A token cancelled from outside is a shutdown, although its watcher may not
            // have begun it yet (as `join` sees it).
            if !matches!(core.phase, Phase::Running) || self.cancelled_from_outside() {
                return Err(Error::ShuttingDown);
            }
            core.members.get(&id).ok_or(Error::NotFound(id))?.clone()
        };
        if member.request_restart(reload) {
            let why = if reload { "reloading routine" } else { "restarting routine at an operator's request" };
            tracing::info!(target: "rutina", id = id.get(), name = %member.name(), "{why}");
        }
        Ok(())
    }

    /// Restarts every routine marked `reload`; how many.
    pub(crate) fn reload(&self) -> Result<usize, Error> {
        let marked: Vec<_> = {
            let core = lock(&self.core);
            if !matches!(core.phase, Phase::Running) || self.cancelled_from_outside() {
                return Err(Error::ShuttingDown);
            }
            core.members.values().filter(|member| member.reloads()).cloned().collect()
        };
        let mut reloaded = 0;
        for member in &marked {
            if member.request_restart(true) {
                self.health.reloading();
                reloaded += 1;
                tracing::info!(target: "rutina", id = member.id.get(), name = %member.name(), "reloading routine");
            }
        }
        if reloaded > 0 {
            self.reloads.fetch_add(1, Ordering::AcqRel);
            self.changed.notify_waiters();
        }
        Ok(reloaded)
    }

    /// After an operator's restart: a fresh member for the routine (its token is spent),
    /// unless it was killed or the group is shutting down since.
    fn renew(self: &Arc<Self>, old: &Member) -> Option<Arc<Member>> {
        // Notices a token cancelled from outside (the watcher may not have run yet), as a
        // policy's restart does.
        if self.is_shutting_down() {
            return None;
        }
        let mut core = lock(&self.core);
        if !matches!(core.phase, Phase::Running) || old.is_killed() || !core.members.contains_key(&old.id) {
            return None;
        }
        let member = Arc::new(old.renewed());
        core.members.insert(member.clone());
        Some(member)
    }

    pub(crate) fn kill(&self, id: Id) -> Result<(), Error> {
        let member = {
            let core = lock(&self.core);
            let member = core.members.get(&id).ok_or(Error::NotFound(id))?.clone();
            if !member.mark_killed() {
                return Ok(());
            }
            // Sent while the member is still in the group, so that it comes before its
            // `Stopped` (which `leave` sends once it is not).
            self.observers.event(|| Event::Killed { id, name: member.name().to_string() });
            member
        };
        self.observers.killed(&member);
        member.cancel();
        member.stopping();
        Ok(())
    }

    pub(crate) fn monitor(self: &Arc<Self>) -> Monitor {
        Monitor::new(Arc::downgrade(self) as Weak<Group>)
    }

    pub(crate) fn operator(self: &Arc<Self>) -> Operator {
        Operator::new(Arc::downgrade(self) as Weak<Group>)
    }

    // ----- health -----------------------------------------------------------------

    /// Every routine began its first run, every readiness gate is ready, and the group is
    /// not shutting down.
    pub(crate) fn is_ready(self: &Arc<Self>) -> bool {
        self.count_unsettled();
        self.health.is_ready() && !self.is_shutting_down()
    }

    /// Begins counting the unsettled routines, if not yet: from the first time someone
    /// asks whether the group is ready.
    pub(crate) fn count_unsettled(&self) {
        if self.health.is_counting() {
            return;
        }
        let core = lock(&self.core);
        if self.health.is_counting() {
            return;
        }
        let unsettled = core.members.values().filter(|member| member.count_if_unsettled()).count();
        self.health.begin_counting(unsettled);
    }

    /// No routine is crash-looping, and the group is not over.
    pub(crate) fn is_live(&self) -> bool {
        self.health.is_live() && self.phase() != OVER
    }

    // ----- shutdown ---------------------------------------------------------------

    /// The group's token was handed out and is cancelled: a shutdown, begun or about to be
    /// (by its watcher).
    fn cancelled_from_outside(&self) -> bool {
        self.token_shared.load(Ordering::Acquire) && self.token.is_cancelled()
    }

    /// Whether the group is shutting down (or over); notices a token cancelled from outside.
    pub(crate) fn is_shutting_down(self: &Arc<Self>) -> bool {
        if self.phase() != RUNNING {
            return true;
        }
        if self.cancelled_from_outside() {
            self.begin_shutdown(ShutdownReason::Cancelled);
            return true;
        }
        false
    }

    /// The group's token, handed out: from now on it may be cancelled from outside, which
    /// the watcher notices.
    pub(crate) fn share_token(self: &Arc<Self>) -> CancellationToken {
        if !self.token_shared.swap(true, Ordering::AcqRel) {
            self.watch_token();
        }
        self.token.clone()
    }

    pub(crate) fn watch_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown_watch.subscribe()
    }

    /// Begins the group's shutdown for `reason`, unless it began already (rule 6).
    pub(crate) fn begin_shutdown(self: &Arc<Self>, reason: ShutdownReason) {
        if self.phase() != RUNNING {
            return;
        }
        let now = Instant::now();
        // The lame-duck delay, for the shutdowns that are not a broken service's.
        let delay = match reason {
            ShutdownReason::Signal | ShutdownReason::Requested | ShutdownReason::Cancelled => self.settings.delay,
            _ => None,
        };
        let (mut cancelled, mut shutdown_took, mut waiters) = (Vec::new(), None, Vec::new());
        let running = {
            let mut core = lock(&self.core);
            if !matches!(core.phase, Phase::Running) {
                return;
            }
            let mut plan =
                Plan::new(self.settings.order, self.settings.shutdown_timeout, now, delay.unwrap_or(Duration::ZERO));
            if delay.is_none() {
                // All at once, every member is cancelled now; in reverse start order,
                // their turns come.
                plan.begin(&core.members, core.graced);
                waiters = plan.take_waiters();
                // For the gauge: those this cancels are stopping.
                if metrics::RECORDED {
                    cancelled.extend(core.members.values().cloned());
                }
            }
            let running = core.members.len();
            // Every member alive now goes in the shutdown report: one allocation, not a copy
            // of the report each time it grows, under the lock every member takes.
            core.stopped.reserve(running);
            self.set_phase(&mut core, Phase::ShuttingDown(Shutdown { reason: reason.clone(), began_at: now, plan }));
            if core.end_if_empty(false) {
                self.ended(&core);
                shutdown_took = core.shutdown_took();
            }
            running
        };
        // In the order they were started: their tasks wake, and end, in the order they
        // are laid out in memory.
        waiters.into_iter().for_each(Waker::wake);
        self.observers.shutdown_started(&reason, running);
        self.shutdown_watch.send_replace(true);
        self.token.cancel();
        cancelled.iter().for_each(|member| member.stopping());
        self.observers.group_over(shutdown_took);
        self.changed.notify_waiters();
        if let Some(delay) = delay {
            tracing::info!(target: "rutina", ?delay, "not ready; routines keep serving for the shutdown delay");
            // The delay ends even if nobody waits for the group.
            self.spawn_reaper();
        }
    }

    /// Ends the lame-duck delay now, if one is running.
    fn skip_delay(&self) {
        if let Phase::ShuttingDown(shutdown) = &mut lock(&self.core).phase {
            shutdown.plan.skip_delay(Instant::now());
        }
        self.changed.notify_waiters();
    }

    /// A run ended under `Shutdown` (rule 4).
    pub(crate) fn shutdown_by(self: &Arc<Self>, member: &Member, attempt: u32, outcome: &Outcome) {
        let name = || member.name().to_string();
        let error = match outcome {
            Outcome::Ok => None,
            Outcome::Failed(source) => Some(Error::Routine { id: member.id, name: name(), source: source.clone() }),
            Outcome::Panicked(message) => {
                Some(Error::Panicked { id: member.id, name: name(), message: message.clone() })
            }
            Outcome::TimedOut(timeout) => Some(Error::TimedOut { id: member.id, name: name(), timeout: *timeout }),
            Outcome::Hung(heartbeat) => Some(Error::Hung { id: member.id, name: name(), heartbeat: *heartbeat }),
        };
        if let Some(error) = error
            && !lock(&self.core).record_error(error)
        {
            self.observers.report(member, attempt, outcome);
        }
        let failed = !outcome.is_ok();
        self.begin_shutdown(ShutdownReason::Routine { id: member.id, name: name(), failed });
    }

    /// A restart was due with `max_count` restarts made (rule 3).
    pub(crate) fn run_limit(self: &Arc<Self>, member: &Member, runs: u32, outcome: &Outcome) {
        tracing::error!(target: "rutina", id = member.id.get(), name = %member.name(), runs, "restart limit reached");
        let error =
            Error::RunLimit { id: member.id, name: member.name().to_string(), runs, last_error: outcome.failure() };
        if !lock(&self.core).record_error(error) {
            self.observers.report(member, runs, outcome);
        }
        self.begin_shutdown(ShutdownReason::RunLimit { id: member.id, name: member.name().to_string() });
    }

    /// A restart was due with the restart intensity used up.
    pub(crate) fn restart_intensity(
        self: &Arc<Self>,
        member: &Member,
        attempt: u32,
        outcome: &Outcome,
        restarts: u32,
        within: Duration,
    ) {
        tracing::error!(target: "rutina", id = member.id.get(), name = %member.name(), attempt, restarts, ?within, "restart intensity exceeded");
        let error = Error::RestartIntensity {
            id: member.id,
            name: member.name().to_string(),
            restarts,
            within,
            last_error: outcome.failure(),
        };
        if !lock(&self.core).record_error(error) {
            self.observers.report(member, attempt, outcome);
        }
        self.begin_shutdown(ShutdownReason::RestartIntensity { id: member.id, name: member.name().to_string() });
    }

    /// Aborts every member still alive (a second OS signal, a dropped group inside an
    /// aborted routine).
    pub(crate) fn abort_all(&self, why: &str) {
        self.skip_delay();
        let members: Vec<_> = lock(&self.core).members.values().cloned().collect();
        self.abort(members, why);
    }

    /// Aborts `members` (those not aborted yet), recording them for `Error::Aborted`.
    fn abort(&self, mut members: Vec<Arc<Member>>, why: &str) {
        if members.is_empty() {
            return;
        }
        let mut before_turn = Vec::new();
        {
            let mut core = lock(&self.core);
            let core = &mut *core;
            let plan = match &core.phase {
                Phase::ShuttingDown(shutdown) => Some(&shutdown.plan),
                _ => None,
            };
            members.retain_mut(|member| {
                // Only a member still in the group is aborted, under the lock `leave`
                // takes: `Aborted` comes before its `Stopped`, and "aborted" in the report
                // agrees with `Error::Aborted`. The routine's member in the group now,
                // which holds its task: an operator's restart renews it.
                let Some(current) = core.members.get(&member.id) else { return false };
                if !Arc::ptr_eq(current, member) {
                    *member = current.clone();
                }
                if !member.abort() {
                    return false;
                }
                let waiting = self.settings.order == ShutdownOrder::ReverseStart
                    && plan.is_some_and(|plan| !plan.turn_came(member.id));
                if waiting {
                    member.mark_aborted_before_turn();
                    before_turn.push(member.id);
                }
                core.aborted.push((member.id, member.name().to_string()));
                self.observers.event(|| Event::Aborted {
                    id: member.id,
                    name: member.name().to_string(),
                    before_turn: waiting,
                });
                true
            });
        }
        members.sort_unstable_by_key(|member| member.id);
        for member in &members {
            if before_turn.contains(&member.id) {
                self.observers.aborted(member, "routine aborted before its turn to stop (reverse start order)");
            } else {
                self.observers.aborted(member, why);
            }
        }
    }

    /// How the group stopped, once it is over.
    pub(crate) fn shutdown_report(&self) -> Option<ShutdownReport> {
        lock(&self.core).report()
    }

    /// The last handle is gone: nobody can `wait` any more. The shutdown begins, failures
    /// from now on go to the errors channel, and what `wait` would have enforced — the
    /// order, the grace periods — is carried out in the background; inside a routine
    /// being aborted, the group's routines are aborted at once.
    pub(crate) fn dropped(self: &Arc<Self>) {
        self.begin_shutdown(ShutdownReason::Dropped);
        let active = {
            let mut core = lock(&self.core);
            core.orphaned = true;
            core.shutdown().is_some_and(|shutdown| {
                // Nobody is served by a lame duck that nobody holds.
                shutdown.plan.skip_delay(Instant::now());
                shutdown.plan.is_active()
            })
        };
        self.changed.notify_waiters();
        if crate::aborting::is_aborting() {
            self.abort_all("the routine that owned its group was aborted");
            return;
        }
        if active && !self.spawn_reaper() {
            // No runtime to carry the plan out: stop every member now.
            let mut guard = lock(&self.core);
            let core = &mut *guard;
            if let Phase::ShuttingDown(shutdown) = &mut core.phase {
                shutdown.plan.stop_all_now(&core.members, Instant::now());
            }
            if metrics::RECORDED {
                let members: Vec<_> = core.members.values().cloned().collect();
                drop(guard);
                members.iter().for_each(|member| member.stopping());
            }
        }
    }
}

impl View for Group {
    fn is_ready(&self) -> bool {
        self.count_unsettled();
        self.health.is_ready() && self.phase() == RUNNING
    }
    fn is_live(&self) -> bool {
        Group::is_live(self)
    }
    fn is_shutting_down(&self) -> bool {
        self.phase() != RUNNING || self.cancelled_from_outside()
    }
    fn watch_shutdown(&self) -> watch::Receiver<bool> {
        Group::watch_shutdown(self)
    }
    fn status(&self) -> Vec<RoutineStatus> {
        Group::status(self)
    }
}

impl Control for Group {
    fn restart(&self, id: Id) -> Result<(), Error> {
        Group::restart(self, id, false)
    }
    fn reload(&self) -> Result<usize, Error> {
        Group::reload(self)
    }
    fn kill(&self, id: Id) -> Result<(), Error> {
        Group::kill(self, id)
    }
    fn shutdown(self: Arc<Self>) {
        self.begin_shutdown(ShutdownReason::Requested);
    }
}

/// How a member that ended during the shutdown stopped, for the shutdown report.
fn how_it_stopped(member: &Member, ending: &Ending) -> Stop {
    if member.is_aborted_before_turn() {
        Stop::AbortedBeforeTurn
    } else if member.is_aborted() {
        Stop::Aborted
    } else if member.is_killed() {
        Stop::Killed
    } else if ending.between_runs {
        Stop::BetweenRuns
    } else {
        Stop::Returned
    }
}

impl Group {
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.observers.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Weak};

    use super::RELEASE_BATCH;
    use super::core::SHUTTING_DOWN;
    use crate::sync::lock;
    use crate::{Context, Rutina, StopKind};

    /// The driver lets go of the members that left during the shutdown a batch at a time,
    /// while others still end, and of the rest once the group is over: the group keeps
    /// none of them (nor their tasks) until it is dropped, and the report still tells
    /// each one, by its name.
    #[tokio::test(flavor = "current_thread")]
    async fn the_driver_lets_go_of_the_members_that_left() {
        let rutina = Rutina::default();
        for _ in 0..RELEASE_BATCH {
            rutina.go(|ctx: Context| async move {
                ctx.cancelled().await;
                Ok::<_, std::io::Error>(())
            });
        }
        let last_may_end = Arc::new(tokio::sync::Notify::new());
        let may_end = last_may_end.clone();
        rutina.go_with(
            move |ctx: Context| {
                let may_end = may_end.clone();
                async move {
                    ctx.cancelled().await;
                    may_end.notified().await;
                    Ok::<_, std::io::Error>(())
                }
            },
            crate::RunOptions::default().name("last"),
        );
        let group = rutina.group().clone();
        let members: Vec<Weak<_>> = lock(&group.core).members.values().map(Arc::downgrade).collect();
        let released = || members.iter().filter(|member| member.strong_count() == 0).count();
        rutina.shutdown();
        let waiting = tokio::spawn(async move {
            rutina.wait().await.expect("ends cleanly");
            rutina
        });
        for _ in 0..100 {
            if released() == RELEASE_BATCH {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(released(), RELEASE_BATCH, "the first batch is let go of while the last routine runs");
        assert_eq!(group.phase(), SHUTTING_DOWN);

        last_may_end.notify_one();
        let rutina = waiting.await.expect("wait does not panic");
        assert_eq!(released(), RELEASE_BATCH + 1, "the rest is let go of by `wait`");
        assert!(lock(&group.core).leaving.is_empty());
        let report = rutina.shutdown_report().expect("the group is over");
        assert_eq!(report.routines.len(), RELEASE_BATCH + 1);
        assert!(
            report
                .routines
                .iter()
                .all(|routine| matches!(routine.how, StopKind::Returned(ref outcome) if outcome.is_ok()))
        );
        assert_eq!(report.routines[0].name, "routine-1");
        assert_eq!(report.routines[RELEASE_BATCH].name, "last");
    }
}
