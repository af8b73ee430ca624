//! Reads the account and judges HealthOmics access: shared by the tools that report on
//! repositories and pull-through caches, so every tool gives the same verdict for the same state.
//!
//! Reading problems (denied, invalid JSON) become an `unknown` verdict with the reason, never a
//! silent "no policy": a missing permission must not look like a missing grant.

use futures::StreamExt;

use crate::aws::ecr;
use crate::aws::{AwsCallError, AwsClients, AwsErrorKind};
use crate::core::account;
use crate::core::account::{CreationTemplate, PullThroughCacheRule};
use crate::core::plan::map_destinations::{
    self, DestinationPlace, DestinationProblem, DestinationState,
};
use crate::core::policy::{
    self, AccessEvaluation, AccessStatus, PolicyDocument, Principal, ResourceTarget,
};
use crate::core::registries::{self, AccessPath};
use crate::core::registry_map::ContainerRegistryMap;

/// How many policy reads run at once: fast for big registries, polite to ECR's rate limits
/// (throttled calls are retried with backoff by the SDK).
pub const POLICY_READ_CONCURRENCY: usize = 8;

/// The template prefix ECR falls back to when no template matches a repository's prefix.
pub use crate::core::image_ref::ROOT_PREFIX as ROOT_TEMPLATE_PREFIX;

/// The verdict for one repository policy text (`None` = the repository has no policy).
pub fn judge_repository_policy(text: Option<&str>, repository_arn: Option<&str>) -> Judged {
    let actions = &policy::REPOSITORY_PULL_ACTIONS;
    let target = repository_arn.map_or(ResourceTarget::Any, |arn| ResourceTarget::Arn(arn.into()));
    let mut judged = judge(text, actions, &target, "repository policy");
    policy::note_when_stricter_than_guide(&mut judged.evaluation);
    judged
}

/// A policy read and judged.
#[derive(Debug, Clone)]
pub struct Judged {
    pub evaluation: AccessEvaluation,
    pub document: Option<PolicyDocument>,
    /// Why the verdict is `unknown`, when it is.
    pub problem: Option<String>,
}

fn judge(text: Option<&str>, actions: &[&str], target: &ResourceTarget, what: &str) -> Judged {
    let Some(text) = text else {
        return Judged {
            evaluation: policy::no_policy_evaluation(actions),
            document: None,
            problem: None,
        };
    };
    match PolicyDocument::parse(text) {
        Ok(doc) => Judged {
            evaluation: policy::evaluate(
                &doc,
                Principal::Service(policy::HEALTHOMICS_SERVICE_PRINCIPAL),
                actions,
                target,
            ),
            document: Some(doc),
            problem: None,
        },
        Err(err) => {
            let problem = format!("the {what} is not a valid IAM policy: {err}");
            Judged {
                evaluation: AccessEvaluation::unknown(actions, &problem),
                document: None,
                problem: Some(problem),
            }
        }
    }
}

fn unreadable(actions: &[&str], err: &AwsCallError) -> Judged {
    let problem = match err.kind {
        AwsErrorKind::AccessDenied => format!("could not read it: `{}` is denied", err.action),
        _ => format!("could not read it: {err}"),
    };
    Judged {
        evaluation: AccessEvaluation::unknown(actions, &problem),
        document: None,
        problem: Some(problem),
    }
}

/// Reads and judges one repository's policy.
pub async fn repository_access(clients: &AwsClients, name: &str, arn: Option<&str>) -> Judged {
    match ecr::repository_policy(&clients.ecr, name).await {
        Ok(text) => judge_repository_policy(text.as_deref(), arn),
        Err(err) => unreadable(&policy::REPOSITORY_PULL_ACTIONS, &err),
    }
}

/// Reads and judges many repositories' policies, a bounded number at a time, in input order.
pub async fn repositories_access(
    clients: &AwsClients,
    repositories: &[account::Repository],
) -> Vec<Judged> {
    futures::stream::iter(repositories.iter().cloned())
        .map(|repo| async move {
            let arn = (!repo.arn.is_empty()).then_some(repo.arn.as_str());
            repository_access(clients, &repo.name, arn).await
        })
        .boxed()
        .buffered(POLICY_READ_CONCURRENCY)
        .collect()
        .await
}

/// The registry policy, read once per tool call.
#[derive(Debug, Clone)]
pub enum RegistryPolicy {
    Absent,
    Present { text: String },
    Unreadable(AwsCallError),
}

pub async fn read_registry_policy(clients: &AwsClients) -> RegistryPolicy {
    match ecr::registry_policy(&clients.ecr).await {
        Ok(Some(text)) => RegistryPolicy::Present { text },
        Ok(None) => RegistryPolicy::Absent,
        Err(err) => RegistryPolicy::Unreadable(err),
    }
}

impl RegistryPolicy {
    /// A planned (not yet written) registry policy, to judge before writing it.
    pub fn from_document(document: Option<&PolicyDocument>) -> Self {
        match document {
            Some(doc) => Self::Present {
                text: doc.to_json_compact(),
            },
            None => Self::Absent,
        }
    }

    /// Does the registry policy let HealthOmics create and import into `<prefix>/…`?
    pub fn judge_prefix(
        &self,
        partition: &str,
        region: &str,
        account: &str,
        prefix: &str,
    ) -> Judged {
        let actions = &policy::REGISTRY_PULL_THROUGH_ACTIONS;
        let target = ResourceTarget::AllUnder(policy::repository_prefix_arn(
            partition, region, account, prefix,
        ));
        match self {
            Self::Absent => judge(None, actions, &target, "registry policy"),
            Self::Present { text } => judge(Some(text), actions, &target, "registry policy"),
            Self::Unreadable(err) => unreadable(actions, err),
        }
    }

    pub fn state(&self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Present { .. } => "present",
            Self::Unreadable(_) => "unreadable",
        }
    }
}

/// The templates ECR would apply to the given cache prefixes, read in one batch (plus ROOT).
#[derive(Debug, Clone)]
pub enum Templates {
    Read(Vec<CreationTemplate>),
    Unreadable(AwsCallError),
}

pub async fn read_templates(clients: &AwsClients, prefixes: &[String]) -> Templates {
    let mut wanted: Vec<String> = prefixes.to_vec();
    wanted.push(ROOT_TEMPLATE_PREFIX.to_owned());
    wanted.sort();
    wanted.dedup();
    match ecr::creation_templates(&clients.ecr, &wanted).await {
        Ok(found) => Templates::Read(found),
        Err(err) => Templates::Unreadable(err),
    }
}

/// The template that applies to repositories a cache creates under `prefix`, and its verdict.
#[derive(Debug, Clone)]
pub struct TemplateJudgement {
    pub template: Option<CreationTemplate>,
    /// True when only the ROOT template applies.
    pub from_root: bool,
    pub applies_to_pull_through_cache: bool,
    pub judged: Judged,
}

impl Templates {
    pub fn judge_prefix(&self, prefix: &str) -> TemplateJudgement {
        let actions = &policy::REPOSITORY_PULL_ACTIONS;
        let found = match self {
            Self::Unreadable(err) => {
                return TemplateJudgement {
                    template: None,
                    from_root: false,
                    applies_to_pull_through_cache: false,
                    judged: unreadable(actions, err),
                };
            }
            Self::Read(found) => found,
        };
        // An exact template wins; ROOT is ECR's fallback for prefixes without one.
        let exact = found.iter().find(|t| t.prefix == prefix);
        let root = found.iter().find(|t| t.prefix == ROOT_TEMPLATE_PREFIX);
        let (template, from_root) = match (exact, root) {
            (Some(t), _) => (Some(t.clone()), false),
            (None, Some(t)) => (Some(t.clone()), true),
            (None, None) => (None, false),
        };
        let applies = template
            .as_ref()
            .is_some_and(|t| t.applied_for.iter().any(|a| a == "PULL_THROUGH_CACHE"));
        let policy_text = template
            .as_ref()
            .and_then(|t| t.repository_policy.as_deref());
        TemplateJudgement {
            judged: judge(
                policy_text,
                actions,
                &ResourceTarget::Any,
                "template's repository policy",
            ),
            template,
            from_root,
            applies_to_pull_through_cache: applies,
        }
    }
}

/// Everything known about one pull-through cache rule's usability by HealthOmics.
#[derive(Debug, Clone)]
pub struct RuleJudgement {
    pub rule: PullThroughCacheRule,
    pub upstream_path: AccessPath,
    pub registry: Judged,
    pub template: TemplateJudgement,
}

impl RuleJudgement {
    /// HealthOmics can pull through this cache: a supported upstream, a registry policy that
    /// allows creation and import under the prefix, and a template for pull-through cache
    /// repositories that grants the pull actions.
    pub fn usable(&self) -> bool {
        self.upstream_path == AccessPath::PullThroughCache
            && self.registry.evaluation.status == AccessStatus::Accessible
            && self.template.applies_to_pull_through_cache
            && self.template.judged.evaluation.status == AccessStatus::Accessible
    }

    /// Plain-word reasons HealthOmics cannot use the cache, worded once for every tool.
    pub fn problems(&self) -> Vec<String> {
        let j = self;
        let mut problems = Vec::new();
        let prefix = &j.rule.ecr_repository_prefix;
        if j.upstream_path != AccessPath::PullThroughCache {
            problems.push(format!(
                "HealthOmics does not support pull-through cache from `{}`",
                j.rule.upstream_registry_url
            ));
        }
        if let Some(problem) = &j.registry.problem {
            problems.push(format!("registry policy: {problem}"));
        } else if !j.registry.evaluation.missing_actions().is_empty() {
            problems.push(format!(
                "the registry policy does not allow omics.amazonaws.com {} on `{prefix}/*`",
                j.registry.evaluation.missing_actions().join(", ")
            ));
        }
        match &j.template.template {
            None if j.template.judged.problem.is_some() => {}
            None => problems.push(format!(
                "no repository creation template applies to prefix `{prefix}`"
            )),
            Some(_) if !j.template.applies_to_pull_through_cache => problems.push(
                "the repository creation template is not applied for PULL_THROUGH_CACHE".into(),
            ),
            Some(t) if t.repository_policy.is_none() => {
                problems.push("the repository creation template has no repository policy".into())
            }
            Some(_) => {}
        }
        if let Some(problem) = &j.template.judged.problem {
            problems.push(format!("template: {problem}"));
        } else if j
            .template
            .template
            .as_ref()
            .is_some_and(|t| t.repository_policy.is_some())
            && !j.template.judged.evaluation.missing_actions().is_empty()
        {
            problems.push(format!(
                "the template's repository policy does not allow omics.amazonaws.com {}",
                j.template.judged.evaluation.missing_actions().join(", ")
            ));
        }
        problems
    }
}

/// Judges rules with one registry-policy read and one batched template read.
pub async fn judge_rules(
    clients: &AwsClients,
    rules: Vec<PullThroughCacheRule>,
) -> (RegistryPolicy, Vec<RuleJudgement>) {
    let registry = read_registry_policy(clients).await;
    let prefixes: Vec<String> = rules
        .iter()
        .map(|r| r.ecr_repository_prefix.clone())
        .collect();
    let templates = read_templates(clients, &prefixes).await;
    let fallback_account = match rules.iter().find_map(|r| r.registry_id.clone()) {
        Some(id) => id,
        None => clients.account_id().await.unwrap_or_default(),
    };
    let judged = rules
        .into_iter()
        .map(|rule| {
            let account = rule
                .registry_id
                .clone()
                .unwrap_or_else(|| fallback_account.clone());
            let prefix = rule.ecr_repository_prefix.clone();
            RuleJudgement {
                upstream_path: registries::classify_host(&rule.upstream_registry_url).access_path,
                registry: registry.judge_prefix(
                    clients.arn_partition(),
                    &clients.region,
                    &account,
                    &prefix,
                ),
                template: templates.judge_prefix(&prefix),
                rule,
            }
        })
        .collect();
    (registry, judged)
}

/// The cache prefix a repository name sits under, if any (`quay/biocontainers/x` → `quay`).
pub fn cache_prefix_for<'a>(
    repository: &str,
    prefixes: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    prefixes
        .into_iter()
        .filter(|p| *p != ROOT_TEMPLATE_PREFIX)
        .filter(|p| {
            repository.len() > p.len()
                && repository.starts_with(p)
                && repository.as_bytes()[p.len()] == b'/'
        })
        .max_by_key(|p| p.len())
}

/// The rule that caches `reference`'s registry (and path, with an upstream repository prefix),
/// and the ECR repository the image lands in. Hosts compare as ECR compares them (Docker Hub
/// aliases folded); several matching rules prefer the most specific upstream prefix.
pub fn rule_for_upstream<'a>(
    rules: &'a [PullThroughCacheRule],
    reference: &crate::core::image_ref::ImageReference,
) -> Option<(&'a PullThroughCacheRule, String)> {
    let host = registries::classify_host(&reference.registry).upstream_registry_url;
    rules
        .iter()
        .filter(|r| {
            registries::classify_host(&r.upstream_registry_url).upstream_registry_url == host
        })
        .filter_map(|r| {
            crate::core::image_ref::ptc_repository_name(
                &r.ecr_repository_prefix,
                r.upstream_repository_prefix.as_deref(),
                reference,
            )
            .ok()
            .map(|name| (r, name))
        })
        .max_by_key(|(r, _)| r.upstream_repository_prefix.as_deref().map_or(0, str::len))
}

/// Reads each image mapping's destination in this account and region and judges it; only the
/// mappings with a problem are returned, by index into `imageMappings`.
pub async fn destination_problems(
    clients: &AwsClients,
    map: &ContainerRegistryMap,
    account: &str,
) -> Vec<(usize, DestinationProblem)> {
    let mut problems = Vec::new();
    for (index, mapping) in map.image_mappings.iter().enumerate() {
        let place = map_destinations::place(mapping, account, &clients.region);
        let state = match &place {
            DestinationPlace::Local {
                repository,
                reference,
                by_digest,
            } => Some(destination_state(clients, repository, reference, *by_digest).await),
            _ => None,
        };
        if let Some(problem) = map_destinations::judge(mapping, &place, state.as_ref()) {
            problems.push((index, problem));
        }
    }
    problems
}

async fn destination_state(
    clients: &AwsClients,
    repository: &str,
    reference: &str,
    by_digest: bool,
) -> DestinationState {
    let selector = if by_digest {
        account::ImageSelector::Digest(reference.to_owned())
    } else {
        account::ImageSelector::Tag(reference.to_owned())
    };
    match ecr::describe_image(&clients.ecr, repository, &selector).await {
        Ok(None) => DestinationState::ImageMissing,
        Ok(Some(_)) => {
            let judged = repository_access(clients, repository, None).await;
            match judged.problem {
                Some(problem) if judged.evaluation.status == AccessStatus::Unknown => {
                    DestinationState::Unknown(problem)
                }
                _ => DestinationState::Present {
                    access: judged.evaluation.status,
                    missing_actions: judged.evaluation.missing_actions(),
                },
            }
        }
        Err(err) if err.kind == AwsErrorKind::NotFound => DestinationState::RepositoryMissing,
        Err(err) => DestinationState::Unknown(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_prefix_needs_a_slash_and_prefers_the_longest() {
        let prefixes = ["quay", "quay/bio", "docker-hub", "ROOT"];
        assert_eq!(
            cache_prefix_for("quay/biocontainers/samtools", prefixes),
            Some("quay")
        );
        assert_eq!(cache_prefix_for("quay/bio/x", prefixes), Some("quay/bio"));
        assert_eq!(cache_prefix_for("quay", prefixes), None);
        assert_eq!(cache_prefix_for("quayx/a", prefixes), None);
        assert_eq!(cache_prefix_for("mine/app", prefixes), None);
    }

    #[test]
    fn invalid_policy_text_is_unknown_with_a_reason() {
        let judged = judge_repository_policy(Some("{not json"), None);
        assert_eq!(judged.evaluation.status, AccessStatus::Unknown);
        assert!(
            judged
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("not a valid IAM policy"))
        );
    }

    #[test]
    fn no_policy_is_not_accessible() {
        let judged = judge_repository_policy(None, None);
        assert_eq!(judged.evaluation.status, AccessStatus::NotAccessible);
        assert!(judged.problem.is_none());
    }
}
