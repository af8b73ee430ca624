//! `GrantHealthOmicsRepositoryAccess`: merge the HealthOmics pull statement into a repository
//! policy, never replacing anything we did not write.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

pub use crate::core::plan::grant::GrantAccessOutput;
use crate::core::plan::grant::{self, GrantArgs};
use crate::core::tool_names;
use crate::error::ToolError;
use crate::repository_grant::{self, GrantCall};
use crate::server::HealthOmicsEcrServer;

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
        /// Also return the policy before and after and every action's verdict.
        #[serde(default)]
        pub detail: bool,
    }
}

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
        // 1. Check the arguments: a repository name (or URI), 12-digit owner accounts.
        let args = GrantArgs::parse(
            &params.repository_name,
            &params.workflow_owner_account_ids,
            &params.remove_workflow_owner_account_ids,
        )?;
        let clients = self.clients_for(&params).await?;
        let account_id = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        // 2. Read the policy, plan the merge, write it under the policy's lock (never with
        // dry_run), read it back and verify.
        let result = repository_grant::grant(
            &clients,
            &self.write_locks,
            GrantCall {
                repository: &args.repository,
                request: &args.request(clients.arn_partition()),
                dry_run: params.dry_run,
                tool: tool_names::GRANT,
                done: &[],
            },
        )
        .await?;
        // 3. Say what was found and done (with dry_run, what would be).
        Ok(Json(
            grant::report(
                result,
                &account_id,
                &clients.region,
                &args.repository,
                params.dry_run,
            )
            .sized(params.detail),
        ))
    }
}
