//! `file://PATH`: mounted secret files (`/run/secrets/NAME`, systemd credentials, Kubernetes
//! secret volumes).

use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use creds_core::{
    Environment, Error, ErrorKind, Metadata, ProcessEnv, Reference, Result, Scheme, Secret, Store,
};
use zeroize::Zeroizing;

/// The prefix of a locator that names a file in systemd's `$CREDENTIALS_DIRECTORY`.
pub const CREDENTIALS_DIRECTORY_PREFIX: &str = "$CREDENTIALS_DIRECTORY/";

/// The default largest file read: 1 MiB (Docker and Kubernetes secrets are far smaller).
pub const DEFAULT_MAX_SIZE: u64 = 1024 * 1024;

/// Reads `file://` references.
///
/// - `file:///run/secrets/db_password`: an absolute path;
/// - `file://secrets/db`: relative to the working directory of the [`Environment`];
/// - `file://$CREDENTIALS_DIRECTORY/db`: a systemd credential (`LoadCredential=`); not
///   configured (so a chain falls through) when `$CREDENTIALS_DIRECTORY` is unset.
///
/// One trailing newline (`\n` or `\r\n`) is removed, as editors and `echo` add one; `?raw=true`
/// keeps the file's bytes exactly. A file readable by group or others is read, with a warning on
/// the `creds::local` target. Files larger than [`DEFAULT_MAX_SIZE`] are refused (see
/// [`with_max_size`](FileStore::with_max_size)).
#[derive(Debug, Clone)]
pub struct FileStore {
    env: Arc<dyn Environment>,
    max_size: u64,
}

impl FileStore {
    /// A store resolving relative paths against the process's working directory.
    pub fn from_env() -> Self {
        FileStore::new(Arc::new(ProcessEnv))
    }

    /// A store over the given environment.
    pub fn new(env: Arc<dyn Environment>) -> Self {
        FileStore {
            env,
            max_size: DEFAULT_MAX_SIZE,
        }
    }

    /// Sets the largest file that is read, in bytes.
    pub fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// The path a reference names.
    pub fn path_of(&self, reference: &Reference) -> Result<PathBuf> {
        let locator = reference.locator();
        if let Some(rest) = locator.strip_prefix(CREDENTIALS_DIRECTORY_PREFIX) {
            let dir = self.env.var_os("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                Error::unconfigured("$CREDENTIALS_DIRECTORY is not set (not running under systemd with credentials)")
            })?;
            return Ok(Path::new(&dir).join(rest));
        }
        crate::resolve_path(&*self.env, Path::new(locator))
    }
}

impl Default for FileStore {
    fn default() -> Self {
        FileStore::from_env()
    }
}

/// Maps an I/O error on a secret file to a creds error.
pub(crate) fn io_error(err: std::io::Error, path: &Path) -> Error {
    let (kind, what) = match err.kind() {
        IoKind::NotFound => (ErrorKind::NotFound, "does not exist"),
        IoKind::PermissionDenied => (
            ErrorKind::PermissionDenied,
            "cannot be read (permission denied)",
        ),
        _ => (ErrorKind::Unavailable, "cannot be read"),
    };
    Error::new(kind, format!("file `{}` {what}", path.display()))
        .set_temporary(false)
        .with_source(err)
}

/// Reads a whole file into zeroizing memory, refusing directories and files over `max_size`.
pub(crate) async fn read_secret_file(
    path: &Path,
    max_size: u64,
    warn_mask: u32,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_error(e, path))?;
    if meta.is_dir() {
        return Err(Error::invalid_reference(format!(
            "`{}` is a directory, not a file",
            path.display()
        )));
    }
    if meta.len() > max_size {
        return Err(Error::new(
            ErrorKind::Decode,
            format!(
                "file `{}` is {} bytes, over the limit of {max_size} bytes",
                path.display(),
                meta.len()
            ),
        ));
    }
    crate::perms::warn_if_readable(path, &meta, warn_mask, what);
    let bytes = tokio::fs::read(path).await.map_err(|e| io_error(e, path))?;
    Ok(Zeroizing::new(bytes))
}

#[async_trait]
impl Store for FileStore {
    fn scheme(&self) -> Scheme {
        Scheme::File
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let path = self.path_of(reference)?;
        let mut bytes = read_secret_file(&path, self.max_size, 0o077, "secret file").await?;
        if !reference.bool_option("raw", false) && bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        let value = std::mem::take(&mut *bytes);
        Ok(Secret::new(value, Metadata::from_source("file")))
    }
}
