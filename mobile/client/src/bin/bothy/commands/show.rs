//! `bothy show`: one child's plan, wellbeing, visits, chronology (merged from
//! every record I may read, in date order) and the family voice gathered.

use anyhow::Result;
use bothy_client::services::{ChildOverview, NeedView, VoiceLine};

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
                    if let Some(r) = &plan.last_review {
                        print!("\nWe met on {}.", r.met_on);
                        if !r.what_changed.is_empty() {
                            print!(" What changed: {}", r.what_changed);
                        }
                        println!();
                    }
                    if let Some(next) = plan.next_review {
                        println!("Next time we meet: {next}.");
                    }
                    if let Some(m) = &plan.moving_on {
                        println!(
                            "\nMoving on. Getting ready for when you are older: {}",
                            m.plan
                        );
                        if !m.who_will_help.is_empty() {
                            println!("Who will help: {}.", m.who_will_help.join(", "));
                        }
                        if let Some(by) = m.starting_by {
                            println!("Starting by: {by}.");
                        }
                    }
                    if plan.some_private {
                        println!("\n{}", bothy_client::services::PRIVATE_FOR_NOW);
                    }
                }
            } else {
                let o = client.child(id)?;
                // Read from the documents, not the index: kept out of the
                // child's page view model, which renders from the index alone.
                let voices = client.family_voice_gathered(id)?;
                if ctx.json {
                    let mut json = serde_json::to_value(&o)?;
                    if let Some(map) = json.as_object_mut() {
                        map.insert("family_voice".to_owned(), serde_json::to_value(&voices)?);
                    }
                    println!("{}", serde_json::to_string_pretty(&json)?);
                } else {
                    print_child(&o);
                    print_voices(&voices);
                }
            }
            Ok(())
        })
    }
}

fn print_need(n: &NeedView) {
    print!("  {} [need {}]", n.need, n.id);
    if !n.indicators.is_empty() {
        print!(
            " ({})",
            n.indicators
                .iter()
                .map(|i| i.label())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
    if !n.desired_outcome.is_empty() {
        println!("    Outcome: {}", n.desired_outcome);
    }
    if let Some(c) = &n.closed {
        println!(
            "    Closed {} by {}: {}",
            c.at.date().map(|d| d.to_string()).unwrap_or_default(),
            c.by_name,
            c.reason
        );
    }
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
    let date = |d: Option<bothy_shared::docs::IsoDate>| {
        d.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
    };
    println!("Next review: {}", date(o.review_date));
    match &o.last_review {
        Some(r) => println!(
            "Last review: {} (attended: {}). Decisions: {}{}",
            r.held_on,
            r.attended.join(", "),
            sentence(&r.decisions),
            if r.plan_changes.is_empty() {
                String::new()
            } else {
                format!(" What changed: {}", sentence(&r.plan_changes))
            }
        ),
        None => println!("Last review: -"),
    }
    println!("\nWhy there is a plan: {}", o.reason);
    println!("\n{}", super::transition::sentences(o.transition.as_ref()));
    if o.no_transition_plan {
        println!("No transition plan yet: {} is 15 or over.", o.name);
    }
    println!(
        "\nWellbeing (now / at the last review{}):",
        o.last_review
            .as_ref()
            .map(|r| format!(" on {}", r.held_on))
            .unwrap_or_default()
    );
    for w in &o.wellbeing {
        let s = |v: Option<u8>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        let who = match (&w.now_by_name, w.now_agency, w.now_on) {
            (Some(name), Some(agency), Some(on)) => {
                format!("  rated by {name} ({}) on {on}", agency.label())
            }
            _ => String::new(),
        };
        println!(
            "  {:<12} {:>2} / {:>2}{who}",
            w.label,
            s(w.now),
            s(w.before)
        );
    }
    println!("\nNeeds and actions:");
    for n in o.needs.iter().filter(|n| n.closed.is_none()) {
        print_need(n);
    }
    if o.needs.iter().any(|n| n.closed.is_some()) {
        println!("\nClosed needs:");
        for n in o.needs.iter().filter(|n| n.closed.is_some()) {
            print_need(n);
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
        println!(
            "  {} {} ({}; impact: {}){}",
            c.date,
            c.event,
            c.agency.label(),
            c.impact.label(),
            if c.action.is_empty() {
                String::new()
            } else {
                format!(" Action: {}", c.action)
            }
        );
    }
    if !o.conflicts.is_empty() {
        println!(
            "\nOpen conflicts (settle with `bothy settle --child C --conflict ID --keep VALUE`):"
        );
        for c in &o.conflicts {
            println!("  {}", super::conflicts::line(c));
        }
    }
    if !o.withheld_from_young_person.is_empty() {
        println!("\nWithheld from the young person:");
        for w in &o.withheld_from_young_person {
            println!("  {} — {}", w.section, w.reason);
        }
    }
}

fn print_voices(voices: &[VoiceLine]) {
    println!("\nFamily voice (newest first):");
    for v in voices {
        println!(
            "  {} {} ({}): \"{}\" [{}]",
            v.at.date().map(|d| d.to_string()).unwrap_or_default(),
            v.said_by,
            v.voice_of.as_str(),
            v.own_words,
            if v.shared_with_team {
                "shared with the team".to_owned()
            } else {
                format!("kept in {} only", v.agency.label())
            }
        );
    }
}

/// Words as one sentence: ending with a full stop, one only.
pub(super) fn sentence(words: &str) -> String {
    let w = words.trim();
    if w.ends_with(['.', '!', '?']) {
        w.to_owned()
    } else {
        format!("{w}.")
    }
}
