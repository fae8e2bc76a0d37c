//! A real sync server for tests: in this process on port 0, on SQLite or
//! PostgreSQL (fast, shares the storage with the test for administration
//! and inspection, and a second instance can share its database), or the
//! real `bothy-server` program as a child process (so it can be SIGKILLed
//! and restarted on the same database). Either is ready when its start
//! returns: the in-process listener is bound before the server runs, and
//! the program has logged the address it listens on.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use automerge::Automerge;
use bothy_client::sync::SyncOptions;
use bothy_server::storage::{self, Storage};
use bothy_server::{ServerConfig, demo, directory};
use bothy_shared::demo::{AILEEN, KAI};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::PersonId;
use bothy_shared::policy::TeamRole;
use reqwest::StatusCode;

use crate::db::{self, Backend, People, TestDb};
use crate::device::Device;
use crate::wire_device::WireDevice;
use crate::{HarnessError, Result};

/// Seed the demo partnership, and put Aileen (health visitor) on Kai's team
/// too, so a social worker, a health visitor and a teacher share one plan.
pub fn seed_demo_with_aileen_on_kais_team(storage: &dyn Storage) -> Result<()> {
    demo::seed_if_empty(storage, bothy_server::now())?;
    directory::add_team_member(storage, KAI, AILEEN, TeamRole::Member, bothy_server::now())?;
    Ok(())
}

/// A one-time enrolment code for `person`, valid for an hour.
pub fn code_for(storage: &dyn Storage, person: PersonId) -> Result<String> {
    Ok(db::code_for(storage, person)?)
}

/// A SQLite server database in `dir` with the demo partnership (Aileen on
/// Kai's team), for [`ServerProcess`]: its URL, and a code for each of
/// `people`.
pub fn demo_database(dir: &Path, people: &[PersonId]) -> Result<(String, Vec<String>)> {
    let db_url = format!("sqlite://{}", dir.join("server.db").display());
    let storage = storage::open(&db_url)?;
    seed_demo_with_aileen_on_kais_team(storage.as_ref())?;
    let codes = people
        .iter()
        .map(|p| code_for(storage.as_ref(), *p))
        .collect::<Result<_>>()?;
    Ok((db_url, codes))
}

/// The server's merged copy of a document, as stored now.
pub fn stored_document(storage: &dyn Storage, key: &DocKey) -> Result<Automerge> {
    bothy_server::sync::DocCache::default()
        .load(storage, key)
        .map_err(|e| HarnessError::Setup(format!("loading {key} from the server: {e}")))
}

/// How many changes the server stores for a document (each once, by hash).
pub fn stored_change_count(storage: &dyn Storage, key: &DocKey) -> Result<usize> {
    Ok(storage.changes_after(key, 0)?.len())
}

/// A server in this process on a random loopback port, over a database of
/// its own (see [`TestDb`]); `people` says who is who in the partnership it
/// was seeded with ([`People`] for the small one, nothing for the demo's,
/// whose people are the constants of `bothy_shared::demo`). Stops when
/// dropped.
pub struct TestServer<P = ()> {
    pub base: String,
    pub db_url: String,
    pub storage: Arc<dyn Storage>,
    pub people: P,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), bothy_server::ServerError>>>,
    /// Dropped last: the server lets go of the database first.
    db: Arc<TestDb>,
}

impl<P> std::fmt::Debug for TestServer<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl TestServer<People> {
    /// The small test partnership ([`db::seed`]) on `backend`.
    pub async fn start(backend: Backend) -> Result<TestServer<People>> {
        Self::start_with(backend, |_| {}).await
    }

    /// As [`TestServer::start`]; `adjust` may change the config.
    pub async fn start_with(
        backend: Backend,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Result<TestServer<People>> {
        Self::seeded(backend, |s| Ok(db::seed(s)?), adjust).await
    }
}

impl TestServer {
    /// The demo partnership with Aileen on Kai's team, on SQLite.
    pub async fn start_demo() -> Result<TestServer> {
        Self::seeded(Backend::Sqlite, seed_demo_with_aileen_on_kais_team, |_| {}).await
    }
}

impl<P: Clone> TestServer<P> {
    /// A server on `backend` whose database `seed` fills first; `adjust`
    /// may change the config.
    pub async fn seeded(
        backend: Backend,
        seed: impl FnOnce(&dyn Storage) -> Result<P>,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Result<TestServer<P>> {
        let db = Arc::new(TestDb::create(backend)?);
        let storage = db.try_open()?;
        let people = seed(storage.as_ref())?;
        Self::launch(db, storage, people, adjust).await
    }

    /// As [`TestServer::seeded`], with what devices send stored unsealed
    /// (no encryption at rest): `bothy-load --unsealed`, to measure what
    /// sealing costs. Never for a test of behaviour.
    pub async fn seeded_unsealed(
        backend: Backend,
        seed: impl FnOnce(&dyn Storage) -> Result<P>,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Result<TestServer<P>> {
        let db = Arc::new(TestDb::create(backend)?);
        let storage = storage::open_unsealed(&db.url)?;
        let people = seed(storage.as_ref())?;
        Self::launch(db, storage, people, adjust).await
    }

    /// Another server (another instance) on this one's database, with its
    /// own storage connection and document cache.
    pub async fn another_instance(&self) -> Result<TestServer<P>> {
        let storage = self.db.try_open()?;
        Self::launch(self.db.clone(), storage, self.people.clone(), |_| {}).await
    }

    async fn launch(
        db: Arc<TestDb>,
        storage: Arc<dyn Storage>,
        people: P,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Result<TestServer<P>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let mut config = ServerConfig::for_tests(&db.url);
        config.master_key_file = db.key_file.clone();
        adjust(&mut config);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(bothy_server::launch_with_storage(
            config,
            storage.clone(),
            listener,
            async move {
                let _ = rx.await;
            },
        ));
        let server = TestServer {
            base,
            db_url: db.url.clone(),
            storage,
            people,
            shutdown: Some(tx),
            task: Some(task),
            db,
        };
        // The listener is bound before the server task starts, so the first
        // request queues until it is served: no polling needed.
        let health = server.health().await?;
        if health != StatusCode::OK {
            return Err(HarnessError::Setup(format!(
                "{} answered {health} to /health",
                server.base
            )));
        }
        Ok(server)
    }
}

impl<P> TestServer<P> {
    /// What `GET /health` answers.
    pub async fn health(&self) -> Result<StatusCode> {
        let resp = reqwest::get(format!("{}/health", self.base))
            .await
            .map_err(|e| HarnessError::Setup(format!("{}/health: {e}", self.base)))?;
        Ok(resp.status())
    }

    pub fn code_for(&self, person: PersonId) -> Result<String> {
        code_for(self.storage.as_ref(), person)
    }

    /// The arguments that give the `bothy-server` program this server's
    /// database's master key (see [`TestDb::key_args`]).
    pub fn key_args(&self) -> Vec<String> {
        self.db.key_args()
    }

    /// Enrol a real headless [`Device`] called `name` for `person`.
    pub async fn enrol_device(
        &self,
        name: &str,
        person: PersonId,
        options: SyncOptions,
    ) -> Result<Device> {
        Device::enrol(name, &self.base, &self.code_for(person)?, options).await
    }

    /// [`TestServer::enrol_device`] with the default options, then one sync:
    /// a device holding everything its person may read.
    pub async fn enrol_synced(&self, name: &str, person: PersonId) -> Result<Device> {
        let mut device = self
            .enrol_device(name, person, SyncOptions::default())
            .await?;
        device.sync().await?;
        Ok(device)
    }

    /// Enrol a [`WireDevice`] for `person`.
    pub async fn enrol(&self, person: PersonId) -> Result<WireDevice> {
        WireDevice::enrol(&self.base, &self.code_for(person)?, "test phone")
            .await
            .map_err(|(status, body)| HarnessError::Refused(status, body))
    }

    /// The server's merged copy of a document, as stored now.
    pub fn document(&self, key: &DocKey) -> Result<Automerge> {
        stored_document(self.storage.as_ref(), key)
    }

    /// How many changes the server stores for a document.
    pub fn change_count(&self, key: &DocKey) -> Result<usize> {
        stored_change_count(self.storage.as_ref(), key)
    }

    /// Stop gracefully and wait for the server task.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .map_err(|e| HarnessError::Setup(format!("server task: {e}")))??;
        }
        Ok(())
    }
}

impl<P> Drop for TestServer<P> {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Read a `bothy-server` log until it says where it listens, and return
/// that port. The server has bound its listener by then, so requests queue
/// until it serves.
pub fn listening_port(log: &mut impl BufRead) -> Result<u16> {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if log.read_line(&mut line)? == 0 {
            return Err(HarnessError::Setup(format!(
                "the server exited before listening:\n{seen}"
            )));
        }
        seen.push_str(&line);
        if !line.contains("listening") {
            continue;
        }
        let port = line
            .find("127.0.0.1:")
            .map(|at| {
                line[at + 10..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|digits| digits.parse().ok());
        return port.ok_or_else(|| {
            HarnessError::Setup(format!("no loopback port in the server's line {line:?}"))
        });
    }
}

/// The real `bothy-server serve` program as a child process on a loopback
/// port: the kernel's choice at the first start, the same one at every
/// restart (so devices find it again). Killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    binary: PathBuf,
    pub db_url: String,
    pub port: u16,
    pub base: String,
    extra: Vec<String>,
    child: Option<Child>,
}

impl ServerProcess {
    /// Start `binary serve --listen 127.0.0.1:0 --db DB_URL EXTRA…`;
    /// returns once it listens.
    pub fn start(binary: &Path, db_url: &str, extra: &[&str]) -> Result<ServerProcess> {
        let mut server = ServerProcess {
            binary: binary.to_path_buf(),
            db_url: db_url.to_owned(),
            port: 0,
            base: String::new(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        };
        server.launch()?;
        Ok(server)
    }

    /// Start the process (again, after [`Self::kill`]) on its port; returns
    /// once it listens.
    pub fn launch(&mut self) -> Result<()> {
        self.kill()?;
        let mut child = Command::new(&self.binary)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--db")
            .arg(&self.db_url)
            .args(&self.extra)
            .env("RUST_LOG", "warn,bothy_server=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take();
        self.child = Some(child);
        let mut log = BufReader::new(
            stderr.ok_or_else(|| HarnessError::Setup("the server's log is not piped".into()))?,
        );
        let port = listening_port(&mut log)?;
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while log.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        self.port = port;
        self.base = format!("http://127.0.0.1:{port}");
        Ok(())
    }

    /// SIGKILL: no graceful shutdown, no flushing.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Start again on the same port and database.
    pub fn restart(&mut self) -> Result<()> {
        self.launch()
    }

    /// The running process's id (for reading its memory from /proc).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// The resident memory of process `pid` in KiB, from `/proc/<pid>/status`
/// (`None` once it has gone).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
