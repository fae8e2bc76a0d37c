//! Team changes from the app (issue 15), end to end: real devices
//! (encrypted stores, the client core, the sync engine) against a real
//! server on port 0, the demo partnership.
//!
//! - A member removed while offline with an unsynced visit: at their next
//!   sync the visit is offered and kept for their supervisor (who reads it
//!   through `/v1/kept`), then the child is gone from the device: no
//!   document, no index row, no draft, no meta key, nothing in any file;
//!   and the device's raw signed reads of the child are refused.
//! - A practitioner the lead professional adds gets the plan and record at
//!   their next sync.
//! - A team change by a plain member or the young person is refused, also
//!   sent raw; one queued by a lead who is no longer lead when it arrives is
//!   refused with the rule, and the worker sees why.

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bothy_client::Client;
use bothy_client::services::VisitDraft;
use bothy_client::store::rusqlite;
use bothy_server::storage::Storage;
use bothy_shared::demo::{DAVID, FIONA, IAIN, KAI, KAI_YP, MORAG, PRIYA};
use bothy_shared::docs::{DocKey, IsoDate, RecordDoc, read_document};
use bothy_shared::ids::{Agency, ItemId};
use bothy_shared::policy::{TeamMember, TeamRole};
use bothy_shared::robust;
use bothy_shared::team::{TeamAction, TeamChange};
use bothy_shared::wire::{DocStatus, KeptReason, TeamStatus};
use bothy_tests::bytes::contains;
use bothy_tests::device::Device;
use bothy_tests::server::TestServer;
use bothy_tests::wire_device::WireDevice;

async fn device(server: &TestServer, name: &str, person: bothy_shared::ids::PersonId) -> Device {
    server.enrol_synced(name, person).await.unwrap()
}

/// Every value in every table of the device's store that mentions any of
/// `needles` (as text or bytes): `table: value`.
fn store_mentions(client: &Client, needles: &[&[u8]]) -> Vec<String> {
    let conn = client.store().connection();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let bytes: Vec<u8> = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        t.to_vec()
                    }
                    _ => continue,
                };
                if needles.iter().any(|n| contains(&bytes, n)) {
                    found.push(format!("{table}: {}", String::from_utf8_lossy(&bytes)));
                }
            }
        }
    }
    found
}

/// Files in `dir` whose bytes mention any of `needles`.
fn files_mentioning(dir: &std::path::Path, needles: &[&[u8]]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).ok()?;
            needles
                .iter()
                .any(|n| contains(&bytes, n))
                .then(|| path.display().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_while_offline_hands_their_visit_to_the_supervisor_and_forgets_the_child()
{
    let server = TestServer::start_demo().await.unwrap();
    let mut priya = device(&server, "Priya", PRIYA).await;
    let mut morag = device(&server, "Morag", MORAG).await;
    let fiona = device(&server, "Fiona", FIONA).await;
    assert!(priya.holds(&DocKey::Record(KAI)).unwrap());

    // Priya records a visit with no signal, and types another she never saves.
    let words = format!("Kai's visit after the team changed {}", ItemId::random());
    let mut visit = VisitDraft::new(KAI);
    visit.observations = words.clone();
    priya.client_mut().save_visit(&visit, true).unwrap();
    let mut typing = VisitDraft::new(KAI);
    typing.observations = "half a sentence".into();
    priya.client_mut().autosave_visit(&typing).unwrap();

    // Meanwhile Morag, the lead professional, ends Priya's membership.
    let today = IsoDate::today();
    morag
        .client_mut()
        .end_membership(KAI, PRIYA, today, "Family support ended")
        .unwrap();
    assert_eq!(morag.client().team_view(KAI).unwrap().pending.len(), 1);
    let r = morag.sync().await.unwrap();
    assert_eq!(r.team.len(), 1);
    assert!(r.team[0].applied, "{:?}", r.team);
    let view = morag.client().team_view(KAI).unwrap();
    assert!(view.pending.is_empty());
    assert!(!view.members.iter().any(|m| m.person == PRIYA));
    assert!(
        !server
            .storage
            .team(KAI)
            .unwrap()
            .members
            .contains_key(&PRIYA)
    );
    let kept = server.storage.team_changes(KAI).unwrap();
    assert!(matches!(
        &kept[0].action,
        TeamAction::End { person, reason, on } if *person == PRIYA && reason == "Family support ended" && *on == today
    ));
    assert_eq!(kept[0].by, MORAG);

    // The control: before her sync the store names Kai everywhere.
    let kai = KAI.to_string();
    let needles: [&[u8]; 4] = [
        kai.as_bytes(),
        KAI.0.as_bytes(),
        b"Kai Robertson",
        words.as_bytes(),
    ];
    assert!(!store_mentions(priya.client(), &needles).is_empty());

    // Priya's next sync: the visit is offered first, then Kai goes.
    let r = priya.sync().await.unwrap();
    assert_eq!(r.left, vec![KAI]);
    assert!(r.offered >= 1, "{r:?}");
    let quarantined = server.storage.quarantined().unwrap();
    assert!(quarantined.iter().any(|q| q.person == PRIYA
        && q.document == DocKey::Record(KAI)
        && q.reason == KeptReason::LeftTeam));
    // Not merged into the record.
    let record = server.document(&DocKey::Record(KAI)).unwrap();
    let on_server: RecordDoc = read_document(&record, &DocKey::Record(KAI)).unwrap();
    assert!(
        !on_server
            .visits
            .values()
            .any(|v| v.observations.as_str().contains(&words))
    );

    // Fiona, Priya's supervisor, reads the visit from her device (/v1/kept).
    let kept = fiona.engine.kept_work().await.unwrap();
    let mine: Vec<_> = kept
        .kept
        .iter()
        .filter(|k| k.person == PRIYA && k.document == DocKey::Record(KAI))
        .collect();
    assert!(!mine.is_empty());
    let changes: Vec<automerge::Change> = mine
        .iter()
        .map(|k| robust::decode_change(&k.change).unwrap())
        .collect();
    let with_visit = robust::apply_changes(&record, &changes).unwrap();
    let seen: RecordDoc = read_document(&with_visit, &DocKey::Record(KAI)).unwrap();
    assert!(
        seen.visits
            .values()
            .any(|v| v.observations.as_str().contains(&words)),
        "the supervisor reads the visit"
    );
    // A practitioner is not a supervisor: refused.
    let (status, _) = server.enrol(MORAG).await.unwrap().kept().await.unwrap_err();
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);

    // The device holds nothing of Kai: no document, and no table names him.
    assert!(
        priya
            .client()
            .document_keys()
            .unwrap()
            .iter()
            .all(|k| k.child() != KAI)
    );
    assert!(priya.client().caseload(None).unwrap().is_empty());
    assert!(priya.client().visit_drafts().unwrap().is_empty());
    assert_eq!(
        store_mentions(priya.client(), &needles),
        Vec::<String>::new()
    );

    // Raw signed reads by Priya's own device are refused from now on.
    let raw = WireDevice::of_client(&server.base, priya.client()).await;
    for key in [
        DocKey::Plan(KAI),
        DocKey::Record(KAI),
        DocKey::Agency(KAI, Agency::ThirdSector),
    ] {
        let reply = raw.read_raw(key).await;
        assert_eq!(reply.status, DocStatus::Unavailable, "{key}");
        assert!(reply.message.is_none(), "{key}");
    }
    assert!(raw.directory.children.is_empty());

    // A second sync changes nothing, and the files hold no trace of him.
    let r = priya.sync().await.unwrap();
    assert!(r.gone.is_empty() && r.left.is_empty(), "{r:?}");
    let (client, _engine, dir) = priya.into_parts();
    assert_eq!(store_mentions(&client, &needles), Vec::<String>::new());
    client.lock().unwrap();
    assert_eq!(files_mentioning(dir.path(), &needles), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practitioner_the_lead_adds_gets_the_plan_and_record_at_their_next_sync() {
    let server = TestServer::start_demo().await.unwrap();
    let mut morag = device(&server, "Morag", MORAG).await;
    let mut iain = device(&server, "Iain", IAIN).await;
    assert!(!iain.holds(&DocKey::Plan(KAI)).unwrap());

    let who = morag.client().find_person("Iain").unwrap();
    assert_eq!(who, IAIN);
    morag
        .client_mut()
        .add_to_team(KAI, IAIN, TeamRole::Member)
        .unwrap();
    let r = morag.sync().await.unwrap();
    assert!(r.team[0].applied, "{:?}", r.team);
    assert_eq!(
        server.storage.team(KAI).unwrap().members[&IAIN],
        TeamMember {
            agency: Agency::Police,
            role: TeamRole::Member
        }
    );
    let view = morag.client().team_view(KAI).unwrap();
    assert!(view.members.iter().any(|m| m.person == IAIN));

    let r = iain.sync().await.unwrap();
    assert!(r.new >= 2, "{r:?}");
    for key in [
        DocKey::Plan(KAI),
        DocKey::Record(KAI),
        DocKey::Agency(KAI, Agency::Police),
    ] {
        assert!(iain.holds(&key).unwrap(), "{key}");
    }
    assert!(
        iain.client()
            .caseload(None)
            .unwrap()
            .iter()
            .any(|c| c.child == KAI)
    );

    // Handing the named person role over keeps one named person.
    morag
        .client_mut()
        .add_to_team(KAI, IAIN, TeamRole::NamedPerson)
        .unwrap();
    morag.sync().await.unwrap();
    let team = server.storage.team(KAI).unwrap();
    assert_eq!(team.members[&IAIN].role, TeamRole::NamedPerson);
    assert_eq!(team.members[&DAVID].role, TeamRole::Member);
    // The child's page says so, from the directory the sync brought.
    let page = morag.client_mut().child(KAI).unwrap();
    assert_eq!(page.named_person.as_deref(), Some("Iain Campbell"));
    assert!(page.team.iter().any(|l| l.person == IAIN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_change_by_a_plain_member_or_the_young_person_is_refused_even_raw() {
    let server = TestServer::start_demo().await.unwrap();
    let mut priya = device(&server, "Priya", PRIYA).await;
    let before = server.storage.team(KAI).unwrap();

    // The device refuses before anything is queued.
    let local = priya
        .client_mut()
        .add_to_team(KAI, IAIN, TeamRole::Member)
        .unwrap_err();
    assert!(
        local.to_string().contains("team-lead-or-supervisor"),
        "{local}"
    );

    // Sent raw, by Priya's device and by Kai's: refused with the rule.
    let raw = WireDevice::of_client(&server.base, priya.client()).await;
    let kai = server.enrol(KAI_YP).await.unwrap();
    for dev in [&raw, &kai] {
        let change = TeamChange {
            id: ItemId::random(),
            child: KAI,
            action: TeamAction::Add {
                person: dev.person,
                role: TeamRole::LeadProfessional,
            },
        };
        let resp = dev.team(vec![change]).await.unwrap();
        assert_eq!(resp.results[0].status, TeamStatus::Refused);
        assert_eq!(
            resp.results[0].rule.as_deref(),
            Some("team-lead-or-supervisor")
        );
    }
    assert_eq!(server.storage.team(KAI).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_queued_by_a_lead_who_is_no_longer_lead_is_refused_and_shown_why() {
    let server = TestServer::start_demo().await.unwrap();
    let mut morag = device(&server, "Morag", MORAG).await;
    morag
        .client_mut()
        .add_to_team(KAI, IAIN, TeamRole::Member)
        .unwrap();
    // Before Morag syncs, an administrator makes David the lead professional.
    let storage: &dyn Storage = server.storage.as_ref();
    for (person, agency, role) in [
        (DAVID, Agency::Education, TeamRole::LeadProfessional),
        (MORAG, Agency::SocialWork, TeamRole::Member),
    ] {
        storage
            .set_team_member(KAI, person, TeamMember { agency, role }, &[], 1)
            .unwrap();
    }
    let r = morag.sync().await.unwrap();
    assert!(!r.team[0].applied);
    assert_eq!(r.team[0].rule.as_deref(), Some("team-lead-or-supervisor"));
    assert!(
        !server
            .storage
            .team(KAI)
            .unwrap()
            .members
            .contains_key(&IAIN)
    );
    let view = morag.client().team_view(KAI).unwrap();
    assert!(view.pending.is_empty());
    assert_eq!(view.refused.len(), 1);
    assert!(
        view.refused[0]
            .why
            .as_deref()
            .unwrap()
            .contains("lead professional")
    );
    // Sending the same change again gets the same answer, and applies nothing.
    let again = morag.sync().await.unwrap();
    assert!(again.team.is_empty());
}
