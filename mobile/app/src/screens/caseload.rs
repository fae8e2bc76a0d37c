//! The caseload: who needs a visit, plans due for review, unsynced work.

use dioxus::prelude::*;

use crate::app::Route;
use crate::components::TextField;
use crate::hooks::{use_caseload, use_requests};
use crate::screens::RequestList;
use crate::words;

#[component]
pub fn Caseload() -> Element {
    let mut search = use_signal(String::new);
    let caseload = use_caseload(&search.read());
    // Requests for help come first: my duty team's urgent ones at the top.
    let requests = use_requests().unwrap_or_default();
    rsx! {
        h1 { "Caseload" }
        if !requests.is_empty() {
            section { aria_labelledby: "caseload-requests-heading",
                h2 { id: "caseload-requests-heading", "Requests for help" }
                RequestList { list: requests }
            }
        }
        p { Link { class: "button", to: Route::AskForHelp {}, "Ask for help" } }
        div { role: "search",
            TextField {
                id: "caseload-search",
                label: "Find a child",
                kind: "search",
                value: search(),
                hint: "Type part of a name".to_owned(),
                oninput: move |v| search.set(v),
            }
        }
        match caseload {
            Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
            Ok(children) if children.is_empty() => rsx! { p { "No children match." } },
            Ok(children) => rsx! {
                ul { class: "children",
                    for entry in children {
                        li { key: "{entry.child}", class: "child-card",
                            h2 {
                                Link { to: Route::Child { id: entry.child }, "{entry.name}" }
                            }
                            if let Some(p) = entry.preferred_name.as_ref().filter(|p| **p != entry.name) {
                                p { class: "meta", "Likes to be called {p}" }
                            }
                            p { class: "meta",
                                "Last visit: "
                                {entry.last_visit.map(words::date_time).unwrap_or_else(|| "none recorded".to_owned())}
                            }
                            p { class: "meta", "Review: {words::maybe_date(entry.review_date)}" }
                            ul { class: "flags", aria_label: "Needs attention",
                                if entry.flags.visit_overdue {
                                    li { class: "flag overdue", "Visit overdue" }
                                }
                                if entry.flags.review_due {
                                    li { class: "flag review", "Review due" }
                                }
                                if entry.flags.no_transition_plan {
                                    li { class: "flag transition", "No transition plan (15 or over)" }
                                }
                                if entry.flags.unsynced {
                                    li { class: "flag unsynced",
                                        "Not synced ({words::changes(entry.unsynced_changes)})"
                                    }
                                }
                            }
                            p {
                                Link { class: "button", to: Route::RecordVisit { child: entry.child }, "Record a visit" }
                            }
                        }
                    }
                }
            },
        }
    }
}
