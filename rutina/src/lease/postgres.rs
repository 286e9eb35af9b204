//! [`Postgres`]: the PostgreSQL lease backend (feature `postgres`), on `tokio-postgres`.
//!
//! Its design, and why it survives a lost connection, a paused process and a restart of
//! the database, is told on [`Postgres`] itself, where users read it.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::Lease;

/// A [`Lease`] backend on a PostgreSQL database (feature `postgres`): one table, one
/// row per key, every operation a single atomic statement.
///
/// ```no_run
/// use std::time::Duration;
/// use rutina::lease::Postgres;
///
/// # #[tokio::main] async fn main() -> Result<(), rutina::BoxError> {
/// let lease = Postgres::connect("postgres://app@db.internal/app").await?.ttl(Duration::from_secs(10));
/// # let _ = lease; Ok(()) }
/// ```
///
/// Every replica connects to the same database. The URL is what `tokio-postgres`
/// accepts (`postgres://user:password@host:port/dbname?options`, or `key=value` pairs);
/// without a `connect_timeout` in it, connecting gives up after 10 s. The connection is
/// not encrypted (TLS is not supported yet): use a Unix socket, a private network or a
/// TLS-terminating proxy. Clones share one connection.
///
/// # What it creates
///
/// On first use, in the first schema of the connection's `search_path`, if it does not
/// exist yet (safe when many replicas start at once: creators take turns under a
/// transaction-level advisory lock; a user without `CREATE` rights works once the table
/// exists):
///
/// ```sql
/// CREATE TABLE rutina_leases (
///     key           text        PRIMARY KEY,
///     holder        text        NOT NULL,  -- host:pid:random of the keeper
///     fencing_token bigint      NOT NULL CHECK (fencing_token > 0),
///     expires_at    timestamptz NOT NULL,  -- by the database's clock
///     acquired_at   timestamptz NOT NULL,
///     renewed_at    timestamptz NOT NULL
/// );
/// ```
///
/// `SELECT * FROM rutina_leases` tells who holds what. Never delete its rows: a row
/// keeps its key's fencing token, which must keep growing.
///
/// # Design
///
/// - **Acquire** is one `INSERT .. ON CONFLICT (key) DO UPDATE .. WHERE
///   expires_at <= now() OR holder = $holder RETURNING fencing_token`, which sets the
///   holder, increments the token and sets `expires_at = now() + ttl`. PostgreSQL runs
///   it atomically under the row's lock: of two replicas racing for a free key, the
///   second sees the first's row and gets no row back (`Ok(None)`).
/// - **Renew** is `UPDATE .. SET expires_at = now() + ttl WHERE key, holder,
///   fencing_token match AND expires_at > now()`: an expired lease is never extended,
///   even if nobody took it since.
/// - **Release** sets `expires_at = now()` on the same condition: the row (and its
///   token) stays, the lease is free at once.
/// - **Expiry is measured by the database's clock only** (`now()`, the statement's
///   start). Replicas never compare their clocks with each other or with the database:
///   each holder only measures a duration on its own monotonic clock (see
///   [`Lease`]'s contract).
/// - **No session state.** Each operation is a single autocommit statement; nothing
///   depends on the connection staying up. So a **lost connection** costs nothing but
///   a reconnection, made by the next call (every call is bounded by TTL/5; after an
///   error or a timeout the connection is dropped and the next call opens a new one,
///   so a standby, trying every TTL/4, is connected again within the TTL of the database
///   coming back). A **paused process** finds, when it resumes, that its deadline has
///   passed (it stops its run) and that its lease expired or was taken (its renewal
///   fails). A **database restart** keeps the rows (an ordinary, logged table: tokens
///   survive crashes) and each replica reconnects.
///
/// Session-level advisory locks (`pg_try_advisory_lock`) were rejected: they live as
/// long as a connection, so a lost connection drops the lock without telling its
/// holder in time, a half-open TCP connection or a paused process keeps it for minutes,
/// and they carry no fencing token.
///
/// # Limits
///
/// - **The database's clock must not jump forward.** `now()` is wall-clock time: a step
///   of S seconds forward shortens every lease in force by S. Let NTP slew rather than
///   step (chrony and ntpd do for small offsets), and keep the margin larger than any
///   step you expect. Its *rate* must match the replicas' clocks (any real clock does,
///   to far better than the margin).
/// - **Failover.** A replica of the database promoted after an asynchronous replication
///   lag may have lost the latest grants: two holders, and a token seen twice. Use
///   synchronous replication for the lease table's database, or accept it. (The backend
///   turns `synchronous_commit` from `off` to `on` for its session, so that a crash of a
///   single server never forgets a grant it confirmed.)
/// - **Writes that outlive the lease.** A run cancelled because its lease was lost may
///   still have writes in flight; guard them with the fencing token (the module docs
///   show how).
#[derive(Clone)]
pub struct Postgres {
    inner: Arc<Inner>,
    ttl: Duration,
}

/// What the clones of one [`Postgres`] share.
///
/// `conn` is the connection in use, if any. Calls clone the `Arc` out and release the
/// lock at once: it is never held across an `.await`. A call that fails drops the
/// connection it used (if it is still the current one); the next call opens another.
struct Inner {
    config: Config,
    /// `user@host:port/dbname`, for messages (never the password).
    target: String,
    conn: Mutex<Option<Arc<Conn>>>,
}

/// One open connection and its prepared statements. Dropping it ends the connection.
struct Conn {
    client: Client,
    acquire: Statement,
    renew: Statement,
    release: Statement,
    _task: AbortOnDrop,
}

/// The task driving a connection, aborted when the connection is dropped (a hung
/// connection would otherwise linger until the operating system gives up on it).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

const DEFAULT_TTL: Duration = Duration::from_secs(15);
const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Serializes the creation of the table among replicas starting together.
const SCHEMA_LOCK: i64 = 0x7275_7469_6e61; // "rutina"

const TABLE_EXISTS: &str = "SELECT to_regclass('rutina_leases') IS NOT NULL";

const CREATE_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS rutina_leases (
    key           text        PRIMARY KEY,
    holder        text        NOT NULL,
    fencing_token bigint      NOT NULL CHECK (fencing_token > 0),
    expires_at    timestamptz NOT NULL,
    acquired_at   timestamptz NOT NULL,
    renewed_at    timestamptz NOT NULL
)";

const SYNCHRONOUS_COMMIT: &str =
    "SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'";

/// `$1` key, `$2` holder, `$3` TTL in milliseconds.
const ACQUIRE: &str = "\
INSERT INTO rutina_leases AS lease (key, holder, fencing_token, expires_at, acquired_at, renewed_at)
VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond', now(), now())
ON CONFLICT (key) DO UPDATE
SET holder = excluded.holder,
    fencing_token = lease.fencing_token + 1,
    expires_at = excluded.expires_at,
    acquired_at = excluded.acquired_at,
    renewed_at = excluded.renewed_at
WHERE lease.expires_at <= now() OR lease.holder = excluded.holder
RETURNING lease.fencing_token";

/// `$1` key, `$2` holder, `$3` fencing token, `$4` TTL in milliseconds.
const RENEW: &str = "\
UPDATE rutina_leases
SET expires_at = now() + $4::bigint * interval '1 millisecond', renewed_at = now()
WHERE key = $1 AND holder = $2 AND fencing_token = $3 AND expires_at > now()";

/// `$1` key, `$2` holder, `$3` fencing token.
const RELEASE: &str = "\
UPDATE rutina_leases
SET expires_at = now()
WHERE key = $1 AND holder = $2 AND fencing_token = $3 AND expires_at > now()";

impl Postgres {
    /// Connects to the database at `url` and creates the lease table if it does not
    /// exist. The TTL is 15 s; change it with [`ttl`](Postgres::ttl).
    ///
    /// Fails with a message naming the database (never its password) when the URL is
    /// invalid, the database cannot be reached or refuses the login, or the table
    /// cannot be created.
    pub async fn connect(url: &str) -> Result<Postgres, PostgresError> {
        let mut config =
            Config::from_str(url).map_err(|error| PostgresError::new("invalid lease database URL", error))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("rutina");
        }
        let target = describe(&config);
        let postgres = Postgres { inner: Arc::new(Inner { config, target, conn: Mutex::new(None) }), ttl: DEFAULT_TTL };
        let conn = match timeout(CONNECT_TIMEOUT, postgres.open()).await {
            Ok(conn) => conn?,
            Err(_) => {
                return Err(PostgresError::message(format!(
                    "cannot connect to the lease database {}: no answer within {CONNECT_TIMEOUT:?}",
                    postgres.inner.target
                )));
            }
        };
        *lock(&postgres.inner.conn) = Some(conn);
        Ok(postgres)
    }

    /// Sets the TTL of the leases this backend grants (15 s by default), rounded up to
    /// whole milliseconds, at least 1 ms and at most a day. Every replica should use
    /// the same.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Postgres {
        let millis = ttl.as_nanos().div_ceil(1_000_000).max(1);
        self.ttl = Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX)).min(MAX_TTL);
        self
    }

    fn ttl_millis(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// The bound of one call: below the keeper's (TTL/4), so that the backend notices
    /// a hung connection, and drops it, before the keeper gives up on the call.
    fn call_timeout(&self) -> Duration {
        (self.ttl / 5).max(Duration::from_millis(1))
    }

    /// Opens a connection, creates the table if need be and prepares the statements.
    async fn open(&self) -> Result<Arc<Conn>, PostgresError> {
        let target = &self.inner.target;
        let (mut client, connection) = self
            .inner
            .config
            .connect(NoTls)
            .await
            .map_err(|error| PostgresError::new(format!("cannot connect to the lease database {target}"), error))?;
        let task = AbortOnDrop(tokio::spawn({
            let target = target.clone();
            async move {
                if let Err(error) = connection.await {
                    tracing::debug!(target: "rutina", database = %target, error = %render(&error), "lease database connection lost");
                }
            }
        }));
        let exists: bool =
            client.query_one(TABLE_EXISTS, &[]).await.and_then(|row| row.try_get(0)).map_err(|error| {
                PostgresError::new(format!("cannot read the schema of the lease database {target}"), error)
            })?;
        if !exists {
            let created = async {
                let transaction = client.transaction().await?;
                transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await?;
                transaction.batch_execute(CREATE_TABLE).await?;
                transaction.commit().await
            };
            created.await.map_err(|error| {
                PostgresError::new(
                    format!("cannot create the table `rutina_leases` in the lease database {target}"),
                    error,
                )
            })?;
        }
        let prepared = async {
            client.execute(SYNCHRONOUS_COMMIT, &[]).await?;
            Ok((client.prepare(ACQUIRE).await?, client.prepare(RENEW).await?, client.prepare(RELEASE).await?))
        };
        let (acquire, renew, release) = prepared.await.map_err(|error| {
            PostgresError::new(format!("cannot prepare the lease statements in the lease database {target}"), error)
        })?;
        Ok(Arc::new(Conn { client, acquire, renew, release, _task: task }))
    }

    /// The current connection, or a new one.
    async fn conn(&self) -> Result<Arc<Conn>, PostgresError> {
        if let Some(conn) = lock(&self.inner.conn).as_ref().filter(|conn| !conn.client.is_closed()) {
            return Ok(Arc::clone(conn));
        }
        let fresh = self.open().await?;
        let mut current = lock(&self.inner.conn);
        match &*current {
            // Another call reconnected meanwhile: use its connection, drop ours.
            Some(conn) if !conn.client.is_closed() => Ok(Arc::clone(conn)),
            _ => {
                tracing::info!(target: "rutina", database = %self.inner.target, "connected to the lease database");
                *current = Some(Arc::clone(&fresh));
                Ok(fresh)
            }
        }
    }

    /// Drops `conn` if it is still the current connection.
    fn discard(&self, conn: &Arc<Conn>) {
        let mut current = lock(&self.inner.conn);
        if current.as_ref().is_some_and(|current| Arc::ptr_eq(current, conn)) {
            *current = None;
        }
    }

    /// Runs `query` on the current connection (or a new one), all within the call's
    /// bound; drops the connection after a failure, so that the next call reconnects.
    async fn call<T, F, Fut>(&self, what: &str, query: F) -> Result<T, PostgresError>
    where
        F: FnOnce(Arc<Conn>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let bound = self.call_timeout();
        let deadline = Instant::now() + bound;
        let target = &self.inner.target;
        let conn = match timeout_at(deadline, self.conn()).await {
            Ok(conn) => conn?,
            Err(_) => {
                return Err(PostgresError::message(format!(
                    "cannot connect to the lease database {target}: no answer within {bound:?}"
                )));
            }
        };
        match timeout_at(deadline, query(Arc::clone(&conn))).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                self.discard(&conn);
                Err(PostgresError::new(format!("cannot {what} in the lease database {target}"), error))
            }
            Err(_) => {
                self.discard(&conn);
                Err(PostgresError::message(format!(
                    "cannot {what} in the lease database {target}: no answer within {bound:?}"
                )))
            }
        }
    }
}

impl Lease for Postgres {
    type Error = PostgresError;

    fn time_to_live(&self) -> Duration {
        self.ttl
    }

    async fn acquire(&self, key: &str, holder: &str) -> Result<Option<u64>, PostgresError> {
        let ttl = self.ttl_millis();
        let token = self
            .call("acquire the lease", |conn| async move {
                match conn.client.query_opt(&conn.acquire, &[&key, &holder, &ttl]).await? {
                    Some(row) => row.try_get::<_, i64>(0).map(Some),
                    None => Ok(None),
                }
            })
            .await?;
        match token.map(u64::try_from) {
            None => Ok(None),
            Some(Ok(token)) => Ok(Some(token)),
            Some(Err(_)) => Err(PostgresError::message(format!(
                "the lease database {} returned a negative fencing token for {key:?}",
                self.inner.target
            ))),
        }
    }

    async fn renew(&self, key: &str, holder: &str, fencing_token: u64) -> Result<bool, PostgresError> {
        // A token beyond `bigint` was never granted by this backend.
        let Ok(token) = i64::try_from(fencing_token) else { return Ok(false) };
        let ttl = self.ttl_millis();
        let renewed = self
            .call("renew the lease", |conn| async move {
                conn.client.execute(&conn.renew, &[&key, &holder, &token, &ttl]).await
            })
            .await?;
        Ok(renewed == 1)
    }

    async fn release(&self, key: &str, holder: &str, fencing_token: u64) -> Result<(), PostgresError> {
        let Ok(token) = i64::try_from(fencing_token) else { return Ok(()) };
        self.call("release the lease", |conn| async move {
            conn.client.execute(&conn.release, &[&key, &holder, &token]).await
        })
        .await?;
        Ok(())
    }
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres").field("database", &self.inner.target).field("ttl", &self.ttl).finish()
    }
}

/// Why the [`Postgres`] lease backend failed: the database could not be reached, or
/// refused a statement, or did not answer in time. Its message names the database
/// (never its password) and what was being done; [`source`](StdError::source) is the
/// `tokio-postgres` error, when there is one.
#[derive(Debug)]
pub struct PostgresError {
    message: String,
    source: Option<tokio_postgres::Error>,
}

impl PostgresError {
    fn new(context: impl fmt::Display, error: tokio_postgres::Error) -> PostgresError {
        PostgresError { message: format!("{context}: {}", render(&error)), source: Some(error) }
    }

    fn message(message: String) -> PostgresError {
        PostgresError { message, source: None }
    }
}

impl fmt::Display for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for PostgresError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_ref().map(|error| error as _)
    }
}

/// A `tokio-postgres` error with its causes (its `Display` alone says "db error").
fn render(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

/// `user@host:port/dbname`, from what the URL gave.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let host = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            let port = config.get_ports().get(index).or_else(|| config.get_ports().first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let hosts = if hosts.is_empty() { "localhost:5432".to_owned() } else { hosts.join(",") };
    let user = config.get_user().map(|user| format!("{user}@")).unwrap_or_default();
    let dbname = config.get_dbname().or(config.get_user()).unwrap_or("postgres");
    format!("{user}{hosts}/{dbname}")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_database_without_its_password() {
        let config = Config::from_str("postgres://app:secret@db.internal:6543/billing").unwrap();
        assert_eq!(describe(&config), "app@db.internal:6543/billing");
        let config = Config::from_str("host=/run/postgresql user=app").unwrap();
        assert_eq!(describe(&config), "app@/run/postgresql:5432/app");
    }

    #[tokio::test]
    async fn the_ttl_is_whole_milliseconds_between_1_ms_and_a_day() {
        let inner = Arc::new(Inner { config: Config::new(), target: String::new(), conn: Mutex::new(None) });
        let postgres = Postgres { inner, ttl: DEFAULT_TTL };
        assert_eq!(Lease::time_to_live(&postgres), Duration::from_secs(15));
        assert_eq!(Lease::time_to_live(&postgres.clone().ttl(Duration::from_micros(2500))), Duration::from_millis(3));
        assert_eq!(Lease::time_to_live(&postgres.clone().ttl(Duration::ZERO)), Duration::from_millis(1));
        assert_eq!(Lease::time_to_live(&postgres.clone().ttl(Duration::MAX)), MAX_TTL);
        assert_eq!(postgres.ttl(Duration::from_secs(2)).ttl_millis(), 2000);
    }
}
