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

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

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
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let content_type = content_type.to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let content_type = content_type.clone();
            std::thread::spawn(move || {
                conn.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let mut buf = [0u8; 65536];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            let head = format!(
                                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                                body.len()
                            );
                            if conn
                                .write_all(head.as_bytes())
                                .and_then(|()| conn.write_all(body))
                                .is_err()
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
        // Truncated JSON, HTML instead of JSON, and JSON of the wrong shape.
        for (status, ct, body) in [
            (200, "application/json", &b"{\"data\":{\"data\":{\"k\":\"v\""[..]),
            (200, "text/html", &b"<html>login</html>"[..]),
            (200, "application/json", &b"[1,2,3]"[..]),
            (502, "text/plain", &b"bad gateway"[..]),
        ] {
            let r = vault(canned(status, ct, body));
            let e = r.get("vault://secret/app?mount=secret&kv=2").await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::NotFound | ErrorKind::Unauthenticated | ErrorKind::Other),
                "{status} {ct}: {e}"
            );
            assert!(!e.to_string().is_empty());
        }
        let gcp = |addr: String| {
            let store = creds::gcp::GcpSmStoreBuilder::from_env()
                .with_endpoint(addr)
                .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
                .build();
            Resolver::builder().with_store(store).build()
        };
        for (status, ct, body) in [
            (200, "application/json", &b"{\"name\":\"projects/p/secrets/s/versions/1\",\"payload\":{\"data\":\"!!notbase64"[..]),
            (200, "text/html", &b"<html>captive portal</html>"[..]),
            (200, "application/json", &b"{\"name\":42}"[..]),
            (200, "application/json", &b"{\"name\":\"projects/p/secrets/s/versions/1\"}"[..]),
        ] {
            let r = gcp(canned(status, ct, body));
            let e = r.get("gcp-sm://p/s/1").await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Decode | ErrorKind::NotFound | ErrorKind::Unavailable | ErrorKind::Other),
                "{ct}: {e}"
            );
        }
    });
}
