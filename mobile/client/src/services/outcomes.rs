//! The supervisor's outcome view: the team's caseload added up, offline, from
//! the documents this device holds. For each SHANARRI indicator, how many
//! children sit in each band now and at their last review; the children whose
//! rating fell by 2 or more (named: this is the team's own caseload); reviews
//! held on time, visits overdue, children seen alone at the last visit.
//!
//! The counting is [`bothy_shared::outcomes`]'s, the same as the
//! partnership's report on the server; this module only gathers each child's
//! plan and the records the user may read, and puts names to the facts.
//!
//! Who sees it: anyone who works with children (a supervisor over the team's
//! caseload, a practitioner over their own): it shows nothing they cannot
//! already read child by child. A young person never: it is built from the
//! team's records, which they may not read.

use bothy_shared::docs::{DocKey, Indicator, IsoDate, PlanDoc, RecordDoc};
use bothy_shared::ids::ChildId;
use bothy_shared::outcomes::{Band, Bands, ChildFacts, Rules, Tally};
use bothy_shared::policy::{Access, AccessPolicy, Denied, PersonKind, Rule};
use serde::Serialize;

use super::Client;
use crate::error::ServiceError;

/// The team's outcomes, as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamOutcomes {
    pub as_of: IsoDate,
    /// Children on this device the user may read.
    pub children: u32,
    /// Children with at least one rating now.
    pub rated_now: u32,
    /// Children with at least one rating at their last review.
    pub rated_at_last_review: u32,
    /// Children per band, per indicator (SHANARRI order): now.
    pub now: Vec<IndicatorBands>,
    /// Children per band, per indicator: as it stood at each child's last review.
    pub at_last_review: Vec<IndicatorBands>,
    /// Every indicator whose rating fell by 2 or more since the child's last
    /// review, by child name then indicator.
    pub falls: Vec<FallLine>,
    /// Reviews that fell due (see [`bothy_shared::outcomes`]), and of those
    /// held on time.
    pub reviews_due: u32,
    pub reviews_on_time: u32,
    /// Children whose visit is overdue, by name.
    pub visits_overdue: Vec<ChildName>,
    /// Children seen at some visit, and of those, seen alone at the last.
    pub seen: u32,
    pub seen_alone: u32,
}

/// One indicator's children in each band: 1-3, 4-6, 7-10.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndicatorBands {
    pub indicator: Indicator,
    pub label: &'static str,
    pub bands: [u32; 3],
}

/// A rating that fell by 2 or more since the child's last review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FallLine {
    pub child: ChildId,
    pub name: String,
    pub indicator: Indicator,
    pub label: &'static str,
    pub at_last_review: u8,
    pub now: u8,
}

/// A child, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildName {
    pub child: ChildId,
    pub name: String,
}

impl TeamOutcomes {
    /// Whether any child has a rating, now or at a review.
    pub fn has_ratings(&self) -> bool {
        self.rated_now + self.rated_at_last_review > 0
    }
}

fn rows(bands: &Bands) -> Vec<IndicatorBands> {
    Indicator::ALL
        .iter()
        .map(|i| IndicatorBands {
            indicator: *i,
            label: i.label(),
            bands: bands.get(*i),
        })
        .collect()
}

impl Client {
    /// The team's outcomes today (see [`team_outcomes_as_of`](Self::team_outcomes_as_of)).
    pub fn team_outcomes(&mut self) -> Result<TeamOutcomes, ServiceError> {
        self.team_outcomes_as_of(IsoDate::today())
    }

    /// The outcomes of every child this device holds whose plan the user may
    /// read, from the plan, the team record and the agency records held, as
    /// of `day`. A young person is refused: it reads the team's records.
    pub fn team_outcomes_as_of(&mut self, day: IsoDate) -> Result<TeamOutcomes, ServiceError> {
        let principal = self.dir.me.principal();
        if let PersonKind::YoungPerson { child } = principal.kind {
            return Err(Denied {
                person: principal.person,
                key: DocKey::Record(child),
                access: Access::Read,
                rule: Rule::ReadScope,
            }
            .into());
        }
        let rules = Rules {
            as_of: day,
            visit_overdue_after_days: self.settings.visit_overdue_after_days,
        };
        let mut tally = Tally::default();
        let mut falls = Vec::new();
        let mut overdue = Vec::new();
        let (mut rated_now, mut rated_at_review) = (0, 0);
        let teams: Vec<_> = self.dir.teams.values().cloned().collect();
        for team in teams {
            let readable = AccessPolicy::readable(&principal, &team);
            let plan_key = DocKey::Plan(team.child);
            if !readable.contains(&plan_key) || self.document(&plan_key)?.is_none() {
                continue;
            }
            let plan: PlanDoc = self.read(&plan_key)?;
            let mut records: Vec<RecordDoc> = Vec::new();
            for key in readable {
                if matches!(key, DocKey::Record(_) | DocKey::Agency(..))
                    && self.document(&key)?.is_some()
                {
                    records.push(self.read(&key)?);
                }
            }
            let facts = ChildFacts::of(&plan, &records.iter().collect::<Vec<_>>(), &rules);
            tally.add(&facts);
            rated_now += u32::from(!facts.now.is_empty());
            rated_at_review += u32::from(!facts.at_last_review.is_empty());
            let name = plan.child.name.clone();
            falls.extend(facts.fell.iter().map(|f| FallLine {
                child: team.child,
                name: name.clone(),
                indicator: f.indicator,
                label: f.indicator.label(),
                at_last_review: f.at_last_review,
                now: f.now,
            }));
            if facts.visit_overdue {
                overdue.push(ChildName {
                    child: team.child,
                    name,
                });
            }
        }
        falls.sort_by(|a, b| (&a.name, a.indicator).cmp(&(&b.name, b.indicator)));
        overdue.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(TeamOutcomes {
            as_of: day,
            children: tally.children,
            rated_now,
            rated_at_last_review: rated_at_review,
            now: rows(&tally.now),
            at_last_review: rows(&tally.at_last_review),
            falls,
            reviews_due: tally.reviews_due,
            reviews_on_time: tally.reviews_on_time,
            visits_overdue: overdue,
            seen: tally.seen,
            seen_alone: tally.seen_alone,
        })
    }
}

/// The bands' labels, lowest first ("1-3", "4-6", "7-10").
pub fn band_labels() -> [&'static str; 3] {
    Band::ALL.map(Band::label)
}

/// "1 child" / "3 children".
pub fn count_children(n: u32) -> String {
    if n == 1 {
        "1 child".to_owned()
    } else {
        format!("{n} children")
    }
}

/// The figures as plain sentences, the same on the screen and in `bothy outcomes`.
impl TeamOutcomes {
    /// "3 of 4 reviews held on time."
    pub fn reviews_sentence(&self) -> String {
        match (self.reviews_due, self.reviews_on_time) {
            (0, _) => "No review has fallen due yet.".to_owned(),
            (1, on_time) => format!("{on_time} of 1 review held on time."),
            (due, on_time) => format!("{on_time} of {due} reviews held on time."),
        }
    }

    /// "Visits overdue: 2 of 4 children."
    pub fn visits_sentence(&self) -> String {
        match self.visits_overdue.len() {
            0 => "No visit is overdue.".to_owned(),
            n => format!("Visits overdue: {n} of {}.", count_children(self.children)),
        }
    }

    /// "Seen alone at their last visit: 2 of 3 children seen."
    pub fn seen_alone_sentence(&self) -> String {
        if self.seen == 0 {
            "No child has been seen at a visit yet.".to_owned()
        } else {
            format!(
                "Seen alone at their last visit: {} of {} seen.",
                self.seen_alone,
                count_children(self.seen)
            )
        }
    }
}
