//! Refused work in words: what a change the server refused would have
//! written, read straight from the change's operations, so the device, the
//! `bothy refused` command and the supervisor's read show the same words,
//! and a worker can copy them into an edit that is allowed.
//!
//! Only the change is needed, not the document it was made on: the server
//! keeps refused changes apart from every document, and a device keeps them
//! after it has set them aside (see `docs/sync-protocol.md`, section 5).

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{Change, ScalarValue};

use crate::robust::{self, MalformedError};

/// The rule name a device records for a later edit that built on a refused
/// change and could not be made again without it (set aside with it).
pub const BUILT_ON_REFUSED: &str = "built-on-refused";

/// The explanation of [`BUILT_ON_REFUSED`].
pub const BUILT_ON_REFUSED_EXPLAINED: &str = "This edit changed something only the refused change \
     had written, so it could not be kept without it. Copy its words into a new edit.";

/// The most refused changes the server keeps per device; beyond it, a
/// device's newest refusals are audited but their bytes are not kept.
pub const MAX_REFUSED_PER_DEVICE: u64 = 500;

/// The words a change would have written, one `field: words` line per
/// string it puts into a map and per run of text it types, in the order of
/// its operations. Identifiers (UUIDs) and empty strings are left out: they
/// are not anybody's words. Empty when the change writes no words.
pub fn words_of_change(change: &Change) -> Result<String, MalformedError> {
    let expanded = robust::expand_change(change)?;
    let start = expanded.start_op.get();
    let actor = expanded.actor_id.clone();
    // The field each object made in this change was put under.
    let mut made: HashMap<OpId, String> = HashMap::new();
    // Text typed into each text object, in order of first typing.
    let mut typed: Vec<(ObjectId, String)> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for (i, op) in expanded.operations.iter().enumerate() {
        let id = OpId(start + i as u64, actor.clone());
        match (&op.action, &op.key) {
            (OpType::Make(_), Key::Map(field)) => {
                made.insert(id, field.to_string());
            }
            (OpType::Put(ScalarValue::Str(s)), Key::Map(field)) if !op.insert && is_words(s) => {
                lines.push(format!("{field}: {s}"));
            }
            (OpType::Put(ScalarValue::Str(s)), Key::Seq(_)) if op.insert => {
                match typed.iter_mut().find(|(obj, _)| *obj == op.obj) {
                    Some((_, text)) => text.push_str(s),
                    None => typed.push((op.obj.clone(), s.to_string())),
                }
            }
            _ => {}
        }
    }
    for (obj, text) in typed {
        if !is_words(&text) {
            continue;
        }
        let field = match &obj {
            ObjectId::Id(id) => made.get(id).cloned(),
            ObjectId::Root => None,
        };
        lines.push(match field {
            Some(field) => format!("{field}: {text}"),
            None => text,
        });
    }
    Ok(lines.join("\n"))
}

/// One refused change as the `bothy refused` and `bothy-server refused`
/// commands print it: a block of lines, the words indented to copy.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    /// The first line after "refused " (the change and where it was).
    pub title: &'a str,
    /// Whose it was, when someone else's (the administrator's list).
    pub by: Option<&'a str>,
    pub rule: &'a str,
    pub path: &'a str,
    pub reason: &'a str,
    pub words: &'a str,
}

impl std::fmt::Display for Block<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "refused {}", self.title)?;
        if let Some(by) = self.by {
            writeln!(f, "by: {by}")?;
        }
        writeln!(f, "rule: {}", self.rule)?;
        if !self.path.is_empty() {
            writeln!(f, "where: {}", self.path)?;
        }
        writeln!(f, "reason: {}", self.reason)?;
        if self.words.is_empty() {
            return writeln!(f, "text: (none)");
        }
        writeln!(f, "text:")?;
        for line in self.words.lines() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// Whether a string put into a document is someone's words rather than an
/// identifier or nothing.
fn is_words(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && uuid::Uuid::parse_str(t).is_err()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ObjType, ROOT};

    fn one_change(f: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) -> Change {
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![7; 16]));
        let mut tx = doc.transaction();
        f(&mut tx);
        tx.commit();
        doc.get_changes(&[]).pop().unwrap()
    }

    #[test]
    fn typed_text_and_string_fields_are_the_words() {
        let change = one_change(|tx| {
            let visit = tx.put_object(ROOT, "visit", ObjType::Map).unwrap();
            tx.put(&visit, "id", uuid::Uuid::new_v4().to_string())
                .unwrap();
            tx.put(&visit, "place", "Home").unwrap();
            let text = tx
                .put_object(&visit, "observations", ObjType::Text)
                .unwrap();
            tx.splice_text(&text, 0, 0, "Kai was ").unwrap();
            tx.splice_text(&text, 8, 0, "happy").unwrap();
            tx.put(&visit, "seen", true).unwrap();
        });
        assert_eq!(
            words_of_change(&change).unwrap(),
            "place: Home\nobservations: Kai was happy"
        );
    }

    #[test]
    fn a_change_without_words_has_none() {
        let change = one_change(|tx| {
            tx.put(ROOT, "rating", 3).unwrap();
            tx.put(ROOT, "owner", uuid::Uuid::new_v4().to_string())
                .unwrap();
        });
        assert_eq!(words_of_change(&change).unwrap(), "");
    }
}
