//! Encryption at rest, once for both backends: [`Sealed`] wraps a backend
//! and seals every copy of what a person wrote on its way in (changes,
//! refused and offered changes, the reason typed for a team change) and
//! opens it on its way out, so the backends store and index opaque bytes
//! and everything above [`super::Storage`] sees plaintext (the in-memory
//! document cache included).
//!
//! The key of a value is its owner's data key ([`super::keys`]): the
//! child's, or the request's for `request/<id>`. A data key is made the
//! first time something of its owner is stored ([`Storage::keep_wrapped_key`]
//! keeps the first of two made at once, and none for an erased owner) and
//! looked up in the database for every operation, not cached: an erasure
//! by another process (`bothy-server erase`) takes effect at once.
//!
//! Additional authenticated data binds each value to its row: a change to
//! its document and hash, a refused change to its device, document and
//! hash, an offered change to its device and document, a team change's
//! reason to the change's id.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bothy_shared::docs::{DocKey, IsoDate};
use bothy_shared::ids::{Agency, ChildId, DeviceId, ItemId, PersonId, RequestId};
use bothy_shared::policy::{ChildTeam, TeamMember};
use bothy_shared::team::{TeamAction, TeamEffect};
use bothy_shared::wire::KeptReason;

use super::keys::{self, DataKey, KeyWrap, SealError, SecretKey};
use super::{
    AuditEntry, AuditEvent, ChangedSince, ChildRecord, ClosedCase, DeviceRecord, Erased,
    ErasureRecord, MayRead, NewChange, NewDevice, NewDocument, NewRefusedChange, PersonRecord,
    QuarantinedChange, RefusedChange, RequestRecord, Storage, StorageError, StoredChange,
    SyncReads, SyncRound, TeamChangeRecord, UnixSeconds,
};

/// A backend whose content is sealed. See the module documentation.
pub(super) struct Sealed {
    inner: Arc<dyn Storage>,
    master: Arc<dyn KeyWrap>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The data key owner of a document.
fn owner(key: &DocKey) -> String {
    key.child().to_string()
}

fn change_aad(key: &DocKey, hash: &str) -> Vec<u8> {
    format!("bothy change\0{key}\0{hash}").into_bytes()
}

fn refused_aad(device: DeviceId, key: &DocKey, hash: &str) -> Vec<u8> {
    format!("bothy refused\0{device}\0{key}\0{hash}").into_bytes()
}

fn offered_aad(device: DeviceId, key: &DocKey) -> Vec<u8> {
    format!("bothy offered\0{device}\0{key}").into_bytes()
}

fn reason_aad(id: ItemId) -> Vec<u8> {
    format!("bothy team change reason\0{id}").into_bytes()
}

fn sealed_err(what: impl fmt::Display) -> impl FnOnce(SealError) -> StorageError {
    let what = what.to_string();
    move |cause| StorageError::Sealed { what, cause }
}

/// A sealed team change reason as a text column holds it.
const REASON_PREFIX: &str = "sealed:";

impl Sealed {
    /// Wrap `inner`, checking that `master` is the database's master key
    /// (a new database takes it).
    pub(super) fn new(
        inner: Arc<dyn Storage>,
        master: Arc<dyn KeyWrap>,
    ) -> Result<Self, StorageError> {
        let sealed = Sealed { inner, master };
        sealed.check_master_key()?;
        Ok(sealed)
    }

    /// A random key wrapped under [`keys::CHECK_OWNER`] when the database
    /// was first opened unwraps only with the same master key.
    fn check_master_key(&self) -> Result<(), StorageError> {
        let wrapped = match self.inner.wrapped_key(keys::CHECK_OWNER)? {
            Some(w) => w,
            None => {
                // A database made before encryption at rest holds its
                // records unsealed: refuse it rather than fail on each read.
                if !self.inner.children()?.is_empty() {
                    return Err(StorageError::MadeBeforeSealing);
                }
                let fresh = self.wrap_new(keys::CHECK_OWNER)?;
                self.inner
                    .keep_wrapped_key(keys::CHECK_OWNER, &fresh, crate::now())?
                    .unwrap_or(fresh)
            }
        };
        match self.master.unwrap(keys::CHECK_OWNER, &wrapped) {
            Ok(_) => Ok(()),
            Err(SealError::Open) => Err(StorageError::WrongMasterKey),
            Err(cause) => Err(sealed_err("master key check")(cause)),
        }
    }

    fn wrap_new(&self, owner: &str) -> Result<Vec<u8>, StorageError> {
        let key = SecretKey::random().map_err(sealed_err(format!("new data key of {owner}")))?;
        self.master
            .wrap(owner, &key)
            .map_err(sealed_err(format!("new data key of {owner}")))
    }

    fn unwrap(&self, owner: &str, wrapped: &[u8]) -> Result<DataKey, StorageError> {
        self.master
            .unwrap(owner, wrapped)
            .map_err(sealed_err(format!("data key of {owner}")))
    }

    /// `owner`'s data key, if it has one.
    fn key_to_read(&self, owner: &str) -> Result<Option<DataKey>, StorageError> {
        self.inner
            .wrapped_key(owner)?
            .map(|w| self.unwrap(owner, &w))
            .transpose()
    }

    /// `owner`'s data key, made now if it has none; `None` for an erased owner.
    fn key_to_write(&self, owner: &str) -> Result<Option<DataKey>, StorageError> {
        if let Some(wrapped) = self.inner.wrapped_key(owner)? {
            return self.unwrap(owner, &wrapped).map(Some);
        }
        let fresh = self.wrap_new(owner)?;
        match self.inner.keep_wrapped_key(owner, &fresh, crate::now())? {
            Some(kept) => self.unwrap(owner, &kept).map(Some),
            None => Ok(None),
        }
    }

    /// As [`Sealed::key_to_write`], an erased owner being an error.
    fn key_to_write_or_erased(&self, owner: &str) -> Result<DataKey, StorageError> {
        self.key_to_write(owner)?
            .ok_or_else(|| StorageError::Erased {
                owner: owner.to_owned(),
            })
    }

    fn seal_changes(
        &self,
        key: &DocKey,
        data_key: &DataKey,
        changes: &[NewChange],
    ) -> Result<Vec<NewChange>, StorageError> {
        changes
            .iter()
            .map(|c| {
                let hash = super::rows::hash_hex(&c.hash);
                Ok(NewChange {
                    hash: c.hash,
                    actor: c.actor.clone(),
                    bytes: data_key
                        .seal(&change_aad(key, &hash), &c.bytes)
                        .map_err(sealed_err(format!("change {hash} of {key}")))?,
                })
            })
            .collect()
    }

    fn seal_documents(&self, documents: &[NewDocument]) -> Result<Vec<NewDocument>, StorageError> {
        let mut keys = Keys::default();
        documents
            .iter()
            .map(|d| {
                let data_key = keys.for_writing(self, &owner(&d.key))?;
                Ok(NewDocument {
                    key: d.key,
                    changes: self.seal_changes(&d.key, data_key, &d.changes)?,
                })
            })
            .collect()
    }

    fn open_changes(
        &self,
        key: &DocKey,
        data_key: Option<&DataKey>,
        changes: Vec<StoredChange>,
    ) -> Result<Vec<StoredChange>, StorageError> {
        if changes.is_empty() {
            return Ok(changes);
        }
        let Some(data_key) = data_key else {
            return Err(StorageError::Sealed {
                what: format!("changes of {key} (no data key)"),
                cause: SealError::Open,
            });
        };
        changes
            .into_iter()
            .map(|c| {
                let hash = super::rows::hash_hex(&c.hash);
                Ok(StoredChange {
                    bytes: data_key
                        .open(&change_aad(key, &hash), &c.bytes)
                        .map_err(sealed_err(format!("change {hash} of {key}")))?,
                    ..c
                })
            })
            .collect()
    }

    fn seal_team_change(&self, c: &TeamChangeRecord) -> Result<TeamChangeRecord, StorageError> {
        let TeamAction::End { person, on, reason } = &c.action else {
            return Ok(c.clone());
        };
        let data_key = self.key_to_write_or_erased(&c.child.to_string())?;
        let sealed = data_key
            .seal(&reason_aad(c.id), reason.as_bytes())
            .map_err(sealed_err(format!("reason of team change {}", c.id)))?;
        Ok(TeamChangeRecord {
            action: TeamAction::End {
                person: *person,
                on: *on,
                reason: format!("{REASON_PREFIX}{}", BASE64.encode(sealed)),
            },
            ..c.clone()
        })
    }

    fn open_team_change(
        &self,
        c: TeamChangeRecord,
        data_key: Option<&DataKey>,
    ) -> Result<TeamChangeRecord, StorageError> {
        let TeamAction::End { person, on, reason } = &c.action else {
            return Ok(c);
        };
        let what = || format!("reason of team change {}", c.id);
        let sealed = reason
            .strip_prefix(REASON_PREFIX)
            .and_then(|b| BASE64.decode(b).ok())
            .ok_or_else(|| sealed_err(what())(SealError::Format))?;
        let data_key = data_key.ok_or_else(|| sealed_err(what())(SealError::Open))?;
        let plain = data_key
            .open(&reason_aad(c.id), &sealed)
            .map_err(sealed_err(what()))?;
        let reason = String::from_utf8(plain).map_err(|_| sealed_err(what())(SealError::Format))?;
        Ok(TeamChangeRecord {
            action: TeamAction::End {
                person: *person,
                on: *on,
                reason,
            },
            ..c
        })
    }
}

/// Data keys looked up once per operation, by owner.
#[derive(Default)]
struct Keys {
    found: HashMap<String, Option<DataKey>>,
}

impl Keys {
    fn for_reading(&mut self, s: &Sealed, owner: &str) -> Result<Option<&DataKey>, StorageError> {
        if !self.found.contains_key(owner) {
            let key = s.key_to_read(owner)?;
            self.found.insert(owner.to_owned(), key);
        }
        Ok(self.found.get(owner).and_then(Option::as_ref))
    }

    fn for_writing(&mut self, s: &Sealed, owner: &str) -> Result<&DataKey, StorageError> {
        if !matches!(self.found.get(owner), Some(Some(_))) {
            let key = s.key_to_write_or_erased(owner)?;
            self.found.insert(owner.to_owned(), Some(key));
        }
        self.found
            .get(owner)
            .and_then(Option::as_ref)
            .ok_or_else(|| StorageError::Erased {
                owner: owner.to_owned(),
            })
    }

    /// The key for writing, `None` for an erased owner.
    fn for_writing_unless_erased(
        &mut self,
        s: &Sealed,
        owner: &str,
    ) -> Result<Option<&DataKey>, StorageError> {
        if !self.found.contains_key(owner) || matches!(self.found.get(owner), Some(None)) {
            let key = s.key_to_write(owner)?;
            self.found.insert(owner.to_owned(), key);
        }
        Ok(self.found.get(owner).and_then(Option::as_ref))
    }
}

impl Storage for Sealed {
    fn add_person(&self, person: &PersonRecord) -> Result<(), StorageError> {
        self.inner.add_person(person)
    }
    fn person(&self, id: PersonId) -> Result<Option<PersonRecord>, StorageError> {
        self.inner.person(id)
    }
    fn people(&self) -> Result<Vec<PersonRecord>, StorageError> {
        self.inner.people()
    }

    fn add_child(
        &self,
        child: &ChildRecord,
        documents: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.inner
            .add_child(child, &self.seal_documents(documents)?, at)
    }
    fn child(&self, id: ChildId) -> Result<Option<ChildRecord>, StorageError> {
        self.inner.child(id)
    }
    fn children(&self) -> Result<Vec<ChildRecord>, StorageError> {
        self.inner.children()
    }
    fn set_team_member(
        &self,
        child: ChildId,
        person: PersonId,
        member: TeamMember,
        new_documents: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.inner.set_team_member(
            child,
            person,
            member,
            &self.seal_documents(new_documents)?,
            at,
        )
    }
    fn remove_team_member(&self, child: ChildId, person: PersonId) -> Result<bool, StorageError> {
        self.inner.remove_team_member(child, person)
    }
    fn team(&self, child: ChildId) -> Result<ChildTeam, StorageError> {
        self.inner.team(child)
    }
    fn children_with_members(
        &self,
        people: &BTreeSet<PersonId>,
    ) -> Result<Vec<ChildId>, StorageError> {
        self.inner.children_with_members(people)
    }
    fn set_supervisor(
        &self,
        supervisor: PersonId,
        supervisee: PersonId,
    ) -> Result<(), StorageError> {
        self.inner.set_supervisor(supervisor, supervisee)
    }
    fn supervisees(&self, supervisor: PersonId) -> Result<BTreeSet<PersonId>, StorageError> {
        self.inner.supervisees(supervisor)
    }

    fn add_enrol_code(
        &self,
        code_hash: &[u8],
        person: PersonId,
        expires_at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.inner.add_enrol_code(code_hash, person, expires_at)
    }
    fn redeem_enrol_code(
        &self,
        code_hash: &[u8],
        now: UnixSeconds,
        device: &NewDevice,
    ) -> Result<Option<DeviceRecord>, StorageError> {
        self.inner.redeem_enrol_code(code_hash, now, device)
    }
    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StorageError> {
        self.inner.device(id)
    }
    fn devices(&self) -> Result<Vec<DeviceRecord>, StorageError> {
        self.inner.devices()
    }
    fn revoke_device(&self, id: DeviceId, at: UnixSeconds) -> Result<bool, StorageError> {
        self.inner.revoke_device(id, at)
    }
    fn remember_nonce(
        &self,
        device: DeviceId,
        nonce: &[u8],
        expires_at: UnixSeconds,
        now: UnixSeconds,
    ) -> Result<bool, StorageError> {
        self.inner.remember_nonce(device, nonce, expires_at, now)
    }

    fn document_exists(&self, key: &DocKey) -> Result<bool, StorageError> {
        self.inner.document_exists(key)
    }
    fn documents_of_child(&self, child: ChildId) -> Result<Vec<DocKey>, StorageError> {
        self.inner.documents_of_child(child)
    }
    fn changes_after(&self, key: &DocKey, after: u64) -> Result<Vec<StoredChange>, StorageError> {
        let changes = self.inner.changes_after(key, after)?;
        if changes.is_empty() {
            return Ok(changes);
        }
        let data_key = self.key_to_read(&owner(key))?;
        self.open_changes(key, data_key.as_ref(), changes)
    }
    fn changed_among(
        &self,
        cursor: u64,
        device: DeviceId,
        among: &BTreeSet<DocKey>,
    ) -> Result<ChangedSince, StorageError> {
        self.inner.changed_among(cursor, device, among)
    }
    fn sync_state(&self, device: DeviceId, key: &DocKey) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.sync_state(device, key)
    }
    fn read_for_sync(
        &self,
        device: DeviceId,
        documents: &BTreeMap<DocKey, u64>,
        may_read: MayRead,
    ) -> Result<SyncReads, StorageError> {
        let mut reads = self.inner.read_for_sync(device, documents, may_read)?;
        let mut keys = Keys::default();
        for (key, doc) in reads.documents.iter_mut() {
            if doc.changes.is_empty() {
                continue;
            }
            let data_key = keys.for_reading(self, &owner(key))?;
            doc.changes = self.open_changes(key, data_key, std::mem::take(&mut doc.changes))?;
        }
        Ok(reads)
    }
    fn commit_sync_keeping_refused(
        &self,
        rounds: &[SyncRound],
        server: &[NewDocument],
        refused: &[NewRefusedChange],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        let mut keys = Keys::default();
        let mut sealed_rounds = Vec::with_capacity(rounds.len());
        for round in rounds {
            let accepted = if round.accepted.is_empty() {
                Vec::new()
            } else {
                let data_key = keys.for_writing(self, &owner(&round.key))?;
                self.seal_changes(&round.key, data_key, &round.accepted)?
            };
            sealed_rounds.push(SyncRound {
                accepted,
                ..round.clone()
            });
        }
        let mut sealed_server = Vec::with_capacity(server.len());
        for doc in server {
            let data_key = keys.for_writing(self, &owner(&doc.key))?;
            sealed_server.push(NewDocument {
                key: doc.key,
                changes: self.seal_changes(&doc.key, data_key, &doc.changes)?,
            });
        }
        let mut sealed_refused = Vec::with_capacity(refused.len());
        for r in refused {
            // Refused work for an erased case is not kept.
            let Some(data_key) = keys.for_writing_unless_erased(self, &owner(&r.key))? else {
                continue;
            };
            let hash = super::rows::hash_hex(&r.change.hash);
            let bytes = data_key
                .seal(&refused_aad(r.device, &r.key, &hash), &r.change.bytes)
                .map_err(sealed_err(format!("refused change {hash}")))?;
            sealed_refused.push(NewRefusedChange {
                change: NewChange {
                    bytes,
                    ..r.change.clone()
                },
                ..r.clone()
            });
        }
        self.inner
            .commit_sync_keeping_refused(&sealed_rounds, &sealed_server, &sealed_refused, at)
    }
    fn synced_documents(&self, device: DeviceId) -> Result<Vec<DocKey>, StorageError> {
        self.inner.synced_documents(device)
    }
    fn forget_synced_documents(
        &self,
        device: DeviceId,
        keys: &[DocKey],
    ) -> Result<(), StorageError> {
        self.inner.forget_synced_documents(device, keys)
    }

    fn quarantined(&self) -> Result<Vec<QuarantinedChange>, StorageError> {
        let mut keys = Keys::default();
        let mut out = Vec::new();
        for q in self.inner.quarantined()? {
            // Kept after its case was erased (a race with the erasure): unreadable, skipped.
            let Some(data_key) = keys.for_reading(self, &owner(&q.document))? else {
                continue;
            };
            let bytes = data_key
                .open(&offered_aad(q.device, &q.document), &q.bytes)
                .map_err(sealed_err(format!("offered change of {}", q.document)))?;
            out.push(QuarantinedChange { bytes, ..q });
        }
        Ok(out)
    }
    fn refused_changes(
        &self,
        people: Option<&BTreeSet<PersonId>>,
    ) -> Result<Vec<RefusedChange>, StorageError> {
        let mut keys = Keys::default();
        let mut out = Vec::new();
        for r in self.inner.refused_changes(people)? {
            let Some(data_key) = keys.for_reading(self, &owner(&r.document))? else {
                continue;
            };
            let bytes = data_key
                .open(&refused_aad(r.device, &r.document, &r.hash), &r.bytes)
                .map_err(sealed_err(format!("refused change {}", r.hash)))?;
            out.push(RefusedChange { bytes, ..r });
        }
        Ok(out)
    }
    fn keep_offered(
        &self,
        device: DeviceId,
        person: PersonId,
        key: &DocKey,
        changes: &[NewChange],
        reason: KeptReason,
        at: UnixSeconds,
    ) -> Result<u64, StorageError> {
        // Work offered for an erased case is not kept.
        let Some(data_key) = self.key_to_write(&owner(key))? else {
            return Ok(0);
        };
        let aad = offered_aad(device, key);
        let sealed = changes
            .iter()
            .map(|c| {
                Ok(NewChange {
                    bytes: data_key
                        .seal(&aad, &c.bytes)
                        .map_err(sealed_err(format!("offered change of {key}")))?,
                    ..c.clone()
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        self.inner
            .keep_offered(device, person, key, &sealed, reason, at)
    }

    fn record_team_change(
        &self,
        change: &TeamChangeRecord,
        effect: Option<TeamEffect>,
        new_documents: &[NewDocument],
    ) -> Result<bool, StorageError> {
        self.inner.record_team_change(
            &self.seal_team_change(change)?,
            effect,
            &self.seal_documents(new_documents)?,
        )
    }
    fn team_change(&self, id: ItemId) -> Result<Option<TeamChangeRecord>, StorageError> {
        let Some(c) = self.inner.team_change(id)? else {
            return Ok(None);
        };
        let data_key = self.key_to_read(&c.child.to_string())?;
        self.open_team_change(c, data_key.as_ref()).map(Some)
    }
    fn team_changes(&self, child: ChildId) -> Result<Vec<TeamChangeRecord>, StorageError> {
        let changes = self.inner.team_changes(child)?;
        let data_key = self.key_to_read(&child.to_string())?;
        changes
            .into_iter()
            .map(|c| self.open_team_change(c, data_key.as_ref()))
            .collect()
    }
    fn audit_of_child(&self, child: ChildId) -> Result<Vec<AuditEntry>, StorageError> {
        self.inner.audit_of_child(child)
    }

    fn set_duty(&self, person: PersonId, on: bool) -> Result<(), StorageError> {
        self.inner.set_duty(person, on)
    }
    fn duty_workers(&self, agency: Agency) -> Result<BTreeSet<PersonId>, StorageError> {
        self.inner.duty_workers(agency)
    }
    fn open_request(&self, request: &RequestRecord, at: UnixSeconds) -> Result<bool, StorageError> {
        self.inner.open_request(request, at)
    }
    fn request(&self, id: RequestId) -> Result<Option<RequestRecord>, StorageError> {
        self.inner.request(id)
    }
    fn requests_of(&self, people: &BTreeSet<PersonId>) -> Result<Vec<RequestRecord>, StorageError> {
        self.inner.requests_of(people)
    }
    fn link_request(&self, id: RequestId, child: ChildId) -> Result<(), StorageError> {
        self.inner.link_request(id, child)
    }
    fn audit_request(
        &self,
        id: RequestId,
        event: AuditEvent,
        by: Option<(DeviceId, PersonId)>,
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.inner.audit_request(id, event, by, at)
    }

    fn wrapped_key(&self, owner: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.wrapped_key(owner)
    }
    fn keep_wrapped_key(
        &self,
        owner: &str,
        wrapped: &[u8],
        at: UnixSeconds,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.keep_wrapped_key(owner, wrapped, at)
    }
    fn wrapped_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        self.inner.wrapped_keys()
    }
    fn rewrap_keys(&self, keys: &[(String, Vec<u8>, Vec<u8>)]) -> Result<(), StorageError> {
        self.inner.rewrap_keys(keys)
    }
    fn erase_child(
        &self,
        child: ChildId,
        by: &str,
        reason: &str,
        at: UnixSeconds,
    ) -> Result<Erased, StorageError> {
        self.inner.erase_child(child, by, reason, at)
    }
    fn erasures(&self) -> Result<Vec<ErasureRecord>, StorageError> {
        self.inner.erasures()
    }
    fn record_export(&self, export: &super::CaseExport) -> Result<(), StorageError> {
        self.inner.record_export(export)
    }
    fn exports(&self, child: ChildId) -> Result<Vec<super::CaseExport>, StorageError> {
        self.inner.exports(child)
    }
    fn close_case(&self, child: ChildId, on: IsoDate) -> Result<(), StorageError> {
        self.inner.close_case(child, on)
    }
    fn closed_cases(&self) -> Result<Vec<ClosedCase>, StorageError> {
        self.inner.closed_cases()
    }
}

/// Rewrap every data key of `storage` from `from` (the master key now in
/// use) to `to`, in one transaction: what `bothy-server rotate-master-key`
/// does. Returns how many keys were rewrapped (the check value included).
pub fn rewrap_all(
    storage: &dyn Storage,
    from: &dyn KeyWrap,
    to: &dyn KeyWrap,
) -> Result<usize, StorageError> {
    let mut rewrapped = Vec::new();
    for (owner, old) in storage.wrapped_keys()? {
        let key = from.unwrap(&owner, &old).map_err(|e| match e {
            SealError::Open => StorageError::WrongMasterKey,
            cause => sealed_err(format!("data key of {owner}"))(cause),
        })?;
        let new = to
            .wrap(&owner, &key)
            .map_err(sealed_err(format!("data key of {owner}")))?;
        rewrapped.push((owner, old, new));
    }
    storage.rewrap_keys(&rewrapped)?;
    Ok(rewrapped.len())
}
