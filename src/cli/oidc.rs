//! `lectern oidc clients add|list|remove`: the applications that may sign people in with Lectern
//! (docs/oidc.md). Needs the database only: client secrets are stored hashed, not sealed.

use anyhow::bail;
use auth_core::keys::IdTokenAlg;
use auth_core::oidc::clients::{self, NewClient};
use auth_core::oidc::store::ClientId;
use clap::{Subcommand, ValueEnum};
use lectern_common::Config;
use lectern_common::db::Db;
use std::str::FromStr;

#[derive(Subcommand, Debug)]
pub enum OidcCommand {
    /// Applications registered to sign people in with Lectern.
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
}

/// How ID tokens for the client are signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AlgArg {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "EdDSA")]
    EdDsa,
}

#[derive(Subcommand, Debug)]
pub enum ClientsCommand {
    /// Register an application; prints its client id and, for a confidential client, its secret (once).
    Add {
        /// Shown to people on the consent page.
        #[arg(long)]
        name: String,
        /// Where codes may be sent, matched exactly; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// An application that cannot keep a secret (a mobile or desktop app): PKCE only.
        #[arg(long)]
        public: bool,
        /// The algorithm of its ID tokens.
        #[arg(long = "id-token-alg", value_enum, default_value = "RS256")]
        id_token_alg: AlgArg,
        /// Print `{"client_id","client_secret"}` only.
        #[arg(long)]
        json: bool,
    },
    /// Show every registered application.
    List,
    /// Remove an application, its codes, tokens and the consents people gave it.
    Remove {
        /// A client id may begin with `-` (base64url): taken as the id, not as an option.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

pub async fn run(config: &Config, command: OidcCommand) -> anyhow::Result<()> {
    let OidcCommand::Clients { command } = command;
    let url = config.database_url.clone();
    let db = tokio::task::spawn_blocking(move || Db::connect(&url)).await??;
    db.migrate()?;
    let mut conn = db.get()?;
    let fail = |e: auth_core::AuthError| anyhow::anyhow!("{e}");
    match command {
        ClientsCommand::Add { name, redirect_uris, public, id_token_alg, json } => {
            let id_token_alg = match id_token_alg {
                AlgArg::Rs256 => IdTokenAlg::Rs256,
                AlgArg::EdDsa => IdTokenAlg::EdDsa,
            };
            let new = NewClient { name, redirect_uris, public, id_token_alg };
            let registered = clients::register(&mut conn, &new, super::clock().now()).map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&registered)?);
                return Ok(());
            }
            let kind = if public { "public: PKCE only, no secret" } else { "confidential" };
            println!("registered {:?} ({kind}; ID tokens signed {})", new.name.trim(), id_token_alg.as_str());
            println!("client_id:     {}", registered.client_id);
            if let Some(secret) = &registered.client_secret {
                println!("client_secret: {secret}");
                println!(
                    "The secret is shown this once; Lectern keeps only its hash. Store it with the application now."
                );
            }
            println!(
                "issuer:        {} (discovery: {}/.well-known/openid-configuration)",
                config.public_url, config.public_url
            );
        }
        ClientsCommand::List => {
            let all = clients::list(&mut conn).map_err(fail)?;
            if all.is_empty() {
                println!("no applications are registered");
            }
            for c in all {
                let kind = if c.public { "public" } else { "confidential" };
                let created = c.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                println!("{}  {:?}  {kind}  {}  created {created}", c.client_id, c.name, c.id_token_alg);
                for uri in c.redirect_uris {
                    println!("    redirect_uri {uri}");
                }
            }
        }
        ClientsCommand::Remove { id } => {
            let Ok(client) = ClientId::from_str(&id) else { bail!("no application has client id {id}") };
            if !clients::remove(&mut conn, client).map_err(fail)? {
                bail!("no application has client id {id}");
            }
            println!("removed {id}; its codes, tokens and consents are gone");
        }
    }
    Ok(())
}
