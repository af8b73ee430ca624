//! ListECRRepositories' result, sized for an assistant: counts and the next call first, then one
//! short row per repository. A row keeps the verdict and what is missing; the per-action detail
//! comes only when asked for, and URIs and ARNs are left out because the registry and the name
//! give them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::account::Repository;
use crate::core::image_ref::ecr_registry_host;
use crate::core::policy::{AccessEvaluation, AccessStatus};
use crate::core::tool_names;
use crate::core::verdicts::{self, Judged};

#[derive(Debug, Serialize, JsonSchema)]
pub struct RepositoryEntry {
    pub repository_name: String,
    /// With `detail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// `accessible`, `not_accessible`, `conditional` (only conditional statements grant) or
    /// `unknown` (the policy could not be read; see `policy_problem`).
    pub healthomics_accessible: AccessStatus,
    /// Why HealthOmics cannot plainly pull, in one line: the actions not allowed and the
    /// statement that decided (absent when accessible or unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// With `detail`: required pull actions HealthOmics is not allowed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_permissions: Vec<String>,
    /// With `detail`: every action's verdict and the statement that decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessEvaluation>,
    /// The pull-through cache prefix this repository sits under, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_through_cache_prefix: Option<String>,
    /// Why the verdict is `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_problem: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListRepositoriesOutput {
    /// The account this call read: not sent, `registry` names it (both absent when it could
    /// not be asked).
    #[serde(skip)]
    pub account_id: Option<String>,
    pub region: String,
    /// The registry host, with the account: a repository's URI is
    /// `<registry>/<repository_name>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// What the page holds and what to do next, in one line.
    pub message: String,
    /// Repositories in this response by verdict.
    pub counts: BTreeMap<AccessStatus, usize>,
    pub repositories: Vec<RepositoryEntry>,
    /// Pass back as `next_token` for more; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Repositories in this response.
    pub total_count: usize,
    /// Things the caller should know, e.g. that cache prefixes could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One repository's row: the verdict and why in one line; `detail` adds the creation time, the
/// missing actions and the per-action verdicts.
pub fn entry(
    repo: Repository,
    judged: Judged,
    prefixes: &[String],
    detail: bool,
) -> RepositoryEntry {
    let prefix = verdicts::cache_prefix_for(&repo.name, prefixes.iter().map(String::as_str))
        .map(str::to_owned);
    let evaluation = judged.evaluation;
    RepositoryEntry {
        missing_permissions: if detail {
            evaluation.missing_actions()
        } else {
            Vec::new()
        },
        why: evaluation.summary(),
        healthomics_accessible: evaluation.status,
        access: detail.then_some(evaluation),
        pull_through_cache_prefix: prefix,
        policy_problem: judged.problem,
        repository_name: repo.name,
        created_at: repo.created_at.filter(|_| detail),
    }
}

/// The result: counts first, then the rows.
pub fn report(
    account_id: Option<String>,
    region: &str,
    repositories: Vec<RepositoryEntry>,
    next_token: Option<String>,
    notes: Vec<String>,
) -> ListRepositoriesOutput {
    let mut counts = BTreeMap::new();
    for r in &repositories {
        *counts.entry(r.healthomics_accessible).or_insert(0) += 1;
    }
    ListRepositoriesOutput {
        message: message(&counts, repositories.len(), next_token.is_some()),
        registry: account_id.as_deref().map(|a| ecr_registry_host(a, region)),
        account_id,
        region: region.to_owned(),
        counts,
        total_count: repositories.len(),
        repositories,
        next_token,
        notes,
    }
}

fn message(counts: &BTreeMap<AccessStatus, usize>, total: usize, more: bool) -> String {
    let count = |s| counts.get(&s).copied().unwrap_or(0);
    let mut text = match total {
        0 => "No repositories".to_owned(),
        1 => "1 repository".to_owned(),
        n => format!("{n} repositories"),
    };
    if total > 0 {
        let parts: Vec<String> = [
            (AccessStatus::Accessible, "HealthOmics can pull"),
            (AccessStatus::NotAccessible, "not accessible"),
            (AccessStatus::Conditional, "conditional"),
            (AccessStatus::Unknown, "unknown (policy unreadable)"),
        ]
        .into_iter()
        .filter(|(s, _)| count(*s) > 0)
        .map(|(s, what)| format!("{} {what}", count(s)))
        .collect();
        text.push_str(&format!(": {}", parts.join(", ")));
    }
    text.push('.');
    let fixable = count(AccessStatus::NotAccessible) + count(AccessStatus::Conditional);
    if fixable > 0 {
        text.push_str(&format!(
            " Fix one with {} (repository_name).",
            tool_names::GRANT
        ));
    }
    if more {
        text.push_str(" More: call again with next_token.");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::verdicts::judge_repository_policy;

    fn repo(name: &str) -> Repository {
        Repository {
            name: name.into(),
            arn: format!("arn:aws:ecr:us-east-1:123456789012:repository/{name}"),
            uri: format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}"),
            registry_id: None,
            created_at: Some("2026-12-01T00:00:00Z".into()),
        }
    }

    fn open() -> String {
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"HealthOmics","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]}"#.into()
    }

    #[test]
    fn rows_keep_the_verdict_and_leave_out_what_is_derivable() {
        let prefixes = vec!["quay".to_owned()];
        let open_row = entry(
            repo("quay/x"),
            judge_repository_policy(Some(&open()), None),
            &prefixes,
            false,
        );
        let json = serde_json::to_value(&open_row).unwrap_or_default();
        assert_eq!(json["healthomics_accessible"], "accessible");
        assert_eq!(json["pull_through_cache_prefix"], "quay");
        for absent in [
            "repository_arn",
            "repository_uri",
            "access",
            "missing_permissions",
            "why",
        ] {
            assert!(json.get(absent).is_none(), "{absent}: {json}");
        }
        let closed = entry(
            repo("mine"),
            judge_repository_policy(None, None),
            &prefixes,
            false,
        );
        assert!(closed.missing_permissions.is_empty() && closed.created_at.is_none());
        assert_eq!(closed.why.as_deref(), Some("no policy"));
        let detailed = entry(
            repo("mine"),
            judge_repository_policy(None, None),
            &prefixes,
            true,
        );
        assert!(detailed.access.is_some() && detailed.created_at.is_some());
        assert_eq!(detailed.missing_permissions.len(), 3);
    }

    #[test]
    fn an_unreadable_policy_is_unknown_without_a_reason_list() {
        let judged = verdicts::unreadable_repository_policy(&verdicts::Unreadable {
            action: "ecr:GetRepositoryPolicy".into(),
            kind: verdicts::AwsErrorKind::AccessDenied,
            code: None,
            message: "denied".into(),
        });
        let row = entry(repo("x"), judged, &[], false);
        assert_eq!(row.healthomics_accessible, AccessStatus::Unknown);
        assert!(row.missing_permissions.is_empty() && row.why.is_none());
        assert!(row.policy_problem.is_some());
    }

    #[test]
    fn the_message_counts_and_names_the_next_call() {
        let rows = vec![
            entry(
                repo("a"),
                judge_repository_policy(Some(&open()), None),
                &[],
                false,
            ),
            entry(repo("b"), judge_repository_policy(None, None), &[], false),
            entry(repo("c"), judge_repository_policy(None, None), &[], false),
        ];
        let out = report(
            Some("123456789012".into()),
            "us-east-1",
            rows,
            Some("t".into()),
            vec![],
        );
        assert_eq!(
            out.message,
            "3 repositories: 1 HealthOmics can pull, 2 not accessible. Fix one with GrantHealthOmicsRepositoryAccess (repository_name). More: call again with next_token."
        );
        assert_eq!(out.counts.get(&AccessStatus::NotAccessible), Some(&2));
        assert_eq!(
            out.registry.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com")
        );
        let empty = report(None, "us-east-1", vec![], None, vec![]);
        assert_eq!(empty.message, "No repositories.");
    }
}
