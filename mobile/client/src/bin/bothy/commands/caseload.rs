//! `bothy caseload`: the children on this device, those needing attention
//! first; before them, when there are any, the requests for help I sent
//! (with their state) and my duty team received (open and urgent first).

use anyhow::Result;

use super::{Context, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Only children whose name contains this.
    #[arg(long)]
    search: Option<String>,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd { search } = self;
        let dir = &ctx.data;
        with_client(dir, |client| {
            let list = client.caseload(search.as_deref())?;
            if !ctx.json {
                let requests = client.requests()?;
                if !requests.is_empty() {
                    println!("Requests for help:");
                    for r in &requests {
                        println!("  {}", super::request::line(r));
                    }
                    println!();
                }
            }
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("No children on this device.");
            } else {
                for c in &list {
                    let mut flags = Vec::new();
                    if c.flags.visit_overdue {
                        flags.push("visit overdue");
                    }
                    if c.flags.review_due {
                        flags.push("review due");
                    }
                    if c.flags.unsynced {
                        flags.push("unsynced");
                    }
                    if c.flags.no_transition_plan {
                        flags.push("no transition plan");
                    }
                    let last = c
                        .last_visit
                        .and_then(|t| t.date())
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "never".into());
                    println!(
                        "{}  {:<22} last visit {:<10}  review {:<10}  {}",
                        c.child,
                        c.name,
                        last,
                        c.review_date
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "-".into()),
                        flags.join(", ")
                    );
                }
            }
            Ok(())
        })
    }
}
