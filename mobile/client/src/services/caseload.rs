//! The caseload: the children this device holds, with what needs attention.

use bothy_shared::docs::{IsoDate, Timestamp};
use bothy_shared::ids::ChildId;
use rusqlite::params;
use serde::Serialize;

use super::Client;
use crate::error::ServiceError;
use crate::store::StoreError;

/// One child on the caseload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseloadEntry {
    pub child: ChildId,
    pub name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: Option<IsoDate>,
    pub lead_professional: Option<String>,
    pub last_visit: Option<Timestamp>,
    pub review_date: Option<IsoDate>,
    pub flags: Flags,
    /// Changes made on this device that the server has not acknowledged yet.
    pub unsynced_changes: usize,
}

/// What needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Flags {
    pub visit_overdue: bool,
    pub review_due: bool,
    pub unsynced: bool,
}

impl Client {
    /// Every child on this device, the ones needing attention first, then by name.
    /// `search` filters by name (case-insensitive), if given.
    pub fn caseload(&self, search: Option<&str>) -> Result<Vec<CaseloadEntry>, ServiceError> {
        let now = Timestamp::now();
        let today = IsoDate::today();
        let conn = self.store.connection();
        let mut select = conn
            .prepare_cached(
                "SELECT c.child_id, c.name, c.preferred_name, c.date_of_birth, c.review_date, c.last_visit_at,
                        c.lead_professional,
                        (SELECT count(*) FROM changes ch
                          WHERE ch.local = 1 AND (ch.doc_key = 'plan/' || c.child_id
                             OR ch.doc_key = 'record/' || c.child_id
                             OR ch.doc_key LIKE 'agency/' || c.child_id || '/%'))
                 FROM idx_children c ORDER BY c.name",
            )
            .map_err(StoreError::from)?;
        let rows = select
            .query_map(params![], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(StoreError::from)?;
        let needle = search
            .map(str::to_lowercase)
            .filter(|s| !s.trim().is_empty());
        let mut out = Vec::new();
        for row in rows {
            let (id, name, preferred, dob, review, last, lead, unsynced) =
                row.map_err(StoreError::from)?;
            let Ok(child) = id.parse::<ChildId>() else {
                continue;
            };
            if !self.dir.teams.contains_key(&child) {
                continue;
            }
            if let Some(n) = &needle
                && !name.to_lowercase().contains(n.as_str())
                && !preferred
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(n.as_str())
            {
                continue;
            }
            let last_visit = last.map(Timestamp);
            let review_date = review.and_then(|r| r.parse().ok());
            let young_person = self.dir.me.is_young_person();
            let flags = Flags {
                visit_overdue: !young_person
                    && last_visit
                        .is_none_or(|t| t.plus_days(self.settings.visit_overdue_after_days) < now),
                review_due: review_date.is_some_and(|d: IsoDate| {
                    today.days_until(d) <= self.settings.review_due_within_days
                }),
                unsynced: unsynced > 0,
            };
            out.push(CaseloadEntry {
                child,
                name,
                preferred_name: preferred,
                date_of_birth: dob.and_then(|d| d.parse().ok()),
                lead_professional: lead,
                last_visit,
                review_date,
                flags,
                unsynced_changes: usize::try_from(unsynced).unwrap_or(0),
            });
        }
        out.sort_by_key(|e| {
            (
                !(e.flags.visit_overdue || e.flags.review_due),
                e.name.clone(),
            )
        });
        Ok(out)
    }

    /// Changes made on this device not yet acknowledged by the server.
    pub fn unsynced_changes(&self) -> Result<usize, ServiceError> {
        let n: i64 = self
            .store
            .connection()
            .query_row(
                "SELECT count(*) FROM changes WHERE local = 1",
                params![],
                |r| r.get(0),
            )
            .map_err(StoreError::from)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
