//! The HealthOmics container registry map as the API spells it, the result of applying one to an
//! image, the pull-through caches discovery reports, and how two mappings' hosts compare.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::registries;

/// A HealthOmics `registryMappings` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryMapping {
    /// Upstream host, matched exactly, e.g. `quay.io`.
    pub upstream_registry_url: String,
    /// ECR prefix, e.g. `quay`.
    pub ecr_repository_prefix: String,
    /// Upstream path prefix this mapping is limited to (dropped from the ECR name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_repository_prefix: Option<String>,
    /// ECR account, when not the run's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecr_account_id: Option<String>,
    /// Secret HealthOmics copies a non-PTC registry with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_arn: Option<String>,
}

/// A HealthOmics `imageMappings` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageMapping {
    /// The image as the workflow names it.
    pub source_image: String,
    /// The private ECR image pulled instead.
    pub destination_image: String,
}

/// A HealthOmics `containerRegistryMap`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRegistryMap {
    #[serde(default)]
    pub registry_mappings: Vec<RegistryMapping>,
    #[serde(default)]
    pub image_mappings: Vec<ImageMapping>,
}

/// Which mapping decided the rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "matched", rename_all = "snake_case")]
pub enum RewriteOutcome {
    /// `imageMappings[index]` names this image; it wins over registry mappings.
    ImageMapping { index: usize },
    /// `registryMappings[index]` has this image's host; the image moves to `ecr_repository`.
    RegistryMapping {
        index: usize,
        ecr_repository: String,
    },
    /// The image is already in private ECR and is pulled as written.
    PrivateEcr,
    /// Nothing maps the image, so HealthOmics would try to pull it from a registry it cannot use.
    Unmapped,
}

/// Whether a note concerns an image mapping or a registry mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingKind {
    Image,
    Registry,
}

/// Why a mapping deserves a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingNoteReason {
    /// The mapping's `sourceImage` does not parse.
    InvalidSourceImage,
    /// Same repository, other tag or digest.
    DifferentTagOrDigest,
    /// The matched image mapping's destination is not a private ECR image.
    DestinationNotPrivateEcr,
    /// The mapping's host is almost the image's host (alias, spelling, sibling host).
    HostNearMiss,
    /// The host matches but the path is outside `upstreamRepositoryPrefix`.
    UpstreamPrefixMismatch,
    /// The host matches but the resulting ECR repository name is invalid.
    InvalidEcrRepositoryName,
    /// A HealthOmics-copy host mapped without the `credentialArn` HealthOmics requires.
    MissingCredential,
    /// The host is neither a PTC upstream nor a HealthOmics-copy host: the ECR repository must be
    /// filled by hand (e.g. with CloneContainerToECR).
    UnsupportedUpstream,
}

/// A remark about one mapping, with the fix in `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MappingNote {
    pub mapping: MappingKind,
    /// Position in `imageMappings` or `registryMappings`.
    pub index: usize,
    pub reason: MappingNoteReason,
    pub message: String,
}

/// What HealthOmics does with one image under a registry map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RewriteResult {
    /// The image in canonical form.
    pub source_image: String,
    pub outcome: RewriteOutcome,
    /// The image HealthOmics pulls instead (for private ECR, the image itself); `None` when unmapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_image_uri: Option<String>,
    /// Near misses and problems worth telling the user, in mapping order.
    pub notes: Vec<MappingNote>,
}

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

/// The host a registry URL means, for comparing mappings: trimmed, lowercased, scheme and
/// trailing slash dropped, Docker Hub aliases folded into `registry-1.docker.io`. HealthOmics
/// itself compares exactly; this is only for deciding that two mappings are about one host.
pub fn normalise_host(url: &str) -> String {
    registries::near_miss(url)
        .and_then(|m| m.suggestion)
        .unwrap_or_else(|| url.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image_ref::ImageReference;
    use crate::core::registry_map::apply_registry_map;
    use crate::core::registry_map::test_support::{ACCT, p};

    #[test]
    fn registry_map_json_shape() {
        let json = r#"{
            "registryMappings": [
                {"upstreamRegistryUrl": "registry-1.docker.io", "ecrRepositoryPrefix": "docker-hub"},
                {"upstreamRegistryUrl": "community.wave.seqera.io", "ecrRepositoryPrefix": "wave-seqera",
                 "credentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:omics-registry/seqera-EXAMPLE",
                 "upstreamRepositoryPrefix": "library", "ecrAccountId": "123456789012"}
            ],
            "imageMappings": [{"sourceImage": "ubuntu", "destinationImage": "x"}]
        }"#;
        let map: ContainerRegistryMap = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(map.registry_mappings.len(), 2);
        assert_eq!(
            map.registry_mappings[1]
                .upstream_repository_prefix
                .as_deref(),
            Some("library")
        );
        assert_eq!(map.image_mappings[0].source_image, "ubuntu");
        let out = serde_json::to_value(&map).unwrap_or_default();
        assert_eq!(
            out["registryMappings"][0],
            serde_json::json!({"upstreamRegistryUrl": "registry-1.docker.io", "ecrRepositoryPrefix": "docker-hub"})
        );
        let empty: ContainerRegistryMap = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(empty, ContainerRegistryMap::default());

        let result = apply_registry_map(&p("ubuntu"), &map, ACCT, "us-east-1");
        let value = serde_json::to_value(&result).unwrap_or_default();
        assert_eq!(value["outcome"]["matched"], "image_mapping");
        assert_eq!(value["outcome"]["index"], 0);
        assert_eq!(value["ecr_image_uri"], "x");
        let schema = schemars::schema_for!(RewriteResult);
        assert!(serde_json::to_string(&schema).is_ok_and(|s| s.contains("ecr_image_uri")));
        let schema = schemars::schema_for!(ImageReference);
        assert!(serde_json::to_string(&schema).is_ok_and(|s| s.contains("sha256")));
    }
}
