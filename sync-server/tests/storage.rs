//! The storage contract, written against `&dyn Storage` so every backend
//! (SQLite now, PostgreSQL later) runs the same checks: add a
//! `#[test]` per backend that calls [`storage_contract`].

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use bothy_server::storage::sqlite::SqliteStorage;
use bothy_server::storage::{
    AuditEvent, ChildRecord, NewChange, NewDevice, NewDocument, PersonRecord, Storage,
    StorageError, SyncRound,
};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{PersonKind, TeamMember, TeamRole};

/// Every check, in one place, for one backend.
pub fn storage_contract(fresh: &dyn Fn() -> Box<dyn Storage>) {
    people_and_children_round_trip(fresh().as_ref());
    teams_hold_roles_and_the_young_person(fresh().as_ref());
    enrol_codes_are_one_time_and_expire(fresh().as_ref());
    nonces_are_remembered_until_they_expire(fresh().as_ref());
    changes_are_content_addressed_and_sequenced(fresh().as_ref());
    changed_since_skips_the_asking_device(fresh().as_ref());
    sync_rounds_store_state_audit_and_synced_documents(fresh().as_ref());
    revocation_keeps_the_first_time(fresh().as_ref());
    quarantine_keeps_offers_once(fresh().as_ref());
}

#[test]
fn sqlite_storage_meets_the_contract() {
    storage_contract(&|| Box::new(SqliteStorage::open_in_memory().unwrap()));
}

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

#[test]
fn unsupported_database_urls_are_refused() {
    assert!(matches!(
        bothy_server::storage::open("postgres://x"),
        Err(StorageError::UnsupportedUrl(_))
    ));
    assert!(matches!(
        bothy_server::storage::open("sqlite://"),
        Err(StorageError::UnsupportedUrl(_))
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

fn changed_since_skips_the_asking_device(s: &dyn Storage) {
    let c = child(s);
    let p = practitioner(s, Agency::Police);
    let (mine, theirs) = (device(s, p), device(s, p));
    let start = s.changed_since(0, mine).unwrap();
    assert_eq!(
        start.documents.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec![DocKey::Plan(c), DocKey::Record(c)]
    );
    let cursor = start.high_water;
    let round = |device, key, v: &str| SyncRound {
        device,
        person: p,
        key,
        accepted: vec![change(v)],
        sync_state: vec![],
        sent_content: false,
        at: 30,
    };
    s.commit_sync_round(&round(mine, DocKey::Plan(c), "mine"))
        .unwrap();
    let after_mine = s.changed_since(cursor, mine).unwrap();
    assert!(
        after_mine.documents.is_empty(),
        "a device is not told about its own changes"
    );
    assert!(after_mine.high_water > cursor);
    assert_eq!(s.changed_since(cursor, theirs).unwrap().documents.len(), 1);
    s.commit_sync_round(&round(theirs, DocKey::Record(c), "theirs"))
        .unwrap();
    let docs = s
        .changed_since(after_mine.high_water, mine)
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
