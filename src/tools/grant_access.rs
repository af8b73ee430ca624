//! `GrantHealthOmicsRepositoryAccess`: merge the HealthOmics pull statement into a repository
//! policy, never replacing anything we did not write.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use crate::audit;
use crate::aws::{AwsErrorKind, ecr};
use crate::core::image_ref;
use crate::core::policy::{self, AccessEvaluation, AccessStatus, PolicyDocument};
use crate::error::{ErrorCode, ToolError};
use crate::server::HealthOmicsEcrServer;

tool_params! {
    #[derive(Debug)]
    pub struct GrantAccessParams {
        /// Repository name (e.g. `my-tools/samtools`) or its full ECR URI.
        pub repository_name: String,
        /// 12-digit account ids that own HealthOmics workflows using this repository from another
        /// account; each gets pull access in a separate statement, as the HealthOmics docs require
        /// for cross-account images.
        #[serde(default)]
        pub workflow_owner_account_ids: Vec<String>,
        /// Compute and return the policy before and after, and change nothing.
        #[serde(default)]
        pub dry_run: bool,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GrantAccessOutput {
    pub success: bool,
    pub repository_name: String,
    pub dry_run: bool,
    /// The policy was changed (or, with dry_run, would be).
    pub policy_updated: bool,
    /// The repository had no policy before.
    pub policy_created: bool,
    pub previous_healthomics_accessible: AccessStatus,
    /// After the write, read back from ECR (with dry_run: the verdict for `policy_after`).
    pub current_healthomics_accessible: AccessStatus,
    pub current_access: AccessEvaluation,
    /// Sids of our statements added or changed.
    pub added_statement_sids: Vec<String>,
    pub updated_statement_sids: Vec<String>,
    /// The policy before, as ECR returned it (absent when there was none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_before: Option<serde_json::Value>,
    /// The policy after: as read back from ECR, or as it would be written with dry_run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_after: Option<serde_json::Value>,
    /// The written policy was read back and matches what was written.
    pub verified: bool,
    pub message: String,
}

#[tool_router(router = grant_access_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Let AWS HealthOmics pull from one private ECR repository: merges a statement (Sid
    /// HealthOmicsImagePull) allowing omics.amazonaws.com ecr:BatchGetImage,
    /// ecr:GetDownloadUrlForLayer and ecr:BatchCheckLayerAvailability into the repository
    /// policy, plus one for workflow-owner accounts when given. Every other statement is kept
    /// exactly, including Deny statements; nothing is written if access is already granted, if
    /// the existing policy is invalid, or if a statement we did not write would still block
    /// access. Call with dry_run=true first to show the policy before and after. The result is
    /// read back from ECR and verified.
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
        let owners = owner_accounts(&params.workflow_owner_account_ids)?;
        let clients = self.clients_for(&params).await?;

        // 1. Read the current policy; a missing repository or a denied read stops here.
        let before_text = ecr::repository_policy(&clients.ecr, &name)
            .await
            .map_err(|e| read_error(e, &name))?;
        let before = match before_text
            .as_deref()
            .map(PolicyDocument::parse)
            .transpose()
        {
            Ok(doc) => doc,
            Err(err) => {
                return Err(ToolError::new(
                    ErrorCode::InvalidPolicy,
                    format!(
                        "The repository policy of `{name}` is not a valid IAM policy: {err}. Nothing was changed."
                    ),
                    format!(
                        "Fix or replace the policy (`aws ecr get-repository-policy --repository-name {name}`), then run this tool again."
                    ),
                ));
            }
        };
        let previous = audit::judge_repository_policy(before_text.as_deref(), None).evaluation;

        // 2. Merge our statements; refuse when a foreign statement would still block access.
        let mut ours = vec![policy::repository_pull_statement()];
        if !owners.is_empty() {
            ours.push(policy::workflow_owner_pull_statement(
                clients.arn_partition(),
                &owners,
            ));
        }
        let already = previous.status == AccessStatus::Accessible && owners.is_empty();
        let merged = if already {
            None
        } else {
            Some(
                policy::upsert_statements(before.as_ref(), &ours).map_err(|e| {
                    ToolError::new(
                        ErrorCode::Internal,
                        format!("Could not merge the policy: {e}"),
                        "Report this bug with the policy shape (no secrets).",
                    )
                })?,
            )
        };
        let after_doc = merged.as_ref().map(|m| m.document.clone());
        let planned = after_doc
            .as_ref()
            .map(|doc| {
                audit::judge_repository_policy(Some(&doc.to_json_compact()), None).evaluation
            })
            .unwrap_or_else(|| previous.clone());
        if planned.status != AccessStatus::Accessible {
            return Err(blocked_error(&name, &planned));
        }
        let changed = merged.as_ref().is_some_and(|m| m.changed);
        let (added, updated) = merged
            .as_ref()
            .map(|m| (m.added_sids.clone(), m.updated_sids.clone()))
            .unwrap_or_default();
        let policy_before = before.as_ref().map(|d| d.as_value().clone());

        if params.dry_run || !changed {
            let message = match (changed, params.dry_run) {
                (false, _) => format!("`{name}` already lets HealthOmics pull; nothing to change."),
                (true, _) => format!(
                    "Dry run: would {} the policy of `{name}`; nothing was changed.",
                    if before.is_some() { "update" } else { "create" }
                ),
            };
            return Ok(GrantAccessOutput {
                success: true,
                repository_name: name,
                dry_run: params.dry_run,
                policy_updated: changed,
                policy_created: changed && before.is_none(),
                previous_healthomics_accessible: previous.status,
                current_healthomics_accessible: planned.status,
                current_access: planned,
                added_statement_sids: added,
                updated_statement_sids: updated,
                policy_after: if changed {
                    after_doc.map(|d| d.as_value().clone())
                } else {
                    policy_before.clone()
                },
                policy_before,
                verified: !changed,
                message,
            });
        }

        // 3. Write, then read back and judge what ECR really holds.
        let Some(after_doc) = after_doc else {
            return Err(ToolError::new(
                ErrorCode::Internal,
                "No merged policy to write.",
                "Report this bug.",
            ));
        };
        ecr::set_repository_policy(&clients.ecr, &name, &after_doc.to_json_pretty())
            .await
            .map_err(|e| e.into_tool_error(Some(&name)))?;
        let read_back = ecr::repository_policy(&clients.ecr, &name)
            .await
            .map_err(|e| {
                ToolError::new(
                    ErrorCode::VerificationFailed,
                    format!("The policy of `{name}` was written but could not be read back: {e}"),
                    "Allow `ecr:GetRepositoryPolicy`, then check with ListECRRepositories."
                        .to_owned(),
                )
            })?;
        let current = audit::judge_repository_policy(read_back.as_deref(), None);
        let verified = current
            .document
            .as_ref()
            .is_some_and(|d| d.as_value() == after_doc.as_value())
            && current.evaluation.status == AccessStatus::Accessible;
        if !verified {
            return Err(ToolError::new(
                ErrorCode::VerificationFailed,
                format!("The policy of `{name}` was written, but reading it back shows HealthOmics access is {:?}.", current.evaluation.status),
                "Inspect the repository policy; another writer may have changed it.".to_string(),
            )
            .with_details(serde_json::json!({ "policy_read_back": read_back })));
        }
        Ok(GrantAccessOutput {
            success: true,
            message: format!(
                "{} the policy of `{name}`: HealthOmics can now pull (verified by reading it back).",
                if before.is_some() {
                    "Updated"
                } else {
                    "Created"
                }
            ),
            repository_name: name,
            dry_run: false,
            policy_updated: true,
            policy_created: before.is_none(),
            previous_healthomics_accessible: previous.status,
            current_healthomics_accessible: current.evaluation.status,
            current_access: current.evaluation,
            added_statement_sids: added,
            updated_statement_sids: updated,
            policy_before,
            policy_after: current.document.map(|d| d.as_value().clone()),
            verified,
        })
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

fn owner_accounts(ids: &[String]) -> Result<Vec<String>, ToolError> {
    let mut owners: Vec<String> = ids.iter().map(|id| id.trim().to_owned()).collect();
    if let Some(bad) = owners.iter().find(|id| !image_ref::is_account_id(id)) {
        return Err(ToolError::invalid_input(
            format!("workflow_owner_account_ids: `{bad}` is not a 12-digit AWS account id"),
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
        assert!(owner_accounts(&["12345678901".into()]).is_err());
        assert_eq!(
            owner_accounts(&["111122223333".into(), " 111122223333".into()]).ok(),
            Some(vec!["111122223333".to_owned()])
        );
    }
}
