//! # 01 · An HTTP server that drains on SIGTERM
//!
//! Two axum servers in one group: the public HTTP server and a metrics/health server on
//! another port. On SIGTERM or SIGINT the group shuts down: the HTTP server stops
//! accepting connections and finishes the requests in flight, while the health endpoint
//! answers `503` so that a load balancer stops sending traffic; once the HTTP server
//! has drained, the metrics server stops too and the process exits with status 0.
//!
//! ```sh
//! cargo run --example http_server
//! curl localhost:3000/                    # hello
//! curl 'localhost:3000/slow?ms=5000' &    # a slow request in flight...
//! kill -TERM <pid>                        # ...completes before the process exits
//! curl localhost:3001/health              # `ready`, then `shutting down` (503) while draining
//! curl localhost:3001/metrics             # requests served and in flight
//! ```
//!
//! Configuration comes from the environment: `HTTP_PORT` (default 3000), `METRICS_PORT`
//! (default 3001), `BIND_IP` (default 127.0.0.1; `0.0.0.0` in a container). Port 0 picks a
//! free port. Each server prints `<name> listening on http://<address>` on stdout once
//! bound; logs go to stderr.
//!
//! What it teaches:
//!
//! - a real server as a routine: `axum::serve(..).with_graceful_shutdown(..)` on the
//!   routine's cancellation token;
//! - two routines in one group, stopped in order: with [`ShutdownOrder::ReverseStart`]
//!   the latest started (the HTTP server) drains first, then the metrics server stops;
//! - a routine that needs state is a closure around a plain `async fn` (the metrics
//!   server gets [`Rutina::watch_shutdown`] for its health endpoint); one that needs
//!   none can be a `#[rutina::routine]` item;
//! - `main` written by hand, rather than with `rutina::main!`, to install a `tracing`
//!   subscriber first and to hand state to a routine.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use rutina::{Context, Options, RunOptions, Rutina, ShutdownOrder};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The public server: `/` and `/slow?ms=N`. It drains when its context is cancelled.
#[rutina::routine(name = "http")]
async fn http_server(ctx: Context) -> std::io::Result<()> {
    let listener = TcpListener::bind(address("HTTP_PORT", 3000)?).await?;
    println!("http listening on http://{}", listener.local_addr()?);

    let app = Router::new()
        .route("/", get(|| async { "hello from rutina\n" }))
        .route("/slow", get(slow))
        .layer(middleware::from_fn(count_requests));

    // `with_graceful_shutdown` wants a `'static` future: an owned wait on the run's token.
    let shutdown = ctx.token().clone().cancelled_owned();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    tracing::info!("http server drained");
    Ok(())
}

/// The internal server: `/health` for probes and `/metrics`. `shutting_down` turns
/// `true` as soon as the group begins shutting down; this server's own context is
/// cancelled later, once the HTTP server has drained.
async fn metrics_server(ctx: Context, shutting_down: watch::Receiver<bool>) -> std::io::Result<()> {
    let listener = TcpListener::bind(address("METRICS_PORT", 3001)?).await?;
    println!("metrics listening on http://{}", listener.local_addr()?);

    let app = Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(shutting_down);
    axum::serve(listener, app).with_graceful_shutdown(ctx.token().clone().cancelled_owned()).await?;
    tracing::info!("metrics server stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(tracing::Level::INFO)
        .init();

    let rutina = Rutina::new(
        Options::default()
            .listen_os_signals(true) // SIGINT and SIGTERM start a graceful shutdown
            .shutdown_order(ShutdownOrder::ReverseStart) // the latest started stops first
            .shutdown_timeout(Duration::from_secs(30)), // each routine gets 30 s to stop
    );
    // Started first, stopped last: it answers probes while the HTTP server drains.
    let shutting_down = rutina.watch_shutdown();
    rutina.go_with(move |ctx| metrics_server(ctx, shutting_down.clone()), RunOptions::default().name("metrics"));
    rutina.go(http_server);

    match rutina.wait().await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "stopped with an error");
            ExitCode::FAILURE
        }
    }
}

// ----- the application ------------------------------------------------------------

/// Requests the public server has answered, and those it is answering now.
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

/// `GET /slow?ms=N`: answers after `N` milliseconds (default 1000, at most 60 000).
async fn slow(Query(params): Query<HashMap<String, u64>>) -> String {
    let ms = params.get("ms").copied().unwrap_or(1000).min(60_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms\n")
}

/// `GET /health`: 200 while serving, 503 once the group is shutting down.
async fn health(State(shutting_down): State<watch::Receiver<bool>>) -> (StatusCode, &'static str) {
    if *shutting_down.borrow() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else {
        (StatusCode::OK, "ready\n")
    }
}

/// `GET /metrics`, in the Prometheus text format.
async fn metrics() -> String {
    format!(
        "http_requests_total {}\nhttp_requests_in_flight {}\n",
        REQUESTS.load(Ordering::Relaxed),
        IN_FLIGHT.load(Ordering::Relaxed)
    )
}

/// Middleware of the public server: counts requests, and those in flight.
async fn count_requests(request: Request, next: Next) -> Response {
    struct InFlight;
    impl Drop for InFlight {
        fn drop(&mut self) {
            IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
            REQUESTS.fetch_add(1, Ordering::Relaxed);
        }
    }
    IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight;
    next.run(request).await
}

/// `$BIND_IP:$<port_var>`, with defaults; a malformed value is an error (which, returned
/// by a routine, stops the service with a message naming the variable).
fn address(port_var: &str, default_port: u16) -> std::io::Result<SocketAddr> {
    let ip = env_or("BIND_IP", IpAddr::V4(Ipv4Addr::LOCALHOST))?;
    let port = env_or(port_var, default_port)?;
    Ok(SocketAddr::new(ip, port))
}

fn env_or<T: std::str::FromStr>(var: &str, default: T) -> std::io::Result<T> {
    match std::env::var(var) {
        Ok(value) => value.parse().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{var}={value:?} is not valid"))
        }),
        Err(_) => Ok(default),
    }
}
