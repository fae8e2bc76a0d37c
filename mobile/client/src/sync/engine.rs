//! The sync engine: one full run with the server (see the module
//! documentation of [`sync`](super)), offering a revoked device's work, and
//! refreshing the directory. Team changes and leaving a child's team are
//! in [`leave`].

mod arrival;
mod leave;

use arrival::Arrivals;
use leave::unsynced;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Instant;

use automerge::sync::{self as am_sync, SyncDoc};
use automerge::{Automerge, ChangeHash};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::DeviceId;
use bothy_shared::robust;
use bothy_shared::signing::RequestSigner;
use bothy_shared::wire::{
    self, ChangedRequest, ChangedResponse, DirectoryView, DocMessage, DocReply, DocStatus,
    SyncRequest, SyncResponse,
};
use tokio::sync::watch;

use super::enrol::{credentials, text_meta};
use super::set_aside::{RefusedChanges, SetAsideOutcome};
use super::transport::Transport;
use super::{
    BadResponse, DocSyncState, LocalReplica, NotApplied, Refusal, RetryPolicy, SyncError,
    SyncOptions, SyncOutcome, SyncPhase, SyncProgress, SyncReport, Traffic, meta, now_secs, outbox,
    wipe_device,
};
use crate::error::ServiceError;
use crate::services::Client;
use crate::store::tx::NewRejection;

/// Syncs one enrolled device with its server. Holds no document and no
/// secret beyond the signing key; the replica is passed to each run.
pub struct SyncEngine {
    transport: Transport,
    device: DeviceId,
    options: SyncOptions,
    progress: watch::Sender<SyncProgress>,
}

impl fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncEngine")
            .field("server", &self.transport.base())
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// One document in a run.
struct Active {
    state: am_sync::State,
    /// Whether the device holds local changes the server has not acknowledged.
    unacknowledged: bool,
    /// New to the device, and its whole document not arrived yet.
    fresh: bool,
}

/// The documents of one run.
struct Run {
    /// Being exchanged.
    active: BTreeMap<DocKey, Active>,
    /// Refused, unavailable or gone in this run: not sent again in it.
    settled: BTreeSet<DocKey>,
    /// Every document exchanged in this run.
    seen: BTreeSet<DocKey>,
    /// New to the device, waiting to be asked for ([`arrival`]).
    arrivals: Arrivals,
}

impl Run {
    fn new(options: &SyncOptions) -> Run {
        Run {
            active: BTreeMap::new(),
            settled: BTreeSet::new(),
            seen: BTreeSet::new(),
            arrivals: Arrivals::new(options.arrival_bytes),
        }
    }

    /// Add `key` to the exchange, its state resumed from what was persisted.
    fn activate<L: LocalReplica>(
        &mut self,
        local: &L,
        key: DocKey,
        unacknowledged: bool,
    ) -> Result<(), SyncError> {
        let state = wire::resume_sync_state(local.sync_state(&key)?.as_deref());
        self.arrivals.remove(&key);
        self.active.insert(
            key,
            Active {
                state,
                unacknowledged,
                fresh: false,
            },
        );
        self.seen.insert(key);
        Ok(())
    }

    /// Add `key`, new to the device, to the exchange: from a fresh state.
    fn activate_fresh(&mut self, key: DocKey) {
        self.active.insert(
            key,
            Active {
                state: am_sync::State::new(),
                unacknowledged: false,
                fresh: true,
            },
        );
        self.seen.insert(key);
    }
}

/// Hash bytes of `heads`, concatenated (how refused heads are remembered).
fn heads_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

impl SyncEngine {
    /// An engine for the device whose enrolment `local` holds.
    pub fn new<L: LocalReplica>(local: &L, options: SyncOptions) -> Result<SyncEngine, SyncError> {
        let creds = credentials(local)?;
        let signer =
            RequestSigner::from_pkcs8(creds.device, &creds.pkcs8).map_err(SyncError::Signing)?;
        let transport = Transport::new(
            creds.server,
            signer,
            options.retry,
            options.request_timeout,
            options.reuse_connections,
            options.observer.clone(),
        )?;
        Ok(SyncEngine {
            transport,
            device: creds.device,
            options,
            progress: watch::Sender::new(SyncProgress::default()),
        })
    }

    /// The server this engine syncs with.
    pub fn server(&self) -> &str {
        self.transport.base()
    }

    /// Progress of the current (or last) run, for the app to show.
    pub fn progress(&self) -> watch::Receiver<SyncProgress> {
        self.progress.subscribe()
    }

    fn publish(&self, f: impl FnOnce(&mut SyncProgress)) {
        self.progress.send_modify(f);
    }

    /// One full sync run; see the module documentation. On revocation the
    /// unsynced work is offered first and `Revoked { offered }` returned:
    /// then call [`wipe_device`] (or use [`Self::sync_or_wipe`]).
    pub async fn sync<L: LocalReplica>(&self, local: &mut L) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let mut report = SyncReport::default();
        let caseload = local.meta(meta::DIRECTORY_AT).ok().flatten().is_some();
        self.publish(|p| {
            *p = SyncProgress {
                phase: SyncPhase::Checking,
                arrival: super::Arrival {
                    caseload,
                    ..super::Arrival::default()
                },
                ..SyncProgress::default()
            }
        });
        let result = self.run(local, &mut report).await;
        report.elapsed = started.elapsed();
        match result {
            Ok(()) => Ok(report),
            Err(SyncError::Revoked { .. }) => {
                let offered = self.offer(local).await?;
                self.publish(|p| p.phase = SyncPhase::Revoked);
                Err(SyncError::Revoked {
                    offered: Some(offered),
                })
            }
            Err(e) => {
                let words = e.in_words();
                self.publish(|p| p.phase = SyncPhase::Failed(words));
                Err(e)
            }
        }
    }

    /// Sync until a run completes, waiting (exponential backoff with jitter,
    /// capped at `max_delay`) while the server is unreachable, at most
    /// `max_runs` runs. Other errors end it at once.
    pub async fn sync_when_reachable<L: LocalReplica>(
        &self,
        local: &mut L,
        max_runs: u32,
        backoff: RetryPolicy,
    ) -> Result<SyncReport, SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.sync(local).await {
                Err(SyncError::Unreachable { .. }) if attempt < max_runs.max(1) => {
                    let retry_in = backoff.delay(attempt);
                    self.publish(|p| p.phase = SyncPhase::Offline { attempt, retry_in });
                    tokio::time::sleep(retry_in).await;
                }
                other => return other,
            }
        }
    }

    /// [`Self::sync`], and on revocation wipe the device after offering its
    /// unsynced work.
    pub async fn sync_or_wipe(&self, mut client: Client) -> Result<SyncOutcome, SyncError> {
        match self.sync(&mut client).await {
            Ok(report) => Ok(SyncOutcome::Synced { client, report }),
            Err(SyncError::Revoked {
                offered: Some(offered),
            }) => Ok(SyncOutcome::Wiped(wipe_device(client, offered)?)),
            Err(error) => Ok(SyncOutcome::Failed { client, error }),
        }
    }

    /// `POST /v1/offer` every change made here that the server never
    /// acknowledged. Returns how many the server kept.
    pub async fn offer<L: LocalReplica>(&self, local: &mut L) -> Result<u64, SyncError> {
        let keys = local.docs_with_unacknowledged_changes()?;
        let docs = unsynced(local, &keys)?;
        self.post_offers(&docs, &mut Traffic::default()).await
    }

    /// `GET /v1/refused`: the refused changes the server keeps that this
    /// device's person may read (their own and, for a supervisor, their
    /// team's), with their words. Read only when asked (the supervisor's
    /// screen); nothing of it is stored on the device.
    pub async fn refused_by_server(&self) -> Result<wire::RefusedResponse, SyncError> {
        let mut traffic = Traffic::default();
        self.transport.get(wire::PATH_REFUSED, &mut traffic).await
    }

    /// `POST /v1/requests/matches`: a duty worker's match check.
    pub async fn match_check(
        &self,
        request: bothy_shared::ids::RequestId,
    ) -> Result<Vec<bothy_shared::wire::ChildMatch>, SyncError> {
        let mut traffic = Traffic::default();
        let answer: bothy_shared::wire::MatchResponse = self
            .transport
            .post(
                wire::PATH_REQUEST_MATCHES,
                &bothy_shared::wire::MatchRequest { request },
                &mut traffic,
            )
            .await?;
        Ok(answer.candidates)
    }

    /// Fetch the directory and store it on the device.
    pub async fn refresh_directory<L: LocalReplica>(
        &self,
        local: &mut L,
        traffic: &mut Traffic,
    ) -> Result<(), SyncError> {
        let view: DirectoryView = self.transport.get(wire::PATH_DIRECTORY, traffic).await?;
        local.update_directory(&view)?;
        local.put_meta(meta::DIRECTORY_AT, now_secs().to_string().as_bytes())?;
        self.publish(|p| p.arrival.caseload = true);
        Ok(())
    }

    async fn run<L: LocalReplica>(
        &self,
        local: &mut L,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        // 1. The question `/v1/changed` answers, asked with the first
        //    `/v1/sync` request when there is work to push (one round trip),
        //    or on its own when there is not.
        let question = ChangedRequest {
            cursor: text_meta(local, meta::CURSOR)?,
            dropped: local
                .meta(meta::DROPPED)?
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default(),
        };
        let mut answer: Option<ChangedResponse> = None;

        // 1b. Team changes made here, before anything else: the server
        //     applies them with the directory as it is now.
        self.push_team_changes(local, report).await?;

        // 2. Documents with local changes the server has not acknowledged,
        //    except those refused before and unchanged since: sending them
        //    again would only be refused again (unless others changed them,
        //    which the answer says).
        let unacknowledged: BTreeSet<DocKey> = local
            .docs_with_unacknowledged_changes()?
            .into_iter()
            .collect();
        let mut run = Run::new(&self.options);
        for key in &unacknowledged {
            if !self.still_refused(local, key)? {
                run.activate(local, *key, true)?;
            }
        }
        if !run.active.is_empty() {
            self.publish_active(&run);
        }

        // 3. Exchange messages until both sides are quiet and the question
        //    is answered.
        let empty = Automerge::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            // New documents, a few at a time (see `arrival`): a round that
            // asks for some makes progress, so it does not count.
            let room = wire::MAX_DOCS_PER_REQUEST.saturating_sub(run.active.len());
            if !run.arrivals.is_empty() && room > 0 {
                for key in run.arrivals.next(room) {
                    run.activate_fresh(key);
                }
                rounds = 0;
            }
            if rounds > self.options.max_rounds {
                return Err(SyncError::DidNotSettle(self.options.max_rounds));
            }
            let mut batch: Vec<DocMessage> = Vec::new();
            let mut quiet = Vec::new();
            for (key, doc_state) in run.active.iter_mut() {
                let state = &mut doc_state.state;
                // A push's first message, from the outbox's bytes when it can
                // be (see `outbox`); otherwise Automerge builds it.
                let from_outbox = if doc_state.unacknowledged && !state.have_responded {
                    let kept = local.unacknowledged_changes(key)?;
                    local
                        .with_document(key, |doc| {
                            robust::contain("message from the outbox", || {
                                outbox::from_outbox(doc, state, &kept)
                            })
                        })?
                        .transpose()
                        .map_err(ServiceError::from)?
                        .flatten()
                } else {
                    None
                };
                let generated = match from_outbox {
                    Some(message) => Some(message),
                    None => {
                        let mut generate = |doc: &Automerge| {
                            robust::contain("generate sync message", || {
                                doc.generate_sync_message(state)
                            })
                        };
                        match local.with_document(key, &mut generate)? {
                            Some(generated) => generated,
                            None => generate(&empty),
                        }
                        .map_err(ServiceError::from)?
                    }
                };
                match generated {
                    Some(m) => batch.push(DocMessage {
                        key: *key,
                        message: m.encode(),
                    }),
                    None => quiet.push(*key),
                }
            }
            for key in quiet {
                run.active.remove(&key);
                self.publish(|p| {
                    p.docs_done += 1;
                    p.documents.insert(key, DocSyncState::Synced);
                });
            }
            if batch.is_empty() {
                if answer.is_some() && run.arrivals.is_empty() {
                    break;
                }
                if answer.is_some() {
                    continue;
                }
                // Nothing to push (or a server that did not answer the
                // question with `/v1/sync`): ask on its own.
                let changed: ChangedResponse = self
                    .transport
                    .post(wire::PATH_CHANGED, &question, &mut report.traffic)
                    .await?;
                self.take_answer(local, &changed, &unacknowledged, &mut run, report)
                    .await?;
                answer = Some(changed);
                continue;
            }
            for chunk in self.batches(batch) {
                for m in &chunk {
                    self.publish(|p| {
                        p.documents.insert(m.key, DocSyncState::Exchanging);
                    });
                }
                let sent: Vec<DocKey> = chunk.iter().map(|m| m.key).collect();
                let request = SyncRequest {
                    docs: chunk,
                    changed: answer.is_none().then(|| question.clone()),
                };
                let resp: SyncResponse = self
                    .transport
                    .post(wire::PATH_SYNC, &request, &mut report.traffic)
                    .await?;
                report.sync_requests += 1;
                if resp.docs.len() != sent.len()
                    || resp.docs.iter().zip(&sent).any(|(r, k)| r.key != *k)
                {
                    return Err(SyncError::bad(BadResponse::RepliesDoNotMatch));
                }
                for reply in resp.docs {
                    self.apply_reply(local, &mut run, reply, report)?;
                }
                if let (None, Some(changed)) = (&answer, resp.changed) {
                    self.take_answer(local, &changed, &unacknowledged, &mut run, report)
                        .await?;
                    answer = Some(changed);
                }
                let traffic = report.traffic;
                self.publish(|p| {
                    p.bytes_sent = traffic.bytes_sent;
                    p.bytes_received = traffic.bytes_received;
                });
            }
        }
        report.documents = run.seen.len();

        // 4. The run is complete: only now move the cursor.
        // The loop only ends once the question is answered.
        let Some(answer) = answer else {
            return Err(SyncError::bad(BadResponse::NoAnswer));
        };
        local.put_meta(meta::CURSOR, answer.cursor.as_bytes())?;
        self.acknowledge_left(local, &answer.cursor, report).await?;
        let at = now_secs();
        local.put_meta(meta::LAST_SYNC, at.to_string().as_bytes())?;
        let traffic = report.traffic;
        self.publish(|p| {
            p.phase = SyncPhase::Done { at };
            p.docs_done = p.docs_total;
            p.bytes_sent = traffic.bytes_sent;
            p.bytes_received = traffic.bytes_received;
        });
        Ok(())
    }

    /// Act on the `/v1/changed` answer (on its own or from `/v1/sync`):
    /// delete what may no longer be read (and acknowledge it next run),
    /// refresh the directory when documents came or went or it is old, and
    /// add the documents others changed and the new ones to the run.
    async fn take_answer<L: LocalReplica>(
        &self,
        local: &mut L,
        changed: &ChangedResponse,
        unacknowledged: &BTreeSet<DocKey>,
        run: &mut Run,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        report.changed = changed.changed.len();
        report.new = changed.new.len();
        // Work made here in a document that goes is offered first (kept
        // for the supervisor), never lost.
        self.offer_gone(local, &changed.gone, report).await?;
        for key in &changed.gone {
            // An older copy of the young person's plan still holding views
            // not yet synced stays until they are: the server takes them
            // (and answers `unavailable`, after which it is dropped).
            if matches!(key, DocKey::Young(..)) && !local.unacknowledged_changes(key)?.is_empty() {
                continue;
            }
            local.forget_document(key)?;
            local.put_meta(&format!("{}{key}", meta::REFUSED_PREFIX), &[])?;
            if run.active.remove(key).is_some() {
                self.publish(|p| {
                    p.docs_done += 1;
                    p.documents.insert(*key, DocSyncState::Unavailable);
                });
            }
            run.settled.insert(*key);
        }
        let dropped_json = serde_json::to_vec(&changed.gone).map_err(ServiceError::Directory)?;
        local.put_meta(meta::DROPPED, &dropped_json)?;
        report.gone = changed.gone.clone();

        let directory_at: i64 = text_meta(local, meta::DIRECTORY_AT)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let max_age = i64::try_from(self.options.directory_max_age.as_secs()).unwrap_or(i64::MAX);
        if !changed.new.is_empty()
            || !changed.gone.is_empty()
            || now_secs().saturating_sub(directory_at) >= max_age
        {
            self.refresh_directory(local, &mut report.traffic).await?;
            report.directory_refreshed = true;
        }
        self.leave_children(local, &changed.gone, report)?;

        for key in changed.changed.iter().chain(&changed.new) {
            // Already in the run (its exchange goes on), or refused or
            // unavailable in this run (not sent again in it).
            if run.active.contains_key(key)
                || run.settled.contains(key)
                || run.arrivals.is_waiting(key)
            {
                continue;
            }
            // Not on the device at all: asked for in its turn ([`arrival`]).
            if !unacknowledged.contains(key) && local.with_document(key, |_| ())?.is_none() {
                run.arrivals.queue(*key);
                run.seen.insert(*key);
                self.publish(|p| {
                    if key.is_plan() {
                        p.arrival.plans_total += 1;
                    } else {
                        p.arrival.history_total += 1;
                    }
                });
                continue;
            }
            // Synced quietly earlier in this run and changed by others:
            // exchanged again from its persisted state.
            run.activate(local, *key, unacknowledged.contains(key))?;
        }
        self.publish_active(run);
        Ok(())
    }

    /// Show the documents of the run on the progress channel.
    fn publish_active(&self, run: &Run) {
        let total = run.seen.len();
        self.publish(|p| {
            p.phase = SyncPhase::Exchanging;
            p.docs_total = total;
            for key in run.active.keys() {
                p.documents.entry(*key).or_insert(DocSyncState::Waiting);
            }
        });
    }

    /// Split messages into requests within the document and byte limits.
    fn batches(&self, messages: Vec<DocMessage>) -> Vec<Vec<DocMessage>> {
        let max_docs = self
            .options
            .max_docs_per_request
            .clamp(1, wire::MAX_DOCS_PER_REQUEST);
        let mut out: Vec<Vec<DocMessage>> = Vec::new();
        let mut current = Vec::new();
        let mut bytes = 0;
        for m in messages {
            if !current.is_empty()
                && (current.len() >= max_docs
                    || bytes + m.message.len() > self.options.max_batch_bytes)
            {
                out.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += m.message.len();
            current.push(m);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    /// Whether `key` was refused before and has not changed locally since.
    fn still_refused<L: LocalReplica>(
        &self,
        local: &mut L,
        key: &DocKey,
    ) -> Result<bool, SyncError> {
        let Some(refused) = local.meta(&format!("{}{key}", meta::REFUSED_PREFIX))? else {
            return Ok(false);
        };
        if refused.is_empty() {
            return Ok(false);
        }
        let heads = local.with_document(key, |d| heads_bytes(&d.get_heads()))?;
        Ok(heads.as_deref() == Some(refused.as_slice()))
    }

    fn apply_reply<L: LocalReplica>(
        &self,
        local: &mut L,
        run: &mut Run,
        reply: DocReply,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let key = reply.key;
        let Some(doc_state) = run.active.get_mut(&key) else {
            return Ok(());
        };
        let arrived = std::mem::take(&mut doc_state.fresh);
        if arrived {
            run.arrivals
                .weighed(&key, reply.message.as_ref().map_or(0, Vec::len));
        }
        if let Some(bytes) = &reply.message {
            let message =
                robust::contain("decode sync message", || am_sync::Message::decode(bytes))
                    .map_err(ServiceError::from)?
                    .map_err(|source| SyncError::bad(BadResponse::Message { key, source }))?;
            // Receive on a copy: if Automerge fails (or panics) half way,
            // neither the stored document nor the state has moved. A
            // message without changes (the usual reply to a push) only
            // reads the document, so it needs no copy.
            let state_before = doc_state.state.clone();
            let (received, added) = local.merge_remote(key, move |doc| {
                let outcome = if message.changes.is_empty() {
                    robust::contain("receive sync message", move || {
                        let mut state = state_before;
                        doc.receive_sync_message(&mut state, message)
                            .map(|()| state)
                    })
                } else {
                    let mut copy = doc.clone();
                    robust::contain("receive sync message", move || {
                        let mut state = state_before;
                        copy.receive_sync_message(&mut state, message)
                            .map(|()| (copy, state))
                    })
                    .map(|received| {
                        received.map(|(copy, state)| {
                            *doc = copy;
                            state
                        })
                    })
                };
                match outcome {
                    Ok(Ok(state)) => Ok(state),
                    Ok(Err(e)) => Err(NotApplied::from(e)),
                    Err(e) => Err(NotApplied::from(e)),
                }
            })?;
            doc_state.state = received
                .map_err(|source| SyncError::bad(BadResponse::NotApplied { key, source }))?;
            report.received += added;
            // The document is persisted: now its state may be.
            local.put_sync_state(&key, &doc_state.state.encode())?;
            if doc_state.unacknowledged {
                let (acknowledged, remaining) =
                    self.acknowledge(local, &key, &doc_state.state.shared_heads)?;
                report.acknowledged += acknowledged;
                doc_state.unacknowledged = remaining > 0;
            }
        }
        if arrived {
            // Stored (or answered without it: not asked for again this run).
            self.publish(|p| {
                if key.is_plan() {
                    p.arrival.plans_stored += 1;
                } else {
                    p.arrival.history_stored += 1;
                }
            });
        }
        let refused_state = match reply.status {
            DocStatus::Ok => None,
            DocStatus::Rejected | DocStatus::Denied => {
                let refusal = refusal_of(&reply);
                if let Some(outcome) = self.set_aside(local, &refusal)? {
                    let rule = refusal.rule.clone();
                    report.refused.push(refusal);
                    let done = outcome.remade == 0;
                    self.publish(|p| {
                        p.docs_done += usize::from(done);
                        p.documents.insert(key, DocSyncState::Refused { rule });
                    });
                    if outcome.remade > 0 {
                        // The honest edits, remade on what the server
                        // holds, go in this run: exchanged again from the
                        // persisted state (whose shared heads the rebuilt
                        // document keeps).
                        run.active.remove(&key);
                        run.activate(local, key, true)?;
                    } else {
                        run.active.remove(&key);
                        run.settled.insert(key);
                    }
                    return Ok(());
                }
                let hash = hex::decode(&refusal.change).ok();
                local.record_rejection(&NewRejection {
                    doc_key: &key.to_string(),
                    change_hash: hash.as_deref().filter(|h| !h.is_empty()),
                    rule: &refusal.rule,
                    path: &refusal.path,
                    message: &refusal.explanation,
                    bytes: None,
                    words: None,
                })?;
                let heads = local.with_document(&key, |d| heads_bytes(&d.get_heads()))?;
                if let Some(heads) = heads {
                    local.put_meta(&format!("{}{key}", meta::REFUSED_PREFIX), &heads)?;
                }
                let rule = refusal.rule.clone();
                report.refused.push(refusal);
                Some(DocSyncState::Refused { rule })
            }
            DocStatus::Unavailable => {
                // Not (or no longer) readable. Work made here is never
                // dropped: a document with unsynced changes stays until the
                // server says `gone` and the person has seen the refusal.
                if local.unacknowledged_changes(&key)?.is_empty() {
                    local.forget_document(&key)?;
                }
                Some(DocSyncState::Unavailable)
            }
            DocStatus::Malformed => Some(DocSyncState::Malformed),
        };
        if let Some(state) = refused_state {
            // Do not send this document again in this run.
            run.active.remove(&key);
            run.settled.insert(key);
            self.publish(|p| {
                p.docs_done += 1;
                p.documents.insert(key, state);
            });
        }
        Ok(())
    }

    /// Set the refused work of a document aside and remake the later edits
    /// ([`super::set_aside`]): for `rejected`, the change the server named;
    /// for `denied` (the person may not write the document at all), every
    /// change of it not acknowledged. `None`: nothing was set aside.
    fn set_aside<L: LocalReplica>(
        &self,
        local: &mut L,
        refusal: &Refusal,
    ) -> Result<Option<SetAsideOutcome>, SyncError> {
        let hashes: BTreeSet<ChangeHash> = match refusal.status {
            DocStatus::Denied => local
                .unacknowledged_changes(&refusal.key)?
                .iter()
                .filter_map(|c| ChangeHash::try_from(c.hash.as_slice()).ok())
                .collect(),
            _ => hex::decode(&refusal.change)
                .ok()
                .and_then(|h| ChangeHash::try_from(h.as_slice()).ok())
                .into_iter()
                .collect(),
        };
        if hashes.is_empty() {
            return Ok(None);
        }
        Ok(local.set_aside_refused(&RefusedChanges {
            key: refusal.key,
            hashes,
            rule: refusal.rule.clone(),
            path: refusal.path.clone(),
            explanation: refusal.explanation.clone(),
        })?)
    }

    /// Mark the local changes of `key` the server holds (every change not
    /// after the shared heads) as acknowledged. Returns (marked, still unacknowledged).
    fn acknowledge<L: LocalReplica>(
        &self,
        local: &mut L,
        key: &DocKey,
        shared_heads: &[ChangeHash],
    ) -> Result<(usize, usize), SyncError> {
        if shared_heads.is_empty() {
            let n = local.unacknowledged_changes(key)?.len();
            return Ok((0, n));
        }
        let lacks = local.with_document(key, |doc| {
            robust::contain("changes after heads", || {
                doc.get_changes_meta(shared_heads)
                    .into_iter()
                    .map(|m| m.hash)
                    .collect::<BTreeSet<ChangeHash>>()
            })
        })?;
        let Some(lacks) = lacks else {
            return Ok((0, 0));
        };
        let server_lacks = lacks.map_err(ServiceError::from)?;
        let pending = local.unacknowledged_changes(key)?;
        let held: Vec<&[u8]> = pending
            .iter()
            .filter(|c| {
                ChangeHash::try_from(c.hash.as_slice())
                    .map(|h| !server_lacks.contains(&h))
                    .unwrap_or(false)
            })
            .map(|c| c.hash.as_slice())
            .collect();
        let remaining = pending.len() - held.len();
        let marked = if held.is_empty() {
            0
        } else {
            local.mark_acknowledged(key, &held)?
        };
        Ok((marked, remaining))
    }
}

fn refusal_of(reply: &DocReply) -> Refusal {
    match (&reply.rejection, reply.status) {
        (Some(r), _) => Refusal {
            key: reply.key,
            status: reply.status,
            rule: r.rule.clone(),
            path: r.path.clone(),
            change: r.change.clone(),
            explanation: reply.detail.clone().unwrap_or_default(),
        },
        (None, DocStatus::Denied) => {
            let rule = reply.detail.clone().unwrap_or_else(|| "denied".to_owned());
            Refusal {
                key: reply.key,
                status: reply.status,
                explanation: format!("You may read this document but not change it ({rule})."),
                rule,
                path: String::new(),
                change: String::new(),
            }
        }
        (None, status) => Refusal {
            key: reply.key,
            status,
            rule: "refused".to_owned(),
            path: String::new(),
            change: String::new(),
            explanation: reply.detail.clone().unwrap_or_default(),
        },
    }
}
