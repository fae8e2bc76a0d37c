//! `bothy addendum`: add an addendum to a finalised visit.

use anyhow::{Result, anyhow};
use bothy_client::{Client, ServiceError};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{ChildId, ItemId};

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[arg(long)]
    child: String,
    #[arg(long)]
    visit: String,
    #[arg(long)]
    reason: String,
    #[arg(long)]
    text: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd {
            child,
            visit,
            reason,
            text,
        } = self;
        let dir = &ctx.data;
        with_client(dir, |client| {
            let id = find_child(client, child)?;
            let visit = visit.parse().map_err(|_| {
                anyhow!(ServiceError::BadInput {
                    field: "visit",
                    problem: format!("`{visit}` is not a visit id")
                })
            })?;
            let key = locate_visit(client, id, visit)?;
            let a = client.add_addendum(key, visit, reason, text)?;
            println!("Added addendum {a} to visit {visit}.");
            Ok(())
        })
    }
}

fn locate_visit(client: &mut Client, child: ChildId, visit: ItemId) -> Result<DocKey> {
    let overview = client.child(child)?;
    overview
        .recent_visits
        .iter()
        .find(|v| v.id == visit)
        .map(|v| v.doc)
        .ok_or_else(|| {
            anyhow!(ServiceError::NotFound {
                what: "visit",
                id: visit.to_string()
            })
        })
}
