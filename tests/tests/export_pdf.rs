//! A child's plan exported as a signed PDF (issue 17, item 3), as scripts
//! run it: `bothy export --child C --for team|young-person --out FILE.pdf`
//! on real devices enrolled with a real server (the demo partnership: Kai's
//! plan withholds a part from him), read back with `pdftotext`; and
//! `bothy-server verify-export --db URL FILE.pdf` against that server's
//! database, on both backends.

// Test code: failing loudly with unwrap is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use bothy_client::services::{PRIVATE_FOR_NOW, my_plan_words as say};
use bothy_shared::demo::{DAVID, KAI_YP, MORAG};
use bothy_shared::export::{open_export, sign_export};
use bothy_shared::ids::{DeviceId, PersonId};
use bothy_shared::signing::{RequestSigner, generate_device_key};
use bothy_tests::cli::{bothy, enrolled, pdf_text};
use bothy_tests::db::Backend;
use bothy_tests::server::{TestServer, seed_demo_with_aileen_on_kais_team};

const BOTHY_BIN: &str = env!("CARGO_BIN_EXE_bothy-under-test");
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

async fn device(server: &TestServer, dir: &Path, person: PersonId) -> PathBuf {
    let data = dir.join(person.to_string());
    let code = server.code_for(person).unwrap();
    enrolled(BOTHY_BIN, &data, &server.base, &code)
        .await
        .unwrap();
    data
}

/// `bothy --data DATA ARGS…`, which must succeed.
async fn ok(data: &Path, args: &[&str]) -> String {
    let (rc, out, err) = bothy(BOTHY_BIN, data, args).await.unwrap();
    assert_eq!(rc, 0, "bothy {args:?}: {out}{err}");
    out
}

/// `bothy export` of Kai's plan for `audience` into `dir/name`.
async fn export(data: &Path, audience: &str, out: &Path) -> (i32, String) {
    let (rc, stdout, err) = bothy(
        BOTHY_BIN,
        data,
        &[
            "export",
            "--child",
            "Kai",
            "--for",
            audience,
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    (rc, format!("{stdout}{err}"))
}

/// `bothy-server verify-export` on `file`: exit code, standard output.
async fn verify(server: &TestServer, file: &Path, json: bool) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(SERVER_BIN);
    cmd.arg("verify-export")
        .arg("--db")
        .arg(&server.db_url)
        .args(server.key_args())
        .arg(file)
        .env("RUST_LOG", "warn");
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn secret() -> String {
    format!(
        "SECRETSAFE{}",
        bothy_shared::ids::ItemId::random().0.simple()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_teams_plan_holds_the_plan_and_the_young_persons_holds_nothing_withheld() {
    let server = TestServer::start_demo().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let morag = device(&server, dir.path(), MORAG).await;
    // Safe is withheld from Kai in the demo: Morag writes a worry there.
    let secret = secret();
    ok(
        &morag,
        &[
            "rate",
            "--child",
            "Kai",
            "--indicator",
            "safe",
            "--score",
            "4",
            "--concerns",
            &secret,
        ],
    )
    .await;

    let team_pdf = dir.path().join("team.pdf");
    let (rc, said) = export(&morag, "team", &team_pdf).await;
    assert_eq!(rc, 0, "{said}");
    assert!(said.contains("Saved the team's plan"), "{said}");
    let bytes = std::fs::read(&team_pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-") && bytes.ends_with(b"%%EOF\n"));
    let team = pdf_text(&team_pdf).await.unwrap();
    for expected in [
        "Child's plan: Kai Robertson",
        "Preferred name: Kai",
        "Date of birth: 12 April 2013",
        "Made by Morag Fraser",
        "Wellbeing wheel",
        "Achieving: 4 out of 10",
        "Safe: 4 out of 10",
        secret.as_str(),
        "Kai needs to be in school most days",
        "Meet Kai every Monday morning to plan the week at school",
        "Owner: David Reid",
        "Status: In progress",
        "Four meetings so far; Kai came to all of them.",
        // Their own words, quoted as written, with who said them.
        "“School is ok when Mr Reid is there. Mornings are the worst.”",
        "— Kai,",
        "“I want Kai back at school but I can't get him up on my own.”",
        "— Lisa (mum),",
        "The last review",
        "A child's plan, with Morag as lead professional.",
        "Next review: 14 January 2027",
        "Gran lives nearby",
        "Withheld from the young person",
        "check with bothy-server verify-export",
        "Page 1 of",
        "Page 2 of",
    ] {
        assert!(team.contains(expected), "{expected:?} not in: {team}");
    }

    // Morag makes the young person's version.
    let young_pdf = dir.path().join("young.pdf");
    let (rc, said) = export(&morag, "young-person", &young_pdf).await;
    assert_eq!(rc, 0, "{said}");
    let young = pdf_text(&young_pdf).await.unwrap();
    assert!(!young.contains(&secret), "withheld words in: {young}");
    assert!(
        !young.contains("police referral"),
        "the team's reason for withholding in: {young}"
    );
    for expected in [
        say::TITLE,
        say::MY_TEAM,
        say::HOW_THINGS_ARE,
        say::WHAT_HAPPENS_NEXT,
        say::LAST_MET,
        say::WHAT_I_THINK,
        PRIVATE_FOR_NOW,
        "Hi Kai. This is your plan.",
        "Meet Kai every Monday morning to plan the week at school",
        "Happening now",
        "“School is ok when Mr Reid is there. Mornings are the worst.”",
        "Safe: no rating",
        "Achieving: 4 out of 10",
    ] {
        assert!(young.contains(expected), "{expected:?} not in: {young}");
    }
    assert!(!young.to_lowercase().contains(" case "), "{young}");

    // Kai's own device: his version only.
    ok(&morag, &["sync"]).await;
    let kai = device(&server, dir.path(), KAI_YP).await;
    let his_pdf = dir.path().join("his.pdf");
    let (rc, said) = export(&kai, "young-person", &his_pdf).await;
    assert_eq!(rc, 0, "{said}");
    let his = pdf_text(&his_pdf).await.unwrap();
    assert!(!his.contains(&secret), "withheld words in: {his}");
    assert!(
        his.contains(say::WHAT_HAPPENS_NEXT) && his.contains(PRIVATE_FOR_NOW),
        "{his}"
    );
    let (rc, said) = export(&kai, "team", &dir.path().join("no.pdf")).await;
    assert_eq!(rc, 5, "{said}");
    assert!(said.contains("only their own plan"), "{said}");
    assert!(!dir.path().join("no.pdf").exists());

    // Every export verifies against the server.
    for file in [&team_pdf, &young_pdf, &his_pdf] {
        let (rc, out) = verify(&server, file, false).await;
        assert_eq!(rc, 0, "{}: {out}", file.display());
    }
    server.stop().await.unwrap();
}

async fn verify_export_answers(backend: Backend) {
    let server = TestServer::seeded(backend, seed_demo_with_aileen_on_kais_team, |_| {})
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let morag = device(&server, dir.path(), MORAG).await;
    let david = device(&server, dir.path(), DAVID).await;

    // A fresh export after the device synced: genuine, nothing after.
    let fresh = dir.path().join("fresh.pdf");
    assert_eq!(export(&morag, "team", &fresh).await.0, 0);
    let (rc, out) = verify(&server, &fresh, false).await;
    assert_eq!(rc, 0, "{out}");
    assert!(out.starts_with("GENUINE:"), "{out}");
    assert!(out.contains("Made by Morag Fraser (Social work)"), "{out}");
    assert!(
        out.contains("0 change(s) on the server came after it"),
        "{out}"
    );

    // David rates Healthy and syncs: one change after it, by him.
    ok(
        &david,
        &[
            "rate",
            "--child",
            "Kai",
            "--indicator",
            "healthy",
            "--score",
            "7",
        ],
    )
    .await;
    ok(&david, &["sync"]).await;
    let (rc, out) = verify(&server, &fresh, true).await;
    assert_eq!(rc, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["verdict"], "genuine");
    assert_eq!(report["person_name"], "Morag Fraser");
    let docs = report["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["key"], format!("plan/{}", bothy_shared::demo::KAI));
    assert!(docs[0]["unknown_heads"].as_array().unwrap().is_empty());
    let later = docs[0]["later"].as_array().unwrap();
    assert_eq!(later.len(), 1, "{out}");
    assert_eq!(later[0]["person_name"], "David Reid");
    assert_eq!(later[0]["person"], DAVID.to_string());
    let (_, text) = verify(&server, &fresh, false).await;
    assert!(
        text.contains("1 change(s) on the server came after it"),
        "{text}"
    );
    assert!(text.contains("by David Reid"), "{text}");

    let bytes = std::fs::read(&fresh).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    // One byte changed in the middle of the PDF.
    let mut middle = bytes.clone();
    let at = middle.len() / 2;
    middle[at] = if middle[at] == b'0' { b'1' } else { b'0' };
    let (rc, out) = verify(&server, &write("middle.pdf", &middle), false).await;
    assert_eq!(rc, 4, "{out}");
    assert!(out.starts_with("REFUSED: ALTERED OR FORGED"), "{out}");
    // One byte changed in the signature.
    let sig = bytes
        .windows(b"%BOTHY-SIGNATURE ".len())
        .position(|w| w == b"%BOTHY-SIGNATURE ")
        .unwrap()
        + "%BOTHY-SIGNATURE ".len()
        + 20;
    let mut in_sig = bytes.clone();
    in_sig[sig] = if in_sig[sig] == b'A' { b'B' } else { b'A' };
    let (rc, out) = verify(&server, &write("sig.pdf", &in_sig), false).await;
    assert_eq!(rc, 4, "{out}");
    // One byte changed in the manifest (Morag's name, kept valid JSON).
    let name = bytes
        .windows(b"Morag Fraser".len())
        .rposition(|w| w == b"Morag Fraser")
        .unwrap();
    let mut in_manifest = bytes.clone();
    in_manifest[name] = b'N';
    let (rc, out) = verify(&server, &write("manifest.pdf", &in_manifest), false).await;
    assert_eq!(rc, 4, "{out}");

    // Re-signed with a fresh key: as a device the server never enrolled,
    // and in the name of Morag's device.
    let opened = open_export(&bytes).unwrap();
    let fresh_key = generate_device_key().unwrap();
    for (device, expect, words) in [
        (DeviceId::random(), 5, "REFUSED: UNKNOWN DEVICE"),
        (opened.manifest.device, 4, "REFUSED: ALTERED OR FORGED"),
    ] {
        let signer = RequestSigner::from_pkcs8(device, &fresh_key).unwrap();
        let (forged, _) =
            sign_export(opened.pdf.to_vec(), opened.manifest.clone(), &signer).unwrap();
        let (rc, out) = verify(&server, &write("forged.pdf", &forged), false).await;
        assert_eq!(rc, expect, "{out}");
        assert!(out.starts_with(words), "{out}");
    }

    // Not an export: no signature, not a PDF.
    let (rc, out) = verify(&server, &write("bare.pdf", opened.pdf), false).await;
    assert_eq!(rc, 6, "{out}");
    assert!(out.contains("no Bothy signature"), "{out}");
    let (rc, out) = verify(&server, &write("notes.txt", b"just some notes\n"), false).await;
    assert_eq!(rc, 6, "{out}");
    assert!(out.contains("not a PDF"), "{out}");

    // Made before the device synced its own change: genuine, not synced.
    ok(
        &morag,
        &[
            "rate",
            "--child",
            "Kai",
            "--indicator",
            "active",
            "--score",
            "8",
        ],
    )
    .await;
    let unsynced = dir.path().join("unsynced.pdf");
    assert_eq!(export(&morag, "team", &unsynced).await.0, 0);
    let (rc, out) = verify(&server, &unsynced, false).await;
    assert_eq!(rc, 3, "{out}");
    assert!(out.starts_with("GENUINE, NOT SYNCED"), "{out}");
    // Once it syncs, the same file matches.
    ok(&morag, &["sync"]).await;
    let (rc, out) = verify(&server, &unsynced, false).await;
    assert_eq!(rc, 0, "{out}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_export_accepts_reports_later_changes_and_refuses_altered_or_forged_on_sqlite() {
    verify_export_answers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_export_accepts_reports_later_changes_and_refuses_altered_or_forged_on_postgres() {
    verify_export_answers(Backend::Postgres).await;
}
