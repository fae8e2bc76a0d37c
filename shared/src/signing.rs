//! Request signing: the exact bytes a device signs and the server verifies.
//!
//! Every request after enrolment carries one header, [`HEADER_AUTH`]
//! (`<device>.<timestamp>.<nonce>.<signature>`, [`SignedHeaders::compact`]),
//! or, as older devices send, the same four values in four headers
//! ([`HEADER_DEVICE`], [`HEADER_TIMESTAMP`], [`HEADER_NONCE`],
//! [`HEADER_SIGNATURE`]). The two forms differ only in how the values are
//! written: the signed bytes are the same either way. The signature is Ed25519 (the device's key, generated on the device and enrolled once)
//! over the canonical request built by [`canonical_request`]:
//!
//! ```text
//! BOTHY-REQUEST-V1\n
//! <METHOD>\n
//! <path and query, exactly as sent>\n
//! <lowercase hex SHA-256 of the body>\n
//! <timestamp, unix seconds, decimal>\n
//! <nonce, as sent in the header>\n
//! <device id, hyphenated lowercase UUID>
//! ```
//!
//! (no newline after the last line). Both sides call this module, so the
//! client and the server cannot disagree about the bytes. Replay protection is
//! the server's job: it remembers every nonce for [`MAX_SKEW_SECS`] either side
//! of its clock and refuses a request whose timestamp is further away.
//!
//! ```
//! use bothy_shared::ids::DeviceId;
//! use bothy_shared::signing::{generate_device_key, verify_request, RequestSigner};
//!
//! let pkcs8 = generate_device_key().unwrap();
//! let device = DeviceId::random();
//! let signer = RequestSigner::from_pkcs8(device, &pkcs8).unwrap();
//! let headers = signer.sign("POST", "/v1/sync", b"body", 1_700_000_000).unwrap();
//! verify_request(&signer.public_key(), &headers, "POST", "/v1/sync", b"body", 1_700_000_010).unwrap();
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::ids::DeviceId;

/// All four values in one header: `<device>.<timestamp>.<nonce>.<signature>`,
/// the device id's 16 bytes, the nonce and the signature in unpadded
/// base64url, the timestamp as in [`HEADER_TIMESTAMP`].
pub const HEADER_AUTH: &str = "x-bothy-auth";
/// The enrolled device making the request (hyphenated UUID).
pub const HEADER_DEVICE: &str = "x-bothy-device";
/// When the request was signed, unix seconds (decimal, no sign for positive).
pub const HEADER_TIMESTAMP: &str = "x-bothy-timestamp";
/// 16 random bytes, standard base64 with padding (24 characters).
pub const HEADER_NONCE: &str = "x-bothy-nonce";
/// The Ed25519 signature over [`canonical_request`], standard base64 with padding.
pub const HEADER_SIGNATURE: &str = "x-bothy-signature";

/// The first line of the canonical request: names the scheme and its version.
pub const SCHEME: &str = "BOTHY-REQUEST-V1";
/// How far a request's timestamp may be from the server's clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;
/// The nonce's length in bytes before base64.
pub const NONCE_LEN: usize = 16;
/// An Ed25519 public key's length in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("the device key is not a valid Ed25519 PKCS#8 document")]
    BadKey,
    #[error("the system random number generator failed")]
    Random,
}

/// Why a signed request was refused. The server maps each to a status code
/// and error code (see `docs/sync-protocol.md`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the request is not signed (missing {0} header)")]
    Missing(&'static str),
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    #[error("the request's timestamp is more than {MAX_SKEW_SECS} seconds from the server's clock")]
    StaleTimestamp,
    #[error("the signature does not match the request")]
    BadSignature,
}

/// The four signature headers of one request.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub device: DeviceId,
    pub timestamp: i64,
    /// As sent: standard base64 of [`NONCE_LEN`] bytes.
    pub nonce: String,
    /// As sent: standard base64 of the 64-byte signature.
    pub signature: String,
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("device", &self.device)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

impl SignedHeaders {
    /// The headers as `(name, value)` pairs, ready to put on a request.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_DEVICE, self.device.to_string()),
            (HEADER_TIMESTAMP, self.timestamp.to_string()),
            (HEADER_NONCE, self.nonce.clone()),
            (HEADER_SIGNATURE, self.signature.clone()),
        ]
    }

    /// The one-header form: `(HEADER_AUTH, value)`. Fails only if this
    /// value's nonce or signature is not base64 (never for one made by
    /// [`RequestSigner`]).
    pub fn compact(&self) -> Result<(&'static str, String), VerifyError> {
        let signature = BASE64
            .decode(&self.signature)
            .map_err(|_| VerifyError::Malformed(HEADER_SIGNATURE))?;
        let value = format!(
            "{}.{}.{}.{}",
            BASE64URL.encode(self.device.0.as_bytes()),
            self.timestamp,
            BASE64URL.encode(self.nonce_bytes()?),
            BASE64URL.encode(signature),
        );
        Ok((HEADER_AUTH, value))
    }

    /// Read [`HEADER_AUTH`] if present (the other four are then ignored),
    /// else the four headers.
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, VerifyError> {
        match get(HEADER_AUTH) {
            Some(value) => Self::from_compact(value),
            None => Self::from_four(get),
        }
    }

    /// Parse the one-header form. The nonce and signature are kept in the
    /// four-header spelling (standard base64), which is what is signed.
    fn from_compact(value: &str) -> Result<Self, VerifyError> {
        let malformed = VerifyError::Malformed(HEADER_AUTH);
        let mut parts = value.split('.');
        let (Some(device), Some(timestamp), Some(nonce), Some(signature), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(malformed);
        };
        let device: [u8; 16] = BASE64URL
            .decode(device)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed.clone())?;
        let timestamp = parse_timestamp(timestamp).map_err(|_| malformed.clone())?;
        let nonce = match BASE64URL.decode(nonce) {
            Ok(bytes) if bytes.len() == NONCE_LEN => bytes,
            _ => return Err(malformed),
        };
        let signature = BASE64URL.decode(signature).map_err(|_| malformed)?;
        Ok(SignedHeaders {
            device: DeviceId(uuid::Uuid::from_bytes(device)),
            timestamp,
            nonce: BASE64.encode(nonce),
            signature: BASE64.encode(signature),
        })
    }

    /// Parse the four-header form.
    fn from_four<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, VerifyError> {
        let device = get(HEADER_DEVICE).ok_or(VerifyError::Missing(HEADER_DEVICE))?;
        let timestamp = get(HEADER_TIMESTAMP).ok_or(VerifyError::Missing(HEADER_TIMESTAMP))?;
        let nonce = get(HEADER_NONCE).ok_or(VerifyError::Missing(HEADER_NONCE))?;
        let signature = get(HEADER_SIGNATURE).ok_or(VerifyError::Missing(HEADER_SIGNATURE))?;
        let device = device
            .parse()
            .map_err(|_| VerifyError::Malformed(HEADER_DEVICE))?;
        let timestamp = parse_timestamp(timestamp)?;
        match BASE64.decode(nonce) {
            Ok(bytes) if bytes.len() == NONCE_LEN => {}
            _ => return Err(VerifyError::Malformed(HEADER_NONCE)),
        }
        Ok(SignedHeaders {
            device,
            timestamp,
            nonce: nonce.to_owned(),
            signature: signature.to_owned(),
        })
    }

    /// The nonce's bytes (checked to be [`NONCE_LEN`] long by [`Self::from_lookup`]).
    pub fn nonce_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        BASE64
            .decode(&self.nonce)
            .map_err(|_| VerifyError::Malformed(HEADER_NONCE))
    }
}

fn parse_timestamp(s: &str) -> Result<i64, VerifyError> {
    // Only plain decimal digits with an optional leading '-': no '+', no
    // spaces, so one timestamp has exactly one spelling in the signed bytes.
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed(HEADER_TIMESTAMP));
    }
    s.parse()
        .map_err(|_| VerifyError::Malformed(HEADER_TIMESTAMP))
}

/// The bytes that are signed: see the module documentation.
pub fn canonical_request(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp: i64,
    nonce: &str,
    device: DeviceId,
) -> Vec<u8> {
    let body_hash = ring::digest::digest(&ring::digest::SHA256, body);
    let mut out = Vec::with_capacity(200 + path_and_query.len());
    for (i, part) in [
        SCHEME,
        &method.to_ascii_uppercase(),
        path_and_query,
        &hex::encode(body_hash.as_ref()),
        &timestamp.to_string(),
        nonce,
        &device.to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// A new device key: an Ed25519 PKCS#8 v2 document. The caller keeps it
/// secret (on the device it lives in the encrypted store).
pub fn generate_device_key() -> Result<Vec<u8>, SigningError> {
    let rng = SystemRandom::new();
    Ed25519KeyPair::generate_pkcs8(&rng)
        .map(|doc| doc.as_ref().to_vec())
        .map_err(|_| SigningError::Random)
}

/// A fresh random nonce, base64-encoded as it goes in the header.
pub fn new_nonce() -> Result<String, SigningError> {
    let mut bytes = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SigningError::Random)?;
    Ok(BASE64.encode(bytes))
}

/// Signs requests as one enrolled device. Debug never shows the key.
pub struct RequestSigner {
    device: DeviceId,
    key: Ed25519KeyPair,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl RequestSigner {
    /// A signer from the device's PKCS#8 key. Before enrolment, when the
    /// device id is not known yet, use any id: only [`Self::public_key`] is
    /// needed then.
    pub fn from_pkcs8(device: DeviceId, pkcs8: &[u8]) -> Result<Self, SigningError> {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| SigningError::BadKey)?;
        Ok(RequestSigner { device, key })
    }

    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The raw 32-byte Ed25519 public key, as sent at enrolment.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// Sign `message` as it is. Only for messages that open with their own
    /// scheme line, as [`crate::export`]'s do, so no signature of one kind
    /// can pass for another.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).as_ref().to_vec()
    }

    /// Sign a request at `now` (unix seconds) with a fresh random nonce.
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        now: i64,
    ) -> Result<SignedHeaders, SigningError> {
        Ok(self.sign_with_nonce(method, path_and_query, body, now, new_nonce()?))
    }

    /// Sign with a given nonce (tests, and replays in tests).
    pub fn sign_with_nonce(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        now: i64,
        nonce: String,
    ) -> SignedHeaders {
        let message = canonical_request(method, path_and_query, body, now, &nonce, self.device);
        let signature = BASE64.encode(self.key.sign(&message).as_ref());
        SignedHeaders {
            device: self.device,
            timestamp: now,
            nonce,
            signature,
        }
    }
}

/// Check a request's signature and timestamp against the device's public key
/// at the server's time `now` (unix seconds). Does not check the nonce for
/// replay: the caller must remember nonces for the skew window.
pub fn verify_request(
    public_key: &[u8],
    headers: &SignedHeaders,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    if now.abs_diff(headers.timestamp) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(VerifyError::StaleTimestamp);
    }
    let signature = BASE64
        .decode(&headers.signature)
        .map_err(|_| VerifyError::Malformed(HEADER_SIGNATURE))?;
    let message = canonical_request(
        method,
        path_and_query,
        body,
        headers.timestamp,
        &headers.nonce,
        headers.device,
    );
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&message, &signature)
        .map_err(|_| VerifyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> RequestSigner {
        let pkcs8 = generate_device_key().unwrap();
        RequestSigner::from_pkcs8(DeviceId::random(), &pkcs8).unwrap()
    }

    #[test]
    fn canonical_request_is_the_documented_bytes() {
        let device: DeviceId = "0c1f2a4e-9e0e-4f0e-8a7b-0d1f2e3a4b5c".parse().unwrap();
        let got = canonical_request(
            "post",
            "/v1/sync?x=1",
            b"",
            1_700_000_000,
            "AAAAAAAAAAAAAAAAAAAAAA==",
            device,
        );
        let want = "BOTHY-REQUEST-V1\nPOST\n/v1/sync?x=1\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
            1700000000\nAAAAAAAAAAAAAAAAAAAAAA==\n0c1f2a4e-9e0e-4f0e-8a7b-0d1f2e3a4b5c";
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let s = signer();
        let h = s.sign("POST", "/v1/sync", b"hello", 1000).unwrap();
        let pk = s.public_key();
        assert_eq!(
            verify_request(&pk, &h, "POST", "/v1/sync", b"hello", 1000),
            Ok(())
        );
        assert_eq!(
            verify_request(&pk, &h, "POST", "/v1/sync", b"hellO", 1000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_request(&pk, &h, "POST", "/v1/changed", b"hello", 1000),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_request(&pk, &h, "GET", "/v1/sync", b"hello", 1000),
            Err(VerifyError::BadSignature)
        );
        let other = signer();
        assert_eq!(
            verify_request(&other.public_key(), &h, "POST", "/v1/sync", b"hello", 1000),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn timestamps_outside_the_window_are_stale() {
        let s = signer();
        let h = s.sign("GET", "/", b"", 1000).unwrap();
        assert_eq!(
            verify_request(&s.public_key(), &h, "GET", "/", b"", 1000 + MAX_SKEW_SECS),
            Ok(())
        );
        assert_eq!(
            verify_request(&s.public_key(), &h, "GET", "/", b"", 1001 + MAX_SKEW_SECS),
            Err(VerifyError::StaleTimestamp)
        );
        assert_eq!(
            verify_request(&s.public_key(), &h, "GET", "/", b"", 999 - MAX_SKEW_SECS),
            Err(VerifyError::StaleTimestamp)
        );
    }

    #[test]
    fn the_one_header_form_carries_the_same_signed_values() {
        let s = signer();
        let h = s.sign("POST", "/v1/sync", b"body", 1_700_000_000).unwrap();
        let (name, value) = h.compact().unwrap();
        assert_eq!(name, HEADER_AUTH);
        // 22 + 10 + 22 + 86 characters and three dots.
        assert_eq!(value.len(), 143);
        // The documented example.
        let device: DeviceId = "0c1f2a4e-9e0e-4f0e-8a7b-0d1f2e3a4b5c".parse().unwrap();
        let pkcs8 = generate_device_key().unwrap();
        let example = RequestSigner::from_pkcs8(device, &pkcs8)
            .unwrap()
            .sign_with_nonce(
                "POST",
                "/v1/sync?x=1",
                b"",
                1_700_000_000,
                "AAAAAAAAAAAAAAAAAAAAAA==".to_owned(),
            );
        assert!(
            example
                .compact()
                .unwrap()
                .1
                .starts_with("DB8qTp4OTw6Kew0fLjpLXA.1700000000.AAAAAAAAAAAAAAAAAAAAAA.")
        );
        let only = |n: &str| (n == HEADER_AUTH).then_some(value.as_str());
        let read = SignedHeaders::from_lookup(only).unwrap();
        assert_eq!(read, h);
        let pk = s.public_key();
        assert_eq!(
            verify_request(&pk, &read, "POST", "/v1/sync", b"body", 1_700_000_000),
            Ok(())
        );
        assert_eq!(
            verify_request(&pk, &read, "POST", "/v1/sync", b"bodY", 1_700_000_000),
            Err(VerifyError::BadSignature)
        );
        // The same nonce in either form is the same nonce (replays are caught).
        assert_eq!(read.nonce_bytes().unwrap(), h.nonce_bytes().unwrap());
        // A changed timestamp is a different signed request.
        let moved = value.replacen(".1700000000.", ".1700000001.", 1);
        let moved =
            SignedHeaders::from_lookup(|n| (n == HEADER_AUTH).then_some(moved.as_str())).unwrap();
        assert_eq!(
            verify_request(&pk, &moved, "POST", "/v1/sync", b"body", 1_700_000_000),
            Err(VerifyError::BadSignature)
        );
        for bad in [
            String::new(),
            "a.b.c".to_owned(),
            format!("{value}.extra"),
            value.replacen(".1700000000.", ".+1700000000.", 1),
            value.replacen('.', "A.", 1),
            {
                let mut parts: Vec<&str> = value.split('.').collect();
                parts[2] = "AAAA";
                parts.join(".")
            },
        ] {
            assert_eq!(
                SignedHeaders::from_lookup(|n| (n == HEADER_AUTH).then_some(bad.as_str())),
                Err(VerifyError::Malformed(HEADER_AUTH)),
                "{bad}"
            );
        }
    }

    #[test]
    fn headers_round_trip_and_malformed_ones_are_named() {
        let s = signer();
        let h = s.sign("GET", "/", b"", 1000).unwrap();
        let pairs = h.pairs();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(SignedHeaders::from_lookup(get), Ok(h.clone()));
        let bad_ts = |name: &str| {
            if name == HEADER_TIMESTAMP {
                Some("+1000")
            } else {
                get(name)
            }
        };
        assert_eq!(
            SignedHeaders::from_lookup(bad_ts),
            Err(VerifyError::Malformed(HEADER_TIMESTAMP))
        );
        let bad_nonce = |name: &str| {
            if name == HEADER_NONCE {
                Some("AAAA")
            } else {
                get(name)
            }
        };
        assert_eq!(
            SignedHeaders::from_lookup(bad_nonce),
            Err(VerifyError::Malformed(HEADER_NONCE))
        );
        let missing = |name: &str| {
            if name == HEADER_SIGNATURE {
                None
            } else {
                get(name)
            }
        };
        assert_eq!(
            SignedHeaders::from_lookup(missing),
            Err(VerifyError::Missing(HEADER_SIGNATURE))
        );
    }
}
