//! The Bothy sync server.
//!
//! Devices enrol with a one-time code, then sign every request
//! ([`auth`]); the server tells each device which of the documents its user
//! may read have changed, and exchanges Automerge sync messages for many
//! documents per request ([`sync`]), letting a change in only if the shared
//! policy's gate accepts it. The partnership's directory and everything
//! stored sit behind one [`storage::Storage`] trait (SQLite by default,
//! PostgreSQL for several instances on one database).
//! `docs/sync-protocol.md` specifies the wire protocol.
//!
//! What one client can hold is bounded: connections per listener and how
//! long a slow or idle one is kept (the `serve` module), the body before and
//! after the device is known ([`auth`]), and enrolment attempts and failed
//! signatures per address and per device ([`throttle`]).
//!
//! What leaves the server for people outside Bothy, the partnership's
//! anonymous outcomes report and a child's case exported for a case system,
//! is made by [`report`] (the `report outcomes` and `export` commands).
//!
//! Tests and embedders start a server on a listener they bound themselves:
//!
//! ```no_run
//! # async fn example() -> Result<(), bothy_server::ServerError> {
//! let config = bothy_server::ServerConfig::for_tests("sqlite:///tmp/bothy.db");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! bothy_server::launch_with_tcp_listener(config, listener, std::future::pending()).await
//! # }
//! ```

pub mod auth;
pub mod demo;
pub mod directory;
pub mod error;
pub mod offer;
pub mod quota;
pub mod refused;
pub mod report;
pub mod requests;
pub mod routes;
mod serve;
pub mod state;
pub mod storage;
pub mod sync;
pub mod team;
pub mod throttle;
pub mod verify_export;
pub mod young;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use bothy_shared::wire::{self, ErrorCode};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

pub use error::ApiError;
pub use serve::ConnectionLimits;
pub use state::AppState;
pub use storage::{Storage, StorageError};
pub use throttle::RateLimits;

/// How the server listens and what it accepts. Shared by `serve` and `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerConfig {
    /// Address to listen on. Plain HTTP is allowed only on a loopback
    /// address; anywhere else --tls-cert and --tls-key are required.
    #[arg(long, env = "BOTHY_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// The database: sqlite://PATH (created if missing), or
    /// postgres://USER@HOST:PORT/DB for several instances on one database.
    #[arg(long, env = "BOTHY_DB")]
    pub db: String,
    /// The master key file (32 bytes, base64) that wraps the data keys
    /// sealing what people wrote. Default: the key in BOTHY_MASTER_KEY, or
    /// `<path>.key` beside a SQLite database (made with it).
    #[arg(long, env = "BOTHY_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// TLS certificate chain, PEM.
    #[arg(long, env = "BOTHY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PKCS#8, PKCS#1 or SEC1), PEM.
    #[arg(long, env = "BOTHY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The largest request body accepted, in bytes; larger gets 413.
    #[arg(long, env = "BOTHY_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// How long a request may take, in seconds; longer gets 408.
    #[arg(long, env = "BOTHY_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// How long a request's body may take to arrive, in seconds; longer
    /// gets 408.
    #[arg(long, env = "BOTHY_BODY_TIMEOUT_SECS", default_value_t = DEFAULT_BODY_TIMEOUT.as_secs())]
    pub body_timeout_secs: u64,
    /// How long a TLS handshake or a request's head may take, in seconds;
    /// longer and the connection is closed.
    #[arg(long, env = "BOTHY_HEADER_TIMEOUT_SECS", default_value_t = serve::DEFAULT_HEADER_TIMEOUT.as_secs())]
    pub header_timeout_secs: u64,
    /// How long a connection may stay open with no request in flight, in
    /// seconds.
    #[arg(long, env = "BOTHY_IDLE_TIMEOUT_SECS", default_value_t = serve::DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub idle_timeout_secs: u64,
    /// Connections served at once; more wait until one closes.
    #[arg(long, env = "BOTHY_MAX_CONNECTIONS", default_value_t = serve::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Enrolment attempts per client address per minute (0: no limit);
    /// more get 429.
    #[arg(long, env = "BOTHY_ENROL_PER_MINUTE", default_value_t = throttle::DEFAULT_ENROL_PER_MINUTE)]
    pub enrol_per_minute: u32,
    /// Failed signatures per client address per minute (0: no limit);
    /// beyond it, every signed request from the address gets 429 until the
    /// budget refills.
    #[arg(long, env = "BOTHY_FAILED_AUTH_PER_MINUTE", default_value_t = throttle::DEFAULT_FAILED_AUTH_PER_ADDRESS_PER_MINUTE)]
    pub failed_auth_per_minute: u32,
    /// Failed signatures naming one device per minute (0: no limit); beyond
    /// it, requests naming the device get 429 until the budget refills.
    #[arg(long, env = "BOTHY_FAILED_AUTH_PER_DEVICE_PER_MINUTE", default_value_t = throttle::DEFAULT_FAILED_AUTH_PER_DEVICE_PER_MINUTE)]
    pub failed_auth_per_device_per_minute: u32,
    /// Memory for merged documents kept between requests, in MiB: the least
    /// recently used are dropped past it (and reload from the database on
    /// next use). The server's resident memory stays under about this plus
    /// a fixed overhead (see docs/operations.md).
    #[arg(long, env = "BOTHY_CACHE_MB", default_value_t = sync::DEFAULT_CACHE_MB)]
    pub cache_mb: u64,
    /// Memory for the documents requests are working on at once, in MiB,
    /// beyond the cache: a request waits (within the request timeout) for
    /// room for the documents it loads; one needing more than all of it
    /// runs alone (0: no limit; see docs/operations.md).
    #[arg(long, env = "BOTHY_WORKING_MB", default_value_t = sync::DEFAULT_WORKING_MB)]
    pub working_mb: u64,
    /// Requests doing database and document work at once; more wait for
    /// a turn (within the request timeout), holding only their bodies
    /// (default: twice the processors, at least 4).
    #[arg(long, env = "BOTHY_MAX_WORKING", default_value_t = state::default_max_working(),
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_working: u32,
}

/// 8 MiB: a V2 sync message carrying a whole case history fits with room.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The largest body before a device is known: an enrolment (a code, a
/// 32-byte key, a device name) is a few hundred bytes.
pub const ENROL_MAX_BODY_BYTES: usize = 4 * 1024;
/// 20 s for a body to arrive: 8 MiB at 3.5 Mbit/s, well inside the request
/// timeout.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(20);

impl ServerConfig {
    /// Defaults for a loopback test server on `db`.
    pub fn for_tests(db: &str) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: db.to_owned(),
            master_key_file: None,
            tls_cert: None,
            tls_key: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout_secs: 30,
            body_timeout_secs: DEFAULT_BODY_TIMEOUT.as_secs(),
            header_timeout_secs: serve::DEFAULT_HEADER_TIMEOUT.as_secs(),
            idle_timeout_secs: serve::DEFAULT_IDLE_TIMEOUT.as_secs(),
            max_connections: serve::DEFAULT_MAX_CONNECTIONS,
            enrol_per_minute: throttle::DEFAULT_ENROL_PER_MINUTE,
            failed_auth_per_minute: throttle::DEFAULT_FAILED_AUTH_PER_ADDRESS_PER_MINUTE,
            failed_auth_per_device_per_minute: throttle::DEFAULT_FAILED_AUTH_PER_DEVICE_PER_MINUTE,
            cache_mb: sync::DEFAULT_CACHE_MB,
            working_mb: sync::DEFAULT_WORKING_MB,
            max_working: state::default_max_working(),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            body_timeout: Duration::from_secs(self.body_timeout_secs),
            rate: RateLimits {
                enrol_per_minute: self.enrol_per_minute,
                failed_auth_per_address_per_minute: self.failed_auth_per_minute,
                failed_auth_per_device_per_minute: self.failed_auth_per_device_per_minute,
            },
        }
    }

    fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections,
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
        }
    }
}

/// Request limits the router enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// How long a body may take to arrive once its request is read.
    pub body_timeout: Duration,
    pub rate: RateLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
            body_timeout: DEFAULT_BODY_TIMEOUT,
            rate: RateLimits::default(),
        }
    }
}

/// How long a body may take to arrive: on every request, for
/// [`auth::read_body`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTimeout(pub Duration);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "refusing plain HTTP on {0}: it is not a loopback address (give --tls-cert and --tls-key)"
    )]
    PlainHttpNotLoopback(SocketAddr),
    #[error("TLS needs both --tls-cert and --tls-key")]
    TlsIncomplete,
    #[error("TLS: {what} failed")]
    TlsPem {
        what: &'static str,
        #[source]
        cause: rustls::pki_types::pem::Error,
    },
    #[error("TLS: {what} failed")]
    Tls {
        what: &'static str,
        #[source]
        cause: rustls::Error,
    },
    #[error("TLS: the certificate file holds no certificate")]
    TlsNoCertificate,
    #[error("the task opening the database failed")]
    OpenTask(#[source] tokio::task::JoinError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Seconds since the Unix epoch, now.
pub fn now() -> storage::UnixSeconds {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The router with default limits.
pub fn app(state: AppState) -> Router {
    app_with_limits(state, Limits::default())
}

/// The router: every route, the body limits, the rate limits, the
/// timeouts and tracing. Every error, 404 and 405 included, has the
/// protocol's JSON shape.
pub fn app_with_limits(state: AppState, limits: Limits) -> Router {
    let enrol = post(routes::enrol)
        // Nobody is known yet: a few KB, and the address's attempts counted
        // before any of it is read.
        .route_layer(DefaultBodyLimit::max(ENROL_MAX_BODY_BYTES))
        .route_layer(axum::middleware::from_fn(throttle::limit_enrolment));
    Router::new()
        .route(wire::PATH_HEALTH, get(routes::health))
        .route(wire::PATH_ENROL, enrol)
        .route(wire::PATH_DIRECTORY, get(routes::directory_view))
        .route(wire::PATH_CHANGED, post(routes::changed))
        .route(wire::PATH_SYNC, post(routes::sync))
        .route(wire::PATH_OFFER, post(routes::offer))
        .route(wire::PATH_REFUSED, get(routes::refused))
        .route(wire::PATH_REQUEST_MATCHES, post(routes::request_matches))
        .route(wire::PATH_TEAM, post(routes::team_changes))
        .route(wire::PATH_KEPT, get(routes::kept))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(Extension(Arc::new(throttle::Throttle::new(limits.rate))))
        .layer(Extension(BodyTimeout(limits.body_timeout)))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(timeout_response))
                .layer(tower::timeout::TimeoutLayer::new(limits.request_timeout)),
        )
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn timeout_response(err: tower::BoxError) -> Response {
    if err.is::<tower::timeout::error::Elapsed>() {
        error::error_response(ErrorCode::Timeout, "the request took too long".to_owned())
    } else {
        ApiError::Internal(error::InternalError::Layer(err)).into_response()
    }
}

/// Open the configured database and serve on `listener` until `shutdown`
/// completes, then finish in-flight requests and return.
pub async fn launch_with_tcp_listener(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // Opening connects (and, for PostgreSQL, migrates): not on a runtime thread.
    let (db, key_file) = (config.db.clone(), config.master_key_file.clone());
    let storage =
        tokio::task::spawn_blocking(move || storage::open_with_key_file(&db, key_file.as_deref()))
            .await
            .map_err(ServerError::OpenTask)??;
    launch_with_storage(config, storage, listener, shutdown).await
}

/// As [`launch_with_tcp_listener`], with storage the caller opened.
pub async fn launch_with_storage(
    config: ServerConfig,
    storage: Arc<dyn Storage>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr()?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tokio_rustls::TlsAcceptor::from(tls_config(cert, key)?)),
        (None, None) => None,
        _ => return Err(ServerError::TlsIncomplete),
    };
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(ServerError::PlainHttpNotLoopback(addr));
    }
    let mib = |n: u64| n.saturating_mul(1024 * 1024);
    let cache = sync::DocCache::with_limits(mib(config.cache_mb), mib(config.working_mb));
    let state = AppState::with_limits(storage, cache, config.max_working as usize);
    let router = app_with_limits(state, config.limits());
    let limits = config.connection_limits();
    if tls.is_some() {
        tracing::info!(%addr, max_connections = limits.max_connections, "listening (TLS)");
    } else {
        tracing::info!(%addr, max_connections = limits.max_connections, "listening (plain HTTP, loopback only)");
    }
    serve::serve(listener, tls, router, limits, shutdown).await;
    tracing::info!("server stopped");
    Ok(())
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, h2 and
/// http/1.1) from PEM files.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let pem = |what| move |cause| ServerError::TlsPem { what, cause };
    let tls = |what| move |cause| ServerError::Tls { what, cause };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(pem("reading the certificate"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem("parsing the certificate"))?;
    if certs.is_empty() {
        return Err(ServerError::TlsNoCertificate);
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(pem("reading the private key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls("choosing the protocol versions"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(tls("loading the certificate and key"))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

/// Resolves when the process gets ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
