//! The change gate: what a change may touch inside a document.
//!
//! [`check_changes`] is the per-change check the server runs on every change a
//! device sends, and the device runs on its own changes before it keeps them.
//! Given the document before, the changes and the principal, it
//!
//! 1. asks the [`AccessPolicy`] whether the principal may write the document;
//! 2. checks that every change carries the actor of the principal's device;
//! 3. checks that no change is larger, or nests deeper, than [`limits`]
//!    allow, from the changes alone, and only then applies them to a copy
//!    (never to `before`);
//! 4. walks every operation of every change, resolves the path of the object
//!    it acts on in the document after, and checks that path against the rules
//!    (a young person: only their own views; nobody: a finalised visit except by
//!    adding an addendum; only the author edits a draft visit; …);
//! 5. reads the document after as a valid document of its schema.
//!
//! Operations are inspected one by one, not through the net difference, so a
//! change that edits a finalised visit and then puts the old value back is
//! still refused: its operations are in the history every reader receives.

use automerge::legacy::{Key, ObjectId, Op, OpId, OpType};
use automerge::{Automerge, Change, ChangeHash, ObjType, Prop, ReadDoc};

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use crate::docs::{
    AtHeads, DocError, DocKey, DocKind, FamilyVoice, Invalid, ItemPath, SupervisionReview,
    ViewEntry, Visit, hydrate_at, item_of, schema_version, validate_item, validate_visit,
};
use crate::ids::{Agency, ItemId, PersonId};
use crate::policy::{AccessPolicy, ChildTeam, Denied, Principal, Rule};
use crate::robust::{self, MalformedError};

pub mod limits;
mod request;

pub use limits::check_bounds;

/// A change the gate refused: which change, where, and by which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change {change} was refused at `{path}`: {rule}{}", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
pub struct Rejection {
    pub change: ChangeHash,
    /// Slash-separated path in the document (`visits/<id>/observations`).
    pub path: String,
    pub rule: Rule,
    pub detail: String,
}

/// Why a batch of changes was not accepted. All or none: on any error nothing
/// of the batch is kept.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Malformed(#[from] MalformedError),
    #[error("change {0} depends on changes this document does not have yet")]
    MissingDependencies(ChangeHash),
    #[error("the document as stored is not valid, so no change can be checked against it: {0}")]
    BeforeInvalid(#[source] DocError),
}

impl GateError {
    /// The policy rule behind the error, if it is a policy decision.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            GateError::Denied(d) => Some(d.rule),
            GateError::Rejected(r) => Some(r.rule),
            _ => None,
        }
    }
}

/// Check `changes` against `before` for `principal`; the document after them
/// on success.
pub fn check_changes(
    key: &DocKey,
    before: &Automerge,
    changes: &[Change],
    principal: &Principal,
    team: &ChildTeam,
) -> Result<Automerge, GateError> {
    if key.kind() == DocKind::Request {
        return request::check(key, before, None, changes, principal, team);
    }
    if changes.is_empty() {
        AccessPolicy::can_write(principal, key, team)?;
        return Ok(before.clone());
    }
    preflight(key, before, changes, principal, team)?;
    let after = robust::apply_changes(before, changes)?;
    inspect(key, before, &after, changes, principal, team)?;
    Ok(after)
}

/// [`check_changes`] for a caller that has already applied `changes` to a
/// copy of `before` (`after`), such as a device that has just made the change:
/// saves cloning the document again.
pub fn check_applied(
    key: &DocKey,
    before: &Automerge,
    after: Automerge,
    changes: &[Change],
    principal: &Principal,
    team: &ChildTeam,
) -> Result<Automerge, GateError> {
    if key.kind() == DocKind::Request {
        return request::check(key, before, Some(after), changes, principal, team);
    }
    preflight(key, before, changes, principal, team)?;
    inspect(key, before, &after, changes, principal, team)?;
    Ok(after)
}

/// [`check_changes`] for a caller that has applied `changes` to the document
/// itself (`doc`), which held `before` as its heads until then: the
/// document before is read as `doc` at those heads ([`AtHeads`]), so no
/// copy of it is ever made. The server merges this way; on an error the
/// caller must drop `doc` (it holds changes that were not accepted).
///
/// `before` must be heads `doc` held with no changes waiting for their
/// dependencies, and `changes` every change `doc` has gained since.
pub fn check_applied_at(
    key: &DocKey,
    doc: &Automerge,
    before: &[ChangeHash],
    changes: &[Change],
    principal: &Principal,
    team: &ChildTeam,
) -> Result<(), GateError> {
    if key.kind() == DocKind::Request {
        // A request is small and judged whole against the request as it
        // was (see `request`): that one is rebuilt at its heads.
        let was = robust::contain("request before", || doc.fork_at(before))?.map_err(|e| {
            MalformedError::Invalid {
                what: "request before",
                detail: e.to_string(),
            }
        })?;
        return request::check(key, &was, Some(doc.clone()), changes, principal, team).map(|_| ());
    }
    let was = AtHeads::new(doc, before);
    AccessPolicy::can_write(principal, key, team)?;
    check_actors(changes, principal)?;
    limits::check_bounds_at(doc, Some(before), changes)?;
    schema_version(&was, key.kind()).map_err(GateError::BeforeInvalid)?;
    inspect(key, &was, doc, changes, principal, team)
}

/// What is checked before looking inside any change: the principal may write
/// the document, every change carries their device's actor, and the stored
/// document is one this build can check against.
fn preflight(
    key: &DocKey,
    before: &Automerge,
    changes: &[Change],
    principal: &Principal,
    team: &ChildTeam,
) -> Result<(), GateError> {
    AccessPolicy::can_write(principal, key, team)?;
    check_actors(changes, principal)?;
    check_bounds(before, changes)?;
    schema_version(before, key.kind()).map_err(GateError::BeforeInvalid)?;
    Ok(())
}

/// Every change carries the actor of the principal's device.
fn check_actors(changes: &[Change], principal: &Principal) -> Result<(), GateError> {
    let actor = principal.device.actor_id();
    for c in changes {
        if c.actor_id() != &actor {
            return Err(reject(
                c,
                "",
                Rule::ActorNotDevice,
                format!("made by actor {}", c.actor_id()),
            ));
        }
    }
    Ok(())
}

/// Every operation of `changes`, now applied in `after`, against the rules;
/// then the items they touched against the schema. `before` is the
/// document before them: a copy, or `after` read at the heads it had.
fn inspect<B: autosurgeon::ReadDoc>(
    key: &DocKey,
    before: &B,
    after: &Automerge,
    changes: &[Change],
    principal: &Principal,
    team: &ChildTeam,
) -> Result<(), GateError> {
    for c in changes {
        // Metadata only: building the whole change again would cost as much
        // as the rest of the check.
        if after.get_change_meta_by_hash(&c.hash()).is_none() {
            return Err(GateError::MissingDependencies(c.hash()));
        }
    }

    let ctx = Ctx {
        key,
        principal,
        team,
        before,
        after,
        items: RefCell::default(),
    };
    let mut touched: Vec<(ChangeHash, ItemPath)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut objects = ObjectPaths::default();
    // Lists and texts the changes insert into: (change, path) of the first.
    let mut grown: HashMap<ObjectId, (ChangeHash, String)> = HashMap::new();
    for c in changes {
        let expanded = robust::expand_change(c)?;
        let start_op = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            if !objects.passed(op) {
                let path = objects
                    .op_path(after, op)
                    .map_err(|detail| reject(c, "", Rule::InvalidDocument, detail))?;
                ctx.check(&path, op)
                    .map_err(|(rule, detail)| reject(c, &path.join("/"), rule, detail))?;
                if let Some(item) = item_of(&path)
                    && seen.insert(item.clone())
                {
                    touched.push((c.hash(), item));
                }
                objects.pass(op);
            }
            if op.insert && !grown.contains_key(&op.obj) {
                let path = objects
                    .resolved
                    .get(&op.obj)
                    .map(|r| r.path.join("/"))
                    .unwrap_or_default();
                grown.insert(op.obj.clone(), (c.hash(), path));
            }
            // The operation's own id is the change's start plus its place.
            let id = OpId(start_op + i as u64, expanded.actor_id.clone());
            objects.learn_made(op, id);
        }
    }

    // A list or text may have grown over many batches: its length now.
    for (obj, (change, path)) in &grown {
        let len = after
            .import_obj(&obj.to_string())
            .map(|id| automerge::ReadDoc::length(after, &id))
            .unwrap_or(0);
        if len > limits::MAX_VALUE_LEN {
            return Err(GateError::Rejected(Rejection {
                change: *change,
                path: path.clone(),
                rule: Rule::ValueTooLarge,
                detail: format!("{len} long; at most {}", limits::MAX_VALUE_LEN),
            }));
        }
    }

    // The document after must still read as a valid document of its schema.
    // The document before was valid and only the touched items changed, so
    // checking those items is checking the document.
    for (change, item) in &touched {
        let checked = match ctx.validated_from_cache(item) {
            Some(checked) => checked,
            None => robust::contain("item", || validate_item(after, key, item))?,
        };
        if let Err(problem) = checked {
            return Err(GateError::Rejected(Rejection {
                change: *change,
                path: problem.path,
                rule: Rule::InvalidDocument,
                detail: problem.reason,
            }));
        }
    }
    Ok(())
}

fn reject(c: &Change, path: &str, rule: Rule, detail: impl Into<String>) -> GateError {
    GateError::Rejected(Rejection {
        change: c.hash(),
        path: path.to_owned(),
        rule,
        detail: detail.into(),
    })
}

/// The paths of the objects a batch of changes acts on, each resolved once
/// (a change typing a sentence into a visit holds one operation per
/// character, all in the same text object), and what has passed the rules.
#[derive(Default)]
struct ObjectPaths {
    resolved: HashMap<ObjectId, Resolved>,
}

struct Resolved {
    /// The object's path from the root.
    path: Vec<String>,
    /// A list or text: its operations act on the object as a whole.
    sequence: bool,
    /// Below the root the rules depend on the path alone, so what passed
    /// once passes again: the whole object (a sequence), or these keys.
    passed_whole: bool,
    passed_keys: HashSet<String>,
}

impl ObjectPaths {
    /// Whether `op` acts on a path that has passed the rules already.
    fn passed(&self, op: &Op) -> bool {
        let Some(r) = self.resolved.get(&op.obj) else {
            return false;
        };
        match &op.key {
            _ if r.sequence => r.passed_whole,
            Key::Map(k) => r.passed_keys.contains(k.as_str()),
            Key::Seq(_) => false,
        }
    }

    /// Remember that `op`'s path passed (root fields are always checked:
    /// there the rules also look at the operation).
    fn pass(&mut self, op: &Op) {
        let Some(r) = self.resolved.get_mut(&op.obj) else {
            return;
        };
        match &op.key {
            _ if r.sequence => r.passed_whole = true,
            Key::Map(k) => {
                r.passed_keys.insert(k.to_string());
            }
            Key::Seq(_) => {}
        }
    }

    /// An object `op` (whose id is `id`) makes at a map key has, for good,
    /// the path of that key: objects never move in Automerge. Remembered so
    /// the operations filling a new visit need not ask the document where
    /// each of its new texts and lists is. Objects made inside lists are
    /// left to the document (their path holds an index).
    fn learn_made(&mut self, op: &Op, id: OpId) {
        let (OpType::Make(typ), Key::Map(key), false) = (&op.action, &op.key, op.insert) else {
            return;
        };
        // The parent's path is copied: a step of at most `MAX_DEPTH`
        // segments, since `limits::check_bounds` refused anything deeper
        // before the changes were applied.
        let mut path = match &op.obj {
            ObjectId::Root => Vec::new(),
            parent => match self.resolved.get(parent) {
                Some(r) if !r.sequence && r.path.len() < limits::MAX_DEPTH => r.path.clone(),
                _ => return,
            },
        };
        path.push(key.to_string());
        self.resolved
            .entry(ObjectId::Id(id))
            .or_insert_with(|| Resolved {
                path,
                sequence: matches!(typ, ObjType::List | ObjType::Text),
                passed_whole: false,
                passed_keys: HashSet::new(),
            });
    }

    /// The path, from the root, of what `op` acts on: the object's path in
    /// the document after, plus the map key the op sets or deletes.
    /// Operations inside a list or text stop at the list or text itself.
    fn op_path(&mut self, after: &Automerge, op: &Op) -> Result<Vec<String>, String> {
        let mut path = Vec::new();
        if op.obj != ObjectId::Root {
            let r = match self.resolved.entry(op.obj.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let (path, sequence) = object_path(after, &op.obj)?;
                    e.insert(Resolved {
                        path,
                        sequence,
                        passed_whole: false,
                        passed_keys: HashSet::new(),
                    })
                }
            };
            path.clone_from(&r.path);
            if r.sequence {
                return Ok(path);
            }
        }
        if let Key::Map(k) = &op.key {
            path.push(k.to_string());
        }
        Ok(path)
    }
}

/// The path of object `obj` in `after`, and whether it is a list or text.
fn object_path(after: &Automerge, obj: &ObjectId) -> Result<(Vec<String>, bool), String> {
    let id = after
        .import_obj(&obj.to_string())
        .map_err(|e| format!("unknown object {obj}: {e}"))?;
    let parents = robust::contain("object path", || after.parents(&id).map(|p| p.path()))
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("object {obj} has no path: {e}"))?;
    let path = parents
        .into_iter()
        .map(|(_, prop)| match prop {
            Prop::Map(k) => k,
            Prop::Seq(i) => i.to_string(),
        })
        .collect();
    let typ = after.object_type(&id).map_err(|e| e.to_string())?;
    Ok((path, matches!(typ, ObjType::List | ObjType::Text)))
}

type Refusal = (Rule, String);

/// An item read from the document before or after, by its path.
#[derive(Debug)]
enum Item {
    Visit(Box<Visit>),
    View(ViewEntry),
    Voice(Box<FamilyVoice>),
    Review(Box<SupervisionReview>),
    /// Chronology entries, withheld sections and plan reviews: only who recorded them matters.
    RecordedBy(PersonId),
}

/// An item as read before (`false`) or after (`true`) the changes.
type ItemKey = (bool, String, ItemId);

/// The item `collection/id` of `doc`, as far as the rules look at it.
fn read_item<D: autosurgeon::ReadDoc>(
    doc: &D,
    collection: &str,
    id: ItemId,
) -> Result<Option<Item>, Refusal> {
    let sid = id.to_string();
    let segs = [collection, sid.as_str()];
    let shape =
        |e: autosurgeon::HydrateError| (Rule::InvalidDocument, format!("{collection}/{id}: {e}"));
    Ok(match collection {
        "visits" => hydrate_at::<Visit, _>(doc, &segs)
            .map_err(shape)?
            .map(|v| Item::Visit(Box::new(v))),
        "young_person_views" | "family_views" => hydrate_at::<ViewEntry, _>(doc, &segs)
            .map_err(shape)?
            .map(Item::View),
        "family_voice" => hydrate_at::<FamilyVoice, _>(doc, &segs)
            .map_err(shape)?
            .map(|f| Item::Voice(Box::new(f))),
        "supervision" => hydrate_at::<SupervisionReview, _>(doc, &segs)
            .map_err(shape)?
            .map(|r| Item::Review(Box::new(r))),
        "chronology" | "reviews" => {
            hydrate_at::<PersonId, _>(doc, &[collection, sid.as_str(), "recorded_by"])
                .map_err(shape)?
                .map(Item::RecordedBy)
        }
        "withheld" => hydrate_at::<PersonId, _>(doc, &[collection, sid.as_str(), "by"])
            .map_err(shape)?
            .map(Item::RecordedBy),
        _ => None,
    })
}

struct Ctx<'a, B: autosurgeon::ReadDoc> {
    key: &'a DocKey,
    principal: &'a Principal,
    team: &'a ChildTeam,
    before: &'a B,
    after: &'a Automerge,
    /// Items read so far: (after?, collection, id) -> item.
    items: RefCell<HashMap<ItemKey, Option<Rc<Item>>>>,
}

fn refuse<T>(rule: Rule, detail: impl Into<String>) -> Result<T, Refusal> {
    Err((rule, detail.into()))
}

/// The item id in the second segment of a path such as `visits/<id>/…`.
fn item(path: &[String]) -> Result<ItemId, Refusal> {
    path.get(1)
        .and_then(|s| s.parse().ok())
        .ok_or((Rule::InvalidDocument, "not an item id".to_owned()))
}

impl<B: autosurgeon::ReadDoc> Ctx<'_, B> {
    /// The item `collection/id` as it was before (`after == false`) or is after the changes.
    fn get(&self, after: bool, collection: &str, id: ItemId) -> Result<Option<Rc<Item>>, Refusal> {
        let k = (after, collection.to_owned(), id);
        if let Some(found) = self.items.borrow().get(&k) {
            return Ok(found.clone());
        }
        let found = if after {
            robust::contain("item", || read_item(self.after, collection, id))
        } else {
            robust::contain("item", || read_item(self.before, collection, id))
        }
        .map_err(|e| (Rule::InvalidDocument, e.to_string()))??
        .map(Rc::new);
        self.items.borrow_mut().insert(k, found.clone());
        Ok(found)
    }
    /// The schema check of a touched item, from the copy the rules already
    /// read (a visit is the item most changes touch, and the largest to
    /// read); `None` when the rules did not read it.
    fn validated_from_cache(&self, item: &ItemPath) -> Option<Result<(), Invalid>> {
        let ItemPath::Item { collection, id } = item else {
            return None;
        };
        if collection != "visits" {
            return None;
        }
        let parsed: ItemId = id.parse().ok()?;
        let items = self.items.borrow();
        match items.get(&(true, collection.clone(), parsed))?.as_deref() {
            Some(Item::Visit(v)) => Some(validate_visit(self.key, item, id, v)),
            None => Some(Ok(())),
            Some(_) => None,
        }
    }

    fn check(&self, path: &[String], op: &Op) -> Result<(), Refusal> {
        if op.obj == ObjectId::Root {
            return self.check_root_field(path.first().map(String::as_str).unwrap_or(""), op);
        }
        match self.key.kind() {
            DocKind::Plan | DocKind::Young => self.check_plan(path),
            DocKind::Record | DocKind::Agency => self.check_record(path),
            // Requests never reach the walk (`request::check`).
            DocKind::Request => refuse(Rule::DocumentStructure, "not a child's document"),
        }
    }

    /// Fields at the root: a document's identity and collections never change;
    /// a few plain plan fields are edited in place.
    fn check_root_field(&self, field: &str, op: &Op) -> Result<(), Refusal> {
        let editable = self.key.is_plan()
            && matches!(
                field,
                "legal_status" | "named_person" | "lead_professional" | "review_date"
            )
            && !matches!(op.action, OpType::Make(ObjType::List | ObjType::Text));
        if !editable {
            return refuse(
                Rule::DocumentStructure,
                format!("`{field}` is fixed once the document exists"),
            );
        }
        if self.principal.is_young_person_of(self.team) {
            return refuse(Rule::YoungPersonOwnViewsOnly, "");
        }
        if self.principal.membership(self.team).is_none() {
            return refuse(Rule::SupervisorReviewOnly, "");
        }
        Ok(())
    }

    fn check_plan(&self, path: &[String]) -> Result<(), Refusal> {
        let collection = path.first().map(String::as_str).unwrap_or("");
        if self.principal.is_young_person_of(self.team) && collection != "young_person_views" {
            return refuse(Rule::YoungPersonOwnViewsOnly, "");
        }
        // A supervisor outside the team writes the plan's withheld markers only.
        if self.principal.membership(self.team).is_none()
            && !self.principal.is_young_person_of(self.team)
            && collection != "withheld"
        {
            return refuse(Rule::SupervisorReviewOnly, "");
        }
        match collection {
            "withheld" => {
                if !self.principal.may_withhold(self.team) {
                    return refuse(Rule::WithholdLeadOrSupervisor, "");
                }
                let id = item(path)?;
                if self.get(false, collection, id)?.is_some() {
                    return Ok(()); // lifted or amended by any lead or supervisor
                }
                let by = match self.get(true, collection, id)?.as_deref() {
                    Some(Item::RecordedBy(p)) => Some(*p),
                    _ => None,
                };
                self.own_item(None, by, Rule::AuthorIsSelf)
            }
            "young_person_views" | "family_views" => {
                let id = item(path)?;
                let author = |i: Option<Rc<Item>>| match i.as_deref() {
                    Some(Item::View(v)) => Some(v.author),
                    _ => None,
                };
                self.own_item(
                    author(self.get(false, collection, id)?),
                    author(self.get(true, collection, id)?),
                    Rule::OwnWordsAuthorOnly,
                )
            }
            "reviews" => {
                // The team keeps a review's record together once it exists;
                // a new one is recorded in the writer's own name.
                let id = item(path)?;
                if self.get(false, collection, id)?.is_some() {
                    return Ok(());
                }
                let by = match self.get(true, collection, id)?.as_deref() {
                    Some(Item::RecordedBy(p)) => Some(*p),
                    _ => None,
                };
                self.own_item(None, by, Rule::AuthorIsSelf)
            }
            _ => Ok(()),
        }
    }

    fn check_record(&self, path: &[String]) -> Result<(), Refusal> {
        let p = self.principal;
        let is_member = p.membership(self.team).is_some();
        let collection = path.first().map(String::as_str).unwrap_or("");
        if collection == "supervision" {
            if !p.supervises_team(self.team, self.key.agency()) {
                return refuse(Rule::SupervisionSupervisorsOnly, "");
            }
            let id = item(path)?;
            let before = self.get(false, collection, id)?;
            if let Some(Item::Review(r)) = before.as_deref()
                && r.countersigned
            {
                return refuse(Rule::CountersignedReviewFinal, "");
            }
            let reviewer = |i: Option<Rc<Item>>| match i.as_deref() {
                Some(Item::Review(r)) => Some(r.reviewer),
                _ => None,
            };
            return self.own_item(
                reviewer(before),
                reviewer(self.get(true, collection, id)?),
                Rule::AuthorIsSelf,
            );
        }
        // An existing chronology entry or withheld section: its agency's
        // business, supervisors outside the team included.
        if matches!(collection, "chronology" | "withheld")
            && let Ok(id) = item(path)
            && let Some(Item::RecordedBy(by)) = self.get(false, collection, id)?.as_deref()
        {
            return self.authoring_agency_only(collection, id, *by);
        }
        if !is_member {
            return refuse(Rule::SupervisorReviewOnly, "");
        }
        let id = item(path)?;
        fn visit(i: &Option<Rc<Item>>) -> Option<&Visit> {
            match i.as_deref() {
                Some(Item::Visit(v)) => Some(v),
                _ => None,
            }
        }
        match collection {
            "visits" => match visit(&self.get(false, collection, id)?) {
                Some(v) if v.is_finalised() => {
                    // Only a new addendum, in the principal's own name.
                    let addendum: Option<ItemId> = (path.get(2).map(String::as_str)
                        == Some("addenda"))
                    .then(|| path.get(3)?.parse().ok())
                    .flatten();
                    let Some(aid) = addendum else {
                        return refuse(Rule::FinalisedVisitAddendumOnly, "");
                    };
                    if v.addenda.contains_key(&aid) {
                        return refuse(
                            Rule::FinalisedVisitAddendumOnly,
                            "an addendum, once shared, is not edited",
                        );
                    }
                    let by = visit(&self.get(true, collection, id)?)
                        .and_then(|v| v.addenda.get(&aid).map(|a| a.by));
                    self.own_item(None, by, Rule::AuthorIsSelf)
                }
                Some(v) => {
                    if v.practitioner != p.person {
                        return refuse(Rule::DraftVisitAuthorOnly, "");
                    }
                    let author = visit(&self.get(true, collection, id)?).map(|v| v.practitioner);
                    self.own_item(None, author, Rule::AuthorIsSelf)
                }
                None => {
                    let author = visit(&self.get(true, collection, id)?).map(|v| v.practitioner);
                    self.own_item(None, author, Rule::AuthorIsSelf)
                }
            },
            "family_voice" => {
                let by = |i: Option<Rc<Item>>| match i.as_deref() {
                    Some(Item::Voice(f)) => Some(f.recorded_by),
                    _ => None,
                };
                let after = self.get(true, collection, id)?;
                self.own_item(
                    by(self.get(false, collection, id)?),
                    by(after.clone()),
                    Rule::OwnWordsAuthorOnly,
                )?;
                // Words given without consent to share go to the recording
                // agency's record; the team record is read by every agency.
                if let (DocKey::Record(_), Some(Item::Voice(f))) = (self.key, after.as_deref())
                    && !f.consent_to_share
                {
                    return refuse(
                        Rule::ConsentToShare,
                        "the entry's consent_to_share is false",
                    );
                }
                Ok(())
            }
            "chronology" | "withheld" => {
                // New here: an existing one was judged above.
                let by = match self.get(true, collection, id)?.as_deref() {
                    Some(Item::RecordedBy(p)) => Some(*p),
                    _ => None,
                };
                self.own_item(None, by, Rule::AuthorIsSelf)
            }
            _ => refuse(
                Rule::DocumentStructure,
                format!("`{collection}` is not a section of this record"),
            ),
        }
    }

    /// An existing chronology entry or withheld section, recorded by `by`:
    /// changed or deleted only by a member of the agency that recorded it
    /// or a supervisor of that agency's members of the team.
    ///
    /// The recording agency is `by`'s agency in the team; for someone no
    /// longer on it, an agency record's own agency, else a chronology
    /// entry's `source_agency`. Withheld content in the team record whose
    /// author has left is changed by a supervisor of the team only.
    fn authoring_agency_only(
        &self,
        collection: &str,
        id: ItemId,
        by: PersonId,
    ) -> Result<(), Refusal> {
        let agency = match (self.team.members.get(&by), self.key.agency()) {
            (Some(m), _) => Some(m.agency),
            (None, Some(a)) => Some(a),
            (None, None) if collection == "chronology" => {
                let sid = id.to_string();
                robust::contain("item", || {
                    hydrate_at::<Agency, _>(
                        self.before,
                        &[collection, sid.as_str(), "source_agency"],
                    )
                })
                .map_err(|e| (Rule::InvalidDocument, e.to_string()))?
                .map_err(|e| (Rule::InvalidDocument, format!("{collection}/{id}: {e}")))?
            }
            (None, None) => None,
        };
        let p = self.principal;
        let allowed = match agency {
            Some(a) => {
                p.membership(self.team).is_some_and(|m| m.agency == a)
                    || p.supervises_team(self.team, Some(a))
            }
            None => p.supervises_team(self.team, None),
        };
        if allowed {
            Ok(())
        } else {
            refuse(
                Rule::AuthoringAgencyOnly,
                agency.map_or(String::new(), |a| format!("recorded by {}", a.as_str())),
            )
        }
    }

    /// An item that existed before may be changed only by its author (`rule`);
    /// a new item must name the principal as its author.
    fn own_item(
        &self,
        before_author: Option<PersonId>,
        after_author: Option<PersonId>,
        rule: Rule,
    ) -> Result<(), Refusal> {
        let me = self.principal.person;
        if let Some(a) = before_author
            && a != me
        {
            return refuse(rule, "");
        }
        if let Some(a) = after_author
            && a != me
        {
            return refuse(Rule::AuthorIsSelf, "");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    /// Every object a change makes at a map key is learnt with the path the
    /// document gives it; objects made inside lists are left to the document.
    #[test]
    fn paths_learnt_from_make_operations_are_the_documents() {
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
        let mut tx = doc.transaction();
        tx.put_object(ROOT, "visits", ObjType::Map).unwrap();
        tx.commit();
        let before = doc.get_heads();
        // A visit as a practitioner records it (texts, lists, an addenda map).
        let visit = crate::demo::partnership()
            .children
            .iter()
            .flat_map(|c| c.record.visits.values())
            .next()
            .cloned()
            .unwrap();
        let id = visit.id;
        let mut tx = doc.transaction();
        let visits = match tx.get(&ROOT, "visits").unwrap() {
            Some((_, obj)) => obj,
            None => unreachable!(),
        };
        autosurgeon::reconcile_prop(&mut tx, &visits, id.to_string().as_str(), &visit).unwrap();
        // And a map inside a list, whose path holds an index.
        let list = tx.put_object(ROOT, "notes", ObjType::List).unwrap();
        let inner = tx.insert_object(&list, 0, ObjType::Map).unwrap();
        tx.put(&inner, "x", 1).unwrap();
        tx.commit();
        let change = doc.get_changes(&before).remove(0);

        let expanded = change.decode();
        let start = expanded.start_op.get();
        let mut learnt = ObjectPaths::default();
        // The visits map is known the usual way, as the gate would have it.
        let visits_id = ObjectId::Id(OpId(1, ActorId::from(vec![1; 16])));
        learnt.resolved.insert(
            visits_id,
            Resolved {
                path: vec!["visits".into()],
                sequence: false,
                passed_whole: false,
                passed_keys: HashSet::new(),
            },
        );
        let mut made = 0;
        for (i, op) in expanded.operations.iter().enumerate() {
            let id = OpId(start + i as u64, expanded.actor_id.clone());
            learnt.learn_made(op, id.clone());
            if !matches!(op.action, OpType::Make(_)) {
                continue;
            }
            let obj = ObjectId::Id(id);
            let from_doc = object_path(&doc, &obj).unwrap();
            match learnt.resolved.get(&obj) {
                Some(r) => {
                    assert_eq!((r.path.clone(), r.sequence), from_doc);
                    made += 1;
                }
                None => assert!(op.insert, "only objects made inside lists are left out"),
            }
        }
        // The visit, its four texts, two lists, the addenda map, the list at the root.
        assert!(made >= 8, "learnt {made}");
    }
}
