//! A scratch file of keyed records, read back grouped by key: how a bulk-operation result too
//! large to hold in memory is put back together (a child line may come anywhere after its parent).
//!
//! The spool is its own SQLite file, created beside the store and deleted when dropped; it is not
//! the store and holds nothing a later run reads. It is written once (`push`, then `seal`), then
//! read in (key, insertion) order through an index, so neither writing nor reading holds more
//! than one group in memory. It does not use the store's connection: the bundled SQLite keeps
//! temporary tables in memory (`SQLITE_TEMP_STORE=2`), which is what this file avoids.
//! Durability is switched off (no journal, no sync): a crash loses only scratch data.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;
use super::codec::Context;

/// One record of a group, in insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolRecord {
    /// The caller's sequence number (unique, e.g. a line number).
    pub seq: u64,
    /// The caller's kind tag.
    pub kind: u8,
    pub body: Vec<u8>,
}

/// A scratch file of records grouped by key (see the module docs).
pub struct Spool {
    // Declared before `file`: the connection is closed before the file is deleted.
    conn: Connection,
    file: tempfile::NamedTempFile,
    records: u64,
    sealed: bool,
}

impl Spool {
    /// A new, empty spool file in `dir`, its name starting with `prefix`.
    pub fn create_in(dir: &Path, prefix: &str) -> Result<Spool, StoreError> {
        let file = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(".spool")
            .tempfile_in(dir)
            .map_err(|source| StoreError::Io {
                context: format!("creating a scratch file in {}", dir.display()),
                source,
            })?;
        let conn = Connection::open(file.path()).map_err(|source| StoreError::Open {
            path: file.path().to_owned(),
            source,
        })?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA cache_size = -4096;
             CREATE TABLE records (
                 seq INTEGER PRIMARY KEY,
                 key TEXT NOT NULL,
                 kind INTEGER NOT NULL,
                 body BLOB NOT NULL
             );
             CREATE INDEX records_key ON records (key);
             BEGIN;",
        )
        .with_ctx(|| format!("setting up the scratch file {}", file.path().display()))?;
        Ok(Spool {
            conn,
            file,
            records: 0,
            sealed: false,
        })
    }

    /// The spool file's path (for messages).
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Records pushed so far.
    pub fn len(&self) -> u64 {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Adds a record to `key`'s group; `seq` must be unique within the spool.
    pub fn push(&mut self, key: &str, seq: u64, kind: u8, body: &[u8]) -> Result<(), StoreError> {
        let context = || format!("writing record {seq} to the scratch file");
        let seq_i64 = i64::try_from(seq).map_err(|_| StoreError::Corrupt {
            context: context(),
            message: format!("sequence number {seq} is too large"),
        })?;
        let mut insert = self
            .conn
            .prepare_cached("INSERT INTO records (seq, key, kind, body) VALUES (?1, ?2, ?3, ?4)")
            .with_ctx(context)?;
        insert
            .execute(rusqlite::params![seq_i64, key, kind, body])
            .with_ctx(context)?;
        self.records += 1;
        Ok(())
    }

    /// Ends writing (commits what was pushed). Reading works before too; this only writes the
    /// last pages out and is done once.
    pub fn seal(&mut self) -> Result<(), StoreError> {
        if !self.sealed {
            self.conn
                .execute_batch("COMMIT")
                .ctx("committing the scratch file")?;
            self.sealed = true;
        }
        Ok(())
    }

    /// Calls `f` once per key, in key order, with the key's records in `seq` order. Only one
    /// group is in memory at a time.
    pub fn for_each_group<E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&str, &[SpoolRecord]) -> Result<(), E>,
    ) -> Result<(), E> {
        let context = "reading the scratch file";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT key, seq, kind, body FROM records INDEXED BY records_key ORDER BY key, seq",
            )
            .ctx(context)?;
        let mut rows = stmt.query([]).ctx(context)?;
        let mut key = String::new();
        let mut group: Vec<SpoolRecord> = Vec::new();
        while let Some(row) = rows.next().ctx(context)? {
            let row_key =
                row.get_ref(0)
                    .ctx(context)?
                    .as_str()
                    .map_err(|e| StoreError::Corrupt {
                        context: context.to_owned(),
                        message: format!("key: {e}"),
                    })?;
            if row_key != key {
                if !group.is_empty() {
                    f(&key, &group)?;
                    group.clear();
                }
                key.clear();
                key.push_str(row_key);
            }
            let seq: i64 = row.get(1).ctx(context)?;
            let kind: i64 = row.get(2).ctx(context)?;
            let body = row
                .get_ref(3)
                .ctx(context)?
                .as_blob()
                .map_err(|e| StoreError::Corrupt {
                    context: context.to_owned(),
                    message: format!("body: {e}"),
                })?;
            group.push(SpoolRecord {
                seq: u64::try_from(seq).unwrap_or_default(),
                kind: u8::try_from(kind).unwrap_or(u8::MAX),
                body: body.to_vec(),
            });
        }
        if !group.is_empty() {
            f(&key, &group)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_back_by_key_in_insertion_order_and_the_file_goes_with_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::create_in(dir.path(), ".t.bulk-").unwrap();
        let path = spool.path().to_owned();
        assert!(path.starts_with(dir.path()));
        for (seq, key, kind) in [
            (1, "b", 0),
            (2, "a", 0),
            (3, "b", 1),
            (4, "c", 2),
            (5, "a", 1),
        ] {
            spool
                .push(key, seq, kind, format!("{key}{seq}").as_bytes())
                .unwrap();
        }
        spool.seal().unwrap();
        assert_eq!(spool.len(), 5);
        type Group = (String, Vec<(u64, u8, String)>);
        let mut seen: Vec<Group> = Vec::new();
        spool
            .for_each_group(|key, records| -> Result<(), StoreError> {
                seen.push((
                    key.to_owned(),
                    records
                        .iter()
                        .map(|r| (r.seq, r.kind, String::from_utf8_lossy(&r.body).into_owned()))
                        .collect(),
                ));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![
                ("a".into(), vec![(2, 0, "a2".into()), (5, 1, "a5".into())]),
                ("b".into(), vec![(1, 0, "b1".into()), (3, 1, "b3".into())]),
                ("c".into(), vec![(4, 2, "c4".into())]),
            ]
        );
        drop(spool);
        assert!(!path.exists(), "the scratch file is deleted with the spool");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
