//! The HTTP API: one handler per route, each thin over [`crate::sync`],
//! [`crate::directory`] and [`crate::auth`]. `docs/sync-protocol.md` is the
//! specification.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bothy_shared::ids::DeviceId;
use bothy_shared::policy::AccessPolicy;
use bothy_shared::robust;
use bothy_shared::signing::PUBLIC_KEY_LEN;
use bothy_shared::wire::{
    self, CBOR_CONTENT_TYPE, ChangedRequest, EnrolRequest, EnrolResponse, KeptReason,
    MAX_DOCS_PER_REQUEST, MatchRequest, MatchResponse, OfferRequest, OfferResponse, SyncRequest,
    TeamRequest, TeamResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{self, Signed, SignedAllowRevoked};
use crate::directory;
use crate::error::{ApiError, InternalError};
use crate::requests::{self, RequestError};
use crate::state::AppState;
use crate::storage::{NewChange, NewDevice};
use crate::sync;
use crate::team;

/// A CBOR body (request) or CBOR response.
#[derive(Debug)]
pub struct Cbor<T>(pub T);

impl<T: Serialize> IntoResponse for Cbor<T> {
    fn into_response(self) -> Response {
        match wire::to_cbor(&self.0) {
            Ok(bytes) => ([(header::CONTENT_TYPE, CBOR_CONTENT_TYPE)], bytes).into_response(),
            Err(e) => ApiError::Internal(InternalError::Encode(e)).into_response(),
        }
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for Cbor<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (_, body) = auth::read_body(req, state).await?;
        decode(&body).map(Cbor)
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // The error names which field has the wrong type (a byte string sent
    // as an array of integers, say), so a client's author can fix it.
    wire::from_cbor(body).map_err(ApiError::BadCbor)
}

/// `GET /health`.
pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `POST /v1/enrol`.
pub async fn enrol(
    State(state): State<AppState>,
    Cbor(req): Cbor<EnrolRequest>,
) -> Result<Cbor<EnrolResponse>, ApiError> {
    if req.public_key.len() != PUBLIC_KEY_LEN {
        return Err(ApiError::Malformed(
            "public_key must be a raw 32-byte Ed25519 key".to_owned(),
        ));
    }
    // Refused, never cut: an empty or over-long name is a 400 that does not
    // use the code up.
    let device_name = req
        .checked_device_name()
        .map_err(|e| ApiError::Malformed(e.to_string()))?
        .to_owned();
    let now = crate::now();
    let response = state
        .blocking(move |state| {
            let storage = state.storage();
            let new = NewDevice {
                id: DeviceId::random(),
                name: device_name,
                public_key: req.public_key,
            };
            let device = storage
                .redeem_enrol_code(&auth::code_hash(&req.code), now, &new)?
                .ok_or(ApiError::InvalidCode)?;
            let person = storage
                .person(device.person)?
                .ok_or(InternalError::DeviceWithoutPerson(device.id))?;
            let principal = directory::principal(storage, &device, &person)?;
            let view = directory::directory_view(storage, &principal, &person)?;
            tracing::info!(device = %device.id, person = %person.id, "device enrolled");
            Ok(EnrolResponse {
                device: device.id,
                person: person.id,
                directory: view,
            })
        })
        .await?;
    Ok(Cbor(response))
}

/// `GET /v1/directory`.
pub async fn directory_view(
    State(state): State<AppState>,
    Signed(auth): Signed,
) -> Result<Response, ApiError> {
    let view = state
        .blocking(move |state| {
            Ok(directory::directory_view(
                state.storage(),
                &auth.principal,
                &auth.person,
            )?)
        })
        .await?;
    Ok(Cbor(view).into_response())
}

/// `POST /v1/changed`.
pub async fn changed(
    State(state): State<AppState>,
    Signed(auth): Signed,
) -> Result<Response, ApiError> {
    let request: ChangedRequest = decode(&auth.body)?;
    let response = state
        .blocking(move |state| Ok(sync::changed(state.storage(), &auth.principal, &request)?))
        .await?;
    Ok(Cbor(response).into_response())
}

/// `POST /v1/sync`.
pub async fn sync(
    State(state): State<AppState>,
    Signed(auth): Signed,
) -> Result<Response, ApiError> {
    let request: SyncRequest = decode(&auth.body)?;
    if request.docs.len() > MAX_DOCS_PER_REQUEST {
        return Err(ApiError::Malformed(format!(
            "at most {MAX_DOCS_PER_REQUEST} documents per request"
        )));
    }
    let now = crate::now();
    let response = state
        .blocking(move |state| {
            Ok(sync::sync_batch(
                state.storage(),
                state.docs(),
                &auth.principal,
                request,
                now,
            )?)
        })
        .await?;
    Ok(Cbor(response).into_response())
}

/// `POST /v1/offer`: a (usually revoked) device's unsynced changes go to
/// quarantine for an administrator, never into a document.
pub async fn request_matches(
    State(state): State<AppState>,
    Signed(auth): Signed,
) -> Result<Response, ApiError> {
    let request: MatchRequest = decode(&auth.body)?;
    let now = crate::now();
    let response = state
        .blocking(move |state| {
            match requests::matches(
                state.storage(),
                state.docs(),
                &auth.principal,
                request.request,
                now,
            ) {
                Ok(candidates) => Ok(MatchResponse { candidates }),
                Err(RequestError::Storage(e)) => Err(e.into()),
                Err(RequestError::Unknown(_) | RequestError::NotDuty) => Err(ApiError::Forbidden(
                    "only a duty worker of the receiving agency checks a request's matches",
                )),
                Err(e) => Err(ApiError::Malformed(e.to_string())),
            }
        })
        .await?;
    Ok(Cbor(response).into_response())
}

pub async fn offer(
    State(state): State<AppState>,
    SignedAllowRevoked(auth): SignedAllowRevoked,
) -> Result<Response, ApiError> {
    let request: OfferRequest = decode(&auth.body)?;
    if request.docs.len() > MAX_DOCS_PER_REQUEST {
        return Err(ApiError::Malformed(format!(
            "at most {MAX_DOCS_PER_REQUEST} documents per request"
        )));
    }
    let now = crate::now();
    let received = state
        .blocking(move |state| {
            let mut received = 0u64;
            for doc in request.docs {
                // Only well-formed changes made on this device are kept.
                let changes: Vec<NewChange> = doc
                    .changes
                    .iter()
                    .filter_map(|bytes| robust::decode_change(bytes).ok())
                    .filter(|c| *c.actor_id() == auth.device.id.actor_id())
                    .map(|c| NewChange::from_change(&c))
                    .collect();
                // Why it is offered: a revoked device, or a person who may
                // no longer read the document (they left the child's team).
                let reason = if auth.principal.device_revoked {
                    KeptReason::Revoked
                } else {
                    match state.storage().team(doc.key.child()) {
                        Ok(t) if AccessPolicy::can_read(&auth.principal, &doc.key, &t).is_ok() => {
                            KeptReason::Offered
                        }
                        Ok(_) | Err(crate::StorageError::NotFound { .. }) => KeptReason::LeftTeam,
                        Err(e) => return Err(e.into()),
                    }
                };
                // Count what is held, new or kept by an earlier try, so a
                // retried offer reports the same.
                state.storage().keep_offered(
                    auth.device.id,
                    auth.person.id,
                    &doc.key,
                    &changes,
                    reason,
                    now,
                )?;
                received += u64::try_from(changes.len()).unwrap_or(u64::MAX);
            }
            tracing::info!(device = %auth.device.id, received, "offer from device quarantined");
            Ok(received)
        })
        .await?;
    Ok(Cbor(OfferResponse { received }).into_response())
}

/// `GET /v1/refused`: the refused changes the caller may read (their own,
/// and those of the people they supervise), with their words.
pub async fn refused(
    State(state): State<AppState>,
    Signed(auth): Signed,
) -> Result<Response, ApiError> {
    let response = state
        .blocking(move |state| {
            Ok(crate::refused::refused_for(
                state.storage(),
                &auth.principal,
            )?)
        })
        .await?;
    Ok(Cbor(response).into_response())
}

/// `POST /v1/team`: team changes made on the device, each applied if the
/// person may make it now, or refused with the rule.
pub async fn team_changes(
    State(state): State<AppState>,
    Signed(auth): Signed,
) -> Result<Response, ApiError> {
    let request: TeamRequest = decode(&auth.body)?;
    if request.changes.len() > MAX_DOCS_PER_REQUEST {
        return Err(ApiError::Malformed(format!(
            "at most {MAX_DOCS_PER_REQUEST} team changes per request"
        )));
    }
    let now = crate::now();
    let response = state
        .blocking(move |state| {
            let mut results = Vec::with_capacity(request.changes.len());
            for change in &request.changes {
                results.push(team::apply_team_change(
                    state.storage(),
                    &auth.principal,
                    change,
                    now,
                )?);
            }
            Ok(TeamResponse { results })
        })
        .await?;
    Ok(Cbor(response).into_response())
}

/// `GET /v1/kept`: offered work a supervisor may see.
pub async fn kept(
    State(state): State<AppState>,
    Signed(auth): Signed,
) -> Result<Response, ApiError> {
    let response = state
        .blocking(move |state| {
            team::kept_for(state.storage(), &auth.principal)?.ok_or(ApiError::Forbidden(
                "only a supervisor sees work kept for the team",
            ))
        })
        .await?;
    Ok(Cbor(response).into_response())
}

/// Any other route.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// A route that exists, with a method it does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
