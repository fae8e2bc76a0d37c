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

/// One card of the supervisor's feed: one visit, family voice, review,
/// chronology entry or plan change, with a one-line summary and the fields
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedItem {
    pub doc: DocKey,
    /// The item the fields belong to (`visits/<id>`, `needs/<id>`, `review_date`).
    pub item: String,
    pub kind: FeedKind,
    /// "Morag Fraser recorded a home visit to Kai, 3 Dec".
    pub summary: String,
    pub who: String,
    pub agency: Option<Agency>,
    /// The latest change to it (seconds since the epoch, from the device).
    pub when: i64,
    /// The fields, as [`Client::changes_since_my_last_review`] tells them.
    pub fields: Vec<FieldChange>,
}

/// What a feed card is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedKind {
    Visit,
    Voice,
    Review,
    Chronology,
    Plan,
    Other,
}

/// A child's part of the supervisor's feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupervisionFeed {
    pub child: ChildId,
    /// Work since my last countersigned review, newest first (by the day
    /// each card names: a visit's own day, else the change's).
    pub unreviewed: Vec<FeedItem>,
    /// Work I have already reviewed (folded away on the screen), newest first.
    pub reviewed: Vec<FeedItem>,
}

impl Client {
    /// What changed in this child's documents since my last countersigned
    /// review (everything, if I have not reviewed the child before).
    pub fn changes_since_my_last_review(
        &mut self,
        child: ChildId,
    ) -> Result<Vec<FieldChange>, ServiceError> {
        Ok(self.review_changes(child)?.0)
    }

    /// The changes since my last review and those before it, field by field.
    fn review_changes(
        &mut self,
        child: ChildId,
    ) -> Result<(Vec<FieldChange>, Vec<FieldChange>), ServiceError> {
        let me = self.dir.me.person;
        let team = self.team(child)?.clone();
        let principal = self.dir.me.principal();
        let record: RecordDoc = self.read(&DocKey::Record(child))?;
        let last = record
            .supervision
            .values()
            .filter(|r| r.reviewer == me)
            .max_by_key(|r| r.at);
        let (mut new, mut old) = (Vec::new(), Vec::new());
        for key in AccessPolicy::readable(&principal, &team) {
            let Some(doc) = self.document(&key)?.cloned() else {
                continue;
            };
            let since: Vec<ChangeHash> = last
                .and_then(|r| r.reviewed.get(&key.to_string()))
                .map(|hs| hs.iter().filter_map(|h| h.parse().ok()).collect())
                .unwrap_or_default();
            let typed = AnyDoc::read(&doc, &key)?;
            let unreviewed = doc.get_changes(&since);
            // Before a first review nothing has been reviewed.
            let reviewed = if last.is_some() {
                let newer: std::collections::HashSet<ChangeHash> =
                    unreviewed.iter().map(|c| c.hash()).collect();
                doc.get_changes(&[])
                    .into_iter()
                    .filter(|c| !newer.contains(&c.hash()))
                    .collect()
            } else {
                Vec::new()
            };
            for (changes, out) in [(unreviewed, &mut new), (reviewed, &mut old)] {
                for change in changes {
                    out.extend(self.fields_of(&key, &doc, &typed, &change));
                }
            }
        }
        new.sort_by_key(|c| c.when);
        old.sort_by_key(|c| c.when);
        Ok((new, old))
    }

    /// The fields one change made, as a supervisor reads them. Changes by
    /// people the device does not know (the server's own set-up) and my own
    /// (a countersignature) are not news.
    fn fields_of(
        &self,
        key: &DocKey,
        doc: &Automerge,
        typed: &AnyDoc,
        change: &automerge::Change,
    ) -> Vec<FieldChange> {
        let Some(person) = self.dir.person_for_actor(change.actor_id()) else {
            return Vec::new();
        };
        if person == self.dir.me.person {
            return Vec::new();
        }
        let who = self.dir.name_of(person);
        let agency = self.dir.agency_of(person);
        let mut out = Vec::new();
        for (path, before, after) in field_changes(doc, change.deps(), &[change.hash()]) {
            if before == after || bookkeeping(&path, &before, &after) {
                continue;
            }
            let (before, after) = (in_words(&before), in_words(&after));
            out.push(FieldChange {
                doc: *key,
                field: describe(typed, &path),
                path: path.join("/"),
                before,
                after,
                who: who.clone(),
                agency,
                when: change.timestamp(),
                change: change.hash().to_string(),
            });
        }
        out
    }

    /// The supervisor's feed for one child: one card per visit, voice,
    /// review, chronology entry or plan change (per person), newest first,
    /// the work already reviewed apart.
    pub fn supervision_feed(&mut self, child: ChildId) -> Result<SupervisionFeed, ServiceError> {
        let (new, old) = self.review_changes(child)?;
        let plan: PlanDoc = self.read(&DocKey::Plan(child))?;
        let record: RecordDoc = self.read(&DocKey::Record(child))?;
        let name = if plan.child.preferred_name.is_empty() {
            plan.child.name.clone()
        } else {
            plan.child.preferred_name.clone()
        };
        let agency_records: Vec<(DocKey, RecordDoc)> = new
            .iter()
            .chain(&old)
            .map(|c| c.doc)
            .filter(|k| matches!(k, DocKey::Agency(..)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|k| Ok((k, self.read::<RecordDoc>(&k)?)))
            .collect::<Result<_, ServiceError>>()?;
        let records = |k: &DocKey| match k {
            DocKey::Agency(..) => agency_records.iter().find(|(a, _)| a == k).map(|(_, r)| r),
            _ => Some(&record),
        };
        let cards = |fields: Vec<FieldChange>| {
            let mut groups: Vec<FeedItem> = Vec::new();
            for f in fields {
                let segs: Vec<String> = f.path.split('/').map(str::to_owned).collect();
                let item = item_of(&segs).map(|i| i.to_string()).unwrap_or_default();
                match groups
                    .iter_mut()
                    .find(|g| g.doc == f.doc && g.item == item && g.who == f.who)
                {
                    Some(g) => {
                        g.when = g.when.max(f.when);
                        g.fields.push(f);
                    }
                    None => groups.push(FeedItem {
                        doc: f.doc,
                        kind: kind_of(&segs),
                        item,
                        summary: String::new(),
                        who: f.who.clone(),
                        agency: f.agency,
                        when: f.when,
                        fields: vec![f],
                    }),
                }
            }
            // Newest first by the day each card names (a visit's own day).
            let mut dated: Vec<(i64, FeedItem)> = groups
                .into_iter()
                .map(|mut g| {
                    let (line, day) = summary(&g, &name, records(&g.doc));
                    g.summary = line;
                    (day, g)
                })
                .collect();
            dated.sort_by_key(|(day, g)| std::cmp::Reverse((*day, g.when)));
            let groups: Vec<FeedItem> = dated.into_iter().map(|(_, g)| g).collect();
            groups
        };
        Ok(SupervisionFeed {
            child,
            unreviewed: cards(new),
            reviewed: cards(old),
        })
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

pub(super) fn clip(s: &str) -> String {
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
pub(super) fn in_words(value: &str) -> String {
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
pub(super) fn field_word(key: &str) -> String {
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
pub(super) fn describe(doc: &AnyDoc, path: &[String]) -> String {
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

fn kind_of(path: &[String]) -> FeedKind {
    match path.first().map(String::as_str) {
        Some("visits") => FeedKind::Visit,
        Some("family_voice") => FeedKind::Voice,
        Some("supervision") => FeedKind::Review,
        Some("chronology") => FeedKind::Chronology,
        Some(
            "needs" | "wellbeing" | "review_date" | "my_world" | "young_person_views"
            | "family_views" | "withheld" | "reason" | "team" | "transition",
        ) => FeedKind::Plan,
        _ => FeedKind::Other,
    }
}

/// "3 Dec": the day of a change, as the feed's summary line says it.
fn short_date(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[day padding:none] [month repr:short]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// "a home visit", "a phone call".
fn visit_words(kind: VisitKind) -> &'static str {
    match kind {
        VisitKind::Home => "a home visit",
        VisitKind::School => "a school visit",
        VisitKind::Office => "an office visit",
        VisitKind::Phone => "a phone call",
        VisitKind::Video => "a video call",
        VisitKind::Other => "a visit",
    }
}

/// A feed card's one line (who did what, to whom, when) and the moment it
/// names, in seconds.
fn summary(g: &FeedItem, child: &str, record: Option<&RecordDoc>) -> (String, i64) {
    let who = &g.who;
    let id = g
        .item
        .split('/')
        .nth(1)
        .and_then(|s| s.parse::<ItemId>().ok());
    let single = match g.fields.as_slice() {
        [one] => Some(one),
        _ => None,
    };
    let mut when = g.when;
    let what = match g.kind {
        FeedKind::Visit => {
            let visit = id.and_then(|i| record?.visits.get(&i));
            // A visit is told by the day it happened, not the day it synced.
            if let Some(v) = visit {
                when = v.at.0.div_euclid(1000);
            }
            let addendum = g.fields.iter().all(|f| f.path.contains("/addenda"));
            match (visit, addendum) {
                (Some(v), true) => format!(
                    "{who} added an addendum to {} to {child}",
                    visit_words(v.kind)
                ),
                (Some(v), false) => format!("{who} recorded {} to {child}", visit_words(v.kind)),
                (None, _) => format!("{who} recorded a visit to {child}"),
            }
        }
        FeedKind::Voice => {
            let said_by = id
                .and_then(|i| record?.family_voice.get(&i))
                .map(|v| v.said_by.clone())
                .filter(|s| !s.is_empty());
            match said_by {
                Some(s) => format!("{who} recorded what {s} said"),
                None => format!("{who} recorded family voice for {child}"),
            }
        }
        FeedKind::Review => format!("{who} countersigned a review of {child}'s work"),
        FeedKind::Chronology => {
            let event = id
                .and_then(|i| record?.chronology.get(&i))
                .map(|c| clip(c.event.as_str()));
            match event {
                Some(e) => format!("{who} added “{e}” to {child}'s chronology"),
                None => format!("{who} changed {child}'s chronology"),
            }
        }
        FeedKind::Plan | FeedKind::Other => match single {
            Some(f) if f.after.is_empty() => format!("{who} cleared {}", f.field),
            Some(f) => format!("{who} changed {} to “{}”", f.field, clip(&f.after)),
            None => format!(
                "{who} made {} changes to {child}'s plan: {}",
                g.fields.len(),
                g.fields
                    .first()
                    .map(|f| f.field.split(" › ").next().unwrap_or_default().to_owned())
                    .unwrap_or_default()
            ),
        },
    };
    (format!("{what}, {}", short_date(when)), when)
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
