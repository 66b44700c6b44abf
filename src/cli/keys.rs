//! `lectern keys rotate|activate|list|retire`: the signing-key ring, while servers run. Every
//! purpose has its own keys (access tokens; ID tokens in RS256 and in EdDSA): `rotate` publishes
//! the next key of each, the other verbs act on the one key named.

use anyhow::{Context, bail};
use auth_core::AuthSettings;
use auth_core::keys::{self, KeyStatus};
use auth_core::seal::Kek;
use clap::Subcommand;
use lectern_common::Config;
use lectern_common::db::Db;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Publish the next key of every kind; they sign from ten minutes later, once every verifier knows them.
    Rotate,
    /// Make a published next key sign now (warns when verifiers may not have fetched it yet).
    Activate {
        /// A key id is base64url, so it may begin with `-`: taken as the id, not as an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Show every key, which one signs, the next one, and when the others may be retired.
    List,
    /// Drop a key once no live token can carry it (a next key that never signed: at once).
    Retire {
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
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
    let lifetimes = AuthSettings::from_config(config).key_lifetimes();
    let fail = |e: auth_core::AuthError| anyhow::anyhow!("{e}");
    match command {
        KeysCommand::Rotate => {
            // Sealing the new private key takes the key-encryption key: run this where auth-core runs.
            let path = config.key_encryption_key_path()?;
            let kek = Kek::load_or_create(&path).map_err(fail).with_context(|| path.display().to_string())?;
            // Generated before the transaction: an RSA key takes a moment to make.
            let prepared = keys::PreparedKey::all().map_err(fail)?;
            let rotated = lectern_common::db::write_tx(&mut conn, |c| keys::rotate_prepared(c, &kek, prepared, now))
                .map_err(fail)?;
            println!(
                "published the next keys; they sign from {} (every verifier has fetched them by then):",
                rfc3339(rotated.activates_at)
            );
            for (slot, kid) in &rotated.keys {
                println!("  {:<8}  {:<5}  {kid}", slot.purpose, slot.alg);
            }
            println!("`lectern keys activate KID` starts one earlier.");
        }
        KeysCommand::Activate { kid } => match keys::activate(&mut conn, &kid, now).map_err(fail)? {
            Ok(done) => {
                if done.early(now) {
                    eprintln!(
                        "warning: {kid} was to sign from {}; a course or grading process that has not fetched the \
                         JWKS since it was published refuses its tokens until it does (at once when auth-core is \
                         reachable, otherwise only after auth-core is back)",
                        rfc3339(done.scheduled)
                    );
                }
                println!("{kid} signs new tokens now");
            }
            Err(refusal) => bail!("{refusal}"),
        },
        KeysCommand::List => {
            for k in keys::list(&mut conn, lifetimes, now).map_err(fail)? {
                let status = match k.status {
                    KeyStatus::Next { activates_at } => {
                        format!("next (published; signs from {})", rfc3339(activates_at))
                    }
                    KeyStatus::Current => "current (signs new tokens)".to_owned(),
                    KeyStatus::Previous { live_until } if live_until <= now => {
                        "previous (no live tokens: may be retired)".to_owned()
                    }
                    KeyStatus::Previous { live_until } => {
                        format!("previous (tokens live until {})", rfc3339(live_until))
                    }
                };
                println!("{}  {:<8}  {:<5}  created {}  {}", k.kid, k.purpose, k.alg, rfc3339(k.created_at), status);
            }
        }
        KeysCommand::Retire { kid } => match keys::retire(&mut conn, &kid, now, lifetimes).map_err(fail)? {
            Ok(()) => println!("retired {kid}"),
            Err(refusal) => bail!("{refusal}"),
        },
    }
    Ok(())
}
