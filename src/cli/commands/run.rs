//! `git microloop run`: plan the change and run every open task as its own commit.

use clap::Args;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::Stderr;
use crate::cli::progress::drive;
use crate::config::{PlannerConfigFile, attempts_from_env, resolve_attempts};
use crate::ids::{Seed, parse_seed};
use crate::implementers::{preset_names, repo_wrapper_in, resolve};
use crate::plan::Strategy;
use crate::run::{StartOptions, start};

/// Run the change's micro-tasks: one commit per task, with trailers, QA and retries.
///
/// Tasks are applied in an isolated worktree of the run branch microloop/<CH>/<RUN>, so your
/// working tree and uncommitted work are never touched. On success the change branch is
/// fast-forwarded to the run; on failure the run is kept for `continue`, `skip` or `abort`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop run --implementer claude         # Claude Code; also codex, aider, script
  git microloop run --implementer claude -- --model sonnet   # extra arguments for the agent
  git microloop run --implementer -- ./scripts/implement.sh --fast
  git microloop run                              # implementer from [executor] command
  git microloop run --manual                     # apply each task yourself
  git microloop run --only T003,T004 --max-attempts 3

The implementer gets the task through MICROLOOP_TASK_ID, MICROLOOP_TASK_TITLE,
MICROLOOP_TASK_FILE (JSON with the whole task), MICROLOOP_PROMPT_FILE (a prompt for an
agent), MICROLOOP_CHANGE, MICROLOOP_RUN, MICROLOOP_SEED and MICROLOOP_PLAN_HASH; it runs in
the run's worktree with stdin closed. Attempts: --max-attempts > MICROLOOP_MAX_ATTEMPTS >
.microloop.toml > configs/tests.yaml > 2.")]
pub struct RunArgs {
    /// The change (default: from the branch name, else the only change folder).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Seed for ordering [P] tasks.
    #[arg(long, value_name = "N", value_parser = parse_seed, allow_negative_numbers = true)]
    pub seed: Option<Seed>,
    /// Planning strategy: spec-like, document or by-file.
    #[arg(long, value_name = "S", value_parser = |s: &str| s.parse::<Strategy>())]
    pub strategy: Option<Strategy>,
    /// An implementer preset (claude, codex, aider, script, or `[implementers.<name>]`) or a
    /// program; arguments after `--` are added to it. Alone, the whole command follows `--`.
    #[arg(long, value_name = "PRESET|PROGRAM", num_args = 0..=1)]
    pub implementer: Option<Option<String>>,
    /// Apply each task yourself: the run stops at every task in your worktree.
    #[arg(long, conflicts_with = "implementer")]
    pub manual: bool,
    /// Attempts per task before the run stops as failed (1-10; default from config, else 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_attempts: Option<u32>,
    /// Run only these tasks (ids or keys, comma-separated).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Pass --no-verify to git commit (skip your pre-commit and commit-msg hooks).
    #[arg(long)]
    pub no_verify: bool,
    /// Print the outcome as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The implementer command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn cmd_run(args: &RunArgs, err: &Stderr) -> Result<(), CliError> {
    if args.manual && !args.command.is_empty() {
        return Err(CliError::usage(
            "--manual runs no implementer; drop the command",
        ));
    }
    let ws = Workspace::open()?;
    let implementer = match (&args.implementer, args.command.is_empty()) {
        (Some(Some(name)), _) => {
            let r = resolve(name, &args.command, &ws.config.implementers, |n| {
                repo_wrapper_in(ws.repo.workdir(), n)
            });
            tracing::debug!(name = %name, origin = ?r.origin, "implementer resolved");
            Some(r.argv)
        }
        (_, false) => Some(args.command.clone()),
        (Some(None), true) => {
            return Err(CliError::usage("--implementer needs a preset or a program")
                .hint(format!(
                    "presets: {}",
                    preset_names(&ws.config.implementers).join(", ")
                ))
                .hint("git microloop run --implementer claude, or --implementer -- ./implement.sh ARGS…"));
        }
        (None, true) => None,
    };
    let env_attempts = attempts_from_env(|k| std::env::var(k).ok())?;
    let (max_attempts, _) = resolve_attempts(args.max_attempts, env_attempts, &ws.config);
    let change = ws.change(args.change.as_deref())?;
    let opts = StartOptions {
        change,
        planner: PlannerConfigFile {
            seed: args.seed,
            strategy: args.strategy,
        },
        implementer,
        manual: args.manual,
        max_attempts: Some(max_attempts),
        only: args.only.clone(),
        no_verify: args.no_verify,
    };
    drive(&ws, err, args.json, |cx| start(cx, opts))
}
