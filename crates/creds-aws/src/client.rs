//! The SDK clients: the shared configuration is loaded once, at first use, and one client is
//! kept per region.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use creds_core::{Error, Reference, Result};
use tokio::sync::OnceCell;

use crate::config::AwsConfig;

/// Lazily loaded SDK configuration and per-region clients of one service.
pub(crate) struct Clients<C> {
    config: AwsConfig,
    sdk: OnceCell<SdkConfig>,
    by_region: Mutex<HashMap<Option<String>, C>>,
    make: fn(&SdkConfig, Option<&str>) -> C,
}

impl<C: Clone> Clients<C> {
    pub(crate) fn new(
        config: AwsConfig,
        sdk: Option<SdkConfig>,
        make: fn(&SdkConfig, Option<&str>) -> C,
    ) -> Self {
        let cell = OnceCell::new();
        if let Some(sdk) = sdk {
            let _ = cell.set(sdk);
        }
        Clients {
            config,
            sdk: cell,
            by_region: Mutex::new(HashMap::new()),
            make,
        }
    }

    pub(crate) fn config(&self) -> &AwsConfig {
        &self.config
    }

    async fn sdk(&self) -> &SdkConfig {
        self.sdk
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = &self.config.region {
                    loader = loader.region(Region::new(region.clone()));
                }
                if let Some(profile) = &self.config.profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(url) = &self.config.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                loader.load().await
            })
            .await
    }

    /// The client for the reference's region (its `region` option, else the configured one).
    pub(crate) async fn client(&self, reference: &Reference) -> Result<C> {
        let region = reference.option("region").map(str::to_string);
        if let Some(c) = self
            .by_region
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&region)
        {
            return Ok(c.clone());
        }
        let sdk = self.sdk().await;
        if region.is_none() && sdk.region().is_none() {
            return Err(Error::unconfigured(
                "no AWS region: set the reference's region option, [backends.aws] region, AWS_REGION or a profile's region",
            ));
        }
        let client = (self.make)(sdk, region.as_deref());
        self.by_region
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(region, client.clone());
        Ok(client)
    }
}

pub(crate) fn secrets_manager(
    sdk: &SdkConfig,
    region: Option<&str>,
) -> aws_sdk_secretsmanager::Client {
    let mut b = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(r) = region {
        b = b.region(Region::new(r.to_string()));
    }
    aws_sdk_secretsmanager::Client::from_conf(b.build())
}

pub(crate) fn ssm(sdk: &SdkConfig, region: Option<&str>) -> aws_sdk_ssm::Client {
    let mut b = aws_sdk_ssm::config::Builder::from(sdk)
        .retry_config(aws_config::retry::RetryConfig::disabled());
    if let Some(r) = region {
        b = b.region(Region::new(r.to_string()));
    }
    aws_sdk_ssm::Client::from_conf(b.build())
}
