//! Installing the pre-push hook. The decision (write, leave, chain, back up, refuse) is a pure
//! function of what is already there and what the user asked for; the shell around it finds
//! the hooks folder the way git does (`core.hooksPath` included) and writes atomically.
//!
//! An existing hook that is not ours is never overwritten silently: `--chain` keeps it as
//! `pre-push.before-microloop` (our hook runs it first with the same input), `--force`
//! replaces it and keeps the old one as `pre-push.replaced-by-microloop[.N]`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::git::{GitError, Repo};
use crate::store::write_atomic_mode;

/// The hook we install, byte for byte the file shipped in `hooks/pre-push`.
pub const PRE_PUSH: &str = include_str!("../hooks/pre-push");

/// The line that marks a hook as ours (any version of it).
const MARKER: &str = "# git-microloop pre-push hook";

/// Where a hook that was there before ours goes when chained.
pub const CHAINED_NAME: &str = "pre-push.before-microloop";
const BACKUP_NAME: &str = "pre-push.replaced-by-microloop";

/// What is at the hook's path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Nothing,
    /// Ours; `current` when it is byte-identical to this version's.
    Ours {
        current: bool,
    },
    /// Someone else's hook (or a symlink to one).
    Foreign,
}

/// What the user asked for with an existing foreign hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Never touch someone else's hook.
    #[default]
    Refuse,
    /// Keep it and run it before ours.
    Chain,
    /// Replace it, keeping a backup.
    Force,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Installed,
    Unchanged,
    /// An older version of ours was replaced.
    Updated,
    /// The foreign hook was moved aside and is run first by ours.
    Chained,
    /// The foreign hook was moved to a backup and ours put in its place.
    Replaced,
    /// A foreign hook is there and neither `--chain` nor `--force` was given.
    Refused,
}

/// Decide. `chain_slot_taken`: a chained hook already sits at `pre-push.before-microloop`.
pub fn decide(existing: Existing, mode: Mode, chain_slot_taken: bool) -> Action {
    match (existing, mode) {
        (Existing::Nothing, _) => Action::Installed,
        (Existing::Ours { current: true }, _) => Action::Unchanged,
        (Existing::Ours { current: false }, _) => Action::Updated,
        (Existing::Foreign, Mode::Refuse) => Action::Refused,
        (Existing::Foreign, Mode::Chain) if chain_slot_taken => Action::Refused,
        (Existing::Foreign, Mode::Chain) => Action::Chained,
        (Existing::Foreign, Mode::Force) => Action::Replaced,
    }
}

/// Classify a hook file's content.
pub fn classify(content: Option<&[u8]>) -> Existing {
    match content {
        None => Existing::Nothing,
        Some(c) if c == PRE_PUSH.as_bytes() => Existing::Ours { current: true },
        Some(c)
            if String::from_utf8_lossy(c)
                .lines()
                .any(|l| l.starts_with(MARKER)) =>
        {
            Existing::Ours { current: false }
        }
        Some(_) => Existing::Foreign,
    }
}

#[derive(Debug, Error)]
pub enum HookError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// What was done, for people and machines.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    pub action: Action,
    /// The hook's path.
    pub path: PathBuf,
    /// Where the hook that was there before now is (chained or backed up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<PathBuf>,
}

/// The hooks folder git uses for `repo` (`core.hooksPath` when set, else `.git/hooks` of the
/// common dir).
pub fn hooks_dir(repo: &Repo) -> Result<PathBuf, HookError> {
    let out = repo.cli().run(["rev-parse", "--git-path", "hooks"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `--git-path` answers relative to the directory git ran in (the work tree), or absolute.
    Ok(repo.workdir().join(text.trim_end_matches(['\n', '\r'])))
}

/// Whether `dir` already holds a chained hook — anything at its name, a dangling link too (a
/// rename onto it would replace it).
pub fn chain_slot_taken(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(CHAINED_NAME)).is_ok()
}

/// Install the pre-push hook into `dir`.
pub fn install_pre_push(dir: &Path, mode: Mode) -> Result<Installed, HookError> {
    let path = dir.join("pre-push");
    let content = read_hook(&path)?;
    let chained = dir.join(CHAINED_NAME);
    let action = decide(classify(content.as_deref()), mode, chain_slot_taken(dir));
    let io_err = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| HookError::Io { what, path, source }
    };
    let moved_to = match action {
        Action::Chained => Some(chained),
        Action::Replaced => Some(free_backup_name(dir)),
        _ => None,
    };
    if let Some(to) = &moved_to {
        // A rename moves a symlink as a link; the hook it points at stays where it is.
        fs::rename(&path, to).map_err(io_err("moving the existing hook", &path))?;
    }
    if matches!(
        action,
        Action::Installed | Action::Updated | Action::Chained | Action::Replaced
    ) {
        write_atomic_mode(&path, PRE_PUSH.as_bytes(), Some(0o755))
            .map_err(io_err("writing", &path))?;
    }
    Ok(Installed {
        action,
        path,
        moved_to,
    })
}

/// The hook's bytes, `None` when there is none. A symlink is read through (to tell ours from
/// someone else's) but never written through.
fn read_hook(path: &Path) -> Result<Option<Vec<u8>>, HookError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(HookError::Io {
            what: "reading",
            path: path.to_path_buf(),
            source,
        }),
        // A dangling link reads as empty, which is someone else's hook.
        Ok(meta) if meta.file_type().is_symlink() => Ok(Some(fs::read(path).unwrap_or_default())),
        Ok(_) => fs::read(path).map(Some).map_err(|source| HookError::Io {
            what: "reading",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn free_backup_name(dir: &Path) -> PathBuf {
    let first = dir.join(BACKUP_NAME);
    if fs::symlink_metadata(&first).is_err() {
        return first;
    }
    (1u32..)
        .map(|n| dir.join(format!("{BACKUP_NAME}.{n}")))
        .find(|p| fs::symlink_metadata(p).is_err())
        .expect("an unbounded range has a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        use Action::*;
        for mode in [Mode::Refuse, Mode::Chain, Mode::Force] {
            assert_eq!(decide(Existing::Nothing, mode, false), Installed);
            assert_eq!(
                decide(Existing::Ours { current: true }, mode, true),
                Unchanged
            );
            assert_eq!(
                decide(Existing::Ours { current: false }, mode, false),
                Updated
            );
        }
        assert_eq!(decide(Existing::Foreign, Mode::Refuse, false), Refused);
        assert_eq!(decide(Existing::Foreign, Mode::Chain, false), Chained);
        assert_eq!(decide(Existing::Foreign, Mode::Chain, true), Refused);
        assert_eq!(decide(Existing::Foreign, Mode::Force, true), Replaced);
    }

    #[test]
    fn classifies_ours_old_ours_and_foreign() {
        assert_eq!(classify(None), Existing::Nothing);
        assert_eq!(
            classify(Some(PRE_PUSH.as_bytes())),
            Existing::Ours { current: true }
        );
        let old = format!("#!/bin/sh\n{MARKER} (installed by an older version)\nexit 0\n");
        assert_eq!(
            classify(Some(old.as_bytes())),
            Existing::Ours { current: false }
        );
        assert_eq!(classify(Some(b"#!/bin/sh\nnpm test\n")), Existing::Foreign);
    }

    #[test]
    fn installs_chains_and_backs_up_without_losing_a_hook() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let hook = d.join("pre-push");
        fs::write(&hook, "#!/bin/sh\necho theirs\n").unwrap();

        let r = install_pre_push(d, Mode::Refuse).unwrap();
        assert_eq!(r.action, Action::Refused);
        assert_eq!(
            fs::read_to_string(&hook).unwrap(),
            "#!/bin/sh\necho theirs\n"
        );

        let r = install_pre_push(d, Mode::Chain).unwrap();
        assert_eq!(r.action, Action::Chained);
        assert_eq!(fs::read_to_string(&hook).unwrap(), PRE_PUSH);
        assert_eq!(
            fs::read_to_string(d.join(CHAINED_NAME)).unwrap(),
            "#!/bin/sh\necho theirs\n"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&hook).unwrap().permissions().mode() & 0o777,
            0o755
        );

        assert_eq!(
            install_pre_push(d, Mode::Refuse).unwrap().action,
            Action::Unchanged
        );

        // A second foreign hook: chaining would overwrite the first chained one, so refused;
        // forcing keeps it as a backup, twice over without overwriting the first backup.
        fs::write(&hook, "#!/bin/sh\necho second\n").unwrap();
        assert_eq!(
            install_pre_push(d, Mode::Chain).unwrap().action,
            Action::Refused
        );
        let r = install_pre_push(d, Mode::Force).unwrap();
        assert_eq!(r.action, Action::Replaced);
        assert_eq!(r.moved_to.as_deref(), Some(d.join(BACKUP_NAME).as_path()));
        fs::write(&hook, "#!/bin/sh\necho third\n").unwrap();
        let r = install_pre_push(d, Mode::Force).unwrap();
        assert_eq!(
            r.moved_to.as_deref(),
            Some(d.join(format!("{BACKUP_NAME}.1")).as_path())
        );
        assert_eq!(
            fs::read_to_string(d.join(BACKUP_NAME)).unwrap(),
            "#!/bin/sh\necho second\n"
        );
    }

    #[test]
    fn a_symlinked_hook_is_moved_as_a_link_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let target = d.join("shared-hook");
        fs::write(&target, "#!/bin/sh\necho shared\n").unwrap();
        std::os::unix::fs::symlink(&target, d.join("pre-push")).unwrap();
        assert_eq!(
            install_pre_push(d, Mode::Refuse).unwrap().action,
            Action::Refused
        );
        install_pre_push(d, Mode::Chain).unwrap();
        assert_eq!(
            fs::read_to_string(&target).unwrap(),
            "#!/bin/sh\necho shared\n"
        );
        assert!(
            fs::symlink_metadata(d.join(CHAINED_NAME))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
