//! Feeds arbitrary JSON to the container registry map checks, as a map comes from GetWorkflow or
//! from a user: the JSON checker, then (when it deserializes) the typed checker, the map builder,
//! the coverage planner and the rewrite of images through the map. None of it may panic, and the
//! JSON and typed checkers must agree on a map that is well formed.
//!
//! Run with `cargo +nightly fuzz run check_registry_map` from the repository root.

#![no_main]

use healthomics_ecr_mcp::core::image_ref::ImageReference;
use healthomics_ecr_mcp::core::registry_map::{
    CacheMapping, ContainerRegistryMap, ImageUse, MapContext, MapInputs, apply_registry_map,
    build_map, check_map, check_map_json, coverage, normalise_host, to_pretty_json,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn caches() -> Vec<CacheMapping> {
    vec![
        CacheMapping {
            upstream_registry_url: "quay.io".into(),
            ecr_repository_prefix: "quay".into(),
            upstream_repository_prefix: None,
        },
        CacheMapping {
            upstream_registry_url: "registry-1.docker.io".into(),
            ecr_repository_prefix: "docker-hub".into(),
            upstream_repository_prefix: None,
        },
        CacheMapping {
            upstream_registry_url: "ghcr.io".into(),
            ecr_repository_prefix: "github".into(),
            upstream_repository_prefix: Some("nf-core".into()),
        },
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let contexts = [
        MapContext {
            caller_account_id: Some(ACCOUNT.into()),
            region: REGION.into(),
            usable_caches: Some(caches()),
        },
        MapContext {
            caller_account_id: None,
            region: "cn-north-1".into(),
            usable_caches: None,
        },
    ];
    for ctx in &contexts {
        let _ = check_map_json(&value, ctx);
    }

    let root = value.get("containerRegistryMap").unwrap_or(&value);
    let Ok(map) = serde_json::from_value::<ContainerRegistryMap>(root.clone()) else {
        return;
    };
    for ctx in &contexts {
        let typed = check_map(&map, ctx);
        let as_json = serde_json::to_value(&map).expect("a map serializes");
        assert_eq!(
            check_map_json(&as_json, ctx),
            typed,
            "JSON and typed checks disagree on {as_json}"
        );
    }
    let pretty = to_pretty_json(&map);
    let back: ContainerRegistryMap = serde_json::from_str(&pretty).expect("pretty map parses");
    assert_eq!(back, map);

    for m in &map.registry_mappings {
        let _ = normalise_host(&m.upstream_registry_url);
    }
    let inputs = MapInputs {
        discovered_caches: caches(),
        usable_caches: Some(caches()),
        additional_registry_mappings: map.registry_mappings.clone(),
        image_mappings: map.image_mappings.clone(),
        caller_account_id: Some(ACCOUNT.into()),
        ecr_account_id: None,
        pin_ecr_account_id: false,
        ecr_region: REGION.into(),
    };
    if let Ok(built) = build_map(&inputs) {
        let _ = to_pretty_json(&built.map);
    }

    // Images the map talks about, plus a few common ones.
    let mut images: Vec<ImageUse> = vec![
        "ubuntu:22.04".into(),
        "quay.io/biocontainers/samtools:1.17--h00cdaf9_0".into(),
        "ghcr.io/nf-core/fastqc:0.12.1".into(),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/bwa:0.7.17".into(),
    ];
    images.extend(
        map.image_mappings
            .iter()
            .map(|m| ImageUse::from(m.source_image.as_str())),
    );
    images.extend(
        map.registry_mappings
            .iter()
            .map(|m| ImageUse::from(format!("{}/library/busybox:1", m.upstream_registry_url))),
    );
    images.truncate(16);
    let caches = caches();
    let _ = coverage(&images, &map, ACCOUNT, REGION, Some(&caches));
    let _ = coverage(&images, &map, ACCOUNT, REGION, None);
    for image in &images {
        if let Ok(reference) = ImageReference::parse(&image.reference) {
            let _ = apply_registry_map(&reference, &map, ACCOUNT, REGION);
        }
    }
});
