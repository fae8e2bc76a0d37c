//! A child's page: the plan, the wellbeing wheel, recent visits and the chronology.

use bothy_client::services::{ChildOverview, ChronologyItem};
use bothy_shared::docs::Impact;
use bothy_shared::ids::{Agency, ChildId};
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Choice, WellbeingWheel};
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
        }
        section { aria_labelledby: "plan-heading",
            h2 { id: "plan-heading", "Child's plan" }
            h3 { "Why there is a plan" }
            p { "{child.reason}" }
            if !child.legal_status.is_empty() {
                p { "Legal status: {child.legal_status}" }
            }
            p { "Review date: {words::maybe_date(child.review_date)}" }
        }
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
        }
        section { aria_labelledby: "wellbeing-heading",
            h2 { id: "wellbeing-heading", "Wellbeing indicators" }
            WellbeingWheel { lines: child.wellbeing.clone() }
        }
        section { aria_labelledby: "needs-heading",
            h2 { id: "needs-heading", "Needs and actions" }
            if child.needs.is_empty() { p { "No needs recorded yet." } }
            for need in child.needs.iter() {
                article { class: "need", key: "{need.id}",
                    h3 { "{need.need}" }
                    if !need.desired_outcome.is_empty() { p { "Outcome: {need.desired_outcome}" } }
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

fn impact_word(i: Impact) -> &'static str {
    match i {
        Impact::Positive => "Positive",
        Impact::Negative => "Negative",
        Impact::Mixed => "Mixed",
        Impact::NotKnown => "Not known",
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

#[component]
fn ChronologyRow(item: ChronologyItem) -> Element {
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
                "Impact on the child: {impact_word(item.impact)}"
                if !item.impact_note.is_empty() { ". {item.impact_note}" }
            }
            if !item.action.is_empty() { p { class: "meta", "Action: {item.action}" } }
        }
    }
}
