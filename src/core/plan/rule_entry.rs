//! One pull-through cache rule as every tool reports it: the rule's fields as ECR describes
//! them and the HealthOmics verdict on it, with each part of the verdict (registry policy,
//! template) and each reason it is not usable.

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::policy::{AccessEvaluation, AccessStatus};
use crate::core::registries::{self, AccessPath};
use crate::core::verdicts::RuleJudgement;

#[derive(Debug, Serialize, JsonSchema)]
pub struct RuleEntry {
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    /// ECR's upstream registry kind, e.g. `docker-hub`, `quay`, `github-container-registry`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_registry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_repository_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// HealthOmics can pull images through this cache (all of the conditions below hold).
    pub healthomics_usable: bool,
    /// HealthOmics supports pull-through cache from this upstream.
    pub upstream_supported_by_healthomics: bool,
    /// The registry policy allows omics.amazonaws.com CreateRepository and
    /// BatchImportUpstreamImage on `<prefix>/*`.
    pub registry_permission_granted: bool,
    /// A repository creation template applies to this prefix (its own, or ROOT).
    pub repository_template_exists: bool,
    /// The prefix of the template that applies (`ROOT` when only the fallback does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_template_prefix: Option<String>,
    /// The template is applied for PULL_THROUGH_CACHE repository creation.
    pub repository_template_applies_to_pull_through_cache: bool,
    /// The template carries a repository policy at all.
    pub repository_template_has_policy: bool,
    /// The template's policy grants HealthOmics the pull actions.
    pub repository_template_permission_granted: bool,
    /// Registry-policy actions HealthOmics lacks for this prefix.
    pub missing_registry_permissions: Vec<String>,
    /// Template-policy actions HealthOmics lacks.
    pub missing_template_permissions: Vec<String>,
    pub registry_access: AccessEvaluation,
    pub template_access: AccessEvaluation,
    /// Each reason the cache is not usable, in plain words.
    pub problems: Vec<String>,
}

/// The report of one judged rule.
pub fn rule_entry(j: RuleJudgement) -> RuleEntry {
    let problems = j.problems();
    let usable = j.usable();
    let template = j.template.template.as_ref();
    let registry_eval = j.registry.evaluation;
    let template_eval = j.template.judged.evaluation;
    let rule = j.rule;
    RuleEntry {
        healthomics_usable: usable,
        upstream_supported_by_healthomics: j.upstream_path == AccessPath::PullThroughCache,
        registry_permission_granted: registry_eval.status == AccessStatus::Accessible,
        repository_template_exists: template.is_some(),
        repository_template_prefix: template.map(|t| t.prefix.clone()),
        repository_template_applies_to_pull_through_cache: j.template.applies_to_pull_through_cache,
        repository_template_has_policy: template.is_some_and(|t| t.repository_policy.is_some()),
        repository_template_permission_granted: template_eval.status == AccessStatus::Accessible,
        missing_registry_permissions: registry_eval.missing_actions(),
        missing_template_permissions: template_eval.missing_actions(),
        registry_access: registry_eval,
        template_access: template_eval,
        problems,
        upstream_registry: rule.upstream_registry.or_else(|| {
            registries::classify_host(&rule.upstream_registry_url)
                .info()
                .and_then(|i| i.ecr_upstream_registry)
                .map(str::to_owned)
        }),
        ecr_repository_prefix: rule.ecr_repository_prefix,
        upstream_registry_url: rule.upstream_registry_url,
        upstream_repository_prefix: rule.upstream_repository_prefix,
        credential_arn: rule.credential_arn,
        custom_role_arn: rule.custom_role_arn,
        created_at: rule.created_at,
        updated_at: rule.updated_at,
    }
}
