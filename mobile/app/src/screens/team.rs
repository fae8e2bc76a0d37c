//! A child's team (issue 15): who is on it, with agency and role, and for
//! the lead professional or a supervisor of the team the three changes
//! they can make offline: add someone, hand the lead professional or named
//! person role over, end someone's membership (date and reason). A change
//! waits on the device until the next sync (shown as waiting); the server
//! applies it if they may then, or refuses it, and the refusal says why.

use bothy_client::services::{TeamView, role_words};
use bothy_shared::docs::IsoDate;
use bothy_shared::ids::{ChildId, PersonId};
use bothy_shared::policy::TeamRole;
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Choice, Notice, TextArea, TextField};
use crate::core::use_client;
use crate::hooks::{use_child, use_team};
use crate::words;

/// A waiting change's note, a refused one's.
const WAITING: &str = "Waiting to sync";

fn person_options(view: &TeamView, members_too: bool) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "Choose someone".to_owned())];
    if members_too {
        out.extend(view.members.iter().map(|m| {
            (
                m.person.to_string(),
                format!("{} ({})", m.name, m.agency.label()),
            )
        }));
    }
    out.extend(view.others.iter().map(|p| {
        (
            p.person.to_string(),
            format!("{} ({})", p.name, p.agency.label()),
        )
    }));
    out
}

#[component]
pub fn TeamPage(child: ChildId) -> Element {
    let name = use_child(child).map(|c| c.name).unwrap_or_default();
    let view = match use_team(child) {
        Ok(v) => v,
        Err(e) => return rsx! { p { class: "notice problem", role: "alert", "{e}" } },
    };
    rsx! {
        h1 { "Team" }
        if !name.is_empty() { p { class: "meta", "The team around {name}" } }
        section { aria_labelledby: "team-members-heading",
            h2 { id: "team-members-heading", "Who is on the team" }
            ul { class: "team-members",
                for m in view.members.iter() {
                    li { key: "{m.person}",
                        strong { "{m.name}" }
                        ", {m.agency.label()}"
                        if m.role != TeamRole::Member { ": {role_words(m.role)}" }
                    }
                }
            }
        }
        if !view.pending.is_empty() {
            section { aria_labelledby: "team-pending-heading",
                h2 { id: "team-pending-heading", "{WAITING}" }
                ul {
                    for c in view.pending.iter() {
                        li { key: "{c.id}", class: "pending", "{c.words} " span { class: "meta", "(waiting to sync)" } }
                    }
                }
            }
        }
        if !view.refused.is_empty() {
            section { aria_labelledby: "team-refused-heading",
                h2 { id: "team-refused-heading", "Not applied by the server" }
                ul {
                    for c in view.refused.iter() {
                        li { key: "{c.id}",
                            "{c.words}. "
                            strong { "Why: " }
                            {c.why.clone().unwrap_or_default()}
                            if let Some(rule) = &c.rule { span { class: "meta", " ({rule})" } }
                        }
                    }
                }
            }
        }
        if view.can_change {
            AddSomeone { child, view: view.clone() }
            HandOver { child, view: view.clone() }
            EndMembership { child, view: view.clone() }
        } else {
            p { class: "meta", "Only the lead professional or a supervisor of the team can change who is on it." }
        }
        p { Link { class: "button", to: Route::Child { id: child }, "Back to the child's page" } }
    }
}

/// The person a form chose, or what to say when nobody was chosen.
fn chosen(spec: &str) -> Result<PersonId, String> {
    spec.parse::<PersonId>()
        .map_err(|_| "Choose someone first.".to_owned())
}

#[component]
fn AddSomeone(child: ChildId, view: TeamView) -> Element {
    let client = use_client();
    let mut person = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let save = move |e: FormEvent| {
        e.prevent_default();
        let outcome = chosen(&person.read()).and_then(|p| {
            client
                .write(|c| c.add_to_team(child, p, TeamRole::Member))
                .map_err(|e| format!("Not added: {e}"))
        });
        notice.set(Some(outcome.map(|_| {
            person.set(String::new());
            "Added. It is sent to the server at the next sync.".to_owned()
        })));
    };
    rsx! {
        form { class: "stack", aria_label: "Add to the team", onsubmit: save,
            h2 { id: "team-add-heading", "Add someone" }
            Choice {
                id: "team-add-person",
                label: "Who joins the team",
                value: person(),
                options: person_options(&view, false),
                onchange: move |v| person.set(v),
            }
            Notice { message: notice() }
            button { class: "primary", r#type: "submit", "Add to the team" }
        }
    }
}

#[component]
fn HandOver(child: ChildId, view: TeamView) -> Element {
    let client = use_client();
    let mut role = use_signal(|| TeamRole::LeadProfessional.as_str().to_owned());
    let mut person = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let save = move |e: FormEvent| {
        e.prevent_default();
        let r = TeamRole::from_slug(&role.read()).unwrap_or(TeamRole::LeadProfessional);
        let outcome = chosen(&person.read()).and_then(|p| {
            client
                .write(|c| c.add_to_team(child, p, r))
                .map_err(|e| format!("Not handed over: {e}"))
        });
        notice.set(Some(outcome.map(|_| {
            person.set(String::new());
            format!(
                "The {} role is handed over at the next sync.",
                role_words(r)
            )
        })));
    };
    let roles = [TeamRole::LeadProfessional, TeamRole::NamedPerson]
        .iter()
        .map(|r| (r.as_str().to_owned(), role_words(*r).to_owned()))
        .collect::<Vec<_>>();
    rsx! {
        form { class: "stack", aria_label: "Hand over the role", onsubmit: save,
            h2 { id: "team-handover-heading", "Hand over a role" }
            p { class: "hint", "Whoever has the role now stays on the team as a member." }
            Choice {
                id: "team-handover-role",
                label: "Which role",
                value: role(),
                options: roles,
                onchange: move |v| role.set(v),
            }
            Choice {
                id: "team-handover-person",
                label: "Who takes it on",
                value: person(),
                options: person_options(&view, true),
                onchange: move |v| person.set(v),
            }
            Notice { message: notice() }
            button { class: "primary", r#type: "submit", "Hand over the role" }
        }
    }
}

#[component]
fn EndMembership(child: ChildId, view: TeamView) -> Element {
    let client = use_client();
    let mut person = use_signal(String::new);
    let mut on = use_signal(|| IsoDate::today().to_string());
    let mut reason = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let save = move |e: FormEvent| {
        e.prevent_default();
        let outcome = chosen(&person.read())
            .and_then(|p| {
                let day: IsoDate = on
                    .read()
                    .parse()
                    .map_err(|_| "Give the day as a date.".to_owned())?;
                Ok((p, day))
            })
            .and_then(|(p, day)| {
                client
                    .write(|c| c.end_membership(child, p, day, &reason.read()))
                    .map(|_| day)
                    .map_err(|e| format!("Not ended: {e}"))
            });
        notice.set(Some(outcome.map(|day| {
            person.set(String::new());
            reason.set(String::new());
            format!(
                "The membership ends on {} once the server has it (next sync).",
                words::date(day)
            )
        })));
    };
    // Role holders hand their role over first: only members are listed.
    let mut members = vec![(String::new(), "Choose someone".to_owned())];
    members.extend(
        view.members
            .iter()
            .filter(|m| m.role == TeamRole::Member)
            .map(|m| {
                (
                    m.person.to_string(),
                    format!("{} ({})", m.name, m.agency.label()),
                )
            }),
    );
    rsx! {
        form { class: "stack", aria_label: "End the membership", onsubmit: save,
            h2 { id: "team-end-heading", "End a membership" }
            p { class: "hint", "Their phone offers any work not yet synced to their supervisor, then removes this child." }
            Choice {
                id: "team-end-person",
                label: "Whose membership ends",
                value: person(),
                options: members,
                onchange: move |v| person.set(v),
            }
            TextField {
                id: "team-end-date",
                label: "The day it ends",
                kind: "date".to_owned(),
                value: on(),
                oninput: move |v| on.set(v),
            }
            TextArea {
                id: "team-end-reason",
                label: "Why it ends",
                hint: "The team and the audit keep this".to_owned(),
                value: reason(),
                oninput: move |v| reason.set(v),
            }
            Notice { message: notice() }
            button { class: "primary", r#type: "submit", "End the membership" }
        }
    }
}
