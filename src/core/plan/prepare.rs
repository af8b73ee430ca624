//! The plan of `PrepareWorkflowContainers`, decided without I/O: for every image a workflow
//! uses, how HealthOmics will get it — a usable cache (warmed), a cache to create (reusing an
//! existing rule's prefix and secret), a registry HealthOmics copies itself (with the given
//! secret), a clone, or a private ECR repository to grant — and which registries need
//! credentials the account does not hold yet. The tool executes the plan through the other
//! tools' own handlers and reports with [`PrepareOutput`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::account::PullThroughCacheRule;
use crate::core::findings::JsonObject;
use crate::core::image_ref::{ImageReference, ptc_repository_name};
use crate::core::plan::InputProblem;
use crate::core::registries::{self, AccessPath};
use crate::core::registry_map::{
    CacheMapping, ContainerRegistryMap, ImageUse, RegistryMapping, RegistrySecret, normalise_host,
    secret_for_host,
};

// Credentials for one upstream registry: an existing secret, or a user and token that
// CreatePullThroughCacheForHealthOmics stores in a new `ecr-pullthroughcache/` secret. (Plain
// comments: the tool list has a size budget, and the parameter's own text says it.)
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryCredential {
    /// Host or name, e.g. `ghcr.io`, `docker-hub`.
    pub registry: String,
    #[serde(default)]
    #[schemars(with = "String")]
    pub username: Option<String>,
    // Stored only in Secrets Manager, never logged or returned.
    #[serde(default)]
    #[schemars(with = "String")]
    pub access_token: Option<String>,
    // An existing secret (a cache needs one named `ecr-pullthroughcache/…`).
    #[serde(default)]
    #[schemars(with = "String")]
    pub credential_arn: Option<String>,
}

// Hand-written so the access token can never reach a log line.
impl std::fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredential")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("credential_arn", &self.credential_arn)
            .finish()
    }
}

/// Where a cache's upstream credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheCredential {
    NotNeeded,
    /// An existing secret (given, used by the rule already, or found by its name).
    Secret(String),
    /// The given user and token (index into the credentials), stored by CreatePTC.
    Given(usize),
}

/// A cache to create (or to finish: an existing rule HealthOmics cannot use yet keeps its prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCache {
    /// The catalog name CreatePTC takes (`docker-hub`, `github`, …).
    pub upstream_registry: String,
    pub upstream_registry_url: String,
    pub prefix: String,
    pub credential: CacheCredential,
    /// An existing rule with this prefix is finished rather than a new one made.
    pub existing_rule: bool,
}

/// How HealthOmics will get one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Already in this account's private ECR: the repository must let HealthOmics pull.
    PrivateEcr,
    /// Through a pull-through cache (existing or planned), warmed by a pull now.
    Cache,
    /// HealthOmics copies it at run time (copy mapping with the given secret).
    HealthomicsCopy,
    /// Copied into private ECR now (CloneContainerToECR), then an image mapping.
    Clone,
    /// Not an image reference.
    Invalid,
}

/// One distinct image and its route.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedImage {
    /// Canonical reference (as written when it does not parse).
    pub image: String,
    pub route: Route,
    /// Cache or copy prefix, or the private repository to grant.
    pub target: Option<String>,
    pub note: Option<String>,
}

/// A registry whose cache needs credentials that neither the call nor the account holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CredentialNeeded {
    pub registry: String,
    pub images: usize,
    pub why: String,
}

/// Everything the workflow needs, in the order it is made.
#[derive(Debug, Clone, Default)]
pub struct PreparePlan {
    pub caches: Vec<PlannedCache>,
    pub copy_mappings: Vec<RegistryMapping>,
    pub images: Vec<PlannedImage>,
    pub credentials_needed: Vec<CredentialNeeded>,
}

impl PreparePlan {
    /// The images of one route, canonical.
    pub fn images_by(&self, route: Route) -> impl Iterator<Item = &PlannedImage> {
        self.images.iter().filter(move |i| i.route == route)
    }

    /// The registry mappings of the caches to create: the dry run's map shows them as they will
    /// be once created.
    pub fn planned_cache_mappings(&self) -> Vec<RegistryMapping> {
        self.caches
            .iter()
            .filter(|c| !c.existing_rule)
            .map(|c| RegistryMapping {
                upstream_registry_url: c.upstream_registry_url.clone(),
                ecr_repository_prefix: c.prefix.clone(),
                upstream_repository_prefix: None,
                ecr_account_id: None,
                credential_arn: None,
            })
            .collect()
    }
}

/// What the plan is made from.
pub struct PrepareInput<'a> {
    pub images: &'a [ImageUse],
    pub account: &'a str,
    pub region: &'a str,
    /// Caches HealthOmics can use now.
    pub usable: &'a [CacheMapping],
    /// Every rule of the account (usable or not).
    pub rules: &'a [PullThroughCacheRule],
    pub secrets: &'a [RegistrySecret],
    pub credentials: &'a [RegistryCredential],
}

/// The host a credential is for: a catalog name or alias, else the host itself.
fn credential_host(registry: &str) -> String {
    let host = registries::lookup_by_name(registry)
        .and_then(|i| i.upstream_url)
        .map(str::to_owned)
        .unwrap_or_else(|| registry.trim().to_ascii_lowercase());
    normalise_host(&registries::classify_host(&host).upstream_registry_url)
}

/// Checks the credentials: each names a registry once, with either a secret or a user and token.
pub fn check_credentials(credentials: &[RegistryCredential]) -> Result<(), InputProblem> {
    let mut seen = Vec::new();
    for (i, c) in credentials.iter().enumerate() {
        let pair = c.username.as_deref().is_some_and(|u| !u.trim().is_empty())
            && c.access_token.as_deref().is_some_and(|t| !t.is_empty());
        let arn = c
            .credential_arn
            .as_deref()
            .is_some_and(|a| a.starts_with("arn:"));
        if pair == arn {
            return Err(InputProblem::new(
                format!(
                    "credentials[{i}] (`{}`) needs either username and access_token, or credential_arn.",
                    c.registry
                ),
                "Give a user and token for the registry, or the ARN of an existing Secrets Manager secret, not both.",
            ));
        }
        let host = credential_host(&c.registry);
        if seen.contains(&host) {
            return Err(InputProblem::new(
                format!("credentials name `{host}` twice."),
                "Give one credential per registry.",
            ));
        }
        seen.push(host);
    }
    Ok(())
}

/// Plans every image: existing usable caches first, then a cache per host ECR can cache from
/// (credentials from the call, the rule or an existing secret; without them, a clone), copy
/// mappings for hosts HealthOmics copies itself when a secret is given, clones for the rest.
pub fn plan(input: &PrepareInput<'_>) -> PreparePlan {
    let mut plan = PreparePlan::default();
    let mut taken: BTreeMap<String, String> = input
        .rules
        .iter()
        .map(|r| {
            (
                r.ecr_repository_prefix.clone(),
                normalise_host(&r.upstream_registry_url),
            )
        })
        .collect();
    let given = |host: &str| {
        input
            .credentials
            .iter()
            .position(|c| credential_host(&c.registry) == host)
    };
    let mut needed: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = Vec::new();
    for image in input.images {
        let written = image.reference.trim();
        let Ok(reference) = ImageReference::parse(written) else {
            if !seen.contains(&written.to_owned()) {
                seen.push(written.to_owned());
                plan.images.push(PlannedImage {
                    image: written.to_owned(),
                    route: Route::Invalid,
                    target: None,
                    note: Some("not an image reference HealthOmics can pull".into()),
                });
            }
            continue;
        };
        let canonical = reference.to_string();
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical.clone());
        let planned = route_one(input, &reference, canonical, &mut plan, &mut taken, &given);
        if planned.route == Route::Clone
            && let Some(host) = planned.note.as_ref().and(needs_credentials(&reference))
        {
            *needed.entry(host).or_default() += 1;
        }
        plan.images.push(planned);
    }
    plan.credentials_needed = needed
        .into_iter()
        .map(|(host, images)| CredentialNeeded {
            why: format!(
                "ECR caches `{host}` only with credentials and the account holds no `{}…` secret for it: pass credentials [{{registry: \"{host}\", username, access_token}}] to cache its images; without them they are cloned",
                registries::PTC_SECRET_NAME_PREFIX
            ),
            registry: host,
            images,
        })
        .collect();
    plan
}

/// The host of a reference whose cache requires credentials.
fn needs_credentials(reference: &ImageReference) -> Option<String> {
    let class = registries::classify_host(&reference.registry);
    class
        .info()
        .filter(|i| i.credentials_required && class.access_path == AccessPath::PullThroughCache)
        .map(|_| normalise_host(&class.upstream_registry_url))
}

fn route_one(
    input: &PrepareInput<'_>,
    reference: &ImageReference,
    canonical: String,
    plan: &mut PreparePlan,
    taken: &mut BTreeMap<String, String>,
    given: &dyn Fn(&str) -> Option<usize>,
) -> PlannedImage {
    let class = registries::classify_host(&reference.registry);
    let host = normalise_host(&class.upstream_registry_url);
    let row = |route, target: Option<String>, note: Option<String>| PlannedImage {
        image: canonical.clone(),
        route,
        target,
        note,
    };
    match class.access_path {
        AccessPath::PrivateEcr => match reference.ecr_host() {
            Some(h) if h.account_id == input.account && h.region == input.region => {
                row(Route::PrivateEcr, Some(reference.repository.clone()), None)
            }
            _ => row(
                Route::Clone,
                None,
                Some("private ECR of another account or region: copied here".into()),
            ),
        },
        AccessPath::PullThroughCache => {
            let serves = |prefix: &str, upstream: Option<&str>| {
                ptc_repository_name(prefix, upstream, reference).is_ok()
            };
            if let Some(cache) = input.usable.iter().find(|c| {
                normalise_host(&c.upstream_registry_url) == host
                    && serves(
                        &c.ecr_repository_prefix,
                        c.upstream_repository_prefix.as_deref(),
                    )
            }) {
                return row(
                    Route::Cache,
                    Some(cache.ecr_repository_prefix.clone()),
                    None,
                );
            }
            if let Some(cache) = plan
                .caches
                .iter()
                .find(|c| normalise_host(&c.upstream_registry_url) == host)
            {
                return row(Route::Cache, Some(cache.prefix.clone()), None);
            }
            let Some(info) = class.info() else {
                return row(Route::Clone, None, None);
            };
            let rule = input.rules.iter().find(|r| {
                normalise_host(&r.upstream_registry_url) == host
                    && serves(
                        &r.ecr_repository_prefix,
                        r.upstream_repository_prefix.as_deref(),
                    )
            });
            let credential = match given(&host) {
                Some(index) => match &input.credentials[index].credential_arn {
                    Some(arn) => Some(CacheCredential::Secret(arn.clone())),
                    None => Some(CacheCredential::Given(index)),
                },
                None => rule
                    .and_then(|r| r.credential_arn.clone())
                    .or_else(|| secret_for_host(&host, input.secrets).map(|s| s.arn.clone()))
                    .map(CacheCredential::Secret),
            };
            let credential = match (credential, info.credentials_required) {
                (Some(c), _) => c,
                (None, false) => CacheCredential::NotNeeded,
                (None, true) => {
                    return row(
                        Route::Clone,
                        None,
                        Some(format!(
                            "no credentials for a `{host}` cache: copied anonymously instead"
                        )),
                    );
                }
            };
            let prefix = match rule {
                Some(r) => r.ecr_repository_prefix.clone(),
                None => free_prefix(taken, &host, &registries::default_ecr_prefix(&host)),
            };
            plan.caches.push(PlannedCache {
                upstream_registry: info.name.to_owned(),
                upstream_registry_url: class.upstream_registry_url.clone(),
                prefix: prefix.clone(),
                credential,
                existing_rule: rule.is_some(),
            });
            row(Route::Cache, Some(prefix), None)
        }
        AccessPath::HealthOmicsCopy => {
            let arn = given(&host).and_then(|i| input.credentials[i].credential_arn.clone());
            let Some(arn) = arn else {
                return row(
                    Route::Clone,
                    None,
                    Some(format!(
                        "HealthOmics copies `{host}` itself with a secret: pass credentials [{{registry: \"{host}\", credential_arn}}] to use that instead of a clone"
                    )),
                );
            };
            if let Some(m) = plan
                .copy_mappings
                .iter()
                .find(|m| normalise_host(&m.upstream_registry_url) == host)
            {
                return row(
                    Route::HealthomicsCopy,
                    Some(m.ecr_repository_prefix.clone()),
                    None,
                );
            }
            let prefix = free_prefix(taken, &host, &registries::default_ecr_prefix(&host));
            plan.copy_mappings.push(RegistryMapping {
                upstream_registry_url: class.upstream_registry_url.clone(),
                ecr_repository_prefix: prefix.clone(),
                upstream_repository_prefix: None,
                ecr_account_id: None,
                credential_arn: Some(arn),
            });
            row(Route::HealthomicsCopy, Some(prefix), None)
        }
        AccessPath::Unsupported => row(Route::Clone, None, None),
    }
}

/// `wanted`, or `wanted-2`, `wanted-3`, … when another host owns it.
fn free_prefix(taken: &mut BTreeMap<String, String>, host: &str, wanted: &str) -> String {
    let mut candidate = wanted.to_owned();
    let mut n = 2;
    while let Some(owner) = taken.get(&candidate) {
        if owner == host {
            return candidate;
        }
        candidate = format!("{wanted}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone(), host.to_owned());
    candidate
}

/// What happened to (or is planned for) one image.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ImageRow {
    pub image: String,
    pub route: Route,
    /// The cache or copy prefix, or the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What the call did, or would do, for it.
    pub status: String,
    /// The image HealthOmics pulls (after apply, from the final map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_image_uri: Option<String>,
    /// The final map covers it (after apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered: Option<bool>,
}

/// One cache of the plan, as the result shows it (never a token).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CacheRow {
    pub upstream_registry_url: String,
    pub ecr_repository_prefix: String,
    /// `existing secret <arn>`, `new secret from the given credentials`, or `none needed`.
    pub credential: String,
    pub status: String,
}

impl PlannedCache {
    pub fn row(&self, status: String) -> CacheRow {
        CacheRow {
            upstream_registry_url: self.upstream_registry_url.clone(),
            ecr_repository_prefix: self.prefix.clone(),
            credential: match &self.credential {
                CacheCredential::NotNeeded => "none needed".into(),
                CacheCredential::Secret(arn) => format!("existing secret {arn}"),
                CacheCredential::Given(_) => "new secret from the given credentials".into(),
            },
            status,
        }
    }
}

/// The tool's result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PrepareOutput {
    pub success: bool,
    pub dry_run: bool,
    pub account_id: String,
    pub region: String,
    /// Something in the account was (dry run: would be) changed.
    pub changed: bool,
    /// Caches created, finished or planned (usable ones are reused and not listed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<CacheRow>,
    /// Registries to pass credentials for, once each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials_needed: Vec<CredentialNeeded>,
    /// One row per distinct image.
    pub images: Vec<ImageRow>,
    /// The final map (dry run: as it will be); pass as containerRegistryMap.
    pub container_registry_map: ContainerRegistryMap,
    /// IAM policy for the run role: every repository the map pulls from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_role_policy: Option<JsonObject>,
    /// After apply: every image covered by the final map, as read back from the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_covered: Option<bool>,
    pub message: String,
}

/// The result's one-line summary.
pub fn summary(out: &PrepareOutput, failed: usize) -> String {
    let total = out.images.len();
    if out.dry_run {
        let pending = out
            .images
            .iter()
            .filter(|r| r.status != STATUS_READY)
            .count();
        if !out.changed {
            return format!(
                "Dry run: nothing to change; all {total} image(s) are in place. Nothing was changed."
            );
        }
        let mut text = format!(
            "Dry run: {} cache(s) to create or finish, {pending} of {total} image(s) to clone, warm or grant. Nothing was changed; call again with dry_run=false to apply.",
            out.caches.len()
        );
        if !out.credentials_needed.is_empty() {
            text.push_str(" See credentials_needed first.");
        }
        return text;
    }
    let covered = out
        .images
        .iter()
        .filter(|r| r.covered == Some(true))
        .count();
    let lead = match (out.changed, failed) {
        (false, 0) => "Nothing changed: everything was already in place.".to_owned(),
        (true, 0) => "Applied.".to_owned(),
        (_, n) => format!("Applied with {n} failure(s); see images[].status."),
    };
    format!(
        "{lead} {covered} of {total} image(s) covered by container_registry_map (verified by reading the account back)."
    )
}

/// The status of an image that needs nothing.
pub const STATUS_READY: &str = "ready";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::fixtures::{ACCOUNT, REGION, rule};

    fn cred(registry: &str, arn: Option<&str>) -> RegistryCredential {
        RegistryCredential {
            registry: registry.into(),
            username: arn.is_none().then(|| "me".to_owned()),
            access_token: arn.is_none().then(|| "s3cr3t-value".to_owned()),
            credential_arn: arn.map(str::to_owned),
        }
    }

    const ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x-AbCdEf";

    #[test]
    fn every_image_gets_one_route_and_caches_are_planned_once_per_host() {
        let images: Vec<ImageUse> = [
            "quay.io/biocontainers/samtools:1.19",
            "quay.io/biocontainers/bwa:0.7.17",
            "quay.io/biocontainers/samtools:1.19",
            "ubuntu:22.04",
            "ghcr.io/o/tool:1",
            "public.ecr.aws/lts/tool:2",
            "community.wave.seqera.io/library/fastp:1",
            "registry.example.org/x/y:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine/tool:1",
            "not an image!",
        ]
        .into_iter()
        .map(ImageUse::from)
        .collect();
        let usable = [CacheMapping {
            upstream_registry_url: "quay.io".into(),
            ecr_repository_prefix: "quay".into(),
            upstream_repository_prefix: None,
        }];
        // An unusable ecr-public rule keeps its prefix; docker-hub's credentials are given.
        let rules = [
            rule("quay", "quay.io", None),
            rule("pub", "public.ecr.aws", None),
        ];
        let credentials = [cred("docker-hub", None)];
        let plan = plan(&PrepareInput {
            images: &images,
            account: ACCOUNT,
            region: REGION,
            usable: &usable,
            rules: &rules,
            secrets: &[],
            credentials: &credentials,
        });
        let routes: Vec<(&str, &Route, Option<&str>)> = plan
            .images
            .iter()
            .map(|i| (i.image.as_str(), &i.route, i.target.as_deref()))
            .collect();
        assert_eq!(routes.len(), 9, "{routes:?}");
        assert_eq!(routes[0].1, &Route::Cache);
        assert_eq!(
            routes[2],
            (
                "registry-1.docker.io/library/ubuntu:22.04",
                &Route::Cache,
                Some("docker-hub")
            )
        );
        // No ghcr.io credentials anywhere: cloned, and asked for once.
        assert_eq!(routes[3].1, &Route::Clone);
        assert_eq!(
            routes[4],
            ("public.ecr.aws/lts/tool:2", &Route::Cache, Some("pub"))
        );
        assert_eq!(routes[5].1, &Route::Clone, "no wave secret given");
        assert_eq!(routes[6].1, &Route::Clone);
        assert_eq!(
            routes[7],
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine/tool:1",
                &Route::PrivateEcr,
                Some("mine/tool")
            )
        );
        assert_eq!(routes[8].1, &Route::Invalid);
        let caches: Vec<(&str, bool, &CacheCredential)> = plan
            .caches
            .iter()
            .map(|c| (c.prefix.as_str(), c.existing_rule, &c.credential))
            .collect();
        assert_eq!(
            caches,
            [
                ("docker-hub", false, &CacheCredential::Given(0)),
                ("pub", true, &CacheCredential::NotNeeded)
            ]
        );
        assert_eq!(plan.credentials_needed.len(), 1);
        assert_eq!(plan.credentials_needed[0].registry, "ghcr.io");
        assert_eq!(plan.planned_cache_mappings().len(), 1);
    }

    #[test]
    fn an_existing_secret_or_a_given_arn_serves_instead_of_asking() {
        let images = [
            ImageUse::from("ghcr.io/o/tool:1"),
            ImageUse::from("community.wave.seqera.io/library/fastp:1"),
        ];
        let secrets = [RegistrySecret {
            name: "ecr-pullthroughcache/github".into(),
            arn: ARN.into(),
            used_by_upstream: None,
            deleted: false,
        }];
        let credentials = [cred("community.wave.seqera.io", Some(ARN))];
        let plan = plan(&PrepareInput {
            images: &images,
            account: ACCOUNT,
            region: REGION,
            usable: &[],
            rules: &[],
            secrets: &secrets,
            credentials: &credentials,
        });
        assert!(plan.credentials_needed.is_empty());
        assert_eq!(
            plan.caches[0].credential,
            CacheCredential::Secret(ARN.into())
        );
        assert_eq!(plan.images[1].route, Route::HealthomicsCopy);
        assert_eq!(plan.copy_mappings[0].credential_arn.as_deref(), Some(ARN));
    }

    #[test]
    fn credentials_are_one_per_registry_and_one_kind_each() {
        assert!(check_credentials(&[cred("ghcr.io", None), cred("docker-hub", Some(ARN))]).is_ok());
        assert!(check_credentials(&[cred("ghcr.io", None), cred("github", None)]).is_err());
        let both = RegistryCredential {
            credential_arn: Some(ARN.into()),
            ..cred("ghcr.io", None)
        };
        assert!(check_credentials(&[both]).is_err());
        let printed = format!("{:?}", cred("ghcr.io", None));
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
    }
}
