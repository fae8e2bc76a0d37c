//! The first message of a push, built from the outbox.
//!
//! Automerge's `generate_sync_message` rebuilds every change it sends out of
//! the document's operation columns, which costs more the larger the
//! document grows; on a simulated device under load it was 10–13% of all
//! CPU. A device's own unsynced changes are already kept, whole, in its
//! outbox (`LocalReplica::unacknowledged_changes`). When the sync state is
//! the one [`wire::resume_sync_state`] primes (the server holds exactly the
//! shared heads and has not spoken yet this run), the message Automerge
//! would build is known in advance: our heads, our need and have, and every
//! change after the shared heads. [`from_outbox`] builds that message with
//! the outbox's bytes and moves the state exactly as Automerge would; in
//! every other case it declines and the caller asks Automerge.
//!
//! The outbox keeps changes as `Change::bytes()` (compressed when that is
//! smaller), and a sync message may carry any change chunk, so the push is
//! also smaller on the wire than Automerge's own (which sends them raw).
//!
//! [`wire::resume_sync_state`]: bothy_shared::wire::resume_sync_state

use std::collections::HashMap;

use automerge::sync::{BloomFilter, Have, Message, State};
use automerge::{Automerge, ChangeHash};

use crate::store::UnacknowledgedChange;

/// The message Automerge would generate for `doc` in `state`, with the
/// changes taken from `outbox`, and `state` moved as Automerge would move
/// it; `None` (and `state` untouched) unless the state is freshly primed,
/// there is something to send and the outbox holds every change to send.
pub(crate) fn from_outbox(
    doc: &Automerge,
    state: &mut State,
    outbox: &[UnacknowledgedChange],
) -> Option<Message> {
    if !freshly_primed(state) || outbox.is_empty() {
        return None;
    }
    // Automerge resets the exchange when the peer's last sync names a change
    // it lacks; that never holds for a primed state, but check, don't assume.
    if !state
        .shared_heads
        .iter()
        .all(|h| doc.get_change_meta_by_hash(h).is_some())
    {
        return None;
    }
    // With an empty bloom filter at the shared heads, Automerge sends every
    // change after them, in causal order, as this lists them.
    let to_send: Vec<ChangeHash> = doc
        .get_changes_meta(&state.shared_heads)
        .into_iter()
        .map(|m| m.hash)
        .collect();
    if to_send.is_empty() {
        return None;
    }
    let kept: HashMap<&[u8], &[u8]> = outbox
        .iter()
        .map(|c| (c.hash.as_slice(), c.bytes.as_slice()))
        .collect();
    let chunks: Vec<Vec<u8>> = to_send
        .iter()
        .map(|h| kept.get(&h.0[..]).map(|b| b.to_vec()))
        .collect::<Option<_>>()?;

    bothy_shared::wire::sync_message_with_changes(doc, state, to_send, chunks)
}

/// Whether `state` is exactly what `resume_sync_state` made of a persisted
/// state with shared heads, untouched since: nothing sent or heard this
/// run, a plain (version 1, read-write) peer.
fn freshly_primed(state: &State) -> bool {
    let primed_have = [Have {
        last_sync: state.shared_heads.clone(),
        bloom: BloomFilter::default(),
    }];
    !state.shared_heads.is_empty()
        && !state.have_responded
        && !state.in_flight
        && state.sent_hashes.is_empty()
        && state.last_sent_heads.is_empty()
        && !state.read_only
        && !state.peer_read_only
        && !state.needs_reset
        && state.their_capabilities.is_none()
        && state.their_heads.as_ref() == Some(&state.shared_heads)
        && state.their_need.as_deref() == Some(&[][..])
        && state.their_have.as_deref() == Some(&primed_have[..])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};
    use bothy_shared::wire::resume_sync_state;

    /// A server document, a device holding it and its primed sync state, and
    /// `n` device changes (one with a long text, compressed in the outbox).
    fn pushed(n: usize) -> (Automerge, Automerge, State, Vec<UnacknowledgedChange>) {
        let mut server = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
        let mut tx = server.transaction();
        tx.put(ROOT, "k", 0).unwrap();
        tx.commit();
        let mut device = server.fork().with_actor(ActorId::from(vec![2; 16]));
        let mut outbox = Vec::new();
        for i in 0..n {
            let heads = device.get_heads();
            let mut tx = device.transaction();
            let text = tx
                .put_object(ROOT, format!("t{i}"), automerge::ObjType::Text)
                .unwrap();
            tx.splice_text(&text, 0, 0, &"a home visit, all well. ".repeat(20))
                .unwrap();
            tx.commit();
            let mut change = device.get_changes(&heads).remove(0);
            outbox.push(UnacknowledgedChange {
                hash: change.hash().0.to_vec(),
                bytes: change.bytes().to_vec(),
            });
        }
        let persisted = State {
            shared_heads: server.get_heads(),
            ..State::default()
        };
        let state = resume_sync_state(Some(&persisted.encode()));
        (server, device, state, outbox)
    }

    fn hashes(m: &Message) -> Vec<ChangeHash> {
        m.changes
            .iter()
            .map(|b| automerge::Change::try_from(b).unwrap().hash())
            .collect()
    }

    #[test]
    fn the_message_and_state_are_automerges_with_the_outbox_bytes() {
        let (_, device, primed, outbox) = pushed(3);
        let mut ours = primed.clone();
        let mine = from_outbox(&device, &mut ours, &outbox).expect("a primed push");
        let mut theirs = primed.clone();
        let automerges = device.generate_sync_message(&mut theirs).unwrap();

        assert_eq!(
            ours, theirs,
            "the state moves exactly as Automerge moves it"
        );
        assert_eq!(mine.heads, automerges.heads);
        assert_eq!(mine.need, automerges.need);
        assert_eq!(mine.have, automerges.have);
        assert_eq!(mine.flags, automerges.flags);
        assert_eq!(mine.version, automerges.version);
        assert_eq!(hashes(&mine), hashes(&automerges));
        assert_eq!(hashes(&mine).len(), 3);
        // The outbox's compressed bytes, smaller than Automerge's raw ones.
        let size = |m: &Message| m.changes.iter().map(<[u8]>::len).sum::<usize>();
        assert!(size(&mine) < size(&automerges));
    }

    #[test]
    fn the_server_takes_the_outbox_message_as_automerges() {
        let (server, device, mut state, outbox) = pushed(2);
        let message = from_outbox(&device, &mut state, &outbox).unwrap();
        let mut copy = server.clone();
        let mut server_state = State {
            shared_heads: server.get_heads(),
            ..State::default()
        };
        copy.receive_sync_message(
            &mut server_state,
            Message::decode(&message.encode()).unwrap(),
        )
        .unwrap();
        assert_eq!(copy.get_heads(), device.get_heads());
        assert_eq!(server_state.shared_heads, device.get_heads());
    }

    #[test]
    fn it_declines_unless_the_state_is_freshly_primed_and_the_outbox_complete() {
        let (_, device, primed, outbox) = pushed(2);

        // A change missing from the outbox: Automerge must build it.
        let mut state = primed.clone();
        assert!(from_outbox(&device, &mut state, &outbox[1..]).is_none());
        assert_eq!(state, primed, "a declined state is untouched");

        // Later in the run (a message already sent).
        let mut state = primed.clone();
        device.generate_sync_message(&mut state).unwrap();
        let after_first = state.clone();
        assert!(from_outbox(&device, &mut state, &outbox).is_none());
        assert_eq!(state, after_first);

        // A state with nothing persisted, or a peer that said it reads V2.
        let mut fresh = resume_sync_state(None);
        assert!(from_outbox(&device, &mut fresh, &outbox).is_none());
        let mut v2 = primed.clone();
        v2.their_capabilities = Some(vec![automerge::sync::Capability::MessageV2]);
        assert!(from_outbox(&device, &mut v2, &outbox).is_none());

        // Nothing after the shared heads.
        let mut synced = resume_sync_state(Some(
            &State {
                shared_heads: device.get_heads(),
                ..State::default()
            }
            .encode(),
        ));
        assert!(from_outbox(&device, &mut synced, &outbox).is_none());

        // And the primed state itself is accepted.
        let mut state = primed;
        assert!(from_outbox(&device, &mut state, &outbox).is_some());
    }
}
