//! "Moving on": the plan's transition section for a young person heading
//! for adult services (from 15). The team says whether a transition is
//! needed, ticks the adult services who will help, writes the plan and the
//! date it starts by; saved as one change through the client core, offline.

use bothy_client::services::{ChildOverview, TransitionInput, TransitionView};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{Agency, ChildId};
use dioxus::prelude::*;

use super::assessment::{child_or_alert, typed_date};
use crate::app::Route;
use crate::components::{CheckBox, Notice, TextArea, TextField, WhoWillSee};
use crate::core::use_client;
use crate::words;

/// The transition section of a child's plan, editable by the team.
#[component]
pub fn MovingOn(child: ChildId) -> Element {
    match child_or_alert("Moving on", child) {
        Ok(overview) => rsx! { MovingOnForm { child, overview } },
        Err(page) => page,
    }
}

/// The services offered as tick boxes: the adult services, and any other
/// agency the plan already names (so saving never drops it).
fn service_choices(now: Option<&TransitionView>) -> Vec<Agency> {
    let mut choices = Agency::ADULT_SERVICES.to_vec();
    for a in now.map(|t| t.services.as_slice()).unwrap_or_default() {
        if !choices.contains(a) {
            choices.push(*a);
        }
    }
    choices
}

#[component]
fn MovingOnForm(child: ChildId, overview: ChildOverview) -> Element {
    let client = use_client();
    let now = overview.transition.clone();
    let choices = service_choices(now.as_ref());
    let mut needed = use_signal(|| now.as_ref().map(|t| t.needed));
    let mut services = use_signal(|| now.as_ref().map(|t| t.services.clone()).unwrap_or_default());
    let mut plan = use_signal(|| now.as_ref().map(|t| t.plan.clone()).unwrap_or_default());
    let mut start_by = use_signal(|| {
        now.as_ref()
            .and_then(|t| t.start_by)
            .map(|d| d.to_string())
            .unwrap_or_default()
    });
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let withheld = overview.withholds("transition");
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let Some(is_needed) = needed() else {
            notice.set(Some(Err(
                "Not saved: say whether a transition is needed.".to_owned()
            )));
            return;
        };
        let start = match typed_date(&start_by.read()) {
            Ok(d) => d,
            Err(why) => {
                notice.set(Some(Err(format!("Not saved: start by: {why}."))));
                return;
            }
        };
        let input = TransitionInput {
            needed: is_needed,
            services: services.read().clone(),
            plan: plan.read().clone(),
            start_by: start,
        };
        match client.write(|c| c.set_transition(child, &input)) {
            Ok(()) => {
                navigator().push(Route::Child { id: child });
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        h1 { "Moving on" }
        p { class: "meta",
            "{overview.name}"
            if let Some(age) = overview.age { ", age {age}" }
            ". Planning the move to adult services, from age 15."
        }
        if let Some(t) = &now {
            if let (Some(name), Some(at)) = (&t.recorded_by_name, t.recorded_at) {
                p { class: "meta", id: "moving-on-recorded", "Last recorded by {name}, {words::date_time(at)}." }
            }
        }
        if !overview.can_edit_plan {
            p { class: "notice", role: "note", "Only the child's team can change this part of the plan." }
        } else {
            WhoWillSee { doc: DocKey::Plan(child), withheld }
            form { class: "stack", aria_label: "Moving on", onsubmit: submit,
                fieldset {
                    legend { "Is a transition to adult services needed?" }
                    for (value, label, answer) in [("yes", "Yes", true), ("no", "No", false)] {
                        div { class: "check", key: "{value}",
                            input {
                                id: "transition-needed-{value}",
                                name: "transition-needed",
                                r#type: "radio",
                                value: "{value}",
                                checked: needed() == Some(answer),
                                onchange: move |_| needed.set(Some(answer)),
                            }
                            label { r#for: "transition-needed-{value}", "{label}" }
                        }
                    }
                }
                fieldset {
                    legend { "Adult services who will help" }
                    for a in choices {
                        CheckBox {
                            key: "{a.as_str()}",
                            id: "transition-service-{a.as_str()}",
                            label: a.label().to_owned(),
                            checked: services.read().contains(&a),
                            onchange: move |on: bool| {
                                let mut list = services.write();
                                list.retain(|x| *x != a);
                                if on {
                                    list.push(a);
                                }
                            },
                        }
                    }
                }
                TextArea {
                    id: "transition-plan",
                    label: "The plan",
                    hint: "What will happen, who does what, in plain words".to_owned(),
                    value: plan(),
                    oninput: move |v| plan.set(v),
                }
                TextField {
                    id: "transition-start-by",
                    label: "Start by",
                    kind: "date",
                    hint: "The date it starts by; optional".to_owned(),
                    value: start_by(),
                    oninput: move |v| start_by.set(v),
                }
                Notice { message: notice() }
                div { class: "actions",
                    button { class: "primary", r#type: "submit", "Save" }
                    Link { class: "button", to: Route::Child { id: child }, "Cancel" }
                }
            }
        }
    }
}

/// The transition section on the child's page: what it says, the flag when
/// a young person of 15 or over has none, and the way to the form.
#[component]
pub(crate) fn MovingOnSection(overview: ChildOverview) -> Element {
    let id = overview.child;
    rsx! {
        section { aria_labelledby: "moving-on-heading",
            h2 { id: "moving-on-heading", "Moving on" }
            if overview.no_transition_plan {
                p { class: "flag transition", id: "no-transition-plan",
                    "No transition plan yet: {overview.name} is 15 or over."
                }
            }
            match &overview.transition {
                None => rsx! { p { "Not recorded yet." } },
                Some(t) if !t.needed => rsx! { p { "No transition to adult services is needed." } },
                Some(t) => rsx! {
                    p { "A transition to adult services is needed." }
                    dl {
                        dt { "Who will help" }
                        dd { {who_will_help(t)} }
                        dt { "The plan" }
                        dd { if t.plan.trim().is_empty() { "Not written yet." } else { "{t.plan}" } }
                        dt { "Start by" }
                        dd { {words::maybe_date(t.start_by)} }
                    }
                },
            }
            if overview.can_edit_plan {
                p { Link { class: "button", to: Route::MovingOn { child: id }, "Edit moving on" } }
            }
        }
    }
}

fn who_will_help(t: &TransitionView) -> String {
    let who = t.who_will_help();
    if who.is_empty() {
        "Not named yet.".to_owned()
    } else {
        who.join(", ")
    }
}
