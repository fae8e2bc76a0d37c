//! Room for the documents requests are working on (issue 18, item 3).
//!
//! The cache keeps at most its capacity of documents nobody is using, but
//! a document in use is never dropped, so what requests hold at once comes
//! on top: a device pushing a visit to each of fifty five-year case records
//! holds fifty whole documents until its changes are stored, and four such
//! devices at once held four times that. Each request therefore takes room
//! for the documents it is about to load (their estimated size) before it
//! leases them, and gives it back when the lease ends. Requests wait their
//! turn first come, first served; one larger than all the room waits until
//! nobody holds any and then runs alone. A request that holds room never
//! waits for more (it takes all it needs at once, before locking any
//! document), so waiting cannot deadlock.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A budget of bytes handed out in turn.
pub(super) struct Room {
    limit: u64,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Default)]
struct State {
    taken: u64,
    /// Tickets of the requests waiting, oldest first.
    queue: VecDeque<u64>,
    next_ticket: u64,
    /// The most taken at once.
    peak: u64,
}

/// Room taken, given back when dropped.
pub(super) struct Taken<'a> {
    room: &'a Room,
    bytes: u64,
}

impl Room {
    /// `limit` bytes of room (0: no limit).
    pub(super) fn new(limit: u64) -> Room {
        Room {
            limit: if limit == 0 { u64::MAX } else { limit },
            state: Mutex::default(),
            freed: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; a poisoned count is still right.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait for `bytes` of room (all of it, if `bytes` is more), after
    /// everyone who asked before.
    pub(super) fn take(&self, bytes: u64) -> Taken<'_> {
        let bytes = bytes.min(self.limit);
        let mut state = self.state();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push_back(ticket);
        while state.queue.front() != Some(&ticket) || state.taken.saturating_add(bytes) > self.limit
        {
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.queue.pop_front();
        state.taken += bytes;
        state.peak = state.peak.max(state.taken);
        drop(state);
        // The next in the queue may fit beside this one.
        self.freed.notify_all();
        Taken { room: self, bytes }
    }

    /// Requests waiting for room now.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.state().queue.len()
    }

    /// The most room taken at once so far.
    pub(super) fn peak(&self) -> u64 {
        self.state().peak
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let mut state = self.room.state();
        state.taken = state.taken.saturating_sub(self.bytes);
        drop(state);
        self.room.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::sync::mpsc;

    /// Spin (no sleeping) until `n` requests wait.
    fn until_waiting(room: &Room, n: usize) {
        while room.waiting() != n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_request_waits_until_its_room_is_given_back() {
        let room = Room::new(100);
        let first = room.take(60);
        let (done, finished) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let second = room.take(60);
                done.send(second.bytes).unwrap();
            });
            until_waiting(&room, 1);
            assert!(finished.try_recv().is_err(), "ran beside the first");
            drop(first);
            assert_eq!(finished.recv().unwrap(), 60);
        });
        assert_eq!(room.peak(), 60);
    }

    #[test]
    fn requests_that_fit_together_run_together() {
        let room = Room::new(100);
        let a = room.take(40);
        let b = room.take(60);
        assert_eq!(room.peak(), 100);
        drop((a, b));
        let c = room.take(100);
        drop(c);
        assert_eq!(room.waiting(), 0);
    }

    #[test]
    fn a_request_larger_than_the_room_runs_alone_and_in_turn() {
        let room = Room::new(100);
        let small = room.take(10);
        let (done, finished) = mpsc::channel();
        std::thread::scope(|s| {
            let large = s.spawn(|| {
                let taken = room.take(500);
                done.send("large").unwrap();
                taken.bytes
            });
            until_waiting(&room, 1);
            // Behind the large one: waits although it would fit now.
            let later = s.spawn(|| {
                let _taken = room.take(10);
                done.send("later").unwrap();
            });
            until_waiting(&room, 2);
            assert!(finished.try_recv().is_err());
            drop(small);
            assert_eq!(finished.recv().unwrap(), "large");
            assert_eq!(large.join().unwrap(), 100);
            later.join().unwrap();
            assert_eq!(finished.recv().unwrap(), "later");
        });
        assert_eq!(room.peak(), 100);
    }

    #[test]
    fn no_limit_never_waits() {
        let room = Room::new(0);
        let a = room.take(u64::MAX / 2);
        let b = room.take(u64::MAX / 2);
        assert_eq!(room.waiting(), 0);
        drop((a, b));
    }
}
