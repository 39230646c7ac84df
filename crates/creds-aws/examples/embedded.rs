//! creds-aws embedded on its own, without the `creds` facade: both AWS stores in a resolver with
//! a cache. Needs AWS credentials and a region (or `AWS_ENDPOINT_URL` pointing at moto).
//!
//! `cargo run -p creds-aws --example embedded -- aws-sm://app/db#password`

use creds_aws::AwsStoreBuilder;
use creds_core::{CacheConfig, Resolver};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), creds_core::Error> {
    let reference = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "aws-sm://app/db#password".into());
    let aws = AwsStoreBuilder::from_env();
    let resolver = Resolver::builder()
        .with_store(aws.build_secrets_manager())
        .with_store(aws.build_ssm())
        .with_cache(CacheConfig::default())
        .build();
    let secret = resolver.get(reference.as_str()).await?;
    // Never print the value: its metadata is enough to show where it came from.
    println!("{secret:?}");
    Ok(())
}
