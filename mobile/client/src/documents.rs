//! Documents on the device: loading them from the encrypted store, keeping
//! their changes, compacting them. Nothing else: their index rows are
//! [`crate::index`]'s, who may change them is the services'.
//!
//! A document is stored as a snapshot plus the changes since; loading applies
//! the changes in one batch (much faster than one by one). A save is two
//! steps: [`append`] the change(s) inside the caller's transaction (the one
//! that also writes the document's index rows, so a crash leaves either both
//! or neither), then, once it committed, [`Documents::hold`] the new
//! document. After [`COMPACT_AFTER`] changes beyond the snapshot, a new
//! snapshot is written.

use std::collections::HashMap;

use automerge::{Automerge, Change};
use bothy_shared::docs::DocKey;
use bothy_shared::robust;

use crate::error::ServiceError;
use crate::store::tx::{self, NewChange};
use crate::store::{Store, StoreError, Transaction};

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

    /// Hold `doc` as the current document under `key`, after a transaction
    /// that [`append`]ed `added` new changes to it committed.
    pub fn hold(&mut self, key: DocKey, doc: Automerge, added: usize) {
        let entry = self.loaded.entry(key).or_insert(Loaded {
            doc: Automerge::new(),
            pending: 0,
            through_seq: 0,
        });
        entry.doc = doc;
        entry.pending += added;
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
        let through = store.last_change_seq(&k)?;
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

/// Keep `changes` of the document under `key` (already applied to the
/// document the caller will [`hold`](Documents::hold)) in the caller's
/// transaction: made on this device (`local`, to be sent) or received.
/// Returns how many were new.
pub fn append(
    t: &Transaction<'_>,
    key: &DocKey,
    changes: &mut [Change],
    local: bool,
) -> Result<usize, StoreError> {
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
    tx::append_changes(t, &key.to_string(), &news)
}
