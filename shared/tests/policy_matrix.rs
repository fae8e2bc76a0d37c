//! The access policy, table-driven: every role x every document kind x read,
//! write and the field-level rules of the change gate, with real Automerge
//! changes made the way a device makes them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is a failed test

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{Automerge, Change, ObjType, ROOT, ReadDoc};
use bothy_shared::demo::{self, KAI};
use bothy_shared::docs::*;
use bothy_shared::gate::{GateError, check_changes};
use bothy_shared::ids::{Agency, DeviceId, ItemId, PersonId};
use bothy_shared::policy::{AccessPolicy, ChildTeam, PersonKind, Principal, Rule};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    LeadProfessionalSocialWork,
    NamedPersonEducation,
    ThirdSectorMember,
    HealthOutsideTeam,
    PoliceOutsideTeam,
    SupervisorOfTeam,
    SupervisorOfOthers,
    YoungPerson,
    RevokedDevice,
}

const ROLES: [Role; 9] = [
    Role::LeadProfessionalSocialWork,
    Role::NamedPersonEducation,
    Role::ThirdSectorMember,
    Role::HealthOutsideTeam,
    Role::PoliceOutsideTeam,
    Role::SupervisorOfTeam,
    Role::SupervisorOfOthers,
    Role::YoungPerson,
    Role::RevokedDevice,
];

struct World {
    team: ChildTeam,
    docs: BTreeMap<DocKey, Automerge>,
    principals: BTreeMap<Role, Principal>,
}

fn world() -> World {
    let demo = demo::partnership();
    let kai = demo.child("Kai").unwrap().clone();
    let docs = kai
        .documents(&demo::server_actor())
        .unwrap()
        .into_iter()
        .collect();
    let p = |name: &str| demo.person(name).unwrap().principal(DeviceId::random());
    let mut principals = BTreeMap::new();
    principals.insert(Role::LeadProfessionalSocialWork, p("Morag"));
    principals.insert(Role::NamedPersonEducation, p("David"));
    principals.insert(Role::ThirdSectorMember, p("Priya"));
    principals.insert(Role::HealthOutsideTeam, p("Aileen"));
    principals.insert(Role::PoliceOutsideTeam, p("Iain"));
    principals.insert(Role::SupervisorOfTeam, p("Fiona"));
    principals.insert(
        Role::SupervisorOfOthers,
        Principal {
            person: PersonId::random(),
            agency: Some(Agency::Health),
            kind: PersonKind::Supervisor,
            device: DeviceId::random(),
            device_revoked: false,
            supervises: [demo::AILEEN, demo::IAIN].into_iter().collect(),
        },
    );
    principals.insert(Role::YoungPerson, p("Kai"));
    let mut revoked = p("Morag");
    revoked.device_revoked = true;
    principals.insert(Role::RevokedDevice, revoked);
    World {
        team: kai.team,
        docs,
        principals,
    }
}

fn keys() -> [DocKey; 8] {
    [
        DocKey::Plan(KAI),
        DocKey::Record(KAI),
        DocKey::Agency(KAI, Agency::SocialWork),
        DocKey::Agency(KAI, Agency::Education),
        DocKey::Agency(KAI, Agency::ThirdSector),
        DocKey::Agency(KAI, Agency::Police), // no police in Kai's team
        DocKey::Young(KAI, 1),               // Kai's copy of the plan, the current generation
        DocKey::Young(KAI, 2),               // a generation not made yet
    ]
}

#[test]
fn who_may_read_and_write_each_document() {
    use Role::*;
    // (role, [plan, record, agency sw, agency edu, agency third sector,
    // agency police, young/1, young/2]) for read, then write
    let table: &[(Role, [bool; 8], [bool; 8])] = &[
        (
            LeadProfessionalSocialWork,
            [true, true, true, false, false, false, false, false],
            [true, true, true, false, false, false, false, false],
        ),
        (
            NamedPersonEducation,
            [true, true, false, true, false, false, false, false],
            [true, true, false, true, false, false, false, false],
        ),
        (
            ThirdSectorMember,
            [true, true, false, false, true, false, false, false],
            [true, true, false, false, true, false, false, false],
        ),
        (HealthOutsideTeam, [false; 8], [false; 8]),
        (PoliceOutsideTeam, [false; 8], [false; 8]),
        // Fiona supervises Morag (social work) and Priya (third sector): reads
        // the plan, writes supervision reviews in the records and (the gate's
        // business) only the withheld markers in the plan.
        (
            SupervisorOfTeam,
            [true, true, true, false, true, false, false, false],
            [true, true, true, false, true, false, false, false],
        ),
        (SupervisorOfOthers, [false; 8], [false; 8]),
        // Kai reads and writes his copy of the plan, never the plan itself.
        (
            YoungPerson,
            [false, false, false, false, false, false, true, false],
            [false, false, false, false, false, false, true, false],
        ),
        (RevokedDevice, [false; 8], [false; 8]),
    ];
    assert_eq!(table.len(), ROLES.len(), "every role is in the table");
    let w = world();
    let mut checked = 0;
    for (role, reads, writes) in table {
        let p = &w.principals[role];
        for (i, key) in keys().iter().enumerate() {
            let read = AccessPolicy::can_read(p, key, &w.team);
            let write = AccessPolicy::can_write(p, key, &w.team);
            assert_eq!(read.is_ok(), reads[i], "{role:?} read {key}: {read:?}");
            assert_eq!(write.is_ok(), writes[i], "{role:?} write {key}: {write:?}");
            if let Err(d) = read {
                let expected = if *role == RevokedDevice {
                    Rule::RevokedDevice
                } else {
                    Rule::ReadScope
                };
                assert_eq!(d.rule, expected);
            }
            checked += 2;
        }
        let readable = AccessPolicy::readable(p, &w.team);
        let expected: Vec<DocKey> = keys()
            .iter()
            .zip(reads)
            .filter(|(_, r)| **r)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(readable, expected, "{role:?} readable");
    }
    println!("policy matrix: {checked} read/write decisions checked");
}

#[test]
fn after_a_new_generation_the_young_person_reads_only_it_and_may_still_write_the_old() {
    let w = world();
    let kai = &w.principals[&Role::YoungPerson];
    let mut team = w.team.clone();
    team.young_copy = Some(2);
    let (old, new) = (DocKey::Young(KAI, 1), DocKey::Young(KAI, 2));
    assert_eq!(
        AccessPolicy::can_read(kai, &old, &team).unwrap_err().rule,
        Rule::ReadScope
    );
    assert!(AccessPolicy::can_write(kai, &old, &team).is_ok());
    assert!(AccessPolicy::can_read(kai, &new, &team).is_ok());
    assert_eq!(AccessPolicy::readable(kai, &team), vec![new]);
    // Nobody else reads either.
    let morag = &w.principals[&Role::LeadProfessionalSocialWork];
    assert!(AccessPolicy::can_read(morag, &new, &team).is_err());
    assert!(AccessPolicy::can_write(morag, &old, &team).is_err());
}

#[test]
fn a_team_for_another_child_grants_nothing() {
    let w = world();
    let morag = &w.principals[&Role::LeadProfessionalSocialWork];
    let other = DocKey::Plan(bothy_shared::ids::ChildId::random());
    assert_eq!(
        AccessPolicy::can_read(morag, &other, &w.team)
            .unwrap_err()
            .rule,
        Rule::ReadScope
    );
    assert_eq!(
        AccessPolicy::can_write(morag, &other, &w.team)
            .unwrap_err()
            .rule,
        Rule::WriteScope
    );
}

// ---- field-level rules, through real changes ----

type PlanEdit = Box<dyn Fn(&mut PlanDoc, PersonId)>;
type RecordEdit = Box<dyn Fn(&mut RecordDoc, PersonId)>;
type RawEdit = Box<dyn Fn(&mut automerge::transaction::Transaction<'_>, &Automerge)>;

enum Edit {
    Plan(PlanEdit),
    Record(RecordEdit),
    /// Raw Automerge operations, for what no honest client would write.
    Raw(RawEdit),
}

/// Make the change on the principal's device exactly as a client would.
fn make_change(before: &Automerge, key: &DocKey, p: &Principal, edit: &Edit) -> Vec<Change> {
    let actor = p.device.actor_id();
    match edit {
        Edit::Plan(f) => {
            change_document::<PlanDoc, _>(before, key, &actor, "edit", |d| f(d, p.person))
                .unwrap()
                .change
                .into_iter()
                .collect()
        }
        Edit::Record(f) => {
            change_document::<RecordDoc, _>(before, key, &actor, "edit", |d| f(d, p.person))
                .unwrap()
                .change
                .into_iter()
                .collect()
        }
        Edit::Raw(f) => {
            let mut doc = before.clone().with_actor(actor);
            let heads = doc.get_heads();
            let mut tx = doc.transaction();
            f(&mut tx, before);
            tx.commit();
            doc.get_changes(&heads)
        }
    }
}

fn iid(n: u128) -> ItemId {
    ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_0000 | n,
    ))
}
const ACTION: u128 = 11;
const YP_VIEW: u128 = 20;
const FAMILY_VIEW: u128 = 21;
const FINALISED_VISIT: u128 = 30;
const SW_DRAFT_VISIT: u128 = 40;

fn view(id: ItemId, author: PersonId, words: &str) -> ViewEntry {
    ViewEntry {
        id,
        about: "overall".into(),
        words: Text::with_value(words),
        said_by: "Kai".into(),
        author,
        at: Timestamp(1),
    }
}

fn new_visit(id: ItemId, author: PersonId, agency: Agency, sharing: Sharing) -> Visit {
    Visit {
        id,
        at: Timestamp(1_700_000_000_000),
        place: "School".into(),
        kind: VisitKind::School,
        practitioner: author,
        practitioner_name: "someone".into(),
        agency,
        present: vec![],
        child_seen: true,
        seen_alone: false,
        observations: Text::with_value("obs"),
        analysis: Text::default(),
        child_said: Text::default(),
        next_steps: Text::default(),
        linked_actions: vec![],
        sharing,
        significant: false,
        finalised: None,
        addenda: BTreeMap::new(),
    }
}

fn voice(id: ItemId, by: PersonId, agency: Agency, consent: bool) -> FamilyVoice {
    FamilyVoice {
        id,
        at: Timestamp(1_767_225_600_000),
        said_by: "Kai".into(),
        voice_of: VoiceOf::Child,
        own_words: Text::with_value("I don't want Dad to know where I go to football."),
        scale_question: String::new(),
        scale: None,
        worries: Text::default(),
        good_things: Text::default(),
        dreams: Text::default(),
        consent_to_share: consent,
        recorded_by: by,
        agency,
        from_visit: None,
    }
}

fn addendum(id: ItemId, by: PersonId) -> Addendum {
    Addendum {
        id,
        by,
        by_name: "x".into(),
        agency: Agency::Education,
        at: Timestamp(2),
        reason: "date was wrong".into(),
        text: Text::with_value("The visit was on Tuesday."),
    }
}

fn review(id: ItemId, reviewer: PersonId, countersigned: bool) -> SupervisionReview {
    SupervisionReview {
        id,
        reviewer,
        reviewer_name: "Fiona MacLeod".into(),
        at: Timestamp(3),
        reviewed: BTreeMap::new(),
        comments: Text::with_value("Good engagement with mum."),
        decision: "continue plan".into(),
        countersigned,
    }
}

struct Case {
    name: &'static str,
    role: Role,
    key: DocKey,
    /// Changes made first (by the given role) and accepted into the document before the case runs.
    setup: Option<(Role, Edit)>,
    edit: Edit,
    expect: Result<(), Rule>,
}

fn obj(doc: &Automerge, path: &[&str]) -> automerge::ObjId {
    let mut o = ROOT;
    for p in path {
        o = doc.get(&o, *p).unwrap().unwrap().1;
    }
    o
}

fn cases() -> Vec<Case> {
    use Role::*;
    let plan = DocKey::Plan(KAI);
    let young = DocKey::Young(KAI, 1);
    let record = DocKey::Record(KAI);
    let sw = DocKey::Agency(KAI, Agency::SocialWork);
    let new_id = iid(900);
    let marker = move |by: PersonId| WithheldMarker {
        id: new_id,
        section: "my_world".into(),
        by,
        at: Timestamp(2),
        reason: "Waiting for the assessment".into(),
    };
    vec![
        Case {
            name: "the lead professional withholds a part of the plan",
            role: LeadProfessionalSocialWork,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.withheld.insert(new_id, marker(me));
            })),
            expect: Ok(()),
        },
        Case {
            name: "a supervisor outside the team withholds a part of the plan",
            role: SupervisorOfTeam,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.withheld.insert(new_id, marker(me));
            })),
            expect: Ok(()),
        },
        Case {
            name: "a team member who does not lead cannot withhold",
            role: NamedPersonEducation,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.withheld.insert(new_id, marker(me));
            })),
            expect: Err(Rule::WithholdLeadOrSupervisor),
        },
        Case {
            name: "a team member who does not lead cannot lift a withholding",
            role: NamedPersonEducation,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.withheld.clear();
            })),
            expect: Err(Rule::WithholdLeadOrSupervisor),
        },
        Case {
            name: "the lead professional cannot withhold in someone else's name",
            role: LeadProfessionalSocialWork,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, _| {
                d.withheld.insert(new_id, marker(demo::DAVID));
            })),
            expect: Err(Rule::AuthorIsSelf),
        },
        Case {
            name: "a supervisor outside the team cannot edit the rest of the plan",
            role: SupervisorOfTeam,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.reason.update("changed");
            })),
            expect: Err(Rule::SupervisorReviewOnly),
        },
        Case {
            name: "young person adds what they think",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.young_person_views
                    .insert(new_id, view(new_id, me, "I want to do joinery"));
            })),
            expect: Ok(()),
        },
        Case {
            name: "young person edits their own earlier view",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.young_person_views
                    .get_mut(&iid(YP_VIEW))
                    .unwrap()
                    .words
                    .update("School is better now");
            })),
            expect: Ok(()),
        },
        Case {
            name: "young person cannot edit an action",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.action_mut(iid(ACTION)).unwrap().status = ActionStatus::Done;
            })),
            expect: Err(Rule::YoungPersonOwnViewsOnly),
        },
        Case {
            name: "young person cannot edit the family's views",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.family_views
                    .get_mut(&iid(FAMILY_VIEW))
                    .unwrap()
                    .words
                    .update("no");
            })),
            expect: Err(Rule::YoungPersonOwnViewsOnly),
        },
        Case {
            name: "young person cannot change the review date",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.review_date = None;
            })),
            expect: Err(Rule::YoungPersonOwnViewsOnly),
        },
        Case {
            name: "young person cannot add a view in someone else's name",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, _| {
                d.young_person_views
                    .insert(new_id, view(new_id, demo::MORAG, "forged"));
            })),
            expect: Err(Rule::AuthorIsSelf),
        },
        Case {
            name: "team member updates an action's status and progress",
            role: NamedPersonEducation,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                let a = d.action_mut(iid(ACTION)).unwrap();
                a.status = ActionStatus::Done;
                a.progress.update("Kai at 92%");
            })),
            expect: Ok(()),
        },
        Case {
            name: "team member rates wellbeing",
            role: ThirdSectorMember,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.wellbeing.safe.ratings.insert(
                    new_id,
                    Rating {
                        id: new_id,
                        score: 7,
                        on: "2026-11-20".parse().unwrap(),
                        by: me,
                        agency: Agency::ThirdSector,
                        recorded_at: Timestamp(5),
                        note: String::new(),
                    },
                );
            })),
            expect: Ok(()),
        },
        Case {
            name: "a rating out of range leaves the plan invalid",
            role: ThirdSectorMember,
            key: plan,
            setup: None,
            edit: Edit::Raw(Box::new(|tx, doc| {
                let r = obj(doc, &["wellbeing", "safe", "ratings"]);
                let id = doc.keys(&r).next().unwrap();
                let o = obj(doc, &["wellbeing", "safe", "ratings", &id]);
                tx.put(&o, "score", 11_u64).unwrap();
            })),
            expect: Err(Rule::InvalidDocument),
        },
        Case {
            name: "practitioner cannot rewrite the young person's words",
            role: LeadProfessionalSocialWork,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.young_person_views
                    .get_mut(&iid(YP_VIEW))
                    .unwrap()
                    .words
                    .update("School is fine");
            })),
            expect: Err(Rule::OwnWordsAuthorOnly),
        },
        Case {
            name: "practitioner edits the family's words they wrote down",
            role: LeadProfessionalSocialWork,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.family_views
                    .get_mut(&iid(FAMILY_VIEW))
                    .unwrap()
                    .words
                    .update("I want Kai back at school.");
            })),
            expect: Ok(()),
        },
        Case {
            name: "nobody edits a finalised visit",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.visits
                    .get_mut(&iid(FINALISED_VISIT))
                    .unwrap()
                    .observations
                    .update("changed after the fact");
            })),
            expect: Err(Rule::FinalisedVisitAddendumOnly),
        },
        Case {
            name: "nobody un-finalises a visit",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.visits.get_mut(&iid(FINALISED_VISIT)).unwrap().finalised = None;
            })),
            expect: Err(Rule::FinalisedVisitAddendumOnly),
        },
        Case {
            name: "nobody deletes a finalised visit",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.visits.remove(&iid(FINALISED_VISIT));
            })),
            expect: Err(Rule::FinalisedVisitAddendumOnly),
        },
        Case {
            name: "an edit that restores the old value is still an edit of a finalised visit",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Raw(Box::new(|tx, doc| {
                let v = obj(doc, &["visits", &iid(FINALISED_VISIT).to_string()]);
                tx.put(&v, "place", "Somewhere else").unwrap();
                tx.put(&v, "place", "Home").unwrap();
            })),
            expect: Err(Rule::FinalisedVisitAddendumOnly),
        },
        Case {
            name: "a team member adds an addendum to a finalised visit",
            role: NamedPersonEducation,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(move |d, me| {
                d.visits
                    .get_mut(&iid(FINALISED_VISIT))
                    .unwrap()
                    .addenda
                    .insert(new_id, addendum(new_id, me));
            })),
            expect: Ok(()),
        },
        Case {
            name: "an addendum must be in your own name",
            role: NamedPersonEducation,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(move |d, _| {
                d.visits
                    .get_mut(&iid(FINALISED_VISIT))
                    .unwrap()
                    .addenda
                    .insert(new_id, addendum(new_id, demo::MORAG));
            })),
            expect: Err(Rule::AuthorIsSelf),
        },
        Case {
            name: "a shared addendum is not edited",
            role: NamedPersonEducation,
            key: record,
            setup: Some((
                NamedPersonEducation,
                Edit::Record(Box::new(move |d, me| {
                    d.visits
                        .get_mut(&iid(FINALISED_VISIT))
                        .unwrap()
                        .addenda
                        .insert(new_id, addendum(new_id, me));
                })),
            )),
            edit: Edit::Record(Box::new(move |d, _| {
                d.visits
                    .get_mut(&iid(FINALISED_VISIT))
                    .unwrap()
                    .addenda
                    .get_mut(&new_id)
                    .unwrap()
                    .text
                    .update("edited");
            })),
            expect: Err(Rule::FinalisedVisitAddendumOnly),
        },
        Case {
            name: "the author edits their own draft visit",
            role: LeadProfessionalSocialWork,
            key: sw,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.visits
                    .get_mut(&iid(SW_DRAFT_VISIT))
                    .unwrap()
                    .analysis
                    .update("Debt is the main stressor.");
            })),
            expect: Ok(()),
        },
        Case {
            name: "only the author edits a draft visit",
            role: ThirdSectorMember,
            key: record,
            setup: Some((
                NamedPersonEducation,
                Edit::Record(Box::new(move |d, me| {
                    d.visits.insert(
                        new_id,
                        new_visit(new_id, me, Agency::Education, Sharing::Team),
                    );
                })),
            )),
            edit: Edit::Record(Box::new(move |d, _| {
                d.visits
                    .get_mut(&new_id)
                    .unwrap()
                    .observations
                    .update("not mine");
            })),
            expect: Err(Rule::DraftVisitAuthorOnly),
        },
        Case {
            name: "a new visit is recorded in your own name",
            role: ThirdSectorMember,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(move |d, _| {
                d.visits.insert(
                    new_id,
                    new_visit(new_id, demo::MORAG, Agency::SocialWork, Sharing::Team),
                );
            })),
            expect: Err(Rule::AuthorIsSelf),
        },
        Case {
            name: "a team visit cannot be stored in an agency record",
            role: LeadProfessionalSocialWork,
            key: sw,
            setup: None,
            edit: Edit::Raw(Box::new(move |tx, doc| {
                let v = obj(doc, &["visits", &iid(SW_DRAFT_VISIT).to_string()]);
                tx.put(&v, "sharing", "Team").unwrap();
            })),
            expect: Err(Rule::InvalidDocument),
        },
        Case {
            name: "a supervisor outside the team cannot write a visit",
            role: SupervisorOfTeam,
            key: sw,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.visits
                    .get_mut(&iid(SW_DRAFT_VISIT))
                    .unwrap()
                    .analysis
                    .update("manager note");
            })),
            expect: Err(Rule::SupervisorReviewOnly),
        },
        Case {
            name: "the team's supervisor writes a supervision review",
            role: SupervisorOfTeam,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(move |d, me| {
                d.supervision.insert(new_id, review(new_id, me, true));
            })),
            expect: Ok(()),
        },
        Case {
            name: "a practitioner cannot write a supervision review",
            role: NamedPersonEducation,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(move |d, me| {
                d.supervision.insert(new_id, review(new_id, me, false));
            })),
            expect: Err(Rule::SupervisionSupervisorsOnly),
        },
        Case {
            name: "a countersigned review is final",
            role: SupervisorOfTeam,
            key: record,
            setup: Some((
                SupervisorOfTeam,
                Edit::Record(Box::new(move |d, me| {
                    d.supervision.insert(new_id, review(new_id, me, true));
                })),
            )),
            edit: Edit::Record(Box::new(move |d, _| {
                d.supervision.get_mut(&new_id).unwrap().decision = "close".into();
            })),
            expect: Err(Rule::CountersignedReviewFinal),
        },
        Case {
            name: "family voice is changed only by whoever recorded it",
            role: NamedPersonEducation,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                let f = d.family_voice.values_mut().next().unwrap();
                f.scale = Some(9);
            })),
            expect: Err(Rule::OwnWordsAuthorOnly),
        },
        Case {
            name: "a family voice scale above 10 is invalid",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Raw(Box::new(|tx, doc| {
                let fv = obj(doc, &["family_voice"]);
                let id = doc.keys(&fv).next().unwrap();
                let o = obj(doc, &["family_voice", &id]);
                tx.put(&o, "scale", 11_u64).unwrap();
            })),
            expect: Err(Rule::InvalidDocument),
        },
        Case {
            name: "family voice without consent to share is refused in the team record",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(move |d, me| {
                d.family_voice
                    .insert(new_id, voice(new_id, me, Agency::SocialWork, false));
            })),
            expect: Err(Rule::ConsentToShare),
        },
        Case {
            name: "family voice without consent to share is kept in the recording agency's record",
            role: LeadProfessionalSocialWork,
            key: sw,
            setup: None,
            edit: Edit::Record(Box::new(move |d, me| {
                d.family_voice
                    .insert(new_id, voice(new_id, me, Agency::SocialWork, false));
            })),
            expect: Ok(()),
        },
        Case {
            name: "family voice with consent to share goes in the team record",
            role: NamedPersonEducation,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(move |d, me| {
                d.family_voice
                    .insert(new_id, voice(new_id, me, Agency::Education, true));
            })),
            expect: Ok(()),
        },
        Case {
            name: "consent cannot be taken off an entry left in the team record",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.family_voice.values_mut().next().unwrap().consent_to_share = false;
            })),
            expect: Err(Rule::ConsentToShare),
        },
        Case {
            name: "another agency cannot rewrite a chronology entry",
            role: ThirdSectorMember,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.chronology
                    .values_mut()
                    .next()
                    .unwrap()
                    .action
                    .update("Referral to family support; first visit 3 July.");
            })),
            expect: Err(Rule::AuthoringAgencyOnly),
        },
        Case {
            name: "another agency cannot delete a chronology entry",
            role: NamedPersonEducation,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| d.chronology.clear())),
            expect: Err(Rule::AuthoringAgencyOnly),
        },
        Case {
            name: "the recording agency changes its chronology entry",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.chronology
                    .values_mut()
                    .next()
                    .unwrap()
                    .action
                    .update("Referral to family support; first visit 3 July.");
            })),
            expect: Ok(()),
        },
        Case {
            name: "a supervisor of the recording agency changes its chronology entry",
            role: SupervisorOfTeam,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.chronology
                    .values_mut()
                    .next()
                    .unwrap()
                    .impact_note
                    .update("Attendance dropped sharply; now recovering.");
            })),
            expect: Ok(()),
        },
        Case {
            name: "a supervisor of the recording agency deletes its chronology entry",
            role: SupervisorOfTeam,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| d.chronology.clear())),
            expect: Ok(()),
        },
        Case {
            name: "another agency cannot rewrite withheld content",
            role: NamedPersonEducation,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.withheld
                    .values_mut()
                    .next()
                    .unwrap()
                    .content
                    .update("Nothing to withhold.");
            })),
            expect: Err(Rule::AuthoringAgencyOnly),
        },
        Case {
            name: "another agency cannot delete withheld content",
            role: ThirdSectorMember,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| d.withheld.clear())),
            expect: Err(Rule::AuthoringAgencyOnly),
        },
        Case {
            name: "the recording agency changes its withheld content",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Record(Box::new(|d, _| {
                d.withheld.values_mut().next().unwrap().reason =
                    "Sharing could put Kai at risk".into();
            })),
            expect: Ok(()),
        },
        Case {
            name: "the education agency changes the entry it recorded",
            role: NamedPersonEducation,
            key: record,
            setup: Some((
                Role::NamedPersonEducation,
                Edit::Record(Box::new(|d, me| {
                    let id = iid(950);
                    let was = d.chronology.values().next().unwrap();
                    let entry = ChronologyEntry {
                        id,
                        date: was.date,
                        until: None,
                        event: Text::with_value("Kai missed two weeks of school."),
                        source_agency: Agency::Education,
                        impact: was.impact,
                        impact_note: Text::default(),
                        action: Text::default(),
                        significance: was.significance,
                        recorded_by: me,
                        from_visit: None,
                    };
                    d.chronology.insert(id, entry);
                })),
            )),
            edit: Edit::Record(Box::new(|d, _| {
                d.chronology.get_mut(&iid(950)).unwrap().event.update("x");
            })),
            expect: Ok(()),
        },
        Case {
            name: "nobody replaces a document's sections",
            role: LeadProfessionalSocialWork,
            key: record,
            setup: None,
            edit: Edit::Raw(Box::new(|tx, _| {
                tx.put_object(ROOT, "visits", ObjType::Map).unwrap();
            })),
            expect: Err(Rule::DocumentStructure),
        },
        Case {
            name: "nobody changes the schema version",
            role: LeadProfessionalSocialWork,
            key: plan,
            setup: None,
            edit: Edit::Raw(Box::new(|tx, _| {
                tx.put(ROOT, "schema_version", 2_u64).unwrap();
            })),
            expect: Err(Rule::DocumentStructure),
        },
        Case {
            name: "team member edits the reason for the plan",
            role: LeadProfessionalSocialWork,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, _| {
                d.reason.update("Kai has missed a lot of school this year.");
            })),
            expect: Ok(()),
        },
        Case {
            name: "young person cannot rate wellbeing",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.wellbeing.achieving.ratings.insert(
                    new_id,
                    Rating {
                        id: new_id,
                        score: 9,
                        on: "2026-11-20".parse().unwrap(),
                        by: me,
                        agency: Agency::SocialWork,
                        recorded_at: Timestamp(5),
                        note: String::new(),
                    },
                );
            })),
            expect: Err(Rule::YoungPersonOwnViewsOnly),
        },
        Case {
            name: "young person cannot record a review meeting",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.reviews.insert(new_id, review_meeting(new_id, me));
            })),
            expect: Err(Rule::YoungPersonOwnViewsOnly),
        },
        Case {
            name: "team member records a review meeting",
            role: NamedPersonEducation,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, me| {
                d.reviews.insert(new_id, review_meeting(new_id, me));
            })),
            expect: Ok(()),
        },
        Case {
            name: "team member cannot record a review meeting in someone else's name",
            role: NamedPersonEducation,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(move |d, _| {
                d.reviews
                    .insert(new_id, review_meeting(new_id, demo::MORAG));
            })),
            expect: Err(Rule::AuthorIsSelf),
        },
        Case {
            name: "team member closes a need",
            role: ThirdSectorMember,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, me| {
                d.needs.values_mut().next().unwrap().closed = Some(NeedClosed {
                    at: Timestamp(6),
                    by: me,
                    reason: "Outcome reached".into(),
                });
            })),
            expect: Ok(()),
        },
        Case {
            name: "young person cannot close a need",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(|d, me| {
                d.needs.values_mut().next().unwrap().closed = Some(NeedClosed {
                    at: Timestamp(6),
                    by: me,
                    reason: "done".into(),
                });
            })),
            expect: Err(Rule::YoungPersonOwnViewsOnly),
        },
        Case {
            name: "team member records moving on (the transition section)",
            role: ThirdSectorMember,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, me| moving_on(&mut d.transition, me))),
            expect: Ok(()),
        },
        Case {
            name: "young person cannot write moving on in their copy",
            role: YoungPerson,
            key: young,
            setup: None,
            edit: Edit::Plan(Box::new(|d, me| moving_on(&mut d.transition, me))),
            expect: Err(Rule::YoungPersonOwnViewsOnly),
        },
        Case {
            name: "a supervisor outside the team cannot write moving on",
            role: SupervisorOfTeam,
            key: plan,
            setup: None,
            edit: Edit::Plan(Box::new(|d, me| moving_on(&mut d.transition, me))),
            expect: Err(Rule::SupervisorReviewOnly),
        },
    ]
}

/// A transition section as the "Moving on" form writes it.
fn moving_on(t: &mut TransitionPlan, me: PersonId) {
    t.needed = true;
    t.services = vec![Agency::AdultSocialWork, Agency::Housing];
    t.plan
        .update("Meet the adult social worker before his 16th birthday");
    t.start_by = Some("2027-03-01".parse().unwrap());
    t.recorded_by = Some(me);
    t.recorded_at = Some(Timestamp(8));
}

fn review_meeting(id: ItemId, by: PersonId) -> ReviewMeeting {
    ReviewMeeting {
        id,
        held_on: "2026-11-20".parse().unwrap(),
        attended: vec!["Morag Fraser".into(), "Lisa (mum)".into()],
        young_person_views: Text::with_value("I want to stay at my school"),
        family_views: Text::default(),
        decisions: Text::with_value("Keep the Monday meetings"),
        plan_changes: Text::with_value("Mr Reid meets Kai on Fridays too"),
        next_review: None,
        recorded_by: by,
        recorded_at: Timestamp(7),
    }
}

fn run(w: &World, case: &Case) -> Result<(), GateError> {
    let mut before = w.docs[&case.key].clone();
    if let Some((role, edit)) = &case.setup {
        let p = &w.principals[role];
        let changes = make_change(&before, &case.key, p, edit);
        before = check_changes(&case.key, &before, &changes, p, &w.team)
            .expect("setup change is allowed");
    }
    let p = &w.principals[&case.role];
    let changes = make_change(&before, &case.key, p, &case.edit);
    assert!(
        !changes.is_empty(),
        "{}: the edit made no change",
        case.name
    );
    check_changes(&case.key, &before, &changes, p, &w.team).map(|_| ())
}

#[test]
fn field_level_rules_hold_for_real_changes() {
    let w = world();
    let cases = cases();
    for case in &cases {
        let got = run(&w, case);
        match (&case.expect, &got) {
            (Ok(()), Ok(())) => {}
            (Err(rule), Err(GateError::Rejected(r))) => {
                assert_eq!(r.rule, *rule, "{}: {r}", case.name);
                // A rejection names the change and the path.
                assert_ne!(r.change.0, [0; 32], "{}", case.name);
                assert!(
                    !r.path.is_empty() || r.rule == Rule::ActorNotDevice,
                    "{}: no path in {r}",
                    case.name
                );
            }
            _ => panic!("{}: expected {:?}, got {got:?}", case.name, case.expect),
        }
    }
    println!("field-level cases: {}", cases.len());
}

#[test]
fn a_change_with_a_forged_actor_is_rejected() {
    let w = world();
    let key = DocKey::Plan(KAI);
    let morag = &w.principals[&Role::LeadProfessionalSocialWork];
    // David's device makes the change; Morag's device sends it.
    let david = &w.principals[&Role::NamedPersonEducation];
    let changes = make_change(
        &w.docs[&key],
        &key,
        david,
        &Edit::Plan(Box::new(|d, _| d.legal_status = "CSO".into())),
    );
    let err = check_changes(&key, &w.docs[&key], &changes, morag, &w.team).unwrap_err();
    assert_eq!(err.rule(), Some(Rule::ActorNotDevice), "{err}");
    let GateError::Rejected(r) = err else {
        panic!()
    };
    assert_eq!(r.change, changes[0].hash());
}

#[test]
fn denied_writers_and_revoked_devices_get_the_rule() {
    let w = world();
    let key = DocKey::Record(KAI);
    for (role, rule) in [
        (Role::RevokedDevice, Rule::RevokedDevice),
        (Role::HealthOutsideTeam, Rule::WriteScope),
        (Role::YoungPerson, Rule::WriteScope),
    ] {
        let p = &w.principals[&role];
        let changes = make_change(
            &w.docs[&key],
            &key,
            p,
            &Edit::Record(Box::new(|d, _| {
                d.chronology.values_mut().next().unwrap().event.update("x");
            })),
        );
        let err = check_changes(&key, &w.docs[&key], &changes, p, &w.team).unwrap_err();
        assert!(
            matches!(&err, GateError::Denied(d) if d.rule == rule),
            "{role:?}: {err}"
        );
    }
}

#[test]
fn a_batch_is_all_or_nothing() {
    let w = world();
    let key = DocKey::Record(KAI);
    let morag = &w.principals[&Role::LeadProfessionalSocialWork];
    let new_id = iid(901);
    let ok = make_change(
        &w.docs[&key],
        &key,
        morag,
        &Edit::Record(Box::new(move |d, me| {
            d.visits.insert(
                new_id,
                new_visit(new_id, me, Agency::SocialWork, Sharing::Team),
            );
        })),
    );
    let doc1 = bothy_shared::robust::apply_changes(&w.docs[&key], &ok).unwrap();
    let bad = make_change(
        &doc1,
        &key,
        morag,
        &Edit::Record(Box::new(|d, _| {
            d.visits.get_mut(&iid(FINALISED_VISIT)).unwrap().place = "x".into();
        })),
    );
    let batch: Vec<Change> = ok.iter().chain(bad.iter()).cloned().collect();
    let err = check_changes(&key, &w.docs[&key], &batch, morag, &w.team).unwrap_err();
    assert_eq!(err.rule(), Some(Rule::FinalisedVisitAddendumOnly));
    // `before` is untouched: the good change is not in it either.
    assert!(w.docs[&key].get_change_by_hash(&ok[0].hash()).is_none());
}

#[test]
fn a_newer_schema_is_a_clear_error() {
    let w = world();
    let key = DocKey::Plan(KAI);
    let mut doc = automerge::AutoCommit::load(&w.docs[&key].save()).unwrap();
    doc.put(ROOT, "schema_version", SCHEMA_VERSION + 1).unwrap();
    let err = read_document::<PlanDoc, _>(&doc, &key).unwrap_err();
    assert!(
        matches!(err, DocError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
    assert!(err.to_string().contains("update the app"));
    let empty = automerge::AutoCommit::new();
    assert!(matches!(
        read_document::<PlanDoc, _>(&empty, &key),
        Err(DocError::NoSchemaVersion { .. })
    ));
}
