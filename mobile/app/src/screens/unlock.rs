//! Unlock: the passcode, and what happens when it is wrong.

use dioxus::prelude::*;

use crate::app::Route;
use crate::core::use_client;
use crate::hooks::use_me;

/// Where someone starts once unlocked.
pub(crate) fn home(young_person: bool) -> Route {
    if young_person {
        Route::MyPlan {}
    } else {
        Route::Caseload {}
    }
}

#[component]
pub fn Unlock() -> Element {
    let me = use_me();
    rsx! {
        main { id: "content", class: "unlock",
            h1 { "Bothy" }
            if let Some(me) = me {
                p { "Bothy is unlocked." }
                p { Link { class: "button", to: home(me.young_person), "Continue" } }
            } else {
                UnlockForm {}
            }
        }
    }
}

/// The passcode form. On the unlock screen it goes on to the person's home;
/// elsewhere the screen that was locked comes back. The key is derived on a
/// thread of its own, so the screen says "Unlocking…" meanwhile.
#[component]
pub fn UnlockForm() -> Element {
    let client = use_client();
    let route = use_route::<Route>();
    let mut passcode = use_signal(String::new);
    let mut problem = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let submit = move |e: FormEvent| {
        e.prevent_default();
        if busy() {
            return;
        }
        let typed = passcode.read().clone();
        passcode.set(String::new());
        busy.set(true);
        let client = client.clone();
        let route = route.clone();
        spawn(async move {
            let result = client.unlock(typed).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    problem.set(None);
                    if route == (Route::Unlock {}) {
                        let young_person = client
                            .quietly(|c| Ok(c.me().is_young_person()))
                            .unwrap_or(false);
                        navigator().replace(home(young_person));
                    }
                }
                Err(e) => problem.set(Some(e.to_string())),
            }
        });
    };
    rsx! {
        form { class: "stack", aria_label: "Unlock Bothy", onsubmit: submit,
            h2 { "Enter your passcode" }
            if let Some(p) = problem() {
                p { class: "notice problem", role: "alert", id: "unlock-problem", "{p}" }
            }
            div { class: "field",
                label { r#for: "passcode", "Passcode" }
                input {
                    id: "passcode",
                    name: "passcode",
                    r#type: "password",
                    autocomplete: "current-password",
                    value: "{passcode}",
                    aria_invalid: problem.read().is_some(),
                    aria_describedby: problem.read().as_ref().map(|_| "unlock-problem"),
                    oninput: move |e| passcode.set(e.value()),
                }
            }
            button { class: "primary", r#type: "submit", disabled: busy(),
                if busy() { "Unlocking…" } else { "Unlock" }
            }
            p { class: "notice", role: "status",
                if busy() { "Unlocking: this takes a moment." }
            }
        }
    }
}
