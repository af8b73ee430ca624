//! The one catalog of upstream container registries: their hosts, the names tools accept, the
//! ECR pull-through-cache settings they need, and how HealthOmics can reach each of them.
//!
//! Every tool asks this module, so that "which registries does pull-through cache serve" or
//! "is this host one HealthOmics copies from" has one answer. Nothing here does I/O.

use serde::{Deserialize, Serialize};

use schemars::JsonSchema;

use crate::core::image_ref::{DOCKER_HUB_ALIASES, DOCKER_HUB_REGISTRY, EcrRegistryHost};

/// Secrets Manager name prefix ECR requires for pull-through cache credentials.
pub const PTC_SECRET_NAME_PREFIX: &str = "ecr-pullthroughcache/";

/// A registry family, as far as HealthOmics and ECR treat them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistryKind {
    DockerHub,
    Quay,
    EcrPublic,
    Kubernetes,
    GitHub,
    GitLab,
    Azure,
    SeqeraCommunity,
    SeqeraWave,
    NvidiaNgc,
    GoogleContainerRegistry,
    GoogleArtifactRegistry,
    MicrosoftContainerRegistry,
    PrivateEcr,
    Other,
}

/// How a HealthOmics run can get an image from a host (design §4a's four classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessPath {
    /// Already in private ECR: needs only a repository policy for HealthOmics.
    PrivateEcr,
    /// An ECR pull-through cache rule plus a registry mapping serve it.
    PullThroughCache,
    /// HealthOmics copies it into private ECR itself, given a mapping with `credentialArn`.
    /// (Named as the product is written, not `health_omics_copy`.)
    #[serde(rename = "healthomics_copy")]
    HealthOmicsCopy,
    /// Neither: copy it into private ECR first (CloneContainerToECR) or use an image mapping.
    Unsupported,
}

/// One upstream registry in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RegistryInfo {
    pub kind: RegistryKind,
    /// The value tools take as `upstream_registry`, e.g. `docker-hub`.
    pub name: &'static str,
    pub display_name: &'static str,
    /// The host a PTC rule or registry mapping must name; `None` where it is per customer
    /// (Azure: `<name>.azurecr.io`) or per region (Artifact Registry: `<region>-docker.pkg.dev`).
    pub upstream_url: Option<&'static str>,
    /// Other hosts that reach the same registry in image references (normalised away on parse).
    pub aliases: &'static [&'static str],
    /// Other spellings accepted for `name`.
    pub name_aliases: &'static [&'static str],
    /// The ECR repository prefix we suggest (the AWS guide's examples for PTC upstreams).
    pub default_prefix: &'static str,
    /// The `upstreamRegistry` value of ECR's CreatePullThroughCacheRule, for PTC upstreams.
    pub ecr_upstream_registry: Option<&'static str>,
    pub access_path: AccessPath,
    /// A Secrets Manager credential is required: on the PTC rule (under `ecr-pullthroughcache/`)
    /// for PTC upstreams, as the mapping's `credentialArn` for HealthOmics-copy hosts.
    pub credentials_required: bool,
}

static CATALOG: &[RegistryInfo] = &[
    RegistryInfo {
        kind: RegistryKind::DockerHub,
        name: "docker-hub",
        display_name: "Docker Hub",
        upstream_url: Some(DOCKER_HUB_REGISTRY),
        aliases: &DOCKER_HUB_ALIASES,
        name_aliases: &["dockerhub", "docker"],
        default_prefix: "docker-hub",
        ecr_upstream_registry: Some("docker-hub"),
        access_path: AccessPath::PullThroughCache,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::Quay,
        name: "quay",
        display_name: "Quay",
        upstream_url: Some("quay.io"),
        aliases: &[],
        name_aliases: &[],
        default_prefix: "quay",
        ecr_upstream_registry: Some("quay"),
        access_path: AccessPath::PullThroughCache,
        credentials_required: false,
    },
    RegistryInfo {
        kind: RegistryKind::EcrPublic,
        name: "ecr-public",
        display_name: "Amazon ECR Public",
        upstream_url: Some("public.ecr.aws"),
        aliases: &[],
        name_aliases: &["ecrpublic", "public-ecr"],
        default_prefix: "ecr-public",
        ecr_upstream_registry: Some("ecr-public"),
        access_path: AccessPath::PullThroughCache,
        credentials_required: false,
    },
    RegistryInfo {
        kind: RegistryKind::Kubernetes,
        name: "kubernetes",
        display_name: "Kubernetes container image registry",
        upstream_url: Some("registry.k8s.io"),
        aliases: &[],
        name_aliases: &["k8s"],
        default_prefix: "kubernetes",
        ecr_upstream_registry: Some("k8s"),
        access_path: AccessPath::PullThroughCache,
        credentials_required: false,
    },
    RegistryInfo {
        kind: RegistryKind::GitHub,
        name: "github",
        display_name: "GitHub Container Registry",
        upstream_url: Some("ghcr.io"),
        aliases: &[],
        name_aliases: &["ghcr"],
        default_prefix: "github",
        ecr_upstream_registry: Some("github-container-registry"),
        access_path: AccessPath::PullThroughCache,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::GitLab,
        name: "gitlab",
        display_name: "GitLab Container Registry",
        upstream_url: Some("registry.gitlab.com"),
        aliases: &[],
        name_aliases: &[],
        default_prefix: "gitlab",
        ecr_upstream_registry: Some("gitlab-container-registry"),
        access_path: AccessPath::PullThroughCache,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::Azure,
        name: "azure",
        display_name: "Microsoft Azure Container Registry",
        upstream_url: None,
        aliases: &[],
        name_aliases: &["acr", "azurecr"],
        default_prefix: "azure",
        ecr_upstream_registry: Some("azure-container-registry"),
        access_path: AccessPath::PullThroughCache,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::SeqeraCommunity,
        name: "seqera-community",
        display_name: "Seqera Containers (community.wave.seqera.io)",
        upstream_url: Some("community.wave.seqera.io"),
        aliases: &[],
        name_aliases: &["community-wave", "seqera-containers"],
        default_prefix: "seqera-community",
        ecr_upstream_registry: None,
        access_path: AccessPath::HealthOmicsCopy,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::SeqeraWave,
        name: "seqera-wave",
        display_name: "Seqera Wave (wave.seqera.io)",
        upstream_url: Some("wave.seqera.io"),
        aliases: &[],
        name_aliases: &["wave"],
        default_prefix: "seqera-wave",
        ecr_upstream_registry: None,
        access_path: AccessPath::HealthOmicsCopy,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::NvidiaNgc,
        name: "nvidia-ngc",
        display_name: "NVIDIA NGC",
        upstream_url: Some("nvcr.io"),
        aliases: &[],
        name_aliases: &["ngc", "nvcr", "nvidia"],
        default_prefix: "nvidia-ngc",
        ecr_upstream_registry: None,
        access_path: AccessPath::HealthOmicsCopy,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::GoogleContainerRegistry,
        name: "gcr",
        display_name: "Google Container Registry",
        upstream_url: Some("gcr.io"),
        aliases: &[],
        name_aliases: &["google-container-registry"],
        default_prefix: "gcr",
        ecr_upstream_registry: None,
        access_path: AccessPath::HealthOmicsCopy,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::GoogleArtifactRegistry,
        name: "google-artifact-registry",
        display_name: "Google Artifact Registry",
        upstream_url: None,
        aliases: &[],
        name_aliases: &["gar", "artifact-registry"],
        // One mapping per regional host: add the region (`gar-us-central1`) when using several.
        default_prefix: "gar",
        ecr_upstream_registry: None,
        access_path: AccessPath::HealthOmicsCopy,
        credentials_required: true,
    },
    RegistryInfo {
        kind: RegistryKind::MicrosoftContainerRegistry,
        name: "mcr",
        display_name: "Microsoft Artifact Registry (mcr.microsoft.com)",
        upstream_url: Some("mcr.microsoft.com"),
        aliases: &[],
        name_aliases: &["microsoft"],
        default_prefix: "mcr",
        ecr_upstream_registry: None,
        access_path: AccessPath::Unsupported,
        credentials_required: false,
    },
];

/// Every catalogued upstream registry, in a stable order.
pub fn catalog() -> &'static [RegistryInfo] {
    CATALOG
}

/// The catalog entry of a kind, if it has one (`PrivateEcr` and `Other` do not).
pub fn lookup_by_kind(kind: RegistryKind) -> Option<&'static RegistryInfo> {
    CATALOG.iter().find(|info| info.kind == kind)
}

/// Finds a registry by the name a tool parameter gives (`docker-hub`, `quay`, `ecr-public`,
/// `kubernetes`, `github`, `gitlab`, `azure`, …), an obvious alias (`dockerhub`, `k8s`, `ghcr`),
/// ECR's `upstreamRegistry` value, or its host. Case and `_`/`-` do not matter.
///
/// Returns non-PTC registries too, so a caller can say why one cannot get a PTC rule: check
/// `access_path` before creating one.
pub fn lookup_by_name(name: &str) -> Option<&'static RegistryInfo> {
    let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
    if wanted.is_empty() {
        return None;
    }
    CATALOG.iter().find(|info| {
        info.name == wanted
            || info.name_aliases.contains(&wanted.as_str())
            || info.ecr_upstream_registry == Some(wanted.as_str())
            || info.upstream_url == Some(wanted.as_str())
            || info.aliases.contains(&wanted.as_str())
    })
}

/// The names `CreatePullThroughCacheForHealthOmics` accepts, in catalog order.
pub fn supported_pull_through_names() -> Vec<&'static str> {
    CATALOG
        .iter()
        .filter(|info| info.access_path == AccessPath::PullThroughCache)
        .map(|info| info.name)
        .collect()
}

/// What a host is and how HealthOmics can reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HostClass {
    /// The host as classified: trimmed and lowercased.
    pub host: String,
    pub kind: RegistryKind,
    pub access_path: AccessPath,
    /// The spelling a PTC rule or registry mapping must use for this host
    /// (`registry-1.docker.io` for `docker.io`).
    pub upstream_registry_url: String,
    /// Anything a user should know about this host, with what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl HostClass {
    /// The catalog entry behind this host, if any.
    pub fn info(&self) -> Option<&'static RegistryInfo> {
        lookup_by_kind(self.kind)
    }
}

/// Classifies any registry host. Exact catalogued hosts and aliases, `<name>.azurecr.io`,
/// `<region>-docker.pkg.dev` and private ECR hosts are recognised; everything else is
/// `Other`/`Unsupported`. Hosts compare lowercase.
/// The ECR repository prefix for images of `host`: the catalog's, made per host where one kind
/// has many hosts (`gar-us-central1`, `azure-myreg`), else the host with dots as dashes. The one
/// rule every tool uses, so a cache, a copy mapping and a clone of one host agree.
pub fn default_ecr_prefix(host: &str) -> String {
    let class = classify_host(host);
    let derived = host
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .replace('.', "-");
    let catalog = class
        .info()
        .map_or(derived.clone(), |i| i.default_prefix.to_owned());
    let specific = match class.kind {
        RegistryKind::GoogleArtifactRegistry => host
            .strip_suffix("-docker.pkg.dev")
            .map(|location| format!("{catalog}-{location}")),
        RegistryKind::Azure => host
            .strip_suffix(".azurecr.io")
            .map(|name| format!("{catalog}-{name}")),
        _ => None,
    };
    [specific, Some(catalog)]
        .into_iter()
        .flatten()
        .find(|p| crate::core::image_ref::validate_ptc_prefix(p).is_ok())
        .unwrap_or_else(|| "upstream".to_owned())
}

pub fn classify_host(host: &str) -> HostClass {
    let h = host.trim().to_ascii_lowercase();
    let class = |kind, access_path, url: &str, note: Option<String>| HostClass {
        host: h.clone(),
        kind,
        access_path,
        upstream_registry_url: url.to_owned(),
        note,
    };

    if let Some(info) = CATALOG
        .iter()
        .find(|info| info.upstream_url == Some(h.as_str()) || info.aliases.contains(&h.as_str()))
    {
        let url = info.upstream_url.unwrap_or(h.as_str());
        let note = (info.access_path == AccessPath::Unsupported).then(|| unsupported_note(&h));
        return class(info.kind, info.access_path, url, note);
    }
    if EcrRegistryHost::parse(&h).is_some() {
        return class(
            RegistryKind::PrivateEcr,
            AccessPath::PrivateEcr,
            &h,
            Some(
                "a private ECR registry: HealthOmics pulls from it directly when it is in the run's region and the repository policy grants omics.amazonaws.com; it cannot be a pull-through cache upstream"
                    .into(),
            ),
        );
    }
    if let Some(name) = h.strip_suffix(".azurecr.io")
        && is_dns_label(name)
    {
        return class(RegistryKind::Azure, AccessPath::PullThroughCache, &h, None);
    }
    if let Some(location) = h.strip_suffix("-docker.pkg.dev") {
        match artifact_registry_location(location) {
            Some(GarLocation::Regional) => {
                return class(
                    RegistryKind::GoogleArtifactRegistry,
                    AccessPath::HealthOmicsCopy,
                    &h,
                    None,
                );
            }
            Some(GarLocation::MultiRegion) => {
                return class(
                    RegistryKind::GoogleArtifactRegistry,
                    AccessPath::HealthOmicsCopy,
                    &h,
                    Some(gar_multi_region_message(&h)),
                );
            }
            None => {}
        }
    }
    let note = near_miss(host).map_or_else(|| unsupported_note(&h), |miss| miss.message);
    class(RegistryKind::Other, AccessPath::Unsupported, &h, Some(note))
}

fn unsupported_note(host: &str) -> String {
    format!(
        "`{host}` is neither a pull-through cache upstream nor a registry HealthOmics copies from: copy the image into private ECR with CloneContainerToECR, or map it with an image mapping to a repository you fill"
    )
}

fn gar_multi_region_message(host: &str) -> String {
    format!(
        "`{host}` is a multi-region Artifact Registry host; HealthOmics documents regional hosts (`<region>-docker.pkg.dev`, e.g. `us-central1-docker.pkg.dev`), so copying from it is unconfirmed: map this exact host and check the first run, or copy the image with CloneContainerToECR"
    )
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

enum GarLocation {
    Regional,
    MultiRegion,
}

/// `us-central1` is a region, `us`/`europe`/`asia` are multi-regions, anything else is not a
/// Google Cloud location.
fn artifact_registry_location(location: &str) -> Option<GarLocation> {
    let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    match location.split_once('-') {
        None if matches!(location, "us" | "europe" | "asia") => Some(GarLocation::MultiRegion),
        None => None,
        Some((area, direction)) => {
            let digits_at = direction.find(|c: char| c.is_ascii_digit())?;
            let (word, number) = direction.split_at(digits_at);
            (letters(area)
                && area.len() >= 2
                && letters(word)
                && number.bytes().all(|b| b.is_ascii_digit()))
            .then_some(GarLocation::Regional)
        }
    }
}

/// Why a host string is probably not the one meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NearMissReason {
    Whitespace,
    Scheme,
    TrailingSlash,
    /// A repository path after the host.
    Path,
    Uppercase,
    /// `:443`, which makes the string differ from the host.
    DefaultPort,
    /// `docker.io` and friends instead of `registry-1.docker.io`.
    DockerHubAlias,
    /// A retired host (`k8s.gcr.io`, `docker.pkg.github.com`).
    LegacyHost,
    /// The registry's website rather than its registry host (`gitlab.com`).
    WebsiteHost,
    /// A wildcard or a bare domain where one exact host is needed.
    Wildcard,
    GarMultiRegion,
    /// `us.gcr.io` and other regional GCR hosts, which HealthOmics does not list.
    GcrRegional,
    /// A valid but different host of the same provider (`wave.seqera.io` for `community.wave.seqera.io`).
    SiblingHost,
    /// An Artifact Registry host of another location.
    OtherLocation,
}

/// A host that is probably a slip, with the spelling to use when one is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NearMiss {
    pub given: String,
    /// The host to write instead, when there is one answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    pub reasons: Vec<NearMissReason>,
    /// What is wrong and what to do, for the user.
    pub message: String,
}

/// Flags a registry host (as written in a PTC rule, registry mapping or parameter) that is
/// probably not what was meant: `docker.io` for `registry-1.docker.io`, `https://quay.io/`,
/// uppercase, wildcards, retired or website hosts, and hosts HealthOmics does not list in that
/// form. `None` for a clean host.
pub fn near_miss(host: &str) -> Option<NearMiss> {
    let mut reasons = Vec::new();
    let mut fixes: Vec<String> = Vec::new();

    let mut h = host.trim();
    if h != host {
        reasons.push(NearMissReason::Whitespace);
        fixes.push("remove the surrounding whitespace".into());
    }
    if let Some((scheme, rest)) = h.split_once("://") {
        reasons.push(NearMissReason::Scheme);
        fixes.push(format!("drop the `{scheme}://` scheme"));
        h = rest;
    }
    if let Some((bare, path)) = h.split_once('/') {
        if path.trim_matches('/').is_empty() {
            reasons.push(NearMissReason::TrailingSlash);
            fixes.push("drop the trailing `/`".into());
        } else {
            reasons.push(NearMissReason::Path);
            fixes.push(format!(
                "keep only the host: the path `{}` belongs in upstreamRepositoryPrefix or an image mapping",
                path.trim_matches('/')
            ));
        }
        h = bare;
    }
    let mut clean = h.to_owned();
    if clean.bytes().any(|b| b.is_ascii_uppercase()) {
        reasons.push(NearMissReason::Uppercase);
        fixes.push("write it in lowercase".into());
        clean = clean.to_ascii_lowercase();
    }
    if let Some(bare) = clean.strip_suffix(":443") {
        reasons.push(NearMissReason::DefaultPort);
        fixes.push("drop the `:443` port".into());
        clean = bare.to_owned();
    }
    let mut suggestion = (!reasons.is_empty()).then(|| clean.clone());

    let mut replace = |reason, fix: String, to: &str| {
        reasons.push(reason);
        fixes.push(fix);
        suggestion = Some(to.to_owned());
    };
    match clean.as_str() {
        "docker.io" | "index.docker.io" | "registry.hub.docker.com" | "hub.docker.com" => replace(
            NearMissReason::DockerHubAlias,
            format!(
                "Docker Hub's registry host is `{DOCKER_HUB_REGISTRY}`, the spelling ECR pull-through cache and HealthOmics registry mappings expect"
            ),
            DOCKER_HUB_REGISTRY,
        ),
        "k8s.gcr.io" => replace(
            NearMissReason::LegacyHost,
            "`k8s.gcr.io` is frozen; Kubernetes images are served from `registry.k8s.io`".into(),
            "registry.k8s.io",
        ),
        "docker.pkg.github.com" => replace(
            NearMissReason::LegacyHost,
            "GitHub's old package registry was replaced by `ghcr.io`".into(),
            "ghcr.io",
        ),
        "gitlab.com" => replace(
            NearMissReason::WebsiteHost,
            "GitLab's container registry host is `registry.gitlab.com`".into(),
            "registry.gitlab.com",
        ),
        "ngc.nvidia.com" | "catalog.ngc.nvidia.com" => replace(
            NearMissReason::WebsiteHost,
            "NVIDIA NGC's registry host is `nvcr.io`".into(),
            "nvcr.io",
        ),
        "gallery.ecr.aws" => replace(
            NearMissReason::WebsiteHost,
            "the ECR Public gallery's registry host is `public.ecr.aws`".into(),
            "public.ecr.aws",
        ),
        "seqera.io" => replace(
            NearMissReason::WebsiteHost,
            "Seqera Containers are served from `community.wave.seqera.io` (and Wave images from `wave.seqera.io`)".into(),
            "community.wave.seqera.io",
        ),
        "azurecr.io" | "*.azurecr.io" => {
            reasons.push(NearMissReason::Wildcard);
            fixes.push(
                "name one Azure registry, as in `myregistry.azurecr.io`: each needs its own rule"
                    .into(),
            );
            suggestion = None;
        }
        "pkg.dev" | "docker.pkg.dev" | "*.pkg.dev" | "*-docker.pkg.dev" => {
            reasons.push(NearMissReason::Wildcard);
            fixes.push(
                "name the full regional host, as in `us-central1-docker.pkg.dev`: HealthOmics matches hosts exactly and has no wildcard"
                    .into(),
            );
            suggestion = None;
        }
        "us.gcr.io" | "eu.gcr.io" | "asia.gcr.io" => {
            reasons.push(NearMissReason::GcrRegional);
            fixes.push(format!(
                "HealthOmics lists only `gcr.io` among Container Registry hosts, so `{clean}` is not copied for you: copy these images with CloneContainerToECR"
            ));
        }
        other => {
            if let Some(location) = other.strip_suffix("-docker.pkg.dev")
                && matches!(
                    artifact_registry_location(location),
                    Some(GarLocation::MultiRegion)
                )
            {
                reasons.push(NearMissReason::GarMultiRegion);
                fixes.push(gar_multi_region_message(other));
            }
        }
    }

    if reasons.is_empty() {
        return None;
    }
    let mut message = format!("registry host `{host}`: {}", fixes.join("; "));
    if let Some(s) = &suggestion {
        message.push_str(&format!(": write `{s}`"));
    }
    Some(NearMiss {
        given: host.to_owned(),
        suggestion,
        reasons,
        message,
    })
}

/// Flags a registry mapping whose `upstreamRegistryUrl` does not equal the image's host but was
/// probably meant for it. HealthOmics matches the host exactly, so these mappings silently do
/// nothing. `image_host` is the normalised registry of the image (`registry-1.docker.io` for
/// Docker Hub images).
pub fn mapping_near_miss(mapping_url: &str, image_host: &str) -> Option<NearMiss> {
    if mapping_url == image_host {
        return None;
    }
    let image = image_host.trim().to_ascii_lowercase();
    let image = if DOCKER_HUB_ALIASES.contains(&image.as_str()) {
        DOCKER_HUB_REGISTRY.to_owned()
    } else {
        image
    };
    let does_not_match = format!(
        "the registry mapping for `{mapping_url}` does not match images on `{image_host}` (HealthOmics compares hosts exactly)"
    );
    let miss = |reasons: Vec<NearMissReason>, suggestion: Option<String>, fix: String| NearMiss {
        given: mapping_url.to_owned(),
        suggestion,
        reasons,
        message: format!("{does_not_match}: {fix}"),
    };

    if let Some(found) = near_miss(mapping_url)
        && found.suggestion.as_deref() == Some(image.as_str())
    {
        let fix = format!("write `{image}`");
        return Some(miss(found.reasons, found.suggestion, fix));
    }
    if mapping_url.trim().eq_ignore_ascii_case(image_host.trim()) {
        return Some(miss(
            vec![NearMissReason::Uppercase],
            Some(image_host.trim().to_owned()),
            format!("write `{}` exactly as the images do", image_host.trim()),
        ));
    }
    let mapped = mapping_url.trim().to_ascii_lowercase();
    let add_mapping = format!("add a separate mapping for `{image}`");
    let seqera = ["wave.seqera.io", "community.wave.seqera.io"];
    if seqera.contains(&mapped.as_str()) && seqera.contains(&image.as_str()) {
        return Some(miss(
            vec![NearMissReason::SiblingHost],
            Some(image.clone()),
            format!("the two Seqera hosts are distinct registries; {add_mapping}"),
        ));
    }
    if mapped.ends_with("-docker.pkg.dev") && image.ends_with("-docker.pkg.dev") {
        return Some(miss(
            vec![NearMissReason::OtherLocation],
            Some(image.clone()),
            format!("Artifact Registry needs one mapping per regional host; {add_mapping}"),
        ));
    }
    let is_gcr = |h: &str| h == "gcr.io" || h.ends_with(".gcr.io");
    if is_gcr(&mapped) && is_gcr(&image) {
        return Some(miss(
            vec![NearMissReason::GcrRegional],
            Some(image.clone()),
            format!(
                "each Container Registry host is separate and HealthOmics copies only from `gcr.io`; for images on `{image}` use CloneContainerToECR"
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {

    #[test]
    fn one_prefix_rule_for_every_host() {
        let table = [
            ("quay.io", "quay"),
            ("registry-1.docker.io", "docker-hub"),
            ("us-central1-docker.pkg.dev", "gar-us-central1"),
            ("myreg.azurecr.io", "azure-myreg"),
            ("community.wave.seqera.io", "seqera-community"),
            ("registry.example.org:5000", "registry-example-org"),
        ];
        for (host, prefix) in table {
            assert_eq!(default_ecr_prefix(host), prefix, "{host}");
        }
    }

    use super::*;

    use AccessPath::{HealthOmicsCopy, PullThroughCache, Unsupported};

    #[test]
    fn classify_every_host() {
        let rows: &[(&str, RegistryKind, AccessPath, &str)] = &[
            // Pull-through cache upstreams HealthOmics supports.
            (
                "public.ecr.aws",
                RegistryKind::EcrPublic,
                PullThroughCache,
                "public.ecr.aws",
            ),
            (
                "registry.k8s.io",
                RegistryKind::Kubernetes,
                PullThroughCache,
                "registry.k8s.io",
            ),
            ("quay.io", RegistryKind::Quay, PullThroughCache, "quay.io"),
            (
                "registry-1.docker.io",
                RegistryKind::DockerHub,
                PullThroughCache,
                "registry-1.docker.io",
            ),
            (
                "docker.io",
                RegistryKind::DockerHub,
                PullThroughCache,
                "registry-1.docker.io",
            ),
            (
                "index.docker.io",
                RegistryKind::DockerHub,
                PullThroughCache,
                "registry-1.docker.io",
            ),
            (
                "myregistry.azurecr.io",
                RegistryKind::Azure,
                PullThroughCache,
                "myregistry.azurecr.io",
            ),
            ("ghcr.io", RegistryKind::GitHub, PullThroughCache, "ghcr.io"),
            (
                "registry.gitlab.com",
                RegistryKind::GitLab,
                PullThroughCache,
                "registry.gitlab.com",
            ),
            // Hosts HealthOmics copies from itself.
            (
                "community.wave.seqera.io",
                RegistryKind::SeqeraCommunity,
                HealthOmicsCopy,
                "community.wave.seqera.io",
            ),
            (
                "wave.seqera.io",
                RegistryKind::SeqeraWave,
                HealthOmicsCopy,
                "wave.seqera.io",
            ),
            (
                "nvcr.io",
                RegistryKind::NvidiaNgc,
                HealthOmicsCopy,
                "nvcr.io",
            ),
            (
                "gcr.io",
                RegistryKind::GoogleContainerRegistry,
                HealthOmicsCopy,
                "gcr.io",
            ),
            (
                "us-central1-docker.pkg.dev",
                RegistryKind::GoogleArtifactRegistry,
                HealthOmicsCopy,
                "us-central1-docker.pkg.dev",
            ),
            (
                "europe-west4-docker.pkg.dev",
                RegistryKind::GoogleArtifactRegistry,
                HealthOmicsCopy,
                "europe-west4-docker.pkg.dev",
            ),
            (
                "northamerica-northeast1-docker.pkg.dev",
                RegistryKind::GoogleArtifactRegistry,
                HealthOmicsCopy,
                "northamerica-northeast1-docker.pkg.dev",
            ),
            (
                "us-docker.pkg.dev",
                RegistryKind::GoogleArtifactRegistry,
                HealthOmicsCopy,
                "us-docker.pkg.dev",
            ),
            // Private ECR.
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                RegistryKind::PrivateEcr,
                AccessPath::PrivateEcr,
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                RegistryKind::PrivateEcr,
                AccessPath::PrivateEcr,
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                RegistryKind::PrivateEcr,
                AccessPath::PrivateEcr,
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            ),
            // Unsupported.
            (
                "mcr.microsoft.com",
                RegistryKind::MicrosoftContainerRegistry,
                Unsupported,
                "mcr.microsoft.com",
            ),
            (
                "harbor.example.com",
                RegistryKind::Other,
                Unsupported,
                "harbor.example.com",
            ),
            (
                "localhost:5000",
                RegistryKind::Other,
                Unsupported,
                "localhost:5000",
            ),
            (
                "docker.elastic.co",
                RegistryKind::Other,
                Unsupported,
                "docker.elastic.co",
            ),
            ("us.gcr.io", RegistryKind::Other, Unsupported, "us.gcr.io"),
            (
                "quay.io:443",
                RegistryKind::Other,
                Unsupported,
                "quay.io:443",
            ),
            ("azurecr.io", RegistryKind::Other, Unsupported, "azurecr.io"),
            (
                "a.b.azurecr.io",
                RegistryKind::Other,
                Unsupported,
                "a.b.azurecr.io",
            ),
            (
                "docker.pkg.dev",
                RegistryKind::Other,
                Unsupported,
                "docker.pkg.dev",
            ),
            (
                "foo-docker.pkg.dev",
                RegistryKind::Other,
                Unsupported,
                "foo-docker.pkg.dev",
            ),
            (
                "us-central-docker.pkg.dev",
                RegistryKind::Other,
                Unsupported,
                "us-central-docker.pkg.dev",
            ),
            (
                "us-central1-python.pkg.dev",
                RegistryKind::Other,
                Unsupported,
                "us-central1-python.pkg.dev",
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
                RegistryKind::Other,
                Unsupported,
                "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
            ),
        ];
        for (host, kind, access, url) in rows {
            let class = classify_host(host);
            assert_eq!(
                (
                    class.kind,
                    class.access_path,
                    class.upstream_registry_url.as_str()
                ),
                (*kind, *access, *url),
                "{host}"
            );
            let upper = classify_host(&format!("  {}  ", host.to_ascii_uppercase()));
            assert_eq!(
                (upper.kind, upper.access_path),
                (*kind, *access),
                "hosts compare lowercase: {host}"
            );
            if *access == Unsupported {
                assert!(class.note.is_some(), "{host} needs advice");
            }
        }
        assert!(
            classify_host("us-docker.pkg.dev")
                .note
                .is_some_and(|n| n.contains("unconfirmed"))
        );
        assert!(classify_host("us-central1-docker.pkg.dev").note.is_none());
        assert!(
            classify_host("quay.io:443")
                .note
                .is_some_and(|n| n.contains(":443"))
        );
        assert_eq!(
            classify_host("docker.io").info().map(|i| i.name),
            Some("docker-hub")
        );
        assert_eq!(classify_host("harbor.example.com").info(), None);
    }

    #[test]
    fn catalog_facts() {
        let ptc: &[(&str, &str, Option<&str>, &str, bool)] = &[
            (
                "docker-hub",
                "docker-hub",
                Some("registry-1.docker.io"),
                "docker-hub",
                true,
            ),
            ("quay", "quay", Some("quay.io"), "quay", false),
            (
                "ecr-public",
                "ecr-public",
                Some("public.ecr.aws"),
                "ecr-public",
                false,
            ),
            (
                "kubernetes",
                "kubernetes",
                Some("registry.k8s.io"),
                "k8s",
                false,
            ),
            (
                "github",
                "github",
                Some("ghcr.io"),
                "github-container-registry",
                true,
            ),
            (
                "gitlab",
                "gitlab",
                Some("registry.gitlab.com"),
                "gitlab-container-registry",
                true,
            ),
            ("azure", "azure", None, "azure-container-registry", true),
        ];
        for (name, prefix, url, ecr, creds) in ptc {
            let info = lookup_by_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(info.name, *name);
            assert_eq!(info.default_prefix, *prefix);
            assert_eq!(info.upstream_url, *url);
            assert_eq!(info.ecr_upstream_registry, Some(*ecr));
            assert_eq!(info.access_path, PullThroughCache);
            assert_eq!(info.credentials_required, *creds, "{name}");
            assert!(crate::core::image_ref::validate_ptc_prefix(info.default_prefix).is_ok());
        }
        assert_eq!(
            supported_pull_through_names(),
            vec![
                "docker-hub",
                "quay",
                "ecr-public",
                "kubernetes",
                "github",
                "gitlab",
                "azure"
            ]
        );
        assert_eq!(
            lookup_by_kind(RegistryKind::DockerHub).map(|i| i.aliases),
            Some(&["docker.io", "index.docker.io"][..])
        );
        for info in catalog() {
            assert_eq!(
                lookup_by_kind(info.kind).map(|i| i.name),
                Some(info.name),
                "one entry per kind"
            );
            assert!(
                crate::core::image_ref::validate_ptc_prefix(info.default_prefix).is_ok(),
                "{}",
                info.name
            );
            assert_eq!(
                info.ecr_upstream_registry.is_some(),
                info.access_path == PullThroughCache,
                "{}",
                info.name
            );
            if info.access_path == HealthOmicsCopy {
                assert!(
                    info.credentials_required,
                    "HealthOmics copy mappings need credentialArn: {}",
                    info.name
                );
            }
            if let Some(url) = info.upstream_url {
                assert_eq!(classify_host(url).kind, info.kind, "{url}");
            }
        }
        assert_eq!(lookup_by_kind(RegistryKind::PrivateEcr), None);
        assert_eq!(lookup_by_kind(RegistryKind::Other), None);
        let json = serde_json::to_value(lookup_by_name("quay")).unwrap_or_default();
        assert_eq!(json["access_path"], "pull_through_cache");
        assert_eq!(json["kind"], "quay");
        assert_eq!(
            serde_json::to_value(RegistryKind::GoogleArtifactRegistry).unwrap_or_default(),
            "google_artifact_registry"
        );
        assert_eq!(
            serde_json::to_value(HealthOmicsCopy).unwrap_or_default(),
            "healthomics_copy"
        );
    }

    #[test]
    fn lookup_aliases() {
        let rows = [
            ("dockerhub", "docker-hub"),
            ("Docker_Hub", "docker-hub"),
            ("docker", "docker-hub"),
            ("docker.io", "docker-hub"),
            ("registry-1.docker.io", "docker-hub"),
            (" QUAY ", "quay"),
            ("quay.io", "quay"),
            ("k8s", "kubernetes"),
            ("registry.k8s.io", "kubernetes"),
            ("ghcr", "github"),
            ("ghcr.io", "github"),
            ("github-container-registry", "github"),
            ("gitlab-container-registry", "gitlab"),
            ("acr", "azure"),
            ("azure-container-registry", "azure"),
            ("public.ecr.aws", "ecr-public"),
            ("wave", "seqera-wave"),
            ("community.wave.seqera.io", "seqera-community"),
            ("ngc", "nvidia-ngc"),
            ("gcr.io", "gcr"),
            ("gar", "google-artifact-registry"),
            ("mcr.microsoft.com", "mcr"),
        ];
        for (given, name) in rows {
            assert_eq!(lookup_by_name(given).map(|i| i.name), Some(name), "{given}");
        }
        for unknown in ["", "  ", "harbor", "private-ecr", "docker hub"] {
            assert_eq!(lookup_by_name(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn near_misses() {
        let rows: &[(&str, Option<&str>, &[NearMissReason])] = &[
            (
                "docker.io",
                Some("registry-1.docker.io"),
                &[NearMissReason::DockerHubAlias],
            ),
            (
                "index.docker.io",
                Some("registry-1.docker.io"),
                &[NearMissReason::DockerHubAlias],
            ),
            (
                "hub.docker.com",
                Some("registry-1.docker.io"),
                &[NearMissReason::DockerHubAlias],
            ),
            (
                "https://quay.io/",
                Some("quay.io"),
                &[NearMissReason::Scheme, NearMissReason::TrailingSlash],
            ),
            (
                "quay.io/",
                Some("quay.io"),
                &[NearMissReason::TrailingSlash],
            ),
            ("QUAY.IO", Some("quay.io"), &[NearMissReason::Uppercase]),
            (" ghcr.io ", Some("ghcr.io"), &[NearMissReason::Whitespace]),
            (
                "quay.io:443",
                Some("quay.io"),
                &[NearMissReason::DefaultPort],
            ),
            (
                "quay.io/biocontainers",
                Some("quay.io"),
                &[NearMissReason::Path],
            ),
            (
                "HTTPS://Docker.io/",
                Some("registry-1.docker.io"),
                &[
                    NearMissReason::Scheme,
                    NearMissReason::TrailingSlash,
                    NearMissReason::Uppercase,
                    NearMissReason::DockerHubAlias,
                ],
            ),
            (
                "k8s.gcr.io",
                Some("registry.k8s.io"),
                &[NearMissReason::LegacyHost],
            ),
            (
                "docker.pkg.github.com",
                Some("ghcr.io"),
                &[NearMissReason::LegacyHost],
            ),
            (
                "gitlab.com",
                Some("registry.gitlab.com"),
                &[NearMissReason::WebsiteHost],
            ),
            (
                "ngc.nvidia.com",
                Some("nvcr.io"),
                &[NearMissReason::WebsiteHost],
            ),
            (
                "gallery.ecr.aws",
                Some("public.ecr.aws"),
                &[NearMissReason::WebsiteHost],
            ),
            (
                "seqera.io",
                Some("community.wave.seqera.io"),
                &[NearMissReason::WebsiteHost],
            ),
            ("*.azurecr.io", None, &[NearMissReason::Wildcard]),
            ("azurecr.io", None, &[NearMissReason::Wildcard]),
            ("docker.pkg.dev", None, &[NearMissReason::Wildcard]),
            ("*.pkg.dev", None, &[NearMissReason::Wildcard]),
            ("us-docker.pkg.dev", None, &[NearMissReason::GarMultiRegion]),
            (
                "europe-docker.pkg.dev",
                None,
                &[NearMissReason::GarMultiRegion],
            ),
            ("eu.gcr.io", None, &[NearMissReason::GcrRegional]),
        ];
        for (host, suggestion, reasons) in rows {
            let miss = near_miss(host).unwrap_or_else(|| panic!("{host} is a near miss"));
            assert_eq!(miss.suggestion.as_deref(), *suggestion, "{host}");
            assert_eq!(miss.reasons, *reasons, "{host}");
            assert_eq!(miss.given, *host);
            assert!(
                miss.message.contains(host.trim()),
                "{host}: {}",
                miss.message
            );
            if let Some(s) = suggestion {
                assert!(
                    miss.message.contains(&format!("write `{s}`")),
                    "{}",
                    miss.message
                );
            }
        }
        for clean in [
            "registry-1.docker.io",
            "quay.io",
            "public.ecr.aws",
            "registry.k8s.io",
            "ghcr.io",
            "registry.gitlab.com",
            "myregistry.azurecr.io",
            "wave.seqera.io",
            "community.wave.seqera.io",
            "nvcr.io",
            "gcr.io",
            "us-central1-docker.pkg.dev",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "harbor.example.com",
            "localhost:5000",
        ] {
            assert_eq!(near_miss(clean), None, "{clean}");
        }
    }

    #[test]
    fn mapping_near_misses() {
        let rows: &[(&str, &str, Option<NearMissReason>, Option<&str>)] = &[
            (
                "docker.io",
                "registry-1.docker.io",
                Some(NearMissReason::DockerHubAlias),
                Some("registry-1.docker.io"),
            ),
            (
                "index.docker.io",
                "registry-1.docker.io",
                Some(NearMissReason::DockerHubAlias),
                Some("registry-1.docker.io"),
            ),
            (
                "https://quay.io/",
                "quay.io",
                Some(NearMissReason::Scheme),
                Some("quay.io"),
            ),
            (
                "Quay.io",
                "quay.io",
                Some(NearMissReason::Uppercase),
                Some("quay.io"),
            ),
            (
                "quay.io",
                "Quay.io",
                Some(NearMissReason::Uppercase),
                Some("Quay.io"),
            ),
            (
                "wave.seqera.io",
                "community.wave.seqera.io",
                Some(NearMissReason::SiblingHost),
                Some("community.wave.seqera.io"),
            ),
            (
                "community.wave.seqera.io",
                "wave.seqera.io",
                Some(NearMissReason::SiblingHost),
                Some("wave.seqera.io"),
            ),
            (
                "us-docker.pkg.dev",
                "us-central1-docker.pkg.dev",
                Some(NearMissReason::OtherLocation),
                Some("us-central1-docker.pkg.dev"),
            ),
            (
                "us-east1-docker.pkg.dev",
                "us-central1-docker.pkg.dev",
                Some(NearMissReason::OtherLocation),
                Some("us-central1-docker.pkg.dev"),
            ),
            (
                "gcr.io",
                "us.gcr.io",
                Some(NearMissReason::GcrRegional),
                Some("us.gcr.io"),
            ),
            // Not near misses: exact, unrelated, or both fine on their own.
            ("quay.io", "quay.io", None, None),
            ("wave.seqera.io", "wave.seqera.io", None, None),
            ("quay.io", "ghcr.io", None, None),
            ("docker.io", "quay.io", None, None),
            ("a.azurecr.io", "b.azurecr.io", None, None),
            ("registry-1.docker.io", "quay.io", None, None),
        ];
        for (mapping, image, reason, suggestion) in rows {
            let miss = mapping_near_miss(mapping, image);
            assert_eq!(
                miss.as_ref().and_then(|m| m.reasons.first().copied()),
                *reason,
                "{mapping} vs {image}"
            );
            assert_eq!(
                miss.as_ref().and_then(|m| m.suggestion.as_deref()),
                *suggestion,
                "{mapping} vs {image}"
            );
            if let Some(m) = miss {
                assert!(
                    m.message.contains("does not match images on"),
                    "{}",
                    m.message
                );
            }
        }
    }
}
