//! A child's plan exported as a signed PDF, for a review meeting or a
//! Children's Hearing (`docs/exports.md`).
//!
//! [`Client::export_plan`] lays the plan out ([`plan`], [`pdf`]) for one
//! [`Audience`]: the team's version is the team's plan document as it
//! stands on this device; the young person's version is made from the young
//! person's copy (on a young person's own device, the copy it holds; on a
//! practitioner's, the team's plan projected by the same [`young_copy`] the
//! server uses), so no withheld part is in it, and says it in the words of
//! "My plan". The PDF is then signed ([`bothy_shared::export`]) with this
//! device's enrolled key, naming each document it was made from and its
//! heads. [`Client::save_export`] writes it into `exports/` in the data
//! folder.
//!
//! This module sits over `services` (it reads plans and "My plan" through
//! the client) and reads the device's key from the store (the meta key the
//! sync module keeps it under); nothing below it imports it.

mod pdf;
mod plan;

use std::path::PathBuf;

use bothy_shared::docs::{DocKey, PlanDoc, Timestamp, read_document, young_copy};
use bothy_shared::export::{Audience, ExportManifest, ExportedDocument, sign_export};
use bothy_shared::ids::{ChildId, DeviceId};
use bothy_shared::policy::PersonKind;
use bothy_shared::signing::{RequestSigner, SigningError};
use zeroize::Zeroizing;

pub use pdf::{PdfError, win_ansi};

use crate::error::ServiceError;
use crate::services::{Client, MyPlan};
use crate::sync::meta;

/// The folder, inside the data folder, exports are saved in.
pub const EXPORTS_DIR: &str = "exports";

/// Why a plan could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the plan failed (no such child on this device, a damaged
    /// document, the store).
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(
        "this device has no key to sign with: enrol it with the server first (the offline demo cannot sign exports)"
    )]
    NoKey,
    #[error("the device's key does not read")]
    Key(#[source] SigningError),
    #[error("a young person can export only their own plan, in their own version")]
    NotYours,
    #[error("laying out the PDF failed")]
    Pdf(#[from] PdfError),
    #[error("signing the export failed")]
    Sign(#[from] bothy_shared::export::ExportError),
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A signed export.
#[derive(Debug, Clone)]
pub struct PlanExport {
    /// The PDF with its signature lines: the file's bytes.
    pub bytes: Vec<u8>,
    pub manifest: ExportManifest,
    /// How many pages.
    pub pages: usize,
    /// A file name for it: `plan-<name>-<audience>-<YYYYMMDD-HHMMSS>.pdf`.
    pub file_name: String,
}

impl Client {
    /// The device's signer: its id and enrolled key, from the store.
    fn export_signer(&self) -> Result<RequestSigner, ExportError> {
        let store = self.store();
        let device: DeviceId = store
            .meta(meta::DEVICE)
            .map_err(ServiceError::from)?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|d| d.parse().ok())
            .ok_or(ExportError::NoKey)?;
        let pkcs8 = Zeroizing::new(
            store
                .meta(meta::DEVICE_KEY)
                .map_err(ServiceError::from)?
                .ok_or(ExportError::NoKey)?,
        );
        RequestSigner::from_pkcs8(device, &pkcs8).map_err(ExportError::Key)
    }

    /// The child a young person using this device is, if they are one.
    fn young_persons_child(&self) -> Option<ChildId> {
        match self.me().kind {
            PersonKind::YoungPerson { child } => Some(child),
            _ => None,
        }
    }

    fn plan_and_heads(
        &mut self,
        key: &DocKey,
    ) -> Result<(PlanDoc, ExportedDocument), ServiceError> {
        let doc = self
            .document(key)?
            .ok_or_else(|| ServiceError::not_found("plan", key))?;
        let plan: PlanDoc = read_document(doc, key)?;
        let heads = doc.get_heads();
        Ok((plan, ExportedDocument { key: *key, heads }))
    }

    /// Make `child`'s plan as a signed PDF for `audience`. A young person
    /// may export only their own plan, in the young person's version.
    pub fn export_plan(
        &mut self,
        child: ChildId,
        audience: Audience,
    ) -> Result<PlanExport, ExportError> {
        let signer = self.export_signer()?;
        let now = Timestamp::now();
        let made = plan::MadeBy {
            name: self.me().name.clone(),
            role: self.me().role_title.clone(),
            at: now,
        };
        let (blocks, document, name) = match (self.young_persons_child(), audience) {
            (Some(mine), Audience::YoungPerson) if mine == child => {
                let key = self.my_copy_key()?;
                let (copy, document) = self.plan_and_heads(&key)?;
                let blocks = plan::young_person(&copy, &MyPlan::of(&copy), &made);
                (blocks, document, copy.child.name)
            }
            (Some(_), _) => return Err(ExportError::NotYours),
            (None, audience) => {
                let (team_plan, document) = self.plan_and_heads(&DocKey::Plan(child))?;
                let blocks = match audience {
                    Audience::Team => plan::team(&team_plan, &made),
                    Audience::YoungPerson => {
                        let copy = young_copy(&team_plan);
                        plan::young_person(&copy, &MyPlan::of(&copy), &made)
                    }
                };
                (blocks, document, team_plan.child.name)
            }
        };
        let footer = format!(
            "Made by {} on device {} at {} — check with bothy-server verify-export",
            made.name,
            signer.device(),
            plan::date_time(now)
        );
        let title = match audience {
            Audience::Team => format!("Child's plan: {name}"),
            Audience::YoungPerson => format!("My plan: {name}"),
        };
        let (pdf, pages) = pdf::render(&title, &footer, &blocks)?;
        let manifest = ExportManifest {
            child,
            audience,
            device: signer.device(),
            person: self.me().person,
            person_name: made.name.clone(),
            made_at: now.0.div_euclid(1000),
            documents: vec![document],
            pdf_sha256: String::new(),
            pdf_len: 0,
        };
        let (bytes, manifest) = sign_export(pdf, manifest, &signer)?;
        Ok(PlanExport {
            bytes,
            manifest,
            pages,
            file_name: file_name(&name, audience, now),
        })
    }

    /// [`export_plan`](Self::export_plan), saved in the data folder's
    /// `exports/` (made if absent): returns where.
    pub fn save_export(
        &mut self,
        child: ChildId,
        audience: Audience,
    ) -> Result<(PathBuf, PlanExport), ExportError> {
        let export = self.export_plan(child, audience)?;
        let dir = self.store().dir().join(EXPORTS_DIR);
        let path = dir.join(&export.file_name);
        let write = |path: PathBuf, r: std::io::Result<()>| {
            r.map_err(|source| ExportError::Write { path, source })
        };
        write(dir.clone(), std::fs::create_dir_all(&dir))?;
        write(path.clone(), std::fs::write(&path, &export.bytes))?;
        Ok((path, export))
    }
}

/// `plan-kai-robertson-team-20261203-140501.pdf`: the name in lowercase
/// ASCII letters and digits, words joined by `-`.
fn file_name(name: &str, audience: Audience, at: Timestamp) -> String {
    let slug: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let slug = if slug.is_empty() {
        "child".to_owned()
    } else {
        slug.join("-")
    };
    let when = at
        .to_datetime()
        .map(|t| {
            format!(
                "{:04}{:02}{:02}-{:02}{:02}{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|| at.0.to_string());
    format!("plan-{slug}-{audience}-{when}.pdf")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_plain_ascii() {
        let name = file_name("Kai O’Brien-Robertson", Audience::YoungPerson, Timestamp(0));
        assert_eq!(
            name,
            "plan-kai-o-brien-robertson-young-person-19700101-000000.pdf"
        );
    }
}
