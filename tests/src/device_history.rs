//! A practitioner's phone over a caseload with years of history (issue 18,
//! items 5 and 6): how long unlocking to the caseload takes with the
//! production key derivation, what the device and the server keep per
//! child-year, and what compaction gives back (`bothy-load
//! --device-history`, and a tiny run in `tests/device_history.rs`).
//!
//! The run: `children` synthetic children with `years` of history
//! ([`history::seed`]) in an embedded server on SQLite; one new
//! practitioner on every child's team; a real client device (SQLCipher
//! store, Argon2id at the chosen strength) enrolled for them and synced
//! until it holds everything. Then, locked and unlocked again and again:
//!
//! - **unlock to the caseload** as the app does it ([`bothy_client::Device`]:
//!   Argon2id, open, the header and schema, the directory, the caseload
//!   read), then the caseload read once more as the first screen does;
//! - **the old path**: the same, with the full `quick_check` run before the
//!   caseload, as every unlock did before the check moved to the
//!   background; and that check alone;
//! - how long after unlock the **background check** has read every page.
//!
//! Storage: the store file, split by table with SQLite's `dbstat`
//! (documents' snapshots, their changes, the index, the rest); per
//! child-year. Then every document is compacted (its snapshot replaces its
//! changes, as the app does after [`bothy_client::COMPACT_AFTER`] changes)
//! and the file vacuumed: sizes after each, and every document's heads
//! compared with before. On the server: the stored changes (sealed bytes, as
//! on disk), the pages of the `changes` table and its indexes, the whole
//! database file, and beside them the size of each document's `save()`.

use std::path::Path;
use std::time::{Duration, Instant};

use automerge::{Automerge, Change, ChangeHash};
use bothy_client::store::rusqlite::{Connection, OpenFlags};
use bothy_client::store::{DATABASE_FILE_NAME, Integrity, KdfParams, Passcode, Store};
use bothy_client::sync::{self, SyncEngine, SyncOptions};
use bothy_client::{Client, Device, DeviceSettings};
use bothy_server::directory;
use bothy_server::storage::Storage;
use bothy_shared::docs::IsoDate;
use bothy_shared::ids::{Agency, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};
use bothy_shared::robust;
use serde::Serialize;

use crate::db::Backend;
use crate::history::{self, HistoryOptions};
use crate::server::TestServer;
use crate::{HarnessError, Result};

/// The passcode of the measured device.
const PASSCODE: &str = "a long enough passcode for a phone";

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct DeviceHistoryOptions {
    /// Children on the practitioner's caseload (and in the partnership).
    pub children: usize,
    /// Years of history each.
    pub years: u32,
    /// The history's seed.
    pub seed: u64,
    /// Unlocks timed (each path).
    pub unlocks: usize,
    /// Argon2id as the app sets it up ([`KdfParams::production`]), or the
    /// tests' fast parameters.
    pub production_kdf: bool,
}

/// Milliseconds over several runs.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub runs: usize,
}

impl Timings {
    fn of(samples: &[Duration]) -> Timings {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let median = match ms.len() {
            0 => 0.0,
            n if n % 2 == 1 => ms[n / 2],
            n => (ms[n / 2 - 1] + ms[n / 2]) / 2.0,
        };
        Timings {
            median_ms: median,
            min_ms: ms.first().copied().unwrap_or(0.0),
            max_ms: ms.last().copied().unwrap_or(0.0),
            runs: ms.len(),
        }
    }
}

/// The device store's size, whole and by what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct StoreSize {
    /// The database file (and its write-ahead log, if any), closed.
    pub file_bytes: u64,
    /// Pages on the free list (space a VACUUM would give back).
    pub free_bytes: u64,
    /// Pages of the `documents` table (snapshots) and its index.
    pub snapshot_pages_bytes: u64,
    /// Pages of the `changes` table and its indexes.
    pub change_pages_bytes: u64,
    /// Pages of the `idx_*` tables (lists and a child's page).
    pub index_pages_bytes: u64,
    /// Everything else (schema, meta, sync states, drafts…).
    pub other_pages_bytes: u64,
    /// Bytes of the documents themselves: snapshots plus stored changes.
    pub document_bytes: u64,
    /// Stored changes (beyond the snapshots).
    pub changes: u64,
    /// Documents with a snapshot.
    pub snapshots: u64,
}

/// Per child-year, in bytes.
#[derive(Debug, Clone, Serialize)]
pub struct PerChildYear {
    /// The device's store file.
    pub device_file: f64,
    /// The documents' bytes on the device.
    pub device_documents: f64,
    /// The same after compacting every document and vacuuming.
    pub device_file_compacted: f64,
    /// The server's stored changes, sealed, as on disk.
    pub server_sealed_changes: f64,
    /// The server's `changes` table and its indexes (pages).
    pub server_change_pages: f64,
    /// Each document's `save()`: what the server would keep if it compacted.
    pub server_saved: f64,
}

/// The server's side of the same documents (SQLite).
#[derive(Debug, Clone, Serialize)]
pub struct ServerSize {
    /// Documents of the seeded children.
    pub documents: u64,
    /// Stored changes.
    pub changes: u64,
    /// Their bytes as stored (sealed: encrypted, with nonce and tag).
    pub sealed_change_bytes: u64,
    /// Their bytes unsealed (as the devices sent them).
    pub change_bytes: u64,
    /// Pages of the `changes` table and its three indexes.
    pub change_pages_bytes: u64,
    /// The whole database file (directory, audit, sync states… included).
    pub database_bytes: u64,
    /// The sum of each document's `save()` (compressed, one blob each).
    pub saved_bytes: u64,
}

/// Every figure of a run (the last line of `bothy-load --device-history`).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceHistoryFigures {
    pub children: usize,
    pub years: u32,
    pub child_years: usize,
    /// `production` or `test` Argon2id parameters.
    pub kdf: &'static str,
    /// Changes the history generator wrote (every document of every child).
    pub history_changes: usize,
    /// Their bytes, unsealed.
    pub history_change_bytes: usize,
    /// The sum of every document's `save()` as generated.
    pub history_compressed_bytes: usize,
    /// Documents the device holds.
    pub device_documents: usize,
    /// Children on the caseload after unlocking.
    pub caseload: usize,
    /// Unlock to the caseload, as the app does it now.
    pub unlock_to_caseload: Timings,
    /// The same with the full check before the caseload (every unlock
    /// before this change).
    pub unlock_with_full_check: Timings,
    /// The full check alone (`PRAGMA quick_check`).
    pub full_check: Timings,
    /// From the start of an unlock until the background check has passed.
    pub background_check_done: Timings,
    /// The device store as sync left it (and the app's own compactions).
    pub device: StoreSize,
    /// After compacting every document (no VACUUM).
    pub device_compacted: StoreSize,
    /// After compacting and `VACUUM`.
    pub device_vacuumed: StoreSize,
    /// Documents whose heads were the same after compaction.
    pub heads_kept: usize,
    pub server: ServerSize,
    pub per_child_year: PerChildYear,
}

/// Runs the whole measurement (see the module docs).
pub async fn measure(options: DeviceHistoryOptions) -> Result<DeviceHistoryFigures> {
    let history_options = HistoryOptions {
        children: options.children,
        years: options.years.max(1),
        today: IsoDate::today(),
        seed: options.seed,
    };
    let server = TestServer::seeded(
        Backend::Sqlite,
        |storage| {
            let made = history::seed(storage, history_options)?;
            Ok((on_every_team(storage)?, made))
        },
        |_| {},
    )
    .await?;
    let (person, made) = server.people;

    // A device of the new practitioner, holding everything.
    let dir = tempfile::tempdir()?;
    let params = if options.production_kdf {
        KdfParams::production()
    } else {
        KdfParams::insecure_fast_for_tests()
    };
    let passcode = || Passcode::new(PASSCODE.to_owned());
    let mut store = Store::create(dir.path(), &passcode(), params)?;
    let sync_options = SyncOptions::default();
    sync::enrol(
        &mut store,
        &server.base,
        &server.code_for(person)?,
        "history phone",
        &sync_options,
    )
    .await?;
    let mut client = Client::open(store).map_err(|(_, e)| e)?;
    let engine = SyncEngine::new(&client, sync_options)?;
    // Each run is bounded; run until one brings nothing new.
    for _ in 0..100 {
        let report = engine.sync(&mut client).await?;
        if report.received == 0 && report.new == 0 {
            break;
        }
    }
    let device_documents = client.store().list_doc_keys()?.len();
    client.lock()?;
    drop(engine);

    let database_file = dir.path().join(DATABASE_FILE_NAME);
    let device = Device::locked(dir.path(), DeviceSettings::manual());
    let mut unlock = Vec::new();
    let mut unlock_old = Vec::new();
    let mut check_alone = Vec::new();
    let mut check_done = Vec::new();
    let mut caseload = 0;
    for _ in 0..options.unlocks.max(1) {
        // Now: the check runs in the background.
        let started = Instant::now();
        device.unlock(&passcode())?;
        caseload = device.with_service(|c| c.caseload(None))?.len();
        unlock.push(started.elapsed());
        let found = device
            .with_client(|c| c.store_mut().wait_for_integrity())
            .ok_or(bothy_client::ServiceError::Locked)?;
        check_done.push(started.elapsed());
        expect_passed(found)?;
        device.lock()?;

        // Before: every page read before the caseload.
        let started = Instant::now();
        device.unlock(&passcode())?;
        let check_started = Instant::now();
        let found = device.with_service(|c| Ok(c.store_mut().check_integrity_now()?))?;
        check_alone.push(check_started.elapsed());
        device.with_service(|c| c.caseload(None))?;
        unlock_old.push(started.elapsed());
        expect_passed(found)?;
        device.lock()?;
    }

    // Storage, then every document compacted, then vacuumed.
    let mut store = Store::unlock(dir.path(), &passcode())?;
    let before = store_size(&store, &database_file)?;
    let heads = compact_every_document(&mut store)?;
    let compacted = store_size(&store, &database_file)?;
    store.connection().execute_batch("VACUUM")?;
    let vacuumed = store_size(&store, &database_file)?;
    let mut heads_kept = 0;
    for (key, expected) in &heads {
        heads_kept += usize::from(document_heads(&store, key)?.as_ref() == Some(expected));
    }
    store.lock()?;

    let server_size = server_size(server.storage.as_ref(), &server.db_url)?;
    server.stop().await?;

    let child_years = options.children * options.years.max(1) as usize;
    let per = |bytes: u64| bytes as f64 / child_years.max(1) as f64;
    Ok(DeviceHistoryFigures {
        children: options.children,
        years: options.years.max(1),
        child_years,
        kdf: if options.production_kdf {
            "production"
        } else {
            "test"
        },
        history_changes: made.changes,
        history_change_bytes: made.change_bytes,
        history_compressed_bytes: made.compressed_bytes,
        device_documents,
        caseload,
        unlock_to_caseload: Timings::of(&unlock),
        unlock_with_full_check: Timings::of(&unlock_old),
        full_check: Timings::of(&check_alone),
        background_check_done: Timings::of(&check_done),
        per_child_year: PerChildYear {
            device_file: per(before.file_bytes),
            device_documents: per(before.document_bytes),
            device_file_compacted: per(vacuumed.file_bytes),
            server_sealed_changes: per(server_size.sealed_change_bytes),
            server_change_pages: per(server_size.change_pages_bytes),
            server_saved: per(server_size.saved_bytes),
        },
        device: before,
        device_compacted: compacted,
        device_vacuumed: vacuumed,
        heads_kept,
        server: server_size,
    })
}

/// A new practitioner (social work) on every child's team; their id.
fn on_every_team(storage: &dyn Storage) -> Result<PersonId> {
    let now = bothy_server::now();
    let person = directory::add_person(
        storage,
        PersonId::random(),
        "New Phone",
        PersonKind::Practitioner,
        Some(Agency::SocialWork),
    )?
    .id;
    for child in storage.children()? {
        directory::add_team_member(storage, child.id, person, TeamRole::Member, now)?;
    }
    Ok(person)
}

fn expect_passed(found: Integrity) -> Result<()> {
    match found {
        Integrity::Passed { .. } => Ok(()),
        other => Err(HarnessError::Setup(format!(
            "the integrity check did not pass: {other:?}"
        ))),
    }
}

/// The document as stored, rebuilt through the robust wrappers.
fn load(store: &Store, key: &str) -> Result<Option<(Automerge, i64)>> {
    let Some(stored) = store.load_document(key)? else {
        return Ok(None);
    };
    let doc = match &stored.snapshot {
        Some(bytes) => robust::load_document(bytes)?,
        None => Automerge::new(),
    };
    let changes = stored
        .changes
        .iter()
        .map(|b| robust::decode_change(b))
        .collect::<Result<Vec<Change>, _>>()?;
    let doc = robust::apply_changes(&doc, &changes)?;
    Ok(Some((doc, stored.through_seq)))
}

fn document_heads(store: &Store, key: &str) -> Result<Option<Vec<ChangeHash>>> {
    Ok(load(store, key)?.map(|(doc, _)| doc.get_heads()))
}

/// Compacts every document as the app does one (its `save()` becomes its
/// snapshot; the acknowledged changes go). Returns each one's heads before.
fn compact_every_document(store: &mut Store) -> Result<Vec<(String, Vec<ChangeHash>)>> {
    let mut heads = Vec::new();
    for key in store.list_doc_keys()? {
        let Some((doc, through_seq)) = load(store, &key)? else {
            continue;
        };
        let before = doc.get_heads();
        let encoded: Vec<u8> = before.iter().flat_map(|h| h.0).collect();
        store.compact(&key, &doc.save(), &encoded, through_seq)?;
        heads.push((key, before));
    }
    Ok(heads)
}

/// Bytes of the pages of each table and index, by name (SQLite's `dbstat`).
fn pages_by_name(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut select = conn.prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")?;
    let rows = select.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, bytes) = row?;
        out.push((name, u64::try_from(bytes).unwrap_or(0)));
    }
    Ok(out)
}

fn file_len(path: &Path) -> Result<u64> {
    let wal = path.with_file_name(format!(
        "{}-wal",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    ));
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    Ok(std::fs::metadata(path)?.len() + wal_len)
}

fn store_size(store: &Store, database_file: &Path) -> Result<StoreSize> {
    let conn = store.connection();
    // Everything written is in the main file: measure it as a closed store.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    let mut size = StoreSize {
        file_bytes: file_len(database_file)?,
        free_bytes: 0,
        snapshot_pages_bytes: 0,
        change_pages_bytes: 0,
        index_pages_bytes: 0,
        other_pages_bytes: 0,
        document_bytes: 0,
        changes: 0,
        snapshots: 0,
    };
    // SQLCipher answers this pragma as text.
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get::<_, String>(0))?
        .parse()
        .unwrap_or(4096);
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    size.free_bytes = u64::try_from(free * page_size).unwrap_or(0);
    for (name, bytes) in pages_by_name(conn)? {
        let slot = if name == "documents" || name.starts_with("sqlite_autoindex_documents") {
            &mut size.snapshot_pages_bytes
        } else if name == "changes"
            || name.starts_with("changes_")
            || name.starts_with("sqlite_autoindex_changes")
        {
            &mut size.change_pages_bytes
        } else if name.starts_with("idx_") || name.starts_with("sqlite_autoindex_idx_") {
            &mut size.index_pages_bytes
        } else {
            &mut size.other_pages_bytes
        };
        *slot += bytes;
    }
    let (snapshots, snapshot_bytes): (i64, i64) = conn.query_row(
        "SELECT count(snapshot), coalesce(sum(length(snapshot)), 0) FROM documents",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (changes, change_bytes): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(length(bytes)), 0) FROM changes",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    size.snapshots = u64::try_from(snapshots).unwrap_or(0);
    size.changes = u64::try_from(changes).unwrap_or(0);
    size.document_bytes = u64::try_from(snapshot_bytes + change_bytes).unwrap_or(0);
    Ok(size)
}

/// The server's side: counted through its storage (unsealed bytes, each
/// document's `save()`) and in its SQLite file (sealed bytes, pages).
fn server_size(storage: &dyn Storage, db_url: &str) -> Result<ServerSize> {
    let mut size = ServerSize {
        documents: 0,
        changes: 0,
        sealed_change_bytes: 0,
        change_bytes: 0,
        change_pages_bytes: 0,
        database_bytes: 0,
        saved_bytes: 0,
    };
    for child in storage.children()? {
        for key in storage.documents_of_child(child.id)? {
            size.documents += 1;
            let changes = storage.changes_after(&key, 0)?;
            size.changes += changes.len() as u64;
            size.change_bytes += changes.iter().map(|c| c.bytes.len() as u64).sum::<u64>();
            size.saved_bytes += saved_len(&changes)?;
        }
    }
    let path = db_url
        .strip_prefix("sqlite://")
        .ok_or_else(|| HarnessError::Setup(format!("not a SQLite database: {db_url}")))?;
    size.database_bytes = file_len(Path::new(path))?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    size.sealed_change_bytes = conn
        .query_row(
            "SELECT coalesce(sum(length(bytes)), 0) FROM changes",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| u64::try_from(n).unwrap_or(0))?;
    for (name, bytes) in pages_by_name(&conn)? {
        if name == "changes"
            || name.starts_with("changes_")
            || name.starts_with("sqlite_autoindex_changes")
        {
            size.change_pages_bytes += bytes;
        }
    }
    Ok(size)
}

fn saved_len(changes: &[bothy_server::storage::StoredChange]) -> Result<u64> {
    let decoded = changes
        .iter()
        .map(|c| robust::decode_change(&c.bytes))
        .collect::<Result<Vec<Change>, _>>()?;
    let doc = robust::apply_changes(&Automerge::new(), &decoded)?;
    Ok(doc.save().len() as u64)
}
