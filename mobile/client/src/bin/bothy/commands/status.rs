//! `bothy status`: who this device belongs to, its server, when it last synced,
//! what is waiting to sync and which changes the server refused (rule and reason).

use anyhow::Result;
use bothy_client::sync;

use super::{Context, with_client};

pub fn run(ctx: &Context) -> Result<()> {
    let dir = &ctx.data;
    with_client(dir, |client| {
        let me = client.me();
        let unsynced = client.unsynced_changes()?;
        let rejections = client.store().rejections()?;
        let server = sync::enrolled_server(client.store())?;
        let last = sync::last_sync(&*client)?;
        let last_text = last
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        if ctx.json {
            let refused: Vec<_> = rejections
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "document": r.doc_key,
                        "change": r.change_hash.as_deref().map(hex::encode),
                        "rule": r.rule,
                        "path": r.path,
                        "reason": r.message,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "person": me.person, "name": me.name, "device": me.device,
                    "server": server, "last_sync": last_text,
                    "unsynced_changes": unsynced, "rejected": rejections.len(),
                    "refused": refused,
                })
            );
        } else {
            println!("{} ({}) on device {}", me.name, me.role_title, me.device);
            match &server {
                Some(s) => println!("Server: {s}"),
                None => println!("Server: none (offline demo; not enrolled)"),
            }
            println!("Last sync: {}", last_text.as_deref().unwrap_or("never"));
            println!("{unsynced} change(s) waiting to sync.");
            if rejections.is_empty() {
                println!("No changes refused by the server.");
            } else {
                println!(
                    "{} change(s) refused by the server (kept on this device):",
                    rejections.len()
                );
                for r in &rejections {
                    println!(
                        "  {} {} at {}: {} ({})",
                        r.doc_key,
                        r.change_hash
                            .as_deref()
                            .map(|h| hex::encode(h).chars().take(12).collect::<String>())
                            .unwrap_or_else(|| "-".into()),
                        if r.path.is_empty() { "-" } else { &r.path },
                        r.message,
                        r.rule
                    );
                }
            }
        }
        Ok(())
    })
}
