//! The I/O half of CreatePullThroughCacheForHealthOmics, whose decisions are
//! [`crate::core::plan::create_ptc`]'s: reads what the plan is made from (the secret, the rule,
//! the registry policy, the templates), makes one planned write at a time, and reads the rule
//! back to judge it. It lives above `aws` because whether a taken secret already holds the given
//! credentials is decided with `oci`'s reading of a secret, and `aws` never imports `oci`.

use crate::aws::{
    AwsCallError, AwsClients, AwsErrorKind, account_reads, ecr, secrets, setup_reads,
};
use crate::core::account::NewRule;
use crate::core::image_ref::ROOT_PREFIX;
use crate::core::plan::create_ptc::{
    self, CreatePtcOutput, CredentialSource, CredentialValidation, PtcPlanError, PtcRead,
    PtcRequest, SecretRead, Step,
};
use crate::core::plan::rule_entry::rule_entry;
use crate::error::{ErrorCode, ToolError};
use crate::oci::Credentials;

/// Reads what the plan needs: the secret, the rule, the registry policy, the templates. A
/// registry policy that cannot be read is the plan's to refuse; its error is kept for the answer.
pub async fn read(
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
    let (registry_policy, registry_error) = setup_reads::registry_policy_for_plan(clients).await;
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
pub enum StepFailure {
    Aws(AwsCallError),
    Plan(PtcPlanError, Option<AwsCallError>),
}

impl From<AwsCallError> for StepFailure {
    fn from(err: AwsCallError) -> Self {
        Self::Aws(err)
    }
}

impl StepFailure {
    /// The failed write as the tool reports it: what is done, what remains, how to finish.
    pub fn into_tool_error(self, output: &CreatePtcOutput, step: usize) -> ToolError {
        let err = match self {
            StepFailure::Aws(err) => err,
            StepFailure::Plan(err, read) => {
                return err.into_tool_error(read).with_details(output.progress());
            }
        };
        let cause = err
            .clone()
            .into_tool_error(Some(&output.ecr_repository_prefix));
        let (message, remediation) =
            output.failure_wording(step, &err.to_string(), &cause.remediation);
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
}

/// Makes one planned write; returns the ARN of the secret it created, if it created one.
pub async fn execute(
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
            let (now, read_error) = setup_reads::registry_policy_for_plan(clients).await;
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
pub async fn verify(clients: &AwsClients, output: &mut CreatePtcOutput) -> Result<(), ToolError> {
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
    let entry = account_reads::judge_rule(clients, rule)
        .await
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

/// Everything was written but the read-back disagrees: `what` says how.
fn verification_error(output: &CreatePtcOutput, what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::VerificationFailed,
        format!("The changes were made, but {what}."),
        "Run ValidateHealthOmicsECRConfig to see what is missing; another writer may have changed the policy or template.",
    )
    .with_details(output.progress())
}
