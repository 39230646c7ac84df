//! The one error type of creds: a kind, a temporary/permanent flag, context and the source error.
//!
//! An [`Error`] never holds a secret value. Its message is written by creds (or by a backend crate
//! of creds) from non-secret facts: the reference, the store, an HTTP status, a line number. Errors
//! of third-party parsers whose text may quote their input (JSON, `.env`) are never attached as a
//! source; only their position and category are kept.

use std::borrow::Cow;
use std::fmt;

use crate::access::Hop;

/// A specialised `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in the terms a caller acts on.
///
/// The kind decides whether a [`Chain`](crate::Chain) falls through to its next template
/// ([`ErrorKind::falls_through`]) and which exit status the `creds` command returns
/// ([`ErrorKind::exit_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The secret (or the selected field, or the requested version) does not exist.
    NotFound,
    /// The backend has no configuration or credentials at all here (for example no cloud
    /// credentials on a laptop, or a scheme whose backend was not compiled in).
    Unconfigured,
    /// The backend knows who we are and refuses the request.
    PermissionDenied,
    /// The backend rejected our credentials (missing, expired or invalid).
    Unauthenticated,
    /// The reference (or a chain template) is malformed.
    InvalidReference,
    /// Configuration is malformed or contradicts itself.
    Config,
    /// A policy (for example `strict`) forbids the operation.
    Policy,
    /// The value could not be decoded as asked (not UTF-8, not JSON, wrong JSON shape).
    Decode,
    /// The value failed an integrity check (checksum, returned name or version mismatch).
    Integrity,
    /// The backend could not be reached or answered with a server-side failure.
    Unavailable,
    /// The operation did not finish in time.
    Timeout,
    /// The backend throttled the request.
    RateLimited,
    /// The store does not support the operation (for example writing to the environment, or
    /// writing a value over the store's size limit).
    Unsupported,
    /// The secret exists but may not be used: disabled, expired, or not valid yet. The message
    /// says which.
    Disabled,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A short, stable, snake_case name, used in access events and machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unconfigured => "unconfigured",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::InvalidReference => "invalid_reference",
            ErrorKind::Config => "config",
            ErrorKind::Policy => "policy",
            ErrorKind::Decode => "decode",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Disabled => "disabled",
            ErrorKind::Other => "other",
        }
    }

    /// Whether an error of this kind is temporary by default: trying again later may succeed.
    pub fn is_temporary_by_default(self) -> bool {
        matches!(
            self,
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::RateLimited
        )
    }

    /// Whether a [`Chain`](crate::Chain) goes on to its next template after an error of this kind
    /// (spec §2): not found, no configuration for that backend, or the backend unreachable. Every
    /// other kind stops the chain, because falling through would hide a misconfiguration.
    pub fn falls_through(self) -> bool {
        matches!(
            self,
            ErrorKind::NotFound
                | ErrorKind::Unconfigured
                | ErrorKind::Unavailable
                | ErrorKind::Timeout
                | ErrorKind::RateLimited
        )
    }

    /// The exit status of the `creds` command for this kind (spec §3): 2 usage, configuration or
    /// reference; 3 not found; 4 access denied or rejected credentials; 5 backend unavailable or
    /// timed out; 1 anything else.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::InvalidReference
            | ErrorKind::Config
            | ErrorKind::Policy
            | ErrorKind::Unconfigured => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::PermissionDenied | ErrorKind::Unauthenticated => 4,
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::RateLimited => 5,
            ErrorKind::Decode
            | ErrorKind::Integrity
            | ErrorKind::Unsupported
            | ErrorKind::Disabled
            | ErrorKind::Other => 1,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Unconfigured => "not configured",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::InvalidReference => "invalid reference",
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Policy => "refused by policy",
            ErrorKind::Decode => "cannot decode",
            ErrorKind::Integrity => "integrity check failed",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timed out",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Disabled => "disabled",
            ErrorKind::Other => "error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
type SharedError = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every creds operation. Cloning is cheap enough for the cache to hand one
/// failure to every caller that waited for it.
///
/// Built with [`Error::new`] and the `with_*` setters:
///
/// ```
/// use creds_core::{Error, ErrorKind};
/// let err = Error::new(ErrorKind::NotFound, "no such variable")
///     .with_reference("env://API_KEY")
///     .with_source_name("env");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(!err.is_temporary());
/// assert_eq!(err.to_string(), "not found: no such variable (reference: env://API_KEY, source: env)");
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    temporary: bool,
    message: Cow<'static, str>,
    reference: Option<String>,
    source_name: Option<String>,
    hops: Vec<Hop>,
    source: Option<SharedError>,
}

impl Error {
    /// A new error of `kind`. `message` must not contain a secret value.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                temporary: kind.is_temporary_by_default(),
                message: message.into(),
                reference: None,
                source_name: None,
                hops: Vec::new(),
                source: None,
            }),
        }
    }

    /// Sets the reference the operation was about (a reference never contains a value).
    pub fn with_reference(mut self, reference: impl fmt::Display) -> Self {
        self.inner.reference = Some(reference.to_string());
        self
    }

    /// Sets the reference only when none is set yet.
    pub fn or_reference(self, reference: impl fmt::Display) -> Self {
        if self.inner.reference.is_some() {
            self
        } else {
            self.with_reference(reference)
        }
    }

    /// Sets the name of the store that reported the error (for example `env` or `keyring`).
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.inner.source_name = Some(name.into());
        self
    }

    /// Sets the source name only when none is set yet.
    pub fn or_source_name(self, name: impl Into<String>) -> Self {
        if self.inner.source_name.is_some() {
            self
        } else {
            self.with_source_name(name)
        }
    }

    /// Attaches the underlying error. Its text must not be able to contain a secret value.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(SharedError::from(source.into()));
        self
    }

    /// Attaches an underlying error known only by its text (for errors of other crates that are
    /// not `Send + Sync + 'static`, or whose types should not leak). The text must not be able to
    /// contain a secret value.
    pub fn with_source_text(self, text: impl Into<String>) -> Self {
        self.with_source(TextError(text.into()))
    }

    /// Marks the error as temporary (worth retrying) or permanent.
    pub fn set_temporary(mut self, temporary: bool) -> Self {
        self.inner.temporary = temporary;
        self
    }

    /// Records the hops of a chain that led to this error.
    pub fn with_hops(mut self, hops: Vec<Hop>) -> Self {
        self.inner.hops = hops;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether trying again later may succeed.
    pub fn is_temporary(&self) -> bool {
        self.inner.temporary
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The reference the operation was about, if known.
    pub fn reference(&self) -> Option<&str> {
        self.inner.reference.as_deref()
    }

    /// The store that reported the error, if known.
    pub fn source_name(&self) -> Option<&str> {
        self.inner.source_name.as_deref()
    }

    /// The hops of a chain, when the error ends a chain resolution.
    pub fn hops(&self) -> &[Hop] {
        &self.inner.hops
    }

    /// The exit status of the `creds` command for this error.
    pub fn exit_code(&self) -> u8 {
        self.inner.kind.exit_code()
    }

    // Conveniences for the common kinds.

    /// A [`ErrorKind::NotFound`] error.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// An [`ErrorKind::InvalidReference`] error.
    pub fn invalid_reference(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidReference, message)
    }

    /// An [`ErrorKind::Decode`] error.
    pub fn decode(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }

    /// An [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// An [`ErrorKind::Unconfigured`] error.
    pub fn unconfigured(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unconfigured, message)
    }

    /// An [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        write!(f, "{}: {}", i.kind.describe(), i.message)?;
        match (&i.reference, &i.source_name) {
            (Some(r), Some(s)) => write!(f, " (reference: {r}, source: {s})")?,
            (Some(r), None) => write!(f, " (reference: {r})")?,
            (None, Some(s)) => write!(f, " (source: {s})")?,
            (None, None) => {}
        }
        if !i.hops.is_empty() {
            f.write_str("; tried: ")?;
            for (n, hop) in i.hops.iter().enumerate() {
                if n > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{hop}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind)
            .field("temporary", &i.temporary)
            .field("message", &i.message);
        if let Some(r) = &i.reference {
            d.field("reference", r);
        }
        if let Some(s) = &i.source_name {
            d.field("source_name", s);
        }
        if !i.hops.is_empty() {
            d.field("hops", &i.hops);
        }
        if let Some(s) = &i.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| &**e as &(dyn std::error::Error + 'static))
    }
}

/// An error known only by its text; see [`Error::with_source_text`].
#[derive(Debug)]
struct TextError(String);

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TextError {}

/// The text of an error and of every source below it, joined by `: `.
pub fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cur = e.source();
    }
    text
}

/// Describes a `serde_json` error by category and position only: its own text may quote the
/// input, which is a secret.
pub(crate) fn describe_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "not valid JSON",
        Category::Data => "JSON of the wrong shape for the requested type",
        Category::Eof => "truncated JSON",
    };
    if err.line() > 0 {
        format!("{what} at line {} column {}", err.line(), err.column())
    } else {
        what.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_rule_and_an_exit_code() {
        use ErrorKind::*;
        let through = [NotFound, Unconfigured, Unavailable, Timeout, RateLimited];
        let stops = [
            PermissionDenied,
            Unauthenticated,
            InvalidReference,
            Config,
            Policy,
            Decode,
            Integrity,
            Unsupported,
            Disabled,
            Other,
        ];
        for k in through {
            assert!(k.falls_through(), "{k}");
        }
        for k in stops {
            assert!(!k.falls_through(), "{k}");
        }
        assert_eq!(NotFound.exit_code(), 3);
        assert_eq!(PermissionDenied.exit_code(), 4);
        assert_eq!(Unauthenticated.exit_code(), 4);
        assert_eq!(Unavailable.exit_code(), 5);
        assert_eq!(Timeout.exit_code(), 5);
        assert_eq!(InvalidReference.exit_code(), 2);
        assert_eq!(Unconfigured.exit_code(), 2);
        assert_eq!(Decode.exit_code(), 1);
        assert!(Timeout.is_temporary_by_default());
        assert!(!NotFound.is_temporary_by_default());
    }

    #[test]
    fn json_errors_are_described_without_their_input() {
        let err = serde_json::from_str::<u32>("\"canary-value\"").unwrap_err();
        assert!(err.to_string().contains("canary-value"));
        let described = describe_json_error(&err);
        assert!(!described.contains("canary-value"), "{described}");
        assert!(described.contains("wrong shape"));
    }

    #[test]
    fn source_is_kept() {
        let io = std::io::Error::other("disk on fire");
        let err = Error::new(ErrorKind::Unavailable, "read failed").with_source(io);
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.is_temporary());
        assert!(!err.set_temporary(false).is_temporary());
    }
}
