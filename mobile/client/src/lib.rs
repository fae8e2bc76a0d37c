//! The Bothy client core: everything the app does, without a window.
//!
//! - [`store`]: the encrypted SQLCipher store and how it is unlocked;
//! - `directory` (private; [`Directory`] and [`Me`] re-exported): who is using the device and the teams it holds;
//! - `documents` (private): Automerge documents kept in the store: load, save, compact;
//! - [`index`]: the rows the lists and a child's page read, projected from
//!   documents, and every query on them;
//! - [`services`]: the [`Client`] the views and the `bothy` command call;
//! - [`sync`]: enrolment and the [`SyncEngine`](sync::SyncEngine) that syncs with the server;
//! - [`device`]: the [`Device`]: unlock, lock, idle lock, sync runs and the
//!   wipe after a revocation, shared by the app's windows and the `bothy` command;
//! - [`export`]: a child's plan as a signed PDF (`bothy export`, the Export buttons).
//!
//! No module imports one that imports it back. From the bottom: `store` and
//! `directory` use no other module; `index` uses `store`; `error` uses
//! `store` and `index`; `documents` uses `store` and `error`; `services`
//! uses all of those; `sync` uses `services`, `directory`, `error` and
//! `store` (never the reverse); `device` sits over `sync` and `services`;
//! `export` sits over `services` (and reads the device key's meta name from
//! `sync`); the `bothy` binary over all of them.
//!
//! No UI here: the Dioxus app, the `bothy` command and the tests drive the
//! same [`Device`] and [`Client`].

// The public API: the device, the client and its view models, the store's
// unlock types, the sync engine, and the index rows the store's own tests
// write. How documents are kept, the directory's storage and the error
// module are private; what callers need of them is re-exported here.
pub mod device;
mod directory;
mod documents;
mod error;
pub mod export;
pub mod index;
pub mod services;
pub mod store;
pub mod sync;
pub mod words;

pub use device::{Device, DeviceSettings};
pub use directory::{Directory, Me};
pub use documents::COMPACT_AFTER;
pub use error::ServiceError;
pub use services::Client;
