//! Naming and finding runs: a run's branch and artifact folder, every run a change has a trace
//! of, and which run a `RUN` argument means — `latest`, or a unique prefix of a run id.
//!
//! One resolver serves every command (`show`, `status`, `approve`, `retain`, `release`), so
//! `show latest` and `approve latest` always mean the same run. `latest` is the run that
//! started last: by the start time its run state records (summary.json's when the state is
//! gone), then by id. Run ids carry their start to the second only, and two runs can start in
//! the same second (an `abort` and a new `run`), so the id alone is not enough.

use std::collections::BTreeSet;
use std::io;
use std::path::PathBuf;

use jiff::Timestamp;

use super::state::{Layout, RunState};
use crate::config::Config;
use crate::evidence::summary::Summary;
use crate::git::Repo;
use crate::ids::{ChangeId, RunId};

/// Where run branches live; nothing outside it is a run branch.
pub const RUN_REFS: &str = "refs/heads/microloop/";

/// `refs/heads/microloop/<CH>/<RUN>`.
pub fn run_branch(change: &ChangeId, run: &RunId) -> String {
    format!("{RUN_REFS}{change}/{run}")
}

/// `refs/heads/microloop/<CH>/<RUN>` → (change, run), for well-formed names only.
pub fn parse_run_ref(name: &str, config: &Config) -> Option<(ChangeId, RunId)> {
    let rest = name.strip_prefix(RUN_REFS)?;
    let (change, run) = rest.split_once('/')?;
    let change = ChangeId::parse(change, &config.change.pattern).ok()?;
    let run = RunId::parse(run)?;
    Some((change, run))
}

/// The artifact folder of a run: `<main worktree>/<paths.artifacts>/<RUN>`.
pub fn artifacts_dir(repo: &Repo, config: &Config, change: &ChangeId, run: &str) -> PathBuf {
    repo.main_root()
        .join(config.paths.artifacts.for_change(change))
        .join(run)
}

/// A run, resolved from `latest` or a unique prefix of its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub change: ChangeId,
    pub run: RunId,
}

/// Why a `RUN` argument names no run: the message says why, the hint what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LocateError {
    pub message: String,
    pub hint: String,
}

fn not_found(message: impl Into<String>, hint: impl Into<String>) -> LocateError {
    LocateError {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Every run with a trace (run state, artifact folder, branch) of `changes`.
fn known_runs(
    repo: &Repo,
    config: &Config,
    layout: &Layout,
    changes: &BTreeSet<ChangeId>,
) -> BTreeSet<(ChangeId, RunId)> {
    let mut out = BTreeSet::new();
    for c in changes {
        for r in layout.runs(c) {
            out.insert((c.clone(), r));
        }
        let dir = repo.main_root().join(config.paths.artifacts.for_change(c));
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if let Some(r) = e.file_name().to_str().and_then(RunId::parse) {
                    out.insert((c.clone(), r));
                }
            }
        }
    }
    if let Ok(refs) = repo.refs_under(RUN_REFS) {
        for r in refs {
            if let Some((c, run)) = parse_run_ref(&r.name, config)
                && changes.contains(&c)
            {
                out.insert((c, run));
            }
        }
    }
    out
}

/// When the run started, from its run state, else from its summary.json; `None` when neither
/// says (such a run sorts before every run that does).
fn started_at(
    repo: &Repo,
    config: &Config,
    r: &RunRef,
    state: Option<&RunState>,
) -> Option<Timestamp> {
    match state {
        Some(s) => s.started_at.parse().ok(),
        None => {
            let path = artifacts_dir(repo, config, &r.change, r.run.as_str()).join("summary.json");
            let bytes = std::fs::read(path).ok()?;
            let summary: Summary = serde_json::from_slice(&bytes).ok()?;
            summary.started_at.parse().ok()
        }
    }
}

/// `runs`, oldest first — by start time, then by id — each with its run state as read (once)
/// to find that time.
pub fn by_start(
    repo: &Repo,
    config: &Config,
    layout: &Layout,
    runs: impl IntoIterator<Item = RunRef>,
) -> Vec<(RunRef, io::Result<RunState>)> {
    let mut keyed: Vec<(Option<Timestamp>, RunRef, io::Result<RunState>)> = runs
        .into_iter()
        .map(|r| {
            let state = layout.load(&r.change, &r.run);
            (started_at(repo, config, &r, state.as_ref().ok()), r, state)
        })
        .collect();
    keyed.sort_by(|(ta, a, _), (tb, b, _)| ta.cmp(tb).then_with(|| a.run.cmp(&b.run)));
    keyed.into_iter().map(|(_, r, s)| (r, s)).collect()
}

/// The run `wanted` names: `latest` (the newest run of `latest_of`) or a unique prefix of a run
/// id among the runs of `changes`.
pub fn locate(
    repo: &Repo,
    config: &Config,
    changes: &BTreeSet<ChangeId>,
    wanted: &str,
    latest_of: Option<&ChangeId>,
) -> Result<RunRef, LocateError> {
    let layout = Layout::new(repo.common_dir());
    if wanted == "latest" {
        let Some(change) = latest_of else {
            return Err(not_found("`latest` needs a change", "pass --change CH-###"));
        };
        let one = BTreeSet::from([change.clone()]);
        let runs = known_runs(repo, config, &layout, &one)
            .into_iter()
            .map(|(change, run)| RunRef { change, run });
        return by_start(repo, config, &layout, runs)
            .pop()
            .map(|(r, _)| r)
            .ok_or_else(|| {
                not_found(
                    format!("{change} has no runs yet"),
                    "start one with: git microloop run",
                )
            });
    }
    let matches: Vec<(ChangeId, RunId)> = known_runs(repo, config, &layout, changes)
        .into_iter()
        .filter(|(_, r)| r.as_str().starts_with(wanted))
        .collect();
    match matches.as_slice() {
        [(change, run)] => Ok(RunRef {
            change: change.clone(),
            run: run.clone(),
        }),
        [] => Err(not_found(
            format!("no run matches {wanted:?}"),
            "`git microloop status` lists the runs",
        )),
        many => Err(not_found(
            format!(
                "{wanted:?} matches {} runs: {}",
                many.len(),
                many.iter()
                    .take(5)
                    .map(|(_, r)| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "give more of the run id",
        )),
    }
}
