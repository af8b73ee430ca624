//! `CheckContainerAvailability`: is an image in private ECR, can HealthOmics pull it, and does
//! it follow HealthOmics' container rules — optionally pulling it through its cache first.
//!
//! What the result says is decided in [`crate::core::plan::check`]; this file reads, with the
//! account reads of [`crate::aws::account_reads`] and the image reads of [`crate::image_reads`].

use std::sync::Arc;

use futures::StreamExt;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use crate::aws::{AwsClients, account_reads, ecr};
use crate::core::account::PullThroughCacheRule;
use crate::core::image_ref::ImageReference;
use crate::core::plan::batch::{self, CHECK_CONCURRENCY, CheckBatchOutput, Failure};
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
        /// ECR repository, e.g. `quay/biocontainers/samtools`.
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
        /// Instead of repository_name: an ECR URI or upstream reference (`quay.io/org/x:1`),
        /// resolved through the caches.
        #[serde(default)]
        #[schemars(with = "String")]
        pub image_uri: Option<String>,
        /// Pull a missing image through its (usable) cache now.
        #[serde(default)]
        pub initiate_pull_through: bool,
        /// Also list layer files to find content under /tmp (slower).
        #[serde(default)]
        pub inspect_layers: bool,
        /// Several image_uri's, checked at once.
        #[serde(default)]
        pub images: Vec<String>,
        /// Local workflow file or folder to check.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_definition: Option<String>,
    }
}

impl CheckParams {
    /// A batch was asked for: `images` or a workflow, not one image.
    pub fn is_batch(&self) -> bool {
        !self.images.is_empty() || self.workflow_definition.is_some()
    }
}

/// The tool's result: one image's report, or a batch's counts and rows (`images` or
/// `workflow_definition`). One of the two, flattened, so a single image's result is unchanged.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckResult {
    #[serde(flatten)]
    pub one: Option<Box<CheckOutput>>,
    #[serde(flatten)]
    pub batch: Option<CheckBatchOutput>,
}

#[tool_router(router = check_container_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Check images for AWS HealthOmics: in private ECR (digest, platforms), pullable by
    /// HealthOmics (repository policy; for a cache also registry policy, template), container
    /// rules (amd64, no ENTRYPOINT, no AWS_WORKFLOW_ env, /tmp with inspect_layers). One:
    /// image_uri or repository_name; many: images or workflow_definition (counts, a row each).
    /// initiate_pull_through pulls missing cached images.
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
    ) -> Result<Json<CheckResult>, ToolError> {
        let result = if params.is_batch() {
            CheckResult {
                one: None,
                batch: Some(self.check_containers(params).await?),
            }
        } else {
            CheckResult {
                one: Some(Box::new(self.check_container(params).await?)),
                batch: None,
            }
        };
        Ok(Json(result))
    }
}

impl HealthOmicsEcrServer {
    /// Checks one image (repository_name or image_uri), for the tool and the `check` command.
    pub async fn check_container(&self, params: CheckParams) -> Result<CheckOutput, ToolError> {
        self.check_one(params, None).await
    }

    /// One image; `shared` (a batch's) gives the cache rules, judged once for every image of
    /// the batch in the same account and region, instead of reading them again per image.
    pub(crate) async fn check_one(
        &self,
        params: CheckParams,
        shared: Option<&SharedCaches>,
    ) -> Result<CheckOutput, ToolError> {
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
        let shared = shared.filter(|s| s.region == clients.region);
        let (rules, rules_problem) = match shared {
            Some(s) => (s.rules.clone(), None),
            None => read_rules(&clients, upstream_given).await?,
        };
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
                return Ok(report::unserved(&r, &account, &clients.region));
            }
        };
        let cache = match shared {
            Some(s) => s.judged_for(&target),
            None => judge_cache(&clients, &target, &rules).await,
        };

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
        Ok(report::report(CheckRead {
            account,
            region: clients.region.clone(),
            target,
            rules_problem,
            cache,
            found,
            repository_policy,
            inspection,
        }))
    }

    /// Checks every image of `images` and of `workflow_definition` through [`Self::check_container`],
    /// [`CHECK_CONCURRENCY`] at a time; an image whose check fails is a row with its error. For
    /// the tool, the `check` command and any tool that checks a workflow's images.
    pub async fn check_containers(
        &self,
        params: CheckParams,
    ) -> Result<CheckBatchOutput, ToolError> {
        if params.repository_name.is_some()
            || params.image_uri.is_some()
            || params.image_tag.is_some()
            || params.image_digest.is_some()
        {
            return Err(ToolError::invalid_input(
                "images and workflow_definition check several images; repository_name, image_uri, image_tag and image_digest name one.",
                "Put every reference in images (add image_uri's there), or check one image without images.",
            ));
        }
        if params.initiate_pull_through && self.read_only {
            return Err(ToolError::invalid_input(
                "initiate_pull_through would create repositories, and this server runs with --read-only.",
                "Call without initiate_pull_through, or restart the server without --read-only.",
            ));
        }
        let (found, unresolved) = match &params.workflow_definition {
            Some(path) => workflow_images(path).await?,
            None => (Vec::new(), Vec::new()),
        };
        let images = batch::image_list("images", params.images.iter().cloned().chain(found))?;
        let clients = self.clients_for(&params).await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        let shared = SharedCaches::read(&clients).await;
        let shared = shared.as_ref();
        let checks = images.into_iter().map(|image| {
            let one = CheckParams {
                repository_name: None,
                image_tag: None,
                image_digest: None,
                image_uri: Some(image.clone()),
                initiate_pull_through: params.initiate_pull_through,
                inspect_layers: params.inspect_layers,
                images: Vec::new(),
                workflow_definition: None,
                aws_profile: params.aws_profile.clone(),
                aws_region: params.aws_region.clone(),
            };
            async move {
                let result = self.check_one(one, shared).await;
                (image, result.map_err(failure))
            }
        });
        let checked: Vec<batch::Checked> = futures::stream::iter(checks)
            .buffered(CHECK_CONCURRENCY)
            .collect()
            .await;
        Ok(batch::check_batch(
            account,
            clients.region.clone(),
            &checked,
            &unresolved,
        ))
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

/// A batch's cache rules, read and judged once (one registry-policy and one template read for
/// all of them) for every image in `region`.
pub(crate) struct SharedCaches {
    region: String,
    rules: Vec<PullThroughCacheRule>,
    judged: Vec<RuleJudgement>,
}

impl SharedCaches {
    /// `None` when the rules cannot be read: each image then reads (and reports) on its own.
    pub(crate) async fn read(clients: &AwsClients) -> Option<Self> {
        let rules = ecr::all_pull_through_cache_rules(&clients.ecr).await.ok()?;
        let (_, judged) = account_reads::judge_rules(clients, rules.clone()).await;
        Some(Self {
            region: clients.region.clone(),
            rules,
            judged,
        })
    }

    /// The judged cache whose prefix holds the repository, as [`judge_cache`] finds it.
    fn judged_for(&self, target: &Target) -> Option<RuleJudgement> {
        let rule = target::serving_rule(&target.repository, &self.rules)?;
        self.judged
            .iter()
            .find(|j| j.rule.ecr_repository_prefix == rule.ecr_repository_prefix)
            .cloned()
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

/// The distinct images a local workflow definition names, and the references that are
/// expressions rather than images.
async fn workflow_images(path: &str) -> Result<(Vec<String>, Vec<String>), ToolError> {
    let scan =
        super::scan_definition(path, &crate::core::workflow_images::RunOptions::default()).await?;
    let unresolved = scan
        .unresolved()
        .into_iter()
        .map(|(_, found)| found.reference.clone())
        .collect();
    Ok((scan.distinct_images(), unresolved))
}

/// One image's tool error as a batch row reads it: what failed and the fix, its code, and what
/// the call had already changed (its `completed` details).
pub(crate) fn failure(error: ToolError) -> Failure {
    let code = serde_json::to_value(error.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let changed = error
        .details
        .as_ref()
        .and_then(|d| d.get("completed"))
        .and_then(|c| c.as_array())
        .map(|c| {
            c.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Failure {
        message: format!("{} {}", error.message, error.remediation),
        code,
        changed,
    }
}
