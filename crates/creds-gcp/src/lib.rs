//! Google Cloud Secret Manager for [creds](https://docs.rs/creds), on the official client
//! (`google-cloud-secretmanager-v1` over HTTP/JSON, with `google-cloud-auth`).
//!
//! | reference | reads |
//! |---|---|
//! | `gcp-sm://my-gcp-project/my-api-key` | the latest version |
//! | `gcp-sm://my-gcp-project/my-api-key/3` | version 3 |
//! | `gcp-sm://projects/p/secrets/s/versions/2` | the resource-name form |
//! | `gcp-sm://my-project/my-key?location=europe-west1` | a regional secret (regional endpoint) |
//!
//! - **Credentials**: Application Default Credentials from every source the auth crate knows —
//!   `GOOGLE_APPLICATION_CREDENTIALS`, the gcloud user file, workload identity federation, and the
//!   GCE/GKE metadata server (`GCE_METADATA_HOST` honoured). None anywhere: *unconfigured*, so a
//!   chain goes on.
//! - **Checks**: the payload's CRC32C is verified (a mismatch is an *integrity* error); the
//!   returned name must name the requested secret and version (`latest` resolves to a number;
//!   the project may come back as its number).
//! - **Endpoints**: `secretmanager.googleapis.com`, the regional
//!   `secretmanager.LOCATION.rep.googleapis.com` for `?location=`, or an override
//!   (`[backends.gcp] endpoint`, spec §4) for regional and private endpoints. Plain http to a
//!   host that is not loopback is used with a warning, and refused under
//!   [`Policy::Strict`](creds_core::Policy) ([`register`] passes the resolver builder's policy on).
//! - **Errors**: NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED, FAILED_PRECONDITION (a disabled or
//!   destroyed version: *disabled*), UNAVAILABLE and RESOURCE_EXHAUSTED (temporary); an answer
//!   that is not the protocol is *unavailable* (temporary, never quoting the body); a value over
//!   [`MAX_VALUE`] is refused before the call (*unsupported*).
//! - **Writes**: [`set`](creds_core::Store::set) adds a version (`addVersion`, with its CRC32C).
//!
//! What was verified against recorded traffic (a Google-published cassette recorded against the
//! real service, served by a loopback server through the endpoint override): access of a version
//! with its CRC32C, a copy with a wrong CRC32C (integrity), the project-number form of the returned
//! name, and not found. The two commonest credential sources are tested end to end through the
//! official auth crate: a service-account key file (`GOOGLE_APPLICATION_CREDENTIALS`, a JWT signed
//! with the key) and the metadata server (`GCE_METADATA_HOST` pointed at a local server that
//! answers the token request). What could not be: Google's own token servers accepting them.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> creds_core::Result<()> {
//! use creds_core::Resolver;
//! use creds_gcp::GcpSmStoreBuilder;
//!
//! let resolver = Resolver::builder().with_store(GcpSmStoreBuilder::from_env().build()).build();
//! let key = resolver.get("gcp-sm://my-gcp-project/my-api-key").await?;
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod error;

pub use backend::{GcpSmStore, GcpSmStoreBuilder, MAX_VALUE};

/// Adds the Secret Manager store to a resolver builder, with an optional endpoint override and
/// the builder's [`policy`](creds_core::ResolverBuilder::policy).
pub fn register(
    builder: creds_core::ResolverBuilder,
    endpoint: Option<String>,
) -> creds_core::ResolverBuilder {
    let mut b = GcpSmStoreBuilder::from_env().with_policy(builder.policy());
    if let Some(e) = endpoint {
        b = b.with_endpoint(e);
    }
    builder.with_store(b.build())
}
