//! The supervisor's outcome view (issue 17, item 1), end to end: Morag
//! records ratings, reviews and visits on her device through the client's
//! services, syncs with a real server on port 0 (the demo partnership), and
//! Fiona, her team manager, reads the team's outcomes on her own device from
//! what the sync brought. Every figure is checked against values worked out
//! by hand below from the demo's documents and what Morag added, not by the
//! code under test. A young person is refused.

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bothy_client::ServiceError;
use bothy_client::services::{ReviewInput, TeamOutcomes, VisitDraft};
use bothy_shared::demo::{ELLIE, FIONA, KAI, KAI_YP, MORAG, RUARIDH, SKYE};
use bothy_shared::docs::{Indicator, IsoDate, Timestamp};
use bothy_shared::ids::ChildId;
use bothy_shared::policy::Rule;
use bothy_tests::server::TestServer;

fn review(held_on: IsoDate, next: IsoDate) -> ReviewInput {
    ReviewInput {
        held_on,
        attended: ReviewInput::names("Morag Fraser, David Reid"),
        young_person_views: String::new(),
        family_views: String::new(),
        decisions: "Carry on with the plan".into(),
        plan_changes: String::new(),
        next_review: Some(next),
    }
}

/// A visit `days_ago` days before now, finalised, in the team record.
fn visit(
    client: &mut bothy_client::Client,
    child: ChildId,
    days_ago: i64,
    seen: bool,
    alone: bool,
) {
    let mut d = VisitDraft::new(child);
    d.at = Timestamp::now().plus_days(-days_ago);
    d.place = "Home".into();
    d.child_seen = seen;
    d.seen_alone = alone;
    d.observations = "Visit for the outcomes test".into();
    client.save_visit(&d, true).unwrap();
}

/// The counts for one indicator, lowest band first.
fn bands(rows: &[bothy_client::services::IndicatorBands], i: Indicator) -> [u32; 3] {
    rows.iter().find(|r| r.indicator == i).unwrap().bands
}

#[tokio::test]
async fn the_supervisor_sees_the_teams_bands_falls_reviews_visits_and_seen_alone() {
    let server = TestServer::start_demo().await.unwrap();
    let mut morag = server.enrol_synced("morag", MORAG).await.unwrap();
    let today = IsoDate::today();
    let m = morag.client_mut();

    // Kai: July review (5 Safe, 4 Included), October ratings (6, 5). Today
    // Safe 3 (down 2 from the review: listed) and Included 3 (down 1: not).
    // His next review moves a month away: none due.
    m.rate_wellbeing(KAI, Indicator::Safe, 3, "").unwrap();
    m.rate_wellbeing(KAI, Indicator::Included, 3, "").unwrap();
    m.set_review_date(KAI, Some(today.plus_days(30))).unwrap();
    // Seen today, not alone: his visit is not overdue.
    visit(m, KAI, 0, true, false);

    // Ellie (the demo): August review and November ratings, Healthy 6 -> 4
    // (listed), Achieving 4 -> 3 (not); the 19 November review not held
    // (late). Seen alone three days ago.
    visit(m, ELLIE, 3, true, true);

    // Ruaridh: a review 40 days ago set the next for 5 days ago; it was held
    // 6 days ago, on time. Never visited: overdue, never seen.
    m.record_review(RUARIDH, &review(today.plus_days(-40), today.plus_days(-5)))
        .unwrap();
    m.record_review(RUARIDH, &review(today.plus_days(-6), today.plus_days(60)))
        .unwrap();

    // Skye: no review due; seen alone 40 days ago, so her visit is overdue.
    m.set_review_date(SKYE, Some(today.plus_days(60))).unwrap();
    visit(m, SKYE, 40, true, true);

    morag.sync().await.unwrap();
    let mut fiona = server.enrol_synced("fiona", FIONA).await.unwrap();
    let o: TeamOutcomes = fiona.client_mut().team_outcomes().unwrap();

    assert_eq!(o.as_of, today);
    assert_eq!(o.children, 4, "Kai, Ellie, Ruaridh and Skye");
    assert_eq!(
        (o.rated_now, o.rated_at_last_review),
        (2, 2),
        "Kai and Ellie"
    );

    // Now: Kai S3 H6 A4 N6 Ac7 Re6 Rs7 I3; Ellie H4 A3 N7 I5.
    let now = [
        (Indicator::Safe, [1, 0, 0]),
        (Indicator::Healthy, [0, 2, 0]),
        (Indicator::Achieving, [1, 1, 0]),
        (Indicator::Nurtured, [0, 1, 1]),
        (Indicator::Active, [0, 0, 1]),
        (Indicator::Respected, [0, 1, 0]),
        (Indicator::Responsible, [0, 0, 1]),
        (Indicator::Included, [1, 1, 0]),
    ];
    // At the last review: Kai (July) S5 H6 A3 N5 Ac7 Re6 Rs6 I4; Ellie
    // (August) H6 A4 N7 I5.
    let then = [
        (Indicator::Safe, [0, 1, 0]),
        (Indicator::Healthy, [0, 2, 0]),
        (Indicator::Achieving, [1, 1, 0]),
        (Indicator::Nurtured, [0, 1, 1]),
        (Indicator::Active, [0, 0, 1]),
        (Indicator::Respected, [0, 1, 0]),
        (Indicator::Responsible, [0, 1, 0]),
        (Indicator::Included, [0, 2, 0]),
    ];
    for (i, want) in now {
        assert_eq!(bands(&o.now, i), want, "now, {i:?}");
    }
    for (i, want) in then {
        assert_eq!(
            bands(&o.at_last_review, i),
            want,
            "at the last review, {i:?}"
        );
    }

    let falls: Vec<_> = o
        .falls
        .iter()
        .map(|f| {
            (
                f.child,
                f.name.as_str(),
                f.indicator,
                f.at_last_review,
                f.now,
            )
        })
        .collect();
    assert_eq!(
        falls,
        [
            (ELLIE, "Ellie Watson", Indicator::Healthy, 6, 4),
            (KAI, "Kai Robertson", Indicator::Safe, 5, 3),
        ],
        "falls by 1 (Kai's Included, Ellie's Achieving) are not listed"
    );

    // Ellie's late review and Ruaridh's on-time one.
    assert_eq!((o.reviews_due, o.reviews_on_time), (2, 1));
    assert_eq!(o.reviews_sentence(), "1 of 2 reviews held on time.");

    let overdue: Vec<_> = o.visits_overdue.iter().map(|c| c.child).collect();
    assert_eq!(overdue, [RUARIDH, SKYE]);
    assert_eq!(o.visits_sentence(), "Visits overdue: 2 of 4 children.");

    // Seen: Kai (not alone today), Ellie (alone), Skye (alone).
    assert_eq!((o.seen, o.seen_alone), (3, 2));
    assert_eq!(
        o.seen_alone_sentence(),
        "Seen alone at their last visit: 2 of 3 children seen."
    );

    // Morag, a practitioner, sees the same of her own caseload.
    assert_eq!(morag.client_mut().team_outcomes().unwrap(), o);
}

#[tokio::test]
async fn a_young_person_is_refused_the_outcome_view() {
    let server = TestServer::start_demo().await.unwrap();
    let mut kai = server.enrol_synced("kai", KAI_YP).await.unwrap();
    let e = kai.client_mut().team_outcomes().unwrap_err();
    match e {
        ServiceError::Denied(d) => {
            assert_eq!(d.person, KAI_YP);
            assert_eq!(d.rule, Rule::ReadScope);
        }
        other => panic!("expected Denied, got {other:?}"),
    }
}
