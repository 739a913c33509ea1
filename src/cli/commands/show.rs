//! `git microloop show`: one run's evidence, readable — tasks, commits, timings, QA, files —
//! from summary.json, checked against the commits themselves.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, DIM, GOOD, Out, Stderr, WARN, paint};
use crate::evidence::summary::Summary;
use crate::git::short_oid;
use crate::run::Layout;
use crate::run::locate::artifacts_dir;

/// Show one run's evidence: tasks, commits, timings, QA results and files.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop show                  # the latest run of the current change
  git microloop show run-20261124T10  # any unique prefix of a run id
  git microloop show latest --json")]
pub struct ShowArgs {
    /// A run id, a unique prefix of one, or `latest`.
    #[arg(default_value = "latest", value_name = "RUN")]
    pub run: String,
    /// The change, for `latest` (default: from the branch name, else the only change folder).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Print the summary (with a `commits_verified` field) as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_show(args: &ShowArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let evidence = evidence_dir(&ws, &args.run, args.change.as_deref(), err)?;
    let path = evidence.join("summary.json");
    let summary: Summary = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            CliError::usage(format!("{} is not a valid summary: {e}", path.display()))
        })?,
        Err(e) => {
            return Err(CliError::usage(format!("cannot read {}", path.display()))
                .cause(e.to_string())
                .hint("its artifacts may have been purged; `git microloop status` shows the run"));
        }
    };
    let checks = verify_commits(&ws, &summary);
    let mut out = Out::new();
    if args.json {
        out.json(&serde_json::json!({
            "summary": summary,
            "commits_verified": checks.iter().all(|c| c.is_none()),
            "commit_problems": checks.iter().flatten().collect::<Vec<_>>(),
        }))?;
    } else {
        print_summary(&mut out, &summary, &checks, &evidence)?;
    }
    out.flush()?;
    for problem in checks.iter().flatten() {
        err.warn(problem);
    }
    Ok(())
}

/// For each task, `None` if its commit exists and carries matching trailers, else the problem.
fn verify_commits(ws: &Workspace, s: &Summary) -> Vec<Option<String>> {
    s.tasks
        .iter()
        .map(|t| {
            let commit = t.commit.as_deref()?;
            let Some(c) = ws.repo.trailer_commit(commit) else {
                return Some(format!("{}: commit {commit} is missing", t.task_id));
            };
            let ok = c.trailer("Microloop-Task") == Some(t.task_id.as_str())
                && c.trailer("Microloop-Run") == Some(s.run_id.as_str())
                && c.trailer("Microloop-Plan") == Some(s.plan_hash.as_str());
            (!ok).then(|| {
                format!(
                    "{}: commit {commit} does not carry this run's trailers",
                    t.task_id
                )
            })
        })
        .collect()
}

fn print_summary(
    out: &mut Out,
    s: &Summary,
    checks: &[Option<String>],
    evidence: &Path,
) -> std::io::Result<()> {
    out.line(&format!(
        "{} {} of {} — {}",
        paint(BOLD, "Run"),
        s.run_id,
        s.change,
        s.status
    ))?;
    out.line(&format!(
        "  plan {} · seed {} · strategy {} · planner v{}",
        s.plan_hash, s.seed, s.strategy, s.planner_version
    ))?;
    if let Some(f) = &s.planner_fallback {
        out.line(&format!("  fallback plan: {f}"))?;
    }
    out.line(&format!(
        "  {} → {} on {}",
        short_oid(&s.base_commit),
        s.head_commit.as_deref().map_or("-", short_oid),
        s.run_branch.trim_start_matches("refs/heads/")
    ))?;
    out.line(&format!(
        "  started {}{}",
        s.started_at,
        s.finished_at
            .as_deref()
            .map_or(String::new(), |f| format!(" · finished {f}"))
    ))?;
    out.line("")?;
    out.line(&paint(
        DIM,
        "  task        status   commit        files     +/-     QA       time",
    ))?;
    for (t, check) in s.tasks.iter().zip(checks) {
        let mark = if check.is_some() {
            paint(WARN, "✗")
        } else if t.status == "done" {
            paint(GOOD, "✓")
        } else {
            " ".to_string()
        };
        out.line(&format!(
            "{mark} {:<10}  {:<7}  {:<12}  {:>5}  {:>9}  {:<7}  {}",
            t.task_id,
            t.status,
            t.commit.as_deref().map_or("-", short_oid),
            t.files_touched.len(),
            format!("+{} −{}", t.lines_added, t.lines_removed),
            t.qa_result.as_deref().unwrap_or("-"),
            t.duration_ms
                .map_or("-".to_string(), |d| format!("{:.1} s", d as f64 / 1000.0)),
        ))?;
        out.line(&paint(DIM, &format!("    {}", t.title)))?;
        for q in &t.qa {
            out.line(&paint(
                DIM,
                &format!(
                    "    QA {} {} ({} ms) {}",
                    q.name, q.result, q.duration_ms, q.log
                ),
            ))?;
        }
    }
    let tot = &s.totals;
    out.line("")?;
    out.line(&format!(
        "  {} done, {} skipped, {} failed of {} · {} files · +{} −{} · {:.1} s",
        tot.done,
        tot.skipped,
        tot.failed,
        tot.tasks,
        tot.files_touched,
        tot.lines_added,
        tot.lines_removed,
        tot.duration_ms as f64 / 1000.0
    ))?;
    out.line(&format!(
        "  retention: {}{}",
        s.retention.state,
        s.retention
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({r})"))
    ))?;
    out.line(&format!("  evidence: {}", evidence.display()))
}

/// The artifact folder of the run `wanted` names (see `Workspace::run`): where its run state
/// says — the configuration may have moved the folder since — else where the configuration
/// puts it.
fn evidence_dir(
    ws: &Workspace,
    wanted: &str,
    change: Option<&str>,
    err: &Stderr,
) -> Result<PathBuf, CliError> {
    let r = ws.run(wanted, change)?;
    match Layout::new(ws.repo.common_dir()).load(&r.change, &r.run) {
        Ok(state) => Ok(state.artifacts),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                err.warn(&e.to_string());
            }
            Ok(artifacts_dir(
                &ws.repo,
                &ws.config,
                &r.change,
                r.run.as_str(),
            ))
        }
    }
}
