//! Support for Bothy's end-to-end tests and the `bothy-load` command.
//!
//! - [`server`]: a real sync server, in this process on port 0 or as the
//!   real `bothy-server` program (child process, for SIGKILL and restart),
//!   with readiness polled on `GET /health`;
//! - [`device`]: a real headless device: an encrypted store in a temporary
//!   folder, the client core and its sync engine; plus ways to tamper with
//!   it as a dishonest client would;
//! - [`proxy`]: a TCP proxy that cuts connections at random byte offsets;
//! - [`memory`]: a device kept in memory, driving the same sync engine, for
//!   load runs with hundreds of devices.
//!
//! Nothing here sleeps to wait for something to happen: readiness and
//! progress are polled or signalled.

use std::path::PathBuf;

pub mod device;
pub mod memory;
pub mod proxy;
pub mod server;

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
    Document(#[from] bothy_shared::docs::DocError),
    #[error("{0}")]
    Setup(String),
}

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
