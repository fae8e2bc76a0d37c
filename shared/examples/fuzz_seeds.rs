//! Write valid documents and changes as seed inputs for the fuzzer:
//! `cargo run -p bothy-shared --example fuzz_seeds -- fuzz/corpus/untrusted_bytes`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a developer tool: failing loudly is right

use bothy_shared::demo;
use bothy_shared::docs::{DocKey, PlanDoc, change_document};
use bothy_shared::ids::DeviceId;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus/untrusted_bytes".into());
    std::fs::create_dir_all(&dir).unwrap();
    let demo = demo::partnership();
    let mut n = 0;
    for child in &demo.children {
        for (key, doc) in child.documents(&demo::server_actor()).unwrap() {
            std::fs::write(
                format!("{dir}/doc-{}", key.to_string().replace('/', "-")),
                doc.save(),
            )
            .unwrap();
            n += 1;
            if let DocKey::Plan(_) = key {
                let actor = DeviceId::random().actor_id();
                let mut edited = change_document::<PlanDoc, _>(&doc, &key, &actor, "seed", |p| {
                    p.legal_status = "Compulsory supervision order".into();
                    p.reason.update("A new reason");
                })
                .unwrap();
                let change = edited.change.as_mut().unwrap();
                std::fs::write(
                    format!("{dir}/change-{}", key.to_string().replace('/', "-")),
                    change.bytes(),
                )
                .unwrap();
                n += 1;
            }
        }
    }
    println!("wrote {n} seeds to {dir}");
}
