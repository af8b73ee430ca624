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
        /// Repository name (e.g. `tools/samtools`) or ECR URI.
        pub repository_name: String,
        /// Accounts whose HealthOmics workflows use this repository cross-account; added to those
        /// already granted.
        #[serde(default)]
        pub workflow_owner_account_ids: Vec<String>,
        /// Workflow-owner accounts whose access to remove.
        #[serde(default)]
        pub remove_workflow_owner_account_ids: Vec<String>,
        /// Return the planned policy and change nothing.
        #[serde(default)]
        pub dry_run: bool,
        /// Also the policy before and after, and per-action verdicts.
        #[serde(default)]
        pub detail: bool,
    }
}

#[tool_router(router = grant_access_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Let AWS HealthOmics pull from a private ECR repository: merges statement
    /// HealthOmicsImagePull (omics.amazonaws.com: ecr:BatchGetImage, ecr:GetDownloadUrlForLayer,
    /// ecr:BatchCheckLayerAvailability), and one for workflow-owner accounts, into its policy.
    /// Every other statement is kept exactly; nothing is written when access already works or a
    /// statement we did not write would still block it. dry_run=true shows the plan; verified.
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
