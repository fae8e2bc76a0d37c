//! A child's documents written as the changes that made them, in date
//! order, each by the device of the person who made it: the plan created by
//! the server, then a change per review meeting, per rating, per action
//! update and per view; the records a change per visit recorded, another
//! when it is finalised, and one per family voice and chronology entry.
//!
//! The documents these changes make hold exactly the child's values in
//! [`ChildHistory`](super::ChildHistory) (a test hydrates them back and
//! compares), so everything measured on them (the outcomes report, merges,
//! first syncs) sees real many-change histories, not one change per document.

use std::collections::BTreeMap;

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, Automerge, ObjId, ROOT, ReadDoc};
use bothy_shared::docs::{
    ActionStatus, ChronologyEntry, DocKey, FamilyVoice, Indicator, IsoDate, PlanDoc, Rating,
    RecordDoc, ReviewMeeting, Timestamp, TransitionPlan, ViewEntry, Visit, new_document,
};
use bothy_shared::ids::{DeviceId, ItemId, PersonId};
use uuid::Uuid;

use super::ChildHistory;
use crate::{HarnessError, Result};

/// The device a synthetic practitioner makes their changes on (one each,
/// derived from their id so a history is the same every time).
pub fn device_of(person: PersonId) -> DeviceId {
    DeviceId(Uuid::from_u128(person.0.as_u128() ^ 0x0d0d_0d0d))
}

/// What one change does.
enum Edit {
    /// Put an item at `id` in the map at `path` (from the root).
    Put {
        path: Vec<String>,
        id: ItemId,
        item: Item,
    },
    /// Mark a visit finalised.
    Finalise {
        visit: ItemId,
        at: Timestamp,
    },
    /// An action's status and progress, as agreed at a review.
    Action {
        need: ItemId,
        action: ItemId,
        status: ActionStatus,
        progress: String,
    },
    /// The date of the next review.
    ReviewDate(Option<IsoDate>),
    Transition(TransitionPlan),
}

enum Item {
    Review(Box<ReviewMeeting>),
    Rating(Rating),
    View(Box<ViewEntry>),
    Visit(Box<Visit>),
    Voice(Box<FamilyVoice>),
    Chronology(Box<ChronologyEntry>),
}

/// One change: when, by whom, to which document.
struct Step {
    at: Timestamp,
    key: DocKey,
    by: PersonId,
    what: &'static str,
    edit: Edit,
}

fn path(segments: &[&str]) -> Vec<String> {
    segments.iter().map(|s| (*s).to_owned()).collect()
}

/// The map at `path` in `doc`.
fn object_at(doc: &AutoCommit, path: &[String]) -> Result<ObjId> {
    let mut obj = ROOT;
    for segment in path {
        obj = match doc.get(&obj, segment.as_str())? {
            Some((_, id)) => id,
            None => {
                return Err(HarnessError::Setup(format!(
                    "no object at {}",
                    path.join("/")
                )));
            }
        };
    }
    Ok(obj)
}

fn apply(doc: &mut AutoCommit, edit: &Edit) -> Result<()> {
    use autosurgeon::reconcile_prop;
    match edit {
        Edit::Put { path, id, item } => {
            let obj = object_at(doc, path)?;
            let id = id.to_string();
            match item {
                Item::Review(v) => reconcile_prop(doc, &obj, id.as_str(), v.as_ref())?,
                Item::Rating(v) => reconcile_prop(doc, &obj, id.as_str(), v)?,
                Item::View(v) => reconcile_prop(doc, &obj, id.as_str(), v.as_ref())?,
                Item::Visit(v) => reconcile_prop(doc, &obj, id.as_str(), v.as_ref())?,
                Item::Voice(v) => reconcile_prop(doc, &obj, id.as_str(), v.as_ref())?,
                Item::Chronology(v) => reconcile_prop(doc, &obj, id.as_str(), v.as_ref())?,
            }
        }
        Edit::Finalise { visit, at } => {
            let obj = object_at(doc, &path(&["visits", &visit.to_string()]))?;
            reconcile_prop(doc, &obj, "finalised", Some(*at))?;
        }
        Edit::Action {
            need,
            action,
            status,
            progress,
        } => {
            let actions = object_at(doc, &path(&["needs", &need.to_string(), "actions"]))?;
            let id = action.to_string();
            let mut a: bothy_shared::docs::Action =
                autosurgeon::hydrate_prop(&*doc, &actions, id.as_str())?;
            a.status = *status;
            a.progress.update(progress);
            reconcile_prop(doc, &actions, id.as_str(), &a)?;
        }
        Edit::ReviewDate(date) => reconcile_prop(doc, ROOT, "review_date", date)?,
        Edit::Transition(t) => reconcile_prop(doc, ROOT, "transition", t)?,
    }
    Ok(())
}

/// The progress an action shows after the `n`th of `of` reviews (1-based):
/// under way until the last, then its final status and words.
pub(super) fn action_at_review(
    final_status: ActionStatus,
    n: usize,
    of: usize,
    held: IsoDate,
) -> (ActionStatus, String) {
    let status = if n >= of {
        final_status
    } else if final_status == ActionStatus::NotStarted {
        ActionStatus::NotStarted
    } else {
        ActionStatus::InProgress
    };
    let words = match status {
        ActionStatus::NotStarted => format!("Not started yet at the review on {held}."),
        ActionStatus::Done => format!("Done by the review on {held}."),
        _ => format!("Going well at the review on {held}."),
    };
    (status, words)
}

/// The plan as the server creates it: who the child is, the team, the
/// reason, the needs and their actions (not started), nothing else yet.
fn first_plan(plan: &PlanDoc) -> PlanDoc {
    let mut first = plan.clone();
    first.reviews.clear();
    first.young_person_views.clear();
    first.family_views.clear();
    first.review_date = None;
    first.transition = TransitionPlan::default();
    for i in Indicator::ALL {
        first.wellbeing.get_mut(i).ratings.clear();
    }
    for need in first.needs.values_mut() {
        for a in need.actions.values_mut() {
            a.status = ActionStatus::NotStarted;
            a.progress = autosurgeon::Text::default();
        }
    }
    first
}

fn plan_steps(h: &ChildHistory, steps: &mut Vec<Step>) {
    let key = DocKey::Plan(h.id);
    let plan = &h.plan;
    let lead = h.lead.person;
    let mut reviews: Vec<&ReviewMeeting> = plan.reviews.values().collect();
    reviews.sort_by_key(|r| (r.recorded_at, r.id));
    let of = reviews.len();
    for (n, r) in reviews.iter().enumerate() {
        steps.push(Step {
            at: r.recorded_at,
            key,
            by: r.recorded_by,
            what: "review meeting",
            edit: Edit::Put {
                path: path(&["reviews"]),
                id: r.id,
                item: Item::Review(Box::new((*r).clone())),
            },
        });
        steps.push(Step {
            at: r.recorded_at,
            key,
            by: r.recorded_by,
            what: "next review",
            edit: Edit::ReviewDate(r.next_review),
        });
        for need in plan.needs.values() {
            for a in need.actions.values() {
                let (status, progress) = action_at_review(a.status, n + 1, of, r.held_on);
                steps.push(Step {
                    at: r.recorded_at,
                    key,
                    by: lead,
                    what: "action update",
                    edit: Edit::Action {
                        need: need.id,
                        action: a.id,
                        status,
                        progress,
                    },
                });
            }
        }
    }
    for i in Indicator::ALL {
        for rating in plan.wellbeing.get(i).ratings.values() {
            steps.push(Step {
                at: rating.recorded_at,
                key,
                by: rating.by,
                what: "rating",
                edit: Edit::Put {
                    path: path(&["wellbeing", i.as_str(), "ratings"]),
                    id: rating.id,
                    item: Item::Rating(rating.clone()),
                },
            });
        }
    }
    for (collection, views) in [
        ("young_person_views", &plan.young_person_views),
        ("family_views", &plan.family_views),
    ] {
        for v in views.values() {
            steps.push(Step {
                at: v.at,
                key,
                by: v.author,
                what: "views",
                edit: Edit::Put {
                    path: path(&[collection]),
                    id: v.id,
                    item: Item::View(Box::new(v.clone())),
                },
            });
        }
    }
    if let (Some(at), Some(by)) = (plan.transition.recorded_at, plan.transition.recorded_by) {
        steps.push(Step {
            at,
            key,
            by,
            what: "transition plan",
            edit: Edit::Transition(plan.transition.clone()),
        });
    }
}

fn record_steps(key: DocKey, record: &RecordDoc, steps: &mut Vec<Step>) {
    for v in record.visits.values() {
        let mut draft = v.clone();
        draft.finalised = None;
        steps.push(Step {
            at: v.at,
            key,
            by: v.practitioner,
            what: "visit",
            edit: Edit::Put {
                path: path(&["visits"]),
                id: v.id,
                item: Item::Visit(Box::new(draft)),
            },
        });
        if let Some(done) = v.finalised {
            steps.push(Step {
                // Finalised after it was written, even if the day's noon
                // came first.
                at: Timestamp(done.0.max(v.at.0 + 1)),
                key,
                by: v.practitioner,
                what: "finalise visit",
                edit: Edit::Finalise {
                    visit: v.id,
                    at: done,
                },
            });
        }
    }
    for f in record.family_voice.values() {
        steps.push(Step {
            at: Timestamp(f.at.0 + 2),
            key,
            by: f.recorded_by,
            what: "family voice",
            edit: Edit::Put {
                path: path(&["family_voice"]),
                id: f.id,
                item: Item::Voice(Box::new(f.clone())),
            },
        });
    }
    for c in record.chronology.values() {
        let at = c
            .from_visit
            .and_then(|v| record.visits.get(&v))
            .map_or(Timestamp(0), |v| Timestamp(v.at.0 + 3));
        steps.push(Step {
            at,
            key,
            by: c.recorded_by,
            what: "chronology",
            edit: Edit::Put {
                path: path(&["chronology"]),
                id: c.id,
                item: Item::Chronology(Box::new(c.clone())),
            },
        });
    }
}

/// Every document of the child (plan, team record, agency records), each
/// as the changes that made it: a first change by the server, then one per
/// step in time order, by the step's person's device.
pub fn documents(h: &ChildHistory) -> Result<Vec<(DocKey, Automerge)>> {
    let server = bothy_shared::ids::server_actor();
    let mut docs: BTreeMap<DocKey, AutoCommit> = BTreeMap::new();
    let mut steps = Vec::new();
    docs.insert(
        DocKey::Plan(h.id),
        AutoCommit::load(
            &new_document(&DocKey::Plan(h.id), &first_plan(&h.plan), server.clone())?.save(),
        )?,
    );
    plan_steps(h, &mut steps);
    let records = std::iter::once(&h.record).chain(&h.agency_records);
    for record in records {
        let key = match record.agency {
            Some(a) => DocKey::Agency(h.id, a),
            None => DocKey::Record(h.id),
        };
        let empty = RecordDoc::new(h.id, record.agency);
        docs.insert(
            key,
            AutoCommit::load(&new_document(&key, &empty, server.clone())?.save())?,
        );
        record_steps(key, record, &mut steps);
    }
    // Stable: steps of one moment keep the order they were listed in (a
    // review before the next-review date and the action updates).
    steps.sort_by_key(|s| s.at);
    for step in &steps {
        let Some(doc) = docs.get_mut(&step.key) else {
            continue;
        };
        doc.set_actor(device_of(step.by).actor_id());
        apply(doc, &step.edit)?;
        doc.commit_with(
            CommitOptions::default()
                .with_message(step.what.to_owned())
                .with_time(step.at.0 / 1000),
        );
    }
    Ok(docs
        .into_iter()
        .map(|(k, mut d)| {
            d.set_actor(ActorId::random());
            (k, d.document().clone())
        })
        .collect())
}
