//! The root component, the one [`Route`] enum and the shell around screens.

use std::rc::Rc;
use std::time::Duration;

use bothy_client::device::SyncRunError;
use bothy_client::sync::{SyncPhase, SyncProgress, SyncReport};
use bothy_shared::ids::{ChildId, ItemId, RequestId};
use dioxus::history::{History, MemoryHistory};
use dioxus::prelude::*;
use dioxus::router::components::HistoryProvider;

use crate::core::{ClientHandle, use_client, use_revision_provider};
use crate::hooks::{use_me, use_sync_status};
use crate::screens::{
    AddAction, AddNeed, AskForHelp, AskForHelpAbout, AssessWellbeing, Caseload, Child,
    ChronologyPage, EditAction, EditNeed, FamilyVoice, FamilyVoiceGathered, MovingOn, MyPlan,
    MyWorldEdit, PlanReview, RecordVisit, RequestPage, Requests, SupervisorFeed, SyncScreen,
    TeamOutcomes, TeamPage, Unlock, UnlockForm, VisitPage,
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
        #[route("/child/:child/visits/:visit")]
        VisitPage { child: ChildId, visit: ItemId },
        #[route("/child/:child/actions/:action")]
        EditAction { child: ChildId, action: ItemId },
        #[route("/child/:child/needs/:need/new-action")]
        AddAction { child: ChildId, need: ItemId },
        #[route("/child/:child/family-voice")]
        FamilyVoice { child: ChildId },
        #[route("/child/:child/family-voice/gathered")]
        FamilyVoiceGathered { child: ChildId },
        #[route("/child/:child/chronology")]
        ChronologyPage { child: ChildId },
        #[route("/child/:child/assess")]
        AssessWellbeing { child: ChildId },
        #[route("/child/:child/my-world")]
        MyWorldEdit { child: ChildId },
        #[route("/child/:child/new-need")]
        AddNeed { child: ChildId },
        #[route("/child/:child/needs/:need")]
        EditNeed { child: ChildId, need: ItemId },
        #[route("/child/:child/review")]
        PlanReview { child: ChildId },
        #[route("/child/:child/moving-on")]
        MovingOn { child: ChildId },
        #[route("/child/:child/ask-for-help")]
        AskForHelpAbout { child: ChildId },
        #[route("/ask-for-help")]
        AskForHelp {},
        #[route("/requests")]
        Requests {},
        #[route("/requests/:id")]
        RequestPage { id: RequestId },
        #[route("/child/:child/team")]
        TeamPage { child: ChildId },
        #[route("/my-plan")]
        MyPlan {},
        #[route("/supervision")]
        SupervisorFeed {},
        #[route("/outcomes")]
        TeamOutcomes {},
        #[route("/sync")]
        SyncScreen {},
    #[end_layout]
    #[route("/:..segments")]
    NotFound { segments: Vec<String> },
}

/// How a sync run the app started ended (shared: kept on screen while it re-renders).
pub(crate) type SyncRunOutcome = Rc<Result<SyncReport, SyncRunError>>;

/// What the app knows of sync between runs, for every screen of one window.
#[derive(Clone, Copy)]
pub(crate) struct SyncUi {
    /// The current (or last) run's progress.
    pub progress: Signal<SyncProgress>,
    /// How the last run the app started ended.
    pub last: Signal<Option<SyncRunOutcome>>,
    /// How many runs started from this window have ended (the outcome's
    /// `data-run`, so a script that presses "Sync now" twice can tell the
    /// second outcome from the first).
    pub finished: Signal<u32>,
    /// Whether a run started from this window is under way.
    pub running: Signal<bool>,
}

impl SyncUi {
    /// Start a run now (the "Sync now" button, and the timer).
    pub fn start(self, client: ClientHandle) {
        spawn(async move {
            self.run(client).await;
        });
    }

    /// One run; the views re-read the client afterwards.
    pub async fn run(mut self, client: ClientHandle) -> SyncRunOutcome {
        self.running.set(true);
        let outcome = Rc::new(client.device().sync_now().await);
        self.running.set(false);
        if !matches!(*outcome, Err(SyncRunError::AlreadyRunning)) {
            self.last.set(Some(outcome.clone()));
            *self.finished.write() += 1;
        }
        client.changed();
        outcome
    }
}

/// The sync state of this window.
pub(crate) fn use_sync_ui() -> SyncUi {
    use_context::<SyncUi>()
}

/// The app. Needs a [`Device`](crate::Device) as a root context.
#[component]
pub fn App() -> Element {
    use_revision_provider();
    let client = use_client();
    let device = client.device().clone();
    let mut progress = use_signal(|| device.sync_progress().borrow().clone());
    use_context_provider(|| SyncUi {
        progress,
        last: Signal::new(None),
        finished: Signal::new(0),
        running: Signal::new(false),
    });
    // Follow the device's sync progress (runs started from any window).
    use_future(move || {
        let mut rx = device.sync_progress();
        async move {
            while rx.changed().await.is_ok() {
                let now = rx.borrow_and_update().clone();
                progress.set(now);
            }
        }
    });
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

/// Sync on a timer while unlocked: at once, then every `sync_every`; while
/// the server cannot be reached, waiting twice as long each time (up to
/// `sync_max_wait`). Nothing is lost meanwhile: work stays on the device.
fn use_sync_timer(client: ClientHandle, sync: SyncUi) {
    use_future(move || {
        let client = client.clone();
        async move {
            let settings = client.device().settings().clone();
            let mut wait = Duration::ZERO;
            if settings.sync_every.is_none() {
                return;
            }
            loop {
                tokio::time::sleep(wait).await;
                let outcome = sync.run(client.clone()).await;
                let offline = outcome
                    .as_ref()
                    .as_ref()
                    .is_err_and(SyncRunError::is_offline);
                let Some(next) = settings.next_sync_wait(wait, offline) else {
                    return;
                };
                wait = next;
            }
        }
    });
}

/// Lock when nobody has touched the app for the idle timeout: the screen
/// stays where it was, behind the passcode (typed work is already kept).
fn use_idle_lock(client: ClientHandle) {
    use_future(move || {
        let client = client.clone();
        async move {
            let Some(timeout) = client.device().settings().idle_lock else {
                return;
            };
            loop {
                let left = client.device().idle_lock_in().unwrap_or(timeout);
                tokio::time::sleep(left.max(Duration::from_millis(250))).await;
                if client.device().lock_if_idle() {
                    client.changed();
                }
            }
        }
    });
}

/// Header, navigation and sync status around every screen but unlock. While
/// locked it shows the unlock form in place of the screen, which comes back
/// once unlocked.
#[component]
fn Shell() -> Element {
    let client = use_client();
    let me = use_me();
    let route = use_route::<Route>();
    let sync = use_sync_ui();
    use_sync_timer(client.clone(), sync);
    use_idle_lock(client.clone());
    let Some(me) = me else {
        return rsx! {
            main { id: "content", class: "unlock",
                h1 { "Bothy is locked" }
                p { "Your work is kept safely on this device. It comes back when you unlock." }
                UnlockForm {}
            }
        };
    };
    let lock = {
        let client = client.clone();
        move |_| {
            let _ = client.lock();
        }
    };
    let touch = {
        let client = client.clone();
        move || client.device().touch()
    };
    let (t1, t2, t3) = (touch.clone(), touch.clone(), touch);
    rsx! {
        div {
            class: "shell",
            onclick: move |_| t1(),
            oninput: move |_| t2(),
            onkeydown: move |_| t3(),
            a { class: "skip", href: "#content", "Skip to content" }
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
                        li { Link { to: Route::SyncScreen {}, "Sync" } }
                    }
                }
                button { class: "quiet", r#type: "button", onclick: lock, "Lock" }
            }
            SyncIndicator {}
            main { id: "content",
                // A young person's app shows their plan and sync, nothing else,
                // whatever address is opened.
                if me.young_person && !matches!(route, Route::MyPlan {} | Route::SyncScreen {}) {
                    h1 { "Not part of your plan" }
                    p { "This page is for the people who work with you. Your plan is here:" }
                    p { Link { class: "button primary", to: Route::MyPlan {}, "My plan" } }
                } else {
                    Outlet::<Route> {}
                }
            }
        }
    }
}

/// One line under the header: what is waiting to go, a run in progress, no
/// signal, or refused work; always a link to the sync screen.
#[component]
fn SyncIndicator() -> Element {
    let sync = use_sync_ui();
    let status = use_sync_status();
    let progress = sync.progress.read().clone();
    let last = sync.last.read().clone();
    let (class, text) = indicator_words(&progress, last.as_deref(), status.as_ref().ok());
    rsx! {
        p { class: "sync-line {class}", role: "status", id: "sync-indicator",
            Link { to: Route::SyncScreen {}, "{text}" }
        }
    }
}

fn indicator_words(
    progress: &SyncProgress,
    last: Option<&Result<SyncReport, SyncRunError>>,
    status: Option<&bothy_client::sync::SyncStatus>,
) -> (&'static str, String) {
    let unsynced = status.map(|s| s.unsynced).unwrap_or(0);
    let refused = status.map(|s| s.refusals.len()).unwrap_or(0);
    match &progress.phase {
        SyncPhase::Checking => return ("busy", "Syncing: checking for changes…".to_owned()),
        SyncPhase::Exchanging => {
            return (
                "busy",
                format!(
                    "Syncing: {} of {} records…",
                    progress.docs_done, progress.docs_total
                ),
            );
        }
        _ => {}
    }
    let waiting = if unsynced == 0 {
        "Everything is synced".to_owned()
    } else {
        format!("{} not synced yet", words::changes(unsynced))
    };
    let offline = last.is_some_and(|l| l.as_ref().is_err_and(SyncRunError::is_offline));
    match last {
        Some(_) if offline && unsynced == 0 => (
            "offline",
            "No connection to the server. Nothing is waiting to go.".to_owned(),
        ),
        Some(_) if offline => (
            "offline",
            format!(
                "No connection to the server. {} kept safely on this device; \
                 they go when there is a connection.",
                words::changes(unsynced)
            ),
        ),
        _ if refused > 0 => (
            "problem",
            format!(
                "{waiting}. The server refused {}: see why",
                words::changes(refused)
            ),
        ),
        _ => {
            let when = status
                .and_then(|s| s.last_sync)
                .map(|t| format!(". Last synced {}", words::from_seconds(t)))
                .unwrap_or_default();
            ("ok", format!("{waiting}{when}"))
        }
    }
}

#[component]
fn NotFound(segments: Vec<String>) -> Element {
    rsx! {
        main { id: "content",
            h1 { "Page not found" }
            p { Link { to: Route::Unlock {}, "Go to the start" } }
        }
    }
}
