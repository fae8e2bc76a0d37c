//! Requests for help on the server: who reads a request, filing a new one,
//! what the server does when a step passes the gate, and the duty worker's
//! match check.
//!
//! A request's audience is a team of its own ([`docs::request_team`]): the
//! sender and the receiving agency's duty workers (from the directory's
//! duty table), and through them their supervisors. The sender's device
//! makes the document; the first sync that carries it files the request
//! ([`Storage::open_request`]) in the same request as its changes are
//! stored. Every step that passes the gate is audited; an accepted step
//! makes its directory effect once stored ([`after_commit`]): the child is
//! created (a new child, with the name and date of birth the request gives)
//! or found (an existing one), and the sender and the accepting duty worker
//! join the team, so their next `/v1/changed` lists the child's plan and
//! record under `new`. The effect is idempotent and is tried again whenever
//! the request is synced while it is accepted and not yet linked.

use std::collections::{BTreeMap, BTreeSet};

use automerge::Automerge;
use bothy_shared::docs::{
    self, ChildDetails, DocKey, PlanDoc, RequestDoc, RequestStep, read_document,
};
use bothy_shared::ids::{ChildId, RequestId};
use bothy_shared::policy::{AccessPolicy, ChildTeam, PersonKind, Principal, TeamRole};
use bothy_shared::wire::ChildMatch;

use crate::directory::{self, DirectoryError, existing_document, new_server_document};
use crate::storage::{
    AuditEvent, ChildRecord, DocumentReads, RequestRecord, Storage, StorageError, UnixSeconds,
};

/// Why a request operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no request {0} this person may read")]
    Unknown(RequestId),
    #[error("only a duty worker of the receiving agency checks a request's matches")]
    NotDuty,
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The audience of a filed request.
pub fn team(storage: &dyn Storage, record: &RequestRecord) -> Result<ChildTeam, StorageError> {
    let duty = storage.duty_workers(record.to)?;
    Ok(docs::request_team(
        record.id,
        record.sender,
        record.sender_agency,
        record.to,
        &duty,
    ))
}

/// Every filed request `p` may read, with its audience.
pub fn readable(
    storage: &dyn Storage,
    p: &Principal,
) -> Result<Vec<(DocKey, ChildTeam)>, StorageError> {
    if matches!(p.kind, PersonKind::YoungPerson { .. }) {
        return Ok(Vec::new());
    }
    let mut people = p.supervises.clone();
    people.insert(p.person);
    let mut out = Vec::new();
    for record in storage.requests_of(&people)? {
        let key = DocKey::Request(record.id);
        let team = team(storage, &record)?;
        if AccessPolicy::can_read(p, &key, &team).is_ok() {
            out.push((key, team));
        }
    }
    Ok(out)
}

/// What `/v1/sync` needs of the requests among `wanted`: each filed one
/// `p` may read or write goes into `teams` and `documents` as a child's
/// document would; a request not filed yet that a practitioner sends is
/// being opened: its audience is the sender alone until the gate has read
/// it (the gate checks it is theirs), and it starts from nothing. Returns
/// the records of the filed ones and the keys being opened.
pub fn read_for_sync(
    storage: &dyn Storage,
    p: &Principal,
    wanted: &BTreeMap<DocKey, u64>,
    teams: &mut BTreeMap<ChildId, ChildTeam>,
    documents: &mut BTreeMap<DocKey, DocumentReads>,
) -> Result<(BTreeMap<DocKey, RequestRecord>, BTreeSet<DocKey>), StorageError> {
    let mut filed = BTreeMap::new();
    let mut opening = BTreeSet::new();
    for (key, after) in wanted {
        let Some(id) = key.request() else { continue };
        match storage.request(id)? {
            Some(record) => {
                let team = team(storage, &record)?;
                if AccessPolicy::can_read(p, key, &team).is_err()
                    && AccessPolicy::can_write(p, key, &team).is_err()
                {
                    continue;
                }
                documents.insert(
                    *key,
                    DocumentReads {
                        changes: storage.changes_after(key, *after)?,
                        sync_state: storage.sync_state(p.device, key)?,
                    },
                );
                teams.insert(key.child(), team);
                filed.insert(*key, record);
            }
            None => {
                let (PersonKind::Practitioner, Some(agency)) = (p.kind, p.agency) else {
                    continue;
                };
                let alone = BTreeSet::new();
                let team = docs::request_team(id, p.person, agency, agency, &alone);
                documents.insert(*key, DocumentReads::default());
                teams.insert(key.child(), team);
                opening.insert(*key);
            }
        }
    }
    Ok((filed, opening))
}

/// The record of a request being opened, from the document the gate let
/// through.
pub fn record_of(key: &DocKey, doc: &Automerge) -> Option<RequestRecord> {
    let request: RequestDoc = read_document(doc, key).ok()?;
    Some(RequestRecord {
        id: request.request_id,
        sender: request.from.person,
        sender_agency: request.from.agency,
        to: request.to,
        child: None,
    })
}

/// Once a request's changes are stored: audit each new step, and make an
/// acceptance's directory effect if it has not been made.
pub fn after_commit(
    storage: &dyn Storage,
    p: &Principal,
    key: &DocKey,
    before: &Automerge,
    after: &Automerge,
    record: Option<RequestRecord>,
    now: UnixSeconds,
) -> Result<(), RequestError> {
    let Some(id) = key.request() else {
        return Ok(());
    };
    let Ok(now_doc) = read_document::<RequestDoc, _>(after, key) else {
        return Ok(());
    };
    let was: Option<RequestDoc> = read_document(before, key).ok();
    for step in now_doc.steps_in_order() {
        if was.as_ref().is_some_and(|w| w.steps.contains_key(&step.id)) {
            continue;
        }
        storage.audit_request(
            id,
            AuditEvent::Request(step.kind),
            Some((p.device, p.person)),
            now,
        )?;
    }
    let linked = record.and_then(|r| r.child);
    if let (None, Some(step)) = (linked, now_doc.accepted()) {
        accept(storage, &now_doc, step, now)?;
    }
    Ok(())
}

/// An accepted request's directory effect: the child (created if new),
/// the sender and the acceptor on its team, the request linked to it.
fn accept(
    storage: &dyn Storage,
    request: &RequestDoc,
    step: &RequestStep,
    now: UnixSeconds,
) -> Result<(), RequestError> {
    let Some(child) = step.child else {
        return Ok(());
    };
    if storage.child(child)?.is_none() {
        if !step.new_child {
            // The gate cannot see the directory: an acceptance naming a
            // child that does not exist links nothing.
            tracing::warn!(request = %request.request_id, "an accepted request names no known child");
            return Ok(());
        }
        create_child(storage, child, request, now)?;
    }
    let team = storage.team(child)?;
    for person in [request.from.person, step.by] {
        if !team.members.contains_key(&person) {
            directory::add_team_member(storage, child, person, TeamRole::Member, now)?;
        }
    }
    storage.link_request(request.request_id, child)?;
    storage.audit_request(request.request_id, AuditEvent::RequestLinked, None, now)?;
    Ok(())
}

/// A child new to Bothy, from a request: their plan (name and date of
/// birth only: the request's words stay in the request) and team record.
fn create_child(
    storage: &dyn Storage,
    child: ChildId,
    request: &RequestDoc,
    now: UnixSeconds,
) -> Result<(), RequestError> {
    let details = ChildDetails {
        name: request.about.name.clone(),
        date_of_birth: request.about.date_of_birth,
        ..Default::default()
    };
    let plan_key = DocKey::Plan(child);
    let plan = docs::new_document(
        &plan_key,
        &PlanDoc::new(child, details),
        directory::server_actor(),
    )
    .map_err(DirectoryError::Document)?;
    let documents = [
        existing_document(plan_key, &plan),
        new_server_document(&DocKey::Record(child), &request.about.name)?,
    ];
    let record = ChildRecord {
        id: child,
        name: request.about.name.clone(),
    };
    match storage.add_child(&record, &documents, now) {
        Ok(()) | Err(StorageError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The duty worker's match check: the children already in Bothy who might
/// be the one `id` is about (the same date of birth, or a name that shares
/// a word with the request's), each with only what the check needs: name
/// and date of birth. Audited; only a duty worker of the receiving agency
/// may ask, so the sender never sees it.
pub fn matches(
    storage: &dyn Storage,
    cache: &crate::sync::DocCache,
    p: &Principal,
    id: RequestId,
    now: UnixSeconds,
) -> Result<Vec<ChildMatch>, RequestError> {
    let key = DocKey::Request(id);
    let record = storage.request(id)?.ok_or(RequestError::Unknown(id))?;
    let team = team(storage, &record)?;
    let doc = cache
        .load(storage, &key)
        .map_err(|_| RequestError::Unknown(id))?;
    let request: RequestDoc = read_document(&doc, &key).map_err(|_| RequestError::Unknown(id))?;
    if request.side_of(p.person, &team) != Some(docs::RequestSide::Duty) {
        return Err(RequestError::NotDuty);
    }
    let words: BTreeSet<String> = words(&request.about.name);
    let mut out = Vec::new();
    for child in storage.children()? {
        let plan_key = DocKey::Plan(child.id);
        let born = cache
            .load(storage, &plan_key)
            .ok()
            .and_then(|d| read_document::<PlanDoc, _>(&d, &plan_key).ok())
            .and_then(|plan| plan.child.date_of_birth);
        let same_birthday = born.is_some() && born == request.about.date_of_birth;
        let shares_a_name = !words.is_disjoint(&self::words(&child.name));
        if same_birthday || shares_a_name {
            out.push(ChildMatch {
                child: child.id,
                name: child.name,
                date_of_birth: born.map(|d| d.to_string()),
            });
        }
    }
    storage.audit_request(id, AuditEvent::MatchCheck, Some((p.device, p.person)), now)?;
    Ok(out)
}

fn words(name: &str) -> BTreeSet<String> {
    name.split_whitespace().map(str::to_lowercase).collect()
}
