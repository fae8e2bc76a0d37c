//! The state every request handler shares.

use std::fmt;
use std::sync::Arc;

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
        AppState {
            inner: Arc::new(Inner {
                storage,
                docs,
                quotas: DeviceQuotas::default(),
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

    /// Run storage and Automerge work on a blocking thread. A panic in `f`
    /// (Automerge on hostile bytes, should containment miss one) becomes a
    /// 500 for this request only.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(InternalError::Task)?
    }
}
