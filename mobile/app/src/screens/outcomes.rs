//! Team outcomes: the supervisor's view of the team's caseload, from the
//! documents on this device. Two charts (children in each band for each
//! wellbeing indicator, now and at their last review), each with a table of
//! the same numbers beside it; the children whose rating fell by 2 or more,
//! each a link to their page; reviews on time, visits overdue and seen alone
//! as plain sentences.
//!
//! The charts are pictures (`role="img"`, named by their title, which says
//! the numbers are in the table): a screen reader reads the table, once.

use bothy_client::services::{IndicatorBands, TeamOutcomes as Outcomes, band_labels};
use bothy_shared::outcomes::{BAND_COLOURS, band_chart_svg};
use dioxus::prelude::*;

use crate::app::Route;
use crate::hooks::use_team_outcomes;
use crate::words;

#[component]
pub fn TeamOutcomes() -> Element {
    let outcomes = use_team_outcomes();
    rsx! {
        h1 { "Team outcomes" }
        match outcomes {
            Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
            Ok(o) => rsx! { OutcomesView { o } },
        }
    }
}

#[component]
fn OutcomesView(o: Outcomes) -> Element {
    if o.children == 0 {
        return rsx! { p { "No children on this device yet. They come with your next sync." } };
    }
    rsx! {
        p { class: "hint",
            "The {bothy_client::services::count_children(o.children)} on this device, on {words::date(o.as_of)}, from what the team has recorded and synced."
        }
        section { aria_labelledby: "bands-heading",
            h2 { id: "bands-heading", "Wellbeing ratings" }
            if o.has_ratings() {
                BandKey {}
                BandChart {
                    id: "now",
                    heading: "Now",
                    rated: o.rated_now,
                    rows: o.now.clone(),
                }
                BandChart {
                    id: "review",
                    heading: "At their last review",
                    rated: o.rated_at_last_review,
                    rows: o.at_last_review.clone(),
                }
            } else {
                p { "No ratings yet." }
            }
        }
        section { aria_labelledby: "falls-heading",
            h2 { id: "falls-heading", "Ratings that fell by 2 or more" }
            if o.falls.is_empty() {
                p { "No rating has fallen by 2 or more since the last review." }
            } else {
                p { class: "hint", "Since each child's last review, out of 10." }
                ul { class: "falls",
                    for f in o.falls.iter() {
                        li { key: "{f.child}-{f.label}",
                            Link { to: Route::Child { id: f.child }, "{f.name}" }
                            ": {f.label} fell from {f.at_last_review} to {f.now}"
                        }
                    }
                }
            }
        }
        section { aria_labelledby: "reviews-heading",
            h2 { id: "reviews-heading", "Reviews and visits" }
            p { "{o.reviews_sentence()}" }
            p { "{o.visits_sentence()}" }
            if !o.visits_overdue.is_empty() {
                ul { class: "falls", aria_label: "Visits overdue",
                    for c in o.visits_overdue.iter() {
                        li { key: "{c.child}",
                            Link { to: Route::Child { id: c.child }, "{c.name}" }
                        }
                    }
                }
            }
            p { "{o.seen_alone_sentence()}" }
        }
    }
}

/// What the three colours mean (the tables carry the numbers too).
#[component]
fn BandKey() -> Element {
    let words = ["serious concern", "some concern", "doing well"];
    rsx! {
        ul { class: "band-key", aria_label: "Key to the charts",
            for (i, label) in band_labels().into_iter().enumerate() {
                li { key: "{label}",
                    span { class: "swatch", style: "background: {colour(i)}" }
                    "{label}: {words[i]}"
                }
            }
        }
    }
}

fn colour(band: usize) -> String {
    let (r, g, b) = BAND_COLOURS[band.min(2)];
    format!("rgb({r}, {g}, {b})")
}

/// One chart and its table: children in each band, per indicator.
#[component]
fn BandChart(id: String, heading: String, rated: u32, rows: Vec<IndicatorBands>) -> Element {
    let [low, mid, high] = band_labels();
    let heading_id = format!("chart-{id}-heading");
    let title =
        format!("{heading}: chart of children in each band. The numbers are in the table below.");
    let data: Vec<(&str, [u32; 3])> = rows.iter().map(|r| (r.label, r.bands)).collect();
    // Without a picture the table still says it all.
    let svg = band_chart_svg(&title, &data).ok();
    rsx! {
        section { class: "chart", aria_labelledby: "{heading_id}",
            h3 { id: "{heading_id}", "{heading}" }
            if rated == 0 {
                p { "No ratings yet." }
            } else {
                if let Some(svg) = svg {
                    div { class: "chart-picture", dangerous_inner_html: "{svg}" }
                }
                div { class: "table-scroll",
                    table { class: "bands",
                        caption { "{heading}: children in each band ({bothy_client::services::count_children(rated)} rated)" }
                        thead {
                            tr {
                                th { scope: "col", "Indicator" }
                                th { scope: "col", "{low}" }
                                th { scope: "col", "{mid}" }
                                th { scope: "col", "{high}" }
                            }
                        }
                        tbody {
                            for r in rows.iter() {
                                tr { key: "{r.label}",
                                    th { scope: "row", "{r.label}" }
                                    td { "{r.bands[0]}" }
                                    td { "{r.bands[1]}" }
                                    td { "{r.bands[2]}" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
