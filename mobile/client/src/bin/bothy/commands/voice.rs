//! `bothy voice`: capture family voice: their own words, a 0-10 scale, the
//! three houses. With `--consent` it goes to the team record; without, to my
//! agency's record only.

use anyhow::{Result, anyhow};
use bothy_client::ServiceError;
use bothy_client::services::FamilyVoiceInput;
use bothy_shared::docs::VoiceOf;

use super::{Context, find_child, with_client};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[arg(long)]
    child: String,
    /// Who said it, as they want to be named.
    #[arg(long)]
    said_by: String,
    /// child, parent, carer, sibling or other.
    #[arg(long, default_value = "child")]
    voice_of: String,
    #[arg(long)]
    words: String,
    #[arg(long)]
    scale: Option<u8>,
    #[arg(long, default_value = "")]
    scale_question: String,
    #[arg(long, default_value = "")]
    worries: String,
    #[arg(long, default_value = "")]
    good_things: String,
    #[arg(long, default_value = "")]
    dreams: String,
    /// They agree this can be shared with the team (stored in the team
    /// record); without it, it is kept in my agency's record only.
    #[arg(long)]
    consent: bool,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd {
            child,
            said_by,
            voice_of,
            words,
            scale,
            scale_question,
            worries,
            good_things,
            dreams,
            consent,
        } = self;
        let dir = &ctx.data;
        with_client(dir, |client| {
            let id = find_child(client, child)?;
            let input = FamilyVoiceInput {
                said_by: said_by.clone(),
                voice_of: VoiceOf::from_slug(voice_of).ok_or_else(|| {
                    anyhow!(ServiceError::BadInput {
                        field: "voice-of",
                        problem: format!(
                            "`{voice_of}` is not one of child, parent, carer, sibling, other"
                        )
                    })
                })?,
                own_words: words.clone(),
                scale_question: scale_question.clone(),
                scale: *scale,
                worries: worries.clone(),
                good_things: good_things.clone(),
                dreams: dreams.clone(),
                consent_to_share: *consent,
            };
            let key = client.family_voice_doc(id, *consent)?;
            let v = client.record_family_voice(id, &input)?;
            let who = client.who_will_see(key, false)?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "voice": v, "document": key, "who_will_see": who.line })
                );
            } else {
                println!(
                    "Saved family voice {v} in {key}. Who will see this: {}.",
                    who.line
                );
            }
            Ok(())
        })
    }
}
