//! The tool schemas as clients with one-`type` schema dialects can read them, and as small as an
//! assistant's context wants them.
//!
//! schemars writes an `Option<T>` field as `"type": ["T", "null"]` (or an `anyOf` with a `null`
//! branch). Our results never carry `null` (an absent field says the same and costs nothing), and
//! a parameter is omitted rather than sent as `null`, so the `null` alternative is dropped and
//! such a field is never `required`. Done once, when the router is built.
//!
//! Every tool definition is paid for in the assistant's context on every turn, so schemas also
//! lose what says nothing to a client: `null` defaults, integer `format`s, enums spelled as
//! `oneOf` of constants. An output schema keeps the shape of the result two objects deep (the
//! fields of the result and of its rows, with their types and enum values), with no
//! descriptions: the tool's description says what comes back and the field names say the rest;
//! deeper parts (policies, per-action detail, suggested calls' arguments) are plain objects.

use serde_json::{Map, Value};

/// Object levels an output schema spells out: the result's fields, and those of its rows and
/// nested records; anything deeper is `{"type": "object"}`.
const OUTPUT_DEPTH: usize = 2;

/// At the deepest level spelled out, an enum longer than this is a plain string: a row's
/// verdict keeps its values, a catalogue of finding codes or tool names does not pay its way.
const DEEP_ENUM_MAX: usize = 6;

/// Keys that never help a client read a schema (`format` is a Rust integer width;
/// `additionalProperties: false` below the top is enforced by the server, which names an
/// unknown key).
const NOISE: [&str; 4] = ["format", "title", "$schema", "additionalProperties"];

/// Makes an input schema portable and drops what says nothing to a client.
pub fn prepare_input(schema: &mut Map<String, Value>) {
    make_portable(schema);
    // A shared type's own description repeats the parameter that uses it, which has its own.
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        for def in defs.values_mut() {
            if let Value::Object(def) = def {
                def.remove("description");
            }
        }
    }
    // Clients that check arguments before sending learn from the top level that unknown keys
    // are refused; nested types need not repeat it.
    let closed = schema.get("additionalProperties").cloned();
    let mut value = Value::Object(std::mem::take(schema));
    tidy(&mut value);
    if let Value::Object(map) = value {
        *schema = map;
    }
    if let Some(closed) = closed {
        schema.insert("additionalProperties".into(), closed);
    }
}

/// Makes an output schema portable and compact: two object levels spelled out, no
/// descriptions, `$ref`s resolved in place (so no `$defs` remain).
pub fn prepare_output(schema: &mut Map<String, Value>) {
    make_portable(schema);
    let defs = match schema.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    let mut value = Value::Object(std::mem::take(schema));
    tidy(&mut value);
    let mut defs = Value::Object(defs);
    tidy(&mut defs);
    let Value::Object(defs) = defs else {
        return;
    };
    let shaped = shape(&value, &defs, 0);
    if let Value::Object(map) = shaped {
        *schema = map;
    }
}

/// Drops `null` defaults, noise keys and descriptions-free enum spellings, everywhere.
fn tidy(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in NOISE {
                map.remove(key);
            }
            // A null, `false` or empty default is what leaving the argument out means.
            if map.get("default").is_some_and(|d| {
                d.is_null() || d == &Value::Bool(false) || d.as_array().is_some_and(Vec::is_empty)
            }) {
                map.remove("default");
            }
            if let Some(values) = constant_strings(map.get("oneOf")) {
                map.remove("oneOf");
                map.insert("type".into(), Value::from("string"));
                map.insert("enum".into(), Value::Array(values));
            }
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child) {
                    // Names of fields, not keywords: tidy each field's schema, keep every name.
                    ("properties" | "$defs", Value::Object(named)) => {
                        named.values_mut().for_each(tidy);
                    }
                    (_, child) => tidy(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// The values of a `oneOf` whose branches are all string constants or string enums (schemars
/// writes a documented variant as a `const` and the others as one `enum`).
fn constant_strings(branches: Option<&Value>) -> Option<Vec<Value>> {
    let Value::Array(branches) = branches? else {
        return None;
    };
    let mut values = Vec::new();
    for branch in branches {
        match (branch.get("const"), branch.get("enum")) {
            (Some(c @ Value::String(_)), None) => values.push(c.clone()),
            (None, Some(Value::Array(e))) if e.iter().all(Value::is_string) => {
                values.extend(e.iter().cloned());
            }
            _ => return None,
        }
    }
    Some(values)
}

/// What is left of a union below the spelled-out depth: its branches' types, nothing more.
fn opaque_union(branches: &[Value], defs: &Map<String, Value>) -> Value {
    let mut types: Vec<Value> = Vec::new();
    for branch in branches {
        let resolved = branch
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| defs.get(name))
            .unwrap_or(branch);
        let kind = resolved
            .get("type")
            .cloned()
            .unwrap_or_else(|| Value::from("object"));
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    match types.as_slice() {
        [one] => serde_json::json!({"type": one}),
        _ => serde_json::json!({
            "anyOf": types.into_iter().map(|t| serde_json::json!({"type": t})).collect::<Vec<_>>()
        }),
    }
}

/// One output schema node, `$ref`s resolved, descriptions dropped, objects below `OUTPUT_DEPTH`
/// left as plain objects. `depth` counts the objects already spelled out above this node.
fn shape(node: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    if let Some(target) = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| defs.get(name))
    {
        return shape(target, defs, depth);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = map.get(key) {
            if depth >= OUTPUT_DEPTH {
                return opaque_union(branches, defs);
            }
            let branches = branches.iter().map(|b| shape(b, defs, depth)).collect();
            return Value::Object(Map::from_iter([(key.to_string(), Value::Array(branches))]));
        }
    }
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "description" | "examples" | "default" => {}
            "properties" if depth >= OUTPUT_DEPTH => {}
            "required" | "additionalProperties" if depth >= OUTPUT_DEPTH => {}
            // `true` is what a missing `additionalProperties` means already.
            "additionalProperties" if value == &Value::Bool(true) => {}
            "enum"
                if depth >= OUTPUT_DEPTH
                    && value.as_array().is_some_and(|v| v.len() > DEEP_ENUM_MAX) => {}
            "properties" => {
                let Value::Object(properties) = value else {
                    continue;
                };
                let shaped = properties
                    .iter()
                    .map(|(name, p)| (name.clone(), shape(p, defs, depth + 1)))
                    .collect();
                out.insert(key.clone(), Value::Object(shaped));
            }
            "items" => {
                out.insert(key.clone(), shape(value, defs, depth));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// Rewrites one schema (a tool's input or output schema) in place.
pub fn make_portable(schema: &mut Map<String, Value>) {
    let mut nullable = Vec::new();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if drop_null(property) {
                nullable.push(name.clone());
            }
        }
    }
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|r| !r.as_str().is_some_and(|r| nullable.iter().any(|n| n == r)));
        if required.is_empty() {
            schema.remove("required");
        }
    }
    for (key, value) in schema.iter_mut() {
        match (key.as_str(), value) {
            ("properties" | "$defs" | "definitions", Value::Object(children)) => {
                for child in children.values_mut() {
                    if let Value::Object(child) = child {
                        make_portable(child);
                    }
                }
            }
            ("items" | "additionalProperties", Value::Object(child)) => make_portable(child),
            ("anyOf" | "oneOf" | "allOf", Value::Array(branches)) => {
                for branch in branches {
                    if let Value::Object(branch) = branch {
                        make_portable(branch);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Removes the `null` alternative of one schema; true when there was one.
fn drop_null(schema: &mut Value) -> bool {
    let Value::Object(map) = schema else {
        return false;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        let before = types.len();
        types.retain(|t| t != "null");
        let dropped = types.len() < before;
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
        return dropped;
    }
    if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        let before = branches.len();
        branches.retain(|b| b.get("type").is_none_or(|t| t != "null"));
        let dropped = branches.len() < before;
        if dropped && branches.len() == 1 {
            let Some(Value::Object(only)) = branches.pop() else {
                return dropped;
            };
            map.remove("anyOf");
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        }
        return dropped;
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn portable(v: Value) -> Value {
        let mut map = v.as_object().cloned().unwrap_or_default();
        make_portable(&mut map);
        Value::Object(map)
    }

    #[test]
    fn a_nullable_type_becomes_one_type_and_optional() {
        let out = portable(json!({
            "type": "object",
            "properties": {
                "tag": {"type": ["string", "null"], "description": "d"},
                "name": {"type": "string"}
            },
            "required": ["name", "tag"]
        }));
        assert_eq!(
            out["properties"]["tag"],
            json!({"type": "string", "description": "d"})
        );
        assert_eq!(out["required"], json!(["name"]));
    }

    #[test]
    fn a_nullable_reference_becomes_the_reference() {
        let out = portable(json!({
            "properties": {"map": {"anyOf": [{"$ref": "#/$defs/Map"}, {"type": "null"}], "description": "m"}},
            "required": ["map"],
            "$defs": {"Map": {"type": "object", "properties": {"x": {"type": ["integer", "null"]}}}}
        }));
        assert_eq!(
            out["properties"]["map"],
            json!({"$ref": "#/$defs/Map", "description": "m"})
        );
        assert!(out.get("required").is_none());
        assert_eq!(
            out["$defs"]["Map"]["properties"]["x"],
            json!({"type": "integer"})
        );
    }

    #[test]
    fn nested_items_and_unions_without_null_are_kept() {
        let schema = json!({
            "properties": {
                "rows": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]}
            }
        });
        let out = portable(schema);
        assert_eq!(
            out["properties"]["rows"]["items"]["properties"]["a"],
            json!({"type": "string"})
        );
        assert_eq!(
            out["properties"]["either"]["anyOf"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn an_output_schema_keeps_two_object_levels_without_descriptions() {
        let mut schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "description": "the result",
            "properties": {
                "rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}},
                "count": {"type": "integer", "format": "uint", "minimum": 0, "description": "n"}
            },
            "required": ["rows"],
            "$defs": {
                "Row": {"type": "object", "properties": {
                    "name": {"type": "string", "description": "its name"},
                    "status": {"oneOf": [
                        {"const": "ok", "type": "string", "description": "fine"},
                        {"const": "bad", "type": "string"}
                    ]},
                    "policy": {"$ref": "#/$defs/Policy"},
                    "part": {"oneOf": [
                        {"type": "string", "enum": ["a", "b"]},
                        {"const": "c", "type": "string", "description": "the third"}
                    ]},
                    "deep": {"$ref": "#/$defs/Deep"},
                    "either": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/Policy"}]}
                }, "required": ["name"]},
                "Deep": {"type": "object", "properties": {
                    "either": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {}}]}
                }},
                "Policy": {"type": "object", "properties": {"Statement": {"type": "array"}}}
            }
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        prepare_output(&mut schema);
        assert_eq!(
            Value::Object(schema),
            json!({
                "type": "object",
                "properties": {
                    "rows": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"},
                        "status": {"type": "string", "enum": ["ok", "bad"]},
                        "policy": {"type": "object"},
                        "part": {"type": "string", "enum": ["a", "b", "c"]},
                        "deep": {"type": "object"},
                        "either": {"anyOf": [{"type": "string"}, {"type": "object"}]}
                    }, "required": ["name"]}},
                    "count": {"type": "integer", "minimum": 0}
                },
                "required": ["rows"]
            })
        );
    }

    #[test]
    fn an_input_schema_keeps_its_descriptions_and_loses_null_defaults() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "tag": {"type": ["string", "null"], "default": null, "description": "d"},
                "n": {"type": "integer", "format": "uint32", "default": 100},
                "format": {"type": "string", "default": null}
            }
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        prepare_input(&mut schema);
        assert_eq!(
            Value::Object(schema),
            json!({
                "type": "object",
                "properties": {
                    "tag": {"type": "string", "description": "d"},
                    "n": {"type": "integer", "default": 100},
                    "format": {"type": "string"}
                }
            })
        );
    }
}
