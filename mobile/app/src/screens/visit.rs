//! Record a visit: every keystroke is kept (encrypted, on this device) with
//! `autosave_visit`; "Save" writes the visit into the child's record as a
//! draft, "Finalise" fixes it for good. Works with no signal: sync is later.

use bothy_client::services::VisitDraft;
use bothy_shared::docs::{Sharing, VisitKind};
use bothy_shared::ids::ChildId;
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{CheckBox, Choice, Notice, TextArea, TextField};
use crate::core::use_client;
use crate::hooks::use_child;

#[component]
pub fn RecordVisit(child: ChildId) -> Element {
    let client = use_client();
    let name = use_child(child).map(|c| c.name).unwrap_or_default();
    // Pick up a visit left half-typed on this device, or start a new one.
    let mut draft = use_signal(|| {
        client
            .quietly(|c| c.visit_drafts())
            .ok()
            .and_then(|drafts| drafts.into_iter().find(|d| d.child == child))
            .unwrap_or_else(|| VisitDraft::new(child))
    });
    let mut notice = use_signal(|| None::<Result<String, String>>);

    // Change the draft and keep it at once.
    let autosave = {
        let client = client.clone();
        move |change: Box<dyn FnOnce(&mut VisitDraft)>| {
            change(&mut draft.write());
            let result = client.quietly(|c| c.autosave_visit(&draft.read()));
            notice.set(Some(match result {
                Ok(()) => Ok("Kept on this device as you type.".to_owned()),
                Err(e) => Err(format!("Not kept: {e}")),
            }));
        }
    };
    let save = {
        let client = client.clone();
        move |finalise: bool| {
            let result = client.write(|c| c.save_visit(&draft.read(), finalise));
            match result {
                Ok(_) if finalise => {
                    navigator().push(Route::Child { id: child });
                }
                Ok(_) => notice.set(Some(Ok(
                    "Visit saved. It goes to the team next time this device syncs.".to_owned(),
                ))),
                Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
            }
        }
    };
    let autosave_tick = autosave.clone();
    let edit = move |f: fn(&mut VisitDraft, String)| {
        let mut autosave = autosave.clone();
        move |v: String| autosave(Box::new(move |d| f(d, v)))
    };
    let tick = move |f: fn(&mut VisitDraft, bool)| {
        let mut autosave = autosave_tick.clone();
        move |v: bool| autosave(Box::new(move |d| f(d, v)))
    };
    let d = draft.read().clone();
    let kinds: Vec<(String, String)> = VisitKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
        .collect();
    let sharing = vec![
        ("team".to_owned(), "The whole team".to_owned()),
        ("agency".to_owned(), "My agency only".to_owned()),
    ];
    let save_click = {
        let mut save = save.clone();
        move |_| save(false)
    };
    let finalise_click = {
        let mut save = save.clone();
        move |_| save(true)
    };
    rsx! {
        h1 { "Record a visit" }
        if !name.is_empty() { p { class: "meta", "For {name}" } }
        form { class: "stack", aria_label: "Visit", onsubmit: move |e| e.prevent_default(),
            Choice {
                id: "visit-kind",
                label: "Kind of visit",
                value: d.kind.as_str(),
                options: kinds,
                onchange: edit(|d, v| {
                    if let Some(k) = VisitKind::ALL.into_iter().find(|k| k.as_str() == v) {
                        d.kind = k;
                    }
                }),
            }
            TextField { id: "visit-place", label: "Place", value: d.place.clone(), oninput: edit(|d, v| d.place = v) }
            TextField {
                id: "visit-present",
                label: "Who was present",
                hint: "Separate names with commas".to_owned(),
                value: d.present.join(", "),
                oninput: edit(|d, v| {
                    d.present = v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                }),
            }
            fieldset {
                legend { "The child" }
                CheckBox { id: "visit-seen", label: "Child seen", checked: d.child_seen, onchange: tick(|d, v| {
                    d.child_seen = v;
                    if !v { d.seen_alone = false; }
                }) }
                CheckBox { id: "visit-seen-alone", label: "Seen alone", checked: d.seen_alone, onchange: tick(|d, v| {
                    d.seen_alone = v;
                    if v { d.child_seen = true; }
                }) }
            }
            TextArea { id: "visit-observations", label: "Observations", value: d.observations.clone(), oninput: edit(|d, v| d.observations = v) }
            TextArea { id: "visit-child-said", label: "What the child said", value: d.child_said.clone(), oninput: edit(|d, v| d.child_said = v) }
            TextArea { id: "visit-analysis", label: "Analysis", value: d.analysis.clone(), oninput: edit(|d, v| d.analysis = v) }
            TextArea { id: "visit-next-steps", label: "Next steps", value: d.next_steps.clone(), oninput: edit(|d, v| d.next_steps = v) }
            Choice {
                id: "visit-sharing",
                label: "Share with",
                value: match d.sharing { Sharing::Team => "team", Sharing::Agency => "agency" },
                options: sharing,
                onchange: edit(|d, v| d.sharing = if v == "agency" { Sharing::Agency } else { Sharing::Team }),
            }
            CheckBox { id: "visit-significant", label: "Significant: show in the chronology", checked: d.significant, onchange: tick(|d, v| d.significant = v) }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "button", onclick: save_click, "Save" }
                button { r#type: "button", onclick: finalise_click, "Finalise" }
            }
            p { class: "hint", "A finalised visit cannot be changed; corrections are added as an addendum." }
        }
    }
}
