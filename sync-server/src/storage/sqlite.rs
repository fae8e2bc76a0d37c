//! The default backend: one SQLite file, nothing to install.
//!
//! WAL journal, foreign keys on, `synchronous = FULL`. One write connection
//! (SQLite has one writer anyway; the server calls storage from blocking
//! threads) and a few read-only connections beside it, which WAL lets read
//! committed data while a write is under way. Writes are group-committed:
//! each runs in its own savepoint of a shared transaction, and concurrent
//! writers leave the commit to the last of them, so one fsync makes a whole
//! batch durable; every write still returns only once its batch has
//! committed, and a failed write rolls back alone. The
//! SQL sticks to what PostgreSQL also accepts (`INSERT … ON CONFLICT DO
//! NOTHING`, no `INSERT OR IGNORE`), apart from the schema's
//! `AUTOINCREMENT`, so a PostgreSQL backend can reuse the statements.
//!
//! The workspace builds rusqlite with bundled SQLCipher; opened without a key
//! it is plain SQLite. The server's database holds no record content in the
//! clear beyond what Automerge changes carry, and is protected by the host's
//! disk encryption and file permissions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use bothy_shared::docs::DocKey;
use bothy_shared::ids::{Agency, ChildId, DeviceId, PersonId};
use bothy_shared::policy::{ChildTeam, PersonKind, TeamMember, TeamRole};
use rusqlite::{Connection, DropBehavior, OpenFlags, OptionalExtension, Params, params};
use rusqlite_migration::{M, Migrations};

use super::{
    AuditEntry, AuditEvent, ChangedSince, ChildRecord, DeviceRecord, NewChange, NewDevice,
    NewDocument, PersonRecord, QuarantinedChange, Storage, StorageError, StoredChange, SyncRound,
    UnixSeconds,
};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,            -- practitioner | supervisor | young-person
    agency TEXT,                   -- agency slug; NULL for a young person
    child TEXT                     -- the young person's child
);
CREATE TABLE children (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE team_members (
    child TEXT NOT NULL REFERENCES children(id),
    person TEXT NOT NULL REFERENCES people(id),
    agency TEXT NOT NULL,
    role TEXT NOT NULL,            -- member | lead-professional | named-person
    PRIMARY KEY (child, person)
);
CREATE INDEX team_members_person ON team_members(person);
CREATE TABLE supervisors (
    supervisor TEXT NOT NULL REFERENCES people(id),
    supervisee TEXT NOT NULL REFERENCES people(id),
    PRIMARY KEY (supervisor, supervisee)
);
CREATE TABLE enrol_codes (
    code_hash BLOB PRIMARY KEY,    -- SHA-256 of the normalised code
    person TEXT NOT NULL REFERENCES people(id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    person TEXT NOT NULL REFERENCES people(id),
    name TEXT NOT NULL,
    public_key BLOB NOT NULL,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE nonces (
    device TEXT NOT NULL,
    nonce BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (device, nonce)
);
CREATE INDEX nonces_expiry ON nonces(expires_at);
CREATE TABLE documents (
    doc_key TEXT PRIMARY KEY,
    child TEXT NOT NULL REFERENCES children(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX documents_child ON documents(child);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_key TEXT NOT NULL REFERENCES documents(doc_key),
    hash TEXT NOT NULL,
    actor TEXT NOT NULL,
    device TEXT,                   -- NULL for the server's own changes
    person TEXT,
    bytes BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (doc_key, hash)
);
CREATE INDEX changes_doc_seq ON changes(doc_key, seq);
CREATE TABLE sync_states (
    device TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    state BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device, doc_key)
);
CREATE TABLE device_documents (
    device TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    first_synced_at INTEGER NOT NULL,
    PRIMARY KEY (device, doc_key)
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    child TEXT NOT NULL,
    change_hash TEXT,
    actor TEXT,
    device TEXT,
    person TEXT
);
CREATE INDEX audit_log_child ON audit_log(child, id);
CREATE TABLE quarantine (
    device TEXT NOT NULL,
    person TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    hash TEXT NOT NULL,
    bytes BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device, doc_key, hash)
);
"#,
    // `/v1/changed` reads the log by sequence number: a covering index keeps
    // it off the change bytes. A child's young person is found by child.
    r#"
CREATE INDEX changes_seq_doc_device ON changes(seq, doc_key, device);
CREATE INDEX people_child ON people(child);
"#,
];

/// The SQLite backend.
pub struct SqliteStorage {
    writer: Mutex<Writer>,
    /// Writers waiting for the write connection. A writer that finds others
    /// waiting leaves its batch open for them and lets the last one commit,
    /// so concurrent writers share one fsync (group commit).
    queued: AtomicUsize,
    /// How far the batches have got, for writers waiting on a commit.
    finished: Mutex<Finished>,
    committed: Condvar,
    /// Read-only connections (WAL lets readers run beside the writer and see
    /// only committed data). Empty for an in-memory database, whose readers
    /// use the write connection, where every write commits at once.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

/// The write connection and the batch (one SQLite transaction) open on it.
struct Writer {
    conn: Connection,
    /// The number of the open batch, if a transaction is open.
    open: Option<Batch>,
    last_batch: u64,
}

struct Batch {
    number: u64,
    jobs: usize,
    began: Instant,
}

#[derive(Default)]
struct Finished {
    /// Every batch up to this number has committed or failed.
    through: u64,
    /// Recent batches whose commit failed, with why.
    failed: BTreeMap<u64, String>,
}

/// Prepared statements kept per connection (the server uses about thirty).
const STATEMENT_CACHE: usize = 64;
/// Read connections beside the writer (file databases only).
const READERS: usize = 4;
/// A batch commits once it holds this many writes, or has been open this
/// long, even if more writers are waiting: waiting is bounded.
const MAX_BATCH_JOBS: usize = 128;
const MAX_BATCH_AGE: Duration = Duration::from_millis(20);
/// How many failed batch numbers are remembered for their waiters.
const FAILED_KEPT: usize = 64;

fn backend(e: rusqlite::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves the connection usable (a write's
    // savepoint is rolled back and its batch finished before the panic
    // resumes, a read's transaction rolls back on drop), so a poisoned lock
    // is recovered rather than taking the server down.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SqliteStorage {
    /// Open (creating if needed) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let conn = Connection::open(path).map_err(backend)?;
        let mut storage = Self::init(conn, true)?;
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(backend)?;
            reader
                .busy_timeout(Duration::from_secs(5))
                .map_err(backend)?;
            reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            storage.readers.push(Mutex::new(reader));
        }
        Ok(storage)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Self, StorageError> {
        let conn = Connection::open_in_memory().map_err(backend)?;
        Self::init(conn, false)
    }

    fn init(mut conn: Connection, wal: bool) -> Result<Self, StorageError> {
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(backend)?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(backend)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        migrations
            .to_latest(&mut conn)
            .map_err(|e| StorageError::Migration(e.to_string()))?;
        Ok(SqliteStorage {
            writer: Mutex::new(Writer {
                conn,
                open: None,
                last_batch: 0,
            }),
            queued: AtomicUsize::new(0),
            finished: Mutex::new(Finished::default()),
            committed: Condvar::new(),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Run `f` as one write, atomically: in a savepoint of the open batch,
    /// rolled back alone if `f` fails. Returns once the batch holding it has
    /// committed (durably: WAL with `synchronous = FULL`), so a caller never
    /// answers for a write that a power cut could still take back.
    fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut writer = lock(&self.writer);
        self.queued.fetch_sub(1, Ordering::SeqCst);

        let w = &mut *writer;
        if w.open.is_none() {
            w.conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
            w.last_batch += 1;
        }
        let number = w.last_batch;
        let batch = w.open.get_or_insert_with(|| Batch {
            number,
            jobs: 0,
            began: Instant::now(),
        });
        batch.jobs += 1;
        let (number, jobs, began) = (batch.number, batch.jobs, batch.began);

        // From here on the batch must be finished whatever `f` does: other
        // writers may have left it open for this one to commit.
        let mut panicked = None;
        let outcome = match w.conn.savepoint() {
            Err(e) => Err(backend(e)),
            Ok(mut savepoint) => {
                savepoint.set_drop_behavior(DropBehavior::Rollback);
                match panic::catch_unwind(AssertUnwindSafe(|| f(&savepoint))) {
                    Ok(Ok(value)) => savepoint.commit().map(|()| value).map_err(backend),
                    // Dropping the savepoint rolls back this write alone.
                    Ok(Err(e)) => Err(e),
                    Err(payload) => {
                        panicked = Some(payload);
                        Err(StorageError::Backend("a storage write panicked".to_owned()))
                    }
                }
            }
        };
        let durable = self.finish_batch(writer, number, jobs, began, outcome.is_ok());
        if let Some(payload) = panicked {
            panic::resume_unwind(payload);
        }
        let value = outcome?;
        durable?;
        Ok(value)
    }

    /// Commit the open batch now, unless other writers are waiting to join
    /// it (and it is neither full nor old): then leave it to them and, if
    /// `wait`, wait until it has committed.
    fn finish_batch(
        &self,
        mut writer: MutexGuard<'_, Writer>,
        number: u64,
        jobs: usize,
        began: Instant,
        wait: bool,
    ) -> Result<(), StorageError> {
        let grouping = !self.readers.is_empty();
        if grouping
            && self.queued.load(Ordering::SeqCst) > 0
            && jobs < MAX_BATCH_JOBS
            && began.elapsed() < MAX_BATCH_AGE
        {
            // A queued writer is blocked on the writer lock: it will join this
            // batch and make the same choice, so the last one commits.
            drop(writer);
            return if wait { self.wait_for(number) } else { Ok(()) };
        }
        let w = &mut *writer;
        let committed = w.conn.execute_batch("COMMIT").map_err(backend);
        if committed.is_err() {
            // Best effort: a failed COMMIT may leave the transaction open.
            let _ = w.conn.execute_batch("ROLLBACK");
        }
        w.open = None;
        {
            // Published before the writer lock is let go, so batches finish in order.
            let mut finished = lock(&self.finished);
            finished.through = number;
            if let Err(e) = &committed {
                finished.failed.insert(number, e.to_string());
                while finished.failed.len() > FAILED_KEPT {
                    finished.failed.pop_first();
                }
            }
        }
        self.committed.notify_all();
        drop(writer);
        committed
    }

    fn wait_for(&self, number: u64) -> Result<(), StorageError> {
        let mut finished = lock(&self.finished);
        while finished.through < number {
            finished = self
                .committed
                .wait(finished)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        match finished.failed.get(&number) {
            Some(e) => Err(StorageError::Backend(format!("commit failed: {e}"))),
            None => Ok(()),
        }
    }

    /// Run `f` in a read transaction: one consistent snapshot of committed data.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if self.readers.is_empty() {
            let mut writer = lock(&self.writer);
            let tx = writer.conn.transaction().map_err(backend)?;
            return f(&tx);
        }
        // An idle write connection (no batch open) has the warmest cache;
        // the read connections drop theirs after every commit. Never inside an open
        // batch, which holds writes not committed yet.
        if let Ok(mut writer) = self.writer.try_lock()
            && writer.open.is_none()
        {
            let tx = writer.conn.transaction().map_err(backend)?;
            return f(&tx);
        }
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let mut reader = (0..n)
            .find_map(|i| self.readers[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| lock(&self.readers[start % n]));
        let tx = reader.transaction().map_err(backend)?;
        f(&tx)
    }
}

/// `Connection::query_row` through the connection's statement cache: the
/// server runs the same few statements over and over.
fn query_row_cached<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// `Connection::execute` through the connection's statement cache.
fn execute_cached<P: Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

// ---------------------------------------------------------------- value mapping

pub(super) fn kind_str(kind: &PersonKind) -> (&'static str, Option<ChildId>) {
    match kind {
        PersonKind::Practitioner => ("practitioner", None),
        PersonKind::Supervisor => ("supervisor", None),
        PersonKind::YoungPerson { child } => ("young-person", Some(*child)),
    }
}

pub(super) fn parse_kind(kind: &str, child: Option<String>) -> Result<PersonKind, StorageError> {
    match (kind, child) {
        ("practitioner", _) => Ok(PersonKind::Practitioner),
        ("supervisor", _) => Ok(PersonKind::Supervisor),
        ("young-person", Some(child)) => Ok(PersonKind::YoungPerson {
            child: parse(&child)?,
        }),
        (other, _) => Err(StorageError::Corrupt(format!("person kind `{other}`"))),
    }
}

pub(super) fn parse_role(s: &str) -> Result<TeamRole, StorageError> {
    TeamRole::from_slug(s).ok_or_else(|| StorageError::Corrupt(format!("team role `{s}`")))
}

pub(super) fn parse<T: std::str::FromStr>(s: &str) -> Result<T, StorageError> {
    s.parse().map_err(|_| {
        StorageError::Corrupt(format!("`{s}` in a {} column", std::any::type_name::<T>()))
    })
}

pub(super) fn hash_hex(h: &ChangeHash) -> String {
    hex::encode(h.0)
}

pub(super) fn parse_hash(s: &str) -> Result<ChangeHash, StorageError> {
    hex::decode(s)
        .ok()
        .and_then(|bytes| ChangeHash::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| StorageError::Corrupt(format!("change hash `{s}`")))
}

pub(super) fn seq_u64(seq: i64) -> Result<u64, StorageError> {
    u64::try_from(seq).map_err(|_| StorageError::Corrupt(format!("negative sequence {seq}")))
}

pub(super) fn seq_i64(seq: u64) -> i64 {
    // Sequences come from SQLite rowids or PostgreSQL's BIGINT counter, so
    // they fit; a cursor from a client
    // beyond i64 clamps to "after everything".
    i64::try_from(seq).unwrap_or(i64::MAX)
}

type PersonRow = (String, String, String, Option<String>, Option<String>);

fn person_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PersonRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn person_record((id, name, kind, agency, child): PersonRow) -> Result<PersonRecord, StorageError> {
    Ok(PersonRecord {
        id: parse(&id)?,
        name,
        kind: parse_kind(&kind, child)?,
        agency: agency.map(|a| parse::<Agency>(&a)).transpose()?,
    })
}

type DeviceRow = (String, String, String, Vec<u8>, i64, Option<i64>);

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn device_record(
    (id, person, name, public_key, enrolled_at, revoked_at): DeviceRow,
) -> Result<DeviceRecord, StorageError> {
    Ok(DeviceRecord {
        id: parse(&id)?,
        person: parse(&person)?,
        name,
        public_key,
        enrolled_at,
        revoked_at,
    })
}

const DEVICE_COLUMNS: &str = "id, person, name, public_key, enrolled_at, revoked_at";

fn audit(
    tx: &Connection,
    at: UnixSeconds,
    event: AuditEvent,
    key: &DocKey,
    change: Option<&NewChange>,
    device: Option<DeviceId>,
    person: Option<PersonId>,
) -> Result<(), StorageError> {
    execute_cached(
        tx,
        "INSERT INTO audit_log (at, event, doc_key, child, change_hash, actor, device, person)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            at,
            event.as_str(),
            key.to_string(),
            key.child().to_string(),
            change.map(|c| hash_hex(&c.hash)),
            change.map(|c| c.actor.to_hex_string()),
            device.map(|d| d.to_string()),
            person.map(|p| p.to_string()),
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// Insert changes that are not stored yet; returns the ones that were new.
fn insert_changes<'c>(
    tx: &Connection,
    key: &DocKey,
    changes: &'c [NewChange],
    device: Option<DeviceId>,
    person: Option<PersonId>,
    at: UnixSeconds,
) -> Result<Vec<&'c NewChange>, StorageError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO changes (doc_key, hash, actor, device, person, bytes, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (doc_key, hash) DO NOTHING",
        )
        .map_err(backend)?;
    let mut fresh = Vec::new();
    for c in changes {
        let n = stmt
            .execute(params![
                key.to_string(),
                hash_hex(&c.hash),
                c.actor.to_hex_string(),
                device.map(|d| d.to_string()),
                person.map(|p| p.to_string()),
                c.bytes,
                at,
            ])
            .map_err(backend)?;
        if n == 1 {
            fresh.push(c);
        }
    }
    Ok(fresh)
}

fn create_documents(
    tx: &Connection,
    child: ChildId,
    documents: &[NewDocument],
    at: UnixSeconds,
) -> Result<(), StorageError> {
    for doc in documents {
        if doc.key.child() != child {
            return Err(StorageError::Corrupt(format!(
                "document {} is not of child {child}",
                doc.key
            )));
        }
        let n = execute_cached(
            tx,
            "INSERT INTO documents (doc_key, child, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_key) DO NOTHING",
            params![doc.key.to_string(), child.to_string(), at],
        )
        .map_err(backend)?;
        if n == 1 {
            insert_changes(tx, &doc.key, &doc.changes, None, None, at)?;
            audit(
                tx,
                at,
                AuditEvent::DocumentCreated,
                &doc.key,
                None,
                None,
                None,
            )?;
        }
    }
    Ok(())
}

impl Storage for SqliteStorage {
    fn add_person(&self, person: &PersonRecord) -> Result<(), StorageError> {
        self.write(|tx| {
            let (kind, child) = kind_str(&person.kind);
            let n = execute_cached(
                tx,
                "INSERT INTO people (id, name, kind, agency, child) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (id) DO NOTHING",
                params![
                    person.id.to_string(),
                    person.name,
                    kind,
                    person.agency.map(|a| a.as_str()),
                    child.map(|c| c.to_string())
                ],
            )
            .map_err(backend)?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: format!("person {}", person.id),
                });
            }
            Ok(())
        })
    }

    fn person(&self, id: PersonId) -> Result<Option<PersonRecord>, StorageError> {
        self.read(|tx| {
            query_row_cached(
                tx,
                "SELECT id, name, kind, agency, child FROM people WHERE id = ?1",
                params![id.to_string()],
                person_from_row,
            )
            .optional()
            .map_err(backend)?
            .map(person_record)
            .transpose()
        })
    }

    fn people(&self) -> Result<Vec<PersonRecord>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare("SELECT id, name, kind, agency, child FROM people ORDER BY name, id")
                .map_err(backend)?;
            let rows = stmt.query_map([], person_from_row).map_err(backend)?;
            rows.map(|r| person_record(r.map_err(backend)?)).collect()
        })
    }

    fn add_child(
        &self,
        child: &ChildRecord,
        documents: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.write(|tx| {
            let n = execute_cached(
                tx,
                "INSERT INTO children (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![child.id.to_string(), child.name],
            )
            .map_err(backend)?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: format!("child {}", child.id),
                });
            }
            create_documents(tx, child.id, documents, at)
        })
    }

    fn child(&self, id: ChildId) -> Result<Option<ChildRecord>, StorageError> {
        self.read(|tx| {
            query_row_cached(
                tx,
                "SELECT id, name FROM children WHERE id = ?1",
                params![id.to_string()],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(backend)?
            .map(|(id, name)| {
                Ok(ChildRecord {
                    id: parse(&id)?,
                    name,
                })
            })
            .transpose()
        })
    }

    fn children(&self) -> Result<Vec<ChildRecord>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare("SELECT id, name FROM children ORDER BY name, id")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (id, name) = r.map_err(backend)?;
                Ok(ChildRecord {
                    id: parse(&id)?,
                    name,
                })
            })
            .collect()
        })
    }

    fn set_team_member(
        &self,
        child: ChildId,
        person: PersonId,
        member: TeamMember,
        new_documents: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.write(|tx| {
            let exists = |table: &str, id: String| -> Result<bool, StorageError> {
                query_row_cached(tx, &format!("SELECT 1 FROM {table} WHERE id = ?1"), params![id], |_| Ok(()))
                    .optional()
                    .map(|o| o.is_some())
                    .map_err(backend)
            };
            if !exists("children", child.to_string())? {
                return Err(StorageError::NotFound { what: format!("child {child}") });
            }
            if !exists("people", person.to_string())? {
                return Err(StorageError::NotFound { what: format!("person {person}") });
            }
            execute_cached(tx,
                "INSERT INTO team_members (child, person, agency, role) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (child, person) DO UPDATE SET agency = excluded.agency, role = excluded.role",
                params![child.to_string(), person.to_string(), member.agency.as_str(), member.role.as_str()],
            )
            .map_err(backend)?;
            create_documents(tx, child, new_documents, at)
        })
    }

    fn remove_team_member(&self, child: ChildId, person: PersonId) -> Result<bool, StorageError> {
        self.write(|tx| {
            let n = execute_cached(
                tx,
                "DELETE FROM team_members WHERE child = ?1 AND person = ?2",
                params![child.to_string(), person.to_string()],
            )
            .map_err(backend)?;
            Ok(n > 0)
        })
    }

    fn team(&self, child: ChildId) -> Result<ChildTeam, StorageError> {
        self.read(|tx| {
            let known = query_row_cached(tx, "SELECT 1 FROM children WHERE id = ?1", params![child.to_string()], |_| Ok(()))
                .optional()
                .map_err(backend)?;
            if known.is_none() {
                return Err(StorageError::NotFound { what: format!("child {child}") });
            }
            let mut stmt = tx
                .prepare_cached("SELECT person, agency, role FROM team_members WHERE child = ?1")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![child.to_string()], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
                })
                .map_err(backend)?;
            let mut members = BTreeMap::new();
            for row in rows {
                let (person, agency, role) = row.map_err(backend)?;
                members.insert(parse(&person)?, TeamMember { agency: parse(&agency)?, role: parse_role(&role)? });
            }
            let young_person = query_row_cached(tx,
                    "SELECT id FROM people WHERE kind = 'young-person' AND child = ?1 ORDER BY id LIMIT 1",
                    params![child.to_string()],
                    |row| row.get::<_, String>(0),
                )
                .optional()
                .map_err(backend)?
                .map(|id| parse(&id))
                .transpose()?;
            Ok(ChildTeam { child, members, young_person })
        })
    }

    fn children_with_members(
        &self,
        people: &BTreeSet<PersonId>,
    ) -> Result<Vec<ChildId>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare_cached("SELECT DISTINCT child FROM team_members WHERE person = ?1")
                .map_err(backend)?;
            let mut out = BTreeSet::new();
            for p in people {
                let rows = stmt
                    .query_map(params![p.to_string()], |row| row.get::<_, String>(0))
                    .map_err(backend)?;
                for r in rows {
                    out.insert(parse::<ChildId>(&r.map_err(backend)?)?);
                }
            }
            Ok(out.into_iter().collect())
        })
    }

    fn set_supervisor(
        &self,
        supervisor: PersonId,
        supervisee: PersonId,
    ) -> Result<(), StorageError> {
        self.write(|tx| {
            for p in [supervisor, supervisee] {
                let known = query_row_cached(tx, "SELECT 1 FROM people WHERE id = ?1", params![p.to_string()], |_| Ok(()))
                    .optional()
                    .map_err(backend)?;
                if known.is_none() {
                    return Err(StorageError::NotFound { what: format!("person {p}") });
                }
            }
            execute_cached(tx,
                "INSERT INTO supervisors (supervisor, supervisee) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![supervisor.to_string(), supervisee.to_string()],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn supervisees(&self, supervisor: PersonId) -> Result<BTreeSet<PersonId>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare_cached("SELECT supervisee FROM supervisors WHERE supervisor = ?1")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![supervisor.to_string()], |row| {
                    row.get::<_, String>(0)
                })
                .map_err(backend)?;
            rows.map(|r| parse(&r.map_err(backend)?)).collect()
        })
    }

    fn add_enrol_code(
        &self,
        code_hash: &[u8],
        person: PersonId,
        expires_at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.write(|tx| {
            execute_cached(
                tx,
                "INSERT INTO enrol_codes (code_hash, person, expires_at) VALUES (?1, ?2, ?3)",
                params![code_hash, person.to_string(), expires_at],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StorageError::NotFound {
                        what: format!("person {person}"),
                    }
                }
                e => backend(e),
            })?;
            Ok(())
        })
    }

    fn redeem_enrol_code(
        &self,
        code_hash: &[u8],
        now: UnixSeconds,
        device: &NewDevice,
    ) -> Result<Option<DeviceRecord>, StorageError> {
        self.write(|tx| {
            let person: Option<String> = query_row_cached(tx,
                    "UPDATE enrol_codes SET used_at = ?2
                     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING person",
                    params![code_hash, now],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(person) = person else { return Ok(None) };
            let n = execute_cached(tx,
                    "INSERT INTO devices (id, person, name, public_key, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (id) DO NOTHING",
                    params![device.id.to_string(), person, device.name, device.public_key, now],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StorageError::AlreadyExists { what: format!("device {}", device.id) });
            }
            Ok(Some(DeviceRecord {
                id: device.id,
                person: parse(&person)?,
                name: device.name.clone(),
                public_key: device.public_key.clone(),
                enrolled_at: now,
                revoked_at: None,
            }))
        })
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StorageError> {
        self.read(|tx| {
            query_row_cached(
                tx,
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                params![id.to_string()],
                device_from_row,
            )
            .optional()
            .map_err(backend)?
            .map(device_record)
            .transpose()
        })
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, id"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([], device_from_row).map_err(backend)?;
            rows.map(|r| device_record(r.map_err(backend)?)).collect()
        })
    }

    fn revoke_device(&self, id: DeviceId, at: UnixSeconds) -> Result<bool, StorageError> {
        self.write(|tx| {
            let n = execute_cached(
                tx,
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id.to_string(), at],
            )
            .map_err(backend)?;
            Ok(n > 0)
        })
    }

    fn remember_nonce(
        &self,
        device: DeviceId,
        nonce: &[u8],
        expires_at: UnixSeconds,
        now: UnixSeconds,
    ) -> Result<bool, StorageError> {
        self.write(|tx| {
            execute_cached(tx, "DELETE FROM nonces WHERE expires_at < ?1", params![now])
                .map_err(backend)?;
            let n = execute_cached(
                tx,
                "INSERT INTO nonces (device, nonce, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (device, nonce) DO NOTHING",
                params![device.to_string(), nonce, expires_at],
            )
            .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn document_exists(&self, key: &DocKey) -> Result<bool, StorageError> {
        self.read(|tx| {
            query_row_cached(
                tx,
                "SELECT 1 FROM documents WHERE doc_key = ?1",
                params![key.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(backend)
        })
    }

    fn documents_of_child(&self, child: ChildId) -> Result<Vec<DocKey>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare_cached("SELECT doc_key FROM documents WHERE child = ?1 ORDER BY doc_key")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![child.to_string()], |row| row.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| parse(&r.map_err(backend)?)).collect()
        })
    }

    fn changes_after(&self, key: &DocKey, after: u64) -> Result<Vec<StoredChange>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, hash, bytes FROM changes WHERE doc_key = ?1 AND seq > ?2 ORDER BY seq",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![key.to_string(), seq_i64(after)], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (seq, hash, bytes) = r.map_err(backend)?;
                Ok(StoredChange {
                    seq: seq_u64(seq)?,
                    hash: parse_hash(&hash)?,
                    bytes,
                })
            })
            .collect()
        })
    }

    fn changed_among(
        &self,
        cursor: u64,
        device: DeviceId,
        among: &BTreeSet<DocKey>,
    ) -> Result<ChangedSince, StorageError> {
        self.read(|tx| {
            let high_water: i64 =
                query_row_cached(tx, "SELECT COALESCE(MAX(seq), 0) FROM changes", [], |row| {
                    row.get(0)
                })
                .map_err(backend)?;
            // One range of the (doc_key, seq) index per document.
            let mut stmt = tx
                .prepare_cached(
                    "SELECT MAX(seq) FROM changes
                     WHERE doc_key = ?1 AND seq > ?2 AND seq <= ?3 AND (device IS NULL OR device <> ?4)",
                )
                .map_err(backend)?;
            let device = device.to_string();
            let mut documents = Vec::new();
            for key in among {
                let seq: Option<i64> = stmt
                    .query_row(
                        params![key.to_string(), seq_i64(cursor), high_water, device],
                        |row| row.get(0),
                    )
                    .map_err(backend)?;
                if let Some(seq) = seq {
                    documents.push((*key, seq_u64(seq)?));
                }
            }
            Ok(ChangedSince {
                high_water: seq_u64(high_water)?,
                documents,
            })
        })
    }

    fn sync_state(&self, device: DeviceId, key: &DocKey) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|tx| {
            query_row_cached(
                tx,
                "SELECT state FROM sync_states WHERE device = ?1 AND doc_key = ?2",
                params![device.to_string(), key.to_string()],
                |row| row.get(0),
            )
            .optional()
            .map_err(backend)
        })
    }

    fn commit_sync_rounds(&self, rounds: &[SyncRound]) -> Result<(), StorageError> {
        self.write(|tx| rounds.iter().try_for_each(|round| commit_round(tx, round)))
    }

    fn synced_documents(&self, device: DeviceId) -> Result<Vec<DocKey>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT doc_key FROM device_documents WHERE device = ?1 ORDER BY doc_key",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![device.to_string()], |row| row.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| parse(&r.map_err(backend)?)).collect()
        })
    }

    fn forget_synced_documents(
        &self,
        device: DeviceId,
        keys: &[DocKey],
    ) -> Result<(), StorageError> {
        self.write(|tx| {
            for key in keys {
                let params = params![device.to_string(), key.to_string()];
                execute_cached(
                    tx,
                    "DELETE FROM device_documents WHERE device = ?1 AND doc_key = ?2",
                    params,
                )
                .map_err(backend)?;
                execute_cached(
                    tx,
                    "DELETE FROM sync_states WHERE device = ?1 AND doc_key = ?2",
                    params,
                )
                .map_err(backend)?;
            }
            Ok(())
        })
    }

    fn quarantine(
        &self,
        device: DeviceId,
        person: PersonId,
        key: &DocKey,
        changes: &[NewChange],
        at: UnixSeconds,
    ) -> Result<u64, StorageError> {
        self.write(|tx| {
            let mut fresh = 0;
            for c in changes {
                let n = execute_cached(
                    tx,
                    "INSERT INTO quarantine (device, person, doc_key, hash, bytes, received_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (device, doc_key, hash) DO NOTHING",
                    params![
                        device.to_string(),
                        person.to_string(),
                        key.to_string(),
                        hash_hex(&c.hash),
                        c.bytes,
                        at
                    ],
                )
                .map_err(backend)?;
                if n == 1 {
                    fresh += 1;
                    audit(
                        tx,
                        at,
                        AuditEvent::ChangeQuarantined,
                        key,
                        Some(c),
                        Some(device),
                        Some(person),
                    )?;
                }
            }
            Ok(fresh)
        })
    }

    fn quarantined(&self) -> Result<Vec<QuarantinedChange>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare("SELECT device, person, doc_key, bytes, received_at FROM quarantine ORDER BY received_at, device")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Vec<u8>>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (device, person, key, bytes, received_at) = r.map_err(backend)?;
                Ok(QuarantinedChange {
                    device: parse(&device)?,
                    person: parse(&person)?,
                    document: parse(&key)?,
                    bytes,
                    received_at,
                })
            })
            .collect()
        })
    }

    fn audit_of_child(&self, child: ChildId) -> Result<Vec<AuditEntry>, StorageError> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT at, event, doc_key, change_hash, actor, device, person FROM audit_log
                     WHERE child = ?1 ORDER BY id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![child.to_string()], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<String>>(6)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (at, event, key, change, actor, device, person) = r.map_err(backend)?;
                Ok(AuditEntry {
                    at,
                    event: AuditEvent::parse(&event)
                        .ok_or_else(|| StorageError::Corrupt(format!("audit event `{event}`")))?,
                    document: parse(&key)?,
                    change,
                    actor,
                    device: device.map(|d| parse(&d)).transpose()?,
                    person: person.map(|p| parse(&p)).transpose()?,
                })
            })
            .collect()
        })
    }
}

/// One [`SyncRound`] inside the write of [`Storage::commit_sync_rounds`].
fn commit_round(tx: &Connection, round: &SyncRound) -> Result<(), StorageError> {
    let key = round.key.to_string();
    let known = query_row_cached(
        tx,
        "SELECT 1 FROM documents WHERE doc_key = ?1",
        params![key],
        |_| Ok(()),
    )
    .optional()
    .map_err(backend)?;
    if known.is_none() {
        return Err(StorageError::NotFound {
            what: format!("document {key}"),
        });
    }
    let fresh = insert_changes(
        tx,
        &round.key,
        &round.accepted,
        Some(round.device),
        Some(round.person),
        round.at,
    )?;
    for (event, change) in round.audit_events(fresh) {
        audit(
            tx,
            round.at,
            event,
            &round.key,
            change,
            Some(round.device),
            Some(round.person),
        )?;
    }
    execute_cached(tx,
        "INSERT INTO sync_states (device, doc_key, state, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device, doc_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        params![round.device.to_string(), key, round.sync_state, round.at],
    )
    .map_err(backend)?;
    execute_cached(
        tx,
        "INSERT INTO device_documents (device, doc_key, first_synced_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (device, doc_key) DO NOTHING",
        params![round.device.to_string(), key, round.at],
    )
    .map_err(backend)?;
    Ok(())
}
