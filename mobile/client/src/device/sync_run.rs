//! Sync runs started by the device: one at a time, its progress forwarded to
//! every window, and the wipe when an administrator revoked the device.

use std::sync::Arc;

use super::Device;
use crate::error::ServiceError;
use crate::sync::{self, SyncEngine, SyncError, SyncOptions, SyncReport, WipeReport};

/// Why a sync run the device started did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SyncRunError {
    /// Another run is under way (from this window or another).
    #[error("a sync run is already under way")]
    AlreadyRunning,
    /// The device is locked.
    #[error("Bothy is locked")]
    Locked,
    /// Sync could not start: the device is not enrolled, or its stored
    /// credentials cannot be used.
    #[error("sync could not start")]
    Setup(#[source] SyncError),
    /// The run stopped part way; nothing is lost, and the next run carries on.
    #[error("syncing with {server}")]
    Run {
        server: String,
        #[source]
        error: SyncError,
    },
    /// An administrator revoked this device: its unsynced work was offered
    /// to the server, and its data removed.
    #[error(
        "this device was revoked by an administrator: {} unsynced change(s) were handed to the server, and its data was wiped",
        .0.offered
    )]
    Wiped(WipeReport),
    /// An administrator revoked this device, and removing its data failed.
    #[error("wiping this revoked device")]
    Wipe(#[source] SyncError),
}

impl SyncRunError {
    /// The sync error behind this one, if there is one.
    pub fn cause(&self) -> Option<&SyncError> {
        match self {
            SyncRunError::Setup(e) | SyncRunError::Run { error: e, .. } | SyncRunError::Wipe(e) => {
                Some(e)
            }
            SyncRunError::AlreadyRunning | SyncRunError::Locked | SyncRunError::Wiped(_) => None,
        }
    }

    /// The server could not be reached (no signal, or it is down): nothing
    /// is lost; try again later.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            SyncRunError::Run {
                error: SyncError::Unreachable { .. },
                ..
            }
        )
    }

    /// The device is not enrolled with a server.
    pub fn is_not_enrolled(&self) -> bool {
        matches!(
            self,
            SyncRunError::Setup(
                SyncError::NotEnrolled | SyncError::Local(ServiceError::NotEnrolled)
            ) | SyncRunError::Run {
                error: SyncError::NotEnrolled | SyncError::Local(ServiceError::NotEnrolled),
                ..
            }
        )
    }

    /// The device was (or became) locked.
    pub fn is_locked(&self) -> bool {
        matches!(
            self,
            SyncRunError::Locked
                | SyncRunError::Setup(SyncError::Local(ServiceError::Locked))
                | SyncRunError::Run {
                    error: SyncError::Local(ServiceError::Locked),
                    ..
                }
        )
    }
}

impl Device {
    /// One sync run with the server this device is enrolled with. The
    /// client is borrowed only for each local step, so the person can go on
    /// typing while the network is awaited. If an administrator revoked the
    /// device, its unsynced work is offered to the server and its data
    /// wiped ([`SyncRunError::Wiped`]).
    pub async fn sync_now(&self) -> Result<SyncReport, SyncRunError> {
        let Ok(_running) = self.shared.sync_run.try_lock() else {
            return Err(SyncRunError::AlreadyRunning);
        };
        let engine = self.engine()?;
        // Forward the engine's progress to every window.
        let mut progress = engine.progress();
        let sender = self.shared.progress.clone();
        let mut replica = self.clone();
        let run = engine.sync(&mut replica);
        tokio::pin!(run);
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                changed = progress.changed() => {
                    if changed.is_ok() {
                        let now = progress.borrow_and_update().clone();
                        sender.send_replace(now);
                    }
                }
            }
        };
        self.shared
            .progress
            .send_replace(engine.progress().borrow().clone());
        match result {
            Ok(report) => Ok(report),
            Err(SyncError::Revoked { offered }) => Err(self.wipe(offered.unwrap_or(0))),
            Err(error) => Err(SyncRunError::Run {
                server: engine.server().to_owned(),
                error,
            }),
        }
    }

    /// The refused work the server keeps that this device's person may
    /// read: their own and, for a supervisor, their team's
    /// (`GET /v1/refused`). Nothing of it is stored on the device.
    pub async fn refused_by_server(
        &self,
    ) -> Result<bothy_shared::wire::RefusedResponse, SyncRunError> {
        let engine = self.engine()?;
        engine
            .refused_by_server()
            .await
            .map_err(|error| SyncRunError::Run {
                server: engine.server().to_owned(),
                error,
            })
    }

    /// A duty worker's match check for a request (online only): the
    /// children already in Bothy who might be the one it is about, with
    /// only their name and date of birth. The server audits it.
    pub async fn match_check(
        &self,
        request: bothy_shared::ids::RequestId,
    ) -> Result<Vec<bothy_shared::wire::ChildMatch>, SyncRunError> {
        let engine = self.engine()?;
        engine
            .match_check(request)
            .await
            .map_err(|error| SyncRunError::Run {
                server: engine.server().to_owned(),
                error,
            })
    }

    /// The server this device syncs with, once a run has started since it
    /// was unlocked.
    pub fn sync_server(&self) -> Option<String> {
        self.state()
            .engine
            .as_ref()
            .map(|engine| engine.server().to_owned())
    }

    fn engine(&self) -> Result<Arc<SyncEngine>, SyncRunError> {
        let mut state = self.state();
        if let Some(engine) = &state.engine {
            return Ok(engine.clone());
        }
        let Some(client) = state.client.as_ref() else {
            return Err(SyncRunError::Locked);
        };
        let options = SyncOptions {
            retry: self.shared.settings.retry,
            ..SyncOptions::default()
        };
        let engine = Arc::new(SyncEngine::new(client, options).map_err(SyncRunError::Setup)?);
        state.engine = Some(engine.clone());
        Ok(engine)
    }

    /// After a revocation (the engine has offered the unsynced work): close
    /// the store and remove the device's data.
    fn wipe(&self, offered: u64) -> SyncRunError {
        let client = {
            let mut state = self.state();
            state.engine = None;
            state.wiped = true;
            state.client.take()
        };
        let wiped = match client {
            Some(client) => sync::wipe_device(client, offered),
            // Locked meanwhile: the store is closed already.
            None => sync::wipe_dir(self.dir(), offered),
        };
        match wiped {
            Ok(report) => SyncRunError::Wiped(report),
            Err(e) => SyncRunError::Wipe(e),
        }
    }
}
