//! Every write to the index tables, inside the caller's transaction (the one
//! that appends the changes the rows reflect, so a crash keeps both or
//! neither).
//!
//! The `replace_*`/`delete_*` functions are the table-level writes; the
//! `write_*` functions write what [`super::rows`] and [`super::views`]
//! projected.

use rusqlite::{Transaction, params};

use super::rows::{ActionRow, ChildRow, ChronologyRow, DocumentRows, ItemRows, VisitRow};
use crate::store::StoreError;

/// Inserts or replaces a child's caseload row.
pub fn replace_child(tx: &Transaction<'_>, row: &ChildRow) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO idx_children
             (child_id, name, preferred_name, date_of_birth, review_date,
              last_visit_at, lead_professional, last_review, has_transition_plan)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        row.child_id,
        row.name,
        row.preferred_name,
        row.date_of_birth,
        row.review_date,
        row.last_visit_at,
        row.lead_professional,
        row.last_review,
        row.has_transition_plan
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

/// The child's caseload row, with its last visit read from `idx_visits`
/// as this transaction sees it.
fn replace_child_with_last_visit(t: &Transaction<'_>, row: &ChildRow) -> Result<(), StoreError> {
    let last_visit_at: Option<i64> = t
        .prepare_cached("SELECT max(at) FROM idx_visits WHERE child_id = ?1")?
        .query_row(params![row.child_id], |r| r.get(0))?;
    replace_child(
        t,
        &ChildRow {
            last_visit_at,
            ..row.clone()
        },
    )
}

/// The child's last visit may have changed.
fn refresh_last_visit(t: &Transaction<'_>, child_id: &str) -> Result<(), StoreError> {
    t.prepare_cached(
        "UPDATE idx_children SET last_visit_at = (SELECT max(at) FROM idx_visits WHERE child_id = ?1) WHERE child_id = ?1",
    )?
    .execute(params![child_id])?;
    Ok(())
}

/// Replace every row (besides item views) of the document `doc_key`.
pub(crate) fn write_document_rows(
    t: &Transaction<'_>,
    doc_key: &str,
    rows: &DocumentRows,
) -> Result<(), StoreError> {
    match rows {
        DocumentRows::Plan { child, actions } => {
            replace_child_with_last_visit(t, child)?;
            replace_actions_for_doc(t, doc_key, actions)
        }
        DocumentRows::Record {
            child,
            visits,
            chronology,
        } => {
            replace_visits_for_doc(t, doc_key, visits)?;
            replace_chronology_for_doc(t, doc_key, chronology)?;
            refresh_last_visit(t, child)
        }
        DocumentRows::Nothing => Ok(()),
    }
}

/// Write the rows one item changed, of the document `doc_key` of `child_id`.
pub(crate) fn write_item_rows(
    t: &Transaction<'_>,
    doc_key: &str,
    child_id: &str,
    rows: &ItemRows,
) -> Result<(), StoreError> {
    match rows {
        ItemRows::Actions { need, rows } => {
            t.prepare_cached("DELETE FROM idx_actions WHERE doc_key = ?1 AND need_id = ?2")?
                .execute(params![doc_key, need])?;
            for r in rows {
                t.prepare_cached(
                    "INSERT OR REPLACE INTO idx_actions (doc_key, action_id, child_id, need_id, what, owner, agency, due, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![doc_key, r.action_id, r.child_id, r.need_id, r.what, r.owner, r.agency, r.due, r.status])?;
            }
        }
        ItemRows::Child(row) => replace_child_with_last_visit(t, row)?,
        ItemRows::Visit { id, row } => {
            t.prepare_cached("DELETE FROM idx_visits WHERE doc_key = ?1 AND visit_id = ?2")?
                .execute(params![doc_key, id])?;
            if let Some(r) = row {
                t.prepare_cached(
                    "INSERT INTO idx_visits (doc_key, visit_id, child_id, at, practitioner, agency, kind, finalised)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![doc_key, r.visit_id, r.child_id, r.at, r.practitioner, r.agency, r.kind, r.finalised])?;
            }
            refresh_last_visit(t, child_id)?;
        }
        ItemRows::Chronology { id, row } => {
            t.prepare_cached("DELETE FROM idx_chronology WHERE doc_key = ?1 AND entry_id = ?2")?
                .execute(params![doc_key, id])?;
            if let Some(r) = row {
                t.prepare_cached(
                    "INSERT INTO idx_chronology (doc_key, entry_id, child_id, date, agency, event, significance)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![doc_key, r.entry_id, r.child_id, r.date, r.agency, r.event, r.significance])?;
            }
        }
        ItemRows::Nothing => {}
    }
    Ok(())
}

/// Remove every item view of the document `doc_key` (before a whole
/// document's views are written again).
pub(crate) fn delete_views_for_doc(t: &Transaction<'_>, doc_key: &str) -> Result<(), StoreError> {
    t.prepare_cached("DELETE FROM idx_items WHERE doc_key = ?1")?
        .execute(params![doc_key])?;
    Ok(())
}

/// Write encoded item views of the document `doc_key` of `child_id`:
/// `None` deletes the item's row.
pub(crate) fn write_views(
    t: &Transaction<'_>,
    doc_key: &str,
    child_id: &str,
    views: &[(String, Option<Vec<u8>>)],
) -> Result<(), StoreError> {
    for (item, body) in views {
        match body {
            Some(body) => {
                t.prepare_cached("INSERT OR REPLACE INTO idx_items (doc_key, item_key, child_id, body) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![doc_key, item, child_id, body])?;
            }
            None => {
                t.prepare_cached("DELETE FROM idx_items WHERE doc_key = ?1 AND item_key = ?2")?
                    .execute(params![doc_key, item])?;
            }
        }
    }
    Ok(())
}
