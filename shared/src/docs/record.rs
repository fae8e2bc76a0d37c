//! The team record (`record/<child>`) and agency records
//! (`agency/<child>/<agency>`): the same shape, different readers.
//!
//! Visits, family voice, the chronology, supervision reviews, and content
//! withheld from the young person. A visit lives in the document its sharing
//! level names: [`Sharing::Team`] in the team record, [`Sharing::Agency`] in the
//! recording agency's record.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile, Text};

use super::{CaseDocument, DocKey, Invalid, IsoDate, SCHEMA_VERSION, Timestamp, check_keys};
use crate::ids::{Agency, ChildId, ItemId, PersonId};
use crate::slug::slugs;

/// The team record or one agency's record for a child.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct RecordDoc {
    pub schema_version: u64,
    pub child_id: ChildId,
    /// `None` for the team record; the agency for an agency record.
    pub agency: Option<Agency>,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub visits: BTreeMap<ItemId, Visit>,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub family_voice: BTreeMap<ItemId, FamilyVoice>,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub chronology: BTreeMap<ItemId, ChronologyEntry>,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub supervision: BTreeMap<ItemId, SupervisionReview>,
    /// Plan content held back from the young person/family (the plan holds a
    /// marker with the same id).
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub withheld: BTreeMap<ItemId, WithheldSection>,
}

/// Where a contact with the child or family happened.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum VisitKind {
    Home,
    School,
    Office,
    Phone,
    Video,
    Other,
}

slugs!(VisitKind {
    Home => "home", "Home visit";
    School => "school", "School";
    Office => "office", "Office";
    Phone => "phone", "Phone call";
    Video => "video", "Video call";
    Other => "other", "Other";
});

/// Who a visit is shared with.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum Sharing {
    /// The whole team: stored in `record/<child>`.
    Team,
    /// The recording agency only: stored in `agency/<child>/<agency>`.
    Agency,
}

/// A contact with the child or family.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Visit {
    pub id: ItemId,
    pub at: Timestamp,
    pub place: String,
    pub kind: VisitKind,
    /// The author: the only person who may edit the visit while it is a draft.
    pub practitioner: PersonId,
    pub practitioner_name: String,
    pub agency: Agency,
    pub present: Vec<String>,
    pub child_seen: bool,
    pub seen_alone: bool,
    pub observations: Text,
    pub analysis: Text,
    /// What the child said, in their words.
    pub child_said: Text,
    pub next_steps: Text,
    pub linked_actions: Vec<ItemId>,
    pub sharing: Sharing,
    /// Marked significant: it belongs in the chronology.
    pub significant: bool,
    /// Set once; after that only addenda may be added.
    pub finalised: Option<Timestamp>,
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub addenda: BTreeMap<ItemId, Addendum>,
}

impl Visit {
    pub fn is_finalised(&self) -> bool {
        self.finalised.is_some()
    }

    /// Addenda oldest first.
    pub fn addenda_in_order(&self) -> Vec<&Addendum> {
        let mut v: Vec<&Addendum> = self.addenda.values().collect();
        v.sort_by_key(|a| a.at);
        v
    }
}

/// A correction or addition to a finalised visit: who, when and why.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Addendum {
    pub id: ItemId,
    pub by: PersonId,
    pub by_name: String,
    pub agency: Agency,
    pub at: Timestamp,
    pub reason: String,
    pub text: Text,
}

/// Who a family voice entry came from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum VoiceOf {
    Child,
    Parent,
    Carer,
    Sibling,
    Other,
}

slugs!(VoiceOf {
    Child => "child",
    Parent => "parent",
    Carer => "carer",
    Sibling => "sibling",
    Other => "other",
});

/// Highest point of the 0-10 scaling question.
pub const SCALE_MAX: u8 = 10;

/// What the child or a family member wants the team to know, captured with them.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct FamilyVoice {
    pub id: ItemId,
    pub at: Timestamp,
    /// As they want to be named ("Jamie", "Mum").
    pub said_by: String,
    pub voice_of: VoiceOf,
    pub own_words: Text,
    /// The question asked for the 0-10 scale ("How safe do you feel at home?").
    pub scale_question: String,
    pub scale: Option<u8>,
    /// The three houses.
    pub worries: Text,
    pub good_things: Text,
    pub dreams: Text,
    /// They agree this can be shared with the team.
    pub consent_to_share: bool,
    pub recorded_by: PersonId,
    pub agency: Agency,
    /// The visit these words were said on, when they are what the child said
    /// on a visit shared with the team but not agreed to be shared: the visit
    /// sits in the team record, its words here in the agency record. Entries
    /// written before this field existed read as `None`.
    #[autosurgeon(missing = "Option::default")]
    pub from_visit: Option<ItemId>,
}

/// Whether an event helped or harmed the child.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum Impact {
    Positive,
    /// Neither helped nor harmed (added with issue 14; older builds do not read it).
    Neutral,
    Negative,
    Mixed,
    NotKnown,
}

slugs!(Impact {
    Positive => "positive", "Positive";
    Neutral => "neutral", "Neutral";
    Negative => "negative", "Negative";
    Mixed => "mixed", "Mixed";
    NotKnown => "not-known", "Not known";
});

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum Significance {
    Routine,
    Significant,
    Critical,
}

slugs!(Significance {
    Routine => "routine",
    Significant => "significant",
    Critical => "critical",
});

/// One significant event in the integrated multi-agency chronology.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct ChronologyEntry {
    pub id: ItemId,
    /// The date, or the start of the period.
    pub date: IsoDate,
    /// The end of the period, if the event spans one.
    pub until: Option<IsoDate>,
    /// Brief, factual, plain English.
    pub event: Text,
    pub source_agency: Agency,
    pub impact: Impact,
    pub impact_note: Text,
    /// The action taken, or why none was.
    pub action: Text,
    pub significance: Significance,
    pub recorded_by: PersonId,
    /// The visit it came from, if any.
    pub from_visit: Option<ItemId>,
}

/// A supervisor's review of a case.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct SupervisionReview {
    pub id: ItemId,
    pub reviewer: PersonId,
    pub reviewer_name: String,
    pub at: Timestamp,
    /// The heads (hex change hashes) of each document reviewed, by document key,
    /// so the next review can show what changed since.
    pub reviewed: BTreeMap<String, Vec<String>>,
    /// Management oversight comments.
    pub comments: Text,
    pub decision: String,
    /// Once countersigned the review is never edited.
    pub countersigned: bool,
}

/// Plan content the team holds back from the young person/family.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct WithheldSection {
    pub id: ItemId,
    pub section: String,
    pub content: Text,
    /// Why sharing it would put someone at risk.
    pub reason: String,
    pub by: PersonId,
    pub at: Timestamp,
}

impl RecordDoc {
    /// An empty team record (`agency == None`) or agency record.
    pub fn new(child_id: ChildId, agency: Option<Agency>) -> Self {
        RecordDoc {
            schema_version: SCHEMA_VERSION,
            child_id,
            agency,
            visits: BTreeMap::new(),
            family_voice: BTreeMap::new(),
            chronology: BTreeMap::new(),
            supervision: BTreeMap::new(),
            withheld: BTreeMap::new(),
        }
    }

    /// Visits newest first.
    pub fn visits_newest_first(&self) -> Vec<&Visit> {
        let mut v: Vec<&Visit> = self.visits.values().collect();
        v.sort_by_key(|v| std::cmp::Reverse(v.at));
        v
    }
}

impl CaseDocument for RecordDoc {
    fn fits(key: &DocKey) -> bool {
        matches!(key, DocKey::Record(_) | DocKey::Agency(..))
    }

    fn schema_version(&self) -> u64 {
        self.schema_version
    }

    fn validate(&self, key: &DocKey) -> Result<(), Invalid> {
        if self.child_id != key.child() {
            return Err(Invalid::at(
                "child_id",
                format!("this record is for {}, stored as {key}", self.child_id),
            ));
        }
        if self.agency != key.agency() {
            return Err(Invalid::at(
                "agency",
                format!("this record's agency does not match its key {key}"),
            ));
        }
        check_keys("visits", &self.visits, |v| &v.id)?;
        check_keys("family_voice", &self.family_voice, |f| &f.id)?;
        check_keys("chronology", &self.chronology, |c| &c.id)?;
        check_keys("supervision", &self.supervision, |s| &s.id)?;
        check_keys("withheld", &self.withheld, |w| &w.id)?;
        for v in self.visits.values() {
            super::items::validate_visit(
                key,
                &super::ItemPath::item("visits", v.id),
                &v.id.to_string(),
                v,
            )?;
        }
        for f in self.family_voice.values() {
            if let Some(s) = f.scale
                && s > SCALE_MAX
            {
                return Err(Invalid::at(
                    format!("family_voice/{}/scale", f.id),
                    format!("the scale is 0 to 10, not {s}"),
                ));
            }
        }
        for c in self.chronology.values() {
            if let Some(until) = c.until
                && until < c.date
            {
                return Err(Invalid::at(
                    format!("chronology/{}/until", c.id),
                    "a period cannot end before it starts",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT, ReadDoc};

    /// Family voice written before `from_visit` existed (no such key) still
    /// reads, as `None`; a new entry writes the key.
    #[test]
    fn family_voice_written_before_from_visit_existed_still_reads() {
        let id = ItemId::random();
        let voice = FamilyVoice {
            id,
            at: Timestamp(1_767_225_600_000),
            said_by: "Kai".into(),
            voice_of: VoiceOf::Child,
            own_words: Text::with_value("I like football"),
            scale_question: String::new(),
            scale: None,
            worries: Text::default(),
            good_things: Text::default(),
            dreams: Text::default(),
            consent_to_share: true,
            recorded_by: PersonId::random(),
            agency: Agency::SocialWork,
            from_visit: Some(ItemId::random()),
        };
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile_prop(&mut doc, ROOT, "voice", &voice).unwrap();
        let obj = match doc.get(ROOT, "voice").unwrap() {
            Some((_, obj)) => obj,
            None => unreachable!("just written"),
        };
        assert!(doc.get(&obj, "from_visit").unwrap().is_some());
        doc.delete(&obj, "from_visit").unwrap();
        let old: FamilyVoice = autosurgeon::hydrate_prop(&doc, ROOT, "voice").unwrap();
        assert_eq!(old.from_visit, None);
        assert_eq!(old.own_words.as_str(), "I like football");
    }
}
