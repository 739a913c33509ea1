//! What most commands need first: the repository, its configuration and the change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::change::resolve_change;
use crate::config::{Config, load_config};
use crate::git::Repo;
use crate::ids::ChangeId;
use crate::retention::gather::known_changes;
use crate::retention::ledger::Ledger;
use crate::run::Layout;
use crate::run::locate::{RunRef, locate};
use crate::run::state::sorted_dir_names;

use super::error::CliError;

pub struct Workspace {
    pub repo: Repo,
    pub config: Config,
}

impl Workspace {
    pub fn open() -> Result<Self, CliError> {
        Self::with_repo(Repo::discover()?)
    }

    /// The repository at `path` (the demo's, for instance).
    pub fn open_at(path: &Path) -> Result<Self, CliError> {
        Self::with_repo(Repo::open(path)?)
    }

    fn with_repo(repo: Repo) -> Result<Self, CliError> {
        let config = load_config(repo.workdir())?;
        Ok(Workspace { repo, config })
    }

    /// The change from `--change`, the branch name, or the only change folder.
    pub fn change(&self, explicit: Option<&str>) -> Result<ChangeId, CliError> {
        let head = self.repo.head()?;
        let folders =
            sorted_dir_names(&self.repo.workdir().join(self.config.paths.changes.as_str()));
        Ok(resolve_change(
            explicit,
            head.branch_name(),
            &folders,
            &self.config.change.pattern,
        )?)
    }

    /// The run a `RUN` argument names: `latest` (of `--change`, else the current change) or a
    /// unique prefix of a run id among every change's runs (of `--change` only, when given).
    /// Every command resolves runs here, so `latest` means the same run to all of them.
    pub fn run(&self, wanted: &str, change: Option<&str>) -> Result<RunRef, CliError> {
        let (changes, latest_of): (BTreeSet<ChangeId>, Option<ChangeId>) = match change {
            Some(c) => {
                let c = self.change(Some(c))?;
                (BTreeSet::from([c.clone()]), Some(c))
            }
            // `latest` looks at one change only: no need to find them all.
            None if wanted == "latest" => (BTreeSet::new(), Some(self.change(None)?)),
            None => {
                let layout = Layout::new(self.repo.common_dir());
                let all = known_changes(&self.repo, &self.config, &layout, &Ledger::new())?;
                (all, None)
            }
        };
        locate(
            &self.repo,
            &self.config,
            &changes,
            wanted,
            latest_of.as_ref(),
        )
        .map_err(|e| CliError::usage(e.message).hint(e.hint))
    }

    /// A path of the change's content (tasks.md, impact.md): in the current worktree, because
    /// they belong to the branch checked out here.
    pub fn content_path(&self, rel: &str) -> PathBuf {
        self.repo.workdir().join(rel)
    }

    /// A path of local run data (artifacts, audit logs, planner config): in the main worktree,
    /// shared by every linked worktree of the repository.
    pub fn local_path(&self, rel: &str) -> PathBuf {
        self.repo.main_root().join(rel)
    }
}
