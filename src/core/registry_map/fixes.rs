//! The one shape of a fix every tool suggests ([`Fix`]: a typed tool call or an edit of the
//! map), what makes an uncovered image covered, the prefixes new
//! caches and copy mappings get, and the placeholder for the user's secret.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use crate::core::findings::SuggestedCall;
use crate::core::image_ref::{ImageReference, ptc_repository_name};
use crate::core::registries::{self, AccessPath};
use crate::core::tool_names::ToolName;

use super::{CacheMapping, ContainerRegistryMap, RegistryMapping, normalise_host};

/// Placeholder put where the user must supply their own Secrets Manager ARN.
pub const SECRET_ARN_PLACEHOLDER: &str = "<secret ARN>";

/// The change to the map a fix makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MapEdit {
    /// Add a mapping for a host HealthOmics copies from (fill in the secret ARN).
    AddCopyMapping,
    /// Add a mapping for a host with an existing usable pull-through cache.
    AddRegistryMapping,
    /// Add `credentialArn` to the existing mapping for this host.
    AddCredential,
}

/// What makes an uncovered image covered: a tool call, or an edit of the map.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Fix {
    /// Call this tool with these arguments.
    Tool {
        #[serde(flatten)]
        call: SuggestedCall,
        /// Absent when the result already says why.
        #[serde(skip_serializing_if = "String::is_empty")]
        why: String,
    },
    /// Change the registry map.
    Edit {
        kind: MapEdit,
        mapping: RegistryMapping,
        why: String,
    },
}

impl Fix {
    /// The same fix, its call aimed at `region` (a suggestion must not fall back to the
    /// server's default region when the caller asked about another).
    pub fn in_region(mut self, region: &str) -> Self {
        if let Fix::Tool { call, .. } = &mut self {
            call.arguments
                .entry("aws_region")
                .or_insert_with(|| Value::String(region.to_owned()));
        }
        self
    }
}

/// How to get one upstream image that nothing serves yet into reach of HealthOmics: a cache when
/// ECR can cache its registry, a copy mapping when HealthOmics copies from it itself, else a
/// clone. The same answer the map's coverage gives.
pub fn fix_for_upstream(reference: &ImageReference) -> Fix {
    let class = registries::classify_host(&reference.registry);
    let host = normalise_host(&class.upstream_registry_url);
    let mut planner = PrefixPlanner::new(&ContainerRegistryMap::default(), None);
    unmapped_fix(
        reference,
        &reference.to_string(),
        &host,
        &class,
        None,
        &mut planner,
    )
}

/// A fix and the images it covers, listed once per distinct fix.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlannedFix {
    pub fix: Fix,
    /// Canonical references of the images it covers.
    pub images: Vec<String>,
}

/// Picks prefixes for suggested caches and copy mappings that no other host uses yet.
pub(super) struct PrefixPlanner {
    /// prefix → host that owns it
    taken: HashMap<String, String>,
}

impl PrefixPlanner {
    pub(super) fn new(map: &ContainerRegistryMap, caches: Option<&[CacheMapping]>) -> Self {
        let mut taken = HashMap::new();
        for m in &map.registry_mappings {
            taken.insert(
                m.ecr_repository_prefix.clone(),
                normalise_host(&m.upstream_registry_url),
            );
        }
        for c in caches.unwrap_or_default() {
            taken
                .entry(c.ecr_repository_prefix.clone())
                .or_insert_with(|| normalise_host(&c.upstream_registry_url));
        }
        Self { taken }
    }

    pub(super) fn prefix_for(&mut self, host: &str, wanted: &str) -> String {
        let mut candidate = wanted.to_owned();
        let mut n = 2;
        while let Some(owner) = self.taken.get(&candidate) {
            if owner == host {
                return candidate;
            }
            candidate = format!("{wanted}-{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone(), host.to_owned());
        candidate
    }
}

fn tool_fix(tool: ToolName, arguments: Value, why: String) -> Fix {
    Fix::Tool {
        call: SuggestedCall::new(tool, arguments),
        why,
    }
}

pub(super) fn clone_fix(source: &str, why: String) -> Fix {
    tool_fix(ToolName::Clone, json!({ "source_image": source }), why)
}

pub(super) fn create_cache_fix(
    host: &str,
    name: Option<&str>,
    prefix: &str,
    credentials: bool,
) -> Fix {
    let mut arguments = json!({
        "upstream_registry": name.unwrap_or(host),
        "ecr_repository_prefix": prefix,
    });
    if credentials && let Value::Object(m) = &mut arguments {
        m.insert(
            "credential_arn".into(),
            Value::String(format!(
                "<ARN of an {}… secret>",
                registries::PTC_SECRET_NAME_PREFIX
            )),
        );
    }
    let mut why = format!(
        "create a HealthOmics-ready pull-through cache for `{host}` with prefix `{prefix}`"
    );
    if credentials {
        why.push_str(&format!(
            "; ECR needs a Secrets Manager credential named `{}…` for this upstream",
            registries::PTC_SECRET_NAME_PREFIX
        ));
    }
    why.push_str(&format!(
        ", then add the registry mapping `{host}` → `{prefix}` (CreateContainerRegistryMap picks it up)"
    ));
    tool_fix(ToolName::CreatePtc, arguments, why)
}

pub(super) fn unmapped_fix(
    reference: &ImageReference,
    canonical: &str,
    host: &str,
    class: &registries::HostClass,
    usable_caches: Option<&[CacheMapping]>,
    planner: &mut PrefixPlanner,
) -> Fix {
    let info = class.info();
    match class.access_path {
        AccessPath::PullThroughCache => {
            let existing = usable_caches.unwrap_or_default().iter().find(|c| {
                normalise_host(&c.upstream_registry_url) == host
                    && ptc_repository_name(
                        &c.ecr_repository_prefix,
                        c.upstream_repository_prefix.as_deref(),
                        reference,
                    )
                    .is_ok()
            });
            if let Some(cache) = existing {
                return Fix::Edit {
                    kind: MapEdit::AddRegistryMapping,
                    mapping: RegistryMapping {
                        upstream_registry_url: class.upstream_registry_url.clone(),
                        ..cache.to_registry_mapping()
                    },
                    why: format!(
                        "a usable pull-through cache for `{host}` exists with prefix `{}`: add this registry mapping",
                        cache.ecr_repository_prefix
                    ),
                };
            }
            let prefix = planner.prefix_for(host, &registries::default_ecr_prefix(host));
            create_cache_fix(
                &class.upstream_registry_url,
                info.map(|i| i.name),
                &prefix,
                info.is_some_and(|i| i.credentials_required),
            )
        }
        AccessPath::HealthOmicsCopy => {
            let prefix = planner.prefix_for(host, &registries::default_ecr_prefix(host));
            Fix::Edit {
                kind: MapEdit::AddCopyMapping,
                mapping: RegistryMapping {
                    upstream_registry_url: class.upstream_registry_url.clone(),
                    ecr_repository_prefix: prefix,
                    upstream_repository_prefix: None,
                    ecr_account_id: None,
                    credential_arn: Some(SECRET_ARN_PLACEHOLDER.into()),
                },
                why: format!(
                    "HealthOmics copies `{host}` images into private ECR itself: store the registry credentials in Secrets Manager, allow the run role secretsmanager:GetSecretValue on the secret, and add this mapping with the secret's ARN"
                ),
            }
        }
        AccessPath::Unsupported | AccessPath::PrivateEcr => clone_fix(
            canonical,
            format!(
                "`{host}` cannot be pulled through a cache or copied by HealthOmics: copy the image into private ECR, then add an image mapping from `{canonical}` to the URI it reports"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::{ImageUse, coverage};

    #[test]
    fn suggested_prefixes_avoid_taken_ones() {
        // `github` already belongs to another host, so the suggested cache gets `github-2`.
        let map = ContainerRegistryMap {
            registry_mappings: vec![with_cred(rm("nvcr.io", "github"), SECRET)],
            image_mappings: vec![],
        };
        let r = coverage(&[ImageUse::from("ghcr.io/a/b:1")], &map, ACCT, REGION, None);
        let fix = r.images[0]
            .fix
            .as_ref()
            .and_then(|f| serde_json::to_value(f).ok())
            .unwrap_or_default();
        assert_eq!(fix["arguments"]["ecr_repository_prefix"], "github-2");
        assert_eq!(
            registries::default_ecr_prefix("myreg.azurecr.io"),
            "azure-myreg"
        );
    }
}
