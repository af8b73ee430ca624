//! The whole result of `CheckContainerAvailability` from what the tool read: the verdict on
//! HealthOmics access (the repository policy, or the cache's template for a repository the
//! cache has not created yet, and whether the cache itself is usable), what a pull through the
//! cache did, the message, and the fix or advice.

use schemars::JsonSchema;
use serde::Serialize;

use super::advice::{self, CacheFacts, CheckAdvice, CheckFacts, PullOutcome};
use super::target::Target;
use crate::core::account::ImageDetail;
use crate::core::image_ref::{ImageReference, ecr_image_uri};
use crate::core::image_rules::RuleFinding;
use crate::core::plan::rule_entry::{CacheSummary, cache_summary};
#[cfg(test)]
use crate::core::policy;
use crate::core::policy::{AccessEvaluation, AccessStatus};
use crate::core::registries;
use crate::core::registry_map::{self, Fix};
use crate::core::tool_names;
use crate::core::verdicts::{self, Judged, RuleJudgement};

#[derive(Debug, Serialize, JsonSchema)]
pub struct ImageInfo {
    pub repository_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    pub image_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
    /// Not sent: `platforms` says whether it is a multi-arch index.
    #[serde(skip)]
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlatformInfo {
    pub platform: String,
    pub digest: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckOutput {
    /// The account and region this call read.
    pub account_id: String,
    pub region: String,
    /// The image is in private ECR.
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    pub repository_name: String,
    /// The URI a workflow uses, pinned by digest (absent when the image is not there: the
    /// registry, name and tag give it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_image_uri: Option<String>,
    pub repository_exists: bool,
    pub is_pull_through_cache: bool,
    /// `accessible`, `not_accessible`, `conditional` or `unknown`: can HealthOmics pull it
    /// (repository policy; for a cache also registry policy and template).
    pub healthomics_accessible: AccessStatus,
    /// Required pull actions HealthOmics is not allowed (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_permissions: Vec<String>,
    /// Why HealthOmics cannot plainly pull, in one line (absent when it can, and when the
    /// repository does not exist and no cache would create it: that is the whole story).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Per-action verdicts and deciding statements, when a statement denies or conditions a
    /// pull action, or a note says something about the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessEvaluation>,
    /// The cache the repository belongs to, when HealthOmics cannot use it, and why
    /// (ListPullThroughCacheRules has its full entry; a usable cache is left out: its prefix
    /// begins the repository name and `is_pull_through_cache` says it).
    #[serde(skip_serializing_if = "is_usable_or_none")]
    pub cache: Option<CacheSummary>,
    /// A pull through the cache brought the image in (absent when none was asked for or it
    /// did not).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull_through_initiated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_through_initiation_message: Option<String>,
    /// The pull created the repository (read back; absent when it did not).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repository_created: bool,
    /// Platforms of a multi-arch image (absent for a single image).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformInfo>,
    /// HealthOmics container rules the image breaks or comes close to (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub container_rule_findings: Vec<RuleFinding>,
    /// Why the image's manifest and config could not be inspected, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_problem: Option<String>,
    /// What to do when the image is not available or not pullable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_fix: Option<Fix>,
    /// What was found, whether HealthOmics can pull it, and the next step (the call in
    /// `suggested_fix`, or what to do when no single call fixes it).
    pub message: String,
}

fn is_usable_or_none(cache: &Option<CacheSummary>) -> bool {
    cache.as_ref().is_none_or(|c| c.healthomics_usable)
}

/// What the image's registry showed: its platforms and HealthOmics' container rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageReading {
    pub platforms: Vec<PlatformInfo>,
    pub findings: Vec<RuleFinding>,
}

/// What the cache answered to a pull through it (BatchGetImage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullAnswer {
    /// The image was found (and imported).
    Found { digest: String },
    /// The call answered with a failure for the image (`ImageNotFound`, …).
    Refused { code: String, reason: String },
    /// The call was denied: the action the error names, its message, and the error as shown.
    Denied {
        action: String,
        message: String,
        shown: String,
    },
    /// Any other failure, as shown.
    Failed { shown: String },
}

/// What `initiate_pull_through` did, when it was asked for and the image was missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullAttempt {
    /// Not tried, and why ([`why_not_pull_through`]).
    NotAttempted(String),
    Answered(PullAnswer),
}

/// Why not to pull through the cache, if so: there is none, or HealthOmics cannot use it (a
/// pull would fill a repository HealthOmics cannot read).
pub fn why_not_pull_through(cache: Option<&RuleJudgement>) -> Option<String> {
    match cache {
        None => Some(
            "No pull-through cache covers this repository, so there is nothing to pull through."
                .to_owned(),
        ),
        Some(j) if !j.usable() => Some(format!(
            "Not pulled: HealthOmics cannot use the cache `{}` ({}). Fix it with {} first.",
            j.rule.ecr_repository_prefix,
            j.problems().join("; "),
            tool_names::CREATE_PTC
        )),
        Some(_) => None,
    }
}

/// The repository and image as found, after any pull through the cache.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The repository existed before the call.
    pub existed: bool,
    /// The repository exists after the call (a pull through the cache may create it).
    pub exists_now: bool,
    /// The image, as described after any pull.
    pub image: Option<ImageDetail>,
    pub pull: Option<PullAttempt>,
}

/// Everything the tool read for one check.
#[derive(Debug, Clone)]
pub struct CheckRead {
    pub account: String,
    pub region: String,
    pub target: Target,
    /// Why the pull-through cache rules could not be read, if so (membership is then unknown).
    pub rules_problem: Option<String>,
    /// The cache whose prefix holds the repository, judged.
    pub cache: Option<RuleJudgement>,
    pub found: Found,
    /// The repository's policy, read and judged when the repository exists.
    pub repository_policy: Option<Judged>,
    /// The image's manifest and config, read when the image exists; `Err` says why not.
    pub inspection: Option<Result<ImageReading, String>>,
}

/// The check's result.
pub fn report(read: CheckRead) -> CheckOutput {
    let access = access(&read);
    let target = &read.target;
    let found = read.found;
    let (pull, initiation) = match &found.pull {
        None => (None, None),
        Some(PullAttempt::NotAttempted(why)) => (None, Some(why.clone())),
        Some(PullAttempt::Answered(answer)) => {
            let (outcome, message) = pull_outcome(answer, &target.repository);
            (Some(outcome), Some(message))
        }
    };
    let initiated = pull == Some(PullOutcome::Pulled) && found.image.is_some();
    let (platforms, findings, inspection_problem) = match read.inspection {
        None => (Vec::new(), Vec::new(), None),
        Some(Ok(reading)) => (reading.platforms, reading.findings, None),
        Some(Err(problem)) => (Vec::new(), Vec::new(), Some(problem)),
    };
    let available = found.image.is_some();
    let advice = advice::advise(&CheckFacts {
        repository: target.repository.clone(),
        reference: target.selector.as_str().to_owned(),
        tag: target.tag.clone(),
        upstream: target.upstream.as_ref().map(ToString::to_string),
        region: read.region.clone(),
        available,
        repository_exists: found.exists_now,
        access: access.status,
        cache: read.cache.as_ref().map(|j| CacheFacts {
            prefix: j.rule.ecr_repository_prefix.clone(),
            usable: j.usable(),
            upstream_name: registries::classify_host(&j.rule.upstream_registry_url)
                .info()
                .map(|i| i.name.to_owned()),
        }),
        pull,
    });
    let message = message(
        target,
        Standing {
            available,
            exists: found.exists_now,
            cached: read.cache.is_some(),
            access: access.status,
        },
        initiation.as_deref(),
        findings.len(),
        &advice,
    );
    let uri = ecr_image_uri(
        &read.account,
        &read.region,
        &target.repository,
        target.tag.as_deref(),
        found.image.as_ref().map(|d| d.digest.as_str()),
    );
    CheckOutput {
        account_id: read.account,
        region: read.region,
        available,
        image: found.image.map(|d| ImageInfo {
            repository_name: target.repository.clone(),
            image_tag: target
                .tag
                .clone()
                .filter(|t| d.tags.contains(t))
                .or_else(|| d.tags.first().cloned()),
            image_digest: d.digest,
            image_size_bytes: d.size_bytes,
            pushed_at: d.pushed_at,
            media_type: d.media_type,
        }),
        repository_name: target.repository.clone(),
        ecr_image_uri: available.then_some(uri),
        repository_exists: found.exists_now,
        is_pull_through_cache: read.cache.is_some(),
        healthomics_accessible: access.status,
        // A repository that does not exist and that no cache would create has no policy to
        // fix: its absence is the whole story.
        missing_permissions: if found.exists_now || read.cache.is_some() {
            access.missing_actions()
        } else {
            Vec::new()
        },
        why: if found.exists_now || read.cache.is_some() {
            access.summary()
        } else {
            None
        },
        access: access.says_more_than_summary().then_some(access),
        cache: read.cache.map(cache_summary),
        pull_through_initiated: initiated,
        pull_through_initiation_message: initiation,
        repository_created: !found.existed && found.exists_now,
        platforms,
        container_rule_findings: findings,
        inspection_problem,
        suggested_fix: advice.fix.map(|call| Fix::Tool {
            call,
            why: String::new(),
        }),
        message,
    }
}

/// The result for an upstream reference no cache of the account serves: not in private ECR,
/// and the way to get it there.
pub fn unserved(reference: &ImageReference, account: &str, region: &str) -> CheckOutput {
    CheckOutput {
        account_id: account.to_owned(),
        region: region.to_owned(),
        available: false,
        image: None,
        repository_name: String::new(),
        ecr_image_uri: None,
        repository_exists: false,
        is_pull_through_cache: false,
        healthomics_accessible: AccessStatus::NotAccessible,
        missing_permissions: Vec::new(),
        why: None,
        access: None,
        cache: None,
        pull_through_initiated: false,
        pull_through_initiation_message: None,
        repository_created: false,
        platforms: Vec::new(),
        container_rule_findings: Vec::new(),
        inspection_problem: None,
        message: format!(
            "No pull-through cache in {region} serves `{}`, so `{reference}` is not in private ECR.",
            reference.registry
        ),
        suggested_fix: Some(registry_map::fix_for_upstream(reference).in_region(region)),
    }
}

/// What the pull's answer means for the advice, and how the result says it.
fn pull_outcome(answer: &PullAnswer, repository: &str) -> (PullOutcome, String) {
    match answer {
        PullAnswer::Found { digest } => (
            PullOutcome::Pulled,
            format!("Pulled through the cache: {repository}@{digest}."),
        ),
        PullAnswer::Refused { code, reason } => (
            if code == "ImageNotFound" {
                PullOutcome::NotFoundUpstream
            } else {
                PullOutcome::Failed {
                    reason: format!("{code}: {reason}"),
                }
            },
            format!("The cache could not pull the image: {code}: {reason}"),
        ),
        PullAnswer::Denied {
            action,
            message,
            shown,
        } => {
            // The import step is denied as the call it is part of; name the action the
            // message names when it does.
            let action = if message.contains("BatchImportUpstreamImage") {
                "ecr:BatchImportUpstreamImage".to_owned()
            } else {
                action.clone()
            };
            (
                PullOutcome::Denied { action },
                format!("Not pulled: {shown}."),
            )
        }
        PullAnswer::Failed { shown } => (
            PullOutcome::Failed {
                reason: shown.clone(),
            },
            format!("The pull failed: {shown}"),
        ),
    }
}

/// Can HealthOmics pull it: the repository policy as stored now; a repository the cache has
/// not created yet gets its template's policy, and an unusable cache is never accessible for
/// a repository it would still have to create.
fn access(read: &CheckRead) -> AccessEvaluation {
    let judged = match (&read.repository_policy, &read.cache) {
        (Some(judged), _) => judged.clone(),
        (None, Some(j)) => j.template.judged.clone(),
        (None, None) => verdicts::judge_repository_policy(None, None),
    };
    let mut access = judged.evaluation;
    access.notes.extend(read.rules_problem.clone());
    if let Some(j) = read.cache.as_ref().filter(|j| !j.usable()) {
        access.notes.push(format!(
            "the pull-through cache `{}` is not usable by HealthOmics: {}",
            j.rule.ecr_repository_prefix,
            j.problems().join("; ")
        ));
        if access.status == AccessStatus::Accessible && !read.found.exists_now {
            access.status = AccessStatus::NotAccessible;
        }
    }
    access
}

/// Where the image stands, for the message.
struct Standing {
    available: bool,
    exists: bool,
    /// A cache's prefix holds the repository.
    cached: bool,
    access: AccessStatus,
}

fn message(
    target: &Target,
    standing: Standing,
    initiation: Option<&str>,
    findings: usize,
    advice: &CheckAdvice,
) -> String {
    let Standing {
        available,
        exists,
        cached,
        access,
    } = standing;
    let name = format!("{}:{}", target.repository, target.selector.as_str())
        .replace(":sha256:", "@sha256:");
    let mut text = match (available, exists) {
        (true, _) => format!("Image found: {name}."),
        (false, true) => format!("Image not found: {name} (the repository exists)."),
        (false, false) if cached => format!(
            "Not pulled yet: the cache creates `{}` on the first pull.",
            target.repository
        ),
        (false, false) => format!("Repository `{}` does not exist.", target.repository),
    };
    if let Some(upstream) = &target.upstream {
        text.push_str(&format!(" It is the cached copy of `{upstream}`."));
    }
    // A repository that is not there and that no cache creates has no access to speak of.
    let absent = !exists && !cached;
    if !absent {
        text.push_str(match access {
            AccessStatus::Accessible if !exists => " HealthOmics can pull it then.",
            AccessStatus::Accessible => " HealthOmics can pull it.",
            AccessStatus::Conditional => {
                " HealthOmics can pull it only under conditions in the policy."
            }
            AccessStatus::NotAccessible if advice.fix.is_some() && advice.advice.is_none() => {
                " HealthOmics cannot pull it; see suggested_fix."
            }
            AccessStatus::NotAccessible => " HealthOmics cannot pull it.",
            AccessStatus::Unknown => " Whether HealthOmics can pull it could not be determined.",
        });
    }
    if let Some(initiation) = initiation {
        text.push(' ');
        text.push_str(initiation);
    }
    if findings > 0 {
        text.push_str(&format!(" {findings} container rule finding(s)."));
    }
    if let Some(next) = &advice.advice {
        text.push(' ');
        text.push_str(next);
    }
    text
}

#[cfg(test)]
mod tests {
    fn fix_tool(fix: &Fix) -> Option<&'static str> {
        match fix {
            Fix::Tool { call, .. } => Some(call.tool.name()),
            Fix::Edit { .. } => None,
        }
    }

    use super::*;
    use crate::core::account::ImageSelector;
    use crate::core::plan::fixtures::{ACCOUNT, ALL_THREE, DIGEST, GUIDE_TWO, REGION};

    fn policy(text: &str) -> Option<Judged> {
        Some(verdicts::judge_repository_policy(Some(text), None))
    }

    /// The policy could not be read (GetRepositoryPolicy denied).
    fn unreadable() -> Option<Judged> {
        let problem = "could not read it: `ecr:GetRepositoryPolicy` is denied".to_owned();
        Some(Judged {
            evaluation: AccessEvaluation::unknown(&policy::REPOSITORY_PULL_ACTIONS, &problem),
            document: None,
            problem: Some(problem),
        })
    }

    /// The `quay` cache; without a registry policy HealthOmics cannot use it.
    fn cache(usable: bool) -> Option<RuleJudgement> {
        Some(crate::core::plan::fixtures::cache(
            "quay", "quay.io", usable,
        ))
    }

    fn image() -> Option<ImageDetail> {
        Some(ImageDetail {
            digest: DIGEST.into(),
            tags: vec!["1.19".into()],
            size_bytes: Some(1024),
            pushed_at: None,
            media_type: None,
        })
    }

    fn found(existed: bool, image: Option<ImageDetail>) -> Found {
        Found {
            existed,
            exists_now: existed,
            image,
            pull: None,
        }
    }

    /// `mine/app:1.19`, not in any cache, not there.
    fn read() -> CheckRead {
        CheckRead {
            account: ACCOUNT.into(),
            region: REGION.into(),
            target: Target {
                repository: "mine/app".into(),
                selector: ImageSelector::Tag("1.19".into()),
                tag: Some("1.19".into()),
                upstream: None,
            },
            rules_problem: None,
            cache: None,
            found: found(false, None),
            repository_policy: None,
            inspection: None,
        }
    }

    /// `quay.io/biocontainers/samtools:1.19` through the `quay` cache, not cached yet, pulled.
    fn cached(usable: bool, answer: PullAnswer) -> CheckRead {
        let reference = ImageReference::parse("quay.io/biocontainers/samtools:1.19").unwrap();
        let mut read = read();
        read.target.repository = "quay/biocontainers/samtools".into();
        read.target.upstream = Some(reference);
        read.cache = cache(usable);
        read.found.pull = Some(PullAttempt::Answered(answer));
        read
    }

    struct Expect {
        status: AccessStatus,
        missing: &'static [&'static str],
        fix: Option<&'static str>,
        advice: Option<&'static str>,
        message: &'static [&'static str],
    }

    #[test]
    fn table() {
        let denied = "User: arn:aws:iam::123456789012:user/u is not authorized to perform: ecr:BatchImportUpstreamImage";
        let cases: Vec<(&str, CheckRead, Expect)> = vec![
            (
                "repository missing",
                read(),
                Expect {
                    // No repository and no cache to create it: nothing to grant on.
                    status: AccessStatus::NotAccessible,
                    missing: &[],
                    fix: Some(tool_names::LIST_REPOSITORIES),
                    advice: Some("None in us-east-1: check the name with ListECRRepositories"),
                    message: &["Repository `mine/app` does not exist. None in"],
                },
            ),
            (
                "exists without the image",
                CheckRead {
                    found: found(true, None),
                    repository_policy: policy(ALL_THREE),
                    ..read()
                },
                Expect {
                    status: AccessStatus::Accessible,
                    missing: &[],
                    fix: None,
                    advice: Some("Push it, or copy it in with CloneContainerToECR"),
                    message: &[
                        "Image not found: mine/app:1.19 (the repository exists). HealthOmics can pull it.",
                    ],
                },
            ),
            (
                "present and accessible",
                CheckRead {
                    found: found(true, image()),
                    repository_policy: policy(ALL_THREE),
                    inspection: Some(Ok(ImageReading::default())),
                    ..read()
                },
                Expect {
                    status: AccessStatus::Accessible,
                    missing: &[],
                    fix: None,
                    advice: None,
                    message: &["Image found: mine/app:1.19. HealthOmics can pull it."],
                },
            ),
            (
                "present, the policy lacks an action",
                CheckRead {
                    found: found(true, image()),
                    repository_policy: policy(GUIDE_TWO),
                    ..read()
                },
                Expect {
                    status: AccessStatus::NotAccessible,
                    missing: &["ecr:BatchCheckLayerAvailability"],
                    fix: Some(tool_names::GRANT),
                    advice: None,
                    message: &["HealthOmics cannot pull it; see suggested_fix."],
                },
            ),
            (
                "the policy could not be read",
                CheckRead {
                    found: found(true, image()),
                    repository_policy: unreadable(),
                    ..read()
                },
                Expect {
                    status: AccessStatus::Unknown,
                    missing: &[],
                    fix: None,
                    advice: None,
                    message: &["Whether HealthOmics can pull it could not be determined."],
                },
            ),
            (
                "a cache serves it but HealthOmics cannot use the cache",
                CheckRead {
                    found: found(false, None),
                    ..cached(
                        false,
                        PullAnswer::Failed {
                            shown: String::new(),
                        },
                    )
                },
                Expect {
                    // The template would grant; the cache would still not let HealthOmics in.
                    status: AccessStatus::NotAccessible,
                    missing: &[],
                    fix: Some(tool_names::CREATE_PTC),
                    advice: Some("Make the cache `quay` usable by HealthOmics first"),
                    message: &["It is the cached copy of `quay.io/biocontainers/samtools:1.19`."],
                },
            ),
            (
                "the tag does not exist upstream",
                cached(
                    true,
                    PullAnswer::Refused {
                        code: "ImageNotFound".into(),
                        reason: "no such tag".into(),
                    },
                ),
                Expect {
                    status: AccessStatus::Accessible,
                    missing: &[],
                    fix: None,
                    advice: Some("`1.19` does not exist on quay.io/biocontainers/samtools:1.19"),
                    message: &["The cache could not pull the image: ImageNotFound: no such tag"],
                },
            ),
            (
                "the pull is denied",
                cached(
                    true,
                    PullAnswer::Denied {
                        action: "ecr:BatchGetImage".into(),
                        message: denied.into(),
                        shown: format!("ecr:BatchGetImage is denied: {denied}"),
                    },
                ),
                Expect {
                    status: AccessStatus::Accessible,
                    missing: &[],
                    fix: None,
                    advice: Some("Allow `ecr:BatchImportUpstreamImage`"),
                    message: &["Not pulled: ecr:BatchGetImage is denied"],
                },
            ),
        ];
        for (name, read, expect) in cases {
            let out = report(read);
            assert_eq!(out.healthomics_accessible, expect.status, "{name}");
            assert_eq!(out.missing_permissions, expect.missing, "{name}");
            let fix = out.suggested_fix.as_ref();
            assert_eq!(fix.and_then(fix_tool), expect.fix, "{name}: {fix:?}");
            // The next step ends the one message.
            if let Some(text) = expect.advice {
                let at = out.message.find(text);
                assert!(at.is_some(), "{name}: {}", out.message);
                assert!(
                    !out.message[at.unwrap_or(0)..].contains(". HealthOmics"),
                    "{name}"
                );
            }
            for text in expect.message {
                assert!(out.message.contains(text), "{name}: {}", out.message);
            }
            // The message never points at a fix the result does not carry.
            assert_eq!(
                out.message.contains("suggested_fix"),
                out.suggested_fix.is_some(),
                "{name}: {}",
                out.message
            );
        }
    }

    #[test]
    fn an_unusable_cache_is_noted_and_described() {
        let out = report(CheckRead {
            found: found(false, None),
            ..cached(
                false,
                PullAnswer::Failed {
                    shown: String::new(),
                },
            )
        });
        assert!(out.is_pull_through_cache);
        assert!(out.cache.as_ref().is_some_and(|c| !c.healthomics_usable));
        let notes = out.access.map(|a| a.notes).unwrap_or_default();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`quay` is not usable by HealthOmics")),
            "{notes:?}"
        );
        let why = why_not_pull_through(cache(false).as_ref()).unwrap();
        assert!(
            why.starts_with("Not pulled: HealthOmics cannot use the cache `quay`"),
            "{why}"
        );
        assert!(
            why_not_pull_through(None)
                .unwrap()
                .starts_with("No pull-through cache")
        );
        assert_eq!(why_not_pull_through(cache(true).as_ref()), None);
    }

    #[test]
    fn a_pull_that_found_the_image_is_reported_as_done() {
        let mut read = cached(
            true,
            PullAnswer::Found {
                digest: DIGEST.into(),
            },
        );
        read.found.image = image();
        read.found.exists_now = true;
        read.repository_policy = policy(ALL_THREE);
        let out = report(read);
        assert!(out.available && out.pull_through_initiated && out.repository_created);
        assert!(
            out.message
                .contains("Pulled through the cache: quay/biocontainers/samtools@sha256:")
        );
        let uri = out.ecr_image_uri.unwrap_or_default();
        assert!(
            uri.ends_with(&format!("quay/biocontainers/samtools:1.19@{DIGEST}")),
            "{uri}"
        );
        assert_eq!(out.image.and_then(|i| i.image_tag).as_deref(), Some("1.19"));
        assert_eq!(out.suggested_fix, None);
    }

    #[test]
    fn the_inspection_and_the_rules_problem_are_reported() {
        let mut read = CheckRead {
            found: found(true, image()),
            repository_policy: policy(ALL_THREE),
            rules_problem: Some("pull-through cache membership is unknown: denied".into()),
            inspection: Some(Err("the registry refused: retry".into())),
            ..read()
        };
        read.target.selector = ImageSelector::Digest(DIGEST.into());
        read.target.tag = None;
        let out = report(read);
        assert_eq!(
            out.inspection_problem.as_deref(),
            Some("the registry refused: retry")
        );
        // A note is never dropped: the evaluation comes with it even when HealthOmics can pull.
        let notes = out.access.map(|a| a.notes).unwrap_or_default();
        assert!(notes.iter().any(|n| n.contains("membership is unknown")));
        assert!(
            out.message
                .starts_with(&format!("Image found: mine/app@{DIGEST}.")),
            "{}",
            out.message
        );
    }

    #[test]
    fn an_unserved_upstream_gets_the_way_in_for_its_registry() {
        for (image, fix) in [
            ("ghcr.io/o/tool:1", Some(tool_names::CREATE_PTC)),
            ("registry.example.org/o/tool:1", Some(tool_names::CLONE)),
            ("community.wave.seqera.io/library/tool:1", None),
        ] {
            let reference = ImageReference::parse(image).unwrap();
            let out = unserved(&reference, ACCOUNT, REGION);
            assert!(!out.available && !out.repository_exists, "{image}");
            assert!(
                out.message
                    .starts_with("No pull-through cache in us-east-1 serves"),
                "{image}"
            );
            let shown = out.suggested_fix.unwrap();
            assert_eq!(fix_tool(&shown), fix, "{image}: {shown:?}");
            match &shown {
                Fix::Edit { kind, mapping, .. } => {
                    assert_eq!(*kind, registry_map::MapEdit::AddCopyMapping);
                    assert_eq!(mapping.upstream_registry_url, "community.wave.seqera.io");
                }
                Fix::Tool { call, .. } => {
                    assert_eq!(
                        call.arguments.get("aws_region").and_then(|r| r.as_str()),
                        Some(REGION)
                    );
                }
            }
        }
    }
}
