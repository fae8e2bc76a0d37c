//! `bothy team add` and `bothy team end`: change a child's team (lead
//! professional or supervisor of the team). The change is kept on this
//! device; the next `bothy sync` sends it and prints whether the server
//! applied or refused it.

use anyhow::{Result, bail};
use bothy_shared::docs::IsoDate;
use bothy_shared::policy::TeamRole;
use bothy_shared::team::TeamChange;

use super::{Context, find_child, with_client};

#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Put someone on the child's team; --role lead|named hands that role
    /// over (whoever held it stays a member).
    Add(AddCmd),
    /// End someone's membership of the child's team (today), with the reason.
    End(EndCmd),
}

#[derive(clap::Args, Debug)]
pub struct AddCmd {
    #[arg(long)]
    child: String,
    /// A person id, or the start of their name.
    #[arg(long)]
    person: String,
    /// member, lead (lead professional) or named (named person).
    #[arg(long, default_value = "member")]
    role: String,
}

#[derive(clap::Args, Debug)]
pub struct EndCmd {
    #[arg(long)]
    child: String,
    /// A person id, or the start of their name.
    #[arg(long)]
    person: String,
    /// Why the membership ends (kept with the change for the audit).
    #[arg(long)]
    reason: String,
}

fn role(spec: &str) -> Result<TeamRole> {
    Ok(match spec.trim().to_lowercase().as_str() {
        "member" => TeamRole::Member,
        "lead" | "lead-professional" => TeamRole::LeadProfessional,
        "named" | "named-person" => TeamRole::NamedPerson,
        other => bail!("--role must be member, lead or named, not `{other}`"),
    })
}

fn print_queued(ctx: &Context, words: &str, change: &TeamChange) {
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({ "queued": change.id.to_string(), "change": words })
        );
    } else {
        println!("Queued: {words} (change {}). Sync to send it.", change.id);
    }
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        with_client(&ctx.data, |client| {
            let change = match self {
                Cmd::Add(a) => {
                    let child = find_child(client, &a.child)?;
                    let person = client.find_person(&a.person)?;
                    client.add_to_team(child, person, role(&a.role)?)?
                }
                Cmd::End(e) => {
                    let child = find_child(client, &e.child)?;
                    let person = client.find_person(&e.person)?;
                    client.end_membership(child, person, IsoDate::today(), &e.reason)?
                }
            };
            print_queued(ctx, &client.team_change_words(&change), &change);
            Ok(())
        })
    }
}
