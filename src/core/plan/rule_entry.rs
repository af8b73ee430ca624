//! One pull-through cache rule as every tool reports it: the rule's fields as ECR describes
//! them and the HealthOmics verdict on it, with each part of the verdict (registry policy,
//! template) and each reason it is not usable.

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::policy::{AccessEvaluation, AccessStatus};
use crate::core::registries;
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
    /// The registry policy allows omics.amazonaws.com CreateRepository and
    /// BatchImportUpstreamImage on `<prefix>/*`.
    pub registry_permission_granted: bool,
    /// A repository creation template applies to this prefix (its own, or ROOT).
    pub repository_template_exists: bool,
    /// The prefix of the template that applies (`ROOT` when only the fallback does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_template_prefix: Option<String>,
    /// The template's policy grants HealthOmics the pull actions.
    pub repository_template_permission_granted: bool,
    /// Registry-policy actions HealthOmics lacks for this prefix (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_registry_permissions: Vec<String>,
    /// Template-policy actions HealthOmics lacks (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_template_permissions: Vec<String>,
    /// With `detail`: every registry-policy action's verdict and the statement that decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_access: Option<AccessEvaluation>,
    /// With `detail`: the same for the template's repository policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_access: Option<AccessEvaluation>,
    /// Each reason the cache is not usable, in plain words (absent when usable).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A cache as other results refer to it: its prefix and upstream, whether HealthOmics can use
/// it and why not. (ListPullThroughCacheRules gives the full entry.)
#[derive(Debug, Serialize, JsonSchema)]
pub struct CacheSummary {
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    pub healthomics_usable: bool,
    /// Each reason the cache is not usable (absent when usable).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

pub fn cache_summary(j: RuleJudgement) -> CacheSummary {
    CacheSummary {
        healthomics_usable: j.usable(),
        problems: j.problems(),
        ecr_repository_prefix: j.rule.ecr_repository_prefix,
        upstream_registry_url: j.rule.upstream_registry_url,
    }
}

/// The report of one judged rule: verdicts, what is missing and why.
pub fn rule_entry(j: RuleJudgement) -> RuleEntry {
    rule_entry_with(j, false)
}

/// The report of one judged rule; `detail` keeps the per-action verdicts of both policies.
pub fn rule_entry_with(j: RuleJudgement, detail: bool) -> RuleEntry {
    let problems = j.problems();
    let usable = j.usable();
    let template = j.template.template.as_ref();
    let registry_eval = j.registry.evaluation;
    let template_eval = j.template.judged.evaluation;
    let rule = j.rule;
    RuleEntry {
        healthomics_usable: usable,
        registry_permission_granted: registry_eval.status == AccessStatus::Accessible,
        repository_template_exists: template.is_some(),
        repository_template_prefix: template.map(|t| t.prefix.clone()),
        repository_template_permission_granted: template_eval.status == AccessStatus::Accessible,
        // The problems say the same in words; the lists come with the per-action detail.
        missing_registry_permissions: if detail {
            registry_eval.missing_actions()
        } else {
            Vec::new()
        },
        missing_template_permissions: if detail {
            template_eval.missing_actions()
        } else {
            Vec::new()
        },
        registry_access: detail.then_some(registry_eval),
        template_access: detail.then_some(template_eval),
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
        created_at: rule.created_at.filter(|_| detail),
        updated_at: rule.updated_at.filter(|_| detail),
    }
}

/// One line over a page of rules: how many HealthOmics can use, which cannot and the call that
/// completes one.
pub fn rules_message(rules: &[RuleEntry], more: bool) -> String {
    let unusable: Vec<&str> = rules
        .iter()
        .filter(|r| !r.healthomics_usable)
        .map(|r| r.ecr_repository_prefix.as_str())
        .collect();
    let mut text = match rules.len() {
        0 => "No pull-through cache rules.".to_owned(),
        n => format!(
            "{n} pull-through cache rule(s): {} usable by HealthOmics",
            n - unusable.len()
        ),
    };
    if !unusable.is_empty() {
        text.push_str(&format!(
            "; not: {} (see problems; CreatePullThroughCacheForHealthOmics with its prefix fixes it)",
            unusable.join(", ")
        ));
    }
    if !rules.is_empty() {
        text.push('.');
    }
    if more {
        text.push_str(" More: call again with next_token.");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::fixtures::cache;

    #[test]
    fn a_compact_entry_keeps_the_verdicts_and_drops_the_detail() {
        let usable = rule_entry(cache("quay", "quay.io", true));
        let json = serde_json::to_value(&usable).unwrap_or_default();
        assert_eq!(json["healthomics_usable"], true);
        for absent in [
            "registry_access",
            "template_access",
            "problems",
            "missing_registry_permissions",
        ] {
            assert!(json.get(absent).is_none(), "{absent}: {json}");
        }
        let detailed = rule_entry_with(cache("quay", "quay.io", false), true);
        assert!(detailed.registry_access.is_some() && !detailed.problems.is_empty());
    }

    #[test]
    fn the_message_names_the_unusable_prefixes() {
        let rules = vec![
            rule_entry(cache("quay", "quay.io", true)),
            rule_entry(cache("docker-hub", "registry-1.docker.io", false)),
        ];
        assert_eq!(
            rules_message(&rules, true),
            "2 pull-through cache rule(s): 1 usable by HealthOmics; not: docker-hub (see problems; CreatePullThroughCacheForHealthOmics with its prefix fixes it). More: call again with next_token."
        );
        assert_eq!(rules_message(&[], false), "No pull-through cache rules.");
    }
}
