//! Procedural macros for [`rutina`](https://docs.rs/rutina): `#[rutina::routine]`,
//! `rutina::main!` and `#[derive(rutina::FromRef)]`.
//!
//! Depend on `rutina` alone: it re-exports both macros behind its default feature
//! `macros`. The macros only fill in data and call into the runtime; every rule about
//! runs, restarts, timeouts and shutdown lives in `rutina` itself.
//!
//! Inside, each macro is parse (`attr.rs`, `item.rs`) → validate (`valid.rs`) →
//! expand (`expand.rs`), on `proc_macro2` tokens, collecting every error of a call.

mod attr;
mod errors;
mod expand;
mod item;
mod valid;

#[cfg(test)]
mod never_panics;

use proc_macro::TokenStream;

/// Declares a routine: an `async fn` together with the options it runs with.
///
/// ```
/// use rutina::{Context, Routine};
///
/// /// Polls the feed until the group shuts down; restarted every time it ends.
/// #[rutina::routine(on_done = Restart, on_error = Restart, timeout = "5s",
///                   max_count = 10, name = "feed", backoff = "1s")]
/// async fn poll_feed(ctx: Context) -> anyhow::Result<()> {
///     if ctx.is_cancelled() {
///         return Ok(());
///     }
///     // fetch, parse, store...
///     Ok(())
/// }
/// ```
///
/// `poll_feed` is then a value that carries its options: pass it to
/// [`Rutina::go`](https://docs.rs/rutina/latest/rutina/struct.Rutina.html#method.go)
/// (its declared options apply), to `Rutina::go_with` (the options you give replace
/// them all; the declared name is kept unless you give one), or list it in
/// [`rutina::main!`](macro@main).
///
/// # Arguments
///
/// Every key is optional; each may be given once.
///
/// | key | value | when omitted |
/// |---|---|---|
/// | `on_done` | policy after a run returns `Ok`: `DoNothing`, `Restart` or `Shutdown` (also `Policy::Restart`) | `DoNothing` |
/// | `on_error` | policy after a run fails (error, panic or timeout) | `Shutdown` |
/// | `timeout` | each run's time limit, a non-zero [humantime] string: `"250ms"`, `"5s"`, `"1m 30s"`. When it passes the run is cancelled, and dropped if it has not returned within its `grace_period` (at once when none is set): a timed-out run is a failure whatever it returns | no limit |
/// | `max_count` | how many restarts are allowed, an integer literal (`u32`); `0` runs once | unlimited |
/// | `name` | the routine's name in logs, events and errors, a non-empty string | the fn's name |
/// | `backoff` | the delay before each restart: a fixed delay, a humantime string (`"1s"`; `"0s"`: none, `Backoff::none`), or an exponential backoff from a first delay to the largest, `"100ms..30s"` (`Backoff::exponential`; both non-zero, going up). Not with a schedule | rutina's default backoff (exponential after a failure) |
/// | `backoff_reset` | how long a run must stay up for an exponential backoff to start again from its first delay (`Backoff::reset_after`), a non-zero humantime string. With a `backoff` range or the default backoff, not a fixed one | the largest delay |
/// | `restart_intensity` | at most that many restarts within any window of that length: `(5, "1m")`, a count (`u32`) and a non-zero humantime string; exceeding it ends the group with `Error::RestartIntensity` | no limit |
/// | `grace_period` | how long a run may take to stop once it was cancelled — by a shutdown, its `timeout`, a missed `heartbeat`, a lost `singleton` lease — before it is aborted; for a shutdown it overrides `main!`'s `shutdown_timeout` (`Options::shutdown_timeout`). A humantime string; `"0s"` aborts at once | the group's for a shutdown; none (abort at once) for a timeout, a heartbeat or a lease |
/// | `readiness_gate` | `readiness_gate` (or `= true`): the group is ready (`Rutina::is_ready`, systemd's `READY=1`) only once this routine called `ctx.ready()` | `false` |
/// | `every` | runs at a fixed rate (`RunOptions::every`): each run starts that long after the previous one started, the first at once; a non-zero humantime string, `"2s"`. Sets `on_done` to `Restart` unless `on_done` is given | not scheduled |
/// | `cron` | runs on a cron schedule, in UTC (`RunOptions::cron`, feature `cron`, on by default): five fields (minute, hour, day of month, month, day of week) or six with the seconds first, `"0 */5 * * * *"`, checked at compile time. Sets `on_done` to `Restart` unless `on_done` is given; not with `every` | not scheduled |
/// | `heartbeat` | how long a run may stay silent (no `ctx.heartbeat()`) before it is hung: cancelled, then aborted after its `grace_period`, and a failure (`RunOptions::heartbeat`); a non-zero humantime string | not watched |
/// | `reload` | `reload` (or `= true`): `Rutina::reload` and SIGHUP restart this routine (`RunOptions::reload`) | `false` |
/// | `singleton` | the key of the lease the routine runs under: it runs in one replica at a time, among those sharing `main!`'s `lease` backend (`RunOptions::singleton`); a non-empty string, `"billing-cleanup"` | runs everywhere |
///
/// Durations are parsed, and cron expressions checked, at compile time: a typo is a
/// compile error, not a panic at start-up. With a schedule, every next run waits for
/// the next tick, so `backoff` and `backoff_reset` do not apply: giving them is an
/// error.
///
/// # The fn
///
/// `async fn name(ctx: rutina::Context, ..) -> Result<(), E>`, where
/// `E: Into<rutina::BoxError>` (`std::io::Error`, `anyhow::Error`, `String`,
/// `&'static str`, ...) and the returned future is `Send`. The `Context` may be omitted
/// (`async fn name() -> Result<(), E>`), but then the routine cannot see cancellation and
/// only ends on its own or when aborted. Any visibility, attributes and doc comments; no
/// generics, no `self`. It must be a free fn (in a module or a block), not an associated
/// fn.
///
/// The routine is called by rutina, for every run, never by you: it cannot take
/// arguments of your choosing. What it needs — a pool, a client, its configuration — comes
/// as parameters after the `Context`, from a state (below). To keep something from one
/// run to the next (a cursor, a cache), implement `rutina::Routine` on your own type
/// instead.
///
/// # Parameters from a state
///
/// Parameters after the `Context` (or without one) are taken from an application state,
/// with [`rutina::FromRef`](https://docs.rs/rutina/latest/rutina/trait.FromRef.html),
/// afresh for every run: a restarted routine gets fresh clones. Such a routine is started
/// with its state, `rutina.go(name.with_state(state))`; on its own it is not a routine.
/// Each parameter is a plain name with an owned type (a handle such as a pool or an
/// `Arc<T>`, cheap to clone), not a reference.
///
/// ```
/// use std::sync::Arc;
/// use rutina::{Context, Rutina};
///
/// #[derive(Clone)]
/// struct Db;
/// struct Config;
///
/// #[derive(Clone, rutina::FromRef)]
/// struct App {
///     db: Db,
///     config: Arc<Config>,
/// }
///
/// #[rutina::routine(on_error = Restart)]
/// async fn consumer(ctx: Context, db: Db, config: Arc<Config>) -> anyhow::Result<()> {
///     let _ = (db, config);
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = App { db: Db, config: Arc::new(Config) };
/// let rutina = Rutina::default();
/// rutina.go(consumer.with_state(app.clone())); // with the options declared above
/// # rutina.shutdown();
/// # rutina.wait().await.unwrap();
/// # }
/// ```
///
/// Every `#[rutina::routine]` item has `with_state`; one without parameters returns
/// itself and drops the state, so that all routines can be started the same way. In
/// [`rutina::main!`](macro@main), name the fn that makes the state with its `state` key
/// (`state: App::connect`): every routine listed is started with it.
///
/// A routine with parameters is not a routine until it has its state: `go(consumer)`, or
/// listing it in a `main!` without `state`, is a compile error that says to give it one.
/// A parameter type the state does not provide is an error naming both types: derive
/// `FromRef` on the state struct with a field of that type, or implement it by hand.
///
/// # Periodic jobs, heartbeats, reloads and singletons
///
/// ```
/// use std::time::Duration;
/// use rutina::{Backoff, Context, Cron, Policy, Routine, RunOptions};
///
/// /// Every five minutes (UTC), in one replica of the service at a time.
/// #[rutina::routine(cron = "0 */5 * * * *", singleton = "billing-cleanup", on_error = Restart,
///                   timeout = "1m")]
/// async fn cleanup(ctx: Context) -> anyhow::Result<()> {
///     let _fence = ctx.fencing_token(); // guards its writes against a stale holder
///     Ok(())
/// }
///
/// /// A consumer: reconnects with an exponential backoff, is hung when silent for 30 s,
/// /// and is restarted by `Rutina::reload` (SIGHUP) to read its configuration again.
/// #[rutina::routine(on_error = Restart, backoff = "100ms..30s", backoff_reset = "1m",
///                   heartbeat = "30s", reload)]
/// async fn consumer(ctx: Context) -> anyhow::Result<()> {
///     while !ctx.is_cancelled() {
///         // receive and handle one message...
///         ctx.heartbeat();
///         # break;
///     }
///     Ok(())
/// }
///
/// assert_eq!(
///     cleanup.options(),
///     RunOptions::default()
///         .name("cleanup")
///         .cron(Cron::parse("0 */5 * * * *").unwrap()) // also sets `on_done = Restart`
///         .on_error(Policy::Restart)
///         .timeout(Duration::from_secs(60))
///         .singleton("billing-cleanup"),
/// );
/// assert_eq!(
///     consumer.options().backoff,
///     Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30))
///         .reset_after(Duration::from_secs(60)),
/// );
/// ```
///
/// A schedule restarts the routine after `Ok` (give `on_done` to choose otherwise) and
/// every next run waits for the next tick, so a backoff does not apply to it. A
/// singleton needs a lease backend in its group: `main!`'s `lease` key
/// (`Options::lease`); without one it does not start and the group shuts down.
///
/// # Equivalent hand-written code
///
/// The attribute is the same as passing the plain fn with the options written out:
///
/// ```
/// use std::time::Duration;
/// use rutina::{Backoff, Context, Policy, Routine, RunOptions, Rutina};
///
/// #[rutina::routine(on_done = Restart, on_error = Restart, timeout = "5s",
///                   max_count = 10, name = "feed", backoff = "1s",
///                   restart_intensity = (5, "1m"), grace_period = "10s", readiness_gate)]
/// async fn poll_feed(ctx: Context) -> anyhow::Result<()> {
///     ctx.ready();
///     Ok(())
/// }
///
/// // Without the macro: a plain `async fn` is a routine with default options, so the
/// // options go with it at each start.
/// async fn poll_feed_by_hand(ctx: Context) -> anyhow::Result<()> {
///     ctx.ready();
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let options = RunOptions::default()
///     .on_done(Policy::Restart)
///     .on_error(Policy::Restart)
///     .timeout(Duration::from_secs(5))
///     .max_count(10)
///     .name("feed")
///     .backoff(Backoff::fixed(Duration::from_secs(1)))
///     .restart_intensity(5, Duration::from_secs(60))
///     .grace_period(Duration::from_secs(10))
///     .readiness_gate(true);
/// assert_eq!(poll_feed.options(), options);
///
/// let rutina = Rutina::default();
/// rutina.go(poll_feed); // the same as
/// rutina.go_with(poll_feed_by_hand, options);
/// # rutina.shutdown();
/// # rutina.wait().await.ok();
/// # }
/// ```
///
/// # What it expands to
///
/// In value position the name must denote the routine *with* its options, so the fn
/// becomes a unit struct of the same name, and the fn itself, unchanged, its associated
/// fn `call`:
///
/// ```text
/// #[derive(Clone, Copy, Debug, Default)]
/// struct poll_feed;                         // the routine: `go(poll_feed)`
///
/// impl poll_feed {
///     async fn call(ctx: Context) -> anyhow::Result<()> { .. }   // the body, as written
/// }
///
/// impl Routine for poll_feed {
///     fn run(&mut self, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send {
///         /* poll_feed::call(ctx), its result through `RoutineReturn` (its error boxed) */
///     }
///     fn options(&self) -> RunOptions {
///         RunOptions::default().name("feed").on_done(Policy::Restart) /* ... */
///     }
/// }
/// ```
///
/// A fn with parameters from a state, `consumer(ctx: Context, db: Db)`, is instead a
/// `StatefulRoutine<S>` for every state that provides its parameters, and `with_state`
/// pairs it with one:
///
/// ```text
/// impl consumer {
///     fn with_state<S>(self, state: S) -> impl Routine
///     where S: Send + 'static, S: Provides<Db> /* one bound per parameter */
///     { WithState::new(self, state) }
/// }
///
/// impl<S: Provides<Db>> StatefulRoutine<S> for consumer {
///     fn run(&mut self, state: &S, ctx: Context) -> impl Future<..> + Send {
///         /* consumer::call(ctx, state.provide()), its error boxed */
///     }
///     fn options(&self) -> RunOptions { /* as declared */ }
/// }
///
/// // What `rutina::main!` with a `state` starts it with: given `&state`, a clone of it.
/// impl<'a, S: Provides<Db> + Clone + Send + 'static> IntoRoutine<&'a S> for consumer {
///     type Routine = WithState<consumer, S>;
///     fn into_routine(self, state: &'a S) -> Self::Routine { WithState::new(self, state.clone()) }
/// }
/// ```
///
/// Because the name is a unit struct, a `let` binding or a pattern of the same name
/// cannot sit in its scope, and the body calls itself (if ever) as `poll_feed::call`.
///
/// # Testing the body
///
/// `call` runs the body once, with no orchestrator: give it a detached context, with a
/// token the test controls. It returns the fn's own error type.
///
/// ```
/// use rutina::Context;
///
/// #[rutina::routine(on_done = Restart)]
/// async fn drain(ctx: Context) -> Result<(), std::io::Error> {
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // In a `#[tokio::test]`:
/// let ctx = Context::detached();
/// ctx.token().cancel();
/// assert!(drain::call(ctx).await.is_ok());
/// # }
/// ```
///
/// # Errors
///
/// Mistakes are compile errors on the offending token, all reported at once: unknown
/// or duplicate keys, unknown policies, malformed durations (with the parser's reason),
/// a zero `timeout`, `every`, `heartbeat`, `backoff_reset` or `restart_intensity`
/// window, a `max_count` or restart count that is negative, not an integer or too large,
/// a `restart_intensity` that is not a `(count, "window")` pair, a `readiness_gate` or
/// `reload` that is not `true` or `false`, an empty `name` or `singleton`, a cron
/// expression that does not parse (with the parser's reason), `every` and `cron`
/// together, a `backoff` range that is malformed, zero or going down, a `backoff` with
/// a schedule, a `backoff_reset` with a fixed `backoff`, and an
/// fn that is not `async`, is generic, takes `self`, takes its `Context` by reference or
/// after another parameter, takes a parameter by reference or with a pattern, or does not
/// return a `Result`. The item is still generated (with default options, taking no
/// state), so a mistake in the attribute does not cascade into errors where the routine is
/// used. Where it is used, a routine with parameters started without `with_state`, or
/// given a state that cannot provide one of them (`the state `App` cannot provide a
/// `Db``), is a type error.
///
/// [humantime]: https://docs.rs/humantime
#[proc_macro_attribute]
pub fn routine(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::routine(args.into(), item.into()).into()
}

/// Defines `fn main() -> std::process::ExitCode` for a service made of
/// [`#[rutina::routine]`](macro@routine)s.
///
/// ```no_run
/// #[rutina::routine(on_error = Shutdown)]
/// async fn http_server(ctx: rutina::Context) -> anyhow::Result<()> {
///     ctx.cancelled().await; // serve until the group shuts down, then drain
///     Ok(())
/// }
///
/// #[rutina::routine(on_error = Restart)]
/// async fn metrics_server(ctx: rutina::Context) -> anyhow::Result<()> {
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// rutina::main!(http_server, metrics_server);
/// ```
///
/// With options, in braces:
///
/// ```no_run
/// # #[rutina::routine] async fn http_server() -> anyhow::Result<()> { Ok(()) }
/// # #[rutina::routine] async fn metrics_server() -> anyhow::Result<()> { Ok(()) }
/// /// rutina logs runs, failures and restarts with `tracing`: without a subscriber,
/// /// nothing shows.
/// fn init_logging() -> Result<(), rutina::BoxError> {
///     tracing_subscriber::fmt().with_writer(std::io::stderr).try_init()
/// }
///
/// rutina::main! {
///     routines: [http_server, metrics_server],
///     shutdown_timeout: "30s",      // the grace period after a shutdown begins
///     shutdown_delay: "5s",         // stay up, not ready, while the load balancer catches up
///     shutdown_order: ReverseStart, // stop metrics_server first, then http_server
///     setup: init_logging,          // called once, before the runtime is built
/// }
/// ```
///
/// With a state the routines' parameters are taken from, and a lease backend for the
/// singleton routines:
///
/// ```no_run
/// use std::sync::Arc;
/// use rutina::Context;
/// # #[derive(Clone)] struct Db;
/// # impl Db { async fn connect(_: &str) -> anyhow::Result<Db> { Ok(Db) } }
///
/// #[derive(Clone, rutina::FromRef)]
/// struct App {
///     db: Db,
///     queue: Arc<str>,
/// }
///
/// impl App {
///     /// Made once, inside the runtime, before any routine starts.
///     async fn connect() -> anyhow::Result<App> {
///         let url = std::env::var("DATABASE_URL")?;
///         Ok(App { db: Db::connect(&url).await?, queue: "jobs".into() })
///     }
/// }
///
/// #[rutina::routine(on_error = Restart)]
/// async fn consumer(ctx: Context, db: Db, queue: Arc<str>) -> anyhow::Result<()> {
///     let _ = (db, queue); // a fresh clone of each, taken from the state, for every run
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// #[rutina::routine(every = "1h", singleton = "vacuum")]
/// async fn vacuum(db: Db) -> anyhow::Result<()> {
///     let _ = db; // runs in one replica at a time
///     Ok(())
/// }
///
/// # mod lease {
/// #     pub struct Postgres;
/// #     impl Postgres { pub async fn connect(_: &str) -> std::io::Result<Postgres> { Ok(Postgres) } }
/// #     impl rutina::Lease for Postgres {
/// #         type Error = std::convert::Infallible;
/// #         fn time_to_live(&self) -> std::time::Duration { std::time::Duration::from_secs(15) }
/// #         async fn acquire(&self, _: &str, _: &str) -> Result<Option<u64>, Self::Error> { Ok(None) }
/// #         async fn renew(&self, _: &str, _: &str, _: u64) -> Result<bool, Self::Error> { Ok(false) }
/// #         async fn release(&self, _: &str, _: &str, _: u64) -> Result<(), Self::Error> { Ok(()) }
/// #     }
/// # }
/// # use lease::Postgres;
/// /// The backend of the singletons' leases: `rutina::lease::Postgres` (feature `postgres`).
/// async fn make_lease() -> Result<Postgres, rutina::BoxError> {
///     Ok(Postgres::connect(&std::env::var("DATABASE_URL")?).await?)
/// }
///
/// rutina::main! {
///     state: App::connect,
///     lease: make_lease,
///     routines: [consumer, vacuum],
///     shutdown_timeout: "30s",
/// }
/// ```
///
/// With options known only at run time — a lame-duck delay that is 0 on a laptop and
/// 10 s behind a load balancer, a grace period from a configuration file — name an fn
/// that finishes the group's options, `configure`:
///
/// ```no_run
/// # #[rutina::routine] async fn http_server() -> anyhow::Result<()> { Ok(()) }
/// use std::time::Duration;
///
/// /// `SHUTDOWN_DELAY_SECS` from the environment (default 0: no lame-duck delay).
/// fn configure(options: rutina::Options) -> anyhow::Result<rutina::Options> {
///     let secs = std::env::var("SHUTDOWN_DELAY_SECS").unwrap_or_else(|_| "0".into());
///     Ok(options.shutdown_delay(Duration::from_secs(secs.parse()?)))
/// }
///
/// rutina::main! {
///     routines: [http_server],
///     shutdown_timeout: "30s",  // fixed: written here, checked at compile time
///     configure: configure,     // from the environment: read when the program starts
/// }
/// ```
///
/// Entries are paths (`poll_feed`, `jobs::poll`, `TICKER`) whose value is a routine: a
/// `#[rutina::routine]` item, a unit struct or a const of a type that implements
/// [`rutina::Routine`](https://docs.rs/rutina/latest/rutina/trait.Routine.html) by hand,
/// or a plain `async fn(Context) -> Result<(), E>` (with default options). They are
/// started in the order listed, each with `rutina::IntoRoutine::start`. Besides
/// `routines`, each key optional and given at most once:
///
/// | key | value | when omitted |
/// |---|---|---|
/// | `shutdown_timeout` | the grace period after a shutdown begins (`Options::shutdown_timeout`), a non-zero humantime string; a routine's own `grace_period` overrides it | a shutdown waits for every routine |
/// | `shutdown_order` | `AllAtOnce` or `ReverseStart` (also `ShutdownOrder::ReverseStart`, `rutina::ShutdownOrder::ReverseStart`): `Options::shutdown_order`. With `ReverseStart` the routine listed last is stopped first, and each one's grace period runs from its turn | `AllAtOnce` |
/// | `shutdown_delay` | the lame-duck delay (`Options::shutdown_delay`), a non-zero humantime string: when a shutdown begins by a signal the group turns not-ready at once (health checks, systemd's `STOPPING=1`), but the routines are cancelled only once the delay has passed, while a load balancer stops sending traffic; `shutdown_timeout` counts from then | the routines are cancelled at once |
/// | `setup` | the path of an fn (`init_logging`, `config::load`) that `main` calls once, before it builds the runtime: to install a `tracing` subscriber. A plain fn taking no arguments and returning `()` or `Result<(), E>` with `E: Into<rutina::BoxError>`, as for a routine. If it returns `Err`, the error is printed on stderr with its sources and the process exits with 1, no routine started | nothing runs first |
/// | `state` | the path of an fn or `async fn` taking no arguments (`App::connect`, `config::load`) that makes the state the routines' parameters are taken from: it returns the state `S` or `Result<S, E>` with `E: Into<rutina::BoxError>`. `main` calls it once, inside the runtime, after `setup` and before any routine, then starts every routine with it: a routine with parameters takes them from a clone of it (so `S: Clone + Send + 'static`), the others ignore it. If it fails, its error is printed with its sources and the process exits with 1, no routine started | a routine with parameters cannot be listed |
/// | `lease` | the path of an fn or `async fn` taking no arguments that makes the lease backend of the `singleton` routines (a `rutina::Lease`, such as `rutina::lease::Postgres` with the `postgres` feature), or `Result<backend, E>`. `main` calls it inside the runtime, before it makes the group (`Main::configure`), and gives it to `Options::lease`; an error exits with 1 | a `singleton` routine does not start, and the group shuts down |
/// | `configure` | the path of an fn or `async fn` taking the group's `rutina::Options` and returning them, or `Result<Options, E>` with `E: Into<rutina::BoxError>`: for what is known only at run time (`options.shutdown_delay(..)` with a delay read from the environment). `main` calls it once, inside the runtime, before it makes the group (`Main::configure`), with the options the other keys set (and the `lease`): what it returns is final, so it may replace them. If it fails, its error is printed with its sources and the process exits with 1, no routine started | the options are those of the keys |
///
/// `setup` runs on the main thread, outside any runtime: it cannot `.await` or
/// `tokio::spawn`. Do asynchronous start-up work — connecting to a database, reading a
/// configuration service — in `state`, and hand what it makes to the routines as their
/// parameters, rather than through a `static`. The group's own settings that come from
/// the configuration (`SHUTDOWN_DELAY`) go through `configure`, which runs first: the
/// group is made before the state, so that signals are handled while the state is made.
///
/// The generated `main` builds a multi-threaded tokio runtime, creates a `Rutina`
/// listening to SIGINT and SIGTERM (Ctrl-C off unix), starts the routines, waits for
/// the group, and exits with:
///
/// | exit code | when |
/// |---|---|
/// | 0 | every routine ended cleanly (for instance after a first signal) |
/// | 1 | the group's error, or the error of `setup`, `state`, `lease` or `configure`, printed on stderr with its chain of sources |
/// | 130 | a second signal aborted routines still running after the first one |
///
/// A third signal exits at once (130), even if some routine blocks its thread: the
/// process can always be stopped from the keyboard.
///
/// # Equivalent hand-written code
///
/// `main!` expands to public rutina API, [`rutina::Main`](https://docs.rs/rutina/latest/rutina/struct.Main.html)
/// (a multi-threaded runtime, OS signals, the exit status); by hand, with every key:
///
/// ```no_run
/// use std::process::ExitCode;
/// use std::time::Duration;
/// use rutina::{BoxError, ErrorReport, Main, Options, ShutdownOrder};
/// # #[derive(Clone)] struct App;
/// # impl App { async fn connect() -> anyhow::Result<App> { Ok(App) } }
/// # #[rutina::routine] async fn http_server() -> anyhow::Result<()> { Ok(()) }
/// # #[rutina::routine] async fn consumer(_app: App) -> anyhow::Result<()> { Ok(()) }
/// # fn init_logging() -> Result<(), rutina::BoxError> { Ok(()) }
/// # struct Nope;
/// # impl rutina::Lease for Nope {
/// #     type Error = std::convert::Infallible;
/// #     fn time_to_live(&self) -> Duration { Duration::from_secs(15) }
/// #     async fn acquire(&self, _: &str, _: &str) -> Result<Option<u64>, Self::Error> { Ok(None) }
/// #     async fn renew(&self, _: &str, _: &str, _: u64) -> Result<bool, Self::Error> { Ok(false) }
/// #     async fn release(&self, _: &str, _: &str, _: u64) -> Result<(), Self::Error> { Ok(()) }
/// # }
/// # async fn make_lease() -> Result<Nope, std::io::Error> { Ok(Nope) }
/// # fn configure(options: Options) -> anyhow::Result<Options> { Ok(options) }
///
/// fn main() -> ExitCode {
///     // `setup: init_logging`, before the runtime; a setup returning `()` is just called.
///     if let Err(error) = init_logging() {
///         eprintln!("{}", ErrorReport::new(&*error));
///         return ExitCode::FAILURE;
///     }
///     let options = Options::default()
///         .shutdown_timeout(Duration::from_secs(30))
///         .shutdown_delay(Duration::from_secs(5))
///         .shutdown_order(ShutdownOrder::ReverseStart);
///     Main::new(options)
///         // `lease: make_lease`, then `configure: configure`, inside the runtime, before
///         // the group is made.
///         .configure(|options| async move {
///             let options = options.lease(make_lease().await?);
///             Ok::<_, BoxError>(configure(options)?)
///         })
///         .run(|rutina| async move {
///             // `state: App::connect`, before any routine; an error exits with 1.
///             let app = App::connect().await?;
///             // `routines: [http_server, consumer]`, in order, each given the state.
///             rutina.go(http_server); // no parameters: the state is not needed
///             rutina.go(consumer.with_state(app.clone()));
///             Ok::<_, BoxError>(())
///         })
/// }
/// ```
///
/// For the entries, `main!` calls `rutina::IntoRoutine::start(entry, &rutina, &state)`,
/// which is `go(entry.with_state(state.clone()))` for a routine with parameters and
/// `go(entry)` for any other: it cannot tell them apart, the types can. To start
/// closures, or routines built at run time, write `main` by hand, with `Main`.
///
/// # Errors
///
/// An empty `main!`, an empty `routines` list, an unknown or duplicate key, a malformed
/// or zero duration, an unknown or quoted shutdown order, an entry that is not a path,
/// and a `setup`, `state`, `lease` or `configure` that is not a path (a closure, a block,
/// a call: `setup: init()`) are compile errors on the offending token. An entry that is
/// not a routine (a struct without a `Routine` impl, an fn of another shape) is a type
/// error on that entry, saying to add the attribute or implement `Routine`; so is a
/// `#[rutina::routine]` fn with parameters in a `main!` without `state` (saying to give
/// it one), or with a state that does not provide one of its parameters (naming both
/// types). A `setup`, `state` or `lease` fn that takes arguments is a type error on its
/// path ("expected function that takes 0 arguments"); a `setup` that is `async` or returns
/// anything but `()` or `Result<(), E>`, a `state` or `lease` returning a `Result` whose
/// error does not convert into `rutina::BoxError`, and a `lease` that is not a
/// `rutina::Lease`, too. A `configure` fn that does not take one `rutina::Options` is
/// reported on its path as a call with the wrong arguments, and one that returns anything
/// but the options (or a `Result` of them) as a type mismatch there. Each error names
/// public items only (`IntoRoutine`, `MainFn`, `SetupReturn`, `FromRef`, `Options`,
/// `Options::lease`).
#[proc_macro]
pub fn main(input: TokenStream) -> TokenStream {
    expand::main(input.into()).into()
}

/// Implements `rutina::FromRef<Struct>` for the type of each field of a struct: the
/// state a routine's parameters are taken from (see `WithState`).
///
/// ```
/// use std::sync::Arc;
/// use rutina::FromRef;
///
/// #[derive(Clone)]
/// struct Db;
/// struct Config;
///
/// #[derive(Clone, FromRef)]
/// struct App {
///     db: Db,
///     config: Arc<Config>,
///     #[from_ref(skip)]
///     replica: Db, // a second `Db`: no impl of its own
/// }
///
/// #[rutina::routine]
/// async fn consumer(ctx: rutina::Context, db: Db, config: Arc<Config>) -> anyhow::Result<()> {
///     let _ = (db, config);
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// let app = App { db: Db, config: Arc::new(Config), replica: Db };
/// let config: Arc<Config> = FromRef::from_ref(&app);
/// assert!(Arc::ptr_eq(&config, &app.config));
/// let _routine = consumer.with_state(app);
/// ```
///
/// It expands to one impl per field, each a clone of the field:
///
/// ```text
/// impl FromRef<App> for Db {
///     fn from_ref(state: &App) -> Db { state.db.clone() }
/// }
/// impl FromRef<App> for Arc<Config> {
///     fn from_ref(state: &App) -> Arc<Config> { state.config.clone() }
/// }
/// ```
///
/// The whole state is always a parameter too (`FromRef<T> for T` holds for every
/// `Clone` type).
///
/// # Errors
///
/// Each type can be taken from one field only: two fields of one type are an error on
/// the second, unless one of them is marked `#[from_ref(skip)]`. Enums, unions, tuple and
/// unit structs, and generic structs are errors (implement `FromRef` by hand for them),
/// as is a field whose type is not `Clone`.
#[proc_macro_derive(FromRef, attributes(from_ref))]
pub fn derive_from_ref(input: TokenStream) -> TokenStream {
    expand::from_ref(input.into()).into()
}
