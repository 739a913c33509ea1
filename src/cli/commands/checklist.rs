//! `git microloop checklist`: is the change's latest run metadata present and true?

use clap::Args;

use crate::checklist::{Outcome, evaluate, gather};
use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{DIM, GOOD, Out, Stderr, WARN, paint};
use crate::git::Head;

/// Check the change's run metadata: plan reproduced, summary, one commit per task with
/// trailers, audit events and chain, Spec-Kit checklists. Exit 0 when every item holds, else 1.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop checklist
  git microloop checklist --change CH-001 --json
  git microloop checklist --require-local     # summary and audit log must be here")]
pub struct ChecklistArgs {
    /// The change (default: from the branch name, else the only change folder).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// The run to check: a run id or `latest` (the run of the newest micro-task commit).
    #[arg(long, value_name = "RUN", default_value = "latest")]
    pub run: String,
    /// Also check the approvals the retention policy requires.
    #[arg(long)]
    pub for_approval: bool,
    /// Fail, rather than report "not available here", when local data is missing.
    #[arg(long)]
    pub require_local: bool,
    /// Print the checklist as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_checklist(args: &ChecklistArgs, _err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let change = ws.change(args.change.as_deref())?;
    let tip = match ws.repo.head()? {
        Head::Branch { oid, .. } | Head::Detached(oid) => oid,
        Head::Unborn { name } => {
            return Err(CliError::usage(format!(
                "branch `{name}` has no commits yet"
            )));
        }
    };
    let facts = gather(
        &ws.repo,
        &ws.config,
        &change,
        tip,
        Some(&args.run),
        args.for_approval,
        args.require_local,
    )
    .map_err(|e| CliError::usage(e.to_string()))?;
    let checklist = evaluate(&facts);
    let mut out = Out::new();
    if args.json {
        out.json(&serde_json::json!({ "schema_version": 1, "checklist": checklist }))?;
    } else {
        out.line(&format!(
            "Checklist for {}{}",
            checklist.change,
            checklist
                .run_id
                .as_deref()
                .map_or(String::new(), |r| format!(" (run {r})"))
        ))?;
        for i in &checklist.items {
            let mark = match i.outcome {
                Outcome::Pass => paint(GOOD, "✓"),
                Outcome::Fail => paint(WARN, "✗"),
                Outcome::NotAvailable => paint(DIM, "–"),
            };
            out.line(&format!("{mark} {}", i.title))?;
            if let Some(w) = &i.why {
                out.line(&format!("    {w}"))?;
            }
            if let (Outcome::Fail, Some(f)) = (i.outcome, &i.fix) {
                out.line(&format!("    fix: {f}"))?;
            }
        }
    }
    out.flush()?;
    if checklist.ok {
        Ok(())
    } else {
        let failed: Vec<&str> = checklist
            .items
            .iter()
            .filter(|i| i.outcome == Outcome::Fail)
            .map(|i| i.id)
            .collect();
        Err(CliError::not_ok(format!(
            "the checklist of {} does not hold: {}",
            checklist.change,
            failed.join(", ")
        )))
    }
}
