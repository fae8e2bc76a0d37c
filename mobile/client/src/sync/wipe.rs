//! Wiping a revoked device: its unsynced work was offered to the server
//! first (the engine does that); then the key, the database and its journal
//! files go.

use std::path::Path;

use super::{SyncError, WipeReport};
use crate::services::Client;
use crate::store::{DATABASE_FILE_NAME, KEY_FILE_NAME, THROTTLE_FILE_NAME};

/// Lock the store and delete this device's data: the wrapped key first (the
/// database is unreadable without it), then the database and its journal
/// files, then the unlock-attempt file. For a revoked device, after its
/// unsynced work was offered. A platform keystore's copy of the key is the
/// app's to delete.
pub fn wipe_device(client: Client, offered: u64) -> Result<WipeReport, SyncError> {
    let dir = client.store().dir().to_path_buf();
    client.lock()?;
    wipe_dir(&dir, offered)
}

pub(crate) fn wipe_dir(dir: &Path, offered: u64) -> Result<WipeReport, SyncError> {
    let db = DATABASE_FILE_NAME;
    let names = [
        KEY_FILE_NAME.to_owned(),
        db.to_owned(),
        format!("{db}-wal"),
        format!("{db}-shm"),
        format!("{db}-journal"),
        THROTTLE_FILE_NAME.to_owned(),
    ];
    let mut removed = Vec::new();
    for name in names {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(SyncError::Wipe(e)),
        }
    }
    Ok(WipeReport {
        dir: dir.to_path_buf(),
        removed,
        offered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiping_removes_the_key_and_database_files_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            KEY_FILE_NAME,
            DATABASE_FILE_NAME,
            "bothy.db-wal",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let report = wipe_dir(dir.path(), 3).unwrap();
        assert_eq!(report.removed.len(), 3);
        assert!(!dir.path().join(KEY_FILE_NAME).exists());
        assert!(!dir.path().join(DATABASE_FILE_NAME).exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}
