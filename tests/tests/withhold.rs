//! Withholding holds on the bytes: a part of Kai's plan withheld by his lead
//! professional never reaches a device of Kai's, in any response body or in
//! any state of any document his device keeps, also when it was shared
//! before it was withheld (the server starts a new generation of his copy).
//! Real devices (encrypted stores, the client core, the sync engine) against
//! a real server on port 0: the demo partnership.

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bothy_client::sync::SyncOptions;
use bothy_shared::demo::{KAI, KAI_YP, MORAG};
use bothy_shared::docs::{DocKey, Indicator, PlanDoc, read_document};
use bothy_shared::ids::PersonId;
use bothy_tests::bytes::{bodies_mention, history_mentions, recorded_device, store_mentions};
use bothy_tests::device::Device;
use bothy_tests::server::TestServer;

/// Morag writes the secret into Achieving (words and a rating's note) and syncs.
async fn morag_writes(morag: &mut Device, secret: &str) {
    morag
        .client_mut()
        .describe_wellbeing(KAI, Indicator::Achieving, "", secret)
        .unwrap();
    morag
        .client_mut()
        .rate_wellbeing(KAI, Indicator::Achieving, 3, secret)
        .unwrap();
    let r = morag.sync().await.unwrap();
    assert!(r.refused.is_empty(), "{:?}", r.refused);
}

async fn morag_withholds(morag: &mut Device) {
    morag
        .client_mut()
        .withhold(
            KAI,
            "wellbeing/achieving",
            "Not before the meeting with mum",
        )
        .unwrap();
    let r = morag.sync().await.unwrap();
    assert!(r.refused.is_empty(), "{:?}", r.refused);
}

fn secret() -> String {
    format!("SECRET-ACHIEVING-{}", bothy_shared::ids::ItemId::random())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_withheld_before_kai_ever_synced_never_reaches_his_device() {
    let server = TestServer::start_demo().await.unwrap();
    let secret = secret();
    let mut morag = server
        .enrol_device("Morag", MORAG, SyncOptions::default())
        .await
        .unwrap();
    morag.sync().await.unwrap();
    morag_writes(&mut morag, &secret).await;
    // The control: the team's plan holds it, on the bytes this test reads,
    // and so did the young person's first copy.
    let plan = server.document(&DocKey::Plan(KAI)).unwrap();
    assert!(history_mentions(&plan, &DocKey::Plan(KAI), &secret));
    let first = server.document(&DocKey::Young(KAI, 1)).unwrap();
    assert!(history_mentions(&first, &DocKey::Young(KAI, 1), &secret));

    morag_withholds(&mut morag).await;

    let (mut kai, bodies) = recorded_device(&server, "Kai", KAI_YP).await.unwrap();
    let report = kai.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(
        kai.client().document_keys().unwrap(),
        vec![DocKey::Young(KAI, 2)]
    );
    assert!(!bodies.lock().unwrap().is_empty());
    assert!(!bodies_mention(&bodies, &secret));
    assert!(!store_mentions(&mut kai, &secret).unwrap());
    // His plan says some of it is private, and still shows the rest.
    let mine = kai.client_mut().my_plan().unwrap();
    assert!(mine.some_private);
    assert!(
        !mine
            .how_things_are
            .iter()
            .any(|l| l.about == "wellbeing/achieving")
    );
    assert!(
        mine.how_things_are
            .iter()
            .any(|l| l.about == "wellbeing/healthy")
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_shared_before_it_was_withheld_leaves_kais_devices_with_a_new_copy() {
    let server = TestServer::start_demo().await.unwrap();
    let secret = secret();
    let mut morag = server
        .enrol_device("Morag", MORAG, SyncOptions::default())
        .await
        .unwrap();
    morag.sync().await.unwrap();
    morag_writes(&mut morag, &secret).await;

    // Kai sees it first.
    let mut kai = server
        .enrol_device("Kai", KAI_YP, SyncOptions::default())
        .await
        .unwrap();
    kai.sync().await.unwrap();
    assert!(
        store_mentions(&mut kai, &secret).unwrap(),
        "the control: shared"
    );
    let mine = kai.client_mut().my_plan().unwrap();
    assert!(mine.how_things_are.iter().any(|l| l.worries == secret));

    morag_withholds(&mut morag).await;

    // His next sync leaves him the new generation only.
    let report = kai.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.gone, vec![DocKey::Young(KAI, 1)]);
    assert_eq!(
        kai.client().document_keys().unwrap(),
        vec![DocKey::Young(KAI, 2)]
    );
    assert!(!store_mentions(&mut kai, &secret).unwrap());
    let mine = kai.client_mut().my_plan().unwrap();
    assert!(mine.some_private);
    assert!(!mine.how_things_are.iter().any(|l| l.worries == secret));
    // The new generation's bytes on the server never held it; the old one
    // is kept (the audit) and read by nobody.
    let second = server.document(&DocKey::Young(KAI, 2)).unwrap();
    assert!(!history_mentions(&second, &DocKey::Young(KAI, 2), &secret));
    assert!(
        server
            .storage
            .document_exists(&DocKey::Young(KAI, 1))
            .unwrap()
    );

    // A second device of Kai's, enrolled now, never receives it.
    let (mut tablet, bodies) = recorded_device(&server, "Kai's tablet", KAI_YP)
        .await
        .unwrap();
    tablet.sync().await.unwrap();
    assert_eq!(
        tablet.client().document_keys().unwrap(),
        vec![DocKey::Young(KAI, 2)]
    );
    assert!(!bodies_mention(&bodies, &secret));
    assert!(!store_mentions(&mut tablet, &secret).unwrap());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kais_view_written_on_the_old_copy_reaches_the_plan_and_the_new_copy() {
    let server = TestServer::start_demo().await.unwrap();
    let mut morag = server
        .enrol_device("Morag", MORAG, SyncOptions::default())
        .await
        .unwrap();
    morag.sync().await.unwrap();
    let mut kai = server
        .enrol_device("Kai", KAI_YP, SyncOptions::default())
        .await
        .unwrap();
    kai.sync().await.unwrap();

    // Kai writes offline on generation 1 while Morag withholds.
    let words = format!(
        "I like woodwork best {}",
        bothy_shared::ids::ItemId::random()
    );
    kai.client_mut()
        .add_what_i_think("overall", &words)
        .unwrap();
    assert_eq!(kai.client().unsynced_changes().unwrap(), 1);
    morag_withholds(&mut morag).await;

    let report = kai.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(kai.client().unsynced_changes().unwrap(), 0);
    // In the team's plan, and in the copy Kai now holds (another sync
    // brings the server's mirror of it in).
    let plan: PlanDoc = read_document(
        &server.document(&DocKey::Plan(KAI)).unwrap(),
        &DocKey::Plan(KAI),
    )
    .unwrap();
    assert!(
        plan.young_person_views
            .values()
            .any(|v| v.words.as_str() == words && v.author == KAI_YP)
    );
    kai.sync().await.unwrap();
    assert_eq!(
        kai.client().document_keys().unwrap(),
        vec![DocKey::Young(KAI, 2)]
    );
    let mine = kai.client_mut().my_plan().unwrap();
    assert!(
        mine.what_i_think.iter().any(|v| v.words == words),
        "{mine:?}"
    );
    morag.sync().await.unwrap();
    assert!(
        morag
            .read::<PlanDoc>(&DocKey::Plan(KAI))
            .unwrap()
            .young_person_views
            .values()
            .any(|v| v.words.as_str() == words)
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifting_a_withholding_brings_the_part_back_to_kai() {
    let server = TestServer::start_demo().await.unwrap();
    let secret = secret();
    let mut morag = server
        .enrol_device("Morag", MORAG, SyncOptions::default())
        .await
        .unwrap();
    morag.sync().await.unwrap();
    morag_writes(&mut morag, &secret).await;
    morag_withholds(&mut morag).await;
    let mut kai = server
        .enrol_device("Kai", KAI_YP, SyncOptions::default())
        .await
        .unwrap();
    kai.sync().await.unwrap();
    assert!(!store_mentions(&mut kai, &secret).unwrap());

    assert_eq!(
        morag
            .client_mut()
            .unwithhold(KAI, "wellbeing/achieving")
            .unwrap(),
        1
    );
    morag.sync().await.unwrap();
    kai.sync().await.unwrap();
    let mine = kai.client_mut().my_plan().unwrap();
    let achieving = mine
        .how_things_are
        .iter()
        .find(|l| l.about == "wellbeing/achieving")
        .expect("achieving is shown again");
    assert_eq!(achieving.worries, secret);
    assert_eq!(achieving.now, Some(3));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lead_professional_or_a_supervisor_withholds() {
    use bothy_shared::demo::{DAVID, FIONA};
    let server = TestServer::start_demo().await.unwrap();
    let mut david = server
        .enrol_device("David", DAVID, SyncOptions::default())
        .await
        .unwrap();
    david.sync().await.unwrap();
    let refused = david
        .client_mut()
        .withhold(KAI, "my_world", "no")
        .unwrap_err();
    assert!(
        refused.to_string().contains("withhold-lead-or-supervisor"),
        "{refused}"
    );
    let unknown = david
        .client_mut()
        .withhold(KAI, "secrets", "no")
        .unwrap_err();
    assert!(unknown.to_string().contains("wellbeing/safe"), "{unknown}");

    // Fiona supervises the team from outside it: she may.
    let mut fiona = server
        .enrol_device("Fiona", FIONA, SyncOptions::default())
        .await
        .unwrap();
    fiona.sync().await.unwrap();
    fiona
        .client_mut()
        .withhold(KAI, "my_world", "Waiting for the assessment")
        .unwrap();
    let r = fiona.sync().await.unwrap();
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    let plan: PlanDoc = read_document(
        &server.document(&DocKey::Plan(KAI)).unwrap(),
        &DocKey::Plan(KAI),
    )
    .unwrap();
    assert!(
        plan.withheld
            .values()
            .any(|m| m.section == "my_world" && m.by == FIONA && !m.reason.is_empty())
    );
    server.stop().await.unwrap();
}

const BOTHY_BIN: &str = env!("CARGO_BIN_EXE_bothy-under-test");

async fn bothy(data: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    bothy_tests::cli::bothy(BOTHY_BIN, data, args)
        .await
        .unwrap()
}

async fn enrolled(server: &TestServer, dir: &std::path::Path, person: PersonId) {
    let code = server.code_for(person).unwrap();
    bothy_tests::cli::enrolled(BOTHY_BIN, dir, &server.base, &code)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bothy_command_withholds_shows_and_lifts_and_refuses_other_members() {
    use bothy_shared::demo::DAVID;
    let server = TestServer::start_demo().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (morag, david) = (dir.path().join("morag"), dir.path().join("david"));
    enrolled(&server, &morag, MORAG).await;
    enrolled(&server, &david, DAVID).await;

    let (rc, out, err) = bothy(
        &morag,
        &[
            "withhold",
            "--child",
            "Kai",
            "--section",
            "my_world",
            "--reason",
            "Waiting for the assessment",
        ],
    )
    .await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("Withheld my_world"), "{out}");
    let (rc, out, _) = bothy(&morag, &["show", "Kai"]).await;
    assert_eq!(rc, 0);
    assert!(out.contains("Withheld from the young person:"), "{out}");
    assert!(
        out.contains("my_world — Waiting for the assessment"),
        "{out}"
    );
    let (rc, out, _) = bothy(&morag, &["--json", "show", "Kai"]).await;
    assert_eq!(rc, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        json["withheld_from_young_person"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["section"] == "my_world" && w["reason"] == "Waiting for the assessment"),
        "{out}"
    );
    let (rc, out, err) = bothy(&morag, &["sync"]).await;
    assert_eq!(rc, 0, "{out}{err}");
    // A new generation of Kai's copy, without the part's content.
    assert!(
        server
            .storage
            .document_exists(&DocKey::Young(KAI, 2))
            .unwrap()
    );

    // David is on the team but does not lead it.
    let (rc, _, err) = bothy(
        &david,
        &[
            "withhold",
            "--child",
            "Kai",
            "--section",
            "reason",
            "--reason",
            "no",
        ],
    )
    .await;
    assert_ne!(rc, 0);
    assert!(err.contains("withhold-lead-or-supervisor"), "{err}");
    let (rc, _, err) = bothy(
        &morag,
        &[
            "withhold",
            "--child",
            "Kai",
            "--section",
            "diary",
            "--reason",
            "x",
        ],
    )
    .await;
    assert_ne!(rc, 0);
    assert!(
        err.contains("wellbeing/safe") && err.contains("family_views"),
        "{err}"
    );

    let (rc, out, err) = bothy(
        &morag,
        &["unwithhold", "--child", "Kai", "--section", "my_world"],
    )
    .await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("no longer withheld"), "{out}");
    let (_, out, _) = bothy(&morag, &["show", "Kai"]).await;
    assert!(!out.contains("my_world — "), "{out}");
    server.stop().await.unwrap();
}

/// Moving on (issue 15): the transition section Morag records reaches Kai's
/// copy through the server and his My plan says it; withheld, his next
/// sync leaves him a copy whose bytes never held it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_on_reaches_kais_copy_and_is_gone_from_it_when_withheld() {
    use bothy_client::services::TransitionInput;
    use bothy_shared::ids::Agency;
    let server = TestServer::start_demo().await.unwrap();
    let secret = format!("MOVING-ON-{}", bothy_shared::ids::ItemId::random());
    let mut morag = server
        .enrol_device("Morag", MORAG, SyncOptions::default())
        .await
        .unwrap();
    morag.sync().await.unwrap();
    morag
        .client_mut()
        .set_transition(
            KAI,
            &TransitionInput {
                needed: true,
                services: vec![Agency::AdultSocialWork, Agency::Housing],
                plan: secret.clone(),
                start_by: Some("2027-03-01".parse().unwrap()),
            },
        )
        .unwrap();
    let r = morag.sync().await.unwrap();
    assert!(r.refused.is_empty(), "{:?}", r.refused);

    let (mut kai, bodies) = recorded_device(&server, "Kai", KAI_YP).await.unwrap();
    kai.sync().await.unwrap();
    assert!(bodies_mention(&bodies, &secret), "the control: it travels");
    let copy: PlanDoc = read_document(
        kai.client_mut()
            .document(&DocKey::Young(KAI, 1))
            .unwrap()
            .unwrap(),
        &DocKey::Young(KAI, 1),
    )
    .unwrap();
    assert_eq!(
        copy.transition.services,
        [Agency::AdultSocialWork, Agency::Housing]
    );
    let mine = kai.client_mut().my_plan().unwrap().moving_on.unwrap();
    assert_eq!(mine.plan, secret);
    assert_eq!(mine.who_will_help, ["Adult social work", "Housing"]);

    morag
        .client_mut()
        .withhold(KAI, "transition", "Not agreed with mum yet")
        .unwrap();
    let r = morag.sync().await.unwrap();
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    let report = kai.sync().await.unwrap();
    assert_eq!(report.gone, vec![DocKey::Young(KAI, 1)]);
    assert!(!store_mentions(&mut kai, &secret).unwrap());
    let mine = kai.client_mut().my_plan().unwrap();
    assert_eq!(mine.moving_on, None);
    assert!(mine.some_private);
    let second = server.document(&DocKey::Young(KAI, 2)).unwrap();
    assert!(!history_mentions(&second, &DocKey::Young(KAI, 2), &secret));
    server.stop().await.unwrap();
}
