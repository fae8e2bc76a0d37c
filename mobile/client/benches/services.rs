//! The app's own workloads on a real encrypted store:
//! - save a visit (committed, encrypted), with p50/p99 over a run of saves;
//! - open a child whose documents hold 2,000 changes, to view models;
//! - the caseload of 40 children;
//! - SQLCipher against plain SQLite on the same save workload (with
//!   `--features bench-plaintext`), as a ratio of medians.
//!
//! `cargo bench -p bothy-client --features bench-plaintext --bench services`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::time::{Duration, Instant};

use bothy_client::Client;
use bothy_client::services::VisitDraft;
use bothy_client::store::{KdfParams, Passcode, Store};
use bothy_shared::demo::{self, Demo, KAI};
use bothy_shared::docs::ActionStatus;
use bothy_shared::ids::{ChildId, ItemId};
use criterion::{Criterion, criterion_group, criterion_main};
use tempfile::TempDir;

fn encrypted(dir: &TempDir) -> Store {
    Store::create(
        dir.path(),
        &Passcode::new("bench passcode".into()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap()
}

fn visit(child: ChildId, i: usize) -> VisitDraft {
    let mut d = VisitDraft::new(child);
    d.observations = format!(
        "Visit {i}. Kai answered the door and showed me his project for technology, a bird box. \
         Mum said mornings are still hard but he has been in school four days out of five."
    );
    d.child_said = "\"I made it myself.\"".into();
    d.child_seen = true;
    d
}

/// Grow Kai's documents to `changes` changes: visits saved and finalised,
/// action status and progress updates, as five years of work would.
fn grow(client: &mut Client, changes: usize) {
    let action = ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_000b,
    ));
    let mut made = 0;
    let mut i = 0;
    while made < changes {
        let d = visit(KAI, i);
        client.save_visit(&d, false).unwrap();
        client
            .finalise_visit(bothy_shared::docs::DocKey::Record(KAI), d.id)
            .unwrap();
        client
            .update_action_progress(KAI, action, &format!("Update {i}"))
            .unwrap();
        let s = if i % 2 == 0 {
            ActionStatus::InProgress
        } else {
            ActionStatus::Stuck
        };
        client.set_action_status(KAI, action, s).unwrap();
        made += 4;
        i += 1;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn save_run(client: &mut Client, n: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..n)
        .map(|i| {
            let d = visit(KAI, 100_000 + i);
            let t = Instant::now();
            client.save_visit(&d, true).unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn benches(c: &mut Criterion) {
    // Save a visit on a child with a year's work already recorded.
    let dir = TempDir::new().unwrap();
    let mut client = Client::seed_demo(encrypted(&dir), "Morag").unwrap();
    grow(&mut client, 400);
    let mut i = 0;
    c.bench_function("save a visit (committed, encrypted)", |b| {
        b.iter(|| {
            i += 1;
            client.save_visit(&visit(KAI, i), true).unwrap()
        })
    });
    let times = save_run(&mut client, 300);
    println!(
        "save a visit, 300 saves: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    drop(client);

    // Open a child whose documents hold 2,000 changes, to view models.
    let dir = TempDir::new().unwrap();
    let mut client = Client::seed_demo(encrypted(&dir), "Morag").unwrap();
    grow(&mut client, 2_000);
    let mut store = Some(client.into_store());
    c.bench_function("open a child with 2,000 changes to view models", |b| {
        b.iter(|| {
            let mut client = Client::open(store.take().unwrap())
                .map_err(|(_, e)| e)
                .unwrap();
            let o = client.child(KAI).unwrap();
            assert!(o.recent_visits.len() >= 500);
            store = Some(client.into_store());
        })
    });
    drop(store);

    // The caseload of 40 children.
    let dir = TempDir::new().unwrap();
    let client = Client::seed_from(encrypted(&dir), &forty_children(), "Morag").unwrap();
    c.bench_function("caseload of 40 children", |b| {
        b.iter(|| assert_eq!(client.caseload(None).unwrap().len(), 40))
    });
    drop(client);

    sqlcipher_versus_plain(c);
}

#[cfg(feature = "bench-plaintext")]
fn sqlcipher_versus_plain(c: &mut Criterion) {
    let mut medians = Vec::new();
    for (name, encrypt) in [
        ("save a visit: SQLCipher", true),
        ("save a visit: plain SQLite", false),
    ] {
        let dir = TempDir::new().unwrap();
        let store = if encrypt {
            encrypted(&dir)
        } else {
            Store::open_plaintext_for_benchmarks(dir.path()).unwrap()
        };
        let mut client = Client::seed_demo(store, "Morag").unwrap();
        grow(&mut client, 400);
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                client.save_visit(&visit(KAI, i), true).unwrap()
            })
        });
        let times = save_run(&mut client, 300);
        medians.push(percentile(&times, 0.5));
    }
    println!(
        "SQLCipher / plain SQLite, median save of 300: {:?} / {:?} = {:.2}x",
        medians[0],
        medians[1],
        medians[0].as_secs_f64() / medians[1].as_secs_f64()
    );
}

#[cfg(not(feature = "bench-plaintext"))]
fn sqlcipher_versus_plain(_: &mut Criterion) {
    println!("(run with --features bench-plaintext for SQLCipher versus plain SQLite)");
}

/// The demo partnership with 40 children on Morag's caseload.
fn forty_children() -> Demo {
    let mut demo = demo::partnership();
    let template = demo.children[0].clone();
    demo.children.clear();
    for n in 0..40u128 {
        let mut c = template.clone();
        c.id = ChildId(uuid::Uuid::from_u128(
            0x5000_0000_0000_4000_8000_0000_0000_0000 | n,
        ));
        c.name = format!("Child {n:02}");
        c.team.child = c.id;
        c.plan.child_id = c.id;
        c.plan.child.name = c.name.clone();
        c.record.child_id = c.id;
        for r in &mut c.agency_records {
            r.child_id = c.id;
        }
        demo.children.push(c);
    }
    demo
}

criterion_group! {
    name = services;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(services);
