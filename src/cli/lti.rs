//! `lectern lti tools add|list|remove`: the LTI 1.3 tools teachers may place in their courses
//! (docs/lti.md). Needs the database only: a registration holds no secret.

use anyhow::bail;
use clap::Subcommand;
use lectern_common::Config;
use lectern_common::db::Db;
use lectern_common::ids::ToolId;
use lti_platform::endpoints::Endpoints;
use lti_platform::tools::{self, NewTool};
use std::str::FromStr;

#[derive(Subcommand, Debug)]
pub enum LtiCommand {
    /// External learning tools registered with Lectern's LTI 1.3 platform.
    Tools {
        #[command(subcommand)]
        command: ToolsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ToolsCommand {
    /// Register a tool; prints what its own configuration needs (issuer, client id, deployment
    /// id, endpoints, the platform's JWKS URL).
    Add {
        /// Shown to teachers and students.
        #[arg(long)]
        name: String,
        /// The tool's login initiation URL (third-party-initiated login).
        #[arg(long = "login-url")]
        login_url: String,
        /// Where the tool receives launches, matched exactly; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// The tool's public keys, which its client assertions are checked against.
        #[arg(long = "jwks-url")]
        jwks_url: String,
        /// What a launch names as its target.
        #[arg(long = "target-link-uri")]
        target_link_uri: String,
        /// Print one JSON object: {"id","issuer","client_id","deployment_id","authorization_endpoint","token_endpoint","jwks_uri"}.
        #[arg(long)]
        json: bool,
    },
    /// Show every registered tool.
    List,
    /// Remove a tool with its links in every course (grades it posted stay).
    Remove {
        /// An id that begins with `-` is taken as the id, not as an option.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

pub async fn run(config: &Config, command: LtiCommand) -> anyhow::Result<()> {
    let LtiCommand::Tools { command } = command;
    let url = config.database_url.clone();
    let db = tokio::task::spawn_blocking(move || Db::connect(&url)).await??;
    db.migrate()?;
    let mut conn = db.get()?;
    let fail = |e: lti_platform::LtiError| anyhow::anyhow!("{e}");
    match command {
        ToolsCommand::Add { name, login_url, redirect_uris, jwks_url, target_link_uri, json } => {
            let new = NewTool { name, login_url, redirect_uris, jwks_url, target_link_uri };
            let endpoints = Endpoints::new(&config.public_url);
            let registered = tools::register(&mut conn, &new, &endpoints, super::clock().now()).map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&registered)?);
                return Ok(());
            }
            println!("registered {:?} as tool {}", new.name.trim(), registered.id);
            println!("Give the tool these (its LTI 1.3 platform settings):");
            println!("  issuer (platform id):    {}", registered.issuer);
            println!("  client id:               {}", registered.client_id);
            println!("  deployment id:           {}", registered.deployment_id);
            println!("  authorization endpoint:  {}", registered.authorization_endpoint);
            println!("  token endpoint:          {}", registered.token_endpoint);
            println!("  platform JWKS URL:       {}", registered.jwks_uri);
            println!(
                "Teachers can now add it to their courses (the course page, or POST /api/courses/{{id}}/tool-links)."
            );
        }
        ToolsCommand::List => {
            let all = tools::list(&mut conn).map_err(fail)?;
            if all.is_empty() {
                println!("no tools are registered");
            }
            for t in all {
                let created = t.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                println!(
                    "{}  {:?}  client_id {}  deployment_id {}  created {created}",
                    t.id, t.name, t.client_id, t.deployment_id
                );
                println!("    login_url       {}", t.login_url);
                for uri in t.redirect_uris {
                    println!("    redirect_uri    {uri}");
                }
                println!("    target_link_uri {}", t.target_link_uri);
                println!("    jwks_url        {}", t.jwks_url);
            }
        }
        ToolsCommand::Remove { id } => {
            let Ok(tool) = ToolId::from_str(&id) else { bail!("no tool has id {id}") };
            if !tools::remove(&mut conn, tool).map_err(fail)? {
                bail!("no tool has id {id}");
            }
            println!("removed tool {id}; its links in every course are gone, the grades it posted stay");
        }
    }
    Ok(())
}
