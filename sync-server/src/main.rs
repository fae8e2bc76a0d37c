//! `bothy-server`: serve the sync API, run the demo, administer the directory.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bothy_server::storage::{self, Storage, UnixSeconds, keys};
use bothy_server::{ServerConfig, auth, demo, directory, now, report};
use bothy_shared::docs::IsoDate;
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};
use bothy_shared::team::TeamAction;
use clap::{Parser, Subcommand, ValueEnum};

/// jemalloc, not glibc's allocator: the server loads and drops whole case
/// histories all day (its cache evicts the least recently used), and
/// glibc kept the freed memory in fragments, so resident memory grew to
/// about twice the documents in use. jemalloc returns freed pages within
/// a second (`dirty_decay_ms`), purging them at once rather than keeping
/// them lazily freed (`muzzy_decay_ms`), from a thread of its own
/// (`background_thread`). MEASURED: `bothy-load --memory-history`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (the prefixed name this build
/// of jemalloc looks for).
// SAFETY: jemalloc reads this symbol as a `const char *`: a thin pointer
// to bytes that end in NUL, never written, which this static is. No other
// symbol of the program has this name.
#[allow(non_upper_case_globals, unsafe_code)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// The Bothy sync server and its administration commands.
#[derive(Debug, Parser)]
#[command(name = "bothy-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the directory and documents live, and the key they are sealed with.
#[derive(Debug, clap::Args)]
struct Db {
    /// The database: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "BOTHY_DB")]
    db: String,
    /// The master key file. Default: the key in BOTHY_MASTER_KEY, or
    /// `<path>.key` beside a SQLite database (the server's own rule).
    #[arg(long, env = "BOTHY_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
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
    /// Erase a child's case: destroy its data key (every stored byte of its
    /// history becomes unreadable) and delete its rows; enrolled devices
    /// remove its documents at their next sync. The audit keeps who ran
    /// it, when and why.
    Erase {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        child: ChildId,
        /// Why (kept in the audit; no names or case details).
        #[arg(long)]
        reason: String,
    },
    /// Record the date a child's case closed (for retention).
    CloseCase {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        child: ChildId,
        /// YYYY-MM-DD; default today.
        #[arg(long)]
        on: Option<IsoDate>,
    },
    /// Erase every case closed more than YEARS years ago, listing them
    /// first (child and closing date).
    Retention {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        years: u16,
        /// List what would be erased; erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Wrap every data key under a new master key, in one transaction.
    /// Stop the servers first and start them with the new key after. The
    /// new key goes to --new-master-key-file, or replaces the current key
    /// file (written beside it as `<file>.new`, then renamed over it).
    RotateMasterKey {
        #[command(flatten)]
        db: Db,
        /// Where to write the new key (must not exist).
        #[arg(long)]
        new_master_key_file: Option<PathBuf>,
    },
    /// Reports across every child's case (anonymous: no names or ids, and
    /// any count under 5 shown as "fewer than 5").
    Report {
        #[command(subcommand)]
        report: Report,
    },
    /// Export a child's whole case as JSON for a partnership's case system
    /// (docs/case-export.md): the plan, the team record, the agency records
    /// named with --agency and the requests for help accepted for the
    /// child. Every export is audited (who, when, what) before it is written.
    Export {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        child: ChildId,
        /// An agency whose record goes in (repeat for more); the team's plan
        /// and record always go in, agency records only when named.
        #[arg(long = "agency")]
        agencies: Vec<Agency>,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Who the export is for or by, kept in the audit. Default: the
        /// operator's login name (USER or LOGNAME).
        #[arg(long)]
        by: Option<String>,
        /// Write here (must not exist) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the team changes made from devices for a child: who asked,
    /// what, about whom, and whether the server applied or refused it.
    TeamChanges {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        child: ChildId,
    },
    /// Check a plan exported with `bothy export`: genuine or not, who made
    /// it and when, whether the server holds what it was made from, and
    /// which changes came after. Exit 0 genuine; 3 genuine but made from
    /// changes the server has not seen; 4 altered or forged; 5 signed by a
    /// device the server does not know; 6 not a signed Bothy export (or not
    /// a PDF); 1 could not check. See docs/exports.md.
    VerifyExport {
        #[command(flatten)]
        db: Db,
        /// The exported PDF.
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Report {
    /// The partnership's outcomes over a period: ratings by band per
    /// indicator and agency, change between reviews, reviews on time, views
    /// recorded, transition plans by 15, requests for help and how fast they
    /// were answered.
    Outcomes {
        #[command(flatten)]
        db: Db,
        /// The period's first day, YYYY-MM-DD.
        #[arg(long)]
        from: IsoDate,
        /// The period's last day, YYYY-MM-DD (figures "now" are as of this day).
        #[arg(long)]
        to: IsoDate,
        #[arg(long, value_enum)]
        format: ReportFormat,
        /// Write here instead of standard output (replaced if it exists).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Html,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Json,
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

fn open(db: &Db) -> Result<Arc<dyn Storage>> {
    storage::open_with_key_file(&db.db, db.master_key_file.as_deref())
        .with_context(|| "opening the database")
}

/// [`open`] for a command that only reads what is there: a SQLite file
/// that does not exist is an error, not a new empty database.
fn open_existing(db: &Db) -> Result<Arc<dyn Storage>> {
    if let Some(path) = db.db.strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        bail!("no database at {path}");
    }
    open(db)
}

/// Write `text` to `out`, or to standard output.
fn write_out(text: &str, out: Option<&std::path::Path>, replace: bool) -> Result<()> {
    match out {
        Some(path) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .create_new(!replace)
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}

fn report_outcomes(
    db: &Db,
    from: IsoDate,
    to: IsoDate,
    format: ReportFormat,
    out: Option<&std::path::Path>,
) -> Result<()> {
    let period = report::outcomes::Period::new(from, to)?;
    let storage = open_existing(db)?;
    let figures = report::outcomes::outcomes(
        storage.as_ref(),
        period,
        bothy_shared::outcomes::VISIT_OVERDUE_AFTER_DAYS,
    )
    .context("counting the outcomes")?;
    let format = match format {
        ReportFormat::Html => report::render::Format::Html,
        ReportFormat::Csv => report::render::Format::Csv,
        ReportFormat::Json => report::render::Format::Json,
    };
    write_out(&report::render::render(&figures, format)?, out, true)
}

fn export(
    db: &Db,
    child: ChildId,
    agencies: Vec<Agency>,
    by: Option<String>,
    out: Option<&std::path::Path>,
) -> Result<()> {
    if let Some(path) = out
        && path.exists()
    {
        bail!("{} exists: give a new file", path.display());
    }
    let storage = open_existing(db)?;
    let mut command = format!("bothy-server export --child {child} --format json");
    for a in &agencies {
        command.push_str(" --agency ");
        command.push_str(a.as_str());
    }
    let request = report::export::ExportRequest {
        child,
        agencies,
        by: by.filter(|b| !b.trim().is_empty()).unwrap_or_else(operator),
        command,
        at: now(),
    };
    let json = report::export::export_case(storage.as_ref(), &request)
        .with_context(|| format!("exporting the case of {child}"))?;
    write_out(&json, out, false)
}

/// Who is running this command, for the audit of an erasure or an export.
fn operator() -> String {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown operator".to_owned())
}

fn erase(storage: &dyn Storage, child: ChildId, by: &str, reason: &str) -> Result<()> {
    let erased = storage
        .erase_child(child, by, reason, now())
        .with_context(|| format!("erasing child {child}"))?;
    println!(
        "erased child {child}: {} documents, {} stored changes; its data key is destroyed",
        erased.documents, erased.changes
    );
    Ok(())
}

/// The date `years` years before `today` (28 February for 29 February).
fn years_before(today: IsoDate, years: u16) -> Result<IsoDate> {
    let date = today.0;
    let year = date.year() - i32::from(years);
    let back = date
        .replace_year(year)
        .or_else(|_| date.replace_day(28).and_then(|d| d.replace_year(year)))
        .context("no such date")?;
    Ok(IsoDate(back))
}

fn rotate_master_key(db: &Db, new_file: Option<PathBuf>) -> Result<()> {
    let current = keys::locate(&db.db, db.master_key_file.as_deref())?;
    if current.create_at.is_some() {
        bail!("no master key found for {} (nothing to rotate)", db.db);
    }
    let current_file = current.file.clone();
    let old: Arc<dyn keys::KeyWrap> = Arc::new(current.key);
    let storage = storage::open_with_master_key(&db.db, old.clone())
        .context("opening the database with the current master key")?;
    let (write_to, replace) = match (new_file, current_file) {
        (Some(new), _) => (new, None),
        (None, Some(file)) => {
            let mut temp = file.clone().into_os_string();
            temp.push(".new");
            (PathBuf::from(temp), Some(file))
        }
        (None, None) => bail!(
            "the master key came from BOTHY_MASTER_KEY: give --new-master-key-file and put the \
             new key where the servers read it"
        ),
    };
    let new = keys::MasterKey::random()?;
    new.write_new_file(&write_to)?;
    match storage::rewrap_all(storage.as_ref(), old.as_ref(), &new) {
        Ok(n) => {
            let target = match replace {
                Some(file) => {
                    std::fs::rename(&write_to, &file).with_context(|| {
                        format!("moving {} over {}", write_to.display(), file.display())
                    })?;
                    file
                }
                None => write_to,
            };
            println!(
                "rewrapped {n} data keys under the new master key in {}; start the servers with it",
                target.display()
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&write_to);
            Err(e).context("rewrapping the data keys (nothing changed)")
        }
    }
}

fn time(at: UnixSeconds) -> String {
    bothy_server::verify_export::rfc3339(at)
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
            let storage =
                storage::open_with_key_file(&server.db, server.master_key_file.as_deref())
                    .context("opening the database")?;
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
        Command::Erase { db, child, reason } => {
            erase(open(&db)?.as_ref(), child, &operator(), &reason)?;
        }
        Command::CloseCase { db, child, on } => {
            let on = on.unwrap_or_else(IsoDate::today);
            open(&db)?.close_case(child, on)?;
            println!("closed the case of {child} on {on}");
        }
        Command::Retention { db, years, dry_run } => {
            let storage = open(&db)?;
            let before = years_before(IsoDate::today(), years)?;
            let due: Vec<_> = storage
                .closed_cases()?
                .into_iter()
                .filter(|c| c.closed_on < before)
                .collect();
            println!(
                "{} cases closed before {before} (more than {years} years ago){}",
                due.len(),
                if dry_run {
                    "; dry run, nothing erased"
                } else {
                    ", to erase:"
                }
            );
            println!("CHILD\tCLOSED");
            for c in &due {
                println!("{}\t{}", c.child, c.closed_on);
            }
            if !dry_run {
                let by = format!("{} (retention)", operator());
                for c in &due {
                    let reason = format!(
                        "retention: case closed on {}, kept {years} years",
                        c.closed_on
                    );
                    erase(storage.as_ref(), c.child, &by, &reason)?;
                }
            }
        }
        Command::RotateMasterKey {
            db,
            new_master_key_file,
        } => rotate_master_key(&db, new_master_key_file)?,
        Command::Audit { db, child } => {
            let storage = open(&db)?;
            if storage.child(child)?.is_none() {
                let Some(e) = storage.erasures()?.into_iter().find(|e| e.child == child) else {
                    bail!("no child {child}");
                };
                println!(
                    "child {child} was erased at {} by {}: {}",
                    time(e.at),
                    e.by,
                    e.reason.replace(['\t', '\n'], " ")
                );
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
            let exports = storage.exports(child)?;
            if !exports.is_empty() {
                println!();
                println!("EXPORTED\tBY\tCOMMAND\tDOCUMENTS");
                for x in exports {
                    let documents: Vec<String> =
                        x.documents.iter().map(ToString::to_string).collect();
                    println!(
                        "{}\t{}\t{}\t{}",
                        time(x.at),
                        x.by.replace(['\t', '\n'], " "),
                        x.command,
                        documents.join(" ")
                    );
                }
            }
        }
        Command::VerifyExport { db, file, json } => {
            let report =
                bothy_server::verify_export::verify_export_file(open(&db)?.as_ref(), &file)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                for line in report.lines() {
                    writeln!(out, "{line}")?;
                }
            }
            out.flush()?;
            let code = report.verdict.exit_code();
            if code != 0 {
                std::process::exit(i32::from(code));
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
        Command::Report {
            report:
                Report::Outcomes {
                    db,
                    from,
                    to,
                    format,
                    out,
                },
        } => report_outcomes(&db, from, to, format, out.as_deref())?,
        Command::Export {
            db,
            child,
            agencies,
            format: ExportFormat::Json,
            by,
            out,
        } => export(&db, child, agencies, by, out.as_deref())?,
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
