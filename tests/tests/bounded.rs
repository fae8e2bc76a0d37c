//! Issue 16, items 1, 2 and 6, against the real `bothy-server` program: a
//! correctly enrolled device trying to wear the server down (a 50,000-deep
//! chain of maps, a 5 MB view, too many changes in one request), to make it
//! keep what it should not (offers for documents the device could never
//! write, offers without end), or to rewrite another agency's chronology.
//! Each is refused with its status or rule while the server keeps answering
//! `/health` and its memory stays within a stated bound; the figures are
//! printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use bothy_server::storage::{self, AuditEvent, Storage};
use bothy_shared::demo::{DAVID, ELLIE, FIONA, KAI, KAI_YP, MORAG};
use bothy_shared::docs::{DocKey, RecordDoc, read_document, write_document};
use bothy_shared::wire::{
    self, DocStatus, ErrorCode, MAX_CHANGES_PER_REQUEST, MAX_OFFERED_BYTES_PER_DEVICE,
    OfferRequest, OfferResponse, OfferedDoc,
};
use bothy_tests::server::{ServerProcess, demo_database, rss_kib, stored_change_count};
use bothy_tests::wire_device::{WireDevice, error_of};
use reqwest::StatusCode;

/// The real `bothy-server` program, built from the server's `main.rs`.
const BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

/// The bounds the issue states: `/health` answers within 100 ms while the
/// server is under attack (95 in 100 answers; none may take a second, on a
/// 2-core machine shared with builds), and the server's resident memory
/// stays under this many MiB throughout (it idles near 30 MiB; a 4,000-deep
/// chain alone took 326 MiB before the limits).
const HEALTH_P95: Duration = Duration::from_millis(100);
const HEALTH_MAX: Duration = Duration::from_secs(1);
const RSS_BOUND_MIB: u64 = 256;

/// `/health` asked every 20 ms and the server's resident memory read from
/// `/proc` at each, until [`Watch::finish`].
struct Watch {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(Vec<Duration>, u64)>,
}

impl Watch {
    fn start(server: &ServerProcess) -> Watch {
        let url = format!("{}/health", server.base);
        let pid = server.pid().expect("the server runs");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut every = tokio::time::interval(Duration::from_millis(20));
            let (mut took, mut rss) = (Vec::new(), rss_kib(pid).unwrap_or(0));
            while !stopping.load(Ordering::Relaxed) {
                every.tick().await;
                let asked = Instant::now();
                let resp = http.get(&url).send().await.expect("the server answers");
                assert_eq!(resp.status(), StatusCode::OK);
                took.push(asked.elapsed());
                rss = rss.max(rss_kib(pid).unwrap_or(0));
            }
            (took, rss)
        });
        Watch { stop, task }
    }

    /// Stop, print the figures for `what`, and hold them to the bounds.
    async fn finish(self, what: &str) {
        self.stop.store(true, Ordering::Relaxed);
        let (mut took, rss) = self.task.await.unwrap();
        took.sort();
        assert!(!took.is_empty(), "/health was never asked");
        let p95 = took[(took.len() * 95 / 100).min(took.len() - 1)];
        let max = *took.last().unwrap();
        let rss_mib = rss / 1024;
        println!(
            "{what}: /health asked {} times, median {:?}, p95 {p95:?}, max {max:?}; server RSS at most {rss_mib} MiB",
            took.len(),
            took[took.len() / 2],
        );
        assert!(p95 < HEALTH_P95, "{what}: /health p95 {p95:?}");
        assert!(max < HEALTH_MAX, "{what}: /health max {max:?}");
        assert!(rss_mib < RSS_BOUND_MIB, "{what}: RSS {rss_mib} MiB");
    }
}

/// Letters that do not compress: as many bytes on the wire as in the text.
fn noise(len: usize, seed: u64) -> String {
    // Odd, and different for every seed.
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect()
}

/// The map of the young person's own view in `doc`, their copy of the plan.
fn own_view(doc: &AutoCommit, kai: &WireDevice) -> ObjId {
    let views = doc.get(ROOT, "young_person_views").unwrap().unwrap().1;
    let me = kai.person.to_string();
    doc.map_range(&views, ..)
        .map(|item| item.id())
        .find(|v| {
            matches!(doc.get(v, "author").unwrap(), Some((automerge::Value::Scalar(s), _))
                if s.as_str() == Some(me.as_str()))
        })
        .expect("Kai has a view of his own")
}

/// One refused reply of a sync run, with its rule.
fn refused_rule(report: &bothy_tests::wire_device::SyncReport, key: DocKey) -> String {
    let refused = report.refused();
    assert_eq!(refused.len(), 1, "{:?}", report.replies);
    assert_eq!(refused[0].key, key);
    assert_eq!(refused[0].status, DocStatus::Rejected);
    refused[0].rejection.as_ref().unwrap().rule.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_young_persons_device_cannot_wear_the_gate_down() {
    let work = tempfile::tempdir().unwrap();
    let (db_url, codes) = demo_database(work.path(), &[KAI_YP]).unwrap();
    let server = ServerProcess::start(Path::new(BIN), &db_url, &[]).unwrap();
    let storage = storage::open(&db_url).unwrap();
    let mut kai = WireDevice::enrol(&server.base, &codes[0], "kai")
        .await
        .unwrap();
    kai.sync().await.unwrap();
    let key = DocKey::Young(KAI, 1);
    let (clean, clean_states) = (kai.docs[&key].clone(), kai.states.clone());
    let stored = stored_change_count(storage.as_ref(), &key).unwrap();
    let watch = Watch::start(&server);

    // A chain of 50,000 nested maps in Kai's own view: ~10 bytes a level.
    let view = own_view(&kai.docs[&key], &kai);
    kai.edit(key, |doc| {
        let mut o = view.clone();
        for _ in 0..50_000 {
            o = doc.put_object(&o, "deeper", ObjType::Map).unwrap();
        }
    });
    let asked = Instant::now();
    let report = kai.sync().await.unwrap();
    let took = asked.elapsed();
    assert_eq!(refused_rule(&report, key), "object-too-deep");
    println!("a 50,000-deep chain: refused in {took:?} (the whole sync run)");

    // A 5 MB view, as one string.
    kai.docs.insert(key, clean.clone());
    kai.states = clean_states.clone();
    let five_mb = noise(5 * 1024 * 1024, 16);
    kai.edit(key, |doc| {
        doc.put(&view, "said_by", five_mb.as_str()).unwrap();
    });
    let asked = Instant::now();
    let report = kai.sync().await.unwrap();
    assert_eq!(refused_rule(&report, key), "value-too-large");
    println!("a 5 MB view: refused in {:?}", asked.elapsed());

    // More changes in one request than the protocol allows: a 413, nothing applied.
    kai.docs.insert(key, clean.clone());
    kai.states = clean_states.clone();
    for i in 0..=MAX_CHANGES_PER_REQUEST {
        kai.edit(key, |doc| {
            doc.put(&view, "said_by", format!("Kai {i}")).unwrap();
        });
    }
    let (status, body) = kai.sync().await.unwrap_err();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body.error, ErrorCode::TooLarge);
    assert!(
        body.message.contains("changes per request"),
        "{}",
        body.message
    );

    // Nothing of any of it was stored; an honest view still syncs.
    assert_eq!(stored_change_count(storage.as_ref(), &key).unwrap(), stored);
    kai.docs.insert(key, clean);
    kai.states = clean_states;
    kai.edit(key, |doc| {
        doc.put(&view, "said_by", "Kai, on the bus").unwrap();
    });
    let report = kai.sync().await.unwrap();
    assert!(report.refused().is_empty(), "{:?}", report.replies);
    assert_eq!(
        stored_change_count(storage.as_ref(), &key).unwrap(),
        stored + 1
    );

    watch.finish("the gate under attack").await;
}

/// `POST /v1/offer` from `dev`.
async fn offer(
    dev: &WireDevice,
    docs: Vec<OfferedDoc>,
) -> Result<OfferResponse, (StatusCode, wire::ErrorBody)> {
    let body = wire::to_cbor(&OfferRequest { docs }).unwrap();
    let (status, body) = dev.signed("POST", wire::PATH_OFFER, body).await;
    if status != StatusCode::OK {
        return Err((status, error_of(&body)));
    }
    Ok(wire::from_cbor(&body).unwrap())
}

/// A change made on `dev`'s device, in a document of its own making.
fn forged(dev: &WireDevice, words: &str) -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(dev.device.actor_id());
    doc.put(ROOT, "note", words).unwrap();
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

fn quarantined_audits(storage: &dyn Storage, child: bothy_shared::ids::ChildId) -> usize {
    storage
        .audit_of_child(child)
        .unwrap()
        .iter()
        .filter(|e| e.event == AuditEvent::ChangeQuarantined)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_are_authorised_like_sync_and_bounded() {
    let work = tempfile::tempdir().unwrap();
    let (db_url, codes) = demo_database(work.path(), &[KAI_YP, MORAG]).unwrap();
    let server = ServerProcess::start(Path::new(BIN), &db_url, &[]).unwrap();
    let storage = storage::open(&db_url).unwrap();
    let kai = WireDevice::enrol(&server.base, &codes[0], "kai")
        .await
        .unwrap();
    let mut morag = WireDevice::enrol(&server.base, &codes[1], "morag")
        .await
        .unwrap();
    morag.sync().await.unwrap();
    let watch = Watch::start(&server);

    // Kai's device offers work for another child's record, and for his own
    // record (which only the team writes): refused, nothing kept, nothing
    // audited against either child; the same once his device is revoked.
    let ellie = DocKey::Record(ELLIE);
    let his_record = DocKey::Record(KAI);
    let refused_offers = |dev: &WireDevice| {
        vec![
            vec![OfferedDoc {
                key: ellie,
                changes: vec![forged(dev, "about Ellie")],
            }],
            vec![OfferedDoc {
                key: his_record,
                changes: vec![forged(dev, "about me")],
            }],
        ]
    };
    let (ellie_audits, kai_audits) = (
        quarantined_audits(storage.as_ref(), ELLIE),
        quarantined_audits(storage.as_ref(), KAI),
    );
    for docs in refused_offers(&kai) {
        let (status, body) = offer(&kai, docs).await.unwrap_err();
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body.error, ErrorCode::Forbidden);
    }
    storage
        .revoke_device(kai.device, bothy_server::now())
        .unwrap();
    for docs in refused_offers(&kai) {
        let (status, _) = offer(&kai, docs).await.unwrap_err();
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(quarantined_audits(storage.as_ref(), ELLIE), ellie_audits);
    assert_eq!(quarantined_audits(storage.as_ref(), KAI), kai_audits);
    assert!(
        storage
            .quarantined()
            .unwrap()
            .iter()
            .all(|q| q.device != kai.device)
    );

    // Morag's device, revoked, offers her own record's work without end: 6
    // MiB a request. What the server keeps for it stops at its bound.
    storage
        .revoke_device(morag.device, bothy_server::now())
        .unwrap();
    let record = DocKey::Record(KAI);
    let mut kept_requests = 0;
    let mut over = None;
    for request in 0..8u64 {
        let changes: Vec<Vec<u8>> = (0..6u64)
            .map(|i| {
                morag.edit(record, |doc| {
                    doc.put(ROOT, "pasted", noise(1024 * 1024, request * 10 + i + 1))
                        .unwrap();
                });
                morag
                    .docs
                    .get_mut(&record)
                    .unwrap()
                    .get_last_local_change()
                    .unwrap()
                    .raw_bytes()
                    .to_vec()
            })
            .collect();
        let size: usize = changes.iter().map(Vec::len).sum();
        match offer(
            &morag,
            vec![OfferedDoc {
                key: record,
                changes,
            }],
        )
        .await
        {
            Ok(r) => {
                assert_eq!(r.received, 6);
                kept_requests += 1;
            }
            Err(refusal) => {
                over = Some((refusal, size));
                break;
            }
        }
    }
    let ((status, body), refused_size) = over.expect("the device's offers hit their bound");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body.error, ErrorCode::TooLarge);
    let kept: usize = storage
        .quarantined()
        .unwrap()
        .iter()
        .filter(|q| q.device == morag.device)
        .map(|q| q.bytes.len())
        .sum();
    println!(
        "a revoked device offering {refused_size} bytes a request: {kept_requests} requests kept, {kept} bytes in all, then 413"
    );
    // Kept up to the bound, and refused only the request that would pass it.
    assert!(kept_requests >= 2, "{kept_requests}");
    assert!(kept <= MAX_OFFERED_BYTES_PER_DEVICE, "{kept}");
    assert!(kept + refused_size > MAX_OFFERED_BYTES_PER_DEVICE, "{kept}");

    watch.finish("offers").await;
}

/// `key`'s first chronology entry on `dev`, changed by `f` and synced.
async fn edit_chronology(
    dev: &mut WireDevice,
    key: DocKey,
    f: impl FnOnce(&mut bothy_shared::docs::ChronologyEntry),
) -> bothy_tests::wire_device::SyncReport {
    dev.edit(key, |doc| {
        let mut record: RecordDoc = read_document(&*doc, &key).unwrap();
        f(record.chronology.values_mut().next().unwrap());
        write_document(doc, &key, &record).unwrap();
    });
    dev.sync().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_recording_agency_and_its_supervisors_change_a_chronology_entry() {
    let work = tempfile::tempdir().unwrap();
    let (db_url, codes) = demo_database(work.path(), &[DAVID, FIONA]).unwrap();
    let server = ServerProcess::start(Path::new(BIN), &db_url, &[]).unwrap();
    let storage = storage::open(&db_url).unwrap();
    let mut david = WireDevice::enrol(&server.base, &codes[0], "david")
        .await
        .unwrap();
    let mut fiona = WireDevice::enrol(&server.base, &codes[1], "fiona")
        .await
        .unwrap();
    david.sync().await.unwrap();
    fiona.sync().await.unwrap();
    let key = DocKey::Record(KAI);
    let stored = stored_change_count(storage.as_ref(), &key).unwrap();

    // Morag (social work) recorded it; David teaches (education).
    let report = edit_chronology(&mut david, key, |e| e.event.update("Nothing happened.")).await;
    assert_eq!(refused_rule(&report, key), "authoring-agency-only");
    assert_eq!(stored_change_count(storage.as_ref(), &key).unwrap(), stored);

    // Fiona supervises Morag: she may.
    let report = edit_chronology(&mut fiona, key, |e| {
        e.impact_note
            .update("Attendance dropped sharply; recovering since September.")
    })
    .await;
    assert!(report.refused().is_empty(), "{:?}", report.replies);
    assert!(stored_change_count(storage.as_ref(), &key).unwrap() > stored);
    let server_copy = bothy_tests::server::stored_document(storage.as_ref(), &key).unwrap();
    let record: RecordDoc = read_document(&server_copy, &key).unwrap();
    assert!(record.chronology.values().any(|e| {
        e.impact_note
            .as_str()
            .contains("recovering since September")
    }));
}
