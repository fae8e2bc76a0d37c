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
    /// The policy rule the server named.
    pub rule: String,
    /// The server's explanation.
    pub message: String,
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
                rule: r.rule,
                message: r.message,
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
