//! `bothy rate`: assess one wellbeing indicator: a new rating (1 to 10) in my
//! name and agency, with the strengths and concerns behind it.

use anyhow::{Result, anyhow};
use bothy_client::ServiceError;
use bothy_client::services::AssessmentInput;
use bothy_shared::docs::{Indicator, RATING_RANGE};

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
    /// safe, healthy, achieving, nurtured, active, respected, responsible or included.
    #[arg(long)]
    indicator: String,
    /// 1 (serious concern) to 10 (thriving).
    #[arg(long)]
    score: u8,
    /// What is going well (replaces the indicator's strengths).
    #[arg(long)]
    strengths: Option<String>,
    /// Worries (replaces the indicator's concerns).
    #[arg(long)]
    concerns: Option<String>,
    /// A note on this rating only.
    #[arg(long, default_value = "")]
    note: String,
}

/// The indicator named `s` (its slug, any case).
pub(super) fn indicator(s: &str) -> Result<Indicator> {
    Indicator::from_slug(&s.trim().to_lowercase()).ok_or_else(|| {
        anyhow!(ServiceError::BadInput {
            field: "indicator",
            problem: format!(
                "`{s}` is not a wellbeing indicator: use one of {}",
                Indicator::ALL
                    .iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    })
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let which = indicator(&self.indicator)?;
        if !RATING_RANGE.contains(&self.score) {
            return Err(anyhow!(ServiceError::BadInput {
                field: "score",
                problem: format!("a rating is 1 to 10, not {}", self.score),
            }));
        }
        let input = AssessmentInput {
            score: self.score,
            strengths: self.strengths.clone(),
            concerns: self.concerns.clone(),
            note: self.note.clone(),
        };
        with_client(&ctx.data, |client| {
            let id = find_child(client, &self.child)?;
            let rating = client.assess_wellbeing(id, which, &input)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "rating": rating, "indicator": which, "score": self.score })
                );
            } else {
                println!(
                    "Rated {} {} out of 10: rating {rating}.",
                    which.label(),
                    self.score
                );
            }
            Ok(())
        })
    }
}
