//! `bothy settle`: settle an open conflict by keeping one of its values
//! (as `bothy conflicts` prints it, or its slug, or for a date the ISO date).

use anyhow::Result;

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    #[arg(long)]
    child: String,
    /// The conflict's id, as `bothy conflicts` prints it.
    #[arg(long)]
    conflict: String,
    /// The value to keep.
    #[arg(long)]
    keep: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        with_client(&ctx.data, |client| {
            let id = find_child(client, &self.child)?;
            let kept = client.settle_conflict(id, &self.conflict, &self.keep)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "conflict": self.conflict, "kept": kept })
                );
            } else {
                println!("Settled {}: kept \"{kept}\".", self.conflict);
            }
            Ok(())
        })
    }
}
