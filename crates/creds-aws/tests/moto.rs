//! creds-aws against moto's server (started by `cargo xtask ci`, reached through
//! `AWS_ENDPOINT_URL`). Values are written with the official SDK and read with creds, and the
//! other way round. Every test uses names of its own: moto's state is shared.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_ssm::types::ParameterType;
use creds_aws::{AwsStoreBuilder, SecretsManagerStore, SsmStore};
use creds_core::{Attempt, CacheConfig, ErrorKind, Reference, Resolver, Store};
use creds_test_support::{rt, service, unique};

async fn sdk() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

fn reference(s: &str) -> Reference {
    s.parse().unwrap()
}

fn resolver() -> Resolver {
    creds_aws::register(Resolver::builder(), creds_aws::AwsConfig::from_env()).build()
}

#[test]
fn secrets_manager_strings_json_and_metadata() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk().await);
        let name = unique("sm-json");
        let created = sm
            .create_secret()
            .name(&name)
            .secret_string(r#"{"api_key":"k-123","nested":{"list":[1,"two"]}}"#)
            .send()
            .await
            .unwrap();
        let r = resolver();
        let whole = r.get(format!("aws-sm://{name}")).await.unwrap();
        assert!(whole.expose_str().unwrap().contains("k-123"));
        assert_eq!(whole.version(), created.version_id());
        assert!(whole.metadata().stages.contains(&"AWSCURRENT".to_string()));
        assert!(whole.metadata().created.is_some());
        assert_eq!(whole.source(), Some("aws-sm"));
        assert_eq!(
            r.get(format!("aws-sm://{name}#api_key"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "k-123"
        );
        assert_eq!(
            r.get(format!("aws-sm://{name}#/nested/list/1"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "two"
        );
        // By ARN too.
        let arn = created.arn().unwrap();
        assert_eq!(
            r.get(format!("aws-sm://{arn}#api_key"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "k-123"
        );
        assert!(!format!("{whole:?}").contains("k-123"));
    });
}

#[test]
fn secrets_manager_binary_is_bytes_not_base64() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk().await);
        let name = unique("sm-bin");
        let bytes = vec![0u8, 1, 2, 0xfe, 0xff, b'=', b'\n'];
        sm.create_secret()
            .name(&name)
            .secret_binary(Blob::new(bytes.clone()))
            .send()
            .await
            .unwrap();
        let s = resolver().get(format!("aws-sm://{name}")).await.unwrap();
        assert_eq!(s.expose_secret(), &bytes[..]);
        assert_eq!(s.expose_str().unwrap_err().kind(), ErrorKind::Decode);
    });
}

#[test]
fn secrets_manager_stages_and_version_ids() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk().await);
        let name = unique("sm-stages");
        let v1 = sm
            .create_secret()
            .name(&name)
            .secret_string("first")
            .send()
            .await
            .unwrap();
        let v2 = sm
            .put_secret_value()
            .secret_id(&name)
            .secret_string("second")
            .send()
            .await
            .unwrap();
        let r = resolver();
        let current = r.get(format!("aws-sm://{name}")).await.unwrap();
        assert_eq!(current.expose_str().unwrap(), "second");
        assert_eq!(current.version(), v2.version_id());
        let previous = r
            .get(format!("aws-sm://{name}?version-stage=AWSPREVIOUS"))
            .await
            .unwrap();
        assert_eq!(previous.expose_str().unwrap(), "first");
        assert!(
            previous
                .metadata()
                .stages
                .contains(&"AWSPREVIOUS".to_string())
        );
        let by_id = r
            .get(format!(
                "aws-sm://{name}?version-id={}",
                v1.version_id().unwrap()
            ))
            .await
            .unwrap();
        assert_eq!(by_id.expose_str().unwrap(), "first");
        let e = r
            .get(format!("aws-sm://{name}?version-stage=AWSPENDING"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = r
            .get(format!(
                "aws-sm://{name}?version-id=00000000-0000-0000-0000-000000000000"
            ))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    });
}

#[test]
fn missing_names_are_not_found_with_the_reference() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let r = resolver();
        for reference in [
            format!("aws-sm://{}", unique("nope")),
            format!("aws-ssm:///{}/nope", unique("nope")),
        ] {
            let e = r.get(reference.as_str()).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
            assert_eq!(e.reference(), Some(reference.as_str()));
            assert!(e.to_string().contains(&reference), "{e}");
            assert!(!e.is_temporary());
        }
    });
}

#[test]
fn secrets_manager_writes_new_versions_and_members() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk().await);
        let r = resolver();
        let name = unique("sm-set");
        // Created on first write.
        let m1 = r.set(format!("aws-sm://{name}"), b"one").await.unwrap();
        let m2 = r.set(format!("aws-sm://{name}"), b"two").await.unwrap();
        assert_ne!(m1.version, m2.version);
        let cur = sm.get_secret_value().secret_id(&name).send().await.unwrap();
        assert_eq!(cur.secret_string(), Some("two"));
        let prev = sm
            .get_secret_value()
            .secret_id(&name)
            .version_stage("AWSPREVIOUS")
            .send()
            .await
            .unwrap();
        assert_eq!(prev.secret_string(), Some("one"));
        // Bytes that are not text become SecretBinary.
        let bin = unique("sm-set-bin");
        r.set(format!("aws-sm://{bin}"), &[0xff, 0x00])
            .await
            .unwrap();
        let out = sm.get_secret_value().secret_id(&bin).send().await.unwrap();
        assert_eq!(out.secret_binary().unwrap().as_ref(), &[0xff, 0x00]);
        // `#key` changes one member and keeps the others.
        let json = unique("sm-member");
        sm.create_secret()
            .name(&json)
            .secret_string(r#"{"user":"app","password":"old"}"#)
            .send()
            .await
            .unwrap();
        r.set(format!("aws-sm://{json}#password"), b"new")
            .await
            .unwrap();
        let out = sm.get_secret_value().secret_id(&json).send().await.unwrap();
        let doc: serde_json::Value = serde_json::from_str(out.secret_string().unwrap()).unwrap();
        assert_eq!(doc, serde_json::json!({"user": "app", "password": "new"}));
        // Writing a version-pinned reference is refused.
        let e = r
            .set(format!("aws-sm://{name}?version-stage=AWSPREVIOUS"), b"x")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidReference);
    });
}

#[test]
fn parameter_store_types_versions_and_labels() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&sdk().await);
        let base = format!("/{}", unique("ssm"));
        let put = |name: String, value: &'static str, t: ParameterType| {
            let ssm = ssm.clone();
            async move {
                ssm.put_parameter()
                    .name(name)
                    .value(value)
                    .r#type(t)
                    .overwrite(true)
                    .send()
                    .await
                    .unwrap()
            }
        };
        put(format!("{base}/plain"), "plain-text", ParameterType::String).await;
        put(format!("{base}/list"), "a,b,c", ParameterType::StringList).await;
        put(
            format!("{base}/secure"),
            "s3cr3t",
            ParameterType::SecureString,
        )
        .await;
        let r = resolver();
        let get = |s: String| {
            let r = r.clone();
            async move { r.get(s.as_str()).await }
        };
        assert_eq!(
            get(format!("aws-ssm://{base}/plain"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "plain-text"
        );
        assert_eq!(
            get(format!("aws-ssm://{base}/list"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "a,b,c"
        );
        let secure = get(format!("aws-ssm://{base}/secure")).await.unwrap();
        assert_eq!(secure.expose_str().unwrap(), "s3cr3t");
        assert_eq!(secure.version(), Some("1"));
        assert_eq!(secure.source(), Some("aws-ssm"));
        let raw = get(format!("aws-ssm://{base}/secure?decrypt=false"))
            .await
            .unwrap();
        assert_ne!(raw.expose_str().unwrap(), "s3cr3t", "not decrypted");

        put(
            format!("{base}/secure"),
            "rotated",
            ParameterType::SecureString,
        )
        .await;
        ssm.label_parameter_version()
            .name(format!("{base}/secure"))
            .parameter_version(1)
            .labels("stable")
            .send()
            .await
            .unwrap();
        assert_eq!(
            get(format!("aws-ssm://{base}/secure"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "rotated"
        );
        assert_eq!(
            get(format!("aws-ssm://{base}/secure?version=1"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "s3cr3t"
        );
        assert_eq!(
            get(format!("aws-ssm://{base}/secure?label=stable"))
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "s3cr3t"
        );
        let e = get(format!("aws-ssm://{base}/secure?version=9"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = get(format!("aws-ssm://{base}/secure?label=nolabel"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    });
}

#[test]
fn parameter_store_bulk_read_follows_every_page() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&sdk().await);
        let base = format!("/{}/app/prod", unique("bulk"));
        let mut expected = Vec::new();
        for i in 0..12 {
            let name = if i % 3 == 0 {
                format!("{base}/db/key-{i}")
            } else {
                format!("{base}/key_{i}")
            };
            ssm.put_parameter()
                .name(&name)
                .value(format!("value-{i}"))
                .r#type(ParameterType::SecureString)
                .send()
                .await
                .unwrap();
            expected.push(name);
        }
        let store = SsmStore::from_env();
        let all = store.get_by_path(&base, true, true, None).await.unwrap();
        assert_eq!(all.len(), 12, "more than one page of 10");
        let mut names: Vec<_> = all.iter().map(|p| p.name.clone()).collect();
        names.sort();
        expected.sort();
        assert_eq!(names, expected);
        let p = all.iter().find(|p| p.name.ends_with("/db/key-3")).unwrap();
        assert_eq!(p.env_name, "DB_KEY_3");
        assert_eq!(p.secret.expose_str().unwrap(), "value-3");
        let top = store.get_by_path(&base, false, true, None).await.unwrap();
        assert_eq!(top.len(), 8, "not recursive: the db/ level is left out");
        assert!(top.iter().all(|p| !p.name.contains("/db/")));
    });
}

#[test]
fn parameter_store_writes_secure_strings() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&sdk().await);
        let name = format!("/{}/written", unique("ssm-set"));
        let r = resolver();
        let m = r
            .set(format!("aws-ssm://{name}"), b"from-creds")
            .await
            .unwrap();
        assert_eq!(m.version.as_deref(), Some("1"));
        r.set(format!("aws-ssm://{name}"), b"from-creds-2")
            .await
            .unwrap();
        let out = ssm
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await
            .unwrap();
        let p = out.parameter().unwrap();
        assert_eq!(p.value(), Some("from-creds-2"));
        assert_eq!(p.r#type(), Some(&ParameterType::SecureString));
        assert_eq!(p.version(), 2);
        let e = r
            .set(format!("aws-ssm://{name}"), &[0xff])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
    });
}

#[test]
fn unreachable_endpoint_is_unavailable_and_temporary() {
    rt().block_on(async {
        let store = AwsStoreBuilder::from_env()
            .with_region("us-east-1")
            .with_endpoint_url("http://127.0.0.1:1")
            .build_secrets_manager();
        let creds = aws_credential_types::Credentials::for_tests();
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(creds),
            )
            .build();
        let explicit = AwsStoreBuilder::from_env().with_sdk_config(sdk).build_ssm();
        let r = Resolver::builder()
            .with_store(store)
            .with_store(explicit)
            .build();
        for reference in ["aws-sm://anything", "aws-ssm://anything"] {
            let e = r.get(reference).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
            assert!(e.is_temporary());
            assert!(e.kind().falls_through());
            assert_eq!(e.reference(), Some(reference));
        }
    });
}

#[test]
fn no_credentials_or_no_region_is_unconfigured() {
    rt().block_on(async {
        // No credentials provider at all.
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .build();
        let store = AwsStoreBuilder::from_env()
            .with_sdk_config(sdk)
            .build_secrets_manager();
        let e = store.get(&reference("aws-sm://x")).await.unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::Unconfigured,
            "{e}: {:?}",
            std::error::Error::source(&e)
        );
        // A credentials chain that finds nothing (a laptop without AWS credentials).
        let nothing = aws_credential_types::credential_fn::provide_credentials_fn(|| async {
            Err(
                aws_credential_types::provider::error::CredentialsError::not_loaded(
                    "no providers in chain provided credentials",
                ),
            )
        });
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(nothing),
            )
            .build();
        let store = AwsStoreBuilder::from_env().with_sdk_config(sdk).build_ssm();
        let e = store.get(&reference("aws-ssm://x")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unconfigured, "{e}");
        assert!(e.kind().falls_through());
        // Credentials, no region anywhere.
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::for_tests(),
                ),
            )
            .build();
        let store = AwsStoreBuilder::from_env().with_sdk_config(sdk).build_ssm();
        let e = store.get(&reference("aws-ssm://x")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unconfigured, "{e}");
        assert!(e.to_string().contains("region"), "{e}");
    });
}

#[test]
fn rejected_credential_is_refreshed_once() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk().await);
        let name = unique("rotate");
        sm.create_secret()
            .name(&name)
            .secret_string(r#"{"password":"old"}"#)
            .send()
            .await
            .unwrap();
        let r = creds_aws::register(Resolver::builder(), Default::default())
            .with_cache(CacheConfig::default())
            .build();
        let reference = format!("aws-sm://{name}#password");
        assert_eq!(
            r.get(reference.as_str())
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "old"
        );
        // The rotation lambda (here: the SDK) changes the password; the database accepts only
        // the new one. The cache still holds the old one.
        sm.put_secret_value()
            .secret_id(&name)
            .secret_string(r#"{"password":"new"}"#)
            .send()
            .await
            .unwrap();
        let mut tries = Vec::new();
        let outcome = r
            .use_with_refresh(reference.as_str(), |s| {
                let pw = s.expose_str().unwrap().to_string();
                tries.push(pw.clone());
                async move {
                    if pw == "new" {
                        Attempt::Accepted("connected")
                    } else {
                        Attempt::Rejected("auth failed")
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(outcome, Ok("connected"));
        assert_eq!(tries, ["old", "new"]);
        // Rejected again with nothing new: given up after one refresh.
        let outcome = r
            .use_with_refresh(reference.as_str(), |_| async {
                Attempt::<(), _>::Rejected("still no")
            })
            .await
            .unwrap();
        assert_eq!(outcome, Err("still no"));
    });
}

#[test]
fn a_rotated_version_reaches_a_watcher() {
    if service("AWS_ENDPOINT_URL", "moto").is_none() {
        return;
    }
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk().await);
        let name = unique("watch");
        sm.create_secret()
            .name(&name)
            .secret_string("v1")
            .send()
            .await
            .unwrap();
        let r = creds_aws::register(Resolver::builder(), Default::default())
            .with_cache(CacheConfig::default())
            .build();
        let mut rx = r
            .watch(format!("aws-sm://{name}"), Some(Duration::from_millis(200)))
            .await
            .unwrap();
        sm.put_secret_value()
            .secret_id(&name)
            .secret_string("v2")
            .send()
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rx.borrow().expose_str().unwrap(), "v2");
    });
}

#[test]
fn store_debug_has_no_values() {
    let s = format!(
        "{:?} {:?}",
        SecretsManagerStore::from_env(),
        SsmStore::from_env()
    );
    assert!(s.contains("SecretsManagerStore") && s.contains("SsmStore"));
}
