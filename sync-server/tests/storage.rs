//! The storage contract, written against `&dyn Storage` so every backend
//! runs the same checks: `storage_contract!` turns each check into one
//! `#[test]` per backend (SQLite in memory, and a fresh PostgreSQL database
//! per test). Below it, what only matters with several instances on one
//! PostgreSQL database: commit-ordered sequence numbers under concurrent
//! writers, migrations racing, nonces shared between instances.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use bothy_server::storage::TeamChangeRecord;
use bothy_server::storage::postgres::PgStorage;
use bothy_server::storage::sqlite::SqliteStorage;
use bothy_server::storage::{
    AuditEvent, ChildRecord, NewChange, NewDevice, NewDocument, NewRefusedChange, PersonRecord,
    Storage, StorageError, SyncRound,
};
use bothy_shared::docs::DocKey;
use bothy_shared::docs::IsoDate;
use bothy_shared::ids::ItemId;
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{ChildTeam, PersonKind, Rule, TeamMember, TeamRole};
use bothy_shared::team::{TeamAction, TeamEffect};
use bothy_shared::wire::KeptReason;
use common::{Backend, TestDb};

/// A storage for one check, and the database it lives in (if any).
struct Fresh {
    storage: Arc<dyn Storage>,
    _db: Option<TestDb>,
}

fn fresh(backend: Backend) -> Fresh {
    match backend {
        Backend::Sqlite => Fresh {
            storage: Arc::new(SqliteStorage::open_in_memory().unwrap()),
            _db: None,
        },
        Backend::Postgres => {
            let db = TestDb::new(backend);
            Fresh {
                storage: db.open(),
                _db: Some(db),
            }
        }
    }
}

/// Every check of the contract, as one test per backend.
macro_rules! storage_contract {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    let f = super::fresh(super::Backend::Sqlite);
                    super::$check(f.storage.as_ref());
                }
            )*
        }
        /// The same on a database file: writes are group-committed and
        /// reads go through the read connections beside the writer.
        mod sqlite_file {
            $(
                #[test]
                fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let s = super::SqliteStorage::open(&dir.path().join("s.db")).unwrap();
                    super::$check(&s);
                }
            )*
        }
        /// The same through encryption at rest (what `storage::open`
        /// gives): every value sealed on the way in, opened on the way out.
        mod sqlite_sealed {
            $(
                #[test]
                fn $check() {
                    let s = bothy_server::storage::open("sqlite::memory:").unwrap();
                    super::$check(s.as_ref());
                }
            )*
        }
        /// PostgreSQL, sealed (the test database's own master key).
        mod postgres {
            $(
                /// Needs PostgreSQL at `BOTHY_PG_URL` (default
                /// `postgres://postgres@127.0.0.1:5432`); fails if it is unreachable.
                #[test]
                fn $check() {
                    let f = super::fresh(super::Backend::Postgres);
                    super::$check(f.storage.as_ref());
                }
            )*
        }
    };
}

storage_contract!(
    people_and_children_round_trip,
    teams_hold_roles_and_the_young_person,
    enrol_codes_are_one_time_and_expire,
    nonces_are_remembered_until_they_expire,
    changes_are_content_addressed_and_sequenced,
    changed_among_skips_the_asking_device,
    changed_among_answers_for_the_documents_asked_about,
    sync_rounds_store_state_audit_and_synced_documents,
    a_requests_sync_rounds_are_stored_all_or_none,
    the_sync_read_answers_as_the_reads_one_by_one_do,
    revocation_keeps_the_first_time,
    quarantine_keeps_offers_once,
    refused_changes_are_kept_once_apart_bounded_and_read_by_person,
    team_changes_are_kept_once_and_applied_unless_refused,
    handing_over_a_role_keeps_one_holder,
    offered_work_keeps_why_it_was_offered,
    erasure_removes_a_childs_rows_and_keeps_a_tombstone,
    closing_a_case_records_its_date,
    data_keys_are_kept_once_and_never_for_an_erased_owner,
    rewrapping_replaces_every_key_or_none,
    case_exports_are_kept_with_an_audit_entry_per_document,
);

#[test]
fn sqlite_storage_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let child = ChildId::random();
    {
        let s = SqliteStorage::open(&path).unwrap();
        s.add_child(
            &ChildRecord {
                id: child,
                name: "A".into(),
            },
            &[doc(DocKey::Plan(child), "x")],
            1,
        )
        .unwrap();
    }
    let s = SqliteStorage::open(&path).unwrap();
    assert_eq!(s.child(child).unwrap().unwrap().name, "A");
    assert_eq!(s.changes_after(&DocKey::Plan(child), 0).unwrap().len(), 1);
}

/// The schema moved from the source into `migrations/sqlite/` without
/// changing what a database records: one migration per file counted in
/// `user_version` (two before the move, and still), so a database made
/// before the move opens as it is.
#[test]
fn sqlite_schema_is_versioned_as_before_the_migration_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(SqliteStorage::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, migration_files("sqlite"));
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('changes_seq_doc_device', 'people_child') ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(indexes, ["changes_seq_doc_device", "people_child"]);
    drop(conn);
    // Opening again applies nothing twice.
    let s = SqliteStorage::open(&path).unwrap();
    assert!(s.people().unwrap().is_empty());
}

/// A damaged row is told apart from a failing database: `Corrupt`, naming
/// what does not read, not an SQLite error.
#[test]
fn a_corrupt_row_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let s = SqliteStorage::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO people (id, name, kind) VALUES (?1, 'W', 'wizard')",
        [PersonId::random().to_string()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO children (id, name) VALUES ('not-a-uuid', 'C')",
        [],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        s.people(),
        Err(StorageError::Corrupt { what: "person kind", ref value, .. }) if value == "wizard"
    ));
    let err = s.children().unwrap_err();
    assert!(
        matches!(err, StorageError::Corrupt { ref value, cause: Some(_), .. } if value == "not-a-uuid"),
        "{err:?}"
    );
}

/// Many threads writing at once to one SQLite file share commits (group
/// commit): every write that returned Ok is stored, a failing write among
/// them fails alone, a replayed nonce is still refused, and readers
/// following the log by sequence number never step over a change.
#[test]
fn sqlite_concurrent_writers_share_commits_and_lose_nothing() {
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStorage::open(&dir.path().join("s.db")).unwrap();
    let key = DocKey::Plan(child(&s));
    let taken = practitioner(&s, Agency::Health);
    let person = PersonId::random();
    let writing = AtomicBool::new(true);

    let (written, seen) = std::thread::scope(|scope| {
        let s = &s;
        let writing = &writing;
        let reader = scope.spawn(move || {
            let mut last = 0;
            let mut seen = Vec::new();
            loop {
                let done = !writing.load(Ordering::SeqCst);
                for c in s.changes_after(&key, last).unwrap() {
                    assert!(c.seq > last);
                    last = c.seq;
                    seen.push(c.bytes);
                }
                if done {
                    return seen;
                }
            }
        });
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                scope.spawn(move || {
                    let device = DeviceId::random();
                    let mut mine = Vec::new();
                    for i in 0..PER_WRITER {
                        let nonce = format!("nonce {w} {i}").into_bytes();
                        assert!(s.remember_nonce(device, &nonce, 1_000, 1).unwrap());
                        assert!(!s.remember_nonce(device, &nonce, 1_000, 1).unwrap());
                        if i % 10 == 0 {
                            // A write that fails inside a shared batch.
                            let again = s.add_person(&PersonRecord {
                                id: taken,
                                name: "again".into(),
                                kind: PersonKind::Practitioner,
                                agency: Some(Agency::Health),
                            });
                            assert!(matches!(again, Err(StorageError::AlreadyExists { .. })));
                        }
                        let c = change(&format!("writer {w} change {i}"));
                        mine.push(c.bytes.clone());
                        s.commit_sync_round(&SyncRound {
                            device,
                            person,
                            key,
                            accepted: vec![c],
                            sync_state: vec![u8::try_from(i).unwrap()],
                            sent_content: false,
                            at: 1,
                        })
                        .unwrap();
                        // Durable and visible once the call returns.
                        assert_eq!(
                            s.sync_state(device, &key).unwrap(),
                            Some(vec![u8::try_from(i).unwrap()])
                        );
                    }
                    mine
                })
            })
            .collect();
        let written: Vec<Vec<u8>> = writers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        writing.store(false, Ordering::SeqCst);
        (written, reader.join().unwrap())
    });

    let stored: BTreeSet<Vec<u8>> = s
        .changes_after(&key, 0)
        .unwrap()
        .into_iter()
        .map(|c| c.bytes)
        .collect();
    assert_eq!(stored.len(), WRITERS * PER_WRITER + 1);
    assert!(written.iter().all(|w| stored.contains(w)));
    // The reader saw every change, in sequence order, exactly once.
    assert_eq!(seen.len(), WRITERS * PER_WRITER + 1);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len());
    assert_eq!(s.person(taken).unwrap().unwrap().name, "P");
}

#[test]
fn unsupported_database_urls_are_refused() {
    for url in ["mysql://x", "sqlite://", "postgres:x", ""] {
        assert!(
            matches!(
                bothy_server::storage::open(url),
                Err(StorageError::UnsupportedUrl(_))
            ),
            "{url}"
        );
    }
    // A PostgreSQL URL is taken; nobody listening on port 1 is a backend error.
    assert!(matches!(
        bothy_server::storage::open("postgres://postgres@127.0.0.1:1/none"),
        Err(StorageError::Postgres(_))
    ));
}

fn change(value: &str) -> NewChange {
    let mut d = AutoCommit::new();
    d.put(ROOT, "v", value).unwrap();
    d.commit();
    NewChange::from_change(&d.get_changes(&[])[0])
}

fn doc(key: DocKey, value: &str) -> NewDocument {
    NewDocument {
        key,
        changes: vec![change(value)],
    }
}

fn child(s: &dyn Storage) -> ChildId {
    let id = ChildId::random();
    s.add_child(
        &ChildRecord {
            id,
            name: "Child".into(),
        },
        &[doc(DocKey::Plan(id), "p"), doc(DocKey::Record(id), "r")],
        10,
    )
    .unwrap();
    id
}

fn practitioner(s: &dyn Storage, agency: Agency) -> PersonId {
    let id = PersonId::random();
    s.add_person(&PersonRecord {
        id,
        name: "P".into(),
        kind: PersonKind::Practitioner,
        agency: Some(agency),
    })
    .unwrap();
    id
}

fn device(s: &dyn Storage, person: PersonId) -> DeviceId {
    let code = format!("code-{}", DeviceId::random()).into_bytes();
    s.add_enrol_code(&code, person, 100).unwrap();
    let new = NewDevice {
        id: DeviceId::random(),
        name: "phone".into(),
        public_key: vec![7; 32],
    };
    s.redeem_enrol_code(&code, 50, &new).unwrap().unwrap().id
}

fn people_and_children_round_trip(s: &dyn Storage) {
    let c = child(s);
    assert_eq!(s.child(c).unwrap().unwrap().name, "Child");
    assert!(s.child(ChildId::random()).unwrap().is_none());
    let yp = PersonRecord {
        id: PersonId::random(),
        name: "Y".into(),
        kind: PersonKind::YoungPerson { child: c },
        agency: None,
    };
    s.add_person(&yp).unwrap();
    assert_eq!(s.person(yp.id).unwrap(), Some(yp.clone()));
    assert!(matches!(
        s.add_person(&yp),
        Err(StorageError::AlreadyExists { .. })
    ));
    assert!(s.people().unwrap().contains(&yp));
    assert_eq!(
        s.documents_of_child(c).unwrap(),
        vec![DocKey::Plan(c), DocKey::Record(c)]
    );
    assert!(s.document_exists(&DocKey::Plan(c)).unwrap());
    assert!(
        !s.document_exists(&DocKey::Agency(c, Agency::Police))
            .unwrap()
    );
    let created: Vec<_> = s
        .audit_of_child(c)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        created,
        vec![AuditEvent::DocumentCreated, AuditEvent::DocumentCreated]
    );
}

fn teams_hold_roles_and_the_young_person(s: &dyn Storage) {
    let c = child(s);
    let sw = practitioner(s, Agency::SocialWork);
    let hv = practitioner(s, Agency::Health);
    let yp = PersonId::random();
    s.add_person(&PersonRecord {
        id: yp,
        name: "Y".into(),
        kind: PersonKind::YoungPerson { child: c },
        agency: None,
    })
    .unwrap();
    let agency_doc = doc(DocKey::Agency(c, Agency::SocialWork), "a");
    s.set_team_member(
        c,
        sw,
        TeamMember {
            agency: Agency::SocialWork,
            role: TeamRole::Member,
        },
        std::slice::from_ref(&agency_doc),
        11,
    )
    .unwrap();
    // Changing the role keeps one membership; giving an existing document again is a no-op.
    s.set_team_member(
        c,
        sw,
        TeamMember {
            agency: Agency::SocialWork,
            role: TeamRole::LeadProfessional,
        },
        &[agency_doc],
        12,
    )
    .unwrap();
    s.set_team_member(
        c,
        hv,
        TeamMember {
            agency: Agency::Health,
            role: TeamRole::NamedPerson,
        },
        &[],
        12,
    )
    .unwrap();
    let team = s.team(c).unwrap();
    assert_eq!(team.members.len(), 2);
    assert_eq!(team.members[&sw].role, TeamRole::LeadProfessional);
    assert_eq!(team.members[&hv].agency, Agency::Health);
    assert_eq!(team.young_person, Some(yp));
    assert_eq!(
        s.changes_after(&DocKey::Agency(c, Agency::SocialWork), 0)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.children_with_members(&BTreeSet::from([hv])).unwrap(),
        vec![c]
    );
    assert!(s.remove_team_member(c, hv).unwrap());
    assert!(!s.remove_team_member(c, hv).unwrap());
    assert!(
        s.children_with_members(&BTreeSet::from([hv]))
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        s.team(ChildId::random()),
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.set_team_member(
            c,
            PersonId::random(),
            TeamMember {
                agency: Agency::Health,
                role: TeamRole::Member
            },
            &[],
            1
        ),
        Err(StorageError::NotFound { .. })
    ));
    let sup = practitioner(s, Agency::SocialWork);
    s.set_supervisor(sup, sw).unwrap();
    s.set_supervisor(sup, sw).unwrap();
    assert_eq!(s.supervisees(sup).unwrap(), BTreeSet::from([sw]));
    assert!(matches!(
        s.set_supervisor(sup, PersonId::random()),
        Err(StorageError::NotFound { .. })
    ));
}

fn enrol_codes_are_one_time_and_expire(s: &dyn Storage) {
    let p = practitioner(s, Agency::Education);
    s.add_enrol_code(b"good", p, 100).unwrap();
    s.add_enrol_code(b"old", p, 100).unwrap();
    let new = |_: ()| NewDevice {
        id: DeviceId::random(),
        name: "phone".into(),
        public_key: vec![1; 32],
    };
    let first = s.redeem_enrol_code(b"good", 99, &new(())).unwrap().unwrap();
    assert_eq!(first.person, p);
    assert_eq!(first.enrolled_at, 99);
    assert_eq!(s.device(first.id).unwrap(), Some(first.clone()));
    assert!(
        s.redeem_enrol_code(b"good", 99, &new(()))
            .unwrap()
            .is_none(),
        "a code is used once"
    );
    assert!(
        s.redeem_enrol_code(b"old", 100, &new(()))
            .unwrap()
            .is_none(),
        "a code expires"
    );
    assert!(
        s.redeem_enrol_code(b"never", 1, &new(()))
            .unwrap()
            .is_none()
    );
    assert_eq!(s.devices().unwrap(), vec![first]);
}

fn nonces_are_remembered_until_they_expire(s: &dyn Storage) {
    let d = DeviceId::random();
    assert!(s.remember_nonce(d, b"n1", 100, 0).unwrap());
    assert!(
        !s.remember_nonce(d, b"n1", 100, 50).unwrap(),
        "replay within the window"
    );
    assert!(
        s.remember_nonce(DeviceId::random(), b"n1", 100, 50)
            .unwrap(),
        "nonces are per device"
    );
    assert!(s.remember_nonce(d, b"n2", 300, 101).unwrap());
    assert!(
        s.remember_nonce(d, b"n1", 400, 101).unwrap(),
        "expired nonces are forgotten"
    );
}

fn changes_are_content_addressed_and_sequenced(s: &dyn Storage) {
    let c = child(s);
    let p = practitioner(s, Agency::Health);
    let d = device(s, p);
    let key = DocKey::Record(c);
    let before = s.changes_after(&key, 0).unwrap();
    assert_eq!(before.len(), 1);
    let a = change("a");
    let round = |accepted: Vec<NewChange>| SyncRound {
        device: d,
        person: p,
        key,
        accepted,
        sync_state: vec![0x43, 0],
        sent_content: false,
        at: 20,
    };
    s.commit_sync_round(&round(vec![a.clone()])).unwrap();
    s.commit_sync_round(&round(vec![a.clone(), change("b")]))
        .unwrap();
    let after = s.changes_after(&key, 0).unwrap();
    assert_eq!(after.len(), 3, "the duplicate was not stored twice");
    assert!(after.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(after[1].bytes, a.bytes);
    assert_eq!(
        s.changes_after(&key, after[1].seq).unwrap(),
        after[2..].to_vec()
    );
    let accepted: Vec<_> = s
        .audit_of_child(c)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == AuditEvent::ChangeAccepted)
        .collect();
    assert_eq!(accepted.len(), 2, "each stored change audited once");
    assert_eq!(
        accepted[0].change.as_deref(),
        Some(hex::encode(a.hash.0).as_str())
    );
    assert_eq!(
        accepted[0].actor.as_deref(),
        Some(a.actor.to_hex_string().as_str())
    );
    assert_eq!(
        (accepted[0].device, accepted[0].person, accepted[0].document),
        (Some(d), Some(p), key)
    );
    assert!(matches!(
        s.commit_sync_round(&SyncRound {
            key: DocKey::Plan(ChildId::random()),
            ..round(vec![])
        }),
        Err(StorageError::NotFound { .. })
    ));
}

/// A sync round that stores one change `v` made by `person` on `device`.
fn one_change_round(device: DeviceId, person: PersonId, key: DocKey, v: &str) -> SyncRound {
    SyncRound {
        device,
        person,
        key,
        accepted: vec![change(v)],
        sync_state: vec![],
        sent_content: false,
        at: 30,
    }
}

fn changed_among_answers_for_the_documents_asked_about(s: &dyn Storage) {
    let (a, b) = (child(s), child(s));
    let p = practitioner(s, Agency::Health);
    let (mine, theirs) = (device(s, p), device(s, p));
    let cursor = s
        .changed_among(0, mine, &BTreeSet::new())
        .unwrap()
        .high_water;
    let round = |device, key, v: &str| one_change_round(device, p, key, v);
    s.commit_sync_round(&round(theirs, DocKey::Plan(a), "a plan"))
        .unwrap();
    s.commit_sync_round(&round(theirs, DocKey::Record(b), "b record"))
        .unwrap();
    s.commit_sync_round(&round(mine, DocKey::Record(a), "my a record"))
        .unwrap();
    let all: BTreeSet<DocKey> = [a, b]
        .into_iter()
        .flat_map(|c| [DocKey::Plan(c), DocKey::Record(c)])
        .collect();
    // Asked about every document.
    let among = s.changed_among(cursor, mine, &all).unwrap();
    assert_eq!(
        among.documents.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec![DocKey::Plan(a), DocKey::Record(b)],
        "others' changes only, in key order"
    );
    // Asked about some: only those, with the same high water.
    let some: BTreeSet<DocKey> = [DocKey::Record(a), DocKey::Record(b)].into();
    let partial = s.changed_among(cursor, mine, &some).unwrap();
    assert_eq!(partial.high_water, among.high_water);
    assert_eq!(
        partial
            .documents
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>(),
        vec![DocKey::Record(b)]
    );
    // Nothing asked, or nothing new since: nothing listed.
    assert!(
        s.changed_among(cursor, mine, &BTreeSet::new())
            .unwrap()
            .documents
            .is_empty()
    );
    assert!(
        s.changed_among(among.high_water, theirs, &all)
            .unwrap()
            .documents
            .is_empty()
    );
}

fn changed_among_skips_the_asking_device(s: &dyn Storage) {
    let c = child(s);
    let p = practitioner(s, Agency::Police);
    let (mine, theirs) = (device(s, p), device(s, p));
    let both: BTreeSet<DocKey> = [DocKey::Plan(c), DocKey::Record(c)].into();
    let start = s.changed_among(0, mine, &both).unwrap();
    assert_eq!(
        start.documents.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec![DocKey::Plan(c), DocKey::Record(c)]
    );
    let cursor = start.high_water;
    let round = |device, key, v: &str| one_change_round(device, p, key, v);
    s.commit_sync_round(&round(mine, DocKey::Plan(c), "mine"))
        .unwrap();
    let after_mine = s.changed_among(cursor, mine, &both).unwrap();
    assert!(
        after_mine.documents.is_empty(),
        "a device is not told about its own changes"
    );
    assert!(after_mine.high_water > cursor);
    assert_eq!(
        s.changed_among(cursor, theirs, &both)
            .unwrap()
            .documents
            .len(),
        1
    );
    s.commit_sync_round(&round(theirs, DocKey::Record(c), "theirs"))
        .unwrap();
    let docs = s
        .changed_among(after_mine.high_water, mine, &both)
        .unwrap()
        .documents;
    assert_eq!(
        docs.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec![DocKey::Record(c)]
    );
}

fn sync_rounds_store_state_audit_and_synced_documents(s: &dyn Storage) {
    let c = child(s);
    let p = practitioner(s, Agency::ThirdSector);
    let d = device(s, p);
    assert!(s.sync_state(d, &DocKey::Plan(c)).unwrap().is_none());
    let round = SyncRound {
        device: d,
        person: p,
        key: DocKey::Plan(c),
        accepted: vec![],
        sync_state: vec![1, 2],
        sent_content: true,
        at: 40,
    };
    s.commit_sync_round(&round).unwrap();
    s.commit_sync_round(&SyncRound {
        sync_state: vec![3],
        sent_content: false,
        ..round.clone()
    })
    .unwrap();
    assert_eq!(s.sync_state(d, &DocKey::Plan(c)).unwrap(), Some(vec![3]));
    assert_eq!(s.synced_documents(d).unwrap(), vec![DocKey::Plan(c)]);
    let sent: Vec<_> = s
        .audit_of_child(c)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == AuditEvent::DocumentSent)
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].device, sent[0].person, sent[0].at),
        (Some(d), Some(p), 40)
    );
    s.forget_synced_documents(d, &[DocKey::Plan(c)]).unwrap();
    assert!(s.synced_documents(d).unwrap().is_empty());
    assert!(s.sync_state(d, &DocKey::Plan(c)).unwrap().is_none());
}

/// `read_for_sync` gives, in one call, what `team`, `document_exists`,
/// `changes_after` and `sync_state` give one by one: the teams of the
/// children that exist, and for each document that exists and `may_read`
/// allows (asked with its child's team), its changes after the sequence
/// given and the device's sync state.
fn the_sync_read_answers_as_the_reads_one_by_one_do(s: &dyn Storage) {
    let c = child(s);
    let refused = child(s);
    let unknown = ChildId::random();
    let sw = practitioner(s, Agency::SocialWork);
    let d = device(s, sw);
    let agency = DocKey::Agency(c, Agency::SocialWork);
    s.set_team_member(
        c,
        sw,
        TeamMember {
            agency: Agency::SocialWork,
            role: TeamRole::Member,
        },
        &[doc(agency, "a")],
        11,
    )
    .unwrap();
    s.commit_sync_round(&SyncRound {
        sync_state: vec![9],
        ..one_change_round(d, sw, DocKey::Plan(c), "plan 2")
    })
    .unwrap();
    s.commit_sync_round(&one_change_round(d, sw, DocKey::Record(c), "record 2"))
        .unwrap();
    let first_record_change = s.changes_after(&DocKey::Record(c), 0).unwrap()[0].seq;

    let wanted: BTreeMap<DocKey, u64> = [
        (DocKey::Plan(c), 0),
        (DocKey::Record(c), first_record_change),
        (agency, 0),
        // Does not exist.
        (DocKey::Agency(c, Agency::Police), 0),
        // Refused by the caller's policy.
        (DocKey::Plan(refused), 0),
        // No such child.
        (DocKey::Plan(unknown), 0),
    ]
    .into_iter()
    .collect();
    let asked = Arc::new(Mutex::new(BTreeSet::new()));
    let asked_in = asked.clone();
    let reads = s
        .read_for_sync(
            d,
            &wanted,
            Arc::new(move |key: &DocKey, team: &ChildTeam| {
                assert_eq!(team.child, key.child());
                asked_in.lock().unwrap().insert(*key);
                key.child() != refused
            }),
        )
        .unwrap();

    assert_eq!(
        reads.teams,
        [(c, s.team(c).unwrap()), (refused, s.team(refused).unwrap())]
            .into_iter()
            .collect::<BTreeMap<_, _>>()
    );
    assert_eq!(reads.teams[&c].members.len(), 1);
    // The policy was asked about every document of a child that exists.
    assert_eq!(
        *asked.lock().unwrap(),
        wanted
            .keys()
            .filter(|k| k.child() != unknown)
            .copied()
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(
        reads.documents.keys().copied().collect::<Vec<_>>(),
        vec![DocKey::Plan(c), DocKey::Record(c), agency]
    );
    for (key, read) in &reads.documents {
        assert_eq!(read.changes, s.changes_after(key, wanted[key]).unwrap());
        assert_eq!(read.sync_state, s.sync_state(d, key).unwrap());
    }
    assert_eq!(reads.documents[&DocKey::Plan(c)].changes.len(), 2);
    assert_eq!(reads.documents[&DocKey::Record(c)].changes.len(), 1);
    assert_eq!(reads.documents[&DocKey::Plan(c)].sync_state, Some(vec![9]));
    assert_eq!(reads.documents[&agency].sync_state, None);

    // Nothing asked, nothing read.
    let none = s
        .read_for_sync(
            d,
            &BTreeMap::new(),
            Arc::new(|_: &DocKey, _: &ChildTeam| true),
        )
        .unwrap();
    assert!(none.teams.is_empty() && none.documents.is_empty());
}

/// The rounds of one request are one transaction: a round that cannot be
/// stored (its document is unknown) leaves nothing of the others; rounds
/// that can are stored in order, the later state of a document winning.
fn a_requests_sync_rounds_are_stored_all_or_none(s: &dyn Storage) {
    let c = child(s);
    let p = practitioner(s, Agency::Education);
    let d = device(s, p);
    let (plan, record) = (DocKey::Plan(c), DocKey::Record(c));
    let round = |key: DocKey, accepted: Vec<NewChange>, state: u8| SyncRound {
        device: d,
        person: p,
        key,
        accepted,
        sync_state: vec![state],
        sent_content: false,
        at: 50,
    };
    let stored_before = s.changes_after(&record, 0).unwrap().len();
    let audited_before = s.audit_of_child(c).unwrap().len();
    let failed = s.commit_sync_rounds(&[
        round(record, vec![change("kept back")], 1),
        round(plan, vec![], 2),
        round(DocKey::Plan(ChildId::random()), vec![], 3),
    ]);
    assert!(
        matches!(failed, Err(StorageError::NotFound { .. })),
        "{failed:?}"
    );
    assert_eq!(s.changes_after(&record, 0).unwrap().len(), stored_before);
    assert_eq!(s.audit_of_child(c).unwrap().len(), audited_before);
    assert!(s.sync_state(d, &record).unwrap().is_none());
    assert!(s.sync_state(d, &plan).unwrap().is_none());
    assert!(s.synced_documents(d).unwrap().is_empty());

    let first = change("first");
    s.commit_sync_rounds(&[
        round(record, vec![first.clone()], 1),
        round(plan, vec![], 2),
        round(record, vec![first, change("second")], 4),
    ])
    .unwrap();
    assert_eq!(
        s.changes_after(&record, 0).unwrap().len(),
        stored_before + 2,
        "each change stored once"
    );
    assert_eq!(s.sync_state(d, &record).unwrap(), Some(vec![4]));
    assert_eq!(s.sync_state(d, &plan).unwrap(), Some(vec![2]));
    let mut synced = s.synced_documents(d).unwrap();
    synced.sort();
    let mut expected = vec![plan, record];
    expected.sort();
    assert_eq!(synced, expected);
}

fn revocation_keeps_the_first_time(s: &dyn Storage) {
    let p = practitioner(s, Agency::YouthJustice);
    let d = device(s, p);
    assert!(s.revoke_device(d, 60).unwrap());
    assert!(s.revoke_device(d, 70).unwrap());
    assert_eq!(s.device(d).unwrap().unwrap().revoked_at, Some(60));
    assert!(!s.revoke_device(DeviceId::random(), 60).unwrap());
}

fn quarantine_keeps_offers_once(s: &dyn Storage) {
    let c = child(s);
    let p = practitioner(s, Agency::EarlyLearning);
    let d = device(s, p);
    let offered = [change("lost visit"), change("another")];
    assert_eq!(
        s.quarantine(d, p, &DocKey::Record(c), &offered, 80)
            .unwrap(),
        2
    );
    assert_eq!(
        s.quarantine(d, p, &DocKey::Record(c), &offered, 81)
            .unwrap(),
        0
    );
    let kept = s.quarantined().unwrap();
    assert_eq!(kept.len(), 2);
    assert!(
        kept.iter()
            .all(|q| q.device == d && q.document == DocKey::Record(c))
    );
    assert_eq!(
        s.changes_after(&DocKey::Record(c), 0).unwrap().len(),
        1,
        "quarantined changes are never applied"
    );
    let audited = s
        .audit_of_child(c)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == AuditEvent::ChangeQuarantined)
        .count();
    assert_eq!(audited, 2);
}

fn refused_changes_are_kept_once_apart_bounded_and_read_by_person(s: &dyn Storage) {
    let c = child(s);
    let key = DocKey::Record(c);
    let (p, q) = (
        practitioner(s, Agency::SocialWork),
        practitioner(s, Agency::Health),
    );
    let (d, e) = (device(s, p), device(s, q));
    let refused = |device, person, v: &str, at| NewRefusedChange {
        device,
        person,
        key,
        change: change(v),
        rule: "finalised-visit-addendum-only".into(),
        path: "visits/x/observations".into(),
        at,
    };
    let round = one_change_round(d, p, key, "honest");
    let mine = refused(d, p, "rewritten", 40);
    s.commit_sync_keeping_refused(
        std::slice::from_ref(&round),
        &[],
        std::slice::from_ref(&mine),
        40,
    )
    .unwrap();
    // The same refusal again (a retried request) is neither kept nor audited twice.
    s.commit_sync_keeping_refused(&[round], &[], std::slice::from_ref(&mine), 41)
        .unwrap();
    s.commit_sync_keeping_refused(
        &[one_change_round(e, q, key, "theirs")],
        &[],
        &[refused(e, q, "theirs refused", 42)],
        42,
    )
    .unwrap();

    let all = s.refused_changes(None).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].device, d);
    assert_eq!(all[0].person, p);
    assert_eq!(all[0].document, key);
    assert_eq!(all[0].hash, hex::encode(mine.change.hash.0));
    assert_eq!(all[0].rule, "finalised-visit-addendum-only");
    assert_eq!(all[0].path, "visits/x/observations");
    assert_eq!(all[0].bytes, mine.change.bytes);
    assert_eq!(all[0].refused_at, 40);
    // By person: only theirs.
    let only_p = s.refused_changes(Some(&BTreeSet::from([p]))).unwrap();
    assert_eq!(only_p.len(), 1);
    assert_eq!(only_p[0].person, p);
    assert!(
        s.refused_changes(Some(&BTreeSet::from([PersonId::random()])))
            .unwrap()
            .is_empty()
    );
    // Never applied: the document holds its first change and the two honest ones.
    assert_eq!(s.changes_after(&key, 0).unwrap().len(), 3);
    let audited = |s: &dyn Storage| {
        s.audit_of_child(c)
            .unwrap()
            .into_iter()
            .filter(|e| e.event == AuditEvent::ChangeRefused)
            .count()
    };
    assert_eq!(audited(s), 2);

    // Bounded per device: past the limit a refusal is audited, not kept.
    let limit = bothy_shared::refused::MAX_REFUSED_PER_DEVICE;
    let many: Vec<NewRefusedChange> = (0..limit)
        .map(|i| refused(d, p, &format!("refused {i}"), 50))
        .collect();
    s.commit_sync_keeping_refused(&[one_change_round(d, p, key, "more")], &[], &many, 50)
        .unwrap();
    let kept_by_d = s.refused_changes(Some(&BTreeSet::from([p]))).unwrap().len();
    assert_eq!(u64::try_from(kept_by_d).unwrap(), limit);
    assert_eq!(audited(s), 2 + usize::try_from(limit).unwrap());
    // Another device is not held back by this one's bound.
    assert_eq!(
        s.refused_changes(Some(&BTreeSet::from([q]))).unwrap().len(),
        1
    );
}

fn team_change(c: ChildId, by: PersonId, d: DeviceId, action: TeamAction) -> TeamChangeRecord {
    TeamChangeRecord {
        id: ItemId::random(),
        child: c,
        by,
        device: d,
        action,
        refused: None,
        at: 90,
    }
}

fn team_changes_are_kept_once_and_applied_unless_refused(s: &dyn Storage) {
    let c = child(s);
    let lead = practitioner(s, Agency::SocialWork);
    let d = device(s, lead);
    let joiner = practitioner(s, Agency::Police);
    s.set_team_member(
        c,
        lead,
        TeamMember {
            agency: Agency::SocialWork,
            role: TeamRole::LeadProfessional,
        },
        &[],
        10,
    )
    .unwrap();
    let member = TeamMember {
        agency: Agency::Police,
        role: TeamRole::Member,
    };
    let add = team_change(
        c,
        lead,
        d,
        TeamAction::Add {
            person: joiner,
            role: TeamRole::Member,
        },
    );
    let police = doc(DocKey::Agency(c, Agency::Police), "police");
    let effect = Some(TeamEffect::Join {
        person: joiner,
        member,
    });
    assert!(
        s.record_team_change(&add, effect, std::slice::from_ref(&police))
            .unwrap()
    );
    assert_eq!(s.team(c).unwrap().members[&joiner], member);
    assert!(
        s.document_exists(&DocKey::Agency(c, Agency::Police))
            .unwrap()
    );
    // The same id again changes nothing.
    assert!(!s.record_team_change(&add, effect, &[]).unwrap());
    assert_eq!(s.team_change(add.id).unwrap().unwrap(), add);

    // A refused change is kept with its rule and changes nothing.
    let mut refused = team_change(
        c,
        joiner,
        d,
        TeamAction::End {
            person: lead,
            on: IsoDate::from_ymd(2026, 12, 1).unwrap(),
            reason: "not mine to end".into(),
        },
    );
    refused.refused = Some(Rule::TeamLeadOrSupervisor);
    assert!(s.record_team_change(&refused, None, &[]).unwrap());
    assert!(s.team(c).unwrap().members.contains_key(&lead));

    // Ending a membership takes the person off, and keeps when and why.
    let end = team_change(
        c,
        lead,
        d,
        TeamAction::End {
            person: joiner,
            on: IsoDate::from_ymd(2026, 12, 2).unwrap(),
            reason: "moved to another area".into(),
        },
    );
    let leave = Some(TeamEffect::Leave { person: joiner });
    assert!(s.record_team_change(&end, leave, &[]).unwrap());
    assert!(!s.team(c).unwrap().members.contains_key(&joiner));
    let kept = s.team_changes(c).unwrap();
    assert_eq!(kept, vec![add, refused, end]);
    let events: Vec<AuditEvent> = s
        .audit_of_child(c)
        .unwrap()
        .into_iter()
        .filter(|e| e.document == DocKey::Plan(c) && e.person.is_some())
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        [
            AuditEvent::TeamMemberSet,
            AuditEvent::TeamChangeRefused,
            AuditEvent::TeamMembershipEnded
        ]
    );
}

fn handing_over_a_role_keeps_one_holder(s: &dyn Storage) {
    let c = child(s);
    let lead = practitioner(s, Agency::SocialWork);
    let next = practitioner(s, Agency::ThirdSector);
    let d = device(s, lead);
    for (p, agency, role) in [
        (lead, Agency::SocialWork, TeamRole::LeadProfessional),
        (next, Agency::ThirdSector, TeamRole::Member),
    ] {
        s.set_team_member(c, p, TeamMember { agency, role }, &[], 10)
            .unwrap();
    }
    let hand_over = team_change(
        c,
        lead,
        d,
        TeamAction::Add {
            person: next,
            role: TeamRole::LeadProfessional,
        },
    );
    let effect = Some(TeamEffect::Join {
        person: next,
        member: TeamMember {
            agency: Agency::ThirdSector,
            role: TeamRole::LeadProfessional,
        },
    });
    s.record_team_change(&hand_over, effect, &[]).unwrap();
    let team = s.team(c).unwrap();
    assert_eq!(team.members[&next].role, TeamRole::LeadProfessional);
    assert_eq!(team.members[&lead].role, TeamRole::Member);
}

fn offered_work_keeps_why_it_was_offered(s: &dyn Storage) {
    let c = child(s);
    let p = practitioner(s, Agency::ThirdSector);
    let d = device(s, p);
    s.keep_offered(
        d,
        p,
        &DocKey::Record(c),
        &[change("visit after leaving")],
        KeptReason::LeftTeam,
        80,
    )
    .unwrap();
    s.quarantine(d, p, &DocKey::Plan(c), &[change("revoked")], 81)
        .unwrap();
    let reasons: Vec<KeptReason> = s.quarantined().unwrap().iter().map(|q| q.reason).collect();
    assert_eq!(reasons, [KeptReason::LeftTeam, KeptReason::Revoked]);
}

// ---------------------------------------------------------------- several instances on PostgreSQL

/// Needs PostgreSQL (see `common`). Three instances starting at once on an
/// empty database: one applies the migrations, the others wait and find
/// them applied; all of them then see the same data.
#[test]
fn postgres_instances_starting_together_migrate_once() {
    let db = TestDb::new(Backend::Postgres);
    let opened: Vec<PgStorage> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| PgStorage::open_with_pool_size(&db.url, 2)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    let c = child(&opened[0]);
    for s in &opened {
        assert_eq!(s.child(c).unwrap().unwrap().name, "Child");
        assert_eq!(s.changes_after(&DocKey::Plan(c), 0).unwrap().len(), 1);
    }
    drop(opened);
    let mut client = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
    let applied: i64 = client
        .query_one("SELECT COUNT(*) FROM refinery_schema_history", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, migration_files("postgres"));
    // Reopening finds everything in place.
    let again = PgStorage::open(&db.url).unwrap();
    assert_eq!(again.child(c).unwrap().unwrap().name, "Child");
}

/// Needs PostgreSQL (see `common`). A nonce remembered by one instance is a
/// replay on another, and of many instances racing with one nonce exactly
/// one wins.
#[test]
fn postgres_nonces_are_shared_between_instances() {
    let db = TestDb::new(Backend::Postgres);
    let a = PgStorage::open_with_pool_size(&db.url, 4).unwrap();
    let b = PgStorage::open_with_pool_size(&db.url, 4).unwrap();
    let d = DeviceId::random();
    assert!(a.remember_nonce(d, b"once", 1_000, 10).unwrap());
    assert!(!b.remember_nonce(d, b"once", 1_000, 11).unwrap());
    assert!(
        b.remember_nonce(d, b"once", 3_000, 1_001).unwrap(),
        "expired"
    );
    for round in 0..10u8 {
        let nonce = [round; 16];
        let wins = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let s: &PgStorage = if i % 2 == 0 { &a } else { &b };
                    scope.spawn(move || s.remember_nonce(d, &nonce, 1_000, 10).unwrap())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|won| *won)
                .count()
        });
        assert_eq!(wins, 1, "round {round}");
    }
}

/// Needs PostgreSQL (see `common`). Writers on two instances store changes
/// concurrently while readers on both follow them the way devices and the
/// document cache do: with a cursor (`changed_among`) and with the last
/// sequence number seen (`changes_after`). Sequence numbers handed out in
/// an order other than commit order would make a reader step over a
/// change committed late with a lower number, and never see it.
#[test]
fn postgres_sequences_never_let_a_reader_skip_a_change() {
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 30;
    let db = TestDb::new(Backend::Postgres);
    let a = PgStorage::open_with_pool_size(&db.url, 6).unwrap();
    let b = PgStorage::open_with_pool_size(&db.url, 6).unwrap();
    let instances: [&PgStorage; 2] = [&a, &b];
    let hot = DocKey::Plan(child(&a));
    let quiet: Vec<DocKey> = (0..WRITERS * PER_WRITER / 3)
        .map(|_| {
            let id = ChildId::random();
            a.add_child(
                &ChildRecord {
                    id,
                    name: "C".into(),
                },
                &[doc(DocKey::Record(id), "r")],
                1,
            )
            .unwrap();
            DocKey::Record(id)
        })
        .collect();
    let watched: BTreeSet<DocKey> = quiet.iter().copied().chain([hot]).collect();
    let start = a
        .changed_among(0, DeviceId::random(), &BTreeSet::new())
        .unwrap()
        .high_water;
    let person = PersonId::random();
    let writing = AtomicBool::new(true);

    let (written_hot, seen) = std::thread::scope(|scope| {
        let readers: Vec<_> = instances
            .iter()
            .map(|s| {
                let (writing, watched) = (&writing, &watched);
                scope.spawn(move || {
                    let me = DeviceId::random();
                    let (mut cursor, mut last) = (start, 0);
                    let mut told = BTreeSet::new();
                    let mut hot_seen = Vec::new();
                    loop {
                        // Read the flag first: a pass that starts after the
                        // writers finished sees everything they wrote.
                        let done = !writing.load(Ordering::SeqCst);
                        let since = s.changed_among(cursor, me, watched).unwrap();
                        told.extend(since.documents.iter().map(|(k, _)| *k));
                        cursor = since.high_water;
                        for c in s.changes_after(&hot, last).unwrap() {
                            assert!(c.seq > last);
                            last = c.seq;
                            hot_seen.push(c.bytes);
                        }
                        if done {
                            return (told, hot_seen);
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let s = instances[w % 2];
                let mine: Vec<DocKey> = quiet.iter().skip(w).step_by(WRITERS).copied().collect();
                scope.spawn(move || {
                    let device = DeviceId::random();
                    let mut hot_changes = Vec::new();
                    for i in 0..PER_WRITER {
                        // Mostly the hot document, now and then a quiet one
                        // that gets just this one change.
                        let key = match mine.get(i / 3) {
                            Some(k) if i % 3 == 0 => *k,
                            _ => hot,
                        };
                        let c = change(&format!("writer {w} change {i}"));
                        if key == hot {
                            hot_changes.push(c.bytes.clone());
                        }
                        s.commit_sync_round(&SyncRound {
                            device,
                            person,
                            key,
                            accepted: vec![c],
                            sync_state: vec![],
                            sent_content: false,
                            at: 1,
                        })
                        .unwrap();
                    }
                    hot_changes
                })
            })
            .collect();
        let written: Vec<Vec<u8>> = writers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        writing.store(false, Ordering::SeqCst);
        let seen: Vec<_> = readers.into_iter().map(|h| h.join().unwrap()).collect();
        (written, seen)
    });

    let stored = a.changes_after(&hot, 0).unwrap();
    assert_eq!(stored.len(), written_hot.len() + 1);
    for (told, hot_seen) in seen {
        let missing: Vec<_> = quiet.iter().filter(|k| !told.contains(k)).collect();
        assert!(missing.is_empty(), "the cursor stepped over {missing:?}");
        let hot_seen: BTreeSet<_> = hot_seen.into_iter().collect();
        let skipped = written_hot
            .iter()
            .filter(|c| !hot_seen.contains(*c))
            .count();
        assert_eq!(skipped, 0, "changes_after stepped over {skipped} changes");
    }
    let mut seqs: Vec<u64> = stored.iter().map(|c| c.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), stored.len());
    let by_doc: BTreeMap<DocKey, u64> = a
        .changed_among(start, DeviceId::random(), &watched)
        .unwrap()
        .documents
        .into_iter()
        .collect();
    assert!(quiet.iter().all(|k| by_doc.contains_key(k)));
}

/// How many migration files `migrations/<backend>/` holds: each applied once.
fn migration_files(backend: &str) -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count() as i64
}

// ---------------------------------------------------------------- erasure, retention, keys

fn erasure_removes_a_childs_rows_and_keeps_a_tombstone(s: &dyn Storage) {
    let (c, other) = (child(s), child(s));
    let p = practitioner(s, Agency::SocialWork);
    let d = device(s, p);
    s.set_team_member(
        c,
        p,
        TeamMember {
            agency: Agency::SocialWork,
            role: TeamRole::LeadProfessional,
        },
        &[doc(DocKey::Agency(c, Agency::SocialWork), "a")],
        11,
    )
    .unwrap();
    s.commit_sync_round(&one_change_round(d, p, DocKey::Record(c), "visit"))
        .unwrap();
    s.commit_sync_round(&one_change_round(d, p, DocKey::Record(other), "kept"))
        .unwrap();
    s.quarantine(d, p, &DocKey::Record(c), &[change("offered")], 12)
        .unwrap();
    s.close_case(c, IsoDate::from_ymd(2019, 3, 1).unwrap())
        .unwrap();

    let erased = s
        .erase_child(c, "admin", "erasure request 42", 500)
        .unwrap();
    assert_eq!(erased.documents, 3);
    assert_eq!(erased.changes, 4, "three first changes and the visit");
    assert!(s.child(c).unwrap().is_none());
    assert!(matches!(s.team(c), Err(StorageError::NotFound { .. })));
    assert!(s.documents_of_child(c).unwrap().is_empty());
    for key in [DocKey::Plan(c), DocKey::Record(c)] {
        assert!(!s.document_exists(&key).unwrap());
        assert!(s.changes_after(&key, 0).unwrap().is_empty());
    }
    assert!(s.quarantined().unwrap().is_empty());
    assert_eq!(s.wrapped_key(&c.to_string()).unwrap(), None);
    // Which devices held its documents stays, so they are told they are gone.
    assert!(s.synced_documents(d).unwrap().contains(&DocKey::Record(c)));
    // The tombstone: who, when, why; the audit trail ends with the erasure.
    let tombstones = s.erasures().unwrap();
    assert_eq!(tombstones.len(), 1);
    assert_eq!(tombstones[0].child, c);
    assert_eq!(tombstones[0].at, 500);
    assert_eq!(tombstones[0].by, "admin");
    assert_eq!(tombstones[0].reason, "erasure request 42");
    assert_eq!(
        tombstones[0].closed_on,
        Some(IsoDate::from_ymd(2019, 3, 1).unwrap())
    );
    let audit = s.audit_of_child(c).unwrap();
    assert_eq!(audit.last().unwrap().event, AuditEvent::ChildErased);
    assert!(audit.iter().any(|e| e.event == AuditEvent::ChangeAccepted));
    // Another child is untouched; erasing twice is `NotFound`.
    assert_eq!(s.changes_after(&DocKey::Record(other), 0).unwrap().len(), 2);
    assert!(matches!(
        s.erase_child(c, "admin", "again", 501),
        Err(StorageError::NotFound { .. })
    ));
    assert_eq!(s.erasures().unwrap().len(), 1);
}

fn closing_a_case_records_its_date(s: &dyn Storage) {
    let (a, b, open) = (child(s), child(s), child(s));
    let day = |y, m, d| IsoDate::from_ymd(y, m, d).unwrap();
    s.close_case(a, day(2020, 5, 1)).unwrap();
    s.close_case(b, day(2018, 1, 2)).unwrap();
    s.close_case(a, day(2020, 6, 1)).unwrap();
    let closed: Vec<_> = s
        .closed_cases()
        .unwrap()
        .into_iter()
        .map(|c| (c.child, c.closed_on))
        .collect();
    assert_eq!(closed, vec![(b, day(2018, 1, 2)), (a, day(2020, 6, 1))]);
    assert!(!closed.iter().any(|(c, _)| *c == open));
    assert!(matches!(
        s.close_case(ChildId::random(), day(2020, 1, 1)),
        Err(StorageError::NotFound { .. })
    ));
}

fn case_exports_are_kept_with_an_audit_entry_per_document(s: &dyn Storage) {
    use bothy_server::storage::{AuditEvent, CaseExport};
    let (a, other) = (child(s), child(s));
    let export = CaseExport {
        child: a,
        at: 1_700_000_000,
        by: "an operator".into(),
        command: "bothy-server export --child … --format json".into(),
        documents: vec![DocKey::Plan(a), DocKey::Record(a)],
    };
    s.record_export(&export).unwrap();
    assert_eq!(s.exports(a).unwrap(), vec![export.clone()]);
    assert!(s.exports(other).unwrap().is_empty());
    let audited: Vec<_> = s
        .audit_of_child(a)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == AuditEvent::CaseExported)
        .map(|e| (e.document, e.at))
        .collect();
    assert_eq!(
        audited,
        vec![(DocKey::Plan(a), export.at), (DocKey::Record(a), export.at)]
    );
    assert!(matches!(
        s.record_export(&CaseExport {
            child: ChildId::random(),
            ..export
        }),
        Err(StorageError::NotFound { .. })
    ));
}

fn data_keys_are_kept_once_and_never_for_an_erased_owner(s: &dyn Storage) {
    let owner = ChildId::random().to_string();
    assert_eq!(s.wrapped_key(&owner).unwrap(), None);
    assert_eq!(
        s.keep_wrapped_key(&owner, b"first", 1).unwrap(),
        Some(b"first".to_vec())
    );
    assert_eq!(
        s.keep_wrapped_key(&owner, b"second", 2).unwrap(),
        Some(b"first".to_vec()),
        "the first key made is the one kept"
    );
    assert_eq!(s.wrapped_key(&owner).unwrap(), Some(b"first".to_vec()));
    assert!(
        s.wrapped_keys()
            .unwrap()
            .contains(&(owner, b"first".to_vec()))
    );
    let c = child(s);
    s.erase_child(c, "admin", "why", 3).unwrap();
    assert_eq!(
        s.keep_wrapped_key(&c.to_string(), b"again", 4).unwrap(),
        None
    );
    assert_eq!(s.wrapped_key(&c.to_string()).unwrap(), None);
}

fn rewrapping_replaces_every_key_or_none(s: &dyn Storage) {
    let owner = ChildId::random().to_string();
    s.keep_wrapped_key(&owner, b"old", 1).unwrap();
    let before = s.wrapped_keys().unwrap();
    let all: Vec<_> = before
        .iter()
        .map(|(o, w)| (o.clone(), w.clone(), [w.as_slice(), b"+new"].concat()))
        .collect();
    // Missing one (a key made meanwhile): nothing changes.
    assert!(matches!(
        s.rewrap_keys(&all[1..]),
        Err(StorageError::KeysChangedDuringRewrap { .. })
    ));
    assert_eq!(s.wrapped_keys().unwrap(), before);
    s.rewrap_keys(&all).unwrap();
    assert_eq!(s.wrapped_key(&owner).unwrap(), Some(b"old+new".to_vec()));
}
