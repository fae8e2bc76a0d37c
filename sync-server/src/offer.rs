//! `POST /v1/offer` without the HTTP: work a device offers instead of
//! syncing it (its device was revoked, or its person left a child's team),
//! kept in quarantine for a person to decide, never applied.
//!
//! Authorised like `/v1/sync`: a document is offered only if the device's
//! person could write it were the device not revoked, or (they left the
//! team) the device has synced it and the person may no longer read it.
//! Anything else refuses the whole offer before anything is kept or
//! audited, so no child's trail records work from someone who never had
//! access to the child. Bounded like it too: changes per request, each
//! change's operations (`gate::limits`), and what one device may have kept
//! in all (`wire::MAX_OFFERED_*_PER_DEVICE`).

use std::collections::{BTreeSet, HashMap};

use automerge::{Change, ChangeHash};
use bothy_shared::docs::{self, DocKey};
use bothy_shared::gate::limits::MAX_OPS_PER_CHANGE;
use bothy_shared::ids::{DeviceId, PersonId};
use bothy_shared::policy::{AccessPolicy, ChildTeam, PersonKind, Principal, Rule};
use bothy_shared::robust;
use bothy_shared::wire::{
    KeptReason, MAX_CHANGES_PER_REQUEST, MAX_OFFERED_BYTES_PER_DEVICE,
    MAX_OFFERED_CHANGES_PER_DEVICE, OfferRequest,
};

use crate::requests;
use crate::storage::{NewChange, Storage, StorageError, UnixSeconds};

/// Why an offer was refused as a whole (nothing of it is kept).
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("at most {MAX_CHANGES_PER_REQUEST} changes per request")]
    TooManyChanges,
    #[error(
        "this device has {MAX_OFFERED_CHANGES_PER_DEVICE} changes or {MAX_OFFERED_BYTES_PER_DEVICE} bytes kept already: ask an administrator to review them"
    )]
    DeviceFull,
    #[error("{key} is not a document this person could write ({rule})")]
    NotWritable { key: DocKey, rule: Rule },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Who offers: the device, its person, and the policy's view of them.
#[derive(Debug)]
pub struct Offerer<'a> {
    pub device: DeviceId,
    pub person: PersonId,
    pub principal: &'a Principal,
}

/// Keep the changes of `request` that are well formed, made on the device
/// and within the per-change limit; how many it holds now for this offer.
pub fn keep_offer(
    storage: &dyn Storage,
    by: &Offerer<'_>,
    request: OfferRequest,
    now: UnixSeconds,
) -> Result<u64, OfferError> {
    let carried: usize = request.docs.iter().map(|d| d.changes.len()).sum();
    if carried > MAX_CHANGES_PER_REQUEST {
        return Err(OfferError::TooManyChanges);
    }

    // Every document authorised before anything is decoded or kept.
    let synced: BTreeSet<DocKey> = storage.synced_documents(by.device)?.into_iter().collect();
    let mut reasons = Vec::with_capacity(request.docs.len());
    for doc in &request.docs {
        reasons.push(reason(storage, by.principal, &doc.key, &synced)?);
    }

    // Only well-formed changes made on this device, within the gate's
    // per-change limit, are kept; the rest are dropped, as before.
    let actor = by.device.actor_id();
    let offered: Vec<Vec<NewChange>> = request
        .docs
        .iter()
        .map(|doc| {
            doc.changes
                .iter()
                .filter_map(|bytes| robust::parse_change(bytes).ok())
                .filter(|c: &Change| *c.actor_id() == actor && c.len() <= MAX_OPS_PER_CHANGE)
                .map(|c| NewChange::from_change(&c))
                .collect()
        })
        .collect();

    // What the device has kept already, by hash: a retried offer adds nothing.
    let held: HashMap<ChangeHash, usize> = storage
        .quarantined()?
        .into_iter()
        .filter(|q| q.device == by.device)
        .filter_map(|q| {
            robust::parse_change(&q.bytes)
                .ok()
                .map(|c| (c.hash(), q.bytes.len()))
        })
        .collect();
    let mut count = held.len();
    let mut bytes: usize = held.values().sum();
    let mut new = BTreeSet::new();
    for c in offered.iter().flatten() {
        if !held.contains_key(&c.hash) && new.insert(c.hash) {
            count += 1;
            bytes += c.bytes.len();
        }
    }
    if count > MAX_OFFERED_CHANGES_PER_DEVICE || bytes > MAX_OFFERED_BYTES_PER_DEVICE {
        return Err(OfferError::DeviceFull);
    }

    let mut received = 0u64;
    for ((doc, changes), reason) in request.docs.iter().zip(&offered).zip(reasons) {
        storage.keep_offered(by.device, by.person, &doc.key, changes, reason, now)?;
        // Count what is held, new or kept by an earlier try, so a retried
        // offer reports the same.
        received += u64::try_from(changes.len()).unwrap_or(u64::MAX);
    }
    Ok(received)
}

/// Why `key` is offered, if `p` may offer it at all: the policy as if the
/// device were not revoked (a revoked device may do nothing else, and the
/// question is whether its person could have written this).
fn reason(
    storage: &dyn Storage,
    p: &Principal,
    key: &DocKey,
    synced: &BTreeSet<DocKey>,
) -> Result<KeptReason, OfferError> {
    let person = Principal {
        device_revoked: false,
        ..p.clone()
    };
    let refuse = |rule| Err(OfferError::NotWritable { key: *key, rule });
    let (writes, reads) = match team_of(storage, &person, key)? {
        Some(team) => (
            AccessPolicy::can_write(&person, key, &team).map_err(|d| d.rule),
            AccessPolicy::can_read(&person, key, &team).is_ok(),
        ),
        // A child this server no longer knows (the case was erased): nobody
        // writes or reads it, so a device that held it offers its unsynced
        // work as a leaver does and may then forget the child. Storage keeps
        // nothing for an erased case (its key is gone) and audits nothing.
        None => (Err(Rule::WriteScope), false),
    };
    match writes {
        Ok(()) if p.device_revoked => Ok(KeptReason::Revoked),
        Ok(()) if reads => Ok(KeptReason::Offered),
        // Left the team: the device held the document when they could.
        _ if !reads && synced.contains(key) => Ok(if p.device_revoked {
            KeptReason::Revoked
        } else {
            KeptReason::LeftTeam
        }),
        Ok(()) => Ok(KeptReason::Offered),
        Err(rule) => refuse(rule),
    }
}

/// The audience `key` is judged against: the child's team, or a request's
/// own (a request never filed: one this practitioner is opening).
fn team_of(
    storage: &dyn Storage,
    p: &Principal,
    key: &DocKey,
) -> Result<Option<ChildTeam>, StorageError> {
    if let Some(id) = key.request() {
        return Ok(match storage.request(id)? {
            Some(record) => Some(requests::team(storage, &record)?),
            None => match (p.kind, p.agency) {
                (PersonKind::Practitioner, Some(agency)) => Some(docs::request_team(
                    id,
                    p.person,
                    agency,
                    agency,
                    &BTreeSet::new(),
                )),
                _ => None,
            },
        });
    }
    match storage.team(key.child()) {
        Ok(team) => Ok(Some(team)),
        Err(StorageError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
