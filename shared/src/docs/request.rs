//! A request for help (`request/<id>`): one practitioner asks another
//! agency's duty team for help with a child.
//!
//! It is its own document because its audience is its own: the sender and
//! their supervisors, the receiving agency's duty workers and theirs
//! ([`request_team`]); nobody on a child's team reads it because of that.
//! Unlike a child's documents, the sender's device makes it (its first
//! change holds the whole request and its `sent` step); from then on its
//! fields are fixed and only new [`RequestStep`]s are added: the duty team
//! asks for more, accepts or declines; the sender answers or withdraws.
//! The state is the last step's ([`RequestDoc::state`]). The server acts on
//! an accepted step it let through (it creates or links the child and adds
//! the sender and the acceptor to the team): see `docs/sync-protocol.md`.

use std::collections::{BTreeMap, BTreeSet};

use autosurgeon::{Hydrate, Reconcile, Text};

use super::{
    CaseDocument, DocKey, Indicator, Invalid, IsoDate, PersonRef, SCHEMA_VERSION, Timestamp,
    check_keys,
};
use crate::ids::{Agency, ChildId, ItemId, PersonId, RequestId};
use crate::policy::{ChildTeam, TeamMember, TeamRole};
use crate::slug::slugs;

/// A request for help.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct RequestDoc {
    pub schema_version: u64,
    pub request_id: RequestId,
    /// Who asks: the sender.
    pub from: PersonRef,
    /// The agency whose duty team is asked.
    pub to: Agency,
    /// The child, when they are already in Bothy (as the sender knows them).
    pub child: Option<ChildId>,
    /// Who the child is, for a child not yet in Bothy (and for the duty
    /// worker's match check).
    pub about: AboutChild,
    /// Why help is asked for.
    pub reason: Text,
    /// The wellbeing indicators the sender is worried about.
    pub concerns: Vec<Indicator>,
    /// What worries the sender, indicator by indicator, in their words.
    pub concern_details: Text,
    /// What the child and the family think.
    pub views: Text,
    /// Consent, or the lawful basis for sharing without it. `None` is never
    /// sent (rule `request-consent-or-basis`).
    pub basis: Option<SharingBasis>,
    pub urgent: bool,
    /// What has happened to the request, by id; never edited, only added to.
    #[autosurgeon(with = "autosurgeon::map_with_parseable_keys")]
    pub steps: BTreeMap<ItemId, RequestStep>,
}

/// What identifies the child.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct AboutChild {
    pub name: String,
    pub date_of_birth: Option<IsoDate>,
    pub school: String,
    pub address: String,
}

/// Why the sender may share what the request says.
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
pub enum SharingBasis {
    /// The child or family agreed to it being shared.
    Consent,
    /// Shared without consent: a wellbeing concern that justifies it.
    Wellbeing,
    /// Shared without consent: child protection.
    Protection,
}

slugs!(SharingBasis {
    Consent => "consent", "With consent";
    Wellbeing => "wellbeing", "Without consent: wellbeing concern";
    Protection => "protection", "Without consent: child protection";
});

/// One thing that happened to a request.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct RequestStep {
    pub id: ItemId,
    pub kind: StepKind,
    pub by: PersonId,
    pub by_name: String,
    pub at: Timestamp,
    /// The question asked, the answer given, why declined or withdrawn.
    pub note: String,
    /// `Accepted`: the child the request now belongs to.
    pub child: Option<ChildId>,
    /// `Accepted`: whether that child is new to Bothy (the server creates
    /// them) or was already in it (found by the duty worker's match check).
    pub new_child: bool,
}

/// The kinds of step, and who takes each.
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
pub enum StepKind {
    /// The sender sent it (the first step).
    Sent,
    /// The duty team asked the sender for more.
    MoreInfoAsked,
    /// The sender answered; the request is with the duty team again.
    Answered,
    /// The duty team accepted it.
    Accepted,
    /// The duty team declined it, with a reason.
    Declined,
    /// The sender withdrew it.
    Withdrawn,
}

slugs!(StepKind {
    Sent => "sent", "Sent";
    MoreInfoAsked => "more-info-asked", "More information asked for";
    Answered => "answered", "More information given";
    Accepted => "accepted", "Accepted";
    Declined => "declined", "Declined";
    Withdrawn => "withdrawn", "Withdrawn";
});

/// Where a request stands: its last step, except that an answer puts it
/// back with the duty team (`Sent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RequestState {
    Sent,
    MoreInfoAsked,
    Accepted,
    Declined,
    Withdrawn,
}

slugs!(RequestState {
    Sent => "sent", "Sent";
    MoreInfoAsked => "more-info-asked", "More information asked for";
    Accepted => "accepted", "Accepted";
    Declined => "declined", "Declined";
    Withdrawn => "withdrawn", "Withdrawn";
});

/// Who takes a step: the sender, or a duty worker of the receiving agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSide {
    Sender,
    Duty,
}

impl StepKind {
    /// Who may take this step.
    pub fn side(self) -> RequestSide {
        match self {
            StepKind::Sent | StepKind::Answered | StepKind::Withdrawn => RequestSide::Sender,
            StepKind::MoreInfoAsked | StepKind::Accepted | StepKind::Declined => RequestSide::Duty,
        }
    }

    /// Whether this step may follow a request in `state`.
    pub fn may_follow(self, state: RequestState) -> bool {
        use RequestState as S;
        match self {
            StepKind::Sent => false,
            StepKind::Answered => state == S::MoreInfoAsked,
            StepKind::MoreInfoAsked | StepKind::Accepted | StepKind::Declined => {
                matches!(state, S::Sent | S::MoreInfoAsked)
            }
            StepKind::Withdrawn => matches!(state, S::Sent | S::MoreInfoAsked),
        }
    }
}

impl StepKind {
    /// The state a request is in once this step is its last.
    pub fn leaves(self) -> RequestState {
        match self {
            StepKind::Sent | StepKind::Answered => RequestState::Sent,
            StepKind::MoreInfoAsked => RequestState::MoreInfoAsked,
            StepKind::Accepted => RequestState::Accepted,
            StepKind::Declined => RequestState::Declined,
            StepKind::Withdrawn => RequestState::Withdrawn,
        }
    }
}

impl RequestState {
    /// Nothing more happens to it.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            RequestState::Accepted | RequestState::Declined | RequestState::Withdrawn
        )
    }
}

impl RequestDoc {
    /// A new request with its `sent` step.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        request_id: RequestId,
        from: PersonRef,
        to: Agency,
        child: Option<ChildId>,
        about: AboutChild,
        reason: &str,
        basis: Option<SharingBasis>,
        at: Timestamp,
    ) -> RequestDoc {
        let step = ItemId::random();
        let sent = RequestStep {
            id: step,
            kind: StepKind::Sent,
            by: from.person,
            by_name: from.name.clone(),
            at,
            note: String::new(),
            child: None,
            new_child: false,
        };
        RequestDoc {
            schema_version: SCHEMA_VERSION,
            request_id,
            from,
            to,
            child,
            about,
            reason: Text::with_value(reason),
            concerns: Vec::new(),
            concern_details: Text::default(),
            views: Text::default(),
            basis,
            urgent: false,
            steps: [(step, sent)].into_iter().collect(),
        }
    }

    /// The steps in the order they happened (time, then id).
    pub fn steps_in_order(&self) -> Vec<&RequestStep> {
        let mut steps: Vec<&RequestStep> = self.steps.values().collect();
        steps.sort_by_key(|s| (s.at, s.id));
        steps
    }

    /// The last step.
    pub fn last_step(&self) -> Option<&RequestStep> {
        self.steps_in_order().into_iter().last()
    }

    /// Where the request stands.
    pub fn state(&self) -> RequestState {
        self.last_step()
            .map_or(RequestState::Sent, |s| s.kind.leaves())
    }

    /// The accepting step, if the request was accepted.
    pub fn accepted(&self) -> Option<&RequestStep> {
        self.steps
            .values()
            .find(|s| s.kind == StepKind::Accepted && s.child.is_some())
    }

    /// The child's name as the request gives it.
    pub fn child_name(&self) -> &str {
        &self.about.name
    }

    /// Which side `person` is on: the sender, or (a member of `team` of
    /// the receiving agency who is not the sender) a duty worker.
    pub fn side_of(&self, person: PersonId, team: &ChildTeam) -> Option<RequestSide> {
        if person == self.from.person {
            return Some(RequestSide::Sender);
        }
        team.members
            .get(&person)
            .filter(|m| m.agency == self.to)
            .map(|_| RequestSide::Duty)
    }
}

impl CaseDocument for RequestDoc {
    fn fits(key: &DocKey) -> bool {
        matches!(key, DocKey::Request(_))
    }

    fn schema_version(&self) -> u64 {
        self.schema_version
    }

    fn validate(&self, key: &DocKey) -> Result<(), Invalid> {
        if Some(self.request_id) != key.request() {
            return Err(Invalid::at(
                "request_id",
                format!("this request is {}, stored as {key}", self.request_id),
            ));
        }
        if self.child.is_none() && self.about.name.trim().is_empty() {
            return Err(Invalid::at(
                "about/name",
                "a request names a child already in Bothy or gives the child's name",
            ));
        }
        check_keys("steps", &self.steps, |s| &s.id)?;
        if !self.steps.values().any(|s| s.kind == StepKind::Sent) {
            return Err(Invalid::at("steps", "a request has its sent step"));
        }
        for s in self.steps.values() {
            if s.kind == StepKind::Accepted && s.child.is_none() {
                return Err(Invalid::at(
                    format!("steps/{}/child", s.id),
                    "an accepted request names its child",
                ));
            }
        }
        Ok(())
    }
}

/// The audience of a request as a team the access policy reads: the
/// sender (in their agency) and the receiving agency's duty workers. Their
/// supervisors read it through them ([`crate::policy::Principal::supervises_team`]);
/// nobody else is in it. Keyed by the request's own id
/// ([`DocKey::child`] of a request key).
pub fn request_team(
    request: RequestId,
    sender: PersonId,
    sender_agency: Agency,
    to: Agency,
    duty: &BTreeSet<PersonId>,
) -> ChildTeam {
    let mut members: BTreeMap<PersonId, TeamMember> = duty
        .iter()
        .map(|p| {
            (
                *p,
                TeamMember {
                    agency: to,
                    role: TeamRole::Member,
                },
            )
        })
        .collect();
    members.insert(
        sender,
        TeamMember {
            agency: sender_agency,
            role: TeamRole::Member,
        },
    );
    ChildTeam {
        child: ChildId(request.0),
        members,
        young_person: None,
        young_copy: None,
    }
}
