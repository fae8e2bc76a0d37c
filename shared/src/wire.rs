//! The sync protocol's wire types: what a device and the server send each other.
//!
//! Request and response bodies of `/v1/*` are CBOR (RFC 8949) maps with the
//! field names below (`application/cbor`); byte fields are CBOR byte strings
//! (an array of integers in their place is refused); ids and document keys
//! are text. Error bodies are JSON ([`ErrorBody`]) so
//! they read the same from curl and from a client. `docs/sync-protocol.md`
//! is the full specification, written so a client can be built from it alone.

use serde::{Deserialize, Serialize};

use crate::docs::DocKey;
use crate::ids::{Agency, ChildId, DeviceId, PersonId};

/// The media type of every `/v1/*` request and success response body.
pub const CBOR_CONTENT_TYPE: &str = "application/cbor";

/// `POST`: enrol a device with a one-time code (not signed).
pub const PATH_ENROL: &str = "/v1/enrol";
/// `GET`: the caller's directory view (signed).
pub const PATH_DIRECTORY: &str = "/v1/directory";
/// `POST`: which readable documents changed since a cursor (signed).
pub const PATH_CHANGED: &str = "/v1/changed";
/// `POST`: a batch of Automerge sync messages (signed).
pub const PATH_SYNC: &str = "/v1/sync";
/// `POST`: a revoked device hands over its unsynced changes (signed; the only
/// route a revoked device may use).
pub const PATH_OFFER: &str = "/v1/offer";
/// `GET`: the changes the server refused from the caller, and, for a
/// supervisor, from the people they supervise (signed, empty body).
pub const PATH_REFUSED: &str = "/v1/refused";
/// A duty worker's match check for a request for help.
pub const PATH_REQUEST_MATCHES: &str = "/v1/requests/matches";
/// `POST`: team changes made on the device, applied or refused by the
/// server (signed; `crate::team`).
pub const PATH_TEAM: &str = "/v1/team";
/// `GET`: work offered by devices of people who left a team or whose device
/// was revoked, kept for their supervisors (signed; supervisors only).
pub const PATH_KEPT: &str = "/v1/kept";
/// `GET`: liveness (not signed; JSON `{"status":"ok"}`).
pub const PATH_HEALTH: &str = "/health";

/// The most documents one `/v1/sync` or `/v1/offer` request may carry.
pub const MAX_DOCS_PER_REQUEST: usize = 256;

/// The most Automerge changes one `/v1/sync` or `/v1/offer` request may
/// carry, over all its documents (more gets `413 too-large`, and nothing of
/// the request is applied or kept). How large each change may be is the
/// gate's business (`gate::limits`).
pub const MAX_CHANGES_PER_REQUEST: usize = 10_000;

/// The most changes the server keeps offered (`/v1/offer`) by one device, in
/// all; an offer that would keep more gets `413 too-large`.
pub const MAX_OFFERED_CHANGES_PER_DEVICE: usize = 10_000;

/// The most bytes of changes the server keeps offered by one device, in all.
pub const MAX_OFFERED_BYTES_PER_DEVICE: usize = 16 * 1024 * 1024;

/// Serde for `Vec<u8>` as a CBOR byte string.
///
/// Strict on input: an array of integers where a byte string belongs is
/// refused (serde's default for a sequence), as `docs/sync-protocol.md`
/// says, so a client that sends one learns at once instead of meeting a
/// server that happens to be lenient.
pub mod bytes {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string (CBOR major type 2), not an array of integers")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
    }

    /// The same for `Option<Vec<u8>>` (absent or null is `None`).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(b) => s.serialize_bytes(b),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] Vec<u8>);
            Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
        }
    }

    /// The same for `Vec<Vec<u8>>`.
    pub mod list {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for b in v {
                seq.serialize_element(&Wrapped(b.clone()))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
            Ok(Vec::<Wrapped>::deserialize(d)?
                .into_iter()
                .map(|w| w.0)
                .collect())
        }

        #[derive(serde::Serialize, Deserialize)]
        struct Wrapped(#[serde(with = "super")] Vec<u8>);
    }
}

// ---------------------------------------------------------------- enrolment

/// `POST /v1/enrol`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// The one-time code an administrator gave the person (dashes and case
    /// are ignored).
    pub code: String,
    /// The device's raw 32-byte Ed25519 public key.
    #[serde(with = "bytes")]
    pub public_key: Vec<u8>,
    /// A name the person recognises ("Morag's work phone"); shown to admins.
    /// Trimmed, then not empty and at most [`MAX_DEVICE_NAME_CHARS`]
    /// characters ([`EnrolRequest::checked_device_name`]).
    pub device_name: String,
}

/// The most characters (Unicode scalar values, after trimming) a device name
/// may have: room for "Morag Fraser's work phone (Inverness office)" twice
/// over, and short enough for an administrator's one-line device list.
pub const MAX_DEVICE_NAME_CHARS: usize = 100;

/// A device name the server does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadDeviceName {
    #[error("device_name must not be empty")]
    Empty,
    #[error(
        "device_name has {chars} characters; at most {MAX_DEVICE_NAME_CHARS} are accepted (nothing is cut)"
    )]
    TooLong { chars: usize },
}

impl EnrolRequest {
    /// The device name as it is stored: trimmed, not empty, and at most
    /// [`MAX_DEVICE_NAME_CHARS`] characters. A longer name is refused, never
    /// cut, so what the person typed is what administrators see.
    pub fn checked_device_name(&self) -> Result<&str, BadDeviceName> {
        let name = self.device_name.trim();
        let chars = name.chars().count();
        if chars == 0 {
            Err(BadDeviceName::Empty)
        } else if chars > MAX_DEVICE_NAME_CHARS {
            Err(BadDeviceName::TooLong { chars })
        } else {
            Ok(name)
        }
    }
}

impl std::fmt::Debug for EnrolRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code is a credential until it is used: never print it.
        f.debug_struct("EnrolRequest")
            .field("device_name", &self.device_name)
            .finish_non_exhaustive()
    }
}

/// The answer to a successful enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    /// The new device's id: sign every later request as this device, and make
    /// every Automerge change with actor [`DeviceId::actor_id`].
    pub device: DeviceId,
    pub person: PersonId,
    pub directory: DirectoryView,
}

// ---------------------------------------------------------------- directory

/// What a person may know of the partnership's directory: who they are, and
/// the children whose documents they may read, with each child's team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryView {
    pub me: PersonView,
    /// The people this person supervises (empty unless a supervisor).
    pub supervises: Vec<PersonView>,
    pub children: Vec<ChildView>,
    /// The enrolled devices (revoked ones included) of the people this person
    /// sees in the directory: themselves, whom they supervise and the members
    /// of every team listed, so a device can say who made a change (its
    /// Automerge actor is the device id). Absent from older servers.
    #[serde(default)]
    pub devices: Vec<DeviceView>,
    /// The partnership's practitioners and supervisors (never a young
    /// person), so a lead professional can choose whom to add to a team.
    /// Empty for a young person; absent from older servers.
    #[serde(default)]
    pub colleagues: Vec<PersonView>,
}

/// Which person an enrolled device belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub device: DeviceId,
    pub person: PersonId,
}

/// One person as the directory shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    pub id: PersonId,
    pub name: String,
    pub kind: PersonKindView,
    /// `None` for a young person.
    pub agency: Option<Agency>,
    /// For a young person: the child whose plan they read (themselves).
    pub child: Option<ChildId>,
    /// On their agency's duty team: they receive its requests for help.
    /// Absent (older servers) reads as `false`.
    #[serde(default)]
    pub duty: bool,
}

/// `POST /v1/requests/matches`: a duty worker's match check for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchRequest {
    pub request: crate::ids::RequestId,
}

/// The children already in Bothy who might be the one a request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchResponse {
    pub candidates: Vec<ChildMatch>,
}

/// One candidate of a match check: only what the check needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildMatch {
    pub child: ChildId,
    pub name: String,
    /// `YYYY-MM-DD`, when the plan gives it.
    pub date_of_birth: Option<String>,
}

/// On the wire: `"practitioner"`, `"supervisor"` or `"young-person"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PersonKindView {
    Practitioner,
    Supervisor,
    YoungPerson,
}

/// A child this person may read documents of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildView {
    pub id: ChildId,
    pub name: String,
    /// The documents of this child the person may read, in key order.
    pub documents: Vec<DocKey>,
    pub team: Vec<TeamMemberView>,
    /// The young person linked to this child, if any.
    pub young_person: Option<PersonId>,
}

/// One member of a child's team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMemberView {
    pub person: PersonId,
    pub name: String,
    pub agency: Agency,
    pub role: TeamRoleView,
}

/// On the wire: `"member"`, `"lead-professional"` or `"named-person"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeamRoleView {
    Member,
    LeadProfessional,
    NamedPerson,
}

// ---------------------------------------------------------------- changed

/// `POST /v1/changed`: which of my documents should I sync?
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedRequest {
    /// The cursor from the last response this device received, or `None` on
    /// first use (or after losing its data).
    #[serde(default, rename = "c", alias = "cursor")]
    pub cursor: Option<String>,
    /// Documents from an earlier response's `gone` that the device has now
    /// deleted, so the server stops listing them.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename = "x",
        alias = "dropped"
    )]
    pub dropped: Vec<DocKey>,
}

/// The answer to [`ChangedRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedResponse {
    /// Opaque: send it back as-is next time, after syncing what is listed.
    pub cursor: String,
    /// Readable documents with changes from others since `cursor`.
    pub changed: Vec<DocKey>,
    /// Readable documents this device has never synced: start syncing them
    /// from an empty document. Listed on every call until synced once.
    pub new: Vec<DocKey>,
    /// Documents this device synced before but may no longer read: delete
    /// them (the server refuses any change to them now), then acknowledge
    /// them in the next request's `dropped`.
    pub gone: Vec<DocKey>,
}

// ---------------------------------------------------------------- sync

/// `POST /v1/sync`: one Automerge sync message per document, and
/// optionally the `/v1/changed` question, so a push is one round trip.
///
/// Requests (this, [`DocMessage`] and [`ChangedRequest`]) name their fields
/// with one letter on the wire, which keeps a one-visit push small; the
/// server also reads the spelled-out names older devices send. Responses
/// keep their names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    #[serde(rename = "d", alias = "docs")]
    pub docs: Vec<DocMessage>,
    /// Ask what `/v1/changed` would answer for this cursor (and acknowledge
    /// `dropped`); the answer comes back in [`SyncResponse::changed`].
    /// Servers that predate it ignore it and answer without `changed`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "q",
        alias = "changed"
    )]
    pub changed: Option<ChangedRequest>,
}

/// A sync message for one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMessage {
    #[serde(rename = "k", alias = "key")]
    pub key: DocKey,
    /// `automerge::sync::Message::encode()` output (V2-capable, as automerge
    /// 0.12 generates).
    #[serde(with = "bytes", rename = "m", alias = "message")]
    pub message: Vec<u8>,
}

/// The answer to [`SyncRequest`]: one entry per requested document, in the
/// request's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub docs: Vec<DocReply>,
    /// Present exactly when the request asked [`SyncRequest::changed`]: the
    /// same answer `/v1/changed` gives, computed before the request's
    /// messages were applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<ChangedResponse>,
}

/// The server's answer for one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocReply {
    pub key: DocKey,
    pub status: DocStatus,
    /// The server's next sync message for this document, to pass to
    /// `receive_sync_message`. Present for `ok`, `rejected` and `denied`;
    /// absent for `unavailable` and `malformed`.
    #[serde(
        default,
        with = "bytes::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<Vec<u8>>,
    /// For `rejected`: which change broke which rule, where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<RejectionView>,
    /// `rejected`: the rule explained in plain words; `denied`: the rule name;
    /// `malformed`: a short reason. Never document content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What became of one document in a sync batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocStatus {
    /// The message was applied; any changes it carried are stored.
    Ok,
    /// The message carried changes and the server refused all of them (none
    /// stored): see `rejection`. Keep them on the device, do not resend them
    /// in this sync run.
    Rejected,
    /// The message carried changes to a document this person may read but not
    /// write (none stored).
    Denied,
    /// No such document, or not readable by this device: the two look the same.
    Unavailable,
    /// The sync message could not be decoded or applied.
    Malformed,
}

/// A rejected change: its hash, the path in the document it touched, and the
/// name of the rule it broke (stable, from `bothy_shared::gate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionView {
    /// Lowercase hex of the Automerge change hash.
    pub change: String,
    pub path: String,
    pub rule: String,
}

/// A device's sync state for one document at the start of a sync run.
///
/// Decodes what the device persisted (`automerge::sync::State::encode()`,
/// which keeps only the shared heads; `None` or undecodable bytes start
/// afresh) and primes it so the run's first message already carries every
/// local change made since the last sync: the server promises that shared
/// heads only ever name changes it has stored, so the device may assume the
/// server has exactly those. Pushing a new visit is then one round trip.
/// (Without priming Automerge spends a round trip learning what the server
/// has; both are correct.)
pub fn resume_sync_state(encoded: Option<&[u8]>) -> automerge::sync::State {
    use automerge::sync::{BloomFilter, Have, State};
    let mut state = encoded
        .and_then(|bytes| State::decode(bytes).ok())
        .unwrap_or_default();
    if !state.shared_heads.is_empty() {
        state.their_heads = Some(state.shared_heads.clone());
        state.their_need = Some(Vec::new());
        state.their_have = Some(vec![Have {
            last_sync: state.shared_heads.clone(),
            bloom: BloomFilter::default(),
        }]);
    }
    state
}

/// The sync message Automerge would generate for `doc` in `state` when it
/// chose to send the changes `hashes`, carrying `chunks` (those changes'
/// bytes, kept by the caller) instead of changes Automerge rebuilds from
/// the document's operation columns (a cost that follows the whole
/// document's size); `state` moves as Automerge would move it. `None`, with
/// `state` untouched, when Automerge would not answer now. The caller
/// chose `hashes` by Automerge's rule: see the device's outbox and the
/// server's kept changes.
pub fn sync_message_with_changes(
    doc: &automerge::Automerge,
    state: &mut automerge::sync::State,
    hashes: Vec<automerge::ChangeHash>,
    chunks: Vec<Vec<u8>>,
) -> Option<automerge::sync::Message> {
    use automerge::sync::SyncDoc;
    // Everything but the changes, from Automerge: without the peer's
    // `have` it chooses no changes and is otherwise the same computation.
    let mut moved = state.clone();
    let their_have = moved.their_have.take();
    let mut message = doc.generate_sync_message(&mut moved)?;
    message.changes = automerge::sync::ChunkList::from(chunks);
    moved.their_have = their_have;
    moved.sent_hashes.extend(hashes);
    *state = moved;
    Some(message)
}

// ---------------------------------------------------------------- offer

/// `POST /v1/offer`: a revoked device hands over changes that never synced,
/// before it wipes itself. The server stores them in quarantine for an
/// administrator; it never applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRequest {
    pub docs: Vec<OfferedDoc>,
}

/// Unsynced changes of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedDoc {
    pub key: DocKey,
    /// Raw Automerge change chunks (`Change::raw_bytes()`).
    #[serde(with = "bytes::list")]
    pub changes: Vec<Vec<u8>>,
}

/// The answer to [`OfferRequest`]: how many changes were kept. After this
/// the device may wipe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferResponse {
    pub received: u64,
}

// ---------------------------------------------------------------- team changes

/// `POST /v1/team`: team changes the device made offline, in the order made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRequest {
    /// At most [`MAX_DOCS_PER_REQUEST`].
    pub changes: Vec<crate::team::TeamChange>,
}

/// One result per change, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamResponse {
    pub results: Vec<TeamResult>,
}

/// What became of one team change. The same id sent again gets the same
/// answer (the server applies each id once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamResult {
    pub id: crate::ids::ItemId,
    pub status: TeamStatus,
    /// For `refused`: the rule's stable name (`crate::policy::Rule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For `refused`: the rule's explanation, for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `"applied"` or `"refused"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeamStatus {
    Applied,
    Refused,
}

/// `GET /v1/kept`: offered work a supervisor may see: offered by someone
/// they supervise, or about a child whose team they supervise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptResponse {
    pub kept: Vec<KeptChange>,
}

/// One change the server keeps apart, never applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptChange {
    pub document: DocKey,
    /// Who offered it, from which device.
    pub person: PersonId,
    pub device: DeviceId,
    pub reason: KeptReason,
    /// Unix seconds.
    pub received_at: i64,
    /// The raw Automerge change.
    #[serde(with = "bytes")]
    pub change: Vec<u8>,
}

/// Why work was offered instead of synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeptReason {
    /// The device was revoked.
    Revoked,
    /// Its person left the child's team before it synced.
    LeftTeam,
    /// Offered while the person could still read the document (a device
    /// should sync instead; kept all the same).
    Offered,
}

crate::slug::slugs!(KeptReason {
    Revoked => "revoked",
    LeftTeam => "left-team",
    Offered => "offered",
});

// ---------------------------------------------------------------- errors

/// The JSON body of every error response (`application/json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorCode,
    /// A sentence for logs and people; clients branch on `error`.
    pub message: String,
}

/// Stable error codes; on the wire in kebab-case (`"device-revoked"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// 400: the body is not the expected CBOR, or a field is invalid.
    Malformed,
    /// 401: a signature header is missing or malformed.
    Unsigned,
    /// 401: the signature does not verify.
    BadSignature,
    /// 401: the timestamp is more than five minutes from the server's clock.
    StaleTimestamp,
    /// 401: this nonce was already used.
    ReplayedNonce,
    /// 401: no device with this id is enrolled.
    UnknownDevice,
    /// 401: the enrolment code is unknown, used or expired (indistinguishable).
    InvalidCode,
    /// 403: the device is revoked. Offer unsynced work to `/v1/offer`, then wipe.
    DeviceRevoked,
    /// 403: the request is not allowed for this person.
    Forbidden,
    /// 404: no such route.
    NotFound,
    /// 413: the body is larger than the server accepts.
    TooLarge,
    /// 415: the body is not `application/cbor`.
    UnsupportedMediaType,
    /// 408: the request took too long.
    Timeout,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 429: too many enrolment attempts or failed signatures from this
    /// address or for this device; the `Retry-After` header says when to
    /// try again.
    RateLimited,
    /// 500: the server failed; nothing was half-done (retry later).
    Internal,
}

// The slug is the kebab-case name used on the wire (serde's name).
crate::slug::slugs!(ErrorCode {
    Malformed => "malformed",
    Unsigned => "unsigned",
    BadSignature => "bad-signature",
    StaleTimestamp => "stale-timestamp",
    ReplayedNonce => "replayed-nonce",
    UnknownDevice => "unknown-device",
    InvalidCode => "invalid-code",
    DeviceRevoked => "device-revoked",
    Forbidden => "forbidden",
    NotFound => "not-found",
    TooLarge => "too-large",
    UnsupportedMediaType => "unsupported-media-type",
    Timeout => "timeout",
    MethodNotAllowed => "method-not-allowed",
    RateLimited => "rate-limited",
    Internal => "internal",
});

// ---------------------------------------------------------------- CBOR helpers

/// A body that could not be encoded or decoded as CBOR.
#[derive(Debug, thiserror::Error)]
pub enum CborError {
    #[error("could not encode CBOR: {0}")]
    Encode(#[source] ciborium::ser::Error<std::io::Error>),
    #[error("bad CBOR: {0}")]
    Decode(#[source] ciborium::de::Error<std::io::Error>),
}

impl CborError {
    /// Why a body did not decode, in a sentence fit to send back to the
    /// client that sent it: where it stops being CBOR, or which value does
    /// not have the type its field needs ("invalid type: sequence, expected
    /// a byte string…"). It quotes nothing but the body itself.
    pub fn reason(&self) -> String {
        use ciborium::de::Error;
        match self {
            CborError::Encode(_) => "the value could not be encoded".to_owned(),
            CborError::Decode(Error::Io(_)) => "the body ends before its CBOR does".to_owned(),
            CborError::Decode(Error::Syntax(at)) => format!("not well-formed CBOR at byte {at}"),
            CborError::Decode(Error::Semantic(_, what)) => what.clone(),
            CborError::Decode(Error::RecursionLimitExceeded) => "nested too deeply".to_owned(),
        }
    }
}

/// Encode a wire value as CBOR.
pub fn to_cbor<T: Serialize>(value: &T) -> Result<Vec<u8>, CborError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(CborError::Encode)?;
    Ok(out)
}

/// Decode a wire value from CBOR (untrusted bytes: never panics; nesting is
/// limited by ciborium's default recursion limit).
pub fn from_cbor<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CborError> {
    ciborium::from_reader(bytes).map_err(CborError::Decode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_fields_are_cbor_byte_strings() {
        let key = DocKey::Plan(ChildId::random());
        let req = SyncRequest {
            docs: vec![DocMessage {
                key,
                message: vec![1, 2, 3],
            }],
            changed: None,
        };
        let bytes = to_cbor(&req).unwrap();
        // major type 2 (byte string) of length 3: 0x43 followed by 1 2 3
        assert!(bytes.windows(4).any(|w| w == [0x43, 1, 2, 3]));
        assert_eq!(from_cbor::<SyncRequest>(&bytes).unwrap(), req);
    }

    #[test]
    fn requests_are_sent_with_one_letter_names_and_read_with_either() {
        #[derive(Serialize)]
        struct OldQuestion {
            cursor: Option<String>,
            dropped: Vec<DocKey>,
        }
        #[derive(Serialize)]
        struct OldMessage {
            key: DocKey,
            #[serde(with = "bytes")]
            message: Vec<u8>,
        }
        #[derive(Serialize)]
        struct OldRequest {
            docs: Vec<OldMessage>,
            changed: OldQuestion,
        }
        let key = DocKey::Record(ChildId::random());
        let gone = DocKey::Plan(ChildId::random());
        let new = SyncRequest {
            docs: vec![DocMessage {
                key,
                message: vec![7, 8],
            }],
            changed: Some(ChangedRequest {
                cursor: Some("c1.42".to_owned()),
                dropped: vec![gone],
            }),
        };
        let sent = to_cbor(&new).unwrap();
        let text = String::from_utf8_lossy(&sent);
        for long in ["docs", "key", "message", "changed", "cursor", "dropped"] {
            assert!(!text.contains(long), "{long} is spelled out");
        }
        let old = to_cbor(&OldRequest {
            docs: vec![OldMessage {
                key,
                message: vec![7, 8],
            }],
            changed: OldQuestion {
                cursor: Some("c1.42".to_owned()),
                dropped: vec![gone],
            },
        })
        .unwrap();
        assert!(old.len() > sent.len());
        assert_eq!(from_cbor::<SyncRequest>(&old).unwrap(), new);
        assert_eq!(from_cbor::<SyncRequest>(&sent).unwrap(), new);
    }

    #[test]
    fn replies_round_trip_with_and_without_optional_fields() {
        let key = DocKey::Record(ChildId::random());
        for reply in [
            DocReply {
                key,
                status: DocStatus::Ok,
                message: Some(vec![0x43, 0]),
                rejection: None,
                detail: None,
            },
            DocReply {
                key,
                status: DocStatus::Rejected,
                message: None,
                rejection: Some(RejectionView {
                    change: "ab".into(),
                    path: "/needs".into(),
                    rule: "r".into(),
                }),
                detail: None,
            },
        ] {
            let resp = SyncResponse {
                docs: vec![reply],
                changed: None,
            };
            assert_eq!(
                from_cbor::<SyncResponse>(&to_cbor(&resp).unwrap()).unwrap(),
                resp
            );
        }
        let offer = OfferRequest {
            docs: vec![OfferedDoc {
                key,
                changes: vec![vec![1], vec![2, 3]],
            }],
        };
        assert_eq!(
            from_cbor::<OfferRequest>(&to_cbor(&offer).unwrap()).unwrap(),
            offer
        );
    }

    #[test]
    fn the_changed_question_rides_along_and_old_bodies_still_read() {
        let key = DocKey::Plan(ChildId::random());
        let req = SyncRequest {
            docs: vec![],
            changed: Some(ChangedRequest {
                cursor: Some("c1.7".into()),
                dropped: vec![key],
            }),
        };
        assert_eq!(
            from_cbor::<SyncRequest>(&to_cbor(&req).unwrap()).unwrap(),
            req
        );
        let resp = SyncResponse {
            docs: vec![],
            changed: Some(ChangedResponse {
                cursor: "c1.9".into(),
                changed: vec![key],
                new: vec![],
                gone: vec![],
            }),
        };
        assert_eq!(
            from_cbor::<SyncResponse>(&to_cbor(&resp).unwrap()).unwrap(),
            resp
        );
        // Without the question the body is what it always was.
        let plain = SyncRequest::default();
        let bytes = to_cbor(&plain).unwrap();
        assert!(!contains(&bytes, b"changed"));
        assert_eq!(from_cbor::<SyncRequest>(&bytes).unwrap(), plain);
        // An empty `dropped` is left out, and reads back as empty.
        let bytes = to_cbor(&ChangedRequest::default()).unwrap();
        assert!(!contains(&bytes, b"dropped"));
        assert_eq!(
            from_cbor::<ChangedRequest>(&bytes).unwrap(),
            ChangedRequest::default()
        );
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_byte_field_sent_as_an_array_of_integers_is_refused() {
        // {"k": "plan/<child>", "m": [1, 2, 3]}: the message as an array.
        #[derive(Serialize)]
        struct AsArray {
            k: DocKey,
            m: Vec<u8>,
        }
        let key = DocKey::Plan(ChildId::random());
        let body = to_cbor(&AsArray {
            k: key,
            m: vec![1, 2, 3],
        })
        .unwrap();
        let err = from_cbor::<DocMessage>(&body).unwrap_err();
        assert!(
            err.reason()
                .starts_with("invalid type: sequence, expected a byte string"),
            "{err}"
        );
        // The same bytes as a byte string read.
        let ok = to_cbor(&DocMessage {
            key,
            message: vec![1, 2, 3],
        })
        .unwrap();
        assert_eq!(from_cbor::<DocMessage>(&ok).unwrap().message, [1, 2, 3]);

        // Every byte field is as strict: the optional and the listed ones too.
        #[derive(Serialize)]
        struct ReplyAsArray {
            key: DocKey,
            status: DocStatus,
            message: Vec<u8>,
        }
        let reply = to_cbor(&ReplyAsArray {
            key,
            status: DocStatus::Ok,
            message: vec![1],
        })
        .unwrap();
        assert!(from_cbor::<DocReply>(&reply).is_err());
        #[derive(Serialize)]
        struct OfferedAsArrays {
            key: DocKey,
            changes: Vec<Vec<u8>>,
        }
        let offered = to_cbor(&OfferedAsArrays {
            key,
            changes: vec![vec![1, 2]],
        })
        .unwrap();
        assert!(from_cbor::<OfferedDoc>(&offered).is_err());
        #[derive(Serialize)]
        struct EnrolAsArray {
            code: String,
            public_key: Vec<u8>,
            device_name: String,
        }
        let enrol = to_cbor(&EnrolAsArray {
            code: "C".into(),
            public_key: vec![0; 32],
            device_name: "phone".into(),
        })
        .unwrap();
        assert!(from_cbor::<EnrolRequest>(&enrol).is_err());
    }

    #[test]
    fn device_names_are_trimmed_and_refused_when_empty_or_too_long() {
        let req = |name: &str| EnrolRequest {
            code: "C".into(),
            public_key: vec![0; 32],
            device_name: name.into(),
        };
        assert_eq!(
            req("  Morag's phone ").checked_device_name(),
            Ok("Morag's phone")
        );
        assert_eq!(req(" \t ").checked_device_name(), Err(BadDeviceName::Empty));
        let longest = "é".repeat(MAX_DEVICE_NAME_CHARS);
        assert_eq!(
            req(&format!(" {longest} ")).checked_device_name(),
            Ok(longest.as_str())
        );
        assert_eq!(
            req(&format!("{longest}x")).checked_device_name(),
            Err(BadDeviceName::TooLong {
                chars: MAX_DEVICE_NAME_CHARS + 1
            })
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            &b""[..],
            b"\xff",
            b"\xa1\x64docs\x9f",
            b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
        ] {
            assert!(from_cbor::<SyncRequest>(junk).is_err());
        }
    }

    #[test]
    fn error_codes_match_their_serde_names() {
        for code in [
            ErrorCode::DeviceRevoked,
            ErrorCode::ReplayedNonce,
            ErrorCode::UnsupportedMediaType,
        ] {
            let s = to_cbor(&code).unwrap();
            let name: String = from_cbor(&s).unwrap();
            assert_eq!(name, code.as_str());
        }
    }
}

// ---------------------------------------------------------------- refused work

/// The answer to `GET /v1/refused`: every refused change the server keeps
/// that the caller may see, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedResponse {
    pub refused: Vec<RefusedChangeView>,
}

/// One refused change, with the words it would have written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChangeView {
    /// Whose device sent it.
    pub person: PersonId,
    /// Their name, as the directory has it.
    pub name: String,
    pub device: DeviceId,
    pub document: DocKey,
    /// Lowercase hex of the change hash.
    pub change: String,
    /// The rule it broke (`bothy_shared::policy::Rule`).
    pub rule: String,
    /// Where in the document (empty when not named).
    pub path: String,
    /// The rule explained in plain words.
    pub explanation: String,
    /// What the change would have written (`bothy_shared::refused::words_of_change`).
    pub words: String,
    /// Unix seconds when the server refused it.
    pub at: i64,
}
