//! Named hooks: each returns one view model from the client core, or (for
//! a form) the signals and callbacks a screen needs, so screens hold no I/O
//! of their own.
//!
//! They read on every render (the reads are index lookups, no document is
//! loaded), and re-run after any write through
//! [`ClientHandle::write`](crate::ClientHandle::write).

use bothy_client::ServiceError;
use bothy_client::services::{
    ActionView, CaseloadEntry, ChildOverview, ChronologyFilter, ChronologyItem, ConflictView,
    FieldChange, MyPlan as MyPlanModel, NeedView, SupervisionFeed, TeamView, VisitDraft, VisitView,
    VoiceLine, WhoWillSee,
};
use bothy_client::sync::SyncStatus;
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{Agency, ChildId, ItemId};
use dioxus::prelude::*;

use crate::core::{ViewError, use_client};

/// Who is using the app, as the views need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub name: String,
    pub role_title: String,
    pub agency: Option<Agency>,
    pub young_person: bool,
    pub supervisor: bool,
}

/// Who is using the app (`None` while locked).
pub fn use_me() -> Option<Who> {
    use_client()
        .read(|c| {
            let me = c.me();
            Ok(Who {
                name: me.name.clone(),
                role_title: me.role_title.clone(),
                agency: me.agency,
                young_person: me.is_young_person(),
                supervisor: me.is_supervisor(),
            })
        })
        .ok()
}

/// The requests for help on this device (mine, and my duty team's).
pub fn use_requests() -> Result<Vec<bothy_client::services::RequestLine>, ViewError> {
    use_client().read(|c| c.requests())
}

/// One request for help.
pub fn use_request(
    id: bothy_shared::ids::RequestId,
) -> Result<bothy_client::services::RequestView, ViewError> {
    use_client().read(|c| c.request(id))
}

/// The caseload, filtered by `search` (names, case-insensitive).
pub fn use_caseload(search: &str) -> Result<Vec<CaseloadEntry>, ViewError> {
    use_client().read(|c| c.caseload(Some(search)))
}

/// A child's page.
pub fn use_child(id: ChildId) -> Result<ChildOverview, ViewError> {
    use_client().read(|c| c.child(id))
}

/// A child's chronology, from one agency or all.
pub fn use_chronology(
    id: ChildId,
    agency: Option<Agency>,
) -> Result<Vec<ChronologyItem>, ViewError> {
    use_client().read(|c| c.chronology(id, agency))
}

/// A child's team, the changes waiting to sync, and whom it could be given.
pub fn use_team(id: ChildId) -> Result<TeamView, ViewError> {
    use_client().read(|c| c.team_view(id))
}

/// "My plan", for a young person.
pub fn use_my_plan() -> Result<MyPlanModel, ViewError> {
    use_client().read(|c| c.my_plan())
}

/// Changes since my last review, for one child.
pub fn use_changes_since_review(id: ChildId) -> Result<Vec<FieldChange>, ViewError> {
    use_client().read(|c| c.changes_since_my_last_review(id))
}

/// One child's part of the supervisor's feed: a card per visit, voice,
/// review or plan change.
pub fn use_supervision_feed(id: ChildId) -> Result<SupervisionFeed, ViewError> {
    use_client().read(|c| c.supervision_feed(id))
}

/// A child's open conflicts (fields two people changed at once).
pub fn use_conflicts(id: ChildId) -> Result<Vec<ConflictView>, ViewError> {
    use_client().read(|c| c.conflicts(id))
}

/// Children with a visit overdue or a review due.
pub fn use_overdue() -> Result<Vec<CaseloadEntry>, ViewError> {
    use_client().read(|c| c.overdue())
}

/// The team's outcomes: children per band now and at their last review,
/// ratings fallen, reviews on time, visits overdue, seen alone.
pub fn use_team_outcomes() -> Result<bothy_client::services::TeamOutcomes, ViewError> {
    use_client().read(|c| c.team_outcomes())
}

/// Changes on this device the server has not acknowledged yet.
pub fn use_unsynced() -> usize {
    use_client().read(|c| c.unsynced_changes()).unwrap_or(0)
}

/// Where sync stands: server, last sync, unsynced work, refusals.
pub fn use_sync_status() -> Result<SyncStatus, ViewError> {
    use_client().read(|c| c.sync_status())
}

/// One visit, as its page shows it (found among the child's records).
pub fn use_visit(child: ChildId, visit: ItemId) -> Result<VisitView, ViewError> {
    use_client().read(|c| {
        let key = c
            .child(child)?
            .recent_visits
            .into_iter()
            .find(|v| v.id == visit)
            .map(|v| v.doc)
            .ok_or_else(|| ServiceError::NotFound {
                what: "visit",
                id: visit.to_string(),
            })?;
        c.visit(key, visit)
    })
}

/// One action of a child's plan, with the need it serves.
pub fn use_action(child: ChildId, action: ItemId) -> Result<(NeedView, ActionView), ViewError> {
    use_client().read(|c| {
        c.child(child)?
            .needs
            .into_iter()
            .find_map(|n| {
                let a = n.actions.iter().find(|a| a.id == action)?.clone();
                Some((n, a))
            })
            .ok_or_else(|| ServiceError::NotFound {
                what: "action",
                id: action.to_string(),
            })
    })
}

/// A change to a visit draft.
pub type DraftChange = Box<dyn FnOnce(&mut VisitDraft)>;

/// A visit being recorded, from [`use_visit_draft`]. Copy, so every field's
/// handler can hold it.
#[derive(Clone, Copy, Debug)]
pub struct VisitDraftHandle {
    draft: Signal<VisitDraft>,
    notice: Signal<Option<Result<String, String>>>,
    change: Callback<DraftChange>,
    save: Callback<bool, bool>,
}

impl VisitDraftHandle {
    /// The draft as typed so far.
    pub fn draft(&self) -> VisitDraft {
        self.draft.read().clone()
    }

    /// What happened to the last keep or save: words to show, good or bad.
    pub fn notice(&self) -> Option<Result<String, String>> {
        self.notice.read().clone()
    }

    /// Change the draft and keep it (encrypted, on this device) at once.
    pub fn change(&self, f: impl FnOnce(&mut VisitDraft) + 'static) {
        self.change.call(Box::new(f));
    }

    /// Save the visit into the child's record as a draft, or (`finalise`)
    /// fix it for good. Returns whether it was saved.
    pub fn save(&self, finalise: bool) -> bool {
        self.save.call(finalise)
    }
}

/// A visit for `child`: the one left half-typed on this device, or a new
/// one. Every change is kept at once (`autosave_visit`), without re-rendering
/// other views; saving writes it into the child's record.
pub fn use_visit_draft(child: ChildId) -> VisitDraftHandle {
    let client = use_client();
    let mut draft = use_signal({
        let client = client.clone();
        move || {
            client
                .quietly(|c| c.visit_drafts())
                .ok()
                .and_then(|drafts| drafts.into_iter().find(|d| d.child == child))
                .unwrap_or_else(|| VisitDraft::new(child))
        }
    });
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let change = use_callback({
        let client = client.clone();
        move |change: DraftChange| {
            change(&mut draft.write());
            let result = client.quietly(|c| c.autosave_visit(&draft.read()));
            notice.set(Some(match result {
                Ok(()) => Ok("Kept on this device as you type.".to_owned()),
                Err(e) => Err(format!("Not kept: {e}")),
            }));
        }
    });
    let save = use_callback(move |finalise: bool| {
        match client.write(|c| c.save_visit(&draft.read(), finalise)) {
            Ok(_) if finalise => return true,
            Ok(_) => notice.set(Some(Ok(
                "Visit saved. It goes to the team next time this device syncs.".to_owned(),
            ))),
            Err(e) => {
                notice.set(Some(Err(format!("Not saved: {e}"))));
                return false;
            }
        }
        true
    });
    VisitDraftHandle {
        draft,
        notice,
        change,
        save,
    }
}

/// Who will see what is written to `doc` (for the plan: `withheld` from the young person or not).
pub fn use_who_will_see(doc: DocKey, withheld: bool) -> Result<WhoWillSee, ViewError> {
    use_client().read(|c| c.who_will_see(doc, withheld))
}

/// The document this person's family voice goes to: the team record with
/// consent to share, else their agency's record.
pub fn use_family_voice_doc(child: ChildId, consent: bool) -> Result<DocKey, ViewError> {
    use_client().read(|c| c.family_voice_doc(child, consent))
}

/// The family voice already gathered that this person may see, newest first.
pub fn use_family_voice_gathered(child: ChildId) -> Result<Vec<VoiceLine>, ViewError> {
    use_client().read(|c| c.family_voice_gathered(child))
}

/// A child's chronology, kept to `filter` (agency and impact).
pub fn use_chronology_filtered(
    id: ChildId,
    filter: ChronologyFilter,
) -> Result<Vec<ChronologyItem>, ViewError> {
    use_client().read(|c| c.chronology_filtered(id, filter))
}
