//! A child's page: the plan, the wellbeing wheel, the chronology and recent visits.

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId, PersonId};
use bothy_shared::policy::AccessPolicy;
use serde::{Deserialize, Serialize};

use super::Client;
use super::index::{self, ItemView};
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
    /// The rating before it (at the last review).
    pub before: Option<u8>,
    pub strengths: String,
    pub concerns: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedView {
    pub id: ItemId,
    pub need: String,
    pub desired_outcome: String,
    pub evidence: String,
    pub actions: Vec<ActionView>,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionView {
    pub adult_services: String,
    pub plan: String,
    pub start_by: Option<IsoDate>,
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

pub(crate) fn view_lines(map: &std::collections::BTreeMap<ItemId, ViewEntry>) -> Vec<ViewLine> {
    let mut v: Vec<ViewLine> = map.values().map(super::index::view_line).collect();
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
    /// Everything on a child's page that this person may see, read from the
    /// index: no document is loaded or hydrated.
    pub fn child(&mut self, child: ChildId) -> Result<ChildOverview, ServiceError> {
        let team = self.team(child)?.clone();
        let principal = self.dir.me.principal();
        let plan_key = DocKey::Plan(child);
        AccessPolicy::can_read(&principal, &plan_key, &team)?;
        let readable = AccessPolicy::readable(&principal, &team);
        let views = index::read_views(self.store.connection(), child, &readable)?;
        let me = self.dir.me.person;
        let mut head = None;
        let (mut needs, mut yp, mut family, mut visits, mut chron, mut withheld) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (_, v) in views {
            match v {
                ItemView::PlanHead(h) => head = Some(*h),
                ItemView::Need(n) => needs.push(n),
                ItemView::YoungPersonView(l) => yp.push(l),
                ItemView::FamilyView(l) => family.push(l),
                ItemView::Visit(mut s) => {
                    s.mine = s.practitioner_id == me;
                    visits.push(s)
                }
                ItemView::Chronology(c) => chron.push(c),
                ItemView::Withheld(w) => withheld.push(w),
            }
        }
        let head = head.ok_or_else(|| ServiceError::not_found("plan", plan_key))?;
        needs.sort_by(|a, b| a.need.cmp(&b.need));
        yp.sort_by_key(|l| l.at);
        family.sort_by_key(|l| l.at);
        visits.sort_by_key(|v| std::cmp::Reverse(v.at));
        let chronology = with_significant_visits(chron, &visits, None);
        let can_edit_plan = !self.dir.me.is_young_person()
            && AccessPolicy::can_write(&principal, &plan_key, &team).is_ok();
        Ok(ChildOverview {
            child,
            age: head.date_of_birth.map(|d| age_on(d, IsoDate::today())),
            name: head.name,
            preferred_name: head.preferred_name,
            date_of_birth: head.date_of_birth,
            pronouns: head.pronouns,
            communication_needs: head.communication_needs,
            reason: head.reason,
            legal_status: head.legal_status,
            lead_professional: head.lead_professional,
            named_person: head.named_person,
            team: head.team,
            review_date: head.review_date,
            wellbeing: head.wellbeing,
            my_world: head.my_world,
            needs,
            young_person_views: yp,
            family_views: family,
            withheld,
            transition: head.transition,
            recent_visits: visits,
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
        let readable: Vec<DocKey> = AccessPolicy::readable(&self.dir.me.principal(), &team)
            .into_iter()
            .filter(|k| !matches!(k, DocKey::Plan(_)))
            .collect();
        let mut chron = Vec::new();
        let mut visits = Vec::new();
        for (_, v) in index::read_views(self.store.connection(), child, &readable)? {
            match v {
                ItemView::Chronology(c) => chron.push(c),
                ItemView::Visit(s) => visits.push(s),
                _ => {}
            }
        }
        Ok(with_significant_visits(chron, &visits, agency))
    }
}

/// Chronology entries plus visits marked significant, oldest first.
fn with_significant_visits(
    mut items: Vec<ChronologyItem>,
    visits: &[VisitSummary],
    agency: Option<Agency>,
) -> Vec<ChronologyItem> {
    // A visit marked significant appears in the chronology unless an entry already cites it.
    let cited: std::collections::BTreeSet<ItemId> =
        items.iter().filter_map(|i| i.from_visit).collect();
    for v in visits
        .iter()
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
                v.practitioner,
                first_line(&v.observations)
            ),
            agency: v.agency,
            impact: Impact::NotKnown,
            impact_note: String::new(),
            action: String::new(),
            significance: Significance::Significant,
            from_visit: Some(v.id),
        });
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
