//! Every service against the shared policy, on real encrypted stores: the
//! young person never sees a withheld section or a practitioner record; a
//! finalised visit cannot be edited; only the author edits a draft; the
//! supervisor sees what changed, field by field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use bothy_client::services::{ActionInput, FamilyVoiceInput, VisitDraft};
use bothy_client::store::{KdfParams, Passcode, Store};
use bothy_client::{Client, ServiceError};
use bothy_shared::demo::{self, ELLIE, KAI, MORAG, RUARIDH};
use bothy_shared::docs::*;
use bothy_shared::gate::GateError;
use bothy_shared::policy::Rule;
use tempfile::TempDir;

fn device(name: &str) -> (TempDir, Client) {
    let dir = TempDir::new().unwrap();
    let store = Store::create(
        dir.path(),
        &Passcode::new("a passcode".into()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    let client = Client::seed_demo(store, name).unwrap();
    (dir, client)
}

fn refused_rule(e: &ServiceError) -> Option<Rule> {
    match e {
        ServiceError::Refused(g) => g.rule(),
        ServiceError::Denied(d) => Some(d.rule),
        _ => None,
    }
}

/// Copy every document `from` holds that `to` may read (what sync will do).
fn share(from: &mut Client, to: &mut Client) {
    let keys = from.document_keys().unwrap();
    let mut docs = Vec::new();
    for key in keys {
        let team = to.directory().teams.get(&key.child()).cloned();
        let Some(team) = team else { continue };
        if bothy_shared::policy::AccessPolicy::can_read(&to.me().principal(), &key, &team).is_ok() {
            docs.push((key, from.document(&key).unwrap().unwrap().clone()));
        }
    }
    let mut dir = to.directory().clone();
    dir.devices.insert(from.me().device, from.me().person);
    to.set_directory(dir).unwrap();
    to.receive_documents(docs).unwrap();
}

#[test]
fn the_young_person_holds_only_their_plan_and_never_sees_withheld_sections() {
    let (_d, mut kai) = device("Kai");
    assert_eq!(kai.document_keys().unwrap(), vec![DocKey::Plan(KAI)]);
    let plan = kai.my_plan().unwrap();
    assert_eq!(plan.name, "Kai");
    // The demo marks wellbeing/safe as withheld: it is not shown at all.
    assert!(
        plan.how_things_are
            .iter()
            .all(|l| l.about != "wellbeing/safe"),
        "{:?}",
        plan.how_things_are
    );
    assert_eq!(plan.how_things_are.len(), 7);
    let json = serde_json::to_string(&plan).unwrap();
    assert!(!json.contains("threats"), "withheld content leaked: {json}");
    assert!(!json.contains("debt"), "an agency record leaked: {json}");
    assert!(plan.my_team.first().unwrap().is_lead);
    assert!(!plan.what_happens_next.is_empty());
    // No practitioner record is reachable.
    let err = kai
        .visit(DocKey::Record(KAI), bothy_shared::ids::ItemId::random())
        .unwrap_err();
    assert_eq!(refused_rule(&err), Some(Rule::ReadScope), "{err}");
    let err = kai.chronology(KAI, None).unwrap();
    assert!(err.is_empty());
    // The practitioners' words never reach the young person's store file either.
    for key in kai.document_keys().unwrap() {
        let bytes = kai.document(&key).unwrap().unwrap().save();
        assert!(!bytes.windows(7).any(|w| w == b"threats"));
    }
}

#[test]
fn the_young_person_adds_what_they_think_but_cannot_change_an_action() {
    let (_d, mut kai) = device("Kai");
    let id = kai
        .add_what_i_think(
            "need/00000000-0000-4000-8000-00002000000a",
            "Mondays with Mr Reid help",
        )
        .unwrap();
    let plan = kai.my_plan().unwrap();
    assert!(
        plan.what_i_think
            .iter()
            .any(|v| v.id == id && v.words == "Mondays with Mr Reid help")
    );
    assert!(
        kai.unsynced_changes().unwrap() >= 1,
        "saved offline, waiting to sync"
    );
    let action = bothy_shared::ids::ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_000b,
    ));
    let err = kai
        .set_action_status(KAI, action, ActionStatus::Done)
        .unwrap_err();
    assert_eq!(
        refused_rule(&err),
        Some(Rule::YoungPersonOwnViewsOnly),
        "{err}"
    );
    // Nothing was saved by the refused edit.
    let after = kai.my_plan().unwrap();
    assert!(
        after
            .what_happens_next
            .iter()
            .all(|s| s.status != "Done" || s.what.contains("Refer"))
    );
}

#[test]
fn a_finalised_visit_cannot_be_edited_only_given_an_addendum() {
    let (_d, mut morag) = device("Morag");
    let mut draft = VisitDraft::new(KAI);
    draft.observations = "Kai at the door in school uniform.".into();
    draft.child_seen = true;
    morag.autosave_visit(&draft).unwrap();
    assert_eq!(
        morag.visit_draft(draft.id).unwrap().unwrap(),
        draft,
        "autosave keeps what was typed"
    );
    let key = morag.save_visit(&draft, false).unwrap();
    assert_eq!(key, DocKey::Record(KAI));
    assert!(
        morag.visit_draft(draft.id).unwrap().is_none(),
        "saving clears the typing buffer"
    );
    draft
        .observations
        .push_str(" Mum says he went in on time all week.");
    morag.save_visit(&draft, true).unwrap();
    let view = morag.visit(key, draft.id).unwrap();
    assert!(view.finalised.is_some());
    assert!(view.visit.observations.ends_with("all week."));
    assert!(!view.can_edit && view.can_add_addendum);

    draft.observations = "rewritten".into();
    let err = morag.save_visit(&draft, false).unwrap_err();
    assert!(matches!(err, ServiceError::BadInput { .. }), "{err}");
    morag
        .add_addendum(
            key,
            draft.id,
            "Wrong day",
            "The visit was on Tuesday, not Monday.",
        )
        .unwrap();
    let view = morag.visit(key, draft.id).unwrap();
    assert!(
        view.visit.observations.ends_with("all week."),
        "the visit itself is unchanged"
    );
    assert_eq!(view.addenda.len(), 1);
    assert_eq!(view.addenda[0].by, "Morag Fraser");
    assert_eq!(view.addenda[0].reason, "Wrong day");
}

#[test]
fn only_the_author_edits_a_draft_visit() {
    let (_a, mut morag) = device("Morag");
    let (_b, mut david) = device("David");
    let mut draft = VisitDraft::new(KAI);
    draft.observations = "Draft by Morag".into();
    morag.save_visit(&draft, false).unwrap();
    share(&mut morag, &mut david);
    assert_eq!(
        david
            .visit(DocKey::Record(KAI), draft.id)
            .unwrap()
            .practitioner,
        "Morag Fraser"
    );
    draft.observations = "David's edit".into();
    let err = david.save_visit(&draft, false).unwrap_err();
    assert_eq!(
        refused_rule(&err),
        Some(Rule::DraftVisitAuthorOnly),
        "{err}"
    );
    assert!(
        matches!(err, ServiceError::Refused(GateError::Rejected(ref r)) if r.path.starts_with("visits/"))
    );
}

#[test]
fn an_agency_only_visit_goes_to_the_agency_record_the_teacher_cannot_read() {
    let (_a, mut morag) = device("Morag");
    let (_b, mut david) = device("David");
    let mut draft = VisitDraft::new(KAI);
    draft.sharing = Sharing::Agency;
    draft.observations = "Social work only".into();
    let key = morag.save_visit(&draft, true).unwrap();
    assert_eq!(
        key,
        DocKey::Agency(KAI, bothy_shared::ids::Agency::SocialWork)
    );
    share(&mut morag, &mut david);
    assert!(david.document(&key).unwrap().is_none());
    let o = david.child(KAI).unwrap();
    assert!(o.recent_visits.iter().all(|v| v.id != draft.id));
}

#[test]
fn plan_edits_family_voice_and_chronology_show_on_the_child_page() {
    let (_d, mut morag) = device("Morag");
    let need = morag
        .add_need(
            KAI,
            "Kai needs a quiet place to do homework",
            "Homework handed in most weeks",
            "Teacher's records",
            &[Indicator::Achieving],
        )
        .unwrap();
    let action = morag
        .add_action(
            KAI,
            need,
            &ActionInput {
                what: "Ask gran about Tuesday evenings".into(),
                owner: Some(MORAG),
                due: "2026-12-01".parse().ok(),
            },
        )
        .unwrap();
    morag
        .set_action_status(KAI, action, ActionStatus::InProgress)
        .unwrap();
    morag
        .update_action_progress(KAI, action, "Gran said yes")
        .unwrap();
    morag
        .rate_wellbeing(KAI, Indicator::Achieving, 6, "better")
        .unwrap();
    let voice = FamilyVoiceInput {
        said_by: "Kai".into(),
        voice_of: VoiceOf::Child,
        own_words: "I like it at gran's".into(),
        scale_question: "How good is home right now?".into(),
        scale: Some(7),
        worries: "Mum being sad".into(),
        good_things: "Gran, football".into(),
        dreams: "A dog".into(),
        consent_to_share: true,
    };
    morag.record_family_voice(KAI, &voice).unwrap();
    assert!(
        morag
            .record_family_voice(
                KAI,
                &FamilyVoiceInput {
                    scale: Some(11),
                    ..voice.clone()
                }
            )
            .is_err()
    );
    morag
        .add_chronology_entry(
            KAI,
            &bothy_client::services::ChronologyInput {
                date: "2026-11-02".parse().unwrap(),
                until: None,
                event: "Kai moved to gran's for a week".into(),
                impact: Impact::Positive,
                impact_note: String::new(),
                action: "None needed".into(),
                significance: Significance::Significant,
            },
            false,
        )
        .unwrap();
    let o = morag.child(KAI).unwrap();
    let n = o.needs.iter().find(|n| n.id == need).unwrap();
    assert_eq!(n.actions[0].status, ActionStatus::InProgress);
    assert_eq!(n.actions[0].progress, "Gran said yes");
    let achieving = o
        .wellbeing
        .iter()
        .find(|w| w.indicator == Indicator::Achieving)
        .unwrap();
    assert_eq!((achieving.now, achieving.before), (Some(6), Some(4)));
    assert!(
        o.chronology
            .iter()
            .any(|c| c.event == "Kai moved to gran's for a week")
    );
    assert_eq!(
        morag
            .chronology(KAI, Some(bothy_shared::ids::Agency::Health))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(morag.family_voice(KAI).unwrap()[0].scale, Some(7));
    // The withheld section is shown to the team.
    assert!(o.withheld.iter().any(|w| w.content.contains("threats")));
}

#[test]
fn the_caseload_flags_what_needs_attention_and_unsynced_work() {
    let (_d, mut morag) = device("Morag");
    let list = morag.caseload(None).unwrap();
    assert_eq!(list.len(), 3);
    let by = |list: &[bothy_client::services::CaseloadEntry], id| {
        list.iter().find(|c| c.child == id).cloned().unwrap()
    };
    assert!(by(&list, RUARIDH).flags.visit_overdue, "never visited");
    let today = IsoDate::today();
    assert_eq!(
        by(&list, ELLIE).flags.review_due,
        today.days_until("2026-11-19".parse().unwrap()) <= 14
    );
    assert!(list.iter().all(|c| !c.flags.unsynced));
    let mut draft = VisitDraft::new(RUARIDH);
    draft.observations = "Met at college open day".into();
    morag.save_visit(&draft, true).unwrap();
    let list = morag.caseload(None).unwrap();
    let r = by(&list, RUARIDH);
    assert!(!r.flags.visit_overdue && r.flags.unsynced, "{r:?}");
    assert_eq!(
        morag.caseload(Some("roo")).unwrap().len(),
        1,
        "search by preferred name"
    );
    assert!(morag.overdue().unwrap().iter().all(|c| c.child != RUARIDH));
}

#[test]
fn the_supervisor_sees_each_change_field_by_field_then_countersigns() {
    let (_a, mut morag) = device("Morag");
    let (_b, mut fiona) = device("Fiona");
    let action = bothy_shared::ids::ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_000c,
    ));
    morag
        .set_action_status(KAI, action, ActionStatus::Done)
        .unwrap();
    share(&mut morag, &mut fiona);
    let changes = fiona.changes_since_my_last_review(KAI).unwrap();
    let status = changes
        .iter()
        .find(|c| c.path.ends_with("/status"))
        .unwrap_or_else(|| panic!("{changes:#?}"));
    assert_eq!(
        (status.before.as_str(), status.after.as_str()),
        ("Not started", "Done")
    );
    assert_eq!(status.who, "Morag Fraser");
    assert_eq!(status.agency, Some(bothy_shared::ids::Agency::SocialWork));
    assert!(
        status.field.starts_with("Action “Help mum"),
        "{}",
        status.field
    );
    fiona
        .countersign(
            KAI,
            "Good progress on routines; keep weekly contact.",
            "continue plan",
        )
        .unwrap();
    assert!(
        fiona
            .changes_since_my_last_review(KAI)
            .unwrap()
            .iter()
            .all(|c| !c.doc.to_string().starts_with("plan"))
    );
    // A later change shows up in the next review.
    morag
        .update_action_progress(KAI, action, "Grant form sent")
        .unwrap();
    share(&mut morag, &mut fiona);
    let next = fiona.changes_since_my_last_review(KAI).unwrap();
    assert!(
        next.iter()
            .any(|c| c.after == "Grant form sent" && c.before.is_empty()),
        "{next:#?}"
    );
    // A practitioner cannot countersign.
    let err = morag.countersign(KAI, "me", "x").unwrap_err();
    assert_eq!(
        refused_rule(&err),
        Some(Rule::SupervisionSupervisorsOnly),
        "{err}"
    );
}

#[test]
fn saved_work_survives_locking_and_compaction() {
    let dir = TempDir::new().unwrap();
    let pass = Passcode::new("pass".into());
    let store = Store::create(dir.path(), &pass, KdfParams::insecure_fast_for_tests()).unwrap();
    let mut morag = Client::seed_demo(store, "Morag").unwrap();
    let n = bothy_client::COMPACT_AFTER + 20;
    let mut ids = Vec::new();
    for i in 0..n {
        let mut d = VisitDraft::new(ELLIE);
        d.observations = format!("visit {i}");
        morag.save_visit(&d, i % 2 == 0).unwrap();
        ids.push(d.id);
    }
    morag.lock().unwrap();
    let store = Store::unlock(dir.path(), &pass).unwrap();
    let mut morag = Client::open(store).map_err(|(_, e)| e).unwrap();
    let o = morag.child(ELLIE).unwrap();
    for id in ids {
        assert!(
            o.recent_visits.iter().any(|v| v.id == id),
            "lost visit {id}"
        );
    }
    assert!(
        morag.unsynced_changes().unwrap() >= n,
        "unsynced work is kept through compaction"
    );
    let _ = demo::partnership();
}
