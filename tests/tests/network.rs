//! The network misbehaving: a proxy that cuts connections at random bytes,
//! the real `bothy-server` process SIGKILLed mid-sync and restarted on the
//! same database, hostile requests against the real process, and the real
//! `bothy` command against a real server.
//!
//! The programs are this package's `bothy-server-under-test` and
//! `bothy-under-test` binaries: the server's and the client's own `main.rs`,
//! compiled here so `env!("CARGO_BIN_EXE_…")` finds them (see Cargo.toml).

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bothy_client::services::VisitDraft;
use bothy_client::sync::{HttpExchange, RetryPolicy, SyncError, SyncOptions, meta};
use bothy_server::storage::{self, Storage};
use bothy_shared::demo::{AILEEN, DAVID, ELLIE, KAI, MORAG};
use bothy_shared::docs::{ActionStatus, DocKey, PlanDoc};
use bothy_shared::robust;
use bothy_shared::signing::RequestSigner;
use bothy_shared::wire::{self, ChangedRequest, DocMessage, DocStatus, SyncRequest, SyncResponse};
use bothy_tests::device::Device;
use bothy_tests::proxy::{CutPlan, CuttingProxy};
use bothy_tests::server::{ServerProcess, TestServer, demo_database, stored_change_count};

const SERVER_BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");
const BOTHY_BIN: &str = env!("CARGO_BIN_EXE_bothy-under-test");

/// The seed for randomised tests: `BOTHY_TEST_SEED`, or from the clock;
/// printed so a failure can be replayed.
fn seed() -> u64 {
    let seed = std::env::var("BOTHY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("BOTHY_TEST_SEED={seed}");
    seed
}

fn patient() -> SyncOptions {
    SyncOptions {
        // A connection per request, so the proxy's cuts hit every kind of request.
        reuse_connections: false,
        retry: RetryPolicy {
            attempts: 60,
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
        },
        ..SyncOptions::default()
    }
}

fn visit(device: &mut Device, child: bothy_shared::ids::ChildId, words: &str) -> DocKey {
    let mut draft = VisitDraft::new(child);
    draft.observations = words.to_owned();
    draft.child_seen = true;
    device.client_mut().save_visit(&draft, true).unwrap()
}

/// Hashes (hex) of the changes the server stores for `key`.
fn stored_hashes(storage: &dyn Storage, key: &DocKey) -> BTreeSet<String> {
    storage
        .changes_after(key, 0)
        .unwrap()
        .iter()
        .map(|c| hex::encode(robust::decode_change(&c.bytes).unwrap().hash().0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_through_a_proxy_cutting_connections_at_random_bytes_loses_and_duplicates_nothing() {
    let seed = seed();
    let server = TestServer::start_demo().await.unwrap();
    let upstream = server.base.trim_start_matches("http://").parse().unwrap();
    let proxy = CuttingProxy::start(
        upstream,
        CutPlan {
            seed,
            cut_probability: 0.35,
            max_cut_offset: 1500,
        },
    )
    .await
    .unwrap();
    // Enrolment is sent once (a code is used once): enrol through the proxy
    // while it does not cut, then sync only through it while it does.
    proxy.set_cutting(false);
    let mut devices = Vec::new();
    for (name, person) in [("Morag", MORAG), ("Aileen", AILEEN), ("David", DAVID)] {
        let code = server.code_for(person).unwrap();
        devices.push(
            Device::enrol(name, &proxy.base, &code, patient())
                .await
                .unwrap(),
        );
    }
    proxy.set_cutting(true);
    for d in &mut devices {
        d.sync().await.unwrap();
    }
    let keys = [DocKey::Plan(KAI), DocKey::Record(KAI)];
    let initial: Vec<usize> = keys
        .iter()
        .map(|k| server.change_count(k).unwrap())
        .collect();
    let mut made: BTreeMap<DocKey, usize> = BTreeMap::new();
    let plan = devices[0].read::<PlanDoc>(&keys[0]).unwrap();
    let action = *plan
        .needs
        .values()
        .next()
        .unwrap()
        .actions
        .keys()
        .next()
        .unwrap();

    for round in 0..3 {
        for (i, d) in devices.iter_mut().enumerate() {
            visit(d, KAI, &format!("round {round} visit by device {i}"));
            *made.entry(keys[1]).or_default() += 1;
            // Setting the status it already has makes no change: count
            // what the device really holds unsynced.
            let plan_key = keys[0].to_string();
            let pending = |d: &Device| {
                d.client()
                    .store()
                    .unacknowledged_changes(&plan_key)
                    .unwrap()
                    .len()
            };
            let before = pending(d);
            let status = [
                ActionStatus::Done,
                ActionStatus::Stuck,
                ActionStatus::InProgress,
            ][(i + round) % 3];
            // Devices apart set the status at once, so it may hold two
            // values: setting the one shown then settles nothing unseen and
            // is refused with nothing saved (any other value is a choice).
            match d.client_mut().set_action_status(KAI, action, status) {
                Ok(()) | Err(bothy_client::ServiceError::ConflictOpen { .. }) => {}
                Err(e) => panic!("seed {seed}: {e}"),
            }
            d.client_mut()
                .add_family_view(KAI, "overall", "Gran", &format!("r{round}-d{i}"))
                .unwrap();
            *made.entry(keys[0]).or_default() += pending(d) - before;
        }
        for d in &mut devices {
            let report = d
                .sync()
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!(report.refused.is_empty(), "{:?}", report.refused);
            // Work to push: `/v1/changed` was asked inside `/v1/sync`,
            // so the cuts hit the folded request.
            assert_eq!(
                report.traffic.requests,
                report.sync_requests + u32::from(report.directory_refreshed),
                "seed {seed}: no /v1/changed in a push"
            );
        }
    }
    // Everyone hears everything (still through the proxy).
    for d in &mut devices {
        d.sync().await.unwrap();
    }
    assert!(
        proxy.cuts() > 0,
        "seed {seed}: the proxy never cut a connection"
    );
    for (k, key) in keys.iter().enumerate() {
        assert_eq!(
            server.change_count(key).unwrap(),
            initial[k] + made[key],
            "seed {seed}: {key} holds each change exactly once"
        );
        let heads = server.document(key).unwrap().get_heads();
        for d in &mut devices {
            assert_eq!(d.client().unsynced_changes().unwrap(), 0, "seed {seed}");
            let local = d.client_mut().document(key).unwrap().unwrap().get_heads();
            assert_eq!(local, heads, "seed {seed}: {} converged on {key}", d.name);
        }
    }
    eprintln!(
        "proxy: {} connections, {} cut",
        proxy.connections(),
        proxy.cuts()
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_mid_sync_loses_no_accepted_change_and_devices_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, codes) = demo_database(dir.path(), &[MORAG, AILEEN, MORAG]).unwrap();
    let server = Arc::new(Mutex::new(
        ServerProcess::start(Path::new(SERVER_BIN), &db_url, &[]).unwrap(),
    ));
    let base = server.lock().unwrap().base.clone();

    // Morag's device: one document per request, and the server is SIGKILLed
    // as soon as the second /v1/sync answer has arrived.
    let answers = Arc::new(AtomicUsize::new(0));
    let kill_armed = Arc::new(AtomicUsize::new(0));
    let (seen, armed, victim) = (answers.clone(), kill_armed.clone(), server.clone());
    let options = SyncOptions {
        max_docs_per_request: 1,
        retry: RetryPolicy {
            attempts: 2,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
        },
        observer: Some(Arc::new(move |x: &HttpExchange<'_>| {
            if x.path == wire::PATH_SYNC && x.status == Some(200) {
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                if armed.load(Ordering::SeqCst) == 1 && n == 2 {
                    victim.lock().unwrap().kill().unwrap();
                }
            }
        })),
        ..SyncOptions::default()
    };
    let mut morag = Device::enrol("Morag", &base, &codes[0], options)
        .await
        .unwrap();
    let mut aileen = Device::enrol("Aileen", &base, &codes[1], SyncOptions::default())
        .await
        .unwrap();
    morag.sync().await.unwrap();
    aileen.sync().await.unwrap();

    // Offline work in five documents.
    let mut made: BTreeMap<DocKey, usize> = BTreeMap::new();
    for (child, words) in [(KAI, "Kai at home"), (ELLIE, "Ellie at nursery")] {
        *made.entry(visit(&mut morag, child, words)).or_default() += 1;
    }
    let mut restricted = VisitDraft::new(KAI);
    restricted.observations = "social work only".into();
    restricted.sharing = bothy_shared::docs::Sharing::Agency;
    *made
        .entry(morag.client_mut().save_visit(&restricted, true).unwrap())
        .or_default() += 1;
    for child in [KAI, ELLIE] {
        morag
            .client_mut()
            .add_family_view(child, "overall", "Mum", "things are better")
            .unwrap();
        *made.entry(DocKey::Plan(child)).or_default() += 1;
    }
    assert_eq!(made.len(), 5);
    let before: BTreeMap<DocKey, BTreeSet<String>> = made
        .keys()
        .map(|k| {
            let hashes = morag
                .client()
                .store()
                .unacknowledged_changes(&k.to_string())
                .unwrap()
                .iter()
                .map(|c| hex::encode(&c.hash))
                .collect();
            (*k, hashes)
        })
        .collect();

    answers.store(0, Ordering::SeqCst);
    kill_armed.store(1, Ordering::SeqCst);
    let cut = morag.sync().await;
    kill_armed.store(0, Ordering::SeqCst);
    assert!(
        matches!(cut, Err(SyncError::Unreachable { .. })),
        "the run was cut: {cut:?}"
    );
    assert!(!server.lock().unwrap().is_running());

    // Everything the device counts as acknowledged is in the database.
    let storage = storage::open(&db_url).unwrap();
    let mut acknowledged = 0;
    let mut pending = 0;
    for (key, hashes) in &before {
        let still: BTreeSet<String> = morag
            .client()
            .store()
            .unacknowledged_changes(&key.to_string())
            .unwrap()
            .iter()
            .map(|c| hex::encode(&c.hash))
            .collect();
        let stored = stored_hashes(storage.as_ref(), key);
        for h in hashes.difference(&still) {
            acknowledged += 1;
            assert!(
                stored.contains(h),
                "acknowledged change {h} of {key} is stored"
            );
        }
        pending += still.len();
    }
    assert_eq!(
        acknowledged, 2,
        "two documents were answered before the kill"
    );
    assert_eq!(pending, 3, "the rest was still to send");
    let counts: BTreeMap<DocKey, usize> = made
        .keys()
        .map(|k| (*k, stored_change_count(storage.as_ref(), k).unwrap()))
        .collect();
    drop(storage);

    // Restart on the same database (the port it had); the device resumes
    // and finishes.
    server.lock().unwrap().restart().unwrap();
    let resumed = morag.sync().await.unwrap();
    assert!(resumed.refused.is_empty());
    assert_eq!(resumed.acknowledged, 3);
    assert_eq!(morag.client().unsynced_changes().unwrap(), 0);
    let pulled = aileen.sync().await.unwrap();
    assert!(pulled.received >= 3, "{pulled:?}");
    let storage = storage::open(&db_url).unwrap();
    for (key, hashes) in &before {
        let stored = stored_hashes(storage.as_ref(), key);
        assert!(hashes.is_subset(&stored), "every change of {key} is stored");
    }
    // Nothing stored twice: each document grew by exactly what was still pending.
    let grown: usize = made
        .keys()
        .map(|k| stored_change_count(storage.as_ref(), k).unwrap() - counts[k])
        .sum();
    assert_eq!(grown, 3);
    assert_eq!(
        aileen
            .client_mut()
            .document(&DocKey::Record(KAI))
            .unwrap()
            .unwrap()
            .get_heads(),
        morag
            .client_mut()
            .document(&DocKey::Record(KAI))
            .unwrap()
            .unwrap()
            .get_heads()
    );
    // A third device enrols on the restarted server and gets everything.
    let mut third = Device::enrol("Morag 2", &base, &codes[2], SyncOptions::default())
        .await
        .unwrap();
    third.sync().await.unwrap();
    assert_eq!(
        third
            .client_mut()
            .document(&DocKey::Plan(ELLIE))
            .unwrap()
            .unwrap()
            .get_heads(),
        morag
            .client_mut()
            .document(&DocKey::Plan(ELLIE))
            .unwrap()
            .unwrap()
            .get_heads()
    );
}

async fn raw(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> (u16, String) {
    let mut req = http
        .post(format!("{base}{path}"))
        .header("content-type", wire::CBOR_CONTENT_TYPE);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap_or_default())
        }
        // The server may answer and close before reading all of a body it
        // refuses: the client then sees the connection go.
        Err(e) => (0, format!("connection closed: {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_and_the_real_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, codes) = demo_database(dir.path(), &[MORAG]).unwrap();
    let server = ServerProcess::start(
        Path::new(SERVER_BIN),
        &db_url,
        &["--max-body-bytes", "65536"],
    )
    .unwrap();
    let base = server.base.clone();
    let mut morag = Device::enrol("Morag", &base, &codes[0], SyncOptions::default())
        .await
        .unwrap();
    morag.sync().await.unwrap();
    let device = morag.client().me().device;
    let key = morag
        .client()
        .store()
        .meta(meta::DEVICE_KEY)
        .unwrap()
        .unwrap();
    let signer = RequestSigner::from_pkcs8(device, &key).unwrap();
    let http = reqwest::Client::new();
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();
    let sign = |path: &str, body: &[u8]| -> Vec<(&'static str, String)> {
        signer
            .sign("POST", path, body, now())
            .unwrap()
            .pairs()
            .to_vec()
    };

    // Unsigned.
    let body = wire::to_cbor(&ChangedRequest::default()).unwrap();
    let (status, text) = raw(&http, &base, wire::PATH_CHANGED, body.clone(), &[]).await;
    assert_eq!(
        (status, text.contains("\"unsigned\"")),
        (401, true),
        "{text}"
    );
    // Signed, then replayed with the same nonce.
    let headers = sign(wire::PATH_CHANGED, &body);
    let (status, _) = raw(&http, &base, wire::PATH_CHANGED, body.clone(), &headers).await;
    assert_eq!(status, 200);
    let (status, text) = raw(&http, &base, wire::PATH_CHANGED, body.clone(), &headers).await;
    assert_eq!(
        (status, text.contains("replayed-nonce")),
        (401, true),
        "{text}"
    );
    // The body changed after signing.
    let headers = sign(wire::PATH_CHANGED, &body);
    let (status, text) = raw(&http, &base, wire::PATH_CHANGED, b"\xa0".to_vec(), &headers).await;
    assert_eq!(
        (status, text.contains("bad-signature")),
        (401, true),
        "{text}"
    );
    // Not CBOR at all, correctly signed.
    let junk = b"\xff\xfe definitely not cbor".to_vec();
    let headers = sign(wire::PATH_SYNC, &junk);
    let (status, text) = raw(&http, &base, wire::PATH_SYNC, junk, &headers).await;
    assert_eq!((status, text.contains("malformed")), (400, true), "{text}");
    // Over the size limit.
    let big = vec![0u8; 70_000];
    let headers = sign(wire::PATH_SYNC, &big);
    let (status, text) = raw(&http, &base, wire::PATH_SYNC, big, &headers).await;
    assert!(
        status == 413 || (status == 0 && text.starts_with("connection closed")),
        "{status} {text}"
    );
    // A well-formed request carrying a garbage Automerge message.
    let bad = wire::to_cbor(&SyncRequest {
        docs: vec![DocMessage {
            key: DocKey::Record(KAI),
            message: vec![0x42, 0x00, 0xff, 0x13, 0x37],
        }],
        changed: None,
    })
    .unwrap();
    let headers = sign(wire::PATH_SYNC, &bad);
    let (status, _) = raw(&http, &base, wire::PATH_SYNC, bad.clone(), &headers).await;
    assert_eq!(status, 200);
    let resp = http
        .post(format!("{base}{}", wire::PATH_SYNC))
        .header("content-type", wire::CBOR_CONTENT_TYPE)
        .headers({
            let mut h = reqwest::header::HeaderMap::new();
            for (n, v) in sign(wire::PATH_SYNC, &bad) {
                h.insert(n, v.parse().unwrap());
            }
            h
        })
        .body(bad)
        .send()
        .await
        .unwrap();
    let reply: SyncResponse = wire::from_cbor(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.docs[0].status, DocStatus::Malformed);

    // Still serving, and the device still syncs a visit in one round trip.
    let mut server = server;
    assert!(server.is_running());
    visit(&mut morag, KAI, "after the attack");
    let report = morag.sync().await.unwrap();
    assert_eq!((report.acknowledged, report.sync_requests), (1, 1));
    server.kill().unwrap();
}

async fn bothy(data: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    bothy_tests::cli::bothy(BOTHY_BIN, data, args)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bothy_command_enrols_syncs_shows_status_and_exits_7_offline_and_8_revoked() {
    let server = TestServer::start_demo().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    let code = server.code_for(MORAG).unwrap();
    let base = server.base.clone();
    let (code_rc, out, err) = bothy(
        &data,
        &[
            "enrol",
            "--server",
            &base,
            "--code",
            &code,
            "--insecure-test-kdf",
        ],
    )
    .await;
    assert_eq!(code_rc, 0, "{out}{err}");
    assert!(out.contains("Enrolled as Morag Fraser"), "{out}");
    assert!(
        !out.contains(&code) && !err.contains(&code),
        "the code is never echoed"
    );

    let (rc, out, err) = bothy(&data, &["sync"]).await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("Synced with"), "{out}");
    let (rc, _, err) = bothy(
        &data,
        &[
            "visit",
            "--child",
            "Kai",
            "--text",
            "cli visit",
            "--seen",
            "--finalise",
        ],
    )
    .await;
    assert_eq!(rc, 0, "{err}");
    let (_, status, _) = bothy(&data, &["status"]).await;
    assert!(status.contains("1 change(s) waiting to sync"), "{status}");
    let (rc, out, _) = bothy(&data, &["sync"]).await;
    assert_eq!(rc, 0);
    assert!(out.contains("Sent 1 change(s)"), "{out}");
    let (_, status, _) = bothy(&data, &["status"]).await;
    assert!(status.contains(&format!("Server: {base}")), "{status}");
    assert!(status.contains("0 change(s) waiting to sync"), "{status}");
    assert!(!status.contains("Last sync: never"), "{status}");

    // Revoked: the unsynced visit is offered, the data wiped, exit code 8.
    let (rc, _, err) = bothy(&data, &["visit", "--child", "Kai", "--text", "last words"]).await;
    assert_eq!(rc, 0, "{err}");
    let device = server.storage.devices().unwrap()[0].id;
    server
        .storage
        .revoke_device(device, bothy_server::now())
        .unwrap();
    let (rc, out, err) = bothy(&data, &["sync"]).await;
    assert_eq!(rc, 8, "{out}{err}");
    assert!(err.contains("revoked"), "{err}");
    assert!(!data.join("bothy.db").exists() && !data.join("bothy.key").exists());
    assert_eq!(server.storage.quarantined().unwrap().len(), 1);

    // Unreachable: exit code 7, nothing lost.
    let other = dir.path().join("other");
    let code = server.code_for(DAVID).unwrap();
    let (rc, _, err) = bothy(
        &other,
        &[
            "enrol",
            "--server",
            &base,
            "--code",
            &code,
            "--insecure-test-kdf",
        ],
    )
    .await;
    assert_eq!(rc, 0, "{err}");
    server.stop().await.unwrap();
    let (rc, out, err) = bothy(&other, &["sync", "--attempts", "1"]).await;
    assert_eq!(rc, 7, "{out}{err}");
    assert!(other.join("bothy.db").exists());
}
