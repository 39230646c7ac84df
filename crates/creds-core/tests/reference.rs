//! Spec §1: every row of the table, every malformed form, and the Display round trip.

use creds_core::{ErrorKind, Reference, Resolver, Scheme, Selector};

fn ok(s: &str) -> Reference {
    Reference::parse(s).unwrap_or_else(|e| panic!("{s} should parse: {e}"))
}

fn bad(s: &str) -> creds_core::Error {
    match Reference::parse(s) {
        Ok(r) => panic!("{s} should not parse, got {r:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidReference, "{s}: {e}");
            assert!(!e.is_temporary());
            e
        }
    }
}

#[test]
fn spec_table_examples_parse() {
    let r = ok("env://MY_API_KEY");
    assert_eq!((r.scheme(), r.locator()), (Scheme::Env, "MY_API_KEY"));

    let r = ok("dotenv://API_KEY?path=config/.env");
    assert_eq!((r.scheme(), r.locator()), (Scheme::Dotenv, "API_KEY"));
    assert_eq!(r.option("path"), Some("config/.env"));

    let r = ok("file:///run/secrets/db_password");
    assert_eq!(
        (r.scheme(), r.locator()),
        (Scheme::File, "/run/secrets/db_password")
    );
    let r = ok("file://secrets/db");
    assert_eq!(r.locator(), "secrets/db");
    let r = ok("file:///run/secrets/db?raw=true");
    assert!(r.bool_option("raw", false));

    let r = ok("keyring://my_application/api_key");
    assert_eq!(r.keyring_parts(), Some(("my_application", "api_key")));
    let r = ok("keyring://svc/user/with/slashes");
    assert_eq!(r.keyring_parts(), Some(("svc", "user/with/slashes")));

    let r = ok("aws-sm://my-api-credentials#api_key");
    assert_eq!(
        (r.scheme(), r.locator()),
        (Scheme::AwsSm, "my-api-credentials")
    );
    assert_eq!(r.selector(), Some(&Selector::Key("api_key".into())));
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";
    let r = ok(&format!(
        "aws-sm://{arn}?version-stage=AWSPREVIOUS&region=us-east-1"
    ));
    assert_eq!(r.locator(), arn);
    assert_eq!(r.option("version-stage"), Some("AWSPREVIOUS"));
    assert_eq!(r.option("region"), Some("us-east-1"));
    assert_eq!(
        ok("aws-sm://x?version-id=abc").option("version-id"),
        Some("abc")
    );

    let r = ok("aws-ssm:///app/production/api_key");
    assert_eq!(
        (r.scheme(), r.locator()),
        (Scheme::AwsSsm, "/app/production/api_key")
    );
    let r = ok("aws-ssm://plain?decrypt=false&version=3&region=eu-west-1");
    assert!(!r.bool_option("decrypt", true));
    assert_eq!(r.option("version"), Some("3"));
    assert_eq!(ok("aws-ssm://p?label=prod").option("label"), Some("prod"));

    let r = ok("vault://secret/my-app#api_key");
    assert_eq!((r.scheme(), r.locator()), (Scheme::Vault, "secret/my-app"));
    assert_eq!(
        ok("vault://secret/data/my-app").locator(),
        "secret/data/my-app"
    );
    let r = ok("vault://team/kv/app?mount=team/kv&version=2&kv=2");
    assert_eq!(r.option("mount"), Some("team/kv"));

    let r = ok("azure-kv://my-keyvault/api-key");
    assert_eq!(
        (r.scheme(), r.locator()),
        (Scheme::AzureKv, "my-keyvault/api-key")
    );
    ok("azure-kv://my-keyvault.vault.azure.net/api-key/0123456789abcdef");

    let r = ok("gcp-sm://my-gcp-project/my-api-key");
    assert_eq!(
        (r.scheme(), r.locator()),
        (Scheme::GcpSm, "my-gcp-project/my-api-key")
    );
    ok("gcp-sm://my-gcp-project/my-api-key/3");
    ok("gcp-sm://projects/p/secrets/s");
    ok("gcp-sm://projects/p/secrets/s/versions/latest");
    ok("gcp-sm://projects/p/locations/us-central1/secrets/s/versions/2");
    assert_eq!(
        ok("gcp-sm://p/s?location=europe-west1").option("location"),
        Some("europe-west1")
    );
}

#[test]
fn locator_keeps_colons_slashes_and_decodes_percent() {
    assert_eq!(ok("aws-sm://a:b:c/d").locator(), "a:b:c/d");
    assert_eq!(ok("env://A%3FB").locator(), "A?B");
    assert_eq!(ok("file:///tmp/with%20space").locator(), "/tmp/with space");
    assert_eq!(ok("file:///tmp/%23hash").locator(), "/tmp/#hash");
    assert_eq!(
        ok("dotenv://K?path=a%26b.env").option("path"),
        Some("a&b.env")
    );
    assert_eq!(
        ok("env://X#a%20b").selector(),
        Some(&Selector::Key("a b".into()))
    );
}

#[test]
fn selectors_parse() {
    assert_eq!(
        ok("env://X#/a/b/0").selector(),
        Some(&Selector::Pointer("/a/b/0".into()))
    );
    assert_eq!(
        ok("env://X#/a~1b/c~0d").selector(),
        Some(&Selector::Pointer("/a~1b/c~0d".into()))
    );
    assert_eq!(
        ok("env://X#/").selector(),
        Some(&Selector::Pointer("/".into()))
    );
    assert_eq!(
        ok("env://X#%2Fslash").selector(),
        Some(&Selector::Key("/slash".into()))
    );
    assert_eq!(
        ok("env://X#a#b").selector(),
        Some(&Selector::Key("a#b".into()))
    );
    assert_eq!(
        ok("env://X#k?v").selector(),
        Some(&Selector::Key("k?v".into()))
    );
}

#[test]
fn malformed_references_are_invalid_and_say_why() {
    let cases: &[(&str, &str)] = &[
        ("", "://"),
        ("API_KEY", "://"),
        ("env:/X", "://"),
        ("env://", "empty locator"),
        ("env://?x=1", "empty locator"),
        ("env://#k", "empty locator"),
        ("nope://x", "unknown scheme `nope`"),
        ("s3://bucket/key", "unknown scheme"),
        ("env://X?path=y", "unknown option `path`"),
        (
            "aws-sm://x?verison-stage=AWSCURRENT",
            "unknown option `verison-stage`",
        ),
        ("vault://secret/x?version=abc", "whole number"),
        ("vault://secret/x?kv=3", "1 or 2"),
        ("vault://secret/x?kv=1&version=2", "version 2"),
        ("aws-ssm://p?decrypt=maybe", "true or false"),
        ("aws-ssm://p?version=1&label=prod", "exclude"),
        ("file:///x?raw=true&raw=false", "twice"),
        ("dotenv://X?path=", "non-empty"),
        ("dotenv://X?path", "key=value"),
        ("env://X?", "empty option list"),
        ("env://A%zzB", "percent-escape"),
        ("env://A%4", "percent-escape"),
        ("env://A%", "percent-escape"),
        ("env://A%FF", "UTF-8"),
        ("env://X?a%zz=1", "percent-escape"),
        ("env://X#", "empty selector"),
        ("env://X#/a~2", "JSON pointer"),
        ("env://X#/a~", "JSON pointer"),
        ("env://X#bad%g1", "percent-escape"),
        ("env://A=B", "malformed locator"),
        ("keyring://serviceonly", "SERVICE/USER"),
        ("keyring:///user", "SERVICE/USER"),
        ("keyring://service/", "SERVICE/USER"),
        ("azure-kv://vaultonly", "VAULT/NAME"),
        ("azure-kv://v/n/ver/extra", "VAULT/NAME"),
        ("azure-kv://v//n", "VAULT/NAME"),
        ("gcp-sm://projectonly", "PROJECT/SECRET"),
        ("gcp-sm://projects/p/secrets", "PROJECT/SECRET"),
        ("gcp-sm://a/b/c/d", "PROJECT/SECRET"),
        ("env://A%00B", "NUL"),
    ];
    for (input, needle) in cases {
        let e = bad(input);
        let text = e.to_string();
        assert!(
            text.contains(needle),
            "{input:?}: `{text}` lacks `{needle}`"
        );
        if !input.is_empty() {
            assert_eq!(
                e.reference(),
                Some(*input),
                "{input}: the error names the reference"
            );
        }
    }
}

#[test]
fn a_url_given_for_a_reference_is_named_without_its_credentials() {
    // A `.env` value where a reference belongs: no creds scheme, so the error masks what may be
    // a password or a token, and still names the scheme, host and path.
    for (input, shown) in [
        (
            "postgres://app:hunter2-CANARY@db:5432/app",
            "postgres://***@db:5432/app",
        ),
        ("redis://:hunter2-CANARY@cache", "redis://***@cache"),
        (
            "https://api.example.com/v1?token=hunter2-CANARY",
            "https://api.example.com/v1?***",
        ),
        (
            "mongodb://u:hunter2-CANARY@h/db?authSource=x#hunter2-CANARY",
            "mongodb://***@h/db?***",
        ),
        ("amqp://host/v@h#hunter2-CANARY", "amqp://host/v@h#***"),
    ] {
        let e = bad(input);
        assert_eq!(e.reference(), Some(shown), "{input}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2-CANARY"), "{input}: {text}");
        assert!(text.contains("unknown scheme"), "{text}");
    }
}

#[test]
fn a_text_without_a_scheme_is_named_only_when_it_is_a_variable_name() {
    // The value passed where its reference belongs: not repeated, nor by the resolver later.
    for input in [
        "hunter2-CANARY",
        "sk_live_CANARY",
        "hunter2 CANARY",
        "",
        "Ab0+/=CANARY",
    ] {
        let e = bad(input);
        assert_eq!(e.kind(), ErrorKind::InvalidReference);
        assert_eq!(e.reference(), Some("***"), "{input:?}");
        let text = format!("{e} {e:?}");
        if !input.is_empty() {
            assert!(!text.contains(input), "{text}");
        }
        assert!(text.contains("no `://` found"), "{text}");
    }
    let r = Resolver::builder().build();
    let e = creds_test_support::rt_local()
        .block_on(r.get("hunter2-CANARY"))
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("CANARY"), "{e:?}");
    // A forgotten scheme: named, with the fix.
    let e = bad("API_KEY");
    assert_eq!(e.reference(), Some("API_KEY"));
    assert!(e.to_string().contains("env://API_KEY"), "{e}");
}

#[test]
fn unknown_option_error_lists_the_known_ones() {
    let text = bad("aws-ssm://p?decript=false").to_string();
    assert!(text.contains("decrypt, version, label, region"), "{text}");
    let text = bad("keyring://a/b?x=1").to_string();
    assert!(text.contains("takes no options"), "{text}");
}

#[test]
fn scheme_is_case_insensitive_and_normalised() {
    assert_eq!(ok("ENV://X").to_string(), "env://X");
    assert_eq!(ok("Aws-Sm://x").scheme(), Scheme::AwsSm);
}

#[test]
fn display_round_trips() {
    let inputs = [
        "env://MY_API_KEY",
        "dotenv://API_KEY?path=config/.env",
        "file:///run/secrets/db_password",
        "file://secrets/db?raw=true",
        "keyring://my_application/api_key",
        "aws-sm://my-api-credentials#api_key",
        "aws-sm://arn:aws:secretsmanager:us-east-1:1:secret:x?version-stage=AWSPREVIOUS&region=eu-west-1#/a/b/0",
        "aws-ssm:///app/production/api_key?decrypt=false",
        "vault://secret/my-app?version=3#api_key",
        "azure-kv://my-keyvault/api-key",
        "gcp-sm://my-gcp-project/my-api-key?location=us-east1",
        "file:///tmp/a%20b%3Fc%23d%25e",
        "dotenv://K?path=a%26b%3Dc.env",
        "env://X#%2Fnot-a-pointer",
        "env://X#/a~1b",
        "env://X#a#b",
    ];
    for input in inputs {
        let r = ok(input);
        let shown = r.to_string();
        assert_eq!(shown, input, "display of {input}");
        assert_eq!(ok(&shown), r, "reparse of {shown}");
    }
}

#[test]
fn built_references_round_trip_through_text() {
    let r = Reference::new(Scheme::File, "/odd?path#with%stuff")
        .unwrap()
        .with_option("raw", "true")
        .unwrap()
        .with_selector(Some(Selector::Key("/k y".into())));
    assert_eq!(ok(&r.to_string()), r);
    assert!(Reference::new(Scheme::Keyring, "nouser").is_err());
    assert!(
        Reference::new(Scheme::Env, "X")
            .unwrap()
            .with_option("bogus", "1")
            .is_err()
    );
}

#[test]
fn every_scheme_names_its_feature() {
    for scheme in Scheme::ALL {
        let text = format!("{scheme}");
        assert_eq!(text.parse::<Scheme>().unwrap(), scheme);
        assert!(!scheme.feature().is_empty());
    }
    assert_eq!(Scheme::AwsSsm.feature(), "aws");
    assert_eq!(Scheme::GcpSm.feature(), "gcp");
    assert_eq!(Scheme::Keyring.feature(), "keyring");
}
