//! What cleanup knows about each run: a snapshot gathered from run branches, artifact folders,
//! summaries, run state and the audit logs. Plain data, so the decision function over it is
//! pure and can be tested on any combination — including the damaged ones.

use crate::evidence::summary::Summary;

use super::ledger::RunLedger;

/// One run, found by any of its traces: its branch, its artifact folder, its run state or an
/// audit event. Any of them may be missing.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub change: String,
    pub run_id: String,
    /// `refs/heads/microloop/<CH>/<RUN>`, when it exists.
    pub branch: Option<BranchFacts>,
    pub artifacts: ArtifactFacts,
    /// Our run worktree (`.git/microloop/worktrees/<RUN>`) is still on disk.
    pub worktree: bool,
    pub summary: SummaryFacts,
    /// The sequencer's status from `state.json` (`running`, `paused`, …), when there is one.
    pub run_status: Option<String>,
    pub ledger: RunLedger,
    /// Another git-microloop process holds the change (a run, an approval, another cleanup):
    /// the run is not decided on, only counted as a ref that stays.
    pub busy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchFacts {
    pub refname: String,
    pub tip: String,
    /// A ref outside `refs/heads/microloop/` has the tip in its history: `(ref, its commit)`.
    pub keeper: Option<(String, String)>,
    /// The worktree where the branch is checked out, if any.
    pub checked_out: Option<String>,
    /// The tip commit's `Microloop-*` trailers.
    pub tip_trailers: TipTrailers,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TipTrailers {
    pub change: Option<String>,
    pub run: Option<String>,
    pub plan: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArtifactFacts {
    /// The run's artifact folder exists.
    pub exists: bool,
    /// It holds nothing but `summary.json` (only looked at for a run without a branch: a
    /// branch is always something left to delete).
    pub only_summary: bool,
}

#[derive(Debug, Clone)]
pub enum SummaryFacts {
    Missing,
    /// It exists but cannot be read or parsed (the error says why).
    Unreadable(String),
    Read(Box<Summary>),
}

impl SummaryFacts {
    pub fn get(&self) -> Option<&Summary> {
        match self {
            SummaryFacts::Read(s) => Some(s),
            _ => None,
        }
    }
}
