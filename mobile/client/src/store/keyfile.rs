//! The wrapped database key: the random [`DatabaseKey`] sealed with
//! AES-256-GCM under a key derived from the passcode with Argon2id.
//!
//! On disk (`bothy.key`, or wherever the [`PlatformKeystore`] keeps it) it is
//! a small JSON document, bytes in base64:
//!
//! ```json
//! {"format":"bothy-key","version":1,
//!  "kdf":{"algorithm":"argon2id","memory_kib":65536,"iterations":3,"parallelism":1,"salt":"…"},
//!  "nonce":"…","wrapped_key":"…"}
//! ```
//!
//! Everything except the ciphertext (format, version, algorithm, parameters,
//! salt) is bound to it as AES-GCM associated data, so editing the header,
//! for example to weaken the parameters, makes the key unopenable rather
//! than weaker. A changed passcode writes a new salt, nonce and ciphertext
//! around the same database key.
//!
//! [`PlatformKeystore`]: super::PlatformKeystore

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::secret::{DATABASE_KEY_LEN, DatabaseKey, Passcode};

const FORMAT: &str = "bothy-key";
const VERSION: u32 = 1;
const ALGORITHM: &str = "argon2id";
const SALT_LEN: usize = 16;
const TAG_LEN: usize = 16;
const WRAPPED_LEN: usize = DATABASE_KEY_LEN + TAG_LEN;

/// Errors reading, writing or using a wrapped key.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The key file is not a complete, well-formed Bothy key file (truncated,
    /// overwritten, hand-edited). It is left as it is.
    #[error("the key file is damaged: {reason}")]
    Corrupt {
        /// Which check failed; never contains key material.
        reason: &'static str,
    },
    /// The key file was written by a newer app.
    #[error("the key file has format version {found}, which this app does not understand")]
    UnsupportedVersion {
        /// The version found in the file.
        found: u32,
    },
    /// The Argon2id parameters are outside the range this app accepts.
    #[error("the passcode key-derivation parameters are out of range")]
    InvalidParams,
    /// Argon2id itself failed (for example, out of memory). Not a
    /// `#[source]`: `argon2::Error` is a `std::error::Error` only with
    /// argon2's `std` feature, which the workspace leaves off; the message
    /// carries its text.
    #[error("deriving the key from the passcode failed: {0}")]
    Kdf(argon2::Error),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// AES-GCM refused to seal (cannot happen for a 32-byte key).
    #[error("sealing the database key failed")]
    Seal,
}

/// Argon2id cost parameters, stored in the key file so a key wrapped on one
/// setting is always unwrapped with the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// What the app uses: 64 MiB, 3 passes, 1 lane (OWASP's Argon2id
    /// guidance; roughly half a second to a second on a mid-range phone).
    pub const fn production() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }

    /// A cheap setting (256 KiB, 1 pass) so tests can unlock hundreds of
    /// times. Offers little protection for a guessable passcode: only tests
    /// and benchmarks pass it, explicitly, to `create`.
    pub const fn insecure_fast_for_tests() -> Self {
        KdfParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        }
    }

    /// Rejects settings that argon2 refuses or that would let a tampered key
    /// file make unlock allocate unbounded memory or spin for minutes.
    fn to_argon2(self) -> Result<argon2::Params, KeyFileError> {
        const MAX_MEMORY_KIB: u32 = 1024 * 1024; // 1 GiB
        const MAX_ITERATIONS: u32 = 64;
        const MAX_PARALLELISM: u32 = 16;
        if self.memory_kib > MAX_MEMORY_KIB
            || self.iterations > MAX_ITERATIONS
            || self.parallelism > MAX_PARALLELISM
        {
            return Err(KeyFileError::InvalidParams);
        }
        argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(DATABASE_KEY_LEN),
        )
        .map_err(|_| KeyFileError::InvalidParams)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::production()
    }
}

/// A database key sealed under a passcode: what the key file holds.
///
/// Nothing in it is secret on its own, but it is the one thing an attacker
/// needs to guess passcodes offline, which is why Argon2id makes each guess
/// expensive.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    wrapped: [u8; WRAPPED_LEN],
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    format: String,
    version: u32,
    kdf: KdfJson,
    nonce: String,
    wrapped_key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfJson {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

impl WrappedKey {
    /// Seals `key` under `passcode` with fresh salt and nonce.
    pub(crate) fn seal(
        key: &DatabaseKey,
        passcode: &Passcode,
        params: KdfParams,
        rng: &SystemRandom,
    ) -> Result<Self, KeyFileError> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut salt).map_err(|_| KeyFileError::Random)?;
        rng.fill(&mut nonce).map_err(|_| KeyFileError::Random)?;
        let mut sealed = WrappedKey {
            params,
            salt,
            nonce,
            wrapped: [0; WRAPPED_LEN],
        };
        let wrapping_key = sealed.wrapping_key(passcode)?;

        let mut in_out = Zeroizing::new(Vec::with_capacity(WRAPPED_LEN));
        in_out.extend_from_slice(key.as_bytes());
        wrapping_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(sealed.associated_data()),
                &mut *in_out,
            )
            .map_err(|_| KeyFileError::Seal)?;
        if in_out.len() != WRAPPED_LEN {
            return Err(KeyFileError::Seal);
        }
        sealed.wrapped.copy_from_slice(&in_out);
        Ok(sealed)
    }

    /// Unseals the database key. `Ok(None)` means the passcode is wrong (or
    /// the sealed bytes were altered: AES-GCM cannot tell the two apart).
    pub(crate) fn open(&self, passcode: &Passcode) -> Result<Option<DatabaseKey>, KeyFileError> {
        let wrapping_key = self.wrapping_key(passcode)?;
        let mut in_out = Zeroizing::new(self.wrapped);
        let Ok(plain) = wrapping_key.open_in_place(
            Nonce::assume_unique_for_key(self.nonce),
            Aad::from(self.associated_data()),
            in_out.as_mut_slice(),
        ) else {
            return Ok(None);
        };
        Ok(DatabaseKey::from_slice(plain))
    }

    /// The parameters this key was wrapped with.
    pub fn params(&self) -> KdfParams {
        self.params
    }

    fn wrapping_key(&self, passcode: &Passcode) -> Result<LessSafeKey, KeyFileError> {
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            self.params.to_argon2()?,
        );
        let mut derived = Zeroizing::new([0u8; DATABASE_KEY_LEN]);
        argon
            .hash_password_into(passcode.as_bytes(), &self.salt, derived.as_mut_slice())
            .map_err(KeyFileError::Kdf)?;
        // ring keeps its own expanded copy of the key schedule inside
        // `LessSafeKey`; it lives only for this unlock.
        let unbound =
            UnboundKey::new(&AES_256_GCM, derived.as_slice()).map_err(|_| KeyFileError::Seal)?;
        Ok(LessSafeKey::new(unbound))
    }

    /// The header bytes bound to the ciphertext (see the module docs).
    fn associated_data(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64);
        aad.extend_from_slice(FORMAT.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&VERSION.to_be_bytes());
        aad.extend_from_slice(ALGORITHM.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&self.params.memory_kib.to_be_bytes());
        aad.extend_from_slice(&self.params.iterations.to_be_bytes());
        aad.extend_from_slice(&self.params.parallelism.to_be_bytes());
        aad.extend_from_slice(&self.salt);
        aad
    }

    /// The key file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let json = KeyFileJson {
            format: FORMAT.to_owned(),
            version: VERSION,
            kdf: KdfJson {
                algorithm: ALGORITHM.to_owned(),
                memory_kib: self.params.memory_kib,
                iterations: self.params.iterations,
                parallelism: self.params.parallelism,
                salt: BASE64.encode(self.salt),
            },
            nonce: BASE64.encode(self.nonce),
            wrapped_key: BASE64.encode(self.wrapped),
        };
        // Serialising plain strings and integers to a Vec cannot fail; an
        // empty key file would be rejected as corrupt on the next read.
        serde_json::to_vec_pretty(&json).unwrap_or_default()
    }

    /// Parses a key file, checking every field's shape.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyFileError> {
        let json: KeyFileJson =
            serde_json::from_slice(bytes).map_err(|_| KeyFileError::Corrupt {
                reason: "not a complete key file",
            })?;
        if json.format != FORMAT {
            return Err(KeyFileError::Corrupt {
                reason: "not a Bothy key file",
            });
        }
        if json.version != VERSION {
            return Err(KeyFileError::UnsupportedVersion {
                found: json.version,
            });
        }
        if json.kdf.algorithm != ALGORITHM {
            return Err(KeyFileError::Corrupt {
                reason: "unknown key-derivation algorithm",
            });
        }
        let params = KdfParams {
            memory_kib: json.kdf.memory_kib,
            iterations: json.kdf.iterations,
            parallelism: json.kdf.parallelism,
        };
        params.to_argon2().map_err(|_| KeyFileError::Corrupt {
            reason: "key-derivation parameters out of range",
        })?;
        Ok(WrappedKey {
            params,
            salt: decode_exact(&json.kdf.salt, "bad salt")?,
            nonce: decode_exact(&json.nonce, "bad nonce")?,
            wrapped: decode_exact(&json.wrapped_key, "bad wrapped key")?,
        })
    }
}

fn decode_exact<const N: usize>(text: &str, reason: &'static str) -> Result<[u8; N], KeyFileError> {
    let bytes = BASE64
        .decode(text)
        .map_err(|_| KeyFileError::Corrupt { reason })?;
    bytes
        .try_into()
        .map_err(|_| KeyFileError::Corrupt { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passcode(text: &str) -> Passcode {
        Passcode::new(text.to_owned())
    }

    fn sealed() -> (DatabaseKey, WrappedKey) {
        let rng = SystemRandom::new();
        let key = DatabaseKey::generate(&rng).unwrap();
        let wrapped = WrappedKey::seal(
            &key,
            &passcode("1234"),
            KdfParams::insecure_fast_for_tests(),
            &rng,
        )
        .unwrap();
        (key, wrapped)
    }

    #[test]
    fn the_right_passcode_opens_the_same_key() {
        let (key, wrapped) = sealed();
        let reparsed = WrappedKey::from_bytes(&wrapped.to_bytes()).unwrap();
        let opened = reparsed.open(&passcode("1234")).unwrap().unwrap();
        assert_eq!(opened.as_bytes(), key.as_bytes());
    }

    #[test]
    fn a_wrong_passcode_opens_nothing() {
        let (_, wrapped) = sealed();
        assert!(wrapped.open(&passcode("1235")).unwrap().is_none());
    }

    #[test]
    fn weakening_the_stored_parameters_makes_the_key_unopenable() {
        let (_, wrapped) = sealed();
        let mut tampered = wrapped.clone();
        tampered.params.iterations = 2;
        let reparsed = WrappedKey::from_bytes(&tampered.to_bytes()).unwrap();
        assert!(reparsed.open(&passcode("1234")).unwrap().is_none());
    }

    #[test]
    fn damaged_key_files_are_corrupt_not_panics() {
        let (_, wrapped) = sealed();
        let bytes = wrapped.to_bytes();
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 2] {
            assert!(matches!(
                WrappedKey::from_bytes(&bytes[..cut]),
                Err(KeyFileError::Corrupt { .. })
            ));
        }
        let text = String::from_utf8(bytes).unwrap();
        let short_salt = text.replace(&BASE64.encode(wrapped.salt), "AAAA");
        assert!(matches!(
            WrappedKey::from_bytes(short_salt.as_bytes()),
            Err(KeyFileError::Corrupt { reason: "bad salt" })
        ));
        let huge = text.replace("\"memory_kib\": 256", "\"memory_kib\": 4000000000");
        assert!(matches!(
            WrappedKey::from_bytes(huge.as_bytes()),
            Err(KeyFileError::Corrupt { .. })
        ));
        let future = text.replace("\"version\": 1", "\"version\": 7");
        assert!(matches!(
            WrappedKey::from_bytes(future.as_bytes()),
            Err(KeyFileError::UnsupportedVersion { found: 7 })
        ));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let (_, wrapped) = sealed();
        let printed = format!("{wrapped:?}");
        assert!(!printed.contains(&BASE64.encode(wrapped.wrapped)));
        assert!(!printed.contains("wrapped:"));
    }
}
