//! `lectern token inspect TOKEN`: the decoded header and claims, and whether this
//! installation's keys verify it (and if not, which rule refused it).

use anyhow::bail;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Subcommand;
use lectern_common::Config;
use lectern_common::db::Db;
use std::sync::Arc;
use token_claims::{Audience, RevokedSessions, Verifier, VerifierConfig};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Decode a token and check it against this installation's keys.
    Inspect { token: String },
}

fn segment(s: &str) -> anyhow::Result<serde_json::Value> {
    let bytes = URL_SAFE_NO_PAD.decode(s)?;
    Ok(serde_json::from_slice(&bytes)?)
}

pub async fn run(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Inspect { token } = command;
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, _signature] = parts.as_slice() else {
        bail!("not a compact JWS: expected three dot-separated parts")
    };
    println!("header:\n{}", serde_json::to_string_pretty(&segment(header)?)?);
    println!("claims:\n{}", serde_json::to_string_pretty(&segment(claims)?)?);
    let clock = super::clock();
    // Public keys only: inspecting a token needs no key-encryption key.
    let url = config.database_url.clone();
    let db = tokio::task::spawn_blocking(move || Db::connect(&url)).await??;
    db.migrate()?;
    let keys = auth_core::keys::public_key_set(&mut *db.get()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut vc = VerifierConfig::new(config.issuer.clone(), Audience::Courses);
    vc.leeway_secs = config.leeway.as_secs();
    vc.max_lifetime_secs = config.access_ttl.as_secs();
    let verifier = Verifier::new(vc, keys, clock, Arc::new(RevokedSessions::new()))?;
    match verifier.verify(token) {
        Ok(c) => {
            println!("verified: user {} ({}), session {}, expires at {}", c.user_id, c.role, c.session_id, c.expires_at)
        }
        Err(e) => println!("NOT valid here: {} (rule {} of docs/security.md)", e.reason(), e.rule()),
    }
    Ok(())
}
