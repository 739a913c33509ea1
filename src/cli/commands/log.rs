//! `git microloop log`: the reviewer's view — one row per micro-task commit, read from the
//! commits alone (trailers and diffs), so it works in any clone.

use clap::Args;
use serde::Serialize;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, DIM, Out, Stderr, paint};
use crate::git::{FileChange, Head, Repo, TrailerCommit, short_oid};
use crate::paths::BytePath;

/// List the micro-task commits of a range with their task, QA result, files, run and seed.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop log                         # the current branch since it left main
  git microloop log main..change/CH-001
  git microloop log HEAD~20..HEAD --json")]
pub struct LogArgs {
    /// A revision range (`A..B`) or a revision (default: the current branch since its base).
    #[arg(value_name = "RANGE")]
    pub range: Option<String>,
    /// Look at no more than N commits.
    #[arg(long, short = 'n', value_name = "N")]
    pub max_count: Option<usize>,
    /// Print JSON rows.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    commit: String,
    task_id: String,
    title: String,
    qa: Option<String>,
    files: Vec<BytePath>,
    change: Option<String>,
    run_id: Option<String>,
    seed: Option<String>,
    plan_hash: Option<String>,
}

pub fn cmd_log(args: &LogArgs, _err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let range = match &args.range {
        Some(r) => r.clone(),
        None => default_range(&ws)?,
    };
    let commits = ws.repo.log(&range, args.max_count)?;
    let rows: Vec<Row> = commits.iter().filter_map(|c| row(&ws.repo, c)).collect();
    let mut out = Out::new();
    if args.json {
        out.json(&serde_json::json!({ "schema_version": 1, "range": range, "commits": rows }))?;
    } else if rows.is_empty() {
        out.line(&format!("no micro-task commits in {range}"))?;
    } else {
        for r in &rows {
            let plural = if r.files.len() == 1 { " " } else { "s" };
            out.line(&format!(
                "{} {} QA {:<7} {:>3} file{plural}  {}",
                paint(DIM, short_oid(&r.commit)),
                paint(BOLD, &format!("{:<8}", r.task_id)),
                r.qa.as_deref().unwrap_or("-"),
                r.files.len(),
                r.title
            ))?;
            out.line(&paint(
                DIM,
                &format!(
                    "{:>13}run {} · seed {}",
                    "",
                    r.run_id.as_deref().unwrap_or("-"),
                    r.seed.as_deref().unwrap_or("-")
                ),
            ))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A micro-task commit's row; `None` for other commits.
fn row(repo: &Repo, c: &TrailerCommit) -> Option<Row> {
    let task = c.trailer("Microloop-Task")?.to_string();
    let files = c
        .parent
        .and_then(|p| repo.diff_commits(p, c.oid).ok())
        .map(|d| d.files.iter().map(FileChange::exact_path).collect())
        .unwrap_or_default();
    let title = c
        .summary
        .strip_prefix(&format!("{task}: "))
        .unwrap_or(&c.summary)
        .to_string();
    let get = |k: &str| c.trailer(k).map(str::to_string);
    Some(Row {
        commit: c.oid.to_string(),
        task_id: task,
        title,
        qa: get("Microloop-QA"),
        files,
        change: get("Microloop-Change"),
        run_id: get("Microloop-Run"),
        seed: get("Microloop-Seed"),
        plan_hash: get("Microloop-Plan"),
    })
}

/// The current branch since it left its base (`[change] base`, else main/master/trunk).
fn default_range(ws: &Workspace) -> Result<String, CliError> {
    let name = match ws.repo.head()? {
        Head::Branch { name, .. } => name,
        Head::Detached(_) => return Ok("HEAD".to_string()),
        Head::Unborn { name } => {
            // As `git log` does: an error, not an empty list.
            return Err(
                CliError::usage(format!("branch `{name}` has no commits yet"))
                    .hint("commit something first; `git microloop log` lists a branch's commits"),
            );
        }
    };
    let candidates: Vec<&str> = match ws.config.change.base.as_deref() {
        Some(b) => vec![b],
        None => vec!["main", "master", "trunk"],
    };
    Ok(match ws.repo.first_existing_branch(&candidates) {
        Some((base, _)) if base != name => format!("{base}..{name}"),
        _ => name,
    })
}
