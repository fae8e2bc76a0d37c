//! `bothy conflicts`: a child's open conflicts, one line each:
//! `ID FIELD "VALUE" by NAME | "VALUE" by NAME`.

use anyhow::Result;
use bothy_client::services::ConflictView;

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        with_client(&ctx.data, |client| {
            let id = find_child(client, &self.child)?;
            let conflicts = client.conflicts(id)?;
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&conflicts)?);
            } else {
                for c in &conflicts {
                    println!("{}", line(c));
                }
            }
            Ok(())
        })
    }
}

/// One conflict as the command prints it (and `bothy show` lists it).
pub fn line(c: &ConflictView) -> String {
    let sides: Vec<String> = c
        .sides
        .iter()
        .map(|s| format!("\"{}\" by {}", s.value, s.who))
        .collect();
    format!("{} {} {}", c.id, c.field, sides.join(" | "))
}
