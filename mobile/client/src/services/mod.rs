//! The services the app and the `bothy` command call.
//!
//! [`Client`] is the device's client core: an unlocked [`Store`], the
//! directory ([`Directory`]) and the documents loaded from it. Every write is
//! made the way the server will check it: the typed document is edited, the
//! edit is turned into one Automerge change by this device's actor, and the
//! change goes through the shared [`check_changes`] gate before it is saved,
//! so an honest device is never refused by the server.
//!
//! Reads return plain view models (no Automerge, no SQL) for the views; the
//! lists and a child's page come from [`crate::index`], one document's
//! details from [`crate::documents`]. The services hold no SQL.

mod audience;
mod caseload;
mod child;
mod chronology;
mod conflicts;
mod demo;
mod outcomes;
mod plan;
mod requests;
mod supervision;
mod team;
mod transition;
mod visits;
mod young_person;

use automerge::{Automerge, Change, ReadDoc};
use bothy_shared::docs::{
    AnyDoc, CaseDocument, DocError, DocKey, ItemPath, ShapeError, Timestamp, WriteError,
    hydrate_at, read_document,
};
use bothy_shared::gate::check_applied;
use bothy_shared::ids::ChildId;
use bothy_shared::policy::{AccessPolicy, ChildTeam};
use bothy_shared::robust;

pub use audience::*;
pub use caseload::*;
pub use child::*;
pub use chronology::*;
pub use conflicts::*;
pub use outcomes::*;
pub use plan::*;
pub use requests::*;
pub use supervision::*;
pub use team::*;
pub use transition::*;
pub use visits::*;
pub use young_person::*;

/// The item views a child's page is built from, kept in the index.
pub use crate::index::{ItemView, PlanHeadView};

use crate::directory::{Directory, Me};
use crate::documents::{self, Documents};
use crate::error::ServiceError;
use crate::index::{self, Projection};
use crate::store::{Store, StoreError, Transaction, tx};

/// The meta key the directory is stored under.
pub const DIRECTORY_META: &str = "directory";

/// Thresholds the caseload flags use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A child not visited for this many days is flagged "visit overdue".
    pub visit_overdue_after_days: i64,
    /// A plan review this many days away (or past) is flagged "review due".
    pub review_due_within_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            visit_overdue_after_days: bothy_shared::outcomes::VISIT_OVERDUE_AFTER_DAYS,
            review_due_within_days: 14,
        }
    }
}

/// The client core over one unlocked store.
#[derive(Debug)]
pub struct Client {
    store: Store,
    dir: Directory,
    docs: Documents,
    settings: Settings,
}

impl Client {
    /// Open the client core over an unlocked store whose device is enrolled
    /// (or seeded with the offline demo).
    pub fn open(store: Store) -> Result<Client, (Store, ServiceError)> {
        let dir = match store.meta(DIRECTORY_META) {
            Ok(Some(bytes)) => match serde_json::from_slice::<Directory>(&bytes) {
                Ok(d) => d,
                Err(e) => return Err((store, ServiceError::Directory(e))),
            },
            Ok(None) => return Err((store, ServiceError::NotEnrolled)),
            Err(e) => return Err((store, e.into())),
        };
        Ok(Client {
            store,
            dir,
            docs: Documents::default(),
            settings: Settings::default(),
        })
    }

    /// Store `dir` as this device's directory (at enrolment, after a sync, or
    /// for the offline demo).
    pub fn save_directory(store: &mut Store, dir: &Directory) -> Result<(), ServiceError> {
        let bytes = serde_json::to_vec(dir).map_err(ServiceError::Directory)?;
        store.put_meta(DIRECTORY_META, &bytes)?;
        Ok(())
    }

    /// Replace the directory (the sync engine does this with what the server sends).
    pub fn set_directory(&mut self, dir: Directory) -> Result<(), ServiceError> {
        Self::save_directory(&mut self.store, &dir)?;
        self.dir = dir;
        Ok(())
    }

    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    pub fn me(&self) -> &Me {
        &self.dir.me
    }

    pub fn directory(&self) -> &Directory {
        &self.dir
    }

    /// What the store's full integrity check, running in the background
    /// since unlock, has found (see [`Integrity`](crate::store::Integrity)).
    /// Once it is `Damaged`, every save fails with the damaged-store error:
    /// restore the device from a backup.
    pub fn integrity(&self) -> crate::store::Integrity {
        self.store.integrity()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Give the store back, forgetting every loaded document.
    pub fn into_store(self) -> Store {
        self.store
    }

    /// Write fresh snapshots of documents that have gathered many changes
    /// (so the next open loads fast). Called when locking; the app also calls
    /// it when idle and the sync engine after a sync.
    pub fn compact(&mut self) -> Result<usize, ServiceError> {
        self.docs.compact_due(&mut self.store)
    }

    /// Lock: compact what is due, close the database and forget every
    /// decrypted document.
    pub fn lock(mut self) -> Result<(), ServiceError> {
        // Nothing is written into a store found damaged; it still closes.
        if self.integrity() != crate::store::Integrity::Damaged {
            self.compact()?;
        }
        self.docs.clear();
        self.store.lock()?;
        Ok(())
    }

    /// The team around `child`, as this device knows it.
    pub fn team(&self, child: ChildId) -> Result<&ChildTeam, ServiceError> {
        self.dir
            .teams
            .get(&child)
            .ok_or_else(|| ServiceError::not_found("child", child))
    }

    /// The document under `key`, if this device holds it.
    pub fn document(&mut self, key: &DocKey) -> Result<Option<&Automerge>, ServiceError> {
        self.docs.get(&self.store, key)
    }

    /// Read a typed document this device holds.
    pub(crate) fn read<T: CaseDocument>(&mut self, key: &DocKey) -> Result<T, ServiceError> {
        let team = self.team(key.child())?;
        AccessPolicy::can_read(&self.dir.me.principal(), key, team)?;
        let doc = self.docs.require(&self.store, key)?;
        Ok(read_document(doc, key)?)
    }

    /// Read one item of a document this device holds.
    pub(crate) fn read_item<T: autosurgeon::Hydrate>(
        &mut self,
        key: &DocKey,
        item: &ItemPath,
    ) -> Result<Option<T>, ServiceError> {
        let team = self.team(key.child())?;
        AccessPolicy::can_read(&self.dir.me.principal(), key, team)?;
        let doc = self.docs.require(&self.store, key)?;
        let segs = item.segments();
        robust::contain("item", || hydrate_at(doc, &segs))?.map_err(|e| {
            DocError::Shape {
                kind: key.kind(),
                source: ShapeError::Hydrate(e).into(),
            }
            .into()
        })
    }

    /// Edit one item of a document (`visits/<id>`, `needs/<id>`, `review_date`…):
    /// only that item is read and written, so the cost does not grow with the
    /// document. `edit` gets the item (`None` if it does not exist yet) and may
    /// set it to `None` to delete it. The change is checked by the shared gate
    /// and saved with the item's index rows in one transaction.
    pub(crate) fn edit_item<T, R>(
        &mut self,
        key: DocKey,
        item: ItemPath,
        what: &str,
        edit: impl FnOnce(&mut Option<T>, &Me) -> Result<R, ServiceError>,
    ) -> Result<R, ServiceError>
    where
        T: autosurgeon::Hydrate + autosurgeon::Reconcile,
    {
        self.edit_item_and(key, item, what, edit, |_| Ok(()))
    }

    /// [`edit_item`](Self::edit_item), with more writes (`also`) in the same
    /// transaction (e.g. clearing the typing buffer of a visit being saved).
    pub(crate) fn edit_item_and<T, R>(
        &mut self,
        key: DocKey,
        item: ItemPath,
        what: &str,
        edit: impl FnOnce(&mut Option<T>, &Me) -> Result<R, ServiceError>,
        also: impl FnOnce(&Transaction<'_>) -> Result<(), StoreError>,
    ) -> Result<R, ServiceError>
    where
        T: autosurgeon::Hydrate + autosurgeon::Reconcile,
    {
        let principal = self.dir.me.principal();
        let team = self
            .dir
            .teams
            .get(&key.child())
            .ok_or_else(|| ServiceError::not_found("child", key.child()))?;
        AccessPolicy::can_write(&principal, &key, team)?;
        let before = self.docs.require(&self.store, &key)?;
        let segs = item.segments();
        let shape = |e: autosurgeon::HydrateError| DocError::Shape {
            kind: key.kind(),
            source: ShapeError::Hydrate(e).into(),
        };
        let mut value: Option<T> =
            robust::contain("item", || hydrate_at(before, &segs))?.map_err(shape)?;
        let existed = value.is_some();
        let out = edit(&mut value, &self.dir.me)?;
        if !existed && value.is_none() {
            return Ok(out);
        }
        let mut after = before.clone().with_actor(principal.device.actor_id());
        let heads = after.get_heads();
        {
            let write =
                |tx: &mut automerge::transaction::Transaction<'_>| -> Result<(), Box<WriteError>> {
                    let missing = |segment: &str| {
                        Box::new(WriteError::Missing {
                            segment: segment.to_owned(),
                            key,
                        })
                    };
                    // An item path is never empty (ItemPath::segments).
                    let (last, parents) = segs.split_last().ok_or_else(|| missing("(the item)"))?;
                    let mut obj = automerge::ROOT;
                    for seg in parents {
                        obj = match tx
                            .get(&obj, *seg)
                            .map_err(|e| Box::new(WriteError::Automerge(e)))?
                        {
                            Some((automerge::Value::Object(_), id)) => id,
                            _ => return Err(missing(seg)),
                        };
                    }
                    match &value {
                        Some(v) => autosurgeon::reconcile_prop(tx, &obj, *last, v)
                            .map_err(|e| Box::new(WriteError::Reconcile(e))),
                        None => automerge::transaction::Transactable::delete(tx, &obj, *last)
                            .map_err(|e| Box::new(WriteError::Automerge(e))),
                    }
                };
            let mut tx = after.transaction();
            robust::contain("item", || write(&mut tx))?.map_err(|source| DocError::Write {
                kind: key.kind(),
                source,
            })?;
            tx.commit_with(
                automerge::transaction::CommitOptions::default()
                    .with_message(what.to_owned())
                    .with_time(Timestamp::now().0 / 1000),
            );
        }
        let Some(change) = after.get_changes(&heads).into_iter().next() else {
            return Ok(out);
        };
        // An edit of an item never settles, unseen, a field two people
        // changed at once: autosurgeon writes the item's fields back, so an
        // edit elsewhere in the item would keep the value Automerge happens
        // to show. Writing a new value into the field itself is a choice;
        // leaving it as shown is not (that is `settle_conflict`, with both
        // values in view).
        let open = bothy_shared::docs::open_conflicts_under(before, &key, &segs);
        if !open.is_empty() {
            let still = bothy_shared::docs::open_conflicts_under(&after, &key, &segs);
            let unseen = |c: &&bothy_shared::docs::OpenConflict| {
                !still.iter().any(|s| s.id == c.id)
                    && bothy_shared::docs::shown_at(&after, &c.path)
                        == bothy_shared::docs::shown_at(before, &c.path)
            };
            if let Some(gone) = open.iter().find(unseen) {
                let typed = AnyDoc::read(before, &key)?;
                return Err(ServiceError::ConflictOpen {
                    field: conflicts::field_name(&typed, &gone.path),
                });
            }
        }
        let after = check_applied(
            &key,
            before,
            after,
            std::slice::from_ref(&change),
            &principal,
            team,
        )?;
        let projection = index::project_item(&key, &after, &item)?;
        self.save(key, after, &mut [change], true, &projection, also)?;
        Ok(out)
    }

    /// Take documents that came from elsewhere (the server, the offline demo):
    /// stored as not-local changes, index rows rebuilt.
    pub fn receive_documents(
        &mut self,
        docs: Vec<(DocKey, Automerge)>,
    ) -> Result<(), ServiceError> {
        for (key, incoming) in docs {
            // Only what this device does not have yet, all or nothing.
            let (applied, _) = self.merge_remote(key, |doc| {
                let new = incoming.get_changes(&doc.get_heads());
                robust::apply_changes(doc, &new).map(|merged| *doc = merged)
            })?;
            applied?;
        }
        Ok(())
    }

    /// For the sync engine: let `f` change a copy of the document under `key`
    /// (an empty document if the device has none yet), e.g. by receiving a
    /// sync message. Changes it adds came from elsewhere: they are kept as
    /// not-local, with the document's index rows rebuilt, in one transaction.
    /// Returns what `f` returned and how many changes were kept.
    pub fn merge_remote<R>(
        &mut self,
        key: DocKey,
        f: impl FnOnce(&mut Automerge) -> R,
    ) -> Result<(R, usize), ServiceError> {
        // One copy, so the held document is untouched if `f` or the save
        // fails; the changes it added are those not below the old heads.
        let mut copy = self
            .docs
            .get(&self.store, &key)?
            .cloned()
            .unwrap_or_default();
        let heads = copy.get_heads();
        let out = f(&mut copy);
        let mut added = copy.get_changes(&heads);
        if added.is_empty() {
            return Ok((out, 0));
        }
        let typed = AnyDoc::read(&copy, &key)?;
        let projection = index::project_document(&key, &copy, &typed)?;
        let n = added.len();
        self.save(key, copy, &mut added, false, &projection, |_| Ok(()))?;
        Ok((out, n))
    }

    /// Save `changes` (already applied in `doc`) with the index rows
    /// `projection` computed from `doc` and whatever `also` writes, in ONE
    /// transaction; then hold `doc` as the current document. Every step is a
    /// call down from here (the store's transaction, documents, the index);
    /// none of them calls back up.
    fn save(
        &mut self,
        key: DocKey,
        doc: Automerge,
        changes: &mut [Change],
        local: bool,
        projection: &Projection,
        also: impl FnOnce(&Transaction<'_>) -> Result<(), StoreError>,
    ) -> Result<(), ServiceError> {
        let added = self.store.transaction(|t| {
            let added = documents::append(t, &key, changes, local)?;
            projection.write(t)?;
            also(t)?;
            Ok::<_, StoreError>(added)
        })?;
        self.docs.hold(key, doc, added);
        Ok(())
    }

    /// For the sync engine: drop a document this device may no longer read,
    /// with its index rows and sync state.
    pub fn forget_document(&mut self, key: &DocKey) -> Result<(), ServiceError> {
        self.store.transaction(|t| {
            tx::delete_document(t, &key.to_string())?;
            index::forget(t, key)
        })?;
        self.docs.forget(key);
        Ok(())
    }

    /// Forget the loaded copy of a document whose stored form was replaced
    /// (refused work set aside): the next read loads it from the store.
    pub(crate) fn forget_loaded(&mut self, key: &DocKey) {
        self.docs.forget(key);
    }

    /// Keys of every document this device holds.
    pub fn document_keys(&self) -> Result<Vec<DocKey>, ServiceError> {
        Ok(self
            .store
            .list_doc_keys()?
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect())
    }
}
