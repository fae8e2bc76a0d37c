//! The phone-over-a-long-history measurement (`bothy-load --device-history`,
//! issue 18 items 5 and 6) run tiny: two children, one year, the tests' fast
//! key derivation. Checks the run's structure and that compacting every
//! document kept every document's heads; the figures themselves are the
//! load command's, not a test's (no timing is asserted).

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bothy_tests::device_history::{DeviceHistoryOptions, measure};

#[tokio::test]
async fn a_small_history_is_measured_and_compaction_keeps_every_document() {
    let f = measure(DeviceHistoryOptions {
        children: 2,
        years: 1,
        seed: 18,
        unlocks: 1,
        production_kdf: false,
    })
    .await
    .unwrap();

    assert_eq!(f.child_years, 2);
    assert_eq!(f.kdf, "test");
    assert_eq!(
        f.caseload, 2,
        "both children on the new practitioner's caseload"
    );
    assert!(
        f.device_documents >= 2 * 2,
        "a plan and a record each at least: {f:?}"
    );
    for timings in [
        &f.unlock_to_caseload,
        &f.unlock_with_full_check,
        &f.full_check,
        &f.background_check_done,
    ] {
        assert_eq!(timings.runs, 1);
        assert!(timings.min_ms <= timings.median_ms && timings.median_ms <= timings.max_ms);
    }

    // The device holds the documents' changes, and compaction turns every
    // document into a snapshot with none left beside it.
    assert!(f.device.changes > 0 && f.device.document_bytes > 0, "{f:?}");
    assert_eq!(f.device_compacted.snapshots, f.device_documents as u64);
    assert_eq!(f.device_compacted.changes, 0);
    assert_eq!(
        f.heads_kept, f.device_documents,
        "a document changed in compaction"
    );
    // VACUUM gives the free pages back.
    assert_eq!(f.device_vacuumed.free_bytes, 0);
    assert!(f.device_vacuumed.file_bytes <= f.device_compacted.file_bytes);

    // The server's figures describe the same children's documents.
    assert!(f.server.documents >= f.device_documents as u64, "{f:?}");
    assert!(
        f.server.sealed_change_bytes > f.server.change_bytes,
        "sealing adds nonce and tag"
    );
    assert!(f.server.change_pages_bytes > 0 && f.server.database_bytes > 0);
    assert!(f.server.saved_bytes > 0);
    assert!(f.per_child_year.device_file > 0.0 && f.per_child_year.server_sealed_changes > 0.0);

    // The last line of the load command: every figure, as one JSON object.
    let json = serde_json::to_value(&f).unwrap();
    for field in [
        "unlock_to_caseload",
        "device",
        "device_vacuumed",
        "server",
        "per_child_year",
    ] {
        assert!(json.get(field).is_some(), "{field} missing from {json}");
    }
}
