//! The account reads the two tools that set HealthOmics up are planned from, as the plain data
//! their plans take: for CreatePullThroughCacheForHealthOmics the registry policy
//! ([`crate::core::plan::create_ptc`]), for CreateContainerRegistryMap the caches, the
//! credentials' secrets and the image mappings' destinations
//! ([`crate::core::plan::map_report`]). A failure stays an [`AwsCallError`] or the plan's
//! "unreadable" state; the tools word it.

use super::{AwsCallError, AwsClients, AwsErrorKind, account_reads, ecr, secrets};
use crate::core::account::PullThroughCacheRule;
use crate::core::plan::create_ptc::RegistryPolicyRead;
use crate::core::plan::map_destinations::DestinationProblem;
use crate::core::plan::map_report::SecretState;
use crate::core::registries::PTC_SECRET_NAME_PREFIX;
use crate::core::registry_map::{ContainerRegistryMap, ImageUse, RegistryMapping, RegistrySecret};
use crate::core::verdicts::RuleJudgement;

/// The registry policy as CreatePTC plans from it, read once before the plan and again right
/// before the write. A policy that cannot be read is the plan's to refuse; its error is kept so
/// the refusal can be worded as the failed read.
pub async fn registry_policy_for_plan(
    clients: &AwsClients,
) -> (RegistryPolicyRead, Option<AwsCallError>) {
    match ecr::registry_policy(&clients.ecr).await {
        Ok(Some(text)) => (RegistryPolicyRead::Present(text), None),
        Ok(None) => (RegistryPolicyRead::Absent, None),
        Err(err) => (RegistryPolicyRead::Unreadable, Some(err)),
    }
}

/// Every pull-through cache rule of the account, judged as ListPullThroughCacheRules judges
/// them, so the map gets one mapping per cache HealthOmics can use. Listing the rules must
/// succeed; a policy or template that cannot be read is part of a rule's verdict.
pub async fn judged_caches(clients: &AwsClients) -> Result<Vec<RuleJudgement>, AwsCallError> {
    let rules = ecr::all_pull_through_cache_rules(&clients.ecr).await?;
    Ok(account_reads::judge_rules(clients, rules).await.1)
}

/// The secret of each mapping with a credentialArn, by index into `mappings`. DescribeSecret
/// only: the run role reads the value at run time, this server never does.
pub async fn credential_secrets(
    clients: &AwsClients,
    mappings: &[RegistryMapping],
) -> Vec<(usize, SecretState)> {
    let mut states = Vec::new();
    for (index, mapping) in mappings.iter().enumerate() {
        let Some(arn) = &mapping.credential_arn else {
            continue;
        };
        let state = match secrets::describe_secret(&clients.secrets, arn).await {
            Ok(secret) if secret.deleted_date.is_some() => {
                SecretState::ScheduledForDeletion { name: secret.name }
            }
            Ok(_) => SecretState::Present,
            Err(err) if err.kind == AwsErrorKind::NotFound => SecretState::Missing,
            Err(err) => SecretState::Unreadable {
                action: err.action.to_owned(),
            },
        };
        states.push((index, state));
    }
    states
}

/// The problems of a map's image-mapping destinations, read only when there are images to
/// cover: without images no coverage is reported, so the reads would be wasted.
pub async fn destination_problems_for(
    clients: &AwsClients,
    map: &ContainerRegistryMap,
    images: &[ImageUse],
    account: &str,
) -> Vec<(usize, DestinationProblem)> {
    match images.is_empty() {
        true => Vec::new(),
        false => account_reads::destination_problems(clients, map, account).await,
    }
}

/// The account's `ecr-pullthroughcache/` secrets (metadata only), each with the upstream of a
/// rule that already uses it, so a suggested or planned cache can name a real secret. A list
/// that cannot be read gives none: the suggestions then ask for credentials instead.
pub async fn registry_secrets<'a>(
    clients: &AwsClients,
    rules: impl IntoIterator<Item = &'a PullThroughCacheRule>,
) -> Vec<RegistrySecret> {
    let listed = match secrets::list_secrets_named(&clients.secrets, PTC_SECRET_NAME_PREFIX).await {
        Ok(listed) => listed,
        Err(err) => {
            tracing::debug!("the registry secrets could not be listed: {err}");
            return Vec::new();
        }
    };
    let rules: Vec<&PullThroughCacheRule> = rules.into_iter().collect();
    listed
        .into_iter()
        .map(|s| RegistrySecret {
            used_by_upstream: rules
                .iter()
                .find(|r| r.credential_arn.as_deref() == Some(s.arn.as_str()))
                .map(|r| r.upstream_registry_url.clone()),
            deleted: s.deleted_date.is_some(),
            name: s.name,
            arn: s.arn,
        })
        .collect()
}
