//! The `demo` command's seed: the fictional partnership from
//! `bothy_shared::demo`, and a fresh enrolment code per demo person.
//!
//! Each person is printed as one line, `enrol ROLE AGENCY NAME CODE`:
//! ROLE is `practitioner`, `lead-professional`, `named-person`,
//! `supervisor`, `young-person` or `duty` (on their agency's duty team); AGENCY is the agency slug or `-`; NAME
//! has its spaces replaced by `_` so every line splits on whitespace into
//! exactly five fields; CODE is a one-time enrolment code.

use std::fmt;
use std::time::Duration;

use bothy_shared::demo;
use bothy_shared::ids::{Agency, PersonId};

use crate::auth::{self, CodeError};
use crate::directory::{self, DirectoryError};
use crate::storage::{ChildRecord, PersonRecord, Storage, StorageError, UnixSeconds};

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Code(#[from] CodeError),
}

/// The words ROLE may be.
const ROLES: [&str; 6] = [
    "practitioner",
    "lead-professional",
    "named-person",
    "supervisor",
    "young-person",
    "duty",
];

/// One demo person's enrolment line.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrolLine {
    pub person: PersonId,
    pub role: &'static str,
    pub agency: Option<Agency>,
    pub name: String,
    pub code: String,
}

impl fmt::Debug for EnrolLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrolLine")
            .field("person", &self.person)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for EnrolLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let agency = self.agency.map_or("-", Agency::as_str);
        let name: String = self.name.split_whitespace().collect::<Vec<_>>().join("_");
        write!(f, "enrol {} {} {} {}", self.role, agency, name, self.code)
    }
}

/// Seed the demo partnership if the database has no people and no children.
/// Returns whether it seeded.
pub fn seed_if_empty(storage: &dyn Storage, now: UnixSeconds) -> Result<bool, DemoError> {
    if !storage.people()?.is_empty() || !storage.children()?.is_empty() {
        return Ok(false);
    }
    let demo = demo::partnership();
    for child in &demo.children {
        let documents: Vec<_> = child
            .documents(&directory::server_actor())
            .map_err(DirectoryError::Document)?
            .iter()
            .map(|(key, doc)| directory::existing_document(*key, doc))
            .collect();
        storage.add_child(
            &ChildRecord {
                id: child.id,
                name: child.name.clone(),
            },
            &documents,
            now,
        )?;
    }
    for person in &demo.people {
        storage.add_person(&PersonRecord {
            id: person.id,
            name: person.name.clone(),
            kind: person.kind,
            agency: person.agency,
        })?;
    }
    for child in &demo.children {
        for (person, member) in &child.team.members {
            let key = bothy_shared::docs::DocKey::Agency(child.id, member.agency);
            let new_documents = if storage.document_exists(&key)? {
                Vec::new()
            } else {
                vec![directory::new_server_document(&key, &child.name)?]
            };
            storage.set_team_member(child.id, *person, *member, &new_documents, now)?;
        }
    }
    for person in &demo.people {
        for supervisee in &person.supervises {
            storage.set_supervisor(person.id, *supervisee)?;
        }
        if person.on_duty() {
            storage.set_duty(person.id, true)?;
        }
    }
    Ok(true)
}

/// A fresh one-time code for every demo person in the database, in the
/// demo's order.
pub fn enrol_lines(
    storage: &dyn Storage,
    ttl: Duration,
    now: UnixSeconds,
) -> Result<Vec<EnrolLine>, DemoError> {
    let mut lines = Vec::new();
    for person in demo::partnership().people {
        let Some(record) = storage.person(person.id)? else {
            continue;
        };
        let role = match ROLES.iter().find(|r| **r == person.role_label) {
            Some(role) => role,
            None => directory::role_word(storage, &record)?,
        };
        let code = auth::issue_enrol_code(storage, record.id, ttl, now)?;
        lines.push(EnrolLine {
            person: record.id,
            role,
            agency: record.agency,
            name: record.name,
            code,
        });
    }
    Ok(lines)
}
