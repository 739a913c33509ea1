//! Gathering the facts cleanup decides on: run branches (and which refs keep their commits),
//! artifact folders, summaries, run state and worktrees. Reads only; a run is found through
//! any of its traces, so one whose branch or folder is gone is still decided on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::decide::Reach;
use super::facts::{ArtifactFacts, BranchFacts, RunFacts, SummaryFacts, TipTrailers};
use super::ledger::Ledger;
use crate::config::Config;
use crate::evidence::summary::Summary;
use crate::git::{GitCli, GitError, RefTip, Repo};
use crate::ids::{ChangeId, RunId};
use crate::run::Layout;
use crate::run::locate::{RUN_REFS, parse_run_ref};

/// Every change with a trace: run branches, run state, artifact folders, audit events.
pub fn known_changes(
    repo: &Repo,
    config: &Config,
    layout: &Layout,
    ledger: &Ledger,
) -> Result<BTreeSet<ChangeId>, GitError> {
    let pattern = &config.change.pattern;
    let mut out = BTreeSet::new();
    for r in repo.refs_under(RUN_REFS)? {
        if let Some((c, _)) = parse_run_ref(&r.name, config) {
            out.insert(c);
        }
    }
    let ids = layout
        .changes()
        .into_iter()
        .chain(ledger.keys().map(|(c, _)| c.clone()))
        .chain(artifact_change_dirs(repo, config));
    out.extend(ids.filter_map(|c| ChangeId::parse(&c, pattern).ok()));
    Ok(out)
}

/// When the artifacts template ends in `/{change}`, the folders beside it are changes.
fn artifact_change_dirs(repo: &Repo, config: &Config) -> Vec<String> {
    let t = config.paths.artifacts.as_str();
    match t.strip_suffix("{change}") {
        Some(parent) if !parent.contains("{change}") => {
            dir_names(&repo.main_root().join(parent), |_| true)
        }
        _ => Vec::new(),
    }
}

/// Sub-folder names of `dir` (real folders, or links, which a purge removes as links).
fn dir_names(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() || t.is_symlink()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| keep(n))
        .collect();
    out.sort();
    out
}

/// The facts about every run of `changes`. `busy` changes are held by another process.
pub fn gather(
    repo: &Repo,
    config: &Config,
    changes: &BTreeSet<ChangeId>,
    busy: &BTreeSet<ChangeId>,
    outside: &[RefTip],
    mut ledger: Ledger,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<RunFacts>, GitError> {
    let layout = &Layout::new(repo.common_dir());
    let started = std::time::Instant::now();
    let phase = |what: &str| {
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "gather: {what}");
    };
    let mut branches: BTreeMap<(ChangeId, String), (String, git2::Oid)> = BTreeMap::new();
    for r in repo.refs_under(RUN_REFS)? {
        if let Some((c, run)) = parse_run_ref(&r.name, config)
            && changes.contains(&c)
        {
            branches.insert((c, run.as_str().to_string()), (r.name, r.oid));
        }
    }
    let checked_out: BTreeMap<String, String> = GitCli::new(repo.workdir())
        .worktree_list()?
        .into_iter()
        .filter_map(|w| Some((w.branch?, w.path.display().to_string())))
        .collect();
    let tips: Vec<git2::Oid> = {
        let mut t: Vec<git2::Oid> = branches.values().map(|(_, o)| *o).collect();
        t.sort();
        t.dedup();
        t
    };
    phase("listed branches and worktrees");
    let keepers = repo.keepers(&tips, outside)?;
    phase("found the refs that keep the tips");

    let mut keys: BTreeSet<(ChangeId, String)> = branches.keys().cloned().collect();
    for change in changes {
        let dir = repo
            .main_root()
            .join(config.paths.artifacts.for_change(change));
        for run in dir_names(&dir, |n| RunId::parse(n).is_some()) {
            keys.insert((change.clone(), run));
        }
        for run in layout.runs(change) {
            keys.insert((change.clone(), run.as_str().to_string()));
        }
    }
    for (c, r) in ledger.keys() {
        if let Ok(c) = ChangeId::parse(c, &config.change.pattern)
            && changes.contains(&c)
            && RunId::parse(r).is_some()
        {
            keys.insert((c, r.clone()));
        }
    }

    phase("listed runs");
    let total = keys.len();
    let keys: Vec<(ChangeId, String)> = keys.into_iter().collect();
    // The local files of every run, read on two threads (parsing dominates): artifacts and
    // summary, the sequencer's status, whether our worktree is still there.
    let root = repo.main_root().to_path_buf();
    let read_local = |key: &(ChangeId, String)| {
        let (change, run) = key;
        let dir = root
            .join(config.paths.artifacts.for_change(change))
            .join(run);
        // What else the folder holds only matters for a run without a branch (is anything
        // left to purge?); a branch is always something to delete.
        let (artifacts, summary) = read_artifacts(&dir, !branches.contains_key(key));
        let run_id = RunId::parse(run);
        let run_status = run_id
            .as_ref()
            .and_then(|r| run_status(&layout.state_file(change, r)));
        let worktree = run_id
            .as_ref()
            .is_some_and(|r| std::fs::symlink_metadata(layout.worktree(r)).is_ok());
        (artifacts, summary, run_status, worktree)
    };
    let half = keys.len().div_ceil(2);
    let (first, second) = keys.split_at(half);
    let local: Vec<_> = std::thread::scope(|s| {
        let other = s.spawn(|| second.iter().map(read_local).collect::<Vec<_>>());
        let mut mine: Vec<_> = Vec::with_capacity(total);
        for (n, k) in first.iter().enumerate() {
            if n % 1000 == 0 {
                progress(n * 2, total);
            }
            mine.push(read_local(k));
        }
        mine.extend(other.join().unwrap_or_default());
        mine
    });
    let mut trailers: BTreeMap<git2::Oid, TipTrailers> = BTreeMap::new();
    let mut out = Vec::with_capacity(total);
    for ((change, run), (artifacts, summary, run_status, worktree)) in keys.into_iter().zip(local) {
        let branch = branches
            .get(&(change.clone(), run.clone()))
            .map(|(name, oid)| {
                let tip_trailers = trailers
                    .entry(*oid)
                    .or_insert_with(|| tip_trailers(repo, *oid))
                    .clone();
                BranchFacts {
                    refname: name.clone(),
                    tip: oid.to_string(),
                    keeper: keepers
                        .get(oid)
                        .map(|k| (k.name.clone(), k.oid.to_string())),
                    checked_out: checked_out.get(name).cloned(),
                    tip_trailers,
                }
            });
        let led = ledger
            .remove(&(change.as_str().to_string(), run.clone()))
            .unwrap_or_default();
        out.push(RunFacts {
            busy: busy.contains(&change),
            change: change.as_str().to_string(),
            run_id: run,
            branch,
            artifacts,
            worktree,
            summary,
            run_status,
            ledger: led,
        });
    }
    progress(total, total);
    phase("read every run");
    Ok(out)
}

/// The sequencer's status in a `state.json` (only that field is read).
fn run_status(path: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Status {
        status: String,
    }
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice::<Status>(&bytes)
        .ok()
        .map(|s| s.status)
}

fn tip_trailers(repo: &Repo, oid: git2::Oid) -> TipTrailers {
    match repo.trailer_commit(&oid.to_string()) {
        Some(c) => TipTrailers {
            change: c.trailer("Microloop-Change").map(str::to_string),
            run: c.trailer("Microloop-Run").map(str::to_string),
            plan: c.trailer("Microloop-Plan").map(str::to_string),
        },
        None => TipTrailers::default(),
    }
}

/// The folder's state and its summary. A folder that is a symlink counts as existing (a purge
/// removes the link) but its contents are not read through it.
fn read_artifacts(dir: &Path, list: bool) -> (ArtifactFacts, SummaryFacts) {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(_) => return (ArtifactFacts::default(), SummaryFacts::Missing),
    };
    if !meta.is_dir() {
        let facts = ArtifactFacts {
            exists: true,
            only_summary: false,
        };
        return (
            facts,
            SummaryFacts::Unreadable(format!("{} is not a folder", dir.display())),
        );
    }
    let mut names = Vec::new();
    if list && let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten().take(2) {
            names.push(e.file_name());
        }
    }
    let facts = ArtifactFacts {
        exists: true,
        only_summary: list && names.len() == 1 && names[0] == "summary.json",
    };
    let path = dir.join("summary.json");
    let summary = match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<Summary>(&bytes) {
            Ok(s) => SummaryFacts::Read(Box::new(s)),
            Err(e) => SummaryFacts::Unreadable(format!("{}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SummaryFacts::Missing,
        Err(e) => SummaryFacts::Unreadable(format!("{}: {e}", path.display())),
    };
    (facts, summary)
}

/// Reachability over git: which kept run branches hold a commit.
pub struct GitReach<'a> {
    pub repo: &'a Repo,
    /// Commits of refs outside the run namespace (already known not to hold the targets).
    pub hide: Vec<git2::Oid>,
}

impl Reach for GitReach<'_> {
    fn containing(&self, targets: &[&str], from: &[&str]) -> Vec<Option<usize>> {
        let parse = |s: &&str| git2::Oid::from_str(s).ok();
        let t: Vec<Option<git2::Oid>> = targets.iter().map(parse).collect();
        let f: Vec<(usize, git2::Oid)> = from
            .iter()
            .enumerate()
            .filter_map(|(i, s)| parse(s).map(|o| (i, o)))
            .collect();
        let f_oids: Vec<git2::Oid> = f.iter().map(|(_, o)| *o).collect();
        let valid: Vec<git2::Oid> = t.iter().flatten().copied().collect();
        // Fail closed: when history cannot be walked, nothing holds anything.
        let found = self
            .repo
            .containing(&valid, &f_oids, &self.hide)
            .unwrap_or_else(|_| vec![None; valid.len()]);
        let mut it = found.into_iter();
        t.iter()
            .map(|o| {
                o.and_then(|_| it.next().flatten())
                    .and_then(|j| f.get(j).map(|(i, _)| *i))
            })
            .collect()
    }
}
