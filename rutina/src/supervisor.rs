//! One routine's whole life in its group — run → outcome → policy → restart or end —
//! as one future, the routine's task. This is the state machine of the contract's rules
//! 1–8; everything else only starts it, observes it or cancels it.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Span;

use crate::error::BoxError;
use crate::event::Outcome;
use crate::group::Membership;
use crate::lease::{Keeper, SharedLease};
use crate::member::Member;
use crate::metrics;
use crate::policy::BackoffState;
use crate::run::{Limits, Run, Watch, drive, panic_message};
use crate::schedule::Schedule;
use crate::{Context, Policy, RestartIntensity, Routine, RunOptions};

/// Runs `routine` with `options` in its group until it ends for good.
///
/// The only code made once per routine type: the loop that makes each run and pins it.
/// What comes before a run, what drives it and what follows it is the [`Supervisor`]'s,
/// compiled once for all routines (a service built with 200 routines compiles 200 of
/// these loops, and one supervisor).
pub(crate) fn supervise<R: Routine>(
    mut routine: R,
    options: &mut RunOptions,
    membership: Membership,
    lease: Option<SharedLease>,
) -> impl Future<Output = ()> + Send + use<R> {
    // A fn returning a block, not an `async fn`: an `async fn` keeps its arguments twice
    // in its state, and this state is most of an idle routine's memory. The options are
    // borrowed (only the schedule is taken out of them): moving them (200 bytes) into the
    // supervisor's making, which is not inlined, copied them on every `go`.
    let mut supervisor = Supervisor::new(options, membership, lease);
    async move {
        loop {
            // A statement of its own: the scrutinee of a `while let` would keep its future
            // in the state through the run.
            let (ctx, yields) = match supervisor.next_run_now() {
                Some(next) => next,
                None => match supervisor.next_run().await {
                    Some(ctx) => (ctx, false),
                    None => break,
                },
            };
            // The run is made in a statement of its own and pinned here, in this state:
            // what a statement's temporaries or a borrowed local hold would be kept in the
            // state too, next to the run.
            let outcome = 'run: {
                let (run, span) = match make_run(&mut routine, ctx, supervisor.run_span()) {
                    (Ok(run), span) => (run, span),
                    (Err(panicked), _) => break 'run panicked,
                };
                let (outcome, suspended) = supervisor.drive(pin!(Some(run)), span, yields).await;
                supervisor.suspended |= suspended;
                outcome
            };
            if !supervisor.run_ended(outcome) {
                break;
            }
        }
        supervisor.finish().await;
    }
}

/// A run made, or the outcome of a `run` that panicked; and the run's span.
type Made<F> = (Result<F, Outcome>, Option<Box<Span>>);

/// Makes a run of `routine` inside its span, which is returned (not borrowed, which would
/// keep it in the state of every routine next to the run).
fn make_run<R: Routine>(
    routine: &mut R,
    ctx: Context,
    span: Option<Box<Span>>,
) -> Made<impl Future<Output = Result<(), BoxError>> + Send + '_> {
    let mut call = Some((routine, ctx));
    let mut made = None;
    // Only this closure is made per routine type; the catching, once for all.
    let panicked = catch_in_span(&mut || made = call.take().map(|(routine, ctx)| routine.run(ctx)), span.as_deref());
    match (panicked, made) {
        (None, Some(run)) => (Ok(run), span),
        (panicked, _) => (Err(panicked.unwrap_or_else(|| Outcome::Panicked("the run was not made".to_owned()))), span),
    }
}

/// Calls `make` inside `span`; the outcome of a panic, if it panicked.
fn catch_in_span(make: &mut dyn FnMut(), span: Option<&Span>) -> Option<Outcome> {
    let _entered = span.map(Span::enter);
    catch_unwind(AssertUnwindSafe(make)).err().map(|payload| Outcome::Panicked(panic_message(payload)))
}

/// A routine's life between its runs: the pause and the lease before each, the policy
/// after it. One type for all routines; [`supervise`] makes the runs.
struct Supervisor {
    // The group and the routine are reached through `membership`, not kept in fields of
    // their own (two more reference counts to bump per routine, one of them shared by all
    // the tasks).
    membership: Membership,
    /// What only some routines need; `None` for most.
    plan: Option<Box<Plan>>,
    /// The run being made, or about to be.
    attempt: u32,
    on_done: Policy,
    on_error: Policy,
    /// The task was suspended since the current run's start was stamped: the next run's
    /// start is stamped anew (see `start_run`).
    suspended: bool,
}

impl Supervisor {
    fn new(options: &mut RunOptions, membership: Membership, lease: Option<SharedLease>) -> Supervisor {
        let RunOptions { on_done, on_error, .. } = *options;
        let plan = Plan::new(options, &membership, lease);
        Supervisor { membership, plan, attempt: 1, on_done, on_error, suspended: false }
    }

    /// Waits for the next run (a lease, a pause) and starts it: its context, or `None`
    /// when the routine is over.
    async fn next_run(&mut self) -> Option<Context> {
        // A pause or a lease comes first, or a cancellation is told apart: the next run's
        // start is stamped.
        self.suspended = true;
        let membership = &mut self.membership;
        loop {
            // A singleton first waits for its lease, then for its pause (a backoff, a
            // schedule's tick) holding it: the replica that holds the lease keeps it between
            // runs, and one that takes over waits for its schedule's next tick, as the holder
            // would have, instead of running at once.
            if let Some(plan) = self.plan.as_deref_mut()
                && !matches!(plan.pause, Some(Pause::Never))
                && let Some(keeper) = plan.keeper.as_mut()
            {
                let held = keeper.fencing_token().is_some();
                membership.settled();
                membership.scope.member.standby(true);
                membership.ending.between_runs = true;
                let fencing = Box::pin(keeper.acquire(membership.scope.member.token())).await;
                membership.scope.member.standby(false);
                membership.scope.member.set_fencing_token(fencing);
                if !held {
                    plan.skip_missed_tick(&membership.scope.member);
                }
            }
            // The pause before this run. It stays in the plan until it is over.
            match self.plan.as_deref().and_then(|plan| plan.pause) {
                None => {}
                Some(Pause::Yield) => {
                    // Re-run in place: no timer, no new task; only give the scheduler its
                    // turn when this task's budget is spent.
                    tokio::task::consume_budget().await;
                }
                Some(Pause::Never) => {
                    tracing::warn!(target: "rutina", id = membership.scope.member.id.get(), name = %membership.scope.member.name(), "the schedule never matches; the routine does not run");
                    return None;
                }
                Some(Pause::Until { until, scheduled }) => {
                    membership.settled();
                    membership.scope.member.waiting(until, scheduled);
                    membership.ending.between_runs = true;
                    let keeper = self.plan.as_deref_mut().and_then(|plan| plan.keeper.as_mut());
                    // Boxed: a timer inline would grow the state of every routine.
                    let lost = Box::pin(pause_until(until, &membership.scope.member, keeper)).await;
                    if lost {
                        // Back to standby; the pause is still due.
                        membership.scope.member.set_fencing_token(None);
                        continue;
                    }
                }
            }
            if let Some(plan) = self.plan.as_deref_mut() {
                plan.pause = None;
            }
            // Cancelled before this run: killed, shut down, or restarted by an operator.
            // A routine that `go` accepted always makes its first run, with its context
            // already cancelled if need be, so that it can tell it was stopped — unless
            // it waited for a schedule's first tick or a lease.
            if (self.attempt > 1 || membership.ending.between_runs) && membership.scope.member.is_cancelled() {
                // An operator's restart between runs: `attempt` is already the run about
                // to be made (a policy's restart counted it), which is made now.
                if membership.scope.member.restart_requested() && membership.renew() {
                    continue;
                }
                // Notices a group token cancelled from outside.
                membership.group.is_shutting_down();
                return None;
            }
            break;
        }
        Some(self.start_run())
    }

    /// The next run, when it can start now: no lease to wait for, no pause but a turn
    /// given to the scheduler (`true`: the run's driver gives it before its first poll),
    /// no cancellation to tell apart. `None`: [`next_run`](Supervisor::next_run) decides.
    /// Most restarts take this way, without a future of their own.
    fn next_run_now(&mut self) -> Option<(Context, bool)> {
        let yields = match self.plan.as_deref_mut() {
            None => false,
            Some(plan) if plan.keeper.is_some() => return None,
            Some(plan) => match plan.pause {
                None => false,
                Some(Pause::Yield) => true,
                Some(Pause::Until { .. } | Pause::Never) => return None,
            },
        };
        if (self.attempt > 1 || self.membership.ending.between_runs) && self.membership.scope.member.is_cancelled() {
            return None;
        }
        if let Some(plan) = self.plan.as_deref_mut() {
            plan.pause = None;
        }
        Some((self.start_run(), yields))
    }

    /// Starts the next run: its context.
    fn start_run(&mut self) -> Context {
        let membership = &mut self.membership;
        let attempt = self.attempt;
        membership.ending.between_runs = false;
        let watch = self.plan.as_deref_mut().and_then(|plan| plan.watch.as_mut());
        // The one clock read of a run's start, for its limits if it has any, and for a
        // restart's status when its start may be told from the last run's: runs that
        // begin one right after another within one poll of the task (each returned
        // without ever being pending, and tokio's budget ends the poll after 128) share
        // the time the first began, as a paused clock would tell. The metrics time every
        // run. (A first run's start is stamped by `settled`.)
        let now = (watch.is_some() || attempt > 1 && (self.suspended || metrics::RECORDED)).then(Instant::now);
        let run_token = watch.zip(now).map(|(watch, now)| watch.begin(&membership.scope.member, attempt, now));
        let ctx = membership.context(attempt, run_token);
        membership.ending.runs = attempt;
        if attempt == 1 {
            // The member already tells its first run (attempt 0 shows as 1): no lock.
            // Settling stamps when the routine started, here rather than in `go`.
            membership.settled();
        } else {
            if now.is_some() {
                self.suspended = false;
            }
            membership.scope.member.restarted(attempt, now);
        }
        if membership.scope.member.take_reload_pending() {
            membership.group.health.reloaded();
        }
        membership.group.observers.started(&membership.scope.member, attempt);
        ctx
    }

    /// The span the next run executes in, if a subscriber wants it.
    fn run_span(&self) -> Option<Box<Span>> {
        run_span(&self.membership, self.attempt)
    }

    /// Drives the run pinned in `run` to its outcome, within its limits; first giving the
    /// scheduler its turn if `yields`.
    fn drive<'a>(
        &'a mut self,
        run: Run<'a>,
        span: Option<Box<Span>>,
        yields: bool,
    ) -> impl Future<Output = (Outcome, bool)> + 'a {
        drive(run, self.plan.as_deref_mut().and_then(Plan::limits), span, yields)
    }

    /// The run ended with `outcome`: applies the policy. `true` if the routine runs again.
    fn run_ended(&mut self, outcome: Outcome) -> bool {
        let Supervisor { membership, plan, attempt, on_done, on_error, .. } = self;
        let ok = outcome.is_ok();
        let lease_lost = match plan.as_deref_mut().and_then(|plan| plan.watch.as_mut()) {
            Some(watch) => {
                watch.end();
                watch.lease_lost.is_some()
            }
            None => false,
        };
        if lease_lost {
            // Not the routine's fault, nor cured by restarting the process (the backend
            // is down for every replica): no crash loop, no liveness lost.
            membership.scope.member.run_interrupted(outcome.failure());
        } else {
            membership.scope.member.run_ended(outcome.failure(), &membership.group.health);
        }
        membership.group.observers.finished(&membership.scope.member, *attempt, &outcome);

        // An operator's restart: no policy; the routine runs again at once, and the
        // restart counts against no limit.
        if membership.scope.member.restart_requested() {
            membership.group.observers.report(&membership.scope.member, *attempt, &outcome);
            if membership.renew() {
                return again_uncounted(plan, attempt);
            }
            return ends(membership, outcome);
        }
        if membership.scope.member.is_killed() {
            // Rule 8: no policy; a failure still reaches the errors channel.
            return ends_told(membership, *attempt, outcome);
        }
        // A singleton that lost its lease: no policy; back to standby.
        if lease_lost && !membership.group.is_shutting_down() {
            membership.group.observers.report(&membership.scope.member, *attempt, &outcome);
            return again_uncounted(plan, attempt);
        }
        match if ok { *on_done } else { *on_error } {
            Policy::DoNothing => ends_told(membership, *attempt, outcome),
            Policy::Shutdown => {
                membership.group.shutdown_by(&membership.scope.member, *attempt, &outcome);
                ends(membership, outcome)
            }
            Policy::Restart => {
                // There whenever a policy is `Restart`.
                let Some(plan) = plan.as_deref_mut() else {
                    return ends_told(membership, *attempt, outcome);
                };
                if membership.group.is_shutting_down() {
                    // Rule 6: nothing restarts during a shutdown.
                    return ends_told(membership, *attempt, outcome);
                }
                let restarts = *attempt - plan.uncounted;
                if plan.max_count.is_some_and(|max| restarts > max) {
                    membership.group.run_limit(&membership.scope.member, *attempt, &outcome);
                    return ends(membership, outcome);
                }
                if let Some(intensity) = plan.intensity_exceeded() {
                    membership.group.restart_intensity(
                        &membership.scope.member,
                        *attempt,
                        &outcome,
                        intensity.max_restarts,
                        intensity.within,
                    );
                    return ends(membership, outcome);
                }
                membership.group.observers.report(&membership.scope.member, *attempt, &outcome);
                let Some((pause, delay)) = plan.next_pause(ok, &membership.scope.member) else {
                    tracing::info!(target: "rutina", id = membership.scope.member.id.get(), name = %membership.scope.member.name(), "the schedule has no time left; the routine ends");
                    return ends(membership, outcome);
                };
                *attempt = attempt.saturating_add(1);
                membership.group.observers.restarting(&membership.scope.member, *attempt, delay);
                plan.pause = Some(pause);
                true
            }
        }
    }

    /// The routine is over: a singleton lets its lease go at once.
    async fn finish(&mut self) {
        if let Some(keeper) = self.plan.as_deref_mut().and_then(Plan::keeper) {
            Box::pin(keeper.release()).await;
            self.membership.scope.member.set_fencing_token(None);
        }
    }
}

/// The routine ends with its run's `outcome` (already told to the observers): `false`,
/// it does not run again.
fn ends(membership: &mut Membership, outcome: Outcome) -> bool {
    membership.ending.ended(outcome, &membership.scope.member, &membership.group);
    false
}

/// The routine ends with run `attempt`'s `outcome`, told to the observers first (events,
/// logs, the errors channel): `false`, it does not run again.
fn ends_told(membership: &mut Membership, attempt: u32, outcome: Outcome) -> bool {
    membership.group.observers.report(&membership.scope.member, attempt, &outcome);
    ends(membership, outcome)
}

/// The routine runs again at once, and this restart counts against no limit (an
/// operator's restart, a lost lease): `true`.
fn again_uncounted(plan: &mut Option<Box<Plan>>, attempt: &mut u32) -> bool {
    if let Some(plan) = plan.as_deref_mut() {
        plan.uncounted += 1;
    }
    *attempt = attempt.saturating_add(1);
    true
}

/// Waits until `until` or until the routine is cancelled, keeping the lease of a singleton
/// meanwhile; `true` if the lease was lost first.
async fn pause_until(until: Instant, member: &Member, keeper: Option<&mut Keeper>) -> bool {
    let hold = async {
        match keeper {
            Some(keeper) if keeper.fencing_token().is_some() => {
                keeper.hold().await;
            }
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        _ = member.cancelled() => false,
        _ = tokio::time::sleep_until(until) => false,
        _ = hold => true,
    }
}

/// The span every run executes in: `routine`, target `rutina`, with the routine's name,
/// id and attempt; boxed, and made only when a subscriber wants it (a span inline would
/// grow the state of every routine). At level ERROR, so that it is enabled whenever any
/// record of target `rutina` is: what the routine logs at any level carries its fields.
fn run_span(membership: &Membership, attempt: u32) -> Option<Box<Span>> {
    let member = &membership.scope.member;
    let span = tracing::error_span!(target: "rutina", "routine", name = %member.name(), id = member.id.get(), attempt);
    (!span.is_disabled()).then(|| Box::new(span))
}

/// The pause before a run.
#[derive(Clone, Copy)]
enum Pause {
    /// None: run again in place, after giving the scheduler its turn.
    Yield,
    /// Until `until`: a backoff, or (`scheduled`) a schedule's tick.
    Until { until: Instant, scheduled: bool },
    /// Forever: a schedule with no time left.
    #[cfg_attr(not(feature = "cron"), allow(dead_code))]
    Never,
}

/// What only some routines need — restarts, a schedule, limits on a run, a lease — boxed
/// and made only for those: the many that have none (servers, consumers) do not carry it
/// in their state.
struct Plan {
    backoff: BackoffState,
    max_count: Option<u32>,
    /// Runs that were not restarts a limit counts: an operator's restarts, a lost lease.
    uncounted: u32,
    /// The restart intensity, and when the restarts within its window were made.
    intensity: Option<(RestartIntensity, VecDeque<Instant>)>,
    schedule: Option<Schedule>,
    /// The pause before the next run, once a restart is decided.
    pause: Option<Pause>,
    /// The limits of each run (timeout, heartbeat, lease).
    watch: Option<Watch>,
    /// A singleton's lease.
    keeper: Option<Keeper>,
}

impl Plan {
    /// The plan of a routine with `options`, if it needs one.
    fn new(options: &mut RunOptions, membership: &Membership, lease: Option<SharedLease>) -> Option<Box<Plan>> {
        let RunOptions {
            on_done,
            on_error,
            timeout,
            max_count,
            ref backoff,
            restart_intensity,
            heartbeat,
            ref mut schedule,
            ref singleton,
            ..
        } = *options;
        let keeper = singleton.as_deref().zip(lease).map(|(key, lease)| Keeper::with_shared(lease, key));
        let watched = timeout.is_some() || heartbeat.is_some() || keeper.is_some();
        let restarts = on_done == Policy::Restart || on_error == Policy::Restart;
        if !(restarts || watched || schedule.is_some()) {
            return None;
        }
        let member = &membership.scope.member;
        let backoff = BackoffState::new(backoff, member.id.get());
        let watch = watched.then(|| Watch::new(timeout, heartbeat, member.grace(), membership.group.health.clone()));
        // A cron schedule waits for its first tick; `every` runs at once.
        let pause = match schedule {
            #[cfg(feature = "cron")]
            Some(schedule @ Schedule::Cron(_)) => Some(match schedule.next(None, Instant::now()) {
                Some(until) => Pause::Until { until, scheduled: true },
                None => Pause::Never,
            }),
            _ => None,
        };
        Some(Box::new(Plan {
            backoff,
            max_count,
            uncounted: 0,
            intensity: restart_intensity.map(|intensity| (intensity, VecDeque::new())),
            schedule: schedule.take(),
            pause,
            watch,
            keeper,
        }))
    }

    /// A singleton's lease.
    fn keeper(&mut self) -> Option<&mut Keeper> {
        self.keeper.as_mut()
    }

    /// What watches the next run, if anything does.
    fn limits(&mut self) -> Option<Limits<'_>> {
        Some(Limits { watch: self.watch.as_mut()?, keeper: self.keeper.as_mut() })
    }

    /// The pause before `member`'s next run, the schedule's next tick or the backoff, and
    /// how long it lasts from now. `None`: the schedule has no time left.
    fn next_pause(&mut self, ok: bool, member: &Member) -> Option<(Pause, Duration)> {
        if let Some(schedule) = &self.schedule {
            let now = Instant::now();
            let until = schedule.next(Some(member.run_started_at()), now)?;
            return Some((Pause::Until { until, scheduled: true }, until.saturating_duration_since(now)));
        }
        // The clock is read once, and only if the backoff needs it.
        let mut now = None;
        let delay = self
            .backoff
            .delay(ok, || now.get_or_insert_with(Instant::now).saturating_duration_since(member.run_started_at()));
        if delay.is_zero() {
            return Some((Pause::Yield, Duration::ZERO));
        }
        let until = now.unwrap_or_else(Instant::now) + delay;
        Some((Pause::Until { until, scheduled: false }, delay))
    }

    /// A singleton that stood by for its lease: a schedule's tick that passed meanwhile is
    /// skipped (the replica that held the lease then ran it), as ticks missed while a run
    /// overran are.
    fn skip_missed_tick(&mut self, member: &Member) {
        let now = Instant::now();
        if let (Some(Pause::Until { until, scheduled: true }), Some(schedule)) = (self.pause, &self.schedule)
            && until < now
        {
            self.pause = Some(match schedule.next(Some(member.run_started_at()), now) {
                Some(until) => Pause::Until { until, scheduled: true },
                None => Pause::Never,
            });
        }
    }

    /// Records a restart now; the intensity if this restart would exceed it.
    fn intensity_exceeded(&mut self) -> Option<RestartIntensity> {
        let (intensity, window) = self.intensity.as_mut()?;
        let now = Instant::now();
        while window.front().is_some_and(|t| now.saturating_duration_since(*t) >= intensity.within) {
            window.pop_front();
        }
        if window.len() >= intensity.max_restarts as usize {
            return Some(*intensity);
        }
        window.push_back(now);
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    /// The supervisor's state is most of an idle routine's memory: tokio allocates it in
    /// the task, after 104 bytes of its own, aligned to 128 bytes. Up to 152 bytes for a
    /// routine that waits for its cancellation (144 today), every idle routine's task is
    /// 256 bytes, as a hand-written task's with a token is; a byte more and it is 384.
    /// The member is 105 to 120 bytes (121 to 136 with its reference counts), so that
    /// glibc's allocator gives it a 144-byte chunk. At 104 bytes it came from the
    /// allocator's fastbins (chunks of up to 128 bytes), laid out so that a shutdown's
    /// walk over 100k members took 11–15 ms instead of 7–9 ms, and the wait for them to
    /// end 23–25 ms instead of 19–21 (the benches' `--phases`); at 121 bytes, a 160-byte
    /// chunk, an idle routine took 95 bytes more. With the `metrics` feature the member
    /// also keeps the routine's metric handles. A context is one pointer, which a
    /// routine's future keeps twice. (Sizes as today's compiler and allocator lay them
    /// out; if they change, measure again.)
    #[test]
    fn an_idle_routine_keeps_to_its_allocation_classes() {
        async fn idle(ctx: crate::Context) -> std::io::Result<()> {
            ctx.cancelled().await;
            Ok(())
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        runtime.block_on(async {
            let group = crate::group::Group::new(crate::Options::default());
            let mut options = crate::RunOptions::default();
            let membership = group.join(crate::Id::new(1), &mut options).expect("the group takes it");
            let supervisor = super::supervise(idle, &mut options, membership, None);
            assert!(std::mem::size_of_val(&supervisor) <= 152, "{} bytes", std::mem::size_of_val(&supervisor));
            #[cfg(not(feature = "metrics"))]
            assert!((105..=120).contains(&std::mem::size_of::<crate::member::Member>()));
            assert!(std::mem::size_of::<Arc<crate::member::Member>>() == 8);
            assert!(std::mem::size_of::<crate::Context>() == 8);
        });
    }
}
