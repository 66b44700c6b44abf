//! What the test suite needs on the machine, and how to get it there.
//!
//! Each [`Need`] says how to tell it is present and which Debian packages provide it. As root the
//! missing packages are installed with apt; otherwise the exact command is printed and the task
//! stops, since the suite would fail without them. PostgreSQL is started when it is installed but
//! down, and on the default test URL a fresh server is given the `test` database and loopback trust
//! the suite expects. The Node packages of the browser journeys, the OpenID Connect relying party
//! and the LTI journey are installed with `npm ci`, and the LTI tool's Python packages (pylti1p3,
//! Flask, pinned in `tests/lti/requirements.txt`) into a virtual environment, `tests/lti/.venv`.

use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the suite creates its PostgreSQL databases, unless `LECTERN_TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One thing the suite needs from the machine.
struct Need {
    what: &'static str,
    /// Which tests need it.
    why: &'static str,
    present: fn() -> bool,
    apt: &'static [&'static str],
}

const NEEDS: &[Need] = &[
    Need {
        what: "PostgreSQL server",
        why: "every integration test runs on SQLite and on PostgreSQL",
        present: || Path::new("/usr/bin/pg_ctlcluster").exists() && on_path("psql"),
        apt: &["postgresql"],
    },
    Need {
        what: "pg_auto_failover",
        why: "the failover test runs a formation (monitor, primary, synchronous standby) with deploy/ha's scripts",
        present: || {
            on_path("pg_autoctl")
                && std::fs::read_dir("/usr/lib/postgresql")
                    .map(|versions| versions.flatten().any(|v| v.path().join("lib/pgautofailover.so").exists()))
                    .unwrap_or(false)
        },
        // Debian 12's PostgreSQL is 15 (the `postgresql` package above).
        apt: &["postgresql-15-auto-failover", "pg-auto-failover-cli"],
    },
    Need {
        what: "nginx",
        why: "the split-shape test puts Debian's nginx in front of the service processes",
        present: || Path::new("/usr/sbin/nginx").exists() || on_path("nginx"),
        apt: &["nginx-light"],
    },
    Need {
        what: "Chromium",
        why: "the browser journeys drive /usr/bin/chromium",
        present: || Path::new("/usr/bin/chromium").exists(),
        apt: &["chromium"],
    },
    Need {
        what: "Python 3 with venv",
        why: "the LTI test runs a tool built on pylti1p3 (Flask) in its own virtual environment",
        present: || {
            command("python3")
                .args(["-c", "import venv, ensurepip"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        },
        apt: &["python3", "python3-venv"],
    },
    Need {
        what: "Node.js and npm",
        why: "the browser journeys are a Playwright script",
        present: || on_path("node") && on_path("npm"),
        apt: &["nodejs", "npm"],
    },
];

/// What the test run needs in its environment after set-up.
pub struct TestEnv {
    database_url: String,
    path: OsString,
}

impl TestEnv {
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("LECTERN_TEST_DATABASE_URL", &self.database_url).env("PATH", &self.path);
    }
}

pub fn run(root: &Path) -> Result<TestEnv> {
    crate::section("machine set-up");
    let root_user = is_root();
    let missing: Vec<&Need> = NEEDS.iter().filter(|n| !(n.present)()).collect();
    if !missing.is_empty() {
        let packages: Vec<&str> = missing.iter().flat_map(|n| n.apt.iter().copied()).collect();
        for need in &missing {
            println!("missing: {} ({})", need.what, need.why);
        }
        let install = format!("apt-get update && apt-get install -y {}", packages.join(" "));
        if !root_user {
            bail!("the suite needs these packages; as root, run:\n  {install}\nthen `cargo xtask test` again");
        }
        println!("installing with apt: {}", packages.join(" "));
        apt_install(&packages)?;
        if let Some(still) = NEEDS.iter().find(|n| !(n.present)()) {
            bail!("{} is still missing after installing {}", still.what, still.apt.join(" "));
        }
    }
    for need in NEEDS {
        println!("ok: {}", need.what);
    }

    let database_url =
        std::env::var("LECTERN_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
    postgres(&database_url, root_user)?;
    browser_packages(root)?;
    python_packages(root)?;
    Ok(TestEnv { database_url, path: path_with_sbin() })
}

/// PATH plus `/usr/sbin` and `/sbin`, where Debian keeps nginx and the PostgreSQL tools and which a
/// non-login shell's PATH may lack.
fn path_with_sbin() -> OsString {
    let mut dirs: Vec<_> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    for extra in ["/usr/sbin", "/sbin"] {
        if !dirs.iter().any(|d| d == Path::new(extra)) {
            dirs.push(extra.into());
        }
    }
    std::env::join_paths(&dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

/// A command that finds programs in sbin too.
fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("PATH", path_with_sbin());
    cmd
}

fn on_path(program: &str) -> bool {
    command(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let quiet = |cmd: &mut Command| -> Result<()> {
        let status = cmd.env("DEBIAN_FRONTEND", "noninteractive").status().context("running apt-get")?;
        if !status.success() {
            bail!("{cmd:?} failed ({status})");
        }
        Ok(())
    };
    quiet(command("apt-get").args(["-o", "DPkg::Lock::Timeout=600", "update", "-qq"]))?;
    quiet(command("apt-get").args(["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq"]).args(packages))
}

/// `postgres://user@host:port/db` → (host, port).
fn host_and_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() => (host.to_owned(), port.to_owned()),
        _ => (if host_port.is_empty() { "127.0.0.1" } else { host_port }.to_owned(), "5432".to_owned()),
    }
}

fn pg_ready(host: &str, port: &str) -> bool {
    command("pg_isready").args(["-q", "-h", host, "-p", port]).status().is_ok_and(|s| s.success())
}

fn psql_ok(url: &str) -> bool {
    command("psql")
        .args([url, "-qAtc", "select 1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs SQL as the `postgres` superuser over the local socket (peer authentication).
fn as_postgres_superuser(sql: &str) -> Result<String> {
    let out = command("runuser")
        .args(["-u", "postgres", "--", "psql", "-qAtc", sql])
        .current_dir("/")
        .output()
        .context("runuser -u postgres -- psql")?;
    if !out.status.success() {
        bail!("psql as postgres: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn clusters() -> Vec<String> {
    std::fs::read_dir("/etc/postgresql")
        .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

fn postgres(url: &str, root_user: bool) -> Result<()> {
    let (host, port) = host_and_port(url);
    if !pg_ready(&host, &port) {
        let versions = clusters();
        let starts: Vec<String> =
            versions.iter().map(|v| format!("pg_ctlcluster --skip-systemctl-redirect {v} main start")).collect();
        if !root_user {
            bail!("PostgreSQL is not answering on {host}:{port}; as root, run:\n  {}", starts.join("\n  "));
        }
        for version in &versions {
            println!("starting PostgreSQL {version}");
            let _ = command("pg_ctlcluster").args(["--skip-systemctl-redirect", version, "main", "start"]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !pg_ready(&host, &port) {
            if Instant::now() > deadline {
                bail!("PostgreSQL did not come up on {host}:{port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    if !psql_ok(url) && root_user && url == DEFAULT_TEST_DATABASE_URL {
        // A server fresh from the package: no `test` database and password authentication on loopback.
        let exists = as_postgres_superuser("select 1 from pg_database where datname = 'test'")?;
        if exists != "1" {
            println!("creating the database `test`");
            as_postgres_superuser("create database test")?;
        }
        if !psql_ok(url) {
            let hba = as_postgres_superuser("show hba_file")?;
            println!("allowing the postgres user from loopback without a password (trust) in {hba}");
            let current = std::fs::read_to_string(&hba).with_context(|| format!("reading {hba}"))?;
            let trust = "# added by `cargo xtask test`: the suite connects as postgres over loopback\n\
                         host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n";
            std::fs::write(&hba, format!("{trust}{current}")).with_context(|| format!("writing {hba}"))?;
            as_postgres_superuser("select pg_reload_conf()")?;
        }
    }
    if !psql_ok(url) {
        bail!(
            "cannot connect to {url} (set LECTERN_TEST_DATABASE_URL to a server where the suite may create databases)"
        );
    }
    println!("ok: PostgreSQL at {url}");
    Ok(())
}

/// The Node packages of the suite's scripts: the browser journeys (`tests/browser`), the OpenID
/// Connect relying party (`tests/oidc`, openid-client and playwright-core) and the LTI journey
/// (`tests/lti`, playwright-core).
const NODE_PACKAGES: &[(&str, &str)] = &[
    ("tests/browser", "the browser journeys"),
    ("tests/oidc", "the OpenID Connect relying party"),
    ("tests/lti", "the LTI journey"),
];

/// Where the LTI tool's virtual environment lives, and the pinned packages it holds.
pub const LTI_VENV: &str = "tests/lti/.venv";
const LTI_REQUIREMENTS: &str = "tests/lti/requirements.txt";

/// `python3 -m venv tests/lti/.venv` and `pip install -r tests/lti/requirements.txt`, when the venv
/// is missing or older than the requirements (a stamp file records the last install).
fn python_packages(root: &Path) -> Result<()> {
    let venv = root.join(LTI_VENV);
    let requirements = root.join(LTI_REQUIREMENTS);
    let stamp = venv.join(".installed");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let python = venv.join("bin/python");
    let fresh = python.exists() && matches!((modified(&stamp), modified(&requirements)), (Some(s), Some(r)) if s >= r);
    if !fresh {
        if !python.exists() {
            println!("creating the LTI tool's Python environment ({LTI_VENV})");
            let status = command("python3").arg("-m").arg("venv").arg(&venv).status().context("python3 -m venv")?;
            if !status.success() {
                bail!("python3 -m venv {LTI_VENV} failed ({status})");
            }
        }
        println!("installing the LTI tool's Python packages (pip install -r {LTI_REQUIREMENTS})");
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .status()
            .context("running pip")?;
        if !status.success() {
            bail!("pip install -r {LTI_REQUIREMENTS} failed ({status})");
        }
        std::fs::write(&stamp, "installed from tests/lti/requirements.txt\n").context("writing the venv's stamp")?;
    }
    println!("ok: Python packages of tests/lti ({LTI_VENV})");
    Ok(())
}

/// `npm ci` for each of [`NODE_PACKAGES`] whose installed packages are missing or older than its lock file.
fn browser_packages(root: &Path) -> Result<()> {
    for (dir, what) in NODE_PACKAGES {
        let dir_path = root.join(dir);
        let lock = dir_path.join("package-lock.json");
        let installed = dir_path.join("node_modules/.package-lock.json");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let fresh = matches!((modified(&installed), modified(&lock)), (Some(i), Some(l)) if i >= l);
        if !fresh {
            println!("installing the Node packages of {what} (npm ci in {dir})");
            let status = command("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir_path)
                .status()
                .context("running npm ci")?;
            if !status.success() {
                bail!("npm ci in {dir} failed ({status})");
            }
        }
        println!("ok: Node packages of {dir}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::host_and_port;

    #[test]
    fn host_and_port_come_from_the_url() {
        let hp = |u| host_and_port(u);
        assert_eq!(hp("postgres://postgres@127.0.0.1:5432/test"), ("127.0.0.1".into(), "5432".into()));
        assert_eq!(hp("postgres://u:p@db.example:6000/x?sslmode=require"), ("db.example".into(), "6000".into()));
        assert_eq!(hp("postgresql://localhost/test"), ("localhost".into(), "5432".into()));
    }
}
