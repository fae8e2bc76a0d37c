//! What the sync engine needs from the device's side: its documents, their
//! sync states, which local changes the server has not acknowledged, a few
//! meta values and the directory.
//!
//! [`Client`] is the real implementation (everything in the encrypted
//! store); the load tool implements it in memory to simulate many devices
//! with the same engine.

use automerge::Automerge;
use bothy_shared::docs::DocKey;
use bothy_shared::ids::ChildId;
use bothy_shared::team::TeamChange;
use bothy_shared::wire::{DirectoryView, TeamResult};

use super::directory::directory_from_view;
use super::set_aside::{RefusedChanges, SetAsideOutcome};
use crate::error::ServiceError;
use crate::services::Client;
use crate::store::UnacknowledgedChange;
use crate::store::tx::NewRejection;

/// The name sync states with the server are stored under
/// (`sync_states.peer`).
pub const SERVER_PEER: &str = "server";

/// A device's local replica, as the sync engine sees it.
pub trait LocalReplica {
    /// A meta value (cursor, credentials, times).
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ServiceError>;
    /// Set a meta value.
    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), ServiceError>;
    /// The persisted (encoded) sync state of a document with the server.
    fn sync_state(&self, key: &DocKey) -> Result<Option<Vec<u8>>, ServiceError>;
    /// Persist a document's sync state. Called only after the document it
    /// describes is persisted.
    fn put_sync_state(&mut self, key: &DocKey, state: &[u8]) -> Result<(), ServiceError>;
    /// Run `f` on the document, if the device holds it. (A closure rather
    /// than a reference, so a replica shared with the app's views can lend
    /// its document for the call only.)
    fn with_document<R>(
        &mut self,
        key: &DocKey,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, ServiceError>;
    /// Let `f` change a copy of the document (empty if new); keep the changes
    /// it adds as received from elsewhere, durably, and return how many.
    fn merge_remote<R>(
        &mut self,
        key: DocKey,
        f: impl FnOnce(&mut Automerge) -> R,
    ) -> Result<(R, usize), ServiceError>;
    /// Delete a document the device may no longer read.
    fn forget_document(&mut self, key: &DocKey) -> Result<(), ServiceError>;
    /// Documents holding changes made here that the server has not acknowledged.
    fn docs_with_unacknowledged_changes(&self) -> Result<Vec<DocKey>, ServiceError>;
    /// A document's changes made here that the server has not acknowledged.
    fn unacknowledged_changes(
        &self,
        key: &DocKey,
    ) -> Result<Vec<UnacknowledgedChange>, ServiceError>;
    /// The server holds these changes now.
    fn mark_acknowledged(&mut self, key: &DocKey, hashes: &[&[u8]]) -> Result<usize, ServiceError>;
    /// Keep a refusal to show the person, unless the same one is already
    /// kept. Returns whether it was new.
    fn record_rejection(&mut self, rejection: &NewRejection<'_>) -> Result<bool, ServiceError>;
    /// Replace the device's directory with what the server says now.
    fn update_directory(&mut self, view: &DirectoryView) -> Result<(), ServiceError>;
    /// Set refused changes aside and remake the edits made after them on
    /// top of what the server holds ([`super::set_aside`]). `None`: this
    /// replica does not (the load tool's), or the document holds none of
    /// them; the engine then only records the refusal.
    fn set_aside_refused(
        &mut self,
        refused: &RefusedChanges,
    ) -> Result<Option<SetAsideOutcome>, ServiceError> {
        let _ = refused;
        Ok(None)
    }

    // Team changes and leaving a team (issue 15). A replica that makes no
    // team changes and keeps no index need not implement these.

    /// Team changes made here that the server has not answered, oldest first.
    fn pending_team_changes(&self) -> Result<Vec<TeamChange>, ServiceError> {
        Ok(Vec::new())
    }
    /// Keep the server's answer to a team change.
    fn settle_team_change(&mut self, _result: &TeamResult) -> Result<(), ServiceError> {
        Ok(())
    }
    /// Whether the device's directory lists `child` (someone here may read
    /// something of theirs).
    fn knows_child(&self, _child: ChildId) -> Result<bool, ServiceError> {
        Ok(true)
    }
    /// Remove everything of `child` from the device (documents, index,
    /// drafts, sync states, meta naming the child).
    fn forget_child(&mut self, _child: ChildId) -> Result<(), ServiceError> {
        Ok(())
    }
}

impl LocalReplica for Client {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        Ok(self.store().meta(key)?)
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), ServiceError> {
        Ok(self.store_mut().put_meta(key, value)?)
    }

    fn sync_state(&self, key: &DocKey) -> Result<Option<Vec<u8>>, ServiceError> {
        Ok(self.store().sync_state(SERVER_PEER, &key.to_string())?)
    }

    fn put_sync_state(&mut self, key: &DocKey, state: &[u8]) -> Result<(), ServiceError> {
        Ok(self
            .store_mut()
            .put_sync_state(SERVER_PEER, &key.to_string(), state)?)
    }

    fn with_document<R>(
        &mut self,
        key: &DocKey,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, ServiceError> {
        Ok(Client::document(self, key)?.map(f))
    }

    fn merge_remote<R>(
        &mut self,
        key: DocKey,
        f: impl FnOnce(&mut Automerge) -> R,
    ) -> Result<(R, usize), ServiceError> {
        Client::merge_remote(self, key, f)
    }

    fn forget_document(&mut self, key: &DocKey) -> Result<(), ServiceError> {
        Client::forget_document(self, key)
    }

    fn docs_with_unacknowledged_changes(&self) -> Result<Vec<DocKey>, ServiceError> {
        Ok(self
            .store()
            .docs_with_unacknowledged_changes()?
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect())
    }

    fn unacknowledged_changes(
        &self,
        key: &DocKey,
    ) -> Result<Vec<UnacknowledgedChange>, ServiceError> {
        Ok(self.store().unacknowledged_changes(&key.to_string())?)
    }

    fn mark_acknowledged(&mut self, key: &DocKey, hashes: &[&[u8]]) -> Result<usize, ServiceError> {
        Ok(self
            .store_mut()
            .mark_acknowledged(&key.to_string(), hashes)?)
    }

    fn record_rejection(&mut self, rejection: &NewRejection<'_>) -> Result<bool, ServiceError> {
        let known = self.store().rejections()?.iter().any(|r| {
            r.doc_key == rejection.doc_key
                && r.change_hash.as_deref() == rejection.change_hash
                && r.rule == rejection.rule
        });
        if known {
            return Ok(false);
        }
        self.store_mut().add_rejection(rejection)?;
        Ok(true)
    }

    fn set_aside_refused(
        &mut self,
        refused: &RefusedChanges,
    ) -> Result<Option<SetAsideOutcome>, ServiceError> {
        Client::set_aside_refused(self, refused)
    }

    fn update_directory(&mut self, view: &DirectoryView) -> Result<(), ServiceError> {
        let dir = directory_from_view(view, self.me().device, Some(self.directory()))?;
        if &dir != self.directory() {
            self.set_directory(dir)?;
        }
        Ok(())
    }

    fn pending_team_changes(&self) -> Result<Vec<TeamChange>, ServiceError> {
        Client::pending_team_changes(self)
    }

    fn settle_team_change(&mut self, result: &TeamResult) -> Result<(), ServiceError> {
        Client::settle_team_change(self, result)
    }

    fn knows_child(&self, child: ChildId) -> Result<bool, ServiceError> {
        Ok(self.directory().teams.contains_key(&child))
    }

    fn forget_child(&mut self, child: ChildId) -> Result<(), ServiceError> {
        Client::forget_child(self, child)
    }
}
