//! `bothy init`: create the encrypted store in the data folder.

use anyhow::{Context as _, Result};
use bothy_client::Client;
use bothy_client::store::{KdfParams, Store};

use super::{Context, passcodes};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Fill the store with the fictional demo partnership as this person
    /// (e.g. "Morag", "Kai", "Fiona"), to try Bothy offline.
    #[arg(long, value_name = "NAME")]
    demo_as: Option<String>,
    /// For tests only: a weak, fast passcode key derivation.
    #[arg(long, hide = true)]
    insecure_test_kdf: bool,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd {
            demo_as,
            insecure_test_kdf,
        } = self;
        let dir = &ctx.data;
        let passcode = passcodes(1)?.remove(0);
        let params = if *insecure_test_kdf {
            KdfParams::insecure_fast_for_tests()
        } else {
            KdfParams::production()
        };
        let store = Store::create(dir, &passcode, params).context("creating the store")?;
        if let Some(name) = demo_as {
            let client = Client::seed_demo(store, name)?;
            let n = client.document_keys()?.len();
            println!(
                "Created the store in {} with the demo as {} ({n} documents).",
                dir.display(),
                client.me().name
            );
            client.lock()?;
        } else {
            println!(
                "Created the store in {}. Enrol this device with a code from your administrator.",
                dir.display()
            );
            store.lock()?;
        }
        Ok(())
    }
}
