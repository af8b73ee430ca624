//! AWS clients, resolved per call and cached per (profile, region).
//!
//! Precedence (design §2): a tool call's `aws_profile`/`aws_region` win, then the server's
//! `--profile`/`--region` flags, then the SDK's default chain (AWS_PROFILE, AWS_REGION,
//! AWS_DEFAULT_REGION, the profile's region). Every URI and ARN a tool reports uses the region
//! and partition resolved here, never a hard-coded default.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::sync::{Mutex, OnceCell};

use super::error::{AwsCallError, AwsConfigError};
use crate::core::image_ref::{Partition, partition_for_region};
use crate::core::inputs;

/// Server-wide defaults from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsDefaults {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub timeouts: AwsTimeouts,
}

/// How long one AWS call may take. Interactive clients commonly give up after 60 s and retry,
/// so a stalled call must fail well before that instead of completing after the client left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsTimeouts {
    /// One HTTP attempt (a retry starts a new one).
    pub attempt: Duration,
    /// The whole call, retries included.
    pub operation: Duration,
}

impl Default for AwsTimeouts {
    fn default() -> Self {
        Self {
            attempt: Duration::from_secs(15),
            operation: Duration::from_secs(40),
        }
    }
}

/// (profile, region) as asked for; `None` means "the default chain's".
type ClientKey = (Option<String>, Option<String>);

/// Distinct (profile, region) pairs kept; the least recently used is dropped past this, so no
/// sequence of calls can grow the cache without bound.
const CLIENT_CACHE_MAX: usize = 16;

/// Hands out clients; building an SDK config reads files and may call IMDS, so it happens once
/// per (profile, region).
#[derive(Debug, Default)]
pub struct AwsContext {
    defaults: AwsDefaults,
    /// Most recently used last.
    cache: Mutex<VecDeque<(ClientKey, Arc<AwsClients>)>>,
}

/// The clients for one (profile, region), plus what every tool needs to build ARNs and URIs.
#[derive(Debug)]
pub struct AwsClients {
    pub ecr: aws_sdk_ecr::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub omics: aws_sdk_omics::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
    pub partition: Partition,
    /// The profile these clients were built from (`None`: the default chain).
    pub profile: Option<String>,
    account_id: OnceCell<String>,
}

impl AwsContext {
    pub fn new(defaults: AwsDefaults) -> Self {
        Self {
            defaults,
            cache: Mutex::default(),
        }
    }

    pub async fn clients(
        &self,
        profile: Option<&str>,
        region: Option<&str>,
    ) -> Result<Arc<AwsClients>, AwsConfigError> {
        let profile = non_empty(profile).or(self.defaults.profile.clone());
        let region = non_empty(region).or(self.defaults.region.clone());
        if let Some(profile) = &profile {
            inputs::check_profile(profile)?;
        }
        if let Some(region) = &region {
            inputs::check_region(region)?;
        }
        let key = (profile.clone(), region.clone());
        let mut cache = self.cache.lock().await;
        if let Some(entry) = cache
            .iter()
            .position(|(k, _)| *k == key)
            .and_then(|at| cache.remove(at))
        {
            let clients = Arc::clone(&entry.1);
            cache.push_back(entry);
            return Ok(clients);
        }
        let clients = Arc::new(AwsClients::load(profile, region, self.defaults.timeouts).await?);
        if cache.len() >= CLIENT_CACHE_MAX {
            cache.pop_front();
        }
        cache.push_back((key, Arc::clone(&clients)));
        Ok(clients)
    }

    /// How many (profile, region) pairs have clients now (for tests of the bound).
    pub async fn cached_client_count(&self) -> usize {
        self.cache.lock().await.len()
    }
}

impl AwsClients {
    async fn load(
        profile: Option<String>,
        region: Option<String>,
        timeouts: AwsTimeouts,
    ) -> Result<Self, AwsConfigError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .app_name(
                aws_config::AppName::new("healthomics-ecr-mcp")
                    .map_err(|e| AwsConfigError::AppName(e.to_string()))?,
            )
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5).min(timeouts.attempt))
                    .operation_attempt_timeout(timeouts.attempt)
                    .operation_timeout(timeouts.operation)
                    .build(),
            );
        if let Some(profile) = &profile {
            require_profile(profile).await?;
            // The default chain reads AWS_ACCESS_KEY_ID before any profile, even with
            // `profile_name` set: a named profile must supply the credentials itself.
            let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build();
            loader = loader
                .profile_name(profile)
                .credentials_provider(credentials);
        }
        if let Some(region) = &region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let config = loader.load().await;
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or(AwsConfigError::NoRegion)?;
        let omics_config = aws_sdk_omics::config::Builder::from(&config);
        let omics_config = match omics_endpoint_override(&config) {
            Some(host) => omics_config.interceptor(KeepConfiguredHost { authority: host }),
            None => omics_config,
        };
        Ok(Self {
            ecr: aws_sdk_ecr::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            omics: aws_sdk_omics::Client::from_conf(omics_config.build()),
            sts: aws_sdk_sts::Client::new(&config),
            partition: partition_for_region(&region),
            region,
            profile,
            account_id: OnceCell::new(),
        })
    }

    /// The caller's account, from `sts:GetCallerIdentity`, asked once.
    pub async fn account_id(&self) -> Result<String, AwsCallError> {
        self.account_id
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| AwsCallError::from_sdk("sts:GetCallerIdentity", e))?;
                out.account().map(str::to_owned).ok_or_else(|| {
                    AwsCallError::incomplete_response("sts:GetCallerIdentity", "account id")
                })
            })
            .await
            .cloned()
    }

    /// What writes through these clients are serialized by: the account and region, or the
    /// profile when the account cannot be read (two names for one account then lock apart,
    /// which only loses the in-process guarantee, never a statement: verification still runs).
    pub async fn write_scope(&self) -> String {
        match self.account_id().await {
            Ok(account) => format!("{account}/{}", self.region),
            Err(_) => format!(
                "profile:{}/{}",
                self.profile.as_deref().unwrap_or(""),
                self.region
            ),
        }
    }

    pub fn arn_partition(&self) -> &'static str {
        self.partition.arn_partition()
    }
}

/// A profile named by the caller must exist in the AWS config or credentials file; otherwise the
/// SDK would quietly fall back to other credentials.
async fn require_profile(profile: &str) -> Result<(), AwsConfigError> {
    let env = aws_types::os_shim_internal::Env::real();
    let fs = aws_types::os_shim_internal::Fs::real();
    // The default files: ~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE and
    // AWS_SHARED_CREDENTIALS_FILE.
    let profiles = aws_config::profile::load(&fs, &env, &Default::default(), None)
        .await
        .map_err(|e| AwsConfigError::ProfileFilesUnreadable {
            profile: profile.to_owned(),
            message: e.to_string(),
        })?;
    if profiles.get_profile(profile).is_some() {
        return Ok(());
    }
    let mut known: Vec<String> = profiles.profiles().map(str::to_owned).collect();
    known.sort_unstable();
    Err(AwsConfigError::UnknownProfile {
        profile: profile.to_owned(),
        known,
    })
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The host of an endpoint override for HealthOmics, if any.
fn omics_endpoint_override(config: &aws_types::SdkConfig) -> Option<String> {
    let url = std::env::var("AWS_ENDPOINT_URL_OMICS")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| config.endpoint_url().map(str::to_owned))?;
    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    (!authority.is_empty()).then(|| authority.to_owned())
}

/// The omics client prepends host prefixes (`workflows-`, `analytics-`, ...) even to an
/// overridden endpoint, which turns `127.0.0.1:5055` into an unresolvable host. This restores
/// the configured host; there is no SDK switch for it.
#[derive(Debug)]
struct KeepConfiguredHost {
    authority: String,
}

impl Intercept for KeepConfiguredHost {
    fn name(&self) -> &'static str {
        "KeepConfiguredHost"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        if let Some(fixed) = restore_host(&uri, &self.authority) {
            request.set_uri(fixed)?;
        }
        Ok(())
    }
}

/// `http://workflows-127.0.0.1:5055/x` with authority `127.0.0.1:5055` →
/// `http://127.0.0.1:5055/x`; `None` when the URI already has the configured host.
fn restore_host(uri: &str, authority: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let (host, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    (host != authority && host.ends_with(authority))
        .then(|| format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_client_cache_is_bounded_and_refuses_bad_regions() {
        let context = AwsContext::new(AwsDefaults::default());
        for i in 0..(CLIENT_CACHE_MAX + 10) {
            let region = format!("zz-test-{i}");
            assert!(
                context.clients(None, Some(&region)).await.is_ok(),
                "{region}"
            );
        }
        assert_eq!(context.cached_client_count().await, CLIENT_CACHE_MAX);
        let huge = "x".repeat(100_000);
        for bad in ["../../", huge.as_str()] {
            let err = context.clients(None, Some(bad)).await.err();
            assert!(
                matches!(err, Some(AwsConfigError::InvalidInput(_))),
                "{err:?}"
            );
        }
        assert_eq!(context.cached_client_count().await, CLIENT_CACHE_MAX);
    }

    #[test]
    fn host_prefix_is_removed_only_when_added() {
        assert_eq!(
            restore_host(
                "http://workflows-127.0.0.1:5055/workflow?x=1",
                "127.0.0.1:5055"
            )
            .as_deref(),
            Some("http://127.0.0.1:5055/workflow?x=1")
        );
        assert_eq!(
            restore_host("http://127.0.0.1:5055/workflow", "127.0.0.1:5055"),
            None
        );
        assert_eq!(
            restore_host("https://other.example/x", "127.0.0.1:5055"),
            None
        );
    }
}
