//! The server's [`DirectoryView`] as the device keeps it ([`Directory`]).

use std::collections::BTreeMap;

use bothy_shared::ids::{Agency, DeviceId};
use bothy_shared::policy::{ChildTeam, PersonKind, TeamMember, TeamRole};
use bothy_shared::wire::{DirectoryView, PersonKindView, PersonView, TeamRoleView};

use crate::directory::{Directory, Me, PersonInfo};
use crate::error::ServiceError;

fn role(role: TeamRoleView) -> TeamRole {
    match role {
        TeamRoleView::Member => TeamRole::Member,
        TeamRoleView::LeadProfessional => TeamRole::LeadProfessional,
        TeamRoleView::NamedPerson => TeamRole::NamedPerson,
    }
}

fn kind(p: &PersonView) -> Result<PersonKind, ServiceError> {
    Ok(match p.kind {
        PersonKindView::Practitioner => PersonKind::Practitioner,
        PersonKindView::Supervisor => PersonKind::Supervisor,
        PersonKindView::YoungPerson => PersonKind::YoungPerson {
            child: p.child.ok_or_else(|| {
                ServiceError::bad("directory", "the server named no child for a young person")
            })?,
        },
    })
}

/// The words a person is introduced by when the server gives no job title.
fn role_title(kind: PersonKindView, agency: Option<Agency>, role: Option<TeamRole>) -> String {
    match (kind, role) {
        (PersonKindView::YoungPerson, _) => "young person".to_owned(),
        (PersonKindView::Supervisor, _) => "supervisor".to_owned(),
        (_, Some(TeamRole::LeadProfessional)) => "lead professional".to_owned(),
        (_, Some(TeamRole::NamedPerson)) => "named person".to_owned(),
        _ => match agency {
            Some(a) => format!("{} practitioner", a.label().to_lowercase()),
            None => "practitioner".to_owned(),
        },
    }
}

/// Build the device's directory from the server's view, for `device`.
/// Job titles the device already knows (`previous`) are kept: the server's
/// view carries roles, not titles.
pub fn directory_from_view(
    view: &DirectoryView,
    device: DeviceId,
    previous: Option<&Directory>,
) -> Result<Directory, ServiceError> {
    let known_title = |person| {
        previous.and_then(|d| {
            if d.me.person == person {
                Some(d.me.role_title.clone())
            } else {
                d.people.get(&person).map(|p| p.role_title.clone())
            }
        })
    };
    let mut best_role: BTreeMap<_, TeamRole> = BTreeMap::new();
    for child in &view.children {
        for m in &child.team {
            let r = role(m.role);
            let entry = best_role.entry(m.person).or_insert(r);
            if matches!(r, TeamRole::LeadProfessional)
                || (matches!(r, TeamRole::NamedPerson) && matches!(*entry, TeamRole::Member))
            {
                *entry = r;
            }
        }
    }
    let me_view = &view.me;
    let me = Me {
        person: me_view.id,
        name: me_view.name.clone(),
        agency: me_view.agency,
        kind: kind(me_view)?,
        role_title: known_title(me_view.id).unwrap_or_else(|| {
            role_title(
                me_view.kind,
                me_view.agency,
                best_role.get(&me_view.id).copied(),
            )
        }),
        device,
        supervises: view.supervises.iter().map(|p| p.id).collect(),
        duty: me_view.duty,
    };
    let mut people = BTreeMap::new();
    for p in std::iter::once(me_view).chain(&view.supervises) {
        people.insert(
            p.id,
            PersonInfo {
                name: p.name.clone(),
                agency: p.agency,
                role_title: known_title(p.id)
                    .unwrap_or_else(|| role_title(p.kind, p.agency, best_role.get(&p.id).copied())),
            },
        );
    }
    let mut teams = BTreeMap::new();
    for child in &view.children {
        for m in &child.team {
            people.entry(m.person).or_insert_with(|| PersonInfo {
                name: m.name.clone(),
                agency: Some(m.agency),
                role_title: known_title(m.person).unwrap_or_else(|| {
                    role_title(
                        PersonKindView::Practitioner,
                        Some(m.agency),
                        best_role.get(&m.person).copied(),
                    )
                }),
            });
        }
        if let Some(yp) = child.young_person {
            people.entry(yp).or_insert_with(|| PersonInfo {
                name: child.name.clone(),
                agency: None,
                role_title: "young person".to_owned(),
            });
        }
        teams.insert(
            child.id,
            ChildTeam {
                child: child.id,
                members: child
                    .team
                    .iter()
                    .map(|m| {
                        (
                            m.person,
                            TeamMember {
                                agency: m.agency,
                                role: role(m.role),
                            },
                        )
                    })
                    .collect(),
                young_person: child.young_person,
                // The copy of the plan the server lists for this person (the
                // young person's own; nobody else is shown one).
                young_copy: child
                    .documents
                    .iter()
                    .filter_map(|k| match k {
                        bothy_shared::docs::DocKey::Young(_, n) => Some(*n),
                        _ => None,
                    })
                    .max(),
            },
        );
    }
    // Colleagues on no team this person reads: whom a team can be given.
    for c in &view.colleagues {
        people.entry(c.id).or_insert_with(|| PersonInfo {
            name: c.name.clone(),
            agency: c.agency,
            role_title: known_title(c.id).unwrap_or_else(|| role_title(c.kind, c.agency, None)),
        });
    }
    let mut devices: BTreeMap<DeviceId, _> =
        view.devices.iter().map(|d| (d.device, d.person)).collect();
    devices.insert(device, me.person);
    Ok(Directory {
        me,
        people,
        devices,
        teams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bothy_shared::docs::DocKey;
    use bothy_shared::ids::{ChildId, PersonId};
    use bothy_shared::wire::{ChildView, DeviceView, TeamMemberView};

    #[test]
    fn a_view_becomes_the_devices_directory_with_teams_and_devices() {
        let (me, other, child, device, other_device) = (
            PersonId::random(),
            PersonId::random(),
            ChildId::random(),
            DeviceId::random(),
            DeviceId::random(),
        );
        let view = DirectoryView {
            me: PersonView {
                id: me,
                name: "Morag".into(),
                kind: PersonKindView::Practitioner,
                agency: Some(Agency::SocialWork),
                child: None,
                duty: false,
            },
            supervises: vec![],
            children: vec![ChildView {
                id: child,
                name: "Kai".into(),
                documents: vec![DocKey::Plan(child)],
                team: vec![
                    TeamMemberView {
                        person: me,
                        name: "Morag".into(),
                        agency: Agency::SocialWork,
                        role: TeamRoleView::LeadProfessional,
                    },
                    TeamMemberView {
                        person: other,
                        name: "David".into(),
                        agency: Agency::Education,
                        role: TeamRoleView::Member,
                    },
                ],
                young_person: None,
            }],
            devices: vec![DeviceView {
                device: other_device,
                person: other,
            }],
            colleagues: vec![],
        };
        let dir = directory_from_view(&view, device, None).unwrap();
        assert_eq!(dir.me.device, device);
        assert_eq!(dir.me.role_title, "lead professional");
        assert_eq!(dir.teams[&child].members.len(), 2);
        assert_eq!(dir.devices[&other_device], other);
        assert_eq!(dir.devices[&device], me);
        assert_eq!(dir.name_of(other), "David");
    }
}
