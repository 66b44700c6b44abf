//! The highly available shape: a pg_auto_failover formation (monitor, primary, synchronous
//! standby) started with the operator's own scripts from `deploy/ha/`, each process on a
//! loopback port, and Lectern on the formation's multi-host URL. The primary (its keeper and
//! PostgreSQL) is killed while students submit; the standby takes over.

use crate::helpers::{TestDb, spawn_on};
use crate::load::{Classroom, SubmissionLoad, count, first_success_after, verify_stored};
use crate::own_postgres::{as_postgres, free_port, give_to_postgres, pg_bin, running_as_root};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to install when the formation cannot start.
pub const INSTALL_HINT: &str = "apt-get install postgresql-15 postgresql-15-auto-failover pg-auto-failover-cli";

/// The longest the first write after the primary's death may take (docs/operations.md).
pub const FAILOVER_BUDGET: Duration = Duration::from_secs(10);

/// One process of the formation: its name, its port, and the process group it runs in.
struct Member {
    name: String,
    port: u16,
    child: Child,
}

/// A running formation in a temporary directory; every process is stopped when dropped.
pub struct Formation {
    root: tempfile::TempDir,
    monitor_port: u16,
    members: Vec<Member>,
}

fn missing_packages() -> Option<String> {
    let bin = std::panic::catch_unwind(pg_bin).ok()?;
    let has_cli = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("pg_autoctl").exists()))
        .unwrap_or(false);
    let has_extension = bin.parent().is_some_and(|v| v.join("lib/pgautofailover.so").exists());
    (!has_cli || !has_extension)
        .then(|| format!("pg_autoctl or the pgautofailover extension is missing: {INSTALL_HINT}"))
}

impl Formation {
    /// Monitor, then the first node (it becomes the primary), then the second (its standby);
    /// returns once the monitor reports `primary` and `secondary`.
    pub fn start() -> Self {
        if let Some(missing) = missing_packages() {
            panic!("{missing}");
        }
        if running_as_root() {
            // Debian's PostgreSQL puts its Unix sockets here; the packaged server's start-up
            // usually creates it, a fresh container may not have it yet.
            let run = Path::new("/var/run/postgresql");
            if !run.exists() {
                std::fs::create_dir_all(run).unwrap();
            }
            give_to_postgres(run);
        }
        let root = tempfile::tempdir().unwrap();
        give_to_postgres(root.path());
        // The scripts run as the postgres account, which may not see the checkout: copy them.
        let scripts = root.path().join("scripts");
        std::fs::create_dir(&scripts).unwrap();
        for file in ["ha.env", "monitor.sh", "node.sh"] {
            std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/ha").join(file), scripts.join(file))
                .unwrap();
        }
        give_to_postgres(&scripts);
        let mut formation = Self { monitor_port: free_port(), root, members: Vec::new() };
        formation.spawn("monitor", "monitor.sh", formation.monitor_port);
        let start = Instant::now();
        while diesel::Connection::establish(&formation.monitor_url()).map(|_: diesel::PgConnection| ()).is_err() {
            assert!(start.elapsed() < Duration::from_secs(60), "the monitor did not start\n{}", formation.logs());
            std::thread::sleep(Duration::from_millis(100));
        }
        // The first node to register becomes the primary; the standby joins it afterwards.
        formation.spawn("node1", "node.sh", free_port());
        formation.until(
            "node1 to run alone",
            Duration::from_secs(120),
            |states| matches!(states, [(_, s)] if s == "single" || s == "wait_primary"),
        );
        formation.spawn("node2", "node.sh", free_port());
        formation.until("node2 to follow node1", Duration::from_secs(120), |states| {
            states.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>() == ["primary", "secondary"]
        });
        formation
    }

    fn spawn(&mut self, name: &str, script: &str, port: u16) {
        let log = std::fs::File::create(self.root.path().join(format!("{name}.log"))).unwrap();
        let mut cmd = as_postgres(Path::new("env"));
        cmd.arg(format!("HA_ROOT={}", self.root.path().display()))
            .arg(format!("PG_BINDIR={}", pg_bin().display()))
            .arg(format!("MONITOR_PORT={}", self.monitor_port))
            .arg(format!("NODE_NAME={name}"))
            .arg(format!("NODE_PORT={port}"))
            .arg(self.root.path().join("scripts").join(script))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Its own process group, so that killing it reaches PostgreSQL and every backend.
            .process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {script}: {e}"));
        self.members.push(Member { name: name.to_owned(), port, child });
    }

    fn monitor_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/pg_auto_failover?connect_timeout=2", self.monitor_port)
    }

    fn port_of(&self, name: &str) -> u16 {
        self.members.iter().find(|m| m.name == name).map(|m| m.port).unwrap()
    }

    /// `(node name, reported state)` of the data nodes, from the monitor; empty while it is down.
    pub fn states(&self) -> Vec<(String, String)> {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            nodename: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            reportedstate: String,
        }
        let url = self.monitor_url();
        let Ok(mut conn) = diesel::PgConnection::establish(&url) else { return Vec::new() };
        diesel::sql_query(
            "SELECT nodename, reportedstate::text AS reportedstate FROM pgautofailover.node ORDER BY nodeid",
        )
        .load::<Row>(&mut conn)
        .map(|rows| rows.into_iter().map(|r| (r.nodename, r.reportedstate)).collect())
        .unwrap_or_default()
    }

    /// Polls the monitor (every 100 ms) until `done` holds; panics with the logs after `limit`.
    pub fn until(&self, what: &str, limit: Duration, done: impl Fn(&[(String, String)]) -> bool) {
        let start = Instant::now();
        loop {
            let states = self.states();
            if done(&states) {
                return;
            }
            if start.elapsed() > limit {
                panic!("gave up after {limit:?} waiting for {what}; states {states:?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn logs(&self) -> String {
        self.members
            .iter()
            .map(|m| {
                let text =
                    std::fs::read_to_string(self.root.path().join(format!("{}.log", m.name))).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(25).collect();
                format!("--- {} ---\n{}", m.name, tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Seconds since the Unix epoch at which `node` first reported `state` to the monitor.
    pub fn reported_at(&self, node: &str, state: &str) -> Option<f64> {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct At {
            #[diesel(sql_type = diesel::sql_types::Double)]
            at: f64,
        }
        let url = self.monitor_url();
        let mut conn = diesel::PgConnection::establish(&url).ok()?;
        diesel::sql_query(
            "SELECT extract(epoch FROM eventtime)::float8 AS at FROM pgautofailover.event \
             WHERE nodename = $1 AND reportedstate::text = $2 ORDER BY eventid LIMIT 1",
        )
        .bind::<diesel::sql_types::Text, _>(node)
        .bind::<diesel::sql_types::Text, _>(state)
        .get_result::<At>(&mut conn)
        .ok()
        .map(|a| a.at)
    }

    /// The monitor's events after `since` (seconds since the epoch), as `+s node: reported -> goal`.
    pub fn events_since(&self, since: f64) -> Vec<String> {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Event {
            #[diesel(sql_type = diesel::sql_types::Double)]
            at: f64,
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        let url = self.monitor_url();
        let Ok(mut conn) = diesel::PgConnection::establish(&url) else { return Vec::new() };
        diesel::sql_query(
            "SELECT extract(epoch FROM eventtime)::float8 AS at, \
             nodename || ': ' || reportedstate || ' -> ' || goalstate || ' (' || left(description, 60) || ')' AS line \
             FROM pgautofailover.event ORDER BY eventid",
        )
        .load::<Event>(&mut conn)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.at >= since)
        .map(|e| format!("+{:.2}s {}", e.at - since, e.line))
        .collect()
    }

    /// The node the monitor reports as primary.
    pub fn primary(&self) -> String {
        self.states().into_iter().find(|(_, s)| s == "primary").map(|(n, _)| n).expect("a primary")
    }

    /// The standby first, then the primary: reads that prefer a standby and fall back.
    pub fn read_url(&self) -> String {
        let primary = self.primary();
        let standby = if primary == "node1" { "node2" } else { "node1" };
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/lectern?target_session_attrs=prefer-standby&connect_timeout=2",
            self.port_of(standby),
            self.port_of(&primary)
        )
    }

    /// Lectern's URL: both data nodes, the writable one chosen at connect time.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/lectern?target_session_attrs=read-write&connect_timeout=2",
            self.port_of("node1"),
            self.port_of("node2")
        )
    }

    /// SIGKILL to the node's whole process group: keeper, PostgreSQL and its backends at once,
    /// as when its machine dies.
    /// Kills a node as a machine dies: its keeper and its PostgreSQL at once. Returns when nothing
    /// answers on its port any more, so what follows happens without that node.
    pub fn kill(&mut self, name: &str) {
        let member = self.members.iter_mut().find(|m| m.name == name).unwrap();
        signal_group(member.child.id(), "KILL");
        let _ = member.child.wait();
        // A postmaster that left the keeper's process group dies by its pid file.
        let pid_file = self.root.path().join(name).join("postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.lines().next().map(str::to_owned))
            && std::fs::read(format!("/proc/{}/cmdline", pid.trim()))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("postgres"))
        {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
        let port = member.port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(Instant::now() < deadline, "{name} still answers on {port} after being killed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill").args([&format!("-{signal}"), "--", &format!("-{pgid}")]).status();
}

impl Drop for Formation {
    /// pg_autoctl stops its PostgreSQL on SIGTERM; whatever still runs after 10 s is killed.
    fn drop(&mut self) {
        for m in self.members.iter().rev() {
            signal_group(m.child.id(), "TERM");
        }
        let start = Instant::now();
        for m in self.members.iter_mut().rev() {
            while matches!(m.child.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(m.child.id(), "KILL");
            let _ = m.child.wait();
        }
    }
}

/// Retries a request (every 25 ms) while it answers 503; returns the first other status and
/// how many 503s came before it (each checked for `Retry-After`).
async fn through_503s(send: impl AsyncFn() -> reqwest::Response) -> (u16, usize) {
    let mut unavailable = 0;
    loop {
        let resp = send().await;
        if resp.status() != 503 {
            return (resp.status().as_u16(), unavailable);
        }
        assert!(resp.headers().contains_key("retry-after"), "503 without Retry-After");
        unavailable += 1;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_primary_dies_under_load_and_nothing_acknowledged_is_lost() {
    let started = Instant::now();
    let mut formation = tokio::task::spawn_blocking(Formation::start).await.unwrap();
    let formed = started.elapsed();
    let url = formation.url();
    let kek = tempfile::tempdir().unwrap();
    let app = spawn_on(TestDb::external(&url, kek.path()), |c| c.workers = Some(2)).await;
    let class = Classroom::new(&app, 6).await;
    let leaver = app.student("Leaver").await;
    let load = SubmissionLoad::start(&app, &class.assignment, &class.students);
    load.until("30 acknowledged submissions", Duration::from_secs(60), |r| count(r).acknowledged >= 30).await;

    let primary = formation.primary();
    let survivor = if primary == "node1" { "node2" } else { "node1" };
    let crash_wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let crash = Instant::now();
    formation.kill(&primary);
    // A student signs out while there is no primary: the revocation must survive the failover.
    let (logout, logout_503s) = through_503s(async || {
        app.api.post(app.url("/api/auth/logout")).bearer_auth(&leaver.access_token).send().await.unwrap()
    })
    .await;
    let logged_out = crash.elapsed();
    let students = class.students.len();
    load.until("3 acknowledgements per student after the crash", Duration::from_secs(60), |r| {
        (0..students).all(|s| {
            r.iter().filter(|x| x.student == s && x.sent >= crash && matches!(x.status, 200 | 201)).count() >= 3
        })
    })
    .await;
    let (acks, replies) = load.finish().await;
    let promoted = formation.states();
    let since_crash = |state| formation.reported_at(survivor, state).map_or(f64::NAN, |at| at - crash_wall);
    let (promoting, writable) = (since_crash("stop_replication"), since_crash("wait_primary"));
    println!("monitor events after the crash:\n  {}", formation.events_since(crash_wall).join("\n  "));

    // The revocation is in the new primary: this process refuses the token, and so does a fresh
    // one that learns revocations from the database only.
    let fresh = spawn_on(TestDb::external(&url, kek.path()), |_| {}).await;
    let me_here = app.get("/api/auth/me", Some(&leaver.access_token)).await.status().as_u16();
    let me_fresh = fresh.get("/api/auth/me", Some(&leaver.access_token)).await.status().as_u16();
    let courses_fresh = fresh.get("/api/courses", Some(&leaver.access_token)).await.status().as_u16();
    let refresh_fresh = fresh.refresh(&leaver.refresh_token).await.status().as_u16();

    let seen = count(&replies);
    let stored = tokio::task::spawn_blocking({
        let (url, assignment, acks) = (url.clone(), class.assignment.clone(), acks.clone());
        move || verify_stored(&url, &assignment, &acks)
    })
    .await
    .unwrap();
    let first = first_success_after(&replies, crash);
    println!(
        "failover: formation up in {:.1} s; killed {primary}; {survivor} promoted \
         (stop_replication) {promoting:.2} s and writable (wait_primary) {writable:.2} s after the crash; first acknowledged submission {:.2} s after the crash \
         (budget {} s); logout answered {logout} after {logout_503s} 503s, {:.2} s after the crash; acknowledged {} \
         ({} rows stored), lost {}, duplicated {}; 503s {} (without Retry-After {}), 500s {}, no reply {}, other {:?}; \
         monitor now {promoted:?}; revoked token after failover: me {me_here}/{me_fresh} (this/fresh process), \
         courses {courses_fresh}, refresh {refresh_fresh}",
        formed.as_secs_f64(),
        first.map_or(f64::NAN, |d| d.as_secs_f64()),
        FAILOVER_BUDGET.as_secs(),
        logged_out.as_secs_f64(),
        acks.len(),
        stored.rows,
        stored.lost,
        stored.duplicated,
        seen.unavailable,
        seen.unavailable_without_retry_after,
        seen.server_errors,
        seen.no_reply,
        seen.other,
    );
    assert!(first.is_some_and(|d| d <= FAILOVER_BUDGET), "first success after the crash: {first:?}");
    assert_eq!(seen.server_errors, 0, "no 500 during the failover");
    assert!(seen.unavailable > 0, "the failover was met");
    assert_eq!(seen.unavailable_without_retry_after, 0, "every 503 carries Retry-After");
    assert_eq!(seen.unavailable_not_problem_json, 0, "every 503 is a problem document");
    assert_eq!((seen.no_reply, seen.other.len()), (0, 0), "{seen:?}");
    assert_eq!(stored.lost, 0, "acknowledged submissions lost");
    assert_eq!(stored.duplicated, 0, "submissions stored twice");
    assert_eq!(stored.rows, acks.len());
    assert_eq!(logout, 204, "logout during the failover");
    assert!(logout_503s > 0, "the logout was made while there was no primary");
    assert_eq!((me_here, me_fresh, courses_fresh, refresh_fresh), (401, 401, 401, 401), "the revocation holds");
    assert!(promoted.iter().any(|(n, s)| n == survivor && s == "wait_primary"), "{promoted:?}");
}

/// `LECTERN_DATABASE_READ_URL`'s routing, on the formation: reads that may be a moment behind go to
/// the standby, everything else to the primary; a commit is replayed on the synchronous standby
/// before it returns, so a read right after a write sees it from any process; and a writer's own
/// reads stay on the primary for a while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_reads_see_every_acknowledged_write_and_writers_read_the_primary() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use lectern_common::DbError;
    use lectern_common::db::{Db, DbConnection};
    use lectern_common::ids::UserId;
    let formation = tokio::task::spawn_blocking(Formation::start).await.unwrap();
    let (url, read_url) = (formation.url(), formation.read_url());
    // Two processes' worth of pools: the write goes through one, the read through the other.
    let (writer_db, reader_db) = tokio::task::spawn_blocking(move || {
        (Db::connect_with_reads(&url, Some(&read_url)).unwrap(), Db::connect_with_reads(&url, Some(&read_url)).unwrap())
    })
    .await
    .unwrap();
    fn in_recovery(conn: &mut DbConnection) -> Result<bool, DbError> {
        #[derive(QueryableByName)]
        struct R {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            r: bool,
        }
        Ok(diesel::sql_query("SELECT pg_is_in_recovery() AS r").get_result::<R>(conn).map_err(DbError::from)?.r)
    }
    assert!(reader_db.run_read(None, in_recovery).await.unwrap(), "a read served by the standby");
    assert!(!reader_db.run(in_recovery).await.unwrap(), "everything else on the primary");

    writer_db.run(|c| c.batch_execute("CREATE TABLE marks (n INTEGER NOT NULL)").map_err(DbError::from)).await.unwrap();
    let mut stale = 0;
    let started = Instant::now();
    for n in 1..=200 {
        writer_db
            .run(move |c| {
                diesel::sql_query(format!("INSERT INTO marks VALUES ({n})")).execute(c).map_err(DbError::from)
            })
            .await
            .unwrap();
        #[derive(QueryableByName)]
        struct Max {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            n: i32,
        }
        let seen = reader_db
            .run_read(None, |c| {
                diesel::sql_query("SELECT COALESCE(MAX(n), 0) AS n FROM marks")
                    .get_result::<Max>(c)
                    .map_err(DbError::from)
            })
            .await
            .unwrap()
            .n;
        stale += usize::from(seen != n);
    }
    let per_write = started.elapsed() / 200;

    // A writer's own reads stay on the primary for a while; another user's still go to the standby.
    let (ada, grace) = (UserId::new(), UserId::new());
    writer_db.run_write(ada, |c| c.batch_execute("INSERT INTO marks VALUES (0)").map_err(DbError::from)).await.unwrap();
    let ada_on_standby = writer_db.run_read(Some(ada), in_recovery).await.unwrap();
    let grace_on_standby = writer_db.run_read(Some(grace), in_recovery).await.unwrap();
    println!(
        "standby reads: 200 writes through one pool, each read at once through another from the standby: {stale} stale; \
         {per_write:?} per write and read; writer pinned to the primary: {}, others on the standby: {grace_on_standby}",
        !ada_on_standby
    );
    assert_eq!(stale, 0, "a read right after a commit missed it on the standby");
    assert!(!ada_on_standby && grace_on_standby);

    // The application on the formation: catalog pages come from the standby; the course a teacher
    // just created is in the catalog she and a student read right after.
    let kek = tempfile::tempdir().unwrap();
    let read_url = formation.read_url();
    let app =
        spawn_on(TestDb::external(&formation.url(), kek.path()), move |c| c.database_read_url = Some(read_url)).await;
    let (teacher, student) = (app.teacher("Ada").await, app.student("Grace").await);
    // Index and sequential scans of `courses` counted by one server: a standby counts its own.
    let scans = |url: String| async move {
        tokio::task::spawn_blocking(move || {
            #[derive(QueryableByName)]
            struct Scans {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let mut conn = diesel::PgConnection::establish(&url).unwrap();
            diesel::sql_query(
                "SELECT (COALESCE(SUM(seq_scan), 0) + COALESCE(SUM(idx_scan), 0))::bigint AS n \
                 FROM pg_stat_user_tables WHERE relname = 'courses'",
            )
            .get_result::<Scans>(&mut conn)
            .unwrap()
            .n
        })
        .await
        .unwrap()
    };
    let standby_url =
        formation.read_url().replace("target_session_attrs=prefer-standby", "target_session_attrs=standby");
    let (standby_before, primary_before) = (scans(standby_url.clone()).await, scans(formation.url()).await);
    for n in 0..20 {
        // A different search each time: past this process's catalog copy, to the database.
        let resp = app.get(&format!("/api/courses?q=zz{n}"), Some(&student.access_token)).await;
        assert_eq!(resp.status(), 200);
    }
    // Statistics reach the views within their flush interval; poll them (bounded), never sleep.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut standby_scans = scans(standby_url.clone()).await - standby_before;
    while standby_scans < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        standby_scans = scans(standby_url.clone()).await - standby_before;
    }
    let primary_scans = scans(formation.url()).await - primary_before;
    println!("20 catalog misses: {standby_scans} scans of courses on the standby, {primary_scans} on the primary");
    assert!(standby_scans >= 20, "catalog reads served by the standby: {standby_scans}");
    assert!(primary_scans < 20, "not by the primary: {primary_scans}");
    let created = app.create_course(&teacher, "Replicated Rust", true).await;
    let id = created["id"].as_str().unwrap().to_owned();
    for (who, token) in [("the teacher who wrote", &teacher.access_token), ("a student", &student.access_token)] {
        let page: serde_json::Value = app.get("/api/courses?q=Replicated", Some(token)).await.json().await.unwrap();
        assert!(page["items"].as_array().unwrap().iter().any(|c| c["id"] == id.as_str()), "{who} sees it at once");
        assert_eq!(app.get(&format!("/api/courses/{id}"), Some(token)).await.status(), 200, "{who}");
    }
}
