//! The case documents: one Automerge document per audience.
//!
//! An Automerge document syncs with its whole history, so nobody can be shown
//! part of one. Every child's case is therefore split by who may read it
//! (see `DESIGN.md`):
//!
//! | key                         | type          | read by                                  |
//! |-----------------------------|---------------|------------------------------------------|
//! | `plan/<child>`              | [`PlanDoc`]   | the team and the young person            |
//! | `record/<child>`            | [`RecordDoc`] | the team                                 |
//! | `agency/<child>/<agency>`   | [`RecordDoc`] | that agency's team members, their supervisors |
//! | `young/<child>/<n>`         | [`PlanDoc`]   | the young person only                    |
//! | `request/<request>`         | [`RequestDoc`] | the sender, the receiving agency's duty workers, their supervisors |
//!
//! The plan is the team's; the young person reads `young/<child>/<n>`, a
//! copy the server makes of it ([`young_copy`]) without the content of the
//! sections withheld from them (a [`WithheldMarker`] in the plan). `n` is the
//! copy's generation: when a section is withheld the server starts a new
//! copy, with no history, so content the old copy once held never reaches
//! the young person again. (Older plans kept withheld content in the team
//! record, [`RecordDoc::withheld`]; that still reads.)
//!
//! Every document carries `schema_version`; [`read_document`] refuses a newer
//! version with [`DocError::SchemaTooNew`] instead of guessing. Collections are
//! maps keyed by a stable [`ItemId`](crate::ids::ItemId), so concurrent inserts
//! never collide and concurrent edits of one item merge field by field; free
//! text that people co-edit is Automerge text ([`Text`]).

mod conflicts;
mod items;
mod plan;
mod reads;
mod record;
mod request;
mod values;
mod young;

use std::fmt;
use std::str::FromStr;

use automerge::{ActorId, AutoCommit, Automerge};
use autosurgeon::{Hydrate, ReadDoc, Reconcile};
use serde::{Deserialize, Serialize};

use crate::ids::{Agency, ChildId, RequestId};

pub use autosurgeon::Text;
pub use conflicts::*;
pub use items::*;
pub use plan::*;
pub use reads::{AtHeads, MapReads};
pub use record::*;
pub use request::*;
pub use values::*;
pub use young::*;

/// The schema version this build writes and the newest it reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Which document of a child's case: the key it is stored and synced under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DocKey {
    /// `plan/<child>`: the child's plan.
    Plan(ChildId),
    /// `record/<child>`: the shared multi-agency record.
    Record(ChildId),
    /// `agency/<child>/<agency>`: one agency's restricted record.
    Agency(ChildId, Agency),
    /// `young/<child>/<n>`: the young person's copy of the plan, generation `n` (from 1).
    Young(ChildId, u32),
    /// `request/<request>`: a request for help, before and after a child's
    /// case exists for it.
    Request(RequestId),
}

/// The kind of document a key names, whatever the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Plan,
    Record,
    Agency,
    /// The young person's copy of the plan (a [`PlanDoc`] too).
    Young,
    /// A request for help ([`RequestDoc`]).
    Request,
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocKind::Plan => "child's plan",
            DocKind::Record => "shared record",
            DocKind::Agency => "agency record",
            DocKind::Young => "young person's plan",
            DocKind::Request => "request for help",
        })
    }
}

impl DocKey {
    /// The child whose case this document belongs to. A request for help
    /// is filed under its own id until a child's case exists for it (and
    /// after: the request keeps its own audience), so for a request this is
    /// the request's id read as a child's: the id its audience
    /// ([`request_team`]), its audit trail and its storage are keyed by.
    pub fn child(&self) -> ChildId {
        match *self {
            DocKey::Plan(c) | DocKey::Record(c) | DocKey::Agency(c, _) | DocKey::Young(c, _) => c,
            DocKey::Request(r) => ChildId(r.0),
        }
    }

    /// The request, for a request for help.
    pub fn request(&self) -> Option<RequestId> {
        match *self {
            DocKey::Request(r) => Some(r),
            _ => None,
        }
    }

    /// The child of a child's document; `None` for a request for help.
    pub fn child_case(&self) -> Option<ChildId> {
        match self {
            DocKey::Request(_) => None,
            _ => Some(self.child()),
        }
    }

    pub fn kind(&self) -> DocKind {
        match self {
            DocKey::Plan(_) => DocKind::Plan,
            DocKey::Record(_) => DocKind::Record,
            DocKey::Agency(..) => DocKind::Agency,
            DocKey::Young(..) => DocKind::Young,
            DocKey::Request(_) => DocKind::Request,
        }
    }

    /// Whether the document holds a plan (the team's or the young person's copy).
    pub fn is_plan(&self) -> bool {
        matches!(self, DocKey::Plan(_) | DocKey::Young(..))
    }

    /// The agency of an agency record.
    pub fn agency(&self) -> Option<Agency> {
        match *self {
            DocKey::Agency(_, a) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for DocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocKey::Plan(c) => write!(f, "plan/{c}"),
            DocKey::Record(c) => write!(f, "record/{c}"),
            DocKey::Agency(c, a) => write!(f, "agency/{c}/{a}"),
            DocKey::Young(c, n) => write!(f, "young/{c}/{n}"),
            DocKey::Request(r) => write!(f, "request/{r}"),
        }
    }
}

/// A string that is not a document key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a document key (expected plan/<child>, record/<child>, agency/<child>/<agency>, young/<child>/<n> or request/<request>)"
)]
pub struct BadDocKey(pub String);

impl FromStr for DocKey {
    type Err = BadDocKey;
    fn from_str(s: &str) -> Result<Self, BadDocKey> {
        let bad = || BadDocKey(s.to_owned());
        let mut parts = s.split('/');
        let kind = parts.next().ok_or_else(bad)?;
        if kind == "request" {
            let id: RequestId = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            return match parts.next() {
                None => Ok(DocKey::Request(id)),
                Some(_) => Err(bad()),
            };
        }
        let child: ChildId = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let key = match kind {
            "plan" => DocKey::Plan(child),
            "record" => DocKey::Record(child),
            "agency" => DocKey::Agency(
                child,
                parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?,
            ),
            "young" => {
                let raw = parts.next().ok_or_else(bad)?;
                let n: u32 = raw.parse().map_err(|_| bad())?;
                // Generations count from 1 and have one spelling (no sign, no leading zeros).
                if n == 0 || raw != n.to_string() {
                    return Err(bad());
                }
                DocKey::Young(child, n)
            }
            _ => return Err(bad()),
        };
        match parts.next() {
            None => Ok(key),
            Some(_) => Err(bad()),
        }
    }
}

impl From<DocKey> for String {
    fn from(k: DocKey) -> String {
        k.to_string()
    }
}

impl TryFrom<String> for DocKey {
    type Error = BadDocKey;
    fn try_from(s: String) -> Result<Self, BadDocKey> {
        s.parse()
    }
}

/// Why a document could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error(
        "this {kind} was written by a newer Bothy (schema version {found}; this build reads up to {supported}): update the app"
    )]
    SchemaTooNew {
        kind: DocKind,
        found: u64,
        supported: u64,
    },
    #[error("this is not a Bothy {kind}: it has no schema version")]
    NoSchemaVersion { kind: DocKind },
    #[error("this {kind} does not have the shape of its schema: {source}")]
    Shape {
        kind: DocKind,
        #[source]
        source: Box<ShapeError>,
    },
    #[error("this {kind} is not valid at `{}`: {}", problem.path, problem.reason)]
    Invalid {
        kind: DocKind,
        #[source]
        problem: Invalid,
    },
    #[error("could not write the {kind}: {source}")]
    Write {
        kind: DocKind,
        #[source]
        source: Box<WriteError>,
    },
}

/// Why a document (or an item in it) does not have its schema's shape.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("{0} is not stored as this type")]
    NotThisType(DocKey),
    #[error("schema_version is not a whole number")]
    SchemaVersionNotANumber,
    #[error("{0}")]
    Hydrate(#[source] autosurgeon::HydrateError),
    #[error("{0}")]
    Automerge(#[source] automerge::AutomergeError),
    /// Reading it panicked inside Automerge or autosurgeon (contained).
    #[error("{0}")]
    Malformed(#[source] crate::robust::MalformedError),
}

/// Why a change to a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Reconcile(#[source] autosurgeon::ReconcileError),
    #[error("{0}")]
    Automerge(#[source] automerge::AutomergeError),
    /// A map on the way to an item is not in the document.
    #[error("`{segment}` is missing from {key}")]
    Missing { segment: String, key: DocKey },
    /// The write panicked inside Automerge or autosurgeon (contained).
    #[error("{0}")]
    Malformed(#[source] crate::robust::MalformedError),
}

impl DocError {
    pub fn kind(&self) -> DocKind {
        match self {
            DocError::SchemaTooNew { kind, .. }
            | DocError::NoSchemaVersion { kind }
            | DocError::Shape { kind, .. }
            | DocError::Invalid { kind, .. }
            | DocError::Write { kind, .. } => *kind,
        }
    }
}

/// A rule of the schema that a hydrated document breaks, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {reason}")]
pub struct Invalid {
    pub path: String,
    pub reason: String,
}

impl Invalid {
    pub fn at(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// A typed case document: hydrated from and reconciled into Automerge.
pub trait CaseDocument: Hydrate + Reconcile + Sized {
    /// The kinds of key this type is stored under.
    fn fits(key: &DocKey) -> bool;
    /// The schema version the document says it has.
    fn schema_version(&self) -> u64;
    /// Rules the types alone cannot express (ids match their keys, scores in
    /// range, a visit's sharing level matches its document…).
    fn validate(&self, key: &DocKey) -> Result<(), Invalid>;
}

/// Read a typed document, checking its schema version before anything else.
pub fn read_document<T: CaseDocument, D: ReadDoc>(doc: &D, key: &DocKey) -> Result<T, DocError> {
    let kind = key.kind();
    if !T::fits(key) {
        return Err(DocError::Shape {
            kind,
            source: ShapeError::NotThisType(*key).into(),
        });
    }
    schema_version(doc, kind)?;
    let value: T = autosurgeon::hydrate(doc).map_err(|e| DocError::Shape {
        kind,
        source: ShapeError::Hydrate(e).into(),
    })?;
    value
        .validate(key)
        .map_err(|problem| DocError::Invalid { kind, problem })?;
    Ok(value)
}

/// Write `value` into `doc` as the smallest set of operations that turns the
/// document into it (autosurgeon's reconcile), so concurrent edits elsewhere
/// merge field by field.
pub fn write_document<T: CaseDocument>(
    doc: &mut AutoCommit,
    key: &DocKey,
    value: &T,
) -> Result<(), DocError> {
    let kind = key.kind();
    value
        .validate(key)
        .map_err(|problem| DocError::Invalid { kind, problem })?;
    autosurgeon::reconcile(doc, value).map_err(|e| DocError::Write {
        kind,
        source: WriteError::Reconcile(e).into(),
    })
}

/// A new document holding `value`, its first change made by `actor`.
///
/// The change carries no timestamp, so the same value and actor always give
/// the same change hash: the demo server and a device's offline demo hold the
/// very same documents and sync without conflict.
pub fn new_document<T: CaseDocument>(
    key: &DocKey,
    value: &T,
    actor: ActorId,
) -> Result<Automerge, DocError> {
    let mut doc = AutoCommit::new().with_actor(actor);
    write_document(&mut doc, key, value)?;
    doc.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message(format!("create {key}"))
            .with_time(0),
    );
    Ok(doc.document().clone())
}

/// The outcome of [`change_document`].
#[derive(Debug)]
pub struct Edited<R> {
    /// The document with the change applied.
    pub doc: Automerge,
    /// The new change, or `None` if the edit changed nothing.
    pub change: Option<automerge::Change>,
    /// What the edit closure returned.
    pub out: R,
}

/// Make one change to a copy of `before`: hydrate it, let `edit` change the
/// typed value, and reconcile the result as one Automerge change by `actor`.
/// `before` itself is untouched, so the caller can check the change (with
/// [`crate::gate::check_changes`]) before keeping it.
pub fn change_document<T: CaseDocument, R>(
    before: &Automerge,
    key: &DocKey,
    actor: &ActorId,
    message: &str,
    edit: impl FnOnce(&mut T) -> R,
) -> Result<Edited<R>, DocError> {
    let mut value: T = read_document(before, key)?;
    let out = edit(&mut value);
    let (doc, change) = commit_document(before, key, actor, message, &value)?;
    Ok(Edited { doc, change, out })
}

/// Reconcile `value` into a copy of `before` as one change by `actor`.
/// `value` must have been hydrated from `before` (its text fields remember
/// the heads they were read at).
pub fn commit_document<T: CaseDocument>(
    before: &Automerge,
    key: &DocKey,
    actor: &ActorId,
    message: &str,
    value: &T,
) -> Result<(Automerge, Option<automerge::Change>), DocError> {
    let kind = key.kind();
    value
        .validate(key)
        .map_err(|problem| DocError::Invalid { kind, problem })?;
    let mut doc = before.clone().with_actor(actor.clone());
    let heads = doc.get_heads();
    let mut tx = doc.transaction();
    // autosurgeon panics (rather than erring) on a value whose text was read
    // from other heads: contain it so a programming slip is an error, not a crash.
    crate::robust::contain("reconcile", || autosurgeon::reconcile(&mut tx, value))
        .map_err(|e| DocError::Write {
            kind,
            source: WriteError::Malformed(e).into(),
        })?
        .map_err(|e| DocError::Write {
            kind,
            source: WriteError::Reconcile(e).into(),
        })?;
    tx.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message(message.to_owned())
            .with_time(Timestamp::now().0 / 1000),
    );
    let change = doc.get_changes(&heads).into_iter().next();
    Ok((doc, change))
}

/// Any case document, typed by its key.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyDoc {
    Plan(Box<PlanDoc>),
    Record(Box<RecordDoc>),
    Request(Box<RequestDoc>),
}

impl From<PlanDoc> for AnyDoc {
    fn from(p: PlanDoc) -> Self {
        AnyDoc::Plan(Box::new(p))
    }
}

impl From<RecordDoc> for AnyDoc {
    fn from(r: RecordDoc) -> Self {
        AnyDoc::Record(Box::new(r))
    }
}

impl AnyDoc {
    /// Read whichever type `key` is stored as.
    pub fn read<D: ReadDoc>(doc: &D, key: &DocKey) -> Result<AnyDoc, DocError> {
        Ok(match key.kind() {
            DocKind::Plan | DocKind::Young => AnyDoc::Plan(Box::new(read_document(doc, key)?)),
            DocKind::Record | DocKind::Agency => AnyDoc::Record(Box::new(read_document(doc, key)?)),
            DocKind::Request => AnyDoc::Request(Box::new(read_document(doc, key)?)),
        })
    }
}

/// Check that every map entry sits under its own item's id.
pub(crate) fn check_keys<K: PartialEq + fmt::Display, V>(
    path: &str,
    map: &std::collections::BTreeMap<K, V>,
    id_of: impl Fn(&V) -> &K,
) -> Result<(), Invalid> {
    for (k, v) in map {
        if id_of(v) != k {
            return Err(Invalid::at(
                format!("{path}/{k}/id"),
                format!("the item's id is {}, not its key", id_of(v)),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_keys_round_trip_and_reject_junk() {
        let c = ChildId::random();
        for key in [
            DocKey::Plan(c),
            DocKey::Record(c),
            DocKey::Agency(c, Agency::Police),
            DocKey::Young(c, 1),
            DocKey::Young(c, 12),
            DocKey::Request(RequestId(c.0)),
        ] {
            assert_eq!(key.to_string().parse::<DocKey>(), Ok(key));
            assert_eq!(key.child(), c);
            assert_eq!(key.child_case().is_none(), key.request().is_some());
        }
        for junk in [
            "",
            "plan",
            "plan/x",
            "visit/0c1f2a4e-9e0e-4f0e-8a7b-0d1f2e3a4b5c",
            &format!("agency/{c}"),
            &format!("agency/{c}/council"),
            &format!("plan/{c}/extra"),
            &format!("young/{c}"),
            &format!("young/{c}/0"),
            &format!("young/{c}/01"),
            &format!("young/{c}/+1"),
            &format!("young/{c}/x"),
            &format!("young/{c}/1/2"),
            &format!("request/{c}/x"),
            "request/x",
        ] {
            assert!(junk.parse::<DocKey>().is_err(), "{junk} parsed");
        }
    }
}
