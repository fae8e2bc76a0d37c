//! The `bothy` command as scripts use it: shapes, output and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::{Command, Output};

fn bothy(dir: &std::path::Path, passcode: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bothy"));
    cmd.arg("--data")
        .arg(dir)
        .args(args)
        .env_remove("BOTHY_PASSCODE")
        .env_remove("BOTHY_DATA");
    if let Some(p) = passcode {
        cmd.env("BOTHY_PASSCODE", p);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn init_record_a_visit_and_read_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("device");
    let p = Some("a long passcode");
    let o = bothy(
        &dir,
        p,
        &["init", "--demo-as", "Morag", "--insecure-test-kdf"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = bothy(&dir, p, &["caseload"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("Kai Robertson")
            && out.contains("Ellie Watson")
            && out.contains("Ruaridh Paterson"),
        "{out}"
    );
    assert!(
        !out.contains("Priya"),
        "the caseload lists children, not staff: {out}"
    );

    let o = bothy(
        &dir,
        p,
        &[
            "visit",
            "--child",
            "kai",
            "--text",
            "Kai showed me his bird box.",
            "--seen",
            "--finalise",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("finalised"));
    let o = bothy(&dir, p, &["--json", "show", "Kai"]);
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let visits = json["recent_visits"].as_array().unwrap();
    assert!(
        visits
            .iter()
            .any(|v| v["observations"] == "Kai showed me his bird box." && v["finalised"] == true),
        "{json}"
    );

    // The passcode can come on standard input instead.
    let mut child = Command::new(env!("CARGO_BIN_EXE_bothy"))
        .arg("--data")
        .arg(&dir)
        .arg("status")
        .env_remove("BOTHY_PASSCODE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long passcode\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Morag Fraser"));
}

#[test]
fn exit_codes_tell_scripts_what_went_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("device");
    assert_eq!(
        bothy(&dir, Some("x"), &["caseload"]).status.code(),
        Some(3),
        "no store"
    );
    assert!(
        bothy(
            &dir,
            Some("right one"),
            &["init", "--demo-as", "Kai", "--insecure-test-kdf"]
        )
        .status
        .success()
    );
    let o = bothy(&dir, Some("wrong one"), &["caseload"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("wrong passcode"));
    let o = bothy(&dir, Some("right one"), &["show", "Nobody"]);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    // A young person cannot record a visit.
    let o = bothy(
        &dir,
        Some("right one"),
        &["visit", "--child", "Kai", "--text", "x"],
    );
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        bothy(&dir, Some("right one"), &["frobnicate"])
            .status
            .code(),
        Some(2)
    );
    // No passcode at all: a clear message, not a hang.
    let o = Command::new(env!("CARGO_BIN_EXE_bothy"))
        .arg("--data")
        .arg(&dir)
        .arg("caseload")
        .env_remove("BOTHY_PASSCODE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no passcode"), "{}", text(&o));
}
