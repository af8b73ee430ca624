//! `GrantHealthOmicsRepositoryAccess`: merge the HealthOmics pull statement into a repository
//! policy, never replacing anything we did not write.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use crate::aws::{AwsErrorKind, ecr};
use crate::cancellation;
use crate::core::plan::grant::{
    GrantPlan, GrantPlanError, GrantRequest, granted_owner_accounts, healthomics_access,
    holds_our_statements, plan_grant,
};
use crate::core::policy::{self, AccessEvaluation, AccessStatus, PolicyDocument};
use crate::core::tool_names;
use crate::core::{image_ref, inputs};
use crate::error::{ErrorCode, ToolError};
use crate::server::HealthOmicsEcrServer;
use crate::write_locks::WriteTarget;

tool_params! {
    #[derive(Debug)]
    pub struct GrantAccessParams {
        /// Repository name (e.g. `my-tools/samtools`) or its full ECR URI.
        pub repository_name: String,
        /// 12-digit account ids that own HealthOmics workflows using this repository from another
        /// account; they are added (in one separate statement, as the HealthOmics docs require for
        /// cross-account images) to the accounts already granted, never replacing them.
        #[serde(default)]
        pub workflow_owner_account_ids: Vec<String>,
        /// Workflow-owner account ids whose access to remove (the only way accounts are removed).
        #[serde(default)]
        pub remove_workflow_owner_account_ids: Vec<String>,
        /// Compute and return the policy that would be written, and change nothing.
        #[serde(default)]
        pub dry_run: bool,
    }
}

/// What a dry run would do; only present with dry_run, so nothing in it reads as done.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GrantDryRun {
    pub would_create_policy: bool,
    pub would_update_policy: bool,
    pub would_add_statement_sids: Vec<String>,
    pub would_update_statement_sids: Vec<String>,
    pub would_remove_statement_sids: Vec<String>,
    pub would_add_owner_accounts: Vec<String>,
    pub would_remove_owner_accounts: Vec<String>,
    /// HealthOmics access once the planned policy is written.
    pub planned_healthomics_accessible: AccessStatus,
    /// The policy that would be written (absent when nothing would change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_policy: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GrantAccessOutput {
    pub success: bool,
    pub repository_name: String,
    /// The account and region acted on.
    pub account_id: String,
    pub region: String,
    pub dry_run: bool,
    /// The policy was written (always false with dry_run; see `dry_run_plan`).
    pub policy_updated: bool,
    /// The repository had no policy and now has one (always false with dry_run).
    pub policy_created: bool,
    pub previous_healthomics_accessible: AccessStatus,
    /// As ECR holds it now: read back after a write; with dry_run, unchanged from before.
    pub current_healthomics_accessible: AccessStatus,
    pub current_access: AccessEvaluation,
    /// Sids of our statements added, changed or removed by this call.
    pub added_statement_sids: Vec<String>,
    pub updated_statement_sids: Vec<String>,
    pub removed_statement_sids: Vec<String>,
    /// Workflow-owner accounts granted now, and those this call added or removed.
    pub workflow_owner_account_ids: Vec<String>,
    pub added_owner_accounts: Vec<String>,
    pub removed_owner_accounts: Vec<String>,
    /// The policy before, as ECR returned it (absent when there was none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_before: Option<serde_json::Value>,
    /// The policy as read back from ECR after the write (absent with dry_run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_after: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run_plan: Option<GrantDryRun>,
    /// The policy read back from ECR holds this call's statements and grants HealthOmics access.
    pub verified: bool,
    pub message: String,
}

/// How often the policy is read again when another writer changes it between our read and our
/// write, before giving up with a conflict.
const CONCURRENT_CHANGE_RETRIES: usize = 3;

#[tool_router(router = grant_access_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Let AWS HealthOmics pull from one private ECR repository: merges a statement (Sid
    /// HealthOmicsImagePull) allowing omics.amazonaws.com ecr:BatchGetImage,
    /// ecr:GetDownloadUrlForLayer and ecr:BatchCheckLayerAvailability into the repository
    /// policy, plus one for workflow-owner accounts when given (accounts accumulate; remove
    /// them with remove_workflow_owner_account_ids). Every other statement is kept exactly,
    /// including Deny statements; nothing is written if access is already granted, if the
    /// existing policy is invalid, or if a statement we did not write would still block access.
    /// Call with dry_run=true first to show the planned policy. The result is read back from ECR
    /// and verified.
    #[tool(
        name = "GrantHealthOmicsRepositoryAccess",
        title = "Grant HealthOmics pull access to an ECR repository",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn grant_healthomics_repository_access(
        &self,
        Parameters(params): Parameters<GrantAccessParams>,
    ) -> Result<Json<GrantAccessOutput>, ToolError> {
        self.grant_repository_access(params).await.map(Json)
    }
}

impl HealthOmicsEcrServer {
    /// The tool's work, callable from other tools (CloneContainerToECR grants access with it).
    pub(crate) async fn grant_repository_access(
        &self,
        params: GrantAccessParams,
    ) -> Result<GrantAccessOutput, ToolError> {
        let name = repository_name(&params.repository_name)?;
        let add = owner_accounts(
            "workflow_owner_account_ids",
            &params.workflow_owner_account_ids,
        )?;
        let remove = owner_accounts(
            "remove_workflow_owner_account_ids",
            &params.remove_workflow_owner_account_ids,
        )?;
        if let Some(both) = add.iter().find(|a| remove.contains(a)) {
            return Err(ToolError::invalid_input(
                format!("`{both}` is both added and removed."),
                "Name each account in workflow_owner_account_ids or in remove_workflow_owner_account_ids, not both.",
            ));
        }
        let clients = self.clients_for(&params).await?;
        let account_id = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        let request = GrantRequest {
            partition: clients.arn_partition().to_owned(),
            add_owner_accounts: add,
            remove_owner_accounts: remove,
        };
        // One writer of this policy at a time in this process (dry runs write nothing).
        let _guard = if params.dry_run {
            None
        } else {
            let scope = clients.write_scope().await;
            let target = WriteTarget::RepositoryPolicy(name.clone());
            Some(self.write_locks.lock(&scope, &[target]).await)
        };

        // 1. Read the current policy and plan; a missing repository or a denied read stops here.
        let mut attempts = 0;
        let (before, plan) = loop {
            attempts += 1;
            let before_text = ecr::repository_policy(&clients.ecr, &name)
                .await
                .map_err(|e| read_error(e, &name))?;
            let before = parse_policy(before_text.as_deref(), &name)?;
            let plan = plan_grant(before.as_ref(), &request).map_err(|e| plan_error(e, &name))?;
            if params.dry_run || plan.write.is_none() {
                break (before, plan);
            }
            // 2. Another writer (another process, a person) may have changed it since: read
            // again right before writing, and plan again if it moved.
            let now = ecr::repository_policy(&clients.ecr, &name)
                .await
                .map_err(|e| read_error(e, &name))?;
            if now == before_text {
                break (before, plan);
            }
            if attempts >= CONCURRENT_CHANGE_RETRIES {
                return Err(ToolError::new(
                    ErrorCode::Conflict,
                    format!(
                        "The policy of `{name}` kept changing while this call tried to merge into it; nothing was written."
                    ),
                    "Another writer is changing this repository policy right now: wait for it to finish, then run this tool again.",
                ));
            }
        };
        let policy_before = before.as_ref().map(|d| d.as_value().clone());
        let mut output = GrantAccessOutput {
            success: true,
            repository_name: name.clone(),
            account_id,
            region: clients.region.clone(),
            dry_run: params.dry_run,
            policy_updated: false,
            policy_created: false,
            previous_healthomics_accessible: plan.previous.status,
            current_healthomics_accessible: plan.previous.status,
            current_access: plan.previous.clone(),
            added_statement_sids: Vec::new(),
            updated_statement_sids: Vec::new(),
            removed_statement_sids: Vec::new(),
            workflow_owner_account_ids: plan.owners_before.clone(),
            added_owner_accounts: Vec::new(),
            removed_owner_accounts: Vec::new(),
            policy_before,
            policy_after: None,
            dry_run_plan: None,
            verified: false,
            message: String::new(),
        };
        let Some(to_write) = plan.write.clone() else {
            output.verified = !params.dry_run;
            output.message =
                format!("`{name}` already lets HealthOmics pull as asked; nothing to change.");
            if params.dry_run {
                output.dry_run_plan = Some(dry_run_plan(&plan, false, None));
                output.message = format!(
                    "Dry run: `{name}` already lets HealthOmics pull as asked; nothing would change."
                );
            }
            return Ok(output);
        };
        if params.dry_run {
            output.dry_run_plan = Some(dry_run_plan(&plan, before.is_some(), Some(&to_write)));
            output.message = format!(
                "Dry run: would {} the policy of `{name}` so HealthOmics can pull; nothing was changed.",
                if before.is_some() { "update" } else { "create" }
            );
            return Ok(output);
        }

        // 3. Write, then read back: this call's statements must be in what ECR holds.
        cancellation::check_before_write(tool_names::GRANT, &[])?;
        ecr::set_repository_policy(&clients.ecr, &name, &to_write.to_json_pretty())
            .await
            .map_err(|e| e.into_tool_error(Some(&name)))?;
        let written = format!("the policy of `{name}` was written");
        let read_back = ecr::repository_policy(&clients.ecr, &name)
            .await
            .map_err(|e| {
                ToolError::new(
                    ErrorCode::VerificationFailed,
                    format!("The policy of `{name}` was written but could not be read back: {e}"),
                    "Allow `ecr:GetRepositoryPolicy`, then check with ListECRRepositories.",
                )
                .with_details(serde_json::json!({ "completed": [written] }))
            })?;
        let current = read_back
            .as_deref()
            .map(PolicyDocument::parse)
            .transpose()
            .ok()
            .flatten();
        let access = healthomics_access(current.as_ref());
        let ours_kept = holds_our_statements(
            current.as_ref(),
            &plan.expected_statements,
            &plan.expected_absent_sids,
        );
        if !ours_kept || access.status != AccessStatus::Accessible {
            return Err(ToolError::new(
                ErrorCode::VerificationFailed,
                format!(
                    "The policy of `{name}` was written, but reading it back shows {}: HealthOmics access is {}.",
                    if ours_kept { "our statements" } else { "our statements are not all there" },
                    status_word(access.status)
                ),
                "Another writer changed the policy after ours: inspect it (`aws ecr get-repository-policy`) and run this tool again; it merges, never replaces.",
            )
            .with_details(serde_json::json!({ "completed": [written], "policy_read_back": read_back })));
        }
        output.policy_updated = true;
        output.policy_created = plan.policy_created;
        output.current_healthomics_accessible = access.status;
        output.current_access = access;
        output.added_statement_sids = plan.added_sids.clone();
        output.updated_statement_sids = plan.updated_sids.clone();
        output.removed_statement_sids = plan.removed_sids.clone();
        output.workflow_owner_account_ids = granted_owner_accounts(current.as_ref());
        output.added_owner_accounts = plan.added_owner_accounts.clone();
        output.removed_owner_accounts = plan.removed_owner_accounts.clone();
        output.policy_after = current.map(|d| d.as_value().clone());
        output.verified = true;
        output.message = format!(
            "{} the policy of `{name}`: HealthOmics can now pull (verified by reading it back).{}",
            if plan.policy_created {
                "Created"
            } else {
                "Updated"
            },
            owner_note(&plan)
        );
        Ok(output)
    }
}

fn dry_run_plan(plan: &GrantPlan, existed: bool, write: Option<&PolicyDocument>) -> GrantDryRun {
    GrantDryRun {
        would_create_policy: write.is_some() && !existed,
        would_update_policy: write.is_some() && existed,
        would_add_statement_sids: plan.added_sids.clone(),
        would_update_statement_sids: plan.updated_sids.clone(),
        would_remove_statement_sids: plan.removed_sids.clone(),
        would_add_owner_accounts: plan.added_owner_accounts.clone(),
        would_remove_owner_accounts: plan.removed_owner_accounts.clone(),
        planned_healthomics_accessible: plan.planned.status,
        planned_policy: write.map(|d| d.as_value().clone()),
    }
}

fn owner_note(plan: &GrantPlan) -> String {
    let mut parts = Vec::new();
    if !plan.added_owner_accounts.is_empty() {
        parts.push(format!(
            "added workflow-owner accounts {}",
            plan.added_owner_accounts.join(", ")
        ));
    }
    if !plan.removed_owner_accounts.is_empty() {
        parts.push(format!(
            "removed {}",
            plan.removed_owner_accounts.join(", ")
        ));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!(
        " It {}; granted accounts now: {}.",
        parts.join(" and "),
        if plan.owners_after.is_empty() {
            "none".to_owned()
        } else {
            plan.owners_after.join(", ")
        }
    )
}

fn status_word(status: AccessStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse_policy(text: Option<&str>, name: &str) -> Result<Option<PolicyDocument>, ToolError> {
    text.map(PolicyDocument::parse).transpose().map_err(|err| {
        ToolError::new(
            ErrorCode::InvalidPolicy,
            format!("The repository policy of `{name}` is not a valid IAM policy: {err}. Nothing was changed."),
            format!("Fix or replace the policy (`aws ecr get-repository-policy --repository-name {name}`), then run this tool again."),
        )
    })
}

fn plan_error(err: GrantPlanError, name: &str) -> ToolError {
    match err {
        GrantPlanError::Blocked(planned) => blocked_error(name, &planned),
        GrantPlanError::Merge(why) => ToolError::new(
            ErrorCode::Internal,
            format!("Could not merge the policy of `{name}`: {why}. Nothing was changed."),
            "Report this bug with the policy shape (no secrets).",
        ),
    }
}

/// Accepts a repository name or a full ECR URI; validated against ECR's naming rules.
fn repository_name(input: &str) -> Result<String, ToolError> {
    let input = input.trim();
    let name = match input.split_once(".amazonaws.com") {
        Some((_, rest)) => {
            let rest = rest.strip_prefix(".cn").unwrap_or(rest);
            let path = rest.trim_start_matches('/');
            path.split(['@', ':']).next().unwrap_or_default().to_owned()
        }
        None => input.to_owned(),
    };
    image_ref::validate_ecr_repository_name(&name).map_err(|e| {
        ToolError::invalid_input(
            e.to_string(),
            "Pass the repository name as ListECRRepositories shows it, e.g. `docker-hub/library/ubuntu`.",
        )
    })?;
    Ok(name)
}

fn owner_accounts(parameter: &'static str, ids: &[String]) -> Result<Vec<String>, ToolError> {
    inputs::check_list_len(parameter, ids.len())?;
    let mut owners: Vec<String> = ids.iter().map(|id| id.trim().to_owned()).collect();
    if let Some(bad) = owners.iter().find(|id| !image_ref::is_account_id(id)) {
        return Err(ToolError::invalid_input(
            format!(
                "{parameter}: `{}` is not a 12-digit AWS account id",
                inputs::clipped(bad)
            ),
            "Pass account ids like \"111122223333\".",
        ));
    }
    owners.sort();
    owners.dedup();
    Ok(owners)
}

fn read_error(err: crate::aws::AwsCallError, name: &str) -> ToolError {
    if err.kind == AwsErrorKind::NotFound {
        return ToolError::new(
            ErrorCode::NotFound,
            format!("Repository `{name}` does not exist in this region."),
            "Check the name and region with ListECRRepositories; to copy an image into a new repository use CloneContainerToECR.",
        );
    }
    err.into_tool_error(Some(name))
}

fn blocked_error(name: &str, planned: &AccessEvaluation) -> ToolError {
    let blockers: Vec<String> = planned
        .actions
        .iter()
        .filter(|a| a.verdict != policy::Verdict::Allowed)
        .map(|a| {
            format!(
                "{} is {} by {}: {}",
                a.action,
                serde_json::to_value(a.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                a.decided_by.as_deref().unwrap_or("no statement"),
                a.reason
            )
        })
        .collect();
    ToolError::new(
        ErrorCode::Conflict,
        format!(
            "Adding the HealthOmics statement to `{name}` would not give access, because statements this tool did not write still block it: {}. Nothing was changed.",
            blockers.join("; ")
        ),
        "Remove or narrow the blocking statement yourself (this tool never removes statements it did not write), then run it again.",
    )
    .with_details(serde_json::json!({ "planned_access": planned }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_name_accepts_names_and_ecr_uris() {
        assert_eq!(
            repository_name(" my/repo ").ok().as_deref(),
            Some("my/repo")
        );
        assert_eq!(
            repository_name(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/ubuntu:22.04"
            )
            .ok()
            .as_deref(),
            Some("docker-hub/library/ubuntu")
        );
        assert_eq!(
            repository_name("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b@sha256:00")
                .ok()
                .as_deref(),
            Some("a/b")
        );
        assert!(repository_name("").is_err());
        assert!(repository_name("Upper/Case").is_err());
    }

    #[test]
    fn owner_accounts_must_be_twelve_digits() {
        assert!(owner_accounts("ids", &["12345678901".into()]).is_err());
        assert_eq!(
            owner_accounts("ids", &["111122223333".into(), " 111122223333".into()]).ok(),
            Some(vec!["111122223333".to_owned()])
        );
    }
}
