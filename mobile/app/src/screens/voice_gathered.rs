//! Family voice already gathered: every entry the reader may see, from the
//! team record and the agency records they read, with who said it, when,
//! their words, and whether it is shared with the team or kept in one agency.

use bothy_client::services::VoiceLine;
use bothy_shared::ids::ChildId;
use dioxus::prelude::*;

use crate::app::Route;
use crate::hooks::{use_child, use_family_voice_gathered};
use crate::words;

#[component]
pub fn FamilyVoiceGathered(child: ChildId) -> Element {
    let name = use_child(child).map(|c| c.name).unwrap_or_default();
    let lines = use_family_voice_gathered(child);
    rsx! {
        h1 { "Family voice gathered" }
        if !name.is_empty() { p { class: "meta", "With {name}'s family" } }
        match lines {
            Err(e) => rsx! { p { class: "notice problem", role: "alert", "{e}" } },
            Ok(lines) if lines.is_empty() => rsx! { p { "No family voice gathered yet." } },
            Ok(lines) => rsx! {
                ul { class: "voices",
                    for line in lines { VoiceItem { key: "{line.id}", line } }
                }
            },
        }
        p { class: "actions",
            Link { class: "button primary", to: Route::FamilyVoice { child }, "Add family voice" }
            Link { class: "button", to: Route::Child { id: child }, "Back to the child's page" }
        }
    }
}

#[component]
fn VoiceItem(line: VoiceLine) -> Element {
    let kept = if line.shared_with_team {
        "Shared with the team".to_owned()
    } else {
        format!("Kept in {} only: not agreed to share", line.agency.label())
    };
    let kept_class = if line.shared_with_team {
        "sharing shared"
    } else {
        "sharing kept"
    };
    rsx! {
        li { class: "voice",
            p {
                strong { "{line.said_by}" }
                ", {words::date_time(line.at)}"
            }
            if !line.own_words.is_empty() { blockquote { p { "“{line.own_words}”" } } }
            if let Some(scale) = line.scale {
                p { class: "meta", "{line.scale_question} {scale} out of 10" }
            }
            if !line.worries.is_empty() { p { class: "meta", "Worries: {line.worries}" } }
            if !line.good_things.is_empty() { p { class: "meta", "Good things: {line.good_things}" } }
            if !line.dreams.is_empty() { p { class: "meta", "Dreams: {line.dreams}" } }
            p { class: "meta",
                "Written down by {line.recorded_by} ({line.agency.label()}). "
                span { class: kept_class, "{kept}" }
                if line.from_visit.is_some() { ". Said on a visit" }
            }
        }
    }
}
