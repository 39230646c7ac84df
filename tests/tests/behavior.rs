//! The behaviour suite against every local store: env, dotenv, file, and the keyring through the
//! Secret Service and keyutils.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use creds::aws::{SecretsManagerStore, SsmStore};
use creds::local::{DotenvStore, EnvStore, FileStore, KeyringBackend, KeyringStore};
use creds::{Reference, Resolver, Store, async_trait};
use creds_test_support::rt;
use creds_tests::{Fixture, SharedEnv, run_suite, services_required};

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

/// AWS Secrets Manager: values written with the official SDK (text as SecretString, other bytes
/// as SecretBinary).
struct AwsSm {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

#[async_trait]
impl Fixture for AwsSm {
    fn name(&self) -> &str {
        "aws-sm"
    }
    async fn put(&self, key: &str, value: &[u8]) -> String {
        let name = format!("{}/{key}", self.prefix);
        let req = self.client.create_secret().name(&name);
        let req = match std::str::from_utf8(value) {
            Ok(text) => req.secret_string(text),
            Err(_) => req.secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(value)),
        };
        req.send().await.unwrap();
        format!("aws-sm://{name}")
    }
    fn missing(&self, key: &str) -> String {
        format!("aws-sm://{}/{key}", self.prefix)
    }
    fn template(&self) -> String {
        format!("aws-sm://{}/{{name}}", self.prefix)
    }
    fn resolver(&self) -> Resolver {
        Resolver::builder()
            .with_store(SecretsManagerStore::from_env())
            .build()
    }
}

/// AWS SSM Parameter Store: SecureString parameters written with the official SDK (text only).
struct AwsSsm {
    client: aws_sdk_ssm::Client,
    prefix: String,
}

#[async_trait]
impl Fixture for AwsSsm {
    fn name(&self) -> &str {
        "aws-ssm"
    }
    async fn put(&self, key: &str, value: &[u8]) -> String {
        let name = format!("{}/{key}", self.prefix);
        self.client
            .put_parameter()
            .name(&name)
            .value(std::str::from_utf8(value).unwrap())
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
        format!("aws-ssm://{name}")
    }
    fn missing(&self, key: &str) -> String {
        format!("aws-ssm://{}/{key}", self.prefix)
    }
    fn template(&self) -> String {
        format!("aws-ssm://{}/{{name}}", self.prefix)
    }
    fn binary(&self) -> bool {
        false
    }
    fn resolver(&self) -> Resolver {
        Resolver::builder().with_store(SsmStore::from_env()).build()
    }
}

#[test]
fn aws_secrets_manager() {
    if creds_test_support::service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let fixture = AwsSm {
            client: aws_sdk_secretsmanager::Client::new(&sdk),
            prefix: creds_tests::unique("behaviour"),
        };
        run_suite(&fixture).await;
    });
}

#[test]
fn aws_parameter_store() {
    if creds_test_support::service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let fixture = AwsSsm {
            client: aws_sdk_ssm::Client::new(&sdk),
            prefix: format!("/{}", creds_tests::unique("behaviour")),
        };
        run_suite(&fixture).await;
    });
}

/// Vault/OpenBao KV v2: written with the bao CLI. A JSON object becomes the secret's data; any
/// other text is stored under the field `value` and read through `#value`.
struct Vault {
    prefix: String,
}

#[async_trait]
impl Fixture for Vault {
    fn name(&self) -> &str {
        "vault"
    }
    async fn put(&self, key: &str, value: &[u8]) -> String {
        let text = std::str::from_utf8(value).unwrap();
        let path = format!("{}/{key}", self.prefix);
        let is_object = serde_json_is_object(text);
        if is_object {
            creds_test_support::bao(&["kv", "put", "-mount=secret", &path, "-"], Some(text));
            format!("vault://secret/{path}")
        } else {
            creds_test_support::bao(
                &["kv", "put", "-mount=secret", &path, "value=-"],
                Some(text),
            );
            format!("vault://secret/{path}#value")
        }
    }
    fn missing(&self, key: &str) -> String {
        format!("vault://secret/{}/{key}", self.prefix)
    }
    fn template(&self) -> String {
        format!("vault://secret/{}/{{name}}#value", self.prefix)
    }
    fn binary(&self) -> bool {
        false
    }
    fn maps_only(&self) -> bool {
        true
    }
    fn resolver(&self) -> Resolver {
        Resolver::builder()
            .with_store(creds::vault::VaultStore::from_env())
            .build()
    }
}

fn serde_json_is_object(text: &str) -> bool {
    text.trim_start().starts_with('{') && text.trim_end().ends_with('}')
}

#[test]
fn vault_kv2() {
    if creds_test_support::service("VAULT_ADDR", "OpenBao").is_none() {
        return;
    }
    rt().block_on(run_suite(&Vault {
        prefix: creds_tests::unique("behaviour"),
    }));
}
