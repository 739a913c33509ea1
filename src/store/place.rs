//! Where local run data (artifacts, audit logs) may be written, checked before a command
//! changes anything:
//!
//! - **inside the repository**: a folder on the way that is a symbolic link is followed only
//!   when it resolves inside the main worktree and outside the git directory; a link that leads
//!   anywhere else is refused, so nothing is ever written outside through a link;
//! - **writable**: a probe file is created, written, synced and removed, which fails the same
//!   way the real writes would (a read-only or immutable folder, a file where a folder belongs,
//!   a full disk).
//!
//! The checks are made when a command starts; a link swapped in while a run is going on is
//! caught by the next command (every `continue`, `skip` and `abort` checks again).

use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlaceError {
    #[error(
        "{} is a symbolic link to {}, outside the repository; git microloop never writes \
         through a link that leads out of it",
        link.display(),
        target.display()
    )]
    Outside { link: PathBuf, target: PathBuf },
    #[error(
        "{} is a symbolic link into the git directory ({}); run data is never written there",
        link.display(),
        target.display()
    )]
    IntoGitDir { link: PathBuf, target: PathBuf },
    #[error(
        "{} is a symbolic link to {}, which does not exist",
        link.display(),
        target.display()
    )]
    Dangling { link: PathBuf, target: PathBuf },
    #[error("{} is not inside the repository at {}", dir.display(), root.display())]
    NotUnderRoot { dir: PathBuf, root: PathBuf },
    #[error("cannot write in {}: {source}", dir.display())]
    NotWritable {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Check that writing under `dir` (absolute, below `root`) stays inside `root` and out of
/// `git_dir`: every folder on the way that exists and is a symbolic link must resolve there.
pub fn check_inside(root: &Path, dir: &Path, git_dir: &Path) -> Result<(), PlaceError> {
    let rel = dir
        .strip_prefix(root)
        .ok()
        .filter(|r| r.components().all(|c| matches!(c, Component::Normal(_))))
        .ok_or_else(|| PlaceError::NotUnderRoot {
            dir: dir.to_path_buf(),
            root: root.to_path_buf(),
        })?;
    let real_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let real_git = fs::canonicalize(git_dir).unwrap_or_else(|_| git_dir.to_path_buf());
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        let Ok(meta) = fs::symlink_metadata(&at) else {
            break; // not there yet: we create it, as a plain folder
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let target = match fs::canonicalize(&at) {
            Ok(t) => t,
            Err(_) => {
                let target = fs::read_link(&at).unwrap_or_default();
                return Err(PlaceError::Dangling { link: at, target });
            }
        };
        if !target.starts_with(&real_root) {
            return Err(PlaceError::Outside { link: at, target });
        }
        if target.starts_with(&real_git) {
            return Err(PlaceError::IntoGitDir { link: at, target });
        }
    }
    Ok(())
}

/// Make sure files can be written in `dir`: create it if needed, then create, write, sync and
/// remove a probe file. On failure the folders this call created are removed again, so a
/// refused command leaves nothing behind.
pub fn probe_writable(dir: &Path) -> Result<(), PlaceError> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|p| fs::symlink_metadata(p).is_err())
        .map(Path::to_path_buf)
        .collect();
    let result = (|| -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut probe = tempfile::Builder::new()
            .prefix(".microloop-probe-")
            .tempfile_in(dir)?;
        probe.write_all(b"probe\n")?;
        probe.as_file().sync_all()?;
        probe.close()
    })();
    result.map_err(|source| {
        // Deepest first; `remove_dir` only removes empty folders, so nothing else is lost.
        for created in &missing {
            let _ = fs::remove_dir(created);
        }
        PlaceError::NotWritable {
            dir: dir.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_followed_only_inside_the_root_and_outside_the_git_dir() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join(".git")).unwrap();
        fs::create_dir_all(r.join("store")).unwrap();
        let git = r.join(".git");
        assert!(check_inside(r, &r.join("a/b/c"), &git).is_ok());

        symlink(r.join("store"), r.join("inside")).unwrap();
        assert!(check_inside(r, &r.join("inside/work/CH-1"), &git).is_ok());

        symlink(outside.path(), r.join("out")).unwrap();
        assert!(matches!(
            check_inside(r, &r.join("out/work"), &git),
            Err(PlaceError::Outside { .. })
        ));
        symlink(r.join("missing"), r.join("dangling")).unwrap();
        assert!(matches!(
            check_inside(r, &r.join("dangling/x"), &git),
            Err(PlaceError::Dangling { .. })
        ));
        symlink(&git, r.join("git")).unwrap();
        assert!(matches!(
            check_inside(r, &r.join("git/x"), &git),
            Err(PlaceError::IntoGitDir { .. })
        ));
        assert!(matches!(
            check_inside(r, Path::new("/elsewhere/x"), &git),
            Err(PlaceError::NotUnderRoot { .. })
        ));
        assert!(matches!(
            check_inside(r, &r.join("a/../../x"), &git),
            Err(PlaceError::NotUnderRoot { .. })
        ));
    }

    #[test]
    fn a_failed_probe_removes_the_folders_it_created() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        // A file where a folder belongs: creating below it fails for any user, root included.
        fs::write(r.join("blocker"), b"x").unwrap();
        assert!(matches!(
            probe_writable(&r.join("blocker/a/b")),
            Err(PlaceError::NotWritable { .. })
        ));
        fs::create_dir(r.join("ok")).unwrap();
        probe_writable(&r.join("ok/new/run")).unwrap();
        assert_eq!(fs::read_dir(r.join("ok/new/run")).unwrap().count(), 0);
    }
}
