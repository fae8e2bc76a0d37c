//! What the server's own integration tests share: a database for one test
//! on SQLite or PostgreSQL, and the small test partnership. They drive the
//! router with `oneshot` and the storage directly; tests that run devices
//! against a real server live in the `bothy-tests` crate (`tests/tests/`).
//!
//! The fixtures are the end-to-end harness's own `db` module, compiled in
//! here from its file: `bothy-tests` depends on this crate, so it cannot be
//! a dev-dependency of it.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

#[path = "../../../tests/src/db.rs"]
mod db;

pub use db::*;

use bothy_server::storage::{NewDevice, Storage};
use bothy_server::{auth, directory};
use bothy_shared::ids::{DeviceId, PersonId};
use bothy_shared::policy::Principal;

/// An enrolled device of `person`, as the sync engine sees it.
pub fn device(storage: &dyn Storage, person: PersonId) -> Principal {
    let code = code_for(storage, person).unwrap();
    let record = storage
        .redeem_enrol_code(
            &auth::code_hash(&code),
            now(),
            &NewDevice {
                id: DeviceId::random(),
                name: "test phone".to_owned(),
                public_key: vec![7; 32],
            },
        )
        .unwrap()
        .unwrap();
    let person = storage.person(person).unwrap().unwrap();
    directory::principal(storage, &record, &person).unwrap()
}
