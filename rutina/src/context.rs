//! [`Context`]: what one run of a routine is handed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::Id;

/// What a routine's runs share: its identity and its cancellation token.
///
/// One per routine, alive as long as the routine (and any `Context` a run kept).
#[derive(Debug)]
pub(crate) struct RoutineShared {
    pub(crate) id: Id,
    /// Set when the routine is named; `routine-<id>` is made on first use otherwise.
    name: OnceLock<Arc<str>>,
    /// Cancelled by `kill`, by group shutdown (it is a child of the group token), never by a timeout.
    pub(crate) token: CancellationToken,
    pub(crate) killed: AtomicBool,
}

impl RoutineShared {
    pub(crate) fn new(id: Id, name: Option<String>, token: CancellationToken) -> Self {
        let name = match name {
            Some(name) => OnceLock::from(Arc::from(name)),
            None => OnceLock::new(),
        };
        RoutineShared { id, name, token, killed: AtomicBool::new(false) }
    }

    pub(crate) fn name(&self) -> &Arc<str> {
        self.name.get_or_init(|| Arc::from(format!("routine-{}", self.id.get())))
    }

    pub(crate) fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
}

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
#[derive(Clone, Debug)]
pub struct Context {
    routine: Arc<RoutineShared>,
    /// The run's own token when it differs from the routine's (runs with a timeout).
    run_token: Option<CancellationToken>,
    attempt: u32,
}

impl Context {
    pub(crate) fn new(routine: Arc<RoutineShared>, attempt: u32, run_token: Option<CancellationToken>) -> Self {
        Context { routine, run_token, attempt }
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
        let routine = RoutineShared::new(Id::DETACHED, Some("detached".to_owned()), token);
        Context::new(Arc::new(routine), 1, None)
    }

    /// The routine's id: the one [`Rutina::go`](crate::Rutina::go) returned. It stays the
    /// same across restarts.
    pub fn id(&self) -> Id {
        self.routine.id
    }

    /// The routine's name: [`RunOptions::name`](crate::RunOptions::name), the fn name for
    /// `#[rutina::routine]` items, or `routine-<id>` for closures.
    pub fn name(&self) -> &str {
        self.routine.name()
    }

    /// Which run this is: 1 for the first, 2 for the first restart, and so on.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The run's cancellation token. Hand out [child tokens](CancellationToken::child_token)
    /// of it to the tasks a routine spawns.
    pub fn token(&self) -> &CancellationToken {
        self.run_token.as_ref().unwrap_or(&self.routine.token)
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
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token().cancelled()
    }

    /// Whether this run has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token().is_cancelled()
    }
}
