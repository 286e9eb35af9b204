//! The [`Routine`] trait, and what one routine's life is: run → outcome → policy →
//! restart or end.

use std::any::Any;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::RoutineShared;
use crate::error::BoxError;
use crate::event::Outcome;
use crate::group::{Group, Membership, failure};
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
    let RunOptions { on_done, on_error, timeout, max_count, backoff, intensity, .. } = options;
    let mut restarts = (on_done == Policy::Restart || on_error == Policy::Restart)
        .then(|| Box::new(Restarts::new(&backoff, membership.routine.id.get(), max_count, intensity)));
    async move {
        // Borrowed, not cloned: two reference counts less to bump per routine, one of
        // them the group's, which every routine's task shares.
        let group: &Arc<Group> = &membership.group;
        let shared: &Arc<RoutineShared> = &membership.routine;
        let mut attempt: u32 = 1;
        loop {
            // The backoff before a restart, waited for here, where the last run's locals
            // are out of scope: awaited inside the match below, they would all be kept in
            // the state of every routine.
            match restarts.as_deref_mut().and_then(|restarts| restarts.pause.take()) {
                None => {}
                Some(delay) if delay.is_zero() => {
                    // Re-run in place: no timer, no new task; only give the scheduler
                    // its turn when this task's budget is spent.
                    tokio::task::consume_budget().await;
                }
                Some(delay) => {
                    let until = Instant::now() + delay;
                    shared.backing_off(until);
                    membership.ending.between_runs = true;
                    // Boxed: a timer inline would grow the state of every routine.
                    Box::pin(async {
                        tokio::select! {
                            _ = tokio::time::sleep_until(until) => {}
                            _ = shared.token.cancelled() => {}
                        }
                    })
                    .await;
                }
            }
            // Killed, or the group shut down, during the backoff. A routine that `go`
            // accepted always makes its first run, with its context already cancelled if
            // need be, so that it can tell it was stopped.
            if attempt > 1 && shared.token.is_cancelled() {
                group.note_external_cancel();
                break;
            }
            membership.ending.between_runs = false;
            let run_token = timeout.map(|_| shared.token.child_token());
            let ctx = Context::new(shared.clone(), attempt, run_token.clone());
            membership.ending.runs = attempt;
            shared.run_started(attempt, &group.readiness);
            group.on_started(shared, attempt);
            if let Some(restarts) = restarts.as_deref_mut() {
                restarts.run_started();
            }
            let outcome = run_once(&mut routine, ctx, timeout.as_ref(), run_token.as_ref()).await;
            let ran_for = restarts.as_deref().map_or(Duration::ZERO, Restarts::ran_for);
            let ok = outcome.is_ok();
            shared.run_ended(attempt, failure(&outcome));
            group.on_finished(shared, attempt, &outcome);

            let outcome = &*membership.ending.last.insert(outcome);
            if shared.is_killed() {
                // Rule 8: no policy; a failure still reaches the errors channel.
                group.report(shared, attempt, outcome);
                break;
            }
            match if ok { on_done } else { on_error } {
                Policy::DoNothing => {
                    group.report(shared, attempt, outcome);
                    break;
                }
                Policy::Shutdown => {
                    group.shutdown_by(shared, attempt, outcome);
                    break;
                }
                Policy::Restart => {
                    // There whenever a policy is `Restart`.
                    let Some(restarts) = restarts.as_deref_mut() else {
                        group.report(shared, attempt, outcome);
                        break;
                    };
                    if group.is_shutting_down() {
                        // Rule 6: nothing restarts during a shutdown.
                        group.report(shared, attempt, outcome);
                        break;
                    }
                    if restarts.max_count.is_some_and(|max| attempt > max) {
                        group.run_limit(shared, attempt, outcome);
                        break;
                    }
                    if let Some(intensity) = restarts.intensity_exceeded() {
                        group.restart_intensity(shared, attempt, outcome, intensity.max_restarts, intensity.within);
                        break;
                    }
                    group.report(shared, attempt, outcome);
                    attempt = attempt.saturating_add(1);
                    let delay = restarts.backoff.delay(ok, ran_for);
                    group.on_restarting(shared, attempt, delay);
                    restarts.pause = Some(delay);
                }
            }
        }
    }
}

/// What only a routine that may restart needs. Boxed, and made only for routines with
/// a `Restart` policy: the many that never restart (servers, consumers) do not carry it
/// in their state.
struct Restarts {
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
    fn new(backoff: &Backoff, seed: u64, max_count: Option<u32>, intensity: Option<RestartIntensity>) -> Self {
        let backoff = BackoffState::new(backoff, seed);
        Restarts {
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

/// Runs `routine` once: catches panics (also from its `Drop`), and enforces `timeout`
/// by cancelling `run_token` and waiting for the run to return.
#[allow(clippy::manual_async_fn, reason = "an `async fn` would keep its arguments twice in its state")]
fn run_once<'a, R: Routine>(
    routine: &'a mut R,
    ctx: Context,
    timeout: Option<&'a Duration>,
    run_token: Option<&'a CancellationToken>,
) -> impl Future<Output = Outcome> + Send + 'a {
    // Not an `async fn`, which would keep its arguments twice in its state; the timeout
    // by reference, which is half its size.
    async move {
        let run = match catch_unwind(AssertUnwindSafe(|| routine.run(ctx))) {
            Ok(run) => run,
            Err(payload) => return Outcome::Panicked(panic_message(payload)),
        };
        let mut run = pin!(Some(run));
        // Boxed: most runs have no timeout, and a timer inline would grow every routine.
        let mut deadline = timeout.map(|timeout| Box::pin(tokio::time::sleep(*timeout)));
        let mut timed_out = false;
        let outcome = poll_fn(|cx| {
            let Some(fut) = run.as_mut().as_pin_mut() else {
                return Poll::Ready(Outcome::Ok);
            };
            match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                Ok(Poll::Ready(result)) => {
                    return Poll::Ready(match (timed_out, timeout, result) {
                        (true, Some(timeout), _) => Outcome::TimedOut(*timeout),
                        (_, _, Ok(())) => Outcome::Ok,
                        (_, _, Err(error)) => Outcome::Failed(Arc::from(error)),
                    });
                }
                Ok(Poll::Pending) => {}
                Err(payload) => return Poll::Ready(Outcome::Panicked(panic_message(payload))),
            }
            if !timed_out
                && let Some(sleep) = deadline.as_mut()
                && sleep.as_mut().poll(cx).is_ready()
            {
                timed_out = true;
                if let Some(token) = run_token {
                    // Wakes the run, which is polled again and should return promptly.
                    token.cancel();
                }
            }
            Poll::Pending
        })
        .await;
        // Drop the run (and what it holds) here, where a panicking `Drop` is caught.
        if catch_unwind(AssertUnwindSafe(|| run.set(None))).is_err() {
            tracing::error!(target: "rutina", "a routine's future panicked while being dropped");
        }
        outcome
    }
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
