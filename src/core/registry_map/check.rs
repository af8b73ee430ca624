//! Checking a map, typed or as JSON (GetWorkflow's or a user's), with the rules `build_map`
//! applies; JSON entries are first checked for missing keys, wrong types and misspelt keys.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::checker::{Checker, check_region, empty_map_finding};
use super::{
    CacheMapping, ContainerRegistryMap, FindingCode, ImageMapping, MapFinding, RegistryMapping,
    Severity,
};

/// Where and what the map is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MapContext {
    /// The caller's account (STS); used to notice cross-account mappings.
    #[serde(default)]
    pub caller_account_id: Option<String>,
    /// The region workflows run in; ECR images must be there.
    pub region: String,
    /// HealthOmics-usable pull-through caches, when discovery ran. `None` skips the checks that
    /// need them (a PTC mapping without a usable cache, a prefix owned by another upstream).
    #[serde(default)]
    pub usable_caches: Option<Vec<CacheMapping>>,
}

/// Checks a map (e.g. from GetWorkflow, or given by the user) with the same rules `build_map`
/// applies. Fields are named as in the API (`registryMappings[0].credentialArn`).
pub fn check_map(map: &ContainerRegistryMap, ctx: &MapContext) -> Vec<MapFinding> {
    let mut findings = Vec::new();
    let region = ctx.region.trim();
    check_region(region, "region", &mut findings);
    let known = ctx.usable_caches.clone().unwrap_or_default();
    let checker = Checker {
        region,
        caller: ctx.caller_account_id.as_deref().map(str::trim),
        known_caches: &known,
        caches_complete: ctx.usable_caches.is_some(),
    };
    let labels: Vec<(String, usize)> = (0..map.registry_mappings.len())
        .map(|i| (format!("registryMappings[{i}]"), i))
        .collect();
    checker.check_entries(
        &map.registry_mappings.iter().collect::<Vec<_>>(),
        &labels,
        &mut findings,
    );
    let labels: Vec<(String, usize)> = (0..map.image_mappings.len())
        .map(|i| (format!("imageMappings[{i}]"), i))
        .collect();
    checker.check_images(
        &map.image_mappings.iter().collect::<Vec<_>>(),
        &labels,
        &mut findings,
    );
    if map.registry_mappings.is_empty() && map.image_mappings.is_empty() {
        findings.push(empty_map_finding("containerRegistryMap"));
    }
    findings
}

const REGISTRY_KEYS: [&str; 5] = [
    "upstreamRegistryUrl",
    "ecrRepositoryPrefix",
    "upstreamRepositoryPrefix",
    "ecrAccountId",
    "credentialArn",
];

const IMAGE_KEYS: [&str; 2] = ["sourceImage", "destinationImage"];

/// Checks a map as JSON, as GetWorkflow returns it (a `{"containerRegistryMap": …}` wrapper is
/// accepted) or as a user wrote it: missing keys, wrong types and misspelt keys (snake_case, a
/// different case) are reported per entry, then the entries that are complete get every
/// `check_map` rule, keeping their original indices.
pub fn check_map_json(value: &Value, ctx: &MapContext) -> Vec<MapFinding> {
    let mut findings = Vec::new();
    let root = value.get("containerRegistryMap").unwrap_or(value);
    let Some(object) = root.as_object() else {
        findings.push(structural(
            FindingCode::WrongType,
            "containerRegistryMap",
            None,
            format!(
                "the map must be a JSON object with `registryMappings` and `imageMappings` lists, not {}",
                type_name(root)
            ),
        ));
        return findings;
    };
    for key in object.keys() {
        if key != "registryMappings" && key != "imageMappings" {
            findings.push(unknown_key(
                "containerRegistryMap",
                key,
                &["registryMappings", "imageMappings"],
            ));
        }
    }

    let region = ctx.region.trim();
    check_region(region, "region", &mut findings);
    let known = ctx.usable_caches.clone().unwrap_or_default();
    let checker = Checker {
        region,
        caller: ctx.caller_account_id.as_deref().map(str::trim),
        known_caches: &known,
        caches_complete: ctx.usable_caches.is_some(),
    };

    let registry_items = json_list(object, "registryMappings", &mut findings);
    let mut registry = Vec::new();
    let mut registry_labels = Vec::new();
    for (i, item) in registry_items.iter().enumerate() {
        let field = format!("registryMappings[{i}]");
        if let Some(fields) = json_entry(item, &field, i, &REGISTRY_KEYS, 2, &mut findings) {
            registry.push(RegistryMapping {
                upstream_registry_url: fields[0].clone().unwrap_or_default(),
                ecr_repository_prefix: fields[1].clone().unwrap_or_default(),
                upstream_repository_prefix: fields[2].clone(),
                ecr_account_id: fields[3].clone(),
                credential_arn: fields[4].clone(),
            });
            registry_labels.push((field, i));
        }
    }
    let image_items = json_list(object, "imageMappings", &mut findings);
    let mut images = Vec::new();
    let mut image_labels = Vec::new();
    for (i, item) in image_items.iter().enumerate() {
        let field = format!("imageMappings[{i}]");
        if let Some(fields) = json_entry(item, &field, i, &IMAGE_KEYS, 2, &mut findings) {
            images.push(ImageMapping {
                source_image: fields[0].clone().unwrap_or_default(),
                destination_image: fields[1].clone().unwrap_or_default(),
            });
            image_labels.push((field, i));
        }
    }
    checker.check_entries(
        &registry.iter().collect::<Vec<_>>(),
        &registry_labels,
        &mut findings,
    );
    checker.check_images(
        &images.iter().collect::<Vec<_>>(),
        &image_labels,
        &mut findings,
    );
    if registry_items.is_empty() && image_items.is_empty() {
        findings.push(empty_map_finding("containerRegistryMap"));
    }
    findings
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn structural(code: FindingCode, field: &str, index: Option<usize>, message: String) -> MapFinding {
    MapFinding {
        severity: Severity::Error,
        code,
        field: field.into(),
        index,
        message,
        suggestion: None,
    }
}

/// `upstream_registry_url` and `UpstreamRegistryURL` are the usual slips for `upstreamRegistryUrl`.
fn unknown_key(parent: &str, key: &str, known: &[&str]) -> MapFinding {
    let squash = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
    let meant = known.iter().find(|k| squash(k) == squash(key));
    let message = match meant {
        Some(k) => format!(
            "`{key}` is not a key HealthOmics reads, so its value is lost: write `{k}` (camelCase)"
        ),
        None => format!(
            "`{key}` is not a key HealthOmics knows (expected {}): remove it",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    MapFinding {
        severity: Severity::Warning,
        code: FindingCode::UnknownKey,
        field: format!("{parent}.{key}"),
        index: None,
        message,
        suggestion: meant.map(|k| (*k).to_owned()),
    }
}

fn json_list<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    findings: &mut Vec<MapFinding>,
) -> &'v [Value] {
    match object.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(other) => {
            findings.push(structural(
                FindingCode::WrongType,
                key,
                None,
                format!("`{key}` must be a list, not {}", type_name(other)),
            ));
            &[]
        }
    }
}

/// Reads one entry's string fields in `keys` order; the first `required` are required. `None`
/// when the entry cannot be checked further.
fn json_entry(
    item: &Value,
    field: &str,
    index: usize,
    keys: &[&str],
    required: usize,
    findings: &mut Vec<MapFinding>,
) -> Option<Vec<Option<String>>> {
    let Some(object) = item.as_object() else {
        findings.push(structural(
            FindingCode::WrongType,
            field,
            Some(index),
            format!(
                "each entry must be an object with {}, not {}",
                keys[..required]
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                type_name(item)
            ),
        ));
        return None;
    };
    for key in object.keys() {
        if !keys.contains(&key.as_str()) {
            let mut f = unknown_key(field, key, keys);
            f.index = Some(index);
            findings.push(f);
        }
    }
    let mut complete = true;
    let mut out = Vec::with_capacity(keys.len());
    for (n, key) in keys.iter().enumerate() {
        match object.get(*key) {
            Some(Value::String(s)) => out.push(Some(s.clone())),
            None | Some(Value::Null) => {
                if n < required {
                    complete = false;
                    findings.push(structural(
                        FindingCode::MissingField,
                        &format!("{field}.{key}"),
                        Some(index),
                        format!("`{key}` is required in every entry: add it"),
                    ));
                }
                out.push(None);
            }
            Some(other) => {
                complete = false;
                findings.push(structural(
                    FindingCode::WrongType,
                    &format!("{field}.{key}"),
                    Some(index),
                    format!("`{key}` must be a string, not {}", type_name(other)),
                ));
                out.push(None);
            }
        }
    }
    complete.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::to_pretty_json;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn check_map_json_reads_api_and_user_shapes() {
        use FindingCode as C;
        use Severity::{Error as E, Warning as W};
        let get_workflow = json!({
            "id": "1234567",
            "containerRegistryMap": {
                "registryMappings": [
                    {"upstreamRegistryUrl": "registry-1.docker.io", "ecrRepositoryPrefix": "docker-hub"},
                    {"upstreamRegistryUrl": "community.wave.seqera.io", "ecrRepositoryPrefix": "wave-seqera", "credentialArn": SECRET}
                ],
                "imageMappings": []
            }
        });
        assert_eq!(keyed(&check_map_json(&get_workflow, &ctx())), vec![]);

        let user = json!({
            "registryMappings": [
                {"upstream_registry_url": "quay.io", "ecrRepositoryPrefix": "quay"},
                {"upstreamRegistryUrl": 5, "ecrRepositoryPrefix": "x1"},
                {"upstreamRegistryUrl": "nvcr.io", "ecrRepositoryPrefix": "ngc"},
                "quay.io"
            ],
            "imageMappings": [{"sourceImage": "ubuntu"}],
            "registryMapping": []
        });
        assert_eq!(
            keyed(&check_map_json(&user, &ctx())),
            vec![
                (
                    W,
                    C::UnknownKey,
                    "containerRegistryMap.registryMapping".into()
                ),
                (
                    W,
                    C::UnknownKey,
                    "registryMappings[0].upstream_registry_url".into()
                ),
                (
                    E,
                    C::MissingField,
                    "registryMappings[0].upstreamRegistryUrl".into()
                ),
                (
                    E,
                    C::WrongType,
                    "registryMappings[1].upstreamRegistryUrl".into()
                ),
                (E, C::WrongType, "registryMappings[3]".into()),
                (
                    E,
                    C::MissingField,
                    "imageMappings[0].destinationImage".into()
                ),
                (
                    E,
                    C::MissingCredential,
                    "registryMappings[2].credentialArn".into()
                ),
            ]
        );
        let hint = check_map_json(&user, &ctx())
            .into_iter()
            .find(|f| f.field == "registryMappings[0].upstream_registry_url");
        assert_eq!(
            hint.and_then(|f| f.suggestion).as_deref(),
            Some("upstreamRegistryUrl")
        );

        assert_eq!(
            keyed(&check_map_json(&json!([1]), &ctx())),
            vec![(E, C::WrongType, "containerRegistryMap".into())]
        );
        assert_eq!(
            keyed(&check_map_json(&json!({"registryMappings": {}}), &ctx())),
            vec![
                (E, C::WrongType, "registryMappings".into()),
                (W, C::EmptyMap, "containerRegistryMap".into())
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn json_round_trips(m in prop::collection::vec(mapping(), 0..5), images in prop::collection::vec(image_mapping(), 0..4)) {
            let map = ContainerRegistryMap { registry_mappings: m, image_mappings: images };
            let text = to_pretty_json(&map);
            let back: Result<ContainerRegistryMap, _> = serde_json::from_str(&text);
            prop_assert_eq!(back.ok(), Some(map.clone()));
            // And check_map_json agrees with check_map on a well-formed map.
            let value: Value = serde_json::from_str(&text).unwrap_or_default();
            prop_assert_eq!(check_map_json(&value, &ctx()), check_map(&map, &ctx()));
        }
    }
}
