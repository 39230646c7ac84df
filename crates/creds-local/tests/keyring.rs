//! The keyring store against a real Secret Service (gnome-keyring on a private bus, started by
//! `cargo xtask ci`) and the real kernel keyring (under `keyctl session -`), and interoperability
//! with Python's `keyring` and `secret-tool`.
//!
//! Without `CREDS_TEST_SERVICES=1` a test whose service is missing is skipped with a message;
//! with it (as in `cargo xtask ci`) it fails.
#![cfg(feature = "keyring")]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use creds_core::{ErrorKind, Reference, StaticEnv, Store, StoreExt};
use creds_local::{KeyringBackend, KeyringStore};
use creds_test_support::{rt, services_required as required, unique};

/// Whether the Secret Service is reachable; panics when it must be.
fn secret_service_up() -> bool {
    let up = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
    if !up {
        assert!(
            !required(),
            "CREDS_TEST_SERVICES=1 but no DBUS_SESSION_BUS_ADDRESS"
        );
        eprintln!("skipped: no session bus (run under `cargo xtask services -- …`)");
    }
    up
}

fn reference(service: &str, user: &str) -> Reference {
    format!("keyring://{service}/{user}").parse().unwrap()
}

fn store(backend: KeyringBackend) -> KeyringStore {
    KeyringStore::builder().with_backend(backend).build()
}

async fn roundtrip(store: &KeyringStore) {
    let service = unique("rt");
    let text = reference(&service, "api_key");
    let missing = store.get(&text).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");

    store.set(&text, b"first-value").await.unwrap();
    assert_eq!(
        store.get(&text).await.unwrap().expose_str().unwrap(),
        "first-value"
    );
    store.set(&text, b"second-value").await.unwrap();
    let s = store.fetch(&text).await.unwrap();
    assert_eq!(s.expose_str().unwrap(), "second-value");
    assert_eq!(s.source(), Some("keyring"));

    let binary = reference(&service, "binary");
    let bytes = [0u8, 1, 2, 0xfe, 0xff, b'\n', 0];
    store.set(&binary, &bytes).await.unwrap();
    assert_eq!(store.get(&binary).await.unwrap().expose_secret(), &bytes);

    let json = reference(&service, "db");
    store
        .set(&json, br#"{"user":"app","password":"pw"}"#)
        .await
        .unwrap();
    let pw = store
        .fetch(format!("keyring://{service}/db#password"))
        .await
        .unwrap();
    assert_eq!(pw.expose_str().unwrap(), "pw");

    // A user part with slashes: split at the first `/` only.
    let slashed = reference(&service, "team/member");
    store.set(&slashed, b"s").await.unwrap();
    assert_eq!(
        store.get(&slashed).await.unwrap().expose_str().unwrap(),
        "s"
    );

    for r in [&text, &binary, &json, &slashed] {
        store.delete(r).await.unwrap();
        assert_eq!(store.get(r).await.unwrap_err().kind(), ErrorKind::NotFound);
    }
    assert_eq!(
        store.delete(&text).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn secret_service_set_get_delete() {
    if !secret_service_up() {
        return;
    }
    rt().block_on(async {
        let s = store(KeyringBackend::SecretService);
        roundtrip(&s).await;
        assert_eq!(s.backend(), KeyringBackend::SecretService);
    });
}

#[test]
fn keyutils_set_get_delete() {
    rt().block_on(async {
        let s = store(KeyringBackend::Keyutils);
        match s.connect().await {
            Ok(_) => roundtrip(&s).await,
            Err(e) if !required() => eprintln!("skipped: no kernel keyring: {e}"),
            Err(e) => panic!("kernel keyring unusable: {e}"),
        }
    });
}

#[test]
fn auto_prefers_the_secret_service_and_falls_back_to_keyutils() {
    rt().block_on(async {
        if secret_service_up() {
            let auto = KeyringStore::from_env();
            assert_eq!(auto.connect().await.unwrap(), KeyringBackend::SecretService);
        }
        // No session bus in this (injected) environment: keyutils.
        let headless = KeyringStore::builder()
            .with_environment(Arc::new(StaticEnv::new()))
            .build();
        match headless.connect().await {
            Ok(backend) => assert_eq!(backend, KeyringBackend::Keyutils),
            Err(e) if !required() => eprintln!("skipped: no kernel keyring: {e}"),
            Err(e) => panic!("{e}"),
        }
    });
}

#[test]
fn every_call_is_bounded_by_the_timeout() {
    if !secret_service_up() {
        return;
    }
    rt().block_on(async {
        let s = KeyringStore::builder()
            .with_backend(KeyringBackend::SecretService)
            .with_timeout(Duration::from_nanos(1))
            .build();
        let e = s.get(&reference("creds-timeout", "u")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.is_temporary());
        assert!(e.kind().falls_through());
    });
}

fn python() -> Option<String> {
    match std::env::var("CREDS_TEST_PYTHON") {
        Ok(p) => Some(p),
        Err(_) => {
            assert!(
                !required(),
                "CREDS_TEST_SERVICES=1 but no CREDS_TEST_PYTHON"
            );
            eprintln!("skipped: CREDS_TEST_PYTHON (a python with `keyring`) is not set");
            None
        }
    }
}

/// Runs Python's keyring with the Secret Service backend; `stdin` carries any value.
fn py_keyring(python: &str, code: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(code)
        .args(args)
        .env(
            "PYTHON_KEYRING_BACKEND",
            "keyring.backends.SecretService.Keyring",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python keyring failed");
    out.stdout
}

const PY_SET: &str =
    "import keyring, sys; keyring.set_password(sys.argv[1], sys.argv[2], sys.stdin.read())";
const PY_GET: &str = "import keyring, sys; v = keyring.get_password(sys.argv[1], sys.argv[2]); sys.stdout.write('<none>' if v is None else v)";

#[test]
fn interoperates_with_python_keyring() {
    if !secret_service_up() {
        return;
    }
    let Some(py) = python() else { return };
    rt().block_on(async {
        let s = store(KeyringBackend::SecretService);
        // Python writes, creds reads.
        let service = unique("py");
        py_keyring(&py, PY_SET, &[&service, "api_key"], b"written-by-python");
        let got = s.get(&reference(&service, "api_key")).await.unwrap();
        assert_eq!(got.expose_str().unwrap(), "written-by-python");

        // creds writes, Python reads.
        let service2 = unique("py");
        s.set(&reference(&service2, "token"), b"written-by-creds")
            .await
            .unwrap();
        let out = py_keyring(&py, PY_GET, &[&service2, "token"], b"");
        assert_eq!(out, b"written-by-creds");

        // creds overwrites Python's item in place; Python sees the new value.
        s.set(&reference(&service, "api_key"), b"updated-by-creds")
            .await
            .unwrap();
        assert_eq!(
            py_keyring(&py, PY_GET, &[&service, "api_key"], b""),
            b"updated-by-creds"
        );

        // Python writes after creds (a second item): creds reads the newest.
        py_keyring(&py, PY_SET, &[&service2, "token"], b"rewritten-by-python");
        let got = s.get(&reference(&service2, "token")).await.unwrap();
        assert_eq!(got.expose_str().unwrap(), "rewritten-by-python");

        // creds deletes; Python no longer finds it.
        s.delete(&reference(&service2, "token")).await.unwrap();
        assert_eq!(
            py_keyring(&py, PY_GET, &[&service2, "token"], b""),
            b"<none>"
        );
    });
}

#[test]
fn interoperates_with_secret_tool() {
    if !secret_service_up() {
        return;
    }
    rt().block_on(async {
        let s = store(KeyringBackend::SecretService);
        let service = unique("st");
        let mut child = Command::new("secret-tool")
            .args([
                "store",
                "--label=creds test",
                "service",
                &service,
                "username",
                "db",
            ])
            .stdin(Stdio::piped())
            .spawn()
            .expect("secret-tool runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"written-by-secret-tool")
            .unwrap();
        assert!(child.wait().unwrap().success());
        let got = s.get(&reference(&service, "db")).await.unwrap();
        assert_eq!(got.expose_str().unwrap(), "written-by-secret-tool");

        s.set(&reference(&service, "other"), b"written-by-creds")
            .await
            .unwrap();
        let out = Command::new("secret-tool")
            .args(["lookup", "service", &service, "username", "other"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"written-by-creds");
    });
}
