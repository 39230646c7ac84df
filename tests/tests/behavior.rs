//! The behaviour suite against every local store: env, dotenv, file, and the keyring through the
//! Secret Service and keyutils.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use creds::local::{DotenvStore, EnvStore, FileStore, KeyringBackend, KeyringStore};
use creds::{Reference, Resolver, Store, async_trait};
use creds_tests::{Fixture, SharedEnv, run_suite, services_required};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Env {
    env: SharedEnv,
}

#[async_trait]
impl Fixture for Env {
    fn name(&self) -> &str {
        "env"
    }
    async fn put(&self, key: &str, value: &[u8]) -> String {
        use std::os::unix::ffi::OsStringExt;
        let var = key.to_uppercase();
        self.env.set(&var, OsString::from_vec(value.to_vec()));
        format!("env://{var}")
    }
    fn missing(&self, key: &str) -> String {
        format!("env://{}", key.to_uppercase())
    }
    fn template(&self) -> String {
        "env://{NAME}".into()
    }
    fn resolver(&self) -> Resolver {
        Resolver::builder()
            .with_store(EnvStore::new(Arc::new(self.env.clone())))
            .build()
    }
}

struct Dotenv {
    dir: tempfile::TempDir,
}

#[async_trait]
impl Fixture for Dotenv {
    fn name(&self) -> &str {
        "dotenv"
    }
    async fn put(&self, key: &str, value: &[u8]) -> String {
        // One file per key, written as a person would: single quotes keep JSON intact.
        let path = self.dir.path().join(format!("{key}.env"));
        let text = String::from_utf8(value.to_vec()).expect("dotenv holds text");
        std::fs::write(
            &path,
            format!("# written by the behaviour suite\n{key}='{text}'\n"),
        )
        .unwrap();
        format!("dotenv://{key}?path={key}.env")
    }
    fn missing(&self, key: &str) -> String {
        std::fs::write(self.dir.path().join(".env"), "OTHER=1\n").unwrap();
        format!("dotenv://{key}")
    }
    fn template(&self) -> String {
        "dotenv://{name}?path={name}.env".into()
    }
    fn binary(&self) -> bool {
        false
    }
    fn resolver(&self) -> Resolver {
        let env = SharedEnv::new(Some(self.dir.path().to_path_buf()));
        Resolver::builder()
            .with_store(DotenvStore::new(Arc::new(env)))
            .build()
    }
}

struct File {
    dir: tempfile::TempDir,
}

impl File {
    fn path(&self, key: &str) -> PathBuf {
        self.dir.path().join("run/secrets").join(key)
    }
}

#[async_trait]
impl Fixture for File {
    fn name(&self) -> &str {
        "file"
    }
    async fn put(&self, key: &str, value: &[u8]) -> String {
        let path = self.path(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, value).unwrap();
        format!("file://{}", path.display())
    }
    fn missing(&self, key: &str) -> String {
        format!("file://{}", self.path(key).display())
    }
    fn template(&self) -> String {
        format!("file://{}/run/secrets/{{name}}", self.dir.path().display())
    }
    fn resolver(&self) -> Resolver {
        Resolver::builder()
            .with_store(FileStore::new(Arc::new(SharedEnv::default())))
            .build()
    }
}

struct Keyring {
    store: KeyringStore,
    label: &'static str,
}

#[async_trait]
impl Fixture for Keyring {
    fn name(&self) -> &str {
        self.label
    }
    async fn put(&self, key: &str, value: &[u8]) -> String {
        let r = format!("keyring://creds-behaviour/{key}");
        self.store
            .set(&r.parse::<Reference>().unwrap(), value)
            .await
            .unwrap();
        r
    }
    fn missing(&self, key: &str) -> String {
        format!("keyring://creds-behaviour/{key}")
    }
    fn template(&self) -> String {
        "keyring://creds-behaviour/{name}".into()
    }
    fn resolver(&self) -> Resolver {
        Resolver::builder().with_store(self.store.clone()).build()
    }
}

#[test]
fn env_store() {
    rt().block_on(run_suite(&Env {
        env: SharedEnv::default(),
    }));
}

#[test]
fn dotenv_store() {
    rt().block_on(run_suite(&Dotenv {
        dir: tempfile::tempdir().unwrap(),
    }));
}

#[test]
fn file_store() {
    rt().block_on(run_suite(&File {
        dir: tempfile::tempdir().unwrap(),
    }));
}

#[test]
fn keyring_secret_service() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(!services_required(), "the Secret Service must be up");
        eprintln!("skipped: no session bus");
        return;
    }
    let store = KeyringStore::builder()
        .with_backend(KeyringBackend::SecretService)
        .build();
    rt().block_on(run_suite(&Keyring {
        store,
        label: "keyring (Secret Service)",
    }));
}

#[test]
fn keyring_keyutils() {
    let store = KeyringStore::builder()
        .with_backend(KeyringBackend::Keyutils)
        .build();
    rt().block_on(async {
        if let Err(e) = store.connect().await {
            assert!(!services_required(), "keyutils must work: {e}");
            eprintln!("skipped: {e}");
            return;
        }
        run_suite(&Keyring {
            store,
            label: "keyring (keyutils)",
        })
        .await;
    });
}
