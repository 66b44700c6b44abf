//! `lectern backup PATH`: a consistent copy of the database, taken while Lectern serves.
//!
//! SQLite: `VACUUM INTO`, which reads one snapshot inside a read transaction (in WAL mode writers go
//! on meanwhile) and writes it as a new, compact database file. Restore by stopping Lectern and
//! putting the file in place of the database.
//!
//! PostgreSQL: `pg_dump --format=custom`, which also reads one snapshot (a repeatable-read
//! transaction); restore with `pg_restore`. A logical dump needs no archive repository or extra
//! daemon and restores into any later PostgreSQL; docs/operations.md says when continuous WAL
//! archiving (pgBackRest) is worth its set-up instead.
//!
//! Either way the copy holds the signing keys and server secrets: it is created readable by its
//! owner only.

use anyhow::{Context, bail};
use diesel::RunQueryDsl;
use lectern_common::Config;
use lectern_common::db::{Backend, DbConnection, establish};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub async fn run(config: &Config, path: &Path) -> anyhow::Result<()> {
    // An empty file of our own first: the copy is never readable by others, not even briefly, and
    // an existing file is never overwritten.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("{}: cannot create the backup file (it must not exist yet)", path.display()))?;
    let outcome = match Backend::from_url(&config.database_url)? {
        Backend::Sqlite => {
            let (url, target) = (config.database_url.clone(), path.to_owned());
            tokio::task::spawn_blocking(move || sqlite(&url, &target)).await?
        }
        Backend::Postgres => {
            let (url, target) = (config.database_url.clone(), path.to_owned());
            tokio::task::spawn_blocking(move || postgres(&url, &target)).await?
        }
    };
    match outcome {
        Ok(()) => {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            println!("backup written to {} ({size} bytes)", path.display());
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(e)
        }
    }
}

fn sqlite(url: &str, target: &Path) -> anyhow::Result<()> {
    let target = target.to_str().context("the backup path must be valid UTF-8")?;
    let mut conn = establish(url)?;
    let DbConnection::Sqlite(c) = &mut conn else { bail!("not a SQLite database") };
    diesel::sql_query("VACUUM INTO ?").bind::<diesel::sql_types::Text, _>(target).execute(c).context("VACUUM INTO")?;
    Ok(())
}

fn postgres(url: &str, target: &Path) -> anyhow::Result<()> {
    let status = std::process::Command::new("pg_dump")
        .arg("--format=custom")
        .arg("--file")
        .arg(target)
        .arg("--dbname")
        .arg(url)
        .status()
        .context("running pg_dump (install PostgreSQL's client programs: apt-get install postgresql-client)")?;
    anyhow::ensure!(status.success(), "pg_dump failed ({status})");
    Ok(())
}
