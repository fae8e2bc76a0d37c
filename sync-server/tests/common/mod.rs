//! What the server's own integration tests share: a database for one test
//! on SQLite or PostgreSQL, and the small test partnership. They drive the
//! router with `oneshot` and the storage directly; tests that run devices
//! against a real server live in the `bothy-tests` crate (`tests/tests/`).
//!
//! The fixtures are the end-to-end harness's own `db` module, compiled in
//! here from its file: `bothy-tests` depends on this crate, so it cannot be
//! a dev-dependency of it.

#![allow(dead_code, unreachable_pub)]

#[path = "../../../tests/src/db.rs"]
mod db;

pub use db::*;
