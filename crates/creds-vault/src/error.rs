//! Mapping of Vault answers and client errors to creds errors. Vault's error messages name paths
//! and policies, never values.

use creds_core::{Error, ErrorKind};
use serde_json::Value;

/// The kind of an HTTP status from Vault.
pub(crate) fn kind_of(status: u16) -> ErrorKind {
    match status {
        404 => ErrorKind::NotFound,
        403 => ErrorKind::PermissionDenied,
        401 => ErrorKind::Unauthenticated,
        429 => ErrorKind::RateLimited,
        400 | 405 => ErrorKind::InvalidReference,
        412 => ErrorKind::Other,
        // The request (the value) is over the server's `max_request_size`.
        413 => ErrorKind::Unsupported,
        s if s >= 500 => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

/// An error for a non-success answer, with Vault's own messages.
pub(crate) fn from_status(status: u16, body: &Value, what: &str) -> Error {
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let detail = if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    };
    let kind = kind_of(status);
    let sealed = messages
        .iter()
        .any(|m| m.contains("sealed") || m.contains("standby"));
    let what = if sealed {
        format!("{what} (Vault is sealed or standby)")
    } else {
        what.to_string()
    };
    Error::new(
        kind,
        format!("Vault answered HTTP {status} to {what}{detail}"),
    )
}

/// Maps an HTTP transport error.
pub(crate) fn from_reqwest(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    let what = if e.is_connect() {
        "cannot connect to Vault"
    } else if e.is_timeout() {
        "Vault did not answer in time"
    } else {
        "the request to Vault failed"
    };
    Error::new(kind, what).set_temporary(true).with_source(e)
}

/// Maps a vaultrs error (logins, token calls).
pub(crate) fn from_client(e: vaultrs::error::ClientError, what: &str) -> Error {
    use vaultrs::error::ClientError as C;
    match e {
        C::APIError { code, errors } => {
            let body = serde_json::json!({ "errors": errors });
            let err = from_status(code, &body, what);
            // A login refused for its credentials is a rejected credential.
            if code == 400 || code == 403 {
                Error::new(ErrorKind::Unauthenticated, err.message().to_string())
            } else {
                err
            }
        }
        C::RestClientError { source } => {
            use rustify::errors::ClientError as R;
            match &source {
                // These carry (and their sources quote) the answer's body, which may hold a token
                // or a value: the error says what happened and drops them.
                R::ResponseParseError { .. }
                | R::ResponseConversionError { .. }
                | R::DataParseError { .. } => {
                    return Error::new(
                        ErrorKind::Unavailable,
                        format!("{what}: the answer is not Vault's JSON (a proxy, a different server, or a truncated response)"),
                    )
                    .set_temporary(true);
                }
                R::ServerResponseError { code, .. } => {
                    return from_status(*code, &Value::Null, what);
                }
                _ => {}
            }
            let text = creds_core::chain_text(&source);
            let kind = if text.contains("timed out") || text.contains("timeout") {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unavailable
            };
            let message = if text.contains("certificate")
                || text.contains("UnknownIssuer")
                || text.contains("unknown issuer")
            {
                format!(
                    "{what}: the Vault server's TLS certificate is not trusted (set VAULT_CACERT)"
                )
            } else {
                format!("{what}: cannot reach Vault")
            };
            Error::new(kind, message)
                .set_temporary(true)
                .with_source_text(text)
        }
        C::WrapInvalidError | C::ResponseWrapError => Error::new(
            ErrorKind::Unauthenticated,
            format!("{what}: the wrapping token is invalid, expired or already used"),
        ),
        other => Error::new(ErrorKind::Other, format!("{what} failed"))
            .with_source_text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_of(404), ErrorKind::NotFound);
        assert_eq!(kind_of(403), ErrorKind::PermissionDenied);
        assert_eq!(kind_of(429), ErrorKind::RateLimited);
        assert_eq!(kind_of(503), ErrorKind::Unavailable);
        assert_eq!(kind_of(500), ErrorKind::Unavailable);
        let e = from_status(
            503,
            &serde_json::json!({"errors": ["Vault is sealed"]}),
            "a read",
        );
        assert!(e.is_temporary());
        assert!(e.to_string().contains("sealed"));
    }
}
