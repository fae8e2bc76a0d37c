//! Documents new to the device (a new phone's first sync, or a child just
//! added to a caseload): which to ask for first, and how many at a time.
//!
//! The server answers a new document's first message with the whole
//! document, compressed (one V2 chunk). Asking for every new document at
//! once makes one response of megabytes: on a poor mobile link that is tens
//! of seconds in which nothing is usable, and a cut loses all of it. So new
//! documents wait in a queue and are asked for in priority order (the plans
//! and the young person's copies first, then requests for help, agency
//! records, and the team records, the largest, last), a few per request: as
//! many as fit a target response size, by what documents of the same kind
//! weighed so far. Each reply is stored as it arrives, so a cut loses at most
//! the request in flight, and a retry or the next run finds the stored ones
//! already there (their persisted sync state names their heads, and the
//! server then sends nothing big for them).

use std::collections::{BTreeMap, BTreeSet};

use bothy_shared::docs::{DocKey, DocKind};

/// The order new documents are asked for in: what makes the device useful
/// first, the largest last.
pub(super) fn priority(key: &DocKey) -> u8 {
    match key.kind() {
        DocKind::Plan => 0,
        DocKind::Young => 1,
        DocKind::Request => 2,
        DocKind::Agency => 3,
        DocKind::Record => 4,
    }
}

/// Documents of a kind not seen yet in the run are counted this many per
/// target response, so the first request of a kind asks for a few only.
const FIRST_GUESS_PER_REQUEST: usize = 4;

/// What the documents of one kind weighed so far in the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Weight {
    docs: usize,
    bytes: usize,
}

/// The queue of new documents of one run.
#[derive(Debug)]
pub(super) struct Arrivals {
    waiting: BTreeSet<(u8, DocKey)>,
    weights: BTreeMap<u8, Weight>,
    /// Aim for responses of about this many bytes.
    target_bytes: usize,
}

impl Arrivals {
    /// An empty queue aiming at responses of `target_bytes`.
    pub(super) fn new(target_bytes: usize) -> Arrivals {
        Arrivals {
            waiting: BTreeSet::new(),
            weights: BTreeMap::new(),
            target_bytes: target_bytes.max(1),
        }
    }

    /// Wait for `key` (once, however often it is queued).
    pub(super) fn queue(&mut self, key: DocKey) {
        self.waiting.insert((priority(&key), key));
    }

    /// Take `key` out of the queue (it went, or is exchanged otherwise).
    pub(super) fn remove(&mut self, key: &DocKey) {
        self.waiting.remove(&(priority(key), *key));
    }

    pub(super) fn is_waiting(&self, key: &DocKey) -> bool {
        self.waiting.contains(&(priority(key), *key))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// What one more document like `key` is expected to weigh.
    fn expected(&self, key: &DocKey) -> usize {
        match self.weights.get(&priority(key)) {
            Some(w) if w.docs > 0 => (w.bytes / w.docs).max(1),
            _ => (self.target_bytes / FIRST_GUESS_PER_REQUEST).max(1),
        }
    }

    /// The next documents to ask for, in priority order: at least one (if
    /// any waits), then more while their expected sizes fit the target,
    /// at most `max_docs`.
    pub(super) fn next(&mut self, max_docs: usize) -> Vec<DocKey> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while let Some(&(p, key)) = self.waiting.first() {
            let size = self.expected(&key);
            if !out.is_empty()
                && (out.len() >= max_docs || bytes.saturating_add(size) > self.target_bytes)
            {
                break;
            }
            self.waiting.remove(&(p, key));
            bytes = bytes.saturating_add(size);
            out.push(key);
        }
        out
    }

    /// `key` arrived whole in `bytes` (its reply's message).
    pub(super) fn weighed(&mut self, key: &DocKey, bytes: usize) {
        let w = self.weights.entry(priority(key)).or_default();
        w.docs += 1;
        w.bytes = w.bytes.saturating_add(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bothy_shared::ids::{Agency, ChildId};
    use uuid::Uuid;

    fn child(n: u128) -> ChildId {
        ChildId(Uuid::from_u128(n))
    }

    #[test]
    fn plans_come_first_and_records_last_whatever_the_order_queued() {
        let mut a = Arrivals::new(1_000_000);
        for n in 1..=3 {
            a.queue(DocKey::Record(child(n)));
            a.queue(DocKey::Agency(child(n), Agency::Health));
            a.queue(DocKey::Young(child(n), 1));
            a.queue(DocKey::Plan(child(n)));
        }
        a.queue(DocKey::Plan(child(1)));
        let mut order = Vec::new();
        while !a.is_empty() {
            order.extend(a.next(256));
        }
        let kinds: Vec<DocKind> = order.iter().map(|k| k.kind()).collect();
        assert_eq!(
            kinds,
            [
                [DocKind::Plan; 3],
                [DocKind::Young; 3],
                [DocKind::Agency; 3],
                [DocKind::Record; 3]
            ]
            .concat()
        );
    }

    #[test]
    fn a_kind_not_seen_yet_goes_a_few_at_a_time_then_by_its_weight() {
        let mut a = Arrivals::new(100_000);
        for n in 1..=40 {
            a.queue(DocKey::Plan(child(n)));
            a.queue(DocKey::Record(child(n)));
        }
        let first = a.next(256);
        assert_eq!(first.len(), FIRST_GUESS_PER_REQUEST);
        for key in &first {
            a.weighed(key, 5_000);
        }
        // 5 KB plans: 20 fit 100 KB.
        let second = a.next(256);
        assert_eq!(second.len(), 20);
        assert!(second.iter().all(|k| k.kind() == DocKind::Plan));
        for key in &second {
            a.weighed(key, 5_000);
        }
        // The last 16 plans, then records (not seen yet) counted at 25 KB
        // each: 16 x 5 KB + 1 x 25 KB > 100 KB, so the plans go alone.
        let third = a.next(256);
        assert_eq!(third.len(), 16);
        // Records of 200 KB: one at a time (never none).
        let fourth = a.next(256);
        assert_eq!(fourth.len(), FIRST_GUESS_PER_REQUEST);
        for key in &fourth {
            a.weighed(key, 200_000);
        }
        assert_eq!(a.next(256).len(), 1);
        assert_eq!(a.next(2).len(), 1);
    }

    #[test]
    fn at_most_max_docs_and_removed_keys_do_not_come() {
        let mut a = Arrivals::new(usize::MAX);
        for n in 1..=10 {
            a.queue(DocKey::Plan(child(n)));
        }
        a.weighed(&DocKey::Plan(child(99)), 1);
        a.remove(&DocKey::Plan(child(1)));
        assert!(!a.is_waiting(&DocKey::Plan(child(1))));
        let got = a.next(3);
        assert_eq!(got.len(), 3);
        assert!(!got.contains(&DocKey::Plan(child(1))));
        assert_eq!(a.next(256).len(), 6);
        assert!(a.is_empty());
        assert!(a.next(256).is_empty());
    }
}
