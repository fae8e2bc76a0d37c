//! Documents on the device: loading them from the encrypted store, keeping
//! their changes, and the index rows the lists and search read from.
//!
//! A document is stored as a snapshot plus the changes since; loading applies
//! the changes in one batch (much faster than one by one). Every save appends
//! the change(s) and replaces the document's index rows in ONE transaction,
//! so a crash leaves either both or neither. After [`COMPACT_AFTER`] changes
//! beyond the snapshot, a new snapshot is written.

use std::collections::HashMap;

use automerge::{Automerge, Change};
use bothy_shared::docs::{AnyDoc, DocKey, PlanDoc, RecordDoc};
use bothy_shared::robust;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::ServiceError;
use crate::store::tx::{self, ActionRow, ChildRow, ChronologyRow, NewChange, VisitRow};
use crate::store::{Store, StoreError};

/// Changes beyond the snapshot after which the document is compacted.
pub const COMPACT_AFTER: usize = 256;

/// The documents loaded in memory, over the store.
#[derive(Debug, Default)]
pub struct Documents {
    loaded: HashMap<DocKey, Loaded>,
}

#[derive(Debug)]
struct Loaded {
    doc: Automerge,
    /// Changes stored since the snapshot.
    pending: usize,
    through_seq: i64,
}

impl Documents {
    /// The document under `key`, loading it from the store the first time.
    pub fn get(&mut self, store: &Store, key: &DocKey) -> Result<Option<&Automerge>, ServiceError> {
        if !self.loaded.contains_key(key) {
            let Some(stored) = store.load_document(&key.to_string())? else {
                return Ok(None);
            };
            let mut doc = match &stored.snapshot {
                Some(bytes) => robust::load_document(bytes)?,
                None => Automerge::new(),
            };
            let changes = stored
                .changes
                .iter()
                .map(|b| robust::decode_change(b))
                .collect::<Result<Vec<Change>, _>>()?;
            let pending = changes.len();
            if !changes.is_empty() {
                doc = robust::apply_changes(&doc, &changes)?;
            }
            self.loaded.insert(
                *key,
                Loaded {
                    doc,
                    pending,
                    through_seq: stored.through_seq,
                },
            );
        }
        Ok(self.loaded.get(key).map(|l| &l.doc))
    }

    /// Like [`get`](Self::get), but a missing document is an error.
    pub fn require(&mut self, store: &Store, key: &DocKey) -> Result<&Automerge, ServiceError> {
        self.get(store, key)?
            .ok_or_else(|| ServiceError::not_found("document", key))
    }

    /// Keep `changes` (already applied in `doc`) and the index rows `index`
    /// writes, in one transaction; then hold `doc` as the current document.
    pub fn save(
        &mut self,
        store: &mut Store,
        key: &DocKey,
        doc: Automerge,
        changes: &mut [Change],
        local: bool,
        index: impl FnOnce(&Transaction<'_>) -> Result<(), StoreError>,
    ) -> Result<(), ServiceError> {
        let k = key.to_string();
        let encoded: Vec<(Vec<u8>, Vec<u8>)> = changes
            .iter_mut()
            .map(|c| (c.hash().0.to_vec(), c.bytes().to_vec()))
            .collect();
        let news: Vec<NewChange<'_>> = encoded
            .iter()
            .map(|(h, b)| NewChange {
                hash: h,
                bytes: b,
                local,
            })
            .collect();
        let added = store.transaction(|t| {
            let added = tx::append_changes(t, &k, &news)?;
            index(t)?;
            Ok::<_, StoreError>(added)
        })?;
        let entry = self.loaded.entry(*key).or_insert(Loaded {
            doc: Automerge::new(),
            pending: 0,
            through_seq: 0,
        });
        entry.doc = doc;
        entry.pending += added;
        if entry.pending >= COMPACT_AFTER {
            self.compact(store, key)?;
        }
        Ok(())
    }

    /// Write a new snapshot of `key` and drop the acknowledged changes it covers.
    pub fn compact(&mut self, store: &mut Store, key: &DocKey) -> Result<(), ServiceError> {
        let k = key.to_string();
        let Some(entry) = self.loaded.get_mut(key) else {
            return Ok(());
        };
        let through: Option<i64> = store
            .connection()
            .query_row(
                "SELECT max(seq) FROM changes WHERE doc_key = ?1",
                params![k],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::from)?
            .flatten();
        let snapshot = entry.doc.save();
        let heads: Vec<u8> = entry.doc.get_heads().iter().flat_map(|h| h.0).collect();
        store.compact(&k, &snapshot, &heads, through.unwrap_or(entry.through_seq))?;
        entry.pending = 0;
        entry.through_seq = through.unwrap_or(entry.through_seq);
        Ok(())
    }

    /// Forget one loaded document.
    pub fn forget(&mut self, key: &DocKey) {
        self.loaded.remove(key);
    }

    /// Forget loaded documents (after a wipe or when locking).
    pub fn clear(&mut self) {
        self.loaded.clear();
    }
}

/// Replace every index row derived from `doc` (stored under `key`).
pub fn reindex(t: &Transaction<'_>, key: &DocKey, doc: &AnyDoc) -> Result<(), StoreError> {
    match doc {
        AnyDoc::Plan(plan) => reindex_plan(t, key, plan),
        AnyDoc::Record(record) => reindex_record(t, key, record),
    }
}

pub fn reindex_plan(t: &Transaction<'_>, key: &DocKey, plan: &PlanDoc) -> Result<(), StoreError> {
    let child = plan.child_id.to_string();
    let last_visit_at: Option<i64> = t.query_row(
        "SELECT max(at) FROM idx_visits WHERE child_id = ?1",
        params![child],
        |r| r.get(0),
    )?;
    tx::replace_child(
        t,
        &ChildRow {
            child_id: child.clone(),
            name: plan.child.name.clone(),
            preferred_name: Some(plan.child.preferred_name.clone()).filter(|s| !s.is_empty()),
            date_of_birth: plan.child.date_of_birth.map(|d| d.to_string()),
            review_date: plan.review_date.map(|d| d.to_string()),
            last_visit_at,
            lead_professional: plan.lead_professional.as_ref().map(|p| p.name.clone()),
        },
    )?;
    let rows: Vec<ActionRow> = plan
        .needs
        .values()
        .flat_map(|n| {
            n.actions.values().map(|a| ActionRow {
                action_id: a.id.to_string(),
                child_id: child.clone(),
                need_id: Some(n.id.to_string()),
                what: a.what.as_str().to_owned(),
                owner: a.owner.as_ref().map(|o| o.name.clone()),
                agency: a.owner.as_ref().map(|o| o.agency.as_str().to_owned()),
                due: a.due.map(|d| d.to_string()),
                status: a.status.as_str().to_owned(),
            })
        })
        .collect();
    tx::replace_actions_for_doc(t, &key.to_string(), &rows)
}

pub fn reindex_record(
    t: &Transaction<'_>,
    key: &DocKey,
    record: &RecordDoc,
) -> Result<(), StoreError> {
    let child = record.child_id.to_string();
    let k = key.to_string();
    let visits: Vec<VisitRow> = record
        .visits
        .values()
        .map(|v| VisitRow {
            visit_id: v.id.to_string(),
            child_id: child.clone(),
            at: v.at.0,
            practitioner: v.practitioner_name.clone(),
            agency: v.agency.as_str().to_owned(),
            kind: v.kind.as_str().to_owned(),
            finalised: v.is_finalised(),
        })
        .collect();
    tx::replace_visits_for_doc(t, &k, &visits)?;
    let chronology: Vec<ChronologyRow> = record
        .chronology
        .values()
        .map(|c| ChronologyRow {
            entry_id: c.id.to_string(),
            child_id: child.clone(),
            date: c.date.to_string(),
            agency: c.source_agency.as_str().to_owned(),
            event: c.event.as_str().to_owned(),
            significance: c.significance.as_str().to_owned(),
        })
        .collect();
    tx::replace_chronology_for_doc(t, &k, &chronology)?;
    // The child's last visit may have changed.
    t.execute(
        "UPDATE idx_children SET last_visit_at = (SELECT max(at) FROM idx_visits WHERE child_id = ?1) WHERE child_id = ?1",
        params![child],
    )?;
    Ok(())
}
