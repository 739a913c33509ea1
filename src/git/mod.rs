//! The git boundary: the only module that touches git2 or the `git` CLI, so every git operation
//! can be audited in one place.
//!
//! - `repo`: reading through git2 (discovery, refs, revwalks, trees, diffs).
//! - `cli`: the `git` program, for whatever must behave exactly as the user's git does (status in
//!   sparse checkouts, worktrees, commits with hooks and signing, ref transactions). Always an
//!   argument vector, never a shell.

mod cli;
mod refs;
mod repo;
mod worktree;

pub use cli::{GitCli, REPO_ENV_VARS};
pub use refs::{RefOp, RefTip};
pub use repo::{CommitDiff, FileChange, GitError, Head, Repo, TrailerCommit, message_trailers};
pub use worktree::{LARGE_TREE, WorktreeEntry};

/// An object id cut to the 12 hex digits people read (the whole text when shorter).
pub fn short_oid(oid: &str) -> &str {
    oid.get(..12).unwrap_or(oid)
}

/// A branch's short name from a full ref name (`refs/heads/x` → `x`); other refs as they are.
pub fn short_ref(refname: &str) -> &str {
    refname.strip_prefix("refs/heads/").unwrap_or(refname)
}
