//! What both backends share, so that each holds only its SQL and its
//! connections: how every value is spelled in a column and read back (the
//! row codecs), and the rules a write follows whatever the database
//! (existence checks, creating documents, what a sync round or a
//! quarantined offer stores and audits).
//!
//! A backend implements [`Columns`] for its result rows and [`Tx`] for its
//! write transaction; everything here is written once against those two.
//! The column order each decoder reads is given in its documentation; the
//! schemas are `migrations/sqlite/` and `migrations/postgres/`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use automerge::ChangeHash;
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{ChildTeam, PersonKind, TeamMember, TeamRole};

use super::{
    AuditEntry, AuditEvent, ChildRecord, DeviceRecord, NewChange, NewDocument, PersonRecord,
    QuarantinedChange, StorageError, StoredChange, SyncRound, UnixSeconds,
};

// ---------------------------------------------------------------- reading columns

/// A result row, read by column index. Both databases store every value
/// as one of these five shapes.
pub(super) trait Columns {
    fn text(&self, i: usize) -> Result<String, StorageError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StorageError>;
    fn int(&self, i: usize) -> Result<i64, StorageError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StorageError>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StorageError>;
}

/// A value this server cannot read, and why.
fn corrupt(
    what: &'static str,
    value: &str,
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> StorageError {
    StorageError::Corrupt {
        what,
        value: value.to_owned(),
        cause,
    }
}

/// A column holding the `Display` form of a Bothy or Automerge type.
pub(super) fn parse<T>(s: &str) -> Result<T, StorageError>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse()
        .map_err(|e| corrupt(std::any::type_name::<T>(), s, Some(Box::new(e))))
}

fn parse_opt<T>(s: Option<String>) -> Result<Option<T>, StorageError>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.as_deref().map(parse).transpose()
}

/// Column 0..: the sequence number at `i`.
pub(super) fn seq(row: &impl Columns, i: usize) -> Result<u64, StorageError> {
    seq_u64(row.int(i)?)
}

pub(super) fn seq_u64(seq: i64) -> Result<u64, StorageError> {
    u64::try_from(seq).map_err(|e| corrupt("sequence number", &seq.to_string(), Some(Box::new(e))))
}

/// A sequence number as the databases store it.
pub(super) fn seq_i64(seq: u64) -> i64 {
    // Sequences come from SQLite rowids or PostgreSQL's BIGINT counter, so
    // they fit; a cursor from a client beyond i64 clamps to "after
    // everything".
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// How a change hash is stored: lowercase hex.
pub(super) fn hash_hex(h: &ChangeHash) -> String {
    hex::encode(h.0)
}

/// How a person's kind is stored: its slug, and the child of a young person.
pub(super) fn kind_columns(kind: &PersonKind) -> (&'static str, Option<String>) {
    match kind {
        PersonKind::Practitioner => ("practitioner", None),
        PersonKind::Supervisor => ("supervisor", None),
        PersonKind::YoungPerson { child } => ("young-person", Some(child.to_string())),
    }
}

fn parse_kind(kind: &str, child: Option<String>) -> Result<PersonKind, StorageError> {
    match (kind, child) {
        ("practitioner", _) => Ok(PersonKind::Practitioner),
        ("supervisor", _) => Ok(PersonKind::Supervisor),
        ("young-person", Some(child)) => Ok(PersonKind::YoungPerson {
            child: parse(&child)?,
        }),
        ("young-person", None) => Err(corrupt("young person without a child", kind, None)),
        (other, _) => Err(corrupt("person kind", other, None)),
    }
}

/// `id, name, kind, agency, child` of `people`.
pub(super) fn person(row: &impl Columns) -> Result<PersonRecord, StorageError> {
    Ok(PersonRecord {
        id: parse(&row.text(0)?)?,
        name: row.text(1)?,
        kind: parse_kind(&row.text(2)?, row.opt_text(4)?)?,
        agency: parse_opt::<Agency>(row.opt_text(3)?)?,
    })
}

/// `id, name` of `children`.
pub(super) fn child(row: &impl Columns) -> Result<ChildRecord, StorageError> {
    Ok(ChildRecord {
        id: parse(&row.text(0)?)?,
        name: row.text(1)?,
    })
}

/// `id, person, name, public_key, enrolled_at, revoked_at` of `devices`.
pub(super) fn device(row: &impl Columns) -> Result<DeviceRecord, StorageError> {
    Ok(DeviceRecord {
        id: parse(&row.text(0)?)?,
        person: parse(&row.text(1)?)?,
        name: row.text(2)?,
        public_key: row.bytes(3)?,
        enrolled_at: row.int(4)?,
        revoked_at: row.opt_int(5)?,
    })
}

/// `person, agency, role` of `team_members`.
pub(super) fn team_member(row: &impl Columns) -> Result<(PersonId, TeamMember), StorageError> {
    let role = row.text(2)?;
    Ok((
        parse(&row.text(0)?)?,
        TeamMember {
            agency: parse(&row.text(1)?)?,
            role: TeamRole::from_slug(&role).ok_or_else(|| corrupt("team role", &role, None))?,
        },
    ))
}

/// `seq, hash, bytes` of `changes`.
pub(super) fn stored_change(row: &impl Columns) -> Result<StoredChange, StorageError> {
    Ok(StoredChange {
        seq: seq(row, 0)?,
        hash: parse(&row.text(1)?)?,
        bytes: row.bytes(2)?,
    })
}

/// The value at `i` read as an id or document key.
pub(super) fn key<T>(row: &impl Columns, i: usize) -> Result<T, StorageError>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    parse(&row.text(i)?)
}

/// `device, person, doc_key, bytes, received_at` of `quarantine`.
pub(super) fn quarantined(row: &impl Columns) -> Result<QuarantinedChange, StorageError> {
    Ok(QuarantinedChange {
        device: parse(&row.text(0)?)?,
        person: parse(&row.text(1)?)?,
        document: parse(&row.text(2)?)?,
        bytes: row.bytes(3)?,
        received_at: row.int(4)?,
    })
}

/// `at, event, doc_key, change_hash, actor, device, person` of `audit_log`.
pub(super) fn audit_entry(row: &impl Columns) -> Result<AuditEntry, StorageError> {
    let event = row.text(1)?;
    Ok(AuditEntry {
        at: row.int(0)?,
        event: AuditEvent::parse(&event).ok_or_else(|| corrupt("audit event", &event, None))?,
        document: parse(&row.text(2)?)?,
        change: row.opt_text(3)?,
        actor: row.opt_text(4)?,
        device: parse_opt(row.opt_text(5)?)?,
        person: parse_opt(row.opt_text(6)?)?,
    })
}

/// A child's team from its member rows and its young person.
pub(super) fn team(
    child: ChildId,
    members: impl IntoIterator<Item = (PersonId, TeamMember)>,
    young_person: Option<PersonId>,
) -> ChildTeam {
    ChildTeam {
        child,
        members: members.into_iter().collect(),
        young_person,
    }
}

// ---------------------------------------------------------------- writing rows

/// The values of one `audit_log` row, in column order: `at, event,
/// doc_key, child, change_hash, actor, device, person`.
#[derive(Debug)]
pub(super) struct AuditValues {
    pub at: UnixSeconds,
    pub event: &'static str,
    pub doc_key: String,
    pub child: String,
    pub change_hash: Option<String>,
    pub actor: Option<String>,
    pub device: Option<String>,
    pub person: Option<String>,
}

impl AuditValues {
    fn new(
        at: UnixSeconds,
        event: AuditEvent,
        key: &DocKey,
        change: Option<&NewChange>,
        by: Option<Author>,
    ) -> Self {
        AuditValues {
            at,
            event: event.as_str(),
            doc_key: key.to_string(),
            child: key.child().to_string(),
            change_hash: change.map(|c| hash_hex(&c.hash)),
            actor: change.map(|c| c.actor.to_hex_string()),
            device: by.map(|a| a.device.to_string()),
            person: by.map(|a| a.person.to_string()),
        }
    }
}

/// Who made a change: a device and its person (`None` for the server's own).
#[derive(Debug, Clone, Copy)]
pub(super) struct Author {
    pub device: DeviceId,
    pub person: PersonId,
}

/// A row that must exist before a write refers to it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Entity {
    Child(ChildId),
    Person(PersonId),
    Document(DocKey),
}

impl Entity {
    /// The row's key as stored.
    pub fn id(&self) -> String {
        match self {
            Entity::Child(c) => c.to_string(),
            Entity::Person(p) => p.to_string(),
            Entity::Document(k) => k.to_string(),
        }
    }

    pub fn not_found(self) -> StorageError {
        StorageError::NotFound {
            what: self.to_string(),
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::Child(c) => write!(f, "child {c}"),
            Entity::Person(p) => write!(f, "person {p}"),
            Entity::Document(k) => write!(f, "document {k}"),
        }
    }
}

/// An open write transaction: the statements the shared rules need. Each
/// backend writes these with its own SQL; the rules below decide when.
pub(super) trait Tx {
    type Error: From<StorageError>;

    fn exists(&mut self, what: Entity) -> Result<bool, Self::Error>;
    /// Insert a `documents` row; `false` if the document existed.
    fn insert_document(&mut self, key: &DocKey, at: UnixSeconds) -> Result<bool, Self::Error>;
    /// Insert the changes not stored yet (by hash), numbering them in
    /// order; returns the ones that were new.
    fn insert_changes<'c>(
        &mut self,
        key: &DocKey,
        changes: &'c [NewChange],
        by: Option<Author>,
        at: UnixSeconds,
    ) -> Result<Vec<&'c NewChange>, Self::Error>;
    /// Keep the round's sync state (replacing the device's earlier one) and
    /// mark the document synced by the device.
    fn save_sync_state(&mut self, round: &SyncRound) -> Result<(), Self::Error>;
    /// Put an offered change in quarantine; `false` if it was there.
    fn insert_quarantined(
        &mut self,
        by: Author,
        key: &DocKey,
        change: &NewChange,
        at: UnixSeconds,
    ) -> Result<bool, Self::Error>;
    fn insert_audit(&mut self, entry: &AuditValues) -> Result<(), Self::Error>;
}

/// `NotFound` unless the row exists.
pub(super) fn require<T: Tx>(tx: &mut T, what: Entity) -> Result<(), T::Error> {
    if tx.exists(what)? {
        Ok(())
    } else {
        Err(what.not_found().into())
    }
}

/// Create the documents of `child` that do not exist yet, each with its
/// first changes (the server's own) and a `document-created` audit entry.
/// Every document must be of `child`. Changes are stored after every other
/// row (a backend may hold a lock from its first change to the commit).
pub(super) fn create_documents<T: Tx>(
    tx: &mut T,
    child: ChildId,
    documents: &[NewDocument],
    at: UnixSeconds,
) -> Result<(), T::Error> {
    if let Some(doc) = documents.iter().find(|d| d.key.child() != child) {
        return Err(StorageError::DocumentOfAnotherChild {
            document: doc.key,
            child,
        }
        .into());
    }
    let mut created = Vec::new();
    for doc in documents {
        if tx.insert_document(&doc.key, at)? {
            created.push(doc);
        }
    }
    for doc in created {
        tx.insert_changes(&doc.key, &doc.changes, None, at)?;
        let entry = AuditValues::new(at, AuditEvent::DocumentCreated, &doc.key, None, None);
        tx.insert_audit(&entry)?;
    }
    Ok(())
}

/// Store the outcomes of a request's sync rounds (see
/// [`super::Storage::commit_sync_rounds`]): every document must exist; the
/// sync states first, then each round's new changes with their audit
/// entries ([`SyncRound::audit_events`]).
pub(super) fn commit_sync_rounds<T: Tx>(tx: &mut T, rounds: &[SyncRound]) -> Result<(), T::Error> {
    for round in rounds {
        require(tx, Entity::Document(round.key))?;
        tx.save_sync_state(round)?;
    }
    for round in rounds {
        let by = Author {
            device: round.device,
            person: round.person,
        };
        let fresh = tx.insert_changes(&round.key, &round.accepted, Some(by), round.at)?;
        for (event, change) in round.audit_events(fresh) {
            tx.insert_audit(&AuditValues::new(
                round.at,
                event,
                &round.key,
                change,
                Some(by),
            ))?;
        }
    }
    Ok(())
}

/// Quarantine a revoked device's offered changes, auditing each new one;
/// returns how many were new.
pub(super) fn quarantine<T: Tx>(
    tx: &mut T,
    by: Author,
    key: &DocKey,
    changes: &[NewChange],
    at: UnixSeconds,
) -> Result<u64, T::Error> {
    let mut fresh = 0;
    for change in changes {
        if tx.insert_quarantined(by, key, change, at)? {
            fresh += 1;
            tx.insert_audit(&AuditValues::new(
                at,
                AuditEvent::ChangeQuarantined,
                key,
                Some(change),
                Some(by),
            ))?;
        }
    }
    Ok(fresh)
}

// ---------------------------------------------------------------- the sync read

/// The children of the documents asked about, without repeats.
pub(super) fn children_of(documents: &BTreeMap<DocKey, u64>) -> Vec<ChildId> {
    let mut children: Vec<ChildId> = documents.keys().map(DocKey::child).collect();
    children.sort();
    children.dedup();
    children
}

/// The documents asked about whose child has a team and that the caller
/// may read, with the sequence to read their changes after.
pub(super) fn allowed(
    documents: &BTreeMap<DocKey, u64>,
    teams: &BTreeMap<ChildId, ChildTeam>,
    may_read: &super::MayRead,
) -> Vec<(DocKey, u64)> {
    documents
        .iter()
        .filter(|(key, _)| {
            teams
                .get(&key.child())
                .is_some_and(|team| may_read(key, team))
        })
        .map(|(key, after)| (*key, *after))
        .collect()
}
