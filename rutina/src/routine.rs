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
use crate::{Context, Policy, RunOptions};

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
    fn run(&mut self, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send {
        let run = self(ctx);
        async move { run.await.map_err(Into::into) }
    }
}

/// One routine's whole life in the group, from its first run to its end.
///
/// This is the state machine of the contract's rules 1–8; everything else only
/// starts it, observes it or cancels it.
pub(crate) async fn supervise<R: Routine>(mut routine: R, options: RunOptions, mut membership: Membership) {
    let group: Arc<Group> = membership.group().clone();
    let shared: Arc<RoutineShared> = membership.routine().clone();
    let mut backoff = BackoffState::new(&options.backoff, shared.id.get());
    let mut restarts_within = options.intensity.map(|_| VecDeque::new());
    let mut attempt: u32 = 1;
    loop {
        // Killed, or the group shut down, during the backoff. A routine that `go`
        // accepted always makes its first run, with its context already cancelled if
        // need be, so that it can tell it was stopped.
        if attempt > 1 && shared.token.is_cancelled() {
            group.note_external_cancel();
            break;
        }
        membership.ending.between_runs = false;
        let run_token = options.timeout.map(|_| shared.token.child_token());
        let ctx = Context::new(shared.clone(), attempt, run_token.clone());
        membership.ending.runs = attempt;
        shared.run_started(attempt);
        group.on_started(&shared, attempt);
        let started_at = backoff.measures_runs().then(Instant::now);
        let outcome = run_once(&mut routine, ctx, options.timeout, run_token.as_ref()).await;
        let ran_for = started_at.map_or(Duration::ZERO, |t| t.elapsed());
        let ok = outcome.is_ok();
        shared.run_ended(failure(&outcome));
        group.on_finished(&shared, attempt, &outcome);

        let outcome = &*membership.ending.last.insert(outcome);
        if shared.is_killed() {
            // Rule 8: no policy; a failure still reaches the errors channel.
            group.report(&shared, attempt, outcome);
            break;
        }
        match if ok { options.on_done } else { options.on_error } {
            Policy::DoNothing => {
                group.report(&shared, attempt, outcome);
                break;
            }
            Policy::Shutdown => {
                group.shutdown_by(&shared, attempt, outcome);
                break;
            }
            Policy::Restart => {
                if group.is_shutting_down() {
                    // Rule 6: nothing restarts during a shutdown.
                    group.report(&shared, attempt, outcome);
                    break;
                }
                if options.max_count.is_some_and(|max| attempt > max) {
                    group.run_limit(&shared, attempt, outcome);
                    break;
                }
                if let (Some(intensity), Some(window)) = (options.intensity, restarts_within.as_mut()) {
                    let now = Instant::now();
                    while window
                        .front()
                        .is_some_and(|t: &Instant| now.saturating_duration_since(*t) >= intensity.within)
                    {
                        window.pop_front();
                    }
                    if window.len() >= intensity.max_restarts as usize {
                        group.restart_intensity(&shared, attempt, outcome, intensity.max_restarts, intensity.within);
                        break;
                    }
                    window.push_back(now);
                }
                group.report(&shared, attempt, outcome);
                attempt = attempt.saturating_add(1);
                let delay = backoff.delay(ok, ran_for);
                group.on_restarting(&shared, attempt, delay);
                if delay.is_zero() {
                    // Re-run in place: no timer, no new task; only give the scheduler
                    // its turn when this task's budget is spent.
                    tokio::task::consume_budget().await;
                } else {
                    let until = Instant::now() + delay;
                    shared.backing_off(until);
                    membership.ending.between_runs = true;
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = shared.token.cancelled() => {}
                    }
                }
            }
        }
    }
}

/// Runs `routine` once: catches panics (also from its `Drop`), and enforces `timeout`
/// by cancelling `run_token` and waiting for the run to return.
async fn run_once<R: Routine>(
    routine: &mut R,
    ctx: Context,
    timeout: Option<Duration>,
    run_token: Option<&CancellationToken>,
) -> Outcome {
    let run = match catch_unwind(AssertUnwindSafe(|| routine.run(ctx))) {
        Ok(run) => run,
        Err(payload) => return Outcome::Panicked(panic_message(payload)),
    };
    let mut run = pin!(Some(run));
    let mut deadline = pin!(timeout.map(tokio::time::sleep));
    let mut timed_out = false;
    let outcome = poll_fn(|cx| {
        let Some(fut) = run.as_mut().as_pin_mut() else {
            return Poll::Ready(Outcome::Ok);
        };
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(result)) => {
                return Poll::Ready(match (timed_out, timeout, result) {
                    (true, Some(timeout), _) => Outcome::TimedOut(timeout),
                    (_, _, Ok(())) => Outcome::Ok,
                    (_, _, Err(error)) => Outcome::Failed(Arc::from(error)),
                });
            }
            Ok(Poll::Pending) => {}
            Err(payload) => return Poll::Ready(Outcome::Panicked(panic_message(payload))),
        }
        if !timed_out
            && let Some(sleep) = deadline.as_mut().as_pin_mut()
            && sleep.poll(cx).is_ready()
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
