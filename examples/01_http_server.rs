//! # 01 · An HTTP service: state, probes, metrics, and a clean exit on SIGTERM
//!
//! A service as `rutina::main!` declares it: no hand-written `main`. Two axum servers —
//! the public one and an internal one for probes, metrics and status — and a periodic
//! job, all taking what they need from one application state. On SIGTERM the service
//! turns not-ready at once but keeps serving for a lame-duck delay, while a load
//! balancer stops sending it traffic; then the public server stops accepting and
//! finishes the requests in flight, the internal server stops last, and the process
//! exits with status 0.
//!
//! ```sh
//! SHUTDOWN_DELAY=5s cargo run --example http_server
//! curl localhost:3000/                    # hello
//! curl 'localhost:3000/slow?ms=8000' &    # a slow request in flight...
//! kill -TERM <pid>                        # ...completes before the process exits
//! curl -i localhost:3001/health           # 200 `ready`, then 503 `shutting down` at once on SIGTERM
//! curl -i localhost:3001/live             # 200 `live` (503 while a routine crash-loops)
//! curl localhost:3001/metrics             # rutina_runs_total, rutina_routines, http_requests_total, ...
//! curl localhost:3001/status              # every routine as JSON: state, attempt, restarts, last error
//! curl -X POST localhost:3001/admin/restart/http   # restarts the public server at once
//! ```
//!
//! Configuration comes from the environment: `HTTP_PORT` (default 3000), `METRICS_PORT`
//! (default 3001), `BIND_IP` (default 127.0.0.1; `0.0.0.0` in a container; port 0 picks
//! a free port) and `SHUTDOWN_DELAY`, the lame-duck delay (a humantime duration, default
//! `0s`: none; behind a load balancer, more than its health-check interval, such as
//! `10s`). Each server prints `<name> listening on http://<address>` on stdout once bound;
//! logs go to stderr. During the delay a second SIGTERM or Ctrl-C aborts at once.
//!
//! What it teaches:
//!
//! - **`rutina::main!` for a real service.** `setup: init_logging` installs the `tracing`
//!   subscriber before the runtime starts; `state: App::load` makes the application
//!   state once, inside the runtime, before any routine: the configuration, the
//!   Prometheus recorder (installed there, before the routines record anything, so that
//!   its handle goes into the state rather than through a `static`) and the request
//!   counters.
//! - **Routines take what they need as parameters.** `#[derive(rutina::FromRef)]` on
//!   `App` gives each field's type to the routines: `http_server(ctx, config, requests)`
//!   and `metrics_server(ctx, config, prometheus)` get fresh clones, taken from the state,
//!   for every run.
//! - **Probes from the group, not from a handle.** The internal server asks
//!   [`ctx.monitor()`](rutina::Context::monitor): `/health` is
//!   [`Monitor::is_ready`](rutina::Monitor::is_ready) (200 once every routine runs and the
//!   public server has bound its port — its `readiness_gate` — 503 as soon as a shutdown
//!   begins), `/live` is [`Monitor::is_live`](rutina::Monitor::is_live), `/status` is
//!   [`Monitor::status`](rutina::Monitor::status) as JSON (rutina's `serde` feature). A
//!   `Monitor` never keeps the group alive; a `Rutina` handle inside a routine would.
//! - **An admin endpoint.** `POST /admin/restart/{name}` restarts a routine at once,
//!   whatever its policies, through [`ctx.operator()`](rutina::Context::operator): an
//!   [`Operator`](rutina::Operator) restarts, reloads, kills and shuts down as a `Rutina`
//!   does, and like a `Monitor` never keeps the group alive.
//! - **Metrics.** `/metrics` renders a `metrics-exporter-prometheus` recorder: rutina's
//!   own metrics (its `metrics` feature: `rutina_runs_total`, `rutina_routines`,
//!   `rutina_run_duration_seconds`, ...) beside the application's, recorded with the
//!   `metrics` macros (`http_requests_total`, `http_requests_in_flight`). The exporter
//!   needs its upkeep run periodically: that is a scheduled routine, `every = "5s"`.
//! - **A lame-duck delay from the environment.** `main!`'s `shutdown_delay: "5s"` is a
//!   literal, checked at compile time; a delay that differs between a laptop and a
//!   cluster is known only at run time. `configure: configure` names an fn that gets the
//!   group's `Options` inside the runtime, before the group is made, and returns them
//!   finished: here `options.shutdown_delay(config.shutdown_delay)`. It reads the same
//!   `Config::from_env` as the state (the environment is read twice, both times the same).
//! - **Draining, in order.** `axum::serve(..).with_graceful_shutdown(..)` on the run's
//!   cancellation token; with `shutdown_order: ReverseStart` the routine started last
//!   (the public server) is stopped first and drains, then the job, then the internal
//!   server, which answers probes to the end.
//!
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics::{Counter, Gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rutina::{Context, Monitor, Operator, Options, RoutineStatus};
use tokio::net::TcpListener;

rutina::main! {
    setup: init_logging,
    state: App::load,
    configure: configure,
    // Started in this order; stopped in the reverse one.
    routines: [metrics_server, metrics_upkeep, http_server],
    shutdown_order: ReverseStart,
    shutdown_timeout: "30s", // each routine's grace period, from its turn to stop
}

/// The public server: `/` and `/slow?ms=N`. It drains when its context is cancelled,
/// which happens once the lame-duck delay has passed.
#[rutina::routine(name = "http", readiness_gate)]
async fn http_server(ctx: Context, config: Arc<Config>, requests: Requests) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.http).await.with_context(|| format!("bind {}", config.http))?;
    println!("http listening on http://{}", listener.local_addr()?);
    ctx.ready(); // the readiness gate: `/health` says ready only from now on

    let app = Router::new()
        .route("/", get(|| async { "hello from rutina\n" }))
        .route("/slow", get(slow))
        .layer(middleware::from_fn_with_state(requests, count_requests));

    // `with_graceful_shutdown` wants a `'static` future: an owned wait on the run's token.
    let shutdown = ctx.cancelled_owned();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    tracing::info!("http server drained");
    Ok(())
}

/// The internal server: `/health`, `/live`, `/status` from the group's [`Monitor`],
/// `/admin/restart/{name}` through its [`Operator`], and `/metrics`. Started first and
/// stopped last, it answers probes while the public server drains.
#[rutina::routine(name = "metrics")]
async fn metrics_server(ctx: Context, config: Arc<Config>, prometheus: PrometheusHandle) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.metrics).await.with_context(|| format!("bind {}", config.metrics))?;
    println!("metrics listening on http://{}", listener.local_addr()?);

    let app = Router::new()
        .route("/health", get(health))
        .route("/live", get(live))
        .route("/status", get(status))
        .with_state(ctx.monitor())
        .route("/admin/restart/{name}", post(restart).with_state(ctx.operator()))
        .route("/metrics", get(render_metrics).with_state(prometheus));
    axum::serve(listener, app).with_graceful_shutdown(ctx.cancelled_owned()).await?;
    tracing::info!("metrics server stopped");
    Ok(())
}

/// The exporter's upkeep (it drains histograms), every five seconds: a scheduled
/// routine, whose runs also show in `rutina_runs_total`.
#[rutina::routine(every = "5s")]
async fn metrics_upkeep(prometheus: PrometheusHandle) -> Result<(), std::convert::Infallible> {
    prometheus.run_upkeep();
    Ok(())
}

/// `setup`: before the runtime starts. Without a subscriber, rutina's logs (runs,
/// failures, the shutdown) would not show.
fn init_logging() -> Result<(), rutina::BoxError> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(tracing::Level::INFO)
        .try_init()
}

/// `configure`: the group's options that come from the environment, known only at run
/// time. The literal keys of `main!` (`shutdown_timeout`, `shutdown_order`) are already
/// set in `options`.
fn configure(options: Options) -> anyhow::Result<Options> {
    Ok(options.shutdown_delay(Config::from_env()?.shutdown_delay))
}

// ----- the application state ------------------------------------------------------

/// What the service is configured with.
#[derive(Debug)]
struct Config {
    http: SocketAddr,
    metrics: SocketAddr,
    shutdown_delay: Duration,
}

impl Config {
    /// From `BIND_IP`, `HTTP_PORT`, `METRICS_PORT` and `SHUTDOWN_DELAY`; a malformed value
    /// is an error naming the variable (the program then exits with 1, no routine started).
    fn from_env() -> anyhow::Result<Config> {
        let ip = env_or("BIND_IP", IpAddr::V4(Ipv4Addr::LOCALHOST), str::parse)?;
        Ok(Config {
            http: SocketAddr::new(ip, env_or("HTTP_PORT", 3000, str::parse)?),
            metrics: SocketAddr::new(ip, env_or("METRICS_PORT", 3001, str::parse)?),
            shutdown_delay: env_or("SHUTDOWN_DELAY", Duration::ZERO, humantime::parse_duration)?,
        })
    }
}

/// The public server's request metrics, registered once and shared by every request.
#[derive(Clone)]
struct Requests {
    served: Counter,
    in_flight: Gauge,
}

/// The application state: each field's type is a parameter the routines may take.
#[derive(Clone, rutina::FromRef)]
struct App {
    config: Arc<Config>,
    requests: Requests,
    prometheus: PrometheusHandle,
}

impl App {
    /// `state`: once, inside the runtime, before any routine starts.
    fn load() -> anyhow::Result<App> {
        let config = Config::from_env()?;
        tracing::info!(?config, "configured");
        // Installed before any routine runs: rutina registers each routine's metrics
        // with the recorder in force at its first use.
        let prometheus = PrometheusBuilder::new().install_recorder().context("install the metrics recorder")?;
        metrics::describe_counter!("http_requests_total", "Requests the public server answered.");
        metrics::describe_gauge!("http_requests_in_flight", "Requests the public server is answering.");
        let requests = Requests {
            served: metrics::counter!("http_requests_total"),
            in_flight: metrics::gauge!("http_requests_in_flight"),
        };
        Ok(App { config: Arc::new(config), requests, prometheus })
    }
}

// ----- the handlers ---------------------------------------------------------------

/// `GET /slow?ms=N`: answers after `N` milliseconds (default 1000, at most 60 000).
async fn slow(Query(params): Query<HashMap<String, u64>>) -> String {
    let ms = params.get("ms").copied().unwrap_or(1000).min(60_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms\n")
}

/// Middleware of the public server: counts the requests answered, and those in flight
/// (also when a request is dropped half-way).
async fn count_requests(State(requests): State<Requests>, request: Request, next: Next) -> Response {
    struct InFlight(Requests);
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.in_flight.decrement(1.0);
            self.0.served.increment(1);
        }
    }
    requests.in_flight.increment(1.0);
    let _in_flight = InFlight(requests);
    next.run(request).await
}

/// `GET /health` (readiness): 200 while the group is ready, 503 while it starts and as
/// soon as it begins shutting down — during the lame-duck delay too, which is the point.
async fn health(State(monitor): State<Monitor>) -> (StatusCode, &'static str) {
    if monitor.is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else if monitor.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

/// `GET /live` (liveness): 503 while a routine crash-loops or is hung, when restarting
/// the process is the cure.
async fn live(State(monitor): State<Monitor>) -> (StatusCode, &'static str) {
    if monitor.is_live() { (StatusCode::OK, "live\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not live\n") }
}

/// `GET /status`: every alive routine, as JSON.
async fn status(State(monitor): State<Monitor>) -> Json<Vec<RoutineStatus>> {
    Json(monitor.status())
}

/// `POST /admin/restart/{name}`: restarts the routine called `name` at once (its context
/// says [`Restarted`](rutina::CancelReason::Restarted); the public server drains and binds
/// again). Not an endpoint to expose: bind the internal server to a private address.
async fn restart(State(operator): State<Operator>, Path(name): Path<String>) -> (StatusCode, String) {
    let Some(routine) = operator.monitor().status().into_iter().find(|routine| routine.name == name) else {
        return (StatusCode::NOT_FOUND, format!("no routine named {name:?}\n"));
    };
    match operator.restart(routine.id) {
        Ok(()) => (StatusCode::ACCEPTED, format!("restarting {name}\n")),
        Err(error) => (StatusCode::CONFLICT, format!("{error}\n")),
    }
}

/// `GET /metrics`, in the Prometheus text format.
async fn render_metrics(State(prometheus): State<PrometheusHandle>) -> String {
    prometheus.render()
}

/// The variable `var` parsed with `parse`, or `default` when it is not set.
fn env_or<T, E>(var: &str, default: T, parse: impl FnOnce(&str) -> Result<T, E>) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match std::env::var(var) {
        Ok(value) => parse(&value).with_context(|| format!("{var}={value:?} is not valid")),
        Err(_) => Ok(default),
    }
}
