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

/// The file rule for a credential file a backend reads itself (for example Vault's
/// `~/.vault-token`): read with a warning when its group or others may read it, refused under
/// [`Policy::Strict`]. A file that cannot be inspected is left to the read that follows.
///
/// ```
/// use creds_core::Policy;
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("token");
/// std::fs::write(&path, "t").unwrap();
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
/// assert!(creds_local::check_credential_file(&path, "token file", Policy::Permissive).is_ok());
/// assert!(creds_local::check_credential_file(&path, "token file", Policy::Strict).is_err());
/// # }
/// ```
pub fn check_credential_file(path: &Path, what: &str, policy: Policy) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) => check_readable(path, &meta, 0o077, what, policy),
        Err(_) => Ok(()),
    }
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
