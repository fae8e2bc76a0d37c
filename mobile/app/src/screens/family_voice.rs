//! Family voice: what the child or a family member wants the team to know,
//! captured with them in their own words.

use bothy_client::services::FamilyVoiceInput;
use bothy_shared::docs::VoiceOf;
use bothy_shared::ids::ChildId;
use dioxus::prelude::*;

use crate::app::Route;
use crate::components::{CheckBox, Choice, Notice, TextArea, TextField, WhoWillSee};
use crate::core::use_client;
use crate::hooks::{use_child, use_family_voice_doc};

fn blank() -> FamilyVoiceInput {
    FamilyVoiceInput {
        said_by: String::new(),
        voice_of: VoiceOf::Child,
        own_words: String::new(),
        scale_question:
            "On a scale of 0 to 10, where 10 is as good as it could be, how are things?".to_owned(),
        scale: None,
        worries: String::new(),
        good_things: String::new(),
        dreams: String::new(),
        consent_to_share: false,
    }
}

fn voice_word(v: VoiceOf) -> &'static str {
    match v {
        VoiceOf::Child => "The child or young person",
        VoiceOf::Parent => "A parent",
        VoiceOf::Carer => "A carer",
        VoiceOf::Sibling => "A brother or sister",
        VoiceOf::Other => "Someone else",
    }
}

#[component]
pub fn FamilyVoice(child: ChildId) -> Element {
    let client = use_client();
    let name = use_child(child).map(|c| c.name).unwrap_or_default();
    let mut input = use_signal(blank);
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let edit =
        move |f: fn(&mut FamilyVoiceInput, String)| move |v: String| f(&mut input.write(), v);
    let save = move |e: FormEvent| {
        e.prevent_default();
        match client.write(|c| c.record_family_voice(child, &input.read())) {
            Ok(_) => {
                let shared = input.read().consent_to_share;
                input.set(blank());
                notice.set(Some(Ok(if shared {
                    "Saved to the child's record, shared with the team.".to_owned()
                } else {
                    "Saved in your agency's record only.".to_owned()
                })));
            }
            Err(e) => notice.set(Some(Err(format!("Not saved: {e}")))),
        }
    };
    let i = input.read().clone();
    let doc = use_family_voice_doc(child, i.consent_to_share).ok();
    let voices: Vec<(String, String)> = VoiceOf::ALL
        .iter()
        .map(|v| (v.as_str().to_owned(), voice_word(*v).to_owned()))
        .collect();
    let mut scale = vec![(String::new(), "Not asked".to_owned())];
    scale.extend((0..=10).map(|n| (n.to_string(), n.to_string())));
    rsx! {
        h1 { "Family voice" }
        if !name.is_empty() { p { class: "meta", "With {name}'s family" } }
        form { class: "stack", aria_label: "Family voice", onsubmit: save,
            Choice {
                id: "voice-of",
                label: "Whose voice is this?",
                value: i.voice_of.as_str(),
                options: voices,
                onchange: edit(|i, v| {
                    if let Some(found) = VoiceOf::from_slug(&v) {
                        i.voice_of = found;
                    }
                }),
            }
            TextField { id: "voice-said-by", label: "Their name", value: i.said_by.clone(), oninput: edit(|i, v| i.said_by = v) }
            TextArea {
                id: "voice-own-words",
                label: "In their own words",
                hint: "Write down what they say, the way they say it".to_owned(),
                value: i.own_words.clone(),
                oninput: edit(|i, v| i.own_words = v),
            }
            fieldset {
                legend { "Scaling question" }
                TextField { id: "voice-scale-question", label: "The question asked", value: i.scale_question.clone(), oninput: edit(|i, v| i.scale_question = v) }
                Choice {
                    id: "voice-scale",
                    label: "Their answer, from 0 to 10",
                    value: i.scale.map(|s| s.to_string()).unwrap_or_default(),
                    options: scale,
                    onchange: edit(|i, v| i.scale = v.parse().ok()),
                }
            }
            fieldset {
                legend { "The three houses" }
                TextArea { id: "voice-worries", label: "House of worries", value: i.worries.clone(), oninput: edit(|i, v| i.worries = v) }
                TextArea { id: "voice-good-things", label: "House of good things", value: i.good_things.clone(), oninput: edit(|i, v| i.good_things = v) }
                TextArea { id: "voice-dreams", label: "House of dreams", value: i.dreams.clone(), oninput: edit(|i, v| i.dreams = v) }
            }
            CheckBox {
                id: "voice-consent",
                label: "They agree this can be shared with the team",
                checked: i.consent_to_share,
                onchange: move |v| input.write().consent_to_share = v,
            }
            if let Some(doc) = doc { WhoWillSee { doc } }
            Notice { message: notice() }
            button { class: "primary", r#type: "submit", "Save family voice" }
        }
        p {
            Link { class: "button", to: Route::FamilyVoiceGathered { child }, "What the child and family said" }
        }
    }
}
