//! A child's page: the plan, the wellbeing wheel, recent visits and the chronology.

use bothy_client::services::{ChildOverview, ChronologyItem};
use bothy_shared::ids::{Agency, ChildId};
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Choice, ExportPlan, Notice, TextArea, WellbeingWheel};
use crate::core::use_client;
use crate::hooks::{use_child, use_chronology};
use crate::words;

#[component]
pub fn Child(id: ChildId) -> Element {
    match use_child(id) {
        Err(e) => rsx! {
            h1 { "Child" }
            p { class: "notice problem", role: "alert", "{e}" }
        },
        Ok(child) => rsx! { ChildPage { child } },
    }
}

#[component]
fn ChildPage(child: ChildOverview) -> Element {
    let id = child.child;
    rsx! {
        h1 { "{child.name}" }
        p { class: "meta",
            if !child.preferred_name.is_empty() && child.preferred_name != child.name {
                "Likes to be called {child.preferred_name}. "
            }
            if let Some(age) = child.age { "Age {age}. " }
            if !child.pronouns.is_empty() { "Pronouns: {child.pronouns}." }
        }
        if !child.communication_needs.is_empty() {
            p { class: "meta", "Communication needs: {child.communication_needs}" }
        }
        p { class: "actions",
            Link { class: "button primary", to: Route::RecordVisit { child: id }, "Record a visit" }
            Link { class: "button", to: Route::FamilyVoice { child: id }, "Family voice" }
            Link { class: "button", to: Route::FamilyVoiceGathered { child: id }, "What the child and family said" }
            Link { class: "button", to: Route::ChronologyPage { child: id }, "Chronology" }
            Link { class: "button", to: Route::AskForHelpAbout { child: id }, "Ask for help" }
        }
        super::conflicts::ConflictList {
            child: id,
            conflicts: child.conflicts.clone(),
            heading: "Open conflicts".to_owned(),
        }
        super::refused::ChildNotAccepted { child: id }
        section { aria_labelledby: "plan-heading",
            h2 { id: "plan-heading", "Child's plan" }
            h3 { "Why there is a plan" }
            p { "{child.reason}" }
            if !child.legal_status.is_empty() {
                p { "Legal status: {child.legal_status}" }
            }
            p { "Review date: {words::maybe_date(child.review_date)}" }
            if let Some(last) = &child.last_review {
                p { id: "last-review",
                    "Last review: {words::date(last.held_on)}."
                    if !last.plan_changes.is_empty() { " What changed: {last.plan_changes}" }
                }
            }
            if child.can_edit_plan {
                p { Link { class: "button", to: Route::PlanReview { child: id }, "Review the plan" } }
            }
        }
        ExportPlan { child: id }
        section { aria_labelledby: "team-heading",
            h2 { id: "team-heading", "Team" }
            dl {
                dt { "Lead professional" }
                dd { {child.lead_professional.clone().unwrap_or_else(|| "not named".into())} }
                dt { "Named person" }
                dd { {child.named_person.clone().unwrap_or_else(|| "not named".into())} }
            }
            ul {
                for member in child.team.iter() {
                    li { "{member.name}, {member.role_title} ({member.agency.label()})" }
                }
            }
            p { Link { class: "button", to: Route::TeamPage { child: id }, "Team: who is on it, and changes" } }
        }
        section { aria_labelledby: "wellbeing-heading",
            h2 { id: "wellbeing-heading", "Wellbeing indicators" }
            WellbeingWheel { lines: child.wellbeing.clone() }
            if child.can_edit_plan {
                p { Link { class: "button", to: Route::AssessWellbeing { child: id }, "Assess wellbeing" } }
            }
        }
        section { aria_labelledby: "my-world-heading",
            h2 { id: "my-world-heading", "My World Triangle" }
            dl {
                dt { "How I grow and develop" }
                dd { "{child.my_world[0]}" }
                dt { "What I need from the people who look after me" }
                dd { "{child.my_world[1]}" }
                dt { "My wider world" }
                dd { "{child.my_world[2]}" }
            }
            if child.can_edit_plan {
                p { Link { class: "button", to: Route::MyWorldEdit { child: id }, "Edit My World" } }
            }
        }
        super::moving_on::MovingOnSection { overview: child.clone() }
        section { aria_labelledby: "needs-heading",
            h2 { id: "needs-heading", "Needs and actions" }
            if child.needs.is_empty() { p { "No needs recorded yet." } }
            if child.can_edit_plan {
                p { Link { class: "button", to: Route::AddNeed { child: id }, "Add a need" } }
            }
            for need in child.needs.iter().filter(|n| n.closed.is_none()) {
                article { class: "need", key: "{need.id}",
                    h3 { "{need.need}" }
                    if !need.desired_outcome.is_empty() { p { "Outcome: {need.desired_outcome}" } }
                    if !need.indicators.is_empty() {
                        p { class: "meta",
                            "About: "
                            {need.indicators.iter().map(|i| i.label()).collect::<Vec<_>>().join(", ")}
                        }
                    }
                    if child.can_edit_plan {
                        p {
                            Link {
                                class: "button small",
                                to: Route::EditNeed { child: id, need: need.id },
                                aria_label: "Edit or close: {need.need}",
                                "Edit or close"
                            }
                        }
                    }
                    ul {
                        for action in need.actions.iter() {
                            li { key: "{action.id}", class: "action",
                                span { class: "status status-{action.status.as_str()}", "{action.status.label()}" }
                                " {action.what}"
                                if let Some(owner) = &action.owner {
                                    " — {owner}"
                                    if let Some(a) = action.owner_agency { " ({a.label()})" }
                                }
                                if let Some(due) = action.due { ", by {words::date(due)}" }
                                if !action.progress.is_empty() {
                                    p { class: "meta", "Progress: {action.progress}" }
                                }
                                if child.can_edit_plan {
                                    p {
                                        Link {
                                            class: "button small",
                                            to: Route::EditAction { child: id, action: action.id },
                                            aria_label: "Update: {action.what}",
                                            "Update"
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if child.can_edit_plan {
                        p {
                            Link {
                                class: "button",
                                to: Route::AddAction { child: id, need: need.id },
                                aria_label: "Add an action for: {need.need}",
                                "Add an action"
                            }
                        }
                    }
                }
            }
            if child.needs.iter().any(|n| n.closed.is_some()) {
                h3 { "Closed needs" }
                ul { class: "closed-needs",
                    for need in child.needs.iter().filter(|n| n.closed.is_some()) {
                        li { key: "{need.id}",
                            "{need.need}"
                            if let Some(c) = &need.closed {
                                p { class: "meta", "Closed by {c.by_name}: {c.reason}" }
                            }
                            if child.can_edit_plan {
                                Link {
                                    to: Route::EditNeed { child: id, need: need.id },
                                    aria_label: "Open again: {need.need}",
                                    "Open again"
                                }
                            }
                        }
                    }
                }
            }
        }
        if !child.young_person_views.is_empty() || !child.family_views.is_empty() {
            section { aria_labelledby: "views-heading",
                h2 { id: "views-heading", "Views" }
                for view in child.young_person_views.iter().chain(child.family_views.iter()) {
                    blockquote { key: "{view.id}",
                        p { "“{view.words}”" }
                        footer { "{view.said_by}, {words::date_time(view.at)}" }
                    }
                }
            }
        }
        if child.can_withhold || !child.withheld_from_young_person.is_empty() {
            Withheld { child: child.clone() }
        }
        section { aria_labelledby: "visits-heading",
            h2 { id: "visits-heading", "Recent visits" }
            if child.recent_visits.is_empty() { p { "No visits recorded yet." } }
            ul { class: "visits",
                for visit in child.recent_visits.iter().take(10) {
                    li { key: "{visit.id}",
                        p {
                            Link { to: Route::VisitPage { child: id, visit: visit.id },
                                strong { "{visit.kind.label()}, {words::date_time(visit.at)}" }
                            }
                            " — {visit.practitioner} ({visit.agency.label()})"
                        }
                        p { class: "meta",
                            if visit.finalised { "Finalised" } else { "Draft" }
                            if visit.child_seen {
                                if visit.seen_alone { ". Child seen alone" } else { ". Child seen" }
                            } else {
                                ". Child not seen"
                            }
                        }
                        if !visit.observations.is_empty() { p { "{visit.observations}" } }
                    }
                }
            }
        }
        Chronology { id }
    }
}

/// The parts of the plan the young person's copy leaves out, and (for the
/// lead professional or a supervisor) the form to withhold one or lift it.
#[component]
fn Withheld(child: ChildOverview) -> Element {
    let client = use_client();
    let id = child.child;
    let mut section = use_signal(|| "wellbeing/safe".to_owned());
    let mut reason = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let mut parts: Vec<(String, String)> = child
        .wellbeing
        .iter()
        .map(|w| {
            (
                format!("wellbeing/{}", w.indicator.as_str()),
                format!("Wellbeing: {}", w.label),
            )
        })
        .collect();
    for need in &child.needs {
        parts.push((format!("need/{}", need.id), format!("Need: {}", need.need)));
    }
    for (value, label) in [
        ("my_world", "My World Triangle"),
        ("reason", "Why there is a plan"),
        ("legal_status", "Legal status"),
        ("transition", "Moving to adult services"),
        ("family_views", "The family's views"),
    ] {
        parts.push((value.to_owned(), label.to_owned()));
    }
    let label_of = {
        let parts = parts.clone();
        move |s: &str| {
            parts
                .iter()
                .find(|(v, _)| v == s)
                .map(|(_, l)| l.clone())
                .unwrap_or_else(|| s.to_owned())
        }
    };
    let writer = client.clone();
    let withhold = move |e: FormEvent| {
        e.prevent_default();
        match writer.write(|c| c.withhold(id, &section.read(), &reason.read())) {
            Ok(_) => {
                reason.set(String::new());
                notice.set(Some(Ok(
                    "Withheld. The young person's plan leaves it out after the next sync."
                        .to_owned(),
                )));
            }
            Err(e) => notice.set(Some(Err(format!("Not withheld: {e}")))),
        }
    };
    rsx! {
        section { aria_labelledby: "withheld-heading",
            h2 { id: "withheld-heading", "Withheld from the young person" }
            if child.withheld_from_young_person.is_empty() {
                p { "Nothing is withheld: the young person sees all of the plan." }
            }
            ul {
                for part in child.withheld_from_young_person.iter() {
                    li { key: "{part.id}",
                        strong { {label_of(&part.section)} }
                        if !part.reason.is_empty() { " — {part.reason}" }
                        if child.can_withhold {
                            {
                                let s = part.section.clone();
                                let name = label_of(&part.section);
                                let client = client.clone();
                                rsx! {
                                    button {
                                        class: "small",
                                        r#type: "button",
                                        aria_label: "Stop withholding: {name}",
                                        onclick: move |_| {
                                            match client.write(|c| c.unwithhold(id, &s)) {
                                                Ok(_) => notice.set(Some(Ok("No longer withheld.".to_owned()))),
                                                Err(e) => notice.set(Some(Err(format!("Not changed: {e}")))),
                                            }
                                        },
                                        "Stop withholding"
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if child.can_withhold {
                form { class: "stack", aria_label: "Withhold part of the plan", onsubmit: withhold,
                    Choice {
                        id: "withhold-section",
                        label: "Part of the plan",
                        value: section(),
                        options: parts.clone(),
                        onchange: move |v| section.set(v),
                    }
                    TextArea {
                        id: "withhold-reason",
                        label: "Why it is withheld",
                        hint: "The team sees this; the young person does not.".to_owned(),
                        value: reason(),
                        oninput: move |v| reason.set(v),
                    }
                    button { class: "primary", r#type: "submit", "Withhold" }
                }
            }
            Notice { message: notice() }
        }
    }
}

#[component]
fn Chronology(id: ChildId) -> Element {
    let mut agency = use_signal(|| None::<Agency>);
    let items = use_chronology(id, agency());
    let mut options = vec![(String::new(), "All agencies".to_owned())];
    options.extend(
        Agency::ALL
            .iter()
            .map(|a| (a.as_str().to_owned(), a.label().to_owned())),
    );
    rsx! {
        section { aria_labelledby: "chronology-heading",
            h2 { id: "chronology-heading", "Chronology" }
            Choice {
                id: "chronology-agency",
                label: "Show events from",
                value: agency().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                options,
                onchange: move |v: String| agency.set(v.parse().ok()),
            }
            match items {
                Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
                Ok(items) if items.is_empty() => rsx! { p { "No events from this agency." } },
                Ok(items) => rsx! {
                    ol { class: "chronology",
                        for item in items { ChronologyRow { key: "{item.id}", item } }
                    }
                },
            }
        }
    }
}

/// One chronology entry: when, which agency, what happened, its impact
/// and the action taken.
#[component]
pub(crate) fn ChronologyRow(item: ChronologyItem) -> Element {
    rsx! {
        li {
            p {
                strong {
                    "{words::date(item.date)}"
                    if let Some(until) = item.until { " to {words::date(until)}" }
                }
                " — {item.agency.label()}"
            }
            p { "{item.event}" }
            p { class: "meta",
                "Impact on the child: {item.impact.label()}"
                if !item.impact_note.is_empty() { ". {item.impact_note}" }
            }
            if !item.action.is_empty() { p { class: "meta", "Action: {item.action}" } }
        }
    }
}
