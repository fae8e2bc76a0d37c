//! The client core as the views see it: provided once, read through hooks.
//!
//! [`AppCore`] is the device: its store directory, once unlocked the
//! [`Client`], the sync engine and the idle-lock clock. It is shared (an
//! `Arc`), so every window of the app (each liveview connection, say) sees
//! the same unlocked device and the same documents; it is never opened
//! twice. The platform entry point (or a test) provides it as a root
//! context; the [`App`](crate::App) root adds a revision [`Signal`] that
//! every write bumps, so views that read through [`ClientHandle::read`]
//! re-render after a change. Views never hold the client: they call
//! [`use_client`] and ask it for a view model or a service call.
//!
//! Slow work stays off the thread that draws the screen: unlocking (Argon2id)
//! runs on a thread of its own, and a sync run awaits the network with the
//! client borrowed only for each local step ([`LocalReplica`] below).

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use automerge::Automerge;
use bothy_client::Client;
use bothy_client::ServiceError;
use bothy_client::store::{Passcode, Store, UnacknowledgedChange, UnlockError, tx::NewRejection};
use bothy_client::sync::RetryPolicy;
use bothy_client::sync::{
    self, LocalReplica, SyncEngine, SyncError, SyncOptions, SyncProgress, SyncReport,
};
use bothy_shared::docs::DocKey;
use bothy_shared::wire::DirectoryView;
use dioxus::prelude::*;
use tokio::sync::watch;

/// How the app behaves over time: the platform entry points use
/// [`AppSettings::default`]; component tests use [`AppSettings::manual`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
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

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
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

impl AppSettings {
    /// The defaults with the two timers the entry points let a person set,
    /// in whole seconds (0: off).
    pub fn with_timers(idle_lock_seconds: u64, sync_every_seconds: u64) -> Self {
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        AppSettings {
            idle_lock: seconds(idle_lock_seconds),
            sync_every: seconds(sync_every_seconds),
            ..AppSettings::default()
        }
    }

    /// No timers at all: no idle lock, no automatic sync (component tests,
    /// which have no clock running).
    pub fn manual() -> Self {
        AppSettings {
            idle_lock: None,
            sync_every: None,
            ..AppSettings::default()
        }
    }
}

/// The device's client core, shared by every view. Cheap to clone.
#[derive(Clone)]
pub struct AppCore {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<CoreState>,
    settings: AppSettings,
    /// Held for the length of a sync run: one run at a time per device.
    sync_run: tokio::sync::Mutex<()>,
    /// The current (or last) run's progress, for every window.
    progress: watch::Sender<SyncProgress>,
}

struct CoreState {
    /// Where the encrypted store lives.
    dir: Option<PathBuf>,
    client: Option<Client>,
    /// Made on the first sync after unlocking; dropped (with its signing
    /// key) on lock.
    engine: Option<Arc<SyncEngine>>,
    last_activity: Instant,
    /// Set when an administrator revoked this device and its data was wiped.
    wiped: bool,
}

impl fmt::Debug for AppCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("AppCore")
            .field("dir", &state.dir)
            .field("unlocked", &state.client.is_some())
            .field("settings", &self.shared.settings)
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

fn seconds(d: Duration) -> u64 {
    // Round up so "0 seconds" is never shown while a wait is still running.
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn unlock_failure(e: UnlockError) -> UnlockFailure {
    match e {
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
    }
}

/// How a sync run the app started ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncRunOutcome {
    /// Done: what went each way.
    Synced {
        sent: usize,
        received: usize,
        refused: usize,
    },
    /// No signal (or the server is down): nothing lost, try again later.
    Offline(String),
    /// The device is not enrolled with a server.
    NotEnrolled,
    /// Another run is under way.
    AlreadyRunning,
    /// The app is locked.
    Locked,
    /// An administrator revoked this device: unsynced work was offered to the
    /// server (this many changes kept) and the data on the device removed.
    Wiped { offered: u64 },
    /// Anything else, in words.
    Failed(String),
}

impl AppCore {
    fn new(dir: Option<PathBuf>, client: Option<Client>, settings: AppSettings) -> Self {
        AppCore {
            shared: Arc::new(Shared {
                state: Mutex::new(CoreState {
                    dir,
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

    /// A locked app over the store in `dir`: the unlock screen comes first.
    pub fn locked(dir: impl Into<PathBuf>, settings: AppSettings) -> Self {
        AppCore::new(Some(dir.into()), None, settings)
    }

    /// An app already unlocked with `client`, with no timers
    /// ([`AppSettings::manual`]); its store's directory is kept so the app
    /// can lock and unlock again.
    pub fn unlocked(client: Client) -> Self {
        AppCore::unlocked_with(client, AppSettings::manual())
    }

    /// An app already unlocked with `client`.
    pub fn unlocked_with(client: Client, settings: AppSettings) -> Self {
        let dir = client.store().dir().to_path_buf();
        AppCore::new(Some(dir), Some(client), settings)
    }

    pub fn settings(&self) -> &AppSettings {
        &self.shared.settings
    }

    /// The state, even if a panic elsewhere poisoned the lock: every
    /// change to it is a single assignment, so it is never half-made.
    fn state(&self) -> MutexGuard<'_, CoreState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_unlocked(&self) -> bool {
        self.state().client.is_some()
    }

    /// Whether this device's data was wiped after a revocation.
    pub fn was_wiped(&self) -> bool {
        self.state().wiped
    }

    /// Unlock the store with `passcode` and open the client core, here and now
    /// (platform code and tests; the unlock screen uses [`Self::unlock_in_background`]).
    pub fn unlock(&self, passcode: &str) -> Result<(), UnlockFailure> {
        let dir = match self.unlock_target()? {
            Some(dir) => dir,
            None => return Ok(()),
        };
        let store = Store::unlock(&dir, &Passcode::new(passcode.to_owned()));
        self.finish_unlock(store)
    }

    /// Unlock on a thread of its own: deriving the key from the passcode
    /// takes a noticeable moment on purpose (Argon2id), and the screen must
    /// keep answering meanwhile.
    pub async fn unlock_in_background(&self, passcode: String) -> Result<(), UnlockFailure> {
        let dir = match self.unlock_target()? {
            Some(dir) => dir,
            None => return Ok(()),
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("bothy-unlock".into())
            .spawn(move || {
                let store = Store::unlock(&dir, &Passcode::new(passcode));
                // The receiver is gone only if the screen went away; then
                // the store is simply closed again by being dropped.
                let _ = tx.send(store);
            });
        if let Err(e) = spawned {
            return Err(UnlockFailure::Other(format!("Bothy could not unlock: {e}")));
        }
        let store = rx
            .await
            .map_err(|_| UnlockFailure::Other("Unlocking stopped unexpectedly.".into()))?;
        self.finish_unlock(store)
    }

    /// The directory to unlock, or `None` if already unlocked.
    fn unlock_target(&self) -> Result<Option<PathBuf>, UnlockFailure> {
        let state = self.state();
        if state.client.is_some() {
            return Ok(None);
        }
        if state.wiped {
            return Err(UnlockFailure::Other(
                "This device was removed from Bothy by an administrator and its data deleted."
                    .into(),
            ));
        }
        state
            .dir
            .clone()
            .map(Some)
            .ok_or_else(|| UnlockFailure::Other("There is no store on this device.".into()))
    }

    fn finish_unlock(&self, store: Result<Store, UnlockError>) -> Result<(), UnlockFailure> {
        let store = store.map_err(unlock_failure)?;
        let client = Client::open(store).map_err(|(store, e)| {
            // Close what was opened; the error the person sees is the service's.
            let _ = store.lock();
            UnlockFailure::Other(e.to_string())
        })?;
        let mut state = self.state();
        if state.client.is_none() {
            state.client = Some(client);
            state.last_activity = Instant::now();
        }
        Ok(())
    }

    /// Lock: compact, close the store and forget every decrypted document
    /// and the sync engine's key.
    pub fn lock(&self) -> Result<(), ViewError> {
        let client = {
            let mut state = self.state();
            state.engine = None;
            state.client.take()
        };
        match client {
            Some(c) => c.lock().map_err(ViewError::from),
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

    /// Lock if nobody has touched the app for the idle timeout. Returns
    /// whether it locked now.
    pub fn lock_if_idle(&self) -> bool {
        match self.idle_lock_in() {
            Some(left) if left.is_zero() => self.lock().is_ok(),
            _ => false,
        }
    }

    /// Run `f` with the client, if unlocked (platform code and tests; views
    /// go through [`use_client`]).
    pub fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> R) -> Option<R> {
        self.state().client.as_mut().map(f)
    }

    /// Run `f` with the client, if unlocked ([`ServiceError::Locked`] if not).
    fn with_service<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ServiceError> {
        let mut state = self.state();
        let client = state.client.as_mut().ok_or(ServiceError::Locked)?;
        f(client)
    }

    /// [`Self::with_service`], in the words a view shows.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        self.with_service(f).map_err(ViewError::from)
    }

    /// Progress of the current (or last) sync run.
    pub fn sync_progress(&self) -> watch::Receiver<SyncProgress> {
        self.shared.progress.subscribe()
    }

    /// One sync run with the server this device is enrolled with. The
    /// client is borrowed only for each local step, so the person can go
    /// on typing while the network is awaited.
    pub async fn sync_now(&self) -> SyncRunOutcome {
        let Ok(_running) = self.shared.sync_run.try_lock() else {
            return SyncRunOutcome::AlreadyRunning;
        };
        let engine = match self.engine() {
            Ok(engine) => engine,
            Err(outcome) => return outcome,
        };
        // Forward the engine's progress to every window.
        let mut progress = engine.progress();
        let sender = self.shared.progress.clone();
        let mut replica = SharedReplica(self.clone());
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
        self.outcome(result)
    }

    fn engine(&self) -> Result<Arc<SyncEngine>, SyncRunOutcome> {
        let mut state = self.state();
        if let Some(engine) = &state.engine {
            return Ok(engine.clone());
        }
        let Some(client) = state.client.as_ref() else {
            return Err(SyncRunOutcome::Locked);
        };
        let options = SyncOptions {
            retry: self.shared.settings.retry,
            ..SyncOptions::default()
        };
        match SyncEngine::new(client, options) {
            Ok(engine) => {
                let engine = Arc::new(engine);
                state.engine = Some(engine.clone());
                Ok(engine)
            }
            Err(SyncError::NotEnrolled | SyncError::Local(ServiceError::NotEnrolled)) => {
                Err(SyncRunOutcome::NotEnrolled)
            }
            Err(e) => Err(SyncRunOutcome::Failed(e.to_string())),
        }
    }

    fn outcome(&self, result: Result<SyncReport, SyncError>) -> SyncRunOutcome {
        match result {
            Ok(report) => SyncRunOutcome::Synced {
                sent: report.acknowledged,
                received: report.received,
                refused: report.refused.len(),
            },
            Err(SyncError::Unreachable { last_error, .. }) => SyncRunOutcome::Offline(last_error),
            Err(SyncError::NotEnrolled | SyncError::Local(ServiceError::NotEnrolled)) => {
                SyncRunOutcome::NotEnrolled
            }
            Err(SyncError::Local(ServiceError::Locked)) => SyncRunOutcome::Locked,
            Err(SyncError::Revoked { offered }) => {
                let offered = offered.unwrap_or(0);
                let client = {
                    let mut state = self.state();
                    state.engine = None;
                    state.wiped = true;
                    state.client.take()
                };
                match client.map(|c| sync::wipe_device(c, offered)) {
                    Some(Err(e)) => SyncRunOutcome::Failed(e.to_string()),
                    _ => SyncRunOutcome::Wiped { offered },
                }
            }
            Err(e) => SyncRunOutcome::Failed(e.to_string()),
        }
    }
}

/// The device as the sync engine sees it: every step borrows the shared
/// client for that step only, and fails with [`ServiceError::Locked`] if
/// the app was locked meanwhile (the run then stops; nothing is lost).
struct SharedReplica(AppCore);

impl SharedReplica {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ServiceError> {
        self.0.with_service(f)
    }
}

impl LocalReplica for SharedReplica {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        self.with(|c| c.meta(key))
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), ServiceError> {
        self.with(|c| c.put_meta(key, value))
    }

    fn sync_state(&self, key: &DocKey) -> Result<Option<Vec<u8>>, ServiceError> {
        self.with(|c| c.sync_state(key))
    }

    fn put_sync_state(&mut self, key: &DocKey, state: &[u8]) -> Result<(), ServiceError> {
        self.with(|c| c.put_sync_state(key, state))
    }

    fn with_document<R>(
        &mut self,
        key: &DocKey,
        f: impl FnOnce(&Automerge) -> R,
    ) -> Result<Option<R>, ServiceError> {
        self.with(|c| c.with_document(key, f))
    }

    fn merge_remote<R>(
        &mut self,
        key: DocKey,
        f: impl FnOnce(&mut Automerge) -> R,
    ) -> Result<(R, usize), ServiceError> {
        self.with(|c| LocalReplica::merge_remote(c, key, f))
    }

    fn forget_document(&mut self, key: &DocKey) -> Result<(), ServiceError> {
        self.with(|c| LocalReplica::forget_document(c, key))
    }

    fn docs_with_unacknowledged_changes(&self) -> Result<Vec<DocKey>, ServiceError> {
        self.with(|c| c.docs_with_unacknowledged_changes())
    }

    fn unacknowledged_changes(
        &self,
        key: &DocKey,
    ) -> Result<Vec<UnacknowledgedChange>, ServiceError> {
        self.with(|c| c.unacknowledged_changes(key))
    }

    fn mark_acknowledged(&mut self, key: &DocKey, hashes: &[&[u8]]) -> Result<usize, ServiceError> {
        self.with(|c| c.mark_acknowledged(key, hashes))
    }

    fn record_rejection(&mut self, rejection: &NewRejection<'_>) -> Result<bool, ServiceError> {
        self.with(|c| c.record_rejection(rejection))
    }

    fn update_directory(&mut self, view: &DirectoryView) -> Result<(), ServiceError> {
        self.with(|c| c.update_directory(view))
    }
}

/// A problem a view shows instead of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewError {
    /// The app is locked.
    Locked,
    /// What the screen shows has not reached this device yet (sync first).
    NotSyncedYet,
    /// A service refused or failed, in its own words.
    Service(String),
}

impl From<ServiceError> for ViewError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Locked => ViewError::Locked,
            ServiceError::NotFound {
                what: "document", ..
            } => ViewError::NotSyncedYet,
            e => ViewError::Service(e.to_string()),
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
        Arc::ptr_eq(&self.core.shared, &other.core.shared)
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
        self.changed();
        out
    }

    /// Call a service whose result no view shows (autosave of typing): no re-render.
    pub fn quietly<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, ServiceError>,
    ) -> Result<R, ViewError> {
        self.core.with(f)
    }

    /// Tell every view reading the client that something changed.
    pub fn changed(&self) {
        let mut revision = self.revision;
        revision += 1;
    }

    pub fn is_unlocked(&self) -> bool {
        let _ = self.revision.read();
        self.core.is_unlocked()
    }

    pub async fn unlock(&self, passcode: String) -> Result<(), UnlockFailure> {
        let out = self.core.unlock_in_background(passcode).await;
        self.changed();
        out
    }

    pub fn lock(&self) -> Result<(), ViewError> {
        let out = self.core.lock();
        self.changed();
        out
    }

    /// The shared core (sync, idle lock).
    pub fn core(&self) -> &AppCore {
        &self.core
    }
}

/// The client core, from the root context.
pub fn use_client() -> ClientHandle {
    let core = use_context::<AppCore>();
    let Revision(revision) = use_context::<Revision>();
    ClientHandle { core, revision }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_and_sync<T: Send + Sync>() {}

    #[test]
    fn the_core_can_be_shared_between_windows_on_other_threads() {
        send_and_sync::<AppCore>();
    }

    #[test]
    fn zero_seconds_turns_a_timer_off() {
        let s = AppSettings::with_timers(0, 30);
        assert_eq!(s.idle_lock, None);
        assert_eq!(s.sync_every, Some(Duration::from_secs(30)));
        assert_eq!(s.retry, AppSettings::default().retry);
    }

    #[test]
    fn a_core_with_no_client_is_locked_and_never_idle_locks() {
        let dir = tempfile::tempdir().unwrap();
        let core = AppCore::locked(dir.path(), AppSettings::default());
        assert!(!core.is_unlocked());
        assert_eq!(core.idle_lock_in(), None);
        assert!(!core.lock_if_idle());
        match core.unlock("anything") {
            Err(UnlockFailure::Other(words)) => assert!(words.contains("Enrol"), "{words}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
