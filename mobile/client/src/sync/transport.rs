//! HTTP for the sync engine: signed CBOR requests, retries with backoff,
//! and the byte counts progress reports show.
//!
//! Every request the engine makes is safe to repeat (changes are content
//! addressed and each request stands alone on the server), so a request that
//! fails in transit, or gets `408`, `429` or `5xx`, is sent again, freshly
//! signed (a new nonce), after an exponential backoff with jitter.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bothy_shared::signing::RequestSigner;
use bothy_shared::wire::{self, ErrorBody, ErrorCode};
use reqwest::StatusCode;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BadResponse, SyncError};

/// How often and how patiently a request is retried when the server cannot
/// be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the first retry; doubled for each one after.
    pub initial_delay: Duration,
    /// The longest wait between tries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1` (`attempt` counts from 1):
    /// exponential, capped, with "equal jitter" (half fixed, half random) so
    /// many devices coming back online do not retry in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(random_unit())
    }
}

/// A uniform number in [0, 1) from the system generator (0.5 if it fails:
/// jitter is an optimisation).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 4];
    match SystemRandom::new().fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

/// One request and its answer, as seen on the wire (bodies only).
#[derive(Debug, Clone, Copy)]
pub struct HttpExchange<'a> {
    pub method: &'static str,
    pub path: &'static str,
    pub request: &'a [u8],
    /// `None` if no answer arrived (the connection failed).
    pub status: Option<u16>,
    pub response: &'a [u8],
}

/// Sees every request and answer body (tests count and inspect bytes).
pub type Observer = Arc<dyn Fn(&HttpExchange<'_>) + Send + Sync>;

/// Running totals for one sync run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Requests that got an answer.
    pub requests: u32,
    /// Tries that failed in transit or with a retryable status.
    pub retries: u32,
    /// Request body bytes (every try).
    pub bytes_sent: u64,
    /// Response body bytes.
    pub bytes_received: u64,
}

/// Signs and sends requests for one enrolled device.
pub(crate) struct Transport {
    http: reqwest::Client,
    base: String,
    signer: RequestSigner,
    retry: RetryPolicy,
    observer: Option<Observer>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .field("device", &self.signer.device())
            .finish_non_exhaustive()
    }
}

/// A failed try: worth retrying or not.
enum Failure {
    Transient(TryFailure),
    Fatal(SyncError),
}

/// The HTTP client every request of the engine uses: rustls, bounded waits.
pub(crate) fn http_client(timeout: Duration, reuse: bool) -> Result<reqwest::Client, SyncError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout);
    if !reuse {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder.build().map_err(SyncError::Http)
}

/// `base` without a trailing slash; only http and https.
pub(crate) fn normalise_base(base: &str) -> Result<String, SyncError> {
    let trimmed = base.trim().trim_end_matches('/');
    if !(trimmed.starts_with("https://") || trimmed.starts_with("http://")) {
        return Err(SyncError::BadServerUrl(trimmed.to_owned()));
    }
    Ok(trimmed.to_owned())
}

/// The error a non-success answer stands for.
pub(crate) fn error_from(status: StatusCode, body: &[u8]) -> SyncError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if e.error == ErrorCode::DeviceRevoked => SyncError::Revoked { offered: None },
        Ok(e) => SyncError::Refused {
            status: status.as_u16(),
            code: e.error,
            message: e.message,
        },
        Err(_) => SyncError::bad(BadResponse::NoErrorBody(status)),
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

impl Transport {
    pub(crate) fn new(
        base: String,
        signer: RequestSigner,
        retry: RetryPolicy,
        timeout: Duration,
        reuse_connections: bool,
        observer: Option<Observer>,
    ) -> Result<Transport, SyncError> {
        Ok(Transport {
            http: http_client(timeout, reuse_connections)?,
            base,
            signer,
            retry,
            observer,
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// POST a CBOR body, signed, retried; decode the CBOR answer.
    pub(crate) async fn post<T: Serialize, R: DeserializeOwned>(
        &self,
        path: &'static str,
        body: &T,
        traffic: &mut Traffic,
    ) -> Result<R, SyncError> {
        let bytes = wire::to_cbor(body).map_err(SyncError::bad)?;
        let answer = self.send("POST", path, bytes, traffic).await?;
        wire::from_cbor(&answer).map_err(SyncError::bad)
    }

    /// GET, signed, retried; decode the CBOR answer.
    pub(crate) async fn get<R: DeserializeOwned>(
        &self,
        path: &'static str,
        traffic: &mut Traffic,
    ) -> Result<R, SyncError> {
        let answer = self.send("GET", path, Vec::new(), traffic).await?;
        wire::from_cbor(&answer).map_err(SyncError::bad)
    }

    async fn send(
        &self,
        method: &'static str,
        path: &'static str,
        body: Vec<u8>,
        traffic: &mut Traffic,
    ) -> Result<Vec<u8>, SyncError> {
        let attempts = self.retry.attempts.max(1);
        let mut attempt = 1;
        loop {
            traffic.bytes_sent += body.len() as u64;
            match self.try_once(method, path, &body, traffic).await {
                Ok(answer) => {
                    traffic.requests += 1;
                    return Ok(answer);
                }
                Err(Failure::Fatal(e)) => {
                    traffic.requests += 1;
                    return Err(e);
                }
                Err(Failure::Transient(why)) => {
                    traffic.retries += 1;
                    if attempt >= attempts {
                        return Err(SyncError::Unreachable {
                            attempts,
                            last_error: why,
                        });
                    }
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn try_once(
        &self,
        method: &'static str,
        path: &'static str,
        body: &[u8],
        traffic: &mut Traffic,
    ) -> Result<Vec<u8>, Failure> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let headers = self
            .signer
            .sign(method, path, body, now)
            .map_err(|e| Failure::Fatal(SyncError::Signing(e)))?;
        let mut req = match method {
            "GET" => self.http.get(format!("{}{path}", self.base)),
            _ => self
                .http
                .post(format!("{}{path}", self.base))
                .header(reqwest::header::CONTENT_TYPE, wire::CBOR_CONTENT_TYPE)
                .body(body.to_vec()),
        };
        // One header instead of four: the same signed values, fewer bytes.
        let (name, value) = headers
            .compact()
            .map_err(|e| Failure::Fatal(SyncError::SignatureHeader(e)))?;
        req = req.header(name, value);
        let observe = |status: Option<u16>, response: &[u8]| {
            if let Some(o) = &self.observer {
                o(&HttpExchange {
                    method,
                    path,
                    request: body,
                    status,
                    response,
                });
            }
        };
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                observe(None, &[]);
                return Err(Failure::Transient(TryFailure::of(e)));
            }
        };
        let status = resp.status();
        let answer = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                observe(None, &[]);
                return Err(Failure::Transient(TryFailure::of(e)));
            }
        };
        traffic.bytes_received += answer.len() as u64;
        observe(Some(status.as_u16()), &answer);
        if status.is_success() {
            Ok(answer)
        } else if retryable(status) {
            Err(Failure::Transient(TryFailure::Status(status)))
        } else {
            Err(Failure::Fatal(error_from(status, &answer)))
        }
    }
}

/// Why one try got no answer worth keeping (the request is tried again).
/// Its message is a few words, never the address or a body; the transport
/// error, for an operator, is its `source`.
#[derive(Debug, thiserror::Error)]
pub enum TryFailure {
    #[error("timed out")]
    TimedOut(#[source] reqwest::Error),
    #[error("could not connect")]
    Connect(#[source] reqwest::Error),
    #[error("the connection dropped during the answer")]
    AnswerCut(#[source] reqwest::Error),
    #[error("the connection failed")]
    Connection(#[source] reqwest::Error),
    /// A status worth retrying: 408, 429 or 5xx.
    #[error("the server answered {0}")]
    Status(StatusCode),
}

impl TryFailure {
    /// The kind of transport failure `e` is.
    pub(crate) fn of(e: reqwest::Error) -> TryFailure {
        if e.is_timeout() {
            TryFailure::TimedOut(e)
        } else if e.is_connect() {
            TryFailure::Connect(e)
        } else if e.is_body() || e.is_decode() {
            TryFailure::AnswerCut(e)
        } else {
            TryFailure::Connection(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let first = p.delay(1);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = p.delay(3);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        for attempt in 5..40 {
            let d = p.delay(attempt);
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1));
        }
    }

    #[test]
    fn server_urls_are_http_or_https_without_a_trailing_slash() {
        assert_eq!(
            normalise_base("https://bothy.example/ ").unwrap(),
            "https://bothy.example"
        );
        assert!(matches!(
            normalise_base("ftp://x"),
            Err(SyncError::BadServerUrl(_))
        ));
    }
}
