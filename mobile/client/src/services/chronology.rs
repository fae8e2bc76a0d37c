//! The chronology beyond adding an entry by hand (that is
//! [`Client::add_chronology_entry`]): marking a visit significant, and
//! reading the merged chronology with its filters.
//!
//! A finalised visit is never edited, so marking a
//! visit significant writes a chronology entry citing it (`from_visit`) into
//! the document the visit is in: the same people read the visit and the
//! entry, and the merge shows the entry in the visit's place.

use bothy_shared::docs::*;
use bothy_shared::ids::{Agency, ChildId, ItemId};
use serde::{Deserialize, Serialize};

use super::{ChronologyItem, Client};
use crate::error::ServiceError;

/// Which chronology entries to show; `None` shows all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChronologyFilter {
    pub agency: Option<Agency>,
    pub impact: Option<Impact>,
}

impl Client {
    /// Mark the visit `visit` (in `key`) significant: a chronology entry
    /// citing it, in the same document, dated the day of the visit. Marking
    /// it again gives the entry already there.
    pub fn mark_visit_significant(
        &mut self,
        key: DocKey,
        visit: ItemId,
        impact: Impact,
    ) -> Result<ItemId, ServiceError> {
        let v: Visit = self
            .read_item(&key, &ItemPath::item("visits", visit))?
            .ok_or_else(|| ServiceError::not_found("visit", visit))?;
        let record: RecordDoc = self.read(&key)?;
        if let Some(c) = record
            .chronology
            .values()
            .find(|c| c.from_visit == Some(visit))
        {
            return Ok(c.id);
        }
        let date =
            v.at.date()
                .ok_or_else(|| ServiceError::bad("visit", "the visit's time is not a date"))?;
        let event = format!(
            "{} by {}: {}",
            v.kind.label(),
            v.practitioner_name,
            v.observations.as_str().lines().next().unwrap_or("").trim()
        );
        let id = ItemId::random();
        self.edit_item::<ChronologyEntry, _>(
            key,
            ItemPath::item("chronology", id),
            "mark visit significant",
            |slot, me| {
                *slot = Some(ChronologyEntry {
                    id,
                    date,
                    until: None,
                    event: Text::with_value(event),
                    source_agency: v.agency,
                    impact,
                    impact_note: Text::default(),
                    action: Text::with_value(v.next_steps.as_str()),
                    significance: Significance::Significant,
                    recorded_by: me.person,
                    from_visit: Some(visit),
                });
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// The child's chronology merged from every record this person may read
    /// (and visits marked significant), oldest first, kept to `filter`.
    pub fn chronology_filtered(
        &mut self,
        child: ChildId,
        filter: ChronologyFilter,
    ) -> Result<Vec<ChronologyItem>, ServiceError> {
        let mut items = self.chronology(child, filter.agency)?;
        items.retain(|i| filter.impact.is_none_or(|want| i.impact == want));
        Ok(items)
    }
}
