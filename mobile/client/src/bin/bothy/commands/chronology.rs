//! `bothy chronology`: add an entry to a child's chronology by hand (my
//! agency is its source; it is shared with the team).

use anyhow::{Result, anyhow};
use bothy_client::ServiceError;
use bothy_client::services::ChronologyInput;
use bothy_shared::docs::{Impact, IsoDate, Significance};

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
    /// When it happened, YYYY-MM-DD.
    #[arg(long)]
    date: String,
    /// What happened: brief, factual, plain English.
    #[arg(long)]
    event: String,
    /// The impact on the child: negative, neutral or positive (also mixed, not-known).
    #[arg(long, default_value = "not-known")]
    impact: String,
    /// The action taken, or why none was.
    #[arg(long, default_value = "")]
    action: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd {
            child,
            date,
            event,
            impact,
            action,
        } = self;
        let date: IsoDate = date.parse().map_err(|e: bothy_shared::docs::BadDate| {
            anyhow!(ServiceError::BadInput {
                field: "date",
                problem: e.to_string(),
            })
        })?;
        let impact = Impact::from_slug(impact).ok_or_else(|| {
            anyhow!(ServiceError::BadInput {
                field: "impact",
                problem: format!(
                    "`{impact}` is not one of negative, neutral, positive, mixed, not-known"
                ),
            })
        })?;
        with_client(&ctx.data, |client| {
            let id = find_child(client, child)?;
            let input = ChronologyInput {
                date,
                until: None,
                event: event.clone(),
                impact,
                impact_note: String::new(),
                action: action.clone(),
                significance: Significance::Significant,
            };
            let entry = client.add_chronology_entry(id, &input, false)?;
            let key = bothy_shared::docs::DocKey::Record(id);
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "entry": entry, "document": key, "date": date, "impact": impact.as_str() })
                );
            } else {
                println!(
                    "Added to the chronology: {entry} ({date}, {}) in {key}.",
                    impact.label()
                );
            }
            Ok(())
        })
    }
}
