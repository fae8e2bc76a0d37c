//! The unlocked store: an open SQLCipher connection and the data API.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::db::StoreError;
use super::integrity::{self, BackgroundCheck, INTEGRITY_PASSED_META, Integrity};
use super::tx::{self, NewChange, NewRejection};

/// A document as stored: its last compacted snapshot plus every change
/// appended since, in arrival order. Load the snapshot, then apply the
/// changes (Automerge ignores any it already has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// The compacted Automerge save, if the document was ever compacted.
    pub snapshot: Option<Vec<u8>>,
    /// The heads the snapshot was taken at, as the caller encoded them.
    pub snapshot_heads: Option<Vec<u8>>,
    /// Encoded changes, oldest first.
    pub changes: Vec<Vec<u8>>,
    /// The highest change sequence number included (0 if none): pass it to
    /// [`Store::compact`] with a snapshot built from this load.
    pub through_seq: i64,
}

/// `documents.snapshot` and `documents.snapshot_heads`.
type SnapshotRow = (Option<Vec<u8>>, Option<Vec<u8>>);

/// A change made on this device that the server has not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnacknowledgedChange {
    /// The change hash.
    pub hash: Vec<u8>,
    /// The encoded change.
    pub bytes: Vec<u8>,
}

/// A draft's key and when it was last saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftInfo {
    /// The draft's key.
    pub draft_key: String,
    /// Unix milliseconds of the last save.
    pub updated_at: i64,
}

/// A change the server refused, as kept on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Row id.
    pub id: i64,
    /// The document.
    pub doc_key: String,
    /// The refused change, if named.
    pub change_hash: Option<Vec<u8>>,
    /// The policy rule.
    pub rule: String,
    /// Where in the document.
    pub path: String,
    /// The explanation shown to the user.
    pub message: String,
    /// Unix milliseconds when it was recorded.
    pub at: i64,
    /// The refused change, once set aside out of its document.
    pub bytes: Option<Vec<u8>>,
    /// The words it would have written (empty when none, or not set aside).
    pub words: String,
}

/// The unlocked, open store. It exists only after a correct passcode:
/// there is no way to build one from a locked data directory without going
/// through [`Vault`](super::Vault) (or its shortcuts [`Store::create`],
/// [`Store::unlock`], [`Store::change_passcode`], kept beside it).
///
/// Every write method runs in its own transaction; use
/// [`Store::transaction`] to make several writes one save.
pub struct Store {
    // Boxed so a `Store` is cheap to move around (and to hand back inside
    // an error) by value.
    conn: Box<Connection>,
    // Boxed too, so the store stays as small as before the check was added.
    dir: Box<Path>,
    /// The full integrity check started at unlock (see `super::integrity`).
    check: Box<BackgroundCheck>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store just created (nothing old to check).
    pub(crate) fn from_connection(conn: Connection, dir: PathBuf) -> Self {
        Store {
            conn: Box::new(conn),
            dir: dir.into_boxed_path(),
            check: Box::new(BackgroundCheck::none()),
        }
    }

    /// A store just unlocked, its full integrity check starting on
    /// `check_conn` (a second connection to the same file).
    pub(crate) fn unlocked(conn: Connection, dir: PathBuf, check_conn: Connection) -> Self {
        Store {
            conn: Box::new(conn),
            dir: dir.into_boxed_path(),
            check: Box::new(BackgroundCheck::start(check_conn)),
        }
    }

    /// What the full integrity check (every page read and verified, run in
    /// the background since unlock) has found so far. See
    /// [`Integrity`] for what each answer means; once it is
    /// [`Integrity::Damaged`] every write fails with
    /// [`StoreError::Corrupt`].
    pub fn integrity(&self) -> Integrity {
        match self.check.integrity(None) {
            Integrity::NotYet { .. } => Integrity::NotYet {
                // A failed read says only that the time is not known.
                last_passed_at: integrity::last_passed_at(
                    self.meta(INTEGRITY_PASSED_META).ok().flatten(),
                ),
            },
            found => found,
        }
    }

    /// Waits for the background integrity check to finish, then says what
    /// it found (the `bothy` command, tests and measurements; the app asks
    /// [`Store::integrity`] instead and never waits).
    pub fn wait_for_integrity(&mut self) -> Integrity {
        self.check.wait();
        self.integrity()
    }

    /// Runs the full integrity check here and now, on the store's own
    /// connection, and keeps its answer as the background check's would be
    /// kept (`bothy check`).
    pub fn check_integrity_now(&mut self) -> Result<Integrity, StoreError> {
        self.check.stop();
        let found = integrity::full_check(&self.conn)?;
        self.check.record(found);
        if let Integrity::Passed { at } = found {
            self.put_meta(INTEGRITY_PASSED_META, at.to_string().as_bytes())?;
        }
        Ok(found)
    }

    /// Opens an UNENCRYPTED database (`bothy-plaintext.db`) with the same
    /// schema and pragmas, only so benchmarks can measure what SQLCipher
    /// costs. Exists only with the `bench-plaintext` feature.
    #[doc(hidden)]
    #[cfg(feature = "bench-plaintext")]
    pub fn open_plaintext_for_benchmarks(dir: &Path) -> Result<Store, StoreError> {
        use super::db::{self, Encryption};
        super::fsutil::create_private_dir(dir)?;
        let path = dir.join("bothy-plaintext.db");
        let conn = if path.try_exists()? {
            db::open_existing(&path, Encryption::Plaintext)?
        } else {
            db::create(&path, Encryption::Plaintext)?
        };
        Ok(Store::from_connection(conn, dir.to_path_buf()))
    }

    /// Locks: closes the database. SQLCipher wipes its copy of the key as
    /// the connection closes; the store holds no other key material.
    pub fn lock(mut self) -> Result<(), StoreError> {
        self.check.stop();
        self.conn
            .close()
            .map_err(|(_, error)| StoreError::from(error))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` in one write transaction: committed if `f` returns `Ok`,
    /// rolled back if it returns `Err`. Use the functions in
    /// [`tx`](super::tx) (or plain SQL on the transaction) inside.
    ///
    /// ```no_run
    /// # use bothy_client::store::{Store, StoreError, tx};
    /// # fn save(store: &mut Store, change: tx::NewChange<'_>) -> Result<(), StoreError> {
    /// store.transaction(|t| {
    ///     tx::append_changes(t, "record/child-1", &[change])?;
    ///     tx::delete_draft(t, "visit/visit-1")?;
    ///     Ok::<_, StoreError>(())
    /// })
    /// # }
    /// ```
    pub fn transaction<T, E>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        // Nothing new is written into a file known to be damaged.
        if self.check.is_damaged() {
            return Err(StoreError::Corrupt.into());
        }
        let transaction = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        // On `Err` the transaction drops here and rolls back.
        let value = f(&transaction)?;
        transaction.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// The connection, for the reads behind lists and search. Write through
    /// [`Store::transaction`].
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Appends changes to a document, ignoring hashes it already has.
    /// Returns how many were new.
    pub fn append_changes(
        &mut self,
        doc_key: &str,
        changes: &[NewChange<'_>],
    ) -> Result<usize, StoreError> {
        self.transaction(|t| tx::append_changes(t, doc_key, changes))
    }

    /// The document's snapshot and changes, `None` if there is neither.
    pub fn load_document(&self, doc_key: &str) -> Result<Option<StoredDocument>, StoreError> {
        // One read transaction so the snapshot and the changes agree.
        let read = self.conn.unchecked_transaction()?;
        let snapshot: Option<SnapshotRow> = read
            .prepare_cached("SELECT snapshot, snapshot_heads FROM documents WHERE doc_key = ?1")?
            .query_row(params![doc_key], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let mut changes = Vec::new();
        let mut through_seq = 0;
        {
            let mut select = read
                .prepare_cached("SELECT bytes, seq FROM changes WHERE doc_key = ?1 ORDER BY seq")?;
            let mut rows = select.query(params![doc_key])?;
            while let Some(row) = rows.next()? {
                changes.push(row.get(0)?);
                through_seq = row.get(1)?;
            }
        }
        read.finish()?;
        if snapshot.is_none() && changes.is_empty() {
            return Ok(None);
        }
        let (snapshot, snapshot_heads) = snapshot.unwrap_or_default();
        Ok(Some(StoredDocument {
            snapshot,
            snapshot_heads,
            changes,
            through_seq,
        }))
    }

    /// Stores a new snapshot and drops the acknowledged changes it covers
    /// (see [`tx::compact`]). Returns how many changes were deleted.
    pub fn compact(
        &mut self,
        doc_key: &str,
        snapshot: &[u8],
        snapshot_heads: &[u8],
        through_seq: i64,
    ) -> Result<usize, StoreError> {
        self.transaction(|t| tx::compact(t, doc_key, snapshot, snapshot_heads, through_seq))
    }

    /// The sequence number of the document's newest stored change, if it
    /// has any (a compaction covers the changes up to it).
    pub fn last_change_seq(&self, doc_key: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT max(seq) FROM changes WHERE doc_key = ?1")?
            .query_row(params![doc_key], |row| row.get(0))
            .optional()?
            .flatten())
    }

    /// How many changes made on this device the server has not acknowledged,
    /// over every document.
    pub fn unacknowledged_change_count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM changes WHERE local = 1")?
            .query_row([], |row| row.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Every document key on the device, sorted.
    pub fn list_doc_keys(&self) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT doc_key FROM documents UNION SELECT doc_key FROM changes ORDER BY 1",
            params![],
        )
    }

    /// The document's changes not yet acknowledged by the server, oldest
    /// first.
    pub fn unacknowledged_changes(
        &self,
        doc_key: &str,
    ) -> Result<Vec<UnacknowledgedChange>, StoreError> {
        let mut select = self.conn.prepare_cached(
            "SELECT hash, bytes FROM changes WHERE doc_key = ?1 AND local = 1 ORDER BY seq",
        )?;
        let rows = select.query_map(params![doc_key], |row| {
            Ok(UnacknowledgedChange {
                hash: row.get(0)?,
                bytes: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keys of the documents that have unacknowledged changes, sorted.
    pub fn docs_with_unacknowledged_changes(&self) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT DISTINCT doc_key FROM changes WHERE local = 1 ORDER BY 1",
            params![],
        )
    }

    /// Marks local changes as acknowledged by the server.
    pub fn mark_acknowledged(
        &mut self,
        doc_key: &str,
        hashes: &[&[u8]],
    ) -> Result<usize, StoreError> {
        self.transaction(|t| tx::mark_acknowledged(t, doc_key, hashes))
    }

    /// The saved Automerge sync state with `peer` for a document.
    pub fn sync_state(&self, peer: &str, doc_key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.optional_blob(
            "SELECT state FROM sync_states WHERE peer = ?1 AND doc_key = ?2",
            params![peer, doc_key],
        )
    }

    /// Saves the Automerge sync state with `peer` for a document.
    pub fn put_sync_state(
        &mut self,
        peer: &str,
        doc_key: &str,
        state: &[u8],
    ) -> Result<(), StoreError> {
        self.transaction(|t| tx::put_sync_state(t, peer, doc_key, state))
    }

    /// Saves a draft (as the user types).
    pub fn put_draft(&mut self, draft_key: &str, body: &[u8]) -> Result<(), StoreError> {
        self.transaction(|t| tx::put_draft(t, draft_key, body))
    }

    /// A saved draft.
    pub fn draft(&self, draft_key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.optional_blob(
            "SELECT body FROM drafts WHERE draft_key = ?1",
            params![draft_key],
        )
    }

    /// Deletes a draft; `true` if there was one.
    pub fn delete_draft(&mut self, draft_key: &str) -> Result<bool, StoreError> {
        self.transaction(|t| tx::delete_draft(t, draft_key))
    }

    /// Every draft, most recently saved first.
    pub fn list_drafts(&self) -> Result<Vec<DraftInfo>, StoreError> {
        let mut select = self.conn.prepare_cached(
            "SELECT draft_key, updated_at FROM drafts ORDER BY updated_at DESC, draft_key",
        )?;
        let rows = select.query_map([], |row| {
            Ok(DraftInfo {
                draft_key: row.get(0)?,
                updated_at: row.get::<_, Option<i64>>(1)?.unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A meta value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.optional_blob("SELECT value FROM meta WHERE key = ?1", params![key])
    }

    /// Sets a meta value.
    pub fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.transaction(|t| tx::put_meta(t, key, value))
    }

    /// Records a refusal from the server; returns its id.
    pub fn add_rejection(&mut self, rejection: &NewRejection<'_>) -> Result<i64, StoreError> {
        self.transaction(|t| tx::add_rejection(t, rejection))
    }

    /// Every recorded refusal, oldest first.
    pub fn rejections(&self) -> Result<Vec<Rejection>, StoreError> {
        let mut select = self.conn.prepare_cached(
            "SELECT id, doc_key, change_hash, rule, path, message, at, bytes, words
             FROM rejections ORDER BY id",
        )?;
        let rows = select.query_map([], |row| {
            Ok(Rejection {
                id: row.get(0)?,
                doc_key: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                change_hash: row.get(2)?,
                rule: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
                path: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
                message: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
                at: row.get::<_, Option<i64>>(6)?.unwrap_or(0),
                bytes: row.get(7)?,
                words: row.get::<_, Option<String>>(8)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn strings(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<String>, StoreError> {
        let mut select = self.conn.prepare_cached(sql)?;
        let rows = select.query_map(params, |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn optional_blob(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row(params, |row| row.get(0))
            .optional()?)
    }
}
