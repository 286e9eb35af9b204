//! [`Policy`], [`RunOptions`] and [`Backoff`]: what happens after a run, and when.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::schedule::Schedule;

/// What happens when a run ends: with `Ok` (the routine's `on_done` policy) or with a
/// failure — an error, a panic or a timeout (its `on_error` policy).
///
/// | outcome \ policy | `DoNothing` | `Restart` | `Shutdown` |
/// |---|---|---|---|
/// | `Ok` | the routine ends | runs again (no delay by default) | the group shuts down, `wait` is `Ok` unless an error decided it earlier |
/// | error, panic, timeout | the routine ends; failure on the errors channel | runs again after a backoff; failure on the errors channel; `RunLimit` once `max_count` restarts were made | the group shuts down; the failure is `wait`'s error if it is the first |
///
/// ```
/// use rutina::{Context, Policy, RunOptions, Rutina};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// rutina.go(|ctx: Context| async move {
///     ctx.cancelled().await; // a server
///     Ok::<_, std::io::Error>(())
/// });
/// // A batch job whose success ends the service.
/// rutina.go_with(|_ctx| async { Ok::<_, std::io::Error>(()) }, RunOptions::default().on_done(Policy::Shutdown));
/// rutina.wait().await.unwrap(); // the server was cancelled and returned; `Ok`
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// The routine ends; nothing else is affected.
    DoNothing,
    /// The routine runs again, with a fresh [`Context`](crate::Context), after its
    /// [`Backoff`].
    Restart,
    /// The whole group shuts down.
    Shutdown,
}

/// How one routine is run: its policies, timeout, restart limit, name and backoff.
///
/// ```
/// use std::time::Duration;
/// use rutina::{Backoff, Policy, RunOptions};
///
/// let options = RunOptions::default()
///     .name("poll-feed")
///     .on_done(Policy::Restart)
///     .on_error(Policy::Restart)
///     .timeout(Duration::from_secs(5))
///     .max_count(10)
///     .backoff(Backoff::fixed(Duration::from_secs(1)));
/// ```
///
/// Build it with the methods; read it through its fields, each named after the method
/// that sets it:
///
/// ```
/// # use rutina::{Policy, RunOptions};
/// let options = RunOptions::default().on_done(Policy::Restart).max_count(3);
/// assert_eq!((options.on_done, options.max_count), (Policy::Restart, Some(3)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct RunOptions {
    /// [`on_done`](RunOptions::on_done): the policy after a run returns `Ok`.
    pub on_done: Policy,
    /// [`on_error`](RunOptions::on_error): the policy after a run fails.
    pub on_error: Policy,
    /// [`timeout`](RunOptions::timeout): each run's time limit.
    pub timeout: Option<Duration>,
    /// [`max_count`](RunOptions::max_count): how many restarts are allowed.
    pub max_count: Option<u32>,
    /// [`name`](RunOptions::name): the routine's name.
    pub name: Option<String>,
    /// [`backoff`](RunOptions::backoff): the delay before each restart.
    pub backoff: Backoff,
    /// [`restart_intensity`](RunOptions::restart_intensity): at most so many restarts
    /// within a window.
    pub restart_intensity: Option<RestartIntensity>,
    /// [`grace_period`](RunOptions::grace_period): how long the routine may take to stop.
    pub grace_period: Option<Duration>,
    /// [`readiness_gate`](RunOptions::readiness_gate): the group is ready only once this
    /// routine called [`Context::ready`](crate::Context::ready).
    pub readiness_gate: bool,
    /// [`heartbeat`](RunOptions::heartbeat): how long a run may stay silent.
    pub heartbeat: Option<Duration>,
    /// [`reload`](RunOptions::reload): restarted by [`Rutina::reload`](crate::Rutina::reload)
    /// and SIGHUP.
    pub reload: bool,
    /// [`every`](RunOptions::every) or [`cron`](RunOptions::cron): when runs start.
    pub(crate) schedule: Option<Schedule>,
    /// [`singleton`](RunOptions::singleton): the key of the lease the routine runs under.
    pub singleton: Option<String>,
}

/// "At most `max_restarts` restarts within `within`" (see [`RunOptions::restart_intensity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartIntensity {
    /// How many restarts the window allows.
    pub max_restarts: u32,
    /// The sliding window.
    pub within: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            on_done: Policy::DoNothing,
            on_error: Policy::Shutdown,
            timeout: None,
            max_count: None,
            name: None,
            backoff: Backoff::default(),
            restart_intensity: None,
            grace_period: None,
            readiness_gate: false,
            heartbeat: None,
            reload: false,
            schedule: None,
            singleton: None,
        }
    }
}

impl RunOptions {
    /// The policy when a run returns `Ok`. Default: [`Policy::DoNothing`].
    pub fn on_done(mut self, policy: Policy) -> Self {
        self.on_done = policy;
        self
    }

    /// The policy when a run fails (error, panic or timeout). Default: [`Policy::Shutdown`].
    pub fn on_error(mut self, policy: Policy) -> Self {
        self.on_error = policy;
        self
    }

    /// A limit on each run's duration, and one that holds. When it passes, the run's
    /// context is cancelled ([`CancelReason::TimedOut`](crate::CancelReason::TimedOut)) and
    /// the run is a failure ([`Outcome::TimedOut`](crate::Outcome::TimedOut),
    /// [`Error::TimedOut`](crate::Error::TimedOut)) whatever it then returns, handled by
    /// `on_error`. If the run has not returned within its
    /// [`grace_period`](RunOptions::grace_period) after that — at once when none is set —
    /// it is dropped: its future is not polled again, and its destructors run. Default:
    /// none.
    ///
    /// To let a run finish cleanly when its time is up (roll back a transaction, flush a
    /// buffer), give it a `grace_period` and watch
    /// [`Context::cancelled`](crate::Context::cancelled); without one, the run is dropped
    /// the moment the limit passes. A run is dropped between two polls: one that blocks
    /// its thread (a long synchronous loop, `std::thread::sleep`) cannot be stopped before
    /// it yields — await such work from `tokio::task::spawn_blocking` instead, so that the
    /// run is dropped on time (the blocking work itself runs to its end).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::{Context, Error, RunOptions, Rutina};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let rutina = Rutina::default();
    /// rutina.go_with(
    ///     |ctx: Context| async move {
    ///         tokio::select! {
    ///             _ = ctx.cancelled() => {} // the timeout: clean up, within the grace period
    ///             _ = tokio::time::sleep(Duration::from_secs(60)) => {} // the work
    ///         }
    ///         Ok::<_, std::io::Error>(())
    ///     },
    ///     RunOptions::default()
    ///         .name("sync")
    ///         .timeout(Duration::from_secs(5))
    ///         .grace_period(Duration::from_secs(1)),
    /// );
    /// let error = rutina.wait().await.unwrap_err(); // `on_error` is `Shutdown` by default
    /// assert!(matches!(error, Error::TimedOut { timeout, .. } if timeout == Duration::from_secs(5)));
    /// # }
    /// ```
    ///
    /// In `#[rutina::routine]`: `timeout = "5s", grace_period = "1s"`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many restarts are allowed: the routine runs at most `max_count + 1` times.
    /// When a restart is due after that, the group shuts down and `wait` returns
    /// [`Error::RunLimit`](crate::Error::RunLimit). Default: unlimited.
    pub fn max_count(mut self, max_count: u32) -> Self {
        self.max_count = Some(max_count);
        self
    }

    /// The routine's name, used in [`Context::name`](crate::Context::name), errors, events
    /// and logs. Default: the fn name for `#[rutina::routine]` items, `routine-<id>` for
    /// closures.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The delay before each restart. Default: [`Backoff::default`].
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// At most `max_restarts` restarts within any window of `within` (Erlang/OTP's
    /// restart intensity), on top of [`max_count`](RunOptions::max_count). A restart that
    /// would exceed it shuts the group down and `wait` returns
    /// [`Error::RestartIntensity`](crate::Error::RestartIntensity). Default: none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::{Policy, RunOptions};
    ///
    /// // A consumer may crash now and then, but not 5 times in a minute.
    /// let options = RunOptions::default()
    ///     .on_error(Policy::Restart)
    ///     .restart_intensity(5, Duration::from_secs(60));
    /// ```
    ///
    /// # Backoff and intensity together
    ///
    /// The intensity counts restarts; the [backoff](RunOptions::backoff) spaces them. Choose
    /// them together: the window must be able to hold the outage you want to ride out.
    /// With the default backoff (10 ms, doubling, jittered to half–all of each step) a
    /// routine failing at once restarts after about 10, 20, 40, 80 and 160 ms: under
    /// `restart_intensity(5, 30s)` the sixth failure comes about 0.2 s after the first
    /// and ends the group — a database that is down for ten seconds takes the service
    /// with it. Spread the restarts over the window instead:
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::{Backoff, Policy, RunOptions};
    ///
    /// // 1 s, 2 s, 4 s, 8 s, 16 s (each jittered to half–all): five restarts take 15–31 s,
    /// // so the group gives up only after about half a minute of failures in a row.
    /// let options = RunOptions::default()
    ///     .on_error(Policy::Restart)
    ///     .backoff(Backoff::exponential(Duration::from_secs(1), Duration::from_secs(30)))
    ///     .restart_intensity(5, Duration::from_secs(30));
    /// ```
    ///
    /// In `#[rutina::routine]`: `backoff = "1s..30s", restart_intensity = (5, "30s")`.
    pub fn restart_intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.restart_intensity = Some(RestartIntensity { max_restarts, within });
        self
    }

    /// How long a run may take to stop once it was cancelled, before it is aborted: for a
    /// group shutdown it overrides [`Options::shutdown_timeout`](crate::Options::shutdown_timeout)
    /// for this routine (default: the group's); for a run cancelled by its
    /// [`timeout`](RunOptions::timeout), a missed [`heartbeat`](RunOptions::heartbeat) or a
    /// lost [`singleton`](RunOptions::singleton) lease, it is the only grace the run gets
    /// (default: none, the run is dropped at once).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = Some(grace);
        self
    }

    /// Makes the routine a readiness gate: the group is [ready](crate::Rutina::is_ready)
    /// (and, with the `systemd` feature, sends `READY=1`) only once every gate called
    /// [`Context::ready`](crate::Context::ready). Default: `false`.
    pub fn readiness_gate(mut self, gate: bool) -> Self {
        self.readiness_gate = gate;
        self
    }

    /// Watches each run for signs of life: a run that does not call
    /// [`Context::heartbeat`](crate::Context::heartbeat) for longer than `period` (from its
    /// start or its last beat) is hung. Its context is cancelled
    /// ([`CancelReason::Hung`](crate::CancelReason::Hung)) and, if it has not returned within
    /// its [`grace_period`](RunOptions::grace_period) (at once when none is set), it is
    /// aborted. Either way the run is a failure ([`Outcome::Hung`](crate::Outcome::Hung),
    /// [`Error::Hung`](crate::Error::Hung)) handled by `on_error`: under `Restart` a wedged
    /// consumer runs again, never two runs of it at once. While a run is hung the group is
    /// not [live](crate::Rutina::is_live). Default: none.
    ///
    /// A beat is a store to memory; the group checks it with at most one timer per period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::{Context, Policy, RunOptions};
    ///
    /// async fn consume(ctx: Context) -> std::io::Result<()> {
    ///     while !ctx.is_cancelled() {
    ///         // receive and handle one message...
    ///         ctx.heartbeat();
    ///         # break;
    ///     }
    ///     Ok(())
    /// }
    ///
    /// let options = RunOptions::default().on_error(Policy::Restart).heartbeat(Duration::from_secs(30));
    /// # let _ = (consume, options);
    /// ```
    pub fn heartbeat(mut self, period: Duration) -> Self {
        self.heartbeat = Some(period);
        self
    }

    /// Marks the routine for reload: [`Rutina::reload`](crate::Rutina::reload) (and SIGHUP,
    /// when the group listens to OS signals) restarts it as
    /// [`Rutina::restart`](crate::Rutina::restart) does — to read its configuration
    /// again, for instance. Routines not marked are left alone. Default: `false`.
    pub fn reload(mut self, reload: bool) -> Self {
        self.reload = reload;
        self
    }

    /// Runs the routine at a fixed rate: runs start `period` apart, measured from the
    /// previous start, the first at once; a run never overlaps the next, and the ticks
    /// missed while a run overran are skipped. Sets `on_done` to [`Policy::Restart`] (call
    /// [`on_done`](RunOptions::on_done) after this to choose another): every run after one
    /// that returned `Ok`, or that failed under `on_error = Restart`, waits for the next
    /// tick; the [backoff](RunOptions::backoff) does not apply.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::{Policy, RunOptions};
    ///
    /// // Every 10 s, whatever each run takes (up to 10 s); a failed run waits for the next tick.
    /// let options = RunOptions::default().every(Duration::from_secs(10)).on_error(Policy::Restart);
    /// assert_eq!(options.on_done, Policy::Restart);
    /// ```
    pub fn every(mut self, period: Duration) -> Self {
        self.schedule = Some(Schedule::Every(period));
        self.on_done = Policy::Restart;
        self
    }

    /// Runs the routine on a [`Cron`](crate::Cron) schedule (UTC): the first run waits for
    /// the first matching time, and each next run for the next matching time after its
    /// run (a time missed while a run overran is skipped). Sets `on_done` to
    /// [`Policy::Restart`], as [`every`](RunOptions::every) does. Feature `cron`.
    ///
    /// ```
    /// use rutina::{Cron, Policy, RunOptions};
    ///
    /// let nightly = RunOptions::default().cron(Cron::parse("0 3 * * *").unwrap()).on_error(Policy::Restart);
    /// # let _ = nightly;
    /// ```
    #[cfg(feature = "cron")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cron")))]
    pub fn cron(mut self, cron: crate::Cron) -> Self {
        self.schedule = Some(Schedule::Cron(Box::new(cron)));
        self.on_done = Policy::Restart;
        self
    }

    /// Makes the routine a singleton across replicas: it runs only in the one process,
    /// among all that share the group's lease backend ([`Options::lease`](crate::Options::lease)),
    /// that holds the lease `key`; elsewhere it waits in
    /// [`RoutineState::Standby`](crate::RoutineState::Standby) and takes over when the lease
    /// frees up. Policies, backoff and restarts apply to its runs as usual while the lease
    /// is held, and the lease is kept between runs (a backoff, the wait for a schedule's
    /// tick): with a [schedule](RunOptions::every), the replica holding the lease makes
    /// every run, and a replica that takes over waits for the schedule's next tick. Losing the lease cancels the run
    /// ([`CancelReason::LeaseLost`](crate::CancelReason::LeaseLost)), and drops it if it has
    /// not returned within its [`grace_period`](RunOptions::grace_period) (at once when none
    /// is set); the routine then stands by again. When the routine ends for good, the
    /// lease is released at once. [`Context::fencing_token`](crate::Context::fencing_token)
    /// guards writes against a replica that lost the lease; the [`lease`](crate::lease)
    /// module tells the guarantees and their limits. Default: not a singleton.
    ///
    /// Starting a singleton in a group without a lease backend is a configuration error:
    /// the routine does not start and the group shuts down with [`Error::Routine`](crate::Error::Routine).
    pub fn singleton(mut self, key: impl Into<String>) -> Self {
        self.singleton = Some(key.into());
        self
    }

    /// Whether the routine runs on a schedule ([`every`](RunOptions::every) or
    /// [`cron`](RunOptions::cron)).
    pub fn is_scheduled(&self) -> bool {
        self.schedule.is_some()
    }
}

/// The delay before a routine is restarted.
///
/// The [default](Backoff::default) restarts at once after `Ok`, and after a failure waits
/// an exponentially growing, jittered delay (10 ms doubling up to 5 s), so that a
/// crash-looping routine never burns a core.
///
/// Exponential delays reset after a run that stayed up longer than the cap.
///
/// ```
/// use std::time::Duration;
/// use rutina::{Backoff, Policy, RunOptions};
///
/// // A periodic job: runs every 30 s.
/// let periodic = RunOptions::default().on_done(Policy::Restart).backoff(Backoff::fixed(Duration::from_secs(30)));
///
/// // A reconnect loop: waits about 100 ms, 200 ms, 400 ms... up to 10 s between attempts.
/// let reconnect = RunOptions::default()
///     .on_error(Policy::Restart)
///     .backoff(Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Backoff {
    kind: BackoffKind,
    /// A run longer than this resets exponential delays; `None`: the cap.
    reset_after: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BackoffKind {
    /// No delay after `Ok`, exponential after a failure.
    Default,
    None,
    Fixed(Duration),
    Exponential {
        initial: Duration,
        max: Duration,
    },
}

impl Default for Backoff {
    /// No delay after `Ok`; after a failure an exponential delay from
    /// [`Backoff::DEFAULT_INITIAL`] to [`Backoff::DEFAULT_MAX`], with jitter.
    fn default() -> Self {
        Backoff { kind: BackoffKind::Default, reset_after: None }
    }
}

impl Backoff {
    /// The first delay after a failure under the default backoff.
    pub const DEFAULT_INITIAL: Duration = Duration::from_millis(10);
    /// The largest delay after a failure under the default backoff.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(5);

    /// Restart at once, after `Ok` and after failures alike.
    ///
    /// A routine that fails at once in a loop then spins; prefer the default unless
    /// the routine waits by itself.
    pub fn none() -> Self {
        Backoff { kind: BackoffKind::None, reset_after: None }
    }

    /// Wait `delay` before every restart. Useful for periodic jobs
    /// (`on_done = Restart` with a fixed backoff runs a job every `delay`).
    pub fn fixed(delay: Duration) -> Self {
        Backoff { kind: BackoffKind::Fixed(delay), reset_after: None }
    }

    /// Wait `initial` before the first restart, then double the delay with every
    /// consecutive restart up to `max`. Each delay is jittered to between half and all
    /// of its value. The delay resets to `initial` after a run that stayed up longer
    /// than `max`.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Backoff { kind: BackoffKind::Exponential { initial, max: max.max(initial) }, reset_after: None }
    }

    /// Resets exponential delays after a run that stayed up longer than `stable`, instead
    /// of longer than the cap. No effect on [`none`](Backoff::none) and
    /// [`fixed`](Backoff::fixed).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rutina::Backoff;
    ///
    /// // Up for a minute counts as healthy again.
    /// let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30))
    ///     .reset_after(Duration::from_secs(60));
    /// ```
    pub fn reset_after(mut self, stable: Duration) -> Self {
        self.reset_after = Some(stable);
        self
    }
}

/// The state of one routine's backoff across its runs.
#[derive(Debug)]
pub(crate) struct BackoffState {
    kind: BackoffKind,
    reset_after: Option<Duration>,
    /// The next exponential delay before jitter.
    next: Duration,
    /// A xorshift state for jitter, seeded per routine.
    rng: u64,
}

impl BackoffState {
    pub(crate) fn new(backoff: &Backoff, seed: u64) -> Self {
        let next = match backoff.kind {
            BackoffKind::Default => Backoff::DEFAULT_INITIAL,
            BackoffKind::Exponential { initial, .. } => initial,
            BackoffKind::None | BackoffKind::Fixed(_) => Duration::ZERO,
        };
        let rng = RandomState::new().hash_one(seed) | 1;
        BackoffState { kind: backoff.kind, reset_after: backoff.reset_after, next, rng }
    }

    /// The delay before the next run, given how the last one ended and how long it
    /// lasted (asked only when it matters: a clock read).
    pub(crate) fn delay(&mut self, ok: bool, ran_for: impl FnOnce() -> Duration) -> Duration {
        let (initial, max) = match self.kind {
            BackoffKind::None => return Duration::ZERO,
            BackoffKind::Fixed(delay) => return delay,
            BackoffKind::Default if ok => {
                self.next = Backoff::DEFAULT_INITIAL;
                return Duration::ZERO;
            }
            BackoffKind::Default => (Backoff::DEFAULT_INITIAL, Backoff::DEFAULT_MAX),
            BackoffKind::Exponential { initial, max } => (initial, max),
        };
        if ran_for() > self.reset_after.unwrap_or(max) {
            self.next = initial;
        }
        let base = self.next;
        self.next = base.saturating_mul(2).min(max);
        self.jitter(base)
    }

    /// A duration between half and all of `base`.
    fn jitter(&mut self, base: Duration) -> Duration {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let half = base / 2;
        let spread = (base - half).as_nanos() as u64;
        if spread == 0 {
            return base;
        }
        half + Duration::from_nanos(self.rng % (spread + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_backoff_is_zero_after_ok_and_grows_after_failures() {
        let mut state = BackoffState::new(&Backoff::default(), 1);
        assert_eq!(state.delay(true, || Duration::ZERO), Duration::ZERO);
        let mut previous_base = Duration::ZERO;
        for i in 0..20 {
            let d = state.delay(false, || Duration::ZERO);
            let base = Backoff::DEFAULT_INITIAL.saturating_mul(1 << i.min(20)).min(Backoff::DEFAULT_MAX);
            assert!(d >= base / 2 && d <= base, "attempt {i}: {d:?} not within [{:?}, {base:?}]", base / 2);
            assert!(base >= previous_base);
            previous_base = base;
        }
        // A long stable run resets the delay.
        let d = state.delay(false, || Backoff::DEFAULT_MAX + Duration::from_millis(1));
        assert!(d <= Backoff::DEFAULT_INITIAL);
        // Ok resets it too.
        state.delay(false, || Duration::ZERO);
        state.delay(false, || Duration::ZERO);
        assert_eq!(state.delay(true, || Duration::ZERO), Duration::ZERO);
        assert!(state.delay(false, || Duration::ZERO) <= Backoff::DEFAULT_INITIAL);
    }

    #[test]
    fn fixed_none_and_exponential() {
        let mut fixed = BackoffState::new(&Backoff::fixed(Duration::from_secs(2)), 1);
        assert_eq!(fixed.delay(true, || Duration::ZERO), Duration::from_secs(2));
        assert_eq!(fixed.delay(false, || Duration::ZERO), Duration::from_secs(2));
        let mut none = BackoffState::new(&Backoff::none(), 1);
        assert_eq!(none.delay(false, || Duration::ZERO), Duration::ZERO);
        let mut exp = BackoffState::new(&Backoff::exponential(Duration::from_secs(1), Duration::from_secs(4)), 7);
        let delays: Vec<_> = (0..4).map(|_| exp.delay(true, || Duration::ZERO)).collect();
        for (d, base) in delays.iter().zip([1, 2, 4, 4]) {
            let base = Duration::from_secs(base);
            assert!(*d >= base / 2 && *d <= base, "{d:?} vs {base:?}");
        }
    }

    #[test]
    fn reset_after_a_stable_period() {
        let backoff =
            Backoff::exponential(Duration::from_secs(1), Duration::from_secs(8)).reset_after(Duration::from_secs(60));
        let mut state = BackoffState::new(&backoff, 3);
        for _ in 0..4 {
            state.delay(false, || Duration::ZERO);
        }
        // Longer than the cap but shorter than the stable period: no reset.
        assert!(state.delay(false, || Duration::from_secs(30)) >= Duration::from_secs(4));
        // Longer than the stable period: reset.
        assert!(state.delay(false, || Duration::from_secs(61)) <= Duration::from_secs(1));
    }
}
