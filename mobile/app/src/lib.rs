//! The Bothy app: Dioxus views over the client core ([`bothy_client::Client`]).
//!
//! - [`app`]: the root component, the one [`Route`] enum and the shell;
//! - [`core`]: the [`Device`] (the client crate's device core) provided once
//!   as a root context, read through [`use_client`];
//! - [`hooks`]: one named hook per view model (`use_caseload`, `use_child`…),
//!   and `use_visit_draft` for a visit kept as it is typed;
//! - `screens`: thin views, one per screen;
//! - `components`: labelled fields and the wellbeing wheel.
//!
//! No renderer is built by default. A platform entry point provides the core
//! and launches [`App`]:
//!
//! ```ignore
//! dioxus::LaunchBuilder::new()
//!     .with_context(bothy_app::Device::locked(data_dir, bothy_app::DeviceSettings::default()))
//!     .launch(bothy_app::App);
//! ```
//!
//! The entry points here: `bothy-desktop` (feature `desktop`) and
//! `bothy-liveview` (feature `liveview`, the app served to a browser over a
//! WebSocket; the browser tests use it). Phones are built with the Dioxus
//! CLI (feature `mobile`; see the README).
//!
//! Tests render it with `VirtualDom::new_with_props(AppAt, …)` and
//! `with_root_context(Device::unlocked(client))`.

pub mod app;
mod components;
pub mod core;
pub mod hooks;
mod screens;
mod words;

pub use app::{App, AppAt, AppAtProps, Route};
pub use bothy_client::device::{Device, DeviceSettings, SyncRunError, UnlockFailure};
pub use core::{ClientHandle, ViewError, use_client};

#[cfg(feature = "liveview")]
pub mod liveview;
