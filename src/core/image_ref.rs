//! Container image references: the distribution `reference` grammar, Docker Hub normalisation,
//! private ECR hosts and URIs, pull-through-cache repository naming, and HealthOmics registry-map
//! rewriting.
//!
//! Every tool parses references through this one module so that a name means the same thing
//! everywhere, and so that the rules are testable without AWS. Nothing here does I/O.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::core::registries::{self, AccessPath, NearMiss};

/// The registry host Docker Hub's API answers on; HealthOmics and ECR expect this spelling.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";
/// Hosts people write for Docker Hub that mean the same registry.
pub const DOCKER_HUB_ALIASES: [&str; 2] = ["docker.io", "index.docker.io"];
/// Docker Hub's namespace for official images (`ubuntu` is really `library/ubuntu`).
pub const DOCKER_OFFICIAL_NAMESPACE: &str = "library";
/// The tag a pull uses when the reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest `registry/repository` accepted, as in the distribution grammar.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// ECR's "no prefix" value for pull-through cache and creation-template prefixes.
pub const ROOT_PREFIX: &str = "ROOT";

const TAG_MAX: usize = 128;
const ECR_REPOSITORY_MIN: usize = 2;
const ECR_REPOSITORY_MAX: usize = 256;
const PTC_PREFIX_MIN: usize = 2;
const PTC_PREFIX_MAX: usize = 30;

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

// ---------------------------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------------------------

/// A content digest `algorithm:encoded`, validated so that a typo cannot reach a registry call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    value: String,
    colon: usize,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`, `sha512:<128 lowercase hex>`, or any other algorithm
    /// the distribution grammar allows (components of letters and digits joined by `+._-`,
    /// then at least 32 hex digits).
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        let invalid = |reason: String| ImageRefError::InvalidDigest {
            digest: input.to_owned(),
            reason,
        };
        let Some((algorithm, encoded)) = input.split_once(':') else {
            return Err(invalid(
                "it has no `:` between algorithm and hex digits: write it as `sha256:<64 hex digits>`"
                    .into(),
            ));
        };
        check_digest_algorithm(algorithm).map_err(invalid)?;
        let expected_len = match algorithm {
            "sha256" => Some(64),
            "sha512" => Some(128),
            a if a.eq_ignore_ascii_case("sha256") || a.eq_ignore_ascii_case("sha512") => {
                return Err(invalid(format!(
                    "the algorithm must be lowercase: write `{}:{}`",
                    a.to_ascii_lowercase(),
                    encoded.to_ascii_lowercase()
                )));
            }
            _ => None,
        };
        if encoded.is_empty() {
            return Err(invalid(
                "no hexadecimal digits follow the `:`: copy the whole digest".into(),
            ));
        }
        if let Some(bad) = encoded.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(invalid(format!(
                "`{bad}` is not a hexadecimal digit (0-9, a-f)"
            )));
        }
        match expected_len {
            Some(n) => {
                if encoded.len() != n {
                    return Err(invalid(format!(
                        "{algorithm} digests have exactly {n} hexadecimal digits, this one has {}: copy the whole digest",
                        encoded.len()
                    )));
                }
                if encoded.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(invalid(format!(
                        "{algorithm} hex digits must be lowercase: write `{algorithm}:{}`",
                        encoded.to_ascii_lowercase()
                    )));
                }
            }
            None => {
                if encoded.len() < 32 {
                    return Err(invalid(format!(
                        "a digest needs at least 32 hexadecimal digits, this one has {}",
                        encoded.len()
                    )));
                }
            }
        }
        Ok(Self {
            value: input.to_owned(),
            colon: algorithm.len(),
        })
    }

    /// `sha256` in `sha256:…`.
    pub fn algorithm(&self) -> &str {
        &self.value[..self.colon]
    }

    /// The hex digits after the `:`.
    pub fn encoded(&self) -> &str {
        &self.value[self.colon + 1..]
    }

    /// The whole digest, as registries and the ECR API expect it.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

fn check_digest_algorithm(algorithm: &str) -> Result<(), String> {
    if algorithm.is_empty() {
        return Err("the algorithm before `:` is missing: write `sha256:<64 hex digits>`".into());
    }
    // Components `[A-Za-z][A-Za-z0-9]*` joined by single `+ . _ -`.
    let mut at_component_start = true;
    for c in algorithm.chars() {
        if at_component_start {
            if !c.is_ascii_alphabetic() {
                return Err(format!(
                    "algorithm `{algorithm}` must start each part with a letter (as in `sha256`)"
                ));
            }
            at_component_start = false;
        } else if matches!(c, '+' | '.' | '_' | '-') {
            at_component_start = true;
        } else if !c.is_ascii_alphanumeric() {
            return Err(format!(
                "algorithm `{algorithm}` contains `{c}`; use letters, digits and `+._-` (as in `sha256`)"
            ));
        }
    }
    if at_component_start {
        return Err(format!(
            "algorithm `{algorithm}` ends with a separator (as in `sha256`, it must end with a letter or digit)"
        ));
    }
    Ok(())
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl FromStr for Digest {
    type Err = ImageRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Digest {
    fn schema_name() -> Cow<'static, str> {
        "Digest".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Content digest `algorithm:hex`, e.g. `sha256:` followed by 64 lowercase hex digits.",
            "pattern": "^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$"
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ImageReference
// ---------------------------------------------------------------------------------------------

/// A parsed, normalised image reference. Docker Hub names are expanded
/// (`ubuntu` → `registry-1.docker.io` + `library/ubuntu`) so that equal images compare equal,
/// and the tag and digest are kept apart from the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
pub struct ImageReference {
    /// Registry host with optional port, e.g. `quay.io`, `localhost:5000`, `registry-1.docker.io`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/ubuntu`.
    pub repository: String,
    /// Tag, if the reference names one.
    pub tag: Option<String>,
    /// Digest, if the reference names one; it decides what is pulled when present.
    pub digest: Option<Digest>,
}

impl ImageReference {
    /// Parses `[registry[:port]/]path[:tag][@digest]` after trimming surrounding whitespace.
    ///
    /// The first path component is a registry only if it contains `.` or `:`, is `localhost`, or
    /// is a bracketed IPv6 address, as Docker decides it. Uppercase in the path is refused rather
    /// than lowercased: a silently changed name would point at a different repository. The length
    /// limit is checked on the normalised name, so everything we print parses back.
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if let Some(pos) = s.find("://") {
            let rest = s[pos + 3..].trim_end_matches('/');
            return Err(ImageRefError::Scheme {
                input: s.to_owned(),
                scheme: s[..pos].to_owned(),
                suggestion: rest.to_owned(),
            });
        }

        let (name_and_tag, digest) = match s.split_once('@') {
            None => (s, None),
            Some((_, d)) if d.contains('@') => {
                return Err(ImageRefError::MultipleAt {
                    input: s.to_owned(),
                });
            }
            Some((_, "")) => {
                return Err(ImageRefError::MissingDigest {
                    input: s.to_owned(),
                });
            }
            Some((nt, d)) => (nt, Some(d)),
        };
        if name_and_tag.is_empty() {
            return Err(ImageRefError::MissingName {
                input: s.to_owned(),
            });
        }

        // A `:` after the last `/` starts the tag; earlier ones belong to a registry port.
        let last_slash = name_and_tag.rfind('/');
        let (name, tag) = match name_and_tag.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
            }
            _ => (name_and_tag, None),
        };
        if name.starts_with('[') && last_slash.is_none() {
            let registry = name_and_tag
                .find(']')
                .map_or(name_and_tag, |end| &name_and_tag[..=end]);
            return Err(ImageRefError::MissingRepository {
                input: s.to_owned(),
                registry: registry.to_owned(),
            });
        }
        if name.is_empty() {
            return Err(ImageRefError::MissingName {
                input: s.to_owned(),
            });
        }
        if name.ends_with('/') {
            let mut suggestion = name.trim_end_matches('/').to_owned();
            if let Some(t) = tag {
                suggestion.push(':');
                suggestion.push_str(t);
            }
            if let Some(d) = digest {
                suggestion.push('@');
                suggestion.push_str(d);
            }
            return Err(ImageRefError::TrailingSlash {
                input: s.to_owned(),
                suggestion,
            });
        }

        let (written_registry, path) = match name.split_once('/') {
            Some((first, rest)) if looks_like_registry(first) => (Some(first), rest),
            _ => (None, name),
        };

        if let (None, Some(t)) = (written_registry, tag)
            && (path.eq_ignore_ascii_case("sha256") || path.eq_ignore_ascii_case("sha512"))
            && t.len() >= 32
            && t.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ImageRefError::BareDigest {
                input: s.to_owned(),
            });
        }

        if let Some(r) = written_registry {
            validate_registry_host(r)?;
        }
        validate_repository_path(path)?;
        match tag {
            Some("") => {
                return Err(ImageRefError::MissingTag {
                    input: s.to_owned(),
                });
            }
            Some(t) => validate_tag(t)?,
            None => {}
        }
        let digest = digest.map(Digest::parse).transpose()?;

        let (registry, repository) = match written_registry {
            Some(r) if !is_docker_hub_host(r) => (r.to_owned(), path.to_owned()),
            _ => (DOCKER_HUB_REGISTRY.to_owned(), docker_hub_repository(path)),
        };
        let length = registry.len() + 1 + repository.len();
        if length > NAME_TOTAL_LENGTH_MAX {
            return Err(ImageRefError::NameTooLong {
                name: format!("{registry}/{repository}"),
                length,
            });
        }
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// True for Docker Hub images, however they were written.
    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB_REGISTRY
    }

    /// The short form people type (`ubuntu:22.04`, `myorg/tool:1`); other registries keep their
    /// host. Falls back to the canonical form when the short one would read back differently.
    pub fn familiar(&self) -> String {
        if !self.is_docker_hub() {
            return self.to_string();
        }
        let short = match self.repository.strip_prefix("library/") {
            Some(rest) if !rest.contains('/') => rest,
            _ => self.repository.as_str(),
        };
        let mut out = short.to_owned();
        self.push_tag_and_digest(&mut out);
        match Self::parse(&out) {
            Ok(back) if back == *self => out,
            _ => self.to_string(),
        }
    }

    /// What to ask the registry for: the digest if pinned, else the tag, else `latest`.
    pub fn reference_for_pull(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.as_str(),
            (None, Some(t)) => t,
            (None, None) => DEFAULT_TAG,
        }
    }

    /// Adds `:latest` when neither tag nor digest is given, as `docker pull` does, so that two
    /// spellings of the same pull compare equal.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// The private ECR registry this image lives in, if it is a private ECR image.
    pub fn ecr_host(&self) -> Option<EcrRegistryHost> {
        EcrRegistryHost::parse(&self.registry)
    }

    fn push_tag_and_digest(&self, out: &mut String) {
        if let Some(t) = &self.tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(d.as_str());
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_tag_and_digest(&mut out);
        f.write_str(&out)
    }
}

impl FromStr for ImageReference {
    type Err = ImageRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn looks_like_registry(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first.starts_with('[')
        || first.eq_ignore_ascii_case("localhost")
}

fn is_docker_hub_host(host: &str) -> bool {
    host.eq_ignore_ascii_case(DOCKER_HUB_REGISTRY)
        || DOCKER_HUB_ALIASES
            .iter()
            .any(|alias| host.eq_ignore_ascii_case(alias))
}

/// Docker Hub has no one-component repositories, so `ubuntu` is `library/ubuntu` on every Hub
/// host, `registry-1.docker.io` included (Docker leaves that one alone; ECR and HealthOmics want
/// `library/`).
fn docker_hub_repository(path: &str) -> String {
    if path.contains('/') {
        path.to_owned()
    } else {
        format!("{DOCKER_OFFICIAL_NAMESPACE}/{path}")
    }
}

/// `host[:port]` where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
fn validate_registry_host(registry: &str) -> Result<(), ImageRefError> {
    let invalid = |reason: String| ImageRefError::InvalidRegistry {
        registry: registry.to_owned(),
        reason,
    };
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err(invalid(
                "`[` opens an IPv6 address that is not closed with `]`".into(),
            ));
        };
        let address = &rest[..end];
        if address.is_empty()
            || !address.contains(':')
            || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
        {
            return Err(invalid(format!(
                "`[{address}]` is not an IPv6 address: write it as `[::1]` or `[2001:db8::1]`"
            )));
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => {
                return Err(invalid(format!(
                    "`{after}` after the IPv6 address is neither `:port` nor `/`"
                )));
            }
        };
        (None, port)
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        check_dns_name(host).map_err(invalid)?;
    }
    if let Some(port) = port
        && (port.is_empty()
            || port.len() > 5
            || !port.bytes().all(|b| b.is_ascii_digit())
            || !port.parse::<u32>().is_ok_and(|p| p <= 65_535))
    {
        return Err(invalid(format!(
            "port `{port}` is not a number from 0 to 65535"
        )));
    }
    Ok(())
}

fn check_dns_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host name before `:` is empty".into());
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (`..`, or a leading or trailing `.`)".into());
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "`{bad}` is not allowed in a host name: use letters, digits, `-` and `.`"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    Ok(())
}

/// Which separators a path component may use: the distribution grammar also allows `__` and
/// runs of `-`, ECR allows only one `.`, `_` or `-` at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Separators {
    Distribution,
    Ecr,
}

fn check_path_component(component: &str, separators: Separators) -> Result<(), String> {
    if component.is_empty() {
        return Err(
            "it has an empty component (a leading `/` or `//`): remove the extra slash".into(),
        );
    }
    if let Some(bad) = component
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{bad}` is not allowed: use lowercase letters, digits, and the separators `.`, `_` and `-`"
        ));
    }
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    if !bytes.first().is_some_and(|&b| is_alnum(b)) || !bytes.last().is_some_and(|&b| is_alnum(b)) {
        return Err(format!(
            "component `{component}` must start and end with a lowercase letter or digit"
        ));
    }
    let mut i = 0;
    while i < bytes.len() {
        if is_alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        let allowed = match separators {
            Separators::Distribution => {
                sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')
            }
            Separators::Ecr => sep.len() == 1,
        };
        if !allowed {
            let rule = match separators {
                Separators::Distribution => "one `.`, one or two `_`, or a run of `-`",
                Separators::Ecr => "a single `.`, `_` or `-`",
            };
            return Err(format!(
                "component `{component}` joins parts with `{sep}`; between letters and digits use {rule}"
            ));
        }
    }
    Ok(())
}

fn validate_repository_path(path: &str) -> Result<(), ImageRefError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ImageRefError::UppercasePath {
            path: path.to_owned(),
            suggestion: path.to_ascii_lowercase(),
        });
    }
    for component in path.split('/') {
        check_path_component(component, Separators::Distribution).map_err(|reason| {
            ImageRefError::InvalidPath {
                path: path.to_owned(),
                reason,
            }
        })?;
    }
    Ok(())
}

pub fn validate_tag(tag: &str) -> Result<(), ImageRefError> {
    let invalid = |reason: String| ImageRefError::InvalidTag {
        tag: tag.to_owned(),
        reason,
    };
    if tag.starts_with(['.', '-']) {
        return Err(invalid(
            "a tag must start with a letter, digit or `_`".into(),
        ));
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(invalid(format!(
            "`{bad}` is not allowed: tags use letters, digits, `_`, `.` and `-`"
        )));
    }
    if tag.len() > TAG_MAX {
        return Err(invalid(format!(
            "it is {} characters long; tags have at most {TAG_MAX}",
            tag.len()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Private ECR hosts and URIs
// ---------------------------------------------------------------------------------------------

/// AWS partition, which decides the DNS suffix of ECR hosts and the first field of ARNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    /// `amazonaws.com`, or `amazonaws.com.cn` in China.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
        }
    }

    /// `aws`, `aws-cn` or `aws-us-gov`, as in `arn:<partition>:ecr:…`.
    pub fn arn_partition(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }
}

/// The partition a region belongs to, so URIs and ARNs are right outside the commercial regions.
/// Regions of other partitions (ISO) are not served by HealthOmics and fall back to `aws`.
pub fn partition_for_region(region: &str) -> Partition {
    if region.starts_with("cn-") {
        Partition::AwsCn
    } else if region.starts_with("us-gov-") {
        Partition::AwsUsGov
    } else {
        Partition::Aws
    }
}

/// A private ECR registry host: `<account>.dkr.ecr[-fips].<region>.<dns suffix>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct EcrRegistryHost {
    /// The 12-digit account that owns the registry.
    pub account_id: String,
    /// Region of the registry, e.g. `us-east-1`.
    pub region: String,
    /// `amazonaws.com` or `amazonaws.com.cn`.
    pub dns_suffix: String,
    /// True for the FIPS endpoint `dkr.ecr-fips`.
    pub fips: bool,
}

impl EcrRegistryHost {
    /// Recognises a private ECR host (case-insensitively, as DNS is). `None` for anything else,
    /// including a host with a port or a suffix that does not fit the region's partition.
    pub fn parse(host: &str) -> Option<Self> {
        let host = host.trim().to_ascii_lowercase();
        let (account_id, rest) = host.split_once('.')?;
        if !is_account_id(account_id) {
            return None;
        }
        let rest = rest.strip_prefix("dkr.")?;
        let (service, rest) = rest.split_once('.')?;
        let fips = match service {
            "ecr" => false,
            "ecr-fips" => true,
            _ => return None,
        };
        let (region, dns_suffix) = rest.split_once('.')?;
        if !is_region_name(region) || dns_suffix != partition_for_region(region).dns_suffix() {
            return None;
        }
        Some(Self {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            dns_suffix: dns_suffix.to_owned(),
            fips,
        })
    }

    /// The partition of this registry's region.
    pub fn partition(&self) -> Partition {
        partition_for_region(&self.region)
    }
}

impl fmt::Display for EcrRegistryHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = if self.fips { "ecr-fips" } else { "ecr" };
        write!(
            f,
            "{}.dkr.{service}.{}.{}",
            self.account_id, self.region, self.dns_suffix
        )
    }
}

/// True for exactly 12 ASCII digits, the shape of an AWS account ID.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// True for region-shaped names (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`): lowercase words
/// joined by `-`, ending in a number. Unknown regions pass, so new ones need no code change.
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((last, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// The private ECR host of an account and region, with the partition's DNS suffix.
pub fn ecr_registry_host(account_id: &str, region: &str) -> String {
    format!(
        "{account_id}.dkr.ecr.{region}.{}",
        partition_for_region(region).dns_suffix()
    )
}

/// A private ECR image URI. With both a tag and a digest both are kept (the digest decides the
/// pull; the tag stays readable), like the pinned form the HealthOmics docs recommend.
pub fn ecr_image_uri(
    account_id: &str,
    region: &str,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&str>,
) -> String {
    let mut uri = format!("{}/{repository}", ecr_registry_host(account_id, region));
    if let Some(t) = tag {
        uri.push(':');
        uri.push_str(t);
    }
    if let Some(d) = digest {
        uri.push('@');
        uri.push_str(d);
    }
    uri
}

// ---------------------------------------------------------------------------------------------
// ECR names and pull-through cache mapping
// ---------------------------------------------------------------------------------------------

/// Checks a name against ECR's repository rules (2–256 characters, lowercase components joined
/// by `/`, single `.`/`_`/`-` separators), so we refuse before the API does and say why.
pub fn validate_ecr_repository_name(name: &str) -> Result<(), ImageRefError> {
    let invalid = |reason: String| ImageRefError::InvalidEcrRepositoryName {
        name: name.to_owned(),
        reason,
    };
    check_ecr_name(name, ECR_REPOSITORY_MIN, ECR_REPOSITORY_MAX).map_err(invalid)
}

/// Checks a pull-through cache `ecrRepositoryPrefix`: 2–30 characters of the repository grammar,
/// or the literal `ROOT` (no prefix).
pub fn validate_ptc_prefix(prefix: &str) -> Result<(), ImageRefError> {
    if prefix == ROOT_PREFIX {
        return Ok(());
    }
    check_ecr_name(prefix, PTC_PREFIX_MIN, PTC_PREFIX_MAX).map_err(|reason| {
        ImageRefError::InvalidPtcPrefix {
            prefix: prefix.to_owned(),
            reason,
        }
    })
}

fn check_ecr_name(name: &str, min: usize, max: usize) -> Result<(), String> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "it has uppercase letters; ECR names are lowercase: write `{}`",
            name.to_ascii_lowercase()
        ));
    }
    if name.len() < min || name.len() > max {
        return Err(format!(
            "it is {} characters long; it must have {min} to {max}",
            name.len()
        ));
    }
    for component in name.split('/') {
        check_path_component(component, Separators::Ecr)?;
    }
    Ok(())
}

/// The private repository a pull-through cache rule (or a HealthOmics registry mapping) gives an
/// upstream image: `<prefix>/<upstream path>`, only the path for `ROOT`, and with an
/// `upstreamRepositoryPrefix` `U` the path must start with `U/`, which is dropped.
pub fn ptc_repository_name(
    prefix: &str,
    upstream_repository_prefix: Option<&str>,
    reference: &ImageReference,
) -> Result<String, ImageRefError> {
    let path = reference.repository.as_str();
    let rest = match upstream_repository_prefix {
        None | Some(ROOT_PREFIX) => path,
        Some(upstream) => path
            .strip_prefix(upstream)
            .and_then(|r| r.strip_prefix('/'))
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ImageRefError::UpstreamPrefixMismatch {
                repository: path.to_owned(),
                upstream_prefix: upstream.to_owned(),
            })?,
    };
    let name = if prefix == ROOT_PREFIX {
        rest.to_owned()
    } else {
        format!("{prefix}/{rest}")
    };
    validate_ecr_repository_name(&name)?;
    Ok(name)
}

/// The upstream repository path behind a PTC repository, or `None` when the repository is not
/// under the prefix. With an `upstreamRepositoryPrefix` on the rule, the caller puts it back in
/// front of the result.
pub fn upstream_from_ptc_repository(prefix: &str, repository: &str) -> Option<String> {
    let rest = if prefix == ROOT_PREFIX {
        repository
    } else {
        repository.strip_prefix(prefix)?.strip_prefix('/')?
    };
    (!rest.is_empty()).then(|| rest.to_owned())
}

// ---------------------------------------------------------------------------------------------
// HealthOmics container registry map
// ---------------------------------------------------------------------------------------------

/// One HealthOmics `registryMappings` entry, with the API's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryMapping {
    /// Upstream registry host, compared with the image's host exactly, e.g. `quay.io`.
    pub upstream_registry_url: String,
    /// Private ECR prefix the upstream's repositories live under, e.g. `quay`.
    pub ecr_repository_prefix: String,
    /// Upstream path prefix the mapping is limited to; it is dropped from the ECR name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_repository_prefix: Option<String>,
    /// Account of the ECR registry, when it is not the run's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecr_account_id: Option<String>,
    /// Secrets Manager secret HealthOmics uses to copy from a non-PTC registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_arn: Option<String>,
}

/// One HealthOmics `imageMappings` entry: a single image sent to a chosen destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageMapping {
    /// The image as the workflow names it.
    pub source_image: String,
    /// The private ECR image pulled instead.
    pub destination_image: String,
}

/// A HealthOmics `containerRegistryMap`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRegistryMap {
    #[serde(default)]
    pub registry_mappings: Vec<RegistryMapping>,
    #[serde(default)]
    pub image_mappings: Vec<ImageMapping>,
}

/// Which mapping decided the rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "matched", rename_all = "snake_case")]
pub enum RewriteOutcome {
    /// `imageMappings[index]` names this image; it wins over registry mappings.
    ImageMapping { index: usize },
    /// `registryMappings[index]` has this image's host; the image moves to `ecr_repository`.
    RegistryMapping {
        index: usize,
        ecr_repository: String,
    },
    /// The image is already in private ECR and is pulled as written.
    PrivateEcr,
    /// Nothing maps the image, so HealthOmics would try to pull it from a registry it cannot use.
    Unmapped,
}

/// Whether a note concerns an image mapping or a registry mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingKind {
    Image,
    Registry,
}

/// Why a mapping deserves a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingNoteReason {
    /// The mapping's `sourceImage` does not parse.
    InvalidSourceImage,
    /// Same repository, other tag or digest.
    DifferentTagOrDigest,
    /// The matched image mapping's destination is not a private ECR image.
    DestinationNotPrivateEcr,
    /// The mapping's host is almost the image's host (alias, spelling, sibling host).
    HostNearMiss,
    /// The host matches but the path is outside `upstreamRepositoryPrefix`.
    UpstreamPrefixMismatch,
    /// The host matches but the resulting ECR repository name is invalid.
    InvalidEcrRepositoryName,
    /// A HealthOmics-copy host mapped without the `credentialArn` HealthOmics requires.
    MissingCredential,
    /// The host is neither a PTC upstream nor a HealthOmics-copy host: the ECR repository must be
    /// filled by hand (e.g. with CloneContainerToECR).
    UnsupportedUpstream,
}

/// A remark about one mapping, with the fix in `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MappingNote {
    pub mapping: MappingKind,
    /// Position in `imageMappings` or `registryMappings`.
    pub index: usize,
    pub reason: MappingNoteReason,
    pub message: String,
}

/// What HealthOmics does with one image under a registry map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RewriteResult {
    /// The image in canonical form.
    pub source_image: String,
    pub outcome: RewriteOutcome,
    /// The image HealthOmics pulls instead (for private ECR, the image itself); `None` when unmapped.
    pub ecr_image_uri: Option<String>,
    /// Near misses and problems worth telling the user, in mapping order.
    pub notes: Vec<MappingNote>,
}

/// Applies a HealthOmics container registry map to one image, the way HealthOmics does at run
/// time: an image mapping for the image wins; otherwise the first registry mapping whose
/// `upstreamRegistryUrl` equals the image's host exactly (Docker Hub images have the host
/// `registry-1.docker.io`). `default_account_id` and `region` fill the ECR URI when the mapping
/// has no `ecrAccountId`.
pub fn apply_registry_map(
    reference: &ImageReference,
    map: &ContainerRegistryMap,
    default_account_id: &str,
    region: &str,
) -> RewriteResult {
    let source_image = reference.to_string();
    let mut notes = Vec::new();
    let wanted = reference.clone().with_default_tag();

    for (index, mapping) in map.image_mappings.iter().enumerate() {
        let source = match ImageReference::parse(&mapping.source_image) {
            Ok(source) => source.with_default_tag(),
            Err(e) => {
                notes.push(MappingNote {
                    mapping: MappingKind::Image,
                    index,
                    reason: MappingNoteReason::InvalidSourceImage,
                    message: format!("sourceImage cannot match any image: {e}"),
                });
                continue;
            }
        };
        if source == wanted {
            let destination = mapping.destination_image.trim().to_owned();
            let in_private_ecr = ImageReference::parse(&destination)
                .ok()
                .and_then(|d| d.ecr_host())
                .is_some();
            if !in_private_ecr {
                notes.push(MappingNote {
                    mapping: MappingKind::Image,
                    index,
                    reason: MappingNoteReason::DestinationNotPrivateEcr,
                    message: format!(
                        "destinationImage `{destination}` is not a private ECR image URI; HealthOmics pulls only from private ECR: point it at `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`"
                    ),
                });
            }
            return RewriteResult {
                source_image,
                outcome: RewriteOutcome::ImageMapping { index },
                ecr_image_uri: Some(destination),
                notes,
            };
        }
        if source.registry == wanted.registry && source.repository == wanted.repository {
            notes.push(MappingNote {
                mapping: MappingKind::Image,
                index,
                reason: MappingNoteReason::DifferentTagOrDigest,
                message: format!(
                    "maps `{source}`, not `{wanted}`: an image mapping matches one tag or digest only"
                ),
            });
        }
    }

    if reference.ecr_host().is_some() {
        return RewriteResult {
            ecr_image_uri: Some(source_image.clone()),
            source_image,
            outcome: RewriteOutcome::PrivateEcr,
            notes,
        };
    }

    let class = registries::classify_host(&reference.registry);
    for (index, mapping) in map.registry_mappings.iter().enumerate() {
        if mapping.upstream_registry_url != reference.registry {
            if let Some(miss) =
                registries::mapping_near_miss(&mapping.upstream_registry_url, &reference.registry)
            {
                notes.push(host_near_miss_note(index, &miss));
            }
            continue;
        }
        let repository = match ptc_repository_name(
            &mapping.ecr_repository_prefix,
            mapping.upstream_repository_prefix.as_deref(),
            reference,
        ) {
            Ok(repository) => repository,
            Err(e) => {
                let reason = match e {
                    ImageRefError::UpstreamPrefixMismatch { .. } => {
                        MappingNoteReason::UpstreamPrefixMismatch
                    }
                    _ => MappingNoteReason::InvalidEcrRepositoryName,
                };
                notes.push(MappingNote {
                    mapping: MappingKind::Registry,
                    index,
                    reason,
                    message: e.to_string(),
                });
                continue;
            }
        };
        match class.access_path {
            AccessPath::HealthOmicsCopy if mapping.credential_arn.is_none() => {
                notes.push(MappingNote {
                    mapping: MappingKind::Registry,
                    index,
                    reason: MappingNoteReason::MissingCredential,
                    message: format!(
                        "HealthOmics copies images from `{}` itself only when the mapping has a credentialArn (a Secrets Manager secret the run role can read): add one",
                        reference.registry
                    ),
                });
            }
            AccessPath::Unsupported => {
                notes.push(MappingNote {
                    mapping: MappingKind::Registry,
                    index,
                    reason: MappingNoteReason::UnsupportedUpstream,
                    message: format!(
                        "`{}` is neither a pull-through cache upstream nor a registry HealthOmics copies from, so nothing fills `{repository}` for you: copy the image there with CloneContainerToECR",
                        reference.registry
                    ),
                });
            }
            _ => {}
        }
        let account = mapping
            .ecr_account_id
            .as_deref()
            .unwrap_or(default_account_id);
        let pulled = reference.clone().with_default_tag();
        let uri = ecr_image_uri(
            account,
            region,
            &repository,
            pulled.tag.as_deref(),
            pulled.digest.as_ref().map(Digest::as_str),
        );
        return RewriteResult {
            source_image,
            outcome: RewriteOutcome::RegistryMapping {
                index,
                ecr_repository: repository,
            },
            ecr_image_uri: Some(uri),
            notes,
        };
    }

    RewriteResult {
        source_image,
        outcome: RewriteOutcome::Unmapped,
        ecr_image_uri: None,
        notes,
    }
}

fn host_near_miss_note(index: usize, miss: &NearMiss) -> MappingNote {
    MappingNote {
        mapping: MappingKind::Registry,
        index,
        reason: MappingNoteReason::HostNearMiss,
        message: miss.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn p(s: &str) -> ImageReference {
        match ImageReference::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("`{s}` should parse: {e}"),
        }
    }

    fn err(s: &str) -> ImageRefError {
        match ImageReference::parse(s) {
            Ok(r) => panic!("`{s}` should fail but parsed as {r}"),
            Err(e) => e,
        }
    }

    /// Every row of the reference server's parse table (reference-python-server.md §10), with the
    /// answers it got wrong corrected: `library/` for `docker.io/x`, `index.docker.io` normalised,
    /// tag kept out of the name with a digest, bare `localhost` a registry, uppercase refused, and
    /// `sha256:abc` refused as a digest.
    #[test]
    fn python_server_table_corrected() {
        let d = SHA;
        type Row<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
        let rows: &[Row] = &[
            ("ubuntu", DOCKER_HUB_REGISTRY, "library/ubuntu", None, None),
            (
                "ubuntu:22.04",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                Some("22.04"),
                None,
            ),
            (
                "myorg/img:v1",
                DOCKER_HUB_REGISTRY,
                "myorg/img",
                Some("v1"),
                None,
            ),
            (
                "docker.io/library/ubuntu:1",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                Some("1"),
                None,
            ),
            (
                "docker.io/ubuntu",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                None,
                None,
            ),
            (
                "index.docker.io/library/ubuntu",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                None,
                None,
            ),
            (
                &format!("ubuntu@{d}"),
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                None,
                Some(d),
            ),
            (
                &format!("ubuntu:22.04@{d}"),
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                Some("22.04"),
                Some(d),
            ),
            (
                "quay.io/biocontainers/samtools:1.17--h00cdaf9_0",
                "quay.io",
                "biocontainers/samtools",
                Some("1.17--h00cdaf9_0"),
                None,
            ),
            (
                "public.ecr.aws/lts/ubuntu:22.04",
                "public.ecr.aws",
                "lts/ubuntu",
                Some("22.04"),
                None,
            ),
            ("ghcr.io/org/img", "ghcr.io", "org/img", None, None),
            (
                "registry.k8s.io/pause:3.9",
                "registry.k8s.io",
                "pause",
                Some("3.9"),
                None,
            ),
            (
                "myreg.azurecr.io/a/b:c",
                "myreg.azurecr.io",
                "a/b",
                Some("c"),
                None,
            ),
            (
                "registry.gitlab.com/grp/proj/img:tag",
                "registry.gitlab.com",
                "grp/proj/img",
                Some("tag"),
                None,
            ),
            (
                "wave.seqera.io/wt/abc123/biocontainers/samtools:1.0",
                "wave.seqera.io",
                "wt/abc123/biocontainers/samtools",
                Some("1.0"),
                None,
            ),
            (
                "community.wave.seqera.io/library/samtools:1.19--abc",
                "community.wave.seqera.io",
                "library/samtools",
                Some("1.19--abc"),
                None,
            ),
            (
                "localhost:5000/foo:bar",
                "localhost:5000",
                "foo",
                Some("bar"),
                None,
            ),
            ("localhost/foo", "localhost", "foo", None, None),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "repo",
                Some("tag"),
                None,
            ),
        ];
        for (input, registry, repository, tag, digest) in rows {
            let r = p(input);
            assert_eq!(r.registry, *registry, "{input}");
            assert_eq!(r.repository, *repository, "{input}");
            assert_eq!(r.tag.as_deref(), *tag, "{input}");
            assert_eq!(r.digest.as_ref().map(Digest::as_str), *digest, "{input}");
            // The Python server filled `latest` when neither was given; we do it on request.
            let pulled = r.clone().with_default_tag();
            if tag.is_none() && digest.is_none() {
                assert_eq!(pulled.tag.as_deref(), Some("latest"), "{input}");
            } else {
                assert_eq!(pulled, r, "{input}");
            }
        }
        assert!(
            p("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag")
                .ecr_host()
                .is_some()
        );

        let e = err("UBUNTU");
        assert!(matches!(e, ImageRefError::UppercasePath { .. }), "{e:?}");
        assert!(e.to_string().contains("write `ubuntu`"), "{e}");

        let e = err("ubuntu@sha256:abc");
        assert!(matches!(e, ImageRefError::InvalidDigest { .. }), "{e:?}");
        assert!(e.to_string().contains("exactly 64"), "{e}");
        let e = err("ubuntu:22.04@sha256:abc");
        assert!(matches!(e, ImageRefError::InvalidDigest { .. }), "{e:?}");
    }

    #[test]
    fn normalisation_and_canonical_form() {
        let rows = [
            ("ubuntu", "registry-1.docker.io/library/ubuntu"),
            (
                "  ubuntu:22.04\n",
                "registry-1.docker.io/library/ubuntu:22.04",
            ),
            ("docker.io/x", "registry-1.docker.io/library/x"),
            ("index.docker.io/x", "registry-1.docker.io/library/x"),
            ("registry-1.docker.io/x", "registry-1.docker.io/library/x"),
            ("Docker.IO/x", "registry-1.docker.io/library/x"),
            ("docker.io/org/x", "registry-1.docker.io/org/x"),
            ("index.docker.io/org/x:1", "registry-1.docker.io/org/x:1"),
            ("library/ubuntu", "registry-1.docker.io/library/ubuntu"),
            ("a/b/c", "registry-1.docker.io/a/b/c"),
            ("localhost/foo", "localhost/foo"),
            ("LOCALHOST/foo", "LOCALHOST/foo"),
            ("localhost:5000/foo/bar:1", "localhost:5000/foo/bar:1"),
            ("[::1]:5000/foo", "[::1]:5000/foo"),
            ("[::1]/foo:1", "[::1]/foo:1"),
            ("[2001:db8::1]:443/a/b", "[2001:db8::1]:443/a/b"),
            ("192.168.1.10:5000/img:2", "192.168.1.10:5000/img:2"),
            ("Quay.IO/org/x", "Quay.IO/org/x"),
            (
                "my-host.example.com/a__b/c--d/e.f/g_h:v",
                "my-host.example.com/a__b/c--d/e.f/g_h:v",
            ),
            ("quay.io", "registry-1.docker.io/library/quay.io"),
            (
                "localhost:5000",
                "registry-1.docker.io/library/localhost:5000",
            ),
        ];
        for (input, canonical) in rows {
            assert_eq!(p(input).to_string(), canonical, "{input}");
            assert_eq!(p(canonical).to_string(), canonical, "{canonical}");
        }
        let both = p(&format!("ubuntu:22.04@{SHA}"));
        assert_eq!(
            both.to_string(),
            format!("registry-1.docker.io/library/ubuntu:22.04@{SHA}")
        );
        assert_eq!(both.repository, "library/ubuntu");
    }

    #[test]
    fn familiar_form() {
        let rows = [
            ("ubuntu:22.04", "ubuntu:22.04"),
            ("registry-1.docker.io/library/ubuntu", "ubuntu"),
            ("docker.io/myorg/tool:1", "myorg/tool:1"),
            ("library/a/b", "library/a/b"),
            ("quay.io/org/x:1", "quay.io/org/x:1"),
            ("localhost/foo", "localhost/foo"),
            // Short forms that would read back as a registry keep the full form.
            ("docker.io/my.org/img", "registry-1.docker.io/my.org/img"),
            (
                "docker.io/localhost/img",
                "registry-1.docker.io/localhost/img",
            ),
        ];
        for (input, familiar) in rows {
            let r = p(input);
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(p(&r.familiar()), r, "{input}");
        }
        let pinned = p(&format!("ubuntu:22.04@{SHA}"));
        assert_eq!(pinned.familiar(), format!("ubuntu:22.04@{SHA}"));
        // `library/sha256:<hex>` must not shorten into something that reads as a bare digest.
        let hex = &SHA["sha256:".len()..];
        let odd = p(&format!("library/sha256:{hex}"));
        assert_eq!(p(&odd.familiar()), odd);
    }

    #[test]
    fn pull_reference_and_default_tag() {
        assert_eq!(p("ubuntu").reference_for_pull(), "latest");
        assert_eq!(p("ubuntu:22.04").reference_for_pull(), "22.04");
        assert_eq!(p(&format!("ubuntu:22.04@{SHA}")).reference_for_pull(), SHA);
        assert_eq!(
            p("ubuntu").with_default_tag().to_string(),
            "registry-1.docker.io/library/ubuntu:latest"
        );
        assert_eq!(p("ubuntu:1").with_default_tag().tag.as_deref(), Some("1"));
        let pinned = p(&format!("ubuntu@{SHA}")).with_default_tag();
        assert_eq!(pinned.tag, None, "a digest needs no default tag");
    }

    #[test]
    fn errors_say_what_and_how() {
        let rows: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("https://quay.io/org/x:1", "write `quay.io/org/x:1`"),
            ("http://localhost:5000/foo/", "write `localhost:5000/foo`"),
            ("docker://ubuntu", "URL scheme"),
            ("ubuntu/", "remove the trailing slash and write `ubuntu`"),
            ("quay.io/org/x/:1", "write `quay.io/org/x:1`"),
            ("quay.io/", "trailing slash"),
            ("ubuntu@", "no digest follows"),
            ("ubuntu@@sha256:abc", "more than one `@`"),
            (&format!("ubuntu@{SHA}@{SHA}"), "more than one `@`"),
            ("@sha256:abc", "no repository name"),
            (":tag", "no repository name"),
            ("ubuntu:", "no tag follows"),
            ("quay.io/org/x:", "no tag follows"),
            ("[::1]:5000", "add the repository path"),
            ("[::1]", "add the repository path"),
            (SHA, "bare digest"),
            ("Ubuntu:1", "write `ubuntu`"),
            ("quay.io/Org/Tool", "write `org/tool`"),
            ("a//b", "empty component"),
            ("/ubuntu", "empty component"),
            ("-ubuntu", "must start and end"),
            ("ubuntu-", "must start and end"),
            ("a..b", "joins parts with `..`"),
            ("a___b", "joins parts with `___`"),
            ("a-_b", "joins parts with `-_`"),
            ("a._b", "joins parts with `._`"),
            ("ubu ntu", "` ` is not allowed"),
            ("ubuntu:22 04", "` ` is not allowed"),
            ("ubuntu:.hidden", "must start with"),
            ("ubuntu:-x", "must start with"),
            ("ubuntu:a+b", "`+` is not allowed"),
            ("quay.io:99999/x", "port `99999`"),
            ("quay.io:/x", "port ``"),
            ("quay.io:80a/x", "port `80a`"),
            ("a..io/x", "empty label"),
            ("-a.io/x", "starts or ends with `-`"),
            ("a_b.io/x", "`_` is not allowed in a host name"),
            ("[::1/x", "not closed"),
            ("[zz]/x", "not an IPv6 address"),
            ("[::1]x/y", "neither `:port`"),
            ("ubuntu@sha256", "no `:`"),
            ("ubuntu@sha256:", "no hexadecimal digits"),
            ("ubuntu@:abcd", "algorithm before `:` is missing"),
            (
                "ubuntu@1sha:0123456789abcdef0123456789abcdef",
                "must start each part with a letter",
            ),
            (
                "ubuntu@sha-:0123456789abcdef0123456789abcdef",
                "ends with a separator",
            ),
            (
                "ubuntu@sh!a:0123456789abcdef0123456789abcdef",
                "contains `!`",
            ),
            ("ubuntu@foo:0123456789abcdef", "at least 32"),
            (
                "ubuntu@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
                "`g` is not a hexadecimal digit",
            ),
            (
                "ubuntu@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                "must be lowercase",
            ),
            (
                "ubuntu@SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "algorithm must be lowercase",
            ),
            (
                "ubuntu@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "exactly 128",
            ),
        ];
        for (input, needle) in rows {
            let e = err(input);
            let text = e.to_string();
            assert!(
                text.contains(needle),
                "`{input}`: `{text}` lacks `{needle}`"
            );
        }
    }

    #[test]
    fn error_variants() {
        assert_eq!(err(" "), ImageRefError::Empty);
        assert!(
            matches!(err("https://ubuntu"), ImageRefError::Scheme { scheme, suggestion, .. } if scheme == "https" && suggestion == "ubuntu")
        );
        assert!(matches!(err("a/"), ImageRefError::TrailingSlash { .. }));
        assert!(matches!(err("a@"), ImageRefError::MissingDigest { .. }));
        assert!(matches!(err("a:"), ImageRefError::MissingTag { .. }));
        assert!(matches!(err("a:b@"), ImageRefError::MissingDigest { .. }));
        assert!(matches!(err("A"), ImageRefError::UppercasePath { .. }));
        assert!(matches!(err("a:b c"), ImageRefError::InvalidTag { .. }));
        assert!(matches!(err("a@b"), ImageRefError::InvalidDigest { .. }));
        assert!(matches!(
            err("a.b:x/c"),
            ImageRefError::InvalidRegistry { .. }
        ));
    }

    #[test]
    fn tag_limits() {
        let ok = format!("ubuntu:{}", "a".repeat(128));
        assert_eq!(p(&ok).tag.map(|t| t.len()), Some(128));
        let e = err(&format!("ubuntu:{}", "a".repeat(129)));
        assert!(e.to_string().contains("at most 128"), "{e}");
        for tag in ["_", "_x", "1", "A.b-C_d", "v1.2.3-rc.1", "latest"] {
            assert_eq!(p(&format!("x:{tag}")).tag.as_deref(), Some(tag));
        }
    }

    #[test]
    fn name_length_counts_the_normalised_name() {
        // registry-1.docker.io/ + library/ = 29 characters before the path.
        let fits = "a".repeat(255 - "registry-1.docker.io/library/".len());
        assert!(ImageReference::parse(&fits).is_ok());
        let too_long = format!("{fits}b");
        let e = err(&too_long);
        assert!(
            matches!(e, ImageRefError::NameTooLong { length: 256, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("limit is 255"), "{e}");
        let host = "quay.io/";
        assert!(ImageReference::parse(&format!("{host}{}", "a".repeat(255 - host.len()))).is_ok());
        assert!(ImageReference::parse(&format!("{host}{}", "a".repeat(256 - host.len()))).is_err());
    }

    #[test]
    fn digests() {
        let sha512 = format!("sha512:{}", "ab".repeat(64));
        for d in [
            SHA.to_owned(),
            sha512.clone(),
            "blake3:0123456789abcdef0123456789abcdef".to_owned(),
            "sha256+b64u.x_y-z:0123456789ABCDEF0123456789abcdef".to_owned(),
        ] {
            let digest = Digest::parse(&d).unwrap_or_else(|e| panic!("{d}: {e}"));
            assert_eq!(digest.to_string(), d);
            assert_eq!(format!("{}:{}", digest.algorithm(), digest.encoded()), d);
        }
        let r = p(&format!("quay.io/x@{sha512}"));
        assert_eq!(r.digest.as_ref().map(Digest::algorithm), Some("sha512"));
        let json = serde_json::to_string(&Digest::parse(SHA).ok()).unwrap_or_default();
        assert_eq!(json, format!("\"{SHA}\""));
        let back: Result<Digest, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Digest::parse(SHA).ok());
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }

    #[test]
    fn ecr_hosts() {
        let rows = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "123456789012",
                "us-east-1",
                "amazonaws.com",
                false,
                Partition::Aws,
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "123456789012",
                "cn-north-1",
                "amazonaws.com.cn",
                false,
                Partition::AwsCn,
            ),
            (
                "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
                "123456789012",
                "cn-northwest-1",
                "amazonaws.com.cn",
                false,
                Partition::AwsCn,
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                "123456789012",
                "us-gov-west-1",
                "amazonaws.com",
                false,
                Partition::AwsUsGov,
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
                "123456789012",
                "us-east-1",
                "amazonaws.com",
                true,
                Partition::Aws,
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                "123456789012",
                "us-gov-east-1",
                "amazonaws.com",
                true,
                Partition::AwsUsGov,
            ),
            (
                "123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM",
                "123456789012",
                "eu-west-1",
                "amazonaws.com",
                false,
                Partition::Aws,
            ),
        ];
        for (host, account, region, suffix, fips, partition) in rows {
            let h = EcrRegistryHost::parse(host).unwrap_or_else(|| panic!("{host}"));
            assert_eq!(
                (
                    h.account_id.as_str(),
                    h.region.as_str(),
                    h.dns_suffix.as_str(),
                    h.fips
                ),
                (account, region, suffix, fips),
                "{host}"
            );
            assert_eq!(h.partition(), partition);
            assert_eq!(h.to_string(), host.to_ascii_lowercase());
        }
        for host in [
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "123456789012.dkr.ecr.useast1.amazonaws.com",
            "123456789012.dkr.ecr.us-east.amazonaws.com",
            "123456789012.dkr.ecr-public.us-east-1.amazonaws.com",
            "123456789012.ecr.us-east-1.amazonaws.com",
            "public.ecr.aws",
            "quay.io",
            "",
        ] {
            assert_eq!(EcrRegistryHost::parse(host), None, "{host}");
        }
    }

    #[test]
    fn partitions_and_uris() {
        assert_eq!(partition_for_region("us-east-1"), Partition::Aws);
        assert_eq!(partition_for_region("eu-central-2"), Partition::Aws);
        assert_eq!(partition_for_region("cn-north-1"), Partition::AwsCn);
        assert_eq!(partition_for_region("us-gov-west-1"), Partition::AwsUsGov);
        assert_eq!(Partition::Aws.arn_partition(), "aws");
        assert_eq!(Partition::AwsCn.arn_partition(), "aws-cn");
        assert_eq!(Partition::AwsUsGov.arn_partition(), "aws-us-gov");
        assert_eq!(Partition::AwsCn.dns_suffix(), "amazonaws.com.cn");
        assert_eq!(Partition::AwsUsGov.dns_suffix(), "amazonaws.com");
        assert_eq!(
            serde_json::to_string(&Partition::AwsUsGov).ok().as_deref(),
            Some("\"aws-us-gov\"")
        );

        assert_eq!(
            ecr_registry_host("123456789012", "us-east-1"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            ecr_registry_host("123456789012", "cn-north-1"),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            ecr_registry_host("123456789012", "us-gov-west-1"),
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            ecr_image_uri(
                "123456789012",
                "us-west-2",
                "docker-hub/library/ubuntu",
                Some("22.04"),
                None
            ),
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/ubuntu:22.04"
        );
        assert_eq!(
            ecr_image_uri("123456789012", "cn-north-1", "quay/x", None, Some(SHA)),
            format!("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/quay/x@{SHA}")
        );
        assert_eq!(
            ecr_image_uri("123456789012", "us-east-1", "r", Some("1"), Some(SHA)),
            format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1@{SHA}")
        );
        assert_eq!(
            ecr_image_uri("123456789012", "us-east-1", "r", None, None),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/r"
        );
        let uri = ecr_image_uri("123456789012", "us-gov-west-1", "a/b", Some("t"), None);
        assert_eq!(
            p(&uri).ecr_host().map(|h| h.region),
            Some("us-gov-west-1".to_owned())
        );
        assert!(is_region_name("ap-southeast-5") && is_region_name("us-gov-east-1"));
        assert!(
            !is_region_name("us-east") && !is_region_name("US-EAST-1") && !is_region_name("us--1")
        );
    }

    #[test]
    fn ecr_repository_names() {
        for ok in [
            "ab",
            "docker-hub/library/ubuntu",
            "a.b_c-d/e",
            "0/1",
            &"a".repeat(256),
        ] {
            assert_eq!(validate_ecr_repository_name(ok), Ok(()), "{ok}");
        }
        let rows = [
            ("a", "1 characters long"),
            (&"a".repeat(257) as &str, "257 characters long"),
            ("Docker-hub/x", "write `docker-hub/x`"),
            ("a--b", "joins parts with `--`"),
            ("a__b", "joins parts with `__`"),
            ("a//b", "empty component"),
            ("/ab", "empty component"),
            ("ab/", "empty component"),
            ("-ab", "must start and end"),
            ("a b", "` ` is not allowed"),
        ];
        for (name, needle) in rows {
            let e = validate_ecr_repository_name(name)
                .err()
                .unwrap_or_else(|| panic!("{name}"));
            assert!(matches!(e, ImageRefError::InvalidEcrRepositoryName { .. }));
            assert!(e.to_string().contains(needle), "{name}: {e}");
        }
    }

    #[test]
    fn ptc_prefixes() {
        for ok in [
            "ROOT",
            "docker-hub",
            "ab",
            "a/b",
            "ecr-public",
            &"a".repeat(30),
        ] {
            assert_eq!(validate_ptc_prefix(ok), Ok(()), "{ok}");
        }
        for bad in [
            "a",
            "Root",
            "Quay",
            "a--b",
            &"a".repeat(31),
            "a/",
            "",
            "docker hub",
        ] {
            let e = validate_ptc_prefix(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad}"));
            assert!(matches!(e, ImageRefError::InvalidPtcPrefix { .. }), "{bad}");
        }
    }

    #[test]
    fn ptc_repository_mapping() {
        let ubuntu = p("ubuntu:22.04");
        assert_eq!(
            ptc_repository_name("docker-hub", None, &ubuntu)
                .ok()
                .as_deref(),
            Some("docker-hub/library/ubuntu")
        );
        assert_eq!(
            ptc_repository_name("ROOT", None, &ubuntu).ok().as_deref(),
            Some("library/ubuntu")
        );
        assert_eq!(
            ptc_repository_name("dh", Some("library"), &ubuntu)
                .ok()
                .as_deref(),
            Some("dh/ubuntu")
        );
        assert_eq!(
            ptc_repository_name("dh", Some("ROOT"), &ubuntu)
                .ok()
                .as_deref(),
            Some("dh/library/ubuntu")
        );
        let samtools = p("quay.io/biocontainers/samtools:1.17--h00cdaf9_0");
        assert_eq!(
            ptc_repository_name("quay", None, &samtools).ok().as_deref(),
            Some("quay/biocontainers/samtools")
        );
        assert_eq!(
            ptc_repository_name("bio", Some("biocontainers"), &samtools)
                .ok()
                .as_deref(),
            Some("bio/samtools")
        );
        let e = ptc_repository_name("bio", Some("biocontainer"), &samtools).err();
        assert!(
            matches!(e, Some(ImageRefError::UpstreamPrefixMismatch { .. })),
            "{e:?}"
        );
        let e = ptc_repository_name("q", Some("biocontainers/samtools"), &samtools).err();
        assert!(
            matches!(e, Some(ImageRefError::UpstreamPrefixMismatch { .. })),
            "the whole path is not a prefix: {e:?}"
        );
        // The distribution grammar allows `--` and `__`; ECR does not.
        let e = ptc_repository_name("quay", None, &p("quay.io/a--b/c")).err();
        assert!(
            matches!(e, Some(ImageRefError::InvalidEcrRepositoryName { .. })),
            "{e:?}"
        );

        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hub/library/ubuntu").as_deref(),
            Some("library/ubuntu")
        );
        assert_eq!(
            upstream_from_ptc_repository("ROOT", "library/ubuntu").as_deref(),
            Some("library/ubuntu")
        );
        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hubx/library/ubuntu"),
            None
        );
        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hub"),
            None
        );
        assert_eq!(
            upstream_from_ptc_repository("docker-hub", "docker-hub/"),
            None
        );
        assert_eq!(
            upstream_from_ptc_repository("a/b", "a/b/c/d").as_deref(),
            Some("c/d")
        );
    }

    fn registry(url: &str, prefix: &str) -> RegistryMapping {
        RegistryMapping {
            upstream_registry_url: url.to_owned(),
            ecr_repository_prefix: prefix.to_owned(),
            upstream_repository_prefix: None,
            ecr_account_id: None,
            credential_arn: None,
        }
    }

    fn image(source: &str, destination: &str) -> ImageMapping {
        ImageMapping {
            source_image: source.to_owned(),
            destination_image: destination.to_owned(),
        }
    }

    const ACCT: &str = "123456789012";

    #[test]
    fn registry_map_registry_mappings() {
        let map = ContainerRegistryMap {
            registry_mappings: vec![
                registry("registry-1.docker.io", "docker-hub"),
                registry("quay.io", "quay"),
                registry("public.ecr.aws", "ecr-public"),
            ],
            image_mappings: vec![],
        };
        let r = apply_registry_map(&p("ubuntu"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 0,
                ecr_repository: "docker-hub/library/ubuntu".into()
            }
        );
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/ubuntu:latest")
        );
        assert_eq!(r.source_image, "registry-1.docker.io/library/ubuntu");
        assert!(r.notes.is_empty(), "{:?}", r.notes);

        let r = apply_registry_map(&p("docker.io/org/tool:1"), &map, ACCT, "cn-north-1");
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/docker-hub/org/tool:1")
        );

        let pinned = p(&format!("quay.io/biocontainers/samtools:1.17@{SHA}"));
        let r = apply_registry_map(&pinned, &map, ACCT, "us-west-2");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 1,
                ecr_repository: "quay/biocontainers/samtools".into()
            }
        );
        assert_eq!(
            r.ecr_image_uri,
            Some(format!(
                "123456789012.dkr.ecr.us-west-2.amazonaws.com/quay/biocontainers/samtools:1.17@{SHA}"
            ))
        );

        let r = apply_registry_map(&p("ghcr.io/org/x:1"), &map, ACCT, "us-east-1");
        assert_eq!(r.outcome, RewriteOutcome::Unmapped);
        assert_eq!(r.ecr_image_uri, None);

        let ecr = p("123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1");
        let r = apply_registry_map(&ecr, &map, ACCT, "us-east-1");
        assert_eq!(r.outcome, RewriteOutcome::PrivateEcr);
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")
        );
    }

    #[test]
    fn registry_map_account_prefixes_and_notes() {
        let mut cross = registry("quay.io", "bio");
        cross.ecr_account_id = Some("210987654321".into());
        cross.upstream_repository_prefix = Some("biocontainers".into());
        let map = ContainerRegistryMap {
            registry_mappings: vec![cross, registry("quay.io", "quay")],
            image_mappings: vec![],
        };
        let r = apply_registry_map(
            &p("quay.io/biocontainers/bwa:0.7.17"),
            &map,
            ACCT,
            "us-east-1",
        );
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 0,
                ecr_repository: "bio/bwa".into()
            }
        );
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some("210987654321.dkr.ecr.us-east-1.amazonaws.com/bio/bwa:0.7.17")
        );

        // Outside the upstream prefix: the first mapping is skipped with a note, the second serves.
        let r = apply_registry_map(&p("quay.io/other/x:1"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 1,
                ecr_repository: "quay/other/x".into()
            }
        );
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.notes[0].reason, MappingNoteReason::UpstreamPrefixMismatch);

        let copy = ContainerRegistryMap {
            registry_mappings: vec![
                registry("community.wave.seqera.io", "wave-seqera"),
                registry("mcr.microsoft.com", "mcr"),
            ],
            image_mappings: vec![],
        };
        let r = apply_registry_map(
            &p("community.wave.seqera.io/library/samtools:1.19--abc"),
            &copy,
            ACCT,
            "us-east-1",
        );
        assert_eq!(
            r.ecr_image_uri.as_deref(),
            Some(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/wave-seqera/library/samtools:1.19--abc"
            )
        );
        assert_eq!(
            r.notes.iter().map(|n| n.reason).collect::<Vec<_>>(),
            vec![MappingNoteReason::MissingCredential]
        );
        let r = apply_registry_map(
            &p("mcr.microsoft.com/dotnet/runtime:8.0"),
            &copy,
            ACCT,
            "us-east-1",
        );
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 1,
                ecr_repository: "mcr/dotnet/runtime".into()
            }
        );
        assert_eq!(
            r.notes.iter().map(|n| n.reason).collect::<Vec<_>>(),
            vec![MappingNoteReason::UnsupportedUpstream]
        );
    }

    #[test]
    fn registry_map_near_misses() {
        let map = ContainerRegistryMap {
            registry_mappings: vec![
                registry("docker.io", "docker-hub"),
                registry("wave.seqera.io", "wave"),
                registry("https://quay.io/", "quay"),
                registry("us-docker.pkg.dev", "gar"),
            ],
            image_mappings: vec![],
        };
        let cases = [
            ("ubuntu", 0, "registry-1.docker.io"),
            (
                "community.wave.seqera.io/library/x:1",
                1,
                "separate mapping",
            ),
            ("quay.io/org/x:1", 2, "write `quay.io`"),
            (
                "us-central1-docker.pkg.dev/p/r/x:1",
                3,
                "one mapping per regional host",
            ),
        ];
        for (input, index, needle) in cases {
            let r = apply_registry_map(&p(input), &map, ACCT, "us-east-1");
            assert_eq!(r.outcome, RewriteOutcome::Unmapped, "{input}");
            assert_eq!(r.notes.len(), 1, "{input}: {:?}", r.notes);
            assert_eq!(
                (r.notes[0].index, r.notes[0].reason),
                (index, MappingNoteReason::HostNearMiss),
                "{input}"
            );
            assert!(
                r.notes[0].message.contains(needle),
                "{input}: {}",
                r.notes[0].message
            );
        }
        // Images on the multi-region host itself match it exactly.
        let r = apply_registry_map(&p("us-docker.pkg.dev/p/r/x:1"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 3,
                ecr_repository: "gar/p/r/x".into()
            }
        );
        // Uppercase host in the image: HealthOmics compares exactly.
        let r = apply_registry_map(
            &p("Quay.io/org/x:1"),
            &ContainerRegistryMap {
                registry_mappings: vec![registry("quay.io", "quay")],
                image_mappings: vec![],
            },
            ACCT,
            "us-east-1",
        );
        assert_eq!(r.outcome, RewriteOutcome::Unmapped);
        assert_eq!(
            r.notes.first().map(|n| n.reason),
            Some(MappingNoteReason::HostNearMiss)
        );
    }

    #[test]
    fn registry_map_image_mappings_win() {
        let dest = "123456789012.dkr.ecr.us-east-1.amazonaws.com/custom/ubuntu:20.04";
        let map = ContainerRegistryMap {
            registry_mappings: vec![registry("registry-1.docker.io", "docker-hub")],
            image_mappings: vec![
                image("not a valid image", "x"),
                image(
                    "ubuntu:20.04",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/u:20",
                ),
                image("ubuntu", dest),
                image(
                    "quay.io/biocontainers/bwa:0.7.17",
                    "quay.io/biocontainers/bwa:0.7.17",
                ),
            ],
        };
        for input in [
            "ubuntu",
            "ubuntu:latest",
            "docker.io/library/ubuntu:latest",
            "index.docker.io/ubuntu",
        ] {
            let r = apply_registry_map(&p(input), &map, ACCT, "us-east-1");
            assert_eq!(
                r.outcome,
                RewriteOutcome::ImageMapping { index: 2 },
                "{input}"
            );
            assert_eq!(r.ecr_image_uri.as_deref(), Some(dest));
            let reasons: Vec<_> = r.notes.iter().map(|n| n.reason).collect();
            assert_eq!(
                reasons,
                vec![
                    MappingNoteReason::InvalidSourceImage,
                    MappingNoteReason::DifferentTagOrDigest
                ],
                "{input}"
            );
        }
        let r = apply_registry_map(&p("ubuntu:22.04"), &map, ACCT, "us-east-1");
        assert_eq!(
            r.outcome,
            RewriteOutcome::RegistryMapping {
                index: 0,
                ecr_repository: "docker-hub/library/ubuntu".into()
            }
        );
        let r = apply_registry_map(
            &p("quay.io/biocontainers/bwa:0.7.17"),
            &map,
            ACCT,
            "us-east-1",
        );
        assert_eq!(r.outcome, RewriteOutcome::ImageMapping { index: 3 });
        assert_eq!(
            r.notes.last().map(|n| n.reason),
            Some(MappingNoteReason::DestinationNotPrivateEcr)
        );
    }

    #[test]
    fn registry_map_json_shape() {
        let json = r#"{
            "registryMappings": [
                {"upstreamRegistryUrl": "registry-1.docker.io", "ecrRepositoryPrefix": "docker-hub"},
                {"upstreamRegistryUrl": "community.wave.seqera.io", "ecrRepositoryPrefix": "wave-seqera",
                 "credentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:omics-registry/seqera-EXAMPLE",
                 "upstreamRepositoryPrefix": "library", "ecrAccountId": "123456789012"}
            ],
            "imageMappings": [{"sourceImage": "ubuntu", "destinationImage": "x"}]
        }"#;
        let map: ContainerRegistryMap = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(map.registry_mappings.len(), 2);
        assert_eq!(
            map.registry_mappings[1]
                .upstream_repository_prefix
                .as_deref(),
            Some("library")
        );
        assert_eq!(map.image_mappings[0].source_image, "ubuntu");
        let out = serde_json::to_value(&map).unwrap_or_default();
        assert_eq!(
            out["registryMappings"][0],
            serde_json::json!({"upstreamRegistryUrl": "registry-1.docker.io", "ecrRepositoryPrefix": "docker-hub"})
        );
        let empty: ContainerRegistryMap = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(empty, ContainerRegistryMap::default());

        let result = apply_registry_map(&p("ubuntu"), &map, ACCT, "us-east-1");
        let value = serde_json::to_value(&result).unwrap_or_default();
        assert_eq!(value["outcome"]["matched"], "image_mapping");
        assert_eq!(value["outcome"]["index"], 0);
        assert_eq!(value["ecr_image_uri"], "x");
        let schema = schemars::schema_for!(RewriteResult);
        assert!(serde_json::to_string(&schema).is_ok_and(|s| s.contains("ecr_image_uri")));
        let schema = schemars::schema_for!(ImageReference);
        assert!(serde_json::to_string(&schema).is_ok_and(|s| s.contains("sha256")));
    }

    // ----- property tests -----

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}((\\.|_|__|-{1,3})[a-z0-9]{1,6}){0,2}"
    }

    fn host() -> impl Strategy<Value = String> {
        let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?";
        prop_oneof![
            Just(DOCKER_HUB_REGISTRY.to_owned()),
            Just("quay.io".to_owned()),
            Just("localhost".to_owned()),
            Just("[::1]:5000".to_owned()),
            "localhost:[0-9]{1,4}",
            "\\[[0-9a-f]{0,4}:[0-9a-f:]{1,8}\\](:[0-9]{1,4})?",
            "[0-9]{12}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com",
            (
                proptest::collection::vec(label, 2..4),
                proptest::option::of(0u32..65_536)
            )
                .prop_map(|(labels, port)| match port {
                    Some(port) => format!("{}:{port}", labels.join(".")),
                    None => labels.join("."),
                }),
        ]
        .prop_filter("Docker Hub aliases normalise away", |h| {
            !DOCKER_HUB_ALIASES.iter().any(|a| h.eq_ignore_ascii_case(a))
        })
    }

    fn digest() -> impl Strategy<Value = Digest> {
        prop_oneof![
            "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
            "[0-9a-f]{128}".prop_map(|h| format!("sha512:{h}")),
            "[a-z][a-z0-9]{0,4}([-_+.][a-z][a-z0-9]{0,3})?:[0-9a-fA-F]{32,72}"
                .prop_filter("sha256/sha512 have fixed lengths", |d| !d
                    .starts_with("sha256:")
                    && !d.starts_with("sha512:")),
        ]
        .prop_filter_map("valid digest", |d| Digest::parse(&d).ok())
    }

    prop_compose! {
        fn reference()(
            registry in host(),
            components in proptest::collection::vec(component(), 1..5),
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}"),
            digest in proptest::option::of(digest()),
        ) -> ImageReference {
            let mut repository = components.join("/");
            if registry == DOCKER_HUB_REGISTRY && components.len() == 1 {
                repository = format!("library/{repository}");
            }
            ImageReference { registry, repository, tag, digest }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn display_parses_back(r in reference()) {
            let shown = r.to_string();
            let back = ImageReference::parse(&shown);
            prop_assert_eq!(back.as_ref(), Ok(&r), "{}", shown);
            prop_assert_eq!(back.map(|b| b.to_string()).ok(), Some(shown));
        }

        #[test]
        fn familiar_parses_back(r in reference()) {
            prop_assert_eq!(ImageReference::parse(&r.familiar()), Ok(r));
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = ImageReference::parse(&s);
        }

        #[test]
        fn parsed_is_a_fixed_point(s in "[ a-zA-Z0-9:/@._\\-\\[\\]+]{0,60}") {
            if let Ok(r) = ImageReference::parse(&s) {
                let shown = r.to_string();
                prop_assert_eq!(ImageReference::parse(&shown), Ok(r.clone()), "{} -> {}", s, shown);
                prop_assert_eq!(ImageReference::parse(&r.familiar()), Ok(r));
            }
        }

        #[test]
        fn ecr_host_round_trip(account in "[0-9]{12}", region in "(us|eu|ap|cn|us-gov|me)-(east|west|north|south|central)-[1-9]") {
            let host = ecr_registry_host(&account, &region);
            let parsed = EcrRegistryHost::parse(&host);
            prop_assert_eq!(parsed.as_ref().map(|h| h.to_string()), Some(host));
            prop_assert_eq!(parsed.map(|h| h.partition()), Some(partition_for_region(&region)));
        }

        #[test]
        fn ptc_name_inverts(prefix in "[a-z]{2,6}(-[a-z]{1,4})?", components in proptest::collection::vec("[a-z0-9]{1,6}([._-][a-z0-9]{1,6})?", 1..4)) {
            let r = ImageReference { registry: "quay.io".into(), repository: components.join("/"), tag: None, digest: None };
            let repo = ptc_repository_name(&prefix, None, &r);
            prop_assert!(repo.is_ok(), "{:?}", repo);
            let repo = repo.unwrap_or_default();
            prop_assert_eq!(upstream_from_ptc_repository(&prefix, &repo), Some(r.repository));
        }
    }
}
