//! `cleanup` end to end: take the changes' locks, read the verified retention logs, gather the
//! facts, decide, and — unless it is a dry run — carry the decisions out. Also run by `approve`
//! for the one run it completed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::decide::{Decision, decide};
use super::execute::{Applied, ExecError, Executor};
use super::facts::RunFacts;
use super::gather::{GitReach, gather, known_changes};
use super::ledger::{Ledger, read_into};
use super::policy::Policy;
use super::review;
use crate::audit::{Tampering, log_name_of, read_shared, verify_source};
use crate::config::Config;
use crate::git::{GitError, Repo};
use crate::ids::ChangeId;
use crate::run::Layout;
use crate::run::locate::RUN_REFS;
use crate::store::{ChangeLock, LockError};

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Lock(LockError),
    /// A retention log does not verify: decisions would rest on edited records.
    #[error("{}: {detail}", path.display())]
    Tampered { path: PathBuf, detail: String },
    #[error("cannot read {}: {detail}", path.display())]
    Read { path: PathBuf, detail: String },
    #[error(transparent)]
    Exec(#[from] ExecError),
}

pub struct Options {
    /// Only these changes (all with a trace when `None`).
    pub changes: Option<BTreeSet<ChangeId>>,
    /// Act on this one run only (the others are decided on as context: `keep_last`, refs that
    /// stay).
    pub only_run: Option<(String, String)>,
    pub dry_run: bool,
    pub now: Timestamp,
    /// Changes whose lock the caller already holds.
    pub held: Vec<ChangeId>,
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub decisions: Vec<Decision>,
    /// Changes another process holds: not decided on.
    pub busy: Vec<String>,
    /// What was done (`None` for a dry run).
    pub applied: Option<Applied>,
}

/// The retention log and review queue folded into one ledger, after checking both chains. A
/// torn last line (a crash mid-append) is tolerated — the next append repairs it; any other
/// break refuses.
pub fn load_ledger(repo: &Repo, config: &Config) -> Result<Ledger, CleanupError> {
    let log = retention_log_path(repo, config);
    let queue = review::queue_path(&log);
    let mut ledger = Ledger::new();
    for (path, name) in [
        (log.clone(), log_name_of(&log)),
        (queue, review::QUEUE_LOG.to_string()),
    ] {
        let bytes = match read_shared(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(CleanupError::Read {
                    path,
                    detail: e.to_string(),
                });
            }
        };
        // The chain is checked over the very bytes that are folded: one read, no gap between.
        let report = verify_source(std::io::Cursor::new(&bytes), &name, &[]).map_err(|e| {
            CleanupError::Read {
                path: path.clone(),
                detail: e.to_string(),
            }
        })?;
        if let Some(f) = report.failure.filter(|f| f.kind != Tampering::Torn) {
            return Err(CleanupError::Tampered {
                path,
                detail: format!("line {} {} ({})", f.line, f.kind.as_str(), f.detail),
            });
        }
        read_into(&mut ledger, &bytes);
    }
    Ok(ledger)
}

/// Decide (and unless `dry_run`, apply) retention for the runs in scope. `progress` hears of
/// long steps: `(what, done, total)`.
pub fn cleanup(
    repo: &Repo,
    config: &Config,
    policy: &Policy,
    opts: &Options,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Report, CleanupError> {
    let started = std::time::Instant::now();
    let phase = |what: &str| {
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "cleanup: {what}");
    };
    let layout = Layout::new(repo.common_dir());
    let ledger = load_ledger(repo, config)?;
    phase("read the retention logs");
    let changes = match &opts.changes {
        Some(c) => c.clone(),
        None => known_changes(repo, config, &layout, &ledger)?,
    };
    let mut busy: BTreeSet<ChangeId> = BTreeSet::new();
    let mut _locks = Vec::new();
    if !opts.dry_run {
        for change in changes.iter().filter(|c| !opts.held.contains(c)) {
            match ChangeLock::acquire(&layout.lock(change), change.as_str()) {
                Ok(l) => _locks.push(l),
                Err(LockError::Busy { .. }) => {
                    busy.insert(change.clone());
                }
                Err(e) => return Err(CleanupError::Lock(e)),
            }
        }
    }
    // Every ref outside the run namespace: the keepers of run tips, and what reachability hides.
    let outside = repo.refs_outside(RUN_REFS)?;
    let facts = gather(
        repo,
        config,
        &changes,
        &busy,
        &outside,
        ledger,
        |n, total| progress("reading runs", n, total),
    )?;
    phase("gathered the runs");
    let hide: Vec<git2::Oid> = outside.iter().map(|r| r.oid).collect();
    let reach = GitReach { repo, hide };
    let all = decide(&facts, policy, opts.now, &reach);
    phase("decided");
    let in_scope = |d: &Decision| {
        opts.only_run
            .as_ref()
            .is_none_or(|(c, r)| &d.change == c && &d.run_id == r)
    };
    let busy_names: Vec<String> = busy.iter().map(|c| c.to_string()).collect();
    if opts.dry_run {
        return Ok(Report {
            decisions: all.into_iter().filter(in_scope).collect(),
            busy: busy_names,
            applied: None,
        });
    }
    let by_key: BTreeMap<(String, String), &RunFacts> = facts
        .iter()
        .map(|f| ((f.change.clone(), f.run_id.clone()), f))
        .collect();
    let exec = Executor {
        repo,
        config,
        policy,
        layout: &layout,
        now: opts.now,
    };
    let scoped: Vec<&Decision> = all.iter().filter(|d| in_scope(d)).collect();
    let mut applied = exec.apply(&scoped, &by_key, progress)?;
    phase("applied");
    let touched: BTreeSet<String> = scoped
        .iter()
        .filter(|d| d.changed || d.purge)
        .map(|d| d.change.clone())
        .collect();
    exec.update_plans(&touched, &all, &by_key, &mut applied);
    let changed: Vec<&Decision> = scoped.iter().copied().filter(|d| d.changed).collect();
    exec.notify(&changed, &mut applied);
    phase("updated the workspace");
    let decisions = all.into_iter().filter(in_scope).collect();
    Ok(Report {
        decisions,
        busy: busy_names,
        applied: Some(applied),
    })
}

/// Where the retention log is (for messages).
pub fn retention_log_path(repo: &Repo, config: &Config) -> PathBuf {
    repo.main_root().join(config.paths.retention_audit.as_str())
}

/// `path` relative to the repository's main worktree, for messages.
pub fn shown(repo: &Repo, path: &Path) -> String {
    path.strip_prefix(repo.main_root())
        .unwrap_or(path)
        .display()
        .to_string()
}
