//! The rotation pattern: use the current credential; if the service it unlocks rejects it,
//! refresh it from its store and try once more.

use std::future::Future;

use crate::error::Result;
use crate::resolver::Resolver;
use crate::secret::Secret;
use crate::store::IntoReference;

/// What using a credential came to.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// The service accepted the credential.
    Accepted(T),
    /// The service rejected the credential itself (for example a database's "password
    /// authentication failed"): worth a refreshed value.
    Rejected(E),
    /// Anything else went wrong: not retried.
    Failed(E),
}

impl Resolver {
    /// Reads `reference`, hands it to `use_it`, and when the credential is
    /// [rejected](Attempt::Rejected), reads it again from its store (bypassing the cache) and,
    /// if a new version (or new bytes) came back, hands that over once more. The outer `Result`
    /// is creds's (reading the secret); the inner one is the service's.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use creds_core::{Attempt, Resolver};
    /// # let resolver = Resolver::builder().build();
    /// # let _ = async {
    /// let rows = resolver
    ///     .use_with_refresh("aws-sm://app/db#password", |password| async move {
    ///         match connect(password.expose_str().unwrap()).await {
    ///             Ok(conn) => Attempt::Accepted(conn),
    ///             Err(e) if e == "auth failed" => Attempt::Rejected(e),
    ///             Err(e) => Attempt::Failed(e),
    ///         }
    ///     })
    ///     .await?;
    /// # Ok::<_, creds_core::Error>(rows) };
    /// # async fn connect(_: &str) -> Result<(), &'static str> { Ok(()) }
    /// # });
    /// ```
    pub async fn use_with_refresh<T, E, F, Fut>(
        &self,
        reference: impl IntoReference,
        mut use_it: F,
    ) -> Result<std::result::Result<T, E>>
    where
        F: FnMut(Secret) -> Fut,
        Fut: Future<Output = Attempt<T, E>>,
    {
        let key = reference.key().into_owned();
        let current = self.get(key.as_str()).await?;
        let rejection = match use_it(current.clone()).await {
            Attempt::Accepted(v) => return Ok(Ok(v)),
            Attempt::Failed(e) => return Ok(Err(e)),
            Attempt::Rejected(e) => e,
        };
        let fresh = self.refresh_now(key.as_str()).await?;
        let same = match (current.version(), fresh.version()) {
            (Some(a), Some(b)) => a == b,
            _ => current.expose_secret() == fresh.expose_secret(),
        };
        if same {
            return Ok(Err(rejection));
        }
        tracing::info!(
            target: crate::access::ACCESS_TARGET,
            reference = %key,
            "credential rejected; retrying once with the refreshed value"
        );
        Ok(match use_it(fresh).await {
            Attempt::Accepted(v) => Ok(v),
            Attempt::Rejected(e) | Attempt::Failed(e) => Err(e),
        })
    }
}
