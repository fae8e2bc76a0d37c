//! `bothy refused`: the changes the server refused, one block per change,
//! with the rule, the reason and the words it would have written (to copy
//! into an edit that is allowed). Refused changes are set aside on this
//! device and never sent again; the edits made after them were sent.

use anyhow::Result;
use bothy_shared::refused::Block;

use super::{Context, with_client};

pub fn run(ctx: &Context) -> Result<()> {
    with_client(&ctx.data, |client| {
        let refused = client.refused_work()?;
        if ctx.json {
            println!("{}", serde_json::to_string(&refused)?);
            return Ok(());
        }
        if refused.is_empty() {
            println!("No changes refused by the server.");
            return Ok(());
        }
        for (i, r) in refused.iter().enumerate() {
            if i > 0 {
                println!();
            }
            let change: String = r.change.chars().take(12).collect();
            let title = format!(
                "{} in {} ({})",
                if change.is_empty() { "-" } else { &change },
                r.document,
                r.key
            );
            print!(
                "{}",
                Block {
                    title: &title,
                    by: None,
                    rule: &r.rule,
                    path: &r.path,
                    reason: &r.message,
                    words: &r.words,
                }
            );
        }
        Ok(())
    })
}
