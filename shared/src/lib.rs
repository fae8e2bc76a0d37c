//! The core every side of Bothy agrees on.
//!
//! No I/O, no async runtime, no UI: the GIRFEC documents as Automerge CRDTs
//! ([`docs`]), the single access policy both the device and the server call
//! ([`policy`], [`gate`]), containment of malformed bytes ([`robust`]), and the
//! sync wire types and request signing ([`wire`], [`signing`]), and the
//! signed form of a child's plan exported as a PDF ([`export`]).
//!
//! With the `demo` feature (off by default) it also holds `demo`: a fictional
//! partnership, built in memory, for the demo server, the app's demo mode and
//! tests. The sync server, the client and the test crates turn it on; nothing
//! in the model depends on it.

#[cfg(any(test, feature = "demo"))]
pub mod demo;
pub mod docs;
pub mod export;
pub mod gate;
pub mod ids;
pub mod outcomes;
pub mod policy;
pub mod refused;
pub mod robust;
pub mod signing;
mod slug;
pub mod team;
pub mod wire;
