//! One run of a routine, from its first poll to its outcome: panics are caught (also
//! from its `Drop`), whatever it logs carries its span, and its own time limits hold —
//! a [timeout](crate::RunOptions::timeout), a [heartbeat](crate::RunOptions::heartbeat),
//! a singleton's lease. A limit that passes cancels the run's context; a run that has
//! not returned within its grace period then (at once when none is set) is dropped.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tracing::Span;

use crate::aborting::abort_scope;
use crate::error::BoxError;
use crate::event::{CancelReason, Outcome};
use crate::health::Health;
use crate::lease::{Keeper, Lost};
use crate::member::Member;

/// A run's future, pinned in the supervisor's state, as [`drive`] sees it: one type for
/// every routine, so that what surrounds a run is compiled once, not once per routine
/// (a service's routines are as many types). Implemented by `Option<F>`, `None` once the
/// run returned or was dropped.
pub(crate) trait RunFuture: Send {
    /// Polls the run, which has not returned yet.
    fn poll_run(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>>;

    /// Whether the run is still there: it has neither returned nor been dropped.
    fn is_running(&self) -> bool;

    /// Drops the run in place.
    fn drop_run(self: Pin<&mut Self>);
}

impl<F: Future<Output = Result<(), BoxError>> + Send> RunFuture for Option<F> {
    fn poll_run(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        match self.as_pin_mut() {
            Some(run) => run.poll(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn is_running(&self) -> bool {
        self.is_some()
    }

    fn drop_run(mut self: Pin<&mut Self>) {
        self.set(None);
    }
}

/// A run, pinned.
pub(crate) type Run<'a> = Pin<&'a mut dyn RunFuture>;

/// What watches the runs of a routine with a timeout, a heartbeat or a lease: one per
/// routine, boxed, so that the routines without any of them do not carry it.
pub(crate) struct Watch {
    timeout: Option<Duration>,
    heartbeat: Option<Duration>,
    /// How long a run whose limit passed may take to return before it is dropped.
    grace: Duration,
    health: Arc<Health>,
    /// One timer for every check of every run, reset as needed.
    timer: Pin<Box<Sleep>>,
    /// The current run.
    attempt: u32,
    started: Instant,
    /// The run's own token, cancelled by a limit of its own (the context's token).
    token: CancellationToken,
    /// Set once a limit passed: what the run is, and when it is dropped if still going.
    verdict: Option<(Outcome, Instant)>,
    /// The lease was lost during the current run.
    pub(crate) lease_lost: Option<Lost>,
    /// The routine of the current run (kept here, not by `drive`: only watched runs need
    /// it, and it would take room in the state of every routine).
    member: Option<Arc<Member>>,
}

/// What watches one run: its limits, and a singleton's lease.
pub(crate) struct Limits<'a> {
    pub(crate) watch: &'a mut Watch,
    pub(crate) keeper: Option<&'a mut Keeper>,
}

impl Watch {
    pub(crate) fn new(
        timeout: Option<Duration>,
        heartbeat: Option<Duration>,
        grace: Option<Duration>,
        health: Arc<Health>,
    ) -> Watch {
        Watch {
            timeout,
            heartbeat,
            grace: grace.unwrap_or(Duration::ZERO),
            health,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            attempt: 0,
            started: Instant::now(),
            token: CancellationToken::new(),
            verdict: None,
            lease_lost: None,
            member: None,
        }
    }

    /// A run of `member` begins `now`: returns the token of its context, a child of the
    /// routine's.
    pub(crate) fn begin(&mut self, member: &Arc<Member>, attempt: u32, now: Instant) -> CancellationToken {
        self.member = Some(member.clone());
        self.attempt = attempt;
        self.started = now;
        self.token = member.token().child_token();
        self.verdict = None;
        self.lease_lost = None;
        self.token.clone()
    }

    /// When the run's limits are next checked, and whether one passed `now`.
    fn check(&mut self, now: Instant) -> Option<Instant> {
        let member = self.member.clone()?;
        let member = &*member;
        let mut next: Option<Instant> = None;
        let mut earliest = |at: Instant| next = Some(next.map_or(at, |next| next.min(at)));
        if let Some(timeout) = self.timeout {
            let deadline = self.started + timeout;
            if deadline <= now {
                self.decide(member, Outcome::TimedOut(timeout), CancelReason::TimedOut, now);
                return None;
            }
            earliest(deadline);
        }
        if let Some(period) = self.heartbeat {
            let deadline = member.last_beat().max(self.started) + period;
            if deadline <= now {
                if member.set_hung(true) {
                    self.health.hung(true);
                    tracing::warn!(target: "rutina", id = member.id.get(), name = %member.name(), attempt = self.attempt, ?period, "no heartbeat within the period; cancelling the run");
                }
                self.decide(member, Outcome::Hung(period), CancelReason::Hung, now);
                return None;
            }
            earliest(deadline);
        }
        next
    }

    /// A limit passed `now`: the run is `outcome`; its context is cancelled for `reason`.
    fn decide(&mut self, member: &Member, outcome: Outcome, reason: CancelReason, now: Instant) {
        if self.verdict.is_some() {
            return;
        }
        if !self.token.is_cancelled() {
            member.run_cancelled(self.attempt, reason);
            // The run's waits are on this token (`Cancelled`).
            self.token.cancel();
            member.run_stopping();
        }
        self.verdict = Some((outcome, now + self.grace));
    }

    /// The run ended: a hung run no longer counts against liveness.
    pub(crate) fn end(&mut self) {
        if let Some(member) = self.member.take()
            && member.set_hung(false)
        {
            self.health.hung(false);
        }
    }
}

/// The run's future, pinned in the supervisor's state and dropped in place: by `drive`
/// when it returns or must be dropped, and — if the supervisor itself is dropped mid-run,
/// its task aborted — by this slot's `Drop`, with the thread marked as aborting (a group
/// the run owned then aborts its own routines at once).
struct RunSlot<'a> {
    run: Run<'a>,
    span: Option<Box<Span>>,
}

impl RunSlot<'_> {
    /// Drops the run in place, inside its span; a panicking `Drop` is caught.
    fn drop_run(&mut self) {
        let _entered = self.span.as_deref().map(Span::enter);
        if catch_unwind(AssertUnwindSafe(|| self.run.as_mut().drop_run())).is_err() {
            tracing::error!(target: "rutina", "a routine's future panicked while being dropped");
        }
    }

    /// Drops a run that did not return in time: the thread is marked as aborting meanwhile.
    fn abort_run(&mut self) {
        abort_scope(|| self.drop_run());
    }
}

impl Drop for RunSlot<'_> {
    fn drop(&mut self) {
        if self.run.is_running() {
            self.abort_run();
        }
    }
}

/// Drives one run of a routine, pinned by the caller: catches panics (also from its
/// `Drop`), enters the run's span around every poll, and enforces the limits of `watch`
/// and the lease its keeper holds. Its outcome, and whether the task was suspended on the
/// way (the run, or the turn given first, was pending at least once).
///
/// Not an `async` block: a `poll_fn` keeps only what it captures, and the run is pinned
/// in the supervisor's own state, not moved into this future (which would keep it twice).
pub(crate) fn drive<'a>(
    run: Run<'a>,
    limits: Option<Limits<'a>>,
    span: Option<Box<Span>>,
    mut yields: bool,
) -> impl Future<Output = (Outcome, bool)> + 'a {
    let mut slot = RunSlot { run, span };
    let (mut watch, mut hold) = match limits {
        // Boxed: only singletons have it.
        Some(Limits { watch, keeper }) => (Some(watch), keeper.map(|keeper| Box::pin(keeper.hold()))),
        None => (None, None),
    };
    let mut suspended = false;
    poll_fn(move |cx| {
        let polled = drive_poll(cx, &mut slot, &mut watch, &mut hold, &mut yields);
        suspended |= polled.is_pending();
        polled.map(|outcome| (outcome, suspended))
    })
}

/// One poll of the run `drive` drives.
fn drive_poll<H: Future<Output = Lost> + ?Sized>(
    cx: &mut TaskContext<'_>,
    slot: &mut RunSlot<'_>,
    watch: &mut Option<&mut Watch>,
    hold: &mut Option<Pin<Box<H>>>,
    yields: &mut bool,
) -> Poll<Outcome> {
    if *yields {
        // A run right after another, in place: the scheduler gets its turn when this
        // task's budget is spent, before the run is first polled.
        std::task::ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
        *yields = false;
    }
    if !slot.run.is_running() {
        return Poll::Ready(Outcome::Ok);
    }
    if let Some(watch) = watch.as_deref_mut()
        && let Some(member) = watch.member.clone()
    {
        let now = Instant::now();
        // Biased: a lease lost while the process was paused is seen before the run is
        // polled again.
        if watch.verdict.is_none()
            && let Some(lost) = poll_lease(hold, cx)
        {
            watch.lease_lost = Some(lost);
            tracing::warn!(target: "rutina", id = member.id.get(), name = %member.name(), %lost, "lease lost; stopping the run");
            let error: BoxError = format!("the lease was lost: {lost}").into();
            watch.decide(&member, Outcome::Failed(Arc::from(error)), CancelReason::LeaseLost, now);
        }
        if let Some((outcome, drop_at)) = &watch.verdict
            && *drop_at <= now
        {
            let outcome = outcome.clone();
            tracing::warn!(target: "rutina", id = member.id.get(), name = %member.name(), "the run did not return after its limit passed; dropping it");
            slot.abort_run();
            return Poll::Ready(outcome);
        }
    }
    let polled = {
        let _entered = slot.span.as_deref().map(Span::enter);
        catch_unwind(AssertUnwindSafe(|| slot.run.as_mut().poll_run(cx)))
    };
    let outcome = match polled {
        Ok(Poll::Ready(result)) => match (watch.as_deref().and_then(|watch| watch.verdict.as_ref()), result) {
            (Some((outcome, _)), _) => outcome.clone(),
            (None, Ok(())) => Outcome::Ok,
            (None, Err(error)) => Outcome::Failed(Arc::from(error)),
        },
        Ok(Poll::Pending) => {
            if let Some(watch) = watch.as_deref_mut()
                && let Some(ready) = wake_at(watch, cx)
            {
                // A limit passed with no grace period: the run is dropped at once.
                slot.abort_run();
                return Poll::Ready(ready);
            }
            return Poll::Pending;
        }
        Err(payload) => Outcome::Panicked(panic_message(payload)),
    };
    // Drop the run (and what it holds) here, where a panicking `Drop` is caught.
    slot.drop_run();
    Poll::Ready(outcome)
}

/// Polls the keeper of the run's lease, if any; `Some` once the lease is lost.
fn poll_lease<H: Future<Output = Lost> + ?Sized>(
    hold: &mut Option<Pin<Box<H>>>,
    cx: &mut TaskContext<'_>,
) -> Option<Lost> {
    let lost = match hold.as_mut()?.as_mut().poll(cx) {
        Poll::Ready(lost) => lost,
        Poll::Pending => return None,
    };
    *hold = None;
    Some(lost)
}

/// Arms the watch's timer for the next check (the run is pending); `Some` with the run's
/// outcome if a limit passed and the run must be dropped now.
fn wake_at(watch: &mut Watch, cx: &mut TaskContext<'_>) -> Option<Outcome> {
    loop {
        let now = Instant::now();
        let next = match watch.verdict {
            Some((_, drop_at)) => drop_at,
            None => match watch.check(now) {
                Some(next) => next,
                // A limit passed now, or there is nothing to check.
                None => watch.verdict.as_ref().map(|(_, drop_at)| *drop_at)?,
            },
        };
        if let Some((outcome, drop_at)) = &watch.verdict
            && *drop_at <= now
        {
            return Some(outcome.clone());
        }
        watch.timer.as_mut().reset(next);
        if watch.timer.as_mut().poll(cx).is_pending() {
            return None;
        }
    }
}

/// The message of a panic payload; the payload is dropped where its own `Drop` cannot escape.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    };
    if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(nested);
    }
    message
}
