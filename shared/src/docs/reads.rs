//! [`MapReads`]: reading an item's fields in one pass; [`AtHeads`]:
//! reading a document as it was at some heads.
//!
//! `autosurgeon` hydrates a struct one field at a time, each field a
//! `ReadDoc::get` on the struct's map, and in Automerge 0.12 every `get`
//! seeks through the document's op columns from scratch. A visit has
//! nineteen fields; hydrating one from a record of a few hundred visits cost
//! about 110 µs, where reading the same map once with `map_range` costs
//! about 15 µs. `MapReads` is a `ReadDoc` that answers repeated `get`s on
//! the same map from one `map_range` pass, and passes every other read
//! straight to the document. It changes no value: `map_range` yields, per
//! key, the same winning value `get` returns.
//!
//! A map is read whole only from its second `get` on: the first `get` into
//! a large collection (`visits`, to reach one visit) stays a single seek.
//! [`MapReads::item`] reads one item whose place is already known: the
//! collection is never read whole, the item's own entry comes from the
//! caller, and every map inside the item is read whole from its first
//! `get` (an item's fields are all wanted), which saves a seek per map.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeBounds;
use std::rc::Rc;

use automerge::iter::{ListRange, MapRange};
use automerge::{AutomergeError, ChangeHash, ObjId, ObjType, Prop, Value};
use autosurgeon::ReadDoc;

/// A map's entries: key -> (winning value, its id).
type Entries = HashMap<String, (Value<'static>, ObjId)>;

enum Seen {
    /// One `get` so far: the next one reads the whole map.
    Once,
    Read(Rc<Entries>),
}

/// A `ReadDoc` over `doc` that reads each map at most once for repeated
/// `get`s (see the module documentation). Meant for one hydration: it
/// borrows the document, so the document cannot change under it.
pub struct MapReads<'a, D: ReadDoc> {
    doc: &'a D,
    maps: RefCell<HashMap<ObjId, Seen>>,
    /// For [`MapReads::item`]: the collection, the item's key in it and
    /// what the collection holds there.
    item: Option<(ObjId, String, (Value<'static>, ObjId))>,
}

impl<D: ReadDoc> std::fmt::Debug for MapReads<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapReads")
            .field("maps", &self.maps.borrow().len())
            .finish_non_exhaustive()
    }
}

impl<'a, D: ReadDoc> MapReads<'a, D> {
    pub fn new(doc: &'a D) -> Self {
        MapReads {
            doc,
            maps: RefCell::default(),
            item: None,
        }
    }

    /// For reading the item at `key` in `collection`, which holds `found`
    /// there (as `doc.get(collection, key)` returned it).
    pub fn item(doc: &'a D, collection: &ObjId, key: &str, found: (Value<'_>, ObjId)) -> Self {
        MapReads {
            doc,
            maps: RefCell::default(),
            item: Some((
                collection.clone(),
                key.to_owned(),
                (found.0.into_owned(), found.1),
            )),
        }
    }

    /// The entries of map `obj`, if this is at least the second `get` on it
    /// (or, reading an item, the first `get` on a map inside it).
    fn entries(&self, obj: &ObjId) -> Option<Rc<Entries>> {
        let whole_at_once = match &self.item {
            Some((collection, _, _)) if collection == obj => return None,
            Some(_) => true,
            None => false,
        };
        let mut maps = self.maps.borrow_mut();
        match maps.get(obj) {
            None if !whole_at_once => {
                maps.insert(obj.clone(), Seen::Once);
                None
            }
            Some(Seen::Read(entries)) => Some(entries.clone()),
            None | Some(Seen::Once) => {
                if !matches!(
                    self.doc.object_type(obj),
                    Some(ObjType::Map | ObjType::Table)
                ) {
                    return None;
                }
                let entries: Entries = self
                    .doc
                    .map_range(obj, ..)
                    .map(|item| {
                        let id = item.id();
                        (item.key.into_owned(), (Value::from(item.value), id))
                    })
                    .collect();
                let entries = Rc::new(entries);
                maps.insert(obj.clone(), Seen::Read(entries.clone()));
                Some(entries)
            }
        }
    }
}

impl<D: ReadDoc> ReadDoc for MapReads<'_, D> {
    type Parents<'b>
        = D::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        if let Prop::Map(key) = &prop {
            if let Some((collection, item_key, found)) = &self.item
                && collection == obj
                && item_key == key
            {
                return Ok(Some(found.clone()));
            }
            if let Some(entries) = self.entries(obj) {
                return Ok(entries.get(key.as_str()).cloned());
            }
        }
        self.doc.get(obj, prop)
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.doc.object_type(obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
    {
        self.doc.map_range(obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> ListRange<'_> {
        self.doc.list_range(obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.doc.length(obj)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.doc.text(obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents(obj)
    }

    fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }
}

/// A `ReadDoc` over `doc` as it was at `heads` (Automerge's `*_at`
/// reads): what the gate reads "before" from, once a sync message has been
/// applied to the document itself rather than to a copy of it. Every read
/// sees exactly what a copy of the document taken at `heads` would, for
/// objects that existed then; `heads` must be heads `doc` has held.
pub struct AtHeads<'a> {
    doc: &'a automerge::Automerge,
    heads: &'a [ChangeHash],
}

impl std::fmt::Debug for AtHeads<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtHeads")
            .field("heads", &self.heads.len())
            .finish_non_exhaustive()
    }
}

impl<'a> AtHeads<'a> {
    pub fn new(doc: &'a automerge::Automerge, heads: &'a [ChangeHash]) -> Self {
        AtHeads { doc, heads }
    }

    /// The document read from.
    pub fn doc(&self) -> &'a automerge::Automerge {
        self.doc
    }

    /// The heads it is read at.
    pub fn heads(&self) -> &'a [ChangeHash] {
        self.heads
    }
}

impl ReadDoc for AtHeads<'_> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.heads.to_vec()
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        automerge::ReadDoc::get_at(self.doc, obj, prop, self.heads)
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        // An object's type never changes; one made after `heads` is never
        // reached by a read at `heads`.
        automerge::ReadDoc::object_type(self.doc, obj).ok()
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
    {
        automerge::ReadDoc::map_range_at(self.doc, obj, range, self.heads)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> ListRange<'_> {
        automerge::ReadDoc::list_range_at(self.doc, obj, range, self.heads)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        automerge::ReadDoc::length_at(self.doc, obj, self.heads)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        automerge::ReadDoc::text_at(self.doc, obj, self.heads)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        automerge::ReadDoc::parents_at(self.doc, obj, self.heads)
    }

    fn is_empty(&self) -> bool {
        automerge::ReadDoc::keys_at(self.doc, automerge::ROOT, self.heads).count() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::demo;
    use crate::docs::{AnyDoc, hydrate_at};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ROOT};

    #[test]
    fn whole_documents_read_the_same_through_map_reads() {
        let mut read = 0;
        for child in demo::partnership().children {
            for (key, doc) in child.documents(&demo::server_actor()).unwrap() {
                let direct = AnyDoc::read(&doc, &key).unwrap();
                let through = AnyDoc::read(&MapReads::new(&doc), &key).unwrap();
                assert_eq!(format!("{direct:?}"), format!("{through:?}"), "{key}");
                read += 1;
            }
        }
        assert!(read >= 6, "only {read} demo documents");
    }

    #[test]
    fn a_conflict_reads_as_the_same_winner() {
        let mut a = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
        let mut tx = a.transaction();
        let m = tx.put_object(ROOT, "m", ObjType::Map).unwrap();
        tx.put(&m, "x", "one").unwrap();
        tx.put(&m, "y", 1).unwrap();
        tx.commit();
        let mut b = a.fork().with_actor(ActorId::from(vec![2; 16]));
        let mut tx = b.transaction();
        tx.put(&m, "x", "two").unwrap();
        tx.delete(&m, "y").unwrap();
        tx.commit();
        let mut tx = a.transaction();
        tx.put(&m, "x", "three").unwrap();
        tx.commit();
        a.merge(&mut b).unwrap();
        let reads = MapReads::new(&a);
        for key in ["x", "y", "missing", "x"] {
            assert_eq!(
                reads.get(&m, key).unwrap(),
                automerge::ReadDoc::get(&a, &m, key).unwrap(),
                "{key}"
            );
        }
        // A map read whole serves later gets.
        assert!(matches!(reads.maps.borrow().get(&m), Some(Seen::Read(_))));
        let direct: Option<String> = hydrate_at(&a, &["m", "x"]).unwrap();
        assert!(direct.is_some());
    }

    #[test]
    fn items_read_the_same_through_item_reads() {
        use crate::docs::{Addendum, Visit};
        // A visit with an addendum (a map inside the item), then edited
        // concurrently so one field holds a conflict.
        let mut a = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
        let mut tx = a.transaction();
        let visits = tx.put_object(ROOT, "visits", ObjType::Map).unwrap();
        tx.commit();
        let demo_visits: Vec<Visit> = demo::partnership()
            .children
            .iter()
            .flat_map(|c| std::iter::once(&c.record).chain(&c.agency_records))
            .flat_map(|r| r.visits.values().cloned())
            .collect();
        assert!(demo_visits.len() >= 3);
        for v in &demo_visits {
            let mut v = v.clone();
            let aid = crate::ids::ItemId::random();
            v.addenda.insert(
                aid,
                Addendum {
                    id: aid,
                    by: v.practitioner,
                    by_name: v.practitioner_name.clone(),
                    agency: v.agency,
                    at: v.at,
                    reason: "A correction".to_owned(),
                    text: crate::docs::Text::with_value("Added later."),
                },
            );
            let mut tx = a.transaction();
            autosurgeon::reconcile_prop(&mut tx, &visits, v.id.to_string().as_str(), &v).unwrap();
            tx.commit();
        }
        let first = demo_visits[0].id.to_string();
        let mut b = a.fork().with_actor(ActorId::from(vec![2; 16]));
        for (doc, place) in [(&mut a, "Kitchen"), (&mut b, "Garden")] {
            let (_, visit) = automerge::ReadDoc::get(doc, &visits, first.as_str())
                .unwrap()
                .unwrap();
            let mut tx = doc.transaction();
            tx.put(&visit, "place", place).unwrap();
            tx.commit();
        }
        a.merge(&mut b).unwrap();

        for v in &demo_visits {
            let id = v.id.to_string();
            let through: Option<Visit> = hydrate_at(&a, &["visits", id.as_str()]).unwrap();
            let direct: Visit = autosurgeon::hydrate_prop(&a, &visits, id.as_str()).unwrap();
            assert_eq!(through, Some(direct), "{id}");
        }
        let missing: Option<Visit> = hydrate_at(&a, &["visits", "no-such-visit"]).unwrap();
        assert_eq!(missing, None);
    }

    /// The gate reads "before" as the document itself at the heads it had:
    /// every read of an item edited since, by another author, is the same
    /// as from a copy taken before the edit (and not the same as after).
    #[test]
    fn reads_at_heads_are_the_reads_of_a_copy_taken_then() {
        use super::AtHeads;
        use crate::docs::{DocKind, Visit, schema_version};
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
        let mut tx = doc.transaction();
        tx.put(ROOT, "schema_version", 1_u64).unwrap();
        let visits = tx.put_object(ROOT, "visits", ObjType::Map).unwrap();
        tx.commit();
        let v = demo::partnership()
            .children
            .iter()
            .flat_map(|c| c.record.visits.values().cloned())
            .next()
            .unwrap();
        let id = v.id.to_string();
        let mut tx = doc.transaction();
        autosurgeon::reconcile_prop(&mut tx, &visits, id.as_str(), &v).unwrap();
        tx.commit();
        let copy = doc.clone();
        let heads = doc.get_heads();

        // Someone else edits the visit: its place, its words, a new field.
        let mut other = doc.fork().with_actor(ActorId::from(vec![2; 16]));
        let (_, visit) = automerge::ReadDoc::get(&other, &visits, id.as_str())
            .unwrap()
            .unwrap();
        let (_, words) = automerge::ReadDoc::get(&other, &visit, "observations")
            .unwrap()
            .unwrap();
        let mut tx = other.transaction();
        tx.put(&visit, "place", "Garden").unwrap();
        tx.splice_text(&words, 0, 0, "Changed. ").unwrap();
        tx.put(&visit, "extra", "x").unwrap();
        tx.commit();
        doc.merge(&mut other).unwrap();

        let at = AtHeads::new(&doc, &heads);
        let then: Option<Visit> = hydrate_at(&at, &["visits", id.as_str()]).unwrap();
        let copied: Option<Visit> = hydrate_at(&copy, &["visits", id.as_str()]).unwrap();
        let now: Option<Visit> = hydrate_at(&doc, &["visits", id.as_str()]).unwrap();
        assert_eq!(then, copied);
        assert_ne!(then, now);
        assert_eq!(ReadDoc::get_heads(&at), copy.get_heads());
        assert_eq!(ReadDoc::length(&at, &visit), ReadDoc::length(&copy, &visit));
        assert_ne!(ReadDoc::length(&at, &visit), ReadDoc::length(&doc, &visit));
        assert_eq!(
            ReadDoc::text(&at, &words).unwrap(),
            ReadDoc::text(&copy, &words).unwrap()
        );
        assert_eq!(
            ReadDoc::parents(&at, &words).unwrap().path(),
            ReadDoc::parents(&copy, &words).unwrap().path()
        );
        assert!(!ReadDoc::is_empty(&at));
        assert_eq!(schema_version(&at, DocKind::Record).unwrap(), 1);
        // A document read at no heads is empty.
        assert!(ReadDoc::is_empty(&AtHeads::new(&doc, &[])));
    }
}
