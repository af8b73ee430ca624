//! `CheckContainerAvailability`: is an image in private ECR, can HealthOmics pull it, and does
//! it follow HealthOmics' container rules — optionally pulling it through its cache first.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use super::list_pull_through_cache_rules::{RuleEntry, rule_entry};
use crate::aws::account_reads;
use crate::aws::{AwsClients, AwsErrorKind, ecr};
use crate::core::account;
use crate::core::image_ref::{self, Digest, ImageReference, ecr_image_uri};
use crate::core::image_rules::{self, RuleFinding};
use crate::core::plan::check::{self, CacheFacts, CheckAdvice, CheckFacts, PullOutcome};
use crate::core::policy::{AccessEvaluation, AccessStatus};
use crate::core::registries::{self, AccessPath};
use crate::core::tool_names;
use crate::core::verdicts;
use crate::error::{ErrorCode, ToolError};
use crate::oci::ImageInspection;
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

#[derive(Debug, Serialize, JsonSchema)]
pub struct ImageInfo {
    pub repository_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    pub image_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub exists: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PlatformInfo {
    pub platform: String,
    pub digest: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckOutput {
    /// The account and region this call read.
    pub account_id: String,
    pub region: String,
    /// The image is in private ECR.
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    pub repository_name: String,
    /// The URI a workflow uses, pinned by digest when the image exists.
    pub ecr_image_uri: String,
    pub repository_exists: bool,
    pub is_pull_through_cache: bool,
    /// `accessible`, `not_accessible`, `conditional` or `unknown`: can HealthOmics pull it
    /// (repository policy; for a cache also registry policy and template).
    pub healthomics_accessible: AccessStatus,
    pub missing_permissions: Vec<String>,
    pub access: AccessEvaluation,
    /// The cache the repository belongs to, judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<RuleEntry>,
    pub pull_through_initiated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_through_initiation_message: Option<String>,
    /// The pull created the repository (read back).
    pub repository_created: bool,
    /// Platforms of a multi-arch image.
    pub platforms: Vec<PlatformInfo>,
    /// HealthOmics container rules the image breaks or comes close to (warnings).
    pub container_rule_findings: Vec<RuleFinding>,
    /// Why the image's manifest and config could not be inspected, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_problem: Option<String>,
    /// What to do when the image is not available or not pullable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_fix: Option<serde_json::Value>,
    /// What to do when no single call fixes it (the missing tag upstream, the IAM action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    pub message: String,
}

/// What the caller asked about, resolved to a repository and image.
struct Target {
    repository: String,
    selector: account::ImageSelector,
    tag: Option<String>,
    /// The upstream reference when one was given (for messages and fixes).
    upstream: Option<ImageReference>,
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
        let given_uri = params
            .image_uri
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let parsed_uri = given_uri.map(parse_reference).transpose()?;
        // An ECR URI names its region; the call's aws_region (if any) must agree.
        let uri_region = parsed_uri
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
        // Which cache a reference or repository belongs to needs the rules; without them an
        // upstream reference cannot be resolved at all, and a repository's cache is unknown.
        let (rules, rules_problem) = match ecr::all_pull_through_cache_rules(&clients.ecr).await {
            Ok(rules) => (rules, None),
            Err(err) if parsed_uri.as_ref().is_some_and(|r| r.ecr_host().is_none()) => {
                return Err(err.into_tool_error(None));
            }
            Err(err) => (
                Vec::new(),
                Some(format!("pull-through cache membership is unknown: {err}")),
            ),
        };

        // 1. Which repository and image.
        let target = match parsed_uri {
            Some(reference) => match target_for_uri(reference, &account, &clients, &rules)? {
                Ok(target) => target,
                Err(unserved) => return Ok(Json(unserved)),
            },
            None => target_for_name(&params)?,
        };
        let rule = verdicts::cache_prefix_for(
            &target.repository,
            rules.iter().map(|r| r.ecr_repository_prefix.as_str()),
        )
        .and_then(|p| rules.iter().find(|r| r.ecr_repository_prefix == p))
        .cloned();
        let cache = match &rule {
            Some(rule) => account_reads::judge_rules(&clients, vec![rule.clone()])
                .await
                .1
                .pop(),
            None => None,
        };

        // 2. Is it there? Pull it through the cache when asked and allowed.
        let existed = ecr::repository(&clients.ecr, &target.repository)
            .await
            .map_err(|e| e.into_tool_error(Some(&target.repository)))?
            .is_some();
        let mut detail = if existed {
            ecr::describe_image(&clients.ecr, &target.repository, &target.selector)
                .await
                .map_err(|e| e.into_tool_error(Some(&target.repository)))?
        } else {
            None
        };
        let mut initiation = None;
        let mut pull = None;
        let mut initiated = false;
        if detail.is_none() && params.initiate_pull_through {
            let message = match &cache {
                None => "No pull-through cache covers this repository, so there is nothing to pull through.".to_owned(),
                Some(j) if !j.usable() => format!(
                    "Not pulled: HealthOmics cannot use the cache `{}` ({}). Fix it with CreatePullThroughCacheForHealthOmics first.",
                    j.rule.ecr_repository_prefix,
                    j.problems().join("; ")
                ),
                Some(_) => match ecr::batch_get_image(&clients.ecr, &target.repository, &target.selector).await {
                    Ok(account::BatchImage::Found { digest, .. }) => {
                        detail = ecr::describe_image(&clients.ecr, &target.repository, &account::ImageSelector::Digest(digest.clone()))
                            .await
                            .map_err(|e| e.into_tool_error(Some(&target.repository)))?;
                        initiated = detail.is_some();
                        pull = Some(PullOutcome::Pulled);
                        format!("Pulled through the cache: {}@{digest}.", target.repository)
                    }
                    Ok(account::BatchImage::Failed { code, reason }) => {
                        pull = Some(if code == "ImageNotFound" {
                            PullOutcome::NotFoundUpstream
                        } else {
                            PullOutcome::Failed { reason: format!("{code}: {reason}") }
                        });
                        format!("The cache could not pull the image: {code}: {reason}")
                    }
                    Err(err) if err.kind == AwsErrorKind::AccessDenied => {
                        // The import step is denied as the call it is part of; name the action
                        // the message names when it does.
                        let action = if err.message.contains("BatchImportUpstreamImage") {
                            "ecr:BatchImportUpstreamImage".to_owned()
                        } else {
                            err.action.to_owned()
                        };
                        pull = Some(PullOutcome::Denied { action });
                        format!("Not pulled: {err}.")
                    }
                    Err(err) => {
                        pull = Some(PullOutcome::Failed { reason: err.to_string() });
                        format!("The pull failed: {err}")
                    }
                },
            };
            initiation = Some(message);
        }
        let exists_now = existed
            || ecr::repository(&clients.ecr, &target.repository)
                .await
                .ok()
                .flatten()
                .is_some();

        // 3. Can HealthOmics pull it: the repository policy as stored now.
        let judged = if exists_now {
            let arn = crate::core::policy::repository_arn(
                clients.arn_partition(),
                &clients.region,
                &account,
                &target.repository,
            );
            account_reads::repository_access(&clients, &target.repository, Some(&arn)).await
        } else {
            // Not created yet: the cache's template decides what it will get.
            match &cache {
                Some(j) => j.template.judged.clone(),
                None => verdicts::judge_repository_policy(None, None),
            }
        };
        let mut access = judged.evaluation;
        access.notes.extend(rules_problem);
        if let Some(j) = cache.as_ref().filter(|j| !j.usable()) {
            access.notes.push(format!(
                "the pull-through cache `{}` is not usable by HealthOmics: {}",
                j.rule.ecr_repository_prefix,
                j.problems().join("; ")
            ));
            if access.status == AccessStatus::Accessible && !exists_now {
                access.status = AccessStatus::NotAccessible;
            }
        }

        // 4. The image itself: platforms and container rules, read from the registry.
        let mut platforms = Vec::new();
        let mut findings = Vec::new();
        let mut inspection_problem = None;
        if let Some(d) = &detail {
            match self
                .inspect_ecr_image(
                    &clients,
                    &account,
                    &target.repository,
                    &d.digest,
                    params.inspect_layers,
                )
                .await
            {
                Ok((inspection, rules_found)) => {
                    platforms = inspection
                        .platforms
                        .iter()
                        .filter_map(|e| {
                            e.platform.as_ref().map(|p| PlatformInfo {
                                platform: p.to_string(),
                                digest: e.digest.to_string(),
                            })
                        })
                        .collect();
                    findings = rules_found;
                }
                Err(err) => {
                    inspection_problem = Some(format!("{}: {}", err.message, err.remediation))
                }
            }
        }

        let uri = ecr_image_uri(
            &account,
            &clients.region,
            &target.repository,
            target.tag.as_deref(),
            detail.as_ref().map(|d| d.digest.as_str()),
        );
        let advice = check::advise(&CheckFacts {
            repository: target.repository.clone(),
            reference: target.selector.as_str().to_owned(),
            tag: target.tag.clone(),
            upstream: target.upstream.as_ref().map(ToString::to_string),
            region: clients.region.clone(),
            available: detail.is_some(),
            repository_exists: exists_now,
            access: access.status,
            cache: cache.as_ref().map(|j| CacheFacts {
                prefix: j.rule.ecr_repository_prefix.clone(),
                usable: j.usable(),
                upstream_name: registries::classify_host(&j.rule.upstream_registry_url)
                    .info()
                    .map(|i| i.name.to_owned()),
            }),
            pull,
        });
        let message = message(
            &target,
            detail.is_some(),
            exists_now,
            &access,
            initiation.as_deref(),
            &findings,
            &advice,
        );
        Ok(Json(CheckOutput {
            account_id: account.clone(),
            region: clients.region.clone(),
            available: detail.is_some(),
            image: detail.map(|d| ImageInfo {
                repository_name: target.repository.clone(),
                image_tag: target
                    .tag
                    .clone()
                    .filter(|t| d.tags.contains(t))
                    .or_else(|| d.tags.first().cloned()),
                image_digest: d.digest,
                image_size_bytes: d.size_bytes,
                pushed_at: d.pushed_at,
                media_type: d.media_type,
                exists: true,
            }),
            repository_name: target.repository.clone(),
            ecr_image_uri: uri,
            repository_exists: exists_now,
            is_pull_through_cache: rule.is_some(),
            healthomics_accessible: access.status,
            missing_permissions: access.missing_actions(),
            access,
            cache: cache.map(rule_entry),
            pull_through_initiated: initiated,
            pull_through_initiation_message: initiation,
            repository_created: !existed && exists_now,
            platforms,
            container_rule_findings: findings,
            inspection_problem,
            suggested_fix: advice.fix.and_then(|c| serde_json::to_value(c).ok()),
            advice: advice.advice,
            message,
        }))
    }
}

impl HealthOmicsEcrServer {
    /// Reads the image's manifest and config from the ECR registry endpoint and checks the
    /// HealthOmics container rules.
    async fn inspect_ecr_image(
        &self,
        clients: &AwsClients,
        account: &str,
        repository: &str,
        digest: &str,
        inspect_layers: bool,
    ) -> Result<(ImageInspection, Vec<RuleFinding>), ToolError> {
        let EcrRegistry {
            host,
            credentials,
            client,
            ..
        } = registry_access::ecr_registry(clients, account, &self.mirrors).await?;
        let reference = parse_reference(&format!("{host}/{repository}@{digest}"))?;
        let inspection = client
            .inspect(&reference, &credentials)
            .await
            .map_err(ToolError::from)?;
        let mut paths = None;
        let mut uncompressed = None;
        if inspect_layers && inspection.platform_found {
            let mut all = Vec::new();
            let mut total = 0u64;
            for layer in &inspection.image.layers {
                let listing = client
                    .layer_paths(&reference, layer, &credentials, LAYER_PATH_LIMIT)
                    .await
                    .map_err(ToolError::from)?;
                total += listing.uncompressed_size.unwrap_or(0);
                all.extend(listing.paths);
            }
            paths = Some(all);
            uncompressed = Some(total);
        }
        let summary = inspection.manifest_summary(uncompressed);
        let findings =
            image_rules::check_image(&inspection.image.config, &summary, paths.as_deref());
        Ok((inspection, findings))
    }
}

fn parse_reference(input: &str) -> Result<ImageReference, ToolError> {
    ImageReference::parse(input).map_err(|e| ToolError::invalid_input(e.to_string(), "Pass an image reference like `quay.io/biocontainers/samtools:1.19` or `<account>.dkr.ecr.<region>.amazonaws.com/repo:tag`."))
}

fn target_for_name(params: &CheckParams) -> Result<Target, ToolError> {
    let Some(name) = params
        .repository_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return Err(ToolError::invalid_input(
            "Give repository_name or image_uri.",
            "E.g. repository_name \"quay/biocontainers/samtools\" with image_tag, or image_uri \"quay.io/biocontainers/samtools:1.19\".",
        ));
    };
    image_ref::validate_ecr_repository_name(name).map_err(|e| {
        ToolError::invalid_input(
            e.to_string(),
            "Pass the repository name as ListECRRepositories shows it.",
        )
    })?;
    let tag = params
        .image_tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(image_ref::DEFAULT_TAG)
        .to_owned();
    let selector = match params
        .image_digest
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(d) => {
            let digest = Digest::parse(d).map_err(|e| {
                ToolError::invalid_input(
                    e.to_string(),
                    "Pass the digest as sha256:<64 lowercase hex digits>.",
                )
            })?;
            account::ImageSelector::Digest(digest.to_string())
        }
        None => account::ImageSelector::Tag(tag.clone()),
    };
    let tag = matches!(selector, account::ImageSelector::Tag(_)).then_some(tag);
    Ok(Target {
        repository: name.to_owned(),
        selector,
        tag,
        upstream: None,
    })
}

/// A reference → its ECR repository; `Err(output)` when no cache serves an upstream reference
/// (an answer, not a failure).
fn target_for_uri(
    reference: ImageReference,
    account: &str,
    clients: &AwsClients,
    rules: &[account::PullThroughCacheRule],
) -> Result<Result<Target, CheckOutput>, ToolError> {
    let selector = match (&reference.digest, &reference.tag) {
        (Some(d), _) => account::ImageSelector::Digest(d.to_string()),
        (None, Some(t)) => account::ImageSelector::Tag(t.clone()),
        (None, None) => account::ImageSelector::Tag(image_ref::DEFAULT_TAG.to_owned()),
    };
    let tag = match &selector {
        account::ImageSelector::Tag(t) => Some(t.clone()),
        account::ImageSelector::Digest(_) => reference.tag.clone(),
    };
    if let Some(host) = reference.ecr_host() {
        if host.account_id != account {
            return Err(ToolError::new(
                ErrorCode::InvalidInput,
                format!(
                    "`{reference}` is in account {}, not this account ({account}).",
                    host.account_id
                ),
                "Check it with aws_profile for that account, or copy it here with CloneContainerToECR.",
            ));
        }
        return Ok(Ok(Target {
            repository: reference.repository.clone(),
            selector,
            tag,
            upstream: None,
        }));
    }
    match verdicts::rule_for_upstream(rules, &reference) {
        Some((_, repository)) => Ok(Ok(Target {
            repository,
            selector,
            tag,
            upstream: Some(reference),
        })),
        None => {
            let class = registries::classify_host(&reference.registry);
            let fix = upstream_fix(
                &reference,
                class.access_path,
                class.info().map(|i| i.name),
                &clients.region,
            );
            let repository = String::new();
            Ok(Err(CheckOutput {
                account_id: account.to_owned(),
                region: clients.region.clone(),
                available: false,
                image: None,
                repository_name: repository,
                ecr_image_uri: String::new(),
                repository_exists: false,
                is_pull_through_cache: false,
                healthomics_accessible: AccessStatus::NotAccessible,
                missing_permissions: Vec::new(),
                access: crate::core::policy::no_policy_evaluation(
                    &crate::core::policy::REPOSITORY_PULL_ACTIONS,
                ),
                cache: None,
                pull_through_initiated: false,
                pull_through_initiation_message: None,
                repository_created: false,
                platforms: Vec::new(),
                container_rule_findings: Vec::new(),
                inspection_problem: None,
                message: format!(
                    "No pull-through cache in {} serves `{}`, so `{reference}` is not in private ECR.",
                    clients.region, reference.registry
                ),
                suggested_fix: Some(fix),
                advice: None,
            }))
        }
    }
}

fn upstream_fix(
    reference: &ImageReference,
    path: AccessPath,
    registry_name: Option<&str>,
    region: &str,
) -> serde_json::Value {
    match (path, registry_name) {
        (AccessPath::PullThroughCache, Some(name)) => serde_json::json!({
            "tool": tool_names::CREATE_PTC,
            "arguments": { "upstream_registry": name, "aws_region": region },
        }),
        (AccessPath::HealthOmicsCopy, _) => serde_json::json!({
            "kind": "add_copy_mapping",
            "why": "HealthOmics copies images from this registry itself: add a registry mapping with credentialArn (CreateContainerRegistryMap healthomics_copy_registries), or pre-stage a pinned copy with CloneContainerToECR.",
            "mapping": { "upstreamRegistryUrl": reference.registry },
        }),
        _ => serde_json::json!({
            "tool": tool_names::CLONE,
            "arguments": { "source_image": reference.to_string(), "aws_region": region },
        }),
    }
}

fn message(
    target: &Target,
    available: bool,
    exists: bool,
    access: &AccessEvaluation,
    initiation: Option<&str>,
    findings: &[RuleFinding],
    advice: &CheckAdvice,
) -> String {
    let name = format!("{}:{}", target.repository, target.selector.as_str())
        .replace(":sha256:", "@sha256:");
    let mut text = match (available, exists) {
        (true, _) => format!("Image found: {name}."),
        (false, true) => format!("Image not found: {name} (the repository exists)."),
        (false, false) => format!("Repository `{}` does not exist.", target.repository),
    };
    if let Some(upstream) = &target.upstream {
        text.push_str(&format!(" It is the cached copy of `{upstream}`."));
    }
    text.push_str(match access.status {
        AccessStatus::Accessible => " HealthOmics can pull it.",
        AccessStatus::Conditional => {
            " HealthOmics can pull it only under conditions in the policy."
        }
        AccessStatus::NotAccessible if advice.fix.is_some() => {
            " HealthOmics cannot pull it; see suggested_fix."
        }
        AccessStatus::NotAccessible => " HealthOmics cannot pull it.",
        AccessStatus::Unknown => " Whether HealthOmics can pull it could not be determined.",
    });
    if let Some(initiation) = initiation {
        text.push(' ');
        text.push_str(initiation);
    }
    if !findings.is_empty() {
        text.push_str(&format!(" {} container rule finding(s).", findings.len()));
    }
    text
}
