//! [`Context`]: what one run of a routine is handed; [`CancelReason`]: why it was asked to stop.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::CancelReason;
use crate::Id;
use crate::health::Health;
use crate::member::{Cancellable, Cancelled, Joining, Member};
use crate::monitor::{Monitor, Operator};

/// The context of one run of a routine: who it is, which attempt this is, and the
/// cancellation token it must watch.
///
/// A routine is expected to return soon after its context is cancelled: that happens
/// when the group shuts down, when the routine is [killed](crate::Rutina::kill), or
/// when the run exceeds its [timeout](crate::RunOptions::timeout).
///
/// `Context` is one pointer, cheap to clone (a reference count) and `Send + Sync`;
/// clones share the cancellation state.
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
    // One pointer: a routine's future keeps its context twice (the argument, and the
    // local it is moved to), and a routine that waits for its cancellation keeps little
    // else.
    scope: Arc<Scope>,
}

/// The run a context is of. The supervisor keeps one and hands it to each run in turn,
/// moving it on to the next run when no context of the last is left (as is usual), so
/// that a restart allocates nothing; a run whose last context lives on, or that has a
/// token of its own, gets a new one.
pub(crate) struct Scope {
    pub(crate) member: Arc<Member>,
    /// Written only while the supervisor's is the only reference.
    attempt: AtomicU32,
    /// The run's own token when it differs from the routine's (runs with a timeout, a
    /// heartbeat, a lease).
    run_token: Option<CancellationToken>,
}

impl Scope {
    pub(crate) fn new(member: Arc<Member>, attempt: u32, run_token: Option<CancellationToken>) -> Scope {
        Scope { member, attempt: AtomicU32::new(attempt), run_token }
    }

    /// The context of run `attempt` of the same routine, whose own token is `run_token`
    /// if it has one: `scope` itself, moved on, if nothing else refers to it.
    pub(crate) fn next(scope: &mut Arc<Scope>, attempt: u32, run_token: Option<CancellationToken>) -> Context {
        // Only the supervisor makes contexts from its scope: with no other reference
        // left, none can appear meanwhile.
        if Arc::strong_count(scope) == 1 && run_token.is_none() && scope.run_token.is_none() {
            scope.attempt.store(attempt, Ordering::Relaxed);
        } else {
            *scope = Arc::new(Scope::new(scope.member.clone(), attempt, run_token));
        }
        Context { scope: scope.clone() }
    }

    fn attempt(&self) -> u32 {
        self.attempt.load(Ordering::Relaxed)
    }
}

impl Cancellable for Scope {
    fn member(&self) -> &Member {
        &self.member
    }

    fn made_token(&self) -> Option<&CancellationToken> {
        self.run_token.as_ref().or_else(|| self.member.made_token())
    }

    fn is_cancelled(&self) -> bool {
        match &self.run_token {
            Some(token) => token.is_cancelled(),
            None => self.member.is_cancelled(),
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("attempt", &self.attempt())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Context {
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
        let joining = Joining::plain(Some("detached".to_owned()), Arc::new(Health::detached()));
        let member = Arc::new(Member::detached(Id::DETACHED, joining, token));
        Context { scope: Arc::new(Scope::new(member, 1, None)) }
    }

    /// The routine's id: the one [`Rutina::go`](crate::Rutina::go) returned. It stays the
    /// same across restarts.
    pub fn id(&self) -> Id {
        self.scope.member.id
    }

    /// The routine's name: [`RunOptions::name`](crate::RunOptions::name), the fn name for
    /// `#[rutina::routine]` items, or `routine-<id>` for closures.
    pub fn name(&self) -> &str {
        self.scope.member.name()
    }

    /// Which run this is: 1 for the first, 2 for the first restart, and so on.
    pub fn attempt(&self) -> u32 {
        self.scope.attempt()
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
        match &self.scope.run_token {
            Some(token) => token,
            None => self.scope.member.token(),
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
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + '_ {
        Cancelled::new(&*self.scope)
    }

    /// Tells the group this routine is ready (listening, connected, warmed up). Only
    /// routines made [readiness gates](crate::RunOptions::readiness_gate) count: the group
    /// is [ready](crate::Rutina::is_ready) once all of them called it (with the `systemd`
    /// feature, `READY=1` is sent then). Idempotent; a no-op for other routines and for
    /// detached contexts. Readiness is sticky: it survives restarts.
    pub fn ready(&self) {
        self.scope.member.mark_ready();
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

    /// Whether this run has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.scope.is_cancelled()
    }

    /// Tells the group this run is alive, for routines with a
    /// [heartbeat](crate::RunOptions::heartbeat): a run silent for longer than the period
    /// is hung. A store to memory, cheap enough for every iteration of a loop; a no-op for
    /// routines without a heartbeat and for detached contexts.
    pub fn heartbeat(&self) {
        self.scope.member.beat();
    }

    /// A [singleton](crate::RunOptions::singleton) routine's fencing token while its
    /// replica holds the lease: it grows with every acquisition of the lease, by any
    /// replica, so that a resource guarding its writes with it (`UPDATE .. WHERE
    /// fencing_token <= $token`, a compare-and-set) rejects a replica that lost the lease
    /// and has not stopped yet. `None` for other routines.
    pub fn fencing_token(&self) -> Option<u64> {
        self.scope.member.fencing_token()
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
        self.is_cancelled().then(|| self.scope.member.cancel_reason(self.scope.attempt()))
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
        self.scope.member.monitor()
    }

    /// A handle that restarts, reloads, kills and shuts down as the group's
    /// [`Rutina`](crate::Rutina) does, without keeping the group alive (see [`Operator`]):
    /// for the admin endpoint a routine serves. For a detached context, an operator of no
    /// group.
    pub fn operator(&self) -> Operator {
        self.scope.member.operator()
    }
}
