//! `bothy-load`: simulated devices against a Bothy sync server.
//!
//! N devices (each a [`MemoryDevice`] driving the real `SyncEngine`), each
//! reading about M documents of its own children, are enrolled and synced
//! once. Then:
//! 1. throughput: every device records `--visits` visits offline, then all
//!    sync at once; merged changes per second of wall time;
//! 2. latency: for `--seconds`, every device records one visit and syncs,
//!    about every `--interval-ms` (jittered); p50/p99 of each sync run, bytes
//!    each way per sync, round trips per push;
//! 3. one visit pushed by one device through a counting TCP proxy: bytes on
//!    the wire (HTTP headers included) against the change's compressed size;
//! 4. a device holding 1,000 documents, none changed, reconnects: bytes on
//!    the wire for the whole sync run.
//!
//! `--children N --db URL` instead seeds N synthetic children with `--years`
//! of plausible history (plans, reviews and ratings, a visit a week,
//! views, transition plans, requests for help: `bothy_tests::history`)
//! straight into that database through the server library, prints the
//! sizes it made and stops: the data the outcomes report is timed over.
//!
//! `--first-sync` instead measures a new phone's first sync on a poor link
//! (`bothy_tests::first_sync`): `--first-sync-children` children of
//! `--first-sync-years` years, 1 Mbit/s each way, 300 ms round trip, one cut
//! half way; then the same documents through a generic Automerge sync
//! server. The last line is the figures as JSON.
//! `--merge-history` instead measures what one merged change costs the
//! server on documents of `--merge-large` changes against documents of
//! `--merge-small` (`bothy_tests::history_merge`): the `bothy-server`
//! program beside this one serves them; the last line is the figures as
//! JSON (`{"merge": …}`).
//!
//! `--embedded` (the default without `--server`) starts the server in this
//! process on a temporary SQLite database and seeds it through the server
//! library; `--server URL --db sqlite://PATH` seeds the database of a server
//! already running on the same machine and loads that server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bothy_client::sync::{SyncEngine, SyncReport};
use bothy_server::ServerConfig;
use bothy_server::directory;
use bothy_server::storage::{self, Storage};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{Agency, ChildId, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};
use bothy_tests::db::Backend;
use bothy_tests::memory::MemoryDevice;
use bothy_tests::proxy::{CutPlan, CuttingProxy};
use bothy_tests::server::{TestServer, code_for};
use bothy_tests::{history, history_merge};
use clap::Parser;
use rand::Rng;
use tokio::sync::Mutex;

#[derive(Debug, Parser)]
#[command(
    name = "bothy-load",
    about = "Load a Bothy sync server with simulated devices."
)]
struct Args {
    /// A running server to load (with --db, its database, for seeding).
    #[arg(long, requires = "db")]
    server: Option<String>,
    /// The running server's database URL (sqlite://PATH), to seed people and children.
    #[arg(long)]
    db: Option<String>,
    /// Start the server in this process on a temporary database (the default without --server).
    #[arg(long)]
    embedded: bool,
    /// With the embedded server: store what devices send unsealed (no
    /// encryption at rest), only to measure what sealing costs.
    #[arg(long)]
    unsealed: bool,
    /// With --server: the running server's master key file (default: as the
    /// server finds it, e.g. `PATH.key` beside a SQLite database).
    #[arg(long)]
    master_key_file: Option<std::path::PathBuf>,
    /// Simulated devices.
    #[arg(long, default_value_t = 200)]
    devices: usize,
    /// Documents per device (three per child: plan, team record, agency record).
    #[arg(long, default_value_t = 12)]
    docs: usize,
    /// Length of the latency phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Visits each device records offline before each throughput round.
    #[arg(long, default_value_t = 25)]
    visits: usize,
    /// Throughput rounds (the median is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Mean time between one device's syncs in the latency phase.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Documents held by the device of the reconnect measurement.
    #[arg(long, default_value_t = 1000)]
    reconnect_docs: usize,
    /// Seed this many synthetic children with history into --db, print
    /// what was made and stop (no devices, no load). With
    /// --memory-history: the children to measure over.
    #[arg(long)]
    children: Option<usize>,
    /// With --children: years of history up to today.
    #[arg(long, default_value_t = 1)]
    years: u32,
    /// With --children: the seed of the history (default: random, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Measure the server's memory over `--children` (default 2,000) children
    /// of `--years` history, on SQLite and PostgreSQL: the real
    /// `bothy-server serve --cache-mb` beside this program, cache cold and
    /// warm (`bothy_tests::history_memory`). The seeded databases are kept
    /// in `--keep-in` and reused.
    #[arg(long)]
    memory_history: bool,
    /// With --memory-history: the server's cache, in MiB.
    #[arg(long, default_value_t = bothy_server::sync::DEFAULT_CACHE_MB)]
    cache_mb: u64,
    /// With --memory-history: where seeded databases are kept between runs.
    #[arg(long, default_value = "/tmp/bothy-history")]
    keep_in: std::path::PathBuf,
    /// With --memory-history: the `bothy-server` to start (default: the one
    /// beside this program).
    #[arg(long)]
    server_binary: Option<std::path::PathBuf>,
    /// With --memory-history: only this backend (sqlite or postgres).
    #[arg(long)]
    backend: Option<String>,
    /// Measure a new phone's first sync on a poor link (and a generic
    /// Automerge sync server beside it), print the figures and stop.
    #[arg(long)]
    first_sync: bool,
    /// With --first-sync: children on the new phone's caseload.
    #[arg(long, default_value_t = 40)]
    first_sync_children: usize,
    /// With --first-sync: years of history of each.
    #[arg(long, default_value_t = 5)]
    first_sync_years: u32,
    /// Measure the server's CPU per merged change on long histories against
    /// short ones, print the figures and stop.
    #[arg(long)]
    merge_history: bool,
    /// With --merge-history: changes in each short document.
    #[arg(long, default_value_t = 100)]
    merge_small: usize,
    /// With --merge-history: changes in each long document.
    #[arg(long, default_value_t = 10_000)]
    merge_large: usize,
    /// With --merge-history: documents of each size.
    #[arg(long, default_value_t = 4)]
    merge_docs: usize,
    /// With --merge-history: pushes (one visit each) to each size.
    #[arg(long, default_value_t = 300)]
    merge_pushes: usize,
    /// With --merge-history: the `bothy-server` program to measure
    /// (default: the one beside this program).
    #[arg(long)]
    merge_server: Option<std::path::PathBuf>,
    /// Measure a phone over a caseload with years of history instead: unlock
    /// to the caseload with production Argon2id (new path and the old full
    /// check), storage per child-year, compaction (`bothy_tests::device_history`).
    #[arg(long)]
    device_history: bool,
    /// With --device-history: children on the caseload.
    #[arg(long, default_value_t = 40)]
    device_children: usize,
    /// With --device-history: years of history each.
    #[arg(long, default_value_t = 5)]
    device_years: u32,
    /// With --device-history: unlocks timed on each path.
    #[arg(long, default_value_t = 5)]
    unlocks: usize,
}

/// The `bothy-server` program beside this one: `bothy-server` as installed,
/// or `bothy-server-under-test` as this package builds it.
fn server_beside() -> Result<std::path::PathBuf> {
    let dir = std::env::current_exe()?
        .parent()
        .context("bothy-load has no directory")?
        .to_owned();
    let installed = dir.join("bothy-server");
    Ok(if installed.exists() {
        installed
    } else {
        dir.join("bothy-server-under-test")
    })
}

/// `--memory-history`: the server's memory over a long history, both backends.
async fn memory_history(args: &Args) -> Result<()> {
    use bothy_tests::history_memory::{self, HistoryBackend, MemoryOptions};
    let server_binary = match &args.server_binary {
        Some(path) => path.clone(),
        None => server_beside()?,
    };
    let backends = match args.backend.as_deref() {
        None => vec![HistoryBackend::Sqlite, HistoryBackend::Postgres],
        Some("sqlite") => vec![HistoryBackend::Sqlite],
        Some("postgres") => vec![HistoryBackend::Postgres],
        Some(other) => bail!("--backend {other}: sqlite or postgres"),
    };
    let mut all = Vec::new();
    for backend in backends {
        let options = MemoryOptions {
            backend,
            children: args.children.unwrap_or(2000),
            years: args.years,
            cache_mb: args.cache_mb,
            server_binary: server_binary.clone(),
            keep_in: args.keep_in.clone(),
            concurrency: 4,
        };
        println!(
            "bothy-load: server memory over {} children x {} years on {backend:?}, --cache-mb {}",
            options.children, options.years, options.cache_mb
        );
        let f = history_memory::measure(&options).await?;
        match f.seeded_seconds {
            Some(s) => println!("seeded {} documents in {s:.1} s", f.documents),
            None => println!("reused the seeded database ({} documents)", f.documents),
        }
        for (name, p) in [("cold", &f.cold), ("warm", &f.warm)] {
            println!(
                "{name}: {} documents first-synced, {:.1} documents/s; {} visits merged, {:.1} merged changes/s; {:.1} s; RSS after {:.0} MB",
                p.documents_synced,
                p.documents_per_second,
                p.merged_changes,
                p.merged_changes_per_second,
                p.seconds,
                p.rss_mb_after
            );
        }
        let c = &f.calibration;
        println!(
            "calibration (in this process): {} documents, {} ops, {} changes, {:.1} MB stored: RSS grew {:.1} MB = {:.0} bytes per op, {:.1} per stored byte; the cache's estimate {:.1} MB",
            c.documents,
            c.ops,
            c.changes,
            c.stored_mb,
            c.rss_mb_grown,
            c.rss_bytes_per_op,
            c.loaded_per_stored_byte,
            c.estimate_mb
        );
        println!(
            "RSS: {:.0} MB at start, peak {:.0} MB sampled ({:.0} MB VmHWM), {:.0} MB at the end; cache {} MB, so {:.0} MB beyond it",
            f.rss_mb_start, f.rss_mb_peak, f.rss_mb_hwm, f.rss_mb_final, f.cache_mb, f.overhead_mb
        );
        all.push(f);
    }
    println!("{}", serde_json::json!({ "memory": all }));
    Ok(())
}

/// `--first-sync`: one measured run, a summary, and the figures as JSON last.
async fn first_sync(args: &Args) -> Result<()> {
    let seed = args.seed.unwrap_or_else(|| rand::thread_rng().r#gen());
    let options = bothy_tests::first_sync::FirstSyncOptions {
        children: args.first_sync_children,
        years: args.first_sync_years.max(1),
        ..bothy_tests::first_sync::FirstSyncOptions::poor_mobile(seed)
    };
    let figures = bothy_tests::first_sync::measure(options).await?;
    println!("{}", figures.summary());
    println!("{}", serde_json::json!({ "first_sync": figures }));
    Ok(())
}

/// `--merge-history`: CPU per merged change, long histories against short.
async fn merge_history(args: &Args) -> Result<()> {
    let binary = match &args.merge_server {
        Some(path) => path.clone(),
        None => server_beside()?,
    };
    let options = history_merge::MergeOptions {
        small: args.merge_small,
        large: args.merge_large,
        docs: args.merge_docs,
        pushes: args.merge_pushes,
        block: 25,
    };
    println!(
        "bothy-load: merge cost, {} documents of {} changes against {} of {}, {} pushes each, served by {}",
        options.docs,
        options.large,
        options.docs,
        options.small,
        options.pushes,
        binary.display()
    );
    let started = Instant::now();
    let figures = history_merge::measure(&binary, &options).await?;
    println!(
        "merge: {:.0} us of server CPU per merged change on documents of {} changes, {:.0} us on {} changes: ratio {:.2} (goal at most 1.5); push p50/p99 {:.1}/{:.1} ms against {:.1}/{:.1} ms; {} and {} pushes merged; in {:.0} s",
        figures.cpu_us_per_change_10000,
        figures.changes_10000,
        figures.cpu_us_per_change_100,
        figures.changes_100,
        figures.ratio,
        figures.p50_ms_10000,
        figures.p99_ms_10000,
        figures.p50_ms_100,
        figures.p99_ms_100,
        figures.merged_10000,
        figures.merged_100,
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::json!({ "merge": figures }));
    Ok(())
}

/// `--device-history`: print a summary, then every figure as the last line.
async fn device_history(args: &Args) -> Result<()> {
    let seed = args.seed.unwrap_or_else(|| rand::thread_rng().r#gen());
    println!(
        "bothy-load: a phone over {} children x {} years (seed {seed}), {} unlocks each way, production Argon2id",
        args.device_children, args.device_years, args.unlocks
    );
    let f =
        bothy_tests::device_history::measure(bothy_tests::device_history::DeviceHistoryOptions {
            children: args.device_children,
            years: args.device_years,
            seed,
            unlocks: args.unlocks,
            production_kdf: true,
        })
        .await?;
    let mb = |b: u64| b as f64 / 1_000_000.0;
    println!(
        "history: {} changes ({:.2} MB; save() of every document {:.2} MB); device: {} documents, {} children on the caseload",
        f.history_changes,
        mb(f.history_change_bytes as u64),
        mb(f.history_compressed_bytes as u64),
        f.device_documents,
        f.caseload
    );
    println!(
        "unlock to the caseload: median {:.0} ms (min {:.0}, max {:.0}); with the full check first (before): median {:.0} ms; the check alone {:.0} ms; background check done {:.0} ms after the unlock began",
        f.unlock_to_caseload.median_ms,
        f.unlock_to_caseload.min_ms,
        f.unlock_to_caseload.max_ms,
        f.unlock_with_full_check.median_ms,
        f.full_check.median_ms,
        f.background_check_done.median_ms
    );
    println!(
        "device store: {:.2} MB ({:.2} MB documents: {} changes, {} snapshots; pages: changes {:.2} MB, snapshots {:.2} MB, index {:.2} MB, other {:.2} MB)",
        mb(f.device.file_bytes),
        mb(f.device.document_bytes),
        f.device.changes,
        f.device.snapshots,
        mb(f.device.change_pages_bytes),
        mb(f.device.snapshot_pages_bytes),
        mb(f.device.index_pages_bytes),
        mb(f.device.other_pages_bytes)
    );
    println!(
        "compacted: {:.2} MB file ({:.2} MB free), {:.2} MB documents; vacuumed: {:.2} MB; heads kept {}/{}",
        mb(f.device_compacted.file_bytes),
        mb(f.device_compacted.free_bytes),
        mb(f.device_compacted.document_bytes),
        mb(f.device_vacuumed.file_bytes),
        f.heads_kept,
        f.device_documents
    );
    println!(
        "server: {} documents, {} changes, {:.2} MB sealed ({:.2} MB unsealed), changes' pages {:.2} MB, database {:.2} MB; save() of each document {:.2} MB",
        f.server.documents,
        f.server.changes,
        mb(f.server.sealed_change_bytes),
        mb(f.server.change_bytes),
        mb(f.server.change_pages_bytes),
        mb(f.server.database_bytes),
        mb(f.server.saved_bytes)
    );
    let p = &f.per_child_year;
    println!(
        "per child-year: device file {:.0} B, device documents {:.0} B, device compacted {:.0} B; server sealed changes {:.0} B, changes' pages {:.0} B, save() {:.0} B",
        p.device_file,
        p.device_documents,
        p.device_file_compacted,
        p.server_sealed_changes,
        p.server_change_pages,
        p.server_saved
    );
    println!("{}", serde_json::json!({ "device": f }));
    Ok(())
}

/// `--children`: seed synthetic children with history into `--db`.
fn seed_history(args: &Args, children: usize, db: &str) -> Result<()> {
    if args.years == 0 {
        bail!("--years must be at least 1");
    }
    let storage = storage::open_with_key_file(db, args.master_key_file.as_deref())?;
    let seed = args.seed.unwrap_or_else(|| rand::thread_rng().r#gen());
    let today = bothy_shared::docs::IsoDate::today();
    println!(
        "bothy-load: seeding {children} children with {} years of history up to {today} (seed {seed})",
        args.years
    );
    let started = Instant::now();
    let made = history::seed(
        storage.as_ref(),
        history::HistoryOptions {
            children,
            years: args.years,
            today,
            seed,
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "made {} children ({} 15 or over), {} practitioners, {} documents, {} ratings, {} reviews, \
         {} needs, {} visits, {} family voices, {} chronology entries, {} young people's views, \
         {} requests for help; {} changes, {:.1} MB of changes ({:.1} MB saved whole, compressed); \
         in {:.1} s",
        made.children,
        made.fifteen_or_over,
        made.practitioners,
        made.documents,
        made.ratings,
        made.reviews,
        made.needs,
        made.visits,
        made.family_voices,
        made.chronology,
        made.views,
        made.requests,
        made.changes,
        made.change_bytes as f64 / 1e6,
        made.compressed_bytes as f64 / 1e6,
        seconds
    );
    let figures = serde_json::json!({ "seeded": made, "seed": seed, "years": args.years, "seconds": seconds });
    println!("{figures}");
    Ok(())
}

/// A practitioner on `children` new children: returns the person and enrol code.
fn seed_person(
    storage: &dyn Storage,
    name: &str,
    agency: Agency,
    children: usize,
) -> Result<(PersonId, String)> {
    let now = bothy_server::now();
    let person = directory::add_person(
        storage,
        PersonId::random(),
        name,
        PersonKind::Practitioner,
        Some(agency),
    )?
    .id;
    for c in 0..children {
        let child = directory::add_child(
            storage,
            ChildId::random(),
            &format!("{name} child {c}"),
            now,
        )?
        .id;
        directory::add_team_member(storage, child, person, TeamRole::LeadProfessional, now)?;
    }
    Ok((person, code_for(storage, person)?))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// CPU time (user + system) this process has used, from `/proc/self/stat`
/// (Linux; `None` elsewhere).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after `)`.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // Linux reports these in USER_HZ, 100 per second on every architecture Bothy runs on.
    Some(ticks / 100.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Sim {
    device: MemoryDevice,
    engine: SyncEngine,
    records: Vec<DocKey>,
}

async fn enrol_all(base: &str, codes: Vec<String>) -> Result<Vec<Arc<Mutex<Sim>>>> {
    let mut tasks = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    for (i, code) in codes.into_iter().enumerate() {
        let base = base.to_owned();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire().await?;
            let (mut device, engine) =
                MemoryDevice::enrol(&base, &code, bothy_tests::memory::load_options()).await?;
            engine.sync(&mut device).await?;
            let records: Vec<DocKey> = device
                .keys()
                .into_iter()
                .filter(|k| matches!(k, DocKey::Record(_)))
                .collect();
            anyhow::Ok((
                i,
                Sim {
                    device,
                    engine,
                    records,
                },
            ))
        });
    }
    let mut sims: Vec<Option<Arc<Mutex<Sim>>>> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, sim) = joined??;
        if sims.len() <= i {
            sims.resize_with(i + 1, || None);
        }
        sims[i] = Some(Arc::new(Mutex::new(sim)));
    }
    sims.into_iter()
        .map(|s| s.context("a device did not enrol"))
        .collect()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.device_history {
        return device_history(&args).await;
    }
    if args.merge_history {
        return merge_history(&args).await;
    }
    if args.memory_history {
        return memory_history(&args).await;
    }
    if args.first_sync {
        return first_sync(&args).await;
    }
    match (args.children, &args.db) {
        (Some(children), Some(db)) => return seed_history(&args, children, db),
        (Some(_), None) => bail!("--children needs --db (or --memory-history)"),
        _ => {}
    }
    if args.devices == 0 || args.docs == 0 || args.rounds == 0 {
        bail!("--devices, --docs and --rounds must be at least 1");
    }
    let children_each = args.docs.div_ceil(3);
    let agencies = [
        Agency::SocialWork,
        Agency::Health,
        Agency::Education,
        Agency::ThirdSector,
    ];

    // The server and its database.
    let mut embedded = None;
    let (base, storage): (String, Arc<dyn Storage>) = match (&args.server, &args.db) {
        (Some(server), Some(db)) if !args.embedded => {
            let storage = storage::open_with_key_file(db, args.master_key_file.as_deref())?;
            (server.trim_end_matches('/').to_owned(), storage)
        }
        _ => {
            // Every simulated device enrols from this one address: lift
            // the per-address enrolment limit (docs/sync-protocol.md 1a).
            let lift = |config: &mut ServerConfig| config.enrol_per_minute = 0;
            let server = if args.unsealed {
                TestServer::seeded_unsealed(Backend::Sqlite, |_| Ok(()), lift).await?
            } else {
                TestServer::seeded(Backend::Sqlite, |_| Ok(()), lift).await?
            };
            let pair = (server.base.clone(), server.storage.clone());
            embedded = Some(server);
            pair
        }
    };
    println!(
        "bothy-load: {} devices x {} documents ({} children each) against {base}{}",
        args.devices,
        children_each * 3,
        children_each,
        match (embedded.is_some(), args.unsealed) {
            (true, false) => " (embedded, same process, sealed at rest)",
            (true, true) => " (embedded, same process, UNSEALED: for comparison only)",
            (false, _) => "",
        }
    );

    let embedded_run = embedded.is_some();
    let setup = Instant::now();
    let mut codes = Vec::new();
    for i in 0..args.devices {
        let (_, code) = seed_person(
            storage.as_ref(),
            &format!("Load Practitioner {i}"),
            agencies[i % agencies.len()],
            children_each,
        )?;
        codes.push(code);
    }
    let sims = enrol_all(&base, codes).await?;
    println!(
        "setup: seeded, enrolled and first-synced in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // 1. Throughput: every device pushes its offline visits at once, in
    //    `--rounds` rounds (the documents grow from round to round).
    let mut rates = Vec::new();
    let mut cpu_per_change = Vec::new();
    for round in 1..=args.rounds {
        for sim in &sims {
            let mut s = sim.lock().await;
            let records = s.records.clone();
            for v in 0..args.visits {
                let key = records[v % records.len()];
                s.device.add_visit(
                    key,
                    &format!("Offline visit {v}: home visit, child seen and well."),
                )?;
            }
        }
        let cpu_before = process_cpu_seconds();
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for sim in &sims {
            let sim = sim.clone();
            tasks.spawn(async move {
                let mut s = sim.lock().await;
                let Sim { device, engine, .. } = &mut *s;
                engine.sync(device).await
            });
        }
        let (mut merged, mut requests, mut retries, mut up) = (0usize, 0u64, 0u64, 0u64);
        while let Some(joined) = tasks.join_next().await {
            let report = joined??;
            merged += report.acknowledged;
            requests += u64::from(report.traffic.requests);
            retries += u64::from(report.traffic.retries);
            up += report.traffic.bytes_sent;
        }
        let wall = started.elapsed();
        let cpu_after = process_cpu_seconds();
        if let (Some(a), Some(b)) = (cpu_before, cpu_after)
            && merged > 0
        {
            cpu_per_change.push((b - a) * 1e6 / merged as f64);
        }
        let cpu = match (cpu_before, cpu_after) {
            (Some(a), Some(b)) => format!(
                "; this process used {:.2} CPU-seconds ({:.2} cores)",
                b - a,
                (b - a) / wall.as_secs_f64()
            ),
            _ => String::new(),
        };
        let expected = args.devices * args.visits;
        let rate = merged as f64 / wall.as_secs_f64();
        println!(
            "throughput round {round}: {merged} of {expected} changes merged in {:.2} s = {rate:.0} merged changes/s ({} devices pushing {} visits each at once; {requests} requests, {retries} retries, {up} bytes up){cpu}",
            wall.as_secs_f64(),
            args.devices,
            args.visits
        );
        rates.push(rate);
    }
    let round_rates = rates.clone();
    rates.sort_by(f64::total_cmp);
    cpu_per_change.sort_by(f64::total_cmp);
    println!(
        "throughput: median of {} rounds {:.0} merged changes/s (lowest {:.0}, highest {:.0})",
        rates.len(),
        rates[rates.len() / 2],
        rates.first().copied().unwrap_or_default(),
        rates.last().copied().unwrap_or_default()
    );

    // 2. Latency: every device records a visit and syncs about every interval.
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, sim) in sims.iter().enumerate() {
        let sim = sim.clone();
        let interval = args.interval_ms;
        tasks.spawn(async move {
            let mut out: Vec<(Duration, SyncReport)> = Vec::new();
            // Spread the devices over the first interval.
            let offset = rand::thread_rng().gen_range(0..=interval.max(1));
            tokio::time::sleep(Duration::from_millis(offset)).await;
            let mut n = 0;
            while Instant::now() < deadline {
                {
                    let mut s = sim.lock().await;
                    let key = s.records[n % s.records.len()];
                    s.device
                        .add_visit(key, &format!("Device {i} visit {n}: all well."))?;
                    let Sim { device, engine, .. } = &mut *s;
                    let t = Instant::now();
                    let report = engine.sync(device).await?;
                    out.push((t.elapsed(), report));
                }
                n += 1;
                let jitter =
                    rand::thread_rng().gen_range(interval / 2..=interval.saturating_mul(3) / 2 + 1);
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            anyhow::Ok(out)
        });
    }
    let mut latencies = Vec::new();
    let (mut up, mut down, mut round_trips, mut sync_rts, mut changes) =
        (0u64, 0u64, 0u64, 0u64, 0usize);
    while let Some(joined) = tasks.join_next().await {
        for (latency, report) in joined?? {
            latencies.push(latency);
            up += report.traffic.bytes_sent;
            down += report.traffic.bytes_received;
            round_trips += u64::from(report.traffic.requests);
            sync_rts += u64::from(report.sync_requests);
            changes += report.acknowledged;
        }
    }
    latencies.sort();
    let n = latencies.len().max(1) as u64;
    println!(
        "latency: {} syncs in {} s ({:.0}/s), each pushing one visit: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        args.seconds,
        latencies.len() as f64 / args.seconds.max(1) as f64,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    println!(
        "per sync: {} bytes up, {} bytes down (request/response bodies); {:.2} round trips ({:.2} of them /v1/sync, the first carrying the /v1/changed question); {} changes merged",
        up / n,
        down / n,
        round_trips as f64 / n as f64,
        sync_rts as f64 / n as f64,
        changes
    );

    // 3. One visit through a counting proxy: bytes on the wire.
    let upstream: SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .context("the wire measurements need a plain-HTTP loopback server")?;
    let proxy = CuttingProxy::start(
        upstream,
        CutPlan {
            seed: 0,
            cut_probability: 0.0,
            max_cut_offset: 1,
        },
    )
    .await?;
    let (_, code) = seed_person(storage.as_ref(), "Wire Practitioner", Agency::Health, 1)?;
    let (mut device, engine) =
        MemoryDevice::enrol(&proxy.base, &code, bothy_tests::memory::load_options()).await?;
    engine.sync(&mut device).await?;
    let record = device
        .keys()
        .into_iter()
        .find(|k| matches!(k, DocKey::Record(_)))
        .context("no record")?;
    device.add_visit(
        record,
        "Home visit. Kai answered the door and showed me his bird box; mum says mornings are still hard.",
    )?;
    let change_bytes: usize =
        bothy_client::sync::LocalReplica::unacknowledged_changes(&device, &record)?
            .iter()
            .map(|c| c.bytes.len())
            .sum();
    let wire_before = proxy.stats.bytes();
    let push = engine.sync(&mut device).await?;
    let wire_now = proxy.stats.bytes();
    let (wire_up, wire_down) = (wire_now.0 - wire_before.0, wire_now.1 - wire_before.1);
    let push_wire = (wire_up, wire_down);
    println!(
        "push one visit: change {change_bytes} bytes compressed; {} round trip(s) in all ({} /v1/sync); bodies {} up / {} down; on the wire with HTTP headers {wire_up} up / {wire_down} down; goal up < 1.5 x {change_bytes} + 300 = {}",
        push.traffic.requests,
        push.sync_requests,
        push.traffic.bytes_sent,
        push.traffic.bytes_received,
        change_bytes * 3 / 2 + 300
    );

    // 4. A device with 1,000 unchanged documents reconnects.
    let (_, code) = seed_person(
        storage.as_ref(),
        "Busy Practitioner",
        Agency::SocialWork,
        args.reconnect_docs.div_ceil(3),
    )?;
    let (mut busy, busy_engine) =
        MemoryDevice::enrol(&proxy.base, &code, bothy_tests::memory::load_options()).await?;
    let t = Instant::now();
    let first = busy_engine.sync(&mut busy).await?;
    println!(
        "first sync of {} documents: {:.2} s, {} /v1/sync requests, {} bytes down",
        busy.document_count(),
        t.elapsed().as_secs_f64(),
        first.sync_requests,
        first.traffic.bytes_received
    );
    let wire_before = proxy.stats.bytes();
    let t = Instant::now();
    let again = busy_engine.sync(&mut busy).await?;
    let wire_now = proxy.stats.bytes();
    let (wire_up, wire_down) = (wire_now.0 - wire_before.0, wire_now.1 - wire_before.1);
    let (reconnect_wire, reconnect_ms) = (wire_up + wire_down, ms(t.elapsed()));
    println!(
        "reconnect with {} unchanged documents: {} request(s), bodies {} up / {} down, on the wire {wire_up} up / {wire_down} down = {} bytes total, {:.1} ms",
        busy.document_count(),
        again.traffic.requests,
        again.traffic.bytes_sent,
        again.traffic.bytes_received,
        wire_up + wire_down,
        ms(t.elapsed())
    );
    drop(proxy);
    if let Some(server) = embedded {
        server.stop().await?;
    }
    // Every figure above, for scripts: the last line.
    let figures = serde_json::json!({
        "throughput": {
            "median_changes_per_s": rates[rates.len() / 2],
            "rounds_changes_per_s": round_rates,
            "cpu_us_per_change_median": cpu_per_change.get(cpu_per_change.len() / 2),
            "cpu_of": if embedded_run { "this process: devices and server" } else { "this process: devices only" },
        },
        "latency": {
            "syncs": latencies.len(),
            "p50_ms": ms(percentile(&latencies, 0.5)),
            "p99_ms": ms(percentile(&latencies, 0.99)),
            "max_ms": ms(latencies.last().copied().unwrap_or_default()),
            "bytes_up_per_sync": up / n,
            "bytes_down_per_sync": down / n,
        },
        "push_one_visit": {
            "change_bytes": change_bytes,
            "wire_up": push_wire.0,
            "wire_down": push_wire.1,
            "goal_up": change_bytes * 3 / 2 + 300,
        },
        "reconnect": {
            "documents": busy.document_count(),
            "requests": again.traffic.requests,
            "wire_bytes": reconnect_wire,
            "ms": reconnect_ms,
        },
    });
    println!("{figures}");
    Ok(())
}
