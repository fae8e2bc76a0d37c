//! `bothy withhold` and `bothy unwithhold`: withhold a part of the plan from
//! the young person (with the reason, for the team), and lift it. Only the
//! lead professional or a supervisor of the team; the server's copy for the
//! young person leaves the part out from the next sync on, history included.

use anyhow::Result;

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[arg(long)]
    child: String,
    /// The part of the plan: wellbeing/<indicator>, need/<id>, my_world,
    /// reason, legal_status, transition or family_views.
    #[arg(long)]
    section: String,
    /// Why it is withheld (the team sees this; the young person does not).
    #[arg(long)]
    reason: String,
}

#[derive(clap::Args, Debug)]
pub struct LiftCmd {
    #[arg(long)]
    child: String,
    /// The part of the plan withheld before.
    #[arg(long)]
    section: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        with_client(&ctx.data, |client| {
            let child = find_child(client, &self.child)?;
            let id = client.withhold(child, &self.section, &self.reason)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "withheld": id.to_string(), "section": self.section.trim() })
                );
            } else {
                println!(
                    "Withheld {} from the young person (marker {id}). Sync to send it.",
                    self.section.trim()
                );
            }
            Ok(())
        })
    }
}

impl LiftCmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        with_client(&ctx.data, |client| {
            let child = find_child(client, &self.child)?;
            let lifted = client.unwithhold(child, &self.section)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "lifted": lifted, "section": self.section.trim() })
                );
            } else if lifted == 0 {
                println!("{} was not withheld.", self.section.trim());
            } else {
                println!(
                    "{} is no longer withheld: the young person sees it after the next sync.",
                    self.section.trim()
                );
            }
            Ok(())
        })
    }
}
