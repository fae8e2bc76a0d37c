//! The child's plan (`plan/<child>`): read by the team; the young person
//! reads the server's copy of it (`young/<child>/<n>`, same schema, see
//! [`super::young_copy`]).
//!
//! A part withheld from the young person stays here, in the team's plan, with
//! a [`WithheldMarker`] naming its section and why; the young person's copy
//! leaves its content out. (Plans written before kept withheld content in the
//! team record, [`RecordDoc::withheld`], with a marker here: that still reads.)
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
    /// Review meetings held, by id. Plans written before reviews were
    /// recorded lack the collection and read as having none (the gate fixes
    /// a document's collections once it exists, so such a plan keeps none).
    #[autosurgeon(
        with = "autosurgeon::map_with_parseable_keys",
        missing = "BTreeMap::new"
    )]
    pub reviews: BTreeMap<ItemId, ReviewMeeting>,
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
    /// Set when the team closes the need; `None` while it is open. Needs
    /// written before needs could be closed lack the key and read as open.
    #[autosurgeon(missing = "Option::default")]
    pub closed: Option<NeedClosed>,
}

impl Need {
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }
}

/// When, by whom and why a need was closed.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct NeedClosed {
    pub at: Timestamp,
    pub by: PersonId,
    /// "Outcome reached", "No longer needed: moved school"…
    pub reason: String,
}

/// A review meeting of the child's plan: who came, what the young person and
/// the family said, what was decided and what changed in the plan.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct ReviewMeeting {
    pub id: ItemId,
    /// The day the meeting was held.
    pub held_on: IsoDate,
    /// Who attended, as written ("Morag Fraser", "Lisa (mum)").
    pub attended: Vec<String>,
    pub young_person_views: Text,
    pub family_views: Text,
    pub decisions: Text,
    /// What changed in the plan, in words the young person can read.
    pub plan_changes: Text,
    /// The next review date agreed at the meeting, if one was.
    pub next_review: Option<IsoDate>,
    pub recorded_by: PersonId,
    pub recorded_at: Timestamp,
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

/// A marker that part of the plan is held back from the young person.
/// The content stays where it is in the team's plan; the young person's copy
/// leaves it out (see [`super::young_copy`]). Older markers pointed at
/// content in the team record under the same id.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct WithheldMarker {
    pub id: ItemId,
    /// The part of the plan it belongs with (`need/<id>`, `wellbeing/safe`…):
    /// see [`super::Section`].
    pub section: String,
    pub by: PersonId,
    pub at: Timestamp,
    /// Why it is withheld, for the team (empty in the young person's copy,
    /// and in markers written before reasons were kept).
    #[autosurgeon(missing = "String::new")]
    pub reason: String,
}

/// Planning for the move to adult services (from age
/// [`TRANSITION_FROM_AGE`]): is a transition needed, which adult services
/// will help, the plan, and when it starts.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct TransitionPlan {
    pub needed: bool,
    /// Services named in words (other services, or all of them in plans
    /// written before [`services`](Self::services) existed).
    pub adult_services: Text,
    pub plan: Text,
    pub start_by: Option<IsoDate>,
    /// The adult services who will help, by agency. Plans written before
    /// December 2026 (issue 15) lack the key and read as naming none.
    #[autosurgeon(missing = "Vec::new")]
    pub services: Vec<Agency>,
    /// Who last recorded the section and when; `None` until someone does
    /// (plans written before issue 15 lack both keys).
    #[autosurgeon(missing = "Option::default")]
    pub recorded_by: Option<PersonId>,
    #[autosurgeon(missing = "Option::default")]
    pub recorded_at: Option<Timestamp>,
}

/// The age from which a young person's plan says how they will move on to
/// adult services; younger children need no transition plan yet.
pub const TRANSITION_FROM_AGE: i64 = 15;

impl TransitionPlan {
    /// Someone has said whether a transition is needed. A plan written
    /// before the section was recorded by name counts when it says one is.
    pub fn is_recorded(&self) -> bool {
        self.recorded_at.is_some() || self.needed
    }

    /// There is a transition plan: recorded as not needed, or needed with
    /// the plan written down. A young person of [`TRANSITION_FROM_AGE`] or
    /// over without one is flagged on the caseload.
    pub fn has_plan(&self) -> bool {
        self.is_recorded() && (!self.needed || !self.plan.as_str().trim().is_empty())
    }
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
            reviews: BTreeMap::new(),
        }
    }

    /// The latest review meeting held (by the day it was held, then by when
    /// it was recorded).
    pub fn last_review(&self) -> Option<&ReviewMeeting> {
        last_review(self.reviews.values())
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

/// The latest of `reviews` (by the day held, then when recorded).
pub fn last_review<'a>(
    reviews: impl IntoIterator<Item = &'a ReviewMeeting>,
) -> Option<&'a ReviewMeeting> {
    reviews
        .into_iter()
        .max_by_key(|r| (r.held_on, r.recorded_at, r.id))
}

impl CaseDocument for PlanDoc {
    fn fits(key: &DocKey) -> bool {
        key.is_plan()
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
        check_keys("reviews", &self.reviews, |r| &r.id)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::docs::{read_document, validate_item};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};

    fn plan() -> (DocKey, PlanDoc) {
        let child = ChildId::random();
        let mut plan = PlanDoc::new(
            child,
            ChildDetails {
                name: "Sam Test".into(),
                ..ChildDetails::default()
            },
        );
        let need = ItemId::random();
        plan.needs.insert(
            need,
            Need {
                id: need,
                need: Text::with_value("Sam needs a bike"),
                indicators: vec![Indicator::Active],
                desired_outcome: Text::default(),
                evidence: Text::default(),
                actions: BTreeMap::new(),
                created_by: PersonId::random(),
                created_at: Timestamp(1),
                closed: None,
            },
        );
        (DocKey::Plan(child), plan)
    }

    /// A plan as a build before reviews and closed needs wrote it: the same
    /// document without `reviews` at the root and `closed` in each need.
    #[test]
    fn a_plan_written_before_reviews_and_closed_needs_still_reads() {
        let (key, value) = plan();
        let mut doc = AutoCommit::new().with_actor(ActorId::random());
        autosurgeon::reconcile(&mut doc, &value).unwrap();
        doc.delete(ROOT, "reviews").unwrap();
        let needs = match doc.get(ROOT, "needs").unwrap() {
            Some((_, id)) => id,
            None => panic!("no needs"),
        };
        let need = value.needs.keys().next().unwrap().to_string();
        let need_obj = match doc.get(&needs, need.as_str()).unwrap() {
            Some((_, id)) => id,
            None => panic!("no need"),
        };
        doc.delete(&need_obj, "closed").unwrap();
        assert!(doc.get(ROOT, "reviews").unwrap().is_none());

        let read: PlanDoc = read_document(&doc, &key).unwrap();
        assert!(read.reviews.is_empty());
        assert!(read.last_review().is_none());
        let n = read.needs.values().next().unwrap();
        assert!(n.is_open() && n.closed.is_none());
        assert_eq!(n.need.as_str(), "Sam needs a bike");
        // One item read on its own (as the gate and the index do) reads too.
        validate_item(&doc, &key, &crate::docs::ItemPath::item("needs", &need)).unwrap();
    }

    /// A transition section as a build before issue 15 wrote it: no
    /// `services`, `recorded_by` or `recorded_at`.
    #[test]
    fn a_transition_written_before_services_and_recorded_still_reads() {
        let (key, mut value) = plan();
        value.transition.needed = true;
        value.transition.plan = Text::with_value("Meet the adult team");
        let mut doc = AutoCommit::new().with_actor(ActorId::random());
        autosurgeon::reconcile(&mut doc, &value).unwrap();
        let transition = match doc.get(ROOT, "transition").unwrap() {
            Some((_, id)) => id,
            None => panic!("no transition"),
        };
        for k in ["services", "recorded_by", "recorded_at"] {
            doc.delete(&transition, k).unwrap();
        }
        let read: PlanDoc = read_document(&doc, &key).unwrap();
        assert!(read.transition.services.is_empty());
        assert_eq!(read.transition.recorded_at, None);
        // Needed, with a plan: recorded, and a plan.
        assert!(read.transition.is_recorded() && read.transition.has_plan());
        validate_item(
            &doc,
            &key,
            &crate::docs::ItemPath::Field("transition".into()),
        )
        .unwrap();
    }

    #[test]
    fn a_transition_plan_is_recorded_as_not_needed_or_needed_with_words() {
        let mut t = TransitionPlan::default();
        assert!(!t.is_recorded() && !t.has_plan(), "never recorded");
        t.recorded_at = Some(Timestamp(1));
        assert!(t.has_plan(), "recorded as not needed");
        t.needed = true;
        assert!(!t.has_plan(), "needed, with no plan written");
        t.plan = Text::with_value("   ");
        assert!(!t.has_plan(), "blank words are no plan");
        t.plan = Text::with_value("Meet the adult team in March");
        assert!(t.has_plan());
    }

    #[test]
    fn a_new_plan_has_an_empty_reviews_collection() {
        let (key, value) = plan();
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &value).unwrap();
        assert!(matches!(
            doc.get(ROOT, "reviews").unwrap(),
            Some((automerge::Value::Object(ObjType::Map), _))
        ));
        let read: PlanDoc = read_document(&doc, &key).unwrap();
        assert_eq!(read, value);
    }

    #[test]
    fn ratings_outside_one_to_ten_are_refused() {
        for (score, ok) in [(0, false), (1, true), (10, true), (11, false)] {
            let (key, mut value) = plan();
            let id = ItemId::random();
            value.wellbeing.safe.ratings.insert(
                id,
                Rating {
                    id,
                    score,
                    on: IsoDate::today(),
                    by: PersonId::random(),
                    agency: Agency::SocialWork,
                    recorded_at: Timestamp(2),
                    note: String::new(),
                },
            );
            let got = value.validate(&key);
            assert_eq!(got.is_ok(), ok, "score {score}: {got:?}");
            if let Err(e) = got {
                assert!(e.path.ends_with("/score"), "{e}");
            }
        }
    }

    #[test]
    fn a_review_must_sit_under_its_own_id() {
        let (key, mut value) = plan();
        let id = ItemId::random();
        let review = ReviewMeeting {
            id: ItemId::random(),
            held_on: IsoDate::today(),
            attended: vec!["Morag".into()],
            young_person_views: Text::default(),
            family_views: Text::default(),
            decisions: Text::with_value("Carry on"),
            plan_changes: Text::default(),
            next_review: None,
            recorded_by: PersonId::random(),
            recorded_at: Timestamp(3),
        };
        value.reviews.insert(id, review.clone());
        assert!(value.validate(&key).is_err());
        value.reviews.clear();
        value.reviews.insert(review.id, review);
        value.validate(&key).unwrap();
    }

    #[test]
    fn the_last_review_is_the_latest_held() {
        let (_, mut value) = plan();
        for (day, at) in [("2026-03-03", 5), ("2026-09-01", 1), ("2026-06-01", 9)] {
            let id = ItemId::random();
            value.reviews.insert(
                id,
                ReviewMeeting {
                    id,
                    held_on: day.parse().unwrap(),
                    attended: vec![],
                    young_person_views: Text::default(),
                    family_views: Text::default(),
                    decisions: Text::default(),
                    plan_changes: Text::default(),
                    next_review: None,
                    recorded_by: PersonId::random(),
                    recorded_at: Timestamp(at),
                },
            );
        }
        assert_eq!(
            value.last_review().unwrap().held_on.to_string(),
            "2026-09-01"
        );
    }
}
