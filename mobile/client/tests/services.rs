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
    // His copy of the plan, never the team's plan.
    assert_eq!(kai.document_keys().unwrap(), vec![DocKey::Young(KAI, 1)]);
    let plan = kai.my_plan().unwrap();
    assert_eq!(plan.name, "Kai");
    assert!(plan.some_private, "the private-for-now line shows");
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
    // The team's plan, where actions are changed, is not on his device.
    let err = kai
        .set_action_status(KAI, action, ActionStatus::Done)
        .unwrap_err();
    assert!(
        matches!(err, bothy_client::ServiceError::NotFound { .. })
            || refused_rule(&err) == Some(Rule::WriteScope),
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
    // "Before" is the rating as it stood at the last review meeting (the
    // demo's, on 2026-07-16: 3), not the rating before the latest.
    assert_eq!((achieving.now, achieving.before), (Some(6), Some(3)));
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
    assert_eq!(list.len(), 4, "Kai, Ellie, Ruaridh and Skye");
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

/// Two people set the same action's status offline; once their changes are
/// exchanged both see one conflict naming both of them and both values; one
/// settles it; once exchanged again neither sees it and both hold the kept value.
#[test]
fn two_people_see_a_conflict_naming_both_and_one_settles_it_for_both() {
    let (_a, mut morag) = device("Morag");
    let (_b, mut priya) = device("Priya");
    let action = bothy_shared::ids::ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_000c,
    ));
    assert!(morag.conflicts(KAI).unwrap().is_empty());
    morag
        .set_action_status(KAI, action, ActionStatus::Done)
        .unwrap();
    priya
        .set_action_status(KAI, action, ActionStatus::Stuck)
        .unwrap();
    share(&mut morag, &mut priya);
    share(&mut priya, &mut morag);
    for device in [&mut morag, &mut priya] {
        let conflicts = device.conflicts(KAI).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
        let c = &conflicts[0];
        assert!(
            c.field.starts_with("Action “Help mum") && c.field.ends_with(" status"),
            "{}",
            c.field
        );
        assert!(c.can_settle);
        let mut sides: Vec<(&str, &str)> = c
            .sides
            .iter()
            .map(|s| (s.value.as_str(), s.who.as_str()))
            .collect();
        sides.sort();
        assert_eq!(sides, [("Done", "Morag Fraser"), ("Stuck", "Priya Shah")]);
        assert!(c.sides.iter().all(|s| s.at > 1_700_000_000), "{c:#?}");
        // The child's page carries it too.
        assert_eq!(device.child(KAI).unwrap().conflicts, conflicts);
    }
    let id = morag.conflicts(KAI).unwrap()[0].id.clone();
    assert_eq!(
        priya.conflicts(KAI).unwrap()[0].id,
        id,
        "one id on both devices"
    );

    // A value that is not one of the two, and an unknown id, are refused.
    assert!(matches!(
        morag.settle_conflict(KAI, &id, "In progress"),
        Err(ServiceError::BadInput { .. })
    ));
    assert!(matches!(
        morag.settle_conflict(KAI, "0000000000", "Done"),
        Err(ServiceError::NotFound { .. })
    ));

    assert_eq!(morag.settle_conflict(KAI, &id, "stuck").unwrap(), "Stuck");
    assert!(morag.conflicts(KAI).unwrap().is_empty());
    share(&mut morag, &mut priya);
    for device in [&mut morag, &mut priya] {
        assert!(device.conflicts(KAI).unwrap().is_empty());
        let status = device
            .child(KAI)
            .unwrap()
            .needs
            .iter()
            .flat_map(|n| n.actions.clone())
            .find(|a| a.id == action)
            .unwrap()
            .status;
        assert_eq!(status, ActionStatus::Stuck);
    }
}

/// An edit never settles a conflict unseen: setting the status the screen
/// already shows is refused (the field named, nothing saved); editing
/// elsewhere in the same need leaves the conflict open with both values (or
/// is refused likewise); writing a new status into the field itself is a
/// choice, and settles it.
#[test]
fn an_edit_of_the_item_never_settles_a_conflict_unseen() {
    let (_a, mut morag) = device("Morag");
    let (_b, mut priya) = device("Priya");
    let action = bothy_shared::ids::ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_000c,
    ));
    morag
        .set_action_status(KAI, action, ActionStatus::Done)
        .unwrap();
    priya
        .set_action_status(KAI, action, ActionStatus::Stuck)
        .unwrap();
    share(&mut priya, &mut morag);
    let open = morag.conflicts(KAI).unwrap();
    assert_eq!(open.len(), 1, "{open:#?}");
    let unsynced = morag.unsynced_changes().unwrap();
    let status_now = |c: &mut Client| {
        c.child(KAI)
            .unwrap()
            .needs
            .iter()
            .flat_map(|n| n.actions.clone())
            .find(|a| a.id == action)
            .unwrap()
            .status
    };

    // Setting the value the screen shows chooses nothing: refused, the
    // field named, nothing saved, the conflict still open.
    let shown = status_now(&mut morag);
    let err = morag.set_action_status(KAI, action, shown).unwrap_err();
    match &err {
        ServiceError::ConflictOpen { field } => assert!(
            field.starts_with("Action “Help mum") && field.ends_with(" status"),
            "{field}"
        ),
        other => panic!("expected ConflictOpen, got {other:?}"),
    }
    assert!(err.to_string().contains("nothing was saved"), "{err}");
    assert_eq!(morag.unsynced_changes().unwrap(), unsynced, "nothing saved");
    assert_eq!(morag.conflicts(KAI).unwrap(), open);

    match morag.update_action_progress(KAI, action, "Met mum on Tuesday") {
        Ok(()) => assert!(morag.unsynced_changes().unwrap() > unsynced),
        Err(ServiceError::ConflictOpen { field }) => {
            assert!(field.ends_with(" status"), "{field}");
            assert_eq!(morag.unsynced_changes().unwrap(), unsynced, "nothing saved");
        }
        Err(other) => panic!("{other:?}"),
    }
    assert_eq!(
        morag.conflicts(KAI).unwrap(),
        open,
        "still open, both values"
    );

    morag
        .set_action_status(KAI, action, ActionStatus::InProgress)
        .unwrap();
    assert!(morag.conflicts(KAI).unwrap().is_empty());
    assert_eq!(status_now(&mut morag), ActionStatus::InProgress);
}

/// Keeping the value Automerge already shows still clears the conflict, and a
/// young person (who reads only their copy) has none to settle.
#[test]
fn keeping_the_shown_value_clears_the_conflict_and_the_young_person_cannot_settle() {
    let (_a, mut morag) = device("Morag");
    let (_b, mut priya) = device("Priya");
    let (_c, mut kai) = device("Kai");
    morag
        .set_review_date(KAI, Some("2027-02-01".parse().unwrap()))
        .unwrap();
    priya
        .set_review_date(KAI, Some("2027-02-15".parse().unwrap()))
        .unwrap();
    share(&mut priya, &mut morag);
    share(&mut morag, &mut kai);
    let c = morag.conflicts(KAI).unwrap().remove(0);
    assert_eq!(c.field, "Review date");
    let shown = morag.child(KAI).unwrap().review_date.unwrap().to_string();
    assert_eq!(
        c.sides[0].value, shown,
        "the value shown until now is first"
    );

    // The young person reads only their copy, which the server alone
    // writes: it never holds a conflict, and theirs is not to settle.
    assert!(kai.conflicts(KAI).unwrap().is_empty());
    assert!(matches!(
        kai.settle_conflict(KAI, &c.id, &shown),
        Err(ServiceError::NotFound { .. })
    ));

    morag.settle_conflict(KAI, &c.id, &shown).unwrap();
    assert!(morag.conflicts(KAI).unwrap().is_empty());
    share(&mut morag, &mut kai);
    assert!(kai.conflicts(KAI).unwrap().is_empty());
    assert_eq!(
        morag.child(KAI).unwrap().review_date.unwrap().to_string(),
        shown
    );
}

/// The supervisor's feed is one card per visit, voice or plan change, each
/// with a one-line summary; once countersigned they move to the reviewed
/// side and nothing is left to countersign.
#[test]
fn the_supervisors_feed_is_one_card_per_visit_voice_or_plan_change() {
    use bothy_client::services::{FamilyVoiceInput, FeedKind, VisitDraft};
    let (_a, mut morag) = device("Morag");
    let (_b, mut fiona) = device("Fiona");
    let mut visit = VisitDraft::new(KAI);
    visit.at = Timestamp(1_764_583_200_000); // 1 Dec 2025, 10:00 UTC
    visit.child_seen = true;
    visit.observations = "Kai was up and dressed.".to_owned();
    visit.child_said = "I made my own toast.".to_owned();
    visit.next_steps = "Check the grant form.".to_owned();
    morag.save_visit(&visit, true).unwrap();
    morag
        .record_family_voice(
            KAI,
            &FamilyVoiceInput {
                said_by: "Mum".to_owned(),
                voice_of: VoiceOf::Parent,
                own_words: "Mornings are calmer.".to_owned(),
                scale_question: String::new(),
                scale: Some(6),
                worries: String::new(),
                good_things: String::new(),
                dreams: String::new(),
                consent_to_share: true,
            },
        )
        .unwrap();
    let action = bothy_shared::ids::ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_000c,
    ));
    morag
        .set_action_status(KAI, action, ActionStatus::Done)
        .unwrap();
    share(&mut morag, &mut fiona);

    let fields = fiona.changes_since_my_last_review(KAI).unwrap();
    let feed = fiona.supervision_feed(KAI).unwrap();
    assert!(feed.reviewed.is_empty());
    let mut kinds: Vec<FeedKind> = feed.unreviewed.iter().map(|c| c.kind).collect();
    kinds.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(
        kinds,
        [FeedKind::Plan, FeedKind::Visit, FeedKind::Voice],
        "{feed:#?}"
    );
    // Every field is on exactly one card.
    let on_cards: usize = feed.unreviewed.iter().map(|c| c.fields.len()).sum();
    assert_eq!(on_cards, fields.len());
    assert!(fields.len() > 6, "{fields:#?}");
    let summary = |k: FeedKind| {
        feed.unreviewed
            .iter()
            .find(|c| c.kind == k)
            .unwrap()
            .summary
            .clone()
    };
    assert_eq!(
        summary(FeedKind::Visit),
        "Morag Fraser recorded a home visit to Kai, 1 Dec"
    );
    assert!(
        summary(FeedKind::Voice).starts_with("Morag Fraser recorded what Mum said, "),
        "{}",
        summary(FeedKind::Voice)
    );
    assert!(
        summary(FeedKind::Plan).starts_with("Morag Fraser changed Action “Help mum")
            && summary(FeedKind::Plan).contains(" › status to “Done”, "),
        "{}",
        summary(FeedKind::Plan)
    );

    fiona.countersign(KAI, "Seen.", "continue").unwrap();
    let feed = fiona.supervision_feed(KAI).unwrap();
    assert!(feed.unreviewed.is_empty(), "{feed:#?}");
    assert_eq!(feed.reviewed.len(), 3, "{feed:#?}");
}
#[test]
fn the_lead_professional_withholds_a_part_with_a_reason_and_lifts_it() {
    let (_d, mut morag) = device("Morag");
    let before = morag.child(KAI).unwrap();
    assert!(before.can_withhold);
    let id = morag
        .withhold(KAI, "my_world", "Waiting for the assessment")
        .unwrap();
    // Withholding it again changes nothing.
    assert_eq!(morag.withhold(KAI, "my_world", "again").unwrap(), id);
    let after = morag.child(KAI).unwrap();
    let part = after
        .withheld_from_young_person
        .iter()
        .find(|w| w.section == "my_world")
        .expect("listed for the team");
    assert_eq!(part.reason, "Waiting for the assessment");
    assert_eq!(part.by, MORAG);
    assert_eq!(
        after.withheld_from_young_person.len(),
        before.withheld_from_young_person.len() + 1
    );

    assert_eq!(morag.unwithhold(KAI, "my_world").unwrap(), 1);
    assert_eq!(morag.unwithhold(KAI, "my_world").unwrap(), 0);
    assert!(
        morag
            .child(KAI)
            .unwrap()
            .withheld_from_young_person
            .iter()
            .all(|w| w.section != "my_world")
    );
}

#[test]
fn withholding_is_refused_to_other_members_and_for_unknown_parts() {
    let (_d, mut morag) = device("Morag");
    let err = morag.withhold(KAI, "secrets", "x").unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::BadInput {
                field: "section",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("wellbeing/safe"), "{err}");
    let err = morag.withhold(KAI, "reason", "  ").unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::BadInput {
                field: "reason",
                ..
            }
        ),
        "{err}"
    );

    let (_e, mut david) = device("David");
    assert!(!david.child(KAI).unwrap().can_withhold);
    let err = david.withhold(KAI, "reason", "no").unwrap_err();
    assert_eq!(
        refused_rule(&err),
        Some(Rule::WithholdLeadOrSupervisor),
        "{err}"
    );
    let err = david.unwithhold(KAI, "wellbeing/safe").unwrap_err();
    assert_eq!(
        refused_rule(&err),
        Some(Rule::WithholdLeadOrSupervisor),
        "{err}"
    );
}

fn voice(words: &str, consent: bool) -> FamilyVoiceInput {
    FamilyVoiceInput {
        said_by: "Ellie's dad".into(),
        voice_of: VoiceOf::Parent,
        own_words: words.into(),
        scale_question: String::new(),
        scale: None,
        worries: String::new(),
        good_things: String::new(),
        dreams: String::new(),
        consent_to_share: consent,
    }
}

fn bytes_hold(client: &mut Client, key: &DocKey, words: &str) -> bool {
    match client.document(key).unwrap() {
        Some(doc) => doc
            .save_nocompress()
            .windows(words.len())
            .any(|w| w == words.as_bytes()),
        None => false,
    }
}

#[test]
fn family_voice_without_consent_is_kept_in_my_agency_and_the_team_record_never_holds_it() {
    use bothy_shared::ids::Agency;
    let (_a, mut morag) = device("Morag");
    let (_b, mut aileen) = device("Aileen");
    let private = "I lose my temper when the baby will not settle";
    let shared = "Nursery mornings are going better";
    let team = DocKey::Record(ELLIE);
    let mine = DocKey::Agency(ELLIE, Agency::SocialWork);
    let heads = morag.document(&team).unwrap().unwrap().get_heads();

    assert_eq!(morag.family_voice_doc(ELLIE, false).unwrap(), mine);
    let kept = morag
        .record_family_voice(ELLIE, &voice(private, false))
        .unwrap();
    // Not one change in the team record: its history never held the words.
    assert_eq!(morag.document(&team).unwrap().unwrap().get_heads(), heads);
    assert!(
        bytes_hold(&mut morag, &mine, private),
        "the check can find words"
    );
    assert!(!bytes_hold(&mut morag, &team, private));
    let with_consent = morag
        .record_family_voice(ELLIE, &voice(shared, true))
        .unwrap();
    assert!(bytes_hold(&mut morag, &team, shared));

    // Morag sees both, and where each is kept.
    let lines = morag.family_voice_gathered(ELLIE).unwrap();
    let line = |id| lines.iter().find(|l| l.id == id).unwrap();
    assert!(!line(kept).shared_with_team);
    assert_eq!(line(kept).doc, mine);
    assert_eq!(line(kept).own_words, private);
    assert_eq!(line(kept).recorded_by, "Morag Fraser");
    assert!(line(with_consent).shared_with_team);

    // The health visitor on Ellie's team gets the shared words only.
    share(&mut morag, &mut aileen);
    assert!(aileen.document(&mine).unwrap().is_none());
    let hers = aileen.family_voice_gathered(ELLIE).unwrap();
    assert!(hers.iter().any(|l| l.id == with_consent));
    assert!(hers.iter().all(|l| l.id != kept && l.own_words != private));
    for key in aileen.document_keys().unwrap() {
        assert!(!bytes_hold(&mut aileen, &key, private), "{key}");
    }
}

#[test]
fn a_team_visit_keeps_what_the_child_said_apart_when_they_did_not_agree() {
    use bothy_shared::ids::Agency;
    let (_a, mut morag) = device("Morag");
    let (_b, mut david) = device("David");
    let words = "Please don't tell school about the shouting";
    let mut draft = VisitDraft::new(KAI);
    draft.observations = "Kai quiet; ate well".into();
    draft.child_seen = true;
    draft.child_said = words.into();
    draft.child_said_shared = false;
    let key = morag.save_visit(&draft, false).unwrap();
    assert_eq!(key, DocKey::Record(KAI));
    let mine = DocKey::Agency(KAI, Agency::SocialWork);
    assert!(!bytes_hold(&mut morag, &key, words));
    assert!(bytes_hold(&mut morag, &mine, words));
    // Saving the draft again updates the one entry kept apart.
    draft.child_said = format!("{words}, ever");
    morag.save_visit(&draft, true).unwrap();
    assert!(!bytes_hold(&mut morag, &key, words));
    let view = morag.visit(key, draft.id).unwrap();
    assert_eq!(view.visit.child_said, format!("{words}, ever"));
    assert!(!view.visit.child_said_shared);
    let gathered = morag.family_voice_gathered(KAI).unwrap();
    let apart: Vec<_> = gathered
        .iter()
        .filter(|l| l.from_visit == Some(draft.id))
        .collect();
    assert_eq!(apart.len(), 1);
    assert_eq!(apart[0].voice_of, VoiceOf::Child);
    assert!(!apart[0].shared_with_team);

    // The teacher reads the visit, without the words.
    share(&mut morag, &mut david);
    let his = david.visit(key, draft.id).unwrap();
    assert_eq!(his.visit.observations, "Kai quiet; ate well");
    assert!(his.visit.child_said.is_empty());
    for k in david.document_keys().unwrap() {
        assert!(!bytes_hold(&mut david, &k, words), "{k}");
    }

    // Words already in a team visit cannot be taken back by a later save.
    let mut open = VisitDraft::new(KAI);
    open.child_said = "I like my new trainers".into();
    morag.save_visit(&open, false).unwrap();
    open.child_said_shared = false;
    let err = morag.save_visit(&open, false).unwrap_err();
    assert!(matches!(err, ServiceError::BadInput { .. }), "{err}");
}

#[test]
fn the_chronology_merges_every_readable_record_in_date_order_filtered_by_agency_and_impact() {
    use bothy_client::services::{ChronologyFilter, ChronologyInput};
    use bothy_shared::ids::Agency;
    let (_a, mut morag) = device("Morag");
    let (_b, mut david) = device("David");
    let entry = |date: &str, event: &str, impact| ChronologyInput {
        date: date.parse().unwrap(),
        until: None,
        event: event.into(),
        impact,
        impact_note: String::new(),
        action: String::new(),
        significance: Significance::Significant,
    };
    morag
        .add_chronology_entry(
            KAI,
            &entry("2026-11-20", "Moved school class", Impact::Neutral),
            false,
        )
        .unwrap();
    morag
        .add_chronology_entry(
            KAI,
            &entry("2026-08-01", "Police called to the home", Impact::Negative),
            true,
        )
        .unwrap();
    let edu = david
        .add_chronology_entry(
            KAI,
            &entry("2026-09-10", "Joined the football club", Impact::Positive),
            false,
        )
        .unwrap();
    // A finalised visit marked significant: an entry citing it, in its document.
    let mut v = VisitDraft::new(KAI);
    v.at = Timestamp(1_790_000_000_000); // 2026-09-21
    v.observations = "Kai showed me his model boat".into();
    let vkey = morag.save_visit(&v, true).unwrap();
    let cited = morag
        .mark_visit_significant(vkey, v.id, Impact::Positive)
        .unwrap();
    assert_eq!(
        morag
            .mark_visit_significant(vkey, v.id, Impact::Positive)
            .unwrap(),
        cited,
        "marking again adds nothing"
    );
    share(&mut david, &mut morag);
    share(&mut morag, &mut david);

    let all = morag
        .chronology_filtered(KAI, ChronologyFilter::default())
        .unwrap();
    let dates: Vec<IsoDate> = all.iter().map(|c| c.date).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "date order");
    let events: Vec<&str> = all.iter().map(|c| c.event.as_str()).collect();
    for e in [
        "Moved school class",
        "Police called to the home",
        "Joined the football club",
    ] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }
    assert_eq!(
        all.iter().filter(|c| c.from_visit == Some(v.id)).count(),
        1,
        "the visit is in the chronology once"
    );
    assert!(
        all.iter()
            .any(|c| c.id == edu && c.agency == Agency::Education)
    );

    let neutral = morag
        .chronology_filtered(
            KAI,
            ChronologyFilter {
                agency: None,
                impact: Some(Impact::Neutral),
            },
        )
        .unwrap();
    assert_eq!(
        neutral.iter().map(|c| c.event.as_str()).collect::<Vec<_>>(),
        vec!["Moved school class"]
    );
    let education = morag
        .chronology_filtered(
            KAI,
            ChronologyFilter {
                agency: Some(Agency::Education),
                impact: None,
            },
        )
        .unwrap();
    assert!(!education.is_empty());
    assert!(education.iter().all(|c| c.agency == Agency::Education));
    let sw_negative = morag
        .chronology_filtered(
            KAI,
            ChronologyFilter {
                agency: Some(Agency::SocialWork),
                impact: Some(Impact::Negative),
            },
        )
        .unwrap();
    assert!(
        sw_negative
            .iter()
            .any(|c| c.event == "Police called to the home")
    );
    assert!(sw_negative.iter().all(|c| c.impact == Impact::Negative));

    // The teacher's chronology lacks the social work record's entry.
    let his = david
        .chronology_filtered(KAI, ChronologyFilter::default())
        .unwrap();
    assert!(his.iter().any(|c| c.event == "Moved school class"));
    assert!(his.iter().all(|c| c.event != "Police called to the home"));
}

#[test]
fn who_will_see_this_says_the_team_the_agency_or_the_young_person_in_words() {
    use bothy_shared::ids::Agency;
    let (_a, morag) = device("Morag");
    let team = morag.who_will_see(DocKey::Record(KAI), false).unwrap();
    assert_eq!(team.line, "Your team: 3 people in 3 agencies");
    assert!(!team.young_person);
    assert!(team.names.contains(&"David Reid (Education)".to_owned()));
    let plan = morag.who_will_see(DocKey::Plan(KAI), false).unwrap();
    assert_eq!(
        plan.line,
        "Your team: 3 people in 3 agencies, and Kai in My plan"
    );
    assert!(plan.young_person);
    let withheld = morag.who_will_see(DocKey::Plan(KAI), true).unwrap();
    assert_eq!(withheld.line, "Your team: 3 people in 3 agencies");
    let agency = morag
        .who_will_see(DocKey::Agency(KAI, Agency::SocialWork), false)
        .unwrap();
    assert_eq!(agency.line, "Social work only");
    assert_eq!(agency.names, vec!["Morag Fraser (Social work)".to_owned()]);
    // Ellie has no account of her own: the plan is the team's.
    let ellie = morag.who_will_see(DocKey::Plan(ELLIE), false).unwrap();
    assert_eq!(ellie.line, "Your team: 2 people in 2 agencies");
    // A supervisor knows whom they supervise.
    let (_f, fiona) = device("Fiona");
    let sw = fiona
        .who_will_see(DocKey::Agency(KAI, Agency::SocialWork), false)
        .unwrap();
    assert!(
        sw.names.contains(&"Fiona MacLeod (supervisor)".to_owned()),
        "{:?}",
        sw.names
    );
}
