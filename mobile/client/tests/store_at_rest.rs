//! Nothing recorded is readable from the files at rest.

// Test code: helpers outside `#[test]` functions fail by panicking too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;
use std::process::Command;

use bothy_client::index;
use bothy_client::store::{DATABASE_FILE_NAME, KdfParams, Passcode, Store, tx};

const MARKER: &str = "Marker-Kirsty-MacLeod-7731";
const PASSCODE: &str = "passcode-Tobermory-0431";

/// Every file under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
            continue;
        }
        let bytes = fs::read(&path).unwrap();
        if bytes.windows(needle.len()).any(|window| window == needle) {
            found.push(path.display().to_string());
        }
    }
    found
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn write_marked_records(store: &mut Store) {
    let big = MARKER.repeat(400); // spans overflow pages
    for i in 0..50u32 {
        let doc_key = format!("record/{MARKER}-{i}");
        let bytes = format!("{i}:{big}");
        store
            .transaction(|t| {
                tx::append_changes(
                    t,
                    &doc_key,
                    &[tx::NewChange {
                        hash: &i.to_be_bytes(),
                        bytes: bytes.as_bytes(),
                        local: true,
                    }],
                )?;
                index::replace_visits_for_doc(
                    t,
                    &doc_key,
                    &[index::VisitRow {
                        visit_id: format!("v{i}"),
                        child_id: MARKER.to_owned(),
                        at: 1,
                        practitioner: MARKER.to_owned(),
                        agency: "health".to_owned(),
                        kind: "home".to_owned(),
                        finalised: true,
                    }],
                )?;
                index::replace_child(
                    t,
                    &index::ChildRow {
                        child_id: format!("c{i}"),
                        name: MARKER.to_owned(),
                        preferred_name: Some(MARKER.to_owned()),
                        date_of_birth: None,
                        review_date: None,
                        last_visit_at: None,
                        lead_professional: None,
                        last_review: None,
                        has_transition_plan: None,
                    },
                )
            })
            .unwrap();
    }
    store
        .put_draft(&format!("draft/{MARKER}"), big.as_bytes())
        .unwrap();
    store.put_meta("note", MARKER.as_bytes()).unwrap();
    store
        .put_sync_state("server", "record/x", MARKER.as_bytes())
        .unwrap();
    store
        .add_rejection(&tx::NewRejection {
            doc_key: "record/x",
            change_hash: None,
            rule: "finalised",
            path: "/visits/0",
            message: MARKER,
            bytes: None,
            words: None,
        })
        .unwrap();
}

#[test]
fn no_record_or_passcode_is_in_any_file_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(
        dir.path(),
        &Passcode::new(PASSCODE.to_owned()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    write_marked_records(&mut store);

    // While open: the WAL holds the recent pages and must be encrypted too.
    let open_files = file_names(dir.path());
    assert!(
        open_files.contains(&format!("{DATABASE_FILE_NAME}-wal")),
        "expected a WAL file while open: {open_files:?}"
    );
    assert_eq!(
        files_containing(dir.path(), MARKER.as_bytes()),
        Vec::<String>::new()
    );
    assert_eq!(
        files_containing(dir.path(), PASSCODE.as_bytes()),
        Vec::<String>::new()
    );

    // The marker really is in the database (the scan is not vacuous).
    let stored: String = store
        .connection()
        .query_row("SELECT name FROM idx_children LIMIT 1", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(stored, MARKER);

    store.lock().unwrap();
    assert_eq!(
        files_containing(dir.path(), MARKER.as_bytes()),
        Vec::<String>::new()
    );
    assert_eq!(
        files_containing(dir.path(), PASSCODE.as_bytes()),
        Vec::<String>::new()
    );
    println!("scanned after lock: {:?}", file_names(dir.path()));
}

#[test]
fn the_sqlite3_tool_cannot_read_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(
        dir.path(),
        &Passcode::new(PASSCODE.to_owned()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    write_marked_records(&mut store);
    store.lock().unwrap();

    let output = match Command::new("sqlite3")
        .arg(dir.path().join(DATABASE_FILE_NAME))
        .arg("select * from sqlite_master")
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!("this test needs the sqlite3 command-line tool: apt-get install sqlite3")
        }
        Err(error) => panic!("running sqlite3: {error}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "sqlite3 read it: {stdout}");
    assert!(
        stderr.contains("file is not a database"),
        "unexpected sqlite3 error: {stderr}"
    );
    assert!(!stdout.contains(MARKER) && !stdout.contains("CREATE TABLE"));
}
