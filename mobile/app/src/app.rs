//! The root component, the one [`Route`] enum and the shell around screens.

use std::rc::Rc;

use bothy_shared::ids::ChildId;
use dioxus::history::{History, MemoryHistory};
use dioxus::prelude::*;
use dioxus::router::components::HistoryProvider;

use crate::core::{use_client, use_revision_provider};
use crate::hooks::{use_me, use_unsynced};
use crate::screens::{
    Caseload, Child, FamilyVoice, MyPlan, RecordVisit, SupervisorFeed, Unlock, UnlockForm,
};
use crate::words;

/// The styles, inlined so every renderer (desktop, phone, liveview, tests)
/// gets them without an asset pipeline and with no network.
const STYLES: &str = include_str!("../../../assets/bothy.css");

/// Every screen of the app.
#[derive(Routable, Clone, Debug, PartialEq)]
#[rustfmt::skip]
pub enum Route {
    #[route("/")]
    Unlock {},
    #[layout(Shell)]
        #[route("/caseload")]
        Caseload {},
        #[route("/child/:id")]
        Child { id: ChildId },
        #[route("/child/:child/visit")]
        RecordVisit { child: ChildId },
        #[route("/child/:child/family-voice")]
        FamilyVoice { child: ChildId },
        #[route("/my-plan")]
        MyPlan {},
        #[route("/supervision")]
        SupervisorFeed {},
    #[end_layout]
    #[route("/:..segments")]
    NotFound { segments: Vec<String> },
}

/// The app. Needs an [`AppCore`](crate::AppCore) as a root context.
#[component]
pub fn App() -> Element {
    use_revision_provider();
    rsx! {
        style { {STYLES} }
        Router::<Route> {}
    }
}

/// The app opened at `path` (tests, deep links), with an in-memory history.
#[component]
pub fn AppAt(path: String) -> Element {
    rsx! {
        HistoryProvider {
            history: move |_| Rc::new(MemoryHistory::with_initial_path(path.clone())) as Rc<dyn History>,
            App {}
        }
    }
}

/// Header, navigation and sync status around every screen but unlock. While
/// locked it shows the unlock form in place of the screen.
#[component]
fn Shell() -> Element {
    let client = use_client();
    let me = use_me();
    let unsynced = use_unsynced();
    let Some(me) = me else {
        return rsx! {
            main { id: "main", UnlockForm {} }
        };
    };
    let lock = move |_| {
        let _ = client.lock();
        navigator().replace(Route::Unlock {});
    };
    rsx! {
        a { class: "skip", href: "#main", "Skip to content" }
        header { class: "top",
            p { class: "brand", "Bothy" }
            nav { aria_label: "Main",
                ul {
                    if me.young_person {
                        li { Link { to: Route::MyPlan {}, "My plan" } }
                    } else {
                        li { Link { to: Route::Caseload {}, "Caseload" } }
                        if me.supervisor {
                            li { Link { to: Route::SupervisorFeed {}, "Supervision" } }
                        }
                    }
                }
            }
            p { class: "sync", role: "status",
                if unsynced == 0 {
                    "Everything is synced"
                } else {
                    "{words::changes(unsynced)} not synced yet"
                }
            }
            button { class: "quiet", r#type: "button", onclick: lock, "Lock" }
        }
        main { id: "main", Outlet::<Route> {} }
    }
}

#[component]
fn NotFound(segments: Vec<String>) -> Element {
    rsx! {
        main { id: "main",
            h1 { "Page not found" }
            p { Link { to: Route::Unlock {}, "Go to the start" } }
        }
    }
}
