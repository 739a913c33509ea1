//! `git microloop checklist`: is the change's latest run metadata present and true? Also the
//! pre-push hook's engine (`--hook`, in `hook.rs`).

mod hook;

use clap::{Args, ValueEnum};

use crate::checklist::{Checklist, Outcome, evaluate, gather};
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
  git microloop checklist --require-local     # summary and audit log must be here

As a hook: hooks/pre-push runs `git microloop checklist --hook pre-push \"$@\"` with git's
update lines on standard input; see `git microloop install-hook`.")]
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
    /// Run as a git hook: `pre-push` reads git's `<local ref> <local sha> <remote ref>
    /// <remote sha>` lines on standard input; `pre-commit` reads the pre-commit framework's
    /// PRE_COMMIT_* variables. Checks each pushed change branch (or branch carrying
    /// micro-task commits) at the pushed commit.
    #[arg(long, value_name = "KIND", conflicts_with_all = ["change", "for_approval"])]
    pub hook: Option<HookKind>,
    /// The hook's own arguments (remote name and URL), passed through by the hook script.
    #[arg(requires = "hook", hide = true)]
    pub hook_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookKind {
    /// git's own pre-push hook (hooks/pre-push).
    PrePush,
    /// The pre-commit framework's pre-push stage (.pre-commit-hooks.yaml).
    PreCommit,
}

pub fn cmd_checklist(args: &ChecklistArgs, err: &Stderr) -> Result<(), CliError> {
    if let Some(kind) = args.hook {
        return hook::run(kind, args, err);
    }
    let ws = Workspace::open()?;
    let change = ws.change(args.change.as_deref())?;
    let tip = match ws.repo.head()? {
        Head::Branch { oid, .. } | Head::Detached(oid) => oid,
        Head::Unborn { name } => {
            return Err(
                CliError::usage(format!("branch `{name}` has no commits yet"))
                    .hint("commit the change and run it (git microloop run) before checking it"),
            );
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
        for l in checklist_lines(&checklist) {
            out.line(&l)?;
        }
    }
    out.flush()?;
    if checklist.ok {
        Ok(())
    } else {
        let failed = checklist.failing();
        Err(CliError::not_ok(format!(
            "the checklist of {} does not hold: {}",
            checklist.change,
            failed.join(", ")
        )))
    }
}

/// The checklist for people: a heading, then one line per item with ✓ / ✗ / –, why and fix.
fn checklist_lines(checklist: &Checklist) -> Vec<String> {
    let mut lines = vec![format!(
        "Checklist for {}{}",
        checklist.change,
        checklist
            .run_id
            .as_deref()
            .map_or(String::new(), |r| format!(" (run {r})"))
    )];
    for i in &checklist.items {
        let mark = match i.outcome {
            Outcome::Pass => paint(GOOD, "✓"),
            Outcome::Fail => paint(WARN, "✗"),
            Outcome::NotAvailable => paint(DIM, "–"),
        };
        lines.push(format!("{mark} {}", i.title));
        if let Some(w) = &i.why {
            lines.push(format!("    {w}"));
        }
        if let (Outcome::Fail, Some(f)) = (i.outcome, &i.fix) {
            lines.push(format!("    fix: {f}"));
        }
    }
    lines
}
