//! `dotenv://NAME?path=FILE`: a variable of a `.env` file, parsed by dotenvy into the store and
//! never into the process environment.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use creds_core::{
    Environment, Error, Metadata, Policy, ProcessEnv, Reference, Result, Scheme, Secret, Store,
};
use zeroize::Zeroizing;

/// The largest `.env` file read: 1 MiB.
const MAX_SIZE: u64 = 1024 * 1024;

/// Reads `dotenv://NAME` from a `.env` file: `?path=FILE`, else the store's default (`.env` in
/// the working directory). Relative paths are resolved against the [`Environment`]'s working
/// directory. The file is read at every call (wrap the resolver in a cache to avoid that).
///
/// The syntax is dotenvy's: `KEY=value`, quotes, `export KEY=value`, comments and `${VAR}`
/// substitution from earlier lines of the file. A missing file or a missing variable is not
/// found, so a chain goes on. A malformed file is a decode error that gives the position of the
/// problem, never the line's text (it may hold a value). A file other users may read is read
/// with a warning, and refused under [`Policy::Strict`] (see
/// [`with_policy`](DotenvStore::with_policy)).
#[derive(Debug, Clone)]
pub struct DotenvStore {
    env: Arc<dyn Environment>,
    default_path: PathBuf,
    policy: Policy,
}

impl DotenvStore {
    /// A store over the process's working directory and `.env`.
    pub fn from_env() -> Self {
        DotenvStore::new(Arc::new(ProcessEnv))
    }

    /// A store over the given environment.
    pub fn new(env: Arc<dyn Environment>) -> Self {
        DotenvStore {
            env,
            default_path: PathBuf::from(".env"),
            policy: Policy::Permissive,
        }
    }

    /// Sets the file rule: under [`Policy::Strict`] a `.env` file that other users may read is
    /// refused (kind [`Policy`](creds_core::ErrorKind::Policy)) instead of read with a warning.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the file read when a reference has no `path` option.
    pub fn with_default_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.default_path = path.into();
        self
    }

    /// The file a reference names.
    pub fn path_of(&self, reference: &Reference) -> Result<PathBuf> {
        let path = reference
            .option("path")
            .map(Path::new)
            .unwrap_or(&self.default_path);
        crate::resolve_path(&*self.env, path)
    }
}

impl Default for DotenvStore {
    fn default() -> Self {
        DotenvStore::from_env()
    }
}

/// The most bytes variable substitution may produce for one value. dotenvy expands `$VAR` and
/// `${VAR}` as it parses, so a few lines that each repeat the previous variable would otherwise
/// grow exponentially (found by fuzzing).
const MAX_EXPANDED: u64 = 1024 * 1024;

/// An upper bound of each value's length after substitution, computed before dotenvy parses:
/// refuses files whose expansion could pass [`MAX_EXPANDED`].
fn check_expansion(content: &[u8], path: &Path) -> Result<()> {
    let text = String::from_utf8_lossy(content);
    let mut sizes: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let mut size = value.len() as u64;
        let bytes = value.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' {
                let start = if bytes.get(i + 1) == Some(&b'{') {
                    i + 2
                } else {
                    i + 1
                };
                let end = bytes[start..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .map_or(bytes.len(), |p| start + p);
                let var = &value[start..end];
                let referenced = sizes
                    .get(var)
                    .copied()
                    .unwrap_or_else(|| std::env::var_os(var).map_or(0, |v| v.len() as u64));
                size = size.saturating_add(referenced);
                i = end.max(i + 1);
            } else {
                i += 1;
            }
        }
        if size > MAX_EXPANDED {
            return Err(Error::decode(format!(
                "cannot parse `{}`: variable substitution would expand `{}` beyond {MAX_EXPANDED} bytes",
                path.display(),
                key.trim()
            )));
        }
        sizes.insert(key.trim().to_string(), size);
    }
    Ok(())
}

/// Finds `name` in the text of a `.env` file. Every other value is zeroed as it is passed over.
pub fn lookup(content: &[u8], name: &str, path: &Path) -> Result<Option<Zeroizing<String>>> {
    check_expansion(content, path)?;
    let mut found = None;
    for (index, item) in dotenvy::from_read_iter(Cursor::new(content)).enumerate() {
        match item {
            Ok((key, value)) => {
                let value = Zeroizing::new(value);
                if key == name {
                    // A later definition wins, as in a shell.
                    found = Some(value);
                }
            }
            Err(err) => return Err(parse_error(&err, index, path)),
        }
    }
    Ok(found)
}

fn parse_error(err: &dotenvy::Error, index: usize, path: &Path) -> Error {
    // dotenvy's LineParse error carries the line's text, which may hold a value: only the
    // position is reported.
    let detail = match err {
        dotenvy::Error::LineParse(_, column) => {
            format!(
                "malformed entry {} (at character {column} of its line)",
                index + 1
            )
        }
        dotenvy::Error::Io(e) => format!("read error: {}", e.kind()),
        _ => format!("malformed entry {}", index + 1),
    };
    Error::decode(format!("cannot parse `{}`: {detail}", path.display()))
}

#[async_trait]
impl Store for DotenvStore {
    fn scheme(&self) -> Scheme {
        Scheme::Dotenv
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let path = self.path_of(reference)?;
        let content =
            crate::file::read_secret_file(&path, MAX_SIZE, 0o007, ".env file", self.policy).await?;
        let name = reference.locator();
        let mut value = lookup(&content, name, &path)?.ok_or_else(|| {
            Error::not_found(format!("`{}` defines no variable `{name}`", path.display()))
        })?;
        let value = std::mem::take(&mut *value).into_bytes();
        Ok(Secret::new(value, Metadata::from_source("dotenv")))
    }
}
