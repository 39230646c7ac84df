//! The transport and file rules (SECURITY.md), across the stores they apply to:
//!
//! - plaintext http to a host that is not loopback is used with a warning, and refused under
//!   `Policy::Strict` (Vault, AWS and GCP endpoints; GCP's is tested with its replay server);
//! - TLS verification cannot be disabled under strict (Vault);
//! - a `.env` or secret file that others may read is read with a warning, and refused under
//!   strict — including a Vault login credential read from a file, which a strict deployment
//!   still does.
//!
//! `0.0.0.0` stands for "a host that is not loopback": the rule treats it as remote, and Linux
//! connects it to the local servers, so the permissive case really reads a value.

use std::sync::Arc;

use creds::local::{DotenvStore, FileStore};
use creds::vault::{Auth, VaultStoreBuilder};
use creds::{ErrorKind, Policy, Resolver, StaticEnv, Store, StoreExt};
use creds_test_support::{rt_local as rt, service, write_file};
use creds_tests::{LogCapture, unique};

const CANARY: &str = "canary-policy-7f3a";

/// The same address with the host replaced by `0.0.0.0`.
fn via_unspecified(url: &str) -> String {
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    format!("http://0.0.0.0:{port}")
}

#[cfg(unix)]
#[test]
fn secret_and_env_files_others_may_read_warn_and_strict_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "open", CANARY, 0o644);
    write_file(dir.path(), "group", CANARY, 0o640);
    write_file(dir.path(), "closed", CANARY, 0o600);
    write_file(dir.path(), "open.env", format!("KEY={CANARY}\n"), 0o644);
    write_file(dir.path(), "group.env", format!("KEY={CANARY}\n"), 0o640);
    let env = Arc::new(StaticEnv::new().with_current_dir(dir.path()));
    rt().block_on(async {
        for policy in [Policy::Permissive, Policy::Strict] {
            let file = FileStore::new(env.clone()).with_policy(policy);
            let dotenv = DotenvStore::new(env.clone()).with_policy(policy);
            // Owner-only files are read under either policy, silently.
            let logs = LogCapture::start();
            assert_eq!(
                file.fetch("file://closed")
                    .await
                    .unwrap()
                    .expose_str()
                    .unwrap(),
                CANARY
            );
            // `.env` counts only others' access (a group-readable project file is common).
            let v = dotenv.fetch("dotenv://KEY?path=group.env").await.unwrap();
            assert_eq!(v.expose_str().unwrap(), CANARY);
            assert!(!logs.text().contains("WARN"), "{}", logs.text());
            drop(logs);

            for (store, reference, name, mode) in [
                (&file as &dyn Store, "file://open", "open", "644"),
                (&file, "file://group", "group", "640"),
                (&dotenv, "dotenv://KEY?path=open.env", "open.env", "644"),
            ] {
                let logs = LogCapture::start();
                let got = store.fetch(reference).await;
                let text = logs.text();
                assert!(!text.contains(CANARY), "{text}");
                match policy {
                    Policy::Permissive => {
                        assert_eq!(got.unwrap().expose_str().unwrap(), CANARY, "{reference}");
                        assert!(
                            text.contains("WARN") && text.contains(mode),
                            "{reference}: {text}"
                        );
                        assert!(text.contains("readable by"), "{text}");
                    }
                    _ => {
                        let e = got.unwrap_err();
                        assert_eq!(e.kind(), ErrorKind::Policy, "{reference}: {e}");
                        let msg = e.to_string();
                        assert!(msg.contains("policy strict") && msg.contains(mode), "{msg}");
                        assert!(msg.contains(&format!("{name}`")), "{msg}");
                        assert!(!msg.contains(CANARY) && !format!("{e:?}").contains(CANARY));
                        assert!(!e.is_temporary());
                    }
                }
            }
        }
    });
}

/// A value at `secret/<path>#value`, written through the loopback address with the root token.
async fn vault_put(path: &str) {
    let store = VaultStoreBuilder::from_env().build().unwrap();
    store
        .set(
            &format!("vault://secret/{path}").parse().unwrap(),
            format!(r#"{{"value":"{CANARY}"}}"#).as_bytes(),
        )
        .await
        .unwrap();
}

#[cfg(unix)]
#[test]
fn vault_login_credential_files_follow_the_file_rule() {
    let Some(addr) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let token = std::env::var("VAULT_TOKEN").unwrap_or_else(|_| "root".into());
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "token-open", &token, 0o640);
    write_file(dir.path(), "token-closed", format!("{token}\n"), 0o600);
    let env = Arc::new(StaticEnv::new().with_current_dir(dir.path()));
    let path = unique("policy_vault_file");
    rt().block_on(async {
        vault_put(&path).await;
        let reference = format!("vault://secret/{path}#value");
        let store = |policy: Policy, file: &str| {
            VaultStoreBuilder::from_env()
                .with_address(&addr)
                .with_environment(env.clone())
                .with_auth(Auth::TokenFrom(format!("file://{file}")))
                .with_policy(policy)
                .build()
                .unwrap()
        };
        // Strict: the group-readable token file is refused before any login.
        let e = store(Policy::Strict, "token-open")
            .fetch(reference.as_str())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Policy, "{e}");
        assert!(e.to_string().contains("token-open"), "{e}");
        // Strict with an owner-only file logs in and reads.
        let v = store(Policy::Strict, "token-closed")
            .fetch(reference.as_str())
            .await
            .unwrap();
        assert_eq!(v.expose_str().unwrap(), CANARY);
        // Permissive reads the group-readable file, with a warning.
        let logs = LogCapture::start();
        let v = store(Policy::Permissive, "token-open")
            .fetch(reference.as_str())
            .await
            .unwrap();
        assert_eq!(v.expose_str().unwrap(), CANARY);
        assert!(logs.text().contains("640"), "{}", logs.text());
        drop(logs);

        // The vault CLI's ~/.vault-token (the default token when VAULT_TOKEN is unset).
        let home = tempfile::tempdir().unwrap();
        let home_env = Arc::new(StaticEnv::new().with_var("HOME", home.path().as_os_str()));
        let store = |policy: Policy| {
            VaultStoreBuilder::from_env()
                .with_address(&addr)
                .with_environment(home_env.clone())
                .with_policy(policy)
                .build()
                .unwrap()
        };
        write_file(home.path(), ".vault-token", &token, 0o644);
        let e = store(Policy::Strict)
            .fetch(reference.as_str())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Policy, "{e}");
        assert!(e.to_string().contains(".vault-token"), "{e}");
        let logs = LogCapture::start();
        let v = store(Policy::Permissive)
            .fetch(reference.as_str())
            .await
            .unwrap();
        assert_eq!(v.expose_str().unwrap(), CANARY);
        assert!(logs.text().contains(".vault-token"), "{}", logs.text());
        drop(logs);
        write_file(home.path(), ".vault-token", &token, 0o600);
        let v = store(Policy::Strict)
            .fetch(reference.as_str())
            .await
            .unwrap();
        assert_eq!(v.expose_str().unwrap(), CANARY);
    });
}

#[test]
fn vault_plaintext_to_a_remote_host_warns_and_strict_refuses_it() {
    let Some(addr) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let remote = via_unspecified(&addr);
    let path = unique("policy_vault_http");
    rt().block_on(async {
        vault_put(&path).await;
        let reference = format!("vault://secret/{path}#value");
        let logs = LogCapture::start();
        let v = VaultStoreBuilder::from_env()
            .with_address(&remote)
            .build()
            .unwrap()
            .fetch(reference.as_str())
            .await
            .unwrap();
        assert_eq!(v.expose_str().unwrap(), CANARY);
        let text = logs.text();
        assert!(
            text.contains("WARN") && text.contains("plaintext http"),
            "{text}"
        );
        assert!(text.contains(&remote), "{text}");
        drop(logs);

        let e = VaultStoreBuilder::from_env()
            .with_address(&remote)
            .with_policy(Policy::Strict)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Policy, "{e}");
        assert!(e.to_string().contains(&remote), "{e}");
        // Skipping TLS verification: refused under strict, a warning otherwise.
        let e = VaultStoreBuilder::from_env()
            .with_address("https://vault.example.com")
            .with_skip_verify(true)
            .with_policy(Policy::Strict)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Policy, "{e}");
        let logs = LogCapture::start();
        VaultStoreBuilder::from_env()
            .with_address("https://vault.example.com")
            .with_skip_verify(true)
            .build()
            .unwrap();
        assert!(logs.text().contains("TLS verification"), "{}", logs.text());
    });
}

#[test]
fn aws_plaintext_to_a_remote_host_warns_and_strict_refuses_it() {
    let Some(endpoint) = service("AWS_ENDPOINT_URL", "moto") else {
        return;
    };
    let remote = via_unspecified(&endpoint);
    let name = unique("policy-aws");
    rt().block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(&name)
            .secret_string(CANARY)
            .send()
            .await
            .unwrap();
        let reference = format!("aws-sm://{name}");
        for policy in [Policy::Permissive, Policy::Strict] {
            let r = creds::aws::register(
                Resolver::builder().with_policy(policy),
                creds::aws::AwsConfig::from_env().with_endpoint_url(&remote),
            )
            .build();
            let logs = LogCapture::start();
            let got = r.get(reference.as_str()).await;
            let text = logs.text();
            if policy == Policy::Strict {
                let e = got.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Policy, "{e}");
                assert!(e.to_string().contains(&remote), "{e}");
                assert!(e.to_string().contains(&reference), "{e}");
            } else {
                assert_eq!(got.unwrap().expose_str().unwrap(), CANARY);
                assert!(text.contains("WARN") && text.contains(&remote), "{text}");
            }
            // The loopback endpoint is neither warned about nor refused.
            let r = creds::aws::register(
                Resolver::builder().with_policy(policy),
                creds::aws::AwsConfig::from_env().with_endpoint_url(&endpoint),
            )
            .build();
            let logs = LogCapture::start();
            let v = r.get(reference.as_str()).await.unwrap();
            assert_eq!(v.expose_str().unwrap(), CANARY);
            assert!(!logs.text().contains("plaintext"), "{}", logs.text());
        }
    });
}
