//! The state every request handler shares.

use std::fmt;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::{ApiError, InternalError};
use crate::quota::DeviceQuotas;
use crate::storage::Storage;
use crate::sync::DocCache;

/// Storage plus the cache of merged documents. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    docs: DocCache,
    quotas: DeviceQuotas,
    /// A turn for each request doing storage and document work at once
    /// (see [`AppState::blocking`]).
    working: Arc<Semaphore>,
}

/// Requests doing storage and document work at once unless configured
/// (`serve --max-working`): twice the processors (a request also waits on
/// the database), and at least 4.
pub fn default_max_working() -> u32 {
    let processors = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(processors.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .max(4)
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("storage", &self.inner.storage)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Storage with a cache of the default size ([`DocCache::default`]).
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        AppState::with_cache(storage, DocCache::default())
    }

    /// Storage with the given cache of merged documents.
    pub fn with_cache(storage: Arc<dyn Storage>, docs: DocCache) -> Self {
        AppState::with_limits(storage, docs, default_max_working() as usize)
    }

    /// Storage with the given cache, and at most `max_working` requests
    /// (at least one) doing storage and document work at once.
    pub fn with_limits(storage: Arc<dyn Storage>, docs: DocCache, max_working: usize) -> Self {
        AppState {
            inner: Arc::new(Inner {
                storage,
                docs,
                quotas: DeviceQuotas::default(),
                working: Arc::new(Semaphore::new(max_working.clamp(1, Semaphore::MAX_PERMITS))),
            }),
        }
    }

    pub fn storage(&self) -> &dyn Storage {
        self.inner.storage.as_ref()
    }

    pub(crate) fn docs(&self) -> &DocCache {
        &self.inner.docs
    }

    /// What each device has written today (`crate::quota`).
    pub(crate) fn quotas(&self) -> &DeviceQuotas {
        &self.inner.quotas
    }

    /// Run storage and Automerge work on a blocking thread, once it is this
    /// request's turn: at most `max_working` requests do such work at once,
    /// the rest wait (within the request's timeout) holding nothing but
    /// their bodies. What requests hold while they work (documents, their
    /// stored changes, replies) is then bounded however many arrive. The
    /// turn is held until `f` returns, even when the request has timed out
    /// and nobody waits for it. A panic in `f` (Automerge on hostile bytes,
    /// should containment miss one) becomes a 500 for this request only.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let turn = self
            .inner
            .working
            .clone()
            .acquire_owned()
            .await
            .map_err(InternalError::Turn)?;
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = f(&state);
            drop(turn);
            result
        })
        .await
        .map_err(InternalError::Task)?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The most closures `state` ran at once, of `n` sent together.
    async fn most_at_once(state: &AppState, n: usize) -> usize {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (state, running, peak) = (state.clone(), running.clone(), peak.clone());
            tasks.spawn(async move {
                state
                    .blocking(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        for _ in 0..10_000 {
                            std::thread::yield_now();
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        peak.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_max_working_requests_work_at_once() {
        let storage = crate::storage::open_unsealed("sqlite::memory:").unwrap();
        let one = AppState::with_limits(storage.clone(), DocCache::default(), 1);
        assert_eq!(most_at_once(&one, 8).await, 1);
        let two = AppState::with_limits(storage, DocCache::default(), 2);
        assert!(most_at_once(&two, 8).await <= 2);
    }
}
