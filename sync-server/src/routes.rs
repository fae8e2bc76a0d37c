//! The HTTP API: one handler per route, each thin over [`crate::sync`],
//! [`crate::directory`] and [`crate::auth`]. `docs/sync-protocol.md` is the
//! specification.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bothy_shared::ids::DeviceId;
use bothy_shared::signing::PUBLIC_KEY_LEN;
use bothy_shared::wire::{
    self, CBOR_CONTENT_TYPE, ChangedRequest, EnrolRequest, EnrolResponse, MAX_DOCS_PER_REQUEST,
    MatchRequest, MatchResponse, OfferRequest, OfferResponse, SyncRequest, TeamRequest,
    TeamResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{self, Signed, SignedAllowRevoked};
use crate::directory;
use crate::error::{ApiError, InternalError};
use crate::offer::{self, OfferError};
use crate::requests::{self, RequestError};
use crate::state::AppState;
use crate::storage::NewDevice;
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
                state.quotas(),
                &auth.principal,
                request,
                now,
            )?)
        })
        .await?;
    Ok(Cbor(response).into_response())
}

/// `POST /v1/requests/matches`: a duty worker's match check for a request.
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

/// `POST /v1/offer`: a (usually revoked) device's unsynced changes go to
/// quarantine for a person to decide, never into a document
/// ([`crate::offer`]).
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
            let by = offer::Offerer {
                device: auth.device.id,
                person: auth.person.id,
                principal: &auth.principal,
            };
            match offer::keep_offer(state.storage(), &by, request, now) {
                Ok(received) => {
                    tracing::info!(device = %auth.device.id, received, "offer from device quarantined");
                    Ok(received)
                }
                Err(OfferError::Storage(e)) => Err(e.into()),
                Err(e @ (OfferError::TooManyChanges | OfferError::DeviceFull)) => {
                    Err(ApiError::OverLimit(e.to_string()))
                }
                Err(OfferError::NotWritable { rule, .. }) => {
                    tracing::info!(device = %auth.device.id, rule = rule.as_str(), "offer refused");
                    Err(ApiError::Forbidden(
                        "only documents this person could write may be offered",
                    ))
                }
            }
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
