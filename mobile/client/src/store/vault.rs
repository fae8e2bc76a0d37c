//! The locked side: creating a store, unlocking it with the passcode,
//! changing the passcode. The only way to get a [`Store`] is through here,
//! so the shortcuts on [`Store`] that open one live here too (the unlocked
//! side never reaches back to the locked one).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ring::rand::SystemRandom;

use super::db::{self, DATABASE_FILE_NAME, Encryption, StoreError};
use super::fsutil;
use super::keyfile::{KdfParams, KeyFileError, WrappedKey};
use super::keystore::{FileKeystore, KeystoreError, PlatformKeystore};
use super::secret::{DatabaseKey, Passcode};
use super::throttle::{ThrottleError, ThrottleStatus, UnlockThrottle};
use super::unlocked::Store;

/// Errors creating a new store.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// This data directory (or keystore) already has a store; it is left
    /// untouched.
    #[error("a store already exists on this device")]
    AlreadyExists,
    /// The Argon2id parameters were rejected, or deriving or sealing failed.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// Saving the wrapped key failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// Creating the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Resetting the unlock-attempt file failed.
    #[error(transparent)]
    Throttle(#[from] ThrottleError),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl From<io::Error> for CreateError {
    fn from(error: io::Error) -> Self {
        CreateError::Store(StoreError::Io(error))
    }
}

/// Errors unlocking a store or changing its passcode.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    /// The passcode is wrong. Nothing was opened and nothing is lost; the
    /// next attempt is allowed after `retry_after` (zero for the first few).
    #[error("wrong passcode")]
    WrongPasscode {
        /// Wait before the next attempt.
        retry_after: Duration,
    },
    /// An attempt came before the wait after earlier wrong passcodes was
    /// over; the passcode was not checked.
    #[error("too many wrong passcodes; try again in {} seconds", retry_after.as_secs().max(1))]
    TooSoon {
        /// Time left to wait.
        retry_after: Duration,
    },
    /// There is no store (no wrapped key) on this device.
    #[error("there is no store on this device")]
    NoStore,
    /// The key file is damaged, from a newer app, or unusable.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The keystore could not be read or written.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The passcode was right but the database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The unlock-attempt file could not be read or written.
    #[error(transparent)]
    Throttle(#[from] ThrottleError),
}

/// A store's data directory while it is locked: the database file, where its
/// wrapped key lives, and the unlock-attempt counter.
///
/// [`Store::create`], [`Store::unlock`] and [`Store::change_passcode`] are
/// shortcuts for a `Vault` with the default [`FileKeystore`]. Build a `Vault`
/// yourself to supply a platform keystore, or a clock (`*_at`) in tests.
pub struct Vault {
    dir: PathBuf,
    keystore: Box<dyn PlatformKeystore>,
    throttle: UnlockThrottle,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("keystore", &self.keystore)
            .finish()
    }
}

impl Vault {
    /// The data directory `dir`, with the key in `dir/bothy.key`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let keystore = Box::new(FileKeystore::in_dir(&dir));
        Vault::with_keystore(dir, keystore)
    }

    /// The data directory `dir`, with the wrapped key held by `keystore`.
    pub fn with_keystore(dir: impl Into<PathBuf>, keystore: Box<dyn PlatformKeystore>) -> Self {
        let dir = dir.into();
        let throttle = UnlockThrottle::in_dir(&dir);
        Vault {
            dir,
            keystore,
            throttle,
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn database_path(&self) -> PathBuf {
        self.dir.join(DATABASE_FILE_NAME)
    }

    /// Whether a store has been set up (its wrapped key exists).
    pub fn exists(&self) -> Result<bool, KeystoreError> {
        Ok(self.keystore.load_wrapped_key()?.is_some())
    }

    /// Sets up a new store protected by `passcode`.
    ///
    /// The database is created first and the wrapped key saved last, so a
    /// store is never reported as existing before its database is complete.
    /// A database file left behind by an interrupted `create` (one with no
    /// key) is renamed to `bothy.db.orphaned-<ms>`, never deleted.
    pub fn create(&self, passcode: &Passcode, params: KdfParams) -> Result<Store, CreateError> {
        fsutil::create_private_dir(&self.dir)?;
        if self.exists()? {
            return Err(CreateError::AlreadyExists);
        }
        self.set_aside_orphaned_database()?;

        let rng = SystemRandom::new();
        let key = DatabaseKey::generate(&rng).map_err(|_| CreateError::Random)?;
        let wrapped = WrappedKey::seal(&key, passcode, params, &rng)?;
        let conn = db::create(&self.database_path(), Encryption::Key(&key))?;
        drop(key);
        fsutil::sync_dir(&self.dir)?;
        self.keystore.save_wrapped_key(&wrapped.to_bytes())?;
        self.throttle.reset()?;
        Ok(Store::from_connection(conn, self.dir.clone()))
    }

    fn set_aside_orphaned_database(&self) -> io::Result<()> {
        let database = self.database_path();
        if !database.try_exists()? {
            return Ok(());
        }
        let stamp = super::tx::now_ms();
        for suffix in ["", "-wal", "-shm"] {
            let from = self.dir.join(format!("{DATABASE_FILE_NAME}{suffix}"));
            let to = self
                .dir
                .join(format!("{DATABASE_FILE_NAME}.orphaned-{stamp}{suffix}"));
            match fs::rename(&from, &to) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        fsutil::sync_dir(&self.dir)
    }

    /// How many wrong passcodes in a row, and how long until the next try.
    pub fn throttle_status(&self, now: SystemTime) -> Result<ThrottleStatus, ThrottleError> {
        self.throttle.status(now)
    }

    /// Unlocks with `passcode` (see [`Vault::unlock_at`]).
    pub fn unlock(&self, passcode: &Passcode) -> Result<Store, UnlockError> {
        self.unlock_at(passcode, SystemTime::now())
    }

    /// Unlocks with `passcode` at time `now`.
    ///
    /// Refuses with [`UnlockError::TooSoon`] without checking the passcode
    /// while an earlier failure's wait is running. A wrong passcode returns
    /// [`UnlockError::WrongPasscode`] and lengthens the next wait.
    pub fn unlock_at(&self, passcode: &Passcode, now: SystemTime) -> Result<Store, UnlockError> {
        let (key, _) = self.unwrap_key(passcode, now)?;
        let path = self.database_path();
        let conn = db::open_existing(&path, Encryption::Key(&key))?;
        let check_conn = db::open_for_check(&path, Encryption::Key(&key))?;
        drop(key);
        Ok(Store::unlocked(conn, self.dir.clone(), check_conn))
    }

    /// Re-wraps the database key under `new` (see
    /// [`Vault::change_passcode_at`]).
    pub fn change_passcode(&self, old: &Passcode, new: &Passcode) -> Result<(), UnlockError> {
        self.change_passcode_at(old, new, SystemTime::now())
    }

    /// Re-wraps the same database key under `new`, keeping the Argon2id
    /// parameters. The database itself is not touched. `old` is checked
    /// and throttled exactly as in [`Vault::unlock_at`].
    pub fn change_passcode_at(
        &self,
        old: &Passcode,
        new: &Passcode,
        now: SystemTime,
    ) -> Result<(), UnlockError> {
        let (key, current) = self.unwrap_key(old, now)?;
        let rewrapped = WrappedKey::seal(&key, new, current.params(), &SystemRandom::new())?;
        drop(key);
        self.keystore.save_wrapped_key(&rewrapped.to_bytes())?;
        Ok(())
    }

    /// Checks the throttle, then the passcode. Returns the database key and
    /// the wrapped key it came from.
    fn unwrap_key(
        &self,
        passcode: &Passcode,
        now: SystemTime,
    ) -> Result<(DatabaseKey, WrappedKey), UnlockError> {
        let status = self.throttle.status(now)?;
        if !status.retry_after.is_zero() {
            return Err(UnlockError::TooSoon {
                retry_after: status.retry_after,
            });
        }
        let blob = self
            .keystore
            .load_wrapped_key()?
            .ok_or(UnlockError::NoStore)?;
        let wrapped = WrappedKey::from_bytes(&blob)?;
        match wrapped.open(passcode)? {
            Some(key) => {
                self.throttle.reset()?;
                Ok((key, wrapped))
            }
            None => {
                let retry_after = self.throttle.record_failure(now)?;
                Err(UnlockError::WrongPasscode { retry_after })
            }
        }
    }
}

/// Shortcuts for a [`Vault`] with the default [`FileKeystore`] in `dir`.
impl Store {
    /// Sets up a new store in `dir` (see [`Vault::create`]). The app passes
    /// [`KdfParams::production`].
    pub fn create(
        dir: &Path,
        passcode: &Passcode,
        params: KdfParams,
    ) -> Result<Store, CreateError> {
        Vault::new(dir).create(passcode, params)
    }

    /// Unlocks the store in `dir` (see [`Vault::unlock_at`]).
    pub fn unlock(dir: &Path, passcode: &Passcode) -> Result<Store, UnlockError> {
        Vault::new(dir).unlock(passcode)
    }

    /// Changes the passcode of the store in `dir` by re-wrapping its key
    /// (see [`Vault::change_passcode_at`]).
    pub fn change_passcode(dir: &Path, old: &Passcode, new: &Passcode) -> Result<(), UnlockError> {
        Vault::new(dir).change_passcode(old, new)
    }

    /// Whether `dir` holds a store.
    pub fn exists(dir: &Path) -> Result<bool, KeystoreError> {
        Vault::new(dir).exists()
    }
}
