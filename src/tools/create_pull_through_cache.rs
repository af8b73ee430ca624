//! `CreatePullThroughCacheForHealthOmics`: one call from nothing to a cache HealthOmics can use —
//! credential secret, rule, registry policy, creation template — each step planned first
//! ([`crate::core::plan::create_ptc`]), merged never replaced, and verified by reading everything
//! back.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

use crate::aws::account_reads;
use crate::aws::{AwsCallError, AwsClients, AwsErrorKind, ecr, secrets};
use crate::cancellation;
use crate::core::account::NewRule;
use crate::core::image_ref::ROOT_PREFIX;
use crate::core::plan::create_ptc::{
    self, CredentialSource, PtcArguments, PtcPlanError, PtcRead, PtcRequest, RegistryPolicyRead,
    SecretRead, Step,
};
use crate::core::plan::rule_entry::rule_entry;
use crate::core::tool_names;
use crate::error::{ErrorCode, ToolError};
use crate::oci::Credentials;
use crate::server::HealthOmicsEcrServer;
use crate::write_locks::WriteTarget;

pub use create_ptc::{CredentialValidation, PlannedChange};

/// The tool's result: the plan's report, with the rule as ListPullThroughCacheRules judges it.
pub use crate::core::plan::create_ptc::CreatePtcOutput;

tool_params! {
    pub struct CreatePtcParams {
        /// The upstream registry: `docker-hub`, `quay`, `ecr-public`, `kubernetes` (registry.k8s.io),
        /// `github` (ghcr.io), `gitlab` (registry.gitlab.com) or `azure` (give
        /// `upstream_registry_url`, a `<name>.azurecr.io` host).
        pub upstream_registry: String,
        /// ECR repository prefix for cached images (2–30 characters, lowercase); defaults to the
        /// registry's usual prefix (`docker-hub`, `quay`, `ecr-public`, `kubernetes`, `github`,
        /// `gitlab`, `azure`).
        #[serde(default)]
        #[schemars(with = "String")]
        pub ecr_repository_prefix: Option<String>,
        /// ARN of an existing Secrets Manager secret (name starting `ecr-pullthroughcache/`) with the
        /// upstream credentials. Required for docker-hub, github, gitlab and azure unless `username`
        /// and `access_token` are given.
        #[serde(default)]
        #[schemars(with = "String")]
        pub credential_arn: Option<String>,
        /// Upstream user name; with `access_token`, the tool stores both in a new secret
        /// `ecr-pullthroughcache/<prefix>`.
        #[serde(default)]
        #[schemars(with = "String")]
        pub username: Option<String>,
        /// Upstream access token (e.g. a Docker Hub access token). Stored only in Secrets Manager;
        /// never logged or returned.
        #[serde(default)]
        #[schemars(with = "String")]
        pub access_token: Option<String>,
        /// The upstream host, needed for `azure` (`<name>.azurecr.io`); for the other registries it
        /// must be the registry's own host if given.
        #[serde(default)]
        #[schemars(with = "String")]
        pub upstream_registry_url: Option<String>,
        /// Cache only this upstream namespace (ECR's upstreamRepositoryPrefix), e.g. `biocontainers`.
        #[serde(default)]
        #[schemars(with = "String")]
        pub upstream_repository_prefix: Option<String>,
        /// Return every planned call and the policy and template documents before and after, and
        /// change nothing.
        #[serde(default)]
        pub dry_run: bool,
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
    /// Set up an ECR pull-through cache that AWS HealthOmics can use, in one call: stores the
    /// upstream credentials in Secrets Manager when username/access_token are given, creates the
    /// pull-through cache rule (or reuses an identical one), merges a registry-policy statement
    /// letting omics.amazonaws.com create and import repositories under the prefix only, and
    /// creates or merges the repository creation template (PULL_THROUGH_CACHE) that grants the
    /// pull actions — keeping every existing statement and template setting. Supports
    /// docker-hub, quay, ecr-public, kubernetes, github, gitlab and azure. Run with dry_run=true
    /// first to show every planned call and document. Everything is read back and verified;
    /// a failure part-way says what was changed and what remains.
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
        let (read, registry_error) = read_account(&clients, request, account_id, token).await?;
        let plan = create_ptc::plan(&read).map_err(|e| plan_error(e, registry_error))?;
        let mut output = plan.output;
        if read.request.dry_run {
            return Ok(Json(output));
        }

        // 3. Write, step by step; a failure reports what is done and what remains.
        for (index, step) in plan.steps.iter().enumerate() {
            check_cancelled(&output)?;
            let credential_arn = output.credential_arn.as_deref();
            let created = execute(&clients, &read, step, token, credential_arn)
                .await
                .map_err(|failure| step_error(&output, index, failure))?;
            output.credential_arn = created.or(output.credential_arn.take());
            output.planned_changes[index].done = true;
        }

        // 4. Ask ECR to check the credentials, then read everything back and judge it.
        verify(&clients, &mut output).await?;
        Ok(Json(output))
    }
}

/// Reads what the plan needs: the secret, the rule, the registry policy, the templates. A
/// registry policy that cannot be read is the plan's to refuse; its error is kept for the answer.
async fn read_account(
    clients: &AwsClients,
    request: PtcRequest,
    account_id: String,
    token: &str,
) -> Result<(PtcRead, Option<AwsCallError>), ToolError> {
    let secret = read_secret(clients, &request.credential, token).await?;
    let prefix = &request.prefix;
    let rule = ecr::pull_through_cache_rule(&clients.ecr, prefix)
        .await
        .map_err(|e| e.into_tool_error(Some(prefix)))?;
    let (registry_policy, registry_error) = read_registry_policy(clients).await;
    let wanted = [prefix.clone(), ROOT_PREFIX.to_owned()];
    let templates = ecr::creation_templates(&clients.ecr, &wanted)
        .await
        .map_err(|e| e.into_tool_error(Some(prefix)))?;
    let read = PtcRead {
        account_id,
        region: clients.region.clone(),
        partition: clients.arn_partition().to_owned(),
        secret,
        rule,
        registry_policy,
        templates,
        request,
    };
    Ok((read, registry_error))
}

async fn read_registry_policy(clients: &AwsClients) -> (RegistryPolicyRead, Option<AwsCallError>) {
    match ecr::registry_policy(&clients.ecr).await {
        Ok(Some(text)) => (RegistryPolicyRead::Present(text), None),
        Ok(None) => (RegistryPolicyRead::Absent, None),
        Err(err) => (RegistryPolicyRead::Unreadable, Some(err)),
    }
}

/// Describes the secret the request names; for a new secret's name that is taken (and not
/// being deleted), also whether it holds exactly these credentials.
async fn read_secret(
    clients: &AwsClients,
    credential: &CredentialSource,
    token: &str,
) -> Result<SecretRead, ToolError> {
    let id = match credential {
        CredentialSource::None => return Ok(SecretRead::NotAsked),
        CredentialSource::Existing { arn } => arn,
        CredentialSource::New { secret_name, .. } => secret_name,
    };
    match secrets::describe_secret(&clients.secrets, id).await {
        Ok(info) => {
            let holds_given_credentials = match credential {
                CredentialSource::New { username, .. } if info.deleted_date.is_none() => {
                    same_credentials(clients, &info.arn, username, token).await
                }
                _ => false,
            };
            Ok(SecretRead::Found {
                info,
                holds_given_credentials,
            })
        }
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(SecretRead::NotFound),
        Err(e) => Err(e.into_tool_error(Some(id))),
    }
}

/// True when the secret holds exactly these credentials; a secret that cannot be read counts
/// as different, so nothing is reused on a guess. The values are compared in memory only.
async fn same_credentials(clients: &AwsClients, arn: &str, username: &str, token: &str) -> bool {
    match secrets::secret_string(&clients.secrets, arn).await {
        Ok(value) => Credentials::from_secret_json(&value)
            .is_ok_and(|stored| stored == Credentials::basic(username, token)),
        Err(_) => false,
    }
}

/// Why a write failed: its AWS call, or the registry policy read again right before it.
enum StepFailure {
    Aws(AwsCallError),
    Plan(PtcPlanError, Option<AwsCallError>),
}

impl From<AwsCallError> for StepFailure {
    fn from(err: AwsCallError) -> Self {
        Self::Aws(err)
    }
}

/// Makes one planned write; returns the ARN of the secret it created, if it created one.
async fn execute(
    clients: &AwsClients,
    read: &PtcRead,
    step: &Step,
    token: &str,
    credential_arn: Option<&str>,
) -> Result<Option<String>, StepFailure> {
    let ecr = &clients.ecr;
    match step {
        Step::CreateSecret {
            name,
            description,
            username,
        } => {
            let secrets = &clients.secrets;
            let arn = secrets::create_registry_secret(secrets, name, description, username, token)
                .await?;
            return Ok(Some(arn));
        }
        Step::CreateRule(rule) => {
            let credential_arn = credential_arn.map(str::to_owned);
            let rule = NewRule {
                credential_arn,
                ..rule.clone()
            };
            ecr::create_pull_through_cache_rule(ecr, &rule).await?;
        }
        Step::PutRegistryPolicy {
            planned_from,
            policy,
        } => {
            // Read again right before writing: a change by another process since the plan is
            // merged again rather than overwritten.
            let (now, read_error) = read_registry_policy(clients).await;
            let write =
                create_ptc::remerge_registry_policy(read, &now, planned_from.as_ref(), policy)
                    .map_err(|e| StepFailure::Plan(e, read_error))?;
            if write.merged_again {
                let prefix = &read.request.prefix;
                tracing::info!(
                    prefix,
                    "registry policy changed since the plan; merged again"
                );
            }
            ecr::put_registry_policy(ecr, &write.policy.to_json_pretty()).await?;
        }
        Step::CreateTemplate {
            prefix,
            description,
            applied_for,
            policy,
        } => {
            let text = policy.to_json_pretty();
            ecr::create_creation_template(ecr, prefix, description, applied_for, &text).await?;
        }
        Step::UpdateTemplate {
            prefix,
            applied_for,
            policy,
        } => {
            ecr::update_creation_template(ecr, prefix, applied_for, &policy.to_json_pretty())
                .await?;
        }
    }
    Ok(None)
}

/// ECR's check of the credentials (a failure to ask is a note), then the rule read back and
/// judged as ListPullThroughCacheRules judges it.
async fn verify(clients: &AwsClients, output: &mut CreatePtcOutput) -> Result<(), ToolError> {
    let prefix = output.ecr_repository_prefix.clone();
    if output.credential_arn.is_some() {
        output.credential_validation =
            match ecr::validate_pull_through_cache_rule(&clients.ecr, &prefix).await {
                Ok((is_valid, failure)) => Some(CredentialValidation { is_valid, failure }),
                Err(err) => {
                    output.credentials_not_validated(&err.to_string());
                    None
                }
            };
    }
    let rule = ecr::pull_through_cache_rule(&clients.ecr, &prefix)
        .await
        .map_err(|e| verification_error(output, &format!("the rule could not be read back: {e}")))?
        .ok_or_else(|| verification_error(output, "the rule is not there when read back"))?;
    let (_, mut judged) = account_reads::judge_rules(clients, vec![rule]).await;
    let entry = judged
        .pop()
        .map(rule_entry)
        .ok_or_else(|| verification_error(output, "the rule could not be judged"))?;
    if !entry.healthomics_usable {
        let problems = entry.problems.join("; ");
        let what = format!("reading it back shows HealthOmics cannot use it yet: {problems}");
        return Err(verification_error(output, &what));
    }
    output.ready(entry);
    Ok(())
}

/// A plan error as the tool reports it; an unreadable registry policy is reported as its read.
fn plan_error(err: PtcPlanError, registry_read: Option<AwsCallError>) -> ToolError {
    match (err, registry_read) {
        (PtcPlanError::RegistryPolicyUnreadable, Some(read)) => {
            read.into_tool_error(Some("registry policy"))
        }
        (err, _) => err.into(),
    }
}

fn check_cancelled(output: &CreatePtcOutput) -> Result<(), ToolError> {
    cancellation::check_before_write(tool_names::CREATE_PTC, &output.done())
        .map_err(|e| e.with_details(output.progress()))
}

/// A failed write as the tool reports it: what is done, what remains, how to finish.
fn step_error(output: &CreatePtcOutput, step: usize, failure: StepFailure) -> ToolError {
    let err = match failure {
        StepFailure::Aws(err) => err,
        StepFailure::Plan(err, read) => {
            return plan_error(err, read).with_details(output.progress());
        }
    };
    let cause = err
        .clone()
        .into_tool_error(Some(&output.ecr_repository_prefix));
    let (message, remediation) = output.failure_wording(step, &err.to_string(), &cause.remediation);
    ToolError {
        code: if output.done().is_empty() {
            cause.code
        } else {
            ErrorCode::PartialFailure
        },
        message,
        remediation,
        aws_error_code: err.code,
        details: Some(output.progress()),
    }
}

fn verification_error(output: &CreatePtcOutput, what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::VerificationFailed,
        format!("The changes were made, but {what}."),
        "Run ValidateHealthOmicsECRConfig to see what is missing; another writer may have changed the policy or template.",
    )
    .with_details(output.progress())
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
