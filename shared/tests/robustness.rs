//! Robustness: loading a document, decoding a change, loading incremental
//! bytes and checking a change from arbitrary bytes return an error and never
//! panic. Replays the regression corpus in `tests/corpus/` (inputs the fuzzer
//! `fuzz/fuzz_targets/untrusted_bytes.rs` found or that are known to crash
//! automerge 0.12), then a bounded seeded mutation run over real documents and
//! changes (`BOTHY_SEED` replays, `BOTHY_FUZZ_ITERS` sets the count).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is a failed test

use std::path::Path;

use bothy_shared::demo::{self, KAI};
use bothy_shared::docs::*;
use bothy_shared::gate::check_changes;
use bothy_shared::ids::DeviceId;
use bothy_shared::robust;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Feed `bytes` to every entry point that takes untrusted bytes. Returns how
/// many of them accepted the input.
fn feed(bytes: &[u8]) -> usize {
    let demo = demo::partnership();
    let kai = demo.child("Kai").unwrap();
    let key = DocKey::Plan(KAI);
    let plan = kai.documents(&demo::server_actor()).unwrap().remove(0).1;
    let who = demo.person("Morag").unwrap().principal(DeviceId::random());
    let mut accepted = 0;
    if let Ok(doc) = robust::load_document(bytes) {
        accepted += 1;
        // A loaded document is then read as a typed document: an error, not a panic.
        let _ = AnyDoc::read(&doc, &key);
    }
    if robust::load_incremental(&plan, bytes).is_ok() {
        accepted += 1;
    }
    if let Ok(change) = robust::decode_change(bytes) {
        accepted += 1;
        let _ = check_changes(&key, &plan, &[change], &who, &kai.team);
    }
    accepted
}

#[test]
fn the_regression_corpus_is_handled_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        feed(&bytes);
        n += 1;
    }
    assert!(n > 0, "the corpus in {} is empty", dir.display());
    println!("corpus: {n} inputs replayed");
}

#[test]
fn mutated_documents_and_changes_are_errors_not_panics() {
    let seed = std::env::var("BOTHY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7u64);
    let iters: usize = std::env::var("BOTHY_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    println!("mutation seed: BOTHY_SEED={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let demo = demo::partnership();
    let kai = demo.child("Kai").unwrap();
    let docs = kai.documents(&demo::server_actor()).unwrap();
    let key = DocKey::Plan(KAI);
    let morag = demo.person("Morag").unwrap().principal(DeviceId::random());
    let edited =
        change_document::<PlanDoc, _>(&docs[0].1, &key, &morag.device.actor_id(), "edit", |p| {
            p.legal_status = "CSO".into()
        })
        .unwrap();
    let mut change = edited.change.unwrap();
    let seeds: Vec<Vec<u8>> = vec![
        docs[0].1.save(),
        docs[1].1.save(),
        change.bytes().to_vec(),
        docs[0].1.save_after(&[]),
    ];
    let mut accepted = 0;
    for _ in 0..iters {
        let mut bytes = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..=4) {
            if bytes.is_empty() {
                break;
            }
            let i = rng.gen_range(0..bytes.len());
            match rng.gen_range(0..4) {
                0 => bytes[i] ^= 1 << rng.gen_range(0..8),
                1 => bytes[i] = rng.r#gen(),
                2 => bytes.truncate(i),
                _ => {
                    let extra: Vec<u8> = (0..rng.gen_range(1..16)).map(|_| rng.r#gen()).collect();
                    bytes.splice(i..i, extra);
                }
            }
        }
        accepted += feed(&bytes);
    }
    println!(
        "mutation run: {iters} inputs, {accepted} accepted by some entry point, {} automerge panics contained, none escaped",
        robust::contained_panics()
    );
}
