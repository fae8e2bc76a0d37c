//! A real headless device: an encrypted store (SQLCipher, with the fast test
//! key derivation) in a temporary folder, the client core over it, and its
//! sync engine. And the two ways a dishonest client could misbehave: make a
//! change without asking the local policy, or make it with someone else's
//! actor.

use automerge::{ActorId, ChangeHash};
use bothy_client::Client;
use bothy_client::store::{KdfParams, Passcode, Store, tx::NewChange};
use bothy_client::sync::{self, SyncEngine, SyncError, SyncOptions, SyncReport};
use bothy_shared::docs::{CaseDocument, DocKey, change_document, read_document};
use tempfile::TempDir;

use crate::{HarnessError, Result};

/// The passcode every test device uses.
pub const TEST_PASSCODE: &str = "correct horse battery staple";

/// One enrolled device.
pub struct Device {
    pub name: String,
    client: Option<Client>,
    pub engine: SyncEngine,
    dir: TempDir,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Device {
    /// A new store in a temporary folder, enrolled with `code` at `server`.
    pub async fn enrol(
        name: &str,
        server: &str,
        code: &str,
        options: SyncOptions,
    ) -> Result<Device> {
        let dir = tempfile::tempdir()?;
        let mut store = Store::create(
            dir.path(),
            &Passcode::new(TEST_PASSCODE.to_owned()),
            KdfParams::insecure_fast_for_tests(),
        )?;
        sync::enrol(
            &mut store,
            server,
            code,
            &format!("{name}'s test phone"),
            &options,
        )
        .await?;
        let client = Client::open(store).map_err(|(_, e)| e)?;
        let engine = SyncEngine::new(&client, options)?;
        Ok(Device {
            name: name.to_owned(),
            client: Some(client),
            engine,
            dir,
        })
    }

    /// The data folder.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn client(&self) -> &Client {
        // Always Some outside `tamper`, which puts it back before returning.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("client is always present"))
    }

    pub fn client_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .unwrap_or_else(|| unreachable!("client is always present"))
    }

    /// Take the device apart (for `sync_or_wipe`): the client, the engine,
    /// and the data folder (deleted when dropped).
    pub fn into_parts(mut self) -> (Client, SyncEngine, TempDir) {
        let client = self
            .client
            .take()
            .unwrap_or_else(|| unreachable!("client is always present"));
        (client, self.engine, self.dir)
    }

    /// One full sync run.
    pub async fn sync(&mut self) -> Result<SyncReport, SyncError> {
        let client = self
            .client
            .as_mut()
            .unwrap_or_else(|| unreachable!("client is always present"));
        self.engine.sync(client).await
    }

    /// Read a typed document as the device holds it.
    pub fn read<T: CaseDocument>(&mut self, key: &DocKey) -> Result<T> {
        let doc = self
            .client_mut()
            .document(key)?
            .ok_or_else(|| HarnessError::Setup(format!("the device holds no {key}")))?;
        Ok(read_document(doc, key)?)
    }

    /// Whether the device holds `key`.
    pub fn holds(&mut self, key: &DocKey) -> Result<bool> {
        Ok(self.client_mut().document(key)?.is_some())
    }

    /// Make a change as a dishonest client would: straight into Automerge,
    /// without the local policy, with the device's own actor. Stored as a
    /// local, unsynced change, so the next sync sends it.
    pub fn tamper<T: CaseDocument>(
        &mut self,
        key: DocKey,
        edit: impl FnOnce(&mut T),
    ) -> Result<ChangeHash> {
        let actor = self.client().me().device.actor_id();
        self.tamper_as(key, actor, edit)
    }

    /// As [`Self::tamper`], with any actor (a forged one).
    pub fn tamper_as<T: CaseDocument>(
        &mut self,
        key: DocKey,
        actor: ActorId,
        edit: impl FnOnce(&mut T),
    ) -> Result<ChangeHash> {
        let before = self
            .client_mut()
            .document(&key)?
            .cloned()
            .ok_or_else(|| HarnessError::Setup(format!("the device holds no {key}")))?;
        let edited = change_document::<T, ()>(&before, &key, &actor, "tampered", edit)?;
        let mut change = edited
            .change
            .ok_or_else(|| HarnessError::Setup("the edit changed nothing".to_owned()))?;
        let hash = change.hash();
        let bytes = change.bytes().to_vec();
        // Write it under the client's feet, then open the client again so
        // it loads the document with the change.
        let client = self
            .client
            .take()
            .unwrap_or_else(|| unreachable!("client is always present"));
        let mut store = client.into_store();
        let appended = store.append_changes(
            &key.to_string(),
            &[NewChange {
                hash: &hash.0,
                bytes: &bytes,
                local: true,
            }],
        );
        let reopened = Client::open(store).map_err(|(_, e)| e);
        match reopened {
            Ok(client) => self.client = Some(client),
            Err(e) => return Err(e.into()),
        }
        appended?;
        Ok(hash)
    }
}
