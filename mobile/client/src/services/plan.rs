//! Editing the child's plan and the chronology: needs (add, edit, close),
//! actions, the wellbeing assessment (ratings with strengths and concerns),
//! the My World Triangle, the review date and review meetings.

use std::collections::BTreeMap;

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId, PersonId};
use serde::{Deserialize, Serialize};

use super::Client;
use crate::error::ServiceError;
use crate::index;

/// A new action on a need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionInput {
    pub what: String,
    /// The person responsible (from the child's team).
    pub owner: Option<PersonId>,
    pub due: Option<IsoDate>,
}

/// A new chronology entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChronologyInput {
    pub date: IsoDate,
    pub until: Option<IsoDate>,
    pub event: String,
    pub impact: Impact,
    pub impact_note: String,
    pub action: String,
    pub significance: Significance,
}

/// A wellbeing assessment of one indicator: a new rating (1 to 10), with the
/// strengths and concerns behind it. `None` leaves that text as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AssessmentInput {
    pub score: u8,
    pub strengths: Option<String>,
    pub concerns: Option<String>,
    /// A note on this rating only.
    pub note: String,
}

/// A need as the form or command gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NeedInput {
    pub need: String,
    pub desired_outcome: String,
    pub evidence: String,
    pub indicators: Vec<Indicator>,
}

/// A review meeting as the form or command gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewInput {
    pub held_on: IsoDate,
    pub attended: Vec<String>,
    pub young_person_views: String,
    pub family_views: String,
    pub decisions: String,
    /// What changed in the plan, in words the young person can read.
    pub plan_changes: String,
    /// The next review date agreed; it becomes the plan's review date.
    pub next_review: Option<IsoDate>,
}

impl ReviewInput {
    /// Names from a comma-separated list ("Morag Fraser, Lisa (mum)").
    pub fn names(list: &str) -> Vec<String> {
        list.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Client {
    /// The need an action belongs to, from the index.
    fn need_of_action(&self, child: ChildId, action: ItemId) -> Result<ItemId, ServiceError> {
        index::need_of_action(self.store.connection(), child, action)?
            .ok_or_else(|| ServiceError::not_found("action", action))
    }

    fn person_ref(&self, child: ChildId, person: PersonId) -> Result<PersonRef, ServiceError> {
        let team = self.team(child)?;
        let member = team
            .members
            .get(&person)
            .ok_or_else(|| ServiceError::bad("owner", "the owner must be in the child's team"))?;
        let info = self.dir.people.get(&person);
        Ok(PersonRef {
            person,
            name: self.dir.name_of(person),
            agency: member.agency,
            role_title: info.map(|i| i.role_title.clone()).unwrap_or_default(),
        })
    }

    /// Add a need with its desired outcome and how it will be evidenced.
    pub fn add_need(
        &mut self,
        child: ChildId,
        need: &str,
        outcome: &str,
        evidence: &str,
        indicators: &[Indicator],
    ) -> Result<ItemId, ServiceError> {
        if need.trim().is_empty() {
            return Err(ServiceError::bad("need", "describe the need"));
        }
        let id = ItemId::random();
        self.edit_item::<Need, _>(
            DocKey::Plan(child),
            ItemPath::item("needs", id),
            "add need",
            |slot, me| {
                *slot = Some(Need {
                    id,
                    need: Text::with_value(need),
                    indicators: indicators.to_vec(),
                    desired_outcome: Text::with_value(outcome),
                    evidence: Text::with_value(evidence),
                    actions: BTreeMap::new(),
                    created_by: me.person,
                    created_at: Timestamp::now(),
                    closed: None,
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Change a need's words, outcome, evidence and indicators (the texts
    /// merge with anyone else's concurrent edits).
    pub fn edit_need(
        &mut self,
        child: ChildId,
        need: ItemId,
        input: &NeedInput,
    ) -> Result<(), ServiceError> {
        if input.need.trim().is_empty() {
            return Err(ServiceError::bad("need", "describe the need"));
        }
        self.edit_item::<Need, _>(
            DocKey::Plan(child),
            ItemPath::item("needs", need),
            "edit need",
            |slot, _| {
                let n = slot
                    .as_mut()
                    .ok_or_else(|| ServiceError::not_found("need", need))?;
                n.need.update(&input.need);
                n.desired_outcome.update(&input.desired_outcome);
                n.evidence.update(&input.evidence);
                if n.indicators != input.indicators {
                    n.indicators = input.indicators.clone();
                }
                Ok(())
            },
        )
    }

    /// Close a need, saying why ("Outcome reached"); its actions stay as they are.
    pub fn close_need(
        &mut self,
        child: ChildId,
        need: ItemId,
        reason: &str,
    ) -> Result<(), ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::bad("reason", "say why the need is closed"));
        }
        self.edit_item::<Need, _>(
            DocKey::Plan(child),
            ItemPath::item("needs", need),
            "close need",
            |slot, me| {
                let n = slot
                    .as_mut()
                    .ok_or_else(|| ServiceError::not_found("need", need))?;
                if n.closed.is_some() {
                    return Err(ServiceError::bad("need", "this need is already closed"));
                }
                n.closed = Some(NeedClosed {
                    at: Timestamp::now(),
                    by: me.person,
                    reason: reason.trim().to_owned(),
                });
                Ok(())
            },
        )
    }

    /// Open a closed need again.
    pub fn reopen_need(&mut self, child: ChildId, need: ItemId) -> Result<(), ServiceError> {
        self.edit_item::<Need, _>(
            DocKey::Plan(child),
            ItemPath::item("needs", need),
            "reopen need",
            |slot, _| {
                slot.as_mut()
                    .ok_or_else(|| ServiceError::not_found("need", need))?
                    .closed = None;
                Ok(())
            },
        )
    }

    /// Assess one wellbeing indicator: a new rating in my name and agency,
    /// for today (another person's rating is never changed), and the
    /// strengths and concerns behind it, as one change.
    pub fn assess_wellbeing(
        &mut self,
        child: ChildId,
        indicator: Indicator,
        input: &AssessmentInput,
    ) -> Result<ItemId, ServiceError> {
        if !RATING_RANGE.contains(&input.score) {
            return Err(ServiceError::bad(
                "rating",
                format!("choose a rating from 1 to 10, not {}", input.score),
            ));
        }
        let agency = self.dir.me.agency.ok_or_else(|| {
            ServiceError::bad("rating", "only practitioners on the team rate wellbeing")
        })?;
        let id = ItemId::random();
        self.edit_item::<IndicatorAssessment, _>(
            DocKey::Plan(child),
            ItemPath::item("wellbeing", indicator.as_str()),
            "wellbeing assessment",
            |slot, me| {
                let a = slot.get_or_insert_with(IndicatorAssessment::default);
                if let Some(s) = &input.strengths {
                    a.strengths.update(s);
                }
                if let Some(c) = &input.concerns {
                    a.concerns.update(c);
                }
                a.ratings.insert(
                    id,
                    Rating {
                        id,
                        score: input.score,
                        on: IsoDate::today(),
                        by: me.person,
                        agency,
                        recorded_at: Timestamp::now(),
                        note: input.note.clone(),
                    },
                );
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Rewrite the My World Triangle: how I grow and develop, what I need
    /// from the people who look after me, my wider world (each merged with
    /// anyone else's concurrent edits).
    pub fn edit_my_world(
        &mut self,
        child: ChildId,
        growing: &str,
        care: &str,
        wider_world: &str,
    ) -> Result<(), ServiceError> {
        self.edit_item::<MyWorld, _>(
            DocKey::Plan(child),
            ItemPath::Field("my_world".into()),
            "my world",
            |slot, _| {
                let w = slot.get_or_insert_with(MyWorld::default);
                w.growing.update(growing);
                w.care.update(care);
                w.wider_world.update(wider_world);
                Ok(())
            },
        )
    }

    /// Record a review meeting of the plan. It becomes the last review (the
    /// wheel's "at the last review" values move to its day, and the review
    /// due flag clears if it was held on or after the review date); with a
    /// next review date, that becomes the plan's review date.
    pub fn record_review(
        &mut self,
        child: ChildId,
        input: &ReviewInput,
    ) -> Result<ItemId, ServiceError> {
        if input.held_on > IsoDate::today() {
            return Err(ServiceError::bad(
                "held",
                "a review meeting is recorded once it has been held: the date is after today",
            ));
        }
        if input.attended.is_empty() {
            return Err(ServiceError::bad("attended", "say who attended"));
        }
        if input.decisions.trim().is_empty() {
            return Err(ServiceError::bad("decisions", "say what was decided"));
        }
        if input.next_review.is_some_and(|n| n <= input.held_on) {
            return Err(ServiceError::bad(
                "next",
                "the next review must be after the meeting",
            ));
        }
        let id = ItemId::random();
        self.edit_item::<ReviewMeeting, _>(
            DocKey::Plan(child),
            ItemPath::item("reviews", id),
            "review meeting",
            |slot, me| {
                *slot = Some(ReviewMeeting {
                    id,
                    held_on: input.held_on,
                    attended: input.attended.clone(),
                    young_person_views: Text::with_value(&input.young_person_views),
                    family_views: Text::with_value(&input.family_views),
                    decisions: Text::with_value(&input.decisions),
                    plan_changes: Text::with_value(&input.plan_changes),
                    next_review: input.next_review,
                    recorded_by: me.person,
                    recorded_at: Timestamp::now(),
                });
                Ok(())
            },
        )
        .map_err(|e| match e {
            // A plan written before reviews were recorded has no `reviews`
            // collection, and the gate fixes a plan's collections.
            ServiceError::Document(DocError::Write { source, .. })
                if matches!(*source, WriteError::Missing { .. }) =>
            {
                ServiceError::bad(
                "review",
                    "this plan was made before review meetings could be recorded, so it cannot hold one",
                )
            }
            other => other,
        })?;
        if let Some(next) = input.next_review {
            self.set_review_date(child, Some(next))?;
        }
        Ok(id)
    }

    /// Add an action to a need.
    pub fn add_action(
        &mut self,
        child: ChildId,
        need: ItemId,
        input: &ActionInput,
    ) -> Result<ItemId, ServiceError> {
        if input.what.trim().is_empty() {
            return Err(ServiceError::bad("action", "say what will be done"));
        }
        let owner = input.owner.map(|p| self.person_ref(child, p)).transpose()?;
        let id = ItemId::random();
        self.edit_item::<Need, _>(
            DocKey::Plan(child),
            ItemPath::item("needs", need),
            "add action",
            |slot, _| {
                let n = slot
                    .as_mut()
                    .ok_or_else(|| ServiceError::not_found("need", need))?;
                n.actions.insert(
                    id,
                    Action {
                        id,
                        what: Text::with_value(&input.what),
                        owner,
                        due: input.due,
                        status: ActionStatus::NotStarted,
                        progress: Text::default(),
                    },
                );
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Change an action's status.
    pub fn set_action_status(
        &mut self,
        child: ChildId,
        action: ItemId,
        status: ActionStatus,
    ) -> Result<(), ServiceError> {
        let need = self.need_of_action(child, action)?;
        self.edit_item::<Need, _>(
            DocKey::Plan(child),
            ItemPath::item("needs", need),
            "action status",
            |slot, _| {
                slot.as_mut()
                    .and_then(|n| n.actions.get_mut(&action))
                    .ok_or_else(|| ServiceError::not_found("action", action))?
                    .status = status;
                Ok(())
            },
        )
    }

    /// Rewrite an action's progress note (merged character by character with
    /// anyone else's concurrent edits).
    pub fn update_action_progress(
        &mut self,
        child: ChildId,
        action: ItemId,
        progress: &str,
    ) -> Result<(), ServiceError> {
        let need = self.need_of_action(child, action)?;
        self.edit_item::<Need, _>(
            DocKey::Plan(child),
            ItemPath::item("needs", need),
            "action progress",
            |slot, _| {
                slot.as_mut()
                    .and_then(|n| n.actions.get_mut(&action))
                    .ok_or_else(|| ServiceError::not_found("action", action))?
                    .progress
                    .update(progress);
                Ok(())
            },
        )
    }

    /// Record a wellbeing rating (1 to 10) for an indicator, today.
    pub fn rate_wellbeing(
        &mut self,
        child: ChildId,
        indicator: Indicator,
        score: u8,
        note: &str,
    ) -> Result<ItemId, ServiceError> {
        if !RATING_RANGE.contains(&score) {
            return Err(ServiceError::bad("rating", "choose a rating from 1 to 10"));
        }
        let agency = self
            .dir
            .me
            .agency
            .ok_or_else(|| ServiceError::bad("rating", "only practitioners rate wellbeing"))?;
        let id = ItemId::random();
        self.edit_item::<IndicatorAssessment, _>(
            DocKey::Plan(child),
            ItemPath::item("wellbeing", indicator.as_str()),
            "wellbeing rating",
            |slot, me| {
                slot.get_or_insert_with(IndicatorAssessment::default)
                    .ratings
                    .insert(
                        id,
                        Rating {
                            id,
                            score,
                            on: IsoDate::today(),
                            by: me.person,
                            agency,
                            recorded_at: Timestamp::now(),
                            note: note.to_owned(),
                        },
                    );
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Update an indicator's strengths and concerns.
    pub fn describe_wellbeing(
        &mut self,
        child: ChildId,
        indicator: Indicator,
        strengths: &str,
        concerns: &str,
    ) -> Result<(), ServiceError> {
        self.edit_item::<IndicatorAssessment, _>(
            DocKey::Plan(child),
            ItemPath::item("wellbeing", indicator.as_str()),
            "wellbeing",
            |slot, _| {
                let a = slot.get_or_insert_with(IndicatorAssessment::default);
                a.strengths.update(strengths);
                a.concerns.update(concerns);
                Ok(())
            },
        )
    }

    /// Write down what the family said, in their words (kept apart from the
    /// young person's own views).
    pub fn add_family_view(
        &mut self,
        child: ChildId,
        about: &str,
        said_by: &str,
        words: &str,
    ) -> Result<ItemId, ServiceError> {
        let id = ItemId::random();
        self.edit_item::<ViewEntry, _>(
            DocKey::Plan(child),
            ItemPath::item("family_views", id),
            "family view",
            |slot, me| {
                *slot = Some(ViewEntry {
                    id,
                    about: about.to_owned(),
                    words: Text::with_value(words),
                    said_by: said_by.to_owned(),
                    author: me.person,
                    at: Timestamp::now(),
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Set the plan's next review date.
    pub fn set_review_date(
        &mut self,
        child: ChildId,
        date: Option<IsoDate>,
    ) -> Result<(), ServiceError> {
        self.edit_item::<Option<IsoDate>, _>(
            DocKey::Plan(child),
            ItemPath::Field("review_date".into()),
            "review date",
            |slot, _| {
                *slot = Some(date);
                Ok(())
            },
        )
    }

    /// Withhold a part of the plan from the young person, with the reason
    /// (for the team). The content stays in the team's plan; the server's
    /// copy for the young person leaves it out from now on, history
    /// included. Only the lead professional or a supervisor of the team.
    /// Withholding a part already withheld changes nothing and returns its marker.
    pub fn withhold(
        &mut self,
        child: ChildId,
        section: &str,
        reason: &str,
    ) -> Result<ItemId, ServiceError> {
        let section: Section = section
            .trim()
            .parse()
            .map_err(|e: UnknownSection| ServiceError::bad("section", e.to_string()))?;
        if reason.trim().is_empty() {
            return Err(ServiceError::bad("reason", "say why this is withheld"));
        }
        self.may_withhold(child)?;
        let plan: PlanDoc = self.read(&DocKey::Plan(child))?;
        if let Some(m) = plan.marker_for(section) {
            return Ok(m.id);
        }
        let id = ItemId::random();
        self.edit_item::<WithheldMarker, _>(
            DocKey::Plan(child),
            ItemPath::item("withheld", id),
            "withhold from the young person",
            |slot, me| {
                *slot = Some(WithheldMarker {
                    id,
                    section: section.to_string(),
                    by: me.person,
                    at: Timestamp::now(),
                    reason: reason.trim().to_owned(),
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Lift a withholding: the part reaches the young person's copy again
    /// at the next sync. Returns how many markers were lifted (0 if the
    /// part was not withheld).
    pub fn unwithhold(&mut self, child: ChildId, section: &str) -> Result<usize, ServiceError> {
        let section: Section = section
            .trim()
            .parse()
            .map_err(|e: UnknownSection| ServiceError::bad("section", e.to_string()))?;
        self.may_withhold(child)?;
        let plan: PlanDoc = self.read(&DocKey::Plan(child))?;
        let ids: Vec<ItemId> = plan
            .withheld
            .values()
            .filter(|m| m.section.parse::<Section>().ok() == Some(section))
            .map(|m| m.id)
            .collect();
        for id in &ids {
            self.edit_item::<WithheldMarker, _>(
                DocKey::Plan(child),
                ItemPath::item("withheld", *id),
                "lift a withholding",
                |slot, _| {
                    *slot = None;
                    Ok(())
                },
            )?;
        }
        Ok(ids.len())
    }

    /// The parts of the plan withheld from the young person, with why and
    /// by whom (for the team).
    pub fn withheld_parts(&mut self, child: ChildId) -> Result<Vec<WithheldMarker>, ServiceError> {
        let plan: PlanDoc = self.read(&DocKey::Plan(child))?;
        let mut parts: Vec<WithheldMarker> = plan.withheld.into_values().collect();
        parts.sort_by_key(|m| m.at);
        Ok(parts)
    }

    /// Refused before anything is written unless I lead the team or supervise it.
    fn may_withhold(&self, child: ChildId) -> Result<(), ServiceError> {
        let me = self.dir.me.principal();
        let team = self
            .dir
            .teams
            .get(&child)
            .ok_or_else(|| ServiceError::not_found("child", child))?;
        if me.may_withhold(team) {
            Ok(())
        } else {
            Err(ServiceError::Denied(bothy_shared::policy::Denied {
                person: me.person,
                key: DocKey::Plan(child),
                access: bothy_shared::policy::Access::Write,
                rule: bothy_shared::policy::Rule::WithholdLeadOrSupervisor,
            }))
        }
    }

    /// Add an entry to the child's chronology (in the team record, or my
    /// agency's record if `agency_only`).
    pub fn add_chronology_entry(
        &mut self,
        child: ChildId,
        input: &ChronologyInput,
        agency_only: bool,
    ) -> Result<ItemId, ServiceError> {
        let agency: Agency = self.dir.me.agency.ok_or_else(|| {
            ServiceError::bad("chronology", "only practitioners add to the chronology")
        })?;
        if input.event.trim().is_empty() {
            return Err(ServiceError::bad("event", "say what happened"));
        }
        if input.until.is_some_and(|u| u < input.date) {
            return Err(ServiceError::bad(
                "until",
                "a period cannot end before it starts",
            ));
        }
        let key = if agency_only {
            DocKey::Agency(child, agency)
        } else {
            DocKey::Record(child)
        };
        let id = ItemId::random();
        self.edit_item::<ChronologyEntry, _>(
            key,
            ItemPath::item("chronology", id),
            "chronology",
            |slot, me| {
                *slot = Some(ChronologyEntry {
                    id,
                    date: input.date,
                    until: input.until,
                    event: Text::with_value(&input.event),
                    source_agency: agency,
                    impact: input.impact,
                    impact_note: Text::with_value(&input.impact_note),
                    action: Text::with_value(&input.action),
                    significance: input.significance,
                    recorded_by: me.person,
                    from_visit: None,
                });
                Ok(())
            },
        )?;
        Ok(id)
    }
}
