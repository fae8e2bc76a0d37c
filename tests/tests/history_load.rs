//! `bothy-load` over history-sized data, small and fast (the full runs are
//! benchmarks: `docs/performance.md`, "History"): the command seeds
//! children whose documents carry many changes, says what it made, and
//! ends with one JSON line of every figure for scripts.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use bothy_shared::docs::DocKey;
use bothy_tests::db::{Backend, TestDb};
use serde_json::Value;

const LOAD: &str = env!("CARGO_BIN_EXE_bothy-load");

/// Run `bothy-load ARGS`, which must succeed; its last line, as JSON.
fn last_json(args: &[&str]) -> Value {
    let out = Command::new(LOAD)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bothy-load {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("some output");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

fn number(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

#[test]
fn seeding_a_history_says_what_it_made_in_its_last_line() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend);
        let mut args = vec![
            "--children",
            "3",
            "--years",
            "2",
            "--seed",
            "18",
            "--db",
            &db.url,
        ];
        let key_args = db.key_args();
        args.extend(key_args.iter().map(String::as_str));
        let figures = last_json(&args);
        assert_eq!(number(&figures, "seeded.children"), 3.0);
        let documents = number(&figures, "seeded.documents");
        let changes = number(&figures, "seeded.changes");
        let visits = number(&figures, "seeded.visits");
        // Two years of weekly visits, each written and then finalised.
        assert!(visits >= 3.0 * 100.0, "{figures}");
        assert!(changes > 2.0 * visits, "{figures}");
        // Saved whole, the documents take less than their changes one by one.
        let compressed = number(&figures, "seeded.compressed_bytes");
        assert!(compressed > 0.0 && compressed < number(&figures, "seeded.change_bytes"));

        // And the database holds them as many changes each.
        let storage = db.open();
        let mut stored = 0usize;
        for child in storage.children().unwrap() {
            let record = storage.changes_after(&DocKey::Record(child.id), 0).unwrap();
            assert!(
                record.len() > 100,
                "a record of two years: {}",
                record.len()
            );
            for key in [DocKey::Plan(child.id), DocKey::Record(child.id)] {
                stored += storage.changes_after(&key, 0).unwrap().len();
            }
        }
        assert!(
            stored as f64 <= changes && stored as f64 > changes / 2.0,
            "{stored} of {changes}"
        );
        assert!(documents >= 6.0);
    }
}
