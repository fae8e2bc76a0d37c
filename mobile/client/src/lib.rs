//! The Bothy client core: everything the app does, without a window.
//!
//! - [`store`]: the encrypted SQLCipher store and how it is unlocked;
//! - [`directory`]: who is using the device and the teams it holds;
//! - [`documents`]: Automerge documents kept in the store: load, save, compact;
//! - [`index`]: the rows the lists and a child's page read, projected from
//!   documents, and every query on them;
//! - [`services`]: the [`Client`] the views and the `bothy` command call;
//! - [`sync`]: enrolment and the [`SyncEngine`](sync::SyncEngine) that syncs with the server.
//!
//! No module imports one that imports it back. From the bottom: `store` and
//! `directory` use no other module; `index` uses `store`; `error` uses
//! `store` and `index`; `documents` uses `store` and `error`; `services`
//! uses all of those; `sync` uses `services`, `directory`, `error` and
//! `store` (never the reverse); the `bothy` binary sits over all of them.
//!
//! No UI here: the Dioxus app and the tests drive the same [`Client`].

pub mod directory;
pub mod documents;
pub mod error;
pub mod index;
pub mod services;
pub mod store;
pub mod sync;

pub use directory::{Directory, Me};
pub use error::ServiceError;
pub use services::Client;
