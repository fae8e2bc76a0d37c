//! Supervision: open conflicts across the team first, then what is overdue,
//! then each child's work since my last review as one card per visit,
//! voice, review or plan change (a one-line summary, its fields behind
//! "Show details"), the work already reviewed folded away, and the
//! countersign form when there is something to countersign.

use bothy_client::services::{CaseloadEntry, FeedItem};
use bothy_shared::ids::ChildId;
use dioxus::prelude::*;

use super::conflicts::ConflictList;
use super::refused::{NotAccepted, NotAcceptedItem};
use crate::app::Route;
use crate::components::{Notice, TextArea, TextField};
use crate::core::use_client;
use crate::hooks::{use_caseload, use_conflicts, use_overdue, use_supervision_feed};
use crate::words;

#[component]
pub fn SupervisorFeed() -> Element {
    let overdue = use_overdue();
    let children = use_caseload("");
    rsx! {
        h1 { "Supervision" }
        p { Link { class: "button", to: Route::TeamOutcomes {}, "Team outcomes: ratings, reviews and visits" } }
        // Conflicts first: until someone settles one, the team's screens
        // show one of two values.
        if let Ok(list) = &children {
            for entry in list.iter().cloned() {
                ChildConflicts { key: "conflicts-{entry.child}", entry }
            }
        }
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
        TeamNotAccepted {}
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

/// The refused work of the people I supervise, read from the server
/// (refused changes never reach a supervisor's device otherwise).
#[component]
fn TeamNotAccepted() -> Element {
    let client = use_client();
    let refused = use_resource(move || {
        let device = client.device().clone();
        async move { device.refused_by_server().await }
    });
    let read = refused.read();
    match &*read {
        None => rsx! {},
        Some(Err(_)) => rsx! {
            section { aria_labelledby: "team-refused-heading",
                h2 { id: "team-refused-heading", "Not accepted" }
                p { class: "hint", "Your team's work the server did not accept shows here when this device can reach the server." }
            }
        },
        Some(Ok(answer)) => {
            let items: Vec<NotAcceptedItem> =
                answer.refused.iter().map(NotAcceptedItem::from).collect();
            if items.is_empty() {
                rsx! {
                    section { aria_labelledby: "team-refused-heading",
                        h2 { id: "team-refused-heading", "Not accepted" }
                        p { "Nothing your team recorded was refused." }
                    }
                }
            } else {
                rsx! {
                    NotAccepted {
                        id: "team-refused".to_owned(),
                        heading: "Not accepted: your team's refused work".to_owned(),
                        hint: "The server kept these changes but did not add them to the record. \
                               Talk to the worker about what to do with them.".to_owned(),
                        items,
                    }
                }
            }
        }
    }
}

/// A child's open conflicts, if there are any.
#[component]
fn ChildConflicts(entry: CaseloadEntry) -> Element {
    match use_conflicts(entry.child) {
        Ok(conflicts) => rsx! {
            ConflictList {
                child: entry.child,
                conflicts,
                heading: format!("{}: open conflicts", entry.name),
            }
        },
        Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
    }
}

#[component]
fn ChildReview(entry: CaseloadEntry) -> Element {
    let id = entry.child;
    let heading = format!("review-{id}");
    // Kept here, not in the form: the form goes once there is nothing left
    // to countersign, and the word that it worked must stay.
    let notice = use_signal(|| None::<Result<String, String>>);
    rsx! {
        section { class: "review", aria_labelledby: "{heading}",
            h2 { id: "{heading}", "{entry.name}: changes since my last review" }
            match use_supervision_feed(id) {
                Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
                Ok(feed) => rsx! {
                    if feed.unreviewed.is_empty() {
                        p { "No changes since your last review." }
                    } else {
                        ol { class: "feed", aria_label: "New work for {entry.name}",
                            for item in feed.unreviewed.iter().cloned() {
                                FeedCard { key: "{item.doc}/{item.item}/{item.who}", item }
                            }
                        }
                    }
                    if !feed.reviewed.is_empty() {
                        details { class: "reviewed",
                            summary { "{reviewed_items(feed.reviewed.len())}" }
                            ol { class: "feed", aria_label: "Reviewed work for {entry.name}",
                                for item in feed.reviewed.iter().cloned() {
                                    FeedCard { key: "{item.doc}/{item.item}/{item.who}", item }
                                }
                            }
                        }
                    }
                    Notice { message: notice() }
                    if !feed.unreviewed.is_empty() {
                        Countersign { child: id, name: entry.name.clone(), notice }
                    }
                },
            }
        }
    }
}

fn reviewed_items(n: usize) -> String {
    if n == 1 {
        "1 reviewed item".to_owned()
    } else {
        format!("{n} reviewed items")
    }
}

/// One visit, voice, review or plan change: its summary, its fields folded.
#[component]
fn FeedCard(item: FeedItem) -> Element {
    rsx! {
        li { class: "feed-item feed-{kind_class(&item)}",
            p { class: "summary",
                "{item.summary}"
                if let Some(a) = item.agency { span { class: "meta", " ({a.label()})" } }
            }
            details {
                summary { "Show details" }
                ul { class: "fields",
                    for (i, f) in item.fields.iter().enumerate() {
                        li { key: "{i}",
                            strong { "{f.field}" }
                            if f.after.is_empty() { ": cleared" } else { ": {f.after}" }
                            if !f.before.is_empty() { span { class: "meta", " (was {f.before})" } }
                        }
                    }
                }
                p { class: "meta", "{item.who}, {words::from_seconds(item.when)}" }
            }
        }
    }
}

fn kind_class(item: &FeedItem) -> &'static str {
    use bothy_client::services::FeedKind;
    match item.kind {
        FeedKind::Visit => "visit",
        FeedKind::Voice => "voice",
        FeedKind::Review => "review",
        FeedKind::Chronology => "chronology",
        FeedKind::Plan => "plan",
        FeedKind::Other => "other",
    }
}

#[component]
fn Countersign(
    child: ChildId,
    name: String,
    notice: Signal<Option<Result<String, String>>>,
) -> Element {
    let client = use_client();
    let mut comment = use_signal(String::new);
    let mut decision = use_signal(String::new);
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
            button { class: "primary", r#type: "submit", "Countersign" }
        }
    }
}
