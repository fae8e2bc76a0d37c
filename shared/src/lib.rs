//! The core every side of Bothy agrees on.
//!
//! No I/O, no async runtime, no UI: the GIRFEC documents as Automerge CRDTs
//! ([`docs`]), the single access policy both the device and the server call
//! ([`policy`], [`gate`]), containment of malformed bytes ([`robust`]), and the
//! sync wire types and request signing ([`wire`], [`signing`]).

pub mod demo;
pub mod docs;
pub mod gate;
pub mod ids;
pub mod policy;
pub mod robust;
pub mod signing;
pub mod wire;
