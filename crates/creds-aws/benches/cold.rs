//! A cold read (no cache) through creds against the same read through the raw SDK, both against
//! moto (`AWS_ENDPOINT_URL`; `cargo xtask bench` starts it). Without moto the benchmark says so
//! and measures nothing.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use creds_core::Resolver;
use criterion::Criterion;

fn main() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        eprintln!("cold_get: skipped, AWS_ENDPOINT_URL is not set (run `cargo xtask bench`)");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = format!("creds-bench-cold-{}", std::process::id());
    let sdk = rt.block_on(aws_config::load_defaults(BehaviorVersion::latest()));
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    rt.block_on(
        client
            .create_secret()
            .name(&name)
            .secret_string(r#"{"password":"p"}"#)
            .send(),
    )
    .expect("moto accepts the secret");
    let resolver = Resolver::builder()
        .with_store(
            creds_aws::AwsStoreBuilder::from_env()
                .with_sdk_config(sdk.clone())
                .build_secrets_manager(),
        )
        .build();
    let reference = format!("aws-sm://{name}");
    rt.block_on(resolver.get(reference.as_str())).unwrap();

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut g = c.benchmark_group("cold_get");
    // Alternate the two so that drift in moto's speed hits both alike.
    g.bench_function("sdk", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let out = client
                        .get_secret_value()
                        .secret_id(&name)
                        .version_stage("AWSCURRENT")
                        .send()
                        .await
                        .unwrap();
                    black_box(out.secret_string().map(|s| s.as_bytes().to_vec()));
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("creds", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(resolver.get(reference.as_str()).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    c.final_summary();
}
