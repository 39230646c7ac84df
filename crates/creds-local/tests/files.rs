//! env, dotenv and file stores against a real environment map, real files and directories.

use std::sync::Arc;

use creds_core::{ErrorKind, Resolver, StaticEnv, Store, StoreExt};
use creds_local::{DotenvStore, EnvStore, FileStore};
use creds_test_support::{rt_local as rt, write_file};

const CANARY: &str = "canary-41c2-local-value";

#[test]
fn env_store_reads_injected_environment() {
    rt().block_on(async {
        let env = StaticEnv::new()
            .with_var("API_KEY", CANARY)
            .with_var("EMPTY", "")
            .with_var("JSON", r#"{"user":"u"}"#);
        let store = EnvStore::new(Arc::new(env));
        let s = store.fetch("env://API_KEY").await.unwrap();
        assert_eq!(s.expose_str().unwrap(), CANARY);
        assert_eq!(s.source(), Some("env"));
        assert_eq!(store.fetch("env://EMPTY").await.unwrap().len(), 0);
        assert_eq!(
            store
                .fetch("env://JSON#user")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "u"
        );
        let e = store.fetch("env://MISSING").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("MISSING"));
        assert_eq!(e.reference(), Some("env://MISSING"));
        assert_eq!(
            store.fetch("env://API_KEY").await.unwrap().len(),
            CANARY.len()
        );
        let e = store
            .set(&"env://API_KEY".parse().unwrap(), b"x")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    });
}

#[cfg(unix)]
#[test]
fn env_store_returns_non_utf8_bytes() {
    use std::os::unix::ffi::OsStringExt;
    rt().block_on(async {
        let env = StaticEnv::new().with_var("BIN", std::ffi::OsString::from_vec(vec![0xff, 0x01]));
        let s = EnvStore::new(Arc::new(env))
            .fetch("env://BIN")
            .await
            .unwrap();
        assert_eq!(s.expose_secret(), &[0xff, 0x01]);
        assert_eq!(s.expose_str().unwrap_err().kind(), ErrorKind::Decode);
    });
}

#[test]
fn env_store_reads_the_process_environment() {
    // PATH is set in every test environment; nothing is written to the environment.
    rt().block_on(async {
        let s = EnvStore::from_env().fetch("env://PATH").await.unwrap();
        assert_eq!(s.expose_str().unwrap(), std::env::var("PATH").unwrap());
    });
}

#[test]
fn dotenv_store_parses_files_without_touching_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        ".env",
        format!(
            "# comment\nAPI_KEY={CANARY}\nexport EXPORTED=yes\nQUOTED=\"two words\"\nSINGLE='$NOT_EXPANDED'\nBASE=base\nDERIVED=${{BASE}}-x\nJSON='{{\"a\":{{\"b\":[1,2]}}}}'\nDUP=first\nDUP=second\nEMPTY=\n"
        )
        .as_bytes(),
        0o600,
    );
    write_file(dir.path(), "config/.env", b"OTHER=from-config\n", 0o600);
    let env = Arc::new(StaticEnv::new().with_current_dir(dir.path()));
    let store = DotenvStore::new(env);
    rt().block_on(async {
        let get = |r: &'static str| {
            let store = store.clone();
            async move { store.fetch(r).await }
        };
        assert_eq!(
            get("dotenv://API_KEY").await.unwrap().expose_str().unwrap(),
            CANARY
        );
        assert_eq!(
            get("dotenv://EXPORTED")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "yes"
        );
        assert_eq!(
            get("dotenv://QUOTED").await.unwrap().expose_str().unwrap(),
            "two words"
        );
        assert_eq!(
            get("dotenv://SINGLE").await.unwrap().expose_str().unwrap(),
            "$NOT_EXPANDED"
        );
        assert_eq!(
            get("dotenv://DERIVED").await.unwrap().expose_str().unwrap(),
            "base-x"
        );
        assert_eq!(
            get("dotenv://JSON#/a/b/1")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "2"
        );
        assert_eq!(
            get("dotenv://DUP").await.unwrap().expose_str().unwrap(),
            "second"
        );
        assert_eq!(get("dotenv://EMPTY").await.unwrap().len(), 0);
        assert_eq!(
            get("dotenv://OTHER?path=config/.env")
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "from-config"
        );
        let abs = format!("dotenv://OTHER?path={}/config/.env", dir.path().display());
        assert_eq!(
            store
                .fetch(abs.as_str())
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "from-config"
        );

        let e = get("dotenv://NOPE").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("NOPE"));
        let e = get("dotenv://API_KEY?path=missing.env").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("missing.env"), "{e}");
    });
    assert!(
        std::env::var_os("API_KEY").is_none(),
        "the process environment is untouched"
    );
}

#[test]
fn dotenv_parse_errors_give_position_never_the_line() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        ".env",
        format!("GOOD=1\nBAD LINE {CANARY}\n").as_bytes(),
        0o600,
    );
    let store = DotenvStore::new(Arc::new(StaticEnv::new().with_current_dir(dir.path())));
    rt().block_on(async {
        let e = store.fetch("dotenv://GOOD").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        let text = format!("{e} {e:?}");
        assert!(!text.contains(CANARY), "{text}");
        assert!(text.contains("entry 2"), "{text}");
    });
}

#[test]
fn file_store_reads_mounted_secrets_with_the_newline_rule() {
    let dir = tempfile::tempdir().unwrap();
    let abs = write_file(
        dir.path(),
        "run/secrets/db_password",
        format!("{CANARY}\n").as_bytes(),
        0o400,
    );
    write_file(dir.path(), "two_newlines", b"v\n\n", 0o600);
    write_file(dir.path(), "crlf", b"v\r\n", 0o600);
    write_file(dir.path(), "none", b"v", 0o600);
    write_file(dir.path(), "binary", [0, 1, 2, 0xff, b'\n'], 0o600);
    write_file(dir.path(), "json", br#"{"user":"u","password":"p"}"#, 0o600);
    write_file(dir.path(), "creds/db", b"from-systemd\n", 0o600);
    write_file(dir.path(), "big", vec![b'x'; 2048], 0o600);
    std::fs::create_dir_all(dir.path().join("adir")).unwrap();
    let env = Arc::new(
        StaticEnv::new()
            .with_current_dir(dir.path())
            .with_var("CREDENTIALS_DIRECTORY", dir.path().join("creds")),
    );
    let store = FileStore::new(env).with_max_size(1024);
    rt().block_on(async {
        let get = |r: String| {
            let store = store.clone();
            async move { store.fetch(r).await }
        };
        let s = get(format!("file://{}", abs.display())).await.unwrap();
        assert_eq!(s.expose_str().unwrap(), CANARY);
        assert_eq!(s.source(), Some("file"));
        let raw = get(format!("file://{}?raw=true", abs.display()))
            .await
            .unwrap();
        assert_eq!(raw.expose_str().unwrap(), format!("{CANARY}\n"));
        assert_eq!(
            get("file://run/secrets/db_password".into())
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            CANARY
        );
        assert_eq!(
            get("file://two_newlines".into())
                .await
                .unwrap()
                .expose_secret(),
            b"v\n"
        );
        assert_eq!(
            get("file://crlf".into()).await.unwrap().expose_secret(),
            b"v"
        );
        assert_eq!(
            get("file://none".into()).await.unwrap().expose_secret(),
            b"v"
        );
        assert_eq!(
            get("file://binary".into()).await.unwrap().expose_secret(),
            &[0, 1, 2, 0xff]
        );
        assert_eq!(
            get("file://json#password".into())
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "p"
        );
        assert_eq!(
            get("file://$CREDENTIALS_DIRECTORY/db".into())
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "from-systemd"
        );

        let e = get("file://missing".into()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("missing"));
        let e = get("file://adir".into()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidReference);
        let e = get("file://big".into()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.to_string().contains("over the limit"));
    });
    // Without $CREDENTIALS_DIRECTORY the systemd form is unconfigured, so a chain goes on.
    let bare = FileStore::new(Arc::new(StaticEnv::new()));
    rt().block_on(async {
        let e = bare
            .fetch("file://$CREDENTIALS_DIRECTORY/db")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unconfigured);
    });
}

#[test]
fn unreadable_file_is_permission_denied() {
    if nix_is_root() {
        eprintln!("skipped: root reads every file");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "locked", b"v", 0o000);
    let store = FileStore::new(Arc::new(StaticEnv::new().with_current_dir(dir.path())));
    rt().block_on(async {
        let e = store.fetch("file://locked").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    });
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn register_adds_every_local_store() {
    let r = creds_local::register(Resolver::builder(), Arc::new(StaticEnv::new())).build();
    let schemes: Vec<_> = r.schemes().map(|s| s.as_str()).collect();
    assert!(schemes.contains(&"env") && schemes.contains(&"dotenv") && schemes.contains(&"file"));
    #[cfg(feature = "keyring")]
    assert!(schemes.contains(&"keyring"));
}

/// Found by fuzzing (`cargo xtask fuzz`, target `dotenv`): each line repeating the previous
/// variable made dotenvy's substitution grow exponentially until the process ran out of memory.
#[test]
fn exponential_substitution_is_refused() {
    let mut text = String::from("A=xxxxxxxxxxxxxxxx\n");
    let mut prev = "A".to_string();
    for i in 0..40 {
        let name = format!("V{i}");
        text.push_str(&format!("{name}=${prev}${prev}${{{prev}}}${prev}\n"));
        prev = name;
    }
    text.push_str("KEY=ok\n");
    let e = creds_local::dotenv_lookup(text.as_bytes(), "KEY", std::path::Path::new(".env"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.to_string().contains("substitution"), "{e}");
    // Modest substitution is fine.
    let ok = creds_local::dotenv_lookup(b"A=abc\nB=${A}-$A\n", "B", std::path::Path::new(".env"))
        .unwrap();
    assert_eq!(ok.unwrap().as_str(), "abc-abc");
}
