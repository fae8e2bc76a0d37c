//! The one harness that runs devices against a server: Bothy's end-to-end
//! tests (`tests/tests/`), the browser and desktop journeys, and the
//! `bothy-load` command.
//!
//! - [`bytes`]: what a device received and keeps, searched byte by byte;
//! - [`cli`]: the `bothy` command run as scripts run it;
//! - [`db`]: a database for one test on SQLite or PostgreSQL, and the small
//!   partnership the protocol tests seed (also compiled into the server's
//!   own router and storage tests, which need no devices);
//! - [`server`]: a real sync server, in this process on port 0 (either
//!   backend, the small or the demo partnership, several instances on one
//!   database) or as the real `bothy-server` program (child process, for
//!   SIGKILL and restart);
//! - [`device`]: a real headless device: an encrypted store in a temporary
//!   folder, the client core and its sync engine; plus ways to tamper with
//!   it as a dishonest client would;
//! - [`device_history`]: a phone over a caseload with years of history:
//!   unlock to the caseload, storage per child-year, compaction
//!   (`bothy-load --device-history`);
//! - [`wire_device`]: a device made of Automerge documents and a signing
//!   key that speaks the protocol directly, for the server's edges;
//! - [`proxy`]: a TCP proxy that cuts connections at random byte offsets;
//! - [`memory`]: a device kept in memory, driving the same sync engine, for
//!   load runs with hundreds of devices;
//! - [`history`]: synthetic children with a year or more of plausible
//!   history, written straight into a server's database (`bothy-load
//!   --children`, the outcomes report's tests and timings);
//! - [`history_memory`]: the server's resident memory and throughput over
//!   such a history, cache cold and warm (`bothy-load --memory-history`).
//! - [`history_merge`]: what a merged change costs the server on documents
//!   with a long history against a short one (`bothy-load --merge-history`).
//!
//! Nothing here sleeps to wait for something to happen: readiness and
//! progress are polled or signalled.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bothy_shared::docs::{DocKey, Sharing, Text, Timestamp, Visit, VisitKind};
use bothy_shared::ids::{Agency, ItemId, PersonId};

pub mod bytes;
pub mod cli;
pub mod db;
pub mod device;
pub mod device_history;
pub mod first_sync;
pub mod history;
pub mod history_memory;
pub mod history_merge;
pub mod memory;
pub mod proxy;
pub mod server;
pub mod wire_device;

/// What can go wrong setting up or driving a test partnership.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] bothy_server::StorageError),
    #[error(transparent)]
    Server(#[from] bothy_server::ServerError),
    #[error(transparent)]
    Directory(#[from] bothy_server::directory::DirectoryError),
    #[error(transparent)]
    Demo(#[from] bothy_server::demo::DemoError),
    #[error(transparent)]
    Code(#[from] bothy_server::auth::CodeError),
    #[error(transparent)]
    Sync(#[from] bothy_client::sync::SyncError),
    #[error(transparent)]
    Service(#[from] bothy_client::ServiceError),
    #[error(transparent)]
    Store(#[from] bothy_client::store::StoreError),
    #[error(transparent)]
    CreateStore(#[from] bothy_client::store::CreateError),
    #[error(transparent)]
    UnlockStore(#[from] bothy_client::store::UnlockError),
    #[error(transparent)]
    Unlock(#[from] bothy_client::device::UnlockFailure),
    #[error(transparent)]
    Malformed(#[from] bothy_shared::robust::MalformedError),
    #[error(transparent)]
    Sqlite(#[from] bothy_client::store::rusqlite::Error),
    #[error(transparent)]
    Document(#[from] bothy_shared::docs::DocError),
    #[error(transparent)]
    Database(#[from] db::DbError),
    #[error("the server refused: {0} {1:?}")]
    Refused(reqwest::StatusCode, bothy_shared::wire::ErrorBody),
    #[error(transparent)]
    Automerge(#[from] Box<automerge::AutomergeError>),
    #[error(transparent)]
    Reconcile(#[from] Box<autosurgeon::ReconcileError>),
    #[error(transparent)]
    Hydrate(#[from] Box<autosurgeon::HydrateError>),
    #[error("{0}")]
    Setup(String),
}

/// Automerge's and autosurgeon's errors are large: boxed, so every
/// `Result` of the harness stays small.
macro_rules! boxed_from {
    ($($error:ty),*) => {$(
        impl From<$error> for HarnessError {
            fn from(e: $error) -> Self {
                Box::new(e).into()
            }
        }
    )*};
}
boxed_from!(
    automerge::AutomergeError,
    autosurgeon::ReconcileError,
    autosurgeon::HydrateError
);

/// Results of the harness.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

/// Where the app tests keep their screenshots: `BOTHY_SCREENSHOTS`, else
/// `bothy-screens` in the cargo target directory.
pub fn screenshots_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BOTHY_SCREENSHOTS") {
        return PathBuf::from(dir);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(|root| root.join("target"))
                .unwrap_or_else(|| PathBuf::from("target"))
        })
        .join("bothy-screens")
}

/// A home visit by `practitioner` (`name`, of `agency`), with `words` as
/// its observations, shared as widely as the document `key` it goes into
/// allows: what the simulated devices of this harness record.
pub fn home_visit(
    key: DocKey,
    practitioner: PersonId,
    name: String,
    agency: Agency,
    words: &str,
) -> Visit {
    let id = ItemId::random();
    Visit {
        id,
        at: Timestamp::now(),
        place: "Home".into(),
        kind: VisitKind::Home,
        practitioner,
        practitioner_name: name,
        agency,
        present: vec![],
        child_seen: true,
        seen_alone: false,
        observations: Text::with_value(words),
        analysis: Text::default(),
        child_said: Text::default(),
        next_steps: Text::default(),
        linked_actions: vec![],
        sharing: if matches!(key, DocKey::Agency(..)) {
            Sharing::Agency
        } else {
            Sharing::Team
        },
        significant: false,
        finalised: None,
        addenda: BTreeMap::new(),
    }
}
