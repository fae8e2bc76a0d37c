//! The PostgreSQL backend, for a partnership that runs several server
//! instances behind a load balancer on one database.
//!
//! This module holds the SQL and the connections only: the row codecs and
//! the rules of each write (existence checks, creating documents,
//! auditing) are [`super::rows`], shared with SQLite.
//!
//! # Driver and connections
//!
//! The synchronous [`postgres`] crate: [`Storage`] is a synchronous trait
//! the server calls inside `spawn_blocking`, so a blocking client fits it
//! without an async bridge. That crate drives each connection with a small
//! tokio runtime of its own, which must never be entered or dropped from
//! inside another runtime's task; but the trait is also called from async
//! code (the admin CLI's `main`, tests, `launch_with_tcp_listener`), and the
//! storage itself may be dropped there. So each connection lives for good on
//! one of a few worker threads of this backend ([`DEFAULT_POOL_SIZE`]): a
//! call packages its work as a job, hands it to whichever worker is free and
//! waits for the answer on a channel. Waiting on a channel is safe from any
//! context, and the connections are only ever used and dropped on their own
//! threads. That is a connection pool (what `r2d2_postgres` would give)
//! whose connections do not move between threads. A worker whose connection
//! broke reconnects before its next job; a transaction that lost a deadlock
//! or serialisation conflict is retried (nothing of it was committed);
//! anything else is reported, never retried, because after a lost
//! connection the commit's outcome is unknown. Prepared statements are
//! cached per connection. TLS to the database is not supported: run
//! PostgreSQL on the host or a private network.
//!
//! # Migrations
//!
//! `refinery` (its `postgres` feature) runs the versioned SQL files of
//! `migrations/postgres/`, embedded at build time, recording them in
//! `refinery_schema_history`. Instances starting together serialise their
//! migration runs with a session advisory lock, so exactly one applies each
//! migration and the others find it applied.
//!
//! # Sequence numbers in commit order
//!
//! The cursor of `/v1/changed` and the document cache both read "changes
//! with a sequence number above `n`". With a `BIGSERIAL`, two transactions
//! can take 7 and 8, the one with 8 commits first, a reader stores cursor 8,
//! and change 7, committed a moment later, is skipped for ever. Here numbers
//! come from the one row of `change_counter`: a transaction that stores
//! changes updates that row immediately before inserting them and keeps its
//! row lock until it commits, so the next writer can only take a number
//! once every smaller number is committed and visible. Hence whoever sees
//! sequence `n` already sees every sequence below it, across transactions
//! and instances. The price is that storing changes is serialised across the
//! partnership, for the few milliseconds of the inserts and the commit only
//! (everything else in the transaction happens before the lock is taken, so
//! the counter is always the last lock a transaction takes and it cannot be
//! part of a deadlock). Syncs that store no change never touch the counter.
//! An advisory lock would serialise the same way; the counter row also
//! gives the high-water mark of `/v1/changed` without scanning `changes`.
//!
//! Changes are content-addressed (`UNIQUE (doc_key, hash)` with `ON
//! CONFLICT DO NOTHING`), so the same change sent to two instances is stored
//! and audited once. Request nonces live in the database like everything
//! else, so a nonce used on one instance is a replay on every other.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bothy_shared::docs::{DocKey, IsoDate};
use bothy_shared::ids::{Agency, ChildId, DeviceId, ItemId, PersonId, RequestId};
use bothy_shared::policy::{ChildTeam, TeamMember, TeamRole};
use bothy_shared::team::TeamEffect;
use bothy_shared::wire::KeptReason;
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};

use super::rows::{self, AuditValues, Author, Columns, Entity, TeamChangeValues, Tx};
use super::{
    AuditEntry, CaseExport, ChangedSince, ChildRecord, ClosedCase, DeviceRecord, DocumentReads,
    Erased, ErasureRecord, MayRead, NewChange, NewDevice, NewDocument, NewRefusedChange,
    PersonRecord, QuarantinedChange, RefusedChange, RequestRecord, Storage, StorageError,
    StoredChange, SyncReads, SyncRound, TeamChangeRecord, UnixSeconds,
};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Connections (and worker threads) per storage: enough to keep a
/// database busy from one instance without crowding out several others.
pub const DEFAULT_POOL_SIZE: usize = 8;

/// The advisory lock instances hold while migrating ("bothy-mg").
const MIGRATION_LOCK: i64 = 0x626f_7468_792d_6d67;
/// How often a transaction that lost a deadlock or serialisation conflict runs.
const MAX_ATTEMPTS: u32 = 5;
/// Expired nonces deleted per request, at most (old ones go a few at a time).
const NONCE_GC_BATCH: i64 = 64;

/// A failure inside a job: the driver's (kept whole, to decide on retries)
/// or one of ours.
#[derive(Debug)]
enum DbError {
    Pg(postgres::Error),
    Storage(StorageError),
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Pg(e)
    }
}

impl From<StorageError> for DbError {
    fn from(e: StorageError) -> Self {
        DbError::Storage(e)
    }
}

impl From<DbError> for StorageError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Pg(e) => StorageError::Postgres(e),
            DbError::Storage(e) => e,
        }
    }
}

type DbResult<T> = Result<T, DbError>;

impl DbError {
    fn code(&self) -> Option<&SqlState> {
        match self {
            DbError::Pg(e) => e.code(),
            DbError::Storage(_) => None,
        }
    }

    /// The transaction was rolled back by the server and may simply run again.
    fn is_retryable(&self) -> bool {
        self.code().is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
        })
    }
}

// ---------------------------------------------------------------- workers

/// One connection and the statements prepared on it.
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// What a job works with: a connection or a transaction on one, and the
/// connection's prepared statements.
struct Db<'a, C> {
    client: &'a mut C,
    statements: &'a mut HashMap<&'static str, Statement>,
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

impl<C: GenericClient> Db<'_, C> {
    fn statement(&mut self, sql: &'static str) -> DbResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn execute(&mut self, sql: &'static str, params: &Params<'_>) -> DbResult<u64> {
        let s = self.statement(sql)?;
        Ok(self.client.execute(&s, params)?)
    }

    fn query(&mut self, sql: &'static str, params: &Params<'_>) -> DbResult<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.client.query(&s, params)?)
    }

    fn query_opt(&mut self, sql: &'static str, params: &Params<'_>) -> DbResult<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.client.query_opt(&s, params)?)
    }

    fn query_one(&mut self, sql: &'static str, params: &Params<'_>) -> DbResult<Row> {
        let s = self.statement(sql)?;
        Ok(self.client.query_one(&s, params)?)
    }
}

/// A worker thread's connection, made on first use and remade after it broke.
struct Worker {
    config: postgres::Config,
    conn: Option<Conn>,
}

impl Worker {
    fn conn(&mut self) -> DbResult<&mut Conn> {
        let conn = match self.conn.take() {
            Some(conn) if !conn.client.is_closed() => conn,
            _ => Conn {
                client: self.config.connect(NoTls)?,
                statements: HashMap::new(),
            },
        };
        Ok(self.conn.insert(conn))
    }

    /// `f` in one transaction, committed if it succeeds; run again if the
    /// database rolled it back for a deadlock or serialisation conflict.
    fn write<T>(&mut self, f: &dyn Fn(&mut Db<'_, Transaction<'_>>) -> DbResult<T>) -> DbResult<T> {
        let mut attempt = 1;
        loop {
            let result: DbResult<T> = (|| {
                let conn = self.conn()?;
                let mut tx = conn.client.transaction()?;
                let out = f(&mut Db {
                    client: &mut tx,
                    statements: &mut conn.statements,
                })?;
                tx.commit()?;
                Ok(out)
            })();
            match result {
                Err(e) if attempt < MAX_ATTEMPTS && e.is_retryable() => attempt += 1,
                other => return other,
            }
        }
    }

    /// `f` outside a transaction: each statement commits on its own.
    fn read<T>(&mut self, f: &dyn Fn(&mut Db<'_, Client>) -> DbResult<T>) -> DbResult<T> {
        let conn = self.conn()?;
        f(&mut Db {
            client: &mut conn.client,
            statements: &mut conn.statements,
        })
    }

    /// Bring the schema up to date, one instance at a time.
    fn migrate(&mut self) -> DbResult<()> {
        let conn = self.conn()?;
        conn.client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
        let result = embedded::migrations::runner()
            .run(&mut conn.client)
            .map(|_| ())
            .map_err(|e| DbError::Storage(StorageError::PostgresMigration(e)));
        let unlocked = conn
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
        result?;
        unlocked?;
        Ok(())
    }
}

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

fn work(config: postgres::Config, jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut worker = Worker { config, conn: None };
    loop {
        // One idle worker waits on the queue at a time; the others wait for
        // the lock. A poisoned lock only means another worker panicked while
        // receiving, which leaves the receiver intact.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else {
            // The storage was dropped: close the connection on this thread.
            return;
        };
        // A panicking job must not take its worker down; its caller sees
        // the reply channel close. The connection may be mid-transaction:
        // start a new one.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut worker))).is_err() {
            worker.conn = None;
        }
    }
}

/// The PostgreSQL backend. See the module documentation.
pub struct PgStorage {
    jobs: mpsc::Sender<Job>,
    /// Host and database, for logs (never the password).
    target: String,
}

impl fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStorage")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Whether a URL names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl PgStorage {
    /// Connect to `postgres://…` and bring its schema up to date.
    pub fn open(url: &str) -> Result<Self, StorageError> {
        Self::open_with_pool_size(url, DEFAULT_POOL_SIZE)
    }

    /// As [`PgStorage::open`] with `connections` connections (at least one).
    pub fn open_with_pool_size(url: &str, connections: usize) -> Result<Self, StorageError> {
        let mut config = postgres::Config::from_str(url).map_err(StorageError::PostgresUrl)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("bothy-server");
        }
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let target = format!(
            "{}/{}",
            hosts.join(","),
            config.get_dbname().unwrap_or_default()
        );
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..connections.max(1) {
            let (config, queue) = (config.clone(), queue.clone());
            std::thread::Builder::new()
                .name(format!("bothy-pg-{i}"))
                .spawn(move || work(config, queue))
                .map_err(StorageError::Thread)?;
        }
        let storage = PgStorage { jobs, target };
        storage.submit(|worker| worker.migrate())?;
        Ok(storage)
    }

    /// Run `job` on a free worker and wait for its answer.
    fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Worker) -> DbResult<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |worker| {
            // The caller waits for this; if it went away there is no one to tell.
            let _ = reply.send(job(worker));
        });
        self.jobs
            .send(job)
            .map_err(|_| StorageError::ThreadsStopped)?;
        let answer = answer.recv().map_err(|_| StorageError::ThreadFailed)?;
        answer.map_err(StorageError::from)
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Db<'_, Transaction<'_>>) -> DbResult<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.submit(move |worker| worker.write(&f))
    }

    fn read<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Db<'_, Client>) -> DbResult<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.submit(move |worker| worker.read(&f))
    }
}

// ---------------------------------------------------------------- rows

impl Columns for Row {
    fn text(&self, i: usize) -> Result<String, StorageError> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StorageError> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, StorageError> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StorageError> {
        Ok(self.try_get(i)?)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StorageError> {
        Ok(self.try_get(i)?)
    }
}

/// Every row decoded by `decode`.
fn decode_all<T>(
    rows: &[Row],
    decode: impl Fn(&Row) -> Result<T, StorageError>,
) -> DbResult<Vec<T>> {
    Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
}

impl<C: GenericClient> Db<'_, C> {
    fn exists_row(&mut self, what: Entity) -> DbResult<bool> {
        let sql = match what {
            Entity::Child(_) => "SELECT 1 FROM children WHERE id = $1",
            Entity::Person(_) => "SELECT 1 FROM people WHERE id = $1",
            Entity::Document(_) => "SELECT 1 FROM documents WHERE doc_key = $1",
        };
        Ok(self.query_opt(sql, &[&what.id()])?.is_some())
    }
}

impl Tx for Db<'_, Transaction<'_>> {
    type Error = DbError;

    fn exists(&mut self, what: Entity) -> DbResult<bool> {
        self.exists_row(what)
    }

    fn insert_document(&mut self, key: &DocKey, at: UnixSeconds) -> DbResult<bool> {
        let n = self.execute(
            "INSERT INTO documents (doc_key, child, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (doc_key) DO NOTHING",
            &[&key.to_string(), &rows::document_child(key), &at],
        )?;
        Ok(n == 1)
    }

    /// Numbered from the counter (see the module documentation): call it
    /// after every other write of the transaction but audit inserts, since
    /// from here to the commit this transaction holds the counter.
    fn insert_changes<'c>(
        &mut self,
        key: &DocKey,
        changes: &'c [NewChange],
        by: Option<Author>,
        at: UnixSeconds,
    ) -> DbResult<Vec<&'c NewChange>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let mut last: i64 = self
            .query_one(
                "UPDATE change_counter SET last = last WHERE id = 1 RETURNING last",
                &[],
            )?
            .try_get(0)?;
        let (doc_key, device, person) = (
            key.to_string(),
            by.map(|a| a.device.to_string()),
            by.map(|a| a.person.to_string()),
        );
        let mut fresh = Vec::new();
        for c in changes {
            let seq = last + 1;
            let n = self.execute(
                "INSERT INTO changes (seq, doc_key, hash, actor, device, person, bytes, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (doc_key, hash) DO NOTHING",
                &[
                    &seq,
                    &doc_key,
                    &rows::hash_hex(&c.hash),
                    &c.actor.to_hex_string(),
                    &device,
                    &person,
                    &c.bytes,
                    &at,
                ],
            )?;
            if n == 1 {
                last = seq;
                fresh.push(c);
            }
        }
        if !fresh.is_empty() {
            self.execute("UPDATE change_counter SET last = $1 WHERE id = 1", &[&last])?;
        }
        Ok(fresh)
    }

    fn save_sync_state(&mut self, round: &SyncRound) -> DbResult<()> {
        let (device, key) = (round.device.to_string(), round.key.to_string());
        self.execute(
            "INSERT INTO sync_states (device, doc_key, state, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device, doc_key)
             DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            &[&device, &key, &round.sync_state, &round.at],
        )?;
        self.execute(
            "INSERT INTO device_documents (device, doc_key, first_synced_at) VALUES ($1, $2, $3)
             ON CONFLICT (device, doc_key) DO NOTHING",
            &[&device, &key, &round.at],
        )?;
        Ok(())
    }

    fn refused_kept(&mut self, r: &NewRefusedChange) -> DbResult<(bool, u64)> {
        let device = r.device.to_string();
        let already = self
            .query_opt(
                "SELECT 1 FROM refused_changes WHERE device = $1 AND doc_key = $2 AND hash = $3",
                &[&device, &r.key.to_string(), &rows::hash_hex(&r.change.hash)],
            )?
            .is_some();
        let row = self.query_one(
            "SELECT count(*) FROM refused_changes WHERE device = $1",
            &[&device],
        )?;
        let count: i64 = rows::Columns::int(&row, 0)?;
        Ok((already, u64::try_from(count).unwrap_or(0)))
    }

    fn insert_refused(&mut self, r: &NewRefusedChange) -> DbResult<()> {
        self.execute(
            "INSERT INTO refused_changes (device, person, doc_key, hash, rule, path, bytes, refused_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (device, doc_key, hash) DO NOTHING",
            &[
                &r.device.to_string(),
                &r.person.to_string(),
                &r.key.to_string(),
                &rows::hash_hex(&r.change.hash),
                &r.rule,
                &r.path,
                &r.change.bytes,
                &r.at,
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
    ) -> DbResult<bool> {
        let n = self.execute(
            "INSERT INTO quarantine (device, person, doc_key, hash, bytes, received_at, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (device, doc_key, hash) DO NOTHING",
            &[
                &by.device.to_string(),
                &by.person.to_string(),
                &key.to_string(),
                &rows::hash_hex(&change.hash),
                &change.bytes,
                &at,
                &reason.as_str(),
            ],
        )?;
        Ok(n == 1)
    }

    fn insert_team_change(&mut self, c: &TeamChangeValues) -> DbResult<bool> {
        let n = self.execute(
            "INSERT INTO team_changes
             (id, child, by_person, by_device, action, person, role, ends_on, reason, refused_rule, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO NOTHING",
            &[
                &c.id,
                &c.child,
                &c.by_person,
                &c.by_device,
                &c.action,
                &c.person,
                &c.role,
                &c.ends_on,
                &c.reason,
                &c.refused_rule,
                &c.at,
            ],
        )?;
        Ok(n == 1)
    }

    fn upsert_member(
        &mut self,
        child: ChildId,
        person: PersonId,
        member: TeamMember,
    ) -> DbResult<()> {
        self.execute(
            "INSERT INTO team_members (child, person, agency, role) VALUES ($1, $2, $3, $4)
             ON CONFLICT (child, person)
             DO UPDATE SET agency = excluded.agency, role = excluded.role",
            &[
                &child.to_string(),
                &person.to_string(),
                &member.agency.as_str(),
                &member.role.as_str(),
            ],
        )?;
        Ok(())
    }

    fn demote_holders(&mut self, child: ChildId, role: TeamRole, except: PersonId) -> DbResult<()> {
        self.execute(
            "UPDATE team_members SET role = 'member' WHERE child = $1 AND role = $2 AND person <> $3",
            &[&child.to_string(), &role.as_str(), &except.to_string()],
        )?;
        Ok(())
    }

    fn delete_member(&mut self, child: ChildId, person: PersonId) -> DbResult<bool> {
        let n = self.execute(
            "DELETE FROM team_members WHERE child = $1 AND person = $2",
            &[&child.to_string(), &person.to_string()],
        )?;
        Ok(n > 0)
    }

    fn insert_audit(&mut self, e: &AuditValues) -> DbResult<()> {
        self.execute(
            "INSERT INTO audit_log (at, event, doc_key, child, change_hash, actor, device, person)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &e.at,
                &e.event,
                &e.doc_key,
                &e.child,
                &e.change_hash,
                &e.actor,
                &e.device,
                &e.person,
            ],
        )?;
        Ok(())
    }
}

fn doc_keys(rows: &[Row]) -> DbResult<Vec<DocKey>> {
    decode_all(rows, |r| rows::key(r, 0))
}

fn is_foreign_key_violation(e: &DbError) -> bool {
    e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
}

/// The teams of `children` that exist, in one transaction so members and
/// young people agree.
fn teams(
    db: &mut Db<'_, Transaction<'_>>,
    children: &[ChildId],
) -> DbResult<BTreeMap<ChildId, ChildTeam>> {
    let ids: Vec<String> = children.iter().map(ToString::to_string).collect();
    let existing = db.query("SELECT id FROM children WHERE id = ANY($1)", &[&ids])?;
    let mut members: BTreeMap<ChildId, Vec<_>> = BTreeMap::new();
    for row in db.query(
        "SELECT person, agency, role, child FROM team_members WHERE child = ANY($1)",
        &[&ids],
    )? {
        members
            .entry(rows::key(&row, 3)?)
            .or_default()
            .push(rows::team_member(&row)?);
    }
    let mut young_people = BTreeMap::new();
    for row in db.query(
        "SELECT DISTINCT ON (child) child, id FROM people
         WHERE kind = 'young-person' AND child = ANY($1) ORDER BY child, id",
        &[&ids],
    )? {
        young_people.insert(rows::key::<ChildId>(&row, 0)?, rows::key(&row, 1)?);
    }
    let mut young_copies: BTreeMap<ChildId, Vec<String>> = BTreeMap::new();
    for row in db.query(
        "SELECT child, doc_key FROM documents WHERE child = ANY($1) AND doc_key LIKE 'young/%'",
        &[&ids],
    )? {
        young_copies
            .entry(rows::key(&row, 0)?)
            .or_default()
            .push(rows::Columns::text(&row, 1)?);
    }
    let mut teams = BTreeMap::new();
    for row in existing {
        let child: ChildId = rows::key(&row, 0)?;
        let team = rows::team(
            child,
            members.remove(&child).unwrap_or_default(),
            young_people.remove(&child),
            rows::young_copy(young_copies.remove(&child).unwrap_or_default())?,
        );
        teams.insert(child, team);
    }
    Ok(teams)
}

// ---------------------------------------------------------------- the trait

impl Storage for PgStorage {
    fn add_person(&self, person: &PersonRecord) -> Result<(), StorageError> {
        let person = person.clone();
        self.write(move |db| {
            let (kind, child) = rows::kind_columns(&person.kind);
            let n = db.execute(
                "INSERT INTO people (id, name, kind, agency, child) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &person.id.to_string(),
                    &person.name,
                    &kind,
                    &person.agency.map(|a| a.as_str()),
                    &child,
                ],
            )?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: Entity::Person(person.id).to_string(),
                }
                .into());
            }
            Ok(())
        })
    }

    fn person(&self, id: PersonId) -> Result<Option<PersonRecord>, StorageError> {
        self.read(move |db| {
            Ok(db
                .query_opt(
                    "SELECT id, name, kind, agency, child FROM people WHERE id = $1",
                    &[&id.to_string()],
                )?
                .map(|row| rows::person(&row))
                .transpose()?)
        })
    }

    fn people(&self) -> Result<Vec<PersonRecord>, StorageError> {
        self.read(|db| {
            decode_all(
                &db.query(
                    "SELECT id, name, kind, agency, child FROM people ORDER BY name, id",
                    &[],
                )?,
                rows::person,
            )
        })
    }

    fn add_child(
        &self,
        child: &ChildRecord,
        documents: &[NewDocument],
        at: UnixSeconds,
    ) -> Result<(), StorageError> {
        let (child, documents) = (child.clone(), documents.to_vec());
        self.write(move |db| {
            let n = db.execute(
                "INSERT INTO children (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                &[&child.id.to_string(), &child.name],
            )?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: Entity::Child(child.id).to_string(),
                }
                .into());
            }
            rows::create_documents(db, child.id, &documents, at)
        })
    }

    fn child(&self, id: ChildId) -> Result<Option<ChildRecord>, StorageError> {
        self.read(move |db| {
            Ok(db
                .query_opt(
                    "SELECT id, name FROM children WHERE id = $1",
                    &[&id.to_string()],
                )?
                .map(|row| rows::child(&row))
                .transpose()?)
        })
    }

    fn children(&self) -> Result<Vec<ChildRecord>, StorageError> {
        self.read(|db| {
            decode_all(
                &db.query("SELECT id, name FROM children ORDER BY name, id", &[])?,
                rows::child,
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
        let new_documents = new_documents.to_vec();
        self.write(move |db| {
            rows::require(db, Entity::Child(child))?;
            rows::require(db, Entity::Person(person))?;
            db.upsert_member(child, person, member)?;
            rows::create_documents(db, child, &new_documents, at)
        })
    }

    fn remove_team_member(&self, child: ChildId, person: PersonId) -> Result<bool, StorageError> {
        self.write(move |db| db.delete_member(child, person))
    }

    fn team(&self, child: ChildId) -> Result<ChildTeam, StorageError> {
        // One transaction, so the members and the young person agree.
        self.write(move |db| {
            let team = teams(db, &[child])?.remove(&child);
            Ok(team.ok_or_else(|| Entity::Child(child).not_found())?)
        })
    }

    fn children_with_members(
        &self,
        people: &BTreeSet<PersonId>,
    ) -> Result<Vec<ChildId>, StorageError> {
        let people: Vec<String> = people.iter().map(ToString::to_string).collect();
        self.read(move |db| {
            let rows = db.query(
                "SELECT DISTINCT child FROM team_members WHERE person = ANY($1)",
                &[&people],
            )?;
            let children: BTreeSet<ChildId> = decode_all(&rows, |r| rows::key(r, 0))?
                .into_iter()
                .collect();
            Ok(children.into_iter().collect())
        })
    }

    fn set_supervisor(
        &self,
        supervisor: PersonId,
        supervisee: PersonId,
    ) -> Result<(), StorageError> {
        self.write(move |db| {
            for p in [supervisor, supervisee] {
                rows::require(db, Entity::Person(p))?;
            }
            db.execute(
                "INSERT INTO supervisors (supervisor, supervisee) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&supervisor.to_string(), &supervisee.to_string()],
            )?;
            Ok(())
        })
    }

    fn supervisees(&self, supervisor: PersonId) -> Result<BTreeSet<PersonId>, StorageError> {
        self.read(move |db| {
            let rows = db.query(
                "SELECT supervisee FROM supervisors WHERE supervisor = $1",
                &[&supervisor.to_string()],
            )?;
            Ok(decode_all(&rows, |r| rows::key(r, 0))?
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
        let code_hash = code_hash.to_vec();
        self.write(move |db| {
            match db.execute(
                "INSERT INTO enrol_codes (code_hash, person, expires_at) VALUES ($1, $2, $3)",
                &[&code_hash, &person.to_string(), &expires_at],
            ) {
                Err(e) if is_foreign_key_violation(&e) => {
                    Err(Entity::Person(person).not_found().into())
                }
                other => other.map(|_| ()),
            }
        })
    }

    fn redeem_enrol_code(
        &self,
        code_hash: &[u8],
        now: UnixSeconds,
        device: &NewDevice,
    ) -> Result<Option<DeviceRecord>, StorageError> {
        let (code_hash, device) = (code_hash.to_vec(), device.clone());
        self.write(move |db| {
            // Two instances redeeming one code: the second waits for the
            // first's commit, re-reads the row, finds it used and gets nothing.
            let Some(row) = db.query_opt(
                "UPDATE enrol_codes SET used_at = $2
                 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING person",
                &[&code_hash, &now],
            )?
            else {
                return Ok(None);
            };
            let person: String = row.try_get(0)?;
            let n = db.execute(
                "INSERT INTO devices (id, person, name, public_key, enrolled_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                &[
                    &device.id.to_string(),
                    &person,
                    &device.name,
                    &device.public_key,
                    &now,
                ],
            )?;
            if n == 0 {
                return Err(StorageError::AlreadyExists {
                    what: format!("device {}", device.id),
                }
                .into());
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
        self.read(move |db| {
            Ok(db
                .query_opt(
                    "SELECT id, person, name, public_key, enrolled_at, revoked_at
                     FROM devices WHERE id = $1",
                    &[&id.to_string()],
                )?
                .map(|row| rows::device(&row))
                .transpose()?)
        })
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>, StorageError> {
        self.read(|db| {
            decode_all(
                &db.query(
                    "SELECT id, person, name, public_key, enrolled_at, revoked_at
                     FROM devices ORDER BY enrolled_at, id",
                    &[],
                )?,
                rows::device,
            )
        })
    }

    fn revoke_device(&self, id: DeviceId, at: UnixSeconds) -> Result<bool, StorageError> {
        self.write(move |db| {
            let n = db.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &[&id.to_string(), &at],
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
        let nonce = nonce.to_vec();
        self.read(move |db| {
            // Forget some expired nonces, skipping rows another instance is
            // deleting at the same moment (so instances never wait on each
            // other here).
            db.execute(
                "DELETE FROM nonces WHERE (device, nonce) IN (
                     SELECT device, nonce FROM nonces WHERE expires_at < $1
                     LIMIT $2 FOR UPDATE SKIP LOCKED)",
                &[&now, &NONCE_GC_BATCH],
            )?;
            // New, or an expired one used again: remembered. Still
            // remembered (here or by any other instance): a replay. The
            // primary key makes a concurrent second insert wait for the
            // first to commit and then find it.
            let n = db.execute(
                "INSERT INTO nonces (device, nonce, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (device, nonce) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE nonces.expires_at < $4",
                &[&device.to_string(), &nonce, &expires_at, &now],
            )?;
            Ok(n == 1)
        })
    }

    fn document_exists(&self, key: &DocKey) -> Result<bool, StorageError> {
        let key = *key;
        self.read(move |db| db.exists_row(Entity::Document(key)))
    }

    fn documents_of_child(&self, child: ChildId) -> Result<Vec<DocKey>, StorageError> {
        self.read(move |db| {
            doc_keys(&db.query(
                "SELECT doc_key FROM documents WHERE child = $1 ORDER BY doc_key",
                &[&child.to_string()],
            )?)
        })
    }

    fn changes_after(&self, key: &DocKey, after: u64) -> Result<Vec<StoredChange>, StorageError> {
        let key = key.to_string();
        self.read(move |db| {
            decode_all(
                &db.query(
                    "SELECT seq, hash, bytes FROM changes WHERE doc_key = $1 AND seq > $2 ORDER BY seq",
                    &[&key, &rows::seq_i64(after)],
                )?,
                rows::stored_change,
            )
        })
    }

    fn changed_among(
        &self,
        cursor: u64,
        device: DeviceId,
        among: &BTreeSet<DocKey>,
    ) -> Result<ChangedSince, StorageError> {
        let keys: Vec<String> = among.iter().map(DocKey::to_string).collect();
        let (cursor, device) = (rows::seq_i64(cursor), device.to_string());
        self.read(move |db| {
            // Every sequence up to the committed counter is committed (see
            // the module documentation), so the list below is complete up to
            // it even though it is read by a later statement.
            let high_water = db.query_one("SELECT last FROM change_counter WHERE id = 1", &[])?;
            let high_water: i64 = high_water.try_get(0)?;
            // One range of the (doc_key, seq) index per document.
            let rows = db.query(
                "SELECT doc_key, MAX(seq) FROM changes
                 WHERE doc_key = ANY($4) AND seq > $1 AND seq <= $2
                   AND (device IS NULL OR device <> $3)
                 GROUP BY doc_key ORDER BY doc_key",
                &[&cursor, &high_water, &device, &keys],
            )?;
            let documents = decode_all(&rows, |row| Ok((rows::key(row, 0)?, rows::seq(row, 1)?)))?;
            Ok(ChangedSince {
                high_water: rows::seq_u64(high_water)?,
                documents,
            })
        })
    }

    fn sync_state(&self, device: DeviceId, key: &DocKey) -> Result<Option<Vec<u8>>, StorageError> {
        let key = key.to_string();
        self.read(move |db| {
            db.query_opt(
                "SELECT state FROM sync_states WHERE device = $1 AND doc_key = $2",
                &[&device.to_string(), &key],
            )?
            .map(|row| Ok(row.try_get(0)?))
            .transpose()
        })
    }

    fn read_for_sync(
        &self,
        device: DeviceId,
        documents: &BTreeMap<DocKey, u64>,
        may_read: MayRead,
    ) -> Result<SyncReads, StorageError> {
        if documents.is_empty() {
            return Ok(SyncReads::default());
        }
        let documents = documents.clone();
        // One transaction: a statement per kind of row, for every document at once.
        self.write(move |db| {
            let teams = teams(db, &rows::children_of(&documents))?;
            let allowed = rows::allowed(&documents, &teams, &may_read);
            let mut found = BTreeMap::new();
            if !allowed.is_empty() {
                let keys: Vec<String> = allowed.iter().map(|(k, _)| k.to_string()).collect();
                let afters: Vec<i64> = allowed.iter().map(|(_, a)| rows::seq_i64(*a)).collect();
                for row in db.query(
                    "SELECT doc_key FROM documents WHERE doc_key = ANY($1)",
                    &[&keys],
                )? {
                    found.insert(rows::key::<DocKey>(&row, 0)?, DocumentReads::default());
                }
                for row in db.query(
                    "SELECT doc_key, state FROM sync_states WHERE device = $1 AND doc_key = ANY($2)",
                    &[&device.to_string(), &keys],
                )? {
                    if let Some(reads) = found.get_mut(&rows::key::<DocKey>(&row, 0)?) {
                        reads.sync_state = Some(row.bytes(1)?);
                    }
                }
                // One range of the (doc_key, seq) index per document.
                for row in db.query(
                    "SELECT c.seq, c.hash, c.bytes, c.doc_key
                     FROM unnest($1::text[], $2::bigint[]) AS w(doc_key, after)
                     JOIN changes c ON c.doc_key = w.doc_key AND c.seq > w.after
                     ORDER BY c.doc_key, c.seq",
                    &[&keys, &afters],
                )? {
                    if let Some(reads) = found.get_mut(&rows::key::<DocKey>(&row, 3)?) {
                        reads.changes.push(rows::stored_change(&row)?);
                    }
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
        let rounds = rounds.to_vec();
        let server = server.to_vec();
        let refused = refused.to_vec();
        self.write(move |db| rows::commit_sync(db, &rounds, &server, &refused, at))
    }

    fn synced_documents(&self, device: DeviceId) -> Result<Vec<DocKey>, StorageError> {
        self.read(move |db| {
            doc_keys(&db.query(
                "SELECT doc_key FROM device_documents WHERE device = $1 ORDER BY doc_key",
                &[&device.to_string()],
            )?)
        })
    }

    fn forget_synced_documents(
        &self,
        device: DeviceId,
        keys: &[DocKey],
    ) -> Result<(), StorageError> {
        let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        self.write(move |db| {
            let device = device.to_string();
            db.execute(
                "DELETE FROM device_documents WHERE device = $1 AND doc_key = ANY($2)",
                &[&device, &keys],
            )?;
            db.execute(
                "DELETE FROM sync_states WHERE device = $1 AND doc_key = ANY($2)",
                &[&device, &keys],
            )?;
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
        let (key, changes) = (*key, changes.to_vec());
        let by = Author { device, person };
        self.write(move |db| rows::quarantine(db, by, &key, &changes, reason, at))
    }

    fn quarantined(&self) -> Result<Vec<QuarantinedChange>, StorageError> {
        self.read(|db| {
            decode_all(
                &db.query(
                    "SELECT device, person, doc_key, bytes, received_at, reason FROM quarantine
                     ORDER BY received_at, device",
                    &[],
                )?,
                rows::quarantined,
            )
        })
    }

    fn refused_changes(
        &self,
        people: Option<&BTreeSet<PersonId>>,
    ) -> Result<Vec<RefusedChange>, StorageError> {
        let people: Option<Vec<String>> =
            people.map(|p| p.iter().map(ToString::to_string).collect());
        self.read(move |db| {
            let rows = match &people {
                None => db.query(
                    "SELECT device, person, doc_key, hash, rule, path, bytes, refused_at
                     FROM refused_changes ORDER BY refused_at, device, hash",
                    &[],
                )?,
                Some(people) => db.query(
                    "SELECT device, person, doc_key, hash, rule, path, bytes, refused_at
                     FROM refused_changes WHERE person = ANY($1)
                     ORDER BY refused_at, device, hash",
                    &[people],
                )?,
            };
            decode_all(&rows, rows::refused_change)
        })
    }

    fn record_team_change(
        &self,
        change: &TeamChangeRecord,
        effect: Option<TeamEffect>,
        new_documents: &[NewDocument],
    ) -> Result<bool, StorageError> {
        let (change, new_documents) = (change.clone(), new_documents.to_vec());
        self.write(move |db| rows::record_team_change(db, &change, effect, &new_documents))
    }

    fn team_change(&self, id: ItemId) -> Result<Option<TeamChangeRecord>, StorageError> {
        self.read(move |db| {
            db.query_opt(
                "SELECT id, child, by_person, by_device, action, person, role, ends_on, reason,
                        refused_rule, at
                 FROM team_changes WHERE id = $1",
                &[&id.to_string()],
            )?
            .as_ref()
            .map(rows::team_change)
            .transpose()
            .map_err(DbError::from)
        })
    }

    fn team_changes(&self, child: ChildId) -> Result<Vec<TeamChangeRecord>, StorageError> {
        self.read(move |db| {
            decode_all(
                &db.query(
                    "SELECT id, child, by_person, by_device, action, person, role, ends_on, reason,
                            refused_rule, at
                     FROM team_changes WHERE child = $1 ORDER BY at, n",
                    &[&child.to_string()],
                )?,
                rows::team_change,
            )
        })
    }

    fn audit_of_child(&self, child: ChildId) -> Result<Vec<AuditEntry>, StorageError> {
        self.read(move |db| {
            decode_all(
                &db.query(
                    "SELECT at, event, doc_key, change_hash, actor, device, person FROM audit_log
                     WHERE child = $1 ORDER BY id",
                    &[&child.to_string()],
                )?,
                rows::audit_entry,
            )
        })
    }

    fn set_duty(&self, person: PersonId, on: bool) -> Result<(), StorageError> {
        self.write(move |db| {
            rows::require(db, Entity::Person(person))?;
            let sql = if on {
                "INSERT INTO duty_workers (person) VALUES ($1) ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM duty_workers WHERE person = $1"
            };
            db.execute(sql, &[&person.to_string()])?;
            Ok(())
        })
    }

    fn duty_workers(&self, agency: Agency) -> Result<BTreeSet<PersonId>, StorageError> {
        self.read(move |db| {
            let rows = db.query(
                "SELECT d.person FROM duty_workers d JOIN people p ON p.id = d.person
                 WHERE p.agency = $1 AND p.kind = 'practitioner'",
                &[&agency.as_str()],
            )?;
            Ok(decode_all(&rows, |r| rows::key::<PersonId>(r, 0))?
                .into_iter()
                .collect())
        })
    }

    fn open_request(&self, request: &RequestRecord, at: UnixSeconds) -> Result<bool, StorageError> {
        let request = *request;
        self.write(move |db| {
            rows::require(db, Entity::Person(request.sender))?;
            let n = db.execute(
                "INSERT INTO requests (id, sender, sender_agency, to_agency, child, created_at)
                 VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (id) DO NOTHING",
                &[
                    &request.id.to_string(),
                    &request.sender.to_string(),
                    &request.sender_agency.as_str(),
                    &request.to.as_str(),
                    &at,
                ],
            )?;
            db.insert_document(&DocKey::Request(request.id), at)?;
            Ok(n == 1)
        })
    }

    fn request(&self, id: RequestId) -> Result<Option<RequestRecord>, StorageError> {
        self.read(move |db| {
            Ok(db
                .query_opt(
                    "SELECT id, sender, sender_agency, to_agency, child FROM requests WHERE id = $1",
                    &[&id.to_string()],
                )?
                .map(|row| rows::request(&row))
                .transpose()?)
        })
    }

    fn requests_of(&self, people: &BTreeSet<PersonId>) -> Result<Vec<RequestRecord>, StorageError> {
        let people: Vec<String> = people.iter().map(ToString::to_string).collect();
        self.read(move |db| {
            let rows = db.query(
                "SELECT id, sender, sender_agency, to_agency, child FROM requests
                 WHERE sender = ANY($1)
                    OR to_agency IN (SELECT p.agency FROM duty_workers d
                                     JOIN people p ON p.id = d.person WHERE d.person = ANY($1))
                 ORDER BY id",
                &[&people],
            )?;
            decode_all(&rows, rows::request)
        })
    }

    fn link_request(&self, id: RequestId, child: ChildId) -> Result<(), StorageError> {
        self.write(move |db| {
            rows::require(db, Entity::Child(child))?;
            db.execute(
                "UPDATE requests SET child = $2 WHERE id = $1",
                &[&id.to_string(), &child.to_string()],
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
        self.write(move |db| db.insert_audit(&rows::request_audit(id, event, by, at)))
    }
    fn wrapped_key(&self, owner: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let owner = owner.to_owned();
        self.read(move |db| {
            Ok(db
                .query_opt("SELECT wrapped FROM data_keys WHERE owner = $1", &[&owner])?
                .map(|row| row.bytes(0))
                .transpose()?)
        })
    }

    fn keep_wrapped_key(
        &self,
        owner: &str,
        wrapped: &[u8],
        at: UnixSeconds,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let (owner, wrapped) = (owner.to_owned(), wrapped.to_vec());
        self.write(move |db| {
            // Two instances making the first key at once: the second waits
            // for the first's commit, inserts nothing, and reads its key.
            db.execute(
                "INSERT INTO data_keys (owner, wrapped, created_at)
                 SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM erased_keys WHERE owner = $1)
                 ON CONFLICT (owner) DO NOTHING",
                &[&owner, &wrapped, &at],
            )?;
            Ok(db
                .query_opt("SELECT wrapped FROM data_keys WHERE owner = $1", &[&owner])?
                .map(|row| row.bytes(0))
                .transpose()?)
        })
    }

    fn wrapped_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        self.read(|db| {
            decode_all(
                &db.query("SELECT owner, wrapped FROM data_keys ORDER BY owner", &[])?,
                |row| Ok((row.text(0)?, row.bytes(1)?)),
            )
        })
    }

    fn rewrap_keys(&self, keys: &[(String, Vec<u8>, Vec<u8>)]) -> Result<(), StorageError> {
        let keys = keys.to_vec();
        self.write(move |db| {
            // Keys made meanwhile wait for this to commit (the table lock).
            db.execute("LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE", &[])?;
            let mut replaced = 0i64;
            for (owner, old, new) in &keys {
                let n = db.execute(
                    "UPDATE data_keys SET wrapped = $3 WHERE owner = $1 AND wrapped = $2",
                    &[owner, old, new],
                )?;
                replaced += i64::try_from(n).unwrap_or(0);
            }
            let total: i64 = db
                .query_one("SELECT count(*) FROM data_keys", &[])?
                .try_get(0)?;
            Ok(rows::all_rewrapped(replaced, total)?)
        })
    }

    fn erase_child(
        &self,
        child: ChildId,
        by: &str,
        reason: &str,
        at: UnixSeconds,
    ) -> Result<Erased, StorageError> {
        let (by, reason) = (by.to_owned(), reason.to_owned());
        self.write(move |db| {
            let id = child.to_string();
            let Some(row) = db.query_opt(
                "SELECT closed_on FROM children WHERE id = $1 FOR UPDATE",
                &[&id],
            )?
            else {
                return Err(Entity::Child(child).not_found().into());
            };
            let closed_on = row.opt_text(0)?;
            let requests: Vec<String> = decode_all(
                &db.query("SELECT id FROM requests WHERE child = $1", &[&id])?,
                |row| row.text(0),
            )?;
            let mut documents: Vec<String> = decode_all(
                &db.query("SELECT doc_key FROM documents WHERE child = $1", &[&id])?,
                |row| row.text(0),
            )?;
            for r in &requests {
                documents.push(DocKey::Request(rows::parse(r)?).to_string());
            }
            let changes =
                db.execute("DELETE FROM changes WHERE doc_key = ANY($1)", &[&documents])?;
            for sql in [
                "DELETE FROM sync_states WHERE doc_key = ANY($1)",
                "DELETE FROM quarantine WHERE doc_key = ANY($1)",
                "DELETE FROM refused_changes WHERE doc_key = ANY($1)",
            ] {
                db.execute(sql, &[&documents])?;
            }
            let removed = db.execute(
                "DELETE FROM documents WHERE doc_key = ANY($1)",
                &[&documents],
            )?;
            for sql in [
                "DELETE FROM team_members WHERE child = $1",
                "DELETE FROM team_changes WHERE child = $1",
                "DELETE FROM requests WHERE child = $1",
                "DELETE FROM children WHERE id = $1",
            ] {
                db.execute(sql, &[&id])?;
            }
            let owners: Vec<String> = std::iter::once(id.clone()).chain(requests).collect();
            db.execute("DELETE FROM data_keys WHERE owner = ANY($1)", &[&owners])?;
            for owner in &owners {
                db.execute(
                    "INSERT INTO erased_keys (owner, erased_at) VALUES ($1, $2)
                     ON CONFLICT (owner) DO NOTHING",
                    &[owner, &at],
                )?;
            }
            db.execute(
                "INSERT INTO erasures (child, erased_at, erased_by, reason, closed_on)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id, &at, &by, &reason, &closed_on],
            )?;
            db.insert_audit(&rows::erasure_audit(child, at))?;
            Ok(Erased {
                documents: removed,
                changes,
            })
        })
    }

    fn erasures(&self) -> Result<Vec<ErasureRecord>, StorageError> {
        self.read(|db| {
            decode_all(
                &db.query(
                    "SELECT child, erased_at, erased_by, reason, closed_on FROM erasures
                     ORDER BY erased_at, n",
                    &[],
                )?,
                rows::erasure,
            )
        })
    }

    fn close_case(&self, child: ChildId, on: IsoDate) -> Result<(), StorageError> {
        self.write(move |db| {
            let n = db.execute(
                "UPDATE children SET closed_on = $2 WHERE id = $1",
                &[&child.to_string(), &on.to_string()],
            )?;
            if n == 0 {
                return Err(Entity::Child(child).not_found().into());
            }
            Ok(())
        })
    }

    fn closed_cases(&self) -> Result<Vec<ClosedCase>, StorageError> {
        self.read(|db| {
            decode_all(
                &db.query(
                    "SELECT id, closed_on FROM children WHERE closed_on IS NOT NULL
                     ORDER BY closed_on, id",
                    &[],
                )?,
                rows::closed_case,
            )
        })
    }

    fn record_export(&self, export: &CaseExport) -> Result<(), StorageError> {
        let export = export.clone();
        self.write(move |db| {
            rows::require(db, Entity::Child(export.child))?;
            db.execute(
                "INSERT INTO case_exports (child, exported_at, exported_by, command, documents)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &export.child.to_string(),
                    &export.at,
                    &export.by,
                    &export.command,
                    &rows::export_documents(&export.documents),
                ],
            )?;
            for key in &export.documents {
                db.insert_audit(&rows::export_audit(export.child, key, export.at))?;
            }
            Ok(())
        })
    }

    fn exports(&self, child: ChildId) -> Result<Vec<CaseExport>, StorageError> {
        self.read(move |db| {
            decode_all(
                &db.query(
                    "SELECT child, exported_at, exported_by, command, documents FROM case_exports
                     WHERE child = $1 ORDER BY exported_at, n",
                    &[&child.to_string()],
                )?,
                rows::case_export,
            )
        })
    }
}
