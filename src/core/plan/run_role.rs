//! Which repositories the HealthOmics run role must be allowed to pull from.
//!
//! The role needs the pull actions on every repository a run pulls (the seed guide's step 9):
//! the repositories pull-through caches create (by prefix), the destinations of the map's image
//! mappings, and repositories filled by a copy (CloneContainerToECR) that grant HealthOmics
//! access. A policy covering only the caches leaves runs unable to pull the rest.

use crate::core::image_ref::ImageReference;
use crate::core::policy;
use crate::core::registry_map::ContainerRegistryMap;

/// The repositories outside every cache prefix that the role must cover, sorted and unique:
/// image-mapping destinations in this account and region, and `accessible_repositories` (those
/// whose policy lets HealthOmics pull). Destinations in another account or region are left out:
/// the role's policy cannot name them usefully, and the map check reports them.
pub fn run_role_repositories(
    account: &str,
    region: &str,
    cache_prefixes: &[String],
    map: Option<&ContainerRegistryMap>,
    accessible_repositories: &[String],
) -> Vec<String> {
    let destinations = map
        .into_iter()
        .flat_map(|m| &m.image_mappings)
        .filter_map(|m| ImageReference::parse(&m.destination_image).ok())
        .filter(|r| {
            r.ecr_host()
                .is_some_and(|h| h.account_id == account && h.region == region)
        })
        .map(|r| r.repository);
    let mut repositories: Vec<String> = destinations
        .chain(accessible_repositories.iter().cloned())
        .filter(|name| !under_any_prefix(name, cache_prefixes))
        .collect();
    repositories.sort();
    repositories.dedup();
    repositories
}

fn under_any_prefix(name: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| {
        p == policy::ROOT_PREFIX
            || name
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The run role's pull policy, or `None` when there is nothing it must pull from.
pub fn run_role_policy(
    partition: &str,
    region: &str,
    account: &str,
    cache_prefixes: &[String],
    repositories: &[String],
) -> Option<serde_json::Value> {
    (!cache_prefixes.is_empty() || !repositories.is_empty()).then(|| {
        policy::service_role_pull_policy(partition, region, account, cache_prefixes, repositories)
    })
}

/// The run role's policy for a whole container registry map: pull on every repository the map
/// pulls from in this account and region (the prefix of each registry mapping, whether a cache
/// or a HealthOmics copy fills it, and each image mapping's destination), and
/// `secretsmanager:GetSecretValue` on the secrets of copy mappings, which the role reads at run
/// time. `None` when the map pulls from nothing here.
pub fn run_role_policy_for_map(
    partition: &str,
    region: &str,
    account: &str,
    map: &ContainerRegistryMap,
) -> Option<serde_json::Value> {
    let ours = |id: Option<&str>| id.is_none_or(|id| id == account);
    let mut prefixes: Vec<String> = map
        .registry_mappings
        .iter()
        .filter(|m| ours(m.ecr_account_id.as_deref()))
        .map(|m| m.ecr_repository_prefix.clone())
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let repositories = run_role_repositories(account, region, &prefixes, Some(map), &[]);
    let mut policy = run_role_policy(partition, region, account, &prefixes, &repositories)?;
    let mut secrets: Vec<&str> = map
        .registry_mappings
        .iter()
        .filter_map(|m| m.credential_arn.as_deref())
        .filter(|arn| arn.starts_with("arn:"))
        .collect();
    secrets.sort_unstable();
    secrets.dedup();
    if !secrets.is_empty()
        && let Some(statements) = policy
            .get_mut("Statement")
            .and_then(serde_json::Value::as_array_mut)
    {
        statements.push(serde_json::json!({
            "Sid": "HealthOmicsCopyCredentials",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secrets,
        }));
    }
    Some(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::ImageMapping;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";

    fn map(destinations: &[&str]) -> ContainerRegistryMap {
        ContainerRegistryMap {
            image_mappings: destinations
                .iter()
                .map(|d| ImageMapping {
                    source_image: "ubuntu:22.04".into(),
                    destination_image: (*d).into(),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn destinations_and_cloned_repositories_are_covered_once() {
        let m = map(&[
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/base/ubuntu:22.04",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/base/ubuntu@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            // Another account and another region are not this role's to name.
            "210987654321.dkr.ecr.us-east-1.amazonaws.com/theirs/tool:1",
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/west/tool:1",
            // Under a cache prefix: the prefix pattern covers it already.
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/quay/biocontainers/samtools:1.19",
        ]);
        let repos = run_role_repositories(
            ACCOUNT,
            REGION,
            &["quay".into()],
            Some(&m),
            &["seqera-community/test/amd64".into(), "quay/x".into()],
        );
        assert_eq!(repos, vec!["base/ubuntu", "seqera-community/test/amd64"]);
    }

    #[test]
    fn a_policy_exists_without_caches_when_repositories_need_it() {
        let repos = vec!["base/ubuntu".to_owned()];
        let policy = run_role_policy("aws", REGION, ACCOUNT, &[], &repos)
            .unwrap_or_else(|| panic!("a policy"));
        let resources = policy["Statement"][0]["Resource"].to_string();
        assert!(resources.contains("repository/base/ubuntu"), "{resources}");
        assert!(run_role_policy("aws", REGION, ACCOUNT, &[], &[]).is_none());
    }

    #[test]
    fn root_prefix_covers_everything() {
        let repos = run_role_repositories(ACCOUNT, REGION, &["ROOT".into()], None, &["a/b".into()]);
        assert!(repos.is_empty());
    }

    #[test]
    fn a_map_policy_covers_caches_copies_destinations_and_copy_secrets() {
        use crate::core::registry_map::RegistryMapping;
        let mapping =
            |url: &str, prefix: &str, account: Option<&str>, cred: Option<&str>| RegistryMapping {
                upstream_registry_url: url.into(),
                ecr_repository_prefix: prefix.into(),
                upstream_repository_prefix: None,
                ecr_account_id: account.map(str::to_owned),
                credential_arn: cred.map(str::to_owned),
            };
        let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wave-AbCdEf";
        let mut m = map(&["123456789012.dkr.ecr.us-east-1.amazonaws.com/cloned/tool:1"]);
        m.registry_mappings = vec![
            mapping("quay.io", "quay", None, None),
            mapping("community.wave.seqera.io", "wave", None, Some(secret)),
            mapping("public.ecr.aws", "theirs", Some("210987654321"), None),
            mapping("nvcr.io", "ngc", None, Some("<secret ARN>")),
        ];
        let policy = run_role_policy_for_map("aws", REGION, ACCOUNT, &m)
            .unwrap_or_else(|| panic!("a policy"));
        let pull = policy["Statement"][0]["Resource"].to_string();
        for wanted in [
            "repository/quay/*",
            "repository/wave/*",
            "repository/ngc/*",
            "repository/cloned/tool",
        ] {
            assert!(pull.contains(wanted), "{wanted} in {pull}");
        }
        assert!(!pull.contains("theirs"), "{pull}");
        assert_eq!(
            policy["Statement"][1]["Resource"],
            serde_json::json!([secret])
        );
        assert!(
            run_role_policy_for_map("aws", REGION, ACCOUNT, &ContainerRegistryMap::default())
                .is_none()
        );
    }
}
