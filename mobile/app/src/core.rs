//! The device as the views see it: provided once, read through hooks.
//!
//! The [`Device`] (the client crate's device core: unlock, lock, idle lock,
//! sync runs, the wipe after a revocation) is shared by every window of the
//! app. The platform entry point (or a test) provides it as a root context;
//! the [`App`](crate::App) root adds a revision [`Signal`] that every write
//! bumps, so views that read through [`ClientHandle::read`] re-render after a
//! change. Views never hold the client: they call [`use_client`] (or a named
//! hook in [`hooks`](crate::hooks)) and ask it for a view model or a service
//! call. Nothing here does I/O of its own: it is Dioxus context and hooks.

use std::fmt;
use std::sync::Arc;

use bothy_client::device::UnlockFailure;
use bothy_client::store::Passcode;
use bothy_client::{Client, Device, ServiceError};
use dioxus::prelude::*;

/// A problem a view shows instead of its content.
#[derive(Debug, Clone)]
pub enum ViewError {
    /// The app is locked.
    Locked,
    /// What the screen shows has not reached this device yet (sync first).
    NotSyncedYet,
    /// A service refused or failed (shown in its own words). Shared, so the
    /// view can keep it while it re-renders.
    Service(Arc<ServiceError>),
}

impl From<ServiceError> for ViewError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Locked => ViewError::Locked,
            ServiceError::NotFound {
                what: "document", ..
            } => ViewError::NotSyncedYet,
            e => ViewError::Service(Arc::new(e)),
        }
    }
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViewError::Locked => f.write_str("Bothy is locked."),
            ViewError::NotSyncedYet => f.write_str(
                "This has not reached this device yet. When there is a connection, \
                 open Sync and choose Sync now.",
            ),
            ViewError::Service(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ViewError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ViewError::Service(e) => Some(&**e),
            ViewError::Locked | ViewError::NotSyncedYet => None,
        }
    }
}

/// Bumped after every write, so views reading the client re-render.
#[derive(Clone, Copy, Debug)]
struct Revision(Signal<u64>);

/// Provide the revision signal (once, in the root component).
pub(crate) fn use_revision_provider() {
    use_context_provider(|| Revision(Signal::new(0)));
}

/// What a view uses to read view models and call services.
#[derive(Clone, Debug)]
pub struct ClientHandle {
    device: Device,
    revision: Signal<u64>,
}

impl PartialEq for ClientHandle {
    fn eq(&self, other: &Self) -> bool {
        self.device.same_as(&other.device)
    }
}

impl ClientHandle {
    /// Read a view model; the calling component re-renders after any write.
    pub fn read<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        // Subscribe the current component (or memo) to writes.
        let _ = self.revision.read();
        self.quietly(f)
    }

    /// Call a service that changes what views show (save, countersign…).
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        let out = self.quietly(f);
        self.changed();
        out
    }

    /// Call a service whose result no view shows (autosave of typing): no re-render.
    pub fn quietly<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        self.device.with_service(f).map_err(ViewError::from)
    }

    /// Tell every view reading the client that something changed.
    pub fn changed(&self) {
        let mut revision = self.revision;
        revision += 1;
    }

    pub fn is_unlocked(&self) -> bool {
        let _ = self.revision.read();
        self.device.is_unlocked()
    }

    /// Unlock off the thread that draws the screen.
    pub async fn unlock(&self, passcode: String) -> Result<(), UnlockFailure> {
        let out = self
            .device
            .unlock_in_background(Passcode::new(passcode))
            .await;
        self.changed();
        out
    }

    pub fn lock(&self) -> Result<(), ViewError> {
        let out = self.device.lock().map_err(ViewError::from);
        self.changed();
        out
    }

    /// The shared device (sync, idle lock).
    pub fn device(&self) -> &Device {
        &self.device
    }
}

/// The client core, from the root context.
pub fn use_client() -> ClientHandle {
    let device = use_context::<Device>();
    let Revision(revision) = use_context::<Revision>();
    ClientHandle { device, revision }
}
