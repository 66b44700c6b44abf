//! `lectern users add --email E --name N --role teacher|student`, password from standard input.

use crate::startup::{ServiceSet, prepare};
use anyhow::{Context, bail};
use clap::Subcommand;
use lectern_common::Config;
use std::io::BufRead;
use token_claims::Role;

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create an account; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|_| "expected teacher or student".to_owned())
}

pub async fn run(config: &Config, command: UsersCommand) -> anyhow::Result<()> {
    let UsersCommand::Add { email, name, role } = command;
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password).context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    let parts = prepare(config, super::clock(), ServiceSet::Auth).await?;
    let Some(auth) = parts.auth else { bail!("auth service unavailable") };
    let mut conn = parts.db.get()?;
    match auth.create_user_now(&mut conn, &email, &name, role, &password).map_err(|e| anyhow::anyhow!("{e}"))? {
        Some(account) => {
            println!("created {} {} ({})", account.role, account.email, account.id);
            Ok(())
        }
        None => bail!("an account with this email already exists"),
    }
}
