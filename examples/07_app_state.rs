//! # 07 · Application state: a pool, a configuration, a consumer and a periodic job
//!
//! Real routines need things — a database pool, a queue client, their configuration —
//! made once at start-up and shared. With `rutina::main!`, `state: App::connect` names
//! the fn that makes them (here an `async fn` that can fail), and each routine takes what
//! it needs as parameters after its `Context`: `#[derive(rutina::FromRef)]` on `App`
//! gives each field's type to the routines, and every run gets fresh clones (cheap
//! handles around shared insides). No `static`, no `Arc<Mutex<App>>` passed by hand.
//!
//! | routine | declared with | what it does |
//! |---|---|---|
//! | `consumer` | `on_error = Restart`, `backoff = "100ms..5s"`, `heartbeat = "1s"` | takes a connection from the pool (the database refuses them for its first 300 ms), stores each order from the queue, beats its heartbeat per order; when the broker goes silent the run is hung, dropped, and restarted |
//! | `report` | `every = "2s"`, `timeout = "500ms"`, `grace_period = "1s"`, `on_error = Restart` | counts the orders stored; a failed run (no connection) and a slow one (timed out) wait for the next tick |
//! | `deadline` | `on_done = Shutdown` | ends the demo after `RUN_FOR` (default 5 s) |
//!
//! ```sh
//! cargo run --example app_state    # about 5 s; exits with status 0
//! ```
//!
//! What to notice in the output (stdout; rutina's own logs on stderr):
//!
//! - the consumer's first runs fail to connect, and are restarted after growing delays;
//! - the report's first run fails too, and does not retry before its next tick;
//! - when the broker goes silent the consumer stops beating: after 1 s without a
//!   heartbeat the run is hung, and since it does not watch its context it is dropped at
//!   once (its connection goes back to the pool as it is dropped), then restarted;
//! - the report's second run takes longer than its timeout: it is cancelled and says why
//!   ([`Context::cancel_reason`]);
//! - at the end the consumer drains: it is cancelled between two orders and returns.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rutina::{BoxError, Context};
use tokio::time::{Instant, sleep};

rutina::main! {
    setup: init_logging,
    state: App::connect,
    routines: [consumer, report, deadline],
    shutdown_timeout: "5s",
}

/// Stores the orders from the queue. A run that cannot connect fails and is restarted
/// after an exponential backoff; a run that stops beating for 1 s is hung: cancelled,
/// dropped (it has no grace period), and restarted the same way.
#[rutina::routine(on_error = Restart, backoff = "100ms..5s", heartbeat = "1s")]
async fn consumer(ctx: Context, db: Db, queue: Queue, config: Arc<Config>) -> anyhow::Result<()> {
    let run = ctx.attempt();
    let mut conn = match db.get().await {
        Ok(conn) => conn,
        Err(error) => {
            println!("consumer: run {run}: cannot connect: {error}");
            return Err(error.into());
        }
    };
    println!("consumer: run {run}: connected; consuming `{}`", config.queue);
    loop {
        let order = tokio::select! {
            _ = ctx.cancelled() => break,
            order = queue.receive() => order,
        };
        let Some(order) = order else {
            // The broker went silent: no order, no heartbeat. This run ignores its
            // context here, as a client wedged on a dead connection does.
            println!("consumer: run {run}: the broker went silent");
            let _dropped = Announce(format!("consumer: run {run} was dropped: hung, no heartbeat for 1s"));
            match std::future::pending::<std::convert::Infallible>().await {}
        };
        conn.insert(order);
        ctx.heartbeat(); // alive: one more order handled
        if order <= 3 {
            println!("consumer: stored order #{order}");
        }
    }
    println!("consumer: run {run}: drained; {} orders stored in all", conn.count());
    Ok(())
}

/// Counts the orders stored, every two seconds. Each run is bounded by its timeout, then
/// gets a grace period of 1 s to return before it is dropped; a run that fails waits for
/// the next tick (a schedule does not back off).
#[rutina::routine(every = "2s", timeout = "500ms", grace_period = "1s", on_error = Restart)]
async fn report(ctx: Context, db: Db) -> anyhow::Result<()> {
    let run = ctx.attempt();
    let conn = match db.get().await {
        Ok(conn) => conn,
        Err(error) => {
            println!("report: run {run}: cannot connect: {error}");
            return Err(error.into());
        }
    };
    if run == 2 {
        println!("report: run {run}: the query is slow today...");
        tokio::select! {
            _ = ctx.cancelled() => {
                // Cancelled by its timeout: the run is a failure whatever it returns.
                println!("report: run {run} cancelled: {:?}", ctx.cancel_reason());
                return Ok(());
            }
            _ = sleep(Duration::from_secs(2)) => {}
        }
    }
    println!("report: run {run}: {} orders stored; {}", conn.count(), db.stats());
    Ok(())
}

/// Ends the demo: `on_done = Shutdown` turns its `Ok` into a group shutdown.
#[rutina::routine(on_done = Shutdown)]
async fn deadline(ctx: Context, config: Arc<Config>) -> anyhow::Result<()> {
    tokio::select! {
        _ = ctx.cancelled() => return Ok(()),
        _ = sleep(config.run_for) => {}
    }
    println!("deadline: {} are up; shutting down", humantime::format_duration(config.run_for));
    Ok(())
}

/// `setup`: rutina's logs (failures, restarts, the hung run) on stderr.
fn init_logging() -> Result<(), BoxError> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).try_init()
}

// ----- the state ------------------------------------------------------------------

/// What the routines are configured with, shared read-only.
#[derive(Debug)]
struct Config {
    queue: String,
    run_for: Duration,
}

/// The application state: one field per thing a routine may ask for.
#[derive(Clone, rutina::FromRef)]
struct App {
    db: Db,
    queue: Queue,
    config: Arc<Config>,
}

impl App {
    /// `state`: once, inside the runtime, before any routine. An error here (a
    /// malformed `RUN_FOR`) ends the program with status 1, no routine started.
    async fn connect() -> anyhow::Result<App> {
        let run_for = match std::env::var("RUN_FOR") {
            Ok(value) => humantime::parse_duration(&value).map_err(|e| anyhow::anyhow!("RUN_FOR={value:?}: {e}"))?,
            Err(_) => Duration::from_secs(5),
        };
        let config = Config { queue: "orders".to_owned(), run_for };
        // The database comes up 300 ms from now: connections before that are refused.
        let db = Db::new(Instant::now() + Duration::from_millis(300));
        // The broker goes silent once, after the 15th order.
        let queue = Queue::new(15);
        Ok(App { db, queue, config: Arc::new(config) })
    }
}

/// A pool of database connections, simulated: a handle (`Clone`, cheap) around the
/// shared pool. Connecting takes 10 ms and is refused while the database is down.
#[derive(Clone)]
struct Db {
    pool: Arc<Mutex<Pool>>,
}

struct Pool {
    idle: Vec<Connection>,
    opened: u32,
    in_use: u32,
    up_at: Instant,
    /// The table the orders go to.
    orders: Vec<u64>,
}

struct Connection;

/// A connection taken from the pool; it goes back when dropped.
struct PooledConnection {
    conn: Option<Connection>,
    db: Db,
}

impl Db {
    fn new(up_at: Instant) -> Db {
        let pool = Pool { idle: Vec::new(), opened: 0, in_use: 0, up_at, orders: Vec::new() };
        Db { pool: Arc::new(Mutex::new(pool)) }
    }

    /// The pool, locked (never across an `.await`).
    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle connection, or a new one.
    async fn get(&self) -> std::io::Result<PooledConnection> {
        let (idle, up_at) = {
            let mut pool = self.lock();
            (pool.idle.pop(), pool.up_at)
        };
        let conn = match idle {
            Some(conn) => conn,
            None => {
                sleep(Duration::from_millis(10)).await; // the handshake
                if Instant::now() < up_at {
                    return Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
                }
                self.lock().opened += 1;
                Connection
            }
        };
        self.lock().in_use += 1;
        Ok(PooledConnection { conn: Some(conn), db: self.clone() })
    }

    fn stats(&self) -> String {
        let pool = self.lock();
        format!("pool: {} opened, {} in use, {} idle", pool.opened, pool.in_use, pool.idle.len())
    }
}

impl PooledConnection {
    fn insert(&mut self, order: u64) {
        self.db.lock().orders.push(order);
    }

    fn count(&self) -> usize {
        self.db.lock().orders.len()
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let mut pool = self.db.lock();
        pool.in_use -= 1;
        pool.idle.extend(self.conn.take());
    }
}

/// A message queue, simulated: an order every 100 ms; once, after `silent_after`
/// orders, the broker goes silent (`receive` returns `None`).
#[derive(Clone)]
struct Queue {
    next: Arc<Mutex<(u64, Option<u64>)>>,
}

impl Queue {
    fn new(silent_after: u64) -> Queue {
        Queue { next: Arc::new(Mutex::new((1, Some(silent_after)))) }
    }

    async fn receive(&self) -> Option<u64> {
        sleep(Duration::from_millis(100)).await;
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let (order, silent_after) = &mut *next;
        if silent_after.is_some_and(|after| *order > after) {
            *silent_after = None; // only once
            return None;
        }
        *order += 1;
        Some(*order - 1)
    }
}

/// Prints its line when dropped: how a run that is dropped mid-way (aborted) shows.
struct Announce(String);

impl Drop for Announce {
    fn drop(&mut self) {
        println!("{}", self.0);
    }
}
