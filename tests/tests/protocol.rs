//! End to end through a real server on port 0: devices enrol, sign, and
//! sync Automerge documents with the protocol of `docs/sync-protocol.md`.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use automerge::AutoCommit;
use automerge::sync::SyncDoc;
use bothy_server::storage::AuditEvent;
use bothy_shared::docs::{
    Action, ActionStatus, DocKey, FamilyVoice, Need, PlanDoc, RecordDoc, Text, Timestamp,
    ViewEntry, VoiceOf, read_document, write_document,
};
use bothy_shared::ids::{Agency, ItemId};
use bothy_shared::signing::RequestSigner;
use bothy_shared::wire::{
    self, ChangedRequest, DocMessage, DocStatus, ErrorCode, OfferRequest, OfferResponse,
    OfferedDoc, SyncRequest,
};
use bothy_tests::db::{Backend, now};
use bothy_tests::on_both_backends;
use bothy_tests::server::TestServer;
use bothy_tests::wire_device::{WireDevice, add_visit, error_of, visits};
use reqwest::StatusCode;

on_both_backends!(
    two_devices_sync_a_visit_through_the_real_server,
    an_agency_record_never_reaches_a_device_of_another_agency,
    a_young_persons_edit_of_an_action_is_rejected_with_the_rule_name,
    malformed_input_gets_4xx_and_the_server_keeps_serving_everyone,
    a_dropped_response_loses_nothing_and_stores_nothing_twice,
    changed_lists_new_documents_then_only_others_changes_then_gone_ones,
    a_revoked_device_is_told_so_and_can_offer_its_unsynced_work,
    accepted_changes_and_documents_sent_are_audited,
    a_device_signs_with_the_key_it_enrolled,
    a_change_accepted_by_one_instance_reaches_devices_on_another,
    the_changed_question_rides_on_sync_and_is_answered_before_its_messages,
    requests_naming_the_same_documents_in_opposite_orders_all_finish,
    a_raw_request_with_unconsented_family_voice_in_the_team_record_is_refused_with_the_rule,
);

async fn two_devices_sync_a_visit_through_the_real_server(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let mut social = server.enrol(p.social_worker).await.unwrap();
    let mut health = server.enrol(p.health_visitor).await.unwrap();

    let first = social.sync().await.unwrap();
    assert!(first.refused().is_empty(), "{:?}", first.refused());
    let record = DocKey::Record(p.child);
    assert!(social.docs.contains_key(&record));
    health.sync().await.unwrap();

    // Pushing one visit is one /v1/sync round trip.
    let visit = add_visit(&mut social, record, "Kitchen clean, child playing happily.");
    let push = social.sync().await.unwrap();
    assert!(push.refused().is_empty(), "{:?}", push.refused());
    assert_eq!(push.sync_requests, 1);

    let pull = health.sync().await.unwrap();
    assert_eq!(pull.changed.changed, vec![record]);
    assert!(visits(&health.docs[&record], record).contains_key(&visit));

    // Concurrent edits offline on both devices merge without loss.
    let a = add_visit(&mut social, record, "Second visit");
    let b = add_visit(&mut health, record, "Health visitor home visit");
    social.sync().await.unwrap();
    health.sync().await.unwrap();
    social.sync().await.unwrap();
    let (s, h) = (
        visits(&social.docs[&record], record),
        visits(&health.docs[&record], record),
    );
    assert!(s.contains_key(&a) && s.contains_key(&b));
    assert_eq!(s.keys().collect::<Vec<_>>(), h.keys().collect::<Vec<_>>());
    assert_eq!(
        social.docs.get_mut(&record).unwrap().get_heads(),
        health.docs.get_mut(&record).unwrap().get_heads()
    );
    assert_eq!(
        server.document(&record).unwrap().get_heads(),
        health.docs.get_mut(&record).unwrap().get_heads()
    );

    // Nothing new: nothing to sync.
    let quiet = health.sync().await.unwrap();
    assert!(quiet.changed.changed.is_empty() && quiet.changed.new.is_empty());
    assert_eq!(quiet.sync_requests, 0);
    server.stop().await.unwrap();
}

async fn an_agency_record_never_reaches_a_device_of_another_agency(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let restricted = DocKey::Agency(p.child, Agency::SocialWork);
    let mut social = server.enrol(p.social_worker).await.unwrap();
    social.sync().await.unwrap();
    add_visit(&mut social, restricted, "Social work only");
    assert!(social.sync().await.unwrap().refused().is_empty());

    let mut health = server.enrol(p.health_visitor).await.unwrap();
    let mut police = server.enrol(p.police_officer).await.unwrap();
    let mut supervisor = server.enrol(p.supervisor).await.unwrap();
    for dev in [&mut health, &mut police] {
        assert!(
            dev.directory
                .children
                .iter()
                .all(|c| !c.documents.contains(&restricted))
        );
        let report = dev.sync().await.unwrap();
        assert!(
            !report.keys_seen().contains(&restricted),
            "{:?}",
            report.keys_seen()
        );
        assert!(!dev.docs.contains_key(&restricted));
        // Asking for it by name gets nothing: not even whether it exists.
        let mut probe = AutoCommit::new();
        let message = probe
            .sync()
            .generate_sync_message(&mut automerge::sync::State::new())
            .unwrap();
        let resp = dev
            .sync_request(&SyncRequest {
                docs: vec![DocMessage {
                    key: restricted,
                    message: message.encode(),
                }],
                changed: None,
            })
            .await
            .unwrap();
        assert_eq!(resp.docs.len(), 1);
        assert_eq!(resp.docs[0].status, DocStatus::Unavailable);
        assert!(resp.docs[0].message.is_none());
    }
    assert!(
        police.docs.keys().all(|k| k.child() == p.other_child),
        "police sees only their own child"
    );
    assert!(
        health
            .docs
            .contains_key(&DocKey::Agency(p.child, Agency::Health))
    );

    // The social worker's supervisor reads social work's record, not health's.
    supervisor.sync().await.unwrap();
    assert!(supervisor.docs.contains_key(&restricted));
    assert!(
        !supervisor
            .docs
            .contains_key(&DocKey::Agency(p.child, Agency::Health))
    );
}

async fn a_young_persons_edit_of_an_action_is_rejected_with_the_rule_name(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let plan = DocKey::Plan(p.child);
    let mut social = server.enrol(p.social_worker).await.unwrap();
    social.sync().await.unwrap();
    let (need_id, action_id) = (ItemId::random(), ItemId::random());
    let author = social.person;
    social.edit(plan, |doc| {
        let mut value: PlanDoc = read_document(&*doc, &plan).unwrap();
        let action = Action {
            id: action_id,
            what: Text::with_value("Weekly homework club"),
            owner: None,
            due: None,
            status: ActionStatus::NotStarted,
            progress: Text::default(),
        };
        value.needs.insert(
            need_id,
            Need {
                id: need_id,
                need: Text::with_value("Support with school work"),
                indicators: vec![],
                desired_outcome: Text::with_value("Keeps up in class"),
                evidence: Text::default(),
                actions: BTreeMap::from([(action_id, action)]),
                created_by: author,
                created_at: Timestamp::now(),
                closed: None,
            },
        );
        write_document(doc, &plan, &value).unwrap();
    });
    assert!(social.sync().await.unwrap().refused().is_empty());

    // The young person reads their copy of the plan, which the server keeps
    // in step with the plan (the need above is in it).
    let team_plan = plan;
    let plan = DocKey::Young(p.child, 1);
    let mut young = server.enrol(p.young_person).await.unwrap();
    young.sync().await.unwrap();
    assert_eq!(
        young.docs.keys().copied().collect::<Vec<_>>(),
        vec![plan],
        "a young person reads only their plan"
    );
    let copy: PlanDoc = read_document(&young.docs[&plan], &plan).unwrap();
    assert!(copy.needs.contains_key(&need_id));

    let before = server.document(&plan).unwrap().get_heads();
    young.edit(plan, |doc| {
        let mut value: PlanDoc = read_document(&*doc, &plan).unwrap();
        value
            .needs
            .get_mut(&need_id)
            .unwrap()
            .actions
            .get_mut(&action_id)
            .unwrap()
            .status = ActionStatus::Done;
        write_document(doc, &plan, &value).unwrap();
    });
    let bad_change = young.docs.get_mut(&plan).unwrap().get_heads()[0];
    let report = young.sync().await.unwrap();
    let refused = report.refused();
    assert_eq!(refused.len(), 1, "{:?}", report.replies);
    assert_eq!(refused[0].status, DocStatus::Rejected);
    let rejection = refused[0].rejection.as_ref().unwrap();
    assert_eq!(rejection.rule, "young-person-own-views-only");
    assert_eq!(rejection.change, hex::encode(bad_change.0));
    assert!(rejection.path.starts_with("needs/"), "{}", rejection.path);
    assert_eq!(
        server.document(&plan).unwrap().get_heads(),
        before,
        "nothing of the rejected change was stored"
    );

    // Their own views are welcome (on a device without the refused change).
    let mut fresh = server.enrol(p.young_person).await.unwrap();
    fresh.sync().await.unwrap();
    let yp = fresh.person;
    fresh.edit(plan, |doc| {
        let mut value: PlanDoc = read_document(&*doc, &plan).unwrap();
        let id = ItemId::random();
        value.young_person_views.insert(
            id,
            ViewEntry {
                id,
                about: "overall".into(),
                words: Text::with_value("I like the homework club"),
                said_by: "Skye".into(),
                author: yp,
                at: Timestamp::now(),
            },
        );
        write_document(doc, &plan, &value).unwrap();
    });
    let report = fresh.sync().await.unwrap();
    assert!(report.refused().is_empty(), "{:?}", report.refused());
    assert_ne!(server.document(&plan).unwrap().get_heads(), before);
    // And the server mirrored them into the team's plan.
    let mirrored: PlanDoc =
        read_document(&server.document(&team_plan).unwrap(), &team_plan).unwrap();
    assert!(
        mirrored
            .young_person_views
            .values()
            .any(|v| v.author == yp && v.words.as_str() == "I like the homework club")
    );
}

async fn malformed_input_gets_4xx_and_the_server_keeps_serving_everyone(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.max_body_bytes = 256 * 1024)
        .await
        .unwrap();
    let p = server.people;
    let mut attacker = server.enrol(p.health_visitor).await.unwrap();
    let mut bystander = server.enrol(p.social_worker).await.unwrap();
    attacker.sync().await.unwrap();
    let record = DocKey::Record(p.child);

    // Not CBOR, wrong CBOR, too big.
    for body in [
        b"\xff\xff".to_vec(),
        wire::to_cbor(&ChangedRequest::default()).unwrap(),
        vec![0x40; 300 * 1024],
    ] {
        let (status, resp) = attacker.signed("POST", wire::PATH_SYNC, body.clone()).await;
        assert!(status.is_client_error(), "{status}");
        let code = error_of(&resp).error;
        assert!(
            matches!(code, ErrorCode::Malformed | ErrorCode::TooLarge),
            "{code:?}"
        );
    }

    // Real sync messages with bytes flipped, deterministic so failures replay.
    let mut state = wire::resume_sync_state(attacker.states.get(&record).map(Vec::as_slice));
    add_visit(&mut attacker, record, "will be mangled");
    let real = attacker
        .docs
        .get_mut(&record)
        .unwrap()
        .sync()
        .generate_sync_message(&mut state)
        .unwrap()
        .encode();
    let mut seed: u64 = 0x5eed;
    let mut docs = Vec::new();
    for round in 0..64 {
        let mut bytes = real.clone();
        for _ in 0..=(round % 4) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = usize::try_from(seed >> 33).unwrap() % bytes.len();
            bytes[i] ^= u8::try_from((seed >> 8) & 0xff).unwrap() | 1;
        }
        if round % 5 == 0 {
            bytes.truncate(bytes.len() / 2);
        }
        docs.push(DocMessage {
            key: record,
            message: bytes,
        });
    }
    docs.push(DocMessage {
        key: record,
        message: b"\x43garbage".to_vec(),
    });
    let resp = attacker
        .sync_request(&SyncRequest {
            docs,
            changed: None,
        })
        .await
        .unwrap();
    assert_eq!(resp.docs.len(), 65);
    assert!(resp.docs.iter().all(|d| d.status != DocStatus::Unavailable));

    // Everyone else carries on.
    assert_eq!(server.health().await.unwrap(), StatusCode::OK);
    bystander.sync().await.unwrap();
    add_visit(&mut bystander, record, "still working");
    assert!(bystander.sync().await.unwrap().refused().is_empty());
}

async fn a_dropped_response_loses_nothing_and_stores_nothing_twice(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let record = DocKey::Record(p.child);
    let mut social = server.enrol(p.social_worker).await.unwrap();
    social.sync().await.unwrap();
    add_visit(&mut social, record, "sent twice");

    // The request reaches the server, the response never reaches the device:
    // the device keeps its old persisted sync state.
    let lost = social.sync_and_lose_the_answer(record).await;
    assert_eq!(lost.unwrap().docs[0].status, DocStatus::Ok);
    let stored = server.storage.changes_after(&record, 0).unwrap().len();

    let again = social.sync().await.unwrap();
    assert!(again.refused().is_empty());
    assert_eq!(
        server.storage.changes_after(&record, 0).unwrap().len(),
        stored,
        "no duplicate"
    );
    let accepted = server
        .storage
        .audit_of_child(p.child)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == AuditEvent::ChangeAccepted)
        .count();
    assert_eq!(accepted, 1);
    assert_eq!(
        server.document(&record).unwrap().get_heads(),
        social.docs.get_mut(&record).unwrap().get_heads()
    );
}

/// A `SyncRequest` carrying `dev`'s next message for each of `keys`, in that order.
fn push_many(dev: &mut WireDevice, keys: &[DocKey]) -> SyncRequest {
    let docs = keys
        .iter()
        .map(|key| push_with_question(dev, *key, None).docs.remove(0))
        .collect();
    SyncRequest {
        docs,
        changed: None,
    }
}

/// A `/v1/sync` request holds its documents until its outcomes are stored:
/// two devices of the same team sending the same two documents in opposite
/// orders, at the same moment, again and again, must all be answered (locks
/// taken in key order, never in a cycle), and every visit must be kept.
async fn requests_naming_the_same_documents_in_opposite_orders_all_finish(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let (plan, record) = (DocKey::Plan(p.child), DocKey::Record(p.child));
    let mut social = server.enrol(p.social_worker).await.unwrap();
    let mut health = server.enrol(p.health_visitor).await.unwrap();
    social.sync().await.unwrap();
    health.sync().await.unwrap();
    let start = visits(&social.docs[&record], record).len();
    let rounds = 12;
    for round in 0..rounds {
        add_visit(&mut social, record, &format!("social's visit {round}"));
        add_visit(&mut health, record, &format!("health's visit {round}"));
        let a = push_many(&mut social, &[record, plan]);
        let b = push_many(&mut health, &[plan, record]);
        let both = async { tokio::join!(social.sync_request(&a), health.sync_request(&b)) };
        // A guard against a deadlock, not a wait for anything.
        let (ra, rb) = tokio::time::timeout(std::time::Duration::from_secs(120), both)
            .await
            .expect("two requests waited on each other");
        for reply in ra.unwrap().docs.iter().chain(&rb.unwrap().docs) {
            assert_eq!(reply.status, DocStatus::Ok, "{reply:?}");
        }
    }
    social.sync().await.unwrap();
    health.sync().await.unwrap();
    let held = server.document(&record).unwrap();
    let on_server = visits(&AutoCommit::load(&held.save()).unwrap(), record);
    assert_eq!(on_server.len(), start + 2 * rounds, "every visit kept");
    for dev in [&social, &health] {
        assert_eq!(visits(&dev.docs[&record], record), on_server);
    }
}

/// A `SyncRequest` carrying `dev`'s next message for `key` and `question`.
fn push_with_question(
    dev: &mut WireDevice,
    key: DocKey,
    question: Option<ChangedRequest>,
) -> SyncRequest {
    let mut state = wire::resume_sync_state(dev.states.get(&key).map(Vec::as_slice));
    let message = dev
        .docs
        .get_mut(&key)
        .unwrap()
        .sync()
        .generate_sync_message(&mut state)
        .unwrap();
    SyncRequest {
        docs: vec![DocMessage {
            key,
            message: message.encode(),
        }],
        changed: question,
    }
}

async fn the_changed_question_rides_on_sync_and_is_answered_before_its_messages(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let record = DocKey::Record(p.child);
    let mut social = server.enrol(p.social_worker).await.unwrap();
    let mut health = server.enrol(p.health_visitor).await.unwrap();
    let mut police = server.enrol(p.police_officer).await.unwrap();
    social.sync().await.unwrap();
    health.sync().await.unwrap();
    let before = social.changed().await.unwrap().cursor;

    // Someone else's visit, then social's own, pushed with the question.
    add_visit(&mut health, record, "health's visit");
    health.sync().await.unwrap();
    add_visit(&mut social, record, "social's visit");
    let stored = server.storage.changes_after(&record, 0).unwrap().len();
    let question = ChangedRequest {
        cursor: Some(before.clone()),
        dropped: vec![],
    };
    let req = push_with_question(&mut social, record, Some(question));
    let resp = social.sync_request(&req).await.unwrap();
    assert_eq!(resp.docs[0].status, DocStatus::Ok);
    assert_eq!(
        server.storage.changes_after(&record, 0).unwrap().len(),
        stored + 1
    );
    let answer = resp.changed.expect("the question is answered");
    assert_eq!(answer.changed, vec![record], "health's visit is reported");
    assert!(
        answer.new.is_empty() && answer.gone.is_empty(),
        "{answer:?}"
    );
    // The same question asked alone now gets the same answer: the folded
    // answer is computed as `/v1/changed` computes it.
    let (status, body) = social
        .signed(
            "POST",
            wire::PATH_CHANGED,
            wire::to_cbor(&ChangedRequest {
                cursor: Some(before),
                dropped: vec![],
            })
            .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let alone: wire::ChangedResponse = wire::from_cbor(&body).unwrap();
    assert_eq!(alone.changed, answer.changed);
    // From the new cursor, social's own change does not count.
    let (status, body) = social
        .signed(
            "POST",
            wire::PATH_CHANGED,
            wire::to_cbor(&ChangedRequest {
                cursor: Some(answer.cursor.clone()),
                dropped: vec![],
            })
            .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let since: wire::ChangedResponse = wire::from_cbor(&body).unwrap();
    assert!(since.changed.is_empty(), "{since:?}");

    // Without the question there is no answer.
    add_visit(&mut social, record, "another");
    let req = push_with_question(&mut social, record, None);
    assert!(social.sync_request(&req).await.unwrap().changed.is_none());

    // A bad cursor refuses the whole request: no message is applied.
    add_visit(&mut social, record, "never stored");
    let stored = server.storage.changes_after(&record, 0).unwrap().len();
    let bad = ChangedRequest {
        cursor: Some("not-a-cursor".into()),
        dropped: vec![],
    };
    let req = push_with_question(&mut social, record, Some(bad));
    let (status, err) = social.sync_request(&req).await.unwrap_err();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err.error, ErrorCode::Malformed);
    assert_eq!(
        server.storage.changes_after(&record, 0).unwrap().len(),
        stored
    );

    // A device that may not read the child's documents never hears of them,
    // even when it asks with a message for one of them.
    let req = SyncRequest {
        docs: vec![DocMessage {
            key: record,
            message: automerge::Automerge::new()
                .generate_sync_message(&mut automerge::sync::State::new())
                .unwrap()
                .encode(),
        }],
        changed: Some(ChangedRequest::default()),
    };
    let resp = police.sync_request(&req).await.unwrap();
    assert_eq!(resp.docs[0].status, DocStatus::Unavailable);
    let answer = resp.changed.unwrap();
    assert!(!answer.new.is_empty());
    for key in answer.new.iter().chain(&answer.changed).chain(&answer.gone) {
        assert_ne!(
            key.child(),
            p.child,
            "{key} must not reach the police officer"
        );
    }
    police.sync().await.unwrap();
}

async fn changed_lists_new_documents_then_only_others_changes_then_gone_ones(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let mut health = server.enrol(p.health_visitor).await.unwrap();
    let mut social = server.enrol(p.social_worker).await.unwrap();
    let first = health.changed().await.unwrap();
    let readable = vec![
        DocKey::Agency(p.child, Agency::Health),
        DocKey::Plan(p.child),
        DocKey::Record(p.child),
    ];
    let mut new = first.new.clone();
    new.sort();
    let mut want = readable.clone();
    want.sort();
    assert_eq!(new, want);
    // Until synced, documents stay new.
    assert_eq!(health.changed().await.unwrap().new.len(), 3);
    health.sync().await.unwrap();
    let after = health.changed().await.unwrap();
    assert!(
        after.new.is_empty() && after.changed.is_empty() && after.gone.is_empty(),
        "{after:?}"
    );

    social.sync().await.unwrap();
    add_visit(&mut social, DocKey::Record(p.child), "for the team");
    social.sync().await.unwrap();
    assert_eq!(
        health.changed().await.unwrap().changed,
        vec![DocKey::Record(p.child)]
    );

    // Off the team: everything of the child is gone, until acknowledged.
    assert!(
        server
            .storage
            .remove_team_member(p.child, p.health_visitor)
            .unwrap()
    );
    let gone = health.changed().await.unwrap();
    assert_eq!(gone.gone.len(), 3);
    assert!(gone.changed.is_empty() && gone.new.is_empty());
    let ack = ChangedRequest {
        cursor: Some(gone.cursor.clone()),
        dropped: gone.gone.clone(),
    };
    let (status, body) = health
        .signed("POST", wire::PATH_CHANGED, wire::to_cbor(&ack).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        wire::from_cbor::<wire::ChangedResponse>(&body)
            .unwrap()
            .gone
            .is_empty()
    );
    // And no message for them is accepted any more.
    let report = health.sync().await.unwrap();
    assert!(report.replies.is_empty());
}

async fn a_revoked_device_is_told_so_and_can_offer_its_unsynced_work(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let record = DocKey::Record(p.child);
    let mut social = server.enrol(p.social_worker).await.unwrap();
    social.sync().await.unwrap();
    let before = server.document(&record).unwrap().get_heads();
    add_visit(&mut social, record, "written after the phone was lost");
    assert!(server.storage.revoke_device(social.device, now()).unwrap());

    let (status, body) = social.sync().await.unwrap_err();
    assert_eq!(
        (status, body.error),
        (StatusCode::FORBIDDEN, ErrorCode::DeviceRevoked)
    );

    let unsynced: Vec<Vec<u8>> = social
        .docs
        .get_mut(&record)
        .unwrap()
        .get_changes(&before)
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    assert_eq!(unsynced.len(), 1);
    let offer = OfferRequest {
        docs: vec![OfferedDoc {
            key: record,
            changes: unsynced,
        }],
    };
    for _ in 0..2 {
        let (status, body) = social
            .signed("POST", wire::PATH_OFFER, wire::to_cbor(&offer).unwrap())
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            wire::from_cbor::<OfferResponse>(&body).unwrap().received,
            1,
            "retrying an offer is harmless"
        );
    }
    assert_eq!(server.storage.quarantined().unwrap().len(), 1);
    assert_eq!(
        server.document(&record).unwrap().get_heads(),
        before,
        "quarantined work is not applied"
    );
    let audit = server.storage.audit_of_child(p.child).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.event == AuditEvent::ChangeQuarantined && e.device == Some(social.device))
    );
}

async fn accepted_changes_and_documents_sent_are_audited(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let record = DocKey::Record(p.child);
    let mut social = server.enrol(p.social_worker).await.unwrap();
    let mut health = server.enrol(p.health_visitor).await.unwrap();
    social.sync().await.unwrap();
    add_visit(&mut social, record, "audited");
    let hash = social.docs.get_mut(&record).unwrap().get_heads()[0];
    social.sync().await.unwrap();
    health.sync().await.unwrap();

    let audit = server.storage.audit_of_child(p.child).unwrap();
    let accepted: Vec<_> = audit
        .iter()
        .filter(|e| e.event == AuditEvent::ChangeAccepted)
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].change.as_deref(),
        Some(hex::encode(hash.0).as_str())
    );
    assert_eq!(
        accepted[0].actor.as_deref(),
        Some(social.device.actor_id().to_hex_string().as_str())
    );
    assert_eq!(
        (accepted[0].device, accepted[0].person, accepted[0].document),
        (Some(social.device), Some(p.social_worker), record)
    );
    let sent_to_health: Vec<_> = audit
        .iter()
        .filter(|e| e.event == AuditEvent::DocumentSent && e.device == Some(health.device))
        .collect();
    assert!(sent_to_health.iter().any(|e| e.document == record));
    assert!(
        sent_to_health
            .iter()
            .all(|e| e.person == Some(p.health_visitor))
    );
}

async fn a_device_signs_with_the_key_it_enrolled(backend: Backend) {
    let server = TestServer::start(backend).await.unwrap();
    let mut social = server.enrol(server.people.social_worker).await.unwrap();
    // Swap in another key under the same device id: every request is refused.
    let pkcs8 = bothy_shared::signing::generate_device_key().unwrap();
    social.signer = RequestSigner::from_pkcs8(social.device, &pkcs8).unwrap();
    let (status, body) = social.changed().await.unwrap_err();
    assert_eq!(
        (status, body.error),
        (StatusCode::UNAUTHORIZED, ErrorCode::BadSignature)
    );
}

/// Two servers on one database, as behind a load balancer: each has its own
/// connection and document cache, and a device may talk to either.
async fn a_change_accepted_by_one_instance_reaches_devices_on_another(backend: Backend) {
    let first = TestServer::start(backend).await.unwrap();
    let second = first.another_instance().await.unwrap();
    let p = first.people;
    let record = DocKey::Record(p.child);
    let mut social = first.enrol(p.social_worker).await.unwrap();
    let mut health = second.enrol(p.health_visitor).await.unwrap();
    social.sync().await.unwrap();
    // The second instance now holds the record in its cache.
    health.sync().await.unwrap();

    let visit = add_visit(&mut social, record, "told to the first instance");
    assert!(social.sync().await.unwrap().refused().is_empty());
    let pull = health.sync().await.unwrap();
    assert_eq!(pull.changed.changed, vec![record]);
    assert!(visits(&health.docs[&record], record).contains_key(&visit));

    // Concurrent edits through different instances, then the devices swap.
    let a = add_visit(&mut social, record, "via the first");
    let b = add_visit(&mut health, record, "via the second");
    social.sync().await.unwrap();
    health.sync().await.unwrap();
    std::mem::swap(&mut social.base, &mut health.base);
    social.sync().await.unwrap();
    health.sync().await.unwrap();
    let (s, h) = (
        visits(&social.docs[&record], record),
        visits(&health.docs[&record], record),
    );
    assert!(s.contains_key(&a) && s.contains_key(&b));
    assert_eq!(s.keys().collect::<Vec<_>>(), h.keys().collect::<Vec<_>>());
    let heads = social.docs.get_mut(&record).unwrap().get_heads();
    assert_eq!(heads, health.docs.get_mut(&record).unwrap().get_heads());
    assert_eq!(first.document(&record).unwrap().get_heads(), heads);
    assert_eq!(second.document(&record).unwrap().get_heads(), heads);
    second.stop().await.unwrap();
    first.stop().await.unwrap();
}

/// A signed request carrying family voice without consent to share, put
/// straight into the team record (what no honest device makes), is refused
/// with `consent-to-share` and nothing of it is stored; the same words in
/// the recording agency's record are accepted.
async fn a_raw_request_with_unconsented_family_voice_in_the_team_record_is_refused_with_the_rule(
    backend: Backend,
) {
    let server = TestServer::start(backend).await.unwrap();
    let p = server.people;
    let record = DocKey::Record(p.child);
    let mut social = server.enrol(p.social_worker).await.unwrap();
    social.sync().await.unwrap();
    let me = social.person;
    let agency = social.directory.me.agency.unwrap();
    let entry = move |consent: bool| {
        let id = ItemId::random();
        (
            id,
            FamilyVoice {
                id,
                at: Timestamp::now(),
                said_by: "Skye".into(),
                voice_of: VoiceOf::Child,
                own_words: Text::with_value("Don't tell the school about home"),
                scale_question: String::new(),
                scale: None,
                worries: Text::default(),
                good_things: Text::default(),
                dreams: Text::default(),
                consent_to_share: consent,
                recorded_by: me,
                agency,
                from_visit: None,
            },
        )
    };
    let before = server.document(&record).unwrap().get_heads();
    social.edit(record, |doc| {
        let mut value: RecordDoc = read_document(&*doc, &record).unwrap();
        let (id, voice) = entry(false);
        value.family_voice.insert(id, voice);
        write_document(doc, &record, &value).unwrap();
    });
    let bad_change = social.docs.get_mut(&record).unwrap().get_heads()[0];
    let report = social.sync().await.unwrap();
    let refused = report.refused();
    assert_eq!(refused.len(), 1, "{:?}", report.replies);
    assert_eq!(refused[0].status, DocStatus::Rejected);
    let rejection = refused[0].rejection.as_ref().unwrap();
    assert_eq!(rejection.rule, "consent-to-share");
    assert_eq!(rejection.change, hex::encode(bad_change.0));
    assert!(
        rejection.path.starts_with("family_voice/"),
        "{}",
        rejection.path
    );
    assert_eq!(
        server.document(&record).unwrap().get_heads(),
        before,
        "nothing of the refused change was stored"
    );

    // The same words, kept in the agency's record, are accepted (on a
    // device without the refused change).
    let mine = DocKey::Agency(p.child, agency);
    let mut fresh = server.enrol(p.social_worker).await.unwrap();
    fresh.sync().await.unwrap();
    let agency_before = server.document(&mine).unwrap().get_heads();
    fresh.edit(mine, |doc| {
        let mut value: RecordDoc = read_document(&*doc, &mine).unwrap();
        let (id, voice) = entry(false);
        value.family_voice.insert(id, voice);
        write_document(doc, &mine, &value).unwrap();
    });
    let report = fresh.sync().await.unwrap();
    assert!(report.refused().is_empty(), "{:?}", report.refused());
    assert_ne!(server.document(&mine).unwrap().get_heads(), agency_before);
}
