//! The Bothy client core: everything the app does, without a window.
//!
//! - [`store`]: the encrypted SQLCipher store and how it is unlocked;
//! - [`directory`]: who is using the device and the teams it holds;
//! - [`documents`]: Automerge documents kept in the store, with index rows;
//! - [`services`]: the [`Client`] the views and the `bothy` command call;
//! - [`sync`]: enrolment and the [`SyncEngine`](sync::SyncEngine) that syncs with the server.
//!
//! No UI here: the Dioxus app and the tests drive the same [`Client`].

pub mod directory;
pub mod documents;
pub mod error;
pub mod services;
pub mod store;
pub mod sync;

pub use directory::{Directory, Me};
pub use error::ServiceError;
pub use services::Client;
