//! The index on the device: the rows the caseload, a child's page and the
//! editors read instead of loading Automerge documents.
//!
//! This module owns every `idx_*` table (their schema is in the store's
//! migrations) and nothing else:
//! - **Projecting** a document into rows: [`project_document`] (a whole
//!   document, after changes from elsewhere were merged) or [`project_item`]
//!   (one item, after an edit on this device) compute a [`Projection`] from
//!   the Automerge document, before any transaction is open: typed rows
//!   ([`rows`]) and the item views a child's page shows ([`views`]).
//! - **Writing** it in the caller's transaction ([`Projection::write`]), the
//!   one that appends the changes the rows reflect, so a crash keeps both or
//!   neither; [`forget`] removes a document's rows when it leaves the device.
//! - **Every query** on those tables ([`query`]).
//!
//! It depends on the store (for the transaction and its error) and the
//! shared document model only: saving the changes themselves is
//! [`crate::documents`]'s, deciding who may read or write is the services'.
//!
//! ```text
//! Client::edit_item / merge_remote (services)
//!   ├─ index::project_item / project_document   (pure: rows and views)
//!   ├─ Store::transaction
//!   │    ├─ documents::append                  (the changes)
//!   │    └─ Projection::write                  (the rows, same transaction)
//!   └─ Documents::hold                          (the new document in memory)
//! ```

mod query;
mod rows;
mod views;
mod write;

use automerge::Automerge;
use bothy_shared::docs::{AnyDoc, DocKey, ItemPath};
use rusqlite::Transaction;

pub use query::{CaseloadRow, caseload, child_views, need_of_action};
pub use rows::{ActionRow, ChildRow, ChronologyRow, VisitRow};
pub(crate) use views::view_line;
pub use views::{
    ActionView, ChronologyItem, ItemView, NeedClosedLine, NeedView, PlanHeadView, ReviewLine,
    TeamLine, TransitionView, ViewLine, VisitSummary, WellbeingLine, WithheldLine, who_will_help,
};
pub use write::{
    delete_child, delete_index_rows_for_doc, replace_actions_for_doc, replace_child,
    replace_chronology_for_doc, replace_visits_for_doc,
};

use crate::store::StoreError;

/// Why a document could not be projected into index rows. Nothing was saved:
/// the projection is computed before the save's transaction opens.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Part of the document does not have the shape its kind promises.
    #[error("indexing {key}: `{part}` could not be read: {source}")]
    Shape {
        key: DocKey,
        /// The item path or field that failed.
        part: String,
        // Boxed: a hydrate error is large, and this one is on every save's
        // error path (clippy's result_large_err).
        #[source]
        source: Box<autosurgeon::HydrateError>,
    },
    /// An item's view could not be encoded for `idx_items`.
    #[error("indexing {key}: the view of `{item}` could not be encoded: {source}")]
    Encode {
        key: DocKey,
        /// The `idx_items` key of the view.
        item: String,
        #[source]
        source: serde_json::Error,
    },
}

/// A part of `key` that could not be hydrated (named only on failure).
fn shape<'a>(
    key: &'a DocKey,
    part: &'a dyn std::fmt::Display,
) -> impl FnOnce(autosurgeon::HydrateError) -> IndexError + 'a {
    move |source| IndexError::Shape {
        key: *key,
        part: part.to_string(),
        source: Box::new(source),
    }
}

/// What a save writes to the index, computed from the document before the
/// save's transaction opens; [`write`](Self::write) it inside.
#[derive(Debug)]
pub struct Projection {
    doc_key: String,
    child_id: String,
    rows: Rows,
    /// Encoded item views by `idx_items.item_key`; `None` deletes the row.
    views: Vec<(String, Option<Vec<u8>>)>,
}

#[derive(Debug)]
enum Rows {
    /// Every row of the document is replaced (and its other views dropped).
    Document(rows::DocumentRows),
    /// Only the rows of one item.
    Item(rows::ItemRows),
}

/// The whole document `doc` under `key`, already read as `typed`: every row
/// and view it projects into, replacing whatever the index held for it.
pub fn project_document(
    key: &DocKey,
    doc: &Automerge,
    typed: &AnyDoc,
) -> Result<Projection, IndexError> {
    let views = views::views_of(key, doc, typed)?
        .into_iter()
        .map(|(item, view)| {
            let body = encode(key, &item, &view)?;
            Ok((item, Some(body)))
        })
        .collect::<Result<_, IndexError>>()?;
    Ok(Projection::new(
        key,
        Rows::Document(rows::document_rows(typed)),
        views,
    ))
}

/// One item of `doc` under `key`, just edited: the rows and views of that
/// item only, so the cost of a save does not grow with the document.
pub fn project_item(
    key: &DocKey,
    doc: &Automerge,
    item: &ItemPath,
) -> Result<Projection, IndexError> {
    let views = views::views_of_item(key, doc, item)?
        .into_iter()
        .map(|(k, view)| {
            let body = view.map(|v| encode(key, &k, &v)).transpose()?;
            Ok((k, body))
        })
        .collect::<Result<_, IndexError>>()?;
    let rows = rows::item_rows(key, doc, item)?;
    Ok(Projection::new(key, Rows::Item(rows), views))
}

fn encode(key: &DocKey, item: &str, view: &ItemView) -> Result<Vec<u8>, IndexError> {
    serde_json::to_vec(view).map_err(|source| IndexError::Encode {
        key: *key,
        item: item.to_owned(),
        source,
    })
}

impl Projection {
    /// What a document that projects into no rows writes (a request for
    /// help): nothing, and no stale views.
    pub fn nothing(key: &DocKey) -> Projection {
        Projection::new(key, Rows::Document(rows::DocumentRows::Nothing), Vec::new())
    }

    fn new(key: &DocKey, rows: Rows, views: Vec<(String, Option<Vec<u8>>)>) -> Self {
        Projection {
            doc_key: key.to_string(),
            child_id: key.child().to_string(),
            rows,
            views,
        }
    }

    /// Write the projection in the caller's transaction.
    pub fn write(&self, t: &Transaction<'_>) -> Result<(), StoreError> {
        match &self.rows {
            Rows::Document(rows) => {
                write::write_document_rows(t, &self.doc_key, rows)?;
                write::delete_views_for_doc(t, &self.doc_key)?;
                write::write_views(t, &self.doc_key, &self.child_id, &self.views)
            }
            Rows::Item(rows) => {
                write::write_views(t, &self.doc_key, &self.child_id, &self.views)?;
                write::write_item_rows(t, &self.doc_key, &self.child_id, rows)
            }
        }
    }
}

/// Remove every index row of `key` (a document that left this device), in
/// the caller's transaction; for a plan, the child's caseload row too.
pub fn forget(t: &Transaction<'_>, key: &DocKey) -> Result<(), StoreError> {
    write::delete_index_rows_for_doc(t, &key.to_string())?;
    if let DocKey::Plan(child) = key {
        write::delete_child(t, &child.to_string())?;
    }
    Ok(())
}
