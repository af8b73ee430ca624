//! `CreatePullThroughCacheForHealthOmics`: one call from nothing to a cache HealthOmics can use —
//! credential secret, rule, registry policy, creation template — each step planned first
//! ([`crate::core::plan::create_ptc`]), merged never replaced, and verified by reading everything
//! back. The reads, the writes and the read-back are [`crate::ptc_setup`]'s; this file orders
//! them.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

use crate::cancellation;
use crate::core::plan::create_ptc::{self, PtcArguments};
use crate::core::tool_names;
use crate::error::ToolError;
use crate::ptc_setup;
use crate::server::HealthOmicsEcrServer;
use crate::write_locks::WriteTarget;

pub use create_ptc::{CredentialValidation, PlannedChange};

/// The tool's result: the plan's report, with the rule as ListPullThroughCacheRules judges it.
pub use crate::core::plan::create_ptc::CreatePtcOutput;

tool_params! {
    pub struct CreatePtcParams {
        /// `docker-hub`, `quay`, `ecr-public`, `kubernetes`, `github`, `gitlab` or `azure` (with
        /// upstream_registry_url).
        pub upstream_registry: String,
        /// ECR prefix for cached images (2–30 lowercase characters); default: the registry's name above.
        #[serde(default)]
        #[schemars(with = "String")]
        pub ecr_repository_prefix: Option<String>,
        /// Existing secret `ecr-pullthroughcache/…` with the upstream credentials; docker-hub, github,
        /// gitlab and azure need it (or username + access_token).
        #[serde(default)]
        #[schemars(with = "String")]
        pub credential_arn: Option<String>,
        /// Upstream user; with access_token, stored in a new secret `ecr-pullthroughcache/<prefix>`.
        #[serde(default)]
        #[schemars(with = "String")]
        pub username: Option<String>,
        /// Upstream access token; stored only in Secrets Manager, never logged or returned.
        #[serde(default)]
        #[schemars(with = "String")]
        pub access_token: Option<String>,
        /// Upstream host; needed for azure (`<name>.azurecr.io`).
        #[serde(default)]
        #[schemars(with = "String")]
        pub upstream_registry_url: Option<String>,
        /// Cache only this upstream namespace, e.g. `biocontainers`.
        #[serde(default)]
        #[schemars(with = "String")]
        pub upstream_repository_prefix: Option<String>,
        /// Return the planned calls and documents, and change nothing.
        #[serde(default)]
        pub dry_run: bool,
        /// Also return the documents before and after a write.
        #[serde(default)]
        pub detail: bool,
    }
}

// Hand-written so the access token can never reach a log line.
impl std::fmt::Debug for CreatePtcParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatePtcParams")
            .field("upstream_registry", &self.upstream_registry)
            .field("ecr_repository_prefix", &self.ecr_repository_prefix)
            .field("credential_arn", &self.credential_arn)
            .field("username", &self.username)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("dry_run", &self.dry_run)
            .field("detail", &self.detail)
            .finish_non_exhaustive()
    }
}

impl CreatePtcParams {
    fn arguments(&self) -> PtcArguments<'_> {
        PtcArguments {
            upstream_registry: &self.upstream_registry,
            ecr_repository_prefix: self.ecr_repository_prefix.as_deref(),
            credential_arn: self.credential_arn.as_deref(),
            username: self.username.as_deref(),
            access_token: self.access_token.as_deref(),
            upstream_registry_url: self.upstream_registry_url.as_deref(),
            upstream_repository_prefix: self.upstream_repository_prefix.as_deref(),
            dry_run: self.dry_run,
        }
    }
}

#[tool_router(router = create_pull_through_cache_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Set up an ECR pull-through cache AWS HealthOmics can use, in one call: the credential
    /// secret (from username/access_token), the rule (an identical one is reused), a registry
    /// policy statement letting omics.amazonaws.com create and import repositories under the
    /// prefix, and a PULL_THROUGH_CACHE creation template granting the pull actions; existing
    /// statements and settings kept. dry_run=true shows the plan. Verified; a failure says what
    /// changed.
    #[tool(
        name = "CreatePullThroughCacheForHealthOmics",
        title = "Create a pull-through cache for HealthOmics",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn create_pull_through_cache_for_healthomics(
        &self,
        Parameters(params): Parameters<CreatePtcParams>,
    ) -> Result<Json<CreatePtcOutput>, ToolError> {
        // 1. Inputs: registry, URL, prefix, credentials — all checked before any AWS call.
        let request = create_ptc::request(&params.arguments())?;
        let token = create_ptc::given(params.access_token.as_deref()).unwrap_or_default();
        let clients = self.clients_for(&params).await?;
        let account_id = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        // The rule, the registry policy and the template are each read, merged and written as a
        // whole: one writer at a time in this process, held until everything is verified.
        let _guard = if request.dry_run {
            None
        } else {
            let targets = [
                WriteTarget::PullThroughCacheRule(request.prefix.clone()),
                WriteTarget::RegistryPolicy,
                WriteTarget::CreationTemplate(request.prefix.clone()),
            ];
            let scope = clients.write_scope().await;
            Some(self.write_locks.lock(&scope, &targets).await)
        };

        // 2. Read what exists and plan against it; conflicts are refused before any write.
        let (read, registry_error) = ptc_setup::read(&clients, request, account_id, token).await?;
        let plan = create_ptc::plan(&read).map_err(|e| e.into_tool_error(registry_error))?;
        let mut output = plan.output;
        if read.request.dry_run {
            return Ok(Json(output));
        }

        // 3. Write, step by step; a failure reports what is done and what remains.
        for (index, step) in plan.steps.iter().enumerate() {
            check_cancelled(&output)?;
            let credential_arn = output.credential_arn.as_deref();
            let created = ptc_setup::execute(&clients, &read, step, token, credential_arn)
                .await
                .map_err(|failure| failure.into_tool_error(&output, index))?;
            output.credential_arn = created.or(output.credential_arn.take());
            output.planned_changes[index].done = true;
        }

        // 4. Ask ECR to check the credentials, then read everything back and judge it.
        ptc_setup::verify(&clients, &mut output).await?;
        Ok(Json(output.sized(params.detail)))
    }
}

/// Says, when the client has cancelled the call, what this call had already changed.
fn check_cancelled(output: &CreatePtcOutput) -> Result<(), ToolError> {
    cancellation::check_before_write(tool_names::CREATE_PTC, &output.done())
        .map_err(|e| e.with_details(output.progress()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_token_never_reaches_debug_output() {
        let params: CreatePtcParams = serde_json::from_value(serde_json::json!({
            "upstream_registry": "docker-hub", "username": "me", "access_token": "dckr_pat_secret"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{params:?}").contains("dckr_pat_secret"));
        assert_eq!(params.arguments().access_token, Some("dckr_pat_secret"));
    }
}
