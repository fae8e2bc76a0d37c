//! Issue 16, at rest: the real `bothy-server` program on SQLite and on
//! PostgreSQL, a real device recording a visit. Nothing it wrote is in
//! the SQLite file, its WAL, or a `pg_dump` (the device's own view and the
//! server's decrypted copy hold the words: the grep would find them);
//! `bothy-server erase` destroys the child's key and rows, and the device
//! forgets the child at its next sync; `close-case` and `retention` erase
//! only cases closed long enough ago, `--dry-run` nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use bothy_client::services::VisitDraft;
use bothy_client::sync::SyncOptions;
use bothy_server::storage::{self, Storage};
use bothy_shared::demo::{ELLIE, KAI, MORAG};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::ChildId;
use bothy_tests::bytes::{contains, store_mentions};
use bothy_tests::db::{self, Backend, TestDb};
use bothy_tests::device::Device;
use bothy_tests::server::{ServerProcess, demo_database};

const SERVER_BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

/// Words nobody else writes.
const WORDS: &str = "Quillfeather-harbour-7719 mentioned the new school";
/// Words written after the last sync before the case was erased.
const LATE_WORDS: &str = "Driftwood-lantern-3302 asked about the summer";

/// A database on `backend` with a team, a server process on it, and a
/// code for a practitioner on `child`'s team (`other` is another child).
struct Site {
    url: String,
    key_args: Vec<String>,
    code: String,
    child: ChildId,
    other: ChildId,
    server: ServerProcess,
    /// The server's storage as the server opens it (its master key).
    storage: Arc<dyn Storage>,
    _pg: Option<TestDb>,
    _dir: tempfile::TempDir,
}

impl Site {
    fn start(backend: Backend) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let (url, key_args, code, child, other, pg) = match backend {
            Backend::Sqlite => {
                let (url, codes) = demo_database(dir.path(), &[MORAG]).unwrap();
                (url, Vec::new(), codes[0].clone(), KAI, ELLIE, None)
            }
            Backend::Postgres => {
                let db = TestDb::new(Backend::Postgres);
                let s = db.open();
                let people = db::seed(s.as_ref()).unwrap();
                let code = db::code_for(s.as_ref(), people.social_worker).unwrap();
                let args = db.key_args();
                (
                    db.url.clone(),
                    args,
                    code,
                    people.child,
                    people.other_child,
                    Some(db),
                )
            }
        };
        let args: Vec<&str> = key_args.iter().map(String::as_str).collect();
        let server = ServerProcess::start(Path::new(SERVER_BIN), &url, &args).unwrap();
        let key_file = key_args.get(1).map(Path::new);
        let storage = storage::open_with_key_file(&url, key_file).unwrap();
        Site {
            url,
            key_args,
            code,
            child,
            other,
            server,
            storage,
            _pg: pg,
            _dir: dir,
        }
    }

    /// `bothy-server ARGS --db URL [--master-key-file …]`: stdout, or the
    /// test fails with stderr.
    fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(SERVER_BIN)
            .args(args)
            .arg("--db")
            .arg(&self.url)
            .args(&self.key_args)
            .env("RUST_LOG", "warn")
            .env("USER", "test-admin")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every byte of the database as an attacker with the files would
    /// read it: the SQLite file, its WAL and shared memory; or `pg_dump`
    /// of the test's schema.
    fn database_bytes(&self) -> Vec<(String, Vec<u8>)> {
        match &self._pg {
            None => {
                let path = self.url.strip_prefix("sqlite://").unwrap();
                ["", "-wal", "-shm"]
                    .iter()
                    .filter_map(|suffix| {
                        let file = format!("{path}{suffix}");
                        std::fs::read(&file).ok().map(|b| (file, b))
                    })
                    .collect()
            }
            Some(db) => vec![("pg_dump".to_owned(), pg_dump(db))],
        }
    }
}

fn pg_dump(db: &TestDb) -> Vec<u8> {
    let url = format!("{}/{}", db::pg_server_url(), TestDb::pg_database());
    let schema = db.pg_schema().unwrap();
    let binaries = ["pg_dump", "/usr/lib/postgresql/15/bin/pg_dump"];
    let mut failures = Vec::new();
    for bin in binaries {
        match Command::new(bin)
            .args(["--dbname", &url, "--schema", schema])
            .output()
        {
            Ok(out) if out.status.success() => return out.stdout,
            Ok(out) => failures.push(format!("{bin}: {}", String::from_utf8_lossy(&out.stderr))),
            Err(e) => failures.push(format!("{bin}: {e}")),
        }
    }
    panic!("pg_dump failed: {failures:?}");
}

/// The needles a grep of the database looks for: the words, and their hex
/// (how `pg_dump` writes a `bytea`).
fn needles() -> [Vec<u8>; 2] {
    [
        WORDS.as_bytes().to_vec(),
        hex::encode(WORDS.as_bytes()).into_bytes(),
    ]
}

fn record_visit(device: &mut Device, child: ChildId) -> DocKey {
    let mut draft = VisitDraft::new(child);
    draft.observations = WORDS.to_owned();
    draft.child_seen = true;
    device.client_mut().save_visit(&draft, true).unwrap()
}

async fn what_a_device_records_is_not_readable_in_the_database_and_erasure_wipes_it(
    backend: Backend,
) {
    let site = Site::start(backend);
    let mut device = Device::enrol(
        "phone",
        &site.server.base,
        &site.code,
        SyncOptions::default(),
    )
    .await
    .unwrap();
    device.sync().await.unwrap();
    let key = record_visit(&mut device, site.child);
    assert_eq!(key, DocKey::Record(site.child));
    device.sync().await.unwrap();

    // The control: the device's view holds the words, and so does the
    // server's decrypted copy of what it stored, in the clear and in hex.
    assert!(store_mentions(&mut device, WORDS).unwrap());
    let plaintext: Vec<u8> = site
        .storage
        .changes_after(&key, 0)
        .unwrap()
        .into_iter()
        .flat_map(|c| c.bytes)
        .collect();
    assert!(
        contains(&plaintext, WORDS.as_bytes()),
        "the change carries the words"
    );
    assert!(contains(hex::encode(&plaintext).as_bytes(), &needles()[1]));

    // The database itself: none of it, in any file; the files are the
    // database's (they hold the directory, which is not sealed).
    let files = site.database_bytes();
    assert!(!files.is_empty());
    let directory_name: &[u8] = match backend {
        Backend::Sqlite => b"Kai Robertson",
        Backend::Postgres => b"Test Child",
    };
    assert!(
        files.iter().any(|(_, b)| contains(b, directory_name)),
        "the grep reads the database"
    );
    for (file, bytes) in &files {
        for needle in needles() {
            assert!(!contains(bytes, &needle), "{file} holds the visit's words");
        }
        eprintln!("{file}: {} bytes, no words found", bytes.len());
    }

    // Work still unsynced when the case is erased: the device offers it
    // on its next sync, the server keeps none of it, and the device lets
    // the child go all the same.
    let mut late = VisitDraft::new(site.child);
    late.observations = LATE_WORDS.to_owned();
    device.client_mut().save_visit(&late, true).unwrap();
    assert!(device.client().unsynced_changes().unwrap() > 0);

    // Erasure, by the admin command, while the server runs.
    let out = site.admin(&[
        "erase",
        "--child",
        &site.child.to_string(),
        "--reason",
        "the family asked for erasure",
    ]);
    assert!(out.contains("its data key is destroyed"), "{out}");
    let raw = storage::open_unsealed(&site.url).unwrap();
    assert!(raw.changes_after(&key, 0).unwrap().is_empty());
    assert!(raw.wrapped_key(&site.child.to_string()).unwrap().is_none());
    let audit = site.admin(&["audit", "--child", &site.child.to_string()]);
    assert!(
        audit.contains("was erased") && audit.contains("by test-admin"),
        "{audit}"
    );
    assert!(audit.contains("the family asked for erasure"), "{audit}");
    assert!(audit.contains("child-erased"), "{audit}");

    // The device's next sync: the child is gone from it.
    let report = device.sync().await.unwrap();
    assert_eq!(report.left, vec![site.child], "{report:?}");
    assert!(
        device
            .client()
            .document_keys()
            .unwrap()
            .iter()
            .all(|k| k.child() != site.child)
    );
    assert!(!store_mentions(&mut device, WORDS).unwrap());
    assert!(!store_mentions(&mut device, LATE_WORDS).unwrap());
    assert!(
        site.storage
            .quarantined()
            .unwrap()
            .iter()
            .all(|q| q.document.child() != site.child),
        "nothing offered for the erased child was kept"
    );
    // And a sync after that is quiet.
    let again = device.sync().await.unwrap();
    assert!(again.left.is_empty() && again.gone.is_empty(), "{again:?}");
}

async fn retention_erases_only_cases_closed_long_enough_ago(backend: Backend) {
    let site = Site::start(backend);
    let (old, recent) = (site.child, site.other);
    site.admin(&[
        "close-case",
        "--child",
        &old.to_string(),
        "--on",
        "2015-04-30",
    ]);
    let out = site.admin(&["close-case", "--child", &recent.to_string()]);
    assert!(out.contains("closed the case"), "{out}");

    let dry = site.admin(&["retention", "--years", "6", "--dry-run"]);
    assert!(dry.contains(&format!("{old}\t2015-04-30")), "{dry}");
    assert!(!dry.contains(&recent.to_string()), "{dry}");
    assert!(dry.contains("dry run"), "{dry}");
    assert!(site.storage.child(old).unwrap().is_some(), "nothing erased");
    assert!(site.storage.erasures().unwrap().is_empty());

    let real = site.admin(&["retention", "--years", "6"]);
    assert!(real.contains(&format!("{old}\t2015-04-30")), "{real}");
    assert!(real.contains(&format!("erased child {old}")), "{real}");
    assert!(site.storage.child(old).unwrap().is_none());
    assert!(site.storage.child(recent).unwrap().is_some());
    let tombstones = site.storage.erasures().unwrap();
    assert_eq!(tombstones.len(), 1);
    assert!(tombstones[0].reason.contains("closed on 2015-04-30"));
    assert!(tombstones[0].by.contains("retention"));
}

bothy_tests::on_both_backends!(
    what_a_device_records_is_not_readable_in_the_database_and_erasure_wipes_it,
    retention_erases_only_cases_closed_long_enough_ago,
);

/// The demo needs no set-up: its key file is made beside the database,
/// private, and every admin command finds it there.
#[test]
fn the_demo_makes_its_own_key_file_and_admin_commands_find_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let url = format!("sqlite://{}", db.display());
    // `add-child` on a new database, as an administrator would start one.
    let run = |args: &[&str]| {
        let out = Command::new(SERVER_BIN)
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("BOTHY_MASTER_KEY")
            .env_remove("BOTHY_MASTER_KEY_FILE")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, child, err) = run(&["add-child", "--db", &url, "--name", "Rowan Test"]);
    assert!(ok, "{err}");
    let key = dir.path().join("demo.db.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (ok, out, err) = run(&["close-case", "--db", &url, "--child", child.trim()]);
    assert!(ok && out.contains("closed the case"), "{err}");
    // A wrong key is a clear error, not garbage.
    let wrong = dir.path().join("wrong.key");
    storage::keys::MasterKey::random()
        .unwrap()
        .write_new_file(&wrong)
        .unwrap();
    let (ok, _, err) = run(&[
        "devices",
        "--db",
        &url,
        "--master-key-file",
        wrong.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("not the one this database was sealed with"),
        "{err}"
    );
    // Rotation replaces the key file; the commands still find it.
    let before = std::fs::read(&key).unwrap();
    let (ok, out, err) = run(&["rotate-master-key", "--db", &url]);
    assert!(ok && out.contains("rewrapped 2 data keys"), "{out}{err}");
    assert_ne!(std::fs::read(&key).unwrap(), before);
    let (ok, _, err) = run(&["devices", "--db", &url]);
    assert!(ok, "{err}");
}
