//! `docs/documents.md` against the schema: every object its tables describe
//! has exactly the keys listed, each holding one of the Automerge types
//! listed; the enum table gives the names documents store, with the slugs
//! and labels `slugs!` generates; the rule table names every rule once; and
//! the layout rules of its section 2 hold. The documents checked are the
//! demo partnership's, as `new_document` writes them, plus the few kinds of
//! item the demo lacks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is a failed test

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use autosurgeon::{Reconcile, Text};
use bothy_shared::demo::{self, FIONA, KAI, MORAG};
use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ItemId};
use bothy_shared::policy::Rule;

const DOCUMENTS_MD: &str = include_str!("../../docs/documents.md");

/// The text between backticks, in order.
fn ticks(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// The cells of a table row, trimmed (without the outer empty cells).
fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// One documented key: its Automerge types and, for a list or a map of
/// items, the types of what it holds.
#[derive(Debug)]
struct Documented {
    types: Vec<String>,
    holds: Vec<String>,
}

/// Every `### `Name`` section with a key table: name -> key -> types.
fn object_tables() -> BTreeMap<String, BTreeMap<String, Documented>> {
    let mut out: BTreeMap<String, BTreeMap<String, Documented>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in DOCUMENTS_MD.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            current = ticks(heading).first().map(|s| (*s).to_owned());
            continue;
        }
        if line.starts_with("## ") {
            current = None;
            continue;
        }
        let Some(name) = &current else { continue };
        if !line.starts_with("| `") {
            continue;
        }
        let c = cells(line);
        let key = ticks(c[0])[0].to_owned();
        let (types, holds) = match c[1].split_once(" of ") {
            Some((t, h)) => (ticks(t), ticks(h)),
            None => (ticks(c[1]), vec![]),
        };
        out.entry(name.clone()).or_default().insert(
            key,
            Documented {
                types: types.into_iter().map(str::to_owned).collect(),
                holds: holds.into_iter().map(str::to_owned).collect(),
            },
        );
    }
    out
}

/// The Automerge type of a value, as `docs/documents.md` names it.
fn type_name(v: &Value<'_>) -> String {
    match v {
        Value::Object(ObjType::Map | ObjType::Table) => "map",
        Value::Object(ObjType::List) => "list",
        Value::Object(ObjType::Text) => "text",
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(_) => "str",
            ScalarValue::Int(_) => "int",
            ScalarValue::Uint(_) => "uint",
            ScalarValue::Boolean(_) => "boolean",
            ScalarValue::Null => "null",
            ScalarValue::F64(_) => "f64",
            ScalarValue::Counter(_) => "counter",
            ScalarValue::Timestamp(_) => "timestamp",
            ScalarValue::Bytes(_) => "bytes",
            ScalarValue::Unknown { .. } => "unknown",
        },
    }
    .to_owned()
}

/// The maps at `path` from the root of `doc`, `*` standing for every key.
fn maps_at(doc: &Automerge, path: &[&str]) -> Vec<ObjId> {
    let mut objs = vec![ROOT];
    for seg in path {
        let mut next = Vec::new();
        for obj in &objs {
            let keys: Vec<String> = if *seg == "*" {
                doc.keys(obj).collect()
            } else {
                vec![(*seg).to_owned()]
            };
            for k in keys {
                if let Some((Value::Object(ObjType::Map), id)) = doc.get(obj, k.as_str()).unwrap() {
                    next.push(id);
                }
            }
        }
        objs = next;
    }
    objs
}

/// Which objects each documented table describes: (document kind, path).
fn where_each_object_is() -> BTreeMap<&'static str, Vec<(DocKind, Vec<&'static str>)>> {
    use DocKind::{Agency as A, Plan as P, Record as R, Request as Q};
    let both = |path: Vec<&'static str>| vec![(R, path.clone()), (A, path)];
    BTreeMap::from([
        ("PlanDoc", vec![(P, vec![])]),
        ("ChildDetails", vec![(P, vec!["child"])]),
        ("Carer", vec![(P, vec!["carers", "*"])]),
        (
            "PersonRef",
            vec![
                (P, vec!["team", "*"]),
                (P, vec!["named_person"]),
                (P, vec!["lead_professional"]),
                (P, vec!["needs", "*", "actions", "*", "owner"]),
                (Q, vec!["from"]),
            ],
        ),
        ("Wellbeing", vec![(P, vec!["wellbeing"])]),
        ("IndicatorAssessment", vec![(P, vec!["wellbeing", "*"])]),
        ("Rating", vec![(P, vec!["wellbeing", "*", "ratings", "*"])]),
        ("MyWorld", vec![(P, vec!["my_world"])]),
        ("Need", vec![(P, vec!["needs", "*"])]),
        ("NeedClosed", vec![(P, vec!["needs", "*", "closed"])]),
        ("ReviewMeeting", vec![(P, vec!["reviews", "*"])]),
        ("Action", vec![(P, vec!["needs", "*", "actions", "*"])]),
        (
            "ViewEntry",
            vec![
                (P, vec!["young_person_views", "*"]),
                (P, vec!["family_views", "*"]),
            ],
        ),
        ("WithheldMarker", vec![(P, vec!["withheld", "*"])]),
        ("TransitionPlan", vec![(P, vec!["transition"])]),
        ("RecordDoc", both(vec![])),
        ("Visit", both(vec!["visits", "*"])),
        ("Addendum", both(vec!["visits", "*", "addenda", "*"])),
        ("FamilyVoice", both(vec!["family_voice", "*"])),
        ("ChronologyEntry", both(vec!["chronology", "*"])),
        ("SupervisionReview", both(vec!["supervision", "*"])),
        ("WithheldSection", both(vec!["withheld", "*"])),
        ("RequestDoc", vec![(Q, vec![])]),
        ("AboutChild", vec![(Q, vec!["about"])]),
        ("RequestStep", vec![(Q, vec!["steps", "*"])]),
    ])
}

/// The demo partnership's documents, with an addendum and a supervision
/// review added (the demo has none).
fn documents() -> Vec<(DocKey, Automerge)> {
    let mut demo = demo::partnership();
    let kai = demo.children.iter_mut().find(|c| c.id == KAI).unwrap();
    let visit = kai.record.visits.values_mut().next().unwrap();
    let addendum = ItemId::random();
    visit.addenda.insert(
        addendum,
        Addendum {
            id: addendum,
            by: MORAG,
            by_name: "Morag Fraser".into(),
            agency: Agency::SocialWork,
            at: Timestamp(1_792_700_000_000),
            reason: "Mum's name was misspelt".into(),
            text: Text::with_value("Mum is Lisa, not Lise."),
        },
    );
    let need = kai.plan.needs.values_mut().next().unwrap();
    need.closed = Some(NeedClosed {
        at: Timestamp(1_792_750_000_000),
        by: MORAG,
        reason: "Outcome reached".into(),
    });
    let review = ItemId::random();
    kai.record.supervision.insert(
        review,
        SupervisionReview {
            id: review,
            reviewer: FIONA,
            reviewer_name: "Fiona MacLeod".into(),
            at: Timestamp(1_792_800_000_000),
            reviewed: BTreeMap::from([(DocKey::Plan(KAI).to_string(), vec!["ab".repeat(32)])]),
            comments: Text::with_value("Plan is on track."),
            decision: "continue".into(),
            countersigned: false,
        },
    );
    let mut docs: Vec<(DocKey, Automerge)> = demo
        .children
        .iter()
        .flat_map(|c| c.documents(&demo::server_actor()).unwrap())
        .collect();
    // A request for help, accepted (the demo has none).
    let id = bothy_shared::ids::RequestId::random();
    let key = DocKey::Request(id);
    let mut request = RequestDoc::new(
        id,
        PersonRef {
            person: MORAG,
            name: "Morag Fraser".into(),
            agency: Agency::SocialWork,
            role_title: "social worker".into(),
        },
        Agency::Health,
        None,
        AboutChild {
            name: "Skye Maclean".into(),
            date_of_birth: None,
            school: String::new(),
            address: String::new(),
        },
        "Worried about her weight",
        Some(SharingBasis::Wellbeing),
        Timestamp(1_792_900_000_000),
    );
    request.concerns = vec![Indicator::Healthy];
    let accepted = ItemId::random();
    request.steps.insert(
        accepted,
        RequestStep {
            id: accepted,
            kind: StepKind::Accepted,
            by: FIONA,
            by_name: "Fiona MacLeod".into(),
            at: Timestamp(1_792_900_100_000),
            note: String::new(),
            child: Some(KAI),
            new_child: false,
        },
    );
    docs.push((
        key,
        new_document(&key, &request, demo::server_actor()).unwrap(),
    ));
    docs
}

#[test]
fn every_documented_object_has_exactly_the_documented_keys_and_types() {
    let tables = object_tables();
    let places = where_each_object_is();
    assert_eq!(
        tables.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        places.keys().copied().collect::<BTreeSet<_>>(),
        "every table in docs/documents.md is checked here, and nothing else"
    );
    let docs = documents();
    for (name, at) in &places {
        let table = &tables[*name];
        let mut seen = 0;
        for (kind, path) in at {
            for (key, doc) in docs.iter().filter(|(k, _)| k.kind() == *kind) {
                for obj in maps_at(doc, path) {
                    seen += 1;
                    let keys: BTreeSet<String> = doc.keys(&obj).collect();
                    assert_eq!(
                        keys,
                        table.keys().cloned().collect::<BTreeSet<_>>(),
                        "{name} at {key}/{}",
                        path.join("/")
                    );
                    for (field, documented) in table {
                        let (value, id) = doc.get(&obj, field.as_str()).unwrap().unwrap();
                        let found = type_name(&value);
                        assert!(
                            documented.types.contains(&found),
                            "{name}.{field} is {found}, documented as {:?}",
                            documented.types
                        );
                        if documented.holds.is_empty() || found == "null" {
                            continue;
                        }
                        let held: Vec<Value<'_>> = match value {
                            Value::Object(ObjType::List) => (0..doc.length(&id))
                                .map(|i| doc.get(&id, i).unwrap().unwrap().0)
                                .collect(),
                            _ => doc
                                .keys(&id)
                                .map(|k| doc.get(&id, k.as_str()).unwrap().unwrap().0)
                                .collect(),
                        };
                        for v in held {
                            assert!(
                                documented.holds.contains(&type_name(&v)),
                                "{name}.{field} holds a {}, documented as {:?}",
                                type_name(&v),
                                documented.holds
                            );
                        }
                    }
                }
            }
        }
        assert!(seen > 0, "no {name} in the documents checked");
    }
}

/// The name autosurgeon stores a value under.
fn stored<T: Reconcile>(value: &T) -> String {
    let mut doc = AutoCommit::new();
    autosurgeon::reconcile_prop(&mut doc, ROOT, "v", value).unwrap();
    match doc.get(ROOT, "v").unwrap() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => panic!("stored as {other:?}"),
        },
        other => panic!("stored as {other:?}"),
    }
}

#[test]
fn the_enum_table_gives_the_stored_names_slugs_and_labels() {
    // enum -> [(name in documents, slug, label)], from the table.
    let mut table: BTreeMap<String, Vec<[String; 3]>> = BTreeMap::new();
    let section = DOCUMENTS_MD
        .split("## 6. Enum values")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut current = String::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let c = cells(line);
        if c[0] == "enum" || c[0].starts_with("---") {
            continue;
        }
        if !c[0].is_empty() {
            current = ticks(c[0])
                .first()
                .map_or_else(|| c[0].to_owned(), |s| (*s).to_owned());
        }
        let tick = |s: &str| ticks(s).first().map_or(String::new(), |t| (*t).to_owned());
        table
            .entry(current.clone())
            .or_default()
            .push([tick(c[1]), tick(c[2]), c[3].to_owned()]);
    }
    fn rows<T: Reconcile + Copy>(
        all: &[T],
        slug: impl Fn(T) -> &'static str,
        label: impl Fn(T) -> &'static str,
    ) -> Vec<[String; 3]> {
        all.iter()
            .map(|v| [stored(v), slug(*v).to_owned(), label(*v).to_owned()])
            .collect()
    }
    fn none<T>(_: T) -> &'static str {
        ""
    }
    let expected: BTreeMap<String, Vec<[String; 3]>> = BTreeMap::from([
        (
            "Indicator".to_owned(),
            rows(&Indicator::ALL, Indicator::as_str, Indicator::label),
        ),
        (
            "ActionStatus".to_owned(),
            rows(
                &ActionStatus::ALL,
                ActionStatus::as_str,
                ActionStatus::label,
            ),
        ),
        (
            "VisitKind".to_owned(),
            rows(&VisitKind::ALL, VisitKind::as_str, VisitKind::label),
        ),
        (
            "Sharing".to_owned(),
            rows(&[Sharing::Team, Sharing::Agency], none, none),
        ),
        (
            "VoiceOf".to_owned(),
            rows(&VoiceOf::ALL, VoiceOf::as_str, none),
        ),
        (
            "Impact".to_owned(),
            rows(&Impact::ALL, Impact::as_str, Impact::label),
        ),
        (
            "Significance".to_owned(),
            rows(&Significance::ALL, Significance::as_str, none),
        ),
        (
            "SharingBasis".to_owned(),
            rows(
                &SharingBasis::ALL,
                SharingBasis::as_str,
                SharingBasis::label,
            ),
        ),
        (
            "StepKind".to_owned(),
            rows(&StepKind::ALL, StepKind::as_str, StepKind::label),
        ),
        (
            "agency".to_owned(),
            rows(&Agency::ALL, Agency::as_str, Agency::label),
        ),
    ]);
    assert_eq!(table, expected);
}

#[test]
fn the_rule_table_names_every_rule_once() {
    let section = DOCUMENTS_MD.split("### The rules, by name").nth(1).unwrap();
    let named: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| ticks(cells(l)[0])[0])
        .collect();
    assert_eq!(
        named,
        Rule::ALL.map(Rule::as_str).to_vec(),
        "section 7 lists every rule once, in Rule::ALL's order"
    );
}

/// A visit written by the schema, with `edit` applied to its map.
fn visit_after(
    edit: impl FnOnce(&mut AutoCommit, &ObjId),
) -> Result<Visit, autosurgeon::HydrateError> {
    let demo = demo::partnership();
    let visit = demo.children[0]
        .record
        .visits
        .values()
        .next()
        .unwrap()
        .clone();
    let mut doc = AutoCommit::new();
    autosurgeon::reconcile_prop(&mut doc, ROOT, "v", &visit).unwrap();
    let obj = match doc.get(ROOT, "v").unwrap() {
        Some((Value::Object(ObjType::Map), id)) => id,
        other => panic!("{other:?}"),
    };
    edit(&mut doc, &obj);
    autosurgeon::hydrate_prop(&doc, ROOT, "v")
}

#[test]
fn the_layout_rules_of_section_2_hold() {
    // As written, it reads.
    assert!(visit_after(|_, _| {}).is_ok());
    // Enums by name, case and all: the slug is refused.
    assert!(visit_after(|d, v| d.put(v, "kind", "Phone").unwrap()).is_ok());
    assert!(visit_after(|d, v| d.put(v, "kind", "home").unwrap()).is_err());
    // Instants are `int`: a `uint` or an Automerge timestamp is refused.
    assert!(visit_after(|d, v| d.put(v, "at", 5_i64).unwrap()).is_ok());
    assert!(visit_after(|d, v| d.put(v, "at", 5_u64).unwrap()).is_err());
    assert!(visit_after(|d, v| d.put(v, "at", ScalarValue::Timestamp(5)).unwrap()).is_err());
    // An optional value is `null`, never absent.
    assert!(visit_after(|d, v| d.put(v, "finalised", ScalarValue::Null).unwrap()).is_ok());
    assert!(visit_after(|d, v| d.delete(v, "finalised").unwrap()).is_err());
    // Text is a `text` object, not a `str`.
    assert!(visit_after(|d, v| d.put(v, "observations", "plain").unwrap()).is_err());
    // Ids are UUIDs.
    assert!(visit_after(|d, v| d.put(v, "practitioner", "morag").unwrap()).is_err());
    // Unknown keys are ignored when reading.
    assert!(visit_after(|d, v| d.put(v, "mood", "sunny").unwrap()).is_ok());

    // Small numbers are `uint`: an `int` is refused.
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "score", 7_u64).unwrap();
    let score: Result<u8, _> = autosurgeon::hydrate_prop(&doc, ROOT, "score");
    assert_eq!(score.unwrap(), 7);
    doc.put(ROOT, "score", 7_i64).unwrap();
    let score: Result<u8, _> = autosurgeon::hydrate_prop(&doc, ROOT, "score");
    assert!(score.is_err());

    // Dates are exactly YYYY-MM-DD.
    assert!("2026-03-09".parse::<IsoDate>().is_ok());
    assert!("2026-3-9".parse::<IsoDate>().is_err());
}

/// The server's actor is the one the document names.
#[test]
fn documents_are_created_by_the_actor_the_document_names() {
    assert_eq!(
        bothy_shared::ids::server_actor().to_hex_string(),
        "626f7468792d7365727665722d303030"
    );
    assert!(DOCUMENTS_MD.contains("626f7468792d7365727665722d303030"));
    for (key, doc) in documents().into_iter().take(3) {
        let first = doc.get_changes(&[]).remove(0);
        assert_eq!(first.message(), Some(format!("create {key}").as_str()));
        assert_eq!(first.timestamp(), 0);
        assert_eq!(first.actor_id(), &bothy_shared::ids::server_actor());
    }
}
