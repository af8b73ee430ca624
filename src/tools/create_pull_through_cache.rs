//! `CreatePullThroughCacheForHealthOmics`: one call from nothing to a cache HealthOmics can use —
//! credential secret, rule, registry policy, creation template — each step planned first,
//! merged never replaced, and verified by reading everything back.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use super::list_pull_through_cache_rules::{RuleEntry, rule_entry};
use crate::aws::account_reads;
use crate::aws::{AwsCallError, AwsClients, AwsErrorKind, ecr, secrets};
use crate::cancellation;
use crate::core::account;
use crate::core::image_ref::{self, ecr_registry_host};
use crate::core::inputs;
use crate::core::policy::{self, AccessStatus, PolicyDocument};
use crate::core::registries::{self, AccessPath, PTC_SECRET_NAME_PREFIX, RegistryInfo};
use crate::core::tool_names;
use crate::core::verdicts::{self, RegistryPolicy};
use crate::error::{ErrorCode, ToolError};
use crate::oci::Credentials;
use crate::server::HealthOmicsEcrServer;
use crate::write_locks::WriteTarget;

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

/// One AWS call the tool makes (or, with dry_run, would make).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlannedChange {
    /// The IAM action of the call, e.g. `ecr:PutRegistryPolicy`.
    pub action: String,
    pub target: String,
    pub description: String,
    /// Made and confirmed (false with dry_run).
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CredentialValidation {
    pub is_valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatePtcOutput {
    /// The cache exists and HealthOmics can use it, verified by reading everything back (with
    /// dry_run: the plan would get there).
    pub success: bool,
    pub dry_run: bool,
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    /// The rule as read back and judged (absent with dry_run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleEntry>,
    pub planned_changes: Vec<PlannedChange>,
    pub rule_created: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_arn: Option<String>,
    pub secret_created: bool,
    pub registry_policy_updated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_policy_before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_policy_after: Option<Value>,
    pub repository_template_created: bool,
    pub repository_template_updated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_after: Option<Value>,
    /// With dry_run only: the registry policy and template that would be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_registry_policy: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_template: Option<Value>,
    /// The account and region acted on.
    pub account_id: String,
    pub region: String,
    /// ECR's check of the upstream credentials (ValidatePullThroughCacheRule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_validation: Option<CredentialValidation>,
    /// How a workflow names an image through this cache, e.g.
    /// `<acct>.dkr.ecr.<region>.amazonaws.com/quay/biocontainers/samtools:1.19`.
    pub example_image_uri: String,
    /// The container registry map entry for this cache.
    pub registry_mapping: Value,
    pub notes: Vec<String>,
    pub message: String,
}

/// Where the credentials come from.
enum Credential {
    None,
    Existing(String),
    /// A secret to create with this name.
    New {
        name: String,
        username: String,
        token: String,
    },
}

enum TemplatePlan {
    Keep,
    Create {
        policy: PolicyDocument,
    },
    Update {
        applied_for: Vec<String>,
        policy: PolicyDocument,
    },
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
        let info = registry_info(&params)?;
        let url = upstream_url(info, params.upstream_registry_url.as_deref())?;
        let prefix = params
            .ecr_repository_prefix
            .as_deref()
            .map(str::trim)
            .unwrap_or(info.default_prefix)
            .to_owned();
        image_ref::validate_ptc_prefix(&prefix).map_err(|e| {
            ToolError::invalid_input(
                e.to_string(),
                "Choose a prefix of 2–30 lowercase letters, digits, '-', '_', '.' or '/'.",
            )
        })?;
        if let Some(upstream_prefix) = params
            .upstream_repository_prefix
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            inputs::check_upstream_repository_prefix(upstream_prefix)?;
        }
        let credential = credential(&params, info, &prefix)?;
        let clients = self.clients_for(&params).await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        // The rule, the registry policy and the template are each read, merged and written as a
        // whole: one writer at a time in this process, held until everything is verified.
        let _guard = if params.dry_run {
            None
        } else {
            let targets = [
                WriteTarget::PullThroughCacheRule(prefix.clone()),
                WriteTarget::RegistryPolicy,
                WriteTarget::CreationTemplate(prefix.clone()),
            ];
            Some(
                self.write_locks
                    .lock(&clients.write_scope().await, &targets)
                    .await,
            )
        };

        // 2. Plan against what exists; refuse conflicts before writing anything.
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        let credential_arn = check_credential(&clients, &credential, &mut changes).await?;
        let credential = match (credential, &credential_arn) {
            (Credential::New { name, .. }, Some(arn)) => {
                notes.push(format!(
                    "The secret `{name}` already holds these credentials; it is reused."
                ));
                Credential::Existing(arn.clone())
            }
            (credential, _) => credential,
        };
        let existing_rule = ecr::pull_through_cache_rule(&clients.ecr, &prefix)
            .await
            .map_err(|e| e.into_tool_error(Some(&prefix)))?;
        let new_rule = match &existing_rule {
            Some(rule) => {
                check_same_rule(
                    rule,
                    &url,
                    credential_arn.as_deref(),
                    params.upstream_repository_prefix.as_deref(),
                )?;
                None
            }
            None => {
                changes.push(change(
                    "ecr:CreatePullThroughCacheRule",
                    &prefix,
                    format!("create the rule caching `{url}` under `{prefix}/`"),
                ));
                Some(account::NewRule {
                    prefix: prefix.clone(),
                    upstream_registry_url: url.clone(),
                    upstream_registry: info.ecr_upstream_registry.map(str::to_owned),
                    credential_arn: credential_arn.clone(),
                    upstream_repository_prefix: params.upstream_repository_prefix.clone(),
                })
            }
        };
        let (registry_before, registry_after) =
            plan_registry_policy(&clients, &account, &prefix, &mut changes).await?;
        let (template_before, template_plan) =
            plan_template(&clients, &prefix, &mut changes, &mut notes).await?;

        let registry_mapping = json!({ "upstreamRegistryUrl": url, "ecrRepositoryPrefix": prefix });
        let example_image_uri = format!(
            "{}/{}/<repository>:<tag>",
            ecr_registry_host(&account, &clients.region),
            prefix
        );
        let mut output = CreatePtcOutput {
            success: true,
            dry_run: params.dry_run,
            ecr_repository_prefix: prefix.clone(),
            upstream_registry_url: url.clone(),
            rule: None,
            rule_created: new_rule.is_some(),
            secret_created: matches!(credential, Credential::New { .. }),
            credential_arn: credential_arn.clone(),
            registry_policy_updated: registry_after.is_some(),
            registry_policy_before: registry_before.as_ref().map(|d| d.as_value().clone()),
            registry_policy_after: registry_after.as_ref().map(|d| d.as_value().clone()),
            repository_template_created: matches!(template_plan, TemplatePlan::Create { .. }),
            repository_template_updated: matches!(template_plan, TemplatePlan::Update { .. }),
            template_before: template_before.as_ref().map(template_json),
            template_after: template_after_json(&prefix, template_before.as_ref(), &template_plan),
            planned_registry_policy: None,
            planned_template: None,
            account_id: account.clone(),
            region: clients.region.clone(),
            credential_validation: None,
            example_image_uri,
            registry_mapping,
            planned_changes: changes,
            notes,
            message: String::new(),
        };
        if params.dry_run {
            return Ok(Json(dry_run_output(output)));
        }

        // 3. Write, step by step; a failure reports what is done and what remains.
        let mut step = 0;
        let mut credential_arn = credential_arn;
        if let Credential::New {
            name,
            username,
            token,
        } = &credential
        {
            check_cancelled(&output)?;
            let description =
                format!("Upstream credentials for the ECR pull-through cache `{prefix}` ({url})");
            let arn = secrets::create_registry_secret(
                &clients.secrets,
                name,
                &description,
                username,
                token,
            )
            .await
            .map_err(|e| partial_failure(&output, step, e, &prefix))?;
            credential_arn = Some(arn.clone());
            output.credential_arn = Some(arn);
            output.planned_changes[step].done = true;
            step += 1;
        }
        if let Some(mut rule) = new_rule {
            check_cancelled(&output)?;
            rule.credential_arn = credential_arn.clone();
            ecr::create_pull_through_cache_rule(&clients.ecr, &rule)
                .await
                .map_err(|e| partial_failure(&output, step, e, &prefix))?;
            output.planned_changes[step].done = true;
            step += 1;
        }
        if let Some(planned) = &registry_after {
            check_cancelled(&output)?;
            // Read again right before writing: a change by another process since the plan is
            // merged again rather than overwritten.
            let after = remerge_registry_policy(
                &clients,
                &account,
                &prefix,
                registry_before.as_ref(),
                planned,
            )
            .await
            .map_err(|e| with_progress(e, &output))?;
            ecr::put_registry_policy(&clients.ecr, &after.to_json_pretty())
                .await
                .map_err(|e| partial_failure(&output, step, e, &prefix))?;
            output.planned_changes[step].done = true;
            step += 1;
        }
        if !matches!(template_plan, TemplatePlan::Keep) {
            check_cancelled(&output)?;
        }
        match &template_plan {
            TemplatePlan::Keep => {}
            TemplatePlan::Create { policy } => {
                let description =
                    format!("HealthOmics pull access for repositories cached under {prefix}/");
                ecr::create_creation_template(
                    &clients.ecr,
                    &prefix,
                    &description,
                    &["PULL_THROUGH_CACHE".to_owned()],
                    &policy.to_json_pretty(),
                )
                .await
                .map_err(|e| partial_failure(&output, step, e, &prefix))?;
                output.planned_changes[step].done = true;
            }
            TemplatePlan::Update {
                applied_for,
                policy,
            } => {
                ecr::update_creation_template(
                    &clients.ecr,
                    &prefix,
                    applied_for,
                    &policy.to_json_pretty(),
                )
                .await
                .map_err(|e| partial_failure(&output, step, e, &prefix))?;
                output.planned_changes[step].done = true;
            }
        }

        // 4. Ask ECR to check the credentials, then read everything back and judge it.
        if credential_arn.is_some() {
            output.credential_validation =
                match ecr::validate_pull_through_cache_rule(&clients.ecr, &prefix).await {
                    Ok((is_valid, failure)) => Some(CredentialValidation { is_valid, failure }),
                    Err(err) => {
                        output
                            .notes
                            .push(format!("The credentials were not validated: {err}."));
                        None
                    }
                };
        }
        let rule = ecr::pull_through_cache_rule(&clients.ecr, &prefix)
            .await
            .map_err(|e| {
                verification_error(&output, &format!("the rule could not be read back: {e}"))
            })?
            .ok_or_else(|| verification_error(&output, "the rule is not there when read back"))?;
        let (_, mut judged) = account_reads::judge_rules(&clients, vec![rule]).await;
        let Some(judgement) = judged.pop() else {
            return Err(verification_error(&output, "the rule could not be judged"));
        };
        let entry = rule_entry(judgement);
        if !entry.healthomics_usable {
            let problems = entry.problems.join("; ");
            output.rule = Some(entry);
            return Err(verification_error(
                &output,
                &format!("reading it back shows HealthOmics cannot use it yet: {problems}"),
            ));
        }
        output.rule = Some(entry);
        if output
            .credential_validation
            .as_ref()
            .is_some_and(|v| !v.is_valid)
        {
            output.notes.push("ECR reports the upstream credentials as invalid: pulls will fail until the secret holds a working username and accessToken.".into());
        }
        output.message = format!(
            "Cache `{prefix}` → `{url}` is ready for HealthOmics ({} change(s) made, verified by reading them back).",
            output.planned_changes.iter().filter(|c| c.done).count()
        );
        Ok(Json(output))
    }
}

fn change(action: &str, target: &str, description: String) -> PlannedChange {
    PlannedChange {
        action: action.to_owned(),
        target: target.to_owned(),
        description,
        done: false,
    }
}

fn registry_info(params: &CreatePtcParams) -> Result<&'static RegistryInfo, ToolError> {
    let wanted = params.upstream_registry.trim();
    let info =
        registries::lookup_by_name(wanted).or_else(|| registries::classify_host(wanted).info());
    let supported = registries::supported_pull_through_names().join(", ");
    match info {
        Some(info) if info.access_path == AccessPath::PullThroughCache => Ok(info),
        Some(info) if info.access_path == AccessPath::HealthOmicsCopy => {
            Err(ToolError::invalid_input(
                format!(
                    "ECR pull-through cache cannot serve {} ({wanted}).",
                    info.display_name
                ),
                "HealthOmics copies images from this registry itself: add a registry mapping with a credentialArn for its host \
             to the workflow's container registry map (CreateContainerRegistryMap), or copy images with CloneContainerToECR.",
            ))
        }
        Some(info) => Err(ToolError::invalid_input(
            format!(
                "HealthOmics cannot use a pull-through cache for {} ({wanted}).",
                info.display_name
            ),
            format!(
                "Copy its images with CloneContainerToECR. Pull-through cache upstreams: {supported}."
            ),
        )),
        None => Err(ToolError::invalid_input(
            format!("Unknown upstream registry `{wanted}`."),
            format!("Use one of: {supported}."),
        )),
    }
}

fn upstream_url(info: &RegistryInfo, given: Option<&str>) -> Result<String, ToolError> {
    let given = given.map(str::trim).filter(|g| !g.is_empty());
    match (info.upstream_url, given) {
        (Some(url), None) => Ok(url.to_owned()),
        (Some(url), Some(g)) if g.eq_ignore_ascii_case(url) => Ok(url.to_owned()),
        (Some(url), Some(g)) => Err(ToolError::invalid_input(
            format!(
                "upstream_registry_url `{g}` does not match {} (its host is `{url}`).",
                info.display_name
            ),
            "Leave upstream_registry_url out, or pick the upstream_registry that serves that host.",
        )),
        (None, Some(g)) => {
            let class = registries::classify_host(g);
            if class.kind == info.kind && g == class.upstream_registry_url {
                Ok(g.to_owned())
            } else {
                Err(ToolError::invalid_input(
                    format!("`{g}` is not a {} host.", info.display_name),
                    "Give the bare registry host, e.g. `myregistry.azurecr.io` (no scheme, no path, lowercase).",
                ))
            }
        }
        (None, None) => Err(ToolError::invalid_input(
            format!("{} needs upstream_registry_url.", info.display_name),
            "Pass your registry's host, e.g. `myregistry.azurecr.io`.",
        )),
    }
}

fn credential(
    params: &CreatePtcParams,
    info: &RegistryInfo,
    prefix: &str,
) -> Result<Credential, ToolError> {
    let non_empty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (
        non_empty(&params.credential_arn),
        non_empty(&params.username),
        non_empty(&params.access_token),
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ToolError::invalid_input(
            "Give either credential_arn or username + access_token, not both.",
            "Use credential_arn for an existing secret, or username + access_token to have one created.",
        )),
        (Some(arn), None, None) => Ok(Credential::Existing(arn)),
        (None, Some(username), Some(token)) => Ok(Credential::New {
            name: format!("{PTC_SECRET_NAME_PREFIX}{}", prefix.replace('/', "-")),
            username,
            token,
        }),
        (None, Some(_), None) | (None, None, Some(_)) => Err(ToolError::invalid_input(
            "username and access_token go together.",
            "Pass both, or neither.",
        )),
        (None, None, None) if info.credentials_required => Err(ToolError::invalid_input(
            format!(
                "{} needs credentials for pull-through cache.",
                info.display_name
            ),
            format!(
                "Pass username + access_token (the tool stores them in Secrets Manager as `{PTC_SECRET_NAME_PREFIX}{prefix}`), \
                 or credential_arn of an existing `{PTC_SECRET_NAME_PREFIX}…` secret."
            ),
        )),
        (None, None, None) => Ok(Credential::None),
    }
}

/// Checks an existing secret, or that a new one's name is free; returns the ARN to use.
async fn check_credential(
    clients: &AwsClients,
    credential: &Credential,
    changes: &mut Vec<PlannedChange>,
) -> Result<Option<String>, ToolError> {
    match credential {
        Credential::None => Ok(None),
        Credential::Existing(arn) => {
            let secret = secrets::describe_secret(&clients.secrets, arn).await.map_err(|e| match e.kind {
                AwsErrorKind::NotFound => ToolError::new(
                    ErrorCode::NotFound,
                    format!("The secret `{arn}` does not exist in this region."),
                    "Check the ARN and region, or pass username + access_token to have the secret created.",
                ),
                _ => e.into_tool_error(Some(arn)),
            })?;
            if !secret.name.starts_with(PTC_SECRET_NAME_PREFIX) {
                return Err(ToolError::invalid_input(
                    format!(
                        "ECR pull-through cache only reads secrets named `{PTC_SECRET_NAME_PREFIX}…`; `{}` is not.",
                        secret.name
                    ),
                    format!(
                        "Create a secret named `{PTC_SECRET_NAME_PREFIX}{}` with the same JSON (username, accessToken) and pass its ARN.",
                        secret.name
                    ),
                ));
            }
            if secret.deleted_date.is_some() {
                return Err(ToolError::invalid_input(
                    format!("The secret `{}` is scheduled for deletion.", secret.name),
                    format!(
                        "Restore it first: `aws secretsmanager restore-secret --secret-id {arn}`."
                    ),
                ));
            }
            Ok(Some(secret.arn))
        }
        Credential::New {
            name,
            username,
            token,
        } => {
            match secrets::describe_secret(&clients.secrets, name).await {
                // The same call made twice (or retried after a partial failure, as its own
                // remediation says) finds the secret it created: same credentials, reuse it.
                Ok(existing)
                    if existing.deleted_date.is_none()
                        && same_credentials(clients, &existing.arn, username, token).await =>
                {
                    Ok(Some(existing.arn))
                }
                Ok(existing) => Err(ToolError::new(
                    ErrorCode::Conflict,
                    format!(
                        "A secret named `{name}` already exists with other (or unreadable) credentials; it is not overwritten."
                    ),
                    format!(
                        "Pass credential_arn \"{}\" to use it, or choose another ecr_repository_prefix.",
                        existing.arn
                    ),
                )),
                Err(e) if e.kind == AwsErrorKind::NotFound => {
                    changes.push(change(
                        "secretsmanager:CreateSecret",
                        name,
                        format!("store the upstream credentials in the secret `{name}`"),
                    ));
                    Ok(None)
                }
                Err(e) => Err(e.into_tool_error(Some(name))),
            }
        }
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

fn check_same_rule(
    rule: &account::PullThroughCacheRule,
    url: &str,
    credential_arn: Option<&str>,
    upstream_repository_prefix: Option<&str>,
) -> Result<(), ToolError> {
    let prefix = &rule.ecr_repository_prefix;
    let mut differences = Vec::new();
    if !rule.upstream_registry_url.eq_ignore_ascii_case(url) {
        differences.push(format!(
            "it caches `{}`, not `{url}`",
            rule.upstream_registry_url
        ));
    }
    if let Some(arn) = credential_arn
        && rule.credential_arn.as_deref() != Some(arn)
    {
        differences.push(format!(
            "it uses the credential `{}`",
            rule.credential_arn.as_deref().unwrap_or("none")
        ));
    }
    if upstream_repository_prefix.is_some()
        && rule.upstream_repository_prefix.as_deref() != upstream_repository_prefix
    {
        differences.push(format!(
            "its upstream repository prefix is `{}`",
            rule.upstream_repository_prefix.as_deref().unwrap_or("none")
        ));
    }
    if differences.is_empty() {
        return Ok(());
    }
    Err(ToolError::new(
        ErrorCode::Conflict,
        format!(
            "A pull-through cache rule with prefix `{prefix}` already exists and differs: {}. Nothing was changed.",
            differences.join("; ")
        ),
        format!(
            "Pick another ecr_repository_prefix, or change the existing rule yourself (`aws ecr update-pull-through-cache-rule --ecr-repository-prefix {prefix}`)."
        ),
    ))
}

async fn plan_registry_policy(
    clients: &AwsClients,
    account: &str,
    prefix: &str,
    changes: &mut Vec<PlannedChange>,
) -> Result<(Option<PolicyDocument>, Option<PolicyDocument>), ToolError> {
    let before = match account_reads::read_registry_policy(clients).await {
        RegistryPolicy::Absent => None,
        RegistryPolicy::Present { text } => Some(PolicyDocument::parse(&text).map_err(|e| {
            ToolError::new(
                ErrorCode::InvalidPolicy,
                format!("The registry permissions policy is not a valid IAM policy: {e}. Nothing was changed."),
                "Fix it (`aws ecr get-registry-policy`) and run this tool again.",
            )
        })?),
        RegistryPolicy::Unreadable(err) => return Err(err.into_tool_error(Some("registry policy"))),
    };
    let current = RegistryPolicy::from_document(before.as_ref());
    let judged = current.judge_prefix(clients.arn_partition(), &clients.region, account, prefix);
    if judged.evaluation.status == AccessStatus::Accessible {
        return Ok((before, None));
    }
    let ours = policy::registry_pull_through_statement(
        clients.arn_partition(),
        &clients.region,
        account,
        prefix,
    );
    let merged = policy::upsert_statements(before.as_ref(), &[ours]).map_err(|e| {
        ToolError::new(
            ErrorCode::Internal,
            format!("Could not merge the registry policy: {e}"),
            "Report this bug.",
        )
    })?;
    let after = RegistryPolicy::from_document(Some(&merged.document));
    let planned = after.judge_prefix(clients.arn_partition(), &clients.region, account, prefix);
    if planned.evaluation.status != AccessStatus::Accessible {
        return Err(blocked("registry permissions policy", &planned.evaluation));
    }
    changes.push(change("ecr:PutRegistryPolicy", "registry policy", format!(
        "add statement {} letting omics.amazonaws.com create and import repositories under `{prefix}/` (other statements kept)",
        policy::registry_pull_through_sid(prefix)
    )));
    Ok((before, Some(merged.document)))
}

async fn plan_template(
    clients: &AwsClients,
    prefix: &str,
    changes: &mut Vec<PlannedChange>,
    notes: &mut Vec<String>,
) -> Result<(Option<account::CreationTemplate>, TemplatePlan), ToolError> {
    let templates = ecr::creation_templates(
        &clients.ecr,
        &[prefix.to_owned(), verdicts::ROOT_TEMPLATE_PREFIX.to_owned()],
    )
    .await
    .map_err(|e| e.into_tool_error(Some(prefix)))?;
    let exact = templates.iter().find(|t| t.prefix == prefix).cloned();
    let root = templates
        .iter()
        .find(|t| t.prefix == verdicts::ROOT_TEMPLATE_PREFIX);
    let Some(existing) = exact else {
        if let Some(root) = root {
            let judged = verdicts::Templates::Read(vec![root.clone()]).judge_prefix(prefix);
            if judged.applies_to_pull_through_cache
                && judged.judged.evaluation.status == AccessStatus::Accessible
            {
                notes.push(format!("The ROOT creation template already grants HealthOmics pull access to `{prefix}/` repositories; no template is added."));
                return Ok((None, TemplatePlan::Keep));
            }
            notes.push(format!(
                "A template with prefix `{prefix}` takes precedence over the ROOT template for these repositories; ROOT's other settings (encryption, tags, lifecycle) will not apply to them."
            ));
        }
        let policy = policy::upsert_statements(None, &[policy::repository_pull_statement()])
            .map_err(|e| {
                ToolError::new(
                    ErrorCode::Internal,
                    format!("Could not build the template policy: {e}"),
                    "Report this bug.",
                )
            })?
            .document;
        changes.push(change("ecr:CreateRepositoryCreationTemplate", prefix, format!(
            "create a template for `{prefix}` applied for PULL_THROUGH_CACHE whose repository policy lets omics.amazonaws.com pull"
        )));
        return Ok((None, TemplatePlan::Create { policy }));
    };
    let before_policy = existing.repository_policy.as_deref().map(PolicyDocument::parse).transpose().map_err(|e| {
        ToolError::new(
            ErrorCode::InvalidPolicy,
            format!("The repository policy of template `{prefix}` is not a valid IAM policy: {e}. Nothing was changed."),
            format!("Fix it (`aws ecr describe-repository-creation-templates --prefixes {prefix}`) and run this tool again."),
        )
    })?;
    let mut applied_for = existing.applied_for.clone();
    let adds_ptc = !applied_for.iter().any(|a| a == "PULL_THROUGH_CACHE");
    if adds_ptc {
        applied_for.push("PULL_THROUGH_CACHE".to_owned());
    }
    let grants =
        verdicts::judge_repository_policy(existing.repository_policy.as_deref(), None).evaluation;
    let policy = if grants.status == AccessStatus::Accessible {
        None
    } else {
        let merged = policy::upsert_statements(
            before_policy.as_ref(),
            &[policy::repository_pull_statement()],
        )
        .map_err(|e| {
            ToolError::new(
                ErrorCode::Internal,
                format!("Could not merge the template policy: {e}"),
                "Report this bug.",
            )
        })?;
        let planned =
            verdicts::judge_repository_policy(Some(&merged.document.to_json_compact()), None)
                .evaluation;
        if planned.status != AccessStatus::Accessible {
            return Err(blocked(
                &format!("repository policy of template `{prefix}`"),
                &planned,
            ));
        }
        Some(merged.document)
    };
    if !adds_ptc && policy.is_none() {
        return Ok((Some(existing), TemplatePlan::Keep));
    }
    let what = match (adds_ptc, policy.is_some()) {
        (true, true) => {
            "add PULL_THROUGH_CACHE to appliedFor and merge the HealthOmics pull statement into its policy"
        }
        (true, false) => "add PULL_THROUGH_CACHE to appliedFor",
        _ => "merge the HealthOmics pull statement into its repository policy",
    };
    changes.push(change(
        "ecr:UpdateRepositoryCreationTemplate",
        prefix,
        format!("{what} (other settings kept)"),
    ));
    let policy = match policy.or(before_policy) {
        Some(policy) => policy,
        None => PolicyDocument::empty(),
    };
    Ok((
        Some(existing),
        TemplatePlan::Update {
            applied_for,
            policy,
        },
    ))
}

fn template_json(t: &account::CreationTemplate) -> Value {
    json!({
        "prefix": t.prefix,
        "appliedFor": t.applied_for,
        "repositoryPolicy": t.repository_policy.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()),
        "imageTagMutability": t.image_tag_mutability,
        "description": t.description,
    })
}

fn template_after_json(
    prefix: &str,
    before: Option<&account::CreationTemplate>,
    plan: &TemplatePlan,
) -> Option<Value> {
    match plan {
        TemplatePlan::Keep => before.map(template_json),
        TemplatePlan::Create { policy } => Some(json!({
            "prefix": prefix,
            "appliedFor": ["PULL_THROUGH_CACHE"],
            "repositoryPolicy": policy.as_value(),
            "imageTagMutability": "MUTABLE",
        })),
        TemplatePlan::Update {
            applied_for,
            policy,
        } => {
            let mut value = before
                .map(template_json)
                .unwrap_or_else(|| json!({ "prefix": prefix }));
            value["appliedFor"] = json!(applied_for);
            value["repositoryPolicy"] = policy.as_value().clone();
            Some(value)
        }
    }
}

fn blocked(what: &str, evaluation: &policy::AccessEvaluation) -> ToolError {
    let reasons: Vec<String> = evaluation
        .actions
        .iter()
        .filter(|a| a.verdict != policy::Verdict::Allowed)
        .map(|a| format!("{}: {}", a.action, a.reason))
        .collect();
    ToolError::new(
        ErrorCode::Conflict,
        format!(
            "Merging the HealthOmics statement into the {what} would not give access, because statements this tool did not write block it ({}). Nothing was changed.",
            reasons.join("; ")
        ),
        "Remove or narrow the blocking statement yourself (this tool never removes statements it did not write), then run it again.",
    )
}

/// A dry run's output: nothing in it may read as done, so the planned documents move to
/// `planned_*` fields and every "created/updated" flag stays false.
fn dry_run_output(mut output: CreatePtcOutput) -> CreatePtcOutput {
    output.message = format!(
        "Dry run: {} change(s) planned for cache `{}` → `{}`; nothing was changed.",
        output.planned_changes.len(),
        output.ecr_repository_prefix,
        output.upstream_registry_url
    );
    output.planned_registry_policy = output.registry_policy_after.take();
    output.planned_template = output.template_after.take();
    output.rule_created = false;
    output.secret_created = false;
    output.registry_policy_updated = false;
    output.repository_template_created = false;
    output.repository_template_updated = false;
    output.success = true;
    output
}

fn check_cancelled(output: &CreatePtcOutput) -> Result<(), ToolError> {
    let done: Vec<String> = output
        .planned_changes
        .iter()
        .filter(|c| c.done)
        .map(|c| c.description.clone())
        .collect();
    cancellation::check_before_write(tool_names::CREATE_PTC, &done)
        .map_err(|e| with_progress(e, output))
}

fn with_progress(err: ToolError, output: &CreatePtcOutput) -> ToolError {
    err.with_details(progress(output))
}

/// The registry policy to write now: the planned one when nothing moved since the plan, else
/// our statement merged again into what is there now (and judged again).
async fn remerge_registry_policy(
    clients: &AwsClients,
    account: &str,
    prefix: &str,
    planned_from: Option<&PolicyDocument>,
    planned: &PolicyDocument,
) -> Result<PolicyDocument, ToolError> {
    let mut scratch = Vec::new();
    let (now, merged) = plan_registry_policy(clients, account, prefix, &mut scratch).await?;
    if now.as_ref().map(PolicyDocument::as_value) == planned_from.map(PolicyDocument::as_value) {
        return Ok(planned.clone());
    }
    tracing::info!(
        prefix,
        "registry policy changed since the plan; merged again"
    );
    // Already granted by the new state: write it back unchanged rather than not at all, so the
    // step's read-back sees our grant either way.
    Ok(merged.or(now).unwrap_or_else(|| planned.clone()))
}

fn progress(output: &CreatePtcOutput) -> Value {
    let done: Vec<&PlannedChange> = output.planned_changes.iter().filter(|c| c.done).collect();
    let remaining: Vec<&PlannedChange> =
        output.planned_changes.iter().filter(|c| !c.done).collect();
    json!({ "completed": done, "remaining": remaining, "credential_arn": output.credential_arn })
}

fn partial_failure(
    output: &CreatePtcOutput,
    step: usize,
    err: AwsCallError,
    prefix: &str,
) -> ToolError {
    let failed = output
        .planned_changes
        .get(step)
        .map(|c| c.description.clone())
        .unwrap_or_default();
    let done: Vec<String> = output
        .planned_changes
        .iter()
        .filter(|c| c.done)
        .map(|c| c.description.clone())
        .collect();
    let mut remediation = err.clone().into_tool_error(Some(prefix)).remediation;
    remediation.push_str(" Then run CreatePullThroughCacheForHealthOmics again with the same arguments: it reuses what already exists.");
    if let Some(arn) = output
        .credential_arn
        .as_deref()
        .filter(|_| output.secret_created && output.planned_changes.first().is_some_and(|c| c.done))
    {
        remediation.push_str(&format!(" The secret was already created: pass credential_arn \"{arn}\" instead of username/access_token."));
    }
    ToolError {
        code: if done.is_empty() {
            err.clone().into_tool_error(None).code
        } else {
            ErrorCode::PartialFailure
        },
        message: format!(
            "Failed to {failed}: {err}. Already done: {}.",
            if done.is_empty() {
                "nothing".to_owned()
            } else {
                done.join("; ")
            }
        ),
        remediation,
        aws_error_code: err.code.clone(),
        details: Some(progress(output)),
    }
}

fn verification_error(output: &CreatePtcOutput, what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::VerificationFailed,
        format!("The changes were made, but {what}."),
        "Run ValidateHealthOmicsECRConfig to see what is missing; another writer may have changed the policy or template.",
    )
    .with_details(progress(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(registry: &str) -> CreatePtcParams {
        serde_json::from_value(json!({ "upstream_registry": registry }))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_healthomics_ptc_upstream_is_accepted() {
        for name in [
            "docker-hub",
            "quay",
            "ecr-public",
            "kubernetes",
            "github",
            "gitlab",
            "azure",
        ] {
            assert!(registry_info(&params(name)).is_ok(), "{name}");
        }
        let err = registry_info(&params("wave"))
            .err()
            .map(|e| e.remediation)
            .unwrap_or_default();
        assert!(err.contains("credentialArn"), "{err}");
        assert!(registry_info(&params("harbor")).is_err());
    }

    #[test]
    fn azure_needs_its_own_host() {
        let azure = registry_info(&params("azure")).unwrap_or_else(|e| panic!("{e}"));
        assert!(upstream_url(azure, None).is_err());
        assert_eq!(
            upstream_url(azure, Some("myreg.azurecr.io"))
                .ok()
                .as_deref(),
            Some("myreg.azurecr.io")
        );
        assert!(upstream_url(azure, Some("https://myreg.azurecr.io")).is_err());
        let quay = registry_info(&params("quay")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(upstream_url(quay, None).ok().as_deref(), Some("quay.io"));
        assert!(upstream_url(quay, Some("ghcr.io")).is_err());
    }

    #[test]
    fn credentials_rules() {
        let hub = registry_info(&params("docker-hub")).unwrap_or_else(|e| panic!("{e}"));
        assert!(credential(&params("docker-hub"), hub, "docker-hub").is_err());
        let mut p = params("docker-hub");
        p.username = Some("me".into());
        p.access_token = Some("dckr_pat_secret".into());
        match credential(&p, hub, "docker-hub") {
            Ok(Credential::New { name, .. }) => assert_eq!(name, "ecr-pullthroughcache/docker-hub"),
            _ => panic!("expected a new secret"),
        }
        assert!(!format!("{p:?}").contains("dckr_pat_secret"));
        p.credential_arn = Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:x".into());
        assert!(credential(&p, hub, "docker-hub").is_err());
    }
}
