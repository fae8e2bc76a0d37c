//! The `bothy` commands for the plan's assessment, needs and reviews, as
//! scripts use them (the shapes in issue 14): `rate`, `need`, `review`,
//! `review-date`, and what `show` / `--json show` print of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::{Command, Output};

const PASSCODE: Option<&str> = Some("a long passcode");

fn bothy(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bothy"))
        .arg("--data")
        .arg(dir)
        .args(args)
        .env_remove("BOTHY_DATA")
        .env("BOTHY_PASSCODE", PASSCODE.unwrap())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn device_as(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("device");
    let o = bothy(&dir, &["init", "--demo-as", name, "--insecure-test-kdf"]);
    assert!(o.status.success(), "{}", text(&o));
    (tmp, dir)
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let o = bothy(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

fn show_json(dir: &std::path::Path) -> serde_json::Value {
    let o = bothy(dir, &["--json", "show", "Kai"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn rate_adds_a_rating_that_show_prints_with_who_and_the_last_review_value() {
    let (_t, dir) = device_as("Morag");
    let out = ok(
        &dir,
        &[
            "rate",
            "--child",
            "Kai",
            "--indicator",
            "safe",
            "--score",
            "4",
            "--strengths",
            "Gran checks in every evening",
            "--concerns",
            "Arguments at night",
        ],
    );
    assert!(out.contains("Rated Safe 4 out of 10: rating "), "{out}");

    let json = show_json(&dir);
    let safe = json["wellbeing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["indicator"] == "Safe")
        .unwrap()
        .clone();
    assert_eq!(safe["now"], 4);
    assert_eq!(safe["before"], 5, "the value at the last review");
    assert_eq!(safe["now_by_name"], "Morag Fraser");
    assert_eq!(safe["now_agency"], "social-work");
    assert_eq!(safe["strengths"], "Gran checks in every evening");
    assert_eq!(safe["last_review"], "2026-07-16");

    let out = ok(&dir, &["show", "Kai"]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("Safe "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(" 4 /  5"), "{line}");
    assert!(
        line.contains("rated by Morag Fraser (Social work) on "),
        "{line}"
    );
    assert!(
        out.contains("Wellbeing (now / at the last review on 2026-07-16)"),
        "{out}"
    );
}

#[test]
fn bad_ratings_and_dates_are_refused_with_a_clear_error() {
    let (_t, dir) = device_as("Morag");
    for (args, says) in [
        (
            vec![
                "rate",
                "--child",
                "Kai",
                "--indicator",
                "safe",
                "--score",
                "11",
            ],
            "a rating is 1 to 10, not 11",
        ),
        (
            vec![
                "rate",
                "--child",
                "Kai",
                "--indicator",
                "happy",
                "--score",
                "5",
            ],
            "`happy` is not a wellbeing indicator",
        ),
        (
            vec![
                "review",
                "--child",
                "Kai",
                "--held",
                "3 March",
                "--attended",
                "Morag",
                "--decisions",
                "x",
            ],
            "`3 March` is not a date",
        ),
        (
            vec!["review-date", "--child", "Kai", "2027-02-30"],
            "is not a date",
        ),
        (
            vec![
                "need",
                "--child",
                "Kai",
                "--need",
                "x",
                "--outcome",
                "y",
                "--indicators",
                "safe,fun",
            ],
            "`fun` is not a wellbeing indicator",
        ),
    ] {
        let o = bothy(&dir, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
    // Nothing was saved by any of them.
    let json = show_json(&dir);
    let safe = &json["wellbeing"][0];
    assert_eq!(safe["now"], 6);
}

#[test]
fn a_young_person_cannot_rate_review_or_set_the_review_date() {
    let (_t, dir) = device_as("Kai");
    for args in [
        vec![
            "rate",
            "--child",
            "Kai",
            "--indicator",
            "achieving",
            "--score",
            "9",
        ],
        vec![
            "review",
            "--child",
            "Kai",
            "--held",
            "2026-11-01",
            "--attended",
            "Kai",
            "--decisions",
            "No more school",
        ],
        vec!["review-date", "--child", "Kai", "2027-06-01"],
        vec!["need", "--child", "Kai", "--need", "x", "--outcome", "y"],
    ] {
        let o = bothy(&dir, &args);
        assert_ne!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let said = text(&o);
        assert!(
            said.contains("only the child's team may change this")
                || said.contains("only practitioners"),
            "{args:?}: {said}"
        );
    }
}

#[test]
fn need_review_and_review_date_change_the_plan_show_prints() {
    let (_t, dir) = device_as("Morag");
    let out = ok(
        &dir,
        &[
            "need",
            "--child",
            "Kai",
            "--need",
            "Kai needs to feel safe at home at night",
            "--outcome",
            "Kai sleeps through most nights",
            "--indicators",
            "safe,healthy",
        ],
    );
    assert!(out.starts_with("Added need "), "{out}");
    let need_id = out
        .trim()
        .trim_start_matches("Added need ")
        .trim_end_matches('.');

    let out = ok(&dir, &["review-date", "--child", "Kai", "2027-02-01"]);
    assert!(out.contains("Next review: 2027-02-01."), "{out}");
    assert_eq!(show_json(&dir)["review_date"], "2027-02-01");

    let out = ok(
        &dir,
        &[
            "review",
            "--child",
            "Kai",
            "--held",
            "2026-11-30",
            "--attended",
            "Morag Fraser, Lisa (mum), Kai",
            "--decisions",
            "Keep the Monday meetings",
            "--changes",
            "Mr Reid meets you on Fridays too.",
            "--next",
            "2027-03-01",
        ],
    );
    assert!(
        out.contains("Recorded the review held on 2026-11-30: review "),
        "{out}"
    );
    assert!(out.contains("Next review: 2027-03-01."), "{out}");

    let json = show_json(&dir);
    assert_eq!(json["review_date"], "2027-03-01");
    assert_eq!(json["last_review"]["held_on"], "2026-11-30");
    assert_eq!(
        json["last_review"]["attended"],
        serde_json::json!(["Morag Fraser", "Lisa (mum)", "Kai"])
    );
    assert_eq!(json["reviews"].as_array().unwrap().len(), 2);
    let need = json["needs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == need_id)
        .unwrap_or_else(|| panic!("{need_id} in {json}"));
    assert_eq!(need["indicators"], serde_json::json!(["Safe", "Healthy"]));
    assert!(need["closed"].is_null());

    let out = ok(&dir, &["show", "Kai"]);
    assert!(out.contains("Next review: 2027-03-01"), "{out}");
    assert!(
        out.contains("Last review: 2026-11-30 (attended: Morag Fraser, Lisa (mum), Kai). Decisions: Keep the Monday meetings. What changed: Mr Reid meets you on Fridays too."),
        "{out}"
    );
    assert!(
        out.contains("Kai needs to feel safe at home at night [need ")
            && out.contains("(Safe, Healthy)"),
        "{out}"
    );
    // The review's day is now "the last review" for the wheel.
    assert!(out.contains("at the last review on 2026-11-30"), "{out}");
}

#[test]
fn the_young_persons_show_says_when_we_last_met() {
    let (_t, dir) = device_as("Kai");
    let out = ok(&dir, &["show", "Kai"]);
    assert!(
        out.contains("We met on 2026-07-16. What changed: Mr Reid will meet you every Monday"),
        "{out}"
    );
    assert!(out.contains("Next time we meet: 2027-01-14."), "{out}");
}

// ------------------------------------------------------------ moving on (issue 15)

#[test]
fn transition_records_moving_on_that_show_and_caseload_print_in_sentences() {
    let (_t, dir) = device_as("Morag");
    let caseload = ok(&dir, &["caseload"]);
    let skye = caseload
        .lines()
        .find(|l| l.contains("Skye Morrison"))
        .unwrap();
    assert!(skye.contains("no transition plan"), "{caseload}");
    assert!(
        !caseload
            .lines()
            .find(|l| l.contains("Ruaridh"))
            .unwrap()
            .contains("no transition plan"),
        "{caseload}"
    );
    assert!(ok(&dir, &["show", "Skye"]).contains("Moving on: not recorded yet."));

    let out = ok(
        &dir,
        &[
            "transition",
            "--child",
            "Skye",
            "--needed",
            "yes",
            "--services",
            "adult-social-work,housing",
            "--start-by",
            "2027-03-01",
        ],
    );
    assert!(out.contains("No plan written yet."), "{out}");
    assert!(ok(&dir, &["caseload"]).contains("no transition plan"));

    // Left-out options keep what the plan says.
    let out = ok(
        &dir,
        &[
            "transition",
            "--child",
            "Skye",
            "--needed",
            "yes",
            "--plan",
            "Meet the adult carers' team in March",
        ],
    );
    let said = "Moving on: a transition to adult services is needed. Who will help: Adult social work, Housing. The plan: Meet the adult carers' team in March. Starting by 2027-03-01.";
    assert!(out.contains(said), "{out}");
    assert!(ok(&dir, &["show", "Skye"]).contains(said));
    assert!(!ok(&dir, &["caseload"]).contains("no transition plan"));

    let o = bothy(&dir, &["--json", "show", "Skye"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["transition"]["needed"], true);
    assert_eq!(
        json["transition"]["services"],
        serde_json::json!(["adult-social-work", "housing"])
    );
    assert_eq!(json["transition"]["start_by"], "2027-03-01");
    assert_eq!(json["no_transition_plan"], false);

    let out = ok(&dir, &["transition", "--child", "Skye", "--needed", "no"]);
    assert!(
        out.contains("Moving on: no transition to adult services is needed."),
        "{out}"
    );
}

#[test]
fn bad_transitions_are_refused_with_a_clear_error_and_nothing_is_saved() {
    let (_t, dir) = device_as("Morag");
    for (args, says) in [
        (
            vec!["transition", "--child", "Skye", "--needed", "maybe"],
            "`maybe`: say yes or no",
        ),
        (
            vec![
                "transition",
                "--child",
                "Skye",
                "--needed",
                "yes",
                "--services",
                "adult-social-work,council",
            ],
            "`council` is not an agency",
        ),
        (
            vec![
                "transition",
                "--child",
                "Skye",
                "--needed",
                "yes",
                "--start-by",
                "March",
            ],
            "`March` is not a date",
        ),
    ] {
        let o = bothy(&dir, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
    assert!(ok(&dir, &["show", "Skye"]).contains("Moving on: not recorded yet."));
    let o = bothy(&dir, &["transition", "--child", "Skye"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--needed is required: {}",
        text(&o)
    );
}

#[test]
fn a_young_person_cannot_write_moving_on_and_reads_it_in_plain_words() {
    let (_t, dir) = device_as("Kai");
    let o = bothy(
        &dir,
        &[
            "transition",
            "--child",
            "Kai",
            "--needed",
            "yes",
            "--plan",
            "mine",
        ],
    );
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("only the child's team may change this"),
        "{}",
        text(&o)
    );
    assert!(!ok(&dir, &["show", "Kai"]).contains("Moving on"));
}

#[test]
fn outcomes_prints_the_teams_bands_falls_and_figures_and_refuses_a_young_person() {
    // Fiona, the team manager, over the demo: Kai rated in October (Healthy
    // 6), Ellie in November (Healthy 4, down from 6 at her August review).
    let (_t, dir) = device_as("Fiona");
    let o = bothy(&dir, &["--json", "outcomes"]);
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["children"], 4, "{json}");
    let healthy = json["now"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["indicator"] == "Healthy")
        .unwrap();
    assert_eq!(healthy["bands"], serde_json::json!([0, 2, 0]), "{json}");
    let falls = json["falls"].as_array().unwrap();
    assert_eq!(falls.len(), 1, "{json}");
    assert_eq!(falls[0]["name"], "Ellie Watson");
    assert_eq!(falls[0]["indicator"], "Healthy");
    assert_eq!(
        (
            falls[0]["at_last_review"].as_u64(),
            falls[0]["now"].as_u64()
        ),
        (Some(6), Some(4))
    );

    let said = ok(&dir, &["outcomes"]);
    let line = said
        .lines()
        .find(|l| l.starts_with("Healthy"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(line.contains("0 / 2 / 0"), "{line}");
    assert!(said.contains("Ellie Watson  Healthy 6 -> 4"), "{said}");
    assert!(
        said.contains("Visits overdue:") && said.contains("Ruaridh Paterson"),
        "{said}"
    );

    let (_t, kai) = device_as("Kai");
    let o = bothy(&kai, &["outcomes"]);
    assert_eq!(
        o.status.code(),
        Some(5),
        "refused by the policy: {}",
        text(&o)
    );
}
