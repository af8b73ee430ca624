//! Applying a container registry map to one image, as HealthOmics does at run time.

use crate::core::image_ref::{
    Digest, ImageRefError, ImageReference, ecr_image_uri, ptc_repository_name,
};
use crate::core::registries::{self, AccessPath, NearMiss};

use super::{
    ContainerRegistryMap, MappingKind, MappingNote, MappingNoteReason, RewriteOutcome,
    RewriteResult,
};

/// Applies a HealthOmics container registry map to one image, the way HealthOmics does at run
/// time: an image mapping for the image wins; otherwise the first registry mapping whose
/// `upstreamRegistryUrl` equals the image's host exactly (Docker Hub images have the host
/// `registry-1.docker.io`). `default_account_id` and `region` fill the ECR URI when the mapping
/// has no `ecrAccountId`.
pub fn apply_registry_map(
    reference: &ImageReference,
    map: &ContainerRegistryMap,
    default_account_id: &str,
    region: &str,
) -> RewriteResult {
    let source_image = reference.to_string();
    let mut notes = Vec::new();
    let wanted = reference.clone().with_default_tag();

    for (index, mapping) in map.image_mappings.iter().enumerate() {
        let source = match ImageReference::parse(&mapping.source_image) {
            Ok(source) => source.with_default_tag(),
            Err(e) => {
                notes.push(MappingNote {
                    mapping: MappingKind::Image,
                    index,
                    reason: MappingNoteReason::InvalidSourceImage,
                    message: format!("sourceImage cannot match any image: {e}"),
                });
                continue;
            }
        };
        if source == wanted {
            let destination = mapping.destination_image.trim().to_owned();
            let in_private_ecr = ImageReference::parse(&destination)
                .ok()
                .and_then(|d| d.ecr_host())
                .is_some();
            if !in_private_ecr {
                notes.push(MappingNote {
                    mapping: MappingKind::Image,
                    index,
                    reason: MappingNoteReason::DestinationNotPrivateEcr,
                    message: format!(
                        "destinationImage `{destination}` is not a private ECR image URI; HealthOmics pulls only from private ECR: point it at `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`"
                    ),
                });
            }
            return RewriteResult {
                source_image,
                outcome: RewriteOutcome::ImageMapping { index },
                ecr_image_uri: Some(destination),
                notes,
            };
        }
        if source.registry == wanted.registry && source.repository == wanted.repository {
            notes.push(MappingNote {
                mapping: MappingKind::Image,
                index,
                reason: MappingNoteReason::DifferentTagOrDigest,
                message: format!(
                    "maps `{source}`, not `{wanted}`: an image mapping matches one tag or digest only"
                ),
            });
        }
    }

    if reference.ecr_host().is_some() {
        return RewriteResult {
            ecr_image_uri: Some(source_image.clone()),
            source_image,
            outcome: RewriteOutcome::PrivateEcr,
            notes,
        };
    }

    let class = registries::classify_host(&reference.registry);
    for (index, mapping) in map.registry_mappings.iter().enumerate() {
        if mapping.upstream_registry_url != reference.registry {
            if let Some(miss) =
                registries::mapping_near_miss(&mapping.upstream_registry_url, &reference.registry)
            {
                notes.push(host_near_miss_note(index, &miss));
            }
            continue;
        }
        let repository = match ptc_repository_name(
            &mapping.ecr_repository_prefix,
            mapping.upstream_repository_prefix.as_deref(),
            reference,
        ) {
            Ok(repository) => repository,
            Err(e) => {
                let reason = match e {
                    ImageRefError::UpstreamPrefixMismatch { .. } => {
                        MappingNoteReason::UpstreamPrefixMismatch
                    }
                    _ => MappingNoteReason::InvalidEcrRepositoryName,
                };
                notes.push(MappingNote {
                    mapping: MappingKind::Registry,
                    index,
                    reason,
                    message: e.to_string(),
                });
                continue;
            }
        };
        match class.access_path {
            AccessPath::HealthOmicsCopy if mapping.credential_arn.is_none() => {
                notes.push(MappingNote {
                    mapping: MappingKind::Registry,
                    index,
                    reason: MappingNoteReason::MissingCredential,
                    message: format!(
                        "HealthOmics copies images from `{}` itself only when the mapping has a credentialArn (a Secrets Manager secret the run role can read): add one",
                        reference.registry
                    ),
                });
            }
            AccessPath::Unsupported => {
                notes.push(MappingNote {
                    mapping: MappingKind::Registry,
                    index,
                    reason: MappingNoteReason::UnsupportedUpstream,
                    message: format!(
                        "`{}` is neither a pull-through cache upstream nor a registry HealthOmics copies from, so nothing fills `{repository}` for you: copy the image there with CloneContainerToECR",
                        reference.registry
                    ),
                });
            }
            _ => {}
        }
        let account = mapping
            .ecr_account_id
            .as_deref()
            .unwrap_or(default_account_id);
        let pulled = reference.clone().with_default_tag();
        let uri = ecr_image_uri(
            account,
            region,
            &repository,
            pulled.tag.as_deref(),
            pulled.digest.as_ref().map(Digest::as_str),
        );
        return RewriteResult {
            source_image,
            outcome: RewriteOutcome::RegistryMapping {
                index,
                ecr_repository: repository,
            },
            ecr_image_uri: Some(uri),
            notes,
        };
    }

    RewriteResult {
        source_image,
        outcome: RewriteOutcome::Unmapped,
        ecr_image_uri: None,
        notes,
    }
}

fn host_near_miss_note(index: usize, miss: &NearMiss) -> MappingNote {
    MappingNote {
        mapping: MappingKind::Registry,
        index,
        reason: MappingNoteReason::HostNearMiss,
        message: miss.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::test_support::p;
    use crate::core::registry_map::{ImageMapping, RegistryMapping};

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn registry(url: &str, prefix: &str) -> RegistryMapping {
        RegistryMapping {
            upstream_registry_url: url.to_owned(),
            ecr_repository_prefix: prefix.to_owned(),
            upstream_repository_prefix: None,
            ecr_account_id: None,
            credential_arn: None,
        }
    }

    fn image(source: &str, destination: &str) -> ImageMapping {
        ImageMapping {
            source_image: source.to_owned(),
            destination_image: destination.to_owned(),
        }
    }

    const ACCT: &str = "123456789012";

    #[test]
    fn registry_map_registry_mappings() {
        let map = ContainerRegistryMap {
            registry_mappings: vec![
                registry("registry-1.docker.io", "docker-hub"),
                registry("quay.io", "quay"),
                registry("public.ecr.aws", "ecr-public"),
            ],
            image_mappings: vec![],
        };
        let r = apply_registry_map(&p("ubuntu"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 0,
                ecr_repository: "docker-hub/library/ubuntu".into()
            }
        );
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/ubuntu:latest")
        );
        assert_eq!(r.source_image, "registry-1.docker.io/library/ubuntu");
        assert!(r.notes.is_empty(), "{:?}", r.notes);

        let r = apply_registry_map(&p("docker.io/org/tool:1"), &map, ACCT, "cn-north-1");
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/docker-hub/org/tool:1")
        );

        let pinned = p(&format!("quay.io/biocontainers/samtools:1.17@{SHA}"));
        let r = apply_registry_map(&pinned, &map, ACCT, "us-west-2");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 1,
                ecr_repository: "quay/biocontainers/samtools".into()
            }
        );
        assert_eq!(
            r.ecr_image_uri,
            Some(format!(
                "123456789012.dkr.ecr.us-west-2.amazonaws.com/quay/biocontainers/samtools:1.17@{SHA}"
            ))
        );

        let r = apply_registry_map(&p("ghcr.io/org/x:1"), &map, ACCT, "us-east-1");
        assert_eq!(r.outcome, RewriteOutcome::Unmapped);
        assert_eq!(r.ecr_image_uri, None);

        let ecr = p("123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1");
        let r = apply_registry_map(&ecr, &map, ACCT, "us-east-1");
        assert_eq!(r.outcome, RewriteOutcome::PrivateEcr);
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")
        );
    }

    #[test]
    fn registry_map_account_prefixes_and_notes() {
        let mut cross = registry("quay.io", "bio");
        cross.ecr_account_id = Some("210987654321".into());
        cross.upstream_repository_prefix = Some("biocontainers".into());
        let map = ContainerRegistryMap {
            registry_mappings: vec![cross, registry("quay.io", "quay")],
            image_mappings: vec![],
        };
        let r = apply_registry_map(
            &p("quay.io/biocontainers/bwa:0.7.17"),
            &map,
            ACCT,
            "us-east-1",
        );
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 0,
                ecr_repository: "bio/bwa".into()
            }
        );
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("210987654321.dkr.ecr.us-east-1.amazonaws.com/bio/bwa:0.7.17")
        );

        // Outside the upstream prefix: the first mapping is skipped with a note, the second serves.
        let r = apply_registry_map(&p("quay.io/other/x:1"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 1,
                ecr_repository: "quay/other/x".into()
            }
        );
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.notes[0].reason, MappingNoteReason::UpstreamPrefixMismatch);

        let copy = ContainerRegistryMap {
            registry_mappings: vec![
                registry("community.wave.seqera.io", "wave-seqera"),
                registry("mcr.microsoft.com", "mcr"),
            ],
            image_mappings: vec![],
        };
        let r = apply_registry_map(
            &p("community.wave.seqera.io/library/samtools:1.19--abc"),
            &copy,
            ACCT,
            "us-east-1",
        );
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/wave-seqera/library/samtools:1.19--abc"
            )
        );
        assert_eq!(
            r.notes.iter().map(|n| n.reason).collect::<Vec<_>>(),
            vec![MappingNoteReason::MissingCredential]
        );
        let r = apply_registry_map(
            &p("mcr.microsoft.com/dotnet/runtime:8.0"),
            &copy,
            ACCT,
            "us-east-1",
        );
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 1,
                ecr_repository: "mcr/dotnet/runtime".into()
            }
        );
        assert_eq!(
            r.notes.iter().map(|n| n.reason).collect::<Vec<_>>(),
            vec![MappingNoteReason::UnsupportedUpstream]
        );
    }

    #[test]
    fn registry_map_near_misses() {
        let map = ContainerRegistryMap {
            registry_mappings: vec![
                registry("docker.io", "docker-hub"),
                registry("wave.seqera.io", "wave"),
                registry("https://quay.io/", "quay"),
                registry("us-docker.pkg.dev", "gar"),
            ],
            image_mappings: vec![],
        };
        let cases = [
            ("ubuntu", 0, "registry-1.docker.io"),
            (
                "community.wave.seqera.io/library/x:1",
                1,
                "separate mapping",
            ),
            ("quay.io/org/x:1", 2, "write `quay.io`"),
            (
                "us-central1-docker.pkg.dev/p/r/x:1",
                3,
                "one mapping per regional host",
            ),
        ];
        for (input, index, needle) in cases {
            let r = apply_registry_map(&p(input), &map, ACCT, "us-east-1");
            assert_eq!(r.outcome, RewriteOutcome::Unmapped, "{input}");
            assert_eq!(r.notes.len(), 1, "{input}: {:?}", r.notes);
            assert_eq!(
                (r.notes[0].index, r.notes[0].reason),
                (index, MappingNoteReason::HostNearMiss),
                "{input}"
            );
            assert!(
                r.notes[0].message.contains(needle),
                "{input}: {}",
                r.notes[0].message
            );
        }
        // Images on the multi-region host itself match it exactly.
        let r = apply_registry_map(&p("us-docker.pkg.dev/p/r/x:1"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 3,
                ecr_repository: "gar/p/r/x".into()
            }
        );
        // Uppercase host in the image: HealthOmics compares exactly.
        let r = apply_registry_map(
            &p("Quay.io/org/x:1"),
            &ContainerRegistryMap {
                registry_mappings: vec![registry("quay.io", "quay")],
                image_mappings: vec![],
            },
            ACCT,
            "us-east-1",
        );
        assert_eq!(r.outcome, RewriteOutcome::Unmapped);
        assert_eq!(
            r.notes.first().map(|n| n.reason),
            Some(MappingNoteReason::HostNearMiss)
        );
    }

    #[test]
    fn registry_map_image_mappings_win() {
        let dest = "123456789012.dkr.ecr.us-east-1.amazonaws.com/custom/ubuntu:20.04";
        let map = ContainerRegistryMap {
            registry_mappings: vec![registry("registry-1.docker.io", "docker-hub")],
            image_mappings: vec![
                image("not a valid image", "x"),
                image(
                    "ubuntu:20.04",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/u:20",
                ),
                image("ubuntu", dest),
                image(
                    "quay.io/biocontainers/bwa:0.7.17",
                    "quay.io/biocontainers/bwa:0.7.17",
                ),
            ],
        };
        for input in [
            "ubuntu",
            "ubuntu:latest",
            "docker.io/library/ubuntu:latest",
            "index.docker.io/ubuntu",
        ] {
            let r = apply_registry_map(&p(input), &map, ACCT, "us-east-1");
            assert_eq!(
                r.outcome,
                RewriteOutcome::ImageMapping { index: 2 },
                "{input}"
            );
            assert_eq!(r.ecr_image_uri.as_deref(), Some(dest));
            let reasons: Vec<_> = r.notes.iter().map(|n| n.reason).collect();
            assert_eq!(
                reasons,
                vec![
                    MappingNoteReason::InvalidSourceImage,
                    MappingNoteReason::DifferentTagOrDigest
                ],
                "{input}"
            );
        }
        let r = apply_registry_map(&p("ubuntu:22.04"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 0,
                ecr_repository: "docker-hub/library/ubuntu".into()
            }
        );
        let r = apply_registry_map(
            &p("quay.io/biocontainers/bwa:0.7.17"),
            &map,
            ACCT,
            "us-east-1",
        );
        assert_eq!(r.outcome, RewriteOutcome::ImageMapping { index: 3 });
        assert_eq!(
            r.notes.last().map(|n| n.reason),
            Some(MappingNoteReason::DestinationNotPrivateEcr)
        );
    }
}
