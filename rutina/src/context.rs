//! [`Context`]: what one run of a routine is handed; [`CancelReason`]: why it was asked to stop.

use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::CancelReason;
use crate::Id;
use crate::health::Health;
use crate::member::{Joining, Member};
use crate::monitor::{Monitor, Operator};

/// The context of one run of a routine: who it is, which attempt this is, and the
/// cancellation token it must watch.
///
/// A routine is expected to return soon after its context is cancelled: that happens
/// when the group shuts down, when the routine is [killed](crate::Rutina::kill), or
/// when the run exceeds its [timeout](crate::RunOptions::timeout).
///
/// `Context` is cheap to clone (two reference counts) and `Send + Sync`; clones share
/// the cancellation state.
///
/// # Testing a routine without an orchestrator
///
/// [`Context::detached`] makes a context that belongs to no group; cancel it through
/// its token to simulate a shutdown:
///
/// ```
/// use rutina::Context;
///
/// async fn worker(ctx: Context) -> Result<(), std::io::Error> {
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ctx = Context::detached();
/// ctx.token().cancel();
/// assert!(worker(ctx).await.is_ok());
/// # }
/// ```
#[derive(Clone)]
pub struct Context {
    member: Arc<Member>,
    /// The run's own token when it differs from the routine's (runs with a timeout).
    run_token: Option<CancellationToken>,
    attempt: u32,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("attempt", &self.attempt)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Context {
    pub(crate) fn new(member: Arc<Member>, attempt: u32, run_token: Option<CancellationToken>) -> Self {
        Context { member, run_token, attempt }
    }

    /// A context that belongs to no orchestrator: id `#0`, name `"detached"`,
    /// attempt 1 and a fresh token that nothing cancels but you.
    ///
    /// Use it to unit-test a routine's body; see the [type docs](Context).
    pub fn detached() -> Context {
        Context::detached_with_token(CancellationToken::new())
    }

    /// Like [`Context::detached`], with the token you give, so that a routine can be
    /// driven by a token you already have (a test's, or a parent's).
    pub fn detached_with_token(token: CancellationToken) -> Context {
        let joining = Joining {
            name: Some("detached".to_owned()),
            grace: None,
            gate: false,
            heartbeat: None,
            watched: false,
            singleton: false,
            reload: false,
            health: Arc::new(Health::detached()),
        };
        Context::new(Arc::new(Member::detached(Id::DETACHED, joining, token)), 1, None)
    }

    /// The routine's id: the one [`Rutina::go`](crate::Rutina::go) returned. It stays the
    /// same across restarts.
    pub fn id(&self) -> Id {
        self.member.id
    }

    /// The routine's name: [`RunOptions::name`](crate::RunOptions::name), the fn name for
    /// `#[rutina::routine]` items, or `routine-<id>` for closures.
    pub fn name(&self) -> &str {
        self.member.name()
    }

    /// Which run this is: 1 for the first, 2 for the first restart, and so on.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The run's cancellation token. Hand out [child tokens](CancellationToken::child_token)
    /// of it to the tasks a routine spawns, and an owned wait on it to APIs that want a
    /// `'static` shutdown future, such as axum's `with_graceful_shutdown`.
    ///
    /// ```
    /// use rutina::Context;
    ///
    /// async fn serve(ctx: Context) -> std::io::Result<()> {
    ///     // A task of the routine's own stops with it.
    ///     let token = ctx.token().child_token();
    ///     let worker = tokio::spawn(async move { token.cancelled().await });
    ///     // `axum::serve(listener, app).with_graceful_shutdown(shutdown)`:
    ///     let shutdown = ctx.token().clone().cancelled_owned();
    ///     shutdown.await;
    ///     let _ = worker.await;
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let ctx = Context::detached();
    /// ctx.token().cancel();
    /// serve(ctx).await.unwrap();
    /// # }
    /// ```
    pub fn token(&self) -> &CancellationToken {
        match &self.run_token {
            Some(token) => token,
            None => self.member.token(),
        }
    }

    /// Completes when this run is cancelled: group shutdown, kill, or timeout.
    ///
    /// ```
    /// # async fn serve(ctx: rutina::Context) -> Result<(), std::io::Error> {
    /// tokio::select! {
    ///     _ = ctx.cancelled() => Ok(()),            // drain and return
    ///     r = async { /* accept connections */ Ok(()) } => r,
    /// }
    /// # }
    /// ```
    // Not an `async fn`: its future would be 8 bytes larger, in the state of every
    // routine that waits for its cancellation.
    #[allow(clippy::manual_async_fn)]
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + '_ {
        // With a token (the run's own, or the routine's once made), the token tells;
        // without, the routine's wakeups do, and no token is needed. The two waits are in
        // scopes of their own, so that they share their room in the future.
        async move {
            loop {
                if let Some(token) = self.made_token() {
                    return token.cancelled().await;
                }
                // Created before anything is read again: it sees every wakeup after that.
                let wakeup = self.member.wakeup();
                if self.made_token().is_some() {
                    continue;
                }
                if self.member.is_cancelled() {
                    return;
                }
                wakeup.await;
            }
        }
    }

    /// Tells the group this routine is ready (listening, connected, warmed up). Only
    /// routines made [readiness gates](crate::RunOptions::readiness_gate) count: the group
    /// is [ready](crate::Rutina::is_ready) once all of them called it (with the `systemd`
    /// feature, `READY=1` is sent then). Idempotent; a no-op for other routines and for
    /// detached contexts. Readiness is sticky: it survives restarts.
    pub fn ready(&self) {
        self.member.mark_ready();
    }

    /// Like [`cancelled`](Context::cancelled), but owning what it waits on: a
    /// `Send + 'static` future for APIs that want one, such as axum's
    /// `with_graceful_shutdown`.
    ///
    /// ```
    /// # async fn serve(ctx: rutina::Context) {
    /// let shutdown = ctx.cancelled_owned();
    /// tokio::spawn(async move {
    ///     shutdown.await;
    ///     println!("draining");
    /// });
    /// # }
    /// ```
    pub fn cancelled_owned(&self) -> WaitForCancellationFutureOwned {
        self.token().clone().cancelled_owned()
    }

    /// The run's token, if it has one: its own, or its routine's once made.
    fn made_token(&self) -> Option<&CancellationToken> {
        self.run_token.as_ref().or_else(|| self.member.made_token())
    }

    /// Whether this run has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        match &self.run_token {
            Some(token) => token.is_cancelled(),
            None => self.member.is_cancelled(),
        }
    }

    /// Tells the group this run is alive, for routines with a
    /// [heartbeat](crate::RunOptions::heartbeat): a run silent for longer than the period
    /// is hung. A store to memory, cheap enough for every iteration of a loop; a no-op for
    /// routines without a heartbeat and for detached contexts.
    pub fn heartbeat(&self) {
        self.member.beat();
    }

    /// A [singleton](crate::RunOptions::singleton) routine's fencing token while its
    /// replica holds the lease: it grows with every acquisition of the lease, by any
    /// replica, so that a resource guarding its writes with it (`UPDATE .. WHERE
    /// fencing_token <= $token`, a compare-and-set) rejects a replica that lost the lease
    /// and has not stopped yet. `None` for other routines.
    pub fn fencing_token(&self) -> Option<u64> {
        self.member.fencing_token()
    }

    /// Why this run was asked to stop; `None` while it was not. The first cause counts:
    /// a run that timed out and was then caught in the group's shutdown says
    /// [`CancelReason::TimedOut`].
    ///
    /// ```
    /// use rutina::{CancelReason, Context};
    ///
    /// async fn job(ctx: Context) -> std::io::Result<()> {
    ///     ctx.cancelled().await;
    ///     match ctx.cancel_reason() {
    ///         Some(CancelReason::TimedOut) => println!("took too long; giving up"),
    ///         Some(reason) => println!("stopping: {reason}"),
    ///         None => unreachable!("cancelled"),
    ///     }
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let ctx = Context::detached();
    /// assert_eq!(ctx.cancel_reason(), None);
    /// ctx.token().cancel();
    /// assert_eq!(ctx.cancel_reason(), Some(CancelReason::Shutdown));
    /// job(ctx).await.unwrap();
    /// # }
    /// ```
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        self.is_cancelled().then(|| self.member.cancel_reason(self.attempt))
    }

    /// A read-only view of the routine's group — readiness, liveness, shutdown, status —
    /// that does not keep the group alive: for a health endpoint served by a routine.
    /// A detached context's monitor reads as a group that is over.
    ///
    /// ```
    /// use rutina::Context;
    ///
    /// async fn health(ctx: Context) -> std::io::Result<()> {
    ///     let monitor = ctx.monitor();
    ///     // GET /health: 200 if monitor.is_ready(), else 503
    ///     # let _ = monitor.is_ready();
    ///     ctx.cancelled().await;
    ///     Ok(())
    /// }
    /// ```
    pub fn monitor(&self) -> Monitor {
        self.member.monitor()
    }

    /// A handle that restarts, reloads, kills and shuts down as the group's
    /// [`Rutina`](crate::Rutina) does, without keeping the group alive (see [`Operator`]):
    /// for the admin endpoint a routine serves. For a detached context, an operator of no
    /// group.
    pub fn operator(&self) -> Operator {
        self.member.operator()
    }
}
