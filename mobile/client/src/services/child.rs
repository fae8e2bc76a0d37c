//! A child's page: the plan, the wellbeing wheel, the chronology and recent visits.

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId, PersonId};
use bothy_shared::policy::AccessPolicy;
use serde::Serialize;

use super::Client;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildOverview {
    pub child: ChildId,
    pub name: String,
    pub preferred_name: String,
    pub date_of_birth: Option<IsoDate>,
    pub age: Option<i64>,
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
    pub needs: Vec<NeedView>,
    pub young_person_views: Vec<ViewLine>,
    pub family_views: Vec<ViewLine>,
    /// Content held back from the young person (team only).
    pub withheld: Vec<WithheldLine>,
    pub transition: Option<TransitionView>,
    pub recent_visits: Vec<VisitSummary>,
    pub chronology: Vec<ChronologyItem>,
    pub can_edit_plan: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamLine {
    pub person: PersonId,
    pub name: String,
    pub agency: Agency,
    pub role_title: String,
}

/// One segment of the wellbeing wheel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WellbeingLine {
    pub indicator: Indicator,
    pub label: &'static str,
    /// The latest rating, 1 to 10.
    pub now: Option<u8>,
    /// The rating before it (at the last review).
    pub before: Option<u8>,
    pub strengths: String,
    pub concerns: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeedView {
    pub id: ItemId,
    pub need: String,
    pub desired_outcome: String,
    pub evidence: String,
    pub actions: Vec<ActionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionView {
    pub id: ItemId,
    pub what: String,
    pub owner: Option<String>,
    pub owner_agency: Option<Agency>,
    pub due: Option<IsoDate>,
    pub status: ActionStatus,
    pub progress: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewLine {
    pub id: ItemId,
    pub about: String,
    pub words: String,
    pub said_by: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithheldLine {
    pub section: String,
    pub content: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionView {
    pub adult_services: String,
    pub plan: String,
    pub start_by: Option<IsoDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitSummary {
    pub id: ItemId,
    pub doc: DocKey,
    pub at: Timestamp,
    pub kind: VisitKind,
    pub place: String,
    pub practitioner: String,
    pub agency: Agency,
    pub child_seen: bool,
    pub seen_alone: bool,
    pub observations: String,
    pub child_said: String,
    pub finalised: bool,
    pub shared_with: Sharing,
    pub addenda: usize,
    pub mine: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

pub(crate) fn view_lines(map: &std::collections::BTreeMap<ItemId, ViewEntry>) -> Vec<ViewLine> {
    let mut v: Vec<ViewLine> = map
        .values()
        .map(|e| ViewLine {
            id: e.id,
            about: e.about.clone(),
            words: e.words.as_str().to_owned(),
            said_by: e.said_by.clone(),
            at: e.at,
        })
        .collect();
    v.sort_by_key(|l| l.at);
    v
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

pub(crate) fn age_on(dob: IsoDate, today: IsoDate) -> i64 {
    let (d, t) = (dob.0, today.0);
    let mut years = i64::from(t.year() - d.year());
    if (u8::from(t.month()), t.day()) < (u8::from(d.month()), d.day()) {
        years -= 1;
    }
    years
}

impl Client {
    /// Everything on a child's page that this person may see.
    pub fn child(&mut self, child: ChildId) -> Result<ChildOverview, ServiceError> {
        let plan_key = DocKey::Plan(child);
        let plan: PlanDoc = self.read(&plan_key)?;
        let team = self.team(child)?.clone();
        let principal = self.dir.me.principal();
        let readable = AccessPolicy::readable(&principal, &team);
        let mut records = Vec::new();
        for key in readable.iter().filter(|k| !matches!(k, DocKey::Plan(_))) {
            if self.document(key)?.is_some() {
                records.push((*key, self.read::<RecordDoc>(key)?));
            }
        }
        let wellbeing = Indicator::ALL
            .iter()
            .map(|&i| {
                let a = plan.wellbeing.get(i);
                let history = a.history();
                WellbeingLine {
                    indicator: i,
                    label: i.label(),
                    now: history.last().map(|r| r.score),
                    before: history
                        .len()
                        .checked_sub(2)
                        .and_then(|n| history.get(n))
                        .map(|r| r.score),
                    strengths: a.strengths.as_str().to_owned(),
                    concerns: a.concerns.as_str().to_owned(),
                }
            })
            .collect();
        let mut needs: Vec<NeedView> = plan
            .needs
            .values()
            .map(|n| NeedView {
                id: n.id,
                need: n.need.as_str().to_owned(),
                desired_outcome: n.desired_outcome.as_str().to_owned(),
                evidence: n.evidence.as_str().to_owned(),
                actions: action_views(n),
            })
            .collect();
        needs.sort_by(|a, b| a.need.cmp(&b.need));
        let me = self.dir.me.person;
        let mut recent_visits: Vec<VisitSummary> = records
            .iter()
            .flat_map(|(key, r)| r.visits.values().map(move |v| (key, v)))
            .map(|(key, v)| VisitSummary {
                id: v.id,
                doc: *key,
                at: v.at,
                kind: v.kind,
                place: v.place.clone(),
                practitioner: v.practitioner_name.clone(),
                agency: v.agency,
                child_seen: v.child_seen,
                seen_alone: v.seen_alone,
                observations: v.observations.as_str().to_owned(),
                child_said: v.child_said.as_str().to_owned(),
                finalised: v.is_finalised(),
                shared_with: v.sharing,
                addenda: v.addenda.len(),
                mine: v.practitioner == me,
            })
            .collect();
        recent_visits.sort_by_key(|v| std::cmp::Reverse(v.at));
        let withheld = records
            .iter()
            .flat_map(|(_, r)| r.withheld.values())
            .map(|w| WithheldLine {
                section: w.section.clone(),
                content: w.content.as_str().to_owned(),
                reason: w.reason.clone(),
            })
            .collect();
        let chronology = chronology_items(&records, None);
        let can_edit_plan = !self.dir.me.is_young_person()
            && AccessPolicy::can_write(&principal, &plan_key, &team).is_ok();
        Ok(ChildOverview {
            child,
            name: plan.child.name.clone(),
            preferred_name: plan.child.preferred_name.clone(),
            date_of_birth: plan.child.date_of_birth,
            age: plan
                .child
                .date_of_birth
                .map(|d| age_on(d, IsoDate::today())),
            pronouns: plan.child.pronouns.clone(),
            communication_needs: plan.child.communication_needs.as_str().to_owned(),
            reason: plan.reason.as_str().to_owned(),
            legal_status: plan.legal_status.clone(),
            lead_professional: plan.lead_professional.as_ref().map(|p| p.name.clone()),
            named_person: plan.named_person.as_ref().map(|p| p.name.clone()),
            team: plan
                .team
                .values()
                .map(|p| TeamLine {
                    person: p.person,
                    name: p.name.clone(),
                    agency: p.agency,
                    role_title: p.role_title.clone(),
                })
                .collect(),
            review_date: plan.review_date,
            wellbeing,
            my_world: [
                plan.my_world.growing.as_str().to_owned(),
                plan.my_world.care.as_str().to_owned(),
                plan.my_world.wider_world.as_str().to_owned(),
            ],
            needs,
            young_person_views: view_lines(&plan.young_person_views),
            family_views: view_lines(&plan.family_views),
            withheld,
            transition: plan.transition.needed.then(|| TransitionView {
                adult_services: plan.transition.adult_services.as_str().to_owned(),
                plan: plan.transition.plan.as_str().to_owned(),
                start_by: plan.transition.start_by,
            }),
            recent_visits,
            chronology,
            can_edit_plan,
        })
    }

    /// The child's integrated chronology, oldest first, from every record this
    /// person may read; `agency` keeps only that source agency's entries.
    pub fn chronology(
        &mut self,
        child: ChildId,
        agency: Option<Agency>,
    ) -> Result<Vec<ChronologyItem>, ServiceError> {
        let team = self.team(child)?.clone();
        let principal = self.dir.me.principal();
        let mut records = Vec::new();
        for key in AccessPolicy::readable(&principal, &team)
            .iter()
            .filter(|k| !matches!(k, DocKey::Plan(_)))
        {
            if self.document(key)?.is_some() {
                records.push((*key, self.read::<RecordDoc>(key)?));
            }
        }
        Ok(chronology_items(&records, agency))
    }
}

/// Chronology entries plus significant visits, oldest first.
fn chronology_items(
    records: &[(DocKey, RecordDoc)],
    agency: Option<Agency>,
) -> Vec<ChronologyItem> {
    let mut items: Vec<ChronologyItem> = records
        .iter()
        .flat_map(|(_, r)| r.chronology.values())
        .map(|c| ChronologyItem {
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
        })
        .collect();
    // A visit marked significant appears in the chronology unless an entry already cites it.
    let cited: std::collections::BTreeSet<ItemId> =
        items.iter().filter_map(|i| i.from_visit).collect();
    for (_, r) in records {
        for v in r
            .visits
            .values()
            .filter(|v| v.significant && !cited.contains(&v.id))
        {
            let Some(date) = v.at.date() else { continue };
            items.push(ChronologyItem {
                id: v.id,
                date,
                until: None,
                event: format!(
                    "{} by {}: {}",
                    v.kind.label(),
                    v.practitioner_name,
                    first_line(v.observations.as_str())
                ),
                agency: v.agency,
                impact: Impact::NotKnown,
                impact_note: String::new(),
                action: v.next_steps.as_str().to_owned(),
                significance: Significance::Significant,
                from_visit: Some(v.id),
            });
        }
    }
    items.retain(|i| agency.is_none_or(|a| i.agency == a));
    items.sort_by_key(|i| (i.date, i.id));
    items
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(120).collect::<String>())
    } else {
        line.to_owned()
    }
}
