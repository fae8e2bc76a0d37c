//! Editing the child's plan and the chronology.

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
                });
                Ok(())
            },
        )?;
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

    /// Record something the young person or family must not see. The content
    /// goes to the team record; the plan keeps only a marker, so it never
    /// reaches the young person's device, history included.
    pub fn withhold(
        &mut self,
        child: ChildId,
        section: &str,
        content: &str,
        reason: &str,
    ) -> Result<ItemId, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::bad("reason", "say why this is withheld"));
        }
        let id = ItemId::random();
        self.edit_item::<WithheldSection, _>(
            DocKey::Record(child),
            ItemPath::item("withheld", id),
            "withheld section",
            |slot, me| {
                *slot = Some(WithheldSection {
                    id,
                    section: section.to_owned(),
                    content: Text::with_value(content),
                    reason: reason.to_owned(),
                    by: me.person,
                    at: Timestamp::now(),
                });
                Ok(())
            },
        )?;
        self.edit_item::<WithheldMarker, _>(
            DocKey::Plan(child),
            ItemPath::item("withheld", id),
            "withheld marker",
            |slot, me| {
                *slot = Some(WithheldMarker {
                    id,
                    section: section.to_owned(),
                    by: me.person,
                    at: Timestamp::now(),
                });
                Ok(())
            },
        )?;
        Ok(id)
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
