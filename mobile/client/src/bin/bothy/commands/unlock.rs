//! `bothy unlock`: check the passcode opens the store.

use anyhow::Result;

use super::{Context, with_client};

pub fn run(ctx: &Context) -> Result<()> {
    let dir = &ctx.data;
    with_client(dir, |client| {
        println!(
            "Unlocked: {} ({}).",
            client.me().name,
            client.me().role_title
        );
        Ok(())
    })
}
