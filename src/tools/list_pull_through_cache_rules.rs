//! `ListPullThroughCacheRules`: the account's caches and whether HealthOmics can use each.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use super::{checked_max_results, default_max_results};
use crate::aws::account_reads;
use crate::aws::ecr;
use crate::core::policy::AccessEvaluation;
use crate::core::registries::{self, AccessPath};
use crate::core::verdicts::RuleJudgement;
use crate::error::ToolError;
use crate::server::HealthOmicsEcrServer;

tool_params! {
    #[derive(Debug)]
    pub struct ListRulesParams {
        /// Most rules to return (1–1000, default 100).
        #[serde(default = "default_max_results")]
        #[schemars(range(min = 1, max = 1000))]
        pub max_results: u32,
        /// `next_token` from a previous call, to continue the listing.
        #[serde(default)]
        #[schemars(with = "String")]
        pub next_token: Option<String>,
    }
}

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

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListRulesOutput {
    /// The account this call read (absent when it could not be asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub rules: Vec<RuleEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// `present`, `absent`, `unreadable`, or `not_read` (no rules to judge).
    pub registry_policy_state: String,
    pub region: String,
}

#[tool_router(router = list_pull_through_cache_rules_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// List the ECR pull-through cache rules in a region with every field AWS returns, and for
    /// each rule whether AWS HealthOmics can use it: the upstream must be one HealthOmics
    /// supports, the registry policy must allow omics.amazonaws.com ecr:CreateRepository and
    /// ecr:BatchImportUpstreamImage on the prefix, and a repository creation template applied
    /// for PULL_THROUGH_CACHE must grant the pull actions. Missing or denied actions are listed
    /// separately for the registry policy and the template. Read-only.
    #[tool(
        name = "ListPullThroughCacheRules",
        title = "List pull-through cache rules with HealthOmics usability",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn list_pull_through_cache_rules(
        &self,
        Parameters(params): Parameters<ListRulesParams>,
    ) -> Result<Json<ListRulesOutput>, ToolError> {
        let max_results = checked_max_results(params.max_results)?;
        let clients = self.clients_for(&params).await?;
        let (rules, next_token) =
            ecr::pull_through_cache_rules_page(&clients.ecr, params.next_token, max_results)
                .await
                .map_err(|e| e.into_tool_error(None))?;
        if rules.is_empty() {
            return Ok(Json(ListRulesOutput {
                rules: Vec::new(),
                next_token,
                registry_policy_state: "not_read".into(),
                account_id: clients.account_id().await.ok(),
                region: clients.region.clone(),
            }));
        }
        let (registry, judged) = account_reads::judge_rules(&clients, rules).await;
        Ok(Json(ListRulesOutput {
            rules: judged.into_iter().map(rule_entry).collect(),
            next_token,
            registry_policy_state: registry.state().into(),
            account_id: clients.account_id().await.ok(),
            region: clients.region.clone(),
        }))
    }
}

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
        registry_permission_granted: registry_eval.status
            == crate::core::policy::AccessStatus::Accessible,
        repository_template_exists: template.is_some(),
        repository_template_prefix: template.map(|t| t.prefix.clone()),
        repository_template_applies_to_pull_through_cache: j.template.applies_to_pull_through_cache,
        repository_template_has_policy: template.is_some_and(|t| t.repository_policy.is_some()),
        repository_template_permission_granted: template_eval.status
            == crate::core::policy::AccessStatus::Accessible,
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
