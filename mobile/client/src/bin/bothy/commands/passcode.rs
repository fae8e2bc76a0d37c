//! `bothy passcode`: change the passcode (current from BOTHY_PASSCODE or stdin
//! line 1; new from BOTHY_NEW_PASSCODE or stdin line 2).

use anyhow::{Context as _, Result};
use bothy_client::store::Store;

use super::{Context, passcodes};

pub fn run(ctx: &Context) -> Result<()> {
    let dir = &ctx.data;
    let mut p = passcodes(2)?;
    let new = p.remove(1);
    let old = p.remove(0);
    Store::change_passcode(dir, &old, &new).context("changing the passcode")?;
    println!("Passcode changed.");
    Ok(())
}
