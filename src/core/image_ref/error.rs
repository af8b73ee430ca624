//! Why a reference, name or prefix was refused.

/// Why a reference, name or prefix was refused. Each message says what is wrong and how to fix it,
/// because tool results show it to the agent verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error(
        "the image reference is empty: give one such as `ubuntu:22.04` or `quay.io/biocontainers/samtools:1.17--h00cdaf9_0`"
    )]
    Empty,
    #[error(
        "`{input}` starts with a URL scheme (`{scheme}://`), but image references have none: write `{suggestion}`"
    )]
    Scheme {
        input: String,
        scheme: String,
        suggestion: String,
    },
    #[error(
        "`{input}` has more than one `@`: a reference holds at most one digest, as in `name[:tag]@sha256:<64 hex digits>`"
    )]
    MultipleAt { input: String },
    #[error(
        "`{input}` ends with `@` but no digest follows: add the digest (`@sha256:<64 hex digits>`) or remove the `@`"
    )]
    MissingDigest { input: String },
    #[error(
        "`{input}` has no repository name: write the name before the tag or digest, as in `ubuntu:22.04`"
    )]
    MissingName { input: String },
    #[error("`{input}` ends with `:` but no tag follows: add a tag (`:1.2.3`) or remove the `:`")]
    MissingTag { input: String },
    #[error("`{input}` ends with `/`: remove the trailing slash and write `{suggestion}`")]
    TrailingSlash { input: String, suggestion: String },
    #[error(
        "`{input}` names only the registry `{registry}`: add the repository path, as in `{registry}/<repository>:<tag>`"
    )]
    MissingRepository { input: String, registry: String },
    #[error(
        "`{input}` is a bare digest, not an image reference: name the repository too, as in `<repository>@{input}`"
    )]
    BareDigest { input: String },
    #[error("registry host `{registry}` is not valid: {reason}")]
    InvalidRegistry { registry: String, reason: String },
    #[error(
        "repository path `{path}` has uppercase letters, but repository names must be lowercase: write `{suggestion}`"
    )]
    UppercasePath { path: String, suggestion: String },
    #[error("repository path `{path}` is not valid: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error(
        "image name `{name}` is {length} characters long; the limit is 255 (counted on the normalised `registry/repository`): shorten the repository path"
    )]
    NameTooLong { name: String, length: usize },
    #[error("tag `{tag}` is not valid: {reason}")]
    InvalidTag { tag: String, reason: String },
    #[error("digest `{digest}` is not valid: {reason}")]
    InvalidDigest { digest: String, reason: String },
    #[error("ECR repository name `{name}` is not valid: {reason}")]
    InvalidEcrRepositoryName { name: String, reason: String },
    #[error("pull-through cache prefix `{prefix}` is not valid: {reason}")]
    InvalidPtcPrefix { prefix: String, reason: String },
    #[error(
        "upstream repository `{repository}` does not start with the upstream repository prefix `{upstream_prefix}/`, so this mapping cannot serve it: use a mapping without upstreamRepositoryPrefix, or one whose prefix starts the path"
    )]
    UpstreamPrefixMismatch {
        repository: String,
        upstream_prefix: String,
    },
}
