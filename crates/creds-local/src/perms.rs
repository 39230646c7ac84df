//! File permission checks shared by the `.env` and secret-file stores.

use std::path::Path;

/// Warns (target `creds::local`) when a file holding secrets is readable by more than its owner.
/// `mask` selects which permission bits count (e.g. `0o077` group and others, `0o007` others).
#[cfg(unix)]
pub(crate) fn warn_if_readable(path: &Path, meta: &std::fs::Metadata, mask: u32, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & mask & 0o444 != 0 {
        tracing::warn!(
            target: "creds::local",
            path = %path.display(),
            mode = format_args!("{mode:o}"),
            "{what} is readable by other users; restrict it with chmod 600"
        );
    }
}

#[cfg(not(unix))]
pub(crate) fn warn_if_readable(_: &Path, _: &std::fs::Metadata, _: u32, _: &str) {}
