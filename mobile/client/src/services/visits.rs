//! Recording a visit (autosaved as you type, saved, finalised, addenda) and
//! capturing family voice.
//!
//! Typing goes to an encrypted draft row ([`Client::autosave_visit`]), cheap
//! enough for every keystroke and kept out of the document's history. Saving
//! writes the visit into the document as a draft visit (only its author may
//! change it); finalising fixes it for good, after which only addenda are added.

use std::collections::BTreeMap;

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId};
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
        }
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
                visit.child_said.update(&d.child_said);
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
                child_said: v.child_said.as_str().to_owned(),
                next_steps: v.next_steps.as_str().to_owned(),
                linked_actions: v.linked_actions.clone(),
                sharing: v.sharing,
                significant: v.significant,
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

    /// Capture family voice with the child or a family member, into the team record.
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
        self.edit_item::<FamilyVoice, _>(
            DocKey::Record(child),
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
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// Family voice entries for a child, newest first.
    pub fn family_voice(&mut self, child: ChildId) -> Result<Vec<FamilyVoice>, ServiceError> {
        let record: RecordDoc = self.read(&DocKey::Record(child))?;
        let mut v: Vec<FamilyVoice> = record.family_voice.into_values().collect();
        v.sort_by_key(|f| std::cmp::Reverse(f.at));
        Ok(v)
    }
}
