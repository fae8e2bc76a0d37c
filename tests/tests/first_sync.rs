//! A new phone's first sync (issue 18, item 4), small: a few children with
//! two years of history, a shaped link that is fast (so the test is quick) and
//! cut once half way. The times are `bothy-load --first-sync`'s business;
//! here: everything arrives intact, plans before any record, and the cut
//! resumes instead of starting again.

use std::time::Duration;

use bothy_shared::docs::DocKind;
use bothy_tests::db::Backend;
use bothy_tests::first_sync::{self, FirstSyncOptions};
use bothy_tests::proxy::Shape;

fn small() -> FirstSyncOptions {
    FirstSyncOptions {
        children: 6,
        years: 2,
        seed: 18,
        backend: Backend::Sqlite,
        shape: Shape {
            bytes_per_sec: 50_000_000.0,
            delay: Duration::from_millis(1),
            cut_to_device_at: None,
        },
        cut_fraction: Some(0.5),
        // Small responses, so that several carry the documents and the cut
        // falls between stored ones.
        arrival_bytes: 8 * 1024,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_phone_gets_plans_first_and_a_cut_resumes_where_it_stopped() {
    let options = small();
    let seeded = first_sync::seed(&options).await.expect("seeded");
    let compressed = seeded.compressed_bytes;
    assert!(seeded.documents.len() >= 8, "{seeded:?}");
    let cut_at = compressed / 2;
    let shape = Shape {
        cut_to_device_at: Some(cut_at),
        ..options.shape
    };
    // Fails unless every document arrived with the server's heads and
    // every plan reads.
    let run = first_sync::bothy_first_sync(&seeded, shape, options.arrival_bytes)
        .await
        .expect("first sync");
    let f = &run.figures;

    // The cut happened, once, where planned.
    assert_eq!(f.cut_at_bytes, cut_at, "{f:?}");
    assert!(f.failed_tries >= 1, "{f:?}");

    // Plans (and young people's copies) before any other document.
    let kinds: Vec<DocKind> = run.whole.iter().map(|(k, _, _)| k.kind()).collect();
    let last_plan = kinds
        .iter()
        .rposition(|k| matches!(k, DocKind::Plan | DocKind::Young))
        .expect("plans arrived");
    let first_other = kinds
        .iter()
        .position(|k| !matches!(k, DocKind::Plan | DocKind::Young))
        .expect("records arrived");
    assert!(last_plan < first_other, "{kinds:?}");

    // Resumed, not restarted: some documents were stored before the cut,
    // none of them was sent again after it, and everything after the cut
    // is less than a second copy of all (what a restart would cost).
    let before: Vec<_> = run.whole.iter().filter(|(_, _, b)| *b).collect();
    assert!(!before.is_empty(), "{:?}", run.whole);
    assert_eq!(f.resent_stored_bytes, 0, "{f:?}");
    assert!(
        f.bytes_to_device < cut_at + compressed,
        "{} bytes to the device, cut at {cut_at}, {compressed} compressed",
        f.bytes_to_device
    );

    // A second run sends nothing whole again.
    let mut device = run.device;
    let report = device.sync().await.expect("second sync");
    assert_eq!(report.received, 0, "{report:?}");
}

/// At a caseload's size (40 children of five years: the issue's) the whole
/// first sync costs at most 1.2x the documents' compressed size, HTTP,
/// enrolment and the response lost at the cut included. The link is fast
/// (bytes, not times, are checked here); `bothy-load --first-sync` runs the
/// same on the poor link and measured 1.15-1.17x (docs/performance.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full-size run (40 children x 5 years, about a minute in a debug build); \
            run with --ignored. At small sizes enrolment and the lost response weigh \
            more than a fifth (12 x 2: 1.46x), so CI checks the resume instead"]
async fn a_first_sync_costs_at_most_a_fifth_more_than_the_compressed_documents() {
    let options = FirstSyncOptions {
        shape: small().shape,
        ..FirstSyncOptions::poor_mobile(18)
    };
    let seeded = first_sync::seed(&options).await.expect("seeded");
    let compressed = seeded.compressed_bytes;
    let shape = Shape {
        cut_to_device_at: Some(compressed / 2),
        ..options.shape
    };
    let run = first_sync::bothy_first_sync(&seeded, shape, options.arrival_bytes)
        .await
        .expect("first sync");
    let ratio = run.figures.bytes_to_device as f64 / compressed as f64;
    assert!(
        ratio <= 1.2,
        "{ratio:.3}: {:?}, {compressed} compressed",
        run.figures
    );
}
