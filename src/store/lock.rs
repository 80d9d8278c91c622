//! The writer lock: one process at a time pushes to Cin7 from a store (`draft`, and `listen` when
//! it drafts). An OS file lock (`flock`-style, via `std::fs::File::try_lock`) on `<store>.lock`
//! beside the store file: the OS releases it when the process ends, however it ends, so a crashed
//! run never leaves a stale lock behind. SQLite's own locking keeps each transaction atomic; this
//! lock keeps two runs from interleaving their ledger steps and Cin7 calls.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::StoreError;

/// Held while it lives; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
    path: PathBuf,
}

impl WriterLock {
    /// The lock file of a store: beside it, in its folder's canonical path, so that two spellings
    /// of one store (relative, absolute, through a symlinked folder) share one lock.
    pub fn path_for(store: &Path) -> PathBuf {
        let name = store
            .file_name()
            .map(|n| {
                let mut n = n.to_owned();
                n.push(".lock");
                n
            })
            .unwrap_or_else(|| "replenish.lock".into());
        let parent = store
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(parent)
            .unwrap_or_else(|_| parent.to_path_buf())
            .join(name)
    }

    /// Takes the lock if no other process holds it (`Ok(None)` when one does).
    pub fn try_acquire(store: &Path) -> Result<Option<WriterLock>, StoreError> {
        let path = Self::path_for(store);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Lock {
                path: path.clone(),
                message: e.to_string(),
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WriterLock { _file: file, path })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(StoreError::Lock {
                path,
                message: e.to_string(),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("replenish.db");
        let first = WriterLock::try_acquire(&store).unwrap().unwrap();
        assert_eq!(
            first.path(),
            std::fs::canonicalize(dir.path())
                .unwrap()
                .join("replenish.db.lock")
        );
        // Locks are per open file description: a second open in this process is refused too.
        assert!(WriterLock::try_acquire(&store).unwrap().is_none());
        drop(first);
        assert!(WriterLock::try_acquire(&store).unwrap().is_some());
    }
}
