//! Several real headless devices (encrypted stores, the client core, the
//! sync engine) against a real server on port 0, in this process: the
//! demo partnership, with Aileen (health visitor) added to Kai's team.

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use automerge::Automerge;
use automerge::sync::SyncDoc;
use bothy_client::services::{ActionInput, VisitDraft};
use bothy_client::sync::{HttpExchange, SyncOptions, SyncOutcome, SyncPhase};
use bothy_shared::demo::{AILEEN, DAVID, FIONA, KAI, KAI_YP, MORAG};
use bothy_shared::docs::{ActionStatus, DocKey, PlanDoc, RecordDoc, Sharing, Text, read_document};
use bothy_shared::ids::{Agency, DeviceId, PersonId};
use bothy_shared::wire::{self, ChangedResponse, DocStatus, SyncResponse};
use bothy_tests::bytes::contains;
use bothy_tests::device::Device;
use bothy_tests::server::TestServer;

async fn device(server: &TestServer, name: &str, person: PersonId) -> Device {
    server
        .enrol_device(name, person, SyncOptions::default())
        .await
        .unwrap()
}

fn plan_of(doc: &Automerge) -> PlanDoc {
    read_document(doc, &DocKey::Plan(KAI)).unwrap()
}

fn permutations() -> Vec<[usize; 3]> {
    vec![
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agencies_edit_one_plan_offline_and_converge_in_every_sync_order() {
    let plan = DocKey::Plan(KAI);
    let statuses = [
        ActionStatus::Done,
        ActionStatus::Stuck,
        ActionStatus::NoLongerNeeded,
    ];
    for order in permutations() {
        let server = TestServer::start_demo().await.unwrap();
        let mut devices = vec![
            device(&server, "Morag", MORAG).await,
            device(&server, "Aileen", AILEEN).await,
            device(&server, "David", DAVID).await,
        ];
        for d in &mut devices {
            let first = d.sync().await.unwrap();
            assert!(first.refused.is_empty(), "{:?}", first.refused);
            assert!(d.holds(&plan).unwrap(), "{} has Kai's plan", d.name);
        }
        let before = devices[0].read::<PlanDoc>(&plan).unwrap();
        let (need_id, need) = before.needs.iter().next().unwrap();
        let (action_id, action) = need.actions.iter().next().unwrap();
        let (need_id, action_id) = (*need_id, *action_id);
        let base_progress = action.progress.as_str().to_owned();

        // Offline, all three edit the same action (status and progress text)
        // and add to the same lists.
        for (i, d) in devices.iter_mut().enumerate() {
            let c = d.client_mut();
            c.set_action_status(KAI, action_id, statuses[i]).unwrap();
            c.update_action_progress(
                KAI,
                action_id,
                &format!("{base_progress} progress-token-{i}"),
            )
            .unwrap();
            c.add_need(
                KAI,
                &format!("need-token-{i}"),
                "an outcome",
                "evidence",
                &[],
            )
            .unwrap();
            c.add_action(
                KAI,
                need_id,
                &ActionInput {
                    what: format!("action-token-{i}"),
                    owner: None,
                    due: None,
                },
            )
            .unwrap();
            c.add_family_view(KAI, "overall", "Mum", &format!("view-token-{i}"))
                .unwrap();
            assert_eq!(c.unsynced_changes().unwrap(), 5);
        }

        // Sync in this order, twice round: the second pass pulls.
        for _ in 0..2 {
            for &i in &order {
                let report = devices[i].sync().await.unwrap();
                assert!(report.refused.is_empty(), "{order:?}: {:?}", report.refused);
            }
        }

        let on_server = plan_of(&server.document(&plan).unwrap());
        let server_heads = server.document(&plan).unwrap().get_heads();
        for d in &mut devices {
            assert_eq!(
                d.client().unsynced_changes().unwrap(),
                0,
                "{order:?} {}",
                d.name
            );
            let heads = d.client_mut().document(&plan).unwrap().unwrap().get_heads();
            assert_eq!(heads, server_heads, "{order:?}: {} converged", d.name);
            assert_eq!(d.read::<PlanDoc>(&plan).unwrap(), on_server, "{order:?}");
        }
        // No edit lost.
        let action = &on_server.needs[&need_id].actions[&action_id];
        assert!(statuses.contains(&action.status), "{:?}", action.status);
        for i in 0..3 {
            let token = format!("progress-token-{i}");
            assert!(
                action.progress.as_str().contains(&token),
                "{order:?}: {token} in {:?}",
                action.progress.as_str()
            );
            let need_token = format!("need-token-{i}");
            assert!(
                on_server
                    .needs
                    .values()
                    .any(|n| n.need.as_str() == need_token),
                "{order:?}: {need_token}"
            );
            let action_token = format!("action-token-{i}");
            assert!(
                on_server.needs[&need_id]
                    .actions
                    .values()
                    .any(|a| a.what.as_str() == action_token),
                "{order:?}: {action_token}"
            );
            let view_token = format!("view-token-{i}");
            assert!(
                on_server
                    .family_views
                    .values()
                    .any(|v| v.words.as_str() == view_token),
                "{order:?}: {view_token}"
            );
        }
        assert!(action.progress.as_str().starts_with(&base_progress));
        server.stop().await.unwrap();
    }
}

/// Everything a device received: each response body of a successful request.
#[derive(Default)]
struct Recorded {
    bodies: Vec<(&'static str, Vec<u8>)>,
}

fn recording() -> (Arc<Mutex<Recorded>>, SyncOptions) {
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let sink = recorded.clone();
    let options = SyncOptions {
        observer: Some(Arc::new(move |x: &HttpExchange<'_>| {
            if x.status == Some(200) {
                sink.lock()
                    .unwrap()
                    .bodies
                    .push((x.path, x.response.to_vec()));
            }
        })),
        ..SyncOptions::default()
    };
    (recorded, options)
}

/// Every document key named in the recorded answers, and every received
/// sync message applied to a scratch document per key (so content the wire
/// carries compressed is seen decoded).
fn inspect(recorded: &Recorded) -> (BTreeSet<DocKey>, Vec<Automerge>, usize) {
    let mut keys = BTreeSet::new();
    let mut scratch: std::collections::BTreeMap<DocKey, (Automerge, automerge::sync::State)> =
        Default::default();
    let mut bytes = 0;
    for (path, body) in &recorded.bodies {
        bytes += body.len();
        if *path == wire::PATH_CHANGED {
            let c: ChangedResponse = wire::from_cbor(body).unwrap();
            keys.extend(c.changed.iter().chain(&c.new).chain(&c.gone));
        } else if *path == wire::PATH_SYNC {
            let s: SyncResponse = wire::from_cbor(body).unwrap();
            if let Some(c) = &s.changed {
                keys.extend(c.changed.iter().chain(&c.new).chain(&c.gone));
            }
            for reply in s.docs {
                keys.insert(reply.key);
                if let Some(m) = reply.message {
                    let (doc, state) = scratch.entry(reply.key).or_default();
                    let message = automerge::sync::Message::decode(&m).unwrap();
                    doc.receive_sync_message(state, message).unwrap();
                }
            }
        } else if *path == wire::PATH_DIRECTORY {
            let d: wire::DirectoryView = wire::from_cbor(body).unwrap();
            keys.extend(d.children.iter().flat_map(|c| c.documents.iter().copied()));
        }
    }
    (keys, scratch.into_values().map(|(d, _)| d).collect(), bytes)
}

/// A device whose every request (path and status) is written down.
async fn counted_device(
    server: &TestServer,
    name: &str,
    person: PersonId,
) -> (Device, Arc<Mutex<Vec<(&'static str, Option<u16>)>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let sink = requests.clone();
    let options = SyncOptions {
        observer: Some(Arc::new(move |x: &HttpExchange<'_>| {
            sink.lock().unwrap().push((x.path, x.status));
        })),
        ..SyncOptions::default()
    };
    let device = server.enrol_device(name, person, options).await.unwrap();
    (device, requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_one_visit_is_one_request_and_what_others_changed_comes_in_the_same_run() {
    let server = TestServer::start_demo().await.unwrap();
    let (record, plan) = (DocKey::Record(KAI), DocKey::Plan(KAI));
    let (mut morag, requests) = counted_device(&server, "Morag", MORAG).await;
    let mut aileen = device(&server, "Aileen", AILEEN).await;
    morag.sync().await.unwrap();
    aileen.sync().await.unwrap();

    // One visit, nothing new from anyone else: one /v1/sync, nothing else.
    let stored = server.change_count(&record).unwrap();
    let mut draft = VisitDraft::new(KAI);
    draft.observations = "Kai showed me his new bike.".into();
    morag.client_mut().save_visit(&draft, true).unwrap();
    requests.lock().unwrap().clear();
    let report = morag.sync().await.unwrap();
    assert_eq!(
        *requests.lock().unwrap(),
        vec![(wire::PATH_SYNC, Some(200))],
        "a one-visit push is one request"
    );
    assert_eq!(report.acknowledged, 1);
    assert_eq!(report.sync_requests, 1);
    assert_eq!(morag.client().unsynced_changes().unwrap(), 0);
    assert_eq!(server.change_count(&record).unwrap(), stored + 1);

    // Aileen changes the plan; Morag pushes a visit and, in the same run,
    // hears of the plan from the answer and fetches it, never asking
    // /v1/changed.
    aileen
        .client_mut()
        .add_family_view(KAI, "overall", "Gran", "Kai is sleeping better")
        .unwrap();
    aileen.sync().await.unwrap();
    let mut second = VisitDraft::new(KAI);
    second.observations = "Second visit.".into();
    morag.client_mut().save_visit(&second, true).unwrap();
    requests.lock().unwrap().clear();
    let report = morag.sync().await.unwrap();
    let seen = requests.lock().unwrap().clone();
    assert!(
        seen.iter().all(|r| *r == (wire::PATH_SYNC, Some(200))),
        "only /v1/sync: {seen:?}"
    );
    assert_eq!(report.changed, 1, "the answer named the plan");
    assert_eq!(report.acknowledged, 1);
    let held = morag.client_mut().document(&plan).unwrap().unwrap();
    assert_eq!(
        held.get_heads(),
        server.document(&plan).unwrap().get_heads()
    );
    assert_eq!(
        morag
            .client_mut()
            .document(&record)
            .unwrap()
            .unwrap()
            .get_heads(),
        server.document(&record).unwrap().get_heads()
    );

    // Nothing to push: the run asks /v1/changed alone, as before.
    requests.lock().unwrap().clear();
    morag.sync().await.unwrap();
    assert_eq!(
        *requests.lock().unwrap(),
        vec![(wire::PATH_CHANGED, Some(200))]
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_restricted_record_never_reaches_a_device_of_another_agency() {
    let server = TestServer::start_demo().await.unwrap();
    let marker = "AGENCY-ONLY-MARKER-7f3a9c1e-social-work-case-note";
    let restricted = DocKey::Agency(KAI, Agency::SocialWork);

    let mut morag = device(&server, "Morag", MORAG).await;
    morag.sync().await.unwrap();
    let mut draft = VisitDraft::new(KAI);
    draft.observations = format!("{marker}: only social work may read this.");
    draft.sharing = Sharing::Agency;
    draft.child_seen = true;
    let key = morag.client_mut().save_visit(&draft, true).unwrap();
    assert_eq!(key, restricted);
    let pushed = morag.sync().await.unwrap();
    assert!(pushed.refused.is_empty(), "{:?}", pushed.refused);
    assert_eq!(pushed.acknowledged, 1);

    // Morag's supervisor may read it: the positive control, so this test
    // can tell "not sent" from "not looked for".
    let (fiona_seen, options) = recording();
    let mut fiona = server.enrol_device("Fiona", FIONA, options).await.unwrap();
    fiona.sync().await.unwrap();
    let (keys, docs, _) = inspect(&fiona_seen.lock().unwrap());
    assert!(keys.contains(&restricted));
    assert!(docs.iter().any(|d| {
        read_document::<RecordDoc, _>(d, &restricted).is_ok_and(|r| {
            r.visits
                .values()
                .any(|v| v.observations.as_str().contains(marker))
        })
    }));

    // A health visitor and a teacher on the same team never get a byte of it.
    for (name, person) in [("Aileen", AILEEN), ("David", DAVID)] {
        let (seen, options) = recording();
        let mut d = server.enrol_device(name, person, options).await.unwrap();
        d.sync().await.unwrap();
        // Morag adds more to both records; they sync again.
        let mut more = VisitDraft::new(KAI);
        more.observations = format!("{marker} (second restricted note)");
        more.sharing = Sharing::Agency;
        morag.client_mut().save_visit(&more, true).unwrap();
        let mut shared = VisitDraft::new(KAI);
        shared.observations = format!("team-shared visit seen by {name}");
        morag.client_mut().save_visit(&shared, true).unwrap();
        morag.sync().await.unwrap();
        let again = d.sync().await.unwrap();
        assert!(again.received > 0, "{name} got the team-shared visit");

        let recorded = seen.lock().unwrap();
        let (keys, docs, bytes) = inspect(&recorded);
        assert!(
            bytes > 1000,
            "{name} received real documents ({bytes} bytes)"
        );
        assert!(
            !keys.contains(&restricted),
            "{name} was told of {restricted}"
        );
        for (_, body) in &recorded.bodies {
            assert!(
                !contains(body, marker.as_bytes()),
                "{name} received the marker"
            );
        }
        for doc in &docs {
            assert!(
                !contains(&doc.save_nocompress(), marker.as_bytes()),
                "{name} received the marker in a document"
            );
        }
        assert!(!d.holds(&restricted).unwrap());
        assert!(
            d.read::<RecordDoc>(&DocKey::Record(KAI))
                .unwrap()
                .visits
                .values()
                .any(|v| v.observations.as_str().contains(name)),
            "{name} holds the shared record"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_young_person_gets_only_their_plan_adds_views_and_a_tampered_edit_is_refused_and_kept() {
    let server = TestServer::start_demo().await.unwrap();
    // Kai's plan is his copy of it; the team's is `plan/<kai>`.
    let plan = DocKey::Young(KAI, 1);
    let team_plan = DocKey::Plan(KAI);
    let mut kai = device(&server, "Kai", KAI_YP).await;
    let first = kai.sync().await.unwrap();
    assert_eq!(kai.client().document_keys().unwrap(), vec![plan]);
    assert_eq!(first.new, 1);

    // Their own views: synced, and Morag sees them after her sync.
    let words = "I want to do more design and technology";
    kai.client_mut().add_what_i_think("overall", words).unwrap();
    let pushed = kai.sync().await.unwrap();
    assert!(pushed.refused.is_empty(), "{:?}", pushed.refused);
    assert_eq!(pushed.acknowledged, 1);
    assert_eq!(pushed.sync_requests, 1, "one round trip to push");
    let mut morag = device(&server, "Morag", MORAG).await;
    morag.sync().await.unwrap();
    assert!(
        morag
            .read::<PlanDoc>(&team_plan)
            .unwrap()
            .young_person_views
            .values()
            .any(|v| v.words.as_str() == words)
    );

    // The honest client refuses to edit an action; a tampered one skips that check.
    let action_id = *kai
        .read::<PlanDoc>(&plan)
        .unwrap()
        .needs
        .values()
        .next()
        .unwrap()
        .actions
        .keys()
        .next()
        .unwrap();
    assert!(
        kai.client_mut()
            .set_action_status(KAI, action_id, ActionStatus::Done)
            .is_err()
    );
    let server_heads = server.document(&plan).unwrap().get_heads();
    let bad = kai
        .tamper::<PlanDoc>(plan, |p| {
            for n in p.needs.values_mut() {
                if let Some(a) = n.actions.get_mut(&action_id) {
                    a.status = ActionStatus::Done;
                }
            }
        })
        .unwrap();
    let report = kai.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    let refusal = &report.refused[0];
    assert_eq!(refusal.status, DocStatus::Rejected);
    assert_eq!(refusal.rule, "young-person-own-views-only");
    assert_eq!(refusal.change, hex::encode(bad.0));
    assert!(refusal.path.starts_with("needs/"), "{}", refusal.path);
    assert!(!refusal.explanation.is_empty());
    assert_eq!(server.document(&plan).unwrap().get_heads(), server_heads);

    // Kept on the device, set aside out of the plan: the change's bytes,
    // and the refusal with rule and reason. Kai's copy is the server's
    // again, so his next views are not held back by it (issue 15).
    let kept = kai.client().store().rejections().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].rule, "young-person-own-views-only");
    assert_eq!(kept[0].change_hash.as_deref(), Some(&bad.0[..]));
    assert!(!kept[0].message.is_empty());
    let set_aside = automerge::Change::from_bytes(kept[0].bytes.clone().unwrap()).unwrap();
    assert_eq!(set_aside.hash(), bad);
    assert_eq!(kai.client().unsynced_changes().unwrap(), 0);
    assert_ne!(
        kai.read::<PlanDoc>(&plan)
            .unwrap()
            .needs
            .values()
            .next()
            .unwrap()
            .actions[&action_id]
            .status,
        ActionStatus::Done
    );
    // Syncing again neither resends it nor records it twice.
    let again = kai.sync().await.unwrap();
    assert_eq!(again.sync_requests, 0);
    assert_eq!(kai.client().store().rejections().unwrap().len(), 1);
    assert_eq!(kai.client().unsynced_changes().unwrap(), 0);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalised_visit_cannot_be_changed_and_a_forged_actor_is_refused() {
    let server = TestServer::start_demo().await.unwrap();
    let record = DocKey::Record(KAI);
    let mut morag = device(&server, "Morag", MORAG).await;
    let mut david = device(&server, "David", DAVID).await;
    morag.sync().await.unwrap();
    david.sync().await.unwrap();

    let mut draft = VisitDraft::new(KAI);
    draft.observations = "Home visit; all well.".into();
    draft.child_seen = true;
    morag.client_mut().save_visit(&draft, true).unwrap();
    morag.sync().await.unwrap();
    let heads = server.document(&record).unwrap().get_heads();

    // A tampered client rewrites the finalised visit.
    let visit = draft.id;
    morag
        .tamper::<RecordDoc>(record, |r| {
            r.visits.get_mut(&visit).unwrap().observations = Text::with_value("rewritten later");
        })
        .unwrap();
    let report = morag.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].rule, "finalised-visit-addendum-only");
    assert_eq!(server.document(&record).unwrap().get_heads(), heads);
    assert_eq!(morag.client().store().rejections().unwrap().len(), 1);

    // David's device makes an ordinary plan edit, but claims another device made it.
    let plan = DocKey::Plan(KAI);
    let plan_heads = server.document(&plan).unwrap().get_heads();
    let forged_hash = david
        .tamper_as::<PlanDoc>(plan, DeviceId::random().actor_id(), |p| {
            for n in p.needs.values_mut() {
                for a in n.actions.values_mut() {
                    a.progress.update("forged progress");
                }
            }
        })
        .unwrap();
    let report = david.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].rule, "actor-not-device");
    assert_eq!(report.refused[0].change, hex::encode(forged_hash.0));
    assert_eq!(server.document(&plan).unwrap().get_heads(), plan_heads);
    let kept = david.client().store().rejections().unwrap();
    assert_eq!(kept[0].rule, "actor-not-device");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_offers_its_unsynced_visit_then_wipes_itself() {
    let server = TestServer::start_demo().await.unwrap();
    let mut morag = device(&server, "Morag", MORAG).await;
    morag.sync().await.unwrap();
    let mut draft = VisitDraft::new(KAI);
    draft.observations = "written before the phone was lost".into();
    morag.client_mut().save_visit(&draft, false).unwrap();
    let device_id = morag.client().me().device;
    server
        .storage
        .revoke_device(device_id, bothy_server::now())
        .unwrap();
    let (client, engine, dir) = morag.into_parts();
    let progress = engine.progress();
    match engine.sync_or_wipe(client).await.unwrap() {
        SyncOutcome::Wiped(report) => {
            assert_eq!(report.offered, 1);
            assert!(report.removed.iter().any(|p| p.ends_with("bothy.key")));
        }
        other => panic!("expected a wipe, got {other:?}"),
    }
    assert_eq!(progress.borrow().phase, SyncPhase::Revoked);
    assert!(!dir.path().join("bothy.db").exists());
    assert!(!dir.path().join("bothy.key").exists());
    assert_eq!(server.storage.quarantined().unwrap().len(), 1);
    server.stop().await.unwrap();
}

/// Family voice given without consent to share, and what a child said on a
/// team visit without agreeing to share it, are kept in the recording
/// agency's record: they never reach a device of another agency on the team
/// (Aileen, health; David, education) nor the young person's (Kai), on the
/// wire or in what each device stores. Words given with consent do reach
/// the team (the positive control, so "absent" means "not sent").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn family_voice_without_consent_never_reaches_another_agency_or_the_young_person() {
    use bothy_client::services::FamilyVoiceInput;
    use bothy_shared::docs::VoiceOf;
    let server = TestServer::start_demo().await.unwrap();
    let private = "NO-CONSENT-VOICE-5d1e-kai-mum-words";
    let said = "NO-CONSENT-CHILD-SAID-9b2c-on-a-team-visit";
    let shared = "WITH-CONSENT-VOICE-3a7f-for-the-team";
    let voice = |words: &str, consent: bool| FamilyVoiceInput {
        said_by: "Lisa".into(),
        voice_of: VoiceOf::Parent,
        own_words: words.into(),
        scale_question: String::new(),
        scale: None,
        worries: String::new(),
        good_things: String::new(),
        dreams: String::new(),
        consent_to_share: consent,
    };
    let mut morag = device(&server, "Morag", MORAG).await;
    morag.sync().await.unwrap();
    let c = morag.client_mut();
    c.record_family_voice(KAI, &voice(private, false)).unwrap();
    c.record_family_voice(KAI, &voice(shared, true)).unwrap();
    let mut visit = VisitDraft::new(KAI);
    visit.observations = "Team visit; Kai chatty".into();
    visit.child_seen = true;
    visit.child_said = said.into();
    visit.child_said_shared = false;
    assert_eq!(c.save_visit(&visit, true).unwrap(), DocKey::Record(KAI));
    let pushed = morag.sync().await.unwrap();
    assert!(pushed.refused.is_empty(), "{:?}", pushed.refused);

    let held_bytes = |d: &mut Device| -> Vec<Vec<u8>> {
        let c = d.client_mut();
        c.document_keys()
            .unwrap()
            .into_iter()
            .map(|k| c.document(&k).unwrap().unwrap().save_nocompress())
            .collect()
    };
    // Morag's supervisor reads social work's record: the words are there,
    // so the byte check below can find them when they are sent.
    let (fiona_seen, options) = recording();
    let mut fiona = server.enrol_device("Fiona", FIONA, options).await.unwrap();
    fiona.sync().await.unwrap();
    let (_, docs, _) = inspect(&fiona_seen.lock().unwrap());
    for marker in [private, said] {
        assert!(
            docs.iter()
                .any(|d| contains(&d.save_nocompress(), marker.as_bytes())),
            "Fiona receives {marker}"
        );
    }

    for (name, person, team_member) in [
        ("Aileen", AILEEN, true),
        ("David", DAVID, true),
        ("Kai", KAI_YP, false),
    ] {
        let (seen, options) = recording();
        let mut d = server.enrol_device(name, person, options).await.unwrap();
        d.sync().await.unwrap();
        let recorded = seen.lock().unwrap();
        let (_, docs, bytes) = inspect(&recorded);
        assert!(
            bytes > 500,
            "{name} received real documents ({bytes} bytes)"
        );
        let mut received: Vec<Vec<u8>> = docs.iter().map(|d| d.save_nocompress()).collect();
        received.extend(recorded.bodies.iter().map(|(_, b)| b.clone()));
        received.extend(held_bytes(&mut d));
        for marker in [private, said] {
            assert!(
                !received.iter().any(|b| contains(b, marker.as_bytes())),
                "{name} received {marker}"
            );
        }
        assert_eq!(
            received.iter().any(|b| contains(b, shared.as_bytes())),
            team_member,
            "{name} and the words given with consent"
        );
        if team_member {
            // The visit reached them, without the child's words.
            let view = d.client_mut().visit(DocKey::Record(KAI), visit.id).unwrap();
            assert_eq!(view.visit.observations, "Team visit; Kai chatty");
            assert!(view.visit.child_said.is_empty());
        }
    }
    server.stop().await.unwrap();
}
