//! Serving connections: plain HTTP (loopback only) or TLS, each connection
//! bounded in time, and the number of connections bounded per listener.
//!
//! What a slow or idle client can hold, and for how long:
//! - a TLS handshake, and a request's head (HTTP/1.1), must arrive within
//!   the header timeout, or the connection is closed;
//! - a connection with no request in flight (a new one that sends nothing,
//!   a keep-alive between requests, an HTTP/2 connection with no streams)
//!   is closed after the idle timeout;
//! - a request in flight is bounded by the router: its body by the body
//!   read timeout, the whole request by the request timeout;
//! - at most `max_connections` connections are served at once; the next
//!   waits in the kernel's accept queue until one closes, which the two
//!   timeouts above guarantee happens, so idle and slow connections delay a
//!   well-behaved client by at most the idle timeout, never starve it.
//!
//! Every request carries the peer's address as
//! `ConnectInfo<SocketAddr>`, for the rate limits ([`crate::throttle`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

/// How many connections a listener serves at once, and how long a
/// connection may keep the server waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more wait to be accepted.
    pub max_connections: u32,
    /// For the TLS handshake, and for each request's head (HTTP/1.1).
    pub header_timeout: Duration,
    /// A connection with no request in flight is closed after this long.
    pub idle_timeout: Duration,
}

/// 512 connections: far more than the devices of a partnership sync at
/// once, few enough that their buffers stay small (see docs/sync-protocol.md).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 512;
/// 10 s for a TLS handshake or a request head, generous on a slow mobile link.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// 30 s without a request and a connection closes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// HTTP/2 streams at once on one connection: a device syncs one request at
/// a time, and a connection's requests share one connection slot.
const MAX_H2_STREAMS: u32 = 16;
/// After a shutdown is asked for, connections get this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// After an accept error (out of file descriptors, say), wait this long
/// before accepting again rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serve `router` on `listener`, over TLS when `tls` is given, until
/// `shutdown` completes; then stop accepting, let connections finish their
/// requests (at most [`SHUTDOWN_GRACE`]) and return.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                // Never closed while this loop holds it.
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        let conn = Connection {
            peer,
            router: router.clone(),
            builder: builder.clone(),
            limits,
            stopping: stopping.clone(),
            _slot: slot,
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => conn.serve(stream).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => conn.serve(stream).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: all slots back means all
    // connections ended.
    let all = limits.max_connections;
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    peer: SocketAddr,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: ConnectionLimits,
    stopping: watch::Receiver<bool>,
    /// Given back when the connection ends, to let the next one in.
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve<I>(mut self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (busy, requests_in_flight) = watch::channel(0usize);
        let busy = Arc::new(busy);
        let peer = self.peer;
        let router = self.router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = InFlight::start(busy.clone());
            let router = router.clone();
            async move {
                let response = router.oneshot(req).await?;
                // The connection stays busy until the answer's body has
                // been handed to hyper, however slowly the client reads.
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _busy = &in_flight;
                        frame
                    }))
                }))
            }
        });
        let conn = self.builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let idle = idle_for(requests_in_flight, self.limits.idle_timeout);
        tokio::pin!(idle);
        let mut shutting_down = false;
        loop {
            tokio::select! {
                ended = conn.as_mut() => {
                    if let Err(e) = ended {
                        // Header timeouts, resets, bad requests: the client's
                        // doing, and never about content.
                        tracing::debug!(error = %e, "connection ended");
                    }
                    return;
                }
                () = &mut idle => {
                    tracing::debug!(peer = %self.peer, "closing an idle connection");
                    return;
                }
                _ = self.stopping.changed(), if !shutting_down => {
                    shutting_down = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Counts a request in flight on its connection while it lives.
struct InFlight(Arc<watch::Sender<usize>>);

impl InFlight {
    fn start(busy: Arc<watch::Sender<usize>>) -> Self {
        busy.send_modify(|n| *n += 1);
        InFlight(busy)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Completes once the connection has had no request in flight for `after`.
async fn idle_for(mut in_flight: watch::Receiver<usize>, after: Duration) {
    loop {
        if in_flight.wait_for(|n| *n == 0).await.is_err() {
            // The connection is gone; its own future ends the select.
            return std::future::pending().await;
        }
        if tokio::time::timeout(after, in_flight.wait_for(|n| *n > 0))
            .await
            .is_err()
        {
            return;
        }
    }
}
