//! `CheckContainerAvailability`: is an image in private ECR, can HealthOmics pull it, and does
//! it follow HealthOmics' container rules — optionally pulling it through its cache first.
//!
//! What the result says is decided in [`crate::core::plan::check`]; this file reads.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

use crate::aws::account_reads;
use crate::aws::{AwsClients, AwsErrorKind, ecr};
use crate::core::account::{self, ImageSelector};
use crate::core::image_rules;
use crate::core::plan::check::{
    CheckOutput, CheckRead, Found, ImageReading, PlatformInfo, PullAnswer, PullAttempt, Resolved,
    Target, report, target,
};
use crate::core::policy;
use crate::core::verdicts::{self, Judged};
use crate::error::ToolError;
use crate::registry_access::{self, EcrRegistry};
use crate::server::HealthOmicsEcrServer;

/// Layers whose paths are read with inspect_layers, and entries per layer: enough for any real
/// image's /tmp check without letting a pathological layer run forever.
const LAYER_PATH_LIMIT: usize = 200_000;

tool_params! {
    pub struct CheckParams {
        /// ECR repository name, e.g. `quay/biocontainers/samtools` (or give image_uri).
        #[serde(default)]
        #[schemars(with = "String")]
        pub repository_name: Option<String>,
        /// Tag to check (default `latest`); ignored when a digest is given.
        #[serde(default)]
        #[schemars(with = "String")]
        pub image_tag: Option<String>,
        /// Digest to check (`sha256:` + 64 hex); wins over the tag.
        #[serde(default)]
        #[schemars(with = "String")]
        pub image_digest: Option<String>,
        /// A full image reference instead of repository_name: a private ECR URI, or an upstream
        /// reference (e.g. `quay.io/biocontainers/samtools:1.19`) resolved through the account's
        /// pull-through caches.
        #[serde(default)]
        #[schemars(with = "String")]
        pub image_uri: Option<String>,
        /// If the image is not cached yet and its cache is usable by HealthOmics, pull it through
        /// the cache now (creates the repository from the cache's template).
        #[serde(default)]
        pub initiate_pull_through: bool,
        /// Also read the file list of every layer to find content under /tmp (slower).
        #[serde(default)]
        pub inspect_layers: bool,
    }
}

#[tool_router(router = check_container_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Check one container image for AWS HealthOmics: is it in private ECR (digest, size, push
    /// time, media type, platforms), can HealthOmics pull it (repository policy; for a
    /// pull-through cache also the registry policy and template), and does it follow
    /// HealthOmics' container rules (linux/amd64, no ENTRYPOINT, no AWS_WORKFLOW_ variables,
    /// nothing under /tmp with inspect_layers, size). Give repository_name (+ image_tag or
    /// image_digest) or image_uri (an ECR URI, or an upstream reference resolved through the
    /// account's caches). With initiate_pull_through it pulls a missing image through its cache
    /// (accepting multi-arch indexes) and reports what really happened.
    #[tool(
        name = "CheckContainerAvailability",
        title = "Check a container image for HealthOmics",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn check_container_availability(
        &self,
        Parameters(params): Parameters<CheckParams>,
    ) -> Result<Json<CheckOutput>, ToolError> {
        if params.initiate_pull_through && self.read_only {
            return Err(ToolError::invalid_input(
                "initiate_pull_through would create a repository, and this server runs with --read-only.",
                "Call without initiate_pull_through, or restart the server without --read-only.",
            ));
        }
        let reference = target::parse_uri(params.image_uri.as_deref()).map_err(ToolError::from)?;
        // An ECR URI names its region; the call's aws_region (if any) must agree.
        let uri_region = reference
            .as_ref()
            .and_then(|r| r.ecr_host())
            .map(|h| h.region);
        let region = params.aws_region.as_deref().or(uri_region.as_deref());
        let clients = self
            .aws
            .clients(params.aws_profile.as_deref(), region)
            .await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;

        // 1. Which repository and image, and the cache that serves it.
        let upstream_given = reference.as_ref().is_some_and(|r| r.ecr_host().is_none());
        let (rules, rules_problem) = read_rules(&clients, upstream_given).await?;
        let resolved = target::resolve(
            reference,
            params.repository_name.as_deref(),
            params.image_tag.as_deref(),
            params.image_digest.as_deref(),
            &account,
            &rules,
        );
        let target = match resolved.map_err(ToolError::from)? {
            Resolved::Target(t) => t,
            Resolved::Unserved(r) => {
                return Ok(Json(report::unserved(&r, &account, &clients.region)));
            }
        };
        let cache = judge_cache(&clients, &target, &rules).await;

        // 2. Is it there? Pull it through the cache when asked and allowed.
        let pull = params.initiate_pull_through;
        let found = find(&clients, &target, cache.as_ref(), pull).await?;
        // 3. Can HealthOmics pull it: the repository policy as stored now.
        let repository_policy = repository_policy(&clients, &account, &target, &found).await;
        // 4. The image itself: platforms and container rules, read from the registry.
        let layers = params.inspect_layers;
        let inspection = self
            .inspect(&clients, &account, &target, &found, layers)
            .await;
        Ok(Json(report::report(CheckRead {
            account,
            region: clients.region.clone(),
            target,
            rules_problem,
            cache,
            found,
            repository_policy,
            inspection,
        })))
    }
}

/// The account's cache rules. Without them an upstream reference cannot be resolved at all
/// (an error), and a repository's cache is unknown (said in the result).
async fn read_rules(
    clients: &AwsClients,
    upstream_given: bool,
) -> Result<(Vec<account::PullThroughCacheRule>, Option<String>), ToolError> {
    match ecr::all_pull_through_cache_rules(&clients.ecr).await {
        Ok(rules) => Ok((rules, None)),
        Err(err) if upstream_given => Err(err.into_tool_error(None)),
        Err(err) => Ok((
            Vec::new(),
            Some(format!("pull-through cache membership is unknown: {err}")),
        )),
    }
}

/// The repository and image; with `pull`, a missing image is pulled through a usable cache and
/// both are read again.
async fn find(
    clients: &AwsClients,
    target: &Target,
    cache: Option<&verdicts::RuleJudgement>,
    pull: bool,
) -> Result<Found, ToolError> {
    let repository = target.repository.as_str();
    let existed = repository_exists(clients, repository).await?;
    let mut found = Found {
        existed,
        exists_now: existed,
        image: match existed {
            true => describe(clients, repository, &target.selector).await?,
            false => None,
        },
        pull: None,
    };
    if found.image.is_some() || !pull {
        return Ok(found);
    }
    let attempt = match report::why_not_pull_through(cache) {
        Some(why) => PullAttempt::NotAttempted(why),
        None => PullAttempt::Answered(pull_through(clients, target).await),
    };
    if let PullAttempt::Answered(answer) = &attempt {
        if let PullAnswer::Found { digest } = answer {
            let by_digest = ImageSelector::Digest(digest.clone());
            found.image = describe(clients, repository, &by_digest).await?;
        }
        found.exists_now = existed
            || repository_exists(clients, repository)
                .await
                .unwrap_or(false);
    }
    found.pull = Some(attempt);
    Ok(found)
}

async fn repository_exists(clients: &AwsClients, name: &str) -> Result<bool, ToolError> {
    Ok(ecr::repository(&clients.ecr, name)
        .await
        .map_err(|e| e.into_tool_error(Some(name)))?
        .is_some())
}

async fn describe(
    clients: &AwsClients,
    repository: &str,
    selector: &ImageSelector,
) -> Result<Option<account::ImageDetail>, ToolError> {
    ecr::describe_image(&clients.ecr, repository, selector)
        .await
        .map_err(|e| e.into_tool_error(Some(repository)))
}

/// BatchGetImage on the cache's repository: ECR pulls the image from the upstream.
async fn pull_through(clients: &AwsClients, target: &Target) -> PullAnswer {
    match ecr::batch_get_image(&clients.ecr, &target.repository, &target.selector).await {
        Ok(account::BatchImage::Found { digest, .. }) => PullAnswer::Found { digest },
        Ok(account::BatchImage::Failed { code, reason }) => PullAnswer::Refused { code, reason },
        Err(err) if err.kind == AwsErrorKind::AccessDenied => PullAnswer::Denied {
            action: err.action.to_owned(),
            message: err.message.clone(),
            shown: err.to_string(),
        },
        Err(err) => PullAnswer::Failed {
            shown: err.to_string(),
        },
    }
}

/// The cache whose prefix holds the repository, judged.
async fn judge_cache(
    clients: &AwsClients,
    target: &Target,
    rules: &[account::PullThroughCacheRule],
) -> Option<verdicts::RuleJudgement> {
    let rule = target::serving_rule(&target.repository, rules)?;
    account_reads::judge_rules(clients, vec![rule.clone()])
        .await
        .1
        .pop()
}

/// The repository's policy, read and judged when the repository exists.
async fn repository_policy(
    clients: &AwsClients,
    account: &str,
    target: &Target,
    found: &Found,
) -> Option<Judged> {
    if !found.exists_now {
        return None;
    }
    let repository = target.repository.as_str();
    let arn = policy::repository_arn(
        clients.arn_partition(),
        &clients.region,
        account,
        repository,
    );
    Some(account_reads::repository_access(clients, repository, Some(&arn)).await)
}

impl HealthOmicsEcrServer {
    /// Reads the image's manifest and config (and with `layers` every layer's file list) from
    /// the ECR registry endpoint and checks the HealthOmics container rules; `Err` says why
    /// the image could not be read.
    async fn inspect(
        &self,
        clients: &AwsClients,
        account: &str,
        target: &Target,
        found: &Found,
        layers: bool,
    ) -> Option<Result<ImageReading, String>> {
        let digest = &found.image.as_ref()?.digest;
        let read = async {
            let EcrRegistry {
                host,
                credentials,
                client,
                ..
            } = registry_access::ecr_registry(clients, account, &self.mirrors).await?;
            let image = format!("{host}/{}@{digest}", target.repository);
            let reference = target::parse_reference(&image).map_err(ToolError::from)?;
            let inspection = client
                .inspect(&reference, &credentials)
                .await
                .map_err(ToolError::from)?;
            let (mut paths, mut uncompressed) = (None, None);
            if layers && inspection.platform_found {
                let (mut all, mut total) = (Vec::new(), 0u64);
                for layer in &inspection.image.layers {
                    let listing = client
                        .layer_paths(&reference, layer, &credentials, LAYER_PATH_LIMIT)
                        .await
                        .map_err(ToolError::from)?;
                    total += listing.uncompressed_size.unwrap_or(0);
                    all.extend(listing.paths);
                }
                (paths, uncompressed) = (Some(all), Some(total));
            }
            let summary = inspection.manifest_summary(uncompressed);
            let config = &inspection.image.config;
            Ok::<_, ToolError>(ImageReading {
                platforms: inspection
                    .platforms
                    .iter()
                    .filter_map(|e| {
                        let platform = e.platform.as_ref()?.to_string();
                        let digest = e.digest.to_string();
                        Some(PlatformInfo { platform, digest })
                    })
                    .collect(),
                findings: image_rules::check_image(config, &summary, paths.as_deref()),
            })
        };
        Some(
            read.await
                .map_err(|err| format!("{}: {}", err.message, err.remediation)),
        )
    }
}
