//! `bothy export`: a child's plan as a signed PDF, for the team or for the
//! young person (no withheld part, in the words of "My plan"). A young
//! person exports their own plan in their version; a practitioner may make
//! either. `bothy-server verify-export` checks it (docs/exports.md).

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use bothy_client::export::ExportError;
use bothy_shared::export::Audience;
use bothy_shared::ids::ChildId;
use bothy_shared::policy::PersonKind;

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The child: their id, or the start of their name.
    #[arg(long)]
    child: String,
    /// Who it is for: `team` or `young-person`.
    #[arg(long = "for", value_name = "team|young-person")]
    audience: Audience,
    /// Where to write the PDF.
    #[arg(long)]
    out: PathBuf,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let export = with_client(&ctx.data, |client| {
            let child = match client.me().kind {
                // A young person's device holds their own plan only.
                PersonKind::YoungPerson { child } => match self.child.parse::<ChildId>() {
                    Ok(asked) if asked != child => return Err(anyhow!(ExportError::NotYours)),
                    _ => child,
                },
                _ => find_child(client, &self.child)?,
            };
            client
                .export_plan(child, self.audience)
                .map_err(|e| match e {
                    // Keep the service's error itself in the chain, for the exit code.
                    ExportError::Service(s) => anyhow!(s),
                    other => anyhow!(other),
                })
        })?;
        std::fs::write(&self.out, &export.bytes)
            .with_context(|| format!("writing {}", self.out.display()))?;
        if ctx.json {
            println!(
                "{}",
                serde_json::json!({
                    "out": self.out.display().to_string(),
                    "pages": export.pages,
                    "bytes": export.bytes.len(),
                    "manifest": export.manifest,
                })
            );
        } else {
            println!(
                "Saved the {} plan to {} ({} page{}, signed by device {}). Check it with `bothy-server verify-export`.",
                match self.audience {
                    Audience::Team => "team's",
                    Audience::YoungPerson => "young person's",
                },
                self.out.display(),
                export.pages,
                if export.pages == 1 { "" } else { "s" },
                export.manifest.device
            );
        }
        Ok(())
    }
}
