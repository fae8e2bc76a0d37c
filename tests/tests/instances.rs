//! Several real `bothy-server serve` processes on one PostgreSQL database,
//! as behind a load balancer: devices spread across them edit the same
//! documents offline and converge, nothing is lost or stored twice when an
//! instance is killed mid-sync, and nonces are shared.
//!
//! Needs PostgreSQL at `BOTHY_PG_URL` (see `bothy_tests::db`); fails if it
//! is unreachable.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use bothy_server::storage::AuditEvent;
use bothy_shared::docs::DocKey;
use bothy_shared::ids::ItemId;
use bothy_shared::signing::SignedHeaders;
use bothy_shared::wire::{self, ChangedRequest, DocStatus, ErrorCode};
use bothy_tests::db::{self, Backend, TestDb, now};
use bothy_tests::server::ServerProcess;
use bothy_tests::wire_device::{RunError, WireDevice, add_visit, error_of, visits};
use reqwest::StatusCode;

/// The real `bothy-server` program, built from the server's `main.rs`.
const BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

/// POST a signed `/v1/changed` to one instance.
async fn send_to(base: &str, body: &[u8], headers: &SignedHeaders) -> (StatusCode, Vec<u8>) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{}", wire::PATH_CHANGED))
        .header("content-type", wire::CBOR_CONTENT_TYPE);
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    let resp = req.body(body.to_vec()).send().await.unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

/// Sync every device at once; each task hands its device back.
async fn sync_all(devices: Vec<WireDevice>) -> Vec<(WireDevice, Result<usize, RunError>)> {
    let tasks: Vec<_> = devices
        .into_iter()
        .map(|mut dev| {
            tokio::spawn(async move {
                let outcome = dev.try_sync().await.map(|report| {
                    assert!(report.refused().is_empty(), "{:?}", report.refused());
                    report.sync_requests
                });
                (dev, outcome)
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Sync everyone until a whole pass has nothing to exchange.
async fn converge(mut devices: Vec<WireDevice>) -> Vec<WireDevice> {
    for _ in 0..6 {
        let results = sync_all(devices).await;
        let quiet = results.iter().all(|(_, r)| matches!(r, Ok(0)));
        devices = results
            .into_iter()
            .map(|(dev, r)| {
                r.unwrap();
                dev
            })
            .collect();
        if quiet {
            return devices;
        }
    }
    panic!("the devices did not converge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_database_converge_and_survive_a_kill() {
    let db = TestDb::new(Backend::Postgres);
    let storage = db.open();
    let people = db::seed(storage.as_ref()).unwrap();
    let record = DocKey::Record(people.child);
    let mut instances: Vec<ServerProcess> = (0..3)
        .map(|_| {
            let key_args = db.key_args();
            let args: Vec<&str> = key_args.iter().map(String::as_str).collect();
            ServerProcess::start(Path::new(BIN), &db.url, &args).unwrap()
        })
        .collect();
    for i in &instances {
        let resp = reqwest::get(format!("{}/health", i.base)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }

    // Six devices, two per instance, enrolled through the instance they use.
    let mut devices = Vec::new();
    for i in 0..6 {
        let person = if i % 2 == 0 {
            people.social_worker
        } else {
            people.health_visitor
        };
        let base = &instances[i % 3].base;
        let code = db::code_for(storage.as_ref(), person).unwrap();
        devices.push(WireDevice::enrol(base, &code, "phone").await.unwrap());
    }
    let mut made: BTreeSet<ItemId> = BTreeSet::new();
    let mut devices = converge(devices).await;

    // Rounds of concurrent offline edits to the same record, synced at once.
    for round in 0..3 {
        for dev in &mut devices {
            made.insert(add_visit(dev, record, &format!("round {round}")));
        }
        devices = sync_all(devices)
            .await
            .into_iter()
            .map(|(dev, r)| {
                r.unwrap();
                dev
            })
            .collect();
    }
    devices = converge(devices).await;

    // A change accepted by one instance reaches a device on another on its
    // next sync (that instance has the record cached from the rounds above).
    let visit = add_visit(&mut devices[1], record, "through instance 1");
    made.insert(visit);
    assert!(devices[1].sync().await.unwrap().refused().is_empty());
    let pull = devices[2].sync().await.unwrap();
    assert_eq!(pull.changed.changed, vec![record]);
    assert!(visits(&devices[2].docs[&record], record).contains_key(&visit));

    // Instance 0 dies mid-sync. Deterministically: device 0's change reached
    // it and was stored, but the response never reached the device (its
    // persisted state and cursor stay behind). Then every device starts a
    // sync run and instance 0 gets SIGKILL at once, so the runs of devices 0
    // and 3 (on instance 0) die at whatever point they had reached.
    for dev in &mut devices {
        made.insert(add_visit(dev, record, "before the kill"));
    }
    let lost = devices[0].sync_and_lose_the_answer(record).await.unwrap();
    assert_eq!(lost.docs[0].status, DocStatus::Ok);
    let running = tokio::spawn(sync_all(devices));
    instances[0].kill().unwrap();
    let mut devices: Vec<WireDevice> = Vec::new();
    let mut cut = 0;
    for (i, (mut dev, outcome)) in running.await.unwrap().into_iter().enumerate() {
        match outcome {
            Ok(_) => {}
            Err(RunError::Transport(_)) if i % 3 == 0 => cut += 1,
            Err(e) => panic!("device {i}: {e:?}"),
        }
        // Instance 0's devices move on to the others.
        if i % 3 == 0 {
            dev.base = instances[1 + i % 2].base.clone();
        }
        devices.push(dev);
    }
    eprintln!("the kill cut {cut} of instance 0's two sync runs short");
    let mut devices = converge(devices).await;

    // Everyone holds the same document, with every visit anyone made, and
    // the database holds each change once, audited once.
    let heads = devices[0].docs.get_mut(&record).unwrap().get_heads();
    for dev in &mut devices {
        assert_eq!(dev.docs.get_mut(&record).unwrap().get_heads(), heads);
        let seen: BTreeSet<ItemId> = visits(&dev.docs[&record], record).into_keys().collect();
        let lost: Vec<_> = made.difference(&seen).collect();
        assert!(lost.is_empty(), "lost visits {lost:?}");
    }
    let server = bothy_server::sync::DocCache::default()
        .load(storage.as_ref(), &record)
        .unwrap();
    assert_eq!(server.get_heads(), heads);
    let stored = storage.changes_after(&record, 0).unwrap();
    assert_eq!(stored.len(), server.get_changes(&[]).len());
    let accepted = storage
        .audit_of_child(people.child)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == AuditEvent::ChangeAccepted && e.document == record)
        .count();
    assert_eq!(accepted, made.len(), "each change accepted once");

    // A nonce used on one instance is a replay on another; racing one
    // signed request to both, exactly one wins.
    let dev = &devices[0];
    let body = wire::to_cbor(&ChangedRequest::default()).unwrap();
    let headers = dev
        .signer
        .sign("POST", wire::PATH_CHANGED, &body, now())
        .unwrap();
    let (first, second) = (&instances[1].base, &instances[2].base);
    let (status, _) = send_to(first, &body, &headers).await;
    assert_eq!(status, StatusCode::OK);
    let (status, resp) = send_to(second, &body, &headers).await;
    assert_eq!(
        (status, error_of(&resp).error),
        (StatusCode::UNAUTHORIZED, ErrorCode::ReplayedNonce)
    );
    let headers = dev
        .signer
        .sign("POST", wire::PATH_CHANGED, &body, now())
        .unwrap();
    let (a, b) = tokio::join!(
        send_to(first, &body, &headers),
        send_to(second, &body, &headers)
    );
    let oks = [a.0, b.0].iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(oks, 1, "{:?} {:?}", a.0, b.0);
}
