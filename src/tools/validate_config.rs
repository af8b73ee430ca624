//! `ValidateHealthOmicsECRConfig`: audit a region's ECR setup for HealthOmics and say exactly
//! how to fix each problem.

use std::collections::BTreeSet;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::account_reads;
use crate::aws::{AwsClients, AwsErrorKind, ecr, omics, secrets};
use crate::core::account;
use crate::core::findings::SuggestedCall;
use crate::core::image_ref::{ContainerRegistryMap, RegistryMapping};
use crate::core::inputs;
use crate::core::plan::map_destinations;
use crate::core::plan::run_role;
use crate::core::policy::{self, AccessStatus, PolicyDocument};
use crate::core::registries::{self, AccessPath, PTC_SECRET_NAME_PREFIX};
use crate::core::registry_map::Fix;
use crate::core::registry_map::{self, CacheMapping, MapContext};
use crate::core::tool_names::ToolName;
use crate::core::verdicts::{self, RegistryPolicy, RuleJudgement};
use crate::error::ToolError;
use crate::server::HealthOmicsEcrServer;

tool_params! {
    #[derive(Debug)]
    pub struct ValidateParams {
        /// Also check every repository already created under each cache prefix (templates apply
        /// only when a repository is created, so older ones may still lack the grant). Default true.
        #[serde(default = "default_true")]
        pub check_repositories: bool,
        /// Also check this HealthOmics workflow's container registry map (exact hosts, required
        /// fields, credential secrets, templates for copy prefixes).
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_id: Option<String>,
        /// Also check this container registry map (the HealthOmics API shape:
        /// registryMappings, imageMappings).
        #[serde(default)]
        pub container_registry_map: Option<ContainerRegistryMap>,
    }
}

fn default_true() -> bool {
    true
}

pub use crate::core::findings::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    RegistryPolicy,
    RepositoryTemplate,
    PullThroughCache,
    Credential,
    Repository,
    Permissions,
    /// A container registry map (given, or a workflow's).
    RegistryMap,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ValidationIssue {
    pub severity: Severity,
    pub component: Component,
    pub message: String,
    /// What to do, in words; `fix_tool_call` or `fix_policy` give the exact change.
    pub remediation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_tool_call: Option<SuggestedCall>,
    /// The complete policy document to put in place (existing statements kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_policy: Option<Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ValidateOutput {
    /// The account this call read (absent when it could not be asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// No issue of severity `error`.
    pub valid: bool,
    pub issues: Vec<ValidationIssue>,
    pub pull_through_caches_checked: usize,
    pub repositories_checked: usize,
    pub region: String,
    /// The identity policy the HealthOmics run (service) role needs to pull from the caches
    /// found (seed guide step 9); absent when there are no caches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_role_policy: Option<Value>,
}

#[tool_router(router = validate_config_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Audit a region's ECR setup for AWS HealthOmics: every pull-through cache rule (is the
    /// upstream supported, does its credential secret exist with the ecr-pullthroughcache/
    /// prefix), the registry policy for each cache prefix, the repository creation templates,
    /// and the repositories already created under each prefix. Returns issues with severity
    /// (error: HealthOmics will fail; warning: risky or unverifiable; info), each with an exact
    /// fix (a tool call or the full policy JSON), and the IAM policy the HealthOmics run role
    /// needs. Read-only; start here when setting up or troubleshooting.
    #[tool(
        name = "ValidateHealthOmicsECRConfig",
        title = "Validate ECR configuration for HealthOmics",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn validate_healthomics_ecr_config(
        &self,
        Parameters(params): Parameters<ValidateParams>,
    ) -> Result<Json<ValidateOutput>, ToolError> {
        if let Some(id) = &params.workflow_id {
            inputs::check_workflow_id(id)?;
        }
        let clients = self.clients_for(&params).await?;
        let mut issues = Vec::new();
        let region = clients.region.clone();
        let mut caches = audit_caches(&clients, &mut issues).await;
        let repositories = if params.check_repositories {
            repository_issues(&clients, &caches.prefixes, &mut issues).await
        } else {
            RepositoryAudit::default()
        };
        caches.repositories_checked = repositories.cached_checked;
        let map = match (&params.container_registry_map, &params.workflow_id) {
            (Some(map), _) => Some(("container_registry_map".to_owned(), map.clone())),
            (None, Some(id)) => workflow_map(&clients, id, &mut issues).await,
            (None, None) => None,
        };
        if let Some((source, map)) = &map {
            map_issues(&clients, source, map, caches.usable.clone(), &mut issues).await;
        }
        // 3. The run role needs the pull actions on every repository a run pulls: cache
        // prefixes, image-mapping destinations, and copied repositories HealthOmics may read.
        let account = match caches.account.clone() {
            Some(account) => account,
            None => clients.account_id().await.unwrap_or_default(),
        };
        let role_repositories = run_role::run_role_repositories(
            &account,
            &region,
            &caches.prefixes,
            map.as_ref().map(|(_, m)| m),
            &repositories.accessible_outside_caches,
        );
        let role_policy = run_role::run_role_policy(
            clients.arn_partition(),
            &region,
            &account,
            &caches.prefixes,
            &role_repositories,
        );
        let mut output = finish(
            issues,
            caches.prefixes.len(),
            caches.repositories_checked,
            region,
            role_policy,
        );
        output.account_id = clients.account_id().await.ok();
        Ok(Json(output))
    }
}

/// What the cache audit found, for the map checks and the run-role policy.
struct CacheAudit {
    prefixes: Vec<String>,
    /// `None` when the rules could not be read.
    usable: Option<Vec<CacheMapping>>,
    repositories_checked: usize,
    account: Option<String>,
}

/// Rules (all pages), registry policy per prefix, templates, credentials, cached repositories.
async fn audit_caches(clients: &AwsClients, issues: &mut Vec<ValidationIssue>) -> CacheAudit {
    let region = &clients.region;
    let mut audit = CacheAudit {
        prefixes: Vec::new(),
        usable: None,
        repositories_checked: 0,
        account: None,
    };
    let rules = match ecr::all_pull_through_cache_rules(&clients.ecr).await {
        Ok(rules) => rules,
        Err(err) => {
            issues.push(permission_issue(
                &err.into(),
                "the pull-through cache rules could not be read, so they were not checked",
            ));
            return audit;
        }
    };
    if rules.is_empty() {
        issues.push(ValidationIssue {
            severity: Severity::Info,
            component: Component::PullThroughCache,
            message: format!("No pull-through cache rules in {region}."),
            remediation: "Create one per upstream registry your workflows use (e.g. quay, docker-hub, ecr-public) with \
                          CreatePullThroughCacheForHealthOmics."
                .into(),
            prefix: None,
            repository_name: None,
            fix_tool_call: None,
            fix_policy: None,
        });
        audit.usable = Some(Vec::new());
        return audit;
    }
    let account = clients
        .account_id()
        .await
        .ok()
        .or_else(|| rules.iter().find_map(|r| r.registry_id.clone()))
        .unwrap_or_default();
    let (registry, judged) = account_reads::judge_rules(clients, rules).await;
    for j in &judged {
        upstream_issues(j, issues);
        registry_issues(j, &registry, clients, &account, issues);
        let first_new = issues.len();
        template_issues(j, issues);
        for issue in issues[first_new..]
            .iter_mut()
            .filter(|i| i.severity != Severity::Info)
        {
            issue.fix_tool_call = ptc_fix_call(j, region);
        }
    }
    // Credentials (metadata only; secret values are never read).
    for j in &judged {
        credential_issues(clients, j, issues).await;
    }
    audit.prefixes = judged
        .iter()
        .map(|j| j.rule.ecr_repository_prefix.clone())
        .collect();
    audit.usable = Some(
        judged
            .iter()
            .filter(|j| j.usable())
            .map(|j| CacheMapping {
                upstream_registry_url: j.rule.upstream_registry_url.clone(),
                ecr_repository_prefix: j.rule.ecr_repository_prefix.clone(),
                upstream_repository_prefix: j.rule.upstream_repository_prefix.clone(),
            })
            .collect(),
    );
    audit.account = Some(account);
    audit
}

/// The map of a HealthOmics workflow; a failure to read it is an issue, not a tool error.
async fn workflow_map(
    clients: &AwsClients,
    id: &str,
    issues: &mut Vec<ValidationIssue>,
) -> Option<(String, ContainerRegistryMap)> {
    let source = format!("workflow {id}");
    let mut problem = |severity, message: String, remediation: String| {
        issues.push(ValidationIssue {
            severity,
            component: Component::RegistryMap,
            message,
            remediation,
            prefix: None,
            repository_name: None,
            fix_tool_call: None,
            fix_policy: None,
        })
    };
    match omics::workflow(&clients.omics, id.trim(), false).await {
        Ok(workflow) => match workflow.container_registry_map {
            Some(map) => Some((source, map)),
            None => {
                problem(
                    Severity::Info,
                    format!("Workflow {id} has no container registry map: its images must be named by their private ECR URIs."),
                    "To run it with public image URIs, create a workflow version with a map from CreateContainerRegistryMap.".into(),
                );
                None
            }
        },
        Err(err) if err.kind == AwsErrorKind::NotFound => {
            problem(
                Severity::Error,
                format!(
                    "HealthOmics workflow `{id}` does not exist in {}.",
                    clients.region
                ),
                "Check the workflow id and the region.".into(),
            );
            None
        }
        Err(err) => {
            issues.push(permission_issue(
                &err.into(),
                "the workflow's container registry map was not checked",
            ));
            None
        }
    }
}

/// The map's shape and rules (core::registry_map), its credential secrets, and the templates for
/// prefixes HealthOmics copies into.
async fn map_issues(
    clients: &AwsClients,
    source: &str,
    map: &ContainerRegistryMap,
    usable: Option<Vec<CacheMapping>>,
    issues: &mut Vec<ValidationIssue>,
) {
    let ctx = MapContext {
        caller_account_id: clients.account_id().await.ok(),
        region: clients.region.clone(),
        usable_caches: usable,
    };
    for finding in registry_map::check_map(map, &ctx) {
        let severity = finding.severity;
        issues.push(ValidationIssue {
            severity,
            component: Component::RegistryMap,
            message: format!("{source}: {}: {}", finding.field, finding.message),
            remediation: finding
                .suggestion
                .map(|s| format!("Write `{s}` instead."))
                .unwrap_or_else(|| "Correct the field as described, then create a new workflow version with the map.".into()),
            prefix: None,
            repository_name: None,
            fix_tool_call: None,
            fix_policy: None,
        });
    }
    destination_issues(
        clients,
        source,
        map,
        ctx.caller_account_id.as_deref(),
        issues,
    )
    .await;
    let copy_mappings: Vec<&RegistryMapping> = map
        .registry_mappings
        .iter()
        .filter(|m| {
            registries::classify_host(&m.upstream_registry_url).access_path
                == AccessPath::HealthOmicsCopy
        })
        .collect();
    let mut push = |severity, component, prefix: &str, message: String, remediation: String| {
        issues.push(issue(severity, component, prefix, message, remediation));
    };
    for mapping in &copy_mappings {
        let prefix = &mapping.ecr_repository_prefix;
        let Some(arn) = &mapping.credential_arn else {
            continue;
        };
        match secrets::describe_secret(&clients.secrets, arn).await {
            Ok(secret) if secret.deleted_date.is_some() => push(Severity::Error, Component::Credential, prefix,
                format!("{source}: the secret `{}` for `{}` is scheduled for deletion.", secret.name, mapping.upstream_registry_url),
                format!("Restore it: `aws secretsmanager restore-secret --secret-id {arn}`.")),
            Ok(_) => {}
            Err(err) if err.kind == AwsErrorKind::NotFound => push(Severity::Error, Component::Credential, prefix,
                format!("{source}: the secret `{arn}` for `{}` does not exist.", mapping.upstream_registry_url),
                "Create it with the registry's username and token, and let the run role read it (secretsmanager:GetSecretValue).".into()),
            Err(err) => push(Severity::Warning, Component::Credential, prefix,
                format!("{source}: the secret `{arn}` could not be checked: {err}."),
                format!("Allow `{}` to verify it.", err.action)),
        }
    }
    // Copied repositories are created by HealthOmics under the prefix; a template that grants
    // HealthOmics pull access is the likely requirement (not yet confirmed by AWS docs: warnings).
    let prefixes: Vec<String> = copy_mappings
        .iter()
        .map(|m| m.ecr_repository_prefix.clone())
        .collect();
    if prefixes.is_empty() {
        return;
    }
    let templates = account_reads::read_templates(clients, &prefixes).await;
    for prefix in &prefixes {
        let judged = templates.judge_prefix(prefix);
        let message = match (&judged.template, judged.judged.evaluation.status) {
            (_, _) if judged.judged.problem.is_some() && judged.template.is_none() => {
                format!(
                    "templates for copy prefix `{prefix}` could not be read: {}",
                    judged.judged.problem.clone().unwrap_or_default()
                )
            }
            (None, _) => {
                format!("no repository creation template covers the copy prefix `{prefix}`")
            }
            (Some(t), _) if !t.applied_for.iter().any(|a| a == "CREATE_ON_PUSH") => {
                format!(
                    "the template `{}` for copy prefix `{prefix}` is not applied for CREATE_ON_PUSH",
                    t.prefix
                )
            }
            (Some(_), AccessStatus::Accessible) => continue,
            (Some(t), _) => format!(
                "the template `{}` for copy prefix `{prefix}` does not let omics.amazonaws.com pull",
                t.prefix
            ),
        };
        push(
            Severity::Warning,
            Component::RepositoryTemplate,
            prefix,
            format!(
                "{source}: {message}. HealthOmics copies images into `{prefix}/…`; whether it needs such a template is not yet confirmed by AWS."
            ),
            format!(
                "To be safe, create a template with prefix `{prefix}`, appliedFor CREATE_ON_PUSH, and a repository policy granting omics.amazonaws.com the pull actions."
            ),
        );
    }
}

fn finish(
    mut issues: Vec<ValidationIssue>,
    caches: usize,
    repositories: usize,
    region: String,
    service_role_policy: Option<Value>,
) -> ValidateOutput {
    let valid = !issues.iter().any(|i| i.severity == Severity::Error);
    if valid && caches > 0 {
        issues.push(ValidationIssue {
            severity: Severity::Info,
            component: Component::PullThroughCache,
            message: format!(
                "ECR is ready for HealthOmics: {caches} pull-through cache rule(s) and {repositories} cached repositories checked."
            ),
            remediation: "No change needed. Give the HealthOmics run role `service_role_policy`.".into(),
            prefix: None,
            repository_name: None,
            fix_tool_call: None,
            fix_policy: None,
        });
    }
    ValidateOutput {
        account_id: None,
        valid,
        issues,
        pull_through_caches_checked: caches,
        repositories_checked: repositories,
        region,
        service_role_policy,
    }
}

fn issue(
    severity: Severity,
    component: Component,
    prefix: &str,
    message: String,
    remediation: String,
) -> ValidationIssue {
    ValidationIssue {
        severity,
        component,
        message,
        remediation,
        prefix: Some(prefix.to_owned()),
        repository_name: None,
        fix_tool_call: None,
        fix_policy: None,
    }
}

/// The CreatePullThroughCacheForHealthOmics call that completes a rule's setup: it reuses the
/// rule and merges the registry policy and template.
fn ptc_fix_call(j: &RuleJudgement, region: &str) -> Option<SuggestedCall> {
    let class = registries::classify_host(&j.rule.upstream_registry_url);
    let info = class
        .info()
        .filter(|i| i.access_path == AccessPath::PullThroughCache)?;
    let mut arguments = json!({
        "upstream_registry": info.name,
        "ecr_repository_prefix": j.rule.ecr_repository_prefix,
        "aws_region": region,
    });
    if info.upstream_url.is_none() {
        arguments["upstream_registry_url"] = json!(j.rule.upstream_registry_url);
    }
    if let Some(arn) = &j.rule.credential_arn {
        arguments["credential_arn"] = json!(arn);
    }
    Some(SuggestedCall::new(ToolName::CreatePtc, arguments))
}

fn permission_issue(err: &verdicts::Unreadable, consequence: &str) -> ValidationIssue {
    let (severity, remediation) = match err.kind {
        AwsErrorKind::AccessDenied => (
            Severity::Error,
            format!(
                "Allow `{}` for the identity this server uses, then validate again.",
                err.action
            ),
        ),
        _ => (
            Severity::Error,
            "Retry; if it persists, check the AWS message.".to_owned(),
        ),
    };
    ValidationIssue {
        severity,
        component: Component::Permissions,
        message: format!("{err}; {consequence}."),
        remediation,
        prefix: None,
        repository_name: None,
        fix_tool_call: None,
        fix_policy: None,
    }
}

fn upstream_issues(j: &RuleJudgement, issues: &mut Vec<ValidationIssue>) {
    let prefix = &j.rule.ecr_repository_prefix;
    let url = &j.rule.upstream_registry_url;
    let remediation = match j.upstream_path {
        AccessPath::PullThroughCache => return,
        AccessPath::HealthOmicsCopy => format!(
            "HealthOmics copies images from `{url}` itself: add a registry mapping with a credentialArn for it to the \
             workflow's container registry map instead of a pull-through cache."
        ),
        AccessPath::PrivateEcr => "HealthOmics does not support pull-through cache from a private ECR upstream; \
                                   grant HealthOmics access on the source repositories or copy the images with CloneContainerToECR."
            .to_owned(),
        AccessPath::Unsupported => format!(
            "Copy the images from `{url}` into ECR with CloneContainerToECR and reference them by their ECR URI or an image mapping."
        ),
    };
    issues.push(issue(
        Severity::Error,
        Component::PullThroughCache,
        prefix,
        format!("Rule `{prefix}` caches `{url}`, which HealthOmics does not support as a pull-through cache upstream."),
        remediation,
    ));
}

fn registry_issues(
    j: &RuleJudgement,
    registry: &RegistryPolicy,
    clients: &AwsClients,
    account: &str,
    issues: &mut Vec<ValidationIssue>,
) {
    let prefix = &j.rule.ecr_repository_prefix;
    if let RegistryPolicy::Unreadable(err) = registry {
        // Reported once for all prefixes: a denied read is a permissions problem, not "no policy".
        if !issues.iter().any(|i| {
            i.component == Component::Permissions && i.message.contains(err.action.as_str())
        }) {
            issues.push(permission_issue(
                err,
                "the registry policy could not be checked",
            ));
        }
        return;
    }
    let eval = &j.registry.evaluation;
    let (severity, what) = match eval.status {
        AccessStatus::Accessible => return,
        AccessStatus::Conditional => (
            Severity::Warning,
            "grants HealthOmics only under conditions it may not meet",
        ),
        AccessStatus::Unknown => (Severity::Error, "could not be evaluated"),
        AccessStatus::NotAccessible if !eval.denied_actions().is_empty() => {
            (Severity::Error, "explicitly denies HealthOmics")
        }
        AccessStatus::NotAccessible if matches!(registry, RegistryPolicy::Absent) => (
            Severity::Error,
            "does not exist, so it cannot allow HealthOmics",
        ),
        AccessStatus::NotAccessible => (Severity::Error, "does not allow HealthOmics"),
    };
    let detail: Vec<String> = eval
        .actions
        .iter()
        .filter(|a| a.verdict != policy::Verdict::Allowed)
        .map(|a| format!("{}: {}", a.action, a.reason))
        .collect();
    let mut found = issue(
        severity,
        Component::RegistryPolicy,
        prefix,
        format!(
            "The registry permissions policy {what} ecr:CreateRepository and ecr:BatchImportUpstreamImage on `{prefix}/*` ({}).{}",
            detail.join("; "),
            j.registry.problem.as_ref().map(|p| format!(" {p}.")).unwrap_or_default()
        ),
        "Run `fix_tool_call`, or put `fix_policy` as the registry policy (it adds one statement scoped to this prefix \
         and keeps every existing one), e.g. `aws ecr put-registry-policy --policy-text file://policy.json`."
            .into(),
    );
    found.fix_tool_call = ptc_fix_call(j, &clients.region);
    let existing = match registry {
        RegistryPolicy::Present { text } => PolicyDocument::parse(text).ok(),
        _ => None,
    };
    if matches!(registry, RegistryPolicy::Absent) || existing.is_some() {
        let ours = policy::registry_pull_through_statement(
            clients.arn_partition(),
            &clients.region,
            account,
            prefix,
        );
        if let Ok(merged) = policy::upsert_statements(existing.as_ref(), &[ours]) {
            found.fix_policy = Some(merged.document.as_value().clone());
        }
    }
    issues.push(found);
}

fn template_issues(j: &RuleJudgement, issues: &mut Vec<ValidationIssue>) {
    let prefix = &j.rule.ecr_repository_prefix;
    let t = &j.template;
    if let Some(problem) = t.judged.problem.as_ref().filter(|_| t.template.is_none()) {
        issues.push(issue(
            Severity::Error,
            Component::Permissions,
            prefix,
            format!("Repository creation templates {problem}."),
            "Allow `ecr:DescribeRepositoryCreationTemplates`, then validate again.".into(),
        ));
        return;
    }
    let template_fix = |existing: Option<&str>| -> Option<Value> {
        let existing = existing.map(PolicyDocument::parse).transpose().ok()?;
        policy::upsert_statements(existing.as_ref(), &[policy::repository_pull_statement()])
            .ok()
            .map(|m| m.document.as_value().clone())
    };
    let Some(template) = &t.template else {
        let mut found = issue(
            Severity::Error,
            Component::RepositoryTemplate,
            prefix,
            format!(
                "No repository creation template applies to cache prefix `{prefix}` (upstream {}), so repositories it creates do not let HealthOmics pull.",
                j.rule.upstream_registry_url
            ),
            format!(
                "Create a template with prefix `{prefix}`, appliedFor PULL_THROUGH_CACHE and `fix_policy` as its repository policy."
            ),
        );
        found.fix_policy = template_fix(None);
        issues.push(found);
        return;
    };
    if t.from_root {
        issues.push(issue(Severity::Info, Component::RepositoryTemplate, prefix,
            format!("Cache prefix `{prefix}` has no template of its own; ECR applies the ROOT template."),
            format!("Nothing to do if the ROOT template suits; a template with prefix `{prefix}` would take precedence.")));
    }
    if !t.applies_to_pull_through_cache {
        issues.push(issue(Severity::Error, Component::RepositoryTemplate, prefix,
            format!("The repository creation template `{}` is applied for {:?} but not PULL_THROUGH_CACHE, so cache repositories do not get its policy.", template.prefix, template.applied_for),
            format!("Add PULL_THROUGH_CACHE to the appliedFor of template `{}` (keep the existing values).", template.prefix)));
    }
    match template.repository_policy.as_deref() {
        None => {
            let mut found = issue(
                Severity::Error,
                Component::RepositoryTemplate,
                prefix,
                format!(
                    "The repository creation template `{}` has no repository policy, so cache repositories do not let HealthOmics pull.",
                    template.prefix
                ),
                format!(
                    "Set `fix_policy` as the repository policy of template `{}`.",
                    template.prefix
                ),
            );
            found.fix_policy = template_fix(None);
            issues.push(found);
        }
        Some(text) => {
            let eval = &t.judged.evaluation;
            if eval.status == AccessStatus::Accessible {
                return;
            }
            let missing = eval.missing_actions();
            let only_layer_check = missing == ["ecr:BatchCheckLayerAvailability"];
            let severity = if eval.status == AccessStatus::Conditional || only_layer_check {
                Severity::Warning
            } else {
                Severity::Error
            };
            let mut found = issue(
                severity,
                Component::RepositoryTemplate,
                prefix,
                format!(
                    "The repository policy of template `{}` does not allow omics.amazonaws.com {}.{}",
                    template.prefix,
                    missing.join(", "),
                    t.judged
                        .problem
                        .as_ref()
                        .map(|p| format!(" {p}."))
                        .unwrap_or_default()
                ),
                "Set `fix_policy` as the template's repository policy (existing statements kept). Repositories created earlier keep their old policy: fix them with GrantHealthOmicsRepositoryAccess.".to_owned(),
            );
            found.fix_policy = template_fix(Some(text));
            issues.push(found);
        }
    }
}

async fn credential_issues(
    clients: &AwsClients,
    j: &RuleJudgement,
    issues: &mut Vec<ValidationIssue>,
) {
    let prefix = &j.rule.ecr_repository_prefix;
    let host = registries::classify_host(&j.rule.upstream_registry_url);
    let needs = host.access_path == AccessPath::PullThroughCache
        && host.info().is_some_and(|i| i.credentials_required);
    let Some(arn) = &j.rule.credential_arn else {
        if needs {
            issues.push(issue(Severity::Error, Component::Credential, prefix,
                format!("Rule `{prefix}` has no credential, but `{}` requires one for pull-through cache.", j.rule.upstream_registry_url),
                format!("Store the registry credentials in a Secrets Manager secret named `{PTC_SECRET_NAME_PREFIX}<name>` and recreate the rule with it.")));
        }
        return;
    };
    match secrets::describe_secret(&clients.secrets, arn).await {
        Ok(secret) if secret.deleted_date.is_some() => issues.push(issue(Severity::Error, Component::Credential, prefix,
            format!("The credential secret `{}` of rule `{prefix}` is scheduled for deletion.", secret.name),
            format!("Restore it (`aws secretsmanager restore-secret --secret-id {arn}`) or point the rule at another secret."))),
        Ok(secret) if !secret.name.starts_with(PTC_SECRET_NAME_PREFIX) => issues.push(issue(Severity::Error, Component::Credential, prefix,
            format!("The credential secret `{}` of rule `{prefix}` lacks the `{PTC_SECRET_NAME_PREFIX}` name prefix ECR requires.", secret.name),
            format!("Create a secret named `{PTC_SECRET_NAME_PREFIX}{}` with the same content and update the rule to use it.", secret.name))),
        Ok(_) => {}
        Err(err) if err.kind == AwsErrorKind::NotFound => issues.push(issue(Severity::Error, Component::Credential, prefix,
            format!("The credential secret `{arn}` of rule `{prefix}` does not exist."),
            format!("Create the secret `{PTC_SECRET_NAME_PREFIX}…` with JSON keys username and accessToken, then update the rule."))),
        Err(err) => issues.push(issue(Severity::Warning, Component::Credential, prefix,
            format!("The credential secret of rule `{prefix}` could not be checked: {err}."),
            format!("Allow `{}` on `{arn}` to verify it.", err.action))),
    }
}

/// Checks every repository under the cache prefixes; returns how many were checked.
/// Each image mapping's destination is read: it must exist, hold the image and let HealthOmics
/// pull, or the mapping covers nothing.
async fn destination_issues(
    clients: &AwsClients,
    source: &str,
    map: &ContainerRegistryMap,
    account: Option<&str>,
    issues: &mut Vec<ValidationIssue>,
) {
    let Some(account) = account else {
        return;
    };
    for (_, problem) in account_reads::destination_problems(clients, map, account).await {
        // The same call the map's coverage suggests for this destination.
        let fix_tool_call = problem.fix.as_ref().and_then(|fix| {
            match map_destinations::fix_call(fix, &clients.region) {
                Fix::Tool {
                    tool, arguments, ..
                } => ToolName::ALL
                    .into_iter()
                    .find(|t| t.name() == tool)
                    .map(|t| SuggestedCall::new(t, Value::Object(arguments))),
                Fix::Edit { .. } => None,
            }
        });
        issues.push(ValidationIssue {
            severity: if problem.blocks_runs {
                Severity::Error
            } else {
                Severity::Warning
            },
            component: Component::RegistryMap,
            message: format!("{source}: imageMappings: {}", problem.message),
            remediation: problem.remediation,
            prefix: None,
            repository_name: None,
            fix_tool_call,
            fix_policy: None,
        });
    }
}

/// What the repository check found beyond its issues.
#[derive(Debug, Default)]
struct RepositoryAudit {
    /// Repositories under a cache prefix whose policy was checked.
    cached_checked: usize,
    /// Repositories outside every cache prefix that let HealthOmics pull (copies, mirrors):
    /// the run role must cover them too.
    accessible_outside_caches: Vec<String>,
}

/// Every repository's policy is judged: the cached ones are reported when HealthOmics cannot
/// pull, the others are only collected for the run-role policy.
async fn repository_issues(
    clients: &AwsClients,
    prefixes: &[String],
    issues: &mut Vec<ValidationIssue>,
) -> RepositoryAudit {
    let repositories = match ecr::all_repositories(&clients.ecr).await {
        Ok(all) => all,
        Err(err) => {
            issues.push(permission_issue(
                &err.into(),
                "repositories were not checked, and the run-role policy names only the cache prefixes",
            ));
            return RepositoryAudit::default();
        }
    };
    // One bounded-concurrency pass over every policy, then split by cache membership.
    let all_judged = account_reads::repositories_access(clients, &repositories).await;
    let is_cached = |r: &account::Repository| {
        verdicts::cache_prefix_for(&r.name, prefixes.iter().map(String::as_str)).is_some()
    };
    let (cached, others): (Vec<_>, Vec<_>) = repositories
        .into_iter()
        .zip(all_judged)
        .partition(|(r, _)| is_cached(r));
    let accessible_outside_caches = others
        .iter()
        .filter(|(_, judged)| judged.evaluation.status == AccessStatus::Accessible)
        .map(|(repo, _)| repo.name.clone())
        .collect();
    let mut denied_reads = BTreeSet::new();
    for (repo, judged) in &cached {
        let prefix = verdicts::cache_prefix_for(&repo.name, prefixes.iter().map(String::as_str))
            .unwrap_or_default();
        match judged.evaluation.status {
            AccessStatus::Accessible => {}
            AccessStatus::Unknown => {
                if let Some(problem) = judged.problem.clone() {
                    denied_reads.insert(problem);
                }
            }
            status => {
                let severity = if status == AccessStatus::Conditional {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                issues.push(ValidationIssue {
                    severity,
                    component: Component::Repository,
                    message: format!(
                        "Repository `{}` (created by cache `{prefix}`) does not let HealthOmics pull: missing {}. Templates apply only when a repository is created.",
                        repo.name,
                        judged.evaluation.missing_actions().join(", ")
                    ),
                    remediation: "Run the suggested GrantHealthOmicsRepositoryAccess call.".into(),
                    prefix: Some(prefix.to_owned()),
                    repository_name: Some(repo.name.clone()),
                    fix_tool_call: Some(SuggestedCall::new(
                        ToolName::Grant,
                        json!({ "repository_name": repo.name, "aws_region": clients.region }),
                    )),
                    fix_policy: None,
                });
            }
        }
    }
    for problem in denied_reads {
        issues.push(ValidationIssue {
            severity: Severity::Warning,
            component: Component::Permissions,
            message: format!("Some cached repositories could not be checked: {problem}."),
            remediation:
                "Allow `ecr:GetRepositoryPolicy` on the cache repositories, then validate again."
                    .into(),
            prefix: None,
            repository_name: None,
            fix_tool_call: None,
            fix_policy: None,
        });
    }
    RepositoryAudit {
        cached_checked: cached.len(),
        accessible_outside_caches,
    }
}
