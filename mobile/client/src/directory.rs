//! Who is using this device, and the part of the partnership's directory the
//! device needs to apply the shared policy offline: the teams of the children
//! it holds, and the names behind person and device ids.
//!
//! The server sends it at enrolment and with every sync; the offline demo
//! builds it from [`bothy_shared::demo`]. Stored in the encrypted store.

use std::collections::{BTreeMap, BTreeSet};

use bothy_shared::demo::Demo;
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{ChildTeam, PersonKind, Principal};
use serde::{Deserialize, Serialize};

/// The person using this device, and the device itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub person: PersonId,
    pub name: String,
    pub agency: Option<Agency>,
    pub kind: PersonKind,
    pub role_title: String,
    pub device: DeviceId,
    pub supervises: BTreeSet<PersonId>,
    /// On their agency's duty team: receives its requests for help.
    #[serde(default)]
    pub duty: bool,
}

impl Me {
    /// The principal the shared policy is asked about.
    pub fn principal(&self) -> Principal {
        Principal {
            person: self.person,
            agency: self.agency,
            kind: self.kind,
            device: self.device,
            device_revoked: false,
            supervises: self.supervises.clone(),
        }
    }

    pub fn is_young_person(&self) -> bool {
        matches!(self.kind, PersonKind::YoungPerson { .. })
    }

    pub fn is_supervisor(&self) -> bool {
        matches!(self.kind, PersonKind::Supervisor) || !self.supervises.is_empty()
    }
}

/// What the device knows about another person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonInfo {
    pub name: String,
    pub agency: Option<Agency>,
    pub role_title: String,
}

/// The directory as this device holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub me: Me,
    pub people: BTreeMap<PersonId, PersonInfo>,
    /// Which person each known device belongs to (to say who made a change).
    pub devices: BTreeMap<DeviceId, PersonId>,
    pub teams: BTreeMap<ChildId, ChildTeam>,
}

impl Directory {
    /// The demo partnership as seen by the person whose name starts with
    /// `name`, using `device`. Only the teams they may read are kept.
    pub fn from_demo(demo: &Demo, name: &str, device: DeviceId) -> Option<Directory> {
        let p = demo
            .people
            .iter()
            .find(|p| p.name.to_lowercase().starts_with(&name.to_lowercase()))?;
        let me = Me {
            person: p.id,
            name: p.name.clone(),
            agency: p.agency,
            kind: p.kind,
            role_title: p.role_title.clone(),
            device,
            supervises: p.supervises.iter().copied().collect(),
            duty: p.on_duty(),
        };
        let principal = me.principal();
        let teams = demo
            .children
            .iter()
            .filter(|c| {
                !bothy_shared::policy::AccessPolicy::readable(&principal, &c.team).is_empty()
            })
            .map(|c| (c.id, c.team.clone()))
            .collect();
        let people = demo
            .people
            .iter()
            .map(|p| {
                (
                    p.id,
                    PersonInfo {
                        name: p.name.clone(),
                        agency: p.agency,
                        role_title: p.role_title.clone(),
                    },
                )
            })
            .collect();
        let devices = [(device, p.id)].into_iter().collect();
        Some(Directory {
            me,
            people,
            devices,
            teams,
        })
    }

    /// The name to show for a person.
    pub fn name_of(&self, person: PersonId) -> String {
        if person == self.me.person {
            return self.me.name.clone();
        }
        self.people
            .get(&person)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "someone outside the team".to_owned())
    }

    pub fn agency_of(&self, person: PersonId) -> Option<Agency> {
        if person == self.me.person {
            return self.me.agency;
        }
        self.people.get(&person).and_then(|p| p.agency)
    }

    /// Who made a change, from its Automerge actor.
    pub fn person_for_actor(&self, actor: &automerge::ActorId) -> Option<PersonId> {
        let device = DeviceId::from_actor(actor)?;
        if device == self.me.device {
            return Some(self.me.person);
        }
        self.devices.get(&device).copied()
    }
}
