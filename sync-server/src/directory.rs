//! The partnership's directory: who is who, who may read what, and the
//! administrator's operations on it (the admin CLI calls these).
//!
//! Whether a person may read or write a document is decided only by
//! [`AccessPolicy`] from `bothy_shared` (the same function the device calls);
//! this module gathers its inputs (the [`Principal`] and each child's
//! [`ChildTeam`]) from storage and the documents the server creates.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, Automerge};
use bothy_shared::docs::{self, ChildDetails, DocKey, PlanDoc, RecordDoc};
use bothy_shared::ids::{Agency, ChildId, PersonId};
use bothy_shared::policy::{AccessPolicy, ChildTeam, PersonKind, Principal, TeamMember, TeamRole};
use bothy_shared::wire::{
    ChildView, DeviceView, DirectoryView, PersonKindView, PersonView, TeamMemberView, TeamRoleView,
};

use crate::storage::{
    ChildRecord, DeviceRecord, NewChange, NewDocument, PersonRecord, Storage, StorageError,
    UnixSeconds,
};

/// The Automerge actor of changes the server itself makes (creating a
/// document): the one `bothy_shared` defines, so the demo's documents and
/// the admin CLI's agree.
pub fn server_actor() -> ActorId {
    bothy_shared::ids::server_actor()
}

/// Why an administrator's operation on the directory failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("a {0} must belong to an agency (--agency)")]
    AgencyRequired(&'static str),
    #[error("a young person has no agency")]
    YoungPersonHasNoAgency,
    #[error("no child {0}")]
    UnknownChild(ChildId),
    #[error("no person {0}")]
    UnknownPerson(PersonId),
    #[error("{0} is a young person: only practitioners and supervisors join a team")]
    NotAPractitioner(PersonId),
    #[error("could not create the document")]
    Document(#[source] docs::DocError),
    #[error("{0} is made on a device, never by the server")]
    DeviceMade(DocKey),
    #[error("the stored plan of child {0} does not load")]
    PlanUnreadable(ChildId),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Everything about a device's user that the access policy needs.
pub fn principal(
    storage: &dyn Storage,
    device: &DeviceRecord,
    person: &PersonRecord,
) -> Result<Principal, StorageError> {
    Ok(Principal {
        person: person.id,
        agency: person.agency,
        kind: person.kind,
        device: device.id,
        device_revoked: device.revoked_at.is_some(),
        supervises: storage.supervisees(person.id)?,
    })
}

/// One child a principal may read something of.
#[derive(Debug, Clone)]
pub struct ReadableChild {
    pub team: ChildTeam,
    /// Existing documents of the child the principal may read, in key order.
    pub documents: Vec<DocKey>,
}

/// Every child the principal may read a document of, with those documents.
///
/// Candidates are the children on whose team the person or anyone they
/// supervise sits, and a young person's own child; the policy then decides.
pub fn readable(storage: &dyn Storage, p: &Principal) -> Result<Vec<ReadableChild>, StorageError> {
    let mut people = p.supervises.clone();
    people.insert(p.person);
    let mut candidates: BTreeSet<ChildId> = storage
        .children_with_members(&people)?
        .into_iter()
        .collect();
    if let PersonKind::YoungPerson { child } = p.kind {
        candidates.insert(child);
    }
    let mut out = Vec::new();
    for child in candidates {
        let team = match storage.team(child) {
            Ok(team) => team,
            Err(StorageError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        let allowed: BTreeSet<DocKey> = AccessPolicy::readable(p, &team).into_iter().collect();
        if allowed.is_empty() {
            continue;
        }
        let documents: Vec<DocKey> = storage
            .documents_of_child(child)?
            .into_iter()
            .filter(|k| allowed.contains(k))
            .collect();
        if !documents.is_empty() {
            out.push(ReadableChild { team, documents });
        }
    }
    // Requests for help: filed under their own id, which is no child's.
    for (key, team) in crate::requests::readable(storage, p)? {
        out.push(ReadableChild {
            team,
            documents: vec![key],
        });
    }
    Ok(out)
}

/// The set of document keys the principal may read.
pub fn readable_keys(
    storage: &dyn Storage,
    p: &Principal,
) -> Result<BTreeSet<DocKey>, StorageError> {
    Ok(readable(storage, p)?
        .into_iter()
        .flat_map(|c| c.documents)
        .collect())
}

fn kind_view(kind: &PersonKind) -> (PersonKindView, Option<ChildId>) {
    match kind {
        PersonKind::Practitioner => (PersonKindView::Practitioner, None),
        PersonKind::Supervisor => (PersonKindView::Supervisor, None),
        PersonKind::YoungPerson { child } => (PersonKindView::YoungPerson, Some(*child)),
    }
}

fn person_view(p: &PersonRecord) -> PersonView {
    let (kind, child) = kind_view(&p.kind);
    PersonView {
        id: p.id,
        name: p.name.clone(),
        kind,
        agency: p.agency,
        child,
        duty: false,
    }
}

fn role_view(role: TeamRole) -> TeamRoleView {
    match role {
        TeamRole::Member => TeamRoleView::Member,
        TeamRole::LeadProfessional => TeamRoleView::LeadProfessional,
        TeamRole::NamedPerson => TeamRoleView::NamedPerson,
    }
}

/// What the directory shows this person: themselves, whom they supervise,
/// and the children they may read documents of, with their teams.
pub fn directory_view(
    storage: &dyn Storage,
    p: &Principal,
    me: &PersonRecord,
) -> Result<DirectoryView, StorageError> {
    let mut names: BTreeMap<PersonId, Option<PersonRecord>> = BTreeMap::new();
    let mut lookup = |id: PersonId| -> Result<Option<PersonRecord>, StorageError> {
        if let Some(found) = names.get(&id) {
            return Ok(found.clone());
        }
        let found = storage.person(id)?;
        names.insert(id, found.clone());
        Ok(found)
    };
    let mut supervises = Vec::new();
    for id in &p.supervises {
        if let Some(person) = lookup(*id)? {
            supervises.push(person_view(&person));
        }
    }
    let mut children = Vec::new();
    for c in readable(storage, p)? {
        let Some(child) = storage.child(c.team.child)? else {
            continue;
        };
        let mut team = Vec::new();
        for (id, member) in &c.team.members {
            let name = lookup(*id)?.map(|p| p.name).unwrap_or_default();
            team.push(TeamMemberView {
                person: *id,
                name,
                agency: member.agency,
                role: role_view(member.role),
            });
        }
        children.push(ChildView {
            id: child.id,
            name: child.name,
            documents: c.documents,
            team,
            young_person: c.team.young_person,
        });
    }
    // Devices of everyone shown, so the device can attribute changes.
    let mut shown: BTreeSet<PersonId> = p.supervises.clone();
    shown.insert(me.id);
    shown.extend(
        children
            .iter()
            .flat_map(|c| c.team.iter().map(|m| m.person)),
    );
    shown.extend(children.iter().filter_map(|c| c.young_person));
    let devices = storage
        .devices()?
        .into_iter()
        .filter(|d| shown.contains(&d.person))
        .map(|d| DeviceView {
            device: d.id,
            person: d.person,
        })
        .collect();
    let duty = match me.agency {
        Some(agency) => storage.duty_workers(agency)?.contains(&me.id),
        None => false,
    };
    Ok(DirectoryView {
        me: PersonView {
            duty,
            ..person_view(me)
        },
        supervises,
        children,
        devices,
        colleagues: colleagues(storage, p)?,
    })
}

/// The partnership's practitioners and supervisors, whom a team can be
/// given (`/v1/team`); nobody's for a young person, and never a young person.
fn colleagues(storage: &dyn Storage, p: &Principal) -> Result<Vec<PersonView>, StorageError> {
    if matches!(p.kind, PersonKind::YoungPerson { .. }) {
        return Ok(Vec::new());
    }
    Ok(storage
        .people()?
        .iter()
        .filter(|c| !matches!(c.kind, PersonKind::YoungPerson { .. }))
        .map(person_view)
        .collect())
}

// ---------------------------------------------------------------- administration

fn document_changes(doc: &Automerge) -> Vec<NewChange> {
    doc.get_changes(&[])
        .iter()
        .map(NewChange::from_change)
        .collect()
}

/// A new, empty document for `key`, created by the server's actor.
pub fn new_server_document(key: &DocKey, child_name: &str) -> Result<NewDocument, DirectoryError> {
    let child = key.child();
    let doc = match key {
        DocKey::Plan(_) => {
            let details = ChildDetails {
                name: child_name.to_owned(),
                ..Default::default()
            };
            docs::new_document(key, &PlanDoc::new(child, details), server_actor())
        }
        DocKey::Record(_) => docs::new_document(key, &RecordDoc::new(child, None), server_actor()),
        DocKey::Agency(_, agency) => {
            docs::new_document(key, &RecordDoc::new(child, Some(*agency)), server_actor())
        }
        DocKey::Request(_) => return Err(DirectoryError::DeviceMade(*key)),
        DocKey::Young(..) => {
            let details = ChildDetails {
                name: child_name.to_owned(),
                ..Default::default()
            };
            docs::new_document(
                key,
                &docs::young_copy(&PlanDoc::new(child, details)),
                server_actor(),
            )
        }
    }
    .map_err(DirectoryError::Document)?;
    Ok(NewDocument {
        key: *key,
        changes: document_changes(&doc),
    })
}

/// A document the caller already built (the demo's), stored as is.
pub fn existing_document(key: DocKey, doc: &Automerge) -> NewDocument {
    NewDocument {
        key,
        changes: document_changes(doc),
    }
}

/// Add a person to the directory.
pub fn add_person(
    storage: &dyn Storage,
    id: PersonId,
    name: &str,
    kind: PersonKind,
    agency: Option<Agency>,
) -> Result<PersonRecord, DirectoryError> {
    match (&kind, agency) {
        (PersonKind::Practitioner, None) => {
            return Err(DirectoryError::AgencyRequired("practitioner"));
        }
        (PersonKind::Supervisor, None) => return Err(DirectoryError::AgencyRequired("supervisor")),
        (PersonKind::YoungPerson { .. }, Some(_)) => {
            return Err(DirectoryError::YoungPersonHasNoAgency);
        }
        (PersonKind::YoungPerson { child }, None) if storage.child(*child)?.is_none() => {
            return Err(DirectoryError::UnknownChild(*child));
        }
        _ => {}
    }
    let person = PersonRecord {
        id,
        name: name.to_owned(),
        kind,
        agency,
    };
    storage.add_person(&person)?;
    if let PersonKind::YoungPerson { child } = kind {
        ensure_young_copy(storage, child, crate::now())?;
    }
    Ok(person)
}

/// Give a child with a young person's account the first copy of their plan
/// (`young/<child>/1`, projected from the plan as stored) if it has none.
pub fn ensure_young_copy(
    storage: &dyn Storage,
    child: ChildId,
    now: UnixSeconds,
) -> Result<(), DirectoryError> {
    let team = storage.team(child)?;
    if team.young_person.is_none() || team.young_copy.is_some() {
        return Ok(());
    }
    let plan_key = DocKey::Plan(child);
    let mut plan = Automerge::new();
    for stored in storage.changes_after(&plan_key, 0)? {
        let change = automerge::Change::from_bytes(stored.bytes)
            .map_err(|_| DirectoryError::PlanUnreadable(child))?;
        plan.apply_changes([change])
            .map_err(|_| DirectoryError::PlanUnreadable(child))?;
    }
    let plan: PlanDoc = docs::read_document(&plan, &plan_key).map_err(DirectoryError::Document)?;
    let key = DocKey::Young(child, 1);
    let doc = docs::new_document(&key, &docs::young_copy(&plan), server_actor())
        .map_err(DirectoryError::Document)?;
    storage.commit_sync(&[], &[existing_document(key, &doc)], now)?;
    Ok(())
}

/// Add a child, creating their plan and team record with the server's actor.
pub fn add_child(
    storage: &dyn Storage,
    id: ChildId,
    name: &str,
    now: UnixSeconds,
) -> Result<ChildRecord, DirectoryError> {
    let documents = [
        new_server_document(&DocKey::Plan(id), name)?,
        new_server_document(&DocKey::Record(id), name)?,
    ];
    let child = ChildRecord {
        id,
        name: name.to_owned(),
    };
    storage.add_child(&child, &documents, now)?;
    Ok(child)
}

/// Put a practitioner or supervisor on a child's team with a role; the
/// first member of an agency brings that agency's record into being.
pub fn add_team_member(
    storage: &dyn Storage,
    child: ChildId,
    person: PersonId,
    role: TeamRole,
    now: UnixSeconds,
) -> Result<(), DirectoryError> {
    let child_record = storage
        .child(child)?
        .ok_or(DirectoryError::UnknownChild(child))?;
    let person_record = storage
        .person(person)?
        .ok_or(DirectoryError::UnknownPerson(person))?;
    let agency = match (&person_record.kind, person_record.agency) {
        (PersonKind::YoungPerson { .. }, _) | (_, None) => {
            return Err(DirectoryError::NotAPractitioner(person));
        }
        (_, Some(agency)) => agency,
    };
    let new_documents = agency_record_if_new(storage, &child_record, agency)?;
    storage.set_team_member(
        child,
        person,
        TeamMember { agency, role },
        &new_documents,
        now,
    )?;
    Ok(())
}

/// The agency's record of the child, to create when the agency's first
/// practitioner joins the team; nothing if it exists.
pub fn agency_record_if_new(
    storage: &dyn Storage,
    child: &ChildRecord,
    agency: Agency,
) -> Result<Vec<NewDocument>, DirectoryError> {
    let key = DocKey::Agency(child.id, agency);
    Ok(if storage.document_exists(&key)? {
        Vec::new()
    } else {
        vec![new_server_document(&key, &child.name)?]
    })
}

/// Record that `supervisor` supervises `supervisee`.
pub fn set_supervisor(
    storage: &dyn Storage,
    supervisor: PersonId,
    supervisee: PersonId,
) -> Result<(), DirectoryError> {
    for id in [supervisor, supervisee] {
        if storage.person(id)?.is_none() {
            return Err(DirectoryError::UnknownPerson(id));
        }
    }
    storage.set_supervisor(supervisor, supervisee)?;
    Ok(())
}

/// The role word a person is introduced by (demo and CLI output): their kind,
/// or for a practitioner their most senior role on any team.
pub fn role_word(
    storage: &dyn Storage,
    person: &PersonRecord,
) -> Result<&'static str, StorageError> {
    Ok(match person.kind {
        PersonKind::YoungPerson { .. } => "young-person",
        PersonKind::Supervisor => "supervisor",
        PersonKind::Practitioner => {
            let mut word = "practitioner";
            for child in storage.children_with_members(&BTreeSet::from([person.id]))? {
                match storage.team(child)?.members.get(&person.id).map(|m| m.role) {
                    Some(TeamRole::LeadProfessional) => return Ok("lead-professional"),
                    Some(TeamRole::NamedPerson) => word = "named-person",
                    _ => {}
                }
            }
            word
        }
    })
}
