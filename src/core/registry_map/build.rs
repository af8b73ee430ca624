//! Building a container registry map from discovered pull-through caches and the user's mappings.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::image_ref::{ImageReference, is_account_id};

use super::checker::{Checker, check_region, empty_map_finding};
use super::{
    CacheMapping, ContainerRegistryMap, FindingCode, ImageMapping, MapError, MapFinding,
    RegistryMapping, Severity, normalise_host,
};

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

fn image_key(source: &str) -> String {
    match ImageReference::parse(source) {
        Ok(r) => r.with_default_tag().to_string(),
        Err(_) => source.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::{MapContext, check_map, check_map_json};
    use proptest::prelude::*;
    use serde_json::{Value, json};

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
    }
}
