//! The child's plan (`plan/<child>`): read by the team and the young person.
//!
//! Everything written here reaches the young person's device, history
//! included. Content to be withheld from the young person or family is never
//! written here: it goes to the team record ([`RecordDoc::withheld`]) and the
//! plan keeps only a [`WithheldMarker`].
//!
//! [`RecordDoc::withheld`]: super::RecordDoc

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile, Text};

use super::{CaseDocument, DocKey, Invalid, IsoDate, SCHEMA_VERSION, Timestamp, check_keys};
use crate::ids::{Agency, ChildId, ItemId, PersonId};
use crate::slug::slugs;

/// The child's plan.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct PlanDoc {
    pub schema_version: u64,
    pub child_id: ChildId,
    pub child: ChildDetails,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub carers: BTreeMap<ItemId, Carer>,
    pub named_person: Option<PersonRef>,
    pub lead_professional: Option<PersonRef>,
    /// The team as shown on the plan ("My team"); who may read and write is
    /// decided by the server's directory, not by this list.
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub team: BTreeMap<PersonId, PersonRef>,
    /// Why there is a plan.
    pub reason: Text,
    /// Legal status where compulsory measures apply; empty otherwise.
    pub legal_status: String,
    pub wellbeing: Wellbeing,
    pub my_world: MyWorld,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub needs: BTreeMap<ItemId, Need>,
    /// The young person's own views ("What I think"), one entry per thing said.
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub young_person_views: BTreeMap<ItemId, ViewEntry>,
    /// The family's views, kept apart from the young person's.
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub family_views: BTreeMap<ItemId, ViewEntry>,
    pub review_date: Option<IsoDate>,
    /// Markers for sections the team holds back from the young person/family.
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub withheld: BTreeMap<ItemId, WithheldMarker>,
    pub transition: TransitionPlan,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct ChildDetails {
    pub name: String,
    pub preferred_name: String,
    pub date_of_birth: Option<IsoDate>,
    pub pronouns: String,
    pub communication_needs: Text,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Carer {
    pub id: ItemId,
    pub name: String,
    pub relationship: String,
    pub parental_responsibility: bool,
}

/// A person named on the plan, with their agency.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct PersonRef {
    pub person: PersonId,
    pub name: String,
    pub agency: Agency,
    /// What the child and family call their role ("health visitor", "guidance teacher").
    pub role_title: String,
}

/// The eight SHANARRI wellbeing indicators.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum Indicator {
    Safe,
    Healthy,
    Achieving,
    Nurtured,
    Active,
    Respected,
    Responsible,
    Included,
}

slugs!(Indicator {
    Safe => "safe", "Safe";
    Healthy => "healthy", "Healthy";
    Achieving => "achieving", "Achieving";
    Nurtured => "nurtured", "Nurtured";
    Active => "active", "Active";
    Respected => "respected", "Respected";
    Responsible => "responsible", "Responsible";
    Included => "included", "Included";
});

/// The wellbeing assessment: one entry per SHANARRI indicator.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct Wellbeing {
    pub safe: IndicatorAssessment,
    pub healthy: IndicatorAssessment,
    pub achieving: IndicatorAssessment,
    pub nurtured: IndicatorAssessment,
    pub active: IndicatorAssessment,
    pub respected: IndicatorAssessment,
    pub responsible: IndicatorAssessment,
    pub included: IndicatorAssessment,
}

impl Wellbeing {
    pub fn get(&self, i: Indicator) -> &IndicatorAssessment {
        match i {
            Indicator::Safe => &self.safe,
            Indicator::Healthy => &self.healthy,
            Indicator::Achieving => &self.achieving,
            Indicator::Nurtured => &self.nurtured,
            Indicator::Active => &self.active,
            Indicator::Respected => &self.respected,
            Indicator::Responsible => &self.responsible,
            Indicator::Included => &self.included,
        }
    }

    pub fn get_mut(&mut self, i: Indicator) -> &mut IndicatorAssessment {
        match i {
            Indicator::Safe => &mut self.safe,
            Indicator::Healthy => &mut self.healthy,
            Indicator::Achieving => &mut self.achieving,
            Indicator::Nurtured => &mut self.nurtured,
            Indicator::Active => &mut self.active,
            Indicator::Respected => &mut self.respected,
            Indicator::Responsible => &mut self.responsible,
            Indicator::Included => &mut self.included,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct IndicatorAssessment {
    pub strengths: Text,
    pub concerns: Text,
    /// Every rating ever given, so change over time can be shown.
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub ratings: BTreeMap<ItemId, Rating>,
}

impl IndicatorAssessment {
    /// Ratings oldest first (by date, then by when they were recorded).
    pub fn history(&self) -> Vec<&Rating> {
        let mut v: Vec<&Rating> = self.ratings.values().collect();
        v.sort_by_key(|r| (r.on, r.recorded_at));
        v
    }

    /// The most recent rating.
    pub fn latest(&self) -> Option<&Rating> {
        self.history().pop()
    }

    /// The most recent rating on or before `date`.
    pub fn as_of(&self, date: IsoDate) -> Option<&Rating> {
        self.history().into_iter().rev().find(|r| r.on <= date)
    }
}

/// Lowest and highest wellbeing ratings (1 = serious concern, 10 = thriving).
pub const RATING_RANGE: std::ops::RangeInclusive<u8> = 1..=10;

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Rating {
    pub id: ItemId,
    pub score: u8,
    pub on: IsoDate,
    pub by: PersonId,
    pub agency: Agency,
    pub recorded_at: Timestamp,
    pub note: String,
}

/// The My World Triangle.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct MyWorld {
    /// How I grow and develop.
    pub growing: Text,
    /// What I need from the people who look after me.
    pub care: Text,
    /// My wider world.
    pub wider_world: Text,
}

/// A need, the outcome wanted, and the actions that meet it.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Need {
    pub id: ItemId,
    pub need: Text,
    pub indicators: Vec<Indicator>,
    pub desired_outcome: Text,
    /// How we will know the outcome has been reached.
    pub evidence: Text,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub actions: BTreeMap<ItemId, Action>,
    pub created_by: PersonId,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Action {
    pub id: ItemId,
    pub what: Text,
    pub owner: Option<PersonRef>,
    pub due: Option<IsoDate>,
    pub status: ActionStatus,
    pub progress: Text,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum ActionStatus {
    NotStarted,
    InProgress,
    Done,
    Stuck,
    NoLongerNeeded,
}

slugs!(ActionStatus {
    NotStarted => "not-started", "Not started";
    InProgress => "in-progress", "In progress";
    Done => "done", "Done";
    Stuck => "stuck", "Stuck";
    NoLongerNeeded => "no-longer-needed", "No longer needed";
});

impl ActionStatus {
    /// Still something someone has to do.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ActionStatus::NotStarted | ActionStatus::InProgress | ActionStatus::Stuck
        )
    }
}

/// Something the young person or family said about the plan, in their own words.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct ViewEntry {
    pub id: ItemId,
    /// The part of the plan it is about: `overall`, `need/<id>`, `wellbeing/<indicator>`…
    pub about: String,
    pub words: Text,
    /// Who said it, as they want to be named ("Jamie", "Mum").
    pub said_by: String,
    /// Who wrote it into Bothy (the young person themselves, or a practitioner with them).
    pub author: PersonId,
    pub at: Timestamp,
}

/// A marker that part of the plan is held back from the young person/family.
/// The content lives in the team record under the same id.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct WithheldMarker {
    pub id: ItemId,
    /// The part of the plan it belongs with (`need/<id>`, `wellbeing/safe`…).
    pub section: String,
    pub by: PersonId,
    pub at: Timestamp,
}

/// Planning for the move to adult services (from age 15).
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct TransitionPlan {
    pub needed: bool,
    pub adult_services: Text,
    pub plan: Text,
    pub start_by: Option<IsoDate>,
}

impl PlanDoc {
    /// An empty plan for a child.
    pub fn new(child_id: ChildId, child: ChildDetails) -> Self {
        PlanDoc {
            schema_version: SCHEMA_VERSION,
            child_id,
            child,
            carers: BTreeMap::new(),
            named_person: None,
            lead_professional: None,
            team: BTreeMap::new(),
            reason: Text::default(),
            legal_status: String::new(),
            wellbeing: Wellbeing::default(),
            my_world: MyWorld::default(),
            needs: BTreeMap::new(),
            young_person_views: BTreeMap::new(),
            family_views: BTreeMap::new(),
            review_date: None,
            withheld: BTreeMap::new(),
            transition: TransitionPlan::default(),
        }
    }

    /// Find an action anywhere in the plan, with its need.
    pub fn action(&self, id: ItemId) -> Option<(&Need, &Action)> {
        self.needs
            .values()
            .find_map(|n| n.actions.get(&id).map(|a| (n, a)))
    }

    pub fn action_mut(&mut self, id: ItemId) -> Option<&mut Action> {
        self.needs.values_mut().find_map(|n| n.actions.get_mut(&id))
    }
}

impl CaseDocument for PlanDoc {
    fn fits(key: &DocKey) -> bool {
        matches!(key, DocKey::Plan(_))
    }

    fn schema_version(&self) -> u64 {
        self.schema_version
    }

    fn validate(&self, key: &DocKey) -> Result<(), Invalid> {
        if self.child_id != key.child() {
            return Err(Invalid::at(
                "child_id",
                format!("this plan is for {}, stored as {key}", self.child_id),
            ));
        }
        check_keys("carers", &self.carers, |c| &c.id)?;
        check_keys("team", &self.team, |p| &p.person)?;
        check_keys("needs", &self.needs, |n| &n.id)?;
        check_keys("young_person_views", &self.young_person_views, |v| &v.id)?;
        check_keys("family_views", &self.family_views, |v| &v.id)?;
        check_keys("withheld", &self.withheld, |w| &w.id)?;
        for i in Indicator::ALL {
            super::items::validate_assessment(
                &super::ItemPath::item("wellbeing", i.as_str()),
                self.wellbeing.get(i),
            )?;
        }
        for n in self.needs.values() {
            super::items::validate_need(
                &super::ItemPath::item("needs", n.id),
                &n.id.to_string(),
                n,
            )?;
        }
        Ok(())
    }
}
