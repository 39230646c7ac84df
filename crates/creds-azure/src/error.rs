//! Mapping of Azure SDK errors to creds errors. Error bodies name the secret, never its value;
//! still, only the status and the service's codes are kept.

use azure_core::error::ErrorKind as AzKind;
use creds_core::{Error, ErrorKind};

pub(crate) fn map(err: azure_core::Error) -> Error {
    match err.kind() {
        AzKind::HttpResponse {
            status,
            error_code,
            raw_response,
        } => {
            let status = u16::from(*status);
            let code = error_code.clone().unwrap_or_default();
            let (inner, message) = raw_response
                .as_ref()
                .and_then(|r| serde_json::from_slice::<serde_json::Value>(r.body()).ok())
                .map(|v| {
                    (
                        v["error"]["innererror"]["code"]
                            .as_str()
                            .map(str::to_string),
                        v["error"]["message"].as_str().map(str::to_string),
                    )
                })
                .unwrap_or((None, None));
            let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
            if inner.as_deref() == Some("SecretDisabled") {
                return Error::new(
                    ErrorKind::Disabled,
                    format!("the secret is disabled{detail}"),
                );
            }
            let kind = match status {
                404 => ErrorKind::NotFound,
                401 => ErrorKind::Unauthenticated,
                403 => ErrorKind::PermissionDenied,
                429 => ErrorKind::RateLimited,
                400 => ErrorKind::InvalidReference,
                s if s >= 500 => ErrorKind::Unavailable,
                _ => ErrorKind::Other,
            };
            Error::new(
                kind,
                format!("Key Vault answered {code} (HTTP {status}){detail}"),
            )
        }
        AzKind::Credential => Error::unconfigured(format!("no Azure credentials: {err}")),
        AzKind::Connection | AzKind::Io => Error::new(
            ErrorKind::Unavailable,
            format!("cannot reach Key Vault: {err}"),
        ),
        // Not the protocol (a proxy's page, a truncated body): unavailable, like the other
        // stores; the SDK's message is not kept, as it may quote the body.
        AzKind::DataConversion => crate::backend::unreadable(),
        other => Error::new(
            ErrorKind::Other,
            format!("Key Vault request failed ({other:?})"),
        ),
    }
}
