//! Store benchmarks: unlock cost and the cost of one saved change, with
//! SQLCipher and (with `--features bench-plaintext`) on plain SQLite, to
//! report SQLCipher's overhead.
//!
//! ```text
//! cargo bench -p bothy-client --features bench-plaintext --bench store
//! ```

// A benchmark is a test harness: a failed setup must abort the run loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use bothy_client::store::{KdfParams, Passcode, Store, tx};
use criterion::{Criterion, criterion_group, criterion_main};

const CHANGE_SIZE: usize = 2048;

fn passcode() -> Passcode {
    Passcode::new("benchmark passcode 2718".to_owned())
}

/// Incompressible bytes, like a compressed Automerge change.
fn change_body() -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..CHANGE_SIZE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Unlock with the PRODUCTION Argon2id parameters (64 MiB, t=3, p=1): key
/// file read, Argon2id, AES-GCM unwrap, SQLCipher open, integrity check,
/// migrations check. Argon2id dominates.
fn unlock(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    Store::create(dir.path(), &passcode(), KdfParams::production())
        .expect("create")
        .lock()
        .expect("lock");
    let mut group = c.benchmark_group("unlock");
    group.sample_size(10);
    group.bench_function("production_argon2id_m64MiB_t3_p1", |b| {
        b.iter(|| {
            let store = Store::unlock(dir.path(), &passcode()).expect("unlock");
            store.lock().expect("lock");
        })
    });
    group.finish();
}

fn append_one_change(store: &mut Store, id: &mut u64, body: &[u8]) {
    *id += 1;
    let hash = id.to_be_bytes();
    let added = store
        .append_changes(
            "record/bench",
            &[tx::NewChange {
                hash: &hash,
                bytes: body,
                local: true,
            }],
        )
        .expect("append");
    black_box(added);
}

fn bench_append(c: &mut Criterion, name: &str, mut store: Store) {
    let body = change_body();
    let mut id = 0u64;
    c.bench_function(name, |b| {
        b.iter(|| append_one_change(&mut store, &mut id, &body))
    });
    store.lock().expect("lock");
}

/// One 2 KiB change appended and committed (one transaction, WAL,
/// synchronous=FULL), encrypted.
fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(
        dir.path(),
        &passcode(),
        KdfParams::insecure_fast_for_tests(),
    )
    .expect("create");
    bench_append(c, "append_2KiB_change/sqlcipher", store);
    append_plaintext(c);
}

#[cfg(feature = "bench-plaintext")]
fn append_plaintext(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_plaintext_for_benchmarks(dir.path()).expect("open plaintext");
    bench_append(c, "append_2KiB_change/plain_sqlite", store);
}

#[cfg(not(feature = "bench-plaintext"))]
fn append_plaintext(_: &mut Criterion) {
    eprintln!(
        "append_2KiB_change/plain_sqlite skipped: run with --features bench-plaintext \
         to compare with unencrypted SQLite"
    );
}

criterion_group!(benches, unlock, append);
criterion_main!(benches);
