//! Record a visit: every keystroke is kept (encrypted, on this device) by
//! [`use_visit_draft`]; "Save" writes the visit into the child's record as a
//! draft, "Finalise" fixes it for good. Works with no signal: sync is later.

use bothy_client::services::VisitDraft;
use bothy_shared::docs::{Sharing, VisitKind};
use bothy_shared::ids::ChildId;
use dioxus::prelude::*;

use crate::app::Route;
use bothy_shared::docs::DocKey;

use crate::components::{CheckBox, Choice, Notice, TextArea, TextField, WhoWillSee};
use crate::hooks::{use_child, use_me, use_visit_draft};

#[component]
pub fn RecordVisit(child: ChildId) -> Element {
    let name = use_child(child).map(|c| c.name).unwrap_or_default();
    let visit = use_visit_draft(child);
    // Each field changes one part of the draft; the hook keeps it at once.
    let edit =
        move |f: fn(&mut VisitDraft, String)| move |v: String| visit.change(move |d| f(d, v));
    let tick = move |f: fn(&mut VisitDraft, bool)| move |v: bool| visit.change(move |d| f(d, v));
    let d = visit.draft();
    let agency = use_me().and_then(|me| me.agency);
    // Where the visit goes, and where the child's words go when they did
    // not agree to share them (see `VisitDraft::child_said_shared`).
    let doc = agency.map(|a| d.doc_key(a));
    let words_apart = agency
        .filter(|_| d.child_said_kept_apart())
        .map(|a| DocKey::Agency(child, a));
    let kinds: Vec<(String, String)> = VisitKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
        .collect();
    let sharing = vec![
        ("team".to_owned(), "The whole team".to_owned()),
        ("agency".to_owned(), "My agency only".to_owned()),
    ];
    let save_click = move |_| {
        visit.save(false);
    };
    let finalise_click = move |_| {
        if visit.save(true) {
            navigator().push(Route::Child { id: child });
        }
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
            CheckBox {
                id: "visit-child-said-shared",
                label: "The child agrees their words can be shared with the team",
                checked: d.child_said_shared,
                onchange: tick(|d, v| d.child_said_shared = v),
            }
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
            if let Some(doc) = doc { WhoWillSee { doc } }
            if let Some(doc) = words_apart {
                WhoWillSee { doc, what: "Who will see what the child said".to_owned() }
            }
            Notice { message: visit.notice() }
            div { class: "actions",
                button { class: "primary", r#type: "button", onclick: save_click, "Save" }
                button { r#type: "button", onclick: finalise_click, "Finalise" }
            }
            p { class: "hint", "A finalised visit cannot be changed; corrections are added as an addendum." }
        }
    }
}
