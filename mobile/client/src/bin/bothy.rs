//! `bothy`: the headless Bothy client, for support staff, scripted tests and
//! load runs. It drives the same client core as the app.
//!
//! The passcode is read from `BOTHY_PASSCODE`, or else from the first line of
//! standard input: never from an argument, where other users could see it.
//!
//! Exit codes: 0 done; 1 failed; 2 bad usage; 3 no store or not enrolled;
//! 4 wrong passcode or too many attempts; 5 refused by the access policy;
//! 6 no such child, visit or document.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use bothy_client::services::{FamilyVoiceInput, VisitDraft};
use bothy_client::store::{KdfParams, Passcode, Store, UnlockError};
use bothy_client::{Client, ServiceError};
use bothy_shared::docs::{DocKey, Sharing, VisitKind, VoiceOf};
use bothy_shared::ids::ChildId;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "bothy",
    version,
    about = "The headless Bothy client: an encrypted store of case records that syncs with a Bothy server."
)]
#[command(
    after_help = "The passcode is read from BOTHY_PASSCODE or the first line of standard input, never from an argument.\n\
Exit codes: 0 done, 1 failed, 2 usage, 3 no store or not enrolled, 4 wrong passcode, 5 refused by policy, 6 not found."
)]
struct Cli {
    /// The data folder holding this device's encrypted store.
    #[arg(long, env = "BOTHY_DATA", global = true, default_value = "bothy-data")]
    data: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the encrypted store in the data folder.
    Init {
        /// Fill the store with the fictional demo partnership as this person
        /// (e.g. "Morag", "Kai", "Fiona"), to try Bothy offline.
        #[arg(long, value_name = "NAME")]
        demo_as: Option<String>,
        /// For tests only: a weak, fast passcode key derivation.
        #[arg(long, hide = true)]
        insecure_test_kdf: bool,
    },
    /// Check the passcode opens the store.
    Unlock,
    /// Change the passcode (current from BOTHY_PASSCODE or stdin line 1; new from BOTHY_NEW_PASSCODE or stdin line 2).
    Passcode,
    /// The children on this device, those needing attention first.
    Caseload {
        /// Only children whose name contains this.
        #[arg(long)]
        search: Option<String>,
    },
    /// One child's plan, wellbeing, visits and chronology.
    Show {
        /// The child's id, or the start of their name.
        child: String,
    },
    /// Record a visit (saved at once; finalised visits can only be given addenda).
    Visit {
        #[arg(long)]
        child: String,
        /// What was observed.
        #[arg(long)]
        text: String,
        /// home, school, office, phone, video or other.
        #[arg(long, default_value = "home")]
        kind: String,
        #[arg(long, default_value = "")]
        place: String,
        /// The child was seen.
        #[arg(long)]
        seen: bool,
        /// The child was seen alone.
        #[arg(long)]
        seen_alone: bool,
        /// What the child said, in their words.
        #[arg(long, default_value = "")]
        child_said: String,
        /// Share with my agency only (stored in my agency's record).
        #[arg(long)]
        agency_only: bool,
        /// Finalise now: no further edits, addenda only.
        #[arg(long)]
        finalise: bool,
    },
    /// Add an addendum to a finalised visit.
    Addendum {
        #[arg(long)]
        child: String,
        #[arg(long)]
        visit: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        text: String,
    },
    /// Capture family voice: their own words, a 0-10 scale, the three houses.
    Voice {
        #[arg(long)]
        child: String,
        /// Who said it, as they want to be named.
        #[arg(long)]
        said_by: String,
        /// child, parent, carer, sibling or other.
        #[arg(long, default_value = "child")]
        voice_of: String,
        #[arg(long)]
        words: String,
        #[arg(long)]
        scale: Option<u8>,
        #[arg(long, default_value = "")]
        scale_question: String,
        #[arg(long, default_value = "")]
        worries: String,
        #[arg(long, default_value = "")]
        good_things: String,
        #[arg(long, default_value = "")]
        dreams: String,
        /// They agree this can be shared with the team.
        #[arg(long)]
        consent: bool,
    },
    /// Who this device belongs to and what is waiting to sync.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bothy: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(u) = cause.downcast_ref::<UnlockError>() {
            return match u {
                UnlockError::WrongPasscode { .. } | UnlockError::TooSoon { .. } => 4,
                UnlockError::NoStore => 3,
                _ => 1,
            };
        }
        if let Some(s) = cause.downcast_ref::<ServiceError>() {
            return match s {
                ServiceError::NotEnrolled => 3,
                ServiceError::Refused(_) | ServiceError::Denied(_) => 5,
                ServiceError::NotFound { .. } => 6,
                ServiceError::BadInput { .. } => 2,
                _ => 1,
            };
        }
    }
    1
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

fn open(dir: &Path) -> Result<Client> {
    if !Store::exists(dir).context("looking for the store")? {
        return Err(anyhow!(UnlockError::NoStore)).context(format!(
            "no store in {}: run `bothy --data {} init`",
            dir.display(),
            dir.display()
        ));
    }
    let passcode = passcodes(1)?.remove(0);
    let store = Store::unlock(dir, &passcode).context("unlocking the store")?;
    Client::open(store).map_err(|(store, e)| {
        let _ = store.lock();
        anyhow!(e)
    })
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

fn run(cli: &Cli) -> Result<()> {
    let dir = &cli.data;
    match &cli.command {
        Command::Init {
            demo_as,
            insecure_test_kdf,
        } => {
            let passcode = passcodes(1)?.remove(0);
            let params = if *insecure_test_kdf {
                KdfParams::insecure_fast_for_tests()
            } else {
                KdfParams::production()
            };
            let store = Store::create(dir, &passcode, params).context("creating the store")?;
            if let Some(name) = demo_as {
                let client = Client::seed_demo(store, name)?;
                let n = client.document_keys()?.len();
                println!(
                    "Created the store in {} with the demo as {} ({n} documents).",
                    dir.display(),
                    client.me().name
                );
                client.lock()?;
            } else {
                println!(
                    "Created the store in {}. Enrol this device with a code from your administrator.",
                    dir.display()
                );
                store.lock()?;
            }
        }
        Command::Unlock => {
            let client = open(dir)?;
            println!(
                "Unlocked: {} ({}).",
                client.me().name,
                client.me().role_title
            );
            client.lock()?;
        }
        Command::Passcode => {
            let mut p = passcodes(2)?;
            let new = p.remove(1);
            let old = p.remove(0);
            Store::change_passcode(dir, &old, &new).context("changing the passcode")?;
            println!("Passcode changed.");
        }
        Command::Caseload { search } => {
            let client = open(dir)?;
            let list = client.caseload(search.as_deref())?;
            if cli.json {
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
            client.lock()?;
        }
        Command::Show { child } => {
            let mut client = open(dir)?;
            let id = find_child(&client, child)?;
            if client.me().is_young_person() {
                let plan = client.my_plan()?;
                if cli.json {
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
                if cli.json {
                    println!("{}", serde_json::to_string_pretty(&o)?);
                } else {
                    print_child(&o);
                }
            }
            client.lock()?;
        }
        Command::Visit {
            child,
            text,
            kind,
            place,
            seen,
            seen_alone,
            child_said,
            agency_only,
            finalise,
        } => {
            let mut client = open(dir)?;
            let id = find_child(&client, child)?;
            let mut draft = VisitDraft::new(id);
            draft.kind = VisitKind::from_slug(kind).ok_or_else(|| {
                anyhow!(ServiceError::BadInput {
                    field: "kind",
                    problem: format!(
                        "`{kind}` is not one of home, school, office, phone, video, other"
                    )
                })
            })?;
            draft.place = place.clone();
            draft.observations = text.clone();
            draft.child_seen = *seen || *seen_alone;
            draft.seen_alone = *seen_alone;
            draft.child_said = child_said.clone();
            draft.sharing = if *agency_only {
                Sharing::Agency
            } else {
                Sharing::Team
            };
            client.autosave_visit(&draft)?;
            let key = client.save_visit(&draft, *finalise)?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "visit": draft.id, "document": key, "finalised": finalise })
                );
            } else {
                println!(
                    "Saved visit {} in {key}{}.",
                    draft.id,
                    if *finalise {
                        ", finalised"
                    } else {
                        " as a draft"
                    }
                );
            }
            client.lock()?;
        }
        Command::Addendum {
            child,
            visit,
            reason,
            text,
        } => {
            let mut client = open(dir)?;
            let id = find_child(&client, child)?;
            let visit = visit.parse().map_err(|_| {
                anyhow!(ServiceError::BadInput {
                    field: "visit",
                    problem: format!("`{visit}` is not a visit id")
                })
            })?;
            let key = locate_visit(&mut client, id, visit)?;
            let a = client.add_addendum(key, visit, reason, text)?;
            println!("Added addendum {a} to visit {visit}.");
            client.lock()?;
        }
        Command::Voice {
            child,
            said_by,
            voice_of,
            words,
            scale,
            scale_question,
            worries,
            good_things,
            dreams,
            consent,
        } => {
            let mut client = open(dir)?;
            let id = find_child(&client, child)?;
            let input = FamilyVoiceInput {
                said_by: said_by.clone(),
                voice_of: VoiceOf::from_slug(voice_of).ok_or_else(|| {
                    anyhow!(ServiceError::BadInput {
                        field: "voice-of",
                        problem: format!(
                            "`{voice_of}` is not one of child, parent, carer, sibling, other"
                        )
                    })
                })?,
                own_words: words.clone(),
                scale_question: scale_question.clone(),
                scale: *scale,
                worries: worries.clone(),
                good_things: good_things.clone(),
                dreams: dreams.clone(),
                consent_to_share: *consent,
            };
            let v = client.record_family_voice(id, &input)?;
            println!("Saved family voice {v}.");
            client.lock()?;
        }
        Command::Status => {
            let client = open(dir)?;
            let me = client.me();
            let unsynced = client.unsynced_changes()?;
            let rejected = client.store().rejections()?.len();
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "person": me.person, "name": me.name, "device": me.device, "unsynced_changes": unsynced, "rejected": rejected })
                );
            } else {
                println!(
                    "{} ({}) on device {}\n{unsynced} change(s) waiting to sync, {rejected} refused by the server.",
                    me.name, me.role_title, me.device
                );
            }
            client.lock()?;
        }
    }
    Ok(())
}

fn locate_visit(
    client: &mut Client,
    child: ChildId,
    visit: bothy_shared::ids::ItemId,
) -> Result<DocKey> {
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

fn print_child(o: &bothy_client::services::ChildOverview) {
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
