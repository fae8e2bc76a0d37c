#![allow(clippy::unwrap_used, clippy::expect_used)]
use bothy_shared::demo::{self, KAI};
use bothy_shared::docs::*;
use bothy_shared::gate::check_changes;
use bothy_shared::ids::*;
use std::collections::BTreeMap;
use std::time::Instant;
fn main() {
    let demo = demo::partnership();
    let kai = demo.child("Kai").unwrap();
    let key = DocKey::Record(KAI);
    let mut doc = kai.documents(&demo::server_actor()).unwrap().remove(1).1;
    let morag = demo.person("Morag").unwrap().principal(DeviceId::random());
    let actor = morag.device.actor_id();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    for i in 0..n {
        let id = ItemId::random();
        let e = change_document::<RecordDoc, _>(&doc, &key, &actor, "v", |r| { r.visits.insert(id, Visit { id, at: Timestamp::now(), place: "Home".into(), kind: VisitKind::Home, practitioner: morag.person, practitioner_name: "M".into(), agency: Agency::SocialWork, present: vec![], child_seen: true, seen_alone: false, observations: Text::with_value(format!("visit {i} with a fair amount of text in it, as a practitioner would type on a phone")), analysis: Text::default(), child_said: Text::default(), next_steps: Text::default(), linked_actions: vec![], sharing: Sharing::Team, significant: false, finalised: Some(Timestamp::now()), addenda: BTreeMap::new() }); }).unwrap();
        doc = e.doc;
    }
    println!("changes {}", doc.get_changes(&[]).len());
    let t = Instant::now();
    let r: RecordDoc = read_document(&doc, &key).unwrap();
    println!("hydrate {:?}", t.elapsed());
    let t = Instant::now();
    let c = doc.clone();
    println!("clone {:?}", t.elapsed());
    drop(c);
    let t = Instant::now();
    let bytes = doc.save();
    println!("save {:?} {} bytes", t.elapsed(), bytes.len());
    let t = Instant::now();
    let _ = bothy_shared::robust::load_document(&bytes).unwrap();
    println!("load {:?}", t.elapsed());
    let t = Instant::now();
    let _ = automerge::Automerge::load_with_options(
        &bytes,
        automerge::LoadOptions::new().verification_mode(automerge::VerificationMode::DontCheck),
    )
    .unwrap();
    println!("load unchecked {:?}", t.elapsed());
    let vid = *r.visits.keys().next().unwrap();
    let t = Instant::now();
    let v: Option<Visit> = autosurgeon::hydrate_path(
        &doc,
        &automerge::ROOT,
        [
            autosurgeon::Prop::from("visits"),
            autosurgeon::Prop::from(std::borrow::Cow::Owned::<str>(vid.to_string())),
        ],
    )
    .unwrap();
    println!("hydrate one visit {:?}", t.elapsed());
    let mut v = v.unwrap();
    v.observations.update("changed text");
    let mut d2 = doc.clone().with_actor(actor.clone());
    let t = Instant::now();
    {
        use automerge::ReadDoc;
        let mut tx = d2.transaction();
        let visits = tx.get(automerge::ROOT, "visits").unwrap().unwrap().1;
        autosurgeon::reconcile_prop(&mut tx, &visits, vid.to_string().as_str(), &v).unwrap();
        tx.commit();
    }
    println!("reconcile one visit {:?}", t.elapsed());
    let t = Instant::now();
    let p: PlanDoc = read_document(
        &kai.documents(&demo::server_actor()).unwrap().remove(0).1,
        &DocKey::Plan(KAI),
    )
    .unwrap();
    println!("hydrate demo plan {:?}", t.elapsed());
    drop(p);
    let id = ItemId::random();
    let mut r2 = r.clone();
    r2.visits
        .insert(id, r.visits.values().next().unwrap().clone());
    {
        let v = r2.visits.get_mut(&id).unwrap();
        v.id = id;
        v.observations = Text::with_value("new");
        v.analysis = Text::default();
        v.child_said = Text::default();
        v.next_steps = Text::default();
    }
    let t = Instant::now();
    let (after, ch) = commit_document(&doc, &key, &actor, "x", &r2).unwrap();
    println!("commit(reconcile) {:?}", t.elapsed());
    let ch = ch.unwrap();
    let t = Instant::now();
    check_changes(&key, &doc, &[ch], &morag, &kai.team).unwrap();
    println!("gate {:?}", t.elapsed());
    let _ = after;
}
