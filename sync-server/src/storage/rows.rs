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
use bothy_shared::policy::{ChildTeam, PersonKind, Rule, TeamMember, TeamRole};
use bothy_shared::team::{TeamAction, TeamEffect};
use bothy_shared::wire::KeptReason;

use super::{
    AuditEntry, AuditEvent, ChildRecord, DeviceRecord, NewChange, NewDocument, NewRefusedChange,
    PersonRecord, QuarantinedChange, RefusedChange, StorageError, StoredChange, SyncRound,
    TeamChangeRecord, UnixSeconds,
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

/// `id, sender, sender_agency, to_agency, child` of `requests`.
pub(super) fn request(row: &impl Columns) -> Result<super::RequestRecord, StorageError> {
    Ok(super::RequestRecord {
        id: parse(&row.text(0)?)?,
        sender: parse(&row.text(1)?)?,
        sender_agency: parse(&row.text(2)?)?,
        to: parse(&row.text(3)?)?,
        child: parse_opt(row.opt_text(4)?)?,
    })
}

/// The audit entry of something that happened to a request.
pub(super) fn request_audit(
    id: bothy_shared::ids::RequestId,
    event: AuditEvent,
    by: Option<(DeviceId, PersonId)>,
    at: UnixSeconds,
) -> AuditValues {
    let by = by.map(|(device, person)| Author { device, person });
    AuditValues::new(at, event, &DocKey::Request(id), None, by)
}

/// The `child` column of a document's row: `NULL` for a request for help.
pub(super) fn document_child(key: &DocKey) -> Option<String> {
    key.child_case().map(|c| c.to_string())
}

/// `device, person, doc_key, bytes, received_at, reason` of `quarantine`.
pub(super) fn quarantined(row: &impl Columns) -> Result<QuarantinedChange, StorageError> {
    let reason = row.text(5)?;
    Ok(QuarantinedChange {
        device: parse(&row.text(0)?)?,
        person: parse(&row.text(1)?)?,
        document: parse(&row.text(2)?)?,
        bytes: row.bytes(3)?,
        received_at: row.int(4)?,
        reason: KeptReason::from_slug(&reason)
            .ok_or_else(|| corrupt("kept reason", &reason, None))?,
    })
}

/// `device, person, doc_key, hash, rule, path, bytes, refused_at` of `refused_changes`.
pub(super) fn refused_change(row: &impl Columns) -> Result<RefusedChange, StorageError> {
    Ok(RefusedChange {
        device: parse(&row.text(0)?)?,
        person: parse(&row.text(1)?)?,
        document: parse(&row.text(2)?)?,
        hash: row.text(3)?,
        rule: row.text(4)?,
        path: row.text(5)?,
        bytes: row.bytes(6)?,
        refused_at: row.int(7)?,
    })
}

/// The columns [`team_change`] reads, in order, for a `SELECT`.
pub(super) const TEAM_CHANGE_COLUMNS: &str =
    "id, child, by_person, by_device, action, person, role, ends_on, reason, refused_rule, at";

/// [`TEAM_CHANGE_COLUMNS`] of `team_changes`.
pub(super) fn team_change(row: &impl Columns) -> Result<TeamChangeRecord, StorageError> {
    let action = row.text(4)?;
    let person = parse(&row.text(5)?)?;
    let action = match action.as_str() {
        "add" => {
            let role = row.opt_text(6)?.unwrap_or_default();
            TeamAction::Add {
                person,
                role: TeamRole::from_slug(&role)
                    .ok_or_else(|| corrupt("team role", &role, None))?,
            }
        }
        "end" => TeamAction::End {
            person,
            on: parse(&row.opt_text(7)?.unwrap_or_default())?,
            reason: row.opt_text(8)?.unwrap_or_default(),
        },
        other => return Err(corrupt("team change action", other, None)),
    };
    let refused = match row.opt_text(9)? {
        None => None,
        Some(rule) => {
            Some(Rule::from_name(&rule).ok_or_else(|| corrupt("policy rule", &rule, None))?)
        }
    };
    Ok(TeamChangeRecord {
        id: parse(&row.text(0)?)?,
        child: parse(&row.text(1)?)?,
        by: parse(&row.text(2)?)?,
        device: parse(&row.text(3)?)?,
        action,
        refused,
        at: row.int(10)?,
    })
}

/// The values of one `team_changes` row, in [`TEAM_CHANGE_COLUMNS`] order.
#[derive(Debug)]
pub(super) struct TeamChangeValues {
    pub id: String,
    pub child: String,
    pub by_person: String,
    pub by_device: String,
    pub action: &'static str,
    pub person: String,
    pub role: Option<&'static str>,
    pub ends_on: Option<String>,
    pub reason: Option<String>,
    pub refused_rule: Option<&'static str>,
    pub at: UnixSeconds,
}

impl TeamChangeValues {
    pub fn of(c: &TeamChangeRecord) -> Self {
        let (action, role, ends_on, reason) = match &c.action {
            TeamAction::Add { role, .. } => ("add", Some(role.as_str()), None, None),
            TeamAction::End { on, reason, .. } => {
                ("end", None, Some(on.to_string()), Some(reason.clone()))
            }
        };
        TeamChangeValues {
            id: c.id.to_string(),
            child: c.child.to_string(),
            by_person: c.by.to_string(),
            by_device: c.device.to_string(),
            action,
            person: c.action.person().to_string(),
            role,
            ends_on,
            reason,
            refused_rule: c.refused.map(Rule::as_str),
            at: c.at,
        }
    }
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

/// The generation of the young person's copy of the plan in use: the
/// highest `young/<child>/<n>` among a child's stored document keys (older
/// ones are kept for the audit, never read).
pub(super) fn young_copy(
    keys: impl IntoIterator<Item = String>,
) -> Result<Option<u32>, StorageError> {
    let mut newest = None;
    for k in keys {
        if let DocKey::Young(_, n) = parse::<DocKey>(&k)? {
            newest = newest.max(Some(n));
        }
    }
    Ok(newest)
}

/// A child's team from its member rows and its young person.
pub(super) fn team(
    child: ChildId,
    members: impl IntoIterator<Item = (PersonId, TeamMember)>,
    young_person: Option<PersonId>,
    young_copy: Option<u32>,
) -> ChildTeam {
    ChildTeam {
        child,
        members: members.into_iter().collect(),
        young_person,
        young_copy,
    }
}

/// `child, erased_at, erased_by, reason, closed_on` of `erasures`.
pub(super) fn erasure(row: &impl Columns) -> Result<super::ErasureRecord, StorageError> {
    Ok(super::ErasureRecord {
        child: parse(&row.text(0)?)?,
        at: row.int(1)?,
        by: row.text(2)?,
        reason: row.text(3)?,
        closed_on: parse_opt(row.opt_text(4)?)?,
    })
}

/// `id, closed_on` of `children` (a closed one).
pub(super) fn closed_case(row: &impl Columns) -> Result<super::ClosedCase, StorageError> {
    Ok(super::ClosedCase {
        child: parse(&row.text(0)?)?,
        closed_on: parse(&row.text(1)?)?,
    })
}

// ---------------------------------------------------------------- writing rows

/// The audit entry of a child's erasure (on its plan; who and why are in
/// `erasures`).
pub(super) fn erasure_audit(child: ChildId, at: UnixSeconds) -> AuditValues {
    AuditValues::new(
        at,
        AuditEvent::ChildErased,
        &DocKey::Plan(child),
        None,
        None,
    )
}

/// The audit entry of one document of a case export, on the child's
/// trail (a request for help's too, whose own trail is its id's).
pub(super) fn export_audit(child: ChildId, key: &DocKey, at: UnixSeconds) -> AuditValues {
    let mut entry = AuditValues::new(at, AuditEvent::CaseExported, key, None, None);
    entry.child = child.to_string();
    entry
}

/// The `documents` column of `case_exports`: the keys, space-separated.
pub(super) fn export_documents(documents: &[DocKey]) -> String {
    documents
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `child, exported_at, exported_by, command, documents` of `case_exports`.
pub(super) fn case_export(row: &impl Columns) -> Result<super::CaseExport, StorageError> {
    let documents = row.text(4)?;
    Ok(super::CaseExport {
        child: parse(&row.text(0)?)?,
        at: row.int(1)?,
        by: row.text(2)?,
        command: row.text(3)?,
        documents: documents
            .split_whitespace()
            .map(parse)
            .collect::<Result<_, _>>()?,
    })
}

/// A rewrap replaced every stored key (`replaced` of `total`), or it
/// must not commit: a key made meanwhile, or one changed since it was
/// read, would be left under the old master key.
pub(super) fn all_rewrapped(replaced: i64, total: i64) -> Result<(), StorageError> {
    if replaced == total {
        Ok(())
    } else {
        Err(StorageError::KeysChangedDuringRewrap {
            rewrapped: replaced,
            stored: total,
        })
    }
}

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
    pub(super) fn new(
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
        reason: KeptReason,
        at: UnixSeconds,
    ) -> Result<bool, Self::Error>;
    fn insert_audit(&mut self, entry: &AuditValues) -> Result<(), Self::Error>;
    /// Whether this refused change is kept already (by device, document
    /// and hash), and how many its device has kept.
    fn refused_kept(&mut self, refused: &NewRefusedChange) -> Result<(bool, u64), Self::Error>;
    /// Keep a refused change (not kept yet).
    fn insert_refused(&mut self, refused: &NewRefusedChange) -> Result<(), Self::Error>;
    /// Insert a `team_changes` row; `false` if its id was there.
    fn insert_team_change(&mut self, change: &TeamChangeValues) -> Result<bool, Self::Error>;
    /// Put a person on a child's team (or change their agency and role).
    fn upsert_member(
        &mut self,
        child: ChildId,
        person: PersonId,
        member: TeamMember,
    ) -> Result<(), Self::Error>;
    /// Make whoever else holds `role` on the child's team a member.
    fn demote_holders(
        &mut self,
        child: ChildId,
        role: TeamRole,
        except: PersonId,
    ) -> Result<(), Self::Error>;
    /// Take a person off a child's team; `false` if they were not on it.
    fn delete_member(&mut self, child: ChildId, person: PersonId) -> Result<bool, Self::Error>;
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

/// [`commit_sync_rounds`], and in the same transaction the server's own
/// changes to documents it keeps in step (the young person's copy of the
/// plan, their views mirrored into the plan): a document named there that
/// does not exist yet is created (`document-created`), and each new change
/// is audited as a `server-change`. Rows first, changes last, as
/// [`create_documents`] does.
pub(super) fn commit_sync<T: Tx>(
    tx: &mut T,
    rounds: &[SyncRound],
    server: &[NewDocument],
    refused: &[NewRefusedChange],
    at: UnixSeconds,
) -> Result<(), T::Error> {
    keep_refused(tx, refused)?;
    let mut created = Vec::new();
    for doc in server {
        if tx.insert_document(&doc.key, at)? {
            created.push(doc.key);
        }
    }
    commit_sync_rounds(tx, rounds)?;
    for doc in server {
        let fresh = tx.insert_changes(&doc.key, &doc.changes, None, at)?;
        if created.contains(&doc.key) {
            let entry = AuditValues::new(at, AuditEvent::DocumentCreated, &doc.key, None, None);
            tx.insert_audit(&entry)?;
            continue;
        }
        for change in fresh {
            let entry =
                AuditValues::new(at, AuditEvent::ServerChange, &doc.key, Some(change), None);
            tx.insert_audit(&entry)?;
        }
    }
    Ok(())
}

/// Keep the changes the gate refused (see
/// [`super::Storage::commit_sync_keeping_refused`]), auditing each one the
/// first time it is refused, kept or not (over the device's bound). A
/// refused change the device sends again is neither kept nor audited twice.
fn keep_refused<T: Tx>(tx: &mut T, refused: &[NewRefusedChange]) -> Result<(), T::Error> {
    for r in refused {
        let (already, count) = tx.refused_kept(r)?;
        if already {
            continue;
        }
        if count < bothy_shared::refused::MAX_REFUSED_PER_DEVICE {
            tx.insert_refused(r)?;
        }
        let by = Author {
            device: r.device,
            person: r.person,
        };
        {
            tx.insert_audit(&AuditValues::new(
                r.at,
                AuditEvent::ChangeRefused,
                &r.key,
                Some(&r.change),
                Some(by),
            ))?;
        }
    }
    Ok(())
}

/// Quarantine a device's offered changes, auditing each new one;
/// returns how many were new.
pub(super) fn quarantine<T: Tx>(
    tx: &mut T,
    by: Author,
    key: &DocKey,
    changes: &[NewChange],
    reason: KeptReason,
    at: UnixSeconds,
) -> Result<u64, T::Error> {
    let mut fresh = 0;
    for change in changes {
        if tx.insert_quarantined(by, key, change, reason, at)? {
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

/// Keep a team change (see [`super::Storage::record_team_change`]): the
/// row first (a kept id ends it: `false`), then the effect on the team,
/// the documents it brings, and one audit entry on the child's plan.
pub(super) fn record_team_change<T: Tx>(
    tx: &mut T,
    change: &TeamChangeRecord,
    effect: Option<TeamEffect>,
    new_documents: &[NewDocument],
) -> Result<bool, T::Error> {
    require(tx, Entity::Child(change.child))?;
    if !tx.insert_team_change(&TeamChangeValues::of(change))? {
        return Ok(false);
    }
    let event = match (change.refused, effect) {
        (Some(_), _) | (None, None) => AuditEvent::TeamChangeRefused,
        (None, Some(TeamEffect::Join { person, member })) => {
            require(tx, Entity::Person(person))?;
            if member.role != TeamRole::Member {
                tx.demote_holders(change.child, member.role, person)?;
            }
            tx.upsert_member(change.child, person, member)?;
            AuditEvent::TeamMemberSet
        }
        (None, Some(TeamEffect::Leave { person })) => {
            tx.delete_member(change.child, person)?;
            AuditEvent::TeamMembershipEnded
        }
    };
    if change.refused.is_none() {
        create_documents(tx, change.child, new_documents, change.at)?;
    }
    let by = Author {
        device: change.device,
        person: change.by,
    };
    tx.insert_audit(&AuditValues::new(
        change.at,
        event,
        &DocKey::Plan(change.child),
        None,
        Some(by),
    ))?;
    Ok(true)
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
