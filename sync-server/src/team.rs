//! Team changes from devices (`POST /v1/team`) and the work kept for
//! supervisors (`GET /v1/kept`).
//!
//! A team change is applied only if [`check_team_change`] allows it against
//! the directory as it is when the change arrives; either way it is kept
//! (`team_changes`) with who asked, about whom, when and why, and audited on
//! the child's plan. Each id is applied once: a retried request gets the
//! answer the first one got.

use bothy_shared::docs::IsoDate;
use bothy_shared::policy::{PersonKind, Principal, Rule};
use bothy_shared::team::{TeamChange, TeamEffect, check_team_change};
use bothy_shared::wire::{KeptChange, KeptResponse, TeamResult, TeamStatus};

use crate::directory::{self, DirectoryError};
use crate::storage::{Storage, StorageError, TeamChangeRecord, UnixSeconds};

/// The answer a kept team change gets.
fn result_of(record: &TeamChangeRecord) -> TeamResult {
    match record.refused {
        None => TeamResult {
            id: record.id,
            status: TeamStatus::Applied,
            rule: None,
            detail: None,
        },
        Some(rule) => TeamResult {
            id: record.id,
            status: TeamStatus::Refused,
            rule: Some(rule.as_str().to_owned()),
            detail: Some(rule.explain().to_owned()),
        },
    }
}

/// The day `now` falls on (UTC).
fn day_of(now: UnixSeconds) -> IsoDate {
    time::OffsetDateTime::from_unix_timestamp(now)
        .map(|t| IsoDate(t.date()))
        .unwrap_or_else(|_| IsoDate::today())
}

/// Apply (or refuse) one team change from `p`'s device.
pub fn apply_team_change(
    storage: &dyn Storage,
    p: &Principal,
    change: &TeamChange,
    now: UnixSeconds,
) -> Result<TeamResult, DirectoryError> {
    if let Some(kept) = storage.team_change(change.id)? {
        return Ok(result_of(&kept));
    }
    let Some(child) = storage.child(change.child)? else {
        // An unknown child reads as one this person may not change.
        return Ok(result_of(&TeamChangeRecord {
            id: change.id,
            child: change.child,
            by: p.person,
            device: p.device,
            action: change.action.clone(),
            refused: Some(Rule::TeamLeadOrSupervisor),
            at: now,
        }));
    };
    let team = storage.team(child.id)?;
    let joiner_agency = storage
        .person(change.action.person())?
        .filter(|person| !matches!(person.kind, PersonKind::YoungPerson { .. }))
        .and_then(|person| person.agency);
    let checked = check_team_change(p, &team, &change.action, joiner_agency, day_of(now));
    let new_documents = match checked {
        Ok(TeamEffect::Join { member, .. }) => {
            directory::agency_record_if_new(storage, &child, member.agency)?
        }
        _ => Vec::new(),
    };
    let record = TeamChangeRecord {
        id: change.id,
        child: child.id,
        by: p.person,
        device: p.device,
        action: change.action.clone(),
        refused: checked.err(),
        at: now,
    };
    if !storage.record_team_change(&record, checked.ok(), &new_documents)? {
        // Another request carried the same id first: its answer stands.
        if let Some(kept) = storage.team_change(change.id)? {
            return Ok(result_of(&kept));
        }
    }
    tracing::info!(
        change = %change.id,
        child = %child.id,
        by = %p.person,
        applied = record.refused.is_none(),
        "team change"
    );
    Ok(result_of(&record))
}

/// Work kept apart (offered, never applied) that `p` may see as a
/// supervisor: offered by someone they supervise, or about a child whose
/// team they supervise. `None` if `p` supervises nobody.
pub fn kept_for(
    storage: &dyn Storage,
    p: &Principal,
) -> Result<Option<KeptResponse>, StorageError> {
    if p.supervises.is_empty() {
        return Ok(None);
    }
    let mut kept = Vec::new();
    for q in storage.quarantined()? {
        let of_theirs = p.supervises.contains(&q.person);
        let of_their_team = || -> Result<bool, StorageError> {
            match storage.team(q.document.child()) {
                Ok(team) => Ok(p.supervises_team(&team, None)),
                Err(StorageError::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        };
        if of_theirs || of_their_team()? {
            kept.push(KeptChange {
                document: q.document,
                person: q.person,
                device: q.device,
                reason: q.reason,
                received_at: q.received_at,
                change: q.bytes,
            });
        }
    }
    Ok(Some(KeptResponse { kept }))
}
