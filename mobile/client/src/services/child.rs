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
    ActionView, ChronologyItem, NeedClosedLine, NeedView, ReviewLine, TeamLine, TransitionView,
    ViewLine, VisitSummary, WellbeingLine, WithheldLine, who_will_help,
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
    /// The transition section ("Moving on"), once someone has recorded it.
    pub transition: Option<TransitionView>,
    /// 15 or over with no transition plan (as the caseload flags it).
    pub no_transition_plan: bool,
    pub recent_visits: Vec<VisitSummary>,
    pub chronology: Vec<ChronologyItem>,
    pub can_edit_plan: bool,
    /// Fields two people changed at once, each with both values (see
    /// [`Client::conflicts`]).
    pub conflicts: Vec<super::ConflictView>,
    /// The parts of the plan withheld from the young person (markers in the
    /// team's plan), oldest first.
    pub withheld_from_young_person: Vec<WithheldPart>,
    /// I lead the team or supervise it: I may withhold a part, or lift it.
    pub can_withhold: bool,
    /// Review meetings held, the latest first.
    pub reviews: Vec<ReviewLine>,
    /// The latest review meeting held.
    pub last_review: Option<ReviewLine>,
}

impl ChildOverview {
    /// The part of the plan `section` names (`wellbeing/safe`, `need/<id>`,
    /// `my_world`, `reviews`…) is withheld from the young person.
    pub fn withholds(&self, section: &str) -> bool {
        self.withheld_from_young_person
            .iter()
            .any(|w| w.section == section)
    }
}

/// A part of the plan withheld from the young person, for the team.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WithheldPart {
    pub id: ItemId,
    /// `wellbeing/safe`, `need/<id>`, `my_world`…
    pub section: String,
    pub reason: String,
    pub by: bothy_shared::ids::PersonId,
    pub at: Timestamp,
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
        let mut reviews = Vec::new();
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
                ItemView::Review(r) => reviews.push(r),
            }
        }
        let mut head = head.ok_or_else(|| ServiceError::not_found("plan", plan_key))?;
        // Open needs first, then by their words.
        needs.sort_by(|a, b| (a.closed.is_some(), &a.need).cmp(&(b.closed.is_some(), &b.need)));
        for n in &mut needs {
            if let Some(c) = &mut n.closed {
                c.by_name = self.dir.name_of(c.by);
            }
        }
        for w in &mut head.wellbeing {
            w.now_by_name = w.now_by.map(|p| self.dir.name_of(p));
        }
        if let Some(t) = &mut head.transition {
            t.recorded_by_name = t.recorded_by.map(|p| self.dir.name_of(p));
        }
        let today = IsoDate::today();
        let no_transition_plan = super::transition_plan_missing(
            head.date_of_birth,
            Some(
                head.transition
                    .as_ref()
                    .is_some_and(TransitionView::has_plan),
            ),
            today,
        );
        yp.sort_by_key(|l| l.at);
        family.sort_by_key(|l| l.at);
        reviews.sort_by_key(|r: &ReviewLine| std::cmp::Reverse((r.held_on, r.recorded_at, r.id)));
        visits.sort_by_key(|v| std::cmp::Reverse(v.at));
        let chronology = with_significant_visits(chron, &visits, None);
        // A supervisor outside the team writes only the withheld markers.
        let can_edit_plan = principal.membership(&team).is_some()
            && AccessPolicy::can_write(&principal, &plan_key, &team).is_ok();
        // The one part of the page read from the documents rather than the
        // index: a conflict is a property of the history, not of a value.
        let conflicts = self.conflicts(child)?;
        let can_withhold = principal.may_withhold(&team);
        let withheld_from_young_person = self
            .withheld_parts(child)?
            .into_iter()
            .map(|m| WithheldPart {
                id: m.id,
                section: m.section,
                reason: m.reason,
                by: m.by,
                at: m.at,
            })
            .collect();
        let (lead_professional, named_person, team_lines) = self.team_on_page(
            child,
            (head.lead_professional, head.named_person, head.team),
        );
        Ok(ChildOverview {
            child,
            conflicts,
            age: head.date_of_birth.map(|d| age_on(d, today)),
            name: head.name,
            preferred_name: head.preferred_name,
            date_of_birth: head.date_of_birth,
            pronouns: head.pronouns,
            communication_needs: head.communication_needs,
            reason: head.reason,
            legal_status: head.legal_status,
            lead_professional,
            named_person,
            team: team_lines,
            review_date: head.review_date,
            wellbeing: head.wellbeing,
            my_world: head.my_world,
            needs,
            young_person_views: yp,
            family_views: family,
            withheld,
            transition: head.transition,
            no_transition_plan,
            recent_visits: visits,
            chronology,
            can_edit_plan,
            withheld_from_young_person,
            can_withhold,
            last_review: reviews.first().cloned(),
            reviews,
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
            .filter(|k| !k.is_plan())
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
