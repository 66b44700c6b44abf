//! PostgreSQL servers that belong to one test: initialised into a temporary directory, listening
//! on a free loopback port, stopped and started at will. The shared server other tests use is
//! never touched. PostgreSQL refuses to run as root, so when the suite runs as root (CI) the
//! server runs as the `postgres` account, which owns the directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to install when PostgreSQL's server binaries are missing.
pub const INSTALL_HINT: &str = "apt-get install postgresql-15 (the tests need initdb and pg_ctl)";

/// The directory of PostgreSQL's server binaries: `LECTERN_TEST_PG_BIN`, or the newest
/// `/usr/lib/postgresql/*/bin` that has `initdb`.
pub fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("LECTERN_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!("no PostgreSQL server binaries under /usr/lib/postgresql: {INSTALL_HINT}"),
    }
}

pub fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// The uid and gid of the `postgres` account, from /etc/passwd.
fn postgres_account() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.first() == Some(&"postgres") && f.len() > 3).then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
        .and_then(|(u, g)| Some((u?, g?)))
        .expect("a postgres account (created by the postgresql package)")
}

/// Makes `path` (a directory the test created) the postgres account's, when running as root.
pub fn give_to_postgres(path: &Path) {
    if running_as_root() {
        let (uid, gid) = postgres_account();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to postgres");
    }
}

/// A command run as the postgres account when we are root, as ourselves otherwise.
pub fn as_postgres(program: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Runs a command to completion; panics with its output if it fails.
pub fn run(mut command: Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed ({}):\n{text}", out.status);
    text
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// One PostgreSQL server in a temporary directory, stopped (immediately) when dropped.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// More `-c name=value` settings for the server.
    settings: Vec<String>,
}

impl PgServer {
    /// `initdb`, then start. Trust authentication on loopback only; `fsync` off, because these
    /// tests kill PostgreSQL, not the machine: the operating system keeps what was written.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// As [`PgServer::start`], with more settings (`"log_statement=all"`).
    pub fn start_with(settings: &[&str]) -> Self {
        let bin = pg_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        give_to_postgres(dir.path());
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb.arg("-D").arg(dir.path().join("data")).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]);
        run(initdb, "initdb");
        let settings = settings.iter().map(|s| format!(" -c {s}")).collect();
        let server = Self { dir, bin, port: free_port(), settings };
        server.start_again();
        server
    }

    fn pg_ctl(&self) -> Command {
        let mut c = as_postgres(&self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.dir.path().join("data"));
        c
    }

    /// Starts the stopped server on the same port, waiting until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c max_connections=60{}",
            self.port,
            self.dir.path().display(),
            self.settings.concat()
        );
        let mut c = self.pg_ctl();
        c.arg("-l").arg(self.dir.path().join("server.log")).args(["-w", "-t", "60", "-o", &options, "start"]);
        run(c, "pg_ctl start");
    }

    /// An immediate stop: every backend is killed, no checkpoint, as in a crash of PostgreSQL.
    pub fn kill(&self) {
        let mut c = self.pg_ctl();
        c.args(["-m", "immediate", "-w", "stop"]);
        run(c, "pg_ctl stop -m immediate");
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new database on this server; returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        use diesel::{Connection, RunQueryDsl};
        let mut admin = diesel::PgConnection::establish(&self.url("postgres")).expect("admin connection");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create database");
        self.url(name)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let mut c = self.pg_ctl();
        c.args(["-m", "immediate", "stop"]);
        let _ = c.output();
    }
}
