//! The sequencer's persisted state (like `.git/rebase-merge/`): what the run is, what is done,
//! what is next. Saved atomically before every side effect. It is a hint, not the truth: on
//! resume, a task is done when the run branch has a commit whose trailers carry this run and
//! task.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::QaCommand;
use crate::ids::{ChangeId, PlanHash, RunId, Seed};
use crate::paths::BytePath;
use crate::plan::Strategy;
use crate::store::write_json;

pub const STATE_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Working, or interrupted while working (`continue` resumes).
    Running,
    /// Manual mode: waiting for the user to apply the current task.
    Paused,
    /// Stopped after a task used up its attempts; retained (`continue`, `skip`, `abort`).
    Failed,
    Succeeded,
    /// Ended by `abort`; branch kept, retained.
    Aborted,
}

impl RunStatus {
    /// Still holds the change: a new run must wait until this one is finished or aborted.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RunStatus::Running | RunStatus::Paused | RunStatus::Failed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Failed => "failed",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Aborted => "aborted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Done,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskState {
    pub key: String,
    pub title: String,
    pub status: TaskStatus,
    /// Completed attempts (an interrupted attempt does not count).
    pub attempts: u32,
    pub commit: Option<String>,
    pub duration_ms: Option<u64>,
    pub qa_result: Option<String>,
    /// When the task was first started and when its commit was recorded (RFC 3339 UTC).
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// What the task's commit changed (from its evidence).
    #[serde(default)]
    pub files_touched: Vec<BytePath>,
    #[serde(default)]
    pub lines_added: u64,
    #[serde(default)]
    pub lines_removed: u64,
    #[serde(default)]
    pub qa: Vec<QaState>,
}

/// One QA command's result for the task's successful attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QaState {
    pub name: String,
    pub result: String,
    pub duration_ms: u64,
    #[serde(with = "crate::paths::json")]
    pub log: PathBuf,
}

/// How tasks are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mode {
    /// An implementer command in the run's isolated worktree.
    Implementer { argv: Vec<String>, timeout_ms: u64 },
    /// The user applies each task in their own worktree.
    Manual,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub task: String,
    pub attempts: u32,
    pub reason: String,
    #[serde(with = "crate::paths::json")]
    pub log: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub schema_version: u32,
    pub change: ChangeId,
    pub run_id: RunId,
    pub status: RunStatus,
    pub mode: Mode,
    /// `refs/heads/…` of the change branch the run started from.
    pub change_branch: String,
    /// The change branch's commit when the run started.
    pub base: String,
    /// `refs/heads/microloop/<CH>/<RUN>`.
    pub run_branch: String,
    /// Where tasks are applied (the run worktree, or the user's worktree in manual mode).
    #[serde(with = "crate::paths::json")]
    pub worktree: PathBuf,
    #[serde(with = "crate::paths::json")]
    pub artifacts: PathBuf,
    pub seed: Seed,
    pub strategy: Strategy,
    pub plan_hash: PlanHash,
    #[serde(default)]
    pub planner_version: u32,
    /// Why the plan was decomposed by file, when it was.
    #[serde(default)]
    pub planner_fallback: Option<String>,
    /// Tasks in the whole plan, and how many were already done or skipped before this run.
    #[serde(default)]
    pub plan_total: u32,
    #[serde(default)]
    pub plan_settled_before: u32,
    pub max_attempts: u32,
    pub no_verify: bool,
    pub qa: Vec<QaSnapshot>,
    pub tasks: Vec<TaskState>,
    pub current: Option<String>,
    /// Process group of the implementer/QA command running now (to clean up after a crash).
    pub child_pgid: Option<u32>,
    pub failure: Option<Failure>,
    pub started_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    /// How the change branch was (or was not) brought up to date at the end.
    pub finish_note: Option<String>,
}

/// The QA commands as they were when the run started (so `continue` checks the same way).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QaSnapshot {
    pub name: String,
    pub argv: Vec<String>,
    pub timeout_ms: u64,
    pub required: bool,
}

impl From<&QaCommand> for QaSnapshot {
    fn from(q: &QaCommand) -> Self {
        QaSnapshot {
            name: q.name.clone(),
            argv: q.command.as_slice().to_vec(),
            timeout_ms: u64::try_from(q.timeout.as_duration().as_millis()).unwrap_or(u64::MAX),
            required: q.required,
        }
    }
}

impl RunState {
    pub fn task_mut(&mut self, key: &str) -> Option<&mut TaskState> {
        self.tasks.iter_mut().find(|t| t.key == key)
    }

    pub fn next_pending(&self) -> Option<&TaskState> {
        self.tasks.iter().find(|t| t.status == TaskStatus::Pending)
    }

    pub fn counts(&self) -> (usize, usize) {
        let done = self
            .tasks
            .iter()
            .filter(|t| matches!(t.status, TaskStatus::Done | TaskStatus::Skipped))
            .count();
        (done, self.tasks.len())
    }
}

/// Where a change's run data lives in the common git dir.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// `<common git dir>/microloop`.
    pub fn new(common_dir: &Path) -> Self {
        Layout {
            root: common_dir.join("microloop"),
        }
    }

    pub fn lock(&self, change: &ChangeId) -> PathBuf {
        self.root.join("changes").join(change.as_str()).join("lock")
    }

    pub fn run_dir(&self, change: &ChangeId, run: &RunId) -> PathBuf {
        self.root
            .join("changes")
            .join(change.as_str())
            .join("runs")
            .join(run.as_str())
    }

    pub fn state_file(&self, change: &ChangeId, run: &RunId) -> PathBuf {
        self.run_dir(change, run).join("state.json")
    }

    pub fn plan_file(&self, change: &ChangeId, run: &RunId) -> PathBuf {
        self.run_dir(change, run).join("plan.json")
    }

    pub fn worktree(&self, run: &RunId) -> PathBuf {
        self.worktrees_dir().join(run.as_str())
    }

    /// The folder holding every run worktree (ours alone).
    pub fn worktrees_dir(&self) -> PathBuf {
        self.root.join("worktrees")
    }

    /// Changes that have run data, sorted.
    pub fn changes(&self) -> Vec<String> {
        sorted_dir_names(&self.root.join("changes"))
    }

    /// A change's runs, oldest first (run ids sort by time).
    pub fn runs(&self, change: &ChangeId) -> Vec<RunId> {
        sorted_dir_names(&self.root.join("changes").join(change.as_str()).join("runs"))
            .into_iter()
            .filter_map(|n| RunId::parse(&n))
            .collect()
    }

    pub fn load(&self, change: &ChangeId, run: &RunId) -> io::Result<RunState> {
        let path = self.state_file(change, run);
        let bytes = std::fs::read(&path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is damaged: {e}", path.display()),
            )
        })
    }

    pub fn save(&self, state: &RunState) -> io::Result<()> {
        write_json(&self.state_file(&state.change, &state.run_id), state)
    }

    /// The newest run of a change whose status is open (at most one, by the lock's rules).
    pub fn open_run(&self, change: &ChangeId) -> io::Result<Option<RunState>> {
        for run in self.runs(change).into_iter().rev() {
            match self.load(change, &run) {
                Ok(s) if s.status.is_open() => return Ok(Some(s)),
                Ok(_) => {}
                // A state file that never got written (crash before the first save) is no run.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// Names of the sub-folders of `dir` that are UTF-8 (none if it cannot be read), sorted.
pub(crate) fn sorted_dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
