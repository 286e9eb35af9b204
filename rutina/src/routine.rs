//! The [`Routine`] trait, and what one routine's life is: run → outcome → policy →
//! restart or end.

use std::any::Any;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::aborting::{AbortEnds, Aborting};
use crate::error::BoxError;
use crate::event::CancelReason;
use crate::event::Outcome;
use crate::group::Membership;
use crate::member::Member;
use crate::policy::BackoffState;
use crate::{Backoff, Context, Policy, RestartIntensity, RunOptions};

/// Something a [`Rutina`](crate::Rutina) can run, and run again.
///
/// Implemented by:
/// - every closure `FnMut(Context) -> Fut + Send + 'static` where
///   `Fut: Future<Output = Result<(), E>> + Send + 'static` and `E: Into<BoxError>`
///   (so `std::io::Error`, `anyhow::Error`, `String` and `&'static str` all work), and
///   plain `async fn(Context) -> Result<(), E>` items, with default [`RunOptions`];
/// - every item made with `#[rutina::routine]`, which carries its declared options.
///
/// ```
/// use rutina::{Context, Rutina};
///
/// async fn tick(ctx: Context) -> Result<(), std::io::Error> {
///     println!("run {} of {}", ctx.attempt(), ctx.name());
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// rutina.go(tick);
/// rutina.go(|ctx: Context| async move {
///     ctx.cancelled().await;
///     Ok::<_, anyhow::Error>(())
/// });
/// rutina.shutdown();
/// rutina.wait().await.unwrap();
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a rutina routine",
    label = "not a routine",
    note = "a routine is an `async fn(rutina::Context) -> Result<(), E>` annotated with `#[rutina::routine]`, \
            or a closure `|ctx: rutina::Context| async move {{ .. }}` returning `Result<(), E>` \
            where `E: Into<rutina::BoxError>`"
)]
pub trait Routine: Send + 'static {
    /// Starts one run with its context.
    fn run(&mut self, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// The options the routine declares; [`Rutina::go`](crate::Rutina::go) uses them.
    /// Default: [`RunOptions::default`].
    fn options(&self) -> RunOptions {
        RunOptions::default()
    }
}

impl<F, Fut, E> Routine for F
where
    F: FnMut(Context) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    // The closure is called in the future, not before it: a future that the returned
    // future captured would be stored twice in its state (captured, then awaited).
    async fn run(&mut self, ctx: Context) -> Result<(), BoxError> {
        self(ctx).await.map_err(Into::into)
    }
}

/// One routine's whole life in the group, from its first run to its end.
///
/// This is the state machine of the contract's rules 1–8; everything else only
/// starts it, observes it or cancels it.
pub(crate) fn supervise<R: Routine>(
    mut routine: R,
    options: RunOptions,
    mut membership: Membership,
) -> impl Future<Output = ()> + Send {
    // A fn returning a block, not an `async fn`: an `async fn` keeps its arguments twice
    // in its state, and this state is most of an idle routine's memory. Only the
    // options the loop needs are kept.
    let RunOptions { on_done, on_error, timeout, max_count, backoff, restart_intensity: intensity, .. } = options;
    let mut restarts = (on_done == Policy::Restart || on_error == Policy::Restart || timeout.is_some())
        .then(|| Box::new(Restarts::new(&backoff, membership.member.id.get(), max_count, intensity, timeout)));
    async move {
        // The group and the routine are reached through `membership`, not borrowed into
        // locals (which would be kept in the state of every routine), nor cloned (two
        // reference counts to bump per routine, one of them shared by all the tasks).
        let mut attempt: u32 = 1;
        loop {
            // The backoff before a restart, waited for here, where the last run's locals
            // are out of scope: awaited inside the match below, they would all be kept in
            // the state of every routine. The delay is tested in the closure: a local that
            // was borrowed (by a guard, or by `is_zero`) would be kept across every await.
            let pause = restarts.as_deref_mut().and_then(|restarts| restarts.pause.take());
            if let Some((zero, delay)) = pause.map(|delay| (delay.is_zero(), delay)) {
                if zero {
                    // Re-run in place: no timer, no new task; only give the scheduler
                    // its turn when this task's budget is spent.
                    tokio::task::consume_budget().await;
                } else {
                    let until = Instant::now() + delay;
                    membership.member.backing_off(until);
                    membership.ending.between_runs = true;
                    // Boxed: a timer inline would grow the state of every routine.
                    Box::pin(async {
                        tokio::select! {
                            _ = tokio::time::sleep_until(until) => {}
                            _ = membership.member.token.cancelled() => {}
                        }
                    })
                    .await;
                }
            }
            // Killed, or the group shut down, during the backoff. A routine that `go`
            // accepted always makes its first run, with its context already cancelled if
            // need be, so that it can tell it was stopped.
            if attempt > 1 && membership.member.token.is_cancelled() {
                // Notices a group token cancelled from outside.
                membership.group.is_shutting_down();
                break;
            }
            membership.ending.between_runs = false;
            // Cloned in a block: a local that was borrowed is kept in the state of every
            // routine until it goes out of scope.
            let (run_token, ctx_token) = match restarts.as_deref().and_then(|restarts| restarts.timeout) {
                Some(_) => {
                    let token = membership.member.token.child_token();
                    (Some(token.clone()), Some(token))
                }
                None => (None, None),
            };
            let ctx = Context::new(membership.member.clone(), attempt, ctx_token);
            membership.ending.runs = attempt;
            if attempt == 1 {
                // The status made with the member already tells its first run (attempt 0
                // shows as 1, started when the member was): no lock, no clock read on the
                // way from `go` to the first run.
                membership.group.health.first_run_over();
            } else {
                membership.member.restarted(attempt);
            }
            membership.group.observers.started(&membership.member, attempt);
            if let Some(restarts) = restarts.as_deref_mut() {
                restarts.run_started();
            }
            // The run is made in a statement of its own and pinned here, in this state:
            // what a statement's temporaries or a borrowed local hold would be kept in the
            // state too, next to the run.
            let outcome = 'run: {
                // Dropped after the run, if the supervisor is dropped mid-run.
                let ends = AbortEnds;
                let run = match catch_unwind(AssertUnwindSafe(|| routine.run(ctx))) {
                    Ok(run) => run,
                    Err(payload) => {
                        std::mem::forget(ends);
                        break 'run Outcome::Panicked(panic_message(payload));
                    }
                };
                let run = pin!(Some(run));
                // Dropped before the run, if the supervisor is dropped mid-run.
                let aborting = Aborting;
                let timeout = restarts.as_deref().and_then(|restarts| restarts.timeout.as_ref());
                let outcome = drive(run, timeout, run_token, &membership.member, attempt).await;
                std::mem::forget(aborting);
                std::mem::forget(ends);
                outcome
            };
            let ran_for = restarts.as_deref().map_or(Duration::ZERO, Restarts::ran_for);
            let ok = outcome.is_ok();
            membership.member.run_ended(attempt, outcome.failure(), &membership.group.health);
            membership.group.observers.finished(&membership.member, attempt, &outcome);

            let outcome = &*membership.ending.last.insert(outcome);
            if membership.member.is_killed() {
                // Rule 8: no policy; a failure still reaches the errors channel.
                membership.group.observers.report(&membership.member, attempt, outcome);
                break;
            }
            match if ok { on_done } else { on_error } {
                Policy::DoNothing => {
                    membership.group.observers.report(&membership.member, attempt, outcome);
                    break;
                }
                Policy::Shutdown => {
                    membership.group.shutdown_by(&membership.member, attempt, outcome);
                    break;
                }
                Policy::Restart => {
                    // There whenever a policy is `Restart`.
                    let Some(restarts) = restarts.as_deref_mut() else {
                        membership.group.observers.report(&membership.member, attempt, outcome);
                        break;
                    };
                    if membership.group.is_shutting_down() {
                        // Rule 6: nothing restarts during a shutdown.
                        membership.group.observers.report(&membership.member, attempt, outcome);
                        break;
                    }
                    if restarts.max_count.is_some_and(|max| attempt > max) {
                        membership.group.run_limit(&membership.member, attempt, outcome);
                        break;
                    }
                    if let Some(intensity) = restarts.intensity_exceeded() {
                        membership.group.restart_intensity(
                            &membership.member,
                            attempt,
                            outcome,
                            intensity.max_restarts,
                            intensity.within,
                        );
                        break;
                    }
                    membership.group.observers.report(&membership.member, attempt, outcome);
                    attempt = attempt.saturating_add(1);
                    let delay = restarts.backoff.delay(ok, ran_for);
                    membership.group.observers.restarting(&membership.member, attempt, delay);
                    restarts.pause = Some(delay);
                }
            }
        }
    }
}

/// What only a routine that may restart, or has a timeout, needs. Boxed, and made only
/// for routines with a `Restart` policy or a timeout: the many that have neither
/// (servers, consumers) do not carry it in their state.
struct Restarts {
    /// The timeout of each run.
    timeout: Option<Duration>,
    backoff: BackoffState,
    max_count: Option<u32>,
    /// Whether the backoff wants to know how long each run lasted.
    measures_runs: bool,
    /// When the current run began, if measured.
    run_started_at: Option<Instant>,
    /// The restart intensity, and when the restarts within its window were made.
    intensity: Option<(RestartIntensity, VecDeque<Instant>)>,
    /// The backoff before the next run, once a restart is decided.
    pause: Option<Duration>,
}

impl Restarts {
    fn new(
        backoff: &Backoff,
        seed: u64,
        max_count: Option<u32>,
        intensity: Option<RestartIntensity>,
        timeout: Option<Duration>,
    ) -> Self {
        let backoff = BackoffState::new(backoff, seed);
        Restarts {
            timeout,
            measures_runs: backoff.measures_runs(),
            backoff,
            max_count,
            run_started_at: None,
            intensity: intensity.map(|intensity| (intensity, VecDeque::new())),
            pause: None,
        }
    }

    fn run_started(&mut self) {
        self.run_started_at = self.measures_runs.then(Instant::now);
    }

    /// How long the run lasted (`Duration::ZERO` when not measured).
    fn ran_for(&self) -> Duration {
        self.run_started_at.map_or(Duration::ZERO, |t| t.elapsed())
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

/// Drives one run of a routine, pinned by the caller: catches panics (also from its
/// `Drop`), and enforces `timeout` by cancelling `run_token` and waiting for the run to
/// return.
///
/// Not an `async` block: a `poll_fn` keeps only what it captures, and the run is pinned
/// in the supervisor's own state, not moved into this future (which would keep it twice).
fn drive<'a, F: Future<Output = Result<(), BoxError>>>(
    mut run: Pin<&'a mut Option<F>>,
    timeout: Option<&'a Duration>,
    run_token: Option<CancellationToken>,
    member: &'a Member,
    attempt: u32,
) -> impl Future<Output = Outcome> + 'a {
    // Boxed: most runs have no timeout, and a timer inline would grow every routine.
    // Taken when it fires: with a timeout, no deadline left means the run timed out.
    let mut deadline = timeout.map(|timeout| Box::pin(tokio::time::sleep(*timeout)));
    poll_fn(move |cx| {
        let Some(fut) = run.as_mut().as_pin_mut() else {
            return Poll::Ready(Outcome::Ok);
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(result)) => match (timeout.filter(|_| deadline.is_none()), result) {
                (Some(timeout), _) => Outcome::TimedOut(*timeout),
                (None, Ok(())) => Outcome::Ok,
                (None, Err(error)) => Outcome::Failed(Arc::from(error)),
            },
            Ok(Poll::Pending) => {
                if let Some(sleep) = deadline.as_mut()
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    deadline = None;
                    if let Some(token) = &run_token
                        && !token.is_cancelled()
                    {
                        // Wakes the run, which is polled again and should return promptly.
                        member.run_cancelled(attempt, CancelReason::TimedOut);
                        token.cancel();
                    }
                }
                return Poll::Pending;
            }
            Err(payload) => Outcome::Panicked(panic_message(payload)),
        };
        // Drop the run (and what it holds) here, where a panicking `Drop` is caught.
        if catch_unwind(AssertUnwindSafe(|| run.set(None))).is_err() {
            tracing::error!(target: "rutina", "a routine's future panicked while being dropped");
        }
        Poll::Ready(outcome)
    })
}

/// The message of a panic payload; the payload is dropped where its own `Drop` cannot escape.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
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
