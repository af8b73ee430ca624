//! Manifest and config documents: media types, parsing, and platform selection in an index.
//!
//! Registries serve Docker schema 2 and OCI documents side by side, and a copy must push the
//! manifest bytes exactly as pulled (their digest is the image's identity), so manifests are
//! parsed only to read their references, never re-serialised.

use serde::{Deserialize, Serialize};

use crate::core::image_ref::Digest;
use crate::core::image_rules::{ImageConfigSummary, Platform, normalize_architecture};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_NONDIST_LAYER_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";

/// The manifest types we ask for, in the `Accept` header of every manifest request. Without the
/// list and index types some registries convert a multi-arch image to one platform and change
/// its digest (the Python server's bug).
pub const ACCEPTED_MANIFESTS: [&str; 4] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];

/// What kind of document a manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManifestKind {
    /// A single-platform image manifest (Docker schema 2 or OCI).
    Image,
    /// A manifest list or OCI index pointing at per-platform manifests.
    Index,
}

/// Classifies a media type; `None` for anything that is not an image manifest or index.
pub fn manifest_kind(media_type: &str) -> Option<ManifestKind> {
    match media_type {
        DOCKER_MANIFEST | OCI_MANIFEST => Some(ManifestKind::Image),
        DOCKER_MANIFEST_LIST | OCI_INDEX => Some(ManifestKind::Index),
        _ => None,
    }
}

/// How a layer's tar stream is compressed, as far as reading its file list goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    Gzip,
    None,
    Zstd,
}

/// The compression of a layer media type; `None` for non-layer types.
pub fn layer_compression(media_type: &str) -> Option<LayerCompression> {
    match media_type {
        DOCKER_LAYER_GZIP | DOCKER_FOREIGN_LAYER_GZIP | OCI_LAYER_GZIP | OCI_NONDIST_LAYER_GZIP => {
            Some(LayerCompression::Gzip)
        }
        OCI_LAYER_TAR | "application/vnd.oci.image.layer.nondistributable.v1.tar" => {
            Some(LayerCompression::None)
        }
        OCI_LAYER_ZSTD | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
            Some(LayerCompression::Zstd)
        }
        _ => None,
    }
}

/// A content descriptor (`mediaType`, `digest`, `size`), as in manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    size: i64,
    #[serde(default)]
    platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<RawDescriptor>,
    #[serde(default)]
    layers: Option<Vec<RawDescriptor>>,
    #[serde(default)]
    manifests: Option<Vec<RawDescriptor>>,
}

/// One entry of an index: a platform's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct IndexEntry {
    /// `None` when the entry states no platform.
    pub platform: Option<Platform>,
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

/// A parsed manifest or index; the raw bytes are kept by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        media_type: String,
        entries: Vec<IndexEntry>,
    },
}

/// Why a manifest document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// Not an image manifest or index (schema 1, an artifact, an unknown type).
    Unsupported { media_type: String, why: String },
    /// JSON that does not describe a manifest.
    Invalid(String),
}

impl Manifest {
    /// Parses manifest bytes. `content_type` is the response's `Content-Type`, used when the
    /// document omits `mediaType` (allowed by OCI); the fields decide as a last resort.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Self, ManifestError> {
        let raw: RawManifest = serde_json::from_slice(bytes)
            .map_err(|e| ManifestError::Invalid(format!("the manifest is not valid JSON: {e}")))?;
        if raw.schema_version == Some(1) {
            return Err(ManifestError::Unsupported {
                media_type: DOCKER_SCHEMA1.into(),
                why: "Docker image manifest schema 1 is obsolete; re-push the image with a current Docker or buildx".into(),
            });
        }
        let header = content_type
            .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
            .filter(|c| manifest_kind(c).is_some());
        let media_type = match (raw.media_type.clone(), header) {
            (Some(m), _) => m,
            (None, Some(h)) => h,
            (None, None) if raw.manifests.is_some() => OCI_INDEX.to_owned(),
            (None, None) if raw.config.is_some() => OCI_MANIFEST.to_owned(),
            (None, None) => {
                return Err(ManifestError::Invalid(
                    "the manifest has no mediaType, config or manifests field".into(),
                ));
            }
        };
        match manifest_kind(&media_type) {
            Some(ManifestKind::Image) => {
                let config = raw.config.ok_or_else(|| {
                    ManifestError::Invalid("the image manifest has no config".into())
                })?;
                let config = descriptor(config, None)?;
                if config.media_type != DOCKER_CONFIG && config.media_type != OCI_CONFIG {
                    return Err(ManifestError::Unsupported {
                        media_type: config.media_type,
                        why: "the manifest describes an artifact (its config is not a container image config), not a container image".into(),
                    });
                }
                let layers = raw
                    .layers
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| descriptor(l, None))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Manifest::Image {
                    media_type,
                    config,
                    layers,
                })
            }
            Some(ManifestKind::Index) => {
                let entries = raw
                    .manifests
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| {
                        let platform = m.platform.as_ref().and_then(|p| {
                            (!p.os.is_empty() && !p.architecture.is_empty()).then(|| Platform {
                                os: p.os.to_ascii_lowercase(),
                                architecture: normalize_architecture(
                                    &p.architecture.to_ascii_lowercase(),
                                )
                                .to_owned(),
                                variant: p.variant.clone().filter(|v| !v.is_empty()),
                            })
                        });
                        let d = descriptor(m, Some(OCI_MANIFEST))?;
                        Ok(IndexEntry {
                            platform,
                            digest: d.digest,
                            size: d.size,
                            media_type: d.media_type,
                        })
                    })
                    .collect::<Result<Vec<_>, ManifestError>>()?;
                Ok(Manifest::Index {
                    media_type,
                    entries,
                })
            }
            None => Err(ManifestError::Unsupported {
                media_type: media_type.clone(),
                why: "not an image manifest, manifest list or index".into(),
            }),
        }
    }

    pub fn media_type(&self) -> &str {
        match self {
            Manifest::Image { media_type, .. } | Manifest::Index { media_type, .. } => media_type,
        }
    }
}

fn descriptor(raw: RawDescriptor, default_type: Option<&str>) -> Result<Descriptor, ManifestError> {
    let digest = Digest::parse(&raw.digest)
        .map_err(|e| ManifestError::Invalid(format!("a descriptor has a bad digest: {e}")))?;
    let size = u64::try_from(raw.size)
        .map_err(|_| ManifestError::Invalid(format!("descriptor {digest} has a negative size")))?;
    let media_type = raw
        .media_type
        .or_else(|| default_type.map(str::to_owned))
        .ok_or_else(|| ManifestError::Invalid(format!("descriptor {digest} has no mediaType")))?;
    Ok(Descriptor {
        media_type,
        digest,
        size,
    })
}

/// Picks the index entry for `wanted`. Without a wanted variant, the entry with no variant (or
/// the lowest one) wins, so `linux/amd64` prefers the baseline build over `v3`.
pub fn select_platform<'a>(entries: &'a [IndexEntry], wanted: &Platform) -> Option<&'a IndexEntry> {
    let wanted_arch = normalize_architecture(&wanted.architecture);
    let effective = |p: &Platform| -> Option<String> {
        // arm64 without a variant means v8.
        match (&p.variant, normalize_architecture(&p.architecture)) {
            (None, "arm64") => Some("v8".into()),
            (v, _) => v.clone(),
        }
    };
    entries
        .iter()
        .filter(|e| e.media_type != DOCKER_SCHEMA1 && e.media_type != DOCKER_SCHEMA1_SIGNED)
        .filter_map(|e| e.platform.as_ref().map(|p| (e, p)))
        .filter(|(_, p)| {
            p.os == wanted.os && normalize_architecture(&p.architecture) == wanted_arch
        })
        .filter(|(_, p)| match &wanted.variant {
            Some(_) => effective(p) == effective(wanted),
            None => true,
        })
        .min_by(|(_, a), (_, b)| a.variant.cmp(&b.variant))
        .map(|(e, _)| e)
}

/// The platforms of an index as shown to users (`linux/arm64/v8`), placeholders included.
pub fn platform_names(entries: &[IndexEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            e.platform
                .as_ref()
                .map_or_else(|| "unspecified".to_owned(), Platform::to_string)
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawRunConfig {
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    config: Option<RawRunConfig>,
}

/// Reads the fields the rules need from an image config blob (Docker or OCI; the same JSON).
pub fn parse_config(bytes: &[u8]) -> Result<ImageConfigSummary, String> {
    let raw: RawConfig = serde_json::from_slice(bytes)
        .map_err(|e| format!("the image config is not valid JSON: {e}"))?;
    let run = raw.config.unwrap_or_default();
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    Ok(ImageConfigSummary {
        architecture: non_empty(raw.architecture),
        os: non_empty(raw.os),
        variant: non_empty(raw.variant),
        entrypoint: run.entrypoint,
        cmd: run.cmd,
        env: run.env.unwrap_or_default(),
        working_dir: non_empty(run.working_dir),
        user: non_empty(run.user),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

    fn image_manifest(media_type: Option<&str>, config_type: &str) -> String {
        let mt = media_type
            .map(|m| format!(r#""mediaType":"{m}","#))
            .unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"{config_type}","digest":"{D1}","size":10}},"layers":[{{"mediaType":"{OCI_LAYER_GZIP}","digest":"{D2}","size":20}}]}}"#
        )
    }

    fn entry(platform: Option<&str>, digest: &str) -> IndexEntry {
        IndexEntry {
            platform: platform.and_then(|p| Platform::parse(p).ok()),
            digest: Digest::parse(digest).unwrap_or_else(|_| panic!("{digest}")),
            size: 1,
            media_type: OCI_MANIFEST.into(),
        }
    }

    #[test]
    fn media_type_table() {
        let cases = [
            (DOCKER_MANIFEST, Some(ManifestKind::Image)),
            (OCI_MANIFEST, Some(ManifestKind::Image)),
            (DOCKER_MANIFEST_LIST, Some(ManifestKind::Index)),
            (OCI_INDEX, Some(ManifestKind::Index)),
            (DOCKER_SCHEMA1_SIGNED, None),
            ("application/json", None),
        ];
        for (mt, want) in cases {
            assert_eq!(manifest_kind(mt), want, "{mt}");
        }
        assert_eq!(
            layer_compression(DOCKER_LAYER_GZIP),
            Some(LayerCompression::Gzip)
        );
        assert_eq!(
            layer_compression(OCI_LAYER_TAR),
            Some(LayerCompression::None)
        );
        assert_eq!(
            layer_compression(OCI_LAYER_ZSTD),
            Some(LayerCompression::Zstd)
        );
        assert_eq!(layer_compression(OCI_CONFIG), None);
    }

    #[test]
    fn manifest_parse_table() {
        let docker = image_manifest(Some(DOCKER_MANIFEST), DOCKER_CONFIG);
        let oci_no_type = image_manifest(None, OCI_CONFIG);
        let artifact = image_manifest(
            Some(OCI_MANIFEST),
            "application/vnd.cncf.helm.config.v1+json",
        );
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":5,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},{{"digest":"{D2}","size":6,"platform":{{"os":"linux","architecture":"x86_64"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{D3}","size":7}}]}}"#
        );
        let schema1 = r#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        let negative = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{D1}","size":-1}},"layers":[]}}"#
        );

        let m = Manifest::parse(docker.as_bytes(), None);
        assert!(
            matches!(&m, Ok(Manifest::Image { media_type, layers, .. }) if media_type == DOCKER_MANIFEST && layers.len() == 1),
            "{m:?}"
        );
        let m = Manifest::parse(oci_no_type.as_bytes(), None);
        assert_eq!(m.as_ref().map(|m| m.media_type()), Ok(OCI_MANIFEST));
        let m = Manifest::parse(
            oci_no_type.as_bytes(),
            Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
        );
        assert_eq!(m.as_ref().map(|m| m.media_type()), Ok(DOCKER_MANIFEST));
        assert!(matches!(
            Manifest::parse(artifact.as_bytes(), None),
            Err(ManifestError::Unsupported { .. })
        ));
        assert!(matches!(
            Manifest::parse(schema1.as_bytes(), None),
            Err(ManifestError::Unsupported { .. })
        ));
        assert!(matches!(
            Manifest::parse(negative.as_bytes(), None),
            Err(ManifestError::Invalid(_))
        ));
        assert!(matches!(
            Manifest::parse(b"<html>", None),
            Err(ManifestError::Invalid(_))
        ));
        match Manifest::parse(index.as_bytes(), None) {
            Ok(Manifest::Index { entries, .. }) => {
                assert_eq!(
                    platform_names(&entries),
                    vec!["linux/arm64/v8", "linux/amd64", "unspecified"]
                );
                assert_eq!(entries[1].media_type, OCI_MANIFEST);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn platform_selection_table() {
        let entries = vec![
            entry(Some("linux/arm64"), D1),
            entry(Some("linux/amd64/v3"), D2),
            entry(Some("linux/amd64"), D3),
            entry(Some("unknown/unknown"), D1),
            entry(None, D2),
        ];
        let pick = |wanted: &str, entries: &[IndexEntry]| {
            let w = Platform::parse(wanted).unwrap_or_else(|_| Platform::linux_amd64());
            select_platform(entries, &w).map(|e| e.digest.to_string())
        };
        assert_eq!(pick("linux/amd64", &entries).as_deref(), Some(D3));
        assert_eq!(pick("linux/x86_64", &entries).as_deref(), Some(D3));
        assert_eq!(pick("linux/amd64/v3", &entries).as_deref(), Some(D2));
        assert_eq!(pick("linux/arm64", &entries).as_deref(), Some(D1));
        assert_eq!(pick("linux/arm64/v8", &entries).as_deref(), Some(D1));
        assert_eq!(pick("linux/arm64/v7", &entries), None);
        assert_eq!(pick("linux/s390x", &entries), None);
        assert_eq!(pick("linux/amd64", &entries[..2]).as_deref(), Some(D2));
        assert_eq!(pick("linux/amd64", &entries[3..]), None);
    }

    #[test]
    fn config_parse() {
        let json = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/tini"],"Cmd":null,"Env":["A=1","AWS_WORKFLOW_X=2"],"WorkingDir":"","User":"1000"},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let c = parse_config(json).unwrap_or_default();
        assert_eq!(c.architecture.as_deref(), Some("amd64"));
        assert_eq!(c.entrypoint, Some(vec!["/bin/tini".to_owned()]));
        assert_eq!(c.cmd, None);
        assert_eq!(c.env.len(), 2);
        assert_eq!(c.working_dir, None);
        assert_eq!(c.user.as_deref(), Some("1000"));
        let bare = parse_config(br#"{"architecture":"arm64"}"#).unwrap_or_default();
        assert_eq!(bare.os, None);
        assert!(parse_config(b"nope").is_err());
    }
}
