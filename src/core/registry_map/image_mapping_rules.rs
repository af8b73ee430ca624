//! The rules for image mappings: a valid source, one mapping per image, and a destination in
//! private ECR of the run's region.

use std::collections::HashMap;

use crate::core::image_ref::{EcrRegistryHost, ImageReference, partition_for_region};

use super::checker::{Checker, Finder, check_length};
use super::{FindingCode, IMAGE_URI_MAX, ImageMapping, MapFinding, Severity};

impl Checker<'_> {
    pub(super) fn check_images(
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

#[cfg(test)]
mod tests {
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::{
        ContainerRegistryMap, FindingCode, ImageMapping, Severity, check_map,
    };

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
}
