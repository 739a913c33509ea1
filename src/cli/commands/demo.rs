//! `git microloop demo`: the whole loop on a sample project embedded in the binary.

use std::path::PathBuf;

use clap::Args;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, Out, Stderr, paint};
use crate::cli::progress::drive;
use crate::config::PlannerConfigFile;
use crate::git::GitCli;
use crate::ids::{ChangeId, ChangePattern};
use crate::run::{StartOptions, start};

/// Create a sample repository and run a whole micro-task loop in it.
///
/// The project (a tiny shell greeter), its Spec-Kit tasks.md with [P] tasks and dependencies, a
/// deterministic implementer script and a QA command are embedded in the binary. Nothing outside
/// the new folder is touched.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop demo
  git microloop demo --dir /tmp/greeter")]
pub struct DemoArgs {
    /// Where to create the demo repository (a new or empty folder; default: a new folder in
    /// the system's temporary directory, kept for you to look at).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the run's outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The sample project: path in the demo repository, contents.
const PROJECT: &[(&str, &str)] = &[
    (
        "README.md",
        include_str!("../../../templates/demo/README.md"),
    ),
    (
        ".gitignore",
        include_str!("../../../templates/demo/gitignore"),
    ),
    (
        ".microloop.toml",
        include_str!("../../../templates/demo/microloop.toml"),
    ),
    (
        "scripts/implement.sh",
        include_str!("../../../templates/demo/scripts/implement.sh"),
    ),
    (
        "scripts/qa.sh",
        include_str!("../../../templates/demo/scripts/qa.sh"),
    ),
];
const TASKS: &str = include_str!("../../../templates/demo/tasks.md");

pub fn cmd_demo(args: &DemoArgs, err: &Stderr) -> Result<(), CliError> {
    let dir = demo_dir(args.dir.as_ref())?;
    err.note(&format!(
        "{} a demo repository in {}",
        paint(BOLD, "Creating"),
        dir.display()
    ));
    let git = GitCli::new(&dir);
    git.run(["init", "-q", "-b", "main"])?;
    // A local identity so the demo works anywhere; no signing (the user's key is not needed).
    for (k, v) in [
        ("user.name", "git-microloop demo"),
        ("user.email", "demo@git-microloop.invalid"),
        ("commit.gpgsign", "false"),
    ] {
        git.run(["config", k, v])?;
    }
    for (path, text) in PROJECT {
        write(&dir, path, text)?;
    }
    git.run(["add", "-A"])?;
    git.run(["commit", "-q", "-m", "Greeter project skeleton"])?;
    git.run(["switch", "-q", "-c", "change/CH-001"])?;
    write(&dir, "changes/CH-001/tasks.md", TASKS)?;
    git.run(["add", "-A"])?;
    git.run(["commit", "-q", "-m", "CH-001: plan the greeter change"])?;

    let ws = Workspace::open_at(&dir)?;
    let change = ChangeId::parse("CH-001", &ChangePattern::default())
        .map_err(|e| CliError::usage(e.to_string()))?;
    let opts = StartOptions {
        change,
        planner: PlannerConfigFile::default(),
        implementer: None,
        manual: false,
        max_attempts: None,
        only: Vec::new(),
        no_verify: false,
    };
    drive(&ws, err, args.json, |cx| start(cx, opts))?;
    if args.json {
        return Ok(());
    }
    if err.is_quiet() {
        // Only what cannot be guessed: where the demo is.
        let mut out = Out::new();
        out.line(&dir.display().to_string())?;
        out.flush()?;
        return Ok(());
    }
    let log = git.run([
        "log",
        "--reverse",
        "--format=%h %s%x00%(trailers:key=Microloop-Task,key=Microloop-QA,separator=%x20·%x20)%x00",
        "main..change/CH-001",
    ])?;
    let mut out = Out::new();
    out.line("")?;
    out.line(&paint(
        BOLD,
        "The change branch, one commit per micro-task:",
    ))?;
    let log = String::from_utf8_lossy(&log.stdout);
    let fields: Vec<&str> = log.split('\0').map(str::trim).collect();
    for pair in fields.chunks(2) {
        if let [subject, trailers] = pair
            && !trailers.is_empty()
        {
            out.line(&format!("  {subject}"))?;
            out.line(&format!("      {trailers}"))?;
        }
    }
    out.line("")?;
    out.line(&paint(BOLD, "Look around:"))?;
    out.line(&format!("  cd {}", dir.display()))?;
    out.line("  git log --format='%h %s%n%(trailers)' main..          # trailers per task")?;
    out.line("  ls artifacts/work/CH-001/run-*/evidence/              # diffs, QA, timings")?;
    out.line("  git microloop plan --change CH-001                    # the seeded plan")?;
    out.flush()?;
    Ok(())
}

fn demo_dir(wanted: Option<&PathBuf>) -> Result<PathBuf, CliError> {
    match wanted {
        Some(d) => {
            let empty = match std::fs::read_dir(d) {
                Ok(mut entries) => entries.next().is_none(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => return Err(CliError::usage(format!("cannot use {}: {e}", d.display()))),
            };
            if !empty {
                return Err(CliError::usage(format!("{} is not empty", d.display()))
                    .hint("give a new or empty folder with --dir"));
            }
            std::fs::create_dir_all(d)?;
            Ok(d.clone())
        }
        None => Ok(tempfile::Builder::new()
            .prefix("git-microloop-demo-")
            .tempdir()?
            .keep()),
    }
}

fn write(dir: &std::path::Path, rel: &str, text: &str) -> Result<(), CliError> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&p, text)?;
    Ok(())
}
