//! The chronology: every entry the reader may see (team record, the agency
//! records they read, visits marked significant) in date order, filtered by
//! agency and impact, and a form to add an entry by hand.

use bothy_client::services::{ChronologyFilter, ChronologyInput};
use bothy_shared::docs::{DocKey, Impact, IsoDate, Significance};
use bothy_shared::ids::{Agency, ChildId};
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{Choice, Notice, TextArea, TextField, WhoWillSee};
use crate::core::use_client;
use crate::hooks::{use_child, use_chronology_filtered, use_me};

fn impact_options(all: &str) -> Vec<(String, String)> {
    let mut options = vec![(String::new(), all.to_owned())];
    options.extend(
        Impact::ALL
            .iter()
            .map(|i| (i.as_str().to_owned(), i.label().to_owned())),
    );
    options
}

#[component]
pub fn ChronologyPage(child: ChildId) -> Element {
    let name = use_child(child).map(|c| c.name).unwrap_or_default();
    let mut filter = use_signal(ChronologyFilter::default);
    let items = use_chronology_filtered(child, filter());
    let mut agencies = vec![(String::new(), "All agencies".to_owned())];
    agencies.extend(
        Agency::ALL
            .iter()
            .map(|a| (a.as_str().to_owned(), a.label().to_owned())),
    );
    let f = filter();
    rsx! {
        h1 { "Chronology" }
        if !name.is_empty() { p { class: "meta", "For {name}" } }
        form { class: "stack filters", aria_label: "Filter the chronology", onsubmit: move |e| e.prevent_default(),
            Choice {
                id: "chronology-filter-agency",
                label: "Source agency",
                value: f.agency.map(|a| a.as_str().to_owned()).unwrap_or_default(),
                options: agencies,
                onchange: move |v: String| filter.write().agency = Agency::from_slug(&v),
            }
            Choice {
                id: "chronology-filter-impact",
                label: "Impact on the child",
                value: f.impact.map(|i| i.as_str().to_owned()).unwrap_or_default(),
                options: impact_options("Any impact"),
                onchange: move |v: String| filter.write().impact = Impact::from_slug(&v),
            }
        }
        match items {
            Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
            Ok(items) if items.is_empty() => rsx! { p { "No events match." } },
            Ok(items) => rsx! {
                ol { class: "chronology",
                    for item in items { super::child::ChronologyRow { key: "{item.id}", item } }
                }
            },
        }
        AddEntry { child }
        p { Link { class: "button", to: Route::Child { id: child }, "Back to the child's page" } }
    }
}

/// Add an entry by hand; my agency is its source.
#[component]
fn AddEntry(child: ChildId) -> Element {
    let client = use_client();
    let blank = || ChronologyInput {
        date: IsoDate::today(),
        until: None,
        event: String::new(),
        impact: Impact::NotKnown,
        impact_note: String::new(),
        action: String::new(),
        significance: Significance::Significant,
    };
    let mut input = use_signal(blank);
    let mut agency_only = use_signal(|| false);
    let mut date = use_signal(|| IsoDate::today().to_string());
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let agency = use_me().and_then(|me| me.agency);
    let save = move |e: FormEvent| {
        e.prevent_default();
        let parsed: Result<IsoDate, _> = date.read().trim().parse();
        let Ok(when) = parsed else {
            notice.set(Some(Err(
                "Not saved: the date must be written as YYYY-MM-DD".to_owned(),
            )));
            return;
        };
        input.write().date = when;
        match client.write(|c| c.add_chronology_entry(child, &input.read(), agency_only())) {
            Ok(_) => {
                input.set(blank());
                notice.set(Some(Ok("Added to the chronology.".to_owned())));
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    let i = input.read().clone();
    let sharing = vec![
        ("team".to_owned(), "The whole team".to_owned()),
        ("agency".to_owned(), "My agency only".to_owned()),
    ];
    let mut impacts = impact_options("Not known");
    impacts.retain(|(v, _)| !v.is_empty());
    rsx! {
        section { aria_labelledby: "add-entry-heading",
            h2 { id: "add-entry-heading", "Add an event" }
            if let Some(a) = agency { p { class: "meta", "Source agency: {a.label()}" } }
            form { class: "stack", aria_label: "Add an event to the chronology", onsubmit: save,
                TextField {
                    id: "chronology-date",
                    label: "Date",
                    kind: "date".to_owned(),
                    value: date(),
                    oninput: move |v| date.set(v),
                }
                TextArea {
                    id: "chronology-event",
                    label: "What happened",
                    hint: "Brief, factual, plain English".to_owned(),
                    value: i.event.clone(),
                    oninput: move |v| input.write().event = v,
                }
                Choice {
                    id: "chronology-impact",
                    label: "Impact on the child",
                    value: i.impact.as_str(),
                    options: impacts,
                    onchange: move |v: String| {
                        if let Some(found) = Impact::from_slug(&v) {
                            input.write().impact = found;
                        }
                    },
                }
                TextArea {
                    id: "chronology-action",
                    label: "Action taken",
                    hint: "Or why none was taken".to_owned(),
                    value: i.action.clone(),
                    oninput: move |v| input.write().action = v,
                }
                Choice {
                    id: "chronology-sharing",
                    label: "Share with",
                    value: if agency_only() { "agency" } else { "team" },
                    options: sharing,
                    onchange: move |v: String| agency_only.set(v == "agency"),
                }
                if let Some(a) = agency {
                    WhoWillSee { doc: if agency_only() { DocKey::Agency(child, a) } else { DocKey::Record(child) } }
                }
                Notice { message: notice() }
                button { class: "primary", r#type: "submit", "Add to the chronology" }
            }
        }
    }
}
