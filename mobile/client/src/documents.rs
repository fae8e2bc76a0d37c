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
use bothy_shared::docs::{
    AnyDoc, ChildDetails, ChronologyEntry, DocKey, DocKind, IsoDate, ItemPath, Need, PersonRef,
    PlanDoc, RecordDoc, Visit, hydrate_at,
};
use bothy_shared::robust;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::ServiceError;
use crate::services::ItemView;
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
        Ok(())
    }

    /// Compact every loaded document with at least [`COMPACT_AFTER`] changes
    /// beyond its snapshot. Kept off the save path (a save must stay fast):
    /// the client calls it when locking and after a sync.
    pub fn compact_due(&mut self, store: &mut Store) -> Result<usize, ServiceError> {
        let due: Vec<DocKey> = self
            .loaded
            .iter()
            .filter(|(_, l)| l.pending >= COMPACT_AFTER)
            .map(|(k, _)| *k)
            .collect();
        for key in &due {
            self.compact(store, key)?;
        }
        Ok(due.len())
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

/// Replace every index row derived from a whole document (stored under
/// `key`); `views` are its item views from [`crate::services::index`].
pub fn reindex(
    t: &Transaction<'_>,
    key: &DocKey,
    typed: &AnyDoc,
    views: &[(String, Option<ItemView>)],
) -> Result<(), StoreError> {
    match typed {
        AnyDoc::Plan(plan) => reindex_plan(t, key, plan)?,
        AnyDoc::Record(record) => reindex_record(t, key, record)?,
    }
    t.prepare_cached("DELETE FROM idx_items WHERE doc_key = ?1")?
        .execute(params![key.to_string()])?;
    crate::services::index::write_views(t, key, key.child(), views)
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
        .flat_map(|n| action_rows(&child, n))
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
        .map(|v| visit_row(&child, v))
        .collect();
    tx::replace_visits_for_doc(t, &k, &visits)?;
    let chronology: Vec<ChronologyRow> = record
        .chronology
        .values()
        .map(|c| chronology_row(&child, c))
        .collect();
    tx::replace_chronology_for_doc(t, &k, &chronology)?;
    // The child's last visit may have changed.
    t.execute(
        "UPDATE idx_children SET last_visit_at = (SELECT max(at) FROM idx_visits WHERE child_id = ?1) WHERE child_id = ?1",
        params![child],
    )?;
    Ok(())
}

/// Index rows (besides item views) to rewrite after one item changed.
#[derive(Debug)]
pub enum ItemRows {
    /// A need's actions.
    Actions {
        need: String,
        rows: Vec<ActionRow>,
    },
    /// The plan's head changed: the child's caseload row.
    Child(Box<ChildRow>),
    Visit {
        id: String,
        row: Option<VisitRow>,
    },
    Chronology {
        id: String,
        row: Option<ChronologyRow>,
    },
    Nothing,
}

fn hydrate_err(e: autosurgeon::HydrateError) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("indexing an item: {e}")))
}

/// The index rows for `item` of the document `doc` stored under `key`.
pub fn item_rows(key: &DocKey, doc: &Automerge, item: &ItemPath) -> Result<ItemRows, StoreError> {
    let child = key.child().to_string();
    let segs = item.segments();
    Ok(match (key.kind(), item) {
        (DocKind::Plan, ItemPath::Item { collection, id }) if collection == "needs" => {
            let rows = match hydrate_at::<Need, _>(doc, &segs).map_err(hydrate_err)? {
                Some(n) => action_rows(&child, &n),
                None => vec![],
            };
            ItemRows::Actions {
                need: id.clone(),
                rows,
            }
        }
        (DocKind::Plan, ItemPath::Item { .. }) => ItemRows::Nothing,
        (DocKind::Plan, ItemPath::Field(_)) => {
            let details: ChildDetails = hydrate_at(doc, &["child"])
                .map_err(hydrate_err)?
                .unwrap_or_default();
            let lead: Option<PersonRef> =
                hydrate_at::<Option<PersonRef>, _>(doc, &["lead_professional"])
                    .map_err(hydrate_err)?
                    .flatten();
            let review: Option<IsoDate> = hydrate_at::<Option<IsoDate>, _>(doc, &["review_date"])
                .map_err(hydrate_err)?
                .flatten();
            ItemRows::Child(Box::new(ChildRow {
                child_id: child,
                name: details.name,
                preferred_name: Some(details.preferred_name).filter(|s| !s.is_empty()),
                date_of_birth: details.date_of_birth.map(|d| d.to_string()),
                review_date: review.map(|d| d.to_string()),
                last_visit_at: None,
                lead_professional: lead.map(|p| p.name),
            }))
        }
        (_, ItemPath::Item { collection, id }) if collection == "visits" => ItemRows::Visit {
            id: id.clone(),
            row: hydrate_at::<Visit, _>(doc, &segs)
                .map_err(hydrate_err)?
                .map(|v| visit_row(&child, &v)),
        },
        (_, ItemPath::Item { collection, id }) if collection == "chronology" => {
            ItemRows::Chronology {
                id: id.clone(),
                row: hydrate_at::<ChronologyEntry, _>(doc, &segs)
                    .map_err(hydrate_err)?
                    .map(|c| chronology_row(&child, &c)),
            }
        }
        _ => ItemRows::Nothing,
    })
}

/// Write what [`item_rows`] computed, inside the save's transaction.
pub fn write_item_rows(
    t: &Transaction<'_>,
    key: &DocKey,
    rows: &ItemRows,
) -> Result<(), StoreError> {
    let k = key.to_string();
    let child = key.child().to_string();
    match rows {
        ItemRows::Actions { need, rows } => {
            t.prepare_cached("DELETE FROM idx_actions WHERE doc_key = ?1 AND need_id = ?2")?
                .execute(params![k, need])?;
            for r in rows {
                t.prepare_cached(
                    "INSERT OR REPLACE INTO idx_actions (doc_key, action_id, child_id, need_id, what, owner, agency, due, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![k, r.action_id, r.child_id, r.need_id, r.what, r.owner, r.agency, r.due, r.status])?;
            }
        }
        ItemRows::Child(row) => {
            let mut row = (**row).clone();
            row.last_visit_at = t.query_row(
                "SELECT max(at) FROM idx_visits WHERE child_id = ?1",
                params![child],
                |r| r.get(0),
            )?;
            tx::replace_child(t, &row)?;
        }
        ItemRows::Visit { id, row } => {
            t.prepare_cached("DELETE FROM idx_visits WHERE doc_key = ?1 AND visit_id = ?2")?
                .execute(params![k, id])?;
            if let Some(r) = row {
                t.prepare_cached(
                    "INSERT INTO idx_visits (doc_key, visit_id, child_id, at, practitioner, agency, kind, finalised)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![k, r.visit_id, r.child_id, r.at, r.practitioner, r.agency, r.kind, r.finalised])?;
            }
            t.prepare_cached(
                "UPDATE idx_children SET last_visit_at = (SELECT max(at) FROM idx_visits WHERE child_id = ?1) WHERE child_id = ?1",
            )?
            .execute(params![child])?;
        }
        ItemRows::Chronology { id, row } => {
            t.prepare_cached("DELETE FROM idx_chronology WHERE doc_key = ?1 AND entry_id = ?2")?
                .execute(params![k, id])?;
            if let Some(r) = row {
                t.prepare_cached(
                    "INSERT INTO idx_chronology (doc_key, entry_id, child_id, date, agency, event, significance)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![k, r.entry_id, r.child_id, r.date, r.agency, r.event, r.significance])?;
            }
        }
        ItemRows::Nothing => {}
    }
    Ok(())
}

fn action_rows(child: &str, n: &Need) -> Vec<ActionRow> {
    n.actions
        .values()
        .map(|a| ActionRow {
            action_id: a.id.to_string(),
            child_id: child.to_owned(),
            need_id: Some(n.id.to_string()),
            what: a.what.as_str().to_owned(),
            owner: a.owner.as_ref().map(|o| o.name.clone()),
            agency: a.owner.as_ref().map(|o| o.agency.as_str().to_owned()),
            due: a.due.map(|d| d.to_string()),
            status: a.status.as_str().to_owned(),
        })
        .collect()
}

fn visit_row(child: &str, v: &Visit) -> VisitRow {
    VisitRow {
        visit_id: v.id.to_string(),
        child_id: child.to_owned(),
        at: v.at.0,
        practitioner: v.practitioner_name.clone(),
        agency: v.agency.as_str().to_owned(),
        kind: v.kind.as_str().to_owned(),
        finalised: v.is_finalised(),
    }
}

fn chronology_row(child: &str, c: &ChronologyEntry) -> ChronologyRow {
    ChronologyRow {
        entry_id: c.id.to_string(),
        child_id: child.to_owned(),
        date: c.date.to_string(),
        agency: c.source_agency.as_str().to_owned(),
        event: c.event.as_str().to_owned(),
        significance: c.significance.as_str().to_owned(),
    }
}
