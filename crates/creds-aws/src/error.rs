//! Mapping of AWS SDK errors to creds errors.
//!
//! A response that could not be parsed (`ResponseError`) may hold a secret in its raw body, so it
//! is never attached as a source; service errors are attached without their raw response.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use creds_core::{Error, ErrorKind, chain_text};

/// Maps an SDK error of any operation.
pub(crate) fn map<E>(
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    service: &str,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transport = matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
    );
    if transport && let Some(e) = credentials_error(&err) {
        return e;
    }
    let text = if transport {
        chain_text(&err)
    } else {
        String::new()
    };
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.into_err();
            let code = e.code().unwrap_or("").to_string();
            if code.is_empty() {
                // No error code: the answer was not AWS's protocol (a proxy's page, a truncated
                // body). Its source may quote that body, so none is attached.
                return Error::new(
                    if status == 429 {
                        ErrorKind::RateLimited
                    } else {
                        ErrorKind::Unavailable
                    },
                    format!("{service} sent a response that could not be read (HTTP {status})"),
                )
                .set_temporary(true);
            }
            let message = e.message().unwrap_or("").to_string();
            let kind = kind_of(&code, status);
            let text = if message.is_empty() {
                format!("{service} answered {code} (HTTP {status})")
            } else {
                format!("{service} answered {code} (HTTP {status}): {message}")
            };
            Error::new(kind, text).with_source(e)
        }
        SdkError::TimeoutError(e) => Error::new(
            ErrorKind::Timeout,
            format!("{service} did not answer in time"),
        )
        .with_source_text(format!("{e:?}")),
        SdkError::DispatchFailure(d) => {
            let kind = if d.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unavailable
            };
            let what = if d.is_io() {
                "cannot connect to"
            } else {
                "cannot send the request to"
            };
            Error::new(kind, format!("{what} {service}"))
                .set_temporary(true)
                .with_source_text(text)
        }
        SdkError::ConstructionFailure(_) => Error::new(
            ErrorKind::Unconfigured,
            format!("cannot build the {service} request"),
        )
        .with_source_text(text),
        SdkError::ResponseError(_) => Error::new(
            ErrorKind::Unavailable,
            format!("{service} sent a response that could not be read"),
        )
        .set_temporary(true),
        _ => Error::new(ErrorKind::Other, format!("{service} request failed")),
    }
}

fn kind_of(code: &str, status: u16) -> ErrorKind {
    match code {
        "ResourceNotFoundException" | "ParameterNotFound" | "ParameterVersionNotFound" => {
            ErrorKind::NotFound
        }
        "AccessDeniedException" | "AccessDenied" => ErrorKind::PermissionDenied,
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "InvalidClientTokenId" => ErrorKind::Unauthenticated,
        "DecryptionFailure" | "DecryptionFailureException" | "InvalidKeyId" => {
            ErrorKind::PermissionDenied
        }
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => ErrorKind::RateLimited,
        "InternalServiceError" | "InternalServerError" | "ServiceUnavailable" => {
            ErrorKind::Unavailable
        }
        "InvalidRequestException"
        | "InvalidParameterException"
        | "ValidationException"
        | "ParameterVersionLabelLimitExceeded"
        | "HierarchyLevelLimitExceededException" => ErrorKind::InvalidReference,
        _ if status == 404 => ErrorKind::NotFound,
        _ if status == 403 => ErrorKind::PermissionDenied,
        _ if status == 401 => ErrorKind::Unauthenticated,
        _ if status == 429 => ErrorKind::RateLimited,
        _ if status >= 500 => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

/// A credentials failure anywhere in the error's chain: no credentials at all is
/// `unconfigured` (a chain falls through), a provider that timed out is `unavailable`.
fn credentials_error(err: &(dyn std::error::Error + 'static)) -> Option<Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(match c {
                CredentialsError::ProviderTimedOut(_) => Error::new(
                    ErrorKind::Unavailable,
                    "the AWS credentials provider timed out",
                ),
                _ => Error::unconfigured(
                    "no AWS credentials found (environment, profile, SSO, web identity, ECS or instance role)",
                ),
            }
            .with_source_text(chain_text(c)));
        }
        let text = e.to_string();
        if text.contains("no credentials")
            || text.contains("credentials provider")
            || text.contains("no identity resolver")
        {
            return Some(Error::unconfigured("no AWS credentials found").with_source_text(text));
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_map_to_kinds() {
        use ErrorKind::*;
        for (code, status, kind) in [
            ("ResourceNotFoundException", 400, NotFound),
            ("ParameterNotFound", 400, NotFound),
            ("ParameterVersionNotFound", 400, NotFound),
            ("AccessDeniedException", 400, PermissionDenied),
            ("UnrecognizedClientException", 400, Unauthenticated),
            ("InvalidSignatureException", 400, Unauthenticated),
            ("ExpiredTokenException", 400, Unauthenticated),
            ("DecryptionFailure", 400, PermissionDenied),
            ("ThrottlingException", 400, RateLimited),
            ("InternalServiceError", 500, Unavailable),
            ("InvalidRequestException", 400, InvalidReference),
            ("SomethingNew", 503, Unavailable),
            ("SomethingNew", 404, NotFound),
            ("SomethingNew", 429, RateLimited),
            ("SomethingNew", 400, Other),
        ] {
            assert_eq!(kind_of(code, status), kind, "{code} {status}");
        }
        assert!(RateLimited.is_temporary_by_default() && Unavailable.is_temporary_by_default());
    }
}
