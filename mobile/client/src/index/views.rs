//! The item views kept in `idx_items`: what a child's page shows, one
//! serialised view per item, so the page is read without loading or
//! hydrating a document.
//!
//! One implementation builds the view of an item, whether the whole document
//! is being indexed (after a merge) or one item was just edited. No SQL here:
//! [`super::write`] stores the views, [`super::query`] reads them.

use automerge::Automerge;
use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ItemId, PersonId};
use serde::{Deserialize, Serialize};

use super::{IndexError, shape};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamLine {
    pub person: PersonId,
    pub name: String,
    pub agency: Agency,
    pub role_title: String,
}

/// One segment of the wellbeing wheel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WellbeingLine {
    pub indicator: Indicator,
    pub label: String,
    /// The latest rating, 1 to 10.
    pub now: Option<u8>,
    /// The rating as it stood on the day of the last review meeting held
    /// (`None` when no review was held, or nothing was rated by then).
    pub before: Option<u8>,
    pub strengths: String,
    pub concerns: String,
    /// Who gave the latest rating, their agency and the day it is for.
    #[serde(default)]
    pub now_by: Option<PersonId>,
    /// Their name, filled in from the directory when the page is read.
    #[serde(default)]
    pub now_by_name: Option<String>,
    #[serde(default)]
    pub now_agency: Option<Agency>,
    #[serde(default)]
    pub now_on: Option<IsoDate>,
    /// The day of the last review the `before` value is taken at.
    #[serde(default)]
    pub last_review: Option<IsoDate>,
}

/// How a need was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedClosedLine {
    pub at: Timestamp,
    pub by: PersonId,
    /// Filled in from the directory when the page is read.
    #[serde(default)]
    pub by_name: String,
    pub reason: String,
}

/// A review meeting of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewLine {
    pub id: ItemId,
    pub held_on: IsoDate,
    pub attended: Vec<String>,
    pub young_person_views: String,
    pub family_views: String,
    pub decisions: String,
    pub plan_changes: String,
    pub next_review: Option<IsoDate>,
    pub recorded_by: PersonId,
    pub recorded_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedView {
    pub id: ItemId,
    pub need: String,
    pub desired_outcome: String,
    pub evidence: String,
    pub actions: Vec<ActionView>,
    /// The wellbeing indicators the need is about.
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// `None` while the need is open.
    #[serde(default)]
    pub closed: Option<NeedClosedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionView {
    pub id: ItemId,
    pub what: String,
    pub owner: Option<String>,
    pub owner_agency: Option<Agency>,
    pub due: Option<IsoDate>,
    pub status: ActionStatus,
    pub progress: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewLine {
    pub id: ItemId,
    pub about: String,
    pub words: String,
    pub said_by: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithheldLine {
    pub section: String,
    pub content: String,
    pub reason: String,
}

/// The plan's transition section ("Moving on"), once someone has recorded
/// it. Views indexed before issue 15 were kept only when a transition was
/// needed, so the fields added since default to that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionView {
    #[serde(default = "yes")]
    pub needed: bool,
    /// Other services, in words.
    pub adult_services: String,
    pub plan: String,
    pub start_by: Option<IsoDate>,
    /// The adult services who will help.
    #[serde(default)]
    pub services: Vec<Agency>,
    /// Who recorded it last, and when (`None` in plans written before).
    #[serde(default)]
    pub recorded_by: Option<PersonId>,
    /// Their name, filled in from the directory when the page is read.
    #[serde(default)]
    pub recorded_by_name: Option<String>,
    #[serde(default)]
    pub recorded_at: Option<Timestamp>,
}

fn yes() -> bool {
    true
}

impl TransitionView {
    /// The view of a plan's transition section; `None` while nobody has
    /// recorded it.
    pub fn of(t: &TransitionPlan) -> Option<TransitionView> {
        t.is_recorded().then(|| TransitionView {
            needed: t.needed,
            adult_services: t.adult_services.as_str().to_owned(),
            plan: t.plan.as_str().to_owned(),
            start_by: t.start_by,
            services: t.services.clone(),
            recorded_by: t.recorded_by,
            recorded_by_name: None,
            recorded_at: t.recorded_at,
        })
    }

    /// Recorded as not needed, or needed with the plan written down.
    pub fn has_plan(&self) -> bool {
        !self.needed || !self.plan.trim().is_empty()
    }

    /// Who will help: see [`who_will_help`].
    pub fn who_will_help(&self) -> Vec<String> {
        who_will_help(&self.services, &self.adult_services)
    }
}

/// Who will help a young person move on: the adult services by their
/// labels, then any services the plan names in words.
pub fn who_will_help(services: &[Agency], in_words: &str) -> Vec<String> {
    let mut who: Vec<String> = services.iter().map(|a| a.label().to_owned()).collect();
    if !in_words.trim().is_empty() {
        who.push(in_words.trim().to_owned());
    }
    who
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitSummary {
    pub id: ItemId,
    pub doc: DocKey,
    pub at: Timestamp,
    pub kind: VisitKind,
    pub place: String,
    pub practitioner: String,
    pub practitioner_id: PersonId,
    pub agency: Agency,
    pub child_seen: bool,
    pub seen_alone: bool,
    pub observations: String,
    pub child_said: String,
    pub finalised: bool,
    pub shared_with: Sharing,
    pub significant: bool,
    pub addenda: usize,
    pub mine: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChronologyItem {
    pub id: ItemId,
    pub date: IsoDate,
    pub until: Option<IsoDate>,
    pub event: String,
    pub agency: Agency,
    pub impact: Impact,
    pub impact_note: String,
    pub action: String,
    pub significance: Significance,
    /// A significant visit shown in the chronology.
    pub from_visit: Option<ItemId>,
}

/// The plan's fields other than its collections: the top of a child's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanHeadView {
    pub name: String,
    pub preferred_name: String,
    pub date_of_birth: Option<IsoDate>,
    pub pronouns: String,
    pub communication_needs: String,
    pub reason: String,
    pub legal_status: String,
    pub lead_professional: Option<String>,
    pub named_person: Option<String>,
    pub team: Vec<TeamLine>,
    pub review_date: Option<IsoDate>,
    pub wellbeing: Vec<WellbeingLine>,
    pub my_world: [String; 3],
    pub transition: Option<TransitionView>,
    /// The day the last review meeting was held (each meeting is its own
    /// item view, so a review save does not rewrite every review).
    #[serde(default)]
    pub last_review: Option<IsoDate>,
}

/// One indexed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "view", rename_all = "kebab-case")]
pub enum ItemView {
    PlanHead(Box<PlanHeadView>),
    Need(NeedView),
    YoungPersonView(ViewLine),
    FamilyView(ViewLine),
    Visit(VisitSummary),
    Chronology(ChronologyItem),
    Withheld(WithheldLine),
    /// A review meeting of the plan.
    Review(ReviewLine),
}

/// The `item_key` of the plan's head.
const HEAD: &str = "head";

/// One wheel segment: the latest rating, and the rating as it stood on the
/// day of the last review held (`last_review`).
pub(crate) fn wellbeing_line(
    i: Indicator,
    a: &IndicatorAssessment,
    last_review: Option<IsoDate>,
) -> WellbeingLine {
    let latest = a.latest();
    WellbeingLine {
        indicator: i,
        label: i.label().to_owned(),
        now: latest.map(|r| r.score),
        before: last_review.and_then(|d| a.as_of(d)).map(|r| r.score),
        strengths: a.strengths.as_str().to_owned(),
        concerns: a.concerns.as_str().to_owned(),
        now_by: latest.map(|r| r.by),
        now_by_name: None,
        now_agency: latest.map(|r| r.agency),
        now_on: latest.map(|r| r.on),
        last_review,
    }
}

pub(crate) fn need_view(n: &Need) -> NeedView {
    NeedView {
        id: n.id,
        need: n.need.as_str().to_owned(),
        desired_outcome: n.desired_outcome.as_str().to_owned(),
        evidence: n.evidence.as_str().to_owned(),
        actions: action_views(n),
        indicators: n.indicators.clone(),
        closed: n.closed.as_ref().map(|c| NeedClosedLine {
            at: c.at,
            by: c.by,
            by_name: String::new(),
            reason: c.reason.clone(),
        }),
    }
}

pub(crate) fn review_line(r: &ReviewMeeting) -> ReviewLine {
    ReviewLine {
        id: r.id,
        held_on: r.held_on,
        attended: r.attended.clone(),
        young_person_views: r.young_person_views.as_str().to_owned(),
        family_views: r.family_views.as_str().to_owned(),
        decisions: r.decisions.as_str().to_owned(),
        plan_changes: r.plan_changes.as_str().to_owned(),
        next_review: r.next_review,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at,
    }
}

pub(crate) fn view_line(e: &ViewEntry) -> ViewLine {
    ViewLine {
        id: e.id,
        about: e.about.clone(),
        words: e.words.as_str().to_owned(),
        said_by: e.said_by.clone(),
        at: e.at,
    }
}

pub(crate) fn visit_summary(key: &DocKey, v: &Visit) -> VisitSummary {
    VisitSummary {
        id: v.id,
        doc: *key,
        at: v.at,
        kind: v.kind,
        place: v.place.clone(),
        practitioner: v.practitioner_name.clone(),
        practitioner_id: v.practitioner,
        agency: v.agency,
        child_seen: v.child_seen,
        seen_alone: v.seen_alone,
        observations: v.observations.as_str().to_owned(),
        child_said: v.child_said.as_str().to_owned(),
        finalised: v.is_finalised(),
        shared_with: v.sharing,
        significant: v.significant,
        addenda: v.addenda.len(),
        mine: false,
    }
}

pub(crate) fn chronology_item(c: &ChronologyEntry) -> ChronologyItem {
    ChronologyItem {
        id: c.id,
        date: c.date,
        until: c.until,
        event: c.event.as_str().to_owned(),
        agency: c.source_agency,
        impact: c.impact,
        impact_note: c.impact_note.as_str().to_owned(),
        action: c.action.as_str().to_owned(),
        significance: c.significance,
        from_visit: c.from_visit,
    }
}

pub(crate) fn withheld_line(w: &WithheldSection) -> WithheldLine {
    WithheldLine {
        section: w.section.clone(),
        content: w.content.as_str().to_owned(),
        reason: w.reason.clone(),
    }
}

/// The plan's head, read field by field (not the needs and views).
fn plan_head(doc: &Automerge) -> Result<PlanHeadView, autosurgeon::HydrateError> {
    let child: ChildDetails = hydrate_at(doc, &["child"])?.unwrap_or_default();
    let person = |field: &str| -> Result<Option<String>, autosurgeon::HydrateError> {
        Ok(hydrate_at::<Option<PersonRef>, _>(doc, &[field])?
            .flatten()
            .map(|p| p.name))
    };
    let team: std::collections::BTreeMap<String, PersonRef> =
        hydrate_at(doc, &["team"])?.unwrap_or_default();
    let wellbeing: Wellbeing = hydrate_at(doc, &["wellbeing"])?.unwrap_or_default();
    let my_world: MyWorld = hydrate_at(doc, &["my_world"])?.unwrap_or_default();
    let transition: TransitionPlan = hydrate_at(doc, &["transition"])?.unwrap_or_default();
    let last_review = last_review_day(doc)?;
    Ok(PlanHeadView {
        name: child.name,
        preferred_name: child.preferred_name,
        date_of_birth: child.date_of_birth,
        pronouns: child.pronouns,
        communication_needs: child.communication_needs.as_str().to_owned(),
        reason: hydrate_at::<Text, _>(doc, &["reason"])?
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        legal_status: hydrate_at::<String, _>(doc, &["legal_status"])?.unwrap_or_default(),
        lead_professional: person("lead_professional")?,
        named_person: person("named_person")?,
        team: team
            .values()
            .map(|p| TeamLine {
                person: p.person,
                name: p.name.clone(),
                agency: p.agency,
                role_title: p.role_title.clone(),
            })
            .collect(),
        review_date: hydrate_at::<Option<IsoDate>, _>(doc, &["review_date"])?.flatten(),
        wellbeing: Indicator::ALL
            .iter()
            .map(|&i| wellbeing_line(i, wellbeing.get(i), last_review))
            .collect(),
        my_world: [
            my_world.growing.as_str().to_owned(),
            my_world.care.as_str().to_owned(),
            my_world.wider_world.as_str().to_owned(),
        ],
        transition: TransitionView::of(&transition),
        last_review,
    })
}

/// When a review meeting was held: all the head needs of one, read without
/// its texts.
#[derive(autosurgeon::Hydrate)]
struct ReviewWhen {
    id: ItemId,
    held_on: IsoDate,
    recorded_at: Timestamp,
}

/// The day the last review meeting was held (`reviews` is absent from plans
/// written before reviews were recorded).
pub(crate) fn last_review_day(
    doc: &Automerge,
) -> Result<Option<IsoDate>, autosurgeon::HydrateError> {
    let reviews: std::collections::BTreeMap<String, ReviewWhen> =
        hydrate_at(doc, &["reviews"])?.unwrap_or_default();
    Ok(reviews
        .values()
        .max_by_key(|r| (r.held_on, r.recorded_at, r.id))
        .map(|r| r.held_on))
}

pub(crate) fn action_views(need: &Need) -> Vec<ActionView> {
    let mut actions: Vec<ActionView> = need
        .actions
        .values()
        .map(|a| ActionView {
            id: a.id,
            what: a.what.as_str().to_owned(),
            owner: a.owner.as_ref().map(|o| o.name.clone()),
            owner_agency: a.owner.as_ref().map(|o| o.agency),
            due: a.due,
            status: a.status,
            progress: a.progress.as_str().to_owned(),
        })
        .collect();
    actions.sort_by_key(|a| (a.due.is_none(), a.due));
    actions
}

/// Every item view of a whole document, under its `idx_items.item_key`.
pub(crate) fn views_of(
    key: &DocKey,
    doc: &Automerge,
    typed: &AnyDoc,
) -> Result<Vec<(String, ItemView)>, IndexError> {
    let mut rows = Vec::new();
    match typed {
        AnyDoc::Plan(plan) => {
            rows.push((
                HEAD.to_owned(),
                ItemView::PlanHead(Box::new(plan_head(doc).map_err(shape(key, &HEAD))?)),
            ));
            for n in plan.needs.values() {
                rows.push((format!("needs/{}", n.id), ItemView::Need(need_view(n))));
            }
            for v in plan.young_person_views.values() {
                rows.push((
                    format!("young_person_views/{}", v.id),
                    ItemView::YoungPersonView(view_line(v)),
                ));
            }
            for v in plan.family_views.values() {
                rows.push((
                    format!("family_views/{}", v.id),
                    ItemView::FamilyView(view_line(v)),
                ));
            }
            for r in plan.reviews.values() {
                rows.push((
                    format!("reviews/{}", r.id),
                    ItemView::Review(review_line(r)),
                ));
            }
        }
        AnyDoc::Record(record) => {
            for v in record.visits.values() {
                rows.push((
                    format!("visits/{}", v.id),
                    ItemView::Visit(visit_summary(key, v)),
                ));
            }
            for c in record.chronology.values() {
                rows.push((
                    format!("chronology/{}", c.id),
                    ItemView::Chronology(chronology_item(c)),
                ));
            }
            for w in record.withheld.values() {
                rows.push((
                    format!("withheld/{}", w.id),
                    ItemView::Withheld(withheld_line(w)),
                ));
            }
        }
        AnyDoc::Request(_) => {}
    }
    Ok(rows)
}

/// The views to write after one item changed: `None` deletes the row.
pub(crate) fn views_of_item(
    key: &DocKey,
    doc: &Automerge,
    item: &ItemPath,
) -> Result<Vec<(String, Option<ItemView>)>, IndexError> {
    let row = item.to_string();
    let segs = item.segments();
    Ok(match (key.kind(), item) {
        (DocKind::Plan | DocKind::Young, ItemPath::Item { collection, .. })
            if collection == "needs" =>
        {
            vec![(
                row,
                hydrate_at::<Need, _>(doc, &segs)
                    .map_err(shape(key, item))?
                    .map(|n| ItemView::Need(need_view(&n))),
            )]
        }
        (DocKind::Plan | DocKind::Young, ItemPath::Item { collection, .. })
            if collection == "young_person_views" =>
        {
            vec![(
                row,
                hydrate_at::<ViewEntry, _>(doc, &segs)
                    .map_err(shape(key, item))?
                    .map(|v| ItemView::YoungPersonView(view_line(&v))),
            )]
        }
        (DocKind::Plan | DocKind::Young, ItemPath::Item { collection, .. })
            if collection == "family_views" =>
        {
            vec![(
                row,
                hydrate_at::<ViewEntry, _>(doc, &segs)
                    .map_err(shape(key, item))?
                    .map(|v| ItemView::FamilyView(view_line(&v))),
            )]
        }
        // A review: its own view, and the head (the wheel's last review day).
        (DocKind::Plan | DocKind::Young, ItemPath::Item { collection, .. })
            if collection == "reviews" =>
        {
            vec![
                (
                    row,
                    hydrate_at::<ReviewMeeting, _>(doc, &segs)
                        .map_err(shape(key, item))?
                        .map(|r| ItemView::Review(review_line(&r))),
                ),
                (
                    HEAD.to_owned(),
                    Some(ItemView::PlanHead(Box::new(
                        plan_head(doc).map_err(shape(key, &HEAD))?,
                    ))),
                ),
            ]
        }
        (DocKind::Plan | DocKind::Young, _) => vec![(
            HEAD.to_owned(),
            Some(ItemView::PlanHead(Box::new(
                plan_head(doc).map_err(shape(key, &HEAD))?,
            ))),
        )],
        (_, ItemPath::Item { collection, .. }) if collection == "visits" => {
            vec![(
                row,
                hydrate_at::<Visit, _>(doc, &segs)
                    .map_err(shape(key, item))?
                    .map(|v| ItemView::Visit(visit_summary(key, &v))),
            )]
        }
        (_, ItemPath::Item { collection, .. }) if collection == "chronology" => {
            vec![(
                row,
                hydrate_at::<ChronologyEntry, _>(doc, &segs)
                    .map_err(shape(key, item))?
                    .map(|c| ItemView::Chronology(chronology_item(&c))),
            )]
        }
        (_, ItemPath::Item { collection, .. }) if collection == "withheld" => {
            vec![(
                row,
                hydrate_at::<WithheldSection, _>(doc, &segs)
                    .map_err(shape(key, item))?
                    .map(|w| ItemView::Withheld(withheld_line(&w))),
            )]
        }
        _ => vec![],
    })
}
