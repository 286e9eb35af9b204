//! [`Context`]: what one run of a routine is handed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture, WaitForCancellationFutureOwned};

use crate::Id;
use crate::error::SharedError;
use crate::group::lock;
use crate::status::{RoutineState, RoutineStatus};

/// What a routine's runs share: its identity and its cancellation token.
///
/// One per routine, alive as long as the routine (and any `Context` a run kept).
#[derive(Debug)]
pub(crate) struct RoutineShared {
    pub(crate) id: Id,
    /// Set when the routine is named; `routine-<id>` is made on first use otherwise.
    name: OnceLock<Arc<str>>,
    /// Cancelled by `kill` and by the group shutdown (as a child of the group token, or on its
    /// turn in reverse start order), never by a timeout.
    pub(crate) token: CancellationToken,
    pub(crate) killed: AtomicBool,
    pub(crate) aborted: AtomicBool,
    ready: AtomicBool,
    pub(crate) started_at: Instant,
    /// Made when the status first differs from the one a routine starts with (a restart,
    /// a failure, a backoff): most routines run once and never need it.
    run: Mutex<Option<Box<RunStatus>>>,
    /// Made only for routines with a grace period or a readiness gate.
    rare: Option<Box<Rare>>,
}

/// What few routines have, boxed so that the others do not carry it.
#[derive(Debug)]
struct Rare {
    /// Overrides the group's shutdown timeout for this routine.
    grace: Option<Duration>,
    /// The group's readiness, kept by readiness gates only (for [`Context::ready`]): a
    /// reference count that every routine bumped would be one more cache line that all
    /// the group's threads write to.
    readiness: Option<Arc<Readiness>>,
}

/// What `Rutina::status` shows of a routine, updated by its supervisor.
#[derive(Debug)]
pub(crate) struct RunStatus {
    pub(crate) attempt: u32,
    pub(crate) run_started_at: Instant,
    pub(crate) backoff_until: Option<Instant>,
    pub(crate) last_error: Option<SharedError>,
    pub(crate) consecutive_failures: u32,
}

/// How a routine joins a group.
pub(crate) struct Joining {
    pub(crate) name: Option<String>,
    pub(crate) grace: Option<Duration>,
    pub(crate) gate: bool,
}

/// The group's readiness: every routine began its first run and every gate is ready.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    unstarted: AtomicUsize,
    gates_pending: AtomicUsize,
    /// Notified when the group becomes ready.
    pub(crate) changed: Notify,
}

impl Readiness {
    pub(crate) fn is_ready(&self) -> bool {
        self.unstarted.load(Ordering::Acquire) == 0 && self.gates_pending.load(Ordering::Acquire) == 0
    }

    fn resolve(&self, counter: &AtomicUsize) {
        if counter.fetch_sub(1, Ordering::AcqRel) == 1 && self.is_ready() {
            self.changed.notify_waiters();
        }
    }
}

impl RoutineShared {
    pub(crate) fn new(id: Id, joining: Joining, token: CancellationToken, readiness: Option<&Arc<Readiness>>) -> Self {
        let name = match joining.name {
            Some(name) => OnceLock::from(Arc::from(name)),
            None => OnceLock::new(),
        };
        if let Some(readiness) = readiness {
            readiness.unstarted.fetch_add(1, Ordering::AcqRel);
            if joining.gate {
                readiness.gates_pending.fetch_add(1, Ordering::AcqRel);
            }
        }
        let readiness = readiness.filter(|_| joining.gate).cloned();
        let rare = (joining.grace.is_some() || readiness.is_some())
            .then(|| Box::new(Rare { grace: joining.grace, readiness }));
        RoutineShared {
            id,
            name,
            token,
            killed: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            started_at: Instant::now(),
            run: Mutex::new(None),
            rare,
        }
    }

    /// Overrides the group's shutdown timeout for this routine.
    pub(crate) fn grace(&self) -> Option<Duration> {
        self.rare.as_ref().and_then(|rare| rare.grace)
    }

    /// The routine's status, made as it starts if not yet: attempt 0 (shown as 1),
    /// started when the routine was.
    fn run_status<'a>(&self, run: &'a mut Option<Box<RunStatus>>) -> &'a mut RunStatus {
        run.get_or_insert_with(|| {
            Box::new(RunStatus {
                attempt: 0,
                run_started_at: self.started_at,
                backoff_until: None,
                last_error: None,
                consecutive_failures: 0,
            })
        })
    }

    /// Failed runs in a row.
    #[cfg(all(unix, feature = "systemd"))]
    pub(crate) fn consecutive_failures(&self) -> u32 {
        lock(&self.run).as_ref().map_or(0, |run| run.consecutive_failures)
    }

    /// A run begins; `readiness` is the group's.
    pub(crate) fn run_started(&self, attempt: u32, readiness: &Readiness) {
        if attempt == 1 {
            // The status made with the routine already tells its first run (attempt 0
            // shows as 1, started when the routine was): no lock, no clock read on the
            // way from `go` to the first run.
            self.first_run_over(readiness);
            return;
        }
        let mut run = lock(&self.run);
        let run = self.run_status(&mut run);
        run.attempt = attempt;
        run.run_started_at = Instant::now();
        run.backoff_until = None;
    }

    /// The routine made (or will never make) its first run; `readiness` is the group's,
    /// which counted the routine when it was made.
    pub(crate) fn first_run_over(&self, readiness: &Readiness) {
        readiness.resolve(&readiness.unstarted);
    }

    /// A run ended; `failure` is its failure, if it failed.
    pub(crate) fn run_ended(&self, attempt: u32, failure: Option<SharedError>) {
        if attempt == 1 && failure.is_none() {
            // Nothing failed before the first run: there is nothing to reset, and no lock
            // to take on the way out of a routine that ran once.
            return;
        }
        let mut run = lock(&self.run);
        let run = self.run_status(&mut run);
        match failure {
            Some(error) => {
                run.last_error = Some(error);
                run.consecutive_failures = run.consecutive_failures.saturating_add(1);
            }
            None => run.consecutive_failures = 0,
        }
    }

    pub(crate) fn backing_off(&self, until: Instant) {
        self.run_status(&mut lock(&self.run)).backoff_until = Some(until);
    }

    pub(crate) fn mark_ready(&self) {
        if let Some(readiness) = self.rare.as_ref().and_then(|rare| rare.readiness.as_ref())
            && !self.ready.swap(true, Ordering::AcqRel)
        {
            readiness.resolve(&readiness.gates_pending);
        }
    }

    pub(crate) fn status(&self) -> RoutineStatus {
        let run = lock(&self.run);
        let (attempt, run_started_at, backoff_until, last_error, consecutive_failures) = match run.as_deref() {
            Some(run) => {
                (run.attempt, run.run_started_at, run.backoff_until, run.last_error.clone(), run.consecutive_failures)
            }
            None => (0, self.started_at, None, None, 0),
        };
        let state = match backoff_until {
            Some(until) => RoutineState::BackingOff { until },
            None if self.token.is_cancelled() => RoutineState::Stopping,
            None => RoutineState::Running,
        };
        RoutineStatus {
            id: self.id,
            name: self.name().clone(),
            state,
            attempt: attempt.max(1),
            restarts: attempt.saturating_sub(1),
            last_error,
            consecutive_failures,
            started_at: self.started_at,
            run_started_at,
        }
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
        let joining = Joining { name: Some("detached".to_owned()), grace: None, gate: false };
        let routine = RoutineShared::new(Id::DETACHED, joining, token, None);
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

    /// Tells the group this routine is ready (listening, connected, warmed up). Only
    /// routines made [readiness gates](crate::RunOptions::readiness_gate) count: the group
    /// is [ready](crate::Rutina::is_ready) once all of them called it (with the `systemd`
    /// feature, `READY=1` is sent then). Idempotent; a no-op for other routines and for
    /// detached contexts. Readiness is sticky: it survives restarts.
    pub fn ready(&self) {
        self.routine.mark_ready();
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
        self.token().is_cancelled()
    }
}
