//! The engine's part in team changes (issue 15), kept apart from the run
//! loop: sending the team changes made here (`/v1/team`), and leaving a
//! child's team: unsynced work in documents the server says are `gone` is
//! offered (`/v1/offer`, kept for the supervisor) before they are deleted,
//! and once the directory no longer lists the child, everything of the
//! child goes from the device, and the deleted keys are acknowledged at
//! once so that no meta value names the child either.

use std::collections::BTreeSet;

use bothy_shared::docs::DocKey;
use bothy_shared::ids::ChildId;
use bothy_shared::wire::{
    self, ChangedRequest, ChangedResponse, KeptResponse, OfferRequest, OfferResponse, OfferedDoc,
    TeamRequest, TeamResponse, TeamStatus,
};

use super::super::{BadResponse, LocalReplica, SyncError, SyncReport, TeamOutcome, meta};
use super::SyncEngine;
use crate::error::ServiceError;
use crate::sync::Traffic;

/// The changes made here that the server never acknowledged, of each of
/// `keys` that has some: what an offer carries.
pub(super) fn unsynced<L: LocalReplica>(
    local: &L,
    keys: &[DocKey],
) -> Result<Vec<OfferedDoc>, SyncError> {
    let mut docs = Vec::new();
    for key in keys {
        let changes: Vec<Vec<u8>> = local
            .unacknowledged_changes(key)?
            .into_iter()
            .map(|c| c.bytes)
            .collect();
        if !changes.is_empty() {
            docs.push(OfferedDoc { key: *key, changes });
        }
    }
    Ok(docs)
}

impl SyncEngine {
    /// For a supervisor: the work the server keeps apart for them
    /// (`GET /v1/kept`): changes offered by people they supervise who left
    /// a team or whose device was revoked, never applied. `Refused` with
    /// `forbidden` for someone who supervises nobody.
    pub async fn kept_work(&self) -> Result<KeptResponse, SyncError> {
        self.transport
            .get(wire::PATH_KEPT, &mut Traffic::default())
            .await
    }

    /// Send the team changes made here, oldest first, and keep each answer.
    /// When one was applied the directory is fetched again, so the team
    /// shown is the server's.
    pub(super) async fn push_team_changes<L: LocalReplica>(
        &self,
        local: &mut L,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let pending = local.pending_team_changes()?;
        for chunk in pending.chunks(wire::MAX_DOCS_PER_REQUEST) {
            let resp: TeamResponse = self
                .transport
                .post(
                    wire::PATH_TEAM,
                    &TeamRequest {
                        changes: chunk.to_vec(),
                    },
                    &mut report.traffic,
                )
                .await?;
            if resp.results.len() != chunk.len()
                || resp.results.iter().zip(chunk).any(|(r, c)| r.id != c.id)
            {
                return Err(SyncError::bad(BadResponse::RepliesDoNotMatch));
            }
            for (change, result) in chunk.iter().zip(resp.results) {
                local.settle_team_change(&result)?;
                report.team.push(TeamOutcome {
                    change: change.clone(),
                    applied: result.status == TeamStatus::Applied,
                    rule: result.rule,
                    explanation: result.detail,
                });
            }
        }
        if report.team.iter().any(|t| t.applied) {
            self.refresh_directory(local, &mut report.traffic).await?;
            report.directory_refreshed = true;
        }
        Ok(())
    }

    /// Offer the unsynced changes held in documents about to be deleted as
    /// `gone` (the young person's older copies excepted: the server takes
    /// those through `/v1/sync`). Only once the server holds them may the
    /// documents go.
    pub(super) async fn offer_gone<L: LocalReplica>(
        &self,
        local: &mut L,
        gone: &[DocKey],
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let keys: Vec<DocKey> = gone
            .iter()
            .filter(|k| !matches!(k, DocKey::Young(..)))
            .copied()
            .collect();
        let docs = unsynced(local, &keys)?;
        report.offered += self.post_offers(&docs, &mut report.traffic).await?;
        Ok(())
    }

    /// `POST /v1/offer` these documents' changes, as many per request as
    /// the options allow. Returns how many the server kept.
    pub(super) async fn post_offers(
        &self,
        docs: &[OfferedDoc],
        traffic: &mut Traffic,
    ) -> Result<u64, SyncError> {
        let mut received = 0;
        for chunk in docs.chunks(self.options.max_docs_per_request.max(1)) {
            let resp: OfferResponse = self
                .transport
                .post(
                    wire::PATH_OFFER,
                    &OfferRequest {
                        docs: chunk.to_vec(),
                    },
                    traffic,
                )
                .await?;
            received += resp.received;
        }
        Ok(received)
    }

    /// After the directory was refreshed: every child of `gone` it no
    /// longer lists is forgotten entirely.
    pub(super) fn leave_children<L: LocalReplica>(
        &self,
        local: &mut L,
        gone: &[DocKey],
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let children: BTreeSet<ChildId> = gone.iter().map(DocKey::child).collect();
        for child in children {
            if !local.knows_child(child)? {
                local.forget_child(child)?;
                report.left.push(child);
            }
        }
        Ok(())
    }

    /// After a run that left a child: acknowledge the deleted documents now
    /// (the same question again, with the stored cursor), so the device
    /// keeps no list naming them until its next run. What the answer says
    /// changed is asked again next run from the same cursor.
    pub(super) async fn acknowledge_left<L: LocalReplica>(
        &self,
        local: &mut L,
        cursor: &str,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        if report.left.is_empty() {
            return Ok(());
        }
        let dropped: Vec<DocKey> = local
            .meta(meta::DROPPED)?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if dropped.is_empty() {
            return Ok(());
        }
        let _: ChangedResponse = self
            .transport
            .post(
                wire::PATH_CHANGED,
                &ChangedRequest {
                    cursor: Some(cursor.to_owned()),
                    dropped,
                },
                &mut report.traffic,
            )
            .await?;
        // Anything gone since is listed again next run and deleted then.
        let none = serde_json::to_vec(&Vec::<DocKey>::new()).map_err(ServiceError::Directory)?;
        local.put_meta(meta::DROPPED, &none)?;
        Ok(())
    }
}
