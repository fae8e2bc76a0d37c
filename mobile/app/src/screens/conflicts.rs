//! Conflict cards: a field two people changed at once, naming both people,
//! both values and when, with one button per value to keep it. Shown on the
//! child's page and, for every child of the team, first on the supervisor's
//! feed. Settling is a service call (`Client::settle_conflict`), checked by
//! the shared gate like any edit; the card goes when the conflict does.

use bothy_client::services::ConflictView;
use bothy_shared::ids::ChildId;
use dioxus::prelude::*;

use crate::components::Notice;
use crate::core::use_client;
use crate::words;

/// One open conflict.
#[component]
pub fn ConflictCard(child: ChildId, conflict: ConflictView) -> Element {
    let client = use_client();
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let heading = format!("conflict-{}", conflict.id);
    let id = conflict.id.clone();
    rsx! {
        article { class: "conflict", aria_labelledby: "{heading}", "data-conflict": "{conflict.id}",
            h3 { id: "{heading}", "Two changes to {conflict.field}" }
            p { "Two people changed this at the same time. Choose the one to keep." }
            ul { class: "conflict-sides",
                for side in conflict.sides.iter() {
                    li { key: "{side.stored}",
                        strong { "{side.value}" }
                        " by {side.who}, {words::from_seconds(side.at)}"
                    }
                }
            }
            if conflict.can_settle {
                p { class: "actions",
                    for side in conflict.sides.iter() {
                        button {
                            key: "{side.stored}",
                            class: "button",
                            r#type: "button",
                            // The visible words first, then which field: a
                            // feed can hold several cards with "Keep Done".
                            aria_label: "Keep {side.value}: {conflict.field}",
                            onclick: {
                                let (client, id, stored) = (client.clone(), id.clone(), side.stored.clone());
                                move |_| match client.write(|c| c.settle_conflict(child, &id, &stored)) {
                                    Ok(_) => notice.set(None),
                                    Err(e) => notice.set(Some(Err(format!("Not settled: {e}")))),
                                }
                            },
                            "Keep {side.value}"
                        }
                    }
                }
            } else {
                p { class: "meta", "You cannot change this part of the plan; someone on the team will choose." }
            }
            Notice { message: notice() }
        }
    }
}

/// A list of conflict cards under a heading, or nothing when there are none.
#[component]
pub fn ConflictList(child: ChildId, conflicts: Vec<ConflictView>, heading: String) -> Element {
    if conflicts.is_empty() {
        return rsx! {};
    }
    let heading_id = format!("conflicts-{child}");
    rsx! {
        section { class: "conflicts", aria_labelledby: "{heading_id}",
            h2 { id: "{heading_id}", "{heading}" }
            for c in conflicts {
                ConflictCard { key: "{c.id}", child, conflict: c }
            }
        }
    }
}
