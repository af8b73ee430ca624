//! ValidateHealthOmicsECRConfig's report: from what was read of the account (judged rules,
//! credential secrets, repositories, a registry map and its destinations) to the issues, each
//! worded once, with its exact fix, and the run-role policy.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use crate::core::account::{Repository, SecretInfo};
use crate::core::findings::JsonObject;
use crate::core::findings::{Severity, SuggestedCall};
use crate::core::plan::map_destinations::{self, DestinationProblem};
use crate::core::plan::run_role;
use crate::core::policy::{self, AccessStatus, PolicyDocument};
use crate::core::registries::{self, AccessPath, PTC_SECRET_NAME_PREFIX};
use crate::core::registry_map::{self, CacheMapping, Fix, MapContext};
use crate::core::registry_map::{ContainerRegistryMap, RegistryMapping};
use crate::core::tool_names::ToolName;
use crate::core::verdicts::{
    AwsErrorKind, Judged, RegistryPolicy, RuleJudgement, Templates, Unreadable,
};

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
    #[schemars(with = "Option<JsonObject>")]
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
    /// With `detail`: the identity policy the HealthOmics run (service) role needs to pull
    /// from the caches found and the copies HealthOmics may read (seed guide step 9).
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_role_policy: Option<Value>,
}

impl ValidateOutput {
    /// The result an assistant needs: where a suggested call makes the change, the full
    /// `fix_policy` it would produce is left out unless `detail` asks for it, and so is the
    /// run role's policy (asked for once per setup, not on every audit).
    pub fn sized(mut self, detail: bool) -> Self {
        if detail {
            return self;
        }
        self.service_role_policy = None;
        let mut calls_seen: Vec<SuggestedCall> = Vec::new();
        for issue in &mut self.issues {
            let Some(call) = issue.fix_tool_call.take() else {
                continue;
            };
            if calls_seen.contains(&call) {
                // One call fixes several issues of a prefix: named once, at the first.
                issue.fix_policy = None;
                issue.remediation = "Fixed by the fix_tool_call above.".into();
                continue;
            }
            if issue.fix_policy.take().is_some() {
                // Keep what the remediation says beyond the policy (e.g. that older
                // repositories need their own grant).
                let rest: Vec<&str> = issue
                    .remediation
                    .split_inclusive(". ")
                    .filter(|sentence| {
                        !["fix_policy", "fix_tool_call", "file://"]
                            .iter()
                            .any(|word| sentence.contains(word))
                    })
                    .map(str::trim)
                    .collect();
                let mut remediation =
                    "Run `fix_tool_call` (it keeps every existing statement).".to_owned();
                for sentence in rest {
                    remediation.push(' ');
                    remediation.push_str(sentence);
                }
                issue.remediation = remediation;
            }
            calls_seen.push(call.clone());
            issue.fix_tool_call = Some(call);
        }
        self
    }
}

/// The rules, judged, with what their credential secrets answered.
pub struct CacheReads {
    pub registry: RegistryPolicy,
    /// One per rule, in order.
    pub rules: Vec<JudgedRule>,
}

pub struct JudgedRule {
    pub judgement: RuleJudgement,
    /// `None` when the rule names no credential.
    pub secret: Option<Result<SecretInfo, Unreadable>>,
}

/// Where the map came from, when one was asked for.
pub enum MapSource {
    Given(ContainerRegistryMap),
    Workflow {
        id: String,
        read: Result<Option<ContainerRegistryMap>, Unreadable>,
    },
}

/// What was read about a map to check (only when there is one).
#[derive(Default)]
pub struct MapReads {
    pub destinations: Vec<(usize, DestinationProblem)>,
    /// Credential secrets of the mappings HealthOmics copies through, by ARN.
    pub copy_secrets: Vec<(String, Result<SecretInfo, Unreadable>)>,
    /// Templates of the copy prefixes; `None` when there are none to read.
    pub copy_templates: Option<Templates>,
}

/// Everything a validation read, for [`report`].
pub struct ValidateReads {
    pub region: String,
    pub partition: String,
    /// The caller's account, when STS answered.
    pub account: Option<String>,
    pub caches: Result<CacheReads, Unreadable>,
    /// `None` when repositories were not asked for; each with its policy judged.
    pub repositories: Option<Result<Vec<(Repository, Judged)>, Unreadable>>,
    pub map: Option<(MapSource, MapReads)>,
}

/// The repositories whose policies a validation reads: those under a cache prefix (reported
/// when HealthOmics cannot pull) and, with `detail`, every other one too (the accessible ones
/// join the run role's policy, which only `detail` returns). When the rules could not be read
/// (`prefixes` is `None`), membership is unknown and every repository is read.
pub fn repositories_to_judge(
    repositories: Vec<Repository>,
    prefixes: Option<&[String]>,
    detail: bool,
) -> Vec<Repository> {
    match (prefixes, detail) {
        (Some(prefixes), false) => repositories
            .into_iter()
            .filter(|r| {
                crate::core::verdicts::cache_prefix_for(
                    &r.name,
                    prefixes.iter().map(String::as_str),
                )
                .is_some()
            })
            .collect(),
        _ => repositories,
    }
}

/// The map a validation checks, with the name its issues use.
pub fn map_to_check(source: &MapSource) -> Option<(String, &ContainerRegistryMap)> {
    match source {
        MapSource::Given(map) => Some(("container_registry_map".to_owned(), map)),
        MapSource::Workflow {
            id,
            read: Ok(Some(map)),
        } => Some((format!("workflow {id}"), map)),
        MapSource::Workflow { .. } => None,
    }
}

/// The prefixes HealthOmics copies into, whose templates the map check reads.
pub fn copy_mappings(map: &ContainerRegistryMap) -> Vec<&RegistryMapping> {
    map.registry_mappings
        .iter()
        .filter(|m| {
            registries::classify_host(&m.upstream_registry_url).access_path
                == AccessPath::HealthOmicsCopy
        })
        .collect()
}

/// The usable caches, for the map checks; `None` when the rules could not be read.
pub fn usable_caches(caches: &Result<CacheReads, Unreadable>) -> Option<Vec<CacheMapping>> {
    let caches = caches.as_ref().ok()?;
    Some(
        caches
            .rules
            .iter()
            .map(|r| &r.judgement)
            .filter(|j| j.usable())
            .map(|j| CacheMapping {
                upstream_registry_url: j.rule.upstream_registry_url.clone(),
                ecr_repository_prefix: j.rule.ecr_repository_prefix.clone(),
                upstream_repository_prefix: j.rule.upstream_repository_prefix.clone(),
            })
            .collect(),
    )
}

/// The whole report, in the order a reader fixes things: caches, repositories, the map, then
/// the verdict.
pub fn report(reads: &ValidateReads) -> ValidateOutput {
    let mut issues = Vec::new();
    let region = &reads.region;
    let prefixes: Vec<String> = match &reads.caches {
        Ok(c) => c
            .rules
            .iter()
            .map(|r| r.judgement.rule.ecr_repository_prefix.clone())
            .collect(),
        Err(_) => Vec::new(),
    };
    // The account the cache statements are scoped to: the caller's, else the rules' registry.
    let rule_account = reads
        .account
        .clone()
        .or_else(|| {
            reads.caches.as_ref().ok().and_then(|c| {
                c.rules
                    .iter()
                    .find_map(|r| r.judgement.rule.registry_id.clone())
            })
        })
        .unwrap_or_default();
    match &reads.caches {
        Err(err) => issues.push(permission_issue(
            err,
            "the pull-through cache rules could not be read, so they were not checked",
        )),
        Ok(caches) if caches.rules.is_empty() => issues.push(ValidationIssue {
            prefix: None,
            ..issue(
                Severity::Info,
                Component::PullThroughCache,
                "",
                format!("No pull-through cache rules in {region}."),
                "Create one per upstream registry your workflows use (e.g. quay, docker-hub, ecr-public) with \
                 CreatePullThroughCacheForHealthOmics."
                    .into(),
            )
        }),
        Ok(caches) => {
            for r in &caches.rules {
                let j = &r.judgement;
                upstream_issues(j, &mut issues);
                registry_issues(j, &caches.registry, reads, &rule_account, &mut issues);
                let first_new = issues.len();
                template_issues(j, &mut issues);
                for issue in issues[first_new..]
                    .iter_mut()
                    .filter(|i| i.severity != Severity::Info)
                {
                    issue.fix_tool_call = ptc_fix_call(j, region);
                }
            }
            for r in &caches.rules {
                credential_issues(&r.judgement, r.secret.as_ref(), &mut issues);
            }
        }
    }
    let repositories = match &reads.repositories {
        Some(read) => repository_issues(read, &prefixes, region, &mut issues),
        None => RepositoryAudit::default(),
    };
    if let Some((source, map_reads)) = &reads.map {
        workflow_map_issues(source, region, &mut issues);
        if let Some((name, map)) = map_to_check(source) {
            map_issues(reads, &name, map, map_reads, &mut issues);
        }
    }
    // The run role needs the pull actions on every repository a run pulls: cache prefixes,
    // image-mapping destinations, and copied repositories HealthOmics may read.
    let account = if reads.caches.as_ref().is_ok_and(|c| !c.rules.is_empty()) {
        rule_account
    } else {
        reads.account.clone().unwrap_or_default()
    };
    let map = reads
        .map
        .as_ref()
        .and_then(|(s, _)| map_to_check(s))
        .map(|(_, m)| m);
    let role_repositories = run_role::run_role_repositories(
        &account,
        region,
        &prefixes,
        map,
        &repositories.accessible_outside_caches,
    );
    let role_policy = run_role::run_role_policy(
        &reads.partition,
        region,
        &account,
        &prefixes,
        &role_repositories,
    );
    let mut output = finish(
        issues,
        prefixes.len(),
        repositories.cached_checked,
        region.clone(),
        role_policy,
    );
    output.account_id = reads.account.clone();
    output
}

/// A workflow whose map could not be had is an issue, not a tool error.
fn workflow_map_issues(source: &MapSource, region: &str, issues: &mut Vec<ValidationIssue>) {
    let MapSource::Workflow { id, read } = source else {
        return;
    };
    let map_issue = |severity, message: String, remediation: &str| ValidationIssue {
        prefix: None,
        ..issue(
            severity,
            Component::RegistryMap,
            "",
            message,
            remediation.to_owned(),
        )
    };
    match read {
        Ok(Some(_)) => {}
        Ok(None) => issues.push(map_issue(
            Severity::Info,
            format!("Workflow {id} has no container registry map: its images must be named by their private ECR URIs."),
            "To run it with public image URIs, create a workflow version with a map from CreateContainerRegistryMap.",
        )),
        Err(err) if err.kind == AwsErrorKind::NotFound => issues.push(map_issue(
            Severity::Error,
            format!("HealthOmics workflow `{id}` does not exist in {region}."),
            "Check the workflow id and the region.",
        )),
        Err(err) => issues.push(permission_issue(
            err,
            "the workflow's container registry map was not checked",
        )),
    }
}

/// The map's shape and rules, its destinations, its credential secrets, and the templates for
/// prefixes HealthOmics copies into.
fn map_issues(
    reads: &ValidateReads,
    source: &str,
    map: &ContainerRegistryMap,
    map_reads: &MapReads,
    issues: &mut Vec<ValidationIssue>,
) {
    let ctx = MapContext {
        caller_account_id: reads.account.clone(),
        region: reads.region.clone(),
        usable_caches: usable_caches(&reads.caches),
    };
    for finding in registry_map::check_map(map, &ctx) {
        issues.push(ValidationIssue {
            prefix: None,
            ..issue(
                finding.severity,
                Component::RegistryMap,
                "",
                format!("{source}: {}: {}", finding.field, finding.message),
                finding
                    .suggestion
                    .map(|s| format!("Write `{s}` instead."))
                    .unwrap_or_else(|| "Correct the field as described, then create a new workflow version with the map.".into()),
            )
        });
    }
    for (_, problem) in &map_reads.destinations {
        // The same call the map's coverage suggests for this destination.
        let fix_tool_call = problem.fix.as_ref().and_then(|fix| {
            match map_destinations::fix_call(fix, &reads.region) {
                Fix::Tool { call, .. } => Some(call),
                Fix::Edit { .. } => None,
            }
        });
        issues.push(ValidationIssue {
            prefix: None,
            fix_tool_call,
            ..issue(
                if problem.blocks_runs {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                Component::RegistryMap,
                "",
                format!("{source}: imageMappings: {}", problem.message),
                problem.remediation.clone(),
            )
        });
    }
    let copy = copy_mappings(map);
    for mapping in &copy {
        let prefix = &mapping.ecr_repository_prefix;
        let Some(arn) = &mapping.credential_arn else {
            continue;
        };
        let Some((_, read)) = map_reads.copy_secrets.iter().find(|(a, _)| a == arn) else {
            continue;
        };
        let url = &mapping.upstream_registry_url;
        let found = match read {
            Ok(secret) if secret.deleted_date.is_some() => issue(Severity::Error, Component::Credential, prefix,
                format!("{source}: the secret `{}` for `{url}` is scheduled for deletion.", secret.name),
                format!("Restore it: `aws secretsmanager restore-secret --secret-id {arn}`.")),
            Ok(_) => continue,
            Err(err) if err.kind == AwsErrorKind::NotFound => issue(Severity::Error, Component::Credential, prefix,
                format!("{source}: the secret `{arn}` for `{url}` does not exist."),
                "Create it with the registry's username and token, and let the run role read it (secretsmanager:GetSecretValue).".into()),
            Err(err) => issue(Severity::Warning, Component::Credential, prefix,
                format!("{source}: the secret `{arn}` could not be checked: {err}."),
                format!("Allow `{}` to verify it.", err.action)),
        };
        issues.push(found);
    }
    // Copied repositories are created by HealthOmics under the prefix; a template that grants
    // HealthOmics pull access is the likely requirement (not yet confirmed by AWS docs: warnings).
    let Some(templates) = &map_reads.copy_templates else {
        return;
    };
    for mapping in &copy {
        let prefix = &mapping.ecr_repository_prefix;
        let judged = templates.judge_prefix(prefix);
        let message = match (&judged.template, judged.judged.evaluation.status) {
            (None, _) if judged.judged.problem.is_some() => format!(
                "templates for copy prefix `{prefix}` could not be read: {}",
                judged.judged.problem.clone().unwrap_or_default()
            ),
            (None, _) => {
                format!("no repository creation template covers the copy prefix `{prefix}`")
            }
            (Some(t), _) if !t.applied_for.iter().any(|a| a == "CREATE_ON_PUSH") => format!(
                "the template `{}` for copy prefix `{prefix}` is not applied for CREATE_ON_PUSH",
                t.prefix
            ),
            (Some(_), AccessStatus::Accessible) => continue,
            (Some(t), _) => format!(
                "the template `{}` for copy prefix `{prefix}` does not let omics.amazonaws.com pull",
                t.prefix
            ),
        };
        issues.push(issue(
            Severity::Warning,
            Component::RepositoryTemplate,
            prefix,
            format!(
                "{source}: {message}. HealthOmics copies images into `{prefix}/…`; whether it needs such a template is not yet confirmed by AWS."
            ),
            format!(
                "To be safe, create a template with prefix `{prefix}`, appliedFor CREATE_ON_PUSH, and a repository policy granting omics.amazonaws.com the pull actions."
            ),
        ));
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
            prefix: None,
            ..issue(
                Severity::Info,
                Component::PullThroughCache,
                "",
                format!(
                    "ECR is ready for HealthOmics: {caches} pull-through cache rule(s) and {repositories} cached repositories checked."
                ),
                "No change needed. For the HealthOmics run role's policy, call again with detail true.".into(),
            )
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

fn permission_issue(err: &Unreadable, consequence: &str) -> ValidationIssue {
    let remediation = match err.kind {
        AwsErrorKind::AccessDenied => format!(
            "Allow `{}` for the identity this server uses, then validate again.",
            err.action
        ),
        _ => "Retry; if it persists, check the AWS message.".to_owned(),
    };
    ValidationIssue {
        prefix: None,
        ..issue(
            Severity::Error,
            Component::Permissions,
            "",
            format!("{err}; {consequence}."),
            remediation,
        )
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
    reads: &ValidateReads,
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
    // The one-line summary adds to the sentence only when a statement decided (denied,
    // conditional); "not granted" would repeat it.
    let why = eval
        .summary()
        .filter(|w| !w.starts_with("not granted") && w != "no policy")
        .map(|w| format!(" ({w})"))
        .unwrap_or_default();
    let mut found = issue(
        severity,
        Component::RegistryPolicy,
        prefix,
        format!(
            "The registry permissions policy {what} ecr:CreateRepository and ecr:BatchImportUpstreamImage on `{prefix}/*`{why}.{}",
            j.registry.problem.as_ref().map(|p| format!(" {p}.")).unwrap_or_default()
        ),
        "Run `fix_tool_call`, or put `fix_policy` as the registry policy (it adds one statement scoped to this prefix \
         and keeps every existing one), e.g. `aws ecr put-registry-policy --policy-text file://policy.json`."
            .into(),
    );
    found.fix_tool_call = ptc_fix_call(j, &reads.region);
    let existing = match registry {
        RegistryPolicy::Present { text } => PolicyDocument::parse(text).ok(),
        _ => None,
    };
    if matches!(registry, RegistryPolicy::Absent) || existing.is_some() {
        let ours = policy::registry_pull_through_statement(
            &reads.partition,
            &reads.region,
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
                "No repository creation template applies to cache prefix `{prefix}` (upstream {}): repositories it creates will not let HealthOmics pull.",
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
    let Some(text) = template.repository_policy.as_deref() else {
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
        return;
    };
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
            "The repository policy of template `{}` does not allow HealthOmics {}.{}",
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

/// Credentials are judged from metadata only; secret values are never read.
fn credential_issues(
    j: &RuleJudgement,
    secret: Option<&Result<SecretInfo, Unreadable>>,
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
    let Some(read) = secret else {
        return;
    };
    let found = match read {
        Ok(secret) if secret.deleted_date.is_some() => issue(
            Severity::Error,
            Component::Credential,
            prefix,
            format!(
                "The credential secret `{}` of rule `{prefix}` is scheduled for deletion.",
                secret.name
            ),
            format!(
                "Restore it (`aws secretsmanager restore-secret --secret-id {arn}`) or point the rule at another secret."
            ),
        ),
        Ok(secret) if !secret.name.starts_with(PTC_SECRET_NAME_PREFIX) => issue(
            Severity::Error,
            Component::Credential,
            prefix,
            format!(
                "The credential secret `{}` of rule `{prefix}` lacks the `{PTC_SECRET_NAME_PREFIX}` name prefix ECR requires.",
                secret.name
            ),
            format!(
                "Create a secret named `{PTC_SECRET_NAME_PREFIX}{}` with the same content and update the rule to use it.",
                secret.name
            ),
        ),
        Ok(_) => return,
        Err(err) if err.kind == AwsErrorKind::NotFound => issue(
            Severity::Error,
            Component::Credential,
            prefix,
            format!("The credential secret `{arn}` of rule `{prefix}` does not exist."),
            format!(
                "Create the secret `{PTC_SECRET_NAME_PREFIX}…` with JSON keys username and accessToken, then update the rule."
            ),
        ),
        Err(err) => issue(
            Severity::Warning,
            Component::Credential,
            prefix,
            format!("The credential secret of rule `{prefix}` could not be checked: {err}."),
            format!("Allow `{}` on `{arn}` to verify it.", err.action),
        ),
    };
    issues.push(found);
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

/// Cached repositories are reported when HealthOmics cannot pull; the others are only
/// collected for the run-role policy.
fn repository_issues(
    read: &Result<Vec<(Repository, Judged)>, Unreadable>,
    prefixes: &[String],
    region: &str,
    issues: &mut Vec<ValidationIssue>,
) -> RepositoryAudit {
    let judged = match read {
        Ok(judged) => judged,
        Err(err) => {
            issues.push(permission_issue(
                err,
                "repositories were not checked, and the run-role policy names only the cache prefixes",
            ));
            return RepositoryAudit::default();
        }
    };
    let cache_of = |r: &Repository| {
        crate::core::verdicts::cache_prefix_for(&r.name, prefixes.iter().map(String::as_str))
    };
    let (cached, others): (Vec<_>, Vec<_>) =
        judged.iter().partition(|(r, _)| cache_of(r).is_some());
    let accessible_outside_caches = others
        .iter()
        .filter(|(_, judged)| judged.evaluation.status == AccessStatus::Accessible)
        .map(|(repo, _)| repo.name.clone())
        .collect();
    let mut denied_reads = BTreeSet::new();
    for (repo, judged) in &cached {
        let prefix = cache_of(repo).unwrap_or_default();
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
                    repository_name: Some(repo.name.clone()),
                    fix_tool_call: Some(SuggestedCall::new(
                        ToolName::Grant,
                        json!({ "repository_name": repo.name, "aws_region": region }),
                    )),
                    ..issue(
                        severity,
                        Component::Repository,
                        prefix,
                        format!(
                            "Repository `{}` (created by cache `{prefix}`) does not let HealthOmics pull: missing {}. Templates apply only when a repository is created.",
                            repo.name,
                            judged.evaluation.missing_actions().join(", ")
                        ),
                        "Run the suggested GrantHealthOmicsRepositoryAccess call.".into(),
                    )
                });
            }
        }
    }
    for problem in denied_reads {
        issues.push(ValidationIssue {
            prefix: None,
            ..issue(
                Severity::Warning,
                Component::Permissions,
                "",
                format!("Some cached repositories could not be checked: {problem}."),
                "Allow `ecr:GetRepositoryPolicy` on the cache repositories, then validate again."
                    .into(),
            )
        });
    }
    RepositoryAudit {
        cached_checked: cached.len(),
        accessible_outside_caches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::account::{CreationTemplate, PullThroughCacheRule};
    use crate::core::plan::fixtures::rule;
    use crate::core::verdicts::judge_repository_policy;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";

    fn registry_granting(prefixes: &[&str]) -> RegistryPolicy {
        let statements: Vec<Value> = prefixes
            .iter()
            .map(|p| policy::registry_pull_through_statement("aws", REGION, ACCOUNT, p))
            .collect();
        match policy::upsert_statements(None, &statements) {
            Ok(merged) => RegistryPolicy::Present {
                text: merged.document.to_json_compact(),
            },
            Err(e) => panic!("the statements merge: {e:?}"),
        }
    }

    fn pull_grant(actions: &[&str]) -> String {
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "HealthOmics", "Effect": "Allow",
            "Principal": {"Service": "omics.amazonaws.com"}, "Action": actions}]})
        .to_string()
    }

    fn template(prefix: &str, policy: Option<String>) -> CreationTemplate {
        CreationTemplate {
            prefix: prefix.into(),
            description: None,
            applied_for: vec!["PULL_THROUGH_CACHE".into()],
            repository_policy: policy,
            image_tag_mutability: None,
            custom_role_arn: None,
        }
    }

    const ALL_PULL: [&str; 3] = [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
    ];

    /// One judged rule under the given registry policy and templates.
    fn judged(
        r: PullThroughCacheRule,
        registry: &RegistryPolicy,
        templates: &Templates,
        secret: Option<Result<SecretInfo, Unreadable>>,
    ) -> JudgedRule {
        let prefix = r.ecr_repository_prefix.clone();
        JudgedRule {
            judgement: RuleJudgement {
                upstream_path: registries::classify_host(&r.upstream_registry_url).access_path,
                registry: registry.judge_prefix("aws", REGION, ACCOUNT, &prefix),
                template: templates.judge_prefix(&prefix),
                rule: r,
            },
            secret,
        }
    }

    fn reads(caches: Result<CacheReads, Unreadable>) -> ValidateReads {
        ValidateReads {
            region: REGION.into(),
            partition: "aws".into(),
            account: Some(ACCOUNT.into()),
            caches,
            repositories: None,
            map: None,
        }
    }

    /// The reads of an account with this one rule (no credential to read).
    fn one_rule(
        r: PullThroughCacheRule,
        registry: &RegistryPolicy,
        templates: &Templates,
    ) -> CacheReads {
        CacheReads {
            rules: vec![judged(r, registry, templates, None)],
            registry: registry.clone(),
        }
    }

    fn usable_quay() -> CacheReads {
        let registry = registry_granting(&["quay"]);
        let templates = Templates::Read(vec![template("quay", Some(pull_grant(&ALL_PULL)))]);
        CacheReads {
            rules: vec![judged(
                rule("quay", "quay.io", None),
                &registry,
                &templates,
                None,
            )],
            registry,
        }
    }

    fn denied(action: &str) -> Unreadable {
        Unreadable {
            action: action.into(),
            kind: AwsErrorKind::AccessDenied,
            code: None,
            message: "AccessDeniedException: no".into(),
        }
    }

    fn only(out: &ValidateOutput, component: Component) -> Vec<&ValidationIssue> {
        out.issues
            .iter()
            .filter(|i| i.component == component)
            .collect()
    }

    #[test]
    fn an_empty_region_is_valid_and_says_there_are_no_caches() {
        let out = report(&reads(Ok(CacheReads {
            registry: RegistryPolicy::Absent,
            rules: vec![],
        })));
        assert!(out.valid);
        assert_eq!(out.issues.len(), 1);
        assert!(
            out.issues[0]
                .message
                .starts_with("No pull-through cache rules")
        );
        assert!(out.service_role_policy.is_none());
    }

    #[test]
    fn a_usable_cache_is_ready_and_gets_a_run_role_policy() {
        let out = report(&reads(Ok(usable_quay())));
        assert!(out.valid, "{:#?}", out.issues);
        assert_eq!(out.pull_through_caches_checked, 1);
        assert!(
            out.issues
                .iter()
                .any(|i| i.message.starts_with("ECR is ready"))
        );
        let role = out
            .service_role_policy
            .map(|p| p.to_string())
            .unwrap_or_default();
        assert!(role.contains("repository/quay/*"), "{role}");
    }

    #[test]
    fn unreadable_rules_are_a_permission_error_naming_the_action() {
        let out = report(&reads(Err(denied("ecr:DescribePullThroughCacheRules"))));
        assert!(!out.valid);
        let perms = only(&out, Component::Permissions);
        assert_eq!(perms.len(), 1);
        assert!(
            perms[0]
                .remediation
                .contains("`ecr:DescribePullThroughCacheRules`")
        );
    }

    #[test]
    fn a_missing_registry_policy_is_fixed_by_a_create_call_and_a_full_policy() {
        let templates = Templates::Read(vec![template("quay", Some(pull_grant(&ALL_PULL)))]);
        let registry = RegistryPolicy::Absent;
        let out = report(&reads(Ok(one_rule(
            rule("quay", "quay.io", None),
            &registry,
            &templates,
        ))));
        let found = only(&out, Component::RegistryPolicy);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("does not exist"));
        let call = found[0].fix_tool_call.as_ref().map(|c| c.tool);
        assert_eq!(call, Some(ToolName::CreatePtc));
        let fix = found[0]
            .fix_policy
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default();
        assert!(fix.contains("ecr:BatchImportUpstreamImage"), "{fix}");
    }

    #[test]
    fn sized_results_keep_the_call_and_leave_the_policy_it_writes_to_detail() {
        let templates = Templates::Read(vec![template("quay", Some(pull_grant(&ALL_PULL)))]);
        let registry = RegistryPolicy::Absent;
        let full = report(&reads(Ok(one_rule(
            rule("quay", "quay.io", None),
            &registry,
            &templates,
        ))));
        let with_detail = report(&reads(Ok(one_rule(
            rule("quay", "quay.io", None),
            &registry,
            &templates,
        ))))
        .sized(true);
        let compact = full.sized(false);
        let issue = &only(&compact, Component::RegistryPolicy)[0];
        assert!(issue.fix_policy.is_none() && issue.fix_tool_call.is_some());
        assert!(issue.remediation.starts_with("Run `fix_tool_call`"));
        assert!(
            only(&with_detail, Component::RegistryPolicy)[0]
                .fix_policy
                .is_some()
        );
        assert_eq!(compact.valid, with_detail.valid);
    }

    #[test]
    fn one_call_fixing_several_issues_is_named_once() {
        let reads = reads(Ok(one_rule(
            rule("quay", "quay.io", None),
            &RegistryPolicy::Absent,
            &Templates::Read(vec![]),
        )));
        let full = report(&reads).sized(true);
        let with_call = |out: &ValidateOutput| {
            out.issues
                .iter()
                .filter(|i| i.fix_tool_call.is_some())
                .count()
        };
        assert_eq!(with_call(&full), 2, "{:?}", full.issues);
        let compact = report(&reads).sized(false);
        assert_eq!(with_call(&compact), 1);
        let template = &only(&compact, Component::RepositoryTemplate)[0];
        assert!(
            template.remediation.contains("fix_tool_call above"),
            "{template:?}"
        );
        assert!(
            compact
                .issues
                .iter()
                .all(|i| !i.remediation.contains("file://"))
        );
    }

    #[test]
    fn an_unreadable_registry_policy_is_reported_once_for_all_prefixes() {
        let templates = Templates::Read(vec![]);
        let registry = RegistryPolicy::Unreadable(Unreadable {
            action: "ecr:GetRegistryPolicy".into(),
            code: Some("AccessDeniedException".into()),
            message: "no".into(),
            kind: AwsErrorKind::AccessDenied,
        });
        let out = report(&reads(Ok(CacheReads {
            rules: vec![
                judged(rule("quay", "quay.io", None), &registry, &templates, None),
                judged(
                    rule("ecr-public", "public.ecr.aws", None),
                    &registry,
                    &templates,
                    None,
                ),
            ],
            registry,
        })));
        let mentions = out
            .issues
            .iter()
            .filter(|i| i.message.contains("ecr:GetRegistryPolicy"))
            .count();
        assert_eq!(mentions, 1, "{:#?}", out.issues);
    }

    #[test]
    fn templates_missing_or_with_the_guides_two_actions() {
        let registry = registry_granting(&["quay"]);
        for (templates, severity, needle) in [
            (
                Templates::Read(vec![]),
                Severity::Error,
                "No repository creation template",
            ),
            (
                Templates::Read(vec![template("quay", None)]),
                Severity::Error,
                "has no repository policy",
            ),
            (
                // The seed guide's step 7 grants two actions; AWS's documentation adds the
                // layer check, so this is a warning that names it.
                Templates::Read(vec![template(
                    "quay",
                    Some(pull_grant(&[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ])),
                )]),
                Severity::Warning,
                "ecr:BatchCheckLayerAvailability",
            ),
        ] {
            let out = report(&reads(Ok(one_rule(
                rule("quay", "quay.io", None),
                &registry,
                &templates,
            ))));
            let found = only(&out, Component::RepositoryTemplate);
            assert_eq!(found.len(), 1, "{needle}: {:#?}", out.issues);
            assert_eq!(found[0].severity, severity, "{needle}");
            assert!(found[0].message.contains(needle), "{}", found[0].message);
            assert!(found[0].fix_policy.is_some(), "{needle}");
        }
    }

    #[test]
    fn credential_secrets_are_judged_from_their_metadata() {
        let registry = registry_granting(&["docker-hub"]);
        let templates = Templates::Read(vec![template("docker-hub", Some(pull_grant(&ALL_PULL)))]);
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub";
        let secret = |name: &str, deleted: bool| SecretInfo {
            arn: arn.into(),
            name: name.into(),
            deleted_date: deleted.then(|| "2026-12-01T00:00:00Z".into()),
            kms_key_id: None,
        };
        for (read, severity, needle) in [
            (None, Some(Severity::Error), "has no credential"),
            (
                Some(Ok(secret("ecr-pullthroughcache/hub", true))),
                Some(Severity::Error),
                "scheduled for deletion",
            ),
            (
                Some(Ok(secret("hub", false))),
                Some(Severity::Error),
                "lacks the `ecr-pullthroughcache/`",
            ),
            (
                Some(Ok(secret("ecr-pullthroughcache/hub", false))),
                None,
                "",
            ),
            (
                Some(Err(Unreadable {
                    action: "secretsmanager:DescribeSecret".into(),
                    kind: AwsErrorKind::NotFound,
                    code: None,
                    message: "ResourceNotFoundException".into(),
                })),
                Some(Severity::Error),
                "does not exist",
            ),
            (
                Some(Err(denied("secretsmanager:DescribeSecret"))),
                Some(Severity::Warning),
                "could not be checked",
            ),
        ] {
            let credential = read.as_ref().map(|_| arn);
            let out = report(&reads(Ok(CacheReads {
                rules: vec![judged(
                    rule("docker-hub", "registry-1.docker.io", credential),
                    &registry,
                    &templates,
                    read,
                )],
                registry: registry.clone(),
            })));
            let found = only(&out, Component::Credential);
            match severity {
                None => assert!(found.is_empty(), "{:#?}", found),
                Some(severity) => {
                    assert_eq!(found.len(), 1, "{needle}");
                    assert_eq!(found[0].severity, severity, "{needle}");
                    assert!(found[0].message.contains(needle), "{}", found[0].message);
                }
            }
        }
    }

    #[test]
    fn only_cached_repositories_are_read_unless_the_run_role_policy_is_asked_for() {
        let repo = |name: &str| Repository {
            name: name.into(),
            arn: String::new(),
            uri: String::new(),
            registry_id: None,
            created_at: None,
        };
        let all = || {
            [
                "quay/biocontainers/bwa",
                "quay-mirror/x",
                "copies/star",
                "ecr-public/a/b",
            ]
            .map(repo)
            .to_vec()
        };
        let prefixes = ["quay".to_owned(), "ecr-public".to_owned()];
        let names = |repositories: Vec<Repository>| -> Vec<String> {
            repositories.into_iter().map(|r| r.name).collect()
        };
        // (prefixes known, detail, what is read)
        type Case<'a> = (Option<&'a [String]>, bool, &'a [&'a str]);
        let cases: [Case; 4] = [
            (
                Some(&prefixes),
                false,
                &["quay/biocontainers/bwa", "ecr-public/a/b"],
            ),
            (
                Some(&prefixes),
                true,
                &[
                    "quay/biocontainers/bwa",
                    "quay-mirror/x",
                    "copies/star",
                    "ecr-public/a/b",
                ],
            ),
            // The rules could not be read: which repositories a cache made is unknown.
            (
                None,
                false,
                &[
                    "quay/biocontainers/bwa",
                    "quay-mirror/x",
                    "copies/star",
                    "ecr-public/a/b",
                ],
            ),
            (Some(&[]), false, &[]),
        ];
        for (prefixes, detail, want) in cases {
            assert_eq!(
                names(repositories_to_judge(all(), prefixes, detail)),
                want,
                "{prefixes:?} {detail}"
            );
        }
    }

    #[test]
    fn cached_repositories_without_access_get_a_grant_and_copies_join_the_run_role() {
        let repo = |name: &str| Repository {
            name: name.into(),
            arn: format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"),
            uri: String::new(),
            registry_id: None,
            created_at: None,
        };
        let open = judge_repository_policy(Some(&pull_grant(&ALL_PULL)), None);
        let closed = judge_repository_policy(None, None);
        let mut r = reads(Ok(usable_quay()));
        r.repositories = Some(Ok(vec![
            (repo("quay/biocontainers/samtools"), closed.clone()),
            (repo("copies/fastqc"), open),
            (repo("private/tool"), closed),
        ]));
        let out = report(&r);
        assert!(!out.valid);
        assert_eq!(out.repositories_checked, 1);
        let found = only(&out, Component::Repository);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].repository_name.as_deref(),
            Some("quay/biocontainers/samtools")
        );
        assert_eq!(
            found[0].fix_tool_call.as_ref().map(|c| c.tool),
            Some(ToolName::Grant)
        );
        let role = out
            .service_role_policy
            .map(|p| p.to_string())
            .unwrap_or_default();
        assert!(role.contains("repository/copies/fastqc"), "{role}");
        assert!(!role.contains("private/tool"), "{role}");
    }

    #[test]
    fn a_workflow_without_a_map_or_that_does_not_exist() {
        for (read, severity, needle) in [
            (Ok(None), Severity::Info, "has no container registry map"),
            (
                Err(Unreadable {
                    action: "omics:GetWorkflow".into(),
                    kind: AwsErrorKind::NotFound,
                    code: None,
                    message: "ResourceNotFoundException".into(),
                }),
                Severity::Error,
                "does not exist in us-east-1",
            ),
        ] {
            let mut r = reads(Ok(usable_quay()));
            r.map = Some((
                MapSource::Workflow {
                    id: "1234567".into(),
                    read,
                },
                MapReads::default(),
            ));
            let out = report(&r);
            let found = only(&out, Component::RegistryMap);
            assert_eq!(found.len(), 1, "{needle}");
            assert_eq!(found[0].severity, severity);
            assert!(found[0].message.contains(needle), "{}", found[0].message);
        }
    }

    #[test]
    fn an_unsupported_upstream_says_how_to_get_its_images_instead() {
        let registry = registry_granting(&["gcr"]);
        let templates = Templates::Read(vec![template("gcr", Some(pull_grant(&ALL_PULL)))]);
        let out = report(&reads(Ok(one_rule(
            rule("gcr", "registry.example.org", None),
            &registry,
            &templates,
        ))));
        let found = only(&out, Component::PullThroughCache);
        assert_eq!(found.len(), 1, "{:#?}", out.issues);
        assert_eq!(found[0].severity, Severity::Error);
        assert!(found[0].remediation.contains("CloneContainerToECR"));
    }
}
