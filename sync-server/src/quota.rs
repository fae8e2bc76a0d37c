//! What one device may write per day: bytes of changes accepted, and
//! documents (requests for help) started. `/v1/sync` asks before it applies
//! a message and counts what it stored once it is stored.
//!
//! Kept in memory, per server process, by UTC day: a restart, or another
//! instance behind the same load balancer, starts its own count. That
//! bounds what a device can make one instance hold in a day (the point: the
//! gate already bounds each change), at no cost to storage; the limits are
//! far above what a practitioner's day of work sends.

use std::collections::HashMap;
use std::sync::Mutex;

use bothy_shared::ids::DeviceId;

use crate::storage::UnixSeconds;

/// Bytes of changes one device may have accepted per UTC day.
pub const MAX_BYTES_PER_DEVICE_PER_DAY: u64 = 64 * 1024 * 1024;

/// Documents one device may start per UTC day (requests for help: every
/// other document is made by the server).
pub const MAX_NEW_DOCUMENTS_PER_DEVICE_PER_DAY: u64 = 50;

const DAY: UnixSeconds = 86_400;

/// How much of the day's quota a message would use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Use {
    pub bytes: u64,
    pub documents: u64,
}

impl Use {
    fn plus(self, other: Use) -> Use {
        Use {
            bytes: self.bytes.saturating_add(other.bytes),
            documents: self.documents.saturating_add(other.documents),
        }
    }

    fn within(self, limits: Use) -> bool {
        self.bytes <= limits.bytes && self.documents <= limits.documents
    }
}

/// Each device's use today.
#[derive(Debug)]
pub struct DeviceQuotas {
    limits: Use,
    used: Mutex<HashMap<DeviceId, (UnixSeconds, Use)>>,
}

impl Default for DeviceQuotas {
    fn default() -> Self {
        DeviceQuotas::new(Use {
            bytes: MAX_BYTES_PER_DEVICE_PER_DAY,
            documents: MAX_NEW_DOCUMENTS_PER_DEVICE_PER_DAY,
        })
    }
}

impl DeviceQuotas {
    pub fn new(limits: Use) -> Self {
        DeviceQuotas {
            limits,
            used: Mutex::default(),
        }
    }

    fn today(&self, device: DeviceId, now: UnixSeconds) -> Use {
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        match used.get(&device) {
            Some((day, u)) if *day == now.div_euclid(DAY) => *u,
            _ => Use::default(),
        }
    }

    /// Whether `device` may, on top of what it has used today and
    /// `pending` (counted in this request, not stored yet), use `more`.
    pub fn allows(&self, device: DeviceId, now: UnixSeconds, pending: Use, more: Use) -> bool {
        self.today(device, now)
            .plus(pending)
            .plus(more)
            .within(self.limits)
    }

    /// Count what was stored.
    pub fn charge(&self, device: DeviceId, now: UnixSeconds, stored: Use) {
        if stored == Use::default() {
            return;
        }
        let day = now.div_euclid(DAY);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        // Yesterday's devices go when the map has grown: a device that
        // wrote yesterday has nothing left to count today.
        if used.len() > 10_000 {
            used.retain(|_, (d, _)| *d == day);
        }
        let entry = used.entry(device).or_insert((day, Use::default()));
        if entry.0 != day {
            *entry = (day, Use::default());
        }
        entry.1 = entry.1.plus(stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_refused_past_its_daily_bytes_and_counted_again_the_next_day() {
        let q = DeviceQuotas::new(Use {
            bytes: 100,
            documents: 1,
        });
        let d = DeviceId::random();
        let other = DeviceId::random();
        let now = 10 * DAY + 5;
        let b = |bytes| Use {
            bytes,
            documents: 0,
        };
        assert!(q.allows(d, now, Use::default(), b(100)));
        q.charge(d, now, b(60));
        assert!(q.allows(d, now, Use::default(), b(40)));
        assert!(!q.allows(d, now, Use::default(), b(41)));
        // Pending use in the same request counts too.
        assert!(!q.allows(d, now, b(30), b(20)));
        // Another device has its own count; tomorrow starts again.
        assert!(q.allows(other, now, Use::default(), b(100)));
        assert!(q.allows(d, now + DAY, Use::default(), b(100)));
        let doc = Use {
            bytes: 0,
            documents: 1,
        };
        assert!(q.allows(d, now, Use::default(), doc));
        q.charge(d, now, doc);
        assert!(!q.allows(d, now, Use::default(), doc));
    }
}
