//! One module per command: its arguments and its `run`. What several share
//! (the passcode, opening the store, finding a child) is here.

mod addendum;
mod caseload;
mod check;
mod chronology;
mod conflicts;
mod enrol;
mod export;
mod init;
mod need;
mod outcomes;
mod passcode;
mod rate;
mod refused;
mod request;
mod review;
mod review_date;
mod settle;
mod show;
mod status;
mod sync;
mod team;
mod transition;
mod unlock;
mod visit;
mod voice;
mod withhold;

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use bothy_client::device::UnlockFailure;
use bothy_client::store::{Passcode, Store, UnlockError};
use bothy_client::{Client, Device, DeviceSettings, ServiceError};
use bothy_shared::ids::ChildId;
use clap::Subcommand;

/// What every command is given: the global options.
#[derive(Debug)]
pub struct Context {
    /// The data folder holding the encrypted store.
    pub data: PathBuf,
    /// Print JSON instead of text.
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the encrypted store in the data folder.
    Init(init::Cmd),
    /// Check the passcode opens the store.
    Unlock,
    /// Read and verify every page of the store now (the app does this in
    /// the background after each unlock); fails if the store is damaged.
    Check,
    /// Change the passcode (current from BOTHY_PASSCODE or stdin line 1; new from BOTHY_NEW_PASSCODE or stdin line 2).
    Passcode,
    /// The children on this device, those needing attention first.
    Caseload(caseload::Cmd),
    /// One child's plan, wellbeing, visits and chronology.
    Show(show::Cmd),
    /// Record a visit (saved at once; finalised visits can only be given addenda).
    Visit(visit::Cmd),
    /// Add an addendum to a finalised visit.
    Addendum(addendum::Cmd),
    /// Capture family voice: their own words, a 0-10 scale, the three houses.
    /// Without --consent it is kept in my agency's record only.
    Voice(voice::Cmd),
    /// Add an entry to a child's chronology (date, event, impact, action taken).
    Chronology(chronology::Cmd),
    /// Enrol this device with a Bothy server using a one-time code from an
    /// administrator (creates the store first if there is none).
    Enrol(enrol::Cmd),
    /// Sync with the server once: push local changes, pull everyone else's.
    /// Exit code 7 if the server cannot be reached, 8 if this device was
    /// revoked (its unsynced work is offered to the server, then the store is wiped).
    Sync(sync::Cmd),
    /// Who this device belongs to, its server, when it last synced, what is
    /// waiting to sync and which changes the server refused (rule and reason).
    Status,
    /// The changes the server refused, with rule, reason and text: one block
    /// per change (kept on this device; the edits after them were sent).
    Refused,
    /// A child's open conflicts: fields two people changed at once, one line
    /// each (ID FIELD "VALUE" by NAME | "VALUE" by NAME).
    Conflicts(conflicts::Cmd),
    /// Settle an open conflict by keeping one of its values.
    Settle(settle::Cmd),
    /// Withhold a part of the plan from the young person, with the reason
    /// (lead professional or supervisor of the team).
    Withhold(withhold::Cmd),
    /// Lift a withholding: the young person sees that part again after sync.
    Unwithhold(withhold::LiftCmd),
    /// Assess a wellbeing indicator: a new 1-10 rating in my name, with strengths and concerns.
    Rate(rate::Cmd),
    /// Add a need to the child's plan, with its desired outcome.
    Need(need::Cmd),
    /// Record a review meeting of the child's plan (with --next, the next review date).
    Review(review::Cmd),
    /// Set the date of the plan's next review.
    ReviewDate(review_date::Cmd),
    /// Record the plan's transition section ("Moving on"): --needed yes|no,
    /// the adult services who will help, the plan and when it starts by.
    Transition(transition::Cmd),
    /// Ask another agency's duty team for help with a child (saved at once,
    /// sent at the next sync); prints the request's id.
    Request(request::Cmd),
    /// The requests I sent and my duty team received: ID STATE CHILD-OR-NAME.
    Requests,
    /// Accept a request (a duty worker of the receiving agency): for a new
    /// child, or with --child one the match check found.
    Accept(request::AcceptCmd),
    /// Decline a request, with the reason the sender will see.
    Decline(request::DeclineCmd),
    /// Change a child's team (lead professional or supervisor of the team):
    /// `team add` someone (--role lead|named hands that role over), or
    /// `team end` someone's membership with the reason. Sent at the next sync.
    #[command(subcommand)]
    Team(team::Cmd),
    /// The team's outcomes on this device: children per band for each
    /// wellbeing indicator now and at their last review, ratings fallen by 2
    /// or more, reviews on time, visits overdue, seen alone (not for a young person).
    Outcomes,
    /// A child's plan as a signed PDF: `--for team` (the team's plan) or
    /// `--for young-person` (no withheld part, in the words of "My plan").
    Export(export::Cmd),
}

impl Command {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        match self {
            Command::Init(cmd) => cmd.run(ctx),
            Command::Unlock => unlock::run(ctx),
            Command::Check => check::run(ctx),
            Command::Passcode => passcode::run(ctx),
            Command::Caseload(cmd) => cmd.run(ctx),
            Command::Show(cmd) => cmd.run(ctx),
            Command::Visit(cmd) => cmd.run(ctx),
            Command::Addendum(cmd) => cmd.run(ctx),
            Command::Voice(cmd) => cmd.run(ctx),
            Command::Chronology(cmd) => cmd.run(ctx),
            Command::Enrol(cmd) => cmd.run(ctx),
            Command::Sync(cmd) => cmd.run(ctx),
            Command::Status => status::run(ctx),
            Command::Refused => refused::run(ctx),
            Command::Conflicts(cmd) => cmd.run(ctx),
            Command::Settle(cmd) => cmd.run(ctx),
            Command::Withhold(cmd) => cmd.run(ctx),
            Command::Unwithhold(cmd) => cmd.run(ctx),
            Command::Rate(cmd) => cmd.run(ctx),
            Command::Need(cmd) => cmd.run(ctx),
            Command::Review(cmd) => cmd.run(ctx),
            Command::ReviewDate(cmd) => cmd.run(ctx),
            Command::Transition(cmd) => cmd.run(ctx),
            Command::Request(cmd) => cmd.run(ctx),
            Command::Requests => request::list(ctx),
            Command::Accept(cmd) => cmd.run(ctx),
            Command::Decline(cmd) => cmd.run(ctx),
            Command::Team(cmd) => cmd.run(ctx),
            Command::Outcomes => outcomes::run(ctx),
            Command::Export(cmd) => cmd.run(ctx),
        }
    }
}

/// The passcode(s): BOTHY_PASSCODE (and BOTHY_NEW_PASSCODE), else lines of stdin.
fn passcodes(n: usize) -> Result<Vec<Passcode>> {
    let mut out = Vec::new();
    if let Ok(p) = std::env::var("BOTHY_PASSCODE") {
        out.push(Passcode::new(p));
        if n > 1
            && let Ok(p) = std::env::var("BOTHY_NEW_PASSCODE")
        {
            out.push(Passcode::new(p));
        }
    }
    if out.len() < n {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprintln!("Passcode (the line is not hidden; prefer BOTHY_PASSCODE):");
        }
        for line in stdin.lock().lines().take(n - out.len()) {
            out.push(Passcode::new(
                line.context("reading the passcode from standard input")?,
            ));
        }
    }
    if out.len() < n {
        bail!("no passcode: set BOTHY_PASSCODE or write it on standard input");
    }
    Ok(out)
}

/// Unlock the store in `dir` (with the passcode from the environment or
/// standard input) as a device that syncs with `settings`.
fn open(dir: &Path, settings: DeviceSettings) -> Result<Device> {
    if !Store::exists(dir).context("looking for the store")? {
        return Err(anyhow!(UnlockError::NoStore)).context(format!(
            "no store in {}: run `bothy --data {} init`",
            dir.display(),
            dir.display()
        ));
    }
    let passcode = passcodes(1)?.remove(0);
    let device = Device::locked(dir, settings);
    device.unlock(&passcode).map_err(|e| match e {
        UnlockFailure::Store(e) => anyhow!(e).context("unlocking the store"),
        UnlockFailure::Open(e) => anyhow!(e),
        other => anyhow!(other),
    })?;
    Ok(device)
}

/// Unlock the store in `dir`, run `f` with the client, and lock it again.
fn with_client<R>(dir: &Path, f: impl FnOnce(&mut Client) -> Result<R>) -> Result<R> {
    let device = open(dir, DeviceSettings::manual())?;
    let out = device.with_client(f).ok_or(ServiceError::Locked)??;
    device.lock()?;
    Ok(out)
}

fn find_child(client: &Client, spec: &str) -> Result<ChildId> {
    if let Ok(id) = spec.parse::<ChildId>() {
        return Ok(id);
    }
    let want = spec.to_lowercase();
    let matches: Vec<_> = client
        .caseload(None)?
        .into_iter()
        .filter(|c| {
            c.name.to_lowercase().starts_with(&want)
                || c.preferred_name
                    .as_deref()
                    .is_some_and(|p| p.to_lowercase().starts_with(&want))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.child),
        [] => Err(anyhow!(ServiceError::NotFound {
            what: "child",
            id: spec.to_owned()
        })),
        many => bail!(
            "`{spec}` matches {} children ({}); use more of the name or the id",
            many.len(),
            many.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A runtime for the commands that talk to a server.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the network runtime")
}
