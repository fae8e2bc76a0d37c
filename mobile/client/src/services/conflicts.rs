//! Conflicts in the open: a child's fields where two people's offline edits
//! left two values, told in words (the field, each value, who wrote it and
//! when), and settling one by writing the chosen value as a new change.
//!
//! The finding is [`bothy_shared::docs::open_conflicts`] over each document
//! of the child this device holds and the person may read; settling is one
//! put at the field's path ([`bothy_shared::docs::settle_at`]) checked by the
//! shared gate like every other write, so whoever may edit the field may
//! settle it and nobody else can.

use automerge::ScalarValue;
use bothy_shared::docs::*;
use bothy_shared::gate::check_applied;
use bothy_shared::ids::ChildId;
use bothy_shared::policy::AccessPolicy;
use serde::Serialize;

use super::Client;
use super::supervision::{clip, describe, field_word, in_words};
use crate::error::ServiceError;
use crate::index;

/// What a value by a person the device does not know is shown as.
pub const SOMEONE_ELSE: &str = "someone on another device";

/// One open conflict, as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictView {
    /// The short stable id a script names it by (`bothy settle --conflict`).
    pub id: String,
    pub doc: DocKey,
    /// The field in words ("Action “Weekly check-in” status", "Review date").
    pub field: String,
    /// The path in the document (`needs/<id>/actions/<id>/status`).
    pub path: String,
    /// Each value, the one the screens showed until now first.
    pub sides: Vec<ConflictSide>,
    /// Whether this person may settle it (may edit the document).
    pub can_settle: bool,
}

/// One value of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictSide {
    /// The value in words ("Done", "In progress", "2026-12-10").
    pub value: String,
    /// The value as stored ("InProgress").
    pub stored: String,
    /// Who wrote it.
    pub who: String,
    /// When, in seconds since the epoch as their device recorded it.
    pub at: i64,
}

impl ConflictSide {
    /// Whether `answer` (as typed by a person or a script) names this value:
    /// its words, its stored form or its slug, any case.
    fn is_named_by(&self, field: &str, answer: &str) -> bool {
        let answer = answer.trim();
        let slug = slug_of(field, &self.stored);
        [Some(self.value.as_str()), Some(self.stored.as_str()), slug]
            .into_iter()
            .flatten()
            .any(|v| v.eq_ignore_ascii_case(answer))
    }
}

/// An action status as stored (its variant name) and its slug.
fn status_of(stored: &str) -> Option<ActionStatus> {
    ActionStatus::ALL
        .into_iter()
        .find(|s| format!("{s:?}") == stored)
}

fn slug_of(field: &str, stored: &str) -> Option<&'static str> {
    (field == "status")
        .then(|| status_of(stored))
        .flatten()
        .map(|s| s.as_str())
}

/// A stored scalar as text, and in words for its field.
fn stored_and_words(field: &str, v: &ScalarValue) -> (String, String) {
    let stored = match v {
        ScalarValue::Str(s) => s.to_string(),
        ScalarValue::Int(i) => i.to_string(),
        ScalarValue::Uint(u) => u.to_string(),
        ScalarValue::Boolean(b) => b.to_string(),
        ScalarValue::Null => String::new(),
        other => other.to_string(),
    };
    let words = match (field, v) {
        ("status", _) => status_of(&stored)
            .map(|s| s.label().to_owned())
            .unwrap_or_else(|| in_words(&stored)),
        ("at" | "recorded_at" | "created_at" | "finalised", ScalarValue::Int(i)) => {
            Timestamp(*i).to_string()
        }
        (_, ScalarValue::Boolean(true)) => "yes".to_owned(),
        (_, ScalarValue::Boolean(false)) => "no".to_owned(),
        (_, ScalarValue::Null) => "nothing".to_owned(),
        _ => in_words(&stored),
    };
    (stored, words)
}

/// A conflicted field's name as a person reads it.
pub(super) fn field_name(doc: &AnyDoc, path: &[String]) -> String {
    let seg = |i: usize| path.get(i).map(String::as_str);
    let last = path.last().map(String::as_str).unwrap_or_default();
    let named = match (doc, seg(0), seg(2), path.len()) {
        (AnyDoc::Plan(_), Some("review_date"), _, 1) => Some("Review date".to_owned()),
        (AnyDoc::Plan(p), Some("needs"), Some("actions"), 5) => {
            let action = seg(3)
                .and_then(|a| a.parse().ok())
                .and_then(|a| p.action(a))
                .map(|(_, a)| clip(a.what.as_str()))
                .unwrap_or_default();
            Some(format!("Action “{action}” {}", field_word(last)))
        }
        (AnyDoc::Plan(_), Some("wellbeing"), Some("ratings"), 5) => {
            let ind = seg(1)
                .and_then(Indicator::from_slug)
                .map(|i| i.label())
                .unwrap_or("Wellbeing");
            Some(format!("{ind} rating {}", field_word(last)))
        }
        _ => None,
    };
    named.unwrap_or_else(|| {
        let mut d = describe(doc, path);
        if let Some(first) = d.get(..1) {
            d = first.to_uppercase() + &d[1..];
        }
        d
    })
}

impl Client {
    /// The open conflicts of a child's documents that this device holds and
    /// this person may read.
    pub fn conflicts(&mut self, child: ChildId) -> Result<Vec<ConflictView>, ServiceError> {
        let team = self.team(child)?.clone();
        let principal = self.dir.me.principal();
        let mut out = Vec::new();
        for key in AccessPolicy::readable(&principal, &team) {
            let Some(doc) = self.docs.get(&self.store, &key)? else {
                continue;
            };
            let found = open_conflicts(doc, &key);
            if found.is_empty() {
                continue;
            }
            let typed = AnyDoc::read(doc, &key)?;
            // A supervisor outside the team may write the plan's withheld
            // markers and supervision reviews, not the fields that conflict:
            // only the team (and not the young person) settles.
            let can_settle = !self.dir.me.is_young_person()
                && principal.membership(&team).is_some()
                && AccessPolicy::can_write(&principal, &key, &team).is_ok();
            for c in found {
                let field = c.path.last().map(String::as_str).unwrap_or_default();
                let sides = c
                    .values
                    .iter()
                    .map(|v| {
                        let (stored, value) = stored_and_words(field, &v.value);
                        let who = self
                            .dir
                            .person_for_actor(&v.actor)
                            .map(|p| self.dir.name_of(p))
                            .unwrap_or_else(|| SOMEONE_ELSE.to_owned());
                        ConflictSide {
                            value,
                            stored,
                            who,
                            at: v.at,
                        }
                    })
                    .collect();
                out.push(ConflictView {
                    id: c.id.0,
                    doc: key,
                    field: field_name(&typed, &c.path),
                    path: c.path.join("/"),
                    sides,
                    can_settle,
                });
            }
        }
        Ok(out)
    }

    /// Settle the conflict `id` of a child's documents by keeping the value
    /// `keep` names (its words, its stored form or its slug): one put at the
    /// field's path, checked by the shared gate, saved as a local change.
    /// Returns the value kept, in words.
    pub fn settle_conflict(
        &mut self,
        child: ChildId,
        id: &str,
        keep: &str,
    ) -> Result<String, ServiceError> {
        let team = self.team(child)?.clone();
        let principal = self.dir.me.principal();
        let id = id.trim();
        let (key, conflict) = AccessPolicy::readable(&principal, &team)
            .into_iter()
            .find_map(|key| {
                let doc = self.docs.get(&self.store, &key).ok().flatten()?;
                open_conflicts(doc, &key)
                    .into_iter()
                    .find(|c| c.id.0.eq_ignore_ascii_case(id))
                    .map(|c| (key, c))
            })
            .ok_or_else(|| ServiceError::not_found("open conflict", id))?;
        let field = conflict.path.last().map(String::as_str).unwrap_or_default();
        let mut offered = Vec::new();
        let mut chosen = None;
        for v in &conflict.values {
            let (stored, value) = stored_and_words(field, &v.value);
            let side = ConflictSide {
                value,
                stored,
                who: String::new(),
                at: v.at,
            };
            if chosen.is_none() && side.is_named_by(field, keep) {
                chosen = Some((v.value.clone(), side.value.clone()));
            }
            offered.push(format!("\"{}\"", side.value));
        }
        let Some((value, words)) = chosen else {
            return Err(ServiceError::bad(
                "keep",
                format!(
                    "\"{}\" is not one of this conflict's values: {}",
                    keep.trim(),
                    offered.join(" or ")
                ),
            ));
        };
        AccessPolicy::can_write(&principal, &key, &team)?;
        let before = self.docs.require(&self.store, &key)?;
        let mut after = before.clone().with_actor(principal.device.actor_id());
        let heads = after.get_heads();
        {
            let mut tx = after.transaction();
            bothy_shared::robust::contain("settle", || {
                settle_at(&mut tx, &key, &conflict.path, value)
            })?
            .map_err(|source| DocError::Write {
                kind: key.kind(),
                source,
            })?;
            tx.commit_with(
                automerge::transaction::CommitOptions::default()
                    .with_message("settle conflict".to_owned())
                    .with_time(Timestamp::now().0 / 1000),
            );
        }
        let Some(change) = after.get_changes(&heads).into_iter().next() else {
            return Ok(words);
        };
        let after = check_applied(
            &key,
            before,
            after,
            std::slice::from_ref(&change),
            &principal,
            &team,
        )?;
        let item =
            item_of(&conflict.path).ok_or_else(|| ServiceError::not_found("open conflict", id))?;
        let projection = index::project_item(&key, &after, &item)?;
        self.save(key, after, &mut [change], true, &projection, |_| Ok(()))?;
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_named_by_its_label_its_slug_or_as_stored() {
        let (stored, words) = stored_and_words("status", &ScalarValue::Str("InProgress".into()));
        assert_eq!(
            (stored.as_str(), words.as_str()),
            ("InProgress", "In progress")
        );
        let side = ConflictSide {
            value: words,
            stored,
            who: String::new(),
            at: 0,
        };
        for answer in ["In progress", "in-progress", "InProgress", " in progress "] {
            assert!(side.is_named_by("status", answer), "{answer}");
        }
        assert!(!side.is_named_by("status", "Done"));
    }

    #[test]
    fn a_date_is_named_as_stored() {
        let (stored, words) = stored_and_words("due", &ScalarValue::Str("2026-12-10".into()));
        let side = ConflictSide {
            value: words,
            stored,
            who: String::new(),
            at: 0,
        };
        assert!(side.is_named_by("due", "2026-12-10"));
        assert!(!side.is_named_by("due", "2026-12-11"));
    }
}
