//! The app end to end in headless Chromium: the real `bothy-server` program,
//! three real devices (encrypted stores enrolled with it) and, for each, the
//! real `bothy-liveview` program serving the app over that device's client
//! core; Playwright (npm `playwright-core`, Debian's `chromium`) drives the
//! three journeys in `tests/browser/journeys.mjs`: the practitioner on a
//! visit (recorded while the server is stopped, synced once it is back),
//! the young person, the supervisor. axe-core checks every screen at 320 px;
//! a screenshot of every screen is kept in `$CARGO_TARGET_DIR/bothy-screens`
//! (or `BOTHY_SCREENSHOTS`).
//!
//! Needs: `node`, `/usr/bin/chromium` and `tests/browser/node_modules`
//! (`scripts/setup.sh` installs them all).
//!
//! The script asks this test to stop and start the server by printing
//! `CONTROL stop-server` / `CONTROL start-server`; the test answers `ok` on
//! the script's standard input once done (the start waits for `/health`).

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bothy_client::sync::SyncOptions;
use bothy_shared::demo::{FIONA, KAI, KAI_YP, MORAG};
use bothy_shared::docs::{DocKey, RecordDoc, read_document};
use bothy_shared::ids::PersonId;
use bothy_tests::device::{Device, TEST_PASSCODE};
use bothy_tests::server::{ServerProcess, demo_database};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const SERVER_BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");
const LIVEVIEW_BIN: &str = env!("CARGO_BIN_EXE_bothy-liveview-under-test");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One device enrolled with the server and synced once (as `bothy enrol`
/// then `bothy sync` leave it), its store closed again, ready for
/// `bothy-liveview` to open with the passcode.
async fn enrolled(base: &str, code: &str, name: &str) -> tempfile::TempDir {
    let mut device = Device::enrol(name, base, code, SyncOptions::default())
        .await
        .unwrap();
    device.sync().await.unwrap();
    let (client, _engine, dir) = device.into_parts();
    client.lock().unwrap();
    dir
}

/// `bothy-liveview` over `dir` on a free loopback port; returns the process
/// and its base URL, read from its "listening on" line.
async fn liveview(dir: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(LIVEVIEW_BIN)
        .arg("--data")
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .next_line()
        .await
        .unwrap()
        .expect("bothy-liveview printed nothing");
    let url = line
        .strip_prefix("bothy-liveview: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (child, url)
}

fn people() -> [(&'static str, PersonId); 3] {
    [("morag", MORAG), ("kai", KAI_YP), ("fiona", FIONA)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn practitioner_young_person_and_supervisor_journeys_in_headless_chromium() {
    let root = repo_root();
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: run scripts/setup.sh (npm ci in tests/browser)"
    );

    // The server, as a real process that keeps its port when it is stopped
    // and started again with the same database.
    let work = tempfile::tempdir().unwrap();
    let everyone: Vec<PersonId> = people().iter().map(|(_, p)| *p).collect();
    let (db_url, codes) = demo_database(work.path(), &everyone).unwrap();
    let mut server = ServerProcess::start(Path::new(SERVER_BIN), &db_url, &[]).unwrap();

    // Three devices, each with the app served over its own store. Morag's
    // app syncs by itself every second (backing off while the server is
    // down); Kai's and Fiona's sync when asked; Kai's locks after 10 idle
    // seconds so the journey can see the idle lock.
    let mut dirs = Vec::new();
    for ((name, _), code) in people().iter().zip(&codes) {
        dirs.push(enrolled(&server.base, code, name).await);
    }
    let (_morag_app, morag_url) =
        liveview(dirs[0].path(), &["--sync-every", "1", "--idle-lock", "0"]).await;
    let (_kai_app, kai_url) =
        liveview(dirs[1].path(), &["--sync-every", "0", "--idle-lock", "10"]).await;
    let (_fiona_app, fiona_url) =
        liveview(dirs[2].path(), &["--sync-every", "0", "--idle-lock", "0"]).await;

    let shots = bothy_tests::screenshots_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let mut node = Command::new("node")
        .arg("journeys.mjs")
        .current_dir(&browser_dir)
        .env("BOTHY_MORAG_URL", &morag_url)
        .env("BOTHY_KAI_URL", &kai_url)
        .env("BOTHY_FIONA_URL", &fiona_url)
        .env("BOTHY_PASSCODE", TEST_PASSCODE)
        .env("BOTHY_KAI_CHILD", KAI.to_string())
        .env("BOTHY_SCREENSHOTS", &shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node is missing: run scripts/setup.sh");
    let mut to_node = node.stdin.take().unwrap();
    let mut from_node = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut passed = Vec::new();
    let mut stopped_and_started = (0, 0);
    while let Some(line) = from_node.next_line().await.unwrap() {
        println!("journeys: {line}");
        match line.as_str() {
            "CONTROL stop-server" => {
                server.kill().unwrap();
                stopped_and_started.0 += 1;
                to_node.write_all(b"ok\n").await.unwrap();
            }
            "CONTROL start-server" => {
                server.restart().unwrap();
                stopped_and_started.1 += 1;
                to_node.write_all(b"ok\n").await.unwrap();
            }
            l if l.starts_with("PASS ") => passed.push(l[5..].to_owned()),
            _ => {}
        }
    }
    let status = node.wait().await.unwrap();
    assert!(status.success(), "the browser journeys failed (see above)");
    assert_eq!(
        passed,
        ["practitioner", "young person", "supervisor"],
        "every journey reports PASS"
    );
    assert_eq!(
        stopped_and_started,
        (1, 1),
        "the server was stopped and started once"
    );

    // The visit typed while the server was down is on the server now, once:
    // read it from the server's own database.
    server.kill().unwrap();
    let storage = bothy_server::storage::open(&db_url).unwrap();
    let record: RecordDoc = read_document(
        &bothy_tests::server::stored_document(storage.as_ref(), &DocKey::Record(KAI)).unwrap(),
        &DocKey::Record(KAI),
    )
    .unwrap();
    let visits: Vec<_> = record
        .visits
        .values()
        .filter(|v| v.observations.as_str().contains("recorded with no signal"))
        .collect();
    assert_eq!(visits.len(), 1, "the offline visit reached the server once");
    assert!(visits[0].is_finalised(), "and it was finalised");
    assert!(
        !visits[0].addenda.is_empty(),
        "with the addendum added after it synced"
    );

    for name in [
        "practitioner-caseload",
        "practitioner-child",
        "practitioner-record-visit",
        "young-person-my-plan",
        "supervisor-feed",
    ] {
        let shot = shots.join(format!("{name}.png"));
        let size = std::fs::metadata(&shot)
            .unwrap_or_else(|e| panic!("{}: {e}", shot.display()))
            .len();
        assert!(size > 5_000, "{} is a real picture", shot.display());
    }
}
