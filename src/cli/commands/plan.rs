//! `git microloop plan`: print the ordered plan and its hash.

use clap::Args;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, DIM, GOOD, Out, Stderr, paint};
use crate::config::PlannerConfigFile;
use crate::ids::{Seed, parse_seed};
use crate::plan::{PlannedTask, Strategy};
use crate::planning::{Planned, PlanningError, TasksSource, plan_change};
use crate::tasks::Status;

/// Print the ordered micro-task plan of a change and its plan hash.
///
/// The plan is derived from the change's tasks.md, the strategy and the seed, and nothing else:
/// the same inputs give a byte-identical plan and hash on every machine.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop plan                       # the change named by the current branch
  git microloop plan --change CH-002 --json
  git microloop plan --seed 7 --strategy by-file")]
pub struct PlanArgs {
    /// The change (default: from the branch name, else the only change folder).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Seed for ordering [P] tasks (overrides MICROLOOP_SEED and the config files).
    #[arg(long, value_name = "N", value_parser = parse_seed, allow_negative_numbers = true)]
    pub seed: Option<Seed>,
    /// Planning strategy (overrides MICROLOOP_STRATEGY and the config files).
    #[arg(long, value_name = "S", value_parser = parse_strategy)]
    pub strategy: Option<Strategy>,
    /// Print the plan as JSON (the shape is documented in the README).
    #[arg(long)]
    pub json: bool,
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.parse()
}

pub fn cmd_plan(args: &PlanArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let change = ws.change(args.change.as_deref())?;
    let cli = PlannerConfigFile {
        seed: args.seed,
        strategy: args.strategy,
    };
    let planned = plan_change(&ws.repo, &ws.config, &change, cli, TasksSource::Worktree)
        .map_err(planning_error)?;
    for d in &planned.diagnostics {
        err.diagnostic(d);
    }
    let mut out = Out::new();
    if args.json {
        out.json(&PlanJson::new(&planned))?;
    } else {
        print_human(&mut out, &planned)?;
    }
    out.flush()?;
    Ok(())
}

/// The `--json` document: a schema version around the plan.
#[derive(serde::Serialize)]
struct PlanJson<'a> {
    schema_version: u32,
    #[serde(flatten)]
    planned: &'a Planned,
}

impl<'a> PlanJson<'a> {
    fn new(planned: &'a Planned) -> Self {
        PlanJson {
            schema_version: 1,
            planned,
        }
    }
}

pub fn planning_error(e: PlanningError) -> CliError {
    match e {
        PlanningError::Tasks { file, diagnostics } => {
            CliError::usage(format!("{file} cannot be planned"))
                .with_diagnostics(diagnostics)
                .hint(format!(
                    "fix the lines named above in {file}, then run the command again"
                ))
        }
        PlanningError::Io { file, source } => {
            CliError::usage(format!("cannot read {file}")).cause(source.to_string())
        }
        PlanningError::Config(e) => e.into(),
        PlanningError::Git(e) => e.into(),
    }
}

fn print_human(out: &mut Out, p: &Planned) -> std::io::Result<()> {
    let plan = &p.plan;
    let run = plan.to_execute().count();
    out.line(&format!(
        "{} {} — {} task{}, {} to run · strategy {} · seed {}",
        paint(BOLD, "Plan for"),
        paint(BOLD, p.change.as_str()),
        plan.tasks.len(),
        if plan.tasks.len() == 1 { "" } else { "s" },
        run,
        plan.strategy,
        plan.seed,
    ))?;
    if let Some(f) = &plan.fallback {
        out.line(&format!(
            "fallback: {} (by file, from {})",
            f.reason, f.source
        ))?;
    }
    let id_width = plan
        .tasks
        .iter()
        .map(|t| t.task.key.chars().count())
        .max()
        .unwrap_or(4);
    for t in &plan.tasks {
        out.line(&task_row(t, id_width))?;
    }
    out.line(&format!("plan hash {}", plan.plan_hash))
}

fn task_row(t: &PlannedTask, id_width: usize) -> String {
    let task = &t.task;
    let mut markers = String::new();
    if task.parallel {
        markers.push_str("[P] ");
    }
    if let Some(s) = &task.story {
        markers.push_str(&format!("[{s}] "));
    }
    let status = match task.status {
        Status::Open => String::new(),
        Status::Done => format!(" {}", paint(GOOD, "(done)")),
        Status::Skipped => format!(" {}", paint(DIM, "(skipped)")),
    };
    let deps = if task.depends_on.is_empty() {
        String::new()
    } else {
        paint(DIM, &format!("  after {}", task.depends_on.join(", ")))
    };
    format!(
        "{:>4}  {:<id_width$}  {markers}{}{status}{deps}",
        t.position, task.key, task.title
    )
}
