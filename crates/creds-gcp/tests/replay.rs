//! creds-gcp through the official client against a Google-published cassette recorded against
//! the real service (`shared/conformance/gcp/recorded/k8s-config-connector/tf.yaml`), served by a
//! loopback HTTP server reached through the endpoint override. Requests are matched on method,
//! path and body; a request that is not in the recording is answered 599 and fails the test.
//! Edited copies (made here, in memory) give a CRC32C mismatch, a wrong returned name and the
//! real NOT_FOUND body of the service's HTTP log.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use creds_core::{ErrorKind, Policy, Resolver};
use creds_gcp::GcpSmStoreBuilder;
use creds_test_support::run_as_child;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use yaml_rust2::YamlLoader;

const SECRET: &str = "secretmanagersecretversion-dep-2v5hqlif3igof";
const VALUE: &str = "I always loved sparring with giant candy swords, but I had no idea that was my super secret information!";

#[derive(Clone, Debug)]
struct Interaction {
    method: String,
    path: String,
    body: Option<serde_json::Value>,
    status: u16,
    response: String,
}

fn cassette() -> Vec<Interaction> {
    // `$CREDS_CONFORMANCE_DIR`, else `shared/conformance` beside the repository.
    let base = std::env::var_os("CREDS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    let file = base.join("gcp/recorded/k8s-config-connector/tf.yaml");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let docs = YamlLoader::load_from_str(&text).unwrap();
    docs[0]["interactions"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|i| {
            let url = i["request"]["url"].as_str().unwrap();
            let path = url
                .split_once("googleapis.com")
                .map(|(_, p)| p)
                .unwrap_or(url)
                .split('?')
                .next()
                .unwrap()
                .to_string();
            Interaction {
                method: i["request"]["method"].as_str().unwrap().to_string(),
                path,
                body: i["request"]["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str(b).ok()),
                status: i["response"]["code"].as_i64().unwrap() as u16,
                response: i["response"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            }
        })
        .collect()
}

/// Whether the recorded body is the request's body, or a part of it (the recorded client did not
/// send `dataCrc32c` with a new version; the official Rust client does).
fn subset(recorded: Option<&serde_json::Value>, sent: Option<&serde_json::Value>) -> bool {
    match (recorded, sent) {
        (None, _) => true,
        (Some(serde_json::Value::Object(r)), Some(serde_json::Value::Object(s))) => {
            r.iter().all(|(k, v)| subset(Some(v), s.get(k)))
        }
        (Some(r), Some(s)) => r == s,
        (Some(_), None) => false,
    }
}

/// A loopback server answering with recorded interactions.
struct Server {
    url: String,
    unmatched: Arc<Mutex<Vec<String>>>,
    /// The `authorization` header of each request (empty when there was none).
    authorizations: Arc<Mutex<Vec<String>>>,
}

async fn serve(interactions: Vec<Interaction>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let unmatched = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new(Mutex::new(
        interactions
            .into_iter()
            .map(|i| (i, false))
            .collect::<Vec<_>>(),
    ));
    let misses = unmatched.clone();
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let seen = authorizations.clone();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let state = state.clone();
            let misses = misses.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let head_end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p;
                        }
                        let mut chunk = [0u8; 4096];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    while buf.len() < head_end + 4 + len {
                        let mut chunk = [0u8; 4096];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    seen.lock().unwrap().push(
                        head.lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("authorization")
                                    .then(|| v.trim().to_string())
                            })
                            .unwrap_or_default(),
                    );
                    let body_bytes = buf[head_end + 4..head_end + 4 + len].to_vec();
                    buf.drain(..head_end + 4 + len);
                    let mut first = head.lines().next().unwrap_or("").split(' ');
                    let method = first.next().unwrap_or("").to_string();
                    let target = first.next().unwrap_or("").to_string();
                    let path = target.split('?').next().unwrap_or("").to_string();
                    let body: Option<serde_json::Value> = serde_json::from_slice(&body_bytes).ok();
                    let found = {
                        let mut s = state.lock().unwrap();
                        let pos = s.iter().position(|(i, used)| {
                            !used
                                && i.method == method
                                && i.path == path
                                && subset(i.body.as_ref(), body.as_ref())
                        });
                        pos.map(|p| {
                            s[p].1 = true;
                            s[p].0.clone()
                        })
                    };
                    let (status, text) = match found {
                        Some(i) => (i.status, i.response),
                        None => {
                            misses
                                .lock()
                                .unwrap()
                                .push(format!("{method} {path} {body:?}"));
                            (
                                599,
                                r#"{"error":{"code":599,"message":"not in the recording"}}"#
                                    .to_string(),
                            )
                        }
                    };
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if conn.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server {
        url,
        unmatched,
        authorizations,
    }
}

fn resolver(server: &Server) -> Resolver {
    let store = GcpSmStoreBuilder::from_env()
        .with_endpoint(&server.url)
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .build();
    Resolver::builder().with_store(store).build()
}

fn access_only(edit: impl Fn(&mut Interaction)) -> Vec<Interaction> {
    cassette()
        .into_iter()
        .filter(|i| i.path.ends_with(":access"))
        .map(|mut i| {
            edit(&mut i);
            i
        })
        .collect()
}

#[tokio::test]
async fn recorded_access_with_its_crc32c_and_project_number() {
    let server = serve(cassette()).await;
    let r = resolver(&server);
    let s = r
        .get(format!("gcp-sm://123456789/{SECRET}/1"))
        .await
        .unwrap();
    assert_eq!(s.expose_str().unwrap(), VALUE);
    assert_eq!(s.version(), Some("1"));
    assert_eq!(s.source(), Some("gcp-sm"));
    assert!(!format!("{s:?}").contains("candy"));
    // The resource-name form reads the same recorded version.
    let s = r
        .get(format!(
            "gcp-sm://projects/123456789/secrets/{SECRET}/versions/1"
        ))
        .await
        .unwrap();
    assert_eq!(s.expose_str().unwrap(), VALUE);
    assert_eq!(
        server.unmatched.lock().unwrap().clone(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_write_adds_a_version() {
    let server = serve(cassette()).await;
    let m = resolver(&server)
        .set(format!("gcp-sm://123456789/{SECRET}"), VALUE.as_bytes())
        .await
        .unwrap();
    assert_eq!(m.version.as_deref(), Some("1"));
    assert_eq!(
        server.unmatched.lock().unwrap().clone(),
        Vec::<String>::new()
    );
    // A different value is not what was recorded: refused by the replay.
    let server = serve(cassette()).await;
    resolver(&server)
        .set(format!("gcp-sm://123456789/{SECRET}"), b"other")
        .await
        .unwrap_err();
    assert_eq!(server.unmatched.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn crc32c_mismatch_is_an_integrity_error() {
    let server = serve(access_only(|i| {
        i.response = i.response.replace("98593831", "98593832")
    }))
    .await;
    let e = resolver(&server)
        .get(format!("gcp-sm://123456789/{SECRET}/1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(!e.to_string().contains("candy"));
    assert!(!e.kind().falls_through());
}

#[tokio::test]
async fn a_returned_name_for_another_secret_is_refused() {
    let server = serve(access_only(|i| {
        i.response = i
            .response
            .replace(&format!("secrets/{SECRET}"), "secrets/someone-else")
    }))
    .await;
    let e = resolver(&server)
        .get(format!("gcp-sm://123456789/{SECRET}/1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
}

#[tokio::test]
async fn real_not_found_body() {
    // The service's own NOT_FOUND body, as its HTTP log shows it.
    let body = format!(
        r#"{{"error":{{"code":404,"message":"Secret [projects/123456789/secrets/{SECRET}] not found.","status":"NOT_FOUND"}}}}"#
    );
    let server = serve(access_only(|i| {
        i.status = 404;
        i.response = body.clone();
    }))
    .await;
    let e = resolver(&server)
        .get(format!("gcp-sm://123456789/{SECRET}/1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("not found"), "{e}");
    assert!(e.kind().falls_through());
}

#[tokio::test]
async fn a_request_not_in_the_recording_fails() {
    let server = serve(cassette()).await;
    let e = resolver(&server)
        .get(format!("gcp-sm://123456789/{SECRET}/7"))
        .await
        .unwrap_err();
    assert_ne!(e.kind(), ErrorKind::NotFound);
    assert_eq!(server.unmatched.lock().unwrap().len(), 1);
}

/// Plain http to a host that is not loopback (`0.0.0.0` counts as one, and reaches the
/// loopback server) is used under the permissive policy and refused under strict, before any
/// request; loopback http is allowed under both.
#[tokio::test]
async fn plaintext_to_a_remote_host_only_when_permissive() {
    let server = serve(cassette()).await;
    let remote = server.url.replace("127.0.0.1", "0.0.0.0");
    let reference = format!("gcp-sm://123456789/{SECRET}/1");
    let store = |endpoint: &str, policy: Policy| {
        let store = GcpSmStoreBuilder::from_env()
            .with_endpoint(endpoint)
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
            .with_policy(policy)
            .build();
        Resolver::builder().with_store(store).build()
    };
    let e = store(&remote, Policy::Strict)
        .get(reference.as_str())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Policy, "{e}");
    assert!(e.to_string().contains(&remote), "{e}");
    assert!(server.unmatched.lock().unwrap().is_empty());
    for (endpoint, policy) in [
        (remote.as_str(), Policy::Permissive),
        (server.url.as_str(), Policy::Strict),
    ] {
        let s = store(endpoint, policy)
            .get(reference.as_str())
            .await
            .unwrap();
        assert_eq!(s.expose_str().unwrap(), VALUE);
    }
}

/// Reads the recorded version through a store given no credentials (so ADC finds them).
async fn read_with_adc(endpoint: &str) {
    let store = GcpSmStoreBuilder::from_env()
        .with_endpoint(endpoint)
        .build();
    let r = Resolver::builder().with_store(store).build();
    let s = r
        .get(format!("gcp-sm://123456789/{SECRET}/1"))
        .await
        .unwrap();
    assert_eq!(s.expose_str().unwrap(), VALUE);
}

/// Application Default Credentials: a service-account key file named by
/// `GOOGLE_APPLICATION_CREDENTIALS`, found by the official client when creds is given no
/// credentials. The client signs a JWT with the key (no token server is asked), and every request
/// carries it. The variable is the process's, so the test runs itself again as a child process
/// with it set (the test process's own environment is never changed).
#[test]
fn application_default_credentials_from_a_key_file() {
    const CHILD: &str = "CREDS_TEST_GCP_ADC_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let file = dir.path().join("sa.json");
        std::fs::write(
            &file,
            serde_json::json!({
                "type": "service_account",
                "project_id": "creds-test",
                "private_key_id": "creds-test-key",
                "private_key": key.serialize_pem(),
                "client_email": "creds-test@creds-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "http://127.0.0.1:9/token",
            })
            .to_string(),
        )
        .unwrap();
        run_as_child("application_default_credentials_from_a_key_file", |cmd| {
            cmd.env(CHILD, "1")
                .env("GOOGLE_APPLICATION_CREDENTIALS", &file)
                .env("HOME", dir.path());
        });
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let server = serve(cassette()).await;
        read_with_adc(&server.url).await;
        let auth = server.authorizations.lock().unwrap().clone();
        assert_eq!(auth.len(), 1, "{auth:?}");
        // `Bearer HEADER.CLAIMS.SIGNATURE`, the claims naming the key file's account.
        let jwt = auth[0].strip_prefix("Bearer ").expect("a bearer token");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        use base64::Engine;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let claims = String::from_utf8(claims).unwrap();
        assert!(
            claims.contains("creds-test@creds-test.iam.gserviceaccount.com"),
            "{claims}"
        );
    });
}

/// Application Default Credentials on Google Cloud's compute (GCE, GKE, Cloud Run): no key file,
/// so the official client asks the metadata server for a token. `GCE_METADATA_HOST` points it at
/// the replay server, which answers the token request as the metadata server documents; the
/// Secret Manager call then carries that token. As above, the test runs itself again as a child
/// process with the variables set; the server runs here, in the parent.
#[test]
fn application_default_credentials_from_the_metadata_server() {
    const CHILD: &str = "CREDS_TEST_GCP_MDS_ENDPOINT";
    if let Some(endpoint) = std::env::var_os(CHILD) {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(read_with_adc(endpoint.to_str().unwrap()));
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut interactions = cassette();
    interactions.push(Interaction {
        method: "GET".into(),
        path: "/computeMetadata/v1/instance/service-accounts/default/token".into(),
        body: None,
        status: 200,
        response: r#"{"access_token":"creds-mds-token","expires_in":3600,"token_type":"Bearer"}"#
            .into(),
    });
    let server = rt.block_on(serve(interactions));
    let home = tempfile::tempdir().unwrap();
    let url = server.url.clone();
    let child = move || {
        run_as_child(
            "application_default_credentials_from_the_metadata_server",
            |cmd| {
                cmd.env(CHILD, &url)
                    .env("GCE_METADATA_HOST", url.trim_start_matches("http://"))
                    .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
                    .env("HOME", home.path());
            },
        )
    };
    // The child runs on a blocking thread while this runtime serves it.
    rt.block_on(async { tokio::task::spawn_blocking(child).await })
        .unwrap();
    let auth = server.authorizations.lock().unwrap().clone();
    assert!(
        auth.iter().any(|a| a == "Bearer creds-mds-token"),
        "the metadata server's token was sent: {auth:?}"
    );
}
