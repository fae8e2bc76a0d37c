//! Unlocking: wrong passcodes, changed passcodes, damaged files. In every
//! failure the files are left exactly as they were and nothing is lost.

// Test code: helpers outside `#[test]` functions fail by panicking too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bothy_client::device::UnlockFailure;
use bothy_client::store::{
    CreateError, DATABASE_FILE_NAME, INTEGRITY_PASSED_META, Integrity, KEY_FILE_NAME, KdfParams,
    KeyFileError, KeystoreError, Passcode, PlatformKeystore, Store, StoreError, THROTTLE_FILE_NAME,
    UnlockError, Vault, tx,
};
use bothy_client::{Client, Device, DeviceSettings};

const SECOND: Duration = Duration::from_secs(1);

fn passcode(text: &str) -> Passcode {
    Passcode::new(text.to_owned())
}

fn right() -> Passcode {
    passcode("right horse battery")
}

fn wrong() -> Passcode {
    passcode("wrong horse battery")
}

fn database(dir: &Path) -> PathBuf {
    dir.join(DATABASE_FILE_NAME)
}

fn key_file(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE_NAME)
}

/// A closed store with `records` saved changes (2 KB each).
fn store_with_records(records: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        Store::create(dir.path(), &right(), KdfParams::insecure_fast_for_tests()).unwrap();
    for i in 0..records {
        store
            .append_changes(
                "record/child-1",
                &[tx::NewChange {
                    hash: &i.to_be_bytes(),
                    bytes: &[i as u8; 2048],
                    local: true,
                }],
            )
            .unwrap();
    }
    store.put_draft("visit/1", b"draft").unwrap();
    store.lock().unwrap();
    dir
}

fn assert_records_intact(store: &Store, records: u32) {
    let document = store.load_document("record/child-1").unwrap().unwrap();
    assert_eq!(document.changes.len(), records as usize);
    for (i, change) in document.changes.iter().enumerate() {
        assert_eq!(change, &vec![i as u8; 2048]);
    }
    assert_eq!(
        store.draft("visit/1").unwrap().as_deref(),
        Some(&b"draft"[..])
    );
}

fn retry_after(result: Result<Store, UnlockError>) -> Duration {
    match result {
        Err(UnlockError::WrongPasscode { retry_after }) => retry_after,
        other => panic!("expected WrongPasscode, got {other:?}"),
    }
}

#[test]
fn wrong_passcodes_are_refused_slowed_down_and_never_lose_data() {
    let dir = store_with_records(5);
    let db_before = fs::read(database(dir.path())).unwrap();
    let t0 = SystemTime::now();
    let vault = Vault::new(dir.path());

    for _ in 0..3 {
        assert_eq!(retry_after(vault.unlock_at(&wrong(), t0)), Duration::ZERO);
    }
    assert_eq!(retry_after(vault.unlock_at(&wrong(), t0)), SECOND);

    // A new Vault (as after an app restart) reads the same state, and an
    // early attempt is refused without the passcode being checked: even the
    // right one.
    let restarted = Vault::new(dir.path());
    match restarted.unlock_at(&right(), t0 + SECOND / 2) {
        Err(UnlockError::TooSoon { retry_after }) => assert_eq!(retry_after, SECOND / 2),
        other => panic!("expected TooSoon, got {other:?}"),
    }
    assert_eq!(restarted.throttle_status(t0).unwrap().failures, 4);

    assert_eq!(
        retry_after(restarted.unlock_at(&wrong(), t0 + SECOND)),
        2 * SECOND
    );
    let again = Vault::new(dir.path());
    assert!(matches!(
        again.unlock_at(&right(), t0 + 2 * SECOND),
        Err(UnlockError::TooSoon { .. })
    ));
    assert_eq!(again.throttle_status(t0 + SECOND).unwrap().failures, 5);

    // Nothing was touched by any of that.
    assert_eq!(fs::read(database(dir.path())).unwrap(), db_before);

    let store = again.unlock_at(&right(), t0 + 3 * SECOND).unwrap();
    assert_records_intact(&store, 5);
    store.lock().unwrap();
    let status = again.throttle_status(t0 + 3 * SECOND).unwrap();
    assert_eq!((status.failures, status.retry_after), (0, Duration::ZERO));
    // Back to free attempts after a success.
    assert_eq!(
        retry_after(again.unlock_at(&wrong(), t0 + 3 * SECOND)),
        Duration::ZERO
    );
}

#[test]
fn the_wait_grows_to_fifteen_minutes_and_stops_there() {
    let dir = store_with_records(1);
    let vault = Vault::new(dir.path());
    let mut now = SystemTime::now();
    let mut waits = Vec::new();
    for _ in 0..16 {
        let wait = retry_after(vault.unlock_at(&wrong(), now));
        waits.push(wait.as_secs());
        now += wait;
    }
    assert_eq!(
        waits,
        [
            0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900
        ]
    );
    let store = vault.unlock_at(&right(), now).unwrap();
    assert_records_intact(&store, 1);
}

#[test]
fn a_changed_passcode_replaces_the_old_one_and_keeps_the_data() {
    let dir = store_with_records(3);
    let db_before = fs::read(database(dir.path())).unwrap();
    let key_before = fs::read(key_file(dir.path())).unwrap();

    // Changing with a wrong old passcode changes nothing (and counts).
    assert!(matches!(
        Store::change_passcode(dir.path(), &wrong(), &passcode("new")),
        Err(UnlockError::WrongPasscode { .. })
    ));
    assert_eq!(fs::read(key_file(dir.path())).unwrap(), key_before);

    Store::change_passcode(dir.path(), &right(), &passcode("new")).unwrap();
    assert_ne!(fs::read(key_file(dir.path())).unwrap(), key_before);
    // Re-wrapped, not re-encrypted: the database file is byte-identical.
    assert_eq!(fs::read(database(dir.path())).unwrap(), db_before);

    assert!(matches!(
        Store::unlock(dir.path(), &right()),
        Err(UnlockError::WrongPasscode { .. })
    ));
    let store = Store::unlock(dir.path(), &passcode("new")).unwrap();
    assert_records_intact(&store, 3);
    store.lock().unwrap();
}

#[test]
fn a_damaged_key_file_is_reported_and_left_alone() {
    let dir = store_with_records(2);
    let key_backup = fs::read(key_file(dir.path())).unwrap();
    let db_before = fs::read(database(dir.path())).unwrap();

    let damaged: Vec<Vec<u8>> = vec![
        key_backup[..key_backup.len() / 2].to_vec(), // truncated
        Vec::new(),                                  // emptied
        b"\x00\x01\x02 not json at all".to_vec(),    // garbage
        String::from_utf8(key_backup.clone()) // a field cut short
            .unwrap()
            .replace("\"nonce\": \"", "\"nonce\": \"AAAA")
            .into_bytes(),
    ];
    for bytes in damaged {
        fs::write(key_file(dir.path()), &bytes).unwrap();
        match Store::unlock(dir.path(), &right()) {
            Err(UnlockError::KeyFile(KeyFileError::Corrupt { .. })) => {}
            other => panic!("expected a corrupt key file error, got {other:?}"),
        }
        // Left exactly as found, database untouched, not counted as a
        // wrong passcode.
        assert_eq!(fs::read(key_file(dir.path())).unwrap(), bytes);
        assert_eq!(fs::read(database(dir.path())).unwrap(), db_before);
        let status = Vault::new(dir.path())
            .throttle_status(SystemTime::now())
            .unwrap();
        assert_eq!(status.failures, 0);
    }

    // A key file from a newer app is named as such.
    let future = String::from_utf8(key_backup.clone())
        .unwrap()
        .replace("\"version\": 1", "\"version\": 2");
    fs::write(key_file(dir.path()), future).unwrap();
    assert!(matches!(
        Store::unlock(dir.path(), &right()),
        Err(UnlockError::KeyFile(KeyFileError::UnsupportedVersion {
            found: 2
        }))
    ));

    // A missing key file is "no store", and nothing is created.
    fs::remove_file(key_file(dir.path())).unwrap();
    assert!(matches!(
        Store::unlock(dir.path(), &right()),
        Err(UnlockError::NoStore)
    ));
    assert!(!Store::exists(dir.path()).unwrap());
    assert!(!key_file(dir.path()).exists());

    // Restoring the backup brings everything back.
    fs::write(key_file(dir.path()), &key_backup).unwrap();
    let store = Store::unlock(dir.path(), &right()).unwrap();
    assert_records_intact(&store, 2);
}

#[test]
fn a_truncated_database_is_reported_as_damaged_and_left_alone() {
    let dir = store_with_records(200); // ~100 pages
    let backup = fs::read(database(dir.path())).unwrap();
    let key_before = fs::read(key_file(dir.path())).unwrap();
    assert!(backup.len() > 64 * 4096, "{}", backup.len());

    for cut in [backup.len() / 2, 3 * 4096, 4096, 0] {
        fs::write(database(dir.path()), &backup[..cut]).unwrap();
        match Store::unlock(dir.path(), &right()) {
            Err(UnlockError::Store(StoreError::Corrupt)) => {}
            other => panic!("truncated to {cut} bytes: expected Corrupt, got {other:?}"),
        }
        assert_eq!(
            fs::read(database(dir.path())).unwrap(),
            &backup[..cut],
            "the damaged file was modified (cut at {cut})"
        );
        assert_eq!(fs::read(key_file(dir.path())).unwrap(), key_before);
    }

    fs::write(database(dir.path()), &backup).unwrap();
    let store = Store::unlock(dir.path(), &right()).unwrap();
    assert_records_intact(&store, 200);
}

#[test]
fn a_garbage_or_foreign_database_is_not_a_database_and_left_alone() {
    let dir = store_with_records(2);
    let backup = fs::read(database(dir.path())).unwrap();

    // Random bytes.
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    // A half-page stub: not even a whole SQLCipher page.
    let stub = backup[..100].to_vec();
    // Another device's store: valid SQLCipher, different key.
    let other = store_with_records(1);
    let foreign = fs::read(database(other.path())).unwrap();

    for (name, bytes) in [("garbage", garbage), ("stub", stub), ("foreign", foreign)] {
        fs::write(database(dir.path()), &bytes).unwrap();
        match Store::unlock(dir.path(), &right()) {
            Err(UnlockError::Store(StoreError::NotADatabase)) => {}
            other => panic!("{name}: expected NotADatabase, got {other:?}"),
        }
        assert_eq!(fs::read(database(dir.path())).unwrap(), bytes, "{name}");
    }

    fs::write(database(dir.path()), &backup).unwrap();
    let store = Store::unlock(dir.path(), &right()).unwrap();
    assert_records_intact(&store, 2);
}

#[test]
fn a_missing_database_is_reported_and_not_recreated() {
    let dir = store_with_records(1);
    let backup = fs::read(database(dir.path())).unwrap();
    fs::remove_file(database(dir.path())).unwrap();
    assert!(matches!(
        Store::unlock(dir.path(), &right()),
        Err(UnlockError::Store(StoreError::DatabaseMissing))
    ));
    assert!(!database(dir.path()).exists());
    fs::write(database(dir.path()), &backup).unwrap();
    assert_records_intact(&Store::unlock(dir.path(), &right()).unwrap(), 1);
}

#[test]
fn creating_over_an_existing_store_is_refused() {
    let dir = store_with_records(1);
    let key_before = fs::read(key_file(dir.path())).unwrap();
    let db_before = fs::read(database(dir.path())).unwrap();
    assert!(Store::exists(dir.path()).unwrap());
    assert!(matches!(
        Store::create(dir.path(), &wrong(), KdfParams::insecure_fast_for_tests()),
        Err(CreateError::AlreadyExists)
    ));
    assert_eq!(fs::read(key_file(dir.path())).unwrap(), key_before);
    assert_eq!(fs::read(database(dir.path())).unwrap(), db_before);
}

#[test]
fn a_database_left_by_an_interrupted_create_is_set_aside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!Store::exists(dir.path()).unwrap());
    fs::write(database(dir.path()), b"left over").unwrap();
    Store::create(dir.path(), &right(), KdfParams::insecure_fast_for_tests())
        .unwrap()
        .lock()
        .unwrap();
    let orphans: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("bothy.db.orphaned-"))
        .collect();
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert_eq!(
        fs::read(dir.path().join(&orphans[0])).unwrap(),
        b"left over"
    );
    Store::unlock(dir.path(), &right()).unwrap();
}

#[test]
fn out_of_range_argon2_parameters_are_refused_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let silly = KdfParams {
        memory_kib: 1,
        iterations: 0,
        parallelism: 1,
    };
    assert!(matches!(
        Store::create(dir.path(), &right(), silly),
        Err(CreateError::KeyFile(KeyFileError::InvalidParams))
    ));
    assert!(!Store::exists(dir.path()).unwrap());
}

/// A stand-in for a phone's keystore: holds the blob in memory only.
#[derive(Debug, Default)]
struct MemoryKeystore {
    blob: Mutex<Option<Vec<u8>>>,
}

impl PlatformKeystore for &'static MemoryKeystore {
    fn load_wrapped_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        Ok(self.blob.lock().unwrap().clone())
    }

    fn save_wrapped_key(&self, blob: &[u8]) -> Result<(), KeystoreError> {
        *self.blob.lock().unwrap() = Some(blob.to_vec());
        Ok(())
    }
}

#[test]
fn a_platform_keystore_can_hold_the_wrapped_key() {
    let keystore: &'static MemoryKeystore = Box::leak(Box::default());
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::with_keystore(dir.path(), Box::new(keystore));
    let mut store = vault
        .create(&right(), KdfParams::insecure_fast_for_tests())
        .unwrap();
    store.put_meta("k", b"v").unwrap();
    store.lock().unwrap();

    assert!(!key_file(dir.path()).exists(), "no key file on disk");
    assert!(keystore.blob.lock().unwrap().is_some());
    assert!(vault.exists().unwrap());
    assert!(matches!(
        vault.unlock(&wrong()),
        Err(UnlockError::WrongPasscode { .. })
    ));
    vault.change_passcode(&right(), &passcode("new")).unwrap();
    let store = Vault::with_keystore(dir.path(), Box::new(keystore))
        .unlock(&passcode("new"))
        .unwrap();
    assert_eq!(store.meta("k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn the_throttle_file_holds_no_secrets() {
    let dir = store_with_records(1);
    for _ in 0..5 {
        let _ = Vault::new(dir.path()).unlock_at(&wrong(), SystemTime::now());
    }
    let text = fs::read_to_string(dir.path().join(THROTTLE_FILE_NAME)).unwrap();
    assert!(!text.contains("wrong horse"), "{text}");
    assert!(text.contains("\"failures\":4"), "{text}");
}

#[test]
fn secrets_never_show_in_debug_output_or_errors() {
    let code = passcode("hunter2-secret");
    assert_eq!(format!("{code:?}"), "Passcode(<redacted>)");
    let dir = store_with_records(1);
    let error = Store::unlock(dir.path(), &code).unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let store = Store::unlock(dir.path(), &right()).unwrap();
    let vault = Vault::new(dir.path());
    let shown = format!("{store:?} {vault:?}");
    assert!(!shown.contains("horse"), "{shown}");
}

/// Runs the ignored helper test `name` of this binary in a new process
/// with `env` set to `dir`; asserts it passed and returns its stderr.
fn run_child(name: &str, env: &str, dir: &Path) -> String {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--include-ignored", "--nocapture"])
        .env(env, dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    stderr
}

const QUIET_CHILD_DIR_ENV: &str = "BOTHY_QUIET_CHILD_DIR";

#[test]
#[ignore = "helper: run as a child process by sqlcipher_logs_nothing_when_a_database_is_rejected"]
fn quiet_child() {
    let Ok(dir) = std::env::var(QUIET_CHILD_DIR_ENV) else {
        return;
    };
    // The first SQLCipher use in this process is a rejected database.
    assert!(matches!(
        Store::unlock(Path::new(&dir), &right()),
        Err(UnlockError::Store(StoreError::NotADatabase))
    ));
}

#[test]
fn sqlcipher_logs_nothing_when_a_database_is_rejected() {
    let dir = store_with_records(1);
    fs::write(database(dir.path()), vec![7u8; 8192]).unwrap();
    let stderr = run_child("quiet_child", QUIET_CHILD_DIR_ENV, dir.path());
    assert!(
        stderr.trim().is_empty(),
        "SQLCipher wrote to stderr: {stderr}"
    );
}

const RACE_CHILD_DIR_ENV: &str = "BOTHY_RACE_CHILD_DIR";
const RACING_STORES: usize = 8;

#[test]
#[ignore = "helper: run as a child process by stores_created_at_once_in_a_new_process_all_open"]
fn race_child() {
    let Ok(dir) = std::env::var(RACE_CHILD_DIR_ENV) else {
        return;
    };
    // Nothing has touched SQLite in this process yet: every thread's first
    // open races SQLite's and SQLCipher's start-up.
    let start = std::sync::Arc::new(std::sync::Barrier::new(RACING_STORES));
    let threads: Vec<_> = (0..RACING_STORES)
        .map(|i| {
            let start = start.clone();
            let dir = Path::new(&dir).join(i.to_string());
            std::thread::spawn(move || {
                fs::create_dir(&dir).unwrap();
                start.wait();
                Store::create(&dir, &right(), KdfParams::insecure_fast_for_tests()).map(drop)
            })
        })
        .collect();
    for thread in threads {
        let created = thread.join().unwrap();
        assert!(created.is_ok(), "{created:?}");
    }
}

/// SQLite reports itself ready before SQLCipher's start-up hook has run; a
/// store opened in that window used to fail with "An error occurred with
/// PRAGMA key" (seen once in CI). Each run is a new process, so each one
/// races the start-up afresh.
#[test]
fn stores_created_at_once_in_a_new_process_all_open() {
    for _ in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        run_child("race_child", RACE_CHILD_DIR_ENV, dir.path());
    }
}

/// Flips one bit of the byte at `at` in the database file; returns the
/// damaged bytes as written.
fn damage_byte(dir: &Path, at: usize) -> Vec<u8> {
    let mut bytes = fs::read(database(dir)).unwrap();
    bytes[at] ^= 0x01;
    fs::write(database(dir), &bytes).unwrap();
    bytes
}

/// SQLCipher's page size.
const PAGE: usize = 4096;

#[test]
fn a_clean_stores_background_check_passes_and_is_remembered() {
    let dir = store_with_records(20);
    let mut store = Store::unlock(dir.path(), &right()).unwrap();
    let at = match store.wait_for_integrity() {
        Integrity::Passed { at } => at,
        other => panic!("expected Passed, got {other:?}"),
    };
    assert!(at > 0);
    assert_records_intact(&store, 20);
    store.lock().unwrap();

    // The next unlock knows when the store was last found whole.
    let store = Store::unlock(dir.path(), &right()).unwrap();
    let remembered = store.meta(INTEGRITY_PASSED_META).unwrap().unwrap();
    assert_eq!(String::from_utf8(remembered).unwrap(), at.to_string());
    assert_records_intact(&store, 20);
}

#[test]
fn a_damaged_page_unlock_does_not_read_is_found_by_the_background_check() {
    let dir = store_with_records(200); // ~100 pages, nearly all old changes
    let backup = fs::read(database(dir.path())).unwrap();
    // A page in the middle of the changes: unlocking reads only the header,
    // the schema and the migrations' version.
    let damaged = damage_byte(dir.path(), (backup.len() / PAGE / 2) * PAGE + 1000);

    let mut store = Store::unlock(dir.path(), &right()).unwrap();
    assert_eq!(store.wait_for_integrity(), Integrity::Damaged);
    assert_eq!(store.integrity(), Integrity::Damaged);
    // Nothing more is written into it, with the words a damaged file has.
    match store.put_draft("visit/2", b"more") {
        Err(StoreError::Corrupt) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Reading the damaged page is an error, never wrong data.
    match store.load_document("record/child-1") {
        Err(StoreError::Corrupt) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
    drop(store);
    assert_eq!(fs::read(database(dir.path())).unwrap(), damaged);

    // Restoring the backup brings everything back, and it checks whole.
    fs::write(database(dir.path()), &backup).unwrap();
    let mut store = Store::unlock(dir.path(), &right()).unwrap();
    assert!(matches!(
        store.wait_for_integrity(),
        Integrity::Passed { .. }
    ));
    assert_records_intact(&store, 200);
    store.put_draft("visit/2", b"more").unwrap();
}

#[test]
fn a_damaged_caseload_page_fails_the_unlock_as_a_damaged_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), &right(), KdfParams::insecure_fast_for_tests()).unwrap();
    let client = Client::seed_demo(store, "Morag").unwrap();
    assert!(!client.caseload(None).unwrap().is_empty());
    let root: i64 = client
        .store()
        .connection()
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'idx_children'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    client.lock().unwrap();
    let backup = fs::read(database(dir.path())).unwrap();
    // The demo's few children fit in the table's root page.
    let damaged = damage_byte(dir.path(), (root as usize - 1) * PAGE + 2000);

    let device = Device::locked(dir.path(), DeviceSettings::manual());
    match device.unlock(&right()) {
        Err(e @ UnlockFailure::Store(UnlockError::Store(StoreError::Corrupt))) => {
            let words = e.to_string();
            assert!(words.contains("damaged"), "{words}");
        }
        other => panic!("expected a damaged store, got {other:?}"),
    }
    assert!(!device.is_unlocked());
    assert_eq!(fs::read(database(dir.path())).unwrap(), damaged);

    fs::write(database(dir.path()), &backup).unwrap();
    device.unlock(&right()).unwrap();
    let children = device.with_service(|client| client.caseload(None)).unwrap();
    assert!(!children.is_empty());
}
