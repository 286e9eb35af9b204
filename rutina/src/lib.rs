//! rutina orchestrates the long-lived async routines of a service on tokio — an HTTP
//! server, a metrics server, queue consumers, periodic jobs, the OS-signal listener —
//! as one group with one cancellation scope.
//!
//! Each routine gets a [`Context`] to watch for cancellation, and has a [`Policy`] for
//! when a run returns `Ok` (`on_done`) and another for when it fails (`on_error`): do
//! nothing, restart it, or shut the whole group down; plus a per-run timeout, a restart
//! limit and a [`Backoff`]. [`Rutina::wait`] returns when every routine has ended, with
//! the first error that decided the shutdown.
//!
//! ```
//! use std::time::Duration;
//! use rutina::{Context, Error, Options, Policy, RunOptions, Rutina};
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() {
//!     let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(10)));
//!
//!     // A server: runs until the group shuts down, then drains.
//!     rutina.go_with(
//!         |ctx: Context| async move {
//!             ctx.cancelled().await;
//!             Ok::<_, std::io::Error>(())
//!         },
//!         RunOptions::default().name("server"),
//!     );
//!
//!     // A job restarted every second, at most twice, then the group shuts down.
//!     rutina.go_with(
//!         |ctx: Context| async move {
//!             println!("job run {}", ctx.attempt());
//!             Ok::<_, std::io::Error>(())
//!         },
//!         RunOptions::default()
//!             .name("job")
//!             .on_done(Policy::Restart)
//!             .max_count(2)
//!             .backoff(rutina::Backoff::fixed(Duration::from_secs(1))),
//!     );
//!
//!     match rutina.wait().await {
//!         Err(Error::RunLimit { name, runs, .. }) => assert_eq!((name.as_str(), runs), ("job", 3)),
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! ```
//!
//! The same service as a program, with the macros. [`#[rutina::routine]`](macro@routine)
//! declares a routine with its options — policies, `timeout`, `max_count`, `backoff`
//! (`"1s"`, or `"100ms..30s"` exponential), schedules (`every = "10s"`,
//! `cron = "0 */5 * * * *"`), `heartbeat`, `reload`, `singleton` — checked at compile
//! time. [`rutina::main!`](macro@main) writes `fn main` (a multi-threaded runtime,
//! SIGINT/SIGTERM handling, the exit code) over [`Main`], and lists any routines: those
//! items, or values of your own [`Routine`] types. Its keys: `setup`, a fn run before the
//! runtime starts (where a `tracing` subscriber is installed); `state`, a fn or `async fn`
//! run inside the runtime before any routine, whose value the routines' parameters are
//! taken from ([below](#routines-with-state)); `lease`, the backend of singleton
//! routines; `shutdown_timeout`, `shutdown_delay` and `shutdown_order`, written in the
//! macro; and `configure`, a fn that finishes the [`Options`] at run time (a lame-duck
//! delay from the environment).
//!
//! ```no_run
//! use rutina::Context;
//!
//! #[rutina::routine(name = "server")]
//! async fn server(ctx: Context) -> std::io::Result<()> {
//!     ctx.cancelled().await;
//!     Ok(())
//! }
//!
//! #[rutina::routine(on_done = Restart, max_count = 2, backoff = "1s")]
//! async fn job(ctx: Context) -> std::io::Result<()> {
//!     println!("job run {}", ctx.attempt());
//!     Ok(())
//! }
//!
//! rutina::main! {
//!     routines: [server, job],
//!     shutdown_timeout: "10s",
//! }
//! ```
//!
//! # Policies
//!
//! | run ends with \ policy | `DoNothing` | `Restart` | `Shutdown` |
//! |---|---|---|---|
//! | `Ok` | the routine ends | it runs again, at once by default | the group shuts down; `wait` is `Ok` unless an error decided it earlier |
//! | error, panic or timeout | the routine ends; the failure goes to the errors channel | it runs again after a backoff; the failure goes to the errors channel; once `max_count` restarts were made the group shuts down with [`Error::RunLimit`] | the group shuts down; the failure is `wait`'s error if it is the first |
//!
//! Defaults: `on_done = DoNothing`, `on_error = Shutdown`, no timeout, unlimited
//! restarts, [`Backoff::default`] (none after `Ok`, exponential after a failure).
//!
//! # Rules
//!
//! The semantics, numbered as the code comments cite them ("rule 6"). One run of a
//! routine ends in one outcome: `Ok`, an error, a panic, a timeout or a missed
//! [heartbeat](RunOptions::heartbeat); all but `Ok` are failures.
//!
//! 1. **Policies.** A run that returns `Ok` is followed by the routine's `on_done`
//!    policy; a failed run by its `on_error` policy.
//! 2. **`DoNothing`**: the routine ends; nothing else is affected. A failure is logged and
//!    sent to the errors channel.
//! 3. **`Restart`**: the routine runs again with a fresh [`Context`] (attempt + 1) after
//!    its [`Backoff`], unless [`max_count`](RunOptions::max_count) restarts were already
//!    made: then the group shuts down and `wait` returns [`Error::RunLimit`] (with the last
//!    failure, if any). A routine runs at most `max_count + 1` times. A failure is also
//!    logged and sent to the errors channel.
//! 4. **`Shutdown`**: the group shuts down. A failure becomes `wait`'s error if it is the
//!    first.
//! 5. **Timeouts** ([`RunOptions::timeout`]) are per run: when one passes, that run's
//!    context is cancelled and the run is a failure ([`Error::TimedOut`]) whatever it then
//!    returns. A time limit holds: a run that has not returned within its
//!    [`grace_period`](RunOptions::grace_period) after that (at once when none is set) is
//!    dropped. A missed heartbeat ([`Error::Hung`]) follows the same rule.
//! 6. **Group shutdown** (a `Shutdown` policy, [`Rutina::shutdown`], the parent token, an
//!    OS signal): every context is cancelled, pending backoffs end, nothing restarts and no
//!    new routine starts ([`go`](Rutina::go) then returns an id that never runs, and logs a
//!    warning). Failures during the shutdown under `on_error = Shutdown` still become
//!    `wait`'s error if none was recorded before; an OS signal by itself is not an error.
//! 7. **Grace period** ([`Options::shutdown_timeout`]): routines still running when it
//!    passes after the shutdown began are aborted and `wait` returns [`Error::Aborted`].
//!    Without it, `wait` waits for all. A second OS signal during the shutdown aborts at
//!    once.
//! 8. **[`Rutina::kill`]** cancels one routine's context (also in its backoff, also right
//!    after `go`): it is not restarted and its result triggers no policy (a failure still
//!    goes to the errors channel). Killing one never shuts the group down.
//! 9. **[`Rutina::wait`]** returns when no routine is alive: `Ok(())` or the first error
//!    that decided the shutdown; with no routines, at once. After it returns the group's
//!    token is cancelled and nothing is left running.
//! 10. **Nothing is lost**: every failure ends up in exactly one of two places, `wait`'s
//!     error or the errors channel ([`Options::errors`]); [`Error::RunLimit`] and
//!     [`Error::Aborted`] are `wait`'s. The channel never blocks the group. Every outcome
//!     is also an [`Event`] and a `tracing` record (target `rutina`).
//!
//! Panics in routines are caught and count as failures: they never take the process down.
//!
//! # Running in production
//!
//! - **A hand-written `main`.** [`Main`] is what `rutina::main!` expands to: a
//!   multi-threaded runtime, OS signals (a third exits at once), a `start` closure that
//!   loads what the routines need and starts them, `wait`, and the exit status;
//!   [`ErrorReport`] prints an error with its chain, [`Rutina::exit_code`] maps `wait`'s
//!   result.
//! - **Lame-duck delay.** [`Options::shutdown_delay`]: on SIGTERM the group turns
//!   not-ready at once but its routines keep serving for the delay, while a load
//!   balancer or Kubernetes takes the instance out of rotation; then the contexts are
//!   cancelled and the grace period starts. A shutdown decided by a policy skips it; a
//!   second signal aborts at once.
//! - **Liveness.** [`Rutina::is_live`] is false while a routine crash-loops (3 failed
//!   runs in a row) or a run is hung; serve it as a liveness probe. [`Monitor`]
//!   ([`Rutina::monitor`], [`Context::monitor`]) reads readiness, liveness and status
//!   without keeping the group alive, for a health endpoint served by a routine.
//! - **Heartbeats.** [`RunOptions::heartbeat`] with [`Context::heartbeat`]: a consumer
//!   wedged on a dead connection is hung, cancelled, dropped after its grace period, and
//!   restarted by its `on_error = Restart` — never two runs at once.
//! - **Operator restart and reload.** [`Rutina::restart`] restarts one routine at once
//!   whatever its policies; an admin endpoint served by a routine does it through
//!   [`Context::operator`], an [`Operator`] that never keeps the group alive.
//!   [`Rutina::reload`], and SIGHUP when
//!   the group listens to OS signals, restarts the routines marked
//!   [`reload`](RunOptions::reload) — with the `systemd` feature announced as
//!   `RELOADING=1` then `READY=1` (`Type=notify-reload`). With no routine marked, SIGHUP
//!   is logged and ignored (listening to it replaces its default action, terminate).
//!   [`Context::cancel_reason`] tells a run why it was asked to stop.
//! - **Restart intensity.** [`RunOptions::restart_intensity`]`(5, 60s)` allows at most 5
//!   restarts in any minute, on top of `max_count`; exceeding it ends the group with
//!   [`Error::RestartIntensity`]. [`Backoff::reset_after`] resets exponential delays
//!   after a run that stayed up long enough.
//! - **Shutdown order and grace periods.** [`Options::shutdown_order`] with
//!   [`ShutdownOrder::ReverseStart`] stops the routines one after another, the latest
//!   started first, each from its turn; [`RunOptions::grace_period`] overrides
//!   [`Options::shutdown_timeout`] for one routine.
//! - **Live status.** [`Rutina::status`] lists the alive routines — running, backing off
//!   or waiting for their schedule until when, standing by for their lease, or stopping —
//!   with attempt, restarts, last error and start times;
//!   [`Rutina::shutdown_report`] tells, once `wait` returned, who stopped how and how
//!   long each took.
//! - **Readiness.** [`Rutina::is_ready`] holds once every routine began its first run
//!   (or waits for its schedule's first tick or its singleton lease) and every [readiness gate](RunOptions::readiness_gate) called [`Context::ready`];
//!   [`Rutina::is_shutting_down`] and [`Rutina::watch_shutdown`] turn the moment a
//!   shutdown begins, for health endpoints.
//! - **systemd** (feature `systemd`). During [`Rutina::wait`]: `READY=1` once the group
//!   is ready, `RELOADING=1` and `READY=1` around a reload, `STOPPING=1` when the
//!   shutdown begins, `EXTEND_TIMEOUT_USEC` every 5 s while draining, and `WATCHDOG=1` at
//!   half of `WATCHDOG_USEC` as long as the group is [live](Rutina::is_live), so that
//!   systemd restarts a service stuck in a crash loop.
//! - **Signals.** With [`Options::listen_os_signals`], the first SIGINT/SIGTERM starts a
//!   graceful shutdown (logged at info with the number of routines still running), the
//!   second aborts the stragglers ([`Error::Aborted`]; a `main!` program exits with 130),
//!   and in a `main!` program a third exits the process at once. Signals are handled
//!   from the moment the listener is installed, before `wait`. SIGHUP reloads (above);
//!   SIGQUIT keeps its core-dumping default.
//!
//! # Periodic jobs
//!
//! [`RunOptions::every`] runs a routine at a fixed rate — runs start `period` apart from
//! the previous start, never overlapping, ticks missed while a run overran skipped — and
//! [`RunOptions::cron`] on a [`Cron`] schedule (UTC, seconds field optional; feature
//! `cron`, on by default). A scheduled routine restarts after `Ok` by default, and every
//! next run — after `Ok`, or after a failure under `on_error = Restart` — waits for the
//! next tick; the backoff does not apply. A [timeout](RunOptions::timeout) bounds each
//! run. With [`RunOptions::singleton`], a schedule is a cron job for a fleet: it runs on
//! one replica at a time. In the attribute: `#[rutina::routine(every = "10s", timeout =
//! "5s", on_error = Restart)]`, `cron = "0 3 * * *"`, `singleton = "nightly-report"`.
//!
//! ```
//! use std::time::Duration;
//! use rutina::{Context, Policy, RunOptions, Rutina};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let rutina = Rutina::default();
//! rutina.go_with(
//!     |ctx: Context| async move {
//!         println!("sweep #{}", ctx.attempt()); // at 0 s, 10 s, 20 s...
//!         Ok::<_, std::io::Error>(())
//!     },
//!     RunOptions::default()
//!         .name("sweep")
//!         .every(Duration::from_secs(10))
//!         .timeout(Duration::from_secs(5))
//!         .on_error(Policy::Restart),
//! );
//! # tokio::time::sleep(Duration::from_secs(25)).await;
//! # rutina.shutdown(); rutina.wait().await.unwrap();
//! # }
//! ```
//!
//! # Singleton routines across replicas
//!
//! A service running as several replicas can run a routine in only one of them at a
//! time: [`RunOptions::singleton`] with a lease backend ([`Options::lease`]; PostgreSQL
//! with the `postgres` feature, or your own [`Lease`]). The replica holding the lease
//! runs it; the others stand by and take over when it frees up — at once when the
//! holder shuts down gracefully, after the lease's time to live when it dies. A run
//! whose lease is lost is cancelled before another replica could start, and
//! [`Context::fencing_token`] lets the resources it writes to reject a replica that lost
//! it. The [`lease`] module tells the guarantees and their limits. With the macros:
//! `#[rutina::routine(singleton = "billing-cleanup")]`, and `rutina::main!`'s
//! `lease: make_lease` names the fn (maybe `async`) that connects to the backend.
//!
//! # Observability
//!
//! **Logs.** Every lifecycle moment — a run started or finished, a restart, a kill, the
//! shutdown, an abort — is a `tracing` record under the target `rutina`, with the fields
//! `id`, `name` and `attempt` (runs at DEBUG, failures at WARN, the shutdown at INFO,
//! aborts at ERROR), and an [`Event`] for [subscribers](Rutina::subscribe).
//!
//! **A span per run.** Every run executes inside a span `routine` (target `rutina`, level
//! ERROR) with the fields `name`, `id` (a `u64`) and `attempt` (a `u32`), entered while the
//! run's future is made, on each of its polls and while it is dropped (also when it is
//! aborted): whatever the routine logs carries them, across `.await`s and threads.
//! `tracing_subscriber::fmt` prints a record of the second run of `consumer` as
//!
//! ```text
//!  INFO routine{name=consumer id=1 attempt=2}: my_service: consumed batch=42
//! ```
//!
//! The span is at ERROR so that any filter letting a record of `rutina` through keeps
//! it: `rutina=error` (`RUST_LOG=info,rutina=error`) silences rutina's own records below
//! ERROR and keeps the fields on yours; `rutina=off` drops the span as well. With no
//! subscriber, or one that turns `rutina` off, the span is never made (the benchmarks
//! measure no difference on restart churn).
//!
//! A task the routine spawns runs outside the run's span: tokio tasks do not inherit
//! spans. Instrument it with the current one:
//!
//! ```
//! use rutina::Context;
//! use tracing::Instrument;
//!
//! async fn consumer(ctx: Context) -> std::io::Result<()> {
//!     let flusher = tokio::spawn(
//!         async { tracing::info!("flushing") } // carries name, id and attempt
//!             .instrument(tracing::Span::current()),
//!     );
//!     let _ = flusher.await;
//!     ctx.cancelled().await;
//!     Ok(())
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! # let rutina = rutina::Rutina::default();
//! # rutina.go(consumer);
//! # tokio::task::yield_now().await;
//! # rutina.shutdown();
//! # rutina.wait().await.unwrap();
//! # }
//! ```
//!
//! **Metrics** (feature `metrics`), on the [`metrics`](https://docs.rs/metrics/0.24)
//! facade: any recorder (a Prometheus exporter, StatsD, …) receives
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `rutina_runs_total` | counter | `routine` (its name), `outcome`: `ok`, `error`, `panic`, `timeout`, `hung` |
//! | `rutina_restarts_total` | counter | `routine` |
//! | `rutina_routines` | gauge | `state`: `running`, `backing_off`, `scheduled`, `standby`, `stopping` |
//! | `rutina_run_duration_seconds` | histogram | `routine`, `outcome` |
//! | `rutina_shutdown_duration_seconds` | histogram | none |
//!
//! They are recorded where things happen, never derived from the event stream (which
//! drops events for a subscriber that lags). A restart is any run after a routine's
//! first — after its policy, an operator's [`restart`](Rutina::restart) or
//! [`reload`](Rutina::reload), a schedule's tick, a singleton's new lease: the count is
//! [`RoutineStatus::restarts`]. The gauge counts each routine from its first run until it
//! leaves its group, in the state [`Rutina::status`] shows — plus `scheduled`, a routine
//! waiting for its [schedule](RunOptions::every)'s next tick — so that once
//! [`wait`](Rutina::wait) returned every state is back to 0. A run lasts from the moment
//! its future is made until its outcome is known; a shutdown, from its beginning until
//! the group is over (one sample per shutdown, none for a group whose routines all ended
//! by themselves). Install the recorder before starting routines: each routine registers
//! its metrics once, on first use, with the recorder in force then.
//!
//! **JSON** (feature `serde`): [`RoutineStatus`], [`ShutdownReport`], [`Event`] and the
//! types in them implement `Serialize`, for status endpoints and event logs. Field and
//! variant names are as in Rust (enums externally tagged, as serde's derive does); an
//! error is its display string; a [`Duration`](std::time::Duration) is whole
//! milliseconds, the field named `*_ms` (`took_ms`, `delay_ms`; `Outcome::TimedOut(d)`
//! is `{"TimedOut": {"timeout_ms": 5000}}`); an [`Instant`](tokio::time::Instant) is
//! how long ago it was when serialized, `*_ms_ago` (`started_at` → `started_ms_ago`), or,
//! for when a wait ends, how long from now, `until_ms_from_now`; an [`Id`] is its number.
//! One routine of `Rutina::status()`:
//!
//! ```json
//! {"id": 2, "name": "client", "state": {"BackingOff": {"until_ms_from_now": 700}},
//!  "attempt": 2, "restarts": 1, "last_error": "connection refused",
//!  "consecutive_failures": 2, "started_ms_ago": 1500, "run_started_ms_ago": 400}
//! ```
//!
//! **tokio-console.** Built with `RUSTFLAGS="--cfg tokio_unstable"`, each routine's task is
//! named after the routine: tokio-console (with `console-subscriber` in the program) lists
//! the routines by name.
//!
//! # Routines with state
//!
//! A `#[rutina::routine]` fn may take parameters after its [`Context`]: they are taken
//! from an application state with [`FromRef`], afresh for every run, and the routine is
//! started with its state, `rutina.go(consumer.with_state(app.clone()))` (its declared
//! options apply; [`go_with`](Rutina::go_with) replaces them). Derive
//! [`FromRef`](macro@FromRef) on the state struct to give each field's type to the
//! routines; the whole state is always a parameter too. By hand, a [`StatefulRoutine`]
//! paired with its state in a [`WithState`] is a [`Routine`].
//!
//! ```
//! use std::sync::Arc;
//! use rutina::{Context, Rutina};
//!
//! #[derive(Clone)]
//! struct Db;
//!
//! #[derive(Clone, rutina::FromRef)]
//! struct App {
//!     db: Db,
//!     queue: Arc<str>,
//! }
//!
//! #[rutina::routine(on_error = Restart)]
//! async fn consumer(ctx: Context, db: Db, queue: Arc<str>) -> anyhow::Result<()> {
//!     let _ = (db, queue); // a fresh clone of each for every run
//!     ctx.cancelled().await;
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let app = App { db: Db, queue: "jobs".into() };
//! let rutina = Rutina::default();
//! rutina.go(consumer.with_state(app.clone()));
//! # rutina.shutdown();
//! # rutina.wait().await.unwrap();
//! # }
//! ```
//!
//! A routine's parameters are not arguments you pass when you start it: rutina calls it,
//! for every run, with what the state provides. In [`rutina::main!`](macro@main), the
//! `state` key names the fn that makes the state — a plain or `async` fn returning it or a
//! `Result` of it — run once inside the runtime before any routine starts; every routine
//! listed is started with it ([`IntoRoutine`]), and a state fn that fails ends the
//! program with its error, no routine started:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use rutina::Context;
//! # #[derive(Clone)] struct Db;
//! # #[derive(Clone, rutina::FromRef)] struct App { db: Db, queue: Arc<str> }
//! # #[rutina::routine] async fn consumer(_ctx: Context, _db: Db, _queue: Arc<str>) -> anyhow::Result<()> { Ok(()) }
//! # #[rutina::routine] async fn server(_ctx: Context) -> anyhow::Result<()> { Ok(()) }
//! impl App {
//!     async fn connect() -> anyhow::Result<App> {
//!         let url = std::env::var("DATABASE_URL")?; // connect to it...
//!         Ok(App { db: Db, queue: url.into() })
//!     }
//! }
//!
//! rutina::main! {
//!     state: App::connect,
//!     routines: [server, consumer], // `server` takes no parameters: it ignores the state
//! }
//! ```
//!
//! # Testing a routine
//!
//! A routine is an ordinary async fn: call it with a [`Context::detached`], and cancel
//! that context's token to play a shutdown. For a `#[rutina::routine]` item, the fn as
//! written is its associated fn `call`.
//!
//! ```
//! use rutina::Context;
//!
//! async fn worker(ctx: Context) -> std::io::Result<()> {
//!     ctx.cancelled().await; // serve until cancelled
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // In a `#[tokio::test]`:
//! let ctx = Context::detached();
//! ctx.token().cancel();
//! assert!(worker(ctx).await.is_ok());
//! # }
//! ```
//!
//! # Examples
//!
//! In the repository's `examples/`, numbered, each teaching one thing
//! (`cargo run --example <name>` from the repository root):
//!
//! 1. `http_server` — a service with `rutina::main!` (`setup`, `state`, `configure`):
//!    two axum servers taking their state as parameters, stopped in
//!    [reverse start order](ShutdownOrder::ReverseStart); `/health`, `/live` and
//!    `/status` from a [`Monitor`], `/metrics` with rutina's metrics; on SIGTERM a
//!    [lame-duck delay](Options::shutdown_delay) from the environment, then the requests
//!    in flight drain.
//! 2. `policies` — each policy at work: a periodic job, a one-off, a flaky routine with a
//!    restart limit, a fatal error that stops everything.
//! 3. `builder` — no macros: [`Rutina::new`], [`go_with`](Rutina::go_with),
//!    [`processes`](Rutina::processes), [`kill`](Rutina::kill), the errors channel and
//!    the event stream ([`Rutina::subscribe`]).
//! 4. `timeouts_and_backoff` — per-run timeouts, [`Backoff::exponential`] and
//!    [`Backoff::fixed`], [`Error::TimedOut`].
//! 5. `nested_groups` — a routine running its own group, bound to its context with
//!    [`Options::parent_token`].
//! 6. `shutdown_timeout` — the grace period: a routine that ignores its context is
//!    aborted, [`Error::Aborted`].
//! 7. `app_state` — an application state shared through [`FromRef`]: a pool, a queue, a
//!    configuration; a consumer with a backoff range and a
//!    [heartbeat](RunOptions::heartbeat), a periodic job with a timeout.
//! 8. `periodic_jobs` — [`every`](RunOptions::every) against a fixed backoff,
//!    [`cron`](RunOptions::cron) with seconds, overruns, a time limit that holds,
//!    [`Context::cancel_reason`].
//!
//! # Coming from Go's rutina, errgroup or tokio-graceful-shutdown
//!
//! The defaults are errgroup's: the first error cancels every routine and is `wait`'s
//! result; a routine that returns `Ok` leaves the others alone (Go's rutina shuts down
//! by default: ask for it with `on_done = Shutdown`). `ctx.Done()` is
//! [`ctx.cancelled()`](Context::cancelled); `r.ListenOsSignals()` is
//! [`listen_os_signals`](Rutina::listen_os_signals); the `WithErrChan` channel is
//! [`Options::errors`]. From tokio-graceful-shutdown: a subsystem is a routine, its
//! `SubsystemHandle` a [`Context`], `catch_signals` and `handle_shutdown_requests(timeout)`
//! are [`Options::listen_os_signals`] and [`Options::shutdown_timeout`], and nested
//! subsystems are nested groups. The README has side-by-side tables and snippets.
//!
//! # Feature flags
//!
//! | flag | default | what it enables |
//! |---|---|---|
//! | `macros` | yes | [`#[rutina::routine]`](macro@routine), [`rutina::main!`](macro@main) and [`#[derive(FromRef)]`](macro@FromRef) |
//! | `cron` | yes | cron schedules: `Cron`, `RunOptions::cron`, the `cron` key of `#[rutina::routine]` (on `croner`) |
//! | `metrics` | no | the metrics of [Observability](#observability), on the `metrics` 0.24 facade |
//! | `serde` | no | `serde::Serialize` for [`RoutineStatus`], [`ShutdownReport`], [`Event`] and the types in them (see [Observability](#observability)) |
//! | `postgres` | no | `lease::Postgres`, the PostgreSQL backend of singleton routines' leases (see [`lease`]), on `tokio-postgres` |
//! | `systemd` | no | `sd_notify` readiness, stopping, watchdog and stop-timeout extension messages on unix; nothing happens without `NOTIFY_SOCKET` |
//!
//! Each costs nothing when off: no dependency, no code.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

// The modules form a tree: the leaves (`sync`, `id`, `error`, `event`, `policy`,
// `options`, `status`, `health`, `monitor`, `signal`, `systemd`) depend on nothing of the
// group; `member` and `context` on the leaves; `observe` on `member`; `group` on those;
// `routine` (a routine's life) on `group`; `rutina` (the handle) and `entry` (`Main`) on
// everything below them.
mod aborting;
mod context;
mod entry;
mod error;
mod event;
mod group;
mod health;
mod id;
pub mod lease;
mod member;
mod metrics;
mod monitor;
mod observe;
mod options;
mod policy;
mod routine;
mod run;
mod rutina;
mod schedule;
#[cfg(feature = "serde")]
mod serde;
mod signal;
mod state;
mod status;
mod supervisor;
mod sync;
mod systemd;

#[doc(hidden)]
pub mod __private;

pub use crate::context::Context;
pub use crate::entry::{IntoRoutine, Main, MainFn, RoutineReturn, SetupReturn};
pub use crate::error::{BoxError, Error, ErrorReport, HungError, PanicError, RoutineError, SharedError, TimeoutError};
pub use crate::event::{CancelReason, Event, Outcome, ShutdownReason};
pub use crate::id::Id;
pub use crate::lease::Lease;
pub use crate::monitor::{Monitor, Operator};
pub use crate::options::{Options, ShutdownOrder};
pub use crate::policy::{Backoff, Policy, RestartIntensity, RunOptions};
pub use crate::routine::Routine;
pub use crate::rutina::Rutina;
#[cfg(feature = "cron")]
#[cfg_attr(docsrs, doc(cfg(feature = "cron")))]
pub use crate::schedule::Cron;
pub use crate::state::{FromRef, Provides, StatefulRoutine, WithState};
pub use crate::status::{RoutineState, RoutineStatus, ShutdownReport, StopKind, StoppedRoutine};

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use rutina_macros::{FromRef, main, routine};

/// The cancellation token type of [`Context::token`] and [`Rutina::token`], re-exported
/// from `tokio-util`.
pub use tokio_util::sync::CancellationToken;
