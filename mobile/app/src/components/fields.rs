//! Labelled form fields: every input has a visible label tied to it, and an
//! optional hint read out with it.

use dioxus::prelude::*;

/// A one-line text box.
#[component]
pub fn TextField(
    id: String,
    label: String,
    value: String,
    #[props(default)] hint: Option<String>,
    #[props(default = "text".to_owned())] kind: String,
    #[props(default)] autocomplete: Option<String>,
    oninput: EventHandler<String>,
) -> Element {
    let hint_id = format!("{id}-hint");
    rsx! {
        div { class: "field",
            label { r#for: "{id}", "{label}" }
            if let Some(h) = &hint {
                p { class: "hint", id: "{hint_id}", "{h}" }
            }
            input {
                id: "{id}",
                name: "{id}",
                r#type: "{kind}",
                value: "{value}",
                autocomplete: autocomplete.clone(),
                aria_describedby: hint.as_ref().map(|_| hint_id.clone()),
                oninput: move |e| oninput.call(e.value()),
            }
        }
    }
}

/// A text box for longer writing.
#[component]
pub fn TextArea(
    id: String,
    label: String,
    value: String,
    #[props(default)] hint: Option<String>,
    oninput: EventHandler<String>,
) -> Element {
    let hint_id = format!("{id}-hint");
    rsx! {
        div { class: "field",
            label { r#for: "{id}", "{label}" }
            if let Some(h) = &hint {
                p { class: "hint", id: "{hint_id}", "{h}" }
            }
            textarea {
                id: "{id}",
                name: "{id}",
                rows: "4",
                value: "{value}",
                aria_describedby: hint.as_ref().map(|_| hint_id.clone()),
                oninput: move |e| oninput.call(e.value()),
            }
        }
    }
}

/// A tick box with its label beside it.
#[component]
pub fn CheckBox(id: String, label: String, checked: bool, onchange: EventHandler<bool>) -> Element {
    rsx! {
        div { class: "check",
            input {
                id: "{id}",
                name: "{id}",
                r#type: "checkbox",
                checked,
                onchange: move |e| onchange.call(e.checked()),
            }
            label { r#for: "{id}", "{label}" }
        }
    }
}

/// A drop-down list of `(value, label)` options.
#[component]
pub fn Choice(
    id: String,
    label: String,
    value: String,
    options: Vec<(String, String)>,
    onchange: EventHandler<String>,
) -> Element {
    rsx! {
        div { class: "field",
            label { r#for: "{id}", "{label}" }
            select {
                id: "{id}",
                name: "{id}",
                onchange: move |e| onchange.call(e.value()),
                for (v, l) in options {
                    option { value: "{v}", selected: v == value, "{l}" }
                }
            }
        }
    }
}

/// A message read out when it changes ("Saved", or what went wrong).
#[component]
pub fn Notice(message: Option<Result<String, String>>) -> Element {
    match message {
        Some(Ok(m)) => rsx! { p { class: "notice ok", role: "status", "{m}" } },
        Some(Err(m)) => rsx! { p { class: "notice problem", role: "alert", "{m}" } },
        None => rsx! { p { class: "notice", role: "status" } },
    }
}
