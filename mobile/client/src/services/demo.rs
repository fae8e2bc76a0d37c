//! The offline demo: a store filled with the fictional partnership as seen by
//! one of its people, for trying Bothy, tests and benchmarks.

use bothy_shared::demo::{self, Demo};
use bothy_shared::ids::DeviceId;
use bothy_shared::policy::AccessPolicy;

use super::Client;
use crate::directory::Directory;
use crate::error::ServiceError;
use crate::store::Store;

impl Client {
    /// Fill a new store with the demo partnership as the person whose name
    /// starts with `name` ("Morag", "Kai", "Fiona"…), on a new device id.
    pub fn seed_demo(store: Store, name: &str) -> Result<Client, ServiceError> {
        Self::seed_from(store, &demo::partnership(), name)
    }

    /// Like [`seed_demo`](Self::seed_demo) with a given partnership.
    pub fn seed_from(mut store: Store, demo: &Demo, name: &str) -> Result<Client, ServiceError> {
        let directory = Directory::from_demo(demo, name, DeviceId::random())
            .ok_or_else(|| ServiceError::bad("name", format!("no demo person called {name}")))?;
        Client::save_directory(&mut store, &directory)?;
        let mut client = Client::open(store).map_err(|(_, e)| e)?;
        let principal = client.me().principal();
        let mut docs = Vec::new();
        for child in &demo.children {
            let readable = AccessPolicy::readable(&principal, &child.team);
            for (key, doc) in child.documents(&demo::server_actor())? {
                if readable.contains(&key) {
                    docs.push((key, doc));
                }
            }
        }
        client.receive_documents(docs)?;
        Ok(client)
    }
}
