//! The server's document cache kept small (`serve --cache-mb`): with no
//! room at all, every document reloads from storage on every use, and
//! every device still gets exactly what is stored; and the small version
//! of `bothy-load --memory-history` reports every figure.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bothy_client::sync::SyncOptions;
use bothy_shared::docs::{DocKey, IsoDate, RecordDoc, read_document};
use bothy_shared::ids::{ItemId, PersonId};
use bothy_shared::policy::PersonKind;
use bothy_tests::db::Backend;
use bothy_tests::history::{self, HistoryOptions};
use bothy_tests::history_memory::{self, HistoryBackend, MemoryOptions};
use bothy_tests::memory::MemoryDevice;
use bothy_tests::on_both_backends;
use bothy_tests::server::{TestServer, stored_document};

/// The real `bothy-server` program, built from the server's `main.rs`.
const BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

/// Twelve children with a year of history, and their practitioners.
fn twelve_children(storage: &dyn bothy_server::Storage) -> bothy_tests::Result<Vec<PersonId>> {
    history::seed(
        storage,
        HistoryOptions {
            children: 12,
            years: 1,
            today: IsoDate::from_ymd(2026, 12, 1).unwrap(),
            seed: 18,
        },
    )?;
    Ok(storage
        .people()?
        .into_iter()
        .filter(|p| p.kind == PersonKind::Practitioner)
        .map(|p| p.id)
        .collect())
}

async fn every_device_syncs_correctly_with_no_room_in_the_cache(backend: Backend) {
    let server = TestServer::seeded(backend, twelve_children, |config| {
        config.cache_mb = 0;
        config.enrol_per_minute = 0;
    })
    .await
    .unwrap();
    let storage = server.storage.clone();
    let mut devices = Vec::new();
    for person in &server.people {
        let code = server.code_for(*person).unwrap();
        let (mut device, engine) = MemoryDevice::enrol(&server.base, &code, SyncOptions::default())
            .await
            .unwrap();
        engine.sync(&mut device).await.unwrap();
        if device.document_count() > 0 {
            devices.push((device, engine));
        }
    }
    assert!(
        devices.len() >= 2,
        "the children's leads hold their documents"
    );
    // What each device first received is what is stored.
    let mut held = 0;
    for (device, _) in &devices {
        for key in device.keys() {
            let stored = stored_document(storage.as_ref(), &key).unwrap();
            assert_eq!(
                device.doc(&key).unwrap().get_heads(),
                stored.get_heads(),
                "{key}"
            );
            held += 1;
        }
    }
    assert!(held >= 24, "every child's plan and record: {held}");
    // Each device records a visit in every record it holds, twice (the
    // second round reloads documents the first changed), and pushes.
    let mut visits: Vec<(DocKey, ItemId)> = Vec::new();
    for round in 0..2 {
        for (device, engine) in &mut devices {
            let keys: Vec<DocKey> = device
                .keys()
                .into_iter()
                .filter(|k| matches!(k, DocKey::Record(_)))
                .collect();
            for key in &keys {
                let visit = device
                    .add_visit(*key, &format!("Cache round {round}: child seen."))
                    .unwrap();
                visits.push((*key, visit));
            }
            let report = engine.sync(device).await.unwrap();
            assert_eq!(report.acknowledged, keys.len(), "round {round}");
        }
    }
    // The server holds every visit, and a new device of each practitioner
    // gets every document as stored, both visits in each record.
    for (device, _) in &devices {
        for key in device.keys() {
            let stored = stored_document(storage.as_ref(), &key).unwrap();
            assert_eq!(
                device.doc(&key).unwrap().get_heads(),
                stored.get_heads(),
                "{key}"
            );
        }
    }
    for person in &server.people {
        let code = server.code_for(*person).unwrap();
        let (mut fresh, engine) = MemoryDevice::enrol(&server.base, &code, SyncOptions::default())
            .await
            .unwrap();
        engine.sync(&mut fresh).await.unwrap();
        for key in fresh.keys() {
            let stored = stored_document(storage.as_ref(), &key).unwrap();
            assert_eq!(
                fresh.doc(&key).unwrap().get_heads(),
                stored.get_heads(),
                "{key}"
            );
            if matches!(key, DocKey::Record(_)) {
                let record: RecordDoc = read_document(fresh.doc(&key).unwrap(), &key).unwrap();
                for (_, visit) in visits.iter().filter(|(k, _)| *k == key) {
                    assert!(record.visits.contains_key(visit), "{key}");
                }
            }
        }
    }
    assert!(visits.len() >= 2 * devices.len(), "{}", visits.len());
}

async fn the_small_memory_run_reports_every_figure(backend: Backend) {
    let keep = tempfile::tempdir().unwrap();
    let options = MemoryOptions {
        backend: match backend {
            Backend::Sqlite => HistoryBackend::Sqlite,
            Backend::Postgres => HistoryBackend::Postgres,
        },
        children: 4,
        years: 1,
        cache_mb: 1,
        server_binary: BIN.into(),
        keep_in: keep.path().to_path_buf(),
        concurrency: 2,
    };
    let figures = history_memory::measure(&options).await.unwrap();
    assert!(figures.seeded_seconds.is_some(), "seeded the first time");
    assert!(figures.documents >= 8, "{figures:?}");
    for pass in [&figures.cold, &figures.warm] {
        assert_eq!(pass.documents_synced, figures.documents, "{figures:?}");
        assert!(pass.merged_changes >= 4, "a visit per child: {figures:?}");
        assert!(pass.rss_mb_after > 0.0, "{figures:?}");
    }
    assert!(figures.rss_mb_peak > 0.0 && figures.rss_mb_hwm >= figures.rss_mb_start);
    let json: serde_json::Value = serde_json::to_value(&figures).unwrap();
    assert_eq!(
        figures.overhead_mb,
        figures.rss_mb_hwm - figures.cache_mb as f64
    );
    let c = &figures.calibration;
    assert!(c.stored_mb > 0.0 && c.loaded_per_stored_byte > 0.0, "{c:?}");
    for field in [
        "rss_mb_peak",
        "rss_mb_final",
        "cache_mb",
        "overhead_mb",
        "cold",
        "warm",
    ] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }
    // The second run reuses what the first seeded.
    let again = history_memory::measure(&options).await.unwrap();
    assert_eq!(again.seeded_seconds, None);
    assert_eq!(again.documents, figures.documents);
}

on_both_backends!(
    every_device_syncs_correctly_with_no_room_in_the_cache,
    the_small_memory_run_reports_every_figure,
);
