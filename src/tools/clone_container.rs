//! `CloneContainerToECR`: put an image into private ECR where HealthOmics can pull it — through
//! a pull-through cache when one serves the source, otherwise by copying it registry to registry
//! (no Docker, no CodeBuild), then granting access and verifying the digest. The decisions and
//! their wording are [`crate::core::plan::clone`]'s; this file reads, runs the steps, reads back.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use serde_json::json;

use crate::aws::account_reads;
use crate::aws::{AwsClients, AwsErrorKind, ecr};
use crate::cancellation;
use crate::core::account::{BatchImage, ImageSelector};
use crate::core::image_ref::ImageReference;
pub use crate::core::plan::clone::CloneOutput;
use crate::core::plan::clone::{
    self, ClonePlan, CloneRefusal, CloneRequest, CopyRoute, PullFailure, Route, ServingCache,
    SourceImage, Step, Target, UpstreamHead,
};
use crate::core::plan::grant::GrantRequest;
use crate::core::registries::AccessPath;
use crate::core::tool_names;
use crate::core::verdicts;
use crate::error::{ErrorCode, ToolError};
use crate::oci::{Credentials, ImageInspection, RegistryClient};
use crate::registry_access::{self, EcrRegistry};
use crate::repository_grant::{self, GrantCall};
use crate::server::HealthOmicsEcrServer;
use crate::tools::progress_reporter;

tool_params! {
    pub struct CloneParams {
        /// The image to copy: any reference (`ubuntu:22.04`, `quay.io/biocontainers/samtools:1.19`,
        /// `community.wave.seqera.io/library/x:1@sha256:…`, another account's ECR URI).
        pub source_image: String,
        /// ECR repository to copy into; default: the registry's usual prefix plus the source
        /// path (e.g. `seqera-community/library/samtools`). With a usable pull-through cache for
        /// the source and no name given, the cache's repository is used.
        #[serde(default)]
        #[schemars(with = "String")]
        pub target_repository_name: Option<String>,
        /// Tag for the copy; default: the source tag (or `sha256-<12 hex>` for a digest-only
        /// source). The source is always fetched by its own tag or digest.
        #[serde(default)]
        #[schemars(with = "String")]
        pub target_image_tag: Option<String>,
        /// Platform to copy from a multi-arch image (default `linux/amd64`, the only one
        /// HealthOmics runs).
        #[serde(default)]
        #[schemars(with = "String")]
        pub platform: Option<String>,
        /// Secrets Manager secret with source-registry credentials (JSON with username and
        /// accessToken or password); default: anonymous pulls.
        #[serde(default)]
        #[schemars(with = "String")]
        pub source_credential_arn: Option<String>,
        /// Show the plan (path, repository, size, platform) and change nothing.
        #[serde(default)]
        pub dry_run: bool,
    }
}

#[tool_router(router = clone_container_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Copy a container image into private ECR so AWS HealthOmics can use it, without Docker or
    /// CodeBuild. If a pull-through cache HealthOmics can use serves the source registry, the
    /// image is pulled through it (by the source tag or digest; target_image_tag adds a tag).
    /// Otherwise the server copies it registry to registry: manifest and blobs streamed into
    /// the account's ECR, blobs already there skipped, digest verified end to end; a multi-arch
    /// source gives its linux/amd64 image, and an image with no amd64 variant is refused before
    /// anything is written. Creates the repository when needed, grants HealthOmics pull access
    /// (merging the policy), and returns the ECR URI pinned by digest plus a ready image
    /// mapping. Works for any registry (Seqera Wave, NVIDIA NGC, Google, another account's ECR,
    /// self-hosted). dry_run shows the plan. Long copies report MCP progress.
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
        let mut copier = None;
        let mut plan = match clone::route(&request, &target, cache.as_ref()).map_err(refused)? {
            Route::Cache(route) => {
                let exists = repository_exists(&clients, &route.repository).await?;
                clone::plan_cache(&request, &target, route, exists, notes)
            }
            Route::Copy(route) => {
                let (plan, c) = self
                    .plan_copy(&params, &clients, &request, &target, route, notes)
                    .await?;
                copier = Some(c);
                plan
            }
        };
        // 4. With dry_run the plan is the answer.
        if request.dry_run {
            return Ok(Json(plan.output));
        }
        // 5. Run the steps in order, each after a cancellation check; a failure says what had
        // changed and that a retry resumes.
        let mut run = Run {
            clients: &clients,
            request: &request,
            context: &context,
            copier,
            pulled: None,
            copied: None,
        };
        for step in plan.steps.clone() {
            cancellation::check_before_write(tool_names::CLONE, &plan.output.side_effects())?;
            self.run_step(&step, &mut run, &mut plan.output)
                .await
                .map_err(|e| after_side_effects(e, &plan.output))?;
        }
        // 6. Read the image back: its digest is the source's.
        let (digest, verified) = self.read_back(&params, &run, &mut plan).await?;
        Ok(Json(plan.finish(digest, verified)))
    }
}

/// What the steps need and what they produced.
struct Run<'a> {
    clients: &'a AwsClients,
    request: &'a CloneRequest,
    context: &'a RequestContext<RoleServer>,
    /// For a registry copy: the account's registry and the source's credentials.
    copier: Option<(EcrRegistry, Credentials)>,
    /// The image a pull through the cache gave: digest, media type, manifest.
    pulled: Option<(String, Option<String>, String)>,
    /// The digest a registry copy ended with.
    copied: Option<String>,
}

impl HealthOmicsEcrServer {
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
        let inspection = registry
            .client
            .inspect_platform(&request.source, &source_auth, &request.platform)
            .await
            .map_err(ToolError::from)?;
        let exists = repository_exists(clients, &route.repository).await?;
        let tag = ImageSelector::Tag(route.tag.clone());
        let tag_digest = match exists {
            false => None,
            true => ecr::describe_image(&clients.ecr, &route.repository, &tag)
                .await
                .map_err(|e| e.into_tool_error(Some(&route.repository)))?
                .map(|d| d.digest),
        };
        let image = source_image(&inspection);
        let plan = clone::plan_copy(
            request,
            target,
            route,
            &image,
            exists,
            tag_digest.as_deref(),
            notes,
        )
        .map_err(refused)?;
        Ok((plan, (registry, source_auth)))
    }

    async fn run_step(
        &self,
        step: &Step,
        run: &mut Run<'_>,
        output: &mut CloneOutput,
    ) -> Result<(), ToolError> {
        let (ecr_client, source) = (&run.clients.ecr, &run.request.source);
        match step {
            Step::CreateRepository { repository } => {
                match ecr::create_repository(ecr_client, repository).await {
                    Ok(_) => output.repository_created = true,
                    // A concurrent clone (or a person) created it since we looked: use it.
                    Err(e) if e.kind == AwsErrorKind::Conflict => {
                        output.notes.push(clone::reused_repository_note(repository))
                    }
                    Err(e) => return Err(e.into_tool_error(Some(repository))),
                }
            }
            Step::PullThroughCache {
                prefix,
                repository,
                selector,
                creates_repository,
            } => {
                let image = ecr::batch_get_image(ecr_client, repository, selector)
                    .await
                    .map_err(|e| e.into_tool_error(Some(repository)))?;
                run.pulled = Some(match image {
                    BatchImage::Found {
                        digest,
                        media_type,
                        manifest,
                    } => (digest, media_type, manifest),
                    BatchImage::Failed { code, reason } => {
                        let failure = PullFailure {
                            prefix: prefix.clone(),
                            image: source.to_string(),
                            code,
                            reason,
                        };
                        let code = match failure.not_found() {
                            true => ErrorCode::NotFound,
                            false => ErrorCode::AwsError,
                        };
                        let err =
                            ToolError::new(code, failure.to_string(), PullFailure::REMEDIATION);
                        return Err(err);
                    }
                });
                output.repository_created = *creates_repository;
            }
            Step::TagImage { repository, tag } => {
                let (_, media_type, manifest) = run
                    .pulled
                    .as_ref()
                    .ok_or_else(|| out_of_order(step, source))?;
                ecr::tag_image(ecr_client, repository, manifest, media_type.as_deref(), tag)
                    .await
                    .map_err(|e| e.into_tool_error(Some(repository)))?;
            }
            Step::GrantAccess { repository } => {
                let request = GrantRequest {
                    partition: run.clients.arn_partition().to_owned(),
                    ..GrantRequest::default()
                };
                let done = output.side_effects();
                let call = GrantCall {
                    repository,
                    request: &request,
                    dry_run: false,
                    tool: tool_names::CLONE,
                    done: &done,
                };
                let granted = repository_grant::grant(run.clients, &self.write_locks, call).await?;
                output.healthomics_accessible = granted.healthomics_accessible();
                output.policy_changed |= granted.wrote();
            }
            Step::CopyNative {
                repository, tag, ..
            } => {
                let (registry, source_auth) = run
                    .copier
                    .as_ref()
                    .ok_or_else(|| out_of_order(step, source))?;
                let progress = progress_reporter(run.context);
                let (platform, into) = (&run.request.platform, (repository.as_str(), tag.as_str()));
                let report = registry
                    .copy_into(source, source_auth, platform, into, progress)
                    .await?;
                output.bytes_transferred = report.bytes_transferred;
                output.blobs_copied = report.blobs_copied;
                output.blobs_skipped = report.blobs_skipped;
                run.copied = Some(report.manifest_digest.to_string());
            }
        }
        Ok(())
    }

    /// The digest ECR holds and whether it is the source's: a copy's tag must hold the copied
    /// digest (else the call fails); a cached image is compared with the upstream's tag now.
    async fn read_back(
        &self,
        params: &CloneParams,
        run: &Run<'_>,
        plan: &mut ClonePlan,
    ) -> Result<(String, bool), ToolError> {
        let source = &run.request.source;
        if let Some((digest, ..)) = &run.pulled {
            let upstream = match &source.digest {
                Some(pinned) => UpstreamHead::Digest(pinned.to_string()),
                None => self.upstream_head(params, run.clients, source).await,
            };
            let (same, note) = clone::compare_with_upstream(digest, &upstream);
            plan.output.notes.extend(note);
            return Ok((digest.clone(), same));
        }
        let repository = &plan.output.target_repository_name;
        let tag = plan.uri_tag.clone().unwrap_or_default();
        let expected = run
            .copied
            .clone()
            .or_else(|| plan.expected_digest.clone())
            .unwrap_or_default();
        let stored = ecr::describe_image(
            &run.clients.ecr,
            repository,
            &ImageSelector::Tag(tag.clone()),
        )
        .await
        .map_err(|e| after_side_effects(e.into_tool_error(Some(repository)), &plan.output))?;
        if stored.is_none_or(|d| d.digest != expected) {
            return Err(ToolError::new(
                ErrorCode::VerificationFailed,
                format!("The copy finished, but ECR does not show `{repository}:{tag}` with digest {expected}."),
                "Check the repository with CheckContainerAvailability; retry the clone.",
            )
            .with_details(json!({ "completed": plan.output.side_effects() })));
        }
        Ok((expected, true))
    }

    /// What the upstream's tag points at now (HEAD on the source).
    async fn upstream_head(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        source: &ImageReference,
    ) -> UpstreamHead {
        let credentials = match self.source_credentials(params, clients, source).await {
            Ok(credentials) => credentials,
            Err(err) => return UpstreamHead::Unknown(err.message),
        };
        let client = match RegistryClient::new((*self.mirrors).clone()) {
            Ok(client) => client,
            Err(err) => return UpstreamHead::Unknown(err.to_string()),
        };
        match client.manifest_head(source, &credentials).await {
            Ok(Some(head)) => UpstreamHead::Digest(head.digest.to_string()),
            Ok(None) => UpstreamHead::Gone,
            Err(err) => UpstreamHead::Unknown(err.to_string()),
        }
    }

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
    let rules = match ecr::all_pull_through_cache_rules(&clients.ecr).await {
        Ok(rules) => rules,
        Err(err) => return (None, vec![clone::caches_not_considered(&err.to_string())]),
    };
    let Some((rule, repository)) = verdicts::rule_for_upstream(&rules, &request.source)
        .filter(|(_, repository)| request.may_pull_into(repository))
    else {
        return (None, Vec::new());
    };
    let (_, mut judged) = account_reads::judge_rules(clients, vec![rule.clone()]).await;
    let cache = judged.pop().map(|j| ServingCache {
        prefix: rule.ecr_repository_prefix.clone(),
        upstream_registry_url: rule.upstream_registry_url.clone(),
        repository,
        supported_upstream: j.upstream_path == AccessPath::PullThroughCache,
        usable: j.usable(),
        problems: j.problems(),
    });
    (cache, Vec::new())
}

async fn repository_exists(clients: &AwsClients, name: &str) -> Result<bool, ToolError> {
    let found = ecr::repository(&clients.ecr, name).await;
    Ok(found.map_err(|e| e.into_tool_error(Some(name)))?.is_some())
}

/// The facts of an inspection the plan decides on.
fn source_image(inspection: &ImageInspection) -> SourceImage {
    let image = &inspection.image;
    SourceImage {
        digest: inspection.digest.to_string(),
        image_digest: image.digest.to_string(),
        platform_found: inspection.platform_found,
        index_platforms: inspection
            .platforms
            .iter()
            .filter_map(|e| e.platform.clone())
            .collect(),
        platform: image.platform.clone(),
        layers: image.layers.len(),
        compressed_size: image.compressed_size,
        config: image.config.clone(),
        summary: inspection.manifest_summary(None),
    }
}

/// A step that needs what an earlier one gives came first: a bug in the plan.
fn out_of_order(step: &Step, source: &ImageReference) -> ToolError {
    let at = step.describe(source);
    let message = format!("The clone's plan is out of order at: {at}");
    ToolError::new(ErrorCode::Internal, message, "Report this bug.")
}

fn refused(refusal: CloneRefusal) -> ToolError {
    ToolError::invalid_input(refusal.to_string(), refusal.remediation())
}

/// Adds to a failure what had already changed and that a retry resumes.
fn after_side_effects(mut err: ToolError, output: &CloneOutput) -> ToolError {
    let Some(note) = output.retry_note() else {
        return err;
    };
    if !err.message.ends_with('.') {
        err.message.push('.');
    }
    err.message.push_str(&note);
    let completed = json!(output.side_effects());
    err.details = Some(match err.details.take() {
        Some(serde_json::Value::Object(mut map)) => {
            map.insert("completed".into(), completed);
            serde_json::Value::Object(map)
        }
        _ => json!({ "completed": completed }),
    });
    err
}
