//! A server database for one test, on either storage backend, and the small
//! partnership the protocol tests seed into it.
//!
//! This one file is compiled into two crates: this harness
//! (`bothy_tests::db`) and the server's own integration tests
//! (`sync-server/tests/common`, by `#[path]`), whose router and storage
//! contract tests need databases but no devices. They cannot use this crate
//! as a dev-dependency, since it depends on the server, so the file uses
//! only what both crates have: the server, the shared core, `postgres`,
//! `tempfile`, `thiserror` and `uuid`.
//!
//! Tests on PostgreSQL need a server at `BOTHY_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432`, trust authentication; a URL without
//! a database name). Each such test gets a fresh schema `bothy_test_<random>`
//! in the database `bothy_test` (created through the `postgres` maintenance
//! database the first time) and drops it at the end, so they run in
//! parallel; the storage's URL sets `search_path` to that schema. A schema
//! rather than a database per test: creating and dropping a database takes
//! about a second here, a schema milliseconds. They fail, with a message
//! saying so, when PostgreSQL is unreachable: `scripts/test.sh` starts it.

use std::sync::Arc;
use std::time::Duration;

use bothy_server::storage::{self, Storage};
use bothy_server::{auth, directory};
use bothy_shared::ids::{Agency, ChildId, PersonId};
use bothy_shared::policy::{PersonKind, TeamRole};
use tempfile::TempDir;

/// The server's clock, as the tests sign and seed with it.
pub fn now() -> i64 {
    bothy_server::now()
}

/// Which storage backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL schema (see the module documentation).
    Postgres,
}

/// Turn `async fn name(backend: Backend)` tests into one `#[tokio::test]`
/// per backend: `sqlite::name` and `postgres::name`. `Backend` must be in
/// scope where it is used.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                /// Needs PostgreSQL at `BOTHY_PG_URL` (default
                /// `postgres://postgres@127.0.0.1:5432`); fails if it is unreachable.
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Why a test database could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "PostgreSQL is not reachable at {url}. This test needs it: run \
         scripts/test.sh (which starts it), start it yourself \
         (pg_ctlcluster <version> main start), or point BOTHY_PG_URL at one"
    )]
    Unreachable {
        url: String,
        #[source]
        source: postgres::Error,
    },
    #[error("PostgreSQL refused `{sql}`")]
    Sql {
        sql: String,
        #[source]
        source: postgres::Error,
    },
    #[error("the PostgreSQL admin thread panicked")]
    AdminThread,
    #[error("no temporary directory for the SQLite file or the master key")]
    TempDir(#[source] std::io::Error),
    #[error("no master key file for the PostgreSQL test database")]
    MasterKey(#[source] storage::keys::MasterKeyError),
}

/// An error and its causes on one line, for a test's panic message.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        line.push_str(&format!(": {e}"));
        cause = e.source();
    }
    line
}

/// The PostgreSQL server tests use, as a URL without a database name.
pub fn pg_server_url() -> String {
    std::env::var("BOTHY_PG_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The database that holds every test's schema.
const PG_TEST_DATABASE: &str = "bothy_test";

/// Run SQL on a database of the test server (`postgres` is the maintenance
/// one), on a thread of its own: the synchronous client must not run inside
/// a tokio task.
fn pg_run(database: &str, sql: String) -> Result<(), DbError> {
    let url = format!("{}/{database}", pg_server_url());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .map_err(|source| DbError::Unreachable { url, source })?;
        client
            .batch_execute(&sql)
            .map_err(|source| DbError::Sql { sql, source })
    })
    .join()
    .unwrap_or(Err(DbError::AdminThread))
}

/// Create the test database unless it exists (another test process may be
/// creating it at the same moment: then it exists afterwards).
fn pg_test_database() -> Result<(), DbError> {
    static CREATED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if CREATED.get().is_some() {
        return Ok(());
    }
    match pg_run("postgres", format!("CREATE DATABASE {PG_TEST_DATABASE}")) {
        Ok(()) => {}
        // duplicate_database, or unique_violation when racing another creator.
        Err(DbError::Sql { source, .. })
            if source.code() == Some(&postgres::error::SqlState::DUPLICATE_DATABASE)
                || source.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {}
        Err(e) => return Err(e),
    }
    let _ = CREATED.set(());
    Ok(())
}

/// A database for one test: a SQLite file in a temporary directory, or a
/// fresh PostgreSQL schema, dropped with everything in it when this is.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    /// The master key file of a PostgreSQL database (a SQLite one's is
    /// `<path>.key`, made when it is first opened).
    pub key_file: Option<std::path::PathBuf>,
    _dir: Option<TempDir>,
    pg_schema: Option<String>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("url", &self.url).finish()
    }
}

impl TestDb {
    /// A fresh database on `backend`.
    pub fn create(backend: Backend) -> Result<TestDb, DbError> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().map_err(DbError::TempDir)?;
                Ok(TestDb {
                    url: format!("sqlite://{}", dir.path().join("server.db").display()),
                    backend,
                    key_file: None,
                    _dir: Some(dir),
                    pg_schema: None,
                })
            }
            Backend::Postgres => {
                pg_test_database()?;
                let schema = format!("bothy_test_{}", uuid::Uuid::new_v4().simple());
                pg_run(PG_TEST_DATABASE, format!("CREATE SCHEMA {schema}"))?;
                let dir = tempfile::tempdir().map_err(DbError::TempDir)?;
                let key_file = dir.path().join("master.key");
                storage::keys::MasterKey::random()
                    .map_err(|e| DbError::MasterKey(e.into()))?
                    .write_new_file(&key_file)
                    .map_err(DbError::MasterKey)?;
                Ok(TestDb {
                    url: format!(
                        "{}/{PG_TEST_DATABASE}?options=-c%20search_path%3D{schema}",
                        pg_server_url()
                    ),
                    backend,
                    key_file: Some(key_file),
                    _dir: Some(dir),
                    pg_schema: Some(schema),
                })
            }
        }
    }

    /// As [`TestDb::create`], failing the test with the reason.
    #[allow(
        clippy::panic,
        reason = "a test fixture: the test cannot run without it"
    )]
    pub fn new(backend: Backend) -> TestDb {
        Self::create(backend).unwrap_or_else(|e| panic!("{}", with_causes(&e)))
    }

    /// A storage connection to this database, failing the test if it opens
    /// none.
    #[allow(
        clippy::panic,
        reason = "a test fixture: the test cannot run without it"
    )]
    pub fn open(&self) -> Arc<dyn Storage> {
        self.try_open()
            .unwrap_or_else(|e| panic!("opening {}: {}", self.url, with_causes(&e)))
    }

    /// The PostgreSQL schema holding this database (`None` for SQLite).
    pub fn pg_schema(&self) -> Option<&str> {
        self.pg_schema.as_deref()
    }

    /// The name of the PostgreSQL database every test schema lives in.
    pub fn pg_database() -> &'static str {
        PG_TEST_DATABASE
    }

    /// A storage connection to this database, with its master key.
    pub fn try_open(&self) -> Result<Arc<dyn Storage>, storage::StorageError> {
        storage::open_with_key_file(&self.url, self.key_file.as_deref())
    }

    /// The arguments that give `bothy-server` this database's master key
    /// (none for SQLite: the server finds the key file beside it).
    pub fn key_args(&self) -> Vec<String> {
        match &self.key_file {
            Some(file) => vec!["--master-key-file".to_owned(), file.display().to_string()],
            None => Vec::new(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            let dropped = pg_run(
                PG_TEST_DATABASE,
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            );
            if let Err(e) = dropped {
                eprintln!(
                    "could not drop the test schema {schema}: {}",
                    with_causes(&e)
                );
            }
        }
    }
}

/// Who is who in the small test partnership of [`seed`].
#[derive(Debug, Clone, Copy)]
pub struct People {
    /// Social worker, lead professional for `child`.
    pub social_worker: PersonId,
    /// Health visitor, named person for `child`.
    pub health_visitor: PersonId,
    /// Social work team manager, supervises the social worker.
    pub supervisor: PersonId,
    /// The young person `child` is.
    pub young_person: PersonId,
    /// A police officer on `other_child`'s team only.
    pub police_officer: PersonId,
    pub child: ChildId,
    pub other_child: ChildId,
}

/// Build the small test partnership with the same admin operations the CLI
/// uses.
pub fn seed(storage: &dyn Storage) -> Result<People, directory::DirectoryError> {
    let at = now();
    let child = directory::add_child(storage, ChildId::random(), "Test Child", at)?.id;
    let other_child = directory::add_child(storage, ChildId::random(), "Other Child", at)?.id;
    let person = |name: &str, kind: PersonKind, agency: Option<Agency>| {
        directory::add_person(storage, PersonId::random(), name, kind, agency).map(|p| p.id)
    };
    let social_worker = person(
        "Morag Social",
        PersonKind::Practitioner,
        Some(Agency::SocialWork),
    )?;
    let health_visitor = person(
        "Aileen Health",
        PersonKind::Practitioner,
        Some(Agency::Health),
    )?;
    let supervisor = person(
        "Iain Manager",
        PersonKind::Supervisor,
        Some(Agency::SocialWork),
    )?;
    let young_person = person("Skye", PersonKind::YoungPerson { child }, None)?;
    let police_officer = person(
        "Ross Police",
        PersonKind::Practitioner,
        Some(Agency::Police),
    )?;
    directory::add_team_member(
        storage,
        child,
        social_worker,
        TeamRole::LeadProfessional,
        at,
    )?;
    directory::add_team_member(storage, child, health_visitor, TeamRole::NamedPerson, at)?;
    directory::add_team_member(
        storage,
        other_child,
        police_officer,
        TeamRole::LeadProfessional,
        at,
    )?;
    directory::set_supervisor(storage, supervisor, social_worker)?;
    Ok(People {
        social_worker,
        health_visitor,
        supervisor,
        young_person,
        police_officer,
        child,
        other_child,
    })
}

/// A one-time enrolment code for `person`, valid for an hour.
pub fn code_for(storage: &dyn Storage, person: PersonId) -> Result<String, auth::CodeError> {
    auth::issue_enrol_code(storage, person, Duration::from_secs(3600), now())
}
