//! Writes that compose inside one transaction.
//!
//! Every function here takes the open [`Transaction`] handed out by
//! [`Store::transaction`](super::Store::transaction), so a service can append
//! a document's changes *and* replace that document's index rows, and either
//! both are saved or neither is. The single-purpose methods on
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
}

/// A row of `idx_children`: one per child on the caseload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRow {
    /// Stable child id.
    pub child_id: String,
    /// Full name.
    pub name: String,
    /// What they like to be called.
    pub preferred_name: Option<String>,
    /// ISO 8601 date.
    pub date_of_birth: Option<String>,
    /// ISO 8601 date of the plan's next review.
    pub review_date: Option<String>,
    /// Unix milliseconds of the latest visit.
    pub last_visit_at: Option<i64>,
    /// The lead professional's display name.
    pub lead_professional: Option<String>,
}

/// A row of `idx_visits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow {
    /// Stable visit id.
    pub visit_id: String,
    /// The child visited.
    pub child_id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// Who made the visit.
    pub practitioner: String,
    /// Their agency.
    pub agency: String,
    /// Home visit, school, office, phone, video.
    pub kind: String,
    /// Finalised visits are never edited.
    pub finalised: bool,
}

/// A row of `idx_actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    /// Stable action id.
    pub action_id: String,
    /// The child whose plan holds it.
    pub child_id: String,
    /// The need it addresses.
    pub need_id: Option<String>,
    /// What will be done.
    pub what: String,
    /// Who is responsible.
    pub owner: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// ISO 8601 date it is due by.
    pub due: Option<String>,
    /// Its status.
    pub status: String,
}

/// A row of `idx_chronology`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronologyRow {
    /// Stable entry id.
    pub entry_id: String,
    /// The child.
    pub child_id: String,
    /// ISO 8601 date or period.
    pub date: String,
    /// Source agency.
    pub agency: String,
    /// The event, brief and factual.
    pub event: String,
    /// Impact on the child.
    pub significance: String,
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
        "INSERT INTO rejections (doc_key, change_hash, rule, path, message, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        rejection.doc_key,
        rejection.change_hash,
        rejection.rule,
        rejection.path,
        rejection.message,
        now_ms()
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Inserts or replaces a child's caseload row.
pub fn replace_child(tx: &Transaction<'_>, row: &ChildRow) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO idx_children
             (child_id, name, preferred_name, date_of_birth, review_date,
              last_visit_at, lead_professional)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.child_id,
        row.name,
        row.preferred_name,
        row.date_of_birth,
        row.review_date,
        row.last_visit_at,
        row.lead_professional
    ])?;
    Ok(())
}

/// Removes a child's caseload row; `true` if there was one.
pub fn delete_child(tx: &Transaction<'_>, child_id: &str) -> Result<bool, StoreError> {
    let deleted = tx
        .prepare_cached("DELETE FROM idx_children WHERE child_id = ?1")?
        .execute(params![child_id])?;
    Ok(deleted > 0)
}

/// Replaces every `idx_visits` row that came from `doc_key`.
pub fn replace_visits_for_doc(
    tx: &Transaction<'_>,
    doc_key: &str,
    rows: &[VisitRow],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM idx_visits WHERE doc_key = ?1")?
        .execute(params![doc_key])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO idx_visits
             (doc_key, visit_id, child_id, at, practitioner, agency, kind, finalised)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for row in rows {
        insert.execute(params![
            doc_key,
            row.visit_id,
            row.child_id,
            row.at,
            row.practitioner,
            row.agency,
            row.kind,
            row.finalised
        ])?;
    }
    Ok(())
}

/// Replaces every `idx_actions` row that came from `doc_key`.
pub fn replace_actions_for_doc(
    tx: &Transaction<'_>,
    doc_key: &str,
    rows: &[ActionRow],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM idx_actions WHERE doc_key = ?1")?
        .execute(params![doc_key])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO idx_actions
             (doc_key, action_id, child_id, need_id, what, owner, agency, due, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for row in rows {
        insert.execute(params![
            doc_key,
            row.action_id,
            row.child_id,
            row.need_id,
            row.what,
            row.owner,
            row.agency,
            row.due,
            row.status
        ])?;
    }
    Ok(())
}

/// Replaces every `idx_chronology` row that came from `doc_key`.
pub fn replace_chronology_for_doc(
    tx: &Transaction<'_>,
    doc_key: &str,
    rows: &[ChronologyRow],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM idx_chronology WHERE doc_key = ?1")?
        .execute(params![doc_key])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO idx_chronology
             (doc_key, entry_id, child_id, date, agency, event, significance)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for row in rows {
        insert.execute(params![
            doc_key,
            row.entry_id,
            row.child_id,
            row.date,
            row.agency,
            row.event,
            row.significance
        ])?;
    }
    Ok(())
}

/// Removes every visit, action and chronology index row that came from
/// `doc_key` (for a document that left this device).
pub fn delete_index_rows_for_doc(tx: &Transaction<'_>, doc_key: &str) -> Result<(), StoreError> {
    for table in ["idx_visits", "idx_actions", "idx_chronology", "idx_items"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE doc_key = ?1"))?
            .execute(params![doc_key])?;
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
