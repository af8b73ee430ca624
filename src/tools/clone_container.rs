//! `CloneContainerToECR`: put an image into private ECR where HealthOmics can pull it — through
//! a usable pull-through cache when one serves the source, otherwise by copying it registry to
//! registry (no Docker, no CodeBuild), then granting access and verifying the digest.

use std::sync::Arc;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use super::grant_access::GrantAccessParams;
use crate::aws::account_reads;
use crate::aws::{AwsClients, AwsErrorKind, ecr, secrets};
use crate::cancellation;
use crate::core::account;
use crate::core::image_ref::{self, ImageReference, ecr_image_uri};
use crate::core::image_rules::{self, Platform, RuleFinding};
use crate::core::inputs;
use crate::core::policy::AccessStatus;
use crate::core::registries::{self, AccessPath};
use crate::core::tool_names;
use crate::core::verdicts;
use crate::error::{ErrorCode, ToolError};
use crate::oci::{CopyProgress, CopyRequest, CopyTarget, Credentials, ProgressFn};
use crate::registry_access;
use crate::server::HealthOmicsEcrServer;

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

#[derive(Debug, Serialize, JsonSchema)]
pub struct CloneOutput {
    /// The account and region this call acted on.
    pub account_id: String,
    pub region: String,
    pub success: bool,
    pub dry_run: bool,
    pub source_image: String,
    pub source_registry: String,
    /// The source's digest (the index digest for a multi-arch source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<String>,
    /// `pull_through_cache` or `registry_copy`.
    pub method: String,
    pub target_repository_name: String,
    /// The URI for a workflow or an image mapping, pinned by digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_digest: Option<String>,
    pub repository_created: bool,
    /// The repository policy was merged to grant HealthOmics access (by this call).
    #[serde(skip)]
    pub policy_changed: bool,
    pub used_pull_through_cache: bool,
    /// Always false: this server never uses CodeBuild (kept for the Python server's clients).
    pub used_codebuild: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_through_cache_prefix: Option<String>,
    /// Read back after granting access.
    pub healthomics_accessible: AccessStatus,
    /// The platform copied from a multi-arch source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub bytes_transferred: u64,
    pub blobs_copied: usize,
    pub blobs_skipped: usize,
    /// The ECR image's digest equals the source's, read back.
    pub verified: bool,
    /// An image mapping that points the workflow's reference at the copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_mapping: Option<serde_json::Value>,
    pub container_rule_findings: Vec<RuleFinding>,
    /// What the tool did or (with dry_run) would do, in order.
    pub steps: Vec<String>,
    pub notes: Vec<String>,
    pub message: String,
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
        let source = ImageReference::parse(&params.source_image)
            .map_err(|e| {
                ToolError::invalid_input(
                    e.to_string(),
                    "Pass an image reference like `quay.io/biocontainers/samtools:1.19`.",
                )
            })?
            .with_default_tag();
        let platform = match params
            .platform
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => Platform::parse(p)
                .map_err(|e| ToolError::invalid_input(e.to_string(), "E.g. `linux/amd64`."))?,
            None => Platform::linux_amd64(),
        };
        let clients = self.clients_for(&params).await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        if let Some(host) = source
            .ecr_host()
            .filter(|h| h.account_id == account && h.region == clients.region)
        {
            return Err(ToolError::invalid_input(
                format!(
                    "`{source}` is already in this account's private ECR ({}).",
                    host.region
                ),
                format!(
                    "Grant HealthOmics access to it instead: GrantHealthOmicsRepositoryAccess with repository_name \"{}\".",
                    source.repository
                ),
            ));
        }
        let target_name = params
            .target_repository_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(name) = target_name {
            image_ref::validate_ecr_repository_name(name).map_err(|e| {
                ToolError::invalid_input(e.to_string(), "Choose a lowercase ECR repository name.")
            })?;
        }
        let tag = params
            .target_image_tag
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if let Some(tag) = &tag {
            inputs::check_tag("target_image_tag", tag)?;
        }

        // 1. A usable cache for the source registry wins (unless another repository was named).
        // Without the rules a cache cannot be used; the native copy still works, and says so.
        let mut notes = Vec::new();
        let rules = match ecr::all_pull_through_cache_rules(&clients.ecr).await {
            Ok(rules) => rules,
            Err(err) => {
                notes.push(format!("Pull-through caches were not considered: {err}."));
                Vec::new()
            }
        };
        if let Some((rule, repository)) = verdicts::rule_for_upstream(&rules, &source)
            && target_name.is_none_or(|n| n == repository)
        {
            let (_, mut judged) = account_reads::judge_rules(&clients, vec![rule.clone()]).await;
            // A cache HealthOmics cannot use yet still pulls for the caller, who needs no
            // direct access to the upstream that way; the repository is granted afterwards.
            if let Some(judgement) = judged
                .pop()
                .filter(|j| j.upstream_path == AccessPath::PullThroughCache)
            {
                if !judgement.usable() {
                    notes.push(unusable_cache_note(&judgement, &clients.region));
                }
                return self
                    .clone_through_cache(
                        &params,
                        &clients,
                        &account,
                        &source,
                        CacheRoute {
                            prefix: rule.ecr_repository_prefix.clone(),
                            repository,
                            notes,
                        },
                        tag,
                    )
                    .await;
            }
        }

        // 2. Otherwise copy it registry to registry.
        let class = registries::classify_host(&source.registry);
        let repository = match target_name {
            Some(name) => name.to_owned(),
            None => derived_repository(&source)?,
        };
        let tag = tag.unwrap_or_else(|| default_tag(&source));
        let source_auth = self.source_credentials(&params, &clients, &source).await?;
        let registry = registry_access::ecr_registry(&clients, &account, &self.mirrors).await?;
        let inspection = registry
            .client
            .inspect_platform(&source, &source_auth, &platform)
            .await
            .map_err(ToolError::from)?;
        if !inspection.platform_found {
            let available: Vec<String> = inspection
                .platforms
                .iter()
                .filter_map(|p| p.platform.as_ref().map(ToString::to_string))
                .collect();
            let has = if available.is_empty() {
                "its manifest names no platform".to_owned()
            } else {
                format!("it has: {}", available.join(", "))
            };
            return Err(ToolError::invalid_input(
                format!("`{source}` has no {platform} image ({has}). Nothing was written."),
                "HealthOmics runs linux/amd64 images only: use an amd64 build of this image.",
            ));
        }
        let findings = image_rules::check_image(
            &inspection.image.config,
            &inspection.manifest_summary(None),
            None,
        );
        if class.access_path == AccessPath::HealthOmicsCopy {
            notes.push(format!(
                "HealthOmics can also copy `{}` images itself at run time: add a registry mapping with credentialArn \
                 (CreateContainerRegistryMap healthomics_copy_registries). Cloning pre-stages a pinned copy instead.",
                source.registry
            ));
        }
        let existing = ecr::repository(&clients.ecr, &repository)
            .await
            .map_err(|e| e.into_tool_error(Some(&repository)))?;
        let mut steps = Vec::new();
        if existing.is_none() {
            steps.push(format!("create repository `{repository}`"));
        }
        steps.push(format!(
            "merge the HealthOmics pull statement into the policy of `{repository}`"
        ));
        steps.push(format!(
            "copy {} ({} layer(s), {} bytes) from `{source}` to `{repository}:{tag}`",
            inspection
                .image
                .platform
                .as_ref()
                .map_or_else(|| platform.to_string(), ToString::to_string),
            inspection.image.layers.len(),
            inspection.image.compressed_size
        ));
        let mut output = CloneOutput {
            account_id: account.clone(),
            region: clients.region.clone(),
            success: true,
            dry_run: params.dry_run,
            source_image: params.source_image.trim().to_owned(),
            source_registry: source.registry.clone(),
            source_digest: Some(inspection.digest.to_string()),
            method: "registry_copy".into(),
            target_repository_name: repository.clone(),
            ecr_uri: None,
            ecr_digest: None,
            repository_created: false,
            policy_changed: false,
            used_pull_through_cache: false,
            used_codebuild: false,
            pull_through_cache_prefix: None,
            healthomics_accessible: AccessStatus::Unknown,
            platform: inspection.image.platform.as_ref().map(ToString::to_string),
            bytes_transferred: 0,
            blobs_copied: 0,
            blobs_skipped: 0,
            verified: false,
            image_mapping: None,
            container_rule_findings: findings,
            steps,
            notes,
            message: String::new(),
        };
        if params.dry_run {
            output.message = format!(
                "Dry run: would copy `{source}` to `{repository}:{tag}`; nothing was changed."
            );
            return Ok(Json(output));
        }

        if existing.is_none() {
            cancellation::check_before_write(tool_names::CLONE, &[])?;
            match ecr::create_repository(&clients.ecr, &repository).await {
                Ok(_) => output.repository_created = true,
                // A concurrent clone (or a person) created it since we looked: use it.
                Err(e) if e.kind == AwsErrorKind::Conflict => output.notes.push(format!(
                    "`{repository}` was created by another call meanwhile; it is reused."
                )),
                Err(e) => return Err(e.into_tool_error(Some(&repository))),
            }
        }
        cancellation::check_before_write(tool_names::CLONE, &side_effects(&output))?;
        output.healthomics_accessible = self
            .grant(&params, &clients, &repository)
            .await
            .map_err(|e| after_side_effects(e, &output))?;
        output.policy_changed = true;
        cancellation::check_before_write(tool_names::CLONE, &side_effects(&output))?;
        let request = CopyRequest {
            platform,
            source_auth,
            ..CopyRequest::new(
                source.clone(),
                CopyTarget {
                    base_url: registry.base_url.clone(),
                    repository: repository.clone(),
                    tag: tag.clone(),
                    auth: registry.credentials.clone(),
                },
            )
        };
        let report = registry
            .client
            .copy_image(&request, progress_reporter(&context))
            .await
            .map_err(|e| after_side_effects(ToolError::from(e), &output))?;
        let stored = ecr::describe_image(
            &clients.ecr,
            &repository,
            &account::ImageSelector::Tag(tag.clone()),
        )
        .await
        .map_err(|e| after_side_effects(e.into_tool_error(Some(&repository)), &output))?;
        output.verified = stored
            .as_ref()
            .is_some_and(|d| d.digest == report.manifest_digest.to_string());
        if !output.verified {
            return Err(ToolError::new(
                ErrorCode::VerificationFailed,
                format!(
                    "The copy finished, but ECR does not show `{repository}:{tag}` with digest {}.",
                    report.manifest_digest
                ),
                "Check the repository with CheckContainerAvailability; retry the clone.",
            )
            .with_details(json!({ "completed": side_effects(&output) })));
        }
        let digest = report.manifest_digest.to_string();
        let uri = ecr_image_uri(
            &account,
            &clients.region,
            &repository,
            Some(&tag),
            Some(&digest),
        );
        output.image_mapping =
            Some(json!({ "sourceImage": params.source_image.trim(), "destinationImage": uri }));
        output.ecr_uri = Some(uri);
        output.ecr_digest = Some(digest);
        output.bytes_transferred = report.bytes_transferred;
        output.blobs_copied = report.blobs_copied;
        output.blobs_skipped = report.blobs_skipped;
        output.message = format!(
            "Copied `{source}` to `{repository}:{tag}` ({} blob(s) copied, {} already there; digest verified).",
            report.blobs_copied, report.blobs_skipped
        );
        Ok(Json(output))
    }
}

/// The cache a clone pulls through, and what was noted on the way.
struct CacheRoute {
    prefix: String,
    repository: String,
    notes: Vec<String>,
}

/// Why a cache that served the clone is not HealthOmics-usable, and the call that fixes it for
/// the repositories it creates later.
fn unusable_cache_note(judgement: &verdicts::RuleJudgement, region: &str) -> String {
    let prefix = &judgement.rule.ecr_repository_prefix;
    let registry = registries::classify_host(&judgement.rule.upstream_registry_url)
        .info()
        .map_or("<registry>", |i| i.name);
    format!(
        "The cache `{prefix}` served this image but HealthOmics cannot use it yet ({}); this repository was granted \
         directly. So that the repositories it creates later are usable too, run {} with upstream_registry \"{registry}\", \
         ecr_repository_prefix \"{prefix}\", aws_region \"{region}\".",
        judgement.problems().join("; "),
        tool_names::CREATE_PTC
    )
}

/// What a clone had changed in the account so far, for a failure to say.
fn side_effects(output: &CloneOutput) -> Vec<String> {
    let repository = &output.target_repository_name;
    let mut done = Vec::new();
    if output.repository_created {
        done.push(format!("created repository `{repository}`"));
    }
    if output.policy_changed {
        done.push(format!(
            "granted HealthOmics pull access on `{repository}` (repository policy merged)"
        ));
    }
    done
}

/// Adds to a failure what had already changed and that a retry resumes (the repository is
/// reused, blobs already copied are skipped).
fn after_side_effects(mut err: ToolError, output: &CloneOutput) -> ToolError {
    let done = side_effects(output);
    if done.is_empty() {
        return err;
    }
    if !err.message.ends_with('.') {
        err.message.push('.');
    }
    err.message.push_str(&format!(
        " Already changed: {}. A retry with the same arguments reuses the repository and skips blobs already copied; to undo, delete the repository (`aws ecr delete-repository --repository-name {} --force`).",
        done.join("; "),
        output.target_repository_name
    ));
    let completed = json!(done);
    err.details = Some(match err.details.take() {
        Some(serde_json::Value::Object(mut map)) => {
            map.insert("completed".into(), completed);
            serde_json::Value::Object(map)
        }
        _ => json!({ "completed": completed }),
    });
    err
}

impl HealthOmicsEcrServer {
    #[allow(clippy::too_many_arguments)]
    async fn clone_through_cache(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        account: &str,
        source: &ImageReference,
        route: CacheRoute,
        tag: Option<String>,
    ) -> Result<Json<CloneOutput>, ToolError> {
        let CacheRoute {
            prefix,
            repository,
            notes: mut cache_notes,
        } = route;
        let selector = match (&source.digest, &source.tag) {
            (Some(d), _) => account::ImageSelector::Digest(d.to_string()),
            (None, Some(t)) => account::ImageSelector::Tag(t.clone()),
            (None, None) => account::ImageSelector::Tag(image_ref::DEFAULT_TAG.to_owned()),
        };
        let existed = ecr::repository(&clients.ecr, &repository)
            .await
            .map_err(|e| e.into_tool_error(Some(&repository)))?
            .is_some();
        let mut steps = vec![format!(
            "pull `{source}` through the cache `{prefix}` into `{repository}` (by the source's {})",
            selector.as_str()
        )];
        if let Some(t) = &tag {
            steps.push(format!("tag the image `{t}`"));
        }
        steps.push(format!(
            "make sure HealthOmics can pull from `{repository}`"
        ));
        let mut output = CloneOutput {
            account_id: account.to_owned(),
            region: clients.region.clone(),
            success: true,
            dry_run: params.dry_run,
            source_image: params.source_image.trim().to_owned(),
            source_registry: source.registry.clone(),
            source_digest: source.digest.as_ref().map(ToString::to_string),
            method: "pull_through_cache".into(),
            target_repository_name: repository.clone(),
            ecr_uri: None,
            ecr_digest: None,
            repository_created: false,
            policy_changed: false,
            used_pull_through_cache: true,
            used_codebuild: false,
            pull_through_cache_prefix: Some(prefix.clone()),
            healthomics_accessible: AccessStatus::Unknown,
            platform: None,
            bytes_transferred: 0,
            blobs_copied: 0,
            blobs_skipped: 0,
            verified: false,
            image_mapping: None,
            container_rule_findings: Vec::new(),
            steps,
            notes: {
                cache_notes.push("A workflow can also use the upstream reference directly with a registry mapping for this cache.".into());
                cache_notes
            },
            message: String::new(),
        };
        if params.dry_run {
            output.message = format!(
                "Dry run: would pull `{source}` through the cache `{prefix}`; nothing was changed."
            );
            return Ok(Json(output));
        }
        let (digest, media_type, manifest) = match ecr::batch_get_image(
            &clients.ecr,
            &repository,
            &selector,
        )
        .await
        .map_err(|e| e.into_tool_error(Some(&repository)))?
        {
            account::BatchImage::Found {
                digest,
                media_type,
                manifest,
            } => (digest, media_type, manifest),
            account::BatchImage::Failed { code, reason } => {
                let code_kind = if code == "ImageNotFound" {
                    ErrorCode::NotFound
                } else {
                    ErrorCode::AwsError
                };
                return Err(ToolError::new(
                    code_kind,
                    format!("The cache `{prefix}` could not pull `{source}`: {code}: {reason}"),
                    "Check the image exists upstream and the cache's credentials (ValidateHealthOmicsECRConfig).",
                ));
            }
        };
        if let Some(t) = &tag {
            ecr::tag_image(
                &clients.ecr,
                &repository,
                &manifest,
                media_type.as_deref(),
                t,
            )
            .await
            .map_err(|e| e.into_tool_error(Some(&repository)))?;
        }
        output.repository_created = !existed
            && ecr::repository(&clients.ecr, &repository)
                .await
                .ok()
                .flatten()
                .is_some();
        let arn = crate::core::policy::repository_arn(
            clients.arn_partition(),
            &clients.region,
            account,
            &repository,
        );
        let judged = account_reads::repository_access(clients, &repository, Some(&arn)).await;
        output.healthomics_accessible = if judged.evaluation.status == AccessStatus::Accessible {
            AccessStatus::Accessible
        } else {
            self.grant(params, clients, &repository).await?
        };
        let uri = ecr_image_uri(
            account,
            &clients.region,
            &repository,
            tag.as_deref().or(source.tag.as_deref()),
            Some(&digest),
        );
        output.verified = self
            .same_as_upstream(params, clients, source, &digest, &mut output.notes)
            .await;
        output.image_mapping =
            Some(json!({ "sourceImage": params.source_image.trim(), "destinationImage": uri }));
        output.ecr_uri = Some(uri);
        output.ecr_digest = Some(digest);
        output.message =
            format!("Pulled `{source}` through the cache `{prefix}` into `{repository}`.");
        Ok(Json(output))
    }

    /// Compares the cached image's digest with the upstream's current one (HEAD on the source),
    /// so a pinned copy is known to be the image the user named.
    async fn same_as_upstream(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        source: &ImageReference,
        digest: &str,
        notes: &mut Vec<String>,
    ) -> bool {
        if let Some(pinned) = &source.digest {
            return pinned.to_string() == digest;
        }
        let credentials = match self.source_credentials(params, clients, source).await {
            Ok(credentials) => credentials,
            Err(err) => {
                notes.push(format!("Not compared with the upstream: {}", err.message));
                return false;
            }
        };
        let client = match crate::oci::RegistryClient::new((*self.mirrors).clone()) {
            Ok(client) => client,
            Err(err) => {
                notes.push(format!("Not compared with the upstream: {err}"));
                return false;
            }
        };
        match client.manifest_head(source, &credentials).await {
            Ok(Some(head)) if head.digest.to_string() == digest => true,
            Ok(Some(head)) => {
                notes.push(format!("The upstream tag now points at {}, the cache holds {digest}: the tag moved upstream.", head.digest));
                false
            }
            Ok(None) => {
                notes.push("The upstream no longer has this tag; the cached copy is kept.".into());
                false
            }
            Err(err) => {
                notes.push(format!("Not compared with the upstream: {err}"));
                false
            }
        }
    }

    /// Grants HealthOmics pull access with the Grant tool's own merge and read-back.
    async fn grant(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        repository: &str,
    ) -> Result<AccessStatus, ToolError> {
        let grant = GrantAccessParams {
            repository_name: repository.to_owned(),
            workflow_owner_account_ids: Vec::new(),
            remove_workflow_owner_account_ids: Vec::new(),
            dry_run: false,
            aws_profile: params.aws_profile.clone(),
            aws_region: Some(clients.region.clone()),
        };
        let out = self.grant_repository_access(grant).await?;
        Ok(out.current_healthomics_accessible)
    }

    /// Source credentials: a Secrets Manager secret, the caller's ECR token for an ECR source, or
    /// none. Secret values go straight into the credential type, which never prints them.
    async fn source_credentials(
        &self,
        params: &CloneParams,
        clients: &AwsClients,
        source: &ImageReference,
    ) -> Result<Credentials, ToolError> {
        if let Some(arn) = params
            .source_credential_arn
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let value = secrets::secret_string(&clients.secrets, arn)
                .await
                .map_err(|e| match e.kind {
                    AwsErrorKind::NotFound => ToolError::new(
                        ErrorCode::NotFound,
                        format!("The secret `{arn}` does not exist."),
                        "Check source_credential_arn.",
                    ),
                    _ => e.into_tool_error(Some(arn)),
                })?;
            return Credentials::from_secret_json(&value).map_err(|e| {
                ToolError::invalid_input(
                    format!("The secret `{arn}` is not usable as registry credentials: {e}"),
                    "Store JSON like {\"username\": \"…\", \"accessToken\": \"…\"}.",
                )
            });
        }
        if let Some(host) = source.ecr_host() {
            let source_clients = self
                .aws
                .clients(params.aws_profile.as_deref(), Some(&host.region))
                .await?;
            let (_, token) = ecr::authorization_token(&source_clients.ecr)
                .await
                .map_err(|e| e.into_tool_error(Some(&source.registry)))?;
            return Credentials::from_ecr_authorization_token(&token).map_err(|e| {
                ToolError::new(
                    ErrorCode::AwsError,
                    format!("ECR returned an unusable token: {e}"),
                    "Retry.",
                )
            });
        }
        Ok(Credentials::Anonymous)
    }
}

/// `<usual prefix>/<source path>`, e.g. `seqera-community/library/samtools`; for registries
/// outside the catalog, the host with dots as dashes.
fn derived_repository(source: &ImageReference) -> Result<String, ToolError> {
    let prefix = registries::default_ecr_prefix(&source.registry);
    let name = format!("{prefix}/{}", source.repository);
    image_ref::validate_ecr_repository_name(&name).map_err(|e| {
        ToolError::invalid_input(
            format!("Cannot derive a repository name from `{source}`: {e}"),
            "Pass target_repository_name.",
        )
    })?;
    Ok(name)
}

/// The source's tag, or `sha256-<12 hex>` for a digest-only source (ECR needs a tag to keep
/// the image findable).
fn default_tag(source: &ImageReference) -> String {
    match (&source.tag, &source.digest) {
        (Some(tag), _) => tag.clone(),
        (None, Some(digest)) => format!(
            "sha256-{}",
            digest
                .to_string()
                .trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect::<String>()
        ),
        (None, None) => image_ref::DEFAULT_TAG.to_owned(),
    }
}

/// MCP progress notifications for the copy, sent in order by one task, when the client asked.
fn progress_reporter(context: &RequestContext<RoleServer>) -> Option<ProgressFn> {
    let token = context.meta.get_progress_token()?;
    let peer = context.peer.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<CopyProgress>();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            let note = ProgressNotificationParam::new(token.clone(), p.bytes_done as f64)
                .with_total(p.bytes_total as f64)
                .with_message(format!("{} of {} blobs", p.blobs_done, p.blobs_total));
            if peer.notify_progress(note).await.is_err() {
                break;
            }
        }
    });
    Some(Arc::new(move |p: CopyProgress| {
        let _ = tx.send(p);
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(s: &str) -> ImageReference {
        ImageReference::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn derived_names_and_tags() {
        let wave = reference("community.wave.seqera.io/library/samtools:1.21--abc");
        assert_eq!(
            derived_repository(&wave).ok().as_deref(),
            Some("seqera-community/library/samtools")
        );
        let own = reference("registry.example.org:5000/team/tool:2");
        assert_eq!(
            derived_repository(&own).ok().as_deref(),
            Some("registry-example-org/team/tool")
        );
        let gar = reference("us-central1-docker.pkg.dev/proj/repo/tool:1");
        assert_eq!(
            derived_repository(&gar).ok().as_deref(),
            Some("gar-us-central1/proj/repo/tool"),
            "the same prefix the registry map and its coverage fix use"
        );
        let pinned = reference(&format!("ghcr.io/a/b@sha256:{}", "ab".repeat(32)));
        assert_eq!(default_tag(&pinned), "sha256-abababababab");
        assert_eq!(default_tag(&wave), "1.21--abc");
    }
}
