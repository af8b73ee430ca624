//! HealthOmics container registry maps: building one from discovered pull-through caches and
//! user mappings, checking one against the API limits and the PTC / copy / unsupported rules,
//! and telling which images of a workflow a map covers and what to do about the rest.
//!
//! The Python server only concatenated dictionaries; HealthOmics then failed at run time. Here
//! every limit the API enforces, and every rule it applies silently (exact host match, copy hosts
//! need `credentialArn`, PTC hosts ignore it), is checked before the map leaves the server.
//! Nothing here does I/O.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::core::image_ref::{
    ContainerRegistryMap, EcrRegistryHost, ImageMapping, ImageReference, MappingNoteReason,
    ROOT_PREFIX, RegistryMapping, RewriteOutcome, apply_registry_map, is_account_id,
    is_region_name, partition_for_region, ptc_repository_name, validate_ecr_repository_name,
    validate_ptc_prefix,
};
use crate::core::registries::{self, AccessPath, NearMissReason};
use crate::core::tool_names;

/// HealthOmics API limits (RegistryMapping / ImageMapping), checked here so a bad map is refused
/// with the field named instead of by CreateWorkflow.
pub const UPSTREAM_REGISTRY_URL_MAX: usize = 750;
pub const ECR_REPOSITORY_PREFIX_MAX: usize = 256;
pub const UPSTREAM_REPOSITORY_PREFIX_MIN: usize = 2;
pub const UPSTREAM_REPOSITORY_PREFIX_MAX: usize = 30;
pub const CREDENTIAL_ARN_MIN: usize = 20;
pub const CREDENTIAL_ARN_MAX: usize = 2048;
pub const IMAGE_URI_MAX: usize = 750;

/// Placeholder put where the user must supply their own Secrets Manager ARN.
pub const SECRET_ARN_PLACEHOLDER: &str = "<secret ARN>";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A HealthOmics-usable pull-through cache rule, as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CacheMapping {
    /// The rule's upstream host, e.g. `quay.io`.
    pub upstream_registry_url: String,
    /// The rule's ECR repository prefix, e.g. `quay`.
    pub ecr_repository_prefix: String,
    /// The rule's upstream repository prefix, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_repository_prefix: Option<String>,
}

impl CacheMapping {
    /// The registry mapping that makes HealthOmics use this cache.
    pub fn to_registry_mapping(&self) -> RegistryMapping {
        RegistryMapping {
            upstream_registry_url: self.upstream_registry_url.clone(),
            ecr_repository_prefix: self.ecr_repository_prefix.clone(),
            upstream_repository_prefix: self.upstream_repository_prefix.clone(),
            ecr_account_id: None,
            credential_arn: None,
        }
    }
}

/// Where and what the map is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MapContext {
    /// The caller's account (STS); used to notice cross-account mappings.
    #[serde(default)]
    pub caller_account_id: Option<String>,
    /// The region workflows run in; ECR images must be there.
    pub region: String,
    /// HealthOmics-usable pull-through caches, when discovery ran. `None` skips the checks that
    /// need them (a PTC mapping without a usable cache, a prefix owned by another upstream).
    #[serde(default)]
    pub usable_caches: Option<Vec<CacheMapping>>,
}

/// Everything `CreateContainerRegistryMap` combines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MapInputs {
    /// Usable caches to turn into registry mappings (empty when `include_pull_through_caches` is false).
    #[serde(default)]
    pub discovered_caches: Vec<CacheMapping>,
    /// All usable caches, for checks; `None` when discovery did not run.
    #[serde(default)]
    pub usable_caches: Option<Vec<CacheMapping>>,
    /// The user's registry mappings; they win over discovered ones for the same host.
    #[serde(default)]
    pub additional_registry_mappings: Vec<RegistryMapping>,
    /// The user's image mappings.
    #[serde(default)]
    pub image_mappings: Vec<ImageMapping>,
    /// The caller's account (STS).
    #[serde(default)]
    pub caller_account_id: Option<String>,
    /// The account whose ECR the map should point at.
    #[serde(default)]
    pub ecr_account_id: Option<String>,
    /// Write `ecrAccountId` on every mapping even when `ecr_account_id` is the caller's.
    #[serde(default)]
    pub pin_ecr_account_id: bool,
    /// The region workflows run in.
    pub ecr_region: String,
}

pub use crate::core::findings::Severity;

/// What a finding is about, stable for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// A field is shorter or longer than the API allows.
    Length,
    /// The JSON lacks a required key.
    MissingField,
    /// A JSON value has the wrong type.
    WrongType,
    /// A JSON key HealthOmics does not know.
    UnknownKey,
    /// `upstreamRegistryUrl` is not a bare host (scheme, path, slash, case, port, wildcard).
    NotBareHost,
    /// `upstreamRegistryUrl` is a host that never matches what was meant (alias, sibling, …).
    HostNearMiss,
    /// A HealthOmics-copy host without the `credentialArn` HealthOmics requires.
    MissingCredential,
    /// `credentialArn` on a pull-through cache host, which HealthOmics ignores.
    CredentialIgnored,
    /// A host HealthOmics can neither pull through a cache nor copy from.
    UnsupportedHost,
    /// An unsupported host that a known pull-through cache rule serves anyway.
    UnsupportedHostCached,
    /// A mapping for a private ECR host, which images on it bypass.
    PrivateEcrUpstream,
    /// `ecrRepositoryPrefix` is not a valid ECR prefix.
    InvalidPrefix,
    /// A PTC host mapped to a prefix no usable cache has.
    NoUsableCache,
    /// The prefix belongs to a cache of another upstream.
    PrefixOfOtherCache,
    /// `upstreamRepositoryPrefix` is not valid.
    InvalidUpstreamPrefix,
    /// `ecrAccountId` (or an account parameter) is not 12 digits.
    InvalidAccountId,
    /// `credentialArn` is not a Secrets Manager secret ARN.
    InvalidCredentialArn,
    /// The secret is in another partition than the region.
    CredentialPartition,
    /// The secret is in another region (not confirmed to matter).
    CredentialRegion,
    /// The mapping or destination points at another account.
    CrossAccount,
    /// Two registry mappings for the same host.
    DuplicateHost,
    /// Two pull-through cache mappings share a prefix, so one is wrong.
    PrefixConflict,
    /// Prefixes of different hosts are equal or nested.
    PrefixOverlap,
    /// `sourceImage` / `destinationImage` is not a valid image reference.
    InvalidImage,
    /// `destinationImage` is not in private ECR.
    DestinationNotPrivateEcr,
    /// `destinationImage` is in private ECR of another region.
    DestinationOtherRegion,
    /// `destinationImage` has neither tag nor digest.
    DestinationUntagged,
    /// Two image mappings for the same image.
    DuplicateSource,
    /// A user mapping replaced a discovered one.
    ReplacedDiscovered,
    /// More than one usable cache for a host; one was chosen.
    DuplicateCache,
    /// `ecrAccountId` was written on the mappings.
    AccountApplied,
    /// The map maps nothing.
    EmptyMap,
    /// The region is not a region name.
    InvalidRegion,
}

/// One problem or remark about a map, naming the field and saying the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MapFinding {
    pub severity: Severity,
    pub code: FindingCode,
    /// The field, as in `registryMappings[2].credentialArn` or `additional_registry_mappings[0]`.
    pub field: String,
    /// Position in the list the field belongs to, when it is a list entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
    /// The value to write instead, when there is one answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// A discovered cache mapping that a user mapping for the same host replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ReplacedMapping {
    pub discovered: CacheMapping,
    /// Index in `additional_registry_mappings` of the mapping that won.
    pub replaced_by: usize,
}

/// A map that passed every check, with the warnings to show alongside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BuiltMap {
    /// The map in the HealthOmics API shape.
    pub map: ContainerRegistryMap,
    /// The same map as pretty JSON (4-space indent), ready to save or upload.
    pub json: String,
    /// Warnings and remarks; never errors.
    pub findings: Vec<MapFinding>,
    /// Discovered mappings that user mappings replaced.
    pub replaced: Vec<ReplacedMapping>,
    /// How many discovered caches made it into the map.
    pub discovered_caches_used: usize,
    /// The `ecrAccountId` written on mappings, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_account_id_applied: Option<String>,
}

/// The map would not work; `findings` holds the errors first, then the warnings found with
/// them, and `map` the rejected map, so a caller can show what was built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", summarise_errors(.findings))]
pub struct MapError {
    pub findings: Vec<MapFinding>,
    pub map: ContainerRegistryMap,
}

impl MapError {
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &MapFinding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

fn summarise_errors(findings: &[MapFinding]) -> String {
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    match errors.len() {
        0 => "the container registry map is not usable".to_owned(),
        1 => format!("the container registry map is not usable: {}", errors[0]),
        n => format!(
            "the container registry map has {n} errors: {}",
            errors.join("; ")
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Host normalisation
// ---------------------------------------------------------------------------------------------

/// The host a registry URL means, for comparing mappings: trimmed, lowercased, scheme and
/// trailing slash dropped, Docker Hub aliases folded into `registry-1.docker.io`. HealthOmics
/// itself compares exactly; this is only for deciding that two mappings are about one host.
pub fn normalise_host(url: &str) -> String {
    registries::near_miss(url)
        .and_then(|m| m.suggestion)
        .unwrap_or_else(|| url.trim().to_ascii_lowercase())
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Origin {
    Discovered(usize),
    User(usize),
}

impl Origin {
    fn label(self) -> (String, usize) {
        match self {
            Origin::Discovered(i) => (format!("discovered_caches[{i}]"), i),
            Origin::User(i) => (format!("additional_registry_mappings[{i}]"), i),
        }
    }
}

/// Builds a container registry map: discovered caches first, user mappings replacing any for the
/// same host (later user mappings replace earlier ones), image mappings deduplicated by image,
/// and `ecrAccountId` written when the map must point at another account or the caller asks.
/// Errors when any check would make HealthOmics reject the map or fail the run.
pub fn build_map(inputs: &MapInputs) -> Result<BuiltMap, MapError> {
    let mut findings = Vec::new();
    let region = inputs.ecr_region.trim();
    check_region(region, "ecr_region", &mut findings);

    // --- registry mappings ---
    let mut entries: Vec<(RegistryMapping, Origin)> = Vec::new();
    let mut discovered_keys: HashMap<String, usize> = HashMap::new();
    for (i, cache) in inputs.discovered_caches.iter().enumerate() {
        let key = normalise_host(&cache.upstream_registry_url);
        if let Some(&first) = discovered_keys.get(&key) {
            findings.push(MapFinding {
                severity: Severity::Info,
                code: FindingCode::DuplicateCache,
                field: format!("discovered_caches[{i}]"),
                index: Some(i),
                message: format!(
                    "`{}` has more than one usable cache; the map uses the one with prefix `{}` (discovered_caches[{first}]) and leaves out `{}`: pass an additional registry mapping to choose another",
                    cache.upstream_registry_url,
                    inputs.discovered_caches[first].ecr_repository_prefix,
                    cache.ecr_repository_prefix
                ),
                suggestion: None,
            });
            continue;
        }
        discovered_keys.insert(key, i);
        entries.push((cache.to_registry_mapping(), Origin::Discovered(i)));
    }

    let mut replaced = Vec::new();
    for (j, mapping) in inputs.additional_registry_mappings.iter().enumerate() {
        let key = normalise_host(&mapping.upstream_registry_url);
        let mut kept = Vec::with_capacity(entries.len());
        for (existing, origin) in entries.drain(..) {
            if normalise_host(&existing.upstream_registry_url) != key {
                kept.push((existing, origin));
                continue;
            }
            match origin {
                Origin::Discovered(i) => {
                    let discovered = inputs.discovered_caches[i].clone();
                    findings.push(MapFinding {
                        severity: Severity::Info,
                        code: FindingCode::ReplacedDiscovered,
                        field: format!("additional_registry_mappings[{j}]"),
                        index: Some(j),
                        message: format!(
                            "replaces the discovered cache mapping `{}` → `{}` (discovered_caches[{i}])",
                            discovered.upstream_registry_url, discovered.ecr_repository_prefix
                        ),
                        suggestion: None,
                    });
                    replaced.push(ReplacedMapping {
                        discovered,
                        replaced_by: j,
                    });
                }
                Origin::User(earlier) => findings.push(MapFinding {
                    severity: Severity::Warning,
                    code: FindingCode::DuplicateHost,
                    field: format!("additional_registry_mappings[{earlier}]"),
                    index: Some(earlier),
                    message: format!(
                        "additional_registry_mappings[{j}] maps the same host (`{key}`), so this one was dropped: keep one mapping per host"
                    ),
                    suggestion: None,
                }),
            }
        }
        entries = kept;
        entries.push((mapping.clone(), Origin::User(j)));
    }

    // --- ecrAccountId ---
    let target = inputs
        .ecr_account_id
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let mut applied = None;
    if let Some(target) = target {
        if !is_account_id(target) {
            findings.push(MapFinding {
                severity: Severity::Error,
                code: FindingCode::InvalidAccountId,
                field: "ecr_account_id".into(),
                index: None,
                message: format!(
                    "`{target}` is not an AWS account ID: give exactly 12 digits, e.g. `123456789012`"
                ),
                suggestion: None,
            });
        } else {
            let caller = inputs.caller_account_id.as_deref().map(str::trim);
            let differs = caller.is_none_or(|c| c != target);
            if differs || inputs.pin_ecr_account_id {
                for (mapping, _) in &mut entries {
                    if mapping.ecr_account_id.is_none() {
                        mapping.ecr_account_id = Some(target.to_owned());
                    }
                }
                applied = Some(target.to_owned());
                findings.push(MapFinding {
                    severity: Severity::Info,
                    code: FindingCode::AccountApplied,
                    field: "ecr_account_id".into(),
                    index: None,
                    message: format!(
                        "every registry mapping without its own ecrAccountId points at account {target}"
                    ),
                    suggestion: None,
                });
                if let Some(caller) = caller
                    && caller != target
                    && entries
                        .iter()
                        .any(|(_, o)| matches!(o, Origin::Discovered(_)))
                {
                    findings.push(MapFinding {
                        severity: Severity::Warning,
                        code: FindingCode::CrossAccount,
                        field: "ecr_account_id".into(),
                        index: None,
                        message: format!(
                            "the discovered caches are rules of account {caller}, but the map points them at account {target}: make sure {target} has pull-through cache rules with the same prefixes, or leave ecr_account_id unset"
                        ),
                        suggestion: None,
                    });
                }
            }
        }
    }

    // --- image mappings: one per image, the last one given wins ---
    let mut images: Vec<(ImageMapping, usize)> = Vec::new();
    for (k, mapping) in inputs.image_mappings.iter().enumerate() {
        let key = image_key(&mapping.source_image);
        if let Some(pos) = images
            .iter()
            .position(|(m, _)| image_key(&m.source_image) == key)
        {
            let (earlier, earlier_index) = images.remove(pos);
            let same = earlier.destination_image.trim() == mapping.destination_image.trim();
            findings.push(MapFinding {
                severity: if same {
                    Severity::Info
                } else {
                    Severity::Warning
                },
                code: FindingCode::DuplicateSource,
                field: format!("image_mappings[{earlier_index}]"),
                index: Some(earlier_index),
                message: if same {
                    format!(
                        "image_mappings[{k}] repeats this mapping for `{key}`; kept once"
                    )
                } else {
                    format!(
                        "image_mappings[{k}] maps the same image (`{key}`) to `{}`, so this one (→ `{}`) was dropped: keep one mapping per image",
                        mapping.destination_image, earlier.destination_image
                    )
                },
                suggestion: None,
            });
        }
        images.push((mapping.clone(), k));
    }

    let map = ContainerRegistryMap {
        registry_mappings: entries.iter().map(|(m, _)| m.clone()).collect(),
        image_mappings: images.iter().map(|(m, _)| m.clone()).collect(),
    };

    let mut known = inputs.usable_caches.clone().unwrap_or_default();
    for cache in &inputs.discovered_caches {
        if !known.contains(cache) {
            known.push(cache.clone());
        }
    }
    let checker = Checker {
        region,
        caller: inputs.caller_account_id.as_deref().map(str::trim),
        known_caches: &known,
        caches_complete: inputs.usable_caches.is_some(),
    };
    let registry_labels: Vec<(String, usize)> = entries.iter().map(|(_, o)| o.label()).collect();
    let image_labels: Vec<(String, usize)> = images
        .iter()
        .map(|(_, k)| (format!("image_mappings[{k}]"), *k))
        .collect();
    checker.check_entries(
        &map.registry_mappings.iter().collect::<Vec<_>>(),
        &registry_labels,
        &mut findings,
    );
    checker.check_images(
        &map.image_mappings.iter().collect::<Vec<_>>(),
        &image_labels,
        &mut findings,
    );
    if map.registry_mappings.is_empty() && map.image_mappings.is_empty() {
        findings.push(empty_map_finding("container_registry_map"));
    }

    if findings.iter().any(|f| f.severity == Severity::Error) {
        findings.sort_by_key(|f| f.severity);
        return Err(MapError { findings, map });
    }
    let discovered_caches_used = entries
        .iter()
        .filter(|(_, o)| matches!(o, Origin::Discovered(_)))
        .count();
    Ok(BuiltMap {
        json: to_pretty_json(&map),
        map,
        findings,
        replaced,
        discovered_caches_used,
        ecr_account_id_applied: applied,
    })
}

/// The map as pretty JSON with 4-space indentation (as the Python server printed it).
pub fn to_pretty_json(map: &ContainerRegistryMap) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    if map.serialize(&mut serializer).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

fn empty_map_finding(field: &str) -> MapFinding {
    MapFinding {
        severity: Severity::Warning,
        code: FindingCode::EmptyMap,
        field: field.into(),
        index: None,
        message: "the map has no registry or image mappings, so HealthOmics pulls every image as written: create pull-through caches (CreatePullThroughCacheForHealthOmics) or pass additional_registry_mappings / image_mappings".into(),
        suggestion: None,
    }
}

fn image_key(source: &str) -> String {
    match ImageReference::parse(source) {
        Ok(r) => r.with_default_tag().to_string(),
        Err(_) => source.trim().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/// Checks a map (e.g. from GetWorkflow, or given by the user) with the same rules `build_map`
/// applies. Fields are named as in the API (`registryMappings[0].credentialArn`).
pub fn check_map(map: &ContainerRegistryMap, ctx: &MapContext) -> Vec<MapFinding> {
    let mut findings = Vec::new();
    let region = ctx.region.trim();
    check_region(region, "region", &mut findings);
    let known = ctx.usable_caches.clone().unwrap_or_default();
    let checker = Checker {
        region,
        caller: ctx.caller_account_id.as_deref().map(str::trim),
        known_caches: &known,
        caches_complete: ctx.usable_caches.is_some(),
    };
    let labels: Vec<(String, usize)> = (0..map.registry_mappings.len())
        .map(|i| (format!("registryMappings[{i}]"), i))
        .collect();
    checker.check_entries(
        &map.registry_mappings.iter().collect::<Vec<_>>(),
        &labels,
        &mut findings,
    );
    let labels: Vec<(String, usize)> = (0..map.image_mappings.len())
        .map(|i| (format!("imageMappings[{i}]"), i))
        .collect();
    checker.check_images(
        &map.image_mappings.iter().collect::<Vec<_>>(),
        &labels,
        &mut findings,
    );
    if map.registry_mappings.is_empty() && map.image_mappings.is_empty() {
        findings.push(empty_map_finding("containerRegistryMap"));
    }
    findings
}

const REGISTRY_KEYS: [&str; 5] = [
    "upstreamRegistryUrl",
    "ecrRepositoryPrefix",
    "upstreamRepositoryPrefix",
    "ecrAccountId",
    "credentialArn",
];
const IMAGE_KEYS: [&str; 2] = ["sourceImage", "destinationImage"];

/// Checks a map as JSON, as GetWorkflow returns it (a `{"containerRegistryMap": …}` wrapper is
/// accepted) or as a user wrote it: missing keys, wrong types and misspelt keys (snake_case, a
/// different case) are reported per entry, then the entries that are complete get every
/// `check_map` rule, keeping their original indices.
pub fn check_map_json(value: &Value, ctx: &MapContext) -> Vec<MapFinding> {
    let mut findings = Vec::new();
    let root = value.get("containerRegistryMap").unwrap_or(value);
    let Some(object) = root.as_object() else {
        findings.push(structural(
            FindingCode::WrongType,
            "containerRegistryMap",
            None,
            format!(
                "the map must be a JSON object with `registryMappings` and `imageMappings` lists, not {}",
                type_name(root)
            ),
        ));
        return findings;
    };
    for key in object.keys() {
        if key != "registryMappings" && key != "imageMappings" {
            findings.push(unknown_key(
                "containerRegistryMap",
                key,
                &["registryMappings", "imageMappings"],
            ));
        }
    }

    let region = ctx.region.trim();
    check_region(region, "region", &mut findings);
    let known = ctx.usable_caches.clone().unwrap_or_default();
    let checker = Checker {
        region,
        caller: ctx.caller_account_id.as_deref().map(str::trim),
        known_caches: &known,
        caches_complete: ctx.usable_caches.is_some(),
    };

    let registry_items = json_list(object, "registryMappings", &mut findings);
    let mut registry = Vec::new();
    let mut registry_labels = Vec::new();
    for (i, item) in registry_items.iter().enumerate() {
        let field = format!("registryMappings[{i}]");
        if let Some(fields) = json_entry(item, &field, i, &REGISTRY_KEYS, 2, &mut findings) {
            registry.push(RegistryMapping {
                upstream_registry_url: fields[0].clone().unwrap_or_default(),
                ecr_repository_prefix: fields[1].clone().unwrap_or_default(),
                upstream_repository_prefix: fields[2].clone(),
                ecr_account_id: fields[3].clone(),
                credential_arn: fields[4].clone(),
            });
            registry_labels.push((field, i));
        }
    }
    let image_items = json_list(object, "imageMappings", &mut findings);
    let mut images = Vec::new();
    let mut image_labels = Vec::new();
    for (i, item) in image_items.iter().enumerate() {
        let field = format!("imageMappings[{i}]");
        if let Some(fields) = json_entry(item, &field, i, &IMAGE_KEYS, 2, &mut findings) {
            images.push(ImageMapping {
                source_image: fields[0].clone().unwrap_or_default(),
                destination_image: fields[1].clone().unwrap_or_default(),
            });
            image_labels.push((field, i));
        }
    }
    checker.check_entries(
        &registry.iter().collect::<Vec<_>>(),
        &registry_labels,
        &mut findings,
    );
    checker.check_images(
        &images.iter().collect::<Vec<_>>(),
        &image_labels,
        &mut findings,
    );
    if registry_items.is_empty() && image_items.is_empty() {
        findings.push(empty_map_finding("containerRegistryMap"));
    }
    findings
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn structural(code: FindingCode, field: &str, index: Option<usize>, message: String) -> MapFinding {
    MapFinding {
        severity: Severity::Error,
        code,
        field: field.into(),
        index,
        message,
        suggestion: None,
    }
}

/// `upstream_registry_url` and `UpstreamRegistryURL` are the usual slips for `upstreamRegistryUrl`.
fn unknown_key(parent: &str, key: &str, known: &[&str]) -> MapFinding {
    let squash = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
    let meant = known.iter().find(|k| squash(k) == squash(key));
    let message = match meant {
        Some(k) => format!(
            "`{key}` is not a key HealthOmics reads, so its value is lost: write `{k}` (camelCase)"
        ),
        None => format!(
            "`{key}` is not a key HealthOmics knows (expected {}): remove it",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    MapFinding {
        severity: Severity::Warning,
        code: FindingCode::UnknownKey,
        field: format!("{parent}.{key}"),
        index: None,
        message,
        suggestion: meant.map(|k| (*k).to_owned()),
    }
}

fn json_list<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    findings: &mut Vec<MapFinding>,
) -> &'v [Value] {
    match object.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(other) => {
            findings.push(structural(
                FindingCode::WrongType,
                key,
                None,
                format!("`{key}` must be a list, not {}", type_name(other)),
            ));
            &[]
        }
    }
}

/// Reads one entry's string fields in `keys` order; the first `required` are required. `None`
/// when the entry cannot be checked further.
fn json_entry(
    item: &Value,
    field: &str,
    index: usize,
    keys: &[&str],
    required: usize,
    findings: &mut Vec<MapFinding>,
) -> Option<Vec<Option<String>>> {
    let Some(object) = item.as_object() else {
        findings.push(structural(
            FindingCode::WrongType,
            field,
            Some(index),
            format!(
                "each entry must be an object with {}, not {}",
                keys[..required]
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                type_name(item)
            ),
        ));
        return None;
    };
    for key in object.keys() {
        if !keys.contains(&key.as_str()) {
            let mut f = unknown_key(field, key, keys);
            f.index = Some(index);
            findings.push(f);
        }
    }
    let mut complete = true;
    let mut out = Vec::with_capacity(keys.len());
    for (n, key) in keys.iter().enumerate() {
        match object.get(*key) {
            Some(Value::String(s)) => out.push(Some(s.clone())),
            None | Some(Value::Null) => {
                if n < required {
                    complete = false;
                    findings.push(structural(
                        FindingCode::MissingField,
                        &format!("{field}.{key}"),
                        Some(index),
                        format!("`{key}` is required in every entry: add it"),
                    ));
                }
                out.push(None);
            }
            Some(other) => {
                complete = false;
                findings.push(structural(
                    FindingCode::WrongType,
                    &format!("{field}.{key}"),
                    Some(index),
                    format!("`{key}` must be a string, not {}", type_name(other)),
                ));
                out.push(None);
            }
        }
    }
    complete.then_some(out)
}

fn check_region(region: &str, field: &str, findings: &mut Vec<MapFinding>) {
    if !is_region_name(region) {
        findings.push(MapFinding {
            severity: Severity::Error,
            code: FindingCode::InvalidRegion,
            field: field.into(),
            index: None,
            message: format!(
                "`{region}` is not an AWS region name: give the region workflows run in, e.g. `us-east-1`"
            ),
            suggestion: None,
        });
    }
}

struct Checker<'a> {
    region: &'a str,
    caller: Option<&'a str>,
    known_caches: &'a [CacheMapping],
    caches_complete: bool,
}

struct Finder<'a> {
    out: &'a mut Vec<MapFinding>,
    base: &'a str,
    index: usize,
}

impl Finder<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        key: Option<&str>,
        message: String,
        suggestion: Option<String>,
    ) {
        let field = match key {
            Some(k) => format!("{}.{k}", self.base),
            None => self.base.to_owned(),
        };
        self.out.push(MapFinding {
            severity,
            code,
            field,
            index: Some(self.index),
            message,
            suggestion,
        });
    }
}

/// Length check with the API's limits; `true` when within them.
fn check_length(f: &mut Finder, key: &str, value: &str, min: usize, max: usize) -> bool {
    let n = value.chars().count();
    if n < min {
        let message = if n == 0 {
            format!("`{key}` is empty: it needs {min} to {max} characters")
        } else {
            format!("`{key}` has {n} characters; the API needs {min} to {max}")
        };
        f.push(
            Severity::Error,
            FindingCode::Length,
            Some(key),
            message,
            None,
        );
        return false;
    }
    if n > max {
        f.push(
            Severity::Error,
            FindingCode::Length,
            Some(key),
            format!("`{key}` has {n} characters; the API allows at most {max}: shorten it"),
            None,
        );
        return false;
    }
    true
}

impl Checker<'_> {
    fn cache_for_prefix(&self, prefix: &str) -> Option<&CacheMapping> {
        self.known_caches
            .iter()
            .find(|c| c.ecr_repository_prefix == prefix)
    }

    fn check_entries(
        &self,
        mappings: &[&RegistryMapping],
        labels: &[(String, usize)],
        out: &mut Vec<MapFinding>,
    ) {
        let mut classes = Vec::with_capacity(mappings.len());
        for (mapping, (base, index)) in mappings.iter().zip(labels) {
            let mut f = Finder {
                out,
                base,
                index: *index,
            };
            classes.push(self.check_registry_mapping(mapping, &mut f));
        }
        self.check_across(mappings, labels, &classes, out);
    }

    /// Checks one registry mapping; returns the access path of its host when known.
    fn check_registry_mapping(&self, m: &RegistryMapping, f: &mut Finder) -> Option<AccessPath> {
        let url = m.upstream_registry_url.as_str();
        let mut host = None;
        if check_length(f, "upstreamRegistryUrl", url, 1, UPSTREAM_REGISTRY_URL_MAX) {
            host = self.check_host(url, f);
        }

        let prefix = m.ecr_repository_prefix.as_str();
        let prefix_ok = check_length(
            f,
            "ecrRepositoryPrefix",
            prefix,
            1,
            ECR_REPOSITORY_PREFIX_MAX,
        ) && check_ecr_prefix(prefix, f);

        if let Some(upstream) = &m.upstream_repository_prefix
            && check_length(
                f,
                "upstreamRepositoryPrefix",
                upstream,
                UPSTREAM_REPOSITORY_PREFIX_MIN,
                UPSTREAM_REPOSITORY_PREFIX_MAX,
            )
        {
            check_upstream_prefix(upstream, f);
        }

        if let Some(account) = &m.ecr_account_id {
            if !is_account_id(account) {
                f.push(
                    Severity::Error,
                    FindingCode::InvalidAccountId,
                    Some("ecrAccountId"),
                    format!("`{account}` is not an AWS account ID: write exactly 12 digits"),
                    None,
                );
            } else if let Some(caller) = self.caller
                && caller != account
            {
                f.push(
                    Severity::Info,
                    FindingCode::CrossAccount,
                    Some("ecrAccountId"),
                    format!(
                        "images come from account {account}'s ECR: its repository policies must allow omics.amazonaws.com and the workflow-owner account {caller}, and the prefix's pull-through cache rule must exist there"
                    ),
                    None,
                );
            }
        }

        if let Some(arn) = &m.credential_arn
            && check_length(
                f,
                "credentialArn",
                arn,
                CREDENTIAL_ARN_MIN,
                CREDENTIAL_ARN_MAX,
            )
        {
            self.check_credential_arn(arn, f);
        }

        let host = host?;
        let class = registries::classify_host(&host);
        match class.access_path {
            AccessPath::HealthOmicsCopy => {
                if prefix_ok
                    && let Some(cache) = self
                        .known_caches
                        .iter()
                        .find(|c| prefixes_overlap(&c.ecr_repository_prefix, prefix))
                {
                    f.push(
                        Severity::Warning,
                        FindingCode::PrefixOverlap,
                        Some("ecrRepositoryPrefix"),
                        format!(
                            "`{prefix}` overlaps the prefix `{}` of the pull-through cache rule for `{}`: copied images would land in a pull-through cache namespace; give the HealthOmics-copy mapping a prefix of its own",
                            cache.ecr_repository_prefix, cache.upstream_registry_url
                        ),
                        None,
                    );
                }
                if m.credential_arn.is_none() {
                    f.push(
                        Severity::Error,
                        FindingCode::MissingCredential,
                        Some("credentialArn"),
                        format!(
                            "HealthOmics copies images from `{host}` only when the mapping has a credentialArn: store the registry credentials in Secrets Manager, let the run role call secretsmanager:GetSecretValue on the secret, and add its ARN here"
                        ),
                        Some(SECRET_ARN_PLACEHOLDER.into()),
                    );
                }
            }
            AccessPath::PullThroughCache => {
                if m.credential_arn.is_some() {
                    f.push(
                        Severity::Warning,
                        FindingCode::CredentialIgnored,
                        Some("credentialArn"),
                        format!(
                            "`{host}` is served by an ECR pull-through cache, and HealthOmics ignores credentialArn on such mappings: the credential belongs on the pull-through cache rule; remove it here"
                        ),
                        None,
                    );
                }
                if prefix_ok {
                    if prefix != ROOT_PREFIX
                        && let Err(e) = validate_ptc_prefix(prefix)
                    {
                        f.push(
                            Severity::Error,
                            FindingCode::InvalidPrefix,
                            Some("ecrRepositoryPrefix"),
                            format!(
                                "{e}; the prefix of a pull-through cache mapping must equal its cache rule's prefix, which ECR limits to 2–30 characters"
                            ),
                            None,
                        );
                    } else {
                        self.check_cache(&host, prefix, f);
                    }
                }
            }
            AccessPath::Unsupported => {
                let cached = self.known_caches.iter().any(|c| {
                    c.ecr_repository_prefix == prefix
                        && normalise_host(&c.upstream_registry_url) == host
                });
                if cached {
                    f.push(
                        Severity::Warning,
                        FindingCode::UnsupportedHostCached,
                        Some("upstreamRegistryUrl"),
                        format!(
                            "`{host}` is not an upstream HealthOmics documents, but a pull-through cache rule with prefix `{prefix}` serves it: check the first run"
                        ),
                        None,
                    );
                } else {
                    f.push(
                        Severity::Error,
                        FindingCode::UnsupportedHost,
                        Some("upstreamRegistryUrl"),
                        format!(
                            "`{host}` is neither a pull-through cache upstream nor a registry HealthOmics copies from, so nothing would fill `{prefix}/…`: copy each image into private ECR with CloneContainerToECR and map it with an image mapping, then remove this registry mapping"
                        ),
                        None,
                    );
                }
            }
            AccessPath::PrivateEcr => f.push(
                Severity::Warning,
                FindingCode::PrivateEcrUpstream,
                Some("upstreamRegistryUrl"),
                format!(
                    "`{host}` is a private ECR registry; HealthOmics pulls images on private ECR hosts as written, so this mapping probably never applies: remove it, or use image mappings"
                ),
                None,
            ),
        }
        Some(class.access_path)
    }

    /// Returns the host to classify, or `None` when the URL is too broken to say.
    fn check_host(&self, url: &str, f: &mut Finder) -> Option<String> {
        if let Some(miss) = registries::near_miss(url) {
            let shape = miss.reasons.iter().any(|r| {
                matches!(
                    r,
                    NearMissReason::Whitespace
                        | NearMissReason::Scheme
                        | NearMissReason::TrailingSlash
                        | NearMissReason::Path
                        | NearMissReason::Uppercase
                        | NearMissReason::DefaultPort
                        | NearMissReason::Wildcard
                )
            });
            let only_gar = miss
                .reasons
                .iter()
                .all(|r| *r == NearMissReason::GarMultiRegion);
            let code = if shape {
                FindingCode::NotBareHost
            } else {
                FindingCode::HostNearMiss
            };
            let severity = if only_gar {
                Severity::Warning
            } else {
                Severity::Error
            };
            f.push(
                severity,
                code,
                Some("upstreamRegistryUrl"),
                miss.message.clone(),
                miss.suggestion.clone(),
            );
            if only_gar {
                return Some(url.to_owned());
            }
            // Classify what was meant so the other rules still speak, but a wildcard means nothing.
            return miss.suggestion;
        }
        // A bare host reads back as the registry of `<host>/x`; `quay` would read as a Docker Hub path.
        let reads_back = ImageReference::parse(&format!("{url}/x"))
            .map(|r| r.registry == url)
            .unwrap_or(false);
        if !reads_back {
            f.push(
                Severity::Error,
                FindingCode::NotBareHost,
                Some("upstreamRegistryUrl"),
                format!(
                    "`{url}` is not a registry host: write the host exactly as images name it, e.g. `quay.io`, `registry-1.docker.io`, `community.wave.seqera.io`"
                ),
                None,
            );
            return None;
        }
        Some(url.to_owned())
    }

    fn check_cache(&self, host: &str, prefix: &str, f: &mut Finder) {
        match self.cache_for_prefix(prefix) {
            Some(cache) if normalise_host(&cache.upstream_registry_url) != host => f.push(
                Severity::Error,
                FindingCode::PrefixOfOtherCache,
                Some("ecrRepositoryPrefix"),
                format!(
                    "`{prefix}` is the pull-through cache prefix of `{}`, not of `{host}`, so images would be fetched from the wrong registry: use the prefix of a `{host}` cache, or create one with CreatePullThroughCacheForHealthOmics",
                    cache.upstream_registry_url
                ),
                None,
            ),
            Some(_) => {}
            None if self.caches_complete => {
                let create = match registries::classify_host(host).info() {
                    Some(info) => format!(
                        "create it with CreatePullThroughCacheForHealthOmics (upstream_registry `{}`, ecr_repository_prefix `{prefix}`)",
                        info.name
                    ),
                    None => "create it with CreatePullThroughCacheForHealthOmics".to_owned(),
                };
                f.push(
                    Severity::Warning,
                    FindingCode::NoUsableCache,
                    Some("ecrRepositoryPrefix"),
                    format!(
                        "no HealthOmics-usable pull-through cache rule has the prefix `{prefix}`, so `{host}` images would fail to pull: {create}, or fix an existing rule with ValidateHealthOmicsECRConfig"
                    ),
                    None,
                );
            }
            None => {}
        }
    }

    fn check_credential_arn(&self, arn: &str, f: &mut Finder) {
        let Some(parts) = parse_secret_arn(arn) else {
            f.push(
                Severity::Error,
                FindingCode::InvalidCredentialArn,
                Some("credentialArn"),
                format!(
                    "`{arn}` is not a Secrets Manager secret ARN: write `arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>`"
                ),
                None,
            );
            return;
        };
        if !is_region_name(self.region) {
            return;
        }
        let expected = partition_for_region(self.region).arn_partition();
        if parts.partition != expected {
            f.push(
                Severity::Error,
                FindingCode::CredentialPartition,
                Some("credentialArn"),
                format!(
                    "the secret is in partition `{}`, but runs in {} are in `{expected}` and cannot read it: use a secret in {}",
                    parts.partition, self.region, self.region
                ),
                None,
            );
        } else if parts.region != self.region {
            f.push(
                Severity::Warning,
                FindingCode::CredentialRegion,
                Some("credentialArn"),
                format!(
                    "the secret is in {}, the runs in {}; whether HealthOmics reads secrets across regions is not documented: prefer a secret in {}",
                    parts.region, self.region, self.region
                ),
                None,
            );
        }
    }

    /// Rules between mappings: duplicate hosts and prefixes that collide or nest.
    fn check_across(
        &self,
        mappings: &[&RegistryMapping],
        labels: &[(String, usize)],
        classes: &[Option<AccessPath>],
        out: &mut Vec<MapFinding>,
    ) {
        let hosts: Vec<String> = mappings
            .iter()
            .map(|m| normalise_host(&m.upstream_registry_url))
            .collect();
        for j in 0..mappings.len() {
            let (base, index) = &labels[j];
            for i in 0..j {
                let (other, _) = &labels[i];
                if hosts[i] == hosts[j] {
                    out.push(MapFinding {
                        severity: Severity::Warning,
                        code: FindingCode::DuplicateHost,
                        field: base.clone(),
                        index: Some(*index),
                        message: format!(
                            "{other} already maps `{}`; HealthOmics uses one mapping per host: remove one of them",
                            hosts[j]
                        ),
                        suggestion: None,
                    });
                    continue;
                }
                let (a, b) = (
                    mappings[i].ecr_repository_prefix.as_str(),
                    mappings[j].ecr_repository_prefix.as_str(),
                );
                let same = a == b;
                if !prefixes_overlap(a, b) {
                    continue;
                }
                let ptc = |c: Option<AccessPath>| c == Some(AccessPath::PullThroughCache);
                let copy = |c: Option<AccessPath>| c == Some(AccessPath::HealthOmicsCopy);
                let (ci, cj) = (classes[i], classes[j]);
                let (severity, code, message) = if same && ptc(ci) && ptc(cj) {
                    (
                        Severity::Error,
                        FindingCode::PrefixConflict,
                        format!(
                            "{other} (`{}`) has the same prefix `{b}`, but a pull-through cache prefix belongs to one upstream: give each host the prefix of its own cache rule",
                            hosts[i]
                        ),
                    )
                } else if (copy(ci) && ptc(cj)) || (ptc(ci) && copy(cj)) {
                    (
                        Severity::Warning,
                        FindingCode::PrefixOverlap,
                        format!(
                            "prefix `{b}` {} the prefix `{a}` of {other} (`{}`): copied images would land in a pull-through cache namespace; give the HealthOmics-copy mapping a prefix of its own",
                            if same { "equals" } else { "overlaps" },
                            hosts[i]
                        ),
                    )
                } else {
                    (
                        Severity::Warning,
                        FindingCode::PrefixOverlap,
                        format!(
                            "prefix `{b}` {} the prefix `{a}` of {other} (`{}`), so images of two registries share repositories: give each host its own prefix",
                            if same { "equals" } else { "overlaps" },
                            hosts[i]
                        ),
                    )
                };
                out.push(MapFinding {
                    severity,
                    code,
                    field: format!("{base}.ecrRepositoryPrefix"),
                    index: Some(*index),
                    message,
                    suggestion: None,
                });
            }
        }
    }

    fn check_images(
        &self,
        mappings: &[&ImageMapping],
        labels: &[(String, usize)],
        out: &mut Vec<MapFinding>,
    ) {
        let mut seen: HashMap<String, String> = HashMap::new();
        for (m, (base, index)) in mappings.iter().zip(labels) {
            let mut f = Finder {
                out,
                base,
                index: *index,
            };
            let mut key = None;
            if check_length(&mut f, "sourceImage", &m.source_image, 1, IMAGE_URI_MAX) {
                match ImageReference::parse(&m.source_image) {
                    Ok(r) => key = Some(r.with_default_tag().to_string()),
                    Err(e) => f.push(
                        Severity::Error,
                        FindingCode::InvalidImage,
                        Some("sourceImage"),
                        format!("sourceImage cannot match any image: {e}"),
                        None,
                    ),
                }
            }
            if check_length(
                &mut f,
                "destinationImage",
                &m.destination_image,
                1,
                IMAGE_URI_MAX,
            ) {
                self.check_destination(&m.destination_image, &mut f);
            }
            if let Some(key) = key {
                match seen.get(&key) {
                    Some(first) => f.push(
                        Severity::Warning,
                        FindingCode::DuplicateSource,
                        Some("sourceImage"),
                        format!(
                            "{first} already maps `{key}`; HealthOmics uses one mapping per image: remove one of them"
                        ),
                        None,
                    ),
                    None => {
                        seen.insert(key, base.clone());
                    }
                }
            }
        }
    }

    fn check_destination(&self, destination: &str, f: &mut Finder) {
        let parsed = match ImageReference::parse(destination) {
            Ok(r) => r,
            Err(e) => {
                f.push(
                    Severity::Error,
                    FindingCode::InvalidImage,
                    Some("destinationImage"),
                    format!("destinationImage is not an image reference: {e}"),
                    None,
                );
                return;
            }
        };
        let Some(host) = parsed.ecr_host() else {
            f.push(
                Severity::Error,
                FindingCode::DestinationNotPrivateEcr,
                Some("destinationImage"),
                format!(
                    "`{destination}` is not a private ECR image, and HealthOmics pulls only from private ECR: copy it with CloneContainerToECR and use the URI it reports (`<account>.dkr.ecr.{}.{}/<repository>:<tag>`)",
                    self.region,
                    partition_for_region(self.region).dns_suffix()
                ),
                None,
            );
            return;
        };
        if host.region != self.region {
            f.push(
                Severity::Error,
                FindingCode::DestinationOtherRegion,
                Some("destinationImage"),
                format!(
                    "`{destination}` is in {}, but HealthOmics pulls only from ECR in the run's region {}: replicate or copy the image to {} and point the mapping there",
                    host.region, self.region, self.region
                ),
                Some(with_host(&parsed, &host, self.region)),
            );
        } else if let Some(caller) = self.caller
            && caller != host.account_id
        {
            f.push(
                Severity::Info,
                FindingCode::CrossAccount,
                Some("destinationImage"),
                format!(
                    "the image is in account {}: its repository policy must allow omics.amazonaws.com and the workflow-owner account {caller}",
                    host.account_id
                ),
                None,
            );
        }
        if parsed.tag.is_none() && parsed.digest.is_none() {
            f.push(
                Severity::Warning,
                FindingCode::DestinationUntagged,
                Some("destinationImage"),
                "destinationImage names neither a tag nor a digest, so `latest` is pulled: add the tag or digest you copied".into(),
                None,
            );
        }
    }
}

fn with_host(r: &ImageReference, host: &EcrRegistryHost, region: &str) -> String {
    let moved = EcrRegistryHost {
        region: region.to_owned(),
        dns_suffix: partition_for_region(region).dns_suffix().to_owned(),
        ..host.clone()
    };
    let mut out = format!("{moved}/{}", r.repository);
    if let Some(t) = &r.tag {
        out.push(':');
        out.push_str(t);
    }
    if let Some(d) = &r.digest {
        out.push('@');
        out.push_str(d.as_str());
    }
    out
}

/// Equal, nested (`a` and `a/b`), or one of them `ROOT` (which holds every repository).
fn prefixes_overlap(a: &str, b: &str) -> bool {
    a == b
        || a == ROOT_PREFIX
        || b == ROOT_PREFIX
        || b.strip_prefix(a).is_some_and(|r| r.starts_with('/'))
        || a.strip_prefix(b).is_some_and(|r| r.starts_with('/'))
}

/// ECR prefix grammar: `ROOT`, or lowercase components joined by `/`, as ECR names repositories.
fn check_ecr_prefix(prefix: &str, f: &mut Finder) -> bool {
    if prefix == ROOT_PREFIX {
        return true;
    }
    let result = if prefix.len() == 1 {
        // ECR repository names need two characters; a one-character prefix is checked as `p/x`.
        validate_ecr_repository_name(&format!("{prefix}/x")).map_err(|_| ())
    } else {
        validate_ecr_repository_name(prefix).map_err(|_| ())
    };
    if result.is_ok() {
        return true;
    }
    let reason = match validate_ecr_repository_name(prefix) {
        Err(e) => e.to_string(),
        Ok(()) => format!("`{prefix}` is not a valid ECR name"),
    };
    let cleaned = prefix.trim().trim_matches('/').to_ascii_lowercase();
    let suggestion = (cleaned != prefix
        && !cleaned.is_empty()
        && validate_ecr_repository_name(&format!("{cleaned}/x")).is_ok())
    .then_some(cleaned);
    f.push(
        Severity::Error,
        FindingCode::InvalidPrefix,
        Some("ecrRepositoryPrefix"),
        format!(
            "{reason}; an ECR repository prefix is lowercase letters and digits joined by single `.`, `_`, `-` or `/`, with no leading or trailing `/`"
        ),
        suggestion,
    );
    false
}

fn check_upstream_prefix(prefix: &str, f: &mut Finder) {
    if prefix == ROOT_PREFIX {
        return;
    }
    let bad = prefix.starts_with('/')
        || prefix.ends_with('/')
        || prefix.contains("//")
        || prefix
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c)));
    if bad {
        let cleaned = prefix.trim().trim_matches('/').to_ascii_lowercase();
        f.push(
            Severity::Error,
            FindingCode::InvalidUpstreamPrefix,
            Some("upstreamRepositoryPrefix"),
            format!(
                "`{prefix}` is not an upstream repository path prefix: write the leading path components of the upstream repositories in lowercase, without leading or trailing `/` (e.g. `biocontainers`)"
            ),
            (cleaned != prefix && !cleaned.is_empty()).then_some(cleaned),
        );
    }
}

struct SecretArn<'a> {
    partition: &'a str,
    region: &'a str,
}

/// Matches `^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+`, the SecretArn shape
/// of the HealthOmics model, without a regex dependency.
fn parse_secret_arn(arn: &str) -> Option<SecretArn<'_>> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let suffix = partition.strip_prefix("aws")?;
    if !suffix.is_empty() {
        let mut parts = suffix.split('-');
        if parts.next() != Some("") {
            return None;
        }
        if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase())) {
            return None;
        }
    }
    let rest = rest.strip_prefix("secretsmanager:")?;
    let (region, rest) = rest.split_once(':')?;
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    let (account, rest) = rest.split_once(':')?;
    if !is_account_id(account) {
        return None;
    }
    let name = rest.strip_prefix("secret:")?;
    if name.is_empty() || name.contains(['\n', '\r']) {
        return None;
    }
    Some(SecretArn { partition, region })
}

// ---------------------------------------------------------------------------------------------
// Coverage
// ---------------------------------------------------------------------------------------------

/// An image reference and where a workflow uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageUse {
    /// The image as written, e.g. `quay.io/biocontainers/samtools:1.17--h00cdaf9_0`.
    pub reference: String,
    /// File it was found in, relative to the scanned folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Where in the file, e.g. `runtime.docker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl From<&str> for ImageUse {
    fn from(reference: &str) -> Self {
        Self {
            reference: reference.to_owned(),
            file: None,
            line: None,
            context: None,
        }
    }
}

impl From<String> for ImageUse {
    fn from(reference: String) -> Self {
        Self {
            reference,
            file: None,
            line: None,
            context: None,
        }
    }
}

/// One place an image is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ImageLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// What a coverage problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoverageCode {
    /// The reference does not parse.
    InvalidReference,
    /// No mapping rewrites the image and it is not in private ECR.
    NotMapped,
    /// Private ECR in another region than the runs.
    OtherRegion,
    /// The image mapping's destination is not private ECR.
    DestinationNotPrivateEcr,
    /// The image mapping's destination is in another region.
    DestinationOtherRegion,
    /// A PTC host mapped to a prefix no usable cache has.
    NoUsableCache,
    /// A copy host mapped without `credentialArn`.
    MissingCredential,
    /// A registry mapping for a host nothing fills.
    UnsupportedHost,
    /// A copy-host image pinned by tag only: frozen at the first copy.
    TagNotPinned,
    /// A copy-host image on `latest` or no tag: frozen at whatever `latest` was first.
    LatestNotPinned,
    /// The host is a multi-region Artifact Registry host (copy unconfirmed).
    UnconfirmedHost,
    /// The image mapping's destination is missing, lacks the image, or HealthOmics may not read it.
    DestinationUnusable,
}

/// A problem with one image, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CoverageProblem {
    pub severity: Severity,
    pub code: CoverageCode,
    pub message: String,
}

/// The change to the map a fix makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MapEdit {
    /// Add a mapping for a host HealthOmics copies from (fill in the secret ARN).
    AddCopyMapping,
    /// Add a mapping for a host with an existing usable pull-through cache.
    AddRegistryMapping,
    /// Add `credentialArn` to the existing mapping for this host.
    AddCredential,
}

/// What makes an uncovered image covered: a tool call, or an edit of the map.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Fix {
    /// Call this tool with these arguments.
    Tool {
        tool: String,
        arguments: Map<String, Value>,
        why: String,
    },
    /// Change the registry map.
    Edit {
        kind: MapEdit,
        mapping: RegistryMapping,
        why: String,
    },
}

/// A fix and the images it covers, listed once per distinct fix.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlannedFix {
    pub fix: Fix,
    /// Canonical references of the images it covers.
    pub images: Vec<String>,
}

/// What HealthOmics would do with one image under the map.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ImageCoverage {
    /// The image as first written.
    pub image: String,
    /// Canonical form (`registry-1.docker.io/library/ubuntu:22.04`); absent when it does not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// Every place the image is used.
    pub found_in: Vec<ImageLocation>,
    /// How HealthOmics can reach the image's registry; absent when the reference does not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<AccessPath>,
    /// The registry host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The catalog name of the registry (`quay`, `seqera-community`, …), when catalogued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Which mapping rewrites it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<RewriteOutcome>,
    /// The image HealthOmics pulls instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_image_uri: Option<String>,
    /// For PTC registry mappings: whether the prefix is a usable cache (absent when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_usable: Option<bool>,
    /// True when a run would get the image (as far as the map and caches tell).
    pub covered: bool,
    pub problems: Vec<CoverageProblem>,
    /// What to do when not covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Near misses and other remarks from applying the map, with mapping indices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapping_notes: Vec<crate::core::image_ref::MappingNote>,
}

/// Counts over the distinct images.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CoverageSummary {
    pub total: usize,
    pub covered: usize,
    pub not_covered: usize,
    pub private_ecr: usize,
    pub pull_through_cache: usize,
    pub healthomics_copy: usize,
    pub unsupported: usize,
    /// References that do not parse.
    pub invalid: usize,
    /// Images with at least one warning.
    pub with_warnings: usize,
}

/// Coverage of a workflow's images by a registry map.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CoverageReport {
    pub images: Vec<ImageCoverage>,
    pub summary: CoverageSummary,
    /// Distinct fixes, each with the images it covers, in first-needed order.
    pub fixes: Vec<PlannedFix>,
    pub all_covered: bool,
}

/// Tells, for every distinct image, whether HealthOmics could run it under `map` in `region`
/// (using `account_id` for mappings without `ecrAccountId`), and what to do when not.
/// `usable_caches` (when discovery ran) decides whether a PTC mapping's prefix really has a cache.
pub fn coverage(
    images: &[ImageUse],
    map: &ContainerRegistryMap,
    account_id: &str,
    region: &str,
    usable_caches: Option<&[CacheMapping]>,
) -> CoverageReport {
    // Distinct images, keeping first-seen order and every location.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, (String, Vec<ImageLocation>)> = HashMap::new();
    for image in images {
        let key = ImageReference::parse(&image.reference)
            .map(|r| r.to_string())
            .unwrap_or_else(|_| image.reference.trim().to_owned());
        let location = ImageLocation {
            file: image.file.clone(),
            line: image.line,
            context: image.context.clone(),
        };
        // A reference given without a place (container_images, a workflow's images) has no
        // location to list: an empty `{}` row would only cost the reader.
        let known =
            location.file.is_some() || location.line.is_some() || location.context.is_some();
        match groups.get_mut(&key) {
            Some((_, locations)) => {
                if known && !locations.contains(&location) {
                    locations.push(location);
                }
            }
            None => {
                order.push(key.clone());
                let locations = if known { vec![location] } else { Vec::new() };
                groups.insert(key, (image.reference.trim().to_owned(), locations));
            }
        }
    }

    let mut planner = PrefixPlanner::new(map, usable_caches);
    let mut report = CoverageReport {
        images: Vec::with_capacity(order.len()),
        summary: CoverageSummary::default(),
        fixes: Vec::new(),
        all_covered: true,
    };
    for key in order {
        let Some((written, found_in)) = groups.remove(&key) else {
            continue;
        };
        let item = cover_one(
            written,
            found_in,
            map,
            account_id,
            region,
            usable_caches,
            &mut planner,
        );
        let s = &mut report.summary;
        s.total += 1;
        if item.covered {
            s.covered += 1;
        } else {
            s.not_covered += 1;
        }
        match item.class {
            Some(AccessPath::PrivateEcr) => s.private_ecr += 1,
            Some(AccessPath::PullThroughCache) => s.pull_through_cache += 1,
            Some(AccessPath::HealthOmicsCopy) => s.healthomics_copy += 1,
            Some(AccessPath::Unsupported) => s.unsupported += 1,
            None => s.invalid += 1,
        }
        if item
            .problems
            .iter()
            .any(|p| p.severity == Severity::Warning)
        {
            s.with_warnings += 1;
        }
        if let Some(fix) = &item.fix {
            let name = item.canonical.clone().unwrap_or_else(|| item.image.clone());
            match report.fixes.iter_mut().find(|p| p.fix == *fix) {
                Some(planned) => planned.images.push(name),
                None => report.fixes.push(PlannedFix {
                    fix: fix.clone(),
                    images: vec![name],
                }),
            }
        }
        report.images.push(item);
    }
    report.all_covered = report.summary.not_covered == 0;
    report
}

/// Picks prefixes for suggested caches and copy mappings that no other host uses yet.
struct PrefixPlanner {
    /// prefix → host that owns it
    taken: HashMap<String, String>,
}

impl PrefixPlanner {
    fn new(map: &ContainerRegistryMap, caches: Option<&[CacheMapping]>) -> Self {
        let mut taken = HashMap::new();
        for m in &map.registry_mappings {
            taken.insert(
                m.ecr_repository_prefix.clone(),
                normalise_host(&m.upstream_registry_url),
            );
        }
        for c in caches.unwrap_or_default() {
            taken
                .entry(c.ecr_repository_prefix.clone())
                .or_insert_with(|| normalise_host(&c.upstream_registry_url));
        }
        Self { taken }
    }

    fn prefix_for(&mut self, host: &str, wanted: &str) -> String {
        let mut candidate = wanted.to_owned();
        let mut n = 2;
        while let Some(owner) = self.taken.get(&candidate) {
            if owner == host {
                return candidate;
            }
            candidate = format!("{wanted}-{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone(), host.to_owned());
        candidate
    }
}

fn problem(severity: Severity, code: CoverageCode, message: String) -> CoverageProblem {
    CoverageProblem {
        severity,
        code,
        message,
    }
}

fn tool_fix(tool: &str, arguments: Value, why: String) -> Fix {
    Fix::Tool {
        tool: tool.to_owned(),
        arguments: match arguments {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        why,
    }
}

fn clone_fix(source: &str, why: String) -> Fix {
    tool_fix(tool_names::CLONE, json!({ "source_image": source }), why)
}

#[allow(clippy::too_many_arguments)]
fn cover_one(
    written: String,
    found_in: Vec<ImageLocation>,
    map: &ContainerRegistryMap,
    account_id: &str,
    region: &str,
    usable_caches: Option<&[CacheMapping]>,
    planner: &mut PrefixPlanner,
) -> ImageCoverage {
    let mut item = ImageCoverage {
        image: written,
        canonical: None,
        found_in,
        class: None,
        host: None,
        registry: None,
        matched: None,
        ecr_image_uri: None,
        cache_usable: None,
        covered: false,
        problems: Vec::new(),
        fix: None,
        mapping_notes: Vec::new(),
    };
    let reference = match ImageReference::parse(&item.image) {
        Ok(r) => r,
        Err(e) => {
            item.problems.push(problem(
                Severity::Error,
                CoverageCode::InvalidReference,
                format!("not an image reference HealthOmics can pull: {e}"),
            ));
            return item;
        }
    };
    let canonical = reference.to_string();
    let class = registries::classify_host(&reference.registry);
    let info = class.info();
    item.canonical = Some(canonical.clone());
    item.class = Some(class.access_path);
    item.host = Some(reference.registry.clone());
    item.registry = info.map(|i| i.name.to_owned());

    let rewrite = apply_registry_map(&reference, map, account_id, region);
    item.mapping_notes = rewrite
        .notes
        .iter()
        .filter(|n| {
            !matches!(
                n.reason,
                MappingNoteReason::MissingCredential
                    | MappingNoteReason::UnsupportedUpstream
                    | MappingNoteReason::DestinationNotPrivateEcr
            )
        })
        .cloned()
        .collect();
    item.ecr_image_uri = rewrite.ecr_image_uri.clone();
    item.matched = Some(rewrite.outcome.clone());
    let host = normalise_host(&reference.registry);

    match &rewrite.outcome {
        RewriteOutcome::ImageMapping { index } => {
            let destination = rewrite.ecr_image_uri.clone().unwrap_or_default();
            match ImageReference::parse(&destination)
                .ok()
                .and_then(|d| d.ecr_host())
            {
                None => {
                    item.problems.push(problem(
                        Severity::Error,
                        CoverageCode::DestinationNotPrivateEcr,
                        format!(
                            "imageMappings[{index}] sends it to `{destination}`, which is not private ECR: point the mapping at a private ECR copy"
                        ),
                    ));
                    item.fix = Some(clone_fix(
                        &canonical,
                        format!(
                            "copy `{canonical}` into private ECR, then set imageMappings[{index}].destinationImage to the URI it reports"
                        ),
                    ));
                }
                Some(h) if h.region != region => {
                    item.problems.push(problem(
                        Severity::Error,
                        CoverageCode::DestinationOtherRegion,
                        format!(
                            "imageMappings[{index}] sends it to ECR in {}, but runs in {region} pull only from {region}: copy it to {region} and update the mapping",
                            h.region
                        ),
                    ));
                    item.fix = Some(clone_fix(
                        &canonical,
                        format!(
                            "copy `{canonical}` into private ECR in {region}, then set imageMappings[{index}].destinationImage to the URI it reports"
                        ),
                    ));
                }
                Some(_) => item.covered = true,
            }
        }
        RewriteOutcome::RegistryMapping { index, .. } => {
            let mapping = &map.registry_mappings[*index];
            let prefix = mapping.ecr_repository_prefix.as_str();
            match class.access_path {
                AccessPath::PullThroughCache => match usable_caches {
                    None => item.covered = true,
                    Some(caches) => {
                        let usable = caches.iter().any(|c| {
                            c.ecr_repository_prefix == prefix
                                && normalise_host(&c.upstream_registry_url) == host
                        });
                        item.cache_usable = Some(usable);
                        item.covered = usable;
                        if !usable {
                            item.problems.push(problem(
                                Severity::Error,
                                CoverageCode::NoUsableCache,
                                format!(
                                    "registryMappings[{index}] sends it to prefix `{prefix}`, but no HealthOmics-usable pull-through cache for `{host}` has that prefix"
                                ),
                            ));
                            item.fix = Some(create_cache_fix(
                                &host,
                                info.map(|i| i.name),
                                prefix,
                                info.is_some_and(|i| i.credentials_required),
                            ));
                        }
                    }
                },
                AccessPath::HealthOmicsCopy => {
                    if mapping.credential_arn.is_some() {
                        item.covered = true;
                    } else {
                        item.problems.push(problem(
                            Severity::Error,
                            CoverageCode::MissingCredential,
                            format!(
                                "registryMappings[{index}] maps `{host}` without credentialArn, and HealthOmics copies from it only with one"
                            ),
                        ));
                        item.fix = Some(Fix::Edit {
                            kind: MapEdit::AddCredential,
                            mapping: RegistryMapping {
                                credential_arn: Some(SECRET_ARN_PLACEHOLDER.into()),
                                ..mapping.clone()
                            },
                            why: format!(
                                "store the `{host}` credentials in Secrets Manager, let the run role read the secret, and put its ARN in registryMappings[{index}].credentialArn (a new workflow version is needed to change the map)"
                            ),
                        });
                    }
                }
                AccessPath::Unsupported => {
                    let cached = usable_caches.unwrap_or_default().iter().any(|c| {
                        c.ecr_repository_prefix == prefix
                            && normalise_host(&c.upstream_registry_url) == host
                    });
                    if cached {
                        item.covered = true;
                    } else {
                        item.problems.push(problem(
                            Severity::Error,
                            CoverageCode::UnsupportedHost,
                            format!(
                                "registryMappings[{index}] sends it to `{}`, but nothing fills that repository: `{host}` is neither a pull-through cache upstream nor a registry HealthOmics copies from",
                                rewrite.ecr_image_uri.as_deref().unwrap_or(prefix)
                            ),
                        ));
                        item.fix = Some(clone_fix(
                            &canonical,
                            "copy the image into private ECR, then map it with an image mapping to the URI it reports".into(),
                        ));
                    }
                }
                AccessPath::PrivateEcr => item.covered = true,
            }
        }
        RewriteOutcome::PrivateEcr => match reference.ecr_host() {
            Some(h) if h.region != region => {
                item.problems.push(problem(
                    Severity::Error,
                    CoverageCode::OtherRegion,
                    format!(
                        "the image is in ECR in {}, but HealthOmics pulls only from ECR in the run's region {region}: replicate or copy it to {region} and use an image mapping",
                        h.region
                    ),
                ));
                item.fix = Some(clone_fix(
                    &canonical,
                    format!(
                        "copy it into private ECR in {region}, then add an image mapping from `{canonical}` to the URI it reports"
                    ),
                ));
            }
            _ => item.covered = true,
        },
        RewriteOutcome::Unmapped => {
            let near = item
                .mapping_notes
                .iter()
                .find(|n| n.reason == MappingNoteReason::HostNearMiss)
                .map(|n| format!(" ({})", n.message))
                .unwrap_or_default();
            item.problems.push(problem(
                Severity::Error,
                CoverageCode::NotMapped,
                format!(
                    "no mapping covers `{host}`{near}, and HealthOmics pulls only from private ECR"
                ),
            ));
            item.fix = Some(unmapped_fix(
                &reference,
                &canonical,
                &host,
                &class,
                usable_caches,
                planner,
            ));
        }
    }

    if class.access_path == AccessPath::HealthOmicsCopy {
        if let Some(note) = &class.note {
            item.problems.push(problem(
                Severity::Warning,
                CoverageCode::UnconfirmedHost,
                note.clone(),
            ));
        }
        if reference.digest.is_none() {
            match reference.tag.as_deref() {
                None | Some("latest") => item.problems.push(problem(
                    Severity::Warning,
                    CoverageCode::LatestNotPinned,
                    format!(
                        "`{canonical}` uses {}: HealthOmics copies it once and never refreshes the copy, so every later run gets whatever `latest` was at the first run: pin a version and a digest (`…:<version>@sha256:…`)",
                        if reference.tag.is_none() { "no tag (so `latest`)" } else { "`latest`" }
                    ),
                )),
                Some(tag) => item.problems.push(problem(
                    Severity::Warning,
                    CoverageCode::TagNotPinned,
                    format!(
                        "`{canonical}` is pinned by the tag `{tag}` only: HealthOmics copies it once and never refreshes it, so a moved tag is not followed: add the digest (`:{tag}@sha256:…`)"
                    ),
                )),
            }
        }
    }
    item
}

fn create_cache_fix(host: &str, name: Option<&str>, prefix: &str, credentials: bool) -> Fix {
    let mut arguments = json!({
        "upstream_registry": name.unwrap_or(host),
        "ecr_repository_prefix": prefix,
    });
    if credentials && let Value::Object(m) = &mut arguments {
        m.insert(
            "credential_arn".into(),
            Value::String(format!(
                "<ARN of an {}… secret>",
                registries::PTC_SECRET_NAME_PREFIX
            )),
        );
    }
    let mut why = format!(
        "create a HealthOmics-ready pull-through cache for `{host}` with prefix `{prefix}`"
    );
    if credentials {
        why.push_str(&format!(
            "; ECR needs a Secrets Manager credential named `{}…` for this upstream",
            registries::PTC_SECRET_NAME_PREFIX
        ));
    }
    why.push_str(&format!(
        ", then add the registry mapping `{host}` → `{prefix}` (CreateContainerRegistryMap picks it up)"
    ));
    tool_fix(tool_names::CREATE_PTC, arguments, why)
}

fn unmapped_fix(
    reference: &ImageReference,
    canonical: &str,
    host: &str,
    class: &registries::HostClass,
    usable_caches: Option<&[CacheMapping]>,
    planner: &mut PrefixPlanner,
) -> Fix {
    let info = class.info();
    match class.access_path {
        AccessPath::PullThroughCache => {
            let existing = usable_caches.unwrap_or_default().iter().find(|c| {
                normalise_host(&c.upstream_registry_url) == host
                    && ptc_repository_name(
                        &c.ecr_repository_prefix,
                        c.upstream_repository_prefix.as_deref(),
                        reference,
                    )
                    .is_ok()
            });
            if let Some(cache) = existing {
                return Fix::Edit {
                    kind: MapEdit::AddRegistryMapping,
                    mapping: RegistryMapping {
                        upstream_registry_url: class.upstream_registry_url.clone(),
                        ..cache.to_registry_mapping()
                    },
                    why: format!(
                        "a usable pull-through cache for `{host}` exists with prefix `{}`: add this registry mapping",
                        cache.ecr_repository_prefix
                    ),
                };
            }
            let prefix = planner.prefix_for(host, &registries::default_ecr_prefix(host));
            create_cache_fix(
                &class.upstream_registry_url,
                info.map(|i| i.name),
                &prefix,
                info.is_some_and(|i| i.credentials_required),
            )
        }
        AccessPath::HealthOmicsCopy => {
            let prefix = planner.prefix_for(host, &registries::default_ecr_prefix(host));
            Fix::Edit {
                kind: MapEdit::AddCopyMapping,
                mapping: RegistryMapping {
                    upstream_registry_url: class.upstream_registry_url.clone(),
                    ecr_repository_prefix: prefix,
                    upstream_repository_prefix: None,
                    ecr_account_id: None,
                    credential_arn: Some(SECRET_ARN_PLACEHOLDER.into()),
                },
                why: format!(
                    "HealthOmics copies `{host}` images into private ECR itself: store the registry credentials in Secrets Manager, allow the run role secretsmanager:GetSecretValue on the secret, and add this mapping with the secret's ARN"
                ),
            }
        }
        AccessPath::Unsupported | AccessPath::PrivateEcr => clone_fix(
            canonical,
            format!(
                "`{host}` cannot be pulled through a cache or copied by HealthOmics: copy the image into private ECR, then add an image mapping from `{canonical}` to the URI it reports"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (severity, code, field) of a finding, what the table tests compare.
    type Key = (Severity, FindingCode, String);

    const ACCT: &str = "123456789012";
    const OTHER: &str = "210987654321";
    const REGION: &str = "us-east-1";
    const SHA: &str = "sha256:6a4a087328f6df19a423c0fe00cabcfc6d5f237a2c0e435fd90109fb65dacd02";
    const SECRET: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:omics-registry/seqera-EXAMPLE";

    fn rm(url: &str, prefix: &str) -> RegistryMapping {
        RegistryMapping {
            upstream_registry_url: url.into(),
            ecr_repository_prefix: prefix.into(),
            upstream_repository_prefix: None,
            ecr_account_id: None,
            credential_arn: None,
        }
    }

    fn with_cred(mut m: RegistryMapping, arn: &str) -> RegistryMapping {
        m.credential_arn = Some(arn.into());
        m
    }

    fn im(source: &str, destination: &str) -> ImageMapping {
        ImageMapping {
            source_image: source.into(),
            destination_image: destination.into(),
        }
    }

    fn cache(url: &str, prefix: &str) -> CacheMapping {
        CacheMapping {
            upstream_registry_url: url.into(),
            ecr_repository_prefix: prefix.into(),
            upstream_repository_prefix: None,
        }
    }

    fn ctx() -> MapContext {
        MapContext {
            caller_account_id: Some(ACCT.into()),
            region: REGION.into(),
            usable_caches: None,
        }
    }

    fn inputs() -> MapInputs {
        MapInputs {
            caller_account_id: Some(ACCT.into()),
            ecr_region: REGION.into(),
            ..MapInputs::default()
        }
    }

    fn ecr(repo: &str) -> String {
        format!("{ACCT}.dkr.ecr.{REGION}.amazonaws.com/{repo}")
    }

    fn built(i: &MapInputs) -> BuiltMap {
        match build_map(i) {
            Ok(b) => b,
            Err(e) => panic!("build_map failed: {e}"),
        }
    }

    fn failed(i: &MapInputs) -> MapError {
        match build_map(i) {
            Ok(b) => panic!("build_map should fail but built {}", b.json),
            Err(e) => e,
        }
    }

    /// (severity, code, field) of every finding that is not Info.
    fn keyed(findings: &[MapFinding]) -> Vec<Key> {
        findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| (f.severity, f.code, f.field.clone()))
            .collect()
    }

    fn one_mapping(m: RegistryMapping, c: &MapContext) -> Vec<Key> {
        let map = ContainerRegistryMap {
            registry_mappings: vec![m],
            image_mappings: vec![],
        };
        keyed(&check_map(&map, c))
    }

    // ----- building -----

    #[test]
    fn discovered_caches_become_mappings_in_api_shape() {
        let i = MapInputs {
            discovered_caches: vec![
                cache("registry-1.docker.io", "docker-hub"),
                cache("quay.io", "quay"),
                CacheMapping {
                    upstream_repository_prefix: Some("lts".into()),
                    ..cache("public.ecr.aws", "ecr-public")
                },
            ],
            usable_caches: Some(vec![]),
            ..inputs()
        };
        let b = built(&i);
        assert_eq!(b.discovered_caches_used, 3);
        assert_eq!(b.ecr_account_id_applied, None);
        let value: Value = serde_json::from_str(&b.json).unwrap_or_default();
        assert_eq!(
            value,
            json!({
                "registryMappings": [
                    {"upstreamRegistryUrl": "registry-1.docker.io", "ecrRepositoryPrefix": "docker-hub"},
                    {"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay"},
                    {"upstreamRegistryUrl": "public.ecr.aws", "ecrRepositoryPrefix": "ecr-public", "upstreamRepositoryPrefix": "lts"}
                ],
                "imageMappings": []
            })
        );
        assert!(
            b.json.contains("\n    \"registryMappings\""),
            "4-space indent: {}",
            b.json
        );
        assert_eq!(keyed(&b.findings), vec![]);
    }

    #[test]
    fn empty_map_keeps_both_lists_and_warns() {
        let b = built(&inputs());
        assert_eq!(
            b.json.replace([' ', '\n'], ""),
            r#"{"registryMappings":[],"imageMappings":[]}"#
        );
        assert_eq!(
            keyed(&b.findings),
            vec![(
                Severity::Warning,
                FindingCode::EmptyMap,
                "container_registry_map".into()
            )]
        );
    }

    #[test]
    fn user_mapping_replaces_discovered_and_keeps_every_field() {
        let user = RegistryMapping {
            upstream_repository_prefix: Some("biocontainers".into()),
            ecr_account_id: Some(ACCT.into()),
            ..rm("quay.io", "my-quay")
        };
        let copy = with_cred(rm("community.wave.seqera.io", "wave-seqera"), SECRET);
        let i = MapInputs {
            discovered_caches: vec![
                cache("Quay.io", "quay"),
                cache("registry-1.docker.io", "docker-hub"),
            ],
            additional_registry_mappings: vec![user.clone(), copy.clone()],
            usable_caches: Some(vec![cache("quay.io", "my-quay")]),
            ..inputs()
        };
        let b = built(&i);
        assert_eq!(
            b.map.registry_mappings,
            vec![rm("registry-1.docker.io", "docker-hub"), user, copy]
        );
        assert_eq!(
            b.replaced,
            vec![ReplacedMapping {
                discovered: cache("Quay.io", "quay"),
                replaced_by: 0
            }]
        );
        let replaced = b
            .findings
            .iter()
            .find(|f| f.code == FindingCode::ReplacedDiscovered);
        assert_eq!(
            replaced.map(|f| f.field.as_str()),
            Some("additional_registry_mappings[0]")
        );
        assert_eq!(b.discovered_caches_used, 1);
        let value: Value = serde_json::from_str(&b.json).unwrap_or_default();
        assert_eq!(value["registryMappings"][2]["credentialArn"], SECRET);
        assert_eq!(
            value["registryMappings"][1]["upstreamRepositoryPrefix"],
            "biocontainers"
        );
    }

    #[test]
    fn docker_hub_aliases_count_as_one_host_when_merging() {
        // The user's `docker.io` replaces the discovered Hub mapping, and is then refused with the fix.
        let i = MapInputs {
            discovered_caches: vec![cache("registry-1.docker.io", "docker-hub")],
            additional_registry_mappings: vec![rm("docker.io", "docker-hub")],
            ..inputs()
        };
        let e = failed(&i);
        assert_eq!(e.map.registry_mappings, vec![rm("docker.io", "docker-hub")]);
        let err = e.errors().next().cloned();
        assert_eq!(
            err.as_ref().map(|f| f.code),
            Some(FindingCode::HostNearMiss)
        );
        assert_eq!(
            err.as_ref().map(|f| f.field.as_str()),
            Some("additional_registry_mappings[0].upstreamRegistryUrl")
        );
        assert_eq!(
            err.and_then(|f| f.suggestion).as_deref(),
            Some("registry-1.docker.io")
        );
        assert!(e.to_string().contains("registry-1.docker.io"), "{e}");
    }

    #[test]
    fn later_user_mapping_wins_over_earlier_one() {
        let i = MapInputs {
            additional_registry_mappings: vec![
                rm("quay.io", "quay-a"),
                rm("quay.io/", "quay-b"),
                rm("quay.io", "quay-c"),
            ],
            ..inputs()
        };
        let b = built(&i);
        assert_eq!(b.map.registry_mappings, vec![rm("quay.io", "quay-c")]);
        assert_eq!(
            keyed(&b.findings),
            vec![
                (
                    Severity::Warning,
                    FindingCode::DuplicateHost,
                    "additional_registry_mappings[0]".into()
                ),
                (
                    Severity::Warning,
                    FindingCode::DuplicateHost,
                    "additional_registry_mappings[1]".into()
                ),
            ]
        );
    }

    #[test]
    fn duplicate_discovered_caches_keep_the_first() {
        let i = MapInputs {
            discovered_caches: vec![cache("quay.io", "quay"), cache("quay.io", "quay-2")],
            ..inputs()
        };
        let b = built(&i);
        assert_eq!(b.map.registry_mappings, vec![rm("quay.io", "quay")]);
        assert!(
            b.findings
                .iter()
                .any(|f| f.code == FindingCode::DuplicateCache
                    && f.field == "discovered_caches[1]"
                    && f.message.contains("quay-2"))
        );
    }

    #[test]
    fn ecr_account_id_is_written_when_it_must_be() {
        // (caller, target, pin) → account written on mappings without their own
        type AccountRow<'a> = (Option<&'a str>, Option<&'a str>, bool, Option<&'a str>);
        let rows: &[AccountRow] = &[
            (Some(ACCT), None, false, None),
            (Some(ACCT), Some(ACCT), false, None),
            (Some(ACCT), Some(ACCT), true, Some(ACCT)),
            (Some(ACCT), Some(OTHER), false, Some(OTHER)),
            (None, Some(ACCT), false, Some(ACCT)),
            (Some(ACCT), Some(" "), true, None),
        ];
        for (caller, target, pin, expected) in rows {
            let own = RegistryMapping {
                ecr_account_id: Some("555555555555".into()),
                ..rm("registry-1.docker.io", "docker-hub")
            };
            let i = MapInputs {
                discovered_caches: vec![cache("quay.io", "quay")],
                additional_registry_mappings: vec![own.clone()],
                caller_account_id: caller.map(Into::into),
                ecr_account_id: target.map(Into::into),
                pin_ecr_account_id: *pin,
                ..inputs()
            };
            let b = built(&i);
            let row = format!("{caller:?} {target:?} {pin}");
            assert_eq!(b.ecr_account_id_applied.as_deref(), *expected, "{row}");
            assert_eq!(
                b.map.registry_mappings[0].ecr_account_id.as_deref(),
                *expected,
                "{row}"
            );
            assert_eq!(
                b.map.registry_mappings[1], own,
                "a mapping's own account is kept: {row}"
            );
            let cross = b.findings.iter().any(|f| {
                f.code == FindingCode::CrossAccount
                    && f.field == "ecr_account_id"
                    && f.severity == Severity::Warning
            });
            assert_eq!(cross, *target == Some(OTHER), "{row}");
        }
        let e = failed(&MapInputs {
            ecr_account_id: Some("12345".into()),
            ..inputs()
        });
        assert_eq!(
            keyed(&e.findings)[0],
            (
                Severity::Error,
                FindingCode::InvalidAccountId,
                "ecr_account_id".into()
            )
        );
    }

    #[test]
    fn image_mappings_are_deduplicated_by_normalised_source() {
        let i = MapInputs {
            image_mappings: vec![
                im("ubuntu", &ecr("a/ubuntu:1")),
                im(
                    "quay.io/biocontainers/bwa:0.7.17",
                    &ecr("quay/biocontainers/bwa:0.7.17"),
                ),
                im("docker.io/library/ubuntu:latest", &ecr("b/ubuntu:1")),
                im(
                    "quay.io/biocontainers/bwa:0.7.17",
                    &ecr("quay/biocontainers/bwa:0.7.17"),
                ),
            ],
            ..inputs()
        };
        let b = built(&i);
        assert_eq!(
            b.map.image_mappings,
            vec![
                im("docker.io/library/ubuntu:latest", &ecr("b/ubuntu:1")),
                im(
                    "quay.io/biocontainers/bwa:0.7.17",
                    &ecr("quay/biocontainers/bwa:0.7.17")
                ),
            ]
        );
        let dups: Vec<(Severity, String)> = b
            .findings
            .iter()
            .filter(|f| f.code == FindingCode::DuplicateSource)
            .map(|f| (f.severity, f.field.clone()))
            .collect();
        assert_eq!(
            dups,
            vec![
                (Severity::Warning, "image_mappings[0]".into()),
                (Severity::Info, "image_mappings[1]".into()),
            ]
        );
    }

    #[test]
    fn build_errors_name_the_input_field() {
        let i = MapInputs {
            discovered_caches: vec![cache("quay.io", "quay")],
            additional_registry_mappings: vec![rm("nvcr.io", "ngc")],
            image_mappings: vec![im("ubuntu:22.04", "ubuntu:22.04")],
            ecr_region: "us-east-1".into(),
            ..inputs()
        };
        let e = failed(&i);
        let errors: Vec<String> = e.errors().map(|f| f.field.clone()).collect();
        assert_eq!(
            errors,
            vec![
                "additional_registry_mappings[0].credentialArn".to_owned(),
                "image_mappings[0].destinationImage".to_owned(),
            ]
        );
        let text = e.to_string();
        assert!(
            text.starts_with("the container registry map has 2 errors"),
            "{text}"
        );
        assert!(text.contains("Secrets Manager"), "{text}");
        let e = failed(&MapInputs {
            ecr_region: "virginia".into(),
            ..inputs()
        });
        assert_eq!(
            e.errors().next().map(|f| f.code),
            Some(FindingCode::InvalidRegion)
        );
    }

    // ----- checking: one rule per row -----

    #[test]
    fn registry_mapping_rules() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let long_host = format!("{}.example.com", "a".repeat(750));
        let ok: Vec<Key> = vec![];
        let f = |s: Severity, c: FindingCode, key: &str| {
            vec![(s, c, format!("registryMappings[0].{key}"))]
        };
        let rows: Vec<(RegistryMapping, Vec<Key>)> = vec![
            // Clean mappings of each class.
            (rm("quay.io", "quay"), ok.clone()),
            (rm("registry-1.docker.io", "docker-hub"), ok.clone()),
            (rm("myreg.azurecr.io", "azure"), ok.clone()),
            (rm("quay.io", "ROOT"), ok.clone()),
            (
                with_cred(rm("community.wave.seqera.io", "wave-seqera"), SECRET),
                ok.clone(),
            ),
            (with_cred(rm("wave.seqera.io", "w"), SECRET), ok.clone()),
            (with_cred(rm("nvcr.io", "ngc"), SECRET), ok.clone()),
            (with_cred(rm("gcr.io", "gcr"), SECRET), ok.clone()),
            (
                with_cred(rm("us-central1-docker.pkg.dev", "gar/us-central1"), SECRET),
                ok.clone(),
            ),
            // upstreamRegistryUrl
            (rm("", "quay"), f(E, C::Length, "upstreamRegistryUrl")),
            (rm(&long_host, "x1"), f(E, C::Length, "upstreamRegistryUrl")),
            (
                rm("https://quay.io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay.io/", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay.io/biocontainers", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("Quay.io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm(" quay.io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay.io:443", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("*.azurecr.io", "azure"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("docker.io", "docker-hub"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                rm("gitlab.com", "gitlab"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                rm("k8s.gcr.io", "kubernetes"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                with_cred(rm("us-docker.pkg.dev", "gar-us"), SECRET),
                f(W, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            // Near miss of a copy host: the fixed host's rules still apply.
            (
                rm("https://community.wave.seqera.io/", "wave"),
                [
                    f(E, C::NotBareHost, "upstreamRegistryUrl"),
                    f(E, C::MissingCredential, "credentialArn"),
                ]
                .concat(),
            ),
            // Classes
            (
                rm("community.wave.seqera.io", "wave"),
                f(E, C::MissingCredential, "credentialArn"),
            ),
            (
                rm("us-central1-docker.pkg.dev", "gar"),
                f(E, C::MissingCredential, "credentialArn"),
            ),
            (
                with_cred(rm("quay.io", "quay"), SECRET),
                f(W, C::CredentialIgnored, "credentialArn"),
            ),
            (
                rm("mcr.microsoft.com", "mcr"),
                f(E, C::UnsupportedHost, "upstreamRegistryUrl"),
            ),
            (
                rm("harbor.example.org", "harbor"),
                f(E, C::UnsupportedHost, "upstreamRegistryUrl"),
            ),
            (
                rm("us.gcr.io", "gcr"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                rm("210987654321.dkr.ecr.eu-west-1.amazonaws.com", "mirror"),
                f(W, C::PrivateEcrUpstream, "upstreamRegistryUrl"),
            ),
            // ecrRepositoryPrefix
            (rm("quay.io", ""), f(E, C::Length, "ecrRepositoryPrefix")),
            (
                with_cred(rm("nvcr.io", &"a".repeat(257)), SECRET),
                f(E, C::Length, "ecrRepositoryPrefix"),
            ),
            (
                with_cred(rm("nvcr.io", &"a".repeat(256)), SECRET),
                ok.clone(),
            ),
            (with_cred(rm("nvcr.io", "n"), SECRET), ok.clone()),
            (
                rm("quay.io", "Quay"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "quay/"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "/quay"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "qu__ay"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", &"q".repeat(31)),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "q"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            // upstreamRepositoryPrefix
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("b".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::Length, "upstreamRepositoryPrefix"),
            ),
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("b".repeat(31)),
                    ..rm("quay.io", "quay")
                },
                f(E, C::Length, "upstreamRepositoryPrefix"),
            ),
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("/bio".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::InvalidUpstreamPrefix, "upstreamRepositoryPrefix"),
            ),
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("biocontainers".into()),
                    ..rm("quay.io", "quay")
                },
                ok.clone(),
            ),
            // ecrAccountId
            (
                RegistryMapping {
                    ecr_account_id: Some("12345".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::InvalidAccountId, "ecrAccountId"),
            ),
            (
                RegistryMapping {
                    ecr_account_id: Some("12345678901a".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::InvalidAccountId, "ecrAccountId"),
            ),
            // credentialArn
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws:secretsmanager:us-east-1:123:secret:x",
                ),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(rm("nvcr.io", "ngc"), "arn:aws:s3:::my-bucket/credentials"),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
                ),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:AWS:secretsmanager:us-east-1:123456789012:secret:x",
                ),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(rm("nvcr.io", "ngc"), "arn:aws:secret"),
                f(E, C::Length, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    &format!("{SECRET}{}", "x".repeat(2048)),
                ),
                f(E, C::Length, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:ngc",
                ),
                f(E, C::CredentialPartition, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ngc",
                ),
                f(W, C::CredentialRegion, "credentialArn"),
            ),
        ];
        for (mapping, expected) in rows {
            let got = one_mapping(mapping.clone(), &ctx());
            assert_eq!(got, expected, "{mapping:?}");
        }
        // Other partitions: the ARN and the region agree.
        let gov = MapContext {
            region: "us-gov-west-1".into(),
            ..ctx()
        };
        let arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:ngc-AbCdEf";
        assert_eq!(
            one_mapping(with_cred(rm("nvcr.io", "ngc"), arn), &gov),
            vec![]
        );
    }

    #[test]
    fn findings_say_the_fix() {
        let map = ContainerRegistryMap {
            registry_mappings: vec![
                rm("wave.seqera.io", "wave"),
                rm("mcr.microsoft.com", "mcr"),
                rm("docker.io", "docker-hub"),
                with_cred(rm("quay.io", "quay"), SECRET),
            ],
            image_mappings: vec![],
        };
        let findings = check_map(&map, &ctx());
        let message = |code| {
            findings
                .iter()
                .find(|f| f.code == code)
                .map(|f| f.message.clone())
                .unwrap_or_default()
        };
        assert!(message(FindingCode::MissingCredential).contains("secretsmanager:GetSecretValue"));
        let unsupported = message(FindingCode::UnsupportedHost);
        assert!(
            unsupported.contains("CloneContainerToECR") && unsupported.contains("image mapping"),
            "{unsupported}"
        );
        assert!(message(FindingCode::HostNearMiss).contains("write `registry-1.docker.io`"));
        assert!(message(FindingCode::CredentialIgnored).contains("ignores credentialArn"));
        let missing = findings
            .iter()
            .find(|f| f.code == FindingCode::MissingCredential);
        assert_eq!(missing.and_then(|f| f.index), Some(0));
        assert_eq!(
            missing.and_then(|f| f.suggestion.clone()).as_deref(),
            Some(SECRET_ARN_PLACEHOLDER)
        );
    }

    #[test]
    fn rules_between_mappings() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let rows: Vec<(Vec<RegistryMapping>, Vec<Key>)> = vec![
            (
                vec![rm("quay.io", "quay"), rm("quay.io", "quay-2")],
                vec![(W, C::DuplicateHost, "registryMappings[1]".into())],
            ),
            (
                vec![rm("quay.io", "shared"), rm("ghcr.io", "shared")],
                vec![(
                    E,
                    C::PrefixConflict,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![
                    rm("quay.io", "quay"),
                    with_cred(rm("community.wave.seqera.io", "quay"), SECRET),
                ],
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![
                    with_cred(rm("nvcr.io", "copies/ngc"), SECRET),
                    with_cred(rm("gcr.io", "copies"), SECRET),
                ],
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![rm("quay.io", "ROOT"), rm("ghcr.io", "github")],
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![rm("quay.io", "quay"), rm("ghcr.io", "quay-mirror")],
                vec![],
            ),
        ];
        for (mappings, expected) in rows {
            let map = ContainerRegistryMap {
                registry_mappings: mappings.clone(),
                image_mappings: vec![],
            };
            assert_eq!(keyed(&check_map(&map, &ctx())), expected, "{mappings:?}");
        }
    }

    #[test]
    fn rules_that_need_the_usable_caches() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let c = MapContext {
            usable_caches: Some(vec![
                cache("quay.io", "quay"),
                cache("cgr.dev", "chainguard"),
            ]),
            ..ctx()
        };
        let rows: Vec<(RegistryMapping, Vec<Key>)> = vec![
            (rm("quay.io", "quay"), vec![]),
            (
                with_cred(rm("nvcr.io", "quay/ngc"), SECRET),
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[0].ecrRepositoryPrefix".into(),
                )],
            ),
            (with_cred(rm("nvcr.io", "ngc"), SECRET), vec![]),
            (
                rm("ghcr.io", "github"),
                vec![(
                    W,
                    C::NoUsableCache,
                    "registryMappings[0].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                rm("ghcr.io", "quay"),
                vec![(
                    E,
                    C::PrefixOfOtherCache,
                    "registryMappings[0].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                rm("cgr.dev", "chainguard"),
                vec![(
                    W,
                    C::UnsupportedHostCached,
                    "registryMappings[0].upstreamRegistryUrl".into(),
                )],
            ),
            (
                rm("cgr.dev", "cgr"),
                vec![(
                    E,
                    C::UnsupportedHost,
                    "registryMappings[0].upstreamRegistryUrl".into(),
                )],
            ),
        ];
        for (mapping, expected) in rows {
            assert_eq!(one_mapping(mapping.clone(), &c), expected, "{mapping:?}");
        }
        // Without discovery nothing is said about caches.
        assert_eq!(one_mapping(rm("ghcr.io", "github"), &ctx()), vec![]);
        let message = check_map(
            &ContainerRegistryMap {
                registry_mappings: vec![rm("ghcr.io", "github")],
                image_mappings: vec![],
            },
            &c,
        );
        assert!(
            message[0].message.contains("upstream_registry `github`"),
            "{}",
            message[0].message
        );
    }

    #[test]
    fn image_mapping_rules() {
        use FindingCode as C;
        use Severity::{Error as E, Info as I, Warning as W};
        let f = |s: Severity, c: FindingCode, key: &str| (s, c, format!("imageMappings[0].{key}"));
        let long = format!("quay.io/{}:1", "a/".repeat(380));
        let rows: Vec<(ImageMapping, Vec<Key>)> = vec![
            (
                im("ubuntu:22.04", &ecr("docker-hub/library/ubuntu:22.04")),
                vec![],
            ),
            (
                im(&format!("ubuntu@{SHA}"), &ecr(&format!("u@{SHA}"))),
                vec![],
            ),
            (im("", &ecr("u:1")), vec![f(E, C::Length, "sourceImage")]),
            (im(&long, &ecr("u:1")), vec![f(E, C::Length, "sourceImage")]),
            (
                im("Ubuntu:22.04", &ecr("u:1")),
                vec![f(E, C::InvalidImage, "sourceImage")],
            ),
            (im("ubuntu", ""), vec![f(E, C::Length, "destinationImage")]),
            (
                im("ubuntu", "https://x"),
                vec![f(E, C::InvalidImage, "destinationImage")],
            ),
            (
                im("ubuntu", "quay.io/org/ubuntu:1"),
                vec![f(E, C::DestinationNotPrivateEcr, "destinationImage")],
            ),
            (
                im("ubuntu", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/u:1"),
                vec![f(E, C::DestinationOtherRegion, "destinationImage")],
            ),
            (
                im("ubuntu", &ecr("u")),
                vec![f(W, C::DestinationUntagged, "destinationImage")],
            ),
            (
                im("ubuntu", "210987654321.dkr.ecr.us-east-1.amazonaws.com/u:1"),
                vec![f(I, C::CrossAccount, "destinationImage")],
            ),
        ];
        for (mapping, expected) in rows {
            let map = ContainerRegistryMap {
                registry_mappings: vec![],
                image_mappings: vec![mapping.clone()],
            };
            let got: Vec<_> = check_map(&map, &ctx())
                .iter()
                .map(|f| (f.severity, f.code, f.field.clone()))
                .collect();
            assert_eq!(got, expected, "{mapping:?}");
        }
        let other_region = check_map(
            &ContainerRegistryMap {
                registry_mappings: vec![],
                image_mappings: vec![im(
                    "ubuntu",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/u:1",
                )],
            },
            &ctx(),
        );
        assert_eq!(
            other_region[0].suggestion.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/u:1")
        );
        let dup = ContainerRegistryMap {
            registry_mappings: vec![],
            image_mappings: vec![
                im("ubuntu", &ecr("a:1")),
                im("docker.io/library/ubuntu:latest", &ecr("b:1")),
            ],
        };
        assert_eq!(
            keyed(&check_map(&dup, &ctx())),
            vec![(W, C::DuplicateSource, "imageMappings[1].sourceImage".into())]
        );
    }

    #[test]
    fn check_map_json_reads_api_and_user_shapes() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let get_workflow = json!({
            "id": "1234567",
            "containerRegistryMap": {
                "registryMappings": [
                    {"upstreamRegistryUrl": "registry-1.docker.io", "ecrRepositoryPrefix": "docker-hub"},
                    {"upstreamRegistryUrl": "community.wave.seqera.io", "ecrRepositoryPrefix": "wave-seqera", "credentialArn": SECRET}
                ],
                "imageMappings": []
            }
        });
        assert_eq!(keyed(&check_map_json(&get_workflow, &ctx())), vec![]);

        let user = json!({
            "registryMappings": [
                {"upstream_registry_url": "quay.io", "ecrRepositoryPrefix": "quay"},
                {"upstreamRegistryUrl": 5, "ecrRepositoryPrefix": "x1"},
                {"upstreamRegistryUrl": "nvcr.io", "ecrRepositoryPrefix": "ngc"},
                "quay.io"
            ],
            "imageMappings": [{"sourceImage": "ubuntu"}],
            "registryMapping": []
        });
        assert_eq!(
            keyed(&check_map_json(&user, &ctx())),
            vec![
                (
                    W,
                    C::UnknownKey,
                    "containerRegistryMap.registryMapping".into()
                ),
                (
                    W,
                    C::UnknownKey,
                    "registryMappings[0].upstream_registry_url".into()
                ),
                (
                    E,
                    C::MissingField,
                    "registryMappings[0].upstreamRegistryUrl".into()
                ),
                (
                    E,
                    C::WrongType,
                    "registryMappings[1].upstreamRegistryUrl".into()
                ),
                (E, C::WrongType, "registryMappings[3]".into()),
                (
                    E,
                    C::MissingField,
                    "imageMappings[0].destinationImage".into()
                ),
                (
                    E,
                    C::MissingCredential,
                    "registryMappings[2].credentialArn".into()
                ),
            ]
        );
        let hint = check_map_json(&user, &ctx())
            .into_iter()
            .find(|f| f.field == "registryMappings[0].upstream_registry_url");
        assert_eq!(
            hint.and_then(|f| f.suggestion).as_deref(),
            Some("upstreamRegistryUrl")
        );

        assert_eq!(
            keyed(&check_map_json(&json!([1]), &ctx())),
            vec![(E, C::WrongType, "containerRegistryMap".into())]
        );
        assert_eq!(
            keyed(&check_map_json(&json!({"registryMappings": {}}), &ctx())),
            vec![
                (E, C::WrongType, "registryMappings".into()),
                (W, C::EmptyMap, "containerRegistryMap".into())
            ]
        );
    }

    #[test]
    fn secret_arn_grammar() {
        let good = [
            SECRET,
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a",
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x/y-AbC",
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x",
            "arn:aws-iso-b:secretsmanager:x:123456789012:secret:x",
        ];
        for arn in good {
            assert!(parse_secret_arn(arn).is_some(), "{arn}");
        }
        let bad = [
            "arn:aws-:secretsmanager:us-east-1:123456789012:secret:x",
            "arn:aws-US:secretsmanager:us-east-1:123456789012:secret:x",
            "arn:aws:secretsmanager::123456789012:secret:x",
            "arn:aws:secretsmanager:US-EAST-1:123456789012:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:key:x",
            "arn:aws:secretsmanager:us-east-1:1234567890123:secret:x",
            "arn:aws:ssm:us-east-1:123456789012:secret:x",
            "aws:secretsmanager:us-east-1:123456789012:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:a\nb",
        ];
        for arn in bad {
            assert!(parse_secret_arn(arn).is_none(), "{arn}");
        }
    }

    // ----- coverage -----

    fn coverage_map() -> ContainerRegistryMap {
        ContainerRegistryMap {
            registry_mappings: vec![
                rm("registry-1.docker.io", "docker-hub"),
                rm("quay.io", "quay"),
                with_cred(rm("community.wave.seqera.io", "wave-seqera"), SECRET),
                rm("nvcr.io", "ngc"),
                rm("mcr.microsoft.com", "mcr"),
            ],
            image_mappings: vec![
                im("ubuntu:22.04", &ecr("custom/ubuntu:22.04")),
                im("quay.io/org/tool:1", "quay.io/org/tool:1"),
            ],
        }
    }

    fn usable() -> Vec<CacheMapping> {
        vec![
            cache("registry-1.docker.io", "docker-hub"),
            cache("quay.io", "quay"),
            cache("public.ecr.aws", "ecr-public"),
        ]
    }

    fn find<'a>(report: &'a CoverageReport, canonical: &str) -> &'a ImageCoverage {
        match report
            .images
            .iter()
            .find(|i| i.canonical.as_deref() == Some(canonical) || i.image == canonical)
        {
            Some(i) => i,
            None => panic!("{canonical} not in report"),
        }
    }

    #[test]
    fn coverage_classifies_maps_and_fixes_every_image() {
        let wave_pinned = format!("community.wave.seqera.io/library/fastp:0.23.4--abc@{SHA}");
        let images: Vec<ImageUse> = [
            "ubuntu:22.04",
            "quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8",
            "biocontainers/fastqc:0.12.1",
            "community.wave.seqera.io/library/samtools:1.21--ff7dba6cf4a3c4dd",
            "community.wave.seqera.io/library/samtools",
            wave_pinned.as_str(),
            "wave.seqera.io/wt/abc/library/fastp:1",
            "nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1",
            "mcr.microsoft.com/dotnet/runtime:8.0",
            "ghcr.io/multiqc/multiqc:v1.25.1",
            "ghcr.io/org/other:1",
            "public.ecr.aws/lts/ubuntu:22.04",
            "us-central1-docker.pkg.dev/my-proj/tools/img:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine/tool:1",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine/tool:1",
            "harbor.example.org/lab/tool:2",
            "quay.io/org/tool:1",
            "Ubuntu:22.04",
        ]
        .into_iter()
        .map(ImageUse::from)
        .collect();
        let caches = usable();
        let r = coverage(&images, &coverage_map(), ACCT, REGION, Some(&caches));

        type Row<'a> = (
            &'a str,
            Option<AccessPath>,
            bool,
            Option<&'a str>,
            Option<String>,
            &'a [CoverageCode],
        );
        use AccessPath::*;
        use CoverageCode as C;
        let rows: Vec<Row> = vec![
            (
                "registry-1.docker.io/library/ubuntu:22.04",
                Some(PullThroughCache),
                true,
                Some("image_mapping"),
                Some(ecr("custom/ubuntu:22.04")),
                &[],
            ),
            (
                "quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8",
                Some(PullThroughCache),
                true,
                Some("registry_mapping"),
                Some(ecr("quay/biocontainers/bwa:0.7.17--h5bf99c6_8")),
                &[],
            ),
            (
                "registry-1.docker.io/biocontainers/fastqc:0.12.1",
                Some(PullThroughCache),
                true,
                Some("registry_mapping"),
                Some(ecr("docker-hub/biocontainers/fastqc:0.12.1")),
                &[],
            ),
            (
                "community.wave.seqera.io/library/samtools:1.21--ff7dba6cf4a3c4dd",
                Some(HealthOmicsCopy),
                true,
                Some("registry_mapping"),
                Some(ecr("wave-seqera/library/samtools:1.21--ff7dba6cf4a3c4dd")),
                &[C::TagNotPinned],
            ),
            (
                "community.wave.seqera.io/library/samtools",
                Some(HealthOmicsCopy),
                true,
                Some("registry_mapping"),
                Some(ecr("wave-seqera/library/samtools:latest")),
                &[C::LatestNotPinned],
            ),
            (
                &wave_pinned,
                Some(HealthOmicsCopy),
                true,
                Some("registry_mapping"),
                Some(ecr(&format!("wave-seqera/library/fastp:0.23.4--abc@{SHA}"))),
                &[],
            ),
            (
                "wave.seqera.io/wt/abc/library/fastp:1",
                Some(HealthOmicsCopy),
                false,
                Some("unmapped"),
                None,
                &[C::NotMapped, C::TagNotPinned],
            ),
            (
                "nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1",
                Some(HealthOmicsCopy),
                false,
                Some("registry_mapping"),
                Some(ecr("ngc/nvidia/clara/clara-parabricks:4.3.0-1")),
                &[C::MissingCredential, C::TagNotPinned],
            ),
            (
                "mcr.microsoft.com/dotnet/runtime:8.0",
                Some(Unsupported),
                false,
                Some("registry_mapping"),
                Some(ecr("mcr/dotnet/runtime:8.0")),
                &[C::UnsupportedHost],
            ),
            (
                "ghcr.io/multiqc/multiqc:v1.25.1",
                Some(PullThroughCache),
                false,
                Some("unmapped"),
                None,
                &[C::NotMapped],
            ),
            (
                "public.ecr.aws/lts/ubuntu:22.04",
                Some(PullThroughCache),
                false,
                Some("unmapped"),
                None,
                &[C::NotMapped],
            ),
            (
                "us-central1-docker.pkg.dev/my-proj/tools/img:1",
                Some(HealthOmicsCopy),
                false,
                Some("unmapped"),
                None,
                &[C::NotMapped, C::TagNotPinned],
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine/tool:1",
                Some(PrivateEcr),
                true,
                Some("private_ecr"),
                Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/mine/tool:1".to_owned()),
                &[],
            ),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine/tool:1",
                Some(PrivateEcr),
                false,
                Some("private_ecr"),
                Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine/tool:1".to_owned()),
                &[C::OtherRegion],
            ),
            (
                "harbor.example.org/lab/tool:2",
                Some(Unsupported),
                false,
                Some("unmapped"),
                None,
                &[C::NotMapped],
            ),
            (
                "quay.io/org/tool:1",
                Some(PullThroughCache),
                false,
                Some("image_mapping"),
                Some("quay.io/org/tool:1".to_owned()),
                &[C::DestinationNotPrivateEcr],
            ),
            (
                "Ubuntu:22.04",
                None,
                false,
                None,
                None,
                &[C::InvalidReference],
            ),
        ];
        for (canonical, class, covered, matched, uri, codes) in rows {
            let item = find(&r, canonical);
            assert_eq!(item.class, class, "{canonical}");
            assert_eq!(item.covered, covered, "{canonical}");
            let m = item
                .matched
                .as_ref()
                .and_then(|m| serde_json::to_value(m).ok())
                .and_then(|v| v["matched"].as_str().map(str::to_owned));
            assert_eq!(m.as_deref(), matched, "{canonical}");
            assert_eq!(item.ecr_image_uri, uri, "{canonical}");
            let got: Vec<CoverageCode> = item.problems.iter().map(|p| p.code).collect();
            assert_eq!(got, codes.to_vec(), "{canonical}");
            assert_eq!(
                item.fix.is_some(),
                !covered && class.is_some(),
                "{canonical}"
            );
        }
        assert_eq!(
            find(&r, "quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8").cache_usable,
            Some(true)
        );

        let fix = |canonical: &str| {
            find(&r, canonical)
                .fix
                .as_ref()
                .and_then(|f| serde_json::to_value(f).ok())
                .unwrap_or_default()
        };
        assert_eq!(
            fix("ghcr.io/multiqc/multiqc:v1.25.1"),
            json!({
                "tool": "CreatePullThroughCacheForHealthOmics",
                "arguments": {
                    "upstream_registry": "github",
                    "ecr_repository_prefix": "github",
                    "credential_arn": "<ARN of an ecr-pullthroughcache/… secret>"
                },
                "why": fix("ghcr.io/multiqc/multiqc:v1.25.1")["why"].clone()
            })
        );
        assert_eq!(
            fix("wave.seqera.io/wt/abc/library/fastp:1")["mapping"],
            json!({"upstreamRegistryUrl": "wave.seqera.io", "ecrRepositoryPrefix": "seqera-wave", "credentialArn": "<secret ARN>"})
        );
        assert_eq!(
            fix("wave.seqera.io/wt/abc/library/fastp:1")["kind"],
            "add_copy_mapping"
        );
        assert_eq!(
            fix("us-central1-docker.pkg.dev/my-proj/tools/img:1")["mapping"]["ecrRepositoryPrefix"],
            "gar-us-central1"
        );
        assert_eq!(
            fix("nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1")["kind"],
            "add_credential"
        );
        assert_eq!(
            fix("nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1")["mapping"]["ecrRepositoryPrefix"],
            "ngc"
        );
        assert_eq!(
            fix("public.ecr.aws/lts/ubuntu:22.04"),
            json!({
                "kind": "add_registry_mapping",
                "mapping": {"upstreamRegistryUrl": "public.ecr.aws", "ecrRepositoryPrefix": "ecr-public"},
                "why": fix("public.ecr.aws/lts/ubuntu:22.04")["why"].clone()
            })
        );
        for unsupported in [
            "mcr.microsoft.com/dotnet/runtime:8.0",
            "harbor.example.org/lab/tool:2",
        ] {
            assert_eq!(fix(unsupported)["tool"], "CloneContainerToECR");
            assert_eq!(
                fix(unsupported)["arguments"],
                json!({"source_image": unsupported})
            );
        }
        // The sibling Seqera host's mapping is named as the near miss.
        let wave = find(&r, "wave.seqera.io/wt/abc/library/fastp:1");
        assert!(
            wave.problems[0]
                .message
                .contains("community.wave.seqera.io"),
            "{}",
            wave.problems[0].message
        );

        // Two ghcr images share one planned fix.
        let ghcr = r.fixes.iter().find(|p| {
            serde_json::to_value(&p.fix)
                .is_ok_and(|v| v["arguments"]["upstream_registry"] == "github")
        });
        assert_eq!(
            ghcr.map(|p| p.images.clone()),
            Some(vec![
                "ghcr.io/multiqc/multiqc:v1.25.1".to_owned(),
                "ghcr.io/org/other:1".to_owned()
            ])
        );

        let s = &r.summary;
        assert_eq!((s.total, s.covered, s.not_covered), (18, 7, 11));
        assert_eq!(
            (
                s.private_ecr,
                s.pull_through_cache,
                s.healthomics_copy,
                s.unsupported,
                s.invalid
            ),
            (2, 7, 6, 2, 1)
        );
        assert_eq!(s.with_warnings, 5);
        assert!(!r.all_covered);
    }

    #[test]
    fn coverage_without_cache_knowledge_and_with_a_dead_prefix() {
        let map = ContainerRegistryMap {
            registry_mappings: vec![rm("quay.io", "old-quay")],
            image_mappings: vec![],
        };
        let images = vec![ImageUse::from("quay.io/biocontainers/bwa:0.7.17")];
        let unknown = coverage(&images, &map, ACCT, REGION, None);
        assert!(unknown.all_covered);
        assert_eq!(unknown.images[0].cache_usable, None);

        let caches = usable();
        let r = coverage(&images, &map, ACCT, REGION, Some(&caches));
        assert!(!r.all_covered);
        assert_eq!(r.images[0].cache_usable, Some(false));
        assert_eq!(r.images[0].problems[0].code, CoverageCode::NoUsableCache);
        let fix = r.images[0]
            .fix
            .as_ref()
            .and_then(|f| serde_json::to_value(f).ok())
            .unwrap_or_default();
        assert_eq!(
            fix["arguments"],
            json!({"upstream_registry": "quay", "ecr_repository_prefix": "old-quay"})
        );
    }

    #[test]
    fn coverage_dedupes_and_keeps_locations() {
        let at = |r: &str, file: &str, line: usize| ImageUse {
            reference: r.into(),
            file: Some(file.into()),
            line: Some(line),
            context: Some("runtime.docker".into()),
        };
        let images = vec![
            at("ubuntu", "a.wdl", 3),
            at("docker.io/library/ubuntu", "b.wdl", 9),
            at("ubuntu", "a.wdl", 3),
            at("ubuntu:latest", "c.wdl", 1),
            at("not an image", "c.wdl", 2),
            at("not an image", "d.wdl", 2),
        ];
        let map = ContainerRegistryMap {
            registry_mappings: vec![rm("registry-1.docker.io", "docker-hub")],
            image_mappings: vec![],
        };
        let r = coverage(&images, &map, ACCT, REGION, None);
        assert_eq!(r.images.len(), 3);
        assert_eq!(r.images[0].image, "ubuntu");
        let files: Vec<_> = r.images[0]
            .found_in
            .iter()
            .map(|l| (l.file.clone(), l.line))
            .collect();
        assert_eq!(
            files,
            vec![
                (Some("a.wdl".into()), Some(3)),
                (Some("b.wdl".into()), Some(9))
            ]
        );
        assert_eq!(
            r.images[1].canonical.as_deref(),
            Some("registry-1.docker.io/library/ubuntu:latest")
        );
        assert_eq!(r.images[2].found_in.len(), 2);
        assert_eq!(r.summary.invalid, 1);
        let empty = coverage(&[], &map, ACCT, REGION, None);
        assert!(empty.all_covered && empty.summary.total == 0);
        // An image given without a place lists no place (not `found_in: [{}]`).
        let bare = coverage(&[ImageUse::from("ubuntu:22.04")], &map, ACCT, REGION, None);
        assert!(bare.images[0].found_in.is_empty());
    }

    #[test]
    fn suggested_prefixes_avoid_taken_ones() {
        // `github` already belongs to another host, so the suggested cache gets `github-2`.
        let map = ContainerRegistryMap {
            registry_mappings: vec![with_cred(rm("nvcr.io", "github"), SECRET)],
            image_mappings: vec![],
        };
        let r = coverage(&[ImageUse::from("ghcr.io/a/b:1")], &map, ACCT, REGION, None);
        let fix = r.images[0]
            .fix
            .as_ref()
            .and_then(|f| serde_json::to_value(f).ok())
            .unwrap_or_default();
        assert_eq!(fix["arguments"]["ecr_repository_prefix"], "github-2");
        assert_eq!(
            registries::default_ecr_prefix("myreg.azurecr.io"),
            "azure-myreg"
        );
    }

    #[test]
    fn report_serialises_with_schema() {
        let r = coverage(
            &[ImageUse::from("ghcr.io/a/b:1")],
            &ContainerRegistryMap::default(),
            ACCT,
            REGION,
            None,
        );
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(v["images"][0]["class"], "pull_through_cache");
        assert_eq!(v["images"][0]["matched"]["matched"], "unmapped");
        assert_eq!(v["summary"]["not_covered"], 1);
        assert_eq!(v["all_covered"], false);
        for schema in [
            serde_json::to_string(&schemars::schema_for!(CoverageReport)),
            serde_json::to_string(&schemars::schema_for!(BuiltMap)),
            serde_json::to_string(&schemars::schema_for!(MapInputs)),
        ] {
            assert!(schema.is_ok_and(|s| s.len() > 100));
        }
    }

    // ----- properties -----

    fn host_pool() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "registry-1.docker.io",
            "docker.io",
            "quay.io",
            "Quay.io",
            "https://quay.io/",
            "public.ecr.aws",
            "ghcr.io",
            "registry.gitlab.com",
            "registry.k8s.io",
            "myreg.azurecr.io",
            "community.wave.seqera.io",
            "wave.seqera.io",
            "nvcr.io",
            "gcr.io",
            "us-central1-docker.pkg.dev",
            "us-docker.pkg.dev",
            "mcr.microsoft.com",
            "harbor.example.org",
            "quay",
            "",
        ])
        .prop_map(str::to_owned)
    }

    fn prefix_pool() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "quay",
                "docker-hub",
                "wave",
                "ngc",
                "ROOT",
                "Bad",
                "a/",
                "x"
            ])
            .prop_map(str::to_owned),
            "[a-z]{2,8}(-[a-z]{1,4})?",
        ]
    }

    fn noisy_mapping() -> impl Strategy<Value = RegistryMapping> {
        (
            host_pool(),
            prefix_pool(),
            prop::option::of(prop::sample::select(vec!["biocontainers", "b", "library"])),
            prop::option::of(prop::sample::select(vec![ACCT, OTHER, "123"])),
            prop::option::of(prop::sample::select(vec![
                SECRET,
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
                "not-an-arn-at-all-xxxxxxxx",
            ])),
        )
            .prop_map(|(h, p, u, a, c)| RegistryMapping {
                upstream_registry_url: h,
                ecr_repository_prefix: p,
                upstream_repository_prefix: u.map(str::to_owned),
                ecr_account_id: a.map(str::to_owned),
                credential_arn: c.map(str::to_owned),
            })
    }

    const PTC_HOSTS: [&str; 7] = [
        "registry-1.docker.io",
        "quay.io",
        "public.ecr.aws",
        "ghcr.io",
        "registry.gitlab.com",
        "registry.k8s.io",
        "myreg.azurecr.io",
    ];
    const COPY_HOSTS: [&str; 5] = [
        "community.wave.seqera.io",
        "wave.seqera.io",
        "nvcr.io",
        "gcr.io",
        "us-central1-docker.pkg.dev",
    ];

    fn valid_mapping() -> impl Strategy<Value = RegistryMapping> {
        let upstream = prop::option::of(prop::sample::select(vec![
            "biocontainers",
            "library",
            "nvidia/clara",
        ]));
        let account = prop::option::of(prop::sample::select(vec![ACCT, OTHER]));
        prop_oneof![
            (
                prop::sample::select(PTC_HOSTS.to_vec()),
                "[a-z]{2,10}(-[a-z0-9]{1,6})?",
                upstream.clone(),
                account.clone()
            )
                .prop_map(|(h, p, u, a)| RegistryMapping {
                    upstream_registry_url: h.into(),
                    ecr_repository_prefix: p,
                    upstream_repository_prefix: u.map(str::to_owned),
                    ecr_account_id: a.map(str::to_owned),
                    credential_arn: None,
                }),
            (
                prop::sample::select(COPY_HOSTS.to_vec()),
                "[a-z]{1,10}(/[a-z0-9]{1,6})?",
                upstream,
                account
            )
                .prop_map(|(h, p, u, a)| RegistryMapping {
                    upstream_registry_url: h.into(),
                    ecr_repository_prefix: p,
                    upstream_repository_prefix: u.map(str::to_owned),
                    ecr_account_id: a.map(str::to_owned),
                    credential_arn: Some(SECRET.into()),
                }),
        ]
    }

    fn mapping() -> impl Strategy<Value = RegistryMapping> {
        prop_oneof![6 => valid_mapping(), 1 => noisy_mapping()]
    }

    fn cache_strategy() -> impl Strategy<Value = CacheMapping> {
        prop_oneof![
            6 => (prop::sample::select(PTC_HOSTS.to_vec()), "[a-z]{2,10}").prop_map(|(h, p)| cache(h, &p)),
            1 => (host_pool(), prefix_pool()).prop_map(|(h, p)| cache(&h, &p)),
        ]
    }

    fn image_mapping() -> impl Strategy<Value = ImageMapping> {
        let sources = prop::sample::select(vec![
            "ubuntu",
            "ubuntu:latest",
            "quay.io/a/b:1",
            "ghcr.io/x/y@sha256:6a4a087328f6df19a423c0fe00cabcfc6d5f237a2c0e435fd90109fb65dacd02",
        ]);
        prop_oneof![
            4 => (sources.clone(), "[a-z]{2,8}(/[a-z]{1,5})?:[0-9]{1,3}")
                .prop_map(|(s, repo)| im(s, &format!("{ACCT}.dkr.ecr.{REGION}.amazonaws.com/{repo}"))),
            1 => (
                prop::sample::select(vec!["ubuntu", "Bad:1", ""]),
                prop::sample::select(vec![
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b:1",
                    "quay.io/a/b:1",
                ]),
            )
                .prop_map(|(s, d)| im(s, d)),
        ]
    }

    prop_compose! {
        fn map_inputs()(
            discovered in prop::collection::vec(cache_strategy(), 0..4),
            usable in prop::option::of(prop::collection::vec(cache_strategy(), 0..3)),
            additional in prop::collection::vec(mapping(), 0..4),
            images in prop::collection::vec(image_mapping(), 0..3),
            caller in prop::option::of(prop::sample::select(vec![ACCT, OTHER])),
            target in prop::option::of(prop::sample::select(vec![ACCT, OTHER])),
            pin in any::<bool>(),
        ) -> MapInputs {
            MapInputs {
                discovered_caches: discovered,
                usable_caches: usable,
                additional_registry_mappings: additional,
                image_mappings: images,
                caller_account_id: caller.map(str::to_owned),
                ecr_account_id: target.map(str::to_owned),
                pin_ecr_account_id: pin,
                ecr_region: REGION.into(),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn built_maps_pass_check_map(i in map_inputs()) {
            if let Ok(b) = build_map(&i) {
                let mut known = i.usable_caches.clone().unwrap_or_default();
                known.extend(i.discovered_caches.iter().cloned());
                let c = MapContext {
                    caller_account_id: i.caller_account_id.clone(),
                    region: REGION.into(),
                    usable_caches: Some(known),
                };
                let errors: Vec<_> = check_map(&b.map, &c).into_iter().filter(|f| f.severity == Severity::Error).collect();
                prop_assert!(errors.is_empty(), "{:?}\n{}", errors, b.json);
                // The JSON text says the same as the map, and checking the JSON agrees.
                let back: Result<ContainerRegistryMap, _> = serde_json::from_str(&b.json);
                prop_assert_eq!(back.ok(), Some(b.map.clone()));
                let value: Value = serde_json::from_str(&b.json).unwrap_or_default();
                let json_errors = check_map_json(&value, &c).into_iter().filter(|f| f.severity == Severity::Error).count();
                prop_assert_eq!(json_errors, 0);
                prop_assert!(b.findings.iter().all(|f| f.severity != Severity::Error));
            }
        }

        #[test]
        fn user_mappings_always_win(i in map_inputs()) {
            let map = match build_map(&i) {
                Ok(b) => b.map,
                Err(e) => e.map,
            };
            // The last user mapping per normalised host is in the map, unchanged but for the account.
            let mut last: HashMap<String, &RegistryMapping> = HashMap::new();
            for m in &i.additional_registry_mappings {
                last.insert(normalise_host(&m.upstream_registry_url), m);
            }
            for (host, user) in &last {
                let in_map: Vec<&RegistryMapping> = map.registry_mappings.iter().filter(|m| normalise_host(&m.upstream_registry_url) == *host).collect();
                prop_assert_eq!(in_map.len(), 1, "{}", host);
                let got = in_map[0];
                prop_assert_eq!(&got.upstream_registry_url, &user.upstream_registry_url);
                prop_assert_eq!(&got.ecr_repository_prefix, &user.ecr_repository_prefix);
                prop_assert_eq!(&got.upstream_repository_prefix, &user.upstream_repository_prefix);
                prop_assert_eq!(&got.credential_arn, &user.credential_arn);
                if user.ecr_account_id.is_some() {
                    prop_assert_eq!(&got.ecr_account_id, &user.ecr_account_id);
                }
            }
            // No two mappings share a normalised host, and image sources are unique.
            let mut hosts: Vec<String> = map.registry_mappings.iter().map(|m| normalise_host(&m.upstream_registry_url)).collect();
            let n = hosts.len();
            hosts.sort();
            hosts.dedup();
            prop_assert_eq!(hosts.len(), n);
            let mut sources: Vec<String> = map.image_mappings.iter().map(|m| image_key(&m.source_image)).collect();
            let n = sources.len();
            sources.sort();
            sources.dedup();
            prop_assert_eq!(sources.len(), n);
        }

        #[test]
        fn json_round_trips(m in prop::collection::vec(mapping(), 0..5), images in prop::collection::vec(image_mapping(), 0..4)) {
            let map = ContainerRegistryMap { registry_mappings: m, image_mappings: images };
            let text = to_pretty_json(&map);
            let back: Result<ContainerRegistryMap, _> = serde_json::from_str(&text);
            prop_assert_eq!(back.ok(), Some(map.clone()));
            // And check_map_json agrees with check_map on a well-formed map.
            let value: Value = serde_json::from_str(&text).unwrap_or_default();
            prop_assert_eq!(check_map_json(&value, &ctx()), check_map(&map, &ctx()));
        }

        #[test]
        fn coverage_never_panics_and_counts_add_up(images in prop::collection::vec("[a-zA-Z0-9./:@_-]{0,40}", 0..8), m in prop::collection::vec(mapping(), 0..4)) {
            let uses: Vec<ImageUse> = images.into_iter().map(ImageUse::from).collect();
            let map = ContainerRegistryMap { registry_mappings: m, image_mappings: vec![] };
            let r = coverage(&uses, &map, ACCT, REGION, None);
            let s = &r.summary;
            prop_assert_eq!(s.covered + s.not_covered, s.total);
            prop_assert_eq!(s.private_ecr + s.pull_through_cache + s.healthomics_copy + s.unsupported + s.invalid, s.total);
            prop_assert_eq!(r.all_covered, s.not_covered == 0);
        }
    }
}
