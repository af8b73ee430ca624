//! Which repository and image a check is about: from `repository_name` (+ tag or digest), from a
//! private ECR URI, or from an upstream reference through the cache that serves it.

use crate::core::account::{ImageSelector, PullThroughCacheRule};
use crate::core::image_ref::{self, Digest, ImageReference};
use crate::core::plan::InputProblem;
use crate::core::verdicts;

/// What the caller asked about, resolved to a repository and image.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub repository: String,
    pub selector: ImageSelector,
    /// The tag asked for (absent when a digest was asked for by name).
    pub tag: Option<String>,
    /// The upstream reference when one was given (for messages and fixes).
    pub upstream: Option<ImageReference>,
}

/// An image reference: resolved to a repository of this account, or an upstream no cache serves
/// (an answer for the caller, not a failure).
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Target(Target),
    Unserved(ImageReference),
}

fn trimmed(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// `image_uri` parsed, when given.
pub fn parse_uri(image_uri: Option<&str>) -> Result<Option<ImageReference>, InputProblem> {
    trimmed(image_uri).map(parse_reference).transpose()
}

pub fn parse_reference(input: &str) -> Result<ImageReference, InputProblem> {
    ImageReference::parse(input).map_err(|e| {
        InputProblem::new(
            e.to_string(),
            "Pass an image reference like `quay.io/biocontainers/samtools:1.19` or `<account>.dkr.ecr.<region>.amazonaws.com/repo:tag`.",
        )
    })
}

/// The target of a check: `image_uri` when given (parsed by [`parse_uri`]), else
/// `repository_name` with `image_tag` or `image_digest`.
pub fn resolve(
    image_uri: Option<ImageReference>,
    repository_name: Option<&str>,
    image_tag: Option<&str>,
    image_digest: Option<&str>,
    account: &str,
    rules: &[PullThroughCacheRule],
) -> Result<Resolved, InputProblem> {
    match image_uri {
        Some(reference) => for_reference(reference, account, rules),
        None => for_name(repository_name, image_tag, image_digest).map(Resolved::Target),
    }
}

/// `repository_name` with `image_tag` (default `latest`) or `image_digest` (which wins).
pub fn for_name(
    repository_name: Option<&str>,
    image_tag: Option<&str>,
    image_digest: Option<&str>,
) -> Result<Target, InputProblem> {
    let Some(name) = trimmed(repository_name) else {
        return Err(InputProblem::new(
            "Give repository_name or image_uri.",
            "E.g. repository_name \"quay/biocontainers/samtools\" with image_tag, or image_uri \"quay.io/biocontainers/samtools:1.19\".",
        ));
    };
    image_ref::validate_ecr_repository_name(name).map_err(|e| {
        InputProblem::new(
            e.to_string(),
            "Pass the repository name as ListECRRepositories shows it.",
        )
    })?;
    let (selector, tag) = match trimmed(image_digest) {
        Some(d) => {
            let digest = Digest::parse(d).map_err(|e| {
                InputProblem::new(
                    e.to_string(),
                    "Pass the digest as sha256:<64 lowercase hex digits>.",
                )
            })?;
            (ImageSelector::Digest(digest.to_string()), None)
        }
        None => {
            let tag = trimmed(image_tag)
                .unwrap_or(image_ref::DEFAULT_TAG)
                .to_owned();
            (ImageSelector::Tag(tag.clone()), Some(tag))
        }
    };
    Ok(Target {
        repository: name.to_owned(),
        selector,
        tag,
        upstream: None,
    })
}

/// A reference → its ECR repository in `account`: an ECR URI names it, an upstream reference
/// lands in the repository of the cache that serves its registry.
pub fn for_reference(
    reference: ImageReference,
    account: &str,
    rules: &[PullThroughCacheRule],
) -> Result<Resolved, InputProblem> {
    let selector = match (&reference.digest, &reference.tag) {
        (Some(d), _) => ImageSelector::Digest(d.to_string()),
        (None, Some(t)) => ImageSelector::Tag(t.clone()),
        (None, None) => ImageSelector::Tag(image_ref::DEFAULT_TAG.to_owned()),
    };
    let tag = match &selector {
        ImageSelector::Tag(t) => Some(t.clone()),
        ImageSelector::Digest(_) => reference.tag.clone(),
    };
    if let Some(host) = reference.ecr_host() {
        if host.account_id != account {
            return Err(InputProblem::new(
                format!(
                    "`{reference}` is in account {}, not this account ({account}).",
                    host.account_id
                ),
                "Check it with aws_profile for that account, or copy it here with CloneContainerToECR.",
            ));
        }
        return Ok(Resolved::Target(Target {
            repository: reference.repository.clone(),
            selector,
            tag,
            upstream: None,
        }));
    }
    Ok(match verdicts::rule_for_upstream(rules, &reference) {
        Some((_, repository)) => Resolved::Target(Target {
            repository,
            selector,
            tag,
            upstream: Some(reference),
        }),
        None => Resolved::Unserved(reference),
    })
}

/// The cache whose prefix holds `repository` (the longest prefix when several do).
pub fn serving_rule<'a>(
    repository: &str,
    rules: &'a [PullThroughCacheRule],
) -> Option<&'a PullThroughCacheRule> {
    let prefix = verdicts::cache_prefix_for(
        repository,
        rules.iter().map(|r| r.ecr_repository_prefix.as_str()),
    )?;
    rules.iter().find(|r| r.ecr_repository_prefix == prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, url: &str) -> PullThroughCacheRule {
        PullThroughCacheRule {
            ecr_repository_prefix: prefix.into(),
            upstream_registry_url: url.into(),
            upstream_registry: None,
            credential_arn: None,
            custom_role_arn: None,
            upstream_repository_prefix: None,
            registry_id: None,
            created_at: None,
            updated_at: None,
        }
    }

    const ACCOUNT: &str = "123456789012";
    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn target(reference: &str, rules: &[PullThroughCacheRule]) -> Result<Resolved, InputProblem> {
        for_reference(ImageReference::parse(reference).unwrap(), ACCOUNT, rules)
    }

    #[test]
    fn by_name_a_digest_wins_and_the_tag_defaults_to_latest() {
        let t = for_name(Some(" quay/x "), None, None).unwrap();
        assert_eq!(
            (t.repository.as_str(), &t.selector, t.tag.as_deref()),
            (
                "quay/x",
                &ImageSelector::Tag("latest".into()),
                Some("latest")
            )
        );
        let t = for_name(Some("quay/x"), Some("1.0"), Some(DIGEST)).unwrap();
        assert_eq!(t.selector, ImageSelector::Digest(DIGEST.into()));
        assert_eq!(t.tag, None);
        for (name, digest) in [(None, None), (Some(" "), None), (Some("UPPER"), None)] {
            assert!(for_name(name, None, digest).is_err(), "{name:?}");
        }
        assert!(for_name(Some("x"), None, Some("sha256:short")).is_err());
    }

    #[test]
    fn by_reference() {
        let rules = [
            rule("quay", "quay.io"),
            rule("docker-hub", "registry-1.docker.io"),
        ];
        // An upstream reference lands in its cache's repository.
        let Ok(Resolved::Target(t)) = target("quay.io/biocontainers/samtools:1.19", &rules) else {
            panic!("served")
        };
        assert_eq!(t.repository, "quay/biocontainers/samtools");
        assert_eq!(t.tag.as_deref(), Some("1.19"));
        assert!(t.upstream.is_some());
        // No cache for the registry: an answer, not an error.
        assert!(matches!(
            target("ghcr.io/o/tool:1", &rules),
            Ok(Resolved::Unserved(_))
        ));
        // An ECR URI of this account names the repository; another account's is refused.
        let Ok(Resolved::Target(t)) = target(
            &format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mine/app@{DIGEST}"),
            &rules,
        ) else {
            panic!("ecr")
        };
        assert_eq!((t.repository.as_str(), t.upstream), ("mine/app", None));
        assert_eq!(t.selector, ImageSelector::Digest(DIGEST.into()));
        let err = target("210987654321.dkr.ecr.us-east-1.amazonaws.com/a:1", &rules).unwrap_err();
        assert!(err.message.contains("is in account 210987654321"), "{err}");
        assert!(parse_uri(Some("Not A Ref!")).is_err());
        assert_eq!(parse_uri(Some("  ")), Ok(None));
    }

    #[test]
    fn the_longest_cache_prefix_serves_a_repository() {
        let rules = [rule("quay", "quay.io"), rule("quay/bio", "quay.io")];
        let prefix = |repo| serving_rule(repo, &rules).map(|r| r.ecr_repository_prefix.as_str());
        assert_eq!(prefix("quay/bio/x"), Some("quay/bio"));
        assert_eq!(prefix("quay/other/x"), Some("quay"));
        assert_eq!(prefix("mine/app"), None);
    }
}
