//! "Moving on": the plan's transition section (is a transition to adult
//! services needed, which services will help, the plan, when it starts),
//! the caseload's flag for a young person of 15 or over without one, and
//! how the young person's own "My plan" says it.
//!
//! The section is the team's to write, like every other part of the plan
//! (the gate refuses the young person, and a supervisor outside the team);
//! the lead professional can withhold it from the young person (`transition`).

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId};
use serde::{Deserialize, Serialize};

use super::Client;
use super::child::age_on;
use crate::error::ServiceError;

/// The transition section as the form or the command gives it: the whole
/// section, saved as one change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransitionInput {
    /// Is a transition to adult services needed?
    pub needed: bool,
    /// The adult services who will help (ticked on the form).
    pub services: Vec<Agency>,
    /// The plan, in words.
    pub plan: String,
    /// When it starts by.
    pub start_by: Option<IsoDate>,
}

/// A young person of [`TRANSITION_FROM_AGE`] or over (on `today`, from
/// their date of birth) whose plan has no transition plan: the caseload
/// flags them. `has_plan` is `None` when the index does not know yet (a
/// row written before it kept the answer): not flagged rather than guessed.
pub fn transition_plan_missing(
    date_of_birth: Option<IsoDate>,
    has_plan: Option<bool>,
    today: IsoDate,
) -> bool {
    date_of_birth.is_some_and(|dob| age_on(dob, today) >= TRANSITION_FROM_AGE)
        && has_plan == Some(false)
}

/// "Moving on" in the young person's "My plan": plain words, from their
/// copy of the plan. `None` when nobody has said a move is needed, or the
/// team has withheld it from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyMovingOn {
    /// "Getting ready for when you are older: …" (the plan's words).
    pub plan: String,
    /// Who will help ("Adult social work", "Housing").
    pub who_will_help: Vec<String>,
    pub starting_by: Option<IsoDate>,
}

impl MyMovingOn {
    pub(crate) fn of(t: &TransitionPlan) -> Option<MyMovingOn> {
        if !t.needed {
            return None;
        }
        Some(MyMovingOn {
            plan: t.plan.as_str().trim().to_owned(),
            who_will_help: super::who_will_help(&t.services, t.adult_services.as_str()),
            starting_by: t.start_by,
        })
    }
}

/// A change to the transition section that keeps what it leaves out
/// (`bothy transition`: options not given keep what the plan says).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransitionUpdate {
    pub needed: bool,
    /// `None` keeps the services the plan names.
    pub services: Option<Vec<Agency>>,
    /// `None` keeps the plan's words.
    pub plan: Option<String>,
    /// `None` keeps the date.
    pub start_by: Option<IsoDate>,
}

/// Each service once, in the order given.
fn once_each(services: &[Agency]) -> Vec<Agency> {
    let mut out: Vec<Agency> = Vec::new();
    for a in services {
        if !out.contains(a) {
            out.push(*a);
        }
    }
    out
}

impl Client {
    /// Record the plan's transition section ("Moving on"): whether a move
    /// to adult services is needed, the services who will help, the plan
    /// and when it starts by, in my name and now. The plan's words merge
    /// with anyone else's concurrent edits; services are listed once each,
    /// in the order given. Marking it not needed keeps the words and
    /// services (they are not lost if it is needed again later).
    pub fn set_transition(
        &mut self,
        child: ChildId,
        input: &TransitionInput,
    ) -> Result<(), ServiceError> {
        self.write_transition(
            child,
            input.needed,
            Some(&input.services),
            Some(&input.plan),
            Some(input.start_by),
        )
    }

    /// [`set_transition`](Self::set_transition) for the parts `change`
    /// gives; the rest stays as the plan says.
    pub fn change_transition(
        &mut self,
        child: ChildId,
        change: &TransitionUpdate,
    ) -> Result<(), ServiceError> {
        self.write_transition(
            child,
            change.needed,
            change.services.as_deref(),
            change.plan.as_deref(),
            change.start_by.map(Some),
        )
    }

    /// One change to the section: `None` keeps that part as it is.
    fn write_transition(
        &mut self,
        child: ChildId,
        needed: bool,
        services: Option<&[Agency]>,
        plan: Option<&str>,
        start_by: Option<Option<IsoDate>>,
    ) -> Result<(), ServiceError> {
        self.edit_item::<TransitionPlan, _>(
            DocKey::Plan(child),
            ItemPath::Field("transition".into()),
            "transition",
            |slot, me| {
                let t = slot.get_or_insert_with(TransitionPlan::default);
                t.needed = needed;
                if let Some(words) = plan {
                    t.plan.update(words);
                }
                if let Some(date) = start_by {
                    t.start_by = date;
                }
                if let Some(services) = services.map(once_each)
                    && t.services != services
                {
                    t.services = services;
                }
                t.recorded_by = Some(me.person);
                t.recorded_at = Some(Timestamp::now());
                Ok(())
            },
        )
    }

    /// The transition section as it stands, read from the plan; the
    /// default while nobody has recorded it.
    pub fn transition(&mut self, child: ChildId) -> Result<TransitionPlan, ServiceError> {
        Ok(self
            .read_item::<TransitionPlan>(
                &DocKey::Plan(child),
                &ItemPath::Field("transition".into()),
            )?
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> IsoDate {
        s.parse().unwrap_or_else(|_| unreachable!("a test date"))
    }

    #[test]
    fn fifteen_and_over_without_a_plan_is_flagged() {
        let today = day("2026-12-03");
        let dob = Some(day("2011-12-03"));
        assert!(transition_plan_missing(dob, Some(false), today), "15 today");
        assert!(!transition_plan_missing(
            Some(day("2011-12-04")),
            Some(false),
            today
        ));
        assert!(!transition_plan_missing(dob, Some(true), today), "has one");
        assert!(!transition_plan_missing(dob, None, today), "not known yet");
        assert!(
            !transition_plan_missing(None, Some(false), today),
            "no date of birth"
        );
    }

    #[test]
    fn my_moving_on_names_the_services_in_plain_words() {
        let mut t = TransitionPlan {
            needed: true,
            plan: Text::with_value(" Visit the college "),
            services: vec![Agency::AdultSocialWork, Agency::Housing],
            adult_services: Text::with_value("Throughcare"),
            ..TransitionPlan::default()
        };
        let m = MyMovingOn::of(&t).unwrap_or_else(|| unreachable!("needed"));
        assert_eq!(m.plan, "Visit the college");
        assert_eq!(
            m.who_will_help,
            ["Adult social work", "Housing", "Throughcare"]
        );
        t.needed = false;
        assert_eq!(MyMovingOn::of(&t), None);
    }
}
