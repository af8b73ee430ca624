//! What CheckContainerAvailability tells the caller to do next: a complete tool call when one
//! fixes the image, else plain advice that names what is missing (the tag upstream, the IAM
//! action). It never suggests the call that just failed.

use serde_json::json;

use crate::core::findings::SuggestedCall;

use crate::core::policy::AccessStatus;
use crate::core::tool_names::{self, ToolName};

/// What a pull through the cache gave, when one was attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    Pulled,
    /// The upstream has no such image (tag or digest).
    NotFoundUpstream,
    /// The caller may not pull through the cache.
    Denied {
        action: String,
    },
    Failed {
        reason: String,
    },
}

/// The cache whose prefix holds the repository, as judged.
#[derive(Debug, Clone)]
pub struct CacheFacts {
    pub prefix: String,
    pub usable: bool,
    /// The catalog name of its upstream (`quay`, `docker-hub`, …) when catalogued.
    pub upstream_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CheckFacts {
    pub repository: String,
    /// The tag or digest asked for.
    pub reference: String,
    pub tag: Option<String>,
    /// The upstream image the repository caches, when known.
    pub upstream: Option<String>,
    pub region: String,
    pub available: bool,
    pub repository_exists: bool,
    pub access: AccessStatus,
    pub cache: Option<CacheFacts>,
    pub pull: Option<PullOutcome>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckAdvice {
    /// A call that fixes it, ready to send.
    pub fix: Option<SuggestedCall>,
    /// What to do when no single call does it (or why the fix is needed).
    pub advice: Option<String>,
}

pub fn advise(f: &CheckFacts) -> CheckAdvice {
    let region = &f.region;
    if let Some(cache) = f.cache.as_ref().filter(|c| !c.usable) {
        return CheckAdvice {
            fix: cache.upstream_name.as_ref().map(|name| {
                SuggestedCall::new(ToolName::CreatePtc, json!({ "upstream_registry": name, "ecr_repository_prefix": cache.prefix, "aws_region": region }))
            }),
            advice: Some(format!(
                "Make the cache `{}` usable by HealthOmics first{}.",
                cache.prefix,
                match cache.upstream_name {
                    Some(_) => " (suggested_fix)",
                    None => "",
                }
            )),
        };
    }
    if !f.available {
        let upstream = f.upstream.as_deref().unwrap_or("the upstream");
        return match (&f.cache, &f.pull) {
            (Some(_), None) => CheckAdvice {
                fix: Some(SuggestedCall::new(
                    ToolName::Check,
                    json!({ "repository_name": f.repository, "image_tag": f.tag, "initiate_pull_through": true, "aws_region": region }),
                )),
                advice: Some("Pull it now (suggested_fix), or let the first run do it.".into()),
            },
            (_, Some(PullOutcome::NotFoundUpstream)) => CheckAdvice {
                fix: None,
                advice: Some(format!(
                    "`{}` does not exist on {upstream}: check the tag or digest there and use one that exists.",
                    f.reference
                )),
            },
            (_, Some(PullOutcome::Denied { action })) => CheckAdvice {
                fix: None,
                advice: Some(format!(
                    "Allow `{action}` (with ecr:BatchGetImage, ecr:BatchImportUpstreamImage and ecr:CreateRepository on `{}`) for this identity, then check again with initiate_pull_through.",
                    f.repository
                )),
            },
            (_, Some(PullOutcome::Failed { reason })) => CheckAdvice {
                fix: None,
                advice: Some(format!(
                    "The cache could not pull it ({reason}): check the cache's credentials with ValidateHealthOmicsECRConfig."
                )),
            },
            (_, Some(PullOutcome::Pulled)) | (None, None) if f.repository_exists => CheckAdvice {
                fix: None,
                advice: Some(format!(
                    "Push it, or copy it in with {} (target_repository_name \"{}\").",
                    tool_names::CLONE,
                    f.repository
                )),
            },
            _ => CheckAdvice {
                fix: Some(SuggestedCall::new(
                    ToolName::ListRepositories,
                    json!({ "aws_region": region }),
                )),
                advice: Some(format!(
                    "None in {region}: check the name with {} (suggested_fix), or copy the image in with {}.",
                    tool_names::LIST_REPOSITORIES,
                    tool_names::CLONE
                )),
            },
        };
    }
    if f.access != AccessStatus::Accessible && f.access != AccessStatus::Unknown {
        return CheckAdvice {
            fix: Some(SuggestedCall::new(
                ToolName::Grant,
                json!({ "repository_name": f.repository, "aws_region": region }),
            )),
            advice: None,
        };
    }
    CheckAdvice::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> CheckFacts {
        CheckFacts {
            repository: "quay/biocontainers/samtools".into(),
            reference: "1.19".into(),
            tag: Some("1.19".into()),
            upstream: Some("quay.io/biocontainers/samtools:1.19".into()),
            region: "us-east-1".into(),
            available: false,
            repository_exists: false,
            access: AccessStatus::NotAccessible,
            cache: Some(CacheFacts {
                prefix: "quay".into(),
                usable: true,
                upstream_name: Some("quay".into()),
            }),
            pull: None,
        }
    }

    fn tool(a: &CheckAdvice) -> Option<&str> {
        a.fix.as_ref().map(|f| f.tool.name())
    }

    #[test]
    fn table() {
        let f = facts();
        assert_eq!(tool(&advise(&f)), Some(tool_names::CHECK));

        let missing_tag = CheckFacts {
            pull: Some(PullOutcome::NotFoundUpstream),
            ..facts()
        };
        let a = advise(&missing_tag);
        assert_eq!(a.fix, None, "never the call that just failed");
        assert!(
            a.advice
                .as_deref()
                .is_some_and(|t| t.contains("`1.19` does not exist on quay.io"))
        );

        let denied = CheckFacts {
            pull: Some(PullOutcome::Denied {
                action: "ecr:BatchImportUpstreamImage".into(),
            }),
            ..facts()
        };
        let a = advise(&denied);
        assert_eq!(a.fix, None);
        assert!(
            a.advice
                .as_deref()
                .is_some_and(|t| t.contains("`ecr:BatchImportUpstreamImage`"))
        );

        let unusable = CheckFacts {
            cache: Some(CacheFacts {
                prefix: "quay".into(),
                usable: false,
                upstream_name: Some("quay".into()),
            }),
            ..facts()
        };
        assert_eq!(tool(&advise(&unusable)), Some(tool_names::CREATE_PTC));

        let no_repo = CheckFacts {
            cache: None,
            upstream: None,
            ..facts()
        };
        let a = advise(&no_repo);
        assert_eq!(tool(&a), Some(tool_names::LIST_REPOSITORIES));
        assert!(a.advice.is_some());

        let empty_repo = CheckFacts {
            cache: None,
            repository_exists: true,
            ..facts()
        };
        let a = advise(&empty_repo);
        assert!(
            a.advice.as_deref().is_some_and(|t| t
                .contains("copy it in with CloneContainerToECR (target_repository_name \"quay/biocontainers/samtools\")"))
        );

        let closed = CheckFacts {
            available: true,
            repository_exists: true,
            ..facts()
        };
        assert_eq!(tool(&advise(&closed)), Some(tool_names::GRANT));

        let fine = CheckFacts {
            available: true,
            repository_exists: true,
            access: AccessStatus::Accessible,
            ..facts()
        };
        assert_eq!(advise(&fine), CheckAdvice::default());
    }
}
