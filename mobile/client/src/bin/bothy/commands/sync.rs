//! `bothy sync`: sync with the server once through the [`Device`](bothy_client::Device):
//! push local changes, pull everyone else's. Exit code 7 if the server cannot be
//! reached, 8 if this device was revoked (its unsynced work is offered to the
//! server, then the store is wiped).

use anyhow::{Result, anyhow};
use bothy_client::DeviceSettings;
use bothy_client::device::SyncRunError;
use bothy_client::sync::{self, RetryPolicy, SyncError};
use bothy_shared::team::TeamChange;

use super::{Context, open, runtime};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Tries per request before giving up (exit code 7).
    #[arg(long, default_value_t = 4)]
    attempts: u32,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd { attempts } = self;
        let settings = DeviceSettings {
            retry: RetryPolicy {
                attempts: (*attempts).max(1),
                ..RetryPolicy::default()
            },
            ..DeviceSettings::manual()
        };
        let device = open(&ctx.data, settings)?;
        match runtime()?.block_on(device.sync_now()) {
            Ok(report) => {
                let server = device.sync_server().unwrap_or_default();
                let words = |change: &TeamChange| {
                    device
                        .with_client(|c| c.team_change_words(change))
                        .unwrap_or_else(|| format!("change {}", change.id))
                };
                print_sync(ctx.json, &server, &report, words)?;
                device.lock()?;
            }
            Err(SyncRunError::Setup(error)) => {
                let _ = device.lock();
                return Err(anyhow!(error));
            }
            Err(SyncRunError::Run { server, error }) => {
                let _ = device.lock();
                return Err(anyhow!(error).context(format!("syncing with {server}")));
            }
            Err(SyncRunError::Wiped(wiped)) => {
                let message = format!(
                    "this device was revoked by an administrator: {} unsynced change(s) were handed to the server for review, and the local data ({} file(s) in {}) was wiped",
                    wiped.offered,
                    wiped.removed.len(),
                    wiped.dir.display()
                );
                if ctx.json {
                    println!(
                        "{}",
                        serde_json::json!({ "revoked": true, "offered": wiped.offered, "wiped": wiped.removed })
                    );
                }
                return Err(anyhow!(SyncError::Revoked {
                    offered: Some(wiped.offered)
                })
                .context(message));
            }
            Err(SyncRunError::Wipe(error)) => return Err(anyhow!(error)),
            // Neither can happen to a device this command just unlocked.
            Err(error @ (SyncRunError::Locked | SyncRunError::AlreadyRunning)) => {
                let _ = device.lock();
                return Err(anyhow!(error));
            }
        }
        Ok(())
    }
}

fn print_sync(
    json: bool,
    server: &str,
    r: &sync::SyncReport,
    words: impl Fn(&TeamChange) -> String,
) -> Result<()> {
    if json {
        let refused: Vec<_> = r
            .refused
            .iter()
            .map(|f| serde_json::json!({ "document": f.key, "rule": f.rule, "path": f.path, "change": f.change, "reason": f.explanation }))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "server": server, "documents": r.documents, "changed": r.changed, "new": r.new,
                "gone": r.gone, "sent_changes": r.acknowledged, "received_changes": r.received,
                "refused": refused, "sync_requests": r.sync_requests, "requests": r.traffic.requests,
                "retries": r.traffic.retries, "bytes_sent": r.traffic.bytes_sent,
                "bytes_received": r.traffic.bytes_received, "elapsed_ms": r.elapsed.as_millis() as u64,
                "team": team_json(r, &words), "left": r.left, "offered": r.offered,
            })
        );
        return Ok(());
    }
    println!(
        "Synced with {server}: {} document(s) exchanged ({} changed elsewhere, {} new to this device, {} removed).",
        r.documents,
        r.changed,
        r.new,
        r.gone.len()
    );
    println!(
        "Sent {} change(s), received {} change(s); {} request(s), {} bytes up, {} bytes down{}.",
        r.acknowledged,
        r.received,
        r.traffic.requests,
        r.traffic.bytes_sent,
        r.traffic.bytes_received,
        if r.traffic.retries > 0 {
            format!(", {} retried", r.traffic.retries)
        } else {
            String::new()
        }
    );
    print_team(r, &words);
    for f in &r.refused {
        println!(
            "Refused by the server ({}): {} in {} at {}. The change is kept on this device.",
            f.rule,
            f.explanation,
            f.key,
            if f.path.is_empty() { "-" } else { &f.path }
        );
    }
    Ok(())
}

/// Team changes the server answered, and children this device left.
fn team_json(
    r: &sync::SyncReport,
    words: &impl Fn(&TeamChange) -> String,
) -> Vec<serde_json::Value> {
    r.team
        .iter()
        .map(|t| serde_json::json!({ "change": t.change.id.to_string(), "words": words(&t.change), "applied": t.applied, "rule": t.rule, "reason": t.explanation }))
        .collect()
}

fn print_team(r: &sync::SyncReport, words: &impl Fn(&TeamChange) -> String) {
    for t in &r.team {
        if t.applied {
            println!("Team change applied: {}.", words(&t.change));
        } else {
            println!(
                "Team change refused ({}): {}. Not applied: {}.",
                t.rule.as_deref().unwrap_or("refused"),
                t.explanation.as_deref().unwrap_or_default(),
                words(&t.change)
            );
        }
    }
    for child in &r.left {
        println!(
            "You are no longer on the team of child {child}: {} unsynced change(s) were handed to the server for your supervisor, and everything of the child was removed from this device.",
            r.offered
        );
    }
}
