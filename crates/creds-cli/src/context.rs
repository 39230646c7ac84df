//! What every verb needs: the configuration (if any), the profile, and a resolver built from them.

use std::path::Path;

use creds::config::{Config, Profile};
use creds::{Error, ErrorKind, Resolver, Secret};

/// The loaded configuration, profile and resolver.
pub(crate) struct Context {
    pub(crate) config: Option<Config>,
    pub(crate) profile: Option<Profile>,
    pub(crate) resolver: Resolver,
}

impl Context {
    pub(crate) fn new(config: Option<&Path>, profile: Option<&str>) -> Result<Context, Error> {
        let config = match Config::locate(config)? {
            Some(path) => Some(Config::load(&path)?),
            None => None,
        };
        let (profile, resolver) = match &config {
            Some(c) => {
                let p = c.profile(profile)?;
                let r = c.resolver(p.as_ref())?;
                (p, r)
            }
            None => {
                if let Some(p) = profile {
                    return Err(Error::config(format!(
                        "--profile {p} given, but there is no creds.toml (use --config or $CREDS_CONFIG)"
                    )));
                }
                (None, creds::builder().build())
            }
        };
        Ok(Context {
            config,
            profile,
            resolver,
        })
    }

    /// Resolves a reference, or a logical name through the configuration.
    pub(crate) async fn resolve(&self, arg: &str) -> Result<Secret, Error> {
        if arg.contains("://") {
            return self.resolver.get(arg).await;
        }
        match &self.config {
            Some(c) => c.resolve(&self.resolver, self.profile.as_ref(), arg).await,
            None => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "`{arg}` is a logical name, which needs a creds.toml declaring it or a profile chain; \
                     give a reference such as env://{arg} instead"
                ),
            )),
        }
    }

    /// The reference a write goes to: the argument, or a declared secret's reference.
    pub(crate) fn write_target(&self, arg: &str) -> Result<String, Error> {
        if arg.contains("://") {
            return Ok(arg.to_string());
        }
        self.config
            .as_ref()
            .and_then(|c| c.secret(arg))
            .and_then(|d| d.reference())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::config(format!(
                    "`{arg}` has no declared reference in creds.toml: give the reference to write to"
                ))
            })
    }
}
