//! Team changes made on this device, kept until the server applies or
//! refuses them, and forgetting everything of a child the device's person
//! no longer works with (issue 15).
//!
//! A team change is an operation, not a document (see
//! `bothy_shared::team`): its body is the JSON of the change, kept here
//! encrypted like everything in the store, with its state (`pending`,
//! `applied`, `refused`) and, when refused, the rule and its explanation.

use rusqlite::{Transaction, params};

use super::db::StoreError;
use super::tx;
use super::unlocked::Store;

/// A team change's state on the device.
pub const PENDING: &str = "pending";
pub const APPLIED: &str = "applied";
pub const REFUSED: &str = "refused";

/// A team change as kept on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamChangeRow {
    pub id: String,
    pub child_id: String,
    /// The change, as JSON.
    pub body: Vec<u8>,
    /// Unix milliseconds.
    pub made_at: i64,
    /// [`PENDING`], [`APPLIED`] or [`REFUSED`].
    pub status: String,
    pub rule: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    /// Keep a team change made here until the next sync sends it.
    pub fn queue_team_change(
        &mut self,
        id: &str,
        child_id: &str,
        body: &[u8],
    ) -> Result<(), StoreError> {
        self.transaction(|t| {
            t.prepare_cached(
                "INSERT INTO team_changes (id, child_id, body, made_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![id, child_id, body, tx::now_ms(), PENDING])?;
            Ok(())
        })
    }

    /// Team changes made here, oldest first; only `status` ones if given.
    pub fn team_changes(&self, status: Option<&str>) -> Result<Vec<TeamChangeRow>, StoreError> {
        let mut select = self.connection().prepare_cached(
            "SELECT id, child_id, body, made_at, status, rule, detail FROM team_changes
             WHERE ?1 IS NULL OR status = ?1 ORDER BY made_at, id",
        )?;
        let rows = select.query_map(params![status], |row| {
            Ok(TeamChangeRow {
                id: row.get(0)?,
                child_id: row.get(1)?,
                body: row.get(2)?,
                made_at: row.get(3)?,
                status: row.get(4)?,
                rule: row.get(5)?,
                detail: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The server applied or refused a team change.
    pub fn settle_team_change(
        &mut self,
        id: &str,
        status: &str,
        rule: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.transaction(|t| {
            t.prepare_cached(
                "UPDATE team_changes SET status = ?2, rule = ?3, detail = ?4 WHERE id = ?1",
            )?
            .execute(params![id, status, rule, detail])?;
            Ok(())
        })
    }
}

/// Delete, in the caller's transaction, every row of the device's own
/// tables that names `child_id` (its documents are deleted with
/// [`tx::delete_document`] and the index's rows by the index): drafts whose
/// body names the child, refusals and sync states of its documents, meta
/// keys naming it, and its team changes.
pub fn forget_child_rows(t: &Transaction<'_>, child_id: &str) -> Result<(), StoreError> {
    let like = format!("%{child_id}%");
    for sql in [
        "DELETE FROM changes WHERE doc_key LIKE ?1",
        "DELETE FROM documents WHERE doc_key LIKE ?1",
        "DELETE FROM sync_states WHERE doc_key LIKE ?1",
        "DELETE FROM rejections WHERE doc_key LIKE ?1",
        "DELETE FROM meta WHERE key LIKE ?1",
        // A draft's body is the JSON of what is being typed, child included.
        "DELETE FROM drafts WHERE CAST(body AS TEXT) LIKE ?1",
    ] {
        t.prepare_cached(sql)?.execute(params![like])?;
    }
    t.prepare_cached("DELETE FROM team_changes WHERE child_id = ?1")?
        .execute(params![child_id])?;
    Ok(())
}

/// Write the database's WAL back into the (encrypted) database file and
/// empty it, so deleted rows leave no page behind in the journal.
pub fn checkpoint(store: &Store) -> Result<(), StoreError> {
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}
