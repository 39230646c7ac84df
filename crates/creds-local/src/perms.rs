//! File permission checks shared by the `.env` and secret-file stores.

use std::path::Path;

use creds_core::{Error, ErrorKind, Policy, Result};

/// The file rule: a file holding secrets that is readable by more than its owner is read with a
/// warning (target `creds::local`) under [`Policy::Permissive`] and refused (kind
/// [`ErrorKind::Policy`]) under [`Policy::Strict`]. `mask` selects which permission bits count
/// (`0o077` group and others, `0o007` others).
#[cfg(unix)]
pub(crate) fn check_readable(
    path: &Path,
    meta: &std::fs::Metadata,
    mask: u32,
    what: &str,
    policy: Policy,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & mask & 0o444 == 0 {
        return Ok(());
    }
    let who = if mask & 0o070 != 0 {
        "its group or other users"
    } else {
        "other users"
    };
    if policy == Policy::Strict {
        return Err(Error::new(
            ErrorKind::Policy,
            format!(
                "policy strict refuses {what} `{}`: mode {mode:o} lets {who} read it; restrict it with chmod 600",
                path.display()
            ),
        ));
    }
    tracing::warn!(
        target: "creds::local",
        path = %path.display(),
        mode = format_args!("{mode:o}"),
        "{what} is readable by {who}; restrict it with chmod 600 (policy strict refuses it)"
    );
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_readable(
    _: &Path,
    _: &std::fs::Metadata,
    _: u32,
    _: &str,
    _: Policy,
) -> Result<()> {
    Ok(())
}
