//! "Not accepted": the changes the server refused, each with why and the
//! words it would have written in a read-only text area the worker can
//! select and copy from. Shown on the sync screen (all of them), on a
//! child's page (that child's) and, read from the server, on the
//! supervisor's screen (their team's).

use bothy_client::sync::RefusalView;
use bothy_shared::docs::Timestamp;
use bothy_shared::ids::ChildId;
use bothy_shared::wire::RefusedChangeView;
use dioxus::prelude::*;

use crate::hooks::use_sync_status;
use crate::words;

/// One refused change as the notice lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAcceptedItem {
    /// Whose work, when it is someone else's (the supervisor's list).
    pub by: Option<String>,
    /// Which record, in words.
    pub document: String,
    pub at: Timestamp,
    /// Why, in plain words.
    pub reason: String,
    pub rule: String,
    /// What it would have written.
    pub words: String,
}

impl From<&RefusalView> for NotAcceptedItem {
    fn from(r: &RefusalView) -> Self {
        NotAcceptedItem {
            by: None,
            document: r.document.clone(),
            at: r.at,
            reason: r.message.clone(),
            rule: r.rule.clone(),
            words: r.words.clone(),
        }
    }
}

impl From<&RefusedChangeView> for NotAcceptedItem {
    fn from(r: &RefusedChangeView) -> Self {
        NotAcceptedItem {
            by: Some(r.name.clone()),
            document: r.document.to_string(),
            at: Timestamp(r.at.saturating_mul(1000)),
            reason: r.explanation.clone(),
            rule: r.rule.clone(),
            words: r.words.clone(),
        }
    }
}

/// The list, under `heading`; `id` makes its element ids unique on a page.
#[component]
pub fn NotAccepted(
    id: String,
    heading: String,
    hint: String,
    items: Vec<NotAcceptedItem>,
) -> Element {
    let heading_id = format!("{id}-heading");
    rsx! {
        section { class: "not-accepted", aria_labelledby: "{heading_id}",
            h2 { id: "{heading_id}", "{heading}" }
            p { class: "hint", "{hint}" }
            ul { class: "refusals",
                for (i, r) in items.iter().enumerate() {
                    li { key: "{i}",
                        p {
                            strong { "{r.document}" }
                            ", {words::date_time(r.at)}"
                            if let Some(by) = &r.by { ", by {by}" }
                        }
                        p { "Why: {r.reason}" }
                        p { class: "meta", "Rule: {r.rule}" }
                        if r.words.is_empty() {
                            p { class: "meta", "It wrote no words." }
                        } else {
                            div { class: "field",
                                label { r#for: "{id}-words-{i}", "What it said (select to copy)" }
                                textarea {
                                    id: "{id}-words-{i}",
                                    class: "copy",
                                    readonly: true,
                                    rows: "4",
                                    value: "{r.words}",
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The refused work of one child kept on this device, if there is any
/// (the child's page).
#[component]
pub fn ChildNotAccepted(child: ChildId) -> Element {
    let Ok(status) = use_sync_status() else {
        return rsx! {};
    };
    let items: Vec<NotAcceptedItem> = status
        .refusals
        .iter()
        .filter(|r| r.child == Some(child))
        .map(NotAcceptedItem::from)
        .collect();
    if items.is_empty() {
        return rsx! {};
    }
    rsx! {
        NotAccepted {
            id: "child-refused".to_owned(),
            heading: "Not accepted".to_owned(),
            hint: NOT_ACCEPTED_HINT.to_owned(),
            items,
        }
    }
}

/// What the worker reads above their own refused work.
pub const NOT_ACCEPTED_HINT: &str = "The server did not accept these changes. Your other work \
    was sent. Nothing has been deleted: copy the words into a new record if they are still needed.";
