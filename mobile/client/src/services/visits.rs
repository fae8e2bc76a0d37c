//! Recording a visit (autosaved as you type, saved, finalised, addenda) and
//! capturing family voice.
//!
//! Typing goes to an encrypted draft row ([`Client::autosave_visit`]), cheap
//! enough for every keystroke and kept out of the document's history. Saving
//! writes the visit into the document as a draft visit (only its author may
//! change it); finalising fixes it for good, after which only addenda are added.
//!
//! Consent routes words: family voice given without consent to share, and
//! what a child said on a team visit when they did not agree to share it, are
//! written to the recording agency's record (`agency/<child>/<agency>`), never
//! to the team record; the shared gate refuses them there
//! ([`Rule::ConsentToShare`](bothy_shared::policy::Rule::ConsentToShare)).

use std::collections::BTreeMap;

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId};
use bothy_shared::policy::AccessPolicy;
use serde::{Deserialize, Serialize};

use super::Client;
use crate::error::ServiceError;
use crate::store::tx;

/// A visit being recorded: everything a practitioner types, as plain values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDraft {
    pub id: ItemId,
    pub child: ChildId,
    pub at: Timestamp,
    pub place: String,
    pub kind: VisitKind,
    pub present: Vec<String>,
    pub child_seen: bool,
    pub seen_alone: bool,
    pub observations: String,
    pub analysis: String,
    pub child_said: String,
    pub next_steps: String,
    pub linked_actions: Vec<ItemId>,
    pub sharing: Sharing,
    pub significant: bool,
    /// The child agreed that what they said may be shared with the team.
    /// When the visit is shared with the team and they did not, their words
    /// are kept in the recording agency's record, as family voice linked to
    /// the visit, and the team's copy of the visit holds none of them.
    /// Drafts typed before this existed read as `true` (as they were saved).
    #[serde(default = "consent_by_default")]
    pub child_said_shared: bool,
}

fn consent_by_default() -> bool {
    true
}

impl VisitDraft {
    /// A new home visit to `child`, now, shared with the team.
    pub fn new(child: ChildId) -> Self {
        VisitDraft {
            id: ItemId::random(),
            child,
            at: Timestamp::now(),
            place: String::new(),
            kind: VisitKind::Home,
            present: Vec::new(),
            child_seen: false,
            seen_alone: false,
            observations: String::new(),
            analysis: String::new(),
            child_said: String::new(),
            next_steps: String::new(),
            linked_actions: Vec::new(),
            sharing: Sharing::Team,
            significant: false,
            child_said_shared: true,
        }
    }

    /// Whether what the child said goes to the recording agency's record
    /// rather than into the visit.
    pub fn child_said_kept_apart(&self) -> bool {
        self.sharing == Sharing::Team && !self.child_said_shared
    }

    /// The document a visit with this sharing level is stored in.
    pub fn doc_key(&self, agency: Agency) -> DocKey {
        match self.sharing {
            Sharing::Team => DocKey::Record(self.child),
            Sharing::Agency => DocKey::Agency(self.child, agency),
        }
    }
}

/// What was captured with the child or a family member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyVoiceInput {
    pub said_by: String,
    pub voice_of: VoiceOf,
    pub own_words: String,
    pub scale_question: String,
    pub scale: Option<u8>,
    pub worries: String,
    pub good_things: String,
    pub dreams: String,
    pub consent_to_share: bool,
}

/// One family voice entry as the list of what has been gathered shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoiceLine {
    pub id: ItemId,
    /// Where it is kept: the team record, or one agency's record.
    pub doc: DocKey,
    pub at: Timestamp,
    pub said_by: String,
    pub voice_of: VoiceOf,
    pub own_words: String,
    pub scale_question: String,
    pub scale: Option<u8>,
    pub worries: String,
    pub good_things: String,
    pub dreams: String,
    /// Who wrote it down.
    pub recorded_by: String,
    pub agency: Agency,
    /// In the team record (they agreed it can be shared), or kept in one agency.
    pub shared_with_team: bool,
    /// The visit it was said on, when it is what the child said on a visit.
    pub from_visit: Option<ItemId>,
}

/// A visit as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitView {
    pub doc: DocKey,
    pub visit: VisitDraft,
    pub practitioner: String,
    pub agency: Agency,
    pub finalised: Option<Timestamp>,
    pub addenda: Vec<AddendumView>,
    pub can_edit: bool,
    pub can_add_addendum: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddendumView {
    pub by: String,
    pub agency: Agency,
    pub at: Timestamp,
    pub reason: String,
    pub text: String,
}

fn draft_key(id: ItemId) -> String {
    format!("visit/{id}")
}

impl Client {
    fn my_agency(&self) -> Result<Agency, ServiceError> {
        self.dir
            .me
            .agency
            .ok_or_else(|| ServiceError::bad("agency", "only practitioners record visits"))
    }

    /// Save what has been typed so far, at once, encrypted, without touching
    /// the shared record. Cheap enough to call on every keystroke.
    pub fn autosave_visit(&mut self, draft: &VisitDraft) -> Result<(), ServiceError> {
        self.team(draft.child)?;
        let body = serde_json::to_vec(draft).map_err(ServiceError::Draft)?;
        self.store.put_draft(&draft_key(draft.id), &body)?;
        Ok(())
    }

    /// A visit still being typed, if there is one with this id.
    pub fn visit_draft(&self, id: ItemId) -> Result<Option<VisitDraft>, ServiceError> {
        match self.store.draft(&draft_key(id))? {
            Some(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            None => Ok(None),
        }
    }

    /// Visits still being typed on this device.
    pub fn visit_drafts(&self) -> Result<Vec<VisitDraft>, ServiceError> {
        let mut out = Vec::new();
        for info in self.store.list_drafts()? {
            if let Some(id) = info
                .draft_key
                .strip_prefix("visit/")
                .and_then(|s| s.parse().ok())
                && let Some(d) = self.visit_draft(id)?
            {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Write the visit into the child's record (as a draft visit the team can
    /// see, or into my agency's record) and clear the typing buffer. Call
    /// again with more words to update it; `finalise` fixes it for good.
    pub fn save_visit(
        &mut self,
        draft: &VisitDraft,
        finalise: bool,
    ) -> Result<DocKey, ServiceError> {
        let agency = self.my_agency()?;
        let key = draft.doc_key(agency);
        if draft.seen_alone && !draft.child_seen {
            return Err(ServiceError::bad(
                "seen alone",
                "a child seen alone must also be marked as seen",
            ));
        }
        let apart = draft.child_said_kept_apart();
        let saved: Option<Visit> = self.read_item(&key, &ItemPath::item("visits", draft.id))?;
        if saved.as_ref().is_some_and(Visit::is_finalised) {
            return Err(ServiceError::bad(
                "visit",
                "a finalised visit cannot be changed; add an addendum instead",
            ));
        }
        if apart && saved.is_some_and(|v| !v.child_said.as_str().is_empty()) {
            // Already in the team record's history: moving the words now
            // would not take them back from anyone.
            return Err(ServiceError::bad(
                "what the child said",
                "these words are already shared with the team; add an addendum if the child has asked for them not to be shared",
            ));
        }
        if apart {
            self.keep_child_said_apart(draft, agency)?;
        }
        let d = draft.clone();
        let buffer = draft_key(draft.id);
        self.edit_item_and::<Visit, _>(
            key,
            ItemPath::item("visits", d.id),
            "record visit",
            move |slot, me| {
                let visit = slot.get_or_insert_with(|| Visit {
                    id: d.id,
                    at: d.at,
                    place: String::new(),
                    kind: d.kind,
                    practitioner: me.person,
                    practitioner_name: me.name.clone(),
                    agency,
                    present: vec![],
                    child_seen: false,
                    seen_alone: false,
                    observations: Text::default(),
                    analysis: Text::default(),
                    child_said: Text::default(),
                    next_steps: Text::default(),
                    linked_actions: vec![],
                    sharing: d.sharing,
                    significant: false,
                    finalised: None,
                    addenda: BTreeMap::new(),
                });
                if visit.is_finalised() {
                    return Err(ServiceError::bad(
                        "visit",
                        "a finalised visit cannot be changed; add an addendum instead",
                    ));
                }
                visit.at = d.at;
                visit.place = d.place.clone();
                visit.kind = d.kind;
                visit.present = d.present.clone();
                visit.child_seen = d.child_seen;
                visit.seen_alone = d.seen_alone;
                visit.observations.update(&d.observations);
                visit.analysis.update(&d.analysis);
                if !apart {
                    visit.child_said.update(&d.child_said);
                }
                visit.next_steps.update(&d.next_steps);
                visit.linked_actions = d.linked_actions.clone();
                visit.significant = d.significant;
                if finalise {
                    visit.finalised = Some(Timestamp::now());
                }
                Ok(())
            },
            |t| tx::delete_draft(t, &buffer).map(drop),
        )?;
        Ok(key)
    }

    /// Finalise a saved visit: from now on only addenda.
    pub fn finalise_visit(&mut self, key: DocKey, visit: ItemId) -> Result<(), ServiceError> {
        self.edit_item::<Visit, _>(
            key,
            ItemPath::item("visits", visit),
            "finalise visit",
            |slot, _| {
                let v = slot
                    .as_mut()
                    .ok_or_else(|| ServiceError::not_found("visit", visit))?;
                if !v.is_finalised() {
                    v.finalised = Some(Timestamp::now());
                }
                Ok(())
            },
        )
    }

    /// Add a correction to a finalised visit, saying why.
    pub fn add_addendum(
        &mut self,
        key: DocKey,
        visit: ItemId,
        reason: &str,
        text: &str,
    ) -> Result<ItemId, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::bad(
                "reason",
                "say why the addendum is needed",
            ));
        }
        let agency = self.my_agency()?;
        let id = ItemId::random();
        self.edit_item::<Visit, _>(
            key,
            ItemPath::item("visits", visit),
            "add addendum",
            |slot, me| {
                let v = slot
                    .as_mut()
                    .ok_or_else(|| ServiceError::not_found("visit", visit))?;
                if !v.is_finalised() {
                    return Err(ServiceError::bad(
                        "visit",
                        "a draft visit is edited, not given addenda",
                    ));
                }
                v.addenda.insert(
                    id,
                    Addendum {
                        id,
                        by: me.person,
                        by_name: me.name.clone(),
                        agency,
                        at: Timestamp::now(),
                        reason: reason.to_owned(),
                        text: Text::with_value(text),
                    },
                );
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// A visit as its page shows it.
    pub fn visit(&mut self, key: DocKey, id: ItemId) -> Result<VisitView, ServiceError> {
        let v: Visit = self
            .read_item(&key, &ItemPath::item("visits", id))?
            .ok_or_else(|| ServiceError::not_found("visit", id))?;
        let record_child = key.child();
        let v = &v;
        let mine = v.practitioner == self.dir.me.person;
        let apart = match (key, v.child_said.as_str().is_empty()) {
            (DocKey::Record(_), true) => self.child_said_kept_apart(record_child, v)?,
            _ => None,
        };
        Ok(VisitView {
            doc: key,
            visit: VisitDraft {
                id: v.id,
                child: record_child,
                at: v.at,
                place: v.place.clone(),
                kind: v.kind,
                present: v.present.clone(),
                child_seen: v.child_seen,
                seen_alone: v.seen_alone,
                observations: v.observations.as_str().to_owned(),
                analysis: v.analysis.as_str().to_owned(),
                child_said: apart
                    .clone()
                    .unwrap_or_else(|| v.child_said.as_str().to_owned()),
                next_steps: v.next_steps.as_str().to_owned(),
                linked_actions: v.linked_actions.clone(),
                sharing: v.sharing,
                significant: v.significant,
                child_said_shared: apart.is_none(),
            },
            practitioner: v.practitioner_name.clone(),
            agency: v.agency,
            finalised: v.finalised,
            addenda: v
                .addenda_in_order()
                .into_iter()
                .map(|a| AddendumView {
                    by: a.by_name.clone(),
                    agency: a.agency,
                    at: a.at,
                    reason: a.reason.clone(),
                    text: a.text.as_str().to_owned(),
                })
                .collect(),
            can_edit: mine && !v.is_finalised(),
            can_add_addendum: v.is_finalised()
                && self
                    .dir
                    .me
                    .principal()
                    .membership(self.team(record_child)?)
                    .is_some(),
        })
    }

    /// The document family voice goes to: the team record with consent to
    /// share, else my agency's record.
    pub fn family_voice_doc(&self, child: ChildId, consent: bool) -> Result<DocKey, ServiceError> {
        Ok(if consent {
            DocKey::Record(child)
        } else {
            DocKey::Agency(child, self.my_agency()?)
        })
    }

    /// Capture family voice with the child or a family member: into the team
    /// record if they agree it can be shared, else into my agency's record only.
    pub fn record_family_voice(
        &mut self,
        child: ChildId,
        input: &FamilyVoiceInput,
    ) -> Result<ItemId, ServiceError> {
        if let Some(s) = input.scale
            && s > SCALE_MAX
        {
            return Err(ServiceError::bad("scale", "choose a number from 0 to 10"));
        }
        let agency = self.my_agency()?;
        let id = ItemId::random();
        let key = self.family_voice_doc(child, input.consent_to_share)?;
        self.edit_item::<FamilyVoice, _>(
            key,
            ItemPath::item("family_voice", id),
            "family voice",
            |slot, me| {
                *slot = Some(FamilyVoice {
                    id,
                    at: Timestamp::now(),
                    said_by: input.said_by.clone(),
                    voice_of: input.voice_of,
                    own_words: Text::with_value(&input.own_words),
                    scale_question: input.scale_question.clone(),
                    scale: input.scale,
                    worries: Text::with_value(&input.worries),
                    good_things: Text::with_value(&input.good_things),
                    dreams: Text::with_value(&input.dreams),
                    consent_to_share: input.consent_to_share,
                    recorded_by: me.person,
                    agency,
                    from_visit: None,
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Family voice entries for a child in the team record, newest first.
    pub fn family_voice(&mut self, child: ChildId) -> Result<Vec<FamilyVoice>, ServiceError> {
        let record: RecordDoc = self.read(&DocKey::Record(child))?;
        let mut v: Vec<FamilyVoice> = record.family_voice.into_values().collect();
        v.sort_by_key(|f| std::cmp::Reverse(f.at));
        Ok(v)
    }

    /// Every family voice entry this person may see, newest first: the team
    /// record's and those kept in the agency records they may read (which
    /// includes what children said on team visits without agreeing to share).
    pub fn family_voice_gathered(
        &mut self,
        child: ChildId,
    ) -> Result<Vec<VoiceLine>, ServiceError> {
        let team = self.team(child)?.clone();
        let readable: Vec<DocKey> = AccessPolicy::readable(&self.dir.me.principal(), &team)
            .into_iter()
            .filter(|k| !matches!(k, DocKey::Plan(_)))
            .collect();
        let mut out = Vec::new();
        for key in readable {
            // An agency record this device has not received yet holds nothing to show.
            if self.document(&key)?.is_none() {
                continue;
            }
            let record: RecordDoc = self.read(&key)?;
            for f in record.family_voice.into_values() {
                out.push(VoiceLine {
                    id: f.id,
                    doc: key,
                    at: f.at,
                    said_by: f.said_by,
                    voice_of: f.voice_of,
                    own_words: f.own_words.as_str().to_owned(),
                    scale_question: f.scale_question,
                    scale: f.scale,
                    worries: f.worries.as_str().to_owned(),
                    good_things: f.good_things.as_str().to_owned(),
                    dreams: f.dreams.as_str().to_owned(),
                    recorded_by: self.dir.name_of(f.recorded_by),
                    agency: f.agency,
                    shared_with_team: matches!(key, DocKey::Record(_)),
                    from_visit: f.from_visit,
                });
            }
        }
        out.sort_by_key(|l| std::cmp::Reverse(l.at));
        Ok(out)
    }

    /// Write what the child said on a team visit, which they did not agree
    /// to share, into my agency's record as their own words, linked to the
    /// visit (under the visit's id, so saving the visit again updates it).
    fn keep_child_said_apart(
        &mut self,
        draft: &VisitDraft,
        agency: Agency,
    ) -> Result<(), ServiceError> {
        if draft.child_said.trim().is_empty() {
            return Ok(());
        }
        let key = DocKey::Agency(draft.child, agency);
        let (id, at, words) = (draft.id, draft.at, draft.child_said.clone());
        self.edit_item::<FamilyVoice, _>(
            key,
            ItemPath::item("family_voice", id),
            "what the child said, kept in the agency",
            |slot, me| {
                let entry = slot.get_or_insert_with(|| FamilyVoice {
                    id,
                    at,
                    said_by: "The child".to_owned(),
                    voice_of: VoiceOf::Child,
                    own_words: Text::default(),
                    scale_question: String::new(),
                    scale: None,
                    worries: Text::default(),
                    good_things: Text::default(),
                    dreams: Text::default(),
                    consent_to_share: false,
                    recorded_by: me.person,
                    agency,
                    from_visit: Some(id),
                });
                entry.own_words.update(&words);
                Ok(())
            },
        )
    }

    /// What the child said on a team visit `v`, if it was kept in my
    /// agency's record because they did not agree to share it.
    fn child_said_kept_apart(
        &mut self,
        child: ChildId,
        v: &Visit,
    ) -> Result<Option<String>, ServiceError> {
        let Some(agency) = self.dir.me.agency else {
            return Ok(None);
        };
        let key = DocKey::Agency(child, agency);
        let team = self.team(child)?;
        if AccessPolicy::can_read(&self.dir.me.principal(), &key, team).is_err()
            || self.document(&key)?.is_none()
        {
            return Ok(None);
        }
        let found: Option<FamilyVoice> =
            self.read_item(&key, &ItemPath::item("family_voice", v.id))?;
        Ok(found
            .filter(|f| f.from_visit == Some(v.id))
            .map(|f| f.own_words.as_str().to_owned()))
    }
}
