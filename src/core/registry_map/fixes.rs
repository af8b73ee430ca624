//! The one shape of a fix every tool suggests ([`Fix`]: a typed tool call or an edit of the
//! map), what makes an uncovered image covered, the prefixes new caches and copy mappings get,
//! the placeholder for a copy mapping's secret, and which existing `ecr-pullthroughcache/`
//! secret a suggested cache can use (a cache's call never carries an invented ARN).

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
    let arguments = json!({
        "upstream_registry": name.unwrap_or(host),
        "ecr_repository_prefix": prefix,
    });
    let mut why = format!(
        "create a HealthOmics-ready pull-through cache for `{host}` with prefix `{prefix}`"
    );
    if credentials {
        why.push_str(&ask_for_credentials(host));
    }
    why.push_str(&format!(
        ", then add the registry mapping `{host}` → `{prefix}` (CreateContainerRegistryMap picks it up)"
    ));
    tool_fix(ToolName::CreatePtc, arguments, why)
}

/// The words of a cache fix whose registry needs credentials the account does not hold: an ARN
/// is never invented, the call asks for the user's own.
fn ask_for_credentials(host: &str) -> String {
    format!(
        "; ECR needs credentials for `{host}` and no `{}…` secret for it is known: ask the user for a `{host}` username and access token and add them to this call as username and access_token",
        registries::PTC_SECRET_NAME_PREFIX
    )
}

/// A Secrets Manager secret under `ecr-pullthroughcache/` (metadata only), and the upstream of a
/// cache rule that already uses it, if one does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySecret {
    pub name: String,
    pub arn: String,
    /// The rule's upstream registry URL when a pull-through cache rule names this secret.
    pub used_by_upstream: Option<String>,
    /// Scheduled for deletion: ECR cannot use it.
    pub deleted: bool,
}

/// The account's secret that can serve a cache for `host`: the one a rule for the same upstream
/// already uses, else one whose name says the registry (`ecr-pullthroughcache/github`,
/// `…/ghcr.io`, `…/docker-hub-…`). A secret being deleted never serves.
pub fn secret_for_host<'a>(
    host: &str,
    secrets: &'a [RegistrySecret],
) -> Option<&'a RegistrySecret> {
    let host = normalise_host(host);
    let live = || secrets.iter().filter(|s| !s.deleted);
    if let Some(used) = live().find(|s| {
        s.used_by_upstream
            .as_deref()
            .is_some_and(|u| normalise_host(u) == host)
    }) {
        return Some(used);
    }
    let class = registries::classify_host(&host);
    let mut names: Vec<String> = vec![host.clone(), host.replace('.', "-")];
    if let Some(info) = class.info() {
        names.push(info.name.to_owned());
        names.push(info.default_prefix.to_owned());
        names.extend(info.name_aliases.iter().map(|a| (*a).to_owned()));
        names.extend(info.ecr_upstream_registry.map(str::to_owned));
    }
    live().find(|s| {
        let Some(rest) = s.name.strip_prefix(registries::PTC_SECRET_NAME_PREFIX) else {
            return false;
        };
        let rest = rest.to_ascii_lowercase();
        names.iter().any(|n| {
            rest == *n
                || rest
                    .strip_prefix(n.as_str())
                    .is_some_and(|tail| tail.starts_with('-') || tail.starts_with('/'))
        })
    })
}

/// Fills a suggested CreatePTC call with an existing secret that can serve its registry
/// (`credential_arn`), so the call works as given; a call for a registry that needs credentials
/// and has no such secret keeps asking for username and access_token in words.
pub fn with_known_secret(fix: &mut Fix, secrets: &[RegistrySecret]) {
    let Fix::Tool { call, why } = fix else {
        return;
    };
    if call.tool != ToolName::CreatePtc || call.arguments.contains_key("credential_arn") {
        return;
    }
    let host = call
        .arguments
        .get("upstream_registry_url")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            let name = call.arguments.get("upstream_registry")?.as_str()?;
            registries::lookup_by_name(name)?
                .upstream_url
                .map(str::to_owned)
        });
    let Some(host) = host else {
        return;
    };
    let Some(secret) = secret_for_host(&host, secrets) else {
        return;
    };
    call.arguments
        .insert("credential_arn".into(), Value::String(secret.arn.clone()));
    let asked = ask_for_credentials(&registries::classify_host(&host).upstream_registry_url);
    let used = format!(
        "; it uses the account's existing secret `{}` for the upstream credentials",
        secret.name
    );
    *why = why.replacen(&asked, &used, 1);
}

/// The order a list of fixes is best made in: caches first (a clone of a cached image then goes
/// through them), then edits of the map, then copies; the first-needed order within each.
pub fn order_fixes(fixes: &mut [PlannedFix]) {
    fixes.sort_by_key(|planned| match &planned.fix {
        Fix::Tool { call, .. } if call.tool == ToolName::CreatePtc => 0,
        Fix::Edit { .. } => 1,
        Fix::Tool { .. } => 2,
    });
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

    fn secret(name: &str, used_by: Option<&str>, deleted: bool) -> RegistrySecret {
        RegistrySecret {
            name: name.into(),
            arn: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"),
            used_by_upstream: used_by.map(str::to_owned),
            deleted,
        }
    }

    #[test]
    fn a_cache_for_a_credentialed_registry_uses_an_existing_secret_or_asks_in_words() {
        let map = ContainerRegistryMap::default();
        let images = [ImageUse::from("ghcr.io/a/b:1"), ImageUse::from("nginx:1")];
        let r = coverage(&images, &map, ACCT, REGION, None);
        assert_eq!(r.fixes.len(), 2);
        for planned in &r.fixes {
            let v = serde_json::to_value(&planned.fix).unwrap_or_default();
            // No invented ARN: the call asks for the user's credentials.
            assert!(v["arguments"].get("credential_arn").is_none(), "{v}");
            assert!(
                v["why"]
                    .as_str()
                    .is_some_and(|w| w.contains("username and access_token")),
                "{v}"
            );
        }
        let secrets = [
            secret("ecr-pullthroughcache/github", None, true),
            secret("ecr-pullthroughcache/ghcr-io-2", None, false),
            secret(
                "ecr-pullthroughcache/hub",
                Some("registry-1.docker.io"),
                false,
            ),
        ];
        let mut fixes = r.fixes.clone();
        for planned in &mut fixes {
            with_known_secret(&mut planned.fix, &secrets);
        }
        let args: Vec<Value> = fixes
            .iter()
            .map(|p| serde_json::to_value(&p.fix).unwrap_or_default())
            .collect();
        // The deleted `github` secret is passed over for the live one named after the host.
        assert_eq!(
            args[0]["arguments"]["credential_arn"],
            Value::String(secrets[1].arn.clone())
        );
        // A secret a docker-hub rule already uses serves docker-hub whatever its name.
        assert_eq!(
            args[1]["arguments"]["credential_arn"],
            Value::String(secrets[2].arn.clone())
        );
        assert!(
            args[1]["why"]
                .as_str()
                .is_some_and(|w| w.contains("existing secret `ecr-pullthroughcache/hub`"))
        );
        assert!(secret_for_host("quay.io", &secrets).is_none());
    }

    #[test]
    fn caches_come_first_then_map_edits_then_copies() {
        let map = ContainerRegistryMap::default();
        let images = [
            ImageUse::from("registry.example.org/a/b:1"),
            ImageUse::from("community.wave.seqera.io/library/x:1"),
            ImageUse::from("quay.io/a/b:1"),
        ];
        let mut fixes = coverage(&images, &map, ACCT, REGION, None).fixes;
        order_fixes(&mut fixes);
        let kinds: Vec<String> = fixes
            .iter()
            .map(|p| match &p.fix {
                Fix::Tool { call, .. } => call.tool.name().to_owned(),
                Fix::Edit { kind, .. } => format!("{kind:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "CreatePullThroughCacheForHealthOmics",
                "AddCopyMapping",
                "CloneContainerToECR"
            ]
        );
    }
}
