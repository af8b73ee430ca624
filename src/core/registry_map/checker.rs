//! The rule engine `build_map` and `check_map` share: the API's limits, the checker with what it
//! knows (region, caller, usable caches), where findings go, and the rules between mappings.

use crate::core::image_ref::{ROOT_PREFIX, is_region_name};
use crate::core::registries::AccessPath;

use super::{CacheMapping, FindingCode, MapFinding, RegistryMapping, Severity, normalise_host};

/// HealthOmics API limits (RegistryMapping / ImageMapping), checked here so a bad map is refused
/// with the field named instead of by CreateWorkflow.
pub const UPSTREAM_REGISTRY_URL_MAX: usize = 750;
pub const ECR_REPOSITORY_PREFIX_MAX: usize = 256;
pub const UPSTREAM_REPOSITORY_PREFIX_MIN: usize = 2;
pub const UPSTREAM_REPOSITORY_PREFIX_MAX: usize = 30;
pub const CREDENTIAL_ARN_MIN: usize = 20;
pub const CREDENTIAL_ARN_MAX: usize = 2048;
pub const IMAGE_URI_MAX: usize = 750;

pub(super) struct Checker<'a> {
    pub(super) region: &'a str,
    pub(super) caller: Option<&'a str>,
    pub(super) known_caches: &'a [CacheMapping],
    pub(super) caches_complete: bool,
}

pub(super) struct Finder<'a> {
    pub(super) out: &'a mut Vec<MapFinding>,
    pub(super) base: &'a str,
    pub(super) index: usize,
}

impl Finder<'_> {
    pub(super) fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        key: Option<&str>,
        message: String,
        suggestion: Option<String>,
    ) {
        let field = match key {
            Some(k) => format!("{}.{k}", self.base),
            None => self.base.to_owned(),
        };
        self.out.push(MapFinding {
            severity,
            code,
            field,
            index: Some(self.index),
            message,
            suggestion,
        });
    }
}

/// Length check with the API's limits; `true` when within them.
pub(super) fn check_length(f: &mut Finder, key: &str, value: &str, min: usize, max: usize) -> bool {
    let n = value.chars().count();
    if n < min {
        let message = if n == 0 {
            format!("`{key}` is empty: it needs {min} to {max} characters")
        } else {
            format!("`{key}` has {n} characters; the API needs {min} to {max}")
        };
        f.push(
            Severity::Error,
            FindingCode::Length,
            Some(key),
            message,
            None,
        );
        return false;
    }
    if n > max {
        f.push(
            Severity::Error,
            FindingCode::Length,
            Some(key),
            format!("`{key}` has {n} characters; the API allows at most {max}: shorten it"),
            None,
        );
        return false;
    }
    true
}

impl Checker<'_> {
    pub(super) fn cache_for_prefix(&self, prefix: &str) -> Option<&CacheMapping> {
        self.known_caches
            .iter()
            .find(|c| c.ecr_repository_prefix == prefix)
    }

    pub(super) fn check_entries(
        &self,
        mappings: &[&RegistryMapping],
        labels: &[(String, usize)],
        out: &mut Vec<MapFinding>,
    ) {
        let mut classes = Vec::with_capacity(mappings.len());
        for (mapping, (base, index)) in mappings.iter().zip(labels) {
            let mut f = Finder {
                out,
                base,
                index: *index,
            };
            classes.push(self.check_registry_mapping(mapping, &mut f));
        }
        self.check_across(mappings, labels, &classes, out);
    }

    /// Rules between mappings: duplicate hosts and prefixes that collide or nest.
    fn check_across(
        &self,
        mappings: &[&RegistryMapping],
        labels: &[(String, usize)],
        classes: &[Option<AccessPath>],
        out: &mut Vec<MapFinding>,
    ) {
        let hosts: Vec<String> = mappings
            .iter()
            .map(|m| normalise_host(&m.upstream_registry_url))
            .collect();
        for j in 0..mappings.len() {
            let (base, index) = &labels[j];
            for i in 0..j {
                let (other, _) = &labels[i];
                if hosts[i] == hosts[j] {
                    out.push(MapFinding {
                        severity: Severity::Warning,
                        code: FindingCode::DuplicateHost,
                        field: base.clone(),
                        index: Some(*index),
                        message: format!(
                            "{other} already maps `{}`; HealthOmics uses one mapping per host: remove one of them",
                            hosts[j]
                        ),
                        suggestion: None,
                    });
                    continue;
                }
                let (a, b) = (
                    mappings[i].ecr_repository_prefix.as_str(),
                    mappings[j].ecr_repository_prefix.as_str(),
                );
                let same = a == b;
                if !prefixes_overlap(a, b) {
                    continue;
                }
                let ptc = |c: Option<AccessPath>| c == Some(AccessPath::PullThroughCache);
                let copy = |c: Option<AccessPath>| c == Some(AccessPath::HealthOmicsCopy);
                let (ci, cj) = (classes[i], classes[j]);
                let (severity, code, message) = if same && ptc(ci) && ptc(cj) {
                    (
                        Severity::Error,
                        FindingCode::PrefixConflict,
                        format!(
                            "{other} (`{}`) has the same prefix `{b}`, but a pull-through cache prefix belongs to one upstream: give each host the prefix of its own cache rule",
                            hosts[i]
                        ),
                    )
                } else if (copy(ci) && ptc(cj)) || (ptc(ci) && copy(cj)) {
                    (
                        Severity::Warning,
                        FindingCode::PrefixOverlap,
                        format!(
                            "prefix `{b}` {} the prefix `{a}` of {other} (`{}`): copied images would land in a pull-through cache namespace; give the HealthOmics-copy mapping a prefix of its own",
                            if same { "equals" } else { "overlaps" },
                            hosts[i]
                        ),
                    )
                } else {
                    (
                        Severity::Warning,
                        FindingCode::PrefixOverlap,
                        format!(
                            "prefix `{b}` {} the prefix `{a}` of {other} (`{}`), so images of two registries share repositories: give each host its own prefix",
                            if same { "equals" } else { "overlaps" },
                            hosts[i]
                        ),
                    )
                };
                out.push(MapFinding {
                    severity,
                    code,
                    field: format!("{base}.ecrRepositoryPrefix"),
                    index: Some(*index),
                    message,
                    suggestion: None,
                });
            }
        }
    }
}

/// Equal, nested (`a` and `a/b`), or one of them `ROOT` (which holds every repository).
pub(super) fn prefixes_overlap(a: &str, b: &str) -> bool {
    a == b
        || a == ROOT_PREFIX
        || b == ROOT_PREFIX
        || b.strip_prefix(a).is_some_and(|r| r.starts_with('/'))
        || a.strip_prefix(b).is_some_and(|r| r.starts_with('/'))
}

pub(super) fn check_region(region: &str, field: &str, findings: &mut Vec<MapFinding>) {
    if !is_region_name(region) {
        findings.push(MapFinding {
            severity: Severity::Error,
            code: FindingCode::InvalidRegion,
            field: field.into(),
            index: None,
            message: format!(
                "`{region}` is not an AWS region name: give the region workflows run in, e.g. `us-east-1`"
            ),
            suggestion: None,
        });
    }
}

pub(super) fn empty_map_finding(field: &str) -> MapFinding {
    MapFinding {
        severity: Severity::Warning,
        code: FindingCode::EmptyMap,
        field: field.into(),
        index: None,
        message: "the map has no registry or image mappings, so HealthOmics pulls every image as written: create pull-through caches (CreatePullThroughCacheForHealthOmics) or pass additional_registry_mappings / image_mappings".into(),
        suggestion: None,
    }
}

#[cfg(test)]
mod tests {
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::{
        ContainerRegistryMap, FindingCode, RegistryMapping, Severity, check_map,
    };

    #[test]
    fn rules_between_mappings() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let rows: Vec<(Vec<RegistryMapping>, Vec<Key>)> = vec![
            (
                vec![rm("quay.io", "quay"), rm("quay.io", "quay-2")],
                vec![(W, C::DuplicateHost, "registryMappings[1]".into())],
            ),
            (
                vec![rm("quay.io", "shared"), rm("ghcr.io", "shared")],
                vec![(
                    E,
                    C::PrefixConflict,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![
                    rm("quay.io", "quay"),
                    with_cred(rm("community.wave.seqera.io", "quay"), SECRET),
                ],
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![
                    with_cred(rm("nvcr.io", "copies/ngc"), SECRET),
                    with_cred(rm("gcr.io", "copies"), SECRET),
                ],
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![rm("quay.io", "ROOT"), rm("ghcr.io", "github")],
                vec![(
                    W,
                    C::PrefixOverlap,
                    "registryMappings[1].ecrRepositoryPrefix".into(),
                )],
            ),
            (
                vec![rm("quay.io", "quay"), rm("ghcr.io", "quay-mirror")],
                vec![],
            ),
        ];
        for (mappings, expected) in rows {
            let map = ContainerRegistryMap {
                registry_mappings: mappings.clone(),
                image_mappings: vec![],
            };
            assert_eq!(keyed(&check_map(&map, &ctx())), expected, "{mappings:?}");
        }
    }
}
