//! Lectern's project automation, run as `cargo xtask <task>` (the alias is in `.cargo/config.toml`).
//!
//! - `cargo xtask test`: makes sure this machine has what the test suite needs (see [`setup`]),
//!   then runs `cargo test --workspace`; the exit status is the suite's.
//! - `cargo xtask ci`: the gates CI runs (formatting, clippy, the dependency and template rules, the
//!   repository standing alone), then `test`.
//! - `cargo xtask setup`: only the first half of `test`.
//!
//! On a machine that already has the services, plain `cargo test --workspace` is the same run.

mod setup;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Lectern's project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install or start what the suite needs (as root with apt; otherwise print the commands), then run it.
    Test {
        /// Extra arguments for `cargo test --workspace` (after `--`), e.g. `-- --test api browser`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Formatting, clippy, the dependency and template rules, then `test`.
    Ci,
    /// Only make sure the suite's services and tools are there.
    Setup,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.task {
        Task::Test { args } => test(&args),
        Task::Ci => ci(),
        Task::Setup => setup::run(&root()).map(|_| ExitCode::SUCCESS),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

fn section(name: &str) {
    println!("\n== {name}");
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command in the workspace root; an error when it fails.
fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.current_dir(root()).status().with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn test(args: &[String]) -> Result<ExitCode> {
    let root = root();
    let env = setup::run(&root)?;
    section("tests: cargo test --workspace (each integration test on SQLite and on PostgreSQL)");
    let started = Instant::now();
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]).args(args).current_dir(&root);
    env.apply(&mut cmd);
    let status = cmd.status().context("starting cargo test")?;
    println!("\ntest suite took {} s", started.elapsed().as_secs());
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn ci() -> Result<ExitCode> {
    section("toolchain");
    // rustfmt and clippy are rustup components a minimal toolchain may lack.
    if !cargo().args(["clippy", "--version"]).output().is_ok_and(|o| o.status.success())
        || !cargo().args(["fmt", "--version"]).output().is_ok_and(|o| o.status.success())
    {
        run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    run(cargo().arg("--version"))?;

    section("format");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;

    section("clippy");
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;

    section("dependency direction");
    // token-claims is the only code that decodes tokens: it stays free of the web framework and the ORM.
    for dep in ["actix-web", "diesel"] {
        let found = cargo()
            .args(["tree", "-p", "token-claims", "-e", "normal", "-i", dep])
            .current_dir(root())
            .output()
            .context("cargo tree")?;
        if found.status.success() {
            bail!("token-claims depends on {dep}");
        }
    }
    println!("token-claims depends on neither actix-web nor diesel");

    section("templates");
    let unsafe_html = lines_matching(&root().join("templates"), &|line| {
        line.contains("|safe") && !line.to_lowercase().contains("sanitis") && !line.to_lowercase().contains("sanitiz")
    })?;
    if !unsafe_html.is_empty() {
        bail!("|safe outside sanitised HTML:\n{}", unsafe_html.join("\n"));
    }
    println!("|safe only on sanitised HTML");

    section("the repository stands alone");
    // Nothing may read or point at a folder beside the checkout.
    let outside = ["..", "/shared"].concat();
    let tracked = Command::new("git").args(["ls-files", "-z"]).current_dir(root()).output().context("git ls-files")?;
    let mut offenders = Vec::new();
    for file in tracked.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let path = root().join(String::from_utf8_lossy(file).as_ref());
        if let Ok(text) = std::fs::read_to_string(&path)
            && text.contains(&outside)
        {
            offenders.push(path.display().to_string());
        }
    }
    if !offenders.is_empty() {
        bail!("files pointing outside the repository:\n{}", offenders.join("\n"));
    }
    println!("no tracked file points outside the repository");

    test(&[])
}

/// `path:line: text` of every line under `dir` for which `keep` holds.
fn lines_matching(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(lines_matching(&path, keep)?);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            for (n, line) in text.lines().enumerate() {
                if keep(line) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    Ok(found)
}
