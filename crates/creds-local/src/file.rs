//! `file://PATH`: mounted secret files (`/run/secrets/NAME`, systemd credentials, Kubernetes
//! secret volumes).

use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use creds_core::{
    Environment, Error, ErrorKind, Metadata, Policy, ProcessEnv, Reference, Result, Scheme, Secret,
    Store,
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
/// keeps the file's bytes exactly. A file readable by its group or others is read with a warning
/// on the `creds::local` target, and refused under [`Policy::Strict`] (see
/// [`with_policy`](FileStore::with_policy)). Files larger than [`DEFAULT_MAX_SIZE`] are refused
/// (see [`with_max_size`](FileStore::with_max_size)).
#[derive(Debug, Clone)]
pub struct FileStore {
    env: Arc<dyn Environment>,
    max_size: u64,
    policy: Policy,
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
            policy: Policy::Permissive,
        }
    }

    /// Sets the file rule: under [`Policy::Strict`] a file readable by its group or others is
    /// refused (kind [`Policy`](ErrorKind::Policy)) instead of read with a warning. A resolver
    /// with the strict policy refuses `file://` references outright; this matters where a strict
    /// deployment still reads a backend's login credential from a file (Vault's AppRole secret id
    /// or JWT), which the Vault store does through a `FileStore` with its own policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
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

/// Reads a whole file into zeroizing memory, refusing directories, files over `max_size` and —
/// under [`Policy::Strict`] — files whose mode lets others (per `mask`) read them. The checks
/// are made on the opened file, so a file swapped between the check and the read is not read.
pub(crate) async fn read_secret_file(
    path: &Path,
    max_size: u64,
    mask: u32,
    what: &str,
    policy: Policy,
) -> Result<Zeroizing<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_error(e, path))?;
    let meta = file.metadata().await.map_err(|e| io_error(e, path))?;
    if meta.is_dir() {
        return Err(Error::invalid_reference(format!(
            "`{}` is a directory, not a file",
            path.display()
        )));
    }
    let too_big = |len: u64| {
        Error::new(
            ErrorKind::Decode,
            format!(
                "file `{}` is {len} bytes, over the limit of {max_size} bytes",
                path.display(),
            ),
        )
    };
    if meta.len() > max_size {
        return Err(too_big(meta.len()));
    }
    crate::perms::check_readable(path, &meta, mask, what, policy)?;
    // The length may change after the check (a growing file): read at most one byte more than
    // the limit, into a buffer that is zeroized on drop also when the read fails.
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.take(max_size + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| io_error(e, path))?;
    if bytes.len() as u64 > max_size {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

#[async_trait]
impl Store for FileStore {
    fn scheme(&self) -> Scheme {
        Scheme::File
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let path = self.path_of(reference)?;
        let mut bytes =
            read_secret_file(&path, self.max_size, 0o077, "secret file", self.policy).await?;
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
