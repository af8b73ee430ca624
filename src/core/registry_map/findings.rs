//! What checking or building a map found: finding codes, findings, and the error of a map that
//! would not work.

use schemars::JsonSchema;
use serde::Serialize;

use super::ContainerRegistryMap;

pub use crate::core::findings::Severity;

/// What a finding is about, stable for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// A field is shorter or longer than the API allows.
    Length,
    /// The JSON lacks a required key.
    MissingField,
    /// A JSON value has the wrong type.
    WrongType,
    /// A JSON key HealthOmics does not know.
    UnknownKey,
    /// `upstreamRegistryUrl` is not a bare host (scheme, path, slash, case, port, wildcard).
    NotBareHost,
    /// `upstreamRegistryUrl` is a host that never matches what was meant (alias, sibling, …).
    HostNearMiss,
    /// A HealthOmics-copy host without the `credentialArn` HealthOmics requires.
    MissingCredential,
    /// `credentialArn` on a pull-through cache host, which HealthOmics ignores.
    CredentialIgnored,
    /// A host HealthOmics can neither pull through a cache nor copy from.
    UnsupportedHost,
    /// An unsupported host that a known pull-through cache rule serves anyway.
    UnsupportedHostCached,
    /// A mapping for a private ECR host, which images on it bypass.
    PrivateEcrUpstream,
    /// `ecrRepositoryPrefix` is not a valid ECR prefix.
    InvalidPrefix,
    /// A PTC host mapped to a prefix no usable cache has.
    NoUsableCache,
    /// The prefix belongs to a cache of another upstream.
    PrefixOfOtherCache,
    /// `upstreamRepositoryPrefix` is not valid.
    InvalidUpstreamPrefix,
    /// `ecrAccountId` (or an account parameter) is not 12 digits.
    InvalidAccountId,
    /// `credentialArn` is not a Secrets Manager secret ARN.
    InvalidCredentialArn,
    /// The secret is in another partition than the region.
    CredentialPartition,
    /// The secret is in another region (not confirmed to matter).
    CredentialRegion,
    /// The mapping or destination points at another account.
    CrossAccount,
    /// Two registry mappings for the same host.
    DuplicateHost,
    /// Two pull-through cache mappings share a prefix, so one is wrong.
    PrefixConflict,
    /// Prefixes of different hosts are equal or nested.
    PrefixOverlap,
    /// `sourceImage` / `destinationImage` is not a valid image reference.
    InvalidImage,
    /// `destinationImage` is not in private ECR.
    DestinationNotPrivateEcr,
    /// `destinationImage` is in private ECR of another region.
    DestinationOtherRegion,
    /// `destinationImage` has neither tag nor digest.
    DestinationUntagged,
    /// Two image mappings for the same image.
    DuplicateSource,
    /// A user mapping replaced a discovered one.
    ReplacedDiscovered,
    /// More than one usable cache for a host; one was chosen.
    DuplicateCache,
    /// `ecrAccountId` was written on the mappings.
    AccountApplied,
    /// The map maps nothing.
    EmptyMap,
    /// The region is not a region name.
    InvalidRegion,
}

/// One problem or remark about a map, naming the field and saying the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MapFinding {
    pub severity: Severity,
    pub code: FindingCode,
    /// The field, as in `registryMappings[2].credentialArn` or `additional_registry_mappings[0]`.
    pub field: String,
    /// Position in the list the field belongs to, when it is a list entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
    /// The value to write instead, when there is one answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// The map would not work; `findings` holds the errors first, then the warnings found with
/// them, and `map` the rejected map, so a caller can show what was built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", summarise_errors(.findings))]
pub struct MapError {
    pub findings: Vec<MapFinding>,
    pub map: ContainerRegistryMap,
}

impl MapError {
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &MapFinding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

fn summarise_errors(findings: &[MapFinding]) -> String {
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    match errors.len() {
        0 => "the container registry map is not usable".to_owned(),
        1 => format!("the container registry map is not usable: {}", errors[0]),
        n => format!(
            "the container registry map has {n} errors: {}",
            errors.join("; ")
        ),
    }
}
