//! HealthOmics access verdicts on what was read from the account: repository policies, the
//! registry policy, repository creation templates and pull-through cache rules. Every tool that
//! reports on repositories or caches judges here, so every tool gives the same verdict, in the
//! same words, for the same state. The reads themselves are `aws::account_reads`.
//!
//! Reading problems (denied, invalid JSON) become an `unknown` verdict with the reason, never a
//! silent "no policy": a missing permission must not look like a missing grant.

use crate::core::account::{CreationTemplate, PullThroughCacheRule};
use crate::core::image_ref::{self, ImageReference};
use crate::core::plan::map_destinations::DestinationState;
use crate::core::policy::{
    self, AccessEvaluation, AccessStatus, PolicyDocument, Principal, ResourceTarget,
};
use crate::core::registries::{self, AccessPath};

/// The template prefix ECR falls back to when no template matches a repository's prefix.
pub use crate::core::image_ref::ROOT_PREFIX as ROOT_TEMPLATE_PREFIX;

/// How an AWS call failed, sorted by what the caller can do about it. Defined here rather than in
/// `aws` so that a verdict can say why a read failed ([`Unreadable`]) without depending on I/O;
/// `aws` classifies SDK errors into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    AccessDenied,
    NotFound,
    Throttled,
    InvalidParameter,
    Conflict,
    NoCredentials,
    Unreachable,
    /// No answer within the configured timeout (`--aws-timeout`).
    TimedOut,
    Other,
}

/// A read of the account that failed: which IAM action, how, and the AWS message (never a
/// secret). Judging turns it into an `unknown` verdict with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} failed: {message}")]
pub struct Unreadable {
    /// The IAM action of the read, e.g. `ecr:GetRegistryPolicy`.
    pub action: String,
    pub kind: AwsErrorKind,
    /// The AWS error code, e.g. `AccessDeniedException`.
    pub code: Option<String>,
    pub message: String,
}

impl Unreadable {
    /// The read was refused by IAM (as opposed to failing for another reason).
    pub fn denied(&self) -> bool {
        self.kind == AwsErrorKind::AccessDenied
    }
}

/// A policy read and judged.
#[derive(Debug, Clone)]
pub struct Judged {
    pub evaluation: AccessEvaluation,
    pub document: Option<PolicyDocument>,
    /// Why the verdict is `unknown`, when it is.
    pub problem: Option<String>,
}

/// The verdict for one repository policy text (`None` = the repository has no policy).
pub fn judge_repository_policy(text: Option<&str>, repository_arn: Option<&str>) -> Judged {
    let actions = &policy::REPOSITORY_PULL_ACTIONS;
    let target = repository_arn.map_or(ResourceTarget::Any, |arn| ResourceTarget::Arn(arn.into()));
    let mut judged = judge(text, actions, &target, "repository policy");
    policy::note_when_stricter_than_guide(&mut judged.evaluation);
    judged
}

/// The verdict for a repository whose policy could not be read.
pub fn unreadable_repository_policy(failure: &Unreadable) -> Judged {
    unreadable(&policy::REPOSITORY_PULL_ACTIONS, failure)
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

fn unreadable(actions: &[&str], failure: &Unreadable) -> Judged {
    let problem = if failure.denied() {
        format!("could not read it: `{}` is denied", failure.action)
    } else {
        format!("could not read it: {failure}")
    };
    Judged {
        evaluation: AccessEvaluation::unknown(actions, &problem),
        document: None,
        problem: Some(problem),
    }
}

/// What a mapping's destination image, found in its repository, means for HealthOmics, given
/// the judged repository policy.
pub fn destination_access(judged: Judged) -> DestinationState {
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

/// The registry policy, read once per tool call.
#[derive(Debug, Clone)]
pub enum RegistryPolicy {
    Absent,
    Present { text: String },
    Unreadable(Unreadable),
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
            Self::Unreadable(failure) => unreadable(actions, failure),
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
    Unreadable(Unreadable),
}

/// The template prefixes to read for these cache prefixes: each once, sorted, plus ROOT (ECR's
/// fallback).
pub fn template_prefixes_to_read(prefixes: &[String]) -> Vec<String> {
    let mut wanted: Vec<String> = prefixes.to_vec();
    wanted.push(ROOT_TEMPLATE_PREFIX.to_owned());
    wanted.sort();
    wanted.dedup();
    wanted
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
            Self::Unreadable(failure) => {
                return TemplateJudgement {
                    template: None,
                    from_root: false,
                    applies_to_pull_through_cache: false,
                    judged: unreadable(actions, failure),
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

/// Judges each rule against one registry policy and one batch of templates. A rule without a
/// registry id belongs to `fallback_account` (the caller's).
pub fn judge_rules(
    rules: Vec<PullThroughCacheRule>,
    registry: &RegistryPolicy,
    templates: &Templates,
    partition: &str,
    region: &str,
    fallback_account: &str,
) -> Vec<RuleJudgement> {
    rules
        .into_iter()
        .map(|rule| {
            let account = rule.registry_id.as_deref().unwrap_or(fallback_account);
            let prefix = &rule.ecr_repository_prefix;
            RuleJudgement {
                upstream_path: registries::classify_host(&rule.upstream_registry_url).access_path,
                registry: registry.judge_prefix(partition, region, account, prefix),
                template: templates.judge_prefix(prefix),
                rule,
            }
        })
        .collect()
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
                "the registry policy does not allow HealthOmics {} on `{prefix}/*`",
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
                "the template's repository policy does not allow HealthOmics {}",
                j.template.judged.evaluation.missing_actions().join(", ")
            ));
        }
        problems
    }
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
    reference: &ImageReference,
) -> Option<(&'a PullThroughCacheRule, String)> {
    let host = registries::classify_host(&reference.registry).upstream_registry_url;
    rules
        .iter()
        .filter(|r| {
            registries::classify_host(&r.upstream_registry_url).upstream_registry_url == host
        })
        .filter_map(|r| {
            image_ref::ptc_repository_name(
                &r.ecr_repository_prefix,
                r.upstream_repository_prefix.as_deref(),
                reference,
            )
            .ok()
            .map(|name| (r, name))
        })
        .max_by_key(|(r, _)| r.upstream_repository_prefix.as_deref().map_or(0, str::len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::policy::Verdict;

    const ARN: &str = "arn:aws:ecr:us-east-1:111122223333:repository/quay/biocontainers/samtools";

    fn healthomics_policy(effect: &str, actions: &[&str]) -> String {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "HealthOmics",
                "Effect": effect,
                "Principal": { "Service": "omics.amazonaws.com" },
                "Action": actions,
            }]
        })
        .to_string()
    }

    fn denied_read() -> Unreadable {
        Unreadable {
            action: "ecr:GetRegistryPolicy".into(),
            kind: AwsErrorKind::AccessDenied,
            code: Some("AccessDeniedException".into()),
            message: "AccessDeniedException: not allowed".into(),
        }
    }

    fn rule(prefix: &str, upstream: &str, upstream_prefix: Option<&str>) -> PullThroughCacheRule {
        PullThroughCacheRule {
            ecr_repository_prefix: prefix.into(),
            upstream_registry_url: upstream.into(),
            upstream_registry: None,
            credential_arn: None,
            custom_role_arn: None,
            upstream_repository_prefix: upstream_prefix.map(str::to_owned),
            registry_id: Some("111122223333".into()),
            created_at: None,
            updated_at: None,
        }
    }

    fn template(prefix: &str, applied_for: &[&str], policy: Option<String>) -> CreationTemplate {
        CreationTemplate {
            prefix: prefix.into(),
            description: None,
            applied_for: applied_for.iter().map(|a| (*a).to_owned()).collect(),
            repository_policy: policy,
            image_tag_mutability: None,
            custom_role_arn: None,
        }
    }

    #[test]
    fn repository_policy_verdicts() {
        let guide = healthomics_policy(
            "Allow",
            &["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        );
        let all = healthomics_policy("Allow", &policy::REPOSITORY_PULL_ACTIONS);
        let deny = healthomics_policy("Deny", &["ecr:BatchGetImage"]);
        struct Case<'a> {
            name: &'a str,
            text: Option<&'a str>,
            status: AccessStatus,
            missing: Vec<&'a str>,
            /// How the reason for `unknown` starts.
            problem: Option<&'a str>,
            /// A note the evaluation carries.
            note: Option<&'a str>,
        }
        let cases = [
            Case {
                name: "no policy",
                text: None,
                status: AccessStatus::NotAccessible,
                missing: policy::REPOSITORY_PULL_ACTIONS.to_vec(),
                problem: None,
                note: Some("there is no policy"),
            },
            Case {
                name: "the guide's two actions (AWS's documentation lists a third)",
                text: Some(&guide),
                status: AccessStatus::NotAccessible,
                missing: vec!["ecr:BatchCheckLayerAvailability"],
                problem: None,
                note: Some("AWS's HealthOmics documentation requires all three"),
            },
            Case {
                name: "all three actions",
                text: Some(&all),
                status: AccessStatus::Accessible,
                missing: vec![],
                problem: None,
                note: None,
            },
            Case {
                name: "a deny",
                text: Some(&deny),
                status: AccessStatus::NotAccessible,
                missing: policy::REPOSITORY_PULL_ACTIONS.to_vec(),
                problem: None,
                note: None,
            },
            Case {
                name: "unparseable text",
                text: Some("{not json"),
                status: AccessStatus::Unknown,
                missing: vec![],
                problem: Some("the repository policy is not a valid IAM policy: "),
                note: None,
            },
        ];
        for case in cases {
            let name = case.name;
            let judged = judge_repository_policy(case.text, Some(ARN));
            assert_eq!(judged.evaluation.status, case.status, "{name}");
            assert_eq!(judged.evaluation.missing_actions(), case.missing, "{name}");
            match case.problem {
                Some(p) => assert!(
                    judged
                        .problem
                        .as_deref()
                        .is_some_and(|got| got.starts_with(p)),
                    "{name}: {:?}",
                    judged.problem
                ),
                None => assert!(judged.problem.is_none(), "{name}"),
            }
            if let Some(n) = case.note {
                assert!(
                    judged.evaluation.notes.iter().any(|got| got.contains(n)),
                    "{name}: {:?}",
                    judged.evaluation.notes
                );
            }
            assert_eq!(
                judged.document.is_some(),
                case.text.is_some() && case.problem.is_none(),
                "{name}"
            );
        }
        let deny = judge_repository_policy(Some(&deny), None);
        assert_eq!(deny.evaluation.denied_actions(), ["ecr:BatchGetImage"]);
    }

    #[test]
    fn an_unreadable_policy_is_unknown_and_names_the_denied_action() {
        let judged = unreadable_repository_policy(&denied_read());
        assert_eq!(judged.evaluation.status, AccessStatus::Unknown);
        assert_eq!(
            judged.problem.as_deref(),
            Some("could not read it: `ecr:GetRegistryPolicy` is denied")
        );
        assert!(judged.evaluation.missing_actions().is_empty());

        let throttled = Unreadable {
            kind: AwsErrorKind::Throttled,
            message: "ThrottlingException: slow down".into(),
            ..denied_read()
        };
        assert_eq!(
            unreadable_repository_policy(&throttled).problem.as_deref(),
            Some("could not read it: ecr:GetRegistryPolicy failed: ThrottlingException: slow down")
        );
    }

    #[test]
    fn registry_policy_verdicts_per_prefix() {
        let allow = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "omics.amazonaws.com" },
                "Action": policy::REGISTRY_PULL_THROUGH_ACTIONS,
                "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/quay/*",
            }]
        })
        .to_string();
        let cases = [
            (
                "absent",
                RegistryPolicy::Absent,
                "quay",
                AccessStatus::NotAccessible,
            ),
            (
                "present",
                RegistryPolicy::Present {
                    text: allow.clone(),
                },
                "quay",
                AccessStatus::Accessible,
            ),
            (
                "present",
                RegistryPolicy::Present { text: allow },
                "docker-hub",
                AccessStatus::NotAccessible,
            ),
            (
                "unreadable",
                RegistryPolicy::Unreadable(denied_read()),
                "quay",
                AccessStatus::Unknown,
            ),
        ];
        for (state, registry, prefix, status) in cases {
            assert_eq!(registry.state(), state);
            let judged = registry.judge_prefix("aws", "us-east-1", "111122223333", prefix);
            assert_eq!(judged.evaluation.status, status, "{state} {prefix}");
        }
        let planned =
            PolicyDocument::parse(&healthomics_policy("Allow", &["ecr:CreateRepository"])).ok();
        assert_eq!(
            RegistryPolicy::from_document(planned.as_ref()).state(),
            "present"
        );
        assert_eq!(RegistryPolicy::from_document(None).state(), "absent");
    }

    #[test]
    fn the_exact_template_wins_and_root_is_the_fallback() {
        let all = healthomics_policy("Allow", &policy::REPOSITORY_PULL_ACTIONS);
        let read = Templates::Read(vec![
            template("quay", &["PULL_THROUGH_CACHE"], Some(all.clone())),
            template("ROOT", &["CREATE_ON_PUSH"], Some(all)),
        ]);
        let exact = read.judge_prefix("quay");
        assert!(!exact.from_root && exact.applies_to_pull_through_cache);
        assert_eq!(exact.judged.evaluation.status, AccessStatus::Accessible);
        let root = read.judge_prefix("docker-hub");
        assert!(root.from_root && !root.applies_to_pull_through_cache);
        let none = Templates::Read(vec![]).judge_prefix("quay");
        assert!(none.template.is_none() && none.judged.problem.is_none());
        let unreadable = Templates::Unreadable(denied_read()).judge_prefix("quay");
        assert!(unreadable.template.is_none());
        assert_eq!(unreadable.judged.evaluation.status, AccessStatus::Unknown);
        assert_eq!(
            template_prefixes_to_read(&["quay".into(), "ROOT".into(), "ecr-public".into()]),
            ["ROOT", "ecr-public", "quay"]
        );
    }

    #[test]
    fn a_cache_lists_every_reason_it_is_unusable() {
        let rules = vec![
            rule("quay", "quay.io", None),
            rule("hub", "registry-1.docker.io", None),
        ];
        let templates = Templates::Read(vec![template("quay", &["CREATE_ON_PUSH"], None)]);
        let judged = judge_rules(
            rules,
            &RegistryPolicy::Absent,
            &templates,
            "aws",
            "us-east-1",
            "111122223333",
        );
        assert!(judged.iter().all(|j| !j.usable()));
        assert_eq!(
            judged[0].problems(),
            [
                "the registry policy does not allow HealthOmics ecr:CreateRepository, ecr:BatchImportUpstreamImage on `quay/*`",
                "the repository creation template is not applied for PULL_THROUGH_CACHE",
            ]
        );
        assert_eq!(
            judged[1].problems()[1],
            "no repository creation template applies to prefix `hub`"
        );

        let unreadable = judge_rules(
            vec![rule("quay", "quay.io", None)],
            &RegistryPolicy::Unreadable(denied_read()),
            &Templates::Unreadable(denied_read()),
            "aws",
            "us-east-1",
            "111122223333",
        );
        assert_eq!(
            unreadable[0].problems(),
            [
                "registry policy: could not read it: `ecr:GetRegistryPolicy` is denied",
                "template: could not read it: `ecr:GetRegistryPolicy` is denied",
            ]
        );
    }

    #[test]
    fn a_destination_image_is_present_or_unknown() {
        let present = destination_access(judge_repository_policy(None, None));
        assert!(matches!(
            present,
            DestinationState::Present { access: AccessStatus::NotAccessible, ref missing_actions }
                if missing_actions.len() == 3
        ));
        let unknown = destination_access(unreadable_repository_policy(&denied_read()));
        assert_eq!(
            unknown,
            DestinationState::Unknown(
                "could not read it: `ecr:GetRegistryPolicy` is denied".into()
            )
        );
    }

    #[test]
    fn cache_prefix_needs_a_slash_and_prefers_the_longest() {
        let prefixes = ["quay", "quay/bio", "docker-hub", "ROOT"];
        let cases = [
            ("quay/biocontainers/samtools", Some("quay")),
            ("quay/bio/x", Some("quay/bio")),
            ("quay", None),
            ("quayx/a", None),
            ("mine/app", None),
            ("ROOT/x", None),
        ];
        for (repository, want) in cases {
            assert_eq!(cache_prefix_for(repository, prefixes), want, "{repository}");
        }
    }

    #[test]
    fn the_rule_for_an_upstream_matches_host_aliases_and_the_longest_upstream_prefix() {
        let rules = vec![
            rule("quay", "quay.io", None),
            rule("quay-bio", "quay.io", Some("biocontainers")),
            rule("hub", "registry-1.docker.io", None),
        ];
        let cases = [
            (
                "quay.io/biocontainers/samtools:1.17",
                Some(("quay-bio", "quay-bio/samtools")),
            ),
            ("quay.io/other/tool:1", Some(("quay", "quay/other/tool"))),
            (
                "docker.io/library/ubuntu:22.04",
                Some(("hub", "hub/library/ubuntu")),
            ),
            ("ubuntu:22.04", Some(("hub", "hub/library/ubuntu"))),
            ("ghcr.io/org/tool:1", None),
        ];
        for (image, want) in cases {
            let reference = ImageReference::parse(image).expect(image);
            let got = rule_for_upstream(&rules, &reference)
                .map(|(r, name)| (r.ecr_repository_prefix.clone(), name));
            assert_eq!(
                got,
                want.map(|(p, n)| (p.to_owned(), n.to_owned())),
                "{image}"
            );
        }
    }

    #[test]
    fn verdict_of_a_deny_is_denied_per_action() {
        let deny = healthomics_policy("Deny", &policy::REPOSITORY_PULL_ACTIONS);
        let judged = judge_repository_policy(Some(&deny), Some(ARN));
        assert!(
            judged
                .evaluation
                .actions
                .iter()
                .all(|a| a.verdict == Verdict::Denied)
        );
    }
}
