//! Requests for help: the one "Ask for help" form (from the caseload, or
//! from a child's page with the child chosen), the list of my requests and
//! my duty team's with their states, and one request's page, where a duty
//! worker accepts (after the match check), declines with a reason or asks
//! for more, and the sender answers or withdraws.

use bothy_client::services::{NewRequest, RequestLine};
use bothy_shared::docs::{Indicator, IsoDate, RequestSide, SharingBasis, StepKind};
use bothy_shared::ids::{Agency, ChildId, RequestId};
use bothy_shared::wire::ChildMatch;
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{CheckBox, Choice, Notice, TextArea, TextField};
use crate::core::use_client;
use crate::hooks::{use_child, use_request, use_requests};
use crate::words;

/// "Ask for help", from the caseload: about any child.
#[component]
pub fn AskForHelp() -> Element {
    rsx! { RequestForm { child: None } }
}

/// "Ask for help", from a child's page: about that child.
#[component]
pub fn AskForHelpAbout(child: ChildId) -> Element {
    rsx! { RequestForm { child: Some(child) } }
}

fn agency_options() -> Vec<(String, String)> {
    let mut options = vec![(String::new(), "Choose an agency".to_owned())];
    options.extend(
        Agency::ALL
            .iter()
            .map(|a| (a.as_str().to_owned(), a.label().to_owned())),
    );
    options
}

fn basis_options() -> Vec<(String, String)> {
    let mut options = vec![(String::new(), "Choose one".to_owned())];
    options.extend(
        SharingBasis::ALL
            .iter()
            .map(|b| (b.as_str().to_owned(), b.label().to_owned())),
    );
    options
}

/// The one form: who to ask, about whom, why, the wellbeing concerns, what
/// the child and family think, consent or the lawful basis, urgency.
#[component]
fn RequestForm(child: Option<ChildId>) -> Element {
    let client = use_client();
    let known = child.and_then(|c| use_child(c).ok()).map(|c| c.name);
    let mut input = use_signal(|| NewRequest {
        child,
        ..NewRequest::default()
    });
    let mut born = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let send = move |e: FormEvent| {
        e.prevent_default();
        let when = born.read().trim().to_owned();
        if !when.is_empty() {
            match when.parse::<IsoDate>() {
                Ok(d) => input.write().born = Some(d),
                Err(_) => {
                    notice.set(Some(Err(words::REQUEST_BAD_DATE.to_owned())));
                    return;
                }
            }
        }
        let new = input.read().clone();
        match client.write(|c| c.send_request(new)) {
            Ok(id) => {
                input.set(NewRequest {
                    child,
                    ..NewRequest::default()
                });
                born.set(String::new());
                notice.set(Some(Ok(format!(
                    "{} (request {})",
                    words::REQUEST_SAVED,
                    short(id)
                ))));
            }
            Err(e) => notice.set(Some(Err(format!("Not sent: {e}")))),
        }
    };
    let i = input.read().clone();
    rsx! {
        h1 { "Ask for help" }
        p { class: "meta", "{words::REQUEST_INTRO}" }
        form { class: "stack", aria_label: "Ask for help", onsubmit: send,
            Choice {
                id: "request-to",
                label: "Ask which agency's duty team",
                value: i.to.map(|a| a.as_str().to_owned()).unwrap_or_default(),
                options: agency_options(),
                onchange: move |v: String| input.write().to = Agency::from_slug(&v),
            }
            fieldset {
                legend { "About the child" }
                if let Some(name) = known {
                    p { "{name}" }
                } else {
                    TextField {
                        id: "request-name",
                        label: "Full name",
                        value: i.name.clone(),
                        oninput: move |v| input.write().name = v,
                    }
                    TextField {
                        id: "request-born",
                        label: "Date of birth",
                        kind: "date".to_owned(),
                        value: born(),
                        oninput: move |v| born.set(v),
                    }
                    TextField {
                        id: "request-school",
                        label: "School or nursery",
                        value: i.school.clone(),
                        oninput: move |v| input.write().school = v,
                    }
                    TextField {
                        id: "request-address",
                        label: "Address",
                        value: i.address.clone(),
                        oninput: move |v| input.write().address = v,
                    }
                }
            }
            TextArea {
                id: "request-reason",
                label: "Why are you asking for help?",
                value: i.reason.clone(),
                oninput: move |v| input.write().reason = v,
            }
            fieldset {
                legend { "Wellbeing concerns" }
                for indicator in Indicator::ALL {
                    CheckBox {
                        key: "{indicator.as_str()}",
                        id: "request-concern-{indicator.as_str()}",
                        label: indicator.label(),
                        checked: i.concerns.contains(&indicator),
                        onchange: move |on: bool| {
                            let mut w = input.write();
                            w.concerns.retain(|c| *c != indicator);
                            if on {
                                w.concerns.push(indicator);
                            }
                        },
                    }
                }
            }
            TextArea {
                id: "request-details",
                label: "What worries you",
                hint: "By wellbeing indicator, in your own words".to_owned(),
                value: i.concern_details.clone(),
                oninput: move |v| input.write().concern_details = v,
            }
            TextArea {
                id: "request-views",
                label: "What the child and family think",
                value: i.views.clone(),
                oninput: move |v| input.write().views = v,
            }
            Choice {
                id: "request-basis",
                label: "Consent, or why you share without it",
                value: i.basis.map(|b| b.as_str().to_owned()).unwrap_or_default(),
                options: basis_options(),
                onchange: move |v: String| input.write().basis = SharingBasis::from_slug(&v),
            }
            CheckBox {
                id: "request-urgent",
                label: "Urgent",
                checked: i.urgent,
                onchange: move |on: bool| input.write().urgent = on,
            }
            p { class: "meta", "{words::REQUEST_WHO_SEES}" }
            Notice { message: notice() }
            button { class: "primary", r#type: "submit", "Send the request" }
        }
        p { Link { class: "button", to: Route::Requests {}, "My requests" } }
    }
}

/// The first 8 characters of a request's id (as `bothy` accepts them).
fn short(id: RequestId) -> String {
    id.to_string().chars().take(8).collect()
}

/// The requests on this device: urgent open ones of my duty team first.
#[component]
pub fn Requests() -> Element {
    let requests = use_requests();
    rsx! {
        h1 { "Requests for help" }
        p { Link { class: "button", to: Route::AskForHelp {}, "Ask for help" } }
        match requests {
            Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
            Ok(list) if list.is_empty() => rsx! { p { "{words::NO_REQUESTS}" } },
            Ok(list) => rsx! { RequestList { list } },
        }
    }
}

/// A list of requests, each with its state (used on the caseload too).
#[component]
pub fn RequestList(list: Vec<RequestLine>) -> Element {
    rsx! {
        ul { class: "requests",
            for r in list {
                li { key: "{r.id}", class: "request-card",
                    h2 {
                        Link { to: Route::RequestPage { id: r.id }, "{r.about}" }
                    }
                    p { class: "meta",
                        if r.sent_by_me {
                            "To {r.to.label()}"
                        } else {
                            "From {r.from_name}"
                        }
                    }
                    ul { class: "flags", aria_label: "State",
                        li { class: "flag state", "{r.state.label()}" }
                        if r.urgent {
                            li { class: "flag overdue", "Urgent" }
                        }
                    }
                    if let Some(note) = &r.note {
                        p { class: "meta", "{note}" }
                    }
                }
            }
        }
    }
}

/// One request: what it says, what happened, and the steps I may take.
#[component]
pub fn RequestPage(id: RequestId) -> Element {
    let view = use_request(id);
    match view {
        Err(e) => rsx! {
            h1 { "Request for help" }
            p { class: "notice problem", role: "alert", "{e}" }
        },
        Ok(v) => {
            let next = v.next_steps();
            let side = v.my_side;
            rsx! {
                h1 { "Request for help" }
                p { class: "meta", "About {v.line.about}" }
                ul { class: "flags", aria_label: "State",
                    li { class: "flag state", "{v.line.state.label()}" }
                    if v.line.urgent { li { class: "flag overdue", "Urgent" } }
                }
                dl { class: "request",
                    dt { "From" } dd { "{v.line.from_name}" }
                    dt { "To" } dd { "{v.line.to.label()}" }
                    dt { "Date of birth" } dd { "{words::maybe_date(v.date_of_birth)}" }
                    if !v.school.is_empty() { dt { "School" } dd { "{v.school}" } }
                    if !v.address.is_empty() { dt { "Address" } dd { "{v.address}" } }
                    dt { "Why" } dd { "{v.reason}" }
                    dt { "Wellbeing concerns" }
                    dd { {v.concerns.iter().map(|c| c.label()).collect::<Vec<_>>().join(", ")} }
                    if !v.concern_details.is_empty() { dt { "What worries them" } dd { "{v.concern_details}" } }
                    if !v.views.is_empty() { dt { "What the child and family think" } dd { "{v.views}" } }
                    dt { "Sharing" }
                    dd { {v.basis.map(|b| b.label()).unwrap_or("Not given")} }
                }
                section { aria_labelledby: "request-steps-heading",
                    h2 { id: "request-steps-heading", "What has happened" }
                    ol { class: "steps",
                        for s in v.steps.iter() {
                            li { key: "{s.id}",
                                "{s.kind.label()} by {s.by_name}, {words::date_time(s.at)}"
                                if !s.note.is_empty() { ": {s.note}" }
                            }
                        }
                    }
                }
                if side == Some(RequestSide::Duty) && next.contains(&StepKind::Accepted) {
                    Accept { id }
                }
                for kind in next.into_iter().filter(|k| *k != StepKind::Accepted) {
                    StepForm { key: "{kind.as_str()}", id, kind }
                }
                p { Link { class: "button", to: Route::Requests {}, "All requests" } }
            }
        }
    }
}

/// Accept, after the match check: a child already in Bothy, or a new one.
#[component]
fn Accept(id: RequestId) -> Element {
    let client = use_client();
    let mut candidates = use_signal(|| None::<Vec<ChildMatch>>);
    let mut chosen = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let device = client.device().clone();
    let check = move |_| {
        let device = device.clone();
        spawn(async move {
            match device.match_check(id).await {
                Ok(found) => candidates.set(Some(found)),
                Err(e) => notice.set(Some(Err(format!("{} ({e})", words::MATCH_CHECK_OFFLINE)))),
            }
        });
    };
    let accept = move |e: FormEvent| {
        e.prevent_default();
        let child = chosen.read().parse::<ChildId>().ok();
        match client.write(|c| c.accept_request(id, child)) {
            Ok(_) => notice.set(Some(Ok(words::REQUEST_ACCEPTED.to_owned()))),
            Err(e) => notice.set(Some(Err(format!("Not accepted: {e}")))),
        }
    };
    let mut options = vec![(String::new(), "A child new to Bothy".to_owned())];
    if let Some(found) = candidates() {
        options.extend(found.iter().map(|m| {
            (
                m.child.to_string(),
                format!(
                    "{}, born {}",
                    m.name,
                    m.date_of_birth.as_deref().unwrap_or("not known")
                ),
            )
        }));
    }
    rsx! {
        section { aria_labelledby: "accept-heading",
            h2 { id: "accept-heading", "Accept" }
            p { class: "meta", "{words::MATCH_CHECK_HINT}" }
            button { r#type: "button", onclick: check, "Check for a match" }
            if let Some(found) = candidates() {
                p { role: "status", "{words::matches(found.len())}" }
            }
            form { class: "stack", aria_label: "Accept the request", onsubmit: accept,
                Choice {
                    id: "accept-child",
                    label: "The child",
                    value: chosen(),
                    options,
                    onchange: move |v: String| chosen.set(v),
                }
                Notice { message: notice() }
                button { class: "primary", r#type: "submit", "Accept the request" }
            }
        }
    }
}

/// Decline (with the reason), ask for more, answer, or withdraw.
#[component]
fn StepForm(id: RequestId, kind: StepKind) -> Element {
    let client = use_client();
    let mut text = use_signal(String::new);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let (heading, label, button) = match kind {
        StepKind::Declined => (
            "Decline",
            "Why (the sender will see this)",
            "Decline the request",
        ),
        StepKind::MoreInfoAsked => (
            "Ask for more",
            "What do you need to know?",
            "Ask the sender",
        ),
        StepKind::Answered => ("Answer", "Your answer", "Send the answer"),
        StepKind::Withdrawn => ("Withdraw", "Why (optional)", "Withdraw the request"),
        StepKind::Sent | StepKind::Accepted => return rsx! {},
    };
    let field = format!("request-{}", kind.as_str());
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let t = text.read().clone();
        let done = client.write(|c| match kind {
            StepKind::Declined => c.decline_request(id, &t),
            StepKind::MoreInfoAsked => c.ask_for_more(id, &t),
            StepKind::Answered => c.answer_request(id, &t),
            _ => c.withdraw_request(id, &t),
        });
        match done {
            Ok(()) => notice.set(Some(Ok(words::REQUEST_STEP_SAVED.to_owned()))),
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    rsx! {
        section { aria_label: "{heading}",
            h2 { "{heading}" }
            form { class: "stack", aria_label: "{heading}", onsubmit: submit,
                TextArea { id: field, label, value: text(), oninput: move |v| text.set(v) }
                Notice { message: notice() }
                button { r#type: "submit", "{button}" }
            }
        }
    }
}
