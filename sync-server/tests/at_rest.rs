//! Encryption at rest, on both backends: what the database holds is sealed
//! (read through the backend alone, [`storage::open_unsealed`], nothing a
//! person wrote is there), what the server reads is plaintext, the master
//! key is checked at start-up, rotation rewraps every key, and an erased
//! child's rows are gone with their key.
//!
//! End to end, with a real server process and devices, and the grep of the
//! SQLite file, its WAL and `pg_dump`: `tests/tests/at_rest.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use bothy_server::storage::keys::{self, KeyWrap, MasterKey};
use bothy_server::storage::{
    self, ChildRecord, NewChange, NewDocument, NewRefusedChange, PersonRecord, Storage,
    StorageError, SyncRound, TeamChangeRecord,
};
use bothy_shared::docs::{DocKey, IsoDate};
use bothy_shared::ids::{Agency, ChildId, DeviceId, ItemId, PersonId};
use bothy_shared::policy::PersonKind;
use bothy_shared::team::TeamAction;
use bothy_shared::wire::KeptReason;
use common::{Backend, TestDb};

/// Words that appear nowhere but where a test writes them.
const WORDS: &str = "Kelpie-lantern-3391 said the stair lift is broken";

fn change(value: &str) -> NewChange {
    let mut d = AutoCommit::new();
    d.put(ROOT, "v", value).unwrap();
    d.commit();
    NewChange::from_change(&d.get_changes(&[])[0])
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A database on `backend` whose master key is in a file of the test's.
struct Place {
    db: TestDb,
    key_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Place {
    fn new(backend: Backend) -> Place {
        let db = TestDb::new(backend);
        let dir = tempfile::tempdir().unwrap();
        let key_file = match &db.key_file {
            Some(f) => f.clone(),
            None => {
                let f = dir.path().join("master.key");
                MasterKey::random().unwrap().write_new_file(&f).unwrap();
                f
            }
        };
        Place {
            db,
            key_file,
            _dir: dir,
        }
    }

    fn open(&self) -> Arc<dyn Storage> {
        storage::open_with_key_file(&self.db.url, Some(&self.key_file)).unwrap()
    }

    fn raw(&self) -> Arc<dyn Storage> {
        storage::open_unsealed(&self.db.url).unwrap()
    }
}

/// A child, a practitioner and their device, and one of everything that
/// holds words: a change, an offered change, a refused change, the reason
/// for ending a membership.
fn write_words_everywhere(s: &dyn Storage) -> (ChildId, DeviceId) {
    let c = ChildId::random();
    s.add_child(
        &ChildRecord {
            id: c,
            name: "Child".into(),
        },
        &[NewDocument {
            key: DocKey::Record(c),
            changes: vec![change(&format!("first: {WORDS}"))],
        }],
        10,
    )
    .unwrap();
    let p = PersonId::random();
    s.add_person(&PersonRecord {
        id: p,
        name: "P".into(),
        kind: PersonKind::Practitioner,
        agency: Some(Agency::Health),
    })
    .unwrap();
    let code = p.to_string().into_bytes();
    s.add_enrol_code(&code, p, 100).unwrap();
    let d = s
        .redeem_enrol_code(
            &code,
            50,
            &bothy_server::storage::NewDevice {
                id: DeviceId::random(),
                name: "phone".into(),
                public_key: vec![7; 32],
            },
        )
        .unwrap()
        .unwrap()
        .id;
    let key = DocKey::Record(c);
    s.commit_sync_keeping_refused(
        &[SyncRound {
            device: d,
            person: p,
            key,
            accepted: vec![change(&format!("visit: {WORDS}"))],
            sync_state: vec![],
            sent_content: false,
            at: 20,
        }],
        &[],
        &[NewRefusedChange {
            device: d,
            person: p,
            key,
            change: change(&format!("refused: {WORDS}")),
            rule: "finalised-visit-addendum-only".into(),
            path: "visits".into(),
            at: 20,
        }],
        20,
    )
    .unwrap();
    s.keep_offered(
        d,
        p,
        &key,
        &[change(&format!("offered: {WORDS}"))],
        KeptReason::Revoked,
        30,
    )
    .unwrap();
    s.record_team_change(
        &TeamChangeRecord {
            id: ItemId::random(),
            child: c,
            by: p,
            device: d,
            action: TeamAction::End {
                person: p,
                on: IsoDate::from_ymd(2026, 12, 1).unwrap(),
                reason: format!("moving on: {WORDS}"),
            },
            refused: Some(bothy_shared::policy::Rule::WriteScope),
            at: 40,
        },
        None,
        &[],
    )
    .unwrap();
    (c, d)
}

async fn what_people_wrote_is_stored_sealed_and_read_in_the_clear(backend: Backend) {
    let place = Place::new(backend);
    let s = place.open();
    let (c, _) = write_words_everywhere(s.as_ref());
    let key = DocKey::Record(c);

    // Through the server's storage: the words, every one.
    let changes = s.changes_after(&key, 0).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|ch| contains(&ch.bytes, WORDS)));
    assert!(contains(&s.refused_changes(None).unwrap()[0].bytes, WORDS));
    assert!(contains(&s.quarantined().unwrap()[0].bytes, WORDS));
    let TeamAction::End { reason, .. } = &s.team_changes(c).unwrap()[0].action else {
        panic!("an end");
    };
    assert!(reason.contains(WORDS));

    // In the database: none of them.
    let raw = place.raw();
    let stored = raw.changes_after(&key, 0).unwrap();
    assert_eq!(stored.len(), 2, "the same rows");
    assert!(stored.iter().all(|ch| !contains(&ch.bytes, WORDS)));
    assert!(stored.iter().all(|ch| ch.bytes[0] == 1), "sealed, format 1");
    assert!(!contains(
        &raw.refused_changes(None).unwrap()[0].bytes,
        WORDS
    ));
    assert!(!contains(&raw.quarantined().unwrap()[0].bytes, WORDS));
    let TeamAction::End { reason, .. } = &raw.team_changes(c).unwrap()[0].action else {
        panic!("an end");
    };
    assert!(!reason.contains("Kelpie") && reason.starts_with("sealed:"));
    assert!(raw.wrapped_key(&c.to_string()).unwrap().is_some());
}

async fn a_wrong_master_key_is_refused_at_start_up(backend: Backend) {
    let place = Place::new(backend);
    write_words_everywhere(place.open().as_ref());
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.key");
    MasterKey::random().unwrap().write_new_file(&wrong).unwrap();
    let opened = storage::open_with_key_file(&place.db.url, Some(&wrong));
    assert!(
        matches!(opened, Err(StorageError::WrongMasterKey)),
        "{opened:?}"
    );
    // The right one still opens it.
    assert_eq!(place.open().children().unwrap().len(), 1);
}

async fn a_sealed_row_moved_to_another_row_does_not_open(backend: Backend) {
    let place = Place::new(backend);
    let s = place.open();
    let (c, _) = write_words_everywhere(s.as_ref());
    // The record's sealed changes copied, as they are, into the plan of the
    // same child (same data key, another document): they do not open there.
    let raw = place.raw();
    let sealed = raw.changes_after(&DocKey::Record(c), 0).unwrap();
    let moved: Vec<NewChange> = sealed
        .iter()
        .map(|ch| NewChange {
            hash: ch.hash,
            actor: automerge::ActorId::random(),
            bytes: ch.bytes.clone(),
        })
        .collect();
    raw.commit_sync(
        &[],
        &[NewDocument {
            key: DocKey::Plan(c),
            changes: moved,
        }],
        50,
    )
    .unwrap();
    assert!(matches!(
        s.changes_after(&DocKey::Plan(c), 0),
        Err(StorageError::Sealed { .. })
    ));
}

async fn rotating_the_master_key_rewraps_every_data_key(backend: Backend) {
    let place = Place::new(backend);
    let old: Arc<dyn KeyWrap> = Arc::new(MasterKey::read_file(&place.key_file).unwrap());
    let s = storage::open_with_master_key(&place.db.url, old.clone()).unwrap();
    let (c, _) = write_words_everywhere(s.as_ref());
    let new = MasterKey::random().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let new_file = dir.path().join("new.key");
    new.write_new_file(&new_file).unwrap();
    let n = storage::rewrap_all(s.as_ref(), old.as_ref(), &new).unwrap();
    assert_eq!(n, 2, "the child's key and the check value");
    drop(s);

    let reopened = storage::open_with_key_file(&place.db.url, Some(&new_file)).unwrap();
    let changes = reopened.changes_after(&DocKey::Record(c), 0).unwrap();
    assert!(changes.iter().all(|ch| contains(&ch.bytes, WORDS)));
    assert!(matches!(
        storage::open_with_key_file(&place.db.url, Some(&place.key_file)),
        Err(StorageError::WrongMasterKey)
    ));
    // A rotation from a key that is not the database's changes nothing.
    let stranger = MasterKey::random().unwrap();
    assert!(matches!(
        storage::rewrap_all(reopened.as_ref(), &stranger, &new),
        Err(StorageError::WrongMasterKey)
    ));
}

async fn an_erased_childs_rows_and_key_are_gone_and_stay_gone(backend: Backend) {
    let place = Place::new(backend);
    let s = place.open();
    let (c, d) = write_words_everywhere(s.as_ref());
    let (kept, _) = write_words_everywhere(s.as_ref());
    s.erase_child(c, "admin", "asked for erasure", 60).unwrap();

    let raw = place.raw();
    assert!(raw.changes_after(&DocKey::Record(c), 0).unwrap().is_empty());
    assert!(raw.wrapped_key(&c.to_string()).unwrap().is_none());
    assert!(raw.team_changes(c).unwrap().is_empty());
    assert!(
        raw.refused_changes(None)
            .unwrap()
            .iter()
            .all(|r| r.document.child() != c)
    );
    // Nothing can be kept for it again: offered work is dropped, not sealed
    // under a new key.
    assert_eq!(
        s.keep_offered(
            d,
            PersonId::random(),
            &DocKey::Record(c),
            &[change("late")],
            KeptReason::Revoked,
            70
        )
        .unwrap(),
        0
    );
    assert!(raw.wrapped_key(&c.to_string()).unwrap().is_none());
    // The other child reads as before.
    assert_eq!(s.changes_after(&DocKey::Record(kept), 0).unwrap().len(), 2);
}

/// A copy of a SQLite database taken before an erasure: with the master
/// key of the time, it still opens (the wrapped key is in the copy); after
/// the master key is rotated and the old one destroyed, nothing in the
/// copy opens with the key the server holds. docs/operations.md says so.
#[test]
fn a_backup_from_before_an_erasure_is_unreadable_once_the_master_key_is_rotated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let url = format!("sqlite://{}", db.display());
    let s = storage::open(&url).unwrap();
    let key_file = keys::default_key_file(&url).unwrap();
    assert!(key_file.exists(), "made beside the database");
    let (c, _) = write_words_everywhere(s.as_ref());
    drop(s);
    let backup = dir.path().join("backup.db");
    std::fs::copy(&db, &backup).unwrap();
    let backup_url = format!("sqlite://{}", backup.display());

    let s = storage::open(&url).unwrap();
    s.erase_child(c, "admin", "asked", 80).unwrap();
    let old: Arc<dyn KeyWrap> = Arc::new(MasterKey::read_file(&key_file).unwrap());
    let new = MasterKey::random().unwrap();
    storage::rewrap_all(s.as_ref(), old.as_ref(), &new).unwrap();
    drop(s);
    std::fs::remove_file(&key_file).unwrap();
    new.write_new_file(&key_file).unwrap();

    // The live database opens with the new key; the backup does not.
    storage::open_with_key_file(&url, Some(&key_file)).unwrap();
    assert!(matches!(
        storage::open_with_key_file(&backup_url, Some(&key_file)),
        Err(StorageError::WrongMasterKey)
    ));
    // Honest about the limit: the old key, had it been kept, would open it.
    let with_old = storage::open_with_master_key(&backup_url, old).unwrap();
    assert_eq!(
        with_old.changes_after(&DocKey::Record(c), 0).unwrap().len(),
        2
    );
}

#[test]
fn a_new_sqlite_database_gets_a_private_key_file_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let s = storage::open(&url).unwrap();
    write_words_everywhere(s.as_ref());
    drop(s);
    let key_file = keys::default_key_file(&url).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Every later open finds the same key.
    assert_eq!(storage::open(&url).unwrap().children().unwrap().len(), 1);
    // Without it, a clear error, and no new key file left behind.
    std::fs::remove_file(&key_file).unwrap();
    assert!(matches!(
        storage::open(&url),
        Err(StorageError::WrongMasterKey)
    ));
    assert!(!key_file.exists());
}

#[test]
fn postgres_without_a_master_key_is_a_clear_error() {
    if std::env::var_os(keys::MASTER_KEY_FILE_ENV).is_some()
        || std::env::var_os(keys::MASTER_KEY_ENV).is_some()
    {
        eprintln!("a master key is set in the environment: nothing to check");
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    assert!(matches!(
        storage::open(&db.url),
        Err(StorageError::MasterKey(keys::MasterKeyError::Missing))
    ));
}

crate::on_both_backends!(
    what_people_wrote_is_stored_sealed_and_read_in_the_clear,
    a_wrong_master_key_is_refused_at_start_up,
    a_sealed_row_moved_to_another_row_does_not_open,
    rotating_the_master_key_rewraps_every_data_key,
    an_erased_childs_rows_and_key_are_gone_and_stay_gone,
);
