//! Reads what HealthOmics access depends on (repository and registry policies, creation
//! templates, map destinations, the cache that serves an image) and hands it to
//! [`crate::core::verdicts`] to judge. A failed read becomes a [`Unreadable`], which the
//! verdicts turn into `unknown` with the reason. Also the reads Check's report is made from:
//! the repository, its image, and what a pull through the cache did ([`find_image`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::ecr;
use super::{AwsCallError, AwsClients, AwsErrorKind};
use crate::core::account::{self, PullThroughCacheRule};
use crate::core::adaptive::AdaptiveLimit;
use crate::core::image_ref::ImageReference;
use crate::core::plan::check::{Found, PullAnswer, PullAttempt, Target, report};
use crate::core::plan::map_destinations::{
    self, DestinationPlace, DestinationProblem, DestinationState,
};
use crate::core::registry_map::ContainerRegistryMap;
use crate::core::verdicts::{self, Judged, RegistryPolicy, RuleJudgement, Templates, Unreadable};

/// Policy reads in flight at first, and at most: the window grows while ECR answers and halves
/// on each `ThrottlingException` ([`AdaptiveLimit`]), so a big registry is read fast and a busy
/// account is not flooded.
pub const POLICY_READS_START: usize = 8;
pub const POLICY_READS_MAX: usize = 32;
/// How many times one policy read is sent again after a throttle that the SDK's own retries did
/// not absorb, waiting `THROTTLE_WAIT`, then twice that, and so on: a throttle slows the listing
/// down instead of turning a repository's verdict into `unknown`.
const THROTTLED_READ_RETRIES: u32 = 4;
const THROTTLE_WAIT: Duration = Duration::from_millis(200);

/// The window the last batch of policy reads ended with, where the next one starts: a walk is
/// one tool call per page, and starting each page again at [`POLICY_READS_START`] costs a round
/// trip or two of slow start every page. It is only a starting point: a throttle still halves it
/// at once, so an account that throttles is not flooded because another one did not.
static LAST_WINDOW: AtomicUsize = AtomicUsize::new(POLICY_READS_START);

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

/// Reads and judges many repositories' policies, as many at a time as ECR allows (see
/// [`POLICY_READS_START`]), in input order.
pub async fn repositories_access(
    clients: &AwsClients,
    repositories: &[account::Repository],
) -> Vec<Judged> {
    let start = LAST_WINDOW.load(Ordering::Relaxed);
    let mut window = AdaptiveLimit::new(start, 1, POLICY_READS_MAX);
    let mut queue: VecDeque<(usize, u32)> = (0..repositories.len()).map(|i| (i, 0)).collect();
    let mut in_flight = FuturesUnordered::new();
    let mut judged = Vec::with_capacity(repositories.len());
    loop {
        while in_flight.len() < window.limit() {
            let Some((index, retries)) = queue.pop_front() else {
                break;
            };
            let name = repositories[index].name.as_str();
            in_flight.push(async move {
                if retries > 0 {
                    tokio::time::sleep(THROTTLE_WAIT * 2u32.pow(retries - 1)).await;
                }
                (
                    index,
                    retries,
                    ecr::repository_policy(&clients.ecr, name).await,
                )
            });
        }
        let Some((index, retries, read)) = in_flight.next().await else {
            break;
        };
        let throttled = matches!(&read, Err(err) if err.kind == AwsErrorKind::Throttled);
        if throttled {
            window.on_throttle();
            if retries < THROTTLED_READ_RETRIES {
                tracing::debug!(repository = %repositories[index].name, limit = window.limit(), "policy read throttled; reading it again later");
                queue.push_back((index, retries + 1));
                continue;
            }
        } else {
            window.on_success();
        }
        let repo = &repositories[index];
        let arn = (!repo.arn.is_empty()).then_some(repo.arn.as_str());
        let verdict = match read {
            Ok(text) => verdicts::judge_repository_policy(text.as_deref(), arn),
            Err(err) => verdicts::unreadable_repository_policy(&err.into()),
        };
        judged.push((index, verdict));
    }
    LAST_WINDOW.store(window.limit(), Ordering::Relaxed);
    judged.sort_by_key(|(index, _)| *index);
    judged.into_iter().map(|(_, verdict)| verdict).collect()
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
    let prefixes: Vec<String> = rules
        .iter()
        .map(|r| r.ecr_repository_prefix.clone())
        .collect();
    // Two documents that do not depend on each other: read at once.
    let (registry, templates) = futures::join!(
        read_registry_policy(clients),
        read_templates(clients, &prefixes)
    );
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

/// Judges one rule, as [`judge_rules`] does many: the tools that look at the one cache serving
/// an image need its verdict, not the registry policy it came from.
pub async fn judge_rule(clients: &AwsClients, rule: PullThroughCacheRule) -> Option<RuleJudgement> {
    judge_rules(clients, vec![rule]).await.1.pop()
}

/// The cache rule whose upstream serves `source`, with the repository it keeps the image in,
/// judged; `accepts` says which such repository the caller may use. `Err` when the rules
/// cannot be read (the caller decides what that leaves).
pub async fn cache_serving(
    clients: &AwsClients,
    source: &ImageReference,
    accepts: impl Fn(&str) -> bool,
) -> Result<Option<(String, RuleJudgement)>, AwsCallError> {
    let rules = ecr::all_pull_through_cache_rules(&clients.ecr).await?;
    let Some((rule, repository)) =
        verdicts::rule_for_upstream(&rules, source).filter(|(_, repository)| accepts(repository))
    else {
        return Ok(None);
    };
    Ok(judge_rule(clients, rule.clone())
        .await
        .map(|judged| (repository, judged)))
}

/// Whether the repository exists: what Clone and Check ask before they write into it or
/// describe its image.
pub async fn repository_exists(clients: &AwsClients, name: &str) -> Result<bool, AwsCallError> {
    Ok(ecr::repository(&clients.ecr, name).await?.is_some())
}

/// The repository and image a check is about; with `pull`, a missing image is pulled through
/// the cache when [`report::why_not_pull_through`] finds nothing against it, and both are read
/// again. Every `Err` is about `target.repository`.
pub async fn find_image(
    clients: &AwsClients,
    target: &Target,
    cache: Option<&RuleJudgement>,
    pull: bool,
) -> Result<Found, AwsCallError> {
    let repository = target.repository.as_str();
    let existed = repository_exists(clients, repository).await?;
    let mut found = Found {
        existed,
        exists_now: existed,
        image: match existed {
            true => ecr::describe_image(&clients.ecr, repository, &target.selector).await?,
            false => None,
        },
        pull: None,
    };
    if found.image.is_some() || !pull {
        return Ok(found);
    }
    let attempt = match report::why_not_pull_through(cache) {
        Some(why) => PullAttempt::NotAttempted(why),
        None => PullAttempt::Answered(pull_through(clients, target).await),
    };
    if let PullAttempt::Answered(answer) = &attempt {
        if let PullAnswer::Found { digest } = answer {
            let by_digest = account::ImageSelector::Digest(digest.clone());
            found.image = ecr::describe_image(&clients.ecr, repository, &by_digest).await?;
        }
        found.exists_now = existed
            || repository_exists(clients, repository)
                .await
                .unwrap_or(false);
    }
    found.pull = Some(attempt);
    Ok(found)
}

/// BatchGetImage on the cache's repository: ECR pulls the image from the upstream. Every
/// answer, a denial or failure too, is data the check reports.
async fn pull_through(clients: &AwsClients, target: &Target) -> PullAnswer {
    match ecr::batch_get_image(&clients.ecr, &target.repository, &target.selector).await {
        Ok(account::BatchImage::Found { digest, .. }) => PullAnswer::Found { digest },
        Ok(account::BatchImage::Failed { code, reason }) => PullAnswer::Refused { code, reason },
        Err(err) if err.kind == AwsErrorKind::AccessDenied => PullAnswer::Denied {
            action: err.action.to_owned(),
            message: err.message.clone(),
            shown: err.to_string(),
        },
        Err(err) => PullAnswer::Failed {
            shown: err.to_string(),
        },
    }
}
