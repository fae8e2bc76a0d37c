//! Open conflicts: fields where concurrent edits left more than one value.
//!
//! When two people change the same scalar field of a document (an action's
//! status, the review date, a rating's note) without seeing each other's
//! change, Automerge keeps both values: `get` answers one of them (the same
//! one on every device), `get_all` answers both. [`open_conflicts`] finds
//! every such field of a document, with each value and the operation (and so
//! the actor and change) that wrote it, so the screens can show the conflict
//! instead of silently showing one side.
//!
//! The walk reads each map of the document once with `map_range`, which
//! flags the keys that hold more than one value; only those keys are read
//! again with `get_all`. Text and lists are not descended into: concurrent
//! text edits merge character by character and are not conflicts.
//!
//! A conflict is settled by one new put of the chosen value at the field's
//! path ([`settle_at`]): the put names every value it saw as its
//! predecessor, so it supersedes all of them on every device that receives
//! it.

use std::fmt;

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::{DocKey, WriteError};

/// How many hex digits a [`ConflictId`] has.
const CONFLICT_ID_LEN: usize = 10;

/// A short, stable name for the conflict at one field of one document: the
/// first hex digits of SHA-256 over the document key and the field's path.
/// Every device computes the same one, so a script can name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConflictId(pub String);

impl ConflictId {
    pub fn of(key: &DocKey, path: &[String]) -> ConflictId {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(key.to_string().as_bytes());
        for seg in path {
            // A separator that cannot occur in a key keeps `a/bc` apart from `ab/c`.
            ctx.update(&[0]);
            ctx.update(seg.as_bytes());
        }
        let digest = ctx.finish();
        let mut hex = hex::encode(digest.as_ref());
        hex.truncate(CONFLICT_ID_LEN);
        ConflictId(hex)
    }
}

impl fmt::Display for ConflictId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One of the values a conflicted field holds, and who wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictValue {
    pub value: ScalarValue,
    /// The actor (device) whose operation wrote this value.
    pub actor: ActorId,
    /// The operation's counter: with the actor, names the operation.
    pub counter: u64,
    /// When the change holding the operation was made, in seconds since the
    /// epoch as the writing device recorded it (0 if it recorded none).
    pub at: i64,
}

/// A field holding more than one value.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenConflict {
    pub id: ConflictId,
    pub doc: DocKey,
    /// The path from the root; the last segment is the field's key.
    pub path: Vec<String>,
    /// The values, the one `get` shows (Automerge's winner) first.
    pub values: Vec<ConflictValue>,
}

/// Every open conflict of `doc` (stored under `key`), in path order.
pub fn open_conflicts(doc: &Automerge, key: &DocKey) -> Vec<OpenConflict> {
    let mut out = Vec::new();
    walk(doc, key, automerge::ROOT, Vec::new(), &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The open conflicts at or below `item` (`needs/<id>`, `review_date`…), in
/// path order: what an edit of that item alone could settle. Reads only that
/// item's maps, so the cost follows the item, not the document.
pub fn open_conflicts_under(doc: &Automerge, key: &DocKey, item: &[&str]) -> Vec<OpenConflict> {
    let mut out = Vec::new();
    let Some((last, parents)) = item.split_last() else {
        return open_conflicts(doc, key);
    };
    let Ok(Ok(obj)) = map_at(doc, parents.iter().copied()) else {
        return out;
    };
    let path: Vec<String> = item.iter().map(|s| (*s).to_owned()).collect();
    if let Some(c) = conflict_at(doc, key, &obj, path.clone()) {
        out.push(c);
    }
    if let Ok(Some((Value::Object(ObjType::Map), id))) = doc.get(&obj, *last) {
        walk(doc, key, id, path, &mut out);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The scalar value `doc` shows at `path` (from the root): for a conflicted
/// field, the one Automerge picks.
pub fn shown_at(doc: &Automerge, path: &[String]) -> Option<ScalarValue> {
    let (last, parents) = path.split_last()?;
    let obj = map_at(doc, parents.iter().map(String::as_str)).ok()?.ok()?;
    match doc.get(&obj, last.as_str()) {
        Ok(Some((Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

/// The conflicts in the map `from` (at `path`) and every map below it.
fn walk(
    doc: &Automerge,
    key: &DocKey,
    from: ObjId,
    path: Vec<String>,
    out: &mut Vec<OpenConflict>,
) {
    let mut stack: Vec<(ObjId, Vec<String>)> = vec![(from, path)];
    while let Some((obj, path)) = stack.pop() {
        for item in doc.map_range(&obj, ..) {
            let k = item.key.to_string();
            if item.conflict {
                let mut p = path.clone();
                p.push(k.clone());
                if let Some(c) = conflict_at(doc, key, &obj, p) {
                    out.push(c);
                }
            }
            // Only maps hold fields; the winning value is the one the
            // document shows, so the walk follows it.
            if matches!(item.value, automerge::ValueRef::Object(ObjType::Map)) {
                let mut p = path.clone();
                p.push(k);
                stack.push((item.id(), p));
            }
        }
    }
}

/// The conflict at `obj[path.last()]`, if it holds more than one scalar value.
fn conflict_at(
    doc: &Automerge,
    key: &DocKey,
    obj: &ObjId,
    path: Vec<String>,
) -> Option<OpenConflict> {
    let field = path.last()?;
    let all = doc.get_all(obj, field.as_str()).ok()?;
    let mut values = Vec::new();
    for (value, id) in all.into_iter().rev() {
        // Two maps or texts made at once under one key are not a field
        // someone chooses between; only scalar values are.
        let Value::Scalar(s) = value else {
            return None;
        };
        let automerge::ObjId::Id(counter, actor, _) = &id else {
            return None;
        };
        values.push(ConflictValue {
            value: s.into_owned(),
            actor: actor.clone(),
            counter: *counter,
            at: written_at(doc, &id),
        });
    }
    (values.len() > 1).then(|| OpenConflict {
        id: ConflictId::of(key, &path),
        doc: *key,
        path,
        values,
    })
}

/// When the change holding operation `op` was made. Automerge keeps, per
/// actor, the op counter range of each change, so finding the change is a
/// binary search (`hash_for_opid`) and its metadata one lookup: no walk of
/// the history.
fn written_at(doc: &Automerge, op: &ObjId) -> i64 {
    doc.hash_for_opid(op)
        .and_then(|h| doc.get_change_meta_by_hash(&h))
        .map(|m| m.timestamp)
        .unwrap_or(0)
}

/// The map reached from the root through the map keys `segments`; inside,
/// the first segment that does not lead to a map.
fn map_at<'s, D: ReadDoc>(
    doc: &D,
    segments: impl IntoIterator<Item = &'s str>,
) -> Result<Result<ObjId, &'s str>, automerge::AutomergeError> {
    let mut obj = automerge::ROOT;
    for seg in segments {
        obj = match doc.get(&obj, seg)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => return Ok(Err(seg)),
        };
    }
    Ok(Ok(obj))
}

/// Put `value` at `path` (from the root), in a transaction: the settling
/// write of a conflict. The put supersedes every value the field holds.
pub fn settle_at<T: Transactable + ReadDoc>(
    tx: &mut T,
    key: &DocKey,
    path: &[String],
    value: ScalarValue,
) -> Result<(), Box<WriteError>> {
    let missing = |segment: &str| {
        Box::new(WriteError::Missing {
            segment: segment.to_owned(),
            key: *key,
        })
    };
    let (last, parents) = path.split_last().ok_or_else(|| missing("(the field)"))?;
    let obj = map_at(tx, parents.iter().map(String::as_str))
        .map_err(|e| Box::new(WriteError::Automerge(e)))?
        .map_err(missing)?;
    tx.put(&obj, last.as_str(), value)
        .map_err(|e| Box::new(WriteError::Automerge(e)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code

    use super::*;
    use crate::docs::{ActionStatus, PlanDoc};
    use automerge::AutoCommit;

    fn plan_with_action() -> (DocKey, Automerge, Vec<String>) {
        let demo = crate::demo::partnership();
        let child = &demo.children[0];
        let key = DocKey::Plan(child.id);
        let (_, doc) = child
            .documents(&crate::demo::server_actor())
            .unwrap()
            .into_iter()
            .find(|(k, _)| *k == key)
            .unwrap();
        let plan: PlanDoc = crate::docs::read_document(&doc, &key).unwrap();
        let need = plan.needs.values().find(|n| !n.actions.is_empty()).unwrap();
        let action = need.actions.keys().next().unwrap();
        let path = vec![
            "needs".to_owned(),
            need.id.to_string(),
            "actions".to_owned(),
            action.to_string(),
            "status".to_owned(),
        ];
        (key, doc, path)
    }

    /// `doc` with `value` put at `path` by `actor`, as one change at `time`.
    fn edited(doc: &Automerge, actor: u8, path: &[String], value: &str, time: i64) -> Automerge {
        let mut d = AutoCommit::load(&doc.save())
            .unwrap()
            .with_actor(ActorId::from(vec![actor; 16]));
        let key = DocKey::Plan(crate::ids::ChildId::random());
        settle_at(&mut d, &key, path, ScalarValue::Str(value.into())).unwrap();
        d.commit_with(automerge::transaction::CommitOptions::default().with_time(time));
        d.document().clone()
    }

    fn merged(a: &Automerge, b: &Automerge) -> Automerge {
        let mut m = a.clone();
        m.merge(&mut b.clone()).unwrap();
        m
    }

    #[test]
    fn two_concurrent_status_edits_are_one_open_conflict_naming_both_actors_and_times() {
        let (key, doc, path) = plan_with_action();
        assert!(open_conflicts(&doc, &key).is_empty());
        let a = edited(&doc, 1, &path, "Done", 1_700_000_000);
        let b = edited(&doc, 2, &path, "Stuck", 1_700_000_100);
        let m = merged(&a, &b);
        let found = open_conflicts(&m, &key);
        assert_eq!(found.len(), 1, "{found:#?}");
        let c = &found[0];
        assert_eq!(c.path, path);
        assert_eq!(c.doc, key);
        let mut got: Vec<(String, ActorId, i64)> = c
            .values
            .iter()
            .map(|v| (v.value.as_str().unwrap().to_owned(), v.actor.clone(), v.at))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (
                    "Done".to_owned(),
                    ActorId::from(vec![1u8; 16]),
                    1_700_000_000
                ),
                (
                    "Stuck".to_owned(),
                    ActorId::from(vec![2u8; 16]),
                    1_700_000_100
                ),
            ]
        );
        // The first value is the one the document shows.
        let shown: crate::docs::Need = crate::docs::hydrate_at(
            &m,
            &path[..2].iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .unwrap()
        .unwrap();
        let status = shown.actions.values().next().map(|a| a.status);
        let first = c.values[0].value.as_str().unwrap();
        assert_eq!(status.map(|s| format!("{s:?}")), Some(first.to_owned()));
        assert!(matches!(
            status,
            Some(ActionStatus::Done | ActionStatus::Stuck)
        ));
    }

    #[test]
    fn the_same_field_has_the_same_id_on_every_device_and_other_fields_do_not() {
        let (key, doc, path) = plan_with_action();
        let a = edited(&doc, 1, &path, "Done", 1);
        let b = edited(&doc, 2, &path, "Stuck", 2);
        let ab = open_conflicts(&merged(&a, &b), &key);
        let ba = open_conflicts(&merged(&b, &a), &key);
        assert_eq!(ab[0].id, ba[0].id);
        assert_eq!(ab[0].id, ConflictId::of(&key, &path));
        assert_eq!(ab[0].id.0.len(), CONFLICT_ID_LEN);
        assert!(ab[0].id.0.chars().all(|c| c.is_ascii_hexdigit()));
        let mut other = path.clone();
        other[4] = "due".to_owned();
        assert_ne!(ConflictId::of(&key, &other), ab[0].id);
        let record = DocKey::Record(key.child());
        assert_ne!(ConflictId::of(&record, &path), ab[0].id);
    }

    #[test]
    fn one_put_settles_the_conflict_whichever_value_is_kept() {
        let (key, doc, path) = plan_with_action();
        let a = edited(&doc, 1, &path, "Done", 1);
        let b = edited(&doc, 2, &path, "Stuck", 2);
        let m = merged(&a, &b);
        for keep in ["Done", "Stuck"] {
            let settled = edited(&m, 3, &path, keep, 3);
            assert!(open_conflicts(&settled, &key).is_empty(), "keeping {keep}");
            // And on a device that had only one side, once it receives the rest.
            let late = merged(&a, &settled);
            assert!(open_conflicts(&late, &key).is_empty());
            let obj = path[..4].iter().fold(automerge::ROOT, |o, s| {
                late.get(&o, s.as_str()).unwrap().unwrap().1
            });
            let (v, _) = late.get(&obj, "status").unwrap().unwrap();
            assert_eq!(v.as_str(), Some(keep));
        }
    }

    #[test]
    fn concurrent_text_edits_are_not_conflicts() {
        let (key, doc, _) = plan_with_action();
        let edit = |actor: u8, words: &str| {
            let mut d = AutoCommit::load(&doc.save())
                .unwrap()
                .with_actor(ActorId::from(vec![actor; 16]));
            let (_, reason) = d.get(automerge::ROOT, "reason").unwrap().unwrap();
            d.splice_text(&reason, 0, 0, words).unwrap();
            d.commit();
            d.document().clone()
        };
        let m = merged(&edit(1, "One. "), &edit(2, "Two. "));
        assert!(open_conflicts(&m, &key).is_empty());
    }
}
