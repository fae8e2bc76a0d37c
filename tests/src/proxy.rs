//! A TCP proxy that cuts connections at random byte offsets.
//!
//! Each accepted connection is forwarded to the upstream server; with
//! probability `cut_probability` it is given a byte budget, in a random
//! direction (towards the server or towards the device), chosen uniformly in
//! `0..max_cut_offset`; once that many bytes have passed in that direction,
//! the proxy forwards the part that fits and closes both sides. The random
//! choices come from a seed so a failing run can be replayed.
//!
//! Shaped ([`CuttingProxy::start_shaped`]): a poor mobile link instead. Each
//! direction is a link of a fixed rate shared by every connection, with a
//! one-way delay: a chunk read at `t` goes on the link when the link is free
//! (at `t` or after the chunks before it), takes `len / rate` on it, and is
//! delivered `delay` after that. Chunks wait on a delay line with their
//! times, so reading goes on while earlier chunks are in flight (throughput
//! really is the rate, whatever the delay). A new connection costs one round
//! trip before the upstream sees it. One cut may be planned: once that many
//! bytes in all have been delivered towards the device, the connection
//! carrying the byte at the offset gets the part that fits and is closed;
//! later connections are not cut.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::Result;

/// What the proxy did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Cut only while this is set (it is from the start).
    pub cutting: AtomicBool,
    pub connections: AtomicU64,
    pub cuts: AtomicU64,
    pub bytes_to_server: AtomicU64,
    pub bytes_to_device: AtomicU64,
    /// Shaped: bytes delivered towards the device when the planned cut
    /// happened (0: not yet).
    pub cut_at_bytes_to_device: AtomicU64,
}

impl ProxyStats {
    /// Bytes forwarded so far, (to the server, to the device).
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.bytes_to_server.load(Ordering::Relaxed),
            self.bytes_to_device.load(Ordering::Relaxed),
        )
    }
}

/// How the proxy cuts.
#[derive(Debug, Clone, Copy)]
pub struct CutPlan {
    pub seed: u64,
    /// Chance that a connection is cut at all.
    pub cut_probability: f64,
    /// Cuts happen before this many bytes (in the chosen direction).
    pub max_cut_offset: usize,
}

/// A poor link, each way ([`CuttingProxy::start_shaped`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Bytes a second, each way (1 Mbit/s: 125,000).
    pub bytes_per_sec: f64,
    /// One way (a 300 ms round trip: 150 ms).
    pub delay: Duration,
    /// Cut once, after this many bytes in all towards the device.
    pub cut_to_device_at: Option<u64>,
}

impl Shape {
    /// 1 Mbit/s each way, 300 ms round trip, no cut.
    pub fn poor_mobile() -> Shape {
        Shape {
            bytes_per_sec: 125_000.0,
            delay: Duration::from_millis(150),
            cut_to_device_at: None,
        }
    }
}

/// One direction of a shaped link: busy until a time, shared by every
/// connection.
#[derive(Debug)]
struct Link {
    bytes_per_sec: f64,
    delay: Duration,
    busy_until: Mutex<Option<Instant>>,
}

impl Link {
    fn new(shape: &Shape) -> Link {
        Link {
            bytes_per_sec: shape.bytes_per_sec.max(1.0),
            delay: shape.delay,
            busy_until: Mutex::new(None),
        }
    }

    /// When `len` bytes read at `now` are delivered at the other end.
    fn schedule(&self, now: Instant, len: usize) -> Instant {
        let mut busy = self.busy_until.lock().unwrap_or_else(|e| e.into_inner());
        let start = busy.map_or(now, |b| b.max(now));
        let finish = start + Duration::from_secs_f64(len as f64 / self.bytes_per_sec);
        *busy = Some(finish);
        finish + self.delay
    }
}

/// What the shaped mode shares between connections.
#[derive(Debug)]
struct Shaped {
    shape: Shape,
    up: Link,
    down: Link,
    /// The planned cut was made.
    cut_done: AtomicBool,
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct CuttingProxy {
    pub base: String,
    pub stats: Arc<ProxyStats>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    pub async fn start(upstream: SocketAddr, plan: CutPlan) -> Result<CuttingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(ProxyStats::default());
        stats.cutting.store(true, Ordering::Relaxed);
        let task = tokio::spawn(accept_loop(listener, upstream, plan, stats.clone()));
        Ok(CuttingProxy { base, stats, task })
    }

    /// A proxy that shapes every connection as `shape` says (module
    /// documentation), and cuts at most once, where it plans.
    pub async fn start_shaped(upstream: SocketAddr, shape: Shape) -> Result<CuttingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(ProxyStats::default());
        stats.cutting.store(true, Ordering::Relaxed);
        let shaped = Arc::new(Shaped {
            shape,
            up: Link::new(&shape),
            down: Link::new(&shape),
            cut_done: AtomicBool::new(false),
        });
        let accept_stats = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((device, _)) = listener.accept().await {
                accept_stats.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(forward_shaped(
                    device,
                    upstream,
                    shaped.clone(),
                    accept_stats.clone(),
                ));
            }
        });
        Ok(CuttingProxy { base, stats, task })
    }

    /// Start or stop cutting new connections.
    pub fn set_cutting(&self, on: bool) {
        self.stats.cutting.store(on, Ordering::Relaxed);
    }

    pub fn cuts(&self) -> u64 {
        self.stats.cuts.load(Ordering::Relaxed)
    }

    pub fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::Relaxed)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    plan: CutPlan,
    stats: Arc<ProxyStats>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    while let Ok((device, _)) = listener.accept().await {
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let cut = if rng.gen_bool(plan.cut_probability.clamp(0.0, 1.0)) {
            let to_server = rng.gen_bool(0.5);
            let offset = rng.gen_range(0..plan.max_cut_offset.max(1));
            Some((to_server, offset)).filter(|_| stats.cutting.load(Ordering::Relaxed))
        } else {
            None
        };
        tokio::spawn(forward(device, upstream, cut, stats.clone()));
    }
}

/// Pump bytes from `from` to `to`, at most `budget` of them (then stop).
/// Returns whether the budget ran out (a cut).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut budget: Option<usize>,
    counter: &AtomicU64,
) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let allowed = budget.map_or(n, |b| b.min(n));
        if allowed > 0 {
            if to.write_all(&buf[..allowed]).await.is_err() {
                return false;
            }
            counter.fetch_add(allowed as u64, Ordering::Relaxed);
        }
        if let Some(b) = budget.as_mut() {
            *b -= allowed;
            if allowed < n || *b == 0 {
                return true;
            }
        }
    }
}

async fn forward(
    device: TcpStream,
    upstream: SocketAddr,
    cut: Option<(bool, usize)>,
    stats: Arc<ProxyStats>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = device.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (device_read, device_write) = device.into_split();
    let (server_read, server_write) = server.into_split();
    let (up_budget, down_budget) = match cut {
        Some((true, offset)) => (Some(offset), None),
        Some((false, offset)) => (None, Some(offset)),
        None => (None, None),
    };
    let up = pump(device_read, server_write, up_budget, &stats.bytes_to_server);
    let down = pump(
        server_read,
        device_write,
        down_budget,
        &stats.bytes_to_device,
    );
    // Whichever direction ends first (EOF or cut) ends the connection: the
    // other pump is dropped with its halves, closing both sockets.
    let cut_happened = tokio::select! {
        c = up => c,
        c = down => c,
    };
    if cut_happened {
        stats.cuts.fetch_add(1, Ordering::Relaxed);
    }
}

/// The planned cut towards the device, as the delivering side sees it.
struct PlannedCut<'a> {
    at: u64,
    done: &'a AtomicBool,
    stats: &'a ProxyStats,
}

/// Pump bytes from `from` to `to` over `link`: a reader stamps each chunk
/// with its delivery time onto a delay line, a writer delivers each at its
/// time. Returns whether the planned cut happened here.
async fn shaped_pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: &Link,
    cut: Option<PlannedCut<'_>>,
    counter: &AtomicU64,
) -> bool {
    let (line, mut arriving) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 4 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let at = link.schedule(Instant::now(), n);
            if line.send((at, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        // The writer delivers what is on the line, then ends.
        drop(line);
    };
    let writer = async move {
        while let Some((at, chunk)) = arriving.recv().await {
            tokio::time::sleep_until(at).await;
            let mut allowed = chunk.len();
            let mut cutting = false;
            if let Some(cut) = cut.as_ref().filter(|c| !c.done.load(Ordering::Relaxed)) {
                let delivered = counter.load(Ordering::Relaxed);
                let left = cut.at.saturating_sub(delivered);
                if (chunk.len() as u64) >= left && !cut.done.swap(true, Ordering::Relaxed) {
                    allowed = usize::try_from(left)
                        .unwrap_or(chunk.len())
                        .min(chunk.len());
                    cutting = true;
                }
            }
            if allowed > 0 {
                if to.write_all(&chunk[..allowed]).await.is_err() {
                    return false;
                }
                counter.fetch_add(allowed as u64, Ordering::Relaxed);
            }
            if cutting {
                if let Some(cut) = &cut {
                    cut.stats
                        .cut_at_bytes_to_device
                        .store(counter.load(Ordering::Relaxed), Ordering::Relaxed);
                }
                return true;
            }
        }
        false
    };
    // The writer ends when the reader has ended and the line is empty, or
    // at the cut (the reader is then dropped with its half).
    tokio::select! {
        cut = writer => cut,
        () = async { reader.await; std::future::pending::<()>().await } => false,
    }
}

async fn forward_shaped(
    device: TcpStream,
    upstream: SocketAddr,
    shaped: Arc<Shaped>,
    stats: Arc<ProxyStats>,
) {
    // Opening a connection costs a round trip on a real link.
    tokio::time::sleep(shaped.shape.delay * 2).await;
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = device.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (device_read, device_write) = device.into_split();
    let (server_read, server_write) = server.into_split();
    let cut = shaped.shape.cut_to_device_at.map(|at| PlannedCut {
        at,
        done: &shaped.cut_done,
        stats: &stats,
    });
    let up = shaped_pump(
        device_read,
        server_write,
        &shaped.up,
        None,
        &stats.bytes_to_server,
    );
    let down = shaped_pump(
        server_read,
        device_write,
        &shaped.down,
        cut,
        &stats.bytes_to_device,
    );
    let cut_happened = tokio::select! {
        c = up => c,
        c = down => c,
    };
    if cut_happened {
        stats.cuts.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_delivers_after_its_time_on_the_link_and_the_delay() {
        let shape = Shape {
            bytes_per_sec: 1000.0,
            delay: Duration::from_millis(150),
            cut_to_device_at: None,
        };
        let link = Link::new(&shape);
        let t0 = Instant::now();
        // 500 bytes at 1,000 B/s: half a second on the link, then 150 ms.
        assert_eq!(link.schedule(t0, 500), t0 + Duration::from_millis(650));
        // Read at the same moment: waits for the link, so 500 ms later.
        assert_eq!(link.schedule(t0, 500), t0 + Duration::from_millis(1150));
        // Read after the link went idle: starts when read.
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            link.schedule(later, 100),
            later + Duration::from_millis(250)
        );
    }

    /// A server that sends `len` bytes to each connection, then closes it.
    async fn sender(len: usize) -> Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = s.write_all(&vec![7u8; len]).await;
                });
            }
        });
        Ok(addr)
    }

    #[tokio::test]
    async fn a_shaped_connection_takes_at_least_its_rate_and_delay_and_is_cut_once_where_planned()
    -> Result<()> {
        let upstream = sender(20_000).await?;
        let proxy = CuttingProxy::start_shaped(
            upstream,
            Shape {
                bytes_per_sec: 100_000.0,
                delay: Duration::from_millis(50),
                cut_to_device_at: Some(30_000),
            },
        )
        .await?;
        let addr: SocketAddr = proxy
            .base
            .trim_start_matches("http://")
            .parse()
            .map_err(|e: std::net::AddrParseError| crate::HarnessError::Setup(e.to_string()))?;
        let mut got = Vec::new();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let mut s = TcpStream::connect(addr).await?;
            let mut bytes = Vec::new();
            let _ = s.read_to_end(&mut bytes).await;
            // A lower bound only (the machine may be slower, never faster):
            // the connection's round trip, at least 10,000 bytes at
            // 100,000 B/s (100 ms) and one delay.
            assert!(started.elapsed() >= Duration::from_millis(100 + 100 + 50));
            got.push(bytes.len());
        }
        // The first 20,000 pass; the second is cut at 30,000 in all; the
        // third is whole again.
        assert_eq!(got, [20_000, 10_000, 20_000]);
        assert_eq!(proxy.cuts(), 1);
        assert_eq!(
            proxy.stats.cut_at_bytes_to_device.load(Ordering::Relaxed),
            30_000
        );
        assert_eq!(proxy.stats.bytes(), (0, 50_000));
        Ok(())
    }
}
