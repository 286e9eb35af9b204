//! [`Rutina`], the handle of a group of routines.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::group::{Group, Membership};
use crate::lease::SharedLease;
use crate::member::Member;
use crate::monitor::{Monitor, Operator};
use crate::routine::Routine;
use crate::status::{RoutineStatus, ShutdownReport};
use crate::supervisor::supervise;
use crate::{Error, Event, Id, Options, RunOptions, ShutdownReason};

/// A group of routines run under one cancellation scope.
///
/// `Rutina` is a handle: clones share one group, and it is `Send + Sync`. Start
/// routines with [`go`](Rutina::go), then [`wait`](Rutina::wait) for the group to end.
///
/// ```
/// use std::time::Duration;
/// use rutina::{Context, Options, Policy, RunOptions, Rutina};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(30)));
/// rutina.go(|ctx: Context| async move {
///     ctx.cancelled().await; // serve until the group shuts down
///     Ok::<_, std::io::Error>(())
/// });
/// rutina.go_with(
///     |_ctx| async { Err::<(), _>("job done, stop the service") },
///     RunOptions::default().name("job").on_error(Policy::Shutdown),
/// );
/// let error = rutina.wait().await.unwrap_err();
/// assert!(error.to_string().contains("job done"));
/// # }
/// ```
///
/// Every method that starts work ([`go`](Rutina::go), [`wait`](Rutina::wait),
/// [`listen_os_signals`](Rutina::listen_os_signals)) must be called within a tokio
/// runtime; [`Rutina::new`] need not be.
///
/// # Dropping
///
/// When the last handle is dropped without [`wait`](Rutina::wait) having returned, the
/// group shuts down ([`ShutdownReason::Dropped`]) and still ends what it started: what
/// `wait` would have carried out — the [shutdown order](Options::shutdown_order), the
/// [grace periods](Options::shutdown_timeout) and the aborts past them — goes on in the
/// background, and every failure from then on goes to the errors channel (nobody can
/// `wait` for it any more), the events and the logs. The group of a routine whose task
/// is aborted (it is dropped mid-run) aborts its own routines at once, so that after the
/// outermost `wait` nothing that rutina started is running.
///
/// A [`Monitor`] does not count as a handle: it never keeps the group from shutting down.
#[derive(Clone)]
pub struct Rutina {
    handle: Arc<Handle>,
}

/// The user-held part of a group: its drop shuts the group down. The routines' tasks
/// hold the `Group` itself.
struct Handle {
    group: Arc<Group>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.group.dropped();
    }
}

impl Default for Rutina {
    fn default() -> Self {
        Rutina::new(Options::default())
    }
}

impl std::fmt::Debug for Rutina {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rutina").field("processes", &self.processes()).finish_non_exhaustive()
    }
}

impl Rutina {
    /// A new, empty group.
    pub fn new(options: Options) -> Rutina {
        Rutina { handle: Arc::new(Handle { group: Group::new(options) }) }
    }

    pub(crate) fn group(&self) -> &Arc<Group> {
        &self.handle.group
    }

    /// Starts `routine` with its own options ([`Routine::options`]: the declared ones for
    /// `#[rutina::routine]` items, the defaults for closures) and returns its id.
    ///
    /// During a shutdown, or after [`wait`](Rutina::wait) returned, the routine is not
    /// started: the id returned is never run and a warning is logged.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn go<R: Routine>(&self, routine: R) -> Id {
        let options = routine.options();
        self.start(routine, options)
    }

    /// Starts `routine` with `options` instead of its own. If `options` has no
    /// [name](RunOptions::name), the routine's own name is kept.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn go_with<R: Routine>(&self, routine: R, mut options: RunOptions) -> Id {
        if options.name.is_none() {
            options.name = routine.options().name;
        }
        self.start(routine, options)
    }

    fn start<R: Routine>(&self, routine: R, mut options: RunOptions) -> Id {
        let (id, admitted) = self.admit(&mut options);
        let Some((membership, lease)) = admitted else {
            return id;
        };
        let member = membership.scope.member.clone();
        let supervisor = supervise(routine, &mut options, membership, lease);
        // Built with `--cfg tokio_unstable`, the task carries the routine's name
        // (tokio-console).
        #[cfg(tokio_unstable)]
        let task = match tokio::task::Builder::new().name(member.name()).spawn(supervisor) {
            Ok(task) => task,
            Err(error) => {
                // The supervisor was dropped with the membership: the routine left.
                tracing::error!(target: "rutina", id = id.get(), %error, "cannot spawn the routine's task");
                return id;
            }
        };
        #[cfg(not(tokio_unstable))]
        let task = tokio::spawn(supervisor);
        member.set_task(task);
        id
    }

    /// Admits a routine with `options` into the group, before its task is spawned: its id,
    /// and its membership and lease unless it is not started. Not generic, so compiled
    /// once for all routines.
    fn admit(&self, options: &mut RunOptions) -> (Id, Option<(Membership, Option<SharedLease>)>) {
        let group = self.group();
        let id = group.next_id();
        group.install_wanted_listener();
        let lease = match &options.singleton {
            None => None,
            Some(key) => match group.lease() {
                Some(lease) => Some(lease),
                None => {
                    let name = options.name.clone().unwrap_or_else(|| Member::default_name(id));
                    group.no_lease(id, &name, key);
                    return (id, None);
                }
            },
        };
        let Some(membership) = group.join(id, options) else {
            group.observers.not_started(id);
            return (id, None);
        };
        (id, Some((membership, lease)))
    }

    /// Cancels routine `id`'s context (also while it backs off, also right after
    /// [`go`](Rutina::go)). It is not restarted and its result triggers no policy; a
    /// failure still goes to the errors channel. Killing a routine never shuts the group
    /// down.
    ///
    /// A routine that [`go`](Rutina::go) accepted always makes its first run: killed
    /// before it, that run starts with its context already cancelled.
    ///
    /// ```
    /// use rutina::{Context, Error, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let rutina = Rutina::default();
    /// let id = rutina.go(|ctx: Context| async move {
    ///     ctx.cancelled().await;
    ///     Ok::<_, std::io::Error>(())
    /// });
    /// rutina.kill(id).unwrap();
    /// rutina.wait().await.unwrap(); // its only routine killed, the group ends: `Ok`
    /// assert!(matches!(rutina.kill(id), Err(Error::NotFound(_))));
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if no routine `id` is alive.
    pub fn kill(&self, id: Id) -> Result<(), Error> {
        self.group().kill(id)
    }

    /// Restarts routine `id` now, as an operator would: its current run's context is
    /// cancelled ([`CancelReason::Restarted`](crate::CancelReason::Restarted)) — or its
    /// backoff or schedule wait is cut short — and, once the run returned, the routine
    /// runs again at once, whatever its policies. The restart counts against no limit
    /// ([`max_count`](RunOptions::max_count), [`restart_intensity`](RunOptions::restart_intensity)),
    /// and the run's result decides nothing (a failure goes to the errors channel). For
    /// admin endpoints.
    ///
    /// ```
    /// use rutina::{CancelReason, Context, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let rutina = Rutina::default();
    /// let id = rutina.go(|ctx: Context| async move {
    ///     ctx.cancelled().await;
    ///     println!("run {} stops: {:?}", ctx.attempt(), ctx.cancel_reason());
    ///     Ok::<_, std::io::Error>(())
    /// });
    /// tokio::task::yield_now().await;
    /// rutina.restart(id).unwrap(); // run 1 stops: Some(Restarted); run 2 starts
    /// # tokio::task::yield_now().await;
    /// # rutina.shutdown(); rutina.wait().await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if no routine `id` is alive; [`Error::ShuttingDown`] during a
    /// shutdown (nothing restarts then).
    pub fn restart(&self, id: Id) -> Result<(), Error> {
        self.group().restart(id, false)
    }

    /// Restarts every routine marked [`reload`](RunOptions::reload), as
    /// [`restart`](Rutina::restart) does (their contexts say
    /// [`CancelReason::Reload`](crate::CancelReason::Reload)); the others are untouched.
    /// A group [listening to OS signals](Options::listen_os_signals) does this on SIGHUP.
    /// With the `systemd` feature, `wait` sends `RELOADING=1`, then `READY=1` once every
    /// restarted routine began its new run (and passed its readiness gate again: a
    /// reloaded readiness gate calls [`Context::ready`](crate::Context::ready) anew).
    /// Returns how many routines it restarted (a routine whose restart is already under
    /// way is not counted twice).
    ///
    /// # Errors
    ///
    /// [`Error::ShuttingDown`] during a shutdown.
    pub fn reload(&self) -> Result<usize, Error> {
        self.group().reload()
    }

    /// The ids of the routines alive now (running or backing off), ascending.
    ///
    /// ```
    /// use rutina::{Context, Rutina};
    ///
    /// async fn serve(ctx: Context) -> std::io::Result<()> {
    ///     ctx.cancelled().await;
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let rutina = Rutina::default();
    /// let (a, b) = (rutina.go(serve), rutina.go(serve));
    /// assert_eq!(rutina.processes(), [a, b]);
    /// rutina.kill(a).unwrap();
    /// rutina.shutdown();
    /// rutina.wait().await.unwrap();
    /// assert!(rutina.processes().is_empty());
    /// # }
    /// ```
    pub fn processes(&self) -> Vec<Id> {
        self.group().processes()
    }

    /// Shuts the group down on SIGINT or SIGTERM (Ctrl-C off unix). A second signal
    /// aborts the routines still running ([`Error::Aborted`]).
    ///
    /// The listener is installed at once within a runtime (otherwise at the next
    /// [`go`](Rutina::go) or [`wait`](Rutina::wait)) and ends with the group. Note that
    /// tokio keeps its process-wide signal handler installed once it was, so a later
    /// SIGINT no longer kills a process that outlives its group by default.
    pub fn listen_os_signals(&self) {
        self.group().listen_os_signals();
    }

    /// Begins a group shutdown now: every context is cancelled, nothing restarts and
    /// no new routine starts. Not an error: [`wait`](Rutina::wait) returns `Ok` unless a
    /// failure decided otherwise.
    ///
    /// ```
    /// use rutina::{Context, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let rutina = Rutina::default();
    /// rutina.go(|ctx: Context| async move {
    ///     ctx.cancelled().await;
    ///     Ok::<_, std::io::Error>(())
    /// });
    /// assert!(!rutina.is_shutting_down());
    /// rutina.shutdown();
    /// assert!(rutina.is_shutting_down() && rutina.token().is_cancelled());
    /// rutina.wait().await.unwrap();
    /// # }
    /// ```
    pub fn shutdown(&self) {
        self.group().begin_shutdown(ShutdownReason::Requested);
    }

    /// Whether the group is shutting down (or over). Cheap; meant for health endpoints
    /// that must report not-ready as soon as a shutdown begins.
    pub fn is_shutting_down(&self) -> bool {
        self.group().is_shutting_down()
    }

    /// A watch channel that turns `true` when the group begins shutting down (and stays
    /// so). For health endpoints and for tasks outside the group:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let rutina = rutina::Rutina::default();
    /// let mut shutting_down = rutina.watch_shutdown();
    /// assert!(!*shutting_down.borrow());
    /// rutina.shutdown();
    /// shutting_down.wait_for(|down| *down).await.unwrap();
    /// # }
    /// ```
    pub fn watch_shutdown(&self) -> tokio::sync::watch::Receiver<bool> {
        self.group().watch_shutdown()
    }

    /// Whether the group is ready: every routine began its first run (or waits for its
    /// schedule's first tick, or for its [singleton](RunOptions::singleton) lease held by
    /// another replica), every [readiness gate](RunOptions::readiness_gate) called
    /// [`Context::ready`](crate::Context::ready), and no shutdown began. For readiness
    /// probes; with the `systemd` feature, `READY=1` is sent when this first holds
    /// during [`wait`](Rutina::wait).
    pub fn is_ready(&self) -> bool {
        self.group().is_ready()
    }

    /// Whether the group is live: no routine is crash-looping (failed 3 runs in a row and
    /// has not succeeded since), and the group is not over. For liveness probes: a group
    /// that is not live should be restarted; with the `systemd` feature, the watchdog is
    /// not pinged while it is not.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::{Backoff, Policy, RunOptions, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let rutina = Rutina::default();
    /// rutina.go_with(
    ///     |_ctx| async { Err::<(), _>("connection refused") },
    ///     RunOptions::default().on_error(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(1))),
    /// );
    /// assert!(rutina.is_live());
    /// tokio::time::sleep(Duration::from_millis(2500)).await; // three failed runs
    /// assert!(!rutina.is_live());
    /// # rutina.shutdown(); rutina.wait().await.unwrap();
    /// # }
    /// ```
    pub fn is_live(&self) -> bool {
        self.group().is_live()
    }

    /// A read-only view of the group that does not keep it alive (see [`Monitor`]): hand
    /// it to a health endpoint instead of a clone of this handle.
    pub fn monitor(&self) -> Monitor {
        self.group().monitor()
    }

    /// A handle that restarts, reloads, kills and shuts down as this one does, without
    /// keeping the group alive (see [`Operator`]): hand it to an admin endpoint instead of
    /// a clone of this handle.
    pub fn operator(&self) -> Operator {
        self.group().operator()
    }

    /// A snapshot of every alive routine, ascending by id: its state (running, backing
    /// off until when, stopping), attempt, restarts, last error and start times.
    ///
    /// ```
    /// use rutina::{Context, RoutineState, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let rutina = Rutina::default();
    /// rutina.go(|ctx: Context| async move { ctx.cancelled().await; Ok::<_, std::io::Error>(()) });
    /// tokio::task::yield_now().await;
    /// let status = rutina.status();
    /// assert_eq!(status[0].state, RoutineState::Running);
    /// assert_eq!(status[0].attempt, 1);
    /// # rutina.shutdown(); rutina.wait().await.unwrap();
    /// # }
    /// ```
    pub fn status(&self) -> Vec<RoutineStatus> {
        self.group().status()
    }

    /// How the group stopped — why, who stopped how (returned, between runs, killed,
    /// aborted) and how long each took — once [`wait`](Rutina::wait) returned; `None`
    /// before.
    pub fn shutdown_report(&self) -> Option<ShutdownReport> {
        self.group().shutdown_report()
    }

    /// The group's token: a child of [`Options::parent_token`] if one was given. It is
    /// cancelled when the group shuts down; cancelling it shuts the group down.
    pub fn token(&self) -> CancellationToken {
        self.group().share_token()
    }

    /// Lifecycle [`Event`]s from now on. Events are only produced while someone has
    /// subscribed; a receiver that lags more than 1024 events behind misses some
    /// (`RecvError::Lagged`).
    ///
    /// The channel stays open as long as a `Rutina` handle exists, also after
    /// [`wait`](Rutina::wait): when `wait` returned, every event was sent, so drain what is
    /// left with `try_recv`. Each started routine ends with one [`Event::Stopped`].
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.group().subscribe()
    }

    /// Waits until no routine is alive, then returns `Ok(())` or the first error that
    /// decided the shutdown. With no routines it returns at once.
    ///
    /// Callable from any clone, any number of times. After it returns the group is
    /// over: its token is cancelled, its signal listener gone, and routines started
    /// later never run. `wait` enforces [`Options::shutdown_timeout`]: routines still
    /// running when it passes are aborted and `wait` returns [`Error::Aborted`].
    ///
    /// # Errors
    ///
    /// [`Error::Routine`], [`Error::Panicked`], [`Error::TimedOut`] (a routine under
    /// `on_error = Shutdown`), [`Error::RunLimit`] or [`Error::Aborted`].
    pub async fn wait(&self) -> Result<(), Error> {
        self.group().wait().await
    }

    /// The exit status of a program whose `main` ran this group and `wait` returned
    /// `result`, as [`rutina::main!`](macro@crate::main) and [`Main`](crate::Main) use it:
    /// 0 for `Ok`, 130 for [`Error::Aborted`] after a second OS signal (the shell's
    /// convention for an interrupted program), 1 for any other error. Prints nothing;
    /// [`ErrorReport`](crate::ErrorReport) renders the error.
    ///
    /// ```
    /// use std::process::ExitCode;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let rutina = rutina::Rutina::default();
    /// rutina.go(|_ctx| async { Err::<(), _>("boom") });
    /// let result = rutina.wait().await;
    /// assert_eq!(rutina.exit_code(&result), ExitCode::FAILURE);
    /// # }
    /// ```
    pub fn exit_code(&self, result: &Result<(), Error>) -> ExitCode {
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(Error::Aborted { .. }) if self.group().signals_received() >= 2 => ExitCode::from(130),
            Err(_) => ExitCode::FAILURE,
        }
    }
}
