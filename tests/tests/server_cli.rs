//! The `bothy-server` program: admin commands and the demo, with devices
//! enrolled through it.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use bothy_shared::ids::{Agency, DeviceId};
use bothy_tests::server::listening_port;
use bothy_tests::wire_device::WireDevice;

/// The real `bothy-server` program, built from the server's `main.rs`.
const BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_fails(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

#[tokio::test]
async fn an_administrator_builds_a_team_enrols_a_device_revokes_it_and_reads_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("admin.db").display());
    let child = run(&["add-child", "--db", &db, "--name", "Jamie Test"])
        .trim()
        .to_owned();
    let worker = run(&[
        "add-person",
        "--db",
        &db,
        "--name",
        "Morag Test",
        "--kind",
        "practitioner",
        "--agency",
        "social-work",
    ])
    .trim()
    .to_owned();
    let manager = run(&[
        "add-person",
        "--db",
        &db,
        "--name",
        "Iain Test",
        "--kind",
        "supervisor",
        "--agency",
        "social-work",
    ])
    .trim()
    .to_owned();
    run(&[
        "add-person",
        "--db",
        &db,
        "--name",
        "Jamie",
        "--kind",
        "young-person",
        "--child",
        &child,
    ]);
    run_fails(&[
        "add-person",
        "--db",
        &db,
        "--name",
        "No Agency",
        "--kind",
        "practitioner",
    ]);
    run_fails(&[
        "add-person",
        "--db",
        &db,
        "--name",
        "Bad",
        "--kind",
        "practitioner",
        "--agency",
        "council",
    ]);
    run(&[
        "add-team-member",
        "--db",
        &db,
        "--child",
        &child,
        "--person",
        &worker,
        "--role",
        "lead-professional",
    ]);
    run(&[
        "set-supervisor",
        "--db",
        &db,
        "--supervisor",
        &manager,
        "--person",
        &worker,
    ]);
    let code = run(&["enrol-code", "--db", &db, "--person", &worker])
        .trim()
        .to_owned();
    assert_eq!(code.len(), 19);

    // The agency record came into being with the first social worker.
    let storage = bothy_server::storage::open(&db).unwrap();
    let child_id = child.parse().unwrap();
    let docs = storage.documents_of_child(child_id).unwrap();
    assert!(docs.contains(&bothy_shared::docs::DocKey::Agency(
        child_id,
        Agency::SocialWork
    )));

    // Enrol through a real server on the same database.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = bothy_server::ServerConfig::for_tests(&db);
    let server = tokio::spawn(bothy_server::launch_with_tcp_listener(
        config,
        listener,
        async move {
            let _ = rx.await;
        },
    ));
    let mut device = WireDevice::enrol(&base, &code, "work phone").await.unwrap();
    let report = device.sync().await.unwrap();
    assert_eq!(report.changed.new.len(), 3);
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();

    let devices = run(&["devices", "--db", &db]);
    let id = device.device.to_string();
    assert!(
        devices
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("work phone") && l.ends_with("\t-"))
    );
    run(&["revoke-device", "--db", &db, "--device", &id]);
    assert!(
        !run(&["devices", "--db", &db])
            .lines()
            .any(|l| l.starts_with(&id) && l.ends_with("\t-"))
    );
    run_fails(&[
        "revoke-device",
        "--db",
        &db,
        "--device",
        &DeviceId::random().to_string(),
    ]);

    let audit = run(&["audit", "--db", &db, "--child", &child]);
    assert!(
        audit
            .lines()
            .filter(|l| l.contains("\tdocument-created\t"))
            .count()
            >= 3
    );
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\tdocument-sent\t") && l.contains(&id))
    );
    // Enrolment codes never appear in output other than enrol-code's own.
    assert!(!audit.contains(&code) && !devices.contains(&code));
}

#[tokio::test]
async fn demo_seeds_prints_one_enrol_line_per_person_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let people = bothy_shared::demo::partnership().people;
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--db", &db])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..people.len() {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_owned());
    }
    for (line, person) in lines.iter().zip(&people) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 5, "{line}");
        assert_eq!(fields[0], "enrol");
        assert!(
            [
                "practitioner",
                "lead-professional",
                "named-person",
                "supervisor",
                "young-person",
                "duty"
            ]
            .contains(&fields[1])
        );
        assert_eq!(fields[2], person.agency.map_or("-", Agency::as_str));
        assert_eq!(fields[3], person.name.replace(' ', "_"));
        assert_eq!(fields[4].len(), 19);
    }

    // The server logs where it listens; enrol the first person with their code.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = format!("127.0.0.1:{}", listening_port(&mut stderr).unwrap());
    let code = lines[0].split(' ').nth(4).unwrap();
    let mut device = WireDevice::enrol(&format!("http://{addr}"), code, "demo phone")
        .await
        .unwrap();
    assert_eq!(device.person, people[0].id);
    let report = device.sync().await.unwrap();
    assert!(!report.changed.new.is_empty());
    assert!(report.refused().is_empty());

    // SIGTERM stops it gracefully.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(exit.success(), "{rest}");
}

/// Adult services (issue 15) are agencies: an adult social worker added by
/// the admin command and put on a child's team gets their agency record,
/// enrols and syncs the child's plan.
#[tokio::test]
async fn an_adult_social_worker_on_a_childs_team_syncs_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("adult.db").display());
    let child = run(&["add-child", "--db", &db, "--name", "Skye Test"])
        .trim()
        .to_owned();
    let worker = run(&[
        "add-person",
        "--db",
        &db,
        "--name",
        "Ross Adult",
        "--kind",
        "practitioner",
        "--agency",
        "adult-social-work",
    ])
    .trim()
    .to_owned();
    for agency in ["adult-mental-health", "housing"] {
        run(&[
            "add-person",
            "--db",
            &db,
            "--name",
            "Another Adult",
            "--kind",
            "practitioner",
            "--agency",
            agency,
        ]);
    }
    // The refusal names the adult services among the agencies.
    let said = run_fails(&[
        "add-person",
        "--db",
        &db,
        "--name",
        "Bad",
        "--kind",
        "practitioner",
        "--agency",
        "adult-services",
    ]);
    assert!(
        said.contains("adult-social-work") && said.contains("housing"),
        "{said}"
    );
    run(&[
        "add-team-member",
        "--db",
        &db,
        "--child",
        &child,
        "--person",
        &worker,
    ]);
    let storage = bothy_server::storage::open(&db).unwrap();
    let child_id: bothy_shared::ids::ChildId = child.parse().unwrap();
    let agency_record = bothy_shared::docs::DocKey::Agency(child_id, Agency::AdultSocialWork);
    assert!(
        storage
            .documents_of_child(child_id)
            .unwrap()
            .contains(&agency_record)
    );
    drop(storage);
    let code = run(&["enrol-code", "--db", &db, "--person", &worker])
        .trim()
        .to_owned();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = bothy_server::ServerConfig::for_tests(&db);
    let server = tokio::spawn(bothy_server::launch_with_tcp_listener(
        config,
        listener,
        async move {
            let _ = rx.await;
        },
    ));
    let mut device = WireDevice::enrol(&base, &code, "adult team phone")
        .await
        .unwrap();
    let report = device.sync().await.unwrap();
    let mut got: Vec<_> = report.changed.new.clone();
    got.sort();
    let mut want = vec![
        bothy_shared::docs::DocKey::Plan(child_id),
        bothy_shared::docs::DocKey::Record(child_id),
        agency_record,
    ];
    want.sort();
    assert_eq!(got, want);
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
