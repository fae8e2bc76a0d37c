//! Property: 2 to 5 replicas make random allowed edits offline (including
//! concurrent edits to the same action, the same text and the same lists),
//! then merge in random orders. Every replica and the server converge to the
//! same hydrated value, the server's gate accepts every honest batch, and no
//! created item or inserted text is lost.
//!
//! Seeded and replayable: `BOTHY_SEED=<n>` replays a run (the seed is
//! printed); `BOTHY_CASES=<n>` sets how many cases run (default 60).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is a failed test

use std::collections::BTreeMap;

use automerge::{Automerge, Change};
use bothy_shared::demo::{self, KAI};
use bothy_shared::docs::*;
use bothy_shared::gate::check_changes;
use bothy_shared::ids::{Agency, DeviceId, ItemId};
use bothy_shared::policy::{ChildTeam, Principal};
use bothy_shared::robust;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SHARED_ACTION: u128 = 11;
const SHARED_NEED: u128 = 10;

fn iid(n: u128) -> ItemId {
    ItemId(uuid::Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_0000 | n,
    ))
}

fn seed() -> u64 {
    let seed = std::env::var("BOTHY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("convergence seed: BOTHY_SEED={seed}");
    seed
}

/// What a replica created or wrote, to check after the merge.
#[derive(Default)]
struct Made {
    /// (document, collection, id)
    items: Vec<(DocKey, &'static str, ItemId)>,
    /// Tokens inserted into the plan's reason.
    reason_tokens: Vec<String>,
    /// Tokens inserted into the shared action's progress.
    progress_tokens: Vec<String>,
    /// Tokens appended to an item's text: (doc, visit or view id, token).
    item_tokens: Vec<(DocKey, ItemId, String)>,
}

struct Replica {
    who: Principal,
    docs: BTreeMap<DocKey, Automerge>,
    made: Made,
}

impl Replica {
    fn edit<T: CaseDocument>(
        &mut self,
        rng: &mut ChaCha8Rng,
        team: &ChildTeam,
        key: DocKey,
        f: impl FnOnce(&mut T, &mut ChaCha8Rng),
    ) {
        let before = &self.docs[&key];
        let edited =
            change_document::<T, _>(before, &key, &self.who.device.actor_id(), "edit", |d| {
                f(d, rng)
            })
            .unwrap_or_else(|e| panic!("edit of {key} failed: {e}"));
        if let Some(change) = edited.change {
            // The device checks its own change with the same gate the server runs.
            let after = check_changes(&key, before, std::slice::from_ref(&change), &self.who, team)
                .unwrap_or_else(|e| panic!("an honest edit was refused: {e}"));
            assert_eq!(after.get_heads(), edited.doc.get_heads());
            self.docs.insert(key, edited.doc);
        }
    }
}

fn token(r: usize, n: usize) -> String {
    format!("[r{r}e{n}]")
}

/// Insert `s` at a random place in `text` that is not inside an earlier token,
/// so every token can be found whole after the merge.
fn insert_at_char(text: &mut Text, rng: &mut ChaCha8Rng, s: &str) {
    let mut depth = 0;
    let mut places = Vec::new();
    for (b, c) in text.as_str().char_indices() {
        if depth == 0 {
            places.push(b);
        }
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
    }
    places.push(text.as_str().len());
    let byte = *places.choose(rng).unwrap_or(&0);
    text.splice(byte, 0, s);
}

fn random_edit(r: usize, n: usize, rep: &mut Replica, rng: &mut ChaCha8Rng, team: &ChildTeam) {
    let me = rep.who.person;
    let agency = rep.who.agency.unwrap_or(Agency::SocialWork);
    let plan = DocKey::Plan(KAI);
    let record = DocKey::Record(KAI);
    let tok = token(r, n);
    let is_young_person = rep.who.agency.is_none();
    if is_young_person {
        let own: Vec<ItemId> = rep
            .made
            .items
            .iter()
            .filter(|(_, c, _)| *c == "young_person_views")
            .map(|(_, _, id)| *id)
            .collect();
        if own.is_empty() || rng.gen_bool(0.5) {
            let id = ItemId::random();
            rep.edit::<PlanDoc>(rng, team, plan, |d, _| {
                d.young_person_views.insert(
                    id,
                    ViewEntry {
                        id,
                        about: "overall".into(),
                        words: Text::with_value(&tok),
                        said_by: "Kai".into(),
                        author: me,
                        at: Timestamp::now(),
                    },
                );
            });
            rep.made.items.push((plan, "young_person_views", id));
        } else {
            let id = *own.choose(rng).unwrap_or(&own[0]);
            let t = tok.clone();
            rep.edit::<PlanDoc>(rng, team, plan, |d, rng| {
                insert_at_char(
                    &mut d.young_person_views.get_mut(&id).unwrap().words,
                    rng,
                    &t,
                )
            });
            rep.made.item_tokens.push((plan, id, tok));
        }
        return;
    }
    match rng.gen_range(0..10) {
        0 => {
            let t = tok.clone();
            rep.edit::<PlanDoc>(rng, team, plan, |d, rng| {
                insert_at_char(&mut d.reason, rng, &t)
            });
            rep.made.reason_tokens.push(tok);
        }
        1 => {
            let t = tok.clone();
            rep.edit::<PlanDoc>(rng, team, plan, |d, rng| {
                insert_at_char(
                    &mut d.action_mut(iid(SHARED_ACTION)).unwrap().progress,
                    rng,
                    &t,
                )
            });
            rep.made.progress_tokens.push(tok);
        }
        2 => rep.edit::<PlanDoc>(rng, team, plan, |d, rng| {
            d.action_mut(iid(SHARED_ACTION)).unwrap().status =
                *ActionStatus::ALL.choose(rng).unwrap_or(&ActionStatus::Done);
        }),
        3 => {
            let (need, action) = (ItemId::random(), ItemId::random());
            rep.edit::<PlanDoc>(rng, team, plan, |d, _| {
                let mut actions = BTreeMap::new();
                actions.insert(
                    action,
                    Action {
                        id: action,
                        what: Text::with_value(&tok),
                        owner: None,
                        due: None,
                        status: ActionStatus::NotStarted,
                        progress: Text::default(),
                    },
                );
                d.needs.insert(
                    need,
                    Need {
                        id: need,
                        need: Text::with_value(&tok),
                        indicators: vec![Indicator::Healthy],
                        desired_outcome: Text::default(),
                        evidence: Text::default(),
                        actions,
                        created_by: me,
                        created_at: Timestamp::now(),
                        closed: None,
                    },
                );
            });
            rep.made.items.push((plan, "needs", need));
        }
        4 => {
            let action = ItemId::random();
            rep.edit::<PlanDoc>(rng, team, plan, |d, _| {
                d.needs.get_mut(&iid(SHARED_NEED)).unwrap().actions.insert(
                    action,
                    Action {
                        id: action,
                        what: Text::with_value(&tok),
                        owner: None,
                        due: None,
                        status: ActionStatus::NotStarted,
                        progress: Text::default(),
                    },
                );
            });
            rep.made.items.push((plan, "actions", action));
        }
        5 => {
            let id = ItemId::random();
            rep.edit::<PlanDoc>(rng, team, plan, |d, rng| {
                let ind = *Indicator::ALL.choose(rng).unwrap_or(&Indicator::Safe);
                let score = rng.gen_range(1..=10);
                d.wellbeing.get_mut(ind).ratings.insert(
                    id,
                    Rating {
                        id,
                        score,
                        on: IsoDate::today(),
                        by: me,
                        agency,
                        recorded_at: Timestamp::now(),
                        note: String::new(),
                    },
                );
            });
            rep.made.items.push((plan, "ratings", id));
        }
        6 | 7 => {
            // A new visit, or more words in one of my drafts, or finalising it, or an addendum.
            let mine: Vec<ItemId> = rep
                .made
                .items
                .iter()
                .filter(|(_, c, _)| *c == "visits")
                .map(|(_, _, id)| *id)
                .collect();
            let rec: RecordDoc = read_document(&rep.docs[&record], &record).unwrap();
            match mine.choose(rng).copied() {
                Some(id) if rng.gen_bool(0.7) => {
                    let finalised = rec.visits[&id].is_finalised();
                    if finalised {
                        let aid = ItemId::random();
                        rep.edit::<RecordDoc>(rng, team, record, |d, _| {
                            d.visits.get_mut(&id).unwrap().addenda.insert(
                                aid,
                                Addendum {
                                    id: aid,
                                    by: me,
                                    by_name: "me".into(),
                                    agency,
                                    at: Timestamp::now(),
                                    reason: "correction".into(),
                                    text: Text::with_value(&tok),
                                },
                            );
                        });
                        rep.made.items.push((record, "addenda", aid));
                    } else if rng.gen_bool(0.2) {
                        rep.edit::<RecordDoc>(rng, team, record, |d, _| {
                            d.visits.get_mut(&id).unwrap().finalised = Some(Timestamp::now())
                        });
                    } else {
                        let t = tok.clone();
                        rep.edit::<RecordDoc>(rng, team, record, |d, rng| {
                            let v = d.visits.get_mut(&id).unwrap();
                            insert_at_char(&mut v.observations, rng, &t);
                            v.present.push(t.clone());
                        });
                        rep.made.item_tokens.push((record, id, tok));
                    }
                }
                _ => {
                    let id = ItemId::random();
                    rep.edit::<RecordDoc>(rng, team, record, |d, _| {
                        d.visits.insert(
                            id,
                            Visit {
                                id,
                                at: Timestamp::now(),
                                place: "Home".into(),
                                kind: VisitKind::Home,
                                practitioner: me,
                                practitioner_name: "me".into(),
                                agency,
                                present: vec![],
                                child_seen: true,
                                seen_alone: false,
                                observations: Text::with_value(&tok),
                                analysis: Text::default(),
                                child_said: Text::default(),
                                next_steps: Text::default(),
                                linked_actions: vec![iid(SHARED_ACTION)],
                                sharing: Sharing::Team,
                                significant: false,
                                finalised: None,
                                addenda: BTreeMap::new(),
                            },
                        );
                    });
                    rep.made.items.push((record, "visits", id));
                }
            }
        }
        8 => {
            let id = ItemId::random();
            rep.edit::<RecordDoc>(rng, team, record, |d, _| {
                d.chronology.insert(
                    id,
                    ChronologyEntry {
                        id,
                        date: IsoDate::today(),
                        until: None,
                        event: Text::with_value(&tok),
                        source_agency: agency,
                        impact: Impact::NotKnown,
                        impact_note: Text::default(),
                        action: Text::default(),
                        significance: Significance::Significant,
                        recorded_by: me,
                        from_visit: None,
                    },
                );
            });
            rep.made.items.push((record, "chronology", id));
        }
        _ => {
            let id = ItemId::random();
            rep.edit::<PlanDoc>(rng, team, plan, |d, _| {
                d.family_views.insert(
                    id,
                    ViewEntry {
                        id,
                        about: "overall".into(),
                        words: Text::with_value(&tok),
                        said_by: "Lisa (mum)".into(),
                        author: me,
                        at: Timestamp::now(),
                    },
                );
            });
            rep.made.items.push((plan, "family_views", id));
        }
    }
}

fn item_exists(plan: &PlanDoc, record: &RecordDoc, collection: &str, id: ItemId) -> bool {
    match collection {
        "young_person_views" => plan.young_person_views.contains_key(&id),
        "family_views" => plan.family_views.contains_key(&id),
        "needs" => plan.needs.contains_key(&id),
        "actions" => plan.action(id).is_some(),
        "ratings" => Indicator::ALL
            .iter()
            .any(|i| plan.wellbeing.get(*i).ratings.contains_key(&id)),
        "visits" => record.visits.contains_key(&id),
        "addenda" => record.visits.values().any(|v| v.addenda.contains_key(&id)),
        "chronology" => record.chronology.contains_key(&id),
        other => panic!("unknown collection {other}"),
    }
}

#[test]
fn replicas_converge_and_lose_nothing() {
    let seed = seed();
    let cases: usize = std::env::var("BOTHY_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let demo = demo::partnership();
    let kai = demo.child("Kai").unwrap();
    let base: BTreeMap<DocKey, Automerge> = kai
        .documents(&demo::server_actor())
        .unwrap()
        .into_iter()
        .filter(|(k, _)| matches!(k, DocKey::Plan(_) | DocKey::Record(_)))
        .collect();
    // The young person writes their own copy of the plan, which only the
    // server writes into the plan (`young/<child>/<n>`): not a replica here.
    let people = ["Morag", "David", "Priya"];
    let mut total_edits = 0;
    for case in 0..cases {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(case as u64));
        let n = rng.gen_range(2..=5);
        // Replicas: up to three different people, the others second devices of them.
        let mut replicas: Vec<Replica> = (0..n)
            .map(|i| Replica {
                who: demo
                    .person(people[i % people.len()])
                    .unwrap()
                    .principal(DeviceId::random()),
                docs: base.clone(),
                made: Made::default(),
            })
            .collect();
        for (r, rep) in replicas.iter_mut().enumerate() {
            let edits = rng.gen_range(1..=12);
            for e in 0..edits {
                random_edit(r, e, rep, &mut rng, &kai.team);
                total_edits += 1;
            }
        }

        // The server receives each replica's batch, in random order, through the gate.
        let mut server = base.clone();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        for &r in &order {
            for (key, doc) in &replicas[r].docs {
                let batch = doc.get_changes(&base[key].get_heads());
                if batch.is_empty() {
                    continue;
                }
                let before = &server[key];
                let after = check_changes(key, before, &batch, &replicas[r].who, &kai.team)
                    .unwrap_or_else(|e| {
                        panic!("case {case}: server refused replica {r}'s honest batch: {e}")
                    });
                server.insert(*key, after);
            }
        }

        // Every replica receives everyone else's changes in random order and batch sizes.
        let all: BTreeMap<DocKey, Vec<Change>> = base
            .keys()
            .map(|k| {
                (
                    *k,
                    replicas
                        .iter()
                        .flat_map(|rep| rep.docs[k].get_changes(&base[k].get_heads()))
                        .collect(),
                )
            })
            .collect();
        for rep in replicas.iter_mut() {
            for (key, changes) in &all {
                let mut changes = changes.clone();
                changes.shuffle(&mut rng);
                let mut doc = rep.docs[key].clone();
                while !changes.is_empty() {
                    let take = rng.gen_range(1..=changes.len());
                    let batch: Vec<Change> = changes.drain(..take).collect();
                    doc = robust::apply_changes(&doc, &batch).unwrap();
                }
                rep.docs.insert(*key, doc);
            }
        }

        let plan_key = DocKey::Plan(KAI);
        let record_key = DocKey::Record(KAI);
        let server_plan: PlanDoc = read_document(&server[&plan_key], &plan_key).unwrap();
        let server_record: RecordDoc = read_document(&server[&record_key], &record_key).unwrap();
        for (r, rep) in replicas.iter().enumerate() {
            for key in base.keys() {
                let mut a = rep.docs[key].get_heads();
                let mut b = server[key].get_heads();
                a.sort();
                b.sort();
                assert_eq!(a, b, "case {case}: replica {r} heads differ for {key}");
            }
            let plan: PlanDoc = read_document(&rep.docs[&plan_key], &plan_key).unwrap();
            let record: RecordDoc = read_document(&rep.docs[&record_key], &record_key).unwrap();
            assert_eq!(plan, server_plan, "case {case}: replica {r} plan differs");
            assert_eq!(
                record, server_record,
                "case {case}: replica {r} record differs"
            );
        }
        // Nothing created is lost, and every concurrent text insertion survives.
        let reason = server_plan.reason.as_str();
        let progress = server_plan
            .action(iid(SHARED_ACTION))
            .unwrap()
            .1
            .progress
            .as_str();
        for rep in &replicas {
            for (_, collection, id) in &rep.made.items {
                assert!(
                    item_exists(&server_plan, &server_record, collection, *id),
                    "case {case}: lost {collection} {id}"
                );
            }
            for t in &rep.made.reason_tokens {
                assert!(
                    reason.contains(t.as_str()),
                    "case {case}: lost {t} from the reason: {reason}"
                );
            }
            for t in &rep.made.progress_tokens {
                assert!(
                    progress.contains(t.as_str()),
                    "case {case}: lost {t} from the shared action: {progress}"
                );
            }
            for (key, id, t) in &rep.made.item_tokens {
                let found = match key {
                    DocKey::Plan(_) => server_plan.young_person_views[id]
                        .words
                        .as_str()
                        .contains(t.as_str()),
                    _ => {
                        server_record.visits[id]
                            .observations
                            .as_str()
                            .contains(t.as_str())
                            && server_record.visits[id].present.contains(t)
                    }
                };
                assert!(
                    found,
                    "case {case}: lost {t} from {id}: {:?}",
                    match key {
                        DocKey::Plan(_) => format!("{:?}", server_plan.young_person_views[id]),
                        _ => format!("{:?}", server_record.visits[id]),
                    }
                );
            }
        }
    }
    println!("convergence: {cases} cases, {total_edits} offline edits, seed {seed}");
}
