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
pub mod requests;
pub mod routes;
pub mod state;
pub mod storage;
pub mod sync;
pub mod team;
pub mod young;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bothy_shared::wire::{self, ErrorCode};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

pub use error::ApiError;
pub use state::AppState;
pub use storage::{Storage, StorageError};

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
}

/// 8 MiB: a V2 sync message carrying a whole case history fits with room.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

impl ServerConfig {
    /// Defaults for a loopback test server on `db`.
    pub fn for_tests(db: &str) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: db.to_owned(),
            tls_cert: None,
            tls_key: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout_secs: 30,
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
        }
    }
}

/// Request limits the router enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
        }
    }
}

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

/// The router: every route, the body limit, the timeout and tracing.
pub fn app_with_limits(state: AppState, limits: Limits) -> Router {
    Router::new()
        .route(wire::PATH_HEALTH, get(routes::health))
        .route(wire::PATH_ENROL, post(routes::enrol))
        .route(wire::PATH_DIRECTORY, get(routes::directory_view))
        .route(wire::PATH_CHANGED, post(routes::changed))
        .route(wire::PATH_SYNC, post(routes::sync))
        .route(wire::PATH_OFFER, post(routes::offer))
        .route(wire::PATH_REFUSED, get(routes::refused))
        .route(wire::PATH_REQUEST_MATCHES, post(routes::request_matches))
        .route(wire::PATH_TEAM, post(routes::team_changes))
        .route(wire::PATH_KEPT, get(routes::kept))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
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
    let db = config.db.clone();
    let storage = tokio::task::spawn_blocking(move || storage::open(&db))
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
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        (None, None) => None,
        _ => return Err(ServerError::TlsIncomplete),
    };
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(ServerError::PlainHttpNotLoopback(addr));
    }
    let router = app_with_limits(AppState::new(storage), config.limits());
    match tls {
        None => {
            tracing::info!(%addr, "listening (plain HTTP, loopback only)");
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        Some(tls) => {
            tracing::info!(%addr, "listening (TLS)");
            let handle = axum_server::Handle::new();
            let on_shutdown = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                on_shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, tls)?
                .handle(handle)
                .serve(router.into_make_service())
                .await?;
        }
    }
    tracing::info!("server stopped");
    Ok(())
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, h2 and
/// http/1.1) from PEM files.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<axum_server::tls_rustls::RustlsConfig, ServerError> {
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
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(server),
    ))
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
