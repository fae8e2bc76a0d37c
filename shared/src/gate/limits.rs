//! How much one change, and the changes sent together for one document, may
//! hold: checked from the changes' own bytes and operations BEFORE they are
//! applied to any document, so the work a hostile change costs is bounded
//! by these numbers, not by what it asks for.
//!
//! The device runs the same check on its own changes (through
//! [`super::check_changes`] and [`super::check_applied`]), so an honest
//! device refuses a change that is too large when it is made, never later
//! at the server. `docs/sync-protocol.md` ("Limits") lists every limit.

use std::collections::HashMap;

use automerge::legacy::{ObjectId, OpId, OpType};
use automerge::{Automerge, Change, ChangeHash, ReadDoc, ScalarValue};

use super::{GateError, reject};
use crate::policy::Rule;
use crate::robust;

/// The deepest an object may sit below the root (the root's collections
/// are at depth 1). The schema's deepest object is a text inside an item
/// inside an item (`needs/<id>/actions/<id>/what` is depth 5); twice that
/// leaves room for the schema to grow.
pub const MAX_DEPTH: usize = 12;

/// Operations in one change. One operation per character typed: a change
/// holding a long visit written offline is a few tens of thousands.
pub const MAX_OPS_PER_CHANGE: usize = 100_000;

/// Operations in all the changes checked together (one document's changes
/// in one sync message).
pub const MAX_OPS_PER_BATCH: usize = 200_000;

/// Characters in one text, and in one string value; bytes in one byte
/// string; elements in one list. A long visit note is a few thousand.
pub const MAX_VALUE_LEN: usize = 100_000;

/// Refuse `changes` if any is larger than the limits allow or nests an
/// object deeper than [`MAX_DEPTH`] below `before`'s root. Reads each
/// change's operations once; never applies them.
pub fn check_bounds(before: &Automerge, changes: &[Change]) -> Result<(), GateError> {
    check_bounds_at(before, None, changes)
}

/// [`check_bounds`] against `doc` as it was at `heads` (`None`: as it is),
/// for a document the changes were applied to already.
pub fn check_bounds_at(
    doc: &Automerge,
    heads: Option<&[ChangeHash]>,
    changes: &[Change],
) -> Result<(), GateError> {
    let mut total = 0usize;
    for c in changes {
        // `len` was counted when the change was parsed, without keeping its
        // operations: nothing is decoded for a change that is too large.
        let n = c.len();
        if n > MAX_OPS_PER_CHANGE {
            return Err(reject(
                c,
                "",
                Rule::ChangeTooLarge,
                format!("{n} operations; at most {MAX_OPS_PER_CHANGE} per change"),
            ));
        }
        total = total.saturating_add(n);
        if total > MAX_OPS_PER_BATCH {
            return Err(reject(
                c,
                "",
                Rule::ChangeTooLarge,
                format!("over {MAX_OPS_PER_BATCH} operations in the changes sent together"),
            ));
        }
    }

    let mut depths = Depths::new(doc, heads);
    // Elements inserted into each list or text by these changes.
    let mut inserted: HashMap<ObjectId, usize> = HashMap::new();
    for c in changes {
        let expanded = robust::expand_change(c)?;
        let start_op = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            if let Some(len) = value_len(&op.action)
                && len > MAX_VALUE_LEN
            {
                return Err(reject(
                    c,
                    "",
                    Rule::ValueTooLarge,
                    format!("a value of {len}; at most {MAX_VALUE_LEN}"),
                ));
            }
            if op.insert {
                let n = inserted.entry(op.obj.clone()).or_default();
                *n += 1;
                if *n > MAX_VALUE_LEN {
                    return Err(reject(
                        c,
                        "",
                        Rule::ValueTooLarge,
                        format!("over {MAX_VALUE_LEN} elements inserted into one list or text"),
                    ));
                }
            }
            if let OpType::Make(_) = op.action {
                let depth = depths.of(&op.obj) + 1;
                if depth > MAX_DEPTH {
                    return Err(reject(
                        c,
                        "",
                        Rule::ObjectTooDeep,
                        format!("an object {depth} deep; at most {MAX_DEPTH}"),
                    ));
                }
                // The operation's own id is the change's start plus its place.
                let id = OpId(start_op + i as u64, expanded.actor_id.clone());
                depths.known.insert(ObjectId::Id(id), depth);
            }
        }
    }
    Ok(())
}

/// The length a put value counts for, if it is one that can be long.
fn value_len(action: &OpType) -> Option<usize> {
    match action {
        OpType::Put(ScalarValue::Str(s)) => Some(s.chars().count()),
        OpType::Put(ScalarValue::Bytes(b)) => Some(b.len()),
        OpType::Put(ScalarValue::Unknown { bytes, .. }) => Some(bytes.len()),
        _ => None,
    }
}

/// How deep each object is: those the changes make, from their parent's
/// depth (one step each, so a chain costs its length, not its square), and
/// those already in the document, asked of it once each.
struct Depths<'a> {
    before: &'a Automerge,
    /// The heads `before` is read at (`None`: as it is).
    heads: Option<&'a [ChangeHash]>,
    known: HashMap<ObjectId, usize>,
}

impl<'a> Depths<'a> {
    fn new(before: &'a Automerge, heads: Option<&'a [ChangeHash]>) -> Self {
        Depths {
            before,
            heads,
            known: HashMap::new(),
        }
    }

    fn of(&mut self, obj: &ObjectId) -> usize {
        if *obj == ObjectId::Root {
            return 0;
        }
        if let Some(d) = self.known.get(obj) {
            return *d;
        }
        // An object of the document before: it passed this check when it
        // was made, so its path is short. One the document does not know
        // comes from a change not received yet; the changes depending on
        // it wait for it and are checked again with it (the gate runs on
        // every change a message adds), so here it counts as the shallowest.
        let depth = self
            .before
            .import_obj(&obj.to_string())
            .ok()
            .and_then(|id| {
                robust::contain("object depth", || match self.heads {
                    Some(heads) => self.before.parents_at(&id, heads).map(|p| p.path().len()),
                    None => self.before.parents(&id).map(|p| p.path().len()),
                })
                .ok()?
                .ok()
            })
            .unwrap_or(0);
        self.known.insert(obj.clone(), depth);
        depth
    }
}
