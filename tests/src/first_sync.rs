//! A new phone's first sync on a poor link (issue 18, item 4): what
//! `bothy-load --first-sync` measures and `tests/first_sync.rs` checks.
//!
//! A server in this process is seeded with children with years of history
//! ([`crate::history`]); one new practitioner joins every child's team; a
//! real device (SQLCipher store, the client's sync engine) enrols and syncs
//! through a [`CuttingProxy`] shaped as a poor mobile link with one planned
//! cut towards the device. Recorded: when the caseload and every plan are on
//! the device (the engine's [`Arrival`](bothy_client::sync::Arrival)
//! progress), when everything is, the proxy's bytes each way against the
//! documents' compressed size (the sum of `Automerge::save()`), and what was
//! sent again after the cut.
//!
//! Then the same documents through a generic Automerge sync server: an axum
//! route in this process holding the server's documents in memory, one
//! document per request, plain `generate_sync_message` and
//! `receive_sync_message` until both sides are quiet, sync states in memory
//! per connection session (a cut starts a new session, as a reconnecting
//! peer does), documents in no particular order (a generic server's ids are
//! random), through an identically shaped proxy cut at the same byte.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::sync::{self as am_sync, SyncDoc};
use automerge::{Automerge, AutomergeError, ChangeHash};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bothy_client::sync::{HttpExchange, RetryPolicy, SyncOptions};
use bothy_server::storage::{PersonRecord, Storage};
use bothy_shared::docs::{DocKey, IsoDate, PlanDoc};
use bothy_shared::ids::{Agency, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};
use bothy_shared::robust::{self, MalformedError};
use bothy_shared::wire::{self, SyncResponse};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::net::TcpListener;

use crate::HarnessError;
use crate::db::Backend;
use crate::device::Device;
use crate::history::{self, HistoryOptions, Made};
use crate::proxy::{CuttingProxy, Shape};
use crate::server::TestServer;

/// Why a first-sync measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum FirstSyncError {
    #[error(transparent)]
    Harness(#[from] HarnessError),
    #[error(transparent)]
    Sync(#[from] bothy_client::sync::SyncError),
    #[error("the generic sync client's request")]
    Http(#[from] reqwest::Error),
    #[error("the generic server answered {0}")]
    Status(reqwest::StatusCode),
    #[error("a generic sync message")]
    Message(#[from] am_sync::ReadMessageError),
    #[error("Automerge")]
    Automerge(#[from] AutomergeError),
    #[error(transparent)]
    Contained(#[from] MalformedError),
    #[error("the proxy's address")]
    Address(#[from] std::net::AddrParseError),
    /// The device's copy of a document differs from the server's.
    #[error("the device's {0} is not the server's")]
    Differs(DocKey),
    #[error("the generic client gave up on {key} after {tries} tries")]
    GaveUp { key: DocKey, tries: u32 },
}

type Result<T, E = FirstSyncError> = std::result::Result<T, E>;

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct FirstSyncOptions {
    pub children: usize,
    pub years: u32,
    pub seed: u64,
    pub backend: Backend,
    /// The link (its `cut_to_device_at` is replaced by `cut_fraction`).
    pub shape: Shape,
    /// Cut once, this far into the documents' compressed size (`None`: no cut).
    pub cut_fraction: Option<f64>,
    /// The engine's target response size for new documents.
    pub arrival_bytes: usize,
}

impl FirstSyncOptions {
    /// Issue 18's case: 40 children of five years, 1 Mbit/s each way, 300 ms
    /// round trip, cut half way.
    pub fn poor_mobile(seed: u64) -> FirstSyncOptions {
        FirstSyncOptions {
            children: 40,
            years: 5,
            seed,
            backend: Backend::Sqlite,
            shape: Shape::poor_mobile(),
            cut_fraction: Some(0.5),
            arrival_bytes: SyncOptions::default().arrival_bytes,
        }
    }
}

/// One way of syncing, measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PathFigures {
    /// From the start of enrolment (Bothy) or of the first request
    /// (generic) until the caseload is on the device; `None` for the
    /// generic server, which has no caseload (its plans carry the names).
    pub caseload_ready_ms: Option<u64>,
    /// Until every plan is stored on the device.
    pub plans_ready_ms: u64,
    /// Until every document is.
    pub all_done_ms: u64,
    /// The proxy's counts, HTTP included.
    pub bytes_to_device: u64,
    pub bytes_to_server: u64,
    /// HTTP requests answered (enrolment and directory included).
    pub requests: u64,
    /// Tries that failed in transit (the cut).
    pub failed_tries: u64,
    /// Bytes towards the device when the cut happened (0: no cut).
    pub cut_at_bytes: u64,
    /// Bytes of documents sent whole again after the cut although the
    /// device had stored them before it (resuming, not restarting: 0).
    pub resent_stored_bytes: u64,
    /// Documents sent whole more than once (the ones in flight at the cut).
    pub docs_sent_twice: usize,
}

/// What `bothy-load --first-sync` prints (the last line, as JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FirstSyncFigures {
    pub children: usize,
    pub years: u32,
    pub seed: u64,
    pub bytes_per_sec: f64,
    pub round_trip_ms: u64,
    /// Documents the device receives, and their changes on the server.
    pub documents: usize,
    pub plans: usize,
    /// The sum of `Automerge::save()` of those documents.
    pub compressed_bytes: u64,
    pub bothy: PathFigures,
    pub generic: PathFigures,
    /// Bytes towards the device over the compressed size (the goal: at most 1.2).
    pub bothy_bytes_ratio: f64,
    pub generic_bytes_ratio: f64,
}

impl FirstSyncFigures {
    /// A few lines for people.
    pub fn summary(&self) -> String {
        let path = |name: &str, p: &PathFigures, ratio: f64| {
            format!(
                "{name}: caseload {}, plans {:.1} s, all {:.1} s; {} B to the device ({ratio:.2}x compressed), \
                 {} B to the server, {} requests, cut at {} B, {} document(s) sent twice, \
                 {} B of stored documents sent again",
                p.caseload_ready_ms.map_or("n/a".to_owned(), |ms| format!(
                    "{:.1} s",
                    ms as f64 / 1000.0
                )),
                p.plans_ready_ms as f64 / 1000.0,
                p.all_done_ms as f64 / 1000.0,
                p.bytes_to_device,
                p.bytes_to_server,
                p.requests,
                p.cut_at_bytes,
                p.docs_sent_twice,
                p.resent_stored_bytes,
            )
        };
        format!(
            "first sync: {} children x {} years (seed {}), {} documents ({} plans), {} B compressed; \
             link {:.0} B/s each way, {} ms round trip\n{}\n{}",
            self.children,
            self.years,
            self.seed,
            self.documents,
            self.plans,
            self.compressed_bytes,
            self.bytes_per_sec,
            self.round_trip_ms,
            path("  bothy  ", &self.bothy, self.bothy_bytes_ratio),
            path("  generic", &self.generic, self.generic_bytes_ratio),
        )
    }
}

/// What a measured Bothy first sync leaves behind, for tests to look at.
#[derive(Debug)]
pub struct BothyRun {
    pub figures: PathFigures,
    /// Every `/v1/sync` reply that carried a whole document (or changes),
    /// in the order they arrived: (key, bytes of its message, before the cut).
    pub whole: Vec<(DocKey, usize, bool)>,
    pub device: Device,
}

/// The seeded server, the new practitioner, and the documents they may read.
pub struct Seeded {
    pub server: TestServer<PersonId>,
    pub made: Made,
    pub practitioner: PersonId,
    /// The server's copy of each document the practitioner's device
    /// receives, as stored.
    pub documents: BTreeMap<DocKey, Automerge>,
    pub compressed_bytes: u64,
}

impl std::fmt::Debug for Seeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seeded")
            .field("documents", &self.documents.len())
            .field("compressed_bytes", &self.compressed_bytes)
            .finish_non_exhaustive()
    }
}

/// Seed the server and put a new social worker on every child's team; find
/// what their device will receive with one unshaped sync of a throwaway
/// device (the server decides what may be read: no second guess here).
pub async fn seed(options: &FirstSyncOptions) -> Result<Seeded> {
    let history = HistoryOptions {
        children: options.children,
        years: options.years,
        today: IsoDate::today(),
        seed: options.seed,
    };
    let made = Arc::new(Mutex::new(Made::default()));
    let made_in = made.clone();
    let server = TestServer::seeded(
        options.backend,
        move |storage: &dyn Storage| {
            let m = history::seed(storage, history)?;
            *made_in.lock().unwrap_or_else(|e| e.into_inner()) = m;
            let practitioner = PersonId::random();
            storage.add_person(&PersonRecord {
                id: practitioner,
                name: "New phone worker".into(),
                kind: PersonKind::Practitioner,
                agency: Some(Agency::SocialWork),
            })?;
            let now = crate::db::now();
            for child in storage.children()? {
                bothy_server::directory::add_team_member(
                    storage,
                    child.id,
                    practitioner,
                    TeamRole::Member,
                    now,
                )?;
            }
            Ok(practitioner)
        },
        // One device enrols twice from one address.
        |config| config.enrol_per_minute = 0,
    )
    .await?;
    let practitioner = server.people;
    let mut probe = server
        .enrol_device("probe", practitioner, SyncOptions::default())
        .await?;
    probe.sync().await?;
    let mut documents = BTreeMap::new();
    for child in server.storage.children().map_err(HarnessError::from)? {
        for key in server
            .storage
            .documents_of_child(child.id)
            .map_err(HarnessError::from)?
        {
            if probe.holds(&key)? {
                documents.insert(key, server.document(&key)?);
            }
        }
    }
    let compressed_bytes = documents
        .values()
        .map(|d| robust::contain("save", || d.save().len() as u64))
        .sum::<Result<u64, MalformedError>>()?;
    let made = *made.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Seeded {
        server,
        made,
        practitioner,
        documents,
        compressed_bytes,
    })
}

fn upstream(base: &str) -> Result<SocketAddr> {
    Ok(base.trim_start_matches("http://").parse()?)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn heads_of(doc: &Automerge) -> Result<Vec<ChangeHash>> {
    let mut heads = robust::contain("heads", || doc.get_heads())?;
    heads.sort();
    Ok(heads)
}

/// Enrol a new device through a proxy shaped as `shape` and sync it once;
/// check every document arrived intact and every plan reads.
pub async fn bothy_first_sync(
    seeded: &Seeded,
    shape: Shape,
    arrival_bytes: usize,
) -> Result<BothyRun> {
    let proxy = CuttingProxy::start_shaped(upstream(&seeded.server.base)?, shape).await?;
    // Every reply carrying changes, and whether a try had failed before it.
    let whole: Arc<Mutex<Vec<(DocKey, usize, bool)>>> = Arc::default();
    let cut_seen = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen_whole, seen_cut) = (whole.clone(), cut_seen.clone());
    let observer = Arc::new(move |x: &HttpExchange<'_>| {
        use std::sync::atomic::Ordering;
        if x.status.is_none() {
            seen_cut.store(true, Ordering::Relaxed);
            return;
        }
        if x.path != wire::PATH_SYNC || x.status != Some(200) {
            return;
        }
        let Ok(resp) = wire::from_cbor::<SyncResponse>(x.response) else {
            return;
        };
        let before = !seen_cut.load(Ordering::Relaxed);
        let mut w = seen_whole.lock().unwrap_or_else(|e| e.into_inner());
        for reply in resp.docs {
            let Some(bytes) = reply.message else { continue };
            let carries = robust::contain("decode", || am_sync::Message::decode(&bytes))
                .ok()
                .and_then(|m| m.ok())
                .is_some_and(|m| !m.changes.is_empty());
            if carries {
                w.push((reply.key, bytes.len(), before));
            }
        }
    });
    let options = SyncOptions {
        arrival_bytes,
        retry: RetryPolicy {
            attempts: 6,
            ..RetryPolicy::default()
        },
        observer: Some(observer),
        ..SyncOptions::default()
    };
    let code = seeded.server.code_for(seeded.practitioner)?;
    let started = Instant::now();
    let mut device = Device::enrol("new phone", &proxy.base, &code, options).await?;
    // Enrolment stores the directory: the caseload is listed from now.
    let caseload_ready = started.elapsed();
    let mut progress = device.engine.progress();
    let plans_ready: Arc<Mutex<Option<Duration>>> = Arc::default();
    let ready = plans_ready.clone();
    let watcher = tokio::spawn(async move {
        while progress.changed().await.is_ok() {
            let a = progress.borrow().arrival;
            if a.plans_total > 0 && a.plans_ready() {
                let mut r = ready.lock().unwrap_or_else(|e| e.into_inner());
                r.get_or_insert_with(|| started.elapsed());
            }
        }
    });
    let synced = device.sync().await;
    let all_done = started.elapsed();
    // The engine's sender lives as long as the device: the watcher would
    // not end by itself.
    watcher.abort();
    let report = synced?;
    let arrival = device.engine.progress().borrow().arrival;
    if !arrival.all_stored() {
        return Err(FirstSyncError::Harness(HarnessError::Setup(format!(
            "the run ended with {arrival:?}"
        ))));
    }
    let plans_ready = (*plans_ready.lock().unwrap_or_else(|e| e.into_inner())).unwrap_or(all_done);
    // Every document intact, every plan readable.
    for (key, doc) in &seeded.documents {
        let held = device
            .client_mut()
            .document(key)
            .map_err(HarnessError::from)?
            .map(heads_of)
            .transpose()?;
        if held != Some(heads_of(doc)?) {
            return Err(FirstSyncError::Differs(*key));
        }
        if key.is_plan() {
            let _: PlanDoc = device.read(key)?;
        }
    }
    let whole = std::mem::take(&mut *whole.lock().unwrap_or_else(|e| e.into_inner()));
    let (to_server, to_device) = proxy.stats.bytes();
    let cut_at = proxy
        .stats
        .cut_at_bytes_to_device
        .load(std::sync::atomic::Ordering::Relaxed);
    let stored_before: BTreeSet<DocKey> = whole
        .iter()
        .filter(|(_, _, before)| *before)
        .map(|(k, _, _)| *k)
        .collect();
    let resent_stored_bytes = whole
        .iter()
        .filter(|(k, _, before)| !before && stored_before.contains(k))
        .map(|(_, n, _)| *n as u64)
        .sum();
    let mut times: BTreeMap<DocKey, usize> = BTreeMap::new();
    for (k, _, _) in &whole {
        *times.entry(*k).or_default() += 1;
    }
    Ok(BothyRun {
        figures: PathFigures {
            caseload_ready_ms: Some(ms(caseload_ready)),
            plans_ready_ms: ms(plans_ready),
            all_done_ms: ms(all_done),
            bytes_to_device: to_device,
            bytes_to_server: to_server,
            // Enrolment is one more.
            requests: u64::from(report.traffic.requests) + 1,
            failed_tries: u64::from(report.traffic.retries),
            cut_at_bytes: cut_at,
            resent_stored_bytes,
            docs_sent_twice: times.values().filter(|n| **n > 1).count(),
        },
        whole,
        device,
    })
}

/// The generic server's documents and its sync states, per session.
#[derive(Default)]
struct Generic {
    docs: HashMap<String, Automerge>,
    states: HashMap<(u64, String), am_sync::State>,
}

type Shared = Arc<Mutex<Generic>>;

/// `POST /generic/{session}` with the document's key in `x-doc`: a sync
/// message in, the reply out (`204`: nothing to say).
async fn generic_sync(
    AxumState(shared): AxumState<Shared>,
    Path(session): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Vec<u8>) {
    let Some(key) = headers.get("x-doc").and_then(|v| v.to_str().ok()) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
    let Generic { docs, states } = &mut *g;
    let Some(doc) = docs.get_mut(key) else {
        return (StatusCode::NOT_FOUND, Vec::new());
    };
    let state = states.entry((session, key.to_owned())).or_default();
    let answered = robust::contain("generic receive", || -> Result<Option<Vec<u8>>> {
        let message = am_sync::Message::decode(&body)?;
        doc.receive_sync_message(state, message)?;
        Ok(doc.generate_sync_message(state).map(|m| m.encode()))
    });
    match answered {
        Ok(Ok(Some(reply))) => (StatusCode::OK, reply),
        Ok(Ok(None)) => (StatusCode::NO_CONTENT, Vec::new()),
        Ok(Err(_)) | Err(_) => (StatusCode::UNPROCESSABLE_ENTITY, Vec::new()),
    }
}

/// `GET /generic/docs`: every key, one a line.
async fn generic_docs(AxumState(shared): AxumState<Shared>) -> String {
    let g = shared.lock().unwrap_or_else(|e| e.into_inner());
    let mut keys: Vec<&String> = g.docs.keys().collect();
    keys.sort();
    keys.iter().map(|k| format!("{k}\n")).collect()
}

/// The same documents through a generic Automerge sync server and an
/// identically shaped proxy.
pub async fn generic_first_sync(
    seeded: &Seeded,
    shape: Shape,
    order_seed: u64,
) -> Result<PathFigures> {
    let shared: Shared = Arc::new(Mutex::new(Generic {
        docs: seeded
            .documents
            .iter()
            .map(|(k, d)| (k.to_string(), d.clone()))
            .collect(),
        states: HashMap::new(),
    }));
    let app = axum::Router::new()
        .route("/generic/docs", get(generic_docs))
        .route("/generic/{session}", post(generic_sync))
        .with_state(shared);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(HarnessError::from)?;
    let addr = listener.local_addr().map_err(HarnessError::from)?;
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    let proxy = CuttingProxy::start_shaped(addr, shape).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let started = Instant::now();
    let mut requests = 0u64;
    let mut failed = 0u64;
    // The list of documents, then one document at a time, in the order a
    // generic server's random ids give.
    let list = loop {
        match http
            .get(format!("{}/generic/docs", proxy.base))
            .send()
            .await
        {
            Ok(r) => {
                requests += 1;
                match r.text().await {
                    Ok(t) => break t,
                    Err(_) => failed += 1,
                }
            }
            Err(_) => failed += 1,
        }
    };
    let mut keys: Vec<DocKey> = list.lines().filter_map(|l| l.parse().ok()).collect();
    keys.shuffle(&mut ChaCha8Rng::seed_from_u64(order_seed));
    let plans = keys.iter().filter(|k| k.is_plan()).count();
    let mut plans_done = 0;
    let mut plans_ready = Duration::ZERO;
    let mut session = 0u64;
    let mut whole: Vec<(DocKey, usize, bool)> = Vec::new();
    let mut held: BTreeSet<DocKey> = BTreeSet::new();
    for key in keys {
        let mut doc = Automerge::new();
        let mut tries = 0u32;
        'doc: loop {
            tries += 1;
            if tries > 6 {
                serving.abort();
                return Err(FirstSyncError::GaveUp { key, tries });
            }
            let mut state = am_sync::State::new();
            loop {
                let Some(out) =
                    robust::contain("generic generate", || doc.generate_sync_message(&mut state))?
                else {
                    break 'doc;
                };
                let sent = http
                    .post(format!("{}/generic/{session}", proxy.base))
                    .header("x-doc", key.to_string())
                    .body(out.encode())
                    .send()
                    .await;
                let answer = match sent {
                    Ok(r) => {
                        let status = r.status();
                        r.bytes().await.map(|b| (status, b))
                    }
                    Err(e) => Err(e),
                };
                let (status, body) = match answer {
                    Ok(a) => a,
                    Err(_) => {
                        // Cut: a new connection, a new session (fresh
                        // states on both sides); what was stored stays.
                        failed += 1;
                        session += 1;
                        continue 'doc;
                    }
                };
                requests += 1;
                if status == reqwest::StatusCode::NO_CONTENT {
                    continue;
                }
                if !status.is_success() {
                    serving.abort();
                    return Err(FirstSyncError::Status(status));
                }
                let message =
                    robust::contain("generic decode", || am_sync::Message::decode(&body))??;
                if !message.changes.is_empty() {
                    whole.push((key, body.len(), failed == 0));
                }
                robust::contain("generic apply", || {
                    doc.receive_sync_message(&mut state, message)
                })??;
            }
        }
        let server_doc = seeded
            .documents
            .get(&key)
            .ok_or(FirstSyncError::Differs(key))?;
        if heads_of(&doc)? != heads_of(server_doc)? {
            serving.abort();
            return Err(FirstSyncError::Differs(key));
        }
        held.insert(key);
        if key.is_plan() {
            plans_done += 1;
            if plans_done == plans {
                plans_ready = started.elapsed();
            }
        }
    }
    let all_done = started.elapsed();
    serving.abort();
    let (to_server, to_device) = proxy.stats.bytes();
    let stored_before: BTreeSet<DocKey> = whole
        .iter()
        .filter(|(_, _, b)| *b)
        .map(|(k, _, _)| *k)
        .collect();
    let mut times: BTreeMap<DocKey, usize> = BTreeMap::new();
    for (k, _, _) in &whole {
        *times.entry(*k).or_default() += 1;
    }
    Ok(PathFigures {
        caseload_ready_ms: None,
        plans_ready_ms: ms(plans_ready),
        all_done_ms: ms(all_done),
        bytes_to_device: to_device,
        bytes_to_server: to_server,
        requests,
        failed_tries: failed,
        cut_at_bytes: proxy
            .stats
            .cut_at_bytes_to_device
            .load(std::sync::atomic::Ordering::Relaxed),
        resent_stored_bytes: whole
            .iter()
            .filter(|(k, _, b)| !b && stored_before.contains(k))
            .map(|(_, n, _)| *n as u64)
            .sum(),
        docs_sent_twice: times.values().filter(|n| **n > 1).count(),
    })
}

/// Seed, then measure both ways in one run.
pub async fn measure(options: FirstSyncOptions) -> Result<FirstSyncFigures> {
    let seeded = seed(&options).await?;
    let cut = options
        .cut_fraction
        .map(|f| (seeded.compressed_bytes as f64 * f) as u64);
    let shape = Shape {
        cut_to_device_at: cut,
        ..options.shape
    };
    let bothy = bothy_first_sync(&seeded, shape, options.arrival_bytes).await?;
    let generic = generic_first_sync(&seeded, shape, options.seed).await?;
    let compressed = seeded.compressed_bytes.max(1) as f64;
    Ok(FirstSyncFigures {
        children: options.children,
        years: options.years,
        seed: options.seed,
        bytes_per_sec: options.shape.bytes_per_sec,
        round_trip_ms: ms(options.shape.delay * 2),
        documents: seeded.documents.len(),
        plans: seeded.documents.keys().filter(|k| k.is_plan()).count(),
        compressed_bytes: seeded.compressed_bytes,
        bothy_bytes_ratio: bothy.figures.bytes_to_device as f64 / compressed,
        generic_bytes_ratio: generic.bytes_to_device as f64 / compressed,
        bothy: bothy.figures,
        generic,
    })
}
