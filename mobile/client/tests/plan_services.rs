//! The plan's assessment, needs and reviews (issue 14, items 1-3) through
//! the services, on real encrypted stores: ratings kept per person and
//! agency (two devices rating at once keep both), the wheel against the last
//! review, needs added, edited and closed, the My World Triangle, review
//! meetings moving "last review" and clearing the caseload's review-due flag
//! on every device that receives them, and the young person's "My plan".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use bothy_client::services::{AssessmentInput, NeedInput, ReviewInput, Settings};
use bothy_client::store::{KdfParams, Passcode, Store};
use bothy_client::{Client, ServiceError};
use bothy_shared::demo::{DAVID, KAI, MORAG};
use bothy_shared::docs::*;
use bothy_shared::ids::Agency;
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

/// Copy every document `from` holds that `to` may read (what sync does).
/// What the server does with every change to the plan: the young person's
/// copy made from the team's plan (`docs::young_copy`) and mirrored into the
/// copy Kai's device holds, by an actor that is not a device.
fn as_the_server_copies_for_kai(team: &mut Client, kai: &mut Client) {
    let plan_key = DocKey::Plan(KAI);
    let plan: PlanDoc =
        read_document(team.document(&plan_key).unwrap().unwrap(), &plan_key).unwrap();
    let key = DocKey::Young(KAI, 1);
    let mut source = automerge::AutoCommit::new();
    write_document(&mut source, &key, &young_copy(&plan)).unwrap();
    let mut doc = kai.document(&key).unwrap().unwrap().clone();
    doc.set_actor(automerge::ActorId::from(
        b"bothy-server-000-plan-tests".to_vec(),
    ));
    let mut tx = doc.transaction();
    mirror(&source, &automerge::ROOT, &mut tx, &automerge::ROOT).unwrap();
    tx.commit();
    kai.receive_documents(vec![(key, doc)]).unwrap();
}

fn share(from: &mut Client, to: &mut Client) {
    let mut docs = Vec::new();
    for key in from.document_keys().unwrap() {
        let Some(team) = to.directory().teams.get(&key.child()).cloned() else {
            continue;
        };
        if bothy_shared::policy::AccessPolicy::can_read(&to.me().principal(), &key, &team).is_ok() {
            docs.push((key, from.document(&key).unwrap().unwrap().clone()));
        }
    }
    let mut dir = to.directory().clone();
    dir.devices.insert(from.me().device, from.me().person);
    to.set_directory(dir).unwrap();
    to.receive_documents(docs).unwrap();
}

fn line(c: &mut Client, i: Indicator) -> bothy_client::services::WellbeingLine {
    c.child(KAI)
        .unwrap()
        .wellbeing
        .into_iter()
        .find(|l| l.indicator == i)
        .unwrap()
}

fn review(held_on: IsoDate, next: Option<IsoDate>) -> ReviewInput {
    ReviewInput {
        held_on,
        attended: ReviewInput::names("Morag Fraser, Lisa (mum), Kai"),
        young_person_views: "I want to stay at my school".into(),
        family_views: "Mornings are better".into(),
        decisions: "Keep the Monday meetings".into(),
        plan_changes: "Mr Reid will meet you on Fridays too.".into(),
        next_review: next,
    }
}

#[test]
fn a_rating_is_kept_with_who_and_when_beside_the_last_review_value() {
    let (_d, mut morag) = device("Morag");
    // The demo's last review was on 2026-07-16, when Safe was rated 5.
    let before = line(&mut morag, Indicator::Safe);
    assert_eq!(before.before, Some(5));
    assert_eq!(before.last_review, Some("2026-07-16".parse().unwrap()));
    let id = morag
        .assess_wellbeing(
            KAI,
            Indicator::Safe,
            &AssessmentInput {
                score: 4,
                strengths: Some("Gran checks in every evening".into()),
                concerns: Some("Arguments at home at night".into()),
                note: String::new(),
            },
        )
        .unwrap();
    let now = line(&mut morag, Indicator::Safe);
    assert_eq!(now.now, Some(4));
    assert_eq!(now.before, Some(5), "the last review's value is unchanged");
    assert_eq!(now.now_by, Some(MORAG));
    assert_eq!(now.now_by_name.as_deref(), Some("Morag Fraser"));
    assert_eq!(now.now_agency, Some(Agency::SocialWork));
    assert_eq!(now.now_on, Some(IsoDate::today()));
    assert_eq!(now.strengths, "Gran checks in every evening");
    assert_eq!(now.concerns, "Arguments at home at night");
    // The earlier ratings are all still in the plan.
    let plan: PlanDoc = read_document(
        morag.document(&DocKey::Plan(KAI)).unwrap().unwrap(),
        &DocKey::Plan(KAI),
    )
    .unwrap();
    assert_eq!(plan.wellbeing.safe.ratings.len(), 3);
    assert_eq!(plan.wellbeing.safe.ratings[&id].by, MORAG);
}

#[test]
fn bad_ratings_and_young_people_are_refused_and_nothing_is_saved() {
    let (_d, mut morag) = device("Morag");
    let unsynced = morag.unsynced_changes().unwrap();
    for score in [0, 11] {
        let err = morag
            .assess_wellbeing(
                KAI,
                Indicator::Safe,
                &AssessmentInput {
                    score,
                    ..AssessmentInput::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                ServiceError::BadInput {
                    field: "rating",
                    ..
                }
            ),
            "{err}"
        );
    }
    assert_eq!(morag.unsynced_changes().unwrap(), unsynced);

    let (_k, mut kai) = device("Kai");
    let err = kai
        .assess_wellbeing(
            KAI,
            Indicator::Achieving,
            &AssessmentInput {
                score: 9,
                ..AssessmentInput::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, ServiceError::BadInput { .. }), "{err}");
    let err = kai
        .record_review(KAI, &review(IsoDate::today(), None))
        .unwrap_err();
    // The young person holds only their own copy: the team's plan is not
    // theirs to write at all.
    assert_eq!(refused_rule(&err), Some(Rule::WriteScope), "{err}");
    let err = kai.edit_my_world(KAI, "a", "b", "c").unwrap_err();
    assert_eq!(refused_rule(&err), Some(Rule::WriteScope), "{err}");
    assert_eq!(kai.unsynced_changes().unwrap(), 0, "nothing was kept");
}

#[test]
fn two_agencies_rating_at_once_offline_keep_both_ratings() {
    let (_m, mut morag) = device("Morag");
    let (_d, mut david) = device("David");
    let m = morag
        .assess_wellbeing(
            KAI,
            Indicator::Achieving,
            &AssessmentInput {
                score: 4,
                ..AssessmentInput::default()
            },
        )
        .unwrap();
    let d = david
        .assess_wellbeing(
            KAI,
            Indicator::Achieving,
            &AssessmentInput {
                score: 6,
                concerns: Some("Maths is still hard".into()),
                ..AssessmentInput::default()
            },
        )
        .unwrap();
    share(&mut morag, &mut david);
    share(&mut david, &mut morag);
    for c in [&mut morag, &mut david] {
        let plan: PlanDoc = read_document(
            c.document(&DocKey::Plan(KAI)).unwrap().unwrap(),
            &DocKey::Plan(KAI),
        )
        .unwrap();
        let ratings = &plan.wellbeing.achieving.ratings;
        assert_eq!(ratings[&m].score, 4);
        assert_eq!(ratings[&m].agency, Agency::SocialWork);
        assert_eq!(ratings[&d].score, 6);
        assert_eq!(ratings[&d].by, DAVID);
        assert_eq!(ratings[&d].agency, Agency::Education);
        assert_eq!(ratings.len(), 4, "the demo's two and both new ones");
        assert_eq!(
            plan.wellbeing.achieving.concerns.as_str(),
            "Maths is still hard"
        );
    }
    // Both devices show the same latest rating.
    assert_eq!(
        line(&mut morag, Indicator::Achieving).now,
        line(&mut david, Indicator::Achieving).now
    );
}

#[test]
fn needs_are_added_edited_and_closed_and_stay_on_the_page() {
    let (_d, mut morag) = device("Morag");
    let id = morag
        .add_need(
            KAI,
            "Kai needs to feel safe at home at night",
            "Kai sleeps through most nights",
            "What Kai and mum say",
            &[Indicator::Safe, Indicator::Healthy],
        )
        .unwrap();
    morag
        .edit_need(
            KAI,
            id,
            &NeedInput {
                need: "Kai needs to feel safe and settled at night".into(),
                desired_outcome: "Kai sleeps through most nights by March".into(),
                evidence: "What Kai and mum say; school notes tiredness less".into(),
                indicators: vec![Indicator::Safe],
            },
        )
        .unwrap();
    let need = morag
        .child(KAI)
        .unwrap()
        .needs
        .into_iter()
        .find(|n| n.id == id)
        .unwrap();
    assert_eq!(need.need, "Kai needs to feel safe and settled at night");
    assert_eq!(
        need.desired_outcome,
        "Kai sleeps through most nights by March"
    );
    assert_eq!(need.indicators, vec![Indicator::Safe]);
    assert!(need.closed.is_none());

    let err = morag.close_need(KAI, id, "  ").unwrap_err();
    assert!(matches!(err, ServiceError::BadInput { .. }), "{err}");
    morag.close_need(KAI, id, "Outcome reached").unwrap();
    let page = morag.child(KAI).unwrap();
    let closed = page.needs.iter().find(|n| n.id == id).unwrap();
    let c = closed.closed.as_ref().unwrap();
    assert_eq!(c.reason, "Outcome reached");
    assert_eq!(c.by, MORAG);
    assert_eq!(c.by_name, "Morag Fraser");
    assert!(
        page.needs.last().unwrap().closed.is_some(),
        "closed needs come after the open ones"
    );
    assert!(morag.close_need(KAI, id, "again").is_err());
    morag.reopen_need(KAI, id).unwrap();
    let need = morag
        .child(KAI)
        .unwrap()
        .needs
        .into_iter()
        .find(|n| n.id == id);
    assert!(need.unwrap().closed.is_none());
}

#[test]
fn my_world_is_edited_and_shown() {
    let (_d, mut morag) = device("Morag");
    morag
        .edit_my_world(
            KAI,
            "Growing fast; sleeping better since October.",
            "Mum wants help with mornings.",
            "Gran nearby; football club.",
        )
        .unwrap();
    let page = morag.child(KAI).unwrap();
    assert_eq!(
        page.my_world,
        [
            "Growing fast; sleeping better since October.".to_owned(),
            "Mum wants help with mornings.".to_owned(),
            "Gran nearby; football club.".to_owned(),
        ]
    );
}

#[test]
fn a_review_moves_the_last_review_and_sets_the_next_date() {
    let (_d, mut morag) = device("Morag");
    morag
        .assess_wellbeing(
            KAI,
            Indicator::Safe,
            &AssessmentInput {
                score: 4,
                ..AssessmentInput::default()
            },
        )
        .unwrap();
    assert_eq!(line(&mut morag, Indicator::Safe).before, Some(5));
    let today = IsoDate::today();
    let next = today.plus_days(90);
    let id = morag
        .record_review(KAI, &review(today, Some(next)))
        .unwrap();
    let page = morag.child(KAI).unwrap();
    let last = page.last_review.as_ref().unwrap();
    assert_eq!(last.id, id);
    assert_eq!(last.held_on, today);
    assert_eq!(
        last.attended,
        ["Morag Fraser", "Lisa (mum)", "Kai"].map(String::from)
    );
    assert_eq!(last.plan_changes, "Mr Reid will meet you on Fridays too.");
    assert_eq!(page.reviews.len(), 2, "the demo's review and this one");
    assert_eq!(page.review_date, Some(next), "--next sets the review date");
    // The wheel's "last review" is now today: today's 4 is that value.
    let safe = line(&mut morag, Indicator::Safe);
    assert_eq!((safe.now, safe.before), (Some(4), Some(4)));
    assert_eq!(safe.last_review, Some(today));

    // Bad input is refused and nothing saved.
    for (bad, field) in [
        (review(today.plus_days(1), None), "held"),
        (review(today, Some(today)), "next"),
        (
            ReviewInput {
                attended: vec![],
                ..review(today, None)
            },
            "attended",
        ),
    ] {
        let err = morag.record_review(KAI, &bad).unwrap_err();
        assert!(
            matches!(&err, ServiceError::BadInput { field: f, .. } if *f == field),
            "{err}"
        );
    }
    assert_eq!(morag.child(KAI).unwrap().reviews.len(), 2);
}

#[test]
fn a_review_clears_the_review_due_flag_on_every_device_after_sync() {
    let (_m, morag) = device("Morag");
    let (_d, david) = device("David");
    let mut morag = morag.with_settings(Settings::default());
    let mut david = david.with_settings(Settings::default());
    let due = |c: &Client| {
        c.caseload(None)
            .unwrap()
            .into_iter()
            .find(|e| e.child == KAI)
            .unwrap()
            .flags
            .review_due
    };
    // The review date has passed; the demo's review (July) was before it.
    let today = IsoDate::today();
    morag
        .set_review_date(KAI, Some(today.plus_days(-3)))
        .unwrap();
    share(&mut morag, &mut david);
    assert!(due(&morag) && due(&david), "the review is due");

    // Held today, without a next date: the review that was due was held.
    morag.record_review(KAI, &review(today, None)).unwrap();
    assert!(!due(&morag), "cleared on the device that recorded it");
    assert!(due(&david), "not yet synced");
    share(&mut morag, &mut david);
    assert!(!due(&david), "cleared on the other device after sync");
    let entry = david
        .caseload(None)
        .unwrap()
        .into_iter()
        .find(|e| e.child == KAI)
        .unwrap();
    assert_eq!(entry.last_review, Some(today));
    assert_eq!(entry.review_date, Some(today.plus_days(-3)));

    // A new review date in the window flags it again until the next review.
    morag
        .set_review_date(KAI, Some(today.plus_days(30)))
        .unwrap();
    assert!(!due(&morag), "30 days away is not due yet");
}

#[test]
fn review_due_counts_a_review_held_in_the_window_before_the_date() {
    use bothy_client::services::review_due;
    let d = |s: &str| s.parse::<IsoDate>().unwrap();
    let date = Some(d("2026-03-20"));
    // Not in the window yet.
    assert!(!review_due(date, None, d("2026-03-01"), 14));
    // In the window, and past.
    assert!(review_due(date, None, d("2026-03-06"), 14));
    assert!(review_due(date, Some(d("2026-01-10")), d("2026-04-01"), 14));
    // A review held a little early, on the day, or late clears it.
    assert!(!review_due(
        date,
        Some(d("2026-03-06")),
        d("2026-03-10"),
        14
    ));
    assert!(!review_due(
        date,
        Some(d("2026-03-20")),
        d("2026-03-25"),
        14
    ));
    assert!(!review_due(
        date,
        Some(d("2026-04-02")),
        d("2026-04-03"),
        14
    ));
    // No date, nothing due.
    assert!(!review_due(None, None, d("2026-04-03"), 14));
}

#[test]
fn the_young_person_reads_the_last_review_in_plain_words() {
    let (_m, mut morag) = device("Morag");
    let (_k, mut kai) = device("Kai");
    let today = IsoDate::today();
    morag
        .record_review(KAI, &review(today, Some(today.plus_days(60))))
        .unwrap();
    as_the_server_copies_for_kai(&mut morag, &mut kai);
    let plan = kai.my_plan().unwrap();
    let last = plan.last_review.unwrap();
    assert_eq!(last.met_on, today);
    assert_eq!(last.what_changed, "Mr Reid will meet you on Fridays too.");
    assert_eq!(last.what_i_said, "I want to stay at my school");
    assert_eq!(plan.next_review, Some(today.plus_days(60)));
}

// ------------------------------------------------------------ moving on (issue 15)

fn moving_on(plan: &str) -> bothy_client::services::TransitionInput {
    bothy_client::services::TransitionInput {
        needed: true,
        services: vec![Agency::AdultSocialWork, Agency::Housing, Agency::Housing],
        plan: plan.to_owned(),
        start_by: Some("2027-03-01".parse().unwrap()),
    }
}

fn flagged(c: &Client, child: bothy_shared::ids::ChildId) -> bool {
    c.caseload(None)
        .unwrap()
        .into_iter()
        .find(|e| e.child == child)
        .unwrap()
        .flags
        .no_transition_plan
}

#[test]
fn a_young_person_of_15_without_a_transition_plan_is_flagged_until_the_team_writes_one() {
    use bothy_shared::demo::{ELLIE, RUARIDH, SKYE};
    let (_m, mut morag) = device("Morag");
    // Skye is 15 with nothing recorded; Ruaridh (16) has a plan; Ellie is 3.
    assert!(flagged(&morag, SKYE));
    assert!(!flagged(&morag, RUARIDH));
    assert!(!flagged(&morag, ELLIE));
    let page = morag.child(SKYE).unwrap();
    assert!(page.no_transition_plan && page.transition.is_none());

    // Needed, with services but no plan written: still no transition plan.
    morag.set_transition(SKYE, &moving_on("  ")).unwrap();
    assert!(flagged(&morag, SKYE));
    let t = morag.child(SKYE).unwrap().transition.unwrap();
    assert!(t.needed);
    assert_eq!(
        t.services,
        [Agency::AdultSocialWork, Agency::Housing],
        "once each"
    );
    assert_eq!(t.recorded_by_name.as_deref(), Some("Morag Fraser"));

    morag
        .set_transition(SKYE, &moving_on("Meet the adult carers' team in March"))
        .unwrap();
    assert!(!flagged(&morag, SKYE));
    let page = morag.child(SKYE).unwrap();
    assert!(!page.no_transition_plan);
    let t = page.transition.unwrap();
    assert_eq!(t.plan, "Meet the adult carers' team in March");
    assert_eq!(t.start_by, Some("2027-03-01".parse().unwrap()));
    assert_eq!(t.who_will_help(), ["Adult social work", "Housing"]);

    // Recorded as not needed is a transition plan too, and keeps the words.
    let no = bothy_client::services::TransitionInput {
        needed: false,
        ..moving_on("Meet the adult carers' team in March")
    };
    morag.set_transition(SKYE, &no).unwrap();
    assert!(!flagged(&morag, SKYE));
    let t = morag.transition(SKYE).unwrap();
    assert!(!t.needed && t.has_plan());
    assert_eq!(t.plan.as_str(), "Meet the adult carers' team in March");
}

#[test]
fn moving_on_reaches_another_agency_and_the_young_persons_my_plan_unless_withheld() {
    let (_m, mut morag) = device("Morag");
    let (_d, mut david) = device("David");
    let (_k, mut kai) = device("Kai");
    assert_eq!(kai.my_plan().unwrap().moving_on, None, "nothing needed yet");
    morag
        .set_transition(KAI, &moving_on("Visit the college with David"))
        .unwrap();
    share(&mut morag, &mut david);
    let t = david.child(KAI).unwrap().transition.unwrap();
    assert_eq!(t.plan, "Visit the college with David");

    as_the_server_copies_for_kai(&mut morag, &mut kai);
    let mine = kai.my_plan().unwrap().moving_on.unwrap();
    assert_eq!(mine.plan, "Visit the college with David");
    assert_eq!(mine.who_will_help, ["Adult social work", "Housing"]);
    assert_eq!(mine.starting_by, Some("2027-03-01".parse().unwrap()));

    morag
        .withhold(KAI, "transition", "Not yet agreed with mum")
        .unwrap();
    as_the_server_copies_for_kai(&mut morag, &mut kai);
    let plan = kai.my_plan().unwrap();
    assert_eq!(plan.moving_on, None);
    assert!(plan.some_private);
    let copy: PlanDoc = read_document(
        kai.document(&DocKey::Young(KAI, 1)).unwrap().unwrap(),
        &DocKey::Young(KAI, 1),
    )
    .unwrap();
    assert_eq!(copy.transition, TransitionPlan::default());
}

#[test]
fn the_young_person_and_a_supervisor_outside_the_team_cannot_write_moving_on() {
    let (_k, mut kai) = device("Kai");
    let (_f, mut fiona) = device("Fiona");
    let e = kai.set_transition(KAI, &moving_on("mine")).unwrap_err();
    assert!(matches!(e, ServiceError::Denied(_)), "{e:?}");
    let e = fiona.set_transition(KAI, &moving_on("hers")).unwrap_err();
    assert_eq!(refused_rule(&e), Some(Rule::SupervisorReviewOnly), "{e:?}");
    assert!(fiona.unsynced_changes().unwrap() == 0, "nothing kept");
}
