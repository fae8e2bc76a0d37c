#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Tests may unwrap and panic: a failure is the report.

//! Every screen rendered over a REAL client core (an encrypted store in a
//! temporary directory, seeded with the demo partnership), driven with the
//! events a renderer sends, and checked in the HTML and in the client core.

mod common;

use automerge::Automerge;
use bothy_app::{Device, DeviceSettings};
use bothy_client::services::VisitDraft;
use bothy_client::sync::NewRejection;
use bothy_shared::demo::{KAI, MORAG, PRIYA};
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
        assert!(html.contains(&format!("Safe: now {now} out of 10 (by ")));
        assert!(html.contains(&format!("), at the last review {before} out of 10")));
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
    // The demo withholds a part: Kai is told so, in words he would use.
    assert!(
        html.contains(
            "Some of your plan is private for now. Your worker can talk to you about it."
        ),
        "{html}"
    );
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

/// The `<li class="feed-item` card holding `needle`.
fn feed_card_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not on screen"));
    let start = html[..at]
        .rfind("<li class=\"feed-item")
        .unwrap_or_else(|| panic!("{needle} is not in a feed card"));
    let end = html[start..].find("</li><li class=\"feed-item").map_or(
        html[start..]
            .find("</ol>")
            .map_or(html.len(), |e| start + e),
        |e| start + e,
    );
    &html[start..end]
}

#[test]
fn the_supervisor_sees_one_card_per_visit_with_its_fields_folded_and_countersigns() {
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
    assert!(changes.len() > 3, "a visit is many fields: {changes:?}");

    let mut screen = Screen::open(core.clone(), "/supervision");
    let html = screen.html();
    assert!(html.contains("<h1>Supervision</h1>"), "{html}");
    // One card for the whole visit, with a summary line naming who and what.
    assert_eq!(html.matches("<li class=\"feed-item").count(), 1, "{html}");
    let card = feed_card_with(&html, "Kai at home, school bag packed");
    assert!(
        card.contains("Morag Fraser recorded a home visit to Kai, "),
        "{card}"
    );
    assert!(card.contains("(Social work)"), "{card}");
    // Its fields are behind "Show details", closed.
    let details = card.find("<details").unwrap();
    assert!(card[details..].starts_with("<details>"), "{card}");
    assert!(card.contains("<summary>Show details</summary>"), "{card}");
    assert!(card.find("Kai at home").unwrap() > details);
    // The overdue list names every child whose visit is overdue or review due.
    let overdue = core.with_client(|c| c.overdue()).unwrap().unwrap();
    assert!(!overdue.is_empty());
    let overdue_html = &html[..html.find("class=\"review\"").unwrap()];
    for entry in &overdue {
        assert!(overdue_html.contains(&esc(&entry.name)), "{}", entry.name);
    }
    // Only Kai has anything to countersign.
    assert!(html.contains("aria-label=\"Countersign for Kai Robertson\""));
    assert_eq!(
        html.matches("aria-label=\"Countersign for ").count(),
        1,
        "{html}"
    );
    assert!(!html.contains("reviewed item"));

    screen.type_into(
        &format!("oversight-{KAI}"),
        "Good progress; keep school visits weekly.",
    );
    screen.type_into(&format!("decision-{KAI}"), "Continue plan");
    screen.submit("Countersign for Kai Robertson");
    let html = screen.html();
    assert!(html.contains("Countersigned."));
    assert!(html.contains("No changes since your last review."));
    // The reviewed visit folds away, and there is nothing left to countersign.
    assert!(
        html.contains("<details class=\"reviewed\"><summary>1 reviewed item</summary>"),
        "{html}"
    );
    assert!(!html.contains("aria-label=\"Countersign for "), "{html}");
    let after = core
        .with_client(|c| c.changes_since_my_last_review(KAI))
        .unwrap()
        .unwrap();
    // Morag's visit has been reviewed, and my own countersignature is not news.
    assert!(after.is_empty(), "{after:?}");
}

/// Morag (on a device core the screens use) and Priya (on her own client)
/// set the same action's status; Morag's device receives Priya's change, as
/// a sync would.
struct Conflicted {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    morag: Device,
    priya: bothy_client::Client,
    /// Morag's plan once it holds both changes.
    both: Automerge,
}

fn conflicted(status_morag: ActionStatus, status_priya: ActionStatus) -> Conflicted {
    let (morag_dir, morag) = unlocked_as("Morag");
    let priya_dir = tempfile::tempdir().unwrap();
    let mut priya = seeded_client(priya_dir.path(), "Priya");
    let action = help_mum(&morag).id;
    priya.set_action_status(KAI, action, status_priya).unwrap();
    let key = DocKey::Plan(KAI);
    let priya_plan = priya.document(&key).unwrap().unwrap().clone();
    let priya_device = priya.me().device;
    let both = morag
        .with_client(|c| {
            c.set_action_status(KAI, action, status_morag).unwrap();
            let mut dir = c.directory().clone();
            dir.devices.insert(priya_device, PRIYA);
            c.set_directory(dir).unwrap();
            c.receive_documents(vec![(key, priya_plan)]).unwrap();
            c.document(&key).unwrap().unwrap().clone()
        })
        .unwrap();
    Conflicted {
        _dirs: (morag_dir, priya_dir),
        morag,
        priya,
        both,
    }
}

/// The demo action "Help mum set up a morning routine…", as Morag's page shows it.
fn help_mum(core: &Device) -> bothy_client::services::ActionView {
    kais_actions(core)
        .into_iter()
        .find(|a| a.what.starts_with("Help mum"))
        .unwrap()
}

#[test]
fn a_conflict_card_names_both_people_both_values_and_when_and_keeping_one_clears_it() {
    let Conflicted {
        _dirs,
        morag,
        mut priya,
        both,
    } = conflicted(ActionStatus::Done, ActionStatus::Stuck);
    let mut screen = Screen::open(morag.clone(), &format!("/child/{KAI}"));
    let html = screen.html();
    let at = html
        .find("<article class=\"conflict\"")
        .unwrap_or_else(|| panic!("no conflict card: {html}"));
    let card = &html[at..at + html[at..].find("</article>").unwrap()];
    assert!(card.contains("Two changes to Action “Help mum"), "{card}");
    assert!(card.contains(" status</h3>"), "{card}");
    assert!(
        card.contains("<strong>Done</strong> by Morag Fraser, "),
        "{card}"
    );
    assert!(
        card.contains("<strong>Stuck</strong> by Priya Shah, "),
        "{card}"
    );
    assert!(card.contains(">Keep Done</button>"), "{card}");
    assert!(card.contains(">Keep Stuck</button>"), "{card}");
    assert!(at < html.find("plan-heading").unwrap(), "before the plan");

    let field = morag.with_client(|m| m.conflicts(KAI)).unwrap().unwrap()[0]
        .field
        .clone();
    screen.click_labelled(&format!("Keep Stuck: {field}"));
    let html = screen.html();
    assert!(!html.contains("class=\"conflict\""), "{html}");
    assert!(!html.contains("Open conflicts"), "{html}");
    assert!(
        morag
            .with_client(|m| m.conflicts(KAI))
            .unwrap()
            .unwrap()
            .is_empty()
    );
    assert_eq!(help_mum(&morag).status, ActionStatus::Stuck);

    // Priya's device shows the conflict until the settling change arrives.
    let morag_device = morag.with_client(|m| m.me().device).unwrap();
    let mut dir = priya.directory().clone();
    dir.devices.insert(morag_device, MORAG);
    priya.set_directory(dir).unwrap();
    let key = DocKey::Plan(KAI);
    priya.receive_documents(vec![(key, both)]).unwrap();
    assert_eq!(priya.conflicts(KAI).unwrap().len(), 1);
    let settled = morag
        .with_client(|m| m.document(&key).unwrap().unwrap().clone())
        .unwrap();
    priya.receive_documents(vec![(key, settled)]).unwrap();
    assert!(priya.conflicts(KAI).unwrap().is_empty());
}

#[test]
fn the_supervisors_feed_lists_open_conflicts_first() {
    let c = conflicted(ActionStatus::Done, ActionStatus::Stuck);
    let (_dir, fiona) = unlocked_as("Fiona");
    let morag_device = c.morag.with_client(|m| m.me().device).unwrap();
    let priya_device = c.priya.me().device;
    fiona
        .with_client(|f| {
            let mut dir = f.directory().clone();
            dir.devices.insert(morag_device, MORAG);
            dir.devices.insert(priya_device, PRIYA);
            f.set_directory(dir).unwrap();
            f.receive_documents(vec![(DocKey::Plan(KAI), c.both.clone())])
                .unwrap();
        })
        .unwrap();
    let screen = Screen::open(fiona.clone(), "/supervision");
    let html = screen.html();
    let conflicts = html
        .find("Kai Robertson: open conflicts")
        .unwrap_or_else(|| panic!("{html}"));
    assert!(
        conflicts < html.find("Overdue").unwrap(),
        "conflicts come first"
    );
    assert!(html.contains("<strong>Done</strong> by Morag Fraser"));
    assert!(html.contains("<strong>Stuck</strong> by Priya Shah"));
    // Fiona supervises Kai's team but is not on it: she may read the plan,
    // not write it, so she is told the team will choose, with no buttons.
    let conflicts = fiona.with_client(|f| f.conflicts(KAI)).unwrap().unwrap();
    assert!(!conflicts[0].can_settle);
    assert!(html.contains("someone on the team will choose"), "{html}");
    assert!(!html.contains(">Keep Done</button>"), "{html}");
    // Once Morag keeps one and Fiona's device receives it, the card is gone.
    let settled = c
        .morag
        .with_client(|m| {
            m.settle_conflict(KAI, &conflicts[0].id, "Done").unwrap();
            m.document(&DocKey::Plan(KAI)).unwrap().unwrap().clone()
        })
        .unwrap();
    fiona
        .with_client(|f| f.receive_documents(vec![(DocKey::Plan(KAI), settled)]))
        .unwrap()
        .unwrap();
    let html = Screen::open(fiona.clone(), "/supervision").html();
    assert!(!html.contains("open conflicts"), "{html}");
    assert!(!html.contains("class=\"conflict\""), "{html}");
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

#[test]
fn the_lead_professional_withholds_a_part_on_the_childs_page_and_lifts_it() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(html.contains("Withheld from the young person"), "{html}");
    screen.change("withhold-section", "my_world");
    screen.type_into("withhold-reason", "Waiting for the assessment");
    screen.submit("Withhold part of the plan");
    let html = screen.html();
    assert!(html.contains("Withheld. The young person"), "{html}");
    assert!(
        html.contains("My World Triangle</strong> — Waiting for the assessment"),
        "{html}"
    );
    let parts = core
        .with_client(|c| c.child(KAI))
        .unwrap()
        .unwrap()
        .withheld_from_young_person;
    assert!(
        parts
            .iter()
            .any(|p| p.section == "my_world" && p.reason == "Waiting for the assessment")
    );

    // Each part can be lifted, its button named for it.
    assert!(
        html.contains("aria-label=\"Stop withholding: My World Triangle\""),
        "{html}"
    );

    // A team member who does not lead sees what is withheld, without the form.
    let (_dir, david) = unlocked_as("David");
    let html = Screen::open(david, &format!("/child/{KAI}")).html();
    assert!(html.contains("Withheld from the young person"), "{html}");
    assert!(!html.contains("Withhold part of the plan"), "{html}");
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
                bytes: None,
                words: Some("needs: More time at the youth club"),
            })
            .unwrap();
    })
    .unwrap();
    let screen = Screen::open(core.clone(), "/sync");
    let html = screen.html();
    assert!(html.contains("The server refused 1 change"), "{html}");
    assert!(html.contains("Not accepted"), "{html}");
    assert!(html.contains("Kai Robertson&#39;s plan"), "{html}");
    assert!(
        html.contains("Only the child&#39;s team may change the plan."),
        "{html}"
    );
    assert!(html.contains("Rule: write-scope"), "{html}");
    // Its words, in a labelled read-only text area to copy from.
    assert!(html.contains("What it said (select to copy)"), "{html}");
    assert!(html.contains("readonly"), "{html}");
    assert!(
        html.contains("needs: More time at the youth club"),
        "{html}"
    );
    // The child's page shows the same notice; another child's does not.
    let child = Screen::open(core.clone(), &format!("/child/{KAI}")).html();
    assert!(child.contains("Not accepted"), "{child}");
    assert!(
        child.contains("needs: More time at the youth club"),
        "{child}"
    );
    let other = Screen::open(core, &format!("/child/{}", bothy_shared::demo::ELLIE)).html();
    assert!(!other.contains("Not accepted"), "{other}");
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

// ------------------------------------------ consent, family voice, chronology

#[test]
fn who_will_see_this_changes_with_the_consent_box_on_family_voice() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/family-voice"));
    let html = screen.html();
    assert!(html.contains("Who will see this: "), "{html}");
    assert!(html.contains("Social work only"), "{html}");
    screen.change("voice-consent", "true");
    let html = screen.html();
    assert!(html.contains("Your team: 3 people in 3 agencies"), "{html}");
    assert!(!html.contains("Social work only"), "{html}");
    screen.change("voice-consent", "false");
    screen.type_into("voice-said-by", "Kai");
    screen.type_into("voice-own-words", "Don't tell school about home.");
    screen.submit("Family voice");
    assert!(
        screen.html().contains("Saved in your agency"),
        "{}",
        screen.html()
    );
    // Not in the team record; kept in social work's.
    let team = core.with_client(|c| c.family_voice(KAI)).unwrap().unwrap();
    assert!(
        team.iter()
            .all(|v| v.own_words.as_str() != "Don't tell school about home.")
    );
    let all = core
        .with_client(|c| c.family_voice_gathered(KAI))
        .unwrap()
        .unwrap();
    let kept = all
        .iter()
        .find(|v| v.own_words == "Don't tell school about home.")
        .unwrap();
    assert!(!kept.shared_with_team);
}

#[test]
fn the_visit_form_says_who_will_see_the_visit_and_the_childs_words() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/visit"));
    let html = screen.html();
    assert!(html.contains("Your team: 3 people in 3 agencies"), "{html}");
    assert!(!html.contains("Who will see what the child said"), "{html}");
    screen.change("visit-child-said-shared", "false");
    let html = screen.html();
    assert!(html.contains("Who will see what the child said"), "{html}");
    assert!(html.contains("Social work only"), "{html}");
    screen.change("visit-sharing", "agency");
    let html = screen.html();
    assert!(!html.contains("Who will see what the child said"), "{html}");
    assert!(!html.contains("Your team: 3 people"), "{html}");
    assert!(html.contains("Social work only"), "{html}");
}

#[test]
fn the_family_voice_gathered_shows_who_said_it_when_and_where_it_is_kept() {
    let (_dir, core) = unlocked_as("Morag");
    core.with_client(|c| {
        c.record_family_voice(
            KAI,
            &bothy_client::services::FamilyVoiceInput {
                said_by: "Lisa".into(),
                voice_of: bothy_shared::docs::VoiceOf::Parent,
                own_words: "Money is tight this month.".into(),
                scale_question: String::new(),
                scale: None,
                worries: String::new(),
                good_things: String::new(),
                dreams: String::new(),
                consent_to_share: false,
            },
        )
        .unwrap()
    })
    .unwrap();
    let screen = Screen::open(core, &format!("/child/{KAI}/family-voice/gathered"));
    let html = screen.html();
    assert!(html.contains("<h1>Family voice gathered</h1>"), "{html}");
    // The demo's entry, shared with the team, and the new one kept in social work.
    let demo = card_with(&html, "I like football and making things.");
    assert!(demo.contains("Shared with the team"), "{demo}");
    assert!(demo.contains("Morag Fraser"), "{demo}");
    let kept = card_with(&html, "Money is tight this month.");
    assert!(kept.contains("Lisa"), "{kept}");
    assert!(kept.contains("Kept in Social work only"), "{kept}");
    // Newest first.
    assert!(
        html.find("Money is tight").unwrap() < html.find("I like football").unwrap(),
        "{html}"
    );
}

#[test]
fn the_chronology_screen_filters_by_agency_and_impact_and_adds_an_event() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/chronology"));
    let demo = esc("Mum's partner left the family home.");
    assert!(screen.html().contains(&demo), "{}", screen.html());
    assert!(screen.html().contains("Who will see this: "));

    screen.change("chronology-filter-impact", "positive");
    assert!(!screen.html().contains(&demo));
    screen.change("chronology-filter-impact", "negative");
    assert!(screen.html().contains(&demo));
    screen.change("chronology-filter-agency", "education");
    assert!(!screen.html().contains(&demo));
    screen.change("chronology-filter-agency", "");
    screen.change("chronology-filter-impact", "");

    screen.type_into("chronology-date", "2026-11-05");
    screen.type_into("chronology-event", "Started at the homework club");
    screen.change("chronology-impact", "neutral");
    screen.type_into("chronology-action", "None needed");
    screen.change("chronology-sharing", "agency");
    assert!(screen.html().contains("Social work only"));
    screen.submit("Add an event to the chronology");
    let html = screen.html();
    assert!(html.contains("Added to the chronology."), "{html}");
    assert!(html.contains("Started at the homework club"), "{html}");
    screen.change("chronology-filter-impact", "neutral");
    let html = screen.html();
    assert!(html.contains("Started at the homework club"), "{html}");
    assert!(!html.contains(&demo), "{html}");
    let items = core
        .with_client(|c| c.chronology(KAI, None))
        .unwrap()
        .unwrap();
    let added = items
        .iter()
        .find(|i| i.event == "Started at the homework club")
        .unwrap();
    assert_eq!(added.impact, bothy_shared::docs::Impact::Neutral);
    assert_eq!(added.date.to_string(), "2026-11-05");
    assert_eq!(added.agency, bothy_shared::ids::Agency::SocialWork);
}

#[test]
fn a_finalised_visit_is_marked_significant_into_the_chronology() {
    let (_dir, core) = unlocked_as("Morag");
    let (_key, id) = saved_visit(&core, true, "Kai told me about the fire alarm at school");
    let before = core
        .with_client(|c| c.chronology(KAI, None))
        .unwrap()
        .unwrap();
    assert!(before.iter().all(|i| i.from_visit != Some(id)));
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/visits/{id}"));
    screen.click("Mark significant: add to the chronology");
    assert!(
        screen.html().contains("Marked significant"),
        "{}",
        screen.html()
    );
    let after = core
        .with_client(|c| c.chronology(KAI, None))
        .unwrap()
        .unwrap();
    let entry = after.iter().find(|i| i.from_visit == Some(id)).unwrap();
    assert!(entry.event.contains("fire alarm"), "{}", entry.event);
}

// ------------------------------------------- assessment, needs and reviews

fn kai_line(core: &Device, i: Indicator) -> bothy_client::services::WellbeingLine {
    core.with_client(|c| {
        c.child(KAI)
            .unwrap()
            .wellbeing
            .into_iter()
            .find(|l| l.indicator == i)
            .unwrap()
    })
    .unwrap()
}

#[test]
fn the_assessment_form_adds_a_rating_with_strengths_and_concerns() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/assess"));
    let html = screen.html();
    assert!(html.contains("<h1>Assess wellbeing</h1>"), "{html}");

    // No rating chosen: refused, nothing saved.
    screen.change("assess-indicator", "safe");
    screen.submit("Wellbeing assessment");
    assert!(screen.html().contains("choose a rating from 1 to 10"));
    assert_eq!(kai_line(&core, Indicator::Safe).now, Some(6));

    screen.change("assess-score", "4");
    screen.type_into("assess-strengths", "Gran checks in every evening");
    screen.type_into("assess-concerns", "Arguments at home at night");
    screen.submit("Wellbeing assessment");
    let html = screen.html();
    assert!(html.contains("Safe rated 4 out of 10"), "{html}");
    let safe = kai_line(&core, Indicator::Safe);
    assert_eq!((safe.now, safe.before), (Some(4), Some(5)));
    assert_eq!(safe.now_by, Some(MORAG));
    assert_eq!(safe.strengths, "Gran checks in every evening");
    assert_eq!(safe.concerns, "Arguments at home at night");
    // The form shows the new rating beside the last review's.
    assert!(html.contains("Now: 4 out of 10, by Morag Fraser"), "{html}");
    assert!(html.contains("At the last review: 5 out of 10"), "{html}");
}

#[test]
fn the_wheel_shows_each_rating_now_against_the_last_review() {
    let (_dir, core) = unlocked_as("Morag");
    core.with_client(|c| {
        c.assess_wellbeing(
            KAI,
            Indicator::Safe,
            &bothy_client::services::AssessmentInput {
                score: 4,
                ..Default::default()
            },
        )
    })
    .unwrap()
    .unwrap();
    let screen = Screen::open(core, &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(
        html.contains("Safe: now 4 out of 10 (by Morag Fraser, "),
        "{html}"
    );
    assert!(html.contains("at the last review 5 out of 10"), "{html}");
    assert!(
        html.contains("the rating at the last review (16 July 2026)"),
        "{html}"
    );
    assert!(html.contains("Last review: 16 July 2026."), "{html}");
}

#[test]
fn my_world_is_edited_from_its_screen() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/my-world"));
    let html = screen.html();
    assert!(html.contains("<h1>My World Triangle</h1>"), "{html}");
    for label in [
        "How I grow and develop",
        "What I need from the people who look after me",
        "My wider world",
    ] {
        assert!(html.contains(label), "{label}: {html}");
    }
    assert!(
        html.contains("Gran lives nearby"),
        "the current words: {html}"
    );
    screen.type_into(
        "world-wider",
        "Gran nearby; football club; a new friend, Sam.",
    );
    screen.submit("My World Triangle");
    let world = core
        .with_client(|c| c.child(KAI).unwrap().my_world)
        .unwrap();
    assert_eq!(world[2], "Gran nearby; football club; a new friend, Sam.");
    assert!(world[0].starts_with("Growing fast"), "unchanged: {world:?}");
    let html = screen.html();
    assert!(html.contains("<h1>Kai Robertson</h1>"), "{html}");
    assert!(html.contains("a new friend, Sam."), "{html}");
}

#[test]
fn a_need_is_added_edited_and_closed_from_its_screens() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/new-need"));
    assert!(screen.html().contains("<h1>Add a need</h1>"));
    // An empty need is refused.
    screen.submit("New need");
    assert!(
        screen.html().contains("describe the need"),
        "{}",
        screen.html()
    );
    screen.type_into("need-need", "Kai needs to feel safe at home at night");
    screen.type_into("need-outcome", "Kai sleeps through most nights");
    screen.change("need-indicator-safe", "true");
    screen.submit("New need");
    assert!(screen.html().contains("<h1>Kai Robertson</h1>"));
    let need = core
        .with_client(|c| {
            c.child(KAI)
                .unwrap()
                .needs
                .into_iter()
                .find(|n| n.need == "Kai needs to feel safe at home at night")
        })
        .unwrap()
        .expect("the need was added");
    assert_eq!(need.indicators, vec![Indicator::Safe]);
    assert!(
        screen
            .html()
            .contains("Edit or close: Kai needs to feel safe")
    );

    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/needs/{}", need.id));
    let html = screen.html();
    assert!(html.contains("<h1>Edit a need</h1>"), "{html}");
    screen.type_into("need-outcome", "Kai sleeps through most nights by March");
    screen.submit("Edit the need");
    let outcome = core
        .with_client(|c| {
            c.child(KAI)
                .unwrap()
                .needs
                .into_iter()
                .find(|n| n.id == need.id)
                .unwrap()
                .desired_outcome
        })
        .unwrap();
    assert_eq!(outcome, "Kai sleeps through most nights by March");

    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/needs/{}", need.id));
    screen.submit("Close the need");
    assert!(screen.html().contains("say why the need is closed"));
    screen.type_into("need-close-reason", "Outcome reached");
    screen.submit("Close the need");
    let html = screen.html();
    assert!(html.contains("<h1>Kai Robertson</h1>"), "{html}");
    assert!(html.contains("Closed needs"), "{html}");
    assert!(
        html.contains("Closed by Morag Fraser: Outcome reached"),
        "{html}"
    );
    let closed = core
        .with_client(|c| {
            c.child(KAI)
                .unwrap()
                .needs
                .into_iter()
                .find(|n| n.id == need.id)
                .unwrap()
                .closed
        })
        .unwrap();
    assert_eq!(closed.unwrap().reason, "Outcome reached");
}

#[test]
fn a_review_meeting_is_recorded_and_moves_the_last_review() {
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/review"));
    let html = screen.html();
    assert!(html.contains("<h1>Review the plan</h1>"), "{html}");
    assert!(html.contains("Last review: 16 July 2026."), "{html}");

    // The next review date on its own.
    screen.type_into("review-date", "14 January");
    screen.submit("Next review date");
    assert!(screen.html().contains("year-month-day"));
    screen.type_into("review-date", "2027-02-01");
    screen.submit("Next review date");
    assert!(screen.html().contains("Next review: 1 February 2027."));

    // A meeting without decisions is refused; then recorded.
    screen.type_into("review-attended", "Morag Fraser, Lisa (mum), Kai");
    screen.submit("Review meeting");
    assert!(
        screen.html().contains("say what was decided"),
        "{}",
        screen.html()
    );
    screen.type_into("review-yp-views", "I want to stay at my school");
    screen.type_into("review-decisions", "Keep the Monday meetings");
    screen.type_into("review-changes", "Mr Reid will meet you on Fridays too.");
    screen.type_into("review-next", "2027-04-01");
    screen.submit("Review meeting");
    let html = screen.html();
    assert!(html.contains("<h1>Kai Robertson</h1>"), "{html}");
    let page = core.with_client(|c| c.child(KAI).unwrap()).unwrap();
    let last = page.last_review.unwrap();
    assert_eq!(last.held_on, bothy_shared::docs::IsoDate::today());
    assert_eq!(
        last.attended,
        ["Morag Fraser", "Lisa (mum)", "Kai"].map(String::from)
    );
    assert_eq!(last.decisions, "Keep the Monday meetings");
    assert_eq!(
        page.review_date.map(|d| d.to_string()).as_deref(),
        Some("2027-04-01")
    );
    assert!(
        html.contains("What changed: Mr Reid will meet you on Fridays too."),
        "{html}"
    );
}

#[test]
fn my_plan_says_when_we_last_met_and_what_changed_in_plain_words() {
    let (_dir, core) = unlocked_as("Kai");
    let screen = Screen::open(core, "/my-plan");
    let html = screen.html();
    assert!(html.contains("When we last met"), "{html}");
    assert!(html.contains("We met on 16 July 2026."), "{html}");
    assert!(
        html.contains("What changed: Mr Reid will meet you every Monday"),
        "{html}"
    );
    assert!(
        html.contains("What I said: Mornings are hard. I like DT."),
        "{html}"
    );
    assert!(
        html.contains("Next time we meet: 14 January 2027."),
        "{html}"
    );
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("case") && !lower.contains("subject"),
        "{html}"
    );
}

#[test]
fn the_supervisor_sees_the_wheel_but_no_plan_edits() {
    let (_dir, fiona) = unlocked_as("Fiona");
    let screen = Screen::open(fiona, &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(html.contains("Wellbeing wheel."), "{html}");
    assert!(html.contains("at the last review 5 out of 10"), "{html}");
    for edit in [
        "Assess wellbeing",
        "Edit My World",
        "Add a need",
        "Review the plan",
    ] {
        assert!(!html.contains(edit), "{edit}: {html}");
    }
}

#[test]
fn the_plan_forms_say_who_will_see_this_and_leave_kai_out_of_a_withheld_part() {
    let (_dir, core) = unlocked_as("Morag");
    // The demo withholds Safe from Kai; Healthy he reads in My plan.
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/assess"));
    screen.change("assess-indicator", "safe");
    let html = screen.html();
    assert!(html.contains("who-will-see-line\">Your team"), "{html}");
    assert!(!html.contains("and Kai in My plan"), "{html}");
    screen.change("assess-indicator", "healthy");
    let html = screen.html();
    assert!(html.contains("and Kai in My plan"), "{html}");

    core.with_client(|c| {
        c.withhold(
            KAI,
            "wellbeing/healthy",
            "Not before the meeting with his mum",
        )
    })
    .unwrap()
    .unwrap();
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/assess"));
    screen.change("assess-indicator", "healthy");
    let html = screen.html();
    assert!(html.contains("who-will-see-line\">Your team"), "{html}");
    assert!(!html.contains("and Kai in My plan"), "{html}");

    for path in ["my-world", "new-need", "review"] {
        let screen = Screen::open(core.clone(), &format!("/child/{KAI}/{path}"));
        let html = screen.html();
        assert!(
            html.contains("who-will-see-line\">Your team"),
            "{path}: {html}"
        );
        assert!(html.contains("and Kai in My plan"), "{path}: {html}");
    }
}

// ------------------------------------------------------------ moving on (issue 15)

#[test]
fn moving_on_is_recorded_from_its_screen_with_services_ticked() {
    use bothy_shared::demo::SKYE;
    use bothy_shared::ids::Agency;
    let (_dir, core) = unlocked_as("Morag");
    // The child's page says there is none yet and leads to the form.
    let html = Screen::open(core.clone(), &format!("/child/{SKYE}")).html();
    assert!(
        html.contains("No transition plan yet: Skye Morrison is 15 or over."),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"/child/{SKYE}/moving-on\"")),
        "{html}"
    );

    let mut screen = Screen::open(core.clone(), &format!("/child/{SKYE}/moving-on"));
    let html = screen.html();
    assert!(html.contains("<h1>Moving on</h1>"), "{html}");
    // Every field has its label; the services are the adult services.
    for (id, label) in [
        ("transition-needed-yes", "Yes"),
        ("transition-needed-no", "No"),
        ("transition-service-adult-social-work", "Adult social work"),
        (
            "transition-service-adult-mental-health",
            "Adult mental health",
        ),
        ("transition-service-housing", "Housing"),
        ("transition-plan", "The plan"),
        ("transition-start-by", "Start by"),
    ] {
        assert!(
            html.contains(&format!("for=\"{id}\">{label}</label>")),
            "{id}: {html}"
        );
    }
    assert!(html.contains("who-will-see-line\">Your team"), "{html}");

    // Nothing chosen: refused with words, nothing saved.
    screen.submit("Moving on");
    assert!(
        screen.html().contains("say whether a transition is needed"),
        "{}",
        screen.html()
    );
    screen.change("transition-needed-yes", "yes");
    screen.change("transition-service-adult-social-work", "true");
    screen.change("transition-service-housing", "true");
    screen.type_into("transition-plan", "Meet the adult carers' team in March");
    screen.type_into("transition-start-by", "1 March");
    screen.submit("Moving on");
    assert!(
        screen.html().contains("Not saved: start by"),
        "{}",
        screen.html()
    );
    assert!(
        core.with_client(|c| c.child(SKYE))
            .unwrap()
            .unwrap()
            .transition
            .is_none(),
        "nothing saved"
    );
    screen.type_into("transition-start-by", "2027-03-01");
    screen.submit("Moving on");

    let t = core
        .with_client(|c| c.child(SKYE))
        .unwrap()
        .unwrap()
        .transition
        .unwrap();
    assert!(t.needed);
    assert_eq!(t.services, [Agency::AdultSocialWork, Agency::Housing]);
    assert_eq!(t.plan, "Meet the adult carers' team in March");
    assert_eq!(t.start_by, Some("2027-03-01".parse().unwrap()));
    // Back on the child's page, which now says it.
    let html = screen.html();
    assert!(html.contains("<h1>Skye Morrison</h1>"), "{html}");
    assert!(html.contains("Adult social work, Housing"), "{html}");
    assert!(
        html.contains(&esc("Meet the adult carers' team in March")),
        "{html}"
    );
    assert!(!html.contains("No transition plan yet"), "{html}");

    // Opened again, the form holds what was saved.
    let html = Screen::open(core, &format!("/child/{SKYE}/moving-on")).html();
    assert!(html.contains("Last recorded by Morag Fraser"), "{html}");
    assert!(
        html.contains(&esc("Meet the adult carers' team in March")),
        "{html}"
    );
}

#[test]
fn the_moving_on_form_says_kai_is_left_out_when_it_is_withheld_and_fiona_only_reads_it() {
    let (_dir, core) = unlocked_as("Morag");
    let html = Screen::open(core.clone(), &format!("/child/{KAI}/moving-on")).html();
    assert!(html.contains("and Kai in My plan"), "{html}");
    core.with_client(|c| c.withhold(KAI, "transition", "Not agreed with mum yet"))
        .unwrap()
        .unwrap();
    let html = Screen::open(core, &format!("/child/{KAI}/moving-on")).html();
    assert!(html.contains("who-will-see-line\">Your team"), "{html}");
    assert!(!html.contains("and Kai in My plan"), "{html}");

    // A supervisor outside the team reads it, with no form.
    let (_dir, fiona) = unlocked_as("Fiona");
    let html = Screen::open(fiona, &format!("/child/{KAI}/moving-on")).html();
    assert!(html.contains("<h1>Moving on</h1>"), "{html}");
    assert!(
        html.contains(&esc("Only the child's team can change this")),
        "{html}"
    );
    assert!(!html.contains("aria-label=\"Moving on\""), "{html}");
}

#[test]
fn the_caseload_flags_a_young_person_of_15_without_a_transition_plan() {
    use bothy_shared::demo::SKYE;
    let (_dir, core) = unlocked_as("Morag");
    let mut screen = Screen::open(core.clone(), "/caseload");
    let html = screen.html();
    assert!(
        card_with(&html, "Skye Morrison").contains("No transition plan (15 or over)"),
        "{html}"
    );
    // Ruaridh (16) has one; Ellie is 3.
    assert!(
        !card_with(&html, "Ruaridh Paterson").contains("No transition plan"),
        "{html}"
    );
    assert!(
        !card_with(&html, "Ellie Watson").contains("No transition plan"),
        "{html}"
    );

    core.with_client(|c| {
        c.set_transition(
            SKYE,
            &bothy_client::services::TransitionInput {
                needed: false,
                ..Default::default()
            },
        )
    })
    .unwrap()
    .unwrap();
    screen.type_into("caseload-search", "Skye");
    let html = screen.html();
    assert!(html.contains("Skye Morrison"), "{html}");
    assert!(!html.contains("No transition plan"), "{html}");
}

/// Kai's device seeded from a partnership whose plan for Kai says
/// `transition`, withheld from him or not (his copy projected as the
/// server makes it).
fn kai_with_moving_on(withheld: bool) -> (tempfile::TempDir, Device) {
    use bothy_shared::docs::{Text, TransitionPlan, WithheldMarker};
    use bothy_shared::ids::Agency;
    let mut demo = bothy_shared::demo::partnership();
    let kai = demo.children.iter_mut().find(|c| c.id == KAI).unwrap();
    kai.plan.transition = TransitionPlan {
        needed: true,
        adult_services: Text::default(),
        plan: Text::with_value("Visit the college with Mr Reid"),
        start_by: Some("2027-03-01".parse().unwrap()),
        services: vec![Agency::AdultSocialWork, Agency::Housing],
        recorded_by: Some(MORAG),
        recorded_at: None,
    };
    if withheld {
        let id = ItemId::random();
        kai.plan.withheld.insert(
            id,
            WithheldMarker {
                id,
                section: "transition".into(),
                by: MORAG,
                at: bothy_shared::docs::Timestamp(1),
                reason: "Not agreed with mum yet".into(),
            },
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let store = bothy_client::store::Store::create(
        dir.path(),
        &bothy_client::store::Passcode::new(PASSCODE.to_owned()),
        bothy_client::store::KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    let client = bothy_client::Client::seed_from(store, &demo, "Kai").unwrap();
    (dir, Device::unlocked(client))
}

#[test]
fn my_plan_says_moving_on_in_plain_words_and_nothing_when_it_is_withheld() {
    let (_dir, core) = kai_with_moving_on(false);
    let html = Screen::open(core, "/my-plan").html();
    assert!(
        html.contains("<h2 id=\"moving-on-heading\">Moving on</h2>"),
        "{html}"
    );
    assert!(
        html.contains("Getting ready for when you are older: Visit the college with Mr Reid"),
        "{html}"
    );
    assert!(
        html.contains("Who will help: Adult social work, Housing"),
        "{html}"
    );
    assert!(html.contains("Starting by: 1 March 2027"), "{html}");
    // Kai can say what he thinks about it.
    assert!(html.contains("<option value=\"transition\""), "{html}");
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("case") && !lower.contains("subject"),
        "{html}"
    );

    let (_dir, core) = kai_with_moving_on(true);
    let html = Screen::open(core, "/my-plan").html();
    assert!(!html.contains("Moving on"), "{html}");
    assert!(!html.contains("Visit the college"), "{html}");
    assert!(html.contains("private for now"), "{html}");
}

// ---------------------------------------------------------------- requests for help

/// Ewan (a teacher on no team) fills in the "Ask for help" form.
fn ewan_asks(screen: &mut Screen, basis: &str) {
    screen.change("request-to", "social-work");
    screen.type_into("request-name", "Skye Maclean");
    screen.type_into("request-born", "2016-05-01");
    screen.type_into("request-school", "Braeside Primary");
    screen.type_into("request-reason", "Often hungry and tired in class");
    screen.change("request-concern-safe", "true");
    screen.change("request-concern-nurtured", "true");
    screen.type_into("request-views", "Mum agrees help would be good");
    if !basis.is_empty() {
        screen.change("request-basis", basis);
    }
    screen.change("request-urgent", "true");
    screen.submit("Ask for help");
}

#[test]
fn asking_for_help_from_the_caseload_saves_the_request_and_lists_it_with_its_state() {
    let (_dir, core) = unlocked_as("Ewan");
    let screen = Screen::open(core.clone(), "/caseload");
    assert!(screen.html().contains("Ask for help"));
    let mut screen = Screen::open(core.clone(), "/ask-for-help");
    let html = screen.html();
    for words in [
        "Ask which agency",
        "Full name",
        "Date of birth",
        "Why are you asking for help?",
        "Wellbeing concerns",
        "What the child and family think",
        "Consent, or why you share without it",
        "Urgent",
        "Who will see this",
    ] {
        assert!(html.contains(&esc(words)), "{words}: {html}");
    }
    ewan_asks(&mut screen, "wellbeing");
    assert!(screen.html().contains("Saved"), "{}", screen.html());
    let requests = core.with_client(|c| c.requests()).unwrap().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].about, "Skye Maclean");
    assert_eq!(requests[0].state, bothy_shared::docs::RequestState::Sent);
    // The caseload and the list show it with its state.
    for path in ["/caseload", "/requests"] {
        let html = Screen::open(core.clone(), path).html();
        assert!(html.contains("Skye Maclean"), "{path}: {html}");
        assert!(html.contains(">Sent<"), "{path}: {html}");
        assert!(html.contains("To Social work"), "{path}: {html}");
    }
}

#[test]
fn a_request_without_consent_or_a_lawful_basis_is_not_sent_from_the_form() {
    let (_dir, core) = unlocked_as("Ewan");
    let mut screen = Screen::open(core.clone(), "/ask-for-help");
    ewan_asks(&mut screen, "");
    let html = screen.html();
    assert!(html.contains("Not sent"), "{html}");
    assert!(html.contains("request-consent-or-basis"), "{html}");
    assert!(
        core.with_client(|c| c.requests())
            .unwrap()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_childs_page_offers_the_same_form_about_that_child() {
    let (_dir, core) = unlocked_as("Morag");
    let html = Screen::open(core.clone(), &format!("/child/{KAI}")).html();
    assert!(
        html.contains(&format!("/child/{KAI}/ask-for-help")),
        "{html}"
    );
    let html = Screen::open(core, &format!("/child/{KAI}/ask-for-help")).html();
    assert!(html.contains("Kai Robertson"), "{html}");
    // The child is known: no name or date of birth to type.
    assert!(!html.contains("request-name"), "{html}");
}

#[test]
fn the_duty_worker_accepts_after_the_match_check_or_declines_with_a_reason() {
    let (_ewan_dir, ewan) = unlocked_as("Ewan");
    let mut screen = Screen::open(ewan.clone(), "/ask-for-help");
    ewan_asks(&mut screen, "consent");
    let id = ewan.with_client(|c| c.requests()).unwrap().unwrap()[0].id;
    let key = DocKey::Request(id);
    let doc: Automerge = ewan
        .with_client(|c| c.document(&key).map(|d| d.cloned()))
        .unwrap()
        .unwrap()
        .unwrap();

    // As it reaches the duty worker's device.
    let (_dir, catriona) = unlocked_as("Catriona");
    catriona
        .with_client(|c| c.receive_documents(vec![(key, doc)]))
        .unwrap()
        .unwrap();
    let html = Screen::open(catriona.clone(), "/caseload").html();
    assert!(html.contains("From Ewan Stewart"), "{html}");
    assert!(html.contains("Urgent"), "{html}");
    let mut screen = Screen::open(catriona.clone(), &format!("/requests/{id}"));
    let html = screen.html();
    for words in [
        "Often hungry and tired in class",
        "Check for a match",
        "Accept the request",
        "A child new to Bothy",
        "Decline the request",
        "Ask the sender",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    assert!(!html.contains("Withdraw"), "{html}");
    screen.type_into(
        "request-declined",
        "Third sector family support fits better",
    );
    screen.submit("Decline");
    // Closed: what happened is shown, and no step is offered any more.
    let html = screen.html();
    assert!(
        html.contains("Declined by Catriona Munro")
            && html.contains("Third sector family support fits better"),
        "{html}"
    );
    assert!(!html.contains("Accept the request"), "{html}");
    let line = catriona.with_client(|c| c.requests()).unwrap().unwrap()[0].clone();
    assert_eq!(line.state, bothy_shared::docs::RequestState::Declined);
    assert_eq!(
        line.note.as_deref(),
        Some("Third sector family support fits better")
    );
}

// ------------------------------------------------------------ the team

#[test]
fn the_lead_changes_the_team_offline_and_sees_each_change_waiting_to_sync() {
    use bothy_shared::demo::{DAVID, IAIN};
    let (_dir, core) = unlocked_as("Morag");
    let child_page = Screen::open(core.clone(), &format!("/child/{KAI}")).html();
    assert!(
        child_page.contains(&format!("href=\"/child/{KAI}/team\"")),
        "{child_page}"
    );
    let mut screen = Screen::open(core.clone(), &format!("/child/{KAI}/team"));
    let html = screen.html();
    assert!(html.contains("<h1>Team</h1>"), "{html}");
    assert!(
        html.contains("<strong>Morag Fraser</strong>, Social work: lead professional"),
        "{html}"
    );
    assert!(
        html.contains("<strong>David Reid</strong>, Education: named person"),
        "{html}"
    );
    for label in [
        "Who joins the team",
        "Which role",
        "Who takes it on",
        "Whose membership ends",
        "The day it ends",
        "Why it ends",
    ] {
        assert!(
            html.contains(&format!(">{label}</label>")),
            "{label}: {html}"
        );
    }

    // Add Iain, hand the named person role to him, end Priya's membership.
    screen.change("team-add-person", &IAIN.to_string());
    screen.submit("Add to the team");
    screen.change("team-handover-role", "named-person");
    screen.change("team-handover-person", &IAIN.to_string());
    screen.submit("Hand over the role");
    screen.change("team-end-person", &PRIYA.to_string());
    screen.type_into("team-end-reason", "Family support ended");
    screen.submit("End the membership");
    let html = screen.html();
    assert!(html.contains("Waiting to sync"), "{html}");
    assert!(
        html.contains("Add Iain Campbell (Police) as a member"),
        "{html}"
    );
    assert!(
        html.contains("Hand the named person role to Iain Campbell (Police)"),
        "{html}"
    );
    assert!(
        html.contains("End Priya Shah&#39;s membership on")
            || html.contains("End Priya Shah's membership on"),
        "{html}"
    );
    let pending = core
        .with_client(|c| c.team_view(KAI))
        .unwrap()
        .unwrap()
        .pending;
    assert_eq!(pending.len(), 3);
    // The team itself is the server's word: unchanged until it applies them.
    let members = core
        .with_client(|c| c.team_view(KAI))
        .unwrap()
        .unwrap()
        .members;
    assert!(members.iter().any(|m| m.person == PRIYA));
    assert!(members.iter().any(|m| m.person == DAVID));

    // Without a reason nothing is queued, and the form says why.
    screen.change("team-end-person", &PRIYA.to_string());
    screen.submit("End the membership");
    let html = screen.html();
    assert!(html.contains("Not ended: reason"), "{html}");
}

#[test]
fn a_team_member_who_does_not_lead_sees_the_team_without_the_forms() {
    let (_dir, david) = unlocked_as("David");
    let html = Screen::open(david, &format!("/child/{KAI}/team")).html();
    assert!(html.contains("<strong>Priya Shah</strong>"), "{html}");
    assert!(!html.contains("Add to the team"), "{html}");
    assert!(
        html.contains("Only the lead professional or a supervisor of the team"),
        "{html}"
    );
}

/// A seeded store given a device id and key, as enrolment leaves one (the
/// offline demo has none, so it cannot sign an export).
fn unlocked_with_key(name: &str) -> (tempfile::TempDir, Device) {
    use bothy_client::sync::meta;
    let dir = tempfile::tempdir().unwrap();
    let mut client = seeded_client(dir.path(), name);
    let device = client.me().device.to_string();
    let key = bothy_shared::signing::generate_device_key().unwrap();
    client
        .store_mut()
        .put_meta(meta::DEVICE, device.as_bytes())
        .unwrap();
    client.store_mut().put_meta(meta::DEVICE_KEY, &key).unwrap();
    (dir, Device::unlocked(client))
}

/// The files in the data folder's `exports/`, by name.
fn exported(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("exports"))
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The `role="status"` paragraph holding "Saved: FILE": FILE.
fn saved_file(html: &str) -> String {
    let at = html
        .find("role=\"status\">Saved: ")
        .unwrap_or_else(|| panic!("no Saved status: {html}"));
    let rest = &html[at + "role=\"status\">Saved: ".len()..];
    rest[..rest.find('<').unwrap()].to_owned()
}

#[test]
fn the_childs_page_exports_the_teams_plan_or_the_young_persons_and_says_where() {
    let (dir, core) = unlocked_with_key("Morag");
    let mut screen = Screen::open(core, &format!("/child/{KAI}"));
    let html = screen.html();
    assert!(html.contains("Export the plan"), "{html}");
    assert!(exported(dir.path()).is_empty());

    screen.click("Export the team's plan");
    let team = saved_file(&screen.html());
    assert!(
        team.starts_with("plan-kai-robertson-team-") && team.ends_with(".pdf"),
        "{team}"
    );
    assert_eq!(exported(dir.path()), std::slice::from_ref(&team));
    let bytes = std::fs::read(dir.path().join("exports").join(&team)).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let signed = bothy_shared::export::open_export(&bytes).unwrap();
    assert_eq!(
        signed.manifest.audience,
        bothy_shared::export::Audience::Team
    );
    assert_eq!(signed.manifest.child, KAI);

    screen.click("Export the young person's version");
    let young = saved_file(&screen.html());
    assert!(young.contains("-young-person-"), "{young}");
    assert_eq!(exported(dir.path()).len(), 2);
}

#[test]
fn my_plan_saves_the_young_persons_own_plan_or_says_why_not() {
    let (dir, core) = unlocked_with_key("Kai");
    let mut screen = Screen::open(core, "/my-plan");
    screen.click("Export my plan as a PDF");
    let html = screen.html();
    let mine = saved_file(&html);
    assert!(mine.contains("-young-person-"), "{mine}");
    assert_eq!(exported(dir.path()), [mine]);
    assert!(!html.to_lowercase().contains("case"), "{html}");

    // The offline demo has no key to sign with: nothing is saved, and it says so.
    let (dir, core) = unlocked_as("Kai");
    let mut screen = Screen::open(core, "/my-plan");
    screen.click("Export my plan as a PDF");
    let html = screen.html();
    assert!(
        html.contains("role=\"alert\">Not saved: this device has no key to sign with"),
        "{html}"
    );
    assert!(exported(dir.path()).is_empty());
}
