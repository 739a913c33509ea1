//! Running the `git` program: argv only, with a clean view of which repository it works on.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::GitError;

/// Variables that point git at a particular repository, index or object store. A caller may
/// have set them for another repository (a hook, a GIT_DIR=… wrapper); we always tell git
/// explicitly where to work instead.
pub const REPO_ENV_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
];

/// `git` pointed at one working directory.
#[derive(Debug, Clone)]
pub struct GitCli {
    dir: PathBuf,
    /// The repository's git dir, given explicitly (`--git-dir`, with `dir` as `--work-tree`)
    /// when git could not find it from `dir` on its own: a work tree kept apart from its git
    /// dir, reached through `GIT_DIR`/`GIT_WORK_TREE`.
    git_dir: Option<PathBuf>,
}

impl GitCli {
    /// git in `dir`, finding the repository from there as git does.
    pub fn new(dir: &Path) -> Self {
        GitCli {
            dir: dir.to_path_buf(),
            git_dir: None,
        }
    }

    /// git in the work tree `dir` of the repository whose git dir is `git_dir`.
    pub fn with_git_dir(dir: &Path, git_dir: &Path) -> Self {
        GitCli {
            dir: dir.to_path_buf(),
            git_dir: Some(git_dir.to_path_buf()),
        }
    }

    /// A `git` command in this directory with repository variables removed.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.dir);
        if let Some(git_dir) = &self.git_dir {
            cmd.arg("--git-dir").arg(git_dir);
            cmd.arg("--work-tree").arg(&self.dir);
        }
        cmd.args(args);
        for var in REPO_ENV_VARS {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Run to completion; a non-zero exit is an error carrying git's stderr.
    pub fn run<I, S>(&self, args: I) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_accepting(args, |status| status == Some(0))
    }

    /// Run to completion; an exit status `ok` refuses is an error carrying git's stderr.
    fn run_accepting<I, S>(
        &self,
        args: I,
        ok: impl Fn(Option<i32>) -> bool,
    ) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        let shown = format!("{cmd:?}");
        tracing::debug!(command = %shown, "git");
        crate::fault::step("git");
        let started = std::time::Instant::now();
        let out = cmd.output().map_err(|source| GitError::Spawn {
            command: shown.clone(),
            source,
        })?;
        crate::fault::step("git-done");
        tracing::trace!(
            status = ?out.status.code(),
            ms = started.elapsed().as_millis() as u64,
            stdout_bytes = out.stdout.len(),
            stderr = %String::from_utf8_lossy(&out.stderr).trim(),
            "git finished"
        );
        if ok(out.status.code()) {
            Ok(out)
        } else {
            Err(GitError::Cli {
                command: shown,
                status: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// Which of `paths` (relative to this directory) git ignores, per the repository's
    /// ignore rules.
    pub fn ignored(&self, paths: &[String]) -> Result<Vec<String>, GitError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let args = ["check-ignore", "--"]
            .into_iter()
            .chain(paths.iter().map(String::as_str));
        // 0: some are ignored (listed), 1: none is, anything else: an error.
        let out = self.run_accepting(args, |status| matches!(status, Some(0 | 1)))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// Paths with uncommitted changes (staged, unstaged or untracked, ignored ones excluded),
    /// as git reports them. git's own status is used so that sparse checkouts, fsmonitor and
    /// the untracked cache behave as the user expects.
    pub fn changed_paths(&self) -> Result<Vec<Vec<u8>>, GitError> {
        let out = self.run([
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
        ])?;
        Ok(out
            .stdout
            .split(|&b| b == 0)
            .filter(|e| e.len() > 3)
            .map(|e| e[3..].to_vec())
            .collect())
    }
}
