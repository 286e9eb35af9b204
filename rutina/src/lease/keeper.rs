//! [`Keeper`]: the lease of one singleton routine, kept on its supervisor's behalf.
//!
//! The supervisor tells the keeper what happens (a run is due, a run is in progress,
//! the routine ended) and the keeper answers what to do (run with this fencing token,
//! stop the run: the lease is lost). It never reaches back into the group.
//!
//! # The supervisor's side of the contract
//!
//! 1. Before each run: `let Some(token) = keeper.acquire(&stop).await else { .. }`,
//!    with `stop` the routine's token (kill or group shutdown). The routine is in
//!    standby while this is pending. `None`: `stop` was cancelled, the routine ends.
//!    `acquire` returns at once while the lease is still held (a restart keeps it).
//! 2. During the run: select on [`hold`](Keeper::hold) *before* the run, with
//!    `tokio::select! { biased; lost = keeper.hold() => .., outcome = &mut run => .. }`:
//!    `hold` renews the lease and completes when it must be considered lost, including
//!    at its very first poll after the process was paused past the deadline. Then
//!    cancel the run's context (reason `LeaseLost`), wait for the run to return, and go
//!    back to 1 whatever the run's outcome. `hold` is cancel-safe: dropping it (the run
//!    ended first) loses nothing, the next call carries on with the same schedule.
//! 3. Between runs (a backoff): poll `hold` too to keep the lease, or do not (then the
//!    next `acquire` renews or re-acquires it as needed).
//! 4. When the routine ends for good and its last run has returned:
//!    [`release`](Keeper::release). Never release (and do not drop the keeper expecting
//!    a release) while a run that was handed the token may still be running: dropping
//!    a keeper leaves the lease to expire after its TTL.
//!
//! # Invariants
//!
//! - `State::Held(held)`: `held.deadline` is `sent_at + ttl − margin` for the last
//!   successful acquire or renew of `held.fencing_token`, and only grows; a renewal due
//!   after the deadline never happens (the deadline wins).
//! - `margin <= ttl / 2`, so a renewal (due TTL/3 after it was last sent) always comes
//!   before the deadline.
//! - Fencing tokens handed out by one keeper strictly grow (a backend that breaks this
//!   is logged as such).

use std::fmt;
use std::future::poll_fn;
use std::hash::{BuildHasher, RandomState};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::{Lease, SharedLease, shared};
use crate::BoxError;

/// Why a held lease must be considered lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    /// The backend answered that this keeper no longer holds the lease (it expired, or
    /// was acquired by another holder since).
    NotHeld,
    /// No renewal succeeded for `TTL − margin` since the last successful one was sent:
    /// the lease may expire at the backend within the safety margin.
    Unconfirmed,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lost::NotHeld => "the backend says it is no longer held",
            Lost::Unconfirmed => "no renewal succeeded in time; it may expire within the safety margin",
        })
    }
}

/// The lease of one singleton routine: acquires it (standby until then), renews it
/// while a run is in progress, tells when it is lost, releases it.
///
/// Exposed (hidden) to rutina's own integration tests through `__private`; not public
/// API. The module docs give the contract its caller follows.
pub struct Keeper {
    lease: SharedLease,
    key: Arc<str>,
    holder: Arc<str>,
    ttl: Duration,
    margin: Duration,
    state: State,
    /// The greatest token granted to this keeper so far.
    last_token: Option<u64>,
    /// Backend failures in a row: the first is a warning, the next ones are debug logs.
    failures: u32,
    /// A xorshift state for the standby's jitter.
    rng: u64,
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// Never acquired, or released.
    Idle,
    Held(Held),
    /// Lost while held; `release` still tells the backend when the loss was unconfirmed.
    Lost {
        fencing_token: u64,
        lost: Lost,
    },
}

#[derive(Clone, Copy, Debug)]
struct Held {
    fencing_token: u64,
    /// The lease must be considered lost from then on.
    deadline: Instant,
    /// When the next renewal is due.
    renew_at: Instant,
}

/// The shortest wait between two calls, so that a degenerate TTL never spins.
const MIN_STEP: Duration = Duration::from_millis(1);
/// The bound of `release`, whatever the TTL: a shutdown does not wait longer.
const MAX_RELEASE: Duration = Duration::from_secs(5);

impl Keeper {
    /// A keeper of the lease `key` on `lease`, with a fresh holder identity and the
    /// default safety margin (TTL/5).
    pub fn new(lease: impl Lease, key: &str) -> Keeper {
        Keeper::with_shared(shared(lease), key)
    }

    /// A keeper of the lease `key` on a backend the group shares.
    pub(crate) fn with_shared(lease: SharedLease, key: &str) -> Keeper {
        let ttl = lease.time_to_live();
        let holder: Arc<str> = holder_id().into();
        let rng = RandomState::new().hash_one(&*holder) | 1;
        Keeper {
            lease,
            key: key.into(),
            holder,
            ttl,
            margin: ttl / 5,
            state: State::Idle,
            last_token: None,
            failures: 0,
            rng,
        }
    }

    /// Sets the safety margin: how long before the lease could expire at the backend
    /// this keeper considers it lost. Capped at TTL/2 (so that renewals, due every
    /// TTL/3, come before the deadline).
    #[must_use]
    pub fn margin(mut self, margin: Duration) -> Keeper {
        self.margin = margin.min(self.ttl / 2);
        self
    }

    /// The lease's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// This keeper's holder identity (`host:pid:random`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The backend's TTL.
    pub fn time_to_live(&self) -> Duration {
        self.ttl
    }

    /// The fencing token of the lease held now: `Some` from a successful
    /// [`acquire`](Keeper::acquire) until the lease is lost or released (or its
    /// deadline passed).
    pub fn fencing_token(&self) -> Option<u64> {
        match self.state {
            State::Held(held) if Instant::now() < held.deadline => Some(held.fencing_token),
            _ => None,
        }
    }

    /// Waits until the lease is held and returns its fencing token; `None` as soon as
    /// `stop` is cancelled (at once if it already is).
    ///
    /// While the lease is still held (before its deadline), returns its token at once.
    /// Otherwise tries to acquire it at least every TTL/4 (jittered down to TTL/8),
    /// each try bounded by TTL/4; backend errors are logged (target `rutina`, field
    /// `key`) and retried, never returned. A try in flight when `stop` fires is
    /// abandoned: if the backend granted it all the same, that lease expires after its
    /// TTL.
    pub async fn acquire(&mut self, stop: &CancellationToken) -> Option<u64> {
        if stop.is_cancelled() {
            return None;
        }
        if let State::Held(held) = self.state {
            if Instant::now() < held.deadline {
                return Some(held.fencing_token);
            }
            self.lose(held.fencing_token, Lost::Unconfirmed);
        }
        let lease = Arc::clone(&self.lease);
        let (key, holder) = (Arc::clone(&self.key), Arc::clone(&self.holder));
        let mut announced = false;
        loop {
            let sent_at = Instant::now();
            let answer = tokio::select! {
                biased;
                () = stop.cancelled() => return None,
                answer = timeout(self.call_timeout(), lease.acquire(&key, &holder)) => answer,
            };
            match answer {
                Ok(Ok(Some(fencing_token))) => {
                    self.recovered();
                    let deadline = sent_at + self.ttl.saturating_sub(self.margin);
                    if Instant::now() < deadline {
                        return Some(self.granted(fencing_token, sent_at, deadline));
                    }
                    tracing::debug!(target: "rutina", key = %key, fencing_token, "lease granted too late to be used; trying again");
                    continue;
                }
                Ok(Ok(None)) => {
                    self.recovered();
                    if !announced {
                        tracing::info!(target: "rutina", key = %key, "lease held by another replica; standing by");
                        announced = true;
                    }
                }
                Ok(Err(error)) => self.failed("acquire", &error),
                Err(_) => self.failed("acquire", &timed_out(self.call_timeout())),
            }
            let next = sent_at + self.standby_interval();
            tokio::select! {
                biased;
                () = stop.cancelled() => return None,
                () = sleep_until(next) => {}
            }
        }
    }

    /// Keeps the lease held (renewing it at least every TTL/3, retrying failed renewals
    /// every TTL/10) and completes when it must be considered lost: the backend says it
    /// is not held, or no renewal succeeded for `TTL − margin` since the last successful
    /// one was sent (on the local monotonic clock).
    ///
    /// Every poll first compares the clock with the deadline: a process resumed after a
    /// pause past the deadline sees the loss at its first poll, before any timer fires.
    /// Completes at once when the lease is not held. Cancel-safe.
    pub async fn hold(&mut self) -> Lost {
        let lease = Arc::clone(&self.lease);
        let (key, holder) = (Arc::clone(&self.key), Arc::clone(&self.holder));
        loop {
            let mut held = match self.state {
                State::Held(held) => held,
                State::Lost { lost, .. } => return lost,
                State::Idle => return Lost::NotHeld,
            };
            // Until the renewal is due.
            if Instant::now() < held.renew_at && before(held.deadline, sleep_until(held.renew_at)).await.is_none() {
                return self.lose(held.fencing_token, Lost::Unconfirmed);
            }
            let sent_at = Instant::now();
            let renewal = timeout(self.call_timeout(), lease.renew(&key, &holder, held.fencing_token));
            let Some(answer) = before(held.deadline, renewal).await else {
                return self.lose(held.fencing_token, Lost::Unconfirmed);
            };
            match answer {
                Ok(Ok(true)) => {
                    self.recovered();
                    held.deadline = sent_at + self.ttl.saturating_sub(self.margin);
                    held.renew_at = sent_at + self.renew_interval();
                    tracing::trace!(target: "rutina", key = %key, fencing_token = held.fencing_token, "lease renewed");
                }
                Ok(Ok(false)) => {
                    self.recovered();
                    return self.lose(held.fencing_token, Lost::NotHeld);
                }
                Ok(Err(error)) => {
                    self.failed("renew", &error);
                    held.renew_at = Instant::now() + self.retry_interval();
                }
                Err(_) => {
                    self.failed("renew", &timed_out(self.call_timeout()));
                    held.renew_at = Instant::now() + self.retry_interval();
                }
            }
            self.state = State::Held(held);
        }
    }

    /// Releases the lease at once, so that a standby replica can take it over without
    /// waiting for the TTL. Bounded by TTL/4 (and 5 s); errors are logged. Does nothing
    /// when the lease is not held. Call it only once the last run has returned.
    pub async fn release(&mut self) {
        let fencing_token = match std::mem::replace(&mut self.state, State::Idle) {
            State::Held(held) => held.fencing_token,
            State::Lost { fencing_token, lost: Lost::Unconfirmed } => fencing_token,
            State::Lost { lost: Lost::NotHeld, .. } | State::Idle => return,
        };
        let bound = self.call_timeout().min(MAX_RELEASE);
        match timeout(bound, self.lease.release(&self.key, &self.holder, fencing_token)).await {
            Ok(Ok(())) => tracing::info!(target: "rutina", key = %self.key, fencing_token, "lease released"),
            Ok(Err(error)) => {
                tracing::warn!(target: "rutina", key = %self.key, fencing_token, %error, "cannot release the lease; it expires after its TTL");
            }
            Err(_) => {
                tracing::warn!(target: "rutina", key = %self.key, fencing_token, ?bound, "no answer to the lease's release; it expires after its TTL");
            }
        }
    }

    /// Records a grant; returns its token.
    fn granted(&mut self, fencing_token: u64, sent_at: Instant, deadline: Instant) -> u64 {
        if self.last_token.is_some_and(|last| fencing_token <= last) {
            tracing::error!(
                target: "rutina",
                key = %self.key,
                fencing_token,
                last = self.last_token,
                "the lease backend granted a fencing token that does not grow; it breaks the `Lease` contract"
            );
        }
        self.last_token = Some(fencing_token);
        let renew_at = sent_at + self.renew_interval();
        self.state = State::Held(Held { fencing_token, deadline, renew_at });
        tracing::info!(target: "rutina", key = %self.key, fencing_token, "lease acquired");
        fencing_token
    }

    /// Records a loss; returns it.
    fn lose(&mut self, fencing_token: u64, lost: Lost) -> Lost {
        self.state = State::Lost { fencing_token, lost };
        tracing::warn!(target: "rutina", key = %self.key, fencing_token, reason = %lost, "lease lost");
        lost
    }

    fn failed(&mut self, what: &str, error: &BoxError) {
        self.failures = self.failures.saturating_add(1);
        if self.failures == 1 {
            tracing::warn!(target: "rutina", key = %self.key, %error, "lease backend failed to {what}; retrying");
        } else {
            tracing::debug!(target: "rutina", key = %self.key, %error, failures = self.failures, "lease backend failed to {what} again");
        }
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            tracing::info!(target: "rutina", key = %self.key, failures = self.failures, "lease backend answers again");
            self.failures = 0;
        }
    }

    /// The bound of one backend call.
    fn call_timeout(&self) -> Duration {
        (self.ttl / 4).max(MIN_STEP)
    }

    /// From a renewal (or acquisition) sent to the next renewal.
    fn renew_interval(&self) -> Duration {
        (self.ttl / 3).max(MIN_STEP)
    }

    /// From a failed renewal to the next try.
    fn retry_interval(&self) -> Duration {
        (self.ttl / 10).max(MIN_STEP)
    }

    /// From one try to acquire to the next: between TTL/8 and TTL/4.
    fn standby_interval(&mut self) -> Duration {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let most = self.ttl / 4;
        let least = most / 2;
        let spread = u64::try_from((most - least).as_nanos()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 { 0 } else { self.rng % spread };
        (least + Duration::from_nanos(jitter)).max(MIN_STEP)
    }
}

impl fmt::Debug for Keeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keeper")
            .field("key", &self.key)
            .field("holder", &self.holder)
            .field("ttl", &self.ttl)
            .field("margin", &self.margin)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Runs `future` until `deadline`: `None` if the deadline passes first. The clock is
/// read at every poll, before `future` is polled: a deadline that passed while the
/// process was paused wins even if no timer has fired yet.
async fn before<F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut alarm = pin!(sleep_until(deadline));
    poll_fn(|cx| {
        if Instant::now() >= deadline {
            return Poll::Ready(None);
        }
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        match alarm.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

fn timed_out(after: Duration) -> BoxError {
    format!("no answer within {after:?}").into()
}

/// A holder identity unique to one keeper: `host:pid:random`.
fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    // `RandomState` is seeded from the OS's randomness, and differs at each `new`.
    let random = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
    format!("{host}:{}:{random:016x}", std::process::id())
}

#[cfg(test)]
mod tests;
