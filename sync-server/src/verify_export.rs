//! `bothy-server verify-export`: is an exported plan genuine, and does it
//! match what the server holds? (The export's form is
//! [`bothy_shared::export`]; `docs/exports.md` says what each answer means.)
//!
//! An export is genuine when its signature checks with the public key the
//! server enrolled for the device it names, and its PDF bytes are the ones
//! signed. Then, for each document it was made from, the server says
//! whether it holds every head the device had (if not, the device had
//! changes it had not synced when it made the export: genuine, but made from
//! work the server has not seen), and which of the server's changes came
//! after those heads: who made each (from the audit trail) and when.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{Change, ChangeHash};
use bothy_shared::docs::DocKey;
use bothy_shared::export::{Audience, ExportError, MAX_EXPORT_BYTES, open_export};
use bothy_shared::ids::{ChildId, DeviceId, PersonId};
use bothy_shared::robust::{self, MalformedError};
use serde::Serialize;

use crate::storage::{Storage, StorageError, UnixSeconds};

/// What `verify-export` concluded, with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Genuine, and the server holds everything it was made from. Exit 0.
    Genuine,
    /// Genuine, but made from changes the server has not seen (the device
    /// had not synced them). Exit 3.
    GenuineNotSynced,
    /// Not the bytes the device signed, or not signed by the device it
    /// names: altered or forged. Exit 4.
    Altered,
    /// Signed in the name of a device the server never enrolled. Exit 5.
    UnknownDevice,
    /// Not a PDF, or no (or a malformed) Bothy signature. Exit 6.
    NotAnExport,
}

impl Verdict {
    /// The process exit code (`docs/exports.md`; 1 is "could not check",
    /// 2 bad usage).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Genuine => 0,
            Verdict::GenuineNotSynced => 3,
            Verdict::Altered => 4,
            Verdict::UnknownDevice => 5,
            Verdict::NotAnExport => 6,
        }
    }

    pub fn is_genuine(self) -> bool {
        matches!(self, Verdict::Genuine | Verdict::GenuineNotSynced)
    }
}

/// Why the check could not be made at all (as opposed to a verdict).
#[derive(Debug, thiserror::Error)]
pub enum VerifyExportError {
    #[error("reading the server's database")]
    Storage(#[from] StorageError),
    #[error("a change the server stores does not decode")]
    Malformed(#[from] MalformedError),
    #[error("reading {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One of the server's changes after the export's heads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaterChange {
    pub hash: String,
    /// Who made it, from the audit trail (`None`: the server itself, as
    /// for the young person's copy).
    pub person: Option<PersonId>,
    pub person_name: Option<String>,
    pub device: Option<DeviceId>,
    /// When the device made it (unix seconds, the device's clock).
    pub made_at: i64,
    /// When the server accepted it (unix seconds), if audited.
    pub received_at: Option<UnixSeconds>,
}

/// What the server knows of one document the export was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentCheck {
    pub key: DocKey,
    /// The export's heads the server does not hold (empty: all known).
    pub unknown_heads: Vec<String>,
    /// The server's changes that are not in the export (after its heads).
    pub later: Vec<LaterChange>,
}

/// The full answer.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    pub child: Option<ChildId>,
    pub audience: Option<Audience>,
    pub device: Option<DeviceId>,
    pub device_name: Option<String>,
    pub device_revoked_at: Option<UnixSeconds>,
    pub person: Option<PersonId>,
    /// The signing device's person, as the server's directory names them.
    pub person_name: Option<String>,
    pub agency: Option<String>,
    pub made_at: Option<i64>,
    pub documents: Vec<DocumentCheck>,
}

impl Report {
    fn refused(verdict: Verdict, reason: String) -> Report {
        Report {
            verdict,
            reason,
            child: None,
            audience: None,
            device: None,
            device_name: None,
            device_revoked_at: None,
            person: None,
            person_name: None,
            agency: None,
            made_at: None,
            documents: Vec::new(),
        }
    }

    /// How many of the server's changes came after the export, in all.
    pub fn later_changes(&self) -> usize {
        self.documents.iter().map(|d| d.later.len()).sum()
    }
}

/// Check the export in the file at `path`: refused unread if it is larger
/// than any export ([`MAX_EXPORT_BYTES`]), else as [`verify_export`].
pub fn verify_export_file(
    storage: &dyn Storage,
    path: &std::path::Path,
) -> Result<Report, VerifyExportError> {
    let read = |source| VerifyExportError::Read {
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read)?.len();
    if len > MAX_EXPORT_BYTES as u64 {
        return Ok(Report::refused(
            Verdict::NotAnExport,
            ExportError::TooLarge.to_string(),
        ));
    }
    let bytes = std::fs::read(path).map_err(read)?;
    verify_export(storage, &bytes)
}

/// Check `file` (an export's bytes) against what `storage` holds.
pub fn verify_export(storage: &dyn Storage, file: &[u8]) -> Result<Report, VerifyExportError> {
    let export = match open_export(file) {
        Ok(e) => e,
        Err(e) => return Ok(Report::refused(verdict_of(&e), e.to_string())),
    };
    let m = &export.manifest;
    let Some(device) = storage.device(m.device)? else {
        return Ok(Report::refused(
            Verdict::UnknownDevice,
            format!(
                "signed in the name of device {}, which this server never enrolled",
                m.device
            ),
        ));
    };
    if let Err(e) = export.verify(&device.public_key) {
        return Ok(Report::refused(verdict_of(&e), e.to_string()));
    }
    let person = storage.person(device.person)?;
    let mut documents = Vec::new();
    let mut people: HashMap<PersonId, Option<String>> = HashMap::new();
    let audit: HashMap<String, (Option<DeviceId>, Option<PersonId>, UnixSeconds)> = storage
        .audit_of_child(m.child)?
        .into_iter()
        .filter_map(|e| e.change.map(|c| (c, (e.device, e.person, e.at))))
        .collect();
    for d in &m.documents {
        let stored = storage.changes_after(&d.key, 0)?;
        let mut changes: BTreeMap<ChangeHash, Change> = BTreeMap::new();
        for s in stored {
            let c = robust::decode_change(&s.bytes)?;
            changes.insert(c.hash(), c);
        }
        let unknown: Vec<String> = d
            .heads
            .iter()
            .filter(|h| !changes.contains_key(h))
            .map(|h| h.to_string())
            .collect();
        let known = ancestry(&changes, d.heads.iter().filter(|h| changes.contains_key(h)));
        let mut later: Vec<LaterChange> = changes
            .values()
            .filter(|c| !known.contains(&c.hash()))
            .map(|c| {
                let hash = c.hash().to_string();
                let (device, person, received_at) = match audit.get(&hash) {
                    Some((d, p, at)) => (*d, *p, Some(*at)),
                    None => (None, None, None),
                };
                LaterChange {
                    hash,
                    person,
                    person_name: None,
                    device,
                    made_at: c.timestamp(),
                    received_at,
                }
            })
            .collect();
        for l in &mut later {
            if let Some(p) = l.person {
                if let std::collections::hash_map::Entry::Vacant(e) = people.entry(p) {
                    e.insert(storage.person(p)?.map(|r| r.name));
                }
                l.person_name = people.get(&p).cloned().flatten();
            }
        }
        later.sort_by_key(|l| (l.received_at, l.made_at));
        documents.push(DocumentCheck {
            key: d.key,
            unknown_heads: unknown,
            later,
        });
    }
    let not_synced = documents.iter().any(|d| !d.unknown_heads.is_empty());
    let (verdict, reason) = if not_synced {
        (
            Verdict::GenuineNotSynced,
            "genuine, but made from changes this server has not seen: the device had not synced them"
                .to_owned(),
        )
    } else {
        (
            Verdict::Genuine,
            "genuine: signed by an enrolled device, and the server holds everything it was made from"
                .to_owned(),
        )
    };
    Ok(Report {
        verdict,
        reason,
        child: Some(m.child),
        audience: Some(m.audience),
        device: Some(device.id),
        device_name: Some(device.name.clone()),
        device_revoked_at: device.revoked_at,
        person: Some(device.person),
        person_name: person.as_ref().map(|p| p.name.clone()),
        agency: person
            .as_ref()
            .and_then(|p| p.agency)
            .map(|a| a.label().to_owned()),
        made_at: Some(m.made_at),
        documents,
    })
}

fn verdict_of(e: &ExportError) -> Verdict {
    match e {
        ExportError::BadSignature | ExportError::Altered => Verdict::Altered,
        ExportError::NotPdf
        | ExportError::TooLarge
        | ExportError::NoManifest
        | ExportError::Malformed(_)
        | ExportError::ManifestJson(_)
        | ExportError::Unterminated => Verdict::NotAnExport,
    }
}

/// Every change reachable from `heads` through their dependencies.
fn ancestry<'a>(
    changes: &BTreeMap<ChangeHash, Change>,
    heads: impl Iterator<Item = &'a ChangeHash>,
) -> BTreeSet<ChangeHash> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<ChangeHash> = heads.copied().collect();
    while let Some(h) = todo.pop() {
        if !seen.insert(h) {
            continue;
        }
        if let Some(c) = changes.get(&h) {
            todo.extend(c.deps().iter().copied());
        }
    }
    seen
}

/// Unix seconds as RFC 3339 (or the number, if out of range).
pub fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

impl Report {
    /// The report in words, one line each (what the command prints).
    pub fn lines(&self) -> Vec<String> {
        let head = match self.verdict {
            Verdict::Genuine => "GENUINE",
            Verdict::GenuineNotSynced => "GENUINE, NOT SYNCED",
            Verdict::Altered => "REFUSED: ALTERED OR FORGED",
            Verdict::UnknownDevice => "REFUSED: UNKNOWN DEVICE",
            Verdict::NotAnExport => "REFUSED: NOT A SIGNED BOTHY EXPORT",
        };
        let mut out = vec![format!("{head}: {}", self.reason)];
        if !self.verdict.is_genuine() {
            return out;
        }
        let or_unknown = |s: &Option<String>| s.clone().unwrap_or_else(|| "unknown".to_owned());
        if let Some(device) = self.device {
            out.push(format!(
                "Made by {} ({}) on device {device} (\"{}\")",
                or_unknown(&self.person_name),
                or_unknown(&self.agency),
                or_unknown(&self.device_name),
            ));
        }
        if let Some(at) = self.device_revoked_at {
            out.push(format!("That device was revoked at {}", rfc3339(at)));
        }
        if let (Some(at), Some(audience), Some(child)) = (self.made_at, self.audience, self.child) {
            out.push(format!(
                "Made at {} (the device's clock), for {audience}, of child {child}",
                rfc3339(at)
            ));
        }
        out.push(format!(
            "{} change(s) on the server came after it",
            self.later_changes()
        ));
        for d in &self.documents {
            if d.unknown_heads.is_empty() {
                out.push(format!(
                    "{}: the server holds every change it was made from; {} came after",
                    d.key,
                    d.later.len()
                ));
            } else {
                out.push(format!(
                    "{}: {} of its heads are not on the server (not synced); {} server change(s) are not in it",
                    d.key,
                    d.unknown_heads.len(),
                    d.later.len()
                ));
            }
            for l in &d.later {
                let who = match (&l.person_name, l.person) {
                    (Some(name), _) => name.clone(),
                    (None, Some(p)) => p.to_string(),
                    (None, None) => "the server".to_owned(),
                };
                let device = l
                    .device
                    .map(|d| format!(" on device {d}"))
                    .unwrap_or_default();
                out.push(format!(
                    "  {} by {who}{device} (change {})",
                    rfc3339(l.received_at.unwrap_or(l.made_at)),
                    &l.hash[..12.min(l.hash.len())]
                ));
            }
        }
        out
    }
}
