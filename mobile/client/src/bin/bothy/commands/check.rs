//! `bothy check`: read and verify every page of the store now (the check the
//! app runs in the background after each unlock), and say what it found.

use anyhow::{Result, bail};
use bothy_client::store::Integrity;

use super::{Context, with_client};

pub fn run(ctx: &Context) -> Result<()> {
    let found = with_client(&ctx.data, |client| {
        Ok(client.store_mut().check_integrity_now()?)
    })?;
    match found {
        Integrity::Passed { .. } => {
            if ctx.json {
                println!("{}", serde_json::json!({ "integrity": "passed" }));
            } else {
                println!("The store is whole: every page read back as written.");
            }
            Ok(())
        }
        Integrity::Damaged => bail!(
            "the database file is damaged: nothing more will be saved to it; restore this device from a backup"
        ),
        Integrity::NotYet { .. } => bail!("the check did not finish"),
    }
}
