//! The SDK clients: the shared configuration is loaded once, at first use, and one client is
//! kept per region.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use creds_core::{Error, Policy, Reference, Result};
use tokio::sync::OnceCell;

use crate::config::AwsConfig;

/// Lazily loaded SDK configuration and per-region clients of one service.
pub(crate) struct Clients<C> {
    config: AwsConfig,
    policy: Policy,
    sdk: OnceCell<SdkConfig>,
    by_region: Mutex<HashMap<Option<String>, C>>,
    service: Service<C>,
}

/// What differs between the two services.
pub(crate) struct Service<C> {
    /// The name in messages.
    pub(crate) name: &'static str,
    /// The variable of the service's own endpoint (`AWS_ENDPOINT_URL_<SERVICE>`).
    pub(crate) endpoint_var: &'static str,
    /// Makes a client for a region.
    pub(crate) make: fn(&SdkConfig, Option<&str>) -> C,
}

pub(crate) const SECRETS_MANAGER: Service<aws_sdk_secretsmanager::Client> = Service {
    name: "AWS Secrets Manager",
    endpoint_var: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    make: secrets_manager,
};

pub(crate) const SSM: Service<aws_sdk_ssm::Client> = Service {
    name: "AWS Systems Manager",
    endpoint_var: "AWS_ENDPOINT_URL_SSM",
    make: ssm,
};

impl<C: Clone> Clients<C> {
    pub(crate) fn new(
        config: AwsConfig,
        policy: Policy,
        sdk: Option<SdkConfig>,
        service: Service<C>,
    ) -> Self {
        let cell = OnceCell::new();
        if let Some(sdk) = sdk {
            let _ = cell.set(sdk);
        }
        Clients {
            config,
            policy,
            sdk: cell,
            by_region: Mutex::new(HashMap::new()),
            service,
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

    /// The endpoint the client will call when it is not the SDK's default (https): the
    /// configured one, else the service's own variable, else `AWS_ENDPOINT_URL` or a profile's
    /// `endpoint_url` (as the SDK loaded them).
    fn endpoint(&self, sdk: &SdkConfig) -> Option<String> {
        if let Some(url) = &self.config.endpoint_url {
            return Some(url.clone());
        }
        let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        if ignored {
            return None;
        }
        std::env::var(self.service.endpoint_var)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| sdk.endpoint_url().map(str::to_string))
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
        if let Some(endpoint) = self.endpoint(sdk) {
            creds_core::check_transport(self.policy, &endpoint, self.service.name)?;
        }
        let client = (self.service.make)(sdk, region.as_deref());
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
