//! The gate's limits (`bothy_shared::gate::limits`): how deep, how many
//! operations, how long a value; each refused by its rule, from the changes
//! alone, on the server's path (`check_changes`, `check_bounds`) and the
//! device's (`check_applied`) alike; and the largest changes an honest
//! device makes still pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is a failed test

use std::time::Instant;

use automerge::transaction::Transactable;
use automerge::{Automerge, Change, ObjId, ObjType, ROOT, ReadDoc};
use bothy_shared::demo::{self, KAI};
use bothy_shared::docs::{DocKey, PlanDoc, Text, Timestamp, ViewEntry, change_document};
use bothy_shared::gate::limits::{MAX_DEPTH, MAX_OPS_PER_BATCH, MAX_OPS_PER_CHANGE, MAX_VALUE_LEN};
use bothy_shared::gate::{GateError, check_applied, check_bounds, check_changes};
use bothy_shared::ids::{DeviceId, ItemId};
use bothy_shared::policy::{ChildTeam, Principal, Rule};

struct Kai {
    key: DocKey,
    doc: Automerge,
    team: ChildTeam,
    kai: Principal,
    /// The map of Kai's own view in his copy of the plan.
    view: ObjId,
}

/// Kai's copy of his plan and Kai on his own device, with a view of his own.
fn kai() -> Kai {
    let demo = demo::partnership();
    let child = demo.child("Kai").unwrap().clone();
    let key = DocKey::Young(KAI, 1);
    let doc = child
        .documents(&demo::server_actor())
        .unwrap()
        .into_iter()
        .find(|(k, _)| *k == key)
        .unwrap()
        .1;
    let kai = demo.person("Kai").unwrap().principal(DeviceId::random());
    let views = doc.get(ROOT, "young_person_views").unwrap().unwrap().1;
    let mine = doc
        .keys(&views)
        .find(|id| {
            let v = doc.get(&views, id.as_str()).unwrap().unwrap().1;
            matches!(doc.get(&v, "author").unwrap(), Some((automerge::Value::Scalar(s), _))
                if s.as_str() == Some(kai.person.to_string().as_str()))
        })
        .expect("Kai has a view of his own");
    let view = doc.get(&views, mine.as_str()).unwrap().unwrap().1;
    Kai {
        key,
        doc,
        team: child.team,
        kai,
        view,
    }
}

/// One change made on Kai's device by `f`.
fn change(k: &Kai, f: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) -> Vec<Change> {
    let mut doc = k.doc.clone().with_actor(k.kai.device.actor_id());
    let heads = doc.get_heads();
    let mut tx = doc.transaction();
    f(&mut tx);
    tx.commit();
    doc.get_changes(&heads)
}

/// A chain of `depth` nested maps under Kai's view.
fn chain(k: &Kai, depth: usize) -> Vec<Change> {
    let view = k.view.clone();
    change(k, move |tx| {
        let mut o = view;
        for _ in 0..depth {
            o = tx.put_object(&o, "deeper", ObjType::Map).unwrap();
        }
    })
}

fn rule_of(r: Result<Automerge, GateError>) -> Rule {
    match r {
        Err(GateError::Rejected(r)) => r.rule,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_chain_of_fifty_thousand_maps_is_refused_before_it_is_applied() {
    let k = kai();
    let changes = chain(&k, 50_000);
    let started = Instant::now();
    let got = check_changes(&k.key, &k.doc, &changes, &k.kai, &k.team);
    let took = started.elapsed();
    assert_eq!(rule_of(got), Rule::ObjectTooDeep);
    println!(
        "a 50,000-deep chain ({} bytes) refused by the gate in {took:?}",
        changes[0].raw_bytes().len()
    );
    // The server's check before it applies anything, and the device's
    // check of a change it has applied, refuse it the same way.
    let GateError::Rejected(r) = check_bounds(&k.doc, &changes).unwrap_err() else {
        panic!()
    };
    assert_eq!(r.rule, Rule::ObjectTooDeep);
    let mut after = k.doc.clone();
    after.apply_changes(changes.clone()).unwrap();
    assert_eq!(
        rule_of(check_applied(
            &k.key, &k.doc, after, &changes, &k.kai, &k.team
        )),
        Rule::ObjectTooDeep
    );
}

#[test]
fn a_chain_to_the_deepest_allowed_object_passes_and_one_more_is_refused() {
    let k = kai();
    // The view is at depth 2 (`young_person_views/<id>`).
    let allowed = MAX_DEPTH - 2;
    check_changes(&k.key, &k.doc, &chain(&k, allowed), &k.kai, &k.team)
        .expect("a chain to MAX_DEPTH passes");
    assert_eq!(
        rule_of(check_changes(
            &k.key,
            &k.doc,
            &chain(&k, allowed + 1),
            &k.kai,
            &k.team
        )),
        Rule::ObjectTooDeep
    );
}

#[test]
fn a_chain_built_over_two_batches_is_refused_when_it_passes_the_limit() {
    let k = kai();
    let first = chain(&k, MAX_DEPTH - 2);
    let doc = check_changes(&k.key, &k.doc, &first, &k.kai, &k.team).unwrap();
    // Find the deepest map and go one further.
    let mut o = k.view.clone();
    while let Some((_, next)) = doc.get(&o, "deeper").unwrap() {
        o = next;
    }
    let k2 = Kai {
        doc: doc.clone(),
        view: o,
        ..k
    };
    let second = change(&k2, |tx| {
        let here = k2.view.clone();
        tx.put_object(&here, "deeper", ObjType::Map).unwrap();
    });
    assert_eq!(
        rule_of(check_changes(&k2.key, &doc, &second, &k2.kai, &k2.team)),
        Rule::ObjectTooDeep
    );
}

#[test]
fn a_five_megabyte_view_is_refused() {
    let k = kai();
    let five_mb = "a".repeat(5 * 1024 * 1024);
    // As the app writes a view: its words are a text, one operation per
    // character, so a text over the limit is a change over the limit (5 MB
    // of it would take the test a gigabyte to make; the refusal is the same).
    let too_long = "a".repeat(MAX_OPS_PER_CHANGE + 1);
    let new_id = ItemId::random();
    let as_text = change_document::<PlanDoc, _>(
        &k.doc,
        &k.key,
        &k.kai.device.actor_id(),
        "a long view",
        |d| {
            d.young_person_views.insert(
                new_id,
                ViewEntry {
                    id: new_id,
                    about: "overall".into(),
                    words: Text::with_value(&too_long),
                    said_by: "Kai".into(),
                    author: k.kai.person,
                    at: Timestamp(1),
                },
            );
        },
    )
    .unwrap()
    .change
    .into_iter()
    .collect::<Vec<_>>();
    let started = Instant::now();
    assert_eq!(
        rule_of(check_changes(&k.key, &k.doc, &as_text, &k.kai, &k.team)),
        Rule::ChangeTooLarge
    );
    println!(
        "a view of {} characters refused in {:?}",
        too_long.len(),
        started.elapsed()
    );
    // 5 MB as one string value put in the view.
    let view = k.view.clone();
    let as_string = change(&k, |tx| {
        tx.put(&view, "said_by", five_mb.as_str()).unwrap();
    });
    assert_eq!(
        rule_of(check_changes(&k.key, &k.doc, &as_string, &k.kai, &k.team)),
        Rule::ValueTooLarge
    );
}

#[test]
fn a_change_of_too_many_operations_is_refused_and_one_at_the_limit_is_not_for_its_size() {
    let k = kai();
    let view = k.view.clone();
    let many = |n: usize| {
        let view = view.clone();
        change(&k, move |tx| {
            let o = tx.put_object(&view, "many", ObjType::Map).unwrap();
            // The map itself is one operation.
            for i in 0..n - 1 {
                tx.put(&o, format!("k{i}"), 1_i64).unwrap();
            }
        })
    };
    let over = many(MAX_OPS_PER_CHANGE + 1);
    assert_eq!(over[0].len(), MAX_OPS_PER_CHANGE + 1);
    assert_eq!(
        rule_of(check_changes(&k.key, &k.doc, &over, &k.kai, &k.team)),
        Rule::ChangeTooLarge
    );
    let at = many(MAX_OPS_PER_CHANGE);
    check_bounds(&k.doc, &at).expect("a change at the limit is within it");
}

#[test]
fn the_changes_of_one_batch_are_bounded_together() {
    let k = kai();
    let mut doc = k.doc.clone().with_actor(k.kai.device.actor_id());
    let heads = doc.get_heads();
    let per = MAX_OPS_PER_CHANGE;
    for n in 0..=(MAX_OPS_PER_BATCH / per) {
        let mut tx = doc.transaction();
        let o = tx
            .put_object(&k.view, format!("batch{n}"), ObjType::Map)
            .unwrap();
        for i in 0..per - 1 {
            tx.put(&o, format!("k{i}"), 1_i64).unwrap();
        }
        tx.commit();
    }
    let changes = doc.get_changes(&heads);
    assert!(changes.iter().all(|c| c.len() <= MAX_OPS_PER_CHANGE));
    let GateError::Rejected(r) = check_bounds(&k.doc, &changes).unwrap_err() else {
        panic!()
    };
    assert_eq!(r.rule, Rule::ChangeTooLarge);
    // Named: the change that went over.
    assert_eq!(r.change, changes.last().unwrap().hash());
}

#[test]
fn a_text_that_grows_past_the_limit_over_several_batches_is_refused() {
    let k = kai();
    let words = k.doc.get(&k.view, "words").unwrap().unwrap().1;
    let first = {
        let words = words.clone();
        change(&k, move |tx| {
            tx.splice_text(&words, 0, 0, &"a".repeat(MAX_VALUE_LEN - 1_000))
                .unwrap();
        })
    };
    let doc = check_changes(&k.key, &k.doc, &first, &k.kai, &k.team)
        .expect("a text just under the limit passes");
    let k2 = Kai {
        doc: doc.clone(),
        ..k
    };
    let second = change(&k2, move |tx| {
        tx.splice_text(&words, 0, 0, &"b".repeat(2_000)).unwrap();
    });
    let got = check_changes(&k2.key, &doc, &second, &k2.kai, &k2.team);
    match got {
        Err(GateError::Rejected(r)) => {
            assert_eq!(r.rule, Rule::ValueTooLarge);
            assert!(r.path.ends_with("/words"), "{}", r.path);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn every_demo_document_is_well_within_the_depth_limit() {
    let demo = demo::partnership();
    let mut deepest = 0;
    for child in &demo.children {
        for (_, doc) in child.documents(&demo::server_actor()).unwrap() {
            let mut stack = vec![(ROOT, 0usize)];
            while let Some((o, d)) = stack.pop() {
                deepest = deepest.max(d);
                for item in doc.map_range(&o, ..) {
                    if matches!(item.value, automerge::ValueRef::Object(_)) {
                        stack.push((item.id(), d + 1));
                    }
                }
                for item in doc.list_range(&o, ..) {
                    if matches!(item.value, automerge::ValueRef::Object(_)) {
                        stack.push((item.id(), d + 1));
                    }
                }
            }
        }
    }
    println!("deepest object in the demo documents: {deepest}");
    assert!(deepest > 0 && deepest * 2 <= MAX_DEPTH, "deepest {deepest}");
}
