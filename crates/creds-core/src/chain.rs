//! [`Chain`]: logical names resolved through an ordered list of reference templates (spec §2).

use std::fmt;
use std::time::Instant;

use heck::ToShoutySnakeCase;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::access::{self, Hop, Outcome};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::Reference;
use crate::resolver::Resolver;
use crate::secret::Secret;

/// Characters of a logical name that would change a reference's structure when substituted.
const NAME: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'%')
    .add(b'?')
    .add(b'#')
    .add(b'&')
    .add(b'=');

/// The logical name in upper snake case, as `{NAME}` gives it: `api_key`, `api-key` and `apiKey`
/// all give `API_KEY`.
pub fn upper_snake(name: &str) -> String {
    name.to_shouty_snake_case()
}

/// One reference template, e.g. `env://APP_{NAME}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
}

impl Template {
    /// Parses and checks a template: only `{name}` and `{NAME}` may appear, and the template must
    /// give a valid reference.
    pub fn new(text: impl Into<String>) -> Result<Template> {
        let template = Template { text: text.into() };
        let mut rest = template.text.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(template.invalid("unclosed `{`"));
            };
            let placeholder = &after[..close];
            if placeholder != "name" && placeholder != "NAME" {
                return Err(template.invalid(&format!(
                    "unknown placeholder `{{{placeholder}}}` (known: {{name}}, {{NAME}})"
                )));
            }
            rest = &after[close + 1..];
        }
        template
            .expand("example_name")
            .map_err(|e| template.invalid(e.message()))?;
        Ok(template)
    }

    fn invalid(&self, message: &str) -> Error {
        Error::invalid_reference(format!("chain template `{}`: {message}", self.text))
    }

    /// The template's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The reference for a logical name.
    pub fn expand(&self, name: &str) -> Result<Reference> {
        let plain = utf8_percent_encode(name, NAME).to_string();
        let upper = utf8_percent_encode(&upper_snake(name), NAME).to_string();
        self.text
            .replace("{name}", &plain)
            .replace("{NAME}", &upper)
            .parse()
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An ordered fallback chain of reference templates.
///
/// The next template is tried when the current one reports not found, no configuration for its
/// backend, or an unreachable backend ([`ErrorKind::falls_through`]); any other error stops the
/// chain. Every hop is recorded in the secret's metadata (or the error) and in the access event.
///
/// When every template falls through, the error is `unavailable` (temporary) if any backend was
/// unreachable — the value may exist there — else `not found` if any store answered, else
/// `unconfigured`.
#[derive(Debug, Clone)]
pub struct Chain {
    resolver: Resolver,
    templates: Vec<Template>,
}

impl Chain {
    /// A chain over `resolver` with the given templates (at least one).
    pub fn new<I, T>(resolver: Resolver, templates: I) -> Result<Chain>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let templates = templates
            .into_iter()
            .map(|t| Template::new(t.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        if templates.is_empty() {
            return Err(Error::config("a chain needs at least one template"));
        }
        Ok(Chain {
            resolver,
            templates,
        })
    }

    /// The templates in order.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// The resolver the chain reads through.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Resolves a logical name.
    pub async fn get(&self, name: &str) -> Result<Secret> {
        self.resolve(name, false).await
    }

    /// Resolves a logical name asking each store again (bypassing fresh cached values).
    pub async fn refresh_now(&self, name: &str) -> Result<Secret> {
        self.resolve(name, true).await
    }

    /// Watches a logical name: the receiver changes whenever a refresh (every `interval`; by
    /// default the cache TTL, else one minute) finds a new version or new bytes, from whichever
    /// template answers. The task ends when every receiver is dropped.
    pub async fn watch(
        &self,
        name: &str,
        interval: Option<std::time::Duration>,
    ) -> Result<tokio::sync::watch::Receiver<Secret>> {
        let first = self.get(name).await?;
        let interval = interval.unwrap_or_else(|| self.resolver.default_watch_interval());
        let this = self.clone();
        let name = name.to_string();
        Ok(crate::resolver::spawn_watch(first, interval, move || {
            let this = this.clone();
            let name = name.clone();
            async move { this.refresh_now(&name).await }
        }))
    }

    async fn resolve(&self, name: &str, fresh: bool) -> Result<Secret> {
        let started = Instant::now();
        let result = self.get_inner(name, fresh).await;
        match &result {
            Ok(secret) => access::record_chain(
                name,
                &secret.metadata().hops,
                Outcome::Ok,
                started.elapsed(),
            ),
            Err(e) => {
                access::record_chain(name, e.hops(), Outcome::Failed(e.kind()), started.elapsed())
            }
        }
        result
    }

    async fn get_inner(&self, name: &str, fresh: bool) -> Result<Secret> {
        if name.is_empty() {
            return Err(Error::invalid_reference("empty logical name"));
        }
        let mut hops = Vec::with_capacity(self.templates.len());
        for template in &self.templates {
            let reference = template
                .expand(name)
                .map_err(|e| e.with_hops(hops.clone()))?;
            let key = reference.to_string();
            let answer = if fresh {
                self.resolver.refresh_now(key.as_str()).await
            } else {
                self.resolver.get(key.as_str()).await
            };
            match answer {
                Ok(secret) => {
                    hops.push(Hop {
                        reference: reference.to_string(),
                        source: secret
                            .source()
                            .unwrap_or(reference.scheme().as_str())
                            .to_string(),
                        outcome: Outcome::Ok,
                    });
                    return Ok(secret.map_metadata(|m| m.hops = hops));
                }
                Err(err) => {
                    hops.push(Hop {
                        reference: reference.to_string(),
                        source: err
                            .source_name()
                            .unwrap_or(reference.scheme().as_str())
                            .to_string(),
                        outcome: Outcome::Failed(err.kind()),
                    });
                    if !err.kind().falls_through() {
                        return Err(err.with_hops(hops));
                    }
                }
            }
        }
        let failed = |k: &Hop| match k.outcome {
            Outcome::Failed(kind) => Some(kind),
            _ => None,
        };
        let kinds: Vec<ErrorKind> = hops.iter().filter_map(failed).collect();
        let kind = if let Some(k) = kinds.iter().find(|k| k.is_temporary_by_default()) {
            *k
        } else if kinds.contains(&ErrorKind::NotFound) {
            ErrorKind::NotFound
        } else {
            ErrorKind::Unconfigured
        };
        Err(Error::new(kind, format!("no source of the chain has `{name}`")).with_hops(hops))
    }
}
