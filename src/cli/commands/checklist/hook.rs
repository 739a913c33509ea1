//! `git microloop checklist --hook pre-push|pre-commit`: the pre-push hook. For every pushed
//! ref, `checklist::push` decides whether it goes out freely or which changes must pass their
//! checklist at the pushed commit; a refusal prints what is missing and how to fix or bypass it.

use std::io::Read;

use serde::Serialize;

use super::{ChecklistArgs, HookKind, checklist_lines};
use crate::checklist::push::{PushUpdate, Scope, parse_updates, passes_unseen, scope};
use crate::checklist::{Checklist, evaluate, gather};
use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{Out, Stderr, eprint_styled};
use crate::git::{Repo, short_ref};
use crate::ids::ChangeId;

/// One pushed ref and what the hook made of it.
#[derive(Debug, Serialize)]
struct RefReport {
    local_ref: String,
    local_sha: String,
    remote_ref: String,
    remote_sha: String,
    /// Why it went out unchecked (absent when it was checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    passed_because: Option<&'static str>,
    checklists: Vec<Checklist>,
    /// Problems that refuse the push before any checklist (an invalid change id in a trailer).
    problems: Vec<String>,
}

impl RefReport {
    fn ok(&self) -> bool {
        self.problems.is_empty() && self.checklists.iter().all(|c| c.ok)
    }
}

pub(super) fn run(kind: HookKind, args: &ChecklistArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let updates = match kind {
        HookKind::PrePush => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| {
                CliError::usage("cannot read the pre-push hook's standard input")
                    .cause(e.to_string())
            })?;
            parse_updates(&input).map_err(|e| {
                CliError::usage(format!("unexpected pre-push input: {e}")).hint(
                    "the pre-push hook passes git's update lines through; run it only from git push",
                )
            })?
        }
        HookKind::PreCommit => from_pre_commit_env(&ws.repo)?,
    };
    let remote = args.hook_args.first().map(String::as_str);
    let mut reports = Vec::new();
    for u in updates {
        reports.push(check_update(&ws, u, remote, args.require_local)?);
    }
    let ok = reports.iter().all(RefReport::ok);
    // git shows a hook's stderr to the person pushing; the report goes there, and the JSON
    // (for tools that run the hook mode themselves) to stdout.
    if args.json {
        let mut out = Out::new();
        out.json(&serde_json::json!({ "schema_version": 1, "ok": ok, "refs": reports }))?;
        out.flush()?;
    } else {
        for r in &reports {
            let name = short_ref(&r.remote_ref);
            if let Some(why) = r.passed_because {
                err.note(&format!("git-microloop: {name}: not checked ({why})"));
                continue;
            }
            for p in &r.problems {
                eprint_styled(&format!("git-microloop: {name}: {p}"));
            }
            for c in &r.checklists {
                if c.ok {
                    err.note(&format!(
                        "git-microloop: {name}: the checklist of {} holds",
                        c.change
                    ));
                } else {
                    eprint_styled(&format!("git-microloop: {name}:"));
                    for l in checklist_lines(c) {
                        eprint_styled(&format!("  {l}"));
                    }
                }
            }
        }
    }
    if ok {
        return Ok(());
    }
    let refused: Vec<String> = reports
        .iter()
        .filter(|r| !r.ok())
        .map(|r| short_ref(&r.remote_ref).to_string())
        .collect();
    Err(CliError::not_ok(format!(
        "push refused: run metadata missing or not holding for {}",
        refused.join(", ")
    ))
    .hint("fix the ✗ items above (usually: `git microloop run`, then push again)")
    .hint("to push anyway, skip the hooks for this one push: git push --no-verify"))
}

/// Decide and, where needed, evaluate the checklists of one pushed ref.
fn check_update(
    ws: &Workspace,
    u: PushUpdate,
    remote: Option<&str>,
    require_local: bool,
) -> Result<RefReport, CliError> {
    let mut report = RefReport {
        local_ref: u.local_ref.clone(),
        local_sha: u.local_sha.clone(),
        remote_ref: u.remote_ref.clone(),
        remote_sha: u.remote_sha.clone(),
        passed_because: passes_unseen(&u),
        checklists: Vec::new(),
        problems: Vec::new(),
    };
    if report.passed_because.is_some() {
        return Ok(report);
    }
    let repo = &ws.repo;
    let pattern = &ws.config.change.pattern;
    let Some(tip) = repo.resolve_commit(&u.local_sha) else {
        report
            .problems
            .push(format!("{} is not a commit here", u.local_sha));
        return Ok(report);
    };
    let named: Vec<String> = [&u.local_ref, &u.remote_ref]
        .into_iter()
        .filter_map(|r| pattern.find_in(short_ref(r)))
        .map(str::to_string)
        .collect();
    let mut carried = Vec::new();
    for c in repo.commits_outside(tip, &already_there(repo, &u, remote)?)? {
        if let Some(ch) = c.trailer("Microloop-Change") {
            carried.push(ch.to_string());
        }
    }
    let changes = match scope(&named, &carried) {
        Scope::Pass(why) => {
            report.passed_because = Some(why);
            return Ok(report);
        }
        Scope::Check(changes) => changes,
    };
    for raw in changes {
        let change = match ChangeId::parse(&raw, pattern) {
            Ok(c) => c,
            Err(e) => {
                report.problems.push(format!(
                    "a pushed commit names the change {raw:?}, which is not a valid change id: {e}"
                ));
                continue;
            }
        };
        let facts = gather(repo, &ws.config, &change, tip, None, false, require_local)
            .map_err(|e| CliError::usage(format!("checking {change}: {e}")))?;
        report.checklists.push(evaluate(&facts));
    }
    Ok(report)
}

/// Commits the remote already has, as far as we know: the remote ref's old tip when we have
/// it, else every remote-tracking ref of that remote (of all remotes when the hook was given
/// a URL), so only the commits this push sends are scanned for trailers.
fn already_there(
    repo: &Repo,
    u: &PushUpdate,
    remote: Option<&str>,
) -> Result<Vec<git2::Oid>, CliError> {
    if !u.is_new()
        && let Some(old) = repo.resolve_commit(&u.remote_sha)
    {
        return Ok(vec![old]);
    }
    if let Some(name) = remote.filter(|r| !r.contains(['/', ':']))
        && let tracked = repo.ref_targets(&format!("refs/remotes/{name}/"))?
        && !tracked.is_empty()
    {
        return Ok(tracked);
    }
    Ok(repo.ref_targets("refs/remotes/")?)
}

/// The pre-commit framework's pre-push stage passes the push through variables, one ref per
/// invocation (it skips deletions itself).
fn from_pre_commit_env(repo: &Repo) -> Result<Vec<PushUpdate>, CliError> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let Some(to) = var("PRE_COMMIT_TO_REF") else {
        return Err(CliError::usage("PRE_COMMIT_TO_REF is not set").hint(
            "`--hook pre-commit` is for the pre-commit framework's pre-push stage; \
             git's own hook uses `--hook pre-push`",
        ));
    };
    let sha = |rev: &str| repo.resolve_commit(rev).map(|o| o.to_string());
    let zero = "0".repeat(40);
    let local_sha = sha(&to).ok_or_else(|| {
        CliError::usage(format!(
            "PRE_COMMIT_TO_REF={to} is not a commit in this repository"
        ))
    })?;
    // Older pre-commit versions do not name the branches: the current branch stands in, so a
    // change branch is never waved through as "not a branch".
    let current = match repo.head()? {
        crate::git::Head::Branch { name, .. } => format!("refs/heads/{name}"),
        _ => "HEAD".to_string(),
    };
    let local_ref = var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or(current);
    Ok(vec![PushUpdate {
        remote_ref: var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_else(|| local_ref.clone()),
        local_ref,
        local_sha,
        // For a new branch pre-commit passes a revision like `abc^`, or nothing.
        remote_sha: var("PRE_COMMIT_FROM_REF")
            .and_then(|r| sha(&r))
            .unwrap_or(zero),
    }])
}
