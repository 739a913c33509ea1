//! The edge around the pure planner: read tasks.md and the planner settings, fall back to a
//! by-file decomposition when there are no tasks, and hand everything to `plan::build_plan`.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{
    Config, ConfigError, PlannerConfigFile, PlannerLayers, Source, load_planner_config,
    planner_from_env,
};
use crate::diag::{Diagnostic, line_of_offset};
use crate::git::{GitError, Head, Repo};
use crate::ids::ChangeId;
use crate::plan::{Fallback, Plan, PlanError, build_plan, decompose_by_file};
use crate::tasks;

#[derive(Debug, Error)]
pub enum PlanningError {
    #[error("{file} has errors")]
    Tasks {
        file: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// A plan with what it was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    pub change: ChangeId,
    /// tasks.md, relative to the worktree root.
    pub tasks_file: String,
    pub seed_source: Source,
    pub strategy_source: Source,
    #[serde(flatten)]
    pub plan: Plan,
    /// Parser and planner findings (warnings; errors stop planning).
    pub diagnostics: Vec<Diagnostic>,
}

/// Where tasks.md is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TasksSource {
    /// The worktree as it is now (`plan`): uncommitted edits count.
    Worktree,
    /// A commit's tree (a run's base commit): what the run will actually execute.
    Commit(git2::Oid),
}

/// Plan `change` from `source`, `cli` holding `--seed`/`--strategy`.
pub fn plan_change(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    cli: PlannerConfigFile,
    source: TasksSource,
) -> Result<Planned, PlanningError> {
    let layers = PlannerLayers {
        cli,
        env: planner_from_env(|k| std::env::var(k).ok())?,
        change_file: load_planner_config(
            repo.main_root(),
            &config.paths.planner_config.for_change(change),
        )?,
        project: PlannerConfigFile {
            seed: config.planner.seed,
            strategy: config.planner.strategy,
        },
    };
    let ((seed, seed_source), (strategy, strategy_source)) = layers.resolve();
    let tasks_file = config.paths.tasks.for_change(change);
    let bytes = match source {
        TasksSource::Worktree => read_file(repo.workdir(), &tasks_file)?,
        TasksSource::Commit(oid) => match repo.blob_size_at(oid, &tasks_file)? {
            Some(size) if size > MAX_TASKS_BYTES => return Err(too_large(&tasks_file, size)),
            _ => repo.blob_at(oid, &tasks_file)?,
        },
    };
    let (mut list, missing) = match bytes.map(|b| parse_tasks(b, &tasks_file)).transpose()? {
        Some(list) => (list, false),
        None => (tasks::TaskList::default(), true),
    };
    if list.has_errors() {
        return Err(PlanningError::Tasks {
            file: tasks_file,
            diagnostics: list.diagnostics,
        });
    }
    let mut fallback = None;
    if list.tasks.is_empty() {
        let reason = if missing {
            format!("{tasks_file} not found")
        } else {
            format!("{tasks_file} has no tasks")
        };
        let (paths, source) = changed_files(repo, config, change, source)?;
        list.diagnostics.push(Diagnostic::warning(
            &tasks_file,
            0,
            format!(
                "{reason}; planning one task per changed file instead ({} file{} from {source})",
                paths.len(),
                if paths.len() == 1 { "" } else { "s" }
            ),
        ));
        list.tasks = decompose_by_file(&paths);
        fallback = Some(Fallback { reason, source });
    }
    let plan = build_plan(list.tasks, strategy, seed, fallback)
        .map_err(|e| cycle_error(&tasks_file, e))?;
    Ok(Planned {
        change: change.clone(),
        tasks_file,
        seed_source,
        strategy_source,
        plan,
        diagnostics: list.diagnostics,
    })
}

/// The largest task list we read: 16 MiB, over 300 times the largest real Spec-Kit tasks.md
/// we know (52 KiB) and twice a generated 100,000-task list. A bigger file is refused before it
/// is read — parsing costs about 15 bytes of memory per byte of text, so a 100 MB file would
/// need 1.5 GB and minutes, and is not a task list anyone wrote.
pub const MAX_TASKS_BYTES: u64 = 16 * 1024 * 1024;

/// One error in task list `rel`, at `line`, with what to do.
fn tasks_error(rel: &str, line: u32, message: impl Into<String>, hint: &str) -> PlanningError {
    PlanningError::Tasks {
        file: rel.to_string(),
        diagnostics: vec![Diagnostic::error(rel, line, message).with_hint(hint)],
    }
}

fn too_large(rel: &str, size: u64) -> PlanningError {
    tasks_error(
        rel,
        0,
        format!(
            "the file is {:.1} MiB; a task list may be at most {} MiB",
            size as f64 / (1024.0 * 1024.0),
            MAX_TASKS_BYTES >> 20
        ),
        "check that this is the change's task list; split a larger change into several changes",
    )
}

/// A dependency cycle as a diagnostic at the line of its first task.
fn cycle_error(rel: &str, e: PlanError) -> PlanningError {
    let PlanError::Cycle(cycle) = &e;
    let line = cycle.first().map_or(0, |(_, line)| *line);
    tasks_error(
        rel,
        line,
        e.to_string(),
        "remove one of the dependencies in the cycle",
    )
}

/// A file's bytes; `None` when it does not exist. Its size is checked before it is read.
fn read_file(root: &Path, rel: &str) -> Result<Option<Vec<u8>>, PlanningError> {
    use std::io::Read as _;
    let io_err = |source| PlanningError::Io {
        file: rel.to_string(),
        source,
    };
    let path = root.join(rel);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
        // A folder, a FIFO (opening it would wait for a writer forever) or a device.
        Ok(m) if !m.is_file() => {
            return Err(io_err(io::Error::other("not a regular file")));
        }
        Ok(_) => {}
    }
    let file = std::fs::File::open(&path).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    if size > MAX_TASKS_BYTES {
        return Err(too_large(rel, size));
    }
    // `take` bounds the read even if the file grows after the size check.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(MAX_TASKS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_TASKS_BYTES {
        return Err(too_large(rel, bytes.len() as u64));
    }
    Ok(Some(bytes))
}

/// Parse tasks.md. Non-UTF-8 content is an error at the line of the first bad byte, and a NUL
/// byte (which no text file holds) at its line.
fn parse_tasks(bytes: Vec<u8>, rel: &str) -> Result<tasks::TaskList, PlanningError> {
    match String::from_utf8(bytes) {
        Ok(text) => match text.find('\0') {
            Some(at) => Err(tasks_error(
                rel,
                line_of_offset(&text, at),
                "contains a NUL byte: a binary file, not a task list",
                "tasks.md must be a text file (UTF-8)",
            )),
            None => Ok(tasks::parse(&text, rel)),
        },
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = line_of_offset(&String::from_utf8_lossy(&e.as_bytes()[..at]), at);
            Err(tasks_error(
                rel,
                line,
                "not valid UTF-8 text (a binary file?)",
                "save tasks.md as UTF-8",
            ))
        }
    }
}

/// What the change touched: uncommitted changes if there are any (when planning the worktree),
/// else the commits on the branch since it left its base. Our own local data (artifacts, audit
/// logs) never counts.
fn changed_files(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    source: TasksSource,
) -> Result<(Vec<String>, String), PlanningError> {
    let ours = [
        config.paths.artifacts.for_change(change),
        config.paths.planner_config.for_change(change),
        config.paths.implementer_audit.for_change(change),
        config.paths.retention_audit.for_change(change),
    ];
    let is_ours = |p: &str| {
        ours.iter()
            .any(|o| p == o || p.starts_with(&format!("{o}/")))
    };
    let to_strings = |v: Vec<Vec<u8>>| -> Vec<String> {
        v.into_iter()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .filter(|p| !is_ours(p))
            .collect()
    };
    if source == TasksSource::Worktree {
        let uncommitted = to_strings(repo.cli().changed_paths()?);
        if !uncommitted.is_empty() {
            return Ok((uncommitted, "uncommitted changes".into()));
        }
    }
    let Head::Branch { name, oid } = repo.head()? else {
        return Ok((vec![], "an empty history".into()));
    };
    let oid = match source {
        TasksSource::Commit(c) => c,
        TasksSource::Worktree => oid,
    };
    let configured = config.change.base.as_deref();
    let candidates: Vec<&str> = match configured {
        Some(b) => vec![b],
        None => vec!["main", "master", "trunk"],
    };
    match repo.first_existing_branch(&candidates) {
        Some((base, base_oid)) if base != name => {
            let paths = repo
                .paths_changed_since(base_oid, oid)
                .map_err(|e| match e {
                    // Name the branches rather than the commits.
                    GitError::NoMergeBase { shallow, .. } => GitError::NoMergeBase {
                        base: format!("`{base}`"),
                        head: format!("`{name}`"),
                        shallow,
                    },
                    e => e,
                })?;
            Ok((to_strings(paths), format!("commits since {base}")))
        }
        _ => Ok((vec![], "no base branch to compare with".into())),
    }
}
