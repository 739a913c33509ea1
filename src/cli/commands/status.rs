//! `git microloop status`: the active or latest run of each change.

use clap::Args;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, Out, Stderr, paint};
use crate::ids::ChangeId;
use crate::run::locate::{RunRef, by_start};
use crate::run::{Layout, RunState};

/// Show the active or latest run per change: state, tasks done, current task, logs.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop status
  git microloop status --change CH-001 --json")]
pub struct StatusArgs {
    /// Only this change.
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_status(args: &StatusArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let layout = Layout::new(ws.repo.common_dir());
    let changes: Vec<ChangeId> = match &args.change {
        Some(c) => vec![ws.change(Some(c))?],
        None => layout
            .changes()
            .iter()
            .filter_map(|c| ChangeId::parse(c, &ws.config.change.pattern).ok())
            .collect(),
    };
    let mut runs: Vec<RunState> = Vec::new();
    for change in &changes {
        let open = layout
            .open_run(change)
            .map_err(|e| CliError::usage(e.to_string()))?;
        let latest = match open {
            Some(s) => Some(s),
            None => latest_run(&ws, &layout, change, err),
        };
        runs.extend(latest);
    }
    let mut out = Out::new();
    if args.json {
        out.json(&serde_json::json!({ "schema_version": 1, "runs": runs }))?;
    } else if runs.is_empty() {
        out.line("no runs yet (start one with: git microloop run)")?;
    } else {
        for s in &runs {
            let (done, total) = s.counts();
            out.line(&format!(
                "{}  {}  {}  {done}/{total} tasks",
                paint(BOLD, s.change.as_str()),
                s.run_id,
                s.status.as_str()
            ))?;
            if let Some(c) = &s.current {
                out.line(&format!("  current task: {c}"))?;
            }
            if let Some(f) = &s.failure {
                out.line(&format!("  failed: {} — {}", f.task, f.reason))?;
            }
            if let Some(n) = &s.finish_note {
                out.line(&format!("  {n}"))?;
            }
            out.line(&format!("  logs: {}", s.artifacts.display()))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The run that started last (the same `latest` as every other command's), whose state reads.
fn latest_run(
    ws: &Workspace,
    layout: &Layout,
    change: &ChangeId,
    err: &Stderr,
) -> Option<RunState> {
    let runs = layout.runs(change).into_iter().map(|run| RunRef {
        change: change.clone(),
        run,
    });
    for (_, state) in by_start(&ws.repo, &ws.config, layout, runs)
        .into_iter()
        .rev()
    {
        match state {
            Ok(s) => return Some(s),
            Err(e) => err.warn(&e.to_string()),
        }
    }
    None
}
