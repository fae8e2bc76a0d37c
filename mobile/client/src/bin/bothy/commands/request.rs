//! `bothy request`, `bothy requests`, `bothy accept` and `bothy decline`:
//! ask another agency's duty team for help (offline; sent at the next
//! sync), list my requests and my duty team's, and, as a duty worker,
//! accept (a new child, or one found by the match check) or decline.

use anyhow::{Context as _, Result, anyhow, bail};
use bothy_client::services::{NewRequest, RequestLine};
use bothy_client::{DeviceSettings, ServiceError};
use bothy_shared::docs::{Indicator, IsoDate, SharingBasis};
use bothy_shared::ids::{Agency, ChildId, RequestId};

use super::{Context, find_child, open, runtime, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The agency whose duty team is asked (social-work, health, …).
    #[arg(long)]
    to: Agency,
    /// A child already on this device (an id or the start of a name).
    #[arg(long, conflicts_with_all = ["name", "born"])]
    child: Option<String>,
    /// A child not yet in Bothy: their full name (with --born).
    #[arg(long, requires = "born")]
    name: Option<String>,
    /// Their date of birth, YYYY-MM-DD.
    #[arg(long)]
    born: Option<IsoDate>,
    /// Their school.
    #[arg(long, default_value = "")]
    school: String,
    /// Their address.
    #[arg(long, default_value = "")]
    address: String,
    /// Why you are asking for help.
    #[arg(long)]
    reason: String,
    /// The wellbeing indicators you are worried about: safe,healthy,…
    #[arg(long, value_delimiter = ',')]
    concerns: Vec<String>,
    /// What worries you about them, in your words.
    #[arg(long, default_value = "")]
    details: String,
    /// What the child and the family think.
    #[arg(long, default_value = "")]
    views: String,
    /// consent, or the lawful basis for sharing without it: wellbeing or protection.
    #[arg(long)]
    basis: Option<String>,
    #[arg(long)]
    urgent: bool,
}

#[derive(clap::Args, Debug)]
pub struct AcceptCmd {
    /// The request: its id or its first 8 characters.
    request: String,
    /// The child already in Bothy it is about (an id, or the start of a
    /// name among the match check's candidates). Without it: the child the
    /// request names, else a new child.
    #[arg(long)]
    child: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct DeclineCmd {
    /// The request: its id or its first 8 characters.
    request: String,
    /// Why (the sender sees this).
    #[arg(long)]
    reason: String,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let concerns = self
            .concerns
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                Indicator::from_slug(c.trim())
                    .ok_or_else(|| anyhow!("`{c}` is not a wellbeing indicator (safe, healthy, achieving, nurtured, active, respected, responsible, included)"))
            })
            .collect::<Result<Vec<_>>>()?;
        let basis = self
            .basis
            .as_deref()
            .map(|b| {
                SharingBasis::from_slug(b.trim()).ok_or_else(|| {
                    anyhow!("`{b}` is not a basis (consent, wellbeing or protection)")
                })
            })
            .transpose()?;
        if self.child.is_none() && self.name.is_none() {
            bail!(
                "say who the request is about: --child C, or --name \"FULL NAME\" --born YYYY-MM-DD"
            );
        }
        with_client(&ctx.data, |client| {
            let child = self
                .child
                .as_deref()
                .map(|c| find_child(client, c))
                .transpose()?;
            let id = client.send_request(NewRequest {
                to: Some(self.to),
                child,
                name: self.name.clone().unwrap_or_default(),
                born: self.born,
                school: self.school.clone(),
                address: self.address.clone(),
                reason: self.reason.clone(),
                concerns,
                concern_details: self.details.clone(),
                views: self.views.clone(),
                basis,
                urgent: self.urgent,
            })?;
            if ctx.json {
                println!("{}", serde_json::json!({ "request": id.to_string() }));
            } else {
                println!("{id}");
            }
            Ok(())
        })
    }
}

/// `bothy requests`: one line per request, `ID STATE CHILD-OR-NAME`.
pub fn list(ctx: &Context) -> Result<()> {
    with_client(&ctx.data, |client| {
        let lines = client.requests()?;
        if ctx.json {
            println!("{}", serde_json::to_string(&lines)?);
        } else {
            for r in &lines {
                println!("{}", line(r));
            }
        }
        Ok(())
    })
}

/// `ID STATE CHILD-OR-NAME`, then (for people reading) whether it is
/// urgent and the last step's note.
pub(super) fn line(r: &RequestLine) -> String {
    let mut out = format!("{} {} {}", r.id, r.state.as_str(), r.about);
    if r.urgent {
        out.push_str("\t(urgent)");
    }
    if let Some(note) = &r.note {
        out.push_str(&format!("\t{note}"));
    }
    out
}

impl AcceptCmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let device = open(&ctx.data, DeviceSettings::manual())?;
        let found = device
            .with_client(|client| client.find_request(&self.request))
            .ok_or(ServiceError::Locked)??;
        let child = match self.child.as_deref() {
            None => None,
            Some(spec) => Some(match spec.parse::<ChildId>() {
                Ok(id) => id,
                Err(_) => matched_child(&device, found, spec)?,
            }),
        };
        let accepted = device
            .with_client(|client| {
                let child = match child {
                    Some(c) => Some(c),
                    None => client.requested_child(found)?,
                };
                client.accept_request(found, child)
            })
            .ok_or(ServiceError::Locked)??;
        device.lock()?;
        if ctx.json {
            println!(
                "{}",
                serde_json::json!({ "request": found.to_string(), "child": accepted.to_string() })
            );
        } else {
            println!("Accepted {found} for child {accepted}. Sync to send it.");
        }
        Ok(())
    }
}

/// The one candidate of the server's match check whose name starts with `spec`.
fn matched_child(device: &bothy_client::Device, id: RequestId, spec: &str) -> Result<ChildId> {
    let candidates = runtime()?
        .block_on(device.match_check(id))
        .context("the match check needs the server")?;
    let want = spec.to_lowercase();
    let found: Vec<_> = candidates
        .iter()
        .filter(|c| c.name.to_lowercase().starts_with(&want))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.child),
        [] => Err(anyhow!(ServiceError::NotFound {
            what: "child matching the request",
            id: spec.to_owned(),
        })),
        many => bail!(
            "`{spec}` matches {} children; use more of the name or the id",
            many.len()
        ),
    }
}

impl DeclineCmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        with_client(&ctx.data, |client| {
            let id = client.find_request(&self.request)?;
            client.decline_request(id, &self.reason)?;
            if ctx.json {
                println!("{}", serde_json::json!({ "declined": id.to_string() }));
            } else {
                println!("Declined {id}. Sync to send it.");
            }
            Ok(())
        })
    }
}
