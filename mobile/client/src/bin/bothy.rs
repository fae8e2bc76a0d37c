//! `bothy`: the headless Bothy client, for support staff, scripted tests and
//! load runs. It drives the same client core as the app.
//!
//! The passcode is read from `BOTHY_PASSCODE`, or else from the first line of
//! standard input: never from an argument, where other users could see it.
//!
//! Exit codes: 0 done; 1 failed; 2 bad usage; 3 no store or not enrolled;
//! 4 wrong passcode or too many attempts; 5 refused by the access policy;
//! 6 no such child, visit or document; 7 the server could not be reached;
//! 8 the device was revoked and its data wiped.
//!
//! Sync: `bothy --data DIR enrol --server URL --code CODE` once (creates the
//! store if there is none), then `bothy --data DIR sync` whenever there is
//! signal, and `bothy --data DIR status` to see what is waiting.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use bothy_client::services::{FamilyVoiceInput, VisitDraft};
use bothy_client::store::{KdfParams, Passcode, Store, UnlockError};
use bothy_client::sync::{self, RetryPolicy, SyncEngine, SyncError, SyncOptions, SyncOutcome};
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
Sync with a server:\n  bothy --data DIR enrol --server URL --code CODE   enrol this device (creates the store if absent)\n  bothy --data DIR sync                               one full sync; prints what was sent and received\n  bothy --data DIR status                             who, server, last sync, unsynced and refused changes\n\
Exit codes: 0 done, 1 failed, 2 usage, 3 no store or not enrolled, 4 wrong passcode, 5 refused by policy, 6 not found, 7 server unreachable, 8 device revoked and wiped."
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
    /// Enrol this device with a Bothy server using a one-time code from an
    /// administrator (creates the store first if there is none).
    Enrol {
        /// The server's address, e.g. https://bothy.example.org
        #[arg(long, env = "BOTHY_SERVER")]
        server: String,
        /// The one-time enrolment code (dashes and case are ignored).
        #[arg(long)]
        code: String,
        /// A name administrators will see for this device.
        #[arg(long, default_value = "bothy command line")]
        device_name: String,
        /// For tests only: a weak, fast passcode key derivation when creating the store.
        #[arg(long, hide = true)]
        insecure_test_kdf: bool,
    },
    /// Sync with the server once: push local changes, pull everyone else's.
    /// Exit code 7 if the server cannot be reached, 8 if this device was
    /// revoked (its unsynced work is offered to the server, then the store is wiped).
    Sync {
        /// Tries per request before giving up (exit code 7).
        #[arg(long, default_value_t = 4)]
        attempts: u32,
    },
    /// Who this device belongs to, its server, when it last synced, what is
    /// waiting to sync and which changes the server refused (rule and reason).
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
        if let Some(s) = cause.downcast_ref::<SyncError>() {
            match s {
                SyncError::Unreachable { .. } => return 7,
                SyncError::Revoked { .. } => return 8,
                SyncError::NotEnrolled => return 3,
                SyncError::Local(ServiceError::NotEnrolled) => return 3,
                _ => {}
            }
        }
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
        Command::Enrol {
            server,
            code,
            device_name,
            insecure_test_kdf,
        } => {
            let passcode = passcodes(1)?.remove(0);
            let mut store = if Store::exists(dir).context("looking for the store")? {
                Store::unlock(dir, &passcode).context("unlocking the store")?
            } else {
                let params = if *insecure_test_kdf {
                    KdfParams::insecure_fast_for_tests()
                } else {
                    KdfParams::production()
                };
                Store::create(dir, &passcode, params).context("creating the store")?
            };
            if let Some(existing) = sync::enrolled_server(&store)? {
                let _ = store.lock();
                bail!("this device is already enrolled with {existing}");
            }
            let enrolled = runtime()?.block_on(sync::enrol(
                &mut store,
                server,
                code,
                device_name,
                &SyncOptions::default(),
            ));
            let enrolment = match enrolled {
                Ok(e) => e,
                Err(e) => {
                    let _ = store.lock();
                    return Err(anyhow!(e).context("enrolling this device"));
                }
            };
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "device": enrolment.device, "person": enrolment.person, "name": enrolment.directory.me.name, "server": enrolment.server, "children": enrolment.directory.children.len() })
                );
            } else {
                println!(
                    "Enrolled as {} on {} (device {}); {} child(ren) to sync. Run `bothy --data {} sync`.",
                    enrolment.directory.me.name,
                    enrolment.server,
                    enrolment.device,
                    enrolment.directory.children.len(),
                    dir.display()
                );
            }
            store.lock()?;
        }
        Command::Sync { attempts } => {
            let client = open(dir)?;
            let options = SyncOptions {
                retry: RetryPolicy {
                    attempts: (*attempts).max(1),
                    ..RetryPolicy::default()
                },
                ..SyncOptions::default()
            };
            let engine = match SyncEngine::new(&client, options) {
                Ok(engine) => engine,
                Err(e) => {
                    let _ = client.lock();
                    return Err(anyhow!(e));
                }
            };
            match runtime()?.block_on(engine.sync_or_wipe(client))? {
                SyncOutcome::Synced { client, report } => {
                    print_sync(cli.json, engine.server(), &report)?;
                    client.lock()?;
                }
                SyncOutcome::Failed { client, error } => {
                    let _ = client.lock();
                    return Err(anyhow!(error).context(format!("syncing with {}", engine.server())));
                }
                SyncOutcome::Wiped(wiped) => {
                    let message = format!(
                        "this device was revoked by an administrator: {} unsynced change(s) were handed to the server for review, and the local data ({} file(s) in {}) was wiped",
                        wiped.offered,
                        wiped.removed.len(),
                        wiped.dir.display()
                    );
                    if cli.json {
                        println!(
                            "{}",
                            serde_json::json!({ "revoked": true, "offered": wiped.offered, "wiped": wiped.removed })
                        );
                    }
                    return Err(anyhow!(SyncError::Revoked {
                        offered: Some(wiped.offered)
                    })
                    .context(message));
                }
            }
        }
        Command::Status => {
            let client = open(dir)?;
            let me = client.me();
            let unsynced = client.unsynced_changes()?;
            let rejections = client.store().rejections()?;
            let server = sync::enrolled_server(client.store())?;
            let last = sync::last_sync(&client)?;
            let last_text = last
                .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                });
            if cli.json {
                let refused: Vec<_> = rejections
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "document": r.doc_key,
                            "change": r.change_hash.as_deref().map(hex::encode),
                            "rule": r.rule,
                            "path": r.path,
                            "reason": r.message,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({
                        "person": me.person, "name": me.name, "device": me.device,
                        "server": server, "last_sync": last_text,
                        "unsynced_changes": unsynced, "rejected": rejections.len(),
                        "refused": refused,
                    })
                );
            } else {
                println!("{} ({}) on device {}", me.name, me.role_title, me.device);
                match &server {
                    Some(s) => println!("Server: {s}"),
                    None => println!("Server: none (offline demo; not enrolled)"),
                }
                println!("Last sync: {}", last_text.as_deref().unwrap_or("never"));
                println!("{unsynced} change(s) waiting to sync.");
                if rejections.is_empty() {
                    println!("No changes refused by the server.");
                } else {
                    println!(
                        "{} change(s) refused by the server (kept on this device):",
                        rejections.len()
                    );
                    for r in &rejections {
                        println!(
                            "  {} {} at {}: {} ({})",
                            r.doc_key,
                            r.change_hash
                                .as_deref()
                                .map(|h| hex::encode(h).chars().take(12).collect::<String>())
                                .unwrap_or_else(|| "-".into()),
                            if r.path.is_empty() { "-" } else { &r.path },
                            r.message,
                            r.rule
                        );
                    }
                }
            }
            client.lock()?;
        }
    }
    Ok(())
}

/// A runtime for the commands that talk to a server.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the network runtime")
}

fn print_sync(json: bool, server: &str, r: &sync::SyncReport) -> Result<()> {
    if json {
        let refused: Vec<_> = r
            .refused
            .iter()
            .map(|f| serde_json::json!({ "document": f.key, "rule": f.rule, "path": f.path, "change": f.change, "reason": f.explanation }))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "server": server, "documents": r.documents, "changed": r.changed, "new": r.new,
                "gone": r.gone, "sent_changes": r.acknowledged, "received_changes": r.received,
                "refused": refused, "sync_requests": r.sync_requests, "requests": r.traffic.requests,
                "retries": r.traffic.retries, "bytes_sent": r.traffic.bytes_sent,
                "bytes_received": r.traffic.bytes_received, "elapsed_ms": r.elapsed.as_millis() as u64,
            })
        );
        return Ok(());
    }
    println!(
        "Synced with {server}: {} document(s) exchanged ({} changed elsewhere, {} new to this device, {} removed).",
        r.documents,
        r.changed,
        r.new,
        r.gone.len()
    );
    println!(
        "Sent {} change(s), received {} change(s); {} request(s), {} bytes up, {} bytes down{}.",
        r.acknowledged,
        r.received,
        r.traffic.requests,
        r.traffic.bytes_sent,
        r.traffic.bytes_received,
        if r.traffic.retries > 0 {
            format!(", {} retried", r.traffic.retries)
        } else {
            String::new()
        }
    );
    for f in &r.refused {
        println!(
            "Refused by the server ({}): {} in {} at {}. The change is kept on this device.",
            f.rule,
            f.explanation,
            f.key,
            if f.path.is_empty() { "-" } else { &f.path }
        );
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
