//! Selectors applied in core, the resolver's dispatch and policy, the chain's fall-through rules,
//! access events, and redaction of every Secret and error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use creds_core::{
    Chain, Error, ErrorKind, Metadata, Outcome, Policy, Reference, Resolver, Result, Scheme,
    Secret, Store, StoreExt, async_trait,
};
use creds_test_support::rt_local as rt;

const CANARY: &str = "canary-7f3a9c-value";

/// A store serving fixed answers by locator: a value, or an error of a given kind.
#[derive(Debug, Default)]
struct Scripted {
    scheme: Option<Scheme>,
    values: HashMap<String, Vec<u8>>,
    errors: HashMap<String, ErrorKind>,
    calls: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(scheme: Scheme) -> Self {
        Scripted {
            scheme: Some(scheme),
            ..Default::default()
        }
    }
    fn value(mut self, locator: &str, value: impl Into<Vec<u8>>) -> Self {
        self.values.insert(locator.into(), value.into());
        self
    }
    fn error(mut self, locator: &str, kind: ErrorKind) -> Self {
        self.errors.insert(locator.into(), kind);
        self
    }
}

#[async_trait]
impl Store for Scripted {
    fn scheme(&self) -> Scheme {
        self.scheme.unwrap()
    }
    async fn get(&self, reference: &Reference) -> Result<Secret> {
        self.calls.lock().unwrap().push(reference.to_string());
        if let Some(kind) = self.errors.get(reference.locator()) {
            return Err(Error::new(*kind, "scripted failure"));
        }
        match self.values.get(reference.locator()) {
            Some(v) => Ok(Secret::new(
                v.clone(),
                Metadata::default().with_version("v1"),
            )),
            None => Err(Error::not_found("no such entry")),
        }
    }
}

fn json_resolver() -> Resolver {
    let doc = format!(
        r#"{{"user":"app","password":"{CANARY}","port":5432,"nested":{{"list":[1,"two",{{"k":null}}]}},"a/b":"slash","m~n":"tilde"}}"#
    );
    Resolver::builder()
        .with_store(
            Scripted::new(Scheme::Env)
                .value("DOC", doc)
                .value("TEXT", CANARY)
                .value("BIN", vec![0xff, 0xfe, 0x00])
                .value("ARR", r#"["zero",{"one":1}]"#)
                .value("STR", r#""just a string""#),
        )
        .build()
}

#[test]
fn selectors_pick_fields() {
    rt().block_on(async {
        let r = json_resolver();
        let get = |s: &'static str| {
            let r = r.clone();
            async move { r.get(s).await }
        };
        assert_eq!(
            get("env://DOC#user").await.unwrap().expose_str().unwrap(),
            "app"
        );
        assert_eq!(
            get("env://DOC#port").await.unwrap().expose_str().unwrap(),
            "5432"
        );
        assert_eq!(
            get("env://DOC#nested").await.unwrap().expose_str().unwrap(),
            r#"{"list":[1,"two",{"k":null}]}"#
        );
        assert_eq!(
            get("env://DOC#/nested/list/1")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "two"
        );
        assert_eq!(
            get("env://DOC#/nested/list/0")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "1"
        );
        assert_eq!(
            get("env://DOC#/nested/list/2/k")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "null"
        );
        assert_eq!(
            get("env://DOC#/a~1b").await.unwrap().expose_str().unwrap(),
            "slash"
        );
        assert_eq!(
            get("env://DOC#/m~0n").await.unwrap().expose_str().unwrap(),
            "tilde"
        );
        assert_eq!(
            get("env://DOC#a/b").await.unwrap().expose_str().unwrap(),
            "slash"
        );
        assert_eq!(
            get("env://ARR#/1/one").await.unwrap().expose_str().unwrap(),
            "1"
        );
        assert_eq!(
            get("env://ARR#/0").await.unwrap().expose_str().unwrap(),
            "zero"
        );
        // The metadata survives the selection.
        let s = get("env://DOC#user").await.unwrap();
        assert_eq!(s.version(), Some("v1"));
        assert_eq!(s.reference().unwrap().to_string(), "env://DOC#user");
    });
}

#[test]
fn selector_errors_name_reference_and_field_never_value() {
    rt().block_on(async {
        let r = json_resolver();
        for (reference, kind, needle) in [
            ("env://DOC#missing", ErrorKind::NotFound, "`missing`"),
            (
                "env://DOC#/nested/list/9",
                ErrorKind::NotFound,
                "/nested/list/9",
            ),
            (
                "env://DOC#/nope/deeper",
                ErrorKind::NotFound,
                "/nope/deeper",
            ),
            ("env://ARR#key", ErrorKind::NotFound, "`key`"),
            ("env://STR#key", ErrorKind::NotFound, "`key`"),
            (
                "env://TEXT#password",
                ErrorKind::Decode,
                "needs a JSON value",
            ),
            ("env://BIN#k", ErrorKind::Decode, "needs a JSON value"),
        ] {
            let e = r.get(reference).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{reference}: {e}");
            let text = e.to_string();
            assert!(text.contains(needle), "{reference}: {text}");
            assert!(
                text.contains(reference.split('#').next().unwrap()),
                "{text}"
            );
            assert!(!text.contains(CANARY) && !format!("{e:?}").contains(CANARY));
            assert_eq!(e.source_name(), Some("env"));
        }
    });
}

#[test]
fn text_and_json_access() {
    rt().block_on(async {
        let r = json_resolver();
        let bin = r.get("env://BIN").await.unwrap();
        assert_eq!(bin.expose_secret(), &[0xff, 0xfe, 0x00]);
        let e = bin.expose_str().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert_eq!(e.reference(), Some("env://BIN"));

        #[derive(serde::Deserialize)]
        struct Db {
            user: String,
            port: u16,
        }
        let db: Db = r.get("env://DOC").await.unwrap().json().unwrap();
        assert_eq!((db.user.as_str(), db.port), ("app", 5432));
        // A type mismatch on the secret field must not quote it.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Wrong {
            password: u32,
        }
        let e = r
            .get("env://DOC")
            .await
            .unwrap()
            .json::<Wrong>()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(!e.to_string().contains(CANARY), "{e}");
        assert!(!format!("{e:?}").contains(CANARY));
    });
}

#[test]
fn missing_backend_names_the_feature_and_policy_refuses_local() {
    rt().block_on(async {
        let r = Resolver::builder().build();
        for (reference, feature) in [
            ("aws-sm://x", "`aws`"),
            ("aws-ssm://x", "`aws`"),
            ("vault://secret/x", "`vault`"),
            ("azure-kv://v/n", "`azure`"),
            ("gcp-sm://p/s", "`gcp`"),
            ("keyring://s/u", "`keyring`"),
            ("env://X", "`local`"),
        ] {
            let e = r.get(reference).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unconfigured, "{reference}");
            assert!(e.to_string().contains(feature), "{e}");
            assert_eq!(e.reference(), Some(reference));
        }
        let strict = Resolver::builder()
            .with_store(Scripted::new(Scheme::Env).value("X", "1"))
            .with_policy(Policy::Strict)
            .build();
        let e = strict.get("env://X").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Policy);
        assert!(e.to_string().contains("strict"));
    });
}

#[test]
fn writes_default_to_unsupported() {
    rt().block_on(async {
        let r = json_resolver();
        let e = r.set("env://X", b"v").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(e.reference(), Some("env://X"));
        let e = r.delete("env://X").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    });
}

#[test]
fn store_ext_fetch_checks_scheme_and_applies_selector() {
    rt().block_on(async {
        let s = Scripted::new(Scheme::Env).value("J", r#"{"a":"b"}"#);
        assert_eq!(
            s.fetch("env://J#a").await.unwrap().expose_str().unwrap(),
            "b"
        );
        let e = s.fetch("dotenv://J").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidReference);
        let text = s.fetch_string("env://J").await.unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&text), r#"{"a":"b"}"#);
    });
}

/// A chain of three templates whose first two answer with `kind`.
fn chain_for(kind: ErrorKind) -> (Chain, Arc<Scripted>) {
    let env = Arc::new(Scripted::new(Scheme::Env).error("FIRST_API_KEY", kind));
    let dotenv = Arc::new(Scripted::new(Scheme::Dotenv).value("API_KEY", "found-last"));
    let resolver = Resolver::builder()
        .with_shared_store(env)
        .with_shared_store(dotenv.clone())
        .build();
    let chain = Chain::new(
        resolver,
        [
            "aws-sm://app/{name}",
            "env://FIRST_{NAME}",
            "dotenv://{NAME}",
        ],
    )
    .unwrap();
    (chain, dotenv)
}

#[test]
fn chain_falls_through_exactly_on_the_spec_kinds() {
    rt().block_on(async {
        use ErrorKind::*;
        for kind in [NotFound, Unconfigured, Unavailable, Timeout, RateLimited] {
            let (chain, last) = chain_for(kind);
            let s = chain
                .get("api_key")
                .await
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(s.expose_str().unwrap(), "found-last");
            assert_eq!(s.source(), Some("dotenv"));
            let hops = &s.metadata().hops;
            assert_eq!(hops.len(), 3);
            assert_eq!(hops[0].reference, "aws-sm://app/api_key");
            assert_eq!(hops[0].outcome, Outcome::Failed(Unconfigured));
            assert_eq!(hops[1].reference, "env://FIRST_API_KEY");
            assert_eq!(hops[1].outcome, Outcome::Failed(kind));
            assert_eq!(hops[2].outcome, Outcome::Ok);
            assert_eq!(last.calls.lock().unwrap().len(), 1);
        }
        for kind in [
            PermissionDenied,
            Unauthenticated,
            InvalidReference,
            Decode,
            Integrity,
            Config,
            Policy,
            Unsupported,
            Other,
        ] {
            let (chain, last) = chain_for(kind);
            let e = chain.get("api_key").await.unwrap_err();
            assert_eq!(e.kind(), kind);
            assert_eq!(e.hops().len(), 2, "{kind}: stops at the second template");
            assert_eq!(e.hops()[1].outcome, Outcome::Failed(kind));
            assert!(
                last.calls.lock().unwrap().is_empty(),
                "{kind}: the third template is never tried"
            );
        }
    });
}

#[test]
fn chain_final_error_kind() {
    rt().block_on(async {
        let resolver = |kind: ErrorKind| {
            Resolver::builder()
                .with_store(Scripted::new(Scheme::Env).error("A", kind))
                .with_store(Scripted::new(Scheme::Dotenv))
                .build()
        };
        // A backend that was unreachable may hold the value: unavailable, temporary.
        let chain =
            Chain::new(resolver(ErrorKind::Timeout), ["env://A", "dotenv://{name}"]).unwrap();
        let e = chain.get("x").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.is_temporary());
        assert_eq!(e.hops().len(), 2);
        assert!(e.to_string().contains("env://A -> timeout"), "{e}");
        // Otherwise not found if any store answered.
        let chain = Chain::new(
            resolver(ErrorKind::NotFound),
            ["aws-sm://{name}", "env://A", "dotenv://{name}"],
        )
        .unwrap();
        assert_eq!(
            chain.get("x").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // Nothing configured at all: unconfigured.
        let chain = Chain::new(
            resolver(ErrorKind::NotFound),
            ["aws-sm://{name}", "vault://secret/{name}"],
        )
        .unwrap();
        assert_eq!(
            chain.get("x").await.unwrap_err().kind(),
            ErrorKind::Unconfigured
        );
    });
}

#[test]
fn chain_templates_are_checked_and_names_substituted() {
    let r = Resolver::builder().build();
    assert!(Chain::new(r.clone(), Vec::<String>::new()).is_err());
    for bad in [
        "env://{nmae}",
        "env://{name",
        "nope://{name}",
        "env://X?bogus={name}",
        "env://",
    ] {
        let e = Chain::new(r.clone(), [bad]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidReference, "{bad}");
    }
    let chain = Chain::new(
        r,
        [
            "vault://secret/app#{name}",
            "env://APP_{NAME}",
            "keyring://my_application/{name}",
        ],
    )
    .unwrap();
    let t = chain.templates();
    assert_eq!(
        t[0].expand("db_password").unwrap().to_string(),
        "vault://secret/app#db_password"
    );
    for (name, upper) in [
        ("api_key", "API_KEY"),
        ("api-key", "API_KEY"),
        ("apiKey", "API_KEY"),
        ("db.password", "DB_PASSWORD"),
        ("key2", "KEY2"),
    ] {
        assert_eq!(t[1].expand(name).unwrap().locator(), format!("APP_{upper}"));
    }
    // Characters that would change the reference's structure are escaped, not interpreted.
    let r = t[2].expand("odd?name#x").unwrap();
    assert_eq!(r.keyring_parts(), Some(("my_application", "odd?name#x")));
    assert!(r.selector().is_none());
}

/// Captures the fields of every event, per thread, through one global subscriber (a per-test
/// default subscriber races with other tests over callsite interest).
mod capture {
    use std::sync::{Mutex, OnceLock};
    use std::thread::ThreadId;
    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, Layer};
    use tracing_subscriber::prelude::*;

    type Event = Vec<(String, String)>;
    static EVENTS: Mutex<Vec<(ThreadId, Event)>> = Mutex::new(Vec::new());

    struct Capture;
    struct Fields(Event);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0
                .push((field.name().to_string(), format!("{value:?}")));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().to_string(), value.to_string()));
        }
    }
    impl<S: tracing::Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            let mut f = Fields(vec![("target".into(), event.metadata().target().into())]);
            event.record(&mut f);
            EVENTS
                .lock()
                .unwrap()
                .push((std::thread::current().id(), f.0));
        }
    }

    pub(crate) fn install() {
        static ONCE: OnceLock<()> = OnceLock::new();
        ONCE.get_or_init(|| {
            tracing_subscriber::registry().with(Capture).init();
        });
    }

    /// The events this thread emitted so far.
    pub(crate) fn mine() -> Vec<Event> {
        let me = std::thread::current().id();
        EVENTS
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t == me)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

#[test]
fn access_events_record_reference_source_outcome_and_hops_never_value() {
    capture::install();
    rt().block_on(async {
        let r = json_resolver();
        r.get("env://DOC#password").await.unwrap();
        r.get("env://NOPE").await.unwrap_err();
        let chain = Chain::new(r, ["aws-sm://{name}", "env://{NAME}"]).unwrap();
        chain.get("text").await.unwrap();
    });
    let events = capture::mine();
    let all = format!("{events:?}");
    assert!(!all.contains(CANARY), "an event carried the value: {all}");
    let field =
        |e: &Vec<(String, String)>, k: &str| e.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let access: Vec<_> = events
        .iter()
        .filter(|e| field(e, "target").as_deref() == Some("creds::access"))
        .collect();
    // 2 direct reads + 2 hops + 1 chain event.
    assert_eq!(access.len(), 5, "{all}");
    assert_eq!(field(access[0], "reference").unwrap(), "env://DOC#password");
    assert_eq!(field(access[0], "source").unwrap(), "env");
    assert_eq!(field(access[0], "outcome").unwrap(), "ok");
    assert!(field(access[0], "duration_us").is_some());
    assert_eq!(field(access[1], "outcome").unwrap(), "not_found");
    let chain_event = access[4];
    assert_eq!(field(chain_event, "name").unwrap(), "text");
    assert_eq!(field(chain_event, "source").unwrap(), "env");
    assert_eq!(
        field(chain_event, "hops").unwrap(),
        "aws-sm://text -> unconfigured, env://TEXT -> ok"
    );
}

#[test]
fn secrets_and_errors_never_format_their_value() {
    rt().block_on(async {
        let r = json_resolver();
        let mut shown = Vec::new();
        for reference in ["env://TEXT", "env://DOC", "env://DOC#password"] {
            let s = r.get(reference).await.unwrap();
            shown.push(format!("{s:?}"));
            shown.push(format!("{s:#?}"));
            shown.push(format!("{:?}", s.metadata()));
        }
        for reference in ["env://TEXT#k", "env://DOC#nope", "env://NOPE"] {
            let e = r.get(reference).await.unwrap_err();
            shown.push(format!("{e}"));
            shown.push(format!("{e:?}"));
        }
        let s = Secret::new(CANARY.as_bytes().to_vec(), Metadata::from_source("t"));
        shown.push(format!("{s:?}"));
        for text in shown {
            assert!(!text.contains(CANARY), "leaked: {text}");
        }
        let s = r.get("env://TEXT").await.unwrap();
        assert!(format!("{s:?}").contains("[REDACTED]"));
        assert_eq!(
            s.expose_str().unwrap(),
            CANARY,
            "the value itself is intact"
        );
    });
}

#[test]
fn cached_reads_emit_access_events_marked_cached() {
    capture::install();
    rt().block_on(async {
        let r = Resolver::builder()
            .with_store(Scripted::new(Scheme::Env).value("HOT", CANARY))
            .with_cache(creds_core::CacheConfig::default())
            .build();
        r.get("env://HOT").await.unwrap();
        r.get("env://HOT").await.unwrap();
    });
    let events = capture::mine();
    let access: Vec<_> = events
        .iter()
        .filter(|e| e.iter().any(|(k, v)| k == "target" && v == "creds::access"))
        .collect();
    assert_eq!(access.len(), 2, "{events:?}");
    let cached = |e: &Vec<(String, String)>| e.iter().any(|(k, v)| k == "cached" && v == "true");
    assert!(!cached(access[0]), "the first read went to the store");
    assert!(cached(access[1]), "the second came from the cache");
    assert!(access[1].iter().any(|(k, v)| k == "outcome" && v == "ok"));
    assert!(!format!("{events:?}").contains(CANARY));
}
