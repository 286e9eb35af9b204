//! Leases: what lets a *singleton* routine run in exactly one replica of a service.
//!
//! A service often runs as several identical processes (replicas) for availability,
//! yet some of its routines must run in only one of them at a time: a periodic cleanup,
//! a queue's single consumer, a scheduler. Such a routine is a singleton: every replica
//! starts it, but it runs only in the replica that holds the *lease* named after it
//! (its key, e.g. `"billing-cleanup"`). Everywhere else it stands by, trying to acquire
//! the lease, and takes over when the lease frees up: when the holder stops gracefully
//! (it releases the lease at once), dies, or loses its connection to the backend (the
//! lease expires after its TTL).
//!
//! # How rutina keeps a lease
//!
//! A [`Lease`] is a backend that grants time-limited, exclusive leases: PostgreSQL
//! (`Postgres`, feature `postgres`), or your own (etcd, a Kubernetes `Lease`, ...: the
//! trait's contract says what to guarantee). For each singleton routine, rutina keeps
//! the lease on the routine's behalf, with this timing (TTL being [`Lease::time_to_live`]):
//!
//! - **Standby.** A replica that does not hold the lease tries to acquire it at least
//!   every TTL/4 (jittered, so that replicas do not try in lockstep). Backend errors
//!   are logged and retried: they are never fatal to the routine or the group.
//! - **Holding.** Once acquired, the routine runs with the lease's *fencing token*, and
//!   the lease is renewed at least every TTL/3 while the routine is alive (failed
//!   renewals are retried every TTL/10).
//! - **Losing.** The holder considers the lease lost, and cancels the run, when the
//!   backend answers that it is no longer held, or when no renewal succeeded for
//!   `TTL − margin` since the last successful renewal was *sent* (the safety margin is
//!   TTL/5 by default). Both times are on the local monotonic clock, so a process that
//!   was paused (stopped, swapped out, a VM frozen) past that point sees the loss as soon
//!   as it resumes, before its run is polled again.
//! - **Releasing.** A routine that ends for good (its policy ends it, it is killed, the
//!   group shuts down) releases the lease as soon as its last run has returned, so
//!   that a standby replica takes over at its next try instead of waiting for the TTL.
//!
//! # Deployment
//!
//! Run as many replicas as you like; point all of them at the same backend (one
//! PostgreSQL database, one etcd cluster) and give the singleton the same key in each.
//! Keys are global to the backend: two different services sharing a database must not
//! use the same key for different jobs. The TTL trades failover time against tolerance
//! of backend hiccups: a replica that dies is replaced after at most the TTL (plus a
//! standby's TTL/4 polling period), while a backend that stays unreachable for longer
//! than `TTL − margin` stops the singleton everywhere until it comes back.
//!
//! # Guarantees and their limits
//!
//! A lease gives *mutual exclusion in time*, under assumptions:
//!
//! - **Clock rates.** The backend measures the TTL on its clock from the moment it
//!   processes a request; the holder measures its deadline on its own monotonic clock
//!   from the moment it *sent* that request, minus the margin. As the request is
//!   processed after it was sent, the holder gives up at least `margin` before the
//!   backend could grant the lease to someone else, as long as both clocks run at
//!   about the same rate (a drift of ε costs ε × TTL of the margin) and the backend's
//!   clock does not jump forward (see each backend's notes).
//! - **Stopping in time.** When the lease is lost, rutina cancels the run's context:
//!   the run must stop writing within the margin. A run that keeps going (it does not
//!   watch its context, it is stuck in a blocking call) can overlap with the next holder.
//! - **Fencing.** The remedy for both limits is the fencing token: every acquisition of
//!   a key gets a strictly greater token than all before it, so a resource that records
//!   the greatest token it has seen can reject a write carrying an older one (for
//!   instance `UPDATE .. WHERE fence <= $token`, then store the token). Writes that may
//!   outlive the lease — long transactions, requests still queued in a network — should
//!   carry it.
//!
//! # Writing a backend
//!
//! Implement [`Lease`] with plain `async fn`s. An in-memory backend (for tests: one
//! process, no expiry by a clock of its own but the same contract) looks like this:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use std::time::Duration;
//!
//! use rutina::lease::Lease;
//! use tokio::time::Instant;
//!
//! struct Row { holder: String, token: u64, expires_at: Instant }
//!
//! #[derive(Default)]
//! struct InMemory { rows: Mutex<HashMap<String, Row>>, tokens: Mutex<HashMap<String, u64>> }
//!
//! impl Lease for InMemory {
//!     type Error = std::convert::Infallible;
//!
//!     fn time_to_live(&self) -> Duration {
//!         Duration::from_secs(15)
//!     }
//!
//!     async fn acquire(&self, key: &str, holder: &str) -> Result<Option<u64>, Self::Error> {
//!         let now = Instant::now();
//!         let mut rows = self.rows.lock().unwrap();
//!         if rows.get(key).is_some_and(|row| row.expires_at > now && row.holder != holder) {
//!             return Ok(None); // held by another replica
//!         }
//!         let mut tokens = self.tokens.lock().unwrap();
//!         let token = tokens.entry(key.to_owned()).or_insert(0);
//!         *token += 1;
//!         let row = Row { holder: holder.to_owned(), token: *token, expires_at: now + self.time_to_live() };
//!         rows.insert(key.to_owned(), row);
//!         Ok(Some(*token))
//!     }
//!
//!     async fn renew(&self, key: &str, holder: &str, token: u64) -> Result<bool, Self::Error> {
//!         let now = Instant::now();
//!         let mut rows = self.rows.lock().unwrap();
//!         match rows.get_mut(key) {
//!             Some(row) if row.holder == holder && row.token == token && row.expires_at > now => {
//!                 row.expires_at = now + self.time_to_live();
//!                 Ok(true)
//!             }
//!             _ => Ok(false),
//!         }
//!     }
//!
//!     async fn release(&self, key: &str, holder: &str, token: u64) -> Result<(), Self::Error> {
//!         let mut rows = self.rows.lock().unwrap();
//!         if rows.get(key).is_some_and(|row| row.holder == holder && row.token == token) {
//!             rows.remove(key); // the token counter lives on in `tokens`
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let lease = InMemory::default();
//! assert_eq!(lease.acquire("cleanup", "replica-a").await, Ok(Some(1)));
//! assert_eq!(lease.acquire("cleanup", "replica-b").await, Ok(None));
//! lease.release("cleanup", "replica-a", 1).await.unwrap();
//! assert_eq!(lease.acquire("cleanup", "replica-b").await, Ok(Some(2)));
//! assert_eq!(lease.renew("cleanup", "replica-a", 1).await, Ok(false));
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::BoxError;

pub(crate) mod keeper;

pub(crate) use self::keeper::{Keeper, Lost};
#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use self::postgres::{Postgres, PostgresError};

/// A backend of time-limited, exclusive leases with fencing tokens: what singleton
/// routines are kept by.
///
/// rutina calls it on behalf of each singleton routine, with the routine's `key` and a
/// `holder` identity unique to that routine in that process (host name, process id and
/// a random part). Implement it with `async fn`s; the futures must be `Send`.
///
/// # Contract
///
/// Every implementation must guarantee, for each key:
///
/// 1. **Exclusion.** [`acquire`](Lease::acquire) is one atomic step: it grants the lease
///    to `holder` if and only if no *other* holder holds an unexpired lease on the key.
///    Two replicas racing for a free key never both get it.
/// 2. **Fencing tokens grow.** Every grant returns a token strictly greater than every
///    token granted before for the same key, to any holder, across releases, expiries
///    and restarts of the backend (store the counter durably; never reset it when a
///    lease is released or expires). A holder that acquires again — even while it
///    still holds the lease — gets a new, greater token, and its old token stops being
///    renewable. Tokens start at 1.
/// 3. **TTL, measured by the backend.** A lease granted or renewed expires [`time_to_live`]
///    after the backend *processed* that request, measured by the backend's clock,
///    never earlier. Until then no other holder can acquire it (unless it is released).
/// 4. **No resurrection.** [`renew`](Lease::renew) extends the lease (by the TTL from
///    now) only if `holder` still holds it with `fencing_token` and it has not expired;
///    otherwise it answers `Ok(false)` and changes nothing. An expired lease is gone
///    even if nobody took it since: the holder must acquire again, with a new token.
/// 5. **Idempotent release.** [`release`](Lease::release) makes the lease free at once
///    if `holder` holds it with `fencing_token`, and does nothing otherwise (already
///    released, expired, held by someone else): both are `Ok(())`.
/// 6. **Errors mean "unknown".** `Err` means the backend could not answer: the
///    operation may or may not have taken effect. rutina logs it and retries; it never
///    treats an error as a loss by itself, only as a renewal that did not happen. So an
///    answer of "not held" (`Ok(None)`, `Ok(false)`) must be a real answer of the
///    backend, never a transient failure in disguise.
/// 7. **Cancellation.** rutina bounds every call in time (about TTL/4) and drops the
///    ones that take longer: a dropped call must leave the backend consistent (each
///    operation is one atomic step), and the next call must work (reconnect if need be).
///
/// # The TTL and the caller's safety margin
///
/// The holder of a lease measures, on its local monotonic clock, from the moment it
/// *sent* its last successful acquire or renew: `deadline = sent_at + ttl − margin`.
/// Past the deadline it stops (cancels its run) even if the backend is unreachable.
/// Because the backend starts its TTL later than `sent_at` (when it processed the
/// request), the holder stops at least `margin` before anyone else could acquire the
/// lease, provided that both clocks run at the same rate. The margin absorbs clock-rate
/// differences and the time a cancelled run takes to stop; fencing tokens cover what
/// remains (see the [module docs](self)).
///
/// # Why `impl Future` and not boxed futures
///
/// The methods return `impl Future + Send`, so that a backend is written with plain
/// `async fn`s, with neither `Box::pin` nor a macro crate. Such a trait cannot be a
/// `dyn Lease`; rutina keeps backends as an object-safe, crate-private mirror of it
/// instead, implemented for every `Lease`, which boxes each call's future: one small
/// allocation per call, at most a few per TTL — nothing next to a network round trip.
/// [`Arc<L>`](Arc) is a `Lease` too, to share one backend between groups.
///
/// [`time_to_live`]: Lease::time_to_live
pub trait Lease: Send + Sync + 'static {
    /// What a failed call returns. It is converted into a [`BoxError`] for logging.
    type Error: Into<BoxError> + Send + 'static;

    /// How long a lease lasts after the backend processed an acquire or renew. It must
    /// not change over the backend's life. rutina tries to acquire at least every
    /// TTL/4 and renews at least every TTL/3.
    fn time_to_live(&self) -> Duration;

    /// Acquires the lease `key` for `holder`, atomically: `Ok(Some(fencing_token))` if
    /// it was free (never held, released or expired) or already held by `holder`
    /// (a re-acquisition: a new token), `Ok(None)` if another holder holds it.
    fn acquire(&self, key: &str, holder: &str) -> impl Future<Output = Result<Option<u64>, Self::Error>> + Send;

    /// Extends the lease `key` by the TTL if `holder` still holds it with
    /// `fencing_token` and it has not expired: `Ok(true)`; otherwise `Ok(false)` (it
    /// expired, was released, or was acquired again since).
    fn renew(
        &self,
        key: &str,
        holder: &str,
        fencing_token: u64,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Frees the lease `key` at once if `holder` holds it with `fencing_token`;
    /// otherwise does nothing. `Ok(())` in both cases: releasing is idempotent.
    fn release(
        &self,
        key: &str,
        holder: &str,
        fencing_token: u64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl<L: Lease> Lease for Arc<L> {
    type Error = L::Error;

    fn time_to_live(&self) -> Duration {
        L::time_to_live(self)
    }

    fn acquire(&self, key: &str, holder: &str) -> impl Future<Output = Result<Option<u64>, Self::Error>> + Send {
        L::acquire(self, key, holder)
    }

    fn renew(
        &self,
        key: &str,
        holder: &str,
        fencing_token: u64,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        L::renew(self, key, holder, fencing_token)
    }

    fn release(
        &self,
        key: &str,
        holder: &str,
        fencing_token: u64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        L::release(self, key, holder, fencing_token)
    }
}

/// A boxed, `Send` future borrowing from the call.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Lease`], object-safe: what the runtime keeps (as [`SharedLease`]). Implemented for
/// every `Lease`; each call boxes the backend's future and its error.
pub(crate) trait DynLease: Send + Sync + 'static {
    fn time_to_live(&self) -> Duration;
    fn acquire<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<Option<u64>, BoxError>>;
    fn renew<'a>(&'a self, key: &'a str, holder: &'a str, fencing_token: u64) -> BoxFuture<'a, Result<bool, BoxError>>;
    fn release<'a>(&'a self, key: &'a str, holder: &'a str, fencing_token: u64) -> BoxFuture<'a, Result<(), BoxError>>;
}

impl<L: Lease> DynLease for L {
    fn time_to_live(&self) -> Duration {
        Lease::time_to_live(self)
    }

    fn acquire<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<Option<u64>, BoxError>> {
        Box::pin(async move { Lease::acquire(self, key, holder).await.map_err(Into::into) })
    }

    fn renew<'a>(&'a self, key: &'a str, holder: &'a str, fencing_token: u64) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(async move { Lease::renew(self, key, holder, fencing_token).await.map_err(Into::into) })
    }

    fn release<'a>(&'a self, key: &'a str, holder: &'a str, fencing_token: u64) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move { Lease::release(self, key, holder, fencing_token).await.map_err(Into::into) })
    }
}

/// A lease backend as the runtime keeps it: one per group, shared by every keeper.
pub(crate) type SharedLease = Arc<dyn DynLease>;

/// `lease` as the runtime keeps it (what `Options::lease` will store).
pub(crate) fn shared(lease: impl Lease) -> SharedLease {
    Arc::new(lease)
}
