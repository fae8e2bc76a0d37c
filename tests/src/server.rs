//! A real sync server for tests: in this process (fast, shares the storage
//! with the test for administration and inspection), or the real
//! `bothy-server` program as a child process (so it can be SIGKILLed and
//! restarted on the same database).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use automerge::Automerge;
use bothy_server::storage::{self, Storage};
use bothy_server::{ServerConfig, auth, demo, directory};
use bothy_shared::demo::{AILEEN, KAI};
use bothy_shared::docs::DocKey;
use bothy_shared::ids::PersonId;
use bothy_shared::policy::TeamRole;
use tempfile::TempDir;

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
    Ok(auth::issue_enrol_code(
        storage,
        person,
        Duration::from_secs(3600),
        bothy_server::now(),
    )?)
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

/// Poll `GET {base}/health` until it answers 200: at most `tries` times,
/// `every` apart. Polling, not sleeping until something is assumed done.
pub async fn wait_healthy(base: &str, tries: u32, every: Duration) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| HarnessError::Setup(e.to_string()))?;
    for _ in 0..tries {
        if let Ok(resp) = http.get(format!("{base}/health")).send().await
            && resp.status() == reqwest::StatusCode::OK
        {
            return Ok(());
        }
        tokio::time::sleep(every).await;
    }
    Err(HarnessError::Setup(format!(
        "{base} did not become healthy after {tries} polls"
    )))
}

/// A server in this process on a random loopback port, over a SQLite file
/// in a temporary folder. Stops when dropped.
pub struct InProcessServer {
    pub base: String,
    pub db_url: String,
    pub storage: Arc<dyn Storage>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), bothy_server::ServerError>>>,
    _dir: TempDir,
}

impl std::fmt::Debug for InProcessServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessServer")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl InProcessServer {
    /// The demo partnership with Aileen on Kai's team.
    pub async fn start_demo() -> Result<InProcessServer> {
        Self::start_with(seed_demo_with_aileen_on_kais_team, |_| {}).await
    }

    /// A server whose database `seed` fills first; `adjust` may change the config.
    pub async fn start_with(
        seed: impl FnOnce(&dyn Storage) -> Result<()>,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Result<InProcessServer> {
        let dir = tempfile::tempdir()?;
        let db_url = format!("sqlite://{}", dir.path().join("server.db").display());
        let storage = storage::open(&db_url)?;
        seed(storage.as_ref())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let mut config = ServerConfig::for_tests(&db_url);
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
        let server = InProcessServer {
            base,
            db_url,
            storage,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        };
        // The listener is bound already: the first poll queues until served.
        wait_healthy(&server.base, 50, Duration::from_millis(20)).await?;
        Ok(server)
    }

    pub fn code_for(&self, person: PersonId) -> Result<String> {
        code_for(self.storage.as_ref(), person)
    }

    pub fn document(&self, key: &DocKey) -> Result<Automerge> {
        stored_document(self.storage.as_ref(), key)
    }

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

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A loopback port nobody listens on right now. (Another process could take
/// it before the server binds it; on a test machine that is rare, and the
/// server then fails to start loudly rather than silently.)
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The real `bothy-server serve` program as a child process on a fixed
/// loopback port (so devices find it again after a restart). Killed when
/// dropped.
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
    /// Start `binary serve --listen 127.0.0.1:PORT --db DB_URL EXTRA…` and
    /// poll its health until it answers.
    pub async fn start(binary: &Path, db_url: &str, extra: &[&str]) -> Result<ServerProcess> {
        let port = free_port()?;
        let mut server = ServerProcess {
            binary: binary.to_path_buf(),
            db_url: db_url.to_owned(),
            port,
            base: format!("http://127.0.0.1:{port}"),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<()> {
        self.launch()?;
        wait_healthy(&self.base, 400, Duration::from_millis(25)).await
    }

    /// Start the process again (after [`Self::kill`]) without waiting for it:
    /// poll [`wait_healthy`] on [`Self::base`] next.
    pub fn launch(&mut self) -> Result<()> {
        self.kill()?;
        let child = Command::new(&self.binary)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--db")
            .arg(&self.db_url)
            .args(&self.extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
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
    pub async fn restart(&mut self) -> Result<()> {
        self.kill()?;
        self.spawn().await
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
