//! A TCP proxy that cuts connections at random byte offsets.
//!
//! Each accepted connection is forwarded to the upstream server; with
//! probability `cut_probability` it is given a byte budget, in a random
//! direction (towards the server or towards the device), chosen uniformly in
//! `0..max_cut_offset`; once that many bytes have passed in that direction,
//! the proxy forwards the part that fits and closes both sides. The random
//! choices come from a seed so a failing run can be replayed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
