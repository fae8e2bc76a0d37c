//! The access policy: who may read and write each document.
//!
//! One implementation, called by the server before it sends or accepts
//! anything and by the device before it makes a change, so honest clients are
//! never rejected. Pure functions over the partnership's directory as it
//! concerns one child ([`ChildTeam`]) and the person and device asking
//! ([`Principal`]). What a change may touch inside a document is checked op by
//! op in [`crate::gate`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::docs::DocKey;
use crate::ids::{Agency, ChildId, DeviceId, PersonId};

/// What kind of person someone is in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PersonKind {
    Practitioner,
    Supervisor,
    /// The child or young person a plan is about.
    YoungPerson {
        child: ChildId,
    },
}

/// The person and device a request or change comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub person: PersonId,
    pub agency: Option<Agency>,
    pub kind: PersonKind,
    pub device: DeviceId,
    pub device_revoked: bool,
    /// The people this person supervises (for supervisors).
    pub supervises: BTreeSet<PersonId>,
}

/// A team member's role in one child's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeamRole {
    Member,
    LeadProfessional,
    NamedPerson,
}

crate::slug::slugs!(TeamRole {
    Member => "member",
    LeadProfessional => "lead-professional",
    NamedPerson => "named-person",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub agency: Agency,
    pub role: TeamRole,
}

/// The directory as it concerns one child: the team around the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildTeam {
    pub child: ChildId,
    pub members: BTreeMap<PersonId, TeamMember>,
    /// The young person's own account, if they have one.
    pub young_person: Option<PersonId>,
}

impl ChildTeam {
    /// The agencies present in the team: each has an agency record.
    pub fn agencies(&self) -> BTreeSet<Agency> {
        self.members.values().map(|m| m.agency).collect()
    }
}

/// A named rule of the policy: what a denial or rejection cites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Rule {
    /// Only the child's team, their supervisors and (for the plan) the young person read a child's documents.
    ReadScope,
    /// Only the team writes a child's documents; the young person only the plan.
    WriteScope,
    /// A revoked device may do nothing.
    RevokedDevice,
    /// Every change carries the actor of the device that sends it.
    ActorNotDevice,
    /// A young person changes only their own views.
    YoungPersonOwnViewsOnly,
    /// A finalised visit is never edited: corrections are new addenda.
    FinalisedVisitAddendumOnly,
    /// Only the author edits a draft visit.
    DraftVisitAuthorOnly,
    /// A new item names the person who made it.
    AuthorIsSelf,
    /// Someone's own words (views, family voice) are changed only by whoever wrote them down.
    OwnWordsAuthorOnly,
    /// Only a supervisor of the team writes supervision reviews.
    SupervisionSupervisorsOnly,
    /// A supervisor outside the team writes only supervision reviews.
    SupervisorReviewOnly,
    /// A countersigned review is never edited.
    CountersignedReviewFinal,
    /// The document's identity and collections are fixed once it exists.
    DocumentStructure,
    /// After the change the document must still read as a valid document of its schema.
    InvalidDocument,
}

// The slug is the rule's stable name, used on the wire and in logs.
crate::slug::slugs!(Rule {
    ReadScope => "read-scope",
    WriteScope => "write-scope",
    RevokedDevice => "revoked-device",
    ActorNotDevice => "actor-not-device",
    YoungPersonOwnViewsOnly => "young-person-own-views-only",
    FinalisedVisitAddendumOnly => "finalised-visit-addendum-only",
    DraftVisitAuthorOnly => "draft-visit-author-only",
    AuthorIsSelf => "author-is-self",
    OwnWordsAuthorOnly => "own-words-author-only",
    SupervisionSupervisorsOnly => "supervision-supervisors-only",
    SupervisorReviewOnly => "supervisor-review-only",
    CountersignedReviewFinal => "countersigned-review-final",
    DocumentStructure => "document-structure",
    InvalidDocument => "invalid-document",
});

impl Rule {
    /// What the rule says, in words a practitioner can act on.
    pub fn explain(self) -> &'static str {
        match self {
            Rule::ReadScope => {
                "only the child's team, their supervisors and, for the plan, the young person may read this"
            }
            Rule::WriteScope => "only the child's team may change this",
            Rule::RevokedDevice => "this device has been revoked",
            Rule::ActorNotDevice => "a change must be made on the device that sends it",
            Rule::YoungPersonOwnViewsOnly => {
                "a young person can only add or change what they think"
            }
            Rule::FinalisedVisitAddendumOnly => {
                "a finalised visit cannot be changed; add an addendum instead"
            }
            Rule::DraftVisitAuthorOnly => {
                "only the practitioner who recorded a draft visit can change it"
            }
            Rule::AuthorIsSelf => "a new entry must be recorded in your own name",
            Rule::OwnWordsAuthorOnly => {
                "someone's own words can only be changed by whoever wrote them down"
            }
            Rule::SupervisionSupervisorsOnly => {
                "only a supervisor of the team can write a supervision review"
            }
            Rule::SupervisorReviewOnly => {
                "a supervisor outside the team can only write supervision reviews"
            }
            Rule::CountersignedReviewFinal => "a countersigned review cannot be changed",
            Rule::DocumentStructure => "the document's identity and sections cannot be replaced",
            Rule::InvalidDocument => "the change would leave the document invalid",
        }
    }

    /// The rule named `s` (its slug), if any.
    pub fn from_name(s: &str) -> Option<Rule> {
        Rule::from_slug(s)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_str(), self.explain())
    }
}

impl From<Rule> for String {
    fn from(r: Rule) -> String {
        r.as_str().to_owned()
    }
}

impl TryFrom<String> for Rule {
    type Error = String;
    fn try_from(s: String) -> Result<Rule, String> {
        Rule::from_name(&s).ok_or(s)
    }
}

/// Whether a read or write was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    Write,
}

/// A read or write the policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{person} may not {} {key}: {rule}", match access { Access::Read => "read", Access::Write => "write" })]
pub struct Denied {
    pub person: PersonId,
    pub key: DocKey,
    pub access: Access,
    pub rule: Rule,
}

/// The access policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessPolicy;

impl Principal {
    /// This person's place in the team, unless they are the young person.
    pub fn membership<'t>(&self, team: &'t ChildTeam) -> Option<&'t TeamMember> {
        match self.kind {
            PersonKind::YoungPerson { .. } => None,
            _ => team.members.get(&self.person),
        }
    }

    /// Supervises at least one team member (of `agency`, if given).
    pub fn supervises_team(&self, team: &ChildTeam, agency: Option<Agency>) -> bool {
        if matches!(self.kind, PersonKind::YoungPerson { .. }) {
            return false;
        }
        team.members.iter().any(|(person, m)| {
            self.supervises.contains(person) && agency.is_none_or(|a| m.agency == a)
        })
    }

    /// The young person whose plan this is.
    pub fn is_young_person_of(&self, team: &ChildTeam) -> bool {
        matches!(self.kind, PersonKind::YoungPerson { child } if child == team.child)
            && team.young_person == Some(self.person)
    }
}

impl AccessPolicy {
    /// May `p` receive `key` at all?
    pub fn can_read(p: &Principal, key: &DocKey, team: &ChildTeam) -> Result<(), Denied> {
        let deny = |rule| {
            Err(Denied {
                person: p.person,
                key: *key,
                access: Access::Read,
                rule,
            })
        };
        if p.device_revoked {
            return deny(Rule::RevokedDevice);
        }
        if team.child != key.child() {
            return deny(Rule::ReadScope);
        }
        let member = p.membership(team);
        let allowed = match key {
            DocKey::Plan(_) => {
                member.is_some() || p.supervises_team(team, None) || p.is_young_person_of(team)
            }
            DocKey::Record(_) => member.is_some() || p.supervises_team(team, None),
            DocKey::Agency(_, a) => {
                member.is_some_and(|m| m.agency == *a) || p.supervises_team(team, Some(*a))
            }
        };
        if allowed {
            Ok(())
        } else {
            deny(Rule::ReadScope)
        }
    }

    /// May `p` change `key` at all? (What they may touch inside it is the
    /// gate's business.)
    pub fn can_write(p: &Principal, key: &DocKey, team: &ChildTeam) -> Result<(), Denied> {
        let deny = |rule| {
            Err(Denied {
                person: p.person,
                key: *key,
                access: Access::Write,
                rule,
            })
        };
        if p.device_revoked {
            return deny(Rule::RevokedDevice);
        }
        if team.child != key.child() {
            return deny(Rule::WriteScope);
        }
        let member = p.membership(team);
        let allowed = match key {
            DocKey::Plan(_) => member.is_some() || p.is_young_person_of(team),
            DocKey::Record(_) => member.is_some() || p.supervises_team(team, None),
            DocKey::Agency(_, a) => {
                member.is_some_and(|m| m.agency == *a) || p.supervises_team(team, Some(*a))
            }
        };
        if allowed {
            Ok(())
        } else {
            deny(Rule::WriteScope)
        }
    }

    /// Every document of this child that `p` may read.
    pub fn readable(p: &Principal, team: &ChildTeam) -> Vec<DocKey> {
        let c = team.child;
        std::iter::once(DocKey::Plan(c))
            .chain(std::iter::once(DocKey::Record(c)))
            .chain(team.agencies().into_iter().map(|a| DocKey::Agency(c, a)))
            .filter(|k| Self::can_read(p, k, team).is_ok())
            .collect()
    }
}
