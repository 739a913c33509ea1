//! Linked worktrees, staging, committing and branch moves — through the `git` CLI, so hooks,
//! signing, LFS, filters and sparse checkouts behave exactly as the user's git does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::{GitCli, GitError};

/// Settings for git commands in a worktree we own (the run's): git's own large-repository
/// profile — index format v4, no trailing index checksum to recompute on every write, the
/// untracked cache. They change only how that worktree's index is stored, never what is
/// committed, and are passed per command (`-c`), so the user's configuration is untouched.
pub const LARGE_TREE: &[&str] = &["-c", "feature.manyFiles=true"];

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeEntry {
    pub path: PathBuf,
    /// Full ref name of the checked-out branch (`refs/heads/…`), if any.
    pub branch: Option<String>,
}

impl GitCli {
    /// `git worktree add --lock [-b] <path> <branch|start>`: the run's isolated checkout, with
    /// the run branch checked out there so git itself refuses to delete it or check it out
    /// elsewhere while the run lives. With `start`, the branch is created there; without, it
    /// must exist.
    pub fn worktree_add(
        &self,
        path: &Path,
        branch: &str,
        start: Option<&str>,
        reason: &str,
    ) -> Result<(), GitError> {
        let mut args: Vec<&std::ffi::OsStr> = ["worktree", "add", "--quiet", "--lock", "--reason"]
            .iter()
            .map(std::ffi::OsStr::new)
            .collect();
        args.push(reason.as_ref());
        match start {
            Some(start) => {
                args.extend([
                    std::ffi::OsStr::new("-b"),
                    branch.as_ref(),
                    path.as_os_str(),
                ]);
                args.push(start.as_ref());
            }
            None => args.extend([path.as_os_str(), branch.as_ref()]),
        }
        self.run(args)?;
        Ok(())
    }

    /// Unlock and remove a worktree we own (its changes are ours to drop: the run's work is in
    /// commits, and failed attempts were captured as evidence first).
    pub fn worktree_remove(&self, path: &Path) -> Result<(), GitError> {
        let _ = self.run(
            ["worktree".as_ref(), "unlock".as_ref(), path.as_os_str()] as [&std::ffi::OsStr; 3]
        );
        if path.exists() {
            self.run([
                "worktree".as_ref(),
                "remove".as_ref(),
                "--force".as_ref(),
                path.as_os_str(),
            ] as [&std::ffi::OsStr; 4])?;
        }
        let _ = self.run(["worktree", "prune"]);
        Ok(())
    }

    pub fn worktree_list(&self) -> Result<Vec<WorktreeEntry>, GitError> {
        let out = self.run(["worktree", "list", "--porcelain", "-z"])?;
        let mut entries = Vec::new();
        let mut cur: Option<WorktreeEntry> = None;
        for field in out.stdout.split(|&b| b == 0) {
            let field = String::from_utf8_lossy(field);
            if let Some(p) = field.strip_prefix("worktree ") {
                entries.extend(cur.take());
                cur = Some(WorktreeEntry {
                    path: PathBuf::from(p),
                    branch: None,
                });
            } else if let (Some(b), Some(e)) = (field.strip_prefix("branch "), cur.as_mut()) {
                e.branch = Some(b.to_string());
            }
        }
        entries.extend(cur);
        Ok(entries)
    }

    /// Does git have an identity to commit with here (`git var` is as strict as `git commit`)?
    pub fn identity(&self) -> Result<(), GitError> {
        self.run(["var", "GIT_AUTHOR_IDENT"])?;
        self.run(["var", "GIT_COMMITTER_IDENT"])?;
        Ok(())
    }

    /// Stage everything (respecting .gitignore) except `excluded` paths (relative to the
    /// worktree root). `tuning` is `LARGE_TREE` for the run's own worktree.
    pub fn add_all(&self, excluded: &[String], tuning: &[&str]) -> Result<(), GitError> {
        let mut args: Vec<String> = tuning
            .iter()
            .chain(["add", "-A"].iter())
            .map(|s| s.to_string())
            .collect();
        // Excluding a path the repository already ignores makes `git add` fail ("paths are
        // ignored"), and is not needed: only the others are excluded.
        let ignored = self.ignored(excluded)?;
        let excluded: Vec<&String> = excluded.iter().filter(|p| !ignored.contains(p)).collect();
        if !excluded.is_empty() {
            args.extend(["--".to_string(), ":/".to_string()]);
            args.extend(excluded.iter().map(|p| format!(":(top,exclude){p}")));
        }
        self.run(&args)?;
        Ok(())
    }

    /// `git commit --cleanup=verbatim -F -` (hooks and signing apply), allowing an empty commit
    /// as evidence for a task that changed nothing. Returns git's stderr on failure.
    pub fn commit(&self, message: &str, no_verify: bool, tuning: &[&str]) -> Result<(), GitError> {
        let mut args = tuning.to_vec();
        args.extend([
            "commit",
            "--quiet",
            "--allow-empty",
            "--cleanup=verbatim",
            "-F",
            "-",
        ]);
        if no_verify {
            args.push("--no-verify");
        }
        let mut cmd = self.command(&args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("{cmd:?}");
        crate::fault::step("git-commit");
        let mut child = cmd.spawn().map_err(|source| GitError::Spawn {
            command: shown.clone(),
            source,
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that exits early may close stdin; the exit status tells the story.
            let _ = stdin.write_all(message.as_bytes());
        }
        let out = child.wait_with_output().map_err(|source| GitError::Spawn {
            command: shown.clone(),
            source,
        })?;
        crate::fault::step("git-commit-done");
        if out.status.success() {
            Ok(())
        } else {
            let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !stdout.is_empty() {
                stderr = format!("{stderr}\n{stdout}").trim().to_string();
            }
            Err(GitError::Cli {
                command: shown,
                status: out.status.code(),
                stderr,
            })
        }
    }

    /// Put a worktree we own back to `commit`: tracked files reset, untracked ones removed
    /// (ignored files such as build caches stay).
    pub fn reset_hard(&self, commit: &str) -> Result<(), GitError> {
        self.run(["reset", "--quiet", "--hard", commit])?;
        self.run(["clean", "-q", "-f", "-d"])?;
        Ok(())
    }

    /// `git merge --ff-only <commit>` in the worktree where the branch is checked out: local
    /// edits the fast-forward does not touch are carried along; ones it would overwrite stop it.
    pub fn merge_ff_only(&self, commit: &str) -> Result<(), GitError> {
        self.run(["merge", "--quiet", "--ff-only", commit])?;
        Ok(())
    }

    /// Move `refname` from `old` to `new`, only if it still points at `old`.
    pub fn update_ref_cas(&self, refname: &str, new: &str, old: &str) -> Result<(), GitError> {
        self.run([
            "update-ref",
            "-m",
            "git-microloop: fast-forward",
            refname,
            new,
            old,
        ])?;
        Ok(())
    }
}
