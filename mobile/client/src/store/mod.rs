//! The encrypted device store and how it is unlocked.
//!
//! Everything a practitioner records on the device lives in one SQLCipher
//! database file, `bothy.db`, in the app's data directory:
//!
//! | file            | what                                                       |
//! |-----------------|------------------------------------------------------------|
//! | `bothy.db`      | SQLCipher database (plus `-wal`/`-shm` while open), encrypted with a random 256-bit key |
//! | `bothy.key`     | that key, wrapped (AES-256-GCM) under a key derived from the passcode (Argon2id) |
//! | `bothy.unlock`  | plaintext: how many wrong passcodes in a row, and when the next try is allowed |
//!
//! The database key never changes; changing the passcode re-wraps it. On a
//! phone the wrapped key can also be held by the platform keystore through
//! [`PlatformKeystore`].
//!
//! ```no_run
//! use bothy_client::store::{tx, KdfParams, Passcode, Store, UnlockError};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::path::Path::new("/data/bothy");
//! let mut store = if Store::exists(dir)? {
//!     match Store::unlock(dir, &Passcode::new("typed".to_owned())) {
//!         Ok(store) => store,
//!         Err(UnlockError::WrongPasscode { retry_after }) => {
//!             // show "wrong passcode", disable the button for retry_after
//!             # let _ = retry_after; return Ok(());
//!         }
//!         Err(other) => return Err(other.into()),
//!     }
//! } else {
//!     Store::create(dir, &Passcode::new("chosen".to_owned()), KdfParams::production())?
//! };
//! store.append_changes(
//!     "record/child-1",
//!     &[tx::NewChange { hash: b"hash", bytes: b"change", local: true }],
//! )?;
//! store.lock()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Guarantees
//! - Every write is one SQLite transaction in WAL mode with
//!   `synchronous = FULL`: once a write method returns, the data survives a
//!   crash or power loss.
//! - Nothing is written in plaintext: `temp_store = MEMORY`, and the WAL is
//!   encrypted like the database.
//! - Wrong passcodes are slowed down ([`delay_after_failures`]) and never
//!   cause data to be deleted.
//! - A damaged key file or database is reported ([`KeyFileError::Corrupt`],
//!   [`StoreError::NotADatabase`], [`StoreError::Corrupt`]) and left exactly
//!   as found: at unlock for the key, the header, the schema and a file cut
//!   short; for any other page as it is read (never returned as data) and by
//!   the full check that runs in the background after every unlock
//!   ([`Store::integrity`], module `integrity`), after which writes are
//!   refused.
//! - Neither secret ([`Passcode`], [`DatabaseKey`]) can be cloned,
//!   serialised or printed, and both are wiped from memory when dropped.

mod db;
mod fsutil;
mod idle;
mod integrity;
mod keyfile;
mod keystore;
mod schema;
mod secret;
pub mod team;
mod throttle;
pub mod tx;
mod unlocked;
mod vault;

pub use db::{DATABASE_FILE_NAME, StoreError};
pub use idle::IdleLock;
pub use integrity::{INTEGRITY_PASSED_META, Integrity};
pub use keyfile::{KdfParams, KeyFileError, WrappedKey};
pub use keystore::{FileKeystore, KEY_FILE_NAME, KeystoreError, PlatformKeystore};
pub use secret::{DATABASE_KEY_LEN, DatabaseKey, Passcode};
pub use throttle::{
    FREE_ATTEMPTS, MAX_DELAY, THROTTLE_FILE_NAME, ThrottleError, ThrottleStatus,
    delay_after_failures,
};
pub use unlocked::{DraftInfo, Rejection, Store, StoredDocument, UnacknowledgedChange};
pub use vault::{CreateError, UnlockError, Vault};

/// The rusqlite types the index (`crate::index`) needs to write its rows
/// inside [`Store::transaction`] or query them through [`Store::connection`].
pub use rusqlite::{self, Connection, OptionalExtension, Transaction, params};
