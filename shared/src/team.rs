//! Team changes made from the app: who joins a child's team, who holds the
//! lead professional and named person roles, and whose membership ends.
//!
//! The team lives in the server's directory, not in a document: it decides
//! who may read what, so it must be one answer everywhere, checked against
//! the directory as it stands when the change arrives. A device therefore
//! makes a team change offline as an operation ([`TeamChange`], with an id so
//! sending it twice applies it once) and keeps it until its next sync, when
//! the server applies it if the requester may make it *then*, or refuses it
//! with a rule name ([`crate::policy::Rule`]). Nothing is merged: a refused
//! change blocks nothing else.
//!
//! [`check_team_change`] is the one rule both sides call: the device before
//! it queues a change (so an honest device is not refused for what it could
//! know), the server before it applies one.

use serde::{Deserialize, Serialize};

use crate::docs::IsoDate;
use crate::ids::{Agency, ChildId, ItemId, PersonId};
use crate::policy::{ChildTeam, Principal, Rule, TeamMember, TeamRole};

/// The longest reason a membership may end with, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// One team change, made on a device and applied by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamChange {
    /// Made on the device; the server applies each id once.
    pub id: ItemId,
    pub child: ChildId,
    #[serde(flatten)]
    pub action: TeamAction,
}

/// What a team change does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum TeamAction {
    /// Put `person` on the team with `role` (or give a member that role).
    /// The lead professional and named person roles are handed over: whoever
    /// held the role stays on the team as a member.
    Add { person: PersonId, role: TeamRole },
    /// End `person`'s membership on `on`, for `reason` (the words the
    /// worker typed; kept with the change for the audit).
    End {
        person: PersonId,
        on: IsoDate,
        reason: String,
    },
}

impl TeamAction {
    /// The person the change is about.
    pub fn person(&self) -> PersonId {
        match self {
            TeamAction::Add { person, .. } | TeamAction::End { person, .. } => *person,
        }
    }
}

/// What applying an allowed change does to the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamEffect {
    /// Put the person on the team with this agency and role (replacing any
    /// membership they had); a lead professional or named person role is
    /// taken from whoever held it, who stays a member.
    Join {
        person: PersonId,
        member: TeamMember,
    },
    /// Take the person off the team.
    Leave { person: PersonId },
}

/// Whether `p` may make `action` on `team` now, and what it does if so.
///
/// `joiner_agency` is the agency of the person the change is about, as the
/// directory knows them: `None` for a young person or someone the directory
/// does not know (neither joins a team). `today` bounds the end date.
pub fn check_team_change(
    p: &Principal,
    team: &ChildTeam,
    action: &TeamAction,
    joiner_agency: Option<Agency>,
    today: IsoDate,
) -> Result<TeamEffect, Rule> {
    if p.device_revoked {
        return Err(Rule::RevokedDevice);
    }
    if !p.may_change_team(team) {
        return Err(Rule::TeamLeadOrSupervisor);
    }
    let holds_a_role = |person: &PersonId| {
        team.members
            .get(person)
            .is_some_and(|m| m.role != TeamRole::Member)
    };
    match action {
        TeamAction::Add { person, role } => {
            let agency = joiner_agency.ok_or(Rule::TeamPractitionersOnly)?;
            // Taking a role away from its holder without giving it to
            // someone else would leave the child without one.
            let current = team.members.get(person).map(|m| m.role);
            if current.is_some_and(|r| r != TeamRole::Member && r != *role) {
                return Err(Rule::TeamHandOverFirst);
            }
            Ok(TeamEffect::Join {
                person: *person,
                member: TeamMember {
                    agency,
                    role: *role,
                },
            })
        }
        TeamAction::End { person, on, reason } => {
            if !team.members.contains_key(person) {
                return Err(Rule::TeamNotAMember);
            }
            if holds_a_role(person) {
                return Err(Rule::TeamHandOverFirst);
            }
            let reason_chars = reason.trim().chars().count();
            if reason_chars == 0 || reason_chars > MAX_REASON_CHARS || *on > today {
                return Err(Rule::TeamEndDateAndReason);
            }
            Ok(TeamEffect::Leave { person: *person })
        }
    }
}

/// The team after `effect`: what the server's directory holds once it is
/// applied (the device shows a pending change this way).
pub fn apply_effect(team: &ChildTeam, effect: TeamEffect) -> ChildTeam {
    let mut after = team.clone();
    match effect {
        TeamEffect::Join { person, member } => {
            if member.role != TeamRole::Member {
                for m in after.members.values_mut() {
                    if m.role == member.role {
                        m.role = TeamRole::Member;
                    }
                }
            }
            after.members.insert(person, member);
        }
        TeamEffect::Leave { person } => {
            after.members.remove(&person);
        }
    }
    after
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeSet;

    use super::*;
    use crate::demo::{self, DAVID, FIONA, IAIN, KAI, KAI_YP, MORAG, PRIYA};
    use crate::ids::DeviceId;
    use crate::policy::PersonKind;

    fn kai_team() -> ChildTeam {
        demo::partnership().child("Kai").unwrap().team.clone()
    }

    fn who(person: PersonId, kind: PersonKind, supervises: &[PersonId]) -> Principal {
        Principal {
            person,
            agency: Some(Agency::SocialWork),
            kind,
            device: DeviceId::random(),
            device_revoked: false,
            supervises: supervises.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    fn today() -> IsoDate {
        IsoDate::from_ymd(2026, 12, 3).unwrap()
    }

    fn end(person: PersonId, reason: &str) -> TeamAction {
        TeamAction::End {
            person,
            on: today(),
            reason: reason.into(),
        }
    }

    fn add(person: PersonId, role: TeamRole) -> TeamAction {
        TeamAction::Add { person, role }
    }

    #[test]
    fn the_lead_professional_adds_a_practitioner_as_a_member() {
        let morag = who(MORAG, PersonKind::Practitioner, &[]);
        let effect = check_team_change(
            &morag,
            &kai_team(),
            &add(IAIN, TeamRole::Member),
            Some(Agency::Police),
            today(),
        )
        .unwrap();
        let after = apply_effect(&kai_team(), effect);
        assert_eq!(after.members[&IAIN].agency, Agency::Police);
        assert_eq!(after.members.len(), 4);
    }

    #[test]
    fn a_plain_member_and_the_young_person_may_not_change_the_team() {
        let priya = who(PRIYA, PersonKind::Practitioner, &[]);
        let kai = who(KAI_YP, PersonKind::YoungPerson { child: KAI }, &[]);
        for p in [priya, kai] {
            assert_eq!(
                check_team_change(
                    &p,
                    &kai_team(),
                    &add(IAIN, TeamRole::Member),
                    Some(Agency::Police),
                    today()
                ),
                Err(Rule::TeamLeadOrSupervisor)
            );
        }
    }

    #[test]
    fn handing_over_the_lead_keeps_one_lead_and_the_old_lead_on_the_team() {
        let fiona = who(FIONA, PersonKind::Supervisor, &[MORAG, PRIYA]);
        let effect = check_team_change(
            &fiona,
            &kai_team(),
            &add(PRIYA, TeamRole::LeadProfessional),
            Some(Agency::ThirdSector),
            today(),
        )
        .unwrap();
        let after = apply_effect(&kai_team(), effect);
        let leads: Vec<_> = after
            .members
            .iter()
            .filter(|(_, m)| m.role == TeamRole::LeadProfessional)
            .map(|(p, _)| *p)
            .collect();
        assert_eq!(leads, vec![PRIYA]);
        assert_eq!(after.members[&MORAG].role, TeamRole::Member);
    }

    #[test]
    fn a_role_holder_leaves_only_after_handing_the_role_over() {
        let morag = who(MORAG, PersonKind::Practitioner, &[]);
        let team = kai_team();
        assert_eq!(
            check_team_change(&morag, &team, &end(DAVID, "moved school"), None, today()),
            Err(Rule::TeamHandOverFirst)
        );
        assert_eq!(
            check_team_change(
                &morag,
                &team,
                &add(DAVID, TeamRole::Member),
                Some(Agency::Education),
                today()
            ),
            Err(Rule::TeamHandOverFirst)
        );
    }

    #[test]
    fn a_membership_ends_with_a_reason_on_a_day_not_in_the_future() {
        let morag = who(MORAG, PersonKind::Practitioner, &[]);
        let team = kai_team();
        assert_eq!(
            check_team_change(&morag, &team, &end(PRIYA, "  "), None, today()),
            Err(Rule::TeamEndDateAndReason)
        );
        let later = TeamAction::End {
            person: PRIYA,
            on: today().plus_days(1),
            reason: "left the service".into(),
        };
        assert_eq!(
            check_team_change(&morag, &team, &later, None, today()),
            Err(Rule::TeamEndDateAndReason)
        );
        assert_eq!(
            check_team_change(&morag, &team, &end(IAIN, "never joined"), None, today()),
            Err(Rule::TeamNotAMember)
        );
        let effect = check_team_change(
            &morag,
            &team,
            &end(PRIYA, "left the service"),
            None,
            today(),
        )
        .unwrap();
        assert!(!apply_effect(&team, effect).members.contains_key(&PRIYA));
    }

    #[test]
    fn a_young_person_never_joins_a_team() {
        let morag = who(MORAG, PersonKind::Practitioner, &[]);
        assert_eq!(
            check_team_change(
                &morag,
                &kai_team(),
                &add(KAI_YP, TeamRole::Member),
                None,
                today()
            ),
            Err(Rule::TeamPractitionersOnly)
        );
    }

    #[test]
    fn a_team_change_reads_the_same_after_the_wire() {
        let change = TeamChange {
            id: ItemId::random(),
            child: KAI,
            action: end(PRIYA, "left the service"),
        };
        let bytes = crate::wire::to_cbor(&change).unwrap();
        assert_eq!(
            crate::wire::from_cbor::<TeamChange>(&bytes).unwrap(),
            change
        );
    }
}
