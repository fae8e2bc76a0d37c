//! `bothy show`: one child's plan, wellbeing, visits and chronology.

use anyhow::Result;
use bothy_client::services::ChildOverview;

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child's id, or the start of their name.
    child: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd { child } = self;
        let dir = &ctx.data;
        with_client(dir, |client| {
            let id = find_child(client, child)?;
            if client.me().is_young_person() {
                let plan = client.my_plan()?;
                if ctx.json {
                    println!("{}", serde_json::to_string_pretty(&plan)?);
                } else {
                    println!("My plan: {}\n\n{}\n\nMy team:", plan.name, plan.why);
                    for t in &plan.my_team {
                        println!(
                            "  {} ({}){}",
                            t.name,
                            t.role,
                            if t.is_lead {
                                ", my lead professional"
                            } else {
                                ""
                            }
                        );
                    }
                    println!("\nWhat happens next:");
                    for s in &plan.what_happens_next {
                        println!("  {} — {} — {}", s.what, s.who, s.status);
                    }
                    println!("\nWhat I think:");
                    for v in &plan.what_i_think {
                        println!("  {}", v.words);
                    }
                }
            } else {
                let o = client.child(id)?;
                if ctx.json {
                    println!("{}", serde_json::to_string_pretty(&o)?);
                } else {
                    print_child(&o);
                }
            }
            Ok(())
        })
    }
}

fn print_child(o: &ChildOverview) {
    println!(
        "{} ({}){}",
        o.name,
        o.pronouns,
        o.age.map(|a| format!(", {a}")).unwrap_or_default()
    );
    println!(
        "Lead professional: {}",
        o.lead_professional.as_deref().unwrap_or("-")
    );
    println!("Named person: {}", o.named_person.as_deref().unwrap_or("-"));
    println!(
        "Review: {}",
        o.review_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into())
    );
    println!("\nWhy there is a plan: {}", o.reason);
    println!("\nWellbeing (now / before):");
    for w in &o.wellbeing {
        let s = |v: Option<u8>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        println!("  {:<12} {:>2} / {:>2}", w.label, s(w.now), s(w.before));
    }
    println!("\nNeeds and actions:");
    for n in &o.needs {
        println!("  {}", n.need);
        for a in &n.actions {
            println!(
                "    - {} [{}] {} {}",
                a.what,
                a.status.label(),
                a.owner.as_deref().unwrap_or(""),
                a.due.map(|d| format!("by {d}")).unwrap_or_default()
            );
        }
    }
    println!("\nRecent visits:");
    for v in o.recent_visits.iter().take(10) {
        println!(
            "  {} {} by {} ({}){}: {}",
            v.at.date().map(|d| d.to_string()).unwrap_or_default(),
            v.kind.label(),
            v.practitioner,
            v.agency.label(),
            if v.finalised { "" } else { " [draft]" },
            v.observations
        );
    }
    println!("\nChronology:");
    for c in &o.chronology {
        println!("  {} {} ({})", c.date, c.event, c.agency.label());
    }
}
