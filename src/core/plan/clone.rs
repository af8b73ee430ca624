//! The plan of `CloneContainerToECR`: from what was read (the source, the pull-through cache that
//! serves it and its verdict, the target repository and the image it holds) to the steps to run
//! in order and the report, worded here once.
//!
//! Two routes. A cache that serves the source is used even when HealthOmics cannot use it yet: it
//! pulls for the caller, who then needs no direct access to the upstream, and the repository it
//! fills is granted directly (a note says how to make the cache usable for the repositories it
//! creates later). Otherwise the image is copied registry to registry, unless the target tag
//! already holds it.

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::account::ImageSelector;
use crate::core::image_ref::{self, ImageReference, ecr_image_uri};
use crate::core::image_rules::{self, ImageConfigSummary, ManifestSummary, Platform, RuleFinding};
use crate::core::inputs::{self, InputError};
use crate::core::policy::AccessStatus;
use crate::core::registries::{self, AccessPath};
use crate::core::registry_map::ImageMapping;
use crate::core::tool_names;
use crate::core::verdicts::RuleJudgement;

#[derive(Debug, Serialize, JsonSchema)]
pub struct CloneOutput {
    /// The account and region this call acted on.
    pub account_id: String,
    pub region: String,
    pub success: bool,
    /// Present (true) only for a dry run: nothing was changed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    pub source_image: String,
    /// Not sent: `source_image` names it.
    #[serde(skip)]
    pub source_registry: String,
    /// The source's digest (the index digest for a multi-arch source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<String>,
    /// `pull_through_cache` or `registry_copy`: for batches and the command line; a single
    /// result says it with `used_pull_through_cache`.
    #[serde(skip)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_through_cache_prefix: Option<String>,
    /// Read back after granting access.
    pub healthomics_accessible: AccessStatus,
    /// The platform copied from a multi-arch source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// What this server copied itself (each absent when 0; a pull through a cache moves
    /// nothing through this server).
    #[serde(skip_serializing_if = "is_zero")]
    pub bytes_transferred: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub blobs_copied: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub blobs_skipped: usize,
    /// The ECR image's digest equals the source's, read back.
    pub verified: bool,
    /// An image mapping that points the workflow's reference at the copy: for a batch's
    /// `image_mappings`; a single result leaves it out, being `source_image` → `ecr_uri`.
    #[serde(skip)]
    pub image_mapping: Option<ImageMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub container_rule_findings: Vec<RuleFinding>,
    /// What the tool would do (dry_run), or did when the copy could not be verified; after a
    /// verified copy the message and flags say it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub message: String,
}

fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl CloneOutput {
    /// What the clone had changed in the account so far, for a failure to say.
    pub fn side_effects(&self) -> Vec<String> {
        let repository = &self.target_repository_name;
        let mut done = Vec::new();
        if self.repository_created {
            done.push(format!("created repository `{repository}`"));
        }
        if self.policy_changed {
            done.push(format!(
                "granted HealthOmics pull access on `{repository}` (repository policy merged)"
            ));
        }
        done
    }

    /// What a failure after side effects adds to its message: what changed, that a retry
    /// resumes (the repository is reused, blobs already copied are skipped), how to undo.
    pub fn retry_note(&self) -> Option<String> {
        let done = self.side_effects();
        (!done.is_empty()).then(|| {
            format!(
                " Already changed: {}. A retry with the same arguments reuses the repository and skips blobs already copied; to undo, delete the repository (`aws ecr delete-repository --repository-name {} --force`).",
                done.join("; "),
                self.target_repository_name
            )
        })
    }
}

/// What the caller asked for, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CloneRequest {
    /// `source_image` as given (trimmed): the image mapping's `sourceImage`.
    pub source_image: String,
    /// The source, with `latest` when it names neither tag nor digest.
    pub source: ImageReference,
    pub target_repository: Option<String>,
    pub target_tag: Option<String>,
    pub platform: Platform,
    pub dry_run: bool,
}

/// A blank optional argument is an absent one.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl CloneRequest {
    pub fn parse(
        source_image: &str,
        target_repository_name: Option<&str>,
        target_image_tag: Option<&str>,
        platform: Option<&str>,
        dry_run: bool,
    ) -> Result<Self, InputError> {
        let source = ImageReference::parse(source_image)
            .map_err(|e| InputError {
                parameter: "source_image",
                problem: e.to_string(),
                hint: "Pass an image reference like `quay.io/biocontainers/samtools:1.19`.",
            })?
            .with_default_tag();
        let platform = match given(platform) {
            Some(p) => Platform::parse(p).map_err(|e| InputError {
                parameter: "platform",
                problem: e.to_string(),
                hint: "E.g. `linux/amd64`.",
            })?,
            None => Platform::linux_amd64(),
        };
        let target_repository = given(target_repository_name).map(str::to_owned);
        if let Some(name) = &target_repository {
            image_ref::validate_ecr_repository_name(name).map_err(|e| InputError {
                parameter: "target_repository_name",
                problem: e.to_string(),
                hint: "Choose a lowercase ECR repository name.",
            })?;
        }
        let target_tag = given(target_image_tag).map(str::to_owned);
        if let Some(tag) = &target_tag {
            inputs::check_tag("target_image_tag", tag)?;
        }
        Ok(Self {
            source_image: source_image.trim().to_owned(),
            source,
            target_repository,
            target_tag,
            platform,
            dry_run,
        })
    }

    /// Only a cache whose repository is the one asked for (or none was asked for) may serve.
    pub fn may_pull_into(&self, cache_repository: &str) -> bool {
        self.target_repository
            .as_deref()
            .is_none_or(|n| n == cache_repository)
    }
}

/// The account and region the image goes to.
#[derive(Debug, Clone)]
pub struct Target {
    pub account_id: String,
    pub region: String,
}

/// A pull-through cache rule whose upstream serves the source, as judged.
#[derive(Debug, Clone)]
pub struct ServingCache {
    pub prefix: String,
    pub upstream_registry_url: String,
    /// The repository the cache keeps this image in.
    pub repository: String,
    /// HealthOmics supports pull-through caching from this upstream at all.
    pub supported_upstream: bool,
    /// HealthOmics can use the cache as it is.
    pub usable: bool,
    /// Why it cannot, in the one wording every tool uses.
    pub problems: Vec<String>,
}

impl ServingCache {
    /// The cache a judged rule makes, keeping `repository` for this image.
    pub fn judged(repository: String, judged: &RuleJudgement) -> Self {
        Self {
            prefix: judged.rule.ecr_repository_prefix.clone(),
            upstream_registry_url: judged.rule.upstream_registry_url.clone(),
            repository,
            supported_upstream: judged.upstream_path == AccessPath::PullThroughCache,
            usable: judged.usable(),
            problems: judged.problems(),
        }
    }
}

/// Why a clone is refused before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloneRefusal {
    #[error("`{image}` is already in this account's private ECR ({region}).")]
    InThisRegistry {
        image: String,
        region: String,
        repository: String,
    },
    #[error("Cannot derive a repository name from `{image}`: {reason}")]
    NoRepositoryName { image: String, reason: String },
    #[error("`{image}` has no {platform} image ({}). Nothing was written.", has_platforms(.available))]
    NoPlatform {
        image: String,
        platform: String,
        available: Vec<String>,
    },
}

fn has_platforms(available: &[String]) -> String {
    if available.is_empty() {
        "its manifest names no platform".to_owned()
    } else {
        format!("it has: {}", available.join(", "))
    }
}

impl CloneRefusal {
    pub fn remediation(&self) -> String {
        match self {
            Self::InThisRegistry { repository, .. } => format!(
                "Grant HealthOmics access to it instead: {} with repository_name \"{repository}\".",
                tool_names::GRANT
            ),
            Self::NoRepositoryName { .. } => "Pass target_repository_name.".into(),
            Self::NoPlatform { .. } => {
                "HealthOmics runs linux/amd64 images only: use an amd64 build of this image.".into()
            }
        }
    }
}

/// Through which way the image comes into ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Cache(CacheRoute),
    Copy(CopyRoute),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRoute {
    pub prefix: String,
    pub repository: String,
    /// How the cache fetches the source: by its own digest, else its own tag.
    pub selector: ImageSelector,
    /// Why HealthOmics cannot use the cache yet, and the call that fixes it.
    pub unusable_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRoute {
    pub repository: String,
    pub tag: String,
}

/// Refuses a source already in this registry; pulls through a serving cache that HealthOmics
/// supports for its upstream (usable or not); otherwise copies, into the repository asked for
/// or `<registry's usual prefix>/<source path>`.
pub fn route(
    request: &CloneRequest,
    target: &Target,
    cache: Option<&ServingCache>,
) -> Result<Route, CloneRefusal> {
    let source = &request.source;
    if let Some(host) = source
        .ecr_host()
        .filter(|h| h.account_id == target.account_id && h.region == target.region)
    {
        return Err(CloneRefusal::InThisRegistry {
            image: source.to_string(),
            region: host.region,
            repository: source.repository.clone(),
        });
    }
    if let Some(cache) =
        cache.filter(|c| c.supported_upstream && request.may_pull_into(&c.repository))
    {
        return Ok(Route::Cache(CacheRoute {
            prefix: cache.prefix.clone(),
            repository: cache.repository.clone(),
            selector: match (&source.digest, &source.tag) {
                (Some(d), _) => ImageSelector::Digest(d.to_string()),
                (None, Some(t)) => ImageSelector::Tag(t.clone()),
                (None, None) => ImageSelector::Tag(image_ref::DEFAULT_TAG.to_owned()),
            },
            unusable_note: (!cache.usable).then(|| unusable_cache_note(cache, &target.region)),
        }));
    }
    let repository = match &request.target_repository {
        Some(name) => name.clone(),
        None => derived_repository(source)?,
    };
    let tag = request
        .target_tag
        .clone()
        .unwrap_or_else(|| default_tag(source));
    Ok(Route::Copy(CopyRoute { repository, tag }))
}

/// Why a cache that serves the clone is not HealthOmics-usable, and the call that fixes it for
/// the repositories it creates later.
pub fn unusable_cache_note(cache: &ServingCache, region: &str) -> String {
    let prefix = &cache.prefix;
    let registry = registries::classify_host(&cache.upstream_registry_url)
        .info()
        .map_or("<registry>", |i| i.name);
    let problems = if cache.problems.is_empty() {
        "it does not pass the HealthOmics checks".to_owned()
    } else {
        cache.problems.join("; ")
    };
    format!(
        "The cache `{prefix}` served this image but HealthOmics cannot use it yet ({problems}); this repository was granted \
         directly. So that the repositories it creates later are usable too, run {} with upstream_registry \"{registry}\", \
         ecr_repository_prefix \"{prefix}\", aws_region \"{region}\".",
        tool_names::CREATE_PTC
    )
}

/// A pull through the cache that ECR answered with a failure for the image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The cache `{prefix}` could not pull `{image}`: {code}: {reason}")]
pub struct PullFailure {
    pub prefix: String,
    pub image: String,
    pub code: String,
    pub reason: String,
}

impl PullFailure {
    pub const REMEDIATION: &str = "Check the image exists upstream and the cache's credentials (ValidateHealthOmicsECRConfig).";

    /// The upstream has no such image (rather than a failure of the cache).
    pub fn not_found(&self) -> bool {
        self.code == "ImageNotFound"
    }
}

/// Said when the cache rules could not be read: the copy is the only route left.
pub fn caches_not_considered(why: &str) -> String {
    format!("Pull-through caches were not considered: {why}.")
}

/// Said when a concurrent call (or a person) created the repository since it was read.
pub fn reused_repository_note(repository: &str) -> String {
    format!("`{repository}` was created by another call meanwhile; it is reused.")
}

/// `<usual prefix>/<source path>`, e.g. `seqera-community/library/samtools`; for registries
/// outside the catalog, the host with dots as dashes.
pub fn derived_repository(source: &ImageReference) -> Result<String, CloneRefusal> {
    let name = format!(
        "{}/{}",
        registries::default_ecr_prefix(&source.registry),
        source.repository
    );
    image_ref::validate_ecr_repository_name(&name).map_err(|e| CloneRefusal::NoRepositoryName {
        image: source.to_string(),
        reason: e.to_string(),
    })?;
    Ok(name)
}

/// The source's tag, or `sha256-<12 hex>` for a digest-only source (ECR needs a tag to keep
/// the image findable).
pub fn default_tag(source: &ImageReference) -> String {
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

/// One thing the clone does to the account, in the order the plan lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create the repository (one a concurrent call created meanwhile is reused).
    CreateRepository { repository: String },
    /// Pull the source through the cache by its own tag or digest; the cache creates the
    /// repository on its first pull.
    PullThroughCache {
        prefix: String,
        repository: String,
        selector: ImageSelector,
        creates_repository: bool,
    },
    /// Add the tag asked for to the image just pulled.
    TagImage { repository: String, tag: String },
    /// Merge the HealthOmics pull statement into the repository policy (nothing is written when
    /// the policy already lets HealthOmics pull).
    GrantAccess { repository: String },
    /// Copy the platform's image registry to registry: blobs the repository has are skipped.
    CopyNative {
        repository: String,
        tag: String,
        platform: String,
        layers: usize,
        bytes: u64,
    },
}

impl Step {
    /// The step in words, for `steps`.
    pub fn describe(&self, source: &ImageReference) -> String {
        match self {
            Self::CreateRepository { repository } => format!("create repository `{repository}`"),
            Self::PullThroughCache {
                prefix,
                repository,
                selector,
                ..
            } => {
                let by = match selector {
                    ImageSelector::Tag(t) => format!("tag `{t}`"),
                    ImageSelector::Digest(d) => format!("digest `{d}`"),
                };
                format!(
                    "pull `{source}` through the cache `{prefix}` into `{repository}` (by the source's {by})"
                )
            }
            Self::TagImage { tag, .. } => format!("tag the image `{tag}`"),
            Self::GrantAccess { repository } => format!(
                "make sure HealthOmics can pull from `{repository}` (merge the HealthOmics pull statement into its policy when missing)"
            ),
            Self::CopyNative {
                repository,
                tag,
                platform,
                layers,
                bytes,
            } => format!(
                "copy {platform} ({layers} layer(s), {bytes} bytes) from `{source}` to `{repository}:{tag}`"
            ),
        }
    }
}

/// The source image as its registry described it, for the platform asked for.
#[derive(Debug, Clone)]
pub struct SourceImage {
    /// Digest of the top-level manifest or index.
    pub digest: String,
    /// Digest of the image that would be copied (the platform's manifest).
    pub image_digest: String,
    pub platform_found: bool,
    /// The platforms an index lists (empty for a single image).
    pub index_platforms: Vec<Platform>,
    /// The selected image's own platform (of a single image: from its config).
    pub platform: Option<Platform>,
    pub layers: usize,
    pub compressed_size: u64,
    pub config: ImageConfigSummary,
    pub summary: ManifestSummary,
}

/// The steps to run and the report so far; with dry_run the report is the whole answer.
#[derive(Debug)]
pub struct ClonePlan {
    pub steps: Vec<Step>,
    pub output: CloneOutput,
    /// The tag the ECR URI names.
    pub uri_tag: Option<String>,
    /// The digest the copy must end with (unknown before a pull through a cache).
    pub expected_digest: Option<String>,
}

fn output(request: &CloneRequest, target: &Target, repository: &str, method: &str) -> CloneOutput {
    CloneOutput {
        account_id: target.account_id.clone(),
        region: target.region.clone(),
        success: true,
        dry_run: request.dry_run,
        source_image: request.source_image.clone(),
        source_registry: request.source.registry.clone(),
        source_digest: request.source.digest.as_ref().map(ToString::to_string),
        method: method.into(),
        target_repository_name: repository.to_owned(),
        ecr_uri: None,
        ecr_digest: None,
        repository_created: false,
        policy_changed: false,
        used_pull_through_cache: false,
        pull_through_cache_prefix: None,
        healthomics_accessible: AccessStatus::Unknown,
        platform: None,
        bytes_transferred: 0,
        blobs_copied: 0,
        blobs_skipped: 0,
        verified: false,
        image_mapping: None,
        container_rule_findings: Vec::new(),
        steps: Vec::new(),
        notes: Vec::new(),
        message: String::new(),
    }
}

/// Through the cache: pull (which creates the repository when missing), tag, grant. `notes` are
/// what the reads noted on the way.
pub fn plan_cache(
    request: &CloneRequest,
    target: &Target,
    route: CacheRoute,
    repository_exists: bool,
    notes: Vec<String>,
) -> ClonePlan {
    let CacheRoute {
        prefix,
        repository,
        selector,
        unusable_note,
    } = route;
    let mut steps = vec![Step::PullThroughCache {
        prefix: prefix.clone(),
        repository: repository.clone(),
        selector,
        creates_repository: !repository_exists,
    }];
    if let Some(tag) = &request.target_tag {
        steps.push(Step::TagImage {
            repository: repository.clone(),
            tag: tag.clone(),
        });
    }
    steps.push(Step::GrantAccess {
        repository: repository.clone(),
    });
    let mut output = output(request, target, &repository, "pull_through_cache");
    output.used_pull_through_cache = true;
    output.pull_through_cache_prefix = Some(prefix.clone());
    output.steps = steps.iter().map(|s| s.describe(&request.source)).collect();
    output.notes = notes;
    output.notes.extend(unusable_note);
    if request.dry_run {
        output.message = format!(
            "Dry run: would pull `{}` through the cache `{prefix}`; nothing was changed.",
            request.source
        );
    }
    ClonePlan {
        steps,
        output,
        uri_tag: request
            .target_tag
            .clone()
            .or_else(|| request.source.tag.clone()),
        expected_digest: None,
    }
}

/// Registry to registry: refused when the source has no image for the platform; otherwise
/// create the repository when missing, grant, and copy unless `repo:tag` already holds the
/// image (`tag_digest`: the digest the target tag points at now).
pub fn plan_copy(
    request: &CloneRequest,
    target: &Target,
    route: CopyRoute,
    image: &SourceImage,
    repository_exists: bool,
    tag_digest: Option<&str>,
    notes: Vec<String>,
) -> Result<ClonePlan, CloneRefusal> {
    let CopyRoute { repository, tag } = route;
    let source = &request.source;
    if !image.platform_found {
        let listed = if image.index_platforms.is_empty() {
            image.platform.as_slice()
        } else {
            image.index_platforms.as_slice()
        };
        return Err(CloneRefusal::NoPlatform {
            image: source.to_string(),
            platform: request.platform.to_string(),
            available: listed
                .iter()
                .filter(|p| !p.is_attestation_placeholder())
                .map(ToString::to_string)
                .collect(),
        });
    }
    let already_there = tag_digest == Some(image.image_digest.as_str());
    let mut steps = Vec::new();
    if !repository_exists {
        steps.push(Step::CreateRepository {
            repository: repository.clone(),
        });
    }
    steps.push(Step::GrantAccess {
        repository: repository.clone(),
    });
    if !already_there {
        steps.push(Step::CopyNative {
            repository: repository.clone(),
            tag: tag.clone(),
            platform: image
                .platform
                .as_ref()
                .unwrap_or(&request.platform)
                .to_string(),
            layers: image.layers,
            bytes: image.compressed_size,
        });
    }
    let mut output = output(request, target, &repository, "registry_copy");
    output.source_digest = Some(image.digest.clone());
    output.platform = image.platform.as_ref().map(ToString::to_string);
    output.container_rule_findings = image_rules::check_image(&image.config, &image.summary, None);
    output.steps = steps.iter().map(|s| s.describe(source)).collect();
    output.notes = notes;
    if registries::classify_host(&source.registry).access_path == AccessPath::HealthOmicsCopy {
        output.notes.push(format!(
            "HealthOmics can also copy `{}` images itself at run time: add a registry mapping with credentialArn \
             (CreateContainerRegistryMap healthomics_copy_registries). Cloning pre-stages a pinned copy instead.",
            source.registry
        ));
    }
    if already_there {
        // Every blob of the image is in the repository (ECR keeps no image without them).
        output.blobs_skipped = image.layers + 1;
        output.notes.push(format!(
            "`{repository}:{tag}` already holds this image ({}); nothing is copied.",
            image.image_digest
        ));
    }
    if request.dry_run {
        output.message = if already_there {
            format!(
                "Dry run: `{repository}:{tag}` already holds `{source}`; would only make sure HealthOmics can pull. Nothing was changed."
            )
        } else {
            format!("Dry run: would copy `{source}` to `{repository}:{tag}`; nothing was changed.")
        };
    }
    Ok(ClonePlan {
        steps,
        output,
        uri_tag: Some(tag),
        expected_digest: Some(image.image_digest.clone()),
    })
}

impl ClonePlan {
    /// The answer once the steps ran and ECR holds the image as `digest`.
    pub fn finish(self, digest: String, verified: bool) -> CloneOutput {
        let mut output = self.output;
        let repository = output.target_repository_name.clone();
        let uri = ecr_image_uri(
            &output.account_id,
            &output.region,
            &repository,
            self.uri_tag.as_deref(),
            Some(&digest),
        );
        let source = &output.source_image;
        let tag = self.uri_tag.as_deref().unwrap_or(image_ref::DEFAULT_TAG);
        output.message = if let Some(prefix) = &output.pull_through_cache_prefix {
            format!("Pulled `{source}` through the cache `{prefix}` into `{repository}`.")
        } else if self
            .steps
            .iter()
            .any(|s| matches!(s, Step::CopyNative { .. }))
        {
            format!(
                "Copied `{source}` to `{repository}:{tag}` ({} blob(s) copied, {} already there; digest verified).",
                output.blobs_copied, output.blobs_skipped
            )
        } else {
            format!(
                "`{repository}:{tag}` already held `{source}` (digest verified); nothing was copied."
            )
        };
        output.image_mapping = Some(ImageMapping {
            source_image: source.to_string(),
            destination_image: uri.clone(),
        });
        output.ecr_uri = Some(uri);
        output.ecr_digest = Some(digest);
        output.verified = verified;
        if verified {
            output.steps.clear();
        }
        output
    }
}

/// What the upstream says the source tag points at now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamHead {
    Digest(String),
    /// The upstream no longer has the tag.
    Gone,
    /// It could not be asked, and why.
    Unknown(String),
}

/// Whether the cached image is the one the user named (the upstream's current digest for the
/// tag), and a note when that is not known or not so.
pub fn compare_with_upstream(cached: &str, upstream: &UpstreamHead) -> (bool, Option<String>) {
    match upstream {
        UpstreamHead::Digest(d) if d == cached => (true, None),
        UpstreamHead::Digest(d) => (
            false,
            Some(format!(
                "The upstream tag now points at {d}, the cache holds {cached}: the tag moved upstream."
            )),
        ),
        UpstreamHead::Gone => (
            false,
            Some("The upstream no longer has this tag; the cached copy is kept.".into()),
        ),
        UpstreamHead::Unknown(why) => (
            false,
            Some(format!("Not compared with the upstream: {why}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::fixtures;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";
    const AMD64_DIGEST: &str =
        "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const INDEX_DIGEST: &str =
        "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn request(source: &str) -> CloneRequest {
        CloneRequest::parse(source, None, None, None, false).unwrap_or_else(|e| panic!("{e}"))
    }

    fn target() -> Target {
        Target {
            account_id: ACCOUNT.into(),
            region: REGION.into(),
        }
    }

    fn platform(p: &str) -> Platform {
        Platform::parse(p).unwrap_or_else(|e| panic!("{e}"))
    }

    fn cache(usable: bool, problems: &[&str]) -> ServingCache {
        ServingCache {
            prefix: "quay".into(),
            upstream_registry_url: "quay.io".into(),
            repository: "quay/biocontainers/samtools".into(),
            supported_upstream: true,
            usable,
            problems: problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn amd64_image() -> SourceImage {
        SourceImage {
            digest: AMD64_DIGEST.into(),
            image_digest: AMD64_DIGEST.into(),
            platform_found: true,
            index_platforms: Vec::new(),
            platform: Some(Platform::linux_amd64()),
            layers: 2,
            compressed_size: 1000,
            config: ImageConfigSummary::default(),
            summary: ManifestSummary::default(),
        }
    }

    fn copy_route(r: &CloneRequest) -> CopyRoute {
        match route(r, &target(), None) {
            Ok(Route::Copy(c)) => c,
            other => panic!("expected a copy, got {other:?}"),
        }
    }

    fn plan_copy_of(
        image: &SourceImage,
        exists: bool,
        tag_digest: Option<&str>,
    ) -> Result<ClonePlan, CloneRefusal> {
        let r = request("community.wave.seqera.io/library/samtools:1.21");
        plan_copy(
            &r,
            &target(),
            copy_route(&r),
            image,
            exists,
            tag_digest,
            Vec::new(),
        )
    }

    fn kinds(steps: &[Step]) -> Vec<&'static str> {
        steps
            .iter()
            .map(|s| match s {
                Step::CreateRepository { .. } => "create",
                Step::PullThroughCache { .. } => "pull",
                Step::TagImage { .. } => "tag",
                Step::GrantAccess { .. } => "grant",
                Step::CopyNative { .. } => "copy",
            })
            .collect()
    }

    #[test]
    fn arguments_are_checked_and_blanks_are_absent() {
        let parse = |tag: Option<&str>, repo: Option<&str>, platform: Option<&str>| {
            CloneRequest::parse("quay.io/a/b:1", repo, tag, platform, false)
        };
        // (target_image_tag, target_repository_name, platform, the parameter refused)
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: [Case; 7] = [
            (Some("bad tag"), None, None, Some("target_image_tag")),
            (Some("x"), None, None, None),
            (Some("-lead"), None, None, Some("target_image_tag")),
            (Some("  "), Some(" "), Some(""), None),
            (
                None,
                Some("Upper/Case"),
                None,
                Some("target_repository_name"),
            ),
            (None, None, Some("windows/../x"), Some("platform")),
            (None, Some("tools/x"), Some("linux/arm64"), None),
        ];
        for (tag, repo, platform, refused) in cases {
            let got = parse(tag, repo, platform);
            assert_eq!(
                got.as_ref().err().map(|e| e.parameter),
                refused,
                "{tag:?} {repo:?} {platform:?}: {got:?}"
            );
        }
        let blank = parse(Some(" "), Some(""), Some(" ")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((blank.target_tag, blank.target_repository), (None, None));
        assert_eq!(blank.platform, Platform::linux_amd64());
        let bare = request(" ubuntu ");
        assert_eq!(bare.source.tag.as_deref(), Some("latest"));
        assert_eq!(bare.source_image, "ubuntu");
        assert!(CloneRequest::parse("", None, None, None, false).is_err());
    }

    #[test]
    fn derived_names_and_tags() {
        let cases = [
            (
                "community.wave.seqera.io/library/samtools:1.21--abc",
                "seqera-community/library/samtools",
                "1.21--abc",
            ),
            (
                "registry.example.org:5000/team/tool:2",
                "registry-example-org/team/tool",
                "2",
            ),
            // The same prefix the registry map and its coverage fix use.
            (
                "us-central1-docker.pkg.dev/proj/repo/tool:1",
                "gar-us-central1/proj/repo/tool",
                "1",
            ),
        ];
        for (source, repository, tag) in cases {
            let route = copy_route(&request(source));
            assert_eq!(
                (route.repository.as_str(), route.tag.as_str()),
                (repository, tag)
            );
        }
        let pinned = request(&format!("ghcr.io/a/b@sha256:{}", "ab".repeat(32)));
        assert_eq!(default_tag(&pinned.source), "sha256-abababababab");
        assert_eq!(copy_route(&pinned).tag, "sha256-abababababab");
        let named = CloneRequest::parse("quay.io/a/b:1", Some("tools/b"), Some("pin"), None, false)
            .unwrap_or_else(|e| panic!("{e}"));
        let route = copy_route(&named);
        assert_eq!(
            (route.repository.as_str(), route.tag.as_str()),
            ("tools/b", "pin")
        );
    }

    #[test]
    fn a_source_in_this_registry_is_refused_towards_grant() {
        let own = request(&format!(
            "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/tools/app:1"
        ));
        let refusal = route(&own, &target(), None).err();
        assert!(
            matches!(&refusal, Some(CloneRefusal::InThisRegistry { repository, .. }) if repository == "tools/app")
        );
        let remediation = refusal.map(|r| r.remediation()).unwrap_or_default();
        assert!(remediation.contains(tool_names::GRANT), "{remediation}");
        let other_region = request(&format!(
            "{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/tools/app:1"
        ));
        assert!(matches!(
            route(&other_region, &target(), None),
            Ok(Route::Copy(_))
        ));
    }

    #[test]
    fn a_judged_rule_becomes_the_serving_cache() {
        let repository = "quay/biocontainers/samtools".to_owned();
        let usable = ServingCache::judged(
            repository.clone(),
            &fixtures::cache("quay", "quay.io", true),
        );
        assert_eq!(
            (
                usable.prefix.as_str(),
                usable.upstream_registry_url.as_str()
            ),
            ("quay", "quay.io")
        );
        assert_eq!(usable.repository, repository);
        assert!(usable.supported_upstream && usable.usable && usable.problems.is_empty());
        let unusable = ServingCache::judged(repository, &fixtures::cache("quay", "quay.io", false));
        assert!(unusable.supported_upstream && !unusable.usable);
        assert!(!unusable.problems.is_empty());
    }

    #[test]
    fn which_route_a_serving_cache_gives() {
        let r = request("quay.io/biocontainers/samtools:1.19");
        let unsupported = ServingCache {
            supported_upstream: false,
            ..cache(false, &["HealthOmics does not support it"])
        };
        let elsewhere = CloneRequest::parse(
            "quay.io/biocontainers/samtools:1.19",
            Some("tools/samtools"),
            None,
            None,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let into_cache_repo = CloneRequest {
            target_repository: Some("quay/biocontainers/samtools".into()),
            ..r.clone()
        };
        let usable = cache(true, &[]);
        let unusable = cache(
            false,
            &["no repository creation template applies to prefix `quay`"],
        );
        // (request, cache, through the cache?, with the unusable note?)
        let cases = [
            (&r, Some(&usable), true, false),
            (&into_cache_repo, Some(&usable), true, false),
            (&r, Some(&unusable), true, true),
            (&r, Some(&unsupported), false, false),
            (&elsewhere, Some(&usable), false, false),
            (&r, None, false, false),
        ];
        for (i, (req, serving, through, noted)) in cases.into_iter().enumerate() {
            match route(req, &target(), serving) {
                Ok(Route::Cache(c)) => {
                    assert!(through, "case {i}: unexpected cache route");
                    assert_eq!(c.repository, "quay/biocontainers/samtools");
                    assert_eq!(c.selector, ImageSelector::Tag("1.19".into()));
                    assert_eq!(c.unusable_note.is_some(), noted, "case {i}");
                }
                Ok(Route::Copy(_)) => assert!(!through, "case {i}: unexpected copy"),
                Err(e) => panic!("case {i}: {e}"),
            }
        }
    }

    #[test]
    fn an_unusable_cache_is_pulled_through_granted_and_explained() {
        let r = request("quay.io/biocontainers/samtools:1.19");
        let serving = cache(
            false,
            &["no repository creation template applies to prefix `quay`"],
        );
        let Ok(Route::Cache(route)) = route(&r, &target(), Some(&serving)) else {
            panic!("expected the cache route");
        };
        let note = route.unusable_note.clone().unwrap_or_default();
        for part in [
            "cannot use it yet",
            "no repository creation template",
            tool_names::CREATE_PTC,
            "upstream_registry \"quay\"",
            "ecr_repository_prefix \"quay\"",
            "aws_region \"us-east-1\"",
        ] {
            assert!(note.contains(part), "{part} missing from: {note}");
        }
        let plan = plan_cache(&r, &target(), route, false, vec!["read note".into()]);
        assert_eq!(kinds(&plan.steps), ["pull", "grant"]);
        assert!(matches!(
            &plan.steps[0],
            Step::PullThroughCache {
                creates_repository: true,
                ..
            }
        ));
        assert_eq!(plan.output.notes[0], "read note");
        assert_eq!(plan.output.notes[1], note);
        assert_eq!(plan.output.method, "pull_through_cache");
        assert!(plan.output.used_pull_through_cache);
        assert_eq!(
            plan.output.pull_through_cache_prefix.as_deref(),
            Some("quay")
        );
        // Empty problems still read as a sentence.
        let silent = unusable_cache_note(&cache(false, &[]), REGION);
        assert!(!silent.contains("()"), "{silent}");
    }

    #[test]
    fn a_cache_route_into_an_existing_repository_with_a_tag() {
        let r = CloneRequest::parse(
            "quay.io/biocontainers/samtools:1.19",
            None,
            Some("pinned"),
            None,
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let Ok(Route::Cache(route)) = route(&r, &target(), Some(&cache(true, &[]))) else {
            panic!("expected the cache route");
        };
        let plan = plan_cache(&r, &target(), route, true, Vec::new());
        assert_eq!(kinds(&plan.steps), ["pull", "tag", "grant"]);
        assert!(matches!(
            &plan.steps[0],
            Step::PullThroughCache {
                creates_repository: false,
                ..
            }
        ));
        assert!(
            plan.output.steps[0].contains("by the source's tag `1.19`"),
            "{:?}",
            plan.output.steps
        );
        assert!(
            plan.output.message.starts_with("Dry run: would pull"),
            "{}",
            plan.output.message
        );
        assert_eq!(plan.uri_tag.as_deref(), Some("pinned"));
        let out = plan.finish(AMD64_DIGEST.into(), true);
        assert_eq!(
            out.ecr_uri.as_deref(),
            Some(format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/quay/biocontainers/samtools:pinned@{AMD64_DIGEST}").as_str())
        );
        assert!(out.message.starts_with("Pulled"), "{}", out.message);
    }

    #[test]
    fn a_copy_plans_what_the_target_lacks() {
        let image = amd64_image();
        // (repository exists, digest its tag holds, steps)
        let cases: [(bool, Option<&str>, &[&str]); 4] = [
            (false, None, &["create", "grant", "copy"]),
            (true, None, &["grant", "copy"]),
            (true, Some(INDEX_DIGEST), &["grant", "copy"]),
            (true, Some(AMD64_DIGEST), &["grant"]),
        ];
        for (exists, tag_digest, steps) in cases {
            let plan = plan_copy_of(&image, exists, tag_digest).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(kinds(&plan.steps), steps, "{exists} {tag_digest:?}");
            assert_eq!(plan.output.steps.len(), steps.len());
            assert_eq!(plan.expected_digest.as_deref(), Some(AMD64_DIGEST));
            assert_eq!(plan.output.method, "registry_copy");
            assert!(
                plan.output
                    .notes
                    .iter()
                    .any(|n| n.contains("credentialArn")),
                "Wave: HealthOmics could copy it itself"
            );
        }
        let copy = plan_copy_of(&image, false, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            copy.output.steps[2],
            "copy linux/amd64 (2 layer(s), 1000 bytes) from `community.wave.seqera.io/library/samtools:1.21` to `seqera-community/library/samtools:1.21`"
        );
    }

    #[test]
    fn a_target_that_already_holds_the_digest_is_not_copied_again() {
        let plan = plan_copy_of(&amd64_image(), true, Some(AMD64_DIGEST))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plan.output.blobs_skipped, 3,
            "config and both layers are there"
        );
        assert!(
            plan.output
                .notes
                .iter()
                .any(|n| n.contains("nothing is copied"))
        );
        let out = plan.finish(AMD64_DIGEST.into(), true);
        assert!(
            out.message.contains("nothing was copied"),
            "{}",
            out.message
        );
        assert_eq!(out.bytes_transferred, 0);
        assert!(out.image_mapping.is_some());
    }

    #[test]
    fn a_source_without_the_platform_is_refused_listing_what_it_has() {
        let arm = platform("linux/arm64");
        let single_arm = SourceImage {
            platform_found: false,
            platform: Some(arm.clone()),
            ..amd64_image()
        };
        let index = SourceImage {
            digest: INDEX_DIGEST.into(),
            index_platforms: vec![
                arm.clone(),
                platform("linux/arm/v7"),
                platform("unknown/unknown"),
            ],
            ..single_arm.clone()
        };
        let nameless = SourceImage {
            platform: None,
            ..single_arm.clone()
        };
        let cases = [
            (single_arm, "(it has: linux/arm64)"),
            (index, "(it has: linux/arm64, linux/arm/v7)"),
            (nameless, "(its manifest names no platform)"),
        ];
        for (image, has) in cases {
            let refusal = plan_copy_of(&image, false, None).err();
            let message = refusal
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(message.contains("has no linux/amd64 image"), "{message}");
            assert!(message.contains(has), "{message}");
            assert!(message.contains("Nothing was written"), "{message}");
            assert!(!message.contains("(it has: )"), "{message}");
            let remediation = refusal.map(|r| r.remediation()).unwrap_or_default();
            assert!(remediation.contains("linux/amd64"), "{remediation}");
        }
    }

    #[test]
    fn a_copy_finishes_pinned_with_a_ready_mapping() {
        let mut plan = plan_copy_of(&amd64_image(), false, None).unwrap_or_else(|e| panic!("{e}"));
        plan.output.blobs_copied = 3;
        plan.output.repository_created = true;
        let out = plan.finish(AMD64_DIGEST.into(), true);
        let uri = format!(
            "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/seqera-community/library/samtools:1.21@{AMD64_DIGEST}"
        );
        assert_eq!(out.ecr_uri.as_deref(), Some(uri.as_str()));
        assert_eq!(
            out.image_mapping
                .map(|m| (m.source_image, m.destination_image)),
            Some((
                "community.wave.seqera.io/library/samtools:1.21".to_owned(),
                uri
            ))
        );
        assert!(out.message.starts_with("Copied"), "{}", out.message);
        assert!(out.verified);
    }

    #[test]
    fn side_effects_are_said_and_a_retry_is_explained() {
        let mut plan = plan_copy_of(&amd64_image(), false, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.output.side_effects().is_empty());
        assert_eq!(plan.output.retry_note(), None);
        plan.output.repository_created = true;
        plan.output.policy_changed = true;
        assert_eq!(plan.output.side_effects().len(), 2);
        let note = plan.output.retry_note().unwrap_or_default();
        assert!(
            note.contains("created repository `seqera-community/library/samtools`"),
            "{note}"
        );
        assert!(note.contains("delete-repository"), "{note}");
    }

    #[test]
    fn a_cached_image_is_compared_with_the_upstream() {
        let cases = [
            (UpstreamHead::Digest(AMD64_DIGEST.into()), true, None),
            (
                UpstreamHead::Digest(INDEX_DIGEST.into()),
                false,
                Some("the tag moved upstream"),
            ),
            (UpstreamHead::Gone, false, Some("no longer has this tag")),
            (
                UpstreamHead::Unknown("denied".into()),
                false,
                Some("Not compared with the upstream: denied"),
            ),
        ];
        for (head, same, note) in cases {
            let (got, said) = compare_with_upstream(AMD64_DIGEST, &head);
            assert_eq!(got, same, "{head:?}");
            match note {
                None => assert_eq!(said, None),
                Some(part) => assert!(said.unwrap_or_default().contains(part), "{head:?}"),
            }
        }
    }

    #[test]
    fn a_failed_pull_says_which_cache_and_whether_the_image_is_missing() {
        let failure = PullFailure {
            prefix: "quay".into(),
            image: "quay.io/a/b:1".into(),
            code: "ImageNotFound".into(),
            reason: "no such tag".into(),
        };
        assert!(failure.not_found());
        assert_eq!(
            failure.to_string(),
            "The cache `quay` could not pull `quay.io/a/b:1`: ImageNotFound: no such tag"
        );
    }
}
