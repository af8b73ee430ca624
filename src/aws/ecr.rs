//! Amazon ECR calls, each returning our own plain types.
//!
//! "Not there" answers that are normal (no repository policy, no registry policy, no template)
//! come back as `None`/empty, not as errors, so no tool logs noise for them.

use aws_sdk_ecr::Client;
use aws_smithy_types::date_time::Format;

use super::error::AwsCallError;
use crate::core::account::{
    BatchImage, CreationTemplate, ImageDetail, ImageSelector, NewRule, PullThroughCacheRule,
    Repository,
};

/// Page size for walks that read everything (the API maximum is 1000).
const FULL_WALK_PAGE_SIZE: i32 = 1000;
/// How many prefixes one DescribeRepositoryCreationTemplates call asks for.
const TEMPLATE_PREFIX_BATCH: usize = 20;

pub fn timestamp(value: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    value.and_then(|t| t.fmt(Format::DateTime).ok())
}

fn repository_from(r: &aws_sdk_ecr::types::Repository) -> Option<Repository> {
    Some(Repository {
        name: r.repository_name()?.to_owned(),
        arn: r.repository_arn().unwrap_or_default().to_owned(),
        uri: r.repository_uri().unwrap_or_default().to_owned(),
        registry_id: r.registry_id().map(str::to_owned),
        created_at: timestamp(r.created_at()),
    })
}

/// One page of DescribeRepositories.
pub async fn repositories_page(
    ecr: &Client,
    next_token: Option<String>,
    max_results: i32,
) -> Result<(Vec<Repository>, Option<String>), AwsCallError> {
    let out = ecr
        .describe_repositories()
        .max_results(max_results)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:DescribeRepositories", e))?;
    let repos = out
        .repositories()
        .iter()
        .filter_map(repository_from)
        .collect();
    Ok((repos, out.next_token().map(str::to_owned)))
}

/// Every item of a paginated listing, following `nextToken` to the end.
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, AwsCallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), AwsCallError>>,
{
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let (items, next) = page(token).await?;
        all.extend(items);
        match next {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

/// Every repository in the registry.
pub async fn all_repositories(ecr: &Client) -> Result<Vec<Repository>, AwsCallError> {
    all_pages(|token| repositories_page(ecr, token, FULL_WALK_PAGE_SIZE)).await
}

/// A repository's policy text; `None` when the repository has no policy.
/// A missing repository is an error of kind `NotFound` with code `RepositoryNotFoundException`.
pub async fn repository_policy(ecr: &Client, name: &str) -> Result<Option<String>, AwsCallError> {
    match ecr
        .get_repository_policy()
        .repository_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.policy_text().map(str::to_owned)),
        Err(e) => {
            let err = AwsCallError::from_sdk("ecr:GetRepositoryPolicy", e);
            if err.is_code("RepositoryPolicyNotFoundException") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

pub async fn set_repository_policy(
    ecr: &Client,
    name: &str,
    policy_text: &str,
) -> Result<(), AwsCallError> {
    ecr.set_repository_policy()
        .repository_name(name)
        .policy_text(policy_text)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:SetRepositoryPolicy", e))?;
    Ok(())
}

fn rule_from(r: &aws_sdk_ecr::types::PullThroughCacheRule) -> Option<PullThroughCacheRule> {
    Some(PullThroughCacheRule {
        ecr_repository_prefix: r.ecr_repository_prefix()?.to_owned(),
        upstream_registry_url: r.upstream_registry_url().unwrap_or_default().to_owned(),
        upstream_registry: r.upstream_registry().map(|u| u.as_str().to_owned()),
        credential_arn: r.credential_arn().map(str::to_owned),
        custom_role_arn: r.custom_role_arn().map(str::to_owned),
        upstream_repository_prefix: r.upstream_repository_prefix().map(str::to_owned),
        registry_id: r.registry_id().map(str::to_owned),
        created_at: timestamp(r.created_at()),
        updated_at: timestamp(r.updated_at()),
    })
}

/// One page of DescribePullThroughCacheRules.
pub async fn pull_through_cache_rules_page(
    ecr: &Client,
    next_token: Option<String>,
    max_results: i32,
) -> Result<(Vec<PullThroughCacheRule>, Option<String>), AwsCallError> {
    let out = ecr
        .describe_pull_through_cache_rules()
        .max_results(max_results)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:DescribePullThroughCacheRules", e))?;
    let rules = out
        .pull_through_cache_rules()
        .iter()
        .filter_map(rule_from)
        .collect();
    Ok((rules, out.next_token().map(str::to_owned)))
}

/// Every pull-through cache rule in the registry.
pub async fn all_pull_through_cache_rules(
    ecr: &Client,
) -> Result<Vec<PullThroughCacheRule>, AwsCallError> {
    all_pages(|token| pull_through_cache_rules_page(ecr, token, FULL_WALK_PAGE_SIZE)).await
}

/// The registry permissions policy; `None` when the registry has none.
pub async fn registry_policy(ecr: &Client) -> Result<Option<String>, AwsCallError> {
    match ecr.get_registry_policy().send().await {
        Ok(out) => Ok(out.policy_text().map(str::to_owned)),
        Err(e) => {
            let err = AwsCallError::from_sdk("ecr:GetRegistryPolicy", e);
            if err.is_code("RegistryPolicyNotFoundException") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

fn template_from(t: &aws_sdk_ecr::types::RepositoryCreationTemplate) -> Option<CreationTemplate> {
    Some(CreationTemplate {
        prefix: t.prefix()?.to_owned(),
        description: t.description().map(str::to_owned),
        applied_for: t
            .applied_for()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        repository_policy: t
            .repository_policy()
            .map(str::to_owned)
            .filter(|p| !p.is_empty()),
        image_tag_mutability: t.image_tag_mutability().map(|m| m.as_str().to_owned()),
        custom_role_arn: t.custom_role_arn().map(str::to_owned),
    })
}

/// The creation templates for the given prefixes (missing ones are simply absent), asked in
/// batches rather than one call per prefix.
pub async fn creation_templates(
    ecr: &Client,
    prefixes: &[String],
) -> Result<Vec<CreationTemplate>, AwsCallError> {
    let mut found = Vec::new();
    for batch in prefixes.chunks(TEMPLATE_PREFIX_BATCH) {
        match templates_for(ecr, batch).await {
            Ok(templates) => found.extend(templates),
            // Some ECR versions reject the whole batch when one prefix has no template:
            // fall back to asking for each prefix on its own.
            Err(err) if err.is_code("TemplateNotFoundException") && batch.len() > 1 => {
                for prefix in batch {
                    match templates_for(ecr, std::slice::from_ref(prefix)).await {
                        Ok(templates) => found.extend(templates),
                        Err(err) if err.is_code("TemplateNotFoundException") => {}
                        Err(err) => return Err(err),
                    }
                }
            }
            Err(err) if err.is_code("TemplateNotFoundException") => {}
            Err(err) => return Err(err),
        }
    }
    Ok(found)
}

async fn templates_for(
    ecr: &Client,
    prefixes: &[String],
) -> Result<Vec<CreationTemplate>, AwsCallError> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let out = ecr
            .describe_repository_creation_templates()
            .set_prefixes(Some(prefixes.to_vec()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ecr:DescribeRepositoryCreationTemplates", e))?;
        found.extend(
            out.repository_creation_templates()
                .iter()
                .filter_map(template_from),
        );
        match out.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(found),
        }
    }
}

/// The rule for one prefix, if it exists.
pub async fn pull_through_cache_rule(
    ecr: &Client,
    prefix: &str,
) -> Result<Option<PullThroughCacheRule>, AwsCallError> {
    match ecr
        .describe_pull_through_cache_rules()
        .ecr_repository_prefixes(prefix)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .pull_through_cache_rules()
            .iter()
            .filter_map(rule_from)
            .next()),
        Err(e) => {
            let err = AwsCallError::from_sdk("ecr:DescribePullThroughCacheRules", e);
            if err.is_code("PullThroughCacheRuleNotFoundException") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// What a new pull-through cache rule should say.
pub async fn create_pull_through_cache_rule(
    ecr: &Client,
    rule: &NewRule,
) -> Result<(), AwsCallError> {
    ecr.create_pull_through_cache_rule()
        .ecr_repository_prefix(&rule.prefix)
        .upstream_registry_url(&rule.upstream_registry_url)
        .set_upstream_registry(
            rule.upstream_registry
                .as_deref()
                .map(aws_sdk_ecr::types::UpstreamRegistry::from),
        )
        .set_credential_arn(rule.credential_arn.clone())
        .set_upstream_repository_prefix(rule.upstream_repository_prefix.clone())
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:CreatePullThroughCacheRule", e))?;
    Ok(())
}

/// ECR's verdict on a rule's upstream credentials: `(is_valid, failure reason)`.
pub async fn validate_pull_through_cache_rule(
    ecr: &Client,
    prefix: &str,
) -> Result<(bool, Option<String>), AwsCallError> {
    let out = ecr
        .validate_pull_through_cache_rule()
        .ecr_repository_prefix(prefix)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:ValidatePullThroughCacheRule", e))?;
    Ok((out.is_valid(), out.failure().map(str::to_owned)))
}

pub async fn put_registry_policy(ecr: &Client, policy_text: &str) -> Result<(), AwsCallError> {
    ecr.put_registry_policy()
        .policy_text(policy_text)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:PutRegistryPolicy", e))?;
    Ok(())
}

fn applied_for(values: &[String]) -> Vec<aws_sdk_ecr::types::RctAppliedFor> {
    values
        .iter()
        .map(|v| aws_sdk_ecr::types::RctAppliedFor::from(v.as_str()))
        .collect()
}

/// Creates a template for `prefix`; tag mutability stays MUTABLE so cached tags keep syncing.
pub async fn create_creation_template(
    ecr: &Client,
    prefix: &str,
    description: &str,
    applied: &[String],
    repository_policy: &str,
) -> Result<(), AwsCallError> {
    ecr.create_repository_creation_template()
        .prefix(prefix)
        .description(description)
        .set_applied_for(Some(applied_for(applied)))
        .repository_policy(repository_policy)
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Mutable)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:CreateRepositoryCreationTemplate", e))?;
    Ok(())
}

/// Updates only `appliedFor` and the repository policy; every other template setting is left
/// as it is (ECR changes only the fields a request names).
pub async fn update_creation_template(
    ecr: &Client,
    prefix: &str,
    applied: &[String],
    repository_policy: &str,
) -> Result<(), AwsCallError> {
    ecr.update_repository_creation_template()
        .prefix(prefix)
        .set_applied_for(Some(applied_for(applied)))
        .repository_policy(repository_policy)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:UpdateRepositoryCreationTemplate", e))?;
    Ok(())
}

/// The SDK's identifier for a selector.
fn image_identifier(selector: &ImageSelector) -> aws_sdk_ecr::types::ImageIdentifier {
    let id = aws_sdk_ecr::types::ImageIdentifier::builder();
    match selector {
        ImageSelector::Tag(tag) => id.image_tag(tag).build(),
        ImageSelector::Digest(digest) => id.image_digest(digest).build(),
    }
}

/// DescribeImages for one image; `Ok(None)` when the repository exists but the image does not.
pub async fn describe_image(
    ecr: &Client,
    repository: &str,
    selector: &ImageSelector,
) -> Result<Option<ImageDetail>, AwsCallError> {
    let out = ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(image_identifier(selector))
        .send()
        .await;
    match out {
        Ok(out) => Ok(out.image_details().first().map(|d| ImageDetail {
            digest: d.image_digest().unwrap_or_default().to_owned(),
            tags: d.image_tags().to_vec(),
            size_bytes: d.image_size_in_bytes(),
            pushed_at: timestamp(d.image_pushed_at()),
            media_type: d.image_manifest_media_type().map(str::to_owned),
        })),
        Err(e) => {
            let err = AwsCallError::from_sdk("ecr:DescribeImages", e);
            if err.is_code("ImageNotFoundException") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Every manifest media type, so ECR returns an index as it is instead of converting it.
pub const ALL_MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// BatchGetImage for one image, accepting indexes; on a pull-through cache path this is what
/// makes ECR create the repository and import the image.
pub async fn batch_get_image(
    ecr: &Client,
    repository: &str,
    selector: &ImageSelector,
) -> Result<BatchImage, AwsCallError> {
    let out = ecr
        .batch_get_image()
        .repository_name(repository)
        .image_ids(image_identifier(selector))
        .set_accepted_media_types(Some(
            ALL_MANIFEST_MEDIA_TYPES
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:BatchGetImage", e))?;
    if let Some(image) = out.images().first() {
        return Ok(BatchImage::Found {
            digest: image
                .image_id()
                .and_then(|i| i.image_digest())
                .unwrap_or_default()
                .to_owned(),
            media_type: image.image_manifest_media_type().map(str::to_owned),
            manifest: image.image_manifest().unwrap_or_default().to_owned(),
        });
    }
    let failure = out.failures().first();
    Ok(BatchImage::Failed {
        code: failure
            .and_then(|f| f.failure_code())
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|| "Unknown".into()),
        reason: failure
            .and_then(|f| f.failure_reason())
            .unwrap_or("ECR returned neither an image nor a failure")
            .to_owned(),
    })
}

/// One repository by name; `None` when it does not exist.
pub async fn repository(ecr: &Client, name: &str) -> Result<Option<Repository>, AwsCallError> {
    match ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.repositories().iter().filter_map(repository_from).next()),
        Err(e) => {
            let err = AwsCallError::from_sdk("ecr:DescribeRepositories", e);
            if err.is_code("RepositoryNotFoundException") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Creates a repository with mutable tags (a re-clone may move a tag) and scan on push.
pub async fn create_repository(ecr: &Client, name: &str) -> Result<Repository, AwsCallError> {
    let out = ecr
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Mutable)
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:CreateRepository", e))?;
    out.repository()
        .and_then(repository_from)
        .ok_or_else(|| AwsCallError::incomplete_response("ecr:CreateRepository", "repository"))
}

/// The registry endpoint and a push/pull token for it (GetAuthorizationToken): `(endpoint,
/// base64 "AWS:<password>")`. The token is a secret: callers never log or return it.
pub async fn authorization_token(ecr: &Client) -> Result<(String, String), AwsCallError> {
    let out = ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecr:GetAuthorizationToken", e))?;
    let data = out.authorization_data().first();
    match (
        data.and_then(|d| d.proxy_endpoint()),
        data.and_then(|d| d.authorization_token()),
    ) {
        (Some(endpoint), Some(token)) => Ok((endpoint.to_owned(), token.to_owned())),
        _ => Err(AwsCallError::incomplete_response(
            "ecr:GetAuthorizationToken",
            "endpoint or token",
        )),
    }
}

/// Tags an image already in the repository (PutImage with its own manifest); tagging it with the
/// tag it already has is not an error.
pub async fn tag_image(
    ecr: &Client,
    repository: &str,
    manifest: &str,
    media_type: Option<&str>,
    tag: &str,
) -> Result<(), AwsCallError> {
    match ecr
        .put_image()
        .repository_name(repository)
        .image_manifest(manifest)
        .set_image_manifest_media_type(media_type.map(str::to_owned))
        .image_tag(tag)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = AwsCallError::from_sdk("ecr:PutImage", e);
            if err.is_code("ImageAlreadyExistsException") {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}
