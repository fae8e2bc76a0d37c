//! Replies built from the change bytes the server already holds.
//!
//! Automerge 0.12 keeps a document as operation columns, not as the changes
//! that made it: `generate_sync_message` rebuilds every change it sends by
//! walking the operations by counter, a cost that follows the size of the
//! whole document, not of the changes sent. On a team record with years of
//! visits, answering a push with the two visits colleagues synced since
//! cost many times the merge itself (issue 18, item 2).
//!
//! The server has the bytes of the changes it merged lately: those it
//! accepted from devices and those it folded in from storage. [`Kept`]
//! holds the latest of them for each cached document (a bounded number and
//! size, counted in the cache's estimate), and [`generate`] builds the
//! message Automerge would build, choosing the same changes by the same
//! rule (what the peer asked for by hash, then every change since the
//! peer's last sync that its bloom filter lacks, with the changes that
//! depend on them), with the kept bytes, and moves the sync state as
//! Automerge moves it. When a chosen change is not kept, or the message is
//! one Automerge builds another way (the whole document to a peer that has
//! nothing, or when more than a third of it would go; a reset; a read-only
//! peer), Automerge builds it as before: the same message, only slower.
//!
//! The device's push does the same from its outbox
//! (`bothy_client::sync::outbox`).

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::sync::{Message, State, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};

/// At most this many changes are kept for one document.
pub(super) const MAX_KEPT_CHANGES: usize = 256;
/// At most this many bytes of changes are kept for one document.
pub(super) const MAX_KEPT_BYTES: usize = 256 * 1024;

/// The bytes of a document's latest changes, by hash; the oldest go first.
#[derive(Default)]
pub(super) struct Kept {
    by_hash: HashMap<ChangeHash, Vec<u8>>,
    order: VecDeque<ChangeHash>,
    bytes: usize,
}

impl Kept {
    /// Keep `bytes` (a whole change, as stored) as the change `hash`.
    pub(super) fn keep(&mut self, hash: ChangeHash, bytes: &[u8]) {
        if bytes.len() > MAX_KEPT_BYTES || self.by_hash.contains_key(&hash) {
            return;
        }
        self.by_hash.insert(hash, bytes.to_vec());
        self.order.push_back(hash);
        self.bytes += bytes.len();
        while self.order.len() > MAX_KEPT_CHANGES || self.bytes > MAX_KEPT_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.by_hash.remove(&oldest) {
                self.bytes -= gone.len();
            }
        }
    }

    /// The bytes kept (for the cache's estimate).
    pub(super) fn bytes(&self) -> u64 {
        self.bytes as u64
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }
}

/// The next sync message for `doc` in `state`: from the kept bytes when
/// they hold every change to send, else from Automerge.
pub(super) fn generate(doc: &Automerge, state: &mut State, kept: &Kept) -> Option<Message> {
    match from_kept(doc, state, kept) {
        Some(message) => Some(message),
        None => doc.generate_sync_message(state),
    }
}

/// The message Automerge would generate, with the kept bytes, and `state`
/// moved as Automerge moves it; `None` (and `state` untouched) when there
/// are no changes to send or Automerge must build it (see the module).
fn from_kept(doc: &Automerge, state: &mut State, kept: &Kept) -> Option<Message> {
    if state.read_only || state.peer_read_only {
        return None;
    }
    let have = state.their_have.as_ref()?;
    let need = state.their_need.as_ref()?;
    // A peer with nothing gets the whole document (a V2 message).
    if state.their_heads.as_deref() == Some(&[]) {
        return None;
    }
    let holds = |h: &ChangeHash| doc.get_change_meta_by_hash(h).is_some();
    // A last sync naming a change we lack: Automerge answers with a reset.
    if let Some(first) = have.first()
        && !first.last_sync.iter().all(holds)
    {
        return None;
    }

    // What Automerge chooses (its `get_hashes_to_send`): the changes asked
    // for by hash that we hold; and, when the peer said what it has, every
    // change since its last sync its bloom filters lack, with every change
    // depending on one of those, in the document's order.
    let asked: Vec<ChangeHash> = need.iter().filter(|h| holds(h)).copied().collect();
    let mut chosen = if have.is_empty() {
        asked
    } else {
        let mut last_sync: Vec<ChangeHash> = have
            .iter()
            .flat_map(|h| h.last_sync.iter().copied())
            .collect();
        last_sync.sort_unstable();
        last_sync.dedup();
        let since = doc.get_changes_meta(&last_sync);
        let mut dependents: HashMap<ChangeHash, Vec<ChangeHash>> = HashMap::new();
        let mut sending: HashSet<ChangeHash> = HashSet::new();
        for change in &since {
            for dep in &change.deps {
                dependents.entry(*dep).or_default().push(change.hash);
            }
            if have.iter().all(|h| !h.bloom.contains_hash(&change.hash)) {
                sending.insert(change.hash);
            }
        }
        let mut stack: Vec<ChangeHash> = sending.iter().copied().collect();
        while let Some(hash) = stack.pop() {
            for dependent in dependents.get(&hash).into_iter().flatten() {
                if sending.insert(*dependent) {
                    stack.push(*dependent);
                }
            }
        }
        let mut chosen: Vec<ChangeHash> =
            asked.into_iter().filter(|h| !sending.contains(h)).collect();
        chosen.extend(since.iter().map(|c| c.hash).filter(|h| sending.contains(h)));
        chosen
    };
    chosen.retain(|h| !state.sent_hashes.contains(h));
    // Nothing to rebuild: Automerge's own message costs no more.
    if chosen.is_empty() {
        return None;
    }
    // More than a third of the document: Automerge sends it whole.
    if chosen.len() as u64 > doc.stats().num_changes / 3 {
        return None;
    }
    let chunks: Vec<Vec<u8>> = chosen
        .iter()
        .map(|h| kept.by_hash.get(h).cloned())
        .collect::<Option<_>>()?;

    bothy_shared::wire::sync_message_with_changes(doc, state, chosen, chunks)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    fn edit(doc: &mut Automerge, actor: u8, n: usize) -> Vec<automerge::Change> {
        let before = doc.get_heads();
        doc.set_actor(ActorId::from(vec![actor; 16]));
        for i in 0..n {
            let mut tx = doc.transaction();
            tx.put(ROOT, format!("{actor}-{i}"), i as i64).unwrap();
            tx.commit();
        }
        doc.get_changes(&before)
    }

    /// A server document with `history` changes and a device in sync with
    /// it; then `colleagues` changes the device lacks (each kept) and `own`
    /// changes the server lacks; the device's next message received.
    fn scene(history: usize, colleagues: usize, own: usize) -> (Automerge, State, Kept, Automerge) {
        let mut server = Automerge::new();
        edit(&mut server, 1, history);
        let shared = server.get_heads();
        let mut device = server.fork();
        let mut kept = Kept::default();
        for c in edit(&mut server, 2, colleagues) {
            kept.keep(c.hash(), c.raw_bytes());
        }
        edit(&mut device, 9, own);
        let mut device_state = State::new();
        device_state.shared_heads = shared.clone();
        let message = device.generate_sync_message(&mut device_state).unwrap();
        let mut state = State::new();
        state.shared_heads = shared;
        server.receive_sync_message(&mut state, message).unwrap();
        (server, state, kept, device)
    }

    /// `device` after receiving `message`.
    fn received(device: &Automerge, message: Message) -> Automerge {
        let mut device = device.clone();
        device
            .receive_sync_message(&mut State::new(), message)
            .unwrap();
        device
    }

    #[test]
    fn the_message_is_the_one_automerge_builds_and_the_state_moves_alike() {
        for (colleagues, own) in [(1, 0), (2, 1), (5, 3)] {
            let (server, state, kept, device) = scene(50, colleagues, own);
            let mut ours = state.clone();
            let message = from_kept(&server, &mut ours, &kept).expect("built from the kept bytes");
            let mut theirs = state.clone();
            let automerge = server.generate_sync_message(&mut theirs).unwrap();
            assert_eq!(message.heads, automerge.heads);
            assert_eq!(message.need, automerge.need);
            assert_eq!(message.have.len(), automerge.have.len());
            assert_eq!(message.changes.len(), colleagues, "one chunk per change");
            let with_ours = received(&device, message);
            let with_theirs = received(&device, automerge);
            assert_eq!(with_ours.get_heads(), with_theirs.get_heads());
            assert_eq!(
                with_ours.get_changes_meta(&[]).len(),
                device.get_changes_meta(&[]).len() + colleagues
            );
            assert_eq!(ours.sent_hashes, theirs.sent_hashes);
            assert_eq!(ours.last_sent_heads, theirs.last_sent_heads);
            assert_eq!(ours.shared_heads, theirs.shared_heads);
            assert_eq!(ours.in_flight, theirs.in_flight);
        }
    }

    #[test]
    fn a_change_not_kept_leaves_it_to_automerge() {
        let (server, state, _, _) = scene(30, 3, 0);
        let mut ours = state.clone();
        assert!(from_kept(&server, &mut ours, &Kept::default()).is_none());
        assert_eq!(
            ours.sent_hashes, state.sent_hashes,
            "the state is untouched"
        );
        let mut via = state.clone();
        let message = generate(&server, &mut via, &Kept::default()).unwrap();
        assert!(!message.changes.is_empty(), "Automerge sends them instead");
    }

    #[test]
    fn the_oldest_go_first_within_the_bounds() {
        let mut doc = Automerge::new();
        let changes = edit(&mut doc, 3, MAX_KEPT_CHANGES + 10);
        let mut kept = Kept::default();
        for c in &changes {
            kept.keep(c.hash(), c.raw_bytes());
        }
        assert_eq!(kept.len(), MAX_KEPT_CHANGES);
        assert!(!kept.by_hash.contains_key(&changes[0].hash()));
        assert!(kept.by_hash.contains_key(&changes.last().unwrap().hash()));
        kept.keep(ChangeHash([7; 32]), &vec![0; MAX_KEPT_BYTES - 1]);
        assert!(kept.bytes() <= MAX_KEPT_BYTES as u64);
        assert!(kept.by_hash.contains_key(&ChangeHash([7; 32])));
    }
}
