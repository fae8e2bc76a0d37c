//! What a sync run reports: its progress while it runs (for the app's sync
//! screen), and afterwards what it did ([`SyncReport`]), what enrolment and a
//! wipe did, and how [`SyncEngine::sync_or_wipe`](super::SyncEngine::sync_or_wipe) ended.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bothy_shared::docs::DocKey;
use bothy_shared::ids::{ChildId, DeviceId, PersonId};
use bothy_shared::team::TeamChange;
use bothy_shared::wire::{DirectoryView, DocStatus};

use super::{SyncError, Traffic};
use crate::services::Client;

/// Where a sync run is, for the app's sync screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SyncPhase {
    #[default]
    Idle,
    /// Asking which documents changed.
    Checking,
    /// Exchanging documents.
    Exchanging,
    /// Finished at this time (unix seconds).
    Done { at: i64 },
    /// The server cannot be reached; the next try is after `retry_in`.
    Offline { attempt: u32, retry_in: Duration },
    /// The device was revoked; unsynced work was offered, the data wiped.
    Revoked,
    /// The run failed for another reason (in words for the person).
    Failed(String),
}

/// One document's state in the current run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocSyncState {
    Waiting,
    Exchanging,
    Synced,
    /// Changes refused: the rule named.
    Refused {
        rule: String,
    },
    /// The server does not offer this document (any more).
    Unavailable,
    /// The server could not read what was sent.
    Malformed,
}

/// What the app shows while syncing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub docs_done: usize,
    pub docs_total: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub documents: BTreeMap<DocKey, DocSyncState>,
    /// Documents new to the device (a new phone's first sync): what is
    /// usable so far ("caseload ready, plans ready, history n of m").
    pub arrival: Arrival,
}

/// What of the documents new to the device has arrived in this run. They
/// are asked for plans first (the child's and the young person's copies),
/// the rest ("history": requests for help, agency and team records) after,
/// and each is stored as it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arrival {
    /// The directory (the caseload) is on the device.
    pub caseload: bool,
    /// New plans in this run, and how many of them are stored.
    pub plans_total: usize,
    pub plans_stored: usize,
    /// Other new documents in this run, and how many of them are stored.
    pub history_total: usize,
    pub history_stored: usize,
}

impl Arrival {
    /// Every plan new in this run is stored (true when none was new).
    pub fn plans_ready(&self) -> bool {
        self.plans_stored >= self.plans_total
    }

    /// Every document new in this run is stored.
    pub fn all_stored(&self) -> bool {
        self.plans_ready() && self.history_stored >= self.history_total
    }
}

/// A change the server refused in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: DocKey,
    pub status: DocStatus,
    /// The policy rule (for `denied`, the rule the server names).
    pub rule: String,
    /// Where in the document (empty when not named).
    pub path: String,
    /// Lowercase hex of the refused change's hash (empty when not named).
    pub change: String,
    /// The rule explained in plain words.
    pub explanation: String,
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Documents others changed since the last run.
    pub changed: usize,
    /// Documents new to this device.
    pub new: usize,
    /// Documents deleted because the device may no longer read them.
    pub gone: Vec<DocKey>,
    /// Documents exchanged in this run.
    pub documents: usize,
    /// Local changes the server now holds (acknowledged in this run).
    pub acknowledged: usize,
    /// Changes received from the server.
    pub received: usize,
    /// Changes refused in this run (also kept in the store).
    pub refused: Vec<Refusal>,
    /// `/v1/sync` requests made (the first may carry the `/v1/changed` question).
    pub sync_requests: u32,
    /// Every request (with `/v1/changed` and `/v1/directory`), bytes each way, retries.
    pub traffic: Traffic,
    pub directory_refreshed: bool,
    /// How long the run took.
    pub elapsed: Duration,
    /// Team changes made here that the server answered in this run.
    pub team: Vec<TeamOutcome>,
    /// Children this device no longer works with: everything of theirs was
    /// removed from it, after its unsynced work was offered.
    pub left: Vec<ChildId>,
    /// Unsynced changes offered to the server (kept for the supervisor)
    /// before their documents were removed.
    pub offered: u64,
}

/// A team change the server applied or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamOutcome {
    pub change: TeamChange,
    pub applied: bool,
    /// For a refused change: the rule's name and its explanation.
    pub rule: Option<String>,
    pub explanation: Option<String>,
}

/// What [`enrol`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub server: String,
    pub device: DeviceId,
    pub person: PersonId,
    pub directory: DirectoryView,
}

/// What [`wipe_device`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipeReport {
    pub dir: PathBuf,
    pub removed: Vec<PathBuf>,
    /// Unsynced changes the server took into quarantine before the wipe.
    pub offered: u64,
}

/// The result of [`SyncEngine::sync_or_wipe`].
#[derive(Debug)]
pub enum SyncOutcome {
    Synced {
        client: Client,
        report: SyncReport,
    },
    /// The run failed; the client is intact (sync again later).
    Failed {
        client: Client,
        error: SyncError,
    },
    /// The device was revoked: its unsynced work was offered and its store wiped.
    Wiped(WipeReport),
}
