//! # 09 · Singleton routines: a cron job for a fleet
//!
//! A service runs as several identical replicas, yet some of its work must be done by
//! one of them at a time: the report made every few minutes must be made once, not once
//! per replica. `singleton = "key"` runs a routine only in the replica that holds the
//! lease named `key`; in every other replica the routine stands by, and takes over when
//! the holder goes away. The leases live in a PostgreSQL database that every replica
//! shares (`rutina::lease::Postgres`, feature `postgres`; it creates its table,
//! `rutina_leases`, itself).
//!
//! | routine | options | where it runs |
//! |---|---|---|
//! | `report` | `cron = "*/5 * * * * *"`, `singleton = "report"` | every 5 s, in one replica |
//! | `status` | `every = "5s"` | in every replica: tells whether `report` runs here |
//!
//! Run two replicas against one database, each in a terminal of its own:
//!
//! ```sh
//! export DATABASE_URL=postgres://postgres@localhost/postgres   # any database you may create a table in
//! cargo run --example singleton    # replica 1
//! cargo run --example singleton    # replica 2
//! ```
//!
//! What to watch:
//!
//! - One replica prints `report: made in process <pid> with fencing token <n>` every 5 s;
//!   the other prints `status: report stands by, waiting for its lease`.
//! - Ctrl-C the replica that reports: it releases the lease as it stops, and the other
//!   one reports from the next tick on, with a greater fencing token.
//! - `kill -9` it instead: nothing is released, so the other takes over once the lease
//!   has expired, within its TTL (5 s here) and a standby's retry (TTL/4); a tick may be
//!   missed meanwhile.
//! - `kill -STOP` it for more than 5 s: the other takes over. `kill -CONT` it: it finds
//!   that its lease was lost while it was frozen, and stands by.
//! - `psql "$DATABASE_URL" -c 'SELECT * FROM rutina_leases'`: who holds the lease, with
//!   its fencing token and when it expires (by the database's clock).
//!
//! Without `DATABASE_URL`, or with a database that cannot be reached, it exits with 1 and
//! says why. rutina logs what the lease does (acquired, standing by, lost, released) on
//! stderr.

use std::io::IsTerminal as _;
use std::time::Duration;

use rutina::lease::Postgres;
use rutina::{BoxError, Context, RoutineState};

/// rutina's logs (the lease's comings and goings among them) on stderr.
fn init_logging() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(tracing::Level::INFO)
        .try_init()
}

/// The lease backend every replica shares. A short TTL, for the demonstration: a replica
/// that dies is replaced within about 5 s. (The default is 15 s.)
async fn make_lease() -> Result<Postgres, BoxError> {
    let url = std::env::var("DATABASE_URL").map_err(|_| {
        "DATABASE_URL is not set: point it at the PostgreSQL database the replicas share, \
         e.g. postgres://postgres@localhost/postgres"
    })?;
    Ok(Postgres::connect(&url).await?.ttl(Duration::from_secs(5)))
}

/// The fleet's cron job: at every fifth second (UTC), in the one replica that holds the
/// lease `report`. A real one would be `cron = "0 0 3 * * *"` (03:00 every night).
///
/// Its fencing token grows with every acquisition of the lease: a write guarded by it
/// (`UPDATE reports SET .. WHERE fence <= $token`, then store the token) is rejected
/// when it comes from a replica that lost the lease and has not stopped yet.
#[rutina::routine(cron = "*/5 * * * * *", singleton = "report", on_error = Restart, timeout = "4s")]
async fn report(ctx: Context) -> anyhow::Result<()> {
    let token = ctx.fencing_token().unwrap_or_default();
    println!("report: made in process {} with fencing token {token}", std::process::id());
    Ok(())
}

/// Runs in every replica: whether `report` runs here, or stands by.
#[rutina::routine(every = "5s")]
async fn status(ctx: Context) -> anyhow::Result<()> {
    let routines = ctx.monitor().status();
    match routines.iter().find(|routine| routine.name == "report").map(|routine| routine.state) {
        Some(RoutineState::Standby) => println!("status: report stands by, waiting for its lease"),
        Some(_) => println!("status: report runs here; this replica holds its lease"),
        None => println!("status: report has ended"),
    }
    Ok(())
}

rutina::main! {
    setup: init_logging,
    lease: make_lease,
    routines: [report, status],
    shutdown_timeout: "10s",
}
