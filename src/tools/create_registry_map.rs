//! `CreateContainerRegistryMap`: a HealthOmics container registry map from the caches that
//! really work, plus the user's mappings — checked against the API's rules — and, for the
//! images a workflow uses, which mapping serves each one and what fixes the rest.

use std::path::PathBuf;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::aws::account_reads;
use crate::aws::{AwsClients, AwsErrorKind, ecr, omics, secrets};
use crate::core::image_ref::{ContainerRegistryMap, ImageMapping, RegistryMapping};
use crate::core::inputs;
use crate::core::plan::map_destinations;
use crate::core::registries::{self, AccessPath};
use crate::core::registry_map::{
    self, CacheMapping, CoverageReport, MapContext, MapFinding, MapInputs, ReplacedMapping,
    Severity,
};
use crate::core::workflow_images::ScanResult;
use crate::error::{ErrorCode, ToolError};
use crate::server::HealthOmicsEcrServer;
use crate::workflow_files;

/// A registry HealthOmics copies images from itself, asked for by host.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRegistryRequest {
    /// The exact host images are named with, e.g. `community.wave.seqera.io`, `nvcr.io`,
    /// `gcr.io`, `us-central1-docker.pkg.dev`.
    pub upstream_registry_url: String,
    /// ARN of the Secrets Manager secret with the registry credentials; the workflow's run role
    /// must be allowed secretsmanager:GetSecretValue on it.
    pub credential_arn: String,
    /// ECR prefix for the copies; defaults to the registry's usual prefix.
    #[serde(default)]
    #[schemars(with = "String")]
    pub ecr_repository_prefix: Option<String>,
}

tool_params! {
    pub struct RegistryMapParams {
        /// Account whose ECR the map points at; written as ecrAccountId on every mapping when it
        /// differs from the caller's account. Default: the caller's account.
        #[serde(default)]
        #[schemars(with = "String")]
        pub ecr_account_id: Option<String>,
        /// Region the workflow runs in (its ECR images must be there). Default: the call's
        /// region.
        #[serde(default)]
        #[schemars(with = "String")]
        pub ecr_region: Option<String>,
        /// Add a mapping for every pull-through cache HealthOmics can use (default true);
        /// unusable caches are listed in excluded_caches with the reason.
        #[serde(default = "default_true")]
        pub include_pull_through_caches: bool,
        /// Extra registry mappings (upstreamRegistryUrl, ecrRepositoryPrefix, and optionally
        /// upstreamRepositoryPrefix, ecrAccountId, credentialArn); they win over discovered ones
        /// for the same host.
        #[serde(default)]
        pub additional_registry_mappings: Vec<RegistryMapping>,
        /// Image mappings (sourceImage → destinationImage, a private ECR URI in ecr_region); they
        /// take precedence over registry mappings for that image.
        #[serde(default)]
        pub image_mappings: Vec<ImageMapping>,
        /// Registries HealthOmics copies from itself (Seqera Wave, NVIDIA NGC, Google): one
        /// mapping each, with its credential.
        #[serde(default)]
        pub healthomics_copy_registries: Vec<CopyRegistryRequest>,
        /// Images to check coverage for (any reference form).
        #[serde(default)]
        pub container_images: Vec<String>,
        /// A local WDL, Nextflow or CWL file or folder whose images to check coverage for.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_definition: Option<String>,
        /// A HealthOmics workflow id: its existing container registry map is checked too, and
        /// the images are also checked against it.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_id: Option<String>,
        /// `json` (default) returns json_output as well as the object; `dict` only the object.
        #[serde(default)]
        #[schemars(with = "String")]
        pub output_format: Option<String>,
    }
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExcludedCache {
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UnresolvedImage {
    pub file: String,
    pub line: usize,
    pub expression: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkflowReport {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The workflow's current map (absent when it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_registry_map: Option<ContainerRegistryMap>,
    /// Problems with that map.
    pub findings: Vec<MapFinding>,
    /// The images checked against the workflow's current map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageReport>,
    /// The workflow's own definition, read from HealthOmics when no images were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<ScanResult>,
    /// Why the definition could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition_problem: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RegistryMapOutput {
    pub success: bool,
    pub account_id: String,
    pub region: String,
    /// Usable pull-through caches mapped.
    pub discovered_healthomics_usable_caches: usize,
    /// Caches left out because HealthOmics cannot use them, with why.
    pub excluded_caches: Vec<ExcludedCache>,
    /// The map in the HealthOmics API shape (pass as containerRegistryMap).
    pub container_registry_map: ContainerRegistryMap,
    /// The same map as JSON text (absent with output_format "dict").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_output: Option<String>,
    /// Warnings about the map (errors stop the tool).
    pub findings: Vec<MapFinding>,
    /// Discovered mappings a user mapping replaced.
    pub replaced: Vec<ReplacedMapping>,
    /// Coverage of the given images or workflow definition by this map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageReport>,
    /// Where the workflow definition was read, and what it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_definition: Option<ScanResult>,
    /// Image expressions that could not be resolved to an image.
    pub unresolved_images: Vec<UnresolvedImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowReport>,
    pub usage_hint: String,
    pub message: String,
}

#[tool_router(router = create_registry_map_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Build a HealthOmics container registry map (containerRegistryMap) that rewrites the
    /// public image URIs of a workflow to private ECR: one registry mapping per pull-through
    /// cache HealthOmics can really use (each unusable cache is listed with why), plus
    /// mappings for registries HealthOmics copies from itself (Seqera Wave, NVIDIA NGC, Google;
    /// with their credentialArn), your own registry and image mappings, all checked against
    /// the HealthOmics API's rules. Give container_images, a local workflow_definition (WDL,
    /// Nextflow, CWL) or a workflow_id to get, for every image, which mapping serves it, the
    /// ECR URI it becomes, and the exact tool call that fixes any image nothing covers.
    /// Read-only: changes nothing in AWS and writes no file (save json_output yourself).
    #[tool(
        name = "CreateContainerRegistryMap",
        title = "Create a container registry map for a HealthOmics workflow",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn create_container_registry_map(
        &self,
        Parameters(params): Parameters<RegistryMapParams>,
    ) -> Result<Json<RegistryMapOutput>, ToolError> {
        if let Some(id) = &params.workflow_id {
            inputs::check_workflow_id(id)?;
        }
        inputs::check_list_len("container_images", params.container_images.len())?;
        inputs::check_list_len("image_mappings", params.image_mappings.len())?;
        let format_json = match params.output_format.as_deref().map(str::trim) {
            None | Some("") | Some("json") => true,
            Some("dict") => false,
            Some(other) => {
                return Err(ToolError::invalid_input(
                    format!("output_format `{other}` is not known."),
                    "Use \"json\" (object and JSON text) or \"dict\" (object only).",
                ));
            }
        };
        // The caches that count are those in the region the workflow runs in.
        let region_override = params
            .aws_region
            .as_deref()
            .or(params.ecr_region.as_deref());
        let clients = self
            .aws
            .clients(params.aws_profile.as_deref(), region_override)
            .await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        let region = params
            .ecr_region
            .clone()
            .unwrap_or_else(|| clients.region.clone());

        // 1. The caches HealthOmics can use, and why the others are left out.
        let (usable, excluded) = if params.include_pull_through_caches {
            discover_caches(&clients).await?
        } else {
            (Vec::new(), Vec::new())
        };

        // 2. Copy-registry mappings by host; credentials checked without reading them.
        let mut additional = params.additional_registry_mappings.clone();
        for request in &params.healthomics_copy_registries {
            additional.push(copy_mapping(request)?);
        }
        let mut secret_findings = Vec::new();
        for (index, mapping) in additional.iter().enumerate() {
            if let Some(arn) = &mapping.credential_arn {
                check_secret(&clients, arn, index, &mut secret_findings).await;
            }
        }

        // 3. Build and check the map.
        let inputs = MapInputs {
            discovered_caches: usable.clone(),
            usable_caches: params.include_pull_through_caches.then(|| usable.clone()),
            additional_registry_mappings: additional,
            image_mappings: params.image_mappings.clone(),
            caller_account_id: Some(account.clone()),
            ecr_account_id: params.ecr_account_id.clone(),
            pin_ecr_account_id: false,
            ecr_region: region.clone(),
        };
        let built = registry_map::build_map(&inputs).map_err(|err| {
            ToolError::invalid_input(
                err.to_string(),
                "Correct the named fields; each finding says what to write instead.",
            )
            .with_details(serde_json::json!({ "findings": err.findings, "rejected_map": err.map }))
        })?;
        let mut findings = built.findings.clone();
        findings.extend(secret_findings);

        // 4. Images: given, from a local definition, checked against this map (and the workflow's).
        let scan = match &params.workflow_definition {
            Some(path) => Some(scan_definition(path).await?),
            None => None,
        };
        let mut images: Vec<registry_map::ImageUse> = params
            .container_images
            .iter()
            .map(|i| registry_map::ImageUse::from(i.as_str()))
            .collect();
        if let Some(scan) = &scan {
            images.extend(scan.image_uses());
        }
        let unresolved = scan.as_ref().map(unresolved_images).unwrap_or_default();
        let usable_ref = params
            .include_pull_through_caches
            .then_some(usable.as_slice());
        let mut coverage = (!images.is_empty())
            .then(|| registry_map::coverage(&images, &built.map, &account, &region, usable_ref));
        if let Some(report) = coverage.as_mut() {
            // An image mapping covers an image only if its destination can be pulled.
            let problems =
                account_reads::destination_problems(&clients, &built.map, &account).await;
            map_destinations::apply_to_coverage(report, &problems, &clients.region);
        }
        let workflow = match &params.workflow_id {
            Some(id) => {
                Some(workflow_report(&clients, id, &images, &account, &region, &usable).await?)
            }
            None => None,
        };

        let message = summary(&built.map, usable.len(), coverage.as_ref(), &findings);
        Ok(Json(RegistryMapOutput {
            success: true,
            account_id: account,
            region,
            discovered_healthomics_usable_caches: built.discovered_caches_used,
            excluded_caches: excluded,
            json_output: format_json.then(|| built.json.clone()),
            container_registry_map: built.map,
            findings,
            replaced: built.replaced,
            coverage,
            workflow_definition: scan,
            unresolved_images: unresolved,
            workflow,
            usage_hint: "Pass container_registry_map as containerRegistryMap to CreateWorkflow or CreateWorkflowVersion \
                         (a new workflow version is needed to change a map), or save json_output as \
                         container-registry-map.json, upload it to S3 and pass containerRegistryMapUri."
                .into(),
            message,
        }))
    }
}

async fn discover_caches(
    clients: &AwsClients,
) -> Result<(Vec<CacheMapping>, Vec<ExcludedCache>), ToolError> {
    let rules = ecr::all_pull_through_cache_rules(&clients.ecr).await.map_err(|e| {
        let mut err = e.into_tool_error(None);
        err.remediation.push_str(" Or call again with include_pull_through_caches=false to build the map without discovery.");
        err
    })?;
    let (_, judged) = account_reads::judge_rules(clients, rules).await;
    let mut usable = Vec::new();
    let mut excluded = Vec::new();
    for j in judged {
        if j.usable() {
            usable.push(CacheMapping {
                upstream_registry_url: j.rule.upstream_registry_url.clone(),
                ecr_repository_prefix: j.rule.ecr_repository_prefix.clone(),
                upstream_repository_prefix: j.rule.upstream_repository_prefix.clone(),
            });
        } else {
            excluded.push(ExcludedCache {
                reasons: j.problems(),
                ecr_repository_prefix: j.rule.ecr_repository_prefix,
                upstream_registry_url: j.rule.upstream_registry_url,
            });
        }
    }
    Ok((usable, excluded))
}

fn copy_mapping(request: &CopyRegistryRequest) -> Result<RegistryMapping, ToolError> {
    let host = request.upstream_registry_url.trim();
    let class = registries::classify_host(host);
    if class.access_path != AccessPath::HealthOmicsCopy {
        return Err(ToolError::invalid_input(
            format!("HealthOmics does not copy images from `{host}` itself."),
            match class.access_path {
                AccessPath::PullThroughCache => {
                    "Use a pull-through cache for this host (CreatePullThroughCacheForHealthOmics)."
                        .to_owned()
                }
                _ => format!(
                    "HealthOmics copies only from community.wave.seqera.io, wave.seqera.io, nvcr.io, gcr.io and <region>-docker.pkg.dev; \
                     copy `{host}` images with CloneContainerToECR."
                ),
            },
        ));
    }
    let prefix = request
        .ecr_repository_prefix
        .clone()
        .unwrap_or_else(|| registries::default_ecr_prefix(host));
    Ok(RegistryMapping {
        upstream_registry_url: host.to_owned(),
        ecr_repository_prefix: prefix,
        upstream_repository_prefix: None,
        ecr_account_id: None,
        credential_arn: Some(request.credential_arn.trim().to_owned()),
    })
}

/// DescribeSecret only: the run role reads the value at run time, this server never does.
async fn check_secret(
    clients: &AwsClients,
    arn: &str,
    index: usize,
    findings: &mut Vec<MapFinding>,
) {
    let field = format!("additional_registry_mappings[{index}].credentialArn");
    let finding = |severity, message: String| MapFinding {
        severity,
        code: registry_map::FindingCode::InvalidCredentialArn,
        field: field.clone(),
        index: Some(index),
        message,
        suggestion: None,
    };
    match secrets::describe_secret(&clients.secrets, arn).await {
        Ok(secret) if secret.deleted_date.is_some() => findings.push(finding(
            Severity::Warning,
            format!("The secret `{}` is scheduled for deletion; HealthOmics cannot copy images with it. Restore it first.", secret.name),
        )),
        Ok(_) => {}
        Err(err) if err.kind == AwsErrorKind::NotFound => findings.push(finding(
            Severity::Warning,
            format!("The secret `{arn}` does not exist in this region; create it (registry username and token) before running the workflow."),
        )),
        Err(err) => findings.push(finding(
            Severity::Info,
            format!("The secret `{arn}` could not be checked ({}); allow secretsmanager:DescribeSecret to verify it.", err.action),
        )),
    }
}

async fn scan_definition(path: &str) -> Result<ScanResult, ToolError> {
    let path = PathBuf::from(path.trim());
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || workflow_files::scan_path(&path))
        .await
        .map_err(|e| ToolError::new(ErrorCode::Internal, format!("The workflow scan stopped: {e}"), "Retry."))?
        .map_err(|e| {
            ToolError::invalid_input(
                format!("Cannot read the workflow definition `{shown}`: {e}"),
                "Pass the path of a local .wdl, .nf or .cwl file or of the workflow's folder, as the server's machine sees it.",
            )
        })
}

fn unresolved_images(scan: &ScanResult) -> Vec<UnresolvedImage> {
    scan.unresolved()
        .into_iter()
        .map(|(file, found)| UnresolvedImage {
            file: file.to_owned(),
            line: found.line,
            expression: found.reference.clone(),
            note: found.note.clone(),
        })
        .collect()
}

async fn workflow_report(
    clients: &AwsClients,
    id: &str,
    images: &[registry_map::ImageUse],
    account: &str,
    region: &str,
    usable: &[CacheMapping],
) -> Result<WorkflowReport, ToolError> {
    let workflow = omics::workflow(&clients.omics, id.trim(), images.is_empty())
        .await
        .map_err(|e| {
            if e.kind == AwsErrorKind::NotFound {
                ToolError::new(
                    ErrorCode::NotFound,
                    format!("HealthOmics workflow `{id}` does not exist in this region."),
                    "Check the id (ListWorkflows) and the region.",
                )
            } else {
                e.into_tool_error(Some(id))
            }
        })?;
    // Without images from the caller, the workflow's own definition says which it uses.
    let (definition, definition_problem) = match (&workflow.definition_url, images.is_empty()) {
        (Some(url), true) => match definition_scan(url, &workflow.id).await {
            Ok(scan) => (Some(scan), None),
            Err(problem) => (None, Some(problem)),
        },
        (None, true) => (None, Some("HealthOmics returned no definition to read; pass container_images or workflow_definition.".to_owned())),
        _ => (None, None),
    };
    let from_definition = definition
        .as_ref()
        .map(ScanResult::image_uses)
        .unwrap_or_default();
    let images = if images.is_empty() {
        from_definition.as_slice()
    } else {
        images
    };
    let empty = ContainerRegistryMap::default();
    let map = workflow.container_registry_map.as_ref().unwrap_or(&empty);
    let findings = match &workflow.container_registry_map {
        Some(map) => {
            let ctx = MapContext {
                caller_account_id: Some(account.to_owned()),
                region: region.to_owned(),
                usable_caches: Some(usable.to_vec()),
            };
            registry_map::check_map(map, &ctx)
        }
        None => Vec::new(),
    };
    let mut coverage = (!images.is_empty())
        .then(|| registry_map::coverage(images, map, account, region, Some(usable)));
    if let Some(report) = coverage.as_mut() {
        let problems = account_reads::destination_problems(clients, map, account).await;
        map_destinations::apply_to_coverage(report, &problems, &clients.region);
    }
    Ok(WorkflowReport {
        id: workflow.id,
        name: workflow.name,
        engine: workflow.engine,
        container_registry_map: workflow.container_registry_map,
        findings,
        coverage,
        definition,
        definition_problem,
    })
}

/// Downloads the exported definition bundle and scans it; a failure is reported, not fatal.
async fn definition_scan(url: &str, id: &str) -> Result<ScanResult, String> {
    let bytes = omics::download_definition(url)
        .await
        .map_err(|e| e.message)?;
    let root = format!("workflow {id}");
    tokio::task::spawn_blocking(move || workflow_files::scan_zip(&root, &bytes))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

fn summary(
    map: &ContainerRegistryMap,
    caches: usize,
    coverage: Option<&CoverageReport>,
    findings: &[MapFinding],
) -> String {
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let mut text = format!(
        "Map with {} registry mapping(s) ({caches} from usable caches) and {} image mapping(s); {warnings} warning(s).",
        map.registry_mappings.len(),
        map.image_mappings.len()
    );
    if let Some(c) = coverage {
        let uncovered = c.images.iter().filter(|i| !i.covered).count();
        text.push_str(&format!(
            " {} of {} image(s) covered{}.",
            c.images.len() - uncovered,
            c.images.len(),
            if uncovered > 0 {
                "; see coverage.fixes for the rest"
            } else {
                ""
            }
        ));
    }
    text
}
