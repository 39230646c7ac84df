//! The behaviour suite: the same expectations checked against every store that is up.
//!
//! Each backend provides a [`Fixture`]: a way to put a value where the backend keeps values (a
//! file, the environment, the store's own API) and a resolver that reads it. [`run_suite`] checks
//! what every store must do alike: exact values, binary values where the store keeps bytes,
//! not-found errors that name the reference, selectors, chains, redaction and concurrent reads.
//!
//! Service-backed fixtures are skipped when their service is not up, except under
//! `CREDS_TEST_SERVICES=1` (as in `cargo xtask ci`), where a missing service fails.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use creds::{Chain, Environment, ErrorKind, Resolver, async_trait};

pub use creds_test_support::{LogCapture, services_required, unique};

/// A backend under test.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// A name for messages.
    fn name(&self) -> &str;
    /// Puts `value` under a new key and returns the reference that reads it.
    async fn put(&self, key: &str, value: &[u8]) -> String;
    /// A reference to a key that does not exist.
    fn missing(&self, key: &str) -> String;
    /// A chain template that finds values put under `{name}`.
    fn template(&self) -> String;
    /// Whether the store keeps arbitrary bytes (not only text).
    fn binary(&self) -> bool {
        true
    }
    /// Whether the store keeps JSON objects only (Vault KV): text values are read through a
    /// selector, so a selector on top of them is not a decode error.
    fn maps_only(&self) -> bool {
        false
    }
    /// The resolver that reads this backend.
    fn resolver(&self) -> Resolver;
}

/// An environment whose variables tests can add while stores read it.
#[derive(Debug, Default, Clone)]
pub struct SharedEnv {
    vars: Arc<RwLock<HashMap<String, OsString>>>,
    cwd: Option<PathBuf>,
}

impl SharedEnv {
    /// An empty environment with the given working directory.
    pub fn new(cwd: Option<PathBuf>) -> Self {
        SharedEnv {
            vars: Default::default(),
            cwd,
        }
    }

    /// Sets a variable.
    pub fn set(&self, key: &str, value: OsString) {
        self.vars.write().unwrap().insert(key.to_string(), value);
    }
}

impl Environment for SharedEnv {
    fn var_os(&self, key: &str) -> Option<OsString> {
        self.vars.read().unwrap().get(key).cloned()
    }
    fn current_dir(&self) -> std::io::Result<PathBuf> {
        match &self.cwd {
            Some(d) => Ok(d.clone()),
            None => std::env::current_dir(),
        }
    }
}

const CANARY: &str = "canary-behaviour-5d1e";

/// Runs every shared expectation against a fixture.
pub async fn run_suite(f: &dyn Fixture) {
    let name = f.name().to_string();
    let resolver = f.resolver();

    // Exact text.
    let key = unique("text");
    let value = format!("{CANARY} with spaces, ünïcode and = signs");
    let r = f.put(&key, value.as_bytes()).await;
    let s = resolver
        .get(r.as_str())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(s.expose_str().unwrap(), value, "{name}: exact text");
    assert!(s.source().is_some(), "{name}: source recorded");
    assert_eq!(
        s.reference().map(|r| r.to_string()),
        Some(r.clone()),
        "{name}"
    );

    // Redaction.
    let shown = format!("{s:?} {s:#?} {:?}", s.metadata());
    assert!(
        !shown.contains(CANARY),
        "{name}: Debug leaked the value: {shown}"
    );

    // Binary.
    if f.binary() {
        let key = unique("bin");
        let bytes = [0u8, 0xff, 0xfe, 1, 2, 3, b'x'];
        let r = f.put(&key, &bytes).await;
        let s = resolver
            .get(r.as_str())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.expose_secret(), &bytes, "{name}: binary");
        let e = s.expose_str().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{name}");
    }

    // Not found names the reference and the source.
    let missing = f.missing(&unique("missing"));
    let e = resolver.get(missing.as_str()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{name}: {e}");
    assert_eq!(e.reference(), Some(missing.as_str()), "{name}");
    assert!(e.source_name().is_some(), "{name}");
    assert!(e.to_string().contains(&missing), "{name}: {e}");

    // Selectors on a JSON value.
    let key = unique("json");
    let doc =
        format!(r#"{{"user":"app","password":"{CANARY}","port":5432,"list":["a",{{"b":true}}]}}"#);
    let r = f.put(&key, doc.as_bytes()).await;
    let pick = |sel: &str| format!("{r}#{sel}");
    let get = |reference: String| {
        let resolver = resolver.clone();
        async move { resolver.get(reference.as_str()).await }
    };
    assert_eq!(
        get(pick("user")).await.unwrap().expose_str().unwrap(),
        "app",
        "{name}"
    );
    assert_eq!(
        get(pick("port")).await.unwrap().expose_str().unwrap(),
        "5432",
        "{name}"
    );
    assert_eq!(
        get(pick("/list/1/b")).await.unwrap().expose_str().unwrap(),
        "true",
        "{name}"
    );
    assert_eq!(
        get(pick("/list/0")).await.unwrap().expose_str().unwrap(),
        "a",
        "{name}"
    );
    let e = get(pick("nope")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{name}: {e}");
    assert!(!format!("{e} {e:?}").contains(CANARY), "{name}");
    if !f.maps_only() {
        let text_ref = f.put(&unique("plain"), CANARY.as_bytes()).await;
        let e = get(format!("{text_ref}#user")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{name}: {e}");
        assert!(!format!("{e} {e:?}").contains(CANARY), "{name}");
    }

    // A chain: this backend first, falling through on a missing name to a second template.
    let key = unique("chain");
    f.put(&key, b"from-the-backend").await;
    let chain = Chain::new(
        resolver.clone(),
        [f.template(), "env://CREDS_NEVER_SET_{NAME}".into()],
    )
    .unwrap();
    let s = chain
        .get(&key)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(s.expose_str().unwrap(), "from-the-backend", "{name}");
    assert_eq!(s.metadata().hops.len(), 1, "{name}");
    let e = chain.get(&unique("absent")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{name}: {e}");
    assert_eq!(e.hops().len(), 2, "{name}");

    // Concurrent reads agree.
    let key = unique("conc");
    let r = f.put(&key, b"same-for-all").await;
    let reads = (0..16).map(|_| get(r.clone()));
    for s in futures_join(reads).await {
        assert_eq!(s.unwrap().expose_str().unwrap(), "same-for-all", "{name}");
    }
}

async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
