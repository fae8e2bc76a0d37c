//! The Export buttons: a child's plan as a signed PDF, saved in the
//! device's data folder (`exports/`), and where it went said in a status
//! region. On a child's page the practitioner chooses the team's plan or
//! the young person's version; on "My plan" the young person saves their own.

use bothy_shared::export::Audience;
use bothy_shared::ids::ChildId;
use bothy_shared::policy::PersonKind;
use dioxus::prelude::*;

use crate::components::Notice;
use crate::core::{ClientHandle, use_client};

/// Make and save the export; the words for the status region.
fn save(
    client: &ClientHandle,
    child: Option<ChildId>,
    audience: Audience,
) -> Result<String, String> {
    let saved = client.quietly(|c| {
        let child = match (child, c.me().kind) {
            (Some(child), _) => Some(child),
            (None, PersonKind::YoungPerson { child }) => Some(child),
            (None, _) => None,
        };
        Ok(child.map(|child| c.save_export(child, audience)))
    });
    match saved {
        Ok(Some(Ok((path, _)))) => Ok(format!(
            "Saved: {}",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )),
        Ok(Some(Err(e))) => Err(format!("Not saved: {e}")),
        Ok(None) => Err("Not saved: no plan to save".to_owned()),
        Err(e) => Err(format!("Not saved: {e}")),
    }
}

/// On a child's page: the team's plan, or the young person's version.
#[component]
pub fn ExportPlan(child: ChildId) -> Element {
    let client = use_client();
    let mut notice = use_signal(|| None::<Result<String, String>>);
    let (team, young) = (client.clone(), client);
    rsx! {
        section { class: "export", aria_labelledby: "export-heading",
            h2 { id: "export-heading", "Export the plan" }
            p { "A PDF for a review meeting or a Hearing, signed by this device. The young person's version leaves out what is withheld from them." }
            p { class: "actions",
                button { r#type: "button", class: "button",
                    onclick: move |_| notice.set(Some(save(&team, Some(child), Audience::Team))),
                    "Export the team's plan"
                }
                button { r#type: "button", class: "button",
                    onclick: move |_| notice.set(Some(save(&young, Some(child), Audience::YoungPerson))),
                    "Export the young person's version"
                }
            }
            Notice { message: notice() }
        }
    }
}

/// On "My plan": the young person saves their own plan.
#[component]
pub fn ExportMyPlan() -> Element {
    let client = use_client();
    let mut notice = use_signal(|| None::<Result<String, String>>);
    rsx! {
        section { class: "export", aria_labelledby: "export-heading",
            h2 { id: "export-heading", "Export my plan" }
            p { "Export saves your plan as a PDF file. You can read it, print it or take it to a meeting." }
            p {
                button { r#type: "button", class: "button primary",
                    onclick: move |_| notice.set(Some(save(&client, None, Audience::YoungPerson))),
                    "Export my plan as a PDF"
                }
            }
            Notice { message: notice() }
        }
    }
}
