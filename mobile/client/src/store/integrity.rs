//! The full integrity check, run on a thread of its own after unlocking.
//!
//! Reading every page of the database (`PRAGMA quick_check`) takes time in
//! proportion to the store: on a caseload of 40 children with five years of
//! history it costs more than the rest of unlocking put together. So it no
//! longer stands between the passcode and the caseload. What is proven, and
//! when:
//!
//! - **At unlock, before anything is handed out** ([`db::open_existing`](super::db)):
//!   the key is right and the file is a Bothy database (page 1 decrypts and
//!   its HMAC verifies, else `NotADatabase`); the file is not empty or cut
//!   short (SQLite compares the page count in the header with the file's
//!   length: a truncated file is `Corrupt`); the schema exists (the pages of
//!   `sqlite_master`, each HMAC-verified as read). Then the directory row the
//!   client core opens with, and the caseload's index rows when the app
//!   reads them.
//! - **As pages are read, always**: SQLCipher checks every page's HMAC as it
//!   decrypts it, so a damaged page is never returned as data. A read that
//!   meets one fails with [`StoreError::Corrupt`](super::StoreError::Corrupt) (the same outcome and the
//!   same words the unlock screen gives a damaged file today).
//! - **In the background, seconds after unlock**: a second connection, opened
//!   with the key while unlocking (the key itself is never handed to the
//!   thread), runs `PRAGMA quick_check(1)`: every page of every table and
//!   index is read and HMAC-verified and every b-tree's structure checked,
//!   exactly what unlocking used to do before handing out the store. It
//!   finds damage in pages nobody has read yet (old changes, old visits). Its
//!   result is kept on the [`Store`](super::Store) ([`Store::integrity`](super::Store::integrity)); once it
//!   reports damage every write is refused with
//!   [`StoreError::Corrupt`](super::StoreError::Corrupt) so
//!   nothing new is written into a damaged file, and the worker is told to
//!   restore from a backup. A pass is also written to `meta`
//!   (`integrity_passed_at`, Unix milliseconds), so the next unlock can say
//!   when the store was last known whole while its own check runs.
//!
//! Locking interrupts a check still running (its connection closes with the
//! store, so SQLCipher forgets its copy of the key too); the next unlock
//! checks again from the start.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, ErrorCode, InterruptHandle, params};

use super::tx;

/// The `meta` key holding when the full check last passed (Unix
/// milliseconds, as decimal text).
pub const INTEGRITY_PASSED_META: &str = "integrity_passed_at";

/// What the full integrity check has found since this unlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// The check has not finished yet (or was stopped). `last_passed_at` is
    /// when a check last passed on this store, if one ever did (Unix
    /// milliseconds).
    NotYet {
        /// When the full check last passed, before this unlock.
        last_passed_at: Option<i64>,
    },
    /// Every page was read and verified at `at` (Unix milliseconds).
    Passed {
        /// When the check finished.
        at: i64,
    },
    /// A page failed its check: the store is damaged. Writes are refused;
    /// restore from a backup.
    Damaged,
}

/// Where the check has got to (kept between the thread and the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Running, or never started (a new store).
    Pending,
    Passed {
        at: i64,
    },
    Damaged,
}

/// The check run for one unlocked store; stopped when dropped.
#[derive(Default)]
pub(crate) struct BackgroundCheck {
    state: Arc<Mutex<Option<State>>>,
    interrupt: Option<InterruptHandle>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundCheck {
    /// No check at all (a store just created: there is nothing old to check).
    pub(crate) fn none() -> Self {
        BackgroundCheck::default()
    }

    /// Starts the full check on `conn`, a second connection to the store
    /// that was just unlocked. If no thread can be started the check runs
    /// here and now instead, as unlocking always used to.
    pub(crate) fn start(conn: Connection) -> Self {
        let state = Arc::new(Mutex::new(Some(State::Pending)));
        let interrupt = conn.get_interrupt_handle();
        // The connection moves into the thread only if the thread starts; on
        // failure it comes back through this slot and is checked here.
        let slot = Arc::new(Mutex::new(Some(conn)));
        let thread_slot = Arc::clone(&slot);
        let thread_state = Arc::clone(&state);
        let spawned = std::thread::Builder::new()
            .name("bothy-integrity".into())
            .spawn(move || {
                if let Some(conn) = lock(&thread_slot).take() {
                    run(conn, &thread_state);
                }
            });
        match spawned {
            Ok(thread) => BackgroundCheck {
                state,
                interrupt: Some(interrupt),
                thread: Some(thread),
            },
            Err(_) => {
                if let Some(conn) = lock(&slot).take() {
                    run(conn, &state);
                }
                BackgroundCheck {
                    state,
                    interrupt: None,
                    thread: None,
                }
            }
        }
    }

    /// Whether the check found damage.
    pub(crate) fn is_damaged(&self) -> bool {
        *lock(&self.state) == Some(State::Damaged)
    }

    /// What the check has found; `last_passed_at` is given back in
    /// [`Integrity::NotYet`] for a check not finished.
    pub(crate) fn integrity(&self, last_passed_at: Option<i64>) -> Integrity {
        match *lock(&self.state) {
            Some(State::Passed { at }) => Integrity::Passed { at },
            Some(State::Damaged) => Integrity::Damaged,
            Some(State::Pending) | None => Integrity::NotYet { last_passed_at },
        }
    }

    /// Records a check run on the store's own connection (`bothy check`).
    pub(crate) fn record(&self, found: Integrity) {
        let state = match found {
            Integrity::Passed { at } => State::Passed { at },
            Integrity::Damaged => State::Damaged,
            Integrity::NotYet { .. } => return,
        };
        *lock(&self.state) = Some(state);
    }

    /// Waits for the check to finish (tests, the load command, `bothy check`).
    pub(crate) fn wait(&mut self) {
        if let Some(thread) = self.thread.take() {
            // A panic on the check thread leaves the state Pending: NotYet.
            let _ = thread.join();
        }
    }

    /// Stops a check still running and waits for its thread (and its
    /// connection) to end.
    pub(crate) fn stop(&mut self) {
        if let Some(interrupt) = self.interrupt.take() {
            interrupt.interrupt();
        }
        self.wait();
    }
}

impl Drop for BackgroundCheck {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The state, even if a panic elsewhere poisoned the lock: every change to
/// it is a single assignment.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the check on `conn` and records the outcome in `state`; a pass is
/// also written to `meta`. The connection closes when this returns.
fn run(conn: Connection, state: &Mutex<Option<State>>) {
    let found = match full_check(&conn) {
        Ok(found) => found,
        // Interrupted by locking, or an error that says nothing about the
        // file's pages (out of memory, say): not known yet.
        Err(_) => return,
    };
    let outcome = match found {
        Integrity::Passed { at } => {
            // Best effort: the pass is already known in memory; the row only
            // tells the next unlock when the store was last known whole.
            let _ = conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![INTEGRITY_PASSED_META, at.to_string().into_bytes()],
            );
            State::Passed { at }
        }
        Integrity::Damaged => State::Damaged,
        Integrity::NotYet { .. } => return,
    };
    *lock(state) = Some(outcome);
}

/// Reads and verifies every page: `Passed` or `Damaged`. An error is
/// returned only when the check could not run to the end for a reason that
/// is not damage (interrupted, out of memory…).
pub(crate) fn full_check(conn: &Connection) -> Result<Integrity, rusqlite::Error> {
    match conn.query_row("PRAGMA quick_check(1)", [], |row| row.get::<_, String>(0)) {
        Ok(answer) if answer == "ok" => Ok(Integrity::Passed { at: tx::now_ms() }),
        Ok(_) => Ok(Integrity::Damaged),
        Err(error) if is_damage(&error) => Ok(Integrity::Damaged),
        Err(error) => Err(error),
    }
}

/// Whether a SQLite error means a page did not read back as written.
pub(crate) fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// When the full check last passed, from `meta`.
pub(crate) fn last_passed_at(value: Option<Vec<u8>>) -> Option<i64> {
    value
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
}
