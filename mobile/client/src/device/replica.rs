//! The device as the sync engine sees it: every step borrows the shared
//! client for that step only, and fails with [`ServiceError::Locked`] if the
//! device was locked meanwhile (the run then stops; nothing is lost).

use automerge::Automerge;
use bothy_shared::docs::DocKey;
use bothy_shared::ids::ChildId;
use bothy_shared::team::TeamChange;
use bothy_shared::wire::{DirectoryView, TeamResult};

use super::Device;
use crate::error::ServiceError;
use crate::store::UnacknowledgedChange;
use crate::sync::{LocalReplica, NewRejection, RefusedChanges, SetAsideOutcome};

impl LocalReplica for Device {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        self.with_service(|c| LocalReplica::meta(c, key))
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), ServiceError> {
        self.with_service(|c| LocalReplica::put_meta(c, key, value))
    }

    fn sync_state(&self, key: &DocKey) -> Result<Option<Vec<u8>>, ServiceError> {
        self.with_service(|c| LocalReplica::sync_state(c, key))
    }

    fn put_sync_state(&mut self, key: &DocKey, state: &[u8]) -> Result<(), ServiceError> {
        self.with_service(|c| LocalReplica::put_sync_state(c, key, state))
    }

    fn with_document<R>(
        &mut self,
        key: &DocKey,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, ServiceError> {
        self.with_service(|c| LocalReplica::with_document(c, key, f))
    }

    fn merge_remote<R>(
        &mut self,
        key: DocKey,
        f: impl FnOnce(&mut Automerge) -> R,
    ) -> Result<(R, usize), ServiceError> {
        self.with_service(|c| LocalReplica::merge_remote(c, key, f))
    }

    fn forget_document(&mut self, key: &DocKey) -> Result<(), ServiceError> {
        self.with_service(|c| LocalReplica::forget_document(c, key))
    }

    fn docs_with_unacknowledged_changes(&self) -> Result<Vec<DocKey>, ServiceError> {
        self.with_service(|c| LocalReplica::docs_with_unacknowledged_changes(c))
    }

    fn unacknowledged_changes(
        &self,
        key: &DocKey,
    ) -> Result<Vec<UnacknowledgedChange>, ServiceError> {
        self.with_service(|c| LocalReplica::unacknowledged_changes(c, key))
    }

    fn mark_acknowledged(&mut self, key: &DocKey, hashes: &[&[u8]]) -> Result<usize, ServiceError> {
        self.with_service(|c| LocalReplica::mark_acknowledged(c, key, hashes))
    }

    fn record_rejection(&mut self, rejection: &NewRejection<'_>) -> Result<bool, ServiceError> {
        self.with_service(|c| LocalReplica::record_rejection(c, rejection))
    }

    fn set_aside_refused(
        &mut self,
        refused: &RefusedChanges,
    ) -> Result<Option<SetAsideOutcome>, ServiceError> {
        self.with_service(|c| LocalReplica::set_aside_refused(c, refused))
    }

    fn update_directory(&mut self, view: &DirectoryView) -> Result<(), ServiceError> {
        self.with_service(|c| LocalReplica::update_directory(c, view))
    }

    fn pending_team_changes(&self) -> Result<Vec<TeamChange>, ServiceError> {
        self.with_service(|c| LocalReplica::pending_team_changes(c))
    }

    fn settle_team_change(&mut self, result: &TeamResult) -> Result<(), ServiceError> {
        self.with_service(|c| LocalReplica::settle_team_change(c, result))
    }

    fn knows_child(&self, child: ChildId) -> Result<bool, ServiceError> {
        self.with_service(|c| LocalReplica::knows_child(c, child))
    }

    fn forget_child(&mut self, child: ChildId) -> Result<(), ServiceError> {
        self.with_service(|c| LocalReplica::forget_child(c, child))
    }
}
