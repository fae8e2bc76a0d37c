//! A device kept entirely in memory: the same [`SyncEngine`] as the app,
//! over a [`LocalReplica`] of hash maps instead of an encrypted store. The
//! load command runs hundreds of these; what they send and receive is
//! exactly what a phone would.

use std::collections::{BTreeMap, HashMap};

use automerge::{Automerge, ChangeHash, ReadDoc};
use bothy_client::ServiceError;
use bothy_client::store::UnacknowledgedChange;
use bothy_client::store::tx::NewRejection;
use bothy_client::sync::{self, LocalReplica, SyncEngine, SyncOptions, meta};
use bothy_shared::docs::{CaseDocument, DocKey, Timestamp, change_document};
use bothy_shared::ids::{Agency, DeviceId, ItemId, PersonId};
use bothy_shared::wire::DirectoryView;

use crate::{HarnessError, Result};

/// A refusal as the memory device keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRejection {
    pub doc_key: String,
    pub change_hash: Option<Vec<u8>>,
    pub rule: String,
}

/// One simulated device.
pub struct MemoryDevice {
    pub device: DeviceId,
    pub person: PersonId,
    pub name: String,
    pub agency: Option<Agency>,
    pub directory: DirectoryView,
    meta: HashMap<String, Vec<u8>>,
    docs: HashMap<DocKey, Automerge>,
    states: HashMap<DocKey, Vec<u8>>,
    unacknowledged: BTreeMap<DocKey, Vec<UnacknowledgedChange>>,
    pub rejections: Vec<KeptRejection>,
}

impl std::fmt::Debug for MemoryDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDevice")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// How the load measurements' simulated devices sync: a few quick retries,
/// so a busy server slows a run down rather than failing it.
pub fn load_options() -> SyncOptions {
    SyncOptions {
        retry: sync::RetryPolicy {
            attempts: 5,
            initial_delay: std::time::Duration::from_millis(50),
            max_delay: std::time::Duration::from_secs(1),
        },
        ..SyncOptions::default()
    }
}

impl MemoryDevice {
    /// Enrol with `code` at `server` and return the device and its engine.
    pub async fn enrol(
        server: &str,
        code: &str,
        options: SyncOptions,
    ) -> Result<(MemoryDevice, SyncEngine)> {
        let (enrolment, pkcs8) =
            sync::request_enrolment(server, code, "load test device", &options).await?;
        let mut meta = HashMap::new();
        meta.insert(
            meta::SERVER.to_owned(),
            enrolment.server.clone().into_bytes(),
        );
        meta.insert(
            meta::DEVICE.to_owned(),
            enrolment.device.to_string().into_bytes(),
        );
        meta.insert(meta::DEVICE_KEY.to_owned(), pkcs8.to_vec());
        meta.insert(
            meta::DIRECTORY_AT.to_owned(),
            time::OffsetDateTime::now_utc()
                .unix_timestamp()
                .to_string()
                .into_bytes(),
        );
        let device = MemoryDevice {
            device: enrolment.device,
            person: enrolment.person,
            name: enrolment.directory.me.name.clone(),
            agency: enrolment.directory.me.agency,
            directory: enrolment.directory,
            meta,
            docs: HashMap::new(),
            states: HashMap::new(),
            unacknowledged: BTreeMap::new(),
            rejections: Vec::new(),
        };
        let engine = SyncEngine::new(&device, options)?;
        Ok((device, engine))
    }

    /// Documents held.
    pub fn document_count(&self) -> usize {
        self.docs.len()
    }

    pub fn keys(&self) -> Vec<DocKey> {
        let mut keys: Vec<DocKey> = self.docs.keys().copied().collect();
        keys.sort();
        keys
    }

    pub fn doc(&self, key: &DocKey) -> Option<&Automerge> {
        self.docs.get(key)
    }

    /// Changes made here not yet acknowledged.
    pub fn unsynced(&self) -> usize {
        self.unacknowledged.values().map(Vec::len).sum()
    }

    /// Edit a typed document as the app would (one change, this device's actor).
    pub fn edit<T: CaseDocument>(
        &mut self,
        key: DocKey,
        edit: impl FnOnce(&mut T),
    ) -> Result<ChangeHash> {
        let before = self
            .docs
            .get(&key)
            .ok_or_else(|| HarnessError::Setup(format!("no {key} on this device")))?;
        let edited = change_document::<T, ()>(before, &key, &self.device.actor_id(), "edit", edit)?;
        let mut change = edited
            .change
            .ok_or_else(|| HarnessError::Setup("the edit changed nothing".to_owned()))?;
        let hash = change.hash();
        self.unacknowledged
            .entry(key)
            .or_default()
            .push(UnacknowledgedChange {
                hash: hash.0.to_vec(),
                bytes: change.bytes().to_vec(),
            });
        self.docs.insert(key, edited.doc);
        Ok(hash)
    }

    /// Record a team-shared visit in `key` (a record document), as the app
    /// does (`Client::edit_item`): one change that writes the new visit at
    /// `visits/<id>`, message "record visit". The change is made in place on
    /// the held document (nothing here needs a copy to roll back to), which
    /// keeps hundreds of simulated devices cheap without changing a byte of
    /// what goes over the wire.
    pub fn add_visit(&mut self, key: DocKey, words: &str) -> Result<ItemId> {
        let visit = crate::home_visit(
            key,
            self.person,
            self.name.clone(),
            self.agency.unwrap_or(Agency::SocialWork),
            words,
        );
        let id = visit.id;
        let actor = self.device.actor_id();
        let doc = self
            .docs
            .get_mut(&key)
            .ok_or_else(|| HarnessError::Setup(format!("no {key} on this device")))?;
        doc.set_actor(actor);
        let heads = doc.get_heads();
        let mut tx = doc.transaction();
        let visits = match tx.get(&automerge::ROOT, "visits") {
            Ok(Some((automerge::Value::Object(automerge::ObjType::Map), obj))) => obj,
            _ => return Err(HarnessError::Setup(format!("{key} has no visits map"))),
        };
        autosurgeon::reconcile_prop(&mut tx, &visits, id.to_string().as_str(), &visit)
            .map_err(|e| HarnessError::Setup(format!("recording a visit: {e}")))?;
        tx.commit_with(
            automerge::transaction::CommitOptions::default()
                .with_message("record visit".to_owned())
                .with_time(Timestamp::now().0 / 1000),
        );
        let mut change = doc
            .get_changes(&heads)
            .into_iter()
            .next()
            .ok_or_else(|| HarnessError::Setup("the visit changed nothing".to_owned()))?;
        self.unacknowledged
            .entry(key)
            .or_default()
            .push(UnacknowledgedChange {
                hash: change.hash().0.to_vec(),
                bytes: change.bytes().to_vec(),
            });
        Ok(id)
    }
}

impl LocalReplica for MemoryDevice {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        Ok(self.meta.get(key).cloned())
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), ServiceError> {
        self.meta.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn sync_state(&self, key: &DocKey) -> Result<Option<Vec<u8>>, ServiceError> {
        Ok(self.states.get(key).cloned())
    }

    fn put_sync_state(&mut self, key: &DocKey, state: &[u8]) -> Result<(), ServiceError> {
        self.states.insert(*key, state.to_vec());
        Ok(())
    }

    fn with_document<R>(
        &mut self,
        key: &DocKey,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, ServiceError> {
        Ok(self.docs.get(key).map(f))
    }

    fn merge_remote<R>(
        &mut self,
        key: DocKey,
        f: impl FnOnce(&mut Automerge) -> R,
    ) -> Result<(R, usize), ServiceError> {
        let doc = self.docs.entry(key).or_default();
        let before = doc.get_heads();
        let out = f(doc);
        let added = if doc.get_heads() == before {
            0
        } else {
            doc.get_changes_meta(&before).len()
        };
        Ok((out, added))
    }

    fn forget_document(&mut self, key: &DocKey) -> Result<(), ServiceError> {
        self.docs.remove(key);
        self.states.remove(key);
        self.unacknowledged.remove(key);
        Ok(())
    }

    fn docs_with_unacknowledged_changes(&self) -> Result<Vec<DocKey>, ServiceError> {
        Ok(self
            .unacknowledged
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| *k)
            .collect())
    }

    fn unacknowledged_changes(
        &self,
        key: &DocKey,
    ) -> Result<Vec<UnacknowledgedChange>, ServiceError> {
        Ok(self.unacknowledged.get(key).cloned().unwrap_or_default())
    }

    fn mark_acknowledged(&mut self, key: &DocKey, hashes: &[&[u8]]) -> Result<usize, ServiceError> {
        let Some(list) = self.unacknowledged.get_mut(key) else {
            return Ok(0);
        };
        let before = list.len();
        list.retain(|c| !hashes.contains(&c.hash.as_slice()));
        let marked = before - list.len();
        if list.is_empty() {
            self.unacknowledged.remove(key);
        }
        Ok(marked)
    }

    fn record_rejection(&mut self, r: &NewRejection<'_>) -> Result<bool, ServiceError> {
        let kept = KeptRejection {
            doc_key: r.doc_key.to_owned(),
            change_hash: r.change_hash.map(<[u8]>::to_vec),
            rule: r.rule.to_owned(),
        };
        if self.rejections.contains(&kept) {
            return Ok(false);
        }
        self.rejections.push(kept);
        Ok(true)
    }

    fn update_directory(&mut self, view: &DirectoryView) -> Result<(), ServiceError> {
        self.directory = view.clone();
        Ok(())
    }
}
