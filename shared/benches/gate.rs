//! The change gate on the largest changes it lets through, and on the deep
//! chain it refuses: what one `/v1/sync` message can make the server do
//! while it holds the document's lock (`docs/performance.md`, "The gate's
//! worst case").
//!
//! ```text
//! cargo bench -p bothy-shared --bench gate
//! ```

// A benchmark is a test harness: a failed setup must abort the run loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use automerge::transaction::Transactable;
use automerge::{Automerge, Change, ObjId, ObjType, ROOT, ReadDoc};
use bothy_shared::demo::{self, KAI, KAI_YP};
use bothy_shared::docs::DocKey;
use bothy_shared::gate::check_changes;
use bothy_shared::gate::limits::{MAX_DEPTH, MAX_OPS_PER_CHANGE};
use bothy_shared::ids::DeviceId;
use bothy_shared::policy::{ChildTeam, Principal};
use criterion::{Criterion, criterion_group, criterion_main};

struct Kai {
    key: DocKey,
    doc: Automerge,
    team: ChildTeam,
    kai: Principal,
    view: ObjId,
}

fn kai() -> Kai {
    let demo = demo::partnership();
    let child = demo.child("Kai").expect("Kai").clone();
    let key = DocKey::Young(KAI, 1);
    let doc = child
        .documents(&demo::server_actor())
        .expect("documents")
        .into_iter()
        .find(|(k, _)| *k == key)
        .expect("Kai's copy")
        .1;
    let kai = demo
        .person("Kai")
        .expect("Kai")
        .principal(DeviceId::random());
    let views = doc.get(ROOT, "young_person_views").unwrap().unwrap().1;
    let view = doc
        .map_range(&views, ..)
        .find(|v| {
            let v = v.id();
            matches!(doc.get(&v, "author").unwrap(), Some((automerge::Value::Scalar(s), _))
                if s.as_str() == Some(KAI_YP.to_string().as_str()))
        })
        .expect("Kai's own view")
        .id();
    Kai {
        key,
        doc,
        team: child.team,
        kai,
        view,
    }
}

fn change(k: &Kai, f: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) -> Vec<Change> {
    let mut doc = k.doc.clone().with_actor(k.kai.device.actor_id());
    let heads = doc.get_heads();
    let mut tx = doc.transaction();
    f(&mut tx);
    tx.commit();
    doc.get_changes(&heads)
}

fn gate(c: &mut Criterion) {
    let k = kai();
    // The worst allowed: one change of MAX_OPS_PER_CHANGE operations, each
    // making a new map at the deepest allowed level (every one a new path
    // for the gate to resolve and check), in the young person's own view.
    let deepest = {
        let view = k.view.clone();
        change(&k, move |tx| {
            let mut o = view;
            // The view is at depth 2; go to one above the deepest.
            for _ in 0..(MAX_DEPTH - 3) {
                o = tx.put_object(&o, "deeper", ObjType::Map).unwrap();
            }
            for i in 0..(MAX_OPS_PER_CHANGE - (MAX_DEPTH - 3)) {
                tx.put_object(&o, format!("m{i}"), ObjType::Map).unwrap();
            }
        })
    };
    assert_eq!(deepest[0].len(), MAX_OPS_PER_CHANGE);
    check_changes(&k.key, &k.doc, &deepest, &k.kai, &k.team).expect("allowed");
    // A text of MAX_OPS_PER_CHANGE characters typed into the view.
    let typed = {
        let words = k.doc.get(&k.view, "words").unwrap().unwrap().1;
        change(&k, move |tx| {
            tx.splice_text(&words, 0, 0, &"a".repeat(MAX_OPS_PER_CHANGE - 1_000))
                .unwrap();
        })
    };
    check_changes(&k.key, &k.doc, &typed, &k.kai, &k.team).expect("allowed");
    // The attack of issue 16: a 4,000-deep chain (3.2 s and 326 MiB before).
    let chain = {
        let view = k.view.clone();
        change(&k, move |tx| {
            let mut o = view;
            for _ in 0..4_000 {
                o = tx.put_object(&o, "deeper", ObjType::Map).unwrap();
            }
        })
    };
    check_changes(&k.key, &k.doc, &chain, &k.kai, &k.team).expect_err("refused");

    let mut group = c.benchmark_group("gate");
    group.sample_size(10);
    group.bench_function(
        "worst allowed: 100,000 new maps at the deepest level",
        |b| b.iter(|| black_box(check_changes(&k.key, &k.doc, &deepest, &k.kai, &k.team))),
    );
    group.bench_function("a text of 99,000 characters typed in one change", |b| {
        b.iter(|| black_box(check_changes(&k.key, &k.doc, &typed, &k.kai, &k.team)))
    });
    group.bench_function("a 4,000-deep chain (refused)", |b| {
        b.iter(|| black_box(check_changes(&k.key, &k.doc, &chain, &k.kai, &k.team)))
    });
    group.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
