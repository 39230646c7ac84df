//! creds-azure through the official client, against the Azure SDK teams' own recorded traffic
//! (`shared/conformance/azure/`, test-proxy JSON), served by a replay transport.
//!
//! The transport matches each request on method, path, api-version and body, takes the first
//! unused entry that matches, and fails the test for a request that is not in the recording.
//! As Key Vault does, an unauthenticated request is only ever answered with the 401 challenge, so
//! every value read here was asked for with a token. One liberty: a client sends its first request
//! unauthenticated; when a recording has no unauthenticated entry for that request, the
//! recording's own 401 challenge is served.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{AsyncRawResponse, HttpClient, Request, StatusCode, Transport};
use creds_azure::AzureKvStoreBuilder;
use creds_core::{ErrorKind, Reference, Resolver, Store};
use creds_test_support::rt_local as rt;
use serde_json::Value;

fn conformance() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/azure");
    assert!(
        dir.exists(),
        "the conformance recordings are at {}",
        dir.display()
    );
    dir
}

#[derive(Debug)]
struct Entry {
    method: String,
    path: String,
    api_version: Option<String>,
    body: Option<Value>,
    status: u16,
    headers: Vec<(String, String)>,
    response: Vec<u8>,
    used: bool,
}

/// Serves a recording; remembers what it could not serve.
#[derive(Debug)]
struct Replay {
    entries: Mutex<Vec<Entry>>,
    unmatched: Mutex<Vec<String>>,
    /// The `authorization` header of each authenticated request.
    authorizations: Mutex<Vec<String>>,
}

fn split(uri: &str) -> (String, Option<String>) {
    let url = azure_core::http::Url::parse(uri).unwrap();
    let api = url
        .query_pairs()
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.into_owned());
    (url.path().to_string(), api)
}

impl Replay {
    fn load(file: &str) -> Arc<Replay> {
        let text = std::fs::read_to_string(conformance().join(file)).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let entries = doc["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let (path, api_version) = split(e["RequestUri"].as_str().unwrap());
                let headers = e["ResponseHeaders"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                Entry {
                    method: e["RequestMethod"].as_str().unwrap().to_string(),
                    path,
                    api_version,
                    body: e["RequestBody"]
                        .as_object()
                        .map(|_| e["RequestBody"].clone()),
                    status: e["StatusCode"].as_u64().unwrap() as u16,
                    headers,
                    response: serde_json::to_vec(&e["ResponseBody"]).unwrap(),
                    used: false,
                }
            })
            .collect();
        Arc::new(Replay {
            entries: Mutex::new(entries),
            unmatched: Mutex::new(Vec::new()),
            authorizations: Mutex::new(Vec::new()),
        })
    }

    fn unmatched(&self) -> Vec<String> {
        self.unmatched.lock().unwrap().clone()
    }
}

#[async_trait]
impl HttpClient for Replay {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method = request.method().to_string().to_uppercase();
        let (path, api_version) = split(request.url().as_str());
        let body: Option<Value> = match request.body() {
            azure_core::http::Body::Bytes(b) if !b.is_empty() => serde_json::from_slice(b).ok(),
            _ => None,
        };
        let authorization = request
            .headers()
            .get_optional_str(&"authorization".into())
            .map(str::to_string);
        let authorized = authorization.is_some();
        self.authorizations.lock().unwrap().extend(authorization);
        let mut entries = self.entries.lock().unwrap();
        let matches = |e: &Entry| {
            !e.used
                && e.method == method
                && e.path.trim_end_matches('/') == path.trim_end_matches('/')
                && e.path.ends_with('/') == path.ends_with('/')
                && e.api_version == api_version
                && (authorized == (e.status != 401))
                && (e.status == 401 || e.body == body)
        };
        let index = entries.iter().position(matches).or_else(|| {
            // The challenge: any recorded 401 answers a first, unauthenticated request.
            (!authorized)
                .then(|| entries.iter().position(|e| e.status == 401))
                .flatten()
        });
        let Some(i) = index else {
            self.unmatched.lock().unwrap().push(format!(
                "{method} {path} api-version={api_version:?} body={body:?}"
            ));
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Io,
                "no recorded response for this request",
            ));
        };
        let e = &mut entries[i];
        if e.status != 401 {
            e.used = true;
        }
        let mut headers = azure_core::http::headers::Headers::new();
        for (k, v) in &e.headers {
            headers.insert(k.to_ascii_lowercase(), v.clone());
        }
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::from(e.status),
            headers,
            e.response.clone(),
        ))
    }
}

/// A credential that checks the scope Key Vault's challenge leads to.
#[derive(Debug, Default)]
struct TestCredential {
    asked: Mutex<Vec<String>>,
}

#[async_trait]
impl TokenCredential for TestCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        assert_eq!(
            scopes,
            ["https://vault.azure.net/.default"],
            "the scope of the challenge"
        );
        self.asked
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        Ok(AccessToken::new(
            "test-token",
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

fn resolver(replay: &Arc<Replay>, credential: &Arc<TestCredential>, api: &str) -> Resolver {
    let store = AzureKvStoreBuilder::from_env()
        .with_credential(credential.clone())
        .with_api_version(api)
        .with_transport(Transport::new(replay.clone()))
        .build();
    Resolver::builder().with_store(store).build()
}

#[test]
fn crud_recording_write_then_latest_and_pinned_reads() {
    let replay =
        Replay::load("test_secrets_client.pyTestSecretClienttest_secret_crud_operations[7.3].json");
    let cred = Arc::new(TestCredential::default());
    let r = resolver(&replay, &cred, "7.3");
    rt().block_on(async {
        let written = r
            .set("azure-kv://vaultname/livekvtestcrud-secretc9fc2fa2", b"crud_secret_value")
            .await
            .unwrap();
        assert_eq!(written.version.as_deref(), Some("492ea3ca4ddf49fe86f14703bb4df515"));
        let latest = r.get("azure-kv://vaultname/livekvtestcrud-secretc9fc2fa2").await.unwrap();
        assert_eq!(latest.expose_str().unwrap(), "crud_secret_value");
        assert_eq!(latest.version(), Some("10bbeb77e8bd4d898ede5d9fce2dfeae"));
        let m = latest.metadata();
        assert_eq!(m.content_type.as_deref(), Some("password"));
        assert_eq!(m.attributes.get("enabled").map(String::as_str), Some("true"));
        assert_eq!(m.attributes.get("tag.foo").map(String::as_str), Some("created tag"));
        assert!(m.attributes.contains_key("not_before") && m.attributes.contains_key("updated"));
        let exp = m.expires.unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(exp, 2_527_401_600);
        assert_eq!(
            m.created.unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            1_648_763_247
        );
        assert!(!format!("{latest:?}").contains("crud_secret_value"));
        let pinned = r
            .get("azure-kv://vaultname/livekvtestcrud-secretc9fc2fa2/10bbeb77e8bd4d898ede5d9fce2dfeae")
            .await
            .unwrap();
        assert_eq!(pinned.version(), Some("10bbeb77e8bd4d898ede5d9fce2dfeae"));
    });
    assert_eq!(replay.unmatched(), Vec::<String>::new());
    assert!(
        !cred.asked.lock().unwrap().is_empty(),
        "the challenge led to a token"
    );
}

#[test]
fn real_not_found_body() {
    let replay = Replay::load("recording_can_get_a_secret_non_existing.json");
    let cred = Arc::new(TestCredential::default());
    let r = resolver(&replay, &cred, "7.4-preview.1");
    rt().block_on(async {
        let e = r
            .get("azure-kv://keyvault_name/CRUDSecretName-cangetasecretNonExisting-")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains("SecretNotFound"), "{e}");
        assert!(e.kind().falls_through());
    });
    assert_eq!(replay.unmatched(), Vec::<String>::new());
}

#[test]
fn disabled_secret_is_reported_as_disabled() {
    let replay = Replay::load("recording_cant_get_a_disabled_secret.json");
    let cred = Arc::new(TestCredential::default());
    let r = resolver(&replay, &cred, "7.4-preview.1");
    rt().block_on(async {
        let e = r
            .get("azure-kv://keyvault_name/CRUDSecretName-cantgetadisabledsecret-")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disabled, "{e}");
        assert!(e.to_string().contains("disabled"), "{e}");
        assert!(
            !e.kind().falls_through(),
            "a disabled secret is a misconfiguration"
        );
    });
    assert_eq!(replay.unmatched(), Vec::<String>::new());
}

#[test]
fn pinned_versions_of_a_paged_recording() {
    let replay = Replay::load("recording_can_retrieve_all_versions_of_a_secret_by_page.json");
    let cred = Arc::new(TestCredential::default());
    let r = resolver(&replay, &cred, "7.3");
    let name = "listSecretName-canretrieveallversionsofasecretbypage-";
    rt().block_on(async {
        for (version, value) in [
            ("67889ccc5ed94c728c202fb7ba3461d6", "SECRET_VALUE2"),
            ("797c9751f92e4510a95a61b67fe267d2", "SECRET_VALUE1"),
            ("85e14505e93b4995bce85d446734357f", "SECRET_VALUE0"),
        ] {
            let s = r
                .get(format!("azure-kv://keyvault_name/{name}/{version}"))
                .await
                .unwrap();
            assert_eq!(s.expose_str().unwrap(), value);
            assert_eq!(s.version(), Some(version));
        }
    });
    assert_eq!(replay.unmatched(), Vec::<String>::new());
}

/// Recorded answers replaced by ones that break the protocol, each carrying a value: the error is
/// unavailable (as for every store) and never quotes the body.
#[test]
fn answers_that_break_the_protocol_are_unavailable_and_never_quoted() {
    let name = "listSecretName-canretrieveallversionsofasecretbypage-";
    let version = "67889ccc5ed94c728c202fb7ba3461d6";
    for (content_type, body) in [
        (
            "application/json",
            &br#"{"value":"canary-proto-az1","id":"https://keyvault_name"#[..],
        ),
        ("text/html", &b"<html>canary-proto-az2</html>"[..]),
        ("application/json", &br#"["canary-proto-az3"]"#[..]),
        (
            "application/json",
            &br#"{"value":42,"id":"canary-proto-az4"}"#[..],
        ),
        (
            "application/json",
            &br#"{"attributes":{"enabled":true}}"#[..],
        ),
    ] {
        let replay = Replay::load("recording_can_retrieve_all_versions_of_a_secret_by_page.json");
        for e in replay
            .entries
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|e| e.method == "GET" && e.path.ends_with(version))
        {
            e.response = body.to_vec();
            e.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            e.headers.push(("Content-Type".into(), content_type.into()));
        }
        let cred = Arc::new(TestCredential::default());
        let r = resolver(&replay, &cred, "7.3");
        let e = rt()
            .block_on(r.get(format!("azure-kv://keyvault_name/{name}/{version}")))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{content_type}: {e}");
        let shown = format!("{} {e:?}", creds_core::chain_text(&e));
        assert!(!shown.contains("canary-proto"), "{shown}");
        assert_eq!(replay.unmatched(), Vec::<String>::new());
    }
}

#[test]
fn a_request_not_in_the_recording_fails() {
    let replay = Replay::load("recording_can_get_a_secret_non_existing.json");
    let cred = Arc::new(TestCredential::default());
    let r = resolver(&replay, &cred, "7.4-preview.1");
    rt().block_on(async {
        let e = r
            .get("azure-kv://keyvault_name/some-other-secret")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    });
    assert_eq!(replay.unmatched().len(), 1);
}

#[test]
fn returned_id_and_validity_window_are_checked() {
    // The recorded answer for one name, asked for under another vault host: the id does not
    // match, so the value is refused as an integrity failure. Copies edited by the test give an
    // expired and a not-yet-valid secret.
    let dir = std::env::temp_dir().join(format!("creds-azure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read_to_string(
        conformance()
            .join("test_secrets_client.pyTestSecretClienttest_secret_crud_operations[7.3].json"),
    )
    .unwrap();
    let mut doc: Value = serde_json::from_str(&src).unwrap();
    let edit = |doc: &mut Value, f: &dyn Fn(&mut Value)| {
        for e in doc["Entries"].as_array_mut().unwrap() {
            if e["RequestMethod"] == "GET" && e["StatusCode"] == 200 {
                f(&mut e["ResponseBody"]);
            }
        }
    };
    let run = |doc: &Value, reference: &str| {
        let file = dir.join("edited.json");
        std::fs::write(&file, serde_json::to_vec(doc).unwrap()).unwrap();
        let replay = Replay::load(file.to_str().unwrap());
        let cred = Arc::new(TestCredential::default());
        let store = AzureKvStoreBuilder::from_env()
            .with_credential(cred)
            .with_api_version("7.3")
            .with_transport(Transport::new(replay))
            .build();
        rt().block_on(store.get(&reference.parse::<Reference>().unwrap()))
    };
    let name = "livekvtestcrud-secretc9fc2fa2";
    let mut other = doc.clone();
    edit(&mut other, &|b| {
        b["id"] = Value::String(format!(
            "https://othervault.vault.azure.net/secrets/{name}/10bbeb77e8bd4d898ede5d9fce2dfeae"
        ))
    });
    let e = run(&other, &format!("azure-kv://vaultname/{name}")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let e = run(
        &doc,
        &format!("azure-kv://vaultname/{name}/00000000000000000000000000000000"),
    )
    .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Unavailable,
        "not in the recording: {e}"
    );
    let mut expired = doc.clone();
    edit(&mut expired, &|b| {
        b["attributes"]["exp"] = Value::from(1_600_000_000u64)
    });
    let e = run(&expired, &format!("azure-kv://vaultname/{name}")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disabled);
    assert!(
        e.to_string().contains("expired") && e.to_string().contains("exp"),
        "{e}"
    );
    edit(&mut doc, &|b| {
        b["attributes"]["nbf"] = Value::from(4_000_000_000u64)
    });
    let e = run(&doc, &format!("azure-kv://vaultname/{name}")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disabled);
    assert!(
        e.to_string().contains("not valid before") && e.to_string().contains("nbf"),
        "{e}"
    );
}

/// Managed identity through the default credential (no credential given to the builder), as on
/// App Service or Container Apps: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` name the local
/// token endpoint, which a server here answers as Azure's documents; Key Vault's requests then
/// carry that token. The variables are the process's, so the test runs itself again as a child
/// with them set; the token server runs here, in the parent.
#[test]
fn the_default_credential_gets_a_managed_identity_token() {
    const CHILD: &str = "CREDS_TEST_AZURE_MI_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let replay = Replay::load(
            "test_secrets_client.pyTestSecretClienttest_secret_crud_operations[7.3].json",
        );
        let store = AzureKvStoreBuilder::from_env()
            .with_api_version("7.3")
            .with_transport(Transport::new(replay.clone()))
            .build();
        let r = Resolver::builder().with_store(store).build();
        let s = rt()
            .block_on(r.get("azure-kv://vaultname/livekvtestcrud-secretc9fc2fa2"))
            .unwrap();
        assert_eq!(s.expose_str().unwrap(), "crud_secret_value");
        assert_eq!(replay.unmatched(), Vec::<String>::new());
        let auth = replay.authorizations.lock().unwrap().clone();
        assert_eq!(auth, ["Bearer creds-mi-token"]);
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/msi/token", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut head = Vec::new();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_string());
            }
            let ok = head
                .iter()
                .any(|h| h.eq_ignore_ascii_case("x-identity-header: creds-test-header"));
            seen.lock()
                .unwrap()
                .push(head.first().cloned().unwrap_or_default());
            let expires = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 3600;
            let (status, body) = if ok {
                (
                    "200 OK",
                    format!(
                        r#"{{"access_token":"creds-mi-token","expires_on":"{expires}","token_type":"Bearer","resource":"https://vault.azure.net"}}"#
                    ),
                )
            } else {
                (
                    "400 Bad Request",
                    r#"{"error":"no identity header"}"#.to_string(),
                )
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    creds_test_support::run_as_child(
        "the_default_credential_gets_a_managed_identity_token",
        |cmd| {
            cmd.env(CHILD, "1")
                .env("IDENTITY_ENDPOINT", &endpoint)
                .env("IDENTITY_HEADER", "creds-test-header");
            for var in [
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_CLIENT_SECRET",
                "AZURE_FEDERATED_TOKEN_FILE",
                "IDENTITY_SERVER_THUMBPRINT",
                "IMDS_ENDPOINT",
                "MSI_ENDPOINT",
            ] {
                cmd.env_remove(var);
            }
        },
    );
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "one token request: {asked:?}");
    assert!(
        asked[0].starts_with("GET /msi/token?") && asked[0].contains("resource=https"),
        "{asked:?}"
    );
}
