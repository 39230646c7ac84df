//! The bad-input table: one test per class of bad input, each giving a clear error of the right
//! kind and never a panic. Responses that break the protocol come from local servers that answer
//! as a broken Vault or Secret Manager would.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use creds::config::Config;
use creds::local::{DotenvStore, FileStore};
use creds::{ErrorKind, Reference, Resolver, StaticEnv};
use creds_test_support::rt;

#[test]
fn malformed_references() {
    for bad in [
        "",
        "://",
        "env:/X",
        "env://",
        "x://y",
        "env://A%G0",
        "env://X?x=1",
        "env://X#",
        "env://X#/~9",
        "keyring://x",
        "gcp-sm://a/b/c/d/e",
        "azure-kv://a",
    ] {
        let e = Reference::parse(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidReference, "{bad}");
    }
    // Long and odd but well-formed input parses without trouble.
    let long = format!("env://{}", "A".repeat(100_000));
    assert!(Reference::parse(&long).is_ok());
    assert!(Reference::parse("env://\u{1F511}?#\u{1F511}").is_err());
}

#[test]
fn malformed_configs() {
    for bad in [
        "[profiles.dev\n",
        "default-profile = 3\n",
        "[profiles.dev]\nchain = \"env://X\"\n",
        "[profiles.dev]\nchain = [\"env://{nope}\"]\n",
        "[secrets]\nx = { ref = 3 }\n",
        "[secrets]\nx = { ref = \"env://X?bad=1\" }\n",
        "[cache]\nttl = -1\n",
        "[backends.vault]\nauth = { method = \"approle\" }\n",
        "[backends.s3]\n",
        "\u{0}",
    ] {
        let e = Config::parse(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}: {e}");
    }
}

#[test]
fn secrets_written_into_creds_toml_are_refused_and_not_shown() {
    // creds.toml holds references, never values; the usual mistakes put a value where a table,
    // a string of another shape or a reference belongs. Each is refused with its line, and
    // neither the error nor its Debug repeats the value (serde's own messages quote it).
    const V: &str = "sk-live-CANARY-7f3a";
    for (bad, line) in [
        (format!("[secrets]\napi_key = \"{V}\"\n"), "line 2"),
        (format!("[secrets]\napi_key = \"{V}\\\"q\\\"\"\n"), "line 2"),
        (
            format!("[secrets]\ndb = {{ ref = \"postgres://app:{V}@db/app\" }}\n"),
            "line 2",
        ),
        (format!("[backends.vault]\nauth = \"{V}\"\n"), "line 1"),
        (
            format!(
                "[backends.vault]\nauth = {{ method = \"approle\", role-id = \"env://R\", secret-id = \"{V}\" }}\n"
            ),
            "secret-id",
        ),
        (
            format!("[backends.vault]\nauth = {{ method = \"token\", token = \"{V}\" }}\n"),
            "`token`",
        ),
        (
            format!(
                "[backends.vault]\nauth = {{ method = \"jwt\", role = \"r\", jwt = \"{V}\" }}\n"
            ),
            "`jwt`",
        ),
        (
            format!(
                "[backends.vault]\nauth = {{ method = \"userpass\", username = \"u\", password = \"{V}\" }}\n"
            ),
            "`password`",
        ),
    ] {
        let e = Config::parse(&bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}: {e}");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("CANARY"), "{bad:?}: {shown}");
        assert!(shown.contains(line), "{bad:?} names `{line}`: {shown}");
    }
    // The builder refuses a credential given inline as well, before any call.
    let e = creds::vault::VaultStoreBuilder::from_env()
        .with_auth(creds::vault::Auth::approle("env://R", V))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(!format!("{e} {e:?}").contains("CANARY"), "{e:?}");
}

#[test]
fn malformed_dotenv_files_and_oversized_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.env"), "A=1\nB='unterminated\n").unwrap();
    std::fs::write(dir.path().join("binary.env"), [0xff, 0xfe, b'=', 0x00]).unwrap();
    std::fs::write(dir.path().join("huge"), vec![b'x'; 2 * 1024 * 1024]).unwrap();
    std::fs::write(
        dir.path().join("huge.env"),
        format!("A={}\n", "x".repeat(2 * 1024 * 1024)),
    )
    .unwrap();
    let env = Arc::new(StaticEnv::new().with_current_dir(dir.path()));
    let r = Resolver::builder()
        .with_store(DotenvStore::new(env.clone()))
        .with_store(FileStore::new(env))
        .build();
    rt().block_on(async {
        for (reference, kind) in [
            ("dotenv://A?path=bad.env", ErrorKind::Decode),
            ("dotenv://A?path=binary.env", ErrorKind::Decode),
            ("file://huge", ErrorKind::Decode),
            ("dotenv://A?path=huge.env", ErrorKind::Decode),
        ] {
            let e = r.get(reference).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{reference}: {e}");
        }
    });
}

/// A value one byte over each store's documented limit is refused before anything is written,
/// with kind `unsupported`, an error that names the reference and the limit and never the value;
/// the limit itself is accepted where a server runs. Vault has no fixed limit: the server's
/// request size limit (32 MiB by default) answers 413, which maps to the same kind.
#[test]
fn values_over_each_backends_size_limit() {
    let filler = |n: usize| {
        let unit = b"canary-size-0c4e-";
        unit.iter().copied().cycle().take(n).collect::<Vec<u8>>()
    };
    let check = |e: creds::Error, reference: &str, limit: Option<usize>| {
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{reference}: {e}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains("canary-size"), "{reference}: {text}");
        assert_eq!(e.reference(), Some(reference), "{e}");
        if let Some(limit) = limit {
            assert!(text.contains(&format!("limit of {limit} bytes")), "{text}");
        }
    };
    rt().block_on(async {
        // Secret Manager and Key Vault: refused before any request (no server needed).
        let offline = Resolver::builder()
            .with_store(
                creds::gcp::GcpSmStoreBuilder::from_env()
                    .with_endpoint("http://127.0.0.1:1")
                    .with_credentials(
                        google_cloud_auth::credentials::anonymous::Builder::new().build(),
                    )
                    .build(),
            )
            .with_store(creds::azure::AzureKvStoreBuilder::from_env().build())
            .build();
        for (reference, limit) in [
            ("gcp-sm://p/s", creds::gcp::MAX_VALUE),
            ("azure-kv://myvault/s", creds::azure::MAX_VALUE),
        ] {
            let e = offline
                .set(reference, &filler(limit + 1))
                .await
                .unwrap_err();
            check(e, reference, Some(limit));
        }

        if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
            let r = creds::aws::register(Resolver::builder(), creds::aws::AwsConfig::from_env())
                .build();
            let sm = format!("aws-sm://{}", creds_tests::unique("size"));
            let ssm = format!("aws-ssm:///{}", creds_tests::unique("size"));
            for (reference, limit) in [
                (sm.as_str(), creds::aws::SECRETS_MANAGER_MAX_VALUE),
                (ssm.as_str(), creds::aws::SSM_MAX_VALUE),
            ] {
                let e = r.set(reference, &filler(limit + 1)).await.unwrap_err();
                check(e, reference, Some(limit));
                // Nothing was created.
                assert_eq!(
                    r.get(reference).await.unwrap_err().kind(),
                    ErrorKind::NotFound
                );
            }
            r.set(sm.as_str(), &filler(creds::aws::SECRETS_MANAGER_MAX_VALUE))
                .await
                .unwrap();
            assert_eq!(
                r.get(sm.as_str()).await.unwrap().len(),
                creds::aws::SECRETS_MANAGER_MAX_VALUE
            );
        } else {
            assert!(!creds_tests::services_required(), "moto must be up");
        }

        if std::env::var_os("VAULT_ADDR").is_some() {
            let r = Resolver::builder()
                .with_store(creds::vault::VaultStore::from_env())
                .build();
            let reference = format!("vault://secret/{}", creds_tests::unique("size"));
            let mut big = b"{\"v\":\"".to_vec();
            big.extend(filler(33 * 1024 * 1024));
            big.extend(b"\"}");
            let e = r.set(reference.as_str(), &big).await.unwrap_err();
            check(e, &reference, None);
            assert_eq!(
                r.get(reference.as_str()).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
        } else {
            assert!(!creds_tests::services_required(), "OpenBao must be up");
        }

        // keyutils: only under a session keyring (`keyctl session -`, as `cargo xtask ci` runs
        // the tests); the store reports unavailable otherwise.
        let keyutils = creds::local::KeyringStore::builder()
            .with_backend(creds::local::KeyringBackend::Keyutils)
            .build();
        let r = Resolver::builder().with_store(keyutils).build();
        let reference = format!("keyring://{}/user", creds_tests::unique("size"));
        match r.set(reference.as_str(), b"small").await {
            Ok(_) => {
                let limit = creds::local::KEYUTILS_MAX_VALUE;
                let e = r
                    .set(reference.as_str(), &filler(limit + 1))
                    .await
                    .unwrap_err();
                check(e, &reference, Some(limit));
                assert_eq!(
                    r.get(reference.as_str())
                        .await
                        .unwrap()
                        .expose_str()
                        .unwrap(),
                    "small"
                );
            }
            Err(e) => {
                assert!(!creds_tests::services_required(), "keyutils: {e}");
                eprintln!("skipped keyutils: {e}");
            }
        }
    });
}

#[test]
fn text_access_selectors_and_hostile_json() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    std::fs::write(dir.path().join("deep"), &deep).unwrap();
    let big: String = format!("[{}]", vec!["\"x\""; 100_000].join(","));
    std::fs::write(dir.path().join("big"), &big).unwrap();
    std::fs::write(dir.path().join("bin"), [0xc3, 0x28]).unwrap();
    std::fs::write(dir.path().join("text"), "plain").unwrap();
    let env = Arc::new(StaticEnv::new().with_current_dir(dir.path()));
    let r = Resolver::builder().with_store(FileStore::new(env)).build();
    rt().block_on(async {
        let e = r.get("file://bin").await.unwrap().expose_str().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert_eq!(
            r.get("file://text#k").await.unwrap_err().kind(),
            ErrorKind::Decode
        );
        assert_eq!(
            r.get("file://deep#/0").await.unwrap_err().kind(),
            ErrorKind::Decode,
            "nesting beyond serde_json's limit"
        );
        assert_eq!(
            r.get("file://big#/99999")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "x"
        );
        assert_eq!(
            r.get("file://big#/100000").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            r.get("file://big#k").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
}

/// Serves one canned HTTP answer to every request, on loopback.
fn canned(status: u16, content_type: &str, body: &'static [u8]) -> String {
    canned_after(&[], status, content_type, body, true)
}

/// Like [`canned`], but requests whose first line contains one of `healthy`'s keys get that
/// healthy JSON answer instead (a login that works before a read that breaks). An answer that
/// is not `framed` has no Content-Length: its end is the connection's close.
fn canned_after(
    healthy: &[(&'static str, &'static str)],
    status: u16,
    content_type: &str,
    body: &'static [u8],
    framed: bool,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let content_type = content_type.to_string();
    let healthy = healthy.to_vec();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let content_type = content_type.clone();
            let healthy = healthy.clone();
            std::thread::spawn(move || {
                conn.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let mut buf = [0u8; 65536];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            let request = String::from_utf8_lossy(&buf[..n]);
                            let line = request.lines().next().unwrap_or("");
                            let (status, content_type, body, framed) =
                                match healthy.iter().find(|(k, _)| line.contains(k)) {
                                    Some((_, b)) => (200, "application/json", b.as_bytes(), true),
                                    None => (status, content_type.as_str(), body, framed),
                                };
                            let length = if framed {
                                format!("Content-Length: {}", body.len())
                            } else {
                                "Connection: close".to_string()
                            };
                            let head = format!(
                                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n{length}\r\n\r\n"
                            );
                            if conn
                                .write_all(head.as_bytes())
                                .and_then(|()| conn.write_all(body))
                                .is_err()
                                || !framed
                            {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// OpenBao's answer to `auth/token/lookup-self` for a root token.
const LOOKUP_SELF: &str = r#"{"request_id":"d38ab273-4625-30bb-85f9-067d2440506f","lease_id":"","renewable":false,"lease_duration":0,"data":{"accessor":"1Hab7oIDCU6HczSKImlRB7bO","creation_time":1796329112,"creation_ttl":0,"display_name":"token","entity_id":"","expire_time":null,"explicit_max_ttl":0,"id":"t","issue_time":"2026-12-03T20:18:32.902170222Z","meta":null,"num_uses":0,"orphan":true,"path":"auth/token/create","policies":["root"],"renewable":false,"ttl":0,"type":"service"},"wrap_info":null,"warnings":null,"auth":null}"#;

/// What an error shows: its text, its `Debug` and every source below it.
fn everything_shown(e: &creds::Error) -> String {
    format!("{} {e:?}", creds::chain_text(e))
}

/// Protocol-breaking bodies carry a value (`canary-proto-…`): an error may say the answer was
/// unreadable, never quote it. Every store gives the same kind, `unavailable` (temporary): the
/// backend did not answer in its protocol — never `not found`, which would hide the breakage.
#[test]
fn responses_that_break_the_protocol() {
    rt().block_on(async {
        let vault = |addr: String| {
            let store = creds::vault::VaultStoreBuilder::from_env()
                .with_environment(Arc::new(StaticEnv::new().with_var("VAULT_TOKEN", "t")))
                .with_address(addr)
                .build()
                .unwrap();
            Resolver::builder().with_store(store).build()
        };
        // Truncated JSON, HTML instead of JSON, JSON of the wrong shape, a gateway error.
        for (status, ct, body) in [
            (200, "application/json", &b"{\"data\":{\"data\":{\"k\":\"canary-proto-1\""[..]),
            (200, "text/html", &b"<html>canary-proto-2</html>"[..]),
            (200, "application/json", &b"[\"canary-proto-3\"]"[..]),
            (200, "application/json", &b"{\"data\":{\"data\":\"canary-proto-4\"}}"[..]),
            (502, "text/plain", &b"bad gateway canary-proto-5"[..]),
        ] {
            // Broken at the login, and broken at the read after a good login.
            for (addr, at_read) in [
                (canned(status, ct, body), false),
                (canned_after(&[("lookup-self", LOOKUP_SELF)], status, ct, body, true), true),
            ] {
                let r = vault(addr);
                let e = r.get("vault://secret/app?mount=secret&kv=2").await.unwrap_err();
                assert_eq!(!e.to_string().contains("token lookup"), at_read, "{e}");
                // Not Vault's protocol: unavailable (never not-found, which would hide it).
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{status} {ct}: {e}");
                assert!(!e.to_string().is_empty());
                let shown = everything_shown(&e);
                assert!(!shown.contains("canary-proto"), "{shown}");
            }
        }
        // An answer too big to hold (65 MiB, over the 64 MiB bound), with and without a length.
        let huge: &'static [u8] = Box::leak(vec![b' '; 65 << 20].into_boxed_slice());
        for framed in [true, false] {
            let r = vault(canned_after(
                &[("lookup-self", LOOKUP_SELF)],
                200,
                "application/json",
                huge,
                framed,
            ));
            let e = r
                .get("vault://secret/app?mount=secret&kv=2")
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unavailable, "framed={framed}: {e}");
            assert!(e.to_string().contains("over 64 MiB"), "{e}");
        }
        let gcp = |addr: String| {
            let store = creds::gcp::GcpSmStoreBuilder::from_env()
                .with_endpoint(addr)
                .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
                .build();
            Resolver::builder().with_store(store).build()
        };
        for (status, ct, body) in [
            (200, "application/json", &b"{\"name\":\"projects/p/secrets/s/versions/1\",\"payload\":{\"data\":\"Y2FuYXJ5LXByb3RvLTY"[..]),
            (200, "application/json", &b"{\"name\":\"projects/p/secrets/s/versions/1\",\"payload\":{\"data\":\"!!canary-proto-6"[..]),
            (200, "text/html", &b"<html>captive portal canary-proto-7</html>"[..]),
            (200, "application/json", &b"{\"name\":42,\"payload\":{\"data\":\"canary-proto-8\"}}"[..]),
            (200, "application/json", &b"{\"name\":\"projects/p/secrets/s/versions/1\"}"[..]),
        ] {
            let r = gcp(canned(status, ct, body));
            let e = r.get("gcp-sm://p/s/1").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unavailable, "{ct}: {e}");
            assert!(e.is_temporary());
            let shown = everything_shown(&e);
            assert!(!shown.contains("canary-proto") && !shown.contains("Y2FuYXJ5"), "{shown}");
        }
        // AWS: the SDK with test credentials against the same broken answers.
        let aws = |addr: String| {
            let sdk = aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url(addr)
                .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test"),
                ))
                .build();
            let b = creds::aws::AwsStoreBuilder::from_env().with_sdk_config(sdk);
            Resolver::builder()
                .with_store(b.build_secrets_manager())
                .with_store(b.build_ssm())
                .build()
        };
        for (status, ct, body) in [
            (200, "application/x-amz-json-1.1", &b"{\"Name\":\"app\",\"SecretString\":\"canary-proto-9"[..]),
            (200, "text/html", &b"<html>canary-proto-10</html>"[..]),
            (200, "application/x-amz-json-1.1", &b"[\"canary-proto-11\"]"[..]),
            (200, "application/x-amz-json-1.1", &b"{\"SecretString\":42,\"Name\":\"canary-proto-12\"}"[..]),
            (400, "application/x-amz-json-1.1", &b"{\"__type\":\"Weird\",\"message\":\"canary-proto-13"[..]),
        ] {
            let addr = canned(status, ct, body);
            for reference in ["aws-sm://app", "aws-ssm://app"] {
                let e = aws(addr.clone()).get(reference).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{reference} {status} {ct}: {e}");
                let shown = everything_shown(&e);
                assert!(!shown.contains("canary-proto"), "{reference}: {shown}");
            }
        }
    });
}
