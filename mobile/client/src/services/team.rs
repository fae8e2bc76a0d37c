//! Team changes from the app (issue 15): who is on a child's team, and the
//! changes the lead professional or a supervisor of the team makes to it
//! offline: add someone, hand the lead professional or named person role
//! over, end someone's membership (date and reason).
//!
//! A change is checked here with the same rule the server applies
//! ([`check_team_change`]) and kept in the store until the next sync sends
//! it (`/v1/team`); the server applies it if the person may make it *then*.
//! Until it is answered it shows as pending; a refused one shows the rule
//! and why. The team shown is the directory's: the server's word.

use bothy_shared::docs::{DocKey, IsoDate};
use bothy_shared::ids::{Agency, ChildId, ItemId, PersonId};
use bothy_shared::policy::{Access, Denied, TeamRole};
use bothy_shared::team::{TeamAction, TeamChange, check_team_change};
use bothy_shared::wire::{TeamResult, TeamStatus};
use serde::Serialize;

use super::Client;
use crate::error::ServiceError;
use crate::index;
use crate::store::{StoreError, team as queue, tx};

/// One member of a child's team, as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamMemberLine {
    pub person: PersonId,
    pub name: String,
    pub agency: Agency,
    pub role: TeamRole,
}

/// A team change made on this device, not yet applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamChangeLine {
    pub id: ItemId,
    /// What it does, in a sentence ("Add Iain Campbell (Police) as a member").
    pub words: String,
    /// For a refused change: the rule's name and why.
    pub rule: Option<String>,
    pub why: Option<String>,
}

/// Someone a team can be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonChoice {
    pub person: PersonId,
    pub name: String,
    pub agency: Agency,
}

/// A child's team as the Team screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamView {
    pub child: ChildId,
    pub members: Vec<TeamMemberLine>,
    /// The lead professional or a supervisor of the team: may change it.
    pub can_change: bool,
    /// Made here, waiting for the next sync.
    pub pending: Vec<TeamChangeLine>,
    /// Made here and refused by the server.
    pub refused: Vec<TeamChangeLine>,
    /// Practitioners and supervisors known to this device who are not on
    /// the team (for "Add someone").
    pub others: Vec<PersonChoice>,
}

/// The words for a role.
pub fn role_words(role: TeamRole) -> &'static str {
    match role {
        TeamRole::Member => "member",
        TeamRole::LeadProfessional => "lead professional",
        TeamRole::NamedPerson => "named person",
    }
}

/// Who leads, who is the named person, and who is on the team, for a
/// child's page.
pub(crate) type TeamOnPage = (Option<String>, Option<String>, Vec<crate::index::TeamLine>);

impl Client {
    /// The team as a child's page shows it: the directory's (the server's
    /// word, changed by team changes), job titles from the plan where it
    /// names the person. `plan` is what the plan says, used when the
    /// directory holds no team for the child.
    pub(crate) fn team_on_page(&self, child: ChildId, plan: TeamOnPage) -> TeamOnPage {
        let Some(team) = self.dir.teams.get(&child) else {
            return plan;
        };
        let (_, _, plan_lines) = &plan;
        let holder = |role: TeamRole| {
            team.members
                .iter()
                .find(|(_, m)| m.role == role)
                .map(|(p, _)| self.dir.name_of(*p))
        };
        let lines = team
            .members
            .iter()
            .map(|(person, m)| crate::index::TeamLine {
                person: *person,
                name: self.dir.name_of(*person),
                agency: m.agency,
                role_title: plan_lines
                    .iter()
                    .find(|l| l.person == *person)
                    .map(|l| l.role_title.clone())
                    .or_else(|| self.dir.people.get(person).map(|i| i.role_title.clone()))
                    .unwrap_or_default(),
            })
            .collect();
        (
            holder(TeamRole::LeadProfessional),
            holder(TeamRole::NamedPerson),
            lines,
        )
    }

    /// `child`'s team, the changes made here that wait for the server, and
    /// whom the team could be given.
    pub fn team_view(&self, child: ChildId) -> Result<TeamView, ServiceError> {
        let team = self.team(child)?;
        let mut members: Vec<TeamMemberLine> = team
            .members
            .iter()
            .map(|(person, m)| TeamMemberLine {
                person: *person,
                name: self.dir.name_of(*person),
                agency: m.agency,
                role: m.role,
            })
            .collect();
        // The lead professional first, then the named person, then by name.
        members.sort_by_key(|m| {
            let rank = match m.role {
                TeamRole::LeadProfessional => 0,
                TeamRole::NamedPerson => 1,
                TeamRole::Member => 2,
            };
            (rank, m.name.clone())
        });
        let mut others: Vec<PersonChoice> = self
            .dir
            .people
            .iter()
            .filter(|(p, _)| !team.members.contains_key(p))
            .filter_map(|(p, info)| {
                info.agency.map(|agency| PersonChoice {
                    person: *p,
                    name: info.name.clone(),
                    agency,
                })
            })
            .collect();
        others.sort_by(|a, b| a.name.cmp(&b.name));
        let mut pending = Vec::new();
        let mut refused = Vec::new();
        for row in self.store.team_changes(None)? {
            if row.child_id != child.to_string() || row.status == queue::APPLIED {
                continue;
            }
            let Ok(change) = serde_json::from_slice::<TeamChange>(&row.body) else {
                continue;
            };
            let line = TeamChangeLine {
                id: change.id,
                words: self.team_change_words(&change),
                rule: row.rule.clone(),
                why: row.detail.clone(),
            };
            if row.status == queue::REFUSED {
                refused.push(line);
            } else {
                pending.push(line);
            }
        }
        Ok(TeamView {
            child,
            members,
            can_change: self.dir.me.principal().may_change_team(team),
            pending,
            refused,
            others,
        })
    }

    /// A team change in a sentence.
    pub fn team_change_words(&self, change: &TeamChange) -> String {
        match &change.action {
            TeamAction::Add { person, role } => {
                let who = self.name_and_agency(*person);
                match role {
                    TeamRole::Member => format!("Add {who} as a member"),
                    other => format!("Hand the {} role to {who}", role_words(*other)),
                }
            }
            TeamAction::End { person, on, reason } => format!(
                "End {}'s membership on {on}: {}",
                self.dir.name_of(*person),
                reason.trim()
            ),
        }
    }

    fn name_and_agency(&self, person: PersonId) -> String {
        match self.dir.agency_of(person) {
            Some(a) => format!("{} ({})", self.dir.name_of(person), a.label()),
            None => self.dir.name_of(person),
        }
    }

    /// Put `person` on `child`'s team with `role` (a lead professional or
    /// named person role is handed over: its holder stays a member). Kept
    /// here until the next sync; the server applies it if you may then.
    pub fn add_to_team(
        &mut self,
        child: ChildId,
        person: PersonId,
        role: TeamRole,
    ) -> Result<TeamChange, ServiceError> {
        self.queue_team_change(child, TeamAction::Add { person, role })
    }

    /// End `person`'s membership of `child`'s team on `on`, for `reason`.
    pub fn end_membership(
        &mut self,
        child: ChildId,
        person: PersonId,
        on: IsoDate,
        reason: &str,
    ) -> Result<TeamChange, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::bad("reason", "say why the membership ends"));
        }
        if on > IsoDate::today() {
            return Err(ServiceError::bad("date", "the day cannot be in the future"));
        }
        self.queue_team_change(
            child,
            TeamAction::End {
                person,
                on,
                reason: reason.trim().to_owned(),
            },
        )
    }

    fn queue_team_change(
        &mut self,
        child: ChildId,
        action: TeamAction,
    ) -> Result<TeamChange, ServiceError> {
        let team = self.team(child)?;
        let me = self.dir.me.principal();
        let joiner = if action.person() == me.person {
            me.agency
        } else {
            self.dir.agency_of(action.person())
        };
        check_team_change(&me, team, &action, joiner, IsoDate::today()).map_err(|rule| {
            ServiceError::Denied(Denied {
                person: me.person,
                key: DocKey::Plan(child),
                access: Access::Write,
                rule,
            })
        })?;
        let change = TeamChange {
            id: ItemId::random(),
            child,
            action,
        };
        let body = serde_json::to_vec(&change).map_err(ServiceError::Directory)?;
        self.store
            .queue_team_change(&change.id.to_string(), &child.to_string(), &body)?;
        Ok(change)
    }

    /// Team changes made here that the server has not answered, oldest first.
    pub fn pending_team_changes(&self) -> Result<Vec<TeamChange>, ServiceError> {
        Ok(self
            .store
            .team_changes(Some(queue::PENDING))?
            .iter()
            .filter_map(|row| serde_json::from_slice(&row.body).ok())
            .collect())
    }

    /// Keep the server's answer to a team change.
    pub fn settle_team_change(&mut self, result: &TeamResult) -> Result<(), ServiceError> {
        let status = match result.status {
            TeamStatus::Applied => queue::APPLIED,
            TeamStatus::Refused => queue::REFUSED,
        };
        self.store.settle_team_change(
            &result.id.to_string(),
            status,
            result.rule.as_deref(),
            result.detail.as_deref(),
        )?;
        Ok(())
    }

    /// The person `spec` names: a person id, or the start of the name of
    /// exactly one person this device knows.
    pub fn find_person(&self, spec: &str) -> Result<PersonId, ServiceError> {
        if let Ok(id) = spec.trim().parse::<PersonId>() {
            return Ok(id);
        }
        let want = spec.trim().to_lowercase();
        let mut people: Vec<(PersonId, &str)> = self
            .dir
            .people
            .iter()
            .map(|(p, info)| (*p, info.name.as_str()))
            .collect();
        if !self.dir.people.contains_key(&self.dir.me.person) {
            people.push((self.dir.me.person, self.dir.me.name.as_str()));
        }
        let found: Vec<_> = people
            .into_iter()
            .filter(|(_, name)| !want.is_empty() && name.to_lowercase().starts_with(&want))
            .collect();
        match found.as_slice() {
            [(one, _)] => Ok(*one),
            [] => Err(ServiceError::not_found("person", spec.trim())),
            many => Err(ServiceError::bad(
                "person",
                format!(
                    "`{}` matches {} people ({}); use more of the name or the id",
                    spec.trim(),
                    many.len(),
                    many.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// Remove everything of `child` from this device (its person left the
    /// child's team): every document and its changes, sync states and
    /// index rows, drafts naming the child, refusals, meta keys and team
    /// changes; then checkpoint the journal so no page of them is left in
    /// it. Unsynced work was offered to the server first (the engine).
    pub fn forget_child(&mut self, child: ChildId) -> Result<(), ServiceError> {
        let keys: Vec<DocKey> = self
            .document_keys()?
            .into_iter()
            .filter(|k| k.child() == child)
            .collect();
        self.store.transaction(|t| {
            for key in &keys {
                tx::delete_document(t, &key.to_string())?;
                index::forget(t, key)?;
            }
            index::forget(t, &DocKey::Plan(child))?;
            queue::forget_child_rows(t, &child.to_string())?;
            Ok::<_, StoreError>(())
        })?;
        for key in &keys {
            self.docs.forget(key);
        }
        queue::checkpoint(&self.store)?;
        Ok(())
    }
}
