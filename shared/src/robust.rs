//! Containment for untrusted bytes.
//!
//! automerge 0.12 panics, rather than returning an error, on some malformed
//! input to `load`, `load_incremental`, `receive_sync_message` and change
//! decoding. Everything that reads bytes from a device or from disk goes
//! through these functions, which turn such a panic into a [`MalformedError`]
//! and leave the caller's state untouched (work is done on copies). The
//! release profile keeps `panic = "unwind"` so this works in every build.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::{Automerge, Change, ExpandedChange};

/// Bytes that are not what they claim to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedError {
    #[error("malformed {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("malformed {what}: the decoder failed on these bytes (contained)")]
    Panicked { what: &'static str },
}

thread_local! {
    static CONTAINING: Cell<u32> = const { Cell::new(0) };
}

static QUIET_HOOK: Once = Once::new();
static CONTAINED: AtomicU64 = AtomicU64::new(0);

/// How many panics [`contain`] has turned into errors in this process.
pub fn contained_panics() -> u64 {
    CONTAINED.load(Ordering::Relaxed)
}

/// Install, once, a panic hook that stays silent for panics we contain (they
/// are reported as errors instead) and defers to the previous hook otherwise.
fn install_quiet_hook() {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CONTAINING.with(|c| c.get()) == 0 {
                previous(info);
            }
        }));
    });
}

/// Run `f`, turning a panic inside it into [`MalformedError::Panicked`].
///
/// Only for calls on values the caller is free to throw away: a panic can
/// leave them half-updated.
pub fn contain<T>(what: &'static str, f: impl FnOnce() -> T) -> Result<T, MalformedError> {
    install_quiet_hook();
    CONTAINING.with(|c| c.set(c.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(c.get().saturating_sub(1)));
    result.map_err(|_| {
        CONTAINED.fetch_add(1, Ordering::Relaxed);
        MalformedError::Panicked { what }
    })
}

/// Load a whole document from bytes.
pub fn load_document(bytes: &[u8]) -> Result<Automerge, MalformedError> {
    contain("document", || Automerge::load(bytes))?.map_err(|e| MalformedError::Invalid {
        what: "document",
        detail: e.to_string(),
    })
}

/// Load `bytes` (saved changes or a document) on top of `doc`, all or nothing.
pub fn load_incremental(doc: &Automerge, bytes: &[u8]) -> Result<Automerge, MalformedError> {
    let mut copy = doc.clone();
    contain("incremental changes", || copy.load_incremental(bytes))?.map_err(|e| {
        MalformedError::Invalid {
            what: "incremental changes",
            detail: e.to_string(),
        }
    })?;
    Ok(copy)
}

/// Decode one change from its bytes, checking that its operations decode too.
pub fn decode_change(bytes: &[u8]) -> Result<Change, MalformedError> {
    let change = parse_change(bytes)?;
    expand_change(&change)?;
    Ok(change)
}

/// Parse a change without decoding its operations (for callers that will
/// decode them anyway, such as the gate): malformed bytes are an error,
/// never a panic.
pub fn parse_change(bytes: &[u8]) -> Result<Change, MalformedError> {
    contain("change", || Change::from_bytes(bytes.to_vec()))?.map_err(|e| MalformedError::Invalid {
        what: "change",
        detail: e.to_string(),
    })
}

/// The operations of a change, one by one.
pub fn expand_change(change: &Change) -> Result<ExpandedChange, MalformedError> {
    contain("change operations", || change.decode())
}

/// Apply `changes` to a copy of `doc` in one batch (much faster than one by one).
pub fn apply_changes(doc: &Automerge, changes: &[Change]) -> Result<Automerge, MalformedError> {
    let mut copy = doc.clone();
    contain("changes", || copy.apply_changes(changes.iter().cloned()))?.map_err(|e| {
        MalformedError::Invalid {
            what: "changes",
            detail: e.to_string(),
        }
    })?;
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contained_panic_is_an_error() {
        #[allow(clippy::panic)]
        let r: Result<(), _> = contain("test input", || panic!("boom"));
        assert_eq!(r, Err(MalformedError::Panicked { what: "test input" }));
        // The counter is back to zero: later panics are reported normally.
        assert_eq!(CONTAINING.with(|c| c.get()), 0);
    }

    /// `docs/sync-protocol.md`: a change chunk, in a sync message or an
    /// offer, may be raw or compressed; both decode to the same change.
    #[test]
    fn a_change_decodes_from_its_raw_and_its_compressed_bytes() {
        use automerge::transaction::Transactable;
        let mut doc = automerge::AutoCommit::new();
        doc.put(
            automerge::ROOT,
            "note",
            "words worth compressing ".repeat(40),
        )
        .unwrap();
        let mut change = doc.get_last_local_change().unwrap();
        let raw = change.raw_bytes().to_vec();
        let compressed = change.bytes().to_vec();
        assert!(
            compressed.len() < raw.len(),
            "the change was not compressed"
        );
        let from_raw = decode_change(&raw).unwrap();
        let from_compressed = decode_change(&compressed).unwrap();
        assert_eq!(from_raw.hash(), change.hash());
        assert_eq!(from_compressed.hash(), change.hash());
        assert_eq!(from_compressed.raw_bytes(), &raw[..]);
    }

    #[test]
    fn garbage_is_not_a_document_or_a_change() {
        assert!(load_document(b"\x85\x6f\x4a\x83garbage").is_err());
        assert!(decode_change(b"").is_err());
        assert!(decode_change(&[0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 1, 0]).is_err());
    }
}
