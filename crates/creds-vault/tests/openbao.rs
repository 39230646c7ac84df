//! creds-vault against the OpenBao dev server that `cargo xtask ci` starts (`VAULT_ADDR`, root
//! token `VAULT_TOKEN`). Set-up and cross-checks use OpenBao's own CLI (`bao`). Every test uses
//! paths and auth mounts of its own.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use std::sync::Arc;
use std::time::{Duration, Instant};

use creds_core::{ErrorKind, Policy, Reference, Resolver, StaticEnv, Store};
use creds_test_support::{rt, service, unique};
use creds_vault::{Auth, VaultStore, VaultStoreBuilder};

/// Runs the bao CLI as root; returns stdout.
fn bao(args: &[&str]) -> String {
    creds_test_support::bao(args, None)
}

/// A store logged in with the root token, injected (the process environment is not touched).
fn root_store() -> VaultStore {
    VaultStoreBuilder::from_env()
        .with_environment(Arc::new(
            StaticEnv::new()
                .with_var("VAULT_ADDR", std::env::var("VAULT_ADDR").unwrap())
                .with_var("VAULT_TOKEN", "root"),
        ))
        .build()
        .unwrap()
}

fn resolver(store: VaultStore) -> Resolver {
    Resolver::builder().with_store(store).build()
}

fn r(s: &str) -> Reference {
    s.parse().unwrap()
}

async fn text(res: &Resolver, reference: &str) -> String {
    res.get(reference)
        .await
        .unwrap_or_else(|e| panic!("{reference}: {e}"))
        .expose_str()
        .unwrap()
        .to_string()
}

#[test]
fn kv2_versions_metadata_and_api_form() {
    let Some(_) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let path = unique("app");
    bao(&[
        "kv",
        "put",
        "-mount=secret",
        &path,
        "api_key=v1",
        "user=app",
    ]);
    bao(&[
        "kv",
        "put",
        "-mount=secret",
        &path,
        "api_key=v2",
        "user=app",
    ]);
    rt().block_on(async {
        let res = resolver(root_store());
        assert_eq!(
            text(&res, &format!("vault://secret/{path}#api_key")).await,
            "v2"
        );
        assert_eq!(
            text(&res, &format!("vault://secret/data/{path}#api_key")).await,
            "v2"
        );
        assert_eq!(
            text(&res, &format!("vault://secret/{path}?version=1#api_key")).await,
            "v1"
        );
        let whole = res.get(format!("vault://secret/{path}")).await.unwrap();
        let doc: serde_json::Value = whole.json().unwrap();
        assert_eq!(doc, serde_json::json!({"api_key": "v2", "user": "app"}));
        assert_eq!(whole.version(), Some("2"));
        assert!(whole.metadata().created.is_some());
        assert_eq!(whole.source(), Some("vault"));
        assert!(!format!("{whole:?}").contains("v2\""));
        let e = res
            .get(format!("vault://secret/{path}#missing"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = res
            .get(format!("vault://secret/{}", unique("nope")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(
            e.reference()
                .is_some_and(|r| r.starts_with("vault://secret/"))
        );
    });
}

#[test]
fn deleted_and_destroyed_versions_are_not_found_with_the_reason() {
    let Some(_) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let path = unique("gone");
    bao(&["kv", "put", "-mount=secret", &path, "k=one"]);
    bao(&["kv", "put", "-mount=secret", &path, "k=two"]);
    bao(&["kv", "delete", "-mount=secret", &path]);
    bao(&["kv", "destroy", "-mount=secret", "-versions=1", &path]);
    rt().block_on(async {
        let res = resolver(root_store());
        let e = res.get(format!("vault://secret/{path}")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("deleted"), "{e}");
        let e = res
            .get(format!("vault://secret/{path}?version=1"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("destroyed"), "{e}");
    });
}

#[test]
fn kv1_and_mounts_of_several_segments() {
    let Some(_) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let v1 = unique("kv1");
    let team = format!("{}/kv", unique("team"));
    bao(&[
        "secrets",
        "enable",
        &format!("-path={v1}"),
        "-version=1",
        "kv",
    ]);
    bao(&[
        "secrets",
        "enable",
        &format!("-path={team}"),
        "-version=2",
        "kv",
    ]);
    bao(&["kv", "put", &format!("{v1}/app"), "k=from-v1"]);
    bao(&["kv", "put", &format!("{v1}/leased"), "k=v", "ttl=30m"]);
    bao(&["kv", "put", &format!("-mount={team}"), "app", "k=from-team"]);
    rt().block_on(async {
        let res = resolver(root_store());
        assert_eq!(text(&res, &format!("vault://{v1}/app#k")).await, "from-v1");
        assert_eq!(
            text(&res, &format!("vault://{v1}/app?kv=1#k")).await,
            "from-v1"
        );
        assert_eq!(
            text(&res, &format!("vault://{team}/app#k")).await,
            "from-team"
        );
        assert_eq!(
            text(&res, &format!("vault://{team}/app?mount={team}#k")).await,
            "from-team"
        );
        assert_eq!(
            text(&res, &format!("vault://app?mount={team}&kv=2#k")).await,
            "from-team"
        );
        let e = res
            .get(format!("vault://{v1}/app?version=2"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidReference, "{e}");
    });
}

#[test]
fn writes_make_versions_keep_members_and_check_and_set() {
    let Some(_) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let path = unique("w");
    rt().block_on(async {
        let store = root_store();
        let res = resolver(store.clone());
        let m = res
            .set(
                format!("vault://secret/{path}"),
                br#"{"user":"app","password":"one"}"#,
            )
            .await
            .unwrap();
        assert_eq!(m.version.as_deref(), Some("1"));
        res.set(format!("vault://secret/{path}#password"), b"two")
            .await
            .unwrap();
        let got = bao(&["kv", "get", "-mount=secret", "-format=json", &path]);
        let doc: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(
            doc["data"]["data"],
            serde_json::json!({"user": "app", "password": "two"})
        );
        assert_eq!(doc["data"]["metadata"]["version"], 2);
        // Check-and-set: only against the current version.
        store
            .set_with_cas(&r(&format!("vault://secret/{path}")), br#"{"x":"3"}"#, 2)
            .await
            .unwrap();
        let e = store
            .set_with_cas(&r(&format!("vault://secret/{path}")), br#"{"x":"4"}"#, 2)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("check-and-set"), "{e}");
        // Not a JSON object: refused.
        let e = res
            .set(format!("vault://secret/{path}"), b"plain")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        // Written by bao, read by creds; written by creds, read by bao.
        creds_test_support::bao(
            &[
                "kv",
                "put",
                "-mount=secret",
                &format!("{path}-stdin"),
                "secret=-",
            ],
            Some("from-stdin"),
        );
        assert_eq!(
            text(&res, &format!("vault://secret/{path}-stdin#secret")).await,
            "from-stdin"
        );
        store
            .delete(&r(&format!("vault://secret/{path}")))
            .await
            .unwrap();
        assert_eq!(
            res.get(format!("vault://secret/{path}"))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn token_from_environment_or_file_else_unconfigured() {
    let Some(addr) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let path = unique("tok");
    bao(&["kv", "put", "-mount=secret", &path, "k=v"]);
    let home = tempfile_dir();
    std::fs::write(home.join(".vault-token"), "root\n").unwrap();
    rt().block_on(async {
        let from_file = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(
                StaticEnv::new()
                    .with_var("VAULT_ADDR", &addr)
                    .with_var("HOME", &home),
            ))
            .build()
            .unwrap();
        assert_eq!(
            text(&resolver(from_file), &format!("vault://secret/{path}#k")).await,
            "v"
        );
        let none = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(
                StaticEnv::new()
                    .with_var("VAULT_ADDR", &addr)
                    .with_var("HOME", "/nonexistent"),
            ))
            .build()
            .unwrap();
        let e = resolver(none)
            .get(format!("vault://secret/{path}"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unconfigured, "{e}");
        assert!(e.kind().falls_through());
        let bad = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(
                StaticEnv::new()
                    .with_var("VAULT_ADDR", &addr)
                    .with_var("VAULT_TOKEN", "not-a-token"),
            ))
            .build()
            .unwrap();
        let e = resolver(bad)
            .get(format!("vault://secret/{path}"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    });
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("creds-vault-test"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A policy that reads `secret/data/PREFIX/*` only.
fn reader_policy(prefix: &str) -> String {
    let name = unique("reader");
    creds_test_support::bao(
        &["policy", "write", &name, "-"],
        Some(&format!(
            "path \"secret/data/{prefix}/*\" {{ capabilities = [\"read\", \"create\", \"update\"] }}\npath \"sys/internal/ui/mounts/*\" {{ capabilities = [\"read\"] }}\n"
        )),
    );
    name
}

struct AppRole {
    mount: String,
    role_id: String,
    dir: PathBuf,
}

/// An AppRole mount with one role.
fn approle(policy: &str, extra: &[&str]) -> AppRole {
    let mount = unique("approle");
    bao(&["auth", "enable", &format!("-path={mount}"), "approle"]);
    let mut args = vec![
        "write".to_string(),
        format!("auth/{mount}/role/app"),
        format!("token_policies={policy}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    bao(&args);
    let role_id = bao(&[
        "read",
        "-field=role_id",
        &format!("auth/{mount}/role/app/role-id"),
    ]);
    AppRole {
        mount,
        role_id,
        dir: tempfile_dir(),
    }
}

impl AppRole {
    fn store(&self, wrapped: bool) -> VaultStore {
        let secret_id = if wrapped {
            bao(&[
                "write",
                "-wrap-ttl=120s",
                "-field=wrapping_token",
                "-f",
                &format!("auth/{}/role/app/secret-id", self.mount),
            ])
        } else {
            bao(&[
                "write",
                "-field=secret_id",
                "-f",
                &format!("auth/{}/role/app/secret-id", self.mount),
            ])
        };
        let file = self.dir.join(if wrapped {
            "wrapped_secret_id"
        } else {
            "secret_id"
        });
        std::fs::write(&file, format!("{secret_id}\n")).unwrap();
        VaultStoreBuilder::from_env()
            .with_environment(Arc::new(
                StaticEnv::new()
                    .with_var("VAULT_ADDR", std::env::var("VAULT_ADDR").unwrap())
                    .with_var("VAULT_ROLE_ID", &self.role_id),
            ))
            .with_auth(Auth::AppRole {
                mount: self.mount.clone(),
                role_id: "env://VAULT_ROLE_ID".into(),
                secret_id: format!("file://{}", file.display()),
                wrapped,
            })
            .build()
            .unwrap()
    }
}

#[test]
fn approle_login_plain_and_wrapped_with_a_restricted_policy() {
    let Some(_) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let prefix = unique("ar");
    bao(&[
        "kv",
        "put",
        "-mount=secret",
        &format!("{prefix}/db"),
        "password=pw",
    ]);
    bao(&[
        "kv",
        "put",
        "-mount=secret",
        &format!("{}/db", unique("other")),
        "password=x",
    ]);
    let policy = reader_policy(&prefix);
    let role = approle(&policy, &[]);
    rt().block_on(async {
        for wrapped in [false, true] {
            let store = role.store(wrapped);
            let res = resolver(store.clone());
            assert_eq!(
                text(&res, &format!("vault://secret/{prefix}/db#password")).await,
                "pw"
            );
            assert_eq!(store.logins(), 1);
            // Outside the policy: permission denied (the token itself is fine).
            let e = res
                .get(format!("vault://secret/{}/db", unique("other")))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
            assert!(!e.kind().falls_through());
        }
        // A wrapping token is single-use: the same file again is refused.
        let store = role.store(true);
        store.login().await.unwrap();
        let again = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(
                StaticEnv::new()
                    .with_var("VAULT_ADDR", std::env::var("VAULT_ADDR").unwrap())
                    .with_var("VAULT_ROLE_ID", &role.role_id),
            ))
            .with_auth(Auth::AppRole {
                mount: role.mount.clone(),
                role_id: "env://VAULT_ROLE_ID".into(),
                secret_id: format!("file://{}", role.dir.join("wrapped_secret_id").display()),
                wrapped: true,
            })
            .build()
            .unwrap();
        let e = again.login().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    });
}

#[test]
fn userpass_login() {
    let Some(_) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let prefix = unique("up");
    bao(&["kv", "put", "-mount=secret", &format!("{prefix}/k"), "v=ok"]);
    let policy = reader_policy(&prefix);
    let mount = unique("userpass");
    bao(&["auth", "enable", &format!("-path={mount}"), "userpass"]);
    creds_test_support::bao(
        &[
            "write",
            &format!("auth/{mount}/users/alice"),
            "password=-",
            &format!("token_policies={policy}"),
        ],
        Some("alice-pw"),
    );
    rt().block_on(async {
        let env = StaticEnv::new()
            .with_var("VAULT_ADDR", std::env::var("VAULT_ADDR").unwrap())
            .with_var("ALICE_PW", "alice-pw")
            .with_var("WRONG_PW", "nope");
        let build = |pw: &str| {
            VaultStoreBuilder::from_env()
                .with_environment(Arc::new(env.clone()))
                .with_auth(Auth::Userpass {
                    mount: mount.clone(),
                    username: "alice".into(),
                    password: pw.into(),
                })
                .build()
                .unwrap()
        };
        assert_eq!(
            text(
                &resolver(build("env://ALICE_PW")),
                &format!("vault://secret/{prefix}/k#v")
            )
            .await,
            "ok"
        );
        let e = resolver(build("env://WRONG_PW"))
            .get(format!("vault://secret/{prefix}/k"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        assert!(!e.to_string().contains("nope"));
        let e = resolver(build("env://NOT_SET"))
            .get(format!("vault://secret/{prefix}/k"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unconfigured, "{e}");
    });
}

#[test]
fn short_ttl_tokens_are_renewed_and_max_ttl_forces_a_fresh_login() {
    let Some(_) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let prefix = unique("ttl");
    bao(&[
        "kv",
        "put",
        "-mount=secret",
        &format!("{prefix}/k"),
        "v=alive",
    ]);
    let policy = reader_policy(&prefix);
    let renewing = approle(&policy, &["token_ttl=3s", "token_max_ttl=1h"]);
    let capped = approle(&policy, &["token_ttl=3s", "token_max_ttl=4s"]);
    rt().block_on(async {
        let a = renewing.store(false);
        let b = capped.store(false);
        let (ra, rb) = (resolver(a.clone()), resolver(b.clone()));
        let reference = format!("vault://secret/{prefix}/k#v");
        assert_eq!(text(&ra, &reference).await, "alive");
        assert_eq!(text(&rb, &reference).await, "alive");
        let until = Instant::now() + Duration::from_secs(15);
        while (a.renewals() < 2 || b.logins() < 2) && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(a.renewals() >= 2, "renewed {} times", a.renewals());
        assert_eq!(a.logins(), 1, "a renewable token needs no new login");
        assert!(b.logins() >= 2, "logged in {} times", b.logins());
        // Past the first token's max TTL, reads still work.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(text(&ra, &reference).await, "alive");
        assert_eq!(text(&rb, &reference).await, "alive");
    });
}

#[test]
fn stopped_server_is_unavailable_and_strict_policy_refuses_weak_transport() {
    rt().block_on(async {
        let store = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(StaticEnv::new().with_var("VAULT_TOKEN", "t")))
            .with_address("http://127.0.0.1:1")
            .with_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let e = resolver(store).get("vault://secret/x").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.is_temporary());
    });
    let strict = |b: VaultStoreBuilder| {
        b.with_policy(Policy::Strict)
            .build()
            .map(|_| ())
            .unwrap_err()
    };
    let e = strict(VaultStoreBuilder::from_env().with_address("http://vault.example.com:8200"));
    assert_eq!(e.kind(), ErrorKind::Policy);
    assert!(e.to_string().contains("plaintext"), "{e}");
    let e = strict(
        VaultStoreBuilder::from_env()
            .with_address("https://vault.example.com")
            .with_skip_verify(true),
    );
    assert_eq!(e.kind(), ErrorKind::Policy);
    // Loopback http is fine under strict (a local agent or dev server).
    VaultStoreBuilder::from_env()
        .with_address("http://127.0.0.1:8200")
        .with_policy(Policy::Strict)
        .build()
        .unwrap();
}

/// Kubernetes auth cannot run without a cluster: the request creds sends is checked against
/// Vault's documented shape, `POST /v1/auth/kubernetes/login` with `{"role", "jwt"}`, by a
/// loopback server that answers as Vault does.
#[test]
fn kubernetes_login_sends_the_documented_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for _ in 0..2 {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            loop {
                let n = conn.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= head_end + 4 + len {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&got).to_string();
            let body = if text.starts_with("POST /v1/auth/kubernetes/login") {
                r#"{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"s.k8s","accessor":"a","policies":["p"],"token_policies":["p"],"metadata":{"role":"my-app"},"lease_duration":3600,"renewable":true,"entity_id":"e","token_type":"service","orphan":true}}"#
            } else {
                r#"{"data":{"data":{"k":"from-k8s"},"metadata":{"version":1,"created_time":"2026-01-01T00:00:00Z"}}}"#
            };
            write!(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
            requests.push(text);
        }
        requests
    });
    let dir = tempfile_dir();
    let token = dir.join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.service-account.sig\n").unwrap();
    rt().block_on(async {
        let store = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(StaticEnv::new()))
            .with_address(format!("http://127.0.0.1:{port}"))
            .with_auth(Auth::Kubernetes {
                mount: "kubernetes".into(),
                role: "my-app".into(),
                token_path: token,
            })
            .build()
            .unwrap();
        let s = resolver(store)
            .get("vault://secret/app?mount=secret&kv=2#k")
            .await
            .unwrap();
        assert_eq!(s.expose_str().unwrap(), "from-k8s");
    });
    let requests = server.join().unwrap();
    let login = &requests[0];
    assert!(
        login.starts_with("POST /v1/auth/kubernetes/login HTTP/1.1"),
        "{login}"
    );
    let body: serde_json::Value =
        serde_json::from_str(login.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["role"], "my-app");
    assert_eq!(body["jwt"], "eyJhbGciOiJSUzI1NiJ9.service-account.sig");
    let read = &requests[1];
    assert!(
        read.starts_with("GET /v1/secret/data/app HTTP/1.1"),
        "{read}"
    );
    assert!(
        read.to_ascii_lowercase().contains("x-vault-token: s.k8s"),
        "{read}"
    );
}

/// Namespaces (OpenBao has them, as Vault Enterprise does): a KV mount inside a namespace of the
/// test's own is found (mount detection included) through `VAULT_NAMESPACE` and through
/// `with_namespace`; the root namespace does not see it.
#[test]
fn namespaces_through_the_variable_and_the_builder() {
    let Some(addr) = service("VAULT_ADDR", "OpenBao") else {
        return;
    };
    let ns = unique("creds-ns");
    bao(&["namespace", "create", &ns]);
    bao(&[
        "secrets",
        "enable",
        &format!("-ns={ns}"),
        "-path=nskv",
        "kv-v2",
    ]);
    bao(&[
        "kv",
        "put",
        &format!("-ns={ns}"),
        "-mount=nskv",
        "app",
        "k=inside-the-namespace",
    ]);
    rt().block_on(async {
        let token = StaticEnv::new()
            .with_var("VAULT_TOKEN", "root")
            .with_var("VAULT_ADDR", &addr);
        let via_var = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(token.clone().with_var("VAULT_NAMESPACE", &ns)))
            .build()
            .unwrap();
        let via_builder = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(token.clone()))
            .with_namespace(&ns)
            .build()
            .unwrap();
        for store in [via_var, via_builder] {
            let s = resolver(store).get("vault://nskv/app#k").await.unwrap();
            assert_eq!(s.expose_str().unwrap(), "inside-the-namespace");
        }
        let root = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(token))
            .build()
            .unwrap();
        let e = resolver(root).get("vault://nskv/app#k").await.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied),
            "{e}"
        );
    });
}
