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

/// Morag's store (made by `bothy init`) and Priya's set the same action's
/// status offline; Morag's store then receives Priya's change, as a sync
/// would. Returns the action's id.
fn conflicted_store(dir: &std::path::Path, passcode: &str) -> bothy_shared::ids::ItemId {
    use bothy_client::Client;
    use bothy_client::store::{KdfParams, Passcode, Store};
    use bothy_shared::demo::{KAI, PRIYA};
    use bothy_shared::docs::{ActionStatus, DocKey};
    let o = bothy(
        dir,
        Some(passcode),
        &["init", "--demo-as", "Morag", "--insecure-test-kdf"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let priya_dir = tempfile::tempdir().unwrap();
    let store = Store::create(
        priya_dir.path(),
        &Passcode::new("priya".into()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    let mut priya = Client::seed_demo(store, "Priya").unwrap();
    let action = priya
        .child(KAI)
        .unwrap()
        .needs
        .iter()
        .flat_map(|n| n.actions.clone())
        .find(|a| a.what.starts_with("Help mum"))
        .unwrap()
        .id;
    priya
        .set_action_status(KAI, action, ActionStatus::Stuck)
        .unwrap();
    let plan = priya.document(&DocKey::Plan(KAI)).unwrap().unwrap().clone();
    let mut morag =
        Client::open(Store::unlock(dir, &Passcode::new(passcode.into())).unwrap()).unwrap();
    morag
        .set_action_status(KAI, action, ActionStatus::Done)
        .unwrap();
    let mut directory = morag.directory().clone();
    directory.devices.insert(priya.me().device, PRIYA);
    morag.set_directory(directory).unwrap();
    morag
        .receive_documents(vec![(DocKey::Plan(KAI), plan)])
        .unwrap();
    morag.lock().unwrap();
    action
}

#[test]
fn conflicts_prints_one_line_per_conflict_and_settle_keeps_a_value() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("morag");
    let p = Some("a long passcode");
    conflicted_store(&dir, "a long passcode");

    let o = bothy(&dir, p, &["conflicts", "--child", "Kai"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    // ID FIELD "VALUE" by NAME | "VALUE" by NAME
    let (id, rest) = lines[0].split_once(' ').unwrap();
    assert_eq!(id.len(), 10, "{out}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{out}");
    assert!(rest.starts_with("Action “Help mum"), "{out}");
    let (field, sides) = rest.split_once(" status ").unwrap();
    assert!(!field.is_empty());
    let mut sides: Vec<&str> = sides.split(" | ").collect();
    sides.sort();
    assert_eq!(
        sides,
        ["\"Done\" by Morag Fraser", "\"Stuck\" by Priya Shah"],
        "{out}"
    );

    // `show` lists it too, and `--json show` carries it.
    let o = bothy(&dir, p, &["show", "Kai"]);
    assert!(text(&o).contains(lines[0]), "{}", text(&o));
    let o = bothy(&dir, p, &["--json", "show", "Kai"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["conflicts"][0]["id"], id, "{json}");
    assert_eq!(json["conflicts"][0]["sides"].as_array().unwrap().len(), 2);

    // An unknown id, or a value that is not one of the two: a clear error.
    let o = bothy(
        &dir,
        p,
        &[
            "settle",
            "--child",
            "Kai",
            "--conflict",
            "0123456789",
            "--keep",
            "Done",
        ],
    );
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(text(&o).contains("0123456789"), "{}", text(&o));
    let o = bothy(
        &dir,
        p,
        &[
            "settle",
            "--child",
            "Kai",
            "--conflict",
            id,
            "--keep",
            "In progress",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("is not one of this conflict's values: "),
        "{}",
        text(&o)
    );
    // The slug works as well as the label.
    let o = bothy(
        &dir,
        p,
        &[
            "settle",
            "--child",
            "Kai",
            "--conflict",
            id,
            "--keep",
            "stuck",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("Settled {id}: kept \"Stuck\".")
    );
    let o = bothy(&dir, p, &["conflicts", "--child", "Kai"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
    let o = bothy(&dir, p, &["--json", "show", "Kai"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["conflicts"], serde_json::json!([]));
}

#[test]
fn chronology_adds_an_event_and_show_prints_the_merged_chronology_in_date_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("device");
    let p = Some("a long passcode");
    let o = bothy(
        &dir,
        p,
        &["init", "--demo-as", "Morag", "--insecure-test-kdf"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = bothy(
        &dir,
        p,
        &[
            "chronology",
            "--child",
            "kai",
            "--date",
            "2026-01-15",
            "--event",
            "Kai joined the football club",
            "--impact",
            "neutral",
            "--action",
            "None needed",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Added to the chronology"), "{}", text(&o));

    let o = bothy(&dir, p, &["show", "Kai"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let chronology = &out[out.find("Chronology:").unwrap()..];
    let new = chronology
        .find("2026-01-15 Kai joined the football club (Social work; impact: Neutral) Action: None needed")
        .unwrap_or_else(|| panic!("{chronology}"));
    // The demo's entry (2026-06-30) comes after it: date order.
    let demo = chronology
        .find("2026-06-30 Mum's partner left the family home.")
        .unwrap_or_else(|| panic!("{chronology}"));
    assert!(new < demo, "{chronology}");

    let o = bothy(&dir, p, &["--json", "show", "Kai"]);
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let items = json["chronology"].as_array().unwrap();
    let added = items
        .iter()
        .find(|i| i["event"] == "Kai joined the football club")
        .unwrap();
    assert_eq!(added["impact"], "Neutral");
    assert_eq!(added["date"], "2026-01-15");
    let dates: Vec<&str> = items.iter().map(|i| i["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);

    // Bad input: a clear error and exit code 2, nothing saved.
    let o = bothy(
        &dir,
        p,
        &[
            "chronology",
            "--child",
            "kai",
            "--date",
            "15/01/2026",
            "--event",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not a date"), "{}", text(&o));
    let o = bothy(
        &dir,
        p,
        &[
            "chronology",
            "--child",
            "kai",
            "--date",
            "2026-01-16",
            "--event",
            "x",
            "--impact",
            "awful",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn voice_without_consent_is_kept_in_my_agency_and_with_consent_goes_to_the_team() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("device");
    let p = Some("a long passcode");
    let o = bothy(
        &dir,
        p,
        &["init", "--demo-as", "Morag", "--insecure-test-kdf"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = bothy(
        &dir,
        p,
        &[
            "voice",
            "--child",
            "kai",
            "--said-by",
            "Lisa",
            "--voice-of",
            "parent",
            "--words",
            "Money is tight",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("agency/"), "{out}");
    assert!(out.contains("social-work"), "{out}");
    assert!(
        out.contains("Who will see this: Social work only."),
        "{out}"
    );

    let o = bothy(
        &dir,
        p,
        &[
            "--json",
            "voice",
            "--child",
            "kai",
            "--said-by",
            "Kai",
            "--words",
            "I like football",
            "--consent",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        json["document"].as_str().unwrap().starts_with("record/"),
        "{json}"
    );
    assert_eq!(json["who_will_see"], "Your team: 3 people in 3 agencies");

    // `show` lists both, saying where each is kept.
    let o = bothy(&dir, p, &["show", "kai"]);
    let out = text(&o);
    assert!(
        out.contains("Lisa (parent): \"Money is tight\" [kept in Social work only]"),
        "{out}"
    );
    assert!(
        out.contains("Kai (child): \"I like football\" [shared with the team]"),
        "{out}"
    );
    let o = bothy(&dir, p, &["--json", "show", "kai"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let voices = json["family_voice"].as_array().unwrap();
    let lisa = voices.iter().find(|v| v["said_by"] == "Lisa").unwrap();
    assert_eq!(lisa["shared_with_team"], false);
}

/// `bothy request` and `bothy requests` as scripts use them: the request
/// is made offline and its id printed; the list is `ID STATE CHILD-OR-NAME`;
/// without consent or a lawful basis nothing is made (exit 5); the caseload
/// shows it with its state.
#[test]
fn a_request_for_help_is_made_offline_and_listed_with_its_state() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("device");
    let p = Some("a long passcode");
    let o = bothy(
        &dir,
        p,
        &["init", "--demo-as", "Ewan", "--insecure-test-kdf"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let ask = |basis: Option<&str>| {
        let mut args = vec![
            "request",
            "--to",
            "social-work",
            "--name",
            "Skye Maclean",
            "--born",
            "2016-05-01",
            "--reason",
            "Often hungry in class",
            "--concerns",
            "safe,healthy",
            "--urgent",
        ];
        if let Some(b) = basis {
            args.extend(["--basis", b]);
        }
        bothy(&dir, p, &args)
    };
    let o = ask(None);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("request-consent-or-basis"),
        "{}",
        text(&o)
    );

    let o = ask(Some("wellbeing"));
    assert!(o.status.success(), "{}", text(&o));
    let id = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(id.parse::<bothy_shared::ids::RequestId>().is_ok(), "{id}");

    let o = bothy(&dir, p, &["requests"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].starts_with(&format!("{id} sent Skye Maclean")),
        "{out}"
    );

    let o = bothy(&dir, p, &["caseload"]);
    assert!(
        text(&o).contains("Requests for help") && text(&o).contains(&id),
        "{}",
        text(&o)
    );

    // Only a duty worker of the receiving agency declines; the first 8
    // characters name the request.
    let o = bothy(&dir, p, &["decline", &id[..8], "--reason", "no"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
}

#[test]
fn team_add_and_end_queue_the_change_and_say_what_it_does() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Some("a long passcode");
    let morag = tmp.path().join("morag");
    let o = bothy(
        &morag,
        p,
        &["init", "--demo-as", "Morag", "--insecure-test-kdf"],
    );
    assert!(o.status.success(), "{}", text(&o));

    let o = bothy(
        &morag,
        p,
        &["team", "add", "--child", "Kai", "--person", "Iain"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Queued: Add Iain Campbell (Police) as a member"),
        "{}",
        text(&o)
    );
    let o = bothy(
        &morag,
        p,
        &[
            "team", "add", "--child", "Kai", "--person", "Aileen", "--role", "named",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Hand the named person role to Aileen Grant (Health)"),
        "{}",
        text(&o)
    );
    let priya = bothy_shared::demo::PRIYA.to_string();
    let o = bothy(
        &morag,
        p,
        &[
            "--json",
            "team",
            "end",
            "--child",
            "Kai",
            "--person",
            &priya,
            "--reason",
            "Family support ended",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        json["change"]
            .as_str()
            .unwrap()
            .starts_with("End Priya Shah's membership on"),
        "{json}"
    );
    assert!(json["queued"].as_str().is_some(), "{json}");

    // The lead professional hands over before leaving: refused by policy (5).
    let o = bothy(
        &morag,
        p,
        &[
            "team",
            "end",
            "--child",
            "Kai",
            "--person",
            "Morag",
            "--reason",
            "moving on",
        ],
    );
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("team-hand-over-first"), "{}", text(&o));
    // A bad role is a usage mistake that queues nothing.
    let o = bothy(
        &morag,
        p,
        &[
            "team", "add", "--child", "Kai", "--person", "Iain", "--role", "boss",
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("--role must be member, lead or named"),
        "{}",
        text(&o)
    );

    // David is on Kai's team but does not lead it: refused (5).
    let david = tmp.path().join("david");
    let o = bothy(
        &david,
        p,
        &["init", "--demo-as", "David", "--insecure-test-kdf"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = bothy(
        &david,
        p,
        &["team", "add", "--child", "Kai", "--person", "Iain"],
    );
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("team-lead-or-supervisor"), "{}", text(&o));
}
