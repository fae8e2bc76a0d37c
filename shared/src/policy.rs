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
    /// The generation `n` of the young person's copy of the plan
    /// (`young/<child>/<n>`) the server keeps now; `None` before there is one.
    /// Older generations are never read again.
    #[serde(default)]
    pub young_copy: Option<u32>,
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
    /// Only the child's team and their supervisors read a child's documents; the young person only their copy of the plan.
    ReadScope,
    /// Only the team writes a child's documents; the young person only their copy of the plan.
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
    /// Only the lead professional or a supervisor of the team withholds part of the plan from the young person (or lifts it).
    WithholdLeadOrSupervisor,
    /// Family voice given without consent to share stays in the recording
    /// agency's record, never in the team record.
    ConsentToShare,
    /// A request for help is sent only with consent or a lawful basis for
    /// sharing without it (a wellbeing concern, child protection).
    RequestConsentOrBasis,
    /// The sender sends, answers and withdraws a request for help; a duty
    /// worker of the receiving agency asks for more, accepts or declines;
    /// each step only where the request's state allows it.
    RequestStepByRole,
    /// Only the lead professional or a supervisor of the team changes who is on it.
    TeamLeadOrSupervisor,
    /// Only a practitioner or supervisor of the partnership joins a child's team.
    TeamPractitionersOnly,
    /// The lead professional or named person role is handed over before its
    /// holder's membership ends (one of each per child).
    TeamHandOverFirst,
    /// A membership that is not there cannot end.
    TeamNotAMember,
    /// A membership ends on a date no later than today, with a reason.
    TeamEndDateAndReason,
    /// A chronology entry or withheld content is changed or deleted only by
    /// the agency that recorded it, and that agency's supervisors.
    AuthoringAgencyOnly,
    /// Objects nest no deeper than the schema needs
    /// ([`crate::gate::limits::MAX_DEPTH`]).
    ObjectTooDeep,
    /// A change, or the changes sent together for one document, hold at most
    /// so many operations ([`crate::gate::limits`]).
    ChangeTooLarge,
    /// A text, string, byte string or list holds at most so much
    /// ([`crate::gate::limits`]).
    ValueTooLarge,
    /// A device writes at most so many bytes, and starts at most so many
    /// documents, per day (the server's quota).
    DeviceQuota,
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
    WithholdLeadOrSupervisor => "withhold-lead-or-supervisor",
    ConsentToShare => "consent-to-share",
    RequestConsentOrBasis => "request-consent-or-basis",
    RequestStepByRole => "request-step-by-role",
    TeamLeadOrSupervisor => "team-lead-or-supervisor",
    TeamPractitionersOnly => "team-practitioners-only",
    TeamHandOverFirst => "team-hand-over-first",
    TeamNotAMember => "team-not-a-member",
    TeamEndDateAndReason => "team-end-date-and-reason",
    AuthoringAgencyOnly => "authoring-agency-only",
    ObjectTooDeep => "object-too-deep",
    ChangeTooLarge => "change-too-large",
    ValueTooLarge => "value-too-large",
    DeviceQuota => "device-quota",
});

impl Rule {
    /// What the rule says, in words a practitioner can act on.
    pub fn explain(self) -> &'static str {
        match self {
            Rule::ReadScope => {
                "only the child's team, their supervisors and, for their copy of the plan, the young person may read this"
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
            Rule::WithholdLeadOrSupervisor => {
                "only the lead professional or a supervisor of the team can withhold part of the plan or lift it"
            }
            Rule::ConsentToShare => {
                "words given without consent to share can only be kept in the recording agency's record, not the team record"
            }
            Rule::RequestConsentOrBasis => {
                "a request for help needs the family's consent, or a lawful reason to share without it: a wellbeing concern or child protection"
            }
            Rule::RequestStepByRole => {
                "only the sender sends, answers or withdraws a request, and only the receiving agency's duty team asks for more, accepts or declines it, while it is open"
            }
            Rule::TeamLeadOrSupervisor => {
                "only the lead professional or a supervisor of the team can change who is on it"
            }
            Rule::TeamPractitionersOnly => {
                "only a practitioner or supervisor of the partnership can join a child's team"
            }
            Rule::TeamHandOverFirst => {
                "hand the lead professional or named person role to someone else first: a child always has one of each"
            }
            Rule::TeamNotAMember => "that person is not on the child's team",
            Rule::TeamEndDateAndReason => {
                "a membership ends with a reason and on a date no later than today"
            }
            Rule::AuthoringAgencyOnly => {
                "only the agency that recorded this entry, and its supervisors, can change or delete it"
            }
            Rule::ObjectTooDeep => "the change nests its content deeper than any record needs",
            Rule::ChangeTooLarge => {
                "the change is too large to accept at once; save smaller pieces of work"
            }
            Rule::ValueTooLarge => "a piece of text or a list in the change is too long",
            Rule::DeviceQuota => {
                "this device has sent as much as it may today; try again tomorrow or ask an administrator"
            }
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

    /// The lead professional of the team, or a supervisor of it: who may
    /// withhold part of the plan from the young person.
    pub fn may_withhold(&self, team: &ChildTeam) -> bool {
        self.membership(team)
            .is_some_and(|m| m.role == TeamRole::LeadProfessional)
            || self.supervises_team(team, None)
    }

    /// The lead professional of the team, or a supervisor of it: who may
    /// change who is on the team (`crate::team`).
    pub fn may_change_team(&self, team: &ChildTeam) -> bool {
        self.may_withhold(team)
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
            DocKey::Plan(_) => member.is_some() || p.supervises_team(team, None),
            // Only the copy the server keeps now: an older one may hold
            // content withheld since.
            DocKey::Young(_, n) => p.is_young_person_of(team) && team.young_copy == Some(*n),
            DocKey::Record(_) => member.is_some() || p.supervises_team(team, None),
            DocKey::Agency(_, a) => {
                member.is_some_and(|m| m.agency == *a) || p.supervises_team(team, Some(*a))
            }
            // The request's own audience (`docs::request_team`): the
            // sender and the duty workers, and their supervisors.
            DocKey::Request(_) => member.is_some() || p.supervises_team(team, None),
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
            // A supervisor outside the team writes only the plan's
            // withheld markers (the gate's business).
            DocKey::Plan(_) => member.is_some() || p.supervises_team(team, None),
            // The young person writes their views into their copy, also an
            // older one they still hold unsynced views in (the server keeps
            // those and sends nothing back from it).
            DocKey::Young(_, n) => {
                p.is_young_person_of(team) && team.young_copy.is_some_and(|now| *n <= now)
            }
            DocKey::Record(_) => member.is_some() || p.supervises_team(team, None),
            DocKey::Agency(_, a) => {
                member.is_some_and(|m| m.agency == *a) || p.supervises_team(team, Some(*a))
            }
            // Supervisors read a request; only the sender and the duty
            // workers take its steps.
            DocKey::Request(_) => member.is_some(),
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
            .chain(team.young_copy.map(|n| DocKey::Young(c, n)))
            .chain(team.agencies().into_iter().map(|a| DocKey::Agency(c, a)))
            .filter(|k| Self::can_read(p, k, team).is_ok())
            .collect()
    }
}

/// Who may read a document, worked out from the same read policy the server
/// enforces ([`AccessPolicy::can_read`]): what a form shows as "Who will see
/// this" before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// The team members who read it, by agency.
    pub members: BTreeMap<Agency, BTreeSet<PersonId>>,
    /// Supervisors (of those given) who read it through the people they supervise.
    pub supervisors: BTreeSet<PersonId>,
    /// The young person, when they will read it: for the plan, in their copy
    /// of it ("My plan"), unless the section is withheld from them.
    pub young_person: Option<PersonId>,
}

impl Audience {
    /// How many team members read it.
    pub fn people(&self) -> usize {
        self.members.values().map(BTreeSet::len).sum()
    }

    /// The one agency whose members read it, when only one does.
    pub fn only_agency(&self) -> Option<Agency> {
        match self.members.keys().collect::<Vec<_>>().as_slice() {
            [only] => Some(**only),
            _ => None,
        }
    }
}

/// Who will read `key`: each team member and each of `supervisors` (a
/// supervisor and the people they supervise, as far as the caller knows
/// them) whom [`AccessPolicy::can_read`] lets read it, and the young person.
///
/// The young person reads the plan through a copy the server makes without
/// the sections withheld from them, so for the plan `withheld` says whether
/// the section being written is withheld; for the records it is ignored (the
/// young person never reads them).
pub fn audience(
    key: &DocKey,
    team: &ChildTeam,
    supervisors: &BTreeMap<PersonId, BTreeSet<PersonId>>,
    withheld: bool,
) -> Audience {
    // A made-up device: the audience is about people, and a device that is
    // not revoked is all `can_read` asks of it.
    let principal = |person: PersonId, agency: Option<Agency>, kind, supervises| Principal {
        person,
        agency,
        kind,
        device: DeviceId(uuid::Uuid::nil()),
        device_revoked: false,
        supervises,
    };
    let mut members: BTreeMap<Agency, BTreeSet<PersonId>> = BTreeMap::new();
    for (person, m) in &team.members {
        let p = principal(
            *person,
            Some(m.agency),
            PersonKind::Practitioner,
            BTreeSet::new(),
        );
        if AccessPolicy::can_read(&p, key, team).is_ok() {
            members.entry(m.agency).or_default().insert(*person);
        }
    }
    let supervisors = supervisors
        .iter()
        .filter(|(s, _)| !team.members.contains_key(*s))
        .filter(|(s, supervises)| {
            let p = principal(**s, None, PersonKind::Supervisor, (*supervises).clone());
            AccessPolicy::can_read(&p, key, team).is_ok()
        })
        .map(|(s, _)| *s)
        .collect();
    let young_person = match key {
        DocKey::Plan(_) if !withheld => team.young_person,
        _ => None,
    };
    Audience {
        members,
        supervisors,
        young_person,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::demo::{self, AILEEN, DAVID, FIONA, KAI, KAI_YP, MORAG, PRIYA};

    fn kai_team() -> ChildTeam {
        demo::partnership().child("Kai").unwrap().team.clone()
    }

    fn fiona() -> BTreeMap<PersonId, BTreeSet<PersonId>> {
        [(FIONA, [MORAG, PRIYA].into_iter().collect())]
            .into_iter()
            .collect()
    }

    #[test]
    fn the_team_record_is_read_by_every_member_and_their_supervisor_but_not_the_young_person() {
        let a = audience(&DocKey::Record(KAI), &kai_team(), &fiona(), false);
        assert_eq!(a.people(), 3);
        assert_eq!(a.members.len(), 3);
        assert_eq!(a.only_agency(), None);
        assert_eq!(a.supervisors, [FIONA].into_iter().collect());
        assert_eq!(a.young_person, None);
    }

    #[test]
    fn an_agency_record_is_read_by_that_agency_only() {
        let a = audience(
            &DocKey::Agency(KAI, Agency::SocialWork),
            &kai_team(),
            &fiona(),
            false,
        );
        assert_eq!(a.only_agency(), Some(Agency::SocialWork));
        assert_eq!(
            a.members[&Agency::SocialWork],
            [MORAG].into_iter().collect()
        );
        assert!(!a.members.values().any(|m| m.contains(&DAVID)));
        assert_eq!(a.young_person, None);
        // Fiona supervises Morag (social work): she reads it.
        assert_eq!(a.supervisors, [FIONA].into_iter().collect());
        let edu = audience(
            &DocKey::Agency(KAI, Agency::Education),
            &kai_team(),
            &fiona(),
            false,
        );
        // Fiona supervises nobody in education.
        assert!(edu.supervisors.is_empty());
        assert_eq!(
            edu.members[&Agency::Education],
            [DAVID].into_iter().collect()
        );
    }

    #[test]
    fn the_young_person_reads_the_plan_unless_the_section_is_withheld() {
        let team = kai_team();
        let open = audience(&DocKey::Plan(KAI), &team, &BTreeMap::new(), false);
        assert_eq!(open.young_person, Some(KAI_YP));
        assert_eq!(open.people(), 3);
        let withheld = audience(&DocKey::Plan(KAI), &team, &BTreeMap::new(), true);
        assert_eq!(withheld.young_person, None);
        assert_eq!(withheld.people(), 3);
    }

    #[test]
    fn someone_outside_the_team_is_never_in_the_audience() {
        let team = kai_team();
        let outsider: BTreeMap<PersonId, BTreeSet<PersonId>> =
            [(PersonId::random(), [AILEEN].into_iter().collect())]
                .into_iter()
                .collect();
        for key in AccessPolicy::readable(
            &Principal {
                person: MORAG,
                agency: Some(Agency::SocialWork),
                kind: PersonKind::Practitioner,
                device: DeviceId::random(),
                device_revoked: false,
                supervises: BTreeSet::new(),
            },
            &team,
        ) {
            let a = audience(&key, &team, &outsider, false);
            assert!(a.supervisors.is_empty(), "{key}");
            assert!(!a.members.values().any(|m| m.contains(&AILEEN)), "{key}");
        }
    }
}
