//! `bothy review`: record a review meeting of the child's plan (date held,
//! who attended, views, decisions, what changed), optionally with the next
//! review date.

use anyhow::{Result, anyhow};
use bothy_client::ServiceError;
use bothy_client::services::ReviewInput;
use bothy_shared::docs::IsoDate;

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
    /// The day the meeting was held (YYYY-MM-DD).
    #[arg(long)]
    held: String,
    /// Who attended, comma-separated ("Morag Fraser, Lisa (mum)").
    #[arg(long)]
    attended: String,
    /// What was decided.
    #[arg(long)]
    decisions: String,
    /// The young person's views at the meeting.
    #[arg(long, default_value = "")]
    young_person_views: String,
    /// The family's views at the meeting.
    #[arg(long, default_value = "")]
    family_views: String,
    /// What changed in the plan, in words the young person can read.
    #[arg(long, default_value = "")]
    changes: String,
    /// The next review date (YYYY-MM-DD); it becomes the plan's review date.
    #[arg(long)]
    next: Option<String>,
}

/// A `YYYY-MM-DD` date given as `field`.
pub(super) fn date(field: &'static str, s: &str) -> Result<IsoDate> {
    s.trim().parse().map_err(|e: bothy_shared::docs::BadDate| {
        anyhow!(ServiceError::BadInput {
            field,
            problem: e.to_string(),
        })
    })
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let input = ReviewInput {
            held_on: date("held", &self.held)?,
            attended: ReviewInput::names(&self.attended),
            young_person_views: self.young_person_views.clone(),
            family_views: self.family_views.clone(),
            decisions: self.decisions.clone(),
            plan_changes: self.changes.clone(),
            next_review: self.next.as_deref().map(|n| date("next", n)).transpose()?,
        };
        with_client(&ctx.data, |client| {
            let id = find_child(client, &self.child)?;
            let review = client.record_review(id, &input)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "review": review, "held": input.held_on, "next": input.next_review })
                );
            } else {
                print!(
                    "Recorded the review held on {}: review {review}.",
                    input.held_on
                );
                match input.next_review {
                    Some(next) => println!(" Next review: {next}."),
                    None => println!(),
                }
            }
            Ok(())
        })
    }
}
