//! What a device received and keeps, searched byte by byte: the checks
//! behind "never reaches that device" (withholding, requests for help).
//! A device records every response body ([`recorded_device`]); a word is
//! found in a body raw or, with its sync messages applied to scratch
//! documents, in any change or any state of any document it carried
//! ([`bodies_mention`]), and in any state of any document the device
//! holds ([`store_mentions`]).

use std::sync::{Arc, Mutex};

use automerge::Automerge;
use automerge::sync::SyncDoc;
use bothy_client::sync::{HttpExchange, SyncOptions};
use bothy_shared::docs::{AnyDoc, DocKey};
use bothy_shared::ids::PersonId;
use bothy_shared::wire::{self, SyncResponse};

use crate::Result;
use crate::device::Device;
use crate::server::TestServer;

/// Every response body a device received.
pub type Bodies = Arc<Mutex<Vec<Vec<u8>>>>;

/// A device of `person` enrolled with `server`, recording every response body.
pub async fn recorded_device<P>(
    server: &TestServer<P>,
    name: &str,
    person: PersonId,
) -> Result<(Device, Bodies)> {
    let bodies: Bodies = Arc::default();
    let sink = bodies.clone();
    let options = SyncOptions {
        observer: Some(Arc::new(move |x: &HttpExchange<'_>| {
            if let Ok(mut all) = sink.lock() {
                all.push(x.response.to_vec());
            }
        })),
        ..SyncOptions::default()
    };
    let device = server.enrol_device(name, person, options).await?;
    Ok((device, bodies))
}

/// Whether `needle` is in `haystack`.
pub fn contains(haystack: &[u8], needle: impl AsRef<[u8]>) -> bool {
    let needle = needle.as_ref();
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether any change of `doc` holds `needle` in its bytes, or any state
/// of it (after each change) reads, as whatever document `key` names, with
/// `needle` in it.
pub fn history_mentions(doc: &Automerge, key: &DocKey, needle: &str) -> bool {
    doc.get_changes(&[]).iter().any(|c| {
        contains(c.raw_bytes(), needle)
            || doc.fork_at(&[c.hash()]).is_ok_and(|then| {
                AnyDoc::read(&then, key).is_ok_and(|d| format!("{d:?}").contains(needle))
            })
    })
}

/// Whether any body, raw or with its sync messages applied to scratch
/// documents (so nothing compressed hides), mentions `needle`.
pub fn bodies_mention(bodies: &Bodies, needle: &str) -> bool {
    let Ok(bodies) = bodies.lock() else {
        return true;
    };
    let mut scratch: std::collections::BTreeMap<DocKey, (Automerge, automerge::sync::State)> =
        Default::default();
    for body in bodies.iter() {
        if contains(body, needle) {
            return true;
        }
        if let Ok(s) = wire::from_cbor::<SyncResponse>(body) {
            for reply in s.docs {
                if let Some(m) = reply.message {
                    let (doc, state) = scratch.entry(reply.key).or_default();
                    // A message that does not apply is not hidden content:
                    // its bytes were searched raw above.
                    if let Ok(message) = automerge::sync::Message::decode(&m) {
                        let _ = doc.receive_sync_message(state, message);
                    }
                }
            }
        }
    }
    scratch
        .iter()
        .any(|(key, (doc, _))| history_mentions(doc, key, needle))
}

/// Whether any document the device holds mentions `needle` in any state.
pub fn store_mentions(device: &mut Device, needle: &str) -> Result<bool> {
    let keys = device.client().document_keys()?;
    for key in keys {
        if let Some(doc) = device.client_mut().document(&key)? {
            let doc = doc.clone();
            if history_mentions(&doc, &key, needle) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
