//! What the app's sync screen shows: where this device syncs, when it last
//! did, what is waiting to go, and every change the server refused, in words.
//!
//! Here, beside the engine that writes what it reads (the meta keys, the
//! refusals), rather than in the services: the services never reach up to
//! the sync engine.

use std::collections::BTreeMap;

use bothy_shared::docs::{DocKey, Timestamp};
use bothy_shared::ids::ChildId;
use serde::Serialize;

use super::enrol::{stored_last_sync, text_meta};
use super::meta;
use crate::error::ServiceError;
use crate::services::Client;

/// A change the server refused, as the person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalView {
    /// Which document, in words ("Kai Robertson's plan").
    pub document: String,
    /// The document's key (`record/<child>`).
    pub key: String,
    /// The child whose document it is, if the key reads as one.
    pub child: Option<ChildId>,
    /// Lowercase hex of the refused change (empty when the server named none).
    pub change: String,
    /// The policy rule the server named.
    pub rule: String,
    /// Where in the document (empty when not named).
    pub path: String,
    /// The server's explanation.
    pub message: String,
    /// The words the change would have written, to copy (empty when none,
    /// or when the change was not set aside).
    pub words: String,
    /// When this device was told.
    pub at: Timestamp,
}

/// The device's sync state between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// The server this device is enrolled with (`None`: not enrolled).
    pub server: Option<String>,
    /// Unix seconds of the last complete sync.
    pub last_sync: Option<i64>,
    /// Changes made here that the server has not acknowledged.
    pub unsynced: usize,
    /// Refused changes, newest first.
    pub refusals: Vec<RefusalView>,
}

impl Client {
    /// Every change the server refused, newest first, with why and the
    /// words it would have written (what `bothy refused` prints).
    pub fn refused_work(&self) -> Result<Vec<RefusalView>, ServiceError> {
        Ok(self.sync_status()?.refusals)
    }

    /// The refused work of one child's documents, newest first (the notice
    /// on the child's page).
    pub fn refused_work_of(&self, child: ChildId) -> Result<Vec<RefusalView>, ServiceError> {
        let mut all = self.refused_work()?;
        all.retain(|r| r.child == Some(child));
        Ok(all)
    }

    /// Where sync stands on this device.
    pub fn sync_status(&self) -> Result<SyncStatus, ServiceError> {
        let server = text_meta(self, meta::SERVER)?;
        let last_sync = stored_last_sync(self)?;
        let rejections = self.store().rejections()?;
        // Children's names only when there is a refusal to name (the app
        // asks for this status on every screen).
        let names: BTreeMap<ChildId, String> = if rejections.is_empty() {
            BTreeMap::new()
        } else {
            self.caseload(None)?
                .into_iter()
                .map(|c| (c.child, c.name))
                .collect()
        };
        let mut refusals: Vec<RefusalView> = rejections
            .into_iter()
            .map(|r| RefusalView {
                document: describe(&r.doc_key, &names),
                child: r.doc_key.parse::<DocKey>().ok().map(|k| k.child()),
                key: r.doc_key,
                change: r
                    .change_hash
                    .as_deref()
                    .map(hex::encode)
                    .unwrap_or_default(),
                rule: r.rule,
                path: r.path,
                message: r.message,
                words: r.words,
                at: Timestamp(r.at),
            })
            .collect();
        refusals.sort_by_key(|r| std::cmp::Reverse(r.at));
        Ok(SyncStatus {
            server,
            last_sync,
            unsynced: self.unsynced_changes()?,
            refusals,
        })
    }
}

/// "Kai Robertson's plan", "Kai Robertson's record", "Kai Robertson's
/// Health record"; the key itself if it cannot be read.
fn describe(key: &str, names: &BTreeMap<ChildId, String>) -> String {
    let Ok(doc) = key.parse::<DocKey>() else {
        return key.to_owned();
    };
    let whose = names
        .get(&doc.child())
        .map(|n| format!("{n}'s"))
        .unwrap_or_else(|| "A child's".to_owned());
    match doc {
        DocKey::Plan(_) => format!("{whose} plan"),
        DocKey::Record(_) => format!("{whose} record"),
        DocKey::Agency(_, agency) => format!("{whose} {} record", agency.label()),
        DocKey::Young(..) => format!("{whose} own plan"),
        DocKey::Request(_) => "A request for help".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bothy_shared::ids::Agency;

    #[test]
    fn documents_are_named_in_words() {
        let child = ChildId::random();
        let names = BTreeMap::from([(child, "Kai Robertson".to_owned())]);
        assert_eq!(
            describe(&DocKey::Plan(child).to_string(), &names),
            "Kai Robertson's plan"
        );
        assert_eq!(
            describe(&DocKey::Agency(child, Agency::Health).to_string(), &names),
            format!("Kai Robertson's {} record", Agency::Health.label())
        );
        assert_eq!(
            describe(&DocKey::Record(ChildId::random()).to_string(), &names),
            "A child's record"
        );
        assert_eq!(describe("nonsense", &names), "nonsense");
    }
}
