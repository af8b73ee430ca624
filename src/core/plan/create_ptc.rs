//! The plan of `CreatePullThroughCacheForHealthOmics`: from the request and what was read (the
//! secret, the rule, the registry policy, the creation templates) to the writes to make, in
//! order, and the result to return. The handler reads, calls [`plan`], executes the [`Step`]s
//! under its write locks, reads back and fills in the verdict; every decision is made here.
//!
//! Merged, never replaced: every statement and template setting this tool did not write is
//! kept, and a foreign statement that keeps HealthOmics out stops the plan before any write.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

// The registry and template verdicts are the ones every tool gives (`audit` is their home until
// it moves into core); only their pure parts are used here.
use crate::core::account::{CreationTemplate, NewRule, PullThroughCacheRule, SecretInfo};
use crate::core::findings::JsonObject;
use crate::core::image_ref::{self, ROOT_PREFIX, ecr_registry_host};
use crate::core::inputs::{self, InputError};
use crate::core::plan::rule_entry::RuleEntry;
use crate::core::policy::{self, AccessEvaluation, AccessStatus, PolicyDocument, Verdict};
use crate::core::registries::{self, AccessPath, PTC_SECRET_NAME_PREFIX, RegistryInfo};
use crate::core::registry_map::RegistryMapping;
use crate::core::verdicts::{RegistryPolicy, Templates, judge_repository_policy};

/// The repository-creation trigger a cache's template must be applied for.
const PULL_THROUGH_CACHE: &str = "PULL_THROUGH_CACHE";

/// The tool's arguments as the caller gave them (no `Debug`: one of them is a token).
#[derive(Clone, Copy, Default)]
pub struct PtcArguments<'a> {
    pub upstream_registry: &'a str,
    pub ecr_repository_prefix: Option<&'a str>,
    pub credential_arn: Option<&'a str>,
    pub username: Option<&'a str>,
    /// Only whether it is given counts: the token never enters a request or a plan.
    pub access_token: Option<&'a str>,
    pub upstream_registry_url: Option<&'a str>,
    pub upstream_repository_prefix: Option<&'a str>,
    pub dry_run: bool,
}

/// A checked request: the registry, prefix and credentials the plan works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtcRequest {
    pub prefix: String,
    pub upstream_registry_url: String,
    /// ECR's `upstreamRegistry` for a new rule (`None`: ECR infers it from the URL).
    pub upstream_registry: Option<String>,
    /// ECR's `upstreamRepositoryPrefix`, as given.
    pub upstream_repository_prefix: Option<String>,
    pub credential: CredentialSource,
    pub dry_run: bool,
}

/// Where the upstream credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    None,
    /// `credential_arn`: an existing secret.
    Existing {
        arn: String,
    },
    /// `username` + `access_token`: a secret of this name, created unless it already holds them
    /// (the handler keeps the token).
    New {
        secret_name: String,
        username: String,
    },
}

/// What the handler read before planning.
#[derive(Debug, Clone)]
pub struct PtcRead {
    pub request: PtcRequest,
    pub account_id: String,
    pub region: String,
    /// The ARN partition: `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    pub secret: SecretRead,
    /// The rule with the request's prefix, if there is one.
    pub rule: Option<PullThroughCacheRule>,
    pub registry_policy: RegistryPolicyRead,
    /// The creation templates read for the prefix and for ROOT.
    pub templates: Vec<CreationTemplate>,
}

/// The secret the request names (`credential_arn`, or the name a new secret would get).
#[derive(Debug, Clone)]
pub enum SecretRead {
    /// The request names no secret.
    NotAsked,
    NotFound,
    Found {
        info: SecretInfo,
        /// For a new secret's name: the secret there holds exactly the given credentials
        /// (compared by the handler in memory; an unreadable value counts as different).
        holds_given_credentials: bool,
    },
}

/// The registry policy as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryPolicyRead {
    Absent,
    Present(String),
    /// The read failed; the handler keeps the error to report it.
    Unreadable,
}

/// One write, in the order the handler makes them.
#[derive(Debug, Clone)]
pub enum Step {
    /// Store the upstream credentials; the handler supplies the token.
    CreateSecret {
        name: String,
        description: String,
        username: String,
    },
    /// Create the rule; a secret created earlier in the same call supplies its credential ARN.
    CreateRule(NewRule),
    /// Write `policy`, planned from `planned_from`: read again first and merged again by
    /// [`remerge_registry_policy`] if it moved since.
    PutRegistryPolicy {
        planned_from: Option<PolicyDocument>,
        policy: PolicyDocument,
    },
    CreateTemplate {
        prefix: String,
        description: String,
        applied_for: Vec<String>,
        policy: PolicyDocument,
    },
    /// Only `appliedFor` and the repository policy change; every other setting stays.
    UpdateTemplate {
        prefix: String,
        applied_for: Vec<String>,
        policy: PolicyDocument,
    },
}

impl Step {
    /// The IAM action of the step's call.
    pub fn action(&self) -> &'static str {
        match self {
            Self::CreateSecret { .. } => "secretsmanager:CreateSecret",
            Self::CreateRule(_) => "ecr:CreatePullThroughCacheRule",
            Self::PutRegistryPolicy { .. } => "ecr:PutRegistryPolicy",
            Self::CreateTemplate { .. } => "ecr:CreateRepositoryCreationTemplate",
            Self::UpdateTemplate { .. } => "ecr:UpdateRepositoryCreationTemplate",
        }
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

/// The tool's result; `rule` is the rule as read back and judged.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatePtcOutput {
    /// The cache exists and HealthOmics can use it, verified by reading everything back (with
    /// dry_run: the plan would get there).
    pub success: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    /// The rule as read back and judged (absent with dry_run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleEntry>,
    /// The calls planned (with dry_run) or made; after a verified write, with `detail` only
    /// (the `*_created`/`*_updated` flags say what changed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned_changes: Vec<PlannedChange>,
    pub rule_created: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_arn: Option<String>,
    pub secret_created: bool,
    pub registry_policy_updated: bool,
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_policy_before: Option<Value>,
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_policy_after: Option<Value>,
    pub repository_template_created: bool,
    pub repository_template_updated: bool,
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_before: Option<Value>,
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_after: Option<Value>,
    /// With dry_run only: the registry policy and template that would be written.
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_registry_policy: Option<Value>,
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_template: Option<Value>,
    /// The account and region acted on: not sent, `example_image_uri` names them.
    #[serde(skip)]
    pub account_id: String,
    #[serde(skip)]
    pub region: String,
    /// ECR's check of the upstream credentials (ValidatePullThroughCacheRule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_validation: Option<CredentialValidation>,
    /// How a workflow names an image through this cache, e.g.
    /// `<acct>.dkr.ecr.<region>.amazonaws.com/quay/biocontainers/samtools:1.19`.
    pub example_image_uri: String,
    /// The container registry map entry for this cache.
    pub registry_mapping: RegistryMapping,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub message: String,
}

impl CreatePtcOutput {
    /// The result an assistant needs after a write: the documents before and after are left
    /// out unless `detail` asks for them (the `*_created`/`*_updated` flags say what changed).
    /// After a verified success the calls made and the rule's audit are left to `detail` too:
    /// `success` is that verdict, and a rule HealthOmics cannot use stays, with its problems.
    pub fn sized(mut self, detail: bool) -> Self {
        if !detail {
            self.registry_policy_before = None;
            self.registry_policy_after = None;
            self.template_before = None;
            self.template_after = None;
            if self.success && !self.dry_run {
                self.planned_changes.clear();
                if self.rule.as_ref().is_some_and(|r| r.healthomics_usable) {
                    self.rule = None;
                }
            }
        }
        self
    }

    /// What this call has changed so far, in order.
    pub fn done(&self) -> Vec<String> {
        self.planned_changes
            .iter()
            .filter(|c| c.done)
            .map(|c| c.description.clone())
            .collect()
    }

    /// The `details` of an error part-way: what is done, what remains, the secret to reuse.
    pub fn progress(&self) -> Value {
        let (done, remaining): (Vec<&PlannedChange>, Vec<&PlannedChange>) =
            self.planned_changes.iter().partition(|c| c.done);
        json!({ "completed": done, "remaining": remaining, "credential_arn": self.credential_arn })
    }

    /// The message and remediation of a write that failed at `step` with `cause` (whose own
    /// remediation is `fix`): what was already done, and how to finish with a retry.
    pub fn failure_wording(&self, step: usize, cause: &str, fix: &str) -> (String, String) {
        let failed = self
            .planned_changes
            .get(step)
            .map(|c| c.description.as_str())
            .unwrap_or_default();
        let done = self.done();
        let already = if done.is_empty() {
            "nothing".to_owned()
        } else {
            done.join("; ")
        };
        let mut remediation = format!(
            "{fix} Then run CreatePullThroughCacheForHealthOmics again with the same arguments: it reuses what already exists."
        );
        let secret_made =
            self.secret_created && self.planned_changes.first().is_some_and(|c| c.done);
        if let Some(arn) = self.credential_arn.as_deref().filter(|_| secret_made) {
            remediation.push_str(&format!(" The secret was already created: pass credential_arn \"{arn}\" instead of username/access_token."));
        }
        (
            format!("Failed to {failed}: {cause}. Already done: {already}."),
            remediation,
        )
    }

    /// ECR could not be asked to check the credentials; the cache may still work.
    pub fn credentials_not_validated(&mut self, why: &str) {
        self.notes
            .push(format!("The credentials were not validated: {why}."));
    }

    /// Everything was written and read back usable: the result says so.
    pub fn ready(&mut self, rule: RuleEntry) {
        self.rule = Some(rule);
        if self
            .credential_validation
            .as_ref()
            .is_some_and(|v| !v.is_valid)
        {
            self.notes.push("ECR reports the upstream credentials as invalid: pulls will fail until the secret holds a working username and accessToken.".into());
        }
        let changes = match self.done().len() {
            0 => "it already was; nothing changed, verified by reading it back".to_owned(),
            n => format!("{n} change(s) made, verified by reading them back"),
        };
        self.message = format!(
            "Cache `{}` → `{}` is ready for HealthOmics ({changes}).",
            self.ecr_repository_prefix, self.upstream_registry_url,
        );
    }
}

/// The writes to make and the result to return. `output.planned_changes[i]` describes
/// `steps[i]`; with dry_run the output is already the dry run's (nothing reads as done).
#[derive(Debug)]
pub struct PtcPlan {
    pub steps: Vec<Step>,
    pub output: CreatePtcOutput,
}

/// Why the call stops before (or, for the registry policy read again, at) a write.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PtcPlanError {
    /// A parameter is wrong or missing.
    #[error("{message}")]
    Input {
        message: String,
        remediation: String,
    },
    #[error("The secret `{arn}` does not exist in this region.")]
    SecretNotFound { arn: String },
    #[error(
        "ECR pull-through cache only reads secrets named `{PTC_SECRET_NAME_PREFIX}…`; `{name}` is not."
    )]
    SecretNotForCache { name: String },
    #[error("The secret `{name}` is scheduled for deletion.")]
    SecretDeleted { name: String, arn: String },
    /// The new secret's name is taken by a secret with other (or unreadable) credentials.
    #[error(
        "A secret named `{name}` already exists with other (or unreadable) credentials; it is not overwritten."
    )]
    SecretTaken { name: String, arn: String },
    #[error(
        "A pull-through cache rule with prefix `{prefix}` already exists and differs: {}. Nothing was changed.",
        differences.join("; ")
    )]
    RuleDiffers {
        prefix: String,
        differences: Vec<String>,
    },
    #[error("The registry permissions policy is not a valid IAM policy: {0}. Nothing was changed.")]
    RegistryPolicyInvalid(String),
    /// Merging into a policy that could not be read would drop its statements.
    #[error("The registry permissions policy could not be read. Nothing was changed.")]
    RegistryPolicyUnreadable,
    #[error(
        "The repository policy of template `{prefix}` is not a valid IAM policy: {why}. Nothing was changed."
    )]
    TemplatePolicyInvalid { prefix: String, why: String },
    /// Statements this tool did not write keep HealthOmics out even with ours merged in.
    #[error(
        "Merging the HealthOmics statement into the {what} would not give access, because statements this tool did not write block it ({}). Nothing was changed.",
        blocking_reasons(evaluation)
    )]
    Blocked {
        what: String,
        evaluation: AccessEvaluation,
    },
    /// The merge itself failed (a bug).
    #[error("{0}")]
    Merge(String),
}

impl PtcPlanError {
    fn input(message: impl Into<String>, remediation: impl Into<String>) -> Self {
        Self::Input {
            message: message.into(),
            remediation: remediation.into(),
        }
    }

    /// What the caller should do.
    pub fn remediation(&self) -> String {
        match self {
            Self::Input { remediation, .. } => remediation.clone(),
            Self::SecretNotFound { .. } => "Check the ARN and region, or pass username + access_token to have the secret created.".into(),
            Self::SecretNotForCache { name } => format!(
                "Create a secret named `{PTC_SECRET_NAME_PREFIX}{name}` with the same JSON (username, accessToken) and pass its ARN."
            ),
            Self::SecretDeleted { arn, .. } => format!(
                "Restore it first: `aws secretsmanager restore-secret --secret-id {arn}`."
            ),
            Self::SecretTaken { arn, .. } => format!(
                "Pass credential_arn \"{arn}\" to use it, or choose another ecr_repository_prefix."
            ),
            Self::RuleDiffers { prefix, .. } => format!(
                "Pick another ecr_repository_prefix, or change the existing rule yourself (`aws ecr update-pull-through-cache-rule --ecr-repository-prefix {prefix}`)."
            ),
            Self::RegistryPolicyInvalid(_) => {
                "Fix it (`aws ecr get-registry-policy`) and run this tool again.".into()
            }
            Self::RegistryPolicyUnreadable => {
                "Allow `ecr:GetRegistryPolicy` for the identity this server runs as, then retry."
                    .into()
            }
            Self::TemplatePolicyInvalid { prefix, .. } => format!(
                "Fix it (`aws ecr describe-repository-creation-templates --prefixes {prefix}`) and run this tool again."
            ),
            Self::Blocked { .. } => "Remove or narrow the blocking statement yourself (this tool never removes statements it did not write), then run it again.".into(),
            Self::Merge(_) => "Report this bug.".into(),
        }
    }
}

impl From<InputError> for PtcPlanError {
    fn from(err: InputError) -> Self {
        Self::input(err.to_string(), err.hint)
    }
}

fn blocking_reasons(evaluation: &AccessEvaluation) -> String {
    evaluation
        .actions
        .iter()
        .filter(|a| a.verdict != Verdict::Allowed)
        .map(|a| format!("{}: {}", a.action, a.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A free-form argument as the tool reads it: trimmed, and absent when empty.
pub fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Checks the arguments, before any AWS call: registry, URL, prefix, credentials.
pub fn request(args: &PtcArguments<'_>) -> Result<PtcRequest, PtcPlanError> {
    let info = registry_info(args.upstream_registry)?;
    let url = upstream_url(info, args.upstream_registry_url)?;
    let prefix = args
        .ecr_repository_prefix
        .map(str::trim)
        .unwrap_or(info.default_prefix)
        .to_owned();
    image_ref::validate_ptc_prefix(&prefix).map_err(|e| {
        PtcPlanError::input(
            e.to_string(),
            "Choose a prefix of 2–30 lowercase letters, digits, '-', '_', '.' or '/'.",
        )
    })?;
    if let Some(upstream_prefix) = args.upstream_repository_prefix.filter(|p| !p.is_empty()) {
        inputs::check_upstream_repository_prefix(upstream_prefix)?;
    }
    let credential = credential(args, info, &prefix)?;
    Ok(PtcRequest {
        prefix,
        upstream_registry_url: url,
        upstream_registry: info.ecr_upstream_registry.map(str::to_owned),
        upstream_repository_prefix: args.upstream_repository_prefix.map(str::to_owned),
        credential,
        dry_run: args.dry_run,
    })
}

fn registry_info(wanted: &str) -> Result<&'static RegistryInfo, PtcPlanError> {
    let wanted = wanted.trim();
    let info =
        registries::lookup_by_name(wanted).or_else(|| registries::classify_host(wanted).info());
    let supported = registries::supported_pull_through_names().join(", ");
    match info {
        Some(info) if info.access_path == AccessPath::PullThroughCache => Ok(info),
        Some(info) if info.access_path == AccessPath::HealthOmicsCopy => Err(PtcPlanError::input(
            format!(
                "ECR pull-through cache cannot serve {} ({wanted}).",
                info.display_name
            ),
            "HealthOmics copies images from this registry itself: add a registry mapping with a credentialArn for its host \
             to the workflow's container registry map (CreateContainerRegistryMap), or copy images with CloneContainerToECR.",
        )),
        Some(info) => Err(PtcPlanError::input(
            format!(
                "HealthOmics cannot use a pull-through cache for {} ({wanted}).",
                info.display_name
            ),
            format!(
                "Copy its images with CloneContainerToECR. Pull-through cache upstreams: {supported}."
            ),
        )),
        None => Err(PtcPlanError::input(
            format!("Unknown upstream registry `{wanted}`."),
            format!("Use one of: {supported}."),
        )),
    }
}

fn upstream_url(info: &RegistryInfo, given_url: Option<&str>) -> Result<String, PtcPlanError> {
    match (info.upstream_url, given(given_url)) {
        (Some(url), None) => Ok(url.to_owned()),
        (Some(url), Some(g)) if g.eq_ignore_ascii_case(url) => Ok(url.to_owned()),
        (Some(url), Some(g)) => Err(PtcPlanError::input(
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
                Err(PtcPlanError::input(
                    format!("`{g}` is not a {} host.", info.display_name),
                    "Give the bare registry host, e.g. `myregistry.azurecr.io` (no scheme, no path, lowercase).",
                ))
            }
        }
        (None, None) => Err(PtcPlanError::input(
            format!("{} needs upstream_registry_url.", info.display_name),
            "Pass your registry's host, e.g. `myregistry.azurecr.io`.",
        )),
    }
}

fn credential(
    args: &PtcArguments<'_>,
    info: &RegistryInfo,
    prefix: &str,
) -> Result<CredentialSource, PtcPlanError> {
    match (
        given(args.credential_arn),
        given(args.username),
        given(args.access_token),
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(PtcPlanError::input(
            "Give either credential_arn or username + access_token, not both.",
            "Use credential_arn for an existing secret, or username + access_token to have one created.",
        )),
        (Some(arn), None, None) => Ok(CredentialSource::Existing {
            arn: arn.to_owned(),
        }),
        (None, Some(username), Some(_)) => Ok(CredentialSource::New {
            secret_name: format!("{PTC_SECRET_NAME_PREFIX}{}", prefix.replace('/', "-")),
            username: username.to_owned(),
        }),
        (None, Some(_), None) | (None, None, Some(_)) => Err(PtcPlanError::input(
            "username and access_token go together.",
            "Pass both, or neither.",
        )),
        (None, None, None) if info.credentials_required => Err(PtcPlanError::input(
            format!(
                "{} needs credentials for pull-through cache.",
                info.display_name
            ),
            format!(
                "Pass username + access_token (the tool stores them in Secrets Manager as `{PTC_SECRET_NAME_PREFIX}{prefix}`), \
                 or credential_arn of an existing `{PTC_SECRET_NAME_PREFIX}…` secret."
            ),
        )),
        (None, None, None) => Ok(CredentialSource::None),
    }
}

/// The steps and their descriptions, kept in step.
#[derive(Default)]
struct Writes {
    steps: Vec<Step>,
    changes: Vec<PlannedChange>,
}

impl Writes {
    fn push(&mut self, step: Step, target: &str, description: String) {
        self.changes.push(PlannedChange {
            action: step.action().to_owned(),
            target: target.to_owned(),
            description,
            done: false,
        });
        self.steps.push(step);
    }
}

/// What to do with the secret: the ARN the rule uses, or a secret to create first.
enum SecretPlan {
    None,
    Use(String),
    Create { name: String, username: String },
}

/// Plans everything against what exists, refusing conflicts before any write.
pub fn plan(read: &PtcRead) -> Result<PtcPlan, PtcPlanError> {
    let request = &read.request;
    let (prefix, url) = (&request.prefix, &request.upstream_registry_url);
    let mut writes = Writes::default();
    let mut notes = Vec::new();

    let secret = plan_secret(&request.credential, &read.secret, &mut notes)?;
    let credential_arn = match &secret {
        SecretPlan::Use(arn) => Some(arn.clone()),
        SecretPlan::None | SecretPlan::Create { .. } => None,
    };
    if let SecretPlan::Create { name, username } = &secret {
        let step = Step::CreateSecret {
            name: name.clone(),
            description: format!(
                "Upstream credentials for the ECR pull-through cache `{prefix}` ({url})"
            ),
            username: username.clone(),
        };
        let what = format!("store the upstream credentials in the secret `{name}`");
        writes.push(step, name, what);
    }

    match &read.rule {
        Some(rule) => check_same_rule(
            rule,
            url,
            credential_arn.as_deref(),
            request.upstream_repository_prefix.as_deref(),
        )?,
        None => {
            let rule = NewRule {
                prefix: prefix.clone(),
                upstream_registry_url: url.clone(),
                upstream_registry: request.upstream_registry.clone(),
                credential_arn: credential_arn.clone(),
                upstream_repository_prefix: request.upstream_repository_prefix.clone(),
            };
            let what = format!("create the rule caching `{url}` under `{prefix}/`");
            writes.push(Step::CreateRule(rule), prefix, what);
        }
    }

    let (registry_before, registry_after) = plan_registry_policy(read, &read.registry_policy)?;
    if let Some(policy) = &registry_after {
        let step = Step::PutRegistryPolicy {
            planned_from: registry_before.clone(),
            policy: policy.clone(),
        };
        let what = format!(
            "add statement {} letting omics.amazonaws.com create and import repositories under `{prefix}/` (other statements kept)",
            policy::registry_pull_through_sid(prefix)
        );
        writes.push(step, "registry policy", what);
    }

    let (template_before, template) = plan_template(prefix, &read.templates, &mut notes)?;
    let template_after = template_after_json(prefix, template_before.as_ref(), &template);
    let (created, updated) = (
        matches!(template, TemplatePlan::Create { .. }),
        matches!(template, TemplatePlan::Update { .. }),
    );
    match template {
        TemplatePlan::Keep => {}
        TemplatePlan::Create { policy } => {
            let step = Step::CreateTemplate {
                prefix: prefix.clone(),
                description: format!(
                    "HealthOmics pull access for repositories cached under {prefix}/"
                ),
                applied_for: vec![PULL_THROUGH_CACHE.to_owned()],
                policy,
            };
            let what = format!(
                "create a template for `{prefix}` applied for PULL_THROUGH_CACHE whose repository policy lets omics.amazonaws.com pull"
            );
            writes.push(step, prefix, what);
        }
        TemplatePlan::Update {
            applied_for,
            policy,
            what,
        } => {
            let step = Step::UpdateTemplate {
                prefix: prefix.clone(),
                applied_for,
                policy,
            };
            writes.push(step, prefix, format!("{what} (other settings kept)"));
        }
    }

    let output = CreatePtcOutput {
        success: true,
        dry_run: request.dry_run,
        ecr_repository_prefix: prefix.clone(),
        upstream_registry_url: url.clone(),
        rule: None,
        planned_changes: writes.changes,
        rule_created: read.rule.is_none(),
        secret_created: matches!(secret, SecretPlan::Create { .. }),
        credential_arn,
        registry_policy_updated: registry_after.is_some(),
        registry_policy_before: registry_before.as_ref().map(|d| d.as_value().clone()),
        registry_policy_after: registry_after.as_ref().map(|d| d.as_value().clone()),
        repository_template_created: created,
        repository_template_updated: updated,
        template_before: template_before.as_ref().map(template_json),
        template_after,
        planned_registry_policy: None,
        planned_template: None,
        account_id: read.account_id.clone(),
        region: read.region.clone(),
        credential_validation: None,
        example_image_uri: format!(
            "{}/{prefix}/<repository>:<tag>",
            ecr_registry_host(&read.account_id, &read.region)
        ),
        registry_mapping: RegistryMapping {
            upstream_registry_url: url.to_owned(),
            ecr_repository_prefix: prefix.to_owned(),
            upstream_repository_prefix: None,
            ecr_account_id: None,
            credential_arn: None,
        },
        notes,
        message: String::new(),
    };
    Ok(PtcPlan {
        steps: writes.steps,
        output: if request.dry_run {
            dry_run_output(output)
        } else {
            output
        },
    })
}

/// Checks an existing secret, or that a new one's name is free or already holds the same
/// credentials (the same call made twice, or retried after a partial failure, as its own
/// remediation says, finds the secret it created).
fn plan_secret(
    credential: &CredentialSource,
    read: &SecretRead,
    notes: &mut Vec<String>,
) -> Result<SecretPlan, PtcPlanError> {
    match (credential, read) {
        (CredentialSource::None, _) => Ok(SecretPlan::None),
        (CredentialSource::Existing { arn }, SecretRead::Found { info, .. }) => {
            if !info.name.starts_with(PTC_SECRET_NAME_PREFIX) {
                return Err(PtcPlanError::SecretNotForCache {
                    name: info.name.clone(),
                });
            }
            if info.deleted_date.is_some() {
                return Err(PtcPlanError::SecretDeleted {
                    name: info.name.clone(),
                    arn: arn.clone(),
                });
            }
            Ok(SecretPlan::Use(info.arn.clone()))
        }
        (CredentialSource::Existing { arn }, _) => {
            Err(PtcPlanError::SecretNotFound { arn: arn.clone() })
        }
        (
            CredentialSource::New { secret_name, .. },
            SecretRead::Found {
                info,
                holds_given_credentials,
            },
        ) => {
            if info.deleted_date.is_none() && *holds_given_credentials {
                notes.push(format!(
                    "The secret `{secret_name}` already holds these credentials; it is reused."
                ));
                return Ok(SecretPlan::Use(info.arn.clone()));
            }
            Err(PtcPlanError::SecretTaken {
                name: secret_name.clone(),
                arn: info.arn.clone(),
            })
        }
        (
            CredentialSource::New {
                secret_name,
                username,
            },
            _,
        ) => Ok(SecretPlan::Create {
            name: secret_name.clone(),
            username: username.clone(),
        }),
    }
}

fn check_same_rule(
    rule: &PullThroughCacheRule,
    url: &str,
    credential_arn: Option<&str>,
    upstream_repository_prefix: Option<&str>,
) -> Result<(), PtcPlanError> {
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
    Err(PtcPlanError::RuleDiffers {
        prefix: rule.ecr_repository_prefix.clone(),
        differences,
    })
}

/// The registry policy before, and the one to write (`None`: it already lets HealthOmics create
/// and import under the prefix).
fn plan_registry_policy(
    read: &PtcRead,
    registry: &RegistryPolicyRead,
) -> Result<(Option<PolicyDocument>, Option<PolicyDocument>), PtcPlanError> {
    let before = match registry {
        RegistryPolicyRead::Absent => None,
        RegistryPolicyRead::Present(text) => Some(
            PolicyDocument::parse(text)
                .map_err(|e| PtcPlanError::RegistryPolicyInvalid(e.to_string()))?,
        ),
        RegistryPolicyRead::Unreadable => return Err(PtcPlanError::RegistryPolicyUnreadable),
    };
    let prefix = &read.request.prefix;
    let judge = |doc: Option<&PolicyDocument>| {
        RegistryPolicy::from_document(doc)
            .judge_prefix(&read.partition, &read.region, &read.account_id, prefix)
            .evaluation
    };
    if judge(before.as_ref()).status == AccessStatus::Accessible {
        return Ok((before, None));
    }
    let ours = policy::registry_pull_through_statement(
        &read.partition,
        &read.region,
        &read.account_id,
        prefix,
    );
    let merged = policy::upsert_statements(before.as_ref(), &[ours])
        .map_err(|e| PtcPlanError::Merge(format!("Could not merge the registry policy: {e}")))?;
    let planned = judge(Some(&merged.document));
    if planned.status != AccessStatus::Accessible {
        return Err(PtcPlanError::Blocked {
            what: "registry permissions policy".into(),
            evaluation: planned,
        });
    }
    Ok((before, Some(merged.document)))
}

/// The registry policy to write now.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryWrite {
    pub policy: PolicyDocument,
    /// The policy moved since the plan, so ours was merged again into what is there now.
    pub merged_again: bool,
}

/// The registry policy to write, given what is there `now` (read right before the write): the
/// planned one when nothing moved since the plan, else our statement merged again into what is
/// there now and judged again, so another writer's change is kept rather than overwritten.
pub fn remerge_registry_policy(
    read: &PtcRead,
    now: &RegistryPolicyRead,
    planned_from: Option<&PolicyDocument>,
    planned: &PolicyDocument,
) -> Result<RegistryWrite, PtcPlanError> {
    let (now, merged) = plan_registry_policy(read, now)?;
    if now.as_ref().map(PolicyDocument::as_value) == planned_from.map(PolicyDocument::as_value) {
        return Ok(RegistryWrite {
            policy: planned.clone(),
            merged_again: false,
        });
    }
    // Already granted by the new state: write it back unchanged rather than not at all, so the
    // step's read-back sees our grant either way.
    Ok(RegistryWrite {
        policy: merged.or(now).unwrap_or_else(|| planned.clone()),
        merged_again: true,
    })
}

enum TemplatePlan {
    Keep,
    Create {
        policy: PolicyDocument,
    },
    Update {
        applied_for: Vec<String>,
        policy: PolicyDocument,
        /// What changes, for the planned change's description.
        what: &'static str,
    },
}

/// The template with the cache's prefix as read (`None` when there is none), and what to do
/// with it. ROOT counts when no exact template exists: if it already grants HealthOmics for
/// pull-through repositories, nothing is added.
fn plan_template(
    prefix: &str,
    templates: &[CreationTemplate],
    notes: &mut Vec<String>,
) -> Result<(Option<CreationTemplate>, TemplatePlan), PtcPlanError> {
    let exact = templates.iter().find(|t| t.prefix == prefix).cloned();
    let root = templates.iter().find(|t| t.prefix == ROOT_PREFIX);
    let Some(existing) = exact else {
        if let Some(root) = root {
            let judged = Templates::Read(vec![root.clone()]).judge_prefix(prefix);
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
            .map_err(|e| PtcPlanError::Merge(format!("Could not build the template policy: {e}")))?
            .document;
        return Ok((None, TemplatePlan::Create { policy }));
    };
    let before_policy = existing
        .repository_policy
        .as_deref()
        .map(PolicyDocument::parse)
        .transpose()
        .map_err(|e| PtcPlanError::TemplatePolicyInvalid {
            prefix: prefix.to_owned(),
            why: e.to_string(),
        })?;
    let mut applied_for = existing.applied_for.clone();
    let adds_ptc = !applied_for.iter().any(|a| a == PULL_THROUGH_CACHE);
    if adds_ptc {
        applied_for.push(PULL_THROUGH_CACHE.to_owned());
    }
    let grants = judge_repository_policy(existing.repository_policy.as_deref(), None).evaluation;
    let policy = if grants.status == AccessStatus::Accessible {
        None
    } else {
        let merged = policy::upsert_statements(
            before_policy.as_ref(),
            &[policy::repository_pull_statement()],
        )
        .map_err(|e| PtcPlanError::Merge(format!("Could not merge the template policy: {e}")))?;
        let planned =
            judge_repository_policy(Some(&merged.document.to_json_compact()), None).evaluation;
        if planned.status != AccessStatus::Accessible {
            return Err(PtcPlanError::Blocked {
                what: format!("repository policy of template `{prefix}`"),
                evaluation: planned,
            });
        }
        Some(merged.document)
    };
    let what = match (adds_ptc, policy.is_some()) {
        (false, false) => return Ok((Some(existing), TemplatePlan::Keep)),
        (true, true) => {
            "add PULL_THROUGH_CACHE to appliedFor and merge the HealthOmics pull statement into its policy"
        }
        (true, false) => "add PULL_THROUGH_CACHE to appliedFor",
        (false, true) => "merge the HealthOmics pull statement into its repository policy",
    };
    let policy = policy
        .or(before_policy)
        .unwrap_or_else(PolicyDocument::empty);
    Ok((
        Some(existing),
        TemplatePlan::Update {
            applied_for,
            policy,
            what,
        },
    ))
}

fn template_json(t: &CreationTemplate) -> Value {
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
    before: Option<&CreationTemplate>,
    plan: &TemplatePlan,
) -> Option<Value> {
    match plan {
        TemplatePlan::Keep => before.map(template_json),
        TemplatePlan::Create { policy } => Some(json!({
            "prefix": prefix,
            "appliedFor": [PULL_THROUGH_CACHE],
            "repositoryPolicy": policy.as_value(),
            "imageTagMutability": "MUTABLE",
        })),
        TemplatePlan::Update {
            applied_for,
            policy,
            ..
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

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";
    const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
    const CREATE_SECRET: &str = "secretsmanager:CreateSecret";
    const CREATE_RULE: &str = "ecr:CreatePullThroughCacheRule";
    const PUT_REGISTRY: &str = "ecr:PutRegistryPolicy";
    const CREATE_TEMPLATE: &str = "ecr:CreateRepositoryCreationTemplate";
    const UPDATE_TEMPLATE: &str = "ecr:UpdateRepositoryCreationTemplate";

    fn args(registry: &str) -> PtcArguments<'_> {
        PtcArguments {
            upstream_registry: registry,
            ..PtcArguments::default()
        }
    }

    fn with_token(registry: &str) -> PtcArguments<'_> {
        PtcArguments {
            username: Some("me"),
            access_token: Some("dckr_pat_secret"),
            ..args(registry)
        }
    }

    /// An empty account, read for these arguments.
    fn empty(args: &PtcArguments<'_>) -> PtcRead {
        let request = request(args).unwrap_or_else(|e| panic!("{e}"));
        PtcRead {
            secret: match request.credential {
                CredentialSource::None => SecretRead::NotAsked,
                _ => SecretRead::NotFound,
            },
            request,
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            partition: "aws".into(),
            rule: None,
            registry_policy: RegistryPolicyRead::Absent,
            templates: Vec::new(),
        }
    }

    fn planned(read: &PtcRead) -> PtcPlan {
        plan(read).unwrap_or_else(|e| panic!("{e}: {}", e.remediation()))
    }

    fn refused(read: &PtcRead) -> PtcPlanError {
        match plan(read) {
            Ok(p) => panic!("expected a refusal, got {:?}", p.output.planned_changes),
            Err(e) => e,
        }
    }

    fn actions(plan: &PtcPlan) -> Vec<&'static str> {
        plan.steps.iter().map(Step::action).collect()
    }

    fn secret(name: &str, arn: &str) -> SecretInfo {
        SecretInfo {
            arn: arn.into(),
            name: name.into(),
            deleted_date: None,
            kms_key_id: None,
        }
    }

    fn template(prefix: &str, applied_for: &[&str], policy: Option<String>) -> CreationTemplate {
        CreationTemplate {
            prefix: prefix.into(),
            description: None,
            applied_for: applied_for.iter().map(|a| a.to_string()).collect(),
            repository_policy: policy,
            image_tag_mutability: None,
            custom_role_arn: None,
        }
    }

    fn policy_text(statements: &[Value]) -> String {
        json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
    }

    fn statements(doc: &PolicyDocument) -> Vec<Value> {
        doc.statements().into_iter().cloned().collect()
    }

    /// The account after `plan`'s writes, as the next call reads it.
    fn applied(read: &PtcRead, plan: &PtcPlan) -> PtcRead {
        let mut next = read.clone();
        for step in &plan.steps {
            match step {
                Step::CreateSecret { name, .. } => {
                    next.secret = SecretRead::Found {
                        info: secret(name, SECRET_ARN),
                        holds_given_credentials: true,
                    }
                }
                Step::CreateRule(rule) => {
                    let created_secret = plan
                        .steps
                        .first()
                        .is_some_and(|s| matches!(s, Step::CreateSecret { .. }));
                    next.rule = Some(PullThroughCacheRule {
                        ecr_repository_prefix: rule.prefix.clone(),
                        upstream_registry_url: rule.upstream_registry_url.clone(),
                        upstream_registry: rule.upstream_registry.clone(),
                        credential_arn: rule
                            .credential_arn
                            .clone()
                            .or(created_secret.then(|| SECRET_ARN.to_owned())),
                        custom_role_arn: None,
                        upstream_repository_prefix: rule.upstream_repository_prefix.clone(),
                        registry_id: Some(ACCOUNT.into()),
                        created_at: None,
                        updated_at: None,
                    })
                }
                Step::PutRegistryPolicy { policy, .. } => {
                    next.registry_policy = RegistryPolicyRead::Present(policy.to_json_compact())
                }
                Step::CreateTemplate {
                    prefix,
                    applied_for,
                    policy,
                    ..
                }
                | Step::UpdateTemplate {
                    prefix,
                    applied_for,
                    policy,
                } => {
                    next.templates.retain(|t| &t.prefix != prefix);
                    let applied: Vec<&str> = applied_for.iter().map(String::as_str).collect();
                    next.templates
                        .push(template(prefix, &applied, Some(policy.to_json_compact())));
                }
            }
        }
        next
    }

    /// A cache HealthOmics can use: the empty account after one call.
    fn usable(args: &PtcArguments<'_>) -> PtcRead {
        let read = empty(args);
        applied(&read, &planned(&read))
    }

    #[test]
    fn each_account_state_plans_only_the_missing_writes() {
        let quay = args("quay");
        let hub = with_token("docker-hub");
        let our_grant = Some(policy_text(&[policy::repository_pull_statement()]));
        let cases: Vec<(&str, PtcRead, Vec<&str>)> = vec![
            (
                "empty account",
                empty(&quay),
                vec![CREATE_RULE, PUT_REGISTRY, CREATE_TEMPLATE],
            ),
            (
                "empty account, credentials to store",
                empty(&hub),
                vec![CREATE_SECRET, CREATE_RULE, PUT_REGISTRY, CREATE_TEMPLATE],
            ),
            ("usable cache", usable(&quay), vec![]),
            ("usable cache, same credentials", usable(&hub), vec![]),
            (
                "rule exists, registry policy without our statement",
                PtcRead {
                    registry_policy: RegistryPolicyRead::Absent,
                    ..usable(&quay)
                },
                vec![PUT_REGISTRY],
            ),
            (
                "template missing",
                PtcRead {
                    templates: Vec::new(),
                    ..usable(&quay)
                },
                vec![CREATE_TEMPLATE],
            ),
            (
                "template without the HealthOmics grant",
                PtcRead {
                    templates: vec![template("quay", &[PULL_THROUGH_CACHE], None)],
                    ..usable(&quay)
                },
                vec![UPDATE_TEMPLATE],
            ),
            (
                "template that grants but is not applied for pull-through cache",
                PtcRead {
                    templates: vec![template("quay", &["CREATE_ON_PUSH"], our_grant.clone())],
                    ..usable(&quay)
                },
                vec![UPDATE_TEMPLATE],
            ),
            (
                "only ROOT, and it grants",
                PtcRead {
                    templates: vec![template(ROOT_PREFIX, &[PULL_THROUGH_CACHE], our_grant)],
                    ..usable(&quay)
                },
                vec![],
            ),
            (
                "only ROOT, and it does not grant",
                PtcRead {
                    templates: vec![template(ROOT_PREFIX, &[PULL_THROUGH_CACHE], None)],
                    ..usable(&quay)
                },
                vec![CREATE_TEMPLATE],
            ),
            (
                "the new secret's name holds the same credentials",
                PtcRead {
                    secret: SecretRead::Found {
                        info: secret("ecr-pullthroughcache/docker-hub", SECRET_ARN),
                        holds_given_credentials: true,
                    },
                    ..empty(&hub)
                },
                vec![CREATE_RULE, PUT_REGISTRY, CREATE_TEMPLATE],
            ),
        ];
        for (case, read, expected) in cases {
            let plan = planned(&read);
            assert_eq!(actions(&plan), expected, "{case}");
            let described: Vec<&str> = plan
                .output
                .planned_changes
                .iter()
                .map(|c| c.action.as_str())
                .collect();
            assert_eq!(described, expected, "{case}: one planned change per step");
            assert!(
                plan.output.planned_changes.iter().all(|c| !c.done),
                "{case}"
            );
            let out = &plan.output;
            assert_eq!(out.rule_created, expected.contains(&CREATE_RULE), "{case}");
            assert_eq!(
                out.secret_created,
                expected.contains(&CREATE_SECRET),
                "{case}"
            );
            assert_eq!(
                out.registry_policy_updated,
                expected.contains(&PUT_REGISTRY),
                "{case}"
            );
            assert_eq!(
                out.repository_template_created,
                expected.contains(&CREATE_TEMPLATE),
                "{case}"
            );
            assert_eq!(
                out.repository_template_updated,
                expected.contains(&UPDATE_TEMPLATE),
                "{case}"
            );
        }
    }

    #[test]
    fn a_new_cache_names_its_images_and_map_entry() {
        let plan = planned(&empty(&args("quay")));
        let out = &plan.output;
        assert_eq!(
            out.example_image_uri,
            format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/quay/<repository>:<tag>")
        );
        assert_eq!(
            serde_json::to_value(&out.registry_mapping).ok(),
            Some(json!({ "upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay" }))
        );
        assert!(out.registry_policy_before.is_none() && out.template_before.is_none());
        assert_eq!(
            out.template_after.as_ref().map(|t| t["appliedFor"].clone()),
            Some(json!(["PULL_THROUGH_CACHE"]))
        );
        match plan.steps.get(1) {
            Some(Step::PutRegistryPolicy {
                planned_from: None,
                policy,
            }) => assert_eq!(
                statements(policy)[0]["Resource"],
                json!(format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/quay/*"))
            ),
            other => panic!("expected the registry policy second, got {other:?}"),
        }
    }

    #[test]
    fn foreign_registry_statements_are_kept_untouched() {
        let foreign = [
            json!({"Sid": "Replicate", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
                "Resource": format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*")}),
            json!({"Sid": "NoImportsOfSecrets", "Effect": "Deny",
                "Principal": {"Service": "omics.amazonaws.com"},
                "Action": "ecr:BatchImportUpstreamImage",
                "Resource": format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/secret/*")}),
        ];
        let read = PtcRead {
            registry_policy: RegistryPolicyRead::Present(policy_text(&foreign)),
            ..empty(&args("quay"))
        };
        let plan = planned(&read);
        let Some(Step::PutRegistryPolicy {
            planned_from: Some(before),
            policy,
        }) = plan.steps.get(1)
        else {
            panic!("expected a registry policy write: {:?}", plan.steps);
        };
        assert_eq!(statements(before), foreign);
        let after = statements(policy);
        assert_eq!(
            after[..2],
            foreign,
            "foreign statements first, as they were"
        );
        assert_eq!(
            after[2]["Sid"],
            json!(policy::registry_pull_through_sid("quay"))
        );
        assert_eq!(after.len(), 3);
    }

    #[test]
    fn a_template_keeps_its_foreign_statement_and_settings() {
        let ci_push = json!({"Sid": "CiPush", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "ecr:PutImage"});
        let existing = CreationTemplate {
            description: Some("team template".into()),
            image_tag_mutability: Some("IMMUTABLE".into()),
            ..template(
                "quay",
                &["CREATE_ON_PUSH", "REPLICATION"],
                Some(policy_text(std::slice::from_ref(&ci_push))),
            )
        };
        let read = PtcRead {
            templates: vec![existing],
            ..empty(&args("quay"))
        };
        let plan = planned(&read);
        let Some(Step::UpdateTemplate {
            applied_for,
            policy,
            ..
        }) = plan.steps.last()
        else {
            panic!("expected a template update: {:?}", plan.steps);
        };
        assert_eq!(
            applied_for,
            &["CREATE_ON_PUSH", "REPLICATION", "PULL_THROUGH_CACHE"]
        );
        let after = statements(policy);
        assert_eq!(after[0], ci_push);
        assert_eq!(after[1]["Sid"], json!(policy::REPOSITORY_PULL_SID));
        let change = plan
            .output
            .planned_changes
            .last()
            .map(|c| c.description.as_str());
        assert_eq!(
            change,
            Some(
                "add PULL_THROUGH_CACHE to appliedFor and merge the HealthOmics pull statement into its policy (other settings kept)"
            )
        );
        let out = &plan.output;
        let template_after = out
            .template_after
            .as_ref()
            .unwrap_or_else(|| panic!("after"));
        assert_eq!(template_after["description"], json!("team template"));
        assert_eq!(template_after["imageTagMutability"], json!("IMMUTABLE"));
        assert_eq!(
            out.template_before
                .as_ref()
                .map(|t| t["repositoryPolicy"]["Statement"][0].clone()),
            Some(ci_push)
        );
    }

    #[test]
    fn root_templates_are_explained() {
        let grant = Some(policy_text(&[policy::repository_pull_statement()]));
        let granting = PtcRead {
            templates: vec![template(ROOT_PREFIX, &[PULL_THROUGH_CACHE], grant)],
            ..empty(&args("quay"))
        };
        let plan = planned(&granting);
        assert!(!actions(&plan).contains(&CREATE_TEMPLATE));
        assert!(plan.output.notes[0].contains("ROOT creation template already grants"));
        let not_granting = PtcRead {
            templates: vec![template(ROOT_PREFIX, &[PULL_THROUGH_CACHE], None)],
            ..empty(&args("quay"))
        };
        let plan = planned(&not_granting);
        assert!(actions(&plan).contains(&CREATE_TEMPLATE));
        assert!(plan.output.notes[0].contains("takes precedence over the ROOT template"));
    }

    #[test]
    fn foreign_denies_block_with_nothing_planned() {
        let deny = json!({"Sid": "NoOmics", "Effect": "Deny",
            "Principal": {"Service": "omics.amazonaws.com"}, "Action": "ecr:*", "Resource": "*"});
        let registry = PtcRead {
            registry_policy: RegistryPolicyRead::Present(policy_text(std::slice::from_ref(&deny))),
            ..empty(&args("quay"))
        };
        let err = refused(&registry);
        assert!(
            matches!(&err, PtcPlanError::Blocked { what, .. } if what == "registry permissions policy")
        );
        assert!(
            err.to_string().contains("NoOmics") && err.to_string().contains("Nothing was changed")
        );
        let template = PtcRead {
            templates: vec![template(
                "quay",
                &[PULL_THROUGH_CACHE],
                Some(policy_text(&[deny])),
            )],
            ..usable(&args("quay"))
        };
        assert!(matches!(
            refused(&template),
            PtcPlanError::Blocked { what, .. } if what == "repository policy of template `quay`"
        ));
    }

    #[test]
    fn unreadable_or_invalid_policies_stop_the_plan() {
        let denied = PtcRead {
            registry_policy: RegistryPolicyRead::Unreadable,
            ..empty(&args("quay"))
        };
        assert_eq!(refused(&denied), PtcPlanError::RegistryPolicyUnreadable);
        let invalid = PtcRead {
            registry_policy: RegistryPolicyRead::Present("{not json".into()),
            ..empty(&args("quay"))
        };
        assert!(matches!(
            refused(&invalid),
            PtcPlanError::RegistryPolicyInvalid(_)
        ));
        let invalid_template = PtcRead {
            templates: vec![template("quay", &[], Some("{not json".into()))],
            ..empty(&args("quay"))
        };
        assert!(matches!(
            refused(&invalid_template),
            PtcPlanError::TemplatePolicyInvalid { prefix, .. } if prefix == "quay"
        ));
    }

    #[test]
    fn secrets_are_reused_only_when_they_hold_the_same_credentials() {
        let hub = with_token("docker-hub");
        let name = "ecr-pullthroughcache/docker-hub";
        let same = PtcRead {
            secret: SecretRead::Found {
                info: secret(name, SECRET_ARN),
                holds_given_credentials: true,
            },
            ..empty(&hub)
        };
        let plan = planned(&same);
        assert!(!plan.output.secret_created);
        assert_eq!(plan.output.credential_arn.as_deref(), Some(SECRET_ARN));
        assert!(plan.output.notes[0].contains("already holds these credentials"));
        match plan.steps.first() {
            Some(Step::CreateRule(rule)) => {
                assert_eq!(rule.credential_arn.as_deref(), Some(SECRET_ARN))
            }
            other => panic!("expected the rule first, got {other:?}"),
        }

        let other = PtcRead {
            secret: SecretRead::Found {
                info: secret(name, SECRET_ARN),
                holds_given_credentials: false,
            },
            ..empty(&hub)
        };
        let err = refused(&other);
        assert!(matches!(&err, PtcPlanError::SecretTaken { arn, .. } if arn == SECRET_ARN));
        assert!(err.remediation().contains(SECRET_ARN));

        let deleted = PtcRead {
            secret: SecretRead::Found {
                info: SecretInfo {
                    deleted_date: Some("2024-01-01T00:00:00Z".into()),
                    ..secret(name, SECRET_ARN)
                },
                holds_given_credentials: true,
            },
            ..empty(&hub)
        };
        assert!(matches!(
            refused(&deleted),
            PtcPlanError::SecretTaken { .. }
        ));

        let absent = planned(&empty(&hub));
        assert!(absent.output.secret_created && absent.output.credential_arn.is_none());
        match absent.steps.first() {
            Some(Step::CreateSecret {
                name: n, username, ..
            }) => {
                assert_eq!((n.as_str(), username.as_str()), (name, "me"))
            }
            other => panic!("expected the secret first, got {other:?}"),
        }
    }

    #[test]
    fn an_existing_secret_must_be_a_live_cache_secret() {
        let by_arn = PtcArguments {
            credential_arn: Some(SECRET_ARN),
            ..args("docker-hub")
        };
        let found = |info| PtcRead {
            secret: SecretRead::Found {
                info,
                holds_given_credentials: false,
            },
            ..empty(&by_arn)
        };
        let ok = planned(&found(secret("ecr-pullthroughcache/hub", SECRET_ARN)));
        assert_eq!(ok.output.credential_arn.as_deref(), Some(SECRET_ARN));
        assert!(!ok.output.secret_created && actions(&ok)[0] == CREATE_RULE);
        assert!(matches!(
            refused(&found(secret("dockerhub-creds", SECRET_ARN))),
            PtcPlanError::SecretNotForCache { .. }
        ));
        let deleted = SecretInfo {
            deleted_date: Some("2024-01-01T00:00:00Z".into()),
            ..secret("ecr-pullthroughcache/hub", SECRET_ARN)
        };
        assert!(matches!(
            refused(&found(deleted)),
            PtcPlanError::SecretDeleted { .. }
        ));
        assert_eq!(
            refused(&empty(&by_arn)),
            PtcPlanError::SecretNotFound {
                arn: SECRET_ARN.into()
            }
        );
    }

    #[test]
    fn a_different_rule_under_the_prefix_is_a_conflict() {
        let mut read = usable(&args("ecr-public"));
        if let Some(rule) = read.rule.as_mut() {
            rule.upstream_registry_url = "quay.io".into();
        }
        let err = refused(&read);
        assert!(matches!(&err, PtcPlanError::RuleDiffers { prefix, .. } if prefix == "ecr-public"));
        assert!(
            err.to_string().contains("quay.io") && err.to_string().contains("Nothing was changed")
        );

        let with_arn = PtcArguments {
            credential_arn: Some(SECRET_ARN),
            ..args("docker-hub")
        };
        let found = |arn: &str| SecretRead::Found {
            info: secret("ecr-pullthroughcache/hub", arn),
            holds_given_credentials: false,
        };
        let first = PtcRead {
            secret: found(SECRET_ARN),
            ..empty(&with_arn)
        };
        let mut read = applied(&first, &planned(&first));
        assert!(
            planned(&read).steps.is_empty(),
            "the same secret: the rule is reused"
        );
        read.secret = found(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub-Other",
        );
        assert!(
            matches!(refused(&read), PtcPlanError::RuleDiffers { differences, .. }
            if differences[0].contains("uses the credential"))
        );
    }

    #[test]
    fn a_dry_run_says_what_would_happen_and_nothing_reads_as_done() {
        let dry = PtcArguments {
            dry_run: true,
            ..with_token("github")
        };
        let plan = planned(&empty(&dry));
        assert_eq!(
            plan.steps.len(),
            4,
            "the steps are listed, for the handler not to run"
        );
        let out = serde_json::to_value(&plan.output).unwrap_or_else(|e| panic!("{e}"));
        for flag in [
            "rule_created",
            "secret_created",
            "registry_policy_updated",
            "repository_template_created",
            "repository_template_updated",
        ] {
            assert_eq!(out[flag], json!(false), "{flag}");
        }
        assert!(out.get("registry_policy_after").is_none() && out.get("template_after").is_none());
        assert_eq!(
            out["planned_registry_policy"]["Statement"][0]["Principal"],
            json!({"Service": "omics.amazonaws.com"})
        );
        assert_eq!(
            out["planned_template"]["appliedFor"],
            json!(["PULL_THROUGH_CACHE"])
        );
        assert!(
            out["planned_changes"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c["done"] == json!(false)))
        );
        let message = plan.output.message;
        assert!(
            message.starts_with("Dry run: 4 change(s)") && message.contains("nothing was changed")
        );
    }

    #[test]
    fn the_registry_policy_is_merged_again_when_it_moved() {
        let read = empty(&args("quay"));
        let plan = planned(&read);
        let Some(Step::PutRegistryPolicy {
            planned_from,
            policy: ours,
        }) = plan.steps.get(1)
        else {
            panic!("expected a registry policy write");
        };
        let remerge = |now: &RegistryPolicyRead| {
            remerge_registry_policy(&read, now, planned_from.as_ref(), ours)
        };
        // Nothing moved: the planned policy as is.
        assert_eq!(
            remerge(&RegistryPolicyRead::Absent),
            Ok(RegistryWrite {
                policy: ours.clone(),
                merged_again: false
            })
        );
        // Another writer added a statement: ours is merged into theirs.
        let theirs = json!({"Sid": "Theirs", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "ecr:ReplicateImage", "Resource": "*"});
        let moved = RegistryPolicyRead::Present(policy_text(std::slice::from_ref(&theirs)));
        let write = remerge(&moved).unwrap_or_else(|e| panic!("{e}"));
        assert!(write.merged_again);
        let merged = statements(&write.policy);
        assert_eq!(merged[0], theirs);
        assert_eq!(merged[1], statements(ours)[0]);
        // Someone granted it meanwhile: what is there is written back unchanged.
        let granted = RegistryPolicyRead::Present(ours.to_json_compact());
        let write = remerge(&granted).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(write.policy.as_value(), ours.as_value());
        assert_eq!(
            remerge(&RegistryPolicyRead::Unreadable),
            Err(PtcPlanError::RegistryPolicyUnreadable)
        );
    }

    #[test]
    fn progress_and_failure_wording_name_what_was_done_and_the_secret_to_reuse() {
        let mut out = planned(&empty(&with_token("github"))).output;
        let (message, _) = out.failure_wording(0, "denied", "Allow it.");
        assert!(message.ends_with("Already done: nothing."), "{message}");
        out.planned_changes[0].done = true;
        out.credential_arn = Some(SECRET_ARN.into());
        let (message, remediation) = out.failure_wording(1, "denied", "Allow it.");
        assert!(
            message.starts_with("Failed to create the rule caching `ghcr.io`"),
            "{message}"
        );
        assert!(message.contains("Already done: store the upstream credentials"));
        assert!(
            remediation
                .starts_with("Allow it. Then run CreatePullThroughCacheForHealthOmics again")
        );
        assert!(remediation.contains(&format!("pass credential_arn \"{SECRET_ARN}\"")));
        let progress = out.progress();
        assert_eq!(progress["completed"].as_array().map(Vec::len), Some(1));
        assert_eq!(progress["remaining"].as_array().map(Vec::len), Some(3));
        assert_eq!(progress["credential_arn"], json!(SECRET_ARN));
    }

    #[test]
    fn sized_results_leave_the_documents_to_detail() {
        let with_documents = || {
            let mut out = planned(&empty(&with_token("github"))).output;
            out.registry_policy_before = Some(json!({"Version": "2012-10-17", "Statement": []}));
            out.template_after = Some(json!({"prefix": "github"}));
            out
        };
        let compact = with_documents().sized(false);
        assert!(compact.registry_policy_before.is_none() && compact.template_after.is_none());
        // A plan not carried out yet keeps its calls whatever the detail.
        let mut dry = with_documents();
        dry.dry_run = true;
        assert!(!dry.sized(false).planned_changes.is_empty());
        let full = with_documents().sized(true);
        assert!(full.registry_policy_before.is_some() && full.template_after.is_some());
    }

    #[test]
    fn a_ready_cache_says_so_and_flags_invalid_credentials() {
        let mut out = planned(&empty(&with_token("github"))).output;
        out.planned_changes.iter_mut().for_each(|c| c.done = true);
        out.credential_validation = Some(CredentialValidation {
            is_valid: false,
            failure: Some("bad token".into()),
        });
        let judged = crate::core::plan::fixtures::cache("github", "ghcr.io", true);
        out.ready(crate::core::plan::rule_entry::rule_entry(judged));
        assert!(out.rule.as_ref().is_some_and(|r| r.healthomics_usable));
        assert!(
            out.message
                .contains("ready for HealthOmics (4 change(s) made"),
            "{}",
            out.message
        );
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("credentials as invalid"))
        );
        let mut again = planned(&empty(&with_token("github"))).output;
        again.ready(crate::core::plan::rule_entry::rule_entry(
            crate::core::plan::fixtures::cache("github", "ghcr.io", true),
        ));
        assert!(
            again.message.contains("it already was; nothing changed"),
            "{}",
            again.message
        );
        out.credentials_not_validated("throttled");
        assert_eq!(
            out.notes.last().map(String::as_str),
            Some("The credentials were not validated: throttled.")
        );
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
            assert!(registry_info(name).is_ok(), "{name}");
        }
        let err = registry_info("wave")
            .err()
            .map(|e| e.remediation())
            .unwrap_or_default();
        assert!(err.contains("credentialArn"), "{err}");
        assert!(registry_info("harbor").is_err());
    }

    #[test]
    fn azure_needs_its_own_host() {
        let azure = registry_info("azure").unwrap_or_else(|e| panic!("{e}"));
        assert!(upstream_url(azure, None).is_err());
        assert_eq!(
            upstream_url(azure, Some("myreg.azurecr.io"))
                .ok()
                .as_deref(),
            Some("myreg.azurecr.io")
        );
        assert!(upstream_url(azure, Some("https://myreg.azurecr.io")).is_err());
        let quay = registry_info("quay").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(upstream_url(quay, None).ok().as_deref(), Some("quay.io"));
        assert!(upstream_url(quay, Some("ghcr.io")).is_err());
    }

    #[test]
    fn credentials_rules() {
        let hub = registry_info("docker-hub").unwrap_or_else(|e| panic!("{e}"));
        assert!(credential(&args("docker-hub"), hub, "docker-hub").is_err());
        let given = with_token("docker-hub");
        assert_eq!(
            credential(&given, hub, "docker-hub"),
            Ok(CredentialSource::New {
                secret_name: "ecr-pullthroughcache/docker-hub".into(),
                username: "me".into()
            })
        );
        let both = PtcArguments {
            credential_arn: Some(SECRET_ARN),
            ..given
        };
        assert!(credential(&both, hub, "docker-hub").is_err());
        let half = PtcArguments {
            access_token: None,
            ..given
        };
        assert!(credential(&half, hub, "docker-hub").is_err());
        assert!(!format!("{:?}", request(&given)).contains("dckr_pat_secret"));
    }

    #[test]
    fn prefixes_are_checked_and_defaulted() {
        let quay = request(&args("quay")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(quay.prefix, "quay");
        let bad = PtcArguments {
            ecr_repository_prefix: Some("Bad Prefix!"),
            ..args("quay")
        };
        assert!(matches!(request(&bad), Err(PtcPlanError::Input { .. })));
        let bad_upstream = PtcArguments {
            upstream_repository_prefix: Some("Bad Prefix!"),
            ..args("quay")
        };
        let err = request(&bad_upstream)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("upstream_repository_prefix"), "{err}");
    }
}
