//! Secret references: `SCHEME://LOCATOR[?OPTIONS][#SELECTOR]` (spec §1).
//!
//! All nine schemes parse whether or not their backend is compiled in, so a configuration can be
//! checked anywhere. Options are validated per scheme: an option a scheme does not know is an error
//! that names it. [`Reference`]'s `Display` gives back a string that parses to the same reference.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::error::{Error, Result};

/// The scheme of a reference: which kind of store serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scheme {
    /// `env://NAME`: a variable of the process environment.
    Env,
    /// `dotenv://NAME?path=FILE`: a variable of a `.env` file (never loaded into the environment).
    Dotenv,
    /// `file:///abs/path` or `file://relative/path`: a mounted secret file.
    File,
    /// `keyring://SERVICE/USER`: the OS keyring (Secret Service or Linux keyutils).
    Keyring,
    /// `aws-sm://NAME_OR_ARN`: AWS Secrets Manager.
    AwsSm,
    /// `aws-ssm://NAME`: AWS Systems Manager Parameter Store.
    AwsSsm,
    /// `vault://MOUNT/PATH`: HashiCorp Vault or OpenBao KV.
    Vault,
    /// `azure-kv://VAULT/NAME[/VERSION]`: Azure Key Vault secrets.
    AzureKv,
    /// `gcp-sm://PROJECT/SECRET[/VERSION]`: Google Cloud Secret Manager.
    GcpSm,
}

/// How an option's value is checked.
#[derive(Clone, Copy)]
enum OptionKind {
    Text,
    Bool,
    Unsigned,
    KvVersion,
}

impl Scheme {
    /// Every scheme, in the order of the spec's table.
    pub const ALL: [Scheme; 9] = [
        Scheme::Env,
        Scheme::Dotenv,
        Scheme::File,
        Scheme::Keyring,
        Scheme::AwsSm,
        Scheme::AwsSsm,
        Scheme::Vault,
        Scheme::AzureKv,
        Scheme::GcpSm,
    ];

    /// The scheme as written in references (`aws-sm`, `env`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Env => "env",
            Scheme::Dotenv => "dotenv",
            Scheme::File => "file",
            Scheme::Keyring => "keyring",
            Scheme::AwsSm => "aws-sm",
            Scheme::AwsSsm => "aws-ssm",
            Scheme::Vault => "vault",
            Scheme::AzureKv => "azure-kv",
            Scheme::GcpSm => "gcp-sm",
        }
    }

    /// The Cargo feature of the `creds` crate that compiles this scheme's backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Scheme::Env | Scheme::Dotenv | Scheme::File => "local",
            Scheme::Keyring => "keyring",
            Scheme::AwsSm | Scheme::AwsSsm => "aws",
            Scheme::Vault => "vault",
            Scheme::AzureKv => "azure",
            Scheme::GcpSm => "gcp",
        }
    }

    /// The backend crate that serves this scheme.
    pub fn backend_crate(self) -> &'static str {
        match self {
            Scheme::Env | Scheme::Dotenv | Scheme::File | Scheme::Keyring => "creds-local",
            Scheme::AwsSm | Scheme::AwsSsm => "creds-aws",
            Scheme::Vault => "creds-vault",
            Scheme::AzureKv => "creds-azure",
            Scheme::GcpSm => "creds-gcp",
        }
    }

    /// Whether values of this scheme live on the local machine in plain form (environment,
    /// `.env` files, secret files). A `strict` policy refuses these.
    pub fn is_plain_local(self) -> bool {
        matches!(self, Scheme::Env | Scheme::Dotenv | Scheme::File)
    }

    fn options(self) -> &'static [(&'static str, OptionKind)] {
        use OptionKind::*;
        match self {
            Scheme::Env | Scheme::Keyring | Scheme::AzureKv => &[],
            Scheme::Dotenv => &[("path", Text)],
            Scheme::File => &[("raw", Bool)],
            Scheme::AwsSm => &[
                ("version-id", Text),
                ("version-stage", Text),
                ("region", Text),
            ],
            Scheme::AwsSsm => &[
                ("decrypt", Bool),
                ("version", Unsigned),
                ("label", Text),
                ("region", Text),
            ],
            Scheme::Vault => &[("version", Unsigned), ("mount", Text), ("kv", KvVersion)],
            Scheme::GcpSm => &[("location", Text)],
        }
    }

    /// The option names this scheme accepts.
    pub fn option_names(self) -> impl Iterator<Item = &'static str> {
        self.options().iter().map(|(name, _)| *name)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let known: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
                Error::invalid_reference(format!(
                    "unknown scheme `{s}` (known: {})",
                    known.join(", ")
                ))
            })
    }
}

/// Picks a field out of a JSON secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// `#name`: a member of a top-level JSON object.
    Key(String),
    /// `#/a/b/0`: an RFC 6901 JSON pointer.
    Pointer(String),
}

impl Selector {
    /// Parses a selector as written after `#` (already percent-decoded), given whether the raw
    /// text began with `/`.
    fn parse(raw: &str) -> Result<Selector> {
        if raw.is_empty() {
            return Err(Error::invalid_reference("empty selector after `#`"));
        }
        let pointer = raw.starts_with('/');
        let text = decode_component(raw, "selector")?;
        if pointer {
            validate_pointer(&text)?;
            Ok(Selector::Pointer(text))
        } else {
            Ok(Selector::Key(text))
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Pointer(p) => write!(f, "{}", utf8_percent_encode(p, SELECTOR)),
            Selector::Key(k) => {
                // A key that starts with `/` is written `%2F…` so it does not read as a pointer.
                if let Some(rest) = k.strip_prefix('/') {
                    write!(f, "%2F{}", utf8_percent_encode(rest, SELECTOR))
                } else {
                    write!(f, "{}", utf8_percent_encode(k, SELECTOR))
                }
            }
        }
    }
}

fn validate_pointer(pointer: &str) -> Result<()> {
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(Error::invalid_reference(format!(
                "invalid JSON pointer `{pointer}`: `~` must be followed by `0` or `1`"
            )));
        }
    }
    Ok(())
}

const LOCATOR: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'?').add(b'#');
const OPTION: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'&').add(b'=').add(b'#');
const SELECTOR: &AsciiSet = &CONTROLS.add(b' ').add(b'%');

/// Percent-decodes strictly: every `%` must start a two-digit hex escape and the result must be
/// UTF-8.
fn decode_component(raw: &str, what: &str) -> Result<String> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.len() >= i + 3
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(Error::invalid_reference(format!(
                    "bad percent-escape in {what} at byte {i}: `%` must be followed by two hex digits"
                )));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            Error::invalid_reference(format!("{what} is not UTF-8 after percent-decoding"))
        })
}

/// A parsed secret reference.
///
/// ```
/// use creds_core::{Reference, Scheme, Selector};
/// let r: Reference = "aws-sm://app/db?version-stage=AWSPREVIOUS#password".parse()?;
/// assert_eq!(r.scheme(), Scheme::AwsSm);
/// assert_eq!(r.locator(), "app/db");
/// assert_eq!(r.option("version-stage"), Some("AWSPREVIOUS"));
/// assert_eq!(r.selector(), Some(&Selector::Key("password".into())));
/// assert_eq!(r.to_string(), "aws-sm://app/db?version-stage=AWSPREVIOUS#password");
/// # Ok::<(), creds_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    scheme: Scheme,
    locator: String,
    options: Vec<(String, String)>,
    selector: Option<Selector>,
}

impl Reference {
    /// Parses a reference; equivalent to `s.parse()`.
    pub fn parse(s: &str) -> Result<Reference> {
        s.parse()
    }

    /// Builds a reference from its parts, validating the locator for the scheme.
    pub fn new(scheme: Scheme, locator: impl Into<String>) -> Result<Reference> {
        let r = Reference {
            scheme,
            locator: locator.into(),
            options: Vec::new(),
            selector: None,
        };
        r.validate_locator()?;
        Ok(r)
    }

    /// Adds an option, validated for the scheme.
    pub fn with_option(mut self, key: &str, value: impl Into<String>) -> Result<Reference> {
        let value = value.into();
        self.check_option(key, &value)?;
        if self.option(key).is_some() {
            return Err(self.invalid(format!("option `{key}` given twice")));
        }
        self.options.push((key.to_string(), value));
        self.check_option_combinations()?;
        Ok(self)
    }

    /// Sets (or clears) the selector.
    pub fn with_selector(mut self, selector: Option<Selector>) -> Reference {
        self.selector = selector;
        self
    }

    /// The same reference without its selector: what the store is asked for.
    pub fn without_selector(&self) -> Reference {
        Reference {
            selector: None,
            ..self.clone()
        }
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The locator, percent-decoded.
    pub fn locator(&self) -> &str {
        &self.locator
    }

    /// The value of an option, if given.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean option (`true`/`false`, `1`/`0`, `yes`/`no`); `default` when absent.
    pub fn bool_option(&self, key: &str, default: bool) -> bool {
        self.option(key).map(parse_bool).unwrap_or(Some(default)) == Some(true)
    }

    /// All options in the order given.
    pub fn options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The selector, if any.
    pub fn selector(&self) -> Option<&Selector> {
        self.selector.as_ref()
    }

    /// For `keyring://SERVICE/USER`: the service and the user (split at the first `/`).
    pub fn keyring_parts(&self) -> Option<(&str, &str)> {
        if self.scheme != Scheme::Keyring {
            return None;
        }
        self.locator.split_once('/')
    }

    fn invalid(&self, message: impl fmt::Display) -> Error {
        Error::invalid_reference(format!("{message}")).with_reference(self)
    }

    fn check_option(&self, key: &str, value: &str) -> Result<()> {
        let Some((_, kind)) = self.scheme.options().iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = self.scheme.option_names().collect();
            let known = if known.is_empty() {
                "it takes no options".to_string()
            } else {
                format!("known: {}", known.join(", "))
            };
            return Err(self.invalid(format_args!(
                "unknown option `{key}` for scheme {} ({known})",
                self.scheme
            )));
        };
        let ok = match kind {
            OptionKind::Text => !value.is_empty(),
            OptionKind::Bool => parse_bool(value).is_some(),
            OptionKind::Unsigned => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
            OptionKind::KvVersion => value == "1" || value == "2",
        };
        if !ok {
            let expected = match kind {
                OptionKind::Text => "a non-empty value",
                OptionKind::Bool => "true or false",
                OptionKind::Unsigned => "a whole number",
                OptionKind::KvVersion => "1 or 2",
            };
            return Err(self.invalid(format_args!(
                "option `{key}` must be {expected}, got `{value}`"
            )));
        }
        Ok(())
    }

    fn check_option_combinations(&self) -> Result<()> {
        if self.scheme == Scheme::AwsSsm
            && self.option("version").is_some()
            && self.option("label").is_some()
        {
            return Err(self.invalid("options `version` and `label` exclude each other"));
        }
        if self.scheme == Scheme::Vault
            && self.option("version").is_some()
            && self.option("kv") == Some("1")
        {
            return Err(self.invalid("option `version` needs a KV version 2 mount, not `kv=1`"));
        }
        Ok(())
    }

    fn validate_locator(&self) -> Result<()> {
        let loc = self.locator.as_str();
        if loc.is_empty() {
            return Err(self.invalid(format_args!(
                "empty locator: scheme {} needs {}",
                self.scheme,
                locator_shape(self.scheme)
            )));
        }
        if loc.contains('\0') {
            return Err(self.invalid("the locator contains a NUL character"));
        }
        let bad_shape = match self.scheme {
            Scheme::Env | Scheme::Dotenv => loc.contains('='),
            Scheme::Keyring => {
                !matches!(loc.split_once('/'), Some((s, u)) if !s.is_empty() && !u.is_empty())
            }
            Scheme::AzureKv => {
                let parts: Vec<&str> = loc.split('/').collect();
                !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty())
            }
            Scheme::GcpSm => !gcp_locator_ok(loc),
            Scheme::File | Scheme::AwsSm | Scheme::AwsSsm | Scheme::Vault => false,
        };
        if bad_shape {
            return Err(self.invalid(format_args!(
                "malformed locator `{loc}`: scheme {} needs {}",
                self.scheme,
                locator_shape(self.scheme)
            )));
        }
        Ok(())
    }
}

fn gcp_locator_ok(loc: &str) -> bool {
    let parts: Vec<&str> = loc.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    match parts.as_slice() {
        ["projects", _, "secrets", _] | ["projects", _, "secrets", _, "versions", _] => true,
        ["projects", _, "locations", _, "secrets", _]
        | ["projects", _, "locations", _, "secrets", _, "versions", _] => true,
        ["projects", ..] => false,
        [_, _] | [_, _, _] => true,
        _ => false,
    }
}

fn locator_shape(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Env | Scheme::Dotenv => "a variable name",
        Scheme::File => "a path",
        Scheme::Keyring => "SERVICE/USER",
        Scheme::AwsSm => "a secret name or ARN",
        Scheme::AwsSsm => "a parameter name",
        Scheme::Vault => "MOUNT/PATH",
        Scheme::AzureKv => "VAULT/NAME[/VERSION]",
        Scheme::GcpSm => "PROJECT/SECRET[/VERSION] or projects/P/secrets/S[/versions/V]",
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(input: &str) -> Result<Reference> {
        let fail = |msg: String| Error::invalid_reference(msg).with_reference(input);
        let Some((scheme, rest)) = input.split_once("://") else {
            return Err(no_scheme(input));
        };
        let scheme: Scheme = scheme
            .parse()
            .map_err(|e: Error| e.with_reference(mask_foreign_url(input)))?;
        let (before_selector, selector) = match rest.split_once('#') {
            Some((head, sel)) => (head, Some(sel)),
            None => (rest, None),
        };
        let (raw_locator, raw_options) = match before_selector.split_once('?') {
            Some((loc, opts)) => (loc, Some(opts)),
            None => (before_selector, None),
        };
        let locator =
            decode_component(raw_locator, "locator").map_err(|e| e.with_reference(input))?;
        let mut reference = Reference::new(scheme, locator).map_err(|e| e.with_reference(input))?;
        if let Some(raw_options) = raw_options {
            if raw_options.is_empty() {
                return Err(fail("empty option list after `?`".into()));
            }
            for pair in raw_options.split('&') {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(fail(format!(
                        "option `{pair}` is not of the form key=value"
                    )));
                };
                let k = decode_component(k, "option name").map_err(|e| e.with_reference(input))?;
                let v = decode_component(v, "option value").map_err(|e| e.with_reference(input))?;
                reference = reference
                    .with_option(&k, v)
                    .map_err(|e| e.with_reference(input))?;
            }
        }
        if let Some(selector) = selector {
            let selector = Selector::parse(selector).map_err(|e| e.with_reference(input))?;
            reference.selector = Some(selector);
        }
        Ok(reference)
    }
}

/// The error of a text without `://`. It is no reference, and a common mistake is to pass the
/// value itself where its reference belongs, so the text is named only when it starts with a
/// creds scheme and a colon (a typo) or is shaped like a variable name (upper case letters,
/// digits and `_`: the scheme was forgotten); anything else is masked, as for a foreign URL.
fn no_scheme(input: &str) -> Error {
    let variable = input.len() <= 128
        && input.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && input
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    // A creds scheme and a colon: a reference with a typo (`env:/X`), named as it is.
    let typo = input
        .split_once(':')
        .is_some_and(|(scheme, _)| scheme.parse::<Scheme>().is_ok());
    if typo {
        Error::invalid_reference("expected SCHEME://LOCATOR, e.g. env://API_KEY (no `://` found)")
            .with_reference(input)
    } else if variable {
        Error::invalid_reference(format!(
            "expected SCHEME://LOCATOR (no `://` found); for the environment variable, write \
             env://{input}"
        ))
        .with_reference(input)
    } else {
        Error::invalid_reference(
            "expected SCHEME://LOCATOR, e.g. env://API_KEY (no `://` found; the text is not shown, \
             as it may be a value given where its reference belongs)",
        )
        .with_reference("***")
    }
}

/// How a text with an unknown scheme is named in its error. It is no creds reference, so it may
/// be a URL that carries credentials (`postgres://app:password@db/app`, `https://host/?token=…`,
/// often a `.env` value given where a reference belongs): the user-info before `@`, the query and
/// the fragment are masked; scheme, host and path stay, so the error still says what was given.
fn mask_foreign_url(input: &str) -> String {
    let Some((scheme, rest)) = input.split_once("://") else {
        return input.to_string();
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let (head, tail) = rest.split_at(end);
    let authority_end = head.find('/').unwrap_or(head.len());
    let mut shown = format!("{scheme}://");
    match head[..authority_end].rfind('@') {
        Some(at) => {
            shown.push_str("***");
            shown.push_str(&head[at..]);
        }
        None => shown.push_str(head),
    }
    if let Some(mark) = tail.chars().next() {
        shown.push(mark);
        shown.push_str("***");
    }
    shown
}

impl TryFrom<&str> for Reference {
    type Error = Error;
    fn try_from(s: &str) -> Result<Reference> {
        s.parse()
    }
}

impl TryFrom<String> for Reference {
    type Error = Error;
    fn try_from(s: String) -> Result<Reference> {
        s.parse()
    }
}

impl TryFrom<&String> for Reference {
    type Error = Error;
    fn try_from(s: &String) -> Result<Reference> {
        s.parse()
    }
}

impl TryFrom<&Reference> for Reference {
    type Error = Error;
    fn try_from(r: &Reference) -> Result<Reference> {
        Ok(r.clone())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}",
            self.scheme,
            utf8_percent_encode(&self.locator, LOCATOR)
        )?;
        for (n, (k, v)) in self.options.iter().enumerate() {
            f.write_str(if n == 0 { "?" } else { "&" })?;
            write!(
                f,
                "{}={}",
                utf8_percent_encode(k, OPTION),
                utf8_percent_encode(v, OPTION)
            )?;
        }
        if let Some(sel) = &self.selector {
            write!(f, "#{sel}")?;
        }
        Ok(())
    }
}
