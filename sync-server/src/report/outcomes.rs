//! The partnership's outcomes report: every child's plan and records and
//! every request for help, read from storage and counted with the shared
//! outcomes core (`bothy_shared::outcomes`, the same rules the supervisor's
//! device uses), then made anonymous ([`super::suppress`]).
//!
//! What each figure covers (the report says the same beside each one):
//! - Bands now, by agency, transition, views, visits: each child as of the
//!   period's last day (`--to`).
//! - Change between reviews: children whose last review (on or before
//!   `--to`) was held in the period.
//! - Reviews held on time: reviews that fell due in the period (the due
//!   date counted as of `--to` less those already counted the day before
//!   `--from`).
//! - Requests for help: those sent in the period, by the agency asked;
//!   answered means the duty team's first step (accepted, declined or more
//!   information asked for) on or before `--to`, and how fast is counted in
//!   working days (Monday to Friday; public holidays are not known to Bothy
//!   and count as working days).
//!
//! No name, id or free text of anyone leaves this module: only counts,
//! slugs of indicators and agencies, and the period.

use std::collections::BTreeMap;

use bothy_shared::docs::{Indicator, IsoDate, Timestamp};
use bothy_shared::ids::Agency;
use bothy_shared::outcomes::{Bands, ChildFacts, RequestFacts, Rules, Tally};
use serde::Serialize;
use time::Weekday;

use super::suppress::{self, Shown};
use super::{Case, ReportError, requests};
use crate::storage::{ChildRecord, Storage};

/// The days the report covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: IsoDate,
    pub to: IsoDate,
}

impl Period {
    pub fn new(from: IsoDate, to: IsoDate) -> Result<Period, ReportError> {
        if from > to {
            return Err(ReportError::PeriodBackwards { from, to });
        }
        Ok(Period { from, to })
    }

    fn holds(&self, day: IsoDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// Children in each band (1-3, 4-6, 7-10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandCounts {
    #[serde(rename = "1-3")]
    pub low: Shown,
    #[serde(rename = "4-6")]
    pub middle: Shown,
    #[serde(rename = "7-10")]
    pub high: Shown,
}

impl BandCounts {
    fn of(counts: [u32; 3]) -> BandCounts {
        BandCounts {
            low: suppress::count(counts[0]),
            middle: suppress::count(counts[1]),
            high: suppress::count(counts[2]),
        }
    }

    /// The three, lowest band first.
    pub fn all(&self) -> [Shown; 3] {
        [self.low, self.middle, self.high]
    }
}

/// Children whose rating went up, stayed the same or went down between
/// their last two reviews.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changes {
    pub up: Shown,
    pub same: Shown,
    pub down: Shown,
}

impl Changes {
    /// Up, same, down (none counted when there is nothing), made anonymous.
    fn of(counts: Option<[u32; 3]>) -> Changes {
        let [up, same, down] = counts.unwrap_or_default().map(suppress::count);
        Changes { up, same, down }
    }

    pub fn all(&self) -> [Shown; 3] {
        [self.up, self.same, self.down]
    }
}

/// One indicator's figures across every child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorFigures {
    /// The indicator's slug (`safe`, `healthy`, …).
    pub indicator: &'static str,
    pub label: &'static str,
    pub now: BandCounts,
    pub at_last_review: BandCounts,
    pub change_between_reviews: Changes,
}

/// The bands of the ratings one agency gave (its latest per child and
/// indicator, as of `--to`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyBands {
    /// The agency's slug (`social-work`, `health`, …).
    pub agency: &'static str,
    pub label: &'static str,
    pub indicators: Vec<AgencyIndicator>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyIndicator {
    pub indicator: &'static str,
    pub label: &'static str,
    pub now: BandCounts,
    /// By the ratings this agency gave at children's last two reviews
    /// (children whose last review was held in the period).
    pub change_between_reviews: Changes,
}

/// A part of a whole: a count, the count it is of, and the percentage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    /// What the figure counts and over which days.
    pub covers: &'static str,
    pub of: Shown,
    pub count: Shown,
    pub percent: Shown,
}

impl Share {
    fn new(covers: &'static str, count: u32, of: u32) -> Share {
        Share {
            covers,
            of: suppress::count(of),
            count: suppress::count(count),
            percent: suppress::percent(count, of),
        }
    }
}

/// Requests for help sent in the period to one agency (or to all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestFigures {
    /// The agency's slug, or `all` for the total.
    pub agency: &'static str,
    pub label: &'static str,
    pub sent: Shown,
    pub answered: Shown,
    pub not_answered: Shown,
    pub urgent: Shown,
    /// The median working days from sent to answered.
    pub median_working_days: Shown,
    pub answered_within_1_working_day: Shown,
    pub answered_within_5_working_days: Shown,
}

/// The whole report, every figure already made anonymous.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomesReport {
    pub period: Period,
    /// Children with a case on the server.
    pub children: Shown,
    pub children_with_a_plan: Share,
    pub indicators: Vec<IndicatorFigures>,
    pub by_agency: Vec<AgencyBands>,
    pub children_reviewed_in_period: Shown,
    pub children_with_a_rating_fallen_by_2: Share,
    pub reviews_on_time: Share,
    pub views_recorded: Share,
    pub transition_plans_by_15: Share,
    pub visits_overdue: Share,
    pub seen_alone_at_last_visit: Share,
    /// Days without a visit after which a visit is overdue.
    pub visit_overdue_after_days: i64,
    pub requests: Vec<RequestFigures>,
}

/// Children read at once (shared among the threads), then counted.
const FACTS_BATCH: usize = 512;

/// Each child's facts at the period's end and the day before it starts,
/// read on as many threads as the machine has cores (reading and merging
/// the stored changes is nearly all of the report's work), in `children`'s
/// order.
fn read_facts(
    storage: &dyn Storage,
    children: &[ChildRecord],
    at_end: &Rules,
    before_start: &Rules,
) -> Result<Vec<(ChildFacts, ChildFacts)>, ReportError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let share = children.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = children
            .chunks(share)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|child| {
                            let case = Case::read(storage, child.id)?;
                            let records = case.records();
                            Ok((
                                ChildFacts::of(&case.plan, &records, at_end),
                                ChildFacts::of(&case.plan, &records, before_start),
                            ))
                        })
                        .collect::<Result<Vec<_>, ReportError>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(children.len());
        for worker in workers {
            all.extend(worker.join().map_err(|_| ReportError::Worker)??);
        }
        Ok(all)
    })
}

/// What each share covers: the words the report prints beside it.
pub mod covers {
    pub const WITH_A_PLAN: &str = "Children whose plan has a reason, a need or a rating, of all children with a case, as of the period's last day.";
    pub const FELL: &str = "Children with a rating 2 or more below the one at their last review, as of the period's last day.";
    pub const REVIEWS: &str = "Reviews that fell due in the period, and of those, held on or before the date the review before set (or by the plan's review date).";
    pub const VIEWS: &str = "Children whose plan holds the young person's own views, or a review recorded them, as of the period's last day.";
    pub const TRANSITION: &str = "Young people 15 or over on the period's last day, and of those, with a transition plan recorded on or before their fifteenth birthday.";
    pub const VISITS_OVERDUE: &str = "Children with no visit in the days before the period's last day (see visit_overdue_after_days), of all children.";
    pub const SEEN_ALONE: &str = "Children seen at a visit, and of those, seen alone at the last visit in which they were seen, as of the period's last day.";
}

/// Read every child's case and every request and count them for `period`.
pub fn outcomes(
    storage: &dyn Storage,
    period: Period,
    visit_overdue_after_days: i64,
) -> Result<OutcomesReport, ReportError> {
    let at_end = Rules {
        as_of: period.to,
        visit_overdue_after_days,
    };
    let before_start = Rules {
        as_of: period.from.plus_days(-1),
        ..at_end
    };
    let mut all = Tally::default();
    let mut reviewed = Tally::default();
    let (mut reviews_due, mut reviews_on_time) = (0, 0);
    let children = storage.children()?;
    // A batch at a time, so memory stays flat however many children.
    for batch in children.chunks(FACTS_BATCH) {
        for (now, before) in read_facts(storage, batch, &at_end, &before_start)? {
            reviews_due += now.reviews_due.saturating_sub(before.reviews_due);
            reviews_on_time += now.reviews_on_time.saturating_sub(before.reviews_on_time);
            if now.last_review.is_some_and(|d| period.holds(d)) {
                reviewed.add(&now);
            }
            all.add(&now);
        }
    }
    let reviews_on_time = reviews_on_time.min(reviews_due);

    let indicators = Indicator::ALL
        .iter()
        .map(|&i| {
            let change = reviewed.between_reviews.get(&i).copied();
            IndicatorFigures {
                indicator: i.as_str(),
                label: i.label(),
                now: BandCounts::of(all.now.get(i)),
                at_last_review: BandCounts::of(all.at_last_review.get(i)),
                change_between_reviews: Changes::of(change),
            }
        })
        .collect();
    let by_agency = all
        .now_by_agency
        .iter()
        .map(|(agency, bands)| {
            agency_bands(
                *agency,
                bands,
                reviewed.between_reviews_by_agency.get(agency),
            )
        })
        .collect();

    Ok(OutcomesReport {
        period,
        children: suppress::count(all.children),
        children_with_a_plan: Share::new(covers::WITH_A_PLAN, all.with_plan, all.children),
        indicators,
        by_agency,
        children_reviewed_in_period: suppress::count(reviewed.children),
        children_with_a_rating_fallen_by_2: Share::new(covers::FELL, all.fell, all.children),
        reviews_on_time: Share::new(covers::REVIEWS, reviews_on_time, reviews_due),
        views_recorded: Share::new(covers::VIEWS, all.views_recorded, all.children),
        transition_plans_by_15: Share::new(
            covers::TRANSITION,
            all.transition_by_15,
            all.fifteen_or_over,
        ),
        visits_overdue: Share::new(covers::VISITS_OVERDUE, all.visits_overdue, all.children),
        seen_alone_at_last_visit: Share::new(covers::SEEN_ALONE, all.seen_alone, all.seen),
        visit_overdue_after_days,
        requests: request_figures(storage, period)?,
    })
}

fn agency_bands(
    agency: Agency,
    bands: &Bands,
    changes: Option<&BTreeMap<Indicator, [u32; 3]>>,
) -> AgencyBands {
    AgencyBands {
        agency: agency.as_str(),
        label: agency.label(),
        indicators: Indicator::ALL
            .iter()
            .map(|&i| AgencyIndicator {
                indicator: i.as_str(),
                label: i.label(),
                now: BandCounts::of(bands.get(i)),
                change_between_reviews: Changes::of(changes.and_then(|c| c.get(&i)).copied()),
            })
            .collect(),
    }
}

/// Requests for help counted for one agency before suppression.
#[derive(Debug, Default)]
struct RequestCounts {
    sent: u32,
    urgent: u32,
    /// Working days from sent to answered, per answered request.
    answered_after: Vec<u32>,
}

impl RequestCounts {
    fn add(&mut self, r: &RequestFacts, sent: IsoDate, to: IsoDate) {
        self.sent += 1;
        self.urgent += u32::from(r.urgent);
        if let Some(answered) = r.answered.and_then(Timestamp::date).filter(|d| *d <= to) {
            self.answered_after.push(working_days(sent, answered));
        }
    }

    fn figures(&self, agency: &'static str, label: &'static str) -> RequestFigures {
        let answered = u32::try_from(self.answered_after.len()).unwrap_or(u32::MAX);
        let within = |days| {
            let n = self.answered_after.iter().filter(|d| **d <= days).count();
            suppress::count(u32::try_from(n).unwrap_or(u32::MAX))
        };
        RequestFigures {
            agency,
            label,
            sent: suppress::count(self.sent),
            answered: suppress::count(answered),
            not_answered: suppress::count(self.sent.saturating_sub(answered)),
            urgent: suppress::count(self.urgent),
            median_working_days: suppress::median(self.answered_after.clone()),
            answered_within_1_working_day: within(1),
            answered_within_5_working_days: within(5),
        }
    }
}

/// Requests sent in the period, per agency asked, then all together.
fn request_figures(
    storage: &dyn Storage,
    period: Period,
) -> Result<Vec<RequestFigures>, ReportError> {
    let mut by_agency: BTreeMap<Agency, RequestCounts> = BTreeMap::new();
    let mut total = RequestCounts::default();
    for (_, doc) in requests(storage)? {
        let facts = RequestFacts::of(&doc);
        let Some(sent) = facts.sent.and_then(Timestamp::date) else {
            continue;
        };
        if !period.holds(sent) {
            continue;
        }
        by_agency
            .entry(facts.to)
            .or_default()
            .add(&facts, sent, period.to);
        total.add(&facts, sent, period.to);
    }
    let mut out: Vec<_> = by_agency
        .iter()
        .map(|(a, c)| c.figures(a.as_str(), a.label()))
        .collect();
    out.push(total.figures("all", "All agencies"));
    Ok(out)
}

/// Working days (Monday to Friday) after `from`, up to and including `to`:
/// 0 for the same day, 1 for the next working day.
pub fn working_days(from: IsoDate, to: IsoDate) -> u32 {
    let days = from.days_until(to);
    if days <= 0 {
        return 0;
    }
    let weeks = days / 7;
    let mut n = weeks * 5;
    let mut day = from.plus_days(weeks * 7);
    for _ in 0..days % 7 {
        day = day.plus_days(1);
        if !matches!(day.0.weekday(), Weekday::Saturday | Weekday::Sunday) {
            n += 1;
        }
    }
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> IsoDate {
        s.parse().unwrap()
    }

    #[test]
    fn working_days_skip_weekends() {
        // 2026-12-04 is a Friday.
        assert_eq!(working_days(d("2026-12-04"), d("2026-12-04")), 0);
        assert_eq!(working_days(d("2026-12-04"), d("2026-12-05")), 0);
        assert_eq!(working_days(d("2026-12-04"), d("2026-12-07")), 1);
        assert_eq!(working_days(d("2026-12-04"), d("2026-12-11")), 5);
        assert_eq!(working_days(d("2026-12-04"), d("2026-12-21")), 11);
    }

    #[test]
    fn a_period_cannot_run_backwards() {
        assert!(matches!(
            Period::new(d("2026-02-01"), d("2026-01-01")),
            Err(ReportError::PeriodBackwards { .. })
        ));
        assert!(Period::new(d("2026-01-01"), d("2026-01-01")).is_ok());
    }
}
