//! The plan and report of `CreateContainerRegistryMap`, decided without I/O: which caches go in
//! the map and why the others stay out, the copy-registry mappings, what the credential checks
//! mean, the map built and checked ([`registry_map::build_map`]), the coverage of the images
//! (with the image mappings' destinations as read), the workflow's own map, and the message.
//!
//! The tool reads the caches and secrets, calls [`plan`], reads the workflow sources and the
//! destinations the coverage needs, and returns [`MapPlan::report`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::plan::InputProblem;
use crate::core::plan::map_destinations::{self, DestinationProblem};
use crate::core::plan::run_role;
use crate::core::registries::{self, AccessPath};
use crate::core::registry_map::{
    self, BuiltMap, CacheMapping, CoverageReport, FindingCode, ImageUse, MapContext, MapError,
    MapFinding, MapInputs, RegistrySecret, ReplacedMapping, Severity,
};
use crate::core::registry_map::{ContainerRegistryMap, ImageMapping, RegistryMapping};
use crate::core::tool_names;
use crate::core::verdicts::RuleJudgement;
use crate::core::workflow_images::ScanResult;

/// A registry HealthOmics copies images from itself, asked for by host.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRegistryRequest {
    /// Exact image host, e.g. `community.wave.seqera.io`, `nvcr.io`, `gcr.io`.
    pub upstream_registry_url: String,
    /// Secret with the registry credentials; the run role needs secretsmanager:GetSecretValue on it.
    pub credential_arn: String,
    /// ECR prefix for the copies; default: the registry's usual one.
    #[serde(default)]
    #[schemars(with = "String")]
    pub ecr_repository_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ExcludedCache {
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_caches: Vec<ExcludedCache>,
    /// The map in the HealthOmics API shape (pass as containerRegistryMap).
    pub container_registry_map: ContainerRegistryMap,
    /// The same map as indented JSON text, only with output_format "json": a second copy costs
    /// the assistant's context, so it is not sent unasked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_output: Option<String>,
    /// Warnings about the map (errors stop the tool).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<MapFinding>,
    /// Discovered mappings a user mapping replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<ReplacedMapping>,
    /// Coverage of the given images or workflow definition by this map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageReport>,
    /// Where the workflow definition was read, and what it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_definition: Option<ScanResult>,
    /// Image expressions that could not be resolved to an image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved_images: Vec<UnresolvedImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowReport>,
    /// With `detail`: the IAM policy for the workflow's run role, pull on every repository
    /// this map pulls from (cache and copy prefixes, image-mapping destinations) and read on
    /// copy secrets. It follows from the map, so it is not sent unasked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_role_policy: Option<crate::core::findings::JsonObject>,
    pub usage_hint: String,
    pub message: String,
}

impl RegistryMapOutput {
    /// The result an assistant reads: coverage rows and the scan summarized (see
    /// [`CoverageReport::sized`], [`ScanResult::sized`]), no run-role policy; everything with
    /// `detail`.
    pub fn sized(mut self, detail: bool) -> Self {
        if !detail {
            self.run_role_policy = None;
        }
        self.coverage = self.coverage.map(|c| c.sized(detail));
        self.workflow_definition = self.workflow_definition.map(|s| s.sized(detail));
        if let Some(workflow) = self.workflow.as_mut() {
            workflow.coverage = workflow.coverage.take().map(|c| c.sized(detail));
            workflow.definition = workflow.definition.take().map(|s| s.sized(detail));
        }
        self
    }
}

/// How to use the map, the same for every result.
pub const USAGE_HINT: &str = "containerRegistryMap for CreateWorkflow or CreateWorkflowVersion. The \
                              run role needs ECR pull on its repositories (detail: run_role_policy).";

/// `output_format`: `json` adds the map as JSON text; `dict` (the default) does not.
pub fn wants_json_text(output_format: Option<&str>) -> Result<bool, InputProblem> {
    match output_format.map(str::trim) {
        Some("json") => Ok(true),
        None | Some("") | Some("dict") => Ok(false),
        Some(other) => Err(InputProblem::new(
            format!("output_format `{other}` is not known."),
            "Use \"json\" (object and JSON text) or \"dict\" (object only).",
        )),
    }
}

/// The user's registry mappings, then one per copy registry: indices into this list name the
/// fields of credential findings.
pub fn additional_mappings(
    user: &[RegistryMapping],
    copies: &[CopyRegistryRequest],
) -> Result<Vec<RegistryMapping>, InputProblem> {
    let mut all = user.to_vec();
    for request in copies {
        all.push(copy_mapping(request)?);
    }
    Ok(all)
}

/// The mapping for a registry HealthOmics copies from; any other host is refused with the way
/// that does serve it.
pub fn copy_mapping(request: &CopyRegistryRequest) -> Result<RegistryMapping, InputProblem> {
    let host = request.upstream_registry_url.trim();
    let class = registries::classify_host(host);
    if class.access_path != AccessPath::HealthOmicsCopy {
        return Err(InputProblem::new(
            format!("HealthOmics does not copy images from `{host}` itself."),
            match class.access_path {
                AccessPath::PullThroughCache => format!(
                    "Use a pull-through cache for this host ({}).",
                    tool_names::CREATE_PTC
                ),
                _ => format!(
                    "HealthOmics copies only from community.wave.seqera.io, wave.seqera.io, nvcr.io, gcr.io and <region>-docker.pkg.dev; \
                     copy `{host}` images with {}.",
                    tool_names::CLONE
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

/// A credential's secret as DescribeSecret showed it (the value is never read: the run role
/// reads it at run time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretState {
    Present,
    ScheduledForDeletion {
        name: String,
    },
    Missing,
    /// The read failed; `action` is the IAM action of the call.
    Unreadable {
        action: String,
    },
}

/// What the caller asked for and what was read before the map is built.
#[derive(Debug, Clone, Default)]
pub struct MapRequest {
    pub account: String,
    /// The region the map is for (`ecr_region`, else the call's).
    pub region: String,
    /// The region the account was read in.
    pub read_region: String,
    /// The cache rules, judged; `None` when include_pull_through_caches is false.
    pub caches: Option<Vec<RuleJudgement>>,
    /// [`additional_mappings`].
    pub additional: Vec<RegistryMapping>,
    pub image_mappings: Vec<ImageMapping>,
    pub ecr_account_id: Option<String>,
    /// The secret of each mapping with a credentialArn, by index into `additional`.
    pub secrets: Vec<(usize, SecretState)>,
    /// The account's `ecr-pullthroughcache/` secrets: a suggested cache names one that fits.
    pub registry_secrets: Vec<RegistrySecret>,
    /// ARN partition (`aws`, `aws-cn`, `aws-us-gov`) of the run-role policy.
    pub partition: String,
}

/// The map built and checked, and what the rest of the report needs.
#[derive(Debug, Clone)]
pub struct MapPlan {
    pub account: String,
    pub region: String,
    pub read_region: String,
    pub built: BuiltMap,
    /// Caches HealthOmics can use (empty when discovery did not run).
    pub usable: Vec<CacheMapping>,
    /// Discovery ran, so coverage knows which PTC prefixes have a usable cache.
    pub discovered: bool,
    pub excluded: Vec<ExcludedCache>,
    /// The map's warnings, then the credential checks'.
    pub findings: Vec<MapFinding>,
    pub registry_secrets: Vec<RegistrySecret>,
    pub partition: String,
}

/// Builds and checks the map; `Err` when it would not work (its findings name the fields).
pub fn plan(request: MapRequest) -> Result<MapPlan, MapError> {
    let discovered = request.caches.is_some();
    let (usable, excluded) = split_caches(request.caches.unwrap_or_default());
    let secret_findings: Vec<MapFinding> = request
        .secrets
        .iter()
        .filter_map(|(index, state)| {
            let arn = request.additional.get(*index)?.credential_arn.as_deref()?;
            secret_finding(*index, arn, state)
        })
        .collect();
    let inputs = MapInputs {
        discovered_caches: usable.clone(),
        usable_caches: discovered.then(|| usable.clone()),
        additional_registry_mappings: request.additional,
        image_mappings: request.image_mappings,
        caller_account_id: Some(request.account.clone()),
        ecr_account_id: request.ecr_account_id,
        pin_ecr_account_id: false,
        ecr_region: request.region.clone(),
    };
    let built = registry_map::build_map(&inputs)?;
    let mut findings = built.findings.clone();
    findings.extend(secret_findings);
    Ok(MapPlan {
        account: request.account,
        region: request.region,
        read_region: request.read_region,
        built,
        usable,
        discovered,
        excluded,
        findings,
        registry_secrets: request.registry_secrets,
        partition: match request.partition.as_str() {
            "" => "aws".to_owned(),
            p => p.to_owned(),
        },
    })
}

/// Usable caches become mappings; the others are listed with every reason.
fn split_caches(judged: Vec<RuleJudgement>) -> (Vec<CacheMapping>, Vec<ExcludedCache>) {
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
    (usable, excluded)
}

fn secret_finding(index: usize, arn: &str, state: &SecretState) -> Option<MapFinding> {
    let (severity, message) = match state {
        SecretState::Present => return None,
        SecretState::ScheduledForDeletion { name } => (
            Severity::Warning,
            format!(
                "The secret `{name}` is scheduled for deletion; HealthOmics cannot copy images with it. Restore it first."
            ),
        ),
        SecretState::Missing => (
            Severity::Warning,
            format!(
                "The secret `{arn}` does not exist in this region; create it (registry username and token) before running the workflow."
            ),
        ),
        SecretState::Unreadable { action } => (
            Severity::Info,
            format!(
                "The secret `{arn}` could not be checked ({action}); allow secretsmanager:DescribeSecret to verify it."
            ),
        ),
    };
    Some(MapFinding {
        severity,
        code: FindingCode::InvalidCredentialArn,
        field: format!("additional_registry_mappings[{index}].credentialArn"),
        index: Some(index),
        message,
        suggestion: None,
    })
}

/// The images to check: the given ones, then those a local definition names.
pub fn images(given: &[String], scan: Option<&ScanResult>) -> Vec<ImageUse> {
    let mut images: Vec<ImageUse> = given.iter().map(|i| ImageUse::from(i.as_str())).collect();
    if let Some(scan) = scan {
        images.extend(scan.image_uses());
    }
    images
}

/// What HealthOmics returned for `workflow_id`.
#[derive(Debug, Clone)]
pub struct WorkflowRead {
    pub id: String,
    pub name: Option<String>,
    pub engine: Option<String>,
    pub container_registry_map: Option<ContainerRegistryMap>,
    pub definition: DefinitionRead,
}

/// The workflow's own definition, read only when no images were given.
#[derive(Debug, Clone)]
pub enum DefinitionRead {
    NotNeeded,
    /// HealthOmics gave no definition to download.
    NotExported,
    Scanned(Box<ScanResult>),
    /// Why the bundle could not be downloaded or scanned.
    Unreadable(String),
}

/// The images checked against the workflow's map: the given ones, else its definition's.
pub fn workflow_images(given: &[ImageUse], definition: &DefinitionRead) -> Vec<ImageUse> {
    match definition {
        _ if !given.is_empty() => given.to_vec(),
        DefinitionRead::Scanned(scan) => scan.image_uses(),
        _ => Vec::new(),
    }
}

impl MapPlan {
    /// Which mapping serves each image; an image mapping covers an image only if its
    /// destination can be pulled (`problems`: the destinations as read, by mapping index).
    pub fn coverage(
        &self,
        images: &[ImageUse],
        problems: &[(usize, DestinationProblem)],
    ) -> Option<CoverageReport> {
        let usable = self.discovered.then_some(self.usable.as_slice());
        self.cover(images, &self.built.map, usable, problems)
    }

    fn cover(
        &self,
        images: &[ImageUse],
        map: &ContainerRegistryMap,
        usable: Option<&[CacheMapping]>,
        problems: &[(usize, DestinationProblem)],
    ) -> Option<CoverageReport> {
        if images.is_empty() {
            return None;
        }
        let mut report = registry_map::coverage(images, map, &self.account, &self.region, usable);
        map_destinations::apply_to_coverage(&mut report, problems, &self.read_region);
        // The calls that cover the rest, each once, in the order to make them, with real secrets.
        for planned in &mut report.fixes {
            registry_map::with_known_secret(&mut planned.fix, &self.registry_secrets);
        }
        for image in &mut report.images {
            if let Some(fix) = image.fix.as_mut() {
                registry_map::with_known_secret(fix, &self.registry_secrets);
            }
        }
        registry_map::order_fixes(&mut report.fixes);
        Some(report)
    }

    /// The workflow's current map checked, and the images (`given`, else its definition's)
    /// checked against it; `problems` are that map's destinations as read.
    pub fn workflow_report(
        &self,
        read: WorkflowRead,
        given: &[ImageUse],
        problems: &[(usize, DestinationProblem)],
    ) -> WorkflowReport {
        let images = workflow_images(given, &read.definition);
        let (definition, definition_problem) = match read.definition {
            DefinitionRead::NotNeeded => (None, None),
            DefinitionRead::NotExported => (
                None,
                Some("HealthOmics returned no definition to read; pass container_images or workflow_definition.".to_owned()),
            ),
            DefinitionRead::Scanned(scan) => (Some(*scan), None),
            DefinitionRead::Unreadable(problem) => (None, Some(problem)),
        };
        let findings = match &read.container_registry_map {
            Some(map) => registry_map::check_map(
                map,
                &MapContext {
                    caller_account_id: Some(self.account.clone()),
                    region: self.region.clone(),
                    usable_caches: Some(self.usable.clone()),
                },
            ),
            None => Vec::new(),
        };
        let empty = ContainerRegistryMap::default();
        let map = read.container_registry_map.as_ref().unwrap_or(&empty);
        let coverage = self.cover(&images, map, Some(&self.usable), problems);
        WorkflowReport {
            id: read.id,
            name: read.name,
            engine: read.engine,
            container_registry_map: read.container_registry_map,
            findings,
            coverage,
            definition,
            definition_problem,
        }
    }

    /// The tool's result.
    pub fn report(
        self,
        json_text: bool,
        coverage: Option<CoverageReport>,
        scan: Option<ScanResult>,
        workflow: Option<WorkflowReport>,
    ) -> RegistryMapOutput {
        let message = summary(&self.built.map, coverage.as_ref(), &self.findings);
        let run_role_policy = run_role::run_role_policy_for_map(
            &self.partition,
            &self.region,
            &self.account,
            &self.built.map,
        )
        .and_then(|p| match p {
            serde_json::Value::Object(o) => Some(o),
            _ => None,
        });
        RegistryMapOutput {
            run_role_policy,
            success: true,
            account_id: self.account,
            region: self.region,
            discovered_healthomics_usable_caches: self.built.discovered_caches_used,
            excluded_caches: self.excluded,
            json_output: json_text.then_some(self.built.json),
            container_registry_map: self.built.map,
            findings: self.findings,
            replaced: self.built.replaced,
            coverage,
            unresolved_images: scan.as_ref().map(unresolved_images).unwrap_or_default(),
            workflow_definition: scan,
            workflow,
            usage_hint: USAGE_HINT.into(),
            message,
        }
    }
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

fn summary(
    map: &ContainerRegistryMap,
    coverage: Option<&CoverageReport>,
    findings: &[MapFinding],
) -> String {
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let mut text = format!(
        "Map with {} registry mapping(s) and {} image mapping(s){}.",
        map.registry_mappings.len(),
        map.image_mappings.len(),
        match warnings {
            0 => String::new(),
            n => format!("; {n} warning(s) in findings"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::fixtures::{ACCOUNT, REGION, cache};

    const SECRET: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/wave-AbCdEf";

    fn copy(host: &str) -> CopyRegistryRequest {
        CopyRegistryRequest {
            upstream_registry_url: host.into(),
            credential_arn: SECRET.into(),
            ecr_repository_prefix: None,
        }
    }

    fn request() -> MapRequest {
        MapRequest {
            account: ACCOUNT.into(),
            region: REGION.into(),
            read_region: REGION.into(),
            caches: Some(vec![
                cache("quay", "quay.io", true),
                cache("docker-hub", "registry-1.docker.io", false),
            ]),
            ..MapRequest::default()
        }
    }

    fn warnings(findings: &[MapFinding]) -> usize {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }

    #[test]
    fn output_format() {
        for (format, json) in [
            (None, false),
            (Some(" "), false),
            (Some("json"), true),
            (Some("dict"), false),
        ] {
            assert_eq!(wants_json_text(format), Ok(json), "{format:?}");
        }
        let err = wants_json_text(Some("yaml")).unwrap_err();
        assert_eq!(err.message, "output_format `yaml` is not known.");
    }

    #[test]
    fn copy_registries_are_only_the_hosts_healthomics_copies_from() {
        let mapping = copy_mapping(&copy(" community.wave.seqera.io ")).unwrap();
        assert_eq!(mapping.upstream_registry_url, "community.wave.seqera.io");
        assert_eq!(mapping.credential_arn.as_deref(), Some(SECRET));
        assert!(!mapping.ecr_repository_prefix.is_empty());
        let err = copy_mapping(&copy("quay.io")).unwrap_err();
        assert!(err.remediation.contains(tool_names::CREATE_PTC), "{err:?}");
        let err = copy_mapping(&copy("registry.example.org")).unwrap_err();
        assert!(err.remediation.contains(tool_names::CLONE), "{err:?}");
        // The user's mappings keep their indices; copy registries follow.
        let user = [RegistryMapping {
            upstream_registry_url: "quay.io".into(),
            ecr_repository_prefix: "quay".into(),
            upstream_repository_prefix: None,
            ecr_account_id: None,
            credential_arn: None,
        }];
        let all = additional_mappings(&user, &[copy("nvcr.io")]).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].upstream_registry_url, "nvcr.io");
    }

    #[test]
    fn usable_caches_are_mapped_and_the_others_listed_with_why() {
        let plan = plan(request()).unwrap();
        assert!(plan.discovered);
        assert_eq!(plan.usable.len(), 1);
        assert_eq!(plan.excluded.len(), 1);
        assert_eq!(plan.excluded[0].ecr_repository_prefix, "docker-hub");
        assert!(
            plan.excluded[0]
                .reasons
                .iter()
                .any(|r| r.contains("registry policy")),
            "{:?}",
            plan.excluded[0].reasons
        );
        let out = plan.report(false, None, None, None);
        assert_eq!(out.discovered_healthomics_usable_caches, 1);
        assert_eq!(out.container_registry_map.registry_mappings.len(), 1);
        assert_eq!(out.json_output, None);
        assert_eq!(out.usage_hint, USAGE_HINT);
        assert_eq!(
            out.message,
            "Map with 1 registry mapping(s) and 0 image mapping(s)."
        );
    }

    #[test]
    fn without_discovery_no_cache_is_mapped() {
        let plan = plan(MapRequest {
            caches: None,
            ..request()
        })
        .unwrap();
        assert!(!plan.discovered && plan.usable.is_empty() && plan.excluded.is_empty());
        let out = plan.report(true, None, None, None);
        assert!(out.json_output.is_some());
        assert_eq!(out.discovered_healthomics_usable_caches, 0);
        assert!(
            out.message
                .starts_with("Map with 0 registry mapping(s) and 0 image mapping(s)")
        );
    }

    #[test]
    fn credential_checks_become_findings_on_their_mapping() {
        let additional = additional_mappings(
            &[],
            &[
                copy("community.wave.seqera.io"),
                copy("nvcr.io"),
                copy("gcr.io"),
            ],
        )
        .unwrap();
        let plan = plan(MapRequest {
            additional,
            secrets: vec![
                (0, SecretState::Missing),
                (1, SecretState::ScheduledForDeletion { name: "ngc".into() }),
                (
                    2,
                    SecretState::Unreadable {
                        action: "secretsmanager:DescribeSecret".into(),
                    },
                ),
            ],
            ..request()
        })
        .unwrap();
        let credential: Vec<&MapFinding> = plan
            .findings
            .iter()
            .filter(|f| f.code == FindingCode::InvalidCredentialArn)
            .collect();
        assert_eq!(credential.len(), 3, "{credential:?}");
        assert_eq!(
            credential[0].field,
            "additional_registry_mappings[0].credentialArn"
        );
        assert!(
            credential[0]
                .message
                .contains("does not exist in this region")
        );
        assert!(
            credential[1]
                .message
                .contains("`ngc` is scheduled for deletion")
        );
        assert_eq!(credential[2].severity, Severity::Info);
        let expected = warnings(&plan.findings);
        assert!(expected >= 2);
        let out = plan.report(false, None, None, None);
        assert!(
            out.message.ends_with(&format!(
                "and 0 image mapping(s); {expected} warning(s) in findings."
            )),
            "{}",
            out.message
        );
        // A present secret says nothing.
        assert_eq!(secret_finding(0, SECRET, &SecretState::Present), None);
    }

    #[test]
    fn coverage_counts_the_images_and_points_at_the_fixes() {
        let plan = plan(request()).unwrap();
        assert_eq!(plan.coverage(&[], &[]), None);
        let given = [
            "quay.io/biocontainers/samtools:1.19".to_owned(),
            "ghcr.io/o/tool:1".to_owned(),
        ];
        let images = images(&given, None);
        let coverage = plan.coverage(&images, &[]).unwrap();
        assert_eq!((coverage.summary.total, coverage.summary.covered), (2, 1));
        let out = plan.report(false, Some(coverage), None, None);
        assert!(
            out.message
                .ends_with(" 1 of 2 image(s) covered; see coverage.fixes for the rest."),
            "{}",
            out.message
        );
        let all = plan_with_all_covered();
        assert!(all.ends_with(" 1 of 1 image(s) covered."), "{all}");
    }

    fn plan_with_all_covered() -> String {
        let plan = plan(request()).unwrap();
        let images = images(&["quay.io/biocontainers/samtools:1.19".to_owned()], None);
        let coverage = plan.coverage(&images, &[]);
        plan.report(false, coverage, None, None).message
    }

    #[test]
    fn a_workflow_without_images_or_definition_says_why() {
        let plan = plan(request()).unwrap();
        let read = WorkflowRead {
            id: "1234567".into(),
            name: Some("wf".into()),
            engine: Some("WDL".into()),
            container_registry_map: None,
            definition: DefinitionRead::NotExported,
        };
        let report = plan.workflow_report(read, &[], &[]);
        assert!(
            report
                .definition_problem
                .as_deref()
                .is_some_and(|p| p.contains("no definition"))
        );
        assert!(report.findings.is_empty() && report.coverage.is_none());
        // Given images are checked against the workflow's own map (none: nothing covered).
        let given = images(&["quay.io/biocontainers/samtools:1.19".to_owned()], None);
        let read = WorkflowRead {
            id: "1234567".into(),
            name: None,
            engine: None,
            container_registry_map: None,
            definition: DefinitionRead::NotNeeded,
        };
        assert_eq!(workflow_images(&given, &read.definition), given);
        let report = plan.workflow_report(read, &given, &[]);
        assert_eq!(report.definition_problem, None);
        let coverage = report.coverage.unwrap();
        assert_eq!((coverage.summary.total, coverage.summary.covered), (1, 0));
    }
}
