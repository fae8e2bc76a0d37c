#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Tests may unwrap and panic: a failure is the report.

//! The Team outcomes screen rendered over a REAL client core (an encrypted
//! store seeded with the demo partnership as Fiona, the team manager): two
//! charts, each with a table of the same numbers; the fall in Ellie's
//! Healthy rating as a link to her page; the review, visit and seen-alone
//! sentences; "No ratings yet" when nobody has rated; the link from the
//! Supervision screen.

mod common;

use bothy_app::Device;
use bothy_client::Client;
use bothy_client::store::{KdfParams, Passcode, Store};
use bothy_shared::demo::{self, ELLIE};
use common::{PASSCODE, Screen, seeded_client};

fn fiona(dir: &std::path::Path) -> Device {
    Device::unlocked(seeded_client(dir, "Fiona"))
}

/// The part of the page from `from` to the next `until`.
fn part<'a>(html: &'a str, from: &str, until: &str) -> &'a str {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("{from} not on screen:\n{html}"));
    let end = html[start..].find(until).map_or(html.len(), |e| start + e);
    &html[start..end]
}

/// The numbers of one row of a table: the cells after its row header.
fn row(table: &str, label: &str) -> Vec<u32> {
    let at = table
        .find(&format!(">{label}</th>"))
        .unwrap_or_else(|| panic!("no row {label} in {table}"));
    let rest = &table[at..table[at..].find("</tr>").map_or(table.len(), |e| at + e)];
    rest.split("<td")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
            text.trim().parse().unwrap()
        })
        .collect()
}

#[test]
fn the_outcome_view_draws_both_charts_with_their_numbers_and_names_the_falls() {
    let dir = tempfile::tempdir().unwrap();
    let core = fiona(dir.path());
    let o = core.with_client(|c| c.team_outcomes()).unwrap().unwrap();
    let screen = Screen::open(core, "/outcomes");
    let html = screen.html();
    assert!(html.contains("<h1>Team outcomes</h1>"), "{html}");

    // Two pictures, each named for screen readers and pointing to its table.
    assert_eq!(html.matches("<svg").count(), 2, "{html}");
    assert_eq!(html.matches("role=\"img\"").count(), 2, "{html}");
    assert!(html.contains("<title>Now: chart of children in each band."));
    assert!(html.contains("<title>At their last review: chart of children in each band."));
    assert_eq!(
        html.matches("viewBox=\"0 0 ").count(),
        2,
        "each scales to its container"
    );
    assert_eq!(html.matches("width=\"100%\"").count(), 2);

    // The key names each band in words beside its colour.
    for words in [
        "1-3: serious concern",
        "4-6: some concern",
        "7-10: doing well",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }

    // The numbers in text: the demo's Kai (October) and Ellie (November)
    // now; at their reviews Kai's July and Ellie's August ratings.
    let now = part(&html, "<caption>Now:", "</table>");
    assert!(now.contains("(2 children rated)"), "{now}");
    assert_eq!(row(now, "Healthy"), [0, 2, 0], "Kai 6, Ellie 4");
    assert_eq!(row(now, "Achieving"), [1, 1, 0], "Kai 4, Ellie 3");
    assert_eq!(row(now, "Safe"), [0, 1, 0], "Kai 6");
    assert_eq!(row(now, "Nurtured"), [0, 1, 1], "Kai 6, Ellie 7");
    let then = part(&html, "<caption>At their last review:", "</table>");
    assert_eq!(row(then, "Achieving"), [1, 1, 0], "Kai 3, Ellie 4");
    assert_eq!(row(then, "Safe"), [0, 1, 0], "Kai 5");
    assert_eq!(row(then, "Responsible"), [0, 1, 0], "Kai 6");

    // The fall by 2 is named, with a link to Ellie's page; her fall by 1
    // (Achieving 4 to 3) is not listed.
    let falls = part(&html, "Ratings that fell by 2 or more", "</section>");
    assert!(
        falls.contains(&format!("href=\"/child/{ELLIE}\"")),
        "{falls}"
    );
    assert!(falls.contains("Ellie Watson"), "{falls}");
    assert!(falls.contains(": Healthy fell from 6 to 4"), "{falls}");
    assert!(!falls.contains("Achieving"), "{falls}");
    assert_eq!(falls.matches("<li").count(), 1, "{falls}");

    // Reviews, visits and seen alone as sentences.
    let figures = part(&html, "Reviews and visits", "</section>");
    for sentence in [
        o.reviews_sentence(),
        o.visits_sentence(),
        o.seen_alone_sentence(),
    ] {
        assert!(figures.contains(&sentence), "{sentence}: {figures}");
    }
    // Ruaridh has never been visited: named under the overdue visits.
    assert!(figures.contains("Ruaridh Paterson"), "{figures}");
}

#[test]
fn with_no_ratings_the_view_says_so_and_draws_no_chart() {
    let dir = tempfile::tempdir().unwrap();
    let mut partnership = demo::partnership();
    for child in &mut partnership.children {
        child.plan.wellbeing = Default::default();
    }
    let store = Store::create(
        dir.path(),
        &Passcode::new(PASSCODE.to_owned()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    let client = Client::seed_from(store, &partnership, "Fiona").unwrap();
    let html = Screen::open(Device::unlocked(client), "/outcomes").html();
    assert!(html.contains("No ratings yet."), "{html}");
    assert!(!html.contains("<svg"), "{html}");
    assert!(!html.contains("<table"), "{html}");
    assert!(
        html.contains("No rating has fallen by 2 or more since the last review."),
        "{html}"
    );
    // The review and visit figures do not need ratings.
    assert!(html.contains("Reviews and visits"), "{html}");
}

#[test]
fn the_supervision_screen_links_to_the_outcome_view() {
    let dir = tempfile::tempdir().unwrap();
    let html = Screen::open(fiona(dir.path()), "/supervision").html();
    assert!(html.contains("href=\"/outcomes\""), "{html}");
    assert!(html.contains("Team outcomes: ratings, reviews and visits"));
}

#[test]
fn a_young_person_never_reaches_the_outcome_view() {
    let dir = tempfile::tempdir().unwrap();
    let html = Screen::open(
        Device::unlocked(seeded_client(dir.path(), "Kai")),
        "/outcomes",
    )
    .html();
    assert!(html.contains("<h1>Not part of your plan</h1>"), "{html}");
    assert!(!html.contains("<h1>Team outcomes</h1>"), "{html}");
    assert!(!html.contains("<svg"), "{html}");
    assert!(!html.contains("Ellie"), "{html}");
}
