//! Sync: where this device syncs, when it last did, what is waiting to go,
//! a run's progress, and every change the server refused with the reason.

use bothy_client::device::SyncRunError;
use bothy_client::sync::{DocSyncState, SyncPhase, SyncReport};
use dioxus::prelude::*;

use crate::app::use_sync_ui;
use crate::core::use_client;
use crate::hooks::use_sync_status;
use crate::words;

fn outcome_words(outcome: &Result<SyncReport, SyncRunError>) -> Result<String, String> {
    match outcome {
        Ok(report) => {
            let refused = report.refused.len();
            let mut words = format!(
                "Synced: {} sent, {} received.",
                words::changes(report.acknowledged),
                words::changes(report.received)
            );
            if refused > 0 {
                words.push_str(&format!(
                    " The server refused {}; see below.",
                    words::changes(refused)
                ));
            }
            Ok(words)
        }
        Err(e) if e.is_offline() => Err(
            "The server cannot be reached just now. Your work is kept on this device \
             and goes when there is a connection."
                .to_owned(),
        ),
        Err(e) if e.is_not_enrolled() => Err(
            "This device is not enrolled with a Bothy server yet: ask your administrator \
             for an enrolment code."
                .to_owned(),
        ),
        Err(SyncRunError::AlreadyRunning) => Ok("A sync is already under way.".to_owned()),
        Err(e) if e.is_locked() => Err("Bothy is locked.".to_owned()),
        Err(SyncRunError::Wiped(wiped)) => Err(format!(
            "An administrator removed this device from Bothy. {} were handed to the \
             server first; the data on this device has been deleted.",
            words::changes(wiped.offered as usize)
        )),
        Err(e) => Err(format!(
            "Sync did not finish: {}",
            e.cause()
                .map(|cause| cause.in_words())
                .unwrap_or_else(|| e.to_string())
        )),
    }
}

#[component]
pub fn SyncScreen() -> Element {
    let client = use_client();
    let sync = use_sync_ui();
    let status = use_sync_status();
    let now = sync.progress.read().clone();
    let running =
        (sync.running)() || matches!(now.phase, SyncPhase::Checking | SyncPhase::Exchanging);
    let last = sync.last.read().clone();
    let run = (sync.finished)();
    let sync_now = move |_| sync.start(client.clone());
    rsx! {
        h1 { "Sync" }
        match status {
            Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
            Ok(status) => rsx! {
                dl { class: "facts",
                    dt { "Server" }
                    dd { {status.server.clone().unwrap_or_else(|| "Not enrolled".to_owned())} }
                    dt { "Last synced" }
                    dd { {status.last_sync.map(words::from_seconds).unwrap_or_else(|| "Never".to_owned())} }
                    dt { "Waiting to go" }
                    dd { id: "unsynced-count",
                        if status.unsynced == 0 { "Nothing: everything is synced" } else { "{words::changes(status.unsynced)}" }
                    }
                }
                div { class: "actions",
                    if running {
                        button { class: "primary", r#type: "button", disabled: true, "Syncing…" }
                    } else {
                        button { class: "primary", r#type: "button", onclick: sync_now, "Sync now" }
                    }
                }
                if running {
                    p { role: "status",
                        match now.phase {
                            SyncPhase::Checking => rsx! { "Checking for changes…" },
                            _ => rsx! {
                                "Exchanged {now.docs_done} of {now.docs_total} records"
                            },
                        }
                    }
                    progress {
                        max: "{now.docs_total.max(1)}",
                        value: "{now.docs_done}",
                        aria_label: "Sync progress",
                    }
                } else if let Some(outcome) = last {
                    match outcome_words(&outcome) {
                        Ok(w) => rsx! { p { class: "notice ok", role: "status", id: "sync-outcome", "data-run": "{run}", "{w}" } },
                        Err(w) => rsx! { p { class: "notice problem", role: "alert", id: "sync-outcome", "data-run": "{run}", "{w}" } },
                    }
                }
                if !now.documents.is_empty() && running {
                    ul { class: "doc-states",
                        for (key, state) in now.documents.iter() {
                            li { key: "{key}",
                                {match state {
                                    DocSyncState::Waiting => "Waiting",
                                    DocSyncState::Exchanging => "Exchanging",
                                    DocSyncState::Synced => "Synced",
                                    DocSyncState::Refused { .. } => "Refused",
                                    DocSyncState::Unavailable => "No longer shared with you",
                                    DocSyncState::Malformed => "Could not be read",
                                }}
                            }
                        }
                    }
                }
                if status.refusals.is_empty() {
                    section { aria_labelledby: "refused-heading",
                        h2 { id: "refused-heading", "Not accepted" }
                        p { "Nothing has been refused." }
                    }
                } else {
                    super::refused::NotAccepted {
                        id: "sync-refused".to_owned(),
                        heading: "Not accepted".to_owned(),
                        hint: super::refused::NOT_ACCEPTED_HINT.to_owned(),
                        items: status.refusals.iter().map(super::refused::NotAcceptedItem::from).collect::<Vec<_>>(),
                    }
                }
            },
        }
    }
}
