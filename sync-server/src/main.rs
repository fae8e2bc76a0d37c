//! `bothy-server`: serve the sync API, run the demo, administer the directory.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bothy_server::storage::{self, Storage, UnixSeconds};
use bothy_server::{ServerConfig, auth, demo, directory, now};
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};
use bothy_shared::team::TeamAction;
use clap::{Parser, Subcommand, ValueEnum};

/// The Bothy sync server and its administration commands.
#[derive(Debug, Parser)]
#[command(name = "bothy-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the directory and documents live.
#[derive(Debug, clap::Args)]
struct Db {
    /// The database: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "BOTHY_DB")]
    db: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API until ctrl-c or SIGTERM.
    Serve(ServerConfig),
    /// Seed the demo partnership if the database is empty, print one
    /// `enrol ROLE AGENCY NAME CODE` line per demo person, then serve.
    Demo {
        #[command(flatten)]
        server: ServerConfig,
        /// How long the printed codes stay valid, in hours.
        #[arg(long, default_value_t = 72)]
        valid_hours: u64,
    },
    /// Add a person to the directory; prints their id.
    AddPerson {
        #[command(flatten)]
        db: Db,
        /// Their full name.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: Kind,
        /// Their agency's slug (practitioners and supervisors).
        #[arg(long)]
        agency: Option<Agency>,
        /// The child a young person is (young people only).
        #[arg(long)]
        child: Option<ChildId>,
        /// Use this id instead of a random one.
        #[arg(long)]
        id: Option<PersonId>,
    },
    /// Add a child, creating their plan and team record; prints their id.
    AddChild {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        name: String,
        /// Use this id instead of a random one.
        #[arg(long)]
        id: Option<ChildId>,
    },
    /// Put a practitioner or supervisor on a child's team (or change their
    /// role); the first member of an agency creates its agency record.
    AddTeamMember {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        child: ChildId,
        #[arg(long)]
        person: PersonId,
        #[arg(long, value_enum, default_value = "member")]
        role: Role,
    },
    /// Record that SUPERVISOR supervises PERSON.
    SetSupervisor {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        supervisor: PersonId,
        #[arg(long)]
        person: PersonId,
    },
    /// Put a practitioner on their agency's duty team (it receives the
    /// agency's requests for help), or take them off it with --off.
    SetDuty {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        person: PersonId,
        #[arg(long)]
        off: bool,
    },
    /// Issue a one-time enrolment code for a person (printed once, stored hashed).
    EnrolCode {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        person: PersonId,
        /// How long the code stays valid, in hours.
        #[arg(long, default_value_t = 72)]
        valid_hours: u64,
    },
    /// List enrolled devices.
    Devices {
        #[command(flatten)]
        db: Db,
    },
    /// Revoke a device: its next request is told so, and it wipes itself
    /// after offering unsynced work (kept in quarantine).
    RevokeDevice {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        device: DeviceId,
    },
    /// Print the audit trail of a child's documents.
    Audit {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        child: ChildId,
    },
    /// List changes devices offered instead of syncing (kept, never
    /// applied): REASON is `revoked` (the device was revoked) or
    /// `left-team` (its person left the child's team first).
    Quarantine {
        #[command(flatten)]
        db: Db,
    },
    /// List the changes the server refused (kept, never applied): one block
    /// per change with who, the rule, the reason and the words it would
    /// have written.
    Refused {
        #[command(flatten)]
        db: Db,
    },
    /// Print the team changes made from devices for a child: who asked,
    /// what, about whom, and whether the server applied or refused it.
    TeamChanges {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        child: ChildId,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    Practitioner,
    Supervisor,
    YoungPerson,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Member,
    LeadProfessional,
    NamedPerson,
}

fn open(db: &Db) -> Result<std::sync::Arc<dyn Storage>> {
    storage::open(&db.db).with_context(|| "opening the database")
}

fn time(at: UnixSeconds) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h.saturating_mul(3600))
}

async fn serve(config: ServerConfig) -> Result<()> {
    if config.tls_cert.is_none() && !config.listen.ip().is_loopback() {
        bail!(
            "refusing plain HTTP on {}: it is not a loopback address (give --tls-cert and --tls-key)",
            config.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    bothy_server::launch_with_tcp_listener(config, listener, bothy_server::shutdown_signal())
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    match Cli::parse().command {
        Command::Serve(config) => serve(config).await?,
        Command::Demo {
            server,
            valid_hours,
        } => {
            let storage = storage::open(&server.db).context("opening the database")?;
            let seeded = demo::seed_if_empty(storage.as_ref(), now())?;
            tracing::info!(seeded, "demo partnership ready");
            let lines = demo::enrol_lines(storage.as_ref(), hours(valid_hours), now())?;
            let mut out = std::io::stdout().lock();
            for line in lines {
                writeln!(out, "{line}")?;
            }
            out.flush()?;
            drop(out);
            drop(storage);
            serve(server).await?;
        }
        Command::AddPerson {
            db,
            name,
            kind,
            agency,
            child,
            id,
        } => {
            let kind = match (kind, child) {
                (Kind::Practitioner, None) => PersonKind::Practitioner,
                (Kind::Supervisor, None) => PersonKind::Supervisor,
                (Kind::YoungPerson, Some(child)) => PersonKind::YoungPerson { child },
                (Kind::YoungPerson, None) => bail!("a young person needs --child"),
                (_, Some(_)) => bail!("--child is only for young people"),
            };
            let storage = open(&db)?;
            let person = directory::add_person(
                storage.as_ref(),
                id.unwrap_or_else(PersonId::random),
                &name,
                kind,
                agency,
            )?;
            println!("{}", person.id);
        }
        Command::AddChild { db, name, id } => {
            let storage = open(&db)?;
            let child = directory::add_child(
                storage.as_ref(),
                id.unwrap_or_else(ChildId::random),
                &name,
                now(),
            )?;
            println!("{}", child.id);
        }
        Command::AddTeamMember {
            db,
            child,
            person,
            role,
        } => {
            let role = match role {
                Role::Member => TeamRole::Member,
                Role::LeadProfessional => TeamRole::LeadProfessional,
                Role::NamedPerson => TeamRole::NamedPerson,
            };
            directory::add_team_member(open(&db)?.as_ref(), child, person, role, now())?;
        }
        Command::SetSupervisor {
            db,
            supervisor,
            person,
        } => {
            directory::set_supervisor(open(&db)?.as_ref(), supervisor, person)?;
        }
        Command::SetDuty { db, person, off } => {
            open(&db)?.set_duty(person, !off)?;
        }
        Command::EnrolCode {
            db,
            person,
            valid_hours,
        } => {
            let code =
                auth::issue_enrol_code(open(&db)?.as_ref(), person, hours(valid_hours), now())?;
            println!("{code}");
        }
        Command::Devices { db } => {
            let storage = open(&db)?;
            println!("DEVICE\tPERSON\tNAME\tENROLLED\tREVOKED");
            for d in storage.devices()? {
                let revoked = d.revoked_at.map_or_else(|| "-".to_owned(), time);
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    d.id,
                    d.person,
                    d.name,
                    time(d.enrolled_at),
                    revoked
                );
            }
        }
        Command::RevokeDevice { db, device } => {
            if !open(&db)?.revoke_device(device, now())? {
                bail!("no device {device}");
            }
            println!("revoked {device}");
        }
        Command::Audit { db, child } => {
            let storage = open(&db)?;
            if storage.child(child)?.is_none() {
                bail!("no child {child}");
            }
            println!("TIME\tEVENT\tDOCUMENT\tCHANGE\tACTOR\tDEVICE\tPERSON");
            for e in storage.audit_of_child(child)? {
                let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".to_owned());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    time(e.at),
                    e.event.as_str(),
                    e.document,
                    or_dash(e.change),
                    or_dash(e.actor),
                    or_dash(e.device.map(|d| d.to_string())),
                    or_dash(e.person.map(|p| p.to_string())),
                );
            }
        }
        Command::Quarantine { db } => {
            println!("RECEIVED\tDEVICE\tPERSON\tDOCUMENT\tBYTES\tREASON");
            for q in open(&db)?.quarantined()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    time(q.received_at),
                    q.device,
                    q.person,
                    q.document,
                    q.bytes.len(),
                    q.reason.as_str()
                );
            }
        }
        Command::TeamChanges { db, child } => {
            let storage = open(&db)?;
            if storage.child(child)?.is_none() {
                bail!("no child {child}");
            }
            println!("TIME\tCHANGE\tBY\tDEVICE\tACTION\tPERSON\tROLE-OR-DATE\tOUTCOME\tREASON");
            for c in storage.team_changes(child)? {
                let (action, role_or_date, reason) = match &c.action {
                    TeamAction::Add { role, .. } => {
                        ("add", role.as_str().to_owned(), "-".to_owned())
                    }
                    TeamAction::End { on, reason, .. } => {
                        ("end", on.to_string(), reason.replace(['\t', '\n'], " "))
                    }
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    time(c.at),
                    c.id,
                    c.by,
                    c.device,
                    action,
                    c.action.person(),
                    role_or_date,
                    c.refused.map_or("applied", |r| r.as_str()),
                    reason,
                );
            }
        }
        Command::Refused { db } => {
            let refused = bothy_server::refused::all_refused(&*open(&db)?)?;
            if refused.is_empty() {
                println!("No refused changes.");
            }
            for (i, r) in refused.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                let title = format!(
                    "{} in {} at {}",
                    r.change.chars().take(12).collect::<String>(),
                    r.document,
                    time(r.at)
                );
                let by = format!("{} ({}) on device {}", r.name, r.person, r.device);
                print!(
                    "{}",
                    bothy_shared::refused::Block {
                        title: &title,
                        by: Some(&by),
                        rule: &r.rule,
                        path: &r.path,
                        reason: &r.explanation,
                        words: &r.words,
                    }
                );
            }
        }
    }
    Ok(())
}
