//! A throwaway PostgreSQL server for the tests against a real database
//! (`lease_postgres.rs`, `singleton_replicas.rs`, `examples.rs`): [`PostgresServer::start`] finds the server's binaries,
//! `initdb`s a temporary directory, and starts `postgres` on a free loopback port with
//! its Unix socket in that directory; dropping it stops the server and removes the
//! directory. As root (CI), the server runs as the `postgres` user, which PostgreSQL
//! requires.
//!
//! Missing binaries fail the test with what to install: a test against a real
//! database never passes without one.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The binaries a server needs.
const BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// A PostgreSQL server of a test's own, stopped and deleted when dropped.
pub struct PostgresServer {
    bindir: PathBuf,
    /// Holds `data/` (the cluster), `socket/` and `log`.
    dir: PathBuf,
    port: u16,
    /// Root runs the server as `postgres`.
    as_postgres: bool,
    running: bool,
}

impl PostgresServer {
    /// A fresh cluster, started. Panics with what to install when the server's binaries
    /// are missing, and with the server's log when it does not start.
    pub fn start() -> PostgresServer {
        let bindir = find_bindir();
        let as_postgres = is_root();
        let dir = temp_dir();
        std::fs::create_dir_all(dir.join("socket")).expect("create the server's directory");
        if as_postgres {
            let uid = id(&["-u", "postgres"]);
            let gid = id(&["-g", "postgres"]);
            for path in [dir.clone(), dir.join("socket")] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .unwrap_or_else(|error| panic!("chown {} to postgres: {error}", path.display()));
            }
        }
        let mut server = PostgresServer { bindir, dir, port: 0, as_postgres, running: false };
        let data = server.dir.join("data");
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "--no-sync".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        );
        // A free port can be taken between the probe and the server's bind: try again.
        for _ in 0..5 {
            server.port = free_port();
            if server.try_start() {
                return server;
            }
        }
        panic!("the PostgreSQL server did not start; its log:\n{}", server.log());
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (fast shutdown: connections are closed, data is kept).
    pub fn stop(&mut self) {
        let data = self.dir.join("data");
        self.run(
            "pg_ctl",
            &["-D".as_ref(), data.as_os_str(), "-m".as_ref(), "fast".as_ref(), "-w".as_ref(), "stop".as_ref()],
        );
        self.running = false;
    }

    /// Starts the stopped server again, on the same port, with the same data.
    pub fn restart(&mut self) {
        assert!(self.try_start(), "the PostgreSQL server did not start again; its log:\n{}", self.log());
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn try_start(&mut self) -> bool {
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        let options = format!(
            "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=16MB",
            self.port,
            self.dir.join("socket").display()
        );
        let output = self.command(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        );
        self.running = output.status.success();
        self.running
    }

    /// Runs a binary of the server's (as `postgres` when root); panics if it fails.
    fn run(&self, binary: &str, args: &[&std::ffi::OsStr]) {
        let output = self.command(binary, args);
        assert!(
            output.status.success(),
            "{binary} failed ({}):\n{}{}\nserver log:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
    }

    fn command(&self, binary: &str, args: &[&std::ffi::OsStr]) -> Output {
        let program = self.bindir.join(binary);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        // The server's working directory must be one `postgres` may enter.
        command.args(args).current_dir(&self.dir);
        command.output().unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.running {
            let data = self.dir.join("data");
            let _ = self.command(
                "pg_ctl",
                &["-D".as_ref(), data.as_os_str(), "-m".as_ref(), "immediate".as_ref(), "-w".as_ref(), "stop".as_ref()],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `initdb`, `pg_ctl` and `postgres` are: `$RUTINA_POSTGRES_BINDIR`,
/// `pg_config --bindir`, the newest `/usr/lib/postgresql/*/bin`, or `PATH`.
fn find_bindir() -> PathBuf {
    let has_all = |dir: &Path| BINARIES.iter().all(|binary| dir.join(binary).is_file());
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os("RUTINA_POSTGRES_BINDIR") {
        let dir = PathBuf::from(dir);
        assert!(has_all(&dir), "RUTINA_POSTGRES_BINDIR={} lacks one of {BINARIES:?}", dir.display());
        return dir;
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if has_all(&dir) {
            return dir;
        }
        tried.push(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.into_iter().rev().find(|(_, dir)| has_all(dir)) {
        return dir;
    }
    tried.push("/usr/lib/postgresql/*/bin".into());
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if has_all(&dir) {
            return dir;
        }
    }
    tried.push("$PATH".into());
    panic!(
        "the PostgreSQL server's binaries ({}) were not found (looked in {}): the lease tests need a real \
         server. Install it (Debian/Ubuntu: `apt-get install -y postgresql`; Fedora: `dnf install \
         postgresql-server`; macOS: `brew install postgresql`), or point RUTINA_POSTGRES_BINDIR at the \
         directory that holds them",
        BINARIES.join(", "),
        tried.iter().map(|dir| dir.display().to_string()).collect::<Vec<_>>().join(", ")
    );
}

fn is_root() -> bool {
    String::from_utf8_lossy(&Command::new("id").arg("-u").output().expect("`id` runs").stdout).trim() == "0"
}

/// `id <args>` as a number, for the `postgres` user (which must exist to run as root).
fn id(args: &[&str]) -> u32 {
    let output = Command::new("id").args(args).output().expect("`id` runs");
    assert!(
        output.status.success(),
        "running as root, the tests start PostgreSQL as the `postgres` user, which does not exist: install \
         the server from your distribution's packages (Debian: `apt-get install -y postgresql`), or run \
         the tests as an ordinary user"
    );
    String::from_utf8_lossy(&output.stdout).trim().parse().expect("`id` prints a number")
}

/// A new directory under the system's temporary directory, unique to this server.
fn temp_dir() -> PathBuf {
    static SERVERS: AtomicU32 = AtomicU32::new(0);
    let n = SERVERS.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("rutina-postgres-{}-{n}", std::process::id()))
}

/// A loopback port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("a bound socket has an address").port()
}
