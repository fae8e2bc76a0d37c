#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Tests may unwrap and panic: a failure is the report.

//! Every screen rendered over a REAL client core (an encrypted store in a
//! temporary directory, seeded with the demo partnership), driven with the
//! events a renderer sends, and checked in the HTML and in the client core.

mod common;

use bothy_app::{Device, DeviceSettings};
use bothy_client::services::VisitDraft;
use bothy_client::sync::NewRejection;
use bothy_shared::demo::{KAI, MORAG};
use bothy_shared::docs::{ActionStatus, DocKey, Indicator};
use bothy_shared::ids::ItemId;
use common::{PASSCODE, Screen, seeded_client};

/// `text` as the HTML renderer escapes it.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn unlocked_as(name: &str) -> (tempfile::TempDir, Device) {
    let dir = tempfile::tempdir().unwrap();
    let client = seeded_client(dir.path(), name);
    (dir, Device::unlocked(client))
}

/// The text of the `<li>` or card holding `needle`, to check what sits beside it.
fn card_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not on screen"));
    let start = html[..at].rfind("<li").unwrap_or(0);
    let end = html[at..]
        .find("Record a visit")
        .map_or(html.len(), |e| at + e);
    &html[start..end]
}

#[test]
fn a_wrong_passcode_says_so_and_the_right_one_opens_the_caseload() {
    let dir = tempfile::tempdir().unwrap();
    seeded_client(dir.path(), "Morag").lock().unwrap();
    let core = Device::locked(dir.path(), DeviceSettings::manual());
    let mut screen = Screen::open(core.clone(), "/");
    assert!(screen.html().contains("Enter your passcode"));

    screen.type_into("passcode", "not it");
    screen.submit("Unlock Bothy");
    screen.settle_until("That passcode is not right");
    let html = screen.html();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(!core.is_unlocked());

    // After several wrong passcodes the wait is shown in seconds.
    for _ in 0..5 {
        screen.type_into("passcode", "still not it");
        screen.submit("Unlock Bothy");
        screen.settle_until_gone("Unlocking: this takes a moment.");
    }
    screen.settle_until("seconds");
    let html = screen.html();
    assert!(html.contains("seconds"), "{html}");
    assert!(!core.is_unlocked());
}

#[test]
fn the_right_passcode_opens_the_caseload() {
    let dir = tempfile::tempdir().unwrap();
    seeded_client(dir.path(), "Morag").lock().unwrap();
    let core = Device::locked(dir.path(), DeviceSettings::manual());
    let mut screen = Screen::open(core.clone(), "/");
    screen.type_into("passcode", PASSCODE);
    screen.submit("Unlock Bothy");
    screen.settle_until("<h1>Caseload</h1>");
    assert!(core.is_unlocked());
    let html = screen.html();
    assert!(html.contains("<h1>Caseload</h1>"), "{html}");
    assert!(html.contains("Kai Robertson"), "{html}");
}

#[test]
fn locking_brings_back_the_unlock_screen() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), "/caseload");
    screen.click("Lock");
    assert!(!core.is_unlocked());
    assert!(screen.html().contains("Enter your passcode"));
}

#[test]
fn the_caseload_shows_children_with_their_flags_and_can_be_searched() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core, "/caseload");
    let html = screen.html();
    assert!(html.contains("Kai Robertson"), "{html}");
    assert!(html.contains("Ruaridh Paterson"), "{html}");
    assert!(
        card_with(&html, "Ruaridh Paterson").contains("Visit overdue"),
        "{html}"
    );
    assert!(html.contains("Everything is synced"), "{html}");

    screen.type_into("caseload-search", "roo");
    let html = screen.html();
    assert!(html.contains("Ruaridh Paterson"), "{html}");
    assert!(!html.contains("Kai Robertson"), "{html}");
}

#[test]
fn a_childs_page_shows_the_plan_the_wheel_visits_and_a_filterable_chronology() {
    let (_dir, core) = unlocked_as("Morag");
    let overview = core.with_client(|c| c.child(KAI)).unwrap().unwrap();
    let mut screen = Screen::open(core, &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(html.contains("<h1>Kai Robertson</h1>"), "{html}");
    assert!(html.contains(&esc(&overview.reason)), "{html}");
    assert!(html.contains("Lead professional"), "{html}");
    for member in &overview.team {
        assert!(html.contains(&esc(&member.name)), "{} missing", member.name);
    }
    // The wheel: eight segments, each described with now and before.
    assert_eq!(html.matches("class=\"segment\"").count(), 8, "{html}");
    for i in Indicator::ALL {
        assert!(html.contains(&format!("{}: now", i.label())), "{html}");
    }
    let safe = overview
        .wellbeing
        .iter()
        .find(|l| l.indicator == Indicator::Safe)
        .unwrap();
    if let (Some(now), Some(before)) = (safe.now, safe.before) {
        assert!(html.contains(&format!(
            "Safe: now {now} out of 10, at the last review {before} out of 10"
        )));
    }
    for need in &overview.needs {
        assert!(html.contains(&esc(&need.need)), "{html}");
        for action in &need.actions {
            assert!(html.contains(action.status.label()), "{html}");
        }
    }
    assert!(html.contains("Recent visits"));
    for item in &overview.chronology {
        assert!(html.contains(&esc(&item.event)), "{html}");
    }

    // Filter the chronology to one agency: only its events remain.
    let police_only: Vec<_> = overview
        .chronology
        .iter()
        .filter(|i| i.agency == bothy_shared::ids::Agency::Police)
        .collect();
    let others: Vec<_> = overview
        .chronology
        .iter()
        .filter(|i| i.agency != bothy_shared::ids::Agency::Police)
        .collect();
    screen.change("chronology-agency", "police");
    let html = screen.html();
    let chronology = &html[html.find("chronology-heading").unwrap()..];
    for item in police_only {
        assert!(chronology.contains(&esc(&item.event)), "{chronology}");
    }
    for item in others {
        assert!(!chronology.contains(&esc(&item.event)), "{chronology}");
    }
}

#[test]
fn typing_a_visit_keeps_it_and_save_puts_it_in_the_childs_record() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/visit"));
    assert!(screen.html().contains("Record a visit"));

    screen.type_into("visit-place", "Kai's home");
    screen.change("visit-seen", "true");
    screen.type_into("visit-observations", "Kai showed me his new bike.");
    // Kept as typed, before any Save.
    let drafts = core.with_client(|c| c.visit_drafts()).unwrap().unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].observations, "Kai showed me his new bike.");
    assert!(drafts[0].child_seen);
    assert!(screen.html().contains("Kept on this device"));

    screen.click("Save");
    assert!(screen.html().contains("Visit saved"), "{}", screen.html());
    let kai = core.with_client(|c| c.child(KAI)).unwrap().unwrap();
    let visit = kai
        .recent_visits
        .iter()
        .find(|v| v.observations == "Kai showed me his new bike.")
        .expect("the saved visit is in Kai's record");
    assert!(visit.child_seen);
    assert!(!visit.finalised);
    assert_eq!(visit.place, "Kai's home");
    // The typing buffer is cleared by the save.
    assert!(
        core.with_client(|c| c.visit_drafts())
            .unwrap()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn finalising_a_visit_fixes_it_and_returns_to_the_childs_page() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/visit"));
    screen.type_into("visit-observations", "Quiet visit; mum tired.");
    screen.click("Finalise");
    let html = screen.html();
    assert!(html.contains("<h1>Kai Robertson</h1>"), "{html}");
    assert!(html.contains("Quiet visit; mum tired."), "{html}");
    let kai = core.with_client(|c| c.child(KAI)).unwrap().unwrap();
    assert!(
        kai.recent_visits
            .iter()
            .any(|v| v.observations == "Quiet visit; mum tired." && v.finalised)
    );
}

#[test]
fn a_half_typed_visit_comes_back_when_the_screen_is_opened_again() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/visit"));
    screen.type_into("visit-next-steps", "Phone school on Monday");
    drop(screen);
    let screen = Screen::open(core, &format!("/child/{KAI}/visit"));
    assert!(screen.html().contains("Phone school on Monday"));
}

#[test]
fn family_voice_is_recorded_in_their_own_words() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/family-voice"));
    let html = screen.html();
    for words in [
        "In their own words",
        "House of worries",
        "House of good things",
        "House of dreams",
        "shared with the team",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    screen.change("voice-of", "parent");
    screen.type_into("voice-said-by", "Lisa");
    screen.type_into("voice-own-words", "I just want him back at school.");
    screen.change("voice-scale", "4");
    screen.type_into("voice-dreams", "A holiday together");
    screen.change("voice-consent", "true");
    screen.submit("Family voice");
    assert!(
        screen.html().contains("Saved to the child"),
        "{}",
        screen.html()
    );

    let voices = core.with_client(|c| c.family_voice(KAI)).unwrap().unwrap();
    let lisa = voices.iter().find(|v| v.said_by == "Lisa").unwrap();
    assert_eq!(lisa.own_words.as_str(), "I just want him back at school.");
    assert_eq!(lisa.scale, Some(4));
    assert_eq!(lisa.dreams.as_str(), "A holiday together");
    assert!(lisa.consent_to_share);
    assert_eq!(lisa.voice_of, bothy_shared::docs::VoiceOf::Parent);
}

#[test]
fn my_plan_uses_plain_words_and_never_shows_what_is_held_back() {
    // What the team holds back, as Morag's device knows it.
    let morag_dir = tempfile::tempdir().unwrap();
    let mut morag = seeded_client(morag_dir.path(), "Morag");
    let team_view = morag.child(KAI).unwrap();
    assert!(!team_view.withheld.is_empty());

    let (_dir, core) = unlocked_as("Kai");
    let screen = Screen::open(core, "/my-plan");
    let html = screen.html();
    for heading in ["My plan", "My team", "What happens next", "What I think"] {
        assert!(html.contains(heading), "{heading}: {html}");
    }
    let lower = html.to_lowercase();
    assert!(!lower.contains("case"), "{html}");
    assert!(!lower.contains("subject"), "{html}");
    for w in &team_view.withheld {
        assert!(
            !html.contains(&esc(&w.content)) && !html.contains(&w.content),
            "withheld content shown: {html}"
        );
    }
    let safe = team_view
        .wellbeing
        .iter()
        .find(|l| l.indicator == Indicator::Safe)
        .unwrap();
    if !safe.concerns.is_empty() {
        assert!(!html.contains(&esc(&safe.concerns)), "{html}");
    }
}

#[test]
fn a_young_person_adds_what_they_think() {
    let (_dir, core) = unlocked_as("Kai");
    let mut screen = Screen::open(core.clone(), "/my-plan");
    screen.type_into("think-words", "I want to do football after school");
    screen.submit("Add what I think");
    let html = screen.html();
    assert!(
        html.contains("I want to do football after school"),
        "{html}"
    );
    assert!(html.contains("Added."), "{html}");
    let plan = core.with_client(|c| c.my_plan()).unwrap().unwrap();
    assert!(
        plan.what_i_think
            .iter()
            .any(|v| v.words == "I want to do football after school" && v.about == "overall")
    );
    assert!(!html.to_lowercase().contains("case"));
}

#[test]
fn the_supervisor_sees_changes_field_by_field_and_countersigns() {
    // Morag records a visit on her device; Fiona's device receives it, as a
    // sync would, knowing which device is Morag's.
    let morag_dir = tempfile::tempdir().unwrap();
    let mut morag = seeded_client(morag_dir.path(), "Morag");
    let mut draft = bothy_client::services::VisitDraft::new(KAI);
    draft.observations = "Kai at home, school bag packed".to_owned();
    let key = morag.save_visit(&draft, true).unwrap();
    let doc = morag.document(&key).unwrap().unwrap().clone();
    let morag_device = morag.me().device;

    let (_dir, core) = unlocked_as("Fiona");
    core.with_client(|c| {
        let mut dir = c.directory().clone();
        dir.devices.insert(morag_device, MORAG);
        c.set_directory(dir).unwrap();
        c.receive_documents(vec![(key, doc)]).unwrap();
    })
    .unwrap();
    let changes = core
        .with_client(|c| c.changes_since_my_last_review(KAI))
        .unwrap()
        .unwrap();
    assert!(!changes.is_empty());

    let mut screen = Screen::open(core.clone(), "/supervision");
    let html = screen.html();
    assert!(html.contains("<h1>Supervision</h1>"), "{html}");
    for col in ["What changed", "Before", "After", "Who", "Agency", "When"] {
        assert!(html.contains(col), "{col}");
    }
    assert!(html.contains("Kai at home, school bag packed"));
    assert!(
        html.contains("<td data-label=\"Who\">Morag Fraser</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td data-label=\"Agency\">Social work</td>"),
        "{html}"
    );
    // The overdue list names every child whose visit is overdue or review due.
    let overdue = core.with_client(|c| c.overdue()).unwrap().unwrap();
    assert!(!overdue.is_empty());
    let overdue_html = &html[..html.find("class=\"review\"").unwrap()];
    for entry in &overdue {
        assert!(overdue_html.contains(&esc(&entry.name)), "{}", entry.name);
    }

    screen.type_into(
        &format!("oversight-{KAI}"),
        "Good progress; keep school visits weekly.",
    );
    screen.type_into(&format!("decision-{KAI}"), "Continue plan");
    screen.submit("Countersign for Kai Robertson");
    let html = screen.html();
    assert!(html.contains("Countersigned."));
    assert!(!html.contains("Kai at home, school bag packed"));
    let after = core
        .with_client(|c| c.changes_since_my_last_review(KAI))
        .unwrap()
        .unwrap();
    // Morag's visit has been reviewed, and my own countersignature is not news.
    assert!(after.is_empty(), "{after:?}");
}

#[test]
fn the_young_persons_navigation_has_only_my_plan() {
    let (_dir, core) = unlocked_as("Kai");
    let screen = Screen::open(core, "/my-plan");
    let html = screen.html();
    assert!(html.contains("href=\"/my-plan\""), "{html}");
    assert!(!html.contains("href=\"/supervision\""), "{html}");
}

// ------------------------------------------------------------ plan editing

/// Every action of Kai's plan, as the client core holds it now.
fn kais_actions(core: &Device) -> Vec<bothy_client::services::ActionView> {
    core.with_client(|c| {
        c.child(KAI)
            .unwrap()
            .needs
            .into_iter()
            .flat_map(|n| n.actions)
            .collect()
    })
    .unwrap()
}

fn first_action(core: &Device) -> bothy_client::services::ActionView {
    kais_actions(core)
        .into_iter()
        .next()
        .expect("the demo plan has an action")
}

#[test]
fn an_actions_status_and_progress_are_changed_from_its_page() {
    let (_dir, core) = unlocked_as("Morag");
    let action = first_action(&core);
    assert_ne!(action.status, ActionStatus::Stuck);
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/actions/{}", action.id));
    let html = screen.html();
    assert!(html.contains("<h1>Update an action</h1>"), "{html}");
    assert!(html.contains(&esc(&action.what)), "{html}");

    screen.change("status-stuck", "true");
    screen.type_into("action-progress", "Waiting for the clinic to reply");
    screen.submit("Update the action");

    let now = kais_actions(&core)
        .into_iter()
        .find(|a| a.id == action.id)
        .unwrap();
    assert_eq!(now.status, ActionStatus::Stuck);
    assert_eq!(now.progress, "Waiting for the clinic to reply");
    let html = screen.html();
    assert!(
        html.contains("<h1>Kai Robertson</h1>"),
        "back on the child's page: {html}"
    );
    assert!(html.contains("Waiting for the clinic to reply"), "{html}");
}

#[test]
fn a_new_action_is_added_to_a_need_with_an_owner_and_a_date() {
    let (_dir, core) = unlocked_as("Morag");
    let need = core
        .with_client(|c| c.child(KAI).unwrap().needs[0].id)
        .unwrap();
    let mut screen = Screen::open(
        core.clone(),
        &format!("/child/{KAI}/needs/{need}/new-action"),
    );
    screen.type_into("action-what", "Arrange a taster day at the youth club");
    screen.change("action-owner", &MORAG.to_string());

    // A date in the wrong shape is refused, and nothing is saved.
    screen.type_into("action-due", "next Tuesday");
    screen.submit("New action");
    assert!(screen.html().contains("write the date as year-month-day"));

    screen.type_into("action-due", "2027-01-15");
    screen.submit("New action");
    let added: Vec<_> = kais_actions(&core)
        .into_iter()
        .filter(|a| a.what == "Arrange a taster day at the youth club")
        .collect();
    assert_eq!(added.len(), 1, "added once");
    assert_eq!(
        added[0].due.map(|d| d.to_string()).as_deref(),
        Some("2027-01-15")
    );
    assert!(added[0].owner.as_deref().unwrap_or("").starts_with("Morag"));
    assert!(screen.html().contains("<h1>Kai Robertson</h1>"));
}

#[test]
fn the_child_page_offers_plan_edits_only_to_people_who_may_make_them() {
    let (_dir, core) = unlocked_as("Morag");
    let screen = Screen::open(core, &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(html.contains("aria-label=\"Update: "), "{html}");
    assert!(html.contains("Add an action"), "{html}");

    // Fiona supervises and reads the plan, but is not in the team.
    let (_dir, fiona) = unlocked_as("Fiona");
    let screen = Screen::open(fiona, &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(html.contains("<h1>Kai Robertson</h1>"), "{html}");
    assert!(!html.contains("aria-label=\"Update: "), "{html}");
}

// ------------------------------------------------------------ a visit's page

fn saved_visit(core: &Device, finalise: bool, words: &str) -> (DocKey, ItemId) {
    core.with_client(|c| {
        let mut draft = VisitDraft::new(KAI);
        draft.observations = words.to_owned();
        draft.child_seen = true;
        let key = c.save_visit(&draft, finalise).unwrap();
        (key, draft.id)
    })
    .unwrap()
}

#[test]
fn a_finalised_visit_takes_an_addendum_with_its_reason_and_never_changes() {
    let (_dir, core) = unlocked_as("Morag");
    let (key, id) = saved_visit(&core, true, "Kai showed me his new bike");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/visits/{id}"));
    let html = screen.html();
    assert!(html.contains("Kai showed me his new bike"), "{html}");
    assert!(html.contains("Finalised"), "{html}");
    assert!(!html.contains(">Finalise</button>"), "{html}");

    // No reason, no addendum.
    screen.type_into(
        "addendum-text",
        "The bike was a birthday present from Gran.",
    );
    screen.submit("Add an addendum");
    assert!(screen.html().contains("Not added"), "{}", screen.html());

    screen.type_into("addendum-reason", "Where the bike came from");
    screen.submit("Add an addendum");
    let html = screen.html();
    assert!(html.contains("Addendum added"), "{html}");
    assert!(
        html.contains("The bike was a birthday present from Gran."),
        "{html}"
    );
    let view = core.with_client(|c| c.visit(key, id).unwrap()).unwrap();
    assert_eq!(view.addenda.len(), 1);
    assert_eq!(view.addenda[0].reason, "Where the bike came from");
    assert_eq!(view.visit.observations, "Kai showed me his new bike");
}

#[test]
fn a_draft_visit_is_finalised_from_its_page() {
    let (_dir, core) = unlocked_as("Morag");
    let (key, id) = saved_visit(&core, false, "Short visit, Kai at football");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/visits/{id}"));
    assert!(screen.html().contains("Draft: not finalised yet."));
    screen.click("Finalise");
    assert!(
        screen.html().contains("Visit finalised."),
        "{}",
        screen.html()
    );
    let view = core.with_client(|c| c.visit(key, id).unwrap()).unwrap();
    assert!(view.finalised.is_some());
    assert!(view.can_add_addendum);
}

#[test]
fn the_child_page_links_each_visit_to_its_page() {
    let (_dir, core) = unlocked_as("Morag");
    let (_, id) = saved_visit(&core, true, "Linked visit");
    let screen = Screen::open(core, &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(
        html.contains(&format!("href=\"/child/{KAI}/visits/{id}\"")),
        "{html}"
    );
}

// ------------------------------------------------------------ sync

#[test]
fn the_sync_screen_says_what_is_waiting_and_why_a_device_cannot_sync() {
    let (_dir, core) = unlocked_as("Morag");
    saved_visit(&core, false, "Waiting to go");
    let mut screen = Screen::open(core, "/sync");
    let html = screen.html();
    assert!(html.contains("<h1>Sync</h1>"), "{html}");
    assert!(html.contains("Not enrolled"), "{html}");
    assert!(html.contains("Never"), "{html}");
    assert!(
        html.contains("not synced yet"),
        "the indicator counts unsynced work: {html}"
    );
    assert!(html.contains("Nothing has been refused."), "{html}");

    screen.click("Sync now");
    screen.settle_until("not enrolled with a Bothy server yet");
}

#[test]
fn refused_changes_are_shown_in_words_on_the_indicator_and_the_sync_screen() {
    let (_dir, core) = unlocked_as("Morag");
    core.with_client(|c| {
        c.store_mut()
            .add_rejection(&NewRejection {
                doc_key: &DocKey::Plan(KAI).to_string(),
                change_hash: None,
                rule: "write-scope",
                path: "needs",
                message: "Only the child's team may change the plan.",
            })
            .unwrap();
    })
    .unwrap();
    let screen = Screen::open(core, "/sync");
    let html = screen.html();
    assert!(html.contains("The server refused 1 change"), "{html}");
    assert!(html.contains("Kai Robertson&#39;s plan"), "{html}");
    assert!(
        html.contains("Only the child&#39;s team may change the plan."),
        "{html}"
    );
    assert!(html.contains("Rule: write-scope"), "{html}");
}

// ------------------------------------------------------------ young person, idle lock

#[test]
fn a_young_person_cannot_open_a_practitioners_page_by_its_address() {
    let (_dir, core) = unlocked_as("Kai");
    for path in [
        format!("/child/{KAI}"),
        format!("/child/{KAI}/visit"),
        "/caseload".to_owned(),
        "/supervision".to_owned(),
    ] {
        let screen = Screen::open(core.clone(), &path);
        let html = screen.html();
        assert!(html.contains("Not part of your plan"), "{path}: {html}");
        assert!(!html.contains("Recent visits"), "{path}: {html}");
        assert!(!html.contains("Chronology"), "{path}: {html}");
        assert!(html.contains("href=\"/my-plan\""), "{path}: {html}");
    }
}

#[test]
fn an_idle_app_locks_itself_and_keeps_the_screen_behind_the_passcode() {
    let dir = tempfile::tempdir().unwrap();
    let client = seeded_client(dir.path(), "Morag");
    let settings = DeviceSettings {
        idle_lock: Some(std::time::Duration::from_millis(1000)),
        ..DeviceSettings::manual()
    };
    let core = Device::unlocked_with(client, settings);
    let mut screen = Screen::open(core.clone(), "/caseload");
    assert!(screen.html().contains("<h1>Caseload</h1>"));
    screen.settle_until("Enter your passcode");
    assert!(!core.is_unlocked());

    // Unlocking brings the same screen back.
    screen.type_into("passcode", PASSCODE);
    screen.submit("Unlock Bothy");
    screen.settle_until("<h1>Caseload</h1>");
    assert!(core.is_unlocked());
}

#[test]
fn an_unknown_address_says_so_and_leads_back_to_the_start() {
    let (_dir, core) = unlocked_as("Morag");
    let screen = Screen::open(core, "/no/such/screen");
    let html = screen.html();
    assert!(html.contains("<h1>Page not found</h1>"), "{html}");
    assert!(html.contains("href=\"/\""), "{html}");
}
