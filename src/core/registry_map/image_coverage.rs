//! What HealthOmics would do with one image under a map: its access path, the mapping that
//! rewrites it, whether a run would get it, the problems, and the fix.

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::image_ref::ImageReference;
use crate::core::registries::{self, AccessPath};

use super::fixes::{PrefixPlanner, clone_fix, create_cache_fix, unmapped_fix};
use super::{
    CacheMapping, ContainerRegistryMap, Fix, ImageLocation, MapEdit, MappingNote,
    MappingNoteReason, RegistryMapping, RewriteOutcome, SECRET_ARN_PLACEHOLDER, Severity,
    apply_registry_map, normalise_host,
};

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
    /// In words (with `detail`; the code and the image's fix say the rest).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<CoverageProblem>,
    /// What to do when not covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Near misses and other remarks from applying the map, with mapping indices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapping_notes: Vec<MappingNote>,
}

fn problem(severity: Severity, code: CoverageCode, message: String) -> CoverageProblem {
    CoverageProblem {
        severity,
        code,
        message,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn cover_one(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::{CoverageReport, ImageUse, coverage};
    use serde_json::json;

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
                    "ecr_repository_prefix": "github"
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
}
