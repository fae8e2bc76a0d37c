//! "Who will see this": the line every form that writes shows, computed by
//! the client core from the shared policy for the document the form will
//! write to, so it changes as the consent box or the sharing choice does.

use bothy_shared::docs::DocKey;
use dioxus::prelude::*;

use crate::hooks::use_who_will_see;

/// Who will read what is written to `doc`; for the plan, `withheld` says
/// whether the section is withheld from the young person.
#[component]
pub fn WhoWillSee(
    doc: DocKey,
    #[props(default)] withheld: bool,
    // The question answered, when it is about part of the form
    // ("Who will see what the child said").
    #[props(default)] what: Option<String>,
) -> Element {
    let what = what.unwrap_or_else(|| "Who will see this".to_owned());
    match use_who_will_see(doc, withheld) {
        Err(e) => rsx! {
            p { class: "notice problem", role: "alert", "Who will see this could not be worked out: {e}" }
        },
        Ok(who) => rsx! {
            div { class: "who-will-see", role: "status", aria_live: "polite",
                p {
                    strong { "{what}: " }
                    span { class: "who-will-see-line", "{who.line}" }
                }
                if !who.names.is_empty() {
                    p { class: "meta", {who.names.join(", ")} }
                }
            }
        },
    }
}
