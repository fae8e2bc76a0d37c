//! Outcomes across children: what the plans and records say about the eight
//! SHANARRI indicators, reviews, visits and requests for help, counted the
//! same way on the supervisor's device and in the partnership's report.
//!
//! [`ChildFacts::of`] reads one child's documents as of a day; [`Tally`] adds
//! children up; [`band_chart_svg`] draws the bands as an SVG chart (plotters'
//! SVG backend: no fonts loaded, text left to the viewer, nothing fetched).
//!
//! The rules, in words (the report's and the screen's help say the same):
//! - A rating's **band**: 1 to 3 (serious concern), 4 to 6, 7 to 10 (doing well).
//! - **Now**: the latest rating given on or before the day. **At the last
//!   review**: the latest rating given on or before the day of the last review
//!   meeting held on or before the day.
//! - A rating **fell** when now is 2 or more below the rating at the last review.
//! - **Change between reviews**: the rating at the last review less the rating
//!   at the review before it.
//! - A review is **on time** when it was held on or before the date the
//!   review before it set (`next_review`); the first review, which no review
//!   set, is not counted. A review date that has passed with no review held
//!   since counts as a review due and not held on time.
//! - A **visit is overdue** when the last visit (any record the reader holds)
//!   is more than `visit_overdue_after_days` days before the day, or there has
//!   been none.
//! - **Seen alone**: at the last visit in which the child was seen.
//! - **Views recorded**: the plan holds the young person's own views, or a
//!   review recorded them.
//! - **Transition plan in place by 15**: for a young person 15 or over, a
//!   transition plan recorded on or before their fifteenth birthday.
//! - A request for help is **answered** at the duty team's first step
//!   (accepted, declined or more information asked for).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;

use crate::docs::{Indicator, IndicatorAssessment, Rating};
use crate::docs::{
    IsoDate, PlanDoc, RecordDoc, RequestDoc, StepKind, TRANSITION_FROM_AGE, Timestamp,
};
use crate::ids::{Agency, ChildId};

/// A rating's band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Band {
    /// 1 to 3: serious concern.
    Low,
    /// 4 to 6.
    Middle,
    /// 7 to 10: doing well.
    High,
}

impl Band {
    pub const ALL: [Band; 3] = [Band::Low, Band::Middle, Band::High];

    /// The band a score (1 to 10) falls in; scores outside the range clamp.
    pub fn of(score: u8) -> Band {
        match score {
            0..=3 => Band::Low,
            4..=6 => Band::Middle,
            _ => Band::High,
        }
    }

    /// "1-3", "4-6", "7-10".
    pub fn label(self) -> &'static str {
        match self {
            Band::Low => "1-3",
            Band::Middle => "4-6",
            Band::High => "7-10",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Days without a visit after which a child's visit is overdue, unless a
/// team sets otherwise (the device's default setting, and the report's).
pub const VISIT_OVERDUE_AFTER_DAYS: i64 = 28;

/// How a child's facts are read: the day, and when a visit is overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The day the facts are true of (today on the device, the report's `--to`).
    pub as_of: IsoDate,
    pub visit_overdue_after_days: i64,
}

/// A young person's transition plan, as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transition {
    /// Under 15 on the day, or no date of birth: not counted.
    NotYetDue,
    /// 15 or over, with a plan recorded on or before their fifteenth birthday.
    InPlaceBy15,
    /// 15 or over, with a plan recorded after their fifteenth birthday.
    Late,
    /// 15 or over, with none.
    Missing,
}

/// One child's part of the outcomes, read from their documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFacts {
    pub child: ChildId,
    /// Whether the plan has anything in it (a reason, a need or a rating).
    pub has_plan: bool,
    /// The latest score per indicator on or before the day.
    pub now: BTreeMap<Indicator, u8>,
    /// The score per indicator as it stood on the day of the last review.
    pub at_last_review: BTreeMap<Indicator, u8>,
    /// The score at the last review less the score at the review before it.
    pub between_reviews: BTreeMap<Indicator, i16>,
    /// The latest score per indicator given by each agency, on or before the day.
    pub now_by_agency: BTreeMap<Agency, BTreeMap<Indicator, u8>>,
    /// Per agency, its latest score at the last review less its latest at the
    /// review before it (where it rated by both).
    pub between_reviews_by_agency: BTreeMap<Agency, BTreeMap<Indicator, i16>>,
    /// Indicators whose score now is 2 or more below the score at the last review.
    pub fell: Vec<Fall>,
    pub last_review: Option<IsoDate>,
    /// Reviews that had a due date (set by the review before, or the plan's
    /// review date now passed).
    pub reviews_due: u32,
    /// Of those, held on or before the date.
    pub reviews_on_time: u32,
    pub last_visit: Option<Timestamp>,
    pub visit_overdue: bool,
    /// At the last visit the child was seen in: seen alone or not. `None`
    /// when the child has not been seen.
    pub seen_alone_last: Option<bool>,
    pub views_recorded: bool,
    pub transition: Transition,
}

/// An indicator whose rating fell by 2 or more since the last review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Fall {
    pub indicator: Indicator,
    pub at_last_review: u8,
    pub now: u8,
}

impl ChildFacts {
    /// Read one child's facts from their plan and the records the reader
    /// holds (the team record and any agency records), as of `rules.as_of`.
    pub fn of(plan: &PlanDoc, records: &[&RecordDoc], rules: &Rules) -> ChildFacts {
        let day = rules.as_of;
        let mut reviews: Vec<_> = plan.reviews.values().filter(|r| r.held_on <= day).collect();
        reviews.sort_by_key(|r| (r.held_on, r.recorded_at, r.id));
        let last_review = reviews.last().map(|r| r.held_on);
        let review_before = reviews.len().checked_sub(2).map(|i| reviews[i].held_on);

        let mut now = BTreeMap::new();
        let mut at_last_review = BTreeMap::new();
        let mut between_reviews = BTreeMap::new();
        let mut now_by_agency: BTreeMap<Agency, BTreeMap<Indicator, u8>> = BTreeMap::new();
        let mut between_reviews_by_agency: BTreeMap<Agency, BTreeMap<Indicator, i16>> =
            BTreeMap::new();
        let mut fell = Vec::new();
        for i in Indicator::ALL {
            let a = plan.wellbeing.get(i);
            let current = score_as_of(a, day);
            if let Some(s) = current {
                now.insert(i, s);
            }
            let at_review = last_review.and_then(|d| score_as_of(a, d));
            if let Some(s) = at_review {
                at_last_review.insert(i, s);
            }
            if let (Some(last), Some(before)) =
                (at_review, review_before.and_then(|d| score_as_of(a, d)))
            {
                between_reviews.insert(i, i16::from(last) - i16::from(before));
            }
            if let (Some(n), Some(r)) = (current, at_review)
                && n + 2 <= r
            {
                fell.push(Fall {
                    indicator: i,
                    at_last_review: r,
                    now: n,
                });
            }
            let mut latest_by_agency: BTreeMap<Agency, &Rating> = BTreeMap::new();
            for r in a.history().into_iter().filter(|r| r.on <= day) {
                latest_by_agency.insert(r.agency, r);
            }
            for (agency, r) in latest_by_agency {
                now_by_agency.entry(agency).or_default().insert(i, r.score);
                let by = |d: IsoDate| {
                    a.history()
                        .into_iter()
                        .rfind(|r| r.agency == agency && r.on <= d)
                        .map(|r| r.score)
                };
                if let (Some(last), Some(before)) =
                    (last_review.and_then(by), review_before.and_then(by))
                {
                    between_reviews_by_agency
                        .entry(agency)
                        .or_default()
                        .insert(i, i16::from(last) - i16::from(before));
                }
            }
        }

        // Reviews due and on time: each review after the first against the
        // date the one before set; then the plan's review date, if passed
        // with no review held on or after the last one.
        let mut reviews_due = 0;
        let mut reviews_on_time = 0;
        for pair in reviews.windows(2) {
            if let Some(due) = pair[0].next_review {
                reviews_due += 1;
                if pair[1].held_on <= due {
                    reviews_on_time += 1;
                }
            }
        }
        // The plan's review date, passed with no review held on or after it:
        // a review due and not held (the pair loop counts only reviews held).
        if let Some(due) = plan.review_date
            && due < day
            && last_review.is_none_or(|held| held < due)
        {
            reviews_due += 1;
        }

        // Timestamps are milliseconds: the instant the day ends, as one.
        let end_of_day = Timestamp::from_datetime(day.plus_days(1).0.midnight().assume_utc());
        let visits: Vec<_> = records
            .iter()
            .flat_map(|r| r.visits.values())
            .filter(|v| v.at < end_of_day)
            .collect();
        let last_visit = visits.iter().map(|v| v.at).max();
        let overdue_line = end_of_day.plus_days(-rules.visit_overdue_after_days);
        let visit_overdue = last_visit.is_none_or(|t| t < overdue_line);
        let seen_alone_last = visits
            .iter()
            .filter(|v| v.child_seen)
            .max_by_key(|v| (v.at, v.id))
            .map(|v| v.seen_alone);

        let views_recorded = !plan.young_person_views.is_empty()
            || reviews
                .iter()
                .any(|r| !r.young_person_views.as_str().trim().is_empty());

        let transition = match plan.child.date_of_birth {
            Some(born) if age_on(born, day) >= TRANSITION_FROM_AGE => {
                let fifteenth = birthday(born, TRANSITION_FROM_AGE);
                if !plan.transition.has_plan() {
                    Transition::Missing
                } else {
                    match plan.transition.recorded_at.and_then(Timestamp::date) {
                        Some(on) if on > fifteenth => Transition::Late,
                        _ => Transition::InPlaceBy15,
                    }
                }
            }
            _ => Transition::NotYetDue,
        };

        let has_plan =
            !plan.reason.as_str().trim().is_empty() || !plan.needs.is_empty() || !now.is_empty();

        ChildFacts {
            child: plan.child_id,
            has_plan,
            now,
            at_last_review,
            between_reviews,
            now_by_agency,
            between_reviews_by_agency,
            fell,
            last_review,
            reviews_due,
            reviews_on_time,
            last_visit,
            visit_overdue,
            seen_alone_last,
            views_recorded,
            transition,
        }
    }
}

fn score_as_of(a: &IndicatorAssessment, day: IsoDate) -> Option<u8> {
    a.as_of(day).map(|r| r.score)
}

/// Whole years from `born` to `day`.
fn age_on(born: IsoDate, day: IsoDate) -> i64 {
    let (b, d) = (born.0, day.0);
    let mut years = i64::from(d.year() - b.year());
    if (d.month() as u8, d.day()) < (b.month() as u8, b.day()) {
        years -= 1;
    }
    years
}

/// The day someone born on `born` turns `years` (29 February falls on 1 March).
fn birthday(born: IsoDate, years: i64) -> IsoDate {
    let year = born.0.year() + i32::try_from(years).unwrap_or(0);
    IsoDate::from_ymd(year, born.0.month() as u8, born.0.day())
        .or_else(|_| IsoDate::from_ymd(year, 3, 1))
        .unwrap_or(born)
}

/// Children in each band, per indicator.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bands(pub BTreeMap<Indicator, [u32; 3]>);

impl Bands {
    pub fn add(&mut self, indicator: Indicator, score: u8) {
        self.0.entry(indicator).or_default()[Band::of(score).index()] += 1;
    }

    /// The counts for one indicator, lowest band first.
    pub fn get(&self, indicator: Indicator) -> [u32; 3] {
        self.0.get(&indicator).copied().unwrap_or_default()
    }

    /// One row per indicator, in SHANARRI order, for [`band_chart_svg`].
    pub fn rows(&self) -> Vec<(&'static str, [u32; 3])> {
        Indicator::ALL
            .iter()
            .map(|i| (i.label(), self.get(*i)))
            .collect()
    }
}

/// Children added up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub children: u32,
    pub with_plan: u32,
    pub now: Bands,
    pub at_last_review: Bands,
    pub now_by_agency: BTreeMap<Agency, Bands>,
    /// Per indicator: children whose score went up, stayed, went down between
    /// their last two reviews.
    pub between_reviews: BTreeMap<Indicator, [u32; 3]>,
    /// The same per agency, by the ratings each agency gave.
    pub between_reviews_by_agency: BTreeMap<Agency, BTreeMap<Indicator, [u32; 3]>>,
    /// Children with at least one indicator fallen by 2 or more.
    pub fell: u32,
    pub reviews_due: u32,
    pub reviews_on_time: u32,
    pub visits_overdue: u32,
    /// Children seen at some visit, and of those, seen alone at the last.
    pub seen: u32,
    pub seen_alone: u32,
    pub views_recorded: u32,
    /// Young people 15 or over, and of those, with a transition plan in place by 15.
    pub fifteen_or_over: u32,
    pub transition_by_15: u32,
}

impl Tally {
    pub fn add(&mut self, f: &ChildFacts) {
        self.children += 1;
        self.with_plan += u32::from(f.has_plan);
        for (i, s) in &f.now {
            self.now.add(*i, *s);
        }
        for (i, s) in &f.at_last_review {
            self.at_last_review.add(*i, *s);
        }
        for (agency, scores) in &f.now_by_agency {
            let bands = self.now_by_agency.entry(*agency).or_default();
            for (i, s) in scores {
                bands.add(*i, *s);
            }
        }
        for (i, d) in &f.between_reviews {
            self.between_reviews.entry(*i).or_default()[direction(*d)] += 1;
        }
        for (agency, changes) in &f.between_reviews_by_agency {
            let counts = self.between_reviews_by_agency.entry(*agency).or_default();
            for (i, d) in changes {
                counts.entry(*i).or_default()[direction(*d)] += 1;
            }
        }
        self.fell += u32::from(!f.fell.is_empty());
        self.reviews_due += f.reviews_due;
        self.reviews_on_time += f.reviews_on_time;
        self.visits_overdue += u32::from(f.visit_overdue);
        if let Some(alone) = f.seen_alone_last {
            self.seen += 1;
            self.seen_alone += u32::from(alone);
        }
        self.views_recorded += u32::from(f.views_recorded);
        match f.transition {
            Transition::NotYetDue => {}
            Transition::InPlaceBy15 => {
                self.fifteen_or_over += 1;
                self.transition_by_15 += 1;
            }
            Transition::Late | Transition::Missing => self.fifteen_or_over += 1,
        }
    }
}

/// Where a change counts: 0 went up, 1 stayed the same, 2 went down.
fn direction(change: i16) -> usize {
    match change.signum() {
        1 => 0,
        0 => 1,
        _ => 2,
    }
}

/// A request for help, as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    pub to: Agency,
    pub urgent: bool,
    pub sent: Option<Timestamp>,
    /// The duty team's first step (accepted, declined, more information asked for).
    pub answered: Option<Timestamp>,
}

impl RequestFacts {
    pub fn of(r: &RequestDoc) -> RequestFacts {
        let first = |kinds: &[StepKind]| {
            r.steps
                .values()
                .filter(|s| kinds.contains(&s.kind))
                .map(|s| s.at)
                .min()
        };
        RequestFacts {
            to: r.to,
            urgent: r.urgent,
            sent: first(&[StepKind::Sent]),
            answered: first(&[
                StepKind::Accepted,
                StepKind::Declined,
                StepKind::MoreInfoAsked,
            ]),
        }
    }

    /// Milliseconds from sent to answered, when both are known.
    pub fn answered_after(&self) -> Option<i64> {
        match (self.sent, self.answered) {
            (Some(s), Some(a)) => Some((a.0 - s.0).max(0)),
            _ => None,
        }
    }
}

/// Colours of the three bands (low, middle, high): dark enough for white
/// text and distinct for common colour blindness (orange, grey-blue, teal).
pub const BAND_COLOURS: [(u8, u8, u8); 3] = [(178, 74, 0), (84, 98, 122), (0, 110, 100)];

/// Errors drawing a chart (plotters' own, kept as text: its error type
/// borrows the backend).
#[derive(Debug, thiserror::Error)]
#[error("could not draw the chart: {0}")]
pub struct ChartError(String);

/// A horizontal stacked bar per row (children in each band), as SVG that
/// scales to its container. `title` becomes the chart's accessible name;
/// the numbers belong in text beside it too (the chart is a picture).
pub fn band_chart_svg(title: &str, rows: &[(&str, [u32; 3])]) -> Result<String, ChartError> {
    // Narrow, so the labels stay readable when a phone scales it to 300 px.
    const WIDTH: u32 = 480;
    let height = 40 + 34 * u32::try_from(rows.len()).unwrap_or(u32::MAX / 64).max(1);
    let max = rows
        .iter()
        .map(|(_, c)| c.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| ChartError(e.to_string()))?;
        let n = rows.len().max(1);
        // One segment per row, labelled at its centre (top row first).
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            // Room for the last number on the axis.
            .margin_right(28)
            .x_label_area_size(34)
            .y_label_area_size(140)
            .build_cartesian_2d(0u32..max, (0usize..n - 1).into_segmented())
            .map_err(|e| ChartError(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => rows
                    .get(n.saturating_sub(1).saturating_sub(*i))
                    .map(|r| r.0.to_string())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_labels(6)
            .x_label_formatter(&|v| v.to_string())
            .label_style(("sans-serif", 22))
            .draw()
            .map_err(|e| ChartError(e.to_string()))?;
        for (k, (_, counts)) in rows.iter().enumerate() {
            let y = n - 1 - k;
            let top = || {
                if y + 1 == n {
                    SegmentValue::Last
                } else {
                    SegmentValue::Exact(y + 1)
                }
            };
            let mut start = 0;
            for (b, count) in counts.iter().enumerate() {
                if *count == 0 {
                    continue;
                }
                let (r, g, bl) = BAND_COLOURS[b];
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(start, SegmentValue::Exact(y)), (start + count, top())],
                        RGBColor(r, g, bl).filled(),
                    )))
                    .map_err(|e| ChartError(e.to_string()))?;
                start += count;
            }
        }
        root.present().map_err(|e| ChartError(e.to_string()))?;
    }
    Ok(accessible(svg, title, WIDTH, height))
}

/// Make plotters' SVG scale to its container and name itself for screen
/// readers: a `viewBox`, `width="100%"`, `role="img"` and a `<title>`.
fn accessible(svg: String, title: &str, width: u32, height: u32) -> String {
    let Some(open_end) = svg.find('>') else {
        return svg;
    };
    let mut out = String::with_capacity(svg.len() + 200);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = escape(title)
    );
    out.push_str(&svg[open_end + 1..]);
    out
}

/// Escape text for XML and HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn bands_split_at_three_and_six() {
        let got: Vec<Band> = (1..=10).map(Band::of).collect();
        use Band::*;
        assert_eq!(
            got,
            [
                Low, Low, Low, Middle, Middle, Middle, High, High, High, High
            ]
        );
    }

    #[test]
    fn ages_count_whole_years() {
        let d = |y, m, day| IsoDate::from_ymd(y, m, day).unwrap();
        assert_eq!(age_on(d(2010, 6, 15), d(2025, 6, 14)), 14);
        assert_eq!(age_on(d(2010, 6, 15), d(2025, 6, 15)), 15);
        assert_eq!(birthday(d(2008, 2, 29), 15), d(2023, 3, 1));
    }

    fn d(s: &str) -> IsoDate {
        s.parse().unwrap()
    }

    fn t(s: &str) -> Timestamp {
        Timestamp::from_datetime(
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap(),
        )
    }

    fn rate(plan: &mut PlanDoc, i: Indicator, score: u8, on: &str, agency: Agency) {
        let id = crate::ids::ItemId::random();
        plan.wellbeing.get_mut(i).ratings.insert(
            id,
            Rating {
                id,
                score,
                on: d(on),
                by: crate::ids::PersonId::random(),
                agency,
                recorded_at: t(&format!("{on}T12:00:00Z")),
                note: String::new(),
            },
        );
    }

    fn review(plan: &mut PlanDoc, held_on: &str, next: Option<&str>, views: &str) {
        let id = crate::ids::ItemId::random();
        plan.reviews.insert(
            id,
            crate::docs::ReviewMeeting {
                id,
                held_on: d(held_on),
                attended: vec![],
                young_person_views: autosurgeon::Text::with_value(views),
                family_views: autosurgeon::Text::default(),
                decisions: autosurgeon::Text::default(),
                plan_changes: autosurgeon::Text::default(),
                next_review: next.map(d),
                recorded_by: crate::ids::PersonId::random(),
                recorded_at: t(&format!("{held_on}T15:00:00Z")),
            },
        );
    }

    fn visit(record: &mut RecordDoc, at: &str, seen: bool, alone: bool) {
        let id = crate::ids::ItemId::random();
        record.visits.insert(
            id,
            crate::docs::Visit {
                id,
                at: t(at),
                place: String::new(),
                kind: crate::docs::VisitKind::Home,
                practitioner: crate::ids::PersonId::random(),
                practitioner_name: String::new(),
                agency: Agency::SocialWork,
                present: vec![],
                child_seen: seen,
                seen_alone: alone,
                observations: autosurgeon::Text::default(),
                analysis: autosurgeon::Text::default(),
                child_said: autosurgeon::Text::default(),
                next_steps: autosurgeon::Text::default(),
                linked_actions: vec![],
                sharing: crate::docs::Sharing::Team,
                significant: false,
                finalised: None,
                addenda: BTreeMap::new(),
            },
        );
    }

    #[test]
    fn one_childs_facts_follow_the_rules_in_words() {
        let child = ChildId::random();
        let mut plan = PlanDoc::new(
            child,
            crate::docs::ChildDetails {
                name: "Test Child".into(),
                date_of_birth: Some(d("2010-03-01")),
                ..Default::default()
            },
        );
        // Reviews: January (set April), April on time (set July), August
        // late (set November); the plan's review date, 1 November, passed.
        review(&mut plan, "2025-01-10", Some("2025-04-10"), "");
        review(&mut plan, "2025-04-10", Some("2025-07-10"), "");
        review(
            &mut plan,
            "2025-08-20",
            Some("2025-11-01"),
            "I want to stay at my school",
        );
        plan.review_date = Some(d("2025-11-01"));
        // Safe: 6 at the April review, 7 at August's, 4 now: fell by 3.
        rate(
            &mut plan,
            Indicator::Safe,
            6,
            "2025-04-10",
            Agency::SocialWork,
        );
        rate(
            &mut plan,
            Indicator::Safe,
            7,
            "2025-08-20",
            Agency::SocialWork,
        );
        rate(&mut plan, Indicator::Safe, 4, "2025-10-01", Agency::Health);
        // Healthy: 5 at August's, 4 now: fell by 1 (not a fall).
        rate(
            &mut plan,
            Indicator::Healthy,
            5,
            "2025-08-01",
            Agency::Health,
        );
        rate(
            &mut plan,
            Indicator::Healthy,
            4,
            "2025-10-01",
            Agency::Health,
        );
        // A rating after the day is not seen.
        rate(
            &mut plan,
            Indicator::Active,
            9,
            "2025-12-01",
            Agency::Education,
        );

        let mut record = RecordDoc::new(child, None);
        visit(&mut record, "2025-09-01T10:00:00Z", true, true);
        visit(&mut record, "2025-09-20T10:00:00Z", true, false);
        visit(&mut record, "2025-09-25T10:00:00Z", false, false);
        let rules = Rules {
            as_of: d("2025-11-15"),
            visit_overdue_after_days: 28,
        };
        let f = ChildFacts::of(&plan, &[&record], &rules);

        assert_eq!(f.now.get(&Indicator::Safe), Some(&4));
        assert_eq!(f.at_last_review.get(&Indicator::Safe), Some(&7));
        assert_eq!(f.between_reviews.get(&Indicator::Safe), Some(&1));
        assert_eq!(f.now.get(&Indicator::Active), None);
        assert_eq!(
            f.fell,
            vec![Fall {
                indicator: Indicator::Safe,
                at_last_review: 7,
                now: 4
            }]
        );
        assert_eq!(f.now_by_agency[&Agency::Health][&Indicator::Safe], 4);
        assert_eq!(f.now_by_agency[&Agency::SocialWork][&Indicator::Safe], 7);
        // Social work rated Safe 6 at April's review and 7 at August's: up
        // by 1; health gave no rating by either review.
        assert_eq!(
            f.between_reviews_by_agency[&Agency::SocialWork].get(&Indicator::Safe),
            Some(&1)
        );
        assert!(!f.between_reviews_by_agency.contains_key(&Agency::Health));
        assert_eq!(f.last_review, Some(d("2025-08-20")));
        // Due: April (on time), July (held 20 August: late), 1 November (not held).
        assert_eq!((f.reviews_due, f.reviews_on_time), (3, 1));
        // Last visit 25 September, more than 28 days before 15 November.
        assert!(f.visit_overdue);
        // The last visit the child was seen at (20 September): not alone.
        assert_eq!(f.seen_alone_last, Some(false));
        assert!(f.views_recorded);
        // 15 on 1 March 2025, no transition plan.
        assert_eq!(f.transition, Transition::Missing);
        assert!(f.has_plan);

        // Two weeks after the last visit it is not overdue; before the
        // August review, the April one is "the last".
        let early = Rules {
            as_of: d("2025-08-19"),
            visit_overdue_after_days: 28,
        };
        let g = ChildFacts::of(&plan, &[&record], &early);
        assert_eq!(g.last_review, Some(d("2025-04-10")));
        assert!(g.visit_overdue, "no visit yet by 19 August");
        assert_eq!(g.seen_alone_last, None);
        assert!(!g.views_recorded);
        let mut tally = Tally::default();
        tally.add(&f);
        tally.add(&g);
        assert_eq!(tally.children, 2);
        assert_eq!(tally.now.get(Indicator::Safe), [0, 2, 0]);
        assert_eq!(tally.fell, 1);
        assert_eq!(
            tally.between_reviews_by_agency[&Agency::SocialWork][&Indicator::Safe],
            [1, 0, 0]
        );
        assert_eq!((tally.seen, tally.seen_alone), (1, 0));
        assert_eq!(tally.fifteen_or_over, 2);
        assert_eq!(tally.transition_by_15, 0);
    }

    #[test]
    fn the_chart_is_svg_with_a_name_and_a_bar_per_count() {
        let svg = band_chart_svg(
            "Now <by band>",
            &[("Safe", [1, 2, 0]), ("Healthy", [0, 0, 3])],
        )
        .unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox="));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>Now &lt;by band&gt;</title>"));
        // Each row named once, at the middle of its bar (not at a boundary).
        assert_eq!(svg.matches("\nSafe\n").count(), 1, "{svg}");
        assert_eq!(svg.matches("\nHealthy\n").count(), 1, "{svg}");
        // Three non-empty bands drawn, each a filled rectangle in its colour.
        assert_eq!(svg.matches("fill=\"#B24A00\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("fill=\"#54627A\"").count(), 1);
        assert_eq!(svg.matches("fill=\"#006E64\"").count(), 1);
        assert!(!svg.contains("http://") || !svg.contains("href"));
    }
}
