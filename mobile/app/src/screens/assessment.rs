//! Assessment, needs and reviews of the child's plan: assess a wellbeing
//! indicator (a new rating with the strengths and concerns behind it), the
//! My World Triangle, add / edit / close a need, set the next review date
//! and record a review meeting. Each save is one change to the plan made
//! through a service on the client core, merged field by field with other
//! agencies' edits when the device syncs.

use bothy_client::services::{AssessmentInput, ChildOverview, NeedInput, NeedView, ReviewInput};
use bothy_shared::docs::{DocKey, Indicator, IsoDate};
use bothy_shared::ids::{ChildId, ItemId};
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{CheckBox, Choice, Notice, TextArea, TextField, WhoWillSee};
use crate::core::use_client;
use crate::hooks::use_child;
use crate::words;

/// A message for the form's notice line.
type Said = Option<Result<String, String>>;

/// A date typed into a form: empty is `None`; anything not YYYY-MM-DD is
/// the words to show.
pub(super) fn typed_date(text: &str) -> Result<Option<IsoDate>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| "write the date as year-month-day, for example 2027-01-14".to_owned())
}

/// The child's page, or the words saying why it cannot be read.
pub(super) fn child_or_alert(
    heading: &'static str,
    child: ChildId,
) -> Result<ChildOverview, Element> {
    use_child(child).map_err(|e| {
        rsx! {
            h1 { "{heading}" }
            p { class: "notice problem", role: "alert", "{e}" }
        }
    })
}

// ------------------------------------------------------------ wellbeing

/// Assess one wellbeing indicator: a new rating from 1 to 10 in my name,
/// with the strengths and concerns behind it.
#[component]
pub fn AssessWellbeing(child: ChildId) -> Element {
    let overview = match child_or_alert("Assess wellbeing", child) {
        Ok(o) => o,
        Err(page) => return page,
    };
    rsx! { AssessmentForm { child, overview } }
}

#[component]
fn AssessmentForm(child: ChildId, overview: ChildOverview) -> Element {
    let client = use_client();
    let lines = overview.wellbeing.clone();
    let first = lines
        .first()
        .map(|l| l.indicator)
        .unwrap_or(Indicator::Safe);
    let mut indicator = use_signal(|| first);
    let text_of = {
        let lines = lines.clone();
        move |i: Indicator| {
            lines
                .iter()
                .find(|l| l.indicator == i)
                .map(|l| (l.strengths.clone(), l.concerns.clone()))
                .unwrap_or_default()
        }
    };
    let (s0, c0) = text_of(first);
    let mut score = use_signal(String::new);
    let mut strengths = use_signal(|| s0);
    let mut concerns = use_signal(|| c0);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let current = lines.iter().find(|l| l.indicator == indicator()).cloned();
    let options: Vec<(String, String)> = Indicator::ALL
        .iter()
        .map(|i| (i.as_str().to_owned(), i.label().to_owned()))
        .collect();
    let mut scores = vec![(String::new(), "Choose a rating".to_owned())];
    scores.extend((1..=10).map(|n| {
        let words = match n {
            1 => " (serious concern)".to_owned(),
            10 => " (thriving)".to_owned(),
            _ => String::new(),
        };
        (n.to_string(), format!("{n}{words}"))
    }));
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let Ok(n) = score.read().parse::<u8>() else {
            notice.set(Some(Err("Not saved: choose a rating from 1 to 10.".into())));
            return;
        };
        let input = AssessmentInput {
            score: n,
            strengths: Some(strengths.read().clone()),
            concerns: Some(concerns.read().clone()),
            note: String::new(),
        };
        let which = indicator();
        match client.write(|c| c.assess_wellbeing(child, which, &input)) {
            Ok(_) => {
                score.set(String::new());
                notice.set(Some(Ok(format!(
                    "{} rated {n} out of 10. It goes to the team next time this device syncs.",
                    which.label()
                ))));
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        h1 { "Assess wellbeing" }
        p { class: "meta", "{overview.name}" }
        WhoWillSee {
            doc: DocKey::Plan(child),
            withheld: overview.withholds(&format!("wellbeing/{}", indicator().as_str())),
        }
        form { class: "stack", aria_label: "Wellbeing assessment", onsubmit: submit,
            Choice {
                id: "assess-indicator",
                label: "Wellbeing indicator",
                value: indicator().as_str().to_owned(),
                options,
                onchange: move |v: String| {
                    if let Some(i) = Indicator::from_slug(&v) {
                        indicator.set(i);
                        let (s, c) = text_of(i);
                        strengths.set(s);
                        concerns.set(c);
                    }
                },
            }
            if let Some(line) = &current {
                p { class: "meta", id: "assess-current",
                    "Now: {rating_words(line.now)}"
                    if let (Some(name), Some(on)) = (&line.now_by_name, line.now_on) {
                        ", by {name} on {words::date(on)}"
                    }
                    ". At the last review: {rating_words(line.before)}."
                }
            }
            Choice {
                id: "assess-score",
                label: "Rating (1 to 10)",
                value: score(),
                options: scores,
                onchange: move |v| score.set(v),
            }
            TextArea {
                id: "assess-strengths",
                label: "Strengths",
                hint: "What is going well".to_owned(),
                value: strengths(),
                oninput: move |v| strengths.set(v),
            }
            TextArea {
                id: "assess-concerns",
                label: "Concerns",
                hint: "What worries you, in plain words".to_owned(),
                value: concerns(),
                oninput: move |v| concerns.set(v),
            }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "submit", "Save rating" }
                Link { class: "button", to: Route::Child { id: child }, "Back to the child's page" }
            }
        }
    }
}

fn rating_words(r: Option<u8>) -> String {
    r.map(|r| format!("{r} out of 10"))
        .unwrap_or_else(|| "not rated".to_owned())
}

// ------------------------------------------------------------ My World

/// The My World Triangle, editable.
#[component]
pub fn MyWorldEdit(child: ChildId) -> Element {
    let overview = match child_or_alert("My World Triangle", child) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let withheld = overview.withholds("my_world");
    rsx! { MyWorldForm { child, now: overview.my_world.clone(), withheld } }
}

#[component]
fn MyWorldForm(child: ChildId, now: [String; 3], withheld: bool) -> Element {
    let client = use_client();
    let [g, c, w] = now;
    let mut growing = use_signal(|| g);
    let mut care = use_signal(|| c);
    let mut wider = use_signal(|| w);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let (g, c, w) = (
            growing.read().clone(),
            care.read().clone(),
            wider.read().clone(),
        );
        match client.write(|cl| cl.edit_my_world(child, &g, &c, &w)) {
            Ok(()) => {
                navigator().push(Route::Child { id: child });
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        h1 { "My World Triangle" }
        WhoWillSee { doc: DocKey::Plan(child), withheld }
        form { class: "stack", aria_label: "My World Triangle", onsubmit: submit,
            TextArea {
                id: "world-growing",
                label: "How I grow and develop",
                value: growing(),
                oninput: move |v| growing.set(v),
            }
            TextArea {
                id: "world-care",
                label: "What I need from the people who look after me",
                value: care(),
                oninput: move |v| care.set(v),
            }
            TextArea {
                id: "world-wider",
                label: "My wider world",
                value: wider(),
                oninput: move |v| wider.set(v),
            }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "submit", "Save" }
                Link { class: "button", to: Route::Child { id: child }, "Cancel" }
            }
        }
    }
}

// ------------------------------------------------------------ needs

/// The fields of a need, shared by the add and edit forms.
#[component]
fn NeedFields(
    need: Signal<String>,
    outcome: Signal<String>,
    evidence: Signal<String>,
    indicators: Signal<Vec<Indicator>>,
) -> Element {
    let mut need = need;
    let mut outcome = outcome;
    let mut evidence = evidence;
    let mut indicators = indicators;
    rsx! {
        TextArea { id: "need-need", label: "The need", value: need(), oninput: move |v| need.set(v) }
        TextArea {
            id: "need-outcome",
            label: "Desired outcome",
            value: outcome(),
            oninput: move |v| outcome.set(v),
        }
        TextArea {
            id: "need-evidence",
            label: "How we will know",
            hint: "The evidence that the outcome is reached".to_owned(),
            value: evidence(),
            oninput: move |v| evidence.set(v),
        }
        fieldset {
            legend { "Wellbeing indicators it is about" }
            for i in Indicator::ALL {
                CheckBox {
                    key: "{i.as_str()}",
                    id: "need-indicator-{i.as_str()}",
                    label: i.label().to_owned(),
                    checked: indicators.read().contains(&i),
                    onchange: move |on: bool| {
                        let mut list = indicators.write();
                        list.retain(|x| *x != i);
                        if on {
                            list.push(i);
                            list.sort();
                        }
                    },
                }
            }
        }
    }
}

/// Add a need to the child's plan.
#[component]
pub fn AddNeed(child: ChildId) -> Element {
    let client = use_client();
    let need = use_signal(String::new);
    let outcome = use_signal(String::new);
    let evidence = use_signal(String::new);
    let indicators = use_signal(Vec::<Indicator>::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let input = NeedInput {
            need: need.read().clone(),
            desired_outcome: outcome.read().clone(),
            evidence: evidence.read().clone(),
            indicators: indicators.read().clone(),
        };
        let result = client.write(|c| {
            c.add_need(
                child,
                &input.need,
                &input.desired_outcome,
                &input.evidence,
                &input.indicators,
            )
        });
        match result {
            Ok(_) => {
                navigator().push(Route::Child { id: child });
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        h1 { "Add a need" }
        WhoWillSee { doc: DocKey::Plan(child) }
        form { class: "stack", aria_label: "New need", onsubmit: submit,
            NeedFields { need, outcome, evidence, indicators }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "submit", "Add need" }
                Link { class: "button", to: Route::Child { id: child }, "Cancel" }
            }
        }
    }
}

/// Edit a need, close it with a reason, or open it again.
#[component]
pub fn EditNeed(child: ChildId, need: ItemId) -> Element {
    let overview = match child_or_alert("Edit a need", child) {
        Ok(o) => o,
        Err(page) => return page,
    };
    let withheld = overview.withholds(&format!("need/{need}"));
    match overview.needs.into_iter().find(|n| n.id == need) {
        Some(n) => rsx! { EditNeedForm { key: "{n.id}", child, need: n, withheld } },
        None => rsx! {
            h1 { "Edit a need" }
            p { class: "notice problem", role: "alert", "No need {need} in this plan." }
        },
    }
}

#[component]
fn EditNeedForm(child: ChildId, need: NeedView, withheld: bool) -> Element {
    let client = use_client();
    let id = need.id;
    let words = use_signal(|| need.need.clone());
    let outcome = use_signal(|| need.desired_outcome.clone());
    let evidence = use_signal(|| need.evidence.clone());
    let indicators = use_signal(|| need.indicators.clone());
    let mut reason = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let mut close_notice = use_signal(|| None::<Result<String, String>>);
    let save = {
        let client = client.clone();
        move |e: FormEvent| {
            e.prevent_default();
            let input = NeedInput {
                need: words.read().clone(),
                desired_outcome: outcome.read().clone(),
                evidence: evidence.read().clone(),
                indicators: indicators.read().clone(),
            };
            match client.write(|c| c.edit_need(child, id, &input)) {
                Ok(()) => {
                    navigator().push(Route::Child { id: child });
                }
                Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
            }
        }
    };
    let close = {
        let client = client.clone();
        move |e: FormEvent| {
            e.prevent_default();
            match client.write(|c| c.close_need(child, id, &reason.read())) {
                Ok(()) => {
                    navigator().push(Route::Child { id: child });
                }
                Err(e) => close_notice.set(Some(Err(format!("Not closed: {e}")))),
            }
        }
    };
    let reopen = move |e: FormEvent| {
        e.prevent_default();
        match client.write(|c| c.reopen_need(child, id)) {
            Ok(()) => close_notice.set(Some(Ok("The need is open again.".into()))),
            Err(e) => close_notice.set(Some(Err(format!("Not opened: {e}")))),
        }
    };
    rsx! {
        h1 { "Edit a need" }
        WhoWillSee { doc: DocKey::Plan(child), withheld }
        form { class: "stack", aria_label: "Edit the need", onsubmit: save,
            NeedFields { need: words, outcome, evidence, indicators }
            Notice { message: notice() }
            div { class: "actions",
                button { class: "primary", r#type: "submit", "Save" }
                Link { class: "button", to: Route::Child { id: child }, "Cancel" }
            }
        }
        section { aria_labelledby: "close-heading",
            h2 { id: "close-heading", "Close this need" }
            if let Some(c) = &need.closed {
                p { id: "need-closed",
                    "Closed on {closed_day(c.at)} by {c.by_name}: {c.reason}"
                }
                form { class: "stack", aria_label: "Open the need again", onsubmit: reopen,
                    Notice { message: close_notice() }
                    button { r#type: "submit", "Open it again" }
                }
            } else {
                form { class: "stack", aria_label: "Close the need", onsubmit: close,
                    TextField {
                        id: "need-close-reason",
                        label: "Why it is closed",
                        hint: "For example: outcome reached".to_owned(),
                        value: reason(),
                        oninput: move |v| reason.set(v),
                    }
                    Notice { message: close_notice() }
                    button { r#type: "submit", "Close need" }
                }
            }
        }
    }
}

fn closed_day(at: bothy_shared::docs::Timestamp) -> String {
    at.date().map(words::date).unwrap_or_else(|| at.to_string())
}

// ------------------------------------------------------------ reviews

/// Set the next review date and record a review meeting.
#[component]
pub fn PlanReview(child: ChildId) -> Element {
    let overview = match child_or_alert("Review the plan", child) {
        Ok(o) => o,
        Err(page) => return page,
    };
    rsx! { ReviewForms { child, overview } }
}

#[component]
fn ReviewForms(child: ChildId, overview: ChildOverview) -> Element {
    let client = use_client();
    let mut next_date = use_signal(|| {
        overview
            .review_date
            .map(|d| d.to_string())
            .unwrap_or_default()
    });
    let mut date_notice = use_signal(|| None::<Result<String, String>>);
    let mut held = use_signal(|| IsoDate::today().to_string());
    let mut attended = use_signal(String::new);
    let mut yp_views = use_signal(String::new);
    let mut family_views = use_signal(String::new);
    let mut decisions = use_signal(String::new);
    let mut changes = use_signal(String::new);
    let mut next = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let set_date = {
        let client = client.clone();
        move |e: FormEvent| {
            e.prevent_default();
            let said: Said = match typed_date(&next_date.read()) {
                Err(w) => Some(Err(format!("Not saved: {w}."))),
                Ok(d) => match client.write(|c| c.set_review_date(child, d)) {
                    Ok(()) => Some(Ok(format!("Next review: {}.", words::maybe_date(d)))),
                    Err(e) => Some(Err(format!("Not saved: {e}"))),
                },
            };
            date_notice.set(said);
        }
    };
    let record = move |e: FormEvent| {
        e.prevent_default();
        let held_on = match typed_date(&held.read()) {
            Ok(Some(d)) => d,
            Ok(None) => {
                notice.set(Some(
                    Err("Not saved: say when the meeting was held.".into()),
                ));
                return;
            }
            Err(w) => {
                notice.set(Some(Err(format!("Not saved: {w}."))));
                return;
            }
        };
        let next_review = match typed_date(&next.read()) {
            Ok(d) => d,
            Err(w) => {
                notice.set(Some(Err(format!("Not saved: {w}."))));
                return;
            }
        };
        let input = ReviewInput {
            held_on,
            attended: ReviewInput::names(&attended.read()),
            young_person_views: yp_views.read().clone(),
            family_views: family_views.read().clone(),
            decisions: decisions.read().clone(),
            plan_changes: changes.read().clone(),
            next_review,
        };
        match client.write(|c| c.record_review(child, &input)) {
            Ok(_) => {
                navigator().push(Route::Child { id: child });
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        h1 { "Review the plan" }
        p { class: "meta", "{overview.name}" }
        section { aria_labelledby: "next-review-heading",
            h2 { id: "next-review-heading", "Next review date" }
            // The review date is never withheld: the young person reads when
            // the team meets next.
            WhoWillSee { doc: DocKey::Plan(child) }
            form { class: "stack", aria_label: "Next review date", onsubmit: set_date,
                TextField {
                    id: "review-date",
                    label: "Next review",
                    kind: "date",
                    value: next_date(),
                    oninput: move |v| next_date.set(v),
                }
                Notice { message: date_notice() }
                button { r#type: "submit", "Set review date" }
            }
        }
        section { aria_labelledby: "meeting-heading",
            h2 { id: "meeting-heading", "Record a review meeting" }
            if let Some(last) = &overview.last_review {
                p { class: "meta", "Last review: {words::date(last.held_on)}." }
            }
            WhoWillSee {
                doc: DocKey::Plan(child),
                withheld: overview.withholds("reviews"),
            }
            form { class: "stack", aria_label: "Review meeting", onsubmit: record,
                TextField {
                    id: "review-held",
                    label: "Date held",
                    kind: "date",
                    value: held(),
                    oninput: move |v| held.set(v),
                }
                TextField {
                    id: "review-attended",
                    label: "Who attended",
                    hint: "Names, separated by commas".to_owned(),
                    value: attended(),
                    oninput: move |v| attended.set(v),
                }
                TextArea {
                    id: "review-yp-views",
                    label: "The young person's views",
                    value: yp_views(),
                    oninput: move |v| yp_views.set(v),
                }
                TextArea {
                    id: "review-family-views",
                    label: "The family's views",
                    value: family_views(),
                    oninput: move |v| family_views.set(v),
                }
                TextArea {
                    id: "review-decisions",
                    label: "Decisions",
                    value: decisions(),
                    oninput: move |v| decisions.set(v),
                }
                TextArea {
                    id: "review-changes",
                    label: "What changed in the plan",
                    hint: "In words the young person can read: they see this in My plan".to_owned(),
                    value: changes(),
                    oninput: move |v| changes.set(v),
                }
                TextField {
                    id: "review-next",
                    label: "Next review date agreed",
                    kind: "date",
                    hint: "Optional".to_owned(),
                    value: next(),
                    oninput: move |v| next.set(v),
                }
                Notice { message: notice() }
                div { class: "actions",
                    button { class: "primary", r#type: "submit", "Record review" }
                    Link { class: "button", to: Route::Child { id: child }, "Cancel" }
                }
            }
        }
    }
}
