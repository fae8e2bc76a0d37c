//! Requests for help, end to end: real devices (encrypted stores, the
//! client core, the sync engine) and a raw wire device against a real
//! server on port 0, the demo partnership. A teacher on no child's team
//! asks social work's duty team for help about a child new to Bothy while
//! offline; only the duty worker receives it (checked on every byte the
//! others' devices received and hold); the duty worker accepts; the
//! teacher's next sync brings the new child onto their caseload.

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::AutoCommit;
use bothy_client::ServiceError;
use bothy_client::services::NewRequest;
use bothy_client::sync::SyncOptions;
use bothy_shared::demo::{AILEEN, CATRIONA, DAVID, EWAN, KAI_YP};
use bothy_shared::docs::{
    AboutChild, DocKey, Indicator, PersonRef, RequestDoc, RequestState, SharingBasis, Timestamp,
    write_document,
};
use bothy_shared::gate::GateError;
use bothy_shared::ids::{Agency, ChildId, RequestId};
use bothy_shared::policy::Rule;
use bothy_shared::wire::DocStatus;
use bothy_tests::bytes::{bodies_mention, recorded_device, store_mentions};
use bothy_tests::server::TestServer;

/// A request from the teacher about a child new to Bothy.
fn new_child_request(name: &str, reason: &str, basis: Option<SharingBasis>) -> NewRequest {
    NewRequest {
        to: Some(Agency::SocialWork),
        name: name.to_owned(),
        born: Some("2016-05-01".parse().unwrap()),
        school: "Braeside Primary".to_owned(),
        address: "4 Harbour Row".to_owned(),
        reason: reason.to_owned(),
        concerns: vec![Indicator::Safe, Indicator::Nurtured],
        views: "Mum agrees help would be good".to_owned(),
        basis,
        urgent: true,
        ..NewRequest::default()
    }
}

fn unique(what: &str) -> String {
    format!("{what}-{}", bothy_shared::ids::ItemId::random())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teachers_request_reaches_only_the_duty_worker_and_acceptance_brings_the_child_to_the_teacher()
 {
    let server = TestServer::start_demo().await.unwrap();
    let name = format!("Skye {}", unique("Maclean"));
    let reason = unique("REQUEST-REASON");
    let (mut ewan, _) = recorded_device(&server, "Ewan", EWAN).await.unwrap();
    let (mut catriona, catriona_bodies) = recorded_device(&server, "Catriona", CATRIONA)
        .await
        .unwrap();
    let (mut aileen, aileen_bodies) = recorded_device(&server, "Aileen", AILEEN).await.unwrap();
    let (mut kai, kai_bodies) = recorded_device(&server, "Kai", KAI_YP).await.unwrap();
    // Ewan's colleague in education.
    let (mut david, david_bodies) = recorded_device(&server, "David", DAVID).await.unwrap();

    // Offline: the request is made and kept on Ewan's device.
    let id = ewan
        .client_mut()
        .send_request(new_child_request(
            &name,
            &reason,
            Some(SharingBasis::Wellbeing),
        ))
        .unwrap();
    let mine = ewan.client_mut().requests().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].id, mine[0].state), (id, RequestState::Sent));
    assert!(ewan.client().caseload(None).unwrap().is_empty());

    let report = ewan.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);

    // The duty worker receives it, urgent, on her list.
    let report = catriona.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let theirs = catriona.client_mut().requests().unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].about, name);
    assert!(theirs[0].urgent && !theirs[0].sent_by_me);
    assert!(bodies_mention(&catriona_bodies, &reason), "the control");
    assert!(
        store_mentions(&mut catriona, &reason).unwrap(),
        "the control"
    );

    // Nobody else: not a health visitor, not the young person, not the
    // teacher's own colleague.
    for (device, bodies) in [
        (&mut aileen, &aileen_bodies),
        (&mut kai, &kai_bodies),
        (&mut david, &david_bodies),
    ] {
        let report = device.sync().await.unwrap();
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        assert!(!bodies.lock().unwrap().is_empty());
        for words in [&reason, &name] {
            assert!(!bodies_mention(bodies, words));
            assert!(!store_mentions(device, words).unwrap());
        }
        assert!(device.client_mut().requests().unwrap().is_empty());
    }

    // The duty worker accepts: a new child.
    let child = catriona.client_mut().accept_request(id, None).unwrap();
    let report = catriona.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let team = server.storage.team(child).unwrap();
    assert!(team.members.contains_key(&EWAN) && team.members.contains_key(&CATRIONA));

    // The teacher's next sync brings the child's plan and record.
    let report = ewan.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let caseload = ewan.client().caseload(None).unwrap();
    assert_eq!(caseload.len(), 1);
    assert_eq!(
        (caseload[0].child, caseload[0].name.as_str()),
        (child, name.as_str())
    );
    let mine = ewan.client_mut().requests().unwrap();
    assert_eq!(mine[0].state, RequestState::Accepted);
    // The duty worker has the child too, and the young person still nothing.
    catriona.sync().await.unwrap();
    assert_eq!(catriona.client().caseload(None).unwrap().len(), 1);

    // Each step is audited under the request.
    let trail: Vec<&str> = server
        .storage
        .audit_of_child(ChildId(id.0))
        .unwrap()
        .iter()
        .map(|e| e.event.as_str())
        .collect();
    for event in ["request-sent", "request-accepted", "request-linked"] {
        assert!(trail.contains(&event), "{event} in {trail:?}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_request_shows_its_reason_to_the_sender() {
    let server = TestServer::start_demo().await.unwrap();
    let mut ewan = server
        .enrol_device("Ewan", EWAN, SyncOptions::default())
        .await
        .unwrap();
    let mut catriona = server
        .enrol_device("Catriona", CATRIONA, SyncOptions::default())
        .await
        .unwrap();
    let id = ewan
        .client_mut()
        .send_request(new_child_request(
            "Rory Dunn",
            "Often hungry",
            Some(SharingBasis::Consent),
        ))
        .unwrap();
    ewan.sync().await.unwrap();
    catriona.sync().await.unwrap();
    // The sender may not decline their own request.
    assert!(matches!(
        ewan.client_mut().decline_request(id, "no"),
        Err(ServiceError::Refused(GateError::Rejected(r))) if r.rule == Rule::RequestStepByRole
    ));
    let why = "Family support from the third sector fits better: ask Priya's team";
    catriona.client_mut().decline_request(id, why).unwrap();
    let report = catriona.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);

    ewan.sync().await.unwrap();
    let mine = ewan.client_mut().requests().unwrap();
    assert_eq!(mine[0].state, RequestState::Declined);
    assert_eq!(mine[0].note.as_deref(), Some(why));
    // Nothing was created.
    assert!(ewan.client().caseload(None).unwrap().is_empty());
    assert!(
        server
            .storage
            .audit_of_child(ChildId(id.0))
            .unwrap()
            .iter()
            .any(|e| e.event.as_str() == "request-declined")
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_consent_or_a_lawful_basis_is_refused_on_the_device_and_by_the_server() {
    let server = TestServer::start_demo().await.unwrap();
    let mut ewan = server
        .enrol_device("Ewan", EWAN, SyncOptions::default())
        .await
        .unwrap();
    let refused =
        ewan.client_mut()
            .send_request(new_child_request("Rory Dunn", "Often hungry", None));
    assert!(
        matches!(
            &refused,
            Err(ServiceError::Refused(GateError::Rejected(r))) if r.rule == Rule::RequestConsentOrBasis
        ),
        "{refused:?}"
    );
    assert!(ewan.client_mut().requests().unwrap().is_empty());

    // The same request made by hand and sent as a raw signed request.
    let mut raw = server.enrol(EWAN).await.unwrap();
    let id = RequestId::random();
    let key = DocKey::Request(id);
    let request = RequestDoc::new(
        id,
        PersonRef {
            person: EWAN,
            name: "Ewan Stewart".to_owned(),
            agency: Agency::Education,
            role_title: "class teacher".to_owned(),
        },
        Agency::SocialWork,
        None,
        AboutChild {
            name: "Rory Dunn".to_owned(),
            ..AboutChild::default()
        },
        "Often hungry",
        None,
        Timestamp::now(),
    );
    let mut doc = AutoCommit::new().with_actor(raw.device.actor_id());
    write_document(&mut doc, &key, &request).unwrap();
    doc.commit();
    raw.docs.insert(key, doc);
    let report = raw.sync().await.unwrap();
    let refused = report.refused();
    assert_eq!(refused.len(), 1, "{:?}", report.replies);
    assert_eq!(refused[0].status, DocStatus::Rejected);
    assert_eq!(
        refused[0].rejection.as_ref().unwrap().rule,
        Rule::RequestConsentOrBasis.as_str()
    );
    // Nothing of it is kept or filed.
    assert!(server.storage.request(id).unwrap().is_none());
    assert!(!server.storage.document_exists(&key).unwrap());

    // With a basis, the same raw request is taken.
    let mut ok = request.clone();
    ok.basis = Some(SharingBasis::Protection);
    let id2 = RequestId::random();
    ok.request_id = id2;
    let key2 = DocKey::Request(id2);
    let mut doc = AutoCommit::new().with_actor(raw.device.actor_id());
    write_document(&mut doc, &key2, &ok).unwrap();
    doc.commit();
    raw.docs.remove(&key);
    raw.docs.insert(key2, doc);
    let report = raw.sync().await.unwrap();
    assert!(report.refused().is_empty(), "{:?}", report.replies);
    assert!(server.storage.request(id2).unwrap().is_some());
    server.stop().await.unwrap();
}
