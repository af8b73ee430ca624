//! The rules for one registry mapping: lengths, a bare host HealthOmics will match, the prefix,
//! the account, and what the host's access path (cache, copy, unsupported, private ECR) needs.

use crate::core::image_ref::{
    ImageReference, ROOT_PREFIX, is_account_id, validate_ecr_repository_name, validate_ptc_prefix,
};
use crate::core::registries::{self, AccessPath, NearMissReason};

use super::checker::{Checker, Finder, check_length, prefixes_overlap};
use super::{
    CREDENTIAL_ARN_MAX, CREDENTIAL_ARN_MIN, ECR_REPOSITORY_PREFIX_MAX, FindingCode,
    RegistryMapping, SECRET_ARN_PLACEHOLDER, Severity, UPSTREAM_REGISTRY_URL_MAX,
    UPSTREAM_REPOSITORY_PREFIX_MAX, UPSTREAM_REPOSITORY_PREFIX_MIN, normalise_host,
};

impl Checker<'_> {
    /// Checks one registry mapping; returns the access path of its host when known.
    pub(super) fn check_registry_mapping(
        &self,
        m: &RegistryMapping,
        f: &mut Finder,
    ) -> Option<AccessPath> {
        let url = m.upstream_registry_url.as_str();
        let mut host = None;
        if check_length(f, "upstreamRegistryUrl", url, 1, UPSTREAM_REGISTRY_URL_MAX) {
            host = self.check_host(url, f);
        }

        let prefix = m.ecr_repository_prefix.as_str();
        let prefix_ok = check_length(
            f,
            "ecrRepositoryPrefix",
            prefix,
            1,
            ECR_REPOSITORY_PREFIX_MAX,
        ) && check_ecr_prefix(prefix, f);

        if let Some(upstream) = &m.upstream_repository_prefix
            && check_length(
                f,
                "upstreamRepositoryPrefix",
                upstream,
                UPSTREAM_REPOSITORY_PREFIX_MIN,
                UPSTREAM_REPOSITORY_PREFIX_MAX,
            )
        {
            check_upstream_prefix(upstream, f);
        }

        if let Some(account) = &m.ecr_account_id {
            if !is_account_id(account) {
                f.push(
                    Severity::Error,
                    FindingCode::InvalidAccountId,
                    Some("ecrAccountId"),
                    format!("`{account}` is not an AWS account ID: write exactly 12 digits"),
                    None,
                );
            } else if let Some(caller) = self.caller
                && caller != account
            {
                f.push(
                    Severity::Info,
                    FindingCode::CrossAccount,
                    Some("ecrAccountId"),
                    format!(
                        "images come from account {account}'s ECR: its repository policies must allow omics.amazonaws.com and the workflow-owner account {caller}, and the prefix's pull-through cache rule must exist there"
                    ),
                    None,
                );
            }
        }

        if let Some(arn) = &m.credential_arn
            && check_length(
                f,
                "credentialArn",
                arn,
                CREDENTIAL_ARN_MIN,
                CREDENTIAL_ARN_MAX,
            )
        {
            self.check_credential_arn(arn, f);
        }

        let host = host?;
        let class = registries::classify_host(&host);
        match class.access_path {
            AccessPath::HealthOmicsCopy => {
                if prefix_ok
                    && let Some(cache) = self
                        .known_caches
                        .iter()
                        .find(|c| prefixes_overlap(&c.ecr_repository_prefix, prefix))
                {
                    f.push(
                        Severity::Warning,
                        FindingCode::PrefixOverlap,
                        Some("ecrRepositoryPrefix"),
                        format!(
                            "`{prefix}` overlaps the prefix `{}` of the pull-through cache rule for `{}`: copied images would land in a pull-through cache namespace; give the HealthOmics-copy mapping a prefix of its own",
                            cache.ecr_repository_prefix, cache.upstream_registry_url
                        ),
                        None,
                    );
                }
                if m.credential_arn.is_none() {
                    f.push(
                        Severity::Error,
                        FindingCode::MissingCredential,
                        Some("credentialArn"),
                        format!(
                            "HealthOmics copies images from `{host}` only when the mapping has a credentialArn: store the registry credentials in Secrets Manager, let the run role call secretsmanager:GetSecretValue on the secret, and add its ARN here"
                        ),
                        Some(SECRET_ARN_PLACEHOLDER.into()),
                    );
                }
            }
            AccessPath::PullThroughCache => {
                if m.credential_arn.is_some() {
                    f.push(
                        Severity::Warning,
                        FindingCode::CredentialIgnored,
                        Some("credentialArn"),
                        format!(
                            "`{host}` is served by an ECR pull-through cache, and HealthOmics ignores credentialArn on such mappings: the credential belongs on the pull-through cache rule; remove it here"
                        ),
                        None,
                    );
                }
                if prefix_ok {
                    if prefix != ROOT_PREFIX
                        && let Err(e) = validate_ptc_prefix(prefix)
                    {
                        f.push(
                            Severity::Error,
                            FindingCode::InvalidPrefix,
                            Some("ecrRepositoryPrefix"),
                            format!(
                                "{e}; the prefix of a pull-through cache mapping must equal its cache rule's prefix, which ECR limits to 2–30 characters"
                            ),
                            None,
                        );
                    } else {
                        self.check_cache(&host, prefix, f);
                    }
                }
            }
            AccessPath::Unsupported => {
                let cached = self.known_caches.iter().any(|c| {
                    c.ecr_repository_prefix == prefix
                        && normalise_host(&c.upstream_registry_url) == host
                });
                if cached {
                    f.push(
                        Severity::Warning,
                        FindingCode::UnsupportedHostCached,
                        Some("upstreamRegistryUrl"),
                        format!(
                            "`{host}` is not an upstream HealthOmics documents, but a pull-through cache rule with prefix `{prefix}` serves it: check the first run"
                        ),
                        None,
                    );
                } else {
                    f.push(
                        Severity::Error,
                        FindingCode::UnsupportedHost,
                        Some("upstreamRegistryUrl"),
                        format!(
                            "`{host}` is neither a pull-through cache upstream nor a registry HealthOmics copies from, so nothing would fill `{prefix}/…`: copy each image into private ECR with CloneContainerToECR and map it with an image mapping, then remove this registry mapping"
                        ),
                        None,
                    );
                }
            }
            AccessPath::PrivateEcr => f.push(
                Severity::Warning,
                FindingCode::PrivateEcrUpstream,
                Some("upstreamRegistryUrl"),
                format!(
                    "`{host}` is a private ECR registry; HealthOmics pulls images on private ECR hosts as written, so this mapping probably never applies: remove it, or use image mappings"
                ),
                None,
            ),
        }
        Some(class.access_path)
    }

    /// Returns the host to classify, or `None` when the URL is too broken to say.
    fn check_host(&self, url: &str, f: &mut Finder) -> Option<String> {
        if let Some(miss) = registries::near_miss(url) {
            let shape = miss.reasons.iter().any(|r| {
                matches!(
                    r,
                    NearMissReason::Whitespace
                        | NearMissReason::Scheme
                        | NearMissReason::TrailingSlash
                        | NearMissReason::Path
                        | NearMissReason::Uppercase
                        | NearMissReason::DefaultPort
                        | NearMissReason::Wildcard
                )
            });
            let only_gar = miss
                .reasons
                .iter()
                .all(|r| *r == NearMissReason::GarMultiRegion);
            let code = if shape {
                FindingCode::NotBareHost
            } else {
                FindingCode::HostNearMiss
            };
            let severity = if only_gar {
                Severity::Warning
            } else {
                Severity::Error
            };
            f.push(
                severity,
                code,
                Some("upstreamRegistryUrl"),
                miss.message.clone(),
                miss.suggestion.clone(),
            );
            if only_gar {
                return Some(url.to_owned());
            }
            // Classify what was meant so the other rules still speak, but a wildcard means nothing.
            return miss.suggestion;
        }
        // A bare host reads back as the registry of `<host>/x`; `quay` would read as a Docker Hub path.
        let reads_back = ImageReference::parse(&format!("{url}/x"))
            .map(|r| r.registry == url)
            .unwrap_or(false);
        if !reads_back {
            f.push(
                Severity::Error,
                FindingCode::NotBareHost,
                Some("upstreamRegistryUrl"),
                format!(
                    "`{url}` is not a registry host: write the host exactly as images name it, e.g. `quay.io`, `registry-1.docker.io`, `community.wave.seqera.io`"
                ),
                None,
            );
            return None;
        }
        Some(url.to_owned())
    }

    fn check_cache(&self, host: &str, prefix: &str, f: &mut Finder) {
        match self.cache_for_prefix(prefix) {
            Some(cache) if normalise_host(&cache.upstream_registry_url) != host => f.push(
                Severity::Error,
                FindingCode::PrefixOfOtherCache,
                Some("ecrRepositoryPrefix"),
                format!(
                    "`{prefix}` is the pull-through cache prefix of `{}`, not of `{host}`, so images would be fetched from the wrong registry: use the prefix of a `{host}` cache, or create one with CreatePullThroughCacheForHealthOmics",
                    cache.upstream_registry_url
                ),
                None,
            ),
            Some(_) => {}
            None if self.caches_complete => {
                let create = match registries::classify_host(host).info() {
                    Some(info) => format!(
                        "create it with CreatePullThroughCacheForHealthOmics (upstream_registry `{}`, ecr_repository_prefix `{prefix}`)",
                        info.name
                    ),
                    None => "create it with CreatePullThroughCacheForHealthOmics".to_owned(),
                };
                f.push(
                    Severity::Warning,
                    FindingCode::NoUsableCache,
                    Some("ecrRepositoryPrefix"),
                    format!(
                        "no HealthOmics-usable pull-through cache rule has the prefix `{prefix}`, so `{host}` images would fail to pull: {create}, or fix an existing rule with ValidateHealthOmicsECRConfig"
                    ),
                    None,
                );
            }
            None => {}
        }
    }
}

/// ECR prefix grammar: `ROOT`, or lowercase components joined by `/`, as ECR names repositories.
fn check_ecr_prefix(prefix: &str, f: &mut Finder) -> bool {
    if prefix == ROOT_PREFIX {
        return true;
    }
    let result = if prefix.len() == 1 {
        // ECR repository names need two characters; a one-character prefix is checked as `p/x`.
        validate_ecr_repository_name(&format!("{prefix}/x")).map_err(|_| ())
    } else {
        validate_ecr_repository_name(prefix).map_err(|_| ())
    };
    if result.is_ok() {
        return true;
    }
    let reason = match validate_ecr_repository_name(prefix) {
        Err(e) => e.to_string(),
        Ok(()) => format!("`{prefix}` is not a valid ECR name"),
    };
    let cleaned = prefix.trim().trim_matches('/').to_ascii_lowercase();
    let suggestion = (cleaned != prefix
        && !cleaned.is_empty()
        && validate_ecr_repository_name(&format!("{cleaned}/x")).is_ok())
    .then_some(cleaned);
    f.push(
        Severity::Error,
        FindingCode::InvalidPrefix,
        Some("ecrRepositoryPrefix"),
        format!(
            "{reason}; an ECR repository prefix is lowercase letters and digits joined by single `.`, `_`, `-` or `/`, with no leading or trailing `/`"
        ),
        suggestion,
    );
    false
}

fn check_upstream_prefix(prefix: &str, f: &mut Finder) {
    if prefix == ROOT_PREFIX {
        return;
    }
    let bad = prefix.starts_with('/')
        || prefix.ends_with('/')
        || prefix.contains("//")
        || prefix
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c)));
    if bad {
        let cleaned = prefix.trim().trim_matches('/').to_ascii_lowercase();
        f.push(
            Severity::Error,
            FindingCode::InvalidUpstreamPrefix,
            Some("upstreamRepositoryPrefix"),
            format!(
                "`{prefix}` is not an upstream repository path prefix: write the leading path components of the upstream repositories in lowercase, without leading or trailing `/` (e.g. `biocontainers`)"
            ),
            (cleaned != prefix && !cleaned.is_empty()).then_some(cleaned),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::{
        ContainerRegistryMap, FindingCode, MapContext, RegistryMapping, SECRET_ARN_PLACEHOLDER,
        Severity, check_map,
    };

    fn one_mapping(m: RegistryMapping, c: &MapContext) -> Vec<Key> {
        let map = ContainerRegistryMap {
            registry_mappings: vec![m],
            image_mappings: vec![],
        };
        keyed(&check_map(&map, c))
    }

    #[test]
    fn registry_mapping_rules() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let long_host = format!("{}.example.com", "a".repeat(750));
        let ok: Vec<Key> = vec![];
        let f = |s: Severity, c: FindingCode, key: &str| {
            vec![(s, c, format!("registryMappings[0].{key}"))]
        };
        let rows: Vec<(RegistryMapping, Vec<Key>)> = vec![
            // Clean mappings of each class.
            (rm("quay.io", "quay"), ok.clone()),
            (rm("registry-1.docker.io", "docker-hub"), ok.clone()),
            (rm("myreg.azurecr.io", "azure"), ok.clone()),
            (rm("quay.io", "ROOT"), ok.clone()),
            (
                with_cred(rm("community.wave.seqera.io", "wave-seqera"), SECRET),
                ok.clone(),
            ),
            (with_cred(rm("wave.seqera.io", "w"), SECRET), ok.clone()),
            (with_cred(rm("nvcr.io", "ngc"), SECRET), ok.clone()),
            (with_cred(rm("gcr.io", "gcr"), SECRET), ok.clone()),
            (
                with_cred(rm("us-central1-docker.pkg.dev", "gar/us-central1"), SECRET),
                ok.clone(),
            ),
            // upstreamRegistryUrl
            (rm("", "quay"), f(E, C::Length, "upstreamRegistryUrl")),
            (rm(&long_host, "x1"), f(E, C::Length, "upstreamRegistryUrl")),
            (
                rm("https://quay.io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay.io/", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay.io/biocontainers", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("Quay.io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm(" quay.io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay.io:443", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("*.azurecr.io", "azure"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("quay io", "quay"),
                f(E, C::NotBareHost, "upstreamRegistryUrl"),
            ),
            (
                rm("docker.io", "docker-hub"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                rm("gitlab.com", "gitlab"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                rm("k8s.gcr.io", "kubernetes"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                with_cred(rm("us-docker.pkg.dev", "gar-us"), SECRET),
                f(W, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            // Near miss of a copy host: the fixed host's rules still apply.
            (
                rm("https://community.wave.seqera.io/", "wave"),
                [
                    f(E, C::NotBareHost, "upstreamRegistryUrl"),
                    f(E, C::MissingCredential, "credentialArn"),
                ]
                .concat(),
            ),
            // Classes
            (
                rm("community.wave.seqera.io", "wave"),
                f(E, C::MissingCredential, "credentialArn"),
            ),
            (
                rm("us-central1-docker.pkg.dev", "gar"),
                f(E, C::MissingCredential, "credentialArn"),
            ),
            (
                with_cred(rm("quay.io", "quay"), SECRET),
                f(W, C::CredentialIgnored, "credentialArn"),
            ),
            (
                rm("mcr.microsoft.com", "mcr"),
                f(E, C::UnsupportedHost, "upstreamRegistryUrl"),
            ),
            (
                rm("harbor.example.org", "harbor"),
                f(E, C::UnsupportedHost, "upstreamRegistryUrl"),
            ),
            (
                rm("us.gcr.io", "gcr"),
                f(E, C::HostNearMiss, "upstreamRegistryUrl"),
            ),
            (
                rm("210987654321.dkr.ecr.eu-west-1.amazonaws.com", "mirror"),
                f(W, C::PrivateEcrUpstream, "upstreamRegistryUrl"),
            ),
            // ecrRepositoryPrefix
            (rm("quay.io", ""), f(E, C::Length, "ecrRepositoryPrefix")),
            (
                with_cred(rm("nvcr.io", &"a".repeat(257)), SECRET),
                f(E, C::Length, "ecrRepositoryPrefix"),
            ),
            (
                with_cred(rm("nvcr.io", &"a".repeat(256)), SECRET),
                ok.clone(),
            ),
            (with_cred(rm("nvcr.io", "n"), SECRET), ok.clone()),
            (
                rm("quay.io", "Quay"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "quay/"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "/quay"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "qu__ay"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", &"q".repeat(31)),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            (
                rm("quay.io", "q"),
                f(E, C::InvalidPrefix, "ecrRepositoryPrefix"),
            ),
            // upstreamRepositoryPrefix
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("b".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::Length, "upstreamRepositoryPrefix"),
            ),
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("b".repeat(31)),
                    ..rm("quay.io", "quay")
                },
                f(E, C::Length, "upstreamRepositoryPrefix"),
            ),
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("/bio".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::InvalidUpstreamPrefix, "upstreamRepositoryPrefix"),
            ),
            (
                RegistryMapping {
                    upstream_repository_prefix: Some("biocontainers".into()),
                    ..rm("quay.io", "quay")
                },
                ok.clone(),
            ),
            // ecrAccountId
            (
                RegistryMapping {
                    ecr_account_id: Some("12345".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::InvalidAccountId, "ecrAccountId"),
            ),
            (
                RegistryMapping {
                    ecr_account_id: Some("12345678901a".into()),
                    ..rm("quay.io", "quay")
                },
                f(E, C::InvalidAccountId, "ecrAccountId"),
            ),
            // credentialArn
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws:secretsmanager:us-east-1:123:secret:x",
                ),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(rm("nvcr.io", "ngc"), "arn:aws:s3:::my-bucket/credentials"),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
                ),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:AWS:secretsmanager:us-east-1:123456789012:secret:x",
                ),
                f(E, C::InvalidCredentialArn, "credentialArn"),
            ),
            (
                with_cred(rm("nvcr.io", "ngc"), "arn:aws:secret"),
                f(E, C::Length, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    &format!("{SECRET}{}", "x".repeat(2048)),
                ),
                f(E, C::Length, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:ngc",
                ),
                f(E, C::CredentialPartition, "credentialArn"),
            ),
            (
                with_cred(
                    rm("nvcr.io", "ngc"),
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ngc",
                ),
                f(W, C::CredentialRegion, "credentialArn"),
            ),
        ];
        for (mapping, expected) in rows {
            let got = one_mapping(mapping.clone(), &ctx());
            assert_eq!(got, expected, "{mapping:?}");
        }
        // Other partitions: the ARN and the region agree.
        let gov = MapContext {
            region: "us-gov-west-1".into(),
            ..ctx()
        };
        let arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:ngc-AbCdEf";
        assert_eq!(
            one_mapping(with_cred(rm("nvcr.io", "ngc"), arn), &gov),
            vec![]
        );
    }

    #[test]
    fn findings_say_the_fix() {
        let map = ContainerRegistryMap {
            registry_mappings: vec![
                rm("wave.seqera.io", "wave"),
                rm("mcr.microsoft.com", "mcr"),
                rm("docker.io", "docker-hub"),
                with_cred(rm("quay.io", "quay"), SECRET),
            ],
            image_mappings: vec![],
        };
        let findings = check_map(&map, &ctx());
        let message = |code| {
            findings
                .iter()
                .find(|f| f.code == code)
                .map(|f| f.message.clone())
                .unwrap_or_default()
        };
        assert!(message(FindingCode::MissingCredential).contains("secretsmanager:GetSecretValue"));
        let unsupported = message(FindingCode::UnsupportedHost);
        assert!(
            unsupported.contains("CloneContainerToECR") && unsupported.contains("image mapping"),
            "{unsupported}"
        );
        assert!(message(FindingCode::HostNearMiss).contains("write `registry-1.docker.io`"));
        assert!(message(FindingCode::CredentialIgnored).contains("ignores credentialArn"));
        let missing = findings
            .iter()
            .find(|f| f.code == FindingCode::MissingCredential);
        assert_eq!(missing.and_then(|f| f.index), Some(0));
        assert_eq!(
            missing.and_then(|f| f.suggestion.clone()).as_deref(),
            Some(SECRET_ARN_PLACEHOLDER)
        );
    }

    #[test]
    fn rules_that_need_the_usable_caches() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let c = MapContext {
            usable_caches: Some(vec![
                cache("quay.io", "quay"),
                cache("cgr.dev", "chainguard"),
            ]),
            ..ctx()
        };
        let rows: Vec<(RegistryMapping, Vec<Key>)> = vec![
            (rm("quay.io", "quay"), vec![]),
            (
                with_cred(rm("nvcr.io", "quay/ngc"), SECRET),
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[0].ecrRepositoryPrefix".into(),
                )],
            ),
            (with_cred(rm("nvcr.io", "ngc"), SECRET), vec![]),
            (
                rm("ghcr.io", "github"),
                vec![(
                    W,
                    C::NoUsableCache,
                    "registryMappings[0].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                rm("ghcr.io", "quay"),
                vec![(
                    E,
                    C::PrefixOfOtherCache,
                    "registryMappings[0].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                rm("cgr.dev", "chainguard"),
                vec![(
                    W,
                    C::UnsupportedHostCached,
                    "registryMappings[0].upstreamRegistryUrl".into(),
                )],
            ),
            (
                rm("cgr.dev", "cgr"),
                vec![(
                    E,
                    C::UnsupportedHost,
                    "registryMappings[0].upstreamRegistryUrl".into(),
                )],
            ),
        ];
        for (mapping, expected) in rows {
            assert_eq!(one_mapping(mapping.clone(), &c), expected, "{mapping:?}");
        }
        // Without discovery nothing is said about caches.
        assert_eq!(one_mapping(rm("ghcr.io", "github"), &ctx()), vec![]);
        let message = check_map(
            &ContainerRegistryMap {
                registry_mappings: vec![rm("ghcr.io", "github")],
                image_mappings: vec![],
            },
            &c,
        );
        assert!(
            message[0].message.contains("upstream_registry `github`"),
            "{}",
            message[0].message
        );
    }
}
