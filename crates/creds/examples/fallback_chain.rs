//! The fallback chain of the seed document, on the local stores only (no server needed):
//! `aws-sm://app/{name}`, then `env://APP_{NAME}`, then the shipped `demo.env`, then the
//! keyring. Run it with `cargo run -p creds --example fallback_chain`.
//!
//! It prints where each logical name was found and every hop — never a value.

use creds::Chain;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), creds::Error> {
    let demo_env = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo.env");
    let chain = creds::chain([
        "aws-sm://app/{name}".to_string(),
        "env://APP_{NAME}".to_string(),
        format!("dotenv://APP_{{NAME}}?path={demo_env}"),
        "keyring://my_application/{name}".to_string(),
    ])?;
    for name in ["api_key", "db"] {
        report(&chain, name).await?;
    }
    // A selector picks one field of a JSON secret, in every store alike.
    let password = creds::get(format!("dotenv://APP_DB?path={demo_env}#password").as_str()).await?;
    println!("db#password: {} bytes, {:?}", password.len(), password);
    // A name nobody has: the error lists every hop.
    if let Err(e) = chain.get("stripe_key").await {
        println!("stripe_key: {e}");
    }
    Ok(())
}

async fn report(chain: &Chain, name: &str) -> Result<(), creds::Error> {
    let secret = chain.get(name).await?;
    println!(
        "{name}: found by {} in {} ({} bytes)",
        secret
            .reference()
            .map(|r| r.to_string())
            .unwrap_or_default(),
        secret.source().unwrap_or("?"),
        secret.len()
    );
    for hop in &secret.metadata().hops {
        println!("    tried {hop}");
    }
    Ok(())
}
