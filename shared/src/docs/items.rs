//! Items: the unit a change touches, checks and indexes.
//!
//! A document is a few fields plus collections of items keyed by id
//! (`visits/<id>`, `needs/<id>`…). Hydrating a whole document costs time in
//! proportion to its size, so the gate and the device work item by item:
//! [`item_of`] says which item a path belongs to, [`hydrate_at`] reads one
//! item, and [`validate_item`] applies the schema's rules to it. The rules are
//! the same ones [`CaseDocument::validate`](super::CaseDocument::validate)
//! applies to a whole document: it calls these.

use std::fmt;

use autosurgeon::{Hydrate, Prop, ReadDoc};

use super::*;

/// Which item of a document a path belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemPath {
    /// A field at the root (`reason`, `review_date`, `child`, `wellbeing`…).
    Field(String),
    /// An item of a collection (`visits/<id>`), or a wellbeing indicator (`wellbeing/safe`).
    Item { collection: String, id: String },
}

impl fmt::Display for ItemPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemPath::Field(name) => f.write_str(name),
            ItemPath::Item { collection, id } => write!(f, "{collection}/{id}"),
        }
    }
}

impl ItemPath {
    pub fn item(collection: &str, id: impl ToString) -> Self {
        ItemPath::Item {
            collection: collection.to_owned(),
            id: id.to_string(),
        }
    }

    /// The path segments from the root.
    pub fn segments(&self) -> Vec<&str> {
        match self {
            ItemPath::Field(name) => vec![name.as_str()],
            ItemPath::Item { collection, id } => vec![collection.as_str(), id.as_str()],
        }
    }
}

/// The item a path (from the root) belongs to.
pub fn item_of(path: &[String]) -> Option<ItemPath> {
    let first = path.first()?;
    match path.get(1) {
        Some(second) if COLLECTIONS.contains(&first.as_str()) || first == "wellbeing" => {
            Some(ItemPath::Item {
                collection: first.clone(),
                id: second.clone(),
            })
        }
        _ => Some(ItemPath::Field(first.clone())),
    }
}

/// Root fields that are maps of items keyed by id.
pub const COLLECTIONS: &[&str] = &[
    "carers",
    "team",
    "needs",
    "young_person_views",
    "family_views",
    "withheld",
    "reviews",
    "visits",
    "family_voice",
    "chronology",
    "supervision",
];

/// Read the value at `segments` (from the root), if there is one.
pub fn hydrate_at<T: Hydrate, D: ReadDoc>(
    doc: &D,
    segments: &[&str],
) -> Result<Option<T>, autosurgeon::HydrateError> {
    let Some((last, parents)) = segments.split_last() else {
        return autosurgeon::hydrate(doc).map(Some);
    };
    let mut obj = automerge::ROOT;
    for seg in parents {
        match doc.get(&obj, *seg)? {
            Some((automerge::Value::Object(automerge::ObjType::Map), id)) => obj = id,
            _ => return Ok(None),
        }
    }
    let Some(found) = doc.get(&obj, *last)? else {
        return Ok(None);
    };
    // The item's own fields are read in one pass (see `MapReads::item`).
    let reads = MapReads::item(doc, &obj, last, found);
    autosurgeon::hydrate_prop(&reads, &obj, Prop::from(*last)).map(Some)
}

fn shape(path: &ItemPath) -> impl Fn(autosurgeon::HydrateError) -> Invalid + '_ {
    move |e| {
        Invalid::at(
            path.to_string(),
            format!("does not have the shape of its schema: {e}"),
        )
    }
}

fn same_id<K: PartialEq + fmt::Display>(path: &ItemPath, key: &str, id: &K) -> Result<(), Invalid> {
    if id.to_string() != key {
        return Err(Invalid::at(
            format!("{path}/id"),
            format!("the item's id is {id}, not its key"),
        ));
    }
    Ok(())
}

/// Check one item of the document stored under `key` against the schema. A
/// missing item (deleted) is fine: whether it may be deleted is the policy's
/// business.
pub fn validate_item<D: ReadDoc>(doc: &D, key: &DocKey, item: &ItemPath) -> Result<(), Invalid> {
    let segs = item.segments();
    let bad = shape(item);
    match (key.kind(), item) {
        (DocKind::Plan | DocKind::Young, ItemPath::Item { collection, id }) => {
            match collection.as_str() {
                "carers" => opt(hydrate_at::<Carer, _>(doc, &segs).map_err(bad)?, |c| {
                    same_id(item, id, &c.id)
                }),
                "team" => opt(hydrate_at::<PersonRef, _>(doc, &segs).map_err(bad)?, |p| {
                    same_id(item, id, &p.person)
                }),
                "needs" => opt(hydrate_at::<Need, _>(doc, &segs).map_err(bad)?, |n| {
                    validate_need(item, id, &n)
                }),
                "young_person_views" | "family_views" => {
                    opt(hydrate_at::<ViewEntry, _>(doc, &segs).map_err(bad)?, |v| {
                        same_id(item, id, &v.id)
                    })
                }
                "withheld" => opt(
                    hydrate_at::<WithheldMarker, _>(doc, &segs).map_err(bad)?,
                    |w| same_id(item, id, &w.id),
                ),
                "reviews" => opt(
                    hydrate_at::<ReviewMeeting, _>(doc, &segs).map_err(bad)?,
                    |r| same_id(item, id, &r.id),
                ),
                "wellbeing" => {
                    if Indicator::from_slug(id).is_none() {
                        return Err(Invalid::at(item.to_string(), "not a wellbeing indicator"));
                    }
                    opt(
                        hydrate_at::<IndicatorAssessment, _>(doc, &segs).map_err(bad)?,
                        |a| validate_assessment(item, &a),
                    )
                }
                other => Err(Invalid::at(
                    item.to_string(),
                    format!("`{other}` is not a section of the plan"),
                )),
            }
        }
        (DocKind::Plan | DocKind::Young, ItemPath::Field(name)) => match name.as_str() {
            "schema_version" => hydrate_at::<u64, _>(doc, &segs).map(drop),
            "child_id" => hydrate_at::<ChildId, _>(doc, &segs).map(drop),
            "child" => hydrate_at::<ChildDetails, _>(doc, &segs).map(drop),
            "named_person" | "lead_professional" => {
                hydrate_at::<Option<PersonRef>, _>(doc, &segs).map(drop)
            }
            "reason" => hydrate_at::<Text, _>(doc, &segs).map(drop),
            "legal_status" => hydrate_at::<String, _>(doc, &segs).map(drop),
            "my_world" => hydrate_at::<MyWorld, _>(doc, &segs).map(drop),
            "review_date" => hydrate_at::<Option<IsoDate>, _>(doc, &segs).map(drop),
            "transition" => hydrate_at::<TransitionPlan, _>(doc, &segs).map(drop),
            "wellbeing" => hydrate_at::<Wellbeing, _>(doc, &segs).map(drop),
            c if COLLECTIONS.contains(&c) => Ok(()),
            other => return Err(Invalid::at(other, "not a field of the plan")),
        }
        .map_err(bad),
        (_, ItemPath::Item { collection, id }) => match collection.as_str() {
            "visits" => opt(hydrate_at::<Visit, _>(doc, &segs).map_err(bad)?, |v| {
                validate_visit(key, item, id, &v)
            }),
            "family_voice" => opt(
                hydrate_at::<FamilyVoice, _>(doc, &segs).map_err(bad)?,
                |f| {
                    same_id(item, id, &f.id)?;
                    match f.scale {
                        Some(s) if s > SCALE_MAX => Err(Invalid::at(
                            format!("{item}/scale"),
                            format!("the scale is 0 to 10, not {s}"),
                        )),
                        _ => Ok(()),
                    }
                },
            ),
            "chronology" => opt(
                hydrate_at::<ChronologyEntry, _>(doc, &segs).map_err(bad)?,
                |c| {
                    same_id(item, id, &c.id)?;
                    match c.until {
                        Some(until) if until < c.date => Err(Invalid::at(
                            format!("{item}/until"),
                            "a period cannot end before it starts",
                        )),
                        _ => Ok(()),
                    }
                },
            ),
            "supervision" => opt(
                hydrate_at::<SupervisionReview, _>(doc, &segs).map_err(bad)?,
                |s| same_id(item, id, &s.id),
            ),
            "withheld" => opt(
                hydrate_at::<WithheldSection, _>(doc, &segs).map_err(bad)?,
                |w| same_id(item, id, &w.id),
            ),
            other => Err(Invalid::at(
                item.to_string(),
                format!("`{other}` is not a section of this record"),
            )),
        },
        (_, ItemPath::Field(name)) => match name.as_str() {
            "schema_version" => hydrate_at::<u64, _>(doc, &segs).map(drop).map_err(bad),
            "child_id" => hydrate_at::<ChildId, _>(doc, &segs).map(drop).map_err(bad),
            "agency" => hydrate_at::<Option<crate::ids::Agency>, _>(doc, &segs)
                .map(drop)
                .map_err(bad),
            c if COLLECTIONS.contains(&c) => Ok(()),
            other => Err(Invalid::at(other, "not a field of this record")),
        },
    }
}

fn opt<T>(value: Option<T>, check: impl FnOnce(T) -> Result<(), Invalid>) -> Result<(), Invalid> {
    value.map_or(Ok(()), check)
}

pub(crate) fn validate_need(item: &ItemPath, id: &str, n: &Need) -> Result<(), Invalid> {
    same_id(item, id, &n.id)?;
    check_keys(&format!("{item}/actions"), &n.actions, |a| &a.id)
}

pub(crate) fn validate_assessment(item: &ItemPath, a: &IndicatorAssessment) -> Result<(), Invalid> {
    let path = format!("{item}/ratings");
    check_keys(&path, &a.ratings, |r| &r.id)?;
    for r in a.ratings.values() {
        if !RATING_RANGE.contains(&r.score) {
            return Err(Invalid::at(
                format!("{path}/{}/score", r.id),
                format!("a rating is 1 to 10, not {}", r.score),
            ));
        }
    }
    Ok(())
}

pub(crate) fn validate_visit(
    key: &DocKey,
    item: &ItemPath,
    id: &str,
    v: &Visit,
) -> Result<(), Invalid> {
    same_id(item, id, &v.id)?;
    let expected = if key.agency().is_some() {
        Sharing::Agency
    } else {
        Sharing::Team
    };
    if v.sharing != expected {
        return Err(Invalid::at(
            format!("{item}/sharing"),
            format!(
                "a visit shared with {:?} cannot be stored in {key}",
                v.sharing
            ),
        ));
    }
    if let Some(a) = key.agency()
        && v.agency != a
    {
        return Err(Invalid::at(
            format!("{item}/agency"),
            format!("a {} visit cannot be stored in {key}", v.agency),
        ));
    }
    if v.seen_alone && !v.child_seen {
        return Err(Invalid::at(
            format!("{item}/seen_alone"),
            "a child cannot be seen alone without being seen",
        ));
    }
    check_keys(&format!("{item}/addenda"), &v.addenda, |a| &a.id)
}

/// Read the schema version at the root without reading the rest.
pub fn schema_version<D: ReadDoc>(doc: &D, kind: DocKind) -> Result<u64, DocError> {
    let found = match doc.get(&automerge::ROOT, "schema_version") {
        Ok(None) => return Err(DocError::NoSchemaVersion { kind }),
        Ok(Some((automerge::Value::Scalar(v), _))) => match v.as_ref() {
            automerge::ScalarValue::Uint(u) => *u,
            _ => {
                return Err(DocError::Shape {
                    kind,
                    source: ShapeError::SchemaVersionNotANumber.into(),
                });
            }
        },
        Ok(Some(_)) => {
            return Err(DocError::Shape {
                kind,
                source: ShapeError::SchemaVersionNotANumber.into(),
            });
        }
        Err(e) => {
            return Err(DocError::Shape {
                kind,
                source: ShapeError::Automerge(e).into(),
            });
        }
    };
    if found > SCHEMA_VERSION {
        return Err(DocError::SchemaTooNew {
            kind,
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}
