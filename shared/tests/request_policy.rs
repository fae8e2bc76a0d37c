//! The policy and gate of a request for help, table-driven with real
//! Automerge changes made the way a device makes them: who reads a request,
//! who takes which step when, and what a new request must hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;

use automerge::{Automerge, Change};
use bothy_shared::demo::{self, AILEEN, CATRIONA, DAVID, EWAN, KAI_YP, MORAG};
use bothy_shared::docs::*;
use bothy_shared::gate::{GateError, check_changes};
use bothy_shared::ids::{Agency, ChildId, DeviceId, ItemId, PersonId, RequestId};
use bothy_shared::policy::{AccessPolicy, ChildTeam, PersonKind, Principal, Rule};

fn principal(person: PersonId) -> Principal {
    demo::partnership()
        .people
        .iter()
        .find(|p| p.id == person)
        .unwrap()
        .principal(DeviceId::random())
}

fn supervisor_of(person: PersonId) -> Principal {
    Principal {
        person: PersonId::random(),
        agency: Some(Agency::SocialWork),
        kind: PersonKind::Supervisor,
        device: DeviceId::random(),
        device_revoked: false,
        supervises: [person].into_iter().collect(),
    }
}

struct World {
    key: DocKey,
    team: ChildTeam,
    doc: Automerge,
}

fn request(id: RequestId, basis: Option<SharingBasis>) -> RequestDoc {
    RequestDoc::new(
        id,
        PersonRef {
            person: EWAN,
            name: "Ewan Stewart".into(),
            agency: Agency::Education,
            role_title: "class teacher".into(),
        },
        Agency::SocialWork,
        None,
        AboutChild {
            name: "Skye Maclean".into(),
            date_of_birth: Some("2016-05-01".parse().unwrap()),
            ..AboutChild::default()
        },
        "Often hungry and tired",
        basis,
        Timestamp(1_000),
    )
}

/// The change `p` makes turning `before` into `value`.
fn change(before: &Automerge, key: &DocKey, p: &Principal, value: &RequestDoc) -> Vec<Change> {
    let (_, change) = commit_document(before, key, &p.device.actor_id(), "edit", value).unwrap();
    change.into_iter().collect()
}

/// Ewan's request, sent and stored.
fn world() -> World {
    let id = RequestId::random();
    let key = DocKey::Request(id);
    let duty: BTreeSet<PersonId> = [CATRIONA].into_iter().collect();
    let team = request_team(id, EWAN, Agency::Education, Agency::SocialWork, &duty);
    let ewan = principal(EWAN);
    let empty = Automerge::new();
    let changes = change(
        &empty,
        &key,
        &ewan,
        &request(id, Some(SharingBasis::Consent)),
    );
    let doc = check_changes(&key, &empty, &changes, &ewan, &team).unwrap();
    World { key, team, doc }
}

fn step(w: &World, p: &Principal, by: PersonId, kind: StepKind) -> Result<Automerge, GateError> {
    let mut value: RequestDoc = read_document(&w.doc, &w.key).unwrap();
    let at = Timestamp(value.last_step().unwrap().at.0 + 1);
    let id = ItemId::random();
    value.steps.insert(
        id,
        RequestStep {
            id,
            kind,
            by,
            by_name: String::new(),
            at,
            note: "a note".into(),
            child: (kind == StepKind::Accepted).then(ChildId::random),
            new_child: kind == StepKind::Accepted,
        },
    );
    let changes = change(&w.doc, &w.key, p, &value);
    check_changes(&w.key, &w.doc, &changes, p, &w.team)
}

fn rule(r: Result<Automerge, GateError>) -> Option<Rule> {
    r.err().map(|e| e.rule().expect("a rule"))
}

#[test]
fn only_the_sender_the_duty_workers_and_their_supervisors_read_a_request() {
    let w = world();
    let readers = [
        (principal(EWAN), true),
        (principal(CATRIONA), true),
        (supervisor_of(EWAN), true),
        (supervisor_of(CATRIONA), true),
        // The teacher's colleague, a health visitor, a social worker not on
        // duty, the young person, someone else's supervisor: never.
        (principal(DAVID), false),
        (principal(AILEEN), false),
        (principal(MORAG), false),
        (principal(KAI_YP), false),
        (supervisor_of(DAVID), false),
    ];
    for (p, may) in readers {
        assert_eq!(
            AccessPolicy::can_read(&p, &w.key, &w.team).is_ok(),
            may,
            "{:?} reads",
            p.person
        );
        // Supervisors read; only the sender and the duty workers write.
        let writes = may && p.kind == PersonKind::Practitioner;
        assert_eq!(
            AccessPolicy::can_write(&p, &w.key, &w.team).is_ok(),
            writes,
            "{:?} writes",
            p.person
        );
    }
}

#[test]
fn each_step_is_taken_by_its_side_in_its_own_name_while_the_state_allows_it() {
    let w = world();
    let (ewan, catriona) = (principal(EWAN), principal(CATRIONA));
    let cases = [
        (&catriona, CATRIONA, StepKind::Accepted, None),
        (&catriona, CATRIONA, StepKind::Declined, None),
        (&catriona, CATRIONA, StepKind::MoreInfoAsked, None),
        (&ewan, EWAN, StepKind::Withdrawn, None),
        (
            &ewan,
            EWAN,
            StepKind::Accepted,
            Some(Rule::RequestStepByRole),
        ),
        (
            &ewan,
            EWAN,
            StepKind::Declined,
            Some(Rule::RequestStepByRole),
        ),
        (
            &catriona,
            CATRIONA,
            StepKind::Withdrawn,
            Some(Rule::RequestStepByRole),
        ),
        // Nothing was asked yet.
        (
            &ewan,
            EWAN,
            StepKind::Answered,
            Some(Rule::RequestStepByRole),
        ),
        (&ewan, EWAN, StepKind::Sent, Some(Rule::RequestStepByRole)),
        // In someone else's name.
        (
            &catriona,
            EWAN,
            StepKind::Accepted,
            Some(Rule::AuthorIsSelf),
        ),
    ];
    for (p, by, kind, expected) in cases {
        assert_eq!(rule(step(&w, p, by, kind)), expected, "{kind:?} by {by:?}");
    }
    // Nobody else, not even a supervisor.
    assert_eq!(
        rule(step(
            &w,
            &supervisor_of(CATRIONA),
            CATRIONA,
            StepKind::Accepted
        )),
        Some(Rule::WriteScope)
    );
    assert_eq!(
        rule(step(&w, &principal(DAVID), DAVID, StepKind::Withdrawn)),
        Some(Rule::WriteScope)
    );
}

#[test]
fn asked_for_more_the_sender_answers_and_a_closed_request_takes_no_step() {
    let mut w = world();
    w.doc = step(&w, &principal(CATRIONA), CATRIONA, StepKind::MoreInfoAsked).unwrap();
    let r: RequestDoc = read_document(&w.doc, &w.key).unwrap();
    assert_eq!(r.state(), RequestState::MoreInfoAsked);
    w.doc = step(&w, &principal(EWAN), EWAN, StepKind::Answered).unwrap();
    let r: RequestDoc = read_document(&w.doc, &w.key).unwrap();
    assert_eq!(r.state(), RequestState::Sent);
    w.doc = step(&w, &principal(CATRIONA), CATRIONA, StepKind::Declined).unwrap();
    assert_eq!(
        rule(step(&w, &principal(CATRIONA), CATRIONA, StepKind::Accepted)),
        Some(Rule::RequestStepByRole)
    );
    assert_eq!(
        rule(step(&w, &principal(EWAN), EWAN, StepKind::Withdrawn)),
        Some(Rule::RequestStepByRole)
    );
}

#[test]
fn a_request_is_not_changed_once_sent() {
    let w = world();
    let ewan = principal(EWAN);
    let mut value: RequestDoc = read_document(&w.doc, &w.key).unwrap();
    value.urgent = true;
    let changes = change(&w.doc, &w.key, &ewan, &value);
    assert_eq!(
        rule(check_changes(&w.key, &w.doc, &changes, &ewan, &w.team)),
        Some(Rule::DocumentStructure)
    );
}

#[test]
fn a_new_request_needs_consent_or_a_lawful_basis_and_is_the_senders_own() {
    let id = RequestId::random();
    let key = DocKey::Request(id);
    let empty = Automerge::new();
    let ewan = principal(EWAN);
    let alone = request_team(
        id,
        EWAN,
        Agency::Education,
        Agency::Education,
        &BTreeSet::new(),
    );
    let none = change(&empty, &key, &ewan, &request(id, None));
    assert_eq!(
        rule(check_changes(&key, &empty, &none, &ewan, &alone)),
        Some(Rule::RequestConsentOrBasis)
    );
    for basis in SharingBasis::ALL {
        let made = change(&empty, &key, &ewan, &request(id, Some(basis)));
        assert!(check_changes(&key, &empty, &made, &ewan, &alone).is_ok());
    }
    // Someone else making a request in Ewan's name.
    let david = principal(DAVID);
    let as_david = request_team(
        id,
        DAVID,
        Agency::Education,
        Agency::Education,
        &BTreeSet::new(),
    );
    let forged = change(
        &empty,
        &key,
        &david,
        &request(id, Some(SharingBasis::Consent)),
    );
    assert_eq!(
        rule(check_changes(&key, &empty, &forged, &david, &as_david)),
        Some(Rule::AuthorIsSelf)
    );
    // A new request holds its sent step only.
    let mut early = request(id, Some(SharingBasis::Consent));
    let extra = ItemId::random();
    early.steps.insert(
        extra,
        RequestStep {
            id: extra,
            kind: StepKind::Withdrawn,
            by: EWAN,
            by_name: String::new(),
            at: Timestamp(2_000),
            note: String::new(),
            child: None,
            new_child: false,
        },
    );
    let two = change(&empty, &key, &ewan, &early);
    assert_eq!(
        rule(check_changes(&key, &empty, &two, &ewan, &alone)),
        Some(Rule::RequestStepByRole)
    );
}

#[test]
fn the_demo_has_a_duty_worker_and_a_teacher_on_no_team() {
    let demo = demo::partnership();
    let catriona = demo.people.iter().find(|p| p.id == CATRIONA).unwrap();
    let ewan = demo.people.iter().find(|p| p.id == EWAN).unwrap();
    assert!(catriona.on_duty() && catriona.agency == Some(Agency::SocialWork));
    assert!(!ewan.on_duty() && ewan.agency == Some(Agency::Education));
    for child in &demo.children {
        assert!(!child.team.members.contains_key(&CATRIONA));
        assert!(!child.team.members.contains_key(&EWAN));
    }
}
