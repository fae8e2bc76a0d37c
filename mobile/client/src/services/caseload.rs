//! The caseload: the children this device holds, with what needs attention.

use bothy_shared::docs::{IsoDate, Timestamp};
use bothy_shared::ids::ChildId;
use serde::Serialize;

use super::Client;
use crate::error::ServiceError;
use crate::index;

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
    /// The day the last review meeting was held.
    pub last_review: Option<IsoDate>,
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
    /// 15 or over, and the plan has no transition plan (see
    /// [`transition_plan_missing`](super::transition_plan_missing)).
    pub no_transition_plan: bool,
}

/// A review is due when the review date is `within` days away or past,
/// unless a review meeting was held since the flag came on (on or after
/// `within` days before the review date): a review held on the day, or a
/// little early, is the review that was due, whether or not it set the next
/// date.
pub fn review_due(
    review_date: Option<IsoDate>,
    last_review: Option<IsoDate>,
    today: IsoDate,
    within: i64,
) -> bool {
    review_date.is_some_and(|d| {
        let flag_on = d.plus_days(-within);
        today >= flag_on && last_review.is_none_or(|held| held < flag_on)
    })
}

impl Client {
    /// Every child on this device, the ones needing attention first, then by name.
    /// `search` filters by name (case-insensitive), if given.
    pub fn caseload(&self, search: Option<&str>) -> Result<Vec<CaseloadEntry>, ServiceError> {
        let now = Timestamp::now();
        let today = IsoDate::today();
        let needle = search
            .map(str::to_lowercase)
            .filter(|s| !s.trim().is_empty());
        let young_person = self.dir.me.is_young_person();
        let mut out = Vec::new();
        for row in index::caseload(self.store.connection())? {
            if !self.dir.teams.contains_key(&row.child) {
                continue;
            }
            if let Some(n) = &needle
                && !row.name.to_lowercase().contains(n.as_str())
                && !row
                    .preferred_name
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(n.as_str())
            {
                continue;
            }
            let flags = Flags {
                visit_overdue: !young_person
                    && row
                        .last_visit
                        .is_none_or(|t| t.plus_days(self.settings.visit_overdue_after_days) < now),
                review_due: review_due(
                    row.review_date,
                    row.last_review,
                    today,
                    self.settings.review_due_within_days,
                ),
                unsynced: row.unsynced_changes > 0,
                no_transition_plan: !young_person
                    && super::transition_plan_missing(
                        row.date_of_birth,
                        row.has_transition_plan,
                        today,
                    ),
            };
            out.push(CaseloadEntry {
                child: row.child,
                name: row.name,
                preferred_name: row.preferred_name,
                date_of_birth: row.date_of_birth,
                lead_professional: row.lead_professional,
                last_visit: row.last_visit,
                review_date: row.review_date,
                last_review: row.last_review,
                flags,
                unsynced_changes: row.unsynced_changes,
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
        Ok(self.store.unacknowledged_change_count()?)
    }
}
