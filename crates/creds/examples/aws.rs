//! The facade with the `aws` feature: `creds::get` on an AWS Secrets Manager reference, with the
//! process-wide cached resolver. Needs AWS credentials and a region (or `AWS_ENDPOINT_URL`
//! pointing at moto).
//!
//! `cargo run -p creds --features aws --example aws -- aws-sm://app/db#password`

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), creds::Error> {
    let reference = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "aws-sm://app/db#password".into());
    let secret = creds::get(reference.as_str()).await?;
    println!("{secret:?}");
    Ok(())
}
