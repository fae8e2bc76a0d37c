//! Everything the server keeps, behind one trait.
//!
//! [`Storage`] is the only way the rest of the server touches persistent
//! state: the partnership's directory, devices and enrolment codes, the
//! append-only change log of every document, per-device sync state, the
//! audit trail and the quarantine of revoked devices' offers. It is
//! synchronous (the server calls it inside `spawn_blocking`) and speaks only
//! Bothy and Automerge types: [`sqlite::SqliteStorage`] (the default, one
//! file) and [`postgres::PgStorage`] (several server instances on one
//! database) implement it. The backend is chosen once, from the database
//! URL, by [`open`].
//!
//! What people wrote is sealed at rest ([`keys`]): [`open`] wraps the
//! backend in a layer that seals each change, refused or offered change and
//! team change reason under its child's data key on the way in and opens it
//! on the way out, so the backends store opaque bytes and hold only SQL.
//!
//! Changes are content-addressed: a change is stored once per document under
//! its hash, inserting it again is a no-op, and each stored change gets a
//! sequence number that only grows (the cursor of `/v1/changed`). A backend
//! must hand out sequence numbers so that a reader that has seen sequence `n`
//! can never later see a new change with a sequence `<= n` (SQLite's single
//! writer gives this for free; PostgreSQL needs a commit-ordered sequence,
//! see [`postgres`]).

pub mod keys;
pub mod postgres;
mod rows;
mod sealed;
pub use sealed::rewrap_all;
pub mod sqlite;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use automerge::{ActorId, ChangeHash};
use bothy_shared::docs::{DocKey, IsoDate, StepKind};
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId, RequestId};
use bothy_shared::policy::{ChildTeam, PersonKind, Rule, TeamMember};
use bothy_shared::team::{TeamAction, TeamEffect};
use bothy_shared::wire::KeptReason;

/// Seconds since the Unix epoch, UTC.
pub type UnixSeconds = i64;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "the database URL `{0}` is not supported (expected sqlite://PATH or postgres://USER@HOST/DB)"
    )]
    UnsupportedUrl(String),
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    #[error("{what} does not exist")]
    NotFound { what: String },
    /// A caller asked to create a document under a child it is not of.
    #[error("document {document} is not of child {child}")]
    DocumentOfAnotherChild { document: DocKey, child: ChildId },
    /// A stored value does not read as what its column holds (an id, a
    /// slug, a hash): the row is damaged, the database is not.
    #[error("the database holds a {what} this server cannot read: `{value}`")]
    Corrupt {
        what: &'static str,
        value: String,
        #[source]
        cause: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// SQLite failed (the source says how: a full disk, a busy or damaged
    /// file, a constraint).
    #[error("SQLite failed")]
    Sqlite(#[from] rusqlite::Error),
    /// The batch this write was committed in failed to commit (every write
    /// in it failed with the same cause).
    #[error("SQLite failed to commit the batch holding this write")]
    BatchCommit(#[source] Arc<rusqlite::Error>),
    #[error("bringing the SQLite schema up to date failed")]
    SqliteMigration(#[source] rusqlite_migration::Error),
    /// PostgreSQL failed or could not be reached (the source says how).
    #[error("PostgreSQL failed")]
    Postgres(#[from] ::postgres::Error),
    #[error("the PostgreSQL URL does not parse")]
    PostgresUrl(#[source] ::postgres::Error),
    #[error("bringing the PostgreSQL schema up to date failed")]
    PostgresMigration(#[source] refinery::Error),
    #[error("starting a database connection thread failed")]
    Thread(#[source] std::io::Error),
    #[error("the database connection threads have stopped")]
    ThreadsStopped,
    #[error("the database connection thread working on this request failed")]
    ThreadFailed,
    /// The master key could not be read, or a key file not written.
    #[error("the master key")]
    MasterKey(#[from] keys::MasterKeyError),
    /// The master key given opens nothing in this database.
    #[error(
        "the master key given is not the one this database was sealed with (check \
         --master-key-file, BOTHY_MASTER_KEY_FILE, BOTHY_MASTER_KEY, or the key file beside \
         a SQLite database)"
    )]
    WrongMasterKey,
    /// The database holds children but no master key check: it was made
    /// before encryption at rest, and its records are not sealed.
    #[error(
        "this database was made before encryption at rest (its records are not sealed): \
         start from a new database"
    )]
    MadeBeforeSealing,
    /// A sealed value (or a data key) did not open, or could not be sealed.
    #[error("the sealed {what} does not open")]
    Sealed {
        what: String,
        #[source]
        cause: keys::SealError,
    },
    /// Data keys were made or changed while they were being rewrapped:
    /// nothing was changed; run the rotation again.
    #[error(
        "{stored} data keys are stored but {rewrapped} were rewrapped (keys were made \
         meanwhile): nothing changed, run it again with the servers stopped"
    )]
    KeysChangedDuringRewrap { rewrapped: i64, stored: i64 },
    /// The child (or request) was erased: nothing more is stored for it.
    #[error("{owner} was erased")]
    Erased { owner: String },
}

/// A person in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub id: PersonId,
    pub name: String,
    pub kind: PersonKind,
    /// The agency a practitioner or supervisor works for; `None` for a young person.
    pub agency: Option<Agency>,
}

/// A child with a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRecord {
    pub id: ChildId,
    pub name: String,
}

/// A request for help as the directory files it: who sent it to which
/// agency, and the child it was accepted for. The document holds the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRecord {
    pub id: RequestId,
    pub sender: PersonId,
    pub sender_agency: Agency,
    pub to: Agency,
    /// The child it was accepted for (`None` until then).
    pub child: Option<ChildId>,
}

/// An enrolled device.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub person: PersonId,
    pub name: String,
    /// Raw 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
    pub enrolled_at: UnixSeconds,
    pub revoked_at: Option<UnixSeconds>,
}

impl fmt::Debug for DeviceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceRecord")
            .field("id", &self.id)
            .field("person", &self.person)
            .field("enrolled_at", &self.enrolled_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// A device about to be enrolled (the person comes from the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub id: DeviceId,
    pub name: String,
    pub public_key: Vec<u8>,
}

/// A change to store: its hash, its actor and its raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub hash: ChangeHash,
    pub actor: ActorId,
    pub bytes: Vec<u8>,
}

impl NewChange {
    /// The storable form of an Automerge change.
    pub fn from_change(change: &automerge::Change) -> Self {
        NewChange {
            hash: change.hash(),
            actor: change.actor_id().clone(),
            bytes: change.raw_bytes().to_vec(),
        }
    }
}

/// A stored change and its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    pub seq: u64,
    /// The change's hash as stored beside it, so a reader can skip a change
    /// it already holds without decoding it.
    pub hash: ChangeHash,
    pub bytes: Vec<u8>,
}

/// A new document and its first changes (made by the server's actor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub key: DocKey,
    pub changes: Vec<NewChange>,
}

/// What one `/v1/sync` exchange for one document leaves behind, stored
/// atomically: the accepted changes, the server's sync state for the device,
/// and the audit of what was received and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRound {
    pub device: DeviceId,
    pub person: PersonId,
    pub key: DocKey,
    /// Changes the gate accepted (possibly none). Already stored ones are skipped.
    pub accepted: Vec<NewChange>,
    /// `automerge::sync::State::encode()` of the server's state for this device.
    pub sync_state: Vec<u8>,
    /// Whether the reply carried document content (changes or a whole
    /// document) to the device: audited as a read.
    pub sent_content: bool,
    pub at: UnixSeconds,
}

impl SyncRound {
    /// The audit entries storing this round makes, given which of its
    /// accepted changes were new (`fresh`): one per new change, and one for
    /// the content sent, if any. Both backends write exactly these.
    pub(crate) fn audit_events<'c>(
        &self,
        fresh: Vec<&'c NewChange>,
    ) -> impl Iterator<Item = (AuditEvent, Option<&'c NewChange>)> {
        fresh
            .into_iter()
            .map(|c| (AuditEvent::ChangeAccepted, Some(c)))
            .chain(
                self.sent_content
                    .then_some((AuditEvent::DocumentSent, None)),
            )
    }
}

/// Whether the caller may read a document, given its child's team: the
/// access policy, handed to [`Storage::read_for_sync`] so nothing of a
/// document it refuses is read.
pub type MayRead = Arc<dyn Fn(&DocKey, &ChildTeam) -> bool + Send + Sync>;

/// What [`Storage::read_for_sync`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReads {
    /// The team of each child of the documents asked about, if the child exists.
    pub teams: BTreeMap<ChildId, ChildTeam>,
    /// Each document asked about that exists and the caller may read.
    pub documents: BTreeMap<DocKey, DocumentReads>,
}

/// One document of [`SyncReads`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentReads {
    /// Its changes after the sequence number asked with, in order.
    pub changes: Vec<StoredChange>,
    /// The server's encoded sync state for the device and this document.
    pub sync_state: Option<Vec<u8>>,
}

/// Documents with changes after a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedSince {
    /// The highest sequence number in the log when this was read.
    pub high_water: u64,
    /// Each document with a change after the cursor made by anyone but the
    /// asking device, with its highest such sequence number.
    pub documents: Vec<(DocKey, u64)>,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// The server created a document (admin CLI or demo seed).
    DocumentCreated,
    /// A change from a device passed the gate and was stored.
    ChangeAccepted,
    /// Document content was sent to a device.
    DocumentSent,
    /// A revoked device offered a change; it sits in quarantine, unapplied.
    ChangeQuarantined,
    /// The server changed a document it keeps in step itself (the young
    /// person's copy of the plan, or their views mirrored into the plan).
    ServerChange,
    /// The gate refused a change from a device; it is kept apart, unapplied.
    ChangeRefused,
    /// A step of a request for help passed the gate (sent, more asked for,
    /// answered, accepted, declined, withdrawn).
    Request(StepKind),
    /// A duty worker was shown the children who might be the one a request
    /// is about (the match check).
    MatchCheck,
    /// The server created the child a request was accepted for, or put its
    /// sender and acceptor on an existing child's team.
    RequestLinked,
    /// A team change from a device put someone on the team or handed a
    /// role over (on the child's plan; who and what: `team_changes`).
    TeamMemberSet,
    /// A team change from a device ended someone's membership (who, when
    /// and why: `team_changes`).
    TeamMembershipEnded,
    /// A team change from a device was refused (the rule: `team_changes`).
    TeamChangeRefused,
    /// The child's case was erased (who, when and why: `erasures`).
    ChildErased,
    /// A document of the child's case was exported for a case system (who,
    /// when, with which command: `case_exports`).
    CaseExported,
}

impl AuditEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::DocumentCreated => "document-created",
            AuditEvent::ChangeAccepted => "change-accepted",
            AuditEvent::DocumentSent => "document-sent",
            AuditEvent::ChangeQuarantined => "change-quarantined",
            AuditEvent::ServerChange => "server-change",
            AuditEvent::ChangeRefused => "change-refused",
            AuditEvent::Request(step) => match step {
                StepKind::Sent => "request-sent",
                StepKind::MoreInfoAsked => "request-more-info-asked",
                StepKind::Answered => "request-answered",
                StepKind::Accepted => "request-accepted",
                StepKind::Declined => "request-declined",
                StepKind::Withdrawn => "request-withdrawn",
            },
            AuditEvent::MatchCheck => "match-check",
            AuditEvent::RequestLinked => "request-linked",
            AuditEvent::TeamMemberSet => "team-member-set",
            AuditEvent::TeamMembershipEnded => "team-membership-ended",
            AuditEvent::TeamChangeRefused => "team-change-refused",
            AuditEvent::ChildErased => "child-erased",
            AuditEvent::CaseExported => "case-exported",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::DocumentCreated,
            Self::ChangeAccepted,
            Self::DocumentSent,
            Self::ChangeQuarantined,
            Self::ServerChange,
            Self::ChangeRefused,
            Self::MatchCheck,
            Self::RequestLinked,
            Self::TeamMemberSet,
            Self::TeamMembershipEnded,
            Self::TeamChangeRefused,
            Self::ChildErased,
            Self::CaseExported,
        ]
        .into_iter()
        .chain(StepKind::ALL.into_iter().map(Self::Request))
        .find(|e| e.as_str() == s)
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: UnixSeconds,
    pub event: AuditEvent,
    pub document: DocKey,
    /// Lowercase hex change hash, for change events.
    pub change: Option<String>,
    /// Lowercase hex Automerge actor, for change events.
    pub actor: Option<String>,
    pub device: Option<DeviceId>,
    pub person: Option<PersonId>,
}

/// A change the gate refused, to keep apart (never applied) for the person
/// who made it and their supervisors to read (see [`Storage::commit_sync_keeping_refused`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefusedChange {
    pub device: DeviceId,
    pub person: PersonId,
    pub key: DocKey,
    pub change: NewChange,
    /// The rule's stable name (`bothy_shared::policy::Rule`).
    pub rule: String,
    /// Where in the document (empty when not named).
    pub path: String,
    pub at: UnixSeconds,
}

/// A refused change as kept.
#[derive(Clone, PartialEq, Eq)]
pub struct RefusedChange {
    pub device: DeviceId,
    pub person: PersonId,
    pub document: DocKey,
    /// Lowercase hex change hash.
    pub hash: String,
    pub rule: String,
    pub path: String,
    pub bytes: Vec<u8>,
    pub refused_at: UnixSeconds,
}

impl fmt::Debug for RefusedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefusedChange")
            .field("device", &self.device)
            .field("document", &self.document)
            .field("hash", &self.hash)
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// A change a device offered instead of syncing (it was revoked, or its
/// person left the child's team), kept unapplied for an administrator and
/// the person's supervisors.
#[derive(Clone, PartialEq, Eq)]
pub struct QuarantinedChange {
    pub device: DeviceId,
    pub person: PersonId,
    pub document: DocKey,
    pub bytes: Vec<u8>,
    pub received_at: UnixSeconds,
    pub reason: KeptReason,
}

/// A team change a device sent (`/v1/team`), as the server keeps it: who
/// asked, what, and whether it was applied or which rule refused it. The
/// record of who ended whose membership, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamChangeRecord {
    pub id: bothy_shared::ids::ItemId,
    pub child: ChildId,
    pub by: PersonId,
    pub device: DeviceId,
    pub action: TeamAction,
    /// `None`: applied; otherwise the rule that refused it.
    pub refused: Option<Rule>,
    pub at: UnixSeconds,
}

impl fmt::Debug for QuarantinedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuarantinedChange")
            .field("device", &self.device)
            .field("document", &self.document)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// The record an erasure leaves (its tombstone): whose case, when, who
/// ran it and why. No content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRecord {
    pub child: ChildId,
    pub at: UnixSeconds,
    /// Who ran it (the operator's login name, or `retention`).
    pub by: String,
    pub reason: String,
    /// The case's closing date, if it was closed.
    pub closed_on: Option<IsoDate>,
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Documents whose rows (and key) went.
    pub documents: u64,
    /// Stored changes deleted (sealed under the destroyed key).
    pub changes: u64,
}

/// A case exported for a partnership's case system (`bothy-server export`),
/// as the server keeps it: whose case, when, who ran it, the command as they
/// gave it and the documents it held. No content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseExport {
    pub child: ChildId,
    pub at: UnixSeconds,
    /// Who ran it (`--by`, or the operator's login name).
    pub by: String,
    /// The command and its options (no content: ids, slugs and flags).
    pub command: String,
    /// The documents exported, in the order written.
    pub documents: Vec<DocKey>,
}

/// A case closed on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedCase {
    pub child: ChildId,
    pub closed_on: IsoDate,
}

/// The server's persistent state. See the module documentation.
///
/// Every method is one transaction: it happens entirely or not at all.
pub trait Storage: Send + Sync + fmt::Debug {
    // ------------------------------------------------------------ directory

    /// Add a person. `AlreadyExists` if the id is taken.
    fn add_person(&self, person: &PersonRecord) -> Result<(), StorageError>;
    fn person(&self, id: PersonId) -> Result<Option<PersonRecord>, StorageError>;
    fn people(&self) -> Result<Vec<PersonRecord>, StorageError>;

    /// Add a child together with its first documents.
    fn add_child(
        &self,
        child: &ChildRecord,
        documents: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError>;
    fn child(&self, id: ChildId) -> Result<Option<ChildRecord>, StorageError>;
    fn children(&self) -> Result<Vec<ChildRecord>, StorageError>;

    /// Put a person on a child's team (or change their role), creating any
    /// documents given that do not exist yet (an agency's record the first
    /// time the agency joins the team).
    fn set_team_member(
        &self,
        child: ChildId,
        person: PersonId,
        member: TeamMember,
        new_documents: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError>;
    /// Take a person off a child's team; `false` if they were not on it.
    fn remove_team_member(&self, child: ChildId, person: PersonId) -> Result<bool, StorageError>;
    /// A child's team; the young person is the person of kind young person
    /// linked to the child. `NotFound` for an unknown child.
    fn team(&self, child: ChildId) -> Result<ChildTeam, StorageError>;
    /// Children on whose team any of `people` sits.
    fn children_with_members(
        &self,
        people: &BTreeSet<PersonId>,
    ) -> Result<Vec<ChildId>, StorageError>;

    fn set_supervisor(
        &self,
        supervisor: PersonId,
        supervisee: PersonId,
    ) -> Result<(), StorageError>;
    fn supervisees(&self, supervisor: PersonId) -> Result<BTreeSet<PersonId>, StorageError>;

    // ------------------------------------------------------------ devices

    /// Keep an enrolment code's hash until it is used or expires.
    fn add_enrol_code(
        &self,
        code_hash: &[u8],
        person: PersonId,
        expires_at: UnixSeconds,
    ) -> Result<(), StorageError>;
    /// Use a code: if it exists, is unused and `now < expires_at`, mark it
    /// used and enrol the device for its person, atomically. `None` otherwise.
    fn redeem_enrol_code(
        &self,
        code_hash: &[u8],
        now: UnixSeconds,
        device: &NewDevice,
    ) -> Result<Option<DeviceRecord>, StorageError>;
    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StorageError>;
    fn devices(&self) -> Result<Vec<DeviceRecord>, StorageError>;
    /// Revoke a device; `false` if no such device. Revoking twice keeps the
    /// first time.
    fn revoke_device(&self, id: DeviceId, at: UnixSeconds) -> Result<bool, StorageError>;
    /// Remember a request nonce until `expires_at`; `false` if it was already
    /// remembered (a replay). Forgets nonces that expired before `now`.
    fn remember_nonce(
        &self,
        device: DeviceId,
        nonce: &[u8],
        expires_at: UnixSeconds,
        now: UnixSeconds,
    ) -> Result<bool, StorageError>;

    // ------------------------------------------------------------ documents

    fn document_exists(&self, key: &DocKey) -> Result<bool, StorageError>;
    fn documents_of_child(&self, child: ChildId) -> Result<Vec<DocKey>, StorageError>;
    /// A document's changes with sequence numbers after `after`, in order.
    fn changes_after(&self, key: &DocKey, after: u64) -> Result<Vec<StoredChange>, StorageError>;
    /// Which of the documents in `among` (the ones a device has synced and
    /// may read) anyone but `device` changed after `cursor`: what
    /// `/v1/changed` asks. Backends answer it from the `(document, sequence)`
    /// index, so the cost follows the device's documents and their new
    /// changes, not every change anyone made since the cursor.
    fn changed_among(
        &self,
        cursor: u64,
        device: DeviceId,
        among: &BTreeSet<DocKey>,
    ) -> Result<ChangedSince, StorageError>;
    /// The server's encoded sync state for a device and document.
    fn sync_state(&self, device: DeviceId, key: &DocKey) -> Result<Option<Vec<u8>>, StorageError>;
    /// Everything `/v1/sync` reads before it merges, for all of a
    /// request's documents in one call: the team of each child named, and
    /// for each document (with the sequence number its cached copy has
    /// folded in) that exists and `may_read` allows given its child's
    /// team, its changes after that sequence and `device`'s sync state.
    /// [`Storage::team`], [`Storage::document_exists`],
    /// [`Storage::changes_after`] and [`Storage::sync_state`] per document
    /// give the same answer in many more round trips.
    fn read_for_sync(
        &self,
        device: DeviceId,
        documents: &BTreeMap<DocKey, u64>,
        may_read: MayRead,
    ) -> Result<SyncReads, StorageError>;
    /// Store the outcomes of the sync exchanges of one request (see
    /// [`SyncRound`]), all or none, in order (a later round for the same
    /// document supersedes the sync state of an earlier one); each document
    /// then counts as synced by the device. One transaction and one wait
    /// for durability for the whole request, however many documents it
    /// carried.
    fn commit_sync_rounds(&self, rounds: &[SyncRound]) -> Result<(), StorageError> {
        self.commit_sync(rounds, &[], 0)
    }
    /// [`Storage::commit_sync_rounds`] and, in the same transaction, the
    /// server's own changes to documents it keeps in step with those
    /// (`server`: each document created if it does not exist, its changes
    /// stored by no device, audited as made at `at`).
    fn commit_sync(
        &self,
        rounds: &[SyncRound],
        server: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.commit_sync_keeping_refused(rounds, server, &[], at)
    }
    /// [`Storage::commit_sync`] and, in the same transaction, the changes
    /// the gate refused in those rounds: each kept apart (never applied)
    /// once per device, document and hash, and audited (`change-refused`),
    /// as long as its device has fewer than
    /// `bothy_shared::refused::MAX_REFUSED_PER_DEVICE` kept (beyond that
    /// only the audit entry is written).
    fn commit_sync_keeping_refused(
        &self,
        rounds: &[SyncRound],
        server: &[NewDocument],
        refused: &[NewRefusedChange],
        at: UnixSeconds,
    ) -> Result<(), StorageError>;
    /// [`Storage::commit_sync_rounds`] for one exchange.
    fn commit_sync_round(&self, round: &SyncRound) -> Result<(), StorageError> {
        self.commit_sync_rounds(std::slice::from_ref(round))
    }
    /// Documents this device has synced at least once (and not acknowledged dropping).
    fn synced_documents(&self, device: DeviceId) -> Result<Vec<DocKey>, StorageError>;
    /// The device deleted these documents: forget that it had them and its sync state.
    fn forget_synced_documents(
        &self,
        device: DeviceId,
        keys: &[DocKey],
    ) -> Result<(), StorageError>;

    // ------------------------------------------------------------ quarantine and audit

    /// Keep changes a revoked device offered, unapplied; returns how many were new.
    fn quarantine(
        &self,
        device: DeviceId,
        person: PersonId,
        key: &DocKey,
        changes: &[NewChange],
        at: UnixSeconds,
    ) -> Result<u64, StorageError> {
        self.keep_offered(device, person, key, changes, KeptReason::Revoked, at)
    }
    fn quarantined(&self) -> Result<Vec<QuarantinedChange>, StorageError>;
    /// The refused changes kept, oldest first: of `people` only, or every
    /// one (`None`, for an administrator).
    fn refused_changes(
        &self,
        people: Option<&BTreeSet<PersonId>>,
    ) -> Result<Vec<RefusedChange>, StorageError>;
    /// [`Storage::quarantine`] with why the work was offered.
    fn keep_offered(
        &self,
        device: DeviceId,
        person: PersonId,
        key: &DocKey,
        changes: &[NewChange],
        reason: KeptReason,
        at: UnixSeconds,
    ) -> Result<u64, StorageError>;

    // ------------------------------------------------------------ team changes

    /// Keep a team change and, unless it was refused, apply `effect` to the
    /// child's team (creating `new_documents`, an agency's record the first
    /// time the agency joins), with its audit entry, in one transaction.
    /// A change whose id is already kept is left as it is: `false`.
    fn record_team_change(
        &self,
        change: &TeamChangeRecord,
        effect: Option<TeamEffect>,
        new_documents: &[NewDocument],
    ) -> Result<bool, StorageError>;
    /// The team change kept under `id`, if any.
    fn team_change(
        &self,
        id: bothy_shared::ids::ItemId,
    ) -> Result<Option<TeamChangeRecord>, StorageError>;
    /// Every team change kept for a child, oldest first.
    fn team_changes(&self, child: ChildId) -> Result<Vec<TeamChangeRecord>, StorageError>;
    /// Every audit entry about any document of a child, oldest first.
    fn audit_of_child(&self, child: ChildId) -> Result<Vec<AuditEntry>, StorageError>;

    // ------------------------------------------------------------ requests for help

    /// Put a practitioner on their agency's duty team (`on`) or take them off.
    fn set_duty(&self, person: PersonId, on: bool) -> Result<(), StorageError>;
    /// The people on `agency`'s duty team.
    fn duty_workers(&self, agency: Agency) -> Result<BTreeSet<PersonId>, StorageError>;
    /// File a new request and its (empty) document; `false` if it was filed
    /// already. The device's first change follows in a sync round.
    fn open_request(&self, request: &RequestRecord, at: UnixSeconds) -> Result<bool, StorageError>;
    fn request(&self, id: RequestId) -> Result<Option<RequestRecord>, StorageError>;
    /// Requests sent by any of `people`, or to the agency of any of them who
    /// is on a duty team.
    fn requests_of(&self, people: &BTreeSet<PersonId>) -> Result<Vec<RequestRecord>, StorageError>;
    /// Note the child a request was accepted for.
    fn link_request(&self, id: RequestId, child: ChildId) -> Result<(), StorageError>;
    /// Audit something that happened to a request (`document` is the
    /// request's own, its trail is `audit_of_child` of the request's id).
    fn audit_request(
        &self,
        id: RequestId,
        event: AuditEvent,
        by: Option<(DeviceId, PersonId)>,
        at: UnixSeconds,
    ) -> Result<(), StorageError>;

    // ------------------------------------------------------------ keys (encryption at rest, see [`keys`])

    /// The wrapped data key of `owner` (a child's id, a request's id, or
    /// [`keys::CHECK_OWNER`]), if it has one.
    fn wrapped_key(&self, owner: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Keep `wrapped` as `owner`'s data key unless it has one: returns the
    /// key kept (this one or the earlier), or `None` if `owner` was erased
    /// (an erased owner never gets a key again).
    fn keep_wrapped_key(
        &self,
        owner: &str,
        wrapped: &[u8],
        at: UnixSeconds,
    ) -> Result<Option<Vec<u8>>, StorageError>;
    /// Every wrapped key, by owner.
    fn wrapped_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError>;
    /// Replace wrapped keys, each `(owner, old, new)`, all or none: fails
    /// (changing nothing) unless every key stored is among them as `old`.
    fn rewrap_keys(&self, keys: &[(String, Vec<u8>, Vec<u8>)]) -> Result<(), StorageError>;

    // ------------------------------------------------------------ erasure and retention

    /// Erase a child's case: destroy its data key (and those of requests
    /// accepted for it) and delete its documents, changes, sync states,
    /// kept and refused work, team and team changes, requests and its row;
    /// keep a tombstone ([`ErasureRecord`]) and a `child-erased` audit
    /// entry. The audit entries about it stay (they hold no content), and
    /// so does which devices synced its documents (keys only): `/v1/changed`
    /// lists those as `gone`, so each device deletes them at its next sync
    /// and acknowledges it, as when its person leaves a team.
    /// `NotFound` for a child that does not exist.
    fn erase_child(
        &self,
        child: ChildId,
        by: &str,
        reason: &str,
        at: UnixSeconds,
    ) -> Result<Erased, StorageError>;
    /// Every erasure, oldest first.
    fn erasures(&self) -> Result<Vec<ErasureRecord>, StorageError>;
    /// Record that a child's case closed on `on` (replacing an earlier date).
    fn close_case(&self, child: ChildId, on: IsoDate) -> Result<(), StorageError>;
    /// Every closed case, oldest closing first.
    fn closed_cases(&self) -> Result<Vec<ClosedCase>, StorageError>;

    // ------------------------------------------------------------ case exports

    /// Keep the record of a case export and a `case-exported` audit entry
    /// per document it held (on the child's trail), in one transaction.
    /// `NotFound` for a child that does not exist.
    fn record_export(&self, export: &CaseExport) -> Result<(), StorageError>;
    /// Every export of a child's case, oldest first.
    fn exports(&self, child: ChildId) -> Result<Vec<CaseExport>, StorageError>;
}

/// Open the storage a database URL names: `sqlite://PATH` (a file, created
/// if missing), `sqlite::memory:` (tests), or `postgres://…` /
/// `postgresql://…` (a PostgreSQL database that exists; its schema is
/// created or brought up to date), sealing what people wrote under the
/// master key [`keys::locate`] finds with no key file given. Blocks while
/// it connects and migrates.
pub fn open(url: &str) -> Result<Arc<dyn Storage>, StorageError> {
    open_with_key_file(url, None)
}

/// [`open`] with the master key in `key_file` (`--master-key-file`), or
/// found as [`keys::locate`] says. A new SQLite database gets a new key
/// file beside it. A master key that is not the database's is
/// [`StorageError::WrongMasterKey`].
pub fn open_with_key_file(
    url: &str,
    key_file: Option<&std::path::Path>,
) -> Result<Arc<dyn Storage>, StorageError> {
    let raw = open_unsealed(url)?;
    let located = keys::locate(url, key_file)?;
    let Some(path) = located.create_at else {
        return Ok(Arc::new(sealed::Sealed::new(raw, Arc::new(located.key))?));
    };
    // Written before the database first seals anything under it; taken
    // back if the database was sealed under another key.
    located.key.write_new_file(&path)?;
    match sealed::Sealed::new(raw, Arc::new(located.key)) {
        Ok(sealed) => Ok(Arc::new(sealed)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// [`open`] with data keys wrapped by `master` (a [`keys::MasterKey`] or
/// a cloud key service's [`keys::KeyWrap`]).
pub fn open_with_master_key(
    url: &str,
    master: Arc<dyn keys::KeyWrap>,
) -> Result<Arc<dyn Storage>, StorageError> {
    let raw = open_unsealed(url)?;
    Ok(Arc::new(sealed::Sealed::new(raw, master)?))
}

/// The backend alone, storing values as given: what [`open`] wraps.
/// Tests of the backends' SQL use it; a server never should.
pub fn open_unsealed(url: &str) -> Result<Arc<dyn Storage>, StorageError> {
    if url == "sqlite::memory:" {
        return Ok(Arc::new(sqlite::SqliteStorage::open_in_memory()?));
    }
    if postgres::is_postgres_url(url) {
        return Ok(Arc::new(postgres::PgStorage::open(url)?));
    }
    match url.strip_prefix("sqlite://") {
        Some(path) if !path.is_empty() => Ok(Arc::new(sqlite::SqliteStorage::open(
            std::path::Path::new(path),
        )?)),
        _ => Err(StorageError::UnsupportedUrl(url.to_owned())),
    }
}
