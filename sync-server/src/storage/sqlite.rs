//! The default backend: one SQLite file, nothing to install.
//!
//! WAL journal, foreign keys on, `synchronous = FULL`. One write connection
//! (SQLite has one writer anyway; the server calls storage from blocking
//! threads) and a few read-only connections beside it, which WAL lets read
//! committed data while a write is under way. Writes are group-committed:
//! each runs in its own savepoint of a shared transaction, and concurrent
//! writers leave the commit to the last of them, so one fsync makes a whole
//! batch durable; every write still returns only once its batch has
//! committed, and a failed write rolls back alone.
//!
//! This module holds the SQL and the connections only: the schema is the
//! migration files of `migrations/sqlite/`, and the row codecs and the
//! rules of each write (existence checks, creating documents, auditing)
//! are [`super::rows`], shared with PostgreSQL.
//!
//! The workspace builds rusqlite with bundled SQLCipher; opened without a key
//! it is plain SQLite. What people wrote reaches it sealed (see
//! [`super::keys`]: [`super::open`] wraps this backend); the directory is
//! in the clear, protected by the host's disk encryption and file
//! permissions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bothy_shared::docs::{DocKey, IsoDate};
use bothy_shared::ids::{Agency, ChildId, DeviceId, ItemId, PersonId, RequestId};
use bothy_shared::policy::{ChildTeam, TeamMember, TeamRole};
use bothy_shared::team::TeamEffect;
use bothy_shared::wire::KeptReason;
use rusqlite::{Connection, DropBehavior, OpenFlags, OptionalExtension, Params, params};
use rusqlite_migration::{M, Migrations};

use super::rows::{self, AuditValues, Author, Columns, Entity, TeamChangeValues, Tx};
use super::{
    AuditEntry, CaseExport, ChangedSince, ChildRecord, ClosedCase, DeviceRecord, DocumentReads,
    Erased, ErasureRecord, MayRead, NewChange, NewDevice, NewDocument, NewRefusedChange,
    PersonRecord, QuarantinedChange, RefusedChange, RequestRecord, Storage, StorageError,
    StoredChange, SyncReads, SyncRound, TeamChangeRecord, UnixSeconds,
};

/// The schema, one file per migration. rusqlite_migration counts the
/// applied ones in `PRAGMA user_version`, so a file once released is never
/// edited or reordered: a change to the schema is a new file at the end.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/01_schema.sql"),
    include_str!("../../migrations/sqlite/02_changed_and_young_person_indexes.sql"),
    include_str!("../../migrations/sqlite/03_refused_changes.sql"),
    include_str!("../../migrations/sqlite/04_requests_for_help.sql"),
    include_str!("../../migrations/sqlite/05_team_changes_and_kept_work.sql"),
    include_str!("../../migrations/sqlite/06_keys_erasure_and_closing.sql"),
    include_str!("../../migrations/sqlite/07_case_exports.sql"),
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
    failed: BTreeMap<u64, Arc<rusqlite::Error>>,
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
        let conn = Connection::open(path)?;
        let mut storage = Self::init(conn, true)?;
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            reader.busy_timeout(Duration::from_secs(5))?;
            reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            storage.readers.push(Mutex::new(reader));
        }
        Ok(storage)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Self, StorageError> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, false)
    }

    fn init(mut conn: Connection, wal: bool) -> Result<Self, StorageError> {
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Foreign keys are off while migrations run (a migration that
        // rebuilds a table needs it; SQLite ignores the pragma inside the
        // transaction each runs in), and checked after each one.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        let migrations = Migrations::new(
            MIGRATIONS
                .iter()
                .map(|sql| M::up(sql).foreign_key_check())
                .collect(),
        );
        migrations
            .to_latest(&mut conn)
            .map_err(StorageError::SqliteMigration)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
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
            w.conn.execute_batch("BEGIN IMMEDIATE")?;
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
        let outcome = match w.conn.savepoint() {
            Err(e) => Ok(Err(StorageError::from(e))),
            Ok(mut savepoint) => {
                savepoint.set_drop_behavior(DropBehavior::Rollback);
                // A failure or a panic drops the savepoint, which rolls back
                // this write alone.
                panic::catch_unwind(AssertUnwindSafe(|| f(&savepoint))).map(|written| {
                    written.and_then(|value| Ok(savepoint.commit().map(|()| value)?))
                })
            }
        };
        let written = matches!(outcome, Ok(Ok(_)));
        let durable = self.finish_batch(writer, number, jobs, began, written);
        let value = match outcome {
            Ok(written) => written?,
            Err(payload) => panic::resume_unwind(payload),
        };
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
        let committed = w.conn.execute_batch("COMMIT").map_err(Arc::new);
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
                finished.failed.insert(number, Arc::clone(e));
                while finished.failed.len() > FAILED_KEPT {
                    finished.failed.pop_first();
                }
            }
        }
        self.committed.notify_all();
        drop(writer);
        committed.map_err(StorageError::BatchCommit)
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
            Some(e) => Err(StorageError::BatchCommit(Arc::clone(e))),
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
            let tx = writer.conn.transaction()?;
            return f(&tx);
        }
        // An idle write connection (no batch open) has the warmest cache;
        // the read connections drop theirs after every commit. Never inside an open
        // batch, which holds writes not committed yet.
        if let Ok(mut writer) = self.writer.try_lock()
            && writer.open.is_none()
        {
            let tx = writer.conn.transaction()?;
            return f(&tx);
        }
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let mut reader = (0..n)
            .find_map(|i| self.readers[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| lock(&self.readers[start % n]));
        let tx = reader.transaction()?;
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

/// All rows of a cached statement, each decoded by `decode`.
fn query_all<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// The first row of a cached statement, if any, decoded by `decode`.
fn query_opt<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    decode: impl FnOnce(&rusqlite::Row<'_>) -> Result<T, StorageError>,
) -> Result<Option<T>, StorageError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(decode).transpose()
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String, StorageError> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StorageError> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, StorageError> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StorageError> {
        Ok(self.get(i)?)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StorageError> {
        Ok(self.get(i)?)
    }
}

/// A connection inside a write (or a read, for [`Tx::exists`]).
struct Sql<'c>(&'c Connection);

impl Tx for Sql<'_> {
    type Error = StorageError;

    fn exists(&mut self, what: Entity) -> Result<bool, StorageError> {
        let sql = match what {
            Entity::Child(_) => "SELECT 1 FROM children WHERE id = ?1",
            Entity::Person(_) => "SELECT 1 FROM people WHERE id = ?1",
            Entity::Document(_) => "SELECT 1 FROM documents WHERE doc_key = ?1",
        };
        Ok(
            query_row_cached(self.0, sql, params![what.id()], |_| Ok(()))
                .optional()?
                .is_some(),
        )
    }

    fn insert_document(&mut self, key: &DocKey, at: UnixSeconds) -> Result<bool, StorageError> {
        let n = execute_cached(
            self.0,
            "INSERT INTO documents (doc_key, child, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (doc_key) DO NOTHING",
            params![key.to_string(), rows::document_child(key), at],
        )?;
        Ok(n == 1)
    }

    fn insert_changes<'c>(
        &mut self,
        key: &DocKey,
        changes: &'c [NewChange],
        by: Option<Author>,
        at: UnixSeconds,
    ) -> Result<Vec<&'c NewChange>, StorageError> {
        let mut stmt = self.0.prepare_cached(
            "INSERT INTO changes (doc_key, hash, actor, device, person, bytes, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (doc_key, hash) DO NOTHING",
        )?;
        let (key, device, person) = (
            key.to_string(),
            by.map(|a| a.device.to_string()),
            by.map(|a| a.person.to_string()),
        );
        let mut fresh = Vec::new();
        for c in changes {
            let n = stmt.execute(params![
                key,
                rows::hash_hex(&c.hash),
                c.actor.to_hex_string(),
                device,
                person,
                c.bytes,
                at,
            ])?;
            if n == 1 {
                fresh.push(c);
            }
        }
        Ok(fresh)
    }

    fn save_sync_state(&mut self, round: &SyncRound) -> Result<(), StorageError> {
        let (device, key) = (round.device.to_string(), round.key.to_string());
        execute_cached(
            self.0,
            "INSERT INTO sync_states (device, doc_key, state, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device, doc_key)
             DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            params![device, key, round.sync_state, round.at],
        )?;
        execute_cached(
            self.0,
            "INSERT INTO device_documents (device, doc_key, first_synced_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (device, doc_key) DO NOTHING",
            params![device, key, round.at],
        )?;
        Ok(())
    }

    fn refused_kept(&mut self, r: &NewRefusedChange) -> Result<(bool, u64), StorageError> {
        let device = r.device.to_string();
        let already = query_row_cached(
            self.0,
            "SELECT count(*) FROM refused_changes WHERE device = ?1 AND doc_key = ?2 AND hash = ?3",
            params![device, r.key.to_string(), rows::hash_hex(&r.change.hash)],
            |row| row.get::<_, i64>(0),
        )?;
        let count = query_row_cached(
            self.0,
            "SELECT count(*) FROM refused_changes WHERE device = ?1",
            params![device],
            |row| row.get::<_, i64>(0),
        )?;
        Ok((already > 0, u64::try_from(count).unwrap_or(0)))
    }

    fn insert_refused(&mut self, r: &NewRefusedChange) -> Result<(), StorageError> {
        execute_cached(
            self.0,
            "INSERT INTO refused_changes (device, person, doc_key, hash, rule, path, bytes, refused_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (device, doc_key, hash) DO NOTHING",
            params![
                r.device.to_string(),
                r.person.to_string(),
                r.key.to_string(),
                rows::hash_hex(&r.change.hash),
                r.rule,
                r.path,
                r.change.bytes,
                r.at
            ],
        )?;
        Ok(())
    }

    fn insert_quarantined(
        &mut self,
        by: Author,
        key: &DocKey,
        change: &NewChange,
        reason: KeptReason,
        at: UnixSeconds,
    ) -> Result<bool, StorageError> {
        let n = execute_cached(
            self.0,
            "INSERT INTO quarantine (device, person, doc_key, hash, bytes, received_at, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (device, doc_key, hash) DO NOTHING",
            params![
                by.device.to_string(),
                by.person.to_string(),
                key.to_string(),
                rows::hash_hex(&change.hash),
                change.bytes,
                at,
                reason.as_str()
            ],
        )?;
        Ok(n == 1)
    }

    fn insert_team_change(&mut self, c: &TeamChangeValues) -> Result<bool, StorageError> {
        let n = execute_cached(
            self.0,
            "INSERT INTO team_changes
             (id, child, by_person, by_device, action, person, role, ends_on, reason, refused_rule, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (id) DO NOTHING",
            params![
                c.id,
                c.child,
                c.by_person,
                c.by_device,
                c.action,
                c.person,
                c.role,
                c.ends_on,
                c.reason,
                c.refused_rule,
                c.at
            ],
        )?;
        Ok(n == 1)
    }

    fn upsert_member(
        &mut self,
        child: ChildId,
        person: PersonId,
        member: TeamMember,
    ) -> Result<(), StorageError> {
        execute_cached(
            self.0,
            "INSERT INTO team_members (child, person, agency, role) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (child, person)
             DO UPDATE SET agency = excluded.agency, role = excluded.role",
            params![
                child.to_string(),
                person.to_string(),
                member.agency.as_str(),
                member.role.as_str()
            ],
        )?;
        Ok(())
    }

    fn demote_holders(
        &mut self,
        child: ChildId,
        role: TeamRole,
        except: PersonId,
    ) -> Result<(), StorageError> {
        execute_cached(
            self.0,
            "UPDATE team_members SET role = 'member' WHERE child = ?1 AND role = ?2 AND person <> ?3",
            params![child.to_string(), role.as_str(), except.to_string()],
        )?;
        Ok(())
    }

    fn delete_member(&mut self, child: ChildId, person: PersonId) -> Result<bool, StorageError> {
        let n = execute_cached(
            self.0,
            "DELETE FROM team_members WHERE child = ?1 AND person = ?2",
            params![child.to_string(), person.to_string()],
        )?;
        Ok(n > 0)
    }

    fn insert_audit(&mut self, e: &AuditValues) -> Result<(), StorageError> {
        execute_cached(
            self.0,
            "INSERT INTO audit_log (at, event, doc_key, child, change_hash, actor, device, person)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                e.at,
                e.event,
                e.doc_key,
                e.child,
                e.change_hash,
                e.actor,
                e.device,
                e.person
            ],
        )?;
        Ok(())
    }
}

/// A child's team, read in the caller's transaction; `None` for an unknown child.
fn team_of(tx: &Connection, child: ChildId) -> Result<Option<ChildTeam>, StorageError> {
    if !Sql(tx).exists(Entity::Child(child))? {
        return Ok(None);
    }
    let id = child.to_string();
    let members = query_all(
        tx,
        "SELECT person, agency, role FROM team_members WHERE child = ?1",
        params![id],
        |row| rows::team_member(row),
    )?;
    let young_person = query_opt(
        tx,
        "SELECT id FROM people WHERE kind = 'young-person' AND child = ?1 ORDER BY id LIMIT 1",
        params![id],
        |row| rows::key(row, 0),
    )?;
    let copies: Vec<String> = query_all(
        tx,
        "SELECT doc_key FROM documents WHERE child = ?1 AND doc_key LIKE 'young/%'",
        params![id],
        |row| row.text(0),
    )?;
    Ok(Some(rows::team(
        child,
        members,
        young_person,
        rows::young_copy(copies)?,
    )))
}

fn changes_after(
    tx: &Connection,
    key: &DocKey,
    after: u64,
) -> Result<Vec<StoredChange>, StorageError> {
    query_all(
        tx,
        "SELECT seq, hash, bytes FROM changes WHERE doc_key = ?1 AND seq > ?2 ORDER BY seq",
        params![key.to_string(), rows::seq_i64(after)],
        |row| rows::stored_change(row),
    )
}

fn sync_state(
    tx: &Connection,
    device: &str,
    key: &DocKey,
) -> Result<Option<Vec<u8>>, StorageError> {
    query_opt(
        tx,
        "SELECT state FROM sync_states WHERE device = ?1 AND doc_key = ?2",
        params![device, key.to_string()],
        |row| row.bytes(0),
    )
}

fn doc_keys(rows: Vec<String>) -> Result<Vec<DocKey>, StorageError> {
    rows.iter().map(|k| rows::parse(k)).collect()
}

impl Storage for SqliteStorage {
    fn add_person(&self, person: &PersonRecord) -> Result<(), StorageError> {
        self.write(|tx| {
            let (kind, child) = rows::kind_columns(&person.kind);
            let n = execute_cached(
                tx,
                "INSERT INTO people (id, name, kind, agency, child) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    person.id.to_string(),
                    person.name,
                    kind,
                    person.agency.map(|a| a.as_str()),
                    child
                ],
            )?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: Entity::Person(person.id).to_string(),
                });
            }
            Ok(())
        })
    }

    fn person(&self, id: PersonId) -> Result<Option<PersonRecord>, StorageError> {
        self.read(|tx| {
            query_opt(
                tx,
                "SELECT id, name, kind, agency, child FROM people WHERE id = ?1",
                params![id.to_string()],
                |row| rows::person(row),
            )
        })
    }

    fn people(&self) -> Result<Vec<PersonRecord>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT id, name, kind, agency, child FROM people ORDER BY name, id",
                [],
                |row| rows::person(row),
            )
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
            )?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: Entity::Child(child.id).to_string(),
                });
            }
            rows::create_documents(&mut Sql(tx), child.id, documents, at)
        })
    }

    fn child(&self, id: ChildId) -> Result<Option<ChildRecord>, StorageError> {
        self.read(|tx| {
            query_opt(
                tx,
                "SELECT id, name FROM children WHERE id = ?1",
                params![id.to_string()],
                |row| rows::child(row),
            )
        })
    }

    fn children(&self) -> Result<Vec<ChildRecord>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT id, name FROM children ORDER BY name, id",
                [],
                |row| rows::child(row),
            )
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
            rows::require(&mut Sql(tx), Entity::Child(child))?;
            rows::require(&mut Sql(tx), Entity::Person(person))?;
            Sql(tx).upsert_member(child, person, member)?;
            rows::create_documents(&mut Sql(tx), child, new_documents, at)
        })
    }

    fn remove_team_member(&self, child: ChildId, person: PersonId) -> Result<bool, StorageError> {
        self.write(|tx| Sql(tx).delete_member(child, person))
    }

    fn team(&self, child: ChildId) -> Result<ChildTeam, StorageError> {
        self.read(|tx| team_of(tx, child)?.ok_or_else(|| Entity::Child(child).not_found()))
    }

    fn children_with_members(
        &self,
        people: &BTreeSet<PersonId>,
    ) -> Result<Vec<ChildId>, StorageError> {
        self.read(|tx| {
            let mut out = BTreeSet::new();
            for p in people {
                out.extend(query_all(
                    tx,
                    "SELECT DISTINCT child FROM team_members WHERE person = ?1",
                    params![p.to_string()],
                    |row| rows::key::<ChildId>(row, 0),
                )?);
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
                rows::require(&mut Sql(tx), Entity::Person(p))?;
            }
            execute_cached(
                tx,
                "INSERT INTO supervisors (supervisor, supervisee) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                params![supervisor.to_string(), supervisee.to_string()],
            )?;
            Ok(())
        })
    }

    fn supervisees(&self, supervisor: PersonId) -> Result<BTreeSet<PersonId>, StorageError> {
        self.read(|tx| {
            Ok(query_all(
                tx,
                "SELECT supervisee FROM supervisors WHERE supervisor = ?1",
                params![supervisor.to_string()],
                |row| rows::key(row, 0),
            )?
            .into_iter()
            .collect())
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
                    Entity::Person(person).not_found()
                }
                e => e.into(),
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
            let person: Option<String> = query_row_cached(
                tx,
                "UPDATE enrol_codes SET used_at = ?2
                 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                 RETURNING person",
                params![code_hash, now],
                |row| row.get(0),
            )
            .optional()?;
            let Some(person) = person else {
                return Ok(None);
            };
            let n = execute_cached(
                tx,
                "INSERT INTO devices (id, person, name, public_key, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    device.id.to_string(),
                    person,
                    device.name,
                    device.public_key,
                    now
                ],
            )?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: format!("device {}", device.id),
                });
            }
            Ok(Some(DeviceRecord {
                id: device.id,
                person: rows::parse(&person)?,
                name: device.name.clone(),
                public_key: device.public_key.clone(),
                enrolled_at: now,
                revoked_at: None,
            }))
        })
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StorageError> {
        self.read(|tx| {
            query_opt(
                tx,
                "SELECT id, person, name, public_key, enrolled_at, revoked_at
                 FROM devices WHERE id = ?1",
                params![id.to_string()],
                |row| rows::device(row),
            )
        })
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT id, person, name, public_key, enrolled_at, revoked_at
                 FROM devices ORDER BY enrolled_at, id",
                [],
                |row| rows::device(row),
            )
        })
    }

    fn revoke_device(&self, id: DeviceId, at: UnixSeconds) -> Result<bool, StorageError> {
        self.write(|tx| {
            let n = execute_cached(
                tx,
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id.to_string(), at],
            )?;
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
            execute_cached(tx, "DELETE FROM nonces WHERE expires_at < ?1", params![now])?;
            let n = execute_cached(
                tx,
                "INSERT INTO nonces (device, nonce, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device, nonce) DO NOTHING",
                params![device.to_string(), nonce, expires_at],
            )?;
            Ok(n == 1)
        })
    }

    fn document_exists(&self, key: &DocKey) -> Result<bool, StorageError> {
        self.read(|tx| Sql(tx).exists(Entity::Document(*key)))
    }

    fn documents_of_child(&self, child: ChildId) -> Result<Vec<DocKey>, StorageError> {
        self.read(|tx| {
            doc_keys(query_all(
                tx,
                "SELECT doc_key FROM documents WHERE child = ?1 ORDER BY doc_key",
                params![child.to_string()],
                |row| row.text(0),
            )?)
        })
    }

    fn changes_after(&self, key: &DocKey, after: u64) -> Result<Vec<StoredChange>, StorageError> {
        self.read(|tx| changes_after(tx, key, after))
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
                })?;
            // One range of the (doc_key, seq) index per document.
            let mut stmt = tx.prepare_cached(
                "SELECT MAX(seq) FROM changes
                 WHERE doc_key = ?1 AND seq > ?2 AND seq <= ?3 AND (device IS NULL OR device <> ?4)",
            )?;
            let device = device.to_string();
            let mut documents = Vec::new();
            for key in among {
                let seq: Option<i64> = stmt.query_row(
                    params![key.to_string(), rows::seq_i64(cursor), high_water, device],
                    |row| row.get(0),
                )?;
                if let Some(seq) = seq {
                    documents.push((*key, rows::seq_u64(seq)?));
                }
            }
            Ok(ChangedSince {
                high_water: rows::seq_u64(high_water)?,
                documents,
            })
        })
    }

    fn sync_state(&self, device: DeviceId, key: &DocKey) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|tx| sync_state(tx, &device.to_string(), key))
    }

    fn read_for_sync(
        &self,
        device: DeviceId,
        documents: &BTreeMap<DocKey, u64>,
        may_read: MayRead,
    ) -> Result<SyncReads, StorageError> {
        self.read(|tx| {
            let mut teams = BTreeMap::new();
            for child in rows::children_of(documents) {
                if let Some(team) = team_of(tx, child)? {
                    teams.insert(child, team);
                }
            }
            let device = device.to_string();
            let mut found = BTreeMap::new();
            for (key, after) in rows::allowed(documents, &teams, &may_read) {
                if Sql(tx).exists(Entity::Document(key))? {
                    let reads = DocumentReads {
                        changes: changes_after(tx, &key, after)?,
                        sync_state: sync_state(tx, &device, &key)?,
                    };
                    found.insert(key, reads);
                }
            }
            Ok(SyncReads {
                teams,
                documents: found,
            })
        })
    }

    fn commit_sync_keeping_refused(
        &self,
        rounds: &[SyncRound],
        server: &[NewDocument],
        refused: &[NewRefusedChange],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.write(|tx| rows::commit_sync(&mut Sql(tx), rounds, server, refused, at))
    }

    fn synced_documents(&self, device: DeviceId) -> Result<Vec<DocKey>, StorageError> {
        self.read(|tx| {
            doc_keys(query_all(
                tx,
                "SELECT doc_key FROM device_documents WHERE device = ?1 ORDER BY doc_key",
                params![device.to_string()],
                |row| row.text(0),
            )?)
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
                )?;
                execute_cached(
                    tx,
                    "DELETE FROM sync_states WHERE device = ?1 AND doc_key = ?2",
                    params,
                )?;
            }
            Ok(())
        })
    }

    fn keep_offered(
        &self,
        device: DeviceId,
        person: PersonId,
        key: &DocKey,
        changes: &[NewChange],
        reason: KeptReason,
        at: UnixSeconds,
    ) -> Result<u64, StorageError> {
        let by = Author { device, person };
        self.write(|tx| rows::quarantine(&mut Sql(tx), by, key, changes, reason, at))
    }

    fn quarantined(&self) -> Result<Vec<QuarantinedChange>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT device, person, doc_key, bytes, received_at, reason FROM quarantine
                 ORDER BY received_at, device",
                [],
                |row| rows::quarantined(row),
            )
        })
    }

    fn refused_changes(
        &self,
        people: Option<&BTreeSet<PersonId>>,
    ) -> Result<Vec<RefusedChange>, StorageError> {
        self.read(|tx| {
            let Some(people) = people else {
                return query_all(
                    tx,
                    "SELECT device, person, doc_key, hash, rule, path, bytes, refused_at
                     FROM refused_changes ORDER BY refused_at, device, hash",
                    [],
                    |row| rows::refused_change(row),
                );
            };
            let mut all = Vec::new();
            for person in people {
                all.extend(query_all(
                    tx,
                    "SELECT device, person, doc_key, hash, rule, path, bytes, refused_at
                     FROM refused_changes WHERE person = ?1 ORDER BY refused_at, device, hash",
                    params![person.to_string()],
                    |row| rows::refused_change(row),
                )?);
            }
            all.sort_by(|a, b| {
                (a.refused_at, a.device, &a.hash).cmp(&(b.refused_at, b.device, &b.hash))
            });
            Ok(all)
        })
    }

    fn record_team_change(
        &self,
        change: &TeamChangeRecord,
        effect: Option<TeamEffect>,
        new_documents: &[NewDocument],
    ) -> Result<bool, StorageError> {
        self.write(|tx| rows::record_team_change(&mut Sql(tx), change, effect, new_documents))
    }

    fn team_change(&self, id: ItemId) -> Result<Option<TeamChangeRecord>, StorageError> {
        self.read(|tx| {
            query_opt(
                tx,
                &format!(
                    "SELECT {} FROM team_changes WHERE id = ?1",
                    rows::TEAM_CHANGE_COLUMNS
                ),
                params![id.to_string()],
                |row| rows::team_change(row),
            )
        })
    }

    fn team_changes(&self, child: ChildId) -> Result<Vec<TeamChangeRecord>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                &format!(
                    "SELECT {} FROM team_changes WHERE child = ?1 ORDER BY at, rowid",
                    rows::TEAM_CHANGE_COLUMNS
                ),
                params![child.to_string()],
                |row| rows::team_change(row),
            )
        })
    }

    fn audit_of_child(&self, child: ChildId) -> Result<Vec<AuditEntry>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT at, event, doc_key, change_hash, actor, device, person FROM audit_log
                 WHERE child = ?1 ORDER BY id",
                params![child.to_string()],
                |row| rows::audit_entry(row),
            )
        })
    }

    fn set_duty(&self, person: PersonId, on: bool) -> Result<(), StorageError> {
        self.write(|tx| {
            rows::require(&mut Sql(tx), Entity::Person(person))?;
            let sql = if on {
                "INSERT INTO duty_workers (person) VALUES (?1) ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM duty_workers WHERE person = ?1"
            };
            execute_cached(tx, sql, params![person.to_string()])?;
            Ok(())
        })
    }

    fn duty_workers(&self, agency: Agency) -> Result<BTreeSet<PersonId>, StorageError> {
        self.read(|tx| {
            Ok(query_all(
                tx,
                "SELECT d.person FROM duty_workers d JOIN people p ON p.id = d.person
                 WHERE p.agency = ?1 AND p.kind = 'practitioner'",
                params![agency.as_str()],
                |row| rows::key::<PersonId>(row, 0),
            )?
            .into_iter()
            .collect())
        })
    }

    fn open_request(&self, request: &RequestRecord, at: UnixSeconds) -> Result<bool, StorageError> {
        self.write(|tx| {
            rows::require(&mut Sql(tx), Entity::Person(request.sender))?;
            let n = execute_cached(
                tx,
                "INSERT INTO requests (id, sender, sender_agency, to_agency, child, created_at)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?5) ON CONFLICT (id) DO NOTHING",
                params![
                    request.id.to_string(),
                    request.sender.to_string(),
                    request.sender_agency.as_str(),
                    request.to.as_str(),
                    at
                ],
            )?;
            Sql(tx).insert_document(&DocKey::Request(request.id), at)?;
            Ok(n == 1)
        })
    }

    fn request(&self, id: RequestId) -> Result<Option<RequestRecord>, StorageError> {
        self.read(|tx| {
            query_opt(
                tx,
                "SELECT id, sender, sender_agency, to_agency, child FROM requests WHERE id = ?1",
                params![id.to_string()],
                |row| rows::request(row),
            )
        })
    }

    fn requests_of(&self, people: &BTreeSet<PersonId>) -> Result<Vec<RequestRecord>, StorageError> {
        self.read(|tx| {
            let mut out = BTreeMap::new();
            for p in people {
                for r in query_all(
                    tx,
                    "SELECT id, sender, sender_agency, to_agency, child FROM requests
                     WHERE sender = ?1
                        OR to_agency IN (SELECT p.agency FROM duty_workers d
                                         JOIN people p ON p.id = d.person WHERE d.person = ?1)",
                    params![p.to_string()],
                    |row| rows::request(row),
                )? {
                    out.insert(r.id, r);
                }
            }
            Ok(out.into_values().collect())
        })
    }

    fn link_request(&self, id: RequestId, child: ChildId) -> Result<(), StorageError> {
        self.write(|tx| {
            rows::require(&mut Sql(tx), Entity::Child(child))?;
            execute_cached(
                tx,
                "UPDATE requests SET child = ?2 WHERE id = ?1",
                params![id.to_string(), child.to_string()],
            )?;
            Ok(())
        })
    }

    fn audit_request(
        &self,
        id: RequestId,
        event: super::AuditEvent,
        by: Option<(DeviceId, PersonId)>,
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        self.write(|tx| Sql(tx).insert_audit(&rows::request_audit(id, event, by, at)))
    }
    fn wrapped_key(&self, owner: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|tx| {
            query_opt(
                tx,
                "SELECT wrapped FROM data_keys WHERE owner = ?1",
                params![owner],
                |row| row.bytes(0),
            )
        })
    }

    fn keep_wrapped_key(
        &self,
        owner: &str,
        wrapped: &[u8],
        at: UnixSeconds,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.write(|tx| {
            execute_cached(
                tx,
                "INSERT INTO data_keys (owner, wrapped, created_at)
                 SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM erased_keys WHERE owner = ?1)
                 ON CONFLICT (owner) DO NOTHING",
                params![owner, wrapped, at],
            )?;
            query_opt(
                tx,
                "SELECT wrapped FROM data_keys WHERE owner = ?1",
                params![owner],
                |row| row.bytes(0),
            )
        })
    }

    fn wrapped_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT owner, wrapped FROM data_keys ORDER BY owner",
                [],
                |row| Ok((row.text(0)?, row.bytes(1)?)),
            )
        })
    }

    fn rewrap_keys(&self, keys: &[(String, Vec<u8>, Vec<u8>)]) -> Result<(), StorageError> {
        self.write(|tx| {
            let mut replaced = 0i64;
            for (owner, old, new) in keys {
                let n = execute_cached(
                    tx,
                    "UPDATE data_keys SET wrapped = ?3 WHERE owner = ?1 AND wrapped = ?2",
                    params![owner, old, new],
                )?;
                replaced += i64::try_from(n).unwrap_or(0);
            }
            let total: i64 =
                query_row_cached(tx, "SELECT count(*) FROM data_keys", [], |row| row.get(0))?;
            rows::all_rewrapped(replaced, total)
        })
    }

    fn erase_child(
        &self,
        child: ChildId,
        by: &str,
        reason: &str,
        at: UnixSeconds,
    ) -> Result<Erased, StorageError> {
        self.write(|tx| {
            let id = child.to_string();
            let closed_on: Option<Option<String>> = query_opt(
                tx,
                "SELECT closed_on FROM children WHERE id = ?1",
                params![id],
                |row| row.opt_text(0),
            )?;
            let Some(closed_on) = closed_on else {
                return Err(Entity::Child(child).not_found());
            };
            let requests: Vec<String> = query_all(
                tx,
                "SELECT id FROM requests WHERE child = ?1",
                params![id],
                |row| row.text(0),
            )?;
            let mut documents: Vec<String> = query_all(
                tx,
                "SELECT doc_key FROM documents WHERE child = ?1",
                params![id],
                |row| row.text(0),
            )?;
            for r in &requests {
                documents.push(DocKey::Request(rows::parse(r)?).to_string());
            }
            let mut erased = Erased::default();
            for doc in &documents {
                let n = execute_cached(tx, "DELETE FROM changes WHERE doc_key = ?1", params![doc])?;
                erased.changes += u64::try_from(n).unwrap_or(0);
                for sql in [
                    "DELETE FROM sync_states WHERE doc_key = ?1",
                    "DELETE FROM quarantine WHERE doc_key = ?1",
                    "DELETE FROM refused_changes WHERE doc_key = ?1",
                ] {
                    execute_cached(tx, sql, params![doc])?;
                }
                erased.documents += u64::try_from(execute_cached(
                    tx,
                    "DELETE FROM documents WHERE doc_key = ?1",
                    params![doc],
                )?)
                .unwrap_or(0);
            }
            for sql in [
                "DELETE FROM team_members WHERE child = ?1",
                "DELETE FROM team_changes WHERE child = ?1",
                "DELETE FROM requests WHERE child = ?1",
                "DELETE FROM children WHERE id = ?1",
            ] {
                execute_cached(tx, sql, params![id])?;
            }
            for owner in std::iter::once(&id).chain(&requests) {
                execute_cached(tx, "DELETE FROM data_keys WHERE owner = ?1", params![owner])?;
                execute_cached(
                    tx,
                    "INSERT INTO erased_keys (owner, erased_at) VALUES (?1, ?2)
                     ON CONFLICT (owner) DO NOTHING",
                    params![owner, at],
                )?;
            }
            execute_cached(
                tx,
                "INSERT INTO erasures (child, erased_at, erased_by, reason, closed_on)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, at, by, reason, closed_on],
            )?;
            Sql(tx).insert_audit(&rows::erasure_audit(child, at))?;
            Ok(erased)
        })
    }

    fn erasures(&self) -> Result<Vec<ErasureRecord>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT child, erased_at, erased_by, reason, closed_on FROM erasures
                 ORDER BY erased_at, rowid",
                [],
                |row| rows::erasure(row),
            )
        })
    }

    fn close_case(&self, child: ChildId, on: IsoDate) -> Result<(), StorageError> {
        self.write(|tx| {
            let n = execute_cached(
                tx,
                "UPDATE children SET closed_on = ?2 WHERE id = ?1",
                params![child.to_string(), on.to_string()],
            )?;
            if n == 0 {
                return Err(Entity::Child(child).not_found());
            }
            Ok(())
        })
    }

    fn closed_cases(&self) -> Result<Vec<ClosedCase>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT id, closed_on FROM children WHERE closed_on IS NOT NULL
                 ORDER BY closed_on, id",
                [],
                |row| rows::closed_case(row),
            )
        })
    }

    fn record_export(&self, export: &CaseExport) -> Result<(), StorageError> {
        self.write(|tx| {
            rows::require(&mut Sql(tx), Entity::Child(export.child))?;
            execute_cached(
                tx,
                "INSERT INTO case_exports (child, exported_at, exported_by, command, documents)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    export.child.to_string(),
                    export.at,
                    export.by,
                    export.command,
                    rows::export_documents(&export.documents)
                ],
            )?;
            for key in &export.documents {
                Sql(tx).insert_audit(&rows::export_audit(export.child, key, export.at))?;
            }
            Ok(())
        })
    }

    fn exports(&self, child: ChildId) -> Result<Vec<CaseExport>, StorageError> {
        self.read(|tx| {
            query_all(
                tx,
                "SELECT child, exported_at, exported_by, command, documents FROM case_exports
                 WHERE child = ?1 ORDER BY exported_at, rowid",
                params![child.to_string()],
                |row| rows::case_export(row),
            )
        })
    }
}
