//! Refused work, kept and shown: what `GET /v1/refused` and
//! `bothy-server refused` read.
//!
//! `/v1/sync` keeps every change the gate refuses (`storage::RefusedChange`,
//! bounded per device) and never applies it. Who may read one: the person
//! whose device sent it and the supervisors of that person, nobody else,
//! whatever the document; the change's words are decoded here, from its
//! operations, so a device need not hold its document to show them.

use std::collections::{BTreeMap, BTreeSet};

use bothy_shared::ids::PersonId;
use bothy_shared::policy::{Principal, Rule};
use bothy_shared::refused::{BUILT_ON_REFUSED, BUILT_ON_REFUSED_EXPLAINED, words_of_change};
use bothy_shared::robust;
use bothy_shared::wire::{RefusedChangeView, RefusedResponse};

use crate::storage::{RefusedChange, Storage, StorageError};

/// The refused changes `p` may read: their own and, for a supervisor, those
/// of the people they supervise; oldest first.
pub fn refused_for(storage: &dyn Storage, p: &Principal) -> Result<RefusedResponse, StorageError> {
    let mut people: BTreeSet<PersonId> = p.supervises.clone();
    people.insert(p.person);
    let kept = storage.refused_changes(Some(&people))?;
    Ok(RefusedResponse {
        refused: views(storage, kept)?,
    })
}

/// Every refused change kept (for an administrator).
pub fn all_refused(storage: &dyn Storage) -> Result<Vec<RefusedChangeView>, StorageError> {
    let kept = storage.refused_changes(None)?;
    views(storage, kept)
}

fn views(
    storage: &dyn Storage,
    kept: Vec<RefusedChange>,
) -> Result<Vec<RefusedChangeView>, StorageError> {
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let names: BTreeMap<PersonId, String> = storage
        .people()?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(kept
        .into_iter()
        .map(|r| {
            let name = names.get(&r.person).cloned().unwrap_or_default();
            view(r, name)
        })
        .collect())
}

/// One kept change as the wire shows it, its words decoded from its bytes
/// (none if they do not decode: the row is shown all the same).
pub fn view(r: RefusedChange, name: String) -> RefusedChangeView {
    let words = robust::decode_change(&r.bytes)
        .ok()
        .and_then(|c| words_of_change(&c).ok())
        .unwrap_or_default();
    RefusedChangeView {
        person: r.person,
        name,
        device: r.device,
        document: r.document,
        change: r.hash,
        explanation: explain(&r.rule).to_owned(),
        rule: r.rule,
        path: r.path,
        words,
        at: r.refused_at,
    }
}

/// The rule's explanation, by its stable name.
pub fn explain(rule: &str) -> &'static str {
    if rule == BUILT_ON_REFUSED {
        return BUILT_ON_REFUSED_EXPLAINED;
    }
    Rule::from_slug(rule).map_or("The server did not accept this change.", Rule::explain)
}
