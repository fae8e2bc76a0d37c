//! What one merged change costs the server on a document with a long
//! history against one with a short one (issue 18, item 2): `bothy-load
//! --merge-history`, and at tiny sizes the `history_merge` test.
//!
//! Team records of two sizes are grown offline as a team's phones grow
//! them (each change by one of three practitioners' device actors: a new
//! visit, then its author adding to its observations, analysis and next
//! steps), written straight into the database, and served by the real
//! `bothy-server serve` program as a child process. The three devices pull
//! everything once (the server's cache is then warm), then take turns
//! recording one visit in one of the documents and syncing it, one push at
//! a time, alternating between the sizes in blocks so a shared machine's
//! other load falls on both alike. The server's CPU time (user + system,
//! `/proc/PID/stat`) is read around each block: the CPU per merged change
//! of each size, and their ratio.

use std::path::Path;
use std::time::{Duration, Instant};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc, Value};
use bothy_client::sync::SyncEngine;
use bothy_server::directory;
use bothy_server::storage::{NewChange, NewDocument};
use bothy_shared::docs::{DocKey, Timestamp};
use bothy_shared::ids::{Agency, ChildId, ItemId, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};

use crate::HarnessError;
use crate::db::{Backend, TestDb};
use crate::memory::MemoryDevice;
use crate::server::{ServerProcess, code_for, stored_change_count, stored_document};

/// Why a merge measurement did not run.
#[derive(Debug, thiserror::Error)]
pub enum MergeRunError {
    #[error(transparent)]
    Harness(Box<HarnessError>),
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
    #[error(transparent)]
    Storage(#[from] bothy_server::StorageError),
    #[error(transparent)]
    Directory(#[from] directory::DirectoryError),
    #[error(transparent)]
    Sync(Box<bothy_client::sync::SyncError>),
    #[error("writing a visit into the history")]
    Reconcile(#[from] autosurgeon::ReconcileError),
    #[error("growing the history")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("{0} has no visits map")]
    NoVisits(DocKey),
    #[error("the server's CPU time cannot be read from /proc")]
    NoCpu,
    #[error("a push was not acknowledged by the server")]
    NotMerged,
    #[error("the sizes must be at least 1, the larger above the smaller")]
    BadSizes,
}

impl From<HarnessError> for MergeRunError {
    fn from(e: HarnessError) -> Self {
        MergeRunError::Harness(Box::new(e))
    }
}

impl From<bothy_client::sync::SyncError> for MergeRunError {
    fn from(e: bothy_client::sync::SyncError) -> Self {
        MergeRunError::Sync(Box::new(e))
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// Changes in each small document's history (the 100).
    pub small: usize,
    /// Changes in each large document's history (the 10,000).
    pub large: usize,
    /// Documents of each size.
    pub docs: usize,
    /// Pushes (one new visit each) to each size.
    pub pushes: usize,
    /// Pushes per size in one block before switching to the other size.
    pub block: usize,
}

/// The figures, for the load command's last line (`{"merge": …}`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MergeFigures {
    /// Server CPU (user + system) per merged change, microseconds, small documents.
    pub cpu_us_per_change_100: f64,
    /// The same on the large documents.
    pub cpu_us_per_change_10000: f64,
    /// Large over small.
    pub ratio: f64,
    /// Changes each small document held before the pushes.
    pub changes_100: usize,
    /// Changes each large document held before the pushes.
    pub changes_10000: usize,
    /// Pushes acknowledged by the server, per size.
    pub merged_100: usize,
    pub merged_10000: usize,
    /// Of those, changes the server's storage holds afterwards.
    pub stored_100: usize,
    pub stored_10000: usize,
    /// Push latency (the device's whole sync run), milliseconds.
    pub p50_ms_100: f64,
    pub p99_ms_100: f64,
    pub p50_ms_10000: f64,
    pub p99_ms_10000: f64,
}

/// A practitioner whose device grows the history.
struct Author {
    person: PersonId,
    name: String,
    agency: Agency,
    actor: ActorId,
    /// The visit this author last recorded in the document being grown.
    last_visit: Option<ItemId>,
}

/// Grow `doc` (the team record `key`) by `changes` changes of `authors`,
/// in turn: a new visit, or words added to a text of the author's last one.
/// The new changes, in order.
fn grow(
    doc: &mut Automerge,
    key: DocKey,
    authors: &mut [Author],
    changes: usize,
) -> Result<Vec<NewChange>, MergeRunError> {
    let start = doc.get_heads();
    let visits = match doc.get(ROOT, "visits")? {
        Some((Value::Object(ObjType::Map), obj)) => obj,
        _ => return Err(MergeRunError::NoVisits(key)),
    };
    let n = authors.len().max(1);
    for i in 0..changes {
        let author = &mut authors[i % n];
        doc.set_actor(author.actor.clone());
        let field = match (i / n) % 4 {
            1 => Some("observations"),
            2 => Some("analysis"),
            3 => Some("next_steps"),
            _ => None,
        };
        let mut tx = doc.transaction();
        let text = match (field, author.last_visit) {
            (Some(field), Some(visit)) => match tx.get(&visits, visit.to_string().as_str())? {
                Some((Value::Object(ObjType::Map), obj)) => match tx.get(&obj, field)? {
                    Some((Value::Object(ObjType::Text), text)) => Some(text),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        match text {
            Some(text) => {
                let at = tx.length(&text);
                tx.splice_text(
                    &text,
                    at,
                    0,
                    " Spoke again with mum; school says attendance is better this term.",
                )?;
            }
            None => {
                let visit = crate::home_visit(
                    key,
                    author.person,
                    author.name.clone(),
                    author.agency,
                    &format!(
                        "Visit {i}: home visit, child seen; the kitchen was warm and there was food in."
                    ),
                );
                autosurgeon::reconcile_prop(
                    &mut tx,
                    &visits,
                    visit.id.to_string().as_str(),
                    &visit,
                )?;
                author.last_visit = Some(visit.id);
            }
        }
        tx.commit_with(
            CommitOptions::default()
                .with_message("record visit".to_owned())
                .with_time(Timestamp::now().0 / 1000),
        );
    }
    Ok(doc
        .get_changes(&start)
        .iter()
        .map(NewChange::from_change)
        .collect())
}

/// CPU time (user + system) process `pid` has used, in microseconds.
fn cpu_us(pid: u32) -> Result<f64, MergeRunError> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|_| MergeRunError::NoCpu)?;
    // Fields after the command name (in parentheses, may hold spaces):
    // utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').ok_or(MergeRunError::NoCpu)?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> Result<f64, MergeRunError> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or(MergeRunError::NoCpu)
    };
    // Linux reports these in USER_HZ: 100 a second on every architecture Bothy runs on.
    Ok((tick(11)? + tick(12)?) * 10_000.0)
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// One size's documents and what was measured on them.
#[derive(Default)]
struct Set {
    keys: Vec<DocKey>,
    cpu_us: f64,
    merged: usize,
    pushed: usize,
    latencies: Vec<Duration>,
    stored_before: usize,
}

/// Run the measurement against `server_binary` (`bothy-server`), on a
/// SQLite database of its own in a temporary folder.
pub async fn measure(
    server_binary: &Path,
    options: &MergeOptions,
) -> Result<MergeFigures, MergeRunError> {
    if options.small == 0 || options.large <= options.small || options.docs == 0 {
        return Err(MergeRunError::BadSizes);
    }
    let db = TestDb::create(Backend::Sqlite)?;
    let storage = db.try_open()?;
    let now = bothy_server::now();
    let team = [
        (
            "Merge Social Worker",
            Agency::SocialWork,
            TeamRole::LeadProfessional,
        ),
        ("Merge Health Visitor", Agency::Health, TeamRole::Member),
        ("Merge Teacher", Agency::Education, TeamRole::Member),
    ];
    let mut people = Vec::new();
    for (name, agency, _) in team {
        let person = directory::add_person(
            storage.as_ref(),
            PersonId::random(),
            name,
            PersonKind::Practitioner,
            Some(agency),
        )?;
        people.push((person.id, name.to_owned(), agency));
    }
    let mut sets = [Set::default(), Set::default()];
    for (s, set) in sets.iter_mut().enumerate() {
        for d in 0..options.docs {
            let child = directory::add_child(
                storage.as_ref(),
                ChildId::random(),
                &format!("Merge child {s}-{d}"),
                now,
            )?
            .id;
            for ((person, _, _), (_, _, role)) in people.iter().zip(team) {
                directory::add_team_member(storage.as_ref(), child, *person, role, now)?;
            }
            set.keys.push(DocKey::Record(child));
        }
    }

    let mut server = ServerProcess::start(server_binary, &db.url, &["--enrol-per-minute", "0"])?;
    let pid = server.pid().ok_or(MergeRunError::NoCpu)?;
    let sync_options = crate::memory::load_options();
    let mut devices: Vec<(MemoryDevice, SyncEngine)> = Vec::new();
    for (person, _, _) in &people {
        let code = code_for(storage.as_ref(), *person)?;
        devices.push(MemoryDevice::enrol(&server.base, &code, sync_options.clone()).await?);
    }

    // The histories, by the devices' actors, stored as the server stores
    // changes it accepted.
    for (set, size) in sets.iter().zip([options.small, options.large]) {
        for key in &set.keys {
            let mut doc = stored_document(storage.as_ref(), key)?;
            let mut authors: Vec<Author> = people
                .iter()
                .zip(&devices)
                .map(|((person, name, agency), (device, _))| Author {
                    person: *person,
                    name: name.clone(),
                    agency: *agency,
                    actor: device.device.actor_id(),
                    last_visit: None,
                })
                .collect();
            let have = stored_change_count(storage.as_ref(), key)?;
            let changes = grow(&mut doc, *key, &mut authors, size.saturating_sub(have))?;
            storage.commit_sync(&[], &[NewDocument { key: *key, changes }], now)?;
        }
    }
    // Every device pulls everything: the server's cache is warm.
    for (device, engine) in &mut devices {
        engine.sync(device).await?;
    }
    for set in &mut sets {
        for key in &set.keys {
            set.stored_before += stored_change_count(storage.as_ref(), key)?;
        }
    }
    let held = |set: &Set| set.stored_before / set.keys.len().max(1);
    let (changes_small, changes_large) = (held(&sets[0]), held(&sets[1]));

    let block = options.block.max(1);
    let mut turn = 0usize;
    while sets.iter().any(|s| s.pushed < options.pushes) {
        for set in &mut sets {
            let n = block.min(options.pushes - set.pushed);
            if n == 0 {
                continue;
            }
            let cpu_before = cpu_us(pid)?;
            for _ in 0..n {
                let (device, engine) = &mut devices[turn % 3];
                let key = set.keys[(turn / 3) % set.keys.len()];
                turn += 1;
                device.add_visit(key, "Home visit: child seen and well; mum in good spirits.")?;
                let t = Instant::now();
                let report = engine.sync(device).await?;
                set.latencies.push(t.elapsed());
                if report.acknowledged == 0 {
                    return Err(MergeRunError::NotMerged);
                }
                set.merged += report.acknowledged;
            }
            set.cpu_us += cpu_us(pid)? - cpu_before;
            set.pushed += n;
        }
    }
    server.kill()?;

    let mut stored = [0usize; 2];
    for (set, stored) in sets.iter_mut().zip(stored.iter_mut()) {
        let mut now_held = 0;
        for key in &set.keys {
            now_held += stored_change_count(storage.as_ref(), key)?;
        }
        *stored = now_held.saturating_sub(set.stored_before);
        set.latencies.sort();
    }
    let per_change = |set: &Set| set.cpu_us / set.merged.max(1) as f64;
    let (small, large) = (per_change(&sets[0]), per_change(&sets[1]));
    Ok(MergeFigures {
        cpu_us_per_change_100: small,
        cpu_us_per_change_10000: large,
        ratio: if small > 0.0 { large / small } else { 0.0 },
        changes_100: changes_small,
        changes_10000: changes_large,
        merged_100: sets[0].merged,
        merged_10000: sets[1].merged,
        stored_100: stored[0],
        stored_10000: stored[1],
        p50_ms_100: percentile_ms(&sets[0].latencies, 0.5),
        p99_ms_100: percentile_ms(&sets[0].latencies, 0.99),
        p50_ms_10000: percentile_ms(&sets[1].latencies, 0.5),
        p99_ms_10000: percentile_ms(&sets[1].latencies, 0.99),
    })
}
