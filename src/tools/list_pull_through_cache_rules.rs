//! `ListPullThroughCacheRules`: the account's caches and whether HealthOmics can use each.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use super::{checked_max_results, default_max_results};
use crate::aws::account_reads;
use crate::aws::ecr;
use crate::core::plan::rule_entry::{RuleEntry, rule_entry_with, rules_message};
use crate::error::ToolError;
use crate::server::HealthOmicsEcrServer;

tool_params! {
    #[derive(Debug)]
    pub struct ListRulesParams {
        /// Most rules to return.
        #[serde(default = "default_max_results")]
        #[schemars(range(min = 1, max = 1000))]
        pub max_results: u32,
        /// From the previous page.
        #[serde(default)]
        #[schemars(with = "String")]
        pub next_token: Option<String>,
        /// Also per-action verdicts and deciding statements.
        #[serde(default)]
        pub detail: bool,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListRulesOutput {
    /// The account this call read (absent when it could not be asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// How many rules HealthOmics can use, which not, and the next call.
    pub message: String,
    pub rules: Vec<RuleEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// `absent`, `unreadable`, or `not_read` (no rules to judge); absent when the registry
    /// policy was read (each rule says what it grants).
    #[serde(skip_serializing_if = "is_present")]
    pub registry_policy_state: String,
    pub region: String,
}

#[tool_router(router = list_pull_through_cache_rules_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// List ECR pull-through cache rules and whether AWS HealthOmics can use each: a supported
    /// upstream, a registry policy allowing omics.amazonaws.com ecr:CreateRepository and
    /// ecr:BatchImportUpstreamImage on the prefix, and a PULL_THROUGH_CACHE template granting the
    /// pull actions; what is missing. Read-only.
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
                message: rules_message(&[], next_token.is_some()),
                rules: Vec::new(),
                next_token,
                registry_policy_state: "not_read".into(),
                account_id: clients.account_id().await.ok(),
                region: clients.region.clone(),
            }));
        }
        let (registry, judged) = account_reads::judge_rules(&clients, rules).await;
        let rules: Vec<RuleEntry> = judged
            .into_iter()
            .map(|j| rule_entry_with(j, params.detail))
            .collect();
        Ok(Json(ListRulesOutput {
            message: rules_message(&rules, next_token.is_some()),
            rules,
            next_token,
            registry_policy_state: registry.state().into(),
            account_id: clients.account_id().await.ok(),
            region: clients.region.clone(),
        }))
    }
}

fn is_present(state: &str) -> bool {
    state == "present"
}
