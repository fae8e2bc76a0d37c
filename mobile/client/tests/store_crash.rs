//! Crash safety: a record is never lost once its save has returned.
//!
//! The test re-runs its own binary as a writer process (`crash_writer`),
//! which saves records in a loop and prints each id only after the save
//! returned. The parent reads a random number of ids, kills the writer with
//! SIGKILL mid-stream, then unlocks the store and checks every printed id is
//! there. `BOTHY_CRASH_ITERATIONS` sets the number of kills (default 200);
//! `BOTHY_CRASH_SEED` replays a run (the seed is printed).
#![cfg(unix)]
// Test code: helpers outside `#[test]` functions fail by panicking too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::env;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use bothy_client::index;
use bothy_client::store::{KdfParams, Passcode, Store, params, tx};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WRITER_DIR_ENV: &str = "BOTHY_CRASH_WRITER_DIR";
const WRITER_START_ENV: &str = "BOTHY_CRASH_WRITER_START";
const RECORD_SIZE: usize = 2048;

fn passcode() -> Passcode {
    Passcode::new("crash-test passcode".to_owned())
}

fn doc_key(id: u64) -> String {
    format!("record/crash-{id}")
}

/// One record = one transaction touching two tables: the change and its
/// index row. Both must survive, or neither.
fn save_record(store: &mut Store, id: u64) {
    let hash = id.to_be_bytes();
    let mut bytes = vec![(id % 251) as u8; RECORD_SIZE];
    bytes[..8].copy_from_slice(&hash);
    let doc_key = doc_key(id);
    let visit = index::VisitRow {
        visit_id: format!("visit-{id}"),
        child_id: "child-crash".to_owned(),
        at: id as i64,
        practitioner: "P".to_owned(),
        agency: "social work".to_owned(),
        kind: "home".to_owned(),
        finalised: false,
    };
    store
        .transaction(|t| {
            tx::append_changes(
                t,
                &doc_key,
                &[tx::NewChange {
                    hash: &hash,
                    bytes: &bytes,
                    local: true,
                }],
            )?;
            index::replace_visits_for_doc(t, &doc_key, std::slice::from_ref(&visit))
        })
        .unwrap();
}

#[test]
#[ignore = "helper: run as a child process by saved_records_survive_sigkill"]
fn crash_writer() {
    let Ok(dir) = env::var(WRITER_DIR_ENV) else {
        return;
    };
    let start: u64 = env::var(WRITER_START_ENV).unwrap().parse().unwrap();
    let mut store = Store::unlock(Path::new(&dir), &passcode()).unwrap();
    let mut out = std::io::stdout().lock();
    for id in start.. {
        save_record(&mut store, id);
        // Printed only after the save returned: a promise the parent checks.
        writeln!(out, "saved {id}").unwrap();
        out.flush().unwrap();
    }
}

fn missing_records(store: &Store, ids: &BTreeSet<u64>) -> Vec<u64> {
    let conn = store.connection();
    let mut change = conn
        .prepare("SELECT length(bytes) FROM changes WHERE doc_key = ?1 AND hash = ?2")
        .unwrap();
    let mut visit = conn
        .prepare("SELECT count(*) FROM idx_visits WHERE doc_key = ?1 AND visit_id = ?2")
        .unwrap();
    ids.iter()
        .copied()
        .filter(|&id| {
            let length: Option<i64> = change
                .query_row(params![doc_key(id), id.to_be_bytes()], |row| row.get(0))
                .ok();
            let visits: i64 = visit
                .query_row(params![doc_key(id), format!("visit-{id}")], |row| {
                    row.get(0)
                })
                .unwrap();
            length != Some(RECORD_SIZE as i64) || visits != 1
        })
        .collect()
}

#[test]
fn saved_records_survive_sigkill() {
    let iterations: u64 = env::var("BOTHY_CRASH_ITERATIONS")
        .ok()
        .map(|n| n.parse().expect("BOTHY_CRASH_ITERATIONS must be a number"))
        .unwrap_or(200);
    let seed: u64 = env::var("BOTHY_CRASH_SEED")
        .ok()
        .map(|n| n.parse().expect("BOTHY_CRASH_SEED must be a number"))
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    println!("crash safety: seed {seed} (replay with BOTHY_CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    Store::create(
        dir.path(),
        &passcode(),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap()
    .lock()
    .unwrap();
    let exe = env::current_exe().unwrap();
    let mut promised = BTreeSet::new();

    for iteration in 0..iterations {
        let start = iteration * 1_000_000;
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_writer",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_DIR_ENV, dir.path())
            .env(WRITER_START_ENV, start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let kill_after = rng.gen_range(1..=40);
        let mut seen = 0;
        while seen < kill_after {
            let Some(line) = lines.next() else {
                let status = child.wait().unwrap();
                panic!("iteration {iteration}: writer exited early ({status})");
            };
            if let Some(id) = line.unwrap().strip_prefix("saved ") {
                promised.insert(id.parse::<u64>().unwrap());
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL: no destructors, no flush, no close.
        child.wait().unwrap();
        // Ids printed between our last read and the kill are promises too.
        for line in lines {
            if let Some(id) = line.unwrap().strip_prefix("saved ") {
                promised.insert(id.parse::<u64>().unwrap());
            }
        }

        let store = Store::unlock(dir.path(), &passcode())
            .unwrap_or_else(|e| panic!("iteration {iteration}: unlock after kill: {e}"));
        let missing = missing_records(&store, &promised);
        assert!(
            missing.is_empty(),
            "iteration {iteration} (seed {seed}): saved records lost after SIGKILL: {missing:?}"
        );
        store.lock().unwrap();
    }

    println!(
        "crash safety: {iterations} kills, {} saved records verified after every kill",
        promised.len()
    );
}
