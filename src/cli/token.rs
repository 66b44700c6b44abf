//! `lectern token inspect TOKEN`: the decoded header and claims, and whether this
//! installation's keys verify it (and if not, which rule refused it).

use crate::startup::{ServiceSet, prepare};
use anyhow::bail;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Subcommand;
use lectern_common::Config;
use std::sync::Arc;
use token_claims::{Audience, Verifier, VerifierConfig};

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
    let parts = prepare(config, Arc::clone(&clock), ServiceSet::Auth).await?;
    let Some(auth) = parts.auth else { bail!("auth service unavailable") };
    let mut vc = VerifierConfig::new(config.issuer.clone(), Audience::Courses);
    vc.leeway_secs = config.leeway.as_secs();
    let verifier = Verifier::new(vc, auth.keys.key_set(), clock, Arc::new(parts.revoked.clone()))?;
    match verifier.verify(token) {
        Ok(c) => {
            println!("verified: user {} ({}), session {}, expires at {}", c.user_id, c.role, c.session_id, c.expires_at)
        }
        Err(e) => println!("NOT valid here: {} (rule {} of docs/security.md)", e.reason(), e.rule()),
    }
    Ok(())
}
