//! The gate for a request for help (`request/<id>`).
//!
//! A request differs from a child's documents in two ways the general walk
//! of [`super`] does not fit: the sender's device makes it (its first
//! change holds the whole request), and once it exists only new steps are
//! added to it. Everyone who ever reads a request's history is its one
//! audience (the sender, the duty team, their supervisors), so its changes
//! are judged on what they leave behind: the request as sent, unchanged,
//! and each new step taken by the right side, in its own name, where the
//! state allows it. An operation on the document's root after it exists is
//! refused outright, so the request's fields and steps map are never
//! replaced.

use automerge::legacy::ObjectId;
use automerge::{Automerge, Change};

use super::{GateError, Rejection, check_actors};
use crate::docs::{DocKey, RequestDoc, StepKind, read_document, schema_version};
use crate::policy::{AccessPolicy, ChildTeam, Principal, Rule};
use crate::robust;

/// Check `changes` to the request `key` (stored as `before`, empty while
/// the server has none) for `principal`, whose audience is `team`
/// ([`crate::docs::request_team`]); `after` when the caller has applied
/// them already.
pub(super) fn check(
    key: &DocKey,
    before: &Automerge,
    after: Option<Automerge>,
    changes: &[Change],
    principal: &Principal,
    team: &ChildTeam,
) -> Result<Automerge, GateError> {
    AccessPolicy::can_write(principal, key, team)?;
    let Some(first) = changes.first() else {
        return Ok(before.clone());
    };
    check_actors(changes, principal)?;
    super::check_bounds(before, changes)?;
    let creating = before.get_heads().is_empty();
    if !creating {
        schema_version(before, key.kind()).map_err(GateError::BeforeInvalid)?;
        for c in changes {
            let expanded = robust::expand_change(c)?;
            if expanded
                .operations
                .iter()
                .any(|op| op.obj == ObjectId::Root)
            {
                return Err(refuse(
                    c,
                    "",
                    Rule::DocumentStructure,
                    "a request is not changed once sent: add a step",
                ));
            }
        }
    }
    let after = match after {
        Some(after) => after,
        None => robust::apply_changes(before, changes)?,
    };
    for c in changes {
        if after.get_change_meta_by_hash(&c.hash()).is_none() {
            return Err(GateError::MissingDependencies(c.hash()));
        }
    }
    let now: RequestDoc =
        robust::contain("request", || read_document(&after, key))?.map_err(|e| {
            let (path, detail) = match &e {
                crate::docs::DocError::Invalid { problem, .. } => {
                    (problem.path.clone(), problem.reason.clone())
                }
                other => (String::new(), other.to_string()),
            };
            refuse(first, &path, Rule::InvalidDocument, detail)
        })?;
    if creating {
        check_sent(first, &now, principal)?;
    } else {
        let was: RequestDoc = read_document(before, key).map_err(GateError::BeforeInvalid)?;
        check_steps(first, &was, &now, principal, team)?;
    }
    Ok(after)
}

/// A new request: sent by the principal in their own name, with its one
/// `sent` step, and with consent or a lawful basis.
fn check_sent(c: &Change, sent: &RequestDoc, p: &Principal) -> Result<(), GateError> {
    if sent.from.person != p.person || p.agency.is_some_and(|a| a != sent.from.agency) {
        return Err(refuse(c, "from", Rule::AuthorIsSelf, ""));
    }
    let steps: Vec<_> = sent.steps.values().collect();
    match steps.as_slice() {
        [only] if only.kind == StepKind::Sent && only.by == p.person => {}
        _ => {
            return Err(refuse(
                c,
                "steps",
                Rule::RequestStepByRole,
                "a new request holds its sent step only",
            ));
        }
    }
    if sent.basis.is_none() {
        return Err(refuse(
            c,
            "basis",
            Rule::RequestConsentOrBasis,
            "basis is null",
        ));
    }
    Ok(())
}

/// An existing request: the same as sent; the old steps untouched; each
/// new one the principal's, of their side, where the state allows it.
fn check_steps(
    c: &Change,
    was: &RequestDoc,
    now: &RequestDoc,
    p: &Principal,
    team: &ChildTeam,
) -> Result<(), GateError> {
    let fixed = |d: &RequestDoc| RequestDoc {
        steps: Default::default(),
        ..d.clone()
    };
    if fixed(was) != fixed(now) {
        return Err(refuse(
            c,
            "",
            Rule::DocumentStructure,
            "a request is not changed once sent: add a step",
        ));
    }
    for (id, step) in &was.steps {
        if now.steps.get(id) != Some(step) {
            return Err(refuse(
                c,
                &format!("steps/{id}"),
                Rule::DocumentStructure,
                "a step, once taken, is not changed",
            ));
        }
    }
    let mut new: Vec<_> = now
        .steps
        .values()
        .filter(|s| !was.steps.contains_key(&s.id))
        .collect();
    new.sort_by_key(|s| (s.at, s.id));
    let side = was.side_of(p.person, team);
    let mut state = was.state();
    for step in new {
        let path = format!("steps/{}", step.id);
        if step.by != p.person {
            return Err(refuse(c, &path, Rule::AuthorIsSelf, ""));
        }
        if side != Some(step.kind.side()) || !step.kind.may_follow(state) {
            return Err(refuse(
                c,
                &path,
                Rule::RequestStepByRole,
                format!("{} after {}", step.kind.as_str(), state.as_str()),
            ));
        }
        state = step.kind.leaves();
    }
    Ok(())
}

fn refuse(c: &Change, path: &str, rule: Rule, detail: impl Into<String>) -> GateError {
    GateError::Rejected(Rejection {
        change: c.hash(),
        path: path.to_owned(),
        rule,
        detail: detail.into(),
    })
}
