//! Refused work is never stuck (issue 15): a change the server refuses is
//! set aside on the device, the honest edits made after it reach the server
//! and every other device, and the refused one is shown, with its words,
//! to the worker (the service API and `bothy refused`) and to their
//! supervisor (`GET /v1/refused`), and to nobody else. Real devices
//! (encrypted stores, the client core, the sync engine) and the `bothy`
//! command against a real server on port 0: the demo partnership.

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bothy_client::services::VisitDraft;
use bothy_shared::demo::{DAVID, FIONA, KAI, MORAG};
use bothy_shared::docs::{DocKey, RecordDoc, Text, read_document};
use bothy_shared::wire::{self, RefusedResponse};
use bothy_tests::device::Device;
use bothy_tests::server::TestServer;
use reqwest::StatusCode;

const BOTHY_BIN: &str = env!("CARGO_BIN_EXE_bothy-under-test");
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

async fn device(server: &TestServer, name: &str, person: bothy_shared::ids::PersonId) -> Device {
    server.enrol_synced(name, person).await.unwrap()
}

async fn bothy(data: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    bothy_tests::cli::bothy(BOTHY_BIN, data, args)
        .await
        .unwrap()
}

/// The refused changes a person's signed read returns.
async fn refused_read(server: &TestServer, person: bothy_shared::ids::PersonId) -> RefusedResponse {
    let wire_device = server.enrol(person).await.unwrap();
    let (status, body) = wire_device
        .signed("GET", wire::PATH_REFUSED, Vec::new())
        .await;
    assert_eq!(status, StatusCode::OK);
    wire::from_cbor(&body).unwrap()
}

fn visits_with(record: &RecordDoc, words: &str) -> usize {
    record
        .visits
        .values()
        .filter(|v| v.observations.as_str().contains(words))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_followed_by_ten_honest_edits_never_blocks_them() {
    let server = TestServer::start_demo().await.unwrap();
    let record = DocKey::Record(KAI);
    let mut morag = device(&server, "Morag", MORAG).await;
    let mut david = device(&server, "David", DAVID).await;

    // A finalised visit, synced.
    let mut draft = VisitDraft::new(KAI);
    draft.observations = "Home visit; all well.".into();
    draft.child_seen = true;
    morag.client_mut().save_visit(&draft, true).unwrap();
    morag.sync().await.unwrap();

    // A change the server refuses (the finalised visit rewritten, as a
    // client that skipped the local policy would), then ten honest edits of
    // the same document, all offline.
    let refused_words = "REFUSED-rewritten-after-it-was-finalised";
    let visit = draft.id;
    let bad = morag
        .tamper::<RecordDoc>(record, |r| {
            r.visits.get_mut(&visit).unwrap().observations = Text::with_value(refused_words);
        })
        .unwrap();
    for i in 0..10 {
        let mut d = VisitDraft::new(KAI);
        d.observations = format!("HONEST-{i} school visit, Kai settled");
        d.child_seen = true;
        morag.client_mut().save_visit(&d, i % 2 == 0).unwrap();
    }
    assert_eq!(morag.client().unsynced_changes().unwrap(), 11);

    let report = morag.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].rule, "finalised-visit-addendum-only");
    assert_eq!(report.refused[0].change, hex::encode(bad.0));
    // Nothing waits: the ten were remade and acknowledged in the same run.
    assert_eq!(morag.client().unsynced_changes().unwrap(), 0);

    // All ten reach the server; the refused words do not.
    let on_server: RecordDoc = read_document(&server.document(&record).unwrap(), &record).unwrap();
    assert_eq!(visits_with(&on_server, "HONEST-"), 10);
    assert_eq!(visits_with(&on_server, refused_words), 0);
    // Another device sees them.
    david.sync().await.unwrap();
    let on_david = david.read::<RecordDoc>(&record).unwrap();
    assert_eq!(visits_with(&on_david, "HONEST-"), 10);
    assert_eq!(visits_with(&on_david, refused_words), 0);
    // Morag's own copy is the server's: the visit reads as finalised.
    let mine = morag.read::<RecordDoc>(&record).unwrap();
    assert_eq!(visits_with(&mine, "HONEST-"), 10);
    assert_eq!(
        mine.visits[&visit].observations.as_str(),
        "Home visit; all well."
    );

    // Shown on the device, with its words, through the service API...
    let shown = morag.client().refused_work().unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].rule, "finalised-visit-addendum-only");
    assert_eq!(shown[0].change, hex::encode(bad.0));
    assert!(shown[0].words.contains(refused_words), "{}", shown[0].words);
    assert!(!shown[0].message.is_empty());
    assert_eq!(morag.client().refused_work_of(KAI).unwrap().len(), 1);

    // ...and by `bothy refused`, one block with rule, reason and text.
    let (rc, out, err) = bothy(morag.dir(), &["refused"]).await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("rule: finalised-visit-addendum-only"), "{out}");
    assert!(
        out.contains(&format!("reason: {}", shown[0].message)),
        "{out}"
    );
    assert!(out.contains(refused_words), "{out}");
    assert_eq!(out.matches("rule: ").count(), 1, "{out}");

    // Syncing again sends nothing and records nothing twice.
    let again = morag.sync().await.unwrap();
    assert!(again.refused.is_empty());
    assert_eq!(again.sync_requests, 0);
    assert_eq!(morag.client().refused_work().unwrap().len(), 1);

    // The server kept it: her supervisor reads it with its words; David,
    // on the same team but not her supervisor, does not.
    let fiona = refused_read(&server, FIONA).await;
    assert_eq!(fiona.refused.len(), 1, "{fiona:?}");
    let kept = &fiona.refused[0];
    assert_eq!(kept.person, MORAG);
    assert_eq!(kept.document, record);
    assert_eq!(kept.change, hex::encode(bad.0));
    assert_eq!(kept.rule, "finalised-visit-addendum-only");
    assert!(kept.words.contains(refused_words), "{}", kept.words);
    assert!(!kept.explanation.is_empty());
    assert!(refused_read(&server, DAVID).await.refused.is_empty());
    // Morag reads her own.
    assert_eq!(refused_read(&server, MORAG).await.refused.len(), 1);
    // And an administrator lists it, with its words.
    let out = tokio::process::Command::new(SERVER_BIN)
        .args(["refused", "--db", &server.db_url])
        .output()
        .await
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{listed}");
    assert!(listed.contains(&hex::encode(bad.0)[..12]), "{listed}");
    assert!(
        listed.contains("rule: finalised-visit-addendum-only"),
        "{listed}"
    );
    assert!(listed.contains(refused_words), "{listed}");
    server.stop().await.unwrap();
}
