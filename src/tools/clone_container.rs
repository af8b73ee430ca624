//! `CloneContainerToECR`: put an image into private ECR where HealthOmics can pull it — through
//! a pull-through cache when one serves the source, otherwise by copying it registry to registry
//! (no Docker, no CodeBuild), then granting access and verifying the digest. The decisions and
//! their wording are [`crate::core::plan::clone`]'s; this file reads what the plan needs and
//! hands the steps to [`crate::clone_exec`], which runs them and reads the image back.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use crate::aws::{AwsClients, account_reads, ecr};
use crate::cancellation;
use crate::clone_exec::{Copier, Run, after_side_effects};
use crate::core::account::ImageSelector;
use crate::core::image_ref::ImageReference;
use crate::core::plan::batch::{self, BatchProgress, CLONE_CONCURRENCY, CloneBatchOutput};
pub use crate::core::plan::clone::CloneOutput;
use crate::core::plan::clone::{
    self, ClonePlan, CloneRequest, CopyRoute, Route, ServingCache, Target, UpstreamHead,
};
use crate::core::tool_names;
use crate::error::ToolError;
use crate::image_reads;
use crate::oci::{CopyProgress, Credentials, ProgressFn};
use crate::registry_access::{self, EcrRegistry};
use crate::server::HealthOmicsEcrServer;
use crate::tools::check_container::failure;
use crate::tools::progress_reporter;

/// The tool's result: one image's clone, or a batch's counts, rows and image mappings
/// (`source_images`). One of the two, flattened, so a single clone's result is unchanged.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CloneResult {
    #[serde(flatten)]
    pub one: Option<Box<CloneOutput>>,
    #[serde(flatten)]
    pub batch: Option<CloneBatchOutput>,
}

tool_params! {
    pub struct CloneParams {
        /// Image to copy, any reference (`ubuntu:22.04`, `quay.io/org/x:1`, `…@sha256:…`, an ECR URI).
        #[serde(default)]
        #[schemars(with = "String")]
        pub source_image: Option<String>,
        /// Several sources, each to its default target.
        #[serde(default)]
        pub source_images: Vec<String>,
        /// Target repository; default: the cache's repository, or the registry's usual prefix +
        /// source path.
        #[serde(default)]
        #[schemars(with = "String")]
        pub target_repository_name: Option<String>,
        /// Tag for the copy (default: the source's).
        #[serde(default)]
        #[schemars(with = "String")]
        pub target_image_tag: Option<String>,
        /// Platform of a multi-arch image (default `linux/amd64`, the only one HealthOmics runs).
        #[serde(default)]
        #[schemars(with = "String")]
        pub platform: Option<String>,
        /// Secret with source-registry credentials (username + accessToken/password); default: anonymous.
        #[serde(default)]
        #[schemars(with = "String")]
        pub source_credential_arn: Option<String>,
        /// Return the plan and change nothing.
        #[serde(default)]
        pub dry_run: bool,
    }
}

#[tool_router(router = clone_container_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Copy images into private ECR for AWS HealthOmics, no Docker or CodeBuild: through a
    /// pull-through cache serving the source, else registry to registry (streamed, existing
    /// blobs skipped, digest verified; amd64 of a multi-arch source, refused before any write if
    /// none). Creates the repository, grants HealthOmics pull, returns the digest-pinned URI and
    /// image mapping. source_images: many at once, a row each. dry_run plans.
    #[tool(
        name = "CloneContainerToECR",
        title = "Copy a container image into private ECR for HealthOmics",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn clone_container_to_ecr(
        &self,
        Parameters(params): Parameters<CloneParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<CloneResult>, ToolError> {
        let progress = progress_reporter(&context);
        let result = if params.source_images.is_empty() {
            CloneResult {
                one: Some(Box::new(self.clone_container(params, progress).await?)),
                batch: None,
            }
        } else {
            CloneResult {
                one: None,
                batch: Some(self.clone_containers(params, progress).await?),
            }
        };
        Ok(Json(result))
    }
}

impl HealthOmicsEcrServer {
    /// The clone itself, for the MCP tool and the `clone` command alike: `progress` hears about
    /// the copy's blobs (MCP progress notifications, or a terminal's progress bar), and every
    /// write first asks [`cancellation::check_before_write`] whether the caller still wants it
    /// (the task-local token of the call in flight; none outside an MCP call).
    pub async fn clone_container(
        &self,
        params: CloneParams,
        progress: Option<ProgressFn>,
    ) -> Result<CloneOutput, ToolError> {
        // 1. Check the arguments; nothing is read before they are valid.
        let source_image = params.source_image.as_deref().ok_or_else(|| {
            ToolError::invalid_input(
                "Give source_image (one image) or source_images (several).",
                "Pass the image to copy as source_image, e.g. \"quay.io/biocontainers/samtools:1.19\".",
            )
        })?;
        let request = CloneRequest::parse(
            source_image,
            params.target_repository_name.as_deref(),
            params.target_image_tag.as_deref(),
            params.platform.as_deref(),
            params.dry_run,
        )?;
        let clients = self.clients_for(&params).await?;
        let target = Target {
            account_id: clients
                .account_id()
                .await
                .map_err(|e| e.into_tool_error(None))?,
            region: clients.region.clone(),
        };
        // 2. The pull-through cache that serves the source, judged (its rules unread: none).
        let (cache, notes) = serving_cache(&clients, &request).await;
        // 3. Choose the route and plan it from what ECR and the source registry hold.
        let (mut plan, copier) = match clone::route(&request, &target, cache.as_ref())? {
            Route::Cache(route) => {
                let exists = repository_exists(&clients, &route.repository).await?;
                let plan = clone::plan_cache(&request, &target, route, exists, notes);
                (plan, None)
            }
            Route::Copy(route) => {
                let (plan, copier) = self
                    .plan_copy(&params, &clients, &request, &target, route, notes)
                    .await?;
                (plan, Some(copier))
            }
        };
        // 4. With dry_run the plan is the answer.
        if request.dry_run {
            return Ok(plan.output);
        }
        // 5. Run the steps in order, each after a cancellation check; a failure says what had
        // changed and that a retry resumes.
        let copier = copier.map(|(registry, source_auth)| Copier {
            registry,
            source_auth,
            progress,
        });
        let mut run = Run::new(&clients, &request, &self.write_locks, copier);
        for step in plan.steps.clone() {
            cancellation::check_before_write(tool_names::CLONE, &plan.output.side_effects())?;
            run.step(&step, &mut plan.output)
                .await
                .map_err(|e| after_side_effects(e, &plan.output))?;
        }
        // 6. Read the image back: its digest is the source's.
        let upstream = self.upstream_head(&params, &clients, &request.source);
        let (digest, verified) = run.read_back(&mut plan, upstream).await?;
        Ok(plan.finish(digest, verified))
    }

    /// Clones every image of `source_images` through [`Self::clone_container`], each into its
    /// default target, [`CLONE_CONCURRENCY`] at a time; `progress` hears the bytes and blobs of
    /// all copies added up. An image that fails is a row with its error and what it had
    /// changed; the others go on. Each write still asks first whether the call was cancelled.
    /// For the tool, the `clone` command and any tool that clones a workflow's images.
    pub async fn clone_containers(
        &self,
        params: CloneParams,
        progress: Option<ProgressFn>,
    ) -> Result<CloneBatchOutput, ToolError> {
        if params.source_image.is_some()
            || params.target_repository_name.is_some()
            || params.target_image_tag.is_some()
        {
            return Err(ToolError::invalid_input(
                "source_images clones several images, each to its default target; source_image, target_repository_name and target_image_tag name one copy.",
                "Put every image in source_images without a target, or clone one image at a time with its target.",
            ));
        }
        let images = batch::image_list("source_images", params.source_images.iter().cloned())?;
        let clients = self.clients_for(&params).await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        let totals = Arc::new(Mutex::new(BatchProgress::new(images.len())));
        let clones = images.into_iter().enumerate().map(|(index, image)| {
            let one = CloneParams {
                source_image: Some(image.clone()),
                source_images: Vec::new(),
                target_repository_name: None,
                target_image_tag: None,
                platform: params.platform.clone(),
                source_credential_arn: params.source_credential_arn.clone(),
                dry_run: params.dry_run,
                aws_profile: params.aws_profile.clone(),
                aws_region: params.aws_region.clone(),
            };
            let progress = progress
                .clone()
                .map(|sink| batch_progress(sink, &totals, index));
            async move {
                let result = self.clone_container(one, progress).await;
                (image, result.map_err(failure))
            }
        });
        let cloned: Vec<batch::Cloned> = futures::stream::iter(clones)
            .buffered(CLONE_CONCURRENCY)
            .collect()
            .await;
        let region = clients.region.clone();
        Ok(batch::clone_batch(account, region, params.dry_run, &cloned))
    }

    /// Reads what a registry copy is planned from: the source (for the platform asked for), the
    /// target repository and the digest its tag holds now.
    async fn plan_copy(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        request: &CloneRequest,
        target: &Target,
        route: CopyRoute,
        notes: Vec<String>,
    ) -> Result<(ClonePlan, (EcrRegistry, Credentials)), ToolError> {
        let source_auth = self
            .source_credentials(params, clients, &request.source)
            .await?;
        let registry =
            registry_access::ecr_registry(clients, &target.account_id, &self.mirrors).await?;
        let (source, platform) = (&request.source, &request.platform);
        let image =
            image_reads::source_image(&registry.client, source, &source_auth, platform).await?;
        let exists = repository_exists(clients, &route.repository).await?;
        let tag = ImageSelector::Tag(route.tag.clone());
        let tag_digest = match exists {
            false => None,
            true => ecr::describe_image(&clients.ecr, &route.repository, &tag)
                .await
                .map_err(|e| e.into_tool_error(Some(&route.repository)))?
                .map(|d| d.digest),
        };
        let tag_digest = tag_digest.as_deref();
        let plan = clone::plan_copy(request, target, route, &image, exists, tag_digest, notes)?;
        Ok((plan, (registry, source_auth)))
    }

    /// What the upstream's tag points at now (HEAD on the source); credentials that cannot be
    /// had leave it unknown, and why.
    async fn upstream_head(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        source: &ImageReference,
    ) -> UpstreamHead {
        match self.source_credentials(params, clients, source).await {
            Ok(credentials) => {
                image_reads::upstream_head(&self.mirrors, source, &credentials).await
            }
            Err(err) => UpstreamHead::Unknown(err.message),
        }
    }

    /// The source registry's credentials for this call: its secret, or its profile's ECR token.
    async fn source_credentials(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        source: &ImageReference,
    ) -> Result<Credentials, ToolError> {
        let secret = params.source_credential_arn.as_deref();
        let profile = params.aws_profile.as_deref();
        registry_access::source_credentials(&self.aws, clients, profile, secret, source).await
    }
}

/// The cache rule whose upstream serves the source (into the repository asked for), judged.
/// Rules that cannot be read leave only the copy, and a note says so.
async fn serving_cache(
    clients: &AwsClients,
    request: &CloneRequest,
) -> (Option<ServingCache>, Vec<String>) {
    let accepts = |repository: &str| request.may_pull_into(repository);
    match account_reads::cache_serving(clients, &request.source, accepts).await {
        Ok(served) => {
            let cache =
                served.map(|(repository, judged)| ServingCache::judged(repository, &judged));
            (cache, Vec::new())
        }
        Err(err) => (None, vec![clone::caches_not_considered(&err.to_string())]),
    }
}

/// Image `index`'s copy progress, added into the batch's one stream.
fn batch_progress(
    sink: ProgressFn,
    totals: &Arc<Mutex<BatchProgress>>,
    index: usize,
) -> ProgressFn {
    let totals = Arc::clone(totals);
    Arc::new(move |p: CopyProgress| {
        let report = [
            p.bytes_done,
            p.bytes_total,
            p.blobs_done as u64,
            p.blobs_total as u64,
        ];
        // A poisoned lock only means a reporter panicked mid-sum; the counts are still usable.
        let sum = totals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .update(index, report);
        sink(CopyProgress {
            bytes_done: sum[0],
            bytes_total: sum[1],
            blobs_done: usize::try_from(sum[2]).unwrap_or(usize::MAX),
            blobs_total: usize::try_from(sum[3]).unwrap_or(usize::MAX),
        });
    })
}

/// Whether the repository exists, as a tool error about it when ECR cannot say.
async fn repository_exists(clients: &AwsClients, name: &str) -> Result<bool, ToolError> {
    let exists = account_reads::repository_exists(clients, name).await;
    exists.map_err(|e| e.into_tool_error(Some(name)))
}
