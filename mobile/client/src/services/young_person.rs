//! The young person's own view: "My plan" in plain words, "My team", "What
//! happens next", and "What I think" on each part of the plan.
//!
//! Built only from the young person's copy of the plan (`young/<child>/<n>`,
//! the only document a young person's device ever receives): the server
//! leaves the content of withheld sections out of it; the markers stay, so
//! "My plan" can say some of it is private for now.

use bothy_shared::docs::*;
use bothy_shared::ids::ItemId;
use bothy_shared::policy::PersonKind;
use serde::Serialize;

use super::Client;
use super::child::view_lines;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MyPlan {
    /// What they like to be called.
    pub name: String,
    /// Why there is a plan, in the team's words.
    pub why: String,
    pub my_team: Vec<MyTeamLine>,
    /// "How things are going": one line per wellbeing area not withheld.
    pub how_things_are: Vec<MyWellbeingLine>,
    pub what_happens_next: Vec<NextStep>,
    pub what_i_think: Vec<ViewLine>,
    pub next_review: Option<IsoDate>,
    /// Part of the plan is withheld: "Some of your plan is private for now.
    /// Your worker can talk to you about it."
    pub some_private: bool,
    /// The last time the team met about the plan, and what changed.
    pub last_review: Option<MyReview>,
    /// "Moving on": getting ready for adult services, when a move is
    /// needed and the team has not withheld it.
    pub moving_on: Option<super::MyMovingOn>,
}

/// The last review meeting, as the young person reads it: "We met on
/// 3 March. What changed: ...".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyReview {
    pub met_on: IsoDate,
    /// What changed in the plan, in the team's plain words (may be empty).
    pub what_changed: String,
    /// What they said at the meeting.
    pub what_i_said: String,
}

/// What "My plan" says when part of it is withheld.
pub const PRIVATE_FOR_NOW: &str =
    "Some of your plan is private for now. Your worker can talk to you about it.";

/// The words "My plan" is written in, shared by the screen and the young
/// person's printed plan (`crate::export`), so both say the same thing.
pub mod my_plan_words {
    pub const TITLE: &str = "My plan";
    pub const WHY: &str = "Why I have a plan";
    pub const MY_TEAM: &str = "My team";
    /// After the lead professional's name.
    pub const BRINGS_TEAM_TOGETHER: &str = " — the person who brings your team together";
    pub const HOW_THINGS_ARE: &str = "How things are going";
    pub const GOING_WELL: &str = "Going well";
    pub const WORRIES: &str = "Worries";
    pub const WHAT_HAPPENS_NEXT: &str = "What happens next";
    pub const NOTHING_PLANNED: &str = "Nothing planned yet.";
    pub const LAST_MET: &str = "When we last met";
    pub const WHAT_CHANGED: &str = "What changed";
    pub const WHAT_I_SAID: &str = "What I said";
    pub const MOVING_ON: &str = "Moving on";
    pub const WHAT_I_THINK: &str = "What I think";

    /// The first line of "My plan".
    pub fn hello(name: &str) -> String {
        format!("Hi {name}. This is your plan. You can add what you think about any part of it.")
    }
}

pub use super::child::ViewLine;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyTeamLine {
    pub name: String,
    /// "social worker", "guidance teacher"…
    pub role: String,
    pub is_lead: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyWellbeingLine {
    /// The section key to attach "What I think" to (`wellbeing/safe`).
    pub about: String,
    pub label: &'static str,
    pub now: Option<u8>,
    pub going_well: String,
    pub worries: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStep {
    /// The section key to attach "What I think" to (`need/<id>`).
    pub about: String,
    pub what: String,
    pub who: String,
    pub by_when: Option<IsoDate>,
    /// Plain words: "Not started yet", "Happening now", "Done".
    pub status: &'static str,
}

fn plain_status(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::NotStarted => "Not started yet",
        ActionStatus::InProgress => "Happening now",
        ActionStatus::Done => "Done",
        ActionStatus::Stuck => "Stuck — your team is working on it",
        ActionStatus::NoLongerNeeded => "Not needed any more",
    }
}

impl MyPlan {
    /// "My plan" from the young person's copy of the plan (or the team's
    /// plan projected by [`young_copy`], which is the same thing): every
    /// section a marker withholds is left out. Pure.
    pub fn of(plan: &PlanDoc) -> MyPlan {
        let withheld: Vec<&str> = plan.withheld.values().map(|w| w.section.as_str()).collect();
        let hidden = |about: &str| {
            withheld
                .iter()
                .any(|w| about == *w || about.starts_with(&format!("{w}/")))
        };
        let lead = plan.lead_professional.as_ref().map(|p| p.person);
        let mut my_team: Vec<MyTeamLine> = plan
            .team
            .values()
            .map(|p| MyTeamLine {
                name: p.name.clone(),
                role: p.role_title.clone(),
                is_lead: Some(p.person) == lead,
            })
            .collect();
        my_team.sort_by_key(|l| (!l.is_lead, l.name.clone()));
        let how_things_are = Indicator::ALL
            .iter()
            .map(|&i| (format!("wellbeing/{}", i.as_str()), i))
            .filter(|(about, _)| !hidden(about))
            .map(|(about, i)| {
                let a = plan.wellbeing.get(i);
                MyWellbeingLine {
                    about,
                    label: i.label(),
                    now: a.latest().map(|r| r.score),
                    going_well: a.strengths.as_str().to_owned(),
                    worries: a.concerns.as_str().to_owned(),
                }
            })
            .collect();
        let mut what_happens_next: Vec<NextStep> = plan
            .needs
            .values()
            .filter(|n| !hidden(&format!("need/{}", n.id)))
            .flat_map(|n| {
                n.actions
                    .values()
                    .filter(|a| !hidden(&format!("need/{}/action/{}", n.id, a.id)))
                    .map(move |a| NextStep {
                        about: format!("need/{}", n.id),
                        what: a.what.as_str().to_owned(),
                        who: a
                            .owner
                            .as_ref()
                            .map(|o| o.name.clone())
                            .unwrap_or_else(|| "Your team".to_owned()),
                        by_when: a.due,
                        status: plain_status(a.status),
                    })
            })
            .collect();
        what_happens_next.sort_by_key(|s| (s.status == "Done", s.by_when));
        MyPlan {
            name: if plan.child.preferred_name.is_empty() {
                plan.child.name.clone()
            } else {
                plan.child.preferred_name.clone()
            },
            why: if hidden("reason") {
                String::new()
            } else {
                plan.reason.as_str().to_owned()
            },
            my_team,
            how_things_are,
            what_happens_next,
            what_i_think: view_lines(&plan.young_person_views),
            next_review: plan.review_date,
            some_private: !plan.withheld.is_empty(),
            last_review: plan
                .last_review()
                .filter(|_| !hidden("reviews"))
                .map(|r| MyReview {
                    met_on: r.held_on,
                    what_changed: r.plan_changes.as_str().to_owned(),
                    what_i_said: r.young_person_views.as_str().to_owned(),
                }),
            moving_on: if hidden("transition") {
                None
            } else {
                super::MyMovingOn::of(&plan.transition)
            },
        }
    }
}

impl Client {
    fn my_child(&self) -> Result<bothy_shared::ids::ChildId, ServiceError> {
        match self.dir.me.kind {
            PersonKind::YoungPerson { child } => Ok(child),
            _ => Err(ServiceError::bad(
                "my plan",
                "only a young person has \"My plan\"",
            )),
        }
    }

    /// The copy of the plan this device holds: the newest generation of
    /// `young/<child>/<n>` (an older one stays only while it holds views
    /// not yet synced), or the one the directory names before the first sync.
    pub fn my_copy_key(&self) -> Result<DocKey, ServiceError> {
        let child = self.my_child()?;
        let held = self
            .document_keys()?
            .into_iter()
            .filter_map(|k| match k {
                DocKey::Young(c, n) if c == child => Some(n),
                _ => None,
            })
            .max();
        let listed = self.dir.teams.get(&child).and_then(|t| t.young_copy);
        Ok(DocKey::Young(child, held.or(listed).unwrap_or(1)))
    }

    /// "My plan", for the young person using this device.
    pub fn my_plan(&mut self) -> Result<MyPlan, ServiceError> {
        let key = self.my_copy_key()?;
        let plan: PlanDoc = self.read(&key)?;
        Ok(MyPlan::of(&plan))
    }

    /// "What I think": the young person adds their own words about a part of
    /// their plan (`overall`, `need/<id>`, `wellbeing/<indicator>`). Saved at once, offline.
    pub fn add_what_i_think(&mut self, about: &str, words: &str) -> Result<ItemId, ServiceError> {
        let key = self.my_copy_key()?;
        if words.trim().is_empty() {
            return Err(ServiceError::bad("what I think", "write something first"));
        }
        let said_by = self
            .dir
            .me
            .name
            .split_whitespace()
            .next()
            .unwrap_or("Me")
            .to_owned();
        let id = ItemId::random();
        self.edit_item::<ViewEntry, _>(
            key,
            ItemPath::item("young_person_views", id),
            "what I think",
            |slot, me| {
                *slot = Some(ViewEntry {
                    id,
                    about: about.to_owned(),
                    words: Text::with_value(words),
                    said_by: said_by.clone(),
                    author: me.person,
                    at: Timestamp::now(),
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Change something the young person wrote earlier.
    pub fn edit_what_i_think(&mut self, id: ItemId, words: &str) -> Result<(), ServiceError> {
        let key = self.my_copy_key()?;
        self.edit_item::<ViewEntry, _>(
            key,
            ItemPath::item("young_person_views", id),
            "what I think",
            |slot, _| {
                slot.as_mut()
                    .ok_or_else(|| ServiceError::not_found("view", id))?
                    .words
                    .update(words);
                Ok(())
            },
        )
    }
}
