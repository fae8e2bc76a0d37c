//! The two secrets the store handles: the user's passcode and the random
//! database key. Neither is `Clone`, `Copy` or `Serialize`, both print as
//! `<redacted>` and both wipe their memory when dropped, so a stray `{:?}`, a
//! log line or a forgotten copy cannot leak them.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length in bytes of the SQLCipher database key (AES-256).
pub const DATABASE_KEY_LEN: usize = 32;

/// The random key SQLCipher encrypts the database with.
///
/// It is generated once when the store is created and never changes: a new
/// passcode re-wraps this key, it never re-encrypts the database. It exists in
/// memory only while a store is being opened.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DatabaseKey([u8; DATABASE_KEY_LEN]);

impl DatabaseKey {
    /// Draws a fresh key from the operating system's CSPRNG.
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self, ring::error::Unspecified> {
        let mut key = DatabaseKey([0; DATABASE_KEY_LEN]);
        rng.fill(&mut key.0)?;
        Ok(key)
    }

    /// Copies the key out of an unwrapped buffer (the caller wipes its
    /// buffer); `None` unless it is exactly [`DATABASE_KEY_LEN`] bytes.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != DATABASE_KEY_LEN {
            return None;
        }
        let mut key = DatabaseKey([0; DATABASE_KEY_LEN]);
        key.0.copy_from_slice(bytes);
        Some(key)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; DATABASE_KEY_LEN] {
        &self.0
    }

    /// The `PRAGMA key` statement that hands SQLCipher this key as a raw key
    /// (`x'…'`), so SQLCipher skips its own PBKDF2 on every open.
    ///
    /// The text is built in a buffer allocated once at its final size (no
    /// reallocation leaves a copy behind) and is wiped when dropped.
    pub(crate) fn key_pragma(&self) -> Zeroizing<String> {
        const PREFIX: &str = "PRAGMA key = \"x'";
        const SUFFIX: &str = "'\";";
        let mut hex_digits = Zeroizing::new([0u8; DATABASE_KEY_LEN * 2]);
        let mut sql = Zeroizing::new(String::with_capacity(
            PREFIX.len() + hex_digits.len() + SUFFIX.len(),
        ));
        sql.push_str(PREFIX);
        // Writing 32 bytes as hex always needs exactly 64 digits, which is the
        // buffer's length, so this cannot fail; if it somehow did, the pragma
        // would be malformed and opening the database would fail loudly.
        if hex::encode_to_slice(self.0, hex_digits.as_mut_slice()).is_ok() {
            for &digit in hex_digits.iter() {
                sql.push(char::from(digit));
            }
        }
        sql.push_str(SUFFIX);
        sql
    }
}

impl fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseKey(<redacted>)")
    }
}

/// The passcode the user types to unlock the app.
///
/// Build one straight from the text field's `String` (it is moved, not
/// copied); the memory is wiped when the `Passcode` is dropped. How long a
/// passcode must be is the UI's rule, not the store's.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Passcode(String);

impl Passcode {
    /// Wraps the typed passcode.
    pub fn new(passcode: String) -> Self {
        Passcode(passcode)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl From<String> for Passcode {
    fn from(passcode: String) -> Self {
        Passcode::new(passcode)
    }
}

impl fmt::Debug for Passcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passcode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_key_debug_is_redacted() {
        let key = DatabaseKey::from_slice(&[0x5C; DATABASE_KEY_LEN]).unwrap();
        let printed = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "DatabaseKey(<redacted>)");
        assert!(!printed.to_lowercase().contains("5c"), "{printed}");
        assert!(!printed.contains("92"), "{printed}");
    }

    #[test]
    fn passcode_debug_is_redacted() {
        let passcode = Passcode::new("correct horse".to_owned());
        assert_eq!(format!("{passcode:?}"), "Passcode(<redacted>)");
        assert!(!format!("{passcode:#?}").contains("horse"));
    }

    #[test]
    fn key_pragma_is_a_raw_hex_key() {
        let key = DatabaseKey::from_slice(&[0x0F; DATABASE_KEY_LEN]).unwrap();
        let sql = key.key_pragma();
        let expected = format!("PRAGMA key = \"x'{}'\";", "0f".repeat(32));
        assert_eq!(sql.as_str(), expected);
        assert_eq!(sql.capacity(), expected.len(), "no reallocation");
    }

    #[test]
    fn generated_keys_differ() {
        let rng = SystemRandom::new();
        let a = DatabaseKey::generate(&rng).unwrap();
        let b = DatabaseKey::generate(&rng).unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
    }
}
