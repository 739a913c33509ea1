//! Reading a repository through git2, behind our own small types.

use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GitError {
    #[error("not inside a git repository ({0})")]
    NotARepo(String),
    #[error("the repository at {0} is bare; git microloop needs a working tree")]
    Bare(String),
    #[error("{context}: {source}")]
    Git2 {
        context: String,
        #[source]
        source: git2::Error,
    },
    #[error("could not start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({}): {stderr}", status.map_or("killed by a signal".to_string(), |c| format!("exit {c}")))]
    Cli {
        command: String,
        status: Option<i32>,
        stderr: String,
    },
}

trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, GitError>;
}

impl<T> Context<T> for Result<T, git2::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, GitError> {
        self.map_err(|source| GitError::Git2 {
            context: what(),
            source,
        })
    }
}

/// What HEAD is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// On a branch with at least one commit.
    Branch {
        name: String,
        oid: git2::Oid,
    },
    /// On a branch that has no commit yet.
    Unborn {
        name: String,
    },
    Detached(git2::Oid),
}

impl Head {
    pub fn branch_name(&self) -> Option<&str> {
        match self {
            Head::Branch { name, .. } | Head::Unborn { name } => Some(name),
            Head::Detached(_) => None,
        }
    }
}

/// An open, non-bare repository and the places that matter.
pub struct Repo {
    inner: git2::Repository,
    /// The root of the worktree the command runs in.
    workdir: PathBuf,
    /// The root of the main worktree (where shared artifacts and audit logs live).
    main_root: PathBuf,
    /// The git dir shared by all worktrees (run state lives here).
    common_dir: PathBuf,
}

impl Repo {
    /// Find the repository the way git does (`GIT_DIR`, `GIT_WORK_TREE`, or upwards from the
    /// current directory).
    pub fn discover() -> Result<Repo, GitError> {
        let inner = git2::Repository::open_from_env()
            .map_err(|e| GitError::NotARepo(e.message().to_string()))?;
        Repo::from_git2(inner)
    }

    /// Open the repository containing `path`.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        let inner = git2::Repository::discover(path)
            .map_err(|e| GitError::NotARepo(e.message().to_string()))?;
        Repo::from_git2(inner)
    }

    fn from_git2(inner: git2::Repository) -> Result<Repo, GitError> {
        let Some(workdir) = inner.workdir().map(strip_trailing_sep) else {
            return Err(GitError::Bare(inner.path().display().to_string()));
        };
        let common_dir = strip_trailing_sep(inner.commondir());
        // In a linked worktree the common dir is the main worktree's `.git`; when the main
        // repository is bare (worktrees only) the current worktree is the best root we have.
        let main_root = match (common_dir.file_name(), common_dir.parent()) {
            (Some(n), Some(parent)) if n == ".git" && inner.is_worktree() => parent.to_path_buf(),
            _ => workdir.clone(),
        };
        Ok(Repo {
            inner,
            workdir,
            main_root,
            common_dir,
        })
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn main_root(&self) -> &Path {
        &self.main_root
    }

    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    pub fn git2(&self) -> &git2::Repository {
        &self.inner
    }

    pub fn head(&self) -> Result<Head, GitError> {
        let head_ref = self
            .inner
            .find_reference("HEAD")
            .context(|| "reading HEAD".into())?;
        let symbolic = head_ref
            .symbolic_target()
            .context(|| "reading HEAD's target".into())?;
        match symbolic {
            Some(target) => {
                let name = target
                    .strip_prefix("refs/heads/")
                    .unwrap_or(target)
                    .to_string();
                match self.inner.refname_to_id(target) {
                    Ok(oid) => Ok(Head::Branch { name, oid }),
                    Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(Head::Unborn { name }),
                    Err(source) => Err(GitError::Git2 {
                        context: format!("resolving {target}"),
                        source,
                    }),
                }
            }
            None => {
                let oid = head_ref
                    .target()
                    .ok_or_else(|| GitError::NotARepo("HEAD points nowhere".into()))?;
                Ok(Head::Detached(oid))
            }
        }
    }

    /// The first existing branch among `candidates`.
    pub fn first_existing_branch(&self, candidates: &[&str]) -> Option<(String, git2::Oid)> {
        candidates.iter().find_map(|b| {
            let oid = self.inner.refname_to_id(&format!("refs/heads/{b}")).ok()?;
            Some((b.to_string(), oid))
        })
    }

    /// Paths changed between the merge base of `base` and `head`, and `head` (what the commits on
    /// a change branch touched), byte-exact.
    pub fn paths_changed_since(
        &self,
        base: git2::Oid,
        head: git2::Oid,
    ) -> Result<Vec<Vec<u8>>, GitError> {
        let mb = self
            .inner
            .merge_base(base, head)
            .context(|| format!("finding the merge base of {base} and {head}"))?;
        let tree_of = |oid: git2::Oid| {
            self.inner
                .find_commit(oid)
                .and_then(|c| c.tree())
                .context(|| format!("reading the tree of {oid}"))
        };
        let (old, new) = (tree_of(mb)?, tree_of(head)?);
        let diff = self
            .inner
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .context(|| "diffing trees".into())?;
        let mut paths = Vec::new();
        for delta in diff.deltas() {
            for file in [delta.new_file(), delta.old_file()] {
                if let Some(p) = file.path_bytes() {
                    if !paths.iter().any(|q: &Vec<u8>| q == p) {
                        paths.push(p.to_vec());
                    }
                    break;
                }
            }
        }
        Ok(paths)
    }
}

fn strip_trailing_sep(p: &Path) -> PathBuf {
    p.components().collect()
}
