//! The typed index rows (`idx_children`, `idx_visits`, `idx_actions`,
//! `idx_chronology`) and how a document, or one item of it, projects into
//! them. No SQL here: [`super::write`] writes the rows, [`super::query`]
//! reads them.

use automerge::Automerge;
use bothy_shared::docs::{
    AnyDoc, ChildDetails, ChronologyEntry, DocKey, DocKind, IsoDate, ItemPath, Need, PersonRef,
    PlanDoc, RecordDoc, TransitionPlan, Visit, hydrate_at,
};

use super::{IndexError, shape};

/// A row of `idx_children`: one per child on the caseload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRow {
    /// Stable child id.
    pub child_id: String,
    /// Full name.
    pub name: String,
    /// What they like to be called.
    pub preferred_name: Option<String>,
    /// ISO 8601 date.
    pub date_of_birth: Option<String>,
    /// ISO 8601 date of the plan's next review.
    pub review_date: Option<String>,
    /// Unix milliseconds of the latest visit.
    pub last_visit_at: Option<i64>,
    /// The lead professional's display name.
    pub lead_professional: Option<String>,
    /// ISO 8601 date the last review meeting was held.
    pub last_review: Option<String>,
    /// The plan has a transition plan (recorded as not needed, or needed
    /// with the plan written: [`TransitionPlan::has_plan`]); `None` for a
    /// row indexed before the column existed.
    pub has_transition_plan: Option<bool>,
}

/// A row of `idx_visits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow {
    /// Stable visit id.
    pub visit_id: String,
    /// The child visited.
    pub child_id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// Who made the visit.
    pub practitioner: String,
    /// Their agency.
    pub agency: String,
    /// Home visit, school, office, phone, video.
    pub kind: String,
    /// Finalised visits are never edited.
    pub finalised: bool,
}

/// A row of `idx_actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    /// Stable action id.
    pub action_id: String,
    /// The child whose plan holds it.
    pub child_id: String,
    /// The need it addresses.
    pub need_id: Option<String>,
    /// What will be done.
    pub what: String,
    /// Who is responsible.
    pub owner: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// ISO 8601 date it is due by.
    pub due: Option<String>,
    /// Its status.
    pub status: String,
}

/// A row of `idx_chronology`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronologyRow {
    /// Stable entry id.
    pub entry_id: String,
    /// The child.
    pub child_id: String,
    /// ISO 8601 date or period.
    pub date: String,
    /// Source agency.
    pub agency: String,
    /// The event, brief and factual.
    pub event: String,
    /// Impact on the child.
    pub significance: String,
}

/// The rows a whole document projects into (besides its item views).
#[derive(Debug)]
pub(crate) enum DocumentRows {
    /// A plan: the child's caseload row (its last visit is filled in when
    /// written) and every action of every need.
    Plan {
        child: Box<ChildRow>,
        actions: Vec<ActionRow>,
    },
    /// The team record or an agency record: every visit and chronology entry.
    Record {
        child: String,
        visits: Vec<VisitRow>,
        chronology: Vec<ChronologyRow>,
    },
    /// A request for help: no rows (requests are listed from their
    /// documents, which are few, and belong to no child's caseload row).
    Nothing,
}

/// Index rows (besides item views) to rewrite after one item changed.
#[derive(Debug)]
pub(crate) enum ItemRows {
    /// A need's actions.
    Actions {
        need: String,
        rows: Vec<ActionRow>,
    },
    /// The plan's head changed: the child's caseload row (its last visit is
    /// filled in when written).
    Child(Box<ChildRow>),
    Visit {
        id: String,
        row: Option<VisitRow>,
    },
    Chronology {
        id: String,
        row: Option<ChronologyRow>,
    },
    Nothing,
}

/// The rows of a whole document, already read as `typed`.
pub(crate) fn document_rows(typed: &AnyDoc) -> DocumentRows {
    match typed {
        AnyDoc::Plan(plan) => plan_rows(plan),
        AnyDoc::Record(record) => record_rows(record),
        AnyDoc::Request(_) => DocumentRows::Nothing,
    }
}

fn plan_rows(plan: &PlanDoc) -> DocumentRows {
    let child = plan.child_id.to_string();
    let actions = plan
        .needs
        .values()
        .flat_map(|n| action_rows(&child, n))
        .collect();
    DocumentRows::Plan {
        child: Box::new(ChildRow {
            child_id: child,
            name: plan.child.name.clone(),
            preferred_name: Some(plan.child.preferred_name.clone()).filter(|s| !s.is_empty()),
            date_of_birth: plan.child.date_of_birth.map(|d| d.to_string()),
            review_date: plan.review_date.map(|d| d.to_string()),
            last_visit_at: None,
            lead_professional: plan.lead_professional.as_ref().map(|p| p.name.clone()),
            last_review: plan.last_review().map(|r| r.held_on.to_string()),
            has_transition_plan: Some(plan.transition.has_plan()),
        }),
        actions,
    }
}

fn record_rows(record: &RecordDoc) -> DocumentRows {
    let child = record.child_id.to_string();
    let visits = record
        .visits
        .values()
        .map(|v| visit_row(&child, v))
        .collect();
    let chronology = record
        .chronology
        .values()
        .map(|c| chronology_row(&child, c))
        .collect();
    DocumentRows::Record {
        child,
        visits,
        chronology,
    }
}

/// The index rows for `item` of the document `doc` stored under `key`.
pub(crate) fn item_rows(
    key: &DocKey,
    doc: &Automerge,
    item: &ItemPath,
) -> Result<ItemRows, IndexError> {
    let child = key.child().to_string();
    let segs = item.segments();
    Ok(match (key.kind(), item) {
        (DocKind::Plan | DocKind::Young, ItemPath::Item { collection, id })
            if collection == "needs" =>
        {
            let rows = match hydrate_at::<Need, _>(doc, &segs).map_err(shape(key, item))? {
                Some(n) => action_rows(&child, &n),
                None => vec![],
            };
            ItemRows::Actions {
                need: id.clone(),
                rows,
            }
        }
        (DocKind::Plan | DocKind::Young, ItemPath::Item { collection, .. })
            if collection != "reviews" =>
        {
            ItemRows::Nothing
        }
        // A root field, the transition section or a review meeting: the
        // caseload row (its review date, last review, transition plan) may
        // have changed.
        (DocKind::Plan | DocKind::Young, _) => {
            let details: ChildDetails = hydrate_at(doc, &["child"])
                .map_err(shape(key, &"child"))?
                .unwrap_or_default();
            let lead: Option<PersonRef> =
                hydrate_at::<Option<PersonRef>, _>(doc, &["lead_professional"])
                    .map_err(shape(key, &"lead_professional"))?
                    .flatten();
            let review: Option<IsoDate> = hydrate_at::<Option<IsoDate>, _>(doc, &["review_date"])
                .map_err(shape(key, &"review_date"))?
                .flatten();
            let last_review = super::views::last_review_day(doc).map_err(shape(key, &"reviews"))?;
            let transition: TransitionPlan = hydrate_at(doc, &["transition"])
                .map_err(shape(key, &"transition"))?
                .unwrap_or_default();
            ItemRows::Child(Box::new(ChildRow {
                child_id: child,
                name: details.name,
                preferred_name: Some(details.preferred_name).filter(|s| !s.is_empty()),
                date_of_birth: details.date_of_birth.map(|d| d.to_string()),
                review_date: review.map(|d| d.to_string()),
                last_visit_at: None,
                lead_professional: lead.map(|p| p.name),
                last_review: last_review.map(|d| d.to_string()),
                has_transition_plan: Some(transition.has_plan()),
            }))
        }
        (_, ItemPath::Item { collection, id }) if collection == "visits" => ItemRows::Visit {
            id: id.clone(),
            row: hydrate_at::<Visit, _>(doc, &segs)
                .map_err(shape(key, item))?
                .map(|v| visit_row(&child, &v)),
        },
        (_, ItemPath::Item { collection, id }) if collection == "chronology" => {
            ItemRows::Chronology {
                id: id.clone(),
                row: hydrate_at::<ChronologyEntry, _>(doc, &segs)
                    .map_err(shape(key, item))?
                    .map(|c| chronology_row(&child, &c)),
            }
        }
        _ => ItemRows::Nothing,
    })
}

fn action_rows(child: &str, n: &Need) -> Vec<ActionRow> {
    n.actions
        .values()
        .map(|a| ActionRow {
            action_id: a.id.to_string(),
            child_id: child.to_owned(),
            need_id: Some(n.id.to_string()),
            what: a.what.as_str().to_owned(),
            owner: a.owner.as_ref().map(|o| o.name.clone()),
            agency: a.owner.as_ref().map(|o| o.agency.as_str().to_owned()),
            due: a.due.map(|d| d.to_string()),
            status: a.status.as_str().to_owned(),
        })
        .collect()
}

fn visit_row(child: &str, v: &Visit) -> VisitRow {
    VisitRow {
        visit_id: v.id.to_string(),
        child_id: child.to_owned(),
        at: v.at.0,
        practitioner: v.practitioner_name.clone(),
        agency: v.agency.as_str().to_owned(),
        kind: v.kind.as_str().to_owned(),
        finalised: v.is_finalised(),
    }
}

fn chronology_row(child: &str, c: &ChronologyEntry) -> ChronologyRow {
    ChronologyRow {
        entry_id: c.id.to_string(),
        child_id: child.to_owned(),
        date: c.date.to_string(),
        agency: c.source_agency.as_str().to_owned(),
        event: c.event.as_str().to_owned(),
        significance: c.significance.as_str().to_owned(),
    }
}
