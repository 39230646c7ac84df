//! Mapping of keyring-core errors to creds errors.
//!
//! keyring-core's `BadEncoding` and `BadDataFormat` carry the stored bytes, so a keyring-core
//! error is never attached as a source; only the platform error inside `PlatformFailure` and
//! `NoStorageAccess` (a D-Bus or kernel error, which holds no value) is.

use creds_core::{Error, ErrorKind};

pub(crate) fn map(err: keyring_core::Error, backend: &str) -> Error {
    use keyring_core::Error as K;
    match err {
        K::NoEntry => Error::not_found(format!("no {backend} item for this service and user")),
        K::NoStorageAccess(source) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "the {backend} keyring cannot be accessed (locked, or no keyring service running)"
            ),
        )
        .set_temporary(false)
        .with_source(source),
        K::PlatformFailure(source) => Error::new(
            ErrorKind::Unavailable,
            format!("the {backend} keyring failed"),
        )
        .with_source(source),
        K::BadEncoding(_) | K::BadDataFormat(..) => Error::decode(format!(
            "the {backend} item holds data in an unexpected format"
        )),
        K::BadStoreFormat(_) => Error::new(
            ErrorKind::Unavailable,
            format!("the {backend} keyring store is in an unexpected format"),
        ),
        K::TooLong(attribute, limit) => Error::invalid_reference(format!(
            "the {attribute} is longer than the {backend} keyring allows ({limit})"
        )),
        // The value itself (keyring-core calls it the password or secret) was refused: for
        // keyutils, over the key size limit or the user's key quota.
        K::Invalid(attribute, reason) if matches!(attribute.as_str(), "password" | "secret") => {
            Error::unsupported(format!(
                "the {backend} keyring refused the value ({reason}): it may be over the size limit or quota"
            ))
        }
        K::Invalid(attribute, reason) => {
            Error::invalid_reference(format!("invalid {attribute}: {reason}"))
        }
        K::Ambiguous(entries) => Error::new(
            ErrorKind::Other,
            format!(
                "{} {backend} items match this service and user",
                entries.len()
            ),
        ),
        K::NoDefaultStore => Error::unconfigured("no keyring store is configured"),
        K::NotSupportedByStore(what) => Error::unsupported(format!(
            "the {backend} keyring does not support this: {what}"
        )),
        _ => Error::new(ErrorKind::Other, format!("the {backend} keyring failed")),
    }
}
