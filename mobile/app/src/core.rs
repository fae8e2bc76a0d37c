//! The client core as the views see it: provided once, read through hooks.
//!
//! [`AppCore`] holds the device's store directory and, once unlocked, the
//! [`Client`]. The platform entry point (or a test) provides it as a root
//! context; the [`App`](crate::App) root adds a revision [`Signal`] that every
//! write bumps, so views that read through [`ClientHandle::read`] re-render
//! after a change. Views never hold the client: they call [`use_client`] and
//! ask it for a view model or a service call.

use std::cell::RefCell;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;

use bothy_client::Client;
use bothy_client::ServiceError;
use bothy_client::store::{Passcode, Store, UnlockError};
use dioxus::prelude::*;

/// The device's client core, shared by every view. Cheap to clone.
#[derive(Clone)]
pub struct AppCore {
    inner: Rc<RefCell<CoreState>>,
}

struct CoreState {
    /// Where the encrypted store lives (`None` when a test hands in a client).
    dir: Option<PathBuf>,
    client: Option<Client>,
}

impl fmt::Debug for AppCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.borrow();
        f.debug_struct("AppCore")
            .field("dir", &state.dir)
            .field("unlocked", &state.client.is_some())
            .finish()
    }
}

/// Why unlocking did not work, in words for the unlock screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlockFailure {
    /// Wrong passcode; the next try is allowed after this many seconds (0: now).
    WrongPasscode { wait_seconds: u64 },
    /// Tried again too soon after wrong passcodes.
    TooSoon { wait_seconds: u64 },
    /// Anything else (no store, a damaged file, not enrolled…).
    Other(String),
}

impl fmt::Display for UnlockFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnlockFailure::WrongPasscode { wait_seconds: 0 } => {
                f.write_str("That passcode is not right. Nothing has been lost: try again.")
            }
            UnlockFailure::WrongPasscode { wait_seconds } => write!(
                f,
                "That passcode is not right. Nothing has been lost. \
                 You can try again in {wait_seconds} seconds."
            ),
            UnlockFailure::TooSoon { wait_seconds } => write!(
                f,
                "Too many wrong passcodes. Please wait {wait_seconds} seconds before trying again."
            ),
            UnlockFailure::Other(problem) => f.write_str(problem),
        }
    }
}

fn seconds(d: std::time::Duration) -> u64 {
    // Round up so "0 seconds" is never shown while a wait is still running.
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl AppCore {
    /// A locked app over the store in `dir`: the unlock screen comes first.
    pub fn locked(dir: impl Into<PathBuf>) -> Self {
        AppCore {
            inner: Rc::new(RefCell::new(CoreState {
                dir: Some(dir.into()),
                client: None,
            })),
        }
    }

    /// An app already unlocked with `client` (its store's directory is kept
    /// so the app can lock and unlock again).
    pub fn unlocked(client: Client) -> Self {
        let dir = client.store().dir().to_path_buf();
        AppCore {
            inner: Rc::new(RefCell::new(CoreState {
                dir: Some(dir),
                client: Some(client),
            })),
        }
    }

    pub fn is_unlocked(&self) -> bool {
        self.inner.borrow().client.is_some()
    }

    /// Unlock the store with `passcode` and open the client core.
    pub fn unlock(&self, passcode: &str) -> Result<(), UnlockFailure> {
        let mut state = self.inner.borrow_mut();
        if state.client.is_some() {
            return Ok(());
        }
        let dir = state
            .dir
            .clone()
            .ok_or_else(|| UnlockFailure::Other("There is no store on this device.".into()))?;
        let store =
            Store::unlock(&dir, &Passcode::new(passcode.to_owned())).map_err(|e| match e {
                UnlockError::WrongPasscode { retry_after } => UnlockFailure::WrongPasscode {
                    wait_seconds: seconds(retry_after),
                },
                UnlockError::TooSoon { retry_after } => UnlockFailure::TooSoon {
                    wait_seconds: seconds(retry_after),
                },
                UnlockError::NoStore => UnlockFailure::Other(
                    "There is no Bothy store on this device yet. Enrol the device first.".into(),
                ),
                other => UnlockFailure::Other(format!("Bothy could not open its store: {other}")),
            })?;
        let client = Client::open(store).map_err(|(store, e)| {
            // Close what was opened; the error the person sees is the service's.
            let _ = store.lock();
            UnlockFailure::Other(e.to_string())
        })?;
        state.client = Some(client);
        Ok(())
    }

    /// Lock: compact, close the store and forget every decrypted document.
    pub fn lock(&self) -> Result<(), ViewError> {
        let client = self.inner.borrow_mut().client.take();
        match client {
            Some(c) => c.lock().map_err(ViewError::from),
            None => Ok(()),
        }
    }

    /// Run `f` with the client, if unlocked (platform code and tests; views
    /// go through [`use_client`]).
    pub fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> R) -> Option<R> {
        self.inner.borrow_mut().client.as_mut().map(f)
    }

    /// Run `f` with the client, if unlocked.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        let mut state = self.inner.borrow_mut();
        let client = state.client.as_mut().ok_or(ViewError::Locked)?;
        f(client).map_err(ViewError::from)
    }
}

/// A problem a view shows instead of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewError {
    /// The app is locked.
    Locked,
    /// A service refused or failed, in its own words.
    Service(String),
}

impl From<ServiceError> for ViewError {
    fn from(e: ServiceError) -> Self {
        ViewError::Service(e.to_string())
    }
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViewError::Locked => f.write_str("Bothy is locked."),
            ViewError::Service(s) => f.write_str(s),
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
    core: AppCore,
    revision: Signal<u64>,
}

impl PartialEq for ClientHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.core.inner, &other.core.inner)
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
        self.core.with(f)
    }

    /// Call a service that changes what views show (save, countersign…).
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        let out = self.core.with(f);
        let mut revision = self.revision;
        revision += 1;
        out
    }

    /// Call a service whose result no view shows (autosave of typing): no re-render.
    pub fn quietly<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        self.core.with(f)
    }

    pub fn is_unlocked(&self) -> bool {
        let _ = self.revision.read();
        self.core.is_unlocked()
    }

    pub fn unlock(&self, passcode: &str) -> Result<(), UnlockFailure> {
        let out = self.core.unlock(passcode);
        let mut revision = self.revision;
        revision += 1;
        out
    }

    pub fn lock(&self) -> Result<(), ViewError> {
        let out = self.core.lock();
        let mut revision = self.revision;
        revision += 1;
        out
    }
}

/// The client core, from the root context.
pub fn use_client() -> ClientHandle {
    let core = use_context::<AppCore>();
    let Revision(revision) = use_context::<Revision>();
    ClientHandle { core, revision }
}
