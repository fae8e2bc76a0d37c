//! "My plan": the young person's own plan in plain words, and "What I think".
//!
//! Only ever shows what `Client::my_plan` returns, which leaves out every
//! part the team has held back. Words here are for a young person: never
//! "case" or "subject".

use bothy_client::services::{MyPlan as MyPlanModel, PRIVATE_FOR_NOW, my_plan_words as say};
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Choice, ExportMyPlan, Notice, TextArea};
use crate::core::{ViewError, use_client};
use crate::hooks::use_my_plan;
use crate::words;

#[component]
pub fn MyPlan() -> Element {
    match use_my_plan() {
        Err(ViewError::NotSyncedYet) => rsx! {
            h1 { "My plan" }
            p { class: "notice", role: "status",
                "Your plan has not reached this phone yet. When you are online, open Sync and press Sync now."
            }
            p { Link { class: "button primary", to: Route::SyncScreen {}, "Sync" } }
        },
        Err(e) => rsx! {
            h1 { "My plan" }
            p { class: "notice problem", role: "alert", "{e}" }
        },
        Ok(plan) => rsx! { MyPlanPage { plan } },
    }
}

#[component]
fn MyPlanPage(plan: MyPlanModel) -> Element {
    rsx! {
        h1 { "My plan" }
        p { class: "lead", {say::hello(&plan.name)} }
        if plan.some_private {
            p { class: "notice", role: "note", id: "private-for-now", "{PRIVATE_FOR_NOW}" }
        }
        if !plan.why.is_empty() {
            section { aria_labelledby: "why-heading",
                h2 { id: "why-heading", {say::WHY} }
                p { "{plan.why}" }
            }
        }
        section { aria_labelledby: "team-heading",
            h2 { id: "team-heading", {say::MY_TEAM} }
            ul {
                for member in plan.my_team.iter() {
                    li {
                        "{member.name}, {member.role}"
                        if member.is_lead { {say::BRINGS_TEAM_TOGETHER} }
                    }
                }
            }
        }
        section { aria_labelledby: "how-heading",
            h2 { id: "how-heading", {say::HOW_THINGS_ARE} }
            ul {
                for line in plan.how_things_are.iter() {
                    li {
                        strong { "{line.label}" }
                        if let Some(now) = line.now { " — {now} out of 10" }
                        if !line.going_well.is_empty() { p { "Going well: {line.going_well}" } }
                        if !line.worries.is_empty() { p { "Worries: {line.worries}" } }
                    }
                }
            }
        }
        section { aria_labelledby: "next-heading",
            h2 { id: "next-heading", {say::WHAT_HAPPENS_NEXT} }
            if plan.what_happens_next.is_empty() { p { {say::NOTHING_PLANNED} } }
            ul {
                for step in plan.what_happens_next.iter() {
                    li {
                        p { strong { "{step.what}" } }
                        p { class: "meta",
                            "Who: {step.who}. "
                            if let Some(by) = step.by_when { "By {words::date(by)}. " }
                            "{step.status}"
                        }
                    }
                }
            }
            if let Some(review) = plan.next_review {
                p { "Your team will look at your plan together again on {words::date(review)}." }
            }
        }
        if let Some(met) = &plan.last_review {
            section { aria_labelledby: "met-heading",
                h2 { id: "met-heading", {say::LAST_MET} }
                p { id: "we-met", "We met on {words::date(met.met_on)}." }
                if !met.what_changed.is_empty() {
                    p { "What changed: {met.what_changed}" }
                }
                if !met.what_i_said.is_empty() {
                    p { id: "what-i-said", "What I said: {met.what_i_said}" }
                }
                if let Some(next) = plan.next_review {
                    p { "Next time we meet: {words::date(next)}." }
                }
            }
        }
        if let Some(moving) = &plan.moving_on {
            section { aria_labelledby: "moving-on-heading", id: "moving-on",
                h2 { id: "moving-on-heading", {say::MOVING_ON} }
                p {
                    "Getting ready for when you are older: "
                    if moving.plan.is_empty() { "your team will plan this with you." } else { "{moving.plan}" }
                }
                if !moving.who_will_help.is_empty() {
                    p { "Who will help: " {moving.who_will_help.join(", ")} }
                }
                if let Some(by) = moving.starting_by {
                    p { "Starting by: {words::date(by)}" }
                }
            }
        }
        section { aria_labelledby: "think-heading",
            h2 { id: "think-heading", {say::WHAT_I_THINK} }
            ul {
                for view in plan.what_i_think.iter() {
                    li { key: "{view.id}",
                        p { "“{view.words}”" }
                        p { class: "meta", "{words::date_time(view.at)}" }
                    }
                }
            }
            WhatIThinkForm { plan: plan.clone() }
        }
        ExportMyPlan {}
    }
}

#[component]
fn WhatIThinkForm(plan: MyPlanModel) -> Element {
    let client = use_client();
    let mut about = use_signal(|| "overall".to_owned());
    let mut words_typed = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let mut parts = vec![("overall".to_owned(), "My plan as a whole".to_owned())];
    for step in &plan.what_happens_next {
        if !parts.iter().any(|(a, _)| *a == step.about) {
            parts.push((step.about.clone(), step.what.clone()));
        }
    }
    for line in &plan.how_things_are {
        parts.push((
            line.about.clone(),
            format!("Feeling {}", line.label.to_lowercase()),
        ));
    }
    if plan.moving_on.is_some() {
        parts.push(("transition".to_owned(), "Moving on".to_owned()));
    }
    let add = move |e: FormEvent| {
        e.prevent_default();
        match client.write(|c| c.add_what_i_think(&about.read(), &words_typed.read())) {
            Ok(_) => {
                words_typed.set(String::new());
                notice.set(Some(Ok(
                    "Added. Your team will see it next time you connect.".to_owned(),
                )));
            }
            Err(e) => notice.set(Some(Err(format!("Not added: {e}")))),
        }
    };
    rsx! {
        form { class: "stack", aria_label: "Add what I think", onsubmit: add,
            Choice {
                id: "think-about",
                label: "What is it about?",
                value: about(),
                options: parts,
                onchange: move |v| about.set(v),
            }
            TextArea {
                id: "think-words",
                label: "What I think",
                hint: "Say it your way. Your team will read it.".to_owned(),
                value: words_typed(),
                oninput: move |v| words_typed.set(v),
            }
            Notice { message: notice() }
            button { class: "primary", r#type: "submit", "Add what I think" }
        }
    }
}
