//! Supervision: what changed since my last review, field by field, with
//! countersigning, and what is overdue across the team.

use bothy_client::services::CaseloadEntry;
use bothy_shared::ids::ChildId;
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Notice, TextArea, TextField};
use crate::core::use_client;
use crate::hooks::{use_caseload, use_changes_since_review, use_overdue};
use crate::words;

#[component]
pub fn SupervisorFeed() -> Element {
    let overdue = use_overdue();
    let children = use_caseload("");
    rsx! {
        h1 { "Supervision" }
        section { aria_labelledby: "overdue-heading",
            h2 { id: "overdue-heading", "Overdue" }
            match overdue {
                Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
                Ok(list) if list.is_empty() => rsx! { p { "Nothing is overdue." } },
                Ok(list) => rsx! {
                    ul { class: "overdue",
                        for entry in list {
                            li { key: "{entry.child}",
                                Link { to: Route::Child { id: entry.child }, "{entry.name}" }
                                if entry.flags.visit_overdue { " — Visit overdue" }
                                if entry.flags.review_due { " — Review due {words::maybe_date(entry.review_date)}" }
                            }
                        }
                    }
                },
            }
        }
        match children {
            Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
            Ok(list) => rsx! {
                for entry in list {
                    ChildReview { key: "{entry.child}", entry }
                }
            },
        }
    }
}

#[component]
fn ChildReview(entry: CaseloadEntry) -> Element {
    let id = entry.child;
    let heading = format!("review-{id}");
    rsx! {
        section { class: "review", aria_labelledby: "{heading}",
            h2 { id: "{heading}", "{entry.name}: changes since my last review" }
            match use_changes_since_review(id) {
                Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
                Ok(changes) if changes.is_empty() => rsx! { p { "No changes since your last review." } },
                Ok(changes) => rsx! {
                    div { class: "table-scroll", tabindex: "0", role: "region", aria_label: "Changes for {entry.name}",
                        table { class: "changes",
                            thead {
                                tr {
                                    th { scope: "col", "What changed" }
                                    th { scope: "col", "Before" }
                                    th { scope: "col", "After" }
                                    th { scope: "col", "Who" }
                                    th { scope: "col", "Agency" }
                                    th { scope: "col", "When" }
                                }
                            }
                            tbody {
                                for c in changes {
                                    tr {
                                        th { scope: "row", "{c.field}" }
                                        td { "data-label": "Before", "{c.before}" }
                                        td { "data-label": "After", "{c.after}" }
                                        td { "data-label": "Who", "{c.who}" }
                                        td { "data-label": "Agency", {c.agency.map(|a| a.label()).unwrap_or("")} }
                                        td { "data-label": "When", "{words::from_seconds(c.when)}" }
                                    }
                                }
                            }
                        }
                    }
                },
            }
            Countersign { child: id, name: entry.name.clone() }
        }
    }
}

#[component]
fn Countersign(child: ChildId, name: String) -> Element {
    let client = use_client();
    let mut comment = use_signal(String::new);
    let mut decision = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let sign = move |e: FormEvent| {
        e.prevent_default();
        match client.write(|c| c.countersign(child, &comment.read(), &decision.read())) {
            Ok(_) => {
                comment.set(String::new());
                decision.set(String::new());
                notice.set(Some(Ok("Countersigned.".to_owned())));
            }
            Err(e) => notice.set(Some(Err(format!("Not countersigned: {e}")))),
        }
    };
    rsx! {
        form { class: "stack", aria_label: "Countersign for {name}", onsubmit: sign,
            TextArea {
                id: "oversight-{child}",
                label: "Management oversight comment",
                value: comment(),
                oninput: move |v| comment.set(v),
            }
            TextField {
                id: "decision-{child}",
                label: "Decision",
                value: decision(),
                oninput: move |v| decision.set(v),
            }
            Notice { message: notice() }
            button { class: "primary", r#type: "submit", "Countersign" }
        }
    }
}
