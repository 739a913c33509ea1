//! The edge around the pure planner: read tasks.md and the planner settings, fall back to a
//! by-file decomposition when there are no tasks, and hand everything to `plan::build_plan`.

use std::io;
use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use crate::config::{
    Config, ConfigError, PlannerConfigFile, PlannerLayers, Source, load_planner_config,
    planner_from_env,
};
use crate::diag::{Diagnostic, line_of_offset};
use crate::git::{GitCli, GitError, Head, Repo};
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
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// A plan with what it was made from.
#[derive(Debug, Clone, Serialize)]
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

/// Plan `change` from the worktree of `repo`, `cli` holding `--seed`/`--strategy`.
pub fn plan_change(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    cli: PlannerConfigFile,
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
    let (mut list, missing) = match read_tasks(repo.workdir(), &tasks_file)? {
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
        let (paths, source) = changed_files(repo, config, change)?;
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
    let plan = build_plan(list.tasks, strategy, seed, fallback)?;
    Ok(Planned {
        change: change.clone(),
        tasks_file,
        seed_source,
        strategy_source,
        plan,
        diagnostics: list.diagnostics,
    })
}

/// Parse tasks.md; `None` when it does not exist. Non-UTF-8 content is an error at the line of
/// the first bad byte.
fn read_tasks(root: &Path, rel: &str) -> Result<Option<tasks::TaskList>, PlanningError> {
    let bytes = match std::fs::read(root.join(rel)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PlanningError::Io {
                file: rel.to_string(),
                source,
            });
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(tasks::parse(&text, rel))),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = line_of_offset(&String::from_utf8_lossy(&e.as_bytes()[..at]), at);
            Err(PlanningError::Tasks {
                file: rel.to_string(),
                diagnostics: vec![
                    Diagnostic::error(rel, line, "not valid UTF-8 text (a binary file?)")
                        .with_hint("save tasks.md as UTF-8"),
                ],
            })
        }
    }
}

/// What the change touched: uncommitted changes if there are any, else the commits on the
/// branch since it left its base. Our own local data (artifacts, audit logs) never counts.
fn changed_files(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
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
    let uncommitted = to_strings(GitCli::new(repo.workdir()).changed_paths()?);
    if !uncommitted.is_empty() {
        return Ok((uncommitted, "uncommitted changes".into()));
    }
    let Head::Branch { name, oid } = repo.head()? else {
        return Ok((vec![], "an empty history".into()));
    };
    let configured = config.change.base.as_deref();
    let candidates: Vec<&str> = match configured {
        Some(b) => vec![b],
        None => vec!["main", "master", "trunk"],
    };
    match repo.first_existing_branch(&candidates) {
        Some((base, base_oid)) if base != name => Ok((
            to_strings(repo.paths_changed_since(base_oid, oid)?),
            format!("commits since {base}"),
        )),
        _ => Ok((vec![], "no base branch to compare with".into())),
    }
}
