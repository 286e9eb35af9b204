//! [`Options`](crate::Options), how a group is made, and [`ShutdownOrder`](crate::ShutdownOrder).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::RoutineError;
use crate::lease::{Lease, SharedLease, shared};

/// How a [`Rutina`](crate::Rutina) is made.
///
/// ```
/// use std::time::Duration;
/// use rutina::{Options, Rutina};
///
/// let (errors, mut failures) = tokio::sync::mpsc::unbounded_channel();
/// let rutina = Rutina::new(
///     Options::default()
///         .listen_os_signals(true)
///         .errors(errors)
///         .shutdown_timeout(Duration::from_secs(30)),
/// );
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Options {
    pub(crate) parent_token: Option<CancellationToken>,
    pub(crate) listen_os_signals: bool,
    pub(crate) errors: Option<mpsc::UnboundedSender<RoutineError>>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) shutdown_order: ShutdownOrder,
    pub(crate) exit_on_third_signal: bool,
    pub(crate) lease: Option<SharedLease>,
    pub(crate) shutdown_delay: Option<Duration>,
}

/// In which order a group shutdown cancels the routines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShutdownOrder {
    /// Every routine's context is cancelled at once (the default).
    #[default]
    AllAtOnce,
    /// The routines are stopped one after another, the latest started first: each one's
    /// context is cancelled only once every later-started routine ended (or was aborted
    /// after its grace period). Start a database pool before the web server that uses
    /// it, and the server stops first. Carried out by [`Rutina::wait`](crate::Rutina::wait).
    ReverseStart,
}

impl Options {
    /// Binds the group to `token`: the group's token is a child of it, so cancelling
    /// `token` shuts the group down ([`ShutdownReason::Cancelled`](crate::ShutdownReason::Cancelled)). Use it for nested
    /// groups: `parent_token(ctx.token().clone())`.
    ///
    /// ```
    /// use rutina::{CancellationToken, Context, Options, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let parent = CancellationToken::new();
    /// let rutina = Rutina::new(Options::default().parent_token(parent.clone()));
    /// rutina.go(|ctx: Context| async move {
    ///     ctx.cancelled().await;
    ///     Ok::<_, std::io::Error>(())
    /// });
    /// parent.cancel();
    /// rutina.wait().await.unwrap(); // a cancelled parent is not an error
    /// # }
    /// ```
    pub fn parent_token(mut self, token: CancellationToken) -> Self {
        self.parent_token = Some(token);
        self
    }

    /// Whether to shut down on SIGINT/SIGTERM, as [`Rutina::listen_os_signals`](crate::Rutina::listen_os_signals) does.
    /// Default: `false`.
    pub fn listen_os_signals(mut self, listen: bool) -> Self {
        self.listen_os_signals = listen;
        self
    }

    /// Where failures that decide nothing go: errors under `DoNothing` and `Restart`,
    /// failures of killed routines, and failures after the group's error was decided.
    /// Sending never blocks; rutina never closes the channel, and drops its sender when
    /// [`Rutina::wait`](crate::Rutina::wait) returns: once your own senders are gone too, the receiver ends.
    pub fn errors(mut self, sender: mpsc::UnboundedSender<RoutineError>) -> Self {
        self.errors = Some(sender);
        self
    }

    /// The grace period after a shutdown began: routines still running when it passes
    /// are aborted and [`Rutina::wait`](crate::Rutina::wait) returns [`Error::Aborted`](crate::Error::Aborted). Default: wait for all.
    /// A routine's own [`RunOptions::grace_period`](crate::RunOptions::grace_period) overrides it for that routine.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// In which order a shutdown stops the routines. Default: [`ShutdownOrder::AllAtOnce`](crate::ShutdownOrder::AllAtOnce).
    ///
    /// With [`ShutdownOrder::ReverseStart`](crate::ShutdownOrder::ReverseStart), [`Options::shutdown_timeout`](crate::Options::shutdown_timeout) (or a routine's
    /// own [`RunOptions::grace_period`](crate::RunOptions::grace_period)) is each routine's grace period from its turn.
    pub fn shutdown_order(mut self, order: ShutdownOrder) -> Self {
        self.shutdown_order = order;
        self
    }

    /// The lame-duck delay: when a shutdown begins by an OS signal, [`Rutina::shutdown`](crate::Rutina::shutdown)
    /// or the parent token, the group turns not-ready at once — [`Rutina::is_ready`](crate::Rutina::is_ready)
    /// false, [`Rutina::watch_shutdown`](crate::Rutina::watch_shutdown) true, systemd's
    /// `STOPPING=1` — but the routines' contexts are cancelled only once `delay` has
    /// passed, so that they keep serving while load balancers take the instance out of
    /// rotation (Kubernetes removes a terminating pod's endpoints while it is already
    /// shutting down: without a delay, requests still routed to it are refused). The
    /// [shutdown timeout](Options::shutdown_timeout) counts from the end of the delay.
    ///
    /// A shutdown decided by a routine's policy (the service is broken) skips the delay,
    /// as does a group whose last handle is dropped; a second OS signal during the delay
    /// aborts at once. [`Rutina::token`](crate::Rutina::token) is cancelled when the
    /// shutdown begins, the routines' [`Context`](crate::Context) tokens when the delay
    /// ends. The [shutdown report](crate::ShutdownReport::delay) shows the delay. Default:
    /// none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::{Context, Options, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let rutina = Rutina::new(Options::default().shutdown_delay(Duration::from_secs(5)));
    /// rutina.go(|ctx: Context| async move {
    ///     ctx.cancelled().await; // five seconds after the shutdown began
    ///     Ok::<_, std::io::Error>(())
    /// });
    /// tokio::task::yield_now().await;
    /// rutina.shutdown();
    /// assert!(!rutina.is_ready() && rutina.is_shutting_down());
    /// let began = tokio::time::Instant::now();
    /// rutina.wait().await.unwrap();
    /// assert_eq!(began.elapsed(), Duration::from_secs(5));
    /// # }
    /// ```
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = Some(delay).filter(|delay| !delay.is_zero());
        self
    }

    /// The lease backend of the group's [singleton](crate::RunOptions::singleton) routines:
    /// [`lease::Postgres`](crate::lease) (feature `postgres`), or your own [`Lease`].
    /// Every replica of the service must point at the same backend.
    pub fn lease(mut self, lease: impl Lease) -> Self {
        self.lease = Some(shared(lease));
        self
    }

    /// [`Main`](crate::Main): a third OS signal exits the process at once with status 130.
    pub(crate) fn exit_on_third_signal(mut self) -> Self {
        self.exit_on_third_signal = true;
        self
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("parent_token", &self.parent_token)
            .field("listen_os_signals", &self.listen_os_signals)
            .field("errors", &self.errors.is_some())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("shutdown_order", &self.shutdown_order)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("lease", &self.lease.is_some())
            .finish_non_exhaustive()
    }
}
