//! The device: one encrypted store, locked or unlocked, shared by every
//! window of the app and used by the `bothy` command alike.
//!
//! [`Device`] owns what belongs to the device rather than to one screen: the
//! store's directory, once unlocked the [`Client`], the sync engine (made on
//! the first run after unlocking and dropped, with its signing key, on lock),
//! the idle-lock clock, and whether an administrator's revocation wiped the
//! data. It is shared (an `Arc` inside, cheap to clone), so every window of
//! the app (each liveview connection, say) sees the same unlocked device and
//! the same documents; it is never opened twice.
//!
//! Slow work stays off the caller's thread: unlocking (Argon2id) can run on
//! a thread of its own ([`Device::unlock_in_background`]), and a sync run
//! ([`Device::sync_now`]) awaits the network with the client borrowed only
//! for each local step: the [`Device`] is itself the
//! [`LocalReplica`](crate::sync::LocalReplica) the engine syncs (`replica`).
//!
//! - `unlock`: unlocking, here or on a thread, and why it failed;
//! - `sync_run`: one sync run at a time, its progress for every window, and
//!   the wipe after a revocation;
//! - `replica`: the device as the sync engine sees it.
//!
//! Uses [`services`](crate::services) (the [`Client`]), [`store`](crate::store)
//! (unlocking) and [`sync`](crate::sync) (the engine and the wipe); nothing
//! here is used by them.

mod replica;
mod sync_run;
mod unlock;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use sync_run::SyncRunError;
pub use unlock::UnlockFailure;

use crate::error::ServiceError;
use crate::services::Client;
use crate::sync::{RetryPolicy, SyncEngine, SyncProgress};

/// How the device behaves over time: the app's entry points use
/// [`DeviceSettings::default`]; component tests and the `bothy` command use
/// [`DeviceSettings::manual`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    /// Lock after this long with no touch or key press (`None`: never).
    pub idle_lock: Option<Duration>,
    /// Sync this often while unlocked (`None`: only when asked). While the
    /// server cannot be reached the wait grows (doubling) up to `sync_max_wait`.
    pub sync_every: Option<Duration>,
    /// The longest wait between tries while the server cannot be reached.
    pub sync_max_wait: Duration,
    /// Tries per request within one run, and their waits.
    pub retry: RetryPolicy,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            idle_lock: Some(Duration::from_secs(5 * 60)),
            sync_every: Some(Duration::from_secs(60)),
            sync_max_wait: Duration::from_secs(10 * 60),
            // A run gives up quickly when there is no signal; the next one is
            // scheduled by the app, with backoff.
            retry: RetryPolicy {
                attempts: 2,
                initial_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(2),
            },
        }
    }
}

impl DeviceSettings {
    /// The defaults with the two timers the entry points let a person set,
    /// in whole seconds (0: off).
    pub fn with_timers(idle_lock_seconds: u64, sync_every_seconds: u64) -> Self {
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        DeviceSettings {
            idle_lock: seconds(idle_lock_seconds),
            sync_every: seconds(sync_every_seconds),
            ..DeviceSettings::default()
        }
    }

    /// No timers at all: no idle lock, no automatic sync (component tests,
    /// which have no clock running, and the `bothy` command).
    pub fn manual() -> Self {
        DeviceSettings {
            idle_lock: None,
            sync_every: None,
            ..DeviceSettings::default()
        }
    }

    /// How long to wait before the next automatic sync run (`None`: no
    /// automatic sync), after a run that followed a wait of `last_wait`:
    /// `sync_every`, or while the server cannot be reached twice as long as
    /// last time, up to `sync_max_wait`.
    pub fn next_sync_wait(&self, last_wait: Duration, offline: bool) -> Option<Duration> {
        let every = self.sync_every?;
        Some(if offline {
            (last_wait.max(every / 2) * 2).min(self.sync_max_wait)
        } else {
            every
        })
    }
}

/// The device's client core, shared by every window. Cheap to clone.
#[derive(Clone)]
pub struct Device {
    shared: Arc<Shared>,
}

struct Shared {
    /// Where the encrypted store lives.
    dir: PathBuf,
    state: Mutex<State>,
    settings: DeviceSettings,
    /// Held for the length of a sync run: one run at a time per device.
    sync_run: tokio::sync::Mutex<()>,
    /// The current (or last) run's progress, for every window.
    progress: watch::Sender<SyncProgress>,
}

struct State {
    client: Option<Client>,
    /// Made on the first sync after unlocking; dropped (with its signing
    /// key) on lock.
    engine: Option<Arc<SyncEngine>>,
    last_activity: Instant,
    /// Set when an administrator revoked this device and its data was wiped.
    wiped: bool,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Device")
            .field("dir", &self.shared.dir)
            .field("unlocked", &state.client.is_some())
            .field("settings", &self.shared.settings)
            .finish()
    }
}

impl Device {
    fn new(dir: PathBuf, client: Option<Client>, settings: DeviceSettings) -> Self {
        Device {
            shared: Arc::new(Shared {
                dir,
                state: Mutex::new(State {
                    client,
                    engine: None,
                    last_activity: Instant::now(),
                    wiped: false,
                }),
                settings,
                sync_run: tokio::sync::Mutex::new(()),
                progress: watch::Sender::new(SyncProgress::default()),
            }),
        }
    }

    /// A locked device over the store in `dir`: it must be unlocked first.
    pub fn locked(dir: impl Into<PathBuf>, settings: DeviceSettings) -> Self {
        Device::new(dir.into(), None, settings)
    }

    /// A device already unlocked with `client`, with no timers
    /// ([`DeviceSettings::manual`]); its store's directory is kept so it can
    /// be locked and unlocked again.
    pub fn unlocked(client: Client) -> Self {
        Device::unlocked_with(client, DeviceSettings::manual())
    }

    /// A device already unlocked with `client`.
    pub fn unlocked_with(client: Client, settings: DeviceSettings) -> Self {
        let dir = client.store().dir().to_path_buf();
        Device::new(dir, Some(client), settings)
    }

    pub fn settings(&self) -> &DeviceSettings {
        &self.shared.settings
    }

    /// Where the encrypted store lives.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Whether `other` is this same device (not another opened over the same store).
    pub fn same_as(&self, other: &Device) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The state, even if a panic elsewhere poisoned the lock: every
    /// change to it is a single assignment, so it is never half-made.
    fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_unlocked(&self) -> bool {
        self.state().client.is_some()
    }

    /// What the store's background integrity check has found since unlock
    /// (`None` while locked).
    pub fn integrity(&self) -> Option<crate::store::Integrity> {
        self.state().client.as_ref().map(Client::integrity)
    }

    /// Whether this device's data was wiped after a revocation.
    pub fn was_wiped(&self) -> bool {
        self.state().wiped
    }

    /// Lock: compact, close the store and forget every decrypted document
    /// and the sync engine's key.
    pub fn lock(&self) -> Result<(), ServiceError> {
        let client = {
            let mut state = self.state();
            state.engine = None;
            state.client.take()
        };
        match client {
            Some(c) => c.lock(),
            None => Ok(()),
        }
    }

    /// The person touched or typed: the idle clock starts again.
    pub fn touch(&self) {
        self.state().last_activity = Instant::now();
    }

    /// How long until the idle lock is due (`None`: no idle lock, or locked).
    pub fn idle_lock_in(&self) -> Option<Duration> {
        let timeout = self.shared.settings.idle_lock?;
        let state = self.state();
        state.client.as_ref()?;
        Some(timeout.saturating_sub(state.last_activity.elapsed()))
    }

    /// Lock if nobody has touched the device for the idle timeout. Returns
    /// whether it locked now.
    pub fn lock_if_idle(&self) -> bool {
        match self.idle_lock_in() {
            Some(left) if left.is_zero() => self.lock().is_ok(),
            _ => false,
        }
    }

    /// Run `f` with the client, if unlocked.
    pub fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> R) -> Option<R> {
        self.state().client.as_mut().map(f)
    }

    /// Run a service call `f` with the client ([`ServiceError::Locked`] if
    /// the device is locked).
    pub fn with_service<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ServiceError> {
        self.with_client(f).unwrap_or(Err(ServiceError::Locked))
    }

    /// Progress of the current (or last) sync run.
    pub fn sync_progress(&self) -> watch::Receiver<SyncProgress> {
        self.shared.progress.subscribe()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;
    use crate::store::{Passcode, UnlockError};

    fn send_and_sync<T: Send + Sync>() {}

    #[test]
    fn the_core_can_be_shared_between_windows_on_other_threads() {
        send_and_sync::<Device>();
    }

    #[test]
    fn zero_seconds_turns_a_timer_off() {
        let s = DeviceSettings::with_timers(0, 30);
        assert_eq!(s.idle_lock, None);
        assert_eq!(s.sync_every, Some(Duration::from_secs(30)));
        assert_eq!(s.retry, DeviceSettings::default().retry);
    }

    #[test]
    fn a_core_with_no_client_is_locked_and_never_idle_locks() {
        let dir = tempfile::tempdir().unwrap();
        let core = Device::locked(dir.path(), DeviceSettings::default());
        assert!(!core.is_unlocked());
        assert_eq!(core.idle_lock_in(), None);
        assert!(!core.lock_if_idle());
        match core.unlock(&Passcode::new("anything".to_owned())) {
            Err(e @ UnlockFailure::Store(UnlockError::NoStore)) => {
                let words = e.to_string();
                assert!(words.contains("Enrol"), "{words}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn sync_waits_double_while_offline_up_to_the_longest_wait() {
        let s = DeviceSettings {
            sync_every: Some(Duration::from_secs(60)),
            sync_max_wait: Duration::from_secs(300),
            ..DeviceSettings::default()
        };
        let first = s.next_sync_wait(Duration::ZERO, true).unwrap();
        assert_eq!(first, Duration::from_secs(60));
        let second = s.next_sync_wait(first, true).unwrap();
        assert_eq!(second, Duration::from_secs(120));
        assert_eq!(
            s.next_sync_wait(Duration::from_secs(240), true),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            s.next_sync_wait(second, false),
            Some(Duration::from_secs(60))
        );
        assert_eq!(DeviceSettings::manual().next_sync_wait(second, true), None);
    }
}
