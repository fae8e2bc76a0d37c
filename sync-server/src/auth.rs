//! Who is asking: enrolment codes and signed requests.
//!
//! A person's device enrols once with a one-time code an administrator
//! issued ([`issue_enrol_code`]); the server keeps only the code's SHA-256,
//! and the code expires. After that every request is signed with the
//! device's Ed25519 key ([`bothy_shared::signing`]); the [`Signed`]
//! extractor checks the signature, the timestamp window and the nonce
//! (remembered for the window, so a captured request cannot be replayed),
//! and refuses a revoked device with 403 `device-revoked`, except on the
//! route that takes a revoked device's last offer ([`SignedAllowRevoked`]).
//! The device a signature names is looked up before the body is read, so a
//! request from no enrolled device is refused having read only its head;
//! failures count against the address and the device ([`crate::throttle`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};
use bothy_shared::ids::{DeviceId, PersonId};
use bothy_shared::policy::Principal;
use bothy_shared::signing::{
    self, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, MAX_SKEW_SECS,
    SignedHeaders, VerifyError,
};
use bothy_shared::wire::CBOR_CONTENT_TYPE;
use ring::rand::{SecureRandom, SystemRandom};

use crate::BodyTimeout;
use crate::directory;
use crate::error::{ApiError, InternalError};
use crate::state::AppState;
use crate::storage::{DeviceRecord, PersonRecord, Storage, StorageError, UnixSeconds};
use crate::throttle::{self, Throttle};

/// Crockford's base32: no I, L, O or U, so a code read aloud or copied by
/// hand survives.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code (5 bits each: 80 bits of randomness).
const CODE_CHARS: usize = 16;

/// The four-header spelling of a signature, which [`signing::HEADER_AUTH`]
/// replaces (still accepted).
const FOUR_HEADERS: [&str; 4] = [
    HEADER_DEVICE,
    HEADER_TIMESTAMP,
    HEADER_NONCE,
    HEADER_SIGNATURE,
];

/// How long an enrolment code stays valid unless the administrator says otherwise.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(72 * 3600);

/// Why an enrolment code could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("no person {0}")]
    UnknownPerson(PersonId),
    #[error("the system random number generator failed")]
    Random,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A fresh code, grouped in fours: `7K3M-Q9XD-2HFA-PW4C`.
fn new_code() -> Result<String, CodeError> {
    let mut bytes = [0u8; CODE_CHARS];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CodeError::Random)?;
    let mut code = String::with_capacity(CODE_CHARS + 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        // 256 is a multiple of 32, so taking the low five bits is unbiased.
        code.push(char::from(CODE_ALPHABET[usize::from(b & 0x1f)]));
    }
    Ok(code)
}

/// The form a code is hashed in: no separators or spaces, upper case, and
/// the letters people confuse with digits read as those digits.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// What the server stores for a code: SHA-256 over a domain tag and the
/// normalised code (80 random bits make a slow hash unnecessary).
pub fn code_hash(code: &str) -> Vec<u8> {
    let input = format!("bothy-enrol-code-v1:{}", normalise_code(code));
    ring::digest::digest(&ring::digest::SHA256, input.as_bytes())
        .as_ref()
        .to_vec()
}

/// Issue a one-time enrolment code for a person, valid for `ttl` from `now`.
/// The code is returned once and never stored.
pub fn issue_enrol_code(
    storage: &dyn Storage,
    person: PersonId,
    ttl: Duration,
    now: UnixSeconds,
) -> Result<String, CodeError> {
    if storage.person(person)?.is_none() {
        return Err(CodeError::UnknownPerson(person));
    }
    let code = new_code()?;
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    storage.add_enrol_code(&code_hash(&code), person, now.saturating_add(ttl))?;
    Ok(code)
}

/// A request whose signature checked out, from a device and person the
/// directory knows.
#[derive(Debug)]
pub struct Authenticated {
    pub device: DeviceRecord,
    pub person: PersonRecord,
    pub principal: Principal,
    /// The raw body the signature covers.
    pub body: Bytes,
}

/// A signed request from a device that is not revoked.
#[derive(Debug)]
pub struct Signed(pub Authenticated);

/// A signed request from any enrolled device, revoked or not.
#[derive(Debug)]
pub struct SignedAllowRevoked(pub Authenticated);

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let auth = authenticate(req, state).await?;
        if auth.device.revoked_at.is_some() {
            return Err(ApiError::DeviceRevoked);
        }
        Ok(Signed(auth))
    }
}

impl FromRequest<AppState> for SignedAllowRevoked {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        Ok(SignedAllowRevoked(authenticate(req, state).await?))
    }
}

/// Read a request body within the router's body limit and body read
/// timeout, insisting on CBOR when there is one (a `POST` is checked before
/// a byte of its body is read).
pub(crate) async fn read_body(
    req: Request,
    state: &AppState,
) -> Result<(axum::http::request::Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let is_cbor = || {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        media_type.eq_ignore_ascii_case(CBOR_CONTENT_TYPE)
    };
    if parts.method == Method::POST && !is_cbor() {
        return Err(ApiError::UnsupportedMediaType);
    }
    let timeout = parts
        .extensions
        .get::<BodyTimeout>()
        .map_or(crate::DEFAULT_BODY_TIMEOUT, |t| t.0);
    let req = Request::from_parts(parts.clone(), body);
    let bytes = tokio::time::timeout(timeout, Bytes::from_request(req, state))
        .await
        .map_err(|_| ApiError::BodyTimeout)?
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::UnreadableBody(rejection)
            }
        })?;
    if !bytes.is_empty() && !is_cbor() {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok((parts, bytes))
}

/// Check a signed request, counting a failure against the client's address
/// and the device it names ([`Throttle`]); once either has failed too often,
/// its requests get `429` before anything else is done.
async fn authenticate(req: Request, state: &AppState) -> Result<Authenticated, ApiError> {
    let ip = throttle::client_ip(req.extensions());
    let throttle = req.extensions().get::<Arc<Throttle>>().cloned();
    if let Some(throttle) = &throttle {
        throttle.check_address(ip)?;
    }
    let mut named_device = None;
    let result = verify(req, state, throttle.as_deref(), &mut named_device).await;
    match (result, &throttle) {
        (Err(refused), Some(throttle)) if refused.is_failed_signature() => {
            match throttle.signature_failed(ip, named_device) {
                Some(retry_after) => {
                    tracing::warn!(client = ?ip, device = ?named_device, "failed signatures over the limit");
                    Err(ApiError::RateLimited { retry_after })
                }
                None => Err(refused),
            }
        }
        (result, _) => result,
    }
}

/// The checks of a signed request, cheapest first: the headers, the
/// timestamp and the device are checked before a byte of the body is read,
/// so a request from nobody costs no more than its head. `named_device` is
/// set once the signature names an enrolled device.
async fn verify(
    req: Request,
    state: &AppState,
    throttle: Option<&Throttle>,
    named_device: &mut Option<DeviceId>,
) -> Result<Authenticated, ApiError> {
    let (parts, body) = req.into_parts();
    let lookup = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let headers = match SignedHeaders::from_lookup(lookup) {
        // Nothing of a signature at all: name the header to send, not the
        // first of the older four-header form that happens to be missing.
        Err(VerifyError::Missing(_)) if FOUR_HEADERS.iter().all(|&h| lookup(h).is_none()) => {
            return Err(ApiError::NotSigned);
        }
        other => other?,
    };
    let now = crate::now();
    // Cheap checks first: a stale request never reaches the database.
    if now.abs_diff(headers.timestamp) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(ApiError::StaleTimestamp);
    }
    if let Some(throttle) = throttle {
        throttle.check_device(headers.device)?;
    }
    let device_id = headers.device;
    let device = state
        .blocking(move |state| {
            state
                .storage()
                .device(device_id)?
                .ok_or(ApiError::UnknownDevice)
        })
        .await?;
    *named_device = Some(device.id);
    let (parts, body) = read_body(Request::from_parts(parts, body), state).await?;
    let method = parts.method.as_str().to_owned();
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    state
        .blocking(move |state| {
            let storage = state.storage();
            signing::verify_request(&device.public_key, &headers, &method, &path, &body, now)?;
            // Only a request that verified may use up a nonce, so nobody can
            // burn a device's nonces without its key.
            let nonce = headers.nonce_bytes()?;
            if !storage.remember_nonce(
                device.id,
                &nonce,
                headers.timestamp + MAX_SKEW_SECS + 1,
                now,
            )? {
                return Err(ApiError::ReplayedNonce);
            }
            let person = storage
                .person(device.person)?
                .ok_or(InternalError::DeviceWithoutPerson(device.id))?;
            let principal = directory::principal(storage, &device, &person)?;
            Ok(Authenticated {
                device,
                person,
                principal,
                body,
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_crockford_and_normalise_forgivingly() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), 19);
        assert!(
            code.split('-')
                .all(|g| g.len() == 4 && g.bytes().all(|b| CODE_ALPHABET.contains(&b)))
        );
        assert_eq!(
            code_hash(&code),
            code_hash(&code.to_lowercase().replace('-', " "))
        );
        assert_eq!(normalise_code("o0-iL"), "0011");
        assert_ne!(code_hash(&code), code_hash(&new_code().unwrap()));
    }
}
