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
    /// The lock file of a store: beside the store's real file, named after it, so that every
    /// spelling of one store (relative or absolute, through a symlinked folder, or through a
    /// symlink to the file itself) shares one lock. The store need not exist yet. (Hard links
    /// are not recognised; SQLite itself does not support a database reached through two hard
    /// links, since its WAL file is named after the path.)
    pub fn path_for(store: &Path) -> PathBuf {
        let real = real_path(store);
        let name = real
            .file_name()
            .map(|n| {
                let mut n = n.to_owned();
                n.push(".lock");
                n
            })
            .unwrap_or_else(|| "replenish.lock".into());
        real.with_file_name(name)
    }

    /// Takes the lock if no other process holds it (`Ok(None)` when one does).
    pub fn try_acquire(store: &Path) -> Result<Option<WriterLock>, StoreError> {
        let path = Self::path_for(store);
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|e| StoreError::Lock {
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

    /// Whether a live process holds the store's lock now, checked without creating or taking
    /// anything (for read-only commands): no lock file means no holder.
    pub fn is_held(store: &Path) -> Result<bool, StoreError> {
        let path = Self::path_for(store);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(StoreError::Lock {
                    path,
                    message: e.to_string(),
                });
            }
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(e)) => Err(StoreError::Lock {
                path,
                message: e.to_string(),
            }),
        }
    }
}

/// `path` with every symlink resolved and its folder canonical, whether or not the file exists.
fn real_path(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    // Not there yet, or a symlink to a file not created yet: follow links by hand (a bounded
    // number, as the OS does), then make the folder canonical.
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(target) if target.is_absolute() => p = target,
            Ok(target) => {
                let folder = p.parent().map(Path::to_path_buf).unwrap_or_default();
                p = folder.join(target);
            }
            Err(_) => break,
        }
    }
    let name = p.file_name().map(|n| n.to_owned());
    let parent = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    match name {
        Some(name) => parent.join(name),
        None => parent,
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
        assert!(WriterLock::is_held(&store).unwrap());
        drop(first);
        assert!(!WriterLock::is_held(&store).unwrap());
        assert!(WriterLock::try_acquire(&store).unwrap().is_some());
        assert!(
            !WriterLock::is_held(&dir.path().join("never.db")).unwrap(),
            "no lock file, no holder"
        );
    }

    #[cfg(unix)]
    #[test]
    fn every_spelling_of_one_store_shares_one_lock() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("data");
        std::fs::create_dir(&real).unwrap();
        let store = real.join("replenish.db");
        std::fs::write(&store, b"").unwrap();
        // A symlink to the file, a symlinked folder, and a `..` spelling.
        let file_link = dir.path().join("other.db");
        std::os::unix::fs::symlink(&store, &file_link).unwrap();
        let dir_link = dir.path().join("linked");
        std::os::unix::fs::symlink(&real, &dir_link).unwrap();
        let dotted = real.join("..").join("data").join("replenish.db");
        let held = WriterLock::try_acquire(&store).unwrap().unwrap();
        for alias in [&file_link, &dir_link.join("replenish.db"), &dotted] {
            assert_eq!(
                WriterLock::path_for(alias),
                held.path(),
                "{}",
                alias.display()
            );
            assert!(
                WriterLock::try_acquire(alias).unwrap().is_none(),
                "{} is the same store",
                alias.display()
            );
        }
        // A symlink to a store not created yet resolves the same way.
        let later = real.join("later.db");
        let later_link = dir.path().join("later-link.db");
        std::os::unix::fs::symlink(&later, &later_link).unwrap();
        assert_eq!(
            WriterLock::path_for(&later_link),
            WriterLock::path_for(&later)
        );
        // A different store has its own lock.
        assert!(
            WriterLock::try_acquire(&real.join("another.db"))
                .unwrap()
                .is_some()
        );
    }
}
