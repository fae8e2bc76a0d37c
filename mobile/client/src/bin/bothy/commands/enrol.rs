//! `bothy enrol`: enrol this device with a Bothy server using a one-time code
//! from an administrator (creates the store first if there is none).

use anyhow::{Context as _, Result, anyhow, bail};
use bothy_client::store::{KdfParams, Store};
use bothy_client::sync::{self, SyncOptions};

use super::{Context, passcodes, runtime};

#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The server's address, e.g. https://bothy.example.org
    #[arg(long, env = "BOTHY_SERVER")]
    server: String,
    /// The one-time enrolment code (dashes and case are ignored).
    #[arg(long)]
    code: String,
    /// A name administrators will see for this device.
    #[arg(long, default_value = "bothy command line")]
    device_name: String,
    /// For tests only: a weak, fast passcode key derivation when creating the store.
    #[arg(long, hide = true)]
    insecure_test_kdf: bool,
}

impl Cmd {
    pub fn run(&self, ctx: &Context) -> Result<()> {
        let Cmd {
            server,
            code,
            device_name,
            insecure_test_kdf,
        } = self;
        let dir = &ctx.data;
        let passcode = passcodes(1)?.remove(0);
        let mut store = if Store::exists(dir).context("looking for the store")? {
            Store::unlock(dir, &passcode).context("unlocking the store")?
        } else {
            let params = if *insecure_test_kdf {
                KdfParams::insecure_fast_for_tests()
            } else {
                KdfParams::production()
            };
            Store::create(dir, &passcode, params).context("creating the store")?
        };
        if let Some(existing) = sync::enrolled_server(&store)? {
            let _ = store.lock();
            bail!("this device is already enrolled with {existing}");
        }
        let enrolled = runtime()?.block_on(sync::enrol(
            &mut store,
            server,
            code,
            device_name,
            &SyncOptions::default(),
        ));
        let enrolment = match enrolled {
            Ok(e) => e,
            Err(e) => {
                let _ = store.lock();
                return Err(anyhow!(e).context("enrolling this device"));
            }
        };
        if ctx.json {
            println!(
                "{}",
                serde_json::json!({ "device": enrolment.device, "person": enrolment.person, "name": enrolment.directory.me.name, "server": enrolment.server, "children": enrolment.directory.children.len() })
            );
        } else {
            println!(
                "Enrolled as {} on {} (device {}); {} child(ren) to sync. Run `bothy --data {} sync`.",
                enrolment.directory.me.name,
                enrolment.server,
                enrolment.device,
                enrolment.directory.children.len(),
                dir.display()
            );
        }
        store.lock()?;
        Ok(())
    }
}
