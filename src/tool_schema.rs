//! The tool schemas as clients with one-`type` schema dialects can read them.
//!
//! schemars writes an `Option<T>` field as `"type": ["T", "null"]` (or an `anyOf` with a `null`
//! branch). Our results never carry `null` (an absent field says the same and costs nothing), and
//! a parameter is omitted rather than sent as `null`, so the `null` alternative is dropped and
//! such a field is never `required`. Done once, when the router is built.

use serde_json::{Map, Value};

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
}
