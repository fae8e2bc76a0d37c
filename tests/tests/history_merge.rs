//! The merge-cost measurement of `bothy-load --merge-history` (issue 18,
//! item 2) at tiny sizes against the real `bothy-server` program: every
//! figure is there and every push was merged and stored. No timing is
//! asserted: the figures themselves belong to the load command.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use bothy_tests::history_merge::{MergeOptions, measure};

/// The real `bothy-server` program, built from the server's `main.rs`.
const BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_cost_is_measured_on_short_and_long_histories() {
    let options = MergeOptions {
        small: 20,
        large: 200,
        docs: 2,
        pushes: 6,
        block: 3,
    };
    let figures = measure(Path::new(BIN), &options).await.unwrap();
    // The histories were as long as asked (plus the server's first change).
    assert!((20..=21).contains(&figures.changes_100), "{figures:?}");
    assert!((200..=201).contains(&figures.changes_10000), "{figures:?}");
    // Every push merged, and held by the server's storage.
    assert_eq!(figures.merged_100, 6, "{figures:?}");
    assert_eq!(figures.merged_10000, 6, "{figures:?}");
    assert_eq!(figures.stored_100, 6, "{figures:?}");
    assert_eq!(figures.stored_10000, 6, "{figures:?}");
    // Every figure is there for the load command's JSON line.
    let json = serde_json::to_value(&figures).unwrap();
    for field in [
        "cpu_us_per_change_100",
        "cpu_us_per_change_10000",
        "ratio",
        "p50_ms_100",
        "p99_ms_100",
        "p50_ms_10000",
        "p99_ms_10000",
    ] {
        let value = json[field].as_f64().unwrap_or(-1.0);
        assert!(value >= 0.0 && value.is_finite(), "{field}: {value}");
    }
    assert!(figures.p50_ms_100 > 0.0 && figures.p50_ms_10000 > 0.0);
}
