//! The server's memory over a long history (issue 18, item 3): `bothy-load
//! --memory-history`. Children with years of history are seeded into a
//! SQLite file or a PostgreSQL schema kept between runs (seeding is the
//! slow part), the real `bothy-server serve --cache-mb N` is started on it
//! as a process of its own, and devices are driven through every child's
//! documents while the server's resident memory is read from
//! `/proc/PID/status`.
//!
//! Each pass enrols one device per practitioner, in turn (a few at once),
//! which first-syncs every document of the practitioner's children (the
//! server loads each), then records a visit in each child's team record
//! and pushes them (the server merges each). The cold pass runs on a fresh
//! server process; the warm pass is the same again on the same process,
//! with new devices. With more history than the cache holds, the warm pass
//! finds little of it still cached (the least recently used go first):
//! the two passes are then close, which is what they show.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bothy_server::storage::{self, Storage};
use bothy_shared::docs::{DocKey, IsoDate};
use bothy_shared::policy::PersonKind;

use crate::history::{self, HistoryOptions};
use crate::memory::MemoryDevice;
use crate::server::{ServerProcess, code_for};
use crate::{HarnessError, Result};

/// Which database the history is kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryBackend {
    Sqlite,
    Postgres,
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct MemoryOptions {
    pub backend: HistoryBackend,
    pub children: usize,
    pub years: u32,
    pub cache_mb: u64,
    /// The `bothy-server` program to start.
    pub server_binary: PathBuf,
    /// Where seeded databases (and their keys) are kept between runs.
    pub keep_in: PathBuf,
    /// Devices syncing at once.
    pub concurrency: usize,
}

/// One pass over every practitioner's children.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PassFigures {
    pub seconds: f64,
    pub documents_synced: usize,
    pub documents_per_second: f64,
    pub merged_changes: usize,
    /// Visits merged per second of the push phase alone.
    pub merged_changes_per_second: f64,
    pub rss_mb_after: f64,
}

/// The figures of one backend's run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemoryFigures {
    pub backend: HistoryBackend,
    pub children: usize,
    pub years: u32,
    pub documents: usize,
    pub cache_mb: u64,
    /// `None` when the seeded database was reused from an earlier run.
    pub seeded_seconds: Option<f64>,
    /// Resident memory of the server just after it started listening.
    pub rss_mb_start: f64,
    /// The highest resident memory sampled (every 50 ms) and the kernel's
    /// high-water mark (`VmHWM`).
    pub rss_mb_peak: f64,
    pub rss_mb_hwm: f64,
    pub rss_mb_final: f64,
    /// The peak (`VmHWM`) less the cache's capacity: what the process
    /// holds beyond the cache.
    pub overhead_mb: f64,
    pub cold: PassFigures,
    pub warm: PassFigures,
    pub calibration: Calibration,
}

/// How well the cache's size estimate matches the resident memory of the
/// documents it holds: documents loaded in this process through a cache
/// with no limit, its estimate against what this process's RSS grew by.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Calibration {
    pub documents: usize,
    pub ops: u64,
    pub changes: u64,
    pub rss_mb_grown: f64,
    pub estimate_mb: f64,
    /// Resident bytes per operation (all of the growth put on operations).
    pub rss_bytes_per_op: f64,
    /// The bytes of the documents' stored changes (as read, unsealed).
    pub stored_mb: f64,
    /// Resident bytes grown per stored byte: what the server takes room
    /// for before loading a document it does not hold
    /// (`LOADED_PER_STORED_BYTE`).
    pub loaded_per_stored_byte: f64,
}

/// Load up to `limit` documents of the seeded children into a cache with
/// no limit, in this process, and compare its estimate with the RSS grown.
pub fn calibrate(storage: &dyn Storage, limit: usize) -> Result<Calibration> {
    let mut keys = Vec::new();
    for child in storage.children()?.into_iter() {
        keys.extend([DocKey::Plan(child.id), DocKey::Record(child.id)]);
        if keys.len() >= limit {
            break;
        }
    }
    let cache = bothy_server::sync::DocCache::with_capacity(u64::MAX);
    let before = status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
    let mut out = Calibration::default();
    for key in &keys {
        // Loaded into the cache (the copy returned is dropped at once).
        let doc = cache
            .load(storage, key)
            .map_err(|e| HarnessError::Setup(format!("loading {key}: {e}")))?;
        let stats = automerge::ReadDoc::stats(&doc);
        out.documents += 1;
        out.ops += stats.num_ops;
        out.changes += stats.num_changes;
    }
    let after = status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
    let mut stored = 0u64;
    for key in &keys {
        stored += storage
            .changes_after(key, 0)?
            .iter()
            .map(|c| c.bytes.len() as u64)
            .sum::<u64>();
    }
    out.stored_mb = stored as f64 / 1024.0 / 1024.0;
    out.loaded_per_stored_byte =
        (after.saturating_sub(before) * 1024) as f64 / stored.max(1) as f64;
    out.rss_mb_grown = after.saturating_sub(before) as f64 / 1024.0;
    out.estimate_mb = cache.usage().0 as f64 / 1024.0 / 1024.0;
    out.rss_bytes_per_op = (after.saturating_sub(before) * 1024) as f64 / out.ops.max(1) as f64;
    drop(cache);
    Ok(out)
}

/// Seed (or reuse) the history, start the server and drive both passes.
pub async fn measure(options: &MemoryOptions) -> Result<MemoryFigures> {
    let (db_url, key_file, seeded_seconds) = seeded(options)?;
    let storage = storage::open_with_key_file(&db_url, key_file.as_deref())?;
    let calibration = {
        let storage = storage.clone();
        tokio::task::spawn_blocking(move || calibrate(storage.as_ref(), 400))
            .await
            .map_err(|e| HarnessError::Setup(format!("calibrating: {e}")))??
    };
    let practitioners: Vec<_> = storage
        .people()?
        .into_iter()
        .filter(|p| p.kind == PersonKind::Practitioner)
        .map(|p| p.id)
        .collect();
    let cache = options.cache_mb.to_string();
    let mut extra = vec!["--cache-mb", &cache, "--enrol-per-minute", "0"];
    let key_arg = key_file.as_ref().map(|k| k.display().to_string());
    if let Some(k) = &key_arg {
        extra.extend(["--master-key-file", k]);
    }
    let server = ServerProcess::start(&options.server_binary, &db_url, &extra)?;
    let pid = server
        .pid()
        .ok_or_else(|| HarnessError::Setup("the server has no process id".into()))?;
    let rss_mb_start = rss_mb(pid);
    let sampler = Sampler::start(pid);
    let cold = pass(&server.base, storage.as_ref(), &practitioners, options, pid).await?;
    let warm = pass(&server.base, storage.as_ref(), &practitioners, options, pid).await?;
    let rss_mb_peak = sampler.stop();
    let rss_mb_hwm = status_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let figures = MemoryFigures {
        backend: options.backend,
        children: options.children,
        years: options.years,
        documents: cold.documents_synced,
        cache_mb: options.cache_mb,
        seeded_seconds,
        rss_mb_start,
        rss_mb_peak,
        rss_mb_hwm,
        overhead_mb: rss_mb_hwm - options.cache_mb as f64,
        rss_mb_final: rss_mb(pid),
        cold,
        warm,
        calibration,
    };
    drop(server);
    Ok(figures)
}

fn rss_mb(pid: u32) -> f64 {
    status_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0
}

/// A `/proc/PID/status` field in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The server's resident memory, read every 50 ms on a thread of its own.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak_kib.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = status_kib(pid, "VmRSS:") {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler {
            stop,
            peak_kib,
            thread,
        }
    }

    /// Stop sampling; the peak in MB.
    fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// One device per practitioner, `concurrency` at once: first sync, then a
/// visit in each team record, pushed. Devices are dropped as they finish
/// (this process would otherwise hold the whole history).
async fn pass(
    base: &str,
    storage: &dyn Storage,
    practitioners: &[bothy_shared::ids::PersonId],
    options: &MemoryOptions,
    pid: u32,
) -> Result<PassFigures> {
    let codes = practitioners
        .iter()
        .map(|p| code_for(storage, *p))
        .collect::<Result<Vec<_>>>()?;
    let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for code in codes {
        let (base, limit) = (base.to_owned(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit
                .acquire()
                .await
                .map_err(|e| HarnessError::Setup(format!("the pass's semaphore closed: {e}")))?;
            let (mut device, engine) =
                MemoryDevice::enrol(&base, &code, crate::memory::load_options()).await?;
            engine.sync(&mut device).await?;
            let synced = device.document_count();
            let records: Vec<DocKey> = device
                .keys()
                .into_iter()
                .filter(|k| matches!(k, DocKey::Record(_)))
                .collect();
            for key in &records {
                device.add_visit(*key, "History run: home visit, child seen and well.")?;
            }
            let t = Instant::now();
            let pushed = engine.sync(&mut device).await?;
            Ok::<_, HarnessError>((synced, pushed.acknowledged, t.elapsed()))
        });
    }
    let mut figures = PassFigures::default();
    let mut pushing = Duration::ZERO;
    while let Some(joined) = tasks.join_next().await {
        let (synced, merged, took) =
            joined.map_err(|e| HarnessError::Setup(format!("a device's task failed: {e}")))??;
        figures.documents_synced += synced;
        figures.merged_changes += merged;
        pushing += took;
    }
    figures.seconds = started.elapsed().as_secs_f64();
    figures.documents_per_second = figures.documents_synced as f64 / figures.seconds;
    // Pushes ran `concurrency` at once: their summed time over that.
    let push_wall = pushing.as_secs_f64() / options.concurrency.max(1) as f64;
    figures.merged_changes_per_second = figures.merged_changes as f64 / push_wall.max(1e-9);
    figures.rss_mb_after = rss_mb(pid);
    Ok(figures)
}

/// The seeded database's URL and key file, seeding it first unless an
/// earlier run finished doing so (then `None` seconds).
fn seeded(options: &MemoryOptions) -> Result<(String, Option<PathBuf>, Option<f64>)> {
    std::fs::create_dir_all(&options.keep_in)?;
    let name = format!(
        "history_{}x{}_{}",
        options.children,
        options.years,
        match options.backend {
            HistoryBackend::Sqlite => "sqlite",
            HistoryBackend::Postgres => "pg",
        }
    );
    let done = options.keep_in.join(format!("{name}.done"));
    let (url, key_file) = match options.backend {
        HistoryBackend::Sqlite => {
            let file = options.keep_in.join(format!("{name}.db"));
            if !done.exists() {
                for stale in [file.clone(), file.with_extension("db.key")] {
                    remove_if_there(&stale)?;
                }
                for suffix in ["-wal", "-shm"] {
                    remove_if_there(&PathBuf::from(format!("{}{suffix}", file.display())))?;
                }
            }
            (format!("sqlite://{}", file.display()), None)
        }
        HistoryBackend::Postgres => {
            let key = options.keep_in.join(format!("{name}.key"));
            if !done.exists() {
                pg_fresh_schema(&name)?;
                remove_if_there(&key)?;
                storage::keys::MasterKey::random()
                    .map_err(|e| HarnessError::Setup(format!("a master key: {e}")))?
                    .write_new_file(&key)
                    .map_err(|e| HarnessError::Setup(format!("writing the master key: {e}")))?;
            }
            let url = format!(
                "{}/{}?options=-c%20search_path%3D{name}",
                crate::db::pg_server_url(),
                crate::db::TestDb::pg_database()
            );
            (url, Some(key))
        }
    };
    if done.exists() {
        return Ok((url, key_file, None));
    }
    let storage = storage::open_with_key_file(&url, key_file.as_deref())?;
    let started = Instant::now();
    history::seed(
        storage.as_ref(),
        HistoryOptions {
            children: options.children,
            years: options.years,
            today: IsoDate::today(),
            seed: 18,
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    std::fs::write(&done, format!("seeded in {seconds:.1} s\n"))?;
    Ok((url, key_file, Some(seconds)))
}

fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// An empty schema `name` in the test database (dropped first if there).
fn pg_fresh_schema(name: &str) -> Result<()> {
    // The test database exists once any scratch database was made.
    drop(crate::db::TestDb::create(crate::db::Backend::Postgres)?);
    let url = format!(
        "{}/{}",
        crate::db::pg_server_url(),
        crate::db::TestDb::pg_database()
    );
    let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
    // The synchronous client must not run inside a tokio task.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .map_err(|e| HarnessError::Setup(format!("connecting to {url}: {e}")))?;
        client
            .batch_execute(&sql)
            .map_err(|e| HarnessError::Setup(format!("{sql}: {e}")))
    })
    .join()
    .unwrap_or_else(|_| Err(HarnessError::Setup("the PostgreSQL thread panicked".into())))
}
