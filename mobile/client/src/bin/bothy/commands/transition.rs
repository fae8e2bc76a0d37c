//! `bothy transition`: record the plan's transition section ("Moving on"):
//! is a move to adult services needed, which services will help, the plan
//! and when it starts by. Options left out keep what the plan says.

use anyhow::{Result, anyhow};
use bothy_client::ServiceError;
use bothy_client::services::{TransitionUpdate, TransitionView};
use bothy_shared::ids::Agency;

use super::review::date;
use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
    /// Is a transition to adult services needed: yes or no.
    #[arg(long)]
    needed: String,
    /// The adult services who will help, comma-separated agency slugs
    /// (adult-social-work, adult-mental-health, housing…).
    #[arg(long)]
    services: Option<String>,
    /// The plan, in words.
    #[arg(long)]
    plan: Option<String>,
    /// When it starts by (YYYY-MM-DD).
    #[arg(long)]
    start_by: Option<String>,
}

fn yes_no(s: &str) -> Result<bool> {
    match s.trim().to_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        other => Err(anyhow!(ServiceError::BadInput {
            field: "needed",
            problem: format!("`{other}`: say yes or no"),
        })),
    }
}

/// Agency slugs from a comma-separated list; empty items are skipped.
fn services(list: &str) -> Result<Vec<Agency>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Agency>().map_err(|e| {
                anyhow!(ServiceError::BadInput {
                    field: "services",
                    problem: e.to_string(),
                })
            })
        })
        .collect()
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        // Everything typed is checked before the store is opened.
        let needed = yes_no(&self.needed)?;
        let services = self.services.as_deref().map(services).transpose()?;
        let start_by = self
            .start_by
            .as_deref()
            .map(|d| date("start-by", d))
            .transpose()?;
        with_client(&ctx.data, |client| {
            let child = find_child(client, &self.child)?;
            client.change_transition(
                child,
                &TransitionUpdate {
                    needed,
                    services: services.clone(),
                    plan: self.plan.clone(),
                    start_by,
                },
            )?;
            let saved = TransitionView::of(&client.transition(child)?);
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&saved)?);
            } else {
                println!("{} Sync to send it.", sentences(saved.as_ref()));
            }
            Ok(())
        })
    }
}

/// The transition section in sentences (`bothy transition` and `bothy show`).
pub(super) fn sentences(t: Option<&TransitionView>) -> String {
    let Some(t) = t else {
        return "Moving on: not recorded yet.".to_owned();
    };
    if !t.needed {
        return "Moving on: no transition to adult services is needed.".to_owned();
    }
    let mut out = "Moving on: a transition to adult services is needed.".to_owned();
    let who = t.who_will_help();
    if !who.is_empty() {
        out.push_str(&format!(" Who will help: {}.", who.join(", ")));
    }
    if t.plan.trim().is_empty() {
        out.push_str(" No plan written yet.");
    } else {
        out.push_str(&format!(" The plan: {}", super::show::sentence(&t.plan)));
    }
    if let Some(d) = t.start_by {
        out.push_str(&format!(" Starting by {d}."));
    }
    out
}
