//! Reads what HealthOmics access depends on (repository and registry policies, creation
//! templates, map destinations) and hands it to [`crate::core::verdicts`] to judge. A failed read
//! becomes a [`Unreadable`], which the verdicts turn into `unknown` with the reason.

use futures::StreamExt;

use super::ecr;
use super::{AwsCallError, AwsClients, AwsErrorKind};
use crate::core::account::{self, PullThroughCacheRule};
use crate::core::plan::map_destinations::{
    self, DestinationPlace, DestinationProblem, DestinationState,
};
use crate::core::registry_map::ContainerRegistryMap;
use crate::core::verdicts::{self, Judged, RegistryPolicy, RuleJudgement, Templates, Unreadable};

/// How many policy reads run at once: fast for big registries, polite to ECR's rate limits
/// (throttled calls are retried with backoff by the SDK).
pub const POLICY_READ_CONCURRENCY: usize = 8;

impl From<&AwsCallError> for Unreadable {
    fn from(err: &AwsCallError) -> Self {
        Unreadable {
            action: err.action.to_owned(),
            kind: err.kind,
            code: err.code.clone(),
            message: err.message.clone(),
        }
    }
}

impl From<AwsCallError> for Unreadable {
    fn from(err: AwsCallError) -> Self {
        Self::from(&err)
    }
}

/// Reads and judges one repository's policy.
pub async fn repository_access(clients: &AwsClients, name: &str, arn: Option<&str>) -> Judged {
    match ecr::repository_policy(&clients.ecr, name).await {
        Ok(text) => verdicts::judge_repository_policy(text.as_deref(), arn),
        Err(err) => verdicts::unreadable_repository_policy(&err.into()),
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
pub async fn read_registry_policy(clients: &AwsClients) -> RegistryPolicy {
    match ecr::registry_policy(&clients.ecr).await {
        Ok(Some(text)) => RegistryPolicy::Present { text },
        Ok(None) => RegistryPolicy::Absent,
        Err(err) => RegistryPolicy::Unreadable(err.into()),
    }
}

/// The templates ECR would apply to the given cache prefixes, read in one batch (plus ROOT).
pub async fn read_templates(clients: &AwsClients, prefixes: &[String]) -> Templates {
    let wanted = verdicts::template_prefixes_to_read(prefixes);
    match ecr::creation_templates(&clients.ecr, &wanted).await {
        Ok(found) => Templates::Read(found),
        Err(err) => Templates::Unreadable(err.into()),
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
    let judged = verdicts::judge_rules(
        rules,
        &registry,
        &templates,
        clients.arn_partition(),
        &clients.region,
        &fallback_account,
    );
    (registry, judged)
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
            verdicts::destination_access(repository_access(clients, repository, None).await)
        }
        Err(err) if err.kind == AwsErrorKind::NotFound => DestinationState::RepositoryMissing,
        Err(err) => DestinationState::Unknown(err.to_string()),
    }
}
