//! `bothy outcomes`: the team's outcomes on this device (the supervisor's
//! outcome view): children per band for each indicator, now and at their last
//! review; ratings fallen by 2 or more; reviews on time, visits overdue, seen
//! alone. `--json` prints the whole view.

use anyhow::Result;
use bothy_client::services::{TeamOutcomes, band_labels, count_children};

use super::{Context, with_client};

pub fn run(ctx: &Context) -> Result<()> {
    with_client(&ctx.data, |client| {
        let o = client.team_outcomes()?;
        if ctx.json {
            println!("{}", serde_json::to_string_pretty(&o)?);
        } else {
            print!("{}", text(&o));
        }
        Ok(())
    })
}

fn text(o: &TeamOutcomes) -> String {
    let mut out = format!(
        "Team outcomes on {}: {} on this device.\n",
        o.as_of,
        count_children(o.children)
    );
    if o.has_ratings() {
        let [low, mid, high] = band_labels();
        out.push_str(&format!(
            "\nChildren in each band ({low} / {mid} / {high}):\n{:<12} {:>12}  {:>16}\n",
            "", "now", "at last review"
        ));
        for (now, then) in o.now.iter().zip(&o.at_last_review) {
            let b = |x: [u32; 3]| format!("{} / {} / {}", x[0], x[1], x[2]);
            out.push_str(&format!(
                "{:<12} {:>12}  {:>16}\n",
                now.label,
                b(now.bands),
                b(then.bands)
            ));
        }
    } else {
        out.push_str("\nNo ratings yet.\n");
    }
    out.push('\n');
    if o.falls.is_empty() {
        out.push_str("No rating has fallen by 2 or more since the last review.\n");
    } else {
        out.push_str("Fallen by 2 or more since the last review:\n");
        for f in &o.falls {
            out.push_str(&format!(
                "  {}  {} {} -> {}  ({})\n",
                f.name, f.label, f.at_last_review, f.now, f.child
            ));
        }
    }
    out.push_str(&o.reviews_sentence());
    out.push('\n');
    out.push_str(&o.visits_sentence());
    if !o.visits_overdue.is_empty() {
        let names: Vec<&str> = o.visits_overdue.iter().map(|c| c.name.as_str()).collect();
        out.push_str(&format!(" ({})", names.join(", ")));
    }
    out.push('\n');
    out.push_str(&o.seen_alone_sentence());
    out.push('\n');
    out
}
