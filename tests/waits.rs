//! Waiting for a cancellation: `Context::cancelled` waits in a slot of its routine's own,
//! and on the routine's token when another task already waits there. Every wait ends,
//! however many there are, whichever task they are in, and whether or not an earlier
//! one was dropped; and each run's context tells its own run, even when a context of an
//! earlier run is kept.

use std::time::Duration;

use rutina::{CancelReason, Context, Policy, RunOptions, Rutina};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::sleep;

type Result<T = ()> = std::result::Result<T, std::io::Error>;

/// Starts a routine with `options` whose runs are `run(ctx, tell)`: what they tell comes
/// out of the receiver returned.
fn go_telling<T: Send + 'static, F: Future<Output = Result> + Send + 'static>(
    rutina: &Rutina,
    options: RunOptions,
    run: impl Fn(Context, UnboundedSender<T>) -> F + Send + 'static,
) -> UnboundedReceiver<T> {
    let (tell, told) = unbounded_channel();
    rutina.go_with(move |ctx: Context| run(ctx, tell.clone()), options);
    told
}

/// What was told so far.
fn told<T>(told: &mut UnboundedReceiver<T>) -> Vec<T> {
    std::iter::from_fn(|| told.try_recv().ok()).collect()
}

/// Waits for `rutina`: `Ok` within a second of the paused clock, or the test fails (a
/// wait that never ended keeps its routine, and the group, running).
async fn ends_cleanly(rutina: &Rutina) {
    let waited = tokio::time::timeout(Duration::from_secs(1), rutina.wait()).await;
    assert!(matches!(waited, Ok(Ok(()))), "the group did not end cleanly: {waited:?}");
}

async fn shut_down(rutina: &Rutina) {
    rutina.shutdown();
    ends_cleanly(rutina).await;
}

#[tokio::test(start_paused = true)]
async fn waits_in_other_tasks_and_in_the_same_task_all_end() {
    let rutina = Rutina::default();
    let mut ends = go_telling(&rutina, RunOptions::default(), |ctx, ended| async move {
        let mut helpers = Vec::new();
        for helper in 0..3 {
            let (ctx, ended) = (ctx.clone(), ended.clone());
            helpers.push(tokio::spawn(async move {
                ctx.cancelled().await;
                let _ = ended.send(format!("helper {helper}"));
            }));
        }
        // Two waits polled by the same task.
        tokio::join!(ctx.cancelled(), ctx.cancelled());
        let _ = ended.send("routine".to_owned());
        for helper in helpers {
            helper.await.expect("the helper ends");
        }
        Ok(())
    });
    sleep(Duration::from_millis(10)).await;
    assert!(ends.try_recv().is_err(), "a wait ended before the shutdown");
    shut_down(&rutina).await;
    let mut seen = told(&mut ends);
    seen.sort();
    assert_eq!(seen, ["helper 0", "helper 1", "helper 2", "routine"]);
}

#[tokio::test(start_paused = true)]
async fn a_wait_dropped_before_it_ended_does_not_keep_the_next_from_ending() {
    let rutina = Rutina::default();
    let mut ends = go_telling(&rutina, RunOptions::default(), |ctx, ended| async move {
        // Polled once, so that it waits, then dropped: its waker stays behind.
        tokio::select! {
            biased;
            () = ctx.cancelled() => unreachable!("not cancelled yet"),
            () = sleep(Duration::from_millis(1)) => {}
        }
        // A wait in another task, then one in this task again.
        let helper = tokio::spawn({
            let (ctx, ended) = (ctx.clone(), ended.clone());
            async move {
                ctx.cancelled().await;
                let _ = ended.send("helper");
            }
        });
        ctx.cancelled().await;
        let _ = ended.send("routine");
        helper.await.expect("the helper ends");
        Ok(())
    });
    sleep(Duration::from_millis(10)).await;
    shut_down(&rutina).await;
    let mut seen = told(&mut ends);
    seen.sort();
    assert_eq!(seen, ["helper", "routine"]);
}

#[tokio::test(start_paused = true)]
async fn a_wait_ends_when_the_routine_cancels_its_own_token() {
    let rutina = Rutina::default();
    let options = RunOptions::default().on_done(Policy::DoNothing);
    let mut ends = go_telling(&rutina, options, |ctx, ended| async move {
        // Waits in the slot first; the token is made, and cancelled, by another task.
        let canceller = tokio::spawn({
            let ctx = ctx.clone();
            async move {
                sleep(Duration::from_millis(5)).await;
                ctx.token().cancel();
            }
        });
        ctx.cancelled().await;
        let _ = ended.send(ctx.attempt());
        canceller.await.expect("the canceller ends");
        Ok(())
    });
    ends_cleanly(&rutina).await;
    assert_eq!(told(&mut ends), [1]);
}

#[tokio::test(start_paused = true)]
async fn each_run_has_a_fresh_context_also_when_an_earlier_one_is_kept() {
    let rutina = Rutina::default();
    let options = RunOptions::default().on_done(Policy::Restart);
    let mut contexts = go_telling(&rutina, options, |ctx, kept| async move {
        let attempt = ctx.attempt();
        // The second run's context outlives its run; the others' do not.
        if attempt == 2 {
            let _ = kept.send(ctx.clone());
        }
        if attempt >= 4 {
            ctx.cancelled().await;
        }
        Ok(())
    });
    sleep(Duration::from_millis(10)).await;
    let second = contexts.try_recv().expect("the second run's context");
    assert_eq!(second.attempt(), 2, "a kept context tells its own run");
    assert!(!second.is_cancelled());
    shut_down(&rutina).await;
    // Kept, it is still the routine's: cancelled with it.
    assert!(second.is_cancelled());
    second.cancelled().await;
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_run_wait_ends_and_the_next_run_waits_again() {
    let rutina = Rutina::default();
    let options = RunOptions::default()
        .timeout(Duration::from_millis(100))
        // Time to return after the timeout (without, the run is dropped at once).
        .grace_period(Duration::from_millis(50))
        .on_done(Policy::Restart)
        .on_error(Policy::Restart)
        .max_count(1);
    let mut ends = go_telling(&rutina, options, |ctx, ended| async move {
        ctx.cancelled().await;
        let _ = ended.send((ctx.attempt(), ctx.cancel_reason()));
        Ok(())
    });
    let waited = tokio::time::timeout(Duration::from_secs(1), rutina.wait()).await;
    assert!(matches!(waited, Ok(Err(rutina::Error::RunLimit { .. }))), "{waited:?}");
    assert_eq!(told(&mut ends), [(1, Some(CancelReason::TimedOut)), (2, Some(CancelReason::TimedOut))]);
}
