//! `bothy-server report outcomes` and `bothy-server export`, run as the real
//! program on a database: the report's figures against counts made here,
//! in plain test code, from the documents themselves (hydrated with
//! autosurgeon, not read through `bothy_shared::outcomes`); small numbers
//! hidden; nothing that names anyone in any format; the case export holds
//! the case and only the agency records named, and is audited.

// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};
use std::sync::Arc;

use automerge::{Automerge, Change};
use bothy_server::storage::{AuditEvent, Storage};
use bothy_shared::demo::KAI;
use bothy_shared::docs::{DocKey, IsoDate, PlanDoc, RecordDoc, RequestDoc, StepKind};
use bothy_shared::ids::Agency;
use bothy_tests::bytes;
use bothy_tests::db::{Backend, TestDb};
use bothy_tests::history::{self, HistoryOptions, fifteenth_birthday};
use serde_json::{Value, json};
use time::Weekday;

const BIN: &str = env!("CARGO_BIN_EXE_bothy-server-under-test");

/// `bothy-server ARGS --db URL [--master-key-file …]` as an operator named
/// `test-admin`.
fn run(db: &TestDb, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(&db.url)
        .args(db.key_args())
        .env("RUST_LOG", "warn")
        .env("USER", "test-admin")
        .output()
        .unwrap()
}

fn ok(db: &TestDb, args: &[&str]) -> Vec<u8> {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fails(db: &TestDb, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

fn demo(backend: Backend) -> TestDb {
    let db = TestDb::new(backend);
    assert!(bothy_server::demo::seed_if_empty(db.open().as_ref(), bothy_tests::db::now()).unwrap());
    db
}

fn synthetic(backend: Backend, children: usize) -> TestDb {
    let db = TestDb::new(backend);
    let seed = 17_2026;
    eprintln!("history seed {seed}");
    let made = history::seed(
        db.open().as_ref(),
        HistoryOptions {
            children,
            years: 1,
            today: IsoDate::today(),
            seed,
        },
    )
    .unwrap();
    assert_eq!(made.children, children);
    db
}

// ---------------------------------------------------------------- counted here

fn load(storage: &dyn Storage, key: &DocKey) -> Automerge {
    let changes: Vec<Change> = storage
        .changes_after(key, 0)
        .unwrap()
        .into_iter()
        .map(|c| Change::from_bytes(c.bytes).unwrap())
        .collect();
    let mut doc = Automerge::new();
    doc.apply_changes(changes).unwrap();
    doc
}

/// A count as the report must show it.
fn shown(n: usize) -> Value {
    if n < 5 {
        json!("fewer than 5")
    } else {
        json!(n)
    }
}

fn band(score: u8) -> usize {
    match score {
        1..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

/// Weekdays after `from` up to and including `to`.
fn working_days(from: IsoDate, to: IsoDate) -> usize {
    let mut n = 0;
    let mut d = from;
    while d < to {
        d = d.plus_days(1);
        if !matches!(d.0.weekday(), Weekday::Saturday | Weekday::Sunday) {
            n += 1;
        }
    }
    n
}

/// What the report must say, counted from the documents.
#[derive(Debug, Default)]
struct Expected {
    children: usize,
    /// Per indicator slug: children per band by the latest rating on or before `to`.
    now: BTreeMap<String, [usize; 3]>,
    views: usize,
    fifteen: usize,
    transition_by_15: usize,
    seen: usize,
    seen_alone: usize,
    /// Per agency slug asked (and `all`): sent, answered, within 5 working days.
    requests: BTreeMap<String, [usize; 3]>,
    /// Per (agency slug, indicator slug): children per band by the agency's
    /// latest rating on or before `to`.
    agency_now: BTreeMap<(String, String), [usize; 3]>,
    /// Per indicator slug, for children whose last review was held in the
    /// period: went up, same, down between the review before and the last.
    change: BTreeMap<String, [usize; 3]>,
    /// The same per (agency slug, indicator slug), by that agency's ratings.
    agency_change: BTreeMap<(String, String), [usize; 3]>,
}

/// Where a change between two scores counts: up, same, down.
fn direction(before: u8, after: u8) -> usize {
    match after.cmp(&before) {
        std::cmp::Ordering::Greater => 0,
        std::cmp::Ordering::Equal => 1,
        std::cmp::Ordering::Less => 2,
    }
}

fn count(storage: &dyn Storage, from: IsoDate, to: IsoDate) -> Expected {
    let mut e = Expected::default();
    let end_of_to = to.plus_days(1).0.midnight().assume_utc().unix_timestamp() * 1000;
    for child in storage.children().unwrap() {
        e.children += 1;
        let mut records: Vec<RecordDoc> = Vec::new();
        let mut plan: Option<PlanDoc> = None;
        for key in storage.documents_of_child(child.id).unwrap() {
            let doc = load(storage, &key);
            match key {
                DocKey::Plan(_) => plan = Some(autosurgeon::hydrate(&doc).unwrap()),
                DocKey::Record(_) | DocKey::Agency(..) => {
                    records.push(autosurgeon::hydrate(&doc).unwrap())
                }
                _ => {}
            }
        }
        let plan = plan.unwrap();
        // Bands now, per agency, and the change between the last two
        // reviews, by simple scans of the ratings (not the report's code).
        let mut held: Vec<_> = plan.reviews.values().filter(|r| r.held_on <= to).collect();
        held.sort_by_key(|r| (r.held_on, r.recorded_at));
        let pair = match held.as_slice() {
            [.., before, last] if from <= last.held_on => Some((before.held_on, last.held_on)),
            _ => None,
        };
        for (slug, a) in [
            ("safe", &plan.wellbeing.safe),
            ("healthy", &plan.wellbeing.healthy),
            ("achieving", &plan.wellbeing.achieving),
            ("nurtured", &plan.wellbeing.nurtured),
            ("active", &plan.wellbeing.active),
            ("respected", &plan.wellbeing.respected),
            ("responsible", &plan.wellbeing.responsible),
            ("included", &plan.wellbeing.included),
        ] {
            let latest = |agency: Option<Agency>, day: IsoDate| {
                a.ratings
                    .values()
                    .filter(|r| r.on <= day && agency.is_none_or(|g| r.agency == g))
                    .max_by_key(|r| (r.on, r.recorded_at))
                    .map(|r| r.score)
            };
            let bands = e.now.entry(slug.to_owned()).or_default();
            if let Some(score) = latest(None, to) {
                bands[band(score)] += 1;
            }
            let agencies: BTreeSet<Agency> = a.ratings.values().map(|r| r.agency).collect();
            for agency in agencies {
                let key = (agency.as_str().to_owned(), slug.to_owned());
                if let Some(score) = latest(Some(agency), to) {
                    e.agency_now.entry(key.clone()).or_default()[band(score)] += 1;
                }
                if let Some((before, last)) = pair
                    && let (Some(b), Some(l)) =
                        (latest(Some(agency), before), latest(Some(agency), last))
                {
                    e.agency_change.entry(key).or_default()[direction(b, l)] += 1;
                }
            }
            if let Some((before, last)) = pair
                && let (Some(b), Some(l)) = (latest(None, before), latest(None, last))
            {
                e.change.entry(slug.to_owned()).or_default()[direction(b, l)] += 1;
            }
        }
        let review_views = plan
            .reviews
            .values()
            .any(|r| r.held_on <= to && !r.young_person_views.as_str().trim().is_empty());
        if !plan.young_person_views.is_empty() || review_views {
            e.views += 1;
        }
        if let Some(born) = plan.child.date_of_birth {
            let fifteenth = fifteenth_birthday(born);
            if fifteenth <= to {
                e.fifteen += 1;
                let t = &plan.transition;
                let written = t.needed && !t.plan.as_str().trim().is_empty();
                let on = t.recorded_at.and_then(|at| at.date());
                if written && on.is_some_and(|d| d <= fifteenth) {
                    e.transition_by_15 += 1;
                }
            }
        }
        let last_seen = records
            .iter()
            .flat_map(|r| r.visits.values())
            .filter(|v| v.child_seen && v.at.0 < end_of_to)
            .max_by_key(|v| (v.at, v.id));
        if let Some(v) = last_seen {
            e.seen += 1;
            e.seen_alone += usize::from(v.seen_alone);
        }
    }
    let people = storage
        .people()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    for r in storage.requests_of(&people).unwrap() {
        let doc: RequestDoc = autosurgeon::hydrate(&load(storage, &DocKey::Request(r.id))).unwrap();
        let step = |kinds: &[StepKind]| {
            doc.steps
                .values()
                .filter(|s| kinds.contains(&s.kind))
                .map(|s| s.at)
                .min()
                .and_then(|t| t.date())
        };
        let Some(sent) = step(&[StepKind::Sent]).filter(|d| from <= *d && *d <= to) else {
            continue;
        };
        let answered = step(&[
            StepKind::Accepted,
            StepKind::Declined,
            StepKind::MoreInfoAsked,
        ])
        .filter(|d| *d <= to);
        for agency in [doc.to.as_str(), "all"] {
            let c = e.requests.entry(agency.to_owned()).or_default();
            c[0] += 1;
            if let Some(a) = answered {
                c[1] += 1;
                c[2] += usize::from(working_days(sent, a) <= 5);
            }
        }
    }
    e
}

fn check_against_documents(report: &Value, e: &Expected) {
    assert_eq!(report["children"], shown(e.children));
    let indicators = report["indicators"].as_array().unwrap();
    assert_eq!(indicators.len(), 8);
    for i in indicators {
        let slug = i["indicator"].as_str().unwrap();
        let want = e.now[slug];
        for (k, label) in ["1-3", "4-6", "7-10"].into_iter().enumerate() {
            assert_eq!(i["now"][label], shown(want[k]), "{slug} {label}");
        }
    }
    let changes = |c: &Value, want: [usize; 3], what: &str| {
        for (k, label) in ["up", "same", "down"].into_iter().enumerate() {
            assert_eq!(c[label], shown(want[k]), "{what} {label}");
        }
    };
    for i in indicators {
        let slug = i["indicator"].as_str().unwrap();
        let want = e.change.get(slug).copied().unwrap_or_default();
        changes(&i["change_between_reviews"], want, slug);
    }
    let by_agency = report["by_agency"].as_array().unwrap();
    let agencies: BTreeSet<&str> = e.agency_now.keys().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        by_agency.len(),
        agencies.len(),
        "one part per agency that rated"
    );
    for a in by_agency {
        let agency = a["agency"].as_str().unwrap();
        for i in a["indicators"].as_array().unwrap() {
            let key = (
                agency.to_owned(),
                i["indicator"].as_str().unwrap().to_owned(),
            );
            let want = e.agency_now.get(&key).copied().unwrap_or_default();
            for (k, label) in ["1-3", "4-6", "7-10"].into_iter().enumerate() {
                assert_eq!(i["now"][label], shown(want[k]), "{key:?} {label}");
            }
            let want = e.agency_change.get(&key).copied().unwrap_or_default();
            changes(&i["change_between_reviews"], want, &format!("{key:?}"));
        }
    }
    assert_eq!(report["views_recorded"]["count"], shown(e.views));
    assert_eq!(report["views_recorded"]["of"], shown(e.children));
    assert_eq!(report["transition_plans_by_15"]["of"], shown(e.fifteen));
    assert_eq!(
        report["transition_plans_by_15"]["count"],
        shown(e.transition_by_15)
    );
    assert_eq!(report["seen_alone_at_last_visit"]["of"], shown(e.seen));
    assert_eq!(
        report["seen_alone_at_last_visit"]["count"],
        shown(e.seen_alone)
    );
    let requests = report["requests"].as_array().unwrap();
    for (agency, [sent, answered, within5]) in &e.requests {
        let row = requests
            .iter()
            .find(|r| r["agency"] == agency.as_str())
            .unwrap_or_else(|| panic!("no requests row for {agency}"));
        assert_eq!(row["sent"], shown(*sent), "{agency}");
        assert_eq!(row["answered"], shown(*answered), "{agency}");
        assert_eq!(
            row["answered_within_5_working_days"],
            shown(*within5),
            "{agency}"
        );
    }
    assert_eq!(
        requests.len(),
        e.requests.len().max(1),
        "one row per agency asked, and all"
    );
}

// ---------------------------------------------------------------- anonymity

/// Every count in the JSON is "fewer than 5" or 5 or more.
fn assert_counts_suppressed(v: &Value, path: &str) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if ["percent", "median_working_days", "visit_overdue_after_days"]
                    .contains(&k.as_str())
                {
                    assert!(
                        v.is_number() || v == "not shown: fewer than 5",
                        "{path}/{k}: {v}"
                    );
                    continue;
                }
                assert_counts_suppressed(v, &format!("{path}/{k}"));
            }
        }
        Value::Array(a) => {
            for (k, v) in a.iter().enumerate() {
                assert_counts_suppressed(v, &format!("{path}/{k}"));
            }
        }
        Value::Number(n) => assert!(n.as_u64().unwrap() >= 5, "{path}: {n} is shown"),
        _ => {}
    }
}

/// Every count in the CSV is "fewer than 5" or 5 or more.
fn assert_csv_suppressed(csv: &str) {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("section,agency,indicator,measure,value"));
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 5, "{line}");
        let (measure, value) = (fields[3], fields[4]);
        if [
            "from",
            "to",
            "after days",
            "percent",
            "median working days to answer",
        ]
        .contains(&measure)
        {
            continue;
        }
        assert!(
            value == "fewer than 5" || value.parse::<u32>().unwrap() >= 5,
            "{line}"
        );
    }
}

/// Names and ids of everyone and every child the database holds.
fn identifying(storage: &dyn Storage) -> Vec<String> {
    let mut out = Vec::new();
    for p in storage.people().unwrap() {
        out.push(p.id.to_string());
        out.push(p.name);
    }
    for c in storage.children().unwrap() {
        out.push(c.id.to_string());
        out.push(c.name);
        let plan: PlanDoc = autosurgeon::hydrate(&load(storage, &DocKey::Plan(c.id))).unwrap();
        out.extend(plan.carers.into_values().map(|c| c.name));
        if !plan.child.preferred_name.is_empty() {
            out.push(plan.child.preferred_name);
        }
    }
    for d in storage.devices().unwrap() {
        out.push(d.id.to_string());
    }
    let people = storage
        .people()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    for r in storage.requests_of(&people).unwrap() {
        out.push(r.id.to_string());
    }
    out.retain(|s| s.len() >= 3);
    out
}

fn report(db: &TestDb, from: IsoDate, to: IsoDate, format: &str) -> Vec<u8> {
    ok(
        db,
        &[
            "report",
            "outcomes",
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--format",
            format,
        ],
    )
}

fn all_formats_are_anonymous(db: &TestDb, from: IsoDate, to: IsoDate) -> Value {
    let storage = db.open();
    let json = report(db, from, to, "json");
    let csv = report(db, from, to, "csv");
    let html = report(db, from, to, "html");
    for needle in identifying(storage.as_ref()) {
        for (format, bytes) in [("json", &json), ("csv", &csv), ("html", &html)] {
            assert!(
                !bytes::contains(bytes, &needle),
                "{format} holds {needle:?}"
            );
        }
    }
    let value: Value = serde_json::from_slice(&json).unwrap();
    assert_counts_suppressed(&value, "");
    assert_csv_suppressed(std::str::from_utf8(&csv).unwrap());

    let html = String::from_utf8(html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"en-GB\">"));
    assert!(html.contains("<title>Outcomes report,"));
    assert!(html.matches("<svg").count() >= 2, "charts are inline SVG");
    assert!(html.contains("<th scope=\"col\">") && html.contains("<th scope=\"row\">"));
    assert!(html.contains("<caption>"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("<link") && !html.contains("<img") && !html.contains("url("));
    let without_xmlns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !without_xmlns.contains("http://") && !without_xmlns.contains("https://"),
        "nothing is fetched"
    );
    value
}

// ---------------------------------------------------------------- the tests

async fn the_report_counts_what_the_documents_hold_and_names_nobody(backend: Backend) {
    let db = synthetic(backend, 60);
    let to = IsoDate::today();
    let from = to.plus_days(-365);
    let report = all_formats_are_anonymous(&db, from, to);
    let expected = count(db.open().as_ref(), from, to);
    eprintln!("{expected:?}");
    assert_eq!(report["children"], json!(60));
    assert!(
        expected.views >= 5 && expected.seen >= 5,
        "enough to show some counts"
    );
    check_against_documents(&report, &expected);
    // Something is hidden, and something shown, in the bands.
    let text = report.to_string();
    assert!(text.contains("fewer than 5") || expected.requests["all"][0] >= 5);
}

async fn the_demo_partnership_is_all_small_numbers(backend: Backend) {
    let db = demo(backend);
    let to = IsoDate::today();
    let from = to.plus_days(-365);
    let report = all_formats_are_anonymous(&db, from, to);
    check_against_documents(&report, &count(db.open().as_ref(), from, to));
    assert_eq!(report["children"], json!("fewer than 5"));
    // Four children: no count in the whole report is shown as a number.
    let mut numbers = Vec::new();
    collect_numbers(&report, "", &mut numbers);
    assert_eq!(
        numbers,
        ["/visit_overdue_after_days"],
        "only the setting is a number"
    );
}

fn collect_numbers(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| collect_numbers(v, &format!("{path}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(k, v)| collect_numbers(v, &format!("{path}/{k}"), out)),
        Value::Number(_) => out.push(path.to_owned()),
        _ => {}
    }
}

async fn a_case_export_holds_the_plan_and_only_the_agency_records_named(backend: Backend) {
    let db = demo(backend);
    let child = KAI.to_string();
    let out = ok(
        &db,
        &[
            "export",
            "--child",
            &child,
            "--format",
            "json",
            "--agency",
            "education",
        ],
    );
    let text = String::from_utf8(out).unwrap();
    let case: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(case["format"], "bothy-case-export");
    assert_eq!(case["child"], child.as_str());
    assert_eq!(case["exported_by"], "test-admin");
    // What the plan holds: needs and the young person's own words.
    assert!(text.contains("Kai needs to be in school most days"));
    assert!(text.contains("School is ok when Mr Reid is there. Mornings are the worst."));
    assert!(text.contains("I want Kai back at school but I can't get him up on my own."));
    assert_eq!(case["plan"]["key"], format!("plan/{child}"));
    assert!(!case["plan"]["heads"].as_array().unwrap().is_empty());
    assert_eq!(case["record"]["key"], format!("record/{child}"));
    let agencies: Vec<&str> = case["agency_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agency"].as_str().unwrap())
        .collect();
    assert_eq!(agencies, ["education"]);
    // Social work's own record was not named: its words are not here.
    assert!(!text.contains("Mum disclosed debt worries"));

    let with_sw = String::from_utf8(ok(
        &db,
        &[
            "export",
            "--child",
            &child,
            "--format",
            "json",
            "--agency",
            "social-work",
            "--by",
            "Children's Hearing reporter",
        ],
    ))
    .unwrap();
    assert!(with_sw.contains("Mum disclosed debt worries"));

    // Both exports audited: who, what, when.
    let storage: Arc<dyn Storage> = db.open();
    let exports = storage.exports(KAI).unwrap();
    assert_eq!(exports.len(), 2);
    assert_eq!(exports[0].by, "test-admin");
    assert_eq!(exports[1].by, "Children's Hearing reporter");
    assert!(exports[0].command.contains("--agency education"));
    assert_eq!(
        exports[0].documents,
        [
            DocKey::Plan(KAI),
            DocKey::Record(KAI),
            DocKey::Agency(KAI, Agency::Education)
        ]
    );
    let audited: Vec<DocKey> = storage
        .audit_of_child(KAI)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == AuditEvent::CaseExported)
        .map(|e| e.document)
        .collect();
    assert_eq!(audited.len(), 6);
    assert!(audited.contains(&DocKey::Agency(KAI, Agency::SocialWork)));
    let trail = String::from_utf8(ok(&db, &["audit", "--child", &child])).unwrap();
    assert!(trail.contains("case-exported"));
    assert!(trail.contains("Children's Hearing reporter"));

    // Bad requests: a clear error, non-zero exit, nothing audited.
    let unknown = bothy_shared::ids::ChildId::random().to_string();
    let err = fails(&db, &["export", "--child", &unknown, "--format", "json"]);
    assert!(err.contains(&format!("no child {unknown}")), "{err}");
    let err = fails(&db, &["export", "--child", &child, "--format", "pdf"]);
    assert!(err.contains("json"), "{err}");
    let err = fails(
        &db,
        &[
            "export", "--child", &child, "--format", "json", "--agency", "council",
        ],
    );
    assert!(err.contains("not an agency"), "{err}");
    assert_eq!(storage.exports(KAI).unwrap().len(), 2);
}

bothy_tests::on_both_backends!(
    the_report_counts_what_the_documents_hold_and_names_nobody,
    the_demo_partnership_is_all_small_numbers,
    a_case_export_holds_the_plan_and_only_the_agency_records_named,
);

#[test]
fn the_report_refuses_bad_arguments_clearly() {
    let db = demo(Backend::Sqlite);
    let args = |from: &str, to: &str, format: &str| {
        vec![
            "report".to_owned(),
            "outcomes".into(),
            "--from".into(),
            from.into(),
            "--to".into(),
            to.into(),
            "--format".into(),
            format.into(),
        ]
    };
    let fails_with = |a: Vec<String>, want: &str| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let err = fails(&db, &a);
        assert!(err.contains(want), "{a:?}: {err}");
    };
    fails_with(args("2026-13-01", "2026-12-31", "json"), "is not a date");
    fails_with(args("2026-12-31", "2026-01-01", "json"), "after it ends on");
    fails_with(
        args("2026-01-01", "2026-12-31", "pdf"),
        "possible values: html, csv, json",
    );

    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("none.db").display());
    let out = Command::new(BIN)
        .args(["report", "outcomes", "--db", &missing])
        .args([
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
    assert!(!dir.path().join("none.db").exists(), "nothing was made");

    // --out writes the file, and the same bytes as standard output.
    let file = dir.path().join("report.html");
    let mut a = args("2026-01-01", "2026-12-31", "html");
    a.extend(["--out".to_owned(), file.display().to_string()]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    assert!(ok(&db, &a).is_empty());
    let written = std::fs::read(&file).unwrap();
    let from: IsoDate = "2026-01-01".parse().unwrap();
    let to: IsoDate = "2026-12-31".parse().unwrap();
    assert_eq!(written, report(&db, from, to, "html"));
}

/// The HTML at 320 px in Chromium with no network: charts drawn, tables
/// captioned, axe-core 0 violations (tests/browser/report.mjs). Needs
/// `node`, `/usr/bin/chromium` and `tests/browser/node_modules`
/// (`scripts/setup.sh`).
#[test]
fn the_html_report_is_accessible_at_320_px() {
    let db = synthetic(Backend::Sqlite, 30);
    let to = IsoDate::today();
    let html = report(&db, to.plus_days(-365), to, "html");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outcomes.html");
    std::fs::write(&file, html).unwrap();
    let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        browser.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: run scripts/setup.sh (npm ci in tests/browser)"
    );
    let shots = bothy_tests::screenshots_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg("report.mjs")
        .current_dir(&browser)
        .env("BOTHY_REPORT", &file)
        .env("BOTHY_SCREENSHOTS", &shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("axe: 0 violations"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
