//! Helpers and strategies shared by the tests of the registry map modules.

use proptest::prelude::*;

use crate::core::image_ref::ImageReference;

use super::{
    CacheMapping, FindingCode, ImageMapping, MapContext, MapFinding, MapInputs, RegistryMapping,
    Severity,
};

/// (severity, code, field) of a finding, what the table tests compare.
pub(super) type Key = (Severity, FindingCode, String);

pub(super) const ACCT: &str = "123456789012";
pub(super) const OTHER: &str = "210987654321";
pub(super) const REGION: &str = "us-east-1";
pub(super) const SHA: &str =
    "sha256:6a4a087328f6df19a423c0fe00cabcfc6d5f237a2c0e435fd90109fb65dacd02";
pub(super) const SECRET: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:omics-registry/seqera-EXAMPLE";

pub(super) fn rm(url: &str, prefix: &str) -> RegistryMapping {
    RegistryMapping {
        upstream_registry_url: url.into(),
        ecr_repository_prefix: prefix.into(),
        upstream_repository_prefix: None,
        ecr_account_id: None,
        credential_arn: None,
    }
}

pub(super) fn with_cred(mut m: RegistryMapping, arn: &str) -> RegistryMapping {
    m.credential_arn = Some(arn.into());
    m
}

pub(super) fn im(source: &str, destination: &str) -> ImageMapping {
    ImageMapping {
        source_image: source.into(),
        destination_image: destination.into(),
    }
}

pub(super) fn cache(url: &str, prefix: &str) -> CacheMapping {
    CacheMapping {
        upstream_registry_url: url.into(),
        ecr_repository_prefix: prefix.into(),
        upstream_repository_prefix: None,
    }
}

pub(super) fn ctx() -> MapContext {
    MapContext {
        caller_account_id: Some(ACCT.into()),
        region: REGION.into(),
        usable_caches: None,
    }
}

pub(super) fn inputs() -> MapInputs {
    MapInputs {
        caller_account_id: Some(ACCT.into()),
        ecr_region: REGION.into(),
        ..MapInputs::default()
    }
}

pub(super) fn ecr(repo: &str) -> String {
    format!("{ACCT}.dkr.ecr.{REGION}.amazonaws.com/{repo}")
}

/// (severity, code, field) of every finding that is not Info.
pub(super) fn keyed(findings: &[MapFinding]) -> Vec<Key> {
    findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| (f.severity, f.code, f.field.clone()))
        .collect()
}

pub(super) fn p(s: &str) -> ImageReference {
    match ImageReference::parse(s) {
        Ok(r) => r,
        Err(e) => panic!("`{s}` should parse: {e}"),
    }
}

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

pub(super) fn mapping() -> impl Strategy<Value = RegistryMapping> {
    prop_oneof![6 => valid_mapping(), 1 => noisy_mapping()]
}

fn cache_strategy() -> impl Strategy<Value = CacheMapping> {
    prop_oneof![
        6 => (prop::sample::select(PTC_HOSTS.to_vec()), "[a-z]{2,10}").prop_map(|(h, p)| cache(h, &p)),
        1 => (host_pool(), prefix_pool()).prop_map(|(h, p)| cache(&h, &p)),
    ]
}

pub(super) fn image_mapping() -> impl Strategy<Value = ImageMapping> {
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
    pub(super) fn map_inputs()(
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
