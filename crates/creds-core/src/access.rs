//! Access events: one `tracing` event per read, on the target [`ACCESS_TARGET`].
//!
//! Each event carries the fields `reference`, `source` (the store that answered or failed),
//! `outcome` (`ok`, `stale` when the cache served a value past its TTL because the backend failed,
//! or an [`ErrorKind`] name), `duration_us`, `cached = true` when the cache answered, and for
//! chains `name` and `hops` (every template tried with its outcome). An event never carries a
//! value.
//!
//! Subscribe with any `tracing` subscriber, filtering on the target, e.g.
//! `RUST_LOG=creds::access=info`.

use std::fmt;
use std::time::Duration;

use crate::error::ErrorKind;

/// The `tracing` target of access events.
pub const ACCESS_TARGET: &str = "creds::access";

/// The outcome of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A value was returned.
    Ok,
    /// A value was returned from the cache after the backend failed (stale-if-error).
    Stale,
    /// The read failed with an error of this kind.
    Failed(ErrorKind),
}

impl Outcome {
    /// `ok`, `stale`, or the error kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Stale => "stale",
            Outcome::Failed(kind) => kind.as_str(),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a chain: the reference a template gave, the store asked, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The reference tried.
    pub reference: String,
    /// The store that was asked (the scheme when no store was compiled in).
    pub source: String,
    /// What came of it.
    pub outcome: Outcome,
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.reference, self.outcome)
    }
}

struct Hops<'a>(&'a [Hop]);

impl fmt::Display for Hops<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, hop) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{hop}")?;
        }
        Ok(())
    }
}

/// Emits the access event of a single reference.
pub(crate) fn record(reference: &dyn fmt::Display, source: &str, outcome: Outcome, took: Duration) {
    tracing::info!(
        target: ACCESS_TARGET,
        reference = %reference,
        source = source,
        outcome = outcome.as_str(),
        duration_us = took.as_micros() as u64,
        "secret access"
    );
}

/// Emits the access event of a read answered by the cache (`cached = true`).
#[inline]
pub(crate) fn record_cached(reference: &str, source: Option<&str>, outcome: Outcome) {
    tracing::info!(
        target: ACCESS_TARGET,
        reference = reference,
        source = source.unwrap_or(""),
        outcome = outcome.as_str(),
        duration_us = 0u64,
        cached = true,
        "secret access"
    );
}

/// Emits the access event of a chain resolution.
pub(crate) fn record_chain(name: &str, hops: &[Hop], outcome: Outcome, took: Duration) {
    let (reference, source) = hops
        .last()
        .map(|h| (h.reference.as_str(), h.source.as_str()))
        .unwrap_or(("", ""));
    tracing::info!(
        target: ACCESS_TARGET,
        name = name,
        reference = reference,
        source = source,
        outcome = outcome.as_str(),
        duration_us = took.as_micros() as u64,
        hops = %Hops(hops),
        "secret access through chain"
    );
}
