//! Writes that compose inside one transaction.
//!
//! Every function here takes the open [`Transaction`] handed out by
//! [`Store::transaction`](super::Store::transaction), so a service can append
//! a document's changes *and* have the index (`crate::index`) replace that
//! document's index rows, and either both are saved or neither is. The single-purpose methods on
//! [`Store`](super::Store) wrap one of these each in its own transaction.
//!
//! # Changes, acknowledgement and compaction
//!
//! `changes` holds each document's Automerge changes since its snapshot, in
//! arrival order (`seq`). A change made on this device is stored with
//! `local = 1` until the server acknowledges it ([`mark_acknowledged`]).
//! [`compact`] stores a new snapshot and deletes only the *acknowledged*
//! changes it covers: unacknowledged ones stay in the table (and are also in
//! the snapshot, which Automerge tolerates: applying a change it already has
//! is a no-op) so they can still be sent, and are shown as unsynced work.
//! The next compaction after acknowledgement removes them.

use rusqlite::{OptionalExtension, Transaction, params};

use super::db::StoreError;

/// One Automerge change to append to a document.
#[derive(Debug, Clone, Copy)]
pub struct NewChange<'a> {
    /// The change hash (content address); duplicates are ignored.
    pub hash: &'a [u8],
    /// The encoded change.
    pub bytes: &'a [u8],
    /// Made on this device and not yet acknowledged by the server.
    pub local: bool,
}

/// Something the server refused, kept and shown to the user.
#[derive(Debug, Clone, Copy)]
pub struct NewRejection<'a> {
    /// The document the refused change belongs to.
    pub doc_key: &'a str,
    /// The refused change, if the refusal names one.
    pub change_hash: Option<&'a [u8]>,
    /// The policy rule that refused it.
    pub rule: &'a str,
    /// Where in the document.
    pub path: &'a str,
    /// The plain-language explanation.
    pub message: &'a str,
    /// The refused change itself, once set aside out of its document.
    pub bytes: Option<&'a [u8]>,
    /// The words it would have written (`bothy_shared::refused::words_of_change`).
    pub words: Option<&'a str>,
}

/// Appends changes to a document, ignoring any whose hash it already has.
/// Returns how many were new.
pub fn append_changes(
    tx: &Transaction<'_>,
    doc_key: &str,
    changes: &[NewChange<'_>],
) -> Result<usize, StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO changes (doc_key, hash, bytes, local) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (doc_key, hash) DO NOTHING",
    )?;
    let mut added = 0;
    for change in changes {
        added += insert.execute(params![doc_key, change.hash, change.bytes, change.local])?;
    }
    Ok(added)
}

/// Replaces a document's snapshot and deletes the acknowledged changes with
/// `seq <= through_seq` (the `through_seq` of the
/// [`StoredDocument`](super::StoredDocument) the snapshot was built from).
/// Unacknowledged changes are kept (see the module docs). Returns how many
/// changes were deleted.
pub fn compact(
    tx: &Transaction<'_>,
    doc_key: &str,
    snapshot: &[u8],
    snapshot_heads: &[u8],
    through_seq: i64,
) -> Result<usize, StoreError> {
    tx.prepare_cached(
        "INSERT INTO documents (doc_key, snapshot, snapshot_heads, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (doc_key) DO UPDATE SET
             snapshot = excluded.snapshot,
             snapshot_heads = excluded.snapshot_heads,
             updated_at = excluded.updated_at",
    )?
    .execute(params![doc_key, snapshot, snapshot_heads, now_ms()])?;
    let deleted = tx
        .prepare_cached("DELETE FROM changes WHERE doc_key = ?1 AND local = 0 AND seq <= ?2")?
        .execute(params![doc_key, through_seq])?;
    Ok(deleted)
}

/// Marks local changes as acknowledged by the server. Returns how many
/// changed state.
pub fn mark_acknowledged(
    tx: &Transaction<'_>,
    doc_key: &str,
    hashes: &[&[u8]],
) -> Result<usize, StoreError> {
    let mut update = tx.prepare_cached(
        "UPDATE changes SET local = 0 WHERE doc_key = ?1 AND hash = ?2 AND local = 1",
    )?;
    let mut marked = 0;
    for hash in hashes {
        marked += update.execute(params![doc_key, hash])?;
    }
    Ok(marked)
}

/// Stores the Automerge sync state for a document with a peer.
pub fn put_sync_state(
    tx: &Transaction<'_>,
    peer: &str,
    doc_key: &str,
    state: &[u8],
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO sync_states (peer, doc_key, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (peer, doc_key) DO UPDATE SET state = excluded.state",
    )?
    .execute(params![peer, doc_key, state])?;
    Ok(())
}

/// Saves (or replaces) a draft.
pub fn put_draft(tx: &Transaction<'_>, draft_key: &str, body: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO drafts (draft_key, body, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (draft_key) DO UPDATE SET
             body = excluded.body, updated_at = excluded.updated_at",
    )?
    .execute(params![draft_key, body, now_ms()])?;
    Ok(())
}

/// Deletes a draft; `true` if there was one.
pub fn delete_draft(tx: &Transaction<'_>, draft_key: &str) -> Result<bool, StoreError> {
    let deleted = tx
        .prepare_cached("DELETE FROM drafts WHERE draft_key = ?1")?
        .execute(params![draft_key])?;
    Ok(deleted > 0)
}

/// Sets a meta value.
pub fn put_meta(tx: &Transaction<'_>, key: &str, value: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Records a refusal from the server; returns its id.
pub fn add_rejection(
    tx: &Transaction<'_>,
    rejection: &NewRejection<'_>,
) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO rejections (doc_key, change_hash, rule, path, message, at, bytes, words)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        rejection.doc_key,
        rejection.change_hash,
        rejection.rule,
        rejection.path,
        rejection.message,
        now_ms(),
        rejection.bytes,
        rejection.words,
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Replaces a document wholesale (refused work set aside, see
/// `crate::sync::set_aside`): `snapshot` becomes its snapshot, every stored
/// change of it goes, and `local` (changes made here, in the snapshot too,
/// not yet acknowledged) are kept to send. Its sync state stays: the shared
/// heads name only changes the server holds, which the snapshot keeps.
pub fn replace_document(
    tx: &Transaction<'_>,
    doc_key: &str,
    snapshot: &[u8],
    snapshot_heads: &[u8],
    local: &[NewChange<'_>],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM changes WHERE doc_key = ?1")?
        .execute(params![doc_key])?;
    compact(tx, doc_key, snapshot, snapshot_heads, 0)?;
    append_changes(tx, doc_key, local)?;
    Ok(())
}

/// Removes a document from the device: its snapshot, its changes (acknowledged
/// or not) and its sync states. Its index rows are the index's to remove
/// (`crate::index::forget`), in the same transaction.
pub fn delete_document(tx: &Transaction<'_>, doc_key: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM changes WHERE doc_key = ?1",
        "DELETE FROM documents WHERE doc_key = ?1",
        "DELETE FROM sync_states WHERE doc_key = ?1",
    ] {
        tx.prepare_cached(sql)?.execute(params![doc_key])?;
    }
    Ok(())
}

/// A meta value read inside a transaction (for read-modify-write).
pub fn meta(tx: &Transaction<'_>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row(params![key], |row| row.get(0))
        .optional()?)
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
