//! The timeout layer.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, ErrorKind, Result};
use crate::reference::{Reference, Scheme};
use crate::secret::{Metadata, Secret};
use crate::store::Store;

/// Bounds every call of the inner store; an exceeded limit is [`ErrorKind::Timeout`], which is
/// temporary (retried by an outer [`RetryStore`](super::RetryStore), and a reason for a chain to
/// fall through).
#[derive(Debug)]
pub struct TimeoutStore {
    inner: Arc<dyn Store>,
    limit: Duration,
    what: &'static str,
}

impl TimeoutStore {
    /// Wraps `inner`; `what` names the limit in errors (`attempt`, `overall`).
    pub fn new(inner: Arc<dyn Store>, limit: Duration, what: &'static str) -> Self {
        TimeoutStore { inner, limit, what }
    }

    async fn bound<T>(
        &self,
        reference: &Reference,
        f: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.limit, f).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "no answer within the {} timeout of {:?}",
                    self.what, self.limit
                ),
            )
            .with_reference(reference)
            .with_source_name(self.inner.name())),
        }
    }
}

#[async_trait]
impl Store for TimeoutStore {
    fn scheme(&self) -> Scheme {
        self.inner.scheme()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn get(&self, reference: &Reference) -> Result<Secret> {
        self.bound(reference, self.inner.get(reference)).await
    }
    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        self.bound(reference, self.inner.set(reference, value))
            .await
    }
    async fn delete(&self, reference: &Reference) -> Result<()> {
        self.bound(reference, self.inner.delete(reference)).await
    }
}
