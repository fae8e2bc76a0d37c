//! A child's page: the plan, the wellbeing wheel, the chronology and recent visits.

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId};
use bothy_shared::policy::AccessPolicy;
use serde::Serialize;

use super::Client;
use crate::error::ServiceError;
use crate::index::{self, ItemView};
/// The lines of a child's page, as the index keeps them.
pub use crate::index::{
    ActionView, ChronologyItem, NeedView, TeamLine, TransitionView, ViewLine, VisitSummary,
    WellbeingLine, WithheldLine,
};

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

pub(crate) fn view_lines(map: &std::collections::BTreeMap<ItemId, ViewEntry>) -> Vec<ViewLine> {
    let mut v: Vec<ViewLine> = map.values().map(index::view_line).collect();
    v.sort_by_key(|l| l.at);
    v
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
        let views = index::child_views(self.store.connection(), child, &readable)?;
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
        for (_, v) in index::child_views(self.store.connection(), child, &readable)? {
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
