//! The process environment and working directory, injectable so tests never mutate them.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where stores read environment variables and the working directory from.
///
/// [`ProcessEnv`] reads the real process; [`StaticEnv`] is a fixed map for tests and embedding.
pub trait Environment: Send + Sync + fmt::Debug {
    /// The variable's value, if set.
    fn var_os(&self, key: &str) -> Option<OsString>;

    /// The working directory that relative paths are resolved against.
    fn current_dir(&self) -> io::Result<PathBuf>;

    /// The variable as UTF-8 text, if set and UTF-8.
    fn var(&self, key: &str) -> Option<String> {
        self.var_os(key).and_then(|v| v.into_string().ok())
    }

    /// The user's home directory (`$HOME`).
    fn home_dir(&self) -> Option<PathBuf> {
        self.var_os("HOME").map(PathBuf::from)
    }
}

/// The real process environment, read at each call.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var_os(&self, key: &str) -> Option<OsString> {
        std::env::var_os(key)
    }

    fn current_dir(&self) -> io::Result<PathBuf> {
        std::env::current_dir()
    }
}

/// A fixed environment: variables from a map and a given working directory.
///
/// ```
/// use creds_core::{Environment, StaticEnv};
/// let env = StaticEnv::new().with_var("API_KEY", "abc").with_current_dir("/srv/app");
/// assert_eq!(env.var("API_KEY").as_deref(), Some("abc"));
/// assert!(env.var("HOME").is_none());
/// ```
#[derive(Clone, Default)]
pub struct StaticEnv {
    vars: HashMap<String, OsString>,
    current_dir: Option<PathBuf>,
}

impl StaticEnv {
    /// An empty environment whose working directory is the process's.
    pub fn new() -> Self {
        StaticEnv::default()
    }

    /// Sets a variable.
    pub fn with_var(mut self, key: impl Into<String>, value: impl Into<OsString>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn with_current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }
}

impl<K: Into<String>, V: Into<OsString>> FromIterator<(K, V)> for StaticEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        StaticEnv {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            current_dir: None,
        }
    }
}

impl fmt::Debug for StaticEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Variable values may be secrets: only the names are shown.
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("StaticEnv")
            .field("vars", &names)
            .field("current_dir", &self.current_dir)
            .finish()
    }
}

impl Environment for StaticEnv {
    fn var_os(&self, key: &str) -> Option<OsString> {
        self.vars.get(key).cloned()
    }

    fn current_dir(&self) -> io::Result<PathBuf> {
        match &self.current_dir {
            Some(dir) => Ok(dir.clone()),
            None => std::env::current_dir(),
        }
    }
}
