//! The sync engine: `/v1/changed` and `/v1/sync` without the HTTP. A
//! `/v1/sync` request may also ask the `/v1/changed` question
//! ([`sync_batch`]), so a device pushes its work in one round trip.
//!
//! Before anything is read, every message of the request is decoded and the
//! changes they carry counted (`wire::MAX_CHANGES_PER_REQUEST`). Then, for
//! each document in a batch, the server:
//! 1. answers `unavailable` unless the policy lets the device's user read it
//!    (a missing document looks the same);
//! 2. refuses the message's changes, from their bytes alone, if the device
//!    is past its quota for the day ([`crate::quota`]) or a change is larger
//!    or nests deeper than the gate allows (`gate::check_bounds`); else it
//!    applies the message to its cached merged document ITSELF (no copy:
//!    a copy costs as much as the document's whole history), which the
//!    request holds locked, with the device's persisted sync state, inside
//!    `robust::contain` (a V2 message may carry a whole document, and
//!    Automerge panics on some malformed input);
//! 3. takes the changes the message added and asks the gate
//!    (`gate::check_applied_at`, which reads the document before them as
//!    the same document at the heads it had) about all of them at once;
//!    only if they all pass are they kept, otherwise none are and the reply
//!    names the change, path and rule;
//! 4. generates its next sync message from the document it then holds.
//!
//! A document is only ever ahead of storage while its request holds it:
//! when the gate refuses, the message cannot be applied (or Automerge
//! panics), or changes wait for dependencies the message lacked, the
//! document is reloaded from storage at once, with the changes this
//! request accepted for it so far; when the request fails before its
//! outcomes are stored (a failed commit, an error, a panic), every
//! document it changed is reset and reloads from storage on next use.
//! Only what needs the whole document as it was is copied first: a plan
//! of a child with a young person's account (`young` compares it with
//! the plan after; plans are small) and a request for help (small).
//!
//! When the request changed a plan, or a young person's copy of it, of a
//! child with a young person's account, the server keeps the copy in step
//! ([`crate::young`]): the child's plan and current copy are locked with the
//! request's own documents (in key order), and the server's own changes to
//! them are stored in the same transaction as the request's. An older
//! generation of the young person's copy is written but never read: their
//! changes to it are gated and kept, and the reply is `unavailable` with a
//! message that carries no changes.
//!
//! The outcomes of every document of the request (accepted changes, audit,
//! new sync states) are stored in one transaction, with one wait for
//! durability, before any reply is sent or any other request sees the
//! merged documents, which stay locked until then.
//!
//! The persisted sync state is `sync::State::encode()`: only `shared_heads`,
//! which never names a change the server has not stored. Everything else in
//! the state is per-exchange and rebuilt from the device's message, so each
//! request stands alone: a connection cut at any byte loses nothing (the
//! device resends) and duplicates nothing (changes are stored by hash).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, Change};
use bothy_shared::docs::DocKey;
use bothy_shared::gate::{self, GateError};
use bothy_shared::policy::Rule;
use bothy_shared::policy::{AccessPolicy, ChildTeam, Principal};
use bothy_shared::robust;
use bothy_shared::wire::{
    ChangedRequest, ChangedResponse, DocMessage, DocReply, DocStatus, MAX_CHANGES_PER_REQUEST,
    RejectionView, SyncRequest, SyncResponse,
};

use crate::directory;
use crate::quota::{DeviceQuotas, Use};
use crate::requests;
use crate::storage::{
    DocumentReads, MayRead, NewChange, NewRefusedChange, Storage, StorageError, StoredChange,
    SyncReads, SyncRound, UnixSeconds,
};
use crate::young;

mod kept;
mod room;

/// Why the engine failed as a whole (per-document problems are answers, not errors).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the cursor is not one this server issued")]
    BadCursor,
    #[error("the stored changes of {key} cannot be loaded")]
    CorruptDocument {
        key: DocKey,
        #[source]
        cause: Box<StoredChangesError>,
    },
    #[error(
        "at most {MAX_CHANGES_PER_REQUEST} changes per request: send fewer documents per request"
    )]
    TooManyChanges,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why stored changes did not fold into a document.
#[derive(Debug, thiserror::Error)]
pub enum StoredChangesError {
    /// A change does not decode, or Automerge failed on it (contained).
    #[error(transparent)]
    Malformed(#[from] robust::MalformedError),
    #[error("Automerge refused them")]
    Apply(#[source] automerge::AutomergeError),
}

/// The merged documents the server has loaded, each with the sequence
/// number of the last stored change folded in. Documents are brought up to
/// date from storage on every use (the changes after the cached sequence,
/// read with everything else a request needs), so several server instances sharing one database stay correct: a
/// change another instance stored is folded in before this instance gates
/// or answers anything for that document. That relies on the storage
/// contract that sequence numbers become visible in order (a later change
/// never shows up with a number below one already seen; see
/// `storage::postgres`), else the cache could step over a change for good.
/// The lock per document serialises this instance's writers to it (a
/// `/v1/sync` request holds the locks of its documents until its outcomes
/// are stored, taking them in key order); writers
/// on other instances are not serialised with them, which is fine because
/// stored changes are content-addressed and Automerge merges them.
///
/// The cache holds at most about its capacity in bytes (estimated: see
/// [`estimated_bytes`]) of documents no request is using: when a request
/// lets its documents go ([`Lease`]), their sizes are counted again and the
/// least recently used documents nobody holds are dropped until the total is
/// under the capacity. A dropped document is only ever behind storage, so it
/// reloads whole, with every stored change, on its next use. Documents in
/// use are never dropped, so a request's own documents (even one larger than
/// the whole capacity) may take the cache over it until the request ends.
pub struct DocCache {
    entries: Mutex<Entries>,
    capacity: u64,
    /// Room for the documents requests hold at once (see [`room`]).
    working: room::Room,
}

impl Default for DocCache {
    fn default() -> Self {
        DocCache::with_capacity(DEFAULT_CACHE_MB * 1024 * 1024)
    }
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The cache's capacity unless configured (`serve --cache-mb`): room for a
/// few thousand five-year case histories on a small VM.
pub const DEFAULT_CACHE_MB: u64 = 256;

/// Room for the documents requests hold at once unless configured (`serve
/// --working-mb`): forty or so five-year case records, about what one
/// device pushing a visit to each child of a large caseload holds.
pub const DEFAULT_WORKING_MB: u64 = 64;

/// The cached documents and their use.
#[derive(Default)]
struct Entries {
    slots: HashMap<DocKey, Slot>,
    /// Every slot's key by its last use, oldest first.
    by_use: BTreeMap<u64, DocKey>,
    /// The last use handed out.
    clock: u64,
    /// The sum of the slots' `bytes`.
    bytes: u64,
    /// Documents leased to requests now (one document leased by two
    /// requests counts twice), and the most there have been at once.
    leased: usize,
    leased_peak: usize,
}

struct Slot {
    entry: Arc<CacheEntry>,
    /// When it was last handed to a request (`Entries::clock`).
    used: u64,
    /// Its estimated size when last counted (0 until its first lease ends).
    bytes: u64,
}

impl Entries {
    fn touch(&mut self, key: DocKey) -> Arc<CacheEntry> {
        self.clock += 1;
        let clock = self.clock;
        let slot = self.slots.entry(key).or_insert_with(|| Slot {
            entry: Arc::default(),
            used: clock,
            bytes: 0,
        });
        self.by_use.remove(&slot.used);
        slot.used = clock;
        self.by_use.insert(clock, key);
        slot.entry.clone()
    }

    /// Take out least recently used entries no request holds until the
    /// total is at most `capacity` (or only held ones are left); returned
    /// to be dropped outside the lock.
    fn evict(&mut self, capacity: u64) -> Vec<Arc<CacheEntry>> {
        let mut out = Vec::new();
        if self.bytes <= capacity {
            return out;
        }
        let mut victims = Vec::new();
        let mut left = self.bytes;
        for (used, key) in &self.by_use {
            if left <= capacity {
                break;
            }
            // Entries are only cloned under this lock: a count of one
            // (ours) means no request holds it or can until we let go.
            if let Some(slot) = self.slots.get(key)
                && Arc::strong_count(&slot.entry) == 1
            {
                left = left.saturating_sub(slot.bytes);
                victims.push((*used, *key));
            }
        }
        for (used, key) in victims {
            self.by_use.remove(&used);
            if let Some(slot) = self.slots.remove(&key) {
                self.bytes = self.bytes.saturating_sub(slot.bytes);
                out.push(slot.entry);
            }
        }
        out
    }
}

#[derive(Default)]
struct CacheEntry {
    /// `doc`'s sequence, readable while another request holds the document.
    folded: AtomicU64,
    doc: Mutex<CachedDoc>,
}

impl CacheEntry {
    fn lock(&self) -> MutexGuard<'_, CachedDoc> {
        lock(&self.doc)
    }

    /// Publish how far `cached` (this entry's document) has got.
    fn folded_to(&self, cached: &CachedDoc) {
        self.folded.store(cached.seq, Ordering::Release);
    }

    /// The document's estimated size now, unless a request holds it (that
    /// request counts it when it lets go).
    fn estimate_unless_held(&self) -> Option<u64> {
        match self.doc.try_lock() {
            Ok(cached) => Some(cached.estimated_bytes()),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner().estimated_bytes()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

#[derive(Default)]
struct CachedDoc {
    seq: u64,
    doc: Automerge,
    /// The bytes of its latest changes, to send without Automerge
    /// rebuilding them (see [`kept`]).
    kept: kept::Kept,
}

impl CachedDoc {
    /// Its estimated size: the document and the change bytes kept.
    fn estimated_bytes(&self) -> u64 {
        estimated_bytes(&self.doc).saturating_add(self.kept.bytes())
    }
}

/// Memory a merged document takes, estimated from the operations and
/// changes it holds (Automerge 0.12 has no size API; both counts are kept
/// by Automerge, so this is cheap). MEASURED: see `OP_BYTES`.
pub fn estimated_bytes(doc: &Automerge) -> u64 {
    let stats = automerge::ReadDoc::stats(doc);
    DOC_BYTES
        .saturating_add(stats.num_ops.saturating_mul(OP_BYTES))
        .saturating_add(stats.num_changes.saturating_mul(CHANGE_BYTES))
}

/// Resident bytes per operation of a loaded document. Measured with
/// `bothy-load --memory-history --children 300 --years 5` (its
/// calibration: 400 plans and team records of five-year histories, 1.83
/// million operations, loaded through this cache in one process): RSS grew
/// 71.3 MB, 41 bytes per operation; this estimate gave 71.4 MB. Those
/// documents were written one change each. On documents written as the
/// changes that made them (`--children 2000 --years 5`: 400 documents,
/// 2.2 million operations, 129,221 changes) RSS grew 162.4 MB and the
/// estimate, with `CHANGE_BYTES`, gave 161.9 MB.
const OP_BYTES: u64 = 40;
/// Resident bytes per change (its metadata, hash and graph node) beyond its operations.
const CHANGE_BYTES: u64 = 400;
/// Resident bytes of an empty document and its cache entry.
const DOC_BYTES: u64 = 4096;
/// Resident bytes of a loaded document per byte of its stored changes:
/// what a request takes room for before loading a document the cache does
/// not hold. MEASURED as `OP_BYTES` was (the same 400 documents): see
/// `Calibration::loaded_per_stored_byte` in `bothy-load --memory-history`.
const LOADED_PER_STORED_BYTE: u64 = 5;
/// Room taken for a document neither cached nor read yet (one held only
/// to be kept in step: a plan or a young person's copy).
const UNREAD_DOC_BYTES: u64 = 256 * 1024;

/// The documents one request uses, handed out in the order asked for;
/// when the request ends (however it ends) their sizes are counted again
/// and the cache drops what it must to stay under its capacity.
struct Lease<'a> {
    cache: &'a DocCache,
    entries: Vec<(DocKey, Arc<CacheEntry>)>,
    /// Given back once the entries are counted (fields drop after `drop`).
    _room: room::Taken<'a>,
}

impl<'a> Lease<'a> {
    fn iter(&self) -> std::slice::Iter<'_, (DocKey, Arc<CacheEntry>)> {
        self.entries.iter()
    }
}

impl<'a, 'b> IntoIterator for &'b Lease<'a> {
    type Item = &'b (DocKey, Arc<CacheEntry>);
    type IntoIter = std::slice::Iter<'b, (DocKey, Arc<CacheEntry>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // Sized outside the cache's lock (a document's lock is never taken
        // under it), then the entries let go before any is evicted.
        let sized: Vec<(DocKey, *const CacheEntry, Option<u64>)> = self
            .entries
            .drain(..)
            .map(|(key, entry)| (key, Arc::as_ptr(&entry), entry.estimate_unless_held()))
            .collect();
        self.cache.settle(&sized);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a document was locked: the request that held it reset
    // every document it had changed as it unwound (`Held`), so the
    // document is at worst behind storage, and `refresh` catches it up.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Forget a cached document: it reloads from storage on next use.
fn reset(entry: &CacheEntry, cached: &mut CachedDoc) {
    *cached = CachedDoc::default();
    entry.folded_to(cached);
}

/// The documents a `/v1/sync` request holds locked, changed in place as it
/// goes. Until its outcomes are stored (`stored`), every document it
/// `changed` is reset when this is dropped (an error returned, a panic):
/// the cache never holds a change storage does not.
struct Held<'a> {
    docs: HashMap<DocKey, (&'a CacheEntry, MutexGuard<'a, CachedDoc>)>,
    changed: BTreeSet<DocKey>,
    stored: bool,
}

impl Held<'_> {
    fn doc(&self, key: &DocKey) -> Option<&Automerge> {
        self.docs.get(key).map(|(_, cached)| &cached.doc)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.stored {
            return;
        }
        for key in &self.changed {
            if let Some((entry, cached)) = self.docs.get_mut(key) {
                reset(entry, cached);
            }
        }
    }
}

impl DocCache {
    /// An empty cache that keeps about `bytes` of documents no request is
    /// using (see the type's documentation).
    pub fn with_capacity(bytes: u64) -> DocCache {
        DocCache::with_limits(bytes, DEFAULT_WORKING_MB * 1024 * 1024)
    }

    /// An empty cache that keeps about `bytes` of documents no request is
    /// using, and lets requests hold about `working` bytes of documents at
    /// once (0: no limit): a request waits for room for its documents
    /// before it loads them (see [`room`]).
    pub fn with_limits(bytes: u64, working: u64) -> DocCache {
        DocCache {
            entries: Mutex::default(),
            capacity: bytes,
            working: room::Room::new(working),
        }
    }

    fn entry(&self, key: DocKey) -> Arc<CacheEntry> {
        lock(&self.entries).touch(key)
    }

    /// The entries of `keys`, held until the lease is dropped, once there
    /// is room for them: each with the bytes of its stored changes read
    /// for the request, if they were.
    fn lease<'a>(&'a self, keys: &[(DocKey, Option<u64>)]) -> Lease<'a> {
        let room = self.working.take(self.estimate(keys));
        let entries = keys.iter().map(|(k, _)| (*k, self.entry(*k))).collect();
        self.leased(entries, room)
    }

    /// One document's entry, leased (see [`Self::lease`]): let go of the
    /// entry before the lease, so the lease may evict it.
    fn lease_one(&self, key: DocKey, stored: Option<u64>) -> (Lease<'_>, Arc<CacheEntry>) {
        let room = self.working.take(self.estimate(&[(key, stored)]));
        let entry = self.entry(key);
        (self.leased(vec![(key, entry.clone())], room), entry)
    }

    fn leased<'a>(
        &'a self,
        entries: Vec<(DocKey, Arc<CacheEntry>)>,
        room: room::Taken<'a>,
    ) -> Lease<'a> {
        let mut all = lock(&self.entries);
        all.leased += entries.len();
        all.leased_peak = all.leased_peak.max(all.leased);
        drop(all);
        Lease {
            cache: self,
            entries,
            _room: room,
        }
    }

    /// The resident bytes `keys` will take once loaded: as last counted if
    /// cached, else from the bytes of their stored changes.
    fn estimate(&self, keys: &[(DocKey, Option<u64>)]) -> u64 {
        let entries = lock(&self.entries);
        keys.iter()
            .map(|(key, stored)| match entries.slots.get(key) {
                Some(slot) if slot.bytes > 0 => slot.bytes,
                _ => stored.map_or(UNREAD_DOC_BYTES, |b| {
                    DOC_BYTES.saturating_add(b.saturating_mul(LOADED_PER_STORED_BYTE))
                }),
            })
            .fold(0u64, u64::saturating_add)
    }

    /// Count the sizes of a lease's entries (those still cached as that
    /// entry, whose size was read) and evict down to the capacity.
    fn settle(&self, sized: &[(DocKey, *const CacheEntry, Option<u64>)]) {
        let evicted = {
            let mut entries = lock(&self.entries);
            entries.leased = entries.leased.saturating_sub(sized.len());
            for (key, entry, size) in sized {
                let Some(size) = size else { continue };
                let Some(slot) = entries.slots.get_mut(key) else {
                    continue;
                };
                if !std::ptr::eq(Arc::as_ptr(&slot.entry), *entry) {
                    continue;
                }
                let before = std::mem::replace(&mut slot.bytes, *size);
                entries.bytes = entries.bytes.saturating_sub(before).saturating_add(*size);
            }
            entries.evict(self.capacity)
        };
        // Freed outside the lock: a large document takes a while.
        drop(evicted);
    }

    /// The estimated bytes of the documents cached now, as last counted,
    /// and how many documents that is.
    pub fn usage(&self) -> (u64, usize) {
        let entries = lock(&self.entries);
        (entries.bytes, entries.slots.len())
    }

    /// The most documents requests have held at once since the cache was
    /// made (each request's own count, summed): what memory beyond the
    /// capacity the cache has had to allow.
    pub fn leased_peak(&self) -> usize {
        lock(&self.entries).leased_peak
    }

    /// The most room requests have taken at once for their documents, in
    /// estimated bytes (at most the working limit).
    pub fn working_peak(&self) -> u64 {
        self.working.peak()
    }

    /// The sequence the cached copy of a document has folded in (0 if it
    /// is not cached), without waiting for a request working on it: where
    /// to read its new changes from. Grows, but for an entry reset (0).
    fn folded(&self, key: &DocKey) -> u64 {
        lock(&self.entries)
            .slots
            .get(key)
            .map_or(0, |slot| slot.entry.folded.load(Ordering::Acquire))
    }

    /// The merged document as stored now (a copy), for tests and tools.
    pub fn load(&self, storage: &dyn Storage, key: &DocKey) -> Result<Automerge, SyncError> {
        let (lease, entry) = self.lease_one(*key, None);
        let loaded = {
            let mut cached = entry.lock();
            refresh(storage, key, &mut cached)?;
            entry.folded_to(&cached);
            cached.doc.clone()
        };
        // Ours let go first, so the lease may evict it.
        drop(entry);
        drop(lease);
        Ok(loaded)
    }
}

/// Bring the cached document up to storage with the changes read for the
/// request (`read`, those after `read_after`), or read them again if the
/// cache started the document again while that read was under way (the
/// read then lacks changes the new copy needs).
fn catch_up(
    storage: &dyn Storage,
    key: &DocKey,
    cached: &mut CachedDoc,
    read: Vec<StoredChange>,
    read_after: u64,
) -> Result<(), SyncError> {
    if cached.seq >= read_after {
        fold(key, cached, read)
    } else {
        refresh(storage, key, cached)
    }
}

/// Back to storage's copy plus `earlier` (this request's changes to the
/// document accepted so far), then `then`: for when a message left the
/// document with changes it must not keep.
fn restore_to<'r>(
    storage: &'r dyn Storage,
    key: DocKey,
    earlier: Vec<&'r NewChange>,
) -> impl Fn(&mut CachedDoc, &[Change]) -> Result<(), SyncError> + 'r {
    move |cached: &mut CachedDoc, then: &[Change]| {
        *cached = CachedDoc::default();
        refresh(storage, &key, cached)?;
        let corrupt = |cause: StoredChangesError| SyncError::CorruptDocument {
            key,
            cause: Box::new(cause),
        };
        let mut again = earlier
            .iter()
            .map(|c| robust::decode_change(&c.bytes))
            .collect::<Result<Vec<Change>, _>>()
            .map_err(|e| corrupt(e.into()))?;
        again.extend(then.iter().cloned());
        if again.is_empty() {
            return Ok(());
        }
        let doc = &mut cached.doc;
        match robust::contain("apply accepted changes", || doc.apply_changes(again)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(corrupt(StoredChangesError::Apply(e))),
            Err(e) => Err(corrupt(e.into())),
        }
    }
}

/// Answer a message that carries no changes holding only its own document
/// (see [`sync_batch`]), leased for this alone: when the reply is made the
/// cache counts the document again and may drop it.
fn answer_alone(
    storage: &dyn Storage,
    cache: &DocCache,
    x: Exchange<'_>,
    read: DocumentReads,
    read_after: u64,
    message: Option<sync::Message>,
) -> Result<Outcome, SyncError> {
    let key = x.key;
    let stored = read.changes.iter().map(|c| c.bytes.len() as u64).sum();
    let (lease, entry) = cache.lease_one(key, Some(stored));
    let outcome = {
        let mut held = Held {
            docs: HashMap::from([(key, (entry.as_ref(), entry.lock()))]),
            // Reset should it fail part way (an error, a panic).
            changed: BTreeSet::from([key]),
            stored: false,
        };
        let Some((_, cached)) = held.docs.get_mut(&key) else {
            unreachable!("inserted just above")
        };
        catch_up(storage, &key, cached, read.changes, read_after)?;
        entry.folded_to(cached);
        let restore = restore_to(storage, key, Vec::new());
        let outcome = sync_document(cached, &restore, read.sync_state, x, message)?;
        // Nothing was applied: the document is as storage has it.
        held.stored = true;
        outcome
    };
    // Ours let go first, so the lease may evict it.
    drop(entry);
    drop(lease);
    Ok(outcome)
}

/// Fold stored changes newer than the cached document into it.
fn refresh(storage: &dyn Storage, key: &DocKey, cached: &mut CachedDoc) -> Result<(), SyncError> {
    let stored = storage.changes_after(key, cached.seq)?;
    fold(key, cached, stored)
}

/// Fold into the cached document, in one batch, those of `stored` (every
/// stored change after some sequence at or below the cached one, in order)
/// that are newer than it. Applied to the document itself; if Automerge
/// fails, the document is reset (it reloads on next use).
fn fold(
    key: &DocKey,
    cached: &mut CachedDoc,
    mut stored: Vec<StoredChange>,
) -> Result<(), SyncError> {
    stored.retain(|c| c.seq > cached.seq);
    let Some(last) = stored.last().map(|c| c.seq) else {
        return Ok(());
    };
    let corrupt = |cause: StoredChangesError| SyncError::CorruptDocument {
        key: *key,
        cause: Box::new(cause),
    };
    // Most are changes this instance stored itself and already holds (its
    // sequence stays behind after a commit): skip those without decoding.
    let fresh: Vec<&StoredChange> = stored
        .iter()
        .filter(|c| cached.doc.get_change_meta_by_hash(&c.hash).is_none())
        .collect();
    if fresh.is_empty() {
        cached.seq = last;
        return Ok(());
    }
    let changes = fresh
        .iter()
        .map(|c| robust::decode_change(&c.bytes))
        .collect::<Result<Vec<Change>, _>>()
        .map_err(|e| corrupt(e.into()))?;
    let doc = &mut cached.doc;
    let applied = robust::contain("apply stored changes", || doc.apply_changes(changes));
    match applied {
        Ok(Ok(())) => {
            cached.seq = last;
            // The latest are the likeliest to be asked for.
            let from = fresh.len().saturating_sub(kept::MAX_KEPT_CHANGES);
            for c in &fresh[from..] {
                cached.kept.keep(c.hash, &c.bytes);
            }
            Ok(())
        }
        Ok(Err(e)) => {
            *cached = CachedDoc::default();
            Err(corrupt(StoredChangesError::Apply(e)))
        }
        Err(e) => {
            *cached = CachedDoc::default();
            Err(corrupt(e.into()))
        }
    }
}

// ---------------------------------------------------------------- /v1/changed

const CURSOR_PREFIX: &str = "c1.";

fn parse_cursor(cursor: Option<&str>) -> Result<u64, SyncError> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .strip_prefix(CURSOR_PREFIX)
            .and_then(|n| n.parse().ok())
            .ok_or(SyncError::BadCursor),
    }
}

/// Answer `/v1/changed` for a device.
pub fn changed(
    storage: &dyn Storage,
    p: &Principal,
    request: &ChangedRequest,
) -> Result<ChangedResponse, SyncError> {
    let readable = directory::readable_keys(storage, p)?;
    let acknowledged: Vec<DocKey> = request
        .dropped
        .iter()
        .filter(|k| !readable.contains(k))
        .copied()
        .collect();
    if !acknowledged.is_empty() {
        storage.forget_synced_documents(p.device, &acknowledged)?;
    }
    let requested = parse_cursor(request.cursor.as_deref())?;
    let synced: BTreeSet<DocKey> = storage.synced_documents(p.device)?.into_iter().collect();
    // Only documents the device has synced and may still read can be `changed`.
    let candidates: BTreeSet<DocKey> = readable.intersection(&synced).copied().collect();
    let mut since = storage.changed_among(requested, p.device, &candidates)?;
    if requested > since.high_water {
        // A cursor from the future: this database was restored from a backup.
        // Start again from nothing so the device hears about everything.
        since = storage.changed_among(0, p.device, &candidates)?;
    }
    let changed = since.documents.iter().map(|(k, _)| *k).collect();
    let new = readable.difference(&synced).copied().collect();
    let gone = synced.difference(&readable).copied().collect();
    Ok(ChangedResponse {
        cursor: format!("{CURSOR_PREFIX}{}", since.high_water),
        changed,
        new,
        gone,
    })
}

// ---------------------------------------------------------------- /v1/sync

/// Answer `/v1/sync`: one reply per message, in order, and, when the
/// request asks it, the `/v1/changed` answer.
///
/// That answer is computed first, before any message is applied: its cursor
/// then stands for a moment before this request's own changes, which never
/// make a document `changed` for the device that made them, and every
/// change by others after that moment is after the cursor, so the device
/// hears of it next time. A retried request asks the same question again
/// and gets the same (or a later) answer.
pub fn sync_batch(
    storage: &dyn Storage,
    cache: &DocCache,
    quotas: &DeviceQuotas,
    p: &Principal,
    request: SyncRequest,
    now: UnixSeconds,
) -> Result<SyncResponse, SyncError> {
    let limit = MAX_RESPONSE_CHANGE_BYTES;
    sync_batch_with_limit(storage, cache, quotas, p, request, now, limit)
}

/// The changes the replies to messages without changes carry in one
/// response, about: once they reach it, each further such reply carries
/// the server's heads alone, and the device asks for the changes in its
/// next message (plain Automerge sync does). A new device asking about
/// every document at once then gets its caseload over several responses,
/// and the server never builds one of many megabytes. A reply that
/// starts under the limit is sent whole (one document may be larger).
pub const MAX_RESPONSE_CHANGE_BYTES: usize = 4 * 1024 * 1024;

/// [`sync_batch`] with the response's limit for changes given (for tests;
/// the server's is [`MAX_RESPONSE_CHANGE_BYTES`]).
pub fn sync_batch_with_limit(
    storage: &dyn Storage,
    cache: &DocCache,
    quotas: &DeviceQuotas,
    p: &Principal,
    request: SyncRequest,
    now: UnixSeconds,
    max_response_change_bytes: usize,
) -> Result<SyncResponse, SyncError> {
    // Every message decoded once, and the changes they carry counted,
    // before anything is read or applied.
    let mut messages = Vec::with_capacity(request.docs.len());
    let mut carried = 0usize;
    for DocMessage { key, message } in request.docs {
        let decoded = robust::contain("decode sync message", || sync::Message::decode(&message))
            .ok()
            .and_then(Result::ok);
        carried += decoded.as_ref().map_or(0, |m| m.changes.len());
        if carried > MAX_CHANGES_PER_REQUEST {
            return Err(SyncError::TooManyChanges);
        }
        messages.push((key, decoded));
    }
    let request = SyncRequest {
        docs: Vec::new(),
        changed: request.changed,
    };

    let changed = match &request.changed {
        Some(question) => Some(self::changed(storage, p, question)?),
        None => None,
    };

    // Everything the documents need from storage, in one read: their
    // teams, and for those the device may read (a missing one looks the
    // same) the changes the cached copy lacks and the device's sync state.
    let wanted: BTreeMap<DocKey, u64> = messages
        .iter()
        .map(|(key, _)| (*key, cache.folded(key)))
        .collect();
    let reads = if wanted.is_empty() {
        SyncReads::default()
    } else {
        let reader = p.clone();
        // Read to answer, or (an older copy of the young person's plan)
        // only to take their views in.
        let may_read: MayRead = Arc::new(move |key: &DocKey, team: &ChildTeam| {
            AccessPolicy::can_read(&reader, key, team).is_ok()
                || AccessPolicy::can_write(&reader, key, team).is_ok()
        });
        storage.read_for_sync(p.device, &wanted, may_read)?
    };
    let (mut teams, mut documents) = (reads.teams, reads.documents);
    // Requests for help have an audience of their own (see `requests`).
    let (filed, opening) =
        requests::read_for_sync(storage, p, &wanted, &mut teams, &mut documents)?;
    let allowed: BTreeSet<DocKey> = documents.keys().copied().collect();

    // A message that carries no changes (a new device's first sync asks
    // for each of its documents so) changes no document. Each is answered
    // holding its own document alone, which the cache may drop as soon as
    // the reply is made: a request about many documents holds one at a
    // time, whatever their histories, not all of them at once. These are
    // answered first; the order changes no reply, since nothing else in
    // the request touches a document asked about once (a young person's
    // copy is kept in step after every reply is made).
    let mut asked: HashMap<DocKey, usize> = HashMap::new();
    for (key, _) in &messages {
        *asked.entry(*key).or_default() += 1;
    }
    let mut replies: Vec<Option<DocReply>> = messages.iter().map(|_| None).collect();
    let mut rounds: Vec<SyncRound> = Vec::new();
    let mut held_keys: BTreeSet<DocKey> = BTreeSet::new();
    // The bytes of those replies so far.
    let mut sent_changes = 0usize;
    for (i, (key, message)) in messages.iter_mut().enumerate() {
        // Not a request for help: what follows its commit is retried on
        // every sync of it (see `requests::after_commit`).
        let alone = asked.get(key) == Some(&1)
            && key.request().is_none()
            && message.as_ref().is_none_or(|m| m.changes.is_empty());
        let (true, Some(team)) = (allowed.contains(key), teams.get(&key.child())) else {
            replies[i] = Some(reply(*key, DocStatus::Unavailable));
            continue;
        };
        if !alone {
            held_keys.insert(*key);
            continue;
        }
        if message.is_none() {
            // Nothing to answer with the document: not loaded.
            replies[i] = Some(malformed(*key, NOT_A_SYNC_MESSAGE));
            continue;
        }
        let exchange = Exchange {
            p,
            team,
            key: *key,
            now,
            write_only: AccessPolicy::can_read(p, key, team).is_err(),
            // Nothing carried, nothing to count against the quota.
            within_quota: true,
            send_changes: sent_changes < max_response_change_bytes,
        };
        let read = documents.remove(key).unwrap_or_default();
        let read_after = wanted.get(key).copied().unwrap_or(0);
        let outcome = answer_alone(storage, cache, exchange, read, read_after, message.take())?;
        sent_changes += outcome.reply.message.as_ref().map_or(0, |m| m.len());
        rounds.extend(outcome.round);
        replies[i] = Some(outcome.reply);
    }

    // A plan or copy of a child with a young person may move the other
    // (see `young`): both are held too.
    let related = young::related(held_keys.iter().copied(), &teams);

    // The readable documents stay locked until the request's outcomes are
    // stored (one transaction, below) and folded into the cache, so nobody
    // sees a change before it is durable. Locked in key order: two requests
    // never wait on each other in a cycle.
    let all: BTreeSet<DocKey> = held_keys.union(&related).copied().collect();
    let sized: Vec<(DocKey, Option<u64>)> = all
        .iter()
        .map(|k| {
            let read = documents.get(k);
            (
                *k,
                read.map(|r| r.changes.iter().map(|c| c.bytes.len() as u64).sum()),
            )
        })
        .collect();
    let entries = cache.lease(&sized);
    let mut held = Held {
        docs: HashMap::new(),
        changed: BTreeSet::new(),
        stored: false,
    };
    let mut saved_states: HashMap<DocKey, Option<Vec<u8>>> = HashMap::new();
    for (key, entry) in &entries {
        let mut cached = entry.lock();
        match documents.remove(key) {
            Some(read) => {
                let read_after = wanted.get(key).copied().unwrap_or(0);
                catch_up(storage, key, &mut cached, read.changes, read_after)?;
                saved_states.insert(*key, read.sync_state);
            }
            // Held only to be kept in step: read it now.
            None => refresh(storage, key, &mut cached)?,
        }
        entry.folded_to(&cached);
        held.docs.insert(*key, (entry.as_ref(), cached));
    }

    // Each message against the document as this request has left it (a
    // key sent twice is answered in turn, the second time from the first
    // one's outcome), applied to the held document itself.
    let mut advanced: BTreeSet<DocKey> = BTreeSet::new();
    // What must be compared with the document as it was (see the module
    // documentation): copied before its first change.
    let mut was: HashMap<DocKey, Automerge> = HashMap::new();
    let mut states: HashMap<DocKey, Vec<u8>> = HashMap::new();
    let mut kept_docs: Vec<(DocKey, Automerge)> = Vec::new();
    let mut refused: Vec<NewRefusedChange> = Vec::new();
    // The device's quota this request would use, as messages are accepted.
    let mut pending = Use::default();
    for (i, (key, message)) in messages.into_iter().enumerate() {
        if replies[i].is_some() {
            continue;
        }
        // Allowed exactly when readable (or writable), which needs the team.
        let (Some(team), Some((_, cached))) = (teams.get(&key.child()), held.docs.get_mut(&key))
        else {
            replies[i] = Some(reply(key, DocStatus::Unavailable));
            continue;
        };
        let write_only = AccessPolicy::can_read(p, &key, team).is_err();
        let saved = match states.get(&key) {
            Some(state) => Some(state.clone()),
            None => saved_states.get(&key).cloned().flatten(),
        };
        let starts = opening.contains(&key) && !advanced.contains(&key);
        let more = Use {
            bytes: message
                .as_ref()
                .map_or(0, |m| m.changes.iter().map(|c| c.len() as u64).sum::<u64>()),
            documents: u64::from(starts && message.as_ref().is_some_and(|m| !m.changes.is_empty())),
        };
        let within = quotas.allows(p.device, now, pending, more);
        let compared = (matches!(key, DocKey::Plan(_)) && team.young_person.is_some())
            || key.request().is_some();
        if compared && !was.contains_key(&key) {
            was.insert(key, cached.doc.clone());
        }
        held.changed.insert(key);
        // Back to storage's copy plus this request's accepted changes so
        // far (the restore's borrow of them ends with the exchange).
        let mut outcome = {
            let earlier: Vec<&NewChange> = rounds
                .iter()
                .filter(|r| r.key == key)
                .flat_map(|r| &r.accepted)
                .collect();
            let restore = restore_to(storage, key, earlier);
            sync_document(
                cached,
                &restore,
                saved,
                Exchange {
                    p,
                    team,
                    key,
                    now,
                    write_only,
                    within_quota: within,
                    send_changes: true,
                },
                message,
            )?
        };
        if outcome.accepted {
            pending = Use {
                bytes: pending.bytes.saturating_add(outcome.accepted_bytes),
                documents: pending.documents + u64::from(starts),
            };
        }
        if opening.contains(&key) && !outcome.accepted && !advanced.contains(&key) {
            // A request not filed yet, and not made by this message (the
            // first message of a new document carries only heads; the
            // reply asks for the changes): nothing is stored.
            outcome.round = None;
        }
        if let Some(round) = outcome.round {
            states.insert(key, round.sync_state.clone());
            rounds.push(round);
        }
        if outcome.accepted {
            advanced.insert(key);
        }
        refused.extend(outcome.refused);
        replies[i] = Some(outcome.reply);
    }
    // Every message has its reply, in order (each skipped above was answered).
    let docs: Vec<DocReply> = replies.into_iter().flatten().collect();

    // The young person's copies, kept in step with what was accepted.
    let mut server = Vec::new();
    for child in young::children_touched(advanced.iter(), &teams) {
        let Some(team) = teams.get(&child) else {
            continue;
        };
        let plan_key = DocKey::Plan(child);
        let Some(plan) = held.doc(&plan_key) else {
            continue;
        };
        let current = team.young_copy.map(|n| DocKey::Young(child, n));
        let written = advanced
            .iter()
            .filter(|k| matches!(k, DocKey::Young(c, _) if *c == child))
            .filter_map(|k| held.doc(k))
            .collect();
        let docs = young::ChildDocs {
            team,
            plan_before: was.get(&plan_key).unwrap_or(plan),
            plan,
            copy: current.as_ref().and_then(|k| held.doc(k)),
            written,
        };
        match young::keep_in_step(child, docs) {
            Ok(kept) => {
                server.extend(kept.server);
                kept_docs.extend(kept.docs);
            }
            // Nothing of the documents is logged: they may quote content.
            Err(e) => {
                tracing::error!(%child, error = %e, "the young person's copy was not kept in step")
            }
        }
    }

    // A request made on the device is filed before its changes are stored.
    for key in &opening {
        if let Some(record) = advanced
            .contains(key)
            .then(|| held.doc(key))
            .flatten()
            .and_then(|doc| requests::record_of(key, doc))
        {
            storage.open_request(&record, now)?;
        }
    }
    if !rounds.is_empty() || !server.is_empty() {
        storage.commit_sync_keeping_refused(&rounds, &server, &refused, now)?;
    }
    // Stored: the documents may stay as they are. Their sequence stays
    // behind, so the next refresh re-reads these changes, which Automerge
    // skips.
    held.stored = true;
    quotas.charge(p.device, now, pending);
    // Each request's steps audited, an acceptance's effect made.
    for (key, (_, cached)) in &held.docs {
        if key.request().is_none() {
            continue;
        }
        let after = &cached.doc;
        let before = was.get(key).unwrap_or(after);
        let record = filed.get(key).copied();
        if let Err(e) = requests::after_commit(storage, p, key, before, after, record, now) {
            // Stored already; the effect is tried again on the next sync.
            tracing::error!(%key, error = %e, "a request's step was not acted on");
        }
    }
    for (key, doc) in kept_docs {
        if let Some((_, cached)) = held.docs.get_mut(&key) {
            cached.doc = doc;
        }
    }
    Ok(SyncResponse { docs, changed })
}

fn reply(key: DocKey, status: DocStatus) -> DocReply {
    DocReply {
        key,
        status,
        message: None,
        rejection: None,
        detail: None,
    }
}

fn malformed(key: DocKey, detail: &str) -> DocReply {
    DocReply {
        detail: Some(detail.to_owned()),
        ..reply(key, DocStatus::Malformed)
    }
}

/// The changes `copy` holds that it did not at `before`, in causal order:
/// taken from the ones the message `offered` if it offered them all (a
/// message may also release changes an earlier one left waiting for their
/// dependencies), else collected from `copy`.
fn added_changes(
    copy: &Automerge,
    before: &[automerge::ChangeHash],
    offered: Option<Vec<Change>>,
) -> Vec<Change> {
    let added = copy.get_changes_meta(before);
    if added.is_empty() {
        return Vec::new();
    }
    if let Some(offered) = offered {
        // Offered changes the document already held are simply not asked for.
        let mut by_hash: HashMap<automerge::ChangeHash, Change> =
            offered.into_iter().map(|c| (c.hash(), c)).collect();
        let ordered: Option<Vec<Change>> = added.iter().map(|m| by_hash.remove(&m.hash)).collect();
        if let Some(ordered) = ordered {
            return ordered;
        }
    }
    copy.get_changes(before)
}

/// `receive_sync_message`, without Automerge parsing the message's changes
/// a second time: when they were all parsed already (`offered`), they are
/// applied in one batch, the shared heads advanced exactly as Automerge
/// advances them for changes received, and the rest of the message (heads,
/// need, have) received without them. The reply and the state the server
/// keeps are the same either way (see the tests).
fn receive(
    doc: &mut Automerge,
    state: &mut sync::State,
    mut message: sync::Message,
    offered: Option<&[Change]>,
) -> Result<(), automerge::AutomergeError> {
    if let Some(offered) = offered
        && !offered.is_empty()
        && !state.read_only
    {
        let before = doc.get_heads();
        doc.apply_changes(offered.iter().cloned())?;
        state.shared_heads = advance_heads(&before, &doc.get_heads(), &state.shared_heads);
        message.changes = sync::ChunkList::empty();
    }
    if message.changes.is_empty() && state.sent_hashes.is_empty() {
        receive_heads(doc, state, message);
        return Ok(());
    }
    doc.receive_sync_message(state, message)
}

/// What Automerge's `receive_sync_message` does with a message that
/// carries no changes, when nothing was sent in this exchange yet (always,
/// on the server: each request starts from the persisted shared heads).
/// Automerge would first walk every ancestor of the peer's heads to take
/// those out of the hashes it sent, a walk over the document's whole
/// history that finds nothing to take out when it sent nothing; the rest is
/// the same, step for step (see the tests).
fn receive_heads(doc: &Automerge, state: &mut sync::State, message: sync::Message) {
    state.in_flight = false;
    let before = doc.get_heads();
    let sync::Message {
        heads,
        need,
        have,
        flags,
        ..
    } = message;
    if let Some(flags) = flags {
        let mut capabilities = vec![sync::Capability::MessageV2];
        if flags.contains(sync::MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(sync::Capability::SyncReset);
        }
        state.their_capabilities = Some(capabilities);
        state.peer_read_only = flags.contains(sync::MessageFlags::READ_ONLY);
    }
    if heads == before {
        state.last_sent_heads.clone_from(&heads);
    }
    let known: Vec<automerge::ChangeHash> = heads
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    if known.len() == heads.len() {
        state.shared_heads.clone_from(&heads);
        if heads.is_empty() {
            state.last_sent_heads = Vec::new();
            state.sent_hashes = BTreeSet::new();
        }
    } else {
        let mut shared: BTreeSet<automerge::ChangeHash> =
            state.shared_heads.iter().copied().collect();
        shared.extend(known);
        state.shared_heads = shared.into_iter().collect();
    }
    state.their_have = Some(have);
    state.their_heads = Some(heads);
    state.their_need = Some(need);
}

/// The shared heads once the heads went from `old` to `new` by changes the
/// peer sent (so it holds them): the new heads plus the shared heads still
/// heads, sorted. What Automerge's `receive_sync_message` does.
fn advance_heads(
    old: &[automerge::ChangeHash],
    new: &[automerge::ChangeHash],
    shared: &[automerge::ChangeHash],
) -> Vec<automerge::ChangeHash> {
    let mut advanced: BTreeSet<automerge::ChangeHash> =
        new.iter().filter(|h| !old.contains(h)).copied().collect();
    advanced.extend(shared.iter().filter(|h| new.contains(h)).copied());
    advanced.into_iter().collect()
}

/// What one document's exchange produced: the reply, what to store (none
/// when the message was not understood) and whether changes were accepted
/// (the document holds them, and they are stored with the round).
struct Outcome {
    reply: DocReply,
    round: Option<SyncRound>,
    accepted: bool,
    /// The changes the gate refused, to keep apart (never applied).
    refused: Vec<NewRefusedChange>,
    /// Bytes of the changes accepted (the device's quota).
    accepted_bytes: u64,
}

impl Outcome {
    fn malformed(key: DocKey, detail: &str) -> Outcome {
        Outcome {
            reply: malformed(key, detail),
            round: None,
            accepted: false,
            refused: Vec::new(),
            accepted_bytes: 0,
        }
    }
}

/// The detail of a reply to bytes that are not a sync message.
const NOT_A_SYNC_MESSAGE: &str = "not an Automerge sync message";

/// Who exchanges which document, and how.
struct Exchange<'a> {
    p: &'a Principal,
    team: &'a ChildTeam,
    key: DocKey,
    now: UnixSeconds,
    /// An older copy of the young person's plan: taken in, never sent.
    write_only: bool,
    /// The device may still write the changes this message carries today
    /// (`crate::quota`).
    within_quota: bool,
    /// The response has room for the document's changes: else the reply
    /// carries the server's heads alone (see `MAX_RESPONSE_CHANGE_BYTES`).
    send_changes: bool,
}

/// Whether a change refused under `rule` is kept (section 6a of the
/// protocol): not when it was refused for its size, which is what its bytes
/// would cost to keep.
fn kept_when_refused(rule: Rule) -> bool {
    !matches!(
        rule,
        Rule::ChangeTooLarge | Rule::ValueTooLarge | Rule::ObjectTooDeep | Rule::DeviceQuota
    )
}

/// Brings a document back to what the request had left it, then applies
/// the given (accepted) changes.
type Restore<'r> = dyn Fn(&mut CachedDoc, &[Change]) -> Result<(), SyncError> + 'r;

/// One document's exchange against `cached`, the merged document as the
/// request has left it, with the device's sync state `saved`; see the
/// module documentation. The message is applied to the document itself;
/// whatever it leaves that must not stay (refused changes, changes waiting
/// for dependencies, a failed apply) is undone by `restore`. Nothing is
/// stored here.
fn sync_document(
    cached: &mut CachedDoc,
    restore: &Restore<'_>,
    saved: Option<Vec<u8>>,
    x: Exchange<'_>,
    message: Option<sync::Message>,
) -> Result<Outcome, SyncError> {
    let Exchange {
        p,
        team,
        key,
        now,
        write_only,
        within_quota,
        send_changes,
    } = x;
    let Some(message) = message else {
        return Ok(Outcome::malformed(key, NOT_A_SYNC_MESSAGE));
    };

    // A state that does not decode is only an optimisation lost: start afresh.
    let state = saved
        .and_then(|bytes| sync::State::decode(&bytes).ok())
        .unwrap_or_default();

    // The changes the message carries, when it carries them one by one (it
    // usually does): decoding these is cheaper than collecting the new
    // changes back out of the merged copy.
    let offered: Option<Vec<Change>> = message
        .changes
        .iter()
        .map(|bytes| robust::parse_change(bytes).ok())
        .collect();

    // Refused from the changes alone, before any is applied: too large or
    // too deep (`gate::limits`), or past the device's quota for today.
    let refused_unapplied = match offered.as_deref() {
        Some([first, ..]) if !within_quota => Some(Err(GateError::Rejected(gate::Rejection {
            change: first.hash(),
            path: String::new(),
            rule: Rule::DeviceQuota,
            detail: String::new(),
        }))),
        Some(changes) if !changes.is_empty() => {
            gate::check_bounds(&cached.doc, changes).err().map(Err)
        }
        _ => None,
    };
    let (mut state, incoming, checked) = match refused_unapplied {
        Some(refusal) => (state, offered.unwrap_or_default(), Some(refusal)),
        None => {
            let before = cached.doc.get_heads();
            let doc = &mut cached.doc;
            let received = robust::contain("receive sync message", || {
                let mut state = state;
                receive(doc, &mut state, message, offered.as_deref()).map(|()| state)
            });
            let state = match received {
                Ok(Ok(state)) => state,
                _ => {
                    // Possibly applied in part: back to what it was.
                    restore(cached, &[])?;
                    return Ok(Outcome::malformed(
                        key,
                        "the sync message could not be applied",
                    ));
                }
            };
            let incoming = added_changes(&cached.doc, &before, offered);
            // The document before is the same document at `before`.
            let checked = (!incoming.is_empty())
                .then(|| gate::check_applied_at(&key, &cached.doc, &before, &incoming, p, team));
            // Changes still waiting for their dependencies stay with this
            // message, never in the cache: a later message releasing them
            // would have them checked as its own.
            let waiting = !automerge::ReadDoc::get_missing_deps(&cached.doc, &[]).is_empty();
            match &checked {
                Some(Ok(())) if waiting => restore(cached, &incoming)?,
                Some(Err(_)) => restore(cached, &[])?,
                None if waiting => restore(cached, &[])?,
                _ => {}
            }
            (state, incoming, checked)
        }
    };
    if matches!(checked, Some(Ok(()))) {
        for c in &incoming {
            cached.kept.keep(c.hash(), c.raw_bytes());
        }
    }
    let doc = &cached.doc;

    let mut status = DocStatus::Ok;
    let mut rejection = None;
    let mut detail = None;
    let mut accepted: Option<Vec<NewChange>> = None;
    let mut refused: Vec<NewRefusedChange> = Vec::new();
    let keep = |changes: &mut Vec<NewRefusedChange>, c: &Change, rule: Rule, path: &str| {
        if !kept_when_refused(rule) {
            return;
        }
        changes.push(NewRefusedChange {
            device: p.device,
            person: p.person,
            key,
            change: NewChange::from_change(c),
            rule: rule.as_str().to_owned(),
            path: path.to_owned(),
            at: now,
        });
    };
    if let Some(checked) = checked {
        match checked {
            Ok(()) => accepted = Some(incoming.iter().map(NewChange::from_change).collect()),
            Err(GateError::Rejected(r)) => {
                status = DocStatus::Rejected;
                rejection = Some(RejectionView {
                    change: hex::encode(r.change.0),
                    path: r.path.clone(),
                    rule: r.rule.as_str().to_owned(),
                });
                // The rule's explanation, not the gate's detail: that may quote content.
                detail = Some(r.rule.explain().to_owned());
                // Kept: the change that broke the rule (the others of the
                // message come back, remade, once the device set it aside).
                for c in incoming.iter().filter(|c| c.hash() == r.change) {
                    keep(&mut refused, c, r.rule, &r.path);
                }
            }
            Err(GateError::Denied(d)) => {
                status = DocStatus::Denied;
                detail = Some(d.rule.as_str().to_owned());
                // Every change: none of them may be written here.
                for c in &incoming {
                    keep(&mut refused, c, d.rule, "");
                }
            }
            Err(GateError::Malformed(_) | GateError::MissingDependencies(_)) => {
                status = DocStatus::Malformed;
                detail = Some("the changes could not be applied".to_owned());
            }
            Err(GateError::BeforeInvalid(_)) => {
                // The error may quote document content: not logged.
                tracing::error!(%key, "stored document does not read as its schema");
                status = DocStatus::Malformed;
                detail =
                    Some("the server's copy of this document needs an administrator".to_owned());
            }
        }
        if accepted.is_none() {
            // Nothing is stored: the shared heads may only name changes we hold.
            state
                .shared_heads
                .retain(|h| doc.get_change_meta_by_hash(h).is_some());
        }
    }

    let generated = robust::contain("generate sync message", || {
        let mut state = state;
        let message = kept::generate(doc, &mut state, &cached.kept);
        (message, state)
    });
    let Ok((outgoing, state)) = generated else {
        return Ok(Outcome::malformed(
            key,
            "the server could not answer this sync message",
        ));
    };
    let mut outgoing = outgoing.filter(|_| status != DocStatus::Malformed);
    if write_only {
        // An older copy of the young person's plan: their views are taken
        // in, nothing of it is sent (it may hold content withheld since).
        // The heads alone tell their device its views were kept.
        if let Some(m) = outgoing.as_mut() {
            m.changes = sync::ChunkList::empty();
        }
        if status == DocStatus::Ok {
            status = DocStatus::Unavailable;
        }
    }
    if !send_changes && let Some(m) = outgoing.as_mut() {
        // The response has carried its share: the heads alone, and the
        // device, seeing heads it lacks, asks for them in its next message.
        m.changes = sync::ChunkList::empty();
    }
    // Audited as a read only if the reply carries document content.
    let sent_content = outgoing.as_ref().is_some_and(|m| !m.changes.is_empty());
    let message = outgoing.map(sync::Message::encode);

    let was_accepted = accepted.is_some();
    let accepted_changes = accepted.unwrap_or_default();
    let accepted_bytes = accepted_changes.iter().map(|c| c.bytes.len() as u64).sum();
    if status == DocStatus::Ok {
        tracing::debug!(%key, "document synced");
    } else {
        tracing::info!(%key, status = ?status, "document changes refused");
    }
    Ok(Outcome {
        reply: DocReply {
            key,
            status,
            message,
            rejection,
            detail,
        },
        round: Some(SyncRound {
            device: p.device,
            person: p.person,
            key,
            accepted: accepted_changes,
            sync_state: state.encode(),
            sent_content,
            at: now,
        }),
        accepted: was_accepted,
        refused,
        accepted_bytes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    /// The server's document: one change.
    fn server_doc() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
        let mut tx = doc.transaction();
        tx.put(ROOT, "k", 0).unwrap();
        tx.commit();
        doc
    }

    /// `n` changes made on a device that forked `server`, in order.
    fn made_on_a_device(server: &Automerge, n: i64) -> Vec<Change> {
        let mut device = server.fork().with_actor(ActorId::from(vec![2; 16]));
        for i in 0..n {
            let mut tx = device.transaction();
            tx.put(ROOT, format!("d{i}"), i).unwrap();
            tx.commit();
        }
        device.get_changes(&server.get_heads())
    }

    /// The reply and the kept state after receiving `message` into
    /// `server` and answering, by `receive` (or by Automerge alone).
    fn exchange(server: &Automerge, message: &[u8], ours: bool) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let message = sync::Message::decode(message).unwrap();
        let offered: Option<Vec<Change>> = message
            .changes
            .iter()
            .map(|b| robust::parse_change(b).ok())
            .collect();
        let mut state = sync::State {
            shared_heads: server.get_heads(),
            ..sync::State::default()
        };
        let mut copy = server.clone();
        if ours {
            receive(&mut copy, &mut state, message, offered.as_deref()).unwrap();
        } else {
            copy.receive_sync_message(&mut state, message).unwrap();
        }
        let reply = copy.generate_sync_message(&mut state).unwrap().encode();
        let heads = copy.get_heads().iter().flat_map(|h| h.0).collect();
        (reply, state.encode(), heads)
    }

    /// A device's first message, as Automerge builds it from a state
    /// primed at `shared`.
    fn push(device: &Automerge, shared: Vec<automerge::ChangeHash>) -> Vec<u8> {
        let persisted = sync::State {
            shared_heads: shared,
            ..sync::State::default()
        };
        let mut state = bothy_shared::wire::resume_sync_state(Some(&persisted.encode()));
        device.generate_sync_message(&mut state).unwrap().encode()
    }

    // ------------------------------------------------------------ the cache

    use crate::storage::{ChildRecord, NewDocument};
    use bothy_shared::ids::ChildId;

    /// A document of `ops` characters of text, in `changes` changes.
    fn history(ops: usize, changes: usize, actor: u8) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![actor; 16]));
        let text = {
            let mut tx = doc.transaction();
            let text = tx
                .put_object(ROOT, "notes", automerge::ObjType::Text)
                .unwrap();
            tx.commit();
            text
        };
        let per = ops.div_ceil(changes.max(1));
        let mut written = 0;
        while written < ops {
            let mut tx = doc.transaction();
            let n = per.min(ops - written);
            tx.splice_text(&text, written, 0, &"a".repeat(n)).unwrap();
            tx.commit();
            written += n;
        }
        doc
    }

    /// A storage holding `n` children's plans, each as `history(ops, 4)`.
    fn stored(n: usize, ops: usize) -> (Arc<dyn Storage>, Vec<DocKey>) {
        let storage = crate::storage::open_unsealed("sqlite::memory:").unwrap();
        let mut keys = Vec::new();
        for i in 0..n {
            let child = ChildId::random();
            let key = DocKey::Plan(child);
            let doc = history(ops, 4, i as u8);
            let changes = doc
                .get_changes(&[])
                .iter()
                .map(NewChange::from_change)
                .collect();
            let record = ChildRecord {
                id: child,
                name: format!("child {i}"),
            };
            storage
                .add_child(&record, &[NewDocument { key, changes }], 1_000)
                .unwrap();
            keys.push(key);
        }
        (storage, keys)
    }

    fn cached_keys(cache: &DocCache) -> BTreeSet<DocKey> {
        lock(&cache.entries).slots.keys().copied().collect()
    }

    /// The estimate of one document of `stored(_, ops)` as the cache holds
    /// it: the document and its latest changes' bytes.
    fn one_size(ops: usize) -> u64 {
        let stored = history(ops, 4, 0)
            .get_changes(&[])
            .iter()
            .zip(1..)
            .map(|(c, seq)| StoredChange {
                seq,
                hash: c.hash(),
                bytes: c.raw_bytes().to_vec(),
            })
            .collect();
        let mut cached = CachedDoc::default();
        fold(&DocKey::Plan(ChildId::random()), &mut cached, stored).unwrap();
        assert!(cached.kept.bytes() > 0, "the latest changes are kept");
        cached.estimated_bytes()
    }

    #[test]
    fn the_estimate_stays_under_the_capacity_and_the_least_recently_used_go_first() {
        let (storage, keys) = stored(6, 2_000);
        // Room for two and a half documents.
        let capacity = one_size(2_000) * 5 / 2;
        let cache = DocCache::with_capacity(capacity);
        for key in &keys[..3] {
            cache.load(storage.as_ref(), key).unwrap();
            assert!(
                cache.usage().0 <= capacity,
                "{:?} over {capacity}",
                cache.usage()
            );
        }
        // The first was evicted for the third.
        assert_eq!(cached_keys(&cache), keys[1..3].iter().copied().collect());
        // Using the second again makes the third the oldest.
        cache.load(storage.as_ref(), &keys[1]).unwrap();
        cache.load(storage.as_ref(), &keys[3]).unwrap();
        assert_eq!(
            cached_keys(&cache),
            [keys[1], keys[3]].into_iter().collect()
        );
        let (bytes, count) = cache.usage();
        assert_eq!(count, 2);
        assert_eq!(bytes, 2 * one_size(2_000));
    }

    #[test]
    fn documents_in_use_are_never_evicted() {
        let (storage, keys) = stored(3, 500);
        // No room at all: everything not in use goes as soon as it can.
        let cache = DocCache::with_capacity(0);
        let lease = cache.lease(&[(keys[0], None)]);
        for (key, entry) in &lease {
            let mut cached = entry.lock();
            refresh(storage.as_ref(), key, &mut cached).unwrap();
            entry.folded_to(&cached);
        }
        // Counted once another lease ends, and held all the same.
        let other = cache.lease(&[(keys[0], None), (keys[1], None)]);
        drop(other);
        cache.load(storage.as_ref(), &keys[2]).unwrap();
        assert_eq!(cached_keys(&cache), [keys[0]].into_iter().collect());
        assert_eq!(cache.usage().0, one_size(500));
        assert!(cache.folded(&keys[0]) > 0);
        drop(lease);
        assert!(cached_keys(&cache).is_empty());
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn a_document_larger_than_the_capacity_is_used_and_then_dropped() {
        let (storage, keys) = stored(1, 3_000);
        let cache = DocCache::with_capacity(one_size(3_000) / 10);
        let loaded = cache.load(storage.as_ref(), &keys[0]).unwrap();
        assert_eq!(loaded.get_heads(), history(3_000, 4, 0).get_heads());
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn an_evicted_document_reloads_with_every_stored_change_including_another_instances() {
        let (storage, keys) = stored(2, 1_000);
        let cache = DocCache::with_capacity(one_size(1_000) * 3 / 2);
        let first = cache.load(storage.as_ref(), &keys[0]).unwrap();
        // Another instance stores a change to it; this one evicts it.
        let mut theirs = first.fork().with_actor(ActorId::from(vec![9; 16]));
        let mut tx = theirs.transaction();
        tx.put(ROOT, "another", "instance").unwrap();
        tx.commit();
        let change = theirs.get_changes(&first.get_heads());
        let document = NewDocument {
            key: keys[0],
            changes: change.iter().map(NewChange::from_change).collect(),
        };
        storage.commit_sync(&[], &[document], 2_000).unwrap();
        cache.load(storage.as_ref(), &keys[1]).unwrap();
        assert_eq!(cached_keys(&cache), [keys[1]].into_iter().collect());
        let again = cache.load(storage.as_ref(), &keys[0]).unwrap();
        assert_eq!(again.get_heads(), theirs.get_heads());
        assert_eq!(
            again.get_changes(&[]).len(),
            first.get_changes(&[]).len() + 1
        );
    }

    #[test]
    fn receiving_parsed_changes_answers_as_automerge_does() {
        let server = server_doc();
        let new = made_on_a_device(&server, 3);
        let mut device = server.clone();
        device.apply_changes(new.clone()).unwrap();

        // A push of three changes; the same again (the server holds them
        // now); and the second and third without the first, which Automerge
        // keeps waiting for its dependency.
        let first = push(&device, server.get_heads());
        let mut holding = server.clone();
        holding.apply_changes(new.clone()).unwrap();
        let mut gapped = sync::Message::decode(&first).unwrap();
        gapped.changes = new[1..]
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect::<Vec<_>>()
            .into();
        let gapped = gapped.encode();
        for (server, message) in [(&server, &first), (&holding, &first), (&server, &gapped)] {
            assert_eq!(
                exchange(server, message, true),
                exchange(server, message, false)
            );
        }
        // The shared heads moved to the device's in the plain case, and
        // did not in the gapped one.
        let (_, state, _) = exchange(&server, &first, true);
        let state = sync::State::decode(&state).unwrap();
        assert_eq!(state.shared_heads, device.get_heads());
        let (_, state, heads) = exchange(&server, &gapped, true);
        assert_eq!(
            sync::State::decode(&state).unwrap().shared_heads,
            server.get_heads()
        );
        assert_eq!(
            heads,
            server
                .get_heads()
                .iter()
                .flat_map(|h| h.0)
                .collect::<Vec<u8>>()
        );
    }

    #[test]
    fn receiving_heads_moves_the_state_as_automerge_does() {
        let server = server_doc();
        let mut device = server.clone();
        device.apply_changes(made_on_a_device(&server, 2)).unwrap();
        let mut behind = server.clone();
        behind.apply_changes(made_on_a_device(&server, 1)).unwrap();
        // A device that holds what the server holds, one ahead of it, one
        // that has nothing; each from no shared heads and from the server's.
        let nothing = Automerge::new();
        for peer in [&server, &device, &behind, &nothing] {
            for shared in [Vec::new(), server.get_heads()] {
                let mut peer_state = sync::State::new();
                peer_state.shared_heads = shared.clone();
                let Some(message) = peer.generate_sync_message(&mut peer_state) else {
                    continue;
                };
                assert!(message.changes.is_empty());
                let mut start = sync::State::new();
                start.shared_heads = shared.clone();
                let (mut ours, mut theirs) = (start.clone(), start);
                receive_heads(&server, &mut ours, message.clone());
                let mut copy = server.clone();
                copy.receive_sync_message(&mut theirs, message).unwrap();
                assert_eq!(ours, theirs);
                // And the reply that follows.
                assert_eq!(
                    server
                        .generate_sync_message(&mut ours)
                        .map(sync::Message::encode),
                    copy.generate_sync_message(&mut theirs)
                        .map(sync::Message::encode)
                );
            }
        }
    }

    #[test]
    fn advancing_heads_keeps_the_new_and_the_still_current() {
        let h = |b: u8| automerge::ChangeHash([b; 32]);
        // Old heads 1, 2; new heads 2, 3 (3 replaced 1); shared was 1, 2.
        assert_eq!(
            advance_heads(&[h(1), h(2)], &[h(2), h(3)], &[h(1), h(2)]),
            vec![h(2), h(3)]
        );
        // Nothing new: shared heads no longer heads drop out.
        assert_eq!(advance_heads(&[h(1)], &[h(1)], &[h(1), h(4)]), vec![h(1)]);
    }

    #[test]
    fn the_offered_changes_are_used_in_causal_order() {
        let server = server_doc();
        let new = made_on_a_device(&server, 3);
        let before = server.get_heads();
        let mut copy = server.clone();
        copy.apply_changes(new.clone()).unwrap();
        // Offered newest first, plus one the server already holds.
        let mut offered: Vec<Change> = new.iter().rev().cloned().collect();
        offered.push(server.get_changes(&[]).remove(0));
        let added = added_changes(&copy, &before, Some(offered));
        let hashes = |cs: &[Change]| cs.iter().map(Change::hash).collect::<Vec<_>>();
        assert_eq!(hashes(&added), hashes(&copy.get_changes(&before)));
        assert_eq!(added.len(), 3);
    }

    #[test]
    fn changes_released_from_the_queue_are_not_missed() {
        let server = server_doc();
        let new = made_on_a_device(&server, 2);
        // The second change arrived first and waits for the first.
        let mut waiting = server.clone();
        waiting.apply_changes(vec![new[1].clone()]).unwrap();
        assert!(waiting.get_changes_meta(&server.get_heads()).is_empty());
        let before = waiting.get_heads();
        let mut copy = waiting.clone();
        copy.apply_changes(vec![new[0].clone()]).unwrap();
        // The message offered only the first; both were added.
        let added = added_changes(&copy, &before, Some(vec![new[0].clone()]));
        assert_eq!(
            added.iter().map(Change::hash).collect::<Vec<_>>(),
            new.iter().map(Change::hash).collect::<Vec<_>>()
        );
        // And nothing is made up when nothing was added.
        assert!(added_changes(&copy, &copy.get_heads(), None).is_empty());
    }
}
