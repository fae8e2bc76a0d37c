//! Keeping the young person's copy of the plan (`young/<child>/<n>`) in step
//! with the team's plan (`plan/<child>`), inside the `/v1/sync` request that
//! changed either, so the copy is stored in the same transaction as the
//! change that moved it.
//!
//! After a request's accepted changes are merged, for each child of a
//! changed plan or copy that has a young person's account:
//! 1. the views the young person wrote in their copy (the current one, or an
//!    older one they still held unsynced views in) are mirrored into the
//!    plan's `young_person_views`, item by item, so the team sees them;
//! 2. if the plan gained a withheld marker (or a marker's section changed),
//!    a new generation `young/<child>/<n+1>` is started from the projection:
//!    a new Automerge document, so nothing the old copy's history held
//!    reaches the young person again (the old one stays stored for the
//!    audit and is never read: the policy reads only generation `n+1`);
//! 3. otherwise the projection ([`docs::young_copy`]) is mirrored into the
//!    current copy, writing only what differs.
//!
//! Each direction owns its items (views by the young person flow copy to
//! plan, everything else plan to copy), so the two never fight. The server's
//! changes are made by this instance's own actor ([`instance_actor`]): two
//! instances on one PostgreSQL database may update a copy at once, and
//! Automerge needs each actor's changes to be one sequence.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ObjType, ROOT, ReadDoc};
use bothy_shared::docs::{self, DocError, DocKey, PlanDoc};
use bothy_shared::ids::{ChildId, ItemId, PersonId};
use bothy_shared::policy::ChildTeam;

use crate::storage::{NewChange, NewDocument};

/// Why the copy could not be kept in step (logged; the request's own
/// changes are stored regardless, and the next change tries again).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the plan or copy does not read")]
    Document(#[from] DocError),
    #[error("Automerge failed while mirroring")]
    Automerge(#[from] automerge::AutomergeError),
}

/// This server instance's actor for the changes it makes itself: the
/// server's actor bytes followed by 16 random bytes chosen once per process.
pub fn instance_actor() -> ActorId {
    static ACTOR: OnceLock<ActorId> = OnceLock::new();
    ACTOR
        .get_or_init(|| {
            let mut bytes = bothy_shared::ids::server_actor().to_bytes().to_vec();
            bytes.extend_from_slice(ActorId::random().to_bytes());
            ActorId::from(bytes)
        })
        .clone()
}

/// What keeping one child's copy in step produced.
#[derive(Debug, Default)]
pub struct Kept {
    /// The server's changes to store (documents created as needed).
    pub server: Vec<NewDocument>,
    /// Each changed document as it now is (plan and current copy).
    pub docs: Vec<(DocKey, Automerge)>,
}

/// One child's plan and copies as the request leaves them.
#[derive(Debug)]
pub struct ChildDocs<'a> {
    pub team: &'a ChildTeam,
    /// The plan before the request.
    pub plan_before: &'a Automerge,
    /// The plan after the request's accepted changes.
    pub plan: &'a Automerge,
    /// The current copy after the request (`None` if there is none yet).
    pub copy: Option<&'a Automerge>,
    /// Every copy the young person changed in this request (current or older).
    pub written: Vec<&'a Automerge>,
}

/// The (id, section) of every withheld marker.
fn markers(plan: &PlanDoc) -> BTreeSet<(ItemId, String)> {
    plan.withheld
        .values()
        .map(|m| (m.id, m.section.clone()))
        .collect()
}

/// Keep one child's copy in step; see the module documentation.
pub fn keep_in_step(child: ChildId, d: ChildDocs<'_>) -> Result<Kept, CopyError> {
    let mut kept = Kept::default();
    let Some(yp) = d.team.young_person else {
        return Ok(kept);
    };
    let plan_key = DocKey::Plan(child);
    let actor = instance_actor();

    // 1. The young person's views, copy -> plan.
    let mut plan_doc = d.plan.clone();
    plan_doc.set_actor(actor.clone());
    let before_heads = plan_doc.get_heads();
    if !d.written.is_empty() {
        let mut tx = plan_doc.transaction();
        let views = match tx.get(ROOT, "young_person_views")? {
            Some((_, obj)) => obj,
            None => tx.put_object(ROOT, "young_person_views", ObjType::Map)?,
        };
        for copy in &d.written {
            for (id, obj) in own_views(copy, yp)? {
                let target = match tx.get(&views, id.as_str())? {
                    Some((automerge::Value::Object(ObjType::Map), o)) => o,
                    _ => tx.put_object(&views, id.as_str(), ObjType::Map)?,
                };
                docs::mirror(*copy, &obj, &mut tx, &target)?;
            }
        }
        tx.commit_with(
            automerge::transaction::CommitOptions::default()
                .with_message("the young person's views, from their copy of the plan".to_owned()),
        );
    }
    let mirrored = plan_doc.get_changes(&before_heads);
    if !mirrored.is_empty() {
        // The plan must still read as a plan.
        docs::read_document::<PlanDoc, _>(&plan_doc, &plan_key)?;
        kept.server.push(NewDocument {
            key: plan_key,
            changes: mirrored.iter().map(NewChange::from_change).collect(),
        });
        kept.docs.push((plan_key, plan_doc.clone()));
    }

    // 2 and 3. The projection, plan -> copy.
    let plan: PlanDoc = docs::read_document(&plan_doc, &plan_key)?;
    let before: PlanDoc = docs::read_document(d.plan_before, &plan_key)?;
    let mut projection = docs::young_copy(&plan);
    let current = d.team.young_copy;
    let withheld_more = !markers(&plan).is_subset(&markers(&before));
    match (current, d.copy) {
        (Some(n), Some(copy)) if !withheld_more => {
            let key = DocKey::Young(child, n);
            // Views the young person wrote that the plan does not hold yet
            // (another instance's request) stay: the copy owns them.
            let held: PlanDoc = docs::read_document(copy, &key)?;
            for (id, v) in held.young_person_views {
                if v.author == yp {
                    projection
                        .young_person_views
                        .entry(id)
                        .or_insert_with(|| docs::ViewEntry {
                            words: docs::Text::with_value(v.words.as_str()),
                            ..v
                        });
                }
            }
            let mut source = AutoCommit::new();
            docs::write_document(&mut source, &key, &projection)?;
            let mut doc = copy.clone();
            doc.set_actor(actor.clone());
            let heads = doc.get_heads();
            {
                let mut tx = doc.transaction();
                docs::mirror(&source, &ROOT, &mut tx, &ROOT)?;
                tx.commit_with(
                    automerge::transaction::CommitOptions::default()
                        .with_message("the plan, as the young person may read it".to_owned()),
                );
            }
            let changes = doc.get_changes(&heads);
            if !changes.is_empty() {
                docs::read_document::<PlanDoc, _>(&doc, &key)?;
                kept.server.push(NewDocument {
                    key,
                    changes: changes.iter().map(NewChange::from_change).collect(),
                });
                kept.docs.push((key, doc));
            }
        }
        _ => {
            // A new generation: no history, so nothing withheld since is in it.
            let key = DocKey::Young(child, current.map_or(1, |n| n + 1));
            let doc = docs::new_document(&key, &projection, actor)?;
            kept.server.push(NewDocument {
                key,
                changes: doc
                    .get_changes(&[])
                    .iter()
                    .map(NewChange::from_change)
                    .collect(),
            });
            kept.docs.push((key, doc));
        }
    }
    Ok(kept)
}

/// The views in a copy written by the young person, with their objects.
fn own_views(copy: &Automerge, yp: PersonId) -> Result<Vec<(String, automerge::ObjId)>, CopyError> {
    let Some((_, views)) = copy.get(ROOT, "young_person_views")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for id in copy.keys(&views).collect::<Vec<_>>() {
        let Some((automerge::Value::Object(ObjType::Map), obj)) = copy.get(&views, id.as_str())?
        else {
            continue;
        };
        let author: Option<PersonId> = match copy.get(&obj, "author")? {
            Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                automerge::ScalarValue::Str(a) => a.parse().ok(),
                _ => None,
            },
            _ => None,
        };
        if author == Some(yp) {
            out.push((id, obj));
        }
    }
    Ok(out)
}

/// The children whose copies a request must keep in step: those of the
/// plans and copies it changed whose team has a young person.
pub fn children_touched<'a>(
    changed: impl IntoIterator<Item = &'a DocKey>,
    teams: &BTreeMap<ChildId, ChildTeam>,
) -> BTreeSet<ChildId> {
    changed
        .into_iter()
        .filter(|k| k.is_plan())
        .map(DocKey::child)
        .filter(|c| teams.get(c).is_some_and(|t| t.young_person.is_some()))
        .collect()
}

/// The documents to hold while a request on `keys` may have to keep copies
/// in step: for each plan or copy asked about, the child's plan and current
/// copy (locked with the request's own, in key order).
pub fn related(
    keys: impl IntoIterator<Item = DocKey>,
    teams: &BTreeMap<ChildId, ChildTeam>,
) -> BTreeSet<DocKey> {
    let mut out = BTreeSet::new();
    for k in keys {
        if !k.is_plan() {
            continue;
        }
        let Some(team) = teams.get(&k.child()) else {
            continue;
        };
        if team.young_person.is_none() {
            continue;
        }
        out.insert(DocKey::Plan(k.child()));
        if let Some(n) = team.young_copy {
            out.insert(DocKey::Young(k.child(), n));
        }
    }
    out
}

/// The documents of `kept` by key, for the caller's cache.
pub fn by_key(kept: Vec<(DocKey, Automerge)>) -> HashMap<DocKey, Automerge> {
    kept.into_iter().collect()
}
