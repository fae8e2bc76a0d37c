//! Where the wrapped database key lives: the seam a phone build fills with
//! its platform keystore.
//!
//! The store never keeps the database key itself anywhere; it keeps the key
//! *wrapped* under the passcode (see [`WrappedKey`](super::WrappedKey)) as an
//! opaque blob. [`FileKeystore`], the default, writes that blob to
//! `bothy.key` beside the database. A phone build implements
//! [`PlatformKeystore`] to hold the blob in the Android Keystore or the iOS
//! Keychain as well, typically encrypting it once more under a
//! hardware-backed, non-exportable key so that a copy of the app's files
//! alone (a backup, a forensic image) is not enough to start guessing
//! passcodes. The implementation decides whether it also keeps the file
//! copy; it must make `save_wrapped_key` atomic (old or new blob, never a
//! mix) because a half-written blob locks the user out of their data.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::fsutil;

/// File name of the default key file inside the data directory.
pub const KEY_FILE_NAME: &str = "bothy.key";

/// Errors from a keystore backend.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// Reading or writing the key file failed.
    #[error("reading or writing the key file failed: {0}")]
    Io(#[from] io::Error),
    /// A platform keystore refused or failed.
    #[error("the platform keystore failed: {0}")]
    Platform(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Holds the wrapped-key blob (the serialised key file).
///
/// The blob is not secret by itself, but it is what an attacker needs to
/// guess passcodes offline, so an implementation should keep it where only
/// this app can read it.
pub trait PlatformKeystore: fmt::Debug + Send + Sync {
    /// The stored blob, or `Ok(None)` if this device has no store yet.
    fn load_wrapped_key(&self) -> Result<Option<Vec<u8>>, KeystoreError>;

    /// Durably and atomically replaces the stored blob.
    fn save_wrapped_key(&self, blob: &[u8]) -> Result<(), KeystoreError>;
}

/// The default keystore: the blob in `bothy.key` in the data directory,
/// replaced atomically (temporary file, fsync, rename, fsync directory).
#[derive(Debug, Clone)]
pub struct FileKeystore {
    path: PathBuf,
}

impl FileKeystore {
    /// The key file `bothy.key` inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        FileKeystore {
            path: dir.join(KEY_FILE_NAME),
        }
    }

    /// Where the key file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl PlatformKeystore for FileKeystore {
    fn load_wrapped_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        Ok(fsutil::read_if_exists(&self.path)?)
    }

    fn save_wrapped_key(&self, blob: &[u8]) -> Result<(), KeystoreError> {
        Ok(fsutil::write_atomically(&self.path, blob)?)
    }
}
