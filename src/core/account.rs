//! What is read from the account, as plain data: repositories, pull-through cache rules,
//! repository creation templates, images and secrets' metadata.
//!
//! `aws/` fills these from SDK answers; judging (the plans in [`crate::core::plan`]) reads
//! them, so no verdict depends on an SDK type and every one is testable without AWS.

/// A private ECR repository.
#[derive(Debug, Clone)]
pub struct Repository {
    pub name: String,
    pub arn: String,
    pub uri: String,
    pub registry_id: Option<String>,
    pub created_at: Option<String>,
}

/// A pull-through cache rule as ECR describes it.
#[derive(Debug, Clone)]
pub struct PullThroughCacheRule {
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    pub upstream_registry: Option<String>,
    pub credential_arn: Option<String>,
    pub custom_role_arn: Option<String>,
    pub upstream_repository_prefix: Option<String>,
    pub registry_id: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// A repository creation template.
#[derive(Debug, Clone)]
pub struct CreationTemplate {
    pub prefix: String,
    pub description: Option<String>,
    pub applied_for: Vec<String>,
    pub repository_policy: Option<String>,
    pub image_tag_mutability: Option<String>,
    pub custom_role_arn: Option<String>,
}

/// A rule to create.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub prefix: String,
    pub upstream_registry_url: String,
    pub upstream_registry: Option<String>,
    pub credential_arn: Option<String>,
    pub upstream_repository_prefix: Option<String>,
}

/// Which image of a repository: a digest wins over a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSelector {
    Tag(String),
    Digest(String),
}

impl ImageSelector {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Tag(v) | Self::Digest(v) => v,
        }
    }
}

/// One image of a repository, as DescribeImages gives it.
#[derive(Debug, Clone)]
pub struct ImageDetail {
    pub digest: String,
    pub tags: Vec<String>,
    pub size_bytes: Option<i64>,
    pub pushed_at: Option<String>,
    pub media_type: Option<String>,
}

/// What BatchGetImage answered for one image.
#[derive(Debug, Clone)]
pub enum BatchImage {
    Found {
        digest: String,
        media_type: Option<String>,
        manifest: String,
    },
    Failed {
        code: String,
        reason: String,
    },
}

/// A secret's metadata (never its value).
#[derive(Debug, Clone)]
pub struct SecretInfo {
    pub arn: String,
    pub name: String,
    pub deleted_date: Option<String>,
    pub kms_key_id: Option<String>,
}
