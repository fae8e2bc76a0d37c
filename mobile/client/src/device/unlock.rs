//! Unlocking the device: here and now, or on a thread of its own while the
//! screen keeps answering; and why it failed, in words for the unlock screen.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Device;
use crate::error::ServiceError;
use crate::services::Client;
use crate::store::{Passcode, Store, StoreError, UnlockError};

/// Why unlocking did not work. Its words are for the person at the unlock
/// screen; the cause stays inside for the `bothy` command and the logs.
#[derive(Debug, thiserror::Error)]
pub enum UnlockFailure {
    /// The store did not open: a wrong passcode, tried again too soon, no
    /// store, a damaged file…
    #[error("{}", store_words(.0))]
    Store(#[source] UnlockError),
    /// The store opened but the client core could not start on it (the
    /// store was closed again).
    #[error("{0}")]
    Open(#[source] ServiceError),
    /// An administrator revoked this device and its data was deleted.
    #[error("This device was removed from Bothy by an administrator and its data deleted.")]
    Wiped,
    /// No thread could be started to unlock on.
    #[error("Bothy could not unlock: {0}")]
    Thread(#[source] std::io::Error),
    /// The unlocking thread ended without an answer.
    #[error("Unlocking stopped unexpectedly.")]
    Interrupted,
}

fn seconds(d: Duration) -> u64 {
    // Round up so "0 seconds" is never shown while a wait is still running.
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn store_words(e: &UnlockError) -> String {
    match e {
        UnlockError::WrongPasscode { retry_after } => match seconds(*retry_after) {
            0 => "That passcode is not right. Nothing has been lost: try again.".to_owned(),
            wait_seconds => format!(
                "That passcode is not right. Nothing has been lost. \
                 You can try again in {wait_seconds} seconds."
            ),
        },
        UnlockError::TooSoon { retry_after } => format!(
            "Too many wrong passcodes. Please wait {} seconds before trying again.",
            seconds(*retry_after)
        ),
        UnlockError::NoStore => {
            "There is no Bothy store on this device yet. Enrol the device first.".to_owned()
        }
        other => format!("Bothy could not open its store: {other}"),
    }
}

impl Device {
    /// Unlock the store with `passcode` and open the client core, here and
    /// now (the `bothy` command, platform code and tests; the unlock screen
    /// uses [`Self::unlock_in_background`]). Already unlocked: nothing to do.
    pub fn unlock(&self, passcode: &Passcode) -> Result<(), UnlockFailure> {
        let Some(dir) = self.unlock_target()? else {
            return Ok(());
        };
        let store = Store::unlock(&dir, passcode);
        self.finish_unlock(store)
    }

    /// Unlock on a thread of its own: deriving the key from the passcode
    /// takes a noticeable moment on purpose (Argon2id), and the screen must
    /// keep answering meanwhile.
    pub async fn unlock_in_background(&self, passcode: Passcode) -> Result<(), UnlockFailure> {
        let Some(dir) = self.unlock_target()? else {
            return Ok(());
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("bothy-unlock".into())
            .spawn(move || {
                let store = Store::unlock(&dir, &passcode);
                // The receiver is gone only if the screen went away; then
                // the store is simply closed again by being dropped.
                let _ = tx.send(store);
            })
            .map_err(UnlockFailure::Thread)?;
        let store = rx.await.map_err(|_| UnlockFailure::Interrupted)?;
        self.finish_unlock(store)
    }

    /// The directory to unlock, or `None` if already unlocked.
    fn unlock_target(&self) -> Result<Option<PathBuf>, UnlockFailure> {
        let state = self.state();
        if state.client.is_some() {
            return Ok(None);
        }
        if state.wiped {
            return Err(UnlockFailure::Wiped);
        }
        Ok(Some(self.shared.dir.clone()))
    }

    fn finish_unlock(&self, store: Result<Store, UnlockError>) -> Result<(), UnlockFailure> {
        let store = store.map_err(UnlockFailure::Store)?;
        let client = Client::open(store).map_err(|(store, e)| {
            // Close what was opened; the error the person sees is the service's.
            let _ = store.lock();
            UnlockFailure::Open(e)
        })?;
        // The caseload is the first screen: read it now, so its pages are
        // verified (and cached) before the store is handed out. A damaged
        // page there fails the unlock with the words a damaged file has
        // always had; the rest of the file is checked in the background
        // (`crate::store::Store::integrity`).
        if let Err(e) = client.caseload(None) {
            let _ = client.into_store().lock();
            return Err(match e {
                ServiceError::Store(StoreError::Corrupt) => {
                    UnlockFailure::Store(UnlockError::Store(StoreError::Corrupt))
                }
                other => UnlockFailure::Open(other),
            });
        }
        let mut state = self.state();
        if state.client.is_none() {
            state.client = Some(client);
            state.last_activity = Instant::now();
        }
        Ok(())
    }
}
