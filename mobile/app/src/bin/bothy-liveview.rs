//! `bothy-liveview`: the Bothy app served to a browser on this machine,
//! over the device store in `--data` (the browser tests drive it; the demo
//! opens it where there is no display for the desktop window).
//!
//! It serves the decrypted app, so it listens on loopback only. It prints
//! `bothy-liveview: listening on http://ADDR/` once it accepts connections.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bothy_app::{Device, DeviceSettings};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "bothy-liveview", version, about)]
struct Args {
    /// The device's data directory (made by `bothy init` or `bothy enrol`).
    #[arg(long, env = "BOTHY_DATA")]
    data: PathBuf,
    /// Where to listen (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8471")]
    listen: SocketAddr,
    /// Lock after this many seconds untouched (0: never).
    #[arg(long, default_value_t = 300)]
    idle_lock: u64,
    /// Sync every this many seconds while unlocked (0: only when asked).
    #[arg(long, default_value_t = 60)]
    sync_every: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        bail!(
            "bothy-liveview serves the unlocked app without TLS: it listens on loopback only, not {}",
            args.listen
        );
    }
    let settings = DeviceSettings::with_timers(args.idle_lock, args.sync_every);
    let device = Device::locked(&args.data, settings);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("bothy-liveview: listening on http://{addr}/");
    let app = bothy_app::liveview::router(device.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the app")?;
    device
        .lock()
        .map_err(|e| anyhow::anyhow!("locking the store: {e}"))?;
    Ok(())
}
