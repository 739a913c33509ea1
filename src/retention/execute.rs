//! Carrying decisions out, in an order that survives any interruption:
//!
//! 1. every changed decision is appended to `audit/retention.jsonl` — with the branch tip it was
//!    made on — and new reviews to the review queue, each file with one write and one fsync,
//!    **before anything is deleted**;
//! 2. the run branches of purged runs are deleted in one `git update-ref --stdin` transaction:
//!    each delete carries the commit its decision was made on, and the ref that keeps those
//!    commits is verified too, so if any ref moved nothing is deleted;
//! 3. then, for the runs whose branch is gone (or that had none), the leftover run worktrees
//!    that we own and the artifact folders (keeping `summary.json` with `keep_summary`) —
//!    symlinks removed as links, never followed;
//! 4. the workspace status follows: summary.json's `retention` and `approvals`, and the change's
//!    section of IMPLEMENTATION_PLAN.md; the notifier hears of the changes.
//!
//! A crash anywhere after (1) leaves the decision logged: the next cleanup makes the same
//! decision (logged decisions are not logged again) and deletes what is left. A purged branch
//! can be restored while git still has its objects: `git update-ref <run_branch> <tip>` with
//! the values of its `retention_decision` line. Cleanup never runs `git gc` or `git prune`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cleanup::retention_log_path;
use super::decide::{Decision, State};
use super::facts::RunFacts;
use super::ledger::{DECISION, NOTIFICATION_FAILED, with_run};
use super::policy::{Policy, fmt_ts};
use super::review;
use crate::audit::{AuditError, AuditLog, log_name_of};
use crate::config::Config;
use crate::evidence::sections::{PLAN, RetentionRow, plan_body_with_retention, replace_section};
use crate::evidence::summary::{Approval, Retention, Summary};
use crate::git::{GitCli, RefOp, Repo};
use crate::ids::{ChangeId, RunId};
use crate::run::Layout;
use crate::run::locate::artifacts_dir;
use crate::store::write_json;

/// What the executor works with.
pub struct Executor<'a> {
    pub repo: &'a Repo,
    pub config: &'a Config,
    pub policy: &'a Policy,
    pub layout: &'a Layout,
    pub now: Timestamp,
}

/// What was done.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Applied {
    /// Lines appended to the retention log.
    pub logged: usize,
    pub reviews_scheduled: usize,
    pub branches_deleted: usize,
    pub artifacts_purged: usize,
    pub worktrees_removed: usize,
    pub summaries_updated: usize,
    /// IMPLEMENTATION_PLAN.md files whose sections changed.
    pub plan_files: Vec<PathBuf>,
    /// What could not be done (the next cleanup retries it).
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Nothing was deleted: the decisions could not be logged first.
    #[error("cannot write {}: {source}", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: AuditError,
    },
}

impl Executor<'_> {
    fn retention_log(&self) -> PathBuf {
        retention_log_path(self.repo, self.config)
    }

    /// Carry out `decisions` (those to act on; each has its facts in `facts`).
    pub fn apply(
        &self,
        decisions: &[&Decision],
        facts: &BTreeMap<(String, String), &RunFacts>,
        progress: &mut dyn FnMut(&str, usize, usize),
    ) -> Result<Applied, ExecError> {
        let t0 = std::time::Instant::now();
        let mut applied = Applied::default();
        let ts = fmt_ts(self.now);
        let fact = |d: &Decision| facts.get(&(d.change.clone(), d.run_id.clone())).copied();

        // 1. Log first.
        let lines: Vec<(&str, Value)> = decisions
            .iter()
            .filter(|d| d.changed)
            .map(|d| (DECISION, self.decision_fields(d, fact(d))))
            .collect();
        if !lines.is_empty() {
            let path = self.retention_log();
            let mut log = open_log(&path, &log_name_of(&path))?;
            log.append_many(&lines, &ts)
                .map_err(|source| ExecError::Log { path, source })?;
            applied.logged = lines.len();
        }
        let reviews: Vec<(&str, Value)> = decisions
            .iter()
            .filter_map(|d| {
                let r = d.review.as_ref()?;
                let (seed, plan) = seed_plan(fact(d));
                Some(review::entry(d, r, seed, plan.as_deref()))
            })
            .collect();
        if !reviews.is_empty() {
            let path = review::queue_path(&self.retention_log());
            let mut log = open_log(&path, review::QUEUE_LOG)?;
            log.append_many(&reviews, &ts)
                .map_err(|source| ExecError::Log { path, source })?;
            applied.reviews_scheduled = reviews.len();
        }
        tracing::debug!(ms = t0.elapsed().as_millis() as u64, "execute: logged");
        crate::fault::point("cleanup", "logged");

        // 2 and 3. Branches in one transaction; artifacts while git commits it.
        let purging: Vec<&Decision> = decisions.iter().copied().filter(|d| d.purge).collect();
        let mut ops: Vec<RefOp> = Vec::new();
        let mut keepers: BTreeSet<(String, String)> = BTreeSet::new();
        for d in &purging {
            if let Some(b) = fact(d).and_then(|f| f.branch.as_ref()) {
                ops.push(RefOp::Delete {
                    name: b.refname.clone(),
                    old: b.tip.clone(),
                });
                if let Some(k) = &d.keeper {
                    keepers.insert(k.clone());
                }
            }
        }
        let deletes = ops.len();
        ops.extend(
            keepers
                .into_iter()
                .map(|(name, old)| RefOp::Verify { name, old }),
        );
        // Branches first, all or nothing; then, only for the runs whose branch is gone (or
        // that had none), the worktrees and artifacts. A failed transaction leaves those runs
        // whole, and the next cleanup tries again.
        let refs_ok = if deletes == 0 {
            true
        } else {
            progress("deleting branches", 0, deletes);
            let result = GitCli::new(self.repo.workdir()).ref_transaction(&ops);
            tracing::debug!(
                ms = t0.elapsed().as_millis() as u64,
                "execute: branches deleted"
            );
            match result {
                Ok(()) => {
                    applied.branches_deleted = deletes;
                    progress("deleting branches", deletes, deletes);
                    true
                }
                Err(e) => {
                    applied.problems.push(format!(
                        "no run branch was deleted: {e}; run `git microloop cleanup` again"
                    ));
                    false
                }
            }
        };
        crate::fault::point("cleanup", "refs_deleted");
        let had_branch = |d: &Decision| fact(d).is_some_and(|f| f.branch.is_some());
        let purging: Vec<&Decision> = purging
            .into_iter()
            .filter(|d| refs_ok || !had_branch(d))
            .collect();
        applied.worktrees_removed = self.remove_worktrees(&purging, facts, &mut applied.problems);
        let mut checked: BTreeMap<String, Result<(), String>> = BTreeMap::new();
        for (n, d) in purging.iter().enumerate() {
            if n % 500 == 0 {
                progress("deleting artifacts", n, purging.len());
            }
            let summary = fact(d).and_then(|f| self.new_summary(d, f));
            match self.purge_artifacts(d, summary.as_ref(), &mut checked) {
                Ok((purged, rewrote)) => {
                    applied.artifacts_purged += usize::from(purged);
                    applied.summaries_updated += usize::from(rewrote);
                }
                Err(e) => applied.problems.push(e),
            }
        }
        progress("deleting artifacts", purging.len(), purging.len());
        tracing::debug!(
            ms = t0.elapsed().as_millis() as u64,
            "execute: artifacts deleted"
        );

        // 4. The workspace follows.
        for d in decisions.iter().filter(|d| !d.purge) {
            match self.update_summary(d, fact(d)) {
                Ok(true) => applied.summaries_updated += 1,
                Ok(false) => {}
                Err(e) => applied.notes.push(e),
            }
        }
        Ok(applied)
    }

    fn decision_fields(&self, d: &Decision, f: Option<&RunFacts>) -> Value {
        let (seed, plan) = seed_plan(f);
        let run_branch = f
            .and_then(|f| f.branch.as_ref().map(|b| b.refname.clone()))
            .or_else(|| {
                f.and_then(|f| f.summary.get())
                    .map(|s| s.run_branch.clone())
            })
            .unwrap_or_else(|| format!("refs/heads/microloop/{}/{}", d.change, d.run_id));
        let artifacts = ChangeId::parse(&d.change, &self.config.change.pattern)
            .map(|c| {
                format!(
                    "{}/{}",
                    self.config.paths.artifacts.for_change(&c),
                    d.run_id
                )
            })
            .unwrap_or_default();
        let mut fields = json!({
            "state": d.state.as_str(),
            "reason": d.reason.as_str(),
            "previous_state": d.previous.as_ref().map(|p| p.state.clone()),
            "previous_reason": d.previous.as_ref().and_then(|p| p.reason.clone()),
            "run_branch": run_branch,
            "tip": d.tip,
            "artifacts": artifacts,
            "eligible_at": d.eligible_at.map(fmt_ts),
            "purge_after": d.purge_after.map(fmt_ts),
            "review_due": d.review.as_ref().map(|r| fmt_ts(r.due)),
            "detail": d.detail,
        });
        if d.state == State::Purged {
            fields["keep_summary"] = json!(self.policy.keep_summary);
            fields["keeper"] = json!(d.keeper.as_ref().map(|k| k.0.clone()));
        }
        with_run(&d.change, &d.run_id, seed, plan.as_deref(), fields)
    }

    /// Delete the run's artifact folder (keeping summary.json with `keep_summary`, rewritten
    /// as `summary` when given). Returns (something was deleted, summary.json was rewritten).
    /// `checked` caches, per change, whether the folders above the run's are plain folders.
    fn purge_artifacts(
        &self,
        d: &Decision,
        summary: Option<&Summary>,
        checked: &mut BTreeMap<String, Result<(), String>>,
    ) -> Result<(bool, bool), String> {
        let Ok(change) = ChangeId::parse(&d.change, &self.config.change.pattern) else {
            return Ok((false, false));
        };
        if RunId::parse(&d.run_id).is_none() {
            return Ok((false, false));
        }
        let root = self.repo.main_root();
        let parent = Path::new(&self.config.paths.artifacts.for_change(&change)).to_path_buf();
        let dir = root.join(&parent).join(&d.run_id);
        // Every folder on the way must be a real folder: a link there would take the deletion
        // somewhere else.
        let ok = checked.entry(d.change.clone()).or_insert_with(|| {
            let mut at = root.to_path_buf();
            for c in parent.components() {
                at.push(c);
                match std::fs::symlink_metadata(&at) {
                    Ok(m) if m.is_dir() => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    _ => {
                        return Err(format!(
                            "{} is not a plain folder (a symlink is never followed)",
                            at.display()
                        ));
                    }
                }
            }
            Ok(())
        });
        if let Err(why) = ok {
            return Err(format!("{} was not purged: {why}", dir.display()));
        }
        let bytes = summary
            .map(summary_bytes)
            .transpose()
            .map_err(|e| e.to_string())?;
        match purge_dir(&dir, self.policy.keep_summary, bytes.as_deref()) {
            Ok(done) => Ok(done),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((false, false)),
            Err(e) => Err(format!("{} was not fully purged: {e}", dir.display())),
        }
    }

    /// Remove the leftover run worktrees we own (`.git/microloop/worktrees/<RUN>`), never a
    /// worktree of yours.
    fn remove_worktrees(
        &self,
        purging: &[&Decision],
        facts: &BTreeMap<(String, String), &RunFacts>,
        problems: &mut Vec<String>,
    ) -> usize {
        let git = GitCli::new(self.repo.workdir());
        let mut removed = 0;
        for d in purging {
            let has = facts
                .get(&(d.change.clone(), d.run_id.clone()))
                .is_some_and(|f| f.worktree);
            let Some(run) = RunId::parse(&d.run_id).filter(|_| has) else {
                continue;
            };
            let path = self.layout.worktree(&run);
            let _ = git
                .run(["worktree".as_ref(), "unlock".as_ref(), path.as_os_str()]
                    as [&std::ffi::OsStr; 3]);
            let res = git.run([
                "worktree".as_ref(),
                "remove".as_ref(),
                "--force".as_ref(),
                path.as_os_str(),
            ] as [&std::ffi::OsStr; 4]);
            match res {
                Ok(_) => removed += 1,
                // Not a registered worktree (any more): a plain folder of ours.
                Err(_) => match remove_tree(&path) {
                    Ok(()) => removed += 1,
                    Err(e) => problems.push(format!(
                        "the run worktree {} was not removed: {e}",
                        path.display()
                    )),
                },
            }
        }
        if removed > 0 {
            let _ = git.run(["worktree", "prune"]);
        }
        removed
    }

    /// summary.json as it should be after the decision (retention state, and the approvals as
    /// the log holds them), when it differs from what is there.
    fn new_summary(&self, d: &Decision, f: &RunFacts) -> Option<Summary> {
        let old = f.summary.get()?;
        let mut s: Summary = old.clone();
        s.retention = retention_of(d, f, self.now);
        s.approvals = approvals_of(f);
        (s != *old).then_some(s)
    }

    /// Bring summary.json up to date with a decision that deletes nothing (atomically and
    /// durably). `Ok(true)` when it was rewritten.
    fn update_summary(&self, d: &Decision, f: Option<&RunFacts>) -> Result<bool, String> {
        let Some(s) = f.and_then(|f| self.new_summary(d, f)) else {
            return Ok(false);
        };
        let Ok(change) = ChangeId::parse(&d.change, &self.config.change.pattern) else {
            return Ok(false);
        };
        let path = artifacts_dir(self.repo, self.config, &change, &d.run_id).join("summary.json");
        // Only a regular file is rewritten: never through a link.
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {}
            _ => return Ok(false),
        }
        write_json(&path, &s)
            .map(|_| true)
            .map_err(|e| format!("could not update {}: {e}", path.display()))
    }

    /// Rewrite the sections of IMPLEMENTATION_PLAN.md of `changes` from every decision about
    /// their runs. The file is the one in the worktree where the change's branch is checked
    /// out, else the one in the current worktree; only the change's section changes.
    pub fn update_plans(
        &self,
        changes: &BTreeSet<String>,
        all: &[Decision],
        facts: &BTreeMap<(String, String), &RunFacts>,
        applied: &mut Applied,
    ) {
        if changes.is_empty() {
            return;
        }
        let worktrees: BTreeMap<String, PathBuf> = GitCli::new(self.repo.workdir())
            .worktree_list()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|w| Some((w.branch?, w.path)))
            .collect();
        for change in changes {
            let Ok(id) = ChangeId::parse(change, &self.config.change.pattern) else {
                continue;
            };
            let mine: Vec<&Decision> = all.iter().filter(|d| &d.change == change).collect();
            let rows: Vec<RetentionRow> = mine
                .iter()
                .map(|d| {
                    let since = if d.changed {
                        Some(fmt_ts(self.now))
                    } else {
                        facts
                            .get(&(d.change.clone(), d.run_id.clone()))
                            .and_then(|f| f.ledger.last.as_ref().map(|l| l.at.clone()))
                    };
                    RetentionRow {
                        run_id: d.run_id.clone(),
                        state: d.state.as_str().to_string(),
                        reason: d.reason.as_str().to_string(),
                        since,
                    }
                })
                .collect();
            // The newest run whose summary is still there (purged ones keep it with
            // keep_summary); read afresh, as purging may have removed it.
            let latest: Option<Summary> = mine.iter().rev().find_map(|d| {
                let p = artifacts_dir(self.repo, self.config, &id, &d.run_id).join("summary.json");
                std::fs::read(p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Summary>(&b).ok())
            });
            let branch = self
                .layout
                .runs(&id)
                .iter()
                .rev()
                .find_map(|r| self.layout.load(&id, r).ok())
                .map(|s| s.change_branch);
            let root = branch
                .and_then(|b| worktrees.get(&b).cloned())
                .unwrap_or_else(|| self.repo.workdir().to_path_buf());
            let rel = self.config.paths.implementation_plan.for_change(&id);
            let path = root.join(&rel);
            let body = plan_body_with_retention(latest.as_ref(), change, &rows);
            // Only a file that is there is updated: creating one would leave an untracked file
            // in your worktree that the branch checked out there does not have.
            let existing = match std::fs::read(&path) {
                Ok(b) => match String::from_utf8(b) {
                    Ok(s) => s,
                    Err(_) => {
                        applied.notes.push(format!(
                            "{} is not UTF-8; its {change} section was not updated",
                            path.display()
                        ));
                        continue;
                    }
                },
                Err(_) => {
                    applied.notes.push(format!(
                        "{} does not exist here; the {change} section was not written",
                        path.display()
                    ));
                    continue;
                }
            };
            match replace_section(&existing, PLAN, change, &body) {
                Ok(updated) if updated == existing => {}
                Ok(updated) => {
                    let written = path
                        .parent()
                        .is_none_or(|d| std::fs::create_dir_all(d).is_ok())
                        && crate::store::write_atomic(&path, updated.as_bytes()).is_ok();
                    if written {
                        applied.plan_files.push(path);
                    } else {
                        applied
                            .notes
                            .push(format!("could not write {}", path.display()));
                    }
                }
                Err(e) => applied.notes.push(format!(
                    "{}: {e}; its {change} section was not updated",
                    path.display()
                )),
            }
        }
    }

    /// Tell the notifier about the changed decisions (one call per cleanup); a failure is logged
    /// as `notification_failed` and reported, never fatal.
    pub fn notify(&self, changed: &[&Decision], applied: &mut Applied) {
        let Some(n) = self.config.notify.as_ref() else {
            return;
        };
        if changed.is_empty() {
            return;
        }
        let event = "retention_changed";
        let payload = json!({
            "event": event,
            "roles": crate::run::notify::roles_of(n),
            "decided_at": fmt_ts(self.now),
            "runs": changed.iter().map(|d| json!({
                "change": d.change,
                "run_id": d.run_id,
                "state": d.state.as_str(),
                "reason": d.reason.as_str(),
                "previous_state": d.previous.as_ref().map(|p| p.state.clone()),
                "detail": d.detail,
                "tip": d.tip,
            })).collect::<Vec<_>>(),
        });
        // Beside the change's run folders, which a purge may have removed.
        let change = changed[0].change.as_str();
        let dir = ChangeId::parse(change, &self.config.change.pattern)
            .map(|c| {
                self.repo
                    .main_root()
                    .join(self.config.paths.artifacts.for_change(&c))
                    .join("notifications")
            })
            .unwrap_or_else(|_| self.repo.common_dir().join("microloop/notifications"));
        if let Err((reason, log)) =
            crate::run::notify::send_payload(n, event, &payload, &dir, self.repo.workdir())
        {
            applied.notes.push(format!(
                "notification of {event} failed: {reason} (see {})",
                log.display()
            ));
            let path = self.retention_log();
            if let Ok(mut l) = AuditLog::open(&path, &log_name_of(&path)) {
                let _ = l.append(
                    NOTIFICATION_FAILED,
                    json!({
                        "notified_event": event,
                        "reason": reason,
                        "log": log.display().to_string(),
                        "runs": changed.iter().map(|d| d.run_id.clone()).collect::<Vec<_>>(),
                    }),
                    &fmt_ts(self.now),
                );
            }
        }
    }
}

fn summary_bytes(s: &Summary) -> std::io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(s).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn open_log(path: &Path, name: &str) -> Result<AuditLog, ExecError> {
    AuditLog::open(path, name).map_err(|source| ExecError::Log {
        path: path.to_path_buf(),
        source,
    })
}

fn seed_plan(f: Option<&RunFacts>) -> (Option<u64>, Option<String>) {
    let Some(f) = f else { return (None, None) };
    match f.summary.get() {
        Some(s) => (Some(s.seed), Some(s.plan_hash.clone())),
        None => (f.ledger.seed, f.ledger.plan_hash.clone()),
    }
}

/// summary.json's `retention` for a decision.
pub fn retention_of(d: &Decision, f: &RunFacts, now: Timestamp) -> Retention {
    let marker = match d.reason {
        super::decide::Reason::RetentionMarker => f
            .ledger
            .marker
            .as_ref()
            .map(|m| (m.reason.clone(), m.until.clone()))
            .or_else(|| {
                f.summary.get().and_then(|s| {
                    s.retention
                        .marker
                        .clone()
                        .map(|m| (m, s.retention.marker_until.clone()))
                })
            }),
        // A marker set but not (yet) deciding, e.g. on a run that is still active.
        _ => f
            .ledger
            .marker
            .as_ref()
            .filter(|m| {
                m.until
                    .as_deref()
                    .and_then(super::policy::parse_ts)
                    .is_none_or(|u| u > now)
            })
            .map(|m| (m.reason.clone(), m.until.clone())),
    };
    Retention {
        state: d.state.as_str().to_string(),
        reason: Some(d.reason.as_str().to_string()),
        marker: marker.as_ref().map(|m| m.0.clone()),
        marker_until: marker.and_then(|m| m.1),
        eligible_at: d.eligible_at.map(fmt_ts),
        purge_after: d.purge_after.map(fmt_ts),
    }
}

/// summary.json's `approvals`: the log's, in order.
pub fn approvals_of(f: &RunFacts) -> Vec<Approval> {
    f.ledger.approvals.iter().map(Approval::from).collect()
}

/// Empty the run's folder (but `summary.json` with `keep`), then remove it unless `keep`. A
/// folder that is itself a link is removed as a link; nothing under it is followed.
///
/// With `keep` and `summary`, summary.json is replaced by those bytes — atomically, by a rename
/// over it — before anything is deleted. The replacement is written into a file of the folder
/// that is about to be deleted anyway (a plain file with no other link), so a bulk purge
/// creates no file per run: file creation costs as much as git's deletion of the branch. With
/// no such file, a temporary one is created. Not fsynced one by one: the retention log,
/// fsynced before, is the record, and a summary that lost its update to a crash is rewritten
/// by the next cleanup.
///
/// The folder is listed once, sub-folders included, and that one listing serves to find the
/// donor file and to delete, so a bulk purge pays per run for little more than the deletions.
/// A sub-folder that gained an entry after it was listed is listed again when it is removed.
///
/// Returns (something was deleted, summary.json was rewritten).
pub fn purge_dir(dir: &Path, keep: bool, summary: Option<&[u8]>) -> std::io::Result<(bool, bool)> {
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        std::fs::remove_file(dir)?;
        return Ok((true, false));
    }
    let top = list_tree(dir)?;
    let is_summary = |n: &Node| n.name == "summary.json";
    let mut donated: Option<&Path> = None;
    let mut rewrote = false;
    if let (true, Some(bytes)) = (keep, summary)
        && top.iter().any(|n| is_summary(n) && n.ft.is_file())
    {
        let target = dir.join("summary.json");
        let donor = top.iter().filter(|n| !is_summary(n)).find_map(Node::donor);
        donated = donor.filter(|d| {
            overwrite(d, bytes)
                .and_then(|_| std::fs::rename(d, &target))
                .is_ok()
        });
        if donated.is_none() {
            let mut tmp = tempfile::Builder::new()
                .prefix(".microloop-")
                .suffix(".tmp")
                .tempfile_in(dir)?;
            std::io::Write::write_all(&mut tmp, bytes)?;
            tmp.persist(&target).map_err(|e| e.error)?;
        }
        rewrote = true;
    }
    let mut any = donated.is_some();
    for node in top.iter().filter(|n| !(keep && is_summary(n))) {
        node.remove(donated)?;
        any = true;
    }
    if !keep {
        std::fs::remove_dir(dir)?;
        any = true;
    }
    Ok((any, rewrote))
}

/// An entry of a listed folder; a sub-folder holds its own entries. Links are leaves.
struct Node {
    path: PathBuf,
    name: std::ffi::OsString,
    ft: std::fs::FileType,
    children: Vec<Node>,
}

/// `dir`'s entries and, recursively, its sub-folders' — each folder read once, no link followed.
fn list_tree(dir: &Path) -> std::io::Result<Vec<Node>> {
    let mut nodes = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        let path = entry.path();
        let children = if ft.is_dir() {
            list_tree(&path)?
        } else {
            Vec::new()
        };
        nodes.push(Node {
            path,
            name: entry.file_name(),
            ft,
            children,
        });
    }
    Ok(nodes)
}

impl Node {
    /// The first plain file at or under this entry with no other hard link: writing into it
    /// changes nothing else.
    fn donor(&self) -> Option<&Path> {
        use std::os::unix::fs::MetadataExt;
        if self.ft.is_dir() {
            return self.children.iter().find_map(Node::donor);
        }
        let lone = self.ft.is_file()
            && std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.is_file() && m.nlink() == 1);
        lone.then_some(self.path.as_path())
    }

    /// Delete this entry (a link as a link), except `gone`: the donor, already renamed away.
    fn remove(&self, gone: Option<&Path>) -> std::io::Result<()> {
        if !self.ft.is_dir() {
            if gone == Some(self.path.as_path()) {
                return Ok(());
            }
            return std::fs::remove_file(&self.path);
        }
        for child in &self.children {
            child.remove(gone)?;
        }
        match std::fs::remove_dir(&self.path) {
            // Something was added since the listing: list it again.
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => remove_tree(&self.path),
            done => done,
        }
    }
}

/// Write `bytes` over `path` in place — without truncating it first, then cutting it to length
/// — so the file's data blocks are reused rather than freed and allocated again: on a disk
/// mounted with `discard`, every freed block waits for the device, and the donor's block is
/// freed anyway when the folder goes.
fn overwrite(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    std::io::Write::write_all(&mut f, bytes)?;
    f.set_len(bytes.len() as u64)
}

/// Remove `path` and everything under it without following a single symlink: a link is
/// removed as a link, whatever it points at.
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    let ft = std::fs::symlink_metadata(path)?.file_type();
    remove_entry(path, ft)
}

fn remove_entry(path: &Path, ft: std::fs::FileType) -> std::io::Result<()> {
    if ft.is_dir() {
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            remove_entry(&entry.path(), entry.file_type()?)?;
        }
        std::fs::remove_dir(path)
    } else {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_removes_links_as_links_and_keeps_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("precious"), "keep me").unwrap();
        let run = dir.path().join("run-1");
        std::fs::create_dir_all(run.join("logs/T1")).unwrap();
        std::fs::write(run.join("summary.json"), "{}").unwrap();
        std::fs::write(run.join("logs/T1/out"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), run.join("logs/link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("precious"), run.join("file-link")).unwrap();
        // A hard link to a file outside must not be written through.
        std::fs::hard_link(outside.path().join("precious"), run.join("hard")).unwrap();
        assert_eq!(
            purge_dir(&run, true, Some(b"{\"new\":1}\n")).unwrap(),
            (true, true)
        );
        let left: Vec<_> = std::fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["summary.json"]);
        assert_eq!(
            std::fs::read(run.join("summary.json")).unwrap(),
            b"{\"new\":1}\n"
        );
        assert_eq!(
            std::fs::read_to_string(outside.path().join("precious")).unwrap(),
            "keep me"
        );
        // Nothing left to delete: the summary is rewritten through a temporary file.
        assert_eq!(purge_dir(&run, true, Some(b"{}")).unwrap(), (false, true));
        assert_eq!(std::fs::read(run.join("summary.json")).unwrap(), b"{}");
        assert_eq!(purge_dir(&run, true, None).unwrap(), (false, false));
        assert_eq!(purge_dir(&run, false, None).unwrap(), (true, false));
        assert!(!run.exists());
        // A run folder that is itself a link: the link goes, the target stays.
        let link = dir.path().join("run-2");
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        assert_eq!(purge_dir(&link, false, None).unwrap(), (true, false));
        assert!(outside.path().join("precious").exists());
    }
}
