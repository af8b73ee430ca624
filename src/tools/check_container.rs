//! `CheckContainerAvailability`: is an image in private ECR, can HealthOmics pull it, and does
//! it follow HealthOmics' container rules — optionally pulling it through its cache first.
//!
//! What the result says is decided in [`crate::core::plan::check`]; this file reads, with the
//! account reads of [`crate::aws::account_reads`] and the image reads of [`crate::image_reads`].

use std::sync::Arc;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

use crate::aws::{AwsClients, account_reads, ecr};
use crate::core::account::PullThroughCacheRule;
use crate::core::image_ref::ImageReference;
use crate::core::plan::check::{
    CheckOutput, CheckRead, Found, ImageReading, Resolved, Target, report, target,
};
use crate::core::policy;
use crate::core::verdicts::{Judged, RuleJudgement};
use crate::error::ToolError;
use crate::image_reads;
use crate::server::HealthOmicsEcrServer;

tool_params! {
    pub struct CheckParams {
        /// ECR repository, e.g. `quay/biocontainers/samtools` (or image_uri).
        #[serde(default)]
        #[schemars(with = "String")]
        pub repository_name: Option<String>,
        /// Tag (default `latest`).
        #[serde(default)]
        #[schemars(with = "String")]
        pub image_tag: Option<String>,
        /// Digest (`sha256:…`); wins over the tag.
        #[serde(default)]
        #[schemars(with = "String")]
        pub image_digest: Option<String>,
        /// Or an image: an ECR URI, or an upstream reference (e.g. `quay.io/org/tool:1`) resolved
        /// through the account's caches.
        #[serde(default)]
        #[schemars(with = "String")]
        pub image_uri: Option<String>,
        /// Pull a missing image through its (usable) cache now.
        #[serde(default)]
        pub initiate_pull_through: bool,
        /// Also list every layer's files to find content under /tmp (slower).
        #[serde(default)]
        pub inspect_layers: bool,
    }
}

#[tool_router(router = check_container_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Check a container image for AWS HealthOmics: is it in private ECR (digest, platforms),
    /// can HealthOmics pull it (repository policy; for a cache also the registry policy and
    /// template), and does it follow HealthOmics' container rules (linux/amd64, no ENTRYPOINT,
    /// no AWS_WORKFLOW_ env, /tmp content with inspect_layers). initiate_pull_through pulls a
    /// missing cached image now.
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
        let reference = target::parse_uri(params.image_uri.as_deref())?;
        let clients = self.clients_for_check(&params, reference.as_ref()).await?;
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
        let target = match resolved? {
            Resolved::Target(t) => t,
            Resolved::Unserved(r) => {
                return Ok(Json(report::unserved(&r, &account, &clients.region)));
            }
        };
        let cache = judge_cache(&clients, &target, &rules).await;

        // 2. Is it there? Pull it through the cache when asked and allowed.
        let pull = params.initiate_pull_through;
        let found = account_reads::find_image(&clients, &target, cache.as_ref(), pull)
            .await
            .map_err(|e| e.into_tool_error(Some(&target.repository)))?;
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

impl HealthOmicsEcrServer {
    /// The clients of the call: an ECR URI names its region, which is used unless the call
    /// gives aws_region.
    async fn clients_for_check(
        &self,
        params: &CheckParams,
        reference: Option<&ImageReference>,
    ) -> Result<Arc<AwsClients>, ToolError> {
        let uri_region = reference.and_then(|r| r.ecr_host()).map(|h| h.region);
        let region = params.aws_region.as_deref().or(uri_region.as_deref());
        let profile = params.aws_profile.as_deref();
        Ok(self.aws.clients(profile, region).await?)
    }

    /// The image as read from the registry, when there is one; `Err` says why it could not be.
    async fn inspect(
        &self,
        clients: &AwsClients,
        account: &str,
        target: &Target,
        found: &Found,
        layers: bool,
    ) -> Option<Result<ImageReading, String>> {
        let image = (
            target.repository.as_str(),
            found.image.as_ref()?.digest.as_str(),
        );
        Some(image_reads::ecr_image(clients, &self.mirrors, account, image, layers).await)
    }
}

/// The account's cache rules. Without them an upstream reference cannot be resolved at all
/// (an error), and a repository's cache is unknown (said in the result).
async fn read_rules(
    clients: &AwsClients,
    upstream_given: bool,
) -> Result<(Vec<PullThroughCacheRule>, Option<String>), ToolError> {
    match ecr::all_pull_through_cache_rules(&clients.ecr).await {
        Ok(rules) => Ok((rules, None)),
        Err(err) if upstream_given => Err(err.into_tool_error(None)),
        Err(err) => Ok((
            Vec::new(),
            Some(format!("pull-through cache membership is unknown: {err}")),
        )),
    }
}

/// The cache whose prefix holds the repository, judged.
async fn judge_cache(
    clients: &AwsClients,
    target: &Target,
    rules: &[PullThroughCacheRule],
) -> Option<RuleJudgement> {
    let rule = target::serving_rule(&target.repository, rules)?;
    account_reads::judge_rule(clients, rule.clone()).await
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
