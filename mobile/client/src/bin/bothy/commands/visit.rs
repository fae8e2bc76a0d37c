//! `bothy visit`: record a visit (saved at once; finalised visits can only be given addenda).

use anyhow::{Result, anyhow};
use bothy_client::ServiceError;
use bothy_client::services::VisitDraft;
use bothy_shared::docs::{Sharing, VisitKind};

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[arg(long)]
    child: String,
    /// What was observed.
    #[arg(long)]
    text: String,
    /// home, school, office, phone, video or other.
    #[arg(long, default_value = "home")]
    kind: String,
    #[arg(long, default_value = "")]
    place: String,
    /// The child was seen.
    #[arg(long)]
    seen: bool,
    /// The child was seen alone.
    #[arg(long)]
    seen_alone: bool,
    /// What the child said, in their words.
    #[arg(long, default_value = "")]
    child_said: String,
    /// Share with my agency only (stored in my agency's record).
    #[arg(long)]
    agency_only: bool,
    /// Finalise now: no further edits, addenda only.
    #[arg(long)]
    finalise: bool,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd {
            child,
            text,
            kind,
            place,
            seen,
            seen_alone,
            child_said,
            agency_only,
            finalise,
        } = self;
        let dir = &ctx.data;
        with_client(dir, |client| {
            let id = find_child(client, child)?;
            let mut draft = VisitDraft::new(id);
            draft.kind = VisitKind::from_slug(kind).ok_or_else(|| {
                anyhow!(ServiceError::BadInput {
                    field: "kind",
                    problem: format!(
                        "`{kind}` is not one of home, school, office, phone, video, other"
                    )
                })
            })?;
            draft.place = place.clone();
            draft.observations = text.clone();
            draft.child_seen = *seen || *seen_alone;
            draft.seen_alone = *seen_alone;
            draft.child_said = child_said.clone();
            draft.sharing = if *agency_only {
                Sharing::Agency
            } else {
                Sharing::Team
            };
            client.autosave_visit(&draft)?;
            let key = client.save_visit(&draft, *finalise)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "visit": draft.id, "document": key, "finalised": finalise })
                );
            } else {
                println!(
                    "Saved visit {} in {key}{}.",
                    draft.id,
                    if *finalise {
                        ", finalised"
                    } else {
                        " as a draft"
                    }
                );
            }
            Ok(())
        })
    }
}
