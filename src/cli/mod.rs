//! The `lectern` command line (docs/api.md): serve, migrate, users, keys, oidc, lti, seed, token.

mod backup;
mod keys;
mod lti;
mod oidc;
mod seed;
mod token;
mod users;

use crate::startup::{Application, ServiceSet};
use anyhow::Context;
use clap::{Parser, Subcommand};
use lectern_common::Config;
use std::sync::Arc;
use token_claims::{Clock, SystemClock};

#[derive(Parser, Debug)]
#[command(name = "lectern", version, about = "Lectern: courses, materials, assignments and grades")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve one service or all of them (the default).
    Serve {
        #[arg(value_enum, default_value = "all")]
        services: ServiceSet,
        /// Apply the demo seed first when the database has no users.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Manage the token-signing key ring.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Sign in with Lectern: the applications registered with its OpenID Connect provider.
    Oidc {
        #[command(subcommand)]
        command: oidc::OidcCommand,
    },
    /// LTI 1.3: the external learning tools teachers may place in their courses.
    Lti {
        #[command(subcommand)]
        command: lti::LtiCommand,
    },
    /// Fill the database with demo data.
    Seed {
        /// The demo teachers, students and courses.
        #[arg(long, required = true)]
        demo: bool,
    },
    /// Look inside access tokens.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Write a consistent copy of the database to PATH while Lectern runs (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump --format=custom, restore with pg_restore).
    Backup { path: std::path::PathBuf },
    /// Exit 0 when URL answers 2xx within 3 s (container healthchecks: no curl in the image).
    Probe { url: String },
}

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env().context("configuration")?;
    lectern_common::telemetry::init(&config.log_filter, config.log_format);
    match cli.command {
        // `cargo run --release`: everything, with demo data on a fresh database.
        None => serve(config, ServiceSet::All, true).await,
        Some(Command::Serve { services, demo }) => serve(config, services, demo).await,
        Some(Command::Migrate) => {
            let parts = crate::startup::prepare(&config, clock(), ServiceSet::Courses).await?;
            drop(parts);
            println!("migrations are up to date");
            Ok(())
        }
        Some(Command::Users { command }) => users::run(&config, command).await,
        Some(Command::Keys { command }) => keys::run(&config, command).await,
        Some(Command::Oidc { command }) => oidc::run(&config, command).await,
        Some(Command::Lti { command }) => lti::run(&config, command).await,
        Some(Command::Seed { .. }) => seed::run(&config, true).await.map(drop),
        Some(Command::Token { command }) => token::run(&config, command).await,
        Some(Command::Probe { url }) => probe(&url).await,
        Some(Command::Backup { path }) => backup::run(&config, &path).await,
    }
}

async fn probe(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3)).build()?;
    let status = client.get(url).send().await.with_context(|| format!("GET {url}"))?.status();
    anyhow::ensure!(status.is_success(), "GET {url}: {status}");
    Ok(())
}

async fn serve(config: Config, services: ServiceSet, demo: bool) -> anyhow::Result<()> {
    if demo {
        seed::run(&config, false).await?;
    }
    let addr = config.addr;
    let public_url = config.public_url.clone();
    let app = Application::build(config, clock(), services).await?;
    tracing::info!(%addr, ?services, "listening");
    println!("Lectern ({services:?}) is listening on http://{addr}; open {public_url}/");
    app.run_until_stopped().await.context("server")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Key and client ids are base64url: one in 64 begins with `-`, and the verbs that take one must
    /// take it as the id, not refuse it as an unknown option.
    #[test]
    fn ids_that_begin_with_a_dash_are_ids() {
        let id = "-HAy-wr9etuY33X3l06DgltDUBNLNpWnIVBjJW2JN9A";
        let parse = |args: &[&str]| Cli::try_parse_from(["lectern"].iter().chain(args)).map(|cli| cli.command);
        assert!(matches!(
            parse(&["keys", "activate", id]),
            Ok(Some(Command::Keys { command: keys::KeysCommand::Activate { kid } })) if kid == id
        ));
        assert!(matches!(
            parse(&["keys", "retire", id]),
            Ok(Some(Command::Keys { command: keys::KeysCommand::Retire { kid } })) if kid == id
        ));
        assert!(matches!(
            parse(&["oidc", "clients", "remove", id]),
            Ok(Some(Command::Oidc { command: oidc::OidcCommand::Clients { command: oidc::ClientsCommand::Remove { id: got } } })) if got == id
        ));
        assert!(matches!(
            parse(&["lti", "tools", "remove", id]),
            Ok(Some(Command::Lti { command: lti::LtiCommand::Tools { command: lti::ToolsCommand::Remove { id: got } } })) if got == id
        ));
        // Options the verbs do not have are still refused.
        assert!(parse(&["keys", "rotate", "--force"]).is_err());
    }
}
