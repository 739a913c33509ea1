//! The sequencer: start a run, drive it task by task, and resume, skip or abort it — a state
//! machine whose state is saved before every side effect, so any interruption can be resumed or
//! aborted (the model is `git rebase`'s sequencer).
//!
//! Safety: in implementer mode every task runs in the run's own linked worktree, so the user's
//! working tree and uncommitted work are never touched; the change branch only moves at the end,
//! by a fast-forward exactly as `git merge --ff-only` would do it. Manual mode works in the
//! user's worktree, which must be clean when the run starts, and never resets it.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use thiserror::Error;

use super::audit_events::{AuditHead, AuditSink};
use super::capture::{Completed, QaRecord, safe_name, write_task_evidence};
use super::events::Event;
use super::locate;
use super::message::{TaskMessage, Trailers, one_line};
use super::process::{self, Outcome, Spec};
use super::record;
use super::state::{
    Failure, Layout, Mode, QaSnapshot, QaState, RunState, RunStatus, STATE_SCHEMA, TaskState,
    TaskStatus,
};
use super::tick::tick;
use crate::clock;
use crate::config::{Config, PlannerConfigFile};
use crate::evidence::build::summarize;
use crate::evidence::summary::{AuditAnchor, Summary};
use crate::git::{FileChange, GitCli, GitError, Head, LARGE_TREE, Repo, short_oid, short_ref};
use crate::ids::{ChangeId, RunId};
use crate::paths::BytePath;
use crate::plan::PlannedTask;
use crate::planning::{Planned, PlanningError, TasksSource, plan_change};
use crate::store::{ChangeLock, LockError, write_atomic, write_json};

#[derive(Debug, Error)]
pub enum RunError {
    /// The run cannot start or go on, and nothing was changed.
    #[error("{message}")]
    Refused { message: String, hint: String },
    #[error(transparent)]
    Planning(#[from] PlanningError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("the audit log could not be written: {0}")]
    Audit(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

fn refused(message: impl Into<String>, hint: impl Into<String>) -> RunError {
    RunError::Refused {
        message: message.into(),
        hint: hint.into(),
    }
}

trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, RunError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, RunError> {
        self.map_err(|source| RunError::Io {
            context: what(),
            source,
        })
    }
}

/// How a command left the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Succeeded,
    /// A task used up its attempts; the run is retained.
    Failed,
    /// Manual mode: waiting for the user.
    Paused,
    /// Ctrl-C or a termination signal; `continue` resumes.
    Interrupted,
    /// Every planned task is already done or skipped: no run was created.
    NothingToDo,
    Aborted,
    /// Manual mode: the user's work for the current task did not pass QA; still paused.
    Rejected,
}

pub struct Report {
    pub stop: Stop,
    pub state: Option<RunState>,
}

/// What the sequencer works with.
pub struct Context<'a> {
    pub repo: &'a Repo,
    pub config: &'a Config,
    pub layout: Layout,
    /// Set by a signal handler: stop at the next safe point.
    pub cancel: Arc<AtomicBool>,
    pub observer: &'a mut dyn FnMut(&Event<'_>),
    /// The implementer audit log (none in tests of the sequencer alone).
    pub audit: Option<&'a mut dyn AuditSink>,
    /// The audit log's head after the last record (anchored in summary.json).
    pub audit_head: Option<AuditHead>,
}

impl Context<'_> {
    /// Tell the observer, and append the event's records to the audit log (fsynced before we
    /// go on). An audit failure stops the command: a run must not go on unrecorded.
    fn emit(&mut self, e: Event<'_>) -> Result<(), RunError> {
        (self.observer)(&e);
        if let Some(sink) = self.audit.as_mut() {
            for (name, fields) in super::audit_events::records(&e) {
                let head = sink.record(name, fields).map_err(RunError::Audit)?;
                self.audit_head = Some(head);
            }
        }
        Ok(())
    }

    fn save(&self, state: &mut RunState) -> Result<(), RunError> {
        state.updated_at = clock::now_rfc3339();
        self.layout
            .save(state)
            .ctx(|| format!("saving the state of {}", state.run_id))
    }

    /// Record a run's end: summary.json first, the state last. The state is what says a run
    /// is still open, so a crash between the two leaves it open, and `continue` or `abort`
    /// finishes the job — never a finished state with a stale summary.
    fn settle(&self, state: &mut RunState) -> Result<(), RunError> {
        self.write_summary(state)?;
        self.save(state)
    }

    /// Write `summary.json` for reviewers (atomically; readable while the run goes on).
    /// Approvals and retention recorded in an earlier summary are carried over.
    fn write_summary(&self, state: &RunState) -> Result<(), RunError> {
        let path = state.artifacts.join("summary.json");
        let previous: Option<Summary> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let (retention, approvals) = previous
            .filter(|p| p.run_id == state.run_id.as_str())
            .map(|p| {
                // Only what approvals and cleanup decided is kept; the rest follows the status.
                let decided = p.retention.marker.is_some()
                    || matches!(p.retention.state.as_str(), "eligible" | "purged");
                (
                    if decided {
                        p.retention
                    } else {
                        Default::default()
                    },
                    p.approvals,
                )
            })
            .unwrap_or_default();
        let head = self.repo.ref_oid(&state.run_branch).map(|o| o.to_string());
        let anchor = self.audit_head.as_ref().map(|h| AuditAnchor {
            log: h.log.clone(),
            seq: h.seq,
            hash: h.hash.clone(),
        });
        let summary = summarize(state, head, anchor, retention, approvals);
        write_json(&path, &summary).ctx(|| format!("writing {}", path.display()))
    }
}

pub struct StartOptions {
    pub change: ChangeId,
    pub planner: PlannerConfigFile,
    pub implementer: Option<Vec<String>>,
    pub manual: bool,
    pub max_attempts: Option<u32>,
    pub only: Vec<String>,
    pub no_verify: bool,
}

/// `git microloop run`.
pub fn start(cx: &mut Context<'_>, opts: StartOptions) -> Result<Report, RunError> {
    let (branch, base) = match cx.repo.head()? {
        Head::Branch { name, oid } => (name, oid),
        Head::Unborn { name } => {
            return Err(refused(
                format!("branch `{name}` has no commits yet"),
                "commit the change's tasks.md first, then run again",
            ));
        }
        Head::Detached(_) => {
            return Err(refused(
                "HEAD is detached; a run works on a change branch",
                "check out the change branch (e.g. `git switch change/CH-001`) and run again",
            ));
        }
    };
    let user_git = cx.repo.cli();
    if let Err(e) = user_git.identity() {
        // git's own last line says what is missing; its whole advice would bury the hint.
        let why = match &e {
            GitError::Cli { stderr, .. } => stderr
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("git var GIT_AUTHOR_IDENT failed")
                .to_string(),
            other => other.to_string(),
        };
        return Err(refused(
            format!("git has no identity to commit with ({why})"),
            "set one: git config --global user.name \"Your Name\"; \
             git config --global user.email you@example.com",
        ));
    }
    let lock = ChangeLock::acquire(&cx.layout.lock(&opts.change), opts.change.as_str())?;
    refuse_if_open(cx, &opts.change)?;

    let planned = plan_change(
        cx.repo,
        cx.config,
        &opts.change,
        opts.planner.clone(),
        TasksSource::Commit(base),
    )?;
    warn_if_tasks_uncommitted(cx, &planned, base)?;
    let selected = select_tasks(&planned, &opts.only)?;
    if selected.is_empty() {
        cx.emit(Event::Note(format!(
            "nothing to run: all {} planned tasks of {} are done or skipped",
            planned.plan.tasks.len(),
            opts.change
        )))?;
        return Ok(Report {
            stop: Stop::NothingToDo,
            state: None,
        });
    }
    let mode = if opts.manual {
        if !user_changes(cx, &user_git, &opts.change)?.is_empty() {
            return Err(refused(
                "manual mode needs a clean worktree (uncommitted or untracked files would end \
                 up in the first task's commit)",
                "commit or stash your changes (git stash -u), then run again",
            ));
        }
        Mode::Manual
    } else {
        let argv = opts
            .implementer
            .clone()
            .or_else(|| {
                cx.config
                    .executor
                    .command
                    .as_ref()
                    .map(|a| a.as_slice().to_vec())
            })
            .ok_or_else(|| {
                refused(
                    "no implementer configured",
                    "pass --implementer -- CMD ARGS…, set [executor] command in .microloop.toml, \
                     or use --manual to apply the tasks yourself",
                )
            })?;
        Mode::Implementer {
            argv,
            timeout_ms: millis(cx.config.executor.timeout.as_duration()),
        }
    };
    let max_attempts = opts
        .max_attempts
        .unwrap_or(cx.config.executor.max_attempts.0)
        .clamp(1, 10);

    let run_id = RunId::new(&clock::now_compact(), clock::run_suffix());
    let run_branch = locate::run_branch(&opts.change, &run_id);
    let artifacts = locate::artifacts_dir(cx.repo, cx.config, &opts.change, run_id.as_str());
    // Every refusal above leaves the repository as it was; from here on things are written.
    local_data_usable(cx, &artifacts)?;
    check_audit(cx)?;
    let worktree = match mode {
        Mode::Manual => cx.repo.workdir().to_path_buf(),
        Mode::Implementer { .. } => cx.layout.worktree(&run_id),
    };
    let now = clock::now_rfc3339();
    let mut state = RunState {
        schema_version: STATE_SCHEMA,
        change: opts.change.clone(),
        run_id: run_id.clone(),
        status: RunStatus::Running,
        mode,
        change_branch: format!("refs/heads/{branch}"),
        base: base.to_string(),
        run_branch: run_branch.clone(),
        worktree: worktree.clone(),
        artifacts,
        seed: planned.plan.seed,
        strategy: planned.plan.strategy,
        plan_hash: planned.plan.plan_hash.clone(),
        planner_version: planned.plan.planner_version,
        planner_fallback: planned.plan.fallback.as_ref().map(|f| f.reason.clone()),
        plan_total: planned.plan.tasks.len() as u32,
        plan_settled_before: planned.plan.tasks.iter().filter(|t| !t.execute).count() as u32,
        max_attempts,
        no_verify: opts.no_verify,
        qa: cx.config.qa.iter().map(QaSnapshot::from).collect(),
        tasks: selected
            .iter()
            .map(|t| TaskState {
                key: t.task.key.clone(),
                title: t.task.title.clone(),
                status: TaskStatus::Pending,
                attempts: 0,
                commit: None,
                duration_ms: None,
                qa_result: None,
                started_at: None,
                finished_at: None,
                files_touched: Vec::new(),
                lines_added: 0,
                lines_removed: 0,
                qa: Vec::new(),
            })
            .collect(),
        current: None,
        child_pgid: None,
        failure: None,
        started_at: now.clone(),
        updated_at: now,
        finished_at: None,
        finish_note: None,
    };
    write_json(&cx.layout.plan_file(&state.change, &run_id), &planned)
        .ctx(|| "saving the plan".into())?;
    cx.save(&mut state)?;
    cx.write_summary(&state)?;
    cx.emit(Event::RunStarted {
        state: &state,
        fallback: planned.plan.fallback.is_some(),
    })?;

    let short_branch = run_branch.trim_start_matches("refs/heads/");
    match state.mode {
        Mode::Manual => user_git.update_ref_cas(&run_branch, &state.base, "")?,
        Mode::Implementer { .. } => user_git.worktree_add(
            &worktree,
            short_branch,
            Some(&state.base),
            &format!("git-microloop run {run_id}"),
        )?,
    }
    drive(cx, &mut state, &planned, &lock)
}

/// `git microloop continue`.
pub fn resume(cx: &mut Context<'_>, change: &ChangeId) -> Result<Report, RunError> {
    let lock = ChangeLock::acquire(&cx.layout.lock(change), change.as_str())?;
    let (mut state, planned) = open_run(cx, change)?;
    check_audit(cx)?;
    recover(cx, &mut state, &planned)?;
    match state.status {
        RunStatus::Paused => {
            let stop = manual_commit_current(cx, &mut state, &planned)?;
            if stop != Stop::Succeeded {
                return Ok(Report {
                    stop,
                    state: Some(state),
                });
            }
        }
        RunStatus::Failed => {
            // Like `git rebase --continue` after a fix: the failed task gets a fresh budget.
            for t in state
                .tasks
                .iter_mut()
                .filter(|t| t.status == TaskStatus::Failed)
            {
                t.status = TaskStatus::Pending;
            }
            state.failure = None;
            state.status = RunStatus::Running;
            cx.save(&mut state)?;
        }
        _ => {}
    }
    drive(cx, &mut state, &planned, &lock)
}

/// `git microloop skip`: record the current task as skipped and go on.
pub fn skip(cx: &mut Context<'_>, change: &ChangeId) -> Result<Report, RunError> {
    let lock = ChangeLock::acquire(&cx.layout.lock(change), change.as_str())?;
    let (mut state, planned) = open_run(cx, change)?;
    check_audit(cx)?;
    recover(cx, &mut state, &planned)?;
    let key = state
        .current
        .clone()
        .or_else(|| state.next_pending().map(|t| t.key.clone()))
        .ok_or_else(|| refused("there is no task to skip", "git microloop continue"))?;
    match state.mode {
        Mode::Manual => {
            if !user_changes(cx, &cx.repo.cli_in(&state.worktree), &state.change)?.is_empty() {
                return Err(refused(
                    format!("your worktree has changes for {key}; skipping would lose them"),
                    "commit, stash (git stash -u) or discard them yourself, then skip again",
                ));
            }
        }
        Mode::Implementer { .. } => {
            let tip = run_tip(cx, &state)?;
            GitCli::new(&state.worktree).reset_hard(&tip)?;
        }
    }
    if let Some(t) = state.task_mut(&key) {
        t.status = TaskStatus::Skipped;
    }
    state.current = None;
    state.failure = None;
    state.status = RunStatus::Running;
    cx.save(&mut state)?;
    cx.emit(Event::TaskSkipped {
        state: &state,
        key: &key,
    })?;
    drive(cx, &mut state, &planned, &lock)
}

/// `git microloop abort`: end the run, keep its branch and evidence, put the user back.
pub fn abort(cx: &mut Context<'_>, change: &ChangeId) -> Result<Report, RunError> {
    let _lock = ChangeLock::acquire(&cx.layout.lock(change), change.as_str())?;
    let (mut state, _planned) = open_run(cx, change)?;
    check_audit(cx)?;
    if let Some(pgid) = state.child_pgid.take() {
        process::kill_orphan_group(pgid, &state.worktree);
    }
    if let Some(tip) = delivered(cx, &state) {
        // Interrupted after the change branch was fast-forwarded: the work is on the user's
        // branch, and aborting cannot take it back. Record the run as what it is.
        cx.emit(Event::Note(format!(
            "{} was interrupted after {} received its commits; recording it as finished \
             instead of aborting",
            state.run_id,
            short_ref(&state.change_branch)
        )))?;
        // The branch is at the tip already: this only says so.
        let note = fast_forward(cx, &state, &tip)?;
        return conclude(cx, &mut state, note);
    }
    let mut notes = Vec::new();
    match state.mode {
        Mode::Implementer { .. } => {
            if state.worktree.exists() {
                keep_leftovers(&state, "abort");
            }
            remove_run_worktree(cx, &state)?;
        }
        Mode::Manual => {
            // Back to where the user was, as `git rebase --abort` would, but with `reset --keep`
            // so that local changes are kept (or the reset refuses) — never lost.
            let user = cx.repo.cli_in(&state.worktree);
            let moved = cx.repo.ref_oid(&state.change_branch).map(|o| o.to_string());
            if moved.as_deref() != Some(state.base.as_str()) {
                match user.run(["reset", "--quiet", "--keep", state.base.as_str()]) {
                    Ok(_) => notes.push(format!(
                        "{} is back at {} (the run's commits stay on {})",
                        short_ref(&state.change_branch),
                        short_oid(&state.base),
                        short_ref(&state.run_branch)
                    )),
                    Err(e) => notes.push(format!(
                        "left {} where it is ({e}); the run's commits are also on {}",
                        short_ref(&state.change_branch),
                        short_ref(&state.run_branch)
                    )),
                }
            }
        }
    }
    state.status = RunStatus::Aborted;
    state.current = None;
    state.finished_at = Some(clock::now_rfc3339());
    state.finish_note = (!notes.is_empty()).then(|| notes.join("; "));
    cx.settle(&mut state)?;
    cx.emit(Event::RunAborted { state: &state })?;
    Ok(Report {
        stop: Stop::Aborted,
        state: Some(state),
    })
}

/// Remove the run's worktree. One that an interrupted `git worktree remove` left half gone
/// (no longer registered, folder still there) is our own folder under `.git/microloop/` and is
/// deleted outright.
fn remove_run_worktree(cx: &Context<'_>, state: &RunState) -> Result<(), RunError> {
    let git = cx.repo.cli();
    match git.worktree_remove(&state.worktree) {
        Ok(()) => Ok(()),
        Err(e) => {
            let registered = git
                .worktree_list()?
                .iter()
                .any(|w| w.path == state.worktree);
            let ours = state.worktree.starts_with(cx.layout.worktrees_dir());
            if registered || !ours || !state.worktree.exists() {
                return Err(e.into());
            }
            std::fs::remove_dir_all(&state.worktree)
                .ctx(|| format!("removing {}", state.worktree.display()))?;
            let _ = git.run(["worktree", "prune"]);
            Ok(())
        }
    }
}

/// The run's tip when every task is done or skipped, it made commits, and the change branch
/// already points at them.
fn delivered(cx: &Context<'_>, state: &RunState) -> Option<String> {
    let all_done = state
        .tasks
        .iter()
        .all(|t| matches!(t.status, TaskStatus::Done | TaskStatus::Skipped));
    if !matches!(state.mode, Mode::Implementer { .. }) || !all_done {
        return None;
    }
    let tip = cx.repo.ref_oid(&state.run_branch)?;
    let delivered =
        tip.to_string() != state.base && cx.repo.ref_oid(&state.change_branch) == Some(tip);
    delivered.then(|| tip.to_string())
}

/// The audit log must be writable before anything happens (see `AuditSink::check`).
fn check_audit(cx: &mut Context<'_>) -> Result<(), RunError> {
    match cx.audit.as_mut() {
        Some(sink) => sink.check().map_err(RunError::Audit),
        None => Ok(()),
    }
}

fn refuse_if_open(cx: &Context<'_>, change: &ChangeId) -> Result<(), RunError> {
    if let Some(open) = cx
        .layout
        .open_run(change)
        .ctx(|| format!("reading the runs of {change}"))?
    {
        return Err(refused(
            format!(
                "run {} of {change} is still {} ({}/{} tasks done)",
                open.run_id,
                open.status.as_str(),
                open.counts().0,
                open.counts().1
            ),
            "finish it first: git microloop continue | git microloop skip | git microloop abort",
        ));
    }
    Ok(())
}

fn open_run(cx: &Context<'_>, change: &ChangeId) -> Result<(RunState, Planned), RunError> {
    let state = cx
        .layout
        .open_run(change)
        .ctx(|| format!("reading the runs of {change}"))?
        .ok_or_else(|| {
            refused(
                format!("{change} has no run in progress"),
                "start one with: git microloop run",
            )
        })?;
    let path = cx.layout.plan_file(change, &state.run_id);
    let bytes = std::fs::read(&path).ctx(|| format!("reading {}", path.display()))?;
    let planned: Planned = serde_json::from_slice(&bytes)
        .map_err(io::Error::other)
        .ctx(|| format!("reading {}", path.display()))?;
    local_data_usable(cx, &state.artifacts)?;
    Ok((state, planned))
}

/// The run's artifacts folder can be written, and writing there stays inside the repository
/// (see `store::place`): refused before anything is changed otherwise.
fn local_data_usable(cx: &Context<'_>, artifacts: &Path) -> Result<(), RunError> {
    use crate::store::place::{PlaceError, check_inside, probe_writable};
    let root = cx.repo.main_root();
    check_inside(root, artifacts, cx.repo.common_dir())
        .and_then(|()| probe_writable(artifacts))
        .map_err(|e| {
            let hint = match &e {
                PlaceError::NotWritable { .. } => {
                    "make the folder writable (or free space on its disk), or set `[paths] \
                     artifacts` to a folder you can write; then run the command again"
                }
                _ => {
                    "make the link point inside the repository, or set `[paths] artifacts` \
                     to a plain folder inside it"
                }
            };
            refused(e.to_string(), hint)
        })
}

/// Tasks to execute, in plan order, limited by `--only` (ids or keys).
fn select_tasks<'p>(
    planned: &'p Planned,
    only: &[String],
) -> Result<Vec<&'p PlannedTask>, RunError> {
    for want in only {
        if !planned
            .plan
            .tasks
            .iter()
            .any(|t| &t.task.key == want || &t.task.id == want)
        {
            return Err(refused(
                format!("--only names {want}, which is not a task of this plan"),
                "see the task ids with: git microloop plan",
            ));
        }
    }
    Ok(planned
        .plan
        .to_execute()
        .filter(|t| only.is_empty() || only.iter().any(|w| *w == t.task.key || *w == t.task.id))
        .collect())
}

fn warn_if_tasks_uncommitted(
    cx: &mut Context<'_>,
    planned: &Planned,
    base: git2::Oid,
) -> Result<(), RunError> {
    let on_disk = std::fs::read(cx.repo.workdir().join(&planned.tasks_file)).ok();
    let committed = cx.repo.blob_at(base, &planned.tasks_file).ok().flatten();
    if on_disk.is_some() && on_disk != committed {
        cx.emit(Event::Note(format!(
            "{} has uncommitted changes; the run uses the committed version (commit first to \
             include them)",
            planned.tasks_file
        )))?;
    }
    Ok(())
}

/// After a crash or an interruption: stop a leftover command, clear a stale index lock, and
/// take git's word for what is done.
fn recover(cx: &mut Context<'_>, state: &mut RunState, planned: &Planned) -> Result<(), RunError> {
    if let Some(pgid) = state.child_pgid.take() {
        process::kill_orphan_group(pgid, &state.worktree);
    }
    if let Mode::Implementer { .. } = state.mode {
        ensure_worktree(cx, state)?;
        clear_stale_index_lock(&state.worktree);
    }
    let base = oid(&state.base)?;
    let tip = cx
        .repo
        .ref_oid(&state.run_branch)
        .ok_or_else(|| missing_run_branch(state))?;
    let mut committed: HashMap<String, git2::Oid> = HashMap::new();
    let mut qa_of: HashMap<git2::Oid, String> = HashMap::new();
    let mut parents: HashMap<git2::Oid, git2::Oid> = HashMap::new();
    let mut prev = base;
    for c in cx.repo.commits_between(base, tip)? {
        if c.trailer("Microloop-Run") == Some(state.run_id.as_str())
            && let Some(task) = c.trailer("Microloop-Task")
        {
            committed.entry(task.to_string()).or_insert(c.oid);
            parents.insert(c.oid, prev);
            if let Some(qa) = c.trailer("Microloop-QA") {
                qa_of.insert(c.oid, qa.to_string());
            }
        }
        prev = c.oid;
    }
    let logged = match cx.audit.as_mut() {
        Some(sink) => sink
            .completed_tasks(state.run_id.as_str())
            .map_err(RunError::Audit)?,
        None => Default::default(),
    };
    let mut found = Vec::new();
    for t in state.tasks.iter_mut() {
        match (committed.get(&t.key), t.status) {
            (Some(c), s) if s != TaskStatus::Done => {
                t.status = TaskStatus::Done;
                t.commit = Some(c.to_string());
                found.push((t.key.clone(), *c));
            }
            // The state said done but git has no such commit: it is not done.
            (None, TaskStatus::Done) => {
                t.status = TaskStatus::Pending;
                t.commit = None;
            }
            _ => {}
        }
    }
    for (key, commit) in found {
        let parent = parents.get(&commit).copied().unwrap_or(base);
        let title = task_of(planned, &key).map_or("", |t| t.task.title.as_str());
        let diff = cx.repo.diff_commits(parent, commit)?;
        // The commit's own QA trailer says what QA found; the attempt's timing is lost.
        let qa_result = qa_of.get(&commit).map_or("unknown", String::as_str);
        let attempts = state.task_mut(&key).map_or(1, |t| t.attempts + 1);
        let _ = write_task_evidence(
            &state.artifacts,
            Completed {
                key: &key,
                title,
                commit: commit.to_string(),
                parent: parent.to_string(),
                duration_ms: None,
                attempts,
                qa_result,
                qa: &[],
            },
            &diff,
        );
        let files: Vec<BytePath> = diff.files.iter().map(FileChange::exact_path).collect();
        if let Some(t) = state.task_mut(&key) {
            t.attempts = attempts;
            t.qa_result = Some(qa_result.to_string());
            t.files_touched = files.clone();
            t.lines_added = diff.files.iter().map(|f| f.added as u64).sum();
            t.lines_removed = diff.files.iter().map(|f| f.removed as u64).sum();
            // The attempt's timing is lost with the process that ran it.
            t.duration_ms = None;
            t.finished_at.get_or_insert_with(clock::now_rfc3339);
        }
        cx.emit(Event::Note(format!(
            "{key} was already committed as {commit} before the interruption"
        )))?;
        if state.current.as_deref() == Some(key.as_str()) {
            state.current = None;
        }
    }
    // Done in git and now in the state — found above, or saved before the crash — but without
    // its audit record: written now, once.
    let s: &RunState = state;
    let unrecorded = s
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done && t.commit.is_some())
        .filter(|t| !logged.contains(&t.key) && committed.contains_key(&t.key));
    for t in unrecorded {
        cx.emit(Event::TaskCompleted {
            state: s,
            key: &t.key,
            commit: t.commit.as_deref().unwrap_or_default(),
            duration_ms: t.duration_ms,
            files_touched: t.files_touched.clone(),
            qa_result: t.qa_result.as_deref().unwrap_or("unknown"),
            attempts: t.attempts,
        })?;
    }
    if let Mode::Implementer { .. } = state.mode {
        // Whatever a killed attempt left half-done is not the task: start it again cleanly.
        if state.current.is_some() {
            keep_leftovers(state, "interrupted");
        }
        GitCli::new(&state.worktree).reset_hard(&tip.to_string())?;
        if state.status == RunStatus::Running {
            state.current = None;
        }
    }
    cx.save(state)
}

/// The run worktree is gone (removed by hand, or a crash during `worktree add`): recreate it on
/// the run branch.
fn ensure_worktree(cx: &Context<'_>, state: &RunState) -> Result<(), RunError> {
    if state.worktree.join(".git").exists() {
        return Ok(());
    }
    let git = cx.repo.cli();
    let _ = git.run(["worktree", "prune"]);
    let short = short_ref(&state.run_branch);
    let reason = format!("git-microloop run {}", state.run_id);
    let start = match cx.repo.ref_oid(&state.run_branch) {
        Some(_) => None,
        None => Some(state.base.as_str()),
    };
    git.worktree_add(&state.worktree, short, start, &reason)?;
    Ok(())
}

/// An `index.lock` in our own worktree's git dir can only be left by a killed `git` of ours
/// (we hold the change lock), so it is stale.
fn clear_stale_index_lock(worktree: &Path) {
    let Ok(gitfile) = std::fs::read_to_string(worktree.join(".git")) else {
        return;
    };
    if let Some(dir) = gitfile.trim().strip_prefix("gitdir: ") {
        let _ = std::fs::remove_file(Path::new(dir).join("index.lock"));
    }
}

/// Keep what a failed or interrupted attempt left in the worktree, as evidence.
fn keep_leftovers(state: &RunState, why: &str) {
    let git = GitCli::new(&state.worktree);
    let key = state.current.as_deref().unwrap_or("run");
    let dir = state.artifacts.join("logs").join(safe_name(key));
    let status = git.run(["status", "--porcelain=v1", "--untracked-files=all"]);
    let diff = git.run(["diff", "HEAD", "--binary"]);
    let mut bytes = Vec::new();
    if let Ok(s) = status {
        bytes.extend_from_slice(&s.stdout);
        bytes.push(b'\n');
    }
    if let Ok(d) = diff {
        bytes.extend_from_slice(&d.stdout);
    }
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        let _ = write_atomic(&dir.join(format!("leftover-{why}.diff")), &bytes);
    }
}

/// Run tasks until the run succeeds, fails, pauses or is interrupted.
fn drive(
    cx: &mut Context<'_>,
    state: &mut RunState,
    planned: &Planned,
    _lock: &ChangeLock,
) -> Result<Report, RunError> {
    let _span = tracing::debug_span!("run", change = %state.change, run = %state.run_id).entered();
    loop {
        if cancelled(cx) {
            return interrupted(cx, state);
        }
        let Some(key) = state.next_pending().map(|t| t.key.clone()) else {
            return finish(cx, state);
        };
        let task = task_of(planned, &key).ok_or_else(|| {
            refused(
                format!("the saved plan of {} has no task {key}", state.run_id),
                "abort the run (git microloop abort) and start a new one",
            )
        })?;
        let stop = match state.mode.clone() {
            Mode::Manual => pause(cx, state, task)?,
            Mode::Implementer { argv, timeout_ms } => {
                implement_task(cx, state, planned, task, &argv, timeout_ms)?
            }
        };
        match stop {
            None => {}
            Some(stop) => {
                return Ok(Report {
                    stop,
                    state: Some(state.clone()),
                });
            }
        }
    }
}

fn task_of<'p>(planned: &'p Planned, key: &str) -> Option<&'p PlannedTask> {
    planned.plan.tasks.iter().find(|t| t.task.key == key)
}

fn cancelled(cx: &Context<'_>) -> bool {
    cx.cancel.load(std::sync::atomic::Ordering::SeqCst)
}

fn interrupted(cx: &mut Context<'_>, state: &mut RunState) -> Result<Report, RunError> {
    cx.save(state)?;
    cx.write_summary(state)?;
    Ok(Report {
        stop: Stop::Interrupted,
        state: Some(state.clone()),
    })
}

/// Manual mode: stop at `task` for the user.
fn pause(
    cx: &mut Context<'_>,
    state: &mut RunState,
    task: &PlannedTask,
) -> Result<Option<Stop>, RunError> {
    state.status = RunStatus::Paused;
    state.current = Some(task.task.key.clone());
    cx.save(state)?;
    cx.write_summary(state)?;
    cx.emit(Event::Paused {
        state,
        key: &task.task.key,
        title: &task.task.title,
        text: &task.task.text,
    })?;
    Ok(Some(Stop::Paused))
}

/// Manual mode `continue`: QA, then commit the user's work for the current task.
fn manual_commit_current(
    cx: &mut Context<'_>,
    state: &mut RunState,
    planned: &Planned,
) -> Result<Stop, RunError> {
    let key = state
        .current
        .clone()
        .ok_or_else(|| refused("the paused run has no current task", "git microloop abort"))?;
    let task = task_of(planned, &key)
        .ok_or_else(|| refused(format!("no task {key} in the plan"), "git microloop abort"))?;
    let head = cx.repo.head()?;
    let tip = run_tip(cx, state)?;
    let on_branch = head.branch_name().map(|b| format!("refs/heads/{b}"));
    if on_branch.as_deref() != Some(state.change_branch.as_str())
        || cx.repo.ref_oid(&state.change_branch).map(|o| o.to_string()) != Some(tip.clone())
    {
        return Err(refused(
            format!(
                "{} must be checked out here and still at the run's last commit {}",
                short_ref(&state.change_branch),
                short_oid(&tip)
            ),
            format!(
                "git switch {} (and move any extra commits away), then continue",
                short_ref(&state.change_branch)
            ),
        ));
    }
    let attempt = state.task_mut(&key).map_or(1, |t| t.attempts + 1);
    let started = std::time::Instant::now();
    let logs = attempt_dir(state, &key, attempt);
    let (qa, qa_failure) = match run_qa(cx, state, &logs)? {
        Some(r) => r,
        None => return interrupted(cx, state).map(|r| r.stop),
    };
    let outcome = match qa_failure {
        Some(reason) => Ok(Err(reason)),
        None => commit_task(cx, state, task, qa_summary(&qa)),
    };
    match outcome? {
        Ok(()) => {
            let new_tip = cx
                .repo
                .ref_oid(&state.change_branch)
                .map(|o| o.to_string())
                .unwrap_or_default();
            cx.repo
                .cli()
                .update_ref_cas(&state.run_branch, &new_tip, &tip)?;
            complete(
                cx,
                state,
                task,
                &tip,
                attempt,
                millis(started.elapsed()),
                &qa,
            )?;
            state.status = RunStatus::Running;
            cx.save(state)?;
            Ok(Stop::Succeeded)
        }
        Err(reason) => {
            if failed_attempt(cx, state, &key, attempt, attempt, &reason, &logs)? {
                return Ok(Stop::Failed);
            }
            Ok(Stop::Rejected)
        }
    }
}

/// Implementer mode: one task, with retries.
fn implement_task(
    cx: &mut Context<'_>,
    state: &mut RunState,
    planned: &Planned,
    task: &PlannedTask,
    argv: &[String],
    timeout_ms: u64,
) -> Result<Option<Stop>, RunError> {
    let key = task.task.key.clone();
    let start_tip = run_tip(cx, state)?;
    let position = state.tasks.iter().position(|t| t.key == key).unwrap_or(0) + 1;
    let total = state.tasks.len();
    state.current = Some(key.clone());
    if let Some(t) = state.task_mut(&key) {
        t.started_at.get_or_insert_with(clock::now_rfc3339);
    }
    cx.save(state)?;
    let _span = tracing::debug_span!("task", key = %key).entered();
    let mut tries = 0;
    loop {
        tries += 1;
        let attempt = state.task_mut(&key).map_or(1, |t| t.attempts + 1);
        cx.emit(Event::TaskStarted {
            state,
            key: &key,
            title: &task.task.title,
            position,
            total,
            attempt,
        })?;
        let logs = attempt_dir(state, &key, attempt);
        let task_file = write_task_file(state, planned, task, attempt)?;
        let prompt_file = write_prompt_file(state, planned, task, attempt)?;
        let mut env = task_env(state, task, attempt, &task_file);
        env.push((
            "MICROLOOP_PROMPT_FILE".into(),
            prompt_file.to_string_lossy().into_owned(),
        ));
        let started = std::time::Instant::now();
        let implement = run_logged(
            cx,
            state,
            argv,
            &env,
            &logs,
            "implement",
            Duration::from_millis(timeout_ms),
        )?;
        tracing::debug!(ms = millis(started.elapsed()), outcome = %implement.outcome.describe(), "implemented");
        if implement.outcome == Outcome::Interrupted {
            return interrupted(cx, state).map(|r| Some(r.stop));
        }
        let mut failure = (!implement.outcome.success())
            .then(|| format!("implementer {}", implement.outcome.describe()));
        let mut qa = Vec::new();
        if failure.is_none() {
            match run_qa(cx, state, &logs)? {
                None => return interrupted(cx, state).map(|r| Some(r.stop)),
                Some((records, qa_failure)) => {
                    qa = records;
                    failure = qa_failure;
                }
            }
        }
        if failure.is_none()
            && let Err(reason) = commit_task(cx, state, task, qa_summary(&qa))?
        {
            failure = Some(reason);
        }
        tracing::debug!(
            ms = millis(started.elapsed()),
            ok = failure.is_none(),
            "checked and committed"
        );
        match failure {
            None => {
                complete(
                    cx,
                    state,
                    task,
                    &start_tip,
                    attempt,
                    millis(started.elapsed()),
                    &qa,
                )?;
                return Ok(None);
            }
            Some(reason) => {
                keep_leftovers(state, &format!("attempt-{attempt}"));
                if failed_attempt(cx, state, &key, attempt, tries, &reason, &logs)? {
                    return Ok(Some(Stop::Failed));
                }
                GitCli::new(&state.worktree).reset_hard(&start_tip)?;
            }
        }
    }
}

/// Record a failed attempt. With no attempts left (`tries` this time round ≥ the limit), the
/// run fails and this returns true; otherwise the attempt is reported and the caller retries.
fn failed_attempt(
    cx: &mut Context<'_>,
    state: &mut RunState,
    key: &str,
    attempt: u32,
    tries: u32,
    reason: &str,
    logs: &Path,
) -> Result<bool, RunError> {
    if let Some(t) = state.task_mut(key) {
        t.attempts = attempt;
    }
    if tries >= state.max_attempts {
        fail_run(cx, state, key, attempt, reason, logs)?;
        return Ok(true);
    }
    cx.save(state)?;
    cx.emit(Event::TaskFailed {
        state,
        key,
        attempt,
        reason,
        last: false,
        log: logs,
    })?;
    Ok(false)
}

fn fail_run(
    cx: &mut Context<'_>,
    state: &mut RunState,
    key: &str,
    attempt: u32,
    reason: &str,
    logs: &Path,
) -> Result<(), RunError> {
    if let Some(t) = state.task_mut(key) {
        t.status = TaskStatus::Failed;
        t.attempts = attempt;
    }
    state.status = RunStatus::Failed;
    state.failure = Some(Failure {
        task: key.to_string(),
        attempts: attempt,
        reason: reason.to_string(),
        log: logs.to_path_buf(),
    });
    cx.save(state)?;
    cx.write_summary(state)?;
    cx.emit(Event::TaskFailed {
        state,
        key,
        attempt,
        reason,
        last: true,
        log: logs,
    })?;
    cx.emit(Event::RunFailed { state })?;
    notify(cx, state, "run_failed")?;
    Ok(())
}

/// Record a committed task: state, evidence, event.
fn complete(
    cx: &mut Context<'_>,
    state: &mut RunState,
    task: &PlannedTask,
    parent: &str,
    attempt: u32,
    duration_ms: u64,
    qa: &[QaRecord],
) -> Result<(), RunError> {
    let key = task.task.key.as_str();
    let commit = run_tip(cx, state)?;
    let t0 = std::time::Instant::now();
    let diff = cx.repo.diff_commits(oid(parent)?, oid(&commit)?)?;
    tracing::debug!(
        ms = millis(t0.elapsed()),
        files = diff.files.len(),
        "diff captured"
    );
    let qa_result = qa_summary(qa);
    write_task_evidence(
        &state.artifacts,
        Completed {
            key,
            title: &task.task.title,
            commit: commit.clone(),
            parent: parent.to_string(),
            duration_ms: Some(duration_ms),
            attempts: attempt,
            qa_result,
            qa,
        },
        &diff,
    )
    .ctx(|| format!("writing the evidence of {key}"))?;
    tracing::debug!(ms = millis(t0.elapsed()), "evidence written");
    if let Some(t) = state.task_mut(key) {
        t.status = TaskStatus::Done;
        t.attempts = attempt;
        t.commit = Some(commit.clone());
        t.duration_ms = Some(duration_ms);
        t.qa_result = Some(qa_result.to_string());
        t.started_at.get_or_insert_with(clock::now_rfc3339);
        t.finished_at = Some(clock::now_rfc3339());
        t.files_touched = diff.files.iter().map(FileChange::exact_path).collect();
        t.lines_added = diff.files.iter().map(|f| f.added as u64).sum();
        t.lines_removed = diff.files.iter().map(|f| f.removed as u64).sum();
        t.qa = qa
            .iter()
            .map(|r| QaState {
                name: r.name.clone(),
                result: r.result.to_string(),
                duration_ms: r.duration_ms,
                log: r.log.clone(),
            })
            .collect();
    }
    state.current = None;
    cx.save(state)?;
    cx.write_summary(state)?;
    cx.emit(Event::TaskCompleted {
        state,
        key,
        commit: &commit,
        duration_ms: Some(duration_ms),
        files_touched: diff.files.iter().map(FileChange::exact_path).collect(),
        qa_result,
        attempts: attempt,
    })?;
    Ok(())
}

/// Tick the checkbox, stage everything, commit with trailers. `Ok(Err(reason))` when git (a
/// hook, usually) refused the commit — a failed attempt, not a crash.
fn commit_task(
    cx: &Context<'_>,
    state: &RunState,
    task: &PlannedTask,
    qa_result: &str,
) -> Result<Result<(), String>, RunError> {
    let tasks_path = state
        .worktree
        .join(cx.config.paths.tasks.for_change(&state.change));
    if let Ok(text) = std::fs::read_to_string(&tasks_path)
        && let Some(ticked) = tick(&text, &task.task.id, task.task.line_start)
    {
        std::fs::write(&tasks_path, ticked)
            .ctx(|| format!("ticking {} in {}", task.task.id, tasks_path.display()))?;
    }
    let message = TaskMessage {
        task_key: &task.task.key,
        title: &task.task.title,
        text: &task.task.text,
        trailers: Trailers {
            change: &state.change,
            run: state.run_id.as_str(),
            task: Some(&task.task.key),
            seed: state.seed,
            plan: &state.plan_hash,
            qa: Some(qa_result),
            audit: None,
        },
    }
    .render();
    let git = cx.repo.cli_in(&state.worktree);
    // Our local data lives in the main worktree; only manual mode commits there, and only in
    // our own worktree do we choose how the index is stored.
    let (excludes, tuning) = match state.mode {
        Mode::Manual => (local_excludes(cx, &state.change), &[][..]),
        Mode::Implementer { .. } => (Vec::new(), LARGE_TREE),
    };
    git.add_all(&excludes, tuning)?;
    match git.commit(&message, state.no_verify, tuning) {
        Ok(()) => {
            crate::fault::point("after-commit", &task.task.key);
            Ok(Ok(()))
        }
        Err(GitError::Cli { stderr, .. }) => Ok(Err(format!("git commit refused: {stderr}"))),
        Err(e) => Err(e.into()),
    }
}

/// Uncommitted paths of the user's worktree, our own local data (artifacts, audit logs) aside.
fn user_changes(
    cx: &Context<'_>,
    git: &GitCli,
    change: &ChangeId,
) -> Result<Vec<Vec<u8>>, RunError> {
    let ours = local_excludes(cx, change);
    Ok(git
        .changed_paths()?
        .into_iter()
        .filter(|p| {
            let p = String::from_utf8_lossy(p);
            let p = p.trim_end_matches('/');
            !ours.iter().any(|o| {
                p == o || p.starts_with(&format!("{o}/")) || o.starts_with(&format!("{p}/"))
            })
        })
        .collect())
}

/// Our own local data, which must never be swept into a task's commit.
fn local_excludes(cx: &Context<'_>, change: &ChangeId) -> Vec<String> {
    let p = &cx.config.paths;
    vec![
        p.artifacts.for_change(change),
        p.planner_config.for_change(change),
        p.implementer_audit.for_change(change),
        p.retention_audit.for_change(change),
    ]
}

/// Every QA command's record, and why the task failed QA (if it did).
type QaOutcome = (Vec<QaRecord>, Option<String>);

/// The QA commands, in order. `None` when interrupted; otherwise the records and, if a required
/// command failed, why.
fn run_qa(
    cx: &mut Context<'_>,
    state: &mut RunState,
    logs: &Path,
) -> Result<Option<QaOutcome>, RunError> {
    let mut records = Vec::new();
    let mut failure: Option<String> = None;
    for q in state.qa.clone() {
        let name = format!("qa-{}", safe_name(&q.name));
        if failure.is_some() {
            records.push(QaRecord {
                name: q.name.clone(),
                result: "skipped",
                required: q.required,
                duration_ms: 0,
                outcome: "not run: an earlier required check failed".into(),
                log: logs.join(format!("{name}.out")),
            });
            continue;
        }
        let env = vec![
            ("MICROLOOP_CHANGE".to_string(), state.change.to_string()),
            ("MICROLOOP_RUN".to_string(), state.run_id.to_string()),
            (
                "MICROLOOP_TASK_ID".to_string(),
                state.current.clone().unwrap_or_default(),
            ),
        ];
        let done = run_logged(
            cx,
            state,
            &q.argv,
            &env,
            logs,
            &name,
            Duration::from_millis(q.timeout_ms),
        )?;
        if done.outcome == Outcome::Interrupted {
            return Ok(None);
        }
        let pass = done.outcome.success();
        if !pass && q.required {
            failure = Some(format!(
                "required QA `{}` {}",
                q.name,
                done.outcome.describe()
            ));
        }
        records.push(QaRecord {
            name: q.name.clone(),
            result: if pass { "pass" } else { "fail" },
            required: q.required,
            duration_ms: millis(done.duration),
            outcome: done.outcome.describe(),
            log: logs.join(format!("{name}.out")),
        });
    }
    Ok(Some((records, failure)))
}

/// `pass` when every command passed (or only optional ones failed), `fail` when a required one
/// failed, `skipped` when there are no QA commands.
fn qa_summary(qa: &[QaRecord]) -> &'static str {
    if qa.is_empty() {
        "skipped"
    } else if qa.iter().any(|r| r.required && r.result != "pass") {
        "fail"
    } else {
        "pass"
    }
}

/// Run a command in the task's worktree with output in `<logs>/<name>.out|.err`, recording its
/// process group in the state while it runs.
fn run_logged(
    cx: &mut Context<'_>,
    state: &mut RunState,
    argv: &[String],
    env: &[(String, String)],
    logs: &Path,
    name: &str,
    timeout: Duration,
) -> Result<process::Finished, RunError> {
    std::fs::create_dir_all(logs).ctx(|| format!("creating {}", logs.display()))?;
    let spec = Spec {
        argv,
        stdin: None,
        cwd: &state.worktree,
        env,
        stdout: &logs.join(format!("{name}.out")),
        stderr: &logs.join(format!("{name}.err")),
        timeout,
    };
    let mut pgid = None;
    let cancel = Arc::clone(&cx.cancel);
    let layout = cx.layout.clone();
    let finished = process::run(&spec, &cancel, |id| {
        pgid = Some(id);
        let mut s = state.clone();
        s.child_pgid = Some(id);
        // The command waits at its start gate until this returns: killed here, it never runs.
        crate::fault::point("spawned", s.current.as_deref().unwrap_or_default());
        // Best effort: if this save fails, a crash now leaves the command to its timeout.
        let _ = layout.save(&s);
    })
    .ctx(|| format!("running {}", argv.first().map_or("", String::as_str)))?;
    // Cleared in memory only: the next save records it, and a stale pgid left by a crash in
    // between is harmless (`kill_orphan_group` checks the process still works here).
    if pgid.is_some() {
        state.child_pgid = None;
    }
    Ok(finished)
}

fn attempt_dir(state: &RunState, key: &str, attempt: u32) -> PathBuf {
    state
        .artifacts
        .join("logs")
        .join(safe_name(key))
        .join(format!("attempt-{attempt}"))
}

/// The whole task for the implementer, as JSON (the environment carries only short values).
fn write_task_file(
    state: &RunState,
    planned: &Planned,
    task: &PlannedTask,
    attempt: u32,
) -> Result<PathBuf, RunError> {
    #[derive(serde::Serialize)]
    struct TaskFile<'a> {
        schema_version: u32,
        change: &'a ChangeId,
        run_id: &'a RunId,
        seed: u64,
        plan_hash: &'a crate::ids::PlanHash,
        tasks_file: &'a str,
        attempt: u32,
        task: &'a PlannedTask,
    }
    let path = state
        .artifacts
        .join("tasks")
        .join(format!("{}.json", safe_name(&task.task.key)));
    write_json(
        &path,
        &TaskFile {
            schema_version: 1,
            change: &state.change,
            run_id: &state.run_id,
            seed: state.seed,
            plan_hash: &state.plan_hash,
            tasks_file: &planned.tasks_file,
            attempt,
            task,
        },
    )
    .ctx(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The prompt for an agent (`MICROLOOP_PROMPT_FILE`), beside the task file: the shipped
/// wrappers hand it to their agent as it is.
fn write_prompt_file(
    state: &RunState,
    planned: &Planned,
    task: &PlannedTask,
    attempt: u32,
) -> Result<PathBuf, RunError> {
    let previous = (attempt > 1).then(|| {
        attempt_dir(state, &task.task.key, attempt - 1)
            .to_string_lossy()
            .into_owned()
    });
    let qa: Vec<(String, Vec<String>)> = state
        .qa
        .iter()
        .map(|q| (q.name.clone(), q.argv.clone()))
        .collect();
    let text = crate::implementers::prompt::render(&crate::implementers::prompt::PromptInput {
        change: state.change.as_str(),
        task,
        tasks_file: &planned.tasks_file,
        attempt,
        previous_logs: previous.as_deref(),
        qa: &qa,
    });
    let path = state
        .artifacts
        .join("tasks")
        .join(format!("{}.prompt.md", safe_name(&task.task.key)));
    crate::store::write_atomic(&path, text.as_bytes())
        .ctx(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The implementer's environment: short values only; the full task is in the task file.
fn task_env(
    state: &RunState,
    task: &PlannedTask,
    attempt: u32,
    task_file: &Path,
) -> Vec<(String, String)> {
    let title: String = one_line(&task.task.title).chars().take(200).collect();
    vec![
        ("MICROLOOP_CHANGE".into(), state.change.to_string()),
        ("MICROLOOP_RUN".into(), state.run_id.to_string()),
        ("MICROLOOP_TASK_ID".into(), task.task.key.clone()),
        ("MICROLOOP_TASK_TITLE".into(), title),
        ("MICROLOOP_SEED".into(), state.seed.to_string()),
        ("MICROLOOP_PLAN_HASH".into(), state.plan_hash.to_string()),
        (
            "MICROLOOP_TASK_FILE".into(),
            task_file.to_string_lossy().into_owned(),
        ),
        ("MICROLOOP_ATTEMPT".into(), attempt.to_string()),
        (
            "MICROLOOP_WORKTREE".into(),
            state.worktree.to_string_lossy().into_owned(),
        ),
    ]
}

/// All tasks done or skipped: bring the change branch up to date and clean up the worktree.
fn finish(cx: &mut Context<'_>, state: &mut RunState) -> Result<Report, RunError> {
    record_commit(cx, state)?;
    let tip = run_tip(cx, state)?;
    let note = match state.mode {
        Mode::Manual => format!(
            "{} already holds the run's commits",
            short_ref(&state.change_branch)
        ),
        Mode::Implementer { .. } => fast_forward(cx, state, &tip)?,
    };
    conclude(cx, state, note)
}

/// The end of a successful run once its commits are on the change branch: the run worktree
/// goes, and summary, state, audit log and notifier hear of it.
fn conclude(cx: &mut Context<'_>, state: &mut RunState, note: String) -> Result<Report, RunError> {
    if let Mode::Implementer { .. } = state.mode {
        remove_run_worktree(cx, state)?;
    }
    state.status = RunStatus::Succeeded;
    state.current = None;
    state.finished_at = Some(clock::now_rfc3339());
    state.finish_note = Some(note);
    cx.settle(state)?;
    cx.emit(Event::RunSucceeded { state })?;
    notify(cx, state, "run_succeeded")?;
    Ok(Report {
        stop: Stop::Succeeded,
        state: Some(state.clone()),
    })
}

/// The run's record commit (see `record`): impact.md and IMPLEMENTATION_PLAN.md brought up to
/// date and committed on the run branch. A file with damaged markers, or a commit your hooks
/// refuse, is reported and left out — the tasks' own commits are already safe.
fn record_commit(cx: &mut Context<'_>, state: &RunState) -> Result<(), RunError> {
    let mut finished = state.clone();
    finished.status = RunStatus::Succeeded;
    finished.finished_at = Some(clock::now_rfc3339());
    let before = run_tip(cx, state)?;
    let summary = summarize(
        &finished,
        Some(before.clone()),
        None,
        Default::default(),
        Vec::new(),
    );
    let (written, notes) = record::update_files(&state.worktree, cx.config, state, &summary);
    for n in notes {
        cx.emit(Event::Note(n))?;
    }
    if written.is_empty() {
        return Ok(());
    }
    let git = cx.repo.cli_in(&state.worktree);
    let mut add = vec!["add".to_string(), "--".to_string()];
    add.extend(written);
    git.run(&add)?;
    let head = cx.audit_head.clone();
    let trailers = Trailers {
        change: &state.change,
        run: state.run_id.as_str(),
        task: None,
        seed: state.seed,
        plan: &state.plan_hash,
        qa: None,
        audit: head.as_ref().map(|h| (h.seq, h.hash.as_str())),
    };
    let tuning = match state.mode {
        Mode::Manual => &[][..],
        Mode::Implementer { .. } => LARGE_TREE,
    };
    match git.commit(&record::message(state, &trailers), state.no_verify, tuning) {
        Ok(()) => {}
        Err(GitError::Cli { stderr, .. }) => {
            cx.emit(Event::Note(format!(
                "the record commit was refused ({stderr}); impact.md and \
                 IMPLEMENTATION_PLAN.md were updated but not committed"
            )))?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    if let Mode::Manual = state.mode {
        // In manual mode the commit landed on the change branch; the run branch follows.
        let new = cx
            .repo
            .ref_oid(&state.change_branch)
            .map(|o| o.to_string())
            .unwrap_or_default();
        cx.repo
            .cli()
            .update_ref_cas(&state.run_branch, &new, &before)?;
    }
    Ok(())
}

/// Fast-forward the change branch to `tip` if it has not moved — in the worktree where it is
/// checked out exactly as `git merge --ff-only`, else as a compare-and-swap ref update. Never
/// forced: when it cannot, say how to finish.
fn fast_forward(cx: &Context<'_>, state: &RunState, tip: &str) -> Result<String, RunError> {
    let branch = short_ref(&state.change_branch);
    let run_branch = short_ref(&state.run_branch);
    if tip == state.base {
        return Ok(format!("{branch} is unchanged (no task made a commit)"));
    }
    let current = cx.repo.ref_oid(&state.change_branch).map(|o| o.to_string());
    if current.as_deref() == Some(tip) {
        // An earlier attempt got this far before it was interrupted.
        return Ok(format!("{branch} is at {}", short_oid(tip)));
    }
    if current.as_deref() != Some(state.base.as_str()) {
        return Ok(format!(
            "{branch} moved while the run worked, so it was left alone; \
             bring the run in with: git merge {run_branch}"
        ));
    }
    let git = cx.repo.cli();
    // Where the change branch is checked out: here (the usual case; asked of our own
    // repository first, because git's worktree list cannot name a work tree that only
    // GIT_WORK_TREE points at), else in another worktree, else nowhere.
    let here = cx
        .repo
        .head()?
        .branch_name()
        .map(|b| format!("refs/heads/{b}"));
    let checked_out = if here.as_deref() == Some(state.change_branch.as_str()) {
        Some(cx.repo.workdir().to_path_buf())
    } else {
        git.worktree_list()?
            .into_iter()
            .find(|w| w.branch.as_deref() == Some(&state.change_branch) && w.path != state.worktree)
            .map(|w| w.path)
    };
    match checked_out {
        Some(path) => match cx.repo.cli_in(&path).merge_ff_only(tip) {
            Ok(()) => Ok(format!(
                "fast-forwarded {branch} to {} in {}",
                short_oid(tip),
                path.display()
            )),
            Err(e) => Ok(format!(
                "could not fast-forward {branch} in {} ({e}); finish with: \
                 git -C {} merge --ff-only {run_branch}",
                path.display(),
                path.display()
            )),
        },
        None => {
            git.update_ref_cas(&state.change_branch, tip, &state.base)?;
            Ok(format!("fast-forwarded {branch} to {}", short_oid(tip)))
        }
    }
}

/// Tell the configured notifier; a failure is reported and recorded, never fatal.
fn notify(cx: &mut Context<'_>, state: &RunState, event: &str) -> Result<(), RunError> {
    let Some(n) = cx.config.notify.clone() else {
        return Ok(());
    };
    if let Err((reason, log)) = super::notify::send(&n, event, state, cx.repo.workdir()) {
        cx.emit(Event::NotificationFailed {
            state,
            event,
            reason,
            log,
        })?;
    }
    Ok(())
}

fn run_tip(cx: &Context<'_>, state: &RunState) -> Result<String, RunError> {
    cx.repo
        .ref_oid(&state.run_branch)
        .map(|o| o.to_string())
        .ok_or_else(|| missing_run_branch(state))
}

fn missing_run_branch(state: &RunState) -> RunError {
    refused(
        format!("the run branch {} is missing", short_ref(&state.run_branch)),
        "abort the run (git microloop abort) and start a new one",
    )
}

fn oid(hex: &str) -> Result<git2::Oid, RunError> {
    git2::Oid::from_str(hex).map_err(|e| {
        refused(
            format!("damaged run state: {hex:?} is not a commit id ({e})"),
            "git microloop abort",
        )
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
