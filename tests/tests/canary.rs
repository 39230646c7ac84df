//! The canary test: one unique value stored in every backend that runs here, every public
//! operation and error path exercised with tracing at TRACE captured, every secret, error, store,
//! builder and config formatted with `{}` and `{:?}`, a panic in a user's callback — and the value
//! appears nowhere but where a caller asked for it.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use creds::local::{DotenvStore, EnvStore, FileStore, KeyringBackend, KeyringStore};
use creds::{CacheConfig, Chain, StaticEnv, Store};
use creds_tests::{services_required, unique};

/// Every byte any tracing subscriber would have written, from every thread.
fn captured() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| Mutex::new(Vec::new()))
}

#[derive(Clone)]
struct Sink;
impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        captured().lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_trace() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Sink)
            .init();
    });
}

#[test]
fn the_canary_appears_nowhere() {
    install_trace();
    let canary = format!("CANARY-{}-d41d8cd9", unique("c"));
    let mut shown: Vec<String> = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("APP_TOKEN={canary}\nJSON='{{\"k\":\"{canary}\"}}'\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("secret"), format!("{canary}\n")).unwrap();
    std::fs::write(
        dir.path().join("bad.env"),
        format!("GOOD=1\nthis is not {canary} valid\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notjson"), &canary).unwrap();
    let mut static_env = StaticEnv::new()
        .with_var("APP_ENV_TOKEN", &canary)
        .with_var(
            "JSON_ENV",
            format!(r#"{{"user":"u","password":"{canary}"}}"#),
        )
        .with_current_dir(dir.path());
    // The Vault store reads its address and token from the same (injected) environment.
    for key in ["VAULT_ADDR", "VAULT_TOKEN"] {
        if let Some(v) = std::env::var_os(key) {
            static_env = static_env.with_var(key, v);
        }
    }
    let env = Arc::new(static_env);
    let rt = creds_test_support::rt();
    rt.block_on(async {
        let mut builder = creds::builder_with_env(env.clone()).with_cache(CacheConfig::default());
        builder = builder
            .with_store(EnvStore::new(env.clone()))
            .with_store(DotenvStore::new(env.clone()))
            .with_store(FileStore::new(env.clone()));
        let ks = KeyringStore::builder()
            .with_backend(KeyringBackend::SecretService)
            .build();
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            builder = builder.with_store(ks.clone());
        }
        let resolver = builder.build();
        shown.push(format!("{resolver:?}"));

        let mut reads = vec![
            "env://APP_ENV_TOKEN".to_string(),
            "env://JSON_ENV#password".into(),
            "env://JSON_ENV#/password".into(),
            "dotenv://APP_TOKEN".into(),
            "dotenv://JSON#k".into(),
            "file://secret".into(),
        ];
        // The servers of `cargo xtask ci`, when up: the same canary in each.
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            let r = format!("keyring://creds-canary/{}", unique("k"));
            ks.set(&r.parse().unwrap(), canary.as_bytes())
                .await
                .unwrap();
            shown.push(format!("{ks:?}"));
            reads.push(r);
        } else {
            assert!(!services_required());
        }
        if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
            let sm = format!("aws-sm://creds-canary/{}", unique("sm"));
            resolver
                .set(
                    sm.as_str(),
                    format!(r#"{{"password":"{canary}"}}"#).as_bytes(),
                )
                .await
                .unwrap();
            reads.push(format!("{sm}#password"));
            let ssm = format!("aws-ssm:///creds-canary/{}", unique("ssm"));
            resolver.set(ssm.as_str(), canary.as_bytes()).await.unwrap();
            reads.push(ssm);
        }
        if std::env::var_os("VAULT_ADDR").is_some() {
            let v = format!("vault://secret/creds-canary/{}", unique("v"));
            resolver
                .set(format!("{v}#password"), canary.as_bytes())
                .await
                .unwrap();
            reads.push(format!("{v}#password"));
        }
        for r in &reads {
            for _ in 0..2 {
                // The second read comes from the cache.
                let s = resolver
                    .get(r.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{r}: {e}"));
                assert_eq!(s.expose_str().unwrap(), canary, "{r}");
                shown.push(format!("{s:?}"));
                shown.push(format!("{s:#?}"));
                shown.push(format!("{:?}", s.metadata()));
            }
            let fresh = resolver.refresh_now(r.as_str()).await.unwrap();
            shown.push(format!("{fresh:?}"));
        }
        // Through a chain, and a watch.
        let chain = Chain::new(
            resolver.clone(),
            ["aws-sm://creds-canary-none/{name}", "env://APP_ENV_{NAME}"],
        )
        .unwrap();
        let s = chain.get("token").await.unwrap();
        shown.push(format!("{s:?} {chain:?}"));
        let rx = resolver.watch("env://APP_ENV_TOKEN", None).await.unwrap();
        shown.push(format!("{:?}", *rx.borrow()));
        shown.push(format!("{:?}", chain.refresh_now("token").await.unwrap()));
        // A watch that sees a change: the file behind a chain is rewritten with a second canary.
        let file_chain = Chain::new(resolver.clone(), ["file://{name}"]).unwrap();
        let mut rx = file_chain
            .watch("secret", Some(std::time::Duration::from_millis(20)))
            .await
            .unwrap();
        std::fs::write(dir.path().join("secret"), format!("{canary}-2\n")).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), rx.changed())
            .await
            .expect("the watch saw the change")
            .unwrap();
        assert_eq!(rx.borrow().expose_str().unwrap(), format!("{canary}-2"));
        shown.push(format!("{:?}", *rx.borrow()));
        drop(rx);
        resolver.invalidate("env://APP_ENV_TOKEN");

        // Error paths: selectors on values that hold the canary, decoding, parsing, writing.
        let mut errors = Vec::new();
        // Deleting what was written: the read after it fails (not found) on each server.
        let servers = ["keyring://", "aws-sm://", "aws-ssm://", "vault://"];
        for r in reads
            .iter()
            .filter(|r| servers.iter().any(|p| r.starts_with(p)))
        {
            let bare = r.split('#').next().unwrap();
            resolver
                .delete(bare)
                .await
                .unwrap_or_else(|e| panic!("delete {bare}: {e}"));
            errors.push(resolver.refresh_now(r.as_str()).await.unwrap_err());
        }
        // A server that refuses the caller: Vault with a token it does not know.
        if let Some(addr) = std::env::var_os("VAULT_ADDR") {
            let denied = creds::vault::VaultStoreBuilder::from_env()
                .with_environment(Arc::new(
                    StaticEnv::new()
                        .with_var("VAULT_ADDR", addr)
                        .with_var("VAULT_TOKEN", &canary),
                ))
                .build()
                .unwrap();
            let e = creds::StoreExt::fetch(&denied, "vault://secret/creds-canary/x")
                .await
                .unwrap_err();
            assert_eq!(e.exit_code(), 4, "refused: {e}");
            errors.push(e);
        }
        for r in [
            "env://APP_ENV_TOKEN#field",
            "file://notjson#/a",
            "env://JSON_ENV#missing",
            "dotenv://GOOD?path=bad.env",
            "env://NOT_SET",
            "file://secret?raw=maybe",
        ] {
            errors.push(resolver.get(r).await.unwrap_err());
        }
        errors.push(
            resolver
                .set("env://APP_ENV_TOKEN", canary.as_bytes())
                .await
                .unwrap_err(),
        );
        errors.push(
            resolver
                .set("file://notjson#k", canary.as_bytes())
                .await
                .unwrap_err(),
        );
        // The file rule under strict, on a file others may read that holds the canary.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let open = dir.path().join("open");
            std::fs::write(&open, &canary).unwrap();
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
            let strict = FileStore::new(env.clone()).with_policy(creds::Policy::Strict);
            errors.push(
                creds::StoreExt::fetch(&strict, "file://open")
                    .await
                    .unwrap_err(),
            );
            let _ = creds::StoreExt::fetch(&FileStore::new(env.clone()), "file://open").await;
        }
        // Values over a store's size limit, made of the canary.
        let oversized = canary.repeat(70_000 / canary.len() + 1);
        let gcp = creds::gcp::GcpSmStoreBuilder::from_env()
            .with_endpoint("http://127.0.0.1:1")
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
            .build();
        errors.push(
            gcp.set(&"gcp-sm://p/s".parse().unwrap(), oversized.as_bytes())
                .await
                .unwrap_err(),
        );
        if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
            let sm = format!("aws-sm://creds-canary/{}", unique("big"));
            errors.push(
                resolver
                    .set(sm.as_str(), oversized.as_bytes())
                    .await
                    .unwrap_err(),
            );
        }
        let s = resolver.get("env://JSON_ENV").await.unwrap();
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Wrong {
            password: u64,
        }
        errors.push(s.json::<Wrong>().unwrap_err());
        errors.push(
            resolver
                .get("env://APP_ENV_TOKEN")
                .await
                .unwrap()
                .json::<u32>()
                .unwrap_err(),
        );
        for e in &errors {
            shown.push(format!("{e} {e:?}"));
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                shown.push(format!("{s} {s:?}"));
                src = s.source();
            }
        }
        // A panic inside a user callback that holds the value.
        let caught = std::panic::catch_unwind(|| {
            let s = creds::Secret::new(canary.as_bytes().to_vec(), Default::default());
            panic!("callback failed with {s:?}");
        });
        let payload = caught.unwrap_err();
        shown.push(
            payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default(),
        );
        // A panic inside creds's own callback (the rotation helper) that formats the value it
        // was handed; the payload shows no value and the resolver still serves after it.
        let spawned = resolver.clone();
        let joined = tokio::spawn(async move {
            spawned
                .use_with_refresh("env://APP_ENV_TOKEN", |s| async move {
                    if s.expose_secret().is_empty() {
                        return creds::Attempt::<(), ()>::Failed(());
                    }
                    panic!("rotation callback failed with {s:?}");
                })
                .await
        })
        .await;
        let payload = joined.expect_err("the callback panicked").into_panic();
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .expect("a formatted panic message");
        assert!(message.starts_with("rotation callback failed with Secret"));
        shown.push(message);
        let after = resolver.get("env://APP_ENV_TOKEN").await.unwrap();
        assert_eq!(after.expose_str().unwrap(), canary);
        shown.push(format!("{:?}", resolver.cache_stats()));
    });
    // Configs and builders.
    shown.push(format!("{:?}", creds::local::KeyringStore::builder()));
    shown.push(format!("{:?}", creds::vault::VaultStoreBuilder::from_env()));
    shown.push(format!("{:?}", creds::aws::AwsStoreBuilder::from_env()));
    shown.push(format!(
        "{:?}",
        creds::azure::AzureKvStoreBuilder::from_env()
    ));
    shown.push(format!("{:?}", creds::gcp::GcpSmStoreBuilder::from_env()));
    shown.push(format!("{:?}", env));
    // Builders and stores whose credentials are the canary, from an injected environment.
    let secret_env = Arc::new(
        StaticEnv::new()
            .with_var("VAULT_ADDR", "http://127.0.0.1:9")
            .with_var("VAULT_TOKEN", &canary)
            .with_var("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000")
            .with_var("AZURE_CLIENT_ID", "client")
            .with_var("AZURE_CLIENT_SECRET", &canary),
    );
    let vault = creds::vault::VaultStoreBuilder::from_env().with_environment(secret_env.clone());
    shown.push(format!("{vault:?}"));
    shown.push(format!("{:?}", vault.build_or_fail_later()));
    let azure = creds::azure::AzureKvStoreBuilder::from_env().with_environment(secret_env.clone());
    shown.push(format!("{azure:?}"));
    shown.push(format!("{:?}", azure.build()));
    drop(rt);

    for text in &shown {
        assert!(!text.contains(&canary), "the canary leaked: {text}");
    }
    let log = String::from_utf8_lossy(&captured().lock().unwrap()).into_owned();
    assert!(log.contains("creds::access"), "tracing was captured");
    assert!(!log.contains(&canary), "the canary reached a log");
}
