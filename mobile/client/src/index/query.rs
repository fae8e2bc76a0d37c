//! Every read of the index: what the lists, a child's page and the editors
//! ask of it, over the store's connection. Rows come back typed; nothing
//! here decides who may see what (the services apply the policy).

use bothy_shared::docs::{DocKey, IsoDate, Timestamp};
use bothy_shared::ids::{ChildId, ItemId};
use rusqlite::{Connection, OptionalExtension, params};

use super::views::ItemView;
use crate::store::StoreError;

/// Every item view of the documents `keys` of `child`.
pub fn child_views(
    conn: &Connection,
    child: ChildId,
    keys: &[DocKey],
) -> Result<Vec<(DocKey, ItemView)>, StoreError> {
    let mut select =
        conn.prepare_cached("SELECT doc_key, body FROM idx_items WHERE child_id = ?1")?;
    let rows = select.query_map(params![child.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (k, body) = row?;
        let Ok(key) = k.parse::<DocKey>() else {
            continue;
        };
        if !keys.contains(&key) {
            continue;
        }
        // A row this build cannot read is skipped, not fatal: the next full
        // reindex rewrites it.
        if let Ok(v) = serde_json::from_slice::<ItemView>(&body) {
            out.push((key, v));
        }
    }
    Ok(out)
}

/// One child's caseload row, as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseloadRow {
    pub child: ChildId,
    pub name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: Option<IsoDate>,
    pub review_date: Option<IsoDate>,
    pub last_visit: Option<Timestamp>,
    pub lead_professional: Option<String>,
    /// The day the last review meeting was held.
    pub last_review: Option<IsoDate>,
    /// The plan has a transition plan; `None` until the plan is indexed
    /// again by a build that knows (see the store's migration 4).
    pub has_transition_plan: Option<bool>,
    /// Changes to the child's documents made on this device that the server
    /// has not acknowledged.
    pub unsynced_changes: usize,
}

/// Every child in the index, by name. A row whose child id this build
/// cannot read is left out.
pub fn caseload(conn: &Connection) -> Result<Vec<CaseloadRow>, StoreError> {
    let mut select = conn.prepare_cached(
        "SELECT c.child_id, c.name, c.preferred_name, c.date_of_birth, c.review_date, c.last_visit_at,
                c.lead_professional, c.last_review, c.has_transition_plan,
                (SELECT count(*) FROM changes ch
                  WHERE ch.local = 1 AND (ch.doc_key = 'plan/' || c.child_id
                     OR ch.doc_key = 'record/' || c.child_id
                     OR ch.doc_key LIKE 'agency/' || c.child_id || '/%'))
         FROM idx_children c ORDER BY c.name",
    )?;
    let rows = select.query_map(params![], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, Option<bool>>(8)?,
            r.get::<_, i64>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, preferred, dob, review, last, lead, last_review, transition, unsynced) =
            row?;
        let Ok(child) = id.parse::<ChildId>() else {
            continue;
        };
        out.push(CaseloadRow {
            child,
            name,
            preferred_name: preferred,
            date_of_birth: dob.and_then(|d| d.parse().ok()),
            review_date: review.and_then(|r| r.parse().ok()),
            last_visit: last.map(Timestamp),
            lead_professional: lead,
            last_review: last_review.and_then(|r| r.parse().ok()),
            has_transition_plan: transition,
            unsynced_changes: usize::try_from(unsynced).unwrap_or(0),
        });
    }
    Ok(out)
}

/// The need an action in the child's plan belongs to: `None` if the index
/// has no such action (or it is not under a need).
pub fn need_of_action(
    conn: &Connection,
    child: ChildId,
    action: ItemId,
) -> Result<Option<ItemId>, StoreError> {
    let need: Option<Option<String>> = conn
        .prepare_cached("SELECT need_id FROM idx_actions WHERE doc_key = ?1 AND action_id = ?2")?
        .query_row(
            params![DocKey::Plan(child).to_string(), action.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(need.flatten().and_then(|n| n.parse().ok()))
}
