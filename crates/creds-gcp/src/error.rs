//! Mapping of Google Cloud client errors to creds errors. Only the status code, the HTTP
//! status and the service's message are kept (a payload is never part of an error).

use creds_core::{Error, ErrorKind};
use google_cloud_gax::error::rpc::Code;

pub(crate) fn map(e: google_cloud_gax::error::Error) -> Error {
    if let Some(status) = e.status() {
        let kind = match status.code {
            Code::NotFound => ErrorKind::NotFound,
            Code::PermissionDenied => ErrorKind::PermissionDenied,
            Code::Unauthenticated => ErrorKind::Unauthenticated,
            Code::FailedPrecondition => ErrorKind::Disabled,
            Code::Unavailable => ErrorKind::Unavailable,
            Code::ResourceExhausted => ErrorKind::RateLimited,
            Code::DeadlineExceeded => ErrorKind::Timeout,
            Code::InvalidArgument => ErrorKind::InvalidReference,
            Code::Internal | Code::Unknown => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        };
        return Error::new(
            kind,
            format!(
                "Secret Manager answered {:?}: {}",
                status.code, status.message
            ),
        );
    }
    if let Some(code) = e.http_status_code() {
        let kind = match code {
            404 => ErrorKind::NotFound,
            403 => ErrorKind::PermissionDenied,
            401 => ErrorKind::Unauthenticated,
            429 => ErrorKind::RateLimited,
            s if s >= 500 => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        };
        return Error::new(kind, format!("Secret Manager answered HTTP {code}"));
    }
    if e.is_authentication() {
        return Error::unconfigured(format!("no Google Cloud credentials: {e}"));
    }
    if e.is_timeout() {
        return Error::new(ErrorKind::Timeout, "Secret Manager did not answer in time");
    }
    if e.is_io() || e.is_transport() {
        return Error::new(ErrorKind::Unavailable, "cannot reach Secret Manager")
            .set_temporary(true);
    }
    if e.is_deserialization() {
        // Not the protocol (a proxy's page, a truncated body): like the other stores, the
        // backend is unavailable. The source is not attached: it may quote the body.
        return Error::new(
            ErrorKind::Unavailable,
            "Secret Manager sent a response that could not be read",
        )
        .set_temporary(true);
    }
    Error::new(ErrorKind::Other, "the Secret Manager request failed")
}
