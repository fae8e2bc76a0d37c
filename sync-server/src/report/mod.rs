//! What leaves the server for people outside Bothy: the partnership's
//! outcomes report ([`outcomes`], `bothy-server report outcomes`) and a
//! child's case for a partnership's case system ([`export`],
//! `bothy-server export`).
//!
//! Both read documents straight from storage (a sealed storage opens them on
//! the way out), merged from every stored change, never from a device. This
//! module owns that reading; [`suppress`] owns how small numbers are hidden.

pub mod export;
pub mod outcomes;
pub mod render;
pub mod suppress;

use automerge::Automerge;
use bothy_shared::docs::{
    CaseDocument, DocError, DocKey, IsoDate, PlanDoc, RecordDoc, RequestDoc, read_document,
};
use bothy_shared::ids::ChildId;
use bothy_shared::robust::{self, MalformedError};

use crate::storage::{RequestRecord, Storage, StorageError};

/// Why a report or an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("reading the database failed")]
    Storage(#[from] StorageError),
    /// A document's stored changes do not make a document.
    #[error("the stored changes of {key} do not make a document")]
    Malformed {
        key: DocKey,
        #[source]
        cause: MalformedError,
    },
    /// A document does not read as its schema.
    #[error("{key} does not read as a Bothy document")]
    Document {
        key: DocKey,
        #[source]
        cause: DocError,
    },
    /// A child's case has no plan stored (the database is damaged).
    #[error("child {0} has no plan stored")]
    NoPlan(ChildId),
    #[error("the period starts on {from}, after it ends on {to}")]
    PeriodBackwards { from: IsoDate, to: IsoDate },
    #[error("no child {0} (never added, or erased)")]
    NoChild(ChildId),
    #[error("drawing a chart failed")]
    Chart(#[from] bothy_shared::outcomes::ChartError),
    #[error("writing JSON failed")]
    Json(#[from] serde_json::Error),
    /// A thread reading cases stopped without an answer (it panicked).
    #[error("a thread reading the cases stopped unexpectedly")]
    Worker,
}

/// A document as stored now: every stored change merged.
pub fn load(storage: &dyn Storage, key: &DocKey) -> Result<Automerge, ReportError> {
    let malformed = |cause| ReportError::Malformed { key: *key, cause };
    let changes = storage
        .changes_after(key, 0)?
        .iter()
        .map(|c| robust::decode_change(&c.bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(malformed)?;
    robust::apply_changes(&Automerge::new(), &changes).map_err(malformed)
}

/// A document as stored now, read as its type.
pub fn read<T: CaseDocument>(storage: &dyn Storage, key: &DocKey) -> Result<T, ReportError> {
    read_loaded(&load(storage, key)?, key)
}

pub(super) fn read_loaded<T: CaseDocument>(
    doc: &Automerge,
    key: &DocKey,
) -> Result<T, ReportError> {
    read_document(doc, key).map_err(|cause| ReportError::Document { key: *key, cause })
}

/// One child's case as stored: the plan, the team record, and each agency
/// record (in agency order).
#[derive(Debug, Clone)]
pub struct Case {
    pub plan: PlanDoc,
    pub record: Option<RecordDoc>,
    pub agencies: Vec<RecordDoc>,
}

impl Case {
    /// Read a child's case (the young person's copies are left out: they
    /// hold nothing the plan does not).
    pub fn read(storage: &dyn Storage, child: ChildId) -> Result<Case, ReportError> {
        let mut plan = None;
        let mut record = None;
        let mut agencies = Vec::new();
        for key in storage.documents_of_child(child)? {
            match key {
                DocKey::Plan(_) => plan = Some(read(storage, &key)?),
                DocKey::Record(_) => record = Some(read(storage, &key)?),
                DocKey::Agency(..) => agencies.push(read::<RecordDoc>(storage, &key)?),
                DocKey::Young(..) | DocKey::Request(_) => {}
            }
        }
        agencies.sort_by_key(|r| r.agency);
        Ok(Case {
            plan: plan.ok_or(ReportError::NoPlan(child))?,
            record,
            agencies,
        })
    }

    /// The team record and the agency records.
    pub fn records(&self) -> Vec<&RecordDoc> {
        self.record.iter().chain(&self.agencies).collect()
    }
}

/// Every request for help filed, with its document.
pub fn requests(storage: &dyn Storage) -> Result<Vec<(RequestRecord, RequestDoc)>, ReportError> {
    // Every request has a sender in the directory: asking for every
    // person's requests is asking for all of them.
    let people = storage.people()?.into_iter().map(|p| p.id).collect();
    let mut out = Vec::new();
    for record in storage.requests_of(&people)? {
        let key = DocKey::Request(record.id);
        match read_document(&load(storage, &key)?, &key) {
            Ok(doc) => out.push((record, doc)),
            // Filed, but the sender's first change has not arrived: nothing
            // was sent yet, nothing to count.
            Err(DocError::NoSchemaVersion { .. }) => {}
            Err(cause) => return Err(ReportError::Document { key, cause }),
        }
    }
    Ok(out)
}
