//! Account state for the plans' tests: policies and judged caches as the readers would give them.

use crate::core::account::{CreationTemplate, PullThroughCacheRule};
use crate::core::registries;
use crate::core::verdicts::{RegistryPolicy, RuleJudgement, Templates};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A repository policy that grants HealthOmics the three pull actions.
pub const ALL_THREE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"HealthOmics","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]}"#;
/// The seed guide's policy: two of the three actions.
pub const GUIDE_TWO: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"HealthOmics","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#;

/// The rule caching `upstream` under `prefix` in [`ACCOUNT`], with its credential secret.
pub fn rule(prefix: &str, upstream: &str, credential: Option<&str>) -> PullThroughCacheRule {
    PullThroughCacheRule {
        ecr_repository_prefix: prefix.into(),
        upstream_registry_url: upstream.into(),
        upstream_registry: None,
        credential_arn: credential.map(str::to_owned),
        custom_role_arn: None,
        upstream_repository_prefix: None,
        registry_id: Some(ACCOUNT.into()),
        created_at: None,
        updated_at: None,
    }
}

/// The cache `prefix` of `upstream`, judged: with a registry policy for the prefix and a
/// granting template when `usable`, with no registry policy otherwise.
pub fn cache(prefix: &str, upstream: &str, usable: bool) -> RuleJudgement {
    let rule = rule(prefix, upstream, None);
    let registry = match usable {
        true => RegistryPolicy::Present {
            text: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"HealthOmicsPTC","Effect":"Allow","Principal":{{"Service":"omics.amazonaws.com"}},"Action":["ecr:CreateRepository","ecr:BatchImportUpstreamImage"],"Resource":"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{prefix}/*"}}]}}"#
            ),
        },
        false => RegistryPolicy::Absent,
    };
    let templates = Templates::Read(vec![CreationTemplate {
        prefix: prefix.into(),
        description: None,
        applied_for: vec!["PULL_THROUGH_CACHE".into()],
        repository_policy: Some(ALL_THREE.into()),
        image_tag_mutability: None,
        custom_role_arn: None,
    }]);
    let judged = RuleJudgement {
        upstream_path: registries::classify_host(upstream).access_path,
        registry: registry.judge_prefix("aws", REGION, ACCOUNT, prefix),
        template: templates.judge_prefix(prefix),
        rule,
    };
    assert_eq!(judged.usable(), usable, "fixture cache `{prefix}`");
    judged
}
