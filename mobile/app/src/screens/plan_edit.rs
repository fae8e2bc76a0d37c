//! Changing the child's plan: an action's status and progress, and new
//! actions on a need. Every save is one change to the plan, merged with
//! other agencies' edits field by field when the device syncs.

use bothy_client::services::{ActionInput, ActionView, NeedView};
use bothy_shared::docs::{ActionStatus, DocKey, IsoDate};
use bothy_shared::ids::{ChildId, ItemId, PersonId};
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Choice, Notice, TextArea, TextField, WhoWillSee};
use crate::core::use_client;
use crate::hooks::{use_action, use_child};

#[component]
pub fn EditAction(child: ChildId, action: ItemId) -> Element {
    match use_action(child, action) {
        Err(e) => rsx! {
            h1 { "Update an action" }
            p { class: "notice problem", role: "alert", "{e}" }
        },
        Ok((need, action)) => rsx! { ActionForm { child, need, action } },
    }
}

#[component]
fn ActionForm(child: ChildId, need: NeedView, action: ActionView) -> Element {
    let client = use_client();
    let withheld = use_child(child).is_ok_and(|o| o.withholds(&format!("need/{}", need.id)));
    let mut status = use_signal(|| action.status);
    let mut progress = use_signal(|| action.progress.clone());
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let id = action.id;
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let (new_status, new_progress) = (status(), progress.read().clone());
        let result = client.write(|c| {
            c.set_action_status(child, id, new_status)?;
            c.update_action_progress(child, id, &new_progress)
        });
        match result {
            Ok(()) => {
                navigator().push(Route::Child { id: child });
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        h1 { "Update an action" }
        p { class: "meta", "Need: {need.need}" }
        p { strong { "{action.what}" } }
        if let Some(owner) = &action.owner { p { class: "meta", "Who: {owner}" } }
        form { class: "stack", aria_label: "Update the action", onsubmit: submit,
            fieldset {
                legend { "Where is it now?" }
                for s in ActionStatus::ALL {
                    div { class: "check", key: "{s.as_str()}",
                        input {
                            id: "status-{s.as_str()}",
                            name: "status",
                            r#type: "radio",
                            value: "{s.as_str()}",
                            checked: status() == s,
                            onchange: move |_| status.set(s),
                        }
                        label { r#for: "status-{s.as_str()}", "{s.label()}" }
                    }
                }
            }
            TextArea {
                id: "action-progress",
                label: "Progress",
                hint: "What has happened so far, in plain words".to_owned(),
                value: progress(),
                oninput: move |v| progress.set(v),
            }
            // An action is withheld with its need.
            WhoWillSee { doc: DocKey::Plan(child), withheld }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "submit", "Save" }
                Link { class: "button", to: Route::Child { id: child }, "Cancel" }
            }
        }
    }
}

#[component]
pub fn AddAction(child: ChildId, need: ItemId) -> Element {
    let client = use_client();
    let overview = use_child(child);
    let mut what = use_signal(String::new);
    let mut owner = use_signal(String::new);
    let mut due = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let (need_words, team) = match &overview {
        Ok(o) => (
            o.needs
                .iter()
                .find(|n| n.id == need)
                .map(|n| n.need.clone())
                .unwrap_or_default(),
            o.team.clone(),
        ),
        Err(_) => (String::new(), Vec::new()),
    };
    let mut owners = vec![(String::new(), "Not decided yet".to_owned())];
    owners.extend(team.iter().map(|m| {
        (
            m.person.to_string(),
            format!("{}, {} ({})", m.name, m.role_title, m.agency.label()),
        )
    }));
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let due_text = due.read().trim().to_owned();
        let due_date = if due_text.is_empty() {
            None
        } else {
            match due_text.parse::<IsoDate>() {
                Ok(d) => Some(d),
                Err(_) => {
                    notice.set(Some(Err(
                        "Not saved: write the date as year-month-day, for example 2026-12-24."
                            .to_owned(),
                    )));
                    return;
                }
            }
        };
        let input = ActionInput {
            what: what.read().clone(),
            owner: owner.read().parse::<PersonId>().ok(),
            due: due_date,
        };
        match client.write(|c| c.add_action(child, need, &input)) {
            Ok(_) => {
                navigator().push(Route::Child { id: child });
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        h1 { "Add an action" }
        if let Err(e) = &overview { p { class: "notice problem", role: "alert", "{e}" } }
        if !need_words.is_empty() { p { class: "meta", "Need: {need_words}" } }
        form { class: "stack", aria_label: "New action", onsubmit: submit,
            TextArea { id: "action-what", label: "What will be done", value: what(), oninput: move |v| what.set(v) }
            Choice {
                id: "action-owner",
                label: "Who will do it",
                value: owner(),
                options: owners,
                onchange: move |v| owner.set(v),
            }
            TextField {
                id: "action-due",
                label: "By when",
                kind: "date",
                hint: "Optional".to_owned(),
                value: due(),
                oninput: move |v| due.set(v),
            }
            WhoWillSee {
                doc: DocKey::Plan(child),
                withheld: overview.as_ref().is_ok_and(|o| o.withholds(&format!("need/{need}"))),
            }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "submit", "Add action" }
                Link { class: "button", to: Route::Child { id: child }, "Cancel" }
            }
        }
    }
}
