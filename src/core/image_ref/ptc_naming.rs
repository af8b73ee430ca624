//! ECR repository names and pull-through cache naming: the `ROOT` prefix, prefix rules, and the
//! repository a cache rule (or a HealthOmics registry mapping) gives an upstream image.

use super::grammar::{Separators, check_path_component};
use super::{ImageRefError, ImageReference};

/// ECR's "no prefix" value for pull-through cache and creation-template prefixes.
pub const ROOT_PREFIX: &str = "ROOT";

const ECR_REPOSITORY_MIN: usize = 2;
const ECR_REPOSITORY_MAX: usize = 256;
const PTC_PREFIX_MIN: usize = 2;
const PTC_PREFIX_MAX: usize = 30;

/// Checks a name against ECR's repository rules (2–256 characters, lowercase components joined
/// by `/`, single `.`/`_`/`-` separators), so we refuse before the API does and say why.
pub fn validate_ecr_repository_name(name: &str) -> Result<(), ImageRefError> {
    let invalid = |reason: String| ImageRefError::InvalidEcrRepositoryName {
        name: name.to_owned(),
        reason,
    };
    check_ecr_name(name, ECR_REPOSITORY_MIN, ECR_REPOSITORY_MAX).map_err(invalid)
}

/// Checks a pull-through cache `ecrRepositoryPrefix`: 2–30 characters of the repository grammar,
/// or the literal `ROOT` (no prefix).
pub fn validate_ptc_prefix(prefix: &str) -> Result<(), ImageRefError> {
    if prefix == ROOT_PREFIX {
        return Ok(());
    }
    check_ecr_name(prefix, PTC_PREFIX_MIN, PTC_PREFIX_MAX).map_err(|reason| {
        ImageRefError::InvalidPtcPrefix {
            prefix: prefix.to_owned(),
            reason,
        }
    })
}

fn check_ecr_name(name: &str, min: usize, max: usize) -> Result<(), String> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "it has uppercase letters; ECR names are lowercase: write `{}`",
            name.to_ascii_lowercase()
        ));
    }
    if name.len() < min || name.len() > max {
        return Err(format!(
            "it is {} characters long; it must have {min} to {max}",
            name.len()
        ));
    }
    for component in name.split('/') {
        check_path_component(component, Separators::Ecr)?;
    }
    Ok(())
}

/// The private repository a pull-through cache rule (or a HealthOmics registry mapping) gives an
/// upstream image: `<prefix>/<upstream path>`, only the path for `ROOT`, and with an
/// `upstreamRepositoryPrefix` `U` the path must start with `U/`, which is dropped.
pub fn ptc_repository_name(
    prefix: &str,
    upstream_repository_prefix: Option<&str>,
    reference: &ImageReference,
) -> Result<String, ImageRefError> {
    let path = reference.repository.as_str();
    let rest = match upstream_repository_prefix {
        None | Some(ROOT_PREFIX) => path,
        Some(upstream) => path
            .strip_prefix(upstream)
            .and_then(|r| r.strip_prefix('/'))
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ImageRefError::UpstreamPrefixMismatch {
                repository: path.to_owned(),
                upstream_prefix: upstream.to_owned(),
            })?,
    };
    let name = if prefix == ROOT_PREFIX {
        rest.to_owned()
    } else {
        format!("{prefix}/{rest}")
    };
    validate_ecr_repository_name(&name)?;
    Ok(name)
}

/// The upstream repository path behind a PTC repository, or `None` when the repository is not
/// under the prefix. With an `upstreamRepositoryPrefix` on the rule, the caller puts it back in
/// front of the result.
pub fn upstream_from_ptc_repository(prefix: &str, repository: &str) -> Option<String> {
    let rest = if prefix == ROOT_PREFIX {
        repository
    } else {
        repository.strip_prefix(prefix)?.strip_prefix('/')?
    };
    (!rest.is_empty()).then(|| rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image_ref::test_support::p;
    use proptest::prelude::*;

    #[test]
    fn ecr_repository_names() {
        for ok in [
            "ab",
            "docker-hub/library/ubuntu",
            "a.b_c-d/e",
            "0/1",
            &"a".repeat(256),
        ] {
            assert_eq!(validate_ecr_repository_name(ok), Ok(()), "{ok}");
        }
        let rows = [
            ("a", "1 characters long"),
            (&"a".repeat(257) as &str, "257 characters long"),
            ("Docker-hub/x", "write `docker-hub/x`"),
            ("a--b", "joins parts with `--`"),
            ("a__b", "joins parts with `__`"),
            ("a//b", "empty component"),
            ("/ab", "empty component"),
            ("ab/", "empty component"),
            ("-ab", "must start and end"),
            ("a b", "` ` is not allowed"),
        ];
        for (name, needle) in rows {
            let e = validate_ecr_repository_name(name)
                .err()
                .unwrap_or_else(|| panic!("{name}"));
            assert!(matches!(e, ImageRefError::InvalidEcrRepositoryName { .. }));
            assert!(e.to_string().contains(needle), "{name}: {e}");
        }
    }

    #[test]
    fn ptc_prefixes() {
        for ok in [
            "ROOT",
            "docker-hub",
            "ab",
            "a/b",
            "ecr-public",
            &"a".repeat(30),
        ] {
            assert_eq!(validate_ptc_prefix(ok), Ok(()), "{ok}");
        }
        for bad in [
            "a",
            "Root",
            "Quay",
            "a--b",
            &"a".repeat(31),
            "a/",
            "",
            "docker hub",
        ] {
            let e = validate_ptc_prefix(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad}"));
            assert!(matches!(e, ImageRefError::InvalidPtcPrefix { .. }), "{bad}");
        }
    }

    #[test]
    fn ptc_repository_mapping() {
        let ubuntu = p("ubuntu:22.04");
        assert_eq!(
            ptc_repository_name("docker-hub", None, &ubuntu)
                .ok()
                .as_deref(),
            Some("docker-hub/library/ubuntu")
        );
        assert_eq!(
            ptc_repository_name("ROOT", None, &ubuntu).ok().as_deref(),
            Some("library/ubuntu")
        );
        assert_eq!(
            ptc_repository_name("dh", Some("library"), &ubuntu)
                .ok()
                .as_deref(),
            Some("dh/ubuntu")
        );
        assert_eq!(
            ptc_repository_name("dh", Some("ROOT"), &ubuntu)
                .ok()
                .as_deref(),
            Some("dh/library/ubuntu")
        );
        let samtools = p("quay.io/biocontainers/samtools:1.17--h00cdaf9_0");
        assert_eq!(
            ptc_repository_name("quay", None, &samtools).ok().as_deref(),
            Some("quay/biocontainers/samtools")
        );
        assert_eq!(
            ptc_repository_name("bio", Some("biocontainers"), &samtools)
                .ok()
                .as_deref(),
            Some("bio/samtools")
        );
        let e = ptc_repository_name("bio", Some("biocontainer"), &samtools).err();
        assert!(
            matches!(e, Some(ImageRefError::UpstreamPrefixMismatch { .. })),
            "{e:?}"
        );
        let e = ptc_repository_name("q", Some("biocontainers/samtools"), &samtools).err();
        assert!(
            matches!(e, Some(ImageRefError::UpstreamPrefixMismatch { .. })),
            "the whole path is not a prefix: {e:?}"
        );
        // The distribution grammar allows `--` and `__`; ECR does not.
        let e = ptc_repository_name("quay", None, &p("quay.io/a--b/c")).err();
        assert!(
            matches!(e, Some(ImageRefError::InvalidEcrRepositoryName { .. })),
            "{e:?}"
        );

        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hub/library/ubuntu").as_deref(),
            Some("library/ubuntu")
        );
        assert_eq!(
            upstream_from_ptc_repository("ROOT", "library/ubuntu").as_deref(),
            Some("library/ubuntu")
        );
        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hubx/library/ubuntu"),
            None
        );
        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hub"),
            None
        );
        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hub/"),
            None
        );
        assert_eq!(
            upstream_from_ptc_repository("a/b", "a/b/c/d").as_deref(),
            Some("c/d")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn ptc_name_inverts(prefix in "[a-z]{2,6}(-[a-z]{1,4})?", components in proptest::collection::vec("[a-z0-9]{1,6}([._-][a-z0-9]{1,6})?", 1..4)) {
            let r = ImageReference { registry: "quay.io".into(), repository: components.join("/"), tag: None, digest: None };
            let repo = ptc_repository_name(&prefix, None, &r);
            prop_assert!(repo.is_ok(), "{:?}", repo);
            let repo = repo.unwrap_or_default();
            prop_assert_eq!(upstream_from_ptc_repository(&prefix, &repo), Some(r.repository));
        }
    }
}
