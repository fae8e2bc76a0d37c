//! A child's case for a partnership's case system (`bothy-server export`):
//! the plan, the team record, the agency records the caller names and the
//! requests for help accepted for the child, each document whole as JSON
//! with the heads it was read at. `docs/case-export.md` is its schema.
//!
//! Read-only: nothing in the case changes. Every export is audited before a
//! byte of it is written out ([`Storage::record_export`]): who ran it, when,
//! the command and the documents it held, on the child's audit trail.

use automerge::{AutoSerde, Automerge};
use bothy_shared::docs::{DocKey, PlanDoc, RecordDoc, RequestDoc, SCHEMA_VERSION, Timestamp};
use bothy_shared::ids::{Agency, ChildId};
use serde::Serialize;

use super::{ReportError, load};
use crate::storage::{CaseExport, Storage, UnixSeconds};

/// The name and version of the export's own shape (`docs/case-export.md`).
pub const FORMAT: &str = "bothy-case-export";
pub const FORMAT_VERSION: u32 = 1;

/// What to export, and who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub child: ChildId,
    /// The agencies whose records go in (the team's plan and record always do).
    pub agencies: Vec<Agency>,
    /// Who runs it (kept in the audit).
    pub by: String,
    /// The command as given, without where it is written (kept in the audit).
    pub command: String,
    pub at: UnixSeconds,
}

/// One document as exported.
#[derive(Serialize)]
struct Exported<'a> {
    key: String,
    /// The document's heads (hex change hashes): exactly which changes this
    /// export holds.
    heads: Vec<String>,
    /// The document as JSON, field by field as `docs/documents.md` says.
    content: AutoSerde<'a, Automerge>,
}

#[derive(Serialize)]
struct AgencyExported<'a> {
    agency: Agency,
    #[serde(flatten)]
    document: Exported<'a>,
}

#[derive(Serialize)]
struct CaseJson<'a> {
    format: &'static str,
    format_version: u32,
    schema_version: u64,
    exported_at: String,
    exported_by: &'a str,
    child: ChildId,
    agencies_named: &'a [Agency],
    plan: Exported<'a>,
    record: Option<Exported<'a>>,
    agency_records: Vec<AgencyExported<'a>>,
    requests_for_help: Vec<Exported<'a>>,
}

/// A document loaded and checked against its schema (so nothing that does
/// not read as a Bothy document leaves as if it did).
struct Checked {
    key: DocKey,
    doc: Automerge,
}

impl Checked {
    fn load<T: bothy_shared::docs::CaseDocument>(
        storage: &dyn Storage,
        key: DocKey,
    ) -> Result<Checked, ReportError> {
        let doc = load(storage, &key)?;
        super::read_loaded::<T>(&doc, &key)?;
        Ok(Checked { key, doc })
    }

    fn exported(&self) -> Exported<'_> {
        Exported {
            key: self.key.to_string(),
            heads: self.doc.get_heads().iter().map(|h| h.to_string()).collect(),
            content: AutoSerde::from(&self.doc),
        }
    }
}

/// Export a child's case as JSON, auditing it first.
pub fn export_case(storage: &dyn Storage, req: &ExportRequest) -> Result<String, ReportError> {
    if storage.child(req.child)?.is_none() {
        return Err(ReportError::NoChild(req.child));
    }
    let keys = storage.documents_of_child(req.child)?;
    let plan = Checked::load::<PlanDoc>(storage, DocKey::Plan(req.child))?;
    let record = keys
        .iter()
        .find(|k| matches!(k, DocKey::Record(_)))
        .map(|k| Checked::load::<RecordDoc>(storage, *k))
        .transpose()?;
    let mut agencies = Vec::new();
    for agency in &req.agencies {
        let key = DocKey::Agency(req.child, *agency);
        if keys.contains(&key) && !agencies.iter().any(|(a, _)| a == agency) {
            agencies.push((*agency, Checked::load::<RecordDoc>(storage, key)?));
        }
    }
    let mut requests = Vec::new();
    let people = storage.people()?.into_iter().map(|p| p.id).collect();
    for r in storage.requests_of(&people)? {
        if r.child == Some(req.child) {
            requests.push(Checked::load::<RequestDoc>(storage, DocKey::Request(r.id))?);
        }
    }
    requests.sort_by_key(|c| c.key);

    let documents: Vec<DocKey> = std::iter::once(plan.key)
        .chain(record.iter().map(|c| c.key))
        .chain(agencies.iter().map(|(_, c)| c.key))
        .chain(requests.iter().map(|c| c.key))
        .collect();
    storage.record_export(&CaseExport {
        child: req.child,
        at: req.at,
        by: req.by.clone(),
        command: req.command.clone(),
        documents,
    })?;

    let json = CaseJson {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        schema_version: SCHEMA_VERSION,
        exported_at: Timestamp(req.at.saturating_mul(1000)).to_string(),
        exported_by: &req.by,
        child: req.child,
        agencies_named: &req.agencies,
        plan: plan.exported(),
        record: record.as_ref().map(Checked::exported),
        agency_records: agencies
            .iter()
            .map(|(agency, c)| AgencyExported {
                agency: *agency,
                document: c.exported(),
            })
            .collect(),
        requests_for_help: requests.iter().map(Checked::exported).collect(),
    };
    let mut out = serde_json::to_string_pretty(&json)?;
    out.push('\n');
    Ok(out)
}
