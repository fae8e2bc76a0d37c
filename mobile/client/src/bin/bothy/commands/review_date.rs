//! `bothy review-date`: set the date of the plan's next review.

use anyhow::Result;

use super::review::date;
use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
    /// The next review date (YYYY-MM-DD).
    date: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let when = date("date", &self.date)?;
        with_client(&ctx.data, |client| {
            let id = find_child(client, &self.child)?;
            client.set_review_date(id, Some(when))?;
            if ctx.json {
                println!("{}", serde_json::json!({ "review_date": when }));
            } else {
                println!("Next review: {when}.");
            }
            Ok(())
        })
    }
}
