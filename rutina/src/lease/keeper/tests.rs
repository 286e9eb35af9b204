//! The keeper against an in-memory backend, on tokio's paused clock: every time below
//! is exact.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::time::{Instant, advance, sleep};
use tokio_util::sync::CancellationToken;

use super::{Keeper, Lost};
use crate::lease::Lease;

const TTL: Duration = Duration::from_secs(12);
/// The default margin, TTL/5.
const MARGIN: Duration = Duration::from_millis(2400);

/// How the in-memory backend answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    Answer = 0,
    Fail = 1,
    Hang = 2,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Acquire,
    Renew(u64),
    Release(u64),
}

struct Row {
    holder: String,
    fencing_token: u64,
    expires_at: Instant,
}

/// A backend with the `Lease` contract, a TTL on tokio's clock, and switches to make it
/// fail or hang; it records every call (when, which, by whom).
#[derive(Default)]
struct Memory {
    rows: Mutex<HashMap<String, Row>>,
    tokens: Mutex<HashMap<String, u64>>,
    mode: AtomicU8,
    calls: Mutex<Vec<(Instant, Call, String)>>,
}

impl Memory {
    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Records the call, then fails or hangs as told.
    async fn enter(&self, call: Call, holder: &str) -> Result<(), std::io::Error> {
        self.calls.lock().unwrap().push((Instant::now(), call, holder.to_owned()));
        match self.mode.load(Ordering::SeqCst) {
            0 => Ok(()),
            1 => Err(std::io::Error::other("backend down")),
            _ => std::future::pending().await,
        }
    }

    fn calls(&self, holder: &str) -> Vec<(Instant, Call)> {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|(_, _, by)| by == holder).map(|(at, call, _)| (*at, call.clone())).collect()
    }

    /// Takes the lease from whoever holds it, as another replica would once it expired.
    fn steal(&self, key: &str) -> u64 {
        let mut tokens = self.tokens.lock().unwrap();
        let token = tokens.entry(key.to_owned()).or_insert(0);
        *token += 1;
        let row = Row { holder: "thief".to_owned(), fencing_token: *token, expires_at: Instant::now() + TTL };
        self.rows.lock().unwrap().insert(key.to_owned(), row);
        *token
    }
}

impl Lease for Arc<Memory> {
    type Error = std::io::Error;

    fn time_to_live(&self) -> Duration {
        TTL
    }

    async fn acquire(&self, key: &str, holder: &str) -> Result<Option<u64>, Self::Error> {
        self.enter(Call::Acquire, holder).await?;
        let now = Instant::now();
        let mut rows = self.rows.lock().unwrap();
        if rows.get(key).is_some_and(|row| row.expires_at > now && row.holder != holder) {
            return Ok(None);
        }
        let mut tokens = self.tokens.lock().unwrap();
        let token = tokens.entry(key.to_owned()).or_insert(0);
        *token += 1;
        rows.insert(key.to_owned(), Row { holder: holder.to_owned(), fencing_token: *token, expires_at: now + TTL });
        Ok(Some(*token))
    }

    async fn renew(&self, key: &str, holder: &str, fencing_token: u64) -> Result<bool, Self::Error> {
        self.enter(Call::Renew(fencing_token), holder).await?;
        let now = Instant::now();
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(key) {
            Some(row) if row.holder == holder && row.fencing_token == fencing_token && row.expires_at > now => {
                row.expires_at = now + TTL;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, key: &str, holder: &str, fencing_token: u64) -> Result<(), Self::Error> {
        self.enter(Call::Release(fencing_token), holder).await?;
        let now = Instant::now();
        let mut rows = self.rows.lock().unwrap();
        if let Some(row) = rows.get_mut(key)
            && row.holder == holder
            && row.fencing_token == fencing_token
            && row.expires_at > now
        {
            row.expires_at = now;
        }
        Ok(())
    }
}

fn backend() -> Arc<Memory> {
    Arc::new(Memory::default())
}

/// Runs `keeper.hold()` for `period` at most: `Some((loss, when))` if it completed.
async fn hold_for(keeper: &mut Keeper, period: Duration) -> Option<(Lost, Instant)> {
    tokio::select! {
        biased;
        lost = keeper.hold() => Some((lost, Instant::now())),
        () = sleep(period) => None,
    }
}

/// Polls `future` once.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let mut future = future;
    let waker = std::task::Waker::noop();
    future.as_mut().poll(&mut std::task::Context::from_waker(waker))
}

#[tokio::test(start_paused = true)]
async fn acquires_a_free_lease_at_once_and_keeps_it_across_runs() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    let start = Instant::now();

    assert_eq!(keeper.acquire(&stop).await, Some(1));
    assert_eq!(Instant::now(), start);
    assert_eq!(keeper.fencing_token(), Some(1));
    // A second run while the lease is held: same token, no call to the backend.
    assert_eq!(keeper.acquire(&stop).await, Some(1));
    assert_eq!(memory.calls(keeper.holder()), vec![(start, Call::Acquire)]);
}

#[tokio::test(start_paused = true)]
async fn stands_by_while_another_holds_the_lease_and_takes_over_on_release() {
    let memory = backend();
    let mut a = Keeper::new(memory.clone(), "job");
    let mut b = Keeper::new(memory.clone(), "job");
    assert_ne!(a.holder(), b.holder());
    let stop = CancellationToken::new();
    assert_eq!(a.acquire(&stop).await, Some(1));

    let standby = tokio::spawn({
        let stop = stop.clone();
        async move {
            let token = b.acquire(&stop).await;
            (b, token, Instant::now())
        }
    });
    // A holds (renewing) for 5 TTLs: B stands by all along.
    assert_eq!(hold_for(&mut a, 5 * TTL).await, None);
    assert!(!standby.is_finished());
    a.release().await;
    let released = Instant::now();
    let (b, token, acquired) = standby.await.unwrap();

    assert_eq!(token, Some(2));
    assert_eq!(b.fencing_token(), Some(2));
    assert!(acquired - released <= TTL / 4, "took over {:?} after the release", acquired - released);
    assert_eq!(a.fencing_token(), None);
    // B tried at least every TTL/4 (and not more often than every TTL/8).
    let tries: Vec<Instant> = memory.calls(b.holder()).into_iter().map(|(at, _)| at).collect();
    assert!(tries.len() >= 20, "{} tries in 5 TTLs", tries.len());
    for pair in tries.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap <= TTL / 4 && gap >= TTL / 8, "tries {gap:?} apart");
    }
}

#[tokio::test(start_paused = true)]
async fn takes_over_after_the_ttl_when_the_holder_vanishes() {
    let memory = backend();
    let mut a = Keeper::new(memory.clone(), "job");
    let mut b = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    let start = Instant::now();
    assert_eq!(a.acquire(&stop).await, Some(1));
    drop(a); // dies without releasing

    assert_eq!(b.acquire(&stop).await, Some(2));
    let waited = start.elapsed();
    assert!(waited >= TTL && waited <= TTL + TTL / 4, "took over after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn renews_at_least_every_third_of_the_ttl() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    let start = Instant::now();
    keeper.acquire(&stop).await;

    // Held for 10 TTLs, across polls of `hold` that are dropped (runs ending).
    for _ in 0..10 {
        assert_eq!(hold_for(&mut keeper, TTL).await, None);
    }
    assert_eq!(keeper.fencing_token(), Some(1));
    let calls = memory.calls(keeper.holder());
    assert!(calls[1..].iter().all(|(_, call)| *call == Call::Renew(1)), "{calls:?}");
    let mut times: Vec<Instant> = calls.iter().map(|(at, _)| *at).collect();
    times.push(Instant::now());
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] <= TTL / 3, "renewals {:?} apart", pair[1] - pair[0]);
    }
    let renewals = times.len() - 2;
    assert!((30..=31).contains(&renewals), "{renewals} renewals in 10 TTLs from {start:?}");
}

#[tokio::test(start_paused = true)]
async fn loses_the_lease_when_renewals_fail_until_the_ttl_minus_the_margin() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    keeper.acquire(&stop).await;
    // Two good renewals, then the backend fails.
    assert_eq!(hold_for(&mut keeper, TTL * 2 / 3 + Duration::from_millis(1)).await, None);
    let last_sent = memory.calls(keeper.holder()).last().unwrap().0;
    memory.set(Mode::Fail);

    let (lost, when) = hold_for(&mut keeper, 2 * TTL).await.expect("the lease is lost");
    assert_eq!(lost, Lost::Unconfirmed);
    assert_eq!(when, last_sent + TTL - MARGIN);
    assert_eq!(keeper.fencing_token(), None);
    // It kept trying until then, every TTL/10.
    let retries = memory.calls(keeper.holder()).into_iter().filter(|(at, _)| *at > last_sent).count();
    assert_eq!(retries, 5, "first try at TTL/3, then every TTL/10 until TTL − TTL/5");
    // Lost stays lost, and says so at once.
    assert_eq!(hold_for(&mut keeper, Duration::ZERO).await, Some((Lost::Unconfirmed, when)));
}

#[tokio::test(start_paused = true)]
async fn loses_the_lease_when_a_renewal_hangs() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    let start = Instant::now();
    keeper.acquire(&stop).await;
    memory.set(Mode::Hang);

    let (lost, when) = hold_for(&mut keeper, 2 * TTL).await.expect("the lease is lost");
    assert_eq!((lost, when), (Lost::Unconfirmed, start + TTL - MARGIN));
    // Each hung call was given up after TTL/4 and tried again.
    assert_eq!(memory.calls(keeper.holder()).len(), 1 + 2, "renewals at TTL/3 and TTL/3 + TTL/4 + TTL/10");
}

#[tokio::test(start_paused = true)]
async fn loses_the_lease_when_the_backend_says_it_is_not_held() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    let start = Instant::now();
    keeper.acquire(&stop).await;
    assert_eq!(memory.steal("job"), 2);

    let (lost, when) = hold_for(&mut keeper, 2 * TTL).await.expect("the lease is lost");
    assert_eq!((lost, when), (Lost::NotHeld, start + TTL / 3));
    // Not held: nothing to release.
    keeper.release().await;
    assert_eq!(memory.calls(keeper.holder()).last().unwrap().1, Call::Renew(1));
}

#[tokio::test(start_paused = true)]
async fn sees_the_loss_at_the_first_poll_after_a_pause_past_the_deadline() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    let start = Instant::now();
    keeper.acquire(&stop).await;
    let holder = keeper.holder().to_owned();

    // A run in progress, selected after `hold` as the supervisor does; it records when
    // it is polled.
    let polled = Arc::new(Mutex::new(Vec::new()));
    let run = {
        let polled = polled.clone();
        std::future::poll_fn(move |_| {
            polled.lock().unwrap().push(Instant::now());
            Poll::<()>::Pending
        })
    };
    let mut run = pin!(run);
    let mut hold = pin!(keeper.hold());
    let mut step = |hold: std::pin::Pin<&mut _>| match poll_once(hold) {
        Poll::Ready(lost) => Some(lost),
        Poll::Pending => {
            assert!(poll_once(run.as_mut()).is_pending());
            None
        }
    };
    assert_eq!(step(hold.as_mut()), None);

    // The process is frozen (nothing is polled) past the deadline, then resumes: the
    // first poll reports the loss, and the run is not polled again.
    advance(TTL).await;
    assert_eq!(step(hold.as_mut()), Some(Lost::Unconfirmed));
    assert_eq!(*polled.lock().unwrap(), vec![start]);
    // Nothing was renewed: the renewal due at TTL/3 was never sent.
    assert_eq!(memory.calls(&holder).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_held_lease_past_its_deadline_is_acquired_afresh() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    assert_eq!(keeper.acquire(&stop).await, Some(1));
    // Not held (no `hold`) past the deadline, e.g. a long backoff between runs.
    advance(TTL).await;
    assert_eq!(keeper.fencing_token(), None);
    assert_eq!(keeper.acquire(&stop).await, Some(2));
}

#[tokio::test(start_paused = true)]
async fn release_frees_the_lease_at_once_and_tokens_keep_growing() {
    let memory = backend();
    let mut a = Keeper::new(memory.clone(), "job");
    let mut b = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    let start = Instant::now();

    assert_eq!(a.acquire(&stop).await, Some(1));
    a.release().await;
    assert_eq!(b.acquire(&stop).await, Some(2));
    b.release().await;
    assert_eq!(a.acquire(&stop).await, Some(3));
    assert_eq!(Instant::now(), start, "no waiting for a TTL");
    a.release().await;
    // Releasing again is a no-op, with no call.
    let calls = memory.calls(a.holder()).len();
    a.release().await;
    assert_eq!(memory.calls(a.holder()).len(), calls);
}

#[tokio::test(start_paused = true)]
async fn release_is_bounded_when_the_backend_hangs() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    keeper.acquire(&stop).await;
    memory.set(Mode::Hang);
    let start = Instant::now();
    keeper.release().await;
    assert_eq!(start.elapsed(), TTL / 4);
    assert_eq!(keeper.fencing_token(), None);
}

#[tokio::test(start_paused = true)]
async fn release_after_an_unconfirmed_loss_still_tells_the_backend() {
    let memory = backend();
    let mut a = Keeper::new(memory.clone(), "job");
    let mut b = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    a.acquire(&stop).await;
    memory.set(Mode::Hang);
    assert_eq!(hold_for(&mut a, TTL).await.map(|(lost, _)| lost), Some(Lost::Unconfirmed));
    // The backend is back before the lease expired there: the release frees it.
    memory.set(Mode::Answer);
    a.release().await;
    assert_eq!(memory.calls(a.holder()).last().unwrap().1, Call::Release(1));
    let start = Instant::now();
    assert_eq!(b.acquire(&stop).await, Some(2));
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn backend_errors_in_standby_are_retried_not_fatal() {
    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    memory.set(Mode::Fail);
    let start = Instant::now();
    let standby = tokio::spawn(async move {
        let token = keeper.acquire(&stop).await;
        (keeper, token)
    });
    sleep(3 * TTL).await;
    assert!(!standby.is_finished());
    memory.set(Mode::Answer);
    let back = Instant::now();
    let (keeper, token) = standby.await.unwrap();
    assert_eq!(token, Some(1));
    assert!(back.elapsed() <= TTL / 4);
    assert!(memory.calls(keeper.holder()).len() >= 12, "kept trying for {:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn acquire_returns_none_once_stopped() {
    let memory = backend();
    let mut a = Keeper::new(memory.clone(), "job");
    let mut b = Keeper::new(memory.clone(), "job");
    let stop = CancellationToken::new();
    a.acquire(&stop).await;

    // In standby: the stop ends it at once.
    let stop_b = CancellationToken::new();
    let standby = tokio::spawn({
        let stop_b = stop_b.clone();
        async move { b.acquire(&stop_b).await }
    });
    sleep(TTL / 2 + Duration::from_millis(7)).await;
    let stopped = Instant::now();
    stop_b.cancel();
    assert_eq!(standby.await.unwrap(), None);
    assert_eq!(Instant::now(), stopped);

    // During a call that hangs, too.
    let mut c = Keeper::new(memory.clone(), "other");
    memory.set(Mode::Hang);
    let stop_c = CancellationToken::new();
    let hung = tokio::spawn({
        let stop_c = stop_c.clone();
        async move { c.acquire(&stop_c).await }
    });
    sleep(Duration::from_millis(10)).await;
    stop_c.cancel();
    assert_eq!(hung.await.unwrap(), None);

    // Already stopped: no call at all, even while held.
    stop.cancel();
    let calls = memory.calls(a.holder()).len();
    assert_eq!(a.acquire(&stop).await, None);
    assert_eq!(memory.calls(a.holder()).len(), calls);
}

#[tokio::test(start_paused = true)]
async fn hold_completes_at_once_when_nothing_is_held() {
    let mut keeper = Keeper::new(backend(), "job");
    let start = Instant::now();
    assert_eq!(keeper.hold().await, Lost::NotHeld);
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn the_margin_is_configurable_and_capped_at_half_the_ttl() {
    let memory = backend();
    let stop = CancellationToken::new();
    let mut keeper = Keeper::new(memory.clone(), "job").margin(Duration::from_secs(1));
    let start = Instant::now();
    keeper.acquire(&stop).await;
    memory.set(Mode::Fail);
    assert_eq!(hold_for(&mut keeper, TTL).await, Some((Lost::Unconfirmed, start + TTL - Duration::from_secs(1))));

    let memory = backend();
    let mut keeper = Keeper::new(memory.clone(), "job").margin(TTL);
    let start = Instant::now();
    keeper.acquire(&stop).await;
    // With the deadline at TTL/2, the renewal at TTL/3 still comes first.
    assert_eq!(hold_for(&mut keeper, TTL).await, None);
    memory.set(Mode::Fail);
    let last_sent = start + 3 * TTL / 3;
    assert_eq!(hold_for(&mut keeper, TTL).await, Some((Lost::Unconfirmed, last_sent + TTL / 2)));
}
