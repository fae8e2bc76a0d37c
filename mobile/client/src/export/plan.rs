//! What a printed plan says, as [`Block`]s: the team's version from the
//! team's plan, the young person's from "My plan" ([`MyPlan`], built from
//! the young person's copy, so nothing withheld from them is in it, and in
//! the words of the "My plan" screen).

use bothy_shared::docs::{Indicator, PersonRef, PlanDoc, Timestamp, ViewEntry, Wellbeing};

use super::pdf::Block;
use crate::services::{MyPlan, my_plan_words as say};

pub use crate::words::date;
use crate::words::maybe_date;

/// "22 October 2026, 14:05 UTC".
pub fn date_time(t: Timestamp) -> String {
    format!("{} UTC", crate::words::date_time(t))
}

/// Who made an export and when, for its first page.
#[derive(Debug, Clone)]
pub struct MadeBy {
    pub name: String,
    pub role: String,
    pub at: Timestamp,
}

/// The child's details at the top of the first page.
fn header(plan: &PlanDoc, made: &MadeBy, out: &mut Vec<Block>) {
    let c = &plan.child;
    out.push(Block::Para(format!("Name: {}", c.name)));
    if !c.preferred_name.is_empty() {
        out.push(Block::Para(format!("Preferred name: {}", c.preferred_name)));
    }
    out.push(Block::Para(format!(
        "Date of birth: {}",
        maybe_date(c.date_of_birth)
    )));
    let role = if made.role.is_empty() {
        String::new()
    } else {
        format!(" ({})", made.role)
    };
    out.push(Block::Para(format!(
        "Made by {}{role} on {}",
        made.name,
        date_time(made.at)
    )));
}

/// Each indicator and its latest rating, in SHANARRI order.
fn spokes(w: &Wellbeing) -> Vec<(String, Option<u8>)> {
    Indicator::ALL
        .iter()
        .map(|&i| (i.label().to_owned(), w.get(i).latest().map(|r| r.score)))
        .collect()
}

fn person(p: &PersonRef) -> String {
    if p.role_title.is_empty() {
        format!("{} ({})", p.name, p.agency.label())
    } else {
        format!("{}, {} ({})", p.name, p.role_title, p.agency.label())
    }
}

fn views(
    title: &str,
    map: &std::collections::BTreeMap<bothy_shared::ids::ItemId, ViewEntry>,
    out: &mut Vec<Block>,
) {
    out.push(Block::Subheading(title.to_owned()));
    if map.is_empty() {
        out.push(Block::Para("None recorded.".to_owned()));
    }
    let mut v: Vec<&ViewEntry> = map.values().collect();
    v.sort_by_key(|e| e.at);
    for e in v {
        out.push(Block::Quote {
            words: e.words.as_str().to_owned(),
            by: format!("{}, {}", e.said_by, date_time(e.at)),
        });
    }
}

fn text_or(out: &mut Vec<Block>, label: &str, text: &str) {
    if !text.trim().is_empty() {
        out.push(Block::Para(format!("{label}: {text}")));
    }
}

/// The team's plan, as the team's plan document holds it.
pub fn team(plan: &PlanDoc, made: &MadeBy) -> Vec<Block> {
    let mut out = vec![Block::Title(format!("Child's plan: {}", plan.child.name))];
    header(plan, made, &mut out);
    out.push(Block::Para(
        "For the team. Parts withheld from the young person are in this version: do not give it to them."
            .to_owned(),
    ));

    out.push(Block::Heading("Why there is a plan".to_owned()));
    out.push(Block::Para(plan.reason.as_str().to_owned()));
    text_or(&mut out, "Legal status", &plan.legal_status);

    out.push(Block::Heading("The team".to_owned()));
    if let Some(p) = &plan.lead_professional {
        out.push(Block::Bullet(format!("Lead professional: {}", person(p))));
    }
    if let Some(p) = &plan.named_person {
        out.push(Block::Bullet(format!("Named person: {}", person(p))));
    }
    for p in plan.team.values() {
        out.push(Block::Bullet(person(p)));
    }
    for c in plan.carers.values() {
        let pr = if c.parental_responsibility {
            ", has parental responsibility"
        } else {
            ""
        };
        out.push(Block::Bullet(format!(
            "Carer: {} ({}{pr})",
            c.name, c.relationship
        )));
    }

    out.push(Block::Heading("Wellbeing wheel".to_owned()));
    out.push(Block::Wheel(spokes(&plan.wellbeing)));
    for i in Indicator::ALL {
        let a = plan.wellbeing.get(i);
        let latest = a
            .latest()
            .map(|r| format!("{} out of 10 on {}", r.score, date(r.on)))
            .unwrap_or_else(|| "no rating".to_owned());
        out.push(Block::Subheading(format!("{}: {latest}", i.label())));
        text_or(&mut out, "Strengths", a.strengths.as_str());
        text_or(&mut out, "Concerns", a.concerns.as_str());
    }

    out.push(Block::Heading("Needs and actions".to_owned()));
    if plan.needs.is_empty() {
        out.push(Block::Para("No needs recorded.".to_owned()));
    }
    let mut needs: Vec<_> = plan.needs.values().collect();
    needs.sort_by_key(|n| (n.closed.is_some(), n.created_at));
    for n in needs {
        out.push(Block::Subheading(format!("Need: {}", n.need.as_str())));
        if !n.indicators.is_empty() {
            let labels: Vec<&str> = n.indicators.iter().map(|i| i.label()).collect();
            out.push(Block::Para(format!("Wellbeing: {}", labels.join(", "))));
        }
        text_or(&mut out, "Outcome wanted", n.desired_outcome.as_str());
        text_or(&mut out, "How we will know", n.evidence.as_str());
        if let Some(c) = &n.closed {
            out.push(Block::Para(format!(
                "Closed {}: {}",
                date_time(c.at),
                c.reason
            )));
        }
        for a in n.actions.values() {
            let owner = a
                .owner
                .as_ref()
                .map(person)
                .unwrap_or_else(|| "no owner".to_owned());
            let mut line = format!(
                "{}. Owner: {owner}. Due: {}. Status: {}.",
                a.what.as_str().trim_end_matches('.'),
                maybe_date(a.due),
                a.status.label()
            );
            if !a.progress.as_str().trim().is_empty() {
                line.push_str(&format!(" Progress: {}", a.progress.as_str()));
            }
            out.push(Block::Bullet(line));
        }
    }

    out.push(Block::Heading("Views in their own words".to_owned()));
    views("The young person", &plan.young_person_views, &mut out);
    views("The family", &plan.family_views, &mut out);

    out.push(Block::Heading("The last review".to_owned()));
    match plan.last_review() {
        None => out.push(Block::Para("No review held yet.".to_owned())),
        Some(r) => {
            out.push(Block::Para(format!("Held on {}", date(r.held_on))));
            if !r.attended.is_empty() {
                out.push(Block::Para(format!("Attended: {}", r.attended.join(", "))));
            }
            text_or(&mut out, "Decisions", r.decisions.as_str());
            text_or(
                &mut out,
                "What changed in the plan",
                r.plan_changes.as_str(),
            );
            if !r.young_person_views.as_str().trim().is_empty() {
                out.push(Block::Quote {
                    words: r.young_person_views.as_str().to_owned(),
                    by: "the young person, at the review".to_owned(),
                });
            }
            if !r.family_views.as_str().trim().is_empty() {
                out.push(Block::Quote {
                    words: r.family_views.as_str().to_owned(),
                    by: "the family, at the review".to_owned(),
                });
            }
            out.push(Block::Para(format!(
                "Next review: {}",
                maybe_date(r.next_review.or(plan.review_date))
            )));
        }
    }
    if plan.last_review().is_none() {
        out.push(Block::Para(format!(
            "Next review: {}",
            maybe_date(plan.review_date)
        )));
    }

    out.push(Block::Heading("My World".to_owned()));
    text_or(
        &mut out,
        "How I grow and develop",
        plan.my_world.growing.as_str(),
    );
    text_or(
        &mut out,
        "What I need from the people who look after me",
        plan.my_world.care.as_str(),
    );
    text_or(
        &mut out,
        "My wider world",
        plan.my_world.wider_world.as_str(),
    );

    let t = &plan.transition;
    if t.is_recorded() {
        out.push(Block::Heading("Moving on to adult services".to_owned()));
        if t.needed {
            let services: Vec<&str> = t.services.iter().map(|a| a.label()).collect();
            if !services.is_empty() {
                out.push(Block::Para(format!(
                    "Adult services: {}",
                    services.join(", ")
                )));
            }
            text_or(&mut out, "Other services", t.adult_services.as_str());
            text_or(&mut out, "The plan", t.plan.as_str());
            out.push(Block::Para(format!(
                "Starts by: {}",
                maybe_date(t.start_by)
            )));
        } else {
            out.push(Block::Para(
                "No move to adult services is needed.".to_owned(),
            ));
        }
    }

    if !plan.withheld.is_empty() {
        out.push(Block::Heading("Withheld from the young person".to_owned()));
        for m in plan.withheld.values() {
            let why = if m.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", m.reason)
            };
            out.push(Block::Bullet(format!(
                "{} since {}{why}",
                m.section,
                date_time(m.at)
            )));
        }
    }
    out
}

/// The young person's plan, from "My plan" and the young person's copy
/// (`copy`: the wheel and the details at the top). Says only what "My plan"
/// says, in its words.
pub fn young_person(copy: &PlanDoc, mine: &MyPlan, made: &MadeBy) -> Vec<Block> {
    let mut out = vec![Block::Title(say::TITLE.to_owned())];
    header(copy, made, &mut out);
    out.push(Block::Para(say::hello(&mine.name)));
    if mine.some_private {
        out.push(Block::Para(crate::services::PRIVATE_FOR_NOW.to_owned()));
    }
    if !mine.why.is_empty() {
        out.push(Block::Heading(say::WHY.to_owned()));
        out.push(Block::Para(mine.why.clone()));
    }
    out.push(Block::Heading(say::MY_TEAM.to_owned()));
    for m in &mine.my_team {
        let lead = if m.is_lead {
            say::BRINGS_TEAM_TOGETHER
        } else {
            ""
        };
        out.push(Block::Bullet(format!("{}, {}{lead}", m.name, m.role)));
    }
    out.push(Block::Heading(say::HOW_THINGS_ARE.to_owned()));
    out.push(Block::Wheel(spokes(&copy.wellbeing)));
    for line in &mine.how_things_are {
        let now = line
            .now
            .map(|n| format!(" — {n} out of 10"))
            .unwrap_or_default();
        out.push(Block::Subheading(format!("{}{now}", line.label)));
        text_or(&mut out, say::GOING_WELL, &line.going_well);
        text_or(&mut out, say::WORRIES, &line.worries);
    }
    out.push(Block::Heading(say::WHAT_HAPPENS_NEXT.to_owned()));
    if mine.what_happens_next.is_empty() {
        out.push(Block::Para(say::NOTHING_PLANNED.to_owned()));
    }
    for step in &mine.what_happens_next {
        let by = step
            .by_when
            .map(|d| format!("By {}. ", date(d)))
            .unwrap_or_default();
        out.push(Block::Bullet(format!(
            "{}. Who: {}. {by}{}",
            step.what.trim_end_matches('.'),
            step.who,
            step.status
        )));
    }
    if let Some(review) = mine.next_review {
        out.push(Block::Para(format!(
            "Your team will look at your plan together again on {}.",
            date(review)
        )));
    }
    if let Some(met) = &mine.last_review {
        out.push(Block::Heading(say::LAST_MET.to_owned()));
        out.push(Block::Para(format!("We met on {}.", date(met.met_on))));
        text_or(&mut out, say::WHAT_CHANGED, &met.what_changed);
        text_or(&mut out, say::WHAT_I_SAID, &met.what_i_said);
    }
    if let Some(moving) = &mine.moving_on {
        out.push(Block::Heading(say::MOVING_ON.to_owned()));
        out.push(Block::Para(format!(
            "Getting ready for when you are older: {}",
            if moving.plan.is_empty() {
                "your team will plan this with you."
            } else {
                moving.plan.as_str()
            }
        )));
        if !moving.who_will_help.is_empty() {
            out.push(Block::Para(format!(
                "Who will help: {}",
                moving.who_will_help.join(", ")
            )));
        }
        if let Some(by) = moving.starting_by {
            out.push(Block::Para(format!("Starting by: {}", date(by))));
        }
    }
    out.push(Block::Heading(say::WHAT_I_THINK.to_owned()));
    if mine.what_i_think.is_empty() {
        out.push(Block::Para("Nothing written yet.".to_owned()));
    }
    for v in &mine.what_i_think {
        out.push(Block::Quote {
            words: v.words.clone(),
            by: format!("{}, {}", v.said_by, date_time(v.at)),
        });
    }
    out
}
