//! Opening the SQLCipher database file: key, checks, pragmas, migrations.
//!
//! Opening an existing file never writes to it before it has been proven to
//! be a readable Bothy database, whole to its last page: a wrong key, a
//! garbage file, an empty or truncated file all fail with a distinct
//! [`StoreError`] and leave the file exactly as it was, so a backup can still
//! be restored over it. Every page is HMAC-verified as it is read; the check
//! of every page at once runs after unlock (`super::integrity`).

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Once;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use rusqlite_migration::SchemaVersion;

use super::schema;
use super::secret::DatabaseKey;

/// File name of the database inside the data directory.
pub const DATABASE_FILE_NAME: &str = "bothy.db";

/// Errors opening or using the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key file exists but the database file does not. Nothing is
    /// created in its place: an empty store would hide the loss.
    #[error("the database file is missing")]
    DatabaseMissing,
    /// SQLCipher cannot read the file with this key: it is not a database,
    /// or not the database this key file belongs to.
    #[error("the database file is not a Bothy database or does not match its key")]
    NotADatabase,
    /// The file decrypts but is damaged: truncated, empty, or with pages
    /// that fail their integrity check.
    #[error("the database file is damaged")]
    Corrupt,
    /// The data directory already holds a store.
    #[error("a store already exists in this directory")]
    AlreadyExists,
    /// The schema could not be brought up to date (for example, the file
    /// was written by a newer app).
    #[error("the database schema could not be migrated: {0}")]
    Migration(#[source] Box<rusqlite_migration::Error>),
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// The file system cannot hold a write-ahead log (no shared memory), so
    /// a commit would not be durable the way the store promises; refused.
    #[error("the file system does not support write-ahead logging (journal mode {journal_mode})")]
    WalUnsupported {
        /// The journal mode SQLite fell back to.
        journal_mode: String,
    },
    /// File-system error around the database.
    #[error("file error: {0}")]
    Io(#[from] io::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => StoreError::NotADatabase,
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt,
            _ => StoreError::Sqlite(error),
        }
    }
}

impl From<rusqlite_migration::Error> for StoreError {
    fn from(error: rusqlite_migration::Error) -> Self {
        match error {
            rusqlite_migration::Error::RusqliteError { err, .. } => StoreError::from(err),
            other => StoreError::Migration(Box::new(other)),
        }
    }
}

/// How the file is encrypted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Encryption<'k> {
    /// SQLCipher with this raw key: the only mode the app uses.
    Key(&'k DatabaseKey),
    /// No encryption, to measure SQLCipher's cost in benchmarks.
    #[cfg(feature = "bench-plaintext")]
    Plaintext,
}

/// Creates a new database file at `path` (which must not exist) with the
/// full schema.
pub(crate) fn create(path: &Path, encryption: Encryption<'_>) -> Result<Connection, StoreError> {
    if path.try_exists()? {
        return Err(StoreError::AlreadyExists);
    }
    sqlcipher_ready();
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    apply_key(&conn, encryption)?;
    configure(&conn)?;
    schema::migrations().to_latest(&mut conn)?;
    Ok(conn)
}

/// Opens an existing database file, proving it is a Bothy database that
/// is not cut short before anything is written, then brings its schema up
/// to date. Pages it does not read are checked by the background check
/// (`super::integrity`), on a connection from [`open_for_check`].
pub(crate) fn open_existing(
    path: &Path,
    encryption: Encryption<'_>,
) -> Result<Connection, StoreError> {
    match fs::metadata(path) {
        Ok(meta) if meta.len() == 0 => return Err(StoreError::Corrupt),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(StoreError::DatabaseMissing);
        }
        Err(error) => return Err(StoreError::Io(error)),
    }
    sqlcipher_ready();
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    apply_key(&conn, encryption)?;

    // The first real read: a wrong key or a file that is not a database
    // fails here with SQLITE_NOTADB.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    })?;
    // A store is only handed out after its schema exists, so no schema means
    // the file was emptied or replaced. Checked before any write so an
    // empty file is never quietly turned into an empty store.
    if schema::migrations().current_version(&conn)? == SchemaVersion::NoneSet {
        return Err(StoreError::Corrupt);
    }
    // Every page read so far (the header, `sqlite_master`, the migrations'
    // version) had its HMAC verified as it was decrypted, and SQLite has
    // compared the header's page count with the file's length (a truncated
    // file is SQLITE_CORRUPT above). Reading every other page now would
    // make unlocking as slow as the store is large: that check runs after
    // unlock, in the background (`super::integrity`).

    configure(&conn)?;
    schema::migrations().to_latest(&mut conn)?;
    Ok(conn)
}

/// Opens a second connection to a database that [`open_existing`] has just
/// opened with the same key, for the background integrity check. It only
/// reads, apart from one `meta` row once the check has passed.
pub(crate) fn open_for_check(
    path: &Path,
    encryption: Encryption<'_>,
) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    apply_key(&conn, encryption)?;
    conn.execute_batch(
        "PRAGMA temp_store = MEMORY;
         PRAGMA busy_timeout = 1000;",
    )?;
    Ok(conn)
}

/// Waits until SQLCipher has finished starting up in this process.
///
/// SQLite marks itself initialised and only then, outside its lock, runs
/// SQLCipher's start-up hook (`SQLITE_EXTRA_INIT`). A second thread that
/// opens a database in that window finds SQLite ready but SQLCipher not, and
/// its `PRAGMA key` fails ("An error occurred with PRAGMA key or rekey"), so
/// a store would not open for no fault of its own. Every open passes
/// through here: the first one opens a throwaway in-memory connection, which
/// returns only after the whole initialisation (hook included) has run in
/// that thread, and the others wait for it.
fn sqlcipher_ready() {
    static READY: Once = Once::new();
    READY.call_once(|| {
        // Only the side effect matters; if this open fails, the real open
        // that follows fails the same way and reports why.
        drop(Connection::open_in_memory());
    });
}

fn apply_key(conn: &Connection, encryption: Encryption<'_>) -> Result<(), StoreError> {
    match encryption {
        Encryption::Key(key) => {
            // Raw key: no PBKDF2 per open (the passcode already went through
            // Argon2id). The SQL text is wiped when `sql` drops.
            let sql = key.key_pragma();
            conn.execute_batch(&sql)?;
            // Must follow the key: SQLCipher sets its default log level (to
            // stderr) when its codec first activates, which the key does.
            conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        }
        #[cfg(feature = "bench-plaintext")]
        Encryption::Plaintext => {}
    }
    Ok(())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Only happens on file systems without shared memory; without WAL
        // the durability reasoning above does not hold, so refuse.
        return Err(StoreError::WalUnsupported { journal_mode: mode });
    }
    // FULL: a commit is on disk (WAL synced) before it returns, so a saved
    // record survives power loss. MEMORY: no plaintext temp files.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    Ok(())
}
