//! The demo seed: applied by `cargo run --release` to an empty database, or by `lectern seed --demo`.

use crate::startup::{ServiceSet, prepare};
use anyhow::bail;
use lectern_common::Config;

/// Seeds when `force` or the database has no users; prints how to sign in. Returns whether it seeded.
pub async fn run(config: &Config, force: bool) -> anyhow::Result<bool> {
    let parts = prepare(config, super::clock(), ServiceSet::All).await?;
    let Some(auth) = parts.auth else { bail!("auth service unavailable") };
    let db = parts.db.clone();
    let seeded = db
        .run(move |conn| {
            // All or nothing: a seed that fails half-way leaves the database as it was.
            lectern_common::db::write_tx(conn, |conn| -> anyhow::Result<bool> {
                use diesel::prelude::*;
                let users: i64 = lectern_common::schema::users::table.count().get_result(conn)?;
                if users > 0 && !force {
                    return Ok(false);
                }
                let created = auth_core::seed::demo_users(&auth, conn).map_err(|e| anyhow::anyhow!("{e}"))?;
                if created.is_empty() {
                    return Ok(false);
                }
                let now = lectern_common::db::to_db_time(time::OffsetDateTime::now_utc());
                course_service::seed::demo(conn, now)?;
                grading_service::seed::demo(conn, now)?;
                Ok(true)
            })
        })
        .await?;
    if seeded {
        println!("Demo data is ready. Sign in at {}/auth/sign-in with:", config.public_url);
        for u in &auth_core::seed::DEMO_USERS {
            println!("  {:<8} {:<22} password: {}", u.role.as_str(), u.email, u.password);
        }
    }
    Ok(seeded)
}
