//! Refused work set aside on a real encrypted store (issue 15): the refused
//! change is kept with its words, the later edits are remade and left to
//! send, a repeat changes nothing, and a crash part way (the store refuses
//! to write, as a power cut would stop it) leaves the device exactly as it
//! was: one transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;

use automerge::ChangeHash;
use bothy_client::Client;
use bothy_client::services::VisitDraft;
use bothy_client::store::{KdfParams, Passcode, Store};
use bothy_client::sync::RefusedChanges;
use bothy_shared::demo::ELLIE;
use bothy_shared::docs::DocKey;
use tempfile::TempDir;

const PASS: &str = "a passcode";

fn morag() -> (TempDir, Client) {
    let dir = TempDir::new().unwrap();
    let store = Store::create(
        dir.path(),
        &Passcode::new(PASS.into()),
        KdfParams::insecure_fast_for_tests(),
    )
    .unwrap();
    (dir, Client::seed_demo(store, "Morag").unwrap())
}

fn visit(client: &mut Client, words: &str) {
    let mut d = VisitDraft::new(ELLIE);
    d.observations = words.into();
    client.save_visit(&d, true).unwrap();
}

fn visits_saying(client: &mut Client, words: &str) -> usize {
    client
        .child(ELLIE)
        .unwrap()
        .recent_visits
        .iter()
        .filter(|v| v.observations.contains(words))
        .count()
}

#[test]
fn refused_work_is_set_aside_once_all_or_nothing_and_later_edits_are_remade() {
    let (dir, mut client) = morag();
    visit(&mut client, "REFUSED words the server would not take");
    let key: DocKey = client.store().docs_with_unacknowledged_changes().unwrap()[0]
        .parse()
        .unwrap();
    let refused_hash = {
        let pending = client
            .store()
            .unacknowledged_changes(&key.to_string())
            .unwrap();
        ChangeHash::try_from(pending.last().unwrap().hash.as_slice()).unwrap()
    };
    for i in 0..10 {
        visit(&mut client, &format!("HONEST visit {i}"));
    }
    let unsynced = client.unsynced_changes().unwrap();
    let refused = RefusedChanges {
        key,
        hashes: BTreeSet::from([refused_hash]),
        rule: "finalised-visit-addendum-only".into(),
        path: "visits".into(),
        explanation: "A finalised visit is never edited.".into(),
    };

    // A crash part way: the refusal cannot be written, so nothing is.
    client
        .store()
        .connection()
        .execute_batch(
            "CREATE TEMP TRIGGER power_cut BEFORE INSERT ON rejections
             BEGIN SELECT RAISE(ABORT, 'power cut'); END;",
        )
        .unwrap();
    assert!(client.set_aside_refused(&refused).is_err());
    assert!(client.store().rejections().unwrap().is_empty());
    assert_eq!(client.unsynced_changes().unwrap(), unsynced);
    assert_eq!(visits_saying(&mut client, "REFUSED"), 1);
    client
        .store()
        .connection()
        .execute_batch("DROP TRIGGER temp.power_cut;")
        .unwrap();

    let outcome = client.set_aside_refused(&refused).unwrap().unwrap();
    assert_eq!((outcome.set_aside, outcome.remade), (1, 10));
    assert_eq!(visits_saying(&mut client, "REFUSED"), 0);
    assert_eq!(visits_saying(&mut client, "HONEST"), 10, "no edit lost");
    assert_eq!(client.unsynced_changes().unwrap(), unsynced - 1);
    let kept = client.refused_work().unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].words.contains("REFUSED words"), "{}", kept[0].words);
    assert_eq!(kept[0].change, hex::encode(refused_hash.0));
    assert_eq!(client.refused_work_of(ELLIE).unwrap().len(), 1);

    // Again: nothing left to set aside, nothing recorded twice.
    assert!(client.set_aside_refused(&refused).unwrap().is_none());
    assert_eq!(client.refused_work().unwrap().len(), 1);

    // Saved: the same after locking and opening again.
    client.lock().unwrap();
    let store = Store::unlock(dir.path(), &Passcode::new(PASS.into())).unwrap();
    let mut client = Client::open(store).map_err(|(_, e)| e).unwrap();
    assert_eq!(visits_saying(&mut client, "HONEST"), 10);
    assert_eq!(visits_saying(&mut client, "REFUSED"), 0);
    assert_eq!(client.unsynced_changes().unwrap(), unsynced - 1);
    let kept = client.store().rejections().unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].bytes.is_some());
}
