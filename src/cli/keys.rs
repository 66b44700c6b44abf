//! `lectern keys rotate|list|retire`: the signing-key ring, while servers run.

use anyhow::bail;
use auth_core::AuthSettings;
use auth_core::keys::{self, KeyStatus};
use clap::Subcommand;
use lectern_common::Config;
use lectern_common::db::Db;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new signing key; running servers sign with it within a second.
    Rotate,
    /// Show every key, which one signs, and when the others may be retired.
    List,
    /// Drop a key once no live token can carry it.
    Retire { kid: String },
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let url = config.database_url.clone();
    let db = tokio::task::spawn_blocking(move || Db::connect(&url)).await??;
    db.migrate()?;
    let mut conn = db.get()?;
    let now = super::clock().now();
    let lifetime = AuthSettings::from_config(config).token_lifetime();
    let fail = |e: auth_core::AuthError| anyhow::anyhow!("{e}");
    match command {
        KeysCommand::Rotate => {
            let kid = lectern_common::db::write_tx(&mut conn, |c| keys::generate(c, now)).map_err(fail)?;
            println!("new signing key {kid}; the previous key stays in the JWKS until you retire it");
        }
        KeysCommand::List => {
            for k in keys::list(&mut conn, lifetime).map_err(fail)? {
                let status = match k.status {
                    KeyStatus::Current => "current (signs new tokens)".to_owned(),
                    KeyStatus::Previous { live_until } if live_until <= now => {
                        "previous (no live tokens: may be retired)".to_owned()
                    }
                    KeyStatus::Previous { live_until } => {
                        format!("previous (tokens live until {})", rfc3339(live_until))
                    }
                };
                println!("{}  {}  created {}  {}", k.kid, k.alg, rfc3339(k.created_at), status);
            }
        }
        KeysCommand::Retire { kid } => match keys::retire(&mut conn, &kid, now, lifetime).map_err(fail)? {
            Ok(()) => println!("retired {kid}"),
            Err(refusal) => bail!("{refusal}"),
        },
    }
    Ok(())
}
