//! Refused work never blocks: setting a refused change aside and remaking
//! the honest edits made after it (`docs/sync-protocol.md`, section 5, "The
//! device's loop").
//!
//! An Automerge change names its predecessors by hash, and a change made on
//! this device depends on every change the device held when it was made.
//! So once the server refuses a change, every later edit of the same
//! document on this device depends on it and cannot be sent as it is. What
//! the worker meant by each later edit can: [`remake`] rebuilds the
//! document from every change except the refused ones and those built on
//! them (what the server holds is always among the kept ones: the server
//! never holds a change that depends on one it refused), then, for each
//! later edit in order, takes its *effect* (Automerge's patches from the
//! state it was made on to the state it made) and makes that effect again,
//! as a new change by this device's actor, on the rebuilt document. An edit
//! whose effect reaches into something only the refused change wrote
//! cannot be remade: it is set aside with the refused one, never lost.
//!
//! [`Client::set_aside_refused`] keeps the set-aside changes' bytes with the
//! refusal, replaces the document with the rebuilt one, its unsynced changes
//! with the remade ones and its index rows, all in one store transaction: a
//! crash leaves the device before or after, never between.

use std::collections::BTreeSet;

use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{
    ActorId, Automerge, AutomergeError, Change, ChangeHash, ObjId, ObjType, PatchAction, Prop,
    ROOT, ReadDoc, Value,
};
use bothy_shared::docs::{AnyDoc, DocKey};
use bothy_shared::refused::{BUILT_ON_REFUSED, BUILT_ON_REFUSED_EXPLAINED, words_of_change};
use bothy_shared::robust::{self, MalformedError};

use super::meta;
use crate::error::ServiceError;
use crate::index;
use crate::services::Client;
use crate::store::tx::{self, NewChange, NewRejection};

/// Why an edit could not be made again on the rebuilt document.
#[derive(Debug, thiserror::Error)]
pub enum RemakeError {
    /// The edit reaches into an object the rebuilt document does not hold
    /// (one only a set-aside change made).
    #[error("the edit changes something only a set-aside change wrote")]
    Gone,
    #[error(transparent)]
    Automerge(#[from] AutomergeError),
    /// Automerge failed (a panic, contained).
    #[error(transparent)]
    Contained(#[from] MalformedError),
}

/// A change set aside, and whether the server refused it itself (else it
/// was built on a refused one and could not be remade).
#[derive(Debug, Clone)]
pub struct SetAside {
    pub change: Change,
    pub refused: bool,
}

/// The outcome of [`remake`].
#[derive(Debug, Clone)]
pub struct Remade {
    /// The document without the set-aside changes, with the remade edits.
    pub doc: Automerge,
    /// Every change no longer in the document: the set-aside ones and the
    /// originals of the remade edits.
    pub dropped: BTreeSet<ChangeHash>,
    /// The refused changes and the edits that could not be remade, in order.
    pub set_aside: Vec<SetAside>,
    /// The remade edits, in order (by `actor`).
    pub remade: Vec<Change>,
}

/// Rebuild `doc` without the changes in `refused` and those built on them,
/// remaking each later edit by `actor` on top (see the module
/// documentation). `None` when `doc` holds none of `refused`.
pub fn remake(
    doc: &Automerge,
    refused: &BTreeSet<ChangeHash>,
    actor: &ActorId,
) -> Result<Option<Remade>, RemakeError> {
    // Every change, dependencies first; those built on a refused one.
    let all = doc.get_changes(&[]);
    let mut dropped: BTreeSet<ChangeHash> = BTreeSet::new();
    let mut later: Vec<&Change> = Vec::new();
    for change in &all {
        if refused.contains(&change.hash()) || change.deps().iter().any(|d| dropped.contains(d)) {
            dropped.insert(change.hash());
            later.push(change);
        }
    }
    if later.is_empty() {
        return Ok(None);
    }

    // The document as it was without them: the heads of what is kept.
    let mut kept: BTreeSet<ChangeHash> = all
        .iter()
        .map(Change::hash)
        .filter(|h| !dropped.contains(h))
        .collect();
    for change in &all {
        if !dropped.contains(&change.hash()) {
            for dep in change.deps() {
                kept.remove(dep);
            }
        }
    }
    let heads: Vec<ChangeHash> = kept.into_iter().collect();
    let mut rebuilt = doc.fork_at(&heads)?.with_actor(actor.clone());

    let mut set_aside = Vec::new();
    let mut remade = Vec::new();
    for change in later {
        if refused.contains(&change.hash()) || change.actor_id() != actor {
            set_aside.push(SetAside {
                change: change.clone(),
                refused: refused.contains(&change.hash()),
            });
            continue;
        }
        // What this edit did, on the state it was made on.
        let patches = doc.diff(change.deps(), &[change.hash()]);
        let before = rebuilt.get_heads();
        let mut tx = rebuilt.transaction();
        match patches
            .iter()
            .try_for_each(|p| apply(&mut tx, &p.obj_path(), &p.action))
        {
            Ok(()) => {
                let mut options = CommitOptions::default().with_time(change.timestamp());
                if let Some(message) = change.message() {
                    options = options.with_message(message.to_owned());
                }
                tx.commit_with(options);
                match rebuilt.get_changes(&before).pop() {
                    Some(new) => remade.push(new),
                    // It changed nothing that shows: nothing to lose unless
                    // it wrote words, which are then kept aside.
                    None if words_of_change(change)?.is_empty() => {}
                    None => set_aside.push(SetAside {
                        change: change.clone(),
                        refused: false,
                    }),
                }
            }
            Err(RemakeError::Gone) => {
                tx.rollback();
                set_aside.push(SetAside {
                    change: change.clone(),
                    refused: false,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Some(Remade {
        doc: rebuilt,
        dropped,
        set_aside,
        remade,
    }))
}

/// The props from the root to a patch's object.
trait ObjPath {
    fn obj_path(&self) -> Vec<Prop>;
}

impl ObjPath for automerge::Patch {
    fn obj_path(&self) -> Vec<Prop> {
        self.path.iter().map(|(_, prop)| prop.clone()).collect()
    }
}

/// The object at `path` in the document being remade.
fn resolve(tx: &Transaction<'_>, path: &[Prop]) -> Result<ObjId, RemakeError> {
    let mut obj = ROOT;
    for prop in path {
        obj = match tx.get(&obj, prop.clone())? {
            Some((Value::Object(_), id)) => id,
            _ => return Err(RemakeError::Gone),
        };
    }
    Ok(obj)
}

/// Make one patch's effect again on the object at `path`.
fn apply(tx: &mut Transaction<'_>, path: &[Prop], action: &PatchAction) -> Result<(), RemakeError> {
    let obj = resolve(tx, path)?;
    match action {
        PatchAction::PutMap { key, value, .. } => put(tx, &obj, Prop::Map(key.clone()), &value.0),
        PatchAction::PutSeq { index, value, .. } => put(tx, &obj, Prop::Seq(*index), &value.0),
        PatchAction::Insert { index, values } => {
            for (i, (value, _, _)) in values.iter().enumerate() {
                match value {
                    Value::Object(kind) => {
                        tx.insert_object(&obj, index + i, *kind)?;
                    }
                    Value::Scalar(s) => tx.insert(&obj, index + i, s.clone().into_owned())?,
                }
            }
            Ok(())
        }
        PatchAction::SpliceText { index, value, .. } => {
            Ok(tx.splice_text(&obj, *index, 0, &value.make_string())?)
        }
        PatchAction::Increment { prop, value } => Ok(tx.increment(&obj, prop.clone(), *value)?),
        PatchAction::DeleteMap { key } => Ok(tx.delete(&obj, key.as_str())?),
        PatchAction::DeleteSeq { index, length } => {
            let length = isize::try_from(*length).unwrap_or(isize::MAX);
            if tx.object_type(&obj)? == ObjType::Text {
                Ok(tx.splice_text(&obj, *index, length, "")?)
            } else {
                Ok(tx.splice(
                    &obj,
                    *index,
                    length,
                    std::iter::empty::<automerge::ScalarValue>(),
                )?)
            }
        }
        // Neither changes a value: a conflict shows what is there, and
        // Bothy's documents carry no marks.
        PatchAction::Conflict { .. } | PatchAction::Mark { .. } => Ok(()),
    }
}

fn put(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    prop: Prop,
    value: &Value<'_>,
) -> Result<(), RemakeError> {
    match value {
        Value::Object(kind) => {
            tx.put_object(obj, prop, *kind)?;
        }
        Value::Scalar(s) => tx.put(obj, prop, s.clone().into_owned())?,
    }
    Ok(())
}

/// What the server refused in one reply: the change it named (`rejected`),
/// or, when it named none (`denied`: the person may not write the document
/// at all), every change of the document not yet acknowledged.
#[derive(Debug, Clone)]
pub struct RefusedChanges {
    pub key: DocKey,
    pub hashes: BTreeSet<ChangeHash>,
    pub rule: String,
    pub path: String,
    pub explanation: String,
}

/// What [`Client::set_aside_refused`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAsideOutcome {
    /// Changes kept aside (shown to the worker, never sent again).
    pub set_aside: usize,
    /// Later edits made again on top of what the server holds, to send.
    pub remade: usize,
}

impl Client {
    /// Set the refused changes of a document aside and remake the edits
    /// made after them (see the module documentation). `None` when the
    /// document holds none of them (or no longer reads as its kind without
    /// them): the refusal is then only recorded, as before.
    pub fn set_aside_refused(
        &mut self,
        refused: &RefusedChanges,
    ) -> Result<Option<SetAsideOutcome>, ServiceError> {
        let key = refused.key;
        let actor = self.me().device.actor_id();
        let Some(doc) = self.document(&key)? else {
            return Ok(None);
        };
        let remade = match robust::contain("set refused work aside", || {
            remake(doc, &refused.hashes, &actor)
        })? {
            Ok(Some(remade)) => remade,
            Ok(None) | Err(_) => return Ok(None),
        };
        let Ok(typed) = AnyDoc::read(&remade.doc, &key) else {
            return Ok(None);
        };
        let projection = index::project_document(&key, &remade.doc, &typed)?;
        let doc_key = key.to_string();
        // The local changes still to send: those kept, then the remade ones.
        let mut local: Vec<(Vec<u8>, Vec<u8>)> = self
            .store()
            .unacknowledged_changes(&doc_key)?
            .into_iter()
            .filter(|c| {
                ChangeHash::try_from(c.hash.as_slice())
                    .map(|h| !remade.dropped.contains(&h))
                    .unwrap_or(true)
            })
            .map(|c| (c.hash, c.bytes))
            .collect();
        let mut fresh = remade.remade.clone();
        local.extend(
            fresh
                .iter_mut()
                .map(|c| (c.hash().0.to_vec(), c.bytes().to_vec())),
        );
        let mut aside: Vec<(Vec<u8>, Vec<u8>, bool, String)> = Vec::new();
        for s in &remade.set_aside {
            let mut change = s.change.clone();
            aside.push((
                change.hash().0.to_vec(),
                change.bytes().to_vec(),
                s.refused,
                words_of_change(&change)?,
            ));
        }
        let snapshot = remade.doc.save();
        let heads: Vec<u8> = remade.doc.get_heads().iter().flat_map(|h| h.0).collect();
        self.store_mut().transaction(|t| {
            let news: Vec<NewChange<'_>> = local
                .iter()
                .map(|(hash, bytes)| NewChange {
                    hash,
                    bytes,
                    local: true,
                })
                .collect();
            tx::replace_document(t, &doc_key, &snapshot, &heads, &news)?;
            for (hash, bytes, by_server, words) in &aside {
                let (rule, path, message) = if *by_server {
                    (
                        refused.rule.as_str(),
                        refused.path.as_str(),
                        refused.explanation.as_str(),
                    )
                } else {
                    (BUILT_ON_REFUSED, "", BUILT_ON_REFUSED_EXPLAINED)
                };
                tx::add_rejection(
                    t,
                    &NewRejection {
                        doc_key: &doc_key,
                        change_hash: Some(hash),
                        rule,
                        path,
                        message,
                        bytes: Some(bytes),
                        words: Some(words),
                    },
                )?;
            }
            tx::put_meta(t, &format!("{}{key}", meta::REFUSED_PREFIX), &[])?;
            projection.write(t)?;
            Ok::<_, ServiceError>(())
        })?;
        self.forget_loaded(&key);
        Ok(Some(SetAsideOutcome {
            set_aside: remade.set_aside.len(),
            remade: remade.remade.len(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use automerge::AutoSerde;

    fn server() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
        let mut tx = doc.transaction();
        let visits = tx.put_object(ROOT, "visits", ObjType::Map).unwrap();
        let v1 = tx.put_object(&visits, "v1", ObjType::Map).unwrap();
        let text = tx.put_object(&v1, "observations", ObjType::Text).unwrap();
        tx.splice_text(&text, 0, 0, "Seen at home.").unwrap();
        tx.put(&v1, "finalised", true).unwrap();
        let notes = tx.put_object(ROOT, "notes", ObjType::Text).unwrap();
        tx.splice_text(&notes, 0, 0, "Notes:").unwrap();
        let list = tx.put_object(ROOT, "present", ObjType::List).unwrap();
        tx.insert(&list, 0, "Kai").unwrap();
        tx.commit();
        doc
    }

    fn device_actor() -> ActorId {
        ActorId::from(vec![2; 16])
    }

    fn obj(doc: &Automerge, path: &[&str]) -> ObjId {
        let mut o = ROOT;
        for p in path {
            o = doc.get(&o, *p).unwrap().unwrap().1;
        }
        o
    }

    /// The refused edit: rewrites the finalised visit.
    fn refused_edit(doc: &mut Automerge) -> ChangeHash {
        let text = obj(doc, &["visits", "v1", "observations"]);
        let mut tx = doc.transaction();
        tx.splice_text(&text, 0, 13, "Rewritten later.").unwrap();
        tx.commit().0.unwrap()
    }

    /// Honest edit `i`: a new visit with words, more notes, a list entry,
    /// a deleted field now and then.
    fn honest_edit(doc: &mut Automerge, i: usize) {
        let visits = obj(doc, &["visits"]);
        let notes = obj(doc, &["notes"]);
        let present = obj(doc, &["present"]);
        let mut tx = doc.transaction();
        let v = tx
            .put_object(&visits, format!("n{i}"), ObjType::Map)
            .unwrap();
        let text = tx.put_object(&v, "observations", ObjType::Text).unwrap();
        tx.splice_text(&text, 0, 0, &format!("Visit {i}: all well."))
            .unwrap();
        tx.put(&v, "seen", i.is_multiple_of(2)).unwrap();
        let len = tx.length(&notes);
        tx.splice_text(&notes, len, 0, &format!(" {i}")).unwrap();
        tx.insert(&present, 1, format!("P{i}")).unwrap();
        if i == 5 {
            tx.delete(obj_in(&tx, &["visits", "n4"]), "seen").unwrap();
        }
        tx.commit_with(CommitOptions::default().with_message(format!("edit {i}")));
    }

    fn obj_in(tx: &Transaction<'_>, path: &[&str]) -> ObjId {
        let mut o = ROOT;
        for p in path {
            o = tx.get(&o, *p).unwrap().unwrap().1;
        }
        o
    }

    fn json(doc: &Automerge) -> serde_json::Value {
        serde_json::to_value(AutoSerde::from(doc)).unwrap()
    }

    #[test]
    fn ten_honest_edits_after_a_refused_one_are_remade_on_what_the_server_holds() {
        let server = server();
        let mut device = server.fork().with_actor(device_actor());
        // What the device should end with: the server's document and the
        // ten edits, made as if the refused one never was.
        let mut expected = device.clone();
        let refused = refused_edit(&mut device);
        for i in 0..10 {
            honest_edit(&mut device, i);
            honest_edit(&mut expected, i);
        }

        let remade = remake(&device, &BTreeSet::from([refused]), &device_actor())
            .unwrap()
            .unwrap();
        assert_eq!(json(&remade.doc), json(&expected));
        assert_eq!(remade.remade.len(), 10, "no edit lost");
        assert_eq!(remade.set_aside.len(), 1);
        assert!(remade.set_aside[0].refused);
        assert_eq!(remade.set_aside[0].change.hash(), refused);
        assert_eq!(remade.dropped.len(), 11);
        // Every remade change is the device's, none leans on the refused
        // one, and they keep their messages.
        for (i, c) in remade.remade.iter().enumerate() {
            assert_eq!(c.actor_id(), &device_actor());
            assert!(
                !remade
                    .doc
                    .get_changes(&[])
                    .iter()
                    .any(|h| h.hash() == refused)
            );
            assert_eq!(c.message().map(str::to_owned), Some(format!("edit {i}")));
        }
        // The server takes them as they are, on what it holds.
        let mut taken = server.clone();
        taken.apply_changes(remade.remade.clone()).unwrap();
        assert_eq!(json(&taken), json(&expected));
        // Remaking again finds nothing refused: nothing changes.
        assert!(
            remake(&remade.doc, &BTreeSet::from([refused]), &device_actor())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn an_edit_of_what_only_the_refused_change_wrote_is_set_aside_with_it() {
        let server = server();
        let mut device = server.fork().with_actor(device_actor());
        let visits = obj(&device, &["visits"]);
        let mut tx = device.transaction();
        let v = tx.put_object(&visits, "bad", ObjType::Map).unwrap();
        tx.put(&v, "what", "first words").unwrap();
        let refused = tx.commit().0.unwrap();
        // Built on it: an edit inside the object only the refused change made.
        let v = obj(&device, &["visits", "bad"]);
        let mut tx = device.transaction();
        tx.put(&v, "what", "second words").unwrap();
        tx.commit();
        honest_edit(&mut device, 0);

        let remade = remake(&device, &BTreeSet::from([refused]), &device_actor())
            .unwrap()
            .unwrap();
        assert_eq!(remade.set_aside.len(), 2);
        assert!(remade.set_aside[0].refused);
        assert!(!remade.set_aside[1].refused);
        assert_eq!(
            words_of_change(&remade.set_aside[1].change).unwrap(),
            "what: second words"
        );
        assert_eq!(remade.remade.len(), 1);
        assert!(
            remade
                .doc
                .get(obj(&remade.doc, &["visits"]), "bad")
                .unwrap()
                .is_none()
        );
        assert!(
            remade
                .doc
                .get(obj(&remade.doc, &["visits"]), "n0")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_document_without_the_refused_change_is_left_alone() {
        let doc = server();
        let other = ChangeHash([9; 32]);
        assert!(
            remake(&doc, &BTreeSet::from([other]), &device_actor())
                .unwrap()
                .is_none()
        );
    }
}
