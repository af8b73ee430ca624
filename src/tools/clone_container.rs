//! `CloneContainerToECR`: put an image into private ECR where HealthOmics can pull it — through
//! a pull-through cache when one serves the source, otherwise by copying it registry to registry
//! (no Docker, no CodeBuild), then granting access and verifying the digest. The decisions and
//! their wording are [`crate::core::plan::clone`]'s; this file reads what the plan needs and
//! hands the steps to [`crate::clone_exec`], which runs them and reads the image back.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};

use crate::aws::{AwsClients, account_reads, ecr};
use crate::cancellation;
use crate::clone_exec::{Copier, Run, after_side_effects};
use crate::core::account::ImageSelector;
use crate::core::image_ref::ImageReference;
pub use crate::core::plan::clone::CloneOutput;
use crate::core::plan::clone::{
    self, ClonePlan, CloneRequest, CopyRoute, Route, ServingCache, Target, UpstreamHead,
};
use crate::core::tool_names;
use crate::error::ToolError;
use crate::image_reads;
use crate::oci::{Credentials, ProgressFn};
use crate::registry_access::{self, EcrRegistry};
use crate::server::HealthOmicsEcrServer;
use crate::tools::progress_reporter;

tool_params! {
    pub struct CloneParams {
        /// Image to copy, any reference (`ubuntu:22.04`, `quay.io/org/x:1`, `…@sha256:…`, an ECR URI).
        pub source_image: String,
        /// Target repository; default: the registry's prefix + the source path (e.g.
        /// `seqera-community/library/samtools`).
        #[serde(default)]
        #[schemars(with = "String")]
        pub target_repository_name: Option<String>,
        /// Tag for the copy; default: the source's tag (`sha256-<12 hex>` for a digest).
        #[serde(default)]
        #[schemars(with = "String")]
        pub target_image_tag: Option<String>,
        /// Platform of a multi-arch image (default `linux/amd64`, the only one HealthOmics runs).
        #[serde(default)]
        #[schemars(with = "String")]
        pub platform: Option<String>,
        /// Secret with source-registry credentials (username + accessToken or password); default: anonymous.
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
    /// Copy a container image into private ECR for AWS HealthOmics, without Docker or CodeBuild:
    /// through a usable pull-through cache when one serves the source, else registry to registry
    /// (streamed, blobs already there skipped, digest verified; the linux/amd64 image of a
    /// multi-arch source). Creates the repository, grants HealthOmics pull access, returns the
    /// digest-pinned ECR URI and an image mapping. Any registry. dry_run shows the plan; long
    /// copies report MCP progress.
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
    ) -> Result<Json<CloneOutput>, ToolError> {
        self.clone_container(params, progress_reporter(&context))
            .await
            .map(Json)
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
        let request = CloneRequest::parse(
            &params.source_image,
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

/// Whether the repository exists, as a tool error about it when ECR cannot say.
async fn repository_exists(clients: &AwsClients, name: &str) -> Result<bool, ToolError> {
    let exists = account_reads::repository_exists(clients, name).await;
    exists.map_err(|e| e.into_tool_error(Some(name)))
}
