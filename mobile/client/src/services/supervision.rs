//! The supervisor's review: what changed since my last review, field by field
//! (before, after, who, agency, when); countersigning with a management
//! oversight comment; overdue visits and reviews across the team.

use std::collections::BTreeMap;

use automerge::{Automerge, ChangeHash, ObjType, Prop, ReadDoc, Value};
use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId};
use bothy_shared::policy::AccessPolicy;
use serde::Serialize;

use super::{CaseloadEntry, Client};
use crate::error::ServiceError;

/// One field changed by one person since the last review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub doc: DocKey,
    /// What changed, in words ("Action “Help mum…” › status").
    pub field: String,
    /// The path in the document (`needs/<id>/actions/<id>/status`).
    pub path: String,
    pub before: String,
    pub after: String,
    pub who: String,
    pub agency: Option<Agency>,
    /// When the change was made (seconds since the epoch, from the device).
    pub when: i64,
    pub change: String,
}

impl Client {
    /// What changed in this child's documents since my last countersigned
    /// review (everything, if I have not reviewed the child before).
    pub fn changes_since_my_last_review(
        &mut self,
        child: ChildId,
    ) -> Result<Vec<FieldChange>, ServiceError> {
        let me = self.dir.me.person;
        let team = self.team(child)?.clone();
        let principal = self.dir.me.principal();
        let record: RecordDoc = self.read(&DocKey::Record(child))?;
        let last = record
            .supervision
            .values()
            .filter(|r| r.reviewer == me)
            .max_by_key(|r| r.at);
        let mut out = Vec::new();
        for key in AccessPolicy::readable(&principal, &team) {
            let Some(doc) = self.document(&key)?.cloned() else {
                continue;
            };
            let since: Vec<ChangeHash> = last
                .and_then(|r| r.reviewed.get(&key.to_string()))
                .map(|hs| hs.iter().filter_map(|h| h.parse().ok()).collect())
                .unwrap_or_default();
            let typed = AnyDoc::read(&doc, &key)?;
            for change in doc.get_changes(&since) {
                // Changes by people the device does not know (the server's
                // own set-up) and my own (a countersignature) are not news.
                let Some(person) = self.dir.person_for_actor(change.actor_id()) else {
                    continue;
                };
                if person == me {
                    continue;
                }
                let who = self.dir.name_of(person);
                let agency = self.dir.agency_of(person);
                for (path, before, after) in field_changes(&doc, change.deps(), &[change.hash()]) {
                    if before == after || bookkeeping(&path, &before, &after) {
                        continue;
                    }
                    let (before, after) = (in_words(&before), in_words(&after));
                    out.push(FieldChange {
                        doc: key,
                        field: describe(&typed, &path),
                        path: path.join("/"),
                        before,
                        after,
                        who: who.clone(),
                        agency,
                        when: change.timestamp(),
                        change: change.hash().to_string(),
                    });
                }
            }
        }
        out.sort_by_key(|c| c.when);
        Ok(out)
    }

    /// Countersign: a supervision review in the team record naming the heads
    /// of every document reviewed, so the next review starts from here.
    pub fn countersign(
        &mut self,
        child: ChildId,
        comments: &str,
        decision: &str,
    ) -> Result<ItemId, ServiceError> {
        if comments.trim().is_empty() {
            return Err(ServiceError::bad(
                "comments",
                "add a management oversight comment",
            ));
        }
        let team = self.team(child)?.clone();
        let mut reviewed = BTreeMap::new();
        for key in AccessPolicy::readable(&self.dir.me.principal(), &team) {
            if let Some(doc) = self.document(&key)? {
                reviewed.insert(
                    key.to_string(),
                    doc.get_heads().iter().map(|h| h.to_string()).collect(),
                );
            }
        }
        let id = ItemId::random();
        self.edit_item::<SupervisionReview, _>(
            DocKey::Record(child),
            ItemPath::item("supervision", id),
            "countersign",
            |slot, me| {
                *slot = Some(SupervisionReview {
                    id,
                    reviewer: me.person,
                    reviewer_name: me.name.clone(),
                    at: Timestamp::now(),
                    reviewed,
                    comments: Text::with_value(comments),
                    decision: decision.to_owned(),
                    countersigned: true,
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Children whose visit is overdue or whose plan review is due.
    pub fn overdue(&self) -> Result<Vec<CaseloadEntry>, ServiceError> {
        Ok(self
            .caseload(None)?
            .into_iter()
            .filter(|e| e.flags.visit_overdue || e.flags.review_due)
            .collect())
    }
}

/// The fields one change touched, each with its value before and after.
fn field_changes(
    doc: &Automerge,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> Vec<(Vec<String>, String, String)> {
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut out = Vec::new();
    for patch in doc.diff(before, after) {
        let mut path: Vec<String> = patch.path.iter().map(|(_, p)| prop_str(p)).collect();
        let typ = doc.object_type(&patch.obj).ok();
        let (value_before, value_after) = match (typ, &patch.action) {
            (Some(ObjType::Text | ObjType::List), _) => {
                // The whole text or list is the field.
                let Some(parent) = patch.path.last() else {
                    continue;
                };
                (
                    render_at(doc, &parent.0, parent.1.clone(), before),
                    render_at(doc, &parent.0, parent.1.clone(), after),
                )
            }
            (
                _,
                automerge::PatchAction::PutMap { key, .. }
                | automerge::PatchAction::DeleteMap { key },
            ) => {
                path.push(key.clone());
                (
                    render_at(doc, &patch.obj, Prop::Map(key.clone()), before),
                    render_at(doc, &patch.obj, Prop::Map(key.clone()), after),
                )
            }
            _ => continue,
        };
        if seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        out.push((path, value_before, value_after));
    }
    out
}

fn prop_str(p: &Prop) -> String {
    match p {
        Prop::Map(k) => k.clone(),
        Prop::Seq(i) => i.to_string(),
    }
}

/// A value as a supervisor reads it.
fn render_at(doc: &Automerge, obj: &automerge::ObjId, prop: Prop, heads: &[ChangeHash]) -> String {
    let key = prop_str(&prop);
    match doc.get_at(obj, prop, heads) {
        Ok(Some((Value::Object(ObjType::Text), id))) => doc.text_at(&id, heads).unwrap_or_default(),
        Ok(Some((Value::Object(ObjType::List), id))) => (0..doc.length_at(&id, heads))
            .filter_map(|i| doc.get_at(&id, i, heads).ok().flatten())
            .map(|(v, _)| scalar(&v, ""))
            .collect::<Vec<_>>()
            .join(", "),
        Ok(Some((Value::Object(_), _))) => "(added)".to_owned(),
        Ok(Some((v, _))) => scalar(&v, &key),
        _ => String::new(),
    }
}

fn scalar(v: &Value<'_>, key: &str) -> String {
    use automerge::ScalarValue as S;
    match v {
        Value::Scalar(s) => match s.as_ref() {
            S::Str(s) => s.to_string(),
            S::Int(i) if matches!(key, "at" | "finalised" | "recorded_at" | "created_at") => {
                Timestamp(*i).to_string()
            }
            S::Int(i) => i.to_string(),
            S::Uint(u) => u.to_string(),
            S::Boolean(true) => "yes".to_owned(),
            S::Boolean(false) => "no".to_owned(),
            S::Null => String::new(),
            other => other.to_string(),
        },
        Value::Object(_) => "(added)".to_owned(),
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// Fields that only tie records together (ids, the person's id beside
/// their name): the who and agency columns already say it.
fn bookkeeping(path: &[String], before: &str, after: &str) -> bool {
    let is_id = |v: &str| v.is_empty() || v.parse::<ItemId>().is_ok();
    path.last().is_some_and(|k| k == "id") || (is_id(before) && is_id(after))
}

/// A stored value as a person reads it: `InProgress` is "In progress",
/// `social-work` is "Social work".
fn in_words(value: &str) -> String {
    if let Ok(agency) = value.parse::<Agency>() {
        return agency.label().to_owned();
    }
    let camel = value.len() > 1
        && value.chars().all(|c| c.is_ascii_alphabetic())
        && value.starts_with(|c: char| c.is_ascii_uppercase())
        && value.chars().skip(1).any(|c| c.is_ascii_uppercase());
    if !camel {
        return value.to_owned();
    }
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A field's name as a person reads it.
fn field_word(key: &str) -> String {
    match key {
        "at" => "time".to_owned(),
        "child_said" => "what the child said".to_owned(),
        "present" => "who was present".to_owned(),
        "kind" => "kind of visit".to_owned(),
        "sharing" => "shared with".to_owned(),
        "addenda" => "addendum".to_owned(),
        "practitioner_name" => "recorded by".to_owned(),
        "own_words" => "in their own words".to_owned(),
        "scale" => "scaling answer".to_owned(),
        "good_things" => "house of good things".to_owned(),
        "worries" => "house of worries".to_owned(),
        "dreams" => "house of dreams".to_owned(),
        "consent_to_share" => "consent to share".to_owned(),
        other => other.replace('_', " "),
    }
}

/// A path in words, naming the item it belongs to.
fn describe(doc: &AnyDoc, path: &[String]) -> String {
    let id = |i: usize| path.get(i).and_then(|s| s.parse::<ItemId>().ok());
    let rest = |from: usize| {
        path.get(from..)
            .map(|p| {
                p.iter()
                    .filter(|s| s.parse::<ItemId>().is_err())
                    .map(|s| field_word(s))
                    .collect::<Vec<_>>()
                    .join(" › ")
            })
            .unwrap_or_default()
    };
    let head = match (doc, path.first().map(String::as_str)) {
        (AnyDoc::Plan(p), Some("needs")) => {
            let need = id(1).and_then(|i| p.needs.get(&i));
            match (need, path.get(2).map(String::as_str), id(3)) {
                (Some(n), Some("actions"), Some(a)) => {
                    let what = n
                        .actions
                        .get(&a)
                        .map(|a| clip(a.what.as_str()))
                        .unwrap_or_default();
                    return format!("Action “{what}” › {}", rest(4));
                }
                (Some(n), _, _) => format!("Need “{}”", clip(n.need.as_str())),
                _ => "Need".to_owned(),
            }
        }
        (AnyDoc::Plan(_), Some("wellbeing")) => {
            let ind = path
                .get(1)
                .and_then(|s| Indicator::from_slug(s))
                .map(|i| i.label())
                .unwrap_or("Wellbeing");
            return format!(
                "Wellbeing: {ind} › {}",
                path.get(2..)
                    .map(|p| p
                        .iter()
                        .filter(|s| s.parse::<ItemId>().is_err())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" › "))
                    .unwrap_or_default()
            );
        }
        (AnyDoc::Plan(_), Some("young_person_views")) => "What the young person thinks".to_owned(),
        (AnyDoc::Plan(_), Some("family_views")) => "The family's views".to_owned(),
        (AnyDoc::Record(r), Some("visits")) => match id(1).and_then(|i| r.visits.get(&i)) {
            Some(v) => format!(
                "Visit {} ({})",
                v.at.date().map(|d| d.to_string()).unwrap_or_default(),
                v.practitioner_name
            ),
            None => "Visit".to_owned(),
        },
        (AnyDoc::Record(_), Some("family_voice")) => "Family voice".to_owned(),
        (AnyDoc::Record(r), Some("chronology")) => match id(1).and_then(|i| r.chronology.get(&i)) {
            Some(c) => format!("Chronology {} “{}”", c.date, clip(c.event.as_str())),
            None => "Chronology".to_owned(),
        },
        (AnyDoc::Record(_), Some("supervision")) => "Supervision".to_owned(),
        (AnyDoc::Record(_), Some("withheld")) => "Withheld from the young person".to_owned(),
        (_, Some(other)) => return other.replace('_', " "),
        (_, None) => return String::new(),
    };
    let tail = rest(2);
    if tail.is_empty() {
        head
    } else {
        format!("{head} › {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_read_as_words() {
        assert_eq!(in_words("NotStarted"), "Not started");
        assert_eq!(in_words("InProgress"), "In progress");
        assert_eq!(in_words("Done"), "Done");
        assert_eq!(in_words("social-work"), Agency::SocialWork.label());
        assert_eq!(in_words("Kai said HELLO"), "Kai said HELLO");
        assert_eq!(field_word("child_said"), "what the child said");
        assert_eq!(field_word("next_steps"), "next steps");
    }

    #[test]
    fn ids_are_bookkeeping_and_words_are_not() {
        let id = ItemId::random().to_string();
        assert!(bookkeeping(
            &["visits".into(), id.clone(), "id".into()],
            "",
            &id
        ));
        assert!(bookkeeping(
            &["visits".into(), "x".into(), "practitioner".into()],
            "",
            &id
        ));
        assert!(!bookkeeping(
            &["visits".into(), "x".into(), "observations".into()],
            "",
            "Kai was well"
        ));
    }
}
