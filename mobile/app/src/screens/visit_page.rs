//! One visit as recorded: what was seen and said, who recorded it, and its
//! addenda. A finalised visit never changes; a correction is an addendum
//! with its reason, added by anyone in the child's team.

use bothy_client::services::VisitView;
use bothy_shared::docs::Impact;
use bothy_shared::ids::{ChildId, ItemId};
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Notice, TextArea, TextField, WhoWillSee};
use crate::core::use_client;
use crate::hooks::use_visit;
use crate::words;

#[component]
pub fn VisitPage(child: ChildId, visit: ItemId) -> Element {
    match use_visit(child, visit) {
        Err(e) => rsx! {
            h1 { "Visit" }
            p { class: "notice problem", role: "alert", "{e}" }
            p { Link { to: Route::Child { id: child }, "Back to the child's page" } }
        },
        Ok(view) => rsx! { VisitDetails { view } },
    }
}

#[component]
fn VisitDetails(view: VisitView) -> Element {
    let client = use_client();
    let v = &view.visit;
    let child = v.child;
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let finalise = {
        let client = client.clone();
        let (key, id) = (view.doc, v.id);
        move |_| {
            notice.set(Some(
                client
                    .write(|c| c.finalise_visit(key, id))
                    .map(|()| "Visit finalised.".to_owned())
                    .map_err(|e| format!("Not finalised: {e}")),
            ));
        }
    };
    // A finalised visit is never edited: marking it significant adds a
    // chronology entry citing it, in the visit's own document.
    let mark = {
        let client = client.clone();
        let (key, id) = (view.doc, v.id);
        move |_| {
            notice.set(Some(
                client
                    .write(|c| c.mark_visit_significant(key, id, Impact::NotKnown))
                    .map(|_| "Marked significant: it is in the chronology.".to_owned())
                    .map_err(|e| format!("Not marked: {e}")),
            ));
        }
    };
    rsx! {
        h1 { "{v.kind.label()}" }
        p { class: "meta",
            "{words::date_time(v.at)}, recorded by {view.practitioner} ({view.agency.label()}). "
            match view.finalised {
                Some(at) => rsx! { "Finalised {words::date_time(at)}." },
                None => rsx! { strong { "Draft: not finalised yet." } },
            }
        }
        dl { class: "facts",
            if !v.place.is_empty() { dt { "Place" } dd { "{v.place}" } }
            if !v.present.is_empty() { dt { "Present" } dd { {v.present.join(", ")} } }
            dt { "The child" }
            dd {
                if v.seen_alone { "Seen alone" } else if v.child_seen { "Seen" } else { "Not seen" }
            }
            dt { "Shared with" }
            dd { {match v.sharing { bothy_shared::docs::Sharing::Team => "The whole team", bothy_shared::docs::Sharing::Agency => "This agency only" }} }
        }
        if !v.child_said.is_empty() {
            h2 { "What the child said" }
            blockquote { p { "“{v.child_said}”" } }
            if !v.child_said_shared {
                p { class: "meta", "Kept in {view.agency.label()}'s record only: the child did not agree to share these words with the team." }
            }
        }
        if !v.observations.is_empty() { h2 { "Observations" } p { "{v.observations}" } }
        if !v.analysis.is_empty() { h2 { "Analysis" } p { "{v.analysis}" } }
        if !v.next_steps.is_empty() { h2 { "Next steps" } p { "{v.next_steps}" } }
        if !view.addenda.is_empty() {
            section { aria_labelledby: "addenda-heading",
                h2 { id: "addenda-heading", "Addenda" }
                ol { class: "addenda",
                    for (i, a) in view.addenda.iter().enumerate() {
                        li { key: "{i}",
                            p { strong { "{a.by} ({a.agency.label()}), {words::date_time(a.at)}" } }
                            p { class: "meta", "Why: {a.reason}" }
                            p { "{a.text}" }
                        }
                    }
                }
            }
        }
        Notice { message: notice() }
        if view.can_edit {
            div { class: "actions",
                button { class: "primary", r#type: "button", onclick: finalise, "Finalise" }
            }
            p { class: "hint", "A finalised visit cannot be changed; corrections are added as an addendum." }
        }
        if view.can_add_addendum {
            div { class: "actions",
                button { r#type: "button", onclick: mark, "Mark significant: add to the chronology" }
            }
            AddendumForm { view: view.clone() }
        }
        p { Link { to: Route::Child { id: child }, "Back to the child's page" } }
    }
}

#[component]
fn AddendumForm(view: VisitView) -> Element {
    let client = use_client();
    let mut reason = use_signal(String::new);
    let mut text = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let (key, id) = (view.doc, view.visit.id);
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let result = client.write(|c| c.add_addendum(key, id, &reason.read(), &text.read()));
        match result {
            Ok(_) => {
                reason.set(String::new());
                text.set(String::new());
                notice.set(Some(Ok(
                    "Addendum added. It goes to the team next time this device syncs.".to_owned(),
                )));
            }
            Err(e) => notice.set(Some(Err(format!("Not added: {e}")))),
        }
    };
    rsx! {
        form { class: "stack", aria_label: "Add an addendum", onsubmit: submit,
            h2 { "Add an addendum" }
            TextField {
                id: "addendum-reason",
                label: "Why is it needed?",
                hint: "For example: a correction, or something learned later".to_owned(),
                value: reason(),
                oninput: move |v| reason.set(v),
            }
            TextArea { id: "addendum-text", label: "Addendum", value: text(), oninput: move |v| text.set(v) }
            WhoWillSee { doc: key }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "submit", "Add addendum" }
            }
        }
    }
}
