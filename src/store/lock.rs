//! One process per change at a time: an exclusive kernel lock (`flock` through
//! `File::try_lock`) on a file in the common git dir. The kernel drops it when the process dies,
//! even by `kill -9`, so it can never go stale the way a `*.lock` file does. The holder's pid is
//! written into the file only to make the refusal message useful.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error("another git-microloop process{} is working on {what}", holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy { what: String, holder: Option<u32> },
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Held while alive; released on drop (or by the kernel when the process ends).
#[derive(Debug)]
pub struct ChangeLock {
    _file: File,
    path: PathBuf,
}

impl ChangeLock {
    /// Take the lock at `path` without waiting. `what` names the locked thing in messages.
    pub fn acquire(path: &Path, what: &str) -> Result<ChangeLock, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut s = String::new();
                let _ = file.read_to_string(&mut s);
                return Err(LockError::Busy {
                    what: what.to_string(),
                    holder: s.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // Record who holds it (informational only; the lock itself is the kernel's).
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(ChangeLock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/lock");
        let first = ChangeLock::acquire(&p, "CH-1").unwrap();
        match ChangeLock::acquire(&p, "CH-1") {
            Err(LockError::Busy { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        drop(first);
        ChangeLock::acquire(&p, "CH-1").unwrap();
    }
}
