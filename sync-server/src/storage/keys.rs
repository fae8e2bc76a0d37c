//! The keys of encryption at rest: the master key, the data keys it wraps,
//! and sealing a value under a data key.
//!
//! Every stored copy of what a person wrote (a change, a refused or
//! offered change, the reason typed for a team change) is sealed with
//! AES-256-GCM (`ring`) under the data key of its *owner*: the child whose
//! case it belongs to, or for a request for help (`request/<id>`, which
//! belongs to no child until it is accepted, and may never be) the request
//! itself. A data key is 256 random bits, stored only wrapped (sealed) by
//! the master key, so destroying a child's wrapped data key makes every
//! byte sealed under it unreadable ([`super::Storage::erase_child`]).
//!
//! A sealed value is `version (1) || nonce (12) || ciphertext || tag (16)`
//! with a fresh random nonce per seal, and the row's identity (its table,
//! document, change hash, device) as additional authenticated data, so a
//! sealed value moved to another row does not open.
//!
//! The master key is 32 bytes, base64 in a key file (`--master-key-file`,
//! `BOTHY_MASTER_KEY_FILE`) or the environment (`BOTHY_MASTER_KEY`); with
//! neither, a SQLite database's key file sits beside it (`<path>.key`,
//! made with the database, mode 0600): see [`locate`]. Wrapping goes through
//! the [`KeyWrap`] trait, the seam where a cloud key service plugs in
//! (docs/operations.md).
//!
//! Key bytes are zeroized when dropped and never printed (their `Debug`
//! says `[redacted]`). ring's expanded key schedule, built for each
//! operation, is not zeroized: ring offers no way to.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Bytes in every key (AES-256).
pub const KEY_LEN: usize = 32;
/// The first byte of every sealed value: its format.
const SEALED_V1: u8 = 1;
const TAG_LEN: usize = 16;

/// The environment variable holding the master key itself (base64).
pub const MASTER_KEY_ENV: &str = "BOTHY_MASTER_KEY";
/// The environment variable naming the master key file.
pub const MASTER_KEY_FILE_ENV: &str = "BOTHY_MASTER_KEY_FILE";

/// Why sealing or opening a value failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the system's random number generator failed")]
    Random,
    #[error("AES-256-GCM refused the key")]
    Key,
    /// Wrong key, or the value (or the row it was moved to) was altered.
    #[error("a sealed value does not open with its key (wrong key, or an altered or moved value)")]
    Open,
    #[error("a stored value is not sealed in a format this server knows")]
    Format,
}

/// Why the master key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("reading the master key file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the master key file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the master key file {path} does not hold 32 bytes in base64")]
    BadFile { path: PathBuf },
    #[error("{MASTER_KEY_ENV} does not hold 32 bytes in base64")]
    BadEnv,
    #[error(
        "no master key for a PostgreSQL database: give --master-key-file, or set \
         {MASTER_KEY_FILE_ENV} or {MASTER_KEY_ENV}"
    )]
    Missing,
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// 256 secret bits: the master key or a data key. Not `Clone` or `Copy`;
/// zeroized on drop; `Debug` redacts.
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// A child's (or a request's) data key.
pub type DataKey = SecretKey;

fn rng() -> &'static SystemRandom {
    static RNG: std::sync::OnceLock<SystemRandom> = std::sync::OnceLock::new();
    RNG.get_or_init(SystemRandom::new)
}

impl SecretKey {
    /// A fresh random key.
    pub fn random() -> Result<Self, SealError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rng().fill(&mut bytes[..]).map_err(|_| SealError::Random)?;
        Ok(SecretKey(bytes))
    }

    /// A key from exactly [`KEY_LEN`] bytes (the slice is not kept).
    fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(SecretKey(key))
    }

    /// The key as base64 (what a key file holds).
    fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(&self.0[..]))
    }

    /// The key from base64 text (surrounding white space ignored).
    fn from_base64(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(BASE64.decode(text.trim()).ok()?);
        Self::from_slice(&bytes)
    }

    fn aead(&self) -> Result<LessSafeKey, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0[..]).map_err(|_| SealError::Key)?;
        Ok(LessSafeKey::new(unbound))
    }

    /// Seal `plaintext`, bound to `aad`, under this key with a fresh nonce.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng().fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut body = out.split_off(1 + NONCE_LEN);
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| SealError::Key)?;
        out.append(&mut body);
        Ok(out)
    }

    /// Open a value [`SecretKey::seal`] made with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Format)?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Format);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Format)?;
        let mut body = body.to_vec();
        let len = self
            .aead()?
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| SealError::Open)?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

/// Wraps and unwraps data keys: the master key here ([`MasterKey`]), or
/// a cloud key service an operator plugs in (docs/operations.md). `owner`
/// is bound to the wrapped key, so a wrapped key copied to another owner's
/// row does not unwrap.
pub trait KeyWrap: Send + Sync + fmt::Debug {
    fn wrap(&self, owner: &str, key: &DataKey) -> Result<Vec<u8>, SealError>;
    fn unwrap(&self, owner: &str, wrapped: &[u8]) -> Result<DataKey, SealError>;
}

/// The master key, wrapping data keys with AES-256-GCM itself.
#[derive(Debug)]
pub struct MasterKey(SecretKey);

impl MasterKey {
    pub fn random() -> Result<Self, SealError> {
        Ok(MasterKey(SecretKey::random()?))
    }

    /// Read a key file: 32 bytes in base64.
    pub fn read_file(path: &Path) -> Result<Self, MasterKeyError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            MasterKeyError::Read {
                path: path.to_owned(),
                source,
            }
        })?);
        SecretKey::from_base64(&text)
            .map(MasterKey)
            .ok_or_else(|| MasterKeyError::BadFile {
                path: path.to_owned(),
            })
    }

    /// Write this key to a new file `path`, readable by its owner only
    /// (mode 0600); an existing file is an error, never overwritten.
    pub fn write_new_file(&self, path: &Path) -> Result<(), MasterKeyError> {
        let failed = |source| MasterKeyError::Write {
            path: path.to_owned(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(failed)?;
        let mut text = self.0.to_base64();
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)
    }

    fn from_env(value: &str) -> Result<Self, MasterKeyError> {
        SecretKey::from_base64(value)
            .map(MasterKey)
            .ok_or(MasterKeyError::BadEnv)
    }
}

fn wrap_aad(owner: &str) -> Vec<u8> {
    format!("bothy data key\0{owner}").into_bytes()
}

impl KeyWrap for MasterKey {
    fn wrap(&self, owner: &str, key: &DataKey) -> Result<Vec<u8>, SealError> {
        self.0.seal(&wrap_aad(owner), &key.0[..])
    }

    fn unwrap(&self, owner: &str, wrapped: &[u8]) -> Result<DataKey, SealError> {
        let bytes = Zeroizing::new(self.0.open(&wrap_aad(owner), wrapped)?);
        SecretKey::from_slice(&bytes).ok_or(SealError::Format)
    }
}

/// The owner name of the master key's check value: a random key wrapped
/// under this name at creation tells, at every start, whether the master
/// key given is the one the database was sealed with.
pub const CHECK_OWNER: &str = "master-key-check";

/// A master key found for a database, and where to keep it if it is new.
#[derive(Debug)]
pub struct Located {
    pub key: MasterKey,
    /// The file it was read from (`None`: from the environment, or new).
    pub file: Option<PathBuf>,
    /// Set when no key existed yet: a fresh key to be written to this file
    /// once the database accepts it ([`MasterKey::write_new_file`]).
    pub create_at: Option<PathBuf>,
}

/// The default key file of a database: `<path>.key` beside a SQLite file;
/// none for PostgreSQL (or SQLite in memory).
pub fn default_key_file(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite://")?;
    if path.is_empty() {
        return None;
    }
    let mut file = std::ffi::OsString::from(path);
    file.push(".key");
    Some(PathBuf::from(file))
}

/// Find the master key for the database at `url`, in this order: the key
/// file given (`--master-key-file`), the key file named by
/// `BOTHY_MASTER_KEY_FILE`, the key in `BOTHY_MASTER_KEY`, the default key file
/// ([`default_key_file`]). A SQLite database without a key file gets a new
/// random key (to be written there, [`Located::create_at`]); so does
/// `sqlite::memory:` (kept nowhere). PostgreSQL needs a key given.
pub fn locate(url: &str, file: Option<&Path>) -> Result<Located, MasterKeyError> {
    let from_file = |path: &Path| {
        Ok(Located {
            key: MasterKey::read_file(path)?,
            file: Some(path.to_owned()),
            create_at: None,
        })
    };
    if let Some(path) = file {
        return from_file(path);
    }
    if let Some(path) = std::env::var_os(MASTER_KEY_FILE_ENV).filter(|p| !p.is_empty()) {
        return from_file(Path::new(&path));
    }
    let unfiled = |key| Located {
        key,
        file: None,
        create_at: None,
    };
    if let Ok(value) = std::env::var(MASTER_KEY_ENV) {
        let value = Zeroizing::new(value);
        return MasterKey::from_env(&value).map(unfiled);
    }
    if url == "sqlite::memory:" {
        return Ok(unfiled(MasterKey::random()?));
    }
    let Some(path) = default_key_file(url) else {
        return Err(MasterKeyError::Missing);
    };
    if path.exists() {
        return from_file(&path);
    }
    Ok(Located {
        key: MasterKey::random()?,
        file: None,
        create_at: Some(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_aad() {
        let key = SecretKey::random().unwrap();
        let sealed = key.seal(b"change\0plan/x\0ab", b"visit notes").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"visit"));
        assert_eq!(
            key.open(b"change\0plan/x\0ab", &sealed).unwrap(),
            b"visit notes"
        );
        assert!(matches!(
            key.open(b"change\0plan/y\0ab", &sealed),
            Err(SealError::Open)
        ));
        let other = SecretKey::random().unwrap();
        assert!(matches!(
            other.open(b"change\0plan/x\0ab", &sealed),
            Err(SealError::Open)
        ));
        assert!(matches!(
            key.open(b"", b"\x85plain"),
            Err(SealError::Format)
        ));
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let key = SecretKey::random().unwrap();
        assert_ne!(
            key.seal(b"a", b"same").unwrap(),
            key.seal(b"a", b"same").unwrap()
        );
    }

    #[test]
    fn a_wrapped_key_unwraps_only_for_its_owner_and_master() {
        let master = MasterKey::random().unwrap();
        let data = SecretKey::random().unwrap();
        let wrapped = master.wrap("child-1", &data).unwrap();
        let back = master.unwrap("child-1", &wrapped).unwrap();
        assert_eq!(back.0[..], data.0[..]);
        assert!(master.unwrap("child-2", &wrapped).is_err());
        assert!(
            MasterKey::random()
                .unwrap()
                .unwrap("child-1", &wrapped)
                .is_err()
        );
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let key = MasterKey::random().unwrap();
        let b64 = key.0.to_base64();
        let debug = format!("{key:?}");
        assert!(debug.contains("redacted"));
        assert!(!debug.contains(b64.as_str()));
    }

    #[test]
    fn a_key_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = MasterKey::random().unwrap();
        key.write_new_file(&path).unwrap();
        let back = MasterKey::read_file(&path).unwrap();
        assert_eq!(back.0.0[..], key.0.0[..]);
        assert!(key.write_new_file(&path).is_err(), "never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            MasterKey::read_file(&path),
            Err(MasterKeyError::BadFile { .. })
        ));
    }

    #[test]
    fn the_default_key_file_sits_beside_a_sqlite_database() {
        assert_eq!(
            default_key_file("sqlite:///var/lib/bothy/bothy.db"),
            Some(PathBuf::from("/var/lib/bothy/bothy.db.key"))
        );
        assert_eq!(default_key_file("postgres://u@h/db"), None);
        assert_eq!(default_key_file("sqlite::memory:"), None);
    }
}
