//! `bothy need`: add a need to the child's plan, with its desired outcome
//! and the wellbeing indicators it is about.

use anyhow::Result;
use bothy_client::services::NeedInput;

use super::rate::indicator;
use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
    /// The need, in plain words.
    #[arg(long)]
    need: String,
    /// The outcome wanted.
    #[arg(long)]
    outcome: String,
    /// How we will know the outcome has been reached.
    #[arg(long, default_value = "")]
    evidence: String,
    /// Wellbeing indicators it is about, comma-separated (safe,healthy).
    #[arg(long, default_value = "")]
    indicators: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let indicators = self
            .indicators
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(indicator)
            .collect::<Result<Vec<_>>>()?;
        let input = NeedInput {
            need: self.need.clone(),
            desired_outcome: self.outcome.clone(),
            evidence: self.evidence.clone(),
            indicators,
        };
        with_client(&ctx.data, |client| {
            let id = find_child(client, &self.child)?;
            let need = client.add_need(
                id,
                &input.need,
                &input.desired_outcome,
                &input.evidence,
                &input.indicators,
            )?;
            if ctx.json {
                println!("{}", serde_json::json!({ "need": need }));
            } else {
                println!("Added need {need}.");
            }
            Ok(())
        })
    }
}
